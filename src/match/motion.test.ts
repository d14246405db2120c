import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bandMotion, motionAgreement, repeatsItself, timeMotion } from './motion.js';
import { syntheticVectors } from '../../test/helpers/vectors.js';

const DIM = 3;

test('motion agreement correlates the centred query keyframes with the centred paired reference keyframes', () => {
  // Hand-computed: query q0 = (1,0,0), q1 = (0,1,0): mean (0.5,0.5,0), centred (0.5,-0.5,0), (-0.5,0.5,0).
  // Reference r0 = (1,0,0), r1 = (0,0,1), r2 = (0,1,0). Pairs q0→r0, q1→r2: centred alike, Σ = 0.5 + 0.5 = 1,
  // spreads 1 and 1 → 1.
  const q = new Float32Array([1, 0, 0, 0, 1, 0]);
  const ref = new Float32Array([1, 0, 0, 0, 0, 1, 0, 1, 0]);
  assert.ok(Math.abs(motionAgreement(q, [0, 1], ref, [0, 2], DIM) - 1) < 1e-6);
  // Paired the other way round (q0→r2, q1→r0) the reference moves against the query: −1.
  assert.ok(Math.abs(motionAgreement(q, [0, 1], ref, [2, 0], DIM) + 1) < 1e-6);
  // q0→r1, q1→r2: centred r (0,-0.5,0.5), (0,0.5,-0.5); Σ = 0.25 + 0.25 = 0.5; spreads 1 and 1 → 0.5.
  assert.ok(Math.abs(motionAgreement(q, [0, 1], ref, [1, 2], DIM) - 0.5) < 1e-6);
  // A reference that does not change (the same frame twice) agrees with nothing; one pair says nothing.
  assert.equal(motionAgreement(q, [0, 1], ref, [1, 1], DIM), 0);
  assert.equal(motionAgreement(q, [0], ref, [0], DIM), 0);
});

test('an edit added to every query frame leaves the agreement as it is; a band may move by the shift to find its place', () => {
  const dim = 16;
  const { randomVector, mix, block } = syntheticVectors(dim, 11);
  const background = randomVector();
  const take = Array.from({ length: 12 }, () => mix(background, randomVector(), 0.4));
  const edit = randomVector();
  const plain = take.slice(3, 9);
  const edited = plain.map((v) => Float32Array.from(v, (x, k) => x + 0.5 * edit[k]));
  const ref = block(take);
  const rows = [0, 1, 2, 3, 4, 5];
  const agreement = (frames: Float32Array[], cols: number[]) => motionAgreement(block(frames), rows, ref, cols, dim);
  const aligned = [3, 4, 5, 6, 7, 8];
  assert.ok(agreement(plain, aligned) > 0.99);
  assert.ok(Math.abs(agreement(plain, aligned) - agreement(edited, aligned)) < 1e-6);
  const early = [1, 2, 3, 4, 5, 6];
  assert.ok(agreement(plain, aligned) > agreement(plain, early) + 0.5);
  assert.equal(bandMotion(block(plain), rows, ref, early, dim, 2), agreement(plain, aligned), 'two keyframes early, the band finds its place');
  assert.equal(bandMotion(block(plain), rows, ref, early, dim, 1), Math.max(...[-1, 0, 1].map((d) => agreement(plain, early.map((c) => c + d)))));
  // Moves that would leave the reference are not tried.
  assert.equal(bandMotion(block(plain), rows, ref, [6, 7, 8, 9, 10, 11], dim, 3), Math.max(...[-3, -2, -1, 0].map((d) => agreement(plain, [6, 7, 8, 9, 10, 11].map((c) => c + d)))));
});

test('played at its own speed, a copy is found in the reference whatever keyframes either side kept', () => {
  const dim = 16;
  const { randomVector, mix, block } = syntheticVectors(dim, 5);
  const background = randomVector();
  // A 30-s reference whose picture changes every second; keyframes kept at irregular times (a static stretch keeps few).
  const second = Array.from({ length: 30 }, () => mix(background, randomVector(), 0.4));
  const refTimes = [0, 1, 2, 5, 6, 7, 8, 9, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 25, 26, 27, 28, 29];
  const ref = block(refTimes.map((t) => second[t]));
  // The query copies seconds 12..21 from its own second 3 on, with its own keyframes.
  const queryTimes = [0, 1, 3, 4, 5, 7, 8, 9, 10, 12];
  const query = block(queryTimes.map((t) => (t >= 3 ? second[t + 9] : randomVector())));
  const rows = [2, 3, 4, 5, 6, 7, 8, 9];
  const found = timeMotion(query, rows, queryTimes, ref, refTimes, dim);
  const cols = rows.map((i) => refTimes.indexOf(queryTimes[i] + 9));
  assert.ok(cols.every((c) => c >= 0));
  assert.ok(Math.abs(found - motionAgreement(query, rows, ref, cols, dim)) < 1e-12, 'the true placement is the best one');
  assert.ok(found > 0.99);
  // Within a window around the copy's start it is found; a window elsewhere does not reach it.
  assert.equal(timeMotion(query, rows, queryTimes, ref, refTimes, dim, { time: 11, radius: 1 }), found);
  assert.ok(timeMotion(query, rows, queryTimes, ref, refTimes, dim, { time: 2, radius: 3 }) < found - 0.3);
  // A copy longer than what is left of the reference after any start is never placed.
  assert.equal(timeMotion(query, rows, queryTimes.map((t) => 4 * t), ref, refTimes, dim), 0);
});

test('a band repeats itself when two of its keyframes are the same picture (a loop, a still)', () => {
  const ref = new Float32Array([1, 0, 0, 0, 1, 0, 1, 0, 0, 0.6, 0.8, 0]);
  assert.equal(repeatsItself(ref, [0, 1, 2], DIM, 0.99), true);
  assert.equal(repeatsItself(ref, [0, 1, 3], DIM, 0.99), false);
  assert.equal(repeatsItself(ref, [1, 3], DIM, 0.8), true);
  assert.equal(repeatsItself(ref, [0, 0, 1], DIM, 0.99), false, 'one keyframe paired twice is not a repeat');
});
