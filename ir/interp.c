/* interp.c — the reference interpreter: what every op of ops.def means.
 *
 * Every pass and every backend is tested against this file, so it is written
 * to be obviously correct rather than fast:
 *
 *   1. ir_bind_inputs (ir/bind.c) gives each symbolic dimension (S <= 256) its value from
 *      the concrete shapes of the inputs, checking ranks, static dims,
 *      bounds, c*S divisibility and that a symbol has one value everywhere.
 *      An input declared {optional = true} may be left out (a Tensor with
 *      data == NULL): it reads as zeros, its shape bound by the others.
 *   2. ir_interp walks the nodes in (topological) order.  Each result gets its
 *      concrete dims from its symbolic shape and the binding (ir_shape_eval)
 *      and a fresh malloc'd buffer; the op's ref_ function fills it.  A buffer is
 *      freed after the last node that reads it, so a deep graph does not hold
 *      every intermediate at once.
 *   3. The graph's outputs are copied into malloc'd Tensors for the caller.
 *
 * The ref_ functions are plain loops over row-major f32 data, one per op,
 * each with a shape comment (named ref_, not k_, so that nobody mistakes
 * them for the Kernel IR builders of codegen/kir/).  Broadcasting (add, mul, matmul's batch dims) goes through
 * one helper, bcast_offset, that maps an index of the output to the offset of
 * the broadcast operand; reductions (softmax, layernorm, mean, l2_normalize,
 * matmul) accumulate in double so that the reference is at least as accurate
 * as any backend it judges.  Data movement (reshape, transpose, slice, split,
 * concat) copies bytes and so works for every dtype; everything else
 * computes on f32 (gather's ids are i32).
 *
 * Edge cases follow PyTorch: softmax of a row that is entirely -inf gives
 * NaN (-inf - -inf is NaN), as torch.softmax does; relu passes NaN through.
 *
 * The graph must be well formed (built through ir_infer, parsed, or
 * ir_verify'd): its shapes are then consistent, so a ref_ function that finds its
 * operands disagreeing with its result asserts — a bug in a shape rule or in
 * this file.  What a user can get wrong (an input's shape, an id out of
 * range, a weight without data, a dtype the interpreter does not compute on)
 * is a Diag located at the node.
 */
#include "ir/ir.h"
#include "ir/ref_util.h"

#include <math.h>
#include <string.h>

/* A value while the graph runs: concrete dims and row-major data. */
typedef struct {
  int rank;
  int64_t dims[IR_MAX_RANK];
  int64_t numel;
  size_t esize; /* bytes per element */
  void *data;
  bool owned; /* malloc'd here; inputs and weights are borrowed */
} Buf;

typedef struct {
  const Graph *g;
  const Node *n; /* the node being evaluated, for located errors */
  const int64_t *binding;
  Buf *vals; /* one per value of g */
  Diag *d;
} Interp;

/* ---- small helpers ------------------------------------------------------ */

static int64_t numel_of(int rank, const int64_t *dims) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) n *= dims[i];
  return n;
}

/* The offset (in elements) into an array of `rank`/`dims` that NumPy
 * broadcasting reads for index idx of a result of rank out_rank: dims are
 * right-aligned, a missing or size-1 dim repeats its only element. */
static int64_t bcast_offset(const int64_t *idx, int out_rank, int rank,
                            const int64_t *dims) {
  int lead = out_rank - rank;
  IR_ASSERT(lead >= 0);
  int64_t off = 0;
  for (int k = 0; k < rank; k++) {
    int64_t i = dims[k] == 1 ? 0 : idx[lead + k];
    IR_ASSERT(i < dims[k]);
    off = off * dims[k] + i;
  }
  return off;
}

/* Negative axes count from the end; -1 when out of range. */
static int norm_axis(int64_t axis, int rank) {
  if (axis < 0) axis += rank;
  return axis >= 0 && axis < rank ? (int)axis : -1;
}

/* x viewed as [outer, len, inner] around `axis`. */
static void split_at_axis(const Buf *x, int axis, int64_t *outer,
                          int64_t *len, int64_t *inner) {
  *outer = numel_of(axis, x->dims);
  *len = x->dims[axis];
  *inner = numel_of(x->rank - axis - 1, x->dims + axis + 1);
}

