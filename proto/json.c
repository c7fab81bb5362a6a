/*
** json.c -- strict decoding of JSON objects with cJSON.
**
** The protocol promises that bad input gets an error naming the field, so
** every getter here distinguishes "absent" from "present but wrong", and
** numbers are taken only as exact integers.
**
** The scratch arena. cJSON mallocs a node per value and a string per key and
** per string value: about 20 mallocs and frees for an order.new, a large
** part of decoding one on the daemon's threads. A document parsed with
** imx_json_parse_scratch takes them, and the NUL-terminated copy of its
** text, from this thread's arena instead: a buffer of
** IMX_JSON_SCRATCH_BYTES given out by a bump pointer and emptied by
** imx_json_scratch_end. What does not fit comes from malloc as before (the
** count is imx_json_scratch_fallbacks), so the arena is only as large as
** the largest request that can be accepted needs, not the largest message.
**
** cJSON's allocator hooks are process-global. They are installed once, by
** the first parse of any kind (call_once; every cJSON document in imx comes
** from imx_json_parse*, so that is before any tree exists in the process
** and never while one is being built), and are malloc and free for every
** other tree: the allocator takes from the arena only while
** imx_json_parse_scratch runs cJSON, and free ignores a block by its address
** in this thread's arena, which holds only the open scratch document. So a
** scratch document is read and ended on the thread that parsed it, and one
** at a time per thread (asserted); other documents (the market file, the
** simulator's) may be parsed and deleted meanwhile on any thread.
**
** Under ASan the arena is poisoned except for the blocks given out, each
** followed by a poisoned gap, so an overrun of a node or a read after
** imx_json_scratch_end is still caught.
*/
#include <assert.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <threads.h>

#include "imx_json.h"

/* imx_json_item_string's messages state these numbers. */
_Static_assert(IMX_NAME_BYTES_MAX == 64 && IMX_TEXT_BYTES_MAX == 128 &&
                   IMX_DESCRIPTION_BYTES_MAX == 512 && IMX_COMMENT_BYTES_MAX == 500,
               "the messages say 64, 128, 512 and 500 bytes");

#if defined(__SANITIZE_ADDRESS__)
#define IMX_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define IMX_ASAN 1
#endif
#endif
#ifdef IMX_ASAN
#include <sanitizer/asan_interface.h>
#define GAP_BYTES 16 /* poisoned, after each block */
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define GAP_BYTES 0
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

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

/* -------------------------------------------------------- the arena */

#define ALIGN_BYTES _Alignof(max_align_t)

static _Thread_local struct scratch {
  _Alignas(max_align_t) unsigned char buf[IMX_JSON_SCRATCH_BYTES];
  size_t used;        /* bytes given out to the open document */
  int open;           /* a scratch document is alive on this thread */
  int parsing;        /* cJSON is building it: blocks come from buf */
  unsigned fallbacks; /* blocks of the last document that came from malloc */
} scratch;

static int scratch_owns(const void *p) {
  return (uintptr_t)p - (uintptr_t)scratch.buf < sizeof scratch.buf;
}

static void *json_malloc(size_t n) {
  if (scratch.parsing) {
    size_t need = (n + GAP_BYTES + ALIGN_BYTES - 1) / ALIGN_BYTES * ALIGN_BYTES;
    if (n > 0 && need <= sizeof scratch.buf - scratch.used) {
      unsigned char *p = scratch.buf + scratch.used;
      scratch.used += need;
      UNPOISON(p, n);
      return p;
    }
    scratch.fallbacks++;
  }
  return malloc(n);
}

static void json_free(void *p) {
  if (!scratch_owns(p)) {
    free(p);
    return;
  }
  /* a block of the open scratch document: emptied all at once at its end */
  assert(scratch.open);
}

static void hooks_install(void) {
  cJSON_Hooks hooks = {json_malloc, json_free};
  cJSON_InitHooks(&hooks);
}

static once_flag hooks_once = ONCE_FLAG_INIT;

/* ------------------------------------------------------------- parsing */

/* ------------------------------------------------------- the text itself */

