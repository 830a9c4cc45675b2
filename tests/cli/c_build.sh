#!/usr/bin/env bash
# `loom build` and `loom emit-c`: every golden model and every op case
# built into a standalone executable ($CC, default cc) gives the reference
# results; a few also with --embed-weights; what the executables need at
# run time (ldd); their errors (weights missing, for another model,
# truncated; inputs beyond their bounds; ids out of range); usage errors and
# no partial output of either command.
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
NPYCMP="$LOOM_BIN/tests/npycmp"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../lib.sh"

# run_bin LABEL BIN OUTDIR GOLDEN_PREFIX ATOL RTOL ARGS...: run a built
# executable and compare its outputs with the goldens.
run_bin() {
  local label=$1 bin=$2 out=$3 golden=$4 atol=$5 rtol=$6; shift 6
  if ! "$bin" "$@" --out-dir "$out" >"$tmp/out" 2>"$tmp/err"; then
    bad "$label: $bin"; sed 's/^/  | /' "$tmp/err"; return
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

# build_and_run NAME MODEL GOLDEN_PREFIX ATOL RTOL EMBED ARGS...: build
# $tmp/bin/NAME (NAME-embedded with --embed-weights) and run it.
build_and_run() {
  local label=$1 model=$2 golden=$3 atol=$4 rtol=$5 embed=$6; shift 6
  local bin="$tmp/bin/$label${embed:+-embedded}"
  if ! "$LOOM" build "$model" -o "$bin" $embed >"$tmp/out" 2>"$tmp/err"; then
    bad "$label: loom build $embed"; sed 's/^/  | /' "$tmp/err"; return
  fi
  if [ -n "$embed" ]; then
    [ ! -e "$bin.weights" ] && ok || bad "$label: --embed-weights wrote $bin.weights"
  else
    [ -e "$bin.weights" ] && ok || bad "$label: no $bin.weights"
  fi
  run_bin "$label" "$bin" "$tmp/run/$(basename "$bin")" "$golden" "$atol" "$rtol" "$@"
}

# every golden model; three of them also with the weights embedded
for dir in goldens/*/; do
  dir=${dir%/}
  args=()
  for f in "$dir"/in.*.npy; do
    n=$(basename "$f" .npy); args+=(--input "${n#in.}=$f")
  done
  build_and_run "${dir#goldens/}" "$dir/model.yaml" "$dir/out" 1e-4 1e-3 "" "${args[@]}"
  case $dir in
  */attention-head|*/gpt2-tiny|*/vit-tiny)
    build_and_run "${dir#goldens/}" "$dir/model.yaml" "$dir/out" 1e-4 1e-3 --embed-weights "${args[@]}" ;;
  esac
done

# every op case
for ir in data/ops/*.ir; do
  case=${ir%.ir}
  args=() i=0
  for n in $(grep -o '%[A-Za-z_0-9.]* = input' "$ir" | sed 's/^%//; s/ = input$//'); do
    args+=(--input "$n=$case.in$i.npy"); i=$((i + 1))
  done
  build_and_run "${case##*/}" "$ir" "$case" 1e-5 1e-4 "" "${args[@]}"
done

# What a built executable needs at run time: libc, libm, the OpenMP
# runtime, the loader — nothing of loom.
AHB="$tmp/bin/attention-head"   # weights beside it
ldd "$AHB" >"$tmp/ldd"
if grep -vE 'linux-vdso|libc\.so|libm\.so|libgomp\.so|libomp\.so|ld-linux' "$tmp/ldd" | grep -q .; then
  bad "ldd shows more than libc, libm, OpenMP and the loader"; sed 's/^/  | /' "$tmp/ldd"
else ok; fi
grep -q libc.so "$tmp/ldd" && ok || bad "ldd: no libc?"

