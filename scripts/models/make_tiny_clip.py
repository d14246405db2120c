#!/usr/bin/python3
"""Writes a tiny, randomly initialised CLIP-like model folder in the Hugging Face / transformers.js layout:

    <out>/onnx/vision_model.onnx      pixel_values float32 [N,3,224,224] -> image_embeds [N,D], last_hidden_state
    <out>/onnx/text_model.onnx        input_ids int64 [N,L] (+ attention_mask ...) -> text_embeds [N,D], last_hidden_state
    <out>/tokenizer.json              HF tokenizers format
    <out>/preprocessor_config.json    the image processor fields of the real model
    <out>/tiny-clip.json              stamp: generator hash, flavor, dim, seed

It has the input/output signature of the real exports but none of their knowledge: it exists so the Node side
(src/embed/clip/) can be tested end to end without downloading CLIP. Some outputs are plain functions of the
input so tests can check preprocessing and tokenization numerically (before the encoder's L2 normalisation,
which ratios to the constant 1 survive):

  image_embeds[:, 0:3]  per-channel means of pixel_values       text_embeds[:, 0]  position of the first end token / 100
  image_embeds[:, 3]    1                                       text_embeds[:, 1]  sum of attention_mask / 100
  image_embeds[:, 4]    red: mean(left half) - mean(right half) text_embeds[:, 2]  1
  image_embeds[:, 5]    red: mean(top half) - mean(bottom half) text_embeds[:, 3]  sum of input_ids * attention_mask / 1e5
  the rest              random features (conv / attention)      the rest           random features (attention)
(The text readouts are scaled to about 1 so that the random features still tell texts apart.)

Flavors:
  openai   OpenAI CLIP ViT-B/32 as exported by transformers.js (Xenova/clip-vit-base-patch32): byte-level BPE with
           the real ids of the specials and of "a photo of a cat/dog", causal text attention pooled at the first
           <|endoftext|>, dynamic sequence length (the tokenizer pads to 77), resize shortest edge 224 + center crop.
  chinese  Chinese-CLIP (OFA-Sys/chinese-clip-vit-base-patch16): BERT WordPiece with [CLS]/[SEP] and CJK characters,
           inputs input_ids + attention_mask + token_type_ids, pooled at [CLS], length 52, resize to 224x224.
  variant  Other plausible export names: vision input `images`, outputs `hidden` + `pooled` (no known name);
           text input `input_ids` int32 only, fixed length 77 (the tokenizer.json says 64: the graph must win),
           outputs `last_hidden_state` + `text_features`.

Usage: /usr/bin/python3 scripts/models/make_tiny_clip.py OUT [--flavor openai|chinese|variant] [--dim 32]
       [--seed 0] [--force]
Idempotent: does nothing when OUT/tiny-clip.json matches this script, flavor, dim and seed. Refuses to replace
a folder that it did not generate (so real weights are never overwritten). Debian's python3-torch and python3-onnx.
"""

import argparse
import hashlib
import json
import math
import os
import shutil
import sys

import onnx
import torch
from torch import nn

