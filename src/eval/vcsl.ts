/**
 * VCSL segment-level precision / recall / F1 for copied-segment localisation.
 *
 * Port of the metric of "A Large-scale Comprehensive Dataset and Copy-overlap Aware
 * Evaluation Protocol for Segment-level Video Copy Detection" (He et al., CVPR 2022),
 * reference implementation `vcsl/metric.py` in github.com/alipay/VCSL (a.k.a. ant-research/VCSL).
 *
 * Box format (VCSL label format): `[query_start, ref_start, query_end, ref_end]` in seconds.
 * A box is a rectangle in the (query time) x (reference time) plane; VCSL calls the query
 * axis "w"/x and the reference axis "h"/y.
 *
 * Per (query, reference) pair, exactly as `precision_recall()` in VCSL:
 *  - Every predicted box is intersected with every GT box as a 2-D rectangle. Only pairs with a
 *    strictly positive intersection *area* count, i.e. a prediction that overlaps a GT box on the
 *    query axis but points at the wrong place in the reference earns nothing.
 *  - Recall, per axis: for each GT box, the union (merged, so nothing counts twice) of its
 *    intersections with all predicted boxes, projected on that axis; summed over GT boxes and
 *    divided by the summed GT length on that axis.
 *  - Precision, per axis: for each predicted box, the union of its intersections with all GT boxes
 *    projected on that axis; summed over predicted boxes and divided by the summed predicted length
 *    on that axis. (VCSL sums predicted lengths without merging, so two overlapping predictions are
 *    both charged in the denominator and both credited in the numerator.)
 *  - Axis combination: VCSL returns `precision_q * precision_r` and `recall_q * recall_r`
 *    (product, see the last line of `precision_recall`). That is the default here
 *    (`axisCombine: 'product'`). `axisCombine: 'pooled'` gives the looser variant
 *    `(overlap_q + overlap_r) / (length_q + length_r)` for comparison; it is NOT what VCSL reports.
 *  - Empty cases (VCSL sentinel values): predictions but no GT -> P=0, R=1; GT but no
 *    predictions -> P=1, R=0; neither -> P=1, R=1. `hasPred`/`hasGt` tell them apart.
 *  - VCSL divides by `(length + 1e-6)`; we divide exactly (an exact match gives 1, not 0.9999999),
 *    and a zero denominator (all boxes degenerate) gives 0.
 *
 * Dataset level (`evaluatePairs`): per-pair values averaged over pairs, like VCSL's
 * `evaluate_micro`: precision is averaged over pairs that have at least one prediction (a pair with
 * predictions but no GT contributes precision 0), recall over pairs that have GT (a pair with GT
 * but no prediction contributes recall 0); pairs with neither are skipped. F1 = 2PR/(P+R) of the
 * averages, as VCSL's `run_video_eval.py` does. `evaluateQuerySetMacro` is a port of VCSL's
 * `evaluate_macro` (average within each query set, then across sets, sentinel values included),
 * which is what the VCSL paper's benchmark tables report on positive pairs.
 */

export type Interval = readonly [start: number, end: number];
/** `[query_start, ref_start, query_end, ref_end]`, seconds. */
export type Box = readonly [qs: number, rs: number, qe: number, re: number];

export type AxisCombine = 'product' | 'pooled';

export interface PairOptions {
  /** How the query-axis and reference-axis figures are combined. Default 'product' (VCSL). */
  axisCombine?: AxisCombine;
}

export interface PairResult {
  precision: number;
  recall: number;
  hasPred: boolean;
  hasGt: boolean;
  /** Per-axis figures (NaN when not defined, i.e. in the empty cases). */
  precisionQuery: number;
  precisionRef: number;
  recallQuery: number;
  recallRef: number;
}

// ---------------------------------------------------------------------------------------------
// Interval helpers

function checkInterval(iv: Interval): void {
  const [s, e] = iv;
  if (!Number.isFinite(s) || !Number.isFinite(e)) throw new RangeError(`interval has a non-finite bound: [${s}, ${e}]`);
  if (e < s) throw new RangeError(`interval end < start: [${s}, ${e}]`);
}

/**
 * Union of intervals: sorted by start, overlapping or touching intervals merged
 * (VCSL's `seg_len(type='union')` merges when `last.end >= next.start`). Zero-length intervals
 * that do not extend anything are dropped since they contribute no length.
 */
