/**
 * Text tokenizers read from a Hugging Face `tokenizer.json`, without dependencies:
 * - byte-level BPE as CLIP uses it (normalizer NFC + whitespace collapse + lowercase, the CLIP split regex,
 *   byte→unicode mapping, `</w>` end-of-word suffix, <|startoftext|> … <|endoftext|>, padded to 77);
 * - BERT WordPiece as Chinese-CLIP uses it (BertNormalizer with CJK character splitting, BertPreTokenizer,
 *   greedy longest-match WordPiece with `##`, [CLS] … [SEP], padded to 52).
 * Only the components those files use are interpreted; anything else is refused with a message naming it,
 * rather than silently producing different ids.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '../../errors.js';

export interface EncodedText {
  /** Token ids with the special tokens, truncated and padded to the requested length. */
  readonly ids: number[];
  /** 1 for real tokens (special ones included), 0 for padding. */
  readonly attentionMask: number[];
  readonly tokenTypeIds: number[];
}

export interface TextTokenizer {
  readonly kind: 'bpe' | 'wordpiece';
  /** Sequence length `encode` pads/truncates to by default (77 for CLIP, 52 for Chinese-CLIP). */
  readonly maxLength: number;
  readonly padId: number;
  /** Model tokens of a text, without special tokens and before truncation. */
  tokenize(text: string): string[];
  /** Ids with special tokens, truncated (the end special token is kept) and padded to `length`. */
  encode(text: string, length?: number): EncodedText;
  idOf(token: string): number | undefined;
}

export interface TokenizerOptions {
  /** Overrides the sequence length (else tokenizer.json's truncation.max_length, else 77 / 52). */
  readonly maxLength?: number;
  /** Overrides the padding id (else tokenizer.json's padding.pad_id, else <|endoftext|> / [PAD]). */
  readonly padId?: number;
}

type Json = Record<string, unknown>;

/** A tokenizer.json using components this module does not implement. */
export class UnsupportedTokenizerError extends InvalidArgumentError {}

function unsupported(source: string, what: string): never {
  throw new UnsupportedTokenizerError(`${source}: unsupported tokenizer.json (${what}); supported are CLIP byte-level BPE and BERT WordPiece`);
}

// ---------- normalizers ----------

type Normalizer = (s: string) => string;

const CJK_RANGES: ReadonlyArray<readonly [number, number]> = [
  [0x4e00, 0x9fff], [0x3400, 0x4dbf], [0x20000, 0x2a6df], [0x2a700, 0x2b73f],
  [0x2b740, 0x2b81f], [0x2b820, 0x2ceaf], [0xf900, 0xfaff], [0x2f800, 0x2fa1f],
];

/** The "Chinese character" ranges of BERT's tokenizer (CJK ideographs; not Hangul, Hiragana or Katakana). */
export function isCjkChar(cp: number): boolean {
  return CJK_RANGES.some(([lo, hi]) => cp >= lo && cp <= hi);
}

const CONTROL = /^[\p{Cc}\p{Cf}]$/u;
const WHITESPACE_CHAR = /^[\s\p{Zs}]$/u;

function stripAccents(s: string): string {
  return s.normalize('NFD').replace(/\p{Mn}/gu, '');
}

function bertNormalizer(o: Json): Normalizer {
  const cleanText = o.clean_text !== false;
  const chinese = o.handle_chinese_chars !== false;
  const lowercase = o.lowercase !== false;
  const strip = o.strip_accents === null || o.strip_accents === undefined ? lowercase : o.strip_accents === true;
  return (text) => {
    let out = '';
    for (const ch of text) {
      const cp = ch.codePointAt(0) as number;
      if (cleanText) {
        if (cp === 0 || cp === 0xfffd) continue;
        if (ch === '\t' || ch === '\n' || ch === '\r' || WHITESPACE_CHAR.test(ch)) {
          out += ' ';
          continue;
        }
        if (CONTROL.test(ch)) continue;
      }
      out += chinese && isCjkChar(cp) ? ` ${ch} ` : ch;
    }
    if (strip) out = stripAccents(out);
    return lowercase ? out.toLowerCase() : out;
  };
}

