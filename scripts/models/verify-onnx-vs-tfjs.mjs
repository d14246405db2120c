#!/usr/bin/env node
// Verify the converted ONNX backbone against the original nsfwjs TF.js model.
//
// Usage: node scripts/models/verify-onnx-vs-tfjs.mjs [mobilenet_v2|inception_v3]
//          [--onnx FILE] [--backend wasm|cpu] [--no-timing]
//
// * Loads the original Keras-layers model straight from node_modules/nsfwjs
//   (model.min.js + group1-shard*.min.js, uint8-quantized weights decoded by
//   tfjs itself) with @tensorflow/tfjs on the wasm backend (cpu as fallback).
// * Truncates it before the classification head: outputs = the last backbone
//   feature map (layer feeding the head's AveragePooling2D) and that pooling.
// * Feeds the same 0..255 RGB images to both; TF.js gets nsfwjs' own
//   preprocessing (x / 255), ONNX gets raw pixels (normalisation is baked in).
// * Prints max abs diff / relative error / min cosine of the embeddings and
//   the feature maps; exits 1 if cosine < 0.9999 or relative error > 1e-3.
// * Times onnxruntime-node (2 intra-op threads) at batch 1 and batch 16.

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findPackageDir } from './package-dir.mjs';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import * as ort from 'onnxruntime-node';

const require = createRequire(import.meta.url);
const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DEFAULT_ONNX = {
  mobilenet_v2: 'models/mobilenetv2-imagenet/model.onnx',
  inception_v3: 'build/models-onnx/inception_v3/model.onnx',
};
const COS_MIN = 0.9999;
const REL_MAX = 1e-3;

function parseArgs(argv) {
  const a = { model: 'mobilenet_v2', onnx: null, backend: 'wasm', timing: true };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i];
    if (x === '--onnx') a.onnx = argv[++i];
    else if (x === '--backend') a.backend = argv[++i];
    else if (x === '--no-timing') a.timing = false;
    else if (x.startsWith('-')) throw new Error(`unknown option ${x}`);
    else a.model = x;
  }
  return a;
}


async function initBackend(wanted) {
  if (wanted === 'wasm') {
    const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
    setWasmPaths(dist.endsWith('/') ? dist : dist + '/');
    try {
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        const simd = await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT');
        const mt = await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT');
        return `wasm (simd=${simd}, threads=${mt})`;
      }
    } catch (e) {
      console.warn(`wasm backend failed (${e.message}); falling back to cpu`);
    }
  }
  await tf.setBackend('cpu');
  await tf.ready();
  return 'cpu';
}

async function loadTfjsBackbone(model) {
  const dir = join(findPackageDir('nsfwjs'), 'dist', 'models', model);
  const { modelTopology, weightsManifest } = require(join(dir, 'model.min.js'));
  const weightSpecs = [];
  const bufs = [];
  for (const g of weightsManifest) {
    for (const p of g.paths) bufs.push(Buffer.from(require(join(dir, `${p}.min.js`)), 'base64'));
    weightSpecs.push(...g.weights);
  }
  const all = Buffer.concat(bufs);
  const weightData = all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength);
  const full = await tf.loadLayersModel(tf.io.fromMemory({ modelTopology, weightSpecs, weightData }));
  // feature layer = input of the head's pooling (AveragePooling2D before Flatten)
  const layers = full.layers;
  const flatIdx = layers.findIndex((l) => ['Flatten', 'Dense', 'GlobalAveragePooling2D'].includes(l.getClassName()));
  let pool = layers[flatIdx].inboundNodes[0].inboundLayers[0];
  let feature = pool;
  if (['AveragePooling2D', 'MaxPooling2D'].includes(pool.getClassName())) feature = pool.inboundNodes[0].inboundLayers[0];
  else pool = null;
  const outputs = pool ? [feature.output, pool.output] : [feature.output];
  const backbone = tf.model({ inputs: full.inputs, outputs });
  return { backbone, feature: feature.name, pool: pool?.name, poolSize: pool?.getConfig().poolSize, size: full.inputs[0].shape[1] };
}

