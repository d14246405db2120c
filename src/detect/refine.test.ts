import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Matrix } from '../match/similarity.js';
import { refineBox, refineBoxWithRepeats, refineSegment, refineWithRepeats } from './refine.js';

/** 60×80 matrix at 0.1 with a diagonal band of 0.9 from (q0, r0) for n keyframes at the given slope. */
function bandMatrix(q0: number, r0: number, n: number, slope = 1): Matrix {
  const rows = 60;
  const cols = 80;
  const data = new Float32Array(rows * cols).fill(0.1);
  for (let k = 0; k < n; k++) data[(q0 + k) * cols + Math.round(r0 + k * slope)] = 0.9;
  return { rows, cols, data };
}

const seg = (queryStart: number, queryEnd: number, refStart: number, refEnd: number, score = 0.7) => ({ queryStart, queryEnd, refStart, refEnd, score, support: queryEnd - queryStart + 1 });

test('a box short of the band on both ends grows to the band (within the margin), keeping its score', () => {
  const sim = bandMatrix(10, 20, 21); // keyframes 10..30 ↔ 20..40
  const r = refineSegment(sim, seg(13, 27, 23, 37), { margin: 4, minSimilarity: 0.5 });
  assert.deepEqual([r.queryStart, r.queryEnd, r.refStart, r.refEnd, r.score], [10, 30, 20, 40, 0.7]);
});

test('the margin bounds the growth; a box too long is cut to the band', () => {
  const sim = bandMatrix(10, 20, 21);
  const grown = refineSegment(sim, seg(15, 25, 25, 35), { margin: 2, minSimilarity: 0.5 });
  assert.deepEqual([grown.queryStart, grown.queryEnd, grown.refStart, grown.refEnd], [13, 27, 23, 37]);
  const cut = refineSegment(sim, seg(5, 40, 15, 50), { margin: 2, minSimilarity: 0.5 });
  assert.deepEqual([cut.queryStart, cut.queryEnd, cut.refStart, cut.refEnd], [10, 30, 20, 40]);
});

test('a tilted band (speed change) is followed', () => {
  const sim = bandMatrix(5, 10, 20, 2); // reference advances two keyframes per query keyframe
  const r = refineSegment(sim, seg(7, 20, 14, 40), { margin: 3, minSimilarity: 0.5 });
  // Widened by 3 query keyframes and ceil(3 × slope 27/14) = 6 reference keyframes: the band up to reference 46.
  assert.deepEqual([r.queryStart, r.queryEnd, r.refStart, r.refEnd], [5, 23, 10, 46]);
});

test('no path above the floor, or a path off the box, leaves the box as it is', () => {
  const flat = bandMatrix(0, 0, 0);
  const s = seg(10, 20, 10, 20);
  assert.equal(refineSegment(flat, s, { margin: 4, minSimilarity: 0.5 }), s);
  // The band lies in query rows 40..49: only its first rows fall inside the widened box.
  const far = bandMatrix(40, 10, 10);
  const t = seg(10, 41, 5, 20);
  assert.equal(refineSegment(far, t, { margin: 2, minSimilarity: 0.5, minOverlap: 0.3 }), t);
});

test('refineBox works in cell coordinates: keyframes i..j are the cells [i, j + 1)', () => {
  const sim = bandMatrix(10, 20, 21);
  const box = { q0: 13, r0: 23, q1: 28, r1: 38, score: 0.8, raw: 0.6 };
  assert.deepEqual(refineBox(sim, box, { margin: 4, minSimilarity: 0.5 }), { q0: 10, r0: 20, q1: 31, r1: 41, score: 0.8, raw: 0.6 });
  const flat = bandMatrix(0, 0, 0);
  assert.equal(refineBox(flat, box, { margin: 4, minSimilarity: 0.5 }), box);
});

