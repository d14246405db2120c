#!/usr/bin/env bash
# One command to (re)build every frame-feature model measured by bench/frames.ts (seeded, rerunnable;
# each output is skipped when it exists unless --force):
#   bash scripts/models/train-frame-models.sh [--only STEP] [--force]
# --force rebuilds the selected model(s); training views and feature maps are rebuilt only when missing
# (delete .cache/frame-train to redo them).
# STEP: views | bc | bcg | mnv2-gap-pcaw256 | mnv2-rmac-pcaw256 | mnv2-gem-lw256 | mnv2bc-gem-lw256 |
#       mnv2bc-sscd-gem256 | mnv2bc-fused-lw256 | mnv2bcg-gem-lw256 | mnv2bcg-fused-lw256 | inception |
#       mnv2bc-ft256 | mnv2bc-ftfused-lw256 | mnv2bc-ftfused25-lw256 | mnv2bc-ftgem-lw256 (the fine-tuned
#       backbone, about 2 h on 2 shared cores, and heads on it: run only when named)
#       (default: all but inception and the fine-tuned ones)
# 1. training views: train-side dev frames + Debian images, copy augmentations   scripts/models/frame_views.py
# 2. front-ends in the graph: bc = border (letterbox/pillarbox) crop; bcg = bc + grayscale + 5x5 box
#    low-pass                                                                     train_frame_models.py bordercrop|frontend
# 3. frozen MobileNetV2 feature maps of every view (onnxruntime-node, 2 threads)  scripts/models/backbone-features.ts
# 4. whitening / heads, each exported as ONE ONNX graph (backbone + pooling + head) train_frame_models.py
# Intermediate data: .cache/frame-train (about 10 GB). Models: .cache/bench/models/<id>.onnx, except the
# shipped one, models/mnv2bc-fused-lw256/model.onnx.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
PY=/usr/bin/python3   # Debian python with torch + onnx + numpy + PIL
export OMP_NUM_THREADS=2
DATA=.cache/frame-train
CACHE=.cache/bench/models
SHIPPED=mnv2bc-fused-lw256
BASE=models/mobilenetv2-imagenet/model.onnx
BC=$CACHE/mnv2-bc.onnx
BCG=$CACHE/mnv2-bcg.onnx
ONLY=all
FORCE=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --only) ONLY="$2"; shift 2 ;;
    --force) FORCE=1; shift ;;
    -h|--help) sed -n 2,16p "$0"; exit 0 ;;
    *) echo "unknown argument: $1" >&2; exit 2 ;;
  esac
done
mkdir -p "$DATA" "$CACHE"
want() { [[ "$ONLY" == all || "$ONLY" == "$1" ]]; }
stale() { [[ ! -f "$1" ]]; }                        # intermediate data: build when missing
stale_model() { [[ "$FORCE" -eq 1 || ! -f "$1" ]]; }  # models: --force rebuilds the selected ones
out_for() { if [[ "$1" == "$SHIPPED" ]]; then echo "models/$1/model.onnx"; else echo "$CACHE/$1.onnx"; fi; }
t0=$SECONDS

views() {
  if stale "$DATA/views.json"; then "$PY" scripts/models/frame_views.py --out "$DATA" --views 8 --seed 1; fi
}
maps() {  # maps for the plain backbone
  views
  if stale "$DATA/maps.f32" || [[ "$DATA/views.u8" -nt "$DATA/maps.f32" ]]; then
    node --import tsx scripts/models/backbone-features.ts "$DATA/views.u8" "$DATA/maps.f32" --model "$BASE"
  fi
}
frontend() {  # name (bc|bcg): front-end + backbone graph, its maps and the front-end's output views
  local name="$1" graph="$CACHE/mnv2-$1.onnx"
  views
  if stale "$graph"; then
    if [[ "$name" == bc ]]; then "$PY" scripts/models/train_frame_models.py bordercrop "$BASE" "$graph"
    else "$PY" scripts/models/train_frame_models.py frontend "$BASE" "$graph" 5; fi
  fi
  if stale "$DATA/maps-$name.f32" || [[ "$DATA/views.u8" -nt "$DATA/maps-$name.f32" ]]; then
    node --import tsx scripts/models/backbone-features.ts "$DATA/views.u8" "$DATA/maps-$name.f32" --model "$graph"
  fi
  if stale "$DATA/views-$name.u8" || [[ "$DATA/views.u8" -nt "$DATA/views-$name.u8" ]]; then
    node --import tsx scripts/models/backbone-features.ts "$DATA/views.u8" "$DATA/views-$name.u8" --model "${graph%.onnx}-crop.onnx" --output pixels_cropped --u8
  fi
}
model() {  # id, then train_frame_models.py arguments
  local id="$1"; shift
  local out; out="$(out_for "$id")"
  if want "$id" && stale_model "$out"; then
    mkdir -p "$(dirname "$out")"
    "$PY" scripts/models/train_frame_models.py "$@" --data "$DATA" --out "$out" --dim 256 --seed 1
  fi
}

