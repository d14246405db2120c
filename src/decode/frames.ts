import ffmpeg from 'fluent-ffmpeg';
import { CorruptMediaError, MediaTooShortError } from '../errors.js';
import { stderrReason, type VideoInfo } from './probe.js';

/** One decoded frame: packed RGB24 (`width*height*3` bytes), or luma only (`width*height`) from `lumaFrames`. */
export interface Frame {
  readonly index: number;
  /** Seconds from the start of the video. */
  readonly time: number;
  readonly width: number;
  readonly height: number;
  readonly rgb: Uint8Array;
}

/**
 * How a frame is fitted to the output size. 'stretch' scales to exactly width×height, ignoring the aspect ratio;
 * 'cover' scales (bicubic), keeping the aspect ratio, until the frame covers width×height, then crops the centre
 * (CLIP's "resize the shortest edge, center-crop").
 */
export type FrameFit = 'stretch' | 'cover';

export interface SampleOptions {
  /** Frames per second to sample. */
  readonly fps: number;
  /** Output size: frames are resized to exactly this (the encoder's input size). */
  readonly width: number;
  readonly height: number;
  /** Default 'stretch'. */
  readonly fit?: FrameFit;
  /** Called with the fraction of the video decoded so far (0..1). */
  readonly onProgress?: (fraction: number) => void;
}

/**
 * Names the rule `sampleFrames` picks frames by; caches of embeddings key on it. Change it whenever
 * sampling picks different frames under the same labels.
 */
export const SAMPLING_RULE = 'fps-round-up-v2';

/**
 * Decodes a video and yields frames sampled at `fps`, as raw RGB through a pipe (no temporary files).
 * Frame k is the first decoded frame at or after k / fps, so its `time` is what it shows (ffmpeg's
 * default `round=near` would show k / fps + half an interval under that label).
 * Throws CorruptMediaError with ffmpeg's reason when decoding fails, MediaTooShortError when the video
 * is shorter than one sample interval.
 */
export async function* sampleFrames(info: VideoInfo, options: SampleOptions): AsyncGenerator<Frame> {
  const { fps, width, height } = options;
  const interval = 1 / fps;
  const geometry =
    options.fit === 'cover'
      ? `scale=${width}:${height}:force_original_aspect_ratio=increase:flags=bicubic,crop=${width}:${height}`
      : `scale=${width}:${height}:flags=area`;
  if (Number.isFinite(info.duration) && info.duration < interval) {
    throw new MediaTooShortError(info.path, info.duration, interval);
  }
  yield* rawFrames(info, { filter: `fps=${fps}:round=up,${geometry}`, pixFmt: 'rgb24', width, height, channels: 3, interval, onProgress: options.onProgress });
}

/**
 * Every decoded frame (no resampling in time) of `window` (default: the whole video), shrunk to
 * width×height luma: cheap input for shot-cut detection. Frame times assume a constant frame rate
 * (the stream's, 25 when unknown) from the start of the video.
 */
export async function* lumaFrames(
  info: VideoInfo,
  size: { width: number; height: number },
  window: { start: number; duration: number } = { start: 0, duration: Number.POSITIVE_INFINITY },
): AsyncGenerator<Frame> {
  const rate = Number.isFinite(info.fps) && info.fps > 0 ? info.fps : 25;
  const start = Math.max(0, window.start);
  // Input seeking decodes from the keyframe before `start` and drops frames before it: the first frame is the first at or after it.
  const first = Math.ceil(start * rate - 1e-6) / rate;
  for await (const frame of rawFrames(info, {
    filter: `scale=${size.width}:${size.height}:flags=area`,
    pixFmt: 'gray',
    width: size.width,
    height: size.height,
    channels: 1,
    interval: 1 / rate,
    inputOptions: start > 0 ? ['-ss', start.toFixed(3)] : [],
    extraOutputOptions: ['-fps_mode', 'passthrough', ...(Number.isFinite(window.duration) ? ['-t', window.duration.toFixed(3)] : [])],
  })) {
    yield { ...frame, time: first + frame.time };
  }
}

interface RawDecode {
  filter: string;
  pixFmt: 'rgb24' | 'gray';
  width: number;
  height: number;
  channels: 1 | 3;
  /** Seconds between consecutive output frames. */
  interval: number;
  onProgress?: (fraction: number) => void;
  inputOptions?: string[];
  extraOutputOptions?: string[];
}

/** The one ffmpeg → pipe → fixed-size frame loop (errors carry ffmpeg's command line and stderr). */
async function* rawFrames(info: VideoInfo, d: RawDecode): AsyncGenerator<Frame> {
  const { width, height, interval } = d;
  const frameBytes = width * height * d.channels;
  let stderr = '';
  let commandLine = '';
  let failure: Error | undefined;
  let finished = false;
  let markExited: () => void = () => {};
  const exited = new Promise<void>((resolve) => {
    markExited = resolve;
  });
  const command = ffmpeg(info.path)
    .inputOptions(['-nostdin', ...(d.inputOptions ?? [])])
    .outputOptions([
      '-map', '0:v:0',
      '-an', '-sn',
      '-vf', d.filter,
      '-pix_fmt', d.pixFmt,
      ...(d.extraOutputOptions ?? []),
      '-f', 'rawvideo',
      '-v', 'error',
      '-threads', '2',
    ])
    .on('start', (line: string) => {
      commandLine = line;
    })
    .on('stderr', (line: string) => {
      if (stderr.length < 20_000) stderr += line + '\n';
    })
    .on('error', (err: Error, _stdout: string | null, errText: string | null) => {
      if (errText) stderr = errText;
      if (!finished && !/SIGKILL/.test(err.message)) failure = err;
      markExited();
    })
    .on('end', () => markExited());
  const stream = command.pipe();
  let pending: Buffer = Buffer.alloc(0);
  let index = 0;
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= frameBytes) {
        const rgb = new Uint8Array(pending.subarray(0, frameBytes));
        pending = pending.subarray(frameBytes);
        const time = index * interval;
        if (d.onProgress && Number.isFinite(info.duration)) d.onProgress(Math.min(1, time / info.duration));
        yield { index, time, width, height, rgb };
        index += 1;
      }
    }
    // stdout ended: wait for ffmpeg's exit status.
    await exited;
  } finally {
    if (!stream.destroyed) {
      // The consumer stopped early: stop ffmpeg, this is not a decoding failure.
      finished = true;
      stream.destroy();
      command.kill('SIGKILL');
    }
  }
  if (failure && index === 0) {
    throw new CorruptMediaError(info.path, `cannot decode video (${stderrReason(stderr, failure.message)})`, stderr, commandLine);
  }
  if (index === 0) {
    throw new MediaTooShortError(info.path, Number.isFinite(info.duration) ? info.duration : 0, interval);
  }
}
