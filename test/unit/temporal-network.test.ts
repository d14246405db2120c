import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dotAt, similarityMatrix, type Matrix } from '../../src/match/similarity.js';
import { temporalNetwork } from '../../src/match/temporal-network.js';

function matrix(rows: number, cols: number, fill = 0.1): Matrix {
  return { rows, cols, data: new Float32Array(rows * cols).fill(fill) };
}
function set(m: Matrix, i: number, j: number, v: number) {
  m.data[i * m.cols + j] = v;
}

test('finds a diagonal copy and reports its frame box and mean score', () => {
  const m = matrix(20, 30);
  for (let k = 0; k < 8; k++) set(m, 5 + k, 12 + k, 0.9);
  const [seg, ...rest] = temporalNetwork(m, { minSimilarity: 0.5 });
  assert.deepEqual(
    { qs: seg.queryStart, qe: seg.queryEnd, rs: seg.refStart, re: seg.refEnd, support: seg.support },
    { qs: 5, qe: 12, rs: 12, re: 19, support: 8 },
  );
  assert.ok(Math.abs(seg.score - 0.9) < 1e-6);
  assert.equal(rest.length, 0);
});

test('follows a band tilted by a 2x speed change and bridges a gap', () => {
  const m = matrix(20, 40);
  for (let k = 0; k < 10; k++) if (k !== 4) set(m, k, 2 * k, 0.8);
  const [seg] = temporalNetwork(m, { minSimilarity: 0.5, maxStep: 4 });
  assert.equal(seg.queryStart, 0);
  assert.equal(seg.queryEnd, 9);
  assert.equal(seg.refStart, 0);
  assert.equal(seg.refEnd, 18);
  assert.equal(seg.support, 9);
});

test('separates two copies and ignores isolated bright cells', () => {
  const m = matrix(30, 30);
  for (let k = 0; k < 5; k++) set(m, k, 20 + k, 0.95);
  for (let k = 0; k < 6; k++) set(m, 15 + k, 2 + k, 0.85);
  set(m, 10, 10, 0.99);
  const segs = temporalNetwork(m, { minSimilarity: 0.5, minSupport: 3 });
  assert.equal(segs.length, 2);
  const starts = segs.map((s) => [s.queryStart, s.refStart]).sort((a, b) => a[0] - b[0]);
  assert.deepEqual(starts, [[0, 20], [15, 2]]);
});

test('returns nothing when no pair clears the similarity floor', () => {
  assert.deepEqual(temporalNetwork(matrix(10, 10, 0.3), { minSimilarity: 0.5 }), []);
});

test('similarity matrix of unit vectors is their dot products', () => {
  const a = new Float32Array([1, 0, 0, 1]);
  const b = new Float32Array([0.6, 0.8, 1, 0, 0, 1]);
  const m = similarityMatrix(a, b, 2);
  assert.equal(m.rows, 2);
  assert.equal(m.cols, 3);
  assert.deepEqual(Array.from(m.data).map((x) => Math.round(x * 100) / 100), [0.6, 1, 0, 0.8, 0, 1]);
});

test('the blocked similarity kernel equals plain dot products on every cell, remainders included', () => {
  const dim = 13;
  let seed = 3;
  const rand = () => ((seed = (seed * 16807) % 2147483647) / 2147483647) * 2 - 1;
  for (const [rows, cols] of [[5, 7], [1, 1], [2, 4], [3, 9], [0, 3]]) {
    const a = Float32Array.from({ length: rows * dim }, rand);
    const b = Float32Array.from({ length: cols * dim }, rand);
    const m = similarityMatrix(a, b, dim);
    assert.equal(m.data.length, rows * cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) assert.equal(m.data[i * cols + j], Math.fround(dotAt(a, i * dim, b, j * dim, dim)), `cell ${i},${j} of ${rows}x${cols}`);
  }
});

test('top-k per row keeps the k best cells ≥ the floor, best first, lower column first among equal values', () => {
  // Row 0: ties at 0.8 (columns 1, 3, 6) and a cell below the floor; k = 2 keeps 0.9 (col 5), then 0.8 at col 1.
  // A path through (0,5) → (1,6) only exists if column 5 of row 0 is kept; row 1 offers (1,6) = 0.9 and (1,2) = 0.85.
  const m = matrix(2, 8, 0.1);
  [0.2, 0.8, 0.4, 0.8, 0.3, 0.9, 0.8, 0.45].forEach((v, j) => set(m, 0, j, v));
  set(m, 1, 6, 0.9);
  set(m, 1, 2, 0.85);
  const [seg] = temporalNetwork(m, { minSimilarity: 0.5, topK: 2, maxStep: 4, maxSegments: 1 });
  // Best path: (0,5)=0.9 → (1,6)=0.9 (total 1.8) beats (0,1)=0.8 → (1,2)=0.85 (1.65).
  assert.deepEqual([seg.queryStart, seg.queryEnd, seg.refStart, seg.refEnd, seg.support], [0, 1, 5, 6, 2]);
  // With k = 1 row 0 keeps only column 5; with ties only, the lowest column wins: (0,1) before (0,3) and (0,6).
  const t = matrix(2, 8, 0.1);
  [0.2, 0.8, 0.4, 0.8, 0.3, 0.1, 0.8, 0.45].forEach((v, j) => set(t, 0, j, v));
  set(t, 1, 2, 0.6);
  set(t, 1, 7, 0.6);
  const [tie] = temporalNetwork(t, { minSimilarity: 0.5, topK: 1, maxStep: 4, maxSegments: 1 });
  assert.deepEqual([tie.refStart, tie.refEnd], [1, 2]);
});

