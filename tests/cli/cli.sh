#!/usr/bin/env bash
# The command line: help, version, usage errors (exit 2), bad data files
# (exit 1), inputs inline and from .npy, output files (all or none), and a
# graph-form model matching PyTorch through `loom run`.
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
NPYCMP="$LOOM_BIN/tests/npycmp"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../lib.sh"

AH=goldens/attention-head
M=$AH/model.yaml

# help and version
expect 0 "usage: loom COMMAND" "$LOOM" --help
expect 0 "loom run MODEL.yaml" "$LOOM" run --help
expect 0 "loom dump MODEL.yaml" "$LOOM" dump --help
expect 0 "loom 0." "$LOOM" --version
# usage errors: exit 2, "loom: error:"
expect 2 "loom: error: unknown command 'frobnicate'" "$LOOM" frobnicate
expect 2 "usage: loom COMMAND" "$LOOM"
expect 2 "loom: error: run: unknown option '--bogus'" "$LOOM" run "$M" --bogus
expect 2 "loom: error: run: missing value for option '--out-dir'" "$LOOM" run "$M" --out-dir
expect 2 "loom: error: run: no model file given" "$LOOM" run
expect 2 "loom: error: run: give exactly one model file" "$LOOM" run "$M" "$M"
expect 2 "loom: error: run: --input 'ids' is not NAME=FILE.npy or NAME=1,2,3" "$LOOM" run "$M" --input ids
expect 1 "loom: error: run: 'idz' is not an input of the model (inputs: ids)" "$LOOM" run "$M" --input idz=1,2
expect 2 "loom: error: run: unknown backend 'gpu' (available: ref, c" "$LOOM" run "$M" --backend gpu --input ids=1
expect 2 "loom: error: dump: unknown option '-x'" "$LOOM" dump -x "$M"
# bad data: exit 1
expect 1 "nope.npy: error:" "$LOOM" run "$M" --input ids=nope.npy --out-dir "$tmp/o1"
printf 'not a numpy file at all' >"$tmp/junk.npy"
expect 1 "junk.npy: error:" "$LOOM" run "$M" --input ids=$tmp/junk.npy --out-dir "$tmp/o1"
expect 1 "error: input 'ids' is missing" "$LOOM" run "$M" --out-dir "$tmp/o1"
expect 1 "needs rank 1, the file has rank 2" "$LOOM" run "$M" --input ids=data/cli/ids-2x3.npy --out-dir "$tmp/o1"
expect 1 "is not an int32 integer" "$LOOM" run "$M" --input ids=data/cli/half.npy --out-dir "$tmp/o1"
expect 1 "so S = 65 exceeds its bound S <= 64" "$LOOM" run "$M" --input ids=$(seq -s, 1 65) --out-dir "$tmp/o1"
expect 1 "out of range" "$LOOM" run "$M" --input ids=1,2,500 --out-dir "$tmp/o1"
expect 1 "cannot read weights file 'nope.safetensors'" "$LOOM" run "$M" --weights nope.safetensors --input ids=1
expect 1 "tensor 'wq' has shape [4, 4], expected [32, 32]" "$LOOM" run "$M" --weights data/cli/wq-4x4.safetensors --input ids=1
[ ! -e "$tmp/o1" ] || [ -z "$(ls -A "$tmp/o1")" ] || { echo "FAIL: a failed run left files"; fail=$((fail + 1)); }

# a run: inline ids, extra leading 1-dims dropped, outputs compared with PyTorch
expect 0 "y f32[11, 32] -> $tmp/o2/y.npy" "$LOOM" run "$M" --input ids=5,17,0,96,42,42,3,88,61,7,12 --out-dir "$tmp/o2"
for o in y probs; do
  expect 0 "0 beyond tolerance" "$NPYCMP" "$tmp/o2/$o.npy" "$AH/out.$o.npy"
done
expect 0 "probs f32[11, 11]" "$LOOM" run "$M" --input ids=data/cli/ids-1x11-i64.npy --out-dir "$tmp/o3"
expect 0 "0 beyond tolerance" "$NPYCMP" "$tmp/o3/y.npy" "$AH/out.y.npy"
ls -A "$tmp/o2" | grep -q tmp && { echo "FAIL: temporary files left"; fail=$((fail + 1)); }

# dump: IR text to stdout or -o; a bad model leaves no file
expect 0 'graph "attention-head" {' "$LOOM" dump "$M"
expect 0 "" "$LOOM" dump "$M" -o "$tmp/ah.ir"
grep -q '%probs = softmax %masked {axis = -1} : f32\[S, S\]' "$tmp/ah.ir" || { echo "FAIL: dump -o"; fail=$((fail + 1)); }
expect 1 "error:" "$LOOM" dump bad/unknown-op.yaml -o "$tmp/bad.ir"
[ -e "$tmp/bad.ir" ] && { echo "FAIL: dump of a bad model wrote a file"; fail=$((fail + 1)); }

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
