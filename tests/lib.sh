# lib.sh — what the shell tests in tests/cli share.  Sourcing it makes
# $tmp, a scratch directory removed at exit (unless the script made one),
# and sets $backends to the backends this loom has (ref c, and jit when it
# was built with LLVM); count with ok and bad (pass, fail).
#
#   expect STATUS TEXT CMD...     run CMD; its exit status must be STATUS and
#                                 its stderr (stdout when STATUS is 0) must
#                                 contain TEXT (a fixed string; "" for any)
#   expect_re STATUS REGEX CMD... the same with an extended regex
pass=0 fail=0
if [ -z "${tmp:-}" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
fi
backends="ref c"
"${LOOM:-false}" run --help 2>/dev/null | grep -q '^ *jit ' && backends="ref c jit"

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

_expect() {
  local mode=$1 want=$2 text=$3; shift 3
  "$@" >"$tmp/out" 2>"$tmp/err"
  local got=$?
  local where="$tmp/err"; [ "$want" = 0 ] && where="$tmp/out"
  if [ "$got" != "$want" ]; then
    bad "(exit $got, want $want): $*"; sed 's/^/  | /' "$tmp/err" | head -20
  elif [ -n "$text" ] && ! grep -q"$mode" -- "$text" "$where"; then
    bad "(no '$text'): $*"; sed 's/^/  | /' "$where" | head -20
  else
    ok
  fi
}
expect() { _expect F "$@"; }
expect_re() { _expect E "$@"; }
