#!/usr/bin/env bash
# The c backend (`loom run --backend c`) and `loom run --verify`: every
# golden model and every op case (tests/data/ops/*.ir) gives the reference
# results — checked by --verify against the interpreter and by npycmp
# against PyTorch's goldens; the compiled-object cache (a second run
# compiles nothing); kernel errors as located messages; --verify's exit
# status 3; `loom dump --kernels`; emit-c and build once.
#
# This runs under the sanitizers too (the host side: emitting, caching,
# dlopen, running); the shared objects themselves are plain cc -O3 builds.
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
NPYCMP="$LOOM_BIN/tests/npycmp"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"
. "$(dirname "$0")/../lib.sh"

# check_run NAME OUTDIR GOLDEN_PREFIX ATOL RTOL MODEL ARGS...: run with the c
# backend and --verify; every output ok, and each OUTDIR/X.npy matches
# GOLDEN_PREFIX.X.npy (or .outK.npy for op cases, in output order).
check_run() {
  local label=$1 out=$2 golden=$3 atol=$4 rtol=$5; shift 5
  if ! "$LOOM" run "$@" --backend c --verify --out-dir "$out" >"$tmp/out" 2>"$tmp/err"; then
    bad "$label: loom run --backend c --verify"; sed 's/^/  | /' "$tmp/err"; return
  fi
  if grep -q FAIL "$tmp/err" || ! grep -q "^verify .* ok$" "$tmp/err"; then
    bad "$label: --verify"; sed 's/^/  | /' "$tmp/err"; return
  fi
  local k=0 o
  for o in $(cut -d' ' -f1 "$tmp/out"); do
    local want="$golden.$o.npy"
    [ -e "$want" ] || want="$golden.out$k.npy"
    if "$NPYCMP" "$out/$o.npy" "$want" "$atol" "$rtol" >"$tmp/cmp"; then ok; else
      bad "$label: output $o vs $want"; sed 's/^/  | /' "$tmp/cmp"; fi
    k=$((k + 1))
  done
}

# every golden model of every family
for dir in goldens/*/; do
  dir=${dir%/}
  args=()
  for f in "$dir"/in.*.npy; do
    n=$(basename "$f" .npy); args+=(--input "${n#in.}=$f")
  done
  check_run "$dir" "$tmp/g/${dir##*/}" "$dir/out" 1e-4 1e-3 "$dir/model.yaml" "${args[@]}"
done

# every op case: the .ir graph, inputs in declaration order
for ir in data/ops/*.ir; do
  case=${ir%.ir}
  args=() i=0
  for n in $(grep -o '%[A-Za-z_0-9.]* = input' "$ir" | sed 's/^%//; s/ = input$//'); do
    args+=(--input "$n=$case.in$i.npy"); i=$((i + 1))
  done
  check_run "$ir" "$tmp/ops/${case##*/}" "$case" 1e-5 1e-4 "$ir" "${args[@]}"
done

