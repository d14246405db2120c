/**
 * SPD post-processing variants on the full match path (what `vidtrace match` does: kNN voting, the
 * detector, overlaps, look-alikes, snapping to query cuts), for choices that tune.ts cannot simulate.
 * Indexes a manifest's library once, extracts every query once, then matches them with the temporal
 * network and with the SPD detector of each models directory given (e.g. copies of models/ whose
 * spd-detector/meta.json differs in one inference option; the encoder must be the library's).
 * Use validation seeds (datasets/matrices.ts writes their manifests under .cache/datasets/), never seed 1.
 *
 *   node --import tsx bench/spd-variants.ts <manifest.json> <modelsDir> [<modelsDir>…]
 */
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../src/config.js';
import { Library, type AlignerName } from '../src/library/library.js';
import type { ExtractedVideo } from '../src/library/extract.js';
import type { Manifest } from '../datasets/manifest.js';
import { score, toBoxes, type Prediction } from './copy-metrics.js';

const [manifestPath, ...variants] = process.argv.slice(2);
if (!manifestPath || variants.length === 0) throw new Error('usage: bench/spd-variants.ts <manifest.json> <modelsDir> [<modelsDir>…]');
const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest;
const store = path.join(os.tmpdir(), `vidtrace-spd-variants-${process.pid}`);
const name = path.basename(path.dirname(path.resolve(manifestPath)));
const refIdByPath = new Map(manifest.references.map((r) => [path.resolve(r.path), r.id]));
const extracted = new Map<string, ExtractedVideo>();
const pct = (x: number) => (100 * x).toFixed(1).padStart(5);

async function run(library: Library, label: string, aligner: AlignerName): Promise<void> {
  const predictions = new Map<string, Prediction>();
  for (const q of manifest.queries) predictions.set(q.id, toBoxes(await library.matchExtracted(q.path, extracted.get(q.id)!, { aligner }), refIdByPath));
  const r = score(aligner, manifest.queries, predictions, null);
  console.log(`${name} ${label.padEnd(24)} segP ${pct(r.precision)} segR ${pct(r.recall)} segF1 ${pct(r.f1)} top1 ${pct(r.top1)} FAR ${pct(r.falseAlarmRate)}`);
}

try {
  const base = await Library.open(loadConfig({ storeDir: store }));
  try {
    await base.indexPaths(manifest.references.map((r) => r.path));
    for (const q of manifest.queries) extracted.set(q.id, await base.extractQuery(q.path));
    await run(base, 'tn', 'tn');
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
  rmSync(store, { recursive: true, force: true });
}
