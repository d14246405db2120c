/**
 * Query-side views for the frame benchmark, made the way the product makes them (src/library/extract.ts
 * with `{ views: true }`): the picture-in-picture detector of src/views/ needs a temporal window of
 * consecutive sampled frames (3 at 1 fps), so every query — every family, and the negatives — gets a
 * *context*: the 3 consecutive 1-fps frames of its source around the query frame, each edited with the
 * query's own edit (same recipe, same drawn parameters; for picture-in-picture the same inset position
 * and scale over the CONSECUTIVE filler frames around the query's background frame: a still inset over
 * moving footage, as datasets/generate.ts renders `pip` / `pip_border`), normalised exactly as the
 * queries (fit 640x360, pad, yuv420p, squash to 224x224). Lossy re-encodes re-encode the segment
 * covering the neighbours and decode it at 1 fps, like the queries.
 *
 * The detector then runs on [neighbour, the query frame itself (from the query set, unchanged), neighbour]
 * (`detectInsets`, window as extract.ts computes it at 1 fps); a detected inset on the query frame is cut
 * out with `insetCropBox` + `cropFrame` (as extract.ts does) and embedded as the query's view. A query's
 * score against a database frame is then the max over its whole-frame vector and its view
 * (`queryReferenceSimilarity` of src/match/matcher.ts).
 *
 * Cached under .cache/bench/frames/<version>/: `contexts.u8/.json` (frames) and `contexts-index.json`
 * (per query: context frame indices, the query frame's position, the true inset rectangle for pip edits);
 * detections in `insets-<hash of src/views/inset.ts>.json`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { Frame } from '../../src/decode/frames.js';
import { cropFrame } from '../../src/views/crop.js';
import { insetCropBox } from '../../src/views/index.js';
import { detectInsets, InsetTracker, boxIou, type InsetBox } from '../../src/views/inset.js';
import {
  FrameSetWriter,
  bgFrame,
  decodeFitted,
  editEncoded,
  editFrames,
  negativeJobs,
  openSet,
  prepareEdit,
  queryJobs,
  readFrames,
  type BenchData,
  type Clip,
  type FrameMeta,
  type FrameSet,
  type Job,
} from './dataset.js';
import { FRAME_BYTES, SIZE, pmap, type RgbImage } from './ffmpeg.js';
import { REPO_ROOT } from './recipes.js';

/** Frames of a query's temporal context (extract.ts: window = min(9, max(3, round(2 * fps) + 1)) = 3 at 1 fps). */
export const FPS = 1;
export const WINDOW = Math.min(9, Math.max(3, Math.round(2 * FPS) + 1));
const JOBS = 2;

export interface ContextEntry {
  /** Indices into the contexts set, in time order (length WINDOW, fewer for clips shorter than WINDOW s). */
  frames: number[];
  /** Position of the query frame in `frames` (that slot is replaced by the query frame itself). */
  at: number;
  /** True inset rectangle (fractions of the frame) of a picture-in-picture edit. */
  truth?: { x: number; y: number; w: number; h: number };
}

export interface Contexts {
  set: FrameSet;
  /** One entry per query, in [queries, negatives] order. */
  index: ContextEntry[];
}

/** The WINDOW consecutive 1-fps frame indices within [0, n) around k (k centred when possible) and k's position. */
export function contextWindow(k: number, n: number): { ks: number[]; at: number } {
  const len = Math.min(WINDOW, n);
  const start = Math.max(0, Math.min(k - Math.floor((WINDOW - 1) / 2), n - len));
  return { ks: Array.from({ length: len }, (_v, i) => start + i), at: k - start };
}

/** Where editFrames puts the inset (fractions of the 640x360 frame), from the fitted source size. */
function pipRect(src: RgbImage, edit: ReturnType<typeof prepareEdit>['edit']): ContextEntry['truth'] {
  const p = edit.pip;
  if (!p) return undefined;
  const pad = edit.vf.some((f) => f.startsWith('pad=iw+12')) ? 12 : 0;
  if (edit.vf.some((f) => /crop|rotate|scale|pad=/.test(f) && !f.startsWith('pad=iw+12'))) return undefined;
  const w0 = src.width + pad;
  const h0 = src.height + pad;
  const bw = Math.round((640 * p.scale) / 2) * 2;
  const bh = Math.round((360 * p.scale) / 2) * 2;
  const r = Math.min(bw / w0, bh / h0);
  const w = Math.min(bw, Math.round((w0 * r) / 2) * 2);
  const h = Math.min(bh, Math.round((h0 * r) / 2) * 2);
  return { x: ((640 - w) * p.x) / 640, y: ((360 - h) * p.y) / 360, w: w / 640, h: h / 360 };
}

