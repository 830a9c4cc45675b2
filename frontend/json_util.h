/* json_util.h — reading JSON files (jansson) with located errors. */
#ifndef LOOM_FRONTEND_JSON_UTIL_H
#define LOOM_FRONTEND_JSON_UTIL_H

#include <jansson.h>
#include <stdbool.h>

#include "ir/ir.h"

/* Load path (a syntax error is located; duplicate keys are errors).
 * *root must be a JSON object unless any_type. */
int fe_json_load(const char *path, bool any_type, json_t **root, Diag *d);

/* Where top-level key `key` of the object in file `path` is (line and column
 * of its opening quote); the file alone when not found.  path must outlive
 * the Loc (an interned or caller-owned string). */
Loc fe_json_key_loc(const char *path, const char *key);

/* A located error at a top-level key. */
int fe_json_error(Diag *d, const char *path, const char *key, const char *fmt,
                  ...) __attribute__((format(printf, 4, 5)));

#endif