static int node_error(Interp *it, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* "FILE:LINE:COL: error: OP: message" at the node being evaluated. */
static int node_error(Interp *it, const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  return ir_errorf(it->d, it->n->loc, "%s: %s", ir_op_info(it->n->op)->name,
                   msg);
}

#define F32(b) ((float *)(b)->data)
#define CF32(b) ((const float *)(b)->data)

/* ---- kernels ------------------------------------------------------------ */

/* table [V, R...] f32, ids [I...] i32 -> out [I..., R...]:
 * out[i, :] = table[ids[i], :]; an id outside 0..V-1 is an error. */
static int ref_gather(Interp *it, const Buf *table, const Buf *ids, Buf *out) {
  int64_t V = table->dims[0];
  int64_t row = numel_of(table->rank - 1, table->dims + 1);
  IR_ASSERT(out->numel == ids->numel * row);
  const int32_t *id = ids->data;
  for (int64_t i = 0; i < ids->numel; i++) {
    if (id[i] < 0 || id[i] >= V) {
      int64_t idx[IR_MAX_RANK];
      char where[160], nb0[32], nb1[32];
      ir_unravel(i, ids->rank, ids->dims, idx);
      ir_format_index(idx, ids->rank, where, sizeof where);
      return node_error(it,
                        "id %d at %s of '%s' is out of range for table '%s' "
                        "with %lld rows",
                        id[i], where, ir_value_label(it->g, it->n->in[1], nb1, 32),
                        ir_value_label(it->g, it->n->in[0], nb0, 32), (long long)V);
    }
    memcpy(F32(out) + i * row, CF32(table) + (int64_t)id[i] * row,
           (size_t)row * sizeof(float));
  }
  return 0;
}

/* a [A...], b [B...] -> out [broadcast(A, B)]: out = a + b or a * b. */
static void ref_binary(Op op, const Buf *a, const Buf *b, Buf *out) {
  int64_t idx[IR_MAX_RANK];
  for (int64_t i = 0; i < out->numel; i++) {
    ir_unravel(i, out->rank, out->dims, idx);
    float x = CF32(a)[bcast_offset(idx, out->rank, a->rank, a->dims)];
    float y = CF32(b)[bcast_offset(idx, out->rank, b->rank, b->dims)];
    F32(out)[i] = op == OP_ADD ? x + y : x * y;
  }
}

/* x [...] -> out [...]: x * by (in f32, as PyTorch multiplies by a scalar). */
static void ref_scale(const Buf *x, float by, Buf *out) {
  for (int64_t i = 0; i < x->numel; i++) F32(out)[i] = CF32(x)[i] * by;
}

/* a [Ba..., M, K] (stored [Ba..., K, M] when transpose_a)
 * b [Bb..., K, N] (stored [Bb..., N, K] when transpose_b)
 * -> out [broadcast(Ba, Bb)..., M, N]; dot products summed in double. */
static void ref_matmul(const Buf *a, const Buf *b, bool ta, bool tb, Buf *out) {
  int ob = out->rank - 2, ab = a->rank - 2, bb = b->rank - 2;
  int64_t M = out->dims[ob], N = out->dims[ob + 1];
  int64_t K = ta ? a->dims[ab] : a->dims[ab + 1];
  IR_ASSERT((ta ? a->dims[ab + 1] : a->dims[ab]) == M);
  IR_ASSERT((tb ? b->dims[bb + 1] : b->dims[bb]) == K);
  IR_ASSERT((tb ? b->dims[bb] : b->dims[bb + 1]) == N);
  /* element strides of one matrix: A(m, k) = A[m*a_m + k*a_k] */
  int64_t a_m = ta ? 1 : K, a_k = ta ? M : 1;
  int64_t b_k = tb ? 1 : N, b_n = tb ? K : 1;
  int64_t batches = numel_of(ob, out->dims);
  int64_t idx[IR_MAX_RANK];
  for (int64_t t = 0; t < batches; t++) {
    ir_unravel(t, ob, out->dims, idx);
    const float *A = CF32(a) + bcast_offset(idx, ob, ab, a->dims) * M * K;
    const float *B = CF32(b) + bcast_offset(idx, ob, bb, b->dims) * K * N;
    float *O = F32(out) + t * M * N;
    for (int64_t m = 0; m < M; m++)
      for (int64_t n = 0; n < N; n++) {
        double s = 0;
        for (int64_t k = 0; k < K; k++)
          s += (double)A[m * a_m + k * a_k] * (double)B[k * b_k + n * b_n];
        O[m * N + n] = (float)s;
      }
  }
}

/* x [..., N], b [N] -> out [..., N]: x + b on every row. */
static void ref_bias_add(const Buf *x, const Buf *b, Buf *out) {
  int64_t N = b->numel;
  IR_ASSERT(x->dims[x->rank - 1] == N);
  for (int64_t i = 0; i < x->numel; i++)
    F32(out)[i] = CF32(x)[i] + CF32(b)[i % N];
}

/* x [..., N], gamma [N], beta [N] -> out [..., N]: per row,
 * (x - mean) / sqrt(var + eps) * gamma + beta with the biased variance,
 * mean and variance in double (two passes). */
static void ref_layernorm(const Buf *x, const Buf *gamma, const Buf *beta,
                        double eps, Buf *out) {
  int64_t N = x->dims[x->rank - 1];
  IR_ASSERT(gamma->numel == N && beta->numel == N);
  int64_t rows = x->numel / N;
  for (int64_t r = 0; r < rows; r++) {
    const float *X = CF32(x) + r * N;
    float *O = F32(out) + r * N;
    double mean = 0, var = 0;
    for (int64_t j = 0; j < N; j++) mean += X[j];
    mean /= (double)N;
    for (int64_t j = 0; j < N; j++) var += (X[j] - mean) * (X[j] - mean);
    var /= (double)N;
    double inv = 1.0 / sqrt(var + eps);
    for (int64_t j = 0; j < N; j++)
      O[j] = (float)((X[j] - mean) * inv * CF32(gamma)[j] + CF32(beta)[j]);
  }
}

/* x viewed as [outer, L, inner] around axis -> out same shape:
 * exp(x - max) / sum(exp(x - max)) along L.  An all -inf row gives NaN. */
static void ref_softmax(const Buf *x, int axis, Buf *out) {
  int64_t outer, L, inner;
  split_at_axis(x, axis, &outer, &L, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      const float *X = CF32(x) + o * L * inner + i;
      float *O = F32(out) + o * L * inner + i;
      float mx = -INFINITY;
      for (int64_t j = 0; j < L; j++)
        if (X[j * inner] > mx || isnan(X[j * inner])) mx = X[j * inner];
      double sum = 0;
      for (int64_t j = 0; j < L; j++) sum += exp((double)(X[j * inner] - mx));
      for (int64_t j = 0; j < L; j++)
        O[j * inner] = (float)(exp((double)(X[j * inner] - mx)) / sum);
    }
}

/* One activation (an OPF_ACTIVATION op) of v, in double: what each means. */
static double activation(Op op, double v) {
  if (op == OP_RELU) return v < 0 ? 0 : v; /* NaN passes through */
  if (op == OP_GELU) return 0.5 * v * (1 + erf(v / sqrt(2.0)));
  IR_ASSERT(op == OP_GELU_TANH);
  const double c = sqrt(2.0 / 3.14159265358979323846);
  return 0.5 * v * (1 + tanh(c * (v + 0.044715 * v * v * v)));
}

/* x [...] -> out [...]: an activation elementwise. */
static void ref_activation(Op op, const Buf *x, Buf *out) {
  for (int64_t i = 0; i < x->numel; i++)
    F32(out)[i] = (float)activation(op, CF32(x)[i]);
}

/* x [A...] -> out [B...] with prod(A) == prod(B): the same row-major bytes. */
static void ref_reshape(const Buf *x, Buf *out) {
  IR_ASSERT(x->numel == out->numel);
  memcpy(out->data, x->data, (size_t)x->numel * x->esize);
}

/* x [D0, D1, ...] -> out [D_perm[0], D_perm[1], ...]:
 * out[i0, i1, ...] = x[j] where j[perm[k]] = i_k. */
static void ref_transpose(const Buf *x, const int64_t *perm, Buf *out) {
  int64_t stride[IR_MAX_RANK], idx[IR_MAX_RANK];
  int64_t s = 1;
  for (int k = x->rank - 1; k >= 0; k--) {
    stride[k] = s;
    s *= x->dims[k];
  }
  for (int64_t i = 0; i < out->numel; i++) {
    ir_unravel(i, out->rank, out->dims, idx);
    int64_t off = 0;
    for (int k = 0; k < out->rank; k++) {
      IR_ASSERT(out->dims[k] == x->dims[perm[k]]);
      off += idx[k] * stride[perm[k]];
    }
    memcpy((char *)out->data + i * out->esize,
           (const char *)x->data + off * x->esize, x->esize);
  }
}

/* Copy x[..., start:start+n, ...] (along axis, x viewed as [outer, L, inner])
 * into dst viewed as [outer, dL, inner] at dst_start.  The one loop under
 * slice, split and concat. */
static void copy_along(const Buf *x, int axis, int64_t start, int64_t n,
                       Buf *dst, int64_t dst_start) {
  int64_t outer, L, inner, dL = dst->dims[axis];
  split_at_axis(x, axis, &outer, &L, &inner);
  IR_ASSERT(start >= 0 && start + n <= L && dst_start + n <= dL);
  size_t chunk = (size_t)(n * inner) * x->esize;
  for (int64_t o = 0; o < outer; o++)
    memcpy((char *)dst->data + ((o * dL + dst_start) * inner) * dst->esize,
           (const char *)x->data + ((o * L + start) * inner) * x->esize,
           chunk);
}

/* x [..., I, J] -> out [..., I, J]: x, with -inf where j > i + offset. */
static void ref_causal_mask(const Buf *x, int64_t offset, Buf *out) {
  int64_t I = x->dims[x->rank - 2], J = x->dims[x->rank - 1];
  int64_t mats = x->numel / (I * J);
  for (int64_t t = 0; t < mats; t++)
    for (int64_t i = 0; i < I; i++)
      for (int64_t j = 0; j < J; j++) {
        int64_t e = (t * I + i) * J + j;
        F32(out)[e] = j > i + offset ? -INFINITY : CF32(x)[e];
      }
}

/* -> out [len, d]: PE(p, 2i) = sin(p / 10000^(2i/d)),
 *                  PE(p, 2i+1) = cos(p / 10000^(2i/d)), in double. */
static void ref_sinusoidal_pe(Buf *out) {
  int64_t len = out->dims[0], d = out->dims[1];
  for (int64_t p = 0; p < len; p++)
    for (int64_t j = 0; j < d; j++) {
      int64_t two_i = j - j % 2;
      double angle = (double)p / pow(10000.0, (double)two_i / (double)d);
      F32(out)[p * d + j] = (float)(j % 2 == 0 ? sin(angle) : cos(angle));
    }
}

/* image [C, H, W] -> out [(H/p)*(W/p), C*p*p]: patch (ph, pw) is row
 * ph*(W/p) + pw; within it, column (c*p + kh)*p + kw holds
 * image[c, ph*p + kh, pw*p + kw] — a Conv2d(kernel = stride = p) weight
 * [d, C, p, p] reshaped to [d, C*p*p] multiplies exactly these rows. */
static void ref_patchify(const Buf *x, int64_t p, Buf *out) {
  int r = x->rank; /* [..., C, H, W]: each image of the batch in turn */
  int64_t C = x->dims[r - 3], H = x->dims[r - 2], W = x->dims[r - 1];
  int64_t PH = H / p, PW = W / p, cols = C * p * p;
  int64_t images = x->numel / (C * H * W);
  IR_ASSERT(out->dims[r - 3] == PH * PW && out->dims[r - 2] == cols);
  for (int64_t b = 0; b < images; b++) {
    const float *X = CF32(x) + b * C * H * W;
    float *O = F32(out) + b * PH * PW * cols;
    for (int64_t ph = 0; ph < PH; ph++)
      for (int64_t pw = 0; pw < PW; pw++)
        for (int64_t c = 0; c < C; c++)
          for (int64_t kh = 0; kh < p; kh++)
            for (int64_t kw = 0; kw < p; kw++)
              O[(ph * PW + pw) * cols + (c * p + kh) * p + kw] =
                  X[(c * H + ph * p + kh) * W + pw * p + kw];
  }
}

/* x broadcast to out's shape */
static void ref_expand(const Buf *x, Buf *out) {
  int64_t idx[IR_MAX_RANK];
  for (int64_t i = 0; i < out->numel; i++) {
    ir_unravel(i, out->rank, out->dims, idx);
    F32(out)[i] = CF32(x)[bcast_offset(idx, out->rank, x->rank, x->dims)];
  }
}

/* x viewed as [outer, L, inner] -> out [outer, inner] (or [outer, 1, inner]
 * with keepdims; the same bytes): the mean along L, summed in double. */
static void ref_mean(const Buf *x, int axis, Buf *out) {
  int64_t outer, L, inner;
  split_at_axis(x, axis, &outer, &L, &inner);
  IR_ASSERT(out->numel == outer * inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double s = 0;
      for (int64_t j = 0; j < L; j++) s += CF32(x)[(o * L + j) * inner + i];
      F32(out)[o * inner + i] = (float)(s / (double)L);
    }
}

/* x viewed as [outer, L, inner], keep [outer, L] -> out [outer, inner]:
 * the mean over the positions l with keep != 0, zeros when there is none
 * (sentence-transformers: Σ x·mask / clamp(Σ mask, 1e-9)). */
static void ref_masked_mean(const Buf *x, const Buf *keep, int axis, Buf *out) {
  int64_t outer, L, inner;
  split_at_axis(x, axis, &outer, &L, &inner);
  IR_ASSERT(keep->numel == outer * L && out->numel == outer * inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      double s = 0, n = 0;
      for (int64_t j = 0; j < L; j++)
        if (CF32(keep)[o * L + j] != 0) {
          s += CF32(x)[(o * L + j) * inner + i];
          n += 1;
        }
      F32(out)[o * inner + i] = n > 0 ? (float)(s / n) : 0.0f;
    }
}

/* x [X...], keep broadcast to X -> out [X...]: x, -inf where keep == 0 */
static void ref_mask(const Buf *x, const Buf *keep, Buf *out) {
  int64_t idx[IR_MAX_RANK];
  for (int64_t i = 0; i < out->numel; i++) {
    ir_unravel(i, out->rank, out->dims, idx);
    float m = CF32(keep)[bcast_offset(idx, out->rank, keep->rank, keep->dims)];
    F32(out)[i] = m != 0 ? CF32(x)[i] : -INFINITY;
  }
}

/* x viewed as [outer, L, inner] -> out same shape:
 * x / max(||x||_2 along L, eps), as torch.nn.functional.normalize. */
static void ref_l2_normalize(const Buf *x, int axis, double eps, Buf *out) {
  int64_t outer, L, inner;
  split_at_axis(x, axis, &outer, &L, &inner);
  for (int64_t o = 0; o < outer; o++)
    for (int64_t i = 0; i < inner; i++) {
      const float *X = CF32(x) + o * L * inner + i;
      double ss = 0;
      for (int64_t j = 0; j < L; j++) ss += (double)X[j * inner] * X[j * inner];
      double den = fmax(sqrt(ss), eps);
      for (int64_t j = 0; j < L; j++)
        F32(out)[o * L * inner + i + j * inner] = (float)(X[j * inner] / den);
    }
}

/* attention(q, k, v [, keep]) -> out, plainly: per leading index, head
 * and query row, scores s_j = scale · q·k_j in double over the keys it
 * sees (j <= i + q_offset when causal; keep[j] != 0 when given), softmax
 * of those, and the weighted sum of v.  Masked keys are left out, not
 * given -inf: a row that sees no key is zeros.  order hsd: q [B, H, Sq, D]
 * (B the leading dims flattened), k [B, H, Sk, D], v [B, H, Sk, Dv],
 * out [B, H, Sq, Dv]; shd: [B, Sq, H, D] and so on. */
static void ref_attention(const Buf *q, const Buf *k, const Buf *v,
                        const Buf *keep, bool shd, double scale, bool causal,
                        int64_t q_offset, Buf *out) {
  int r = q->rank;
  int64_t H = q->dims[shd ? r - 2 : r - 3];
  int64_t Sq = q->dims[shd ? r - 3 : r - 2], Sk = k->dims[shd ? r - 3 : r - 2];
  int64_t D = q->dims[r - 1], Dv = v->dims[r - 1];
  int64_t B = numel_of(r - 3, q->dims);
  IR_ASSERT(out->dims[r - 1] == Dv && k->dims[r - 1] == D);
  double *s = malloc((size_t)(Sk ? Sk : 1) * sizeof *s);
  bool *seen = malloc((size_t)(Sk ? Sk : 1) * sizeof *seen);
  IR_ASSERT(s && seen);
  /* element (b, h, i, d) of a [B, H, S, X] (hsd) or [B, S, H, X] (shd) */
#define AT(b, h, i, S, X) \
  (shd ? (((b) * (S) + (i)) * H + (h)) * (X) : (((b) * H + (h)) * (S) + (i)) * (X))
  for (int64_t b = 0; b < B; b++)
    for (int64_t h = 0; h < H; h++)
      for (int64_t i = 0; i < Sq; i++) {
        double mx = -INFINITY, sum = 0;
        for (int64_t j = 0; j < Sk; j++) {
          seen[j] = (!causal || j <= i + q_offset) &&
                    (!keep || CF32(keep)[b * Sk + j] != 0);
          if (!seen[j]) continue;
          double dot = 0;
          for (int64_t d = 0; d < D; d++)
            dot += (double)CF32(q)[AT(b, h, i, Sq, D) + d] *
                   CF32(k)[AT(b, h, j, Sk, D) + d];
          s[j] = scale * dot;
          if (s[j] > mx || isnan(s[j])) mx = s[j];
        }
        for (int64_t j = 0; j < Sk; j++)
          if (seen[j]) sum += s[j] = exp(s[j] - mx);
        float *o = F32(out) + AT(b, h, i, Sq, Dv);
        for (int64_t e = 0; e < Dv; e++) {
          double acc = 0;
          for (int64_t j = 0; j < Sk; j++)
            if (seen[j]) acc += s[j] * CF32(v)[AT(b, h, j, Sk, Dv) + e];
          o[e] = sum == 0 ? 0.0f : (float)(acc / sum); /* none seen */
        }
      }
#undef AT
  free(seen);
  free(s);
}

/* ---- one node ----------------------------------------------------------- */

/* The interpreter computes on f32 (gather's ids: i32); data movement works
 * on any dtype.  Anything else is reported, naming the operand. */
static int check_dtypes(Interp *it) {
  const Node *n = it->n;
  if (ir_op_info(n->op)->flags & OPF_MOVES) return 0;
  for (uint32_t i = 0; i < n->nin; i++) {
    DType want = n->op == OP_GATHER && i == 1 ? DT_I32 : DT_F32;
    DType got = it->g->values[n->in[i]].dtype;
    if (n->op == OP_MATMUL && i == 1 && got == DT_BF16) continue;
    if (got != want) {
      char nb[32];
      return node_error(it, "operand %u ('%s') is %s; the interpreter "
                        "computes this op on %s",
                        i, ir_value_label(it->g, n->in[i], nb, sizeof nb),
                        ir_dtype_name(got), ir_dtype_name(want));
    }
  }
  return 0;
}

/* An axis attribute, normalized against `rank`. */
static int axis_attr(Interp *it, const char *key, int rank, int *axis) {
  int64_t a = ir_get_int(it->g, it->n, key);
  *axis = norm_axis(a, rank);
  if (*axis < 0)
    return node_error(it, "%s = %lld is out of range for rank %d", key,
                      (long long)a, rank);
  return 0;
}

/* x [..., L, ...] -> out [..., end - start, ...] along axis, half-open.
 * A static end on a symbolic axis can exceed the axis for a small binding
 * (x [S, 4], end = 3, S = 2): that is the user's input, so an error. */
static int eval_slice(Interp *it, const Buf *x, Buf *out) {
  int axis;
  if (axis_attr(it, "axis", x->rank, &axis)) return -1;
  int64_t L = x->dims[axis];
  const Attr *st = ir_get_attr(it->n, "start");
  int64_t start = st->set ? ir_dim_value(st->dim, it->binding) : 0;
  const Attr *end_attr = ir_get_attr(it->n, "end"), *len = ir_get_attr(it->n, "len");
  int64_t end = len->set        ? start + ir_dim_value(len->dim, it->binding)
                : end_attr->set ? ir_dim_value(end_attr->dim, it->binding)
                                : L;
  if (start < 0 || end > L || start >= end)
    return node_error(it, "[%lld:%lld] does not fit axis %d of length %lld",
                      (long long)start, (long long)end, axis, (long long)L);
  IR_ASSERT(out->dims[axis] == end - start);
  copy_along(x, axis, start, end - start, out, 0);
  return 0;
}

/* write_rows(state, x): x's rows into the state at `at`, in place; the
 * result is the state's own storage (set up by the caller, ir_interp). */
static int eval_write_rows(Interp *it, const Buf *x, Buf *out) {
  int axis;
  if (axis_attr(it, "axis", out->rank, &axis)) return -1;
  const Attr *at_attr = ir_get_attr(it->n, "at");
  int64_t at = at_attr->set ? ir_dim_value(at_attr->dim, it->binding) : 0;
  int64_t n = x->dims[axis], L = out->dims[axis];
  if (at < 0 || at + n > L)
    return node_error(it, "rows [%lld:%lld] do not fit axis %d of length %lld",
                      (long long)at, (long long)(at + n), axis, (long long)L);
  copy_along(x, axis, 0, n, out, at);
  return 0;
}

static int eval_node(Interp *it) {
  const Node *n = it->n;
  const Graph *g = it->g;
  Buf *x = n->nin > 0 ? &it->vals[n->in[0]] : NULL;
  Buf *y = n->nin > 1 ? &it->vals[n->in[1]] : NULL;
  Buf *out = &it->vals[n->out[0]];
  int axis;
  if (check_dtypes(it)) return -1;
  if (n->nout == 1 && out->numel == 0) return 0; /* nothing to compute */
  switch (n->op) {
  case OP_GATHER: return ref_gather(it, x, y, out);
  case OP_ADD:
  case OP_MUL: ref_binary(n->op, x, y, out); return 0;
  case OP_SCALE: ref_scale(x, (float)ir_get_float(g, n, "by"), out); return 0;
  case OP_MATMUL: {
    /* act(a·b + bias) + residual; each step in place on out.  A bf16 b
     * (--dtype bf16) reads a rounded to bf16: products of bf16 values,
     * summed in double like every other matmul here. */
    Buf ar = *x;
    if (g->values[n->in[1]].dtype == DT_BF16) {
      float *r = malloc((size_t)(x->numel ? x->numel : 1) * sizeof *r);
      IR_ASSERT(r);
      for (int64_t i = 0; i < x->numel; i++)
        r[i] = ir_bf16_to_f32(ir_bf16_round(CF32(x)[i]));
      ar.data = r;
    }
    ref_matmul(&ar, y, ir_get_int(g, n, "transpose_a"),
             ir_get_int(g, n, "transpose_b"), out);
    if (ar.data != x->data) free(ar.data);
    if (ir_get_int(g, n, "bias")) ref_bias_add(out, &it->vals[n->in[2]], out);
    Op act = ir_matmul_act(g, n);
    if (act != OP_COUNT) ref_activation(act, out, out);
    if (ir_get_int(g, n, "residual"))
      ref_binary(OP_ADD, out, &it->vals[n->in[n->nin - 1]], out);
    return 0;
  }
  case OP_BIAS_ADD: ref_bias_add(x, y, out); return 0;
  case OP_LAYERNORM:
    ref_layernorm(x, y, &it->vals[n->in[2]], ir_get_float(g, n, "eps"), out);
    return 0;
  case OP_SOFTMAX:
    if (axis_attr(it, "axis", x->rank, &axis)) return -1;
    ref_softmax(x, axis, out);
    return 0;
  case OP_RELU:
  case OP_GELU:
  case OP_GELU_TANH: ref_activation(n->op, x, out); return 0;
  case OP_RESHAPE: ref_reshape(x, out); return 0;
  case OP_EXPAND: ref_expand(x, out); return 0;
  case OP_TRANSPOSE: {
    const Attr *perm = ir_get_attr(n, "perm");
    IR_ASSERT(perm->set && perm->n == x->rank);
    ref_transpose(x, perm->ints, out);
    return 0;
  }
  case OP_SLICE: return eval_slice(it, x, out);
  case OP_WRITE_ROWS: return eval_write_rows(it, y, out);
  case OP_SPLIT: {
    /* x [..., L, ...] -> out_j [..., L_j, ...], consecutive along axis */
    if (axis_attr(it, "axis", x->rank, &axis)) return -1;
    int64_t start = 0;
    for (uint32_t j = 0; j < n->nout; j++) {
      Buf *o = &it->vals[n->out[j]];
      copy_along(x, axis, start, o->dims[axis], o, 0);
      start += o->dims[axis];
    }
    IR_ASSERT(start == x->dims[axis]);
    return 0;
  }
  case OP_CONCAT: {
    /* in_j [..., L_j, ...] -> out [..., sum L_j, ...] */
    if (axis_attr(it, "axis", out->rank, &axis)) return -1;
    int64_t start = 0;
    for (uint32_t j = 0; j < n->nin; j++) {
      Buf *in = &it->vals[n->in[j]];
      copy_along(in, axis, 0, in->dims[axis], out, start);
      start += in->dims[axis];
    }
    IR_ASSERT(start == out->dims[axis]);
    return 0;
  }
  case OP_CAUSAL_MASK:
    ref_causal_mask(x, ir_get_int(g, n, "offset"), out);
    return 0;
  case OP_SINUSOIDAL_PE: ref_sinusoidal_pe(out); return 0;
  case OP_PATCHIFY: {
    int64_t p = ir_get_int(g, n, "patch");
    int r = x->rank;
    if (p < 1 || x->dims[r - 2] % p || x->dims[r - 1] % p)
      return node_error(it, "patch %lld does not divide the image %lldx%lld",
                        (long long)p, (long long)x->dims[r - 2],
                        (long long)x->dims[r - 1]);
    ref_patchify(x, p, out);
    return 0;
  }
  case OP_MEAN:
    if (axis_attr(it, "axis", x->rank, &axis)) return -1;
    if (y) ref_masked_mean(x, y, axis, out);
    else ref_mean(x, axis, out);
    return 0;
  case OP_MASK: ref_mask(x, y, out); return 0;
  case OP_L2_NORMALIZE:
    if (axis_attr(it, "axis", x->rank, &axis)) return -1;
    ref_l2_normalize(x, axis, ir_get_float(g, n, "eps"), out);
    return 0;
  case OP_ATTENTION: {
    const Attr *qo = ir_get_attr(n, "q_offset");
    ref_attention(x, y, &it->vals[n->in[2]],
                n->nin > 3 ? &it->vals[n->in[3]] : NULL,
                strcmp(ir_get_str(g, n, "order"), "shd") == 0,
                ir_get_float(g, n, "scale"), ir_get_int(g, n, "causal"),
                qo->set ? ir_dim_value(qo->dim, it->binding) : 0, out);
    return 0;
  }
  case OP_INPUT:
  case OP_WEIGHT:
  case OP_CONST:
  case OP_COUNT: break;
  }
  IR_ASSERT(!"eval_node: unhandled op");
  return -1;
}

/* ---- the graph ---------------------------------------------------------- */

/* Concrete dims of value v into b; a symbol no input bound is an error. */
static int eval_shape(Interp *it, uint32_t v, Buf *b) {
  const Value *val = &it->g->values[v];
  for (int i = 0; i < val->shape.rank; i++) {
    int32_t s = val->shape.d[i].sym;
    if (s >= 0 && it->binding[s] == 0)
      return node_error(it, "symbol %s is not bound by any input",
                        it->g->syms[s].name);
  }
  b->rank = val->shape.rank;
  b->numel = ir_shape_eval(&val->shape, it->binding, b->dims);
  b->esize = ir_dtype_size(val->dtype);
  return 0;
}

/* Give node `id`'s results their dims and fresh buffers. */
static int alloc_results(Interp *it) {
  for (uint32_t j = 0; j < it->n->nout; j++) {
    Buf *b = &it->vals[it->n->out[j]];
    if (eval_shape(it, it->n->out[j], b)) return -1;
    size_t bytes = (size_t)b->numel * b->esize;
    b->data = malloc(bytes ? bytes : 1);
    if (!b->data)
      return node_error(it, "out of memory allocating %zu bytes", bytes);
    b->owned = true;
  }
  return 0;
}

static void release(Buf *b) {
  if (b->owned) free(b->data);
  b->data = NULL;
  b->owned = false;
}

int ir_interp(const Graph *g, const Tensor *inputs, int n_inputs,
              Tensor *outputs, Diag *d) {
  for (uint32_t i = 0; i < g->n_outputs; i++) outputs[i] = (Tensor){0};
  int64_t *binding = calloc(g->n_syms ? g->n_syms : 1, sizeof *binding);
  Buf *vals = calloc(g->n_values ? g->n_values : 1, sizeof *vals);
  /* last_use[v]: the last node reading v; IR_NONE: nobody; a graph output
   * is kept to the end (n_nodes). */
  uint32_t *last_use = malloc((g->n_values ? g->n_values : 1) * sizeof *last_use);
  IR_ASSERT(binding && vals && last_use);
  for (uint32_t v = 0; v < g->n_values; v++) last_use[v] = IR_NONE;
  for (uint32_t id = 0; id < g->n_nodes; id++)
    for (uint32_t i = 0; i < g->nodes[id].nin; i++)
      last_use[g->nodes[id].in[i]] = id;
  for (uint32_t i = 0; i < g->n_outputs; i++)
    last_use[g->outputs[i]] = g->n_nodes;

  Interp it = {g, NULL, binding, vals, d};
  int rc = ir_bind_inputs(g, inputs, n_inputs, binding, d);
  int k = 0; /* next input tensor */
  for (uint32_t id = 0; id < g->n_nodes && rc == 0; id++) {
    const Node *n = it.n = &g->nodes[id];
    if (n->op == OP_INPUT || n->op == OP_WEIGHT || n->op == OP_CONST) {
      uint32_t v = n->out[0];
      Buf *b = &vals[v];
      if ((rc = eval_shape(&it, v, b))) break;
      if (n->op == OP_INPUT && ir_omitted_input(g, n, &inputs[k])) {
        k++;
        b->data = calloc(b->numel ? (size_t)b->numel : 1, b->esize);
        IR_ASSERT(b->data);
        ir_fill_input(g, n, b->data, b->numel);
        b->owned = true;
      } else if (n->op == OP_INPUT) {
        b->data = inputs[k++].data;
      } else if (!(b->data = (void *)g->values[v].data)) {
        char nb[32];
        rc = ir_errorf(d, n->loc, "%s '%s' has no data",
                       ir_op_info(n->op)->name, ir_value_label(g, v, nb, sizeof nb));
      } else if (g->values[v].dtype == DT_BF16) {
        /* bf16 (row-major, or pairP: ir.h) read as the f32 it stands for,
         * exactly; the matmul reading it rounds its a (its a, rounded) */
        const char *layout = n->op == OP_CONST ? ir_get_str(g, n, "layout") : "";
        int q = ir_layout_pair(layout);
        const uint16_t *src = b->data;
        float *dst = malloc((size_t)(b->numel ? b->numel : 1) * sizeof *dst);
        IR_ASSERT(dst);
        int64_t K = b->rank == 2 ? b->dims[0] : 0, N = b->numel / (K ? K : 1);
        for (int64_t i = 0; i < b->numel; i++)
          dst[i] = ir_bf16_to_f32(src[q ? ir_pair_index(K, q, i / N, i % N) : i]);
        b->data = dst;
        b->esize = 4;
        b->owned = true;
      } else if (n->op == OP_CONST) {
        /* panelP: [K, N] stored as ceil(N/P) panels of [K, P] */
        int p = ir_layout_panel(ir_get_str(g, n, "layout"));
        if (p > 0) {
          int64_t K = b->dims[0], N = b->dims[1];
          const float *src = b->data;
          float *dst = malloc((size_t)(K > 0 && N > 0 ? K * N : 1) * sizeof *dst);
          IR_ASSERT(dst);
          for (int64_t r = 0; r < K; r++)
            for (int64_t j = 0; j < N; j++)
              dst[r * N + j] = src[(j / p) * K * p + r * p + j % p];
          b->data = dst;
          b->owned = true;
        }
      }
      continue;
    }
    if (n->op == OP_WRITE_ROWS) { /* in place: the result is the state */
      Buf *b = &vals[n->out[0]];
      if ((rc = eval_shape(&it, n->out[0], b))) break;
      b->data = vals[n->in[0]].data;
      if ((rc = eval_node(&it))) break;
    } else if ((rc = alloc_results(&it)) || (rc = eval_node(&it))) {
      break;
    }
    /* free what nobody reads any more */
    for (uint32_t j = 0; j < n->nout; j++)
      if (last_use[n->out[j]] == IR_NONE) release(&vals[n->out[j]]);
    for (uint32_t i = 0; i < n->nin; i++)
      if (last_use[n->in[i]] == id) release(&vals[n->in[i]]);
  }

  for (uint32_t i = 0; i < g->n_outputs && rc == 0; i++) {
    const Buf *b = &vals[g->outputs[i]];
    Tensor *t = &outputs[i];
    size_t bytes = (size_t)b->numel * b->esize;
    t->dtype = g->values[g->outputs[i]].dtype;
    t->rank = b->rank;
    memcpy(t->dims, b->dims, sizeof t->dims);
    t->data = malloc(bytes ? bytes : 1);
    if (!t->data) {
      rc = ir_errorf(d, (Loc){0}, "out of memory allocating %zu bytes", bytes);
      break;
    }
    if (bytes) memcpy(t->data, b->data, bytes);
  }
  if (rc)
    for (uint32_t i = 0; i < g->n_outputs; i++) {
      free(outputs[i].data);
      outputs[i] = (Tensor){0};
    }
  for (uint32_t v = 0; v < g->n_values; v++) release(&vals[v]);
  free(last_use);
  free(vals);
  free(binding);
  return rc ? -1 : 0;
}
