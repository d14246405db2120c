/**
 * `npm run bench:copy`: the dev copy-detection benchmark.
 * 1. Generates (or reuses) queries from ../shared/datasets/dev with datasets/generate.ts: transformed
 *    copied segments inside unrelated footage, plus negatives; ground truth in VCSL box format.
 * 2. Indexes the library side into a fresh store and matches every query with vidtrace.
 * 3. Runs FFmpeg's MPEG-7 signature filter (multi-input detect mode) on the same queries.
 * 4. Prints VCSL segment precision/recall/F1, top-1 reference accuracy, false alarms on negatives,
 *    recall per edit family, ms per query and index seconds for each system, and writes JSON.
 * `--aligners spd,tn,dp`: index once, extract every query once, and match it with each aligner on the
 * same index and candidates (one row per aligner); then time the aligners alone on one
 * 2-minute query × 10-minute reference matrix (120×600 at 1 fps) made of real embeddings.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT, loadConfig } from '../src/config.js';
import type { Box } from '../src/eval/vcsl.js';
import { score, toBoxes, type Prediction, type SystemResult } from './copy-metrics.js';
import { Library, type AlignerName } from '../src/library/library.js';
import { corroborationFor, DEFAULT_MATCH, definedOnly, pairSegments, type MatchOptions } from '../src/match/matcher.js';
import { similarityMatrix, type Matrix } from '../src/match/similarity.js';
import type { MatchReport } from '../src/report/match-report.js';
import type { Manifest, ManifestQuery } from '../datasets/manifest.js';
import { prepareSignatureReferences, signatureMatch } from './signature-baseline.js';
import { interleavedTimes, median } from '../scripts/detector/timing.js';


const { values: args } = parseArgs({
  options: {
    queries: { type: 'string', default: '60' },
    negatives: { type: 'string', default: '15' },
    seed: { type: 'string', default: '1' },
    out: { type: 'string', default: path.join(PROJECT_ROOT, '.cache/bench/copy') },
    source: { type: 'string', default: path.resolve(PROJECT_ROOT, '../shared/datasets/dev') },
    systems: { type: 'string', default: 'vidtrace,signature' },
    model: { type: 'string' },
    threshold: { type: 'string' },
    limit: { type: 'string' },
    /** Comma-separated aligners (spd, tn, dp) run on the same index and candidates; default: the library default only. */
    aligners: { type: 'string' },
  },
});

function generate(): Manifest {
  const dir = path.join(args.out!, `data-s${args.seed}-q${args.queries}-n${args.negatives}`);
  execFileSync(
    process.execPath,
    ['--import', 'tsx', path.join(PROJECT_ROOT, 'datasets/generate.ts'), '--out', dir, '--seed', args.seed!, '--queries', args.queries!, '--negatives', args.negatives!, '--source', args.source!],
    { stdio: ['ignore', 'inherit', 'inherit'] },
  );
  return JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as Manifest;
}

interface VidtraceRun {
  aligner: string;
  predictions: Map<string, Prediction>;
  reports: Record<string, MatchReport>;
}

export interface TimingResult {
  rows: number;
  cols: number;
  /** The timed matrix, rows × cols float32 (row-major). */
  matrixFile: string;
  /** Similarity-matrix computation (common to every aligner), ms. */
  similarityMs: number;
  repeats: number;
  /** Untimed runs of each aligner before the timed ones. */
  warmup: number;
  /** msPerPair = median of the timed runs; fastestMs = the fastest one. */
  aligners: { aligner: string; msPerPair: number; fastestMs: number; segments: number }[];
  dpOverSpd: number | null;
  /** DP fastest / SPD fastest. */
  dpOverSpdFastest: number | null;
}

