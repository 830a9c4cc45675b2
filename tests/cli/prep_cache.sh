#!/usr/bin/env bash
# The prepared-model cache (api/prep_cache.c): a model after the passes,
# its packed weights included, written to the cache directory by the
# first run and mapped by the next.  A warm run's outputs are the cold
# run's, bit for bit; a changed weights file (even with its old mtime put
# back), model file or option is a new entry; a damaged entry is noticed,
# removed and written again; runs racing on an empty cache both succeed
# and leave no temporary behind.  Skipped (77) without LLVM.
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
"$LOOM" run --help | grep -q '^ *jit ' || { echo "skipped: loom was built without LLVM"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../lib.sh"
export XDG_CACHE_HOME="$tmp/xdg"
C="$XDG_CACHE_HOME/loom"

# a model of our own, so that its weights can change under it
cp goldens/bert-tiny/model.yaml goldens/bert-tiny/model.safetensors "$tmp/"
M="$tmp/model.yaml"
IDS=goldens/bert-tiny/in.ids.npy

# run DIR: run the model into DIR; its --timings in DIR.err
run() {
  local out=$1; shift
  "$LOOM" run "$M" --input ids="$IDS" --out-dir "$out" --timings "$@" >"$out.log" 2>"$out.err"
}
# state DIR WANT: the run's prep.cache= was WANT
state() {
  grep -qx "prep.cache=$2" "$1.err" && ok || { bad "$1: want prep.cache=$2"; grep prep "$1.err" | sed 's/^/  | /'; }
}
same() { cmp -s "$1/hidden.npy" "$2/hidden.npy" && ok || bad "$1 and $2 differ"; }
differ() { cmp -s "$1/hidden.npy" "$2/hidden.npy" && bad "$1 and $2 are the same" || ok; }
entries() { ls "$C" | grep -c '\.prep$'; }

run "$tmp/cold" && ok || bad "cold run"
state "$tmp/cold" miss
[ "$(entries)" = 1 ] && ok || bad "one entry after the cold run (have $(entries))"
run "$tmp/warm" && ok || bad "warm run"
state "$tmp/warm" hit
grep -qx "passes_ms=0.0" "$tmp/warm.err" && ok || bad "a warm run ran the passes"
same "$tmp/cold" "$tmp/warm"
"$LOOM_BIN/tests/npycmp" "$tmp/warm/hidden.npy" goldens/bert-tiny/out.hidden.npy >/dev/null && ok ||
  bad "the warm run does not match PyTorch"
# the c backend shares the entry
run "$tmp/c" --backend c && ok || bad "c backend run"
state "$tmp/c" hit
"$LOOM_BIN/tests/npycmp" "$tmp/c/hidden.npy" "$tmp/cold/hidden.npy" >/dev/null && ok || bad "c backend differs"

# an option the passes see is another entry; the first is still there
run "$tmp/v3" --target x86-64-v3 && ok || bad "x86-64-v3 run"
state "$tmp/v3" miss
run "$tmp/dis" --disable fuse-qkv && ok || bad "--disable run"
state "$tmp/dis" miss
run "$tmp/warm2" && ok || bad "second warm run"
state "$tmp/warm2" hit

# the weights change in place, same size, mtime put back: a new entry
# with the new weights' outputs
size=$(stat -c %s "$tmp/model.safetensors")
cp -p "$tmp/model.safetensors" "$tmp/orig.safetensors"
printf '\x00\x00\x80\x3f\x00\x00\x80\x3f' |
  dd of="$tmp/model.safetensors" bs=1 seek=$((size / 2 / 4 * 4)) conv=notrunc status=none
touch -r "$tmp/orig.safetensors" "$tmp/model.safetensors"
run "$tmp/changed" && ok || bad "run after the weights changed"
state "$tmp/changed" miss
differ "$tmp/cold" "$tmp/changed"
run "$tmp/changed2" && ok || bad "warm run after the weights changed"
state "$tmp/changed2" hit
same "$tmp/changed" "$tmp/changed2"
# the old file back (a new inode): a new entry, the old outputs
mv "$tmp/orig.safetensors" "$tmp/model.safetensors"
run "$tmp/back" && ok || bad "run with the old weights back"
state "$tmp/back" miss
same "$tmp/cold" "$tmp/back"
# the model file changes what it computes: a new entry; a comment alone
# leaves the graph, and so the entry, as it was
{ cat goldens/bert-tiny/model.yaml; echo "activation: relu"; } >"$tmp/model.yaml"
run "$tmp/yaml" && ok || bad "run after the model changed"
state "$tmp/yaml" miss
differ "$tmp/cold" "$tmp/yaml"
{ cat goldens/bert-tiny/model.yaml; echo "# a comment"; } >"$tmp/model.yaml"
run "$tmp/comment" && ok || bad "run after a comment was added"
state "$tmp/comment" hit
cp goldens/bert-tiny/model.yaml "$tmp/model.yaml"

# damaged entries: a byte flipped, cut short, emptied — each is found,
# removed and written again, and the outputs stay the cold run's
rm -rf "$C"
run "$tmp/fresh" && ok || bad "fresh run"
entry=$(ls "$C"/*.prep)
for damage in flip cut empty; do
  case $damage in
  flip) printf '\x5a' | dd of="$entry" bs=1 seek=$(($(stat -c %s "$entry") - 100)) conv=notrunc status=none ;;
  cut) truncate -s $(($(stat -c %s "$entry") / 2)) "$entry" ;;
  empty) : >"$entry" ;;
  esac
  run "$tmp/d-$damage" && ok || bad "run with a $damage entry"
  state "$tmp/d-$damage" miss
  same "$tmp/cold" "$tmp/d-$damage"
  run "$tmp/h-$damage" && ok || bad "run after the $damage entry was rewritten"
  state "$tmp/h-$damage" hit
done

# two runs racing on an empty cache: both succeed, one whole entry, no
# temporary left
rm -rf "$C"
run "$tmp/r1" & p1=$!
run "$tmp/r2" & p2=$!
wait $p1 && ok || bad "racing run 1"
wait $p2 && ok || bad "racing run 2"
same "$tmp/cold" "$tmp/r1"
same "$tmp/cold" "$tmp/r2"
ls -A "$C" | grep -q '^\.prep-' && bad "a temporary was left: $(ls -A "$C")" || ok
run "$tmp/r3" && ok || bad "run after the race"
state "$tmp/r3" hit

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
