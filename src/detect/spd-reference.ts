/**
 * The SPD detector's plain inference path, kept as the executable specification of what
 * `createSpdDetector` must return: every input window (the whole matrix, or the fallback windows of
 * a huge one) cut into a fresh zero-padded array, one box object per location above minScore, a
 * full sort before NMS. The fast path in spd-detector.ts is checked against it
 * (test/integration/spd-detector.test.ts, bench/spd-speed.ts); select it with
 * `createSpdDetector(…, { reference: true })`.
 */
import type { Matrix } from '../match/similarity.js';
import { floatTensor, type OnnxRunner } from '../embed/onnx.js';
import { calibrate, cellBox, decodeTile, diagonalSimilarity, fuseBands, intersectionArea, nms, type CellBox } from './boxes.js';
import { copyWindow } from './channels.js';
import { inputPad, type SpdInferenceOptions, type SpdMeta } from './meta.js';
import { planWindows } from './tiling.js';
import { refineBoxWithRepeats } from './refine.js';
import { scaleBoxes, upsampleFactor, upsampleNearest } from './upsample.js';

/** The k best-scoring boxes (all of them when there are at most k). */
function topK(boxes: CellBox[], k: number): CellBox[] {
  if (boxes.length <= k) return boxes;
  return boxes.sort((a, b) => b.score - a.score).slice(0, k);
}

export async function referenceDetect(session: OnnxRunner, meta: SpdMeta, options: SpdInferenceOptions, matrix: Matrix): Promise<CellBox[]> {
  const { stride } = meta;
  if (matrix.rows === 0 || matrix.cols === 0) return [];
  const up = upsampleFactor(matrix.rows, matrix.cols, options.upsampleMaxCells);
  const sim = upsampleNearest(matrix, up);
  const { rows, cols } = sim;
  const { height, width, origins } = planWindows(rows, cols, stride, options.maxCells, options.tile, options.tileStride);
  const grid = height / stride;
  const gridCols = width / stride;
  const winFloats = height * width;
  const outFloats = 5 * grid * gridCols;
  const raw: CellBox[] = [];
  for (let start = 0; start < origins.length; start += options.batch) {
    const chunk = origins.slice(start, start + options.batch);
    const input = new Float32Array(chunk.length * winFloats);
    chunk.forEach((t, k) => copyWindow(sim, t.row, t.col, height, width, input, k * winFloats, inputPad(meta)));
    const valid = Float32Array.from(chunk.flatMap((t) => [Math.min(height, rows - t.row), Math.min(width, cols - t.col)]));
    const tensor = floatTensor(input, [chunk.length, 1, height, width]);
    const result = await session.run({ [meta.input.name]: tensor, [meta.input.valid]: floatTensor(valid, [chunk.length, 2]) });
    const output = result[meta.output.name];
    const data = output.data as Float32Array;
    chunk.forEach((t, k) => raw.push(...decodeTile(data, k * outFloats, { grid, gridCols, stride, row: t.row, col: t.col, rows, cols, tile: start + k, boxScale: meta.output.boxScale }, options.minScore)));
    tensor.dispose?.();
    output.dispose?.();
  }
  return finishBoxes(matrix, scaleBoxes(topK(raw, options.preNmsTopK), up), options, meta.calibration);
}

/** The box's diagonal similarity and its calibrated score. */
function calibrated(sim: Matrix, x: CellBox, calibration: SpdMeta['calibration']): { diag: number; score: number } {
  const diag = diagonalSimilarity(sim, x);
  return { diag, score: calibrate(x.score, calibration.a, calibration.b, calibration.c ?? 0, diag) };
}

/**
 * NMS → fusion of bands cut by window borders → NMS again → ends refined on the band's path (when
 * refineMargin > 0) → NMS once more (two boxes can refine to one path) → calibrated scores, best
 * first (both inference paths).
 */
export function finishBoxes(sim: Matrix, best: CellBox[], options: SpdInferenceOptions, calibration: SpdMeta['calibration']): CellBox[] {
  const kept = fuseBands(nms(best, options.nmsIou, options.containment, options.cutContainment, options.postNmsTopK), options.fuseGap, options.fuseTolerance, options.fuseMinScore, options.fuseSameTile, options.fuseRelTolerance);
  // Fusion can make a box that swallows another one: suppress again.
  let boxes: CellBox[];
  if (options.rankCalibrated) {
    // Keep the maxSegments boxes with the best calibrated score on their unrefined diagonal, not the best
    // raw scores: a confident box over a static block (high raw, low diagonal) must not push a faint copy out.
    const pre = nms(kept, options.nmsIou, options.containment, options.cutContainment).map((x) => ({ x, s: calibrated(sim, x, calibration).score }));
    boxes = pre.sort((p, q) => q.s - p.s).slice(0, options.maxSegments).map((p) => p.x);
  } else boxes = nms(kept, options.nmsIou, options.containment, options.cutContainment, options.maxSegments);
  const parents = new Map<CellBox, CellBox>();
  if (options.refineMargin > 0) {
    const refine = { margin: options.refineMargin, minSimilarity: options.refineMinSimilarity, paths: options.refinePaths };
    const refined = boxes.map((x) => refineBoxWithRepeats(sim, x, refine, options.refineRepeatMargin));
    boxes = nms(refined.map((r) => r[0]), options.nmsIou, options.containment);
    // Repeats only fill places no box holds: they never displace or reshape a detected box. A repeat is
    // never more certain than the box it was found next to: its calibrated score is capped at that box's,
    // and it is marked as that box's repeat (repeatOf) when the box survives, so that whatever drops the
    // box later (the match path's look-alike resolution) drops its repeats too.
    for (const [parent, ...repeats] of refined) {
      for (const repeat of repeats) {
        if (!boxes.every((b) => intersectionArea(b, repeat) === 0)) continue;
        parents.set(repeat, parent);
        boxes.push(repeat);
      }
    }
  }
  // Parents come before their repeats in `boxes`: a surviving parent's output is there when its repeat is reached.
  const out = new Map<CellBox, CellBox>();
  for (const x of boxes) {
    const s = calibrated(sim, x, calibration);
    const parent = parents.get(x);
    const p = parent && out.get(parent);
    const score = parent ? Math.min(s.score, p ? p.score : calibrated(sim, parent, calibration).score) : s.score;
    out.set(x, cellBox(x.q0, x.r0, x.q1, x.r1, score, undefined, undefined, x.score, s.diag, p || undefined));
  }
  return [...out.values()]
    .sort((p, q) => q.score - p.score);
}
