/** Dense similarity between two sets of L2-normalised vectors (row-major blocks). */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** Row-major rows × cols. */
  readonly data: Float32Array;
}

/**
 * a · bᵀ for row-major blocks of `dim`-vectors: 2 rows × 4 columns per step, so each loaded value is used
 * several times (about 3× faster than one dot product at a time); every cell is summed over k in the same
 * order as a plain dot product, so the values are identical to it.
 */
export function similarityMatrix(a: Float32Array, b: Float32Array, dim: number): Matrix {
  const rows = a.length / dim;
  const cols = b.length / dim;
  const data = new Float32Array(rows * cols);
  let i = 0;
  for (; i + 2 <= rows; i += 2) {
    const a0 = i * dim;
    const a1 = a0 + dim;
    const o0 = i * cols;
    const o1 = o0 + cols;
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const b0 = j * dim;
      const b1 = b0 + dim;
      const b2 = b1 + dim;
      const b3 = b2 + dim;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      for (let k = 0; k < dim; k++) {
        const x = a[a0 + k];
        const y = a[a1 + k];
        const c0 = b[b0 + k];
        const c1 = b[b1 + k];
        const c2 = b[b2 + k];
        const c3 = b[b3 + k];
        s00 += x * c0;
        s01 += x * c1;
        s02 += x * c2;
        s03 += x * c3;
        s10 += y * c0;
        s11 += y * c1;
        s12 += y * c2;
        s13 += y * c3;
      }
      data[o0 + j] = s00;
      data[o0 + j + 1] = s01;
      data[o0 + j + 2] = s02;
      data[o0 + j + 3] = s03;
      data[o1 + j] = s10;
      data[o1 + j + 1] = s11;
      data[o1 + j + 2] = s12;
      data[o1 + j + 3] = s13;
    }
    for (; j < cols; j++) {
      data[o0 + j] = dotAt(a, a0, b, j * dim, dim);
      data[o1 + j] = dotAt(a, a1, b, j * dim, dim);
    }
  }
  for (; i < rows; i++) for (let j = 0; j < cols; j++) data[i * cols + j] = dotAt(a, i * dim, b, j * dim, dim);
  return { rows, cols, data };
}

/** Dot product of the `dim`-vectors at offsets ao of a and bo of b. */
export function dotAt(a: Float32Array, ao: number, b: Float32Array, bo: number, dim: number): number {
  let s = 0;
  for (let k = 0; k < dim; k++) s += a[ao + k] * b[bo + k];
  return s;
}

/**
 * The row of `b` (row-major, `dim` wide) most similar to row `row` of `a`, and that similarity: the first
 * one among equals; index -1 when `b` is empty.
 */
export function bestMatch(a: Float32Array, row: number, b: Float32Array, dim: number): { index: number; similarity: number } {
  let similarity = -Infinity;
  let index = -1;
  for (let j = 0, n = b.length / dim; j < n; j++) {
    const v = dotAt(a, row * dim, b, j * dim, dim);
    if (v > similarity) {
      similarity = v;
      index = j;
    }
  }
  return { index, similarity };
}

/**
 * bestMatch for several rows of `a` at once (`rows`, keyframe indices): the same indices and similarities
 * (every dot product is summed in dotAt's order, in float64), two rows × four rows of `b` per step as in
 * similarityMatrix, so each loaded value is used several times.
 */
export function bestMatches(a: Float32Array, rows: readonly number[], b: Float32Array, dim: number): { index: Int32Array; similarity: Float64Array } {
  const n = rows.length;
  const cols = b.length / dim;
  const index = new Int32Array(n).fill(-1);
  const similarity = new Float64Array(n).fill(-Infinity);
  let r = 0;
  for (; r + 2 <= n; r += 2) {
    const a0 = rows[r] * dim;
    const a1 = rows[r + 1] * dim;
    let best0 = -Infinity;
    let best1 = -Infinity;
    let at0 = -1;
    let at1 = -1;
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      const b0 = j * dim;
      const b1 = b0 + dim;
      const b2 = b1 + dim;
      const b3 = b2 + dim;
      let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
      for (let k = 0; k < dim; k++) {
        const x = a[a0 + k];
        const y = a[a1 + k];
        const c0 = b[b0 + k];
        const c1 = b[b1 + k];
        const c2 = b[b2 + k];
        const c3 = b[b3 + k];
        s00 += x * c0;
        s01 += x * c1;
        s02 += x * c2;
        s03 += x * c3;
        s10 += y * c0;
        s11 += y * c1;
        s12 += y * c2;
        s13 += y * c3;
      }
      if (s00 > best0) (best0 = s00), (at0 = j);
      if (s01 > best0) (best0 = s01), (at0 = j + 1);
      if (s02 > best0) (best0 = s02), (at0 = j + 2);
      if (s03 > best0) (best0 = s03), (at0 = j + 3);
      if (s10 > best1) (best1 = s10), (at1 = j);
      if (s11 > best1) (best1 = s11), (at1 = j + 1);
      if (s12 > best1) (best1 = s12), (at1 = j + 2);
      if (s13 > best1) (best1 = s13), (at1 = j + 3);
    }
    for (; j < cols; j++) {
      const v0 = dotAt(a, a0, b, j * dim, dim);
      const v1 = dotAt(a, a1, b, j * dim, dim);
      if (v0 > best0) (best0 = v0), (at0 = j);
      if (v1 > best1) (best1 = v1), (at1 = j);
    }
    index[r] = at0;
    similarity[r] = best0;
    index[r + 1] = at1;
    similarity[r + 1] = best1;
  }
  for (; r < n; r++) {
    const m = bestMatch(a, rows[r], b, dim);
    index[r] = m.index;
    similarity[r] = m.similarity;
  }
  return { index, similarity };
}

export function at(m: Matrix, i: number, j: number): number {
  return m.data[i * m.cols + j];
}
