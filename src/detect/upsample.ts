import type { Matrix } from '../match/similarity.js';
import type { CellBox } from './boxes.js';

/**
 * Small matrices seen at twice the resolution. The network's output stride (8 input cells; the
 * graph max-pools 2×2 first) is coarse for a matrix of a few dozen keyframes: two copies of one short
 * reference whose centres fall within one stride get one output location, so one of them is lost.
 * Each cell repeated 2×2 (nearest neighbour) and max-pooled 2×2 by the graph gives back exactly the
 * original matrix, now at one network pixel per cell: the output stride halves (4 cells) and every
 * band looks twice as long (as a 2-fps matrix would). Statistics over the valid cells (mean, sd, row
 * and column maxima: the graph's channels) are those of the original. The network costs 4× on these
 * matrices only; boxes come back in original cells (`scaleBoxes`).
 */

/** Upsampling factor for a rows × cols matrix: 2 at or below `maxCells` cells (0: never), else 1. */
export function upsampleFactor(rows: number, cols: number, maxCells: number): 1 | 2 {
  return maxCells > 0 && rows * cols <= maxCells ? 2 : 1;
}

/** The matrix with every cell repeated f × f times. */
export function upsampleNearest(sim: Matrix, f: number): Matrix {
  if (f === 1) return sim;
  const rows = sim.rows * f;
  const cols = sim.cols * f;
  const data = new Float32Array(rows * cols);
  for (let i = 0; i < sim.rows; i++) {
    const src = i * sim.cols;
    const row = i * f * cols;
    for (let j = 0; j < sim.cols; j++) data.fill(sim.data[src + j], row + j * f, row + (j + 1) * f);
    for (let k = 1; k < f; k++) data.copyWithin(row + k * cols, row, row + cols);
  }
  return { rows, cols, data };
}

/** Boxes of an f-times upsampled matrix in the original matrix's cells (in place; returns them). */
export function scaleBoxes(boxes: CellBox[], f: number): CellBox[] {
  if (f === 1) return boxes;
  for (const b of boxes) {
    b.q0 /= f;
    b.q1 /= f;
    b.r0 /= f;
    b.r1 /= f;
  }
  return boxes;
}
