/**
 * Picture-in-picture inset detection on the copy benchmark's generated queries (src/views/inset.ts).
 *
 *   node --import tsx bench/pip-detect.ts [--data DIR] [--no-embed] [--verbose] [--only q0009,n0002]
 *                     [--threshold S] [--single S] [--window N]   (detector options, src/views/inset.ts)
 *                     [--margin F]   (crop margin per side, fraction of the inset; default INSET_CROP_MARGIN)
 *
 * DIR (default .cache/bench/copy/data-s1-q60-n15) holds the manifest of datasets/generate.ts; the
 * script waits until it is complete (and generates it when it is missing). Every query is decoded at
 * 1 fps, 224×224 'stretch', exactly as extractKeyframes does, and run through the streaming detector.
 * Ground truth: for queries whose recipe has a pip step, the overlaid copy's rectangle, recomputed
 * from the manifest params and the source clip's size the way datasets/generate.ts renders it.
 *
 * Prints: per PiP query the copy-span frames with a detection of IoU ≥ 0.5 vs all copy-span frames;
 * the false detection rate outside copy spans and on non-PiP queries; for PiP copy frames the cosine
 * similarity of (a) the whole query frame and (b) the inset view to the true reference frame, and (c)
 * the best similarity of the inset view (and of the whole frame) to frames of other references;
 * ms per frame of the detection.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MODEL_ID } from '../src/config.js';
import { sampleFrames, type Frame } from '../src/decode/frames.js';
import { probeVideo } from '../src/decode/probe.js';
import { createEncoder } from '../src/embed/create-encoder.js';
import type { FrameEncoder } from '../src/embed/onnx-encoder.js';
import { resolveModel } from '../src/embed/registry.js';
import { cropFrame } from '../src/views/crop.js';
import { boxIou, InsetTracker, type InsetBox } from '../src/views/inset.js';
import { INSET_CROP_MARGIN, insetCropBox } from '../src/views/index.js';
import type { Manifest as BaseManifest, ManifestQuery, ManifestSegment } from '../datasets/manifest.js';

process.env.OMP_NUM_THREADS ??= '2';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const value = (f: string): string | undefined => {
  const i = argv.indexOf(f);
  return i >= 0 ? argv[i + 1] : undefined;
};
const dataDir = path.resolve(ROOT, value('--data') ?? '.cache/bench/copy/data-s1-q60-n15');
const embed = !argv.includes('--no-embed');
const verbose = argv.includes('--verbose');
const only = value('--only')?.split(',');
const margin = value('--margin') ? Number(value('--margin')) : INSET_CROP_MARGIN;
const detectorOptions = {
  ...(value('--threshold') ? { threshold: Number(value('--threshold')) } : {}),
  ...(value('--single') ? { singleThreshold: Number(value('--single')) } : {}),
  ...(value('--window') ? { window: Number(value('--window')) } : {}),
};
const SIZE = 224;
const W = 640;
const H = 360;

type Segment = ManifestSegment;
type Query = ManifestQuery & { params: NonNullable<ManifestQuery['params']>; segments: ManifestSegment[] };
interface Manifest extends Omit<BaseManifest, 'queries' | 'references'> {
  references: (BaseManifest['references'][number] & { file: string })[];
  queries: Query[];
}

async function loadManifest(): Promise<Manifest> {
  const file = path.join(dataDir, 'manifest.json');
  if (!existsSync(file)) {
    console.log(`${file} missing: generating it`);
    const m = /data-s(\d+)-q(\d+)-n(\d+)/.exec(dataDir);
    const [seed, queries, negatives] = m ? [m[1], m[2], m[3]] : ['1', '60', '15'];
    const r = spawnSync('node', ['--import', 'tsx', 'datasets/generate.ts', '--out', dataDir, '--seed', seed, '--queries', queries, '--negatives', negatives], {
      cwd: ROOT,
      stdio: 'inherit',
    });
    if (r.status !== 0) throw new Error('datasets/generate.ts failed');
  }
  for (;;) {
    const man = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
    if (man.complete) return man;
    console.log('manifest not complete yet, waiting 20 s');
    await new Promise((r) => setTimeout(r, 20_000));
  }
}

/** ffmpeg's scale=...:force_original_aspect_ratio=decrease:force_divisible_by=2. */
function fitDecrease(iw: number, ih: number, w: number, h: number): [number, number] {
  const tw = Math.round((h * iw) / (ih * 2)) * 2;
  const th = Math.round((w * ih) / (iw * 2)) * 2;
  return [Math.floor(Math.min(tw, w) / 2) * 2, Math.floor(Math.min(th, h) / 2) * 2];
}

