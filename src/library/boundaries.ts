import { lumaFrames } from '../decode/frames.js';
import type { VideoInfo } from '../decode/probe.js';
import { MediaTooShortError } from '../errors.js';
import { detectCuts, lumaDifference, snapToCuts, type SnapTolerance } from '../match/cuts.js';
import { evidenceWithin } from '../match/evidence.js';
import type { MatchReport } from '../report/match-report.js';

/** Luma frames this small are enough to see a cut, and cost little to decode. */
const CUT_FRAME = { width: 64, height: 36 };
/** Frames around a candidate cut that must differ less (see DEFAULT_CUTS.window), in seconds at most. */
const CONTEXT_SECONDS = 0.3;

/**
 * A segment end measured on 1-fps keyframes is within ±half a sample of the truth. Where the query
 * cuts into the copied footage, the cut gives the end to one frame: decode the query at its full
 * frame rate (tiny luma) around each reported end only, find cuts, and snap ends within
 * `tolerance` to them (the reference end moves with the segment's slope).
 */
export async function snapReportToCuts(report: MatchReport, info: VideoInfo, tolerance: SnapTolerance): Promise<MatchReport> {
  const ends = report.matches.flatMap((m) => m.segments.flatMap((s) => s.query));
  if (ends.length === 0) return report;
  const reach = Math.max(tolerance.inward, tolerance.outward) + CONTEXT_SECONDS;
  const windows = mergeWindows(ends.map((t) => [t - reach, t + reach] as [number, number]));
  const cuts: number[] = [];
  for (const [start, end] of windows) cuts.push(...(await cutsIn(info, start, end - start)));
  const queryDuration = report.query.duration;
  return {
    ...report,
    matches: report.matches.map((m) => ({
      ...m,
      segments: m.segments.map((s) => {
        const span = snapToCuts(s, cuts, tolerance, { queryDuration, referenceDuration: m.reference.duration });
        return { ...s, ...span, ...(s.evidence ? { evidence: evidenceWithin(s.evidence, span) } : {}) };
      }),
    })),
  };
}

function mergeWindows(windows: [number, number][]): [number, number][] {
  const sorted = windows.map(([a, b]) => [Math.max(0, a), b] as [number, number]).sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const w of sorted) {
    const last = out[out.length - 1];
    if (last && w[0] <= last[1]) last[1] = Math.max(last[1], w[1]);
    else out.push([w[0], w[1]]);
  }
  return out;
}

async function cutsIn(info: VideoInfo, start: number, duration: number): Promise<number[]> {
  const differences: number[] = [];
  const times: number[] = [];
  let previous: Uint8Array | undefined;
  try {
    for await (const frame of lumaFrames(info, CUT_FRAME, { start, duration })) {
      differences.push(previous ? lumaDifference(previous, frame.rgb) : 0);
      times.push(frame.time);
      previous = frame.rgb;
    }
  } catch (e) {
    if (e instanceof MediaTooShortError) return []; // the window lies past the last frame
    throw e;
  }
  return detectCuts(differences, times);
}
