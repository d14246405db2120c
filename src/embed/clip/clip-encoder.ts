/**
 * CLIP image and text encoders over a Hugging Face / transformers.js export folder:
 *   onnx/vision_model.onnx   pixel_values float32 [N,3,H,W] → image_embeds [N,D]
 *   onnx/text_model.onnx     input_ids int64 [N,L] (+ attention_mask, token_type_ids…) → text_embeds [N,D]
 *   tokenizer.json, preprocessor_config.json
 * Input and output names are discovered from the sessions (transformers.js names first, then common variants);
 * outputs are L2-normalised so image and text vectors compare by dot product.
 */
import path from 'node:path';
import type { Frame } from '../../decode/frames.js';
import { InvalidArgumentError } from '../../errors.js';
import { createOnnxSession, floatTensor, intTensor, type OnnxSession, type OnnxTensor } from '../onnx.js';
import { ENCODER_BATCH, type FrameEncoder } from '../onnx-encoder.js';
import { modelFingerprint, type ResolvedModel } from '../registry.js';
import { l2normalize } from '../vector-math.js';
import { framesToPixelValues, frameGeometry, readPreprocessorConfig, type ClipImageParams, type FrameGeometry } from './preprocess.js';
import { checkClipFiles, clipFiles, type ClipFiles } from './resolve.js';
import { loadTokenizer, type TextTokenizer } from './tokenizer.js';

export interface ClipTextEncoder {
  readonly dim: number;
  readonly tokenizer: TextTokenizer;
  /** L2-normalised embeddings, one per text, in order. Loads the text model on first use. */
  embed(texts: readonly string[]): Promise<Float32Array[]>;
}

export interface ClipEncoders {
  /** Frame encoder for the library: decode with `fit` at `inputSize`. */
  readonly image: FrameEncoder;
  readonly text: ClipTextEncoder;
  readonly params: ClipImageParams;
  readonly geometry: FrameGeometry;
  readonly files: ClipFiles;
  /** Releases both sessions. */
  close(): Promise<void>;
}

export interface ClipEncoderOptions {
  /** Registry identity of the folder (its fingerprint goes into stores); its dim must match the model's. */
  readonly model?: ResolvedModel;
  /** Id for messages when no registry entry is given (default: the folder name). */
  readonly id?: string;
}

const TEXT_BATCH = 32;

const VISION_INPUTS = ['pixel_values', 'pixel_value', 'images', 'image', 'input', 'x'];
const VISION_OUTPUTS = ['image_embeds', 'image_embeddings', 'image_features', 'image_embed', 'embeds', 'embeddings', 'output'];
const TEXT_IDS = ['input_ids', 'ids', 'token_ids', 'tokens', 'text', 'input'];
const TEXT_MASK = ['attention_mask', 'mask', 'input_mask'];
const TEXT_TYPES = ['token_type_ids', 'segment_ids'];
const TEXT_POSITIONS = ['position_ids'];
const TEXT_OUTPUTS = ['text_embeds', 'text_embeddings', 'text_features', 'text_embed', 'sentence_embedding', 'embeds', 'embeddings', 'output'];

interface ValueInfo {
  readonly name: string;
  readonly type?: string;
  /** Numbers for fixed dimensions, strings or -1 for symbolic ones; undefined when unknown. */
  readonly shape?: ReadonlyArray<number | string>;
}

function metadata(session: OnnxSession, which: 'input' | 'output'): ValueInfo[] {
  const names = which === 'input' ? session.inputNames : session.outputNames;
  let meta: ReadonlyArray<{ name: string; isTensor: boolean; type?: string; shape?: ReadonlyArray<number | string> }> = [];
  try {
    meta = (which === 'input' ? session.inputMetadata : session.outputMetadata) ?? [];
  } catch {
    meta = [];
  }
  return names.map((name) => {
    const m = meta.find((x) => x.name === name);
    return m && m.isTensor ? { name, type: m.type, shape: m.shape } : { name };
  });
}

function pick(values: readonly ValueInfo[], candidates: readonly string[]): ValueInfo | undefined {
  for (const c of candidates) {
    const hit = values.find((v) => v.name.toLowerCase() === c);
    if (hit) return hit;
  }
  return undefined;
}

function fixed(d: number | string | undefined): number | undefined {
  return typeof d === 'number' && d > 0 ? d : undefined;
}

/** The embedding output: a known name, else the only rank-2 (or only) output. */
function pickOutput(file: string, outputs: readonly ValueInfo[], candidates: readonly string[]): ValueInfo {
  const named = pick(outputs, candidates);
  if (named) return named;
  if (outputs.length === 1) return outputs[0];
  const rank2 = outputs.filter((o) => o.shape?.length === 2);
  if (rank2.length === 1) return rank2[0];
  throw new InvalidArgumentError(`${file}: cannot tell which output is the embedding among ${outputs.map((o) => o.name).join(', ')}`);
}

function requireFloat32(file: string, v: ValueInfo): void {
  if (v.type && v.type !== 'float32') {
    throw new InvalidArgumentError(`${file}: ${v.name} is ${v.type}; only float32 exports are supported (not the fp16/quantized variants with ${v.type} I/O)`);
  }
}

