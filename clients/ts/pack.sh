#!/usr/bin/env bash
# Builds the engram-memory-client package from this checkout and writes its
# tarball (engram-memory-client-<version>.tgz) into the current directory, or
# into $1; prints the tarball's absolute path, so an application installs it
# with one command from its own directory:
#
#   npm install "$(bash "$ENGRAM_REPO/clients/ts/pack.sh")"
#
# The build runs in a temporary copy: nothing is written into the clone. The
# same tarball is what `npm publish` would upload (see docs/releasing.md).
set -euo pipefail
source_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
destination="$(cd "${1:-.}" && pwd)"
build="$(mktemp -d "${TMPDIR:-/tmp}/engram-memory-client.XXXXXX")"
trap 'rm -rf "$build"' EXIT
cp -R "$source_dir/package.json" "$source_dir/package-lock.json" "$source_dir/tsconfig.json" \
  "$source_dir/README.md" "$source_dir/src" "$build/"
# npm ci installs the pinned build tools and runs the package's prepare step (tsc).
(cd "$build" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error >&2)
# The tarball ships dist/ built: its prepare step would only make npm 11 warn,
# in the application's install, that it is "not yet covered by allowScripts".
(cd "$build" && npm pkg delete scripts.prepare)
tarball="$(cd "$build" && npm pack --ignore-scripts --silent --pack-destination "$destination" | tail -n 1)"
echo "$destination/$tarball"
