/** Dense similarity between two sets of L2-normalised vectors (row-major blocks). */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** Row-major rows × cols. */
  readonly data: Float32Array;
}

/**
 * The eight dot products of rows a0, a1 of `a` (offsets) with the four consecutive `dim`-vectors of `b`
 * from offset b0, into out[0..3] (a0) and out[4..7] (a1): each loaded value is used several times (about
 * 3× faster than one dot product at a time), and every sum runs over k in dotAt's order, in float64, so
 * the values are dotAt's.
 */
function dots2x4(a: Float32Array, a0: number, a1: number, b: Float32Array, b0: number, dim: number, out: Float64Array): void {
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
  out[0] = s00;
  out[1] = s01;
  out[2] = s02;
  out[3] = s03;
  out[4] = s10;
  out[5] = s11;
  out[6] = s12;
  out[7] = s13;
}

/**
 * a · bᵀ for row-major blocks of `dim`-vectors: 2 rows × 4 columns per step (dots2x4); every cell is
 * summed over k in the same order as a plain dot product, so the values are identical to it.
 */
export function similarityMatrix(a: Float32Array, b: Float32Array, dim: number): Matrix {
  const rows = a.length / dim;
  const cols = b.length / dim;
  const data = new Float32Array(rows * cols);
  const s = new Float64Array(8);
  let i = 0;
  for (; i + 2 <= rows; i += 2) {
    const a0 = i * dim;
    const a1 = a0 + dim;
    const o0 = i * cols;
    const o1 = o0 + cols;
    let j = 0;
    for (; j + 4 <= cols; j += 4) {
      dots2x4(a, a0, a1, b, j * dim, dim, s);
      for (let t = 0; t < 4; t++) {
        data[o0 + j + t] = s[t];
        data[o1 + j + t] = s[4 + t];
      }
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
 * (every dot product is summed in dotAt's order, in float64), two rows × four rows of `b` per step (dots2x4)
 * as in similarityMatrix.
 */
export function bestMatches(a: Float32Array, rows: readonly number[], b: Float32Array, dim: number): { index: Int32Array; similarity: Float64Array } {
  const n = rows.length;
  const cols = b.length / dim;
  const index = new Int32Array(n).fill(-1);
  const similarity = new Float64Array(n).fill(-Infinity);
  const s = new Float64Array(8);
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
      dots2x4(a, a0, a1, b, j * dim, dim, s);
      for (let t = 0; t < 4; t++) {
        if (s[t] > best0) (best0 = s[t]), (at0 = j + t);
        if (s[4 + t] > best1) (best1 = s[4 + t]), (at1 = j + t);
      }
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
