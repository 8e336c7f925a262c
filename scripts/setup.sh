#!/usr/bin/env bash
# Sourced by the entry scripts: Node >= 22 on PATH and npm dependencies
# installed exactly as locked. Safe to run again; it only does what is missing.
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo_root"
# shellcheck source=scripts/node-env.sh
source "$repo_root/scripts/node-env.sh"

stamp="node_modules/.engram-installed"
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  echo "engram: installing npm dependencies" >&2
  # onnxruntime-node's CPU binaries are in its npm package; its install step
  # would only fetch CUDA providers from outside the registry.
  ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
  touch "$stamp"
fi