async function runVidtrace(
  manifest: Manifest,
  queries: ManifestQuery[],
  name: string,
  options: Partial<MatchOptions>,
  aligners?: AlignerName[],
): Promise<{ runs: VidtraceRun[]; indexSeconds: number; timing: TimingResult | null }> {
  const store = path.join(os.tmpdir(), `vidtrace-bench-${process.pid}-${name}`);
  rmSync(store, { recursive: true, force: true });
  const config = loadConfig({ storeDir: store, modelId: args.model });
  const library = await Library.open(config);
  try {
    const t0 = performance.now();
    const summary = await library.indexPaths(manifest.references.map((r) => r.path));
    const indexSeconds = (performance.now() - t0) / 1000;
    if (summary.failed.length) console.error(`index failures: ${JSON.stringify(summary.failed)}`);
    const refIdByPath = new Map(manifest.references.map((r) => [path.resolve(r.path), r.id]));
    if (!aligners) {
      // The library default aligner, through the public API (extraction included in ms/query).
      const predictions = new Map<string, Prediction>();
      const reports: Record<string, MatchReport> = {};
      for (const [i, q] of queries.entries()) {
        const t = performance.now();
        const report = await library.match(q.path, options);
        const pred = toBoxes(report, refIdByPath);
        pred.ms = performance.now() - t;
        predictions.set(q.id, pred);
        reports[q.id] = report;
        if ((i + 1) % 10 === 0) process.stderr.write(`${name}: ${i + 1}/${queries.length} queries\n`);
      }
      const aligner = Object.values(reports)[0]?.info?.aligner ?? (await library.aligner()).name;
      return { runs: [{ aligner, predictions, reports }], indexSeconds, timing: null };
    }
    // Same index, same query keyframes, same candidates: only the aligner differs.
    const runs: VidtraceRun[] = aligners.map((aligner) => ({ aligner, predictions: new Map(), reports: {} }));
    const extracted = new Map<string, Float32Array[]>();
    for (const [i, q] of queries.entries()) {
      const t = performance.now();
      const x = await library.extractQuery(q.path);
      const extractMs = performance.now() - t;
      extracted.set(q.id, x.vectors);
      for (const [k, aligner] of aligners.entries()) {
        const tm = performance.now();
        const report = await library.matchExtracted(q.path, x, { ...options, aligner });
        const pred = toBoxes(report, refIdByPath);
        pred.ms = extractMs + (performance.now() - tm);
        runs[k].predictions.set(q.id, pred);
        runs[k].reports[q.id] = report;
      }
      if ((i + 1) % 10 === 0) process.stderr.write(`${name} (${aligners.join(',')}): ${i + 1}/${queries.length} queries\n`);
    }
    const timing = await timeAligners(library, aligners, queries, extracted, options);
    return { runs, indexSeconds, timing };
  } finally {
    await library.close();
    rmSync(store, { recursive: true, force: true });
  }
}

/**
 * Time per pair of each aligner on one 120×600 matrix (a 2-minute query against a 10-minute
 * reference at 1 fps) built from real embeddings: the reference is every library keyframe followed
 * by the negative queries' keyframes (unrelated footage), cycled to 600; the query is positive
 * queries' keyframes concatenated (each holds copies of library footage) to 120. Median of REPEATS
 * interleaved runs (scripts/detector/timing.ts: the order rotates each round) after WARMUP runs of each aligner.
 */
