import type { Matrix } from '../match/similarity.js';

/**
 * Input representation of the SPD detector: the specification, in JS, of `build_channels` /
 * `cut_window` in scripts/detector/train_detector.py (scripts/detector/verify.ts checks the two
 * agree). At inference the ONNX graph builds these channels itself from the similarities of the
 * window it is given (`Channels` in train_detector.py; verify.ts checks its outputs against the
 * network run on these channels), so inference only copies similarities (`copyWindow`). A model
 * trained with `--pool P` (meta training.pool; 2 for the shipped one) first max-pools the similarities
 * P×P in its graph (a partial block at the matrix edge: the max of the cells it holds) and builds these
 * channels on the pooled matrix; verify.ts then checks the network's outputs against PyTorch on it.
 * One cell = one (query keyframe, reference keyframe) pair. Channels are computed on the WHOLE
 * matrix; the network sees the whole matrix as one window padded to multiples of its stride (or,
 * above inference.maxCells, large windows of it, normalised per window: tiling.ts planWindows):
 *   0 sim     clip(s, -1, 1)
 *   1 rowrel  clip(s/sd - rowmax/sd, -relClip, 0) / relClip + 1   (1 at a query frame's best reference frame)
 *   2 colrel  clip(s/sd - colmax/sd, -relClip, 0) / relClip + 1   (1 at a reference frame's best query frame)
 *   3 z       clip(s/sd - mean/sd, zLo, zHi) / zScale
 *   4 mask    1 inside the matrix, 0 in window padding (where all channels are 0)
 * mean and sd (population) over all cells, sd floored at sdFloor.
 */
export interface ChannelParams {
  sdFloor: number;
  relClip: number;
  zLo: number;
  zHi: number;
  zScale: number;
}

export const CHANNELS = ['sim', 'rowrel', 'colrel', 'z', 'mask'] as const;
/** Channels computed from the matrix (all but the mask). */
export const PLANES = 4;

export const DEFAULT_CHANNEL_PARAMS: ChannelParams = { sdFloor: 0.02, relClip: 4, zLo: -3, zHi: 5, zScale: 3 };

const clip = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);

/** The four matrix channels as planes [PLANES, rows, cols] (row-major). */
export function buildChannels(m: Matrix, p: ChannelParams = DEFAULT_CHANNEL_PARAMS): Float32Array {
  const { rows, cols } = m;
  const n = rows * cols;
  const out = new Float32Array(PLANES * n);
  if (n === 0) return out;
  // Whole-matrix statistics (float64), then the planes: writeWindow's arithmetic on a window that is the
  // matrix itself, without the mask channel.
  const planes = new Float32Array(CHANNELS.length * n);
  writeWindow(m, channelStats(m, p), p, 0, 0, rows, cols, planes);
  out.set(planes.subarray(0, PLANES * n));
  return out;
}

/**
 * Writes the height × width window at (row0, col0) of the planes into `out` at `offset` as
 * [CHANNELS, height, width]: the planes' values where the window overlaps the matrix, the mask
 * channel 1 there, zeros elsewhere (`zeroed`: the destination is known to be zero already, e.g. a fresh array).
 */
export function cutWindow(planes: Float32Array, rows: number, cols: number, row0: number, col0: number, height: number, width: number, out: Float32Array, offset = 0, zeroed = false): void {
  const area = height * width;
  if (!zeroed) out.fill(0, offset, offset + CHANNELS.length * area);
  const h = Math.max(0, Math.min(height, rows - row0));
  const w = Math.max(0, Math.min(width, cols - col0));
  const n = rows * cols;
  for (let c = 0; c < PLANES; c++) {
    for (let y = 0; y < h; y++) {
      const src = c * n + (row0 + y) * cols + col0;
      out.set(planes.subarray(src, src + w), offset + c * area + y * width);
    }
  }
  for (let y = 0; y < h; y++) out.fill(1, offset + PLANES * area + y * width, offset + PLANES * area + y * width + w);
}

/** `cutWindow` with a square tile × tile window. */
export function cutTile(planes: Float32Array, rows: number, cols: number, row0: number, col0: number, tile: number, out: Float32Array, offset = 0, zeroed = false): void {
  cutWindow(planes, rows, cols, row0, col0, tile, tile, out, offset, zeroed);
}

/** Whole-matrix statistics the channels need (what `buildChannels` computes before its planes). */
export interface ChannelStats {
  mean: number;
  /** Population standard deviation, floored at sdFloor. */
  sd: number;
  /** Row and column maxima of the clipped similarities. */
  rowMax: Float64Array;
  colMax: Float64Array;
}

/**
 * Mean, sd, row and column maxima of clip(s, -1, 1) in one pass (float64; variance as E[v²] − mean²,
 * which for values in [−1, 1] and sd ≥ sdFloor agrees with numpy's two-pass variance to ~1e-15).
 */
