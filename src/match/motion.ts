import { dotAt } from './similarity.js';

/**
 * Motion agreement: how well a band of reference keyframes follows what CHANGES in the query. Two takes
 * of one static camera (or two pieces of one long shot) look alike frame by frame: every query frame is
 * about as similar to either, since the background dominates the embedding. What tells the copied take
 * from the other one is what moves: the query's keyframes minus their mean (the shared background and
 * whatever a colour or compression edit added to every frame) against the paired reference keyframes
 * minus theirs. The source follows the query's changes; a look-alike does not.
 *
 * For query keyframes q_i (rows) paired with reference keyframes r_i (cols), with q̄ and r̄ their means:
 *
 *   agreement = Σ_i (q_i − q̄)·(r_i − r̄) / sqrt(Σ_i ‖q_i − q̄‖² · Σ_i ‖r_i − r̄‖²)   ∈ [−1, 1]
 *
 * 0 when either side does not change at all (or with fewer than two pairs).
 */
export function motionAgreement(query: Float32Array, rows: readonly number[], ref: Float32Array, cols: readonly number[], dim: number): number {
  return rows.length < 2 || cols.length !== rows.length ? 0 : agreementWith(centredRows(query, rows, dim), ref, cols);
}

/** The query side of the agreement, the same for every placement of its rows: deviations from their mean and their sum of squares. */
interface CentredRows {
  n: number;
  dim: number;
  /** Row a's deviations at a·dim. */
  deviations: Float64Array;
  squares: number;
}

function centredRows(query: Float32Array, rows: readonly number[], dim: number): CentredRows {
  const n = rows.length;
  const mean = new Float64Array(dim);
  for (let a = 0; a < n; a++) for (let k = 0, qa = rows[a] * dim; k < dim; k++) mean[k] += query[qa + k] / n;
  const deviations = new Float64Array(n * dim);
  let squares = 0;
  for (let a = 0; a < n; a++) {
    for (let k = 0, qa = rows[a] * dim; k < dim; k++) {
      const dq = query[qa + k] - mean[k];
      deviations[a * dim + k] = dq;
      squares += dq * dq;
    }
  }
  return { n, dim, deviations, squares };
}

/** The agreement of centred query rows with the reference keyframes `cols` (one per row). */
function agreementWith(q: CentredRows, ref: Float32Array, cols: readonly number[]): number {
  const { n, dim, deviations } = q;
  const mean = new Float64Array(dim);
  for (let a = 0; a < n; a++) for (let k = 0, ra = cols[a] * dim; k < dim; k++) mean[k] += ref[ra + k] / n;
  let cross = 0;
  let rr = 0;
  for (let a = 0; a < n; a++) {
    for (let k = 0, ra = cols[a] * dim; k < dim; k++) {
      const dr = ref[ra + k] - mean[k];
      cross += deviations[a * dim + k] * dr;
      rr += dr * dr;
    }
  }
  const spread = Math.sqrt(q.squares * rr);
  return spread > 1e-9 ? cross / spread : 0;
}

/**
 * The best motion agreement of the band moved by at most `shift` reference keyframes either way (every
 * moved column inside the reference's `refCount` keyframes): a band's place is only as exact as its
 * aligner, and on a static shot the frame-by-frame similarities that placed it hardly vary.
 */
export function bandMotion(query: Float32Array, rows: readonly number[], ref: Float32Array, cols: readonly number[], dim: number, shift: number): number {
  if (rows.length < 2 || cols.length !== rows.length) return 0;
  const q = centredRows(query, rows, dim);
  const refCount = Math.floor(ref.length / dim);
  const lo = Math.min(...cols);
  const hi = Math.max(...cols);
  let best = -Infinity;
  for (let d = Math.max(-shift, -lo); d <= Math.min(shift, refCount - 1 - hi); d++) {
    best = Math.max(best, agreementWith(q, ref, d === 0 ? cols : cols.map((c) => c + d)));
  }
  return best === -Infinity ? 0 : best;
}

/** Index of the time in ascending `times` nearest to t (the earlier one among equals). */
function nearest(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo > 0 && t - times[lo - 1] <= times[lo] - t ? lo - 1 : lo;
}

/** Where `timeMotion` places the first row: reference times within `radius` seconds of `time`. */
export interface PlacementWindow {
  time: number;
  radius: number;
}

/**
 * The best motion agreement of the query keyframes `rows` played at their own speed in the reference: for
 * every reference keyframe (within `around`, when given) as the place of the first row, each row is paired
 * with the reference keyframe nearest to its time moved by the same offset (placements that run past the
 * end of the reference are not tried). Keyframes are sampled where the picture changes, so keyframe indices
 * are not time: on a static shot a band of keyframes is steeper or flatter than the copy, and a detector box
 * drawn over frames that all look alike may sit seconds away from it. Speed-changed copies are left to
 * `bandMotion`. Each placement costs rows × dim: the window bounds the work on long references.
 */
export function timeMotion(
  query: Float32Array,
  rows: readonly number[],
  queryTimes: readonly number[],
  ref: Float32Array,
  refTimes: readonly number[],
  dim: number,
  around?: PlacementWindow,
): number {
  if (rows.length < 2 || refTimes.length === 0) return 0;
  const first = queryTimes[rows[0]];
  const span = queryTimes[rows[rows.length - 1]] - first;
  const end = refTimes[refTimes.length - 1];
  const lo = around ? around.time - around.radius : -Infinity;
  const hi = around ? around.time + around.radius : Infinity;
  const q = centredRows(query, rows, dim);
  let best = -Infinity;
  for (let p = around ? nearest(refTimes, lo) : 0; p < refTimes.length; p++) {
    const start = refTimes[p];
    if (start < lo) continue;
    if (start + span > end || start > hi) break;
    const cols = rows.map((i) => nearest(refTimes, queryTimes[i] - first + start));
    best = Math.max(best, agreementWith(q, ref, cols));
  }
  return best === -Infinity ? 0 : best;
}

/**
 * True when two different keyframes among `cols` are the same picture (similarity ≥ `sameFrame`): a loop
 * (an animation cycle, a repeated clip) or a still. Such a reference repeats its own motion, so motion
 * cannot tell where, or whether, it was copied.
 */
export function repeatsItself(ref: Float32Array, cols: readonly number[], dim: number, sameFrame: number): boolean {
  const distinct = [...new Set(cols)];
  for (let a = 0; a < distinct.length; a++) {
    for (let b = a + 1; b < distinct.length; b++) if (dotAt(ref, distinct[a] * dim, ref, distinct[b] * dim, dim) >= sameFrame) return true;
  }
  return false;
}
