/**
 * Training data for the SPD copy detector (src/detect/): similarity matrices computed with the
 * project's own encoder and keyframe sampling, so training sees what `vidtrace match` sees.
 *
 *   node --import tsx datasets/matrices.ts [--seeds 101-106] [--val-seeds 107-112] [--queries 60]
 *        [--negatives 15] [--split-seed same|N] [--random 2] [--hard 12] [--max-candidates 40]
 *        [--out DIR] [--model ID] [--jobs 2]
 *
 * 1. Runs datasets/generate.ts once per seed (never seed 1: that is the evaluation set of
 *    bench/copy.ts). By default every seed also gets its own `--split-seed` (= the seed), so the
 *    reference libraries differ from the evaluation library (split seed 0) and from each other.
 * 2. Embeds every query and reference with `extractKeyframes` (decode at `sampleFps`, every sampled
 *    frame a keyframe, encoder from models/models.json: `VIDTRACE_MODEL` / `--model` / config
 *    default); queries as `vidtrace match` embeds them (`{ views: true }`: picture-in-picture insets
 *    as extra views, src/library/library.ts extractQuery), references as `index` does (no views).
 *    Vectors are cached per (file content, encoder fingerprint + sha256, fps, SAMPLING rule, views)
 *    under .cache/embeddings/, so re-running with the same encoder only computes what is new, and a
 *    change of the frame sampling (SAMPLING) never reuses stale vectors.
 * 3. Per query, the similarity of every query keyframe to every keyframe of its library (all
 *    references of the split concatenated in manifest order) is one float32 `.npy` [rows, libFrames],
 *    computed as the matcher computes it (`queryReferenceSimilarity`: element-wise max over the whole
 *    keyframe and its views). Pair matrices are column slices of it ([offset, offset + frames) of a
 *    reference). The index lists the pairs worth training on: every GT pair, the candidates the
 *    matcher would align (kNN voting exactly as src/match/matcher.ts: kNN of every keyframe and of
 *    every view vector, votes with the encoder's models.json `match.voteFloor`, i.e. hard negatives;
 *    the first `--hard` of them, more than the matcher's DEFAULT_MATCH.candidates), and `--random`
 *    random other references. The voted list is kept up to `--max-candidates` so tune.ts can simulate
 *    other candidate counts. The trainer also composes long matrices from the full rows.
 * 4. Writes DIR/index.json (see `DetectorIndex`) and .cache/detector/current.json → DIR.
 *
 * GT boxes are given in seconds (VCSL `[qs, rs, qe, re]`) and in cell units `[q0, r0, q1, r1]` =
 * `secondsToCell(seconds)` = seconds × fps + 0.5: keyframe i shows time i/fps (`fps=N:round=up`,
 * src/decode/frames.ts) and stands for half an interval on either side of it (the matcher's
 * `keyframeSpan`), so it is the cell [i − 0.5, i + 0.5) in seconds × fps, i.e. the matrix cell
 * [i, i+1) in cell units. A box covers cells q0..q1 (end exclusive, fractional at the ends); cell
 * boxes become keyframes with src/detect/boxes.ts `toFrameSegment` and seconds with `keyframeSpan`.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Manifest } from './manifest.js';
import { Rng } from './rng.js';
import { PROJECT_ROOT, loadConfig } from '../src/config.js';
import { createFrameEncoder, type FrameEncoder } from '../src/embed/onnx-encoder.js';
import { resolveModel, type ModelMatchTuning } from '../src/embed/registry.js';
import type { Neighbour } from '../src/index/vector-index.js';
import { describeError, isVidtraceError } from '../src/errors.js';
import { allFrames } from '../src/keyframes/selector.js';
import { contentHash, extractKeyframes } from '../src/library/extract.js';
import { QUERY_EXTRACTION } from '../src/library/library.js';
import { voteCandidates } from '../src/match/candidates.js';
import { DEFAULT_MATCH, queryReferenceSimilarity } from '../src/match/matcher.js';
import { similarityMatrix } from '../src/match/similarity.js';
import { SAMPLING_RULE } from '../src/decode/frames.js';

/** 2: GT cells = seconds × fps + 0.5 (keyframes at their labelled time), query views, matcher's similarity. */
export const INDEX_VERSION = 2;

/** The frame-sampling rule the cached vectors were decoded with (part of the embedding cache key). */
export const SAMPLING = SAMPLING_RULE;

