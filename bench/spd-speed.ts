/**
 * `node --import tsx bench/spd-speed.ts [--manifest M] [--repeats N] [--wait S] [--spd-threads T]`
 *
 * Speed of the SPD detector's inference path against the classical aligners, and equality of the
 * fast path with the original one (src/detect/spd-reference.ts), on real embeddings of the copy
 * benchmark (default: .cache/bench/copy/data-s1-q60-n15, waited for until `"complete": true`).
 *
 * 1. Timing matrix, built as bench/copy.ts `timeAligners` builds it: a 120×600 matrix (2-minute
 *    query × 10-minute reference at 1 fps); the reference is every library keyframe (references in
 *    manifest order, duplicates by content skipped as indexing skips them) followed by the negative
 *    queries' keyframes, cycled to 600; the query is the positive queries' keyframes concatenated,
 *    cycled to 120. Median ms/pair of spd (old path), spd (new path), dp and tn, interleaved so that
 *    load from other processes hits all of them alike; DP/SPD ratios.
 * 2. Equality: old vs new boxes on that matrix, on every (query, reference clip) pair of the
 *    benchmark (75 × references) and on each query against the whole library as one long reference.
 * Keyframe vectors are computed with the library's default encoder and cached (bench/spd-vectors.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Manifest } from '../datasets/manifest.js';
import { PROJECT_ROOT, loadConfig } from '../src/config.js';
import { toFrameSegment, type CellBox } from '../src/detect/boxes.js';
import { createSpdDetector } from '../src/detect/spd-detector.js';
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
    /** onnxruntime intra-op threads of both SPD paths (default: the configured VIDTRACE_THREADS, as the library). */
    'spd-threads': { type: 'string' },
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
const timingMatrix = similarityMatrix(concat(queryVectors, ROWS), concat(refVectors, COLS), dim);

const spdThreads = args['spd-threads'] ? Number(args['spd-threads']) : config.threads;
const spdOld = await createSpdDetector(config.modelsDir, spdThreads, {}, { reference: true });
const spdNew = await createSpdDetector(config.modelsDir, spdThreads);
const tnConf = model.match?.tn ?? {};
const dpConf = model.match?.dp ?? {};
const tn = temporalNetworkAligner({ minSimilarity: tnConf.minSimilarity ?? model.match?.voteFloor }, tnConf.threshold);
const dp = dpAligner({ bias: dpConf.bias }, dpConf.threshold);
const runs: { name: string; align: (m: Matrix) => Promise<unknown> }[] = [
  { name: 'spd (old path)', align: (m) => spdOld.align(m) },
  { name: 'spd (new path)', align: (m) => spdNew.align(m) },
  { name: 'dp', align: (m) => dp.align(m) },
  { name: 'tn', align: (m) => tn.align(m) },
];
const repeats = Number(args.repeats);
const times = runs.map(() => [] as number[]);
for (const r of runs) await r.align(timingMatrix); // warm-up
for (let k = 0; k < repeats; k++) {
  for (const [i, r] of runs.entries()) {
    const t = performance.now();
    await r.align(timingMatrix);
    times[i].push(performance.now() - t);
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const ms = runs.map((r, i) => ({ name: r.name, ms: median(times[i]), min: Math.min(...times[i]) }));
const segsAbove = async (a: { align(m: Matrix): Promise<{ score: number }[]>; threshold: number }) => (await a.align(timingMatrix)).filter((s) => s.score >= a.threshold).length;
const above = [await segsAbove(spdOld), await segsAbove(spdNew), await segsAbove(dp), await segsAbove(tn)];
console.log(`timing matrix ${ROWS}x${COLS} (real embeddings, ${model.fingerprint}; reference from ${refVectors.length} keyframes, query from ${queryVectors.length}), median of ${repeats} interleaved runs, spd onnxruntime threads ${spdThreads}`);
console.log('aligner          ms/pair (median)  (fastest run)  segments≥threshold');
ms.forEach((x, i) => console.log(`${x.name.padEnd(15)} ${x.ms.toFixed(3).padStart(8)}          ${x.min.toFixed(3).padStart(8)}       ${String(above[i]).padStart(6)}`));
const [old, neu, dpMs] = [ms[0].ms, ms[1].ms, ms[2].ms];
console.log(`spd speed-up (old/new) ${(old / neu).toFixed(2)}x; DP/SPD ratio (medians): old path ${(dpMs / old).toFixed(1)}x, new path ${(dpMs / neu).toFixed(1)}x; (fastest runs): old ${(ms[2].min / ms[0].min).toFixed(1)}x, new ${(ms[2].min / ms[1].min).toFixed(1)}x`);

// 2. Equality of the two paths.
interface Diff {
  where: string;
  detail: string;
}
const diffs: Diff[] = [];
let maxDelta = 0;
let boxes = 0;
let matrices = 0;
async function compare(where: string, m: Matrix): Promise<void> {
  matrices++;
  const a: CellBox[] = await spdOld.detect(m);
  const b: CellBox[] = await spdNew.detect(m);
  boxes += a.length;
  if (a.length !== b.length) {
    diffs.push({ where, detail: `${a.length} vs ${b.length} boxes` });
    return;
  }
  for (let i = 0; i < a.length; i++) {
    const fields = ['q0', 'q1', 'r0', 'r1', 'score', 'raw', 'diag'] as const;
    const delta = Math.max(...fields.map((f) => Math.abs((a[i][f] ?? 0) - (b[i][f] ?? 0))));
    maxDelta = Math.max(maxDelta, delta);
    const sa = toFrameSegment(a[i], m.rows, m.cols);
    const sb = toFrameSegment(b[i], m.rows, m.cols);
    const sameSegment = sa.queryStart === sb.queryStart && sa.queryEnd === sb.queryEnd && sa.refStart === sb.refStart && sa.refEnd === sb.refEnd;
    if (!sameSegment || Math.abs(sa.score - sb.score) > 1e-4) diffs.push({ where, detail: `box ${i}: ${JSON.stringify(sa)} vs ${JSON.stringify(sb)}` });
  }
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
for (const q of manifest.queries) {
  await compare(`${q.id} x whole library`, similarityMatrix(concat(vectors.get(q.id)!), libraryBlock, dim));
  pairSets.long++;
}
console.log(`\nequality old vs new path: ${matrices} matrices (the timing matrix, ${pairSets.pairs} query x reference pairs = ${manifest.queries.length} queries x ${manifest.references.length} references, ${pairSets.long} query x whole-library matrices), ${boxes} boxes`);
console.log(`  differing: ${diffs.length}; largest |difference| of any box coordinate / score / raw / diag: ${maxDelta}`);
for (const d of diffs.slice(0, 20)) console.log(`  ${d.where}: ${d.detail}`);
await spdOld.close();
await spdNew.close();
if (diffs.length) process.exitCode = 1;
