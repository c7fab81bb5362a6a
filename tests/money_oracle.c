/*
** money_oracle.c -- proto/money.c on stdin and stdout, for the differential
** test against the browser's web/money.js (tests/web/money_diff.mjs), which
** sends every request in one batch and reads one answer line per request.
**
** Requests, one a line, fields separated by one space:
**
**   parse DECIMALS FLAGS MAX_MINOR xHEX   imx_money_parse of the text whose
**                                         bytes are HEX ("x" alone: "")
**       -> ok MINOR
**       -> err CODE FIELD|- MESSAGE       (FIELD "-" when it is empty)
**   format MINOR DECIMALS FLAGS           imx_money_format
**       -> ok TEXT
**   decimals CODE                         imx_currency_decimals
**       -> ok N                           (-1: not an ISO 4217 code)
**   limits
**       -> ok DECIMALS_MAX PRICE_MAX_MINOR  base/imx_base.h's
**
** FLAGS is the number of IMX_MONEY_SIGNED | _COMMA | _PLUS. The text travels
** in hex so that any byte but NUL (which a C string cannot hold) reaches
** imx_money_parse: spaces at either end, tabs, '\r', UTF-8. A request the
** functions' preconditions refuse (decimals outside 0..IMX_DECIMALS_MAX, a
** negative MAX_MINOR) or a line that is not a request is a mistake of the
** caller: a message on stderr and exit status 2, never an assertion.
*/
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imx_proto.h"

enum { LINE_BYTES_MAX = 8192, FIELDS_MAX = 6 };

static void usage_fail(unsigned long line_no, const char *why) {
  fprintf(stderr, "money_oracle: line %lu: %s\n", line_no, why);
  exit(2);
}

/* A whole field as a decimal int64 in [lo, hi], or -1. */
static int field_int(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  if (*s == '\0') return -1;
  errno = 0;
  char *end = NULL;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < lo || v > hi) return -1;
  *out = (int64_t)v;
  return 0;
}

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* "x414243" into text ("ABC"), NUL-terminated; -1 if malformed or a NUL. */
static int field_hex(const char *s, char *text, size_t text_bytes) {
  if (*s++ != 'x') return -1;
  size_t n = strlen(s);
  if (n % 2 != 0 || n / 2 >= text_bytes) return -1;
  for (size_t i = 0; i < n / 2; i++) {
    int hi = hex_value(s[2 * i]), lo = hex_value(s[2 * i + 1]);
    if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return -1;
    text[i] = (char)(hi * 16 + lo);
  }
  text[n / 2] = '\0';
  return 0;
}

/* Splits line at single spaces into at most FIELDS_MAX fields; returns
** their number, or -1 for more. An empty field stays empty. */
static int split(char *line, char *fields[FIELDS_MAX]) {
  int n = 0;
  char *p = line;
  for (;;) {
    if (n == FIELDS_MAX) return -1;
    fields[n++] = p;
    char *sp = strchr(p, ' ');
    if (!sp) return n;
    *sp = '\0';
    p = sp + 1;
  }
}

static void do_parse(unsigned long line_no, char **f, int n) {
  int64_t decimals, flags, max_minor;
  static char text[LINE_BYTES_MAX];
  if (n != 5 || field_int(f[1], 0, IMX_DECIMALS_MAX, &decimals) ||
      field_int(f[2], 0, 7, &flags) || field_int(f[3], 0, INT64_MAX, &max_minor) ||
      field_hex(f[4], text, sizeof text))
    usage_fail(line_no,
               "want: parse DECIMALS(0..IMX_DECIMALS_MAX) FLAGS(0..7) MAX_MINOR(>=0) xHEX");
  imx_proto_error err = {0};
  int64_t minor = 0;
  if (imx_money_parse(text, (int)decimals, (unsigned)flags, max_minor, &minor, &err) == 0) {
    IMX_ASSERT(minor >= -max_minor && minor <= max_minor);
    printf("ok %" PRId64 "\n", minor);
  } else {
    IMX_ASSERT(err.code != NULL && err.message != NULL);
    printf("err %s %s %s\n", err.code, err.field[0] ? err.field : "-", err.message);
  }
}

static void do_format(unsigned long line_no, char **f, int n) {
  int64_t minor, decimals, flags;
  if (n != 4 || field_int(f[1], INT64_MIN, INT64_MAX, &minor) ||
      field_int(f[2], 0, IMX_DECIMALS_MAX, &decimals) || field_int(f[3], 0, 7, &flags))
    usage_fail(line_no, "want: format MINOR DECIMALS(0..IMX_DECIMALS_MAX) FLAGS(0..7)");
  char buf[IMX_MONEY_TEXT_BYTES];
  const char *s = imx_money_format(minor, (int)decimals, (unsigned)flags, buf);
  IMX_ASSERT(s == buf && strlen(s) < IMX_MONEY_TEXT_BYTES);
  printf("ok %s\n", s);
}

int main(void) {
  static char line[LINE_BYTES_MAX];
  unsigned long line_no = 0;
  while (fgets(line, sizeof line, stdin)) {
    line_no++;
    size_t len = strlen(line);
    if (len == 0 || line[len - 1] != '\n')
      usage_fail(line_no, "too long or not ended by a newline");
    line[len - 1] = '\0';
    char *f[FIELDS_MAX];
    int n = split(line, f);
    if (n < 1) usage_fail(line_no, "too many fields");
    if (!strcmp(f[0], "parse")) {
      do_parse(line_no, f, n);
    } else if (!strcmp(f[0], "format")) {
      do_format(line_no, f, n);
    } else if (!strcmp(f[0], "decimals") && n == 2) {
      printf("ok %d\n", imx_currency_decimals(f[1]));
    } else if (!strcmp(f[0], "limits") && n == 1) {
      printf("ok %d %lld\n", IMX_DECIMALS_MAX, (long long)IMX_PRICE_MAX_MINOR);
    } else {
      usage_fail(line_no, "want: parse, format, decimals CODE or limits");
    }
  }
  if (ferror(stdin)) usage_fail(line_no, "read error");
  if (fflush(stdout) != 0 || ferror(stdout)) {
    fprintf(stderr, "money_oracle: write error\n");
    return 2;
  }
  return 0;
}
