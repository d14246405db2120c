import type { Matrix } from '../match/similarity.js';
import type { FrameSegment } from '../match/temporal-network.js';

/**
 * A detected copy in continuous cell coordinates of the full matrix: keyframe i is the cell
 * [i, i+1), so the box covers query cells [q0, q1) and reference cells [r0, r1). In seconds, keyframe
 * i shows time i/fps (fps round=up sampling) at its cell's centre and stands for half an interval on
 * either side (src/match/matcher.ts keyframeSpan): cell = seconds × fps + 0.5 (datasets/matrices.ts
 * `secondsToCell`, which the detector is trained with).
 */
export interface CellBox {
  q0: number;
  r0: number;
  q1: number;
  r1: number;
  score: number;
  /** Index of the input window the box was decoded from (fusion only joins boxes of different windows). */
  tile?: number;
  /** The box reaches an edge of its window that lies inside the matrix: the band may go on outside. */
  cut?: boolean;
  /** Detector score before calibration (set once `score` is calibrated). */
  raw?: number;
  /** Mean similarity along the box diagonal (`diagonalSimilarity`). */
  diag?: number;
  /** A repeat found by refinement next to this box of the same output (finishBoxes): it stands only with it. */
  repeatOf?: CellBox;
}

/**
 * A CellBox with every field present, in one order (absent ones undefined). Every box the detector makes comes
 * from here, so V8 gives them all one hidden class: the loops over boxes (NMS, fusion, calibration,
 * refinement) stay monomorphic instead of handling the several shapes that optional fields added one by one make.
 */
export function cellBox(
  q0: number,
  r0: number,
  q1: number,
  r1: number,
  score: number,
  tile?: number,
  cut?: boolean,
  raw?: number,
  diag?: number,
  repeatOf?: CellBox,
): CellBox {
  return { q0, r0, q1, r1, score, tile, cut, raw, diag, repeatOf };
}

export interface DecodeGeometry {
  /** Output grid rows (window height / stride); also its columns unless `gridCols` is given. */
  grid: number;
  /** Output grid columns (window width / stride); default `grid` (square window). */
  gridCols?: number;
  /** Cells per output location. */
  stride: number;
  /** Window origin in the full matrix. */
  row: number;
  col: number;
  /** Full matrix size: boxes are clipped to it. */
  rows: number;
  cols: number;
  /** Window index recorded on the boxes. */
  tile?: number;
  /**
   * Set: the output holds pre-activation values (meta format 2): score = sigmoid(channel 0),
   * distance = softplus(channel c) × boxScale — computed only at the locations that are decoded.
   * Unset: the output holds scores and distances.
   */
  boxScale?: number;
}

