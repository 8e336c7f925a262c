#!/usr/bin/env bash
# Fails if any checked-in generated code (server TypeScript, and the
# TypeScript, Go and Python clients) differs from what `npm run generate`
# writes now. Regenerates into a scratch directory; the tree is untouched.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
bash scripts/generate.sh "$scratch"
status=0
for dir in src/gen clients/ts/src/gen clients/go/gen clients/python/src/engram_memory_client/gen; do
  if ! diff -ru --exclude=__pycache__ "$dir" "$scratch/$dir"; then status=1; fi
done
if [ "$status" -ne 0 ]; then
  echo "generated code is stale: run 'npm run generate' and commit the result" >&2
  exit 1
fi
echo "generated code is current" >&2
