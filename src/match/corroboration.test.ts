import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agrees, passCorroborated } from './corroboration.js';
import type { FrameSegment } from './temporal-network.js';

const seg = (queryStart: number, queryEnd: number, refStart: number, refEnd: number, score: number): FrameSegment => ({
  queryStart,
  queryEnd,
  refStart,
  refEnd,
  score,
  support: queryEnd - queryStart + 1,
});

const options = { floor: 0.12, minCover: 0.5 };

test('a witness agrees when it covers half of the grey span on both axes', () => {
  const grey = seg(10, 19, 40, 49, 0.15);
  assert.equal(agrees(grey, seg(15, 30, 45, 60, 0.5), 0.5), true); // 5 of 10 keyframes on each axis
  assert.equal(agrees(grey, seg(16, 30, 45, 60, 0.5), 0.5), false); // 4 of 10 query keyframes
  assert.equal(agrees(grey, seg(10, 19, 80, 89, 0.5), 0.5), false); // same query stretch, another place of the reference
});

test('segments at the threshold pass without asking the witness; grey ones need it, the rest never pass', async () => {
  let asked = 0;
  const witness = async () => {
    asked++;
    return [seg(20, 24, 70, 74, 0.5)];
  };
  const strong = seg(0, 9, 0, 9, 0.4);
  assert.deepEqual(await passCorroborated([strong, seg(30, 35, 0, 5, 0.05)], 0.17, witness, options), [strong]);
  assert.equal(asked, 0, 'no grey segment: the witness is not run');

  const grey = seg(20, 23, 70, 73, 0.15);
  const unwitnessed = seg(40, 45, 10, 15, 0.16);
  const passed = await passCorroborated([strong, grey, unwitnessed, seg(50, 55, 0, 5, 0.11)], 0.17, witness, options);
  assert.deepEqual(passed, [strong, grey]);
  assert.equal(asked, 1, 'the witness runs once per matrix');
  assert.deepEqual(grey.corroboration, { score: 0.5, queryStart: 20, queryEnd: 24, refStart: 70, refEnd: 74 });
  assert.equal(unwitnessed.corroboration, undefined);
});

test('a grey segment with no witness segment stays out', async () => {
  assert.deepEqual(await passCorroborated([seg(0, 3, 0, 3, 0.16)], 0.17, async () => [], options), []);
});
