/* test_api.c — libloom's C API on the attention-head golden: queries,
 * shapes, a run matching PyTorch's outputs, and the errors a caller can
 * make, each returned as a status with a message (never printed). */
#include <unistd.h>

#include "tests/check.h"
#include "loom.h"
#include "runtime/npy.h"

static const char *MODEL = "goldens/attention-head/model.yaml";

static void check_golden(const loom_tensor *t, const char *path) {
  RtNpy want;
  char err[512];
  CHECK_MSG(rt_npy_read(path, &want, err, sizeof err) == 0, "%s", err);
  CHECK(want.type == RT_NPY_F32);
  CHECK(want.rank == t->rank);
  for (int i = 0; i < t->rank; i++) CHECK(want.dims[i] == t->dims[i]);
  const float *g = t->data, *w = want.data;
  for (size_t i = 0; i < want.count; i++) CHECK_CLOSE(g[i], w[i], 1e-4, 1e-3);
  rt_npy_free(&want);
}

int main(void) {
  char err[4096];
  loom_model *m = NULL;

  /* Errors at load: status and message, no model. */
  CHECK(loom_load("no-such-model.yaml", NULL, &m, err, sizeof err) ==
        LOOM_ERR_MODEL);
  CHECK(m == NULL);
  CHECK_STR_CONTAINS(err, "no-such-model.yaml: error: cannot open");
  CHECK(loom_load("bad/unknown-op.yaml", NULL, &m, err, sizeof err) ==
        LOOM_ERR_MODEL);
  CHECK_STR_CONTAINS(err, "bad/unknown-op.yaml:6:12: error: unknown op 'softmx'");
  loom_options bad_backend = {.backend = "tpu"};
  CHECK(loom_load(MODEL, &bad_backend, &m, err, sizeof err) == LOOM_ERR_USAGE);
  CHECK_STR_CONTAINS(err, "unknown backend 'tpu'");
  CHECK(loom_load(NULL, NULL, &m, err, sizeof err) == LOOM_ERR_USAGE);

  CHECK_MSG(loom_load(MODEL, NULL, &m, err, sizeof err) == LOOM_OK, "%s", err);
  CHECK(strcmp(loom_name(m), "attention-head") == 0);
  CHECK(loom_num_inputs(m) == 1);
  CHECK(loom_num_outputs(m) == 2);

  loom_info info;
  CHECK(loom_input_info(m, 0, &info) == LOOM_OK);
  CHECK(strcmp(info.name, "ids") == 0);
  CHECK(info.dtype == LOOM_I32);
  CHECK(info.rank == 1 && info.dims[0] == 64);
  CHECK(strcmp(info.dim_names[0], "S") == 0);
  CHECK(loom_input_info(m, 1, &info) == LOOM_ERR_USAGE);
  CHECK(loom_output_info(m, 0, &info) == LOOM_OK);
  CHECK(strcmp(info.name, "y") == 0 && info.rank == 2);
  CHECK(info.dims[0] == 64 && strcmp(info.dim_names[0], "S") == 0);
  CHECK(info.dims[1] == 32 && info.dim_names[1] == NULL);
  CHECK(loom_output_info(m, 1, &info) == LOOM_OK);
  CHECK(strcmp(info.name, "probs") == 0);

  /* Inputs from the golden; shapes first, then a run. */
  RtNpy ids;
  CHECK_MSG(rt_npy_read("goldens/attention-head/in.ids.npy", &ids, err,
                        sizeof err) == 0, "%s", err);
  loom_tensor in = {"ids", LOOM_I32, 1, {ids.dims[0]}, ids.data};
  loom_tensor out[2];
  memset(out, 0, sizeof out);
  CHECK_MSG(loom_output_shapes(m, &in, 1, out, 2, err, sizeof err) == LOOM_OK,
            "%s", err);
  CHECK(strcmp(out[0].name, "y") == 0 && out[0].rank == 2);
  CHECK(out[0].dims[0] == 11 && out[0].dims[1] == 32);
  CHECK(out[1].dims[0] == 11 && out[1].dims[1] == 11);
  CHECK(loom_tensor_bytes(&out[0]) == 11 * 32 * 4);
  out[0].data = malloc(loom_tensor_bytes(&out[0]));
  out[1].data = malloc(loom_tensor_bytes(&out[1]));
  CHECK_MSG(loom_run(m, &in, 1, out, 2, err, sizeof err) == LOOM_OK, "%s", err);
  check_golden(&out[0], "goldens/attention-head/out.y.npy");
  check_golden(&out[1], "goldens/attention-head/out.probs.npy");
  /* A second run on the same model gives the same answer. */
  float first = ((float *)out[0].data)[37];
  ((float *)out[0].data)[37] = 0;
  CHECK(loom_run(m, &in, 1, out, 2, err, sizeof err) == LOOM_OK);
  CHECK(((float *)out[0].data)[37] == first);

  /* Caller mistakes. */
  loom_tensor wrong_name = in;
  wrong_name.name = "tokens";
  CHECK(loom_run(m, &wrong_name, 1, out, 2, err, sizeof err) == LOOM_ERR_MODEL);
  CHECK_STR_CONTAINS(err, "'tokens' is not an input of attention-head (inputs: ids)");
  CHECK(loom_run(m, NULL, 0, out, 2, err, sizeof err) == LOOM_ERR_MODEL);
  CHECK_STR_CONTAINS(err, "input 'ids' is missing");
  loom_tensor twice[2] = {in, in};
  CHECK(loom_run(m, twice, 2, out, 2, err, sizeof err) == LOOM_ERR_MODEL);
  CHECK_STR_CONTAINS(err, "input 'ids' is given twice");
  loom_tensor as_float = in;
  as_float.dtype = LOOM_F32;
  CHECK(loom_run(m, &as_float, 1, out, 2, err, sizeof err) == LOOM_ERR_MODEL);
  CHECK_STR_CONTAINS(err, "input 'ids' must be i32, got f32");
  loom_tensor too_long = in;
  too_long.dims[0] = 65;
  CHECK(loom_output_shapes(m, &too_long, 1, out, 2, err, sizeof err) ==
        LOOM_ERR_MODEL);
  CHECK_STR_CONTAINS(err, "exceeds its bound");
  loom_tensor rank2 = in;
  rank2.rank = 2;
  rank2.dims[1] = 1;
  CHECK(loom_run(m, &rank2, 1, out, 2, err, sizeof err) == LOOM_ERR_MODEL);
  CHECK(loom_run(m, &in, 1, out, 1, err, sizeof err) == LOOM_ERR_USAGE);
  CHECK_STR_CONTAINS(err, "the model has 2 outputs, got 1");
  loom_tensor swapped[2] = {out[1], out[0]};
  CHECK(loom_run(m, &in, 1, swapped, 2, err, sizeof err) == LOOM_ERR_USAGE);
  CHECK_STR_CONTAINS(err, "output 0 is 'y', not 'probs'");
  int32_t big[] = {1, 2, 1000};
  loom_tensor oob = {"ids", LOOM_I32, 1, {3}, big};
  loom_tensor out3[2] = {{0}};
  CHECK(loom_output_shapes(m, &oob, 1, out3, 2, err, sizeof err) == LOOM_OK);
  out3[0].data = malloc(loom_tensor_bytes(&out3[0]));
  out3[1].data = malloc(loom_tensor_bytes(&out3[1]));
  CHECK(loom_run(m, &oob, 1, out3, 2, err, sizeof err) == LOOM_ERR_MODEL);
  CHECK_STR_CONTAINS(err, "out of range");
  free(out3[0].data);
  free(out3[1].data);

  /* --weights override through the options. */
  loom_model *m2 = NULL;
  loom_options wrong_weights = {.weights = "data/cli/wq-4x4.safetensors"};
  CHECK(loom_load(MODEL, &wrong_weights, &m2, err, sizeof err) == LOOM_ERR_MODEL);
  CHECK_STR_CONTAINS(err, "tensor 'wq' has shape [4, 4], expected [32, 32]");
  CHECK(m2 == NULL);

  free(out[0].data);
  free(out[1].data);
  rt_npy_free(&ids);
  loom_free(m);
  loom_free(NULL);
  CHECK_DONE();
}
