import type { Claim } from './overlaps.js';
import { traceBand, type ClaimedMatrix } from './lookalikes.js';
import { bestMatches } from './similarity.js';

/**
 * Library duplicates: two references that are one footage (a re-encode, another resolution, a trimmed
 * copy) are both copied by a query that copies either. The detector often scores the degraded twin below
 * the threshold (its frames resemble the query less), so a claim on one reference is carried over to
 * every other candidate reference that is frame-locked to it over the claimed stretch: each reference
 * keyframe on the claim's band finds its best match among ALL frames of the other reference at one common
 * offset, and those matches are near-identical. Look-alikes (one static camera at two times, one set) match
 * about as well but at no common offset (src/match/lookalikes.ts), unrelated footage not at all.
 */
export interface DuplicateOptions {
  /** Mean similarity of the matched frames for two references to be one footage. */
  minSimilarity: number;
  /** Share of the band's reference keyframes whose best match lies within one keyframe of the common offset. */
  lockedShare: number;
  /** Claims on fewer reference keyframes than this give no evidence either way. */
  minFrames: number;
  /** The other reference already has a claim on this fraction of the query span: nothing is carried over. */
  maxCovered: number;
}

export const DEFAULT_DUPLICATES: DuplicateOptions = { minSimilarity: 0.55, lockedShare: 0.8, minFrames: 3, maxCovered: 0.5 };

export interface DuplicateLink {
  /** Reference keyframe offset (other − claimed). */
  offset: number;
  /** Mean similarity of the matched frames. */
  similarity: number;
  locked: number;
  /** The search stopped early (minLocked out of reach): offset and similarity are over the frames seen, locked is an upper bound. */
  stopped?: boolean;
}

/** Frames matched per step of linkFrames before it checks whether minLocked is still reachable. */
const LINK_CHUNK = 16;

/**
 * How the reference frames `frames` (keyframe indices of reference `a`) match reference `b`: each frame's best
 * match among all of b's frames, the median offset, the share within one keyframe of it, their mean similarity.
 * With `minLocked`, the search stops as soon as no window of three offsets can hold that share of the frames
 * any more (unrelated footage: after about 1 − minLocked of them), returning `stopped` and a locked share below
 * minLocked: the same verdict at a fraction of the cost on long references.
 */
export function linkFrames(a: Float32Array, b: Float32Array, frames: readonly number[], dim: number, minLocked = 0): DuplicateLink {
  const offsets: number[] = [];
  let total = 0;
  const windows = new Map<number, number>();
  let bestWindow = 0;
  for (let start = 0; start < frames.length; start += LINK_CHUNK) {
    const chunk = frames.slice(start, start + LINK_CHUNK);
    const { index, similarity } = bestMatches(a, chunk, b, dim);
    for (let k = 0; k < chunk.length; k++) {
      const d = index[k] - chunk[k];
      offsets.push(d);
      total += similarity[k];
      for (let w = d - 1; w <= d + 1; w++) {
        const c = (windows.get(w) ?? 0) + 1;
        windows.set(w, c);
        if (c > bestWindow) bestWindow = c;
      }
    }
    const reachable = (bestWindow + frames.length - offsets.length) / frames.length;
    if (offsets.length < frames.length && reachable < minLocked) {
      return { offset: NaN, similarity: total / offsets.length, locked: reachable, stopped: true };
    }
  }
  const sorted = [...offsets].sort((x, y) => x - y);
  const offset = sorted[Math.floor(sorted.length / 2)] ?? 0;
  const locked = frames.length ? offsets.filter((d) => Math.abs(d - offset) <= 1).length / frames.length : 0;
  return { offset, similarity: frames.length ? total / frames.length : 0, locked };
}

/**
 * The claims plus, for each claim and each other candidate reference frame-locked to its reference over the
 * claimed stretch (`linkFrames` above minSimilarity and lockedShare) that has no claim of its own there,
 * the same query span on that reference (its keyframes shifted by the offset), scored the claim's score ×
 * the frames' similarity. Input claims first, in their order.
 */
export function carryToDuplicates<R>(
  claims: readonly Claim<R>[],
  candidates: readonly R[],
  matrices: (reference: R) => ClaimedMatrix,
  dim: number,
  options: Partial<DuplicateOptions> = {},
): Claim<R>[] {
  const o = { ...DEFAULT_DUPLICATES, ...options };
  const out = [...claims];
  for (const claim of claims) {
    const s = claim.segment;
    const a = matrices(claim.reference);
    const frames = [...new Set(traceBand(a.sim, s).cols.values())].sort((x, y) => x - y);
    if (frames.length < o.minFrames) continue;
    const span = s.queryEnd - s.queryStart + 1;
    for (const other of candidates) {
      if (other === claim.reference) continue;
      const covered = (c: Claim<R>) => c.reference === other && Math.min(c.segment.queryEnd, s.queryEnd) - Math.max(c.segment.queryStart, s.queryStart) + 1 >= o.maxCovered * span;
      if (out.some(covered)) continue;
      const b = matrices(other);
      const link = linkFrames(a.vectors, b.vectors, frames, dim, o.lockedShare);
      if (link.similarity < o.minSimilarity || link.locked < o.lockedShare) continue;
      const last = b.vectors.length / dim - 1;
      const refStart = Math.min(last, Math.max(0, s.refStart + link.offset));
      const refEnd = Math.min(last, Math.max(refStart, s.refEnd + link.offset));
      // The witness of a corroborated claim traced the other reference's matrix, not this one: duplicateOf is the evidence here.
      const { corroboration: _witnessed, ...carried } = s;
      out.push({ reference: other, segment: { ...carried, refStart, refEnd, score: s.score * link.similarity }, duplicateOf: claim.reference });
    }
  }
  return out;
}
