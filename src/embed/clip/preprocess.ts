/**
 * CLIP image preprocessing from a Hugging Face `preprocessor_config.json` (CLIPImageProcessor,
 * ChineseCLIPImageProcessor and their older *FeatureExtractor names).
 *
 * The geometric part (resize with the configured filter, aspect handling) is done by ffmpeg while decoding: a
 * config maps to a {@link FrameGeometry} the decoder must produce (`sampleFrames` with `fit`). What remains here is
 * pure arithmetic on decoded RGB24 frames: an optional centre crop (pixel selection, never resampling), rescale
 * (×1/255) and per-channel mean/std normalisation into the NCHW float32 `pixel_values` the vision model takes.
 */
import { readFileSync } from 'node:fs';
import type { Frame, FrameFit } from '../../decode/frames.js';
import { InvalidArgumentError } from '../../errors.js';

export type Resample = 'nearest' | 'lanczos' | 'bilinear' | 'bicubic' | 'box' | 'hamming';

/** PIL.Image resampling constants, as stored in `resample`. */
const PIL_RESAMPLE: Record<number, Resample> = { 0: 'nearest', 1: 'lanczos', 2: 'bilinear', 3: 'bicubic', 4: 'box', 5: 'hamming' };

/** OPENAI_CLIP_MEAN / OPENAI_CLIP_STD: the transformers defaults for both CLIP processors. */
export const OPENAI_CLIP_MEAN: readonly [number, number, number] = [0.48145466, 0.4578275, 0.40821073];
export const OPENAI_CLIP_STD: readonly [number, number, number] = [0.26862954, 0.26130258, 0.27577711];

export type ResizeTarget =
  /** Resize so the shortest edge has this length, keeping the aspect ratio (CLIPImageProcessor). */
  | { readonly shortestEdge: number }
  /** Resize to exactly this size, ignoring the aspect ratio (ChineseCLIPImageProcessor). */
  | { readonly height: number; readonly width: number };

export interface ClipImageParams {
  /** `image_processor_type` or `feature_extractor_type`, for messages. */
  readonly processor: string;
  readonly doResize: boolean;
  readonly size: ResizeTarget;
  readonly resample: Resample;
  readonly doCenterCrop: boolean;
  readonly cropSize: { readonly height: number; readonly width: number };
  readonly doRescale: boolean;
  readonly rescaleFactor: number;
  readonly doNormalize: boolean;
  readonly imageMean: readonly [number, number, number];
  readonly imageStd: readonly [number, number, number];
}

/** What the decoder must hand over, and what the model finally sees. */
export interface FrameGeometry {
  readonly fit: FrameFit;
  /** Decoded frame size (square: FrameEncoder.inputSize). */
  readonly size: number;
  /** Centre crop taken from the decoded frame (equal to `size` when the decoder already crops). */
  readonly cropHeight: number;
  readonly cropWidth: number;
}

type Json = Record<string, unknown>;

function fail(source: string, message: string): never {
  throw new InvalidArgumentError(`${source}: ${message}`);
}

function positiveInt(source: string, field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0) fail(source, `${field} must be a positive integer, got ${JSON.stringify(v)}`);
  return v;
}

function bool(source: string, field: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined || v === null) return fallback;
  if (typeof v !== 'boolean') fail(source, `${field} must be true or false, got ${JSON.stringify(v)}`);
  return v;
}

function triple(source: string, field: string, v: unknown, fallback: readonly [number, number, number]): [number, number, number] {
  if (v === undefined || v === null) return [...fallback];
  if (typeof v === 'number' && Number.isFinite(v)) return [v, v, v];
  if (Array.isArray(v) && v.length === 3 && v.every((x) => typeof x === 'number' && Number.isFinite(x))) return [v[0], v[1], v[2]];
  fail(source, `${field} must be a number or 3 numbers, got ${JSON.stringify(v)}`);
}

