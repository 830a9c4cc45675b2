#!/usr/bin/env bash
# Run-time data errors say which input, where and what, alike on every
# backend and in a standalone binary: an id outside its table (at the start,
# the middle, the end; negative; one past), a symbol over its bound.
set -u
: "${LOOM:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"
. "$(dirname "$0")/../lib.sh"
m=goldens/gpt2-tiny/model.yaml   # wte: 517 rows, S <= 64

for b in $backends; do
  expect 1 "input 'ids': id 99999 at [2] is out of range for table 'wte.weight' with 517 rows" \
    "$LOOM" run "$m" --backend "$b" --input ids=1,2,99999,3 --out-dir "$tmp/o"
  expect 1 "input 'ids': id -1 at [0] is out of range" \
    "$LOOM" run "$m" --backend "$b" --input ids=-1,2 --out-dir "$tmp/o"
  expect 1 "input 'ids': id 517 at [3] is out of range" \
    "$LOOM" run "$m" --backend "$b" --input ids=1,2,3,517 --out-dir "$tmp/o"
  expect 1 "input 'ids': dimension 0 is 65, so S = 65 exceeds its bound S <= 64" \
    "$LOOM" run "$m" --backend "$b" --input "ids=$(seq -s, 1 65)" --out-dir "$tmp/o"
  [ -e "$tmp/o/logits.npy" ] && bad "$b: a failed run left an output" || ok
done
expect 0 "" "$LOOM" run "$m" --backend ref --input ids=0,516 --out-dir "$tmp/o"

# the same words from a standalone binary (emit-c's host code)
if "$LOOM" build "$m" -o "$tmp/bin" >/dev/null 2>"$tmp/err"; then
  expect 1 "error: input 'ids': id 99999 at [2] is out of range for table 'wte.weight' with 517 rows" \
    "$tmp/bin" --input ids=1,2,99999,3 --out-dir "$tmp/bo"
  expect 1 "so S = 65 exceeds its bound S <= 64" "$tmp/bin" --input "ids=$(seq -s, 1 65)" --out-dir "$tmp/bo"
else
  bad "loom build"; sed 's/^/  | /' "$tmp/err"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
