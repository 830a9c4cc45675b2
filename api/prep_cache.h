/* prep_cache.h — the prepared-model cache (api/prep_cache.c): a model
 * after the graph passes, with its packed weights, stored once in the
 * cache directory and memory-mapped by every later load. */
#ifndef LOOM_API_PREP_CACHE_H
#define LOOM_API_PREP_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#include "api/backend.h"

/* The entry's path in dir for model m (loaded without its weights: the
 * graph the frontend built) prepared with o for t at dtype; -1 when the
 * model cannot be keyed (a weights file that cannot be stat'ed: the load
 * then reports it). */
int api_prep_entry(const FeModel *m, const PrepareOptions *o, const Target *t,
                   DType dtype, const char *dir, char *path, size_t cap);

/* Replace m's graph by the entry's, its data mapped (fe_model_adopt):
 * 1; 0 when there is no entry, or a damaged one (then removed).  check:
 * read the whole entry and check its hash (an entry this process did not
 * just write). */
int api_prep_load(FeModel *m, const char *path, bool check, const Target *t,
                  DType dtype);

/* Write m's graph (after the passes, its data bound) as the entry path
 * of dir, atomically: 0, or -1 (nothing written). */
int api_prep_save(const FeModel *m, const char *dir, const char *path);

#endif
