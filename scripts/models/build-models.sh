#!/usr/bin/env bash
# Build the default ONNX model(s) from the weights shipped in node_modules/nsfwjs.
# Idempotent: does nothing if models/mobilenetv2-imagenet/model.onnx exists,
# unless --force is given. Verification is separate:
#   node scripts/models/verify-onnx-vs-tfjs.mjs
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

FORCE=0
for arg in "$@"; do
  case "$arg" in
    --force|-f) FORCE=1 ;;
    -h|--help) echo "usage: $0 [--force]"; exit 0 ;;
    *) echo "unknown argument: $arg" >&2; exit 2 ;;
  esac
done

PY=/usr/bin/python3   # Debian python with onnx + numpy (the python3 first on PATH lacks them)
export OMP_NUM_THREADS=2
OUT=models/mobilenetv2-imagenet/model.onnx

if [[ -f "$OUT" && "$FORCE" -eq 0 ]]; then
  echo "build-models: $OUT exists (use --force to rebuild)"
  exit 0
fi

node scripts/models/extract-nsfwjs.mjs mobilenet_v2
"$PY" scripts/models/convert_keras_to_onnx.py mobilenet_v2 --out "$OUT" --force

# Warn (do not fail) if the rebuilt file differs from the registered hash.
if [[ -f models/models.json ]]; then
  want="$("$PY" -c 'import json,sys; print(next((m["sha256"] for m in json.load(open("models/models.json")) if m["id"]=="mobilenetv2-imagenet"), ""))')"
  got="$(sha256sum "$OUT" | cut -d' ' -f1)"
  if [[ -n "$want" && "$want" != "$got" ]]; then
    echo "build-models: WARNING: sha256 of $OUT ($got) differs from models/models.json ($want)" >&2
  fi
fi