BOS, EOS = 49406, 49407
CLIP_VOCAB = 49408
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
CLIP_SPLIT = r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+"""

# Merges of the tiny BPE, in rank order, with the id of their result. The final tokens of "a photo of a cat"
# and "a photo of a dog" carry their real CLIP ids (a</w> is the byte token 320); the intermediate ones live in
# 600+ (real CLIP has other tokens there, which does not matter for a self-contained vocabulary).
CLIP_MERGES = [
    ("h", "o", 600),
    ("t", "o</w>", 601),
    ("p", "ho", 602),
    ("pho", "to</w>", 1125),
    ("o", "f</w>", 539),
    ("a", "t</w>", 603),
    ("c", "at</w>", 2368),
    ("o", "g</w>", 604),
    ("d", "og</w>", 1929),
    ("t", "h", 605),
    ("th", "e</w>", 606),
]

WORDPIECE_SPECIAL = {"[PAD]": 0, "[UNK]": 100, "[CLS]": 101, "[SEP]": 102, "[MASK]": 103}
WORDPIECE_TOKENS = ["一", "只", "猫", "狗", "的", "照", "片", "a", "photo", "of", "cat", "dog", "pho", "##to", "##s",
                    ",", "!", "。", "，", "！", "cafe", "##b"]


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [chr(c) for c in cs]  # in vocabulary order: byte token i has id i


def clip_tokenizer_json():
    chars = bytes_to_unicode()
    vocab = {c: i for i, c in enumerate(chars)}
    vocab.update({c + "</w>": 256 + i for i, c in enumerate(chars)})
    for a, b, ident in CLIP_MERGES:
        vocab[a + b] = ident
    vocab["<|startoftext|>"] = BOS
    vocab["<|endoftext|>"] = EOS
    assert len(set(vocab.values())) == len(vocab)
    special = lambda content, ident: {"id": ident, "content": content, "single_word": False, "lstrip": False,
                                      "rstrip": False, "normalized": True, "special": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special("<|startoftext|>", BOS), special("<|endoftext|>", EOS)],
        "normalizer": {"type": "Sequence", "normalizers": [
            {"type": "NFC"},
            {"type": "Replace", "pattern": {"Regex": r"\s+"}, "content": " "},
            {"type": "Lowercase"},
        ]},
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": CLIP_SPLIT}, "behavior": "Removed", "invert": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ]},
        "post_processor": {"type": "RobertaProcessing", "sep": ["<|endoftext|>", EOS], "cls": ["<|startoftext|>", BOS],
                           "trim_offsets": False, "add_prefix_space": False},
        "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
        "model": {"type": "BPE", "dropout": None, "unk_token": "<|endoftext|>", "continuing_subword_prefix": "",
                  "end_of_word_suffix": "</w>", "fuse_unk": False, "byte_fallback": False,
                  "vocab": vocab, "merges": ["%s %s" % (a, b) for a, b, _ in CLIP_MERGES]},
    }


def wordpiece_tokenizer_json():
    vocab = dict(WORDPIECE_SPECIAL)
    for i in range(1, 100):
        vocab["[unused%d]" % i] = i
    for i, token in enumerate(WORDPIECE_TOKENS):
        vocab[token] = 104 + i
    special = lambda content: {"id": vocab[content], "content": content, "single_word": False, "lstrip": False,
                               "rstrip": False, "normalized": False, "special": True}
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": [special(t) for t in ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]],
        "normalizer": {"type": "BertNormalizer", "clean_text": True, "handle_chinese_chars": True,
                       "strip_accents": None, "lowercase": True},
        "pre_tokenizer": {"type": "BertPreTokenizer"},
        "post_processor": {
            "type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                       {"SpecialToken": {"id": "[SEP]", "type_id": 0}}],
            "pair": [{"SpecialToken": {"id": "[CLS]", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                     {"SpecialToken": {"id": "[SEP]", "type_id": 1}}],
            "special_tokens": {t: {"id": t, "ids": [vocab[t]], "tokens": [t]} for t in ["[CLS]", "[SEP]"]},
        },
        "decoder": {"type": "WordPiece", "prefix": "##", "cleanup": True},
        "model": {"type": "WordPiece", "unk_token": "[UNK]", "continuing_subword_prefix": "##",
                  "max_input_chars_per_word": 100, "vocab": vocab},
    }


def preprocessor_config(flavor):
    if flavor == "chinese":
        # OFA-Sys/chinese-clip-vit-base-patch16: squash to 224x224, no crop.
        return {"crop_size": 224, "do_center_crop": False, "do_normalize": True, "do_resize": True,
                "feature_extractor_type": "ChineseCLIPFeatureExtractor", "image_mean": CLIP_MEAN,
                "image_std": CLIP_STD, "resample": 3, "size": {"height": 224, "width": 224}}
    # openai/clip-vit-base-patch32 (the fields of its current image processor config).
    return {"crop_size": {"height": 224, "width": 224}, "do_center_crop": True, "do_convert_rgb": True,
            "do_normalize": True, "do_rescale": True, "do_resize": True,
            "feature_extractor_type": "CLIPFeatureExtractor", "image_mean": CLIP_MEAN,
            "image_processor_type": "CLIPImageProcessor", "image_std": CLIP_STD, "resample": 3,
            "rescale_factor": 0.00392156862745098, "size": {"shortest_edge": 224}}


class TinyVision(nn.Module):
    def __init__(self, dim, width=16, patch=32):
        super().__init__()
        self.patch = nn.Conv2d(3, width, patch, patch)
        self.proj = nn.Linear(width, dim - 6)

    def forward(self, pixel_values):
        means = pixel_values.mean(dim=(2, 3))
        red = pixel_values[:, 0]
        h, w = red.shape[1] // 2, red.shape[2] // 2
        left_right = red[:, :, :w].mean(dim=(1, 2)) - red[:, :, w:].mean(dim=(1, 2))
        top_bottom = red[:, :h, :].mean(dim=(1, 2)) - red[:, h:, :].mean(dim=(1, 2))
        hidden = nn.functional.gelu(self.patch(pixel_values)).flatten(2).transpose(1, 2)  # [N, 49, width]
        features = self.proj(hidden.mean(dim=1))
        one = torch.ones_like(means[:, :1])
        embeds = torch.cat([means, one, left_right[:, None], top_bottom[:, None], features], dim=1)
        return embeds, hidden


class TinyText(nn.Module):
    """One attention layer. `end_id`: the token whose first position is reported (and pooled when causal)."""

    def __init__(self, vocab, dim, positions, end_id, causal, token_types, width=32):
        super().__init__()
        self.end_id, self.causal, self.width = end_id, causal, width
        self.tok = nn.Embedding(vocab, 8)
        self.up = nn.Linear(8, width)
        self.pos = nn.Parameter(torch.randn(positions, width) * 0.02)
        self.types = nn.Embedding(2, width) if token_types else None
        self.qkv = nn.Linear(width, 3 * width)
        self.out = nn.Linear(width, width)
        self.ln = nn.LayerNorm(width)
        self.proj = nn.Linear(width, dim - 4)

    def forward(self, input_ids, attention_mask=None, token_type_ids=None):
        ids = input_ids.long()
        length = ids.shape[1]
        x = self.up(self.tok(ids)) + self.pos[:length]
        if self.types is not None:
            x = x + self.types(token_type_ids.long())
        mask = torch.ones_like(x[:, :, 0]) if attention_mask is None else attention_mask.to(x.dtype)
        q, k, v = self.qkv(x).chunk(3, dim=-1)
        scores = q @ k.transpose(1, 2) / math.sqrt(self.width) + (1.0 - mask)[:, None, :] * -1e4
        index = torch.arange(length, device=ids.device).to(x.dtype)
        if self.causal:
            scores = scores + (index[None, :] > index[:, None]).to(x.dtype) * -1e4
        hidden = self.ln(x + self.out(torch.softmax(scores, dim=-1) @ v))
        is_end = (ids == self.end_id).to(x.dtype)
        first_end = is_end * (torch.cumsum(is_end, dim=1) == 1).to(x.dtype)
        pool = first_end if self.causal else (index == 0).to(x.dtype)[None, :].expand_as(mask)
        pooled = (pool[:, :, None] * hidden).sum(dim=1)
        end_position = (first_end * index[None, :]).sum(dim=1)
        checksum = (ids.to(x.dtype) * mask).sum(dim=1)
        one = torch.ones_like(checksum)
        embeds = torch.cat([end_position[:, None] / 100, mask.sum(dim=1)[:, None] / 100, one[:, None],
                            checksum[:, None] / 1e5, self.proj(pooled)], dim=1)
        return embeds, hidden


def export(model, args, path, input_names, output_names, dynamic):
    torch.onnx.export(model, args, path, input_names=input_names, output_names=output_names,
                      dynamic_axes=dynamic, opset_version=17, do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def generate(out, flavor, dim, seed):
    torch.manual_seed(seed)
    os.makedirs(os.path.join(out, "onnx"))
    vision = TinyVision(dim).eval()
    pixels = torch.randn(2, 3, 224, 224)
    v_in, v_out = ("images", ["hidden", "pooled"]) if flavor == "variant" else ("pixel_values", ["image_embeds", "last_hidden_state"])
    with torch.no_grad():
        if flavor == "variant":
            class Swapped(nn.Module):
                def __init__(self, inner):
                    super().__init__()
                    self.inner = inner

                def forward(self, images):
                    embeds, hidden = self.inner(images)
                    return hidden, embeds
            vision_export = Swapped(vision)
        else:
            vision_export = vision
        export(vision_export, (pixels,), os.path.join(out, "onnx", "vision_model.onnx"), [v_in], v_out,
               {v_in: {0: "batch_size"}, v_out[0]: {0: "batch_size"}, v_out[1]: {0: "batch_size"}})

        if flavor == "chinese":
            tokenizer = wordpiece_tokenizer_json()
            vocab = max(tokenizer["model"]["vocab"].values()) + 1
            text = TinyText(vocab, dim, 52, WORDPIECE_SPECIAL["[SEP]"], causal=False, token_types=True).eval()
            ids = torch.randint(0, vocab, (2, 52), dtype=torch.int64)
            mask = torch.ones(2, 52, dtype=torch.int64)
            types = torch.zeros(2, 52, dtype=torch.int64)
            names = ["input_ids", "attention_mask", "token_type_ids"]
            dyn = {n: {0: "batch_size", 1: "sequence_length"} for n in names}
            dyn.update({"text_embeds": {0: "batch_size"}, "last_hidden_state": {0: "batch_size", 1: "sequence_length"}})
            export(text, (ids, mask, types), os.path.join(out, "onnx", "text_model.onnx"), names,
                   ["text_embeds", "last_hidden_state"], dyn)
        elif flavor == "variant":
            tokenizer = clip_tokenizer_json()
            # A length in the file that the graph's fixed 77 must override.
            tokenizer["truncation"] = {"direction": "Right", "max_length": 64, "strategy": "LongestFirst", "stride": 0}
            text = TinyText(CLIP_VOCAB, dim, 77, EOS, causal=True, token_types=False).eval()

            class IdsOnly(nn.Module):
                def __init__(self, inner):
                    super().__init__()
                    self.inner = inner

                def forward(self, input_ids):
                    embeds, hidden = self.inner(input_ids)
                    return hidden, embeds
            ids = torch.randint(0, CLIP_VOCAB, (2, 77), dtype=torch.int32)
            export(IdsOnly(text), (ids,), os.path.join(out, "onnx", "text_model.onnx"), ["input_ids"],
                   ["last_hidden_state", "text_features"],
                   {"input_ids": {0: "batch_size"}, "last_hidden_state": {0: "batch_size"}, "text_features": {0: "batch_size"}})
        else:
            tokenizer = clip_tokenizer_json()
            text = TinyText(CLIP_VOCAB, dim, 77, EOS, causal=True, token_types=False).eval()
            ids = torch.randint(0, CLIP_VOCAB, (2, 77), dtype=torch.int64)
            mask = torch.ones(2, 77, dtype=torch.int64)
            names = ["input_ids", "attention_mask"]
            dyn = {n: {0: "batch_size", 1: "sequence_length"} for n in names}
            dyn.update({"text_embeds": {0: "batch_size"}, "last_hidden_state": {0: "batch_size", 1: "sequence_length"}})
            export(text, (ids, mask), os.path.join(out, "onnx", "text_model.onnx"), names,
                   ["text_embeds", "last_hidden_state"], dyn)

    with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(tokenizer, f, ensure_ascii=False, indent=1)
    with open(os.path.join(out, "preprocessor_config.json"), "w", encoding="utf-8") as f:
        json.dump(preprocessor_config(flavor), f, indent=2)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out")
    parser.add_argument("--flavor", choices=["openai", "chinese", "variant"], default="openai")
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true")
    a = parser.parse_args()
    if a.dim < 8:
        parser.error("--dim must be at least 8")
    torch.set_num_threads(2)

    with open(os.path.abspath(__file__), "rb") as f:
        script_hash = hashlib.sha256(f.read()).hexdigest()
    stamp = {"generator": "make_tiny_clip.py", "sha256": script_hash, "flavor": a.flavor, "dim": a.dim, "seed": a.seed}
    out = os.path.abspath(a.out)
    stamp_file = os.path.join(out, "tiny-clip.json")
    files = ["onnx/vision_model.onnx", "onnx/text_model.onnx", "tokenizer.json", "preprocessor_config.json"]
    if os.path.exists(out):
        try:
            with open(stamp_file) as f:
                existing = json.load(f)
        except (OSError, ValueError):
            existing = None
        if existing is None and os.listdir(out):
            sys.exit("make_tiny_clip: %s exists and was not generated by this script; not replacing it" % out)
        if existing == stamp and not a.force and all(os.path.exists(os.path.join(out, p)) for p in files):
            print("make_tiny_clip: %s is up to date (%s)" % (out, a.flavor))
            return

    tmp = "%s.tmp-%d" % (out, os.getpid())
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        generate(tmp, a.flavor, a.dim, a.seed)
        with open(os.path.join(tmp, "tiny-clip.json"), "w") as f:
            json.dump(stamp, f, indent=2)
        if os.path.exists(out):
            shutil.rmtree(out)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        os.rename(tmp, out)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print("make_tiny_clip: wrote %s (%s, dim %d)" % (out, a.flavor, a.dim))


if __name__ == "__main__":
    main()
