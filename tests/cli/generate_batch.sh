#!/usr/bin/env bash
# loom generate with a batch of prompts (issue 15, item 4): three prompts of
# different lengths, left-padded, greedy, equal to Hugging Face's
# generate(do_sample=False) with left padding and attention_mask token for
# token on every backend (tests/goldens/gpt2-batch/generate.txt, written by
# tests/goldens/make_generate.py: prompts whose top-1/top-2 margin is
# >= 2e-3 at every step of every row); each row stops at its own --eos; a
# row is what its prompt gives alone; the bound, the stops and the errors.
set -u
: "${LOOM:?}"
. ./lib.sh
export OMP_NUM_THREADS=1
m=goldens/gpt2-batch/model.yaml
f=goldens/gpt2-batch/generate.txt

prompts=$(sed -n 's/^prompts //p' "$f") max_new=$(sed -n 's/^max_new //p' "$f")
eos=$(sed -n 's/^eos //p' "$f")
want=$(sed -n 's/^expect //p' "$f") want_eos=$(sed -n 's/^expect_eos //p' "$f")
[ "$(echo "$want" | wc -l)" = 3 ] && ok || bad "$f: want 3 expect lines"
for b in $backends; do
  got=$("$LOOM" generate $m --prompt-ids "$prompts" --max-new "$max_new" \
        --backend $b 2>"$tmp/err")
  [ "$got" = "$want" ] && ok || bad "$b: got
$got
want (HF)
$want"
  # One row stops at its eos after a few tokens, one at once, one never.
  got=$("$LOOM" generate $m --prompt-ids "$prompts" --max-new "$max_new" \
        --eos "$eos" --backend $b 2>"$tmp/err")
  [ "$got" = "$want_eos" ] && ok || bad "$b --eos $eos: got
$got
want (HF)
$want_eos"
done

# A row is what its prompt gives alone (a batch of one has no padding),
# and the rows do not depend on their order.
IFS=';' read -r -a each <<<"$prompts"
for i in 0 1 2; do
  got=$("$LOOM" generate $m --prompt-ids "${each[$i]}" --max-new "$max_new" --backend ref)
  [ "$got" = "$(echo "$want" | sed -n "$((i + 1))p")" ] && ok || bad "prompt $i alone: '$got'"
done
got=$("$LOOM" generate $m --prompt-ids "${each[2]};${each[0]};${each[1]}" --max-new "$max_new" --backend ref)
row() { echo "$want" | sed -n "$1p"; }
[ "$got" = "$(printf '%s\n%s\n%s' "$(row 3)" "$(row 1)" "$(row 2)")" ] && ok || bad "reordered rows: '$got'"

# Seeded sampling: the same tokens on every backend; row r draws from
# seed + r, so row 0 (the longest prompt: no padding) samples what its
# prompt alone does with the same seed.
sample="--max-new 10 --temperature 0.9 --top-k 20 --repetition-penalty 1.2 --seed 5"
ref=$("$LOOM" generate $m --prompt-ids "${each[1]};${each[0]};${each[2]}" $sample --backend ref)
[ "$(echo "$ref" | wc -l)" = 3 ] && ok || bad "sampling: '$ref'"
for b in $backends; do
  got=$("$LOOM" generate $m --prompt-ids "${each[1]};${each[0]};${each[2]}" $sample --backend $b)
  [ "$got" = "$ref" ] && ok || bad "sampling on $b: '$got', ref '$ref'"
done
alone=$("$LOOM" generate $m --prompt-ids "${each[1]}" $sample --backend ref)
[ "$alone" = "$(echo "$ref" | sed -n 1p)" ] && ok || bad "sampled row 0 '$(echo "$ref" | sed -n 1p)', alone '$alone'"

# The cache bounds every row: the longest prompt (9) and --max-len 12
# leave 4 tokens each, with the note.  --timings: the caches of 3 rows.
expect 0 "" "$LOOM" generate $m --prompt-ids "$prompts" --max-new 12 --max-len 12 --backend ref --timings
[ "$(awk '{ print NF }' "$tmp/out" | tr '\n' ' ')" = "4 4 4 " ] && ok || bad "--max-len 12: '$(cat "$tmp/out")'"
grep -q "stopped at the cache's 12 positions" "$tmp/err" && ok || bad "--max-len: no note"
# 2 layers x (K, V) x 5 heads x 12 rows x 6 x 4 bytes = 5760 per row
grep -q "^kv_cache_bytes=17280$" "$tmp/err" && ok || bad "--timings: $(grep kv_cache "$tmp/err")"

