/* ref_util.h — helpers shared by the reference interpreter (interp.c) and
 * input binding (bind.c) for their located messages.  Private to ir/. */
#ifndef LOOM_IR_REF_UTIL_H
#define LOOM_IR_REF_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "ir/ir.h"

/* flat (row-major) -> multi-index idx[0..rank) of an array of `dims`. */
void ir_unravel(int64_t flat, int rank, const int64_t *dims, int64_t *idx);
/* v's name, or "%ID" (written into buf) when it has none. */
const char *ir_value_label(const Graph *g, uint32_t v, char *buf, size_t cap);
/* "[i, j, k]" */
void ir_format_index(const int64_t *idx, int rank, char *buf, size_t cap);
/* An input declared {optional = true} left out of a run (no data): it reads
 * as zeros of its declared shape. */
bool ir_omitted_input(const Graph *g, const Node *n, const Tensor *t);

#endif
