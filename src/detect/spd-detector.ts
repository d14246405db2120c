/**
 * SPD copy detector (issue 3; after Ant Group's SPD, ACM MM 2021 / VCSL, CVPR 2022): a copied
 * segment is a bright, roughly diagonal band in the query × reference similarity matrix, found as an
 * object-detection box by a small anchor-free CNN (models/spd-detector, trained by
 * scripts/detector/train.sh). Matrix → channel statistics (channels.ts) → overlapping tiles
 * (tiling.ts), written straight into one reused input buffer → onnxruntime in batches → the best
 * boxes (boxes.ts `decodeTopK`) → NMS → fusion of bands cut by tile borders → calibrated scores →
 * frame-index segments.
 *
 * Returns exactly what the original path (spd-reference.ts, kept as the specification) returns; the
 * difference is where the time goes: no whole-matrix planes, no per-tile arrays, no box object for
 * each of the thousands of output locations above minScore (only for the preNmsTopK best).
 */
import type { Aligner } from '../match/aligner.js';
import type { Matrix } from '../match/similarity.js';
import type { FrameSegment } from '../match/temporal-network.js';
import { createOnnxSession, floatTensor } from '../embed/onnx.js';
import { decodeTopK, toFrameSegment, type CellBox, type DecodeGeometry } from './boxes.js';
import { CHANNELS, channelStats, writeTile } from './channels.js';
import { DEFAULT_INFERENCE, loadSpdMeta, type SpdInferenceOptions, type SpdMeta } from './meta.js';
import { finishBoxes, referenceDetect } from './spd-reference.js';
import { tileGrid } from './tiling.js';

export interface SpdDetector extends Aligner {
  readonly meta: SpdMeta;
  readonly options: SpdInferenceOptions;
  /** Encoder fingerprint the detector was trained with. */
  readonly encoderFingerprint: string;
  /** Calibrated boxes in cell coordinates (with their raw score and diagonal similarity), best first; no threshold applied. */
  detect(sim: Matrix): Promise<CellBox[]>;
  close(): Promise<void>;
}

export interface SpdImplementation {
  /** Run the original inference path (spd-reference.ts) instead of the fast one: for equality checks and benchmarks. */
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
  const session = await createOnnxSession(modelPath, threads);
  const { tile, stride } = meta;
  const grid = tile / stride;
  const tileFloats = CHANNELS.length * tile * tile;
  const outFloats = 5 * grid * grid;
  // Reused between calls (a call that finds them in use, e.g. a concurrent one, allocates its own).
  let input = new Float32Array(0);
  let output = new Float32Array(0);
  let scores = new Float32Array(0);
  let busy = false;

  async function detectFast(sim: Matrix): Promise<CellBox[]> {
    const { rows, cols } = sim;
    if (rows === 0 || cols === 0) return [];
    const stats = channelStats(sim, meta.channelParams);
    const tiles = tileGrid(rows, cols, tile, options.tileStride);
    const geoms: DecodeGeometry[] = tiles.map((t, k) => ({ grid, stride, row: t.row, col: t.col, rows, cols, tile: k }));
    const own = busy;
    busy = true;
    try {
      const batch = Math.max(1, Math.min(options.batch, tiles.length));
      let inBuf = input;
      if (own || inBuf.length < batch * tileFloats) inBuf = new Float32Array(batch * tileFloats);
      let outBuf = own ? new Float32Array(0) : output;
      if (tiles.length > batch && outBuf.length < tiles.length * outFloats) outBuf = new Float32Array(tiles.length * outFloats);
      let all: Float32Array = outBuf;
      for (let start = 0; start < tiles.length; start += batch) {
        const n = Math.min(batch, tiles.length - start);
        for (let k = 0; k < n; k++) writeTile(sim, stats, meta.channelParams, tiles[start + k].row, tiles[start + k].col, tile, inBuf, k * tileFloats);
        const view = n * tileFloats === inBuf.length ? inBuf : new Float32Array(inBuf.buffer, 0, n * tileFloats);
        const tensor = floatTensor(view, [n, CHANNELS.length, tile, tile]);
        const result = await session.run({ [meta.input.name]: tensor });
        const out = result[meta.output.name];
        const data = out.data as Float32Array;
        if (start === 0 && n === tiles.length) all = data;
        else all.set(data.subarray(0, n * outFloats), start * outFloats);
        tensor.dispose?.();
        if (all !== data) out.dispose?.();
      }
      if (!own) {
        input = inBuf;
        output = outBuf;
      }
      if (!own && scores.length < tiles.length * grid * grid) scores = new Float32Array(tiles.length * grid * grid);
      const best = decodeTopK(all, geoms, options.minScore, options.preNmsTopK, own ? undefined : scores);
      return finishBoxes(sim, best, options, meta.calibration);
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
    detect,
    async align(sim: Matrix): Promise<FrameSegment[]> {
      return (await detect(sim)).map((x) => toFrameSegment(x, sim.rows, sim.cols));
    },
    async close() {
      await session.release();
    },
  };
}
