/* yaml_util.c — see yaml_util.h. */
#include "frontend/yaml_util.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* A lexical pass before libyaml that bounds the nesting depth, as
 * safetensors.c does for its JSON header.  It over-approximates YAML's
 * nesting: the block indentation levels open on a line, plus the block
 * indicators ("- ", "? ", ": ") that open a level further on it, plus the
 * flow brackets open ([ and {, outside quoted scalars and comments).  Only
 * a model nested absurdly deep can be refused wrongly.  Returns 0, or -1
 * with a located error at the character that goes too deep. */
static int yaml_prescan(FeYaml *y, const char *s, size_t n) {
  /* the columns of the block levels open, innermost last */
  int64_t cols[FE_YAML_MAX_DEPTH + 1];
  int levels = 0, flow = 0;
  uint32_t line = 1;
  size_t line_start = 0;
  bool at_line_start = true, token_start = true;
  for (size_t i = 0; i < n; i++) {
    char c = s[i];
    int64_t col = (int64_t)(i - line_start);
    if (c == '\n') {
      line++, line_start = i + 1, at_line_start = token_start = true;
      continue;
    }
    if (at_line_start && (c == ' ' || c == '\t' || c == '\r')) continue;
    if (c == '#' && token_start) { /* a comment */
      while (i + 1 < n && s[i + 1] != '\n') i++;
      continue;
    }
    bool open = false; /* a block level opens at column `at` */
    int64_t at = col;
    if (at_line_start) {
      at_line_start = false;
      if (flow == 0) {
        while (levels && cols[levels - 1] > col) levels--;
        open = !levels || cols[levels - 1] < col;
      }
    }
    if ((c == '"' || c == '\'') && token_start) { /* a quoted scalar */
      for (i++; i < n && s[i] != c; i++) {
        if (c == '"' && s[i] == '\\') i++;
        else if (s[i] == '\n') line++, line_start = i + 1;
      }
      token_start = false;
    } else {
      bool indicator = (c == '-' || c == '?' || c == ':') &&
                       (i + 1 == n || s[i + 1] == ' ' || s[i + 1] == '\n');
      if (c == '[' || c == '{') flow++;
      else if ((c == ']' || c == '}') && flow > 0) flow--;
      token_start = c == ' ' || c == '\t' || c == '[' || c == '{' ||
                    c == ',' || indicator;
      if (indicator && flow == 0) {
        /* "- - x": each indicator opens a level past its column */
        if (open && levels < FE_YAML_MAX_DEPTH) cols[levels++] = col;
        open = true;
        at = col + 1;
      }
    }
    if (open && levels < FE_YAML_MAX_DEPTH) cols[levels++] = at;
    else if (open) levels = FE_YAML_MAX_DEPTH + 1;
    if (levels + flow > FE_YAML_MAX_DEPTH)
      return ir_errorf(y->d, (Loc){y->file, line, (uint32_t)col + 1},
                       "nested more than %d levels deep", FE_YAML_MAX_DEPTH);
  }
  return 0;
}

/* The whole file, NUL-terminated (malloc'd), or NULL with an error. */
static char *read_model_file(FeYaml *y, const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    ir_file_errorf(y->d, y->file, "cannot open: %s", strerror(errno));
    return NULL;
  }
  size_t cap = 65536, n = 0, got;
  char *buf = malloc(cap + 1);
  while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
    n += got;
    if (n > FE_YAML_MAX_BYTES) break;
    if (n == cap) {
      char *more = realloc(buf, 2 * cap + 1);
      if (!more) free(buf);
      buf = more, cap *= 2;
    }
  }
  bool err = ferror(f);
  fclose(f);
  if (!buf) {
    ir_file_errorf(y->d, y->file, "out of memory reading the file");
  } else if (err) {
    ir_file_errorf(y->d, y->file, "cannot read: %s", strerror(errno));
  } else if (n > FE_YAML_MAX_BYTES) {
    ir_file_errorf(y->d, y->file, "the file is larger than %zu MiB; a model "
                   "file may be at most that", FE_YAML_MAX_BYTES >> 20);
  } else {
    buf[n] = 0;
    *len = n;
    return buf;
  }
  free(buf);
  return NULL;
}

