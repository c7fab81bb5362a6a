/*
** check.h -- the smallest test harness that reads like a specification.
**
** A test is a function `static void test_name(void)`; CHECK* record failures
** without stopping the test, so one run shows every broken expectation. The
** runner prints one line per test and closes with "N passed, N failed", the
** line CI reads. Usage:
**
**   static void test_fok_that_cannot_fill_is_killed(void) { CHECK_EQ(1, 1); }
**   int main(int argc, char **argv) {
**     static const check_case cases[] = { CHECK_CASE(test_fok_that_cannot_fill_is_killed) };
**     return check_run(cases, sizeof cases / sizeof cases[0], argc, argv);
**   }
**
** With an argument, only the tests whose name contains it run.
*/
#ifndef IMX_CHECK_H
#define IMX_CHECK_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

typedef struct check_case {
  const char *name;
  void (*fn)(void);
} check_case;

#define CHECK_CASE(f) { #f, f }

static int check_failures_;

#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__,   \
              #cond);                                                      \
      check_failures_++;                                                   \
    }                                                                      \
  } while (0)

#define CHECK_EQ(want, got)                                                \
  do {                                                                     \
    long long w_ = (long long)(want), g_ = (long long)(got);               \
    if (w_ != g_) {                                                        \
      fprintf(stderr, "  %s:%d: %s == %s: want %lld, got %lld\n",          \
              __FILE__, __LINE__, #want, #got, w_, g_);                    \
      check_failures_++;                                                   \
    }                                                                      \
  } while (0)

#define CHECK_STR(want, got)                                               \
  do {                                                                     \
    const char *w_ = (want), *g_ = (got);                                  \
    if (g_ == NULL || strcmp(w_, g_) != 0) {                               \
      fprintf(stderr, "  %s:%d: %s: want \"%s\", got \"%s\"\n", __FILE__,  \
              __LINE__, #got, w_, g_ ? g_ : "(null)");                     \
      check_failures_++;                                                   \
    }                                                                      \
  } while (0)

static inline int check_run(const check_case *cases, size_t n, int argc,
                            char **argv) {
  int passed = 0, failed = 0;
  for (size_t i = 0; i < n; i++) {
    if (argc > 1 && strstr(cases[i].name, argv[1]) == NULL) continue;
    int before = check_failures_;
    cases[i].fn();
    if (check_failures_ == before) {
      passed++;
      printf("ok   %s\n", cases[i].name);
    } else {
      failed++;
      printf("FAIL %s\n", cases[i].name);
    }
  }
  printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 && passed > 0 ? 0 : 1;
}

#endif /* IMX_CHECK_H */
