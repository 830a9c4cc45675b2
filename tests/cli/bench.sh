#!/usr/bin/env bash
# loom bench: it runs, reports what it promises, and refuses bad usage.
# (Timing values are not asserted: a benchmark is not a timed test.)
set -u
: "${LOOM:?}"
pass=0 fail=0
out=$(mktemp)
trap 'rm -f "$out"' EXIT
M=goldens/attention-head/model.yaml

"$LOOM" bench "$M" --backend ref --repeat 3 --warmup 1 --input ids=5,17,0,96 >"$out" 2>&1
if [ $? -ne 0 ]; then echo "FAIL: bench ref"; cat "$out"; fail=$((fail + 1)); fi
for key in model=attention-head backend=ref repeats=3 run_ms_median= run_ms_min= \
           run_ms_max= compile_ms= matmul_flop= matmul_gflops= weight_bytes= weight_gbs=; do
  if grep -q "^$key" "$out"; then pass=$((pass + 1)); else echo "FAIL: no $key"; fail=$((fail + 1)); fi
done
# S=4, d=32: q, k, v, proj 4 x 2*4*32*32 = 32768; scores, context 2 x 2*4*4*32 = 2048
flop=$(sed -n 's/^matmul_flop=//p' "$out")
[ "$flop" = "34816" ] && pass=$((pass + 1)) || { echo "FAIL: matmul_flop=$flop"; fail=$((fail + 1)); }
# weights: embed 97x32 + ln 2x32 + 4 x 32x32 floats
grep -q "^weight_bytes=29056$" "$out" && pass=$((pass + 1)) || { echo "FAIL: weight_bytes"; cat "$out"; fail=$((fail + 1)); }

expect_usage() {
  "$LOOM" bench "$@" >/dev/null 2>"$out"
  code=$?
  if [ $code -eq 2 ] && grep -q "^loom: error: bench: " "$out"; then pass=$((pass + 1)); else
    echo "FAIL (exit $code): $*"; cat "$out"; fail=$((fail + 1)); fi
}
expect_usage "$M" --repeat 0
expect_usage "$M" --repeat lots
expect_usage "$M" --bogus
expect_usage
expect_usage "$M" --input ids
expect_usage "$M" --passes=fuse-epilog --input ids=1
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
