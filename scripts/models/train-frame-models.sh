#!/usr/bin/env bash
# One command to (re)build the frame-feature models measured by bench/frames.ts:
#   bash scripts/models/train-frame-models.sh [--only views|pcaw|rmac|gem|fused|inception] [--force]
# 1. training views (train-side dev frames + Debian images, copy augmentations)  scripts/models/frame_views.py
# 2. frozen MobileNetV2 feature maps of every view (onnxruntime-node, 2 threads) scripts/models/backbone-features.ts
# 3. PCA-whitening / R-MAC whitening / SSCD-style heads -> one ONNX graph each   scripts/models/train_frame_models.py
# Deterministic (seeded); intermediate data in .cache/frame-train (about 2.5 GB).
# The shipped model goes to models/mnv2-sscd-fused256/model.onnx, the others to .cache/bench/models/.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY=/usr/bin/python3   # Debian python with torch + onnx + numpy + PIL
export OMP_NUM_THREADS=2
DATA=.cache/frame-train
CACHE=.cache/bench/models
SHIPPED=mnv2-sscd-fused256
ONLY=all
FORCE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --only) ONLY="$2"; shift 2 ;;
    --force) FORCE=1; shift ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$DATA" "$CACHE"
want() { [[ "$ONLY" == all || "$ONLY" == "$1" ]]; }
stale() { [[ "$FORCE" -eq 1 || ! -f "$1" ]]; }

if [[ "$ONLY" != inception ]]; then
  if [[ "$FORCE" -eq 1 || ! -f "$DATA/views.json" ]]; then
    "$PY" scripts/models/frame_views.py --out "$DATA" --views 8 --seed 1
  fi
  if [[ "$FORCE" -eq 1 || ! -f "$DATA/maps.f32" || "$DATA/views.u8" -nt "$DATA/maps.f32" ]]; then
    node --import tsx scripts/models/backbone-features.ts "$DATA/views.u8" "$DATA/maps.f32"
  fi
fi
if want pcaw && stale "$CACHE/mnv2-gap-pcaw256.onnx"; then
  "$PY" scripts/models/train_frame_models.py pcaw --data "$DATA" --out "$CACHE/mnv2-gap-pcaw256.onnx" --dim 256
fi
if want rmac && stale "$CACHE/mnv2-rmac-pcaw256.onnx"; then
  "$PY" scripts/models/train_frame_models.py rmac --data "$DATA" --out "$CACHE/mnv2-rmac-pcaw256.onnx" --dim 256
fi
out_for() { if [[ "$1" == "$SHIPPED" ]]; then echo "models/$1/model.onnx"; else echo "$CACHE/$1.onnx"; fi; }
if want gem && stale "$(out_for mnv2-sscd-gem256)"; then
  "$PY" scripts/models/train_frame_models.py head --variant gem --data "$DATA" --out "$(out_for mnv2-sscd-gem256)" --dim 256 --seed 1
fi
if want fused && stale "$(out_for mnv2-sscd-fused256)"; then
  mkdir -p "$(dirname "$(out_for mnv2-sscd-fused256)")"
  "$PY" scripts/models/train_frame_models.py head --variant fused --data "$DATA" --out "$(out_for mnv2-sscd-fused256)" --dim 256 --seed 1
fi
if [[ "$ONLY" == inception ]] && stale "$CACHE/inceptionv3-224.onnx"; then
  node scripts/models/extract-nsfwjs.mjs inception_v3 --out .cache/bench/models-src/inception_v3
  "$PY" scripts/models/convert_keras_to_onnx.py inception_v3 --src .cache/bench/models-src/inception_v3 --out "$CACHE/inception_v3.onnx" --force
  "$PY" scripts/models/train_frame_models.py resize "$CACHE/inception_v3.onnx" "$CACHE/inceptionv3-224.onnx"
fi
