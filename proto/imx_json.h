/*
** imx_json.h -- the strict JSON reader under proto/'s codec and market
** file, for the modules that read JSON of their own (the simulator's
** scenarios and replay files). It is the one header that shows cJSON;
** imx_proto.h does not, so the daemon's and the client's users never see it.
**
** Numbers are accepted only as exact integers: cJSON stores them as
** doubles, so only whole values within +-2^53 are exactly the integer the
** text wrote. Known pitfalls of Debian's cJSON 1.7.15 handled here: a
** buffer without a trailing NUL can be read past its end (imx_json_parse
** copies into a NUL-terminated buffer), duplicate keys are kept silently
** (rejected here).
**
** Parse only with imx_json_parse or imx_json_parse_scratch, never with
** cJSON_Parse*: the first parse installs cJSON's allocator hooks for the
** scratch arena (json.c), and must come before any other cJSON tree.
*/
#ifndef IMX_JSON_H
#define IMX_JSON_H

#include <cjson/cJSON.h>

#include "imx_proto.h"

/* Parses exactly len bytes; NUL bytes inside and trailing garbage fail. */
cJSON *imx_json_parse(const char *buf, size_t len, imx_proto_error *err);

/* The most names a key check takes: a bit each in a uint64_t. */
#define IMX_JSON_NAMES_MAX 64

/* imx_json_parse into this thread's scratch arena (json.c), with malloc
** only for what does not fit: for a document read and then ended with
** imx_json_scratch_end on the same thread, before the next scratch parse
** there. NULL with *err set when it fails (then there is nothing to end). */
cJSON *imx_json_parse_scratch(const char *buf, size_t len, imx_proto_error *err);
/* Deletes a document of imx_json_parse_scratch and empties the arena. */
void imx_json_scratch_end(cJSON *doc);
/* How many blocks of this thread's last scratch document did not fit the
** arena and came from malloc. */
unsigned imx_json_scratch_fallbacks(void);

/* The arena's size, per thread: room for the nodes and strings of any
** request that can be accepted, every string byte \u-escaped, and for the
** copy of its text with 4 KiB of whitespace to spare (test_proto:
** test_the_largest_request_fits_the_arena, also under ASan's gaps). A
** longer message takes what does not fit from malloc. */
#define IMX_JSON_SCRATCH_BYTES (16 * 1024)

/* Fails on a key not in allowed[] (NULL-terminated, at most
** IMX_JSON_NAMES_MAX) or a key given twice; obj is an object. The error
** names the first member, in the document's order, that is unknown or is
** given again later. */
int imx_json_check_keys(const cJSON *obj, const char *const *allowed,
                        imx_proto_error *err);
/* imx_json_check_keys and the lookup of every field in one pass: a key is
** allowed when it is names[i] and bit i of allowed is set; items[i] is then
** that member, NULL when absent (items has a slot per name). A decoder that
** reads its fields from items[] compares each key once, instead of once per
** check and again per lookup by name. */
int imx_json_members(const cJSON *obj, const char *const *names,
                     uint64_t allowed, const cJSON **items,
                     imx_proto_error *err);

/* The getters return 0 with *out set, 1 when the field is absent (out
** untouched), -1 with *err set when it is present but wrong. */

/* A string of 1..max_bytes bytes without control characters. */
int imx_json_string(const cJSON *obj, const char *field, size_t max_bytes,
                    const char **out, imx_proto_error *err);
/* imx_json_string copied into dst (max_bytes + 1 bytes); returns 0 (an
** absent optional field leaves dst untouched), or -1 with *err set, also
** when a required field is missing. */
int imx_json_string_copy(const cJSON *obj, const char *field, size_t max_bytes,
                         int required, char *dst, imx_proto_error *err);
/* An exact integer in [min, max]. */
int imx_json_int(const cJSON *obj, const char *field, int64_t min, int64_t max,
                 int64_t *out, imx_proto_error *err);
int imx_json_bool(const cJSON *obj, const char *field, int *out,
                  imx_proto_error *err);
/* A string that is one of words[] (NULL-terminated); *out is its index. */
int imx_json_word(const cJSON *obj, const char *field,
                  const char *const *words, int *out, imx_proto_error *err);

/* The same getters for a member already found (it may be NULL: absent),
** e.g. by imx_json_members; field only names it in an error. */
int imx_json_item_string(const cJSON *it, const char *field, size_t max_bytes,
                         const char **out, imx_proto_error *err);
int imx_json_item_int(const cJSON *it, const char *field, int64_t min,
                      int64_t max, int64_t *out, imx_proto_error *err);
int imx_json_item_bool(const cJSON *it, const char *field, int *out,
                       imx_proto_error *err);
int imx_json_item_word(const cJSON *it, const char *field,
                       const char *const *words, int *out, imx_proto_error *err);

#endif /* IMX_JSON_H */
