/** Extra query-side "views" of a keyframe (e.g. the picture-in-picture inset, cropped and embedded on its own). */
import type { CropBox } from './crop.js';
import type { InsetBox } from './inset.js';

export { cropFrame, type CropBox } from './crop.js';
export { mirrorFrame } from './mirror.js';
export { boxIou, detectInsets, InsetTracker, type InsetBox, type InsetOptions, type RgbImage } from './inset.js';

/**
 * Alternative views of some query keyframes: `vectors[k]` is embedded (same encoder) from another picture of
 * keyframe `rows[k]` (an index into the extracted `times`/`vectors`). A matcher takes, per query keyframe, the
 * max of the similarities over the keyframe's own vector and its views.
 *   - 'inset': a crop of the keyframe (a picture-in-picture inset); `boxes[k]` is the detected rectangle
 *     (fractions of the frame) it was cropped from;
 *   - 'phase': a frame sampled between two keyframes (within half an interval of keyframe `rows[k]`): the
 *     library's keyframes were sampled at their own phase, so a copy's keyframes fall up to half an interval
 *     away from the reference keyframes, which in moving footage is a different picture;
 *   - 'flip': the keyframe mirrored left to right. A mirrored copy is one of the commonest edits, and an encoder
 *     fine-tuned on copies is only partly flip-invariant: the mirrored view meets the reference frame in its
 *     own orientation, where the encoder also tells neighbouring seconds of near-static footage apart.
 */
export type QueryView =
  | { kind: 'inset'; rows: number[]; vectors: Float32Array[]; boxes: { x: number; y: number; w: number; h: number; score: number }[] }
  | { kind: 'phase'; rows: number[]; vectors: Float32Array[] }
  | { kind: 'flip'; rows: number[]; vectors: Float32Array[] };

/**
 * Fraction of the inset's width/height cut on each side before embedding. 0: bench/pip-detect.ts measured
 * mean cosine to the true reference frame 0.722 at 0, 0.664 at 0.03, 0.527 at 0.06 (a 6-px frame of a
 * pip_border copy is flat, so the default encoder's border crop removes it anyway).
 */
export const INSET_CROP_MARGIN = 0;

/** The crop that is embedded for a detected (or true) inset rectangle. */
export function insetCropBox(box: Pick<InsetBox, 'x' | 'y' | 'w' | 'h'>, margin = INSET_CROP_MARGIN): CropBox {
  return { x: box.x + box.w * margin, y: box.y + box.h * margin, w: box.w * (1 - 2 * margin), h: box.h * (1 - 2 * margin) };
}
