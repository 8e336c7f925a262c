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
# npm ci installs the pinned build tools (none has an install script), then
# the build runs by name: left to npm ci as the prepare step, npm 11 warns
# that it is "not yet covered by allowScripts", in every newcomer's install.
(cd "$build" && npm ci --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error >&2 &&
  npm run --silent build >&2)
tarball="$(cd "$build" && npm pack --ignore-scripts --silent --pack-destination "$destination" | tail -n 1)"
echo "$destination/$tarball"
