#!/usr/bin/env bash
# Every golden model on every backend matches PyTorch's outputs with the
# default pipeline, with --passes=none, and with each pass disabled in turn.
#
# ref and jit run the whole matrix; the c backend (a C compile per distinct
# program, the slow one) runs the default pipeline and --passes=none on
# every model and the whole matrix on two.  Tolerance as everywhere:
# |got - want| <= 1e-4 + 1e-3*|want|.
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
NPYCMP="$LOOM_BIN/tests/npycmp"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export XDG_CACHE_HOME="$tmp/cache"
pass=0 fail=0
passes="fold-constants fuse-epilogue fuse-qkv fuse-attention layout cse dce plan-memory"
backends="ref c"
"$LOOM" run --help | grep -q "jit" && "$LOOM" run --help | grep -q "default jit" &&
  backends="ref jit c"

run_case() { # LABEL MODEL_DIR BACKEND PASS_ARGS...
  local label=$1 dir=$2 backend=$3; shift 3
  local args=() f name
  for f in "$dir"/in.*.npy; do
    name=${f##*/in.}; name=${name%.npy}
    args+=(--input "$name=$f")
  done
  rm -rf "$tmp/o"
  if ! "$LOOM" run "$dir/model.yaml" "${args[@]}" --backend "$backend" "$@" \
       --out-dir "$tmp/o" >"$tmp/out" 2>"$tmp/err"; then
    echo "FAIL $label: loom run"; sed 's/^/  | /' "$tmp/err"; fail=$((fail + 1)); return
  fi
  for f in "$dir"/out.*.npy; do
    name=${f##*/out.}
    if "$NPYCMP" "$tmp/o/$name" "$f" >"$tmp/cmp"; then pass=$((pass + 1)); else
      echo "FAIL $label: $name"; sed 's/^/  | /' "$tmp/cmp"; fail=$((fail + 1)); fi
  done
}

for dir in goldens/*/; do
  dir=${dir%/}
  model=${dir##*/}
  for backend in $backends; do
    full=1
    [ "$backend" = c ] && case $model in gpt2-tiny|bert-relu) ;; *) full=0 ;; esac
    run_case "$model/$backend/default" "$dir" "$backend"
    run_case "$model/$backend/none" "$dir" "$backend" --passes=none
    [ "$full" = 1 ] || continue
    for p in $passes; do
      run_case "$model/$backend/-$p" "$dir" "$backend" --disable="$p"
    done
  done
done
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
