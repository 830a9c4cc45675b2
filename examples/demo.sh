#!/usr/bin/env bash
# make demo: the flagship example — the base model of "Attention Is All You
# Need" (examples/transformer-base.yaml: d_model 512, 8 heads, d_ff 2048,
# 6+6 layers, vocab 32000, random weights) translating a short source into
# the logits of a short target.
set -euo pipefail
LOOM=${1:-build/loom}
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

model=examples/transformer-base.yaml
echo "== $model: $("$LOOM" dump "$model" | grep -c ' = ') Graph IR nodes"
echo "== loom run $model --input src=... --input tgt=... --print"
"$LOOM" run "$model" --input src=464,2068,7586,21831,18045,625,262,16931 \
  --input tgt=1,383,2068,7586 --out-dir "$out" --print
