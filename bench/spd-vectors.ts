/**
 * Keyframe vectors of the copy benchmark's clips (references and queries of a manifest written by
 * datasets/generate.ts), computed as the library computes them (`extractKeyframes`, the library's
 * default encoder and keyframe selector, the configured fps) and cached under .cache/spd-speed/ so
 * that bench/spd-speed.ts can rebuild its matrices without decoding and embedding every run.
 * A cache entry is keyed by encoder fingerprint, fps, the sampling rule, and the file's path, size and mtime.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT, type Config } from '../src/config.js';
import { createEncoder } from '../src/embed/create-encoder.js';
import type { FrameEncoder } from '../src/embed/onnx-encoder.js';
import { resolveModel } from '../src/embed/registry.js';
import { allFrames } from '../src/keyframes/selector.js';
import { extractKeyframes } from '../src/library/extract.js';
import { SAMPLING_RULE } from '../src/decode/frames.js';

export const VECTOR_CACHE = path.join(PROJECT_ROOT, '.cache', 'spd-speed');

export interface ClipVectors {
  id: string;
  vectors: Float32Array[];
}

export interface VectorSource {
  dim: number;
  fingerprint: string;
  /** Vectors of one file (cached). */
  get(id: string, file: string): Promise<ClipVectors>;
  close(): Promise<void>;
}

export async function openVectorSource(config: Config, log: (s: string) => void = () => {}): Promise<VectorSource> {
  const model = resolveModel(config.modelsDir, config.modelId);
  const dim = model.dim;
  const dir = path.join(VECTOR_CACHE, model.fingerprint.replace(/[^A-Za-z0-9._-]+/g, '_'), `fps${config.sampleFps}`);
  mkdirSync(dir, { recursive: true });
  let encoder: FrameEncoder | undefined;
  return {
    dim,
    fingerprint: model.fingerprint,
    async get(id, file) {
      const abs = path.resolve(file);
      const st = statSync(abs);
      const key = createHash('sha256').update(`${abs}\0${st.size}\0${st.mtimeMs}\0${SAMPLING_RULE}`).digest('hex').slice(0, 16);
      const bin = path.join(dir, `${id}.${key}.f32`);
      if (existsSync(bin)) {
        const buf = readFileSync(bin);
        const all = new Float32Array(buf.buffer, buf.byteOffset, buf.byteLength / 4).slice();
        const n = all.length / dim;
        return { id, vectors: Array.from({ length: n }, (_, k) => all.subarray(k * dim, (k + 1) * dim)) };
      }
      encoder ??= await createEncoder(model, config.modelsDir, config.threads);
      const t = performance.now();
      const x = await extractKeyframes(abs, encoder, config.sampleFps, allFrames);
      const all = new Float32Array(x.vectors.length * dim);
      x.vectors.forEach((v, k) => all.set(v, k * dim));
      writeFileSync(bin, Buffer.from(all.buffer, all.byteOffset, all.byteLength));
      log(`embedded ${id}: ${x.vectors.length} keyframes in ${((performance.now() - t) / 1000).toFixed(1)} s`);
      return { id, vectors: Array.from({ length: x.vectors.length }, (_, k) => all.subarray(k * dim, (k + 1) * dim)) };
    },
    async close() {
      await encoder?.close();
    },
  };
}
