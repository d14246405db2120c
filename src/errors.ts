/**
 * One error type per failure kind. Each carries a stable `code`, the HTTP status the API maps it to and
 * whether retrying could help (queue workers use that to decide between retry and fail).
 */
export abstract class VidtraceError extends Error {
  abstract readonly code: string;
  abstract readonly httpStatus: number;
  readonly retryable: boolean = false;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The file does not exist or cannot be read. */
export class MediaNotFoundError extends VidtraceError {
  readonly code = 'MEDIA_NOT_FOUND';
  readonly httpStatus = 404;
  constructor(readonly path: string, reason = 'no such file') {
    super(`${path}: ${reason}`);
  }
}

/** ffprobe/ffmpeg could not parse the file: corrupt, truncated, not media, or an unknown codec. */
export class CorruptMediaError extends VidtraceError {
  readonly code = 'CORRUPT_MEDIA';
  readonly httpStatus = 422;
  constructor(readonly path: string, reason: string, readonly stderr = '', readonly command = '') {
    super(`${path}: ${reason}`);
  }
}

/** The file is valid media but has no video stream (audio-only, subtitles…). */
export class NoVideoStreamError extends VidtraceError {
  readonly code = 'NO_VIDEO_STREAM';
  readonly httpStatus = 422;
  constructor(readonly path: string) {
    super(`${path}: no video stream (audio-only or not a video)`);
  }
}

/** The video is too short to yield a single sampled frame. */
export class MediaTooShortError extends VidtraceError {
  readonly code = 'MEDIA_TOO_SHORT';
  readonly httpStatus = 422;
  constructor(readonly path: string, readonly duration: number, readonly minimum: number) {
    super(`${path}: video is ${duration.toFixed(3)} s long, shorter than one sample interval (${minimum.toFixed(3)} s)`);
  }
}

/** A model file named by the configuration is not on disk. */
export class ModelMissingError extends VidtraceError {
  readonly code = 'MODEL_MISSING';
  readonly httpStatus = 503;
  constructor(readonly modelId: string, readonly path: string, hint = 'run `npm run setup` to build the default models') {
    super(`model ${modelId} not found at ${path}; ${hint}`);
  }
}

/** The store was built with another encoder than the one asked for. */
export class ModelMismatchError extends VidtraceError {
  readonly code = 'MODEL_MISMATCH';
  readonly httpStatus = 409;
  constructor(readonly storeModel: string, readonly requestedModel: string) {
    const id = (fingerprint: string) => fingerprint.split('@')[0];
    super(
      `this library was indexed with encoder ${storeModel} but ${requestedModel} was requested; ` +
        `vectors of different encoders cannot be compared: query with --model ${id(storeModel)}, ` +
        `or move the library to the new encoder with \`vidtrace reindex --model ${id(requestedModel)}\``,
    );
  }
}

/** A library video's file no longer has the content that was indexed. */
export class MediaChangedError extends VidtraceError {
  readonly code = 'MEDIA_CHANGED';
  readonly httpStatus = 409;
  constructor(readonly path: string, reason = 'the file changed since it was indexed') {
    super(`${path}: ${reason}`);
  }
}

/** The store on disk or in PostgreSQL is unusable. */
export class StoreError extends VidtraceError {
  readonly code = 'STORE_ERROR';
  readonly httpStatus = 500;
  override readonly retryable = true;
}

/** An identifier does not name a video of the library. */
export class VideoNotFoundError extends VidtraceError {
  readonly code = 'VIDEO_NOT_FOUND';
  readonly httpStatus = 404;
  constructor(readonly id: string) {
    super(`no video with id ${id} in the library`);
  }
}

/** Bad arguments from a user (CLI flags, API parameters). */
export class InvalidArgumentError extends VidtraceError {
  readonly code = 'INVALID_ARGUMENT';
  readonly httpStatus = 400;
}

export function isVidtraceError(e: unknown): e is VidtraceError {
  return e instanceof VidtraceError;
}

/** One line for a human: the message of a known error, or the message plus the class of an unknown one. */
export function describeError(e: unknown): string {
  if (e instanceof VidtraceError) return e.message;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
