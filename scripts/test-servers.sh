#!/usr/bin/env bash
# Installs the real servers the tests start for themselves, when missing:
# Redis from Debian's redis-server package.
set -euo pipefail

if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
  echo "engram: installing redis-server (Debian package)" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server >/dev/null
fi
# Debian's package may start a system instance; the tests use their own, on free ports.
redis-server --version >&2
