/* lower_act.c — the activations (OPF_ACTIVATION ops) in Kernel IR.
 *
 * One lowering, called by the elementwise kernels (lower_ops.c) and by
 * the matmul epilogue (lower_matmul.c) alike, so an activation means the
 * same wherever fuse-epilogue puts it — NaN and infinities included, as
 * the interpreter (ir/interp.c) defines them:
 *
 *   relu       x < 0 ? 0 : x                 (a select: NaN passes through,
 *                                              where max(x, 0) would give 0)
 *   gelu       h + h·erf(x/√2),  h = x/2      (= x/2·(1 + erf(x/√2)))
 *   gelu_tanh  h + h·tanh(√(2/π)·(x + 0.044715·x³))
 *
 * The fma form keeps −inf → NaN as the reference's 0·(−inf) does.
 */
#include "codegen/kir/kmath.h"
#include "codegen/lower/lower_loops.h"

#include <math.h>

uint32_t cg_activation(Kernel *k, Op act, uint32_t x) {
  if (act == OP_RELU) {
    uint32_t zero = km_const(k, x, 0.0);
    return k_select(k, k_binary(k, KO_LT, x, zero), zero, x);
  }
  x = lw_let_v(k, "x", x);
  uint32_t h = k_binary(k, KO_MUL, x, km_const(k, x, 0.5));
  if (act == OP_GELU) {
    uint32_t u = lw_let_v(k, "u", k_binary(k, KO_MUL, x, km_const(k, x, M_SQRT1_2)));
    return k_fma(k, h, km_erf(k, u), h);
  }
  IR_ASSERT(act == OP_GELU_TANH);
  const double c0 = sqrt(2.0 / M_PI), c1 = c0 * 0.044715;
  uint32_t x2 = k_binary(k, KO_MUL, x, x);
  uint32_t u = lw_let_v(k, "u", k_binary(k, KO_MUL, x, k_fma(k, x2, km_const(k, x, c1),
                                                         km_const(k, x, c0))));
  return k_fma(k, h, km_tanh(k, u), h);
}
