import type { Neighbour } from '../index/vector-index.js';

export interface CandidateVote {
  videoId: string;
  /** Sum over query keyframes of the best similarity to this video (above the floor). */
  votes: number;
  /** Query keyframes that have this video among their neighbours. */
  hits: number;
}

/**
 * Turns per-keyframe nearest neighbours into candidate reference videos: each query keyframe votes
 * once per video with its best similarity above `floor`. Returns the `limit` best-voted videos.
 */
export function voteCandidates(
  neighbours: readonly Neighbour[][],
  owner: (keyframeId: number) => string | undefined,
  floor: number,
  limit: number,
): CandidateVote[] {
  const tally = new Map<string, CandidateVote>();
  for (const hits of neighbours) {
    const best = new Map<string, number>();
    for (const { id, score } of hits) {
      if (score < floor) continue;
      const video = owner(id);
      if (video === undefined) continue;
      if ((best.get(video) ?? -Infinity) < score) best.set(video, score);
    }
    for (const [videoId, score] of best) {
      const c = tally.get(videoId) ?? { videoId, votes: 0, hits: 0 };
      c.votes += score - floor;
      c.hits += 1;
      tally.set(videoId, c);
    }
  }
  return [...tally.values()].sort((a, b) => b.votes - a.votes || a.videoId.localeCompare(b.videoId)).slice(0, limit);
}
