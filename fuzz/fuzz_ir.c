/* fuzz_ir.c — the IR text parser: any text parses or fails with one
 * located error; what parses verifies, and prints text that parses back
 * and prints the same (the round trip). */
#include "fuzz/fuzz.h"
#include "ir/ir.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n) {
  char *text = fuzz_text(data, n);
  Diag d = {0};
  Graph *g = ir_parse(text, "fuzz.ir", &d);
  free(text);
  if (!g) {
    if (!d.failed) abort();
    return 0;
  }
  if (ir_verify(g, &d) == 0) {
    char *t1 = ir_print(g);
    Diag d2 = {0};
    Graph *g2 = ir_parse(t1, "fuzz.ir", &d2);
    if (!g2) {
      fprintf(stderr, "printed IR does not parse back: %s\n%s\n", d2.msg, t1);
      abort();
    }
    char *t2 = ir_print(g2);
    if (strcmp(t1, t2) != 0) {
      fprintf(stderr, "round trip differs:\n%s\n---\n%s\n", t1, t2);
      abort();
    }
    free(t2);
    ir_graph_free(g2);
    free(t1);
  }
  ir_graph_free(g);
  return 0;
}