/** `size`: an int (shortest edge, transformers' default_to_square=False), {shortest_edge} or {height, width}. */
function parseSize(source: string, v: unknown): ResizeTarget {
  if (v === undefined || v === null) return { shortestEdge: 224 };
  if (typeof v === 'number') return { shortestEdge: positiveInt(source, 'size', v) };
  if (typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Json;
    if (o.longest_edge !== undefined) fail(source, 'size.longest_edge is not supported');
    if (o.shortest_edge !== undefined) return { shortestEdge: positiveInt(source, 'size.shortest_edge', o.shortest_edge) };
    if (o.height !== undefined || o.width !== undefined) {
      return { height: positiveInt(source, 'size.height', o.height), width: positiveInt(source, 'size.width', o.width) };
    }
  }
  fail(source, `size must be an integer, {shortest_edge} or {height, width}, got ${JSON.stringify(v)}`);
}

/** `crop_size`: an int (square) or {height, width}. */
function parseCrop(source: string, v: unknown): { height: number; width: number } {
  if (v === undefined || v === null) return { height: 224, width: 224 };
  if (typeof v === 'number') {
    const n = positiveInt(source, 'crop_size', v);
    return { height: n, width: n };
  }
  if (typeof v === 'object' && !Array.isArray(v)) {
    const o = v as Json;
    return { height: positiveInt(source, 'crop_size.height', o.height), width: positiveInt(source, 'crop_size.width', o.width) };
  }
  fail(source, `crop_size must be an integer or {height, width}, got ${JSON.stringify(v)}`);
}

/** Parses a `preprocessor_config.json` object with the transformers defaults for absent fields. */
export function parsePreprocessorConfig(json: unknown, source = 'preprocessor_config.json'): ClipImageParams {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail(source, 'not a JSON object');
  const o = json as Json;
  const processor = String(o.image_processor_type ?? o.feature_extractor_type ?? 'CLIPImageProcessor');
  const resampleRaw = o.resample ?? 3;
  const resample = typeof resampleRaw === 'number' ? PIL_RESAMPLE[resampleRaw] : undefined;
  if (!resample) fail(source, `resample must be a PIL filter number 0-5, got ${JSON.stringify(resampleRaw)}`);
  const rescaleFactor = o.rescale_factor ?? 1 / 255;
  if (typeof rescaleFactor !== 'number' || !(rescaleFactor > 0)) fail(source, `rescale_factor must be a positive number, got ${JSON.stringify(rescaleFactor)}`);
  const imageStd = triple(source, 'image_std', o.image_std, OPENAI_CLIP_STD);
  if (imageStd.some((s) => s === 0)) fail(source, 'image_std must not contain 0');
  return {
    processor,
    doResize: bool(source, 'do_resize', o.do_resize, true),
    size: parseSize(source, o.size),
    resample,
    doCenterCrop: bool(source, 'do_center_crop', o.do_center_crop, true),
    cropSize: parseCrop(source, o.crop_size),
    doRescale: bool(source, 'do_rescale', o.do_rescale, true),
    rescaleFactor,
    doNormalize: bool(source, 'do_normalize', o.do_normalize, true),
    imageMean: triple(source, 'image_mean', o.image_mean, OPENAI_CLIP_MEAN),
    imageStd,
  };
}

export function readPreprocessorConfig(file: string): ClipImageParams {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InvalidArgumentError(`${file}: cannot read preprocessor config (${(e as Error).message})`);
  }
  return parsePreprocessorConfig(json, file);
}

