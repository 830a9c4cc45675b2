#!/usr/bin/env bash
# The CLI's promises about files and messages (issue 16, items 5 and 6):
# no output replaces an input of the same command, a failed write to
# standard output is an error, every compile command reads --passes= the
# same way, malformed inline --input lists are usage errors, an unknown
# and a missing input exit alike, a model whose name collides with an
# emitted file is refused, and no message reads "error: error:" or starts
# with a bare "error:".
set -u
: "${LOOM:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../lib.sh"

AH=goldens/attention-head
cp "$AH/model.yaml" "$AH/model.safetensors" "$AH/in.ids.npy" "$tmp/"
M=$tmp/model.yaml
sum() { cksum <"$1"; }
keep=$(sum "$M")

# no output over an input (exit 2), and the input untouched
expect 2 "dump: the output '$M' is the input '$M'; refusing" "$LOOM" dump "$M" -o "$M"
expect 2 "opt: the output '$M' is the input" "$LOOM" opt "$M" -o "$M"
expect 2 "graph: the output '$M' is the input" "$LOOM" graph "$M" -o "$M"
expect 2 "build: the output '$M' is the input" "$LOOM" build "$M" -o "$M"
ln "$M" "$tmp/hardlink.yaml"
expect 2 "is the input" "$LOOM" dump "$M" -o "$tmp/hardlink.yaml"
expect 2 "dump: the output '$tmp/model.safetensors' is the input" "$LOOM" dump "$M" --kernels -o "$tmp/model.safetensors"
cp "$tmp/model.safetensors" "$tmp/w.weights"
expect 2 "build: the output '$tmp/w.weights' is the input" "$LOOM" build "$M" -o "$tmp/w" --weights "$tmp/w.weights"
[ -e "$tmp/w" ] && bad "a refused build wrote its executable" || ok
mkdir -p "$tmp/o" && cp "$AH/in.ids.npy" "$tmp/o/y.npy"
expect 2 "run: the output '$tmp/o/y.npy' is the input '$tmp/o/y.npy'" "$LOOM" run "$M" --input ids="$tmp/o/y.npy" --out-dir "$tmp/o"
[ "$(sum "$M")" = "$keep" ] && cmp -s "$tmp/o/y.npy" "$AH/in.ids.npy" && ok || bad "an input was changed"
[ -e "$tmp/o/probs.npy" ] && bad "a refused run wrote an output" || ok

# standard output on a full disk: exit 1, said once
if [ -w /dev/full ]; then
  for cmd in "dump $M" "dump $M --kernels" "opt $M" "graph $M" "run $M --input ids=1 --out-dir $tmp/o2" \
             "--help" "--version" "run --help" "opt --list-passes"; do
    # shellcheck disable=SC2086
    "$LOOM" $cmd >/dev/full 2>"$tmp/err"; st=$?
    if [ $st = 1 ] && [ "$(grep -c 'cannot write standard output: No space left on device' "$tmp/err")" = 1 ]; then ok
    else bad "loom $cmd >/dev/full: exit $st"; sed 's/^/  | /' "$tmp/err"; fi
  done
fi

# --passes= is the same usage error on every command that compiles
for cmd in "run $M --input ids=1" "bench $M --input ids=1" "dump $M --kernels" "emit-c $M -o $tmp/e" \
           "build $M -o $tmp/b" "emit-obj $M -o $tmp/eo" "opt $M" "graph $M"; do
  c=${cmd%% *}
  # shellcheck disable=SC2086
  expect 2 "loom: error: $c: --passes needs a list of passes, or 'none'" "$LOOM" $cmd --passes=
done

# --input: a malformed inline list is a usage error; unknown and missing
# inputs are both exit 1
expect 2 "run: --input ids: '1,,2' is not a list of integers" "$LOOM" run "$M" --input ids=1,,2
expect 2 "run: --input ids: '1,2,' is not a list of integers" "$LOOM" run "$M" --input ids=1,2,
expect 2 "bench: --input ids: '-' is not a list of integers" "$LOOM" bench "$M" --input ids=-
expect 1 "loom: error: run: 'idz' is not an input of the model" "$LOOM" run "$M" --input idz=1 --out-dir "$tmp/o3"
expect 1 "input 'ids' is missing" "$LOOM" run "$M" --out-dir "$tmp/o3"

# a model file that is not there: the same located line for every command
for c in run dump opt graph bench "emit-c -o $tmp/e" "build -o $tmp/b"; do
  # shellcheck disable=SC2086
  expect 1 "$tmp/nope.yaml: error: cannot open: No such file or directory" "$LOOM" $c "$tmp/nope.yaml"
done
expect 1 "$tmp/nope.ir: error: cannot open: No such file or directory" "$LOOM" opt "$tmp/nope.ir"

# a model named like a file loom writes beside it
for name in Makefile all clean loom_obj; do
  sed "s/^name: .*/name: $name/" "$M" >"$tmp/$name.yaml"
  expect 1 "emit-c: the model's name '$name' is also a file or make target" "$LOOM" emit-c "$tmp/$name.yaml" -o "$tmp/mk"
done
[ -e "$tmp/mk" ] && bad "a refused emit-c wrote its directory" || ok
expect 1 "build: the model's name 'Makefile'" "$LOOM" build "$tmp/Makefile.yaml" -o "$tmp/mkb"

# messages: never "error: error:", never a bare "error:" without a place
for cmd in "run $M --weights $tmp/nope.safetensors --input ids=1" "run $M --input ids=1 --passes=nope" \
           "dump $M --kernels --weights $tmp/nope.safetensors" "opt $M --weights=$tmp/nope.safetensors"; do
  # shellcheck disable=SC2086
  "$LOOM" $cmd >/dev/null 2>"$tmp/err"
  if grep -q "error: error:" "$tmp/err" || grep -q "^error:" "$tmp/err"; then
    bad "loom $cmd:"; sed 's/^/  | /' "$tmp/err"
  else ok; fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
