import type { Matrix } from './similarity.js';
import type { FrameSegment } from './temporal-network.js';

export interface DpOptions {
  /** Similarity subtracted from every cell: cells above it add to a path, cells below it cost. */
  bias: number;
  /** Largest skip (frames) on either axis between consecutive path cells. */
  maxStep: number;
  /** Cost of every skipped frame. */
  gapPenalty: number;
  minSupport: number;
  maxSegments: number;
}

export const DEFAULT_DP: DpOptions = { bias: 0.6, maxStep: 3, gapPenalty: 0.05, minSupport: 2, maxSegments: 5 };

/**
 * Dynamic-programming alignment (the DP baseline of VCSL, local-alignment form): over the biased
 * matrix s - bias, find the monotonic path (both indices increase, by at most maxStep) of maximal
 * total score, Smith–Waterman style (a path restarts where its running sum would go negative).
 * The best path is a segment; its rows and columns are masked and the search repeats.
 * Exact over all cells, O(rows × cols × maxStep²) per segment.
 */
export function dpAlign(sim: Matrix, options: Partial<DpOptions> = {}): FrameSegment[] {
  const o = { ...DEFAULT_DP, ...options };
  const { rows, cols } = sim;
  const masked = new Uint8Array(rows * cols);
  const score = new Float32Array(rows * cols);
  const from = new Int32Array(rows * cols);
  const segments: FrameSegment[] = [];
  while (segments.length < o.maxSegments) {
    let best = 0;
    let bestCell = -1;
    for (let i = 0; i < rows; i++) {
      for (let j = 0; j < cols; j++) {
        const c = i * cols + j;
        from[c] = -1;
        if (masked[c]) {
          score[c] = 0;
          continue;
        }
        const gain = sim.data[c] - o.bias;
        let prevBest = 0;
        let prevCell = -1;
        for (let di = 1; di <= o.maxStep && i - di >= 0; di++) {
          for (let dj = 1; dj <= o.maxStep && j - dj >= 0; dj++) {
            const p = (i - di) * cols + (j - dj);
            const v = score[p] - o.gapPenalty * (di - 1 + dj - 1);
            if (v > prevBest) {
              prevBest = v;
              prevCell = p;
            }
          }
        }
        const total = prevBest + gain;
        if (total > 0) {
          score[c] = total;
          from[c] = prevCell;
        } else {
          score[c] = 0;
        }
        if (score[c] > best) {
          best = score[c];
          bestCell = c;
        }
      }
    }
    if (bestCell < 0) break;
    const path: number[] = [];
    for (let c = bestCell; c >= 0; c = from[c]) path.push(c);
    path.reverse();
    const qs = Math.floor(path[0] / cols);
    const rs = path[0] % cols;
    const qe = Math.floor(bestCell / cols);
    const re = bestCell % cols;
    for (let i = qs; i <= qe; i++) for (let j = 0; j < cols; j++) masked[i * cols + j] = 1;
    for (let j = rs; j <= re; j++) for (let i = 0; i < rows; i++) masked[i * cols + j] = 1;
    if (path.length < o.minSupport) continue;
    const mean = path.reduce((s, c) => s + sim.data[c], 0) / path.length;
    segments.push({ queryStart: qs, queryEnd: qe, refStart: rs, refEnd: re, score: mean, support: path.length });
  }
  return segments;
}
