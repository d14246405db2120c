/** Cropping a rectangle out of a sampled frame and resampling it to the encoder's square input, in plain JS. */
import type { Frame } from '../decode/frames.js';

/** Rectangle in fractions of the frame (top-left corner x, y; width w, height h). */
export interface CropBox {
  x: number;
  y: number;
  w: number;
  h: number;
}

/**
 * Resampling weights along one axis: output pixel i covers source interval [start + i·step, start + (i+1)·step];
 * triangle (bilinear) filter, widened by the scale factor when shrinking (antialiased, like PIL's BILINEAR).
 */
function axisWeights(srcLen: number, start: number, len: number, outLen: number): { first: Int32Array; count: Int32Array; weights: Float32Array; taps: number } {
  const step = len / outLen;
  const support = Math.max(1, step); // filter half-width in source px
  const taps = Math.ceil(support) * 2 + 2;
  const first = new Int32Array(outLen);
  const count = new Int32Array(outLen);
  const weights = new Float32Array(outLen * taps);
  for (let i = 0; i < outLen; i++) {
    const centre = start + (i + 0.5) * step; // in source pixel units (pixel j covers [j, j+1])
    const lo = Math.max(0, Math.floor(centre - support - 0.5));
    const hi = Math.min(srcLen - 1, Math.ceil(centre + support - 0.5));
    let total = 0;
    let k = 0;
    first[i] = lo;
    for (let j = lo; j <= hi && k < taps; j++, k++) {
      const w = Math.max(0, 1 - Math.abs(j + 0.5 - centre) / support);
      weights[i * taps + k] = w;
      total += w;
    }
    if (total <= 0) {
      // centre outside every tap (degenerate tiny crop at the border): nearest pixel
      const j = Math.min(srcLen - 1, Math.max(0, Math.floor(centre)));
      first[i] = j;
      weights[i * taps] = 1;
      k = 1;
      total = 1;
    }
    count[i] = k;
    for (let t = 0; t < k; t++) weights[i * taps + t] /= total;
  }
  return { first, count, weights, taps };
}

/**
 * The part `box` (fractions, clamped to the frame) of `frame`, resampled to `outWidth`×`outHeight`
 * (default: a square of the frame's width, i.e. the encoder's input size). Same index and time.
 */
export function cropFrame(frame: Frame, box: CropBox, outWidth = frame.width, outHeight = outWidth): Frame {
  const { width: W, height: H, rgb } = frame;
  const x0 = Math.min(W - 1, Math.max(0, box.x * W));
  const y0 = Math.min(H - 1, Math.max(0, box.y * H));
  const x1 = Math.max(x0 + 1, Math.min(W, (box.x + box.w) * W));
  const y1 = Math.max(y0 + 1, Math.min(H, (box.y + box.h) * H));
  const wx = axisWeights(W, x0, x1 - x0, outWidth);
  const wy = axisWeights(H, y0, y1 - y0, outHeight);
  // horizontal pass: H rows (only the ones the vertical pass reads) × outWidth
  const rowLo = wy.first[0];
  const rowHi = Math.min(H - 1, wy.first[outHeight - 1] + wy.count[outHeight - 1] - 1);
  const tmp = new Float32Array((rowHi - rowLo + 1) * outWidth * 3);
  for (let y = rowLo; y <= rowHi; y++) {
    const src = y * W * 3;
    const dst = (y - rowLo) * outWidth * 3;
    for (let i = 0; i < outWidth; i++) {
      let r = 0;
      let g = 0;
      let b = 0;
      const f = wx.first[i];
      for (let k = 0; k < wx.count[i]; k++) {
        const w = wx.weights[i * wx.taps + k];
        const p = src + (f + k) * 3;
        r += w * rgb[p];
        g += w * rgb[p + 1];
        b += w * rgb[p + 2];
      }
      tmp[dst + i * 3] = r;
      tmp[dst + i * 3 + 1] = g;
      tmp[dst + i * 3 + 2] = b;
    }
  }
  const out = new Uint8Array(outWidth * outHeight * 3);
  const rowLen = outWidth * 3;
  for (let j = 0; j < outHeight; j++) {
    const f = wy.first[j] - rowLo;
    const dst = j * rowLen;
    for (let q = 0; q < rowLen; q++) {
      let v = 0;
      for (let k = 0; k < wy.count[j]; k++) v += wy.weights[j * wy.taps + k] * tmp[(f + k) * rowLen + q];
      out[dst + q] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
    }
  }
  return { index: frame.index, time: frame.time, width: outWidth, height: outHeight, rgb: out };
}
