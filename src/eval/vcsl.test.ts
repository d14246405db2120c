import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  type Box,
  evaluatePairs,
  evaluateQuerySetMacro,
  f1,
  intersectBoxes,
  intervalOverlap,
  overlapWithUnion,
  pairPrecisionRecall,
  sumLength,
  unionIntervals,
  unionLength,
} from './vcsl.js';

const close = (actual: number, expected: number, msg?: string): void => {
  assert.ok(Math.abs(actual - expected) < 1e-9, `${msg ?? ''} expected ${expected}, got ${actual}`);
};

test('interval helpers: union, lengths, overlap', () => {
  // Same cases as VCSL test/test_metric.py
  close(unionLength([[0, 10], [2, 3], [4, 5]]), 10);
  close(unionLength([[2, 3], [0, 2], [2, 4]]), 4);
  close(unionLength([[2, 3], [0, 1.5], [2.5, 4]]), 3.5);
  assert.deepEqual(unionIntervals([[2, 3], [0, 1.5], [2.5, 4]]), [[0, 1.5], [2, 4]]);
  close(sumLength([[0, 10], [2, 3]]), 11);
  close(intervalOverlap([0, 10], [5, 20]), 5);
  close(intervalOverlap([0, 1], [2, 3]), 0);
  close(overlapWithUnion([0, 10], [[-5, 2], [1, 4], [8, 30]]), 6);
  assert.equal(intersectBoxes([0, 0, 10, 10], [0, 20, 10, 30]), null);
  assert.deepEqual(intersectBoxes([0, 0, 10, 10], [5, 2, 15, 8]), [5, 2, 10, 8]);
  assert.throws(() => unionLength([[3, 1]]), RangeError);
  assert.throws(() => pairPrecisionRecall([[0, 0, Number.NaN, 1]], [[0, 0, 1, 1]]), RangeError);
});

test('f1', () => {
  close(f1(1, 1), 1);
  close(f1(0.5, 1), 2 / 3);
  close(f1(0, 0), 0);
});

test('exact match -> P=R=F1=1', () => {
  const box: Box = [3, 10, 13, 20];
  const r = pairPrecisionRecall([box], [box]);
  close(r.precision, 1);
  close(r.recall, 1);
  const d = evaluatePairs([{ pred: [box], gt: [box] }]);
  close(d.precision, 1);
  close(d.recall, 1);
  close(d.f1, 1);
});

test('half overlap (shifted diagonal): per-axis 0.5, VCSL product 0.25, pooled 0.5', () => {
  const gt: Box[] = [[0, 0, 10, 10]];
  const pred: Box[] = [[5, 5, 15, 15]];
  const r = pairPrecisionRecall(pred, gt);
  close(r.precisionQuery, 0.5);
  close(r.precisionRef, 0.5);
  close(r.recallQuery, 0.5);
  close(r.recallRef, 0.5);
  close(r.precision, 0.25);
  close(r.recall, 0.25);
  const pooled = pairPrecisionRecall(pred, gt, { axisCombine: 'pooled' });
  close(pooled.precision, 0.5);
  close(pooled.recall, 0.5);
});

test('prediction covering the first half of the GT: P=1, R=0.25 (product) / 0.5 (pooled)', () => {
  const gt: Box[] = [[0, 0, 10, 10]];
  const pred: Box[] = [[0, 0, 5, 5]];
  const r = pairPrecisionRecall(pred, gt);
  close(r.precision, 1);
  close(r.recall, 0.25);
  close(pairPrecisionRecall(pred, gt, { axisCombine: 'pooled' }).recall, 0.5);
});

test('two GT boxes, one missed', () => {
  const gt: Box[] = [
    [0, 0, 10, 10],
    [20, 30, 30, 40],
  ];
  const pred: Box[] = [[0, 0, 10, 10]];
  const r = pairPrecisionRecall(pred, gt);
  close(r.precision, 1);
  close(r.recallQuery, 0.5); // 10 of 20 s on the query axis
  close(r.recallRef, 0.5);
  close(r.recall, 0.25);
  close(pairPrecisionRecall(pred, gt, { axisCombine: 'pooled' }).recall, 0.5);
});

test('prediction overlapping on the query axis but at the wrong reference time earns nothing', () => {
  const r = pairPrecisionRecall([[0, 50, 10, 60]], [[0, 0, 10, 10]]);
  close(r.precision, 0);
  close(r.recall, 0);
});