async function timeAligners(
  library: Library,
  aligners: AlignerName[],
  queries: ManifestQuery[],
  extracted: Map<string, Float32Array[]>,
  options: Partial<MatchOptions>,
): Promise<TimingResult> {
  const dim = library.model.dim;
  const ROWS = 120;
  const COLS = 600;
  const REPEATS = 31;
  const WARMUP = 5;
  const lib = await library.repo.keyframeVectorsAfter(0, dim);
  const refVectors: Float32Array[] = [];
  for (let k = 0; k < lib.ids.length; k++) refVectors.push(lib.vectors.subarray(k * dim, (k + 1) * dim));
  for (const q of queries.filter((x) => x.negative)) refVectors.push(...(extracted.get(q.id) ?? []));
  const queryVectors = queries.filter((x) => !x.negative).flatMap((q) => extracted.get(q.id) ?? []);
  if (refVectors.length === 0 || queryVectors.length === 0) throw new Error('timing: no embeddings');
  const block = (list: Float32Array[], n: number) => {
    const out = new Float32Array(n * dim);
    for (let k = 0; k < n; k++) out.set(list[k % list.length], k * dim);
    return out;
  };
  const qb = block(queryVectors, ROWS);
  const rb = block(refVectors, COLS);
  let sim: Matrix = similarityMatrix(qb, rb, dim);
  const ts = performance.now();
  for (let k = 0; k < 3; k++) sim = similarityMatrix(qb, rb, dim);
  const similarityMs = (performance.now() - ts) / 3;
  // Kept beside the results, so that the timing can be rerun on this very matrix (bench/spd-speed.ts --matrix).
  const matrixFile = path.join(args.out!, 'timing-matrix.f32');
  writeFileSync(matrixFile, new Uint8Array(sim.data.buffer, sim.data.byteOffset, sim.data.byteLength));
  const result: TimingResult = { rows: ROWS, cols: COLS, matrixFile, similarityMs, repeats: REPEATS, warmup: WARMUP, aligners: [], dpOverSpd: null, dpOverSpdFastest: null };
  // The whole copy decision on the pair, as matchQuery makes it: the aligner, its threshold, and the witness
  // aligner on the detector's segments just below it when corroboration is on (src/match/corroboration.ts).
  const corroboration = corroborationFor({ ...DEFAULT_MATCH, ...definedOnly(options) });
  const runs = await Promise.all(
    aligners.map(async (name) => {
      const aligner = await library.aligner(name);
      const witness = await library.witness(aligner);
      return { name, decide: () => pairSegments(sim, aligner, aligner.threshold, witness, corroboration) };
    }),
  );
  // Steady state: WARMUP runs of each aligner on this matrix first (JIT, onnxruntime's buffers for a new input
  // shape: the first runs of the SPD detector on a new shape took 2-10x its steady time), then REPEATS interleaved rounds.
  const times = await interleavedTimes(runs.map((r) => r.decide), REPEATS, WARMUP);
  for (const [i, r] of runs.entries()) {
    const segments = (await r.decide()).length;
    result.aligners.push({ aligner: r.name, msPerPair: median(times[i]), fastestMs: Math.min(...times[i]), segments });
  }
  const spd = result.aligners.find((a) => a.aligner === 'spd');
  const dp = result.aligners.find((a) => a.aligner === 'dp');
  result.dpOverSpd = spd && dp ? dp.msPerPair / spd.msPerPair : null;
  result.dpOverSpdFastest = spd && dp ? dp.fastestMs / spd.fastestMs : null;
  return result;
}

export function printTiming(t: TimingResult): void {
  console.log(`\ntime per pair: ${t.rows}x${t.cols} similarity matrix (2-min query x 10-min reference at 1 fps, real embeddings), median of ${t.repeats} interleaved runs (order rotated each round) after ${t.warmup} warm-up runs each`);
  console.log('aligner   ms/pair  fastest  segments  vs spd');
  const spd = t.aligners.find((a) => a.aligner === 'spd')?.msPerPair;
  for (const a of t.aligners) {
    console.log(`${a.aligner.padEnd(8)} ${a.msPerPair.toFixed(2).padStart(8)} ${a.fastestMs.toFixed(2).padStart(8)}  ${String(a.segments).padStart(8)}  ${spd ? `${(a.msPerPair / spd).toFixed(1)}x`.padStart(6) : '   n/a'}`);
  }
  console.log(`similarity matrix itself (all aligners): ${t.similarityMs.toFixed(1)} ms${t.dpOverSpd ? `; DP/SPD time ratio ${t.dpOverSpd.toFixed(1)}x (medians), ${t.dpOverSpdFastest?.toFixed(1)}x (fastest runs)` : ''}`);
}

