import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InvalidArgumentError } from '../../errors.js';
import { UnsupportedTokenizerError, bytesToUnicode, createTokenizer } from './tokenizer.js';

const BOS = 49406;
const EOS = 49407;

/**
 * A small CLIP tokenizer.json in the Hugging Face format. Ids 0-511 are CLIP's own byte tokens (byte char,
 * then byte char + </w>); the merges build "photo", "of", "cat", "dog" and "the", whose final tokens carry
 * their real CLIP ids, so "a photo of a cat" must give the ids the real tokenizer gives.
 */
function clipJson(mergesAsPairs = false): Record<string, unknown> {
  // CLIP's vocabulary order: the printable bytes ! … ~, ¡ … ¬, ® … ÿ first, then the other 68 bytes.
  const table = bytesToUnicode();
  const printable = (b: number) => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  const bytes = Array.from({ length: 256 }, (_, b) => b);
  const chars = [...bytes.filter(printable), ...bytes.filter((b) => !printable(b))].map((b) => table[b]);
  const vocab: Record<string, number> = {};
  chars.forEach((c, i) => {
    vocab[c] = i;
    vocab[c + '</w>'] = 256 + i;
  });
  const merges: Array<[string, string, number]> = [
    ['h', 'o', 600],
    ['t', 'o</w>', 601],
    ['p', 'ho', 602],
    ['pho', 'to</w>', 1125],
    ['o', 'f</w>', 539],
    ['a', 't</w>', 603],
    ['c', 'at</w>', 2368],
    ['o', 'g</w>', 604],
    ['d', 'og</w>', 1929],
    ['t', 'h', 605],
    ['th', 'e</w>', 606],
  ];
  for (const [a, b, id] of merges) vocab[a + b] = id;
  vocab['<|startoftext|>'] = BOS;
  vocab['<|endoftext|>'] = EOS;
  const special = (content: string, id: number) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special('<|startoftext|>', BOS), special('<|endoftext|>', EOS)],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: { Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+" },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: { type: 'RobertaProcessing', sep: ['<|endoftext|>', EOS], cls: ['<|startoftext|>', BOS], trim_offsets: false, add_prefix_space: false },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<|endoftext|>',
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      vocab,
      merges: merges.map(([a, b]) => (mergesAsPairs ? [a, b] : `${a} ${b}`)),
    },
  };
}

/** A small BERT WordPiece tokenizer.json as Chinese-CLIP's (specials at the ids of chinese-roberta-wwm-ext). */
function wordPieceJson(withPostProcessor = true): Record<string, unknown> {
  const vocab: Record<string, number> = { '[PAD]': 0, '[UNK]': 100, '[CLS]': 101, '[SEP]': 102, '[MASK]': 103 };
  for (let i = 1; i < 100; i++) vocab[`[unused${i}]`] = i;
  ['一', '只', '猫', '狗', '的', '照', '片', 'a', 'photo', 'of', 'cat', 'dog', 'pho', '##to', '##s', ',', '!', '。', '，', '！', 'cafe', '##b'].forEach(
    (t, i) => (vocab[t] = 104 + i),
  );
  const special = (content: string) => ({ id: vocab[content], content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'].map(special),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: withPostProcessor
      ? {
          type: 'TemplateProcessing',
          single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }, { SpecialToken: { id: '[SEP]', type_id: 0 } }],
          pair: [],
          special_tokens: {
            '[CLS]': { id: '[CLS]', ids: [101], tokens: ['[CLS]'] },
            '[SEP]': { id: '[SEP]', ids: [102], tokens: ['[SEP]'] },
          },
        }
      : null,
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  };
}

const unpadded = (ids: number[], mask: number[]) => ids.filter((_, i) => mask[i] === 1);

