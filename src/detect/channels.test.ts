import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CHANNELS, DEFAULT_CHANNEL_PARAMS, buildChannels, channelStats, copyWindow, cutTile, cutWindow, writeTile, writeWindow } from './channels.js';

const close = (a: number, b: number, eps = 1e-5) => assert.ok(Math.abs(a - b) < eps, `${a} != ${b}`);

test('channels of a 2x2 matrix, computed by hand', () => {
  // s = [[1, 0], [0, 0.5]]: mean 0.375, population variance 0.171875.
  const planes = buildChannels({ rows: 2, cols: 2, data: Float32Array.from([1, 0, 0, 0.5]) });
  const sd = Math.sqrt(0.171875);
  const rel = (d: number) => d / sd / 4 + 1;
  const n = 4;
  assert.deepEqual(Array.from(planes.subarray(0, n)), [1, 0, 0, 0.5]);
  // rowrel: row maxima 1 and 0.5
  [1, rel(-1), rel(-0.5), 1].forEach((v, k) => close(planes[n + k], v));
  // colrel: column maxima 1 and 0.5
  [1, rel(-0.5), rel(-1), 1].forEach((v, k) => close(planes[2 * n + k], v));
  // z / 3
  [0.625, -0.375, -0.375, 0.125].forEach((d, k) => close(planes[3 * n + k], d / sd / 3));
  close(planes[n + 1], 0.39698);
  close(planes[3 * n], 0.50252);
});

test('a constant matrix uses the sd floor; values are clipped to [-1, 1] and the channel ranges', () => {
  const flat = buildChannels({ rows: 2, cols: 3, data: new Float32Array(6).fill(0.3) });
  for (let k = 0; k < 6; k++) {
    assert.equal(flat[k], Math.fround(0.3));
    assert.equal(flat[6 + k], 1);
    assert.equal(flat[12 + k], 1);
    assert.equal(flat[18 + k], 0);
  }
  // s = [[2, -3]] -> clipped [1, -1]; mean 0, sd 1: rowrel (-2/1) -> 0.5; z 1/3 and -1/3.
  const p = buildChannels({ rows: 1, cols: 2, data: Float32Array.from([2, -3]) });
  assert.deepEqual(Array.from(p.subarray(0, 2)), [1, -1]);
  close(p[2 + 1], 0.5);
  close(p[6], 1 / 3);
  close(p[7], -1 / 3);
  // Far below the row maximum: rowrel clipped at 0; z clipped at zLo/zScale = -1.
  // [-1, 1 x 30]: mean 29/31, sd 0.353 -> (-1 - 1)/sd = -5.7 and (-1 - mean)/sd = -5.5.
  const q = buildChannels({ rows: 1, cols: 31, data: Float32Array.from({ length: 31 }, (_v, k) => (k === 0 ? -1 : 1)) });
  assert.equal(q[31], 0);
  assert.equal(q[93], DEFAULT_CHANNEL_PARAMS.zLo / DEFAULT_CHANNEL_PARAMS.zScale);
});

