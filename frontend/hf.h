/* hf.h — Hugging Face model directories: config.json and the
 * sentence-transformers files as the family form, and tokenizer files as the
 * runtime's tokenizer blob (runtime/text/tokenizer.h).
 *
 * JSON is read with jansson (Debian libjansson-dev): it reports syntax
 * errors with line and column, rejects duplicate keys, decodes \uD83D\uDE00
 * surrogate pairs (libyaml refuses them), keeps integers and reals apart and
 * keeps an object's key order.  It gives no positions for values, so
 * fe_json_key_loc finds a top-level key's line and column in the file text
 * itself, for located errors ("config.json:14:3: error: ...").
 */
#ifndef LOOM_FRONTEND_HF_H
#define LOOM_FRONTEND_HF_H

#include <stdbool.h>
#include <stddef.h>

#include "ir/ir.h"

/* Is path a model directory (a directory, or a file named config.json)? */
bool fe_is_model_dir(const char *path);

/* The directory of a model path (path itself, or config.json's folder);
 * malloc'd. */
char *fe_model_dir(const char *path);

/* The family-form YAML equivalent to the model directory at path (malloc'd,
 * NUL-terminated).  Paths inside it (weights, tokenizer) are written
 * relative to the folder of yaml_path when given, else as they are reached
 * from the current directory. */
int fe_hf_import(const char *path, const char *yaml_path, char **yaml, Diag *d);

/* The tokenizer blob (malloc'd) of a directory holding tokenizer.json, or
 * vocab.txt (+ tokenizer_config.json), or vocab.json + merges.txt. */
int fe_hf_tokenizer(const char *dir, void **blob, size_t *len, Diag *d);

#endif
