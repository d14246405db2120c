/** Frame encoding with an ONNX image model: batching, pixel conversion and output normalisation. */
import type { Frame, FrameFit } from '../decode/frames.js';
import { InvalidArgumentError } from '../errors.js';
import type { ResolvedModel } from './registry.js';
import { createOnnxSession, floatTensor } from './onnx.js';
import { l2normalize } from './vector-math.js';

export interface FrameEncoder {
  readonly model: ResolvedModel;
  readonly dim: number;
  /** The square frame size the decoder must produce. */
  readonly inputSize: number;
  /** How the decoder fits frames to inputSize (default 'stretch'); CLIP encoders need 'cover'. */
  readonly fit?: FrameFit;
  /** L2-normalised embeddings, one per frame, in order. */
  embed(frames: readonly Frame[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

export const ENCODER_BATCH = 16;

export async function createFrameEncoder(model: ResolvedModel, threads = 2): Promise<FrameEncoder> {
  if (model.kind === 'clip') {
    throw new InvalidArgumentError(`model ${model.id} is a CLIP folder model: create its encoder with createEncoderForModel (src/embed/create-encoder.ts)`);
  }
  const session = await createOnnxSession(model.absolutePath, threads);
  const size = model.inputSize;
  const [lo, hi] = model.range;
  const scale = (hi - lo) / 255;

  async function embedBatch(frames: readonly Frame[]): Promise<Float32Array[]> {
    const pixels = size * size * 3;
    const data = new Float32Array(frames.length * pixels);
    frames.forEach((frame, b) => {
      if (frame.width !== size || frame.height !== size) {
        throw new InvalidArgumentError(`encoder ${model.id} needs ${size}x${size} frames, got ${frame.width}x${frame.height}`);
      }
      const offset = b * pixels;
      if (model.layout === 'NHWC') {
        for (let i = 0; i < pixels; i++) data[offset + i] = lo + frame.rgb[i] * scale;
      } else {
        const plane = size * size;
        for (let p = 0; p < plane; p++) {
          data[offset + p] = lo + frame.rgb[p * 3] * scale;
          data[offset + plane + p] = lo + frame.rgb[p * 3 + 1] * scale;
          data[offset + 2 * plane + p] = lo + frame.rgb[p * 3 + 2] * scale;
        }
      }
    });
    const dims = model.layout === 'NHWC' ? [frames.length, size, size, 3] : [frames.length, 3, size, size];
    const input = floatTensor(data, dims);
    const out = await session.run({ [model.input]: input }, [model.outputs.embedding]);
    const tensor = out[model.outputs.embedding];
    const flat = tensor.data as Float32Array;
    const dim = flat.length / frames.length;
    const result: Float32Array[] = [];
    for (let b = 0; b < frames.length; b++) result.push(l2normalize(flat.slice(b * dim, (b + 1) * dim)));
    input.dispose?.();
    tensor.dispose?.();
    return result;
  }

  return {
    model,
    dim: model.dim,
    inputSize: size,
    async embed(frames) {
      const vectors: Float32Array[] = [];
      for (let i = 0; i < frames.length; i += ENCODER_BATCH) {
        vectors.push(...(await embedBatch(frames.slice(i, i + ENCODER_BATCH))));
      }
      return vectors;
    },
    async close() {
      await session.release();
    },
  };
}
