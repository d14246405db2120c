import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boxEvidence, evidenceWithin } from '../../src/match/evidence.js';

test('evidence lists the best reference frame of each query frame inside the box', () => {
  // 3 query frames × 4 reference frames.
  const data = new Float32Array([0.1, 0.9, 0.2, 0.3, 0.2, 0.1, 0.8, 0.95, 0.5, 0.4, 0.3, 0.7]);
  const e = boxEvidence({ rows: 3, cols: 4, data }, { queryStart: 0, queryEnd: 1, refStart: 1, refEnd: 2, score: 0.8, support: 2 }, [0, 1, 2], [10, 11, 12, 13]);
  assert.deepEqual(e.pairs, [
    [0, 11, 0.9],
    [1, 12, 0.8],
  ]);
  assert.equal(e.meanSimilarity, 0.85);
});

test('evidence of a snapped segment keeps only the pairs inside its new spans', () => {
  const evidence = { pairs: [[4, 20, 0.6], [5, 21, 0.8], [6, 22, 0.7], [7, 23, 0.5]] as [number, number, number][], meanSimilarity: 0.65 };
  const unchanged = evidenceWithin(evidence, { query: [3.5, 7.5], reference: [19.5, 23.5] });
  assert.equal(unchanged, evidence);
  const moved = evidenceWithin(evidence, { query: [4.4, 7.5], reference: [19.5, 22.9] });
  assert.deepEqual(moved.pairs, [[5, 21, 0.8], [6, 22, 0.7]]);
  assert.equal(moved.meanSimilarity, 0.75);
});
