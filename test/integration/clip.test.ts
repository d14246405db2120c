/**
 * The CLIP path end to end on a tiny, randomly initialised model with the transformers.js signature, generated
 * by scripts/models/make_tiny_clip.py (Debian's python3-torch) and cached in .cache/tiny-clip/<script hash>/.
 * Its outputs include plain functions of the input (per-channel means of pixel_values, token counts and
 * sums of ids; see the script), which make decoding geometry, normalisation and tokenization checkable.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { sampleFrames, type Frame, type FrameFit } from '../../src/decode/frames.js';
import { probeVideo } from '../../src/decode/probe.js';
import { createClipEncoders, type ClipEncoders } from '../../src/embed/clip/clip-encoder.js';
import { OPENAI_CLIP_MEAN, OPENAI_CLIP_STD } from '../../src/embed/clip/preprocess.js';
import { resolveClipModel } from '../../src/embed/clip/resolve.js';
import { createEncoderForModel } from '../../src/embed/create-encoder.js';
import { createFrameEncoder } from '../../src/embed/onnx-encoder.js';
import { resolveModel } from '../../src/embed/registry.js';
import { dot } from '../../src/embed/vector-math.js';
import { InvalidArgumentError, ModelMissingError } from '../../src/errors.js';
import { allFrames } from '../../src/keyframes/selector.js';
import { extractKeyframes } from '../../src/library/extract.js';
import { REAL, ROOT, ffmpeg, tempDir } from '../helpers/fixtures.js';

const SCRIPT = path.join(ROOT, 'scripts/models/make_tiny_clip.py');
type Flavor = 'openai' | 'chinese' | 'variant';

/** The tiny model folder of a flavor, generated once per version of the script. */
function tinyClip(flavor: Flavor): string {
  const key = createHash('sha256').update(readFileSync(SCRIPT)).digest('hex').slice(0, 16);
  const dir = path.join(ROOT, '.cache', 'tiny-clip', key, flavor);
  if (!existsSync(path.join(dir, 'tiny-clip.json'))) {
    execFileSync('/usr/bin/python3', [SCRIPT, dir, '--flavor', flavor], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, OMP_NUM_THREADS: '2' },
    });
    // Models of older versions of the script are of no further use.
    const root = path.dirname(path.dirname(dir));
    for (const old of readdirSync(root)) if (old !== key) rmSync(path.join(root, old), { recursive: true, force: true });
  }
  return dir;
}

const tmp = tempDir('vidtrace-clip-');
const WIDE = path.join(tmp.dir, 'wide.mkv'); // 720x240: red | green | blue, bands 200, 320, 200 wide
const TALL = path.join(tmp.dir, 'tall.mkv'); // 240x720: red / green / blue, bands 200, 320, 200 high
let openai: ClipEncoders;
let chinese: ClipEncoders;
let variant: ClipEncoders;

/** Three colour bands, losslessly encoded: covering 224x224 keeps only the green middle, squashing keeps all. */
function bands(out: string, stack: 'hstack' | 'vstack'): void {
  const size = (n: number) => (stack === 'hstack' ? `${n}x240` : `240x${n}`);
  ffmpeg([
    '-f', 'lavfi', '-i', `color=c=0xFF0000:s=${size(200)}:r=5:d=2`,
    '-f', 'lavfi', '-i', `color=c=0x00FF00:s=${size(320)}:r=5:d=2`,
    '-f', 'lavfi', '-i', `color=c=0x0000FF:s=${size(200)}:r=5:d=2`,
    '-filter_complex', `[0][1][2]${stack}=inputs=3`,
    '-c:v', 'ffv1', '-pix_fmt', 'bgr0', out,
  ]);
}

async function frames(file: string, size: number, fit: FrameFit | undefined, limit = Infinity, height = size): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of sampleFrames(await probeVideo(file), { fps: 1, width: size, height, fit })) {
    out.push(f);
    if (out.length >= limit) break;
  }
  return out;
}

function channelMeans(f: Frame): [number, number, number] {
  const sums = [0, 0, 0];
  for (let i = 0; i < f.rgb.length; i += 3) {
    sums[0] += f.rgb[i];
    sums[1] += f.rgb[i + 1];
    sums[2] += f.rgb[i + 2];
  }
  const n = f.width * f.height;
  return [sums[0] / n, sums[1] / n, sums[2] / n];
}

