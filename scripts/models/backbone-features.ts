/**
 * Runs an ONNX backbone (input `pixels` [N,224,224,3] 0..255) with onnxruntime-node over a file of
 * raw 224x224 RGB frames and writes one output tensor per frame as float32 (PyTorch on this
 * machine is far slower than onnxruntime for the frozen backbone, so training precomputes here).
 *
 *   node --import tsx scripts/models/backbone-features.ts IN.u8 OUT.f32 [--model M.onnx] [--output feature_map] [--u8]
 *
 * --u8 writes the output rounded and clamped to uint8 (for image-valued outputs such as pixels_cropped).
 */
import { closeSync, openSync, readSync, renameSync, statSync, writeSync } from 'node:fs';
import { createOnnxSession, floatTensor, type OnnxTensor } from '../../src/embed/onnx.js';

const args = process.argv.slice(2);
const opt = (name: string, def: string): string => {
  const i = args.indexOf(name);
  if (i < 0) return def;
  const v = args[i + 1] as string;
  args.splice(i, 2);
  return v;
};
const model = opt('--model', 'models/mobilenetv2-imagenet/model.onnx');
const output = opt('--output', 'feature_map');
const threads = Number(opt('--threads', '2'));
const asU8 = args.includes('--u8') ? (args.splice(args.indexOf('--u8'), 1), true) : false;
const [input, out] = args;
if (!input || !out) {
  console.error('usage: backbone-features.ts IN.u8 OUT.f32 [--model M.onnx] [--output feature_map]');
  process.exit(2);
}
const SIZE = 224;
const FB = SIZE * SIZE * 3;
const n = statSync(input).size / FB;
if (!Number.isInteger(n)) throw new Error(`${input}: size is not a multiple of ${FB}`);
const session = await createOnnxSession(model, threads);
const fin = openSync(input, 'r');
const fout = openSync(out + '.tmp', 'w');
const BATCH = 16;
const buf = Buffer.alloc(BATCH * FB);
const started = performance.now();
for (let s = 0; s < n; s += BATCH) {
  const b = Math.min(BATCH, n - s);
  readSync(fin, buf, 0, b * FB, s * FB);
  const data = new Float32Array(b * FB);
  for (let i = 0; i < b * FB; i++) data[i] = buf[i] as number;
  const res = await session.run({ pixels: floatTensor(data, [b, SIZE, SIZE, 3]) }, [output]);
  const t = res[output] as OnnxTensor;
  const f = t.data as Float32Array;
  if (asU8) writeSync(fout, Uint8Array.from(f, (v) => Math.max(0, Math.min(255, Math.round(v)))));
  else writeSync(fout, new Uint8Array(f.buffer, f.byteOffset, f.byteLength));
  if ((s / BATCH) % 100 === 0) console.log(`backbone-features: ${s + b}/${n} (${((performance.now() - started) / (s + b)).toFixed(1)} ms/frame)`);
}
closeSync(fin);
closeSync(fout);
renameSync(out + '.tmp', out);
console.log(`backbone-features: wrote ${n} x ${output} to ${out} in ${((performance.now() - started) / 1000).toFixed(0)} s`);
