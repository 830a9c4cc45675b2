#!/usr/bin/env bash
# The emitted C across compilers: `loom emit-c` of a few models, each
# emitted once and built through its own Makefile with gcc and clang-19
# (each with and without OpenMP, with -march=native and with none) and tcc
# (the scalar kernels); every build gives the golden results, and every file
# emitted compiles without a warning under -Wall -Wextra -Werror (gcc and
# clang-19).  Also: emitted files are
# byte-identical across runs; kernels are shared across layers (a 6-layer
# model has as many kernels as a 2-layer one); on an AVX-512 machine the
# paper's base model uses 16-wide float vectors; ldd of OpenMP builds.
#
# Compilers that are missing are reported and skipped (scripts/setup.sh
# installs clang-19, libomp-19-dev and tcc).
set -u
: "${LOOM:?}" "${LOOM_BIN:?}"
NPYCMP="$LOOM_BIN/tests/npycmp"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

compilers=()
for cc in gcc clang-19 tcc; do
  if command -v "$cc" >/dev/null; then compilers+=("$cc"); else echo "note: $cc not installed; skipped"; fi
done
# clang 19 on some CPUs (znver4) warns about its own -march=native feature
# list ("avx10.1-256 will be promoted"): not about our code.
clang_native_quirk=-Wno-invalid-feature-combination

# matrix MODEL ARGS...: emit once, build every way, compare with goldens.
matrix() {
  local dir=$1; shift
  local model=$dir/model.yaml label=${dir#goldens/}
  local out="$tmp/$label"
  if ! "$LOOM" emit-c "$model" -o "$out" >/dev/null 2>"$tmp/err"; then
    bad "$label: emit-c"; sed 's/^/  | /' "$tmp/err"; return
  fi
  local name=$(ls "$out" | sed -n "s/^\([^.]*\)\.weights$/\1/p") args=() f n
  for f in "$dir"/in.*.npy; do
    n=$(basename "$f" .npy); args+=(--input "${n#in.}=$PWD/$f")
  done
  local cc omp march
  for cc in "${compilers[@]}"; do
    local omps=("" "-fopenmp") marchs=("" "-march=native")
    [ "$cc" = tcc ] && omps=("") marchs=("")
    for omp in "${omps[@]}"; do
      for march in "${marchs[@]}"; do
        local how="$cc${omp:+ $omp}${march:+ $march}" extra=""
        [ "$cc" = clang-19 ] && [ -n "$march" ] && extra=$clang_native_quirk
        [ "$cc" = tcc ] || extra="$extra -Wall -Wextra -Werror"
        make -s -C "$out" clean >/dev/null
        if ! make -s -C "$out" CC="$cc" MARCH="$march $extra" OPENMP="$omp" >"$tmp/make" 2>&1; then
          bad "$label: make CC=$how"; sed 's/^/  | /' "$tmp/make"; continue
        fi
        # -Werror above; tcc's warnings too
        if grep -E "(warning|error)" "$tmp/make" | grep -q .; then
          bad "$label: warnings with $how"; sed 's/^/  | /' "$tmp/make"
        else ok; fi
        rm -rf "$tmp/run"
        if ! (cd "$out" && "./$name" "${args[@]}" --out-dir "$tmp/run") >"$tmp/out" 2>"$tmp/err"; then
          bad "$label: run ($how)"; sed 's/^/  | /' "$tmp/err"; continue
        fi
        for o in $(cut -d' ' -f1 "$tmp/out"); do
          if "$NPYCMP" "$tmp/run/$o.npy" "$dir/out.$o.npy" >"$tmp/cmp"; then ok; else
            bad "$label: $o with $how"; sed 's/^/  | /' "$tmp/cmp"; fi
        done
        if [ -n "$omp" ]; then
          ldd "$out/$name" >"$tmp/ldd"
          grep -qE 'libgomp|libomp' "$tmp/ldd" && ok || bad "$label: $how does not link OpenMP"
          grep -vE 'linux-vdso|libc\.so|libm\.so|libgomp\.so|libomp\.so|ld-linux' "$tmp/ldd" | grep -q . &&
            bad "$label: ldd ($how): $(cat "$tmp/ldd")" || ok
        fi
      done
    done
  done
  # the scalar kernels under a vector-capable compiler, too
  make -s -C "$out" clean >/dev/null
  if make -s -C "$out" CFLAGS="-O3 -std=gnu99 -DLOOM_SCALAR -Wall -Wextra -Werror" >"$tmp/make" 2>&1 &&
     (cd "$out" && "./$name" "${args[@]}" --out-dir "$tmp/scalar-$label") >/dev/null 2>"$tmp/err"; then
    for o in "$tmp"/scalar-$label/*.npy; do
      "$NPYCMP" "$o" "$dir/out.$(basename "$o")" >/dev/null && ok || bad "$label: -DLOOM_SCALAR $o"
    done
  else
    bad "$label: -DLOOM_SCALAR"; sed 's/^/  | /' "$tmp/make" "$tmp/err"
  fi
}

matrix goldens/attention-head
matrix goldens/gpt2-tiny
matrix goldens/vit-tiny


# Deterministic: a second emit-c is byte-identical.
"$LOOM" emit-c goldens/gpt2-tiny/model.yaml -o "$tmp/again" >/dev/null
"$LOOM" emit-c goldens/gpt2-tiny/model.yaml -o "$tmp/again2" >/dev/null
diff -r "$tmp/again" "$tmp/again2" >/dev/null && ok || bad "emit-c is not deterministic"

# Kernel sharing: 6 layers call the same kernels as 2.
for layers in 2 6; do
  cat >"$tmp/share$layers.yaml" <<EOF
name: share
family: gpt2
d_model: 32
heads: 4
layers: $layers
vocab: 50
max_len: 16
weights: {random: {seed: 1}}
EOF
  "$LOOM" emit-c "$tmp/share$layers.yaml" -o "$tmp/share$layers" >/dev/null || bad "emit-c share$layers"
done
k2=$(grep -c '^static int k' "$tmp/share2/share.c") k6=$(grep -c '^static int k' "$tmp/share6/share.c")
[ "$k2" -gt 0 ] && [ "$k2" = "$k6" ] && ok || bad "kernels: $k2 for 2 layers, $k6 for 6"
l2=$(wc -l <"$tmp/share2/share.c") l6=$(wc -l <"$tmp/share6/share.c")
# a layer is a few dozen steps of two lines each: far less than its kernels
[ $(( (l6 - l2) / 4 )) -lt 200 ] && ok || bad "each layer adds $(( (l6 - l2) / 4 )) lines"

# 16-wide float vectors for the paper's base model on an AVX-512 host.
if grep -qw avx512f /proc/cpuinfo; then
  "$LOOM" emit-c ../examples/transformer-base.yaml -o "$tmp/tb" >/dev/null || bad "emit-c transformer-base"
  grep -q 'typedef float lv_f32x16 __attribute__((vector_size(64)));' "$tmp/tb/transformer_base.c" &&
    grep -q 'lv_f32x16u' "$tmp/tb/transformer_base.c" && ok || bad "transformer-base: no 16-wide vectors"
  rm -rf "$tmp/tb"
else
  echo "note: no AVX-512 here; the 16-wide check is skipped"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
