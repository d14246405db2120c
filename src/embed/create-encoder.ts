/** One entry point for every kind of frame encoder of models/models.json. */
import { createClipEncoders } from './clip/clip-encoder.js';
import { clipDir, resolveClipModel } from './clip/resolve.js';
import { createFrameEncoder, type FrameEncoder } from './onnx-encoder.js';
import { readRegistry, resolveModel, type ResolvedModel } from './registry.js';

/**
 * The frame encoder of a resolved registry entry: a single-file ONNX image model, or the image side of a CLIP
 * folder (kind 'clip': decode with the encoder's `fit`, 'cover' for OpenAI CLIP). Closing it releases everything
 * it opened. A CLIP folder with missing files → ModelMissingError with the `npm run models:clip` hint.
 */
export async function createEncoder(model: ResolvedModel, modelsDir: string, threads = 2): Promise<FrameEncoder> {
  if (model.kind !== 'clip') return createFrameEncoder(model, threads);
  const clip = await createClipEncoders(clipDir(modelsDir, model), threads, { model });
  return { ...clip.image, close: () => clip.close() };
}

/** The frame encoder of registry entry `id`, whatever its kind. */
export async function createEncoderForModel(modelsDir: string, id: string, threads = 2): Promise<FrameEncoder> {
  const spec = readRegistry(modelsDir).find((m) => m.id === id);
  const model = spec?.kind === 'clip' ? resolveClipModel(modelsDir, id) : resolveModel(modelsDir, id);
  return createEncoder(model, modelsDir, threads);
}