if [[ "$ONLY" == views ]]; then views; fi
if [[ "$ONLY" != inception && "$ONLY" != views && "$ONLY" != mnv2bc-ft* ]]; then
  if [[ "$ONLY" == all || "$ONLY" == mnv2-* ]]; then maps; fi
  if [[ "$ONLY" == all || "$ONLY" == mnv2bc-* || "$ONLY" == bc ]]; then frontend bc; fi
  if [[ "$ONLY" == all || "$ONLY" == mnv2bcg-* || "$ONLY" == bcg ]]; then frontend bcg; fi
  model mnv2-gap-pcaw256 pcaw
  model mnv2-rmac-pcaw256 rmac
  model mnv2-gem-lw256 head --method lw --variant gem
  model mnv2bc-gem-lw256 head --method lw --variant gem --backbone "$BC" --maps maps-bc.f32
  model mnv2bc-sscd-gem256 head --method sgd --variant gem --backbone "$BC" --maps maps-bc.f32
  model mnv2bc-fused-lw256 head --method lw --variant fused --backbone "$BC" --maps maps-bc.f32 --pixels views-bc.u8
  model mnv2bcg-gem-lw256 head --method lw --variant gem --backbone "$BCG" --maps maps-bcg.f32
  model mnv2bcg-fused-lw256 head --method lw --variant fused --backbone "$BCG" --maps maps-bcg.f32 --pixels views-bcg.u8
fi
# SSCD-style fine-tuning of the backbone's last stage (scripts/models/finetune_frame_encoder.py):
# own training views in .cache/frame-ft, the frozen front (border crop + blocks up to block_12_add)
# precomputed by onnxruntime, the tail + projection trained in torch; then the same fine-tuned
# backbone with the shipped model's fused thumbnail + learned-whitening head.
FT=scripts/models/finetune_frame_encoder.py
FTDATA=.cache/frame-ft
if [[ "$ONLY" == mnv2bc-ft* ]]; then
  frontend_graph() { if stale "$BC"; then "$PY" scripts/models/train_frame_models.py bordercrop "$BASE" "$BC"; fi; }
  frontend_graph
  mkdir -p "$FTDATA"
  if stale "$FTDATA/views.json"; then "$PY" "$FT" views --data "$FTDATA" --views 10 --seed 1; fi
  if stale "$FTDATA/cut.f32"; then
    "$PY" "$FT" cut "$BC" "$FTDATA/cut.onnx" --at block_12_add
    node --import tsx scripts/models/backbone-features.ts "$FTDATA/views.u8" "$FTDATA/cut.f32" --model "$FTDATA/cut.onnx" --output block_12_add
  fi
  if stale "$FTDATA/verify.json"; then "$PY" "$FT" verify --data "$FTDATA"; fi
  FTOUT="$CACHE/mnv2bc-ft256.onnx"
  if stale_model "$FTOUT" && { [[ "$ONLY" == mnv2bc-ft256 ]] || stale "$FTOUT"; }; then
    "$PY" "$FT" train --data "$FTDATA" --out "$FTOUT" --seed 1 --steps 700 --batch 64 --eval-every 175
    "$PY" "$FT" check --data "$FTDATA" --model "$FTOUT"
  fi
  # heads on the fine-tuned backbone: GeM + luma thumbnail x 0.5 (as shipped) / x 0.25, GeM alone; learned whitening
  for v in ftfused-lw256:0.5 ftfused25-lw256:0.25 ftgem-lw256:0; do
    id="mnv2bc-${v%%:*}"
    if [[ "$ONLY" == "$id" ]] && stale_model "$CACHE/$id.onnx"; then
      "$PY" "$FT" fused --data "$FTDATA" --backbone "$FTOUT" --out "$CACHE/$id.onnx" --thumb-scale "${v##*:}"
      "$PY" "$FT" check --data "$FTDATA" --model "$FTOUT" --fused "$CACHE/$id.onnx"
    fi
  done
fi
if [[ "$ONLY" == inception ]] && stale_model "$CACHE/inceptionv3-224.onnx"; then
  node scripts/models/extract-nsfwjs.mjs inception_v3 --out .cache/bench/models-src/inception_v3
  "$PY" scripts/models/convert_keras_to_onnx.py inception_v3 --src .cache/bench/models-src/inception_v3 --out "$CACHE/inception_v3.onnx" --force
  "$PY" scripts/models/train_frame_models.py resize "$CACHE/inception_v3.onnx" "$CACHE/inceptionv3-224.onnx"
fi
echo "train-frame-models: done in $((SECONDS - t0)) s"
