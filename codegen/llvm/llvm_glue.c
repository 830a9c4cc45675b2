/* llvm_glue.c — a Program's glue in LLVM IR (emit-obj, build --via llvm):
 * forward() with one kernel call per step, the model's descriptor (the
 * IoSpec tables of runtime/standalone/sa_desc.h as constants) and the API
 * of NAME.h as calls into loom_obj_* with that descriptor in force — the
 * twin of codegen/c/c_emit.c's forward() and tables.
 */
#include "codegen/llvm/llvm_internal.h"

#include <stdlib.h>
#include <string.h>

#include "codegen/c/c_emit.h"

/* ---- the model in an object file ------------------------------------------- */

/* A private constant C string. */
static LLVMValueRef cstr(Em *E, const char *s) {
  LLVMValueRef init = LLVMConstStringInContext2(E->ctx, s, strlen(s), 0);
  LLVMValueRef g = LLVMAddGlobal(E->mod, LLVMTypeOf(init), ".str");
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  LLVMSetLinkage(g, LLVMPrivateLinkage);
  LLVMSetUnnamedAddress(g, LLVMGlobalUnnamedAddr);
  return g;
}

static LLVMValueRef const_global(Em *E, LLVMValueRef init, const char *name,
                                 bool internal) {
  LLVMValueRef g = LLVMAddGlobal(E->mod, LLVMTypeOf(init), name);
  LLVMSetInitializer(g, init);
  LLVMSetGlobalConstant(g, 1);
  if (internal) LLVMSetLinkage(g, LLVMInternalLinkage);
  return g;
}

static const char *value_name(const Graph *g, uint32_t v, char *buf, size_t cap) {
  if (g->values[v].name) return g->values[v].name;
  snprintf(buf, cap, "%%%u", v);
  return buf;
}

/* IoSpec (runtime/standalone/sa_desc.h, which sa_model.c reads):
 * {name, dtype, rank, {{c, sym} x 8}, optional, shape text, rows {c, sym},
 * table name, binds}. */
static LLVMValueRef io_spec(Em *E, LLVMTypeRef spec_t, LLVMTypeRef dim_t,
                            const Graph *g, uint32_t v, int optional) {
  LLVMValueRef dims[IR_MAX_RANK];
  const Value *val = v == UINT32_MAX ? NULL : &g->values[v];
  for (int i = 0; i < IR_MAX_RANK; i++) {
    bool real = val && i < val->shape.rank;
    LLVMValueRef f[2] = {lv_i64(E, real ? val->shape.d[i].c : 0),
                         lv_i32(E, real ? val->shape.d[i].sym : -1)};
    dims[i] = LLVMConstNamedStruct(dim_t, f, 2);
  }
  char nb[32], shape[256];
  if (val) ir_format_shape(g, &val->shape, shape, sizeof shape);
  uint32_t table = val ? ir_input_table(g, v) : IR_NONE;
  Dim rows = table == IR_NONE ? (Dim){0, -1} : g->values[table].shape.d[0];
  LLVMValueRef rf[2] = {lv_i64(E, rows.c), lv_i32(E, rows.sym)};
  const Node *src = val ? &g->nodes[val->node] : NULL;
  const Attr *bd = src && src->op == OP_INPUT ? ir_get_attr(src, "binds") : NULL;
  LLVMValueRef f[9] = {
      val ? cstr(E, value_name(g, v, nb, sizeof nb)) : LLVMConstNull(E->ptr),
      LLVMConstInt(E->i32, val && val->dtype == DT_I32 ? 1 : 0, 0),
      LLVMConstInt(E->i32, val ? (unsigned)val->shape.rank : 0, 0),
      LLVMConstArray2(dim_t, dims, IR_MAX_RANK),
      LLVMConstInt(E->i32, (unsigned)optional, 0),
      val ? cstr(E, shape) : LLVMConstNull(E->ptr),
      LLVMConstNamedStruct(dim_t, rf, 2),
      table == IR_NONE ? LLVMConstNull(E->ptr) : cstr(E, value_name(g, table, nb, sizeof nb)),
      lv_i32(E, bd && bd->set ? bd->dim.sym : -1)};
  return LLVMConstNamedStruct(spec_t, f, 9);
}