function compilePattern(source: string, pattern: unknown): RegExp {
  const p = pattern as Json | undefined;
  if (p && typeof p.Regex === 'string') {
    try {
      return new RegExp(p.Regex, 'gu');
    } catch (e) {
      unsupported(source, `regex ${JSON.stringify(p.Regex)} does not compile in JavaScript: ${(e as Error).message}`);
    }
  }
  if (p && typeof p.String === 'string') return new RegExp(p.String.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gu');
  unsupported(source, `pattern ${JSON.stringify(pattern)}`);
}

function buildNormalizer(source: string, n: unknown): Normalizer {
  if (n === null || n === undefined) return (s) => s;
  const o = n as Json;
  switch (o.type) {
    case 'Sequence': {
      const parts = ((o.normalizers as unknown[]) ?? []).map((x) => buildNormalizer(source, x));
      return (s) => parts.reduce((acc, f) => f(acc), s);
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = o.type;
      return (s) => s.normalize(form);
    }
    case 'Lowercase':
      return (s) => s.toLowerCase();
    case 'StripAccents':
      return stripAccents;
    case 'Strip': {
      const left = o.strip_left !== false;
      const right = o.strip_right !== false;
      return (s) => (left && right ? s.trim() : left ? s.trimStart() : right ? s.trimEnd() : s);
    }
    case 'Replace': {
      const re = compilePattern(source, o.pattern);
      const content = String(o.content ?? '');
      return (s) => s.replace(re, () => content);
    }
    case 'BertNormalizer':
      return bertNormalizer(o);
    default:
      unsupported(source, `normalizer ${JSON.stringify(o.type)}`);
  }
}

// ---------- pre-tokenizers ----------

type PreTokenizer = (pieces: string[]) => string[];

/** GPT-2's byte → printable unicode character table (the ByteLevel alphabet). */
export function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) bs.push(b);
  for (let b = 0xa1; b <= 0xac; b++) bs.push(b);
  for (let b = 0xae; b <= 0xff; b++) bs.push(b);
  const table = new Array<string>(256);
  for (const b of bs) table[b] = String.fromCodePoint(b);
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (table[b] === undefined) table[b] = String.fromCodePoint(256 + n++);
  }
  return table;
}

const BYTE_CHARS = bytesToUnicode();
const ENCODER = new TextEncoder();
const GPT2_PATTERN = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function byteLevel(piece: string): string {
  let out = '';
  for (const b of ENCODER.encode(piece)) out += BYTE_CHARS[b];
  return out;
}

/** Splits `s` by the matches of `re` (global): [text, isMatch] runs, empty runs dropped. */
function runs(s: string, re: RegExp): Array<[string, boolean]> {
  const out: Array<[string, boolean]> = [];
  let last = 0;
  for (const m of s.matchAll(re)) {
    const at = m.index as number;
    if (m[0].length === 0) continue;
    if (at > last) out.push([s.slice(last, at), false]);
    out.push([m[0], true]);
    last = at + m[0].length;
  }
  if (last < s.length) out.push([s.slice(last), false]);
  return out;
}

function isPunctuation(ch: string): boolean {
  const cp = ch.codePointAt(0) as number;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) return true;
  return /^\p{P}$/u.test(ch);
}

function bertPreTokenize(piece: string): string[] {
  const out: string[] = [];
  for (const word of piece.split(/\s+/u)) {
    let cur = '';
    for (const ch of word) {
      if (isPunctuation(ch)) {
        if (cur) out.push(cur);
        out.push(ch);
        cur = '';
      } else cur += ch;
    }
    if (cur) out.push(cur);
  }
  return out;
}