/* What cJSON lets through and imx does not: bytes that are not UTF-8, a
** string escape of NUL (\u0000 would cut the C string cJSON makes, so that
** "token\u0000junk" read as "token") or of half a surrogate pair, and, in
** a protocol message, a number with a fraction or an exponent (10.0, 1e1,
** 1.0000000000000001: cJSON would hand over an exact-looking double). One
** pass over the text before cJSON sees it; the field a bad number belongs
** to is the key read last. */

static int hex4(const unsigned char *p, const unsigned char *end, unsigned *out) {
  if (end - p < 4) return -1;
  unsigned v = 0;
  for (int i = 0; i < 4; i++) {
    unsigned c = p[i];
    unsigned d = c >= '0' && c <= '9' ? c - '0'
                 : c >= 'a' && c <= 'f' ? c - 'a' + 10
                 : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                        : 16;
    if (d == 16) return -1;
    v = v * 16 + d;
  }
  *out = v;
  return 0;
}

/* The length of the UTF-8 sequence at p (RFC 3629: no overlong forms, no
** surrogates, at most U+10FFFF), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0];
  size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
                          : (c & 0xf8) == 0xf0 ? 4 : 0;
  if (n == 0 || (size_t)(end - p) < n) return 0;
  uint32_t cp = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (p[i] & 0x3f);
  }
  static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

/* Checks a string's body from just after its opening quote; returns the
** position of its closing quote, or NULL with *err set. */
static const unsigned char *scan_string(const unsigned char *p,
                                        const unsigned char *end,
                                        imx_proto_error *err) {
  while (p < end && *p != '"') {
    if (*p == '\\') {
      if (end - p < 2) break;
      if (p[1] != 'u') {
        p += 2;
        continue;
      }
      unsigned u, lo;
      if (hex4(p + 2, end, &u) != 0) break; /* cJSON says bad_json */
      if (u == 0) {
        imx_proto_fail(err, "bad_json", "message", "\\u0000 in a string");
        return NULL;
      }
      p += 6;
      if (u >= 0xdc00 && u <= 0xdfff) {
        imx_proto_fail(err, "bad_json", "message", "half a surrogate pair in a string");
        return NULL;
      }
      if (u >= 0xd800 && u <= 0xdbff) {
        if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || hex4(p + 2, end, &lo) != 0 ||
            lo < 0xdc00 || lo > 0xdfff) {
          imx_proto_fail(err, "bad_json", "message", "half a surrogate pair in a string");
          return NULL;
        }
        p += 6;
      }
      continue;
    }
    size_t n = utf8_len(p, end);
    if (n == 0) {
      imx_proto_fail(err, "bad_json", "message", "a string is not valid UTF-8");
      return NULL;
    }
    p += n;
  }
  return p; /* at the closing quote, or at the end: cJSON decides */
}

static int scan_text(const char *buf, size_t len, int integers_only,
                     imx_proto_error *err) {
  const unsigned char *p = (const unsigned char *)buf, *end = p + len;
  const unsigned char *key = NULL;
  size_t key_len = 0;
  while (p < end) {
    if (*p == '"') {
      const unsigned char *start = p + 1, *q = scan_string(start, end, err);
      if (q == NULL) return -1;
      p = q < end ? q + 1 : q;
      const unsigned char *r = p;
      while (r < end && (*r == ' ' || *r == '\t' || *r == '\n' || *r == '\r')) r++;
      if (r < end && *r == ':') key = start, key_len = (size_t)(q - start);
      continue;
    }
    if (*p >= 0x80)
      return imx_proto_fail(err, "bad_json", "message", "not valid JSON");
    if (integers_only && (*p == '.' || *p == 'e' || *p == 'E') &&
        p > (const unsigned char *)buf && (p[-1] >= '0' && p[-1] <= '9')) {
      imx_proto_fail(err, "bad_field", "message",
                     "a number must be whole (no fraction, no exponent)");
      /* The field is the key read last, when it is plain printable text
      ** (a key with escapes or other bytes is named "message"). */
      int plain = key != NULL && key_len > 0 && key_len < sizeof err->field;
      for (size_t i = 0; plain && i < key_len; i++)
        plain = key[i] >= 0x20 && key[i] < 0x7f && key[i] != '\\' && key[i] != '"';
      if (plain) {
        memcpy(err->field, key, key_len);
        err->field[key_len] = '\0';
        err->message = "must be a whole number (no fraction, no exponent)";
      }
      return -1;
    }
    p++;
  }
  return 0;
}

