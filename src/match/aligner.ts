import type { Matrix } from './similarity.js';
import type { FrameSegment, MatrixWindow } from './temporal-network.js';

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
  /**
   * The segments found on one rectangle of the matrix alone, in the matrix's keyframes (what `align` returns on a
   * copy of the rectangle, shifted back): a witness asked about one place (src/match/corroboration.ts) searches
   * there only. Optional: an aligner without it is asked on the whole matrix.
   */
  alignWindow?(sim: Matrix, window: MatrixWindow): Promise<FrameSegment[]>;
}