function buildPreTokenizer(source: string, p: unknown): PreTokenizer {
  if (p === null || p === undefined) return (pieces) => pieces;
  const o = p as Json;
  switch (o.type) {
    case 'Sequence': {
      const parts = ((o.pretokenizers as unknown[]) ?? []).map((x) => buildPreTokenizer(source, x));
      return (pieces) => parts.reduce((acc, f) => f(acc), pieces);
    }
    case 'Split': {
      const re = compilePattern(source, o.pattern);
      const invert = o.invert === true;
      const behavior = o.behavior;
      if (behavior !== 'Removed' && behavior !== 'Isolated') unsupported(source, `Split behavior ${JSON.stringify(behavior)}`);
      // The "delimiters" are the matches, or with invert the text between them.
      return (pieces) =>
        pieces.flatMap((s) =>
          runs(s, re)
            .filter(([, isMatch]) => behavior === 'Isolated' || isMatch === invert)
            .map(([text]) => text),
        );
    }
    case 'ByteLevel': {
      const prefixSpace = o.add_prefix_space === true;
      const useRegex = o.use_regex !== false;
      return (pieces) =>
        pieces.flatMap((s) => {
          const t = prefixSpace && !s.startsWith(' ') ? ' ' + s : s;
          const parts = useRegex ? (t.match(GPT2_PATTERN) ?? []) : [t];
          return parts.map(byteLevel);
        });
    }
    case 'Whitespace':
      return (pieces) => pieces.flatMap((s) => s.match(/\w+|[^\w\s]+/gu) ?? []);
    case 'WhitespaceSplit':
      return (pieces) => pieces.flatMap((s) => s.split(/\s+/u).filter(Boolean));
    case 'BertPreTokenizer':
      return (pieces) => pieces.flatMap(bertPreTokenize);
    default:
      unsupported(source, `pre_tokenizer ${JSON.stringify(o.type)}`);
  }
}

// ---------- models ----------

type Model = (piece: string) => string[];

function vocabOf(source: string, model: Json): Map<string, number> {
  const v = model.vocab;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) unsupported(source, 'model.vocab is not a token → id object');
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(v as Json)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) unsupported(source, `vocab id of ${JSON.stringify(token)}`);
    vocab.set(token, id);
  }
  return vocab;
}

function bpeModel(source: string, model: Json, vocab: Map<string, number>): Model {
  const suffix = typeof model.end_of_word_suffix === 'string' ? model.end_of_word_suffix : '';
  const prefix = typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '';
  const ignoreMerges = model.ignore_merges === true;
  const ranks = new Map<string, number>();
  const merges = (model.merges as unknown[]) ?? [];
  merges.forEach((m, rank) => {
    const pair = typeof m === 'string' ? m.split(' ') : Array.isArray(m) ? m.map(String) : [];
    if (pair.length !== 2) unsupported(source, `merge ${JSON.stringify(m)}`);
    const key = `${pair[0]} ${pair[1]}`;
    if (!ranks.has(key)) ranks.set(key, rank);
  });
  const join = (a: string, b: string) => a + (prefix && b.startsWith(prefix) ? b.slice(prefix.length) : b);
  const cache = new Map<string, string[]>();
  return (piece) => {
    const cached = cache.get(piece);
    if (cached) return cached;
    if (ignoreMerges && vocab.has(piece + suffix)) return [piece + suffix];
    const chars = Array.from(piece);
    let word = chars.map((c, i) => (i > 0 && prefix ? prefix : '') + c + (i === chars.length - 1 ? suffix : ''));
    while (word.length > 1) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i < word.length - 1; i++) {
        const r = ranks.get(`${word[i]} ${word[i + 1]}`);
        if (r !== undefined && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) break;
      const a = word[best];
      const b = word[best + 1];
      const merged: string[] = [];
      for (let i = 0; i < word.length; i++) {
        if (i < word.length - 1 && word[i] === a && word[i + 1] === b) {
          merged.push(join(a, b));
          i++;
        } else merged.push(word[i]);
      }
      word = merged;
    }
    if (cache.size < 50_000) cache.set(piece, word);
    return word;
  };
}

function wordPieceModel(model: Json, vocab: Map<string, number>, unk: string): Model {
  const prefix = typeof model.continuing_subword_prefix === 'string' ? model.continuing_subword_prefix : '##';
  const maxChars = typeof model.max_input_chars_per_word === 'number' ? model.max_input_chars_per_word : 100;
  return (piece) => {
    const chars = Array.from(piece);
    if (chars.length > maxChars) return [unk];
    const out: string[] = [];
    let start = 0;
    while (start < chars.length) {
      let end = chars.length;
      let found: string | undefined;
      while (start < end) {
        const sub = (start > 0 ? prefix : '') + chars.slice(start, end).join('');
        if (vocab.has(sub)) {
          found = sub;
          break;
        }
        end--;
      }
      if (found === undefined) return [unk];
      out.push(found);
      start = end;
    }
    return out;
  };
}