export async function renderJob(job: Job, fitted: Map<string, RgbImage[]>, bgClips: Clip[]): Promise<{ job: Job; windows: { ks: number[]; at: number; frames: Uint8Array[] }[]; truth?: ContextEntry['truth']; recipe: string }> {
  const { edit, bg } = prepareEdit(job, fitted, bgClips);
  const src = fitted.get(job.clip.file) as RgbImage[];
  const wins = job.ks.map((k) => contextWindow(k, src.length));
  let flat: Uint8Array[];
  if (edit.encode) {
    const times = [...new Set(wins.flatMap((w) => w.ks))].sort((a, b) => a - b);
    const enc = await editEncoded(job.clip.abs, times, edit);
    const byT = new Map(times.map((t, i) => [t, enc[i] as Uint8Array]));
    flat = wins.flatMap((w) => w.ks.map((t) => byT.get(t) as Uint8Array));
  } else {
    const imgs = wins.flatMap((w) => w.ks.map((t) => src[t] as RgbImage));
    // frame t of the window around query i (source frame k = job.ks[i]) lies over background frame i + (t - k)
    const bgs = bg ? wins.flatMap((w, i) => w.ks.map((t) => bgFrame(bg, i + t - (job.ks[i] as number)))) : undefined;
    flat = await editFrames(imgs, edit, bgs);
  }
  let o = 0;
  const windows = wins.map((w) => {
    const frames = flat.slice(o, o + w.ks.length);
    o += w.ks.length;
    return { ...w, frames };
  });
  return { job, windows, truth: edit.pip ? pipRect(src[0] as RgbImage, edit) : undefined, recipe: edit.recipe };
}

/** Builds (or opens) the context frames of every query and negative, checked against the query sets' order. */
export async function buildContexts(data: BenchData, log: (s: string) => void): Promise<Contexts> {
  const indexFile = path.join(data.dir, 'contexts-index.json');
  const cached = openSet(data.dir, 'contexts');
  const qMeta = [...data.queries.meta, ...data.negatives.meta];
  if (cached && existsSync(indexFile)) {
    const index = JSON.parse(readFileSync(indexFile, 'utf8')) as ContextEntry[];
    if (index.length === qMeta.length) return { set: cached, index };
  }
  log(`contexts: rendering ${WINDOW}-frame temporal contexts of every query and negative (same edit, consecutive 1-fps frames)`);
  const { split } = data;
  const fitted = new Map<string, RgbImage[]>();
  const clips = [...split.test, ...split.filler];
  const dec = await pmap(clips, JOBS, (c) => decodeFitted(c.abs));
  clips.forEach((c, i) => fitted.set(c.file, dec[i] as RgbImage[]));
  const jobs = [...queryJobs(split, fitted, data.refs), ...negativeJobs(split, fitted)];
  let done = 0;
  const results = await pmap(jobs, JOBS, async (job) => {
    const r = await renderJob(job, fitted, split.filler);
    if (++done % 200 === 0) log(`  contexts ${done}/${jobs.length}`);
    return r;
  });
  const w = new FrameSetWriter(path.join(data.dir, 'contexts.u8'));
  const index: ContextEntry[] = [];
  for (const { job, windows, truth, recipe } of results) {
    windows.forEach((win, i) => {
      const q = index.length;
      const m = qMeta[q] as FrameMeta | undefined;
      const k = job.ks[i] as number;
      if (!m || m.file !== job.clip.file || m.t !== k || m.family !== job.family || m.recipe !== recipe) {
        throw new Error(`contexts: job order differs from the query sets at #${q} (${job.label} t=${k} vs ${m?.file} t=${m?.t} ${m?.family})`);
      }
      const frames: number[] = [];
      win.frames.forEach((rgb, j) => {
        frames.push(w.meta.length);
        w.add(rgb, { kind: job.kind, source: job.clip.source, file: job.clip.file, t: win.ks[j] as number, family: job.family, recipe, origin: `context of query #${q}` });
      });
      index.push({ frames, at: win.at, ...(truth ? { truth } : {}) });
    });
  }
  if (index.length !== qMeta.length) throw new Error(`contexts: ${index.length} contexts for ${qMeta.length} queries`);
  w.close();
  writeFileSync(indexFile, JSON.stringify(index));
  return { set: openSet(data.dir, 'contexts') as FrameSet, index };
}

function frameOf(rgb: Uint8Array, index = 0): Frame {
  return { index, time: index, width: SIZE, height: SIZE, rgb };
}

/** The query frame (from the query or negative set) of query #q of [queries, negatives]. */
function queryFrame(data: BenchData, q: number): Uint8Array {
  const nq = data.queries.meta.length;
  const [set, i] = q < nq ? [data.queries, q] : [data.negatives, q - nq];
  return new Uint8Array(readFrames(set, i, 1).subarray(0, FRAME_BYTES));
}