test('CLIP: "a photo of a cat" gives the real CLIP ids, padded to 77 with <|endoftext|>', () => {
  const tok = createTokenizer(clipJson());
  assert.equal(tok.kind, 'bpe');
  assert.equal(tok.maxLength, 77);
  assert.equal(tok.padId, EOS);
  const e = tok.encode('a photo of a cat');
  assert.equal(e.ids.length, 77);
  assert.deepEqual(e.ids.slice(0, 7), [49406, 320, 1125, 539, 320, 2368, 49407]);
  assert.ok(e.ids.slice(7).every((id) => id === EOS));
  assert.deepEqual(e.attentionMask, [...Array(7).fill(1), ...Array(70).fill(0)]);
  assert.ok(e.tokenTypeIds.every((t) => t === 0));
  assert.deepEqual(tok.tokenize('a photo of a cat'), ['a</w>', 'photo</w>', 'of</w>', 'a</w>', 'cat</w>']);
});

test('CLIP: case and runs of whitespace are normalised away', () => {
  const tok = createTokenizer(clipJson());
  const e = tok.encode('  A \t PHOTO\n\nOf  a Dog ');
  assert.deepEqual(unpadded(e.ids, e.attentionMask), [49406, 320, 1125, 539, 320, 1929, 49407]);
});

test('CLIP: byte-level pieces, hand-checked against the byte table', () => {
  const tok = createTokenizer(clipJson());
  const ids = (s: string) => {
    const e = tok.encode(s);
    return unpadded(e.ids, e.attentionMask).slice(1, -1);
  };
  // Printable ASCII byte b has id b - 33; with </w> 256 + b - 33.
  assert.deepEqual(ids('Hi!'), [104 - 33, 256 + 105 - 33, 256 + 33 - 33]); // h, i</w>, !</w>
  assert.deepEqual(tok.tokenize('Hi!'), ['h', 'i</w>', '!</w>']);
  // Digits are split one by one by the CLIP regex.
  assert.deepEqual(ids('42'), [256 + 52 - 33, 256 + 50 - 33]);
  // é = C3 A9: byte 0xC3 is entry 94 + 12 + (0xC3 - 0xAE) = 127 of the table, 0xA9 is 94 + (0xA9 - 0xA1) = 102.
  assert.deepEqual(ids('é'), [127, 256 + 102]);
  assert.deepEqual(tok.tokenize('é'), ['Ã', '©</w>']);
  // NFC: e + combining acute is the same text.
  assert.deepEqual(ids('e\u0301'), [127, 256 + 102]);
  // Contractions are pieces of their own: cat + 's.
  assert.deepEqual(ids("cat's"), [2368, 39 - 33, 256 + 115 - 33]);
  // Spaces only separate pieces: they never become tokens.
  assert.deepEqual(ids('the cat'), [606, 2368]);
});

test('CLIP: special tokens in the text map to their ids; long texts keep bos and eos', () => {
  const tok = createTokenizer(clipJson());
  const e = tok.encode('<|startoftext|>cat<|endoftext|>');
  assert.deepEqual(unpadded(e.ids, e.attentionMask), [BOS, BOS, 2368, EOS, EOS]);
  const long = tok.encode(Array(100).fill('a').join(' '));
  assert.equal(long.ids.length, 77);
  assert.equal(long.ids[0], BOS);
  assert.equal(long.ids[76], EOS);
  assert.ok(long.ids.slice(1, 76).every((id) => id === 320));
  assert.ok(long.attentionMask.every((m) => m === 1));
  const empty = tok.encode('');
  assert.deepEqual(unpadded(empty.ids, empty.attentionMask), [BOS, EOS]);
});

test('CLIP: merges as pairs, a truncation length in the file, length and pad overrides', () => {
  assert.deepEqual(createTokenizer(clipJson(true)).encode('a photo of a dog').ids.slice(0, 7), [49406, 320, 1125, 539, 320, 1929, 49407]);
  const withTruncation = createTokenizer({ ...clipJson(), truncation: { max_length: 10, strategy: 'LongestFirst', stride: 0 } });
  assert.equal(withTruncation.encode('cat').ids.length, 10);
  const custom = createTokenizer(clipJson(), { maxLength: 8, padId: 0 });
  assert.deepEqual(custom.encode('a cat').ids, [BOS, 320, 2368, EOS, 0, 0, 0, 0]);
  assert.deepEqual(custom.encode('a cat', 5).ids, [BOS, 320, 2368, EOS, 0]);
  assert.deepEqual(custom.encode('a photo of a cat', 5).ids, [BOS, 320, 1125, 539, EOS]);
});