/** Mean of red over a rectangle of the frame. */
function redMean(f: Frame, x0: number, y0: number, x1: number, y1: number): number {
  let s = 0;
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) s += f.rgb[(y * f.width + x) * 3];
  return s / ((x1 - x0) * (y1 - y0));
}

/** What CLIP normalisation makes of a channel mean (in bytes): (mean / 255 − image_mean) / image_std. */
const normalised = (byteMean: number, c: number) => (byteMean / 255 - OPENAI_CLIP_MEAN[c]) / OPENAI_CLIP_STD[c];

/** The tiny vision model's checkable outputs, read back through the L2 normalisation (dimension 3 is 1). */
function visionReadout(v: Float32Array): { means: number[]; leftRight: number; topBottom: number } {
  return { means: [v[0] / v[3], v[1] / v[3], v[2] / v[3]], leftRight: v[4] / v[3], topBottom: v[5] / v[3] };
}

/** The tiny text model's: position of the first end token, attention-mask sum, sum of the ids (dimension 2 is 1). */
function textReadout(v: Float32Array): { end: number; tokens: number; idSum: number } {
  return { end: (100 * v[0]) / v[2], tokens: (100 * v[1]) / v[2], idSum: (1e5 * v[3]) / v[2] };
}

/** CLIPImageProcessor's geometry on a 720x528 RGB24 frame, and a plain 224x224 squash, both PIL bicubic. */
const PIL_REFERENCE = `
import sys, os
from PIL import Image
src, out = sys.argv[1], sys.argv[2]
im = Image.frombytes('RGB', (720, 528), open(src, 'rb').read())
w = int(224 * 720 / 528)
left = (w - 224) // 2
open(os.path.join(out, 'crop.rgb'), 'wb').write(im.resize((w, 224), Image.BICUBIC).crop((left, 0, left + 224, 224)).tobytes())
open(os.path.join(out, 'squash.rgb'), 'wb').write(im.resize((224, 224), Image.BICUBIC).tobytes())
`;

const close = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b} (±${tol})`);
const norm = (v: Float32Array) => Math.sqrt(dot(v, v));

before(async () => {
  if (!existsSync(REAL.megamind)) throw new Error(`test footage ${REAL.megamind} is missing: run \`npm run setup\``);
  bands(WIDE, 'hstack');
  bands(TALL, 'vstack');
  openai = await createClipEncoders(tinyClip('openai'), 2);
  chinese = await createClipEncoders(tinyClip('chinese'), 2);
  variant = await createClipEncoders(tinyClip('variant'), 2);
});

after(async () => {
  await openai?.close();
  await chinese?.close();
  await variant?.close();
  tmp.cleanup();
});

test('the CLIP image encoder asks for 224x224 covered frames; dim comes from the model', () => {
  assert.equal(openai.image.fit, 'cover');
  assert.equal(openai.image.inputSize, 224);
  assert.equal(openai.image.dim, 32);
  assert.equal(openai.text.dim, 32);
  assert.deepEqual(openai.geometry, { fit: 'cover', size: 224, cropHeight: 224, cropWidth: 224 });
  assert.equal(openai.image.model.fingerprint, `openai@local/32`);
  // Chinese-CLIP's processor squashes to 224x224.
  assert.equal(chinese.image.fit, 'stretch');
});

test("fit 'cover' crops the centre, 'stretch' squashes: three colour bands tell them apart", async () => {
  for (const [file, axis] of [[WIDE, 'wide'], [TALL, 'tall']] as const) {
    const [covered] = await frames(file, 224, 'cover', 1);
    const [squashed] = await frames(file, 224, 'stretch', 1);
    const [defaulted] = await frames(file, 224, undefined, 1);
    assert.deepEqual([covered.width, covered.height, covered.rgb.length], [224, 224, 224 * 224 * 3]);
    // The centre 224x224 of the 672x224 (or 224x672) scaled frame is all green band.
    const c = channelMeans(covered);
    close(c[0], 0, 1, `${axis} cover red`);
    close(c[1], 255, 2, `${axis} cover green`);
    close(c[2], 0, 1, `${axis} cover blue`);
    // Squashed, the bands keep their shares: 200/720 red, 320/720 green, 200/720 blue.
    const s = channelMeans(squashed);
    close(s[0], (255 * 200) / 720, 3, `${axis} stretch red`);
    close(s[1], (255 * 320) / 720, 3, `${axis} stretch green`);
    close(s[2], (255 * 200) / 720, 3, `${axis} stretch blue`);
    assert.deepEqual(defaulted.rgb, squashed.rgb, 'stretch is the default');
  }
});

