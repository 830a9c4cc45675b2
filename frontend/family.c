/* family.c — the family form of a model file (transformer, gpt2, bert,
 * vit).  Not built yet: the form is recognized and reported as such. */
#include "frontend/frontend.h"

int fe_family_form(FeYaml *y, FeModel *m, yaml_node_t *root) {
  (void)m;
  yaml_node_t *k;
  fe_map_get(y, root, "family", &k);
  return fe_yaml_error(y, k, "the family form is not supported yet; use the "
                             "graph form");
}
