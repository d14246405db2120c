import type { Evidence } from '../match/evidence.js';

/** The `match --json` contract (benchmarks and the API depend on it). Times are seconds. */
export interface SegmentReport {
  query: [number, number];
  reference: [number, number];
  score: number;
  /** The frame pairs behind the claim (extension of the contract; may be omitted by consumers). */
  evidence?: Evidence;
}

export interface MatchEntry {
  reference: { id: string; path: string; duration: number };
  score: number;
  segments: SegmentReport[];
}

export interface MatchReport {
  query: { path: string; duration: number };
  matches: MatchEntry[];
  /** How the decision was made: encoder, aligner, threshold, timings. Extra fields may be added. */
  info?: { model: string; aligner: string; threshold: number; keyframes: number; candidates: number; ms: number };
}

const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

/** Rounds times and scores for presentation (3 decimals) without changing the structure. */
export function roundReport(report: MatchReport): MatchReport {
  return {
    ...report,
    query: { ...report.query, duration: round(report.query.duration) },
    matches: report.matches.map((m) => ({
      reference: { ...m.reference, duration: round(m.reference.duration) },
      score: round(m.score, 4),
      segments: m.segments.map((s) => ({
        query: [round(s.query[0]), round(s.query[1])],
        reference: [round(s.reference[0]), round(s.reference[1])],
        score: round(s.score, 4),
        ...(s.evidence ? { evidence: s.evidence } : {}),
      })),
    })),
  };
}

const pct = (x: number) => `${Math.round(x * 100)}%`;

/** A plain-text summary for terminals. */
export function formatReportText(report: MatchReport): string {
  const lines = [`query ${report.query.path} (${report.query.duration.toFixed(1)} s)`];
  if (report.matches.length === 0) lines.push('  no copied segments found in the library');
  for (const m of report.matches) {
    lines.push(`  ${m.reference.path}  score ${m.score.toFixed(3)}  [${m.reference.id}]`);
    for (const s of m.segments) {
      const r = s.evidence?.queryRegion;
      const dup = s.evidence?.duplicateOf;
      const over = s.evidence?.preferredOver ?? [];
      const witness = s.evidence?.corroboratedBy;
      const where =
        (r ? `, inset at ${pct(r.x)},${pct(r.y)} size ${pct(r.w)}×${pct(r.h)} of the query frame` : '') +
        (dup ? `, duplicate of ${dup.path}` : '') +
        over.map((o) => `, rather than look-alike ${o.path}${o.motion ? ` (moves as the query does: ${o.motion.kept.toFixed(2)} vs ${o.motion.dropped.toFixed(2)})` : ''}`).join('') +
        (witness ? `, below the threshold but confirmed by ${witness.aligner} (${witness.score.toFixed(3)})` : '');
      lines.push(
        `    query ${s.query[0].toFixed(1)}–${s.query[1].toFixed(1)} s  ↔  reference ${s.reference[0].toFixed(1)}–${s.reference[1].toFixed(1)} s  (score ${s.score.toFixed(3)}${where})`,
      );
    }
  }
  return lines.join('\n');
}