test('same segments as a sort-based top-k on random matrices (ties included)', () => {
  let seed = 7;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let trial = 0; trial < 40; trial++) {
    const rows = 5 + Math.floor(rand() * 40);
    const cols = 5 + Math.floor(rand() * 60);
    const m = matrix(rows, cols);
    // Quantised values: many exact ties.
    for (let k = 0; k < m.data.length; k++) m.data[k] = Math.round(rand() * 10) / 10;
    for (const topK of [1, 3, 5]) {
      const fast = temporalNetwork(m, { minSimilarity: 0.5, topK });
      // Reference: every row's cells ≥ the floor, stable-sorted best first, the first topK kept as a sparse matrix.
      const sparse = matrix(rows, cols, -1);
      for (let i = 0; i < rows; i++) {
        const row: { j: number; s: number }[] = [];
        for (let j = 0; j < cols; j++) if (m.data[i * cols + j] >= 0.5) row.push({ j, s: m.data[i * cols + j] });
        row.sort((a, b) => b.s - a.s);
        for (const { j, s } of row.slice(0, topK)) set(sparse, i, j, s);
      }
      // On the sparse matrix every row has at most topK cells ≥ the floor: the selection cannot differ.
      assert.deepEqual(fast, temporalNetwork(sparse, { minSimilarity: 0.5, topK: cols }), `trial ${trial} topK ${topK}`);
    }
  }
});

test('paths come strongest first, and stopAt ends the extraction at the first path it accepts', () => {
  const m = matrix(40, 40);
  for (let k = 0; k < 10; k++) set(m, k, k, 0.9); // strongest: 10 keyframes
  for (let k = 0; k < 6; k++) set(m, 15 + k, 15 + k, 0.9);
  for (let k = 0; k < 4; k++) set(m, 30 + k, 30 + k, 0.9);
  const all = temporalNetwork(m, { minSimilarity: 0.5, maxSegments: 5 });
  assert.deepEqual(all.map((s) => s.queryStart), [0, 15, 30]);
  const seen: number[] = [];
  const stopped = temporalNetwork(m, { minSimilarity: 0.5, maxSegments: 5 }, (s) => (seen.push(s.queryStart), s.queryStart === 15));
  assert.deepEqual(stopped.map((s) => s.queryStart), [0, 15]);
  assert.deepEqual(seen, [0, 15], 'asked once per extracted path, in extraction order');
  assert.deepEqual(temporalNetwork(m, { minSimilarity: 0.5, maxSegments: 5 }, () => false), all);
});

test('a window of a matrix gives what a copy of that window gives; a window outside the matrix is refused', () => {
  let seed = 11;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (let trial = 0; trial < 30; trial++) {
    const m = matrix(10 + Math.floor(rand() * 40), 10 + Math.floor(rand() * 60));
    for (let k = 0; k < m.data.length; k++) m.data[k] = Math.round(rand() * 10) / 10;
    const row0 = Math.floor(rand() * (m.rows - 2));
    const col0 = Math.floor(rand() * (m.cols - 2));
    const rows = 1 + Math.floor(rand() * (m.rows - row0));
    const cols = 1 + Math.floor(rand() * (m.cols - col0));
    const copy = matrix(rows, cols);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) set(copy, i, j, m.data[(row0 + i) * m.cols + col0 + j]);
    const options = { minSimilarity: 0.5, topK: 3, maxSegments: 3 };
    assert.deepEqual(temporalNetwork(m, options, undefined, { row0, col0, rows, cols }), temporalNetwork(copy, options), `trial ${trial}`);
  }
  assert.throws(() => temporalNetwork(matrix(5, 5), {}, undefined, { row0: 2, col0: 0, rows: 4, cols: 5 }), RangeError);
});

