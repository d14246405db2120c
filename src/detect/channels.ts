import type { Matrix } from '../match/similarity.js';

/**
 * Input representation of the SPD detector (mirrors `build_channels` / `cut_tile` in
 * scripts/detector/train_detector.py; scripts/detector/verify.ts checks the two agree).
 * One cell = one (query keyframe, reference keyframe) pair. Channels are computed on the WHOLE
 * matrix, then cut into tiles:
 *   0 sim     clip(s, -1, 1)
 *   1 rowrel  clip((s - rowmax) / sd, -relClip, 0) / relClip + 1   (1 at a query frame's best reference frame)
 *   2 colrel  clip((s - colmax) / sd, -relClip, 0) / relClip + 1   (1 at a reference frame's best query frame)
 *   3 z       clip((s - mean) / sd, zLo, zHi) / zScale
 *   4 mask    1 inside the matrix, 0 in tile padding (where all channels are 0)
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
  const { rows, cols, data } = m;
  const n = rows * cols;
  const out = new Float32Array(PLANES * n);
  if (n === 0) return out;
  // Whole-matrix statistics (float64 arithmetic, two-pass variance, as numpy), then the planes.
  const { mean, sd, rowMax, colMax } = channelStats(m, p);
  const inv = 1 / sd;
  for (let i = 0, k = 0; i < rows; i++) {
    const rm = rowMax[i];
    for (let j = 0; j < cols; j++, k++) {
      const v = clip(data[k], -1, 1);
      out[k] = v;
      out[n + k] = clip((v - rm) / sd, -p.relClip, 0) / p.relClip + 1;
      out[2 * n + k] = clip((v - colMax[j]) / sd, -p.relClip, 0) / p.relClip + 1;
      out[3 * n + k] = clip((v - mean) * inv, p.zLo, p.zHi) / p.zScale;
    }
  }
  return out;
}

/**
 * Writes the tile at (row0, col0) of the planes into `out` at `offset` as [CHANNELS, tile, tile]:
 * the planes' values where the tile overlaps the matrix, the mask channel 1 there, zeros elsewhere
 * (`zeroed`: the destination is known to be zero already, e.g. a fresh array).
 */
export function cutTile(planes: Float32Array, rows: number, cols: number, row0: number, col0: number, tile: number, out: Float32Array, offset = 0, zeroed = false): void {
  const area = tile * tile;
  if (!zeroed) out.fill(0, offset, offset + CHANNELS.length * area);
  const h = Math.max(0, Math.min(tile, rows - row0));
  const w = Math.max(0, Math.min(tile, cols - col0));
  const n = rows * cols;
  for (let c = 0; c < PLANES; c++) {
    for (let y = 0; y < h; y++) {
      const src = c * n + (row0 + y) * cols + col0;
      out.set(planes.subarray(src, src + w), offset + c * area + y * tile);
    }
  }
  for (let y = 0; y < h; y++) out.fill(1, offset + PLANES * area + y * tile, offset + PLANES * area + y * tile + w);
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

/** Mean, sd, row and column maxima of clip(s, -1, 1), with exactly `buildChannels`' arithmetic. */
export function channelStats(m: Matrix, p: ChannelParams = DEFAULT_CHANNEL_PARAMS): ChannelStats {
  const { rows, cols, data } = m;
  const n = rows * cols;
  const rowMax = new Float64Array(rows).fill(-Infinity);
  const colMax = new Float64Array(cols).fill(-Infinity);
  if (n === 0) return { mean: 0, sd: p.sdFloor, rowMax, colMax };
  let sum = 0;
  for (let i = 0, k = 0; i < rows; i++) {
    let rm = -Infinity;
    for (let j = 0; j < cols; j++, k++) {
      const x = data[k];
      const v = x < -1 ? -1 : x > 1 ? 1 : x;
      sum += v;
      if (v > rm) rm = v;
      if (v > colMax[j]) colMax[j] = v;
    }
    rowMax[i] = rm;
  }
  const mean = sum / n;
  let ss = 0;
  for (let k = 0; k < n; k++) {
    const x = data[k];
    const d = (x < -1 ? -1 : x > 1 ? 1 : x) - mean;
    ss += d * d;
  }
  return { mean, sd: Math.max(Math.sqrt(ss / n), p.sdFloor), rowMax, colMax };
}

/**
 * `cutTile(buildChannels(m), …)` without the whole-matrix planes: writes the five channels of the
 * tile at (row0, col0) straight from the similarities into `out` at `offset` ([CHANNELS, tile, tile],
 * padding zeroed, whatever `out` held before). Same float64 formulas, so the same float32 values.
 */
export function writeTile(m: Matrix, s: ChannelStats, p: ChannelParams, row0: number, col0: number, tile: number, out: Float32Array, offset = 0): void {
  const { rows, cols, data } = m;
  const area = tile * tile;
  const h = Math.max(0, Math.min(tile, rows - row0));
  const w = Math.max(0, Math.min(tile, cols - col0));
  const { sd, mean, rowMax, colMax } = s;
  const inv = 1 / sd;
  const relClip = p.relClip;
  const zLo = p.zLo;
  const zHi = p.zHi;
  const zScale = p.zScale;
  const o1 = offset + area;
  const o2 = offset + 2 * area;
  const o3 = offset + 3 * area;
  const o4 = offset + 4 * area;
  for (let y = 0; y < h; y++) {
    const rm = rowMax[row0 + y];
    const src = (row0 + y) * cols + col0;
    const dst = y * tile;
    for (let x = 0; x < w; x++) {
      const raw = data[src + x];
      const v = raw < -1 ? -1 : raw > 1 ? 1 : raw;
      let r = (v - rm) / sd;
      r = r < -relClip ? -relClip : r > 0 ? 0 : r;
      let c = (v - colMax[col0 + x]) / sd;
      c = c < -relClip ? -relClip : c > 0 ? 0 : c;
      let z = (v - mean) * inv;
      z = z < zLo ? zLo : z > zHi ? zHi : z;
      const d = dst + x;
      out[offset + d] = v;
      out[o1 + d] = r / relClip + 1;
      out[o2 + d] = c / relClip + 1;
      out[o3 + d] = z / zScale;
      out[o4 + d] = 1;
    }
    if (w < tile) for (let ch = 0; ch < CHANNELS.length; ch++) out.fill(0, offset + ch * area + dst + w, offset + ch * area + dst + tile);
  }
  if (h < tile) for (let ch = 0; ch < CHANNELS.length; ch++) out.fill(0, offset + ch * area + h * tile, offset + (ch + 1) * area);
}