const sizeCache = new Map<string, [number, number]>();
/** Display size of a clip (sample aspect ratio applied as generate.ts does). */
function displaySize(file: string): [number, number] {
  const hit = sizeCache.get(file);
  if (hit) return hit;
  const out = execFileSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=width,height,sample_aspect_ratio', '-of', 'json', file], { encoding: 'utf8' });
  const st = (JSON.parse(out) as { streams: { width: number; height: number; sample_aspect_ratio?: string }[] }).streams[0];
  let w = st.width;
  const m = /^(\d+):(\d+)$/.exec(st.sample_aspect_ratio ?? '');
  const sar = m && Number(m[1]) > 0 && Number(m[2]) > 0 ? Number(m[1]) / Number(m[2]) : 1;
  if (Math.abs(sar - 1) > 0.01) w = Math.round((st.width * sar) / 2) * 2;
  const size: [number, number] = [w, st.height];
  sizeCache.set(file, size);
  return size;
}

type Rect = { x: number; y: number; w: number; h: number };

/** The pip step's params of a query (recipe pip, pip_border or a combo ending with pip), or undefined. */
function pipParams(q: Query): { s: number; px: number; py: number; border: boolean } | undefined {
  for (const [step, p] of Object.entries(q.params)) {
    if (step === 'pip' || step === 'pip_border') return { s: Number(p.s), px: Number(p.px), py: Number(p.py), border: step === 'pip_border' };
  }
  return undefined;
}

/** Ground-truth inset of a pip copy/decoy segment, fractions of the 640×360 query frame (border included). */
function insetTruth(q: Query, seg: Segment, sourceDir: string): Rect | undefined {
  const pip = pipParams(q);
  if (!pip) return undefined;
  const [dw, dh] = displaySize(path.join(sourceDir, seg.source));
  let [w, h] = fitDecrease(dw, dh, W, H); // head(..., prescale)
  if (pip.border) [w, h] = [w + 12, h + 12]; // pad=iw+12:ih+12
  const bw = Math.round((W * pip.s) / 2) * 2;
  const bh = Math.round((H * pip.s) / 2) * 2;
  [w, h] = fitDecrease(w, h, bw, bh);
  // overlay: x = (W-w)*px, truncated to the chroma grid (yuv420: even)
  const x = Math.floor((W - w) * pip.px) & ~1;
  const y = Math.floor((H - h) * pip.py) & ~1;
  return { x: x / W, y: y / H, w: w / W, h: h / H };
}

async function decode(file: string, size = SIZE): Promise<Frame[]> {
  const info = await probeVideo(file);
  const frames: Frame[] = [];
  for await (const f of sampleFrames(info, { fps: 1, width: size, height: size, fit: 'stretch' })) frames.push(f);
  return frames;
}

const dot = (a: Float32Array, b: Float32Array): number => {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
};
const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN);
const median = (xs: number[]): number => {
  if (!xs.length) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f3 = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : '  -  ');
const pct = (a: number, b: number): string => `${a}/${b} (${b ? ((100 * a) / b).toFixed(1) : '-'} %)`;

/**
 * What a sampled frame shows, in seconds: `frame.time` + an offset that depends on how sampleFrames asks ffmpeg's
 * fps filter to pick frames (rounding 'near' shows the last input frame before k + 0.5 s: +0.48 s at 25 fps;
 * 'up' shows k − 0.04 s). Measured once on a lossless clip whose luma counts its frames.
 */
let shownA = 0;
let shownB = 0;
async function calibrateShown(): Promise<void> {
  const file = path.join(os.tmpdir(), `pip-detect-calib-${process.pid}.mkv`);
  execFileSync('ffmpeg', ['-v', 'error', '-y', '-f', 'lavfi', '-i', 'color=black:s=32x32:r=25:d=3', '-vf', "geq=lum='16+2.5*N':cb=128:cr=128", '-c:v', 'ffv1', file]);
  try {
    const frames = await decode(file, 8);
    const f = frames[1];
    let sum = 0;
    for (let i = 0; i < f.rgb.length; i += 3) sum += f.rgb[i + 1];
    const n = (sum / (f.rgb.length / 3) / (255 / 219)) / 2.5; // input frame number shown as frame 1
    // offset = a + b / (input fps): a = 0.5 s with rounding 'near', else 0; b in input frames
    const offset25 = Math.round(n) / 25 - f.time;
    shownA = offset25 > 0.25 ? 0.5 : 0;
    shownB = (offset25 - shownA) * 25;
    console.log(`sampleFrames: frame k shows the picture at k s ${shownA ? '+ 0.5 s ' : ''}${shownB >= 0 ? '+' : '−'} ${Math.abs(shownB).toFixed(1)} input frame(s) (calibration: frame 1 of a 25-fps clip shows its frame ${n.toFixed(1)})`);
  } finally {
    rmSync(file, { force: true });
  }
}
const shownOffset = (fps: number): number => shownA + shownB / fps;
const shown = (frame: Frame, fps: number): number => frame.time + shownOffset(fps);
const inside = (t: number, s: number, e: number): boolean => t >= s - 1e-3 && t < e - 1e-3;

