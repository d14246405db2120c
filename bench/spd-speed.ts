/**
 * `node --import tsx bench/spd-speed.ts [--manifest M] [--repeats N] [--wait S] [--spd-threads T] [--matrix F] [--against MODELS_DIR]`
 *
 * Speed of the SPD detector against the classical aligners, and equality of its fast inference path
 * with the plain one (src/detect/spd-reference.ts), on real embeddings of the copy benchmark
 * (default: .cache/bench/copy/data-s1-q60-n15, waited for until `"complete": true`).
 *
 * 1. Timing matrix, built as bench/copy.ts `timeAligners` builds it: a 120×600 matrix (2-minute
 *    query × 10-minute reference at 1 fps); the reference is every library keyframe (references in
 *    manifest order, duplicates by content skipped as indexing skips them) followed by the negative
 *    queries' keyframes, cycled to 600; the query is the positive queries' keyframes concatenated,
 *    cycled to 120. Median ms/pair (interleaved runs, so that load from other processes hits all of
 *    them alike) of: spd (whole matrix, fast path: what `vidtrace match` runs), its onnxruntime
 *    call alone, spd through the plain path, spd through 54 overlapping 64×64 tiles (the strategy
 *    of meta format 1, same network), dp and tn; DP/SPD ratios.
 * 2. Equality: fast vs plain boxes on that matrix, on every (query, reference clip) pair of the
 *    benchmark (75 × references) and on each query against the whole library as one long
 *    reference, both whole and through the fallback windows of huge matrices (forced).
 * 3. With `--against DIR`: DIR/spd-detector (e.g. the graph before an edit) is timed beside the configured detector
 *    and compared with it on the same matrices (same segments, calibrated scores within 1e-4); exit 1 on a difference.
 * Keyframe vectors are computed with the library's default encoder and cached (bench/spd-vectors.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Manifest } from '../datasets/manifest.js';
import { PROJECT_ROOT, loadConfig } from '../src/config.js';
import { toFrameSegment, type CellBox } from '../src/detect/boxes.js';
import { formatTiming, timeAligners } from '../scripts/detector/timing.js';
import { createSpdDetector, type SpdDetector } from '../src/detect/spd-detector.js';
import { resolveModel } from '../src/embed/registry.js';
import { contentHash } from '../src/library/extract.js';
import { dpAligner, temporalNetworkAligner } from '../src/match/matcher.js';
import { similarityMatrix, type Matrix } from '../src/match/similarity.js';
import { openVectorSource } from './spd-vectors.js';

const { values: args } = parseArgs({
  options: {
    manifest: { type: 'string', default: path.join(PROJECT_ROOT, '.cache/bench/copy/data-s1-q60-n15/manifest.json') },
    repeats: { type: 'string', default: '31' },
    wait: { type: 'string', default: '3600' },
    /** onnxruntime intra-op threads of the SPD detector (default: the configured VIDTRACE_THREADS capped by meta inference.threads, as the library). */
    'spd-threads': { type: 'string' },
    /** Time on this matrix instead (the timing-matrix.f32 a bench:copy run keeps: 120×600 float32, row-major). */
    matrix: { type: 'string' },
    /**
     * A models directory with another spd-detector (e.g. the graph before an edit): timed beside the configured one
     * (row `spd (against)`), and its boxes compared with the configured detector's on every matrix of the equality check.
     */
    against: { type: 'string' },
  },
});

async function waitForManifest(file: string, seconds: number): Promise<Manifest> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    if (existsSync(file)) {
      try {
        const m = JSON.parse(readFileSync(file, 'utf8')) as Manifest;
        if (m.complete) return m;
      } catch {
        // being rewritten: try again
      }
    }
    if (Date.now() > until) throw new Error(`${file}: not complete after ${seconds} s`);
    process.stderr.write(`waiting for ${file} to be complete…\n`);
    await sleep(15_000);
  }
}

