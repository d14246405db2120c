/**
 * The SPD detector's original inference path, kept verbatim as the executable specification of
 * what `createSpdDetector` must return: whole-matrix channel planes, every tile cut into a fresh
 * array, one box object per location above minScore, a full sort before NMS. The fast path in
 * spd-detector.ts is checked against it (test/integration/spd-detector.test.ts,
 * bench/spd-speed.ts); select it with `createSpdDetector(…, { reference: true })`.
 */
import type { Matrix } from '../match/similarity.js';
import { floatTensor, type OnnxSession } from '../embed/onnx.js';
import { calibrate, decodeTile, diagonalSimilarity, fuseBands, nms, type CellBox } from './boxes.js';
import { CHANNELS, buildChannels, cutTile } from './channels.js';
import type { SpdInferenceOptions, SpdMeta } from './meta.js';
import { tileGrid } from './tiling.js';

/** The k best-scoring boxes (all of them when there are at most k). */
function topK(boxes: CellBox[], k: number): CellBox[] {
  if (boxes.length <= k) return boxes;
  return boxes.sort((a, b) => b.score - a.score).slice(0, k);
}

export async function referenceDetect(session: OnnxSession, meta: SpdMeta, options: SpdInferenceOptions, sim: Matrix): Promise<CellBox[]> {
  const { tile, stride } = meta;
  const grid = tile / stride;
  const tileFloats = CHANNELS.length * tile * tile;
  const outFloats = 5 * grid * grid;
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
  return finishBoxes(sim, topK(raw, options.preNmsTopK), options, meta.calibration);
}

/** NMS → fusion of bands cut by tile borders → NMS again → calibrated scores, best first (both inference paths). */
export function finishBoxes(sim: Matrix, best: CellBox[], options: SpdInferenceOptions, calibration: SpdMeta['calibration']): CellBox[] {
  const { a, b } = calibration;
  const c = calibration.c ?? 0;
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
