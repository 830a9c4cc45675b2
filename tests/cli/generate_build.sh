#!/usr/bin/env bash
# Standalone generation (issue 11): what `loom build` (--via c and --via
# llvm, weights beside or embedded), `loom emit-c` (make) and `loom
# emit-obj` (a program of ours on NAME_generate) make of a gpt2 or
# transformer model generates the goldens' tokens (Hugging Face's greedy
# generate; the transformer's PyTorch greedy loop), draws the same sampled
# tokens as `loom generate`, and still runs the forward graph as before.
set -u
: "${LOOM:?}"
. ./lib.sh
export OMP_NUM_THREADS=1
field() { sed -n "s/^$1 //p" "goldens/$2/generate.txt"; }
llvm=0
case $backends in *jit*) llvm=1 ;; esac

# gpt2: build through C, weights beside; greedy = HF.
for n in gpt2-tiny gpt2-gelu; do
  expect 0 "generates with --prompt-ids" "$LOOM" build goldens/$n/model.yaml -o "$tmp/$n"
  got=$("$tmp/$n" --prompt-ids "$(field prompt $n)" --max-new "$(field max_new $n)" 2>"$tmp/err")
  [ "$got" = "$(field expect $n)" ] && ok || bad "$n (build): '$got', want '$(field expect $n)'"
done
# gpt2's graphs share the model's weights: no other weights file.
[ "$(ls "$tmp" | grep -c weights)" = 2 ] && ok || bad "gpt2 weights files: $(ls "$tmp")"

# Without generation options: the forward graph, as before (HF's logits).
expect 0 "logits f32" "$tmp/gpt2-tiny" --input ids=goldens/gpt2-tiny/in.ids.npy --out-dir "$tmp/fw"
"$LOOM_BIN/tests/npycmp" "$tmp/fw/logits.npy" goldens/gpt2-tiny/out.logits.npy 1e-4 1e-3 >/dev/null &&
  ok || bad "forward from the generating build differs from the golden"
expect 0 "--prompt-ids ID,ID" "$tmp/gpt2-tiny" --help

# Seeded sampling: the tokens of goldens/gpt2-gelu/sample.txt
# (make_sample.py: Hugging Face's logits, the sampler in Python, a seed
# with a margin), as loom generate draws them.
sample="$(sed -n 's/^args //p' goldens/gpt2-gelu/sample.txt) --seed $(sed -n 's/^seed //p' goldens/gpt2-gelu/sample.txt)"
want=$(sed -n 's/^expect //p' goldens/gpt2-gelu/sample.txt)
got=$("$tmp/gpt2-gelu" $sample)
[ -n "$want" ] && [ "$got" = "$want" ] && ok || bad "sampling: '$got', want '$want'"

# Stops and timings, usage errors (exit 2) naming what is missing.
expect 0 "37 37 413" "$tmp/gpt2-tiny" --prompt-ids 37,235,72,144,129 --max-new 16 --eos 413
[ "$(cat "$tmp/out")" = "37 37 413" ] && ok || bad "--eos 413: '$(cat "$tmp/out")'"
expect 0 "" "$tmp/gpt2-tiny" --prompt-ids 1,2 --max-new 3 --timings
for k in prefill_ms decode_ms_per_token tokens_per_s kv_cache_bytes=30720 new_tokens=3; do
  grep -q "^$k" "$tmp/err" && ok || bad "--timings: no $k"
done
expect 2 "--max-new is missing" "$tmp/gpt2-tiny" --prompt-ids 1,2
expect 2 "--src-ids and --sos are for transformer" "$tmp/gpt2-tiny" --src-ids 1 --prompt-ids 2 --max-new 1
expect 2 "--prompt-ids takes ids" "$tmp/gpt2-tiny" --prompt-ids 1,,2 --max-new 3
expect 2 "--top-p takes a number" "$tmp/gpt2-tiny" --prompt-ids 1 --max-new 3 --top-p 1.5
expect 1 "out of range" "$tmp/gpt2-tiny" --prompt-ids 9999 --max-new 3
# A smaller cache (--max-len at build time): stops there, with a note.
"$LOOM" build goldens/gpt2-tiny/model.yaml --max-len 8 -o "$tmp/short" >/dev/null 2>&1
expect 0 "" "$tmp/short" --prompt-ids 37,235,72,144,129 --max-new 16
[ "$(wc -w < "$tmp/out")" = 4 ] && ok || bad "--max-len 8: '$(cat "$tmp/out")'"
grep -q "stopped at the cache's 8 positions" "$tmp/err" && ok || bad "--max-len: no note"