type IntType = 'int64' | 'int32';

function intType(file: string, v: ValueInfo): IntType {
  if (!v.type || v.type === 'int64') return 'int64';
  if (v.type === 'int32') return 'int32';
  throw new InvalidArgumentError(`${file}: text input ${v.name} is ${v.type}, expected int64 or int32`);
}

/** Rows of a [N, D] float32 output, L2-normalised. */
function rows(file: string, tensor: OnnxTensor, n: number): Float32Array[] {
  if (!(tensor.data instanceof Float32Array)) throw new InvalidArgumentError(`${file}: output is ${tensor.type}, expected float32`);
  const flat = tensor.data;
  if (tensor.dims.length !== 2 || tensor.dims[0] !== n) {
    throw new InvalidArgumentError(`${file}: output has shape [${tensor.dims.join(', ')}], expected [${n}, D]`);
  }
  const dim = tensor.dims[1];
  const out: Float32Array[] = [];
  for (let b = 0; b < n; b++) out.push(l2normalize(flat.slice(b * dim, (b + 1) * dim)));
  return out;
}

interface VisionModel {
  readonly session: OnnxSession;
  readonly input: string;
  readonly output: string;
  readonly dim: number;
}

async function openVision(files: ClipFiles, geometry: FrameGeometry, threads: number): Promise<VisionModel> {
  const file = files.vision;
  const session = await createOnnxSession(file, threads);
  try {
    const inputs = metadata(session, 'input');
    const input = inputs.length === 1 ? inputs[0] : pick(inputs, VISION_INPUTS);
    if (!input) throw new InvalidArgumentError(`${file}: cannot tell the image input among ${inputs.map((i) => i.name).join(', ')}`);
    requireFloat32(file, input);
    if (input.shape && input.shape.length !== 4) throw new InvalidArgumentError(`${file}: ${input.name} has rank ${input.shape.length}, expected [N,3,H,W]`);
    const [, c, h, w] = input.shape ?? [];
    if ((fixed(c) ?? 3) !== 3 || (fixed(h) ?? geometry.cropHeight) !== geometry.cropHeight || (fixed(w) ?? geometry.cropWidth) !== geometry.cropWidth) {
      throw new InvalidArgumentError(
        `${file}: ${input.name} is [${input.shape?.join(', ')}] but preprocessor_config.json gives 3x${geometry.cropHeight}x${geometry.cropWidth}`,
      );
    }
    const output = pickOutput(file, metadata(session, 'output'), VISION_OUTPUTS);
    requireFloat32(file, output);
    let dim = fixed(output.shape?.[output.shape.length - 1]);
    if (output.shape && output.shape.length !== 2) throw new InvalidArgumentError(`${file}: ${output.name} has rank ${output.shape.length}, expected [N, D]`);
    if (dim === undefined) {
      // Symbolic embedding size: ask the model once.
      const probe = floatTensor(new Float32Array(3 * geometry.cropHeight * geometry.cropWidth), [1, 3, geometry.cropHeight, geometry.cropWidth]);
      const out = await session.run({ [input.name]: probe }, [output.name]);
      dim = out[output.name].dims[1];
    }
    return { session, input: input.name, output: output.name, dim };
  } catch (e) {
    await session.release().catch(() => {});
    throw e;
  }
}

interface TextModel {
  readonly session: OnnxSession;
  readonly ids: ValueInfo;
  readonly mask?: ValueInfo;
  readonly types?: ValueInfo;
  readonly positions?: ValueInfo;
  readonly output: string;
  readonly length: number;
}

async function openText(files: ClipFiles, tokenizer: TextTokenizer, dim: number, threads: number): Promise<TextModel> {
  const file = files.text;
  const session = await createOnnxSession(file, threads);
  try {
    const inputs = metadata(session, 'input');
    const ids = inputs.length === 1 ? inputs[0] : pick(inputs, TEXT_IDS);
    if (!ids) throw new InvalidArgumentError(`${file}: cannot tell the token-ids input among ${inputs.map((i) => i.name).join(', ')}`);
    const mask = pick(inputs, TEXT_MASK);
    const types = pick(inputs, TEXT_TYPES);
    const positions = pick(inputs, TEXT_POSITIONS);
    const known = new Set([ids, mask, types, positions].filter(Boolean).map((v) => (v as ValueInfo).name));
    const unknown = inputs.filter((i) => !known.has(i.name));
    if (unknown.length) throw new InvalidArgumentError(`${file}: text model inputs not understood: ${unknown.map((i) => i.name).join(', ')}`);
    for (const v of [ids, mask, types, positions]) if (v) intType(file, v);
    const output = pickOutput(file, metadata(session, 'output'), TEXT_OUTPUTS);
    requireFloat32(file, output);
    const outDim = fixed(output.shape?.[output.shape.length - 1]);
    if (outDim !== undefined && outDim !== dim) {
      throw new InvalidArgumentError(`${file}: text embeddings have ${outDim} dimensions but image embeddings ${dim}`);
    }
    // A fixed sequence length in the graph wins over the tokenizer's.
    const length = fixed(ids.shape?.[1]) ?? tokenizer.maxLength;
    return { session, ids, mask, types, positions, output: output.name, length };
  } catch (e) {
    await session.release().catch(() => {});
    throw e;
  }
}

