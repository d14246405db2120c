/**
 * SPD copy detector (issue 3; after Ant Group's SPD, ACM MM 2021 / VCSL, CVPR 2022): a copied
 * segment is a bright, roughly diagonal band in the query × reference similarity matrix, found as an
 * object-detection box by a small anchor-free CNN (models/spd-detector, trained by
 * scripts/detector/train.sh). Matrix → channels (channels.ts) → overlapping tiles (tiling.ts) →
 * onnxruntime in batches → boxes (boxes.ts) → NMS → fusion of bands cut by tile borders →
 * calibrated scores → frame-index segments.
 */
import type { Aligner } from '../match/aligner.js';
import type { Matrix } from '../match/similarity.js';
import type { FrameSegment } from '../match/temporal-network.js';
import { createOnnxSession, floatTensor } from '../embed/onnx.js';
import { calibrate, decodeTile, diagonalSimilarity, fuseBands, nms, toFrameSegment, type CellBox } from './boxes.js';
import { CHANNELS, buildChannels, cutTile } from './channels.js';
import { DEFAULT_INFERENCE, loadSpdMeta, type SpdInferenceOptions, type SpdMeta } from './meta.js';
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

/** The k best-scoring boxes (all of them when there are at most k). */
function topK(boxes: CellBox[], k: number): CellBox[] {
  if (boxes.length <= k) return boxes;
  return boxes.sort((a, b) => b.score - a.score).slice(0, k);
}

export async function createSpdDetector(modelsDir: string, threads = 2, overrides: Partial<SpdInferenceOptions> = {}): Promise<SpdDetector> {
  const { meta, modelPath } = loadSpdMeta(modelsDir);
  const options: SpdInferenceOptions = { ...DEFAULT_INFERENCE, ...meta.inference, ...overrides };
  const session = await createOnnxSession(modelPath, threads);
  const { tile, stride } = meta;
  const grid = tile / stride;
  const { a, b } = meta.calibration;
  const c = meta.calibration.c ?? 0;
  const tileFloats = CHANNELS.length * tile * tile;
  const outFloats = 5 * grid * grid;

  async function detect(sim: Matrix): Promise<CellBox[]> {
    const { rows, cols } = sim;
    if (rows === 0 || cols === 0) return [];
    const planes = buildChannels(sim, meta.channelParams);
    const tiles = tileGrid(rows, cols, tile, options.tileStride);
    const raw: CellBox[] = [];
    for (let start = 0; start < tiles.length; start += options.batch) {
      const chunk = tiles.slice(start, start + options.batch);
      const input = new Float32Array(chunk.length * tileFloats);
      chunk.forEach((t, k) => cutTile(planes, rows, cols, t.row, t.col, tile, input, k * tileFloats, true));
      const tensor = floatTensor(input, [chunk.length, CHANNELS.length, tile, tile]);
      const result = await session.run({ [meta.input.name]: tensor });
      const output = result[meta.output.name];
      const data = output.data as Float32Array;
      chunk.forEach((t, k) => raw.push(...decodeTile(data, k * outFloats, { grid, stride, row: t.row, col: t.col, rows, cols, tile: start + k }, options.minScore)));
      tensor.dispose?.();
      output.dispose?.();
    }
    const best = topK(raw, options.preNmsTopK);
    const kept = fuseBands(nms(best, options.nmsIou, options.containment, options.cutContainment).slice(0, options.postNmsTopK), options.fuseGap, options.fuseTolerance, options.fuseMinScore, options.fuseSameTile, options.fuseRelTolerance);
    // Fusion can make a box that swallows another one: suppress again.
    return nms(kept, options.nmsIou, options.containment, options.cutContainment)
      .slice(0, options.maxSegments)
      .map((x) => {
        const diag = diagonalSimilarity(sim, x);
        return { q0: x.q0, r0: x.r0, q1: x.q1, r1: x.r1, score: calibrate(x.score, a, b, c, diag), raw: x.score, diag };
      })
      .sort((p, q) => q.score - p.score);
  }

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
