import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DECODE_SCRATCH_PER_LOCATION, calibrate, cellBox, decodeTile, decodeTopK, diagonalSimilarity, fuseBands, iou, nms, sameBand, selectAscending, sigmoid, softplus, toFrameSegment, type CellBox } from './boxes.js';
import { secondsToCell } from '../../datasets/matrices.js';
import { keyframeSpan } from '../match/matcher.js';

const box = (q0: number, r0: number, q1: number, r1: number, score = 0.5): CellBox => cellBox(q0, r0, q1, r1, score);

test('decodeTile: location centre + distances, tile origin, clipping, min score', () => {
  // grid 2 (stride 4): channels [score, dq0, dq1, dr0, dr1] x 4 locations, after 3 unrelated floats.
  const g = 4;
  const out = new Float32Array(3 + 5 * g);
  const set = (c: number, gy: number, gx: number, v: number) => (out[3 + c * g + gy * 2 + gx] = v);
  set(0, 1, 0, 0.9);
  [2, 3, 1, 5].forEach((v, k) => set(k + 1, 1, 0, v));
  set(0, 0, 1, 0.01); // below minScore
  set(0, 0, 0, 0.5); // distances 0 -> empty box, dropped
  const boxes = decodeTile(out, 3, { grid: 2, stride: 4, row: 8, col: 16, rows: 16, cols: 40 }, 0.05);
  // centre (8 + 4 + 2, 16 + 0 + 2) = (14, 18): q 12..17 clipped to 16, r 17..23
  assert.deepEqual(boxes, [cellBox(12, 17, 16, 23, Math.fround(0.9))]);
  // Same output for the tile at (0, 0) of a 40x40 matrix: q1 = 6 + 3 = 9 > tile end 8 - 1 -> cut.
  const [b] = decodeTile(out, 3, { grid: 2, stride: 4, row: 0, col: 0, rows: 40, cols: 40, tile: 7 }, 0.05);
  assert.deepEqual(b, cellBox(4, 1, 9, 7, Math.fround(0.9), 7, true));
  // ... but not when that edge is the matrix end (nothing beyond it).
  const [c] = decodeTile(out, 3, { grid: 2, stride: 4, row: 0, col: 0, rows: 8, cols: 40, tile: 7 }, 0.05);
  assert.equal(c.cut, undefined);
});

test('iou and NMS with containment suppression', () => {
  assert.equal(iou(box(0, 0, 10, 10), box(5, 0, 15, 10)), 50 / 150);
  const a = box(0, 0, 10, 10, 0.9);
  const b = box(1, 1, 11, 11, 0.8); // IoU 81/119 = 0.68: suppressed at 0.5
  const c = box(0, 0, 4, 4, 0.7); // inside a: IoU 0.16 but fully contained
  const d = box(20, 20, 30, 30, 0.6);
  assert.deepEqual(nms([d, c, b, a], 0.5, 0.8), [a, d]);
  assert.deepEqual(nms([d, c, b, a], 0.5, 1.01), [a, c, d]);
  assert.deepEqual(nms([c, a], 0.7), [a]); // containment 1 by default: full containment suppresses
  // A box cut by its tile border goes at a lower containment: 0.6 of e lies inside a.
  const e = { ...box(4, 6, 14, 10, 0.5), cut: true };
  assert.deepEqual(nms([a, e], 0.5, 0.8), [a, e]);
  assert.deepEqual(nms([a, e], 0.5, 0.8, 0.5), [a]);
  // A limit keeps the first boxes of the full result.
  assert.deepEqual(nms([d, c, b, a], 0.5, 1.01, 1.01, 2), [a, c]);
  assert.deepEqual(nms([d, c, b, a], 0.5, 1.01, 1.01, 0), []);
});

test('NMS with a limit = the full NMS cut to that many boxes (random boxes)', () => {
  let seed = 11;
  const rnd = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
  for (let t = 0; t < 50; t++) {
    const boxes = Array.from({ length: 40 }, () => {
      const q0 = Math.floor(rnd() * 50);
      const r0 = Math.floor(rnd() * 50);
      return { ...box(q0, r0, q0 + 1 + Math.floor(rnd() * 20), r0 + 1 + Math.floor(rnd() * 20), rnd()), ...(rnd() < 0.2 ? { cut: true } : {}) };
    });
    const full = nms(boxes, 0.5, 0.8, 0.5);
    for (const limit of [1, 3, 7]) assert.deepEqual(nms(boxes, 0.5, 0.8, 0.5, limit), full.slice(0, limit));
  }
});

