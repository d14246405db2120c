import { stat } from 'node:fs/promises';
import ffmpeg from 'fluent-ffmpeg';
import { CorruptMediaError, MediaNotFoundError, NoVideoStreamError } from '../errors.js';

/** What vidtrace needs to know about a video file, typed (ffprobe's own output is loosely typed). */
export interface VideoInfo {
  readonly path: string;
  readonly bytes: number;
  /** Seconds; NaN when the container does not say (raw elementary streams): decoding measures it. */
  readonly duration: number;
  readonly width: number;
  readonly height: number;
  /** Frames per second of the video stream, NaN when unknown. */
  readonly fps: number;
  readonly codec: string;
  readonly container: string;
  readonly hasAudio: boolean;
}

function parseRate(rate: string | undefined): number {
  if (!rate) return Number.NaN;
  const [num, den] = rate.split('/').map(Number);
  if (!den) return Number.isFinite(num) && num > 0 ? num : Number.NaN;
  const value = num / den;
  return Number.isFinite(value) && value > 0 ? value : Number.NaN;
}

function positive(value: unknown): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : Number.NaN;
}

/** Demuxers of bare elementary streams (no container, no timestamps). */
const RAW_STREAM_FORMATS = new Set(['mpegvideo', 'h264', 'hevc', 'm4v', 'h263', 'mjpeg', 'cavsvideo', 'vc1', 'dirac']);

/** The last meaningful line of ffmpeg/ffprobe stderr: the reason a person needs. */
export function stderrReason(stderr: string, fallback: string): string {
  if (/moov atom not found/.test(stderr)) return 'no moov atom: a truncated MP4, or not an MP4 at all';
  if (/Invalid NAL unit size|partial file/i.test(stderr)) return 'truncated or damaged file';
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('ffprobe version') && !l.startsWith('ffmpeg version'));
  const line = lines.at(-1);
  if (!line) return fallback;
  return line.replace(/^.*?:\s*(?=[A-Z])/, '').slice(0, 200) || fallback;
}

/** Checks that a path is a readable, non-empty regular file. */
export async function assertReadableFile(path: string): Promise<number> {
  let info;
  try {
    info = await stat(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new MediaNotFoundError(path, code === 'EACCES' ? 'permission denied' : 'no such file');
  }
  if (!info.isFile()) throw new MediaNotFoundError(path, 'not a regular file');
  if (info.size === 0) throw new CorruptMediaError(path, 'empty file (0 bytes)');
  return info.size;
}

/** Runs ffprobe and returns the typed description of the first real video stream. */
export async function probeVideo(path: string): Promise<VideoInfo> {
  const bytes = await assertReadableFile(path);
  const data = await new Promise<ffmpeg.FfprobeData>((resolve, reject) => {
    ffmpeg.ffprobe(path, ['-v', 'error'], (err, result) => {
      if (err) {
        const message = String((err as Error).message ?? err);
        reject(new CorruptMediaError(path, `not a readable media file (${stderrReason(message, 'ffprobe failed')})`, message, `ffprobe ${path}`));
      } else resolve(result);
    });
  });
  const video = data.streams.find(
    (s) => s.codec_type === 'video' && !(s.disposition && (s.disposition as Record<string, number>).attached_pic),
  );
  if (!video) throw new NoVideoStreamError(path);
  // Raw elementary streams carry no container timing: ffprobe's duration for them is a guess (often
  // one frame), so it is left unknown and decoding measures it.
  const container = String(data.format.format_name ?? 'unknown');
  const duration = RAW_STREAM_FORMATS.has(container) ? Number.NaN : positive(data.format.duration) || positive(video.duration);
  return {
    path,
    bytes,
    duration,
    width: Number(video.width) || 0,
    height: Number(video.height) || 0,
    fps: parseRate(video.avg_frame_rate) || parseRate(video.r_frame_rate),
    codec: String(video.codec_name ?? 'unknown'),
    container,
    hasAudio: data.streams.some((s) => s.codec_type === 'audio'),
  };
}
