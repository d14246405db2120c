import assert from 'node:assert/strict';
import { test } from 'node:test';
import { dropOrphanRepeats, resolveQueryOverlaps, type Claim } from './overlaps.js';

const seg = (queryStart: number, queryEnd: number, refStart: number, score: number, support = queryEnd - queryStart + 1) => ({
  queryStart,
  queryEnd,
  refStart,
  refEnd: refStart + (queryEnd - queryStart),
  score,
  support,
});

test('a weaker echo of the same query span in the same reference is dropped', () => {
  const claims: Claim[] = [
    { reference: 'a', segment: seg(5, 10, 21, 0.72) },
    { reference: 'a', segment: seg(3, 10, 14, 0.78) },
    { reference: 'a', segment: seg(3, 5, 12, 0.73) },
  ];
  const kept = resolveQueryOverlaps(claims);
  assert.deepEqual(kept.map((c) => c.segment.refStart), [14]);
});

test('two copies at different query times in one reference both stay, even on the same reference span', () => {
  const claims: Claim[] = [
    { reference: 'a', segment: seg(14, 16, 2, 0.88) },
    { reference: 'a', segment: seg(4, 6, 1, 0.88) },
  ];
  assert.equal(resolveQueryOverlaps(claims).length, 2);
});

test('claims on other references never suppress each other (look-alikes, duplicate files)', () => {
  const claims: Claim[] = [
    { reference: 'a', segment: seg(0, 9, 0, 0.8) },
    { reference: 'b', segment: seg(2, 9, 5, 0.6) },
    { reference: 'c', segment: seg(0, 9, 0, 0.795) },
  ];
  assert.deepEqual(resolveQueryOverlaps(claims).map((c) => c.reference), ['a', 'c', 'b']);
});

test('coverage is the union of stronger claims and the threshold is a fraction of the span', () => {
  const claims: Claim[] = [
    { reference: 'a', segment: seg(0, 2, 0, 0.9) },
    { reference: 'a', segment: seg(6, 9, 30, 0.85) },
    { reference: 'a', segment: seg(0, 9, 50, 0.2) }, // 7 of 10 covered by the two above
    { reference: 'a', segment: seg(3, 9, 70, 0.25) }, // 4 of 7 covered by the first two; all 7 once the third is kept
  ];
  // strength = score × support: 30 (3.4), 0 (2.7), 50 (2.0), 70 (1.75)
  assert.deepEqual(resolveQueryOverlaps(claims, { maxCovered: 0.6 }).map((c) => c.segment.refStart), [30, 0, 70]);
  assert.deepEqual(resolveQueryOverlaps(claims, { maxCovered: 0.75 }).map((c) => c.segment.refStart), [30, 0, 50]);
  assert.equal(resolveQueryOverlaps(claims, { maxCovered: 1.01 }).length, 4);
});

test('a long consistent band outranks a short brighter echo of it', () => {
  const claims: Claim[] = [
    { reference: 'a', segment: seg(4, 6, 40, 0.9) },
    { reference: 'a', segment: seg(0, 12, 10, 0.6) },
  ];
  assert.deepEqual(resolveQueryOverlaps(claims).map((c) => c.segment.refStart), [10]);
});

test('no claims, no result', () => {
  assert.deepEqual(resolveQueryOverlaps([]), []);
});

test('a repeat goes with the claim it repeats: dropped when that claim was dropped, kept when it was kept or never there', () => {
  const parent = seg(10, 20, 30, 0.6);
  const repeat = { ...seg(22, 26, 30, 0.62), repeatOf: parent };
  const other = seg(40, 50, 5, 0.7);
  const orphanOfNothing = { ...seg(60, 64, 5, 0.5), repeatOf: seg(0, 4, 0, 0.5) };
  const all: Claim[] = [
    { reference: 'a', segment: parent },
    { reference: 'a', segment: repeat },
    { reference: 'b', segment: other },
    { reference: 'b', segment: orphanOfNothing },
  ];
  assert.deepEqual(dropOrphanRepeats(all, all), all);
  const withoutParent = all.filter((c) => c.segment !== parent);
  assert.deepEqual(dropOrphanRepeats(all, withoutParent), [all[2], all[3]]);
  assert.deepEqual(dropOrphanRepeats(all, [all[3], all[1], all[0]]), [all[3], all[1], all[0]], 'order kept');
});
