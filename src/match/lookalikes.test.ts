import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveLookAlikes, traceBand, type ClaimedMatrix, type LookAlikeDrop } from './lookalikes.js';
import type { Claim } from './overlaps.js';
import { similarityMatrix } from './similarity.js';
import { syntheticVectors } from '../../test/helpers/vectors.js';

const DIM = 32;
const { randomVector, unit, mix, block } = syntheticVectors(DIM, 7);

/** A static camera: one background, a little motion per frame. */
const staticShot = (background: Float32Array, frames: number) => Array.from({ length: frames }, () => mix(background, randomVector(), 0.35));

function claimsFor(query: Float32Array[], refs: Record<string, Float32Array[]>, segments: Record<string, [number, number, number, number, number]>) {
  const matrices = new Map<string, ClaimedMatrix>();
  for (const [id, frames] of Object.entries(refs)) matrices.set(id, { sim: similarityMatrix(block(query), block(frames), DIM), vectors: block(frames), query: { vectors: block(query), times: query.map((_, i) => i) } });
  const claims: Claim[] = Object.entries(segments).map(([reference, [queryStart, queryEnd, refStart, refEnd, score]]) => ({
    reference,
    segment: { queryStart, queryEnd, refStart, refEnd, score, support: queryEnd - queryStart + 1 },
  }));
  return { claims, matrices: (id: string) => matrices.get(id)! };
}

test('traceBand pairs each query keyframe with its best reference keyframe next to the diagonal', () => {
  const data = new Float32Array(4 * 6);
  data[0 * 6 + 1] = 0.9;
  data[1 * 6 + 3] = 0.8; // diagonal from (0,1) to (3,4): row 1 → column 2, best within one: 3
  data[3 * 6 + 4] = 0.7;
  const { cols, sims } = traceBand({ rows: 4, cols: 6, data }, { queryStart: 0, queryEnd: 3, refStart: 1, refEnd: 4, score: 0.5, support: 4 });
  assert.deepEqual([...cols.entries()], [[0, 1], [1, 3], [2, 2], [3, 4]]);
  assert.ok(Math.abs(sims.get(1)! - 0.8) < 1e-6);
});

test('another take of the same static camera loses to the copied take and is dropped, named with the claim it echoes', () => {
  const background = randomVector();
  const taken = staticShot(background, 20);
  const otherTake = staticShot(background, 20);
  const query = taken.slice(5, 15).map((v) => mix(v, randomVector(), 0.1));
  const { claims, matrices } = claimsFor(query, { taken, otherTake }, { otherTake: [0, 9, 2, 11, 0.8], taken: [0, 9, 5, 14, 0.85] });
  const drops: LookAlikeDrop<string>[] = [];
  const kept = resolveLookAlikes(claims, matrices, DIM, {}, drops);
  assert.deepEqual(kept.map((c) => c.reference), ['taken']);
  assert.deepEqual(drops.map((d) => [d.dropped.reference, d.kept.reference]), [['otherTake', 'taken']]);
});

test('a look-alike take that matches the edited query better frame by frame loses to the take whose motion the query follows', () => {
  // One static camera filmed twice; the second take's light resembles the query's colour edit, so every
  // query keyframe is closer to it than to the take it was copied from. Only the copied take moves as the query does.
  const background = randomVector();
  const light = randomVector();
  const taken = staticShot(background, 20);
  const otherTake = Array.from({ length: 20 }, () => unit(background.map((x, k) => x + 0.15 * randomVector()[k] + 0.6 * light[k])));
  const query = taken.slice(5, 15).map((v) => unit(v.map((x, k) => x + 0.6 * light[k])));
  const { claims, matrices } = claimsFor(query, { taken, otherTake }, { otherTake: [0, 9, 2, 11, 0.8], taken: [0, 9, 5, 14, 0.7] });
  const sims = claims.map((c) => traceBand(matrices(c.reference).sim, c.segment).sims);
  assert.ok([...sims[0].keys()].filter((i) => sims[0].get(i)! > sims[1].get(i)!).length >= 8, 'the other take wins most keyframes');
  const byWins = resolveLookAlikes(claims, matrices, DIM, { motionKeyframes: 0 });
  assert.deepEqual(byWins.map((c) => c.reference), ['otherTake'], 'frame by frame the look-alike is kept');
  const drops: LookAlikeDrop<string>[] = [];
  const kept = resolveLookAlikes(claims, matrices, DIM, {}, drops);
  assert.deepEqual(kept.map((c) => c.reference), ['taken']);
  assert.deepEqual(drops.map((d) => [d.dropped.reference, d.kept.reference, d.by]), [['otherTake', 'taken', 'motion']]);
  assert.ok(drops[0].motion!.kept > drops[0].motion!.dropped + 0.3, JSON.stringify(drops[0].motion));
});

