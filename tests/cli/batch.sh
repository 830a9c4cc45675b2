#!/usr/bin/env bash
# Batches with padding (issue 15): goldens/bert-batch (a BertModel with a
# batch of 5 right-padded sentences, HF's outputs; made by
# tests/goldens/make_batch_goldens.py).  unit/test_goldens and the pass
# matrix check the batch itself on every backend; here: every sentence run
# alone ([1, len], no padding) gives HF's embedding of that sentence (so the
# batch's pooled rows equal the sentences alone), on ref, c and jit; ids of
# rank 1 are a batch of one; attention_mask left out keeps every token, and
# as int64 reads as the float mask; more rows than max_batch is an error
# naming the bound; fuse-attention turns the padding mask into the keep of
# every attention; the matmuls of a batch are one GEMM each.
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
NPYCMP="$LOOM_BIN/tests/npycmp"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../lib.sh"

G=goldens/bert-batch
M=$G/model.yaml

# each sentence alone equals HF's embedding of it (= row K of the batch's)
for be in ref c jit; do
  for k in 0 1 2 3 4; do
    if "$LOOM" run "$M" --backend $be --input ids=$G/alone/ids.$k.npy \
         --input token_type_ids=$G/alone/token_type_ids.$k.npy \
         --out-dir "$tmp/$be.$k" >/dev/null 2>"$tmp/err" &&
       "$NPYCMP" "$tmp/$be.$k/embedding.npy" $G/alone/embedding.$k.npy >/dev/null; then
      ok
    else
      bad "sentence $k alone on $be"; cat "$tmp/err"
    fi
  done
done

# the whole batch with the mask as int64 (HF tokenizers' dtype)
for be in ref jit; do
  if "$LOOM" run "$M" --backend $be --input ids=$G/in.ids.npy \
       --input token_type_ids=$G/in.token_type_ids.npy \
       --input attention_mask=$G/alone/attention_mask.i64.npy \
       --out-dir "$tmp/i64.$be" >/dev/null 2>"$tmp/err" &&
     "$NPYCMP" "$tmp/i64.$be/hidden.npy" $G/out.hidden.npy >/dev/null &&
     "$NPYCMP" "$tmp/i64.$be/embedding.npy" $G/out.embedding.npy >/dev/null; then
    ok
  else
    bad "int64 attention_mask on $be"; cat "$tmp/err"
  fi
done

# rank-1 ids: a batch of one; attention_mask left out is all ones
expect 0 "hidden f32[1, 4, 42]" "$LOOM" run "$M" --input ids=5,6,7,8 --out-dir "$tmp/r1"
expect 0 "embedding f32[1, 42]" "$LOOM" run "$M" --input ids=5,6,7,8 --out-dir "$tmp/r1"
expect 0 "" "$LOOM" run "$M" --input ids=5,6,7,8 --input attention_mask=1,1,1,1 --out-dir "$tmp/r1m"
cmp -s "$tmp/r1/hidden.npy" "$tmp/r1m/hidden.npy" && ok || bad "a left-out attention_mask is not all ones"
# ... on the C backend and the JIT too (the generated ABI's fill)
for be in c jit; do
  expect 0 "" "$LOOM" run "$M" --backend $be --input ids=5,6,7,8 --out-dir "$tmp/r1$be"
  "$NPYCMP" "$tmp/r1$be/hidden.npy" "$tmp/r1/hidden.npy" >/dev/null && ok || bad "fill = 1 on $be"
done
# and from a standalone binary
if "$LOOM" build "$M" -o "$tmp/bb" >/dev/null 2>"$tmp/err" &&
   "$tmp/bb" --input ids=$G/in.ids.npy --input token_type_ids=$G/in.token_type_ids.npy \
     --input attention_mask=$G/in.attention_mask.npy --out-dir "$tmp/sa" >/dev/null 2>>"$tmp/err" &&
   "$NPYCMP" "$tmp/sa/hidden.npy" $G/out.hidden.npy >/dev/null &&
   "$tmp/bb" --input ids=$G/alone/ids.2.npy --input token_type_ids=$G/alone/token_type_ids.2.npy \
     --out-dir "$tmp/sa2" >/dev/null 2>>"$tmp/err" &&
   "$NPYCMP" "$tmp/sa2/embedding.npy" $G/alone/embedding.2.npy >/dev/null; then
  ok
else
  bad "standalone binary of the batched model"; cat "$tmp/err"
fi

