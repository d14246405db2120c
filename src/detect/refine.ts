import type { Matrix } from '../match/similarity.js';
import { scratchLender } from '../match/scratch.js';
import { keepBest, temporalNetworkOnBestCells, type BestCells, type FrameSegment } from '../match/temporal-network.js';
import { cellBox, toFrameSegment, type CellBox } from './boxes.js';

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

/**
 * One pass over the widened box r0..r1 × c0..c1 (inclusive) for the three things refinement reads from it: the
 * sum of its cells (row-major order), the segment's band level (mean over its rows of the best similarity within
 * its columns; the segment lies inside the box) and each row's k best cells at or above `lower` (best first, the
 * lower column first among equals, in box columns: temporalNetworkOnBestCells). Returns the region's mean and the
 * band level; fills `cells`.
 */
function scanWidenedBox(sim: Matrix, seg: FrameSegment, r0: number, r1: number, c0: number, c1: number, lower: number, cells: BestCells): { mean: number; band: number } {
  const { cols, data } = sim;
  const { k, count, col, sim: best } = cells;
  let total = 0;
  let band = 0;
  for (let i = r0; i <= r1; i++) {
    const row = i * cols;
    const at = (i - r0) * k;
    let n = 0;
    // The row's columns in three runs: before the band's columns, the band's (on its rows only), after them.
    const inBand = i >= seg.queryStart && i <= seg.queryEnd;
    const b0 = inBand ? seg.refStart : c1 + 1;
    const b1 = inBand ? seg.refEnd : c1;
    for (let j = c0; j < b0; j++) {
      const v = data[row + j];
      total += v;
      if (v >= lower) n = keepBest(best, col, at, k, n, v, j - c0);
    }
    let level = -Infinity;
    for (let j = b0; j <= b1; j++) {
      const v = data[row + j];
      total += v;
      level = Math.max(level, v);
      if (v >= lower) n = keepBest(best, col, at, k, n, v, j - c0);
    }
    for (let j = b1 + 1; j <= c1; j++) {
      const v = data[row + j];
      total += v;
      if (v >= lower) n = keepBest(best, col, at, k, n, v, j - c0);
    }
    count[i - r0] = n;
    if (inBand) band += level;
  }
  const n = (r1 - r0 + 1) * (c1 - c0 + 1);
  return { mean: n > 0 ? total / n : 0, band: band / (seg.queryEnd - seg.queryStart + 1) };
}

/**
 * Best-cell buffers reused between refinements (a nested refinement gets its own), `capacity` cells each: a
 * window of `rows` rows with k cells per row borrows rows · max(1, k), which also holds its `rows` counts.
 */
const withCells = scratchLender(
  (capacity): BestCells => ({ rows: 0, k: 0, count: new Int32Array(capacity), col: new Int32Array(capacity), sim: new Float64Array(capacity) }),
  (cells) => cells.col.length,
);

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
  if (seg.queryStart < r0 || seg.queryEnd > r1 || seg.refStart < c0 || seg.refEnd > c1) throw new RangeError(`refine: segment ${JSON.stringify(seg)} outside the ${sim.rows}x${sim.cols} matrix`);
  // The temporal network's path search on the widened box (temporalNetwork with that window), its rows' best cells
  // found by the same pass that takes the box's mean and band level: cells at or above o.minSimilarity, of which
  // the search keeps those at or above the floor.
  const k = Math.max(0, Math.floor(o.topK));
  const rows = r1 - r0 + 1;
  // Without repeats the extraction stops at the first path that covers the box; with them it goes on,
  // and the box still takes the first covering path in extraction order.
  let first: FrameSegment | undefined;
  const paths = withCells(rows * Math.max(1, k), (cells) => {
    cells.rows = rows;
    cells.k = k;
    const { mean, band } = scanWidenedBox(sim, seg, r0, r1, c0, c1, o.minSimilarity, cells);
    const floor = Math.max(o.minSimilarity, (band + mean) / 2);
    const overlap = o.minOverlap * qLen;
    // Paths are extracted strongest first; the first that covers the box (shares `overlap` of its query keyframes)
    // ends the search (usually the first). Module-level helpers and inline callbacks: nothing named is created per call.
    const tn = { minSimilarity: floor, topK: o.topK, maxStep: o.maxStep, minSupport: 2, maxSegments: Math.max(1, o.paths) };
    return temporalNetworkOnBestCells(cells, tn, (p) => {
      if (!first && Math.min(p.queryEnd + r0, seg.queryEnd) - Math.max(p.queryStart + r0, seg.queryStart) + 1 >= overlap) first = p;
      return repeatMargin < 0 && first !== undefined;
    });
  });
  const path = first;
  if (!path) return { segment: seg, repeats: [] };
  const segment = inMatrix(path, r0, c0, seg.score, Math.max(seg.support, path.support));
  const repeats =
    repeatMargin < 0
      ? []
      : paths
          .filter((p) => p !== path && p.support >= minRepeatSupport && p.score >= path.score - repeatMargin)
          .filter((p) => p.queryEnd < path.queryStart || p.queryStart > path.queryEnd)
          .map((p) => inMatrix(p, r0, c0, seg.score, p.support));
  return { segment, repeats };
}

/** A path of the window at (r0, c0), in the whole matrix's keyframes. */
function inMatrix(p: FrameSegment, r0: number, c0: number, score: number, support: number): FrameSegment {
  return { queryStart: p.queryStart + r0, queryEnd: p.queryEnd + r0, refStart: p.refStart + c0, refEnd: p.refEnd + c0, score, support };
}

/** refineSegment for a detector box in cell coordinates (keyframes = cells whose centre the box holds, boxes.ts toFrameSegment). */
export function refineBox(sim: Matrix, box: CellBox, options: Partial<RefineOptions> = {}): CellBox {
  return refineBoxWithRepeats(sim, box, options)[0];
}

/** refineWithRepeats for a detector box: the refined box first, then its repeats (same raw score, not cut). */
export function refineBoxWithRepeats(sim: Matrix, box: CellBox, options: Partial<RefineOptions> = {}, repeatMargin = -1): CellBox[] {
  const seg = toFrameSegment(box, sim.rows, sim.cols);
  const { segment: r, repeats } = refineWithRepeats(sim, seg, options, repeatMargin);
  const refined = r === seg ? box : segmentBox(box, r);
  return [refined, ...repeats.map((x) => segmentBox(box, x, undefined))];
}

/** `box` moved to the keyframes of `x` (cells queryStart..queryEnd + 1 × refStart..refEnd + 1), cut as given. */
function segmentBox(box: CellBox, x: FrameSegment, cut = box.cut): CellBox {
  return cellBox(x.queryStart, x.refStart, x.queryEnd + 1, x.refEnd + 1, box.score, box.tile, cut, box.raw, box.diag, box.repeatOf);
}
