//! sa_desc.h — how a model describes its inputs and outputs to
//! runtime/standalone/sa_model.c (a template: NAME_ becomes the model's C
//! name).  codegen/c/c_emit.c writes it into NAME.c before the tables it
//! fills (io_in, io_out); codegen/llvm/llvm_obj.c writes it into
//! loom_obj.c, and codegen/llvm/llvm_glue.c builds the same structs as
//! constants in NAME.o — tests/cli/abi.sh checks the two agree.
/* a dimension: c * the symbol's value, or c when sym < 0 */
typedef struct {
  int64_t c;
  int sym;
} IoDim;

typedef struct {
  const char *name;
  NAME_dtype dtype;
  int rank;
  IoDim d[NAME_MAX_RANK];
  int optional; /* 0 required; left out: 1 zeros, 2 ones (fill = 1) */
  const char *shape; /* as text: "[S, 64]" */
  /* ids a gather reads: the rows of its table (rows.c 0: not ids) and the
   * table's name; bind() checks every id against them */
  IoDim rows;
  const char *table;
  /* a scalar i32 input {binds = P}: its value is symbol `binds` (a
   * position, 0 <= P <= its bound); -1 for every other input */
  int binds;
} IoSpec;
