import type { Claim } from './overlaps.js';
import { bandMotion, repeatsItself, timeMotion } from './motion.js';
import { bestMatches, dotAt, type Matrix } from './similarity.js';
import type { FrameSegment } from './temporal-network.js';

/**
 * Claims on DIFFERENT references that explain the same query keyframes. Three cases, told apart by
 * comparing the two references' frames directly (no threshold on the query's own similarities):
 *   - the references show unrelated pictures (a picture-in-picture of one over the other, say): both
 *     are copies, both stay;
 *   - the references are copies of each other (one file re-encoded, a duplicate in the library): their
 *     frames correspond one to one in time — for most shared keyframes, the kept reference's frame
 *     finds its best match among ALL frames of the other reference at (or next to) the frame the
 *     other claim pairs with the same query keyframe — and both stay;
 *   - the references merely look alike (one static camera filmed at two times, one set, one art
 *     style): their frames resemble each other about as much as the query resembles them, but with no
 *     frame-to-frame correspondence. The query was copied from one of them; the claim that explains
 *     fewer query keyframes is dropped — or, when they share at least `motionKeyframes` query keyframes,
 *     the claim whose reference follows the query's changes less (src/match/motion.ts): frame by frame a
 *     look-alike can match as well or better (same background, and an edit such as a crop or a colour
 *     change moves the query away from both), but only the source moves as the query moves.
 */
export interface LookAlikeOptions {
  /** Only a claim whose query keyframes are at least this fraction inside a kept claim can be dropped. */
  minOverlap: number;
  /** A claim is dominated when it matches fewer than this fraction of the shared keyframes at least as well. */
  maxWinShare: number;
  /** Reference frames resemble each other when their similarity is at least the query's similarity minus this. */
  resemblanceMargin: number;
  /** Frames correspond in time when a kept frame's best match in the other reference lies within this many keyframes of its band... */
  lockTolerance: number;
  /** ...for at least this fraction of the shared query keyframes. */
  lockedShare: number;
  /**
   * Look-alikes sharing at least this many query keyframes are told apart by motion agreement
   * (src/match/motion.ts) instead of frame-by-frame wins; 0: never.
   */
  motionKeyframes: number;
  /** Reference keyframes a band may move either way for its motion agreement (motion.ts bandMotion). */
  motionShift: number;
  /**
   * Seconds either side of where a band starts in which the query's stretch is also placed at its own speed
   * (motion.ts timeMotion): a box over look-alike frames can sit seconds off its copy; the window bounds the
   * work on long references.
   */
  motionRadius: number;
  /**
   * Two keyframes of a band at least this similar are the same picture: a band that repeats itself (a loop,
   * a still) has no motion of its own to follow, and the pair is left to frame-by-frame wins.
   */
  sameFrame: number;
}

export const DEFAULT_LOOKALIKES: LookAlikeOptions = { minOverlap: 0.5, maxWinShare: 0.7, resemblanceMargin: 0.1, lockTolerance: 1, lockedShare: 0.5, motionKeyframes: 4, motionShift: 2, motionRadius: 60, sameFrame: 0.99 };

export interface ClaimedMatrix {
  /** Query × reference similarities the claim was found in. */
  sim: Matrix;
  /** The reference's keyframe vectors, row-major. */
  vectors: Float32Array;
  /** The reference's keyframe times (seconds). */
  times?: readonly number[];
  /** The query's keyframes (vectors of the whole frames, row-major, and times): needed to tell look-alikes apart by motion. */
  query?: { vectors: Float32Array; times: readonly number[] };
}

/** A claim dropped as the echo of a kept claim on a look-alike reference. */
export interface LookAlikeDrop<R> {
  dropped: Claim<R>;
  kept: Claim<R>;
  /** How it was decided: the kept claim's reference follows the query's motion better, or wins more keyframes. */
  by: 'motion' | 'frames';
  /** With `by: 'motion'`: the motion agreements (src/match/motion.ts) of the kept and the dropped claim. */
  motion?: { kept: number; dropped: number };
}

