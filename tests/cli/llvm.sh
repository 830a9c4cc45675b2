#!/usr/bin/env bash
# The LLVM backend from the command line: the JIT is run's default, its
# outputs match PyTorch, --timings reports where the time went, kernel
# return codes become located errors, dump --llvm / --asm show the code
# (512-bit FMAs on zmm registers on an AVX-512 host, 256-bit ones for
# --target x86-64-v3), emit-obj writes its four files and an object file
# links into a program of the user's.  (Every golden through the JIT:
# unit/test_goldens_jit; through build --via llvm: cli/llvm_build.)
# Skipped (77) when loom was built without LLVM.
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
NPYCMP="$LOOM_BIN/tests/npycmp"
"$LOOM" run --help | grep -q '^ *jit ' || { echo "skipped: loom was built without LLVM"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../lib.sh"

# check NAME CMD...: a command that must succeed
check() {
  local what=$1; shift
  if "$@" >"$tmp/cout" 2>&1; then pass=$((pass + 1)); else
    echo "FAIL: $what"; sed 's/^/  | /' "$tmp/cout" | head -20; fail=$((fail + 1)); fi
}

AH=goldens/attention-head
M=$AH/model.yaml

# run: the JIT by default; outputs match PyTorch; --timings on stderr
expect_re 0 "default jit" "$LOOM" run --help
expect_re 0 "y f32\[11, 32\]" "$LOOM" run "$M" --input ids="$AH/in.ids.npy" --out-dir "$tmp/o1" --timings
for key in parse_ms passes_ms lower_ms codegen_ms jit_ms run_ms peak_activation_bytes; do
  grep -qE "^$key=[0-9.]+$" "$tmp/err" && pass=$((pass + 1)) ||
    { echo "FAIL: --timings has no $key="; sed 's/^/  | /' "$tmp/err"; fail=$((fail + 1)); }
done
for o in y probs; do
  expect 0 " 0 beyond tolerance" "$NPYCMP" "$tmp/o1/$o.npy" "$AH/out.$o.npy"
done
# the scalar kernels (target generic) and AVX2 (x86-64-v3) agree too
for t in generic x86-64-v3; do
  expect 0 "" "$LOOM" run "$M" --backend jit --target "$t" --input ids="$AH/in.ids.npy" --out-dir "$tmp/o-$t"
  expect 0 " 0 beyond tolerance" "$NPYCMP" "$tmp/o-$t/y.npy" "$AH/out.y.npy"
done
# an id out of range: which input, where, what (checked before any kernel runs)
expect_re 1 "model.yaml:[0-9]+:[0-9]+: error: input 'ids': id 500 at \[2\] is out of range for table" \
  "$LOOM" run "$M" --backend jit --input ids=1,2,500 --out-dir "$tmp/o2"
[ -e "$tmp/o2" ] && [ -n "$(ls -A "$tmp/o2")" ] && { echo "FAIL: a failed run left files"; fail=$((fail + 1)); }

# dump --llvm / --asm
expect_re 0 "@llvm.fma.v16f32" "$LOOM" dump "$M" --llvm --target x86-64-v4
expect_re 0 "define i32 @k[0-9]+_matmul_thunk" "$LOOM" dump "$M" --llvm
expect_re 0 "call void @loom_parallel_for" "$LOOM" dump goldens/bert-tiny/model.yaml --llvm
if grep -qw avx512f /proc/cpuinfo; then
  expect_re 0 "vfmadd[0-9]+ps	%zmm" "$LOOM" dump goldens/bert-tiny/model.yaml --asm
fi
expect_re 0 "" "$LOOM" dump "$M" --asm --target x86-64-v3 -o "$tmp/v3.s"
expect_re 0 "vfmadd[0-9]+ps	%ymm" cat "$tmp/v3.s"
grep -q zmm "$tmp/v3.s" && { echo "FAIL: zmm registers for x86-64-v3"; fail=$((fail + 1)); }
expect_re 2 "dump: give one of --kernels, --llvm, --asm" "$LOOM" dump "$M" --llvm --asm
expect_re 2 "unknown target 'pdp11'" "$LOOM" dump "$M" --asm --target pdp11

# emit-obj: NAME.o, NAME.h, NAME.weights, loom_obj.c; a program of ours
# links the object file and runs the model through NAME.h
expect_re 0 "attention_head.o: 12 kernels" "$LOOM" emit-obj "$M" -o "$tmp/eo"
for f in attention_head.o attention_head.h attention_head.weights loom_obj.c; do
  [ -s "$tmp/eo/$f" ] && pass=$((pass + 1)) || { echo "FAIL: emit-obj wrote no $f"; fail=$((fail + 1)); }
done
ls -A "$tmp/eo" | grep -q loom-emit-obj && { echo "FAIL: emit-obj left its temporary directory"; fail=$((fail + 1)); }
cat >"$tmp/eo/prog.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include "attention_head.h"
int main(int argc, char **argv) {
  char err[1024];
  attention_head_model *m;
  if (attention_head_create(argv[1], &m, err, sizeof err)) { fprintf(stderr, "%s\n", err); return 1; }
  int32_t ids[3] = {5, 17, 0};
  attention_head_tensor in = {"ids", attention_head_I32, 1, {3}, ids}, out[2] = {{0}};
  if (attention_head_output_shapes(&in, 1, out, 2, err, sizeof err)) { puts(err); return 1; }
  for (int i = 0; i < 2; i++) out[i].data = malloc(attention_head_tensor_bytes(&out[i]));
  if (attention_head_run(m, &in, 1, out, 2, err, sizeof err)) { puts(err); return 1; }
  printf("%s %s [%lld, %lld] %.4f\n", attention_head_name(), out[0].name,
         (long long)out[0].dims[0], (long long)out[0].dims[1], ((float *)out[0].data)[0]);
  int32_t bad[2] = {1, 900};
  attention_head_tensor in2 = {"ids", attention_head_I32, 1, {2}, bad};
  attention_head_output_shapes(&in2, 1, out, 2, err, sizeof err);
  if (attention_head_run(m, &in2, 1, out, 2, err, sizeof err)) puts(err);
  for (int i = 0; i < 2; i++) free(out[i].data);
  attention_head_free(m);
  return 0;
}
EOF
check "a program links attention_head.o" cc -O2 -fopenmp -o "$tmp/eo/prog" "$tmp/eo/prog.c" "$tmp/eo/attention_head.o" "$tmp/eo/loom_obj.c" -lm
expect_re 0 "attention-head y \[3, 32\]" "$tmp/eo/prog" "$tmp/eo/attention_head.weights"
cp "$tmp/out" "$tmp/prog.out"
expect_re 0 "error: input 'ids': id [0-9]+ at \[[0-9]+\] is out of range" cat "$tmp/prog.out"
expect_re 1 "model.safetensors: error: not a loom weights file" "$tmp/eo/prog" goldens/bert-tiny/model.safetensors
expect_re 2 "emit-obj: give the output directory with -o DIR" "$LOOM" emit-obj "$M"
expect_re 2 "build: --via 'gcc' is not c or llvm" "$LOOM" build "$M" -o "$tmp/x" --via gcc

# after the default pipeline no family's LLVM IR calls sin or cos (the
# positional tables are constants); without the passes the transformer's
# does, so the check can fail
for m in goldens/transformer-post-relu goldens/gpt2-tiny goldens/bert-tiny goldens/vit-tiny; do
  "$LOOM" dump "$m/model.yaml" --llvm >"$tmp/m.ll" 2>&1 || { echo "FAIL: dump --llvm $m"; fail=$((fail + 1)); continue; }
  if grep -qE 'call .*@(sin|cos)f?\(' "$tmp/m.ll"; then
    echo "FAIL: $m: the LLVM IR calls sin or cos"; fail=$((fail + 1)); else pass=$((pass + 1)); fi
done
"$LOOM" dump goldens/transformer-post-relu/model.yaml --llvm --passes=none >"$tmp/m.ll" 2>&1
grep -qE 'call .*@(sin|cos)f?\(' "$tmp/m.ll" && pass=$((pass + 1)) ||
  { echo "FAIL: without passes the transformer's LLVM IR should call sin/cos"; fail=$((fail + 1)); }

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