test('band fusion joins pieces of one diagonal cut by a tile border, nothing else', () => {
  // One band (0,0)→(60,60) seen as two pieces.
  assert.ok(sameBand(box(0, 0, 34, 34), box(30, 30, 60, 60), 2, 2.5));
  assert.deepEqual(fuseBands([box(0, 0, 34, 34, 0.6), box(30, 30, 60, 60, 0.8)], 2, 2.5), [box(0, 0, 60, 60, 0.8)]);
  // Touching pieces with a 2-cell gap on the query axis still fuse; a 6-cell gap does not.
  assert.ok(sameBand(box(0, 0, 30, 30), box(32, 32, 50, 50), 2, 2.5));
  assert.ok(!sameBand(box(0, 0, 30, 30), box(36, 36, 50, 50), 2, 2.5));
  // Two copies of the same reference part at different query times (second copy goes back in the reference).
  assert.ok(!sameBand(box(7, 2, 23, 10), box(29, 4, 49, 13), 2, 2.5));
  // Parallel bands 6 cells apart overlap but are not one band.
  assert.ok(!sameBand(box(0, 0, 30, 30), box(10, 16, 40, 46), 2, 2.5));
  // A 2x-speed band cut in two.
  assert.ok(sameBand(box(0, 0, 16, 32), box(15, 30, 30, 60), 2, 2.5));
  // Imprecise pieces of a long band: end (27, 37) is 5.4 cells off the union diagonal (0,0)→(40,43),
  // within 2.5 + 0.1 × 58.7 = 8.4 cells only with the relative tolerance.
  assert.ok(!sameBand(box(0, 0, 27, 37), box(16, 15, 40, 43), 2, 2.5));
  assert.ok(sameBand(box(0, 0, 27, 37), box(16, 15, 40, 43), 2, 2.5, 0.1));
});

test('fusion joins boxes of different tiles only, and only boxes above its score floor', () => {
  const a = { ...box(0, 0, 34, 34, 0.6), tile: 0 };
  const b = { ...box(30, 30, 60, 60, 0.8), tile: 1 };
  assert.deepEqual(fuseBands([a, b], 2, 2.5), [box(0, 0, 60, 60, 0.8)]);
  assert.deepEqual(fuseBands([a, { ...b, tile: 0 }], 2, 2.5), [{ ...b, tile: 0 }, a]);
  // ... unless fragments of one tile may fuse.
  assert.deepEqual(fuseBands([a, { ...b, tile: 0 }], 2, 2.5, 0, true), [box(0, 0, 60, 60, 0.8)]);
  // A weak piece (below the floor) is left alone.
  const weak = { ...b, score: 0.05 };
  assert.deepEqual(fuseBands([a, weak], 2, 2.5, 0.1), [a, weak]);
});

test('cell box to inclusive keyframe indices', () => {
  assert.deepEqual(toFrameSegment(box(7.44, 1.17, 16.2, 9.93, 0.7), 23, 10), { queryStart: 7, queryEnd: 15, refStart: 1, refEnd: 9, score: 0.7, support: 9 });
  // Clipped to the matrix, at least one keyframe.
  assert.deepEqual(toFrameSegment(box(-1, 3.2, 0.3, 99, 0.5), 5, 8), { queryStart: 0, queryEnd: 0, refStart: 3, refEnd: 7, score: 0.5, support: 5 });
});

test('GT seconds -> training cells -> keyframes -> matcher seconds: the keyframes whose time lies in the copy, reported half an interval out', () => {
  for (const fps of [1, 2]) {
    const rows = 30 * fps;
    const duration = 30;
    for (const [s, e] of [[4.2, 11.7], [0, 9.3], [12.6, 30], [5.05, 5.95 + 3]]) {
      const seg = toFrameSegment(box(secondsToCell(s, fps), 0, secondsToCell(e, fps), 1), rows, 1);
      const inside = Array.from({ length: rows }, (_v, i) => i).filter((i) => i / fps >= s - 1e-9 && i / fps <= e + 1e-9);
      assert.deepEqual([seg.queryStart, seg.queryEnd], [inside[0], inside[inside.length - 1]], `${s}-${e} at ${fps} fps`);
      const [qs, qe] = keyframeSpan(seg.queryStart / fps, seg.queryEnd / fps, 0.5 / fps, duration);
      assert.ok(Math.abs(qs - s) <= 0.5 / fps + 1e-9 && Math.abs(qe - e) <= 0.5 / fps + 1e-9, `${s}-${e} -> ${qs}-${qe}`);
    }
  }
  // A copy from the very start begins at the matrix edge; the first keyframe's cell is [0, half an interval).
  assert.equal(secondsToCell(0, 1), 0);
  assert.equal(secondsToCell(0.25, 1), 0.5);
  assert.equal(secondsToCell(0.5, 1), 1);
  assert.equal(secondsToCell(3, 1), 3.5);
});

