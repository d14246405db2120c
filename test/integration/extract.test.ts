import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { sampleFrames, type Frame } from '../../src/decode/frames.js';
import { probeVideo } from '../../src/decode/probe.js';
import { createFrameEncoder, type FrameEncoder } from '../../src/embed/onnx-encoder.js';
import { resolveModel } from '../../src/embed/registry.js';
import { dot } from '../../src/embed/vector-math.js';
import { MediaTooShortError } from '../../src/errors.js';
import { allFrames } from '../../src/keyframes/selector.js';
import { extractKeyframes } from '../../src/library/extract.js';
import { REAL, ffmpeg, requireReal, tempDir } from '../helpers/fixtures.js';

let encoder: FrameEncoder;
const tmp = tempDir();
const clip = path.join(tmp.dir, 'moving-5s.mp4');
const short = path.join(tmp.dir, 'short-0.6s.mp4');

before(async () => {
  requireReal();
  const config = loadConfig();
  encoder = await createFrameEncoder(resolveModel(config.modelsDir, config.modelId));
  // 5 s of real moving footage at 25 fps: 5 keyframes at 1 fps, 20 frames at 4 fps
  ffmpeg(['-i', REAL.megamind, '-t', '5', '-vf', 'fps=25', '-an', '-c:v', 'libx264', '-preset', 'veryfast', clip]);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc=size=160x90:rate=25', '-t', '0.6', '-c:v', 'libx264', short]);
});
after(async () => {
  await encoder?.close();
  tmp.cleanup();
});

async function framesAt(file: string, fps: number): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of sampleFrames(await probeVideo(file), { fps, width: encoder.inputSize, height: encoder.inputSize, fit: encoder.fit })) out.push(f);
  return out;
}

test('phase views: the frames between keyframes, each tied to the keyframe(s) within the span', async () => {
  const plain = await extractKeyframes(clip, encoder, 1, allFrames);
  const all = await extractKeyframes(clip, encoder, 1, allFrames, undefined, { phases: 4 });
  const near = await extractKeyframes(clip, encoder, 1, allFrames, undefined, { phases: 4, phaseSpan: 0.25 });
  // keyframes are the same frames with or without phases
  assert.deepEqual(all.times, plain.times);
  assert.deepEqual(all.times, [0, 1, 2, 3, 4]);
  all.vectors.forEach((v, i) => assert.ok(dot(v, plain.vectors[i]) > 0.9999, `keyframe ${i} unchanged`));
  assert.deepEqual(plain.views, []);

  // 4 fps frames at k/4 s; frame 4r±1 belongs to row r, frame 4r+2 to rows r and r+1 (span ½), nothing past the last keyframe's half interval
  const quarter = await encoder.embed(await framesAt(clip, 4));
  const phase = all.views!.find((v) => v.kind === 'phase')!;
  const expected: [number, number][] = []; // [row, 4-fps frame]
  for (let m = 1; m < 20; m++) {
    if (m % 4 === 0) continue;
    const o = m % 4;
    if (o <= 2) expected.push([Math.floor(m / 4), m]);
    if (o >= 2 && Math.floor(m / 4) + 1 <= 4) expected.push([Math.floor(m / 4) + 1, m]);
  }
  expected.sort((a, b) => a[1] - b[1] || a[0] - b[0]);
  assert.deepEqual([...phase.rows].sort((a, b) => a - b), expected.map(([r]) => r).sort((a, b) => a - b));
  for (const [row, m] of expected) {
    const found = phase.rows.some((r, k) => r === row && dot(phase.vectors[k], quarter[m]) > 0.9999);
    assert.ok(found, `row ${row} has the frame at ${m / 4} s as a view`);
  }

  const nearPhase = near.views!.find((v) => v.kind === 'phase')!;
  assert.equal(nearPhase.rows.length, 9, 'span ¼: the frames at ±0.25 s only (one before the first keyframe is missing)');
});

test('flip views: every keyframe mirrored, embedded as a view of its own row; a mirrored copy meets the original through it', async () => {
  const mirrored = path.join(tmp.dir, 'mirrored-5s.mp4');
  ffmpeg(['-i', clip, '-vf', 'hflip', '-an', '-c:v', 'libx264', '-preset', 'veryfast', mirrored]);
  const original = await extractKeyframes(clip, encoder, 1, allFrames);
  const copy = await extractKeyframes(mirrored, encoder, 1, allFrames, undefined, { flips: true, phases: 4, phaseSpan: 0.25 });
  assert.deepEqual(copy.times, original.times);
  assert.equal(original.views?.length ?? 0, 0, 'no views unless asked for');
  const flip = copy.views!.find((v) => v.kind === 'flip')!;
  assert.deepEqual(flip.rows, [0, 1, 2, 3, 4]);
  assert.ok(copy.views!.some((v) => v.kind === 'phase'), 'flips combine with the other views');
  let gain = 0;
  for (let i = 0; i < 5; i++) {
    const whole = dot(copy.vectors[i], original.vectors[i]);
    const viaFlip = dot(flip.vectors[i], original.vectors[i]);
    // The mirrored view is the original picture up to re-encoding: at least as close as the mirrored frame
    // itself (equal on a symmetric picture, e.g. a black first frame), closer on the others.
    assert.ok(viaFlip > 0.9 && viaFlip >= whole - 1e-4, `keyframe ${i}: via flip ${viaFlip.toFixed(3)}, whole ${whole.toFixed(3)}`);
    gain += viaFlip - whole;
  }
  assert.ok(gain > 0.05, `summed gain of the flip view ${gain.toFixed(3)}`);
});

test('with phases a query shorter than one keyframe interval is still too short', async () => {
  await assert.rejects(extractKeyframes(short, encoder, 1, allFrames, undefined, { phases: 4 }), MediaTooShortError);
});
