#!/usr/bin/env bash
# --threads N on run and bench: the outputs do not depend on it, bench
# reports the count it ran with, --threads wins over OMP_NUM_THREADS, and
# a bad count is a usage error.  (How the runtime splits loops, and the C
# API's loom_options.threads: tests/unit/test_threads.c.)
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"
. ./lib.sh
NPYCMP="$LOOM_BIN/tests/npycmp"
dir=goldens/bert-relu
in=(--input "ids=$dir/in.ids.npy" --input "token_type_ids=$dir/in.token_type_ids.npy")

for n in 1 2 3; do
  expect 0 "" "$LOOM" run "$dir/model.yaml" "${in[@]}" --threads "$n" --out-dir "$tmp/o$n"
  "$NPYCMP" "$tmp/o$n/hidden.npy" "$dir/out.hidden.npy" >"$tmp/cmp" && ok ||
    bad "--threads $n: $(cat "$tmp/cmp")"
done
expect 0 "threads=3" "$LOOM" bench "$dir/model.yaml" "${in[@]}" --threads 3 --repeat 1 --warmup 0
expect 0 "threads=1" env OMP_NUM_THREADS=2 "$LOOM" bench "$dir/model.yaml" "${in[@]}" --threads 1 --repeat 1 --warmup 0
expect 0 "threads=2" env OMP_NUM_THREADS=2 "$LOOM" bench "$dir/model.yaml" "${in[@]}" --repeat 1 --warmup 0
expect 2 "--threads '0' is not a thread count" "$LOOM" run "$dir/model.yaml" --threads 0
expect 2 "--threads 'two' is not a thread count" "$LOOM" bench "$dir/model.yaml" --threads two
expect 2 "missing value for option '--threads'" "$LOOM" run "$dir/model.yaml" --threads
for cmd in run bench; do
  "$LOOM" "$cmd" --help | grep -q -- '--threads N' && ok || bad "$cmd --help does not name --threads"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
