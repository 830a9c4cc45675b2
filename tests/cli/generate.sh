#!/usr/bin/env bash
# loom generate (issue 11): greedy generation of the tiny random gpt2
# goldens matches Hugging Face's generate(do_sample=False) token for token
# (tests/goldens/NAME/generate.txt, written by tests/goldens/make_generate.py:
# prompts whose top-1/top-2 margin is >= 2e-3 at every step) on every
# backend; seeded sampling gives make_sample.py's tokens on ref, c and jit; the
# stops (--eos, --max-new, --max-len), --timings, and the usage errors.
set -u
: "${LOOM:?}"
. ./lib.sh
export OMP_NUM_THREADS=1

for n in gpt2-tiny gpt2-gelu gpt2-relu; do
  f=goldens/$n/generate.txt
  prompt=$(sed -n 's/^prompt //p' "$f") max_new=$(sed -n 's/^max_new //p' "$f")
  want=$(sed -n 's/^expect //p' "$f")
  for b in $backends; do
    got=$("$LOOM" generate goldens/$n/model.yaml --prompt-ids "$prompt" \
          --max-new "$max_new" --backend $b 2>"$tmp/err")
    [ "$got" = "$want" ] && ok || bad "$n $b: '$got', want '$want' (HF)"
  done
done

# Every pass off in turn, and none at all: the same tokens (the fastest
# compiling backend that generates code: jit if built, else ref).
pb=ref; case $backends in *jit*) pb=jit ;; esac
for p in none fold-constants fuse-epilogue fuse-qkv fuse-attention layout cse dce plan-memory; do
  arg=--disable=$p; [ $p = none ] && arg=--passes=none
  f=goldens/gpt2-relu/generate.txt
  got=$("$LOOM" generate goldens/gpt2-relu/model.yaml --prompt-ids "$(sed -n 's/^prompt //p' "$f")" \
        --max-new 16 --backend $pb $arg 2>"$tmp/err")
  [ "$got" = "$(sed -n 's/^expect //p' "$f")" ] && ok || bad "gpt2-relu $pb $arg: '$got'"
  f=goldens/transformer-pre-gelu/generate.txt
  got=$("$LOOM" generate goldens/transformer-pre-gelu/model.yaml --src-ids "$(sed -n 's/^src //p' "$f")" \
        --sos 1 --eos 0 --max-new 16 --backend $pb $arg 2>"$tmp/err")
  [ "$got" = "$(sed -n 's/^expect //p' "$f")" ] && ok || bad "transformer-pre-gelu $pb $arg: '$got'"
done

# Each graph compiled once however many tokens: the per-token time does
# not include compiling (compile_*_ms are reported once, beside it).
expect 0 "" "$LOOM" generate goldens/gpt2-tiny/model.yaml --prompt-ids 1,2 --max-new 60 --backend $pb --timings
[ "$(grep -c '^compile_' "$tmp/err")" = 2 ] && ok || bad "compile lines: $(grep '^compile_' "$tmp/err")"

# The transformer family: the source encoded once, then from <sos>; the
# goldens' greedy loop runs make_goldens.py's PyTorch module on the whole
# target at every step.  (--eos is required; 0 does not occur in them.)
for n in transformer-post-relu transformer-pre-gelu transformer-post-gelu_tanh; do
  f=goldens/$n/generate.txt
  src=$(sed -n 's/^src //p' "$f") sos=$(sed -n 's/^sos //p' "$f")
  max_new=$(sed -n 's/^max_new //p' "$f") want=$(sed -n 's/^expect //p' "$f")
  for b in $backends; do
    got=$("$LOOM" generate goldens/$n/model.yaml --src-ids "$src" --sos "$sos" \
          --eos 0 --max-new "$max_new" --backend $b 2>"$tmp/err")
    [ "$got" = "$want" ] && ok || bad "$n $b: '$got', want '$want' (PyTorch)"
  done
done
t=goldens/transformer-post-relu/model.yaml
expect 2 "--src-ids is missing" "$LOOM" generate $t --sos 1 --eos 0 --max-new 3
expect 2 "--sos is missing" "$LOOM" generate $t --src-ids 1,2 --eos 0 --max-new 3
expect 2 "--eos is missing" "$LOOM" generate $t --src-ids 1,2 --sos 1 --max-new 3
expect 2 "not --prompt-ids" "$LOOM" generate $t --prompt-ids 1,2 --max-new 3
expect 0 "" "$LOOM" generate $t --src-ids 3,4,5 --sos 1 --eos 0 --max-new 2 --backend ref --timings
grep -q "^encode_ms=" "$tmp/err" && ok || bad "transformer --timings: no encode_ms"
expect 0 "" "$LOOM" dump $t --graph=encode
grep -q '%cross_k.1 = transpose' "$tmp/out" && ok || bad "encode: no cross_k.1"

# Seeded sampling: the tokens of goldens/gpt2-gelu/sample.txt (Hugging
# Face's logits through a Python copy of the sampler, a seed whose draws,
# top-k and top-p cut-offs all have a margin: make_sample.py) on every
# backend; another seed, another sequence.
m=goldens/gpt2-gelu/model.yaml
sample=$(sed -n 's/^args //p' goldens/gpt2-gelu/sample.txt)
seed=$(sed -n 's/^seed //p' goldens/gpt2-gelu/sample.txt)
want=$(sed -n 's/^expect //p' goldens/gpt2-gelu/sample.txt)
for b in $backends; do
  got=$("$LOOM" generate $m $sample --seed $seed --backend $b)
  [ -n "$want" ] && [ "$got" = "$want" ] && ok || bad "sampling on $b: '$got', want '$want'"