// ---------- post-processing ----------

interface Template {
  readonly prefix: Array<{ id: number; typeId: number }>;
  readonly suffix: Array<{ id: number; typeId: number }>;
  readonly sequenceTypeId: number;
}

function templateOf(source: string, post: unknown, defaults: () => Template): Template {
  if (post === null || post === undefined) return defaults();
  const o = post as Json;
  switch (o.type) {
    case 'RobertaProcessing':
    case 'BertProcessing': {
      const cls = o.cls as [string, number];
      const sep = o.sep as [string, number];
      if (!Array.isArray(cls) || !Array.isArray(sep)) unsupported(source, `${o.type} without cls/sep`);
      return { prefix: [{ id: cls[1], typeId: 0 }], suffix: [{ id: sep[1], typeId: 0 }], sequenceTypeId: 0 };
    }
    case 'TemplateProcessing': {
      const special = (o.special_tokens ?? {}) as Record<string, { ids?: number[] }>;
      const prefix: Template['prefix'] = [];
      const suffix: Template['suffix'] = [];
      let sequenceTypeId = 0;
      let seen = false;
      for (const item of (o.single as Json[]) ?? []) {
        if (item.Sequence) {
          if (seen) unsupported(source, 'a single template with two sequences');
          seen = true;
          sequenceTypeId = Number((item.Sequence as Json).type_id ?? 0);
        } else if (item.SpecialToken) {
          const st = item.SpecialToken as Json;
          const ids = special[String(st.id)]?.ids;
          if (!ids) unsupported(source, `template special token ${JSON.stringify(st.id)} without ids`);
          for (const id of ids) (seen ? suffix : prefix).push({ id, typeId: Number(st.type_id ?? 0) });
        } else unsupported(source, `template item ${JSON.stringify(item)}`);
      }
      if (!seen) unsupported(source, 'a single template without the sequence');
      return { prefix, suffix, sequenceTypeId };
    }
    case 'ByteLevel':
      return defaults();
    case 'Sequence': {
      const procs = ((o.processors as unknown[]) ?? []).filter((p) => (p as Json).type !== 'ByteLevel');
      if (procs.length > 1) unsupported(source, 'several post-processors that add tokens');
      return procs.length ? templateOf(source, procs[0], defaults) : defaults();
    }
    default:
      unsupported(source, `post_processor ${JSON.stringify(o.type)}`);
  }
}

// ---------- the tokenizer ----------

