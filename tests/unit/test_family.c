/* test_family.c — the family form's graphs, beyond their numbers (which
 * test_goldens checks against PyTorch).
 *
 * For each family-form example model under examples/: the inputs and
 * outputs the issue specifies, as many weight nodes as the real checkpoint
 * has tensors, every node located in the model file, and every attention in
 * the one canonical chain fuse-attention looks for.  Then the binding rules
 * the goldens do not reach: GPT-2's random lm_head shares wte's values, and
 * BERT's token_type_ids is an optional input.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "frontend/frontend.h"
#include "tests/check.h"

static FeModel *load(const char *path, bool weights) {
  Diag d = {0};
  FeOptions o = {.no_weights = !weights};
  FeModel *m = fe_load(path, &o, &d);
  CHECK_MSG(m != NULL, "%s", d.msg);
  return m;
}

static const Value *value(const Graph *g, const char *name) {
  uint32_t v = ir_find_value(g, name);
  CHECK_MSG(v != IR_NONE, "no value '%s'", name);
  return &g->values[v];
}

static void check_type(const Graph *g, const char *name, DType dt,
                       const char *shape) {
  const Value *v = value(g, name);
  char buf[256];
  ir_format_shape(g, &v->shape, buf, sizeof buf);
  CHECK_MSG(v->dtype == dt && strcmp(buf, shape) == 0, "%s is %s%s, want %s",
            name, ir_dtype_name(v->dtype), buf, shape);
}

static const Node *producer(const Graph *g, uint32_t v) {
  return &g->nodes[g->values[v].node];
}

/* Every softmax is the middle of
 *   matmul(q, k, transpose_b) -> scale(1/sqrt(Dh)) -> [causal_mask]
 *   -> softmax(-1) -> matmul(., v)
 * Returns the number of attentions and how many are causal. */
static int check_attention(const Graph *g, int *causal) {
  int n = 0;
  *causal = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *s = &g->nodes[i];
    if (s->op != OP_SOFTMAX) continue;
    n++;
    CHECK(ir_get_int(g, s, "axis") == -1);
    const Node *p = producer(g, s->in[0]);
    if (p->op == OP_CAUSAL_MASK) {
      (*causal)++;
      p = producer(g, p->in[0]);
    }
    CHECK(p->op == OP_SCALE);
    const Node *mm = producer(g, p->in[0]);
    CHECK(mm->op == OP_MATMUL && ir_get_int(g, mm, "transpose_b"));
    const Shape *q = &g->values[mm->in[0]].shape;
    CHECK(q->rank == 3); /* [H, S, Dh]: heads lead */
    CHECK_CLOSE(ir_get_float(g, p, "by"), 1.0 / sqrt((double)q->d[2].c), 0,
                1e-12);
    int users = 0;
    for (uint32_t j = i + 1; j < g->n_nodes; j++)
      if (g->nodes[j].nin && g->nodes[j].in[0] == s->out[0]) {
        CHECK(g->nodes[j].op == OP_MATMUL);
        users++;
      }
    CHECK(users == 1);
  }
  return n;
}

typedef struct {
  const char *path;
  int weights, attentions, causal;
} Example;

static void check_example(const Example *ex) {
  FeModel *m = load(ex->path, false);
  const Graph *g = m->g;
  int weights = 0;
  for (uint32_t i = 0; i < g->n_nodes; i++) {
    const Node *n = &g->nodes[i];
    weights += n->op == OP_WEIGHT;
    CHECK_MSG(n->loc.file && strcmp(n->loc.file, ex->path) == 0 &&
                  n->loc.line > 0,
              "%s: node %u is not located in the model file", ex->path, i);
  }
  CHECK_MSG(weights == ex->weights, "%s: %d weights, want %d", ex->path,
            weights, ex->weights);
  int causal;
  CHECK(check_attention(g, &causal) == ex->attentions);
  CHECK(causal == ex->causal);
  printf("%s: %u nodes, %d weights, %d attentions\n", ex->path, g->n_nodes,
         weights, ex->attentions);
  fe_model_free(m);
}

int main(void) {
  /* Weight counts: the tensors of the real checkpoints (a state_dict of
   * the Seq2Seq module; HF GPT2LMHeadModel with lm_head; BertModel and
   * ViTModel without pooler). */
  static const Example examples[] = {
      {"../examples/transformer-base.yaml", 188, 6 + 6 + 6, 6},
      {"../examples/gpt2.yaml", 149, 12, 12},
      {"../examples/bert-base.yaml", 197, 12, 0},
      {"../examples/minilm.yaml", 101, 6, 0},
      {"../examples/vit-base.yaml", 198, 12, 0},
  };
  for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++)
    check_example(&examples[i]);

  /* Inputs and outputs, as issue 3 gives them. */
  FeModel *m = load("../examples/transformer-base.yaml", false);
  check_type(m->g, "src", DT_I32, "[S]");
  check_type(m->g, "tgt", DT_I32, "[T]");
  CHECK(m->g->n_outputs == 1);
  check_type(m->g, "logits", DT_F32, "[T, 32000]");
  CHECK(m->g->syms[0].bound == 256 && m->g->syms[1].bound == 256);
  fe_model_free(m);

  m = load("../examples/minilm.yaml", false);
  check_type(m->g, "ids", DT_I32, "[S]");
  check_type(m->g, "token_type_ids", DT_I32, "[S]");
  const Value *tt = value(m->g, "token_type_ids");
  CHECK(ir_get_int(m->g, &m->g->nodes[tt->node], "optional") == 1);
  CHECK(m->g->n_outputs == 2);
  check_type(m->g, "hidden", DT_F32, "[S, 384]");
  check_type(m->g, "embedding", DT_F32, "[384]");
  CHECK(producer(m->g, m->g->outputs[1])->op == OP_L2_NORMALIZE);
  fe_model_free(m);

  m = load("../examples/vit-base.yaml", false);
  check_type(m->g, "pixels", DT_F32, "[3, 224, 224]");
  check_type(m->g, "hidden", DT_F32, "[197, 768]");
  CHECK(m->g->n_syms == 0);
  fe_model_free(m);

  /* GPT-2 with random weights: lm_head is tied to wte. */
  char dir[] = "/tmp/loom_test_family_XXXXXX";
  CHECK(mkdtemp(dir) != NULL);
  char path[256];
  snprintf(path, sizeof path, "%s/gpt2.yaml", dir);
  FILE *f = fopen(path, "w");
  CHECK(f != NULL);
  fputs("family: gpt2\nd_model: 12\nheads: 3\nlayers: 1\nvocab: 17\n"
        "max_len: 8\nweights: {random: {seed: 7}}\n", f);
  fclose(f);
  m = load(path, true);
  const Value *wte = value(m->g, "wte.weight"), *head = value(m->g,
                                                               "lm_head.weight");
  CHECK(wte->data != NULL && head->data == wte->data);
  check_type(m->g, "logits", DT_F32, "[S, 17]");
  fe_model_free(m);
  unlink(path);
  rmdir(dir);
  CHECK_DONE();
}
