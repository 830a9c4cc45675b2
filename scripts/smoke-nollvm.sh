#!/usr/bin/env bash
# make test-nollvm: loom built with -DLOOM_WITH_LLVM=OFF runs a golden
# model through the reference interpreter (matching PyTorch), defaults to
# that backend, and refuses what needs LLVM with a clear error (exit 2).
set -euo pipefail
B=${1:?usage: smoke-nollvm.sh BUILD_DIR}
B=$(cd "$B" && pwd)
cd "$(dirname "$0")/../tests"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
AH=goldens/attention-head
"$B/loom" run "$AH/model.yaml" --input ids="$AH/in.ids.npy" --out-dir "$tmp" >/dev/null
"$B/tests/npycmp" "$tmp/y.npy" "$AH/out.y.npy" >/dev/null
"$B/loom" run --help | grep -q "default ref"
for cmd in "run $AH/model.yaml --backend jit --input ids=1" "emit-obj $AH/model.yaml -o $tmp/o" \
           "dump $AH/model.yaml --llvm" "build $AH/model.yaml -o $tmp/b --via llvm"; do
  set +e
  # shellcheck disable=SC2086
  "$B/loom" $cmd >/dev/null 2>"$tmp/err"
  st=$?
  set -e
  if [ "$st" != 2 ] || ! grep -q "without" "$tmp/err"; then
    echo "smoke-nollvm: FAIL: loom $cmd (exit $st)"; cat "$tmp/err"; exit 1
  fi
done
echo "smoke-nollvm: loom without LLVM: ok"
