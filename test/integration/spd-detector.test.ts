import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { copyWindow } from '../../src/detect/channels.js';
import { inputPad, leanMaxPad, loadSpdMeta } from '../../src/detect/meta.js';
import { createSpdDetector, type SpdDetector } from '../../src/detect/spd-detector.js';
import { createOnnxSession, floatTensor } from '../../src/embed/onnx.js';
import { InvalidArgumentError, ModelMissingError } from '../../src/errors.js';
import type { Matrix } from '../../src/match/similarity.js';
import type { FrameSegment } from '../../src/match/temporal-network.js';
import { pairSegments, temporalNetworkAligner } from '../../src/match/matcher.js';

/**
 * The shipped detector (models/spd-detector, ONNX through onnxruntime-node, run on the whole
 * matrix) on synthetic matrices shaped like real ones: unrelated frames at 0.1-0.5 with per-row /
 * per-column structure (as MobileNetV2 similarities of unrelated footage), copies as a bright
 * diagonal band.
 */
let detector: SpdDetector;

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function noise(rows: number, cols: number, seed: number): Matrix {
  const r = rng(seed);
  const rowBias = Array.from({ length: rows }, () => 0.12 * r());
  const colBias = Array.from({ length: cols }, () => 0.12 * r());
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = 0.18 + rowBias[i] + colBias[j] + 0.1 * r();
  return { rows, cols, data };
}

/** A copy: query frames q0..q0+len-1 show reference frames r0.. at `speed` reference frames per query frame. */
function addBand(m: Matrix, q0: number, r0: number, len: number, seed: number, speed = 1): void {
  const r = rng(seed);
  for (let k = 0; k < len; k++) {
    const i = q0 + k;
    const c = r0 + k * speed;
    for (let j = Math.floor(c) - 2; j <= Math.ceil(c) + 2; j++) {
      if (j < 0 || j >= m.cols) continue;
      const d = Math.abs(j - c);
      const v = d < 0.5 ? 0.86 + 0.08 * r() : d < 1.5 ? 0.68 + 0.08 * r() : 0.5 + 0.05 * r();
      m.data[i * m.cols + j] = Math.max(m.data[i * m.cols + j], v);
    }
  }
}

const above = (segs: FrameSegment[]) => segs.filter((s) => s.score >= detector.threshold);

function near(s: FrameSegment, want: [number, number, number, number], tol = 2): boolean {
  return (
    Math.abs(s.queryStart - want[0]) <= tol && Math.abs(s.queryEnd - want[1]) <= tol && Math.abs(s.refStart - want[2]) <= tol && Math.abs(s.refEnd - want[3]) <= tol
  );
}

before(async () => {
  detector = await createSpdDetector(loadConfig().modelsDir);
});
after(() => detector?.close());

test('a bright diagonal band in noise gives one box at the right place, score in 0..1', async () => {
  const m = noise(40, 60, 1);
  addBand(m, 10, 25, 15, 2);
  const segs = above(await detector.align(m));
  assert.equal(segs.length, 1, JSON.stringify(segs));
  assert.ok(near(segs[0], [10, 24, 25, 39]), JSON.stringify(segs[0]));
  assert.ok(segs[0].score > 0 && segs[0].score <= 1);
  assert.ok(detector.threshold > 0 && detector.threshold < 1);
});

test('two bands give two boxes', async () => {
  const m = noise(50, 50, 3);
  addBand(m, 3, 30, 12, 4);
  addBand(m, 28, 5, 14, 5);
  const segs = above(await detector.align(m)).sort((a, b) => a.queryStart - b.queryStart);
  assert.equal(segs.length, 2, JSON.stringify(segs));
  assert.ok(near(segs[0], [3, 14, 30, 41]), JSON.stringify(segs[0]));
  assert.ok(near(segs[1], [28, 41, 5, 18]), JSON.stringify(segs[1]));
});

test('pure noise gives no box above the threshold', async () => {
  for (const [rows, cols, seed] of [[20, 30, 6], [40, 60, 7], [64, 64, 8], [15, 8, 9]]) {
    const segs = above(await detector.align(noise(rows, cols, seed)));
    assert.deepEqual(segs, [], `${rows}x${cols}: ${JSON.stringify(segs)}`);
  }
});

