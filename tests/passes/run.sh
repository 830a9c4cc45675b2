#!/usr/bin/env bash
# run.sh FILE — run one pass test: every "RUN:" line of FILE, LLVM lit style.
#
# In a RUN line, `loom` is the loom under test ($LOOM), `FileCheck` and
# `not` are LLVM's ($FILECHECK, default /usr/lib/llvm-19/bin/FileCheck, from
# Debian's llvm-19-tools), `%s` is FILE and `%t` a scratch path that is
# removed afterwards.  Each line runs under `bash -o pipefail`; the test
# fails at the first line that fails, printing it.
#
#   # RUN: loom opt %s --passes=dce | FileCheck %s
set -u
file=${1:?usage: run.sh FILE}
LOOM=${LOOM:?set LOOM to the loom binary}
FILECHECK=${FILECHECK:-/usr/lib/llvm-19/bin/FileCheck}
NOT=${NOT:-$(dirname "$FILECHECK")/not}
[ -x "$FILECHECK" ] || { echo "run.sh: FileCheck not found at $FILECHECK (apt-get install llvm-19-tools)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

n=0
while IFS= read -r line; do
  cmd=${line#*RUN:}
  # placeholders first, so that paths containing "loom" stay as they are
  cmd=$(printf '%s' "$cmd" | sed -E \
    -e 's/(^|[|;&( ])loom /\1@LOOM@ /g' \
    -e 's/(^|[|;&( ])FileCheck /\1@FILECHECK@ /g' \
    -e 's/(^|[|;&( ])not /\1@NOT@ /g')
  cmd=${cmd//%s/$file}
  cmd=${cmd//%t/$tmp/t}
  cmd=${cmd//@LOOM@/$LOOM}
  cmd=${cmd//@FILECHECK@/$FILECHECK}
  cmd=${cmd//@NOT@/$NOT}
  n=$((n + 1))
  if ! bash -o pipefail -c "$cmd"; then
    echo "run.sh: $file: RUN line $n failed:" >&2
    echo "  $cmd" >&2
    exit 1
  fi
done < <(grep -E '^[[:space:]]*#[[:space:]]*RUN:' "$file")
[ "$n" -gt 0 ] || { echo "run.sh: $file has no RUN: line" >&2; exit 1; }
echo "run.sh: $file: $n RUN lines passed"