export function channelStats(m: Matrix, p: ChannelParams = DEFAULT_CHANNEL_PARAMS): ChannelStats {
  const { rows, cols, data } = m;
  const n = rows * cols;
  const rowMax = new Float64Array(rows).fill(-Infinity);
  const colMax = new Float64Array(cols).fill(-Infinity);
  if (n === 0) return { mean: 0, sd: p.sdFloor, rowMax, colMax };
  let sum = 0;
  let ss = 0;
  for (let i = 0, k = 0; i < rows; i++) {
    let rm = -Infinity;
    let rs = 0;
    let rss = 0;
    for (let j = 0; j < cols; j++, k++) {
      // Math.min / Math.max compile to branch-free code: no mispredictions on noisy similarities.
      const v = Math.min(1, Math.max(-1, data[k]));
      rs += v;
      rss += v * v;
      rm = Math.max(rm, v);
      colMax[j] = Math.max(colMax[j], v);
    }
    rowMax[i] = rm;
    sum += rs;
    ss += rss;
  }
  const mean = sum / n;
  return { mean, sd: Math.max(Math.sqrt(Math.max(0, ss / n - mean * mean)), p.sdFloor), rowMax, colMax };
}

/**
 * `cutWindow(buildChannels(m), …)` without the whole-matrix planes: writes the five channels of the
 * height × width window at (row0, col0) straight from the similarities into `out` at `offset`
 * ([CHANNELS, height, width], padding zeroed, whatever `out` held before). buildChannels is this
 * function on the whole matrix, so the values are the same float32 values.
 */
export function writeWindow(m: Matrix, s: ChannelStats, p: ChannelParams, row0: number, col0: number, height: number, width: number, out: Float32Array, offset = 0): void {
  const { rows, cols, data } = m;
  const area = height * width;
  const h = Math.max(0, Math.min(height, rows - row0));
  const w = Math.max(0, Math.min(width, cols - col0));
  // Every channel as an affine function of v / sd (v - max ≤ 0 already: rowrel and colrel only need the lower clip).
  const inv = 1 / s.sd;
  const relClip = p.relClip;
  const invRel = 1 / relClip;
  const zLo = p.zLo;
  const zHi = p.zHi;
  const invZ = 1 / p.zScale;
  const meanOff = s.mean * inv;
  const colOff = new Float64Array(w);
  for (let x = 0; x < w; x++) colOff[x] = s.colMax[col0 + x] * inv;
  const o1 = offset + area;
  const o2 = offset + 2 * area;
  const o3 = offset + 3 * area;
  const o4 = offset + 4 * area;
  for (let y = 0; y < h; y++) {
    const rowOff = s.rowMax[row0 + y] * inv;
    const src = (row0 + y) * cols + col0;
    const dst = y * width;
    for (let x = 0; x < w; x++) {
      const v = Math.min(1, Math.max(-1, data[src + x]));
      const vi = v * inv;
      const d = dst + x;
      out[offset + d] = v;
      out[o1 + d] = Math.max(vi - rowOff, -relClip) * invRel + 1;
      out[o2 + d] = Math.max(vi - colOff[x], -relClip) * invRel + 1;
      out[o3 + d] = Math.min(zHi, Math.max(zLo, vi - meanOff)) * invZ;
    }
    out.fill(1, o4 + dst, o4 + dst + w);
    if (w < width) for (let ch = 0; ch < CHANNELS.length; ch++) out.fill(0, offset + ch * area + dst + w, offset + ch * area + dst + width);
  }
  if (h < height) for (let ch = 0; ch < CHANNELS.length; ch++) out.fill(0, offset + ch * area + h * width, offset + (ch + 1) * area);
}

/** `writeWindow` with a square tile × tile window. */
export function writeTile(m: Matrix, s: ChannelStats, p: ChannelParams, row0: number, col0: number, tile: number, out: Float32Array, offset = 0): void {
  writeWindow(m, s, p, row0, col0, tile, tile, out, offset);
}

/**
 * Copies the height × width window at (row0, col0) of the similarities into `out` at `offset`
 * (row-major [height, width]), `fill` (0 by default) where the window lies outside the matrix: the
 * network's input (it builds the channels and the mask itself from the window and its valid size;
 * a model whose meta sets `input.pad` needs that value in the padding, see meta.ts).
 */
export function copyWindow(m: Matrix, row0: number, col0: number, height: number, width: number, out: Float32Array, offset = 0, fill = 0): void {
  const { rows, cols, data } = m;
  const h = Math.max(0, Math.min(height, rows - row0));
  const w = Math.max(0, Math.min(width, cols - col0));
  for (let y = 0; y < h; y++) {
    const src = (row0 + y) * cols + col0;
    out.set(data.subarray(src, src + w), offset + y * width);
    if (w < width) out.fill(fill, offset + y * width + w, offset + (y + 1) * width);
  }
  if (h < height) out.fill(fill, offset + h * width, offset + height * width);
}
