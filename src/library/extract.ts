import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { sampleFrames, type Frame } from '../decode/frames.js';
import { assertReadableFile, probeVideo, type VideoInfo } from '../decode/probe.js';
import { MediaTooShortError } from '../errors.js';
import { ENCODER_BATCH, type FrameEncoder } from '../embed/onnx-encoder.js';
import type { KeyframeSelectorFactory } from '../keyframes/selector.js';
import { cropFrame } from '../views/crop.js';
import { mirrorFrame } from '../views/mirror.js';
import { insetCropBox, type QueryView } from '../views/index.js';
import { InsetTracker } from '../views/inset.js';

export interface ExtractedVideo {
  info: VideoInfo;
  /** Duration in seconds (from the container, or measured by decoding when the container has none). */
  duration: number;
  times: number[];
  vectors: Float32Array[];
  sampledFrames: number;
  /** Extra views of some keyframes (`options.views`, `options.phases`, `options.flips`); empty otherwise. */
  views?: QueryView[];
}

export interface ExtractOptions {
  /**
   * Also detect a picture-in-picture inset in the sampled frames (src/views/inset.ts) and embed its crop as an
   * extra view of each keyframe that has one (`views`, kind 'inset').
   */
  views?: boolean;
  /**
   * Frames sampled per keyframe interval (default 1). With n > 1 the video is decoded at n × fps: every n-th
   * frame is the keyframe it would be at fps, and each frame in between becomes a 'phase' view of the keyframe(s)
   * within `phaseSpan` of it.
   */
  phases?: number;
  /** How far from its keyframe a phase view may be, in keyframe intervals (default ½: every frame in between). */
  phaseSpan?: number;
  /** Also embed every keyframe mirrored left to right as a 'flip' view of it. */
  flips?: boolean;
}

/**
 * decode → keyframes → embed for one file, streaming frames in encoder-sized batches. With `options.views`
 * every sampled frame also goes through the streaming inset detector (a look-ahead of a few frames); the
 * crops of detected insets on kept frames are embedded in batches too.
 */
export async function extractKeyframes(
  path: string,
  encoder: FrameEncoder,
  fps: number,
  selector: KeyframeSelectorFactory,
  onProgress?: (fraction: number) => void,
  options: ExtractOptions = {},
): Promise<ExtractedVideo> {
  const info = await probeVideo(path);
  const phases = Math.max(1, Math.round(options.phases ?? 1));
  const span = Math.min(0.5, options.phaseSpan ?? 0.5) * phases; // in decoded frames
  if (phases > 1 && Number.isFinite(info.duration) && info.duration < 1 / fps) throw new MediaTooShortError(path, info.duration, 1 / fps);
  const select = selector();
  const times: number[] = [];
  const vectors: Float32Array[] = [];
  let batch: Frame[] = [];
  let sampled = 0;
  let kept = 0;
  const flip: QueryView = { kind: 'flip', rows: [], vectors: [] };
  const flush = async () => {
    if (batch.length === 0) return;
    const first = vectors.length;
    vectors.push(...(await encoder.embed(batch)));
    times.push(...batch.map((f) => f.time));
    if (options.flips) {
      flip.vectors.push(...(await encoder.embed(batch.map(mirrorFrame))));
      flip.rows.push(...batch.map((_f, k) => first + k));
    }
    batch = [];
  };
  // phase views: frames between keyframes, each tied to the kept keyframe(s) within half an interval
  const phase: QueryView = { kind: 'phase', rows: [], vectors: [] };
  let phaseBatch: { frame: Frame; rows: number[] }[] = [];
  let between: Frame[] = []; // frames since the latest keyframe
  let lastRow = -1; // row of the latest keyframe, -1 when it was not kept (or before the first)
  const flushPhases = async () => {
    if (phaseBatch.length === 0) return;
    const embedded = await encoder.embed(phaseBatch.map((p) => p.frame));
    phaseBatch.forEach((p, k) => {
      for (const row of p.rows) {
        phase.rows.push(row);
        phase.vectors.push(embedded[k]);
      }
    });
    phaseBatch = [];
  };
  /** The frames between two keyframes go to the nearer one (to both from the exact middle), within the span. */
  const assignBetween = async (nextRow: number) => {
    for (const frame of between) {
      const offset = frame.index % phases;
      const rows = [...(offset <= span ? [lastRow] : []), ...(phases - offset <= span ? [nextRow] : [])].filter((r) => r >= 0);
      if (rows.length > 0) phaseBatch.push({ frame, rows });
      if (phaseBatch.length >= ENCODER_BATCH) await flushPhases();
    }
    between = [];
  };
  // inset views: the detector sees every sampled keyframe (its temporal window is in sampled frames, about 2 s)
  type Item = Frame & { row: number };
  const tracker = options.views ? new InsetTracker<Item>({ window: Math.min(9, Math.max(3, Math.round(2 * fps) + 1)) }) : undefined;
  const inset: QueryView = { kind: 'inset', rows: [], vectors: [], boxes: [] };
  let crops: { frame: Frame; row: number; box: (typeof inset.boxes)[number] }[] = [];
  const flushViews = async () => {
    if (crops.length === 0) return;
    inset.vectors.push(...(await encoder.embed(crops.map((c) => c.frame))));
    for (const c of crops) {
      inset.rows.push(c.row);
      inset.boxes.push(c.box);
    }
    crops = [];
  };
  const detected = async (results: { item: Item; box: (typeof inset.boxes)[number] | null }[]) => {
    for (const { item, box } of results) {
      if (!box || item.row < 0) continue;
      crops.push({ frame: cropFrame(item, insetCropBox(box), encoder.inputSize, encoder.inputSize), row: item.row, box });
    }
    if (crops.length >= ENCODER_BATCH) await flushViews();
  };
  for await (const decoded of sampleFrames(info, { fps: fps * phases, width: encoder.inputSize, height: encoder.inputSize, fit: encoder.fit, onProgress })) {
    if (decoded.index % phases !== 0) {
      between.push(decoded);
      continue;
    }
    const frame: Frame = phases === 1 ? decoded : { ...decoded, index: decoded.index / phases };
    sampled++;
    const keep = select.keep(frame);
    const row = keep ? kept : -1;
    await assignBetween(row);
    lastRow = row;
    if (tracker) await detected(tracker.push({ ...frame, row }));
    if (!keep) continue;
    kept++;
    batch.push(frame);
    if (batch.length >= ENCODER_BATCH) await flush();
  }
  await flush();
  await assignBetween(-1);
  await flushPhases();
  if (tracker) {
    await detected(tracker.flush());
    await flushViews();
  }
  const duration = Number.isFinite(info.duration) ? info.duration : sampled / fps;
  onProgress?.(1);
  const views = [inset, phase, flip].filter((v) => v.rows.length > 0);
  return { info, duration, times, vectors, sampledFrames: sampled, views };
}

/**
 * sha256 of a file's bytes: the identity used to make re-indexing a no-op. A missing, unreadable or
 * empty file is the same clear error as from probing.
 */
export async function contentHash(path: string): Promise<string> {
  await assertReadableFile(path);
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
