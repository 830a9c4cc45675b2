#!/usr/bin/env bash
# Hostile inputs (issue 16): sizes that overflow int64 are located "too
# large" errors on every backend and command, never a crash.
#
# tests/bad/too-large-*.yaml check the messages through `loom run`'s
# default backend; here the same models go through the others.
set -u
: "${LOOM:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"
. "$(dirname "$0")/../lib.sh"
has_jit=false
"$LOOM" run --help | grep -q '^ *jit ' && has_jit=true

# ---- sizes that overflow ---------------------------------------------------
backends="ref c"
$has_jit && backends="ref c jit"
for m in bad/too-large-*.yaml; do
  for b in $backends; do
    expect 1 "error: " "$LOOM" run "$m" --backend "$b" --input x=1,2,3,4 --out-dir "$tmp/o"
  done
  expect 1 "is too large" "$LOOM" opt "$m" --check-equivalence
  expect 1 "is too large" "$LOOM" emit-c "$m" -o "$tmp/emit"
  expect 1 "is too large" "$LOOM" build "$m" -o "$tmp/bin"
done
[ -e "$tmp/bin" ] && bad "build left an executable for a model too large"
expect 1 "hostile/dim-bound-max.ir:3:8: error: input: 'x' f32[S] is too large" \
  "$LOOM" run hostile/dim-bound-max.ir --backend ref --input x=1,2
expect 1 "is too large" "$LOOM" opt hostile/dim-bound-max.ir --check-equivalence

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
