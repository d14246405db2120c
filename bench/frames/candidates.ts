/**
 * The frame-feature candidates of the benchmark and how each one embeds a frame set (with an
 * on-disk cache keyed by the model file's hash and the data version) and how fast it is.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Frame } from '../../src/decode/frames.js';
import { ENCODER_BATCH, createFrameEncoder, type FrameEncoder } from '../../src/embed/onnx-encoder.js';
import type { ResolvedModel } from '../../src/embed/registry.js';
import { CACHE_DIR, DATA_VERSION, readFrames, type FrameSet } from './dataset.js';
import { DCT_DIM, dctDescriptor } from './dct.js';
import { SIZE } from './ffmpeg.js';
import { REPO_ROOT } from './recipes.js';

export interface Candidate {
  id: string;
  description: string;
  kind: 'onnx' | 'js';
  /** ONNX file (absolute); for kind onnx. */
  model?: string;
  dim: number;
  /** How to make a missing model, shown or run by the bench. */
  build?: string;
  /** Only run when asked (--inception): too slow for the default run. */
  optIn?: boolean;
}

export const MODELS_CACHE = path.join(CACHE_DIR, 'models');
const rel = (...p: string[]): string => path.join(REPO_ROOT, ...p);

export const SHIPPED_ID = 'mnv2-sscd-fused256';

export function candidates(): Candidate[] {
  const shippedOrCache = (id: string): string => (existsSync(rel('models', id, 'model.onnx')) ? rel('models', id, 'model.onnx') : path.join(MODELS_CACHE, `${id}.onnx`));
  return [
    { id: 'dct-luma63', kind: 'js', dim: DCT_DIM, description: 'classical floor: 32x32 luma DCT, 8x8 low frequencies without DC' },
    { id: 'mnv2-gap1280', kind: 'onnx', model: rel('models', 'mobilenetv2-imagenet', 'model.onnx'), dim: 1280, description: 'raw MobileNetV2 global average pooling (current default)' },
    {
      id: 'mnv2-gap-pcaw256',
      kind: 'onnx',
      model: path.join(MODELS_CACHE, 'mnv2-gap-pcaw256.onnx'),
      dim: 256,
      build: 'bash scripts/models/train-frame-models.sh --only pcaw',
      description: 'GAP + PCA-whitening to 256, learned on train-side frames',
    },
    {
      id: 'mnv2-rmac-pcaw256',
      kind: 'onnx',
      model: path.join(MODELS_CACHE, 'mnv2-rmac-pcaw256.onnx'),
      dim: 256,
      build: 'bash scripts/models/train-frame-models.sh --only rmac',
      description: 'R-MAC: 14 max-pooled regions (3 scales) + PCA-whitening 256, summed',
    },
    {
      id: 'mnv2-sscd-gem256',
      kind: 'onnx',
      model: shippedOrCache('mnv2-sscd-gem256'),
      dim: 256,
      build: 'bash scripts/models/train-frame-models.sh --only gem',
      description: 'frozen backbone + GeM + linear head 256, trained SSCD-style (InfoNCE) with copy augmentations',
    },
    {
      id: SHIPPED_ID,
      kind: 'onnx',
      model: shippedOrCache(SHIPPED_ID),
      dim: 256,
      build: 'bash scripts/models/train-frame-models.sh --only fused',
      description: 'as sscd-gem256 + flip-invariant 32x32 luma thumbnail branch (fused CNN + low-frequency luma)',
    },
    {
      id: 'inceptionv3-gap2048',
      kind: 'onnx',
      model: path.join(MODELS_CACHE, 'inceptionv3-224.onnx'),
      dim: 2048,
      build: 'bash scripts/models/train-frame-models.sh --only inception',
      optIn: true,
      description: 'nsfwjs InceptionV3 mixed10 GAP (224 frame resized to 299 inside the graph)',
    },
  ];
}

function fileHash(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 12);
}

function toFrames(buf: Buffer, n: number): Frame[] {
  const fb = SIZE * SIZE * 3;
  return Array.from({ length: n }, (_v, i) => ({ index: i, time: i, width: SIZE, height: SIZE, rgb: new Uint8Array(buf.buffer, buf.byteOffset + i * fb, fb) }));
}

export interface Embedder {
  dim: number;
  embed(frames: Frame[]): Promise<Float32Array[]>;
  close(): Promise<void>;
  key: string;
}

export async function openEmbedder(c: Candidate): Promise<Embedder> {
  if (c.kind === 'js') {
    return { dim: c.dim, key: `${c.id}-js1`, embed: async (frames) => frames.map((f) => dctDescriptor(f.rgb, f.width)), close: async () => {} };
  }
  const model = c.model as string;
  const resolved: ResolvedModel = {
    id: c.id,
    version: 'bench',
    file: model,
    input: 'pixels',
    inputSize: SIZE,
    layout: 'NHWC',
    range: [0, 255],
    outputs: { embedding: 'embedding' },
    dim: c.dim,
    absolutePath: model,
    fingerprint: `${c.id}@bench/${c.dim}`,
  };
  const enc: FrameEncoder = await createFrameEncoder(resolved, 2);
  return { dim: c.dim, key: `${c.id}-${fileHash(model)}`, embed: (f) => enc.embed(f), close: () => enc.close() };
}

/** Embeddings of a whole set, [n * dim], cached in .cache/bench/emb/. */
export async function embedSet(e: Embedder, set: FrameSet, log: (s: string) => void): Promise<Float32Array> {
  const dir = path.join(CACHE_DIR, 'emb');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${e.key}-${DATA_VERSION}-${set.name}.f32`);
  const n = set.meta.length;
  if (existsSync(file) && statSync(file).size === n * e.dim * 4) {
    const b = readFileSync(file);
    return new Float32Array(b.buffer, b.byteOffset, n * e.dim);
  }
  const out = new Float32Array(n * e.dim);
  const chunk = ENCODER_BATCH * 32;
  const t0 = performance.now();
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const vecs = await e.embed(toFrames(readFrames(set, s, m), m));
    vecs.forEach((v, i) => {
      if (v.length !== e.dim) throw new Error(`${e.key}: embedding has ${v.length} dims, expected ${e.dim}`);
      out.set(v, (s + i) * e.dim);
    });
    if (n > 4000 && (s / chunk) % 8 === 7) log(`    ${set.name}: ${s + m}/${n} (${((performance.now() - t0) / (s + m)).toFixed(1)} ms/frame)`);
  }
  writeFileSync(file + '.tmp', new Uint8Array(out.buffer));
  renameSync(file + '.tmp', file);
  return out;
}

/** Median over `reps` runs of the time to embed `n` frames in batches of ENCODER_BATCH (after a warm-up batch). */
export async function msPerFrame(e: Embedder, set: FrameSet, n = 320, reps = 3): Promise<number> {
  const frames = toFrames(readFrames(set, 0, Math.min(n, set.meta.length)), Math.min(n, set.meta.length));
  await e.embed(frames.slice(0, ENCODER_BATCH));
  const times: number[] = [];
  for (let r = 0; r < reps; r++) {
    const t = performance.now();
    await e.embed(frames);
    times.push((performance.now() - t) / frames.length);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}
