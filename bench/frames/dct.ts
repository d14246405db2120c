/**
 * Compact classical descriptor (the floor): luma (BT.601) of the 224x224 frame, box-averaged to
 * 32x32, 2-D DCT-II, the 8x8 lowest-frequency coefficients without DC (63 values), L2-normalised.
 * It is the real-valued core of a pHash; 63 float32 = 252 bytes.
 */
export const DCT_DIM = 63;
const N = 32;
const K = 8;

const cosTable = (() => {
  const t = new Float64Array(K * N);
  for (let u = 0; u < K; u++) for (let x = 0; x < N; x++) t[u * N + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * N));
  return t;
})();

export function dctDescriptor(rgb: Uint8Array, size = 224): Float32Array {
  const block = size / N;
  const lum = new Float64Array(N * N);
  for (let y = 0; y < size; y++) {
    const by = Math.floor(y / block);
    for (let x = 0; x < size; x++) {
      const p = (y * size + x) * 3;
      lum[by * N + Math.floor(x / block)] += 0.299 * (rgb[p] as number) + 0.587 * (rgb[p + 1] as number) + 0.114 * (rgb[p + 2] as number);
    }
  }
  // rows then columns, only the first K frequencies
  const tmp = new Float64Array(N * K);
  for (let y = 0; y < N; y++) {
    for (let u = 0; u < K; u++) {
      let s = 0;
      for (let x = 0; x < N; x++) s += (lum[y * N + x] as number) * (cosTable[u * N + x] as number);
      tmp[y * K + u] = s;
    }
  }
  const out = new Float32Array(DCT_DIM);
  let i = 0;
  let norm = 0;
  for (let v = 0; v < K; v++) {
    for (let u = 0; u < K; u++) {
      if (u === 0 && v === 0) continue;
      let s = 0;
      for (let y = 0; y < N; y++) s += (tmp[y * K + u] as number) * (cosTable[v * N + y] as number);
      out[i++] = s;
      norm += s * s;
    }
  }
  const inv = 1 / Math.max(Math.sqrt(norm), 1e-12);
  for (let j = 0; j < DCT_DIM; j++) out[j] = (out[j] as number) * inv;
  return out;
}
