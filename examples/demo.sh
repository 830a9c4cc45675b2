#!/usr/bin/env bash
# make demo: the flagship example.  For now the graph form's attention head
# (examples/attention-head.yaml): token ids in, a causal self-attention block
# out, run by the reference interpreter.
set -euo pipefail
LOOM=${1:-build/loom}
cd "$(dirname "$0")/.."
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

echo "== loom dump examples/attention-head.yaml (the Graph IR, abridged)"
"$LOOM" dump examples/attention-head.yaml | sed -e 's/ loc(.*)$//' | head -n 30
echo
echo "== loom run examples/attention-head.yaml --input ids=464,68,758,218,180,45 --print"
"$LOOM" run examples/attention-head.yaml --input ids=464,68,758,218,180,45 \
  --out-dir "$out" --print
