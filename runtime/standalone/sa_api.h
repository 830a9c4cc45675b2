//! sa_api.h — the API of every model loom compiles: the types and
//! functions of NAME.h (a template: NAME_ becomes the model's C name).
//!
//! One text, three users: codegen/c/c_emit.c writes it into NAME.h for the
//! C backend and emit-c; codegen/llvm/llvm_obj.c writes it into loom_obj.c
//! (as loom_obj_) and NAME.h for emit-obj, whose NAME.o defines these
//! functions as calls into loom_obj_*.  runtime/standalone/sa_model.c
//! implements them.  A program cannot tell the two kinds of model apart.
#define NAME_MAX_RANK 8

typedef enum {
  NAME_OK = 0,
  NAME_ERR_MODEL = 1, /* a bad weights file or input data */
  NAME_ERR_USAGE = 2  /* API misuse: a bad index, NULL */
} NAME_status;

typedef enum { NAME_F32 = 0, NAME_I32 = 1 } NAME_dtype;

typedef struct NAME_model NAME_model;

/* A tensor passed to or from the model: row-major, caller-owned data. */
typedef struct {
  const char *name;
  NAME_dtype dtype;
  int rank;
  int64_t dims[NAME_MAX_RANK];
  void *data;
} NAME_tensor;

/* An input or output: a symbolic dimension has dims[i] = its upper
 * bound and dim_names[i] its name (NULL when static). */
typedef struct {
  const char *name;
  NAME_dtype dtype;
  int rank;
  int64_t dims[NAME_MAX_RANK];
  const char *dim_names[NAME_MAX_RANK];
} NAME_info;

/* Load the weights: a NAME.weights file, or an executable that carries
 * them (loom build --embed-weights).  The file is memory-mapped where
 * the system allows; a file made for another model is refused. */
NAME_status NAME_create(const char *weights_path, NAME_model **out,
                        char *err, size_t errlen);
/* The same from memory holding such a file's bytes; the memory is
 * borrowed (keep it until NAME_free) unless it is not 4-byte aligned. */
NAME_status NAME_create_from_memory(const void *image, size_t bytes,
                                    NAME_model **out, char *err,
                                    size_t errlen);
void NAME_free(NAME_model *m);

const char *NAME_name(void); /* the model's name, as its file gives it */
int NAME_num_inputs(void);
int NAME_num_outputs(void);
NAME_status NAME_input_info(int i, NAME_info *out);
NAME_status NAME_output_info(int i, NAME_info *out);
size_t NAME_weights_bytes(void); /* the weights' data */
size_t NAME_arena_bytes(void);   /* activations, allocated by NAME_create */

/* The outputs' shapes for these inputs (data is not read): fills name,
 * dtype, rank and dims of outputs[0..n_outputs). */
NAME_status NAME_output_shapes(const NAME_tensor *inputs, int n_inputs,
                               NAME_tensor *outputs, int n_outputs,
                               char *err, size_t errlen);
/* Run: inputs by name (each once; an optional one may be left out);
 * outputs[i] is the i-th output, name NULL or its name, data of
 * NAME_tensor_bytes() for the shapes NAME_output_shapes gives.  Symbolic
 * dimensions come from the inputs' shapes and are checked against
 * their bounds. */
NAME_status NAME_run(NAME_model *m, const NAME_tensor *inputs, int n_inputs,
                     NAME_tensor *outputs, int n_outputs, char *err,
                     size_t errlen);
size_t NAME_tensor_bytes(const NAME_tensor *t);
