/**
 * Checks that inference in Node reproduces training in Python:
 *   1. src/detect/channels.ts (the JS specification of the representation) builds the same channels
 *      as train_detector.py's build_channels (what the network was trained on),
 *   2. the exported ONNX run through onnxruntime-node exactly as src/detect/spd-detector.ts runs it
 *      (the whole matrix's similarities, copyWindow-padded to multiples of the stride, and its valid
 *      size; the graph builds the channels) gives, at every output location, what PyTorch's network
 *      gives on build_channels' float64 channels (model_input in train_detector.py),
 *   3. meta.json's sha256 is the model file's.
 * Fixture: DATA/verify.json written by train_detector.py (DATA from .cache/detector/current.json).
 *
 *   node --import tsx scripts/detector/verify.ts [--models models] [--data DIR]
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { PROJECT_ROOT } from '../../src/config.js';
import { buildChannels, copyWindow } from '../../src/detect/channels.js';
import { inputPad, loadSpdMeta } from '../../src/detect/meta.js';
import { planWindows } from '../../src/detect/tiling.js';
import { createOnnxSession, floatTensor } from '../../src/embed/onnx.js';

const { values: args } = parseArgs({ options: { models: { type: 'string', default: path.join(PROJECT_ROOT, 'models') }, data: { type: 'string' } } });
const data = args.data ?? (JSON.parse(readFileSync(path.join(PROJECT_ROOT, '.cache/detector/current.json'), 'utf8')) as { dir: string }).dir;
const fixture = JSON.parse(readFileSync(path.join(data, 'verify.json'), 'utf8')) as { rows: number; cols: number; sim: number[]; channels: number[]; input: [number, number]; output: number[] }[];
const { meta, modelPath } = loadSpdMeta(args.models!);
const sha = createHash('sha256').update(readFileSync(modelPath)).digest('hex');
let failed = false;
if (meta.sha256 && meta.sha256 !== sha) {
  console.error(`sha256 mismatch: meta ${meta.sha256}, file ${sha}`);
  failed = true;
}
const session = await createOnnxSession(modelPath, 2);
const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>, from = 0, to = a.length): number => {
  let m = 0;
  for (let i = from; i < to; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
};
for (const [k, c] of fixture.entries()) {
  const sim = { rows: c.rows, cols: c.cols, data: Float32Array.from(c.sim) };
  const planes = buildChannels(sim, meta.channelParams);
  const dc = maxDiff(planes, c.channels);
  // The window the detector runs on this matrix (whole, padded) must be the one PyTorch ran.
  const plan = planWindows(c.rows, c.cols, meta.stride, Infinity, meta.stride, meta.stride);
  const [h, w] = [plan.height, plan.width];
  const shapeOk = h === c.input[0] && w === c.input[1];
  const input = new Float32Array(h * w).fill(NaN);
  copyWindow(sim, 0, 0, h, w, input, 0, inputPad(meta));
  const out = await session.run({ [meta.input.name]: floatTensor(input, [1, 1, h, w]), [meta.input.valid]: floatTensor(Float32Array.of(c.rows, c.cols), [1, 2]) });
  const y = out[meta.output.name].data as Float32Array;
  const g = (h / meta.stride) * (w / meta.stride);
  const sizeOk = y.length === c.output.length && y.length === 5 * g;
  // Pre-activation outputs (score logit, raw distances), compared as such.
  const ds = maxDiff(y, c.output, 0, g);
  const db = maxDiff(y, c.output, g, 5 * g);
  const ok = shapeOk && sizeOk && dc < 1e-5 && ds < 1e-3 && db < 1e-3;
  if (!ok) failed = true;
  console.log(
    `case ${k} (${c.rows}x${c.cols} -> input ${h}x${w}, ${g} locations): JS vs numpy channels max |Δ| ${dc.toExponential(1)}; onnxruntime (channels in the graph) vs PyTorch: ` +
      `score logit ${ds.toExponential(1)}, raw distances ${db.toExponential(1)} ${ok ? 'ok' : 'MISMATCH'}`,
  );
}
await session.release();
console.log(failed ? 'verify: FAILED' : `verify: ok (${fixture.length} cases, ${path.relative(PROJECT_ROOT, modelPath)} sha256 ${sha.slice(0, 12)})`);
process.exitCode = failed ? 1 : 0;
