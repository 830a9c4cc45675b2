#!/usr/bin/env bash
# `loom build --via llvm`: every golden model (tests/goldens/*) as a
# standalone executable whose model code is LLVM's object file (only
# loom's runtime goes through $CC), run on the golden's inputs and compared
# with PyTorch's outputs (|got - want| <= 1e-4 + 1e-3 |want|); one with
# --embed-weights.  Skipped (77) when loom was built without LLVM.
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
NPYCMP="$LOOM_BIN/tests/npycmp"
"$LOOM" run --help | grep -q '^ *jit ' || { echo "skipped: loom was built without LLVM"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

# build_and_compare GOLDEN_DIR [build options...]
build_and_compare() {
  local g=$1; shift
  local name bin args=() f n w
  name=$(basename "$g")
  bin="$tmp/$name/$name"
  if ! "$LOOM" build "$g/model.yaml" -o "$bin" --via llvm "$@" >"$tmp/log" 2>&1; then
    echo "FAIL: build $name --via llvm $*"; sed 's/^/  | /' "$tmp/log" | head; fail=$((fail + 1)); return
  fi
  for f in "$g"/in.*.npy; do
    n=${f##*/in.}
    args+=(--input "${n%.npy}=$f")
  done
  if ! "$bin" "${args[@]}" --out-dir "$tmp/$name/out" >"$tmp/log" 2>&1; then
    echo "FAIL: $name's executable"; sed 's/^/  | /' "$tmp/log" | head; fail=$((fail + 1)); return
  fi
  for w in "$g"/out.*.npy; do
    n=${w##*/out.}
    if ! "$NPYCMP" "$tmp/$name/out/$n" "$w" 1e-4 1e-3 >"$tmp/log" 2>&1; then
      echo "FAIL: $name: $n"; sed 's/^/  | /' "$tmp/log"; fail=$((fail + 1)); return
    fi
  done
  echo "ok $name $* ($(tail -1 "$tmp/log" | sed 's/.*elements, //'))"
  pass=$((pass + 1))
  rm -rf "${tmp:?}/$name"
}

for g in goldens/*/; do
  [ -f "$g/model.yaml" ] && build_and_compare "${g%/}"
done
build_and_compare goldens/attention-head --embed-weights
[ -e "$tmp/attention-head/attention-head.weights" ] &&
  { echo "FAIL: --embed-weights wrote a weights file"; fail=$((fail + 1)); }

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
