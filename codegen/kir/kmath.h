/* kmath.h — math functions built from Kernel IR primitives.
 *
 * exp, erf and tanh are not machine instructions; building them here from
 * loads-free arithmetic (fma, floor, conversions, bit casts) makes them the
 * same in every backend, scalar or vector (any lane count).
 */
#ifndef LOOM_CODEGEN_KMATH_H
#define LOOM_CODEGEN_KMATH_H

#include "codegen/kir/kir.h"

/* f32 (any lanes) in, f32 out. */
uint32_t km_exp(Kernel *k, uint32_t x);  /* within 2 ulp on [-87, 88]; 0 below, +inf above */
/* exp for x <= 0 (−inf allowed, no NaN): what softmax's e^(s − max) needs,
 * in about two thirds of km_exp's operations; below −87.33 it gives
 * e^−87.33 ≈ 1.2e−38 rather than 0. */
uint32_t km_exp_nonpos(Kernel *k, uint32_t x);
uint32_t km_erf(Kernel *k, uint32_t x);  /* |error| < 2e-7 */
uint32_t km_tanh(Kernel *k, uint32_t x); /* |error| < 1e-6 */
/* Constants of x's type (broadcast when x is a vector). */
uint32_t km_const(Kernel *k, uint32_t like, double v);

#endif
