/*
** imx_proto.h -- the whole interface of proto/: strict JSON decoding and
** the market file. Knows nothing of sockets, SQLite or the engine's books.
**
** proto/ sits below the engine (DESIGN.md: proto <- engine <- gateway): it
** depends on cJSON alone.
**
** Every decoder fails with an imx_proto_error: a stable code (the protocol's
** error codes: bad_json, bad_field, ...), the field at fault (a path such as
** "services[2].tick") and a human message. Numbers are accepted only as
** exact integers: cJSON stores them as doubles, so only whole values within
** +-2^53 are exactly the integer the text wrote.
**
** Known pitfalls of Debian's cJSON 1.7.15 handled here: a buffer without a
** trailing NUL can be read past its end (imx_json_parse copies into a NUL-
** terminated buffer), duplicate keys are kept silently (rejected here).
*/
#ifndef IMX_PROTO_H
#define IMX_PROTO_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>

#define IMX_NAME_BYTES_MAX 64 /* ids of orders, cost centres, services */
#define IMX_TEXT_BYTES_MAX 128 /* names and sites of cost centres       */

typedef struct imx_proto_error {
  const char *code;    /* static: "bad_json", "bad_field", ...          */
  char field[96];      /* a copy: the parsed document may be gone        */
  const char *message; /* static                                         */
} imx_proto_error;

/* Sets *err and returns -1, for one-line failure paths. */
int imx_proto_fail(imx_proto_error *err, const char *code, const char *field,
                   const char *message);

/* Parses exactly len bytes; NUL bytes inside and trailing garbage fail. */
cJSON *imx_json_parse(const char *buf, size_t len, imx_proto_error *err);

/* Fails on a key not in allowed[] (NULL-terminated) or a key given twice. */
int imx_json_check_keys(const cJSON *obj, const char *const *allowed,
                        imx_proto_error *err);

/* The getters return 0 with *out set, 1 when the field is absent (out
** untouched), -1 with *err set when it is present but wrong. */

/* A string of 1..max_bytes bytes without control characters. */
int imx_json_string(const cJSON *obj, const char *field, size_t max_bytes,
                    const char **out, imx_proto_error *err);
/* An exact integer in [min, max]. */
int imx_json_int(const cJSON *obj, const char *field, int64_t min, int64_t max,
                 int64_t *out, imx_proto_error *err);
int imx_json_bool(const cJSON *obj, const char *field, int *out,
                  imx_proto_error *err);
/* A string that is one of words[] (NULL-terminated); *out is its index. */
int imx_json_word(const cJSON *obj, const char *field,
                  const char *const *words, int *out, imx_proto_error *err);

/* ------------------------------------------------------------- market */

enum { IMX_ROLE_PROVIDER = 1, IMX_ROLE_RECEIVER = 2, IMX_ROLE_FINANCE = 4,
       IMX_ROLE_ADMIN = 8 };

typedef struct imx_market_service {
  char id[IMX_NAME_BYTES_MAX + 1];
  char unit[IMX_NAME_BYTES_MAX + 1];
  char currency[4];
  int64_t tick_minor;
  int64_t lot;
  int64_t price_cap_minor; /* 0: none given                      */
  int divisible;
  int auction;             /* mode "auction" (else "continuous") */
} imx_market_service;

typedef struct imx_market_capacity {
  uint32_t service; /* index into services */
  int64_t qty;
} imx_market_capacity;

typedef struct imx_market_cc {
  char id[IMX_NAME_BYTES_MAX + 1];
  char name[IMX_TEXT_BYTES_MAX + 1];
  char site[IMX_TEXT_BYTES_MAX + 1];
  unsigned roles;        /* IMX_ROLE_* */
  int64_t budget_minor;  /* per period */
  imx_market_capacity *capacities;
  uint32_t capacities_n;
  char token_hash[IMX_TEXT_BYTES_MAX + 1]; /* may be empty */
} imx_market_cc;

typedef struct imx_market {
  char currency[4];
  imx_market_service *services;
  uint32_t services_n;
  imx_market_cc *ccs;
  uint32_t ccs_n;
} imx_market;

/* Reads and checks a market file (format in README.md). On failure err
** names the field, e.g. "cost_centres[3].capacities.it.hour". */
int imx_market_load(const char *path, imx_market *out, imx_proto_error *err);
int imx_market_parse(const char *text, size_t len, imx_market *out,
                     imx_proto_error *err);
void imx_market_free(imx_market *m);
/* Index of a service or cost centre by id, or -1. */
int64_t imx_market_service_find(const imx_market *m, const char *id);
int64_t imx_market_cc_find(const imx_market *m, const char *id);

#endif /* IMX_PROTO_H */
