import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, ModelMissingError } from '../errors.js';
import { CHANNELS, type ChannelParams } from './channels.js';

/** Post-processing of the detector output (tuned on dev-generated training-seed data only). */
export interface SpdInferenceOptions {
  /** Step between tiles (tile - overlap). */
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
  /** …or this fraction when the box is cut by its tile border. */
  cutContainment: number;
  /** Cross-tile fusion: largest gap (cells) between two pieces of one band. */
  fuseGap: number;
  /** Cross-tile fusion: largest distance (cells) of a piece's diagonal from the fused diagonal… */
  fuseTolerance: number;
  /** …plus this fraction of the fused box's diagonal length. */
  fuseRelTolerance: number;
  /** Cross-tile fusion: raw score below which a box takes no part. */
  fuseMinScore: number;
  /** Also fuse collinear fragments of one band decoded from the same tile. */
  fuseSameTile: boolean;
  maxSegments: number;
  /** Tiles per onnxruntime call. */
  batch: number;
}

/** models/spd-detector/meta.json, written by scripts/detector/train_detector.py and tune.ts. */
export interface SpdMeta {
  format: 'vidtrace-spd-detector';
  version: number;
  file: string;
  sha256?: string;
  input: { name: string; channels: string[] };
  output: { name: string };
  tile: number;
  /** Cells per output location. */
  stride: number;
  channelParams: ChannelParams;
  inference: Partial<SpdInferenceOptions>;
  /** Calibrated score = sigmoid(a · logit(raw) + c · diagonal similarity + b). */
  calibration: { kind: 'platt'; a: number; b: number; c?: number; fitted?: boolean };
  /** Calibrated-score decision threshold. */
  threshold: number;
  encoder: { fingerprint: string; fps: number };
  [extra: string]: unknown;
}

export const SPD_DIR = 'spd-detector';
export const DEFAULT_INFERENCE: SpdInferenceOptions = {
  tileStride: 32,
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
  fuseSameTile: true,
  maxSegments: 5,
  batch: 64,
};

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
  if (meta.input.channels.join(',') !== CHANNELS.join(',')) {
    throw new InvalidArgumentError(`${metaPath}: channels ${meta.input.channels.join(',')} differ from this build's ${CHANNELS.join(',')}`);
  }
  if (meta.tile % meta.stride !== 0) throw new InvalidArgumentError(`${metaPath}: tile ${meta.tile} is not a multiple of stride ${meta.stride}`);
  const modelPath = path.join(dir, meta.file);
  if (!existsSync(modelPath)) throw new ModelMissingError('spd-detector', modelPath, hint);
  return { meta, modelPath, dir };
}
