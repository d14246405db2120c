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
