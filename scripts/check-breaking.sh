#!/usr/bin/env bash
# Checks the contract in proto/ for wire- and JSON-breaking changes against
# the last released contract: the committed image proto/.breaking-baseline.binpb
# (CI's fresh clone has it; it needs no branch or network). Additions pass;
# removals, renumbers and type changes fail. A missing baseline fails too:
# a check that compares against nothing must not pass.
# Usage: check-breaking.sh [MODULE_ROOT] (default: this repository).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="${1:-$repo}"
baseline="$root/proto/.breaking-baseline.binpb"
if [[ ! -f "$baseline" ]]; then
  echo "buf breaking: no baseline at proto/.breaking-baseline.binpb;" \
    "build it from the released contract with: bash scripts/update-breaking-baseline.sh" >&2
  exit 1
fi
cd "$root"
"$repo/node_modules/.bin/buf" breaking --against proto/.breaking-baseline.binpb