export function unionIntervals(intervals: readonly Interval[]): Array<[number, number]> {
  for (const iv of intervals) checkInterval(iv);
  const sorted = intervals.map((iv) => [iv[0], iv[1]] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Array<[number, number]> = [];
  for (const cur of sorted) {
    const last = out[out.length - 1];
    if (last !== undefined && cur[0] <= last[1]) {
      if (cur[1] > last[1]) last[1] = cur[1];
    } else {
      out.push(cur);
    }
  }
  return out.filter(([s, e]) => e > s);
}

/** Total length of the union of the intervals (overlaps counted once). */
export function unionLength(intervals: readonly Interval[]): number {
  let total = 0;
  for (const [s, e] of unionIntervals(intervals)) total += e - s;
  return total;
}

/** Sum of interval lengths (overlaps counted as many times as they occur; VCSL `type='sum'`). */
export function sumLength(intervals: readonly Interval[]): number {
  let total = 0;
  for (const iv of intervals) {
    checkInterval(iv);
    total += iv[1] - iv[0];
  }
  return total;
}

/** Intersection of two intervals, or null if they do not overlap with positive length. */
export function intersectIntervals(a: Interval, b: Interval): [number, number] | null {
  const s = Math.max(a[0], b[0]);
  const e = Math.min(a[1], b[1]);
  return e > s ? [s, e] : null;
}

/** Length of the overlap of two intervals (0 if disjoint). */
export function intervalOverlap(a: Interval, b: Interval): number {
  return Math.max(0, Math.min(a[1], b[1]) - Math.max(a[0], b[0]));
}

/** Length of `target` covered by the union of `others` (each point of `target` counted once). */
export function overlapWithUnion(target: Interval, others: readonly Interval[]): number {
  checkInterval(target);
  const clipped: Interval[] = [];
  for (const o of others) {
    checkInterval(o);
    const c = intersectIntervals(target, o);
    if (c) clipped.push(c);
  }
  return unionLength(clipped);
}

// ---------------------------------------------------------------------------------------------
// Box helpers

export function queryInterval(b: Box): Interval {
  return [b[0], b[2]];
}
export function refInterval(b: Box): Interval {
  return [b[1], b[3]];
}

function checkBox(b: Box): void {
  if (b.length !== 4) throw new RangeError(`box must have 4 numbers [qs, rs, qe, re], got ${JSON.stringify(b)}`);
  checkInterval(queryInterval(b));
  checkInterval(refInterval(b));
}

/** 2-D intersection of two boxes, or null unless its area is > 0 (VCSL `calc_inter` + `inter_areas > 0`). */
export function intersectBoxes(a: Box, b: Box): Box | null {
  const q = intersectIntervals(queryInterval(a), queryInterval(b));
  const r = intersectIntervals(refInterval(a), refInterval(b));
  if (!q || !r) return null;
  return [q[0], r[0], q[1], r[1]];
}

// ---------------------------------------------------------------------------------------------
// Metrics

export function f1(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

const ratio = (num: number, den: number): number => (den > 0 ? num / den : 0);

/**
 * For each box of `from`, the union of its 2-D intersections with all boxes of `against`,
 * projected on each axis; summed over `from`.
 */
function coveredLengths(from: readonly Box[], against: readonly Box[]): { q: number; r: number } {
  let q = 0;
  let r = 0;
  for (const a of from) {
    const inters: Box[] = [];
    for (const b of against) {
      const i = intersectBoxes(a, b);
      if (i) inters.push(i);
    }
    if (inters.length === 0) continue;
    q += unionLength(inters.map(queryInterval));
    r += unionLength(inters.map(refInterval));
  }
  return { q, r };
}

/** VCSL segment-level precision/recall for one (query, reference) pair. */
export function pairPrecisionRecall(pred: readonly Box[], gt: readonly Box[], opts: PairOptions = {}): PairResult {
  const combine = opts.axisCombine ?? 'product';
  pred.forEach(checkBox);
  gt.forEach(checkBox);
  const hasPred = pred.length > 0;
  const hasGt = gt.length > 0;
  if (!hasPred || !hasGt) {
    // VCSL sentinel values.
    const precision = hasPred ? 0 : 1;
    const recall = hasGt ? 0 : 1;
    return { precision, recall, hasPred, hasGt, precisionQuery: NaN, precisionRef: NaN, recallQuery: NaN, recallRef: NaN };
  }

  const tpPred = coveredLengths(pred, gt); // numerator of precision
  const tpGt = coveredLengths(gt, pred); // numerator of recall
  const predQ = sumLength(pred.map(queryInterval));
  const predR = sumLength(pred.map(refInterval));
  const gtQ = sumLength(gt.map(queryInterval));
  const gtR = sumLength(gt.map(refInterval));

  const precisionQuery = ratio(tpPred.q, predQ);
  const precisionRef = ratio(tpPred.r, predR);
  const recallQuery = ratio(tpGt.q, gtQ);
  const recallRef = ratio(tpGt.r, gtR);

  let precision: number;
  let recall: number;
  if (combine === 'product') {
    precision = precisionQuery * precisionRef;
    recall = recallQuery * recallRef;
  } else {
    precision = ratio(tpPred.q + tpPred.r, predQ + predR);
    recall = ratio(tpGt.q + tpGt.r, gtQ + gtR);
  }
  return { precision, recall, hasPred, hasGt, precisionQuery, precisionRef, recallQuery, recallRef };
}

export interface PairInput {
  /** Optional identifiers, carried through to `perPair`. */
  query?: string | undefined;
  reference?: string | undefined;
  pred: readonly Box[];
  gt: readonly Box[];
}

export interface DatasetResult {
  precision: number;
  recall: number;
  f1: number;
  /** Pairs given. */
  pairs: number;
  /** Pairs that entered the precision average (have predictions). */
  precisionPairs: number;
  /** Pairs that entered the recall average (have GT). */
  recallPairs: number;
  /** Pairs with neither GT nor predictions (skipped). */
  skipped: number;
  /** Pairs with GT but no prediction (video-level misses). */
  falseRejects: number;
  /** Pairs with predictions but no GT (video-level false alarms). */
  falseAlarms: number;
  /** falseRejects / pairs with GT (NaN if none). */
  frr: number;
  /** falseAlarms / pairs without GT, skipped ones included (NaN if none). */
  far: number;
  perPair: Array<PairResult & { query?: string | undefined; reference?: string | undefined }>;
}

/**
 * Dataset-level figures averaged over (query, reference) pairs (VCSL `evaluate_micro` semantics).
 * Pass every pair that has GT and every pair that has predictions; pairs without either are
 * skipped anyway (passing them only feeds the `far` denominator).
 */
export function evaluatePairs(pairs: readonly PairInput[], opts: PairOptions = {}): DatasetResult {
  const perPair: DatasetResult['perPair'] = [];
  let pSum = 0;
  let pN = 0;
  let rSum = 0;
  let rN = 0;
  let skipped = 0;
  let falseRejects = 0;
  let falseAlarms = 0;
  let noGt = 0;
  for (const pair of pairs) {
    const res = pairPrecisionRecall(pair.pred, pair.gt, opts);
    perPair.push({ ...res, query: pair.query, reference: pair.reference });
    if (!res.hasGt) noGt++;
    if (!res.hasPred && !res.hasGt) {
      skipped++;
      continue;
    }
    if (res.hasPred) {
      pSum += res.precision;
      pN++;
    }
    if (res.hasGt) {
      rSum += res.recall;
      rN++;
    }
    if (res.hasGt && !res.hasPred) falseRejects++;
    if (res.hasPred && !res.hasGt) falseAlarms++;
  }
  // Nothing predicted at all -> precision 0 (no credit); no GT at all -> recall 0 is meaningless,
  // but 0 keeps F1 well defined. Callers can look at precisionPairs / recallPairs.
  const precision = pN > 0 ? pSum / pN : 0;
  const recall = rN > 0 ? rSum / rN : 0;
  return {
    precision,
    recall,
    f1: f1(precision, recall),
    pairs: pairs.length,
    precisionPairs: pN,
    recallPairs: rN,
    skipped,
    falseRejects,
    falseAlarms,
    frr: rN > 0 ? falseRejects / rN : NaN,
    far: noGt > 0 ? falseAlarms / noGt : NaN,
    perPair,
  };
}

/**
 * Port of VCSL `evaluate_macro`: `sets` maps a query-set id to pair keys; each set's P/R is the
 * plain mean of its pairs' values (sentinel values included), then sets are averaged.
 */
export function evaluateQuerySetMacro(
  results: ReadonlyMap<string, Pick<PairResult, 'precision' | 'recall'>>,
  sets: Readonly<Record<string, readonly string[]>>,
): { precision: number; recall: number; f1: number; sets: number } {
  let pSum = 0;
  let rSum = 0;
  let n = 0;
  for (const [setId, keys] of Object.entries(sets)) {
    if (keys.length === 0) continue;
    let p = 0;
    let r = 0;
    for (const k of keys) {
      const res = results.get(k);
      if (!res) throw new Error(`evaluateQuerySetMacro: no result for pair ${k} (set ${setId})`);
      p += res.precision;
      r += res.recall;
    }
    pSum += p / keys.length;
    rSum += r / keys.length;
    n++;
  }
  const precision = n > 0 ? pSum / n : 0;
  const recall = n > 0 ? rSum / n : 0;
  return { precision, recall, f1: f1(precision, recall), sets: n };
}