test('prediction with no GT: pair P=0; dataset precision averaged over predicted pairs, recall over GT pairs', () => {
  const fa = pairPrecisionRecall([[0, 0, 5, 5]], []);
  assert.equal(fa.precision, 0);
  assert.equal(fa.recall, 1); // VCSL sentinel, excluded from the recall average
  const box: Box = [0, 0, 10, 10];
  const d = evaluatePairs([
    { query: 'q1', reference: 'r1', pred: [box], gt: [box] }, // P=1 R=1
    { query: 'q2', reference: 'r1', pred: [[0, 0, 5, 5]], gt: [] }, // false alarm: P=0, not in recall
    { query: 'q3', reference: 'r2', pred: [], gt: [box] }, // miss: R=0, not in precision
    { query: 'q4', reference: 'r2', pred: [], gt: [] }, // skipped
  ]);
  close(d.precision, 0.5);
  close(d.recall, 0.5);
  close(d.f1, 0.5);
  assert.equal(d.precisionPairs, 2);
  assert.equal(d.recallPairs, 2);
  assert.equal(d.skipped, 1);
  assert.equal(d.falseAlarms, 1);
  assert.equal(d.falseRejects, 1);
  close(d.frr, 0.5);
  close(d.far, 0.5); // 1 false alarm among 2 pairs without GT
  assert.equal(d.perPair.length, 4);
  assert.equal(d.perPair[1]?.query, 'q2');
});

test('overlapping predicted boxes are not double-counted in recall', () => {
  const gt: Box[] = [[0, 0, 10, 10]];
  const r = pairPrecisionRecall(
    [
      [0, 0, 6, 6],
      [4, 4, 10, 10],
    ],
    gt,
  );
  close(r.recall, 1); // union covers [0,10] on both axes: 10/10, not 12/10
  close(r.precision, 1); // 12 / 12 per axis
  const dup = pairPrecisionRecall([gt[0]!, gt[0]!], gt);
  close(dup.recall, 1);
  close(dup.precision, 1);
  // overlapping predictions that spill out of the GT: precision per axis = (6 + 6) / (6 + 10)
  const spill = pairPrecisionRecall(
    [
      [0, 0, 6, 6],
      [4, 4, 14, 14],
    ],
    gt,
  );
  close(spill.recall, 1);
  close(spill.precisionQuery, 0.75);
  close(spill.precision, 0.5625);
  close(pairPrecisionRecall([[0, 0, 6, 6], [4, 4, 14, 14]], gt, { axisCombine: 'pooled' }).precision, 0.75);
});

test('overlapping GT boxes: a prediction is credited once on each axis', () => {
  const r = pairPrecisionRecall(
    [[0, 0, 10, 10]],
    [
      [0, 0, 6, 6],
      [4, 4, 10, 10],
    ],
  );
  close(r.precision, 1); // union of intersections = [0,10] per axis
  close(r.recall, 1);
});

test('speed-changed copy: 10 s of query = 20 s of reference (2x)', () => {
  const gt: Box[] = [[10, 20, 20, 40]];
  // exact
  close(pairPrecisionRecall([[10, 20, 20, 40]], gt).recall, 1);
  // right query extent, only the first half of the reference extent
  const r = pairPrecisionRecall([[10, 20, 20, 30]], gt);
  close(r.precisionQuery, 1);
  close(r.precisionRef, 1);
  close(r.recallQuery, 1);
  close(r.recallRef, 0.5);
  close(r.precision, 1);
  close(r.recall, 0.5);
  close(f1(r.precision, r.recall), 2 / 3);
  // pooled: (10 + 10) / (10 + 20)
  close(pairPrecisionRecall([[10, 20, 20, 30]], gt, { axisCombine: 'pooled' }).recall, 2 / 3);
  // assuming speed 1x (query 10 s -> ref 10..20 s is wrong place): prediction [10,20,20,30] vs [10,30,20,40]
  const late = pairPrecisionRecall([[10, 30, 20, 40]], gt);
  close(late.recall, 0.5);
  close(late.precision, 1);
});

test('query-set macro average (VCSL evaluate_macro)', () => {
  const results = new Map([
    ['a-1', { precision: 1, recall: 1 }],
    ['a-2', { precision: 0, recall: 0 }],
    ['b-1', { precision: 1, recall: 0.5 }],
  ]);
  const m = evaluateQuerySetMacro(results, { a: ['a-1', 'a-2'], b: ['b-1'] });
  close(m.precision, 0.75);
  close(m.recall, 0.5);
  assert.equal(m.sets, 2);
});