test('on a real 720x528 video, cover matches CLIPImageProcessor (PIL bicubic shortest edge 224 + centre crop)', async () => {
  const [native] = await frames(REAL.megamind, 720, 'stretch', 1, 528);
  const [covered] = await frames(REAL.megamind, 224, 'cover', 1);
  const [squashed] = await frames(REAL.megamind, 224, 'stretch', 1);
  assert.deepEqual([native.width, native.height], [720, 528]);
  // The transformers pipeline on the same decoded frame, with Debian's PIL: resize (305x224, bicubic), crop.
  const nativeFile = path.join(tmp.dir, 'native.rgb');
  writeFileSync(nativeFile, native.rgb);
  execFileSync('/usr/bin/python3', ['-c', PIL_REFERENCE, nativeFile, tmp.dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  const crop = readFileSync(path.join(tmp.dir, 'crop.rgb'));
  const squash = readFileSync(path.join(tmp.dir, 'squash.rgb'));
  const meanAbsDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((s, x, i) => s + Math.abs(x - b[i]), 0) / a.length;
  const coverVsCrop = meanAbsDiff(covered.rgb, crop);
  const stretchVsSquash = meanAbsDiff(squashed.rgb, squash);
  const stretchVsCrop = meanAbsDiff(squashed.rgb, crop);
  assert.ok(coverVsCrop < 2, `cover vs PIL resize+crop: mean |diff| ${coverVsCrop.toFixed(2)} levels`);
  assert.ok(stretchVsSquash < 2, `stretch vs PIL squash: mean |diff| ${stretchVsSquash.toFixed(2)} levels`);
  assert.ok(stretchVsCrop > 10, `a squashed frame is not the crop: ${stretchVsCrop.toFixed(2)} levels`);
});

test('pixel_values are normalised with the config mean/std, in NCHW with x and y where they belong', async () => {
  const fs = await frames(REAL.megamind, 224, 'cover', 4);
  const vectors = await openai.image.embed(fs);
  assert.equal(vectors.length, 4);
  fs.forEach((f, i) => {
    const v = vectors[i];
    close(norm(v), 1, 1e-5, 'unit vector');
    const r = visionReadout(v);
    channelMeans(f).forEach((m, c) => close(r.means[c], normalised(m, c), 2e-4, `frame ${i} channel ${c}`));
    const lr = (redMean(f, 0, 0, 112, 224) - redMean(f, 112, 0, 224, 224)) / 255 / OPENAI_CLIP_STD[0];
    const tb = (redMean(f, 0, 0, 224, 112) - redMean(f, 0, 112, 224, 224)) / 255 / OPENAI_CLIP_STD[0];
    close(r.leftRight, lr, 2e-4, `frame ${i} left-right`);
    close(r.topBottom, tb, 2e-4, `frame ${i} top-bottom`);
  });
});

test('through extractKeyframes the encoder fit reaches the decoder: CLIP sees green, Chinese-CLIP the three bands', async () => {
  const green = [normalised(0, 0), normalised(255, 1), normalised(0, 2)];
  const thirds = [normalised((255 * 200) / 720, 0), normalised((255 * 320) / 720, 1), normalised((255 * 200) / 720, 2)];
  const a = await extractKeyframes(WIDE, openai.image, 1, allFrames);
  const b = await extractKeyframes(WIDE, chinese.image, 1, allFrames);
  assert.equal(a.vectors.length, 2);
  assert.equal(b.vectors.length, 2);
  for (const v of a.vectors) {
    const r = visionReadout(v);
    r.means.forEach((m, c) => close(m, green[c], 0.02, `cover channel ${c}`));
    close(r.leftRight, 0, 0.01, 'cover left-right');
  }
  for (const v of b.vectors) {
    const r = visionReadout(v);
    r.means.forEach((m, c) => close(m, thirds[c], 0.05, `stretch channel ${c}`));
    // Red is the left band: the left half is redder than the right one.
    assert.ok(r.leftRight > 1, `stretch left-right ${r.leftRight}`);
  }
  // The tall pattern: red on top.
  const t = await extractKeyframes(TALL, chinese.image, 1, allFrames);
  assert.ok(visionReadout(t.vectors[0]).topBottom > 1);
});

test('image embeddings do not depend on the batch (16-frame batches included)', async () => {
  const fs = await frames(REAL.megamind, 224, 'cover', 6);
  const many = [...fs, ...fs, ...fs, fs[0], fs[1]]; // 20 frames: two encoder batches
  const together = await openai.image.embed(many);
  assert.equal(together.length, 20);
  for (let i = 0; i < many.length; i++) {
    const [alone] = await openai.image.embed([many[i]]);
    const maxDiff = Math.max(...alone.map((x, k) => Math.abs(x - together[i][k])));
    assert.ok(maxDiff < 1e-5, `frame ${i}: ${maxDiff}`);
  }
  // Megamind.avi opens on a still: its frames at 0 s and 1 s are identical, the one at 2 s is not.
  assert.ok(dot(together[0], together[2]) < 0.99999, 'different frames, different vectors');
});

test('CLIP text: the model receives exactly the tokenizer ids and mask; unit vectors; batch-independent', async () => {
  const tok = openai.text.tokenizer;
  assert.deepEqual(tok.encode('a photo of a cat').ids.slice(0, 7), [49406, 320, 1125, 539, 320, 2368, 49407]);
  assert.equal(tok.encode('a photo of a cat').ids.length, 77);
  const texts = ['a photo of a cat', 'A photo of a DOG', '', 'un chat 🐱 très mignon', Array(100).fill('cat').join(' ')];
  const vectors = await openai.text.embed(texts);
  texts.forEach((t, i) => {
    const v = vectors[i];
    close(norm(v), 1, 1e-5, 'unit vector');
    const e = tok.encode(t);
    const n = e.attentionMask.reduce((a, b) => a + b, 0);
    const idSum = e.ids.reduce((a, id, k) => a + id * e.attentionMask[k], 0);
    const r = textReadout(v);
    close(r.end, n - 1, 1e-3, `"${t.slice(0, 20)}" end position`);
    close(r.tokens, n, 1e-3, `"${t.slice(0, 20)}" tokens`);
    close(r.idSum, idSum, idSum * 1e-5, `"${t.slice(0, 20)}" id sum`);
  });
  assert.equal(Math.round(textReadout(vectors[4]).tokens), 77, 'long text truncated to 77');
  assert.ok(dot(vectors[0], vectors[1]) < 0.9999);
  for (let i = 0; i < texts.length; i++) {
    const [alone] = await openai.text.embed([texts[i]]);
    assert.ok(Math.max(...alone.map((x, k) => Math.abs(x - vectors[i][k]))) < 1e-5, `text ${i}`);
  }
  assert.deepEqual(await openai.text.embed([]), []);
});

test('Chinese-CLIP text: WordPiece ids, [SEP] position and token_type_ids reach the model', async () => {
  const tok = chinese.text.tokenizer;
  assert.equal(tok.kind, 'wordpiece');
  assert.equal(tok.maxLength, 52);
  const texts = ['一只猫的照片', 'a photo of a cat!', '狗'];
  const vectors = await chinese.text.embed(texts);
  texts.forEach((t, i) => {
    const e = tok.encode(t);
    assert.equal(e.ids.length, 52);
    const n = e.attentionMask.reduce((a, b) => a + b, 0);
    const r = textReadout(vectors[i]);
    close(norm(vectors[i]), 1, 1e-5, 'unit vector');
    close(r.end, n - 1, 1e-3, `${t} [SEP] position`);
    close(r.tokens, n, 1e-3, `${t} tokens`);
    close(r.idSum, e.ids.reduce((a, id) => a + id, 0), 1e-2, `${t} id sum`);
  });
  assert.deepEqual(tok.encode('一只猫的照片').ids.slice(0, 9), [101, 104, 105, 106, 108, 109, 110, 102, 0]);
});

test('other export names: input `images`, unnamed rank-2 output, int32 ids of fixed length without a mask', async () => {
  assert.equal(variant.image.model.input, 'images');
  assert.equal(variant.image.model.outputs.embedding, 'pooled');
  const fs = await frames(REAL.megamind, 224, 'cover', 1);
  const [v] = await variant.image.embed(fs);
  channelMeans(fs[0]).forEach((m, c) => close(visionReadout(v).means[c], normalised(m, c), 2e-4, `channel ${c}`));
  assert.equal(variant.text.tokenizer.maxLength, 64, "the variant's tokenizer.json asks for 64…");
  const [t] = await variant.text.embed(['a photo of a cat']); // …but the graph's input_ids is [N, 77]
  const r = textReadout(t);
  close(r.end, 6, 1e-3, 'end position');
  close(r.tokens, 77, 1e-3, 'no mask input: all 77 positions count');
  const e = variant.text.tokenizer.encode('a photo of a cat', 77);
  close(r.idSum, e.ids.reduce((a, b) => a + b, 0), 1, 'id sum over the padded ids');
});

test('missing folder or file → ModelMissingError with the models:clip hint', async () => {
  await assert.rejects(createClipEncoders(path.join(tmp.dir, 'no-such-clip')), (e: unknown) => {
    assert.ok(e instanceof ModelMissingError);
    assert.match(e.message, /no-such-clip.*npm run models:clip/);
    return true;
  });
  const partial = path.join(tmp.dir, 'partial-clip');
  cpSync(tinyClip('openai'), partial, { recursive: true });
  rmSync(path.join(partial, 'tokenizer.json'));
  await assert.rejects(createClipEncoders(partial), (e: unknown) => e instanceof ModelMissingError && /tokenizer\.json/.test(e.message));
  rmSync(path.join(partial, 'onnx', 'text_model.onnx'));
  await assert.rejects(createClipEncoders(partial), (e: unknown) => e instanceof ModelMissingError && /text_model\.onnx/.test(e.message));
  // The shipped registry names CLIP folders that are not downloaded here (or anywhere without internet).
  const shipped = path.join(ROOT, 'models');
  for (const id of ['clip-vit-b32', 'chinese-clip-vit-b16']) {
    if (existsSync(path.join(shipped, id, 'onnx', 'vision_model.onnx'))) continue;
    assert.throws(() => resolveClipModel(shipped, id), (e: unknown) => e instanceof ModelMissingError && /npm run models:clip/.test(e.message));
    await assert.rejects(createEncoderForModel(shipped, id), ModelMissingError);
  }
  assert.throws(() => resolveClipModel(shipped, 'mobilenetv2-imagenet'), /not a CLIP model/);
});

test('registry entries of kind clip: createEncoderForModel gives the CLIP frame encoder; dims must agree', async () => {
  const modelsDir = path.join(tmp.dir, 'models');
  mkdirSync(modelsDir, { recursive: true });
  const entry = (id: string, dim: number) => ({
    id, version: '1', kind: 'clip', dir: tinyClip('openai'), file: path.join(tinyClip('openai'), 'onnx/vision_model.onnx'),
    input: 'pixel_values', inputSize: 224, layout: 'NCHW', range: [0, 1], outputs: { embedding: 'image_embeds' }, dim,
  });
  writeFileSync(path.join(modelsDir, 'models.json'), JSON.stringify([entry('tiny', 32), entry('tiny-wrong', 512)]));
  const enc = await createEncoderForModel(modelsDir, 'tiny', 1);
  try {
    assert.equal(enc.fit, 'cover');
    assert.equal(enc.model.fingerprint, 'tiny@1/32');
    const fs = await frames(REAL.megamind, enc.inputSize, enc.fit, 2);
    const [v] = await enc.embed(fs);
    close(norm(v), 1, 1e-5, 'unit vector');
  } finally {
    await enc.close();
  }
  await assert.rejects(createEncoderForModel(modelsDir, 'tiny-wrong', 1), /registry says 512 dimensions but .* gives 32/);
  // The single-file ONNX path refuses a CLIP folder rather than feeding it unnormalised pixels.
  await assert.rejects(createFrameEncoder(resolveModel(modelsDir, 'tiny')), InvalidArgumentError);
});
