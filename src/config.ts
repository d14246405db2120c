import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError } from './errors.js';

/** Repository root (where models/ lives), whether running from src/ via tsx or from dist/. */
export const PROJECT_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/**
 * The default frame encoder (models/models.json): MobileNetV2 behind a border crop, its last stage
 * fine-tuned SSCD-style on copy-augmented views, GeM fused with a flip-invariant luma thumbnail and a
 * learned whitening to 256-d (see models/mnv2bc-ftfused25-lw256/card.md and docs/frame-features.md
 * for the frame benchmark and the copy benchmark that chose it over mnv2bc-fused-lw256).
 */
export const DEFAULT_MODEL_ID = 'mnv2bc-ftfused25-lw256';

export interface Config {
  /** Folder holding one library: embedded database, Faiss index, thumbnails. */
  readonly storeDir: string;
  /** When set, PostgreSQL is used instead of the embedded database. */
  readonly databaseUrl: string | undefined;
  /** When set, BullMQ on this Redis runs jobs instead of the in-process runner. */
  readonly redisUrl: string | undefined;
  /** Frames sampled per second of video. */
  readonly sampleFps: number;
  /** Encoder id from models/models.json. */
  readonly modelId: string;
  /** Folder containing models.json and model files. */
  readonly modelsDir: string;
  /** Threads onnxruntime may use. */
  readonly threads: number;
}

export interface ConfigOverrides {
  storeDir?: string;
  sampleFps?: number;
  modelId?: string;
}

function positiveNumber(name: string, raw: string | number | undefined, fallback: number): number {
  if (raw === undefined || raw === '') return fallback;
  const value = typeof raw === 'number' ? raw : Number(raw);
  if (!Number.isFinite(value) || value <= 0) throw new InvalidArgumentError(`${name} must be a positive number, got "${raw}"`);
  return value;
}

/** Parses the environment (and CLI overrides) once into a frozen, typed configuration. */
export function loadConfig(overrides: ConfigOverrides = {}, env: NodeJS.ProcessEnv = process.env): Config {
  return Object.freeze({
    storeDir: path.resolve(overrides.storeDir ?? env.VIDTRACE_STORE ?? './vidtrace-data'),
    databaseUrl: env.DATABASE_URL || undefined,
    redisUrl: env.REDIS_URL || undefined,
    sampleFps: positiveNumber('sample fps', overrides.sampleFps ?? env.VIDTRACE_FPS, 1),
    modelId: overrides.modelId ?? env.VIDTRACE_MODEL ?? DEFAULT_MODEL_ID,
    modelsDir: path.resolve(env.VIDTRACE_MODELS_DIR ?? path.join(PROJECT_ROOT, 'models')),
    threads: positiveNumber('VIDTRACE_THREADS', env.VIDTRACE_THREADS, 2),
  });
}
