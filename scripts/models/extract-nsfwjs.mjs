#!/usr/bin/env node
// Extract a Keras-layers model bundled inside the npm package `nsfwjs` into a
// plain, tool-agnostic form that the Python converter can read:
//
//   build/models-src/<model>/topology.json  Keras model_config (+ source metadata)
//   build/models-src/<model>/weights.json   [{name, shape, dtype:"float32", offset, length}]
//   build/models-src/<model>/weights.bin    dequantized float32 little-endian tensors
//
// Usage: node scripts/models/extract-nsfwjs.mjs [mobilenet_v2|inception_v3] [--out DIR]
//
// The bundled model files are UMD modules: model.min.js exports
// {modelTopology, weightsManifest}; every group1-shardXofY.min.js exports a
// base64 string with the raw (uint8-quantized) weight bytes. Dequantization
// follows tfjs-core io_utils.decodeWeights exactly: value = q * scale + min,
// evaluated in float64 and stored as float32.

import { createRequire } from 'node:module';
import { mkdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPackageDir } from './package-dir.mjs';

const require = createRequire(import.meta.url);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

// Layers-format models shipped by nsfwjs. mobilenet_v2_mid is a graph model
// (tfjs GraphModel, not Keras layers) and is deliberately not supported.
// inputSize and the 1/255 scaling come from nsfwjs dist/esm/core.js (IMAGE_SIZE
// = 224, InceptionV3 option size 299; infer(): img.toFloat().div(255)).
const MODELS = {
  mobilenet_v2: { inputSize: 224 },
  inception_v3: { inputSize: 299 },
};

function parseArgs(argv) {
  const args = { model: 'mobilenet_v2', out: null };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') args.out = argv[++i];
    else if (a === '-h' || a === '--help') {
      console.log('usage: extract-nsfwjs.mjs [mobilenet_v2|inception_v3] [--out DIR]');
      process.exit(0);
    } else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
    else args.model = a;
  }
  return args;
}

function float16ToFloat32(h) {
  const s = (h & 0x8000) ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x03ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function dequantize(spec, bytes) {
  const size = spec.shape.reduce((a, b) => a * b, 1);
  const q = spec.quantization;
  if (spec.dtype !== 'float32') throw new Error(`${spec.name}: unsupported dtype ${spec.dtype}`);
  if (!q) {
    const nbytes = size * 4;
    const out = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + nbytes));
    return { values: out, consumed: nbytes };
  }
  const out = new Float32Array(size);
  if (q.dtype === 'uint8') {
    for (let i = 0; i < size; i++) out[i] = bytes[i] * q.scale + q.min;
    return { values: out, consumed: size };
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, size * 2);
  if (q.dtype === 'uint16') {
    for (let i = 0; i < size; i++) out[i] = dv.getUint16(i * 2, true) * q.scale + q.min;
  } else if (q.dtype === 'float16') {
    for (let i = 0; i < size; i++) out[i] = float16ToFloat32(dv.getUint16(i * 2, true));
  } else {
    throw new Error(`${spec.name}: unsupported quantization ${q.dtype}`);
  }
  return { values: out, consumed: size * 2 };
}


function main() {
  const args = parseArgs(process.argv.slice(2));
  const meta = MODELS[args.model];
  if (!meta) throw new Error(`unknown model '${args.model}' (supported: ${Object.keys(MODELS).join(', ')})`);

  const pkgDir = findPackageDir('nsfwjs');
  const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8'));
  const modelDir = join(pkgDir, 'dist', 'models', args.model);
  const modelJs = join(modelDir, 'model.min.js');
  if (!existsSync(modelJs)) throw new Error(`not found: ${modelJs}`);
  const { modelTopology, weightsManifest } = require(modelJs);
  if (!modelTopology?.model_config) throw new Error(`${args.model}: not a Keras layers model`);

  // Concatenate all shards in manifest order (that is how tfjs lays them out).
  const chunks = [];
  const specs = [];
  for (const group of weightsManifest) {
    for (const p of group.paths) {
      const b64 = require(join(modelDir, `${p}.min.js`));
      if (typeof b64 !== 'string') throw new Error(`${p}.min.js did not export a base64 string`);
      chunks.push(Buffer.from(b64, 'base64'));
    }
    specs.push(...group.weights);
  }
  const raw = Buffer.concat(chunks);

  const outDir = resolve(repoRoot, args.out ?? join('build', 'models-src', args.model));
  mkdirSync(outDir, { recursive: true });

  let inOff = 0;
  let outOff = 0;
  const index = [];
  const outChunks = [];
  for (const spec of specs) {
    const { values, consumed } = dequantize(spec, raw.subarray(inOff));
    inOff += consumed;
    const buf = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
    index.push({ name: spec.name, shape: spec.shape, dtype: 'float32', offset: outOff, length: values.length });
    outChunks.push(buf);
    outOff += buf.length;
  }
  if (inOff !== raw.length) throw new Error(`weight bytes mismatch: consumed ${inOff}, have ${raw.length}`);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('big-endian host not supported');

  const topology = {
    source: {
      package: 'nsfwjs',
      version: pkg.version,
      license: pkg.license ?? 'MIT',
      path: `node_modules/nsfwjs/dist/models/${args.model}/`,
      model: args.model,
    },
    preprocessing: { inputSize: meta.inputSize, layout: 'NHWC', channels: 'RGB', scale: 1 / 255, offset: 0 },
    keras_version: modelTopology.keras_version,
    backend: modelTopology.backend,
    model_config: modelTopology.model_config,
  };
  writeFileSync(join(outDir, 'topology.json'), JSON.stringify(topology, null, 1) + '\n');
  writeFileSync(join(outDir, 'weights.json'), JSON.stringify(index, null, 1) + '\n');
  writeFileSync(join(outDir, 'weights.bin'), Buffer.concat(outChunks));
  const nParams = index.reduce((a, t) => a + t.length, 0);
  console.log(`extracted nsfwjs@${pkg.version} ${args.model}: ${modelTopology.model_config.config.layers.length} layers, ` +
    `${index.length} tensors, ${nParams} params -> ${outDir}`);
}

main();
