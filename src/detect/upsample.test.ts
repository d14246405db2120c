import assert from 'node:assert/strict';
import { test } from 'node:test';
import { scaleBoxes, upsampleFactor, upsampleNearest } from './upsample.js';

test('upsampleNearest repeats every cell f x f; 2x2 max-pooling gives the original back', () => {
  const sim = { rows: 2, cols: 3, data: Float32Array.from([1, 2, 3, 4, 5, 6]) };
  const up = upsampleNearest(sim, 2);
  assert.equal(up.rows, 4);
  assert.equal(up.cols, 6);
  assert.deepEqual([...up.data], [1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6]);
  const pooled: number[] = [];
  for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) pooled.push(Math.max(up.data[2 * i * 6 + 2 * j], up.data[2 * i * 6 + 2 * j + 1], up.data[(2 * i + 1) * 6 + 2 * j], up.data[(2 * i + 1) * 6 + 2 * j + 1]));
  assert.deepEqual(pooled, [...sim.data]);
  assert.equal(upsampleNearest(sim, 1), sim);
});

test('upsampleFactor: 2 at or below maxCells, 1 above it or when off', () => {
  assert.equal(upsampleFactor(20, 6, 120), 2);
  assert.equal(upsampleFactor(20, 7, 120), 1);
  assert.equal(upsampleFactor(1, 1, 0), 1);
});

test('scaleBoxes maps upsampled cells back to the original ones', () => {
  const boxes = scaleBoxes([{ q0: 14, q1: 22, r0: 2, r1: 12, score: 0.5 }], 2);
  assert.deepEqual(boxes, [{ q0: 7, q1: 11, r0: 1, r1: 6, score: 0.5 }]);
});
