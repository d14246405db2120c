/**
 * Where the detector looks. The network is fully convolutional: below `maxCells` cells a matrix is
 * ONE input window (the whole matrix, zero-padded to multiples of the output stride); only larger
 * matrices are cut into overlapping square windows of `tile` cells (so memory stays bounded), whose
 * boxes are joined again across window borders (boxes.ts fuseBands).
 */

/**
 * Tile origins along one axis of length n: 0, stride, 2·stride, … and a last tile flush with the
 * end (so every cell is covered and no tile but a single short one needs padding). n ≤ tile → [0].
 */
export function tileOrigins(n: number, tile: number, stride: number): number[] {
  if (!(tile > 0) || !(stride > 0)) throw new RangeError(`tile (${tile}) and stride (${stride}) must be positive`);
  if (n <= tile) return [0];
  const out: number[] = [];
  for (let o = 0; o < n - tile; o += stride) out.push(o);
  out.push(n - tile);
  return out;
}

export interface TileOrigin {
  row: number;
  col: number;
}

/** Every tile of a rows × cols matrix, row-major (square tiles; tileOrigins per axis). */
export function tileGrid(rows: number, cols: number, tile: number, stride: number): TileOrigin[] {
  return windowGrid(rows, cols, tile, tile, stride);
}

function windowGrid(rows: number, cols: number, height: number, width: number, stride: number): TileOrigin[] {
  const out: TileOrigin[] = [];
  for (const row of tileOrigins(rows, height, stride)) for (const col of tileOrigins(cols, width, stride)) out.push({ row, col });
  return out;
}

/** n rounded up to a multiple of `stride` (at least one stride): the input size the network needs. */
export function padTo(n: number, stride: number): number {
  return Math.max(stride, Math.ceil(n / stride) * stride);
}

/** The input windows of one matrix: all of the same size (height × width cells, multiples of the stride). */
export interface WindowPlan {
  height: number;
  width: number;
  origins: TileOrigin[];
  /** One window holding the whole matrix (no window borders inside the matrix). */
  whole: boolean;
}

/**
 * Whole matrix (padded to the stride) when rows × cols ≤ maxCells; else square windows of `tile`
 * cells (each side capped at the padded matrix side) every `tileStride` cells, the last one flush
 * with the matrix end. Mirrors what scripts/detector/train_detector.py trains and validates with.
 */
export function planWindows(rows: number, cols: number, stride: number, maxCells: number, tile: number, tileStride: number): WindowPlan {
  if (rows * cols <= maxCells) return { height: padTo(rows, stride), width: padTo(cols, stride), origins: [{ row: 0, col: 0 }], whole: true };
  if (tile % stride !== 0 || !(tile > 0)) throw new RangeError(`fallback tile ${tile} is not a positive multiple of the stride ${stride}`);
  const height = Math.min(tile, padTo(rows, stride));
  const width = Math.min(tile, padTo(cols, stride));
  return { height, width, origins: windowGrid(rows, cols, height, width, tileStride), whole: false };
}
