/**
 * Search and scoring for the frame benchmark: exact inner-product kNN (faiss IndexFlatIP, as the
 * project's index) over database = reference frames + distractors, then recall@1/@10 per family
 * and micro average precision over all queries (positives and negatives).
 */
import { createRequire } from 'node:module';
import type { FrameMeta } from './dataset.js';
import { queryReferenceSimilarity } from '../../src/match/matcher.js';

const require = createRequire(import.meta.url);
type Faiss = typeof import('faiss-node');
const faiss = require('faiss-node') as Faiss;

export const K = 100;

export interface SearchResult {
  labels: Int32Array; // [nq * K]
  scores: Float32Array; // [nq * K]
}

export type FlatIndex = InstanceType<Faiss['IndexFlatIP']>;

export function buildIndex(db: Float32Array, dim: number): FlatIndex {
  const index = new faiss.IndexFlatIP(dim);
  const rowsPer = Math.max(1, Math.floor(4_000_000 / dim));
  const nDb = db.length / dim;
  for (let s = 0; s < nDb; s += rowsPer) index.add(Array.from(db.subarray(s * dim, Math.min(nDb, s + rowsPer) * dim)));
  return index;
}

export function searchAll(db: Float32Array | FlatIndex, dim: number, queries: Float32Array): SearchResult {
  const index = db instanceof Float32Array ? buildIndex(db, dim) : db;
  const nq = queries.length / dim;
  const labels = new Int32Array(nq * K);
  const scores = new Float32Array(nq * K);
  const qPer = Math.max(1, Math.floor(1_000_000 / dim));
  for (let s = 0; s < nq; s += qPer) {
    const e = Math.min(nq, s + qPer);
    const r = index.search(Array.from(queries.subarray(s * dim, e * dim)), K);
    labels.set(r.labels, s * K);
    scores.set(r.distances, s * K);
  }
  return { labels, scores };
}

/**
 * The search of `searchAll` with query-side views: query `viewQueries[k]` also has the view vector
 * `viewVecs[k]`, and its score against a database frame is the max of the whole frame's and the view's
 * (the matcher's queryReferenceSimilarity, exhaustive over the database); other queries keep `whole`.
 */
export function searchWithViews(db: Float32Array, dim: number, queries: Float32Array, whole: SearchResult, viewQueries: readonly number[], viewVecs: readonly Float32Array[]): SearchResult {
  const labels = whole.labels.slice();
  const scores = whole.scores.slice();
  const nDb = db.length / dim;
  const order = new Int32Array(nDb);
  viewQueries.forEach((q, k) => {
    const sim = queryReferenceSimilarity(queries.subarray(q * dim, (q + 1) * dim), [{ rows: [0], block: viewVecs[k] as Float32Array }], db, dim).data;
    // top K of the row (ties by database order)
    for (let j = 0; j < nDb; j++) order[j] = j;
    const top = Array.from(order).sort((a, b) => (sim[b] as number) - (sim[a] as number) || a - b).slice(0, K);
    top.forEach((j, r) => {
      labels[q * K + r] = j;
      scores[q * K + r] = sim[j] as number;
    });
  });
  return { labels, scores };
}

export interface FamilyScore {
  n: number;
  r1: number;
  r10: number;
}

export interface Scores {
  families: Record<string, FamilyScore>;
  /** micro AP over (query, database source) predictions of all positive and negative queries. */
  microAP: number;
  /** median top-1 score of positive queries whose top-1 is right; 95th percentile of negatives' top-1. */
  copyMedian: number;
  negativeP95: number;
}

/** Database item -> the source it belongs to (refs: test source; distractors: their own origin). */
export function dbSourceOf(m: FrameMeta): string {
  return m.kind === 'ref' ? m.source : `distractor:${m.source === 'image' ? m.file : m.source}`;
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return NaN;
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round(q * (s.length - 1))))] as number;
}

export function score(res: SearchResult, queries: readonly FrameMeta[], dbMeta: readonly FrameMeta[]): Scores {
  const fam: Record<string, { n: number; h1: number; h10: number }> = {};
  const preds: Array<{ s: number; tp: boolean }> = [];
  const copyTop: number[] = [];
  const negTop: number[] = [];
  let nPos = 0;
  queries.forEach((q, i) => {
    const positive = q.kind === 'query';
    const want = positive ? q.source : undefined;
    const best = new Map<string, number>();
    let h1 = false;
    let h10 = false;
    for (let r = 0; r < K; r++) {
      const lab = res.labels[i * K + r] as number;
      if (lab < 0) break;
      const src = dbSourceOf(dbMeta[lab] as FrameMeta);
      const s = res.scores[i * K + r] as number;
      if (!best.has(src)) best.set(src, s);
      if (src === want) {
        if (r === 0) h1 = true;
        if (r < 10) h10 = true;
      }
    }
    const top = res.scores[i * K] as number;
    if (positive) {
      nPos++;
      const f = (fam[q.family as string] ??= { n: 0, h1: 0, h10: 0 });
      f.n++;
      if (h1) {
        f.h1++;
        copyTop.push(top);
      }
      if (h10) f.h10++;
    } else negTop.push(top);
    // up to 10 distinct database sources per query, best score each
    let k = 0;
    for (const [src, s] of best) {
      if (k++ >= 10) break;
      preds.push({ s, tp: src === want });
    }
  });
  preds.sort((a, b) => b.s - a.s);
  let tp = 0;
  let ap = 0;
  preds.forEach((p, r) => {
    if (p.tp) {
      tp++;
      ap += tp / (r + 1);
    }
  });
  const families: Record<string, FamilyScore> = {};
  for (const [k, v] of Object.entries(fam)) families[k] = { n: v.n, r1: v.h1 / v.n, r10: v.h10 / v.n };
  return { families, microAP: nPos ? ap / nPos : 0, copyMedian: quantile(copyTop, 0.5), negativeP95: quantile(negTop, 0.95) };
}
