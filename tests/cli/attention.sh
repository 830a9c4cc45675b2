#!/usr/bin/env bash
# fuse-attention on the families: the default pipeline turns every
# attention of the four into one `attention` op (the paper's base model
# 18: 6 encoder self, 6 decoder causal self, 6 cross; BERT-base, GPT-2
# and ViT-B 12 each), and --disable=fuse-attention brings back the
# unfused chain; it is listed in the pipeline; and for a BERT at S = 4096
# the planned arena with it is below a tenth of the one without (no S×S
# score matrix).  The op's numbers on every backend are the op goldens'
# (tests/data/ops/attention_*: keep masks with a fully masked row,
# q_offset) and the pass matrix's.
set -u
: "${LOOM:?}"
. ./lib.sh

count() { # MODEL ARGS... -> number of attention ops after the pipeline
  local m=$1; shift
  "$LOOM" opt "$m" "$@" 2>"$tmp/err" | grep -c ' = attention '
}
for spec in transformer-base:18 bert-base:12 gpt2:12 vit-base:12; do
  m=../examples/${spec%%:*}.yaml want=${spec##*:}
  got=$(count "$m")
  [ "$got" = "$want" ] && ok || bad "$m: $got attention ops, want $want"
  got=$(count "$m" --disable=fuse-attention)
  [ "$got" = 0 ] && ok || bad "$m --disable=fuse-attention: $got attention ops"
  "$LOOM" opt "$m" --disable=fuse-attention 2>/dev/null | grep -q ' = softmax ' &&
    ok || bad "$m --disable=fuse-attention: no softmax left"
done

expect 0 "fuse-attention" "$LOOM" opt --list-passes
"$LOOM" opt --list-passes | grep -qE '[0-9]+\. fuse-attention' && ok ||
  bad "fuse-attention is not in the default pipeline"

# the memory criterion of issue 10
cat >"$tmp/bert-4k.yaml" <<'YAML'
family: bert
d_model: 256
heads: 8
d_ff: 1024
layers: 2
vocab: 1000
max_len: 4096
weights: {random: {seed: 1}}
YAML
peak() { "$LOOM" opt "$tmp/bert-4k.yaml" --print-memory "$@" -o /dev/null 2>&1 |
  sed -n 's/^memory: peak_bytes=\([0-9]*\).*/\1/p'; }
fused=$(peak) unfused=$(peak --disable=fuse-attention)
if [ -n "$fused" ] && [ -n "$unfused" ] && [ $((fused * 10)) -lt "$unfused" ]; then ok
else bad "bert S=4096: peak $fused fused vs $unfused unfused (want < 1/10)"; fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
