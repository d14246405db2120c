/**
 * The only module that imports onnxruntime-node. Encoders (embed/) and the copy detector (detect/)
 * create sessions and tensors through it.
 */
import * as ort from 'onnxruntime-node';

export type OnnxSession = ort.InferenceSession;
export type OnnxTensor = ort.Tensor;

export async function createOnnxSession(modelPath: string, threads: number): Promise<OnnxSession> {
  return ort.InferenceSession.create(modelPath, {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    executionProviders: ['cpu'],
  });
}

export function floatTensor(data: Float32Array, dims: readonly number[]): OnnxTensor {
  return new ort.Tensor('float32', data, dims);
}

export function intTensor(type: 'int64' | 'int32', values: readonly number[], dims: readonly number[]): OnnxTensor {
  return type === 'int64'
    ? new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims)
    : new ort.Tensor('int32', Int32Array.from(values), dims);
}
