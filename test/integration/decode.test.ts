import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { sampleFrames } from '../../src/decode/frames.js';
import { probeVideo } from '../../src/decode/probe.js';
import { CorruptMediaError, MediaNotFoundError, MediaTooShortError, NoVideoStreamError } from '../../src/errors.js';
import { REAL, ffmpeg, requireReal, tempDir } from '../helpers/fixtures.js';

const tmp = tempDir();
const f = (name: string) => path.join(tmp.dir, name);

before(() => {
  requireReal();
  writeFileSync(f('notes.mp4'), 'this is a text file, not a video\n'.repeat(50));
  writeFileSync(f('empty.mp4'), '');
  ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:duration=3', '-c:a', 'aac', f('audio.m4a')]);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x120:rate=25:duration=0.4', '-c:v', 'libx264', f('short.mp4')]);
  // A complete mp4 then its first 40%: the index (moov atom) at the end is lost, as in an interrupted download.
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=4', '-c:v', 'libx264', f('whole.mp4')]);
  const whole = readFileSync(f('whole.mp4'));
  writeFileSync(f('truncated.mp4'), whole.subarray(0, Math.floor(whole.length * 0.4)));
  copyFileSync(REAL.megamind, f('megamind.avi'));
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=3', '-c:v', 'libx264', '-f', 'h264', f('raw.264')]);
  ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x240:rate=25:duration=3', '-c:v', 'mpeg1video', '-f', 'mpeg1video', f('raw.mpeg')]);
});
after(() => tmp.cleanup());

test('probe returns typed facts of a real video', async () => {
  const info = await probeVideo(REAL.megamind);
  assert.equal(info.width, 720);
  assert.equal(info.height, 528);
  assert.ok(Math.abs(info.duration - 11.26) < 0.1, `duration ${info.duration}`);
  assert.ok(Math.abs(info.fps - 23.976) < 0.01);
  assert.equal(info.hasAudio, true);
  assert.ok(info.bytes > 1_000_000);
});

test('samples frames at the requested rate as raw RGB of the requested size', async () => {
  const info = await probeVideo(REAL.megamind);
  const frames = [];
  for await (const frame of sampleFrames(info, { fps: 1, width: 64, height: 48 })) frames.push(frame);
  assert.ok(frames.length >= 11 && frames.length <= 12, `got ${frames.length} frames`);
  assert.deepEqual(frames.slice(0, 3).map((x) => x.time), [0, 1, 2]);
  assert.equal(frames[0].rgb.length, 64 * 48 * 3);
  const mean = frames[5].rgb.reduce((s, v) => s + v, 0) / frames[5].rgb.length;
  assert.ok(mean > 5 && mean < 250, 'a real frame is neither black nor white');
  // 2 fps gives twice as many.
  let twice = 0;
  for await (const _ of sampleFrames(info, { fps: 2, width: 32, height: 32 })) twice++;
  assert.ok(Math.abs(twice - 2 * frames.length) <= 2, `2 fps gave ${twice}`);
});

test('stopping early kills ffmpeg without an error', async () => {
  const info = await probeVideo(REAL.tree);
  let n = 0;
  for await (const _ of sampleFrames(info, { fps: 5, width: 32, height: 32 })) if (++n === 3) break;
  assert.equal(n, 3);
});

test('a missing file is MediaNotFoundError naming the path', async () => {
  await assert.rejects(probeVideo(f('nope.mp4')), (e: unknown) => e instanceof MediaNotFoundError && e.message.includes('nope.mp4'));
});

test('a text file renamed .mp4 is CorruptMediaError', async () => {
  await assert.rejects(probeVideo(f('notes.mp4')), (e: unknown) => e instanceof CorruptMediaError && /notes\.mp4: not a readable media file/.test(e.message));
});

test('a zero-length file is CorruptMediaError (empty)', async () => {
  await assert.rejects(probeVideo(f('empty.mp4')), (e: unknown) => e instanceof CorruptMediaError && /empty file/.test(e.message));
});

test('a truncated mp4 is CorruptMediaError', async () => {
  await assert.rejects(probeVideo(f('truncated.mp4')), (e: unknown) => e instanceof CorruptMediaError && /truncated\.mp4/.test(e.message));
});

test('audio-only media is NoVideoStreamError', async () => {
  await assert.rejects(probeVideo(f('audio.m4a')), NoVideoStreamError);
});

test('a video shorter than one sample interval is MediaTooShortError', async () => {
  const info = await probeVideo(f('short.mp4'));
  await assert.rejects(async () => {
    for await (const _ of sampleFrames(info, { fps: 1, width: 32, height: 32 })) {
      /* drain */
    }
  }, (e: unknown) => e instanceof MediaTooShortError && /shorter than one sample interval/.test(e.message));
});

test('raw elementary streams (no container timing) are measured by decoding, not by a guessed duration', async () => {
  // 75 frames at 25 fps each. The MPEG-1 decoder's timestamps run to 3.0 s (reordering delay), so its last
  // frame fills a fourth 1-s slot; the H.264 stream's end at 2.96 s.
  for (const [name, samples] of [['raw.264', 3], ['raw.mpeg', 4]] as const) {
    const info = await probeVideo(f(name));
    assert.ok(Number.isNaN(info.duration), `${name}: duration left unknown`);
    let n = 0;
    for await (const _ of sampleFrames(info, { fps: 1, width: 32, height: 32 })) n++;
    assert.equal(n, samples, name);
  }
});
