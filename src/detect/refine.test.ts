import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Matrix } from '../match/similarity.js';
import { temporalNetwork, type FrameSegment } from '../match/temporal-network.js';
import { cellBox } from './boxes.js';
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
  assert.deepEqual(refineBox(sim, box, { margin: 4, minSimilarity: 0.5 }), cellBox(10, 20, 31, 41, 0.8, undefined, undefined, 0.6));
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

/**
 * refineWithRepeats as it was written before its single pass over the widened box (refine.ts scanWidenedBox): the
 * box's mean and band level each by their own scan, then the temporal network on the window, which scans it again.
 */
function plainRefine(sim: Matrix, s: ReturnType<typeof seg>, options: { margin: number; minSimilarity: number; paths: number; topK: number }, repeatMargin: number) {
  const o = { maxStep: 4, minOverlap: 0.3, ...options };
  const qLen = s.queryEnd - s.queryStart + 1;
  const slope = Math.min(4, Math.max(1, (s.refEnd - s.refStart + 1) / qLen));
  const r0 = Math.max(0, s.queryStart - o.margin);
  const r1 = Math.min(sim.rows - 1, s.queryEnd + o.margin);
  const c0 = Math.max(0, s.refStart - Math.ceil(o.margin * slope));
  const c1 = Math.min(sim.cols - 1, s.refEnd + Math.ceil(o.margin * slope));
  let t = 0;
  for (let i = r0; i <= r1; i++) for (let j = c0; j <= c1; j++) t += sim.data[i * sim.cols + j];
  const mean = t / ((r1 - r0 + 1) * (c1 - c0 + 1));
  let band = 0;
  for (let i = s.queryStart; i <= s.queryEnd; i++) {
    let best = -Infinity;
    for (let j = s.refStart; j <= s.refEnd; j++) best = Math.max(best, sim.data[i * sim.cols + j]);
    band += best;
  }
  const floor = Math.max(o.minSimilarity, (band / qLen + mean) / 2);
  let first: FrameSegment | undefined;
  const paths = temporalNetwork(
    sim,
    { minSimilarity: floor, topK: o.topK, maxStep: o.maxStep, minSupport: 2, maxSegments: o.paths },
    (p) => {
      if (!first && Math.min(p.queryEnd + r0, s.queryEnd) - Math.max(p.queryStart + r0, s.queryStart) + 1 >= o.minOverlap * qLen) first = p;
      return repeatMargin < 0 && first !== undefined;
    },
    { row0: r0, col0: c0, rows: r1 - r0 + 1, cols: c1 - c0 + 1 },
  );
  return { first: first && [first.queryStart + r0, first.queryEnd + r0, first.refStart + c0, first.refEnd + c0], paths: paths.map((p) => [p.queryStart + r0, p.queryEnd + r0, p.refStart + c0, p.refEnd + c0, p.score, p.support]) };
}

test('the single pass over the widened box finds what three scans found: same path, same repeats, on 300 random matrices with bands, ties and boxes at the borders', () => {
  let state = 12345;
  const rand = () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 32);
  for (let trial = 0; trial < 300; trial++) {
    const rows = 5 + Math.floor(rand() * 40);
    const cols = 5 + Math.floor(rand() * 90);
    // Values on a coarse grid (ties between cells), a few bands.
    const data = Float32Array.from({ length: rows * cols }, () => Math.round(rand() * 10) / 10);
    for (let b = 0; b < 3; b++) {
      const q = Math.floor(rand() * rows);
      const r = Math.floor(rand() * cols);
      for (let k = 0; q + k < rows && r + k < cols && k < 15; k++) data[(q + k) * cols + r + k] = 0.9 + Math.round(rand() * 2) / 20;
    }
    const sim = { rows, cols, data };
    const q0 = Math.floor(rand() * rows);
    const q1 = Math.min(rows - 1, q0 + Math.floor(rand() * 20));
    const r0 = Math.floor(rand() * cols);
    const r1 = Math.min(cols - 1, r0 + Math.floor(rand() * 40));
    const s = seg(q0, q1, r0, r1);
    const options = { margin: Math.floor(rand() * 9), minSimilarity: [0.35, 0.5, 0.7][trial % 3], paths: 1 + (trial % 3), topK: [1, 3, 5][Math.floor(trial / 3) % 3] };
    const repeatMargin = trial % 2 ? 0.05 : -1;
    const plain = plainRefine(sim, s, options, repeatMargin);
    const { segment, repeats } = refineWithRepeats(sim, s, options, repeatMargin);
    const where = `trial ${trial}: ${rows}x${cols}, box ${[q0, q1, r0, r1]}, ${JSON.stringify(options)}`;
    assert.deepEqual([segment.queryStart, segment.queryEnd, segment.refStart, segment.refEnd], plain.first ?? [q0, q1, r0, r1], where);
    if (repeatMargin >= 0 && plain.first) {
      const firstPath = plain.paths.find((p) => p[0] === plain.first![0] && p[1] === plain.first![1] && p[2] === plain.first![2] && p[3] === plain.first![3])!;
      const expected = plain.paths
        .filter((p) => p !== firstPath && (p[5] as number) >= 3 && (p[4] as number) >= (firstPath[4] as number) - repeatMargin)
        .filter((p) => p[1] < plain.first![0] || p[0] > plain.first![1])
        .map((p) => p.slice(0, 4));
      assert.deepEqual(repeats.map((r) => [r.queryStart, r.queryEnd, r.refStart, r.refEnd]), expected, where);
    }
  }
});
