#!/usr/bin/env bash
# Downloads real CLIP weights, ONNX exports in the Hugging Face / transformers.js layout, into models/<name>/:
#   onnx/vision_model.onnx  onnx/text_model.onnx  tokenizer.json  preprocessor_config.json
#
#   bash scripts/models/fetch-clip.sh [clip-vit-b32|chinese-clip-vit-b16|all] [--force]     (npm run models:clip)
#
#   clip-vit-b32          Xenova/clip-vit-base-patch32            (OpenAI CLIP ViT-B/32, ~600 MB)
#   chinese-clip-vit-b16  Xenova/chinese-clip-vit-base-patch16    (OFA-Sys Chinese-CLIP ViT-B/16, ~750 MB); when the
#                         repository only has the combined onnx/model.onnx, it is split into the two towers with
#                         Debian's python3-onnx (onnx.utils.extract_model).
#
# Default: clip-vit-b32. A complete folder is left alone unless --force. Files land in <name>.download/ first and
# the folder is swapped in only when everything arrived, so an interrupted run never leaves a half model.
# Environment: HF_ENDPOINT (a mirror, default https://huggingface.co), HF_REVISION (default main), HF_TOKEN
# (optional bearer token), VIDTRACE_MODELS_DIR (default models/).
# Exit codes: 0 done, 2 the hub is not reachable (nothing changed), 1 any other failure.
# Never run by setup or tests (they use a tiny generated model: scripts/models/make_tiny_clip.py).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MODELS_DIR="${VIDTRACE_MODELS_DIR:-$ROOT/models}"
ENDPOINT="${HF_ENDPOINT:-https://huggingface.co}"
ENDPOINT="${ENDPOINT%/}"
REVISION="${HF_REVISION:-main}"
PY=/usr/bin/python3   # Debian python with python3-onnx (the python3 first on PATH lacks it)

FORCE=0
WANT=()
for arg in "$@"; do
  case "$arg" in
    --force|-f) FORCE=1 ;;
    -h|--help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    clip-vit-b32|chinese-clip-vit-b16) WANT+=("$arg") ;;
    all) WANT+=(clip-vit-b32 chinese-clip-vit-b16) ;;
    *) echo "fetch-clip: unknown argument: $arg (see --help)" >&2; exit 1 ;;
  esac
done
[ ${#WANT[@]} -gt 0 ] || WANT=(clip-vit-b32)

repo_of() {
  case "$1" in
    clip-vit-b32) echo "Xenova/clip-vit-base-patch32" ;;
    chinese-clip-vit-b16) echo "Xenova/chinese-clip-vit-base-patch16" ;;
  esac
}

FILES=(onnx/vision_model.onnx onnx/text_model.onnx tokenizer.json preprocessor_config.json)
CURL_AUTH=()
[ -n "${HF_TOKEN:-}" ] && CURL_AUTH=(-H "Authorization: Bearer $HF_TOKEN")

unreachable() {
  echo "fetch-clip: cannot reach $ENDPOINT ($1): nothing downloaded. Place the files by hand in" \
    "$MODELS_DIR/<name>/ (onnx/vision_model.onnx, onnx/text_model.onnx, tokenizer.json, preprocessor_config.json;" \
    "see docs/clip.md) or set HF_ENDPOINT to a reachable mirror." >&2
  exit 2
}

# fetch REPO FILE DEST → 0 ok, 4 not in the repository (HTTP 404), 3 network failure, 1 other HTTP error.
fetch() {
  local repo="$1" file="$2" dest="$3" code rc
  mkdir -p "$(dirname "$dest")"
  set +e
  code="$(curl -sSL --retry 3 --retry-delay 2 --connect-timeout 20 "${CURL_AUTH[@]}" \
    -o "$dest.part" -w '%{http_code}' "$ENDPOINT/$repo/resolve/$REVISION/$file")"
  rc=$?
  set -e
  if [ $rc -ne 0 ]; then rm -f "$dest.part"; echo "fetch-clip: $repo/$file: curl failed (exit $rc)" >&2; return 3; fi
  if [ "$code" = 404 ]; then rm -f "$dest.part"; return 4; fi
  if [ "$code" != 200 ]; then rm -f "$dest.part"; echo "fetch-clip: $repo/$file: HTTP $code" >&2; return 1; fi
  mv "$dest.part" "$dest"
  echo "fetch-clip:   $file ($(du -h "$dest" | cut -f1))"
}