/**
 * Loads a CLIP folder. Missing files → ModelMissingError (hint: `npm run models:clip`); unsupported
 * preprocessing or tokenizer → InvalidArgumentError. The text model is opened on the first text query.
 */
export async function createClipEncoders(dir: string, threads = 2, options: ClipEncoderOptions = {}): Promise<ClipEncoders> {
  const files = clipFiles(dir);
  const id = options.model?.id ?? options.id ?? path.basename(files.dir);
  checkClipFiles(id, files);
  const params = readPreprocessorConfig(files.preprocessor);
  const geometry = frameGeometry(params, files.preprocessor);
  const tokenizer = loadTokenizer(files.tokenizer);
  const vision = await openVision(files, geometry, threads);
  const dim = vision.dim;
  if (options.model && options.model.dim !== dim) {
    await vision.session.release().catch(() => {});
    throw new InvalidArgumentError(`model ${id}: the registry says ${options.model.dim} dimensions but ${files.vision} gives ${dim}`);
  }
  const model: ResolvedModel = options.model ?? {
    id,
    version: 'local',
    kind: 'clip',
    dir: files.dir,
    file: files.vision,
    input: vision.input,
    inputSize: geometry.size,
    layout: 'NCHW',
    range: [0, 1],
    outputs: { embedding: vision.output },
    dim,
    absolutePath: files.vision,
    fingerprint: modelFingerprint({ id, version: 'local', dim }),
  };

  let visionOpen = true;
  async function embedFrames(frames: readonly Frame[]): Promise<Float32Array[]> {
    const data = framesToPixelValues(frames, params, geometry);
    const input = floatTensor(data, [frames.length, 3, geometry.cropHeight, geometry.cropWidth]);
    const out = await vision.session.run({ [vision.input]: input }, [vision.output]);
    const tensor = out[vision.output];
    const result = rows(files.vision, tensor, frames.length);
    input.dispose?.();
    tensor.dispose?.();
    return result;
  }

  const image: FrameEncoder = {
    model,
    dim,
    inputSize: geometry.size,
    fit: geometry.fit,
    async embed(frames) {
      const vectors: Float32Array[] = [];
      for (let i = 0; i < frames.length; i += ENCODER_BATCH) vectors.push(...(await embedFrames(frames.slice(i, i + ENCODER_BATCH))));
      return vectors;
    },
    async close() {
      if (!visionOpen) return;
      visionOpen = false;
      await vision.session.release();
    },
  };

  let textPromise: Promise<TextModel> | undefined;
  let closed = false;
  async function embedTexts(t: TextModel, texts: readonly string[]): Promise<Float32Array[]> {
    const n = texts.length;
    const encoded = texts.map((s) => tokenizer.encode(s, t.length));
    const dims = [n, t.length];
    const feeds: Record<string, OnnxTensor> = {};
    feeds[t.ids.name] = intTensor(intType(files.text, t.ids), encoded.flatMap((e) => e.ids), dims);
    if (t.mask) feeds[t.mask.name] = intTensor(intType(files.text, t.mask), encoded.flatMap((e) => e.attentionMask), dims);
    if (t.types) feeds[t.types.name] = intTensor(intType(files.text, t.types), encoded.flatMap((e) => e.tokenTypeIds), dims);
    if (t.positions) {
      const pos = Array.from({ length: t.length }, (_, i) => i);
      feeds[t.positions.name] = intTensor(intType(files.text, t.positions), encoded.flatMap(() => pos), dims);
    }
    const out = await t.session.run(feeds, [t.output]);
    const tensor = out[t.output];
    const result = rows(files.text, tensor, n);
    if (result.length && result[0].length !== dim) {
      throw new InvalidArgumentError(`${files.text}: text embeddings have ${result[0].length} dimensions but image embeddings ${dim}`);
    }
    for (const v of Object.values(feeds)) v.dispose?.();
    tensor.dispose?.();
    return result;
  }

  const text: ClipTextEncoder = {
    dim,
    tokenizer,
    async embed(texts) {
      if (closed) throw new InvalidArgumentError(`CLIP encoder ${id} is closed`);
      if (texts.length === 0) return [];
      textPromise ??= openText(files, tokenizer, dim, threads).catch((e: unknown) => {
        textPromise = undefined;
        throw e;
      });
      const t = await textPromise;
      const vectors: Float32Array[] = [];
      for (let i = 0; i < texts.length; i += TEXT_BATCH) vectors.push(...(await embedTexts(t, texts.slice(i, i + TEXT_BATCH))));
      return vectors;
    },
  };

  return {
    image,
    text,
    params,
    geometry,
    files,
    async close() {
      closed = true;
      await image.close();
      if (textPromise) {
        const t = await textPromise.catch(() => undefined);
        textPromise = undefined;
        await t?.session.release();
      }
    },
  };
}
