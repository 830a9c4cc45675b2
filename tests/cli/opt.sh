#!/usr/bin/env bash
# `loom opt`: the pass tool's command line (help, --list-passes, usage
# errors with exit 2, bad models 1, -o all or nothing, the --print-* dumps,
# --print-memory), and the numerical check of the passes on every golden
# model: the reference interpreter before and after each of fold-constants,
# fuse-qkv, cse and dce alone, the default pipeline, and the default
# pipeline with each pass disabled in turn (--check-equivalence, exit 3 on
# a difference).  After the default pipeline no family's IR has a
# sinusoidal_pe left (and, once `loom emit-c` exists, its C calls no sin or
# cos).
set -u
: "${LOOM:?}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../lib.sh"

M=goldens/attention-head/model.yaml
IR=passes/fuse-qkv.ir

# help, --list-passes
expect 0 "usage: loom opt MODEL.yaml|FILE.ir" "$LOOM" opt --help
for p in fold-constants fuse-epilogue fuse-qkv layout cse dce plan-memory; do
  expect 0 "  * $p " "$LOOM" opt --list-passes
done
expect 0 "  1. fold-constants" "$LOOM" opt --list-passes

# usage errors: exit 2, the nearest pass named
expect 2 "loom: error: opt: unknown pass 'fold-constant'; did you mean 'fold-constants'?" "$LOOM" opt "$M" --passes=fold-constant
expect 2 "did you mean 'cse'?" "$LOOM" opt "$M" --disable=cs
expect 2 "Try 'loom opt --help'." "$LOOM" opt "$M" --passes=nope
expect 2 "loom: error: opt: --print-after: unknown pass 'dc'; did you mean 'dce'?" "$LOOM" opt "$M" --print-after=dc
expect 2 "loom: error: opt: unknown option '--bogus'" "$LOOM" opt "$M" --bogus
expect 2 "loom: error: opt: missing value for option '--passes'" "$LOOM" opt "$M" --passes
expect 2 "loom: error: opt: no model file given" "$LOOM" opt
expect 2 "loom: error: opt: give exactly one model file" "$LOOM" opt "$M" "$M"
expect 2 "loom: error: opt: unknown target 'z80'" "$LOOM" opt "$M" --target=z80
expect 2 "loom: error: opt: --seed" "$LOOM" opt "$M" --seed=-1

# bad models: exit 1, nothing written
expect 1 "cannot read weights file 'nope.safetensors'" "$LOOM" opt "$M" --weights=nope.safetensors -o "$tmp/o.ir"
expect 1 "nope.ir: error: cannot open: No such file or directory" "$LOOM" opt nope.ir -o "$tmp/o.ir"
printf 'graph "x" {\n  %%x = input : f32[4]\n  %%y = bogus %%x : f32[4]\n  return %%y\n}\n' >"$tmp/bad.ir"
expect 1 "bad.ir:3:8: error: unknown op 'bogus'" "$LOOM" opt "$tmp/bad.ir" -o "$tmp/o.ir"
[ -e "$tmp/o.ir" ] && bad "a failed opt wrote its -o file"

# -o: the IR, parseable again, and the same as on stdout
expect 0 "" "$LOOM" opt "$M" -o "$tmp/ah.ir"
"$LOOM" opt "$M" >"$tmp/ah-stdout.ir" && cmp -s "$tmp/ah.ir" "$tmp/ah-stdout.ir" && ok || bad "-o differs from stdout"
expect 0 'graph "attention-head"' "$LOOM" opt "$tmp/ah.ir" --passes=none
ls -A "$tmp" | grep -q '\.tmp$' && bad "temporary files left"

# the dumps (stderr), timing, memory
expect 0 "" "$LOOM" opt "$M" --print-after-all --time-passes
for p in fold-constants fuse-epilogue fuse-qkv layout cse dce plan-memory; do
  grep -qF -- "// -----// IR after $p //----- //" "$tmp/err" && ok || bad "--print-after-all: no dump after $p"
  grep -q -- "^time-passes $p=" "$tmp/err" && ok || bad "--time-passes: no time for $p"
done
expect 0 "" "$LOOM" opt "$IR" --passes=fuse-qkv,fold-constants --print-before=fold-constants --print-after=fuse-qkv
[ "$(grep -c 'IR before fold-constants' "$tmp/err")" = 1 ] && ok || bad "--print-before"
[ "$(grep -c 'IR after fuse-qkv' "$tmp/err")" = 1 ] && ok || bad "--print-after"
expect 0 "memory: peak_bytes=" "$LOOM" opt "$M" --print-memory
expect 0 "memory: no plan (plan-memory did not run)" "$LOOM" opt "$M" --passes=dce --print-memory
expect 0 "memory: no plan" "$LOOM" opt "$M" --disable=plan-memory --print-memory

# --check-equivalence on every golden model: each pass of this file alone,
# the default pipeline, and the default pipeline without each pass
mine="fold-constants fuse-qkv cse dce"
all="fold-constants fuse-epilogue fuse-qkv layout cse dce plan-memory"
for m in goldens/*/model.yaml; do
  for p in $mine; do
    expect 0 "equivalent max_abs=" "$LOOM" opt "$m" --passes=$p --verify-each --check-equivalence -o /dev/null
  done
  expect 0 "equivalent max_abs=" "$LOOM" opt "$m" --verify-each --check-equivalence -o "$tmp/after.ir"
  grep -q "sinusoidal_pe" "$tmp/after.ir" && bad "$m: sinusoidal_pe left after the default pipeline"
  for p in $all; do
    expect 0 "equivalent max_abs=" "$LOOM" opt "$m" --disable=$p --verify-each --check-equivalence -o /dev/null
  done
done

# no sin or cos in any family's emitted C (needs `loom emit-c`)
if "$LOOM" emit-c --help >/dev/null 2>&1; then
  for m in goldens/transformer-post-relu goldens/gpt2-tiny goldens/bert-tiny goldens/vit-tiny goldens/attention-head; do
    out="$tmp/c-$(basename "$m")"
    if "$LOOM" emit-c "$m/model.yaml" -o "$out" >/dev/null 2>"$tmp/err"; then
      if grep -hnE '\b(sin|cos|sinf|cosf)[[:space:]]*\(' "$out"/*.c >"$tmp/sincos"; then
        bad "$m: the emitted C calls sin or cos:"; head -3 "$tmp/sincos"
      else
        ok
      fi
    else
      bad "$m: loom emit-c failed"; head -3 "$tmp/err"
    fi
  done
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