async function main(): Promise<void> {
  const man = await loadManifest();
  await calibrateShown();
  const r0 = man.references[0];
  const sourceDir = r0.path.slice(0, r0.path.length - r0.file.length);
  let encoder: FrameEncoder | undefined;
  if (embed) {
    const modelsDir = path.join(ROOT, 'models');
    encoder = await createEncoder(resolveModel(modelsDir, DEFAULT_MODEL_ID), modelsDir, 2);
  }

  // ---- detection over every query
  let detMs = 0;
  let detFrames = 0;
  const perPip: string[] = [];
  let pipHit = 0;
  let pipAll = 0;
  let pipAny = 0;
  let outsideFalse = 0;
  let outsideAll = 0;
  let otherFalse = 0;
  let otherAll = 0;
  const falseByRecipe = new Map<string, number>();
  /** PiP copy frames for the similarity part. */
  const pipFrames: { q: Query; seg: Segment; frame: Frame; box: InsetBox | null; truth: Rect; time: number }[] = [];
  for (const q of man.queries) {
    if (only && !only.includes(q.id)) continue;
    const frames = await decode(q.path);
    const tracker = new InsetTracker<Frame>(detectorOptions);
    const boxes: (InsetBox | null)[] = [];
    const t0 = performance.now();
    for (const f of frames) for (const r of tracker.push(f)) boxes[r.item.index] = r.box;
    for (const r of tracker.flush()) boxes[r.item.index] = r.box;
    detMs += performance.now() - t0;
    detFrames += frames.length;
    const pip = pipParams(q);
    const spans = q.segments.filter((s) => s.kind === 'copy' || s.kind === 'decoy');
    if (!pip) {
      for (const b of boxes) {
        otherAll++;
        if (b) {
          otherFalse++;
          falseByRecipe.set(q.recipe, (falseByRecipe.get(q.recipe) ?? 0) + 1);
        }
      }
      if (verbose && boxes.some((b) => b)) console.log(`  ${q.id} ${q.recipe}: false ${boxes.map((b, i) => (b ? `${i}:${JSON.stringify(roundBox(b))}` : '')).filter(Boolean).join(' ')}`);
      continue;
    }
    let hit = 0;
    let all = 0;
    const truths = spans.map((s) => insetTruth(q, s, sourceDir)!);
    frames.forEach((f) => {
      const t = shown(f, 25);
      const k = spans.findIndex((s) => inside(t, s.queryStart, s.queryEnd));
      const b = boxes[f.index];
      if (k >= 0) {
        const seg = spans[k];
        const ok = b !== null && boxIou(b, truths[k]) >= 0.5;
        all++;
        if (ok) hit++;
        if (seg.kind === 'copy') pipFrames.push({ q, seg, frame: f, box: b, truth: truths[k], time: t });
        if (verbose) console.log(`  ${q.id} k=${f.index} (${t.toFixed(2)} s) ${seg.kind} truth ${JSON.stringify(roundBox(truths[k]))} got ${b ? JSON.stringify(roundBox(b)) : 'null'} iou ${b ? f3(boxIou(b, truths[k])) : '-'}`);
      } else {
        outsideAll++;
        if (b) outsideFalse++;
        if (verbose && b) console.log(`  ${q.id} k=${f.index} (${t.toFixed(2)} s) outside: false ${JSON.stringify(roundBox(b))}`);
      }
    });
    if (q.negative) {
      perPip.push(`${q.id} ${q.recipe.padEnd(16)} (negative query: a PiP of filler footage, not counted) ${hit}/${all} decoy frames with IoU ≥ 0.5`);
      continue;
    }
    pipHit += hit;
    pipAll += all;
    if (hit > 0) pipAny++;
    const t = truths[0];
    perPip.push(
      `${q.id} ${q.recipe.padEnd(16)} s=${pip.s} copy ${spans[0].queryStart}-${spans[0].queryEnd}s truth x=${f3(t.x)} y=${f3(t.y)} w=${f3(t.w)} h=${f3(t.h)}: ${hit}/${all} copy frames with IoU ≥ 0.5`,
    );
  }
  const pipQueries = man.queries.filter((q) => pipParams(q) && !q.negative).length;
  console.log(`\n== inset detection (${man.queries.length} queries, ${detFrames} frames at 1 fps, 224x224 stretch)`);
  for (const line of perPip) console.log('  ' + line);
  console.log(`  PiP copy frames detected (IoU ≥ 0.5): ${pct(pipHit, pipAll)}; PiP queries with ≥ 1 detected frame: ${pipAny}/${pipQueries}`);
  console.log(`  false detections, PiP queries outside copy spans: ${pct(outsideFalse, outsideAll)}`);
  console.log(`  false detections, all frames of non-PiP queries:  ${pct(otherFalse, otherAll)}${falseByRecipe.size ? '  by recipe: ' + [...falseByRecipe].map(([r, n]) => `${r} ${n}`).join(', ') : ''}`);
  console.log(`  detection cost: ${(detMs / detFrames).toFixed(2)} ms per frame (edge maps + windows, 1 thread)`);

  if (!encoder) return;
  // ---- similarities
  const refVectors = new Map<string, Float32Array[]>();
  const refFps = new Map<string, number>();
  for (const r of man.references) {
    const fps = (await probeVideo(r.path)).fps;
    refFps.set(r.id, Number.isFinite(fps) ? fps : 25);
    const frames = await decode(r.path);
    refVectors.set(r.id, await encoder.embed(frames));
  }
  const sims = { whole: [] as number[], view: [] as number[], viewTruth: [] as number[], viewOther: [] as number[], wholeOther: [] as number[] };
  let viewWins = 0;
  let wholeWins = 0;
  let viewFrames = 0;
  console.log(`\n== similarity of PiP copy frames to the true reference frame (${DEFAULT_MODEL_ID}, crop margin ${margin})`);
  console.log('  query  t    (a) whole  (b) view  (b\') view@truth  (c) view→others  whole→others');
  for (const p of pipFrames) {
    const refId = p.seg.reference!;
    const vecs = refVectors.get(refId)!;
    const tr = p.seg.sourceStart + (p.time - p.seg.queryStart) * (p.q.speed ?? 1);
    const refFrame = vecs[Math.max(0, Math.min(vecs.length - 1, Math.round(tr - shownOffset(refFps.get(refId)!))))];
    const excluded = new Set([refId, ...p.q.gt.map((g) => g.reference)]);
    const [whole] = await encoder.embed([p.frame]);
    const [atTruth] = await encoder.embed([cropFrame(p.frame, insetCropBox(p.truth, margin), SIZE)]);
    const view = p.box ? (await encoder.embed([cropFrame(p.frame, insetCropBox(p.box, margin), SIZE)]))[0] : undefined;
    let bestOtherView = -1;
    let bestOtherWhole = -1;
    for (const [id, vs] of refVectors) {
      if (excluded.has(id)) continue;
      for (const v of vs) {
        if (view) bestOtherView = Math.max(bestOtherView, dot(view, v));
        bestOtherWhole = Math.max(bestOtherWhole, dot(whole, v));
      }
    }
    const a = dot(whole, refFrame);
    const b = view ? dot(view, refFrame) : Number.NaN;
    const bt = dot(atTruth, refFrame);
    sims.whole.push(a);
    sims.viewTruth.push(bt);
    sims.wholeOther.push(bestOtherWhole);
    if (view) {
      viewFrames++;
      sims.view.push(b);
      sims.viewOther.push(bestOtherView);
      if (b > bestOtherView) viewWins++;
    }
    if (a > bestOtherWhole) wholeWins++;
    console.log(`  ${p.q.id} ${String(p.time).padStart(3)}  ${f3(a)}      ${f3(b)}     ${f3(bt)}          ${view ? f3(bestOtherView) : '  -  '}            ${f3(bestOtherWhole)}`);
  }
  console.log(`  mean (median) over ${pipFrames.length} PiP copy frames:`);
  console.log(`    (a) whole frame → true ref frame:        ${f3(mean(sims.whole))} (${f3(median(sims.whole))})`);
  console.log(`    (b) inset view → true ref frame:         ${f3(mean(sims.view))} (${f3(median(sims.view))})  [${viewFrames} frames with a view]`);
  console.log(`    (b') crop at the true rectangle → ref:   ${f3(mean(sims.viewTruth))} (${f3(median(sims.viewTruth))})`);
  console.log(`    (c) inset view → best other-ref frame:   ${f3(mean(sims.viewOther))} (${f3(median(sims.viewOther))})`);
  console.log(`        whole frame → best other-ref frame:  ${f3(mean(sims.wholeOther))} (${f3(median(sims.wholeOther))})`);
  const margins = sims.view.map((b, i) => b - sims.viewOther[i]);
  console.log(`    margin (b) − (c): mean ${f3(mean(margins))}, min ${f3(Math.min(...margins))}; true ref beats every other ref frame: view ${viewWins}/${viewFrames}, whole frame ${wholeWins}/${pipFrames.length}`);
  await encoder.close();
}

function roundBox(b: Rect & { score?: number }): Record<string, number> {
  const r = (x: number): number => Math.round(x * 1000) / 1000;
  return b.score === undefined ? { x: r(b.x), y: r(b.y), w: r(b.w), h: r(b.h) } : { x: r(b.x), y: r(b.y), w: r(b.w), h: r(b.h), score: r(b.score) };
}

await main();