/* i32 forward(w, a, in, out, sym, err, errlen): one kernel call per step;
 * a kernel's code becomes loom_obj_step_failed(err, errlen, where, msg). */
static LLVMValueRef emit_forward(Em *E, const Program *p, const char *name,
                                 LLVMValueRef *kfn) {
  const Graph *g = p->g;
  LLVMTypeRef pt[7] = {E->ptr, E->ptr, E->ptr, E->ptr, E->ptr, E->ptr, E->i64};
  char fname[256];
  snprintf(fname, sizeof fname, "%s_forward", name);
  LLVMValueRef fn = lv_new_fn(E, fname, E->i32, pt, 7, true);
  LLVMValueRef w = LLVMGetParam(fn, 0), a = LLVMGetParam(fn, 1),
               in = LLVMGetParam(fn, 2), out = LLVMGetParam(fn, 3),
               sym = LLVMGetParam(fn, 4);
  LLVMPositionBuilderAtEnd(E->b, LLVMAppendBasicBlockInContext(E->ctx, fn, "entry"));
  LLVMTypeRef fp[4] = {E->ptr, E->i64, E->ptr, E->ptr};
  LLVMValueRef failed = lv_extern(E, "loom_obj_step_failed", E->i32, fp, 4);
  for (uint32_t i = 0; i < p->n_steps; i++) {
    const PStep *s = &p->steps[i];
    const PKernel *pk = &p->kernels[s->kernel];
    LLVMValueRef args[K_MAX_PARAMS];
    IR_ASSERT(s->n_args <= K_MAX_PARAMS);
    for (uint32_t k = 0; k < s->n_args; k++) {
      KBind b = s->args[k];
      LLVMValueRef idx;
      if (b.kind == KB_SYM) {
        idx = LLVMConstInt(E->i64, b.id, 0);
        LLVMValueRef at = LLVMBuildInBoundsGEP2(E->b, E->i64, sym, &idx, 1, "");
        args[k] = LLVMBuildLoad2(E->b, E->i64, at, "");
        continue;
      }
      const PStore *st = &p->store[b.id];
      switch (st->kind) {
      case PS_INPUT:
      case PS_OUTPUT:
        idx = LLVMConstInt(E->i64, st->index, 0);
        args[k] = LLVMBuildLoad2(E->b, E->ptr,
                                 LLVMBuildInBoundsGEP2(E->b, E->ptr,
                                                       st->kind == PS_INPUT ? in : out,
                                                       &idx, 1, ""),
                                 "");
        break;
      case PS_WEIGHT:
      case PS_ARENA:
        idx = LLVMConstInt(E->i64, (unsigned long long)st->offset, 1);
        args[k] = LLVMBuildInBoundsGEP2(E->b, LLVMInt8TypeInContext(E->ctx),
                                        st->kind == PS_WEIGHT ? w : a, &idx, 1, "");
        break;
      }
    }
    LLVMValueRef rc = lv_call(E, kfn[s->kernel], args, s->n_args);
    uint32_t codes = cg_kernel_codes(pk->vec);
    if (!codes) continue;
    /* where: error: msg, the message chosen by the code */
    const Node *n = &g->nodes[s->node];
    char where[1024], msg[1024];
    cg_loc_text(n->loc, where, sizeof where);
    LLVMBasicBlockRef bad = LLVMAppendBasicBlockInContext(E->ctx, fn, "failed");
    LLVMBasicBlockRef ok = LLVMAppendBasicBlockInContext(E->ctx, fn, "ok");
    LLVMBuildCondBr(E->b, LLVMBuildICmp(E->b, LLVMIntNE, rc, LLVMConstInt(E->i32, 0, 0), ""),
                    bad, ok);
    LLVMPositionBuilderAtEnd(E->b, bad);
    cg_kernel_message(g, n, 0, pk->name, msg, sizeof msg);
    LLVMValueRef m = cstr(E, msg);
    for (int c = 1; c < 32; c++) {
      if (!(codes & (1u << c))) continue;
      cg_kernel_message(g, n, c, pk->name, msg, sizeof msg);
      LLVMValueRef is_c = LLVMBuildICmp(E->b, LLVMIntEQ, rc, lv_i32(E, c), "");
      m = LLVMBuildSelect(E->b, is_c, cstr(E, msg), m, "");
    }
    LLVMValueRef fa[4] = {LLVMGetParam(fn, 5), LLVMGetParam(fn, 6), cstr(E, where), m};
    LLVMBuildRet(E->b, lv_call(E, failed, fa, 4));
    LLVMPositionBuilderAtEnd(E->b, ok);
  }
  LLVMBuildRet(E->b, LLVMConstInt(E->i32, 0, 0));
  return fn;
}

