/* npy.h — read and write NumPy .npy files (inputs, golden outputs, dumps).
 *
 * The runtime stands alone: this needs only libc, because generated C
 * programs copy runtime/ sources next to themselves.  Errors are therefore not
 * a Diag but a caller-provided buffer holding one line "PATH: error: MESSAGE"
 * (no trailing newline), the same shape as every other loom error.
 *
 * Only what loom needs is supported: little-endian (or native, on a
 * little-endian host) f4, f8, i4, i8 in C order, rank 0..8.  Anything else is
 * rejected with a message naming what was found.
 */
#ifndef LOOM_RUNTIME_NPY_H
#define LOOM_RUNTIME_NPY_H

#include <stddef.h>
#include <stdint.h>

typedef enum { RT_NPY_F32, RT_NPY_F64, RT_NPY_I32, RT_NPY_I64 } RtNpyType;

#define RT_NPY_MAX_RANK 8

typedef struct {
  RtNpyType type;
  int rank; /* 0..8 */
  int64_t dims[8];
  void *data;   /* malloc'd, native little-endian, C order */
  size_t count; /* number of elements */
} RtNpy;

/* Read `path` into `out` (data malloc'd, free with rt_npy_free).  Accepts
 * format versions 1.0, 2.0 and 3.0.  Returns 0 on success; on failure -1,
 * `out` zeroed and err holding "PATH: error: MESSAGE" (no newline). */
int rt_npy_read(const char *path, RtNpy *out, char *err, size_t errlen);

/* Free the data of an array filled by rt_npy_read; zeroes it.  Safe on a
 * zeroed RtNpy and twice in a row. */
void rt_npy_free(RtNpy *a);

/* Write a float32 (or int32; f64 and i64 work too) .npy: writes to a temporary
 * file in the same directory and renames, so a failure leaves no partial
 * file.  The bytes are the ones numpy.save writes for the same array (version
 * 1.0 header, padded to 64 bytes).  0 on success, -1 and err on failure. */
int rt_npy_write(const char *path, RtNpyType type, const void *data, int rank,
                 const int64_t *dims, char *err, size_t errlen);

/* Size in bytes of one element of `type` (4 or 8). */
size_t rt_npy_itemsize(RtNpyType type);

#endif
