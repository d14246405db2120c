/** The manifest datasets/generate.ts writes (manifest.json), as its readers (benchmarks, training) see it. */

/** VCSL box: [query_start, ref_start, query_end, ref_end], seconds. */
export type ManifestBox = [number, number, number, number];

/** One part of a query, in query order: filler footage, a copied segment, or a decoy (negatives). */
export interface ManifestSegment {
  kind: 'filler' | 'copy' | 'decoy';
  /** File in the source MANIFEST.tsv. */
  source: string;
  sourceStart: number;
  sourceEnd: number;
  queryStart: number;
  queryEnd: number;
  reference?: string;
  /** Picture-in-picture background footage. */
  background?: { source: string; sourceStart: number; sourceEnd: number; loop: boolean };
}

export interface ManifestQuery {
  id: string;
  path: string;
  duration: number;
  recipe: string;
  family: string;
  negative: boolean;
  speed?: number;
  /** Drawn parameters per recipe step. */
  params?: Record<string, Record<string, number | string>>;
  gt: { reference: string; boxes: ManifestBox[] }[];
  segments?: ManifestSegment[];
}

export interface Manifest {
  /** False while queries are still being rendered. */
  complete: boolean;
  references: { id: string; path: string; duration: number }[];
  queries: ManifestQuery[];
}
