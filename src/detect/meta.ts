import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, ModelMissingError } from '../errors.js';
import { CHANNELS, type ChannelParams } from './channels.js';

/** Post-processing of the detector output (tuned on dev-generated training-seed data only). */
export interface SpdInferenceOptions {
  /** Largest matrix (rows × cols) run as ONE input window; larger ones are cut into `tile` windows. */
  maxCells: number;
  /** Side (cells, a multiple of the stride) of the fallback windows of matrices above maxCells. */
  tile: number;
  /** Step between fallback windows (tile − overlap). */
  tileStride: number;
  /** Raw scores below this are not decoded. */
  minScore: number;
  /** Best-scoring decoded boxes kept before NMS (bounds the work on large matrices). */
  preNmsTopK: number;
  /** Boxes kept after NMS and considered for cross-tile fusion. */
  postNmsTopK: number;
  nmsIou: number;
  /** NMS also drops a box with this fraction of its area inside a better one… */
  containment: number;
  /** …or this fraction when the box is cut by its window border (fallback windows only). */
  cutContainment: number;
  /** Cross-window fusion: largest gap (cells) between two pieces of one band. */
  fuseGap: number;
  /** Cross-window fusion: largest distance (cells) of a piece's diagonal from the fused diagonal… */
  fuseTolerance: number;
  /** …plus this fraction of the fused box's diagonal length. */
  fuseRelTolerance: number;
  /** Cross-window fusion: raw score below which a box takes no part. */
  fuseMinScore: number;
  /** Also fuse collinear fragments of one band decoded from the same window (e.g. the whole matrix). */
  fuseSameTile: boolean;
  maxSegments: number;
  /**
   * Which maxSegments boxes survive NMS: false = the best raw detector scores; true = the best calibrated
   * scores on the boxes' unrefined diagonals (the evidence the final score weighs most).
   */
  rankCalibrated: boolean;
  /** Fallback windows per onnxruntime call. */
  batch: number;
  /**
   * Most onnxruntime intra-op threads the detector uses (createSpdDetector's `threads` is capped
   * at it). 1 by default: the whole-matrix network takes well under a millisecond, and on a shared
   * machine a thread pool's hand-offs and spinning cost more than they save (bench/spd-speed.ts).
   */
  threads: number;
  /**
   * Box refinement (refine.ts): each kept box's ends moved to the band's path inside the box widened
   * by `refineMargin` keyframes (cells ≥ `refineMinSimilarity`, the encoder's vote floor, and ≥ half-way
   * between the band level and the region mean). 0 = off.
   */
  refineMargin: number;
  refineMinSimilarity: number;
  /**
   * Paths of the widened box considered when the strongest one does not overlap the box (a stronger
   * neighbouring copy reached by the margin, e.g. two copies of one short reference in one query): the
   * strongest that does is taken. 1: only the strongest (else the box keeps its ends). 3 since stop 12:
   * full match path on validation seeds 107-112, segment F1 +0.5 on average, top-1 unchanged
   * (docs/decision-threshold.md).
   */
  refinePaths: number;
  /**
   * Repeats found by refinement: among those paths, one that shares no query keyframe with the refined
   * box, has at least 3 keyframes and a mean similarity within this much of the refined band's becomes a
   * box of its own (the detector's raw score of the box it was found next to, its own diagonal for the
   * calibration, its calibrated score capped at that box's), where no box lies: a second copy of the same footage too close to the first for the
   * network's output stride. Negative = off (the default); 0.05 since stop 14: full match path on
   * validation seeds 107-112, segment F1 +0.5 and +0.4 on two seeds, the others unchanged, top-1 and
   * false alarms unchanged (docs/decision-threshold.md).
   */
  refineRepeatMargin: number;
  /**
   * Matrices of at most this many cells are upsampled 2×2 (nearest) before the network (upsample.ts):
   * its output stride halves on them, so two copies closer than one stride are told apart. 0 = never:
   * the shipped network was trained at its own stride only, and on the full match path of validation
   * seeds 111/112 upsampling (1024 or 4096 cells) lost 5-6 points of segment F1 and raised false alarms
   * (26.7 % on seed 111) at any threshold tried (docs/decision-threshold.md). For a network trained on
   * upsampled matrices too.
   */
  upsampleMaxCells: number;
}

/**
 * Format version of meta.json this build reads. 2: a fully convolutional network run on the whole
 * matrix: inputs similarities [n, 1, h, w] (h, w any multiples of `stride`) and valid sizes, channels
 * built in the graph, pre-activation outputs. (1: channels [n, 5, 64, 64], fixed 64×64 tiles.)
 */
export const SPD_META_VERSION = 2;

