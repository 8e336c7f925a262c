#!/usr/bin/env bash
# Generates the Python client's messages, gRPC stubs and type stubs from
# proto/engram with grpcio-tools and mypy-protobuf (pinned in
# clients/python/requirements-dev.txt). Usage: generate-python.sh [OUT_DIR]
#
# The code goes inside the client's own package, engram_memory_client.gen,
# never to a top-level `engram` package: that import name belongs to an
# unrelated package on PyPI. protoc writes imports as `from engram.v1 import
# ...`, so they (and the module names passed to the protobuf builder) are
# rewritten; descriptors and gRPC method paths ("/engram.v1.MemoryService/…")
# keep the proto package name, which is what goes on the wire.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/python-env.sh
out="${1:-clients/python/src}"
package="engram_memory_client.gen"
target="$out/${package//.//}"
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
PATH="$ENGRAM_PYTHON_VENV/bin:$PATH" "$ENGRAM_PYTHON_VENV/bin/python" -m grpc_tools.protoc \
  -I proto \
  --python_out="$scratch" \
  --grpc_python_out="$scratch" \
  --mypy_out="$scratch" \
  --mypy_grpc_out="$scratch" \
  proto/engram/v1/*.proto
sed -i -E \
  -e "s/^from engram\.v1 import /from ${package}.engram.v1 import /" \
  -e "s/'engram\.v1\.([a-z_]+_pb2)'/'${package}.engram.v1.\1'/" \
  "$scratch"/engram/v1/*.py "$scratch"/engram/v1/*.pyi
if grep -rqE "^(from|import) engram\b" "$scratch"; then
  echo "generate-python.sh: an import of the top-level engram package survived the rewrite" >&2
  exit 1
fi
touch "$scratch/engram/__init__.py" "$scratch/engram/v1/__init__.py"
rm -rf "$target"
mkdir -p "$target"
touch "$target/__init__.py"
cp -r "$scratch/engram" "$target/"