test('WordPiece: CJK characters are split, [CLS] … [SEP], padded to 52 with [PAD]', () => {
  const tok = createTokenizer(wordPieceJson());
  assert.equal(tok.kind, 'wordpiece');
  assert.equal(tok.maxLength, 52);
  assert.equal(tok.padId, 0);
  const e = tok.encode('一只猫的照片');
  assert.equal(e.ids.length, 52);
  assert.deepEqual(e.ids.slice(0, 9), [101, 104, 105, 106, 108, 109, 110, 102, 0]);
  assert.deepEqual(e.attentionMask.slice(0, 9), [1, 1, 1, 1, 1, 1, 1, 1, 0]);
  assert.ok(e.tokenTypeIds.every((t) => t === 0));
  assert.deepEqual(tok.tokenize('一只猫的照片'), ['一', '只', '猫', '的', '照', '片']);
  // Mixed scripts without spaces.
  assert.deepEqual(tok.tokenize('猫cat狗'), ['猫', 'cat', '狗']);
});

test('WordPiece: lowercase, accents, punctuation, ## continuations and [UNK]', () => {
  const tok = createTokenizer(wordPieceJson());
  assert.deepEqual(tok.tokenize('A Photo of a CAT!'), ['a', 'photo', 'of', 'a', 'cat', '!']);
  assert.deepEqual(tok.tokenize('photos, Café'), ['photo', '##s', ',', 'cafe']);
  assert.deepEqual(tok.tokenize('cafeb pho xyz'), ['cafe', '##b', 'pho', '[UNK]']);
  assert.deepEqual(tok.tokenize('cat\u0000\u200b!'), ['cat', '!']); // control / format characters are dropped
  assert.deepEqual(tok.tokenize('猫。狗！'), ['猫', '。', '狗', '！']);
  const e = tok.encode('xyz cat');
  assert.deepEqual(e.ids.slice(0, 4), [101, 100, 114, 102]);
});

test('WordPiece without a post_processor falls back to [CLS]/[SEP]; truncation keeps [SEP]', () => {
  const tok = createTokenizer(wordPieceJson(false));
  assert.deepEqual(tok.encode('猫').ids.slice(0, 3), [101, 106, 102]);
  const long = tok.encode(Array(80).fill('猫').join(''));
  assert.equal(long.ids.length, 52);
  assert.equal(long.ids[51], 102);
  assert.ok(long.ids.slice(1, 51).every((id) => id === 106));
});

test('unsupported tokenizer.json files are refused, naming the component', () => {
  const refuse = (json: unknown, what: RegExp) =>
    assert.throws(() => createTokenizer(json), (e: unknown) => e instanceof UnsupportedTokenizerError && e instanceof InvalidArgumentError && what.test((e as Error).message));
  refuse({ ...clipJson(), model: { type: 'Unigram', vocab: [] } }, /model.type "Unigram"/);
  refuse({ ...clipJson(), normalizer: { type: 'Precompiled', precompiled_charsmap: '' } }, /normalizer "Precompiled"/);
  refuse({ ...clipJson(), pre_tokenizer: { type: 'Metaspace' } }, /pre_tokenizer "Metaspace"/);
  refuse({ ...clipJson(), pre_tokenizer: { type: 'Split', pattern: { Regex: 'a' }, behavior: 'Contiguous', invert: false } }, /Split behavior "Contiguous"/);
  refuse({ ...clipJson(), pre_tokenizer: { type: 'Split', pattern: { Regex: '(?<=a' }, behavior: 'Removed', invert: false } }, /does not compile/);
  refuse({ ...clipJson(), post_processor: { type: 'Weird' } }, /post_processor "Weird"/);
  refuse('nope', /not a JSON object/);
  assert.throws(() => createTokenizer(clipJson(), { maxLength: 2 }), /too small/);
});