# more rows than max_batch
expect 1 "B" "$LOOM" run "$M" --input ids=$G/alone/ids-7x3.npy --out-dir "$tmp/e7"
[ ! -e "$tmp/e7/hidden.npy" ] && ok || bad "a failed run wrote an output"
# max_batch is checked like every count
printf 'name: x\nfamily: bert\nd_model: 8\nheads: 2\nd_ff: 8\nlayers: 1\nvocab: 9\nmax_len: 8\nmax_batch: 0\nweights: {random: {seed: 1}}\n' >"$tmp/mb0.yaml"
expect 1 "mb0.yaml:9:12: error: max_batch must be positive, got 0" "$LOOM" dump "$tmp/mb0.yaml"

# fuse-attention: each layer's attention takes the mask as its keep
expect_re 0 "attention %[0-9]+, %[0-9]+, %[0-9]+, %attention_mask \{order = shd" "$LOOM" opt "$M"
n=$("$LOOM" opt "$M" | grep -c "= attention .*%attention_mask")
[ "$n" = 2 ] && ok || bad "fused attentions with keep: $n, want 2"
# the unfused chain masks the scores
n=$("$LOOM" opt "$M" --disable=fuse-attention | grep -c "= mask ")
[ "$n" = 2 ] && ok || bad "mask nodes with --disable=fuse-attention: $n, want 2"

# one GEMM per projection: no batch loop in the kernels of the matmuls
"$LOOM" dump "$M" --kernels >"$tmp/k" 2>"$tmp/err" || bad "dump --kernels"
awk '/^kernel k[0-9]+_matmul/{m=1} /^kernel/&&!/_matmul/{m=0} m&&/for b[0-9]* = /{print}' "$tmp/k" >"$tmp/bl"
[ ! -s "$tmp/bl" ] && ok || { bad "a matmul of a batch loops over it"; head -3 "$tmp/bl"; }

# vit: each image alone ([C, H, W], a batch of one) is its row of the batch
for be in ref c jit; do
  for k in 0 1 2; do
    if "$LOOM" run goldens/vit-batch/model.yaml --backend $be \
         --input pixels=goldens/vit-batch/alone/pixels.$k.npy --out-dir "$tmp/v.$be.$k" >/dev/null 2>"$tmp/err" &&
       "$NPYCMP" "$tmp/v.$be.$k/hidden.npy" goldens/vit-batch/alone/hidden.$k.npy >/dev/null; then
      ok
    else
      bad "vit image $k alone on $be"; cat "$tmp/err"
    fi
  done
done

# gpt2: each row alone (ids [len]) gives HF's logits of it alone
for be in ref c jit; do
  for k in 0 1 2; do
    if "$LOOM" run goldens/gpt2-batch/model.yaml --backend $be \
         --input ids=goldens/gpt2-batch/alone/ids.$k.npy --out-dir "$tmp/g.$be.$k" >/dev/null 2>"$tmp/err" &&
       "$NPYCMP" "$tmp/g.$be.$k/logits.npy" goldens/gpt2-batch/alone/logits.$k.npy >/dev/null; then
      ok
    else
      bad "gpt2 row $k alone on $be"; cat "$tmp/err"
    fi
  done
done
n=$("$LOOM" opt goldens/gpt2-batch/model.yaml | grep -c "= attention .*%attention_mask {order = shd, scale = .*, causal = true}")
[ "$n" = 2 ] && ok || bad "gpt2-batch: fused causal attentions with keep: $n, want 2"

# transformer: the masks reach every attention (fused: keep); left out,
# they are all ones on every backend (and then the padding is attended)
TB=goldens/transformer-batch
o=$("$LOOM" opt $TB/model.yaml)
[ "$(echo "$o" | grep -c "= attention .*%src_mask {order = shd")" = 4 ] && ok ||
  bad "transformer-batch: attentions keyed by src_mask (2 encoder + 2 cross): $(echo "$o" | grep -c '%src_mask {')"
[ "$(echo "$o" | grep -c "= attention .*%tgt_mask {order = shd, scale = .*, causal = true}")" = 2 ] && ok ||
  bad "transformer-batch: causal attentions keyed by tgt_mask"
for be in ref c jit; do
  "$LOOM" run $TB/model.yaml --backend $be --input src=$TB/in.src.npy --input tgt=$TB/in.tgt.npy \
    --out-dir "$tmp/tb.$be" >/dev/null 2>"$tmp/err" && ok || { bad "transformer-batch without masks on $be"; cat "$tmp/err"; }
done
"$NPYCMP" "$tmp/tb.c/logits.npy" "$tmp/tb.ref/logits.npy" >/dev/null && ok || bad "transformer-batch without masks: c vs ref"
"$NPYCMP" "$tmp/tb.ref/logits.npy" $TB/out.logits.npy >/dev/null && bad "transformer-batch: masks left out changed nothing" || ok

echo "batch: $pass passed, $fail failed"
[ "$fail" = 0 ]
