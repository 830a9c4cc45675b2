#!/usr/bin/env bash
# run --profile and bench --profile: one line per kernel that
# dump --kernels lists (every kernel named, none left out), each with its
# calls per run — together the program's steps — the outputs unchanged,
# the machine's limits measured once into the cache and read back from it,
# and a clear usage error on a backend that cannot time kernels.
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"
. ./lib.sh
"$LOOM" run --help | grep -q "default jit" || { echo "no jit backend: skipped"; exit 77; }
NPYCMP="$LOOM_BIN/tests/npycmp"
dir=goldens/bert-relu
in=(--input "ids=$dir/in.ids.npy" --input "token_type_ids=$dir/in.token_type_ids.npy")

"$LOOM" dump --kernels "$dir/model.yaml" >"$tmp/k"
nk=$(sed -n 's/^# .*: \([0-9]*\) kernels, \([0-9]*\) steps.*/\1/p' "$tmp/k")
ns=$(sed -n 's/^# .*: \([0-9]*\) kernels, \([0-9]*\) steps.*/\2/p' "$tmp/k")

expect 0 "profile: 1 run" "$LOOM" run "$dir/model.yaml" "${in[@]}" --profile --threads 1 --out-dir "$tmp/o"
cp "$tmp/out" "$tmp/p"
"$NPYCMP" "$tmp/o/hidden.npy" "$dir/out.hidden.npy" >"$tmp/cmp" && ok || bad "outputs with --profile: $(cat "$tmp/cmp")"
[ -f "$tmp/cache/loom/limits-v2.txt" ] && ok || bad "no limits cached"
rows=$(grep -cE '^k[0-9]+_[a-z_]+ ' "$tmp/p")
[ "$rows" = "$nk" ] && ok || bad "$rows kernel lines, dump --kernels has $nk kernels"
calls=$(awk '/^k[0-9]+_/ { s += $2 } END { print s }' "$tmp/p")
[ "$calls" = "$ns" ] && ok || bad "calls per run add up to $calls, the program has $ns steps"
grep -qE '^total +[0-9.]+ +100\.0%' "$tmp/p" && ok || bad "no total line"
grep -qE '^k[0-9]+_attention .*attention f32' "$tmp/p" && ok || bad "no attention line"
# most time first
awk '/^k[0-9]+_/ { if (prev != "" && $3 > prev) bad = 1; prev = $3 } END { exit bad }' "$tmp/p" &&
  ok || bad "not sorted by time"

# the limits come from the cache once it holds them
printf 'peak_gflops_1t=1234.5\ntriad_gbs_1t=67.8\n' >"$tmp/cache/loom/limits-v2.txt"
expect 0 "FMA peak 2469.0 GFLOP/s (1234.5 per thread), bandwidth 67.8 GB/s" \
  "$LOOM" bench "$dir/model.yaml" "${in[@]}" --profile --threads 2 --repeat 2 --warmup 1
grep -q '^profile: 3 runs, 2 threads' "$tmp/out" && ok || bad "bench --profile header: $(grep profile: "$tmp/out")"
grep -q '^run_ms_median=' "$tmp/out" && ok || bad "bench --profile lost its key=value lines"

# which limit binds: at these limits a BERT layer's matmuls and attention
# (S = 128, d 256) are compute-bound, layernorm memory-bound
cat >"$tmp/bert.yaml" <<'YAML'
family: bert
d_model: 256
heads: 4
d_ff: 1024
layers: 1
vocab: 1000
max_len: 128
weights: {random: {seed: 1}}
YAML
ids=$(awk 'BEGIN { for (i = 0; i < 128; i++) printf "%s%d", i ? "," : "", (i * 7) % 1000 }')
expect 0 "profile: 1 run" "$LOOM" run "$tmp/bert.yaml" --input "ids=$ids" --profile --threads 1 --out-dir "$tmp/o2"
grep -qE '^k[0-9]+_matmul .* compute .*matmul f32\[S, 256\]' "$tmp/out" && ok || bad "no compute-bound matmul line"
grep -qE '^k[0-9]+_attention .* compute ' "$tmp/out" && ok || bad "no compute-bound attention line"
grep -qE '^k[0-9]+_layernorm .* memory ' "$tmp/out" && ok || bad "no memory-bound layernorm line"

expect 2 "the c backend cannot time its kernels" "$LOOM" run "$dir/model.yaml" "${in[@]}" --profile --backend c
expect 2 "the ref backend cannot time its kernels" "$LOOM" bench "$dir/model.yaml" "${in[@]}" --profile --backend ref
for cmd in run bench; do
  "$LOOM" "$cmd" --help | grep -q -- '--profile' && ok || bad "$cmd --help does not name --profile"
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
