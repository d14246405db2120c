#!/usr/bin/env bash
# Installs everything vidtrace needs on a fresh Debian machine, idempotently and quietly when done:
# apt packages, npm dependencies, the faiss-node addon (built against Debian's libfaiss), models, build.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
export ONNXRUNTIME_NODE_INSTALL_CUDA=skip

APT_PACKAGES=(ffmpeg libfaiss-dev libopenblas-dev python3-torch python3-onnx python3-numpy python3-pil fonts-dejavu-core
  opencv-doc python3-imageio chromium)
# `setup.sh --extras`: real photographs for the frame benchmark's distractors and for training views.
if [ "${1:-}" = "--extras" ]; then APT_PACKAGES+=(mate-backgrounds plasma-workspace-wallpapers python3-skimage); fi
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/vidtrace-apt.log 2>&1 \
    || { tail -20 /tmp/vidtrace-apt.log >&2; exit 1; }
fi

# npm ci only when the lock file differs from the one last installed (script edits do not count).
stamp=node_modules/.vidtrace-lock-sha256
lock_sha="$(sha256sum package-lock.json | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sha" ]; then
  echo "setup: installing npm dependencies"
  npm ci --no-audit --no-fund --loglevel=error 2>&1 | grep -v "Unknown user config" || true
  [ -d node_modules/onnxruntime-node ] || { echo "setup: npm ci failed" >&2; exit 1; }
  echo "$lock_sha" > "$stamp"
fi

bash scripts/faiss/build.sh
bash scripts/models/build-models.sh

# Compile TypeScript when sources changed since the last build.
if [ ! -f dist/cli.js ] || [ -n "$(find src -newer dist/cli.js -print -quit)" ] || [ tsconfig.json -nt dist/cli.js ] \
   || [ ! -d dist/store/migrations ]; then
  echo "setup: compiling TypeScript"
  npm run --silent build
fi