# transformer: the encoder's and decoder's weights are their own files
# (or images in the executable); greedy = the PyTorch loop.
t=transformer-pre-gelu
args="--src-ids $(field src $t) --sos $(field sos $t) --eos 0 --max-new $(field max_new $t)"
expect 0 "prefill, decode and encode graphs" "$LOOM" build goldens/$t/model.yaml -o "$tmp/tr"
got=$("$tmp/tr" $args 2>"$tmp/err")
[ "$got" = "$(field expect $t)" ] && ok || bad "$t (build): '$got' $(cat "$tmp/err")"
[ -f "$tmp/tr.encode.weights" ] && [ -f "$tmp/tr.prefill.weights" ] && ok || bad "no tr.*.weights: $(ls "$tmp")"
expect 2 "--sos is missing" "$tmp/tr" --src-ids 1,2 --eos 0 --max-new 3
expect 2 "not --prompt-ids" "$tmp/tr" --prompt-ids 1,2 --max-new 3
mv "$tmp/tr.encode.weights" "$tmp/moved"
expect 1 "tr.encode.weights" "$tmp/tr" $args
mv "$tmp/moved" "$tmp/tr.encode.weights"

# emit-c and make: the same tokens; the Makefile builds the graphs too.
expect 0 "" "$LOOM" emit-c goldens/$t/model.yaml -o "$tmp/ec"
make -s -C "$tmp/ec" >/dev/null 2>&1 && ok || bad "make in the emit-c directory"
got=$("$tmp/ec/transformer_pre_gelu" $args 2>"$tmp/err")
[ "$got" = "$(field expect $t)" ] && ok || bad "$t (emit-c): '$got' $(cat "$tmp/err")"

if [ $llvm = 1 ]; then
  # build --via llvm, weights embedded (a chain of three images).
  for n in transformer-post-relu transformer-post-gelu_tanh; do
    a="--src-ids $(field src $n) --sos $(field sos $n) --eos 0 --max-new $(field max_new $n)"
    expect 0 "" "$LOOM" build goldens/$n/model.yaml -o "$tmp/$n" --via llvm --embed-weights
    got=$("$tmp/$n" $a 2>"$tmp/err")
    [ "$got" = "$(field expect $n)" ] && ok || bad "$n (llvm, embedded): '$got' $(cat "$tmp/err")"
    [ ! -e "$tmp/$n.weights" ] && [ ! -e "$tmp/$n.encode.weights" ] && ok || bad "$n: weights files beside"
  done
  # emit-obj and a program of ours on NAME_generate.
  expect 0 "generation: gpt2_tiny_gen.c" "$LOOM" emit-obj goldens/gpt2-tiny/model.yaml -o "$tmp/eo"
  cat > "$tmp/eo/prog.c" <<'EOF'
#include <stdio.h>
#include "gpt2_tiny.h"
static int print(void *user, int32_t id) { (void)user; printf(" %d", id); return 0; }
int main(void) {
  char err[1024];
  gpt2_tiny_generator *g;
  int32_t prompt[] = {37, 235, 72, 144, 129};
  loom_gen_params p = {.max_new = 16, .eos = -1, .temperature = 1, .top_p = 1,
                       .repetition_penalty = 1};
  if (gpt2_tiny_generator_create("gpt2_tiny.weights", &g, err, sizeof err) ||
      gpt2_tiny_generate(g, NULL, 0, prompt, 5, &p, print, NULL, NULL, err,
                         sizeof err)) {
    fprintf(stderr, "%s\n", err);
    return 1;
  }
  printf("\n");
  gpt2_tiny_generator_free(g);
  return 0;
}
EOF
  (cd "$tmp/eo" && cc -O1 -std=gnu11 -o prog prog.c gpt2_tiny.o gpt2_tiny_gen.c \
     gpt2_tiny_prefill.o gpt2_tiny_decode.o generate.c loom_obj.c -lm) >"$tmp/err" 2>&1 &&
    ok || bad "linking a program on NAME_generate: $(cat "$tmp/err")"
  got=$(cd "$tmp/eo" && ./prog)
  [ "$got" = " $(field expect gpt2-tiny)" ] && ok || bad "NAME_generate: '$got'"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
