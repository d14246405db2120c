/** Horizontal mirror of a sampled frame, in plain JS (a 'flip' query view). */
import type { Frame } from '../decode/frames.js';

/** The frame mirrored left to right (same index, time and size; new pixel buffer). */
export function mirrorFrame(frame: Frame): Frame {
  const { width, height, rgb } = frame;
  const out = new Uint8Array(rgb.length);
  for (let y = 0; y < height; y++) {
    const row = y * width * 3;
    for (let x = 0; x < width; x++) {
      const src = row + x * 3;
      const dst = row + (width - 1 - x) * 3;
      out[dst] = rgb[src];
      out[dst + 1] = rgb[src + 1];
      out[dst + 2] = rgb[src + 2];
    }
  }
  return { ...frame, rgb: out };
}
