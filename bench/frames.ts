/**
 * Frame-level copy-detection benchmark (`npm run bench:frames`), see docs/frame-features.md.
 *
 * Queries are edited 1-fps frames of the TEST sources (one per edit family and frame, recipes of
 * datasets/recipes.json); the database holds every 1-fps frame of the TEST sources plus >= 20,000
 * distractor frames from elsewhere. A query is right at rank 1 when its nearest database frame
 * (inner product of L2-normalised vectors, faiss IndexFlatIP) is a frame of the same source
 * footage. For every candidate encoder: recall@1 and recall@10 per family, mean recall@1 over the
 * edit families, micro AP (with negative queries), bytes per vector and ms per frame
 * (onnxruntime-node, 2 threads, batches of 16, via src/embed/onnx-encoder.ts).
 *
 * Query-side views (bench/frames/contexts.ts): every query and negative also gets a 3-frame temporal
 * context (its neighbouring 1-fps frames with the same edit; picture-in-picture: the same inset over the
 * consecutive filler frames), the product's inset detector (src/views/) runs on it, a detected inset is
 * cropped and embedded as the query's view, and the "+views" row of each candidate scores a database
 * frame by max(whole frame, view) (src/match/matcher.ts queryReferenceSimilarity), as the matcher does.
 *
 *   node --import tsx bench/frames.ts [--inception] [--train] [--only id,id] [--json FILE]
 *
 * --inception  also measure InceptionV3's quality (about 10x slower than MobileNetV2; embeddings are
 *              cached); without it only its speed is measured
 * --train      train missing head models (scripts/models/train-frame-models.sh) instead of skipping them
 * Cheap missing models (PCA/R-MAC whitening) are always built.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { candidates, embedSet, embedShared, msPerFrame, openEmbedder, verifyShared, type Candidate } from './frames/candidates.js';
import { buildContexts, detectionStats, detectQueryInsets, viewCrops, type DetectionStats } from './frames/contexts.js';
import { CACHE_DIR, buildData } from './frames/dataset.js';
import { buildIndex, searchAll, searchWithViews, score, type Scores } from './frames/metrics.js';
import { EDIT_FAMILIES, FAMILIES, REPO_ROOT } from './frames/recipes.js';

process.env.OMP_NUM_THREADS ??= '2';
const argv = process.argv.slice(2);
const flag = (f: string): boolean => argv.includes(f);
const value = (f: string): string | undefined => {
  const i = argv.indexOf(f);
  return i >= 0 ? argv[i + 1] : undefined;
};
const only = value('--only')?.split(',');
const jsonOut = value('--json') ?? path.join(CACHE_DIR, 'frames.json');
const started = performance.now();
const log = (s: string): void => console.log(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)}s] ${s}`);

interface Row {
  id: string;
  description: string;
  dim: number;
  bytes: number;
  msPerFrame: number;
  meanR1: number;
  minR1: number;
  minFamily: string;
  scores: Scores;
  model?: string;
  /** shared-backbone path vs full graph, max |diff| of embedding values (candidates built on MobileNetV2). */
  sharedMaxDiff?: number;
  /** Only ms/frame was measured (opt-in candidate without its flag). */
  speedOnly?: boolean;
  /** Scored with query-side inset views (max over whole frame and view); ms/frame then includes the detector and the views' embedding. */
  views?: boolean;
}

function ensureModel(c: Candidate): boolean {
  if (c.kind !== 'onnx' || existsSync(c.model as string)) return true;
  if (!c.cheap && !flag('--train')) {
    log(`skip ${c.id}: ${path.relative(REPO_ROOT, c.model as string)} missing (build it with \`${c.build}\` or pass --train)`);
    return false;
  }
  log(`building ${c.id}: ${c.build}`);
  const r = spawnSync('bash', ['-c', c.build as string], { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, OMP_NUM_THREADS: '2' } });
  if (r.status !== 0 || !existsSync(c.model as string)) throw new Error(`building ${c.id} failed`);
  return true;
}

