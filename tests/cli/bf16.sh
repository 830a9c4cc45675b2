#!/usr/bin/env bash
# --dtype bf16 on the command line: the option and `dtype:` in a model
# file on every command that compiles, usage errors (exit 2), targets with
# +avx512bf16 / +amx, `dump --kernels` naming each bf16 matmul's kernel,
# the pair layout in the IR after the layout pass, the weights file and
# the compile cache telling f32 from bf16, `run --verify` against the bf16
# reference, the emitted C of a bf16 model built by gcc (the target's
# kernels) and by tcc (emit-c --target generic: portable scalars), and
# `build --via c|llvm`, with the reference's values within the bf16
# tolerance (1e-3 + 1e-2·|ref|).
# (Values per backend and kernel kind on every golden: unit/test_bf16.)
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
NPYCMP="$LOOM_BIN/tests/npycmp"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"
. "$(dirname "$0")/../lib.sh"

B=goldens/bert-tiny
M=$B/model.yaml
IN=(--input "ids=$B/in.ids.npy")

# the option on every compiling command, in its help
for cmd in run bench dump emit-c build emit-obj opt graph; do
  expect 0 "--dtype" "$LOOM" $cmd --help
done
expect 2 "loom: error: run: unknown dtype 'f16' (f32, bf16)" "$LOOM" run "$M" --dtype f16 "${IN[@]}"
expect 2 "Try 'loom dump --help'." "$LOOM" dump "$M" --dtype int8
expect 2 "missing value for option '--dtype'" "$LOOM" opt "$M" --dtype
expect 2 "loom: error: run: unknown dtype 'f16' (f32, bf16)" "$LOOM" run "$M" --text hi --dtype f16
expect 0 "--dtype" "$LOOM" run "$M" --text hi --help

# targets with features; unknown features are usage errors
expect 0 "" "$LOOM" dump --kernels "$M" --target x86-64-v4+avx512bf16 --dtype bf16
expect 0 "" "$LOOM" dump --kernels "$M" --target x86-64-v4+avx512bf16+amx
expect 2 "unknown target 'x86-64-v4+avx9'" "$LOOM" dump --kernels "$M" --target x86-64-v4+avx9
expect 2 "+avx512bf16 and/or +amx" "$LOOM" dump --kernels "$M" --target zen+amx

# which kernel each matmul got
kinds() { "$LOOM" dump --kernels "$M" --dtype bf16 "$@" | grep -o '\[bf16 kernel: [a-z0-9]*\]' | sort -u | tr '\n' ' '; }
[ "$(kinds --target x86-64-v4+avx512bf16)" = "[bf16 kernel: avx512bf16] " ] && ok || bad "v4+avx512bf16 kernels: $(kinds --target x86-64-v4+avx512bf16)"
[ "$(kinds --target x86-64-v4)" = "[bf16 kernel: portable] " ] && ok || bad "v4 kernels: $(kinds --target x86-64-v4)"
[ "$(kinds --target generic)" = "[bf16 kernel: portable] " ] && ok || bad "generic kernels: $(kinds --target generic)"
"$LOOM" dump --kernels "$M" --target x86-64-v4+avx512bf16 --dtype bf16 | grep -q "dotbf16(" && ok || bad "no dotbf16 in the avx512bf16 kernels"
"$LOOM" dump --kernels "$M" --target x86-64-v4 --dtype bf16 | grep -q "dotbf16(" && bad "dotbf16 without the feature" || ok
"$LOOM" dump --kernels "$M" | grep -q "bf16 kernel" && bad "bf16 kernels without --dtype bf16" || ok

# the IR: weights as bf16 pairs, and `dtype: bf16` in the model file does the same
"$LOOM" opt "$M" --dtype bf16 >"$tmp/opt.ir" 2>/dev/null
grep -q 'const {layout = pair32} : bf16\[30, 90\]' "$tmp/opt.ir" && ok || bad "no pair32 const in: $(grep -m2 const "$tmp/opt.ir")"
mkdir -p "$tmp/m"
sed "s|^weights: model.safetensors|weights: $PWD/$B/model.safetensors|" "$M" >"$tmp/m/model.yaml"
echo "dtype: bf16" >>"$tmp/m/model.yaml"
"$LOOM" opt "$tmp/m/model.yaml" >"$tmp/opt2.ir" 2>/dev/null
cmp -s <(sed 's/ loc(.*//' "$tmp/opt.ir") <(sed 's/ loc(.*//' "$tmp/opt2.ir") && ok || bad "dtype: bf16 in the model file differs from --dtype bf16"
"$LOOM" opt "$tmp/m/model.yaml" --dtype f32 | grep -q pair32 && bad "--dtype f32 does not override dtype: bf16" || ok
echo "dtype: f16" >>"$tmp/m/model.yaml"
expect_re 1 "model.yaml:[0-9]+:[0-9]+: error: " "$LOOM" opt "$tmp/m/model.yaml"
sed -i '$d' "$tmp/m/model.yaml"; sed -i '$d' "$tmp/m/model.yaml"
echo "dtype: f16" >>"$tmp/m/model.yaml"
expect_re 1 "unknown dtype 'f16' for the matmul weights \(f32, bf16\)" "$LOOM" opt "$tmp/m/model.yaml"

