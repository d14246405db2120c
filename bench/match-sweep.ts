/**
 * Matching-parameter sweep on the dev copy-detection benchmark (how the defaults in models/models.json
 * were chosen, on generated dev data only): indexes the library once, extracts every query once
 * (with its views), then re-matches the same keyframes through `Library.matchExtracted` for each
 * vote floor × decision threshold × aligner, and prints one scored row per setting.
 *
 *   node --import tsx bench/match-sweep.ts [--floors 0.3,0.35,0.4] [--thresholds 0.35,0.4,0.45] [--aligners tn]
 */
import { readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT, loadConfig } from '../src/config.js';
import { Library, type AlignerName } from '../src/library/library.js';
import type { ExtractedVideo } from '../src/library/extract.js';
import type { Manifest } from '../datasets/manifest.js';
import { score, toBoxes, type Prediction } from './copy-metrics.js';

const { values: args } = parseArgs({
  options: {
    manifest: { type: 'string', default: path.join(PROJECT_ROOT, '.cache/bench/copy/data-s1-q60-n15/manifest.json') },
    floors: { type: 'string', default: '0.3,0.35,0.4,0.5' },
    thresholds: { type: 'string', default: '0.35,0.4,0.45,0.5,0.55' },
    aligners: { type: 'string', default: 'tn' },
  },
});
const list = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);

const manifest = JSON.parse(readFileSync(args.manifest!, 'utf8')) as Manifest;
if (!manifest.complete) throw new Error(`${args.manifest} is incomplete: run npm run bench:copy first (it generates the queries)`);
const store = path.join(os.tmpdir(), `vidtrace-sweep-${process.pid}`);
const library = await Library.open(loadConfig({ storeDir: store }));
try {
  await library.indexPaths(manifest.references.map((r) => r.path));
  const refIdByPath = new Map(manifest.references.map((r) => [path.resolve(r.path), r.id]));
  const extracted = new Map<string, ExtractedVideo>();
  for (const q of manifest.queries) extracted.set(q.id, await library.extractQuery(q.path));
  console.log('aligner  floor  thr    segP  segR  segF1  top1   FAR');
  for (const aligner of list(args.aligners!) as AlignerName[]) {
    for (const voteFloor of list(args.floors!).map(Number)) {
      for (const threshold of list(args.thresholds!).map(Number)) {
        const predictions = new Map<string, Prediction>();
        for (const q of manifest.queries) {
          predictions.set(q.id, toBoxes(await library.matchExtracted(q.path, extracted.get(q.id)!, { aligner, voteFloor, threshold }), refIdByPath));
        }
        const r = score(aligner, manifest.queries, predictions, null);
        const pct = (x: number) => (100 * x).toFixed(1).padStart(5);
        console.log(`${aligner.padEnd(7)} ${voteFloor.toFixed(2).padStart(5)} ${threshold.toFixed(2).padStart(5)}  ${pct(r.precision)} ${pct(r.recall)} ${pct(r.f1)} ${pct(r.top1)} ${pct(r.falseAlarmRate)}`);
      }
    }
  }
} finally {
  await library.close();
  rmSync(store, { recursive: true, force: true });
}
