/**
 * `npm run bench:copy`: the dev copy-detection benchmark.
 * 1. Generates (or reuses) queries from ../shared/datasets/dev with datasets/generate.ts: transformed
 *    copied segments inside unrelated footage, plus negatives; ground truth in VCSL box format.
 * 2. Indexes the library side into a fresh store and matches every query with vidtrace.
 * 3. Runs FFmpeg's MPEG-7 signature filter (multi-input detect mode) on the same queries.
 * 4. Prints VCSL segment precision/recall/F1, top-1 reference accuracy, false alarms on negatives,
 *    recall per edit family, ms per query and index seconds for each system, and writes JSON.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT, loadConfig } from '../src/config.js';
import { evaluatePairs, type Box, type PairInput } from '../src/eval/vcsl.js';
import { Library } from '../src/library/library.js';
import type { MatchOptions } from '../src/match/matcher.js';
import type { MatchReport } from '../src/report/match-report.js';
import { prepareSignatureReferences, signatureMatch } from './signature-baseline.js';

interface ManifestQuery {
  id: string;
  path: string;
  duration: number;
  recipe: string;
  family: string;
  negative: boolean;
  gt: { reference: string; boxes: Box[] }[];
}
interface Manifest {
  references: { id: string; path: string; duration: number }[];
  queries: ManifestQuery[];
}

/** What one system predicted for one query: boxes per reference id, and the ranked reference ids. */
interface Prediction {
  boxes: Map<string, Box[]>;
  ranked: string[];
  ms: number;
}

export interface SystemResult {
  system: string;
  precision: number;
  recall: number;
  f1: number;
  top1: number;
  falseAlarmRate: number;
  msPerQuery: number;
  indexSeconds: number | null;
  recallByFamily: Record<string, { recall: number; queries: number }>;
}

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

function toBoxes(report: MatchReport, refIdByPath: Map<string, string>): Prediction {
  const boxes = new Map<string, Box[]>();
  const ranked: string[] = [];
  for (const m of report.matches) {
    const id = refIdByPath.get(path.resolve(m.reference.path));
    if (!id) continue;
    ranked.push(id);
    boxes.set(id, m.segments.map((s) => [s.query[0], s.reference[0], s.query[1], s.reference[1]] as Box));
  }
  return { boxes, ranked, ms: 0 };
}

export function score(system: string, queries: ManifestQuery[], predictions: Map<string, Prediction>, indexSeconds: number | null): SystemResult {
  const pairs: (PairInput & { family: string })[] = [];
  let top1 = 0;
  let positives = 0;
  let negatives = 0;
  let alarms = 0;
  let ms = 0;
  for (const q of queries) {
    const pred = predictions.get(q.id) ?? { boxes: new Map(), ranked: [], ms: 0 };
    ms += pred.ms;
    const gt = new Map(q.gt.map((g) => [g.reference, g.boxes]));
    if (q.negative) {
      negatives++;
      if (pred.ranked.length > 0) alarms++;
    } else {
      positives++;
      if (pred.ranked.length > 0 && gt.has(pred.ranked[0])) top1++;
    }
    for (const ref of new Set([...gt.keys(), ...pred.boxes.keys()])) {
      pairs.push({ query: q.id, reference: ref, pred: pred.boxes.get(ref) ?? [], gt: gt.get(ref) ?? [], family: q.family });
    }
  }
  const overall = evaluatePairs(pairs);
  const recallByFamily: SystemResult['recallByFamily'] = {};
  const families = [...new Set(queries.filter((q) => !q.negative).map((q) => q.family))].sort();
  for (const family of families) {
    const r = evaluatePairs(pairs.filter((p) => p.family === family && p.gt.length > 0));
    recallByFamily[family] = { recall: r.recall, queries: queries.filter((q) => q.family === family && !q.negative).length };
  }
  return {
    system,
    precision: overall.precision,
    recall: overall.recall,
    f1: overall.f1,
    top1: positives ? top1 / positives : NaN,
    falseAlarmRate: negatives ? alarms / negatives : NaN,
    msPerQuery: ms / queries.length,
    indexSeconds,
    recallByFamily,
  };
}

async function runVidtrace(manifest: Manifest, queries: ManifestQuery[], name: string, options: Partial<MatchOptions>): Promise<{ predictions: Map<string, Prediction>; indexSeconds: number; reports: Record<string, MatchReport> }> {
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
    return { predictions, indexSeconds, reports };
  } finally {
    await library.close();
    rmSync(store, { recursive: true, force: true });
  }
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
  if (systems.includes('vidtrace')) {
    const options: Partial<MatchOptions> = args.threshold ? { threshold: Number(args.threshold) } : {};
    const run = await runVidtrace(manifest, queries, 'vidtrace', options);
    const r = score(`vidtrace (${args.model ?? loadConfig().modelId}, tn)`, queries, run.predictions, run.indexSeconds);
    results.push(r);
    details.vidtrace = run.reports;
  }
  if (systems.includes('signature')) {
    const run = await runSignature(manifest, queries);
    results.push(score('ffmpeg signature (MPEG-7)', queries, run.predictions, run.indexSeconds));
  }
  printTables(results, queries);
  const outFile = path.join(args.out!, 'results.json');
  writeFileSync(outFile, JSON.stringify({ date: new Date().toISOString(), results, details }, null, 1));
  console.log(`\nwrote ${outFile}`);
}

await main();