/** Builds a tokenizer from a parsed tokenizer.json. */
export function createTokenizer(json: unknown, options: TokenizerOptions = {}, source = 'tokenizer.json'): TextTokenizer {
  if (typeof json !== 'object' || json === null) unsupported(source, 'not a JSON object');
  const root = json as Json;
  const model = (root.model ?? {}) as Json;
  const type = model.type ?? (model.merges ? 'BPE' : undefined);
  if (type !== 'BPE' && type !== 'WordPiece') unsupported(source, `model.type ${JSON.stringify(model.type)}`);
  const kind = type === 'BPE' ? 'bpe' : 'wordpiece';
  const vocab = vocabOf(source, model);
  const added = ((root.added_tokens as Json[]) ?? []).filter((t) => typeof t.content === 'string' && typeof t.id === 'number');
  for (const t of added) if (!vocab.has(t.content as string)) vocab.set(t.content as string, t.id as number);

  const normalize = buildNormalizer(source, root.normalizer);
  const preTokenize = buildPreTokenizer(source, root.pre_tokenizer);
  const unkToken = typeof model.unk_token === 'string' ? model.unk_token : kind === 'wordpiece' ? '[UNK]' : undefined;
  const unkId = unkToken === undefined ? undefined : vocab.get(unkToken);
  if (kind === 'wordpiece' && unkId === undefined) unsupported(source, `WordPiece unk_token ${JSON.stringify(unkToken)} not in the vocab`);
  const toTokens: Model = kind === 'bpe' ? bpeModel(source, model, vocab) : wordPieceModel(model, vocab, unkToken as string);

  const need = (token: string): number => {
    const id = vocab.get(token);
    if (id === undefined) unsupported(source, `no post_processor and no ${token} token`);
    return id;
  };
  const template = templateOf(source, root.post_processor, () =>
    kind === 'bpe'
      ? { prefix: [{ id: need('<|startoftext|>'), typeId: 0 }], suffix: [{ id: need('<|endoftext|>'), typeId: 0 }], sequenceTypeId: 0 }
      : { prefix: [{ id: need('[CLS]'), typeId: 0 }], suffix: [{ id: need('[SEP]'), typeId: 0 }], sequenceTypeId: 0 },
  );

  const truncation = root.truncation as Json | null | undefined;
  const padding = root.padding as Json | null | undefined;
  const maxLength = options.maxLength ?? (typeof truncation?.max_length === 'number' ? truncation.max_length : kind === 'bpe' ? 77 : 52);
  if (!Number.isInteger(maxLength) || maxLength < template.prefix.length + template.suffix.length + 1) {
    throw new InvalidArgumentError(`${source}: max length ${maxLength} is too small`);
  }
  const padId =
    options.padId ??
    (typeof padding?.pad_id === 'number'
      ? padding.pad_id
      : kind === 'bpe'
        ? (vocab.get('<|endoftext|>') ?? 0)
        : (vocab.get('[PAD]') ?? 0));

  // Added tokens are matched in the raw text, longest first, and map straight to their ids.
  const addedContents = added.map((t) => t.content as string).sort((a, b) => b.length - a.length);
  const addedRe = addedContents.length
    ? new RegExp(addedContents.map((c) => c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gu')
    : undefined;

  function idsOf(text: string): { tokens: string[]; ids: number[] } {
    const tokens: string[] = [];
    const ids: number[] = [];
    const segments = addedRe ? runs(text, addedRe) : [[text, false] as [string, boolean]];
    for (const [segment, isAdded] of segments) {
      if (isAdded) {
        tokens.push(segment);
        ids.push(vocab.get(segment) as number);
        continue;
      }
      for (const piece of preTokenize([normalize(segment)])) {
        for (const token of toTokens(piece)) {
          const id = vocab.get(token);
          if (id !== undefined) {
            tokens.push(token);
            ids.push(id);
          } else if (unkId !== undefined) {
            tokens.push(unkToken as string);
            ids.push(unkId);
          } else {
            throw new InvalidArgumentError(`${source}: token ${JSON.stringify(token)} is not in the vocabulary and there is no unk_token`);
          }
        }
      }
    }
    return { tokens, ids };
  }

  return {
    kind,
    maxLength,
    padId,
    tokenize: (text) => idsOf(text).tokens,
    idOf: (token) => vocab.get(token),
    encode(text, length = maxLength) {
      const room = length - template.prefix.length - template.suffix.length;
      if (room < 1) throw new InvalidArgumentError(`sequence length ${length} leaves no room for text`);
      const body = idsOf(text).ids.slice(0, room);
      const ids = [...template.prefix.map((t) => t.id), ...body, ...template.suffix.map((t) => t.id)];
      const tokenTypeIds = [...template.prefix.map((t) => t.typeId), ...body.map(() => template.sequenceTypeId), ...template.suffix.map((t) => t.typeId)];
      const attentionMask = ids.map(() => 1);
      while (ids.length < length) {
        ids.push(padId);
        attentionMask.push(0);
        tokenTypeIds.push(0);
      }
      return { ids, attentionMask, tokenTypeIds };
    },
  };
}

/** Reads and builds a tokenizer from a tokenizer.json file. */
export function loadTokenizer(file: string, options: TokenizerOptions = {}): TextTokenizer {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InvalidArgumentError(`${file}: cannot read tokenizer (${(e as Error).message})`);
  }
  return createTokenizer(json, options, file);
}
