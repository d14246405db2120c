import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mirrorFrame } from './mirror.js';

test('mirrorFrame swaps columns, keeps rows, pixels and metadata; mirroring twice is the identity', () => {
  // 3×2 frame: pixel (x, y) = [10y + x, 100 + x, 200 + y]
  const rgb = new Uint8Array(3 * 2 * 3);
  for (let y = 0; y < 2; y++) for (let x = 0; x < 3; x++) rgb.set([10 * y + x, 100 + x, 200 + y], (y * 3 + x) * 3);
  const frame = { index: 4, time: 2, width: 3, height: 2, rgb };
  const m = mirrorFrame(frame);
  assert.deepEqual([m.index, m.time, m.width, m.height], [4, 2, 3, 2]);
  assert.deepEqual([...m.rgb.subarray(0, 9)], [2, 102, 200, 1, 101, 200, 0, 100, 200]);
  assert.deepEqual([...m.rgb.subarray(9, 18)], [12, 102, 201, 11, 101, 201, 10, 100, 201]);
  assert.deepEqual(mirrorFrame(m).rgb, rgb);
  assert.notEqual(m.rgb, rgb, 'a new buffer: the original frame is untouched');
});
