import type { Matrix } from './similarity.js';
import type { FrameSegment } from './temporal-network.js';

/**
 * Turns a query×reference frame-similarity matrix into copied segments (frame-index boxes with a
 * score in 0..1). Implementations: temporal network and dynamic programming (classical, in match/),
 * and the learned SPD detector (detect/).
 */
export interface Aligner {
  readonly name: string;
  /** Segment score at or above which a segment is reported as a copy (tuned on the dev benchmark). */
  readonly threshold: number;
  align(sim: Matrix): Promise<FrameSegment[]>;
}
