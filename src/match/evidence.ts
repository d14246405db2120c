import type { Matrix } from './similarity.js';
import type { FrameSegment } from './temporal-network.js';

/** Why a segment is claimed: the best-matching reference frame of each query frame inside the box. */
export interface Evidence {
  /** [query time, reference time, cosine similarity] per query keyframe of the box. */
  pairs: [number, number, number][];
  meanSimilarity: number;
  /**
   * The part of the query picture that matched, when most pairs matched through a view of the query
   * keyframe (a picture-in-picture inset) rather than the whole frame: fractions of the frame.
   */
  queryRegion?: Region;
  /**
   * The claim was carried over from this reference, of which the claimed one is a duplicate in the library
   * (another encode of the same footage, src/match/duplicates.ts): the aligner scored it below the threshold.
   */
  duplicateOf?: { id: string; path: string };
  /**
   * Look-alike references (one static camera filmed at another time, one set) whose claims on the same query
   * seconds were dropped in favour of this one (src/match/lookalikes.ts), and why: `motion`, this reference moves
   * as the query moves (`motion`: the agreements of this claim and of the dropped one, src/match/motion.ts), or
   * `frames`, it wins more of those query keyframes frame by frame. Shown so that a reviewer knows which
   * near-identical footage was weighed.
   */
  preferredOver?: { id: string; path: string; by: 'motion' | 'frames'; motion?: { kept: number; dropped: number } }[];
  /**
   * The aligner scored this segment just below its threshold; it is claimed because a second aligner found the
   * same band at its own threshold (src/match/corroboration.ts): that aligner, its score and its span in seconds.
   */
  corroboratedBy?: { aligner: string; score: number; query: [number, number]; reference: [number, number] };
}

export interface Region {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Evidence numbers (similarities, scores, region fractions) are reported to 4 decimals. */
export function roundEvidence(x: number): number {
  return Math.round(x * 1e4) / 1e4;
}

export function boxEvidence(sim: Matrix, seg: FrameSegment, queryTimes: readonly number[], refTimes: readonly number[]): Evidence {
  const pairs: [number, number, number][] = [];
  for (let i = seg.queryStart; i <= seg.queryEnd; i++) {
    let best = -Infinity;
    let bestJ = seg.refStart;
    for (let j = seg.refStart; j <= seg.refEnd; j++) {
      const s = sim.data[i * sim.cols + j];
      if (s > best) {
        best = s;
        bestJ = j;
      }
    }
    pairs.push([queryTimes[i], refTimes[bestJ], roundEvidence(best)]);
  }
  const meanSimilarity = pairs.length ? pairs.reduce((s, p) => s + p[2], 0) / pairs.length : 0;
  return { pairs, meanSimilarity: roundEvidence(meanSimilarity) };
}

/**
 * The evidence of a segment whose ends moved (snapped to shot cuts): only the pairs inside the new query and
 * reference spans (ends exclusive) still support it; their mean similarity is recomputed.
 */
export function evidenceWithin(evidence: Evidence, span: { query: readonly [number, number]; reference: readonly [number, number] }): Evidence {
  const inside = (t: number, [a, b]: readonly [number, number]) => t >= a && t < b;
  const pairs = evidence.pairs.filter(([qt, rt]) => inside(qt, span.query) && inside(rt, span.reference));
  if (pairs.length === evidence.pairs.length) return evidence;
  const meanSimilarity = pairs.length ? roundEvidence(pairs.reduce((s, p) => s + p[2], 0) / pairs.length) : 0;
  return { ...evidence, pairs, meanSimilarity };
}
