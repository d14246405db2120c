import { statSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { Config } from '../config.js';
import { createEncoder } from '../embed/create-encoder.js';
import type { FrameEncoder } from '../embed/onnx-encoder.js';
import { resolveModel, type ResolvedModel } from '../embed/registry.js';
import { InvalidArgumentError, MediaNotFoundError, ModelMismatchError, ModelMissingError, VideoNotFoundError, describeError, isVidtraceError } from '../errors.js';
import { VectorIndex } from '../index/vector-index.js';
import { allFrames, type KeyframeSelectorFactory } from '../keyframes/selector.js';
import { createSpdDetector, type SpdDetector } from '../detect/spd-detector.js';
import type { Aligner } from '../match/aligner.js';
import { dpAligner, matchQuery, temporalNetworkAligner, type MatchOptions } from '../match/matcher.js';
import type { MatchReport } from '../report/match-report.js';
import type { Db } from '../store/db.js';
import { Repository, type VideoRow } from '../store/repository.js';
import { snapReportToCuts } from './boundaries.js';
import { contentHash, extractKeyframes, type ExtractedVideo, type ExtractOptions } from './extract.js';
import { collectVideoFiles } from './files.js';
import { openStore, type OpenStore } from './open-store.js';

export type IndexEvent =
  | { kind: 'start'; total: number }
  | { kind: 'file'; path: string; position: number; total: number }
  | { kind: 'progress'; path: string; fraction: number }
  | { kind: 'indexed'; path: string; video: VideoRow; seconds: number }
  | { kind: 'duplicate'; path: string; video: VideoRow }
  | { kind: 'error'; path: string; error: unknown };

export type AlignerName = 'tn' | 'dp' | 'spd';

export interface IndexSummary {
  indexed: number;
  duplicates: number;
  failed: { path: string; reason: string }[];
}

export interface LibraryStats {
  videos: number;
  seconds: number;
  keyframes: number;
  indexBytes: number;
  /** Vectors in the Faiss index: equals `keyframes` whenever the store is consistent. */
  indexRows: number;
  model: string;
  database: 'embedded' | 'postgres';
  store: string;
}

/**
 * How a query is extracted: with its picture-in-picture inset views, and decoded 4× faster than the library's
 * keyframes so that each query keyframe also has the frames a quarter interval before and after it as 'phase'
 * views. A copy's frames fall anywhere between the library's samples, and in moving footage half a second
 * apart is another picture; the matcher takes the best phase (bench:copy on dev seed 11, TN: segment recall
 * 77.9 → 84.7 %, top-1 90.0 → 96.0 %). A span of ±¼ interval measured better than ±½ (which also lets
 * keyframes outside a copy reach into it). `flips`: each keyframe mirrored is a 'flip' view too (the default
 * encoder is fine-tuned, only partly flip-invariant: a mirrored copy of near-static footage was matched to the
 * wrong seconds through the whole frame, and to the right ones through the mirrored view).
 */
export const QUERY_EXTRACTION = { views: true, phases: 4, phaseSpan: 0.25, flips: true } as const satisfies ExtractOptions;

/**
 * A segment end lies half an interval outside its outermost keyframe; it moves to a query shot cut
 * between that keyframe and the next sample outside the segment (outward: half an interval, plus a little
 * for frame rounding), or inside it: half an interval, plus the phase span, since a keyframe up to the
 * span outside the copy matches through a phase view. In sample intervals.
 */
const CUT_SNAP = { inward: 0.5 + QUERY_EXTRACTION.phaseSpan, outward: 0.55 };

/** Seconds between index saves during a long `index` run (a crash loses at most this much Faiss work; the database is the truth). */
const SAVE_INTERVAL_MS = 10_000;

/**
 * One video library: database + Faiss index + encoder. The database is the source of truth; the
 * index file is derived from it and repaired on open when they disagree (after a crash).
 */
export class Library {
  private encoderPromise: Promise<FrameEncoder> | undefined;
  private spdPromise: Promise<SpdDetector> | undefined;
  /** Warnings already given (the aligner choice is made for every match). */
  private readonly warned = new Set<string>();
  private lastSave = Date.now();
  private dirty = false;

  readonly db: Db;
  readonly repo: Repository;

  private constructor(
    readonly config: Config,
    private readonly store: OpenStore,
    readonly model: ResolvedModel,
    readonly index: VectorIndex,
    readonly selector: KeyframeSelectorFactory,
    readonly repaired: { added: number; rebuilt: boolean },
  ) {
    this.db = store.db;
    this.repo = store.repo;
  }

  get indexFile(): string {
    return path.join(this.config.storeDir, 'index.faiss');
  }

  static async open(config: Config, options: { selector?: KeyframeSelectorFactory } = {}): Promise<Library> {
    const model = resolveModel(config.modelsDir, config.modelId);
    const store = await openStore(config);
    try {
      const { repo } = store;
      const storeModel = await repo.getMeta('model');
      if (storeModel && storeModel !== model.fingerprint) throw new ModelMismatchError(storeModel, model.fingerprint);
      const storeFps = await repo.getMeta('sampleFps');
      if (storeFps && Number(storeFps) !== config.sampleFps) {
        throw new InvalidArgumentError(`this library samples ${storeFps} frame(s) per second; got --fps ${config.sampleFps}`);
      }
      const indexFile = path.join(config.storeDir, 'index.faiss');
      const { index, added, rebuilt } = await loadConsistentIndex(indexFile, repo, model);
      const library = new Library(config, store, model, index, options.selector ?? allFrames, { added, rebuilt });
      if (added > 0 || rebuilt) library.saveIndex();
      return library;
    } catch (e) {
      await store.close();
      throw e;
    }
  }

  encoder(): Promise<FrameEncoder> {
    this.encoderPromise ??= createEncoder(this.model, this.config.modelsDir, this.config.threads);
    return this.encoderPromise;
  }

  /** Indexes files and folders. Bad files are reported through `onEvent` and skipped; the rest go on. */
  async indexPaths(inputs: readonly string[], onEvent: (e: IndexEvent) => void = () => {}): Promise<IndexSummary> {
    const { files, errors } = await collectVideoFiles(inputs);
    const summary: IndexSummary = { indexed: 0, duplicates: 0, failed: [] };
    for (const e of errors) {
      summary.failed.push(e);
      onEvent({ kind: 'error', path: e.path, error: new MediaNotFoundError(e.path, e.reason) });
    }
    onEvent({ kind: 'start', total: files.length });
    for (const [position, file] of files.entries()) {
      onEvent({ kind: 'file', path: file, position, total: files.length });
      try {
        const result = await this.ingestFile(file, (fraction) => onEvent({ kind: 'progress', path: file, fraction }));
        if (result.duplicate) {
          summary.duplicates++;
          onEvent({ kind: 'duplicate', path: file, video: result.video });
        } else {
          summary.indexed++;
          onEvent({ kind: 'indexed', path: file, video: result.video, seconds: result.video.duration });
        }
      } catch (error) {
        if (!isVidtraceError(error)) throw error;
        summary.failed.push({ path: file, reason: describeError(error) });
        onEvent({ kind: 'error', path: file, error });
      }
    }
    this.saveIndex();
    return summary;
  }

  /** Indexes one file; a file whose content is already in the library is a no-op. */
  async ingestFile(file: string, onProgress?: (fraction: number) => void): Promise<{ video: VideoRow; duplicate: boolean }> {
    const absolute = path.resolve(file);
    const hash = await contentHash(absolute);
    const existing = await this.repo.findVideoByHash(hash);
    if (existing) return { video: existing, duplicate: true };
    const encoder = await this.encoder();
    const extracted = await extractKeyframes(absolute, encoder, this.config.sampleFps, this.selector, onProgress);
    await this.repo.setMetaIfAbsent('model', this.model.fingerprint);
    await this.repo.setMetaIfAbsent('sampleFps', String(this.config.sampleFps));
    const id = randomUUID();
    const { info } = extracted;
    const ids = await this.repo.insertVideoWithKeyframes(
      {
        id,
        path: absolute,
        contentHash: hash,
        bytes: info.bytes,
        duration: extracted.duration,
        width: info.width,
        height: info.height,
        fps: Number.isFinite(info.fps) ? info.fps : null,
        codec: info.codec,
        model: this.model.fingerprint,
      },
      extracted.times,
      extracted.vectors,
    );
    const block = new Float32Array(ids.length * this.model.dim);
    extracted.vectors.forEach((v, i) => block.set(v, i * this.model.dim));
    this.index.add(ids, block);
    this.dirty = true;
    if (Date.now() - this.lastSave > SAVE_INTERVAL_MS) this.saveIndex();
    const video = await this.repo.getVideo(id);
    return { video: video as VideoRow, duplicate: false };
  }

  async remove(id: string): Promise<VideoRow> {
    const video = await this.repo.getVideo(id);
    if (!video) throw new VideoNotFoundError(id);
    const keyframeIds = await this.repo.deleteVideo(id);
    if (keyframeIds) this.index.remove(keyframeIds);
    this.dirty = true;
    this.saveIndex();
    return video;
  }

  list(): Promise<VideoRow[]> {
    return this.repo.listVideos();
  }

  async stats(): Promise<LibraryStats> {
    const s = await this.repo.stats();
    let indexBytes = 0;
    try {
      indexBytes = statSync(this.indexFile).size;
    } catch {
      /* no index yet */
    }
    return { ...s, indexBytes, indexRows: this.index.size, model: this.model.fingerprint, database: this.db.kind, store: this.config.storeDir };
  }

  /**
   * The aligner a match uses. By default the learned SPD detector (models/spd-detector) when it was trained on
   * matrices of this library's encoder: its calibration and threshold belong to that encoder's similarities.
   * Otherwise (no detector installed, or another encoder) the temporal network, with a warning that says why.
   * tn, dp and spd on request (spd with another encoder's detector runs, with a warning).
   */
  async aligner(name?: AlignerName): Promise<Aligner> {
    switch (name) {
      case undefined:
        return this.defaultAligner();
      case 'tn': {
        const t = this.model.match?.tn ?? {};
        return temporalNetworkAligner({ minSimilarity: t.minSimilarity ?? this.model.match?.voteFloor }, t.threshold);
      }
      case 'dp': {
        const t = this.model.match?.dp ?? {};
        return dpAligner({ bias: t.bias }, t.threshold);
      }
      case 'spd': {
        const spd = await this.spd();
        const mismatch = this.encoderMismatch(spd);
        if (mismatch) this.warnOnce(`${mismatch}: retrain with scripts/detector/train.sh`);
        return spd;
      }
      default:
        throw new InvalidArgumentError(`unknown aligner "${String(name)}" (tn, dp, spd)`);
    }
  }

  /**
   * The aligner that checks `aligner`'s segments just below its threshold (MatchOptions.corroboration): for the
   * detector, the temporal network at the threshold tune.ts found best for it on the detector's validation seeds
   * (stricter than its own 0.45; the detector's meta records it), else at its own.
   */
  async witness(aligner: Aligner): Promise<Aligner | undefined> {
    if (aligner.name !== 'spd') return undefined;
    const tn = await this.aligner('tn');
    const bar = (await this.spd()).meta.validation?.tn?.tuned?.threshold;
    return bar === undefined ? tn : { ...tn, threshold: bar };
  }

  private async defaultAligner(): Promise<Aligner> {
    let spd: SpdDetector;
    try {
      spd = await this.spd();
    } catch (e) {
      if (!(e instanceof ModelMissingError)) throw e;
      this.warnOnce(`${e.message}: matching with the temporal network (tn) instead of the SPD detector`);
      return this.aligner('tn');
    }
    const mismatch = this.encoderMismatch(spd);
    if (!mismatch) return spd;
    this.warnOnce(`${mismatch}: matching with the temporal network (tn); retrain the detector with scripts/detector/train.sh`);
    return this.aligner('tn');
  }

  /** Why the detector does not fit this library's similarities (trained on another encoder's), or undefined. */
  private encoderMismatch(spd: SpdDetector): string | undefined {
    if (spd.encoderFingerprint === this.model.fingerprint) return undefined;
    return `spd-detector was trained on ${spd.encoderFingerprint} matrices, this library uses ${this.model.fingerprint}`;
  }

  /** The SPD detector, created once per library (one onnxruntime session); a failed creation is not cached. */
  private spd(): Promise<SpdDetector> {
    this.spdPromise ??= createSpdDetector(this.config.modelsDir, this.config.threads).catch((e: unknown) => {
      this.spdPromise = undefined;
      throw e;
    });
    return this.spdPromise;
  }

  private warnOnce(message: string): void {
    if (this.warned.has(message)) return;
    this.warned.add(message);
    process.emitWarning(message);
  }

  async match(
    queryPath: string,
    options: Partial<MatchOptions> & { aligner?: AlignerName } = {},
    onProgress?: (fraction: number) => void,
  ): Promise<MatchReport> {
    const query = await this.extractQuery(queryPath, onProgress);
    return this.matchExtracted(queryPath, query, options);
  }

  /** decode → keyframes → embed for a query (with its picture-in-picture, phase and flip views, QUERY_EXTRACTION). */
  async extractQuery(queryPath: string, onProgress?: (fraction: number) => void, options: ExtractOptions = QUERY_EXTRACTION): Promise<ExtractedVideo> {
    const encoder = await this.encoder();
    return extractKeyframes(path.resolve(queryPath), encoder, this.config.sampleFps, this.selector, onProgress, options);
  }

  /** Matches an extracted query: kNN, candidates, alignment, overlaps, ends snapped to the query's cuts. */
  async matchExtracted(queryPath: string, query: ExtractedVideo, options: Partial<MatchOptions> & { aligner?: AlignerName } = {}): Promise<MatchReport> {
    const started = performance.now();
    const aligner = await this.aligner(options.aligner);
    const witness = await this.witness(aligner);
    const report = await matchQuery(
      { path: queryPath, duration: query.duration, times: query.times, vectors: query.vectors, views: query.views },
      { index: this.index, repo: this.repo, dim: this.model.dim, sampleInterval: 1 / this.config.sampleFps, model: this.model.fingerprint, aligner, witness },
      { ...(this.model.match?.voteFloor === undefined ? {} : { voteFloor: this.model.match.voteFloor }), ...options },
    );
    const interval = 1 / this.config.sampleFps;
    const snapped = await snapReportToCuts(report, query.info, { inward: CUT_SNAP.inward * interval, outward: CUT_SNAP.outward * interval });
    return snapped.info ? { ...snapped, info: { ...snapped.info, ms: Math.round(performance.now() - started) } } : snapped;
  }

  saveIndex(): void {
    this.index.save(this.indexFile);
    this.dirty = false;
    this.lastSave = Date.now();
  }

  async close(): Promise<void> {
    try {
      if (this.dirty) this.saveIndex();
      if (this.encoderPromise) await (await this.encoderPromise).close();
      if (this.spdPromise) await (await this.spdPromise.catch(() => undefined))?.close();
    } finally {
      await this.store.close();
    }
  }
}


/**
 * Loads the index file and brings it in line with the database: appends keyframes committed after the
 * last save, or rebuilds from the stored vectors when the file is missing, from another model, or
 * holds keyframes the database no longer has.
 */
export async function loadConsistentIndex(
  file: string,
  repo: Repository,
  model: ResolvedModel,
): Promise<{ index: VectorIndex; added: number; rebuilt: boolean }> {
  const dbIds = await repo.keyframeIds();
  const loaded = VectorIndex.load(file);
  if (loaded && loaded.model === model.fingerprint && loaded.dim === model.dim) {
    const ids = loaded.ids;
    const prefix = ids.length <= dbIds.length && ids.every((id, i) => dbIds[i] === id);
    if (prefix) {
      if (ids.length === dbIds.length) return { index: loaded, added: 0, rebuilt: false };
      const tail = await repo.keyframeVectorsAfter(ids.length ? ids[ids.length - 1] : 0, model.dim);
      loaded.add(tail.ids, tail.vectors);
      return { index: loaded, added: tail.ids.length, rebuilt: false };
    }
  }
  const index = VectorIndex.create(model.dim, model.fingerprint);
  const all = await repo.keyframeVectorsAfter(0, model.dim);
  index.add(all.ids, all.vectors);
  return { index, added: all.ids.length, rebuilt: loaded !== undefined || all.ids.length > 0 };
}
