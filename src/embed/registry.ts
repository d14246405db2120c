import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, ModelMissingError } from '../errors.js';

/** One entry of models/models.json: what an encoder file expects and returns. */
export interface ModelSpec {
  readonly id: string;
  readonly version: string;
  /**
   * 'onnx-image' (default): one ONNX image model with its normalisation baked in, described by the fields below.
   * 'clip': a Hugging Face/transformers.js CLIP folder (`dir`), loaded by src/embed/clip/; for those, `file` is the
   * folder's onnx/vision_model.onnx and the pixel fields are informative only (preprocessor_config.json rules).
   */
  readonly kind?: 'onnx-image' | 'clip';
  /** Folder of a folder-based model (kind 'clip'), relative to the models folder. */
  readonly dir?: string;
  /** Path of the ONNX file relative to the models folder. */
  readonly file: string;
  readonly input: string;
  readonly inputSize: number;
  readonly layout: 'NHWC' | 'NCHW';
  /** Pixel range the graph expects at its input; normalisation is baked into the graph. */
  readonly range: [number, number];
  readonly outputs: { readonly embedding: string; readonly featureMap?: string };
  readonly dim: number;
  readonly sha256?: string;
  /**
   * Similarity scales differ between encoders, so the classical matching parameters tuned for this
   * encoder on the dev benchmark live with it (defaults in src/match/matcher.ts).
   */
  readonly match?: ModelMatchTuning;
}

export interface ModelMatchTuning {
  readonly voteFloor?: number;
  readonly tn?: { readonly minSimilarity?: number; readonly threshold?: number };
  readonly dp?: { readonly bias?: number; readonly threshold?: number };
}

export interface ResolvedModel extends ModelSpec {
  readonly absolutePath: string;
  /** `id@version/dim`: what the store records and compares. */
  readonly fingerprint: string;
}

export function readRegistry(modelsDir: string): ModelSpec[] {
  const file = path.join(modelsDir, 'models.json');
  if (!existsSync(file)) throw new ModelMissingError('models.json', file);
  return JSON.parse(readFileSync(file, 'utf8')) as ModelSpec[];
}

export function modelFingerprint(spec: Pick<ModelSpec, 'id' | 'version' | 'dim'>): string {
  return `${spec.id}@${spec.version}/${spec.dim}`;
}

/** Finds a model by id and checks that its file is present. */
export function resolveModel(modelsDir: string, id: string): ResolvedModel {
  const registry = readRegistry(modelsDir);
  const spec = registry.find((m) => m.id === id);
  if (!spec) {
    throw new InvalidArgumentError(`unknown model "${id}"; known: ${registry.map((m) => m.id).join(', ')}`);
  }
  const absolutePath = path.resolve(modelsDir, spec.file);
  if (!existsSync(absolutePath)) {
    throw new ModelMissingError(id, absolutePath, spec.kind === 'clip' ? 'run `npm run models:clip` (needs the internet) or place the export there by hand (docs/clip.md)' : undefined);
  }
  return { ...spec, absolutePath, fingerprint: modelFingerprint(spec) };
}