/**
 * The decode the config asks for, as something ffmpeg does:
 * - `{shortest_edge: S}` → fit 'cover' at S×S: scaling the shortest edge to S and center-cropping S×S, which is
 *   exactly the CLIP pipeline when crop_size is S (a smaller crop is then taken here, in JS);
 * - `{height, width}` → fit 'stretch' at that size (then an optional smaller centre crop here).
 * Refused (InvalidArgumentError): no resize (video frames have arbitrary sizes), non-square results (FrameEncoder
 * frames are square), a shortest-edge resize without a crop (the frame size would depend on the video), a crop
 * larger than the resized image (transformers pads with zeros).
 * `resample` is not mapped: ffmpeg scales with bicubic for 'cover' and with its area filter for 'stretch'
 * (sampleFrames' default), close to PIL's antialiased bicubic for the downscaling video frames need.
 */
export function frameGeometry(params: ClipImageParams, source = 'preprocessor_config.json'): FrameGeometry {
  if (!params.doResize) fail(source, 'do_resize=false is not supported for video frames (their size varies)');
  const { height: ch, width: cw } = params.cropSize;
  if ('shortestEdge' in params.size) {
    const s = params.size.shortestEdge;
    if (!params.doCenterCrop) fail(source, 'size.shortest_edge without do_center_crop gives frames of varying size; not supported');
    if (ch !== cw) fail(source, `a non-square crop_size ${cw}x${ch} is not supported`);
    if (ch > s) fail(source, `crop_size ${ch} is larger than size.shortest_edge ${s}; not supported`);
    return { fit: 'cover', size: s, cropHeight: ch, cropWidth: cw };
  }
  const { height, width } = params.size;
  if (height !== width) fail(source, `a non-square size ${width}x${height} is not supported`);
  if (!params.doCenterCrop) return { fit: 'stretch', size: height, cropHeight: height, cropWidth: width };
  if (ch !== cw) fail(source, `a non-square crop_size ${cw}x${ch} is not supported`);
  if (ch > height) fail(source, `crop_size ${ch} is larger than size ${height}; not supported`);
  return { fit: 'stretch', size: height, cropHeight: ch, cropWidth: cw };
}

/** value(c, byte) = ((byte × rescale) − mean[c]) / std[c], tabulated per channel. */
function channelTables(params: ClipImageParams): Float32Array[] {
  return [0, 1, 2].map((c) => {
    const t = new Float32Array(256);
    for (let v = 0; v < 256; v++) {
      let x = params.doRescale ? v * params.rescaleFactor : v;
      if (params.doNormalize) x = (x - params.imageMean[c]) / params.imageStd[c];
      t[v] = x;
    }
    return t;
  });
}

/**
 * Turns decoded frames (all `geometry.size` square, RGB24) into one NCHW float32 batch
 * [frames.length, 3, cropHeight, cropWidth]: centre crop as transformers does it (top = ⌊(H − h)/2⌋,
 * left = ⌊(W − w)/2⌋), then rescale and normalise.
 */
export function framesToPixelValues(frames: readonly Frame[], params: ClipImageParams, geometry: FrameGeometry): Float32Array {
  const { size, cropHeight: h, cropWidth: w } = geometry;
  const [tr, tg, tb] = channelTables(params);
  const plane = h * w;
  const out = new Float32Array(frames.length * 3 * plane);
  const top = Math.floor((size - h) / 2);
  const left = Math.floor((size - w) / 2);
  frames.forEach((frame, b) => {
    if (frame.width !== size || frame.height !== size) {
      throw new InvalidArgumentError(`CLIP preprocessing needs ${size}x${size} frames, got ${frame.width}x${frame.height}`);
    }
    if (frame.rgb.length !== size * size * 3) throw new InvalidArgumentError(`frame ${frame.index}: ${frame.rgb.length} bytes for ${size}x${size} RGB`);
    const base = b * 3 * plane;
    for (let y = 0; y < h; y++) {
      let src = ((top + y) * size + left) * 3;
      let dst = base + y * w;
      for (let x = 0; x < w; x++, src += 3, dst++) {
        out[dst] = tr[frame.rgb[src]];
        out[dst + plane] = tg[frame.rgb[src + 1]];
        out[dst + 2 * plane] = tb[frame.rgb[src + 2]];
      }
    }
  });
  return out;
}
