#!/usr/bin/env bash
# The `tile` kernel pass: the blocking follows the cache sizes (--l1, --l2,
# --l3 on every command that compiles), dump --kernels shows it, opt
# --list-passes lists it in its own section, and every blocking computes
# what the reference interpreter computes — odd cache sizes force K blocks
# of 64 and M blocks of 8 rows, blocks with row tails, attention key
# blocks of 16 and of 256.  (The plan's shape checks are in
# tests/passes/tile.ir.)
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"
. ./lib.sh

# M = 300 (not a multiple of 8), K = 520, N = 200 (column tails): a packed
# b, an activation b read transposed (dot products), an activation b
# read row-major.
cat >"$tmp/t.yaml" <<'YAML'
name: tile-test
weights: {random: {seed: 3}}
graph:
  inputs:
    ids: {dtype: i32, shape: [300]}
  weights:
    emb: {shape: [50, 520]}
    w1: {shape: [520, 200]}
  nodes:
    - {op: gather, in: [emb, ids], out: x}
    - {op: matmul, in: [x, w1], out: y}
    - {op: matmul, in: [y, y], transpose_b: true, out: s}
    - {op: matmul, in: [s, y], out: z}
  outputs: [z]
YAML
ids=$(awk 'BEGIN { for (i = 0; i < 300; i++) printf "%s%d", i ? "," : "", (i * 7) % 50 }')
aids=$(awk 'BEGIN { for (i = 0; i < 100; i++) printf "%s%d", i ? "," : "", (i * 13) % 1000 }')

tiles() { "$LOOM" dump --kernels "$tmp/t.yaml" "$@" 2>&1 | grep -E '^(// tiles|# tiled)'; }
# the host's caches (sysfs) unless told
tiles | grep -q '^# tiled for L1d [1-9][0-9]*K, L2 [1-9]' && ok || bad "no cache sizes in dump --kernels"
tiles --l1=48K --l2=2M --l3=32M >"$tmp/a"
grep -q '^# tiled for L1d 48K, L2 2048K, L3 32768K$' "$tmp/a" && ok || bad "--l1/--l2/--l3 not taken: $(cat "$tmp/a")"
# K = 520 in 2 blocks of 264 (384 rows of a 48-float panel are 1.5 x 48K);
# mc rows of a x K fill 3/4 of L2
grep -q 'register 8x48, kc 264 (L1), mc 752 (L2)' "$tmp/a" && ok || bad "48K/2M blocking: $(cat "$tmp/a")"
grep -q 'register 4x6 dot products' "$tmp/a" && ok || bad "no dot-product tile: $(cat "$tmp/a")"
tiles --l1=4K --l2=64K >"$tmp/b"
grep -q 'kc 64 (L1), mc 16 (L2)' "$tmp/b" && ok || bad "4K/64K blocking: $(cat "$tmp/b")"
tiles --l1=100K --l2=1M >"$tmp/c"
grep -q 'kc 800 (L1), mc 376 (L2)' "$tmp/c" && ok || bad "100K/1M blocking: $(cat "$tmp/c")"
"$LOOM" dump --kernels "$tmp/t.yaml" --l1=4K --l2=64K | grep -q 'for ib[0-9]* = 0 to 288 step 16' &&
  ok || bad "no M block loop at --l2=64K"

# a packed b beyond twice L2 is prefetched a K block ahead (9.4 MB, into
# a 2 MiB L2, with a 48K L1 for the K block); one of 2.4 MB is not
"$LOOM" dump --kernels ../bench/models/gemm-128x3072x768.yaml --l1=48K --l2=2M >"$tmp/pf"
grep -q 'tiles: register 8x48, kc 384 (L1), mc 128 (L2), b prefetched a K block ahead' "$tmp/pf" &&
  ok || bad "no prefetch plan for [3072, 768]"
grep -qE 'prefetch in1\[\(bk[0-9]+ \+ 18432\)\]' "$tmp/pf" && ok || bad "no prefetch statement for [3072, 768]"
"$LOOM" dump --kernels ../bench/models/gemm-128x768x768.yaml --l2=2M | grep -q prefetch &&
  bad "[768, 768] prefetched at L2 2M" || ok