async function main(): Promise<void> {
  log(`frame benchmark on ${os.cpus().length} cores (onnxruntime 2 threads)`);
  const data = await buildData(log);
  const dbMeta = [...data.refs.meta, ...data.distractors.meta];
  const qMeta = [...data.queries.meta, ...data.negatives.meta];
  const testSources = new Set(data.refs.meta.map((m) => m.source));
  log(
    `data: ${testSources.size} test sources, ${data.refs.meta.length} reference frames + ${data.distractors.meta.length} distractors in the database; ` +
      `${data.queries.meta.length} queries (${FAMILIES.length} families) + ${data.negatives.meta.length} negative queries`,
  );
  const rows: Row[] = [];
  const skipped: string[] = [];
  const run: Candidate[] = [];
  const speedRows: Row[] = [];
  for (const c of candidates()) {
    if (only && !only.includes(c.id)) continue;
    if (!ensureModel(c)) {
      skipped.push(`${c.id} (model missing: ${c.build})`);
      continue;
    }
    if (c.optIn && !flag('--inception') && !only?.includes(c.id)) {
      log(`${c.id}: speed only (quality with --inception)`);
      const e = await openEmbedder(c);
      const ms = await msPerFrame(e, data.queries, 64, 1);
      await e.close();
      speedRows.push({ id: c.id, description: c.description, dim: c.dim, bytes: c.dim * 4, msPerFrame: ms, meanR1: NaN, minR1: NaN, minFamily: '', scores: { families: {}, microAP: NaN, copyMedian: NaN, negativeP95: NaN }, speedOnly: true });
      continue;
    }
    run.push(c);
  }
  // query-side views: temporal contexts, the product's inset detector, crops (shared by all candidates)
  const ctx = await buildContexts(data, log);
  const det = detectQueryInsets(data, ctx, log);
  const dstats = detectionStats(qMeta, ctx, det);
  const crops = viewCrops(data, det);
  log(
    `views: ${crops.frames.length} of ${qMeta.length} queries have an inset view; pip ${dstats.pipHits}/${dstats.pipWithTruth} found (IoU >= 0.5); ` +
      `false insets ${dstats.falseInsets}/${dstats.nonPip} queries without an inset; detector ${det.msPerSampledFrame.toFixed(1)} ms per sampled frame`,
  );
  // every candidate built on the MobileNetV2 backbone is embedded in one backbone pass per set
  const sets = [data.refs, data.distractors, data.queries, data.negatives];
  const sharedVecs = new Map<string, Float32Array[]>();
  for (const backbone of new Set(run.map((c) => c.backbone).filter((b): b is string => !!b))) {
    const shared = run.filter((c) => c.backbone === backbone);
    log(`embedding with the shared backbone ${path.relative(REPO_ROOT, backbone)}: ${shared.map((c) => c.id).join(', ')}`);
    for (const set of sets) {
      const m = await embedShared(backbone, shared, set, log);
      for (const c of shared) sharedVecs.set(c.id, [...(sharedVecs.get(c.id) ?? []), m.get(c.id) as Float32Array]);
    }
  }
  for (const c of run) {
    log(`${c.id}: ${c.backbone ? 'timing full graph' : 'embedding'}`);
    const e = await openEmbedder(c);
    let vecs: Float32Array[];
    let sharedMaxDiff: number | undefined;
    if (c.backbone) {
      vecs = sharedVecs.get(c.id) as Float32Array[];
      sharedMaxDiff = await verifyShared(e, data.queries, vecs[2] as Float32Array);
      if (sharedMaxDiff > 1e-3) throw new Error(`${c.id}: shared-backbone embeddings differ from the full graph by ${sharedMaxDiff}`);
    } else {
      vecs = [];
      for (const set of sets) vecs.push(await embedSet(e, set, log));
    }
    const [refs, dis, qs, neg] = vecs as [Float32Array, Float32Array, Float32Array, Float32Array];
    const ms = await msPerFrame(e, data.queries);
    const viewVecs = crops.frames.length ? await e.embed(crops.frames) : [];
    await e.close();
    const db = new Float32Array(refs.length + dis.length);
    db.set(refs);
    db.set(dis, refs.length);
    const q = new Float32Array(qs.length + neg.length);
    q.set(qs);
    q.set(neg, qs.length);
    const index = buildIndex(db, e.dim);
    const res = searchAll(index, e.dim, q);
    const resViews = searchWithViews(db, e.dim, q, res, crops.queries, viewVecs);
    const mkRow = (s: Scores, views: boolean): Row => {
      const r1s = EDIT_FAMILIES.map((f) => s.families[f]?.r1 ?? 0);
      const minIdx = r1s.indexOf(Math.min(...r1s));
      return {
        id: views ? `${c.id} +views` : c.id,
        description: c.description + (views ? ' — with query-side inset views (max over whole frame and view)' : ''),
        dim: e.dim,
        bytes: e.dim * 4,
        // with views: + the detector's cost per sampled frame + the views' share of embedding
        msPerFrame: views ? ms + det.msPerSampledFrame + (ms * crops.frames.length) / qMeta.length : ms,
        meanR1: r1s.reduce((a, b) => a + b, 0) / r1s.length,
        minR1: r1s[minIdx] as number,
        minFamily: EDIT_FAMILIES[minIdx] as string,
        scores: s,
        model: c.model ? path.relative(REPO_ROOT, c.model) : undefined,
        sharedMaxDiff,
        views,
      };
    };
    for (const row of [mkRow(score(res, qMeta, dbMeta), false), mkRow(score(resViews, qMeta, dbMeta), true)]) {
      rows.push(row);
      log(`${row.id}: mean R@1 ${row.meanR1.toFixed(3)}, min ${row.minR1.toFixed(3)} (${row.minFamily}), µAP ${row.scores.microAP.toFixed(3)}, ${row.msPerFrame.toFixed(1)} ms/frame`);
    }
  }
  rows.push(...speedRows);
  printTable(rows, data.queries.meta.length, data.negatives.meta.length, data.refs.meta.length, data.distractors.meta.length);
  printDetections(dstats, det.msPerSampledFrame, det.msPerContext);
  if (skipped.length) console.log(`not run: ${skipped.join('; ')}`);
  mkdirSync(path.dirname(jsonOut), { recursive: true });
  writeFileSync(
    jsonOut,
    JSON.stringify(
      {
        createdAt: new Date().toISOString(),
        seconds: Math.round((performance.now() - started) / 1000),
        loadAverage: os.loadavg(),
        data: {
          testSources: [...testSources].sort(),
          references: data.refs.meta.length,
          distractors: data.distractors.meta.length,
          queries: data.queries.meta.length,
          negatives: data.negatives.meta.length,
          families: FAMILIES,
          editFamilies: EDIT_FAMILIES,
        },
        rows,
        views: { window: ctx.index[0]?.frames.length, withView: crops.frames.length, detection: dstats, msPerSampledFrame: det.msPerSampledFrame, msPerContext: det.msPerContext },
        skipped,
      },
      null,
      1,
    ),
  );
  log(`wrote ${path.relative(REPO_ROOT, jsonOut)}`);
}