# run --verify: each backend and target against the bf16 reference
for be in ref c jit; do
  "$LOOM" run --help | grep -q "^ *$be " || continue
  for t in native x86-64-v4 generic; do
    expect 0 "" "$LOOM" run "$M" "${IN[@]}" --backend $be --target $t --dtype bf16 \
      --verify --tolerance 1e-3,1e-2 --out-dir "$tmp/o-$be-$t"
    grep -q "ok" "$tmp/err" && ok || bad "$be $t: $(cat "$tmp/err")"
  done
done
# the kernel's edges (tests/data/bf16/edges.yaml says which)
E=data/bf16/edges.yaml
EIDS=ids=$(seq -s, 0 46)
for be in ref c jit; do
  "$LOOM" run --help | grep -q "^ *$be " || continue
  for t in native x86-64-v4 x86-64-v3 generic; do
    expect 0 "" "$LOOM" run "$E" --input "$EIDS" --backend $be --target $t --dtype bf16 \
      --verify --tolerance 1e-3,1e-2 --out-dir "$tmp/e-$be-$t"
    [ "$(grep -c ' ok$' "$tmp/err")" = 2 ] && ok || bad "edges $be $t: $(cat "$tmp/err")"
  done
done
# bf16 differs from f32, and both are close to PyTorch's fp32 (loosely)
"$LOOM" run "$M" "${IN[@]}" --backend ref --out-dir "$tmp/f32" >/dev/null
"$NPYCMP" "$tmp/o-ref-native/hidden.npy" "$tmp/f32/hidden.npy" >/dev/null && bad "bf16 equals f32" || ok
"$NPYCMP" "$tmp/o-ref-native/hidden.npy" "$B/out.hidden.npy" 0.05 0.05 >/dev/null && ok || bad "bf16 far from fp32"

# the weights file and the cache key know the dtype
"$LOOM" emit-c "$M" -o "$tmp/f" >/dev/null && "$LOOM" emit-c "$M" --dtype bf16 -o "$tmp/b" >/dev/null && ok || bad "emit-c"
wf=$(stat -c %s "$tmp/f/bert_tiny.weights" 2>/dev/null || stat -c %s "$tmp/f/"*.weights)
wb=$(stat -c %s "$tmp"/b/*.weights)
[ "$wb" -lt "$wf" ] && ok || bad "bf16 weights file ($wb bytes) not smaller than f32 ($wf)"
cmp -s <(head -c 16 "$tmp"/f/*.weights) <(head -c 16 "$tmp"/b/*.weights) && bad "same weights hash for f32 and bf16" || ok
"$LOOM" run "$M" "${IN[@]}" --backend c --out-dir "$tmp/c1" >/dev/null
"$LOOM" run "$M" "${IN[@]}" --backend c --dtype bf16 --out-dir "$tmp/c2" >/dev/null
"$NPYCMP" "$tmp/c1/hidden.npy" "$tmp/c2/hidden.npy" >/dev/null && bad "the cache served f32 code for bf16" || ok

# emitted C: the native target's kernels with gcc, and generic with tcc
name=$(basename "$tmp"/b/*.weights .weights)
ids=$PWD/$B/in.ids.npy
build_run() { # DIR CC LABEL
  make -s -C "$1" clean >/dev/null
  if make -s -C "$1" CC="$2" >"$tmp/make" 2>&1 &&
     (cd "$1" && "./$name" --input "ids=$ids" --out-dir "$tmp/run-$3") >/dev/null 2>"$tmp/err"; then
    "$NPYCMP" "$tmp/run-$3/hidden.npy" "$tmp/o-ref-native/hidden.npy" 1e-3 1e-2 >"$tmp/cmp" && ok ||
      { bad "$3: values"; cat "$tmp/cmp"; }
  else
    bad "$3: build or run"; sed 's/^/  | /' "$tmp/make" "$tmp/err" | head -20
  fi
}
build_run "$tmp/b" gcc "emit-c native gcc"
"$LOOM" emit-c "$M" --dtype bf16 --target x86-64-v4+avx512bf16 -o "$tmp/v4" >/dev/null
grep -q "_mm512_dpbf16_ps" "$tmp"/v4/*.c && ok || bad "no vdpbf16ps in the C for +avx512bf16"
"$LOOM" emit-c "$M" --dtype bf16 --target generic -o "$tmp/g" >/dev/null
grep -q "immintrin" "$tmp"/g/*.c && bad "generic C includes immintrin.h" || ok
if command -v tcc >/dev/null; then build_run "$tmp/g" tcc "emit-c generic tcc"; else echo "note: tcc not installed; skipped"; fi

# build: a standalone executable through either path
for via in c llvm; do
  "$LOOM" build --help | grep -q "llvm" || [ $via = c ] || continue
  if "$LOOM" build "$M" --dtype bf16 --via $via -o "$tmp/bin-$via" >/dev/null 2>"$tmp/err" &&
     "$tmp/bin-$via" --input "ids=$ids" --out-dir "$tmp/bo-$via" >/dev/null 2>>"$tmp/err"; then
    "$NPYCMP" "$tmp/bo-$via/hidden.npy" "$tmp/o-ref-native/hidden.npy" 1e-3 1e-2 >/dev/null && ok ||
      bad "build --via $via: values"
  else
    bad "build --via $via"; sed 's/^/  | /' "$tmp/err" | head
  fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
