#!/usr/bin/env bash
# `make install`: cmake --install into a temporary prefix puts bin/loom,
# lib/libloom.so and lib/libloom.a, include/loom.h and lib/pkgconfig/loom.pc
# there; examples/api/run_model.c builds against them through pkg-config,
# linked with the shared libloom and with the static one, and both runs
# print what the installed `loom run --print` prints for the same model.
# (Not in the sanitizer build: its libloom wants the sanitizer runtime.)
set -u
: "${LOOM:?}" "${LOOM_BIN:?}" "${LOOM_SRC:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

P="$tmp/prefix"
cmake --install "$LOOM_BIN" --prefix "$P" >"$tmp/log" 2>&1 || { bad "cmake --install"; cat "$tmp/log"; }
for f in bin/loom lib/libloom.so lib/libloom.a include/loom.h lib/pkgconfig/loom.pc; do
  [ -e "$P/$f" ] && ok || bad "no $f installed"
done

export PKG_CONFIG_PATH="$P/lib/pkgconfig"
CC=${CC:-cc}
SRC="$LOOM_SRC/examples/api/run_model.c"
# shellcheck disable=SC2046
if $CC -O2 -Wall -Wextra -Werror "$SRC" $(pkg-config --cflags --libs loom) \
     -Wl,-rpath,"$P/lib" -o "$tmp/run_shared" 2>"$tmp/log"; then ok; else bad "shared link"; cat "$tmp/log"; fi
# static: libloom.a, then what it needs (pkg-config --static) but itself
# shellcheck disable=SC2046
if $CC -O2 -Wall -Wextra -Werror "$SRC" $(pkg-config --cflags loom) "$P/lib/libloom.a" \
     $(pkg-config --static --libs loom | sed 's/-L[^ ]*//g; s/-lloom\b//g') \
     -o "$tmp/run_static" 2>"$tmp/log"; then ok; else bad "static link"; cat "$tmp/log"; fi
ldd "$tmp/run_shared" | grep -q "libloom.so.0 => $P/lib" && ok || bad "run_shared does not use the installed libloom.so"
ldd "$tmp/run_static" | grep -q libloom && bad "run_static needs libloom.so" || ok

cd "$LOOM_SRC/tests"
M=goldens/attention-head/model.yaml
backends="ref"
"$P/bin/loom" run --help | grep -q '^ *jit ' && backends="ref jit"
for b in $backends; do
  "$P/bin/loom" run "$M" --input ids=5,17,0,96,42 --backend "$b" --print --out-dir "$tmp/o-$b" >"$tmp/want" 2>&1 ||
    bad "installed loom run --backend $b"
  for exe in run_shared run_static; do
    if "$tmp/$exe" "$M" ids=5,17,0,96,42 --backend "$b" >"$tmp/got" 2>&1; then
      if diff <(grep -A2 '^y f32' "$tmp/got" | tail -2) <(grep -A2 '^y f32' "$tmp/want" | tail -2) >/dev/null; then ok; else
        bad "$exe --backend $b printed other values"; cat "$tmp/got" "$tmp/want"; fi
    else
      bad "$exe --backend $b"; cat "$tmp/got"
    fi
  done
done
"$tmp/run_shared" "$M" idz=1 >"$tmp/got" 2>&1 && bad "a bad input name ran" || ok
grep -q "'idz' is not an input" "$tmp/got" && ok || bad "no error for a bad input name"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