const manifest = await waitForManifest(args.manifest, Number(args.wait));
const config = loadConfig();
const model = resolveModel(config.modelsDir, config.modelId);
const source = await openVectorSource(config, (s) => process.stderr.write(`${s}\n`));
const dim = source.dim;
const vectors = new Map<string, Float32Array[]>();
for (const clip of [...manifest.references, ...manifest.queries]) vectors.set(clip.id, (await source.get(clip.id, clip.path)).vectors);
await source.close();

const concat = (list: Float32Array[], n = list.length): Float32Array => {
  const out = new Float32Array(n * dim);
  for (let k = 0; k < n; k++) out.set(list[k % list.length], k * dim);
  return out;
};

// 1. The timing matrix (bench/copy.ts timeAligners).
const ROWS = 120;
const COLS = 600;
const seen = new Set<string>();
const library: Float32Array[] = [];
for (const r of manifest.references) {
  const hash = await contentHash(r.path);
  if (seen.has(hash)) continue;
  seen.add(hash);
  library.push(...vectors.get(r.id)!);
}
const refVectors = [...library, ...manifest.queries.filter((q) => q.negative).flatMap((q) => vectors.get(q.id)!)];
const queryVectors = manifest.queries.filter((q) => !q.negative).flatMap((q) => vectors.get(q.id)!);
const timingMatrix = args.matrix ? readMatrix(args.matrix, ROWS, COLS) : similarityMatrix(concat(queryVectors, ROWS), concat(refVectors, COLS), dim);

function readMatrix(file: string, rows: number, cols: number): Matrix {
  const bytes = readFileSync(file);
  if (bytes.byteLength !== rows * cols * 4) throw new Error(`${file}: ${bytes.byteLength} bytes, not a ${rows}x${cols} float32 matrix`);
  return { rows, cols, data: new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength)) };
}

const spdThreads = args['spd-threads'] ? Number(args['spd-threads']) : config.threads;
const cap = args['spd-threads'] ? { threads: spdThreads } : {};
const spdPlain = await createSpdDetector(config.modelsDir, spdThreads, cap, { reference: true });
const spdFast = await createSpdDetector(config.modelsDir, spdThreads, cap);
const spdTiles = await createSpdDetector(config.modelsDir, spdThreads, { ...cap, maxCells: 0, tile: 64, tileStride: 32, batch: 64 });
const against = args.against ? await createSpdDetector(args.against, spdThreads, cap) : undefined;
const tnConf = model.match?.tn ?? {};
const dpConf = model.match?.dp ?? {};
const tn = temporalNetworkAligner({ minSimilarity: tnConf.minSimilarity ?? model.match?.voteFloor }, tnConf.threshold);
const dp = dpAligner({ bias: dpConf.bias }, dpConf.threshold);
const repeats = Number(args.repeats);
const timing = await timeAligners(timingMatrix, config.modelsDir, spdFast, spdFast.threads, [dp, tn], repeats, [
  { name: 'spd (plain path)', aligner: spdPlain },
  { name: 'spd (64x64 tiles)', aligner: spdTiles },
  ...(against ? [{ name: 'spd (against)', aligner: against }] : []),
]);
console.log(`timing matrix (real embeddings, ${model.fingerprint}; reference from ${refVectors.length} keyframes, query from ${queryVectors.length}), spd ${spdFast.meta.training && (spdFast.meta.training as { width?: number }).width ? `width ${(spdFast.meta.training as { width: number }).width}, ` : ''}stride ${spdFast.meta.stride}`);
console.log(formatTiming(timing));
const ms = (name: string) => timing.table.find((x) => x.name === name)!.ms;
console.log(`whole matrix vs 64x64 tiles (same network): ${(ms('spd (64x64 tiles)') / ms('spd')).toFixed(1)}x faster; onnxruntime alone ${ms('spd: onnxruntime').toFixed(3)} ms, the rest ${(ms('spd') - ms('spd: onnxruntime')).toFixed(3)} ms`);

