import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../src/config.js';
import { loadSpdMeta } from '../../src/detect/meta.js';
import { createOnnxRunner, createOnnxSession, floatTensor, type OnnxTensor } from '../../src/embed/onnx.js';

/** Deterministic similarities in [-1, 1] with NaN-free values. */
function input(h: number, w: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: h * w }, () => ((state = (Math.imul(state, 1103515245) + 12345) >>> 0) / 2 ** 31) - 1);
}

test('the direct runner: the installed onnxruntime-node exposes its binding as expected, and runs give the public API outputs bit for bit', async () => {
  const { meta, modelPath } = loadSpdMeta(loadConfig().modelsDir);
  const direct = await createOnnxRunner(modelPath, 1);
  const publicRunner = await createOnnxRunner(modelPath, 1, { direct: false });
  const session = await createOnnxSession(modelPath, 1);
  try {
    assert.equal(direct.direct, true, 'onnxruntime-node/dist/binding.js no longer has the shape src/embed/onnx.ts was written against: check the runner against the new version');
    assert.equal(publicRunner.direct, false);
    assert.deepEqual(direct.inputNames, session.inputNames);
    assert.deepEqual(direct.outputNames, session.outputNames);
    for (const [h, w, seed] of [[120, 600, 1], [8, 16, 2], [64, 64, 3], [120, 600, 4]]) {
      const feeds = (): Record<string, OnnxTensor> => ({
        [meta.input.name]: floatTensor(input(h, w, seed), [1, 1, h, w]),
        [meta.input.valid]: floatTensor(Float32Array.from([h, w]), [1, 2]),
      });
      const expected = (await session.run(feeds()))[meta.output.name];
      for (const runner of [direct, publicRunner]) {
        const out = (await runner.run(feeds()))[meta.output.name];
        assert.deepEqual(out.dims, expected.dims, `${h}x${w}`);
        assert.equal(out.type, 'float32');
        assert.deepEqual(out.data, expected.data, `${h}x${w}: ${runner.direct ? 'direct' : 'public'} runner`);
      }
    }
    await assert.rejects(direct.run({ [meta.input.name]: floatTensor(input(8, 8, 5), [1, 1, 8, 8]) }), new RegExp(`input '${meta.input.valid}' is missing`));
    await assert.rejects(direct.run({ [meta.input.name]: floatTensor(input(8, 8, 5), [1, 8, 8]), [meta.input.valid]: floatTensor(Float32Array.from([8, 8]), [1, 2]) }), /rank|dimension|Invalid/i);
  } finally {
    await direct.release();
    await publicRunner.release();
    await session.release();
  }
});
