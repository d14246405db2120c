#!/usr/bin/env bash
# SPD copy detector, one command: training matrices with the CONFIGURED encoder (VIDTRACE_MODEL or
# the default of src/config.ts) -> training of the fully convolutional detector on variable-size
# windows (PyTorch, CPU) -> ONNX export (any input height/width; the channel subgraph made lean by
# lean_channels.py, the network part laid out for onnxruntime's fusions by fused_network.py) -> parity check (Node channels +
# onnxruntime on the whole-matrix input vs PyTorch) -> calibration, threshold, fallback windows and
# speed on held-out training-seed queries -> models/spd-detector/{model.onnx,meta.json,card.md}.
#
#   bash scripts/detector/train.sh [extra train_detector.py args, e.g. --steps 2000 --width 24]
#   VIDTRACE_MODEL=<encoder id> bash scripts/detector/train.sh     # after an encoder change
#
# Environment: SPD_SEEDS (default 101-106), SPD_VAL_SEEDS (107-112: the shipped calibration and threshold were tuned on these six; the checkpoint of the shipped weights was picked on 107-108), SPD_QUERIES (60),
# SPD_NEGATIVES (15), PYTHON (/usr/bin/python3: needs torch, onnx, numpy), SPD_RUN (work dir,
# .cache/detector/run), SPD_SHIP (1: copy the result to models/spd-detector; 0: leave it in SPD_RUN, e.g. to
# compare architectures side by side), SPD_SHIP_ONLY (1: only ship an earlier SPD_RUN), SPD_MATRICES
# (0: skip step 1 and train on the matrices of .cache/detector/current.json, e.g. for a second run
# on the same data; they must have been built with the configured encoder: tune.ts checks).
# Never uses seed 1 (the evaluation set of bench/copy.ts). Re-running after an encoder change
# re-embeds (cached per file + encoder + fps + sampling rule + query views under .cache/embeddings/,
# see SAMPLING in datasets/matrices.ts) and retrains; rendered queries are reused. Queries are embedded
# with their picture-in-picture views and their matrices are the max over views, as `vidtrace match`;
# tune.ts applies the matcher's overlap resolution (not the cut snapping, which needs decoding).
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-/usr/bin/python3}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
RUN=${SPD_RUN:-.cache/detector/run}
start=$(date +%s)

ship() {
  mkdir -p models/spd-detector
  cp "$RUN/spd-detector/model.onnx" models/spd-detector/model.onnx.part && mv models/spd-detector/model.onnx.part models/spd-detector/model.onnx
  cp "$RUN/spd-detector/meta.json" models/spd-detector/meta.json
  cp "$RUN/spd-detector/card.md" models/spd-detector/card.md
  echo "shipped models/spd-detector from $RUN ($(stat -c %s models/spd-detector/model.onnx) bytes, encoder $(node -e 'console.log(require("./models/spd-detector/meta.json").encoder.fingerprint)')) in $(( $(date +%s) - start )) s"
}
if [ "${SPD_SHIP_ONLY:-0}" = 1 ]; then ship; exit 0; fi

echo "== 1/4 matrices"
if [ "${SPD_MATRICES:-1}" = 1 ]; then
  node --import tsx datasets/matrices.ts --seeds "${SPD_SEEDS:-101-106}" --val-seeds "${SPD_VAL_SEEDS:-107-112}" \
    --queries "${SPD_QUERIES:-60}" --negatives "${SPD_NEGATIVES:-15}"
else
  echo "skipped (SPD_MATRICES=0): $(cat .cache/detector/current.json | tr -d '\n')"
fi

echo "== 2/4 train + export"
rm -rf "$RUN" && mkdir -p "$RUN"
"$PYTHON" -W ignore scripts/detector/train_detector.py --out "$RUN/spd-detector" --fixture "$RUN/verify.json" "$@" 2>&1 | tee "$RUN/train.log"
# The channel subgraph rebuilt with fewer nodes, its affine maps folded into the stem (same outputs; pooled models only).
if node -e 'process.exit(require(process.argv[1]).training.pool > 1 ? 0 : 1)' "$PWD/$RUN/spd-detector/meta.json"; then
  "$PYTHON" scripts/detector/lean_channels.py "$RUN/spd-detector" | tee -a "$RUN/train.log"
fi
# The network part laid out so that onnxruntime fuses every residual sum and both heads (same weights).
"$PYTHON" scripts/detector/fused_network.py "$RUN/spd-detector" | tee -a "$RUN/train.log"

echo "== 3/4 verify (JS channels vs numpy; onnxruntime-node on the similarities, channels in the graph, vs PyTorch)"
node --import tsx scripts/detector/verify.ts --models "$RUN" --data "$RUN"

echo "== 4/4 calibrate + tune on validation seeds"
node --import tsx scripts/detector/tune.ts --models "$RUN"

if [ "${SPD_SHIP:-1}" = 1 ]; then ship; else echo "trained in $RUN in $(( $(date +%s) - start )) s (not shipped: SPD_SHIP=0)"; fi