// 2. Equality of the fast and the plain path (and, with --against, of this detector and another one).
interface Diff {
  where: string;
  detail: string;
}
interface Tally {
  diffs: Diff[];
  maxDelta: number;
  boxes: number;
}
const tally = (): Tally => ({ diffs: [], maxDelta: 0, boxes: 0 });
const paths = tally();
const versus = tally();
let matrices = 0;
/** Boxes of `a` and `b` on one matrix: the same segments (keyframes) and calibrated scores within 1e-4? */
async function sameBoxes(t: Tally, where: string, m: Matrix, a: SpdDetector, b: SpdDetector): Promise<void> {
  const x: CellBox[] = await a.detect(m);
  const y: CellBox[] = await b.detect(m);
  t.boxes += x.length;
  if (x.length !== y.length) {
    t.diffs.push({ where, detail: `${x.length} vs ${y.length} boxes` });
    return;
  }
  for (let i = 0; i < x.length; i++) {
    const fields = ['q0', 'q1', 'r0', 'r1', 'score', 'raw', 'diag'] as const;
    const delta = Math.max(...fields.map((f) => Math.abs((x[i][f] ?? 0) - (y[i][f] ?? 0))));
    t.maxDelta = Math.max(t.maxDelta, delta);
    const sa = toFrameSegment(x[i], m.rows, m.cols);
    const sb = toFrameSegment(y[i], m.rows, m.cols);
    const sameSegment = sa.queryStart === sb.queryStart && sa.queryEnd === sb.queryEnd && sa.refStart === sb.refStart && sa.refEnd === sb.refEnd;
    if (!sameSegment || Math.abs(sa.score - sb.score) > 1e-4) t.diffs.push({ where, detail: `box ${i}: ${JSON.stringify(sa)} vs ${JSON.stringify(sb)}` });
  }
}
async function compare(where: string, m: Matrix, plain = spdPlain, fast = spdFast, other = against): Promise<void> {
  matrices++;
  await sameBoxes(paths, where, m, plain, fast);
  if (other) await sameBoxes(versus, where, m, fast, other);
}
await compare('timing matrix', timingMatrix);
const pairSets = { pairs: 0, long: 0 };
for (const q of manifest.queries) {
  const qv = concat(vectors.get(q.id)!);
  for (const r of manifest.references) {
    await compare(`${q.id} x ${r.id}`, similarityMatrix(qv, concat(vectors.get(r.id)!), dim));
    pairSets.pairs++;
  }
}
const libraryBlock = concat(library);
// The fallback windows of matrices above maxCells, forced on the long matrices (both paths).
const windowed = { ...cap, maxCells: 0, tile: 128, tileStride: 96 };
const plainWin = await createSpdDetector(config.modelsDir, spdThreads, windowed, { reference: true });
const fastWin = await createSpdDetector(config.modelsDir, spdThreads, windowed);
const againstWin = args.against ? await createSpdDetector(args.against, spdThreads, windowed) : undefined;
for (const q of manifest.queries) {
  const m = similarityMatrix(concat(vectors.get(q.id)!), libraryBlock, dim);
  await compare(`${q.id} x whole library`, m);
  await compare(`${q.id} x whole library (128x128 windows)`, m, plainWin, fastWin, againstWin);
  pairSets.long++;
}
await plainWin.close();
await fastWin.close();
await againstWin?.close();
const sets = `${matrices} matrices (the timing matrix, ${pairSets.pairs} query x reference pairs = ${manifest.queries.length} queries x ${manifest.references.length} references, ${pairSets.long} query x whole-library matrices whole and in windows)`;
function printTally(title: string, t: Tally): void {
  console.log(`\n${title}: ${sets}, ${t.boxes} boxes`);
  console.log(`  differing: ${t.diffs.length}; largest |difference| of any box coordinate / score / raw / diag: ${t.maxDelta}`);
  for (const d of t.diffs.slice(0, 20)) console.log(`  ${d.where}: ${d.detail}`);
}
printTally('equality plain vs fast path', paths);
if (against) printTally(`${config.modelsDir}/spd-detector vs ${args.against}/spd-detector (fast paths)`, versus);
await spdPlain.close();
await spdFast.close();
await spdTiles.close();
await against?.close();
if (paths.diffs.length || versus.diffs.length) process.exitCode = 1;