/* The API of NAME.h, each function `NAME_f` calling the runtime's
 * `loom_obj_f` with the model's descriptor in force.  Types: first the
 * result, then the parameters (v void, i int, l size_t/int64, p pointer). */
static const struct {
  const char *fn, *sig;
} api_fns[] = {
    {"create", "ipppl"},       {"create_from_memory", "iplppl"},
    {"free", "vp"},            {"name", "p"},
    {"num_inputs", "i"},       {"num_outputs", "i"},
    {"input_info", "iip"},     {"output_info", "iip"},
    {"weights_bytes", "l"},    {"arena_bytes", "l"},
    {"output_shapes", "ipipipl"}, {"run", "ippipipl"},
    {"tensor_bytes", "lp"},
};

static LLVMTypeRef sig_type(Em *E, char c) {
  return c == 'v' ? E->vd : c == 'i' ? E->i32 : c == 'l' ? E->i64 : E->ptr;
}

/* The model's descriptor (LoomObjModel of runtime/standalone/sa_obj.c), forward,
 * and the API functions. */
void lv_glue(Em *E, const Program *p, const char *name, LLVMValueRef *kfn) {
  const Graph *g = p->g;
  LLVMValueRef forward = emit_forward(E, p, name, kfn);
  LLVMTypeRef dim_t = LLVMStructCreateNamed(E->ctx, "IoDim");
  LLVMTypeRef df[2] = {E->i64, E->i32};
  LLVMStructSetBody(dim_t, df, 2, 0);
  LLVMTypeRef spec_t = LLVMStructCreateNamed(E->ctx, "IoSpec");
  LLVMTypeRef sf[9] = {E->ptr, E->i32, E->i32, LLVMArrayType2(dim_t, IR_MAX_RANK),
                       E->i32, E->ptr, dim_t, E->ptr, E->i32};
  LLVMStructSetBody(spec_t, sf, 9, 0);

  uint32_t n_in = ir_inputs(g, NULL, 0);
  uint32_t *ins = calloc(n_in + 1, sizeof *ins);
  LLVMValueRef *specs = calloc(n_in + g->n_outputs + 2, sizeof *specs);
  LLVMValueRef *names = calloc(g->n_syms + 1, sizeof *names);
  LLVMValueRef *bounds = calloc(g->n_syms + 1, sizeof *bounds);
  IR_ASSERT(ins && specs && names && bounds);
  ir_inputs(g, ins, n_in);
  for (uint32_t i = 0; i < n_in; i++)
    specs[i] = io_spec(E, spec_t, dim_t, g, ins[i], ir_input_optional_code(g, ins[i]));
  specs[n_in] = io_spec(E, spec_t, dim_t, g, UINT32_MAX, 0);
  LLVMValueRef io_in = const_global(E, LLVMConstArray2(spec_t, specs, n_in + 1), "io_in", true);
  for (uint32_t i = 0; i < g->n_outputs; i++)
    specs[i] = io_spec(E, spec_t, dim_t, g, g->outputs[i], false);
  specs[g->n_outputs] = io_spec(E, spec_t, dim_t, g, UINT32_MAX, false);
  LLVMValueRef io_out =
      const_global(E, LLVMConstArray2(spec_t, specs, g->n_outputs + 1), "io_out", true);
  for (uint32_t s = 0; s < g->n_syms; s++) {
    names[s] = cstr(E, g->syms[s].name);
    bounds[s] = LLVMConstInt(E->i64, (unsigned long long)g->syms[s].bound, 1);
  }
  names[g->n_syms] = LLVMConstNull(E->ptr);
  bounds[g->n_syms] = LLVMConstInt(E->i64, 0, 0);
  LLVMValueRef sym_name =
      const_global(E, LLVMConstArray2(E->ptr, names, g->n_syms + 1), "sym_name", true);
  LLVMValueRef sym_bound =
      const_global(E, LLVMConstArray2(E->i64, bounds, g->n_syms + 1), "sym_bound", true);

  LLVMValueRef df_[12] = {
      cstr(E, g->name ? g->name : name),
      LLVMConstInt(E->i32, n_in, 0),
      LLVMConstInt(E->i32, g->n_outputs, 0),
      LLVMConstInt(E->i32, g->n_syms, 0),
      sym_name,
      sym_bound,
      io_in,
      io_out,
      LLVMConstInt(E->i64, cg_weights_hash(p), 0),
      LLVMConstInt(E->i64, (unsigned long long)p->weight_bytes, 0),
      LLVMConstInt(E->i64, (unsigned long long)p->arena_bytes, 0),
      forward};
  char gname[256];
  snprintf(gname, sizeof gname, "%s_descriptor", name);
  LLVMValueRef desc =
      const_global(E, LLVMConstStructInContext(E->ctx, df_, 12, 0), gname, true);

  LLVMValueRef use = lv_extern(E, "loom_obj_use", E->vd, &E->ptr, 1);
  for (size_t i = 0; i < sizeof api_fns / sizeof api_fns[0]; i++) {
    const char *sig = api_fns[i].sig;
    unsigned np = (unsigned)strlen(sig) - 1;
    LLVMTypeRef pt[8];
    for (unsigned k = 0; k < np; k++) pt[k] = sig_type(E, sig[k + 1]);
    char fname[256];
    snprintf(fname, sizeof fname, "loom_obj_%s", api_fns[i].fn);
    LLVMValueRef target = lv_extern(E, fname, sig_type(E, sig[0]), pt, np);
    snprintf(fname, sizeof fname, "%s_%s", name, api_fns[i].fn);
    LLVMValueRef fn = lv_new_fn(E, fname, sig_type(E, sig[0]), pt, np, false);
    LLVMPositionBuilderAtEnd(E->b, LLVMAppendBasicBlockInContext(E->ctx, fn, "entry"));
    lv_call(E, use, &desc, 1);
    LLVMValueRef args[8];
    for (unsigned k = 0; k < np; k++) args[k] = LLVMGetParam(fn, k);
    LLVMValueRef r = lv_call(E, target, args, np);
    LLVMSetTailCall(r, 1);
    if (sig[0] == 'v')
      LLVMBuildRetVoid(E->b);
    else
      LLVMBuildRet(E->b, r);
  }
  free(ins);
  free(specs);
  free(names);
  free(bounds);
}

void cg_llvm_thunk_name(const Program *p, uint32_t kernel, char *buf, size_t cap) {
  snprintf(buf, cap, "%s_thunk", p->kernels[kernel].name);
}

