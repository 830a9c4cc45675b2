/* text_main.c — the command line of a model built from a model directory:
 * main.c's arguments, and --text.
 *
 *   NAME --text TEXT [--text TEXT]... [--out-dir DIR] [--weights FILE]
 *   NAME [--input ...]...                      (main.c, unchanged)
 *
 * A template like main.c (NAME_ is the model's C name), compiled as the one
 * file that includes main.c, with its main renamed: without --text
 * everything is main.c's.  With --text, each text is tokenized by the
 * tokenizer built in (tokenizer_blob.c, made by loom build from the
 * directory's tokenizer files; runtime/text/ does the work), truncated at
 * the model's maximum length (a note on stderr), and run by main.c's main
 * as `--input ids=...` into a scratch folder inside DIR; then outputs
 * without a sequence dimension are stacked into DIR/NAME.npy [N, ...] and
 * per-token outputs become DIR/NAME.K.npy, as `loom run --text` writes them.
 */
#define main loom_ids_main
#include "main.c"
#undef main

#include <fcntl.h>

#include "tokenizer.h"

extern const unsigned char loom_tok_blob[];
extern const size_t loom_tok_blob_len;
extern const long loom_tok_max_tokens;

/* An output without symbolic dimensions: one vector per text, stacked. */
static int text_pooled(int i) {
  NAME_info info;
  int d;
  NAME_output_info(i, &info);
  for (d = 0; d < info.rank; d++)
    if (info.dim_names[d]) return 0;
  return 1;
}

static void text_cleanup(const char *root, int n) {
  char path[4096];
  int k, i;
  for (k = 0; k < n; k++) {
    for (i = 0; i < NAME_num_outputs(); i++) {
      NAME_info info;
      NAME_output_info(i, &info);
      snprintf(path, sizeof path, "%s/%d/%s.npy", root, k, info.name);
      remove(path);
    }
    snprintf(path, sizeof path, "%s/%d", root, k);
    rmdir(path);
  }
  rmdir(root);
}

int main(int argc, char **argv) {
  char **rest = (char **)calloc((size_t)argc + 8, sizeof *rest);
  const char **texts = (const char **)calloc((size_t)argc + 1, sizeof *texts);
  const char *out_dir = ".";
  int n_rest = 0, n_texts = 0, i, k, status = 0;
  char err[4096], root[4096], path[4096], path2[4096];
  RtTokenizer *tok = NULL;
  if (!rest || !texts) return EXIT_MODEL;
  for (i = 0; i < argc; i++) {
    if (i > 0 && !strcmp(argv[i], "--text") && i + 1 < argc) texts[n_texts++] = argv[++i];
    else if (i > 0 && !strncmp(argv[i], "--text=", 7)) texts[n_texts++] = argv[i] + 7;
    else if (i > 0 && !strcmp(argv[i], "--out-dir") && i + 1 < argc) out_dir = argv[++i];
    else if (i > 0 && !strncmp(argv[i], "--out-dir=", 10)) out_dir = argv[i] + 10;
    else rest[n_rest++] = argv[i];
  }
  if (!n_texts) {
    for (i = 1; i < argc; i++)
      if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
        printf("With --text TEXT (repeatable), the text goes through the "
               "model's tokenizer (built in) instead of --input.\n\n");
    free(rest);
    free(texts);
    return loom_ids_main(argc, argv);
  }
  if (rt_tok_open(loom_tok_blob, loom_tok_blob_len, &tok, err, sizeof err)) {
    fprintf(stderr, "%s: %s\n", prog, err);
    return EXIT_MODEL;
  }
  if (make_dirs(out_dir)) {
    fprintf(stderr, "%s: error: cannot create '%s'\n", prog, out_dir);
    return EXIT_MODEL;
  }
  snprintf(root, sizeof root, "%s/.text.%ld", out_dir, (long)getpid());
  for (k = 0; k < n_texts && !status; k++) {
    RtIds ids = {0};
    int truncated = 0;
    size_t j, len = 0;
    char *spec, dir[4096];
    int saved, null_fd;
    if (rt_tok_encode(tok, texts[k], strlen(texts[k]), (size_t)loom_tok_max_tokens,
                      &ids, &truncated, err, sizeof err)) {
      fprintf(stderr, "%s: text %d: %s\n", prog, k, err);
      status = EXIT_MODEL;
      break;
    }
    if (truncated)
      fprintf(stderr, "%s: note: text %d truncated to %ld tokens (the model's "
                      "maximum)\n", prog, k, loom_tok_max_tokens);
    spec = (char *)malloc(12 * ids.n + 8);
    len = (size_t)sprintf(spec, "ids=");
    for (j = 0; j < ids.n; j++)
      len += (size_t)sprintf(spec + len, j ? ",%d" : "%d", ids.ids[j]);
    rt_ids_free(&ids);
    snprintf(dir, sizeof dir, "%s/%d", root, k);
    rest[n_rest] = (char *)"--input";
    rest[n_rest + 1] = spec;
    rest[n_rest + 2] = (char *)"--out-dir";
    rest[n_rest + 3] = dir;
    rest[n_rest + 4] = NULL;
    /* main.c reports its files; these are scratch ones: keep quiet */
    fflush(stdout);
    saved = dup(1);
    null_fd = open("/dev/null", O_WRONLY);
    if (null_fd >= 0) dup2(null_fd, 1);
    status = loom_ids_main(n_rest + 4, rest);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    if (null_fd >= 0) close(null_fd);
    free(spec);
  }
  for (i = 0; i < NAME_num_outputs() && !status; i++) {
    NAME_info info;
    NAME_output_info(i, &info);
    if (!text_pooled(i)) {
      for (k = 0; k < n_texts && !status; k++) {
        snprintf(path, sizeof path, "%s/%d/%s.npy", root, k, info.name);
        snprintf(path2, sizeof path2, "%s/%s.%d.npy", out_dir, info.name, k);
        if (rename(path, path2)) {
          fprintf(stderr, "%s: error: cannot write '%s'\n", prog, path2);
          status = EXIT_MODEL;
        } else {
          printf("%s -> %s\n", info.name, path2);
        }
      }
      continue;
    }
    {
      RtNpy a;
      char *all = NULL;
      size_t bytes = 0;
      int64_t dims[RT_NPY_MAX_RANK];
      int rank = 0;
      for (k = 0; k < n_texts && !status; k++) {
        snprintf(path, sizeof path, "%s/%d/%s.npy", root, k, info.name);
        if (rt_npy_read(path, &a, err, sizeof err)) {
          fprintf(stderr, "%s\n", err);
          status = EXIT_MODEL;
          break;
        }
        if (!all) {
          bytes = a.count * rt_npy_itemsize(a.type);
          all = (char *)malloc(bytes * (size_t)n_texts + 1);
          dims[0] = n_texts;
          memcpy(dims + 1, a.dims, sizeof(int64_t) * (size_t)a.rank);
          rank = a.rank + 1;
        }
        memcpy(all + bytes * (size_t)k, a.data, bytes);
        rt_npy_free(&a);
      }
      snprintf(path2, sizeof path2, "%s/%s.npy", out_dir, info.name);
      if (!status && rt_npy_write(path2, info.dtype == NAME_I32 ? RT_NPY_I32 : RT_NPY_F32,
                                  all, rank, dims, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        status = EXIT_MODEL;
      } else if (!status) {
        printf("%s [%d, ...] -> %s\n", info.name, n_texts, path2);
      }
      free(all);
    }
  }
  text_cleanup(root, n_texts);
  rt_tok_free(tok);
  free(rest);
  free(texts);
  return status;
}
