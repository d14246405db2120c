import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tileGrid, tileOrigins } from './tiling.js';

test('tile origins: one padded tile for short axes, stride steps and a last tile flush with the end', () => {
  assert.deepEqual(tileOrigins(10, 64, 32), [0]);
  assert.deepEqual(tileOrigins(64, 64, 32), [0]);
  assert.deepEqual(tileOrigins(65, 64, 32), [0, 1]);
  assert.deepEqual(tileOrigins(120, 64, 32), [0, 32, 56]);
  assert.deepEqual(tileOrigins(128, 64, 32), [0, 32, 64]);
  const long = tileOrigins(600, 64, 32);
  assert.equal(long.length, 18);
  assert.deepEqual(long.slice(-3), [480, 512, 536]);
  assert.deepEqual(tileOrigins(100, 64, 48), [0, 36]);
  assert.throws(() => tileOrigins(10, 64, 0), RangeError);
});

test('every cell of a 120x600 matrix lies in a tile; any 33-cell span lies inside one tile', () => {
  const grid = tileGrid(120, 600, 64, 32);
  assert.equal(grid.length, 3 * 18);
  for (let start = 0; start + 33 <= 600; start++) {
    assert.ok(tileOrigins(600, 64, 32).some((o) => o <= start && start + 33 <= o + 64), `span at ${start}`);
  }
});