interface Trace<R> {
  claim: Claim<R>;
  /** Per query keyframe of the claim: the reference keyframe on its band and that pair's similarity. */
  cols: Map<number, number>;
  sims: Map<number, number>;
  wins: number;
}

/**
 * Each query keyframe of a segment is paired with the reference keyframe on the segment's diagonal
 * (its best neighbour within one keyframe: bands are not perfectly straight).
 */
export function traceBand(sim: Matrix, s: FrameSegment): { cols: Map<number, number>; sims: Map<number, number> } {
  const cols = new Map<number, number>();
  const sims = new Map<number, number>();
  const span = Math.max(1, s.queryEnd - s.queryStart);
  for (let i = s.queryStart; i <= s.queryEnd; i++) {
    const centre = Math.round(s.refStart + ((i - s.queryStart) * (s.refEnd - s.refStart)) / span);
    let best = -Infinity;
    let bestJ = centre;
    for (let j = Math.max(0, centre - 1); j <= Math.min(sim.cols - 1, centre + 1); j++) {
      const v = sim.data[i * sim.cols + j];
      if (v > best) {
        best = v;
        bestJ = j;
      }
    }
    cols.set(i, bestJ);
    sims.set(i, best);
  }
  return { cols, sims };
}


/**
 * Drops claims that only echo a stronger claim on a look-alike reference (see LookAlikeOptions).
 * Claims are visited by the number of query keyframes they match best (then by strength); a claim is
 * tested against every kept claim of another reference. Returns the kept claims in the input order.
 */
export function resolveLookAlikes<R>(
  claims: readonly Claim<R>[],
  matrices: (reference: R) => ClaimedMatrix,
  dim: number,
  options: Partial<LookAlikeOptions> = {},
  drops?: LookAlikeDrop<R>[],
): Claim<R>[] {
  const o = { ...DEFAULT_LOOKALIKES, ...options };
  if (new Set(claims.map((c) => c.reference)).size < 2) return [...claims];
  const traces: Trace<R>[] = claims.map((claim) => ({ claim, ...traceBand(matrices(claim.reference).sim, claim.segment), wins: 0 }));
  const best = new Map<number, Trace<R>>();
  for (const t of traces) {
    for (const [i, v] of t.sims) {
      const b = best.get(i);
      if (!b || v > b.sims.get(i)!) best.set(i, t);
    }
  }
  for (const t of best.values()) t.wins++;
  const strength = (t: Trace<R>) => t.claim.segment.score * t.claim.segment.support;
  const order = traces.map((t, k) => ({ t, k })).sort((a, b) => b.t.wins - a.t.wins || strength(b.t) - strength(a.t) || a.k - b.k);
  const kept: Trace<R>[] = [];
  const dropped: LookAlikeDrop<R>[] = [];
  // echoes(b, w) depends on the two claims only; the sweep below asks again about pairs already weighed.
  const weighed = new Map<Trace<R>, Map<Trace<R>, Echo>>();
  const echo = (b: Trace<R>, w: Trace<R>): Echo => {
    let row = weighed.get(b);
    if (!row) weighed.set(b, (row = new Map()));
    if (!row.has(w)) row.set(w, echoes(b, w, matrices, dim, o));
    return row.get(w)!;
  };
  // The first kept claim (of another reference) that b echoes, and how; with motionOnly, only an echo decided by motion.
  const echoOf = (b: Trace<R>, motionOnly: boolean): LookAlikeDrop<R> | undefined => {
    for (const w of kept) {
      if (w === b || w.claim.reference === b.claim.reference) continue;
      const e = echo(b, w);
      if (e && (!motionOnly || e.by === 'motion')) return { dropped: b.claim, kept: w.claim, ...e };
    }
    return undefined;
  };
  for (const { t: b } of order) {
    const drop = echoOf(b, false);
    if (!drop) kept.push(b);
    else dropped.push(drop);
  }
  // Decided by motion, a claim visited later can be the source and one kept before it the echo: it goes
  // now, and whatever it had been preferred over (on other references than the replacing claim's) is
  // credited to the claim that replaced it. (By wins the visiting order already put the stronger claim first.)
  for (let k = 0; k < kept.length; ) {
    const w = kept[k];
    const drop = echoOf(w, true);
    if (!drop) {
      k++;
      continue;
    }
    kept.splice(k, 1);
    for (const d of dropped) {
      if (d.kept !== w.claim || d.dropped.reference === drop.kept.reference) continue;
      // Its agreements were measured against the claim that went (on their shared keyframes): not repeated.
      d.kept = drop.kept;
      delete d.motion;
    }
    dropped.push(drop);
    k = 0;
  }
  drops?.push(...dropped);
  const keep = new Set(kept.map((t) => t.claim));
  return claims.filter((c) => keep.has(c));
}

