/* kmath.c — exp, erf and tanh from Kernel IR primitives (see kmath.h).
 *
 * exp: Cody–Waite range reduction x = n·ln2 + r with |r| <= ln2/2, a
 * degree-6 polynomial for e^r (the Cephes expf coefficients), and 2^n built
 * in the exponent bits.  floor() is a truncating conversion corrected by
 * one where it rounded up, because vector floor is not portable C.  Inputs
 * are clamped before the conversion (no undefined float-to-int casts);
 * below -87.33 the result is 0, above 88.72 +inf, NaN stays NaN — so a
 * masked (−inf) score gives exactly 0 in softmax.
 *
 * erf: Abramowitz & Stegun 7.1.26, |error| <= 1.5e-7:
 *   erf(|x|) = 1 − t·(a1 + t·(a2 + t·(a3 + t·(a4 + t·a5))))·e^(−x²),
 *   t = 1 / (1 + p·|x|), odd in x.
 * tanh: 1 − 2 / (e^(2x) + 1), which saturates cleanly at ±1.
 */
#include "codegen/kir/kmath.h"

#include <math.h>

#include "ir/diag.h"

uint32_t km_const(Kernel *k, uint32_t like, double v) {
  KType t = k_type(k, like);
  uint32_t c = t.scalar == KT_F32 ? k_f32(k, v) : k_i32(k, (int32_t)v);
  return k_broadcast(k, c, t.lanes);
}

/* Bind an intermediate to a variable: a value used more than once would
 * otherwise print (and be emitted) as a copy of its whole tree each time. */
static uint32_t bind(Kernel *k, uint32_t e) {
  const KExpr *x = &k->exprs[e];
  if (x->kind == KE_VAR || x->kind == KE_CONST || x->kind == KE_BROADCAST)
    return e;
  return k_var(k, k_let(k, "m", e));
}

static uint32_t add(Kernel *k, uint32_t a, uint32_t b) { return k_binary(k, KO_ADD, a, b); }
static uint32_t sub(Kernel *k, uint32_t a, uint32_t b) { return k_binary(k, KO_SUB, a, b); }
static uint32_t mul(Kernel *k, uint32_t a, uint32_t b) { return k_binary(k, KO_MUL, a, b); }

uint32_t km_exp(Kernel *k, uint32_t x) {
  KType t = k_type(k, x);
  IR_ASSERT(t.scalar == KT_F32);
  KType ti = kt(KT_I32, t.lanes);
  x = bind(k, x);
  const double lo = -87.3365478515625, hi = 88.72283935546875;
  /* xc = clamp(x, lo, hi), NaN -> 0 */
  uint32_t xc = k_select(k, k_binary(k, KO_LT, x, km_const(k, x, lo)),
                         km_const(k, x, lo), x);
  xc = k_select(k, k_binary(k, KO_GT, xc, km_const(k, x, hi)),
                km_const(k, x, hi), xc);
  xc = bind(k, k_select(k, k_binary(k, KO_EQ, x, x), xc, km_const(k, x, 0)));
  /* n = floor(xc·log2(e) + 0.5) */
  uint32_t fx = bind(k, k_fma(k, xc, km_const(k, x, 1.44269504088896341),
                                km_const(k, x, 0.5)));
  uint32_t n = bind(k, k_convert(k, fx, ti));
  uint32_t up = k_binary(k, KO_GT, k_convert(k, n, t), fx);
  n = bind(k, k_select(k, up, sub(k, n, km_const(k, n, 1)), n));
  uint32_t fn = bind(k, k_convert(k, n, t));
  /* r = xc − n·ln2 in two steps (Cody–Waite) */
  uint32_t r = k_fma(k, fn, km_const(k, x, -0.693359375), xc);
  r = bind(k, k_fma(k, fn, km_const(k, x, 2.12194440e-4), r));
  /* e^r ≈ 1 + r + r²·P(r) */
  uint32_t p = km_const(k, x, 1.9875691500e-4);
  static const double c[] = {1.3981999507e-3, 8.3334519073e-3,
                             4.1665795894e-2, 1.6666665459e-1,
                             5.0000001201e-1};
  for (int i = 0; i < 5; i++) p = bind(k, k_fma(k, p, r, km_const(k, x, c[i])));
  uint32_t y = bind(k, k_fma(k, p, mul(k, r, r), add(k, r, km_const(k, x, 1.0))));
  /* · 2^n, built in the exponent field */
  uint32_t bits = k_binary(k, KO_SHL, add(k, n, km_const(k, n, 127)),
                           km_const(k, n, 23));
  y = bind(k, mul(k, y, k_bitcast(k, bits, t)));
  y = bind(k, k_select(k, k_binary(k, KO_LT, x, km_const(k, x, lo)),
                       km_const(k, x, 0), y));
  y = bind(k, k_select(k, k_binary(k, KO_GT, x, km_const(k, x, hi)),
                       km_const(k, x, INFINITY), y));
  return bind(k, k_select(k, k_binary(k, KO_NE, x, x), x, y));
}