/**
 * Seconds → continuous cell coordinate: keyframe i (time i/fps) is the cell [i, i+1), centred on its
 * time, so cell = seconds × fps + 0.5. The first keyframe stands for [0, half an interval) only (the
 * matcher clips keyframeSpan at 0), so the first cell maps to those seconds: cell = 2 · seconds × fps
 * there (continuous at half an interval; a copy starting at 0 s starts at the matrix edge).
 */
export function secondsToCell(seconds: number, fps: number): number {
  const x = seconds * fps;
  return x < 0.5 ? Math.max(0, 2 * x) : x + 0.5;
}

type Box4 = [number, number, number, number];

export interface DetectorIndex {
  version: number;
  createdAt: string;
  /** Encoder fingerprint `id@version/dim` the matrices were computed with. */
  fingerprint: string;
  /** sha256 of the encoder's ONNX file (the fingerprint alone does not change when a file is retrained in place). */
  encoderSha256: string;
  fps: number;
  knn: number;
  candidates: number;
  /** Vote floor used for `candidates`: the encoder's models.json `match.voteFloor`, else DEFAULT_MATCH's. */
  voteFloor: number;
  /** The encoder's per-encoder matching parameters from models.json (tn/dp thresholds…), if any. */
  match?: ModelMatchTuning;
  /** Frame-sampling rule of the vectors (SAMPLING). */
  sampling: string;
  /** Query matrices are the max over the keyframe and its views (queryReferenceSimilarity). */
  queryViews: boolean;
  seeds: number[];
  valSeeds: number[];
  libraries: Record<string, { splitSeed: number; frames: number; refs: { id: string; path: string; duration: number; frames: number; offset: number }[] }>;
  queries: {
    key: string;
    seed: number;
    split: 'train' | 'val';
    library: string;
    file: string;
    rows: number;
    duration: number;
    negative: boolean;
    family: string;
    recipe: string;
    /** GT per reference (index into the library's refs): boxes in seconds and in cells. */
    gt: { ref: number; seconds: Box4[]; cells: Box4[] }[];
    /**
     * kNN-voted references, best first, up to `--max-candidates` (the matcher aligns the first
     * `candidates` of them; the rest let tune.ts simulate other candidate counts).
     */
    candidates: { ref: number; votes: number; hits: number }[];
    /** gt: GT pairs; candidate: voted as the matcher votes; near: voted without a floor; random. */
    pairs: { ref: number; kind: 'gt' | 'candidate' | 'near' | 'random' }[];
  }[];
}


interface Embedded {
  duration: number;
  times: number[];
  vectors: Float32Array;
  dim: number;
  /** Query views (picture-in-picture insets): keyframe rows and their vectors as one row-major block. */
  views: { rows: number[]; block: Float32Array }[];
}

function parseSeeds(spec: string): number[] {
  const out: number[] = [];
  for (const part of spec.split(',').filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`bad seed list "${spec}"`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    for (let s = a; s <= b; s++) out.push(s);
  }
  return out;
}

/** Minimal .npy (format 1.0) writer for a 2-D little-endian float32 C-order array. */
export function npyBytes(data: Float32Array, shape: readonly number[]): Buffer {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pre = 10;
  let header = dict;
  const total = pre + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const buf = Buffer.alloc(pre + header.length + data.byteLength);
  buf.write('\x93NUMPY', 0, 'latin1');
  buf[6] = 1;
  buf[7] = 0;
  buf.writeUInt16LE(header.length, 8);
  buf.write(header, pre, 'latin1');
  Buffer.from(data.buffer, data.byteOffset, data.byteLength).copy(buf, pre + header.length);
  return buf;
}