/** How a claim was found to echo another one (by frame-by-frame wins, or by motion agreement), or null: it does not. */
type Echo = Pick<LookAlikeDrop<unknown>, 'by' | 'motion'> | null;

/** Is claim b a look-alike echo of the kept claim w (on another reference)? */
function echoes<R>(b: Trace<R>, w: Trace<R>, matrices: (reference: R) => ClaimedMatrix, dim: number, o: LookAlikeOptions): Echo {
  const shared = [...b.cols.keys()].filter((i) => w.cols.has(i));
  if (shared.length === 0 || shared.length < o.minOverlap * b.cols.size) return null;
  const query = matrices(b.claim.reference).query;
  const byMotion = query !== undefined && o.motionKeyframes > 0 && shared.length >= o.motionKeyframes;
  const bWins = shared.filter((i) => b.sims.get(i)! >= w.sims.get(i)!).length;
  if (!byMotion && bWins >= o.maxWinShare * shared.length) return null;
  const wRef = matrices(w.claim.reference).vectors;
  const bRef = matrices(b.claim.reference).vectors;
  let aligned = 0;
  let querySim = 0;
  let lockedHits = 0;
  // The reference keyframes each claim pairs with the shared query keyframes (its band over them).
  const wBand = shared.map((i) => w.cols.get(i)!);
  const bBand = shared.map((i) => b.cols.get(i)!);
  const { index } = bestMatches(wRef, wBand, bRef, dim);
  shared.forEach((i, k) => {
    const jw = wBand[k];
    const jb = bBand[k];
    aligned += dotAt(wRef, jw * dim, bRef, jb * dim, dim);
    if (Math.abs(index[k] - jb) <= o.lockTolerance) lockedHits++;
    querySim += b.sims.get(i)!;
  });
  const n = shared.length;
  const resembles = aligned / n >= querySim / n - o.resemblanceMargin;
  // A duplicate's frames find their own counterparts; a look-alike's frames match anywhere (or elsewhere).
  const locked = lockedHits >= o.lockedShare * n;
  if (!resembles || locked) return null;
  if (!byMotion || repeatsItself(bRef, bBand, dim, o.sameFrame) || repeatsItself(wRef, wBand, dim, o.sameFrame)) {
    return bWins < o.maxWinShare * shared.length ? { by: 'frames' } : null;
  }
  // Along the band (speed changes included), or played at the query's own speed anywhere in the reference.
  const motion = (t: Trace<R>, ref: Float32Array, band: number[]) => {
    const times = matrices(t.claim.reference).times;
    const along = bandMotion(query.vectors, shared, ref, band, dim, o.motionShift);
    if (!times) return along;
    const around = { time: times[band[0]], radius: o.motionRadius };
    return Math.max(along, timeMotion(query.vectors, shared, query.times, ref, times, dim, around));
  };
  const agreement = { kept: motion(w, wRef, wBand), dropped: motion(b, bRef, bBand) };
  return agreement.dropped < agreement.kept ? { by: 'motion', motion: agreement } : null;
}
