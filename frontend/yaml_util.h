/* yaml_util.h — reading YAML documents with located errors.
 *
 * A thin layer over libyaml's document API shared by the graph form and the
 * family form: it turns libyaml's 0-based marks into 1-based Locs, checks a
 * mapping's keys against the allowed ones (suggesting the nearest for a typo,
 * naming the missing ones), rejects duplicate keys, and reads scalars of a
 * given type with an error at the offending value when they are not.
 */
#ifndef LOOM_FRONTEND_YAML_UTIL_H
#define LOOM_FRONTEND_YAML_UTIL_H

#include <stdbool.h>
#include <yaml.h>

#include "ir/ir.h"

typedef struct {
  yaml_document_t doc;
  bool loaded;
  const char *file; /* interned in `arena` */
  Arena *arena;
  Diag *d;
} FeYaml;

/* The largest model file and the deepest nesting fe_yaml_load accepts:
 * libyaml's time grows faster than quadratically with nesting (a 2 MB file
 * of 10^6 nested brackets ran for minutes), and a model nests about 6
 * levels (the graph form: graph, nodes, a node, its `in` list). */
#define FE_YAML_MAX_BYTES ((size_t)64 << 20)
#define FE_YAML_MAX_DEPTH 64

/* Parse one document from path (or from text when text != NULL, with path
 * used in messages).  Syntax errors are located; a file larger than
 * FE_YAML_MAX_BYTES or nested deeper than FE_YAML_MAX_DEPTH is refused
 * before libyaml sees it. */
int fe_yaml_load(FeYaml *y, const char *path, const char *text, Arena *arena,
                 Diag *d);
void fe_yaml_free(FeYaml *y);

yaml_node_t *fe_yaml_root(FeYaml *y);
Loc fe_loc(FeYaml *y, const yaml_node_t *n);
int fe_yaml_error(FeYaml *y, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The value of `key` in mapping `map` (NULL when absent); *keynode gets the
 * key's node when wanted. */
yaml_node_t *fe_map_get(FeYaml *y, yaml_node_t *map, const char *key,
                        yaml_node_t **keynode);

/* Check that `map` is a mapping (described as `what` in messages), that all
 * its keys are in `allowed` (NULL-terminated; the error suggests the nearest
 * one), that none repeats, and that every key of `required` is present. */
int fe_check_map(FeYaml *y, yaml_node_t *map, const char *what,
                 const char *const *allowed, const char *const *required);

/* Number of items of a sequence / pairs of a mapping; -1 with an error when
 * n is not of that kind. */
int fe_seq_len(FeYaml *y, yaml_node_t *n, const char *what);
yaml_node_t *fe_seq_item(FeYaml *y, yaml_node_t *seq, int i);
int fe_map_len(FeYaml *y, yaml_node_t *n, const char *what);
void fe_map_pair(FeYaml *y, yaml_node_t *map, int i, yaml_node_t **k,
                 yaml_node_t **v);

/* Scalars.  `what` names the value in messages ("d_model"). */
bool fe_is_scalar(const yaml_node_t *n);
const char *fe_scalar(const yaml_node_t *n); /* NUL-terminated by libyaml */
int fe_get_str(FeYaml *y, yaml_node_t *n, const char *what, const char **out);
int fe_get_int(FeYaml *y, yaml_node_t *n, const char *what, int64_t *out);
int fe_get_float(FeYaml *y, yaml_node_t *n, const char *what, double *out);
int fe_get_bool(FeYaml *y, yaml_node_t *n, const char *what, bool *out);

/* The candidate nearest to `word` by edit distance, or NULL when none is
 * close enough to be a likely typo. */
const char *fe_nearest(const char *word, const char *const *cands, int n);

#endif
