import type { FrameSegment } from './temporal-network.js';

/** A segment claimed against one reference video. */
export interface Claim<R = string> {
  reference: R;
  segment: FrameSegment;
  /** Set on a claim carried over from this reference, of which `reference` is a duplicate (duplicates.ts). */
  duplicateOf?: R;
}

export interface OverlapOptions {
  /**
   * A claim whose query keyframes are at least this fraction covered by stronger kept claims on the
   * same reference is dropped: static footage and repeated shots make weaker echoes of the true band
   * elsewhere in the reference, and one stretch of the query is a copy of one place of a reference.
   */
  maxCovered: number;
}

export const DEFAULT_OVERLAPS: OverlapOptions = { maxCovered: 0.5 };

/** Evidence of a claim: mean similarity × aligned keyframes (a long, consistent band beats a short bright one). */
const strength = (s: FrameSegment): number => s.score * s.support;

/**
 * Resolves claims on one reference that explain the same query keyframes: strongest first (score ×
 * support), a claim is kept unless stronger kept claims of the same reference already cover
 * `maxCovered` of its query span. Claims on different references are not compared here by score (the
 * dev benchmark measured that worse: a look-alike reference often outscores the true source, and
 * duplicate files of one footage are both right); src/match/lookalikes.ts compares the references' frames
 * instead. Stable among equals; returns kept claims strongest first.
 */
export function resolveQueryOverlaps<R>(claims: readonly Claim<R>[], options: Partial<OverlapOptions> = {}): Claim<R>[] {
  const o = { ...DEFAULT_OVERLAPS, ...options };
  const order = claims
    .map((c, k) => ({ c, k }))
    .sort((a, b) => strength(b.c.segment) - strength(a.c.segment) || a.k - b.k)
    .map(({ c }) => c);
  const kept: Claim<R>[] = [];
  for (const claim of order) {
    const { queryStart: qs, queryEnd: qe } = claim.segment;
    const covered = new Uint8Array(qe - qs + 1);
    for (const k of kept) {
      if (k.reference !== claim.reference) continue;
      for (let i = Math.max(qs, k.segment.queryStart); i <= Math.min(qe, k.segment.queryEnd); i++) covered[i - qs] = 1;
    }
    const fraction = covered.reduce((s, x) => s + x, 0) / covered.length;
    if (fraction < o.maxCovered) kept.push(claim);
  }
  return kept;
}

/**
 * A repeat (FrameSegment.repeatOf: the same footage found a second time beside a detected band) stands
 * only with the claim it repeats: when the match path dropped that claim (an echo on the same
 * reference, a look-alike of another reference), `kept` loses its repeats too. `all` = the claims before
 * resolution; a repeat whose parent was never among them is left alone. Keeps `kept`'s order.
 */
export function dropOrphanRepeats<R>(all: readonly Claim<R>[], kept: readonly Claim<R>[]): Claim<R>[] {
  const before = new Set(all.map((c) => c.segment));
  const after = new Set(kept.map((c) => c.segment));
  return kept.filter(({ segment: { repeatOf } }) => !repeatOf || !before.has(repeatOf) || after.has(repeatOf));
}
