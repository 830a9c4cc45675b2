/* fuzz_safetensors.c — the safetensors reader: the header is checked
 * (offsets, sizes, overlaps), then every tensor it accepts converts to f32
 * without reading out of bounds. */
#include "frontend/safetensors.h"
#include "fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  const char *path = fuzz_file(data, n, "safetensors");
  StFile f;
  Diag d = {0};
  if (fe_st_open(path, &f, &d) == 0) {
    for (int i = 0; i < f.n; i++) {
      int64_t numel = fe_st_numel(&f.tensors[i]);
      if (numel > (1 << 20)) continue;
      float *dst = malloc((size_t)(numel ? numel : 1) * sizeof *dst);
      if (!dst) abort();
      fe_st_to_f32(&f, &f.tensors[i], dst, &d);
      free(dst);
    }
  } else if (!d.failed) {
    abort();
  }
  fe_st_close(&f);
  return 0;
}