test('reused scratch buffers: a call from inside stopAt gets its own, and results do not depend on earlier calls', () => {
  const m = matrix(40, 40);
  for (let k = 0; k < 10; k++) set(m, k, k, 0.9);
  for (let k = 0; k < 6; k++) set(m, 15 + k, 15 + k, 0.9);
  const expected = temporalNetwork(m, { minSimilarity: 0.5, maxSegments: 5 });
  const big = matrix(200, 200, 0.6); // grows the shared buffers, leaves stale nodes in them
  temporalNetwork(big, { minSimilarity: 0.5, maxSegments: 2 });
  const inner: number[] = [];
  const outer = temporalNetwork(m, { minSimilarity: 0.5, maxSegments: 5 }, () => {
    inner.push(temporalNetwork(big, { minSimilarity: 0.5, maxSegments: 1 }).length);
    return false;
  });
  assert.deepEqual(outer, expected);
  assert.deepEqual(inner, [1, 1]);
  assert.deepEqual(temporalNetwork(m, { minSimilarity: 0.5, maxSegments: 5 }), expected);
});

/**
 * The extraction as first written: every pass computes every node's path value again, scanning all earlier
 * nodes. temporalNetwork recomputes only from the first row of the box it removed and scans predecessors
 * up to the node's own row; both must give the same paths in the same order.
 */
function plainExtraction(m: Matrix, minSimilarity: number, topK: number, maxStep: number, maxSegments: number) {
  const nodes: { i: number; j: number; s: number }[] = [];
  for (let i = 0; i < m.rows; i++) {
    const row: { i: number; j: number; s: number }[] = [];
    for (let j = 0; j < m.cols; j++) if (m.data[i * m.cols + j] >= minSimilarity) row.push({ i, j, s: m.data[i * m.cols + j] });
    row.sort((a, b) => b.s - a.s);
    nodes.push(...row.slice(0, topK));
  }
  const alive = nodes.map(() => true);
  const segments = [];
  while (segments.length < maxSegments) {
    const best = nodes.map(() => 0);
    const prevOf = nodes.map(() => -1);
    let bestNode = -1;
    for (let n = 0; n < nodes.length; n++) {
      if (!alive[n]) continue;
      let bestPrev = 0;
      for (let p = 0; p < n; p++) {
        const di = nodes[n].i - nodes[p].i;
        const dj = nodes[n].j - nodes[p].j;
        if (!alive[p] || di <= 0 || di > maxStep || dj <= 0 || dj > maxStep) continue;
        if (best[p] > bestPrev) {
          bestPrev = best[p];
          prevOf[n] = p;
        }
      }
      best[n] = nodes[n].s + bestPrev;
      if (bestNode < 0 || best[n] > best[bestNode]) bestNode = n;
    }
    if (bestNode < 0) break;
    const path: number[] = [];
    for (let n = bestNode; n >= 0; n = prevOf[n]) path.unshift(n);
    const [first, last] = [nodes[path[0]], nodes[path[path.length - 1]]];
    nodes.forEach((x, n) => {
      if (x.i >= first.i && x.i <= last.i && x.j >= first.j && x.j <= last.j) alive[n] = false;
    });
    for (const n of path) alive[n] = false;
    if (path.length < 2) break;
    const score = path.reduce((t, n) => t + nodes[n].s, 0) / path.length;
    segments.push({ queryStart: first.i, queryEnd: last.i, refStart: first.j, refEnd: last.j, score, support: path.length });
  }
  return segments.sort((a, b) => b.score * b.support - a.score * a.support);
}

test('path extraction gives what recomputing every node on every pass gives (random matrices, ties included)', () => {
  let seed = 11;
  const rand = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  let paths = 0;
  for (let trial = 0; trial < 60; trial++) {
    const rows = 3 + Math.floor(rand() * 50);
    const cols = 3 + Math.floor(rand() * 80);
    const m = matrix(rows, cols);
    for (let k = 0; k < m.data.length; k++) m.data[k] = Math.round(rand() * 10) / 10;
    // A few bright diagonal bands, so that later passes find paths in rows above and below earlier ones.
    for (let b = 0; b < 3; b++) {
      const i0 = Math.floor(rand() * rows);
      const j0 = Math.floor(rand() * cols);
      for (let t = 0; i0 + t < rows && j0 + t < cols && t < 15; t++) set(m, i0 + t, j0 + t, 1);
    }
    for (const [topK, maxStep, maxSegments] of [[5, 4, 5], [2, 2, 8], [1, 3, 3]]) {
      const expected = plainExtraction(m, 0.5, topK, maxStep, maxSegments);
      paths += expected.length;
      assert.deepEqual(temporalNetwork(m, { minSimilarity: 0.5, topK, maxStep, maxSegments }), expected, `trial ${trial} topK ${topK} maxStep ${maxStep}`);
    }
  }
  assert.ok(paths > 300, `${paths} paths compared`);
});
