#!/usr/bin/env bash
# Regenerates every generated file from proto/: the server's TypeScript, the
# TypeScript, Go and Python clients. Usage: generate.sh [OUT_ROOT] (default:
# the repository itself; CI's drift check passes a scratch directory).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="${1:-.}"
npx buf generate --output "$root"
npx buf generate --template buf.gen.clients.yaml --output "$root"
bash scripts/generate-python.sh "$root/clients/python/src"