# A built executable's own errors.
AH=goldens/attention-head
expect 0 "usage: attention-head [--input NAME=FILE.npy" "$AHB" --help
grep -q "ids i32\[S<=64\]" "$tmp/out" && ok || bad "--help lists the inputs"
expect 2 "attention-head: error: unknown option '--bogus'" "$AHB" --bogus
expect 1 "attention-head: error: 'idz' is not an input of the model (inputs: ids)" "$AHB" --input idz=1
expect 2 "missing value for option '--out-dir'" "$AHB" --input ids=1 --out-dir
expect 1 "error: input 'ids' is missing" "$AHB" --out-dir "$tmp/e1"
expect 1 "error: input 'ids': dimension 0 is 65, so S = 65 exceeds its bound S <= 64" "$AHB" --input ids=$(seq -s, 1 65) --out-dir "$tmp/e1"
expect 1 "error: input 'ids': id 500 at [2] is out of range for table 'embed' with 97 rows" "$AHB" --input ids=1,2,500 --out-dir "$tmp/e1"
expect 1 "needs rank 1, the file has rank 2" "$AHB" --input ids=data/cli/ids-2x3.npy --out-dir "$tmp/e1"
expect 1 "nope.npy: error:" "$AHB" --input ids=nope.npy --out-dir "$tmp/e1"
cp "$AHB" "$tmp/lonely"
expect 1 "lonely.weights: error: cannot open" "$tmp/lonely" --input ids=1 --out-dir "$tmp/e1"
head -c 1000 "$AHB.weights" >"$tmp/trunc.weights"
expect 1 "trunc.weights: error: truncated: 936 bytes of weights; attention-head needs" "$AHB" --weights "$tmp/trunc.weights" --input ids=1 --out-dir "$tmp/e1"
"$LOOM" build goldens/gpt2-tiny/model.yaml -o "$tmp/g2" >/dev/null 2>&1
expect 1 "g2.weights: error: these weights are for another model" "$AHB" --weights "$tmp/g2.weights" --input ids=1 --out-dir "$tmp/e1"
expect 1 "error: not a loom weights file" "$AHB" --weights "$AH/model.yaml" --input ids=1 --out-dir "$tmp/e1"
[ ! -e "$tmp/e1" ] && ok || bad "a failed run left $tmp/e1"
# the weights of an embedding executable, given as --weights, work too
expect 0 "y f32[1, 32]" "$AHB" --weights "$tmp/bin/attention-head-embedded" --input ids=1 --out-dir "$tmp/e2"

# loom build / emit-c: usage, failures leave nothing behind
expect 0 "loom build MODEL.yaml -o BIN" "$LOOM" build --help
expect 0 "loom emit-c MODEL.yaml -o DIR" "$LOOM" emit-c --help
expect 2 "build: give the executable with -o BIN" "$LOOM" build "$AH/model.yaml"
expect 2 "emit-c: give the output directory with -o DIR" "$LOOM" emit-c "$AH/model.yaml"
expect 2 "emit-c: no model file given" "$LOOM" emit-c -o "$tmp/x"
expect 2 "build: unknown target 'z80'" "$LOOM" build "$AH/model.yaml" -o "$tmp/x" --target z80
expect 2 "build: unknown option '--bogus'" "$LOOM" build "$AH/model.yaml" -o "$tmp/x" --bogus
expect 1 "error:" "$LOOM" build bad/unknown-op.yaml -o "$tmp/x"
expect 1 "error:" "$LOOM" emit-c bad/unknown-op.yaml -o "$tmp/xd"
expect 1 "the C compiler failed" env CC=false "$LOOM" build "$AH/model.yaml" -o "$tmp/x"
expect 1 "the C compiler failed" env CC=/nonexistent/cc "$LOOM" build "$AH/model.yaml" -o "$tmp/x"
[ ! -e "$tmp/x" ] && [ ! -e "$tmp/x.weights" ] && [ ! -e "$tmp/xd" ] && ok || bad "a failed build left files"
ls -A "$tmp" | grep -q loom- && bad "temporary directories left: $(ls -A "$tmp")" || ok
# emit-c into an existing directory replaces its files, keeps others
mkdir -p "$tmp/have" && echo keep >"$tmp/have/notes.txt"
expect 0 "attention_head.c: 12 kernels" "$LOOM" emit-c "$AH/model.yaml" -o "$tmp/have"
[ -e "$tmp/have/notes.txt" ] && [ -e "$tmp/have/attention_head.weights" ] && [ -e "$tmp/have/Makefile" ] && ok || bad "emit-c into an existing directory"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