/* The same reduction and polynomial as km_exp, for x <= 0 only: one clamp
 * (x >= lo) and no overflow or NaN cases; n = round(x·log2 e) as a
 * truncating conversion of x·log2 e − 1/2, which rounds to nearest for
 * arguments <= 0 (so |r| <= ln2/2 as before). */
uint32_t km_exp_nonpos(Kernel *k, uint32_t x) {
  KType t = k_type(k, x);
  IR_ASSERT(t.scalar == KT_F32);
  KType ti = kt(KT_I32, t.lanes);
  uint32_t xc = bind(k, k_binary(k, KO_MAX, x, km_const(k, x, -87.3365478515625)));
  uint32_t n = bind(k, k_convert(k, k_fma(k, xc, km_const(k, x, 1.44269504088896341),
                                          km_const(k, x, -0.5)), ti));
  uint32_t fn = bind(k, k_convert(k, n, t));
  uint32_t r = k_fma(k, fn, km_const(k, x, -0.693359375), xc);
  r = bind(k, k_fma(k, fn, km_const(k, x, 2.12194440e-4), r));
  uint32_t p = km_const(k, x, 1.9875691500e-4);
  static const double c[] = {1.3981999507e-3, 8.3334519073e-3,
                             4.1665795894e-2, 1.6666665459e-1,
                             5.0000001201e-1};
  for (int i = 0; i < 5; i++) p = bind(k, k_fma(k, p, r, km_const(k, x, c[i])));
  uint32_t y = bind(k, k_fma(k, p, mul(k, r, r), add(k, r, km_const(k, x, 1.0))));
  uint32_t bits = k_binary(k, KO_SHL, add(k, n, km_const(k, n, 127)),
                           km_const(k, n, 23));
  return bind(k, mul(k, y, k_bitcast(k, bits, t)));
}

uint32_t km_erf(Kernel *k, uint32_t x) {
  IR_ASSERT(k_type(k, x).scalar == KT_F32);
  x = bind(k, x);
  uint32_t ax = bind(k, k_unary(k, KO_ABS, x));
  uint32_t one = km_const(k, x, 1.0);
  uint32_t t = bind(k, k_binary(k, KO_DIV, one,
                                k_fma(k, ax, km_const(k, x, 0.3275911), one)));
  uint32_t p = km_const(k, x, 1.061405429);
  static const double a[] = {-1.453152027, 1.421413741, -0.284496736,
                             0.254829592};
  for (int i = 0; i < 4; i++) p = bind(k, k_fma(k, p, t, km_const(k, x, a[i])));
  p = bind(k, mul(k, p, t));
  uint32_t e = km_exp(k, k_unary(k, KO_NEG, mul(k, ax, ax)));
  uint32_t r = bind(k, sub(k, one, mul(k, p, e)));
  return bind(k, k_select(k, k_binary(k, KO_LT, x, km_const(k, x, 0)),
                          k_unary(k, KO_NEG, r), r));
}

uint32_t km_tanh(Kernel *k, uint32_t x) {
  IR_ASSERT(k_type(k, x).scalar == KT_F32);
  uint32_t one = km_const(k, x, 1.0);
  uint32_t e = km_exp(k, mul(k, x, km_const(k, x, 2.0)));
  return bind(k, sub(k, one, k_binary(k, KO_DIV, km_const(k, x, 2.0),
                                      add(k, e, one))));
}