async function runSignature(manifest: Manifest, queries: ManifestQuery[]): Promise<{ predictions: Map<string, Prediction>; indexSeconds: number }> {
  const refs = manifest.references;
  const t0 = performance.now();
  const cacheDir = path.join(os.tmpdir(), `vidtrace-bench-signature-${process.pid}`);
  const prepared = prepareSignatureReferences(refs, cacheDir);
  const indexSeconds = (performance.now() - t0) / 1000;
  const predictions = new Map<string, Prediction>();
  for (const [i, q] of queries.entries()) {
    const result = await signatureMatch(q.path, prepared);
    const boxes = new Map<string, Box[]>();
    const ranked: { id: string; len: number }[] = [];
    for (const [refIndex, list] of result.boxes) {
      boxes.set(refs[refIndex].id, list);
      ranked.push({ id: refs[refIndex].id, len: Math.max(...list.map((b) => b[2] - b[0])) });
    }
    ranked.sort((a, b) => b.len - a.len);
    predictions.set(q.id, { boxes, ranked: ranked.map((r) => r.id), ms: result.ms });
    if ((i + 1) % 10 === 0) process.stderr.write(`signature: ${i + 1}/${queries.length} queries\n`);
  }
  rmSync(cacheDir, { recursive: true, force: true });
  return { predictions, indexSeconds };
}

const pct = (x: number) => (Number.isFinite(x) ? (100 * x).toFixed(1).padStart(5) : '  n/a');

export function printTables(results: SystemResult[], queries: ManifestQuery[]): void {
  const pos = queries.filter((q) => !q.negative).length;
  console.log(`\ndev copy-detection benchmark: ${pos} positive queries, ${queries.length - pos} negatives (VCSL segment metrics, %)`);
  console.log('system                      segP  segR  segF1  top1  FAR   ms/query  index s');
  for (const r of results) {
    console.log(
      `${r.system.padEnd(26)} ${pct(r.precision)} ${pct(r.recall)} ${pct(r.f1)}  ${pct(r.top1)} ${pct(r.falseAlarmRate)} ${r.msPerQuery.toFixed(0).padStart(8)}  ${r.indexSeconds === null ? '   n/a' : r.indexSeconds.toFixed(1).padStart(6)}`,
    );
  }
  const families = Object.keys(results[0]?.recallByFamily ?? {});
  console.log('\nsegment recall per edit family (%)');
  console.log(`family          n  ${results.map((r) => r.system.slice(0, 12).padStart(12)).join(' ')}`);
  for (const f of families) {
    console.log(`${f.padEnd(14)} ${String(results[0].recallByFamily[f].queries).padStart(2)}  ${results.map((r) => pct(r.recallByFamily[f]?.recall ?? NaN).padStart(12)).join(' ')}`);
  }
}

async function main(): Promise<void> {
  if (!existsSync(args.source!)) throw new Error(`dev videos not found at ${args.source} (expected ../shared/datasets/dev)`);
  mkdirSync(args.out!, { recursive: true });
  const manifest = generate();
  let queries = manifest.queries;
  if (args.limit) queries = queries.slice(0, Number(args.limit));
  const systems = args.systems!.split(',');
  const results: SystemResult[] = [];
  const details: Record<string, unknown> = {};
  let timing: TimingResult | null = null;
  if (systems.includes('vidtrace')) {
    const options: Partial<MatchOptions> = args.threshold ? { threshold: Number(args.threshold) } : {};
    const aligners = args.aligners?.split(',').map((a) => a.trim()).filter(Boolean) as AlignerName[] | undefined;
    const out = await runVidtrace(manifest, queries, 'vidtrace', options, aligners);
    const model = args.model ?? loadConfig().modelId;
    for (const run of out.runs) {
      results.push(score(`vidtrace (${model}, ${run.aligner})`, queries, run.predictions, out.indexSeconds));
      details[out.runs.length === 1 ? 'vidtrace' : `vidtrace-${run.aligner}`] = run.reports;
    }
    timing = out.timing;
  }
  if (systems.includes('signature')) {
    const run = await runSignature(manifest, queries);
    results.push(score('ffmpeg signature (MPEG-7)', queries, run.predictions, run.indexSeconds));
  }
  printTables(results, queries);
  if (timing) printTiming(timing);
  const outFile = path.join(args.out!, 'results.json');
  writeFileSync(outFile, JSON.stringify({ date: new Date().toISOString(), results, timing, details }, null, 1));
  console.log(`\nwrote ${outFile}`);
}

await main();
