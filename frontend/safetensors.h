/* safetensors.h — read-only access to .safetensors weight files.
 *
 * The file is memory-mapped and never copied: a tensor's `data` points into
 * the mapping (little-endian, C order, possibly unaligned), so opening a
 * multi-gigabyte checkpoint costs one header parse.  fe_st_to_f32 converts
 * any supported dtype to float32 for the compiler's constant folding and for
 * runtimes that want f32 weights.
 *
 * Every field of the header is validated at open time (dtype, shape, offsets
 * against the file, the byte span against the shape), so later code can trust
 * an StTensor.  Errors are "PATH: error: ..." in a Diag.
 */
#ifndef LOOM_FRONTEND_SAFETENSORS_H
#define LOOM_FRONTEND_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "ir/diag.h"

typedef enum {
  ST_F32,
  ST_F16,
  ST_BF16,
  ST_F64,
  ST_I64,
  ST_I32,
  ST_I16,
  ST_I8,
  ST_U8,
  ST_BOOL
} StDType;

typedef struct {
  char *name;
  StDType dtype;
  int rank; /* 0..8 */
  int64_t shape[8];
  const void *data; /* into the mapping; not necessarily aligned */
  size_t nbytes;    /* numel * itemsize */
} StTensor;

typedef struct {
  char *path;
  void *map;
  size_t size;
  StTensor
      *tensors; /* sorted by name (strcmp), so listings are deterministic */
  int n;
} StFile;

/* Map and validate `path`.  0 on success; -1 with "PATH: error: ..." in d and
 * *f zeroed on failure.  Close with fe_st_close either way (a no-op on a
 * zeroed StFile). */
int fe_st_open(const char *path, StFile *f, Diag *d);

/* The tensor called `name`, or NULL if absent. */
const StTensor *fe_st_find(const StFile *f, const char *name);

/* Number of elements (1 for rank 0). */
int64_t fe_st_numel(const StTensor *t);

/* Convert to float32 into dst (numel floats): F32 copied, F16 and BF16
 * converted exactly (incl. subnormals, inf, nan), F64 rounded to nearest,
 * integer types converted (rounded to nearest when beyond 2^24), BOOL to 0/1.
 */
int fe_st_to_f32(const StFile *f, const StTensor *t, float *dst, Diag *d);

void fe_st_close(StFile *f);

/* "F32", "BF16", ... as spelled in the file. */
const char *fe_st_dtype_name(StDType t);

/* Bytes per element (BOOL: 1). */
size_t fe_st_dtype_size(StDType t);

#endif