/** The query's temporal context as frames, the query frame itself at its position. */
function contextFrames(data: BenchData, ctx: Contexts, q: number): Frame[] {
  const e = ctx.index[q] as ContextEntry;
  const buf = readFrames(ctx.set, e.frames[0] as number, e.frames.length);
  return e.frames.map((_f, j) => frameOf(j === e.at ? queryFrame(data, q) : new Uint8Array(buf.subarray(j * FRAME_BYTES, (j + 1) * FRAME_BYTES)), j));
}

export interface Detections {
  /** Per query ([queries, negatives] order): the inset detected on the query frame, or null. */
  boxes: (InsetBox | null)[];
  /** Streaming detector cost per sampled frame (one edge map + one window per pushed frame), ms. */
  msPerSampledFrame: number;
  /** detectInsets over one query's whole context, ms (mean over a sample of 100 contexts). */
  msPerContext: number;
}

/** Runs the product's detector on every query's context (cached per version of src/views/inset.ts). */
export function detectQueryInsets(data: BenchData, ctx: Contexts, log: (s: string) => void): Detections {
  const hash = createHash('sha256')
    .update(readFileSync(path.join(REPO_ROOT, 'src', 'views', 'inset.ts')))
    .update(String(WINDOW))
    .digest('hex')
    .slice(0, 12);
  const file = path.join(data.dir, `insets-${hash}.json`);
  let boxes: (InsetBox | null)[] | undefined;
  if (existsSync(file)) {
    const d = JSON.parse(readFileSync(file, 'utf8')) as { boxes: (InsetBox | null)[] };
    if (d.boxes.length === ctx.index.length) boxes = d.boxes;
  }
  if (!boxes) {
    log(`views: inset detection on ${ctx.index.length} query contexts (src/views/inset.ts detectInsets, window ${WINDOW})`);
    boxes = [];
    for (let q = 0; q < ctx.index.length; q++) {
      boxes.push(detectInsets(contextFrames(data, ctx, q), { window: WINDOW })[(ctx.index[q] as ContextEntry).at] ?? null);
      if (q % 1000 === 999) log(`  ${q + 1}/${ctx.index.length}`);
    }
    writeFileSync(file, JSON.stringify({ boxes }));
  }
  // cost, measured on every run (the machine's load changes): streaming as in extract.ts, one push per
  // sampled frame (edge maps + one window evaluation), and detectInsets over whole 3-frame contexts
  const sample: Frame[][] = [];
  for (let q = 0; sample.length < 100 && q < ctx.index.length; q += 43) sample.push(contextFrames(data, ctx, q));
  const tracker = new InsetTracker({ window: WINDOW });
  let t0 = performance.now();
  let pushed = 0;
  for (const c of sample) for (const f of c) (tracker.push(f), pushed++);
  tracker.flush();
  const msPerSampledFrame = (performance.now() - t0) / pushed;
  t0 = performance.now();
  for (const c of sample) detectInsets(c, { window: WINDOW });
  return { boxes, msPerSampledFrame, msPerContext: (performance.now() - t0) / sample.length };
}

/** The crops that are embedded as views (insetCropBox + cropFrame to the encoder's input, as extract.ts), with their query numbers. */
export function viewCrops(data: BenchData, det: Detections): { queries: number[]; frames: Frame[] } {
  const queries: number[] = [];
  const frames: Frame[] = [];
  det.boxes.forEach((box, q) => {
    if (!box) return;
    queries.push(q);
    frames.push(cropFrame(frameOf(queryFrame(data, q), q), insetCropBox(box), SIZE, SIZE));
  });
  return { queries, frames };
}

export interface DetectionStats {
  /** Per family of positive queries, and 'negative': queries, with an inset on the query frame. */
  perFamily: Record<string, { n: number; detected: number }>;
  /** pip-family queries whose detection overlaps the true inset with IoU >= 0.5. */
  pipHits: number;
  pipWithTruth: number;
  /** Detections on queries without an inset (all non-pip families + negatives without a pip edit). */
  falseInsets: number;
  nonPip: number;
}

export function detectionStats(qMeta: readonly FrameMeta[], ctx: Contexts, det: Detections): DetectionStats {
  const perFamily: DetectionStats['perFamily'] = {};
  let pipHits = 0;
  let pipWithTruth = 0;
  let falseInsets = 0;
  let nonPip = 0;
  qMeta.forEach((m, q) => {
    const key = m.kind === 'negative' ? 'negative' : (m.family as string);
    const f = (perFamily[key] ??= { n: 0, detected: 0 });
    const box = det.boxes[q];
    f.n++;
    if (box) f.detected++;
    const truth = (ctx.index[q] as ContextEntry).truth;
    const hasInset = !!truth || /pip/.test(m.recipe ?? '');
    if (!hasInset) {
      nonPip++;
      if (box) falseInsets++;
    }
    if (m.kind === 'query' && m.family === 'pip' && truth) {
      pipWithTruth++;
      if (box && boxIou(box, truth) >= 0.5) pipHits++;
    }
  });
  return { perFamily, pipHits, pipWithTruth, falseInsets, nonPip };
}
