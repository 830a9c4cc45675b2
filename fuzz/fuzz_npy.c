/* fuzz_npy.c — the .npy reader: any bytes read, or fail with a message;
 * what it reads has as many elements as its dimensions say. */
#include "fuzz/fuzz.h"
#include "runtime/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  const char *path = fuzz_file(data, n, "npy");
  RtNpy a;
  char err[1024] = "";
  if (rt_npy_read(path, &a, err, sizeof err) == 0) {
    size_t count = 1;
    for (int i = 0; i < a.rank; i++) count *= (size_t)a.dims[i];
    if (count != a.count) abort();
    volatile unsigned char sum = 0; /* touch every byte */
    for (size_t i = 0; i < a.count * rt_npy_itemsize(a.type); i++)
      sum ^= ((const unsigned char *)a.data)[i];
  } else if (!err[0]) {
    abort();
  }
  rt_npy_free(&a);
  return 0;
}
