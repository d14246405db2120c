import assert from 'node:assert/strict';
import { test } from 'node:test';
import { voteCandidates } from '../../src/match/candidates.js';

test('each query keyframe votes once per video with its best similarity above the floor', () => {
  const owner = (id: number) => (id < 10 ? 'a' : id < 20 ? 'b' : undefined);
  const neighbours = [
    [{ id: 1, score: 0.9 }, { id: 2, score: 0.8 }, { id: 11, score: 0.6 }],
    [{ id: 3, score: 0.7 }, { id: 12, score: 0.65 }, { id: 25, score: 0.99 }],
    [{ id: 13, score: 0.4 }],
  ];
  const votes = voteCandidates(neighbours, owner, 0.5, 5);
  assert.deepEqual(
    votes.map((v) => ({ ...v, votes: Math.round(v.votes * 100) / 100 })),
    [
      { videoId: 'a', votes: 0.6, hits: 2 },
      { videoId: 'b', votes: 0.25, hits: 2 },
    ],
  );
  assert.equal(voteCandidates(neighbours, owner, 0.5, 1).length, 1);
});

test('partial overrides with undefined values keep the defaults', async () => {
  const { definedOnly, temporalNetworkAligner } = await import('../../src/match/matcher.js');
  assert.deepEqual(definedOnly({ a: 1, b: undefined }), { a: 1 });
  const tn = temporalNetworkAligner({ minSimilarity: undefined }, undefined);
  assert.equal(tn.threshold, 0.75);
  const data = new Float32Array(100).fill(0.1);
  for (let k = 0; k < 5; k++) data[k * 10 + k] = 0.9;
  const segs = await tn.align({ rows: 10, cols: 10, data });
  assert.equal(segs.length, 1);
});