test('a background above the floor does not pull the ends away: the path stops half-way between band and background', () => {
  const sim = bandMatrix(10, 20, 21);
  // Unrelated footage at 0.5, above the 0.35 floor: without the half-contrast floor the path would
  // run along the background to the edge of the widened box.
  for (let k = 0; k < sim.data.length; k++) if (sim.data[k] < 0.5) sim.data[k] = 0.5;
  const r = refineSegment(sim, seg(13, 27, 23, 37), { margin: 8, minSimilarity: 0.35 });
  assert.deepEqual([r.queryStart, r.queryEnd, r.refStart, r.refEnd], [10, 30, 20, 40]);
});

test('a stronger copy next to the box, reached through the margin, does not take the box over: with paths > 1 the box refines to its own band', () => {
  // Two copies of the same reference seconds one after the other in the query (a static or short
  // reference): a strong long one in rows 10..25, a weak short one in rows 30..34, both on columns 20...
  const sim = bandMatrix(10, 20, 16);
  for (let k = 0; k < 5; k++) sim.data[(30 + k) * sim.cols + 21 + k] = 0.8;
  // The detector's box for the second copy is too long (rows 28..38): the widened box reaches the first copy.
  const box = seg(28, 38, 18, 28);
  assert.equal(refineSegment(sim, box, { margin: 8, minSimilarity: 0.35, paths: 1 }), box, 'the strongest path misses the box: left as it is');
  const r = refineSegment(sim, box, { margin: 8, minSimilarity: 0.35, paths: 3 });
  assert.deepEqual([r.queryStart, r.queryEnd, r.refStart, r.refEnd, r.score], [30, 34, 21, 25, 0.7]);
  // When the strongest path covers the box, the extra paths change nothing.
  const own = seg(12, 24, 22, 34);
  assert.deepEqual(refineSegment(sim, own, { margin: 4, minSimilarity: 0.35, paths: 3 }), refineSegment(sim, own, { margin: 4, minSimilarity: 0.35, paths: 1 }));
});

test('repeats: a second copy of the same footage next to the box becomes its own segment when it is as strong, never when off or weaker', () => {
  // One short reference copied twice: rows 10..15 and rows 20..23 both show columns 5...
  const sim = bandMatrix(10, 5, 6);
  for (let k = 0; k < 4; k++) sim.data[(20 + k) * sim.cols + 5 + k] = 0.88;
  const box = seg(10, 15, 5, 10);
  const on = refineWithRepeats(sim, box, { margin: 8, minSimilarity: 0.35, paths: 3 }, 0.05);
  assert.deepEqual([on.segment.queryStart, on.segment.queryEnd, on.segment.refStart, on.segment.refEnd], [10, 15, 5, 10]);
  assert.deepEqual(on.repeats.map((r) => [r.queryStart, r.queryEnd, r.refStart, r.refEnd, r.score]), [[20, 23, 5, 8, 0.7]]);
  assert.deepEqual(refineWithRepeats(sim, box, { margin: 8, minSimilarity: 0.35, paths: 3 }).repeats, [], 'off by default');
  assert.deepEqual(refineWithRepeats(sim, box, { margin: 8, minSimilarity: 0.35, paths: 3 }, 0).repeats, [], 'weaker than the band by more than the margin');
  assert.deepEqual(refineWithRepeats(sim, box, { margin: 8, minSimilarity: 0.35, paths: 3 }, 0.05).segment, refineSegment(sim, box, { margin: 8, minSimilarity: 0.35, paths: 3 }));
  // Too short to be a copy of its own (2 keyframes).
  const short = bandMatrix(10, 5, 6);
  for (let k = 0; k < 2; k++) short.data[(20 + k) * short.cols + 5 + k] = 0.9;
  assert.deepEqual(refineWithRepeats(short, box, { margin: 8, minSimilarity: 0.35, paths: 3 }, 0.05).repeats, []);
  // In cell coordinates: the refined box first, then the repeat with the box's raw score.
  const cells = refineBoxWithRepeats(sim, { q0: 10, r0: 5, q1: 16, r1: 11, score: 0.8 }, { margin: 8, minSimilarity: 0.35, paths: 3 }, 0.05);
  assert.deepEqual(cells.map((b) => [b.q0, b.q1, b.r0, b.r1, b.score]), [[10, 16, 5, 11, 0.8], [20, 24, 5, 9, 0.8]]);
});