/** models/spd-detector/meta.json, written by scripts/detector/train_detector.py and tune.ts. */
export interface SpdMeta {
  format: 'vidtrace-spd-detector';
  version: number;
  file: string;
  sha256?: string;
  /**
   * Inputs: `name` = similarities [n, 1, h, w] (a window: the whole matrix below maxCells; padding
   * as `pad` says), `valid` = [n, 2] valid rows and columns of each window. The graph builds the
   * channels `channels` (src/detect/channels.ts is their specification) and the mask. `pad`, when
   * set, is the value the caller must put in the padding cells (a graph that max-pools the raw input
   * first: padding below every similarity never wins a block, so the graph needs no full-resolution
   * mask); without it the padding values are ignored. `lean` (scripts/detector/lean_channels.py): the
   * graph takes the mask from the padding value instead of `valid` (still fed, unused) and folds the
   * channels' affine maps into its stem; its `pad` must lie at or below leanMaxPad.
   */
  input: { name: string; valid: string; channels: string[]; pad?: number; lean?: boolean };
  /**
   * Output [n, 5, h/stride, w/stride] of pre-activation values: score = sigmoid(channel 0), distances
   * (cells) = softplus(channel 1..4) × boxScale, applied only where boxes are decoded (boxes.ts).
   */
  output: { name: string; boxScale: number };
  /** Cells per output location; input windows are multiples of it. */
  stride: number;
  /** Cells seen by one output location (information). */
  receptiveField?: number;
  channelParams: ChannelParams;
  inference: Partial<SpdInferenceOptions>;
  /** Calibrated score = sigmoid(a · logit(raw) + c · diagonal similarity + b). */
  calibration: { kind: 'platt'; a: number; b: number; c?: number; fitted?: boolean; /** How tune.ts chose the weights (free fit or a fixed diag/raw ratio). */ weights?: string };
  /** Calibrated-score decision threshold. */
  threshold: number;
  encoder: { fingerprint: string; fps: number };
  /**
   * tune.ts's record on the validation seeds. `tn.tuned.threshold`: the temporal network's best threshold there
   * (at most 5 % false alarms), the bar its segments must reach to confirm the detector's grey zone
   * (src/match/corroboration.ts).
   */
  validation?: { tn?: { tuned?: { threshold?: number } } };
  [extra: string]: unknown;
}

export const SPD_DIR = 'spd-detector';
export const DEFAULT_INFERENCE: SpdInferenceOptions = {
  maxCells: 1 << 20,
  tile: 256,
  tileStride: 192,
  minScore: 0.05,
  preNmsTopK: 100,
  postNmsTopK: 20,
  nmsIou: 0.5,
  containment: 0.8,
  cutContainment: 0.5,
  fuseGap: 2,
  fuseTolerance: 2.5,
  fuseRelTolerance: 0,
  fuseMinScore: 0.1,
  fuseSameTile: false,
  maxSegments: 5,
  rankCalibrated: false,
  batch: 4,
  threads: 1,
  refineMargin: 0,
  refineMinSimilarity: 0.35,
  refinePaths: 3,
  refineRepeatMargin: -1,
  upsampleMaxCells: 0,
};

/**
 * Highest padding value a lean graph (meta input.lean) clips to 0 in every channel: with sd ≤ 1 (similarities
 * in [-1, 1]) its padding cells hold at most relu(pad + 1 + relClip) in rowrel and colrel and
 * clip(pad + 1 - zLo, 0, ·) in z (scripts/detector/lean_channels.py): -5 for relClip 4 and zLo -3.
 */
export function leanMaxPad(p: ChannelParams): number {
  return -(1 + Math.max(p.relClip, -p.zLo));
}

/** The value the padding of the network's input must hold (`input.pad`; 0 when the graph ignores it). */
export function inputPad(meta: SpdMeta): number {
  return meta.input.pad ?? 0;
}

export function spdModelPath(modelsDir: string): string {
  return path.join(modelsDir, SPD_DIR, 'model.onnx');
}

/** Reads and checks meta.json; a missing model or meta file is a ModelMissingError. */
export function loadSpdMeta(modelsDir: string): { meta: SpdMeta; modelPath: string; dir: string } {
  const dir = path.join(modelsDir, SPD_DIR);
  const metaPath = path.join(dir, 'meta.json');
  const hint = 'run `bash scripts/detector/train.sh` to train the SPD detector, or use --aligner tn|dp';
  if (!existsSync(metaPath)) throw new ModelMissingError('spd-detector', metaPath, hint);
  const meta = JSON.parse(readFileSync(metaPath, 'utf8')) as SpdMeta;
  if (meta.format !== 'vidtrace-spd-detector') throw new InvalidArgumentError(`${metaPath}: not an SPD detector meta file`);
  if (meta.version !== SPD_META_VERSION) {
    throw new InvalidArgumentError(
      `${metaPath}: SPD detector format version ${meta.version}${meta.version === 1 ? ' (a network for fixed 64×64 tiles)' : ''}; this build runs the detector on whole matrices and reads version ${SPD_META_VERSION} only: ${hint}`,
    );
  }
  if (meta.input.channels.join(',') !== CHANNELS.join(',')) {
    throw new InvalidArgumentError(`${metaPath}: channels ${meta.input.channels.join(',')} differ from this build's ${CHANNELS.join(',')}`);
  }
  if (meta.input.pad !== undefined && !(meta.input.pad <= -1)) throw new InvalidArgumentError(`${metaPath}: input.pad ${meta.input.pad} must lie below every similarity (≤ -1)`);
  if (meta.input.lean && !(meta.input.pad !== undefined && meta.input.pad <= leanMaxPad(meta.channelParams))) {
    throw new InvalidArgumentError(`${metaPath}: a lean graph takes its mask from the padding: input.pad ${meta.input.pad} must be set at or below ${leanMaxPad(meta.channelParams)}`);
  }
  if (!meta.input.valid) throw new InvalidArgumentError(`${metaPath}: input.valid missing (format ${SPD_META_VERSION} takes similarities and valid sizes)`);
  if (!(typeof meta.output?.boxScale === 'number' && meta.output.boxScale > 0)) throw new InvalidArgumentError(`${metaPath}: output.boxScale missing (pre-activation outputs of format ${SPD_META_VERSION})`);
  const tile = meta.inference?.tile;
  if (tile !== undefined && (!(tile > 0) || tile % meta.stride !== 0)) throw new InvalidArgumentError(`${metaPath}: fallback tile ${tile} is not a positive multiple of stride ${meta.stride}`);
  const modelPath = path.join(dir, meta.file);
  if (!existsSync(modelPath)) throw new ModelMissingError('spd-detector', modelPath, hint);
  return { meta, modelPath, dir };
}
