/**
 * Tile origins along one axis of length n: 0, stride, 2·stride, … and a last tile flush with the
 * end (so every cell is covered and no tile but a single short one needs padding). n ≤ tile → [0].
 * Mirrors `tile_origins` in scripts/detector/train_detector.py.
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

/** Every tile of a rows × cols matrix, row-major. */
export function tileGrid(rows: number, cols: number, tile: number, stride: number): TileOrigin[] {
  const out: TileOrigin[] = [];
  for (const row of tileOrigins(rows, tile, stride)) for (const col of tileOrigins(cols, tile, stride)) out.push({ row, col });
  return out;
}