int fe_yaml_load(FeYaml *y, const char *path, const char *text, Arena *arena,
                 Diag *d) {
  memset(y, 0, sizeof *y);
  y->file = ir_strdup(arena, path);
  y->arena = arena;
  y->d = d;
  size_t len = 0;
  char *owned = NULL;
  if (text) {
    len = strlen(text);
    if (len > FE_YAML_MAX_BYTES)
      return ir_file_errorf(d, y->file, "the text is larger than %zu MiB",
                            FE_YAML_MAX_BYTES >> 20);
  } else {
    text = owned = read_model_file(y, path, &len);
    if (!text) return -1;
  }
  if (yaml_prescan(y, text, len)) {
    free(owned);
    return -1;
  }
  yaml_parser_t p;
  if (!yaml_parser_initialize(&p)) {
    free(owned);
    return ir_file_errorf(d, y->file, "cannot initialize the YAML parser");
  }
  yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
  int rc = 0;
  if (!yaml_parser_load(&p, &y->doc)) {
    const char *problem = p.problem ? p.problem : "malformed YAML";
    if (p.error == YAML_READER_ERROR) {
      rc = ir_file_errorf(d, y->file, "%s at byte %zu", problem,
                          p.problem_offset);
    } else {
      Loc loc = {y->file, (uint32_t)p.problem_mark.line + 1,
                 (uint32_t)p.problem_mark.column + 1};
      if (p.context)
        rc = ir_errorf(d, loc, "%s %s", problem, p.context);
      else
        rc = ir_errorf(d, loc, "%s", problem);
    }
  } else {
    y->loaded = true;
    if (!yaml_document_get_root_node(&y->doc)) {
      rc = ir_file_errorf(d, y->file, "the file is empty");
    }
  }
  yaml_parser_delete(&p);
  free(owned);
  return rc;
}

void fe_yaml_free(FeYaml *y) {
  if (y->loaded) yaml_document_delete(&y->doc);
  y->loaded = false;
}

yaml_node_t *fe_yaml_root(FeYaml *y) {
  return yaml_document_get_root_node(&y->doc);
}

Loc fe_loc(FeYaml *y, const yaml_node_t *n) {
  if (!n) return (Loc){y->file, 0, 0};
  return (Loc){y->file, (uint32_t)n->start_mark.line + 1,
               (uint32_t)n->start_mark.column + 1};
}

int fe_yaml_error(FeYaml *y, const yaml_node_t *at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  ir_verrorf(y->d, fe_loc(y, at), fmt, ap);
  va_end(ap);
  return -1;
}

bool fe_is_scalar(const yaml_node_t *n) {
  return n && n->type == YAML_SCALAR_NODE;
}

const char *fe_scalar(const yaml_node_t *n) {
  return (const char *)n->data.scalar.value;
}

static const char *kind_name(const yaml_node_t *n) {
  switch (n->type) {
  case YAML_SCALAR_NODE: return "a scalar";
  case YAML_SEQUENCE_NODE: return "a list";
  case YAML_MAPPING_NODE: return "a mapping";
  default: return "nothing";
  }
}

int fe_seq_len(FeYaml *y, yaml_node_t *n, const char *what) {
  if (n->type != YAML_SEQUENCE_NODE)
    return fe_yaml_error(y, n, "%s must be a list, got %s", what, kind_name(n));
  return (int)(n->data.sequence.items.top - n->data.sequence.items.start);
}

yaml_node_t *fe_seq_item(FeYaml *y, yaml_node_t *seq, int i) {
  return yaml_document_get_node(&y->doc, seq->data.sequence.items.start[i]);
}

int fe_map_len(FeYaml *y, yaml_node_t *n, const char *what) {
  if (n->type != YAML_MAPPING_NODE)
    return fe_yaml_error(y, n, "%s must be a mapping, got %s", what,
                         kind_name(n));
  return (int)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
}

void fe_map_pair(FeYaml *y, yaml_node_t *map, int i, yaml_node_t **k,
                 yaml_node_t **v) {
  yaml_node_pair_t *p = &map->data.mapping.pairs.start[i];
  *k = yaml_document_get_node(&y->doc, p->key);
  *v = yaml_document_get_node(&y->doc, p->value);
}

yaml_node_t *fe_map_get(FeYaml *y, yaml_node_t *map, const char *key,
                        yaml_node_t **keynode) {
  if (!map || map->type != YAML_MAPPING_NODE) return NULL;
  for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
       p < map->data.mapping.pairs.top; p++) {
    yaml_node_t *k = yaml_document_get_node(&y->doc, p->key);
    if (fe_is_scalar(k) && strcmp(fe_scalar(k), key) == 0) {
      if (keynode) *keynode = k;
      return yaml_document_get_node(&y->doc, p->value);
    }
  }
  return NULL;
}

/* Edit distance with adjacent transpositions counted as one edit (optimal
 * string alignment), bounded to short words (keys, op names). */
static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 63 || lb > 63) return 99;
  int d[64][64];
  for (size_t i = 0; i <= la; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= lb; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= la; i++)
    for (size_t j = 1; j <= lb; j++) {
      int best = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
      if (d[i - 1][j] + 1 < best) best = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < best) best = d[i][j - 1] + 1;
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
          d[i - 2][j - 2] + 1 < best)
        best = d[i - 2][j - 2] + 1;
      d[i][j] = best;
    }
  return d[la][lb];
}

