/**
 * The frame-feature candidates of the benchmark and how each one embeds a frame set (with an
 * on-disk cache keyed by the model file's hash and the data version) and how fast it is.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import type { Frame } from '../../src/decode/frames.js';
import { l2normalize } from '../../src/embed/vector-math.js';
import { ENCODER_BATCH, createFrameEncoder, type FrameEncoder } from '../../src/embed/onnx-encoder.js';
import { createOnnxSession, floatTensor, type OnnxSession, type OnnxTensor } from '../../src/embed/onnx.js';
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
  /** Backbone graph (with a feature_map output) this candidate is built on: candidates with the same
   * backbone are embedded in one shared backbone pass (see embedShared). */
  backbone?: string;
  /** Built in about a minute by its build command (the bench builds it when missing). */
  cheap?: boolean;
}

export const MODELS_CACHE = path.join(CACHE_DIR, 'models');
const rel = (...p: string[]): string => path.join(REPO_ROOT, ...p);

export const SHIPPED_ID = 'mnv2bc-ftfused25-lw256';
const BASE = rel('models', 'mobilenetv2-imagenet', 'model.onnx');
const BC = path.join(MODELS_CACHE, 'mnv2-bc.onnx');
const BCG = path.join(MODELS_CACHE, 'mnv2-bcg.onnx');
/**
 * The fine-tuned backbone (its own GeM + linear head included); the ft* candidates run their heads on
 * its feature map. Without a fine-tuning run here, the shipped default's graph serves as the shared
 * backbone: its `feature_map` output is the same fine-tuned map.
 */
const FT = [rel('models', 'mnv2bc-ft256', 'model.onnx'), path.join(MODELS_CACHE, 'mnv2bc-ft256.onnx'), rel('models', 'mnv2bc-ftfused25-lw256', 'model.onnx')].find((f) => existsSync(f)) ?? path.join(MODELS_CACHE, 'mnv2bc-ft256.onnx');
const TRAIN = 'bash scripts/models/train-frame-models.sh --only';

export function candidates(): Candidate[] {
  const model = (id: string): string => (existsSync(rel('models', id, 'model.onnx')) ? rel('models', id, 'model.onnx') : path.join(MODELS_CACHE, `${id}.onnx`));
  const mk = (id: string, backbone: string, description: string, cheap = true): Candidate => ({
    id,
    kind: 'onnx',
    model: model(id),
    dim: 256,
    build: `${TRAIN} ${id}`,
    cheap,
    backbone,
    description,
  });
  return [
    { id: 'dct-luma63', kind: 'js', dim: DCT_DIM, description: 'classical floor: 32x32 luma DCT, 8x8 low frequencies without DC' },
    { id: 'mnv2-gap1280', kind: 'onnx', model: BASE, dim: 1280, backbone: BASE, description: 'raw MobileNetV2 global average pooling (current default)' },
    mk('mnv2-gap-pcaw256', BASE, 'GAP + PCA-whitening to 256, learned on train-side frames'),
    mk('mnv2-rmac-pcaw256', BASE, 'R-MAC: 14 max-pooled regions (3 scales) + PCA-whitening 256, summed'),
    mk('mnv2-gem-lw256', BASE, 'GeM (p=3) + learned whitening 256 from copy-augmented pairs (closed form)'),
    { id: 'mnv2bc-gap1280', kind: 'onnx', model: BC, dim: 1280, backbone: BC, build: `${TRAIN} bc`, cheap: true, description: 'border (letterbox/pillarbox) crop in the graph + raw GAP' },
    mk('mnv2bc-gem-lw256', BC, 'border crop + GeM + learned whitening 256'),
    mk('mnv2bc-sscd-gem256', BC, 'border crop + GeM + linear head 256 trained SSCD-style (InfoNCE + KoLeo on copy-augmented pairs, init lw, early stop)', false),
    mk('mnv2bc-fused-lw256', BC, 'border crop + GeM + flip-invariant 32x32 luma thumbnail (fused) + learned whitening 256'),
    mk('mnv2bcg-gem-lw256', BCG, 'border crop + grayscale + 5x5 box low-pass front-end + GeM + learned whitening 256'),
    mk('mnv2bcg-fused-lw256', BCG, 'bcg front-end + GeM + luma thumbnail (fused) + learned whitening 256'),
    // SSCD-style fine-tuned backbone tail (scripts/models/finetune_frame_encoder.py); the heads on it share its backbone pass
    mk('mnv2bc-ft256', FT, 'border crop + MobileNetV2 with blocks 13-16 + Conv_1 fine-tuned SSCD-style (InfoNCE tau 0.05 + KoLeo) + GeM + linear 256', false),
    mk('mnv2bc-ftfused-lw256', FT, 'the fine-tuned backbone of mnv2bc-ft256 + GeM fused with the luma thumbnail (x 0.5) + learned whitening 256 (the shipped head)', false),
    mk('mnv2bc-ftfused25-lw256', FT, 'the fine-tuned backbone + GeM fused with the luma thumbnail x 0.25 + learned whitening 256', false),
    mk('mnv2bc-ftgem-lw256', FT, 'the fine-tuned backbone + GeM + learned whitening 256 (no thumbnail)', false),
    {
      id: 'inceptionv3-gap2048',
      kind: 'onnx',
      model: path.join(MODELS_CACHE, 'inceptionv3-224.onnx'),
      dim: 2048,
      build: `${TRAIN} inception`,
      cheap: true,
      optIn: true,
      description: 'nsfwjs InceptionV3 mixed10 GAP (224 frame resized to 299 inside the graph)',
    },
  ];
}