test('Platt calibration', () => {
  assert.ok(Math.abs(calibrate(0.5, 1, 0) - 0.5) < 1e-12);
  assert.ok(Math.abs(calibrate(0.75, 2, 0) - 0.9) < 1e-12); // logit 0.75 = ln 3 -> sigmoid(2 ln 3) = 9/10
  assert.ok(Math.abs(calibrate(0.5, 1, Math.log(4)) - 0.8) < 1e-12);
  assert.ok(calibrate(1, 1, 0) < 1 && calibrate(0, 1, 0) > 0);
  // With the diagonal-similarity term: logit 0.5 = 0, so sigmoid(2 · 0.5 + (-1)) = 0.5.
  assert.ok(Math.abs(calibrate(0.5, 1, -1, 2, 0.5) - 0.5) < 1e-12);
});

test('diagonal similarity: best of the three cells around the diagonal, averaged over rows', () => {
  // 3x6 matrix, values 10*i + j (scaled by 0.01); box rows 0..3 and reference 0..6 (slope 2).
  const data = Float32Array.from({ length: 18 }, (_v, k) => 0.01 * (10 * Math.floor(k / 6) + (k % 6)));
  const m = { rows: 3, cols: 6, data };
  // Row i centre i + 0.5 -> diagonal column round(2(i + 0.5) - 0.5) = 1, 3, 5 (+ tie rounding up):
  // best of columns {0,1,2}, {2,3,4}, {4,5} = 0.02, 0.14, 0.25; mean 0.41 / 3.
  assert.ok(Math.abs(diagonalSimilarity(m, box(0, 0, 3, 6)) - 0.41 / 3) < 1e-6);
  // One row, clipped.
  assert.ok(Math.abs(diagonalSimilarity(m, box(2, 5, 3, 8)) - 0.25) < 1e-6);
});

test('selectAscending gives the value a sort would put at the index, on any sub-range, with ties or without', () => {
  let seed = 5;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  for (let trial = 0; trial < 400; trial++) {
    const n = 1 + Math.floor(rnd() * 40);
    const levels = trial % 3 === 0 ? 3 : trial % 3 === 1 ? 10 : 0;
    const values = Array.from({ length: n }, () => (levels ? Math.floor(rnd() * levels) / levels : rnd()));
    const sorted = [...values].sort((x, y) => x - y);
    for (let idx = 0; idx < n; idx++) {
      // The range sits inside a larger array whose other slots must be left alone.
      const a = new Float64Array(n + 4).fill(-7);
      a.set(values, 2);
      assert.equal(selectAscending(a, 2, 2 + n, 2 + idx), sorted[idx], `trial ${trial} n ${n} idx ${idx}`);
      assert.deepEqual([...a.subarray(2, 2 + n)].sort((x, y) => x - y), sorted, 'a permutation of the range');
      assert.deepEqual([a[0], a[1], a[n + 2], a[n + 3]], [-7, -7, -7, -7]);
    }
  }
});

test('decodeTopK = decodeTile over all tiles + stable sort by score + slice(0, k), ties included', () => {
  let seed = 3;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const grid = 4;
  const area = grid * grid;
  const geoms = [
    { grid, stride: 4, row: 0, col: 0, rows: 30, cols: 50, tile: 0 },
    { grid, stride: 4, row: 0, col: 14, rows: 30, cols: 50, tile: 1 },
    { grid, stride: 4, row: 14, col: 34, rows: 30, cols: 50, tile: 2 },
  ];
  // One scratch array for every call that takes one (odd k): what earlier calls left in it must not matter.
  const scratch = new Float64Array(DECODE_SCRATCH_PER_LOCATION * geoms.length * area);
  for (let trial = 0; trial < 50; trial++) {
    const out = new Float32Array(geoms.length * 5 * area);
    for (let t = 0; t < geoms.length; t++) {
      for (let i = 0; i < area; i++) {
        // coarse scores -> many ties; some below minScore; some empty boxes (zero distances)
        out[t * 5 * area + i] = Math.round(rnd() * 10) / 10;
        for (let c = 1; c < 5; c++) out[t * 5 * area + c * area + i] = rnd() < 0.15 ? 0 : rnd() * 12;
      }
    }
    const all: CellBox[] = geoms.flatMap((g, t) => decodeTile(out, t * 5 * area, g, 0.05));
    for (const k of [1, 5, 17, all.length, all.length + 3]) {
      const want = [...all].sort((a, b) => b.score - a.score).slice(0, k);
      const got = decodeTopK(out, geoms, 0.05, k, k % 2 ? scratch : undefined);
      assert.equal(got.length, want.length);
      // same boxes, and after the stable sort NMS does, the same order
      assert.deepEqual([...got].sort((a, b) => b.score - a.score), want, `trial ${trial} k ${k}`);
    }
  }
  assert.deepEqual(decodeTopK(new Float32Array(0), [], 0.05, 10), []);
});