# The bound and the usage errors (exit 2).
expect 2 "5 prompts, more than the model's max_batch 4" "$LOOM" generate $m --prompt-ids "1;2;3;4;5" --max-new 2 --backend ref
expect 0 "" "$LOOM" generate $m --prompt-ids "1;2;3;4" --max-new 2 --backend ref
[ "$(wc -l < "$tmp/out")" = 4 ] && ok || bad "4 prompts: '$(cat "$tmp/out")'"
expect 2 "no batch dimension (a model file's max_batch: N, or loom's --max-batch N)" \
  "$LOOM" generate goldens/gpt2-tiny/model.yaml --prompt-ids "1;2" --max-new 2 --backend ref
expect 2 "--prompt-ids takes ids" "$LOOM" generate $m --prompt-ids "1,2;" --max-new 2
expect 2 "--prompt-ids takes ids" "$LOOM" generate $m --prompt-ids "1,2;;3" --max-new 2
expect 1 "prompt id 97 at 1 of prompt 1 is out of range" "$LOOM" generate $m --prompt-ids "1;2,97" --max-new 2 --backend ref
expect 0 "IDS;IDS;...\": a batch of prompts" "$LOOM" generate --help

# --max-batch N gives a model without max_batch a batch dimension (and
# overrides a model's): gpt2-tiny's golden prompt as row 0 of two is its
# HF tokens; a bound in dumps; a graph-form model and a bad count are
# errors.
f=goldens/gpt2-tiny/generate.txt
got=$("$LOOM" generate goldens/gpt2-tiny/model.yaml --prompt-ids "$(sed -n 's/^prompt //p' "$f");5,6" \
      --max-new 16 --max-batch 2 --backend ref | head -1)
[ "$got" = "$(sed -n 's/^expect //p' "$f")" ] && ok || bad "gpt2-tiny --max-batch 2: '$got'"
expect 0 "" "$LOOM" generate $m --prompt-ids "1;2;3;4;5" --max-new 2 --max-batch 5 --backend ref
[ "$(wc -l < "$tmp/out")" = 5 ] && ok || bad "--max-batch 5: '$(cat "$tmp/out")'"
expect 0 "dim B <= 3" "$LOOM" dump goldens/bert-tiny/model.yaml --max-batch 3
expect 0 "dim B <= 7" "$LOOM" dump $m --graph=prefill --max-batch 7
expect 0 "dim B <= 2" "$LOOM" dump goldens/transformer-pre-gelu/model.yaml --max-batch 2
expect 1 "--max-batch applies to a family model" "$LOOM" dump goldens/attention-head/model.yaml --max-batch 2
expect 2 "--max-batch takes a count in 1..65536" "$LOOM" dump $m --max-batch 0
expect 0 "--max-batch N" "$LOOM" run --help

# The graphs: ids, position_ids [B, S], the mask over the cache's rows,
# caches [B, H, L, Dh] and the mask on every attention.
expect 0 "" "$LOOM" dump $m --graph=decode --max-len 16
grep -q '%position_ids = input : i32\[B, 1\]' "$tmp/out" && ok || bad "decode: no position_ids"
grep -q '%attention_mask = input {optional = true, fill = 1} : f32\[B, 16\]' "$tmp/out" && ok || bad "decode: no attention_mask [B, 16]"
grep -q '%k_cache.0 = input {state = true} : f32\[B, 5, 16, 6\]' "$tmp/out" && ok || bad "decode: no k_cache.0 [B, 5, 16, 6]"
grep -q 'gather %wpe.weight, %position_ids' "$tmp/out" && ok || bad "decode: positions not from position_ids"
[ "$(grep -c 'attention .*, %attention_mask {.*causal = true, q_offset = P' "$tmp/out")" = 2 ] &&
  ok || bad "decode: attention without the mask"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
