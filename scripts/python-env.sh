#!/usr/bin/env bash
# Sourced by scripts that need the Python client's tools: a virtualenv with
# the pinned clients/python/requirements-dev.txt, cached outside the clone
# and keyed by that file's hash, so a change of pins makes a fresh one.
ENGRAM_CACHE_DIR="${ENGRAM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/engram}"
_requirements="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/clients/python/requirements-dev.txt"
_hash="$(sha256sum "$_requirements" | cut -c1-12)"
ENGRAM_PYTHON_VENV="$ENGRAM_CACHE_DIR/python-clients-$_hash"
if [ ! -x "$ENGRAM_PYTHON_VENV/bin/python" ] || [ ! -f "$ENGRAM_PYTHON_VENV/.complete" ]; then
  echo "engram: creating the Python client environment in $ENGRAM_PYTHON_VENV" >&2
  rm -rf "$ENGRAM_PYTHON_VENV"
  python3 -m venv "$ENGRAM_PYTHON_VENV"
  "$ENGRAM_PYTHON_VENV/bin/pip" install --quiet --disable-pip-version-check -r "$_requirements"
  touch "$ENGRAM_PYTHON_VENV/.complete"
fi
export ENGRAM_PYTHON_VENV
