import assert from 'node:assert/strict';
import { test } from 'node:test';
import { detectCuts, lumaDifference, snapToCuts } from './cuts.js';

test('lumaDifference is the mean absolute difference scaled to 0..1', () => {
  assert.equal(lumaDifference(new Uint8Array([0, 0, 0, 0]), new Uint8Array([255, 255, 0, 0])), 0.5);
  assert.equal(lumaDifference(new Uint8Array([10, 20]), new Uint8Array([10, 20])), 0);
  assert.throws(() => lumaDifference(new Uint8Array(2), new Uint8Array(3)), RangeError);
});

const times = (n: number, fps = 25) => Array.from({ length: n }, (_, i) => i / fps);

test('a single large jump among small motion differences is a cut; its time is the first frame of the new shot', () => {
  const d = Array.from({ length: 50 }, (_, n) => (n === 0 ? 0 : 0.01 + 0.005 * Math.sin(n)));
  d[20] = 0.3;
  assert.deepEqual(detectCuts(d, times(50)), [20 / 25]);
});

test('steady fast motion and the steps of low-frame-rate footage are not cuts', () => {
  const motion = Array.from({ length: 40 }, () => 0.12);
  assert.deepEqual(detectCuts(motion, times(40)), []);
  // 5 fps footage at 25 fps: every fifth difference is a step, the rest are exact repeats.
  const steps = Array.from({ length: 40 }, (_, n) => (n % 5 === 0 ? 0.09 : 0));
  assert.deepEqual(detectCuts(steps, times(40)), []);
});

test('a jump below the absolute floor is not a cut, however calm its surroundings', () => {
  const d = Array.from({ length: 30 }, () => 0.001);
  d[10] = 0.04;
  assert.deepEqual(detectCuts(d, times(30)), []);
  d[10] = 0.06;
  assert.deepEqual(detectCuts(d, times(30)), [10 / 25]);
});

test('two cuts a second apart are both found', () => {
  const d = Array.from({ length: 60 }, () => 0.01);
  d[15] = 0.25;
  d[40] = 0.2;
  assert.deepEqual(detectCuts(d, times(60)), [15 / 25, 40 / 25]);
});

const limits = { queryDuration: 30, referenceDuration: 60 };
const tol = { inward: 0.55, outward: 0.55 };

test('ends move outward and inward by their own tolerances', () => {
  const span = { query: [5, 12] as [number, number], reference: [20, 27] as [number, number] };
  const narrowIn = { inward: 0.2, outward: 0.55 };
  assert.deepEqual(snapToCuts(span, [5.3, 11.7], narrowIn, limits).query, [5, 12], 'both cuts lie too far inside');
  assert.deepEqual(snapToCuts(span, [4.6, 12.5], narrowIn, limits).query, [4.6, 12.5], 'outward cuts are taken');
  assert.deepEqual(snapToCuts(span, [5.15, 11.85], narrowIn, limits).query, [5.15, 11.85]);
});

test('both ends move to cuts within the tolerance; the reference moves by the same amount at slope 1', () => {
  const s = snapToCuts({ query: [5, 12], reference: [20, 27] }, [1.0, 4.6, 12.4, 20], tol, limits);
  assert.deepEqual(s.query, [4.6, 12.4]);
  assert.ok(Math.abs(s.reference[0] - 19.6) < 1e-9 && Math.abs(s.reference[1] - 27.4) < 1e-9);
});

test('an end with no cut nearby stays; the nearest cut wins', () => {
  const s = snapToCuts({ query: [5, 12], reference: [20, 27] }, [5.3, 5.5, 13.2], tol, limits);
  assert.deepEqual(s.query, [5.3, 12]);
  assert.deepEqual(s.reference.map((x) => Math.round(x * 1e9) / 1e9), [20.3, 27]);
});

test('the reference end moves along the segment slope (a copy played at another speed)', () => {
  // 10 s of query cover 20 s of reference (2× speed).
  const s = snapToCuts({ query: [10, 20], reference: [0, 20] }, [10.4], { inward: 1, outward: 1 }, limits);
  assert.deepEqual(s.query, [10.4, 20]);
  assert.ok(Math.abs(s.reference[0] - 0.8) < 1e-9);
});

test('the reference end never moves further than the tolerance allows, whatever the slope', () => {
  // A static scene makes a steep, meaningless slope (14 s of reference for 8.5 s of query).
  const s = snapToCuts({ query: [2.5, 11], reference: [10.5, 24.5] }, [3], { inward: 0.5, outward: 0.55 }, limits);
  assert.deepEqual(s.query, [3, 11]);
  assert.equal(s.reference[0], 11);
});

test('snapped ends stay inside both videos', () => {
  const s = snapToCuts({ query: [0.3, 29.8], reference: [0.2, 59.7] }, [0, 30.2], tol, limits);
  assert.deepEqual(s.query, [0, 30]);
  assert.equal(s.reference[0], 0);
  assert.equal(s.reference[1], 60);
});