"$LOOM" dump --kernels ../bench/models/gemm-128x768x768.yaml --l2=256K | grep -q 'prefetch in1' &&
  ok || bad "[768, 768] not prefetched at L2 256K"

# every blocking computes the reference's numbers (and the same ones: K
# blocks keep the order of the sums)
for c in "" "--l1=4K --l2=64K" "--l1=100K --l2=1M" "--l1=1K --l2=1K --l3=1K" "--l1=1M --l2=16M"; do
  for b in jit c; do
    "$LOOM" run --help | grep -q "default jit" || [ "$b" = c ] || continue
    # shellcheck disable=SC2086
    expect 0 "" "$LOOM" run "$tmp/t.yaml" --input "ids=$ids" --verify --backend "$b" $c --out-dir "$tmp/o$b"
    grep -q 'verify z .* ok' "$tmp/err" && ok || bad "$b $c: $(cat "$tmp/err")"
  done
done
# the goldens (PyTorch's numbers; attention fused, key blocks of 16 to
# 256) at odd cache sizes; bert-batch's 5 x 40 rows are one GEMM walked
# in M blocks of a symbolic count (8 rows at L2 1K, with a tail)
NPYCMP="$LOOM_BIN/tests/npycmp"
for model in bert-relu gpt2-tiny vit-tiny bert-batch; do
  dir=goldens/$model
  args=()
  for f in "$dir"/in.*.npy; do
    name=${f##*/in.}; name=${name%.npy}
    args+=(--input "$name=$f")
  done
  for c in "--l1=20K --l2=100K" "--l1=1M --l2=16M" "--l1=1K --l2=1K --l3=1K"; do
    for b in jit c; do
      "$LOOM" run --help | grep -q "default jit" || [ "$b" = c ] || continue
      [ "$b" = c ] && [ "$model" != bert-relu ] && continue
      rm -rf "$tmp/g"
      # shellcheck disable=SC2086
      if "$LOOM" run "$dir/model.yaml" "${args[@]}" --backend "$b" $c --out-dir "$tmp/g" 2>"$tmp/err"; then
        for f in "$dir"/out.*.npy; do
          "$NPYCMP" "$tmp/g/${f##*/out.}" "$f" >"$tmp/cmp" && ok ||
            bad "$model $b $c: ${f##*/}: $(cat "$tmp/cmp")"
        done
      else bad "$model $b $c: $(cat "$tmp/err")"; fi
    done
  done
done
att() { "$LOOM" dump --kernels goldens/bert-relu/model.yaml "$@" | grep -c "tiles: 64 queries x $n keys"; }
for spec in 20K:16 48K:64 1M:256; do
  n=${spec#*:}
  [ "$(att --l1="${spec%:*}")" -ge 1 ] && ok || bad "attention blocks at --l1=${spec%:*}: want $n keys"
done

# the option on every command that compiles, and its errors
for cmd in run bench dump opt graph emit-c build emit-obj; do
  "$LOOM" "$cmd" --help | grep -q -- '--l1=SIZE' && ok || bad "$cmd --help does not name --l1"
done
expect 2 "--l1 'abc' is not a cache size" "$LOOM" run "$tmp/t.yaml" --l1=abc
expect 2 "--l2 '0' is not a cache size" "$LOOM" bench "$tmp/t.yaml" --l2=0
expect 2 "--l3 '12Q' is not a cache size" "$LOOM" dump --kernels "$tmp/t.yaml" --l3=12Q
expect 2 "missing value for option '--l1'" "$LOOM" dump --kernels "$tmp/t.yaml" --l1
expect 2 "need --kernels" "$LOOM" dump "$tmp/t.yaml" --l1=32K
expect 0 "" "$LOOM" opt "$tmp/t.yaml" --l1=32K -o /dev/null

# the pass is listed, in its own section after the graph pipeline
"$LOOM" opt --list-passes >"$tmp/lp"
sed -n '/^kernel-level passes/,$p' "$tmp/lp" | grep -qE '^ +tile +blocks every matmul' &&
  ok || bad "opt --list-passes: no kernel-level section with tile"
sed -n '1,/^kernel-level passes/p' "$tmp/lp" | grep -qE '^ +[* ] tile ' &&
  bad "tile listed among the graph passes" || ok

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