export function fileHash(file: string): string {
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

export function cacheKey(c: Candidate): string {
  return c.kind === 'js' ? `${c.id}-js1` : `${c.id}-${fileHash(c.model as string)}`;
}

function cacheFile(key: string, set: FrameSet): string {
  const dir = path.join(CACHE_DIR, 'emb');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `${key}-${DATA_VERSION}-${set.name}.f32`);
}

function readCached(file: string, n: number, dim: number): Float32Array | undefined {
  if (!existsSync(file) || statSync(file).size !== n * dim * 4) return undefined;
  const b = readFileSync(file);
  return new Float32Array(b.buffer, b.byteOffset, n * dim);
}

function writeCached(file: string, v: Float32Array): void {
  writeFileSync(file + '.tmp', new Uint8Array(v.buffer, v.byteOffset, v.byteLength));
  renameSync(file + '.tmp', file);
}

interface HeadSession {
  c: Candidate;
  session: OnnxSession;
  inputs: string[];
}

/** The head sub-graph (out_relu [+ pixels] -> embedding) of a candidate, cut by scripts/models/extract_head.py. */
async function openHead(c: Candidate): Promise<HeadSession> {
  const dir = path.join(MODELS_CACHE, 'heads');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${cacheKey(c)}.onnx`);
  const inputsFile = file + '.inputs';
  if (!existsSync(file) || !existsSync(inputsFile)) {
    const r = spawnSync('/usr/bin/python3', [path.join(REPO_ROOT, 'scripts', 'models', 'extract_head.py'), c.model as string, file], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`extract_head ${c.id}: ${r.stderr}`);
    writeFileSync(inputsFile, r.stdout.trim());
  }
  return { c, session: await createOnnxSession(file, 2), inputs: readFileSync(inputsFile, 'utf8').trim().split(',') };
}

/**
 * Embeds `set` with every candidate built on the MobileNetV2 backbone in ONE backbone pass
 * (backbone -> feature map -> each candidate's head graph -> L2), batches of 16, cached like embedSet.
 * Exactly the same numbers as the full graphs up to float rounding (checked by verifyShared).
 */
export async function embedShared(
  backbonePath: string,
  cands: Candidate[],
  set: FrameSet,
  log: (s: string) => void,
  /** Only rows [start, end) of the set, written to `<cache file>.rows-<start>-<end>` (several processes can share a pass; a later full call joins the parts). */
  part?: { start: number; end: number },
): Promise<Map<string, Float32Array>> {
  const n = set.meta.length;
  const out = new Map<string, Float32Array>();
  const todo: Candidate[] = [];
  for (const c of cands) {
    const v = readCached(cacheFile(cacheKey(c), set), n, c.dim) ?? (part ? undefined : joinParts(cacheFile(cacheKey(c), set), n, c.dim));
    if (v) out.set(c.id, v);
    else todo.push(c);
  }
  if (todo.length === 0) return out;
  if (part) {
    const partFile = (c: Candidate): string => `${cacheFile(cacheKey(c), set)}.rows-${part.start}-${part.end}`;
    const sub = todo.filter((c) => !existsSync(partFile(c)));
    if (sub.length) {
      const res = await embedRows(backbonePath, sub, set, part.start, part.end, log);
      sub.forEach((c, i) => writeCached(partFile(c), res[i] as Float32Array));
    }
    return out;
  }
  log(`  ${set.name}: shared ${path.basename(backbonePath)} pass for ${todo.map((c) => c.id).join(', ')}`);
  const res = await embedRows(backbonePath, todo, set, 0, n, log);
  todo.forEach((c, i) => {
    writeCached(cacheFile(cacheKey(c), set), res[i] as Float32Array);
    out.set(c.id, res[i] as Float32Array);
  });
  return out;
}

/** The parts written by `embedShared(..., part)` when they cover [0, n) exactly; joined into the cache file. */
function joinParts(file: string, n: number, dim: number): Float32Array | undefined {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const parts = readdirSync(dir)
    .map((f) => f.startsWith(base + '.rows-') && /\.rows-(\d+)-(\d+)$/.exec(f))
    .filter((m): m is RegExpExecArray => !!m)
    .map((m) => ({ file: path.join(dir, m.input), start: Number(m[1]), end: Number(m[2]) }))
    .sort((a, b) => a.start - b.start);
  let at = 0;
  for (const p of parts) if (p.start === at) at = p.end;
  if (at !== n) return undefined;
  const v = new Float32Array(n * dim);
  at = 0;
  for (const p of parts) {
    if (p.start !== at) continue;
    const b = readFileSync(p.file);
    if (b.length !== (p.end - p.start) * dim * 4) return undefined;
    v.set(new Float32Array(b.buffer, b.byteOffset, (p.end - p.start) * dim), p.start * dim);
    at = p.end;
  }
  writeCached(file, v);
  return v;
}

async function embedRows(backbonePath: string, todo: Candidate[], set: FrameSet, from: number, to: number, log: (s: string) => void): Promise<Float32Array[]> {
  const n = to - from;
  const backbone = await createOnnxSession(backbonePath, 2);
  const heads = await Promise.all(todo.map(openHead));
  const res = todo.map((c) => new Float32Array(n * c.dim));
  const px = SIZE * SIZE * 3;
  const chunk = ENCODER_BATCH * 32;
  const t0 = performance.now();
  for (let s = 0; s < n; s += chunk) {
    const m = Math.min(chunk, n - s);
    const buf = readFrames(set, from + s, m);
    for (let b0 = 0; b0 < m; b0 += ENCODER_BATCH) {
      const b = Math.min(ENCODER_BATCH, m - b0);
      const data = new Float32Array(b * px);
      for (let i = 0; i < b * px; i++) data[i] = buf[b0 * px + i] as number;
      const pixels = floatTensor(data, [b, SIZE, SIZE, 3]);
      const fm = (await backbone.run({ pixels }, ['feature_map'])).feature_map as OnnxTensor;
      for (let h = 0; h < heads.length; h++) {
        const hs = heads[h] as HeadSession;
        const feeds: Record<string, OnnxTensor> = {};
        for (const name of hs.inputs) feeds[name] = name === 'pixels' ? pixels : fm;
        const e = (await hs.session.run(feeds, ['embedding'])).embedding as OnnxTensor;
        const flat = e.data as Float32Array;
        const dim = hs.c.dim;
        if (flat.length !== b * dim) throw new Error(`${hs.c.id}: head output has ${flat.length / b} dims, expected ${dim}`);
        for (let i = 0; i < b; i++) (res[h] as Float32Array).set(l2normalize(flat.slice(i * dim, (i + 1) * dim)), (s + b0 + i) * dim);
      }
    }
    if (n > 4000 && (s / chunk) % 8 === 7) log(`    ${set.name}: ${s + m}/${n} (${((performance.now() - t0) / (s + m)).toFixed(1)} ms/frame for ${todo.length} candidates)`);
  }
  await backbone.release();
  for (const h of heads) await h.session.release();
  return res;
}

/** Max |difference| between the full graph (via the project's encoder) and the shared-backbone path on the first frames. */
export async function verifyShared(e: Embedder, set: FrameSet, shared: Float32Array, n = 48): Promise<number> {
  const m = Math.min(n, set.meta.length);
  const vecs = await e.embed(toFrames(readFrames(set, 0, m), m));
  let max = 0;
  vecs.forEach((v, i) => {
    for (let j = 0; j < e.dim; j++) max = Math.max(max, Math.abs((v[j] as number) - (shared[i * e.dim + j] as number)));
  });
  return max;
}

export async function openEmbedder(c: Candidate): Promise<Embedder> {
  if (c.kind === 'js') {
    return { dim: c.dim, key: cacheKey(c), embed: async (frames) => frames.map((f) => dctDescriptor(f.rgb, f.width)), close: async () => {} };
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
  return { dim: c.dim, key: cacheKey(c), embed: (f) => enc.embed(f), close: () => enc.close() };
}

/** Embeddings of a whole set, [n * dim], cached in .cache/bench/emb/. */
export async function embedSet(e: Embedder, set: FrameSet, log: (s: string) => void): Promise<Float32Array> {
  const file = cacheFile(e.key, set);
  const n = set.meta.length;
  const cached = readCached(file, n, e.dim);
  if (cached) return cached;
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
  writeCached(file, out);
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
