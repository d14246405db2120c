import type { VectorIndex } from '../index/vector-index.js';
import type { MatchEntry, MatchReport, SegmentReport } from '../report/match-report.js';
import type { Repository } from '../store/repository.js';
import { voteCandidates } from './candidates.js';
import { similarityMatrix } from './similarity.js';
import type { Aligner } from './aligner.js';
import { boxEvidence } from './evidence.js';
import { dpAlign, type DpOptions } from './dp-align.js';
import { temporalNetwork, type TemporalNetworkOptions } from './temporal-network.js';

export interface MatchOptions {
  /** Neighbours retrieved per query keyframe. */
  knn: number;
  /** Reference videos aligned in full per query. */
  candidates: number;
  /** Similarities below this do not vote for a candidate. */
  voteFloor: number;
  /** Segments scoring below this are not reported: the copy decision threshold (default: the aligner's). */
  threshold: number | undefined;
}

/**
 * Defaults; `threshold` is the copy decision threshold, tuned on the dev benchmark (bench:copy) only.
 * See docs/decision-threshold.md.
 */
export const DEFAULT_MATCH: MatchOptions = {
  knn: 64,
  candidates: 10,
  voteFloor: 0.5,
  threshold: undefined,
};

/** Drops keys whose value is undefined, so that spreading a partial override keeps the defaults. */
export function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

export function temporalNetworkAligner(options: Partial<TemporalNetworkOptions> = {}, threshold = 0.75): Aligner {
  const o = { minSimilarity: DEFAULT_MATCH.voteFloor, ...definedOnly(options) };
  return { name: 'tn', threshold, align: async (sim) => temporalNetwork(sim, o) };
}

export function dpAligner(options: Partial<DpOptions> = {}, threshold = 0.75): Aligner {
  const o = definedOnly(options);
  return { name: 'dp', threshold, align: async (sim) => dpAlign(sim, o) };
}

export interface QueryKeyframes {
  path: string;
  duration: number;
  times: number[];
  vectors: Float32Array[];
}

export interface MatchContext {
  index: VectorIndex;
  repo: Repository;
  dim: number;
  /** Seconds covered by one sampled frame. */
  sampleInterval: number;
  model: string;
  aligner: Aligner;
}

/** kNN per query keyframe → candidate references → similarity matrix → temporal alignment → report. */
export async function matchQuery(query: QueryKeyframes, ctx: MatchContext, options: Partial<MatchOptions> = {}): Promise<MatchReport> {
  const started = performance.now();
  const o: MatchOptions = { ...DEFAULT_MATCH, ...definedOnly(options) };
  const threshold = o.threshold ?? ctx.aligner.threshold;
  const { dim } = ctx;
  const q = new Float32Array(query.vectors.length * dim);
  query.vectors.forEach((v, i) => q.set(v, i * dim));
  const neighbours = ctx.index.search(q, o.knn);
  const owners = await ctx.repo.keyframeOwners([...new Set(neighbours.flat().map((n) => n.id))]);
  const candidates = voteCandidates(neighbours, (id) => owners.get(id)?.videoId, o.voteFloor, o.candidates);
  const videos = await ctx.repo.getVideos(candidates.map((c) => c.videoId));
  const matches: MatchEntry[] = [];
  for (const candidate of candidates) {
    const video = videos.get(candidate.videoId);
    if (!video) continue;
    const ref = await ctx.repo.videoKeyframes(candidate.videoId, dim);
    if (ref.ids.length === 0) continue;
    const sim = similarityMatrix(q, ref.vectors, dim);
    const segments: SegmentReport[] = (await ctx.aligner.align(sim))
      .filter((s) => s.score >= threshold)
      .map((s) => ({
        query: [query.times[s.queryStart], Math.min(query.duration, query.times[s.queryEnd] + ctx.sampleInterval)],
        reference: [ref.times[s.refStart], Math.min(video.duration, ref.times[s.refEnd] + ctx.sampleInterval)],
        score: s.score,
        evidence: boxEvidence(sim, s, query.times, ref.times),
      }));
    if (segments.length === 0) continue;
    segments.sort((a, b) => a.query[0] - b.query[0]);
    matches.push({
      reference: { id: video.id, path: video.path, duration: video.duration },
      score: Math.max(...segments.map((s) => s.score)),
      segments,
    });
  }
  matches.sort((a, b) => b.score - a.score);
  return {
    query: { path: query.path, duration: query.duration },
    matches,
    info: {
      model: ctx.model,
      aligner: ctx.aligner.name,
      threshold,
      keyframes: query.vectors.length,
      candidates: candidates.length,
      ms: Math.round(performance.now() - started),
    },
  };
}
