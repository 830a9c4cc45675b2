/* kir_eval.h — run a Kernel IR kernel directly, for tests.
 *
 * A test tool, not part of libloom: tests/unit/test_*.c include
 * tests/kir_eval.c.  The evaluator walks the statement tree with vectors as
 * arrays of lanes and computes exactly what kir.h says each construct
 * means, the f32 arithmetic rounded to float after every operation as the
 * hardware does.  It also checks what compiled code would get away with
 * silently, and aborts with a message naming the kernel when it finds one
 * (each is a bug in a lowering, not in the data):
 *
 *   - a load or store outside its buffer (buffers carry their length);
 *   - a variable read before its `let` or outside its loop body;
 *   - a float-to-int conversion out of range, integer division by zero,
 *     a shift by more than the width;
 *   - a loop bound that changes while the loop runs;
 *   - a race in a parallel loop: a `set` of a variable declared outside
 *     it, or an element one iteration writes and another reads or writes.
 *
 * Parallel loops run their iterations in reverse order, so a kernel that
 * silently depends on the order shows it.
 */
#ifndef LOOM_TESTS_KIR_EVAL_H
#define LOOM_TESTS_KIR_EVAL_H

#include <stdint.h>

#include "codegen/kir/kir.h"

/* One argument per kernel parameter. */
typedef struct {
  void *data;    /* KP_BUF: float or int32_t elements */
  int64_t len;   /* KP_BUF: number of elements */
  int64_t value; /* KP_I64 */
} KEvalArg;

/* Run k; returns 0 or the code of a KS_CHECK that fired. */
int kir_eval(const Kernel *k, const KEvalArg *args);

#endif
