import assert from 'node:assert/strict';
import { test } from 'node:test';
import { padTo, planWindows, tileGrid, tileOrigins } from './tiling.js';

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

test('planWindows: the whole matrix padded to the stride up to maxCells, large square windows beyond', () => {
  assert.equal(padTo(1, 4), 4);
  assert.equal(padTo(120, 4), 120);
  assert.equal(padTo(121, 4), 124);
  assert.equal(padTo(0, 4), 4);
  assert.deepEqual(planWindows(120, 600, 4, 1 << 20, 256, 192), { height: 120, width: 600, origins: [{ row: 0, col: 0 }], whole: true });
  assert.deepEqual(planWindows(7, 9, 4, 1 << 20, 256, 192), { height: 8, width: 12, origins: [{ row: 0, col: 0 }], whole: true });
  // 3 hours x 3 hours at 1 fps: windows of 256 every 192 cells, the last flush with the end.
  const big = planWindows(10800, 10800, 4, 1 << 20, 256, 192);
  assert.equal(big.whole, false);
  assert.equal(big.height, 256);
  assert.equal(big.width, 256);
  const axis = tileOrigins(10800, 256, 192);
  assert.equal(big.origins.length, axis.length * axis.length);
  assert.equal(axis.at(-1), 10800 - 256);
  // A short query against a huge reference: the window height is the padded query, not 256.
  const flat = planWindows(30, 100000, 4, 1 << 20, 256, 192);
  assert.equal(flat.height, 32);
  assert.equal(flat.width, 256);
  assert.ok(flat.origins.every((o) => o.row === 0));
  // Every cell lies in a window.
  const p = planWindows(130, 700, 4, 0, 128, 96);
  for (let i = 0; i < 130; i += 7) for (let j = 0; j < 700; j += 11) assert.ok(p.origins.some((o) => o.row <= i && i < o.row + p.height && o.col <= j && j < o.col + p.width), `cell ${i},${j}`);
  assert.throws(() => planWindows(10, 10, 4, 0, 126, 64), RangeError);
});
