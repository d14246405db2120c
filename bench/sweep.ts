/**
 * Decision-threshold sweep: given match reports produced with a threshold low enough to keep every
 * candidate segment, re-applies each threshold offline and scores the result. This is how the default
 * thresholds are tuned — on generated dev data only.
 */
import type { MatchReport } from '../src/report/match-report.js';

export function applyThreshold(report: MatchReport, threshold: number): MatchReport {
  const matches = report.matches
    .map((m) => {
      const segments = m.segments.filter((s) => s.score >= threshold);
      return { ...m, segments, score: segments.length ? Math.max(...segments.map((s) => s.score)) : 0 };
    })
    .filter((m) => m.segments.length > 0)
    .sort((a, b) => b.score - a.score);
  return { ...report, matches };
}

export function thresholdGrid(reports: readonly MatchReport[], steps = 40): number[] {
  const scores = reports.flatMap((r) => r.matches.flatMap((m) => m.segments.map((s) => s.score))).sort((a, b) => a - b);
  if (scores.length === 0) return [];
  const grid = new Set<number>();
  for (let k = 0; k <= steps; k++) grid.add(Math.round(scores[Math.min(scores.length - 1, Math.floor((k / steps) * scores.length))] * 1e4) / 1e4);
  return [...grid].sort((a, b) => a - b);
}
