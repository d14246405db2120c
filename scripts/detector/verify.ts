/**
 * Checks that inference in Node reproduces training in Python:
 *   1. src/detect/channels.ts builds the same channels as train_detector.py's build_channels,
 *   2. the exported ONNX run through onnxruntime-node gives the PyTorch outputs on the first tile,
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
import { CHANNELS, buildChannels, cutTile } from '../../src/detect/channels.js';
import { loadSpdMeta } from '../../src/detect/meta.js';
import { createOnnxSession, floatTensor } from '../../src/embed/onnx.js';

const { values: args } = parseArgs({ options: { models: { type: 'string', default: path.join(PROJECT_ROOT, 'models') }, data: { type: 'string' } } });
const data = args.data ?? (JSON.parse(readFileSync(path.join(PROJECT_ROOT, '.cache/detector/current.json'), 'utf8')) as { dir: string }).dir;
const fixture = JSON.parse(readFileSync(path.join(data, 'verify.json'), 'utf8')) as { rows: number; cols: number; sim: number[]; channels: number[]; tile0: number[] }[];
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
  const tile = new Float32Array(CHANNELS.length * meta.tile * meta.tile);
  cutTile(planes, c.rows, c.cols, 0, 0, meta.tile, tile);
  const out = await session.run({ [meta.input.name]: floatTensor(tile, [1, CHANNELS.length, meta.tile, meta.tile]) });
  const y = out[meta.output.name].data as Float32Array;
  const g = (meta.tile / meta.stride) ** 2;
  const ds = maxDiff(y, c.tile0, 0, g);
  const db = maxDiff(y, c.tile0, g, 5 * g);
  const ok = dc < 1e-5 && ds < 1e-4 && db < 1e-3;
  if (!ok) failed = true;
  console.log(`case ${k} (${c.rows}x${c.cols}): channels max |Δ| ${dc.toExponential(1)}, score ${ds.toExponential(1)}, distances ${db.toExponential(1)} ${ok ? 'ok' : 'MISMATCH'}`);
}
await session.release();
console.log(failed ? 'verify: FAILED' : `verify: ok (${fixture.length} cases, ${path.relative(PROJECT_ROOT, modelPath)} sha256 ${sha.slice(0, 12)})`);
process.exitCode = failed ? 1 : 0;
