import type { Config } from '../config.js';
import { sampleFrames, type Frame } from '../decode/frames.js';
import { probeVideo } from '../decode/probe.js';
import { createEncoder } from '../embed/create-encoder.js';
import { ENCODER_BATCH, type FrameEncoder } from '../embed/onnx-encoder.js';
import { resolveModel } from '../embed/registry.js';
import { describeError, isVidtraceError, MediaChangedError } from '../errors.js';
import { contentHash } from './extract.js';
import type { VideoRow } from '../store/repository.js';
import { Library } from './library.js';
import { openStore } from './open-store.js';

export type ReindexEvent =
  | { kind: 'start'; from: string; to: string; pending: number; total: number }
  | { kind: 'video'; video: VideoRow; position: number; total: number }
  | { kind: 'progress'; video: VideoRow; fraction: number }
  | { kind: 'done-video'; video: VideoRow; keyframes: number }
  | { kind: 'error'; video: VideoRow; error: unknown };

export interface ReindexSummary {
  from: string | undefined;
  to: string;
  reembedded: number;
  failed: { id: string; path: string; reason: string }[];
  /** True when the library now uses the new encoder (every video re-embedded, index rebuilt). */
  switched: boolean;
}

/** Keyframe times are multiples of the sampling interval; match decoded frames to them with this tolerance. */
const TIME_TOLERANCE = 1e-6;

/**
 * Re-embeds every keyframe of a library with the encoder `config.modelId`. Each video is decoded once
 * at the library's rate and only its keyframes are embedded; vectors are staged per video, so an
 * interrupted run resumes with the videos not yet done. When all are done the new vectors replace the
 * old ones in one transaction and the Faiss index is rebuilt.
 */
export async function reindexLibrary(config: Config, onEvent: (e: ReindexEvent) => void = () => {}): Promise<ReindexSummary> {
  const model = resolveModel(config.modelsDir, config.modelId);
  const store = await openStore(config);
  const failed: ReindexSummary['failed'] = [];
  let from: string | undefined;
  let reembedded = 0;
  let encoder: FrameEncoder | undefined;
  try {
    const { repo } = store;
    from = await repo.getMeta('model');
    const fps = Number((await repo.getMeta('sampleFps')) ?? config.sampleFps);
    if (from === model.fingerprint) return { from, to: model.fingerprint, reembedded: 0, failed, switched: true };
    const all = await repo.listVideos();
    const pending = await repo.videosPendingReindex(model.fingerprint);
    onEvent({ kind: 'start', from: from ?? '(empty library)', to: model.fingerprint, pending: pending.length, total: all.length });
    encoder = await createEncoder(model, config.modelsDir, config.threads);
    for (const [position, video] of pending.entries()) {
      onEvent({ kind: 'video', video, position, total: pending.length });
      try {
        const keyframes = await repo.keyframeTimes(video.id);
        const vectors = await embedAtTimes(video, keyframes.map((k) => k.t), fps, encoder, (fraction) => onEvent({ kind: 'progress', video, fraction }));
        await repo.saveNextVectors(model.fingerprint, keyframes.map((k) => k.id), vectors);
        reembedded++;
        onEvent({ kind: 'done-video', video, keyframes: keyframes.length });
      } catch (error) {
        if (!isVidtraceError(error)) throw error;
        failed.push({ id: video.id, path: video.path, reason: describeError(error) });
        onEvent({ kind: 'error', video, error });
      }
    }
    if (failed.length > 0) return { from, to: model.fingerprint, reembedded, failed, switched: false };
    await repo.swapInNextVectors(model.fingerprint);
  } finally {
    await encoder?.close();
    await store.close();
  }
  // Opening the library with the new encoder rebuilds the index from the swapped vectors.
  const library = await Library.open(config);
  await library.close();
  return { from, to: model.fingerprint, reembedded, failed, switched: true };
}

async function embedAtTimes(
  video: VideoRow,
  times: readonly number[],
  fps: number,
  encoder: FrameEncoder,
  onProgress: (fraction: number) => void,
): Promise<Float32Array[]> {
  const info = await probeVideo(video.path);
  if ((await contentHash(video.path)) !== video.contentHash) throw new MediaChangedError(video.path);
  const wanted = [...times];
  const picked: Frame[] = [];
  let next = 0;
  for await (const frame of sampleFrames(info, { fps, width: encoder.inputSize, height: encoder.inputSize, fit: encoder.fit, onProgress })) {
    while (next < wanted.length && wanted[next] < frame.time - TIME_TOLERANCE) next++;
    if (next < wanted.length && Math.abs(wanted[next] - frame.time) <= TIME_TOLERANCE) {
      picked.push(frame);
      next++;
    }
    if (next >= wanted.length) break;
  }
  if (picked.length !== wanted.length) {
    throw new MediaChangedError(video.path, `decoded ${picked.length} of ${wanted.length} keyframes`);
  }
  const vectors: Float32Array[] = [];
  for (let i = 0; i < picked.length; i += ENCODER_BATCH) vectors.push(...(await encoder.embed(picked.slice(i, i + ENCODER_BATCH))));
  return vectors;
}