/* cJSON 1.7.15 may read past a buffer without a NUL: give it a copy with
** one, from the arena while a scratch document is being parsed. */
static cJSON *parse_copy(const char *buf, size_t len, int integers_only,
                         imx_proto_error *err) {
  if (memchr(buf, '\0', len) != NULL) {
    imx_proto_fail(err, "bad_json", "message", "contains a NUL byte");
    return NULL;
  }
  if (scan_text(buf, len, integers_only, err) != 0) return NULL;
  char *copy = json_malloc(len + 1);
  if (copy == NULL) {
    imx_proto_fail(err, "internal", "message", "out of memory");
    return NULL;
  }
  memcpy(copy, buf, len);
  copy[len] = '\0';
  /* The length with the NUL, which is what cJSON_ParseWithOpts gets from
  ** strlen: no NUL comes before it (above), so it need not look. */
  const char *end = NULL;
  cJSON *doc = cJSON_ParseWithLengthOpts(copy, len + 1, &end, 1);
  json_free(copy);
  if (doc == NULL) imx_proto_fail(err, "bad_json", "message", "not valid JSON");
  return doc;
}

cJSON *imx_json_parse(const char *buf, size_t len, imx_proto_error *err) {
  call_once(&hooks_once, hooks_install);
  return parse_copy(buf, len, 0, err);
}

cJSON *imx_json_parse_scratch(const char *buf, size_t len,
                              imx_proto_error *err) {
  call_once(&hooks_once, hooks_install);
  assert(!scratch.open && !scratch.parsing && scratch.used == 0);
  POISON(scratch.buf, sizeof scratch.buf); /* a new thread's is not yet */
  scratch.open = scratch.parsing = 1;
  scratch.fallbacks = 0;
  cJSON *doc = parse_copy(buf, len, 1, err);
  scratch.parsing = 0;
  if (doc == NULL) imx_json_scratch_end(NULL);
  return doc;
}

void imx_json_scratch_end(cJSON *doc) {
  assert(scratch.open && !scratch.parsing);
  /* Only blocks that came from malloc need cJSON_Delete's walk. */
  if (scratch.fallbacks > 0) cJSON_Delete(doc);
  POISON(scratch.buf, scratch.used);
  scratch.used = 0;
  scratch.open = 0;
}

unsigned imx_json_scratch_fallbacks(void) { return scratch.fallbacks; }

/* names[i] for the name of a member, or -1 when it is not one of them. The
** first byte decides most comparisons before strcmp is called (a loop of
** our own instead of strcmp measured no faster). */
static int name_index(const char *const *names, int n, const char *name) {
  for (int i = 0; i < n; i++)
    if (names[i][0] == name[0] && strcmp(names[i], name) == 0) return i;
  return -1;
}

