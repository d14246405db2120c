import type { Matrix } from './similarity.js';
import { scratchLender } from './scratch.js';

/** A copied segment in frame indices (inclusive) of the query and the reference. */
export interface FrameSegment {
  queryStart: number;
  queryEnd: number;
  refStart: number;
  refEnd: number;
  /** Mean similarity along the aligned path. */
  score: number;
  /** Number of aligned frame pairs supporting the segment. */
  support: number;
  /**
   * The segment this one repeats (the same footage copied twice, found beside it by the SPD refinement):
   * a repeat stands only with it, so a claim dropped by the match path takes its repeats along.
   */
  repeatOf?: FrameSegment;
  /**
   * Set when the segment scored below its aligner's threshold and was kept because the witness aligner
   * found a segment at its own threshold on the same band (src/match/corroboration.ts): that segment.
   */
  corroboration?: { score: number; queryStart: number; queryEnd: number; refStart: number; refEnd: number };
}

export interface TemporalNetworkOptions {
  /** Keep only the top-k most similar reference frames per query frame. */
  topK: number;
  /** Ignore frame pairs below this similarity. */
  minSimilarity: number;
  /** Largest gap (in frames) between two consecutive aligned pairs, on either axis. */
  maxStep: number;
  /** Drop paths with fewer aligned pairs than this. */
  minSupport: number;
  /** Stop after this many segments. */
  maxSegments: number;
}

export const DEFAULT_TN: TemporalNetworkOptions = { topK: 5, minSimilarity: 0.5, maxStep: 4, minSupport: 2, maxSegments: 5 };

/** A rectangle of a matrix: rows row0..row0+rows-1 × columns col0..col0+cols-1. */
export interface MatrixWindow {
  row0: number;
  col0: number;
  rows: number;
  cols: number;
}

/**
 * Temporal network alignment (Tan et al., ACM MM 2009; the TN baseline of VCSL): nodes are the top-k
 * reference frames of every query frame; edges join pairs that advance on both axes by at most
 * `maxStep`; the longest (highest total similarity) path is a copied segment. Paths are extracted
 * greedily, each time removing the nodes inside the found box (so each path is at most as strong as the
 * one before it); with `stopAt`, extraction also stops after the first path it accepts. With `window`,
 * the search runs on that rectangle of `sim` only, in its coordinates (what it returns on a copy of
 * the rectangle, without the copy). Box refinement does not go through here: it runs the same search on
 * the best cells its own scan found (`temporalNetworkOnBestCells`).
 */
export function temporalNetwork(sim: Matrix, options: Partial<TemporalNetworkOptions> = {}, stopAt?: (s: FrameSegment) => boolean, window?: MatrixWindow): FrameSegment[] {
  const o = { ...DEFAULT_TN, ...options };
  const rows = window ? window.rows : sim.rows;
  const cols = window ? window.cols : sim.cols;
  const row0 = window ? window.row0 : 0;
  const col0 = window ? window.col0 : 0;
  if (window && (row0 < 0 || col0 < 0 || rows < 0 || cols < 0 || row0 + rows > sim.rows || col0 + cols > sim.cols)) {
    throw new RangeError(`temporalNetwork: window ${rows}x${cols} at (${row0}, ${col0}) outside the ${sim.rows}x${sim.cols} matrix`);
  }
  const k = Math.max(0, Math.floor(o.topK));
  // Nodes as parallel typed arrays, in row order (at most k per row): no per-node object (box refinement
  // runs this on every detected box).
  const cap = rows * Math.min(k, cols);
  return withScratch(cap, (buffers) => search(sim, o, stopAt, buffers, rows, cols, row0, col0, k));
}

interface Scratch {
  capacity: number;
  /** A row's best cells while it is scanned (at least topK slots). */
  topJ: Int32Array;
  topS: Float64Array;
  nodeI: Int32Array;
  nodeJ: Int32Array;
  prevOf: Int32Array;
  nodeSim: Float64Array;
  best: Float64Array;
  alive: Uint8Array;
  /** Node n's candidate predecessors (earlier rows within maxStep, columns 1..maxStep before it) are preds[predFrom[n]..predTo[n]-1], in node order. */
  predFrom: Int32Array;
  predTo: Int32Array;
  preds: Int32Array;
}

