/**
 * Shot cuts of a video from its tiny luma frames, and snapping of copied-segment boundaries to them.
 * A copy is sampled once per second, so its boundaries are only known to ±half a sample; where the
 * query cuts into the copied footage (the usual way a copy is edited in), the cut gives the boundary
 * to one frame.
 */

/** Mean absolute difference of two luma frames, 0..1. */
export function lumaDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new RangeError(`frames differ in size: ${a.length} vs ${b.length}`);
  let s = 0;
  for (let k = 0; k < a.length; k++) s += Math.abs(a[k] - b[k]);
  return a.length ? s / (a.length * 255) : 0;
}

export interface CutOptions {
  /** A cut's difference must reach this (mean absolute luma difference, 0..1). */
  minDifference: number;
  /**
   * …and be this many times every other difference within `window` frames: motion (and the steps of
   * low-frame-rate footage, whose repeated frames differ by 0) is spread over many frames, a cut is one.
   */
  contrast: number;
  /** Frames on each side compared with a candidate cut. */
  window: number;
}

/** Tuned on the cut points of the dev benchmark queries: 183 of 185 part boundaries found, 70 other cuts (many real). */
export const DEFAULT_CUTS: CutOptions = { minDifference: 0.05, contrast: 1.5, window: 6 };

/**
 * Times at which a new shot starts: `differences[n]` is the difference between frame n-1 and frame n
 * (differences[0] is ignored), `times[n]` the time of frame n.
 */
export function detectCuts(differences: readonly number[], times: readonly number[], options: Partial<CutOptions> = {}): number[] {
  const o = { ...DEFAULT_CUTS, ...options };
  const cuts: number[] = [];
  for (let n = 1; n < differences.length; n++) {
    const d = differences[n];
    if (d < o.minDifference) continue;
    let others = 0;
    for (let k = Math.max(1, n - o.window); k <= Math.min(differences.length - 1, n + o.window); k++) if (k !== n) others = Math.max(others, differences[k]);
    if (d >= o.contrast * others) cuts.push(times[n]);
  }
  return cuts;
}

export interface Span {
  query: [number, number];
  reference: [number, number];
}

/** How far a segment end may move to a cut: `outward` away from the segment, `inward` into it (seconds). */
export interface SnapTolerance {
  outward: number;
  inward: number;
}

/**
 * Moves each end of a segment to the nearest query cut within its tolerance, shifting the reference
 * end by the same amount along the segment's slope. Ends without a cut nearby stay.
 */
export function snapToCuts(span: Span, cuts: readonly number[], tolerance: SnapTolerance, limits: { queryDuration: number; referenceDuration: number }): Span {
  const [q0, q1] = span.query;
  const [r0, r1] = span.reference;
  const qLen = q1 - q0;
  const slope = qLen >= 2 ? Math.min(4, Math.max(0.25, (r1 - r0) / qLen)) : 1;
  const nearest = (t: number, earlier: number, later: number): number | undefined => {
    let best: number | undefined;
    for (const c of cuts) {
      if (c < t - earlier || c > t + later) continue;
      if (best === undefined || Math.abs(c - t) < Math.abs(best - t)) best = c;
    }
    return best;
  };
  const clamp = (x: number, hi: number) => Math.min(hi, Math.max(0, x));
  let [nq0, nq1, nr0, nr1] = [q0, q1, r0, r1];
  // The reference end moves with the query end along the slope, but no further than the query end
  // may: it too lies between its outermost keyframe and the next sample.
  const shift = (d: number, lo: number, hi: number) => Math.min(hi, Math.max(-lo, d));
  const start = nearest(q0, tolerance.outward, tolerance.inward);
  if (start !== undefined && start < q1) {
    nq0 = start;
    nr0 = clamp(r0 + shift((start - q0) * slope, tolerance.outward, tolerance.inward), limits.referenceDuration);
  }
  const end = nearest(q1, tolerance.inward, tolerance.outward);
  if (end !== undefined && end > nq0) {
    nq1 = end;
    nr1 = clamp(r1 + shift((end - q1) * slope, tolerance.inward, tolerance.outward), limits.referenceDuration);
  }
  return { query: [clamp(nq0, limits.queryDuration), clamp(nq1, limits.queryDuration)], reference: [nr0, Math.max(nr0, nr1)] };
}
