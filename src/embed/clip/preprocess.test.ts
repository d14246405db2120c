import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Frame } from '../../decode/frames.js';
import { InvalidArgumentError } from '../../errors.js';
import { OPENAI_CLIP_MEAN, OPENAI_CLIP_STD, frameGeometry, framesToPixelValues, parsePreprocessorConfig } from './preprocess.js';

/** openai/clip-vit-base-patch32 as the current transformers writes it (and the Xenova export ships). */
const OPENAI = {
  crop_size: { height: 224, width: 224 },
  do_center_crop: true,
  do_convert_rgb: true,
  do_normalize: true,
  do_rescale: true,
  do_resize: true,
  feature_extractor_type: 'CLIPFeatureExtractor',
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_processor_type: 'CLIPImageProcessor',
  image_std: [0.26862954, 0.26130258, 0.27577711],
  resample: 3,
  rescale_factor: 0.00392156862745098,
  size: { shortest_edge: 224 },
};

/** The same model's original (legacy) file: integers for size and crop_size, no rescale fields. */
const OPENAI_LEGACY = {
  crop_size: 224,
  do_center_crop: true,
  do_normalize: true,
  do_resize: true,
  feature_extractor_type: 'CLIPFeatureExtractor',
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
  resample: 3,
  size: 224,
};

/** OFA-Sys/chinese-clip-vit-base-patch16: squash to 224x224, no crop. */
const CHINESE = {
  crop_size: 224,
  do_center_crop: false,
  do_normalize: true,
  do_resize: true,
  feature_extractor_type: 'ChineseCLIPFeatureExtractor',
  image_mean: [0.48145466, 0.4578275, 0.40821073],
  image_std: [0.26862954, 0.26130258, 0.27577711],
  resample: 3,
  size: { height: 224, width: 224 },
};

function frame(size: number, pixel: (x: number, y: number) => [number, number, number], index = 0): Frame {
  const rgb = new Uint8Array(size * size * 3);
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) rgb.set(pixel(x, y), (y * size + x) * 3);
  return { index, time: index, width: size, height: size, rgb };
}

const norm = (v: number, c: number) => (v / 255 - OPENAI_CLIP_MEAN[c]) / OPENAI_CLIP_STD[c];

test('the CLIP config parses to shortest-edge 224 bicubic, 224 crop, 1/255 and the OpenAI mean/std', () => {
  const p = parsePreprocessorConfig(OPENAI);
  assert.deepEqual(p, {
    processor: 'CLIPImageProcessor',
    doResize: true,
    size: { shortestEdge: 224 },
    resample: 'bicubic',
    doCenterCrop: true,
    cropSize: { height: 224, width: 224 },
    doRescale: true,
    rescaleFactor: 0.00392156862745098,
    doNormalize: true,
    imageMean: [0.48145466, 0.4578275, 0.40821073],
    imageStd: [0.26862954, 0.26130258, 0.27577711],
  });
  assert.deepEqual(frameGeometry(p), { fit: 'cover', size: 224, cropHeight: 224, cropWidth: 224 });
});

test('the legacy CLIP file (integers, no rescale fields) means the same thing', () => {
  const legacy = parsePreprocessorConfig(OPENAI_LEGACY);
  const current = parsePreprocessorConfig(OPENAI);
  assert.deepEqual({ ...legacy, processor: '', rescaleFactor: 0 }, { ...current, processor: '', rescaleFactor: 0 });
  assert.ok(Math.abs(legacy.rescaleFactor - 1 / 255) < 1e-12);
  assert.equal(legacy.processor, 'CLIPFeatureExtractor');
  assert.deepEqual(frameGeometry(legacy), frameGeometry(current));
});

test('Chinese-CLIP squashes to 224x224 without a crop: fit stretch', () => {
  const p = parsePreprocessorConfig(CHINESE);
  assert.deepEqual(p.size, { height: 224, width: 224 });
  assert.equal(p.doCenterCrop, false);
  assert.deepEqual(frameGeometry(p), { fit: 'stretch', size: 224, cropHeight: 224, cropWidth: 224 });
});

