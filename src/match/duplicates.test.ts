import assert from 'node:assert/strict';
import { test } from 'node:test';
import { carryToDuplicates, linkFrames } from './duplicates.js';
import type { ClaimedMatrix } from './lookalikes.js';
import type { Claim } from './overlaps.js';
import { bestMatch, bestMatches, similarityMatrix } from './similarity.js';
import { syntheticVectors } from '../../test/helpers/vectors.js';

const DIM = 32;
const { randomVector, unit, mix, block } = syntheticVectors(DIM, 11);

// Reference A: 12 distinct frames. B: A re-encoded (noisy) and trimmed by 2 frames at the start. C: a look-alike,
// A's shots in another order (one set filmed at other times: as alike, no frame-to-frame correspondence).
// D: unrelated footage.
const noisy = (v: Float32Array, w: number) => mix(v, unit(randomVector()), w);
const a = Array.from({ length: 12 }, () => unit(randomVector()));
const b = a.slice(2).map((v) => noisy(v, 0.4));
const c = [7, 2, 10, 0, 5, 11, 3, 9, 1, 6, 4, 8].map((k) => noisy(a[k], 0.4));
const d = Array.from({ length: 10 }, () => unit(randomVector()));
const refs: Record<string, Float32Array[]> = { a, b, c, d };
// The query copies A's frames 3..9 (mildly distorted).
const query = [...Array.from({ length: 3 }, () => unit(randomVector())), ...a.slice(3, 10).map((v) => noisy(v, 0.3))];
const matrices = new Map<string, ClaimedMatrix>(Object.entries(refs).map(([id, frames]) => [id, { sim: similarityMatrix(block(query), block(frames), DIM), vectors: block(frames) }]));
const claimed = (id: string) => matrices.get(id)!;
const claimOnA: Claim = { reference: 'a', segment: { queryStart: 3, queryEnd: 9, refStart: 3, refEnd: 9, score: 0.8, support: 7 } };

test('linkFrames: a trimmed re-encode is locked at its offset with high similarity; look-alike and unrelated footage are not both', () => {
  const frames = [3, 4, 5, 6, 7, 8, 9];
  const dup = linkFrames(block(a), block(b), frames, DIM);
  assert.equal(dup.offset, -2);
  assert.equal(dup.locked, 1);
  assert.ok(dup.similarity > 0.8, String(dup.similarity));
  const lookAlike = linkFrames(block(a), block(c), frames, DIM);
  const unrelated = linkFrames(block(a), block(d), frames, DIM);
  for (const [name, l] of [['look-alike', lookAlike], ['unrelated', unrelated]] as const) {
    assert.ok(!(l.similarity >= 0.5 && l.locked >= 0.8), `${name}: ${JSON.stringify(l)}`);
  }
});

test('carryToDuplicates: the claim reaches the duplicate (shifted by its offset, score x similarity), not the look-alike or unrelated footage', () => {
  const out = carryToDuplicates([claimOnA], ['a', 'b', 'c', 'd'], claimed, DIM);
  assert.equal(out.length, 2, JSON.stringify(out));
  assert.equal(out[0], claimOnA);
  const carried = out[1];
  assert.equal(carried.reference, 'b');
  assert.equal(carried.duplicateOf, 'a');
  assert.deepEqual([carried.segment.queryStart, carried.segment.queryEnd, carried.segment.refStart, carried.segment.refEnd], [3, 9, 1, 7]);
  assert.ok(carried.segment.score < claimOnA.segment.score && carried.segment.score > 0.8 * 0.8, String(carried.segment.score));
  // A claim kept on a witness's word carries over without it: the witness traced A's matrix, not B's.
  const witnessed: Claim = { ...claimOnA, segment: { ...claimOnA.segment, score: 0.15, corroboration: { score: 0.55, queryStart: 3, queryEnd: 9, refStart: 3, refEnd: 9 } } };
  const [, again] = carryToDuplicates([witnessed], ['a', 'b'], claimed, DIM);
  assert.equal(again.duplicateOf, 'a');
  assert.equal('corroboration' in again.segment, false);
});

test('carryToDuplicates: nothing is carried where the duplicate has its own claim, for too short a claim, or when turned off by thresholds', () => {
  const own: Claim = { reference: 'b', segment: { queryStart: 4, queryEnd: 9, refStart: 2, refEnd: 7, score: 0.6, support: 6 } };
  assert.deepEqual(carryToDuplicates([claimOnA, own], ['a', 'b', 'c', 'd'], claimed, DIM), [claimOnA, own]);
  const short: Claim = { reference: 'a', segment: { queryStart: 3, queryEnd: 4, refStart: 3, refEnd: 4, score: 0.8, support: 2 } };
  assert.deepEqual(carryToDuplicates([short], ['a', 'b'], claimed, DIM), [short]);
  assert.deepEqual(carryToDuplicates([claimOnA], ['a', 'b'], claimed, DIM, { minSimilarity: 1.01 }), [claimOnA]);
});

test('linkFrames with minLocked: the same verdict, stopped early on unrelated footage; bestMatches equals bestMatch row by row', () => {
  const long = Array.from({ length: 300 }, () => unit(randomVector()));
  const twin = long.slice(5).map((v) => noisy(v, 0.3));
  const other = Array.from({ length: 290 }, () => unit(randomVector()));
  const frames = Array.from({ length: 120 }, (_, k) => 40 + k);
  for (const [name, target] of [['twin', twin], ['unrelated', other]] as const) {
    const full = linkFrames(block(long), block(target), frames, DIM);
    const early = linkFrames(block(long), block(target), frames, DIM, 0.8);
    assert.equal(full.locked >= 0.8, early.locked >= 0.8, name);
    if (!early.stopped) assert.deepEqual(early, full, name);
  }
  const stopped = linkFrames(block(long), block(other), frames, DIM, 0.8);
  assert.ok(stopped.stopped && stopped.locked < 0.8, 'unrelated footage: stopped before the last frame');
  assert.deepEqual(linkFrames(block(long), block(twin), frames, DIM, 0.8).offset, -5);
  const rows = [0, 7, 7, 299, 150];
  const many = bestMatches(block(long), rows, block(other), DIM);
  rows.forEach((r, k) => assert.deepEqual({ index: many.index[k], similarity: many.similarity[k] }, bestMatch(block(long), r, block(other), DIM)));
});
