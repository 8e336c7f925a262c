#!/usr/bin/env bash
# The README's first command: install what is needed, build, and start Engram
# on the embedded default (one SQLite file under ./.engram-data; no Redis,
# Weaviate or API key). Configure with ENGRAM_* variables (see docs/configuration.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
# Built only when a source or build setting is newer than the last build: the build is silent for
# about 20 s on a busy 2-core machine, so it is said, and a second start skips it.
if [ ! -f dist/main.js ] || [ -n "$(find src tsconfig.json tsconfig.build.json package-lock.json -newer dist/main.js -print -quit)" ]; then
  echo "engram: building dist/ (tsc)" >&2
  npm run --silent build
fi
if [ "${ENGRAM_MODEL_PROVIDER:-local-onnx}" = "local-onnx" ] && [ -z "${ENGRAM_ONNX_MODEL_DIR:-}" ]; then
  bash scripts/fetch-embedding-model.sh >/dev/null
fi
# glibc's mmap threshold kept at its default instead of growing: the model idles ~66 MiB smaller (docs/performance.md).
export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-131072}"
exec node dist/main.js serve