function newScratch(capacity: number): Scratch {
  return {
    capacity,
    topJ: new Int32Array(0),
    topS: new Float64Array(0),
    nodeI: new Int32Array(capacity),
    nodeJ: new Int32Array(capacity),
    prevOf: new Int32Array(capacity),
    nodeSim: new Float64Array(capacity),
    best: new Float64Array(capacity),
    alive: new Uint8Array(capacity),
    predFrom: new Int32Array(capacity),
    predTo: new Int32Array(capacity),
    preds: new Int32Array(0),
  };
}

/** Runs `run` on the scratch arrays, grown to `capacity` nodes; a nested call (e.g. from stopAt) gets its own. */
const withScratch = scratchLender(newScratch, (s) => s.capacity);

/**
 * Inserts cell (v, c) among a row's n ≤ k best cells kept at best[at..], col[at..] (best first; an equal value
 * stays behind the earlier cells, a stable sort's order); returns the new n.
 */
export function keepBest(best: Float64Array, col: Int32Array, at: number, k: number, n: number, v: number, c: number): number {
  if (n === k && !(v > best[at + k - 1])) return n;
  let p = n < k ? n++ : k - 1;
  while (p > 0 && v > best[at + p - 1]) {
    best[at + p] = best[at + p - 1];
    col[at + p] = col[at + p - 1];
    p--;
  }
  best[at + p] = v;
  col[at + p] = c;
  return n;
}

function search(
  sim: Matrix,
  o: TemporalNetworkOptions,
  stopAt: ((s: FrameSegment) => boolean) | undefined,
  buffers: Scratch,
  rows: number,
  cols: number,
  row0: number,
  col0: number,
  k: number,
): FrameSegment[] {
  const data = sim.data;
  const { nodeI, nodeJ, nodeSim } = buffers;
  const minSimilarity = o.minSimilarity;
  let count = 0;
  // Per row, the k best cells ≥ minSimilarity, best first, the lower column first among equals (a stable
  // sort's order), kept by insertion into k slots.
  if (buffers.topJ.length < k) {
    buffers.topJ = new Int32Array(k);
    buffers.topS = new Float64Array(k);
  }
  const { topJ, topS } = buffers;
  for (let i = 0; i < rows; i++) {
    let n = 0;
    const base = (row0 + i) * sim.cols + col0;
    for (let j = 0; j < cols; j++) {
      const s = data[base + j];
      if (s >= minSimilarity) n = keepBest(topS, topJ, 0, k, n, s, j);
    }
    for (let t = 0; t < n; t++, count++) {
      nodeI[count] = i;
      nodeJ[count] = topJ[t];
      nodeSim[count] = topS[t];
    }
  }
  return extractPaths(o, stopAt, buffers, count);
}

/**
 * Every row's best cells of a window, found by a scan of the caller's (box refinement takes the window's sum and
 * its band level in the same pass): row i's t-th best cell at i·k + t, best first, the lower column first among
 * equals (temporalNetwork's order), only cells at or above some lower bound, at most k per row.
 */
export interface BestCells {
  rows: number;
  /** Cells per row at most (temporalNetwork's topK). */
  k: number;
  /** Cells kept for each row. */
  count: Int32Array;
  /** Window column and similarity of each cell. */
  col: Int32Array;
  sim: Float64Array;
}

/**
 * temporalNetwork on a window whose rows' best cells are given (in window coordinates, like temporalNetwork
 * with `window`): the same segments when `cells` holds every row's best `options.topK` cells at or above a bound
 * ≤ `options.minSimilarity`, because the best cells at or above minSimilarity are a prefix of those.
 */
export function temporalNetworkOnBestCells(cells: BestCells, options: Partial<TemporalNetworkOptions> = {}, stopAt?: (s: FrameSegment) => boolean): FrameSegment[] {
  const o = { ...DEFAULT_TN, ...options };
  const k = Math.max(0, Math.floor(o.topK));
  if (k !== cells.k) throw new RangeError(`temporalNetworkOnBestCells: ${cells.k} cells per row given, topK ${k}`);
  return withScratch(cells.rows * k, (buffers) => {
    const { nodeI, nodeJ, nodeSim } = buffers;
    const minSimilarity = o.minSimilarity;
    let count = 0;
    for (let i = 0; i < cells.rows; i++) {
      for (let t = i * k, end = t + cells.count[i]; t < end && cells.sim[t] >= minSimilarity; t++, count++) {
        nodeI[count] = i;
        nodeJ[count] = cells.col[t];
        nodeSim[count] = cells.sim[t];
      }
    }
    return extractPaths(o, stopAt, buffers, count);
  });
}

