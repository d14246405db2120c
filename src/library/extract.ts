import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { sampleFrames, type Frame } from '../decode/frames.js';
import { assertReadableFile, probeVideo, type VideoInfo } from '../decode/probe.js';
import { ENCODER_BATCH, type FrameEncoder } from '../embed/onnx-encoder.js';
import type { KeyframeSelectorFactory } from '../keyframes/selector.js';

export interface ExtractedVideo {
  info: VideoInfo;
  /** Duration in seconds (from the container, or measured by decoding when the container has none). */
  duration: number;
  times: number[];
  vectors: Float32Array[];
  sampledFrames: number;
}

/** decode → keyframes → embed for one file, streaming frames in encoder-sized batches. */
export async function extractKeyframes(
  path: string,
  encoder: FrameEncoder,
  fps: number,
  selector: KeyframeSelectorFactory,
  onProgress?: (fraction: number) => void,
): Promise<ExtractedVideo> {
  const info = await probeVideo(path);
  const select = selector();
  const times: number[] = [];
  const vectors: Float32Array[] = [];
  let batch: Frame[] = [];
  let sampled = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    vectors.push(...(await encoder.embed(batch)));
    times.push(...batch.map((f) => f.time));
    batch = [];
  };
  for await (const frame of sampleFrames(info, { fps, width: encoder.inputSize, height: encoder.inputSize, fit: encoder.fit, onProgress })) {
    sampled++;
    if (!select.keep(frame)) continue;
    batch.push(frame);
    if (batch.length >= ENCODER_BATCH) await flush();
  }
  await flush();
  const duration = Number.isFinite(info.duration) ? info.duration : sampled / fps;
  onProgress?.(1);
  return { info, duration, times, vectors, sampledFrames: sampled };
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
