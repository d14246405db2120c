/** Where a CLIP model folder (Hugging Face / transformers.js layout) lives and whether it is complete. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { InvalidArgumentError, ModelMissingError } from '../../errors.js';
import { modelFingerprint, readRegistry, type ModelSpec, type ResolvedModel } from '../registry.js';

export const CLIP_HINT = 'run `npm run models:clip` to download it, or place the files by hand (docs/clip.md)';

/** The files of a transformers.js CLIP export, as absolute paths. */
export interface ClipFiles {
  readonly dir: string;
  readonly vision: string;
  readonly text: string;
  readonly tokenizer: string;
  readonly preprocessor: string;
}

export function clipFiles(dir: string): ClipFiles {
  const abs = path.resolve(dir);
  return {
    dir: abs,
    vision: path.join(abs, 'onnx', 'vision_model.onnx'),
    text: path.join(abs, 'onnx', 'text_model.onnx'),
    tokenizer: path.join(abs, 'tokenizer.json'),
    preprocessor: path.join(abs, 'preprocessor_config.json'),
  };
}

/** Throws ModelMissingError naming the folder when it is absent, else the first missing file. */
export function checkClipFiles(id: string, files: ClipFiles): void {
  if (!existsSync(files.dir)) throw new ModelMissingError(id, files.dir, CLIP_HINT);
  for (const file of [files.vision, files.text, files.tokenizer, files.preprocessor]) {
    if (!existsSync(file)) throw new ModelMissingError(id, file, CLIP_HINT);
  }
}

export interface ResolvedClipModel extends ResolvedModel {
  readonly kind: 'clip';
  readonly files: ClipFiles;
}

/** The folder of a registry entry of kind 'clip': `dir`, else the folder two levels above `file`. */
export function clipDir(modelsDir: string, spec: ModelSpec): string {
  return path.resolve(modelsDir, spec.dir ?? path.dirname(path.dirname(spec.file)));
}

/** Finds a CLIP model of models/models.json by id and checks that its four files are present. */
export function resolveClipModel(modelsDir: string, id: string): ResolvedClipModel {
  const registry = readRegistry(modelsDir);
  const spec = registry.find((m) => m.id === id);
  if (!spec) throw new InvalidArgumentError(`unknown model "${id}"; known: ${registry.map((m) => m.id).join(', ')}`);
  if (spec.kind !== 'clip') throw new InvalidArgumentError(`model "${id}" is not a CLIP model (kind ${spec.kind ?? 'onnx-image'})`);
  const files = clipFiles(clipDir(modelsDir, spec));
  checkClipFiles(id, files);
  return { ...spec, kind: 'clip', absolutePath: files.vision, fingerprint: modelFingerprint(spec), files };
}
