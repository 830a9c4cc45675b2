//! sa_gen_api.h — what NAME.h gains for a model that generates (the gpt2
//! and transformer families): the generation loop of loom's runtime
//! (loom_generate.h, runtime/generate.c) around the model's prefill and
//! decode graphs (and a transformer's encode graph), compiled beside it as
//! NAME_prefill, NAME_decode, NAME_encode.  A template: NAME_ becomes the
//! model's C name; runtime/standalone/sa_gen.c implements it.
#ifndef NAME_GENERATE_H
#define NAME_GENERATE_H
#define NAME_HAS_GENERATE 1

#include "loom_generate.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct NAME_generator NAME_generator;

/* Open the generation graphs.  weights_path is the model's weights (what
 * NAME_create takes: NAME.weights, or an executable that carries them);
 * a graph whose weights differ from the model's (a transformer's encode
 * and decode graphs) reads them from that executable too, or else from
 * the file beside it named like it with ".GRAPH.weights" for ".weights"
 * (NAME.encode.weights). */
NAME_status NAME_generator_create(const char *weights_path,
                                  NAME_generator **out, char *err,
                                  size_t errlen);
void NAME_generator_free(NAME_generator *g);
int NAME_generator_has_encoder(void);
int64_t NAME_generator_max_len(void);     /* the KV cache's rows */
int64_t NAME_generator_cache_bytes(void); /* the KV cache's bytes (one sequence's) */

/* loom_generate (loom.h) for this model: from prompt[0..n_prompt) (a
 * transformer: the target's start, <sos>) after encoding src[0..n_src)
 * when the model has an encoder; each new id goes to on_token (nonzero
 * stops).  stats may be NULL. */
NAME_status NAME_generate(NAME_generator *g, const int32_t *src, size_t n_src,
                          const int32_t *prompt, size_t n_prompt,
                          const loom_gen_params *p, loom_gen_token_fn on_token,
                          void *user, loom_gen_stats *stats, char *err,
                          size_t errlen);

/* The command line main.c runs for --prompt-ids / --src-ids: loom
 * generate's options and output.  weights: --weights's value or main.c's
 * default. */
int NAME_generate_wanted(int argc, char **argv);
int NAME_generate_main(int argc, char **argv, const char *prog,
                       const char *weights);
void NAME_generate_help(const char *prog); /* for main.c's --help */

#ifdef __cplusplus
}
#endif
#endif