/** torch.nn.functional.softplus (beta 1, threshold 20) in float64. */
export function softplus(x: number): number {
  return x > 20 ? x : Math.log1p(Math.exp(x));
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Lowest logit whose sigmoid can reach p (a margin below logit(p): the exact test is on the sigmoid). */
function logitFloor(p: number): number {
  if (!(p > 0)) return -Infinity;
  if (p >= 1) return Infinity;
  return Math.log(p / (1 - p)) - 1e-6;
}

/** Score at output index k: the value itself, or the sigmoid of the logit when geometry holds pre-activation values. */
function scoreAt(out: Float32Array, k: number, g: DecodeGeometry): number {
  return g.boxScale === undefined ? out[k] : sigmoid(out[k]);
}

/** Distance at output index k (a distance channel). */
function distAt(out: Float32Array, k: number, g: DecodeGeometry): number {
  return g.boxScale === undefined ? out[k] : softplus(out[k]) * g.boxScale;
}

/**
 * Boxes of one window's output [5, grid, gridCols] at `offset` of `out`: channel 0 = score, 1..4 =
 * distances (cells) from the location centre (gy·stride + stride/2, gx·stride + stride/2) to the
 * query start, query end, reference start, reference end. Locations scoring below `minScore` and
 * boxes empty after clipping are dropped.
 */
export function decodeTile(out: Float32Array, offset: number, g: DecodeGeometry, minScore: number): CellBox[] {
  const gw = g.gridCols ?? g.grid;
  const area = g.grid * gw;
  const boxes: CellBox[] = [];
  for (let gy = 0; gy < g.grid; gy++) {
    for (let gx = 0; gx < gw; gx++) {
      const k = offset + gy * gw + gx;
      const score = scoreAt(out, k, g);
      if (!(score >= minScore)) continue;
      const box = decodeAt(out, k, area, g, gy, gx, score);
      if (box) boxes.push(box);
    }
  }
  return boxes;
}

/** The box of output location (gy, gx) at index k (its score channel) of a window; null when empty after clipping. */
function decodeAt(out: Float32Array, k: number, area: number, g: DecodeGeometry, gy: number, gx: number, score: number): CellBox | null {
  const cy = g.row + gy * g.stride + g.stride / 2;
  const cx = g.col + gx * g.stride + g.stride / 2;
  const q0 = Math.max(0, cy - distAt(out, k + area, g));
  const q1 = Math.min(g.rows, cy + distAt(out, k + 2 * area, g));
  const r0 = Math.max(0, cx - distAt(out, k + 3 * area, g));
  const r1 = Math.min(g.cols, cx + distAt(out, k + 4 * area, g));
  if (!(q1 > q0 && r1 > r0)) return null;
  const height = g.grid * g.stride;
  const width = (g.gridCols ?? g.grid) * g.stride;
  const margin = 1;
  const cut = (g.row > 0 && q0 < g.row + margin) || (g.row + height < g.rows && q1 > g.row + height - margin) ||
      (g.col > 0 && r0 < g.col + margin) || (g.col + width < g.cols && r1 > g.col + width - margin);
  return cellBox(q0, r0, q1, r1, score, g.tile, cut ? true : undefined);
}

/** True when location index k of a window decodes to a non-empty box (decodeAt without the allocation). */
function nonEmptyAt(out: Float32Array, k: number, area: number, g: DecodeGeometry, gy: number, gx: number): boolean {
  const cy = g.row + gy * g.stride + g.stride / 2;
  const cx = g.col + gx * g.stride + g.stride / 2;
  // Pre-activation outputs: a location whose centre lies in the matrix has a non-empty box whenever its
  // distances are not vanishingly small (softplus(-20) · boxScale ≫ the rounding of cell coordinates):
  // no softplus needed. Otherwise the exact test below.
  if (g.boxScale !== undefined && cy < g.rows && cx < g.cols && out[k + area] > -20 && out[k + 2 * area] > -20 && out[k + 3 * area] > -20 && out[k + 4 * area] > -20) return true;
  return (
    Math.min(g.rows, cy + distAt(out, k + 2 * area, g)) > Math.max(0, cy - distAt(out, k + area, g)) &&
    Math.min(g.cols, cx + distAt(out, k + 4 * area, g)) > Math.max(0, cx - distAt(out, k + 3 * area, g))
  );
}

/** Float64 slots per output location that `decodeTopK`'s scratch array needs (scores, their locations, a copy to select in). */
export const DECODE_SCRATCH_PER_LOCATION = 3;

/**
 * The value that would stand at index `idx` of a[lo..hi) sorted ascending (a[lo..hi) is reordered in place):
 * quickselect with a median-of-three pivot, O(n) on average.
 */
export function selectAscending(a: Float64Array, lo: number, hi: number, idx: number): number {
  let l = lo;
  let r = hi - 1;
  while (r > l) {
    const m = (l + r) >> 1;
    // Median of a[l], a[m], a[r] as the pivot.
    let x = a[l];
    let y = a[m];
    let z = a[r];
    if (x > y) [x, y] = [y, x];
    if (y > z) [y, z] = [z, y];
    if (x > y) [x, y] = [y, x];
    const pivot = y;
    let i = l;
    let j = r;
    while (i <= j) {
      while (a[i] < pivot) i++;
      while (a[j] > pivot) j--;
      if (i <= j) {
        const t = a[i];
        a[i] = a[j];
        a[j] = t;
        i++;
        j--;
      }
    }
    // a[l..j] <= pivot <= a[i..r], and a[j+1..i-1] == pivot.
    if (idx <= j) r = j;
    else if (idx >= i) l = i;
    else return pivot;
  }
  return a[idx];
}

/**
 * Exactly what `decodeTile` over every window (window t's output at t·outFloats of `out`, geometry
 * `geoms[t]`, all windows of one size) followed by a stable sort by decreasing score and
 * `slice(0, k)` gives (as a set, in decode order: ties resolve as the stable sort resolves them), but
 * without creating a box for each of the (thousands of) locations above `minScore`: one pass lists the
 * candidate locations and their scores, the k-th best score is selected among them (no sort), and only
 * candidates at or above it are decoded. `scratch`: reused when it holds DECODE_SCRATCH_PER_LOCATION
 * slots per location of all windows.
 */
export function decodeTopK(out: Float32Array, geoms: readonly DecodeGeometry[], minScore: number, k: number, scratch?: Float64Array): CellBox[] {
  if (geoms.length === 0) return [];
  const grid = geoms[0].grid;
  const gw = geoms[0].gridCols ?? grid;
  const area = grid * gw;
  const outFloats = 5 * area;
  const cap = geoms.length * area;
  // Pre-activation outputs: most locations are rejected on the logit alone (no exp); the exact test
  // is on the sigmoid, as decodeTile does it.
  const floor = geoms[0].boxScale === undefined ? -Infinity : logitFloor(minScore);
  const buffer = scratch && scratch.length >= DECODE_SCRATCH_PER_LOCATION * cap ? scratch : new Float64Array(DECODE_SCRATCH_PER_LOCATION * cap);
  // [0, cap): candidate scores in decode order; [cap, 2 cap): their location (t · area + gy · gw + gx); [2 cap, 3 cap): selection.
  let count = 0;
  for (let t = 0; t < geoms.length; t++) {
    const g = geoms[t];
    const base = t * outFloats;
    for (let gy = 0, i = base; gy < grid; gy++) {
      for (let gx = 0; gx < gw; gx++, i++) {
        if (!(out[i] >= floor)) continue;
        const score = scoreAt(out, i, g);
        if (score >= minScore && nonEmptyAt(out, i, area, g, gy, gx)) {
          buffer[count] = score;
          buffer[cap + count] = t * area + gy * gw + gx;
          count++;
        }
      }
    }
  }
  let cutoff = -Infinity;
  let ties = Infinity;
  if (count > k) {
    // The k-th best score, and how many of the k best equal it (every score above it is among the k best).
    buffer.copyWithin(2 * cap, 0, count);
    cutoff = selectAscending(buffer, 2 * cap, 2 * cap + count, 2 * cap + count - k);
    let above = 0;
    for (let c = 0; c < count; c++) if (buffer[c] > cutoff) above++;
    ties = k - above;
  }
  const boxes: CellBox[] = [];
  for (let c = 0; c < count; c++) {
    const score = buffer[c];
    if (score < cutoff || (score === cutoff && ties <= 0)) continue;
    const loc = buffer[cap + c];
    const t = Math.floor(loc / area);
    const within = loc - t * area;
    const gy = Math.floor(within / gw);
    const gx = within - gy * gw;
    const box = decodeAt(out, t * outFloats + within, area, geoms[t], gy, gx, score);
    if (!box) continue;
    if (score === cutoff) ties--;
    boxes.push(box);
  }
  return boxes;
}

export function boxArea(b: CellBox): number {
  return Math.max(0, b.q1 - b.q0) * Math.max(0, b.r1 - b.r0);
}

export function intersectionArea(a: CellBox, b: CellBox): number {
  const q = Math.min(a.q1, b.q1) - Math.max(a.q0, b.q0);
  const r = Math.min(a.r1, b.r1) - Math.max(a.r0, b.r0);
  return q > 0 && r > 0 ? q * r : 0;
}

export function iou(a: CellBox, b: CellBox): number {
  const inter = intersectionArea(a, b);
  const union = boxArea(a) + boxArea(b) - inter;
  return union > 0 ? inter / union : 0;
}

/**
 * Greedy non-maximum suppression: boxes by decreasing score; a box is dropped when its IoU with a
 * kept box is ≥ `iouThreshold`, or when ≥ `containment` of the smaller box's area lies inside a kept
 * box (a partial view of the same band) — ≥ `cutContainment` when the dropped box is `cut` by its
 * tile border (the neighbouring tile sees the band whole). At most `limit` boxes are kept (the same as
 * slicing the full result).
 */
export function nms(boxes: readonly CellBox[], iouThreshold: number, containment = 1, cutContainment = containment, limit = Infinity): CellBox[] {
  const sorted = [...boxes].sort((a, b) => b.score - a.score);
  const kept: CellBox[] = [];
  // Greedy: the first `limit` boxes kept do not depend on the boxes after them, so stop there.
  for (let i = 0; i < sorted.length && kept.length < limit; i++) {
    const b = sorted[i];
    const areaB = boxArea(b);
    const floor = b.cut ? cutContainment : containment;
    let suppressed = false;
    for (let j = 0; j < kept.length && !suppressed; j++) {
      const k = kept[j];
      const inter = intersectionArea(k, b);
      if (inter === 0) continue;
      const areaK = boxArea(k);
      suppressed = inter / (areaK + areaB - inter) >= iouThreshold || inter / Math.min(areaK, areaB) >= floor;
    }
    if (!suppressed) kept.push(b);
  }
  return kept;
}

/** Distance from (q, r) to the line through the diagonal (q0, r0)→(q1, r1) of a box. */
function distanceToDiagonal(q0: number, r0: number, q1: number, r1: number, q: number, r: number): number {
  const dq = q1 - q0;
  const dr = r1 - r0;
  const len = Math.hypot(dq, dr);
  if (len === 0) return Math.hypot(q - q0, r - r0);
  return Math.abs((q - q0) * dr - (r - r0) * dq) / len;
}

/**
 * True when a and b are two pieces of one copy band: they overlap or nearly touch (gap ≤ `gap`
 * cells) on both axes, and the diagonals of both lie within `tolerance` cells plus
 * `relTolerance` × the union's diagonal length of the diagonal of their union (the band continues
 * straight from one into the other; box edges are less precise on long bands). Allocates nothing
 * (fusion tests every pair of boxes).
 */
export function sameBand(a: CellBox, b: CellBox, gap: number, tolerance: number, relTolerance = 0): boolean {
  const gq = Math.max(a.q0, b.q0) - Math.min(a.q1, b.q1);
  const gr = Math.max(a.r0, b.r0) - Math.min(a.r1, b.r1);
  if (gq > gap || gr > gap) return false;
  // The union's corners (union(a, b)).
  const q0 = Math.min(a.q0, b.q0);
  const r0 = Math.min(a.r0, b.r0);
  const q1 = Math.max(a.q1, b.q1);
  const r1 = Math.max(a.r1, b.r1);
  const tol = tolerance + relTolerance * Math.hypot(q1 - q0, r1 - r0);
  return (
    distanceToDiagonal(q0, r0, q1, r1, a.q0, a.r0) <= tol &&
    distanceToDiagonal(q0, r0, q1, r1, a.q1, a.r1) <= tol &&
    distanceToDiagonal(q0, r0, q1, r1, b.q0, b.r0) <= tol &&
    distanceToDiagonal(q0, r0, q1, r1, b.q1, b.r1) <= tol
  );
}

function union(a: CellBox, b: CellBox): CellBox {
  return cellBox(Math.min(a.q0, b.q0), Math.min(a.r0, b.r0), Math.max(a.q1, b.q1), Math.max(a.r1, b.r1), Math.max(a.score, b.score));
}

/**
 * Box fusion across tiles: repeatedly replaces two pieces of one band (`sameBand`) by their union
 * (score = the higher one, tile forgotten) until no pair fuses. Only boxes scoring at least
 * `minScore` take part. With `sameTile` false, two boxes decoded from the same tile never fuse
 * (fusion only for bands cut by tile borders); with true, collinear fragments of one band that the
 * model reports within a tile are joined too. Output by decreasing score.
 */
export function fuseBands(boxes: readonly CellBox[], gap: number, tolerance: number, minScore = 0, sameTile = false, relTolerance = 0): CellBox[] {
  const out = [...boxes].sort((a, b) => b.score - a.score);
  for (let merged = true; merged; ) {
    merged = false;
    outer: for (let i = 0; i < out.length; i++) {
      if (out[i].score < minScore) break;
      for (let j = i + 1; j < out.length; j++) {
        if (out[j].score < minScore) break;
        if (!sameTile && out[i].tile !== undefined && out[i].tile === out[j].tile) continue;
        if (sameBand(out[i], out[j], gap, tolerance, relTolerance)) {
          out[i] = union(out[i], out[j]);
          out.splice(j, 1);
          merged = true;
          break outer;
        }
      }
    }
  }
  return out.sort((a, b) => b.score - a.score);
}

/**
 * Calibrated score: logistic regression on the raw detector score and the similarity along the box
 * diagonal, sigmoid(a · logit(raw) + c · diag + b) (plain Platt scaling when c = 0).
 */
export function calibrate(raw: number, a: number, b: number, c = 0, diag = 0): number {
  const p = Math.min(1 - 1e-6, Math.max(1e-6, raw));
  return 1 / (1 + Math.exp(-(a * Math.log(p / (1 - p)) + c * diag + b)));
}

/**
 * Mean over the box's query rows of the best similarity within one cell of the box diagonal
 * (the line from (q0, r0) to (q1, r1); row i is sampled at its centre i + 0.5). The absolute
 * evidence the classical aligners score with, given to the calibration next to the detector score.
 */
export function diagonalSimilarity(sim: Matrix, b: CellBox): number {
  const { rows, cols, data } = sim;
  if (rows === 0 || cols === 0) return 0;
  const first = Math.min(rows - 1, Math.max(0, Math.round(b.q0)));
  const last = Math.min(rows - 1, Math.max(first, Math.round(b.q1) - 1));
  const slope = b.q1 > b.q0 ? (b.r1 - b.r0) / (b.q1 - b.q0) : 0;
  let sum = 0;
  for (let i = first; i <= last; i++) {
    const j = Math.round(b.r0 + (i + 0.5 - b.q0) * slope - 0.5);
    let best = -Infinity;
    for (let k = Math.max(0, j - 1); k <= Math.min(cols - 1, j + 1); k++) best = Math.max(best, data[i * cols + k]);
    if (best === -Infinity) best = data[i * cols + Math.min(cols - 1, Math.max(0, j))];
    sum += best;
  }
  return sum / (last - first + 1);
}

/** First keyframe of a span whose box edge is `lo` (n keyframes). */
function spanStart(lo: number, n: number): number {
  return Math.min(n - 1, Math.max(0, Math.round(lo)));
}

/** Last keyframe of a span starting at keyframe `start` whose box edge is `hi`: never before its start. */
function spanEnd(start: number, hi: number, n: number): number {
  return Math.min(n - 1, Math.max(start, Math.round(hi) - 1));
}

/**
 * Cell box → inclusive keyframe indices (cell i = keyframe i), clipped to the matrix: an edge is
 * rounded to the nearest cell boundary, i.e. keyframe i is in the segment when its time (the centre
 * of cell i) lies inside the box; a box never shrinks below one keyframe. The matcher then reports
 * keyframes s..e as keyframeSpan = [t_s − interval/2, t_e + interval/2] = exactly the cells [s, e+1).
 */
export function toFrameSegment(b: CellBox, rows: number, cols: number): FrameSegment {
  const queryStart = spanStart(b.q0, rows);
  const queryEnd = spanEnd(queryStart, b.q1, rows);
  const refStart = spanStart(b.r0, cols);
  const refEnd = spanEnd(refStart, b.r1, cols);
  return { queryStart, queryEnd, refStart, refEnd, score: b.score, support: Math.max(queryEnd - queryStart, refEnd - refStart) + 1 };
}

/** toFrameSegment for a detector's output; a repeat's segment points to its parent's segment (FrameSegment.repeatOf). */
export function toFrameSegments(boxes: readonly CellBox[], rows: number, cols: number): FrameSegment[] {
  const segments = boxes.map((b) => toFrameSegment(b, rows, cols));
  boxes.forEach((b, k) => {
    const parent = b.repeatOf ? boxes.indexOf(b.repeatOf) : -1;
    if (parent >= 0) segments[k].repeatOf = segments[parent];
  });
  return segments;
}
