import assert from 'node:assert/strict';
import test from 'node:test';
import { toFrameSegments, type CellBox } from './boxes.js';
import { DEFAULT_INFERENCE } from './meta.js';
import { finishBoxes } from './spd-reference.js';

/**
 * A 60×200 matrix: unrelated footage at 0.1, a short real copy (a bright diagonal at 0.9) at
 * query 40-47 × reference 150-157, and five separate static blocks at 0.3 (not copies). The
 * detector is confident on the blocks (raw 0.95) and less on the copy (raw 0.6).
 */
function scene(): { sim: { rows: number; cols: number; data: Float32Array }; boxes: CellBox[] } {
  const rows = 60;
  const cols = 200;
  const data = new Float32Array(rows * cols).fill(0.1);
  const boxes: CellBox[] = [];
  for (let k = 0; k < 5; k++) {
    const r0 = 5 + 28 * k;
    for (let i = 0; i < 20; i++) for (let j = r0; j < r0 + 20; j++) data[i * cols + j] = 0.3;
    boxes.push({ q0: 0, q1: 20, r0, r1: r0 + 20, score: 0.95 - 0.01 * k });
  }
  for (let i = 0; i < 8; i++) data[(40 + i) * cols + 150 + i] = 0.9;
  boxes.push({ q0: 40, q1: 48, r0: 150, r1: 158, score: 0.6 });
  return { sim: { rows, cols, data }, boxes };
}

const calibration = { kind: 'platt' as const, a: 0.3, b: -4.6, c: 6.3 };
const options = { ...DEFAULT_INFERENCE, maxSegments: 5, refineMargin: 0 };

test('finishBoxes: ranked by raw score, five confident static blocks push the real copy out', () => {
  const { sim, boxes } = scene();
  const out = finishBoxes(sim, boxes, { ...options, rankCalibrated: false }, calibration);
  assert.equal(out.length, 5);
  assert.ok(out.every((b) => b.q0 === 0));
});

test('finishBoxes: ranked by calibrated score on the diagonal, the real copy is kept and comes first', () => {
  const { sim, boxes } = scene();
  const out = finishBoxes(sim, boxes, { ...options, rankCalibrated: true }, calibration);
  assert.equal(out.length, 5);
  assert.deepEqual([out[0].q0, out[0].q1, out[0].r0, out[0].r1], [40, 48, 150, 158]);
  assert.ok(out[0].score > 0.5 && out.slice(1).every((b) => b.score < 0.2), JSON.stringify(out.map((b) => b.score)));
});

test('finishBoxes with repeats: a second copy next to a detected box is added where no box lies, its score capped at that box\'s', () => {
  // A faint copy (0.55) at query 10-17 × reference 20-27, detected; the same footage copied again, brighter
  // (0.6), at query 20-25 × reference 20-25, not detected (closer than the output stride; inside the
  // box widened by the refinement margin of 8 keyframes).
  const rows = 40;
  const cols = 60;
  const data = new Float32Array(rows * cols).fill(0.1);
  for (let k = 0; k < 8; k++) data[(10 + k) * cols + 20 + k] = 0.55;
  for (let k = 0; k < 6; k++) data[(20 + k) * cols + 20 + k] = 0.6;
  const sim = { rows, cols, data };
  const box: CellBox = { q0: 10, q1: 18, r0: 20, r1: 28, score: 0.5 };
  const refined = { ...options, refineMargin: 8, refineMinSimilarity: 0.35, refinePaths: 3 };
  const plain = finishBoxes(sim, [box], { ...refined, refineRepeatMargin: -1 }, calibration);
  assert.deepEqual(plain.map((b) => [b.q0, b.q1, b.r0, b.r1]), [[10, 18, 20, 28]]);
  const out = finishBoxes(sim, [box], { ...refined, refineRepeatMargin: 0.1 }, calibration);
  assert.deepEqual(out.map((b) => [b.q0, b.q1, b.r0, b.r1]), [[10, 18, 20, 28], [20, 26, 20, 26]]);
  assert.equal(out[0].score, plain[0].score, 'the detected box is untouched');
  assert.equal(out[1].score, out[0].score, 'the brighter repeat is capped at the score of the box it was found next to');
  assert.ok(out[1].diag! > out[0].diag!);
  assert.equal(out[1].repeatOf, out[0], 'the repeat points to the box it was found next to');
  assert.equal(out[0].repeatOf, undefined);
  const segments = toFrameSegments(out, rows, cols);
  assert.equal(segments[1].repeatOf, segments[0], 'and so does its frame segment');
  assert.equal(segments[0].repeatOf, undefined);
});