test('looping look-alikes (an animation cycle in both) are left to frame-by-frame wins: a loop repeats its own motion', () => {
  const background = randomVector();
  const light = randomVector();
  const cycle = staticShot(background, 4);
  const taken = Array.from({ length: 20 }, (_, t) => cycle[t % 4]);
  const otherCycle = Array.from({ length: 4 }, () => unit(background.map((x, k) => x + 0.15 * randomVector()[k] + 0.6 * light[k])));
  const otherTake = Array.from({ length: 20 }, (_, t) => otherCycle[t % 4]);
  const query = taken.slice(5, 15).map((v) => unit(v.map((x, k) => x + 0.6 * light[k])));
  const { claims, matrices } = claimsFor(query, { taken, otherTake }, { otherTake: [0, 9, 2, 11, 0.8], taken: [0, 9, 5, 14, 0.7] });
  const drops: LookAlikeDrop<string>[] = [];
  assert.deepEqual(resolveLookAlikes(claims, matrices, DIM, {}, drops).map((c) => c.reference), ['otherTake']);
  assert.deepEqual(drops.map((d) => [d.dropped.reference, d.by, d.motion]), [['taken', 'frames', undefined]]);
  assert.deepEqual(resolveLookAlikes(claims, matrices, DIM, { sameFrame: 1.01 }).map((c) => c.reference), ['taken'], 'with the guard off, motion decides');
});

test('a duplicate file of the source (frame for frame, re-encoded) stays beside it', () => {
  const background = randomVector();
  const source = Array.from({ length: 20 }, () => mix(background, randomVector(), 1)); // a moving scene
  const duplicate = source.map((v) => mix(v, randomVector(), 0.15));
  const query = source.slice(5, 15).map((v) => mix(v, randomVector(), 0.1));
  const { claims, matrices } = claimsFor(query, { source, duplicate }, { source: [0, 9, 5, 14, 0.85], duplicate: [0, 9, 5, 14, 0.8] });
  assert.equal(resolveLookAlikes(claims, matrices, DIM).length, 2);
});

test('a duplicate of a nearly static shot stays too: its frames still find their own counterparts', () => {
  // Neighbouring frames differ little (a talking head, a slow pan): pairs a few frames apart are almost
  // as similar as the aligned ones, but each frame's best match is still its own copy.
  const background = randomVector();
  const source = staticShot(background, 20);
  const duplicate = source.map((v) => mix(v, randomVector(), 0.1));
  const query = source.slice(5, 15).map((v) => mix(v, randomVector(), 0.1));
  const { claims, matrices } = claimsFor(query, { source, duplicate }, { source: [0, 9, 5, 14, 0.85], duplicate: [0, 9, 5, 14, 0.8] });
  assert.equal(resolveLookAlikes(claims, matrices, DIM).length, 2);
});

test('two unrelated sources seen at the same query seconds (an inset over a background) both stay', () => {
  const background = Array.from({ length: 20 }, () => unit(randomVector()));
  const inset = Array.from({ length: 20 }, () => unit(randomVector()));
  // the query frame is mostly the background; the inset's claim is weaker on every keyframe
  const query = background.slice(0, 10).map((v, i) => mix(v, inset[i + 4], 0.6));
  const { claims, matrices } = claimsFor(query, { background, inset }, { background: [0, 9, 0, 9, 0.8], inset: [0, 9, 4, 13, 0.5] });
  const sims = claims.map((c) => traceBand(matrices(c.reference).sim, c.segment).sims);
  assert.ok([...sims[1].keys()].every((i) => sims[1].get(i)! < sims[0].get(i)!), 'the inset claim is dominated');
  assert.equal(resolveLookAlikes(claims, matrices, DIM).length, 2);
});

test('claims on one reference, or without overlap in the query, are left alone', () => {
  const background = randomVector();
  const a = staticShot(background, 20);
  const b = staticShot(background, 20);
  const query = a.slice(0, 12);
  const one = claimsFor(query, { a }, { a: [0, 5, 0, 5, 0.9] });
  assert.equal(resolveLookAlikes(one.claims, one.matrices, DIM).length, 1);
  const apart = claimsFor(query, { a, b }, { a: [0, 5, 0, 5, 0.9], b: [7, 11, 3, 7, 0.8] });
  assert.equal(resolveLookAlikes(apart.claims, apart.matrices, DIM).length, 2);
});
