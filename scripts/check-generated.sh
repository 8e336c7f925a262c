#!/usr/bin/env bash
# Fails if the checked-in generated code differs from what `npm run generate`
# would write now. Regenerates into a scratch directory; the tree is untouched.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
npx buf generate --output "$scratch"
if ! diff -ru src/gen "$scratch/src/gen"; then
  echo "generated code is stale: run 'npm run generate' and commit the result" >&2
  exit 1
fi
echo "generated code is current" >&2
