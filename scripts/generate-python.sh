#!/usr/bin/env bash
# Generates the Python client's messages, gRPC stubs and type stubs from
# proto/engram with grpcio-tools and mypy-protobuf (pinned in
# clients/python/requirements-dev.txt). Usage: generate-python.sh [OUT_DIR]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/python-env.sh
out="${1:-clients/python/src}"
rm -rf "$out/engram"
mkdir -p "$out"
PATH="$ENGRAM_PYTHON_VENV/bin:$PATH" "$ENGRAM_PYTHON_VENV/bin/python" -m grpc_tools.protoc \
  -I proto \
  --python_out="$out" \
  --grpc_python_out="$out" \
  --mypy_out="$out" \
  --mypy_grpc_out="$out" \
  proto/engram/v1/*.proto
touch "$out/engram/__init__.py" "$out/engram/v1/__init__.py"
