#!/usr/bin/env bash
# IR text that runs: `loom opt M.yaml -o m.ir` writes m.ir and its data
# (m.ir.safetensors: weights and the constants the passes made), and
# `loom run m.ir` gives the outputs `loom run M.yaml` gives — on ref, c and
# jit, for a golden of every family; the other commands that compile take
# m.ir too.  IR whose constants have no data, packed constants for another
# target, and a packed constant under transpose_b are clean located errors.
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
NPYCMP="$LOOM_BIN/tests/npycmp"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"
. "$(dirname "$0")/../lib.sh"

for g in goldens/attention-head goldens/bert-tiny goldens/gpt2-tiny \
         goldens/transformer-pre-gelu goldens/vit-tiny; do
  name=$(basename "$g")
  d="$tmp/$name"
  mkdir -p "$d"
  args=()
  for f in "$g"/in.*.npy; do n=${f##*/in.}; args+=(--input "${n%.npy}=$f"); done
  if ! "$LOOM" opt "$g/model.yaml" -o "$d/m.ir" >/dev/null 2>"$tmp/err" ||
     [ ! -s "$d/m.ir.safetensors" ]; then
    bad "$name: loom opt -o m.ir (and its data)"; sed 's/^/  | /' "$tmp/err"; continue
  fi
  grep -q ' = const ' "$d/m.ir" || bad "$name: the optimized IR has no constants"
  for b in $backends; do
    if ! "$LOOM" run "$g/model.yaml" --backend "$b" "${args[@]}" --out-dir "$d/yaml-$b" >/dev/null 2>"$tmp/err" ||
       ! "$LOOM" run "$d/m.ir" --backend "$b" "${args[@]}" --out-dir "$d/ir-$b" >/dev/null 2>>"$tmp/err"; then
      bad "$name: run on $b"; sed 's/^/  | /' "$tmp/err"; continue
    fi
    same=1
    for f in "$d/yaml-$b"/*.npy; do
      "$NPYCMP" "$d/ir-$b/$(basename "$f")" "$f" 1e-5 1e-4 >"$tmp/cmp" 2>&1 ||
        { same=0; sed 's/^/  | /' "$tmp/cmp"; }
    done
    [ $same = 1 ] && ok || bad "$name: m.ir on $b differs from the model file"
  done
done

# the other commands that compile, on IR with constants
g=goldens/gpt2-tiny d="$tmp/gpt2-tiny"
expect 0 "" "$LOOM" dump --kernels "$d/m.ir"
expect 0 "" "$LOOM" emit-c "$d/m.ir" -o "$tmp/ec"
expect 0 "" "$LOOM" build "$d/m.ir" -o "$tmp/bin"
if "$tmp/bin" --input "ids=$g/in.ids.npy" --out-dir "$tmp/bin-out" >/dev/null 2>&1 &&
   "$NPYCMP" "$tmp/bin-out/logits.npy" "$g/out.logits.npy" 1e-4 1e-3 >/dev/null; then ok
else bad "a binary built from m.ir: PyTorch's logits"; fi
if [[ $backends == *jit* ]]; then
  expect 0 "" "$LOOM" emit-obj "$d/m.ir" -o "$tmp/eo"
  expect 0 "" "$LOOM" bench "$d/m.ir" --input "ids=$g/in.ids.npy" --repeat 1 --warmup 0
fi

# a constant without data: located at its node
cat >"$tmp/pe.yaml" <<'Y'
name: pe-only
graph:
  dims: {S: 16}
  inputs: {x: {dtype: f32, shape: [S, 8]}}
  nodes:
    - {op: sinusoidal_pe, len: 16, d: 8, out: pe}
    - {op: slice, in: [pe], axis: 0, end: S, out: p}
    - {op: add, in: [x, p], out: y}
  outputs: [y]
Y
expect 0 "" "$LOOM" opt "$tmp/pe.yaml" -o "$tmp/pe.ir"
rm -f "$tmp/pe.ir.safetensors"
expect 1 "pe.yaml:6:7: error: const 'pe' has no data" "$LOOM" run "$tmp/pe.ir" --backend ref
cp "$d/m.ir" "$tmp/nodata.ir"
expect 1 "IR text carries no data" "$LOOM" run "$tmp/nodata.ir" --input "ids=$g/in.ids.npy"
# a model with no data at all writes no sidecar (and removes a stale one)
touch "$tmp/plain.ir.safetensors"
expect 0 "" "$LOOM" opt data/ops/add_broadcast.ir --passes=none -o "$tmp/plain.ir"
[ -e "$tmp/plain.ir.safetensors" ] && bad "a stale sidecar stayed beside IR without data" || ok

# packed for another target: a clean error on this one (ref still runs it)
if grep -q avx512f /proc/cpuinfo; then
  expect 0 "" "$LOOM" opt "$g/model.yaml" --target=x86-64-v3 -o "$tmp/v3.ir"
  expect 1 "packed in panels of 24" "$LOOM" run "$tmp/v3.ir" --backend c --input "ids=$g/in.ids.npy" --out-dir "$tmp/o"
  expect 0 "" "$LOOM" run "$tmp/v3.ir" --backend ref --input "ids=$g/in.ids.npy" --out-dir "$tmp/o"
fi
# a packed constant under transpose_b (hand-edited IR): square, so the
# shapes still agree and only lowering can object
cat >"$tmp/sq.yaml" <<'Y'
name: square
graph:
  dims: {S: 8}
  inputs: {x: {dtype: f32, shape: [S, 64]}}
  weights: {w: {shape: [64, 64]}}
  nodes:
    - {op: matmul, in: [x, w], out: y}
  outputs: [y]
weights: {random: {seed: 1}}
Y
expect 0 "" "$LOOM" opt "$tmp/sq.yaml" -o "$tmp/sq.ir"
grep -q 'layout = panel' "$tmp/sq.ir" || bad "square: no packed constant to test with"
sed 's/matmul %x, %\([^ ]*\) :/matmul %x, %\1 {transpose_b = true} :/' "$tmp/sq.ir" >"$tmp/tb.ir"
cp "$tmp/sq.ir.safetensors" "$tmp/tb.ir.safetensors"
grep -q 'transpose_b = true' "$tmp/tb.ir" || bad "square: the edit did not apply"
expect 1 "must be the b of a matmul without transpose_b" \
  "$LOOM" run "$tmp/tb.ir" --backend c --input x=1 --out-dir "$tmp/o"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
