import type { Matrix } from '../match/similarity.js';
import { temporalNetwork, type FrameSegment } from '../match/temporal-network.js';
import { toFrameSegment, type CellBox } from './boxes.js';

/**
 * Box refinement: the detector says WHERE a copy is (which band, which reference, how confident);
 * the band's own cells say exactly where it starts and ends. Inside the detected box, widened by
 * `margin` keyframes on every side, the strongest monotonic path of high-similarity cells (the
 * temporal network's path search, src/match/temporal-network.ts, on that region only) gives the
 * refined ends. The detector's score is kept: the path only moves the ends. A box whose region has
 * no path overlapping it keeps its own ends.
 */
export interface RefineOptions {
  /** Keyframes added on each side of the box (query axis; the reference axis scales it by the box slope, at most ×4). */
  margin: number;
  /**
   * Cells below this similarity are not on the path (the encoder's vote floor), nor below half-way
   * between the box's band level (mean over its rows of the best cell within its columns) and the
   * mean of the widened region: where unrelated footage is itself above the floor, the path still
   * stops where the band does.
   */
  minSimilarity: number;
  /** Best reference cells per query row considered. */
  topK: number;
  /** Largest step between consecutive path cells, on either axis. */
  maxStep: number;
  /** The path must cover at least this fraction of the box's query span (else the box keeps its ends). */
  minOverlap: number;
  /**
   * When the strongest path misses the box (a stronger copy next to it, reached through the margin), the
   * strongest of this many paths that covers it is taken instead. 1: the strongest path or nothing.
   */
  paths: number;
}

export const DEFAULT_REFINE: RefineOptions = { margin: 3, minSimilarity: 0.35, topK: 5, maxStep: 4, minOverlap: 0.3, paths: 3 };

/** Mean similarity of the rows r0..r1 × columns c0..c1 (inclusive), summed in row-major order. */
function regionMean(sim: Matrix, r0: number, r1: number, c0: number, c1: number): number {
  const { cols, data } = sim;
  let t = 0;
  for (let i = r0; i <= r1; i++) for (let k = i * cols + c0, end = i * cols + c1; k <= end; k++) t += data[k];
  const n = (r1 - r0 + 1) * (c1 - c0 + 1);
  return n > 0 ? t / n : 0;
}

/** Mean over the segment's query rows of the best similarity within its reference columns. */
function bandLevel(sim: Matrix, seg: FrameSegment): number {
  let t = 0;
  for (let i = seg.queryStart; i <= seg.queryEnd; i++) {
    let best = -Infinity;
    for (let j = seg.refStart; j <= seg.refEnd; j++) best = Math.max(best, sim.data[i * sim.cols + j]);
    t += best;
  }
  return t / (seg.queryEnd - seg.queryStart + 1);
}

/** The segment with its ends moved to the band's path inside its widened box (same score). */
export function refineSegment(sim: Matrix, seg: FrameSegment, options: Partial<RefineOptions> = {}): FrameSegment {
  return refineWithRepeats(sim, seg, options).segment;
}

/**
 * refineSegment, and (with `repeatMargin` ≥ 0) the repeats its path search met: paths of the widened box
 * that share no query keyframe with the refined segment, hold at least `minRepeatSupport` keyframes and
 * whose mean similarity is at least the refined path's minus `repeatMargin` (same footage copied twice,
 * closer together than the detector can tell apart). Repeats carry the segment's score.
 */
export function refineWithRepeats(
  sim: Matrix,
  seg: FrameSegment,
  options: Partial<RefineOptions> = {},
  repeatMargin = -1,
  minRepeatSupport = 3,
): { segment: FrameSegment; repeats: FrameSegment[] } {
  const o = { ...DEFAULT_REFINE, ...options };
  const qLen = seg.queryEnd - seg.queryStart + 1;
  const rLen = seg.refEnd - seg.refStart + 1;
  const slope = Math.min(4, Math.max(1, rLen / qLen));
  const mq = o.margin;
  const mr = Math.ceil(o.margin * slope);
  const r0 = Math.max(0, seg.queryStart - mq);
  const r1 = Math.min(sim.rows - 1, seg.queryEnd + mq);
  const c0 = Math.max(0, seg.refStart - mr);
  const c1 = Math.min(sim.cols - 1, seg.refEnd + mr);
  const floor = Math.max(o.minSimilarity, (bandLevel(sim, seg) + regionMean(sim, r0, r1, c0, c1)) / 2);
  const covers = (p: FrameSegment) => Math.min(p.queryEnd + r0, seg.queryEnd) - Math.max(p.queryStart + r0, seg.queryStart) + 1 >= o.minOverlap * qLen;
  // Paths are extracted strongest first; the first that covers the box ends the search (usually the first).
  const window = { row0: r0, col0: c0, rows: r1 - r0 + 1, cols: c1 - c0 + 1 };
  const tn = { minSimilarity: floor, topK: o.topK, maxStep: o.maxStep, minSupport: 2, maxSegments: Math.max(1, o.paths) };
  // Without repeats the extraction stops at the first path that covers the box; with them it goes on,
  // and the box still takes the first covering path in extraction order.
  let first: FrameSegment | undefined;
  const watch = (p: FrameSegment) => {
    if (!first && covers(p)) first = p;
    return repeatMargin < 0 && first !== undefined;
  };
  const paths = temporalNetwork(sim, tn, watch, window);
  const path = first;
  if (!path) return { segment: seg, repeats: [] };
  // A path of the window, in the whole matrix's keyframes.
  const inMatrix = (p: FrameSegment, score: number, support: number): FrameSegment => ({
    queryStart: p.queryStart + r0,
    queryEnd: p.queryEnd + r0,
    refStart: p.refStart + c0,
    refEnd: p.refEnd + c0,
    score,
    support,
  });
  const segment = inMatrix(path, seg.score, Math.max(seg.support, path.support));
  const repeats =
    repeatMargin < 0
      ? []
      : paths
          .filter((p) => p !== path && p.support >= minRepeatSupport && p.score >= path.score - repeatMargin)
          .filter((p) => p.queryEnd < path.queryStart || p.queryStart > path.queryEnd)
          .map((p) => inMatrix(p, seg.score, p.support));
  return { segment, repeats };
}

/** refineSegment for a detector box in cell coordinates (keyframes = cells whose centre the box holds, boxes.ts toFrameSegment). */
export function refineBox(sim: Matrix, box: CellBox, options: Partial<RefineOptions> = {}): CellBox {
  return refineBoxWithRepeats(sim, box, options)[0];
}

/** refineWithRepeats for a detector box: the refined box first, then its repeats (same raw score, not cut). */
export function refineBoxWithRepeats(sim: Matrix, box: CellBox, options: Partial<RefineOptions> = {}, repeatMargin = -1): CellBox[] {
  const seg = toFrameSegment(box, sim.rows, sim.cols);
  const { segment: r, repeats } = refineWithRepeats(sim, seg, options, repeatMargin);
  const toBox = (x: FrameSegment): CellBox => ({ ...box, q0: x.queryStart, q1: x.queryEnd + 1, r0: x.refStart, r1: x.refEnd + 1 });
  const refined = r === seg ? box : toBox(r);
  return [refined, ...repeats.map((x) => ({ ...toBox(x), cut: undefined }))];
}
