/** The manifest datasets/generate.ts writes (manifest.json), as its readers (benchmarks, training) see it. */

/** VCSL box: [query_start, ref_start, query_end, ref_end], seconds. */
export type ManifestBox = [number, number, number, number];

export interface ManifestQuery {
  id: string;
  path: string;
  duration: number;
  recipe: string;
  family: string;
  negative: boolean;
  gt: { reference: string; boxes: ManifestBox[] }[];
}

export interface Manifest {
  /** False while queries are still being rendered. */
  complete: boolean;
  references: { id: string; path: string; duration: number }[];
  queries: ManifestQuery[];
}
