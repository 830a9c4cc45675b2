#!/usr/bin/env bash
# Every tests/bad/*.yaml is a model with one mistake.  Its header says what
# loom must do with it:
#   # EXIT: 1                                  the exit status
#   # ERROR: bad/x.yaml:4:5: error: ...        stderr's first line, exactly
#   # ARGS: --input ids=1,2                    extra `loom run` arguments
# Each must fail with that one located line, no crash, and no output file.
set -u
: "${LOOM:?}"
fails=0 count=0
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for f in bad/*.yaml; do
  count=$((count + 1))
  want_exit=$(sed -n 's/^# EXIT: //p' "$f"); want_exit=${want_exit:-1}
  want_err=$(sed -n 's/^# ERROR: //p' "$f")
  args=$(sed -n 's/^# ARGS: //p' "$f")
  # shellcheck disable=SC2086
  "$LOOM" run "$f" --out-dir "$out/o" $args >/dev/null 2>"$out/err"
  got_exit=$?
  got_err=$(head -n 1 "$out/err")
  if [ "$got_exit" != "$want_exit" ]; then
    echo "FAIL $f: exit $got_exit, want $want_exit"; cat "$out/err"; fails=$((fails + 1))
  elif [ -z "$want_err" ]; then
    echo "FAIL $f: no '# ERROR:' line; loom said: $got_err"; fails=$((fails + 1))
  elif [ "$got_err" != "$want_err" ]; then
    echo "FAIL $f:"; echo "  got:  $got_err"; echo "  want: $want_err"; fails=$((fails + 1))
  elif [ -e "$out/o" ] && [ -n "$(ls -A "$out/o")" ]; then
    echo "FAIL $f: left files in the output directory"; fails=$((fails + 1))
  fi
done
echo "$((count - fails)) passed, $fails failed"
[ "$fails" -eq 0 ] && [ "$count" -ge 15 ]