test('a short faint copy scored just below the threshold is claimed when the temporal network traces the same band, and only then', async () => {
  // As the library pairs them: the temporal network (vote floor 0.35) witnesses the detector's grey zone.
  const tn = temporalNetworkAligner({ minSimilarity: 0.35 }, 0.45);
  const corroboration = { floor: 0.12, minCover: 0.5, witnessThreshold: 0.48 };
  for (const seed of [1, 2, 3]) {
    // A 5-s copy whose frames match at 0.55-0.6 only (a heavy edit), with nothing brighter around it.
    const m = noise(40, 60, seed);
    const r = rng(seed + 10);
    for (let k = 0; k < 5; k++) m.data[(12 + k) * m.cols + 30 + k] = 0.55 + 0.05 * r();
    const onBand = (s: FrameSegment) => s.queryStart <= 14 && s.queryEnd >= 14 && s.refStart <= 32 && s.refEnd >= 32;
    const segments = await detector.align(m);
    assert.deepEqual(above(segments), [], `seed ${seed}: the detector alone claims nothing`);
    const grey = segments.filter((s) => s.score >= corroboration.floor && onBand(s));
    assert.equal(grey.length, 1, `seed ${seed}: one grey box on the band: ${JSON.stringify(segments)}`);
    const passed = await pairSegments(m, detector, detector.threshold, tn, corroboration);
    assert.deepEqual(
      passed.map(({ corroboration: _, ...s }) => s),
      grey,
      `seed ${seed}`,
    );
    assert.ok(passed[0].corroboration && passed[0].corroboration.score >= 0.48, `seed ${seed}: the witness segment is named`);
    assert.deepEqual(await pairSegments(m, detector, detector.threshold, tn, false), [], 'corroboration off');
    assert.deepEqual(await pairSegments(m, detector, detector.threshold, tn, { ...corroboration, witnessThreshold: 0.7 }), [], 'no witness segment that strong');
  }
});

test('a 120x600 matrix (2-min query, 10-min reference) is one input window: boxes in global coordinates, clipped', async () => {
  const m = noise(120, 600, 10);
  // A 20-s copy far from the origin and a 40-s copy: each seen whole by the network.
  addBand(m, 70, 318, 20, 11);
  addBand(m, 5, 100, 40, 12);
  const all = await detector.align(m);
  for (const s of all) {
    assert.ok(s.queryStart >= 0 && s.queryEnd < 120 && s.refStart >= 0 && s.refEnd < 600 && s.queryStart <= s.queryEnd && s.refStart <= s.refEnd);
  }
  const segs = above(all).sort((a, b) => a.queryStart - b.queryStart);
  assert.equal(segs.length, 2, JSON.stringify(segs));
  assert.ok(near(segs[0], [5, 44, 100, 139]), JSON.stringify(segs[0]));
  assert.ok(near(segs[1], [70, 89, 318, 337]), JSON.stringify(segs[1]));
});

test('matrices above maxCells go through large overlapping windows; a band cut by window borders is fused back', async () => {
  const m = noise(120, 600, 13);
  addBand(m, 70, 318, 20, 14);
  addBand(m, 5, 100, 40, 15);
  const windowed = await createSpdDetector(loadConfig().modelsDir, 2, { maxCells: 120 * 600 - 1, tile: 64, tileStride: 48 });
  try {
    const segs = above(await windowed.align(m)).sort((a, b) => a.queryStart - b.queryStart);
    // The 40-s copy crosses window borders (rows 48 / 56, columns 96 / 144): every reported piece
    // lies on it and together they cover most of it; the 20-s copy is found once.
    const long = segs.filter((s) => s.queryStart < 60);
    const short = segs.filter((s) => s.queryStart >= 60);
    assert.equal(short.length, 1, JSON.stringify(segs));
    assert.ok(near(short[0], [70, 89, 318, 337], 3), JSON.stringify(short[0]));
    assert.ok(long.length >= 1, JSON.stringify(segs));
    const covered = new Set<number>();
    for (const s of long) {
      assert.ok(s.queryStart >= 1 && s.queryEnd <= 48 && s.refStart >= 96 && s.refEnd <= 143, JSON.stringify(s));
      for (let i = s.queryStart; i <= s.queryEnd; i++) if (i >= 5 && i < 45) covered.add(i);
    }
    assert.ok(covered.size >= 32, `query frames of the 40-s copy covered: ${covered.size}`);
  } finally {
    await windowed.close();
  }
});

