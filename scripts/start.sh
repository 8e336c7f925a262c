#!/usr/bin/env bash
# The README's first command: install what is needed, build, and start Engram
# on the embedded default (one SQLite file under ./.engram-data; no Redis,
# Weaviate or API key). Configure with ENGRAM_* variables (see docs/configuration.md).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"
npm run --silent build
if [ "${ENGRAM_MODEL_PROVIDER:-local-onnx}" = "local-onnx" ] && [ -z "${ENGRAM_ONNX_MODEL_DIR:-}" ]; then
  bash scripts/fetch-embedding-model.sh >/dev/null
fi
exec node dist/main.js serve