# Splits a combined CLIP graph (pixel_values + text inputs → image_embeds, text_embeds, logits…) into the towers.
split_combined() {
  local combined="$1" out="$2"
  "$PY" - "$combined" "$out" <<'PY'
import os, sys
import onnx
from onnx.utils import extract_model
combined, out = sys.argv[1:3]
graph = onnx.load(combined, load_external_data=False).graph
inputs = [i.name for i in graph.input if i.name not in {init.name for init in graph.initializer}]
outputs = [o.name for o in graph.output]
for need in ("pixel_values", "image_embeds", "text_embeds"):
    if need not in inputs + outputs:
        sys.exit("fetch-clip: %s has no %s (inputs %s, outputs %s); cannot split it" % (combined, need, inputs, outputs))
text_inputs = [i for i in inputs if i != "pixel_values"]
extract_model(combined, os.path.join(out, "vision_model.onnx"), ["pixel_values"], ["image_embeds"])
extract_model(combined, os.path.join(out, "text_model.onnx"), text_inputs, ["text_embeds"])
print("fetch-clip:   split %s into vision_model.onnx (pixel_values) and text_model.onnx (%s)" % (os.path.basename(combined), ", ".join(text_inputs)))
PY
}

complete() {
  local dir="$1" f
  for f in "${FILES[@]}"; do [ -s "$dir/$f" ] || return 1; done
}

# One cheap request first, so an offline machine gets one clear line instead of a curl error per file.
probe_err="$(mktemp)"
trap 'rm -f "$probe_err"' EXIT
set +e
probe="$(curl -sS -o /dev/null --connect-timeout 10 --max-time 30 "${CURL_AUTH[@]}" -w '%{http_code}' \
  "$ENDPOINT/$(repo_of "${WANT[0]}")/resolve/$REVISION/preprocessor_config.json" 2>"$probe_err")"
probe_rc=$?
set -e
if [ $probe_rc -ne 0 ]; then unreachable "$(tail -1 "$probe_err" | sed 's/^curl: //')"; fi
case "$probe" in 2*|3*) ;; *) unreachable "HTTP $probe for $(repo_of "${WANT[0]}")/preprocessor_config.json" ;; esac

for name in "${WANT[@]}"; do
  repo="$(repo_of "$name")"
  dest="$MODELS_DIR/$name"
  if complete "$dest" && [ "$FORCE" -eq 0 ]; then
    echo "fetch-clip: $dest is complete (use --force to download again)"
    continue
  fi
  stage="$dest.download"
  rm -rf "$stage"
  mkdir -p "$stage/onnx"
  echo "fetch-clip: $repo → $dest"
  for f in tokenizer.json preprocessor_config.json config.json tokenizer_config.json special_tokens_map.json; do
    rc=0; fetch "$repo" "$f" "$stage/$f" || rc=$?
    if [ $rc -eq 3 ]; then unreachable "lost the connection while downloading $repo/$f"; fi
    case "$f" in tokenizer.json|preprocessor_config.json)
      [ $rc -eq 0 ] || { echo "fetch-clip: $repo has no usable $f (code $rc)" >&2; exit 1; } ;;
    esac
  done
  towers=1
  for f in onnx/vision_model.onnx onnx/text_model.onnx; do
    rc=0; fetch "$repo" "$f" "$stage/$f" || rc=$?
    if [ $rc -eq 3 ]; then unreachable "lost the connection while downloading $repo/$f"; fi
    if [ $rc -eq 4 ]; then towers=0; break; fi
    [ $rc -eq 0 ] || exit 1
  done
  if [ $towers -eq 0 ]; then
    echo "fetch-clip:   $repo has no separate towers; fetching the combined onnx/model.onnx"
    rc=0; fetch "$repo" onnx/model.onnx "$stage/onnx/model.onnx" || rc=$?
    if [ $rc -eq 3 ]; then unreachable "lost the connection while downloading $repo/onnx/model.onnx"; fi
    [ $rc -eq 0 ] || { echo "fetch-clip: $repo has neither onnx/vision_model.onnx nor onnx/model.onnx" >&2; exit 1; }
    split_combined "$stage/onnx/model.onnx" "$stage/onnx"
    rm -f "$stage/onnx/model.onnx"
  fi
  complete "$stage" || { echo "fetch-clip: $stage is incomplete after download" >&2; exit 1; }
  rm -rf "$dest.old"
  [ -e "$dest" ] && mv "$dest" "$dest.old"
  mv "$stage" "$dest"
  rm -rf "$dest.old"
  echo "fetch-clip: $name ready in $dest"
done