/** Reads what npyBytes writes (2-D float32). */
export function readNpy(file: string): { shape: number[]; data: Float32Array } {
  const buf = readFileSync(file);
  const len = buf.readUInt16LE(8);
  const header = buf.toString('latin1', 10, 10 + len);
  if (!header.includes("'<f4'")) throw new Error(`${file}: not float32`);
  const shape = (/'shape': \(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const start = 10 + len;
  const data = new Float32Array(buf.buffer.slice(buf.byteOffset + start, buf.byteOffset + buf.length));
  return { shape, data };
}

function writeAtomic(file: string, bytes: Buffer | string): void {
  const tmp = `${file}.part`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
}

class EmbeddingCache {
  private encoder: Promise<FrameEncoder> | undefined;
  computed = 0;
  reused = 0;
  constructor(
    private readonly dir: string,
    private readonly fingerprint: string,
    private readonly modelSha: string,
    private readonly fps: number,
    private readonly make: () => Promise<FrameEncoder>,
  ) {
    mkdirSync(dir, { recursive: true });
  }

  /** Keyframe vectors of a file; `views`: also the query views, as `vidtrace match` extracts a query. */
  async get(file: string, views = false): Promise<Embedded> {
    const key = createHash('sha256')
      .update(`${await contentHash(file)}|${this.fingerprint}|${this.modelSha}|${this.fps}|${SAMPLING}|all|${views ? `views${JSON.stringify(QUERY_EXTRACTION)}` : 'noviews'}`)
      .digest('hex')
      .slice(0, 32);
    const meta = path.join(this.dir, `${key}.json`);
    const bin = path.join(this.dir, `${key}.f32`);
    if (existsSync(meta) && existsSync(bin)) {
      const m = JSON.parse(readFileSync(meta, 'utf8')) as { duration: number; times: number[]; dim: number; views?: { rows: number[] }[] };
      const b = readFileSync(bin);
      const all = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
      let at = m.times.length * m.dim;
      const vs = (m.views ?? []).map((v) => {
        const block = all.slice(at, at + v.rows.length * m.dim);
        at += v.rows.length * m.dim;
        return { rows: v.rows, block };
      });
      this.reused++;
      return { duration: m.duration, times: m.times, dim: m.dim, vectors: all.slice(0, m.times.length * m.dim), views: vs };
    }
    this.encoder ??= this.make();
    const encoder = await this.encoder;
    const x = await extractKeyframes(file, encoder, this.fps, allFrames, undefined, views ? QUERY_EXTRACTION : {});
    const dim = encoder.dim;
    const vs = (x.views ?? []).filter((v) => v.rows.length > 0);
    const total = x.vectors.length + vs.reduce((a, v) => a + v.rows.length, 0);
    const all = new Float32Array(total * dim);
    let at = 0;
    for (const v of [...x.vectors, ...vs.flatMap((w) => w.vectors)]) (all.set(v, at), (at += dim));
    writeAtomic(bin, Buffer.from(all.buffer));
    writeAtomic(meta, JSON.stringify({ file, fingerprint: this.fingerprint, sampling: SAMPLING, duration: x.duration, times: x.times, dim, views: vs.map((v) => ({ kind: v.kind, rows: v.rows })) }));
    this.computed++;
    let off = x.vectors.length * dim;
    const views2 = vs.map((v) => {
      const block = all.slice(off, off + v.rows.length * dim);
      off += v.rows.length * dim;
      return { rows: v.rows, block };
    });
    return { duration: x.duration, times: x.times, vectors: all.slice(0, x.vectors.length * dim), dim, views: views2 };
  }

  async close(): Promise<void> {
    if (this.encoder) await (await this.encoder).close();
  }
}


/** Top-k (score, column) of one row, best first — what an exact inner-product index returns. */
function topK(row: Float32Array, k: number): Neighbour[] {
  const idx = Array.from(row.keys());
  idx.sort((a, b) => row[b] - row[a] || a - b);
  return idx.slice(0, k).map((id) => ({ id, score: row[id] }));
}

async function main(): Promise<void> {
  const { values: args } = parseArgs({
    options: {
      seeds: { type: 'string', default: '101-106' },
      'val-seeds': { type: 'string', default: '107-112' },
      queries: { type: 'string', default: '60' },
      negatives: { type: 'string', default: '15' },
      'split-seed': { type: 'string', default: 'same' },
      random: { type: 'string', default: '2' },
      // Voted candidates used as training pairs (hard negatives); the matcher aligns DEFAULT_MATCH.candidates.
      hard: { type: 'string', default: '12' },
      'max-candidates': { type: 'string', default: '40' },
      out: { type: 'string' },
      model: { type: 'string' },
      source: { type: 'string', default: path.resolve(PROJECT_ROOT, '../shared/datasets/dev') },
      jobs: { type: 'string', default: '2' },
    },
  });
  const trainSeeds = parseSeeds(args.seeds!);
  const valSeeds = parseSeeds(args['val-seeds']!);
  const seeds = [...trainSeeds, ...valSeeds];
  if (seeds.includes(1)) throw new Error('seed 1 is the evaluation set of bench/copy.ts: never train or tune on it');
  const config = loadConfig({ modelId: args.model });
  const model = resolveModel(config.modelsDir, config.modelId);
  const fps = config.sampleFps;
  const slug = model.fingerprint.replace(/[^A-Za-z0-9._-]+/g, '_');
  const out = path.resolve(args.out ?? path.join(PROJECT_ROOT, '.cache/detector', slug));
  mkdirSync(path.join(out, 'm'), { recursive: true });
  console.log(`matrices: encoder ${model.fingerprint} (${model.absolutePath}), ${fps} fps, seeds train ${trainSeeds.join(',')} val ${valSeeds.join(',')} -> ${out}`);

  // 1. Queries.
  const manifests = new Map<number, { manifest: Manifest; splitSeed: number }>();
  for (const seed of seeds) {
    const splitSeed = args['split-seed'] === 'same' ? seed : Number(args['split-seed']);
    const dir = path.join(PROJECT_ROOT, '.cache/datasets', `train-s${seed}-q${args.queries}-n${args.negatives}-sp${splitSeed}`);
    const t = Date.now();
    execFileSync(
      process.execPath,
      [
        '--import', 'tsx', path.join(PROJECT_ROOT, 'datasets/generate.ts'), '--out', dir, '--seed', String(seed), '--queries', args.queries!,
        '--negatives', args.negatives!, '--split-seed', String(splitSeed), '--source', args.source!, '--jobs', args.jobs!,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
    if (!manifest.complete) throw new Error(`${dir}: generation incomplete`);
    manifests.set(seed, { manifest, splitSeed });
    console.log(`seed ${seed}: ${manifest.queries.length} queries, ${manifest.references.length} references (split ${splitSeed}) ready in ${((Date.now() - t) / 1000).toFixed(0)} s`);
  }

  // 2. Embeddings.
  const encoderSha256 = await contentHash(model.absolutePath);
  const voteFloor = model.match?.voteFloor ?? DEFAULT_MATCH.voteFloor;
  const cache = new EmbeddingCache(path.join(PROJECT_ROOT, '.cache/embeddings', slug), model.fingerprint, encoderSha256, fps, () => createFrameEncoder(model, config.threads));
  const index: DetectorIndex = {
    version: INDEX_VERSION,
    createdAt: new Date().toISOString(),
    fingerprint: model.fingerprint,
    encoderSha256,
    fps,
    knn: DEFAULT_MATCH.knn,
    candidates: DEFAULT_MATCH.candidates,
    voteFloor,
    ...(model.match ? { match: model.match } : {}),
    sampling: SAMPLING,
    queryViews: true,
    seeds: trainSeeds,
    valSeeds,
    libraries: {},
    queries: [],
  };
  const t0 = Date.now();
  const random = Number(args.random);
  const hard = Number(args.hard);
  const maxCandidates = Math.max(Number(args['max-candidates']), DEFAULT_MATCH.candidates);
  try {
    for (const seed of seeds) {
      const { manifest, splitSeed } = manifests.get(seed)!;
      const libKey = `split${splitSeed}`;
      // Library: every reference of the split, concatenated in manifest order.
      // A reference the library cannot index (e.g. MEDIA_TOO_SHORT: bench/copy.ts reports it as an
      // index failure and goes on) has no keyframes here either: 0 frames, never a candidate.
      const refVectors: Embedded[] = [];
      for (const r of manifest.references) {
        try {
          refVectors.push(await cache.get(r.path));
        } catch (e) {
          if (!isVidtraceError(e)) throw e;
          console.warn(`  reference ${r.id} skipped: ${describeError(e)}`);
          refVectors.push({ duration: r.duration, times: [], vectors: new Float32Array(0), dim: model.dim, views: [] });
        }
      }
      const dim = model.dim;
      const libFrames = refVectors.reduce((a, e) => a + e.times.length, 0);
      const lib = new Float32Array(libFrames * dim);
      const owner = new Int32Array(libFrames);
      const refs: DetectorIndex['libraries'][string]['refs'] = [];
      let offset = 0;
      manifest.references.forEach((r, k) => {
        const e = refVectors[k];
        lib.set(e.vectors, offset * dim);
        owner.fill(k, offset, offset + e.times.length);
        refs.push({ id: r.id, path: r.path, duration: e.duration, frames: e.times.length, offset });
        e.times.forEach((t, i) => {
          if (Math.abs(t - i / fps) > 1e-6) throw new Error(`${r.path}: keyframe ${i} at ${t}s, expected ${i / fps}s`);
        });
        offset += e.times.length;
      });
      if (index.libraries[libKey] && index.libraries[libKey].frames !== libFrames) throw new Error(`library ${libKey} differs between seeds`);
      index.libraries[libKey] = { splitSeed, frames: libFrames, refs };
      const refIndex = new Map(manifest.references.map((r, k) => [r.id, k]));
      const split: 'train' | 'val' = valSeeds.includes(seed) ? 'val' : 'train';
      const pickRng = new Rng(seed * 7919 + 17);
      const pick = () => pickRng.float();
      for (const q of manifest.queries) {
        const e = await cache.get(q.path, true);
        const rows = e.times.length;
        // kNN as the matcher searches: every keyframe, then every view vector (its hits join its keyframe's).
        const whole = similarityMatrix(e.vectors, lib, dim);
        const neighbours: Neighbour[][] = [];
        for (let i = 0; i < rows; i++) neighbours.push(topK(whole.data.subarray(i * libFrames, (i + 1) * libFrames), DEFAULT_MATCH.knn));
        for (const v of e.views) {
          const vs = similarityMatrix(v.block, lib, dim);
          v.rows.forEach((row, k) => neighbours[row].push(...topK(vs.data.subarray(k * libFrames, (k + 1) * libFrames), DEFAULT_MATCH.knn)));
        }
        // The matrix the aligners see: max over the keyframe and its views (column slices = per-reference matrices).
        const sim = queryReferenceSimilarity(e.vectors, e.views, lib, dim);
        const candidates = voteCandidates(neighbours, (id) => String(owner[id]), voteFloor, maxCandidates).map((c) => ({
          ref: Number(c.videoId),
          votes: Math.round(c.votes * 1e4) / 1e4,
          hits: c.hits,
        }));
        const gt = q.gt.flatMap((g) => {
          const ref = refIndex.get(g.reference);
          if (ref === undefined) throw new Error(`${q.id}: GT reference ${g.reference} not in the library`);
          if (refs[ref].frames === 0) return [];
          return [{ ref, seconds: g.boxes, cells: g.boxes.map((b) => b.map((x) => Math.round(secondsToCell(x, fps) * 1e4) / 1e4) as Box4) }];
        });
        const pairs: DetectorIndex['queries'][number]['pairs'] = gt.map((g) => ({ ref: g.ref, kind: 'gt' as const }));
        const used = new Set(pairs.map((p) => p.ref));
        for (const c of candidates.slice(0, hard)) if (!used.has(c.ref)) (used.add(c.ref), pairs.push({ ref: c.ref, kind: 'candidate' }));
        // The vote floor is encoder-specific (few votes pass it with some encoders): also take the
        // references closest to the query without a floor, so every encoder yields hard negatives.
        const near = voteCandidates(neighbours, (id) => String(owner[id]), 0, hard);
        for (const c of near) if (!used.has(Number(c.videoId))) (used.add(Number(c.videoId)), pairs.push({ ref: Number(c.videoId), kind: 'near' }));
        const others = refs.map((_r, k) => k).filter((k) => !used.has(k) && refs[k].frames > 0);
        for (let n = 0; n < random && others.length > 0; n++) pairs.push({ ref: others.splice(Math.floor(pick() * others.length), 1)[0], kind: 'random' });
        const key = `s${seed}_${q.id}`;
        const file = path.join('m', `${key}.npy`);
        writeAtomic(path.join(out, file), npyBytes(sim.data, [rows, libFrames]));
        index.queries.push({ key, seed, split, library: libKey, file, rows, duration: e.duration, negative: q.negative, family: q.family, recipe: q.recipe, gt, candidates, pairs });
      }
      console.log(`seed ${seed} (${split}): embedded (${cache.computed} computed, ${cache.reused} cached so far), ${manifest.queries.length} matrices, library ${libFrames} frames, ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    }
  } finally {
    await cache.close();
  }
  writeAtomic(path.join(out, 'index.json'), JSON.stringify(index));
  mkdirSync(path.join(PROJECT_ROOT, '.cache/detector'), { recursive: true });
  writeAtomic(path.join(PROJECT_ROOT, '.cache/detector/current.json'), JSON.stringify({ dir: out, fingerprint: model.fingerprint, encoderSha256, createdAt: index.createdAt }, null, 1) + '\n');
  const n = (split: string) => index.queries.filter((q) => q.split === split);
  const pairs = (split: string) => n(split).reduce((a, q) => a + q.pairs.length, 0);
  const gtInCand = index.queries.filter((q) => !q.negative).filter((q) => q.gt.every((g) => q.candidates.slice(0, index.candidates).some((c) => c.ref === g.ref))).length;
  console.log(
    `wrote ${out}/index.json: train ${n('train').length} queries / ${pairs('train')} pairs, val ${n('val').length} queries / ${pairs('val')} pairs; ` +
      `GT among candidates for ${gtInCand}/${index.queries.filter((q) => !q.negative).length} positives`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  await main();
}