test('rectangular output grids (whole-matrix windows): decodeTile and decodeTopK index rows by gridCols', () => {
  // A 2 x 3 grid (stride 4): an 8 x 12 window, e.g. a 7 x 10 matrix padded to the stride.
  const gh = 2;
  const gw = 3;
  const area = gh * gw;
  const out = new Float32Array(5 * area);
  const set = (c: number, gy: number, gx: number, v: number) => (out[c * area + gy * gw + gx] = v);
  set(0, 1, 2, 0.8);
  [1, 2, 3, 4].forEach((v, k) => set(k + 1, 1, 2, v));
  set(0, 0, 1, 0.6);
  [2, 2, 2, 2].forEach((v, k) => set(k + 1, 0, 1, v));
  const g = { grid: gh, gridCols: gw, stride: 4, row: 0, col: 0, rows: 7, cols: 10, tile: 0 };
  // (1, 2): centre (6, 10): q 5..7 (clipped from 8 to 7), r 7..10 (clipped from 14 to 10); (0, 1): centre (2, 6)
  const boxes = decodeTile(out, 0, g, 0.05);
  assert.deepEqual(boxes, [
    cellBox(0, 4, 4, 8, Math.fround(0.6), 0),
    cellBox(5, 7, 7, 10, Math.fround(0.8), 0),
  ]);
  // The whole matrix in one window: nothing is cut (no window border inside the matrix).
  assert.ok(boxes.every((b) => (b as CellBox).cut === undefined));
  assert.deepEqual(decodeTopK(out, [g], 0.05, 1), [boxes[1]]);
  assert.deepEqual(decodeTopK(out, [g], 0.05, 5), boxes);
});

test('pre-activation outputs (meta format 2): sigmoid score and softplus × boxScale distances at decoded locations only; decodeTopK = decodeTile + sort + slice', () => {
  assert.equal(softplus(0), Math.log(2));
  assert.equal(softplus(25), 25);
  assert.ok(Math.abs(softplus(-30)) < 1e-12);
  assert.equal(sigmoid(0), 0.5);
  // One location: logit 2, distances softplus(x) * 4.
  const out = new Float32Array(5);
  [2, 0, 1, -1, 3].forEach((v, k) => (out[k] = v));
  const g = { grid: 1, stride: 4, row: 40, col: 40, rows: 100, cols: 100, boxScale: 4 };
  const [b] = decodeTile(out, 0, g, 0.05);
  const d = (x: number) => softplus(x) * 4;
  // centre (42, 42); the box reaches beyond its 4-cell window into the matrix: cut
  assert.deepEqual(b, cellBox(42 - d(0), 42 - d(-1), 42 + d(1), 42 + d(3), sigmoid(2), undefined, true));
  assert.deepEqual(decodeTile(out, 0, { ...g }, sigmoid(2) + 1e-9), []);
  // Property: random logits with many ties, some far below minScore, some boxes clipped empty.
  let seed = 11;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
  const grid = 3;
  const gridCols = 5;
  const area = grid * gridCols;
  const geoms = [
    { grid, gridCols, stride: 4, row: 0, col: 0, rows: 12, cols: 30, tile: 0, boxScale: 4 },
    { grid, gridCols, stride: 4, row: 0, col: 10, rows: 12, cols: 30, tile: 1, boxScale: 4 },
  ];
  const scratch = new Float64Array(DECODE_SCRATCH_PER_LOCATION * geoms.length * area);
  for (let trial = 0; trial < 40; trial++) {
    const o = new Float32Array(geoms.length * 5 * area);
    for (let t = 0; t < geoms.length; t++) {
      for (let i = 0; i < area; i++) {
        o[t * 5 * area + i] = Math.round((rnd() * 12 - 8) * 2) / 2;
        for (let c = 1; c < 5; c++) o[t * 5 * area + c * area + i] = rnd() < 0.15 ? -40 : rnd() * 6 - 3;
      }
    }
    const all: CellBox[] = geoms.flatMap((gg, t) => decodeTile(o, t * 5 * area, gg, 0.05));
    for (const k of [1, 4, 9, all.length, all.length + 2]) {
      const want = [...all].sort((a, c) => c.score - a.score).slice(0, k);
      const got = decodeTopK(o, geoms, 0.05, k, k % 2 ? scratch : undefined);
      assert.deepEqual([...got].sort((a, c) => c.score - a.score), want, `trial ${trial} k ${k}`);
    }
  }
});
