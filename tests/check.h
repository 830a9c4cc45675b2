/* check.h — the few assertions the C unit tests use.
 *
 * A test is a program that asserts values and exits non-zero on the first
 * failure, printing where it failed.  Nothing here can pass silently: CHECK
 * counts checks and main() reports the count, so a test that checked nothing
 * is visible. */
#ifndef LOOM_TESTS_CHECK_H
#define LOOM_TESTS_CHECK_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_count;

#define CHECK(c)                                                              \
  do {                                                                        \
    check_count++;                                                            \
    if (!(c)) {                                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #c);   \
      exit(1);                                                                \
    }                                                                         \
  } while (0)

#define CHECK_MSG(c, ...)                                                     \
  do {                                                                        \
    check_count++;                                                            \
    if (!(c)) {                                                               \
      fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #c);   \
      fprintf(stderr, __VA_ARGS__);                                           \
      fputc('\n', stderr);                                                    \
      exit(1);                                                                \
    }                                                                         \
  } while (0)

#define CHECK_STR_CONTAINS(hay, needle)                                       \
  CHECK_MSG(strstr((hay), (needle)) != NULL, "\"%s\" does not contain \"%s\"", \
            (hay), (needle))

/* |got - want| <= atol + rtol*|want| */
#define CHECK_CLOSE(got, want, atol, rtol)                                    \
  do {                                                                        \
    double g_ = (got), w_ = (want);                                           \
    CHECK_MSG(fabs(g_ - w_) <= (atol) + (rtol) * fabs(w_),                    \
              "got %.9g want %.9g", g_, w_);                                  \
  } while (0)

#define CHECK_DONE()                                                          \
  do {                                                                        \
    printf("%d checks passed\n", check_count);                                \
    return check_count > 0 ? 0 : 1;                                           \
  } while (0)

#endif