function printTable(rows: Row[], nq: number, nneg: number, nref: number, ndis: number): void {
  const fams = FAMILIES;
  const head = ['candidate', 'dim', 'bytes', 'ms/fr', ...fams, 'meanR@1', 'minR@1', 'µAP', 'cp50', 'ng95'];
  const lines: string[][] = [head];
  for (const r of rows) {
    lines.push([
      r.id,
      String(r.dim),
      String(r.bytes),
      r.msPerFrame.toFixed(1),
      ...fams.map((f) => {
        const s = r.scores.families[f];
        return s ? `${s.r1.toFixed(2)}/${s.r10.toFixed(2)}` : '-';
      }),
      ...(r.speedOnly
        ? ['-', '-', '-', '-', '-']
        : [r.meanR1.toFixed(3), r.minR1.toFixed(2), r.scores.microAP.toFixed(3), r.scores.copyMedian.toFixed(2), r.scores.negativeP95.toFixed(2)]),
    ]);
  }
  const widths = head.map((_h, i) => Math.max(...lines.map((l) => (l[i] as string).length)));
  console.log('');
  console.log(`Frame benchmark: ${nq} queries (${nq / fams.length} frames x ${fams.length} families) + ${nneg} negatives; database ${nref} reference frames + ${ndis} distractors`);
  console.log('cells: recall@1/recall@10 per family; meanR@1 and minR@1 over the edit families (all but plain); µAP = micro average precision incl. negatives;');
  console.log('cp50 = median top-1 score of correctly matched copies, ng95 = 95th percentile top-1 score of negative queries; ms/fr = onnxruntime-node, 2 threads, batch 16');
  console.log(`load average now ${os.loadavg().map((l) => l.toFixed(1)).join(' ')} on ${os.cpus().length} cores (ms/fr grows with other jobs on the machine)`);
  lines.forEach((l, i) => {
    console.log(l.map((c, j) => (j === 0 ? c.padEnd(widths[j] as number) : c.padStart(widths[j] as number))).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  });
  console.log('');
}

function printDetections(d: DetectionStats, msFrame: number, msContext: number): void {
  const fams = [...FAMILIES, 'negative'].filter((f) => d.perFamily[f]);
  console.log(`Query-side inset views (src/views/ detectInsets on each query's 3-frame context): queries with an inset view per family`);
  console.log(fams.map((f) => `${f} ${d.perFamily[f]!.detected}/${d.perFamily[f]!.n}`).join(', '));
  console.log(
    `pip inset found (IoU >= 0.5 with the drawn rectangle): ${d.pipHits}/${d.pipWithTruth}; false insets on queries without one: ${d.falseInsets}/${d.nonPip} ` +
      `(${((100 * d.falseInsets) / Math.max(1, d.nonPip)).toFixed(1)} %); detector ${msFrame.toFixed(1)} ms per sampled frame streaming, ${msContext.toFixed(1)} ms per 3-frame context`,
  );
  console.log('');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
