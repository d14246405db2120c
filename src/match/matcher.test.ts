import assert from 'node:assert/strict';
import { test } from 'node:test';
import { corroborationFor, DEFAULT_MATCH, keyframeSpan, queryReferenceSimilarity } from './matcher.js';

const unit = (...xs: number[]) => {
  const n = Math.hypot(...xs);
  return xs.map((x) => x / n);
};

test('a keyframe with a view matches each reference frame as well as its better picture does', () => {
  // Query keyframes: q0 = [1,0], q1 = [0,1]; q1 also has an inset view [1,0]. Reference frames [1,0], [0.6,0.8].
  const q = new Float32Array([1, 0, 0, 1]);
  const ref = new Float32Array([1, 0, ...unit(0.6, 0.8)]);
  const plain = queryReferenceSimilarity(q, [], ref, 2);
  assert.deepEqual([...plain.data].map((x) => Math.round(x * 100) / 100), [1, 0.6, 0, 0.8]);
  const withView = queryReferenceSimilarity(q, [{ rows: [1], block: new Float32Array([1, 0]) }], ref, 2);
  assert.deepEqual([...withView.data].map((x) => Math.round(x * 100) / 100), [1, 0.6, 1, 0.8]);
  assert.equal(withView.rows, 2);
  assert.equal(withView.cols, 2);
});

test('keyframes first…last cover half an interval on either side, inside the video', () => {
  assert.deepEqual(keyframeSpan(4, 9, 0.5, 30), [3.5, 9.5]);
  assert.deepEqual(keyframeSpan(0, 11, 0.5, 11.26), [0, 11.26]);
  assert.deepEqual(keyframeSpan(2, 2, 0.25, 10), [1.75, 2.25]);
});

test('a claim that matched through the inset view names the inset region; one that matched whole frames does not', async () => {
  const { viewRegion } = await import('./matcher.js');
  const q = new Float32Array([0, 1, 0, 1, 0, 1]); // whole frames: unlike the reference
  const ref = new Float32Array([1, 0, 1, 0, 1, 0]);
  const views = [{ rows: [0, 1, 2], block: new Float32Array([1, 0, 1, 0, 0.8, 0.6]), boxes: [
    { x: 0.5, y: 0.1, w: 0.4, h: 0.4 }, { x: 0.52, y: 0.1, w: 0.4, h: 0.4 }, { x: 0.9, y: 0.9, w: 0.1, h: 0.1 },
  ] }];
  const pairs: [number, number, number][] = [[0, 0, 1], [1, 1, 1], [2, 2, 0.8]];
  assert.deepEqual(viewRegion(pairs, [0, 1, 2], [0, 1, 2], q, views, ref, 2), { x: 0.52, y: 0.1, w: 0.4, h: 0.4 });
  // The whole frames match better: no region.
  assert.equal(viewRegion(pairs, [0, 1, 2], [0, 1, 2], ref, views, ref, 2), undefined);
  // Views win in fewer than half of the pairs: no region.
  assert.equal(viewRegion(pairs, [0, 1, 2], [0, 1, 2], q, [{ ...views[0], rows: [0], block: new Float32Array([1, 0]) }], ref, 2), undefined);
});

test('the grey zone is confirmed only at the tuned threshold: an explicit threshold is a hard cut', () => {
  assert.deepEqual(corroborationFor(DEFAULT_MATCH), {});
  assert.deepEqual(corroborationFor({ threshold: undefined, corroboration: { floor: 0.1 } }), { floor: 0.1 });
  assert.equal(corroborationFor({ threshold: 0.3, corroboration: {} }), false);
  assert.equal(corroborationFor({ threshold: undefined, corroboration: false }), false);
});
