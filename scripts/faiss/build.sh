#!/usr/bin/env bash
# Builds faiss-node's native addon against Debian's libfaiss (its own install script downloads from GitHub).
# Idempotent: does nothing when the addon already loads.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
pkg="$root/node_modules/faiss-node"
here="$root/scripts/faiss"
[ -d "$pkg" ] || { echo "faiss-node is not installed (run npm ci first)" >&2; exit 1; }
# The check writes and reads an index: a build without RTTI loads fine but crashes in faiss::write_index.
check="const f=require('faiss-node');const i=new f.IndexFlatIP(2);i.add([1,0,0,1]);const j=f.IndexFlatIP.fromBuffer(i.toBuffer());if(j.ntotal()!==2||j.search([1,0],1).labels[0]!==0)process.exit(1)"
if (cd "$root" && node -e "$check" >/dev/null 2>&1); then exit 0; fi
cp "$here/binding.gyp" "$here/idx_t_compat.h" "$pkg/"
gyp="$(dirname "$(command -v npm)")/../lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js"
[ -f "$gyp" ] || gyp="$(npm root -g)/npm/node_modules/node-gyp/bin/node-gyp.js"
echo "building faiss-node against the system libfaiss…"
(cd "$pkg" && node "$gyp" rebuild --nodedir="${npm_config_nodedir:-/usr}" -j 2 >/tmp/faiss-node-build.log 2>&1) \
  || { echo "faiss-node build failed; log:" >&2; tail -30 /tmp/faiss-node-build.log >&2; exit 1; }
(cd "$root" && node -e "$check") && echo "faiss-node built"