/** The greedy path extraction over the `count` nodes in `buffers` (in row order, at most topK per row). */
function extractPaths(o: TemporalNetworkOptions, stopAt: ((s: FrameSegment) => boolean) | undefined, buffers: Scratch, count: number): FrameSegment[] {
  const { nodeI, nodeJ, nodeSim, best, prevOf, alive, predFrom, predTo } = buffers;
  const maxStep = o.maxStep;
  alive.fill(1, 0, count);
  const segments: FrameSegment[] = [];
  // Nodes before `start` keep their path values from the previous pass: a node's value depends only on
  // nodes of earlier rows, and a pass removes nodes from the rows of its path's box alone, so only the
  // nodes from the first row of that box on are computed again (same values as a full pass).
  let start = 0;
  while (segments.length < o.maxSegments) {
    // Nodes are ordered by i; predecessors lie in the previous maxStep query frames.
    let bestNode = -1;
    for (let n = 0; n < start; n++) if (alive[n] && (bestNode < 0 || best[n] > best[bestNode])) bestNode = n;
    let firstOfRow = 0;
    // First node of the current node's row (`start` is the first node of its row): the candidate
    // predecessors are firstOfRow..rowStart-1. The first pass (every node alive) lists, for each node, those
    // whose column is 1..maxStep before its own; later passes go through these lists alone.
    let rowStart = start;
    const listing = start === 0 && segments.length === 0;
    let listed = 0;
    for (let n = start; n < count; n++) {
      best[n] = 0;
      prevOf[n] = -1;
      const i = nodeI[n];
      if (i !== nodeI[rowStart]) rowStart = n;
      if (!alive[n]) continue;
      const j = nodeJ[n];
      let bestPrev = 0;
      let prev = -1;
      if (listing) {
        while (nodeI[firstOfRow] < i - maxStep) firstOfRow++;
        if (buffers.preds.length < listed + rowStart - firstOfRow) {
          const grown = new Int32Array(Math.max(2 * buffers.preds.length, listed + rowStart - firstOfRow, 4 * count));
          grown.set(buffers.preds.subarray(0, listed));
          buffers.preds = grown;
        }
        const preds = buffers.preds;
        predFrom[n] = listed;
        for (let p = firstOfRow; p < rowStart; p++) {
          const dj = j - nodeJ[p];
          if (dj <= 0 || dj > maxStep) continue;
          preds[listed++] = p;
          if (best[p] > bestPrev) {
            bestPrev = best[p];
            prev = p;
          }
        }
        predTo[n] = listed;
      } else {
        const preds = buffers.preds;
        for (let t = predFrom[n], end = predTo[n]; t < end; t++) {
          const p = preds[t];
          if (alive[p] && best[p] > bestPrev) {
            bestPrev = best[p];
            prev = p;
          }
        }
      }
      best[n] = nodeSim[n] + bestPrev;
      prevOf[n] = prev;
      if (bestNode < 0 || best[n] > best[bestNode]) bestNode = n;
    }
    if (bestNode < 0) break;
    const path: number[] = [];
    for (let n = bestNode; n >= 0; n = prevOf[n]) path.push(n);
    path.reverse();
    const first = path[0];
    const last = path[path.length - 1];
    const qs = nodeI[first];
    const qe = nodeI[last];
    const rs = nodeJ[first];
    const re = nodeJ[last];
    // Remove every node inside the box (and the path itself) before looking for the next path.
    for (let n = 0; n < count; n++) if (nodeI[n] >= qs && nodeI[n] <= qe && nodeJ[n] >= rs && nodeJ[n] <= re) alive[n] = 0;
    start = 0;
    while (start < count && nodeI[start] < qs) start++;
    for (const n of path) alive[n] = 0;
    // The best remaining path is too short: every other path is weaker still.
    if (path.length < o.minSupport) break;
    let total = 0;
    for (const n of path) total += nodeSim[n];
    const segment = { queryStart: qs, queryEnd: qe, refStart: rs, refEnd: re, score: total / path.length, support: path.length };
    segments.push(segment);
    if (stopAt?.(segment)) break;
  }
  return segments.sort((a, b) => b.score * b.support - a.score * a.support);
}
