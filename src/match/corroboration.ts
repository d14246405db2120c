import type { FrameSegment } from './temporal-network.js';

/**
 * A second opinion for segments the primary aligner scores just below its threshold. The SPD detector
 * leaves short or faint copies in a grey zone under its decision threshold, where negatives also lie;
 * the temporal network traces paths by a different rule (no learned score, no output stride). A grey
 * segment is kept when the witness aligner independently finds a segment at its own threshold on the
 * same band: both must fire on the same query and reference stretch, which unrelated footage rarely makes
 * them do together.
 */
export interface CorroborationOptions {
  /** Primary segments scoring at least this (and below the primary's threshold) ask for a witness. */
  floor: number;
  /** The witness's segment must cover at least this share of the grey segment's span on both axes. */
  minCover: number;
  /** The witness's segments count from this score (undefined: the witness aligner's own threshold). */
  witnessThreshold?: number;
}

export const DEFAULT_CORROBORATION: CorroborationOptions = { floor: 0.12, minCover: 0.5 };

/** Keyframes of [a0, a1] ∩ [b0, b1], inclusive frame indices. */
function common(a0: number, a1: number, b0: number, b1: number): number {
  return Math.max(0, Math.min(a1, b1) - Math.max(a0, b0) + 1);
}

/** Whether `witness` lies on the band of `grey`: it covers `minCover` of the grey span on both axes. */
export function agrees(grey: FrameSegment, witness: FrameSegment, minCover: number): boolean {
  const q = common(grey.queryStart, grey.queryEnd, witness.queryStart, witness.queryEnd) / (grey.queryEnd - grey.queryStart + 1);
  const r = common(grey.refStart, grey.refEnd, witness.refStart, witness.refEnd) / (grey.refEnd - grey.refStart + 1);
  return q >= minCover && r >= minCover;
}

/**
 * The segments that pass: those at `threshold` and the grey ones (floor ≤ score < threshold) some witness
 * segment agrees with. `witnesses` is called only when a grey segment exists and must return the witness
 * aligner's segments at or above the witness bar (`witnessThreshold`, else that aligner's threshold). Each corroborated segment gets `corroboration`.
 */
export async function passCorroborated(
  segments: readonly FrameSegment[],
  threshold: number,
  witnesses: () => Promise<readonly FrameSegment[]>,
  options: CorroborationOptions,
): Promise<FrameSegment[]> {
  const passed = segments.filter((s) => s.score >= threshold);
  const grey = segments.filter((s) => s.score < threshold && s.score >= options.floor);
  if (grey.length === 0) return passed;
  const found = await witnesses();
  for (const s of grey) {
    const w = found.filter((f) => agrees(s, f, options.minCover)).sort((a, b) => b.score - a.score)[0];
    if (!w) continue;
    s.corroboration = { score: w.score, queryStart: w.queryStart, queryEnd: w.queryEnd, refStart: w.refStart, refEnd: w.refEnd };
    passed.push(s);
  }
  return passed;
}
