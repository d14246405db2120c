/**
 * Scoring of the dev copy-detection benchmark (bench/copy.ts, bench/match-sweep.ts): match reports →
 * predicted boxes per reference → VCSL segment metrics, top-1 reference accuracy, false alarms on
 * negatives, recall per edit family.
 */
import path from 'node:path';
import { evaluatePairs, type Box, type PairInput } from '../src/eval/vcsl.js';
import type { MatchReport } from '../src/report/match-report.js';
import type { ManifestQuery } from '../datasets/manifest.js';

/** What one system predicted for one query: boxes per reference id, and the ranked reference ids. */
export interface Prediction {
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

export function toBoxes(report: MatchReport, refIdByPath: Map<string, string>): Prediction {
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

