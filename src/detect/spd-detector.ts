/**
 * SPD copy detector (issue 3; after Ant Group's SPD, ACM MM 2021 / VCSL, CVPR 2022): a copied
 * segment is a bright, roughly diagonal band in the query × reference similarity matrix, found as an
 * object-detection box by a small anchor-free, fully convolutional CNN (models/spd-detector, trained
 * by scripts/detector/train.sh). The WHOLE matrix is one input window: its similarities (handed to
 * onnxruntime as they are when rows and columns are multiples of the output stride, else copied once
 * into a reused buffer padded with meta `input.pad`) and its size; the graph max-pools them 2×2 (a model trained with --pool 2)
 * and builds the five channels (channels.ts is their
 * specification) and runs the network → the best boxes (boxes.ts `decodeTopK`: only locations above
 * minScore are activated, only the preNmsTopK best become boxes) → NMS → calibrated scores →
 * frame-index segments. Matrices above `maxCells` cells (hours × hours) are cut into large
 * overlapping windows instead (tiling.ts planWindows), normalised per window, whose pieces of one
 * band are fused back.
 *
 * Returns exactly what the plain path (spd-reference.ts, kept as the specification) returns.
 */
import type { Aligner } from '../match/aligner.js';
import type { Matrix } from '../match/similarity.js';
import type { FrameSegment } from '../match/temporal-network.js';
import { createOnnxRunner, floatTensor } from '../embed/onnx.js';
import { DECODE_SCRATCH_PER_LOCATION, decodeTopK, toFrameSegments, type CellBox, type DecodeGeometry } from './boxes.js';
import { copyWindow } from './channels.js';
import { DEFAULT_INFERENCE, inputPad, loadSpdMeta, type SpdInferenceOptions, type SpdMeta } from './meta.js';
import { finishBoxes, referenceDetect } from './spd-reference.js';
import { planWindows } from './tiling.js';
import { scaleBoxes, upsampleFactor, upsampleNearest } from './upsample.js';

export interface SpdDetector extends Aligner {
  readonly meta: SpdMeta;
  readonly options: SpdInferenceOptions;
  /** Encoder fingerprint the detector was trained with. */
  readonly encoderFingerprint: string;
  /** onnxruntime intra-op threads in use: min(threads asked for, options.threads). */
  readonly threads: number;
  /** Calibrated boxes in cell coordinates (with their raw score and diagonal similarity), best first; no threshold applied. */
  detect(sim: Matrix): Promise<CellBox[]>;
  close(): Promise<void>;
}

export interface SpdImplementation {
  /** Run the plain inference path (spd-reference.ts) instead of the fast one: for equality checks and benchmarks. */
  reference?: boolean;
}

export async function createSpdDetector(
  modelsDir: string,
  threads = 2,
  overrides: Partial<SpdInferenceOptions> = {},
  impl: SpdImplementation = {},
): Promise<SpdDetector> {
  const { meta, modelPath } = loadSpdMeta(modelsDir);
  const options: SpdInferenceOptions = { ...DEFAULT_INFERENCE, ...meta.inference, ...overrides };
  const intraOp = Math.max(1, Math.min(threads, options.threads));
  const session = await createOnnxRunner(modelPath, intraOp);
  const { stride } = meta;
  const pad = inputPad(meta);
  // Reused between calls (a call that finds them in use, e.g. a concurrent one, allocates its own).
  let input = new Float32Array(0);
  let output = new Float32Array(0);
  let decodeScratch = new Float64Array(0);
  let busy = false;

  async function detectFast(matrix: Matrix): Promise<CellBox[]> {
    if (matrix.rows === 0 || matrix.cols === 0) return [];
    // A small matrix is seen at twice its resolution (upsample.ts); boxes come back in its own cells.
    const up = upsampleFactor(matrix.rows, matrix.cols, options.upsampleMaxCells);
    const sim = upsampleNearest(matrix, up);
    const { rows, cols } = sim;
    const { height, width, origins } = planWindows(rows, cols, stride, options.maxCells, options.tile, options.tileStride);
    const grid = height / stride;
    const gridCols = width / stride;
    const winFloats = height * width;
    const outFloats = 5 * grid * gridCols;
    const geoms: DecodeGeometry[] = origins.map((t, k) => ({ grid, gridCols, stride, row: t.row, col: t.col, rows, cols, tile: k, boxScale: meta.output.boxScale }));
    const own = busy;
    busy = true;
    try {
      const batch = Math.max(1, Math.min(options.batch, origins.length));
      // The matrix itself is the input when it needs no padding (zero copies).
      const direct = origins.length === 1 && height === rows && width === cols;
      let inBuf = input;
      if (!direct && (own || inBuf.length < batch * winFloats)) inBuf = new Float32Array(batch * winFloats);
      let outBuf = own ? new Float32Array(0) : output;
      if (origins.length > batch && outBuf.length < origins.length * outFloats) outBuf = new Float32Array(origins.length * outFloats);
      let all: Float32Array = outBuf;
      const valid = new Float32Array(2 * batch);
      for (let start = 0; start < origins.length; start += batch) {
        const n = Math.min(batch, origins.length - start);
        for (let k = 0; k < n; k++) {
          const o = origins[start + k];
          if (!direct) copyWindow(sim, o.row, o.col, height, width, inBuf, k * winFloats, pad);
          valid[2 * k] = Math.min(height, rows - o.row);
          valid[2 * k + 1] = Math.min(width, cols - o.col);
        }
        const view = direct ? sim.data : n * winFloats === inBuf.length ? inBuf : new Float32Array(inBuf.buffer, 0, n * winFloats);
        const tensor = floatTensor(view, [n, 1, height, width]);
        const sizes = floatTensor(n * 2 === valid.length ? valid : valid.subarray(0, 2 * n), [n, 2]);
        const result = await session.run({ [meta.input.name]: tensor, [meta.input.valid]: sizes });
        const out = result[meta.output.name];
        const data = out.data as Float32Array;
        if (start === 0 && n === origins.length) all = data;
        else all.set(data.subarray(0, n * outFloats), start * outFloats);
        tensor.dispose?.();
        sizes.dispose?.();
        if (all !== data) out.dispose?.();
      }
      if (!own) {
        if (!direct) input = inBuf;
        output = outBuf;
      }
      const locations = origins.length * grid * gridCols;
      if (!own && decodeScratch.length < DECODE_SCRATCH_PER_LOCATION * locations) decodeScratch = new Float64Array(DECODE_SCRATCH_PER_LOCATION * locations);
      const best = scaleBoxes(decodeTopK(all, geoms, options.minScore, options.preNmsTopK, own ? undefined : decodeScratch), up);
      return finishBoxes(matrix, best, options, meta.calibration);
    } finally {
      if (!own) busy = false;
    }
  }

  const detect = impl.reference ? (sim: Matrix) => referenceDetect(session, meta, options, sim) : detectFast;

  return {
    name: 'spd',
    threshold: meta.threshold,
    meta,
    options,
    encoderFingerprint: meta.encoder.fingerprint,
    threads: intraOp,
    detect,
    async align(sim: Matrix): Promise<FrameSegment[]> {
      return toFrameSegments(await detect(sim), sim.rows, sim.cols);
    },
    async close() {
      await session.release();
    },
  };
}
