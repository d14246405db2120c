import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Frame } from '../decode/frames.js';
import { cropFrame } from './crop.js';
import { insetCropBox } from './index.js';

function frame(width: number, height: number, pixel: (x: number, y: number) => [number, number, number]): Frame {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) rgb.set(pixel(x, y), (y * width + x) * 3);
  return { index: 7, time: 7, width, height, rgb };
}
const px = (f: Frame, x: number, y: number): number[] => Array.from(f.rgb.subarray((y * f.width + x) * 3, (y * f.width + x) * 3 + 3));

test('crop keeps index/time, resamples to the square input size, and takes only the box', () => {
  // left half red, right half blue; crop the right half
  const f = frame(224, 224, (x) => (x < 112 ? [255, 0, 0] : [0, 0, 255]));
  const c = cropFrame(f, { x: 0.5, y: 0.25, w: 0.5, h: 0.5 });
  assert.equal(c.index, 7);
  assert.equal(c.time, 7);
  assert.equal(c.width, 224);
  assert.equal(c.height, 224);
  assert.equal(c.rgb.length, 224 * 224 * 3);
  // (output column 0 samples source x = 111.75 in pixel-centre terms: a quarter of the red column beside the box)
  for (const [x, y] of [[2, 0], [3, 100], [223, 223], [112, 50]]) assert.deepEqual(px(c, x, y), [0, 0, 255]);
  // explicit output size
  const small = cropFrame(f, { x: 0, y: 0, w: 1, h: 1 }, 32, 16);
  assert.equal(small.width, 32);
  assert.equal(small.height, 16);
  assert.deepEqual(px(small, 0, 0), [255, 0, 0]);
  assert.deepEqual(px(small, 31, 15), [0, 0, 255]);
});

test('upscaling is bilinear: a linear ramp stays a linear ramp', () => {
  const f = frame(100, 100, (x, y) => [x * 2, y * 2, 100]);
  // box 20..60 px (40 px) -> 160 px: every output pixel i samples source x = 20 + (i + 0.5) / 4 - 0.5 (pixel centres)
  const c = cropFrame(f, { x: 0.2, y: 0.3, w: 0.4, h: 0.4 }, 160, 160);
  for (const i of [10, 50, 80, 149]) {
    const sx = 20 + (i + 0.5) / 4 - 0.5;
    const sy = 30 + (i + 0.5) / 4 - 0.5;
    const [r, g, b] = px(c, i, i);
    assert.ok(Math.abs(r - 2 * sx) <= 1, `r ${r} vs ${2 * sx}`);
    assert.ok(Math.abs(g - 2 * sy) <= 1, `g ${g} vs ${2 * sy}`);
    assert.equal(b, 100);
  }
});

test('downscaling averages (antialiased): a fine checkerboard becomes flat grey', () => {
  const f = frame(224, 224, (x, y) => ((x + y) % 2 ? [255, 255, 255] : [0, 0, 0]));
  const c = cropFrame(f, { x: 0, y: 0, w: 1, h: 1 }, 56, 56);
  for (const [x, y] of [[5, 5], [30, 17], [50, 40]]) for (const v of px(c, x, y)) assert.ok(Math.abs(v - 127.5) <= 3, `value ${v}`);
});

test('a box beyond the frame is clamped; a constant frame stays constant', () => {
  const f = frame(50, 40, () => [10, 20, 30]);
  const c = cropFrame(f, { x: -0.2, y: 0.9, w: 0.5, h: 0.5 }, 24);
  assert.equal(c.width, 24);
  assert.equal(c.height, 24);
  for (let i = 0; i < c.rgb.length; i += 3) assert.deepEqual(Array.from(c.rgb.subarray(i, i + 3)), [10, 20, 30]);
});

test('insetCropBox trims the margin on each side', () => {
  const b = insetCropBox({ x: 0.2, y: 0.1, w: 0.5, h: 0.4 }, 0.1);
  assert.ok(Math.abs(b.x - 0.25) < 1e-12 && Math.abs(b.y - 0.14) < 1e-12);
  assert.ok(Math.abs(b.w - 0.4) < 1e-12 && Math.abs(b.h - 0.32) < 1e-12);
});