done
other=$("$LOOM" generate $m $sample --seed $((seed + 1)) --backend ref)
[ "$other" != "$want" ] && ok || bad "seeds $seed and $((seed + 1)) drew the same tokens"
# The compile options reach every graph: --threads 1 gives the same tokens;
# --dtype bf16 gives the bf16 reference's tokens (ref) on every backend.
f=goldens/gpt2-gelu/generate.txt
prompt=$(sed -n 's/^prompt //p' "$f") max_new=$(sed -n 's/^max_new //p' "$f")
got=$("$LOOM" generate goldens/gpt2-gelu/model.yaml --prompt-ids "$prompt" \
      --max-new "$max_new" --threads 1 2>"$tmp/err")
[ "$got" = "$(sed -n 's/^expect //p' "$f")" ] && ok || bad "--threads 1: '$got'"
want=$("$LOOM" generate goldens/gpt2-gelu/model.yaml --prompt-ids "$prompt" \
       --max-new "$max_new" --backend ref --dtype bf16 2>"$tmp/err")
for b in $backends; do
  got=$("$LOOM" generate goldens/gpt2-gelu/model.yaml --prompt-ids "$prompt" \
        --max-new "$max_new" --backend $b --dtype bf16 2>"$tmp/err")
  [ -n "$want" ] && [ "$got" = "$want" ] && ok || bad "--dtype bf16 $b: '$got', ref '$want'"
done

# Stops: --eos (printed, counted), --max-len (a note), --max-new.
m=goldens/gpt2-tiny/model.yaml
expect 0 "37 37 413" "$LOOM" generate $m --prompt-ids 37,235,72,144,129 --max-new 16 --eos 413 --backend ref
[ "$(cat "$tmp/out")" = "37 37 413" ] && ok || bad "--eos 413: '$(cat "$tmp/out")'"
expect 0 "" "$LOOM" generate $m --prompt-ids 37,235,72,144,129 --max-new 16 --max-len 8 --backend ref
[ "$(wc -w < "$tmp/out")" = 4 ] && ok || bad "--max-len 8: '$(cat "$tmp/out")' (want 4 ids)"
grep -q "stopped at the cache's 8 positions" "$tmp/err" && ok || bad "--max-len: no note"
expect 0 "" "$LOOM" generate $m --prompt-ids 1,2 --max-new 3 --backend ref --timings
for k in prefill_ms decode_ms_per_token tokens_per_s kv_cache_bytes=30720 compile_prefill_ms compile_decode_ms; do
  grep -q "^$k" "$tmp/err" && ok || bad "--timings: no $k"
done

# Usage errors (exit 2) name what is missing; other families are refused.
expect 2 "--prompt-ids is missing" "$LOOM" generate $m --max-new 3
expect 2 "--max-new is missing" "$LOOM" generate $m --prompt-ids 1,2
expect 2 "--prompt-ids takes ids" "$LOOM" generate $m --prompt-ids 1,,2 --max-new 3
expect 2 "--top-p takes a number" "$LOOM" generate $m --prompt-ids 1 --max-new 3 --top-p 1.5
expect 2 "generate needs a gpt2 or transformer model" "$LOOM" generate goldens/bert-tiny/model.yaml --prompt-ids 1 --max-new 3
expect 2 "--src-ids and --sos are for transformer" "$LOOM" generate $m --prompt-ids 1 --src-ids 2 --max-new 3
expect 2 "unknown graph" "$LOOM" opt $m --graph=sideways
expect 1 "out of range" "$LOOM" generate $m --prompt-ids 9999 --max-new 3 --backend ref
expect 1 "has no prefill graph" "$LOOM" dump goldens/bert-tiny/model.yaml --graph=prefill

# The graphs: write_rows into k_cache/v_cache and attention at q_offset = P.
expect 0 "" "$LOOM" dump $m --graph=decode --max-len 16
grep -q '%k_cache.0 = input {state = true} : f32\[6, 16, 5\]' "$tmp/out" && ok || bad "decode: no k_cache.0 state"
grep -q '%pos = input {binds = P} : i32\[\]' "$tmp/out" && ok || bad "decode: no pos"
grep -q 'write_rows %k_cache.0, .* {axis = 1, at = P}' "$tmp/out" && ok || bad "decode: no write_rows"
grep -q 'causal = true, q_offset = P' "$tmp/out" && ok || bad "decode: no q_offset = P"
expect 0 "" "$LOOM" opt $m --graph=prefill --check-equivalence -o /dev/null
expect 0 "" "$LOOM" opt $m --graph=decode --max-len 16 --print-memory -o /dev/null
grep -q "kv_cache_bytes=7680 states=4 max_len=16 (480 bytes per position" "$tmp/out" "$tmp/err" &&
  ok || bad "--print-memory: no kv_cache_bytes"
expect 1 "input 'k_cache.0' is missing" "$LOOM" run $m --graph=decode --input ids=5 --input pos=0 --backend ref

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
