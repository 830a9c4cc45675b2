#!/usr/bin/env bash
# fuzz/run.sh BUILD SECONDS [TARGET...] — run each libFuzzer target (all
# five by default) for SECONDS, seeded from the tree's examples and tests.
# `make fuzz` (FUZZ_SECONDS, default 600) and `make test` (10 s each) call
# it.  Each target keeps what it finds in BUILD/fuzz/corpus/TARGET, so a
# longer run starts where the last stopped; a crash leaves
# BUILD/fuzz/crash-* and fails the run: turn it into a regression input
# under tests/ (tests/hostile/ for models and IR) and fix it.
set -eu
build=$1 seconds=$2; shift 2
targets=${*:-fuzz_yaml fuzz_safetensors fuzz_npy fuzz_ir fuzz_pipeline}
src=$(cd "$(dirname "$0")/.." && pwd)

# seeds NAME PATTERN...: the tree's files matching, at most 64 KiB each
# (bigger files make every run slow and teach the fuzzer nothing more)
seeds() {
  local dir=$build/fuzz/seeds/$1; shift
  rm -rf "$dir"; mkdir -p "$dir"
  (cd "$src" && find examples tests "$@" -type f -size -64k) |
    while read -r f; do cp "$src/$f" "$dir/$(echo "$f" | tr / _)"; done
}

status=0
for t in $targets; do
  case $t in
    fuzz_yaml) seeds "$t" -name '*.yaml' ;;
    fuzz_safetensors) seeds "$t" -name '*.safetensors' ;;
    fuzz_npy) seeds "$t" -name '*.npy' ;;
    fuzz_ir | fuzz_pipeline) seeds "$t" -name '*.ir' ;;
    *) echo "fuzz/run.sh: unknown target $t" >&2; exit 2 ;;
  esac
  mkdir -p "$build/fuzz/corpus/$t"
  echo "fuzz: $t for ${seconds}s"
  if ! (cd "$build/fuzz" &&
        ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
        UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "./$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
               -max_len=65536 -print_final_stats=1 \
               "corpus/$t" "seeds/$t" > "$t.log" 2>&1); then
    echo "fuzz: $t FAILED (see $build/fuzz/$t.log):"; tail -40 "$build/fuzz/$t.log"
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$build/fuzz/$t.log" |
      tr '\n' ' '; echo
  fi
done
exit $status
