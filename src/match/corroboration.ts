import type { FrameSegment, MatrixWindow } from './temporal-network.js';

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
  /**
   * Where the witness looks: around each grey segment, this many keyframes beyond its ends on both axes (the
   * window `windowAround` gives), when the witness aligner can search a window (Aligner.alignWindow); Infinity:
   * once on the whole matrix. The question is local (does the witness find this band?), and on the window the
   * band's cells are not crowded out of the witness's per-row candidates by brighter places elsewhere.
   */
  margin: number;
}

export const DEFAULT_CORROBORATION: CorroborationOptions = { floor: 0.12, minCover: 0.5, margin: Infinity };

/** The rectangle of a rows × cols matrix that holds `seg` and `margin` keyframes around it on every side. */
export function windowAround(seg: FrameSegment, margin: number, rows: number, cols: number): MatrixWindow {
  const row0 = Math.max(0, seg.queryStart - margin);
  const col0 = Math.max(0, seg.refStart - margin);
  return { row0, col0, rows: Math.min(rows - 1, seg.queryEnd + margin) - row0 + 1, cols: Math.min(cols - 1, seg.refEnd + margin) - col0 + 1 };
}

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
 * segment agrees with. `witnesses(grey)` is called for each grey segment (none when there is none) and must return
 * the witness aligner's segments at or above the witness bar (`witnessThreshold`, else that aligner's
 * threshold) that it found where it was asked to look for that segment (pairSegments: around it, or on the whole
 * matrix once). Each corroborated segment gets `corroboration`.
 */
export async function passCorroborated(
  segments: readonly FrameSegment[],
  threshold: number,
  witnesses: (grey: FrameSegment) => Promise<readonly FrameSegment[]>,
  options: Pick<CorroborationOptions, 'floor' | 'minCover'>,
): Promise<FrameSegment[]> {
  const passed = segments.filter((s) => s.score >= threshold);
  const grey = segments.filter((s) => s.score < threshold && s.score >= options.floor);
  for (const s of grey) {
    const found = await witnesses(s);
    const w = found.filter((f) => agrees(s, f, options.minCover)).sort((a, b) => b.score - a.score)[0];
    if (!w) continue;
    s.corroboration = { score: w.score, queryStart: w.queryStart, queryEnd: w.queryEnd, refStart: w.refStart, refEnd: w.refEnd };
    passed.push(s);
  }
  return passed;
}