test('absent fields take the transformers defaults; a scalar mean/std is broadcast', () => {
  const p = parsePreprocessorConfig({ image_mean: 0.5, image_std: 0.5 });
  assert.deepEqual(p.size, { shortestEdge: 224 });
  assert.deepEqual(p.cropSize, { height: 224, width: 224 });
  assert.equal(p.resample, 'bicubic');
  assert.deepEqual(p.imageMean, [0.5, 0.5, 0.5]);
  assert.deepEqual(parsePreprocessorConfig({}).imageStd, [...OPENAI_CLIP_STD]);
});

test('configs the decoder cannot reproduce are refused with the reason', () => {
  const geometry = (o: object) => frameGeometry(parsePreprocessorConfig({ ...OPENAI, ...o }));
  assert.throws(() => geometry({ do_resize: false }), /do_resize=false/);
  assert.throws(() => geometry({ do_center_crop: false }), /shortest_edge without do_center_crop/);
  assert.throws(() => geometry({ crop_size: { height: 224, width: 200 } }), /non-square crop_size/);
  assert.throws(() => geometry({ crop_size: 256 }), /larger than size.shortest_edge/);
  assert.throws(() => geometry({ size: { height: 224, width: 256 }, do_center_crop: false }), /non-square size/);
  assert.throws(() => parsePreprocessorConfig({ size: { shortest_edge: 224, longest_edge: 300 } }), /longest_edge/);
  assert.throws(() => parsePreprocessorConfig({ resample: 9 }), /resample/);
  assert.throws(() => parsePreprocessorConfig({ image_mean: [1, 2] }), /image_mean/);
  assert.throws(() => parsePreprocessorConfig({ image_std: [1, 0, 1] }), /image_std must not contain 0/);
  assert.throws(() => parsePreprocessorConfig([]), InvalidArgumentError);
});

test('pixel_values is NCHW float32 of ((byte / 255) - mean) / std, frame after frame', () => {
  const p = parsePreprocessorConfig(OPENAI);
  const g = frameGeometry(p);
  const a = frame(224, (x, y) => [x, y, (x + y) % 256]);
  const b = frame(224, () => [255, 0, 128], 1);
  const out = framesToPixelValues([a, b], p, g);
  const plane = 224 * 224;
  assert.equal(out.length, 2 * 3 * plane);
  const at = (n: number, c: number, y: number, x: number) => out[n * 3 * plane + c * plane + y * 224 + x];
  for (const [x, y] of [[0, 0], [5, 7], [223, 100], [17, 223]]) {
    assert.ok(Math.abs(at(0, 0, y, x) - norm(x, 0)) < 1e-6);
    assert.ok(Math.abs(at(0, 1, y, x) - norm(y, 1)) < 1e-6);
    assert.ok(Math.abs(at(0, 2, y, x) - norm((x + y) % 256, 2)) < 1e-6);
    assert.ok(Math.abs(at(1, 0, y, x) - norm(255, 0)) < 1e-6);
    assert.ok(Math.abs(at(1, 1, y, x) - norm(0, 1)) < 1e-6);
    assert.ok(Math.abs(at(1, 2, y, x) - norm(128, 2)) < 1e-6);
  }
  // The reference values of a mid-grey pixel, written out.
  assert.ok(Math.abs(norm(128, 0) - 0.0763361) < 1e-6);
});

test('without rescale/normalise the bytes pass through; a crop smaller than the decoded frame is its centre', () => {
  const p = parsePreprocessorConfig({ ...OPENAI, size: { shortest_edge: 8 }, crop_size: 4, do_rescale: false, do_normalize: false });
  const g = frameGeometry(p);
  assert.deepEqual(g, { fit: 'cover', size: 8, cropHeight: 4, cropWidth: 4 });
  const out = framesToPixelValues([frame(8, (x, y) => [x, y, 10 * y + x])], p, g);
  // transformers' center_crop: top = floor((8 - 4) / 2) = 2, left = 2.
  assert.deepEqual(Array.from(out.slice(0, 4)), [2, 3, 4, 5]); // R of row 0 = x
  assert.deepEqual(Array.from(out.slice(16, 20)), [2, 2, 2, 2]); // G of row 0 = y
  assert.deepEqual(Array.from(out.slice(32 + 12, 32 + 16)), [52, 53, 54, 55]); // B of row 3 = 10*5 + x
});

test('frames of another size are refused', () => {
  const p = parsePreprocessorConfig(OPENAI);
  assert.throws(() => framesToPixelValues([frame(100, () => [0, 0, 0])], p, frameGeometry(p)), /needs 224x224 frames, got 100x100/);
});
