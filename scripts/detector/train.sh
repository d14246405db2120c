#!/usr/bin/env bash
# SPD copy detector, one command: training matrices with the CONFIGURED encoder (VIDTRACE_MODEL or
# the default of src/config.ts) -> training (PyTorch, CPU) -> ONNX export -> parity check
# (Node channels + onnxruntime vs PyTorch) -> calibration and threshold on held-out training-seed
# queries -> models/spd-detector/{model.onnx,meta.json,card.md}.
#
#   bash scripts/detector/train.sh [extra train_detector.py args, e.g. --steps 2000]
#
# Environment: SPD_SEEDS (default 101-106), SPD_VAL_SEEDS (107-108), SPD_QUERIES (60),
# SPD_NEGATIVES (15), PYTHON (/usr/bin/python3: needs torch, onnx, numpy).
# Never uses seed 1 (the evaluation set of bench/copy.ts). Re-running after an encoder change
# re-embeds (cached per file + encoder under .cache/embeddings/) and retrains; rendered queries are reused.
set -euo pipefail
cd "$(dirname "$0")/../.."
PYTHON=${PYTHON:-/usr/bin/python3}
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
RUN=.cache/detector/run
start=$(date +%s)

echo "== 1/4 matrices"
node --import tsx datasets/matrices.ts --seeds "${SPD_SEEDS:-101-106}" --val-seeds "${SPD_VAL_SEEDS:-107-108}" \
  --queries "${SPD_QUERIES:-60}" --negatives "${SPD_NEGATIVES:-15}"

echo "== 2/4 train + export"
rm -rf "$RUN" && mkdir -p "$RUN"
"$PYTHON" -W ignore scripts/detector/train_detector.py --out "$RUN/spd-detector" "$@" 2>&1 | tee "$RUN/train.log"

echo "== 3/4 verify (Node channels + onnxruntime-node vs PyTorch)"
node --import tsx scripts/detector/verify.ts --models "$RUN"

echo "== 4/4 calibrate + tune on validation seeds"
node --import tsx scripts/detector/tune.ts --models "$RUN"

mkdir -p models/spd-detector
cp "$RUN/spd-detector/model.onnx" models/spd-detector/model.onnx.part && mv models/spd-detector/model.onnx.part models/spd-detector/model.onnx
cp "$RUN/spd-detector/meta.json" models/spd-detector/meta.json
cp "$RUN/spd-detector/card.md" models/spd-detector/card.md
echo "shipped models/spd-detector ($(stat -c %s models/spd-detector/model.onnx) bytes, encoder $(node -e 'console.log(require("./models/spd-detector/meta.json").encoder.fingerprint)')) in $(( $(date +%s) - start )) s"
