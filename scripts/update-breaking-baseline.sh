#!/usr/bin/env bash
# Records the contract as released: run this ON PURPOSE when a version is
# released (and commit the image), never to make `buf breaking` pass. From
# then on scripts/check-breaking.sh compares every change with this image.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
npx buf build -o proto/.breaking-baseline.binpb
echo "wrote proto/.breaking-baseline.binpb from proto/ at $(git rev-parse --short HEAD 2>/dev/null || echo 'this tree')" >&2
