/**
 * The only module that imports onnxruntime-node. Encoders (embed/) and the copy detector (detect/)
 * create sessions and tensors through it.
 */
import { createRequire } from 'node:module';
import * as ort from 'onnxruntime-node';

export type OnnxSession = ort.InferenceSession;
export type OnnxTensor = ort.Tensor;

const SESSION_OPTIONS = (threads: number) => ({
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  graphOptimizationLevel: 'all',
  executionProviders: ['cpu'],
}) as const;

export async function createOnnxSession(modelPath: string, threads: number): Promise<OnnxSession> {
  return ort.InferenceSession.create(modelPath, SESSION_OPTIONS(threads));
}

/**
 * A session for many small runs (the copy detector runs once per query × reference pair). onnxruntime-node's
 * `InferenceSession.run` defers the native call, which itself runs synchronously on the calling thread, to the
 * next turn of the event loop (setImmediate) and wraps the result in a promise; on a 120×600 similarity matrix
 * that turn was 0.06-0.08 ms of a 0.3-0.5 ms call (docs/decision-threshold.md, stop 20). A direct runner makes the same native
 * call at once through the package's binding module (`onnxruntime-node/dist/binding.js`, the one its backend
 * uses): same graph, same session options, same outputs; the event loop is blocked exactly as long as with the
 * deferred call. The binding is not part of the package's public API, so it is used only when it is there with
 * the shape this was written against (onnxruntime-node 1.30); otherwise, or with `direct: false`, the runner
 * goes through the public InferenceSession (`direct` tells which; test/integration/onnx-runner.test.ts checks
 * that the installed version runs direct and gives the public API's outputs bit for bit).
 */
export interface OnnxRunner {
  /** True when runs call the native binding directly. */
  readonly direct: boolean;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  run(feeds: Record<string, OnnxTensor>): Promise<Record<string, OnnxTensor>>;
  release(): Promise<void>;
}

interface NativeSession {
  loadModel(path: string, options: object): void;
  run(feeds: Record<string, OnnxTensor>, fetches: Record<string, null>, options: object): Record<string, unknown>;
  dispose(): void;
  readonly inputMetadata: readonly { name: string }[];
  readonly outputMetadata: readonly { name: string }[];
}

interface NativeBinding {
  InferenceSession: new () => NativeSession;
}

let nativeBinding: NativeBinding | null | undefined;

/** onnxruntime-node's native binding, initialised as its backend initialises it; null when this version has none of that shape. */
function loadNativeBinding(): NativeBinding | null {
  if (nativeBinding !== undefined) return nativeBinding;
  nativeBinding = null;
  try {
    const mod = createRequire(import.meta.url)('onnxruntime-node/dist/binding.js') as { binding?: Partial<NativeBinding>; initOrt?: () => void };
    const proto = mod.binding?.InferenceSession?.prototype as Partial<NativeSession> | undefined;
    if (typeof mod.initOrt === 'function' && proto && typeof proto.loadModel === 'function' && typeof proto.run === 'function' && typeof proto.dispose === 'function') {
      mod.initOrt();
      nativeBinding = mod.binding as NativeBinding;
    }
  } catch {
    // another layout of the package: the public API it is
  }
  return nativeBinding;
}

export async function createOnnxRunner(modelPath: string, threads: number, { direct = true }: { direct?: boolean } = {}): Promise<OnnxRunner> {
  const binding = direct ? loadNativeBinding() : null;
  if (!binding) {
    const session = await createOnnxSession(modelPath, threads);
    return { direct: false, inputNames: session.inputNames, outputNames: session.outputNames, run: (feeds) => session.run(feeds), release: () => session.release() };
  }
  const native = new binding.InferenceSession();
  native.loadModel(modelPath, SESSION_OPTIONS(threads));
  const inputNames = native.inputMetadata.map((m) => m.name);
  const outputNames = native.outputMetadata.map((m) => m.name);
  const fetches: Record<string, null> = Object.fromEntries(outputNames.map((n) => [n, null]));
  return {
    direct: true,
    inputNames,
    outputNames,
    async run(feeds) {
      for (const name of inputNames) if (feeds[name] === undefined) throw new Error(`input '${name}' is missing in 'feeds'.`);
      const results = native.run(feeds, fetches, {});
      const out: Record<string, OnnxTensor> = {};
      for (const [name, value] of Object.entries(results)) {
        const v = value as OnnxTensor | { type: OnnxTensor['type']; data: OnnxTensor['data']; dims: readonly number[] };
        out[name] = v instanceof ort.Tensor ? v : new ort.Tensor(v.type as 'float32', v.data as Float32Array, v.dims);
      }
      return out;
    },
    async release() {
      native.dispose();
    },
  };
}

export function floatTensor(data: Float32Array, dims: readonly number[]): OnnxTensor {
  return new ort.Tensor('float32', data, dims);
}

export function intTensor(type: 'int64' | 'int32', values: readonly number[], dims: readonly number[]): OnnxTensor {
  return type === 'int64'
    ? new ort.Tensor('int64', BigInt64Array.from(values, (v) => BigInt(v)), dims)
    : new ort.Tensor('int32', Int32Array.from(values), dims);
}
