/**
 * Seeded synthetic embeddings for the matching unit tests (src/match/*.test.ts): random vectors, unit
 * normalisation, mixing (a frame plus noise), and row-major blocks as the matcher takes them.
 */
export function syntheticVectors(dim: number, seed: number) {
  let state = seed;
  const rand = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648) * 2 - 1;
  const randomVector = () => Float32Array.from({ length: dim }, rand);
  const unit = (v: Float32Array) => {
    const n = Math.hypot(...v);
    return v.map((x) => x / n);
  };
  const mix = (a: Float32Array, b: Float32Array, w: number) => unit(a.map((x, k) => x + w * b[k]));
  const block = (vs: Float32Array[]) => {
    const out = new Float32Array(vs.length * dim);
    vs.forEach((v, i) => out.set(v, i * dim));
    return out;
  };
  return { rand, randomVector, unit, mix, block };
}