# The cache: one object per model; running again compiles nothing.
n_so=$(ls "$XDG_CACHE_HOME/loom"/*.so | wc -l)
[ "$n_so" -ge 50 ] && ok || bad "cache holds $n_so objects"
AH=goldens/attention-head
touch "$tmp/mark"; sleep 1
expect 0 "y f32[11, 32]" "$LOOM" run "$AH/model.yaml" --backend c --input ids=5,17,0,96,42,42,3,88,61,7,12 --out-dir "$tmp/again"
[ -z "$(find "$XDG_CACHE_HOME/loom" -newer "$tmp/mark")" ] && ok || bad "a second run compiled again"
"$NPYCMP" "$tmp/again/y.npy" "$AH/out.y.npy" >/dev/null && ok || bad "cached run"
# another target is another object; the generic (scalar) code is right too
expect 0 "" "$LOOM" run "$AH/model.yaml" --backend c --target generic --verify --input ids=5,17,0,96,42,42,3,88,61,7,12 --out-dir "$tmp/gen"
[ -n "$(find "$XDG_CACHE_HOME/loom" -name '*.so' -newer "$tmp/mark")" ] && ok || bad "--target generic reused the native object"
"$NPYCMP" "$tmp/gen/y.npy" "$AH/out.y.npy" >/dev/null && ok || bad "--target generic"
# a cache directory that cannot be made is an error, not a crash
expect 1 "cannot create the cache directory" env XDG_CACHE_HOME=/dev/null/x "$LOOM" run "$AH/model.yaml" --backend c --input ids=1

# errors: an id out of range (which input, where, what); bounds; the compiler
expect 1 "model.yaml:7:5: error: input 'ids': id 500 at [2] is out of range for table 'embed' with 97 rows" \
  "$LOOM" run "$AH/model.yaml" --backend c --input ids=1,2,500 --out-dir "$tmp/o1"
expect 1 "S = 65 exceeds its bound S <= 64" "$LOOM" run "$AH/model.yaml" --backend c --input ids=$(seq -s, 1 65) --out-dir "$tmp/o1"
expect 1 "the C compiler failed" env CC=false "$LOOM" run "$AH/model.yaml" --backend c --target x86-64-v2 --input ids=1 --out-dir "$tmp/o1"
[ ! -e "$tmp/o1" ] && ok || bad "a failed run left $tmp/o1"

# --verify: exit 3 beyond the tolerance (outputs are still written)
expect 3 "verify y max_abs=" "$LOOM" run "$AH/model.yaml" --backend c --verify --tolerance 0,0 --input ids=5,17,0,96,42,42,3,88,61,7,12 --out-dir "$tmp/v"
grep -q "FAIL" "$tmp/err" && ok || bad "--tolerance 0,0 did not FAIL"
[ -e "$tmp/v/y.npy" ] && ok || bad "--verify FAIL wrote no outputs"
expect 0 "" "$LOOM" run "$AH/model.yaml" --backend ref --verify --input ids=1,2,3 --out-dir "$tmp/v2"
grep -q "verify probs max_abs=0 max_rel=0 ok" "$tmp/err" && ok || bad "ref --verify"
expect 2 "run: --tolerance 'x' is not ATOL or ATOL,RTOL" "$LOOM" run "$AH/model.yaml" --verify --tolerance x --input ids=1
expect 2 "run: --tolerance needs --verify" "$LOOM" run "$AH/model.yaml" --tolerance 1 --input ids=1
expect 2 "run: unknown target 'pentium' (available: native, x86-64-v4" "$LOOM" run "$AH/model.yaml" --backend c --target pentium --input ids=1
expect 0 "--verify" "$LOOM" run --help
expect 0 "c    the model as C" "$LOOM" run --help

# dump --kernels: the unique kernels, then one line per step
expect 0 "kernels, 12 steps" "$LOOM" dump --kernels "$AH/model.yaml"
grep -q "^kernel k0_gather(f32\* out, const f32\* in0, const i32\* in1, i64 S) {" "$tmp/out" && ok || bad "dump --kernels: k0_gather"
[ "$(sed -n '/^steps:/,$p' "$tmp/out" | grep -c '^  k')" = 12 ] && ok || bad "dump --kernels: 12 steps"
expect 0 "(1 lanes)" "$LOOM" dump --kernels --target generic "$AH/model.yaml"
expect 2 "dump: --target needs --kernels" "$LOOM" dump --target generic "$AH/model.yaml"

# emit-c and build once each (their host code under the sanitizers too;
# cli/c_build and cli/c_compilers cover them at length)
expect 0 "attention_head.c: 12 kernels, 12 steps" "$LOOM" emit-c "$AH/model.yaml" -o "$tmp/emit"
[ -s "$tmp/emit/attention_head.weights" ] && [ -s "$tmp/emit/Makefile" ] && ok || bad "emit-c files"
expect 0 "weights embedded" "$LOOM" build "$AH/model.yaml" -o "$tmp/ahe" --embed-weights --target x86-64-v3
expect 0 "probs f32[11, 11]" "$tmp/ahe" --input ids=5,17,0,96,42,42,3,88,61,7,12 --out-dir "$tmp/ahe.out"
"$NPYCMP" "$tmp/ahe.out/probs.npy" "$AH/out.probs.npy" >/dev/null && ok || bad "built executable"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
