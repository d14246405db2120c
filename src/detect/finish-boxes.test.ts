import assert from 'node:assert/strict';
import test from 'node:test';
import type { CellBox } from './boxes.js';
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
