#!/usr/bin/env bash
# The generated-model ABI is one ABI: a model compiled through LLVM
# (emit-obj: NAME.o + loom_obj.c) and the same model from the emitted C
# (emit-c: NAME.c) expose the same descriptors through NAME.h — name,
# inputs and outputs (names, dtypes, ranks, dims, symbolic dims' names),
# weights and arena sizes, and the output shapes for given inputs.  A
# small C program prints them all; it is built against both and the two
# printouts must be identical.  Skipped (77) without LLVM.
set -u
: "${LOOM:?}"
"$LOOM" run --help | grep -q '^ *jit ' || { echo "skipped: loom was built without LLVM"; exit 77; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/../lib.sh"
CC=${CC:-cc}

# info.c for model prefix $1: everything NAME.h can tell about the model.
info_c() {
  sed "s/NAME_/$1_/g; s/NAME\.h/$1.h/" <<'C'
#include <stdio.h>
#include "NAME.h"
static void info(const char *what, int i, const NAME_info *t) {
  printf("%s %d %s dtype=%d rank=%d", what, i, t->name, (int)t->dtype, t->rank);
  for (int d = 0; d < t->rank; d++)
    printf(" %lld%s%s", (long long)t->dims[d], t->dim_names[d] ? ":" : "",
           t->dim_names[d] ? t->dim_names[d] : "");
  printf("\n");
}
int main(void) {
  printf("name %s inputs %d outputs %d weights %zu arena %zu\n", NAME_name(),
         NAME_num_inputs(), NAME_num_outputs(), NAME_weights_bytes(), NAME_arena_bytes());
  NAME_info t;
  NAME_tensor in[64];
  int n = NAME_num_inputs();
  for (int i = 0; i < n && i < 64; i++) {
    if (NAME_input_info(i, &t)) return 1;
    info("input", i, &t);
    in[i].name = t.name, in[i].dtype = t.dtype, in[i].rank = t.rank, in[i].data = 0;
    for (int d = 0; d < t.rank; d++) in[i].dims[d] = t.dim_names[d] ? 3 : t.dims[d];
  }
  for (int i = 0; i < NAME_num_outputs(); i++) {
    if (NAME_output_info(i, &t)) return 1;
    info("output", i, &t);
  }
  printf("input_info(%d) -> %d\n", n, (int)NAME_input_info(n, &t));
  NAME_tensor out[64] = {{0}};
  char err[512] = "";
  int st = NAME_output_shapes(in, n, out, NAME_num_outputs(), err, sizeof err);
  printf("output_shapes -> %d %s\n", st, err);
  for (int i = 0; st == 0 && i < NAME_num_outputs(); i++) {
    printf("shape %d %s", i, out[i].name);
    for (int d = 0; d < out[i].rank; d++) printf(" %lld", (long long)out[i].dims[d]);
    printf(" bytes %zu\n", NAME_tensor_bytes(&out[i]));
  }
  return 0;
}
C
}

for g in goldens/attention-head goldens/bert-mean-norm goldens/gpt2-tiny goldens/transformer-pre-gelu goldens/vit-tiny; do
  label=$(basename "$g")
  if ! "$LOOM" emit-c "$g/model.yaml" -o "$tmp/$label/c" >/dev/null 2>"$tmp/err" ||
     ! "$LOOM" emit-obj "$g/model.yaml" -o "$tmp/$label/o" >/dev/null 2>>"$tmp/err"; then
    bad "$label: emit"; sed 's/^/  | /' "$tmp/err"; continue
  fi
  # the model, and a generating model's graphs (NAME_prefill, ...)
  main=$(ls "$tmp/$label/o" | sed -n "s/^\([^.]*\)\.weights$/\1/p")
  for o in "$tmp/$label/o"/*.o; do
    name=$(basename "$o" .o)
    info_c "$name" >"$tmp/$label/c/info.c"
    cp "$tmp/$label/c/info.c" "$tmp/$label/o/info.c"
    if ! (cd "$tmp/$label/c" && $CC -std=gnu11 -O1 -o info info.c "$name.c" -lm) 2>"$tmp/err" ||
       ! (cd "$tmp/$label/o" && $CC -std=gnu11 -O1 -o info info.c "$name.o" loom_obj.c -lm) 2>>"$tmp/err"; then
      bad "$label: build $name"; sed 's/^/  | /' "$tmp/err" | head; continue
    fi
    "$tmp/$label/c/info" >"$tmp/$label/c.txt" 2>&1
    "$tmp/$label/o/info" >"$tmp/$label/o.txt" 2>&1
    if [ "$name" = "$main" ] && ! grep -q '^output_shapes -> 0' "$tmp/$label/c.txt"; then
      bad "$label: the emitted C's descriptors"; sed 's/^/  | /' "$tmp/$label/c.txt"
    elif ! diff "$tmp/$label/c.txt" "$tmp/$label/o.txt" >"$tmp/diff"; then
      bad "$label: $name.o and $name.c describe the model differently"; sed 's/^/  | /' "$tmp/diff"
    else
      ok
    fi
  done
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
