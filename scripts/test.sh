#!/usr/bin/env bash
# Runs every test file (unit beside the sources, integration and e2e under test/) with node's test runner.
# Node 20's runner takes no globs, so the files are listed here. Extra arguments go to node --test.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(find src test -name '*.test.ts' | sort)
exec node --import tsx --test --test-concurrency=1 --test-reporter=spec "$@" "${files[@]}"
