/*
** json.c -- strict decoding of JSON objects with cJSON.
**
** The protocol promises that bad input gets an error naming the field, so
** every getter here distinguishes "absent" from "present but wrong", and
** numbers are taken only as exact integers.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imx_json.h"

/* The messages below state these numbers. */
_Static_assert(IMX_NAME_BYTES_MAX == 64, "imx_json_string's message says 64");
_Static_assert(IMX_TEXT_BYTES_MAX == 128 && IMX_TOKEN_BYTES_MAX == 128,
               "imx_json_string's message says 128");
_Static_assert(IMX_EXACT_INT_MAX == (INT64_C(1) << 53),
               "imx_json_int's message says 2^53");

int imx_proto_fail(imx_proto_error *err, const char *code, const char *field,
                   const char *message) {
  err->code = code;
  snprintf(err->field, sizeof err->field, "%s", field);
  err->message = message;
  return -1;
}

cJSON *imx_json_parse(const char *buf, size_t len, imx_proto_error *err) {
  if (memchr(buf, '\0', len) != NULL) {
    imx_proto_fail(err, "bad_json", "message", "contains a NUL byte");
    return NULL;
  }
  /* cJSON 1.7.15 may read past a buffer without a NUL: give it one. */
  char *copy = malloc(len + 1);
  if (copy == NULL) {
    imx_proto_fail(err, "internal", "message", "out of memory");
    return NULL;
  }
  memcpy(copy, buf, len);
  copy[len] = '\0';
  const char *end = NULL;
  cJSON *doc = cJSON_ParseWithOpts(copy, &end, 1);
  free(copy);
  if (doc == NULL) imx_proto_fail(err, "bad_json", "message", "not valid JSON");
  return doc;
}

int imx_json_check_keys(const cJSON *obj, const char *const *allowed,
                        imx_proto_error *err) {
  for (const cJSON *a = obj->child; a; a = a->next) {
    int known = 0;
    for (const char *const *k = allowed; *k && !known; k++)
      known = strcmp(*k, a->string) == 0;
    if (!known) return imx_proto_fail(err, "bad_field", a->string, "unknown field");
    for (const cJSON *b = a->next; b; b = b->next)
      if (strcmp(a->string, b->string) == 0)
        return imx_proto_fail(err, "bad_field", a->string, "field given twice");
  }
  return 0;
}

int imx_json_string(const cJSON *obj, const char *field, size_t max_bytes,
                    const char **out, imx_proto_error *err) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (it == NULL) return 1;
  if (!cJSON_IsString(it))
    return imx_proto_fail(err, "bad_field", field, "must be a string");
  size_t n = strlen(it->valuestring);
  if (n == 0 || n > max_bytes)
    return imx_proto_fail(err, "bad_field", field,
                          max_bytes == IMX_NAME_BYTES_MAX ? "must be 1 to 64 bytes long"
                          : max_bytes == IMX_TEXT_BYTES_MAX
                              ? "must be 1 to 128 bytes long"
                              : "is empty or too long");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)it->valuestring[i];
    if (c < 0x20 || c == 0x7f)
      return imx_proto_fail(err, "bad_field", field,
                            "must not contain control characters");
  }
  *out = it->valuestring;
  return 0;
}

int imx_json_int(const cJSON *obj, const char *field, int64_t min, int64_t max,
                 int64_t *out, imx_proto_error *err) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (it == NULL) return 1;
  if (!cJSON_IsNumber(it))
    return imx_proto_fail(err, "bad_field", field, "must be a number");
  double d = it->valuedouble;
  if (!(d >= -(double)IMX_EXACT_INT_MAX && d <= (double)IMX_EXACT_INT_MAX) ||
      d != (double)(int64_t)d)
    return imx_proto_fail(err, "bad_field", field,
                          "must be a whole number within 2^53");
  int64_t v = (int64_t)d;
  if (v < min || v > max)
    return imx_proto_fail(err, "bad_field", field, "is out of range");
  *out = v;
  return 0;
}

int imx_json_bool(const cJSON *obj, const char *field, int *out,
                  imx_proto_error *err) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (it == NULL) return 1;
  if (!cJSON_IsBool(it))
    return imx_proto_fail(err, "bad_field", field, "must be true or false");
  *out = cJSON_IsTrue(it);
  return 0;
}

int imx_json_word(const cJSON *obj, const char *field,
                  const char *const *words, int *out, imx_proto_error *err) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (it == NULL) return 1;
  if (cJSON_IsString(it))
    for (int i = 0; words[i]; i++)
      if (strcmp(words[i], it->valuestring) == 0) {
        *out = i;
        return 0;
      }
  return imx_proto_fail(err, "bad_field", field, "has an unknown value");
}

int imx_json_string_copy(const cJSON *obj, const char *field, size_t max_bytes,
                         int required, char *dst, imx_proto_error *err) {
  const char *s = NULL;
  int rc = imx_json_string(obj, field, max_bytes, &s, err);
  if (rc < 0) return -1;
  if (rc == 1) return required ? imx_proto_fail(err, "bad_field", field, "missing") : 0;
  memcpy(dst, s, strlen(s) + 1);
  return 0;
}

int imx_proto_at(imx_proto_error *err, const char *fmt, ...) {
  char prefix[80], field[sizeof prefix + sizeof err->field];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(prefix, sizeof prefix, fmt, ap);
  va_end(ap);
  size_t n = strlen(prefix);
  if (err->field[0] == '\0' && n > 0 && prefix[n - 1] == '.') prefix[n - 1] = '\0';
  snprintf(field, sizeof field, "%s%s", prefix, err->field);
  memcpy(err->field, field, sizeof err->field - 1); /* a long path is cut */
  err->field[sizeof err->field - 1] = '\0';
  return -1;
}

int imx_file_read(const char *path, size_t max_bytes, const char *what,
                  char **buf_out, size_t *len_out, imx_proto_error *err) {
  *buf_out = NULL;
  *len_out = 0;
  FILE *f = fopen(path, "rb");
  if (f == NULL) return imx_proto_fail(err, "not_found", what, "cannot open the file");
  /* Doubling steps, so that a small file does not cost the limit. */
  size_t cap = 1 << 16, n = 0;
  char *b = malloc(cap + 1);
  while (b != NULL) {
    n += fread(b + n, 1, cap - n, f);
    if (n < cap || ferror(f) || cap > max_bytes) break;
    size_t next = 2 * cap > max_bytes ? max_bytes + 1 : 2 * cap;
    char *p = realloc(b, next + 1);
    if (p == NULL) free(b);
    b = p;
    cap = next;
  }
  int bad = b == NULL || ferror(f);
  fclose(f);
  if (bad) {
    free(b);
    return imx_proto_fail(err, "internal", what, "cannot read the file");
  }
  if (n > max_bytes) {
    free(b);
    return imx_proto_fail(err, "too_large", what, "larger than the limit");
  }
  b[n] = '\0';
  *buf_out = b;
  *len_out = n;
  return 0;
}
