/** Dense similarity between two sets of L2-normalised vectors (row-major blocks). */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  /** Row-major rows × cols. */
  readonly data: Float32Array;
}

export function similarityMatrix(a: Float32Array, b: Float32Array, dim: number): Matrix {
  const rows = a.length / dim;
  const cols = b.length / dim;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) {
    const ao = i * dim;
    for (let j = 0; j < cols; j++) {
      const bo = j * dim;
      let s = 0;
      for (let k = 0; k < dim; k++) s += a[ao + k] * b[bo + k];
      data[i * cols + j] = s;
    }
  }
  return { rows, cols, data };
}

export function at(m: Matrix, i: number, j: number): number {
  return m.data[i * m.cols + j];
}