const char *fe_nearest(const char *word, const char *const *cands, int n) {
  const char *best = NULL;
  int best_d = 99;
  for (int i = 0; i < n && cands[i]; i++) {
    int d = edit_distance(word, cands[i]);
    if (d < best_d) best_d = d, best = cands[i];
  }
  int len = (int)strlen(word);
  int limit = len <= 2 ? 0 : len <= 5 ? 1 : len <= 8 ? 2 : 3;
  return best_d <= limit ? best : NULL;
}

int fe_check_map(FeYaml *y, yaml_node_t *map, const char *what,
                 const char *const *allowed, const char *const *required) {
  int n = fe_map_len(y, map, what);
  if (n < 0) return -1;
  int nallowed = 0;
  while (allowed[nallowed]) nallowed++;
  for (int i = 0; i < n; i++) {
    yaml_node_t *k, *v;
    fe_map_pair(y, map, i, &k, &v);
    if (!fe_is_scalar(k))
      return fe_yaml_error(y, k, "keys of %s must be names", what);
    const char *key = fe_scalar(k);
    bool ok = false;
    for (int j = 0; j < nallowed && !ok; j++) ok = strcmp(allowed[j], key) == 0;
    if (!ok) {
      const char *near = fe_nearest(key, allowed, nallowed);
      if (near)
        return fe_yaml_error(y, k, "unknown key '%s' in %s; did you mean '%s'?",
                             key, what, near);
      char list[512] = "";
      size_t len = 0;
      for (int j = 0; j < nallowed && len < sizeof list; j++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s%s",
                                j ? ", " : "", allowed[j]);
      return fe_yaml_error(y, k, "unknown key '%s' in %s (expected one of: %s)",
                           key, what, list);
    }
    for (int j = 0; j < i; j++) {
      yaml_node_t *k2, *v2;
      fe_map_pair(y, map, j, &k2, &v2);
      if (fe_is_scalar(k2) && strcmp(fe_scalar(k2), key) == 0)
        return fe_yaml_error(y, k, "duplicate key '%s' in %s", key, what);
    }
  }
  if (required) {
    char missing[512] = "";
    size_t len = 0;
    int nmissing = 0;
    for (int j = 0; required[j]; j++)
      if (!fe_map_get(y, map, required[j], NULL)) {
        len += (size_t)snprintf(missing + len, sizeof missing - len, "%s'%s'",
                                nmissing ? ", " : "", required[j]);
        nmissing++;
        if (len >= sizeof missing) break;
      }
    if (nmissing)
      return fe_yaml_error(y, map, "%s is missing required key%s %s", what,
                           nmissing > 1 ? "s" : "", missing);
  }
  return 0;
}

static int need_plain_scalar(FeYaml *y, yaml_node_t *n, const char *what,
                             const char *type) {
  if (!fe_is_scalar(n))
    return fe_yaml_error(y, n, "%s must be %s, got %s", what, type,
                         kind_name(n));
  return 0;
}

int fe_get_str(FeYaml *y, yaml_node_t *n, const char *what, const char **out) {
  if (need_plain_scalar(y, n, what, "a string")) return -1;
  *out = fe_scalar(n);
  if (!**out) return fe_yaml_error(y, n, "%s must not be empty", what);
  return 0;
}

int fe_get_int(FeYaml *y, yaml_node_t *n, const char *what, int64_t *out) {
  if (need_plain_scalar(y, n, what, "an integer")) return -1;
  const char *s = fe_scalar(n);
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (!*s || *end || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
    return fe_yaml_error(y, n, "%s must be an integer, got '%s'", what, s);
  if (errno == ERANGE)
    return fe_yaml_error(y, n, "%s is out of range: '%s'", what, s);
  *out = v;
  return 0;
}

int fe_get_float(FeYaml *y, yaml_node_t *n, const char *what, double *out) {
  if (need_plain_scalar(y, n, what, "a number")) return -1;
  const char *s = fe_scalar(n);
  char *end;
  double v = strtod(s, &end);
  if (!*s || *end || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
      !isfinite(v))
    return fe_yaml_error(y, n, "%s must be a finite number, got '%s'", what, s);
  *out = v;
  return 0;
}

int fe_get_bool(FeYaml *y, yaml_node_t *n, const char *what, bool *out) {
  if (need_plain_scalar(y, n, what, "true or false")) return -1;
  const char *s = fe_scalar(n);
  if (strcmp(s, "true") == 0) *out = true;
  else if (strcmp(s, "false") == 0) *out = false;
  else return fe_yaml_error(y, n, "%s must be true or false, got '%s'", what, s);
  return 0;
}