test('cutTile copies the overlap, sets the mask and zero-pads the rest', () => {
  // 2x3 matrix planes with recognisable values: plane c, cell k -> 10c + k.
  const rows = 2;
  const cols = 3;
  const planes = new Float32Array(4 * 6).map((_v, i) => 10 * Math.floor(i / 6) + (i % 6));
  const tile = 4;
  const out = new Float32Array(2 + CHANNELS.length * 16).fill(7);
  cutTile(planes, rows, cols, 0, 1, tile, out, 2);
  assert.deepEqual(Array.from(out.subarray(0, 2)), [7, 7]);
  const ch = (c: number) => Array.from(out.subarray(2 + c * 16, 2 + (c + 1) * 16));
  // columns 1..2 of both rows, then padding
  assert.deepEqual(ch(0), [1, 2, 0, 0, 4, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(ch(3), [31, 32, 0, 0, 34, 35, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(ch(4), [1, 1, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
});

test('an empty matrix gives no planes', () => {
  assert.equal(buildChannels({ rows: 0, cols: 5, data: new Float32Array(0) }).length, 0);
});

test('channelStats + writeTile give exactly what buildChannels + cutTile give, padding zeroed over old contents', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (const [rows, cols, tile] of [[5, 9, 8], [20, 37, 8], [3, 3, 4], [1, 12, 8]] as const) {
    // values beyond [-1, 1] exercise the clipping, ties of row/column maxima the rel channels
    const data = Float32Array.from({ length: rows * cols }, () => (rnd() < 0.1 ? 1.5 : Math.round((rnd() * 2.4 - 1.2) * 8) / 8));
    const m = { rows, cols, data };
    const planes = buildChannels(m);
    const stats = channelStats(m);
    for (const row0 of [0, Math.max(0, rows - tile), Math.min(rows - 1, 2)]) {
      for (const col0 of [0, Math.max(0, cols - tile), Math.min(cols - 1, 5)]) {
        const want = new Float32Array(3 + CHANNELS.length * tile * tile);
        cutTile(planes, rows, cols, row0, col0, tile, want, 3);
        const got = new Float32Array(want.length).fill(9);
        got.fill(0, 0, 3);
        writeTile(m, stats, DEFAULT_CHANNEL_PARAMS, row0, col0, tile, got, 3);
        assert.deepEqual(Array.from(got), Array.from(want), `${rows}x${cols} tile ${tile} at ${row0},${col0}`);
      }
    }
  }
});

test('channelStats of a flat matrix floors sd; of an empty one does not divide by zero', () => {
  const s = channelStats({ rows: 2, cols: 2, data: new Float32Array(4).fill(0.4) });
  assert.equal(s.sd, DEFAULT_CHANNEL_PARAMS.sdFloor);
  assert.ok(Math.abs(s.mean - 0.4) < 1e-7);
  assert.deepEqual(Array.from(s.rowMax), [Math.fround(0.4), Math.fround(0.4)]);
  assert.equal(channelStats({ rows: 0, cols: 3, data: new Float32Array(0) }).sd, DEFAULT_CHANNEL_PARAMS.sdFloor);
});

test('writeWindow / cutWindow: rectangular windows, the whole matrix padded to the stride, mask 0 in the padding', () => {
  const rows = 7;
  const cols = 10;
  const data = Float32Array.from({ length: rows * cols }, (_v, k) => Math.sin(k * 1.3) * 0.6 + 0.1);
  const m = { rows, cols, data };
  const planes = buildChannels(m);
  const stats = channelStats(m);
  for (const [row0, col0, h, w] of [[0, 0, 8, 12], [0, 0, 4, 16], [3, 4, 8, 4], [6, 9, 4, 4]]) {
    const want = new Float32Array(CHANNELS.length * h * w);
    cutWindow(planes, rows, cols, row0, col0, h, w, want);
    const got = new Float32Array(CHANNELS.length * h * w + 5).fill(7);
    writeWindow(m, stats, DEFAULT_CHANNEL_PARAMS, row0, col0, h, w, got, 5);
    assert.deepEqual(got.subarray(5), want, `${row0},${col0} ${h}x${w}`);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const inside = row0 + y < rows && col0 + x < cols;
        assert.equal(want[4 * h * w + y * w + x], inside ? 1 : 0);
        if (inside) assert.equal(want[y * w + x], planes[(row0 + y) * cols + col0 + x]);
        else for (let c = 0; c < 4; c++) assert.equal(want[c * h * w + y * w + x], 0);
      }
    }
  }
});

test('copyWindow: the similarities of a window, zeros outside the matrix, whatever the buffer held', () => {
  const m = { rows: 3, cols: 5, data: Float32Array.from({ length: 15 }, (_v, k) => k / 10) }; // cell (i, j) = (5i + j) / 10
  const out = new Float32Array(2 + 4 * 8).fill(NaN);
  copyWindow(m, 1, 2, 4, 8, out, 2);
  const want = [
    [0.7, 0.8, 0.9, 0, 0, 0, 0, 0],
    [1.2, 1.3, 1.4, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0],
    [0, 0, 0, 0, 0, 0, 0, 0],
  ].flat().map((x) => (x === 0 ? 0 : m.data[Math.round(x * 10)]));
  assert.deepEqual([...out.subarray(2)], want);
  assert.ok(Number.isNaN(out[0]) && Number.isNaN(out[1]));
});

test('copyWindow: padding takes the fill value (a model whose meta sets input.pad)', () => {
  const m = { rows: 2, cols: 3, data: Float32Array.of(0.1, 0.2, 0.3, 0.4, 0.5, 0.6) };
  const out = new Float32Array(3 * 4).fill(NaN);
  copyWindow(m, 0, 1, 3, 4, out, 0, -2);
  assert.deepEqual([...out], [0.2, 0.3, -2, -2, 0.5, 0.6, -2, -2, -2, -2, -2, -2].map((x) => Math.fround(x)));
});
