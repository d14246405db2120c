import type { VectorIndex } from '../index/vector-index.js';
import type { MatchEntry, MatchReport, SegmentReport } from '../report/match-report.js';
import type { Repository, VideoRow } from '../store/repository.js';
import { voteCandidates } from './candidates.js';
import { dotAt, similarityMatrix, type Matrix } from './similarity.js';
import { dropOrphanRepeats, resolveQueryOverlaps, type Claim, type OverlapOptions } from './overlaps.js';
import { resolveLookAlikes, type LookAlikeDrop, type LookAlikeOptions } from './lookalikes.js';
import { carryToDuplicates, type DuplicateOptions } from './duplicates.js';
import type { Aligner } from './aligner.js';
import { boxEvidence, roundEvidence, type Evidence, type Region } from './evidence.js';
import { dpAlign, type DpOptions } from './dp-align.js';
import { temporalNetwork, type FrameSegment, type TemporalNetworkOptions } from './temporal-network.js';
import { DEFAULT_CORROBORATION, passCorroborated, type CorroborationOptions } from './corroboration.js';

export interface MatchOptions {
  /** Neighbours retrieved per query keyframe. */
  knn: number;
  /** Reference videos aligned in full per query. */
  candidates: number;
  /** Similarities below this do not vote for a candidate. */
  voteFloor: number;
  /** Segments scoring below this are not reported: the copy decision threshold (default: the aligner's). */
  threshold: number | undefined;
  /** How claims on the same query keyframes are resolved (src/match/overlaps.ts). */
  overlaps: Partial<OverlapOptions>;
  /** How claims on look-alike references are resolved (src/match/lookalikes.ts); false keeps them all. */
  lookAlikes: Partial<LookAlikeOptions> | false;
  /** Claims carried over to frame-locked duplicates among the candidates (src/match/duplicates.ts); false: none. */
  duplicates: Partial<DuplicateOptions> | false;
  /**
   * Segments scoring just below the threshold kept when the context's witness aligner finds the same band
   * (src/match/corroboration.ts); false: none. Without a witness in the context it does nothing, and with an
   * explicit `threshold` it is off (corroborationFor): its grey zone was chosen below the aligner's tuned threshold.
   */
  corroboration: Partial<CorroborationOptions> | false;
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
  overlaps: {},
  lookAlikes: {},
  duplicates: {},
  corroboration: {},
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

/** An alternative picture of some query keyframes (e.g. the picture-in-picture inset, cropped). */
export interface QueryViewVectors {
  /** Keyframe index (into `times`/`vectors`) of each view vector. */
  rows: readonly number[];
  vectors: readonly Float32Array[];
  /** The part of the keyframe each view shows (fractions of the frame), reported as evidence. */
  boxes?: readonly Region[];
}

export interface QueryKeyframes {
  path: string;
  duration: number;
  times: number[];
  vectors: Float32Array[];
  /** Extra views of some keyframes: a keyframe matches a reference frame as well as its best view does. */
  views?: readonly QueryViewVectors[];
}

export interface MatchContext {
  index: VectorIndex;
  repo: Repository;
  dim: number;
  /** Seconds covered by one sampled frame. */
  sampleInterval: number;
  model: string;
  aligner: Aligner;
  /** A second aligner asked about the aligner's segments just below its threshold (MatchOptions.corroboration). */
  witness?: Aligner;
}

/** Row-major block of vectors. */
function block(vectors: readonly Float32Array[], dim: number): Float32Array {
  const out = new Float32Array(vectors.length * dim);
  vectors.forEach((v, i) => out.set(v, i * dim));
  return out;
}

/**
 * Query × reference similarity: the whole keyframes' similarities, raised to a view's where a
 * keyframe has a view that matches better.
 */
export function queryReferenceSimilarity(q: Float32Array, views: readonly { rows: readonly number[]; block: Float32Array }[], ref: Float32Array, dim: number): Matrix {
  const sim = similarityMatrix(q, ref, dim);
  for (const view of views) {
    const vs = similarityMatrix(view.block, ref, dim);
    view.rows.forEach((row, k) => {
      const dst = row * sim.cols;
      const src = k * sim.cols;
      for (let j = 0; j < sim.cols; j++) if (vs.data[src + j] > sim.data[dst + j]) sim.data[dst + j] = vs.data[src + j];
    });
  }
  return sim;
}


/**
 * The query region behind a claim: when most of its evidence pairs match better through a view than
 * through the whole query frame, the median of those views' boxes.
 */
export function viewRegion(
  pairs: Evidence['pairs'],
  queryTimes: readonly number[],
  refTimes: readonly number[],
  q: Float32Array,
  views: readonly { rows: readonly number[]; block: Float32Array; boxes?: readonly Region[] }[],
  ref: Float32Array,
  dim: number,
): Region | undefined {
  const rowOf = new Map(queryTimes.map((t, i) => [t, i]));
  const colOf = new Map(refTimes.map((t, j) => [t, j]));
  const won: Region[] = [];
  for (const [qt, rt] of pairs) {
    const i = rowOf.get(qt);
    const j = colOf.get(rt);
    if (i === undefined || j === undefined) continue;
    const whole = dotAt(q, i * dim, ref, j * dim, dim);
    for (const view of views) {
      const k = view.rows.indexOf(i);
      if (k < 0 || !view.boxes?.[k]) continue;
      if (dotAt(view.block, k * dim, ref, j * dim, dim) > whole) won.push(view.boxes[k]);
    }
  }
  if (won.length === 0 || 2 * won.length < pairs.length) return undefined;
  const med = (f: (r: Region) => number) => {
    const s = won.map(f).sort((a, b) => a - b);
    return roundEvidence(s[s.length >> 1]);
  };
  return { x: med((r) => r.x), y: med((r) => r.y), w: med((r) => r.w), h: med((r) => r.h) };
}

/**
 * Seconds covered by the keyframes first…last: a copy boundary lies between two samples, so each
 * keyframe stands for half an interval on either side (the unbiased estimate of both ends).
 */
export function keyframeSpan(first: number, last: number, half: number, duration: number): [number, number] {
  return [Math.max(0, first - half), Math.min(duration, last + half)];
}

/** Evidence: the look-alike references whose claims on these query seconds were dropped for this claim. */
function preferredOver(claim: Claim, drops: readonly LookAlikeDrop<string>[], aligned: ReadonlyMap<string, { video: VideoRow }>): Pick<Evidence, 'preferredOver'> {
  // One entry per reference: the first of its drops in favour of this claim.
  const first = new Map<string, LookAlikeDrop<string>>();
  for (const d of drops) if (d.kept === claim && !first.has(d.dropped.reference)) first.set(d.dropped.reference, d);
  if (first.size === 0) return {};
  return {
    preferredOver: [...first].map(([id, d]) => ({
      id,
      path: aligned.get(id)!.video.path,
      by: d.by,
      ...(d.motion ? { motion: { kept: roundEvidence(d.motion.kept), dropped: roundEvidence(d.motion.dropped) } } : {}),
    })),
  };
}

/**
 * Corroboration as a match applies it: only at the aligner's tuned threshold. A threshold given for the match
 * (`vidtrace match --threshold S`) is a hard cut: nothing below it is reported, confirmed or not.
 */
export function corroborationFor(o: Pick<MatchOptions, 'threshold' | 'corroboration'>): Partial<CorroborationOptions> | false {
  return o.threshold === undefined ? o.corroboration : false;
}

/**
 * The copy decision on one query × reference matrix: the aligner's segments at the threshold, and, with a
 * witness and corroboration on, those just below it that the witness confirms (src/match/corroboration.ts).
 */
export async function pairSegments(
  sim: Matrix,
  aligner: Aligner,
  threshold: number,
  witness?: Aligner,
  corroboration: Partial<CorroborationOptions> | false = false,
): Promise<FrameSegment[]> {
  const segments = await aligner.align(sim);
  if (!witness || corroboration === false) return segments.filter((s) => s.score >= threshold);
  const o = { ...DEFAULT_CORROBORATION, ...definedOnly(corroboration) };
  const bar = o.witnessThreshold ?? witness.threshold;
  const witnesses = async () => (await witness.align(sim)).filter((w) => w.score >= bar);
  return passCorroborated(segments, threshold, witnesses, o);
}

/** Evidence: the witness aligner's segment that kept this one, in seconds. */
function corroboratedBy(
  w: NonNullable<FrameSegment['corroboration']>,
  aligner: string,
  query: QueryKeyframes,
  refTimes: readonly number[],
  half: number,
  refDuration: number,
): NonNullable<Evidence['corroboratedBy']> {
  return {
    aligner,
    score: roundEvidence(w.score),
    query: keyframeSpan(query.times[w.queryStart], query.times[w.queryEnd], half, query.duration),
    reference: keyframeSpan(refTimes[w.refStart], refTimes[w.refEnd], half, refDuration),
  };
}

/**
 * kNN per query keyframe (and per view) → candidate references → similarity matrix → alignment →
 * decision threshold (with the witness's word on the grey zone just below it: pairSegments) → weaker echoes
 * of a claim on the same reference dropped → look-alikes of another reference dropped (with the repeats of
 * every dropped claim) → carried over to duplicates → report.
 */
export async function matchQuery(query: QueryKeyframes, ctx: MatchContext, options: Partial<MatchOptions> = {}): Promise<MatchReport> {
  const started = performance.now();
  const o: MatchOptions = { ...DEFAULT_MATCH, ...definedOnly(options) };
  const threshold = o.threshold ?? ctx.aligner.threshold;
  const { dim } = ctx;
  const q = block(query.vectors, dim);
  const views = (query.views ?? []).filter((v) => v.rows.length > 0).map((v) => ({ rows: v.rows, block: block(v.vectors, dim), boxes: v.boxes }));
  const neighbours = ctx.index.search(q, o.knn);
  for (const view of views) {
    ctx.index.search(view.block, o.knn).forEach((hits, k) => neighbours[view.rows[k]].push(...hits));
  }
  const owners = await ctx.repo.keyframeOwners([...new Set(neighbours.flat().map((n) => n.id))]);
  const candidates = voteCandidates(neighbours, (id) => owners.get(id)?.videoId, o.voteFloor, o.candidates);
  const videos = await ctx.repo.getVideos(candidates.map((c) => c.videoId));
  const aligned = new Map<string, { video: VideoRow; sim: Matrix; times: number[]; vectors: Float32Array }>();
  const claims: Claim[] = [];
  for (const candidate of candidates) {
    const video = videos.get(candidate.videoId);
    if (!video) continue;
    const ref = await ctx.repo.videoKeyframes(candidate.videoId, dim);
    if (ref.ids.length === 0) continue;
    const sim = queryReferenceSimilarity(q, views, ref.vectors, dim);
    aligned.set(video.id, { video, sim, times: ref.times, vectors: ref.vectors });
    for (const segment of await pairSegments(sim, ctx.aligner, threshold, ctx.witness, corroborationFor(o))) claims.push({ reference: video.id, segment });
  }
  const byReference = new Map<string, SegmentReport[]>();
  const half = ctx.sampleInterval / 2;
  const perReference = resolveQueryOverlaps(claims, o.overlaps);
  const claimed = (id: string) => {
    const a = aligned.get(id)!;
    return { sim: a.sim, vectors: a.vectors, times: a.times, query: { vectors: q, times: query.times } };
  };
  const drops: LookAlikeDrop<string>[] = [];
  const distinct = dropOrphanRepeats(claims, o.lookAlikes === false ? perReference : resolveLookAlikes(perReference, claimed, dim, o.lookAlikes, drops));
  const resolved = o.duplicates === false ? distinct : carryToDuplicates(distinct, [...aligned.keys()], claimed, dim, o.duplicates);
  for (const claim of resolved) {
    const { reference, segment: s, duplicateOf } = claim;
    const { video, sim, times, vectors } = aligned.get(reference)!;
    const list = byReference.get(reference) ?? [];
    const evidence = boxEvidence(sim, s, query.times, times);
    const region = views.length ? viewRegion(evidence.pairs, query.times, times, q, views, vectors, dim) : undefined;
    list.push({
      query: keyframeSpan(query.times[s.queryStart], query.times[s.queryEnd], half, query.duration),
      reference: keyframeSpan(times[s.refStart], times[s.refEnd], half, video.duration),
      score: s.score,
      evidence: {
        ...evidence,
        ...(region ? { queryRegion: region } : {}),
        ...(duplicateOf ? { duplicateOf: { id: duplicateOf, path: aligned.get(duplicateOf)!.video.path } } : {}),
        ...preferredOver(claim, drops, aligned),
        ...(s.corroboration ? { corroboratedBy: corroboratedBy(s.corroboration, ctx.witness!.name, query, times, half, video.duration) } : {}),
      },
    });
    byReference.set(reference, list);
  }
  const matches: MatchEntry[] = [...byReference].map(([reference, segments]) => {
    const { video } = aligned.get(reference)!;
    segments.sort((a, b) => a.query[0] - b.query[0]);
    return {
      reference: { id: video.id, path: video.path, duration: video.duration },
      score: Math.max(...segments.map((s) => s.score)),
      segments,
    };
  });
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
