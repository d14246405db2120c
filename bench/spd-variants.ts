/**
 * SPD post-processing variants on the full match path (what `vidtrace match` does: kNN voting, the
 * detector, overlaps, look-alikes, snapping to query cuts), for choices that tune.ts cannot simulate.
 * Indexes a manifest's library once, extracts every query once, then matches them with the temporal
 * network and with the SPD detector of each models directory given (e.g. copies of models/ whose
 * spd-detector/meta.json differs in one inference option; the encoder must be the library's).
 * Use validation seeds (datasets/matrices.ts writes their manifests under .cache/datasets/), never seed 1.
 * With VIDTRACE_VARIANTS_CACHE=<dir>, the indexed store and the extracted queries are kept there (one
 * subdirectory per manifest) and reused by the next run: only the matching is repeated.
 *
 *   node --import tsx bench/spd-variants.ts <manifest.json> <modelsDir> [<modelsDir>…]
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { Library, type AlignerName } from '../src/library/library.js';
import type { MatchOptions } from '../src/match/matcher.js';
import type { ExtractedVideo } from '../src/library/extract.js';
import type { Manifest } from '../datasets/manifest.js';
import { score, toBoxes, type Prediction } from './copy-metrics.js';

const [manifestPath, ...variants] = process.argv.slice(2);
if (!manifestPath || variants.length === 0) throw new Error('usage: bench/spd-variants.ts <manifest.json> <modelsDir> [<modelsDir>…]');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
const name = path.basename(path.dirname(path.resolve(manifestPath)));
const cacheDir = process.env.VIDTRACE_VARIANTS_CACHE ? path.resolve(process.env.VIDTRACE_VARIANTS_CACHE, name) : undefined;
const store = cacheDir ? path.join(cacheDir, 'store') : path.join(os.tmpdir(), `vidtrace-spd-variants-${process.pid}`);
const extractedFile = cacheDir ? path.join(cacheDir, 'extracted.json') : undefined;
const refIdByPath = new Map(manifest.references.map((r) => [path.resolve(r.path), r.id]));
const extracted = new Map<string, ExtractedVideo>();
/** VIDTRACE_VARIANTS_MATCH: match options (JSON) for every run, e.g. '{"duplicates":false}'. */
const matchOptions = JSON.parse(process.env.VIDTRACE_VARIANTS_MATCH ?? '{}') as Partial<MatchOptions>;
const pct = (x: number) => (100 * x).toFixed(1).padStart(5);

async function run(library: Library, label: string, aligner: AlignerName): Promise<void> {
  const predictions = new Map<string, Prediction>();
  const reports: Record<string, unknown> = {};
  for (const q of manifest.queries) {
    const report = await library.matchExtracted(q.path, extracted.get(q.id)!, { aligner, ...matchOptions });
    reports[q.id] = report;
    predictions.set(q.id, toBoxes(report, refIdByPath));
  }
  // With a cache directory, each variant's reports are kept there for per-query comparisons.
  if (cacheDir) writeFileSync(path.join(cacheDir, `reports-${label.replace(/[^A-Za-z0-9._-]+/g, '_')}.json`), JSON.stringify(reports));
  const r = score(aligner, manifest.queries, predictions, null);
  console.log(`${name} ${label.padEnd(24)} segP ${pct(r.precision)} segR ${pct(r.recall)} segF1 ${pct(r.f1)} top1 ${pct(r.top1)} FAR ${pct(r.falseAlarmRate)}`);
}

/** Float32Arrays survive the JSON round trip as tagged base64. */
const toJson = (_k: string, v: unknown) => (v instanceof Float32Array ? { f32: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') } : v);
const fromJson = (_k: string, v: unknown) => {
  if (v && typeof v === 'object' && 'f32' in v && Object.keys(v).length === 1) {
    const b = Buffer.from((v as { f32: string }).f32, 'base64');
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  }
  return v;
};

try {
  const base = await Library.open(loadConfig({ storeDir: store }));
  try {
    if (extractedFile && existsSync(extractedFile)) {
      for (const [id, x] of Object.entries(JSON.parse(readFileSync(extractedFile, 'utf8'), fromJson) as Record<string, ExtractedVideo>)) extracted.set(id, x);
    } else {
      await base.indexPaths(manifest.references.map((r) => r.path));
      for (const q of manifest.queries) extracted.set(q.id, await base.extractQuery(q.path));
      if (extractedFile) {
        mkdirSync(path.dirname(extractedFile), { recursive: true });
        writeFileSync(extractedFile, JSON.stringify(Object.fromEntries(extracted), toJson));
      }
    }
    if (!process.env.VIDTRACE_VARIANTS_SKIP_TN) await run(base, 'tn', 'tn');
  } finally {
    await base.close();
  }
  // The same store (index, keyframes) opened with each models directory: only the detector differs.
  for (const dir of variants) {
    const library = await Library.open(loadConfig({ storeDir: store }, { ...process.env, VIDTRACE_MODELS_DIR: path.resolve(dir) }));
    try {
      await run(library, `spd ${dir}`, 'spd');
    } finally {
      await library.close();
    }
  }
} finally {
  if (!cacheDir) rmSync(store, { recursive: true, force: true });
}