test('empty matrices give no segments; a missing model is ModelMissingError; a format-1 (64x64 tiles) meta is refused with a clear message', async () => {
  assert.deepEqual(await detector.align({ rows: 0, cols: 10, data: new Float32Array(0) }), []);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vidtrace-spd-'));
  try {
    await assert.rejects(createSpdDetector(dir), ModelMissingError);
    mkdirSync(path.join(dir, 'spd-detector'));
    const shipped = path.join(loadConfig().modelsDir, 'spd-detector');
    cpSync(path.join(shipped, 'model.onnx'), path.join(dir, 'spd-detector', 'model.onnx'));
    const meta = JSON.parse(readFileSync(path.join(shipped, 'meta.json'), 'utf8'));
    writeFileSync(path.join(dir, 'spd-detector', 'meta.json'), JSON.stringify({ ...meta, version: 1, tile: 64 }));
    await assert.rejects(createSpdDetector(dir), (e: unknown) => e instanceof InvalidArgumentError && /version 1 .*64×64 tiles.*whole matrices.*train\.sh/.test((e as Error).message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the fast inference path returns exactly the boxes of the plain one (spd-reference.ts), whole and in fallback windows', async () => {
  const modelsDir = loadConfig().modelsDir;
  const reference = await createSpdDetector(modelsDir, 2, {}, { reference: true });
  // Fallback windows forced (maxCells 0), batch 3: several onnxruntime calls per matrix, the shared
  // buffers reused across and within calls; against the plain path with the same windows.
  const windows = { maxCells: 0, tile: 64, tileStride: 40, batch: 3 };
  const chunked = await createSpdDetector(modelsDir, 2, windows);
  const chunkedRef = await createSpdDetector(modelsDir, 2, windows, { reference: true });
  // Small matrices seen at twice their resolution (upsample.ts): 4096 cells upsamples four of the cases.
  const upsampled = await createSpdDetector(modelsDir, 2, { upsampleMaxCells: 4096 });
  const upsampledRef = await createSpdDetector(modelsDir, 2, { upsampleMaxCells: 4096 }, { reference: true });
  try {
    const cases: Matrix[] = [noise(120, 600, 21), noise(40, 60, 22), noise(15, 8, 23), noise(64, 64, 24), noise(1, 200, 25), noise(130, 70, 26)];
    addBand(cases[0], 70, 318, 20, 27);
    addBand(cases[0], 5, 100, 40, 28);
    addBand(cases[1], 10, 25, 15, 29);
    addBand(cases[5], 60, 3, 50, 30, 1.2);
    const banded = new Set([cases[0], cases[1], cases[5]]);
    let compared = 0;
    for (const m of cases) {
      const want = await reference.detect(m);
      // Raw boxes (no threshold): a copy gives some; so does noise, except where it is too thin to hold a band (1 x 200).
      if (banded.has(m)) assert.ok(want.length > 0, `${m.rows}x${m.cols}: no box`);
      compared += want.length;
      assert.deepEqual(await detector.detect(m), want, `${m.rows}x${m.cols}`);
      assert.deepEqual(await chunked.detect(m), await chunkedRef.detect(m), `windows ${m.rows}x${m.cols}`);
      const up = await upsampledRef.detect(m);
      if (banded.has(m)) assert.ok(up.length > 0, `upsampled ${m.rows}x${m.cols}: no box`);
      for (const b of up) assert.ok(b.q0 >= 0 && b.q1 <= m.rows && b.r0 >= 0 && b.r1 <= m.cols, `upsampled box outside ${m.rows}x${m.cols}: ${JSON.stringify(b)}`);
      assert.deepEqual(await upsampled.detect(m), up, `upsampled ${m.rows}x${m.cols}`);
    }
    assert.ok(compared >= 8, `boxes compared: ${compared}`);
    // concurrent calls on one detector: the busy buffers are not shared
    for (const d of [detector, chunked]) {
      const ref = d === detector ? reference : chunkedRef;
      const got = await Promise.all(cases.map((m) => d.detect(m)));
      for (const [k, m] of cases.entries()) assert.deepEqual(got[k], await ref.detect(m), `concurrent ${m.rows}x${m.cols}`);
    }
  } finally {
    await reference.close();
    await chunked.close();
    await chunkedRef.close();
    await upsampled.close();
    await upsampledRef.close();
  }
});

test('two copies of one short reference closer than one output stride: the upsampled small matrix gives both boxes', async () => {
  // At the network's stride (8 cells) both copies' centres share an output location, so the whole-resolution
  // detector reports one of them (src/detect/upsample.ts); 2x upsampling halves the stride.
  const modelsDir = loadConfig().modelsDir;
  const upsampled = await createSpdDetector(modelsDir, 2, { upsampleMaxCells: 4096 });
  try {
    for (const [first, second, rows, cols, len] of [[2, 9, 18, 6, 6], [3, 10, 20, 5, 5]]) {
      for (const seed of [1, 2, 3]) {
        const m = noise(rows, cols, seed * 10);
        addBand(m, first, 0, len, seed);
        addBand(m, second, 0, len, seed + 5);
        const segs = (await upsampled.align(m)).filter((s) => s.score >= upsampled.threshold).sort((a, b) => a.queryStart - b.queryStart);
        const where = `${rows}x${cols} seed ${seed}: ${JSON.stringify(segs)}`;
        assert.equal(segs.length, 2, where);
        assert.ok(near(segs[0], [first, first + len - 1, 0, len - 1], 1), where);
        assert.ok(near(segs[1], [second, second + len - 1, 0, len - 1], 1), where);
      }
    }
  } finally {
    await upsampled.close();
  }
});

test('lean graph (input.lean): the padding value below leanMaxPad and the valid sizes do not change its output; a lean meta with a higher pad is refused', async () => {
  const { meta, modelPath } = loadSpdMeta(loadConfig().modelsDir);
  assert.equal(meta.input.lean, true, 'the shipped detector is lean (scripts/detector/lean_channels.py)');
  const session = await createOnnxSession(modelPath, 1);
  try {
    const run = async (m: Matrix, pad: number, valid: [number, number]) => {
      const h = Math.ceil(m.rows / meta.stride) * meta.stride;
      const w = Math.ceil(m.cols / meta.stride) * meta.stride;
      const input = new Float32Array(h * w);
      copyWindow(m, 0, 0, h, w, input, 0, pad);
      const out = await session.run({ [meta.input.name]: floatTensor(input, [1, 1, h, w]), [meta.input.valid]: floatTensor(Float32Array.from(valid), [1, 2]) });
      return Array.from(out[meta.output.name].data as Float32Array);
    };
    const m = noise(61, 203, 17);
    addBand(m, 10, 40, 30, 18);
    const shipped = await run(m, inputPad(meta), [m.rows, m.cols]);
    assert.ok(shipped.every(Number.isFinite));
    assert.deepEqual(await run(m, leanMaxPad(meta.channelParams) - 1e6, [m.rows, m.cols]), shipped, 'any padding far below the similarities');
    assert.deepEqual(await run(m, leanMaxPad(meta.channelParams), [m.rows, m.cols]), shipped, 'the highest padding the contract allows');
    assert.deepEqual(await run(m, inputPad(meta), [1, 1]), shipped, 'the mask comes from the padding, not from valid');
    // A constant matrix (sd at its floor) with padding: finite outputs.
    const flat = { rows: 13, cols: 37, data: new Float32Array(13 * 37).fill(0.3) };
    assert.ok((await run(flat, inputPad(meta), [13, 37])).every(Number.isFinite));
  } finally {
    await session.release();
  }
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vidtrace-spd-'));
  try {
    mkdirSync(path.join(dir, 'spd-detector'));
    const shippedDir = path.join(loadConfig().modelsDir, 'spd-detector');
    cpSync(path.join(shippedDir, 'model.onnx'), path.join(dir, 'spd-detector', 'model.onnx'));
    writeFileSync(path.join(dir, 'spd-detector', 'meta.json'), JSON.stringify({ ...meta, input: { ...meta.input, pad: -2 } }));
    await assert.rejects(createSpdDetector(dir), (e: unknown) => e instanceof InvalidArgumentError && /lean graph.*input\.pad -2.*-5/.test((e as Error).message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
