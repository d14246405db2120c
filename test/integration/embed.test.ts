import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { sampleFrames, type Frame } from '../../src/decode/frames.js';
import { probeVideo } from '../../src/decode/probe.js';
import { createFrameEncoder, type FrameEncoder } from '../../src/embed/onnx-encoder.js';
import { resolveModel } from '../../src/embed/registry.js';
import { dot } from '../../src/embed/vector-math.js';
import { InvalidArgumentError, ModelMissingError } from '../../src/errors.js';
import { mirrorFrame } from '../../src/views/mirror.js';
import { REAL, requireReal } from '../helpers/fixtures.js';

let encoder: FrameEncoder;
const config = loadConfig();

async function frames(path: string, size: number, fps = 1): Promise<Frame[]> {
  const out: Frame[] = [];
  for await (const f of sampleFrames(await probeVideo(path), { fps, width: size, height: size })) out.push(f);
  return out;
}

before(async () => {
  requireReal();
  encoder = await createFrameEncoder(resolveModel(config.modelsDir, config.modelId));
});
after(() => encoder?.close());

test('the default encoder: 256-d unit vectors, deterministic, batch-independent', async () => {
  assert.equal(config.modelId, 'mnv2bc-ftfused25-lw256');
  assert.equal(encoder.dim, 256);
  const fs = (await frames(REAL.megamind, encoder.inputSize)).slice(0, 5);
  const batch = await encoder.embed(fs);
  assert.equal(batch.length, 5);
  for (const v of batch) {
    assert.equal(v.length, 256);
    assert.ok(Math.abs(dot(v, v) - 1) < 1e-4);
    assert.ok(v.every(Number.isFinite));
  }
  const [single] = await encoder.embed([fs[3]]);
  assert.ok(dot(single, batch[3]) > 0.99999, 'batch of 1 equals batch of 5');
});

test('features separate footage: a frame is closer to its own flipped copy than to other videos', async () => {
  const tree = (await frames(REAL.tree, encoder.inputSize))[10];
  const others = [...(await frames(REAL.cockatoo, encoder.inputSize)).slice(0, 4), ...(await frames(REAL.megamind, encoder.inputSize)).slice(0, 4)];
  const [a, b, ...rest] = await encoder.embed([tree, mirrorFrame(tree), ...others]);
  const copy = dot(a, b);
  const unrelated = Math.max(...rest.map((v) => dot(a, v)));
  // Above the encoder's own copy decision threshold (similarity scales differ between encoders), and clearly above other footage.
  const threshold = resolveModel(config.modelsDir, config.modelId).match?.tn?.threshold ?? 0.5;
  assert.ok(copy > threshold + 0.15, `flip similarity ${copy}, decision threshold ${threshold}`);
  assert.ok(copy > unrelated + 0.1, `flip ${copy} vs unrelated ${unrelated}`);
});

test('wrong frame size is refused; an unknown or missing model is a clear error', async () => {
  const [f] = await frames(REAL.megamind, 64);
  await assert.rejects(encoder.embed([f]), InvalidArgumentError);
  assert.throws(() => resolveModel(config.modelsDir, 'no-such-model'), /unknown model "no-such-model"/);
  assert.throws(() => resolveModel('/nonexistent', 'x'), ModelMissingError);
});

test('the converted MobileNetV2 backbone (the first encoder) still loads: 1280-d unit vectors', async () => {
  const raw = await createFrameEncoder(resolveModel(config.modelsDir, 'mobilenetv2-imagenet'));
  try {
    const [v] = await raw.embed((await frames(REAL.megamind, raw.inputSize)).slice(0, 1));
    assert.equal(v.length, 1280);
    assert.ok(Math.abs(dot(v, v) - 1) < 1e-4);
  } finally {
    await raw.close();
  }
});