/* One pass over the members, remembering where each allowed name was first
** seen. The error is the one the obvious quadratic check gives: at the first
** member, in the document's order, that is unknown or is given again later.
** So an unknown member does not end the pass: a name seen before it may be
** given twice after it, and then that name is the error. */
int imx_json_members(const cJSON *obj, const char *const *names,
                     uint64_t allowed, const cJSON **items,
                     imx_proto_error *err) {
  assert(cJSON_IsObject(obj) && names != NULL && items != NULL);
  int n = 0;
  while (names[n] != NULL) n++;
  assert(n <= IMX_JSON_NAMES_MAX);
  size_t first_at[IMX_JSON_NAMES_MAX];
  uint64_t seen = 0;
  size_t bad_at = SIZE_MAX, at = 0;
  const char *bad_field = NULL, *bad_message = NULL;
  for (int i = 0; i < n; i++) items[i] = NULL;
  for (const cJSON *m = obj->child; m; m = m->next, at++) {
    assert(m->string != NULL);
    int i = name_index(names, n, m->string);
    if (i < 0 || !(allowed & (UINT64_C(1) << i))) {
      if (bad_at == SIZE_MAX)
        bad_at = at, bad_field = m->string, bad_message = "unknown field";
    } else if (seen & (UINT64_C(1) << i)) {
      if (first_at[i] < bad_at)
        bad_at = first_at[i], bad_field = names[i],
        bad_message = "field given twice";
    } else {
      seen |= UINT64_C(1) << i;
      first_at[i] = at;
      items[i] = m;
    }
  }
  if (bad_at != SIZE_MAX) return imx_proto_fail(err, "bad_field", bad_field, bad_message);
  assert((seen & ~allowed) == 0);
  return 0;
}

int imx_json_check_keys(const cJSON *obj, const char *const *allowed,
                        imx_proto_error *err) {
  const cJSON *items[IMX_JSON_NAMES_MAX];
  return imx_json_members(obj, allowed, UINT64_MAX, items, err);
}

int imx_json_item_string(const cJSON *it, const char *field, size_t max_bytes,
                         const char **out, imx_proto_error *err) {
  if (it == NULL) return 1;
  if (!cJSON_IsString(it))
    return imx_proto_fail(err, "bad_field", field, "must be a string");
  size_t n = strlen(it->valuestring);
  if (n == 0 || n > max_bytes)
    return imx_proto_fail(err, "bad_field", field,
                          max_bytes == IMX_NAME_BYTES_MAX ? "must be 1 to 64 bytes long"
                          : max_bytes == IMX_TEXT_BYTES_MAX
                              ? "must be 1 to 128 bytes long"
                          : max_bytes == IMX_DESCRIPTION_BYTES_MAX
                              ? "must be 1 to 512 bytes long"
                          : max_bytes == IMX_COMMENT_BYTES_MAX
                              ? "must be 1 to 500 bytes long"
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

int imx_json_item_int(const cJSON *it, const char *field, int64_t min,
                      int64_t max, int64_t *out, imx_proto_error *err) {
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

int imx_json_item_bool(const cJSON *it, const char *field, int *out,
                       imx_proto_error *err) {
  if (it == NULL) return 1;
  if (!cJSON_IsBool(it))
    return imx_proto_fail(err, "bad_field", field, "must be true or false");
  *out = cJSON_IsTrue(it);
  return 0;
}

int imx_json_item_word(const cJSON *it, const char *field,
                       const char *const *words, int *out, imx_proto_error *err) {
  if (it == NULL) return 1;
  if (cJSON_IsString(it))
    for (int i = 0; words[i]; i++)
      if (strcmp(words[i], it->valuestring) == 0) {
        *out = i;
        return 0;
      }
  return imx_proto_fail(err, "bad_field", field, "has an unknown value");
}

/* The getters by name: the first member of that name, as cJSON finds it. */

int imx_json_string(const cJSON *obj, const char *field, size_t max_bytes,
                    const char **out, imx_proto_error *err) {
  return imx_json_item_string(cJSON_GetObjectItemCaseSensitive(obj, field),
                              field, max_bytes, out, err);
}

int imx_json_int(const cJSON *obj, const char *field, int64_t min, int64_t max,
                 int64_t *out, imx_proto_error *err) {
  return imx_json_item_int(cJSON_GetObjectItemCaseSensitive(obj, field), field,
                           min, max, out, err);
}

int imx_json_bool(const cJSON *obj, const char *field, int *out,
                  imx_proto_error *err) {
  return imx_json_item_bool(cJSON_GetObjectItemCaseSensitive(obj, field), field,
                            out, err);
}

int imx_json_word(const cJSON *obj, const char *field,
                  const char *const *words, int *out, imx_proto_error *err) {
  return imx_json_item_word(cJSON_GetObjectItemCaseSensitive(obj, field), field,
                            words, out, err);
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
