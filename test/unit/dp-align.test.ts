import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Matrix } from '../../src/match/similarity.js';
import { dpAlign } from '../../src/match/dp-align.js';

function matrix(rows: number, cols: number, fill = 0.2): Matrix {
  return { rows, cols, data: new Float32Array(rows * cols).fill(fill) };
}

test('finds the copied diagonal and its mean similarity', () => {
  const m = matrix(20, 30);
  for (let k = 0; k < 6; k++) m.data[(4 + k) * 30 + (10 + k)] = 0.9;
  const [seg, ...rest] = dpAlign(m);
  assert.deepEqual([seg.queryStart, seg.queryEnd, seg.refStart, seg.refEnd, seg.support], [4, 9, 10, 15, 6]);
  assert.ok(Math.abs(seg.score - 0.9) < 1e-6);
  assert.equal(rest.length, 0);
});

test('bridges a weak frame inside a copy and follows a 2x speed band', () => {
  const m = matrix(12, 30);
  for (let k = 0; k < 10; k++) m.data[k * 30 + 2 * k] = k === 5 ? 0.5 : 0.9;
  const [seg] = dpAlign(m, { maxStep: 3 });
  assert.deepEqual([seg.queryStart, seg.queryEnd, seg.refStart, seg.refEnd], [0, 9, 0, 18]);
});

test('two separate copies give two segments; a dark matrix gives none', () => {
  const m = matrix(30, 30);
  for (let k = 0; k < 5; k++) m.data[k * 30 + 20 + k] = 0.95;
  for (let k = 0; k < 6; k++) m.data[(15 + k) * 30 + 2 + k] = 0.85;
  const segs = dpAlign(m);
  assert.equal(segs.length, 2);
  assert.deepEqual(dpAlign(matrix(10, 10, 0.3)), []);
});