// Deterministic test images, HWC RGB integers 0..255 (stored as float32).
function mulberry32(seed) {
  return () => {
    seed |= 0; seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
function makeImages(S) {
  const imgs = [];
  const gen = (name, f) => {
    const a = new Float32Array(S * S * 3);
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
      const [r, g, b] = f(x / (S - 1), y / (S - 1), x, y);
      const o = (y * S + x) * 3;
      a[o] = Math.round(Math.min(255, Math.max(0, r)));
      a[o + 1] = Math.round(Math.min(255, Math.max(0, g)));
      a[o + 2] = Math.round(Math.min(255, Math.max(0, b)));
    }
    imgs.push({ name, data: a });
  };
  const rnd = mulberry32(1234);
  gen('uniform noise', () => [rnd() * 256, rnd() * 256, rnd() * 256]);
  gen('horizontal gradient', (u) => [255 * u, 128, 255 * (1 - u)]);
  gen('diagonal colour gradient', (u, v) => [255 * v, 255 * (u + v) / 2, 255 * (1 - u * v)]);
  gen('sky over ground', (u, v) => v < 0.55
    ? [90 + 80 * v, 150 + 60 * v, 235 - 40 * v]
    : [60 + 90 * (v - 0.55) + 20 * Math.sin(u * 40), 110 + 40 * Math.sin(u * 7 + v * 13), 40]);
  gen('radial blob + stripes', (u, v) => {
    const d = Math.hypot(u - 0.4, v - 0.6);
    return [255 * Math.exp(-d * d * 8), 127 + 127 * Math.sin(u * 30), 200 * (1 - d)];
  });
  const rnd2 = mulberry32(99);
  gen('noisy gradient', (u, v) => [200 * u + 40 * rnd2(), 200 * v + 40 * rnd2(), 120 + 60 * rnd2()]);
  return imgs;
}

function stats(ref, got) {
  let maxAbs = 0, maxRef = 0, dot = 0, nr = 0, ng = 0;
  for (let i = 0; i < ref.length; i++) {
    maxAbs = Math.max(maxAbs, Math.abs(ref[i] - got[i]));
    maxRef = Math.max(maxRef, Math.abs(ref[i]));
    dot += ref[i] * got[i]; nr += ref[i] * ref[i]; ng += got[i] * got[i];
  }
  return { maxAbs, maxRef, rel: maxAbs / (maxRef || 1), cos: dot / (Math.sqrt(nr * ng) || 1) };
}

// median ms per frame over `iters` timed runs (after 3 warm-up runs)
async function timeOrt(session, S, batch, iters) {
  const x = new Float32Array(batch * S * S * 3);
  const rnd = mulberry32(7);
  for (let i = 0; i < x.length; i++) x[i] = Math.floor(rnd() * 256);
  const feeds = { pixels: new ort.Tensor('float32', x, [batch, S, S, 3]) };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const t = [];
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    await session.run(feeds);
    t.push(Number(process.hrtime.bigint() - t0) / 1e6 / batch);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1];
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const onnxPath = resolve(repoRoot, args.onnx ?? DEFAULT_ONNX[args.model]);
  if (!existsSync(onnxPath)) throw new Error(`missing ${onnxPath}; run scripts/models/build-models.sh`);

  const backendName = await initBackend(args.backend);
  const { backbone, feature, pool, poolSize, size: S } = await loadTfjsBackbone(args.model);
  console.log(`tfjs ${tf.version.tfjs} backend: ${backendName}`);
  console.log(`tfjs truncated model: nsfwjs ${args.model}, feature layer '${feature}'` +
    (pool ? `, head pooling '${pool}' pool_size=${JSON.stringify(poolSize)}` : ''));

  const imgs = makeImages(S);
  const N = imgs.length;
  const batch = new Float32Array(N * S * S * 3);
  imgs.forEach((im, i) => batch.set(im.data, i * S * S * 3));

  // --- TF.js reference, exactly nsfwjs' infer() preprocessing: x.toFloat().div(255)
  const [tfFm, tfEmb] = tf.tidy(() => {
    const x = tf.tensor4d(batch, [N, S, S, 3]).div(tf.scalar(255));
    const outs = backbone.predict(x);
    const fm = Array.isArray(outs) ? outs[0] : outs;
    const emb = Array.isArray(outs) ? outs[1].reshape([N, -1]) : fm.mean([1, 2]);
    return [fm.transpose([0, 3, 1, 2]), emb]; // -> NCHW like the ONNX output
  });
  const C = tfEmb.shape[1];
  const refEmb = await tfEmb.data();
  const refFm = await tfFm.data();
  const fmShape = tfFm.shape;

  // --- ONNX
  const session = await ort.InferenceSession.create(onnxPath, {
    intraOpNumThreads: 2, interOpNumThreads: 1, graphOptimizationLevel: 'all', executionMode: 'sequential',
  });
  console.log(`onnx: ${onnxPath} inputs=${session.inputNames} outputs=${session.outputNames}`);
  const res = await session.run({ pixels: new ort.Tensor('float32', batch, [N, S, S, 3]) });
  const emb = res.embedding.data;
  const fm = res.feature_map.data;
  if (JSON.stringify(res.embedding.dims) !== JSON.stringify([N, C])) throw new Error(`embedding dims ${res.embedding.dims}`);
  if (JSON.stringify(res.feature_map.dims) !== JSON.stringify(fmShape)) throw new Error(`feature_map dims ${res.feature_map.dims} vs ${fmShape}`);
  // batch-1 run must agree with the batched run (dynamic batch)
  const one = await session.run({ pixels: new ort.Tensor('float32', batch.subarray(0, S * S * 3), [1, S, S, 3]) });
  const b1 = stats(emb.subarray(0, C), one.embedding.data);

  let ok = true;
  let worstCos = 1, worstAbs = 0, worstRel = 0;
  const fmPer = fm.length / N;
  let fmWorstCos = 1, fmWorstAbs = 0, fmWorstRel = 0;
  console.log(`\n${'image'.padEnd(26)} ${'emb max|d|'.padStart(11)} ${'emb rel'.padStart(9)} ${'emb cos'.padStart(12)}  ${'fm max|d|'.padStart(10)} ${'fm cos'.padStart(12)}  emb max`);
  imgs.forEach((im, i) => {
    const e = stats(refEmb.subarray(i * C, (i + 1) * C), emb.subarray(i * C, (i + 1) * C));
    const f = stats(refFm.subarray(i * fmPer, (i + 1) * fmPer), fm.subarray(i * fmPer, (i + 1) * fmPer));
    worstCos = Math.min(worstCos, e.cos); worstAbs = Math.max(worstAbs, e.maxAbs); worstRel = Math.max(worstRel, e.rel);
    fmWorstCos = Math.min(fmWorstCos, f.cos); fmWorstAbs = Math.max(fmWorstAbs, f.maxAbs); fmWorstRel = Math.max(fmWorstRel, f.rel);
    console.log(`${im.name.padEnd(26)} ${e.maxAbs.toExponential(3).padStart(11)} ${e.rel.toExponential(2).padStart(9)} ${e.cos.toFixed(9).padStart(12)}  ` +
      `${f.maxAbs.toExponential(3).padStart(10)} ${f.cos.toFixed(9).padStart(12)}  ${e.maxRef.toFixed(3)}`);
  });
  // distinct inputs must give distinct embeddings (guards against a degenerate graph)
  let maxCross = -1;
  for (let i = 0; i < N; i++) for (let j = i + 1; j < N; j++) {
    maxCross = Math.max(maxCross, stats(emb.subarray(i * C, (i + 1) * C), emb.subarray(j * C, (j + 1) * C)).cos);
  }
  console.log(`\nembedding  [${N},${C}]: max abs diff ${worstAbs.toExponential(3)}, max rel err ${worstRel.toExponential(3)}, min cosine ${worstCos.toFixed(9)} (1-cos ${(1 - worstCos).toExponential(2)})`);
  console.log(`feature_map [${fmShape}]: max abs diff ${fmWorstAbs.toExponential(3)}, max rel err ${fmWorstRel.toExponential(3)}, min cosine ${fmWorstCos.toFixed(9)} (1-cos ${(1 - fmWorstCos).toExponential(2)})`);
  console.log(`onnx batch-1 vs batch-${N} (image 0): max abs diff ${b1.maxAbs.toExponential(3)}, cosine ${b1.cos.toFixed(9)}`);
  console.log(`max cosine between different test images' embeddings: ${maxCross.toFixed(4)}`);
  if (worstCos < COS_MIN || fmWorstCos < COS_MIN) { console.error(`FAIL: cosine < ${COS_MIN}`); ok = false; }
  if (worstRel > REL_MAX || fmWorstRel > REL_MAX) { console.error(`FAIL: relative error > ${REL_MAX}`); ok = false; }
  if (b1.cos < COS_MIN || b1.rel > REL_MAX) { console.error('FAIL: batch-1 and batched outputs differ'); ok = false; }
  if (maxCross > 0.99999) { console.error('FAIL: different images give (near) identical embeddings'); ok = false; }
  tf.dispose([tfFm, tfEmb]);

  if (args.timing) {
    const ms1 = await timeOrt(session, S, 1, 60);
    const ms16 = await timeOrt(session, S, 16, 10);
    // TF.js reference timing at batch 1, same backend as above
    const x = tf.randomUniform([1, S, S, 3], 0, 1);
    for (let i = 0; i < 2; i++) tf.dispose(backbone.predict(x));
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < 10; i++) { const o = backbone.predict(x); await (Array.isArray(o) ? o[0] : o).data(); tf.dispose(o); }
    const tfms = Number(process.hrtime.bigint() - t0) / 1e6 / 10;
    x.dispose();
    console.log(`\ntiming (onnxruntime-node ${ort.env.versions?.common ?? ''}, intraOpNumThreads=2, cpus=${(await import('node:os')).cpus().length}):` +
      ` batch 1: ${ms1.toFixed(2)} ms/frame, batch 16: ${ms16.toFixed(2)} ms/frame (medians); tfjs ${backendName} batch 1: ${tfms.toFixed(2)} ms/frame`);
  }
  console.log(ok ? 'PASS' : 'FAIL');
  process.exit(ok ? 0 : 1);
}

main().catch((e) => { console.error(e); process.exit(2); });
