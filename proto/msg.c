/*
** msg.c -- the messages of docs/protocol.md: requests decoded strictly and
** encoded back, replies encoded (the daemon) and decoded (the imx client).
**
** A request is a flat object: the envelope (v, type, id, cc, token) and the
** fields of its type. The fields are one list (field_names[]) and each type
** says by two bit masks which of them it allows and which it requires
** (request_specs[]), so decoding and encoding walk the same list in the same
** order and cannot drift apart: decode(encode(r)) == r for every request
** decode accepts. Fields that do not apply to a request's type are 0 in the
** decoded struct (defaults only where they apply: depth 10 for book.get,
** limit 100 for trades.list, services.list, cc.list and period.summary); has_price is set only for the optional prices
** (order.new's price, auction.run's reference), never for tender.quote's;
** has_after likewise for trades.list's after, whose 0 is a value ("from the
** first trade"), not an absence.
** The encoder writes a required field always, an optional one when given.
**
** Order and tender ids go up to 2^53 - 1 (IMX_ID_MAX), not 2^53: cJSON
** reads numbers as doubles, and the text 2^53 + 1 becomes the double 2^53,
** so 2^53 could be a different id than the client wrote. Every bound here is
** a name from imx_base.h; the messages that state one are pinned to it by
** _Static_assert.
**
** Encoding writes straight into the caller's buffer through a small writer
** that records overflow instead of checking every call; the output is NUL-
** terminated, so cap must exceed the length by one, and 0 means "too small".
**
** Numbers in replies are exact JSON integers, so a value beyond IMX_ID_MAX
** is encoded as written but refused by the decoder. Replies carry up to
** IMX_LIST_MAX rows per list and may be longer than the 64 KiB a request may
** be (1000 trades are ~150 KB), hence their own, larger bound: the decoder
** takes what the daemon may send, IMX_REPLY_BYTES_MAX (the imx client's
** socket takes no more either).
*/
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imx_json.h"

/* The protocol's defaults (docs/protocol.md); the bounds are imx_base.h's. */
#define DEPTH_DEFAULT 10  /* book.get */
#define LIMIT_DEFAULT 100 /* trades.list */
#define HISTORY_LIMIT_DEFAULT 20 /* order.history */
_Static_assert(DEPTH_DEFAULT <= IMX_DEPTH_MAX && LIMIT_DEFAULT <= IMX_LIST_MAX &&
               HISTORY_LIMIT_DEFAULT <= IMX_HISTORY_LIMIT_MAX,
               "a default within its bound");
_Static_assert(IMX_HISTORY_LIMIT_MAX == 100 && IMX_RATINGS_LIMIT_MAX == 100,
               "the messages say 100");

/* The messages below state these numbers. */
_Static_assert(IMX_MSG_BYTES_MAX == 64 * 1024, "the message says 64 KiB");
_Static_assert(IMX_REPLY_BYTES_MAX == 512 * 1024, "the message says 512 KiB");
_Static_assert(IMX_PUB_BYTES_MAX == 1024, "the message says 1 KiB");
_Static_assert(IMX_LIST_MAX == 1000, "the message says 1000 rows");

static const char *const type_names[] = {
    "hello",       "order.new",    "order.cancel", "order.list",
    "book.get",    "trades.list",  "balance.get",  "tender.new",
    "tender.quote", "auction.run", "period.close", "services.list",
    "cc.list",     "cc.get",       "order.modify", "order.history",
    "tender.award", "tender.cancel", "quote.withdraw", "tender.list",
    "tender.get",  "statement.get", "rating.new", "rating.reply", "ratings.list",
    "period.summary", NULL};
static const char *const side_words[] = {"bid", "offer", "none", NULL};
static const char *const tif_words[] = {"gtc", "period", "ioc", "fok", NULL};
static const char *const status_words[] = {"open", "filled", "cancelled",
                                           "expired", NULL};
/* What order.new and order.modify may answer: status_words without
** "expired". */
static const char *const new_status_words[] = {"open", "filled", "cancelled", NULL};
/* A closed order's status: status_words without "open". */
static const char *const closed_words[] = {"filled", "cancelled", "expired", NULL};
static const char *const role_words[] = {"provider", "receiver", "finance",
                                         "admin", NULL};
static const char *const decide_words[] = {"lowest", "choose", "score", NULL};
static const char *const tender_status_words[] = {"open", "awarded", "lapsed",
                                                  "cancelled", NULL};
static const char *const lapsed_words[] = {"no_award", "no_quotes", NULL};

const char *imx_msg_type_name(imx_msg_type t) {
  unsigned u = (unsigned)t;
  return u < IMX_MSG_TYPES ? type_names[u] : NULL;
}

/* ------------------------------------------------------------ the writer */

typedef struct writer {
  char *buf;
  size_t cap, len;
  int full; /* something did not fit: the result is 0 */
} writer;

static void put(writer *w, const char *s, size_t n) {
  if (w->full || n >= w->cap - w->len) { /* keep a byte for the NUL */
    w->full = 1;
    return;
  }
  memcpy(w->buf + w->len, s, n);
  w->len += n;
}

static void put_raw(writer *w, const char *s) { put(w, s, strlen(s)); }

/* A JSON string: quote, backslash and control characters escaped; other
** bytes as they are (cJSON keeps UTF-8 as bytes, so they come back alike). */
static void put_str(writer *w, const char *s) {
  put(w, "\"", 1);
  for (const char *run = s;; s++) {
    unsigned char c = (unsigned char)*s;
    if (c != '\0' && c != '"' && c != '\\' && c >= 0x20 && c != 0x7f) continue;
    put(w, run, (size_t)(s - run));
    if (c == '\0') break;
    char esc[8];
    if (c == '"' || c == '\\')
      snprintf(esc, sizeof esc, "\\%c", c);
    else
      snprintf(esc, sizeof esc, "\\u%04x", c);
    put_raw(w, esc);
    run = s + 1;
  }
  put(w, "\"", 1);
}

static void put_int(writer *w, int64_t v) {
  char num[24];
  snprintf(num, sizeof num, "%" PRId64, v);
  put_raw(w, num);
}

static void put_uint(writer *w, uint64_t v) {
  char num[24];
  snprintf(num, sizeof num, "%" PRIu64, v);
  put_raw(w, num);
}

/* ,"key": -- every key after the envelope's first follows something. */
static void key(writer *w, const char *k) {
  put(w, ",\"", 2);
  put_raw(w, k);
  put(w, "\":", 2);
}

static void kv_str(writer *w, const char *k, const char *s) {
  key(w, k);
  put_str(w, s);
}

static void kv_int(writer *w, const char *k, int64_t v) {
  key(w, k);
  put_int(w, v);
}

static void kv_uint(writer *w, const char *k, uint64_t v) {
  key(w, k);
  put_uint(w, v);
}

/* words[i] of the first n words: i is ours, not the world's. */
static void kv_word(writer *w, const char *k, const char *const *words, int n,
                    int i) {
  assert(i >= 0 && i < n);
  kv_str(w, k, words[i]);
}

static void kv_bool(writer *w, const char *k, int v) {
  key(w, k);
  put_raw(w, v ? "true" : "false");
}

/* A price where 0 means "none" (market order, auction without a price). */
static void kv_price(writer *w, const char *k, int64_t price_minor) {
  key(w, k);
  if (price_minor == 0) put_raw(w, "null");
  else put_int(w, price_minor);
}

static size_t finish(writer *w) {
  if (w->full || w->len >= w->cap) return 0;
  w->buf[w->len] = '\0';
  return w->len;
}

/* ------------------------------------------------------------- requests */

enum field_id {
  F_CC, F_TOKEN, F_SERVICE, F_SIDE, F_QTY, F_PRICE, F_TIF, F_AON, F_ORDER,
  F_DEPTH, F_LIMIT, F_CEILING, F_DEADLINE_MS, F_TENDER, F_REFERENCE, F_AFTER,
  F_START, F_BEFORE, F_DECIDE, F_QUOTE, F_MIN_STARS, F_ALLOW_UNRATED, F_PERIOD,
  F_TRADE, F_STARS, F_COMMENT, F_PRICE_WEIGHT, F_QUALITY_WEIGHT,
  F_COUNT
};

/* The keys a request may have: the envelope's v, type and id, then the
** fields; key K_FIELDS + f is field f's name. */
enum { K_V, K_TYPE, K_ID, K_FIELDS };

static const char *const request_keys[K_FIELDS + F_COUNT + 1] = {
    "v",     "type",  "id",
    "cc",    "token", "service", "side",    "qty",         "price",  "tif",
    "aon",   "order", "depth",   "limit",   "ceiling",     "deadline_ms",
    "tender", "reference", "after", "start", "before", "decide", "quote",
    "min_stars", "allow_unrated", "period", "trade", "stars", "comment",
    "price_weight", "quality_weight", NULL};

static const char *const *const field_names = request_keys + K_FIELDS;
_Static_assert(K_FIELDS + F_COUNT <= IMX_JSON_NAMES_MAX, "a bit per key");

#define B(f) (1u << (f))
#define ENVELOPE (B(F_CC) | B(F_TOKEN))

static const struct request_spec {
  unsigned allowed, required;
} request_specs[IMX_MSG_TYPES] = {
    [IMX_MSG_HELLO] = {ENVELOPE, B(F_TOKEN)}, /* no cc: the token's */
    [IMX_MSG_ORDER_NEW] = {ENVELOPE | B(F_SERVICE) | B(F_SIDE) | B(F_QTY) |
                               B(F_PRICE) | B(F_TIF) | B(F_AON) |
                               B(F_MIN_STARS) | B(F_ALLOW_UNRATED),
                           B(F_SERVICE) | B(F_SIDE) | B(F_QTY)},
    [IMX_MSG_ORDER_CANCEL] = {ENVELOPE | B(F_ORDER), B(F_ORDER)},
    [IMX_MSG_ORDER_LIST] = {ENVELOPE, 0},
    [IMX_MSG_BOOK_GET] = {ENVELOPE | B(F_SERVICE) | B(F_DEPTH), B(F_SERVICE)},
    [IMX_MSG_TRADES_LIST] = {ENVELOPE | B(F_SERVICE) | B(F_LIMIT) | B(F_AFTER),
                             0},
    [IMX_MSG_BALANCE_GET] = {ENVELOPE, 0},
    [IMX_MSG_TENDER_NEW] = {ENVELOPE | B(F_SERVICE) | B(F_QTY) | B(F_CEILING) |
                                B(F_DEADLINE_MS) | B(F_DECIDE) |
                                B(F_PRICE_WEIGHT) | B(F_QUALITY_WEIGHT),
                            B(F_SERVICE) | B(F_QTY) | B(F_CEILING) |
                                B(F_DEADLINE_MS)},
    [IMX_MSG_TENDER_QUOTE] = {ENVELOPE | B(F_TENDER) | B(F_PRICE),
                              B(F_TENDER) | B(F_PRICE)},
    [IMX_MSG_AUCTION_RUN] = {ENVELOPE | B(F_SERVICE) | B(F_REFERENCE),
                             B(F_SERVICE)},
    [IMX_MSG_PERIOD_CLOSE] = {ENVELOPE, 0},
    [IMX_MSG_SERVICES_LIST] = {ENVELOPE | B(F_START) | B(F_LIMIT), 0},
    [IMX_MSG_CC_LIST] = {ENVELOPE | B(F_START) | B(F_LIMIT), 0},
    [IMX_MSG_CC_GET] = {ENVELOPE, 0},
    /* qty, price or both: checked after the fields (decode_request) */
    [IMX_MSG_ORDER_MODIFY] = {ENVELOPE | B(F_ORDER) | B(F_QTY) | B(F_PRICE),
                              B(F_ORDER)},
    [IMX_MSG_ORDER_HISTORY] = {ENVELOPE | B(F_LIMIT) | B(F_BEFORE), 0},
    [IMX_MSG_TENDER_AWARD] = {ENVELOPE | B(F_TENDER) | B(F_QUOTE),
                              B(F_TENDER) | B(F_QUOTE)},
    [IMX_MSG_TENDER_CANCEL] = {ENVELOPE | B(F_TENDER), B(F_TENDER)},
    /* one of quote and tender: checked after the fields (decode_request) */
    [IMX_MSG_QUOTE_WITHDRAW] = {ENVELOPE | B(F_QUOTE) | B(F_TENDER), 0},
    [IMX_MSG_TENDER_LIST] = {ENVELOPE | B(F_LIMIT) | B(F_AFTER), 0},
    [IMX_MSG_TENDER_GET] = {ENVELOPE | B(F_TENDER), B(F_TENDER)},
    [IMX_MSG_STATEMENT_GET] = {ENVELOPE | B(F_PERIOD), 0},
    [IMX_MSG_RATING_NEW] = {ENVELOPE | B(F_TRADE) | B(F_STARS) | B(F_COMMENT),
                            B(F_TRADE) | B(F_STARS)},
    [IMX_MSG_RATING_REPLY] = {ENVELOPE | B(F_TRADE) | B(F_COMMENT),
                              B(F_TRADE) | B(F_COMMENT)},
    /* cc: whose ratings (given or received); service: of that service */
    [IMX_MSG_RATINGS_LIST] = {ENVELOPE | B(F_SERVICE) | B(F_LIMIT) | B(F_BEFORE), 0},
    /* start: a cost centre, the page's first (as cc.list) */
    [IMX_MSG_PERIOD_SUMMARY] = {ENVELOPE | B(F_PERIOD) | B(F_START) | B(F_LIMIT), 0},
};

static int copy_text(const cJSON *it, const char *field, size_t max,
                     char *dst, imx_proto_error *err) {
  const char *s = NULL;
  int rc = imx_json_item_string(it, field, max, &s, err);
  if (rc == 0) memcpy(dst, s, strlen(s) + 1);
  return rc;
}

/* Reads field f, the member it (NULL: absent), into *r: 0 set, 1 absent,
** -1 wrong. */
static int get_field(const cJSON *it, enum field_id f, imx_request *r,
                     imx_proto_error *err) {
  static const char *const sides[] = {"bid", "offer", NULL};
  const char *name = field_names[f];
  int64_t v = 0;
  int rc;
  switch (f) {
  case F_CC: return copy_text(it, name, IMX_NAME_BYTES_MAX, r->cc, err);
  case F_TOKEN: return copy_text(it, name, IMX_TOKEN_BYTES_MAX, r->token, err);
  case F_SERVICE:
    return copy_text(it, name, IMX_NAME_BYTES_MAX, r->service, err);
  case F_SIDE: return imx_json_item_word(it, name, sides, &r->side, err);
  case F_QTY: return imx_json_item_int(it, name, 1, IMX_QTY_MAX, &r->qty, err);
  case F_PRICE:
  case F_REFERENCE:
    /* has_price tells an optional price from none: tender.quote's is not */
    rc = imx_json_item_int(it, name, 1, IMX_PRICE_MAX_MINOR, &r->price_minor, err);
    r->has_price = rc == 0 && !(request_specs[r->type].required & B(f));
    return rc;
  case F_TIF: return imx_json_item_word(it, name, tif_words, &r->tif, err);
  case F_AON: return imx_json_item_bool(it, name, &r->aon, err);
  case F_MIN_STARS:
    rc = imx_json_item_int(it, name, IMX_STARS_MIN, IMX_STARS_MAX, &v, err);
    if (rc == 0) r->min_stars = (int)v;
    return rc;
  case F_ALLOW_UNRATED: return imx_json_item_bool(it, name, &r->allow_unrated, err);
  case F_ORDER:
    rc = imx_json_item_int(it, name, 1, IMX_ID_MAX, &v, err);
    if (rc == 0) r->order = (uint64_t)v;
    return rc;
  case F_TENDER:
    rc = imx_json_item_int(it, name, 1, IMX_ID_MAX, &v, err);
    if (rc == 0) r->tender = (uint64_t)v;
    return rc;
  case F_QUOTE:
    rc = imx_json_item_int(it, name, 1, IMX_ID_MAX, &v, err);
    if (rc == 0) r->quote = (uint64_t)v;
    return rc;
  case F_DECIDE: return imx_json_item_word(it, name, decide_words, &r->decide, err);
  case F_TRADE:
    rc = imx_json_item_int(it, name, 1, IMX_ID_MAX, &v, err);
    if (rc == 0) r->trade = (uint64_t)v;
    return rc;
  case F_STARS:
    rc = imx_json_item_int(it, name, IMX_RATING_STARS_MIN, IMX_RATING_STARS_MAX, &v, err);
    if (rc == 0) r->stars = (int)v;
    return rc;
  case F_COMMENT: return copy_text(it, name, IMX_COMMENT_BYTES_MAX, r->comment, err);
  case F_PRICE_WEIGHT:
  case F_QUALITY_WEIGHT:
    /* 0..100 each; which decide modes take them, and their sum, the
    ** server checks (reason bad_weights) */
    rc = imx_json_item_int(it, name, 0, IMX_WEIGHT_MAX, &v, err);
    if (rc == 0) {
      int bit = f == F_PRICE_WEIGHT ? IMX_PWEIGHT_PRICE : IMX_PWEIGHT_QUALITY;
      *(f == F_PRICE_WEIGHT ? &r->price_weight : &r->quality_weight) = (int)v;
      r->weights_given |= bit;
    }
    return rc;
  case F_DEPTH:
    rc = imx_json_item_int(it, name, 1, IMX_DEPTH_MAX, &v, err);
    if (rc == 0) r->depth = (uint32_t)v;
    return rc;
  case F_LIMIT:
    rc = imx_json_item_int(it, name, 1, IMX_LIST_MAX, &v, err);
    if (rc == 0) r->limit = (uint32_t)v;
    return rc;
  case F_BEFORE:
    rc = imx_json_item_int(it, name, 1, IMX_ID_MAX, &v, err);
    if (rc == 0) r->before = (uint64_t)v;
    return rc;
  case F_AFTER:
    /* 0 is a valid after: every trade since the first */
    rc = imx_json_item_int(it, name, 0, IMX_ID_MAX, &v, err);
    if (rc == 0) r->after = (uint64_t)v, r->has_after = 1;
    return rc;
  case F_START: return copy_text(it, name, IMX_NAME_BYTES_MAX, r->start, err);
  case F_PERIOD:
    return copy_text(it, name, IMX_PERIOD_LABEL_BYTES - 1, r->period, err);
  case F_CEILING:
    return imx_json_item_int(it, name, 1, IMX_PRICE_MAX_MINOR, &r->ceiling_minor,
                             err);
  case F_DEADLINE_MS:
    return imx_json_item_int(it, name, 1, IMX_DEADLINE_MS_MAX, &r->deadline_ms,
                             err);
  case F_COUNT: break;
  }
  assert(0 && "no such field");
  return -1;
}

/* v and type: which request this is, before its keys can be checked. */
static int decode_head(const cJSON *doc, imx_request *r, imx_proto_error *err) {
  int64_t v = 0;
  int rc = imx_json_int(doc, "v", 1, 1, &v, err);
  if (rc) return imx_proto_fail(err, "bad_field", "v",
                                rc > 0 ? "missing (must be 1)" : "must be 1");
  int t = 0;
  rc = imx_json_word(doc, "type", type_names, &t, err);
  if (rc) return rc < 0 ? imx_proto_fail(err, "bad_field", "type",
                                         "is not a request type")
                        : imx_proto_fail(err, "bad_field", "type", "missing");
  assert(t >= 0 && t < IMX_MSG_TYPES);
  r->type = (imx_msg_type)t;
  return 0;
}

/* The id first, for the error reply's echo, whatever else is wrong; then v
** and type, which say which keys are allowed; then every key in one pass
** (imx_json_members), and the fields from the members it found. */
static int decode_request(const cJSON *doc, imx_request *r,
                          imx_proto_error *err) {
  if (!cJSON_IsObject(doc))
    return imx_proto_fail(err, "bad_json", "message", "must be a JSON object");
  imx_proto_error ignored;
  copy_text(cJSON_GetObjectItemCaseSensitive(doc, "id"), "id", IMX_NAME_BYTES_MAX,
            r->id, &ignored);
  if (decode_head(doc, r, err)) return -1;
  const struct request_spec *spec = &request_specs[r->type];
  const cJSON *items[K_FIELDS + F_COUNT];
  uint64_t allowed = B(K_V) | B(K_TYPE) | B(K_ID) | (uint64_t)spec->allowed << K_FIELDS;
  if (imx_json_members(doc, request_keys, allowed, items, err)) return -1;
  assert(items[K_V] != NULL && items[K_TYPE] != NULL);
  int rc = copy_text(items[K_ID], "id", IMX_NAME_BYTES_MAX, r->id, err);
  if (rc) return rc < 0 ? -1 : imx_proto_fail(err, "bad_field", "id", "missing");
  if (r->type == IMX_MSG_BOOK_GET) r->depth = DEPTH_DEFAULT;
  if (r->type == IMX_MSG_TRADES_LIST || r->type == IMX_MSG_SERVICES_LIST ||
      r->type == IMX_MSG_CC_LIST || r->type == IMX_MSG_TENDER_LIST ||
      r->type == IMX_MSG_PERIOD_SUMMARY)
    r->limit = LIMIT_DEFAULT;
  if (r->type == IMX_MSG_TRADES_LIST) r->limit = LIMIT_DEFAULT;
  if (r->type == IMX_MSG_ORDER_HISTORY || r->type == IMX_MSG_RATINGS_LIST)
    r->limit = HISTORY_LIMIT_DEFAULT;
  for (int f = 0; f < F_COUNT; f++) {
    if (!(spec->allowed & B(f))) continue;
    rc = get_field(items[K_FIELDS + f], (enum field_id)f, r, err);
    if (rc < 0) return -1;
    if (rc > 0 && (spec->required & B(f)))
      return imx_proto_fail(err, "bad_field", field_names[f], "missing");
  }
  if (r->type == IMX_MSG_ORDER_MODIFY && r->qty == 0 && !r->has_price)
    return imx_proto_fail(err, "bad_field", "qty", "give qty, price or both");
  if (r->type == IMX_MSG_ORDER_HISTORY && r->limit > IMX_HISTORY_LIMIT_MAX)
    return imx_proto_fail(err, "bad_field", "limit", "must be 1..100 for order.history");
  if (r->type == IMX_MSG_RATINGS_LIST && r->limit > IMX_RATINGS_LIMIT_MAX)
    return imx_proto_fail(err, "bad_field", "limit", "must be 1..100 for ratings.list");
  if (r->type == IMX_MSG_QUOTE_WITHDRAW && (r->quote == 0) == (r->tender == 0))
    return imx_proto_fail(err, "bad_field", r->quote ? "tender" : "quote",
                          r->quote ? "give quote or tender, not both"
                                   : "missing (or give tender)");
  return 0;
}

int imx_request_decode(const char *buf, size_t len, imx_request *out,
                       imx_proto_error *err) {
  assert(out != NULL && err != NULL && (buf != NULL || len == 0));
  memset(out, 0, sizeof *out);
  if (len > IMX_MSG_BYTES_MAX)
    return imx_proto_fail(err, "too_large", "message", "is larger than 64 KiB");
  if (len == 0) return imx_proto_fail(err, "bad_json", "message", "is empty");
  cJSON *doc = imx_json_parse_scratch(buf, len, err);
  if (doc == NULL) return -1;
  int rc = decode_request(doc, out, err);
  imx_json_scratch_end(doc);
  assert(rc == 0 || err->code != NULL);
  return rc;
}

/* Whether a field is in r: a required one always; an optional string when
** not empty, an optional price when given. */
static int field_present(const imx_request *r, enum field_id f) {
  if (request_specs[r->type].required & B(f)) return 1;
  switch (f) {
  case F_CC: return r->cc[0] != '\0';
  case F_TOKEN: return r->token[0] != '\0';
  case F_SERVICE: return r->service[0] != '\0';
  case F_PRICE:
  case F_REFERENCE: return r->has_price;
  case F_AFTER: return r->has_after;
  case F_START: return r->start[0] != '\0';
  case F_QTY: return r->qty != 0;      /* order.modify's: 0 = unchanged */
  case F_BEFORE: return r->before != 0;
  case F_DECIDE: return r->decide != IMX_PDECIDE_LOWEST; /* the default */
  case F_QUOTE: return r->quote != 0;
  case F_TENDER: return r->tender != 0;
  case F_MIN_STARS: return r->min_stars != 0;
  case F_ALLOW_UNRATED: return r->allow_unrated != 0;
  case F_COMMENT: return r->comment[0] != '\0';
  case F_PRICE_WEIGHT: return (r->weights_given & IMX_PWEIGHT_PRICE) != 0;
  case F_QUALITY_WEIGHT: return (r->weights_given & IMX_PWEIGHT_QUALITY) != 0;
  case F_LIMIT: return 1;
  case F_PERIOD: return r->period[0] != '\0';
  default: return 1;
  }
}

static void put_field(writer *w, const imx_request *r, enum field_id f) {
  const char *k = field_names[f];
  switch (f) {
  case F_CC: kv_str(w, k, r->cc); break;
  case F_TOKEN: kv_str(w, k, r->token); break;
  case F_SERVICE: kv_str(w, k, r->service); break;
  case F_SIDE: kv_word(w, k, side_words, 2, r->side); break;
  case F_QTY: kv_int(w, k, r->qty); break;
  case F_PRICE:
  case F_REFERENCE: kv_int(w, k, r->price_minor); break;
  case F_TIF: kv_word(w, k, tif_words, 4, r->tif); break;
  case F_AON: kv_bool(w, k, r->aon); break;
  case F_ORDER: kv_uint(w, k, r->order); break;
  case F_DEPTH: kv_uint(w, k, r->depth); break;
  case F_LIMIT: kv_uint(w, k, r->limit); break;
  case F_CEILING: kv_int(w, k, r->ceiling_minor); break;
  case F_DEADLINE_MS: kv_int(w, k, r->deadline_ms); break;
  case F_TENDER: kv_uint(w, k, r->tender); break;
  case F_AFTER: kv_uint(w, k, r->after); break;
  case F_START: kv_str(w, k, r->start); break;
  case F_BEFORE: kv_uint(w, k, r->before); break;
  case F_DECIDE: kv_word(w, k, decide_words, 3, r->decide); break;
  case F_QUOTE: kv_uint(w, k, r->quote); break;
  case F_MIN_STARS: kv_int(w, k, r->min_stars); break;
  case F_ALLOW_UNRATED: kv_bool(w, k, r->allow_unrated); break;
  case F_PERIOD: kv_str(w, k, r->period); break;
  case F_TRADE: kv_uint(w, k, r->trade); break;
  case F_STARS: kv_int(w, k, r->stars); break;
  case F_COMMENT: kv_str(w, k, r->comment); break;
  case F_PRICE_WEIGHT: kv_int(w, k, r->price_weight); break;
  case F_QUALITY_WEIGHT: kv_int(w, k, r->quality_weight); break;
  case F_COUNT: assert(0 && "no such field"); break;
  }
}

size_t imx_request_encode(const imx_request *r, char *buf, size_t cap) {
  assert(r != NULL && (buf != NULL || cap == 0));
  const char *name = imx_msg_type_name(r->type);
  assert(name != NULL);
  writer w = {buf, cap, 0, 0};
  put_raw(&w, "{\"v\":1,\"type\":");
  put_str(&w, name);
  kv_str(&w, "id", r->id);
  for (int f = 0; f < F_COUNT; f++)
    if ((request_specs[r->type].allowed & B(f)) &&
        field_present(r, (enum field_id)f))
      put_field(&w, r, (enum field_id)f);
  put(&w, "}", 1);
  return finish(&w);
}

/* ------------------------------------------------------ replies: encode */

static void put_trades(writer *w, const imx_reply_trade *t, uint32_t n) {
  key(w, "trades");
  put(w, "[", 1);
  for (uint32_t i = 0; i < n; i++, t++) {
    put_raw(w, i ? ",{\"trade\":" : "{\"trade\":");
    put_uint(w, t->trade);
    kv_str(w, "service", t->service);
    kv_str(w, "buyer", t->buyer);
    kv_str(w, "seller", t->seller);
    kv_int(w, "qty", t->qty);
    kv_int(w, "price", t->price_minor);
    kv_int(w, "time_ms", t->time_ms);
    kv_uint(w, "buy_order", t->buy_order);
    kv_uint(w, "sell_order", t->sell_order);
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

static void put_orders(writer *w, const imx_reply_order *o, uint32_t n) {
  key(w, "orders");
  put(w, "[", 1);
  for (uint32_t i = 0; i < n; i++, o++) {
    put_raw(w, i ? ",{\"order\":" : "{\"order\":");
    put_uint(w, o->order);
    kv_str(w, "service", o->service);
    kv_word(w, "side", side_words, 2, o->side);
    kv_word(w, "tif", tif_words, 4, o->tif);
    kv_bool(w, "aon", o->aon);
    kv_price(w, "price", o->price_minor);
    kv_int(w, "qty", o->qty);
    kv_int(w, "qty_open", o->qty_open);
    kv_int(w, "qty_filled", o->qty_filled);
    if (o->min_stars != 0) kv_int(w, "min_stars", o->min_stars);
    if (o->allow_unrated) kv_bool(w, "allow_unrated", 1);
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

static void put_fills(writer *w, const imx_reply_fill *f, uint32_t n) {
  key(w, "fills");
  put(w, "[", 1);
  for (uint32_t i = 0; i < n; i++, f++) {
    put_raw(w, i ? ",{\"trade\":" : "{\"trade\":");
    put_uint(w, f->trade);
    kv_int(w, "qty", f->qty);
    kv_int(w, "price", f->price_minor);
    kv_int(w, "time_ms", f->time_ms);
    kv_str(w, "counterparty", f->counterparty);
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

static void put_closed(writer *w, const imx_reply_closed *o, uint32_t n) {
  key(w, "orders");
  put(w, "[", 1);
  for (uint32_t i = 0; i < n; i++, o++) {
    put_raw(w, i ? ",{\"order\":" : "{\"order\":");
    put_uint(w, o->order);
    kv_str(w, "service", o->service);
    kv_word(w, "side", side_words, 2, o->side);
    kv_word(w, "tif", tif_words, 4, o->tif);
    kv_bool(w, "aon", o->aon);
    kv_price(w, "price", o->price_minor);
    kv_int(w, "qty", o->qty);
    kv_int(w, "qty_filled", o->qty_filled);
    kv_word(w, "status", status_words, 4, o->status);
    if (o->reason[0]) kv_str(w, "reason", o->reason);
    kv_str(w, "period", o->period);
    kv_int(w, "closed_ms", o->closed_ms);
    put_fills(w, o->fills, o->fills_n);
    if (o->fills_omitted) kv_uint(w, "fills_omitted", o->fills_omitted);
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

static void put_levels(writer *w, const char *name, const imx_reply_level *l,
                       uint32_t n) {
  key(w, name);
  put(w, "[", 1);
  for (uint32_t i = 0; i < n; i++, l++) {
    put_raw(w, i ? ",{\"price\":" : "{\"price\":");
    put_int(w, l->price_minor);
    kv_int(w, "qty", l->qty);
    kv_uint(w, "orders", l->orders);
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

static void put_capacities(writer *w, const imx_reply_capacity *c, uint32_t n) {
  key(w, "capacities");
  put(w, "[", 1);
  for (uint32_t i = 0; i < n; i++, c++) {
    put_raw(w, i ? ",{\"service\":" : "{\"service\":");
    put_str(w, c->service);
    kv_int(w, "capacity", c->capacity);
    kv_int(w, "reserved", c->reserved);
    kv_int(w, "sold", c->sold);
    kv_int(w, "available", c->available);
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

/* A reputation's four numbers, after a row's other keys. */
static void put_rep(writer *w, const imx_reply_reputation *r) {
  kv_int(w, "ratings", r->ratings);
  kv_int(w, "stars_sum", r->stars_sum);
  kv_int(w, "ratings_90d", r->ratings_recent);
  kv_int(w, "stars_sum_90d", r->stars_sum_recent);
}

static void put_ratings(writer *w, const imx_reply_rating *r, uint32_t n) {
  key(w, "ratings");
  put(w, "[", 1);
  for (uint32_t i = 0; i < n; i++, r++) {
    put_raw(w, i ? ",{\"trade\":" : "{\"trade\":");
    put_uint(w, r->trade);
    kv_str(w, "service", r->service);
    kv_str(w, "provider", r->provider);
    kv_str(w, "rater", r->rater);
    kv_int(w, "stars", r->stars);
    kv_str(w, "comment", r->comment);
    kv_int(w, "time_ms", r->time_ms);
    if (r->reply_ms) {
      kv_str(w, "reply", r->reply);
      kv_int(w, "reply_ms", r->reply_ms);
    }
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

/* book.get's offers with their providers; the order id only when given
** (the asker's own). */
static void put_offer_orders(writer *w, const imx_reply_offer *o, uint32_t n) {
  key(w, "offer_orders");
  put(w, "[", 1);
  for (uint32_t i = 0; i < n; i++, o++) {
    put_raw(w, i ? ",{\"price\":" : "{\"price\":");
    if (o->price_minor == 0) put_raw(w, "null");
    else put_int(w, o->price_minor);
    kv_int(w, "qty", o->qty);
    kv_bool(w, "aon", o->aon);
    kv_str(w, "cc", o->cc);
    kv_str(w, "name", o->name);
    kv_str(w, "site", o->site);
    if (o->order) kv_uint(w, "order", o->order);
    put_rep(w, &o->rep);
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

/* A tender's fields after its id: a row of tender.list, the head of
** tender.get. */
static void put_tender_rest(writer *w, const imx_reply_tender *t) {
  kv_str(w, "service", t->service);
  kv_str(w, "buyer", t->buyer);
  kv_int(w, "qty", t->qty);
  kv_int(w, "ceiling", t->ceiling_minor);
  kv_int(w, "deadline_time_ms", t->deadline_time_ms);
  kv_word(w, "decide", decide_words, 3, t->decide);
  if (t->decide == IMX_PDECIDE_SCORE) {
    kv_uint(w, "price_weight", t->price_weight);
    kv_uint(w, "quality_weight", t->quality_weight);
  }
  kv_uint(w, "quote_count", t->quotes);
  if (t->my_quote) {
    kv_uint(w, "my_quote", t->my_quote);
    kv_int(w, "my_price", t->my_price_minor);
  }
}

/* tender.get: how the tender stands, and how it ended. */
static void put_tender_end(writer *w, const imx_reply_tender *t) {
  kv_word(w, "status", tender_status_words, 4, t->status);
  if (t->status == IMX_PTENDER_OPEN) return;
  kv_int(w, "ended_time_ms", t->ended_time_ms);
  if (t->status == IMX_PTENDER_AWARDED) {
    kv_uint(w, "quote", t->award_quote);
    kv_uint(w, "trade", t->award_trade);
  } else if (t->status == IMX_PTENDER_LAPSED) {
    kv_word(w, "why", lapsed_words, 2, t->why);
  }
}

static void put_tenders(writer *w, const imx_reply_tender *t, uint32_t n) {
  key(w, "tenders");
  put(w, "[", 1);
  for (uint32_t i = 0; i < n; i++, t++) {
    put_raw(w, i ? ",{\"tender\":" : "{\"tender\":");
    put_uint(w, t->tender);
    put_tender_rest(w, t);
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

static const char *const mode_words[] = {"continuous", "auction", NULL};

/* ,"translations":{"de":{"name":...,"unit":...}}: only the texts given;
** nothing when there is no translation. */
static void put_texts(writer *w, const imx_service_text *t, uint32_t n) {
  if (n == 0) return;
  key(w, "translations");
  for (uint32_t i = 0; i < n; i++, t++) {
    put(w, i ? "," : "{", 1);
    put_str(w, t->lang);
    const char *sep = ":{";
    const char *names[3] = {"name", "description", "unit"};
    const char *vals[3] = {t->name, t->description, t->unit};
    for (int k = 0; k < 3; k++) {
      if (vals[k][0] == '\0') continue;
      put_raw(w, sep);
      put_str(w, names[k]);
      put(w, ":", 1);
      put_str(w, vals[k]);
      sep = ",";
    }
    put(w, "}", 1);
  }
  put(w, "}", 1);
}

static void put_services(writer *w, const imx_reply_service *s, uint32_t n) {
  key(w, "services");
  put(w, "[", 1);
  for (uint32_t i = 0; i < n; i++, s++) {
    put_raw(w, i ? ",{\"service\":" : "{\"service\":");
    put_str(w, s->service);
    kv_str(w, "name", s->name);
    kv_str(w, "description", s->description);
    kv_str(w, "unit", s->unit);
    kv_str(w, "currency", s->currency);
    kv_word(w, "mode", mode_words, 2, s->auction != 0);
    kv_bool(w, "divisible", s->divisible);
    kv_int(w, "tick", s->tick_minor);
    kv_int(w, "lot", s->lot);
    kv_price(w, "price_cap", s->price_cap_minor);
    kv_uint(w, "providers", s->providers);
    kv_price(w, "bid", s->bid_minor);
    kv_int(w, "bid_qty", s->bid_qty);
    kv_price(w, "offer", s->offer_minor);
    kv_int(w, "offer_qty", s->offer_qty);
    kv_price(w, "last_price", s->last_price_minor);
    kv_int(w, "last_qty", s->last_qty);
    kv_price(w, "last_time_ms", s->last_time_ms);
    put_rep(w, &s->rep);
    put_texts(w, s->texts, s->texts_n);
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

static void put_roles(writer *w, unsigned roles);

/* statement.get: what the cost centre bought and sold; period.close: the
** market's units and amount, once. */
static void put_sums(writer *w, const imx_reply_sum *s, uint32_t n, int market) {
  key(w, "services");
  put(w, "[", 1);
  for (uint32_t i = 0; i < n; i++, s++) {
    put_raw(w, i ? ",{\"service\":" : "{\"service\":");
    put_str(w, s->service);
    kv_int(w, "trades", s->trades);
    if (market) {
      kv_int(w, "units", s->bought);
      kv_int(w, "amount", s->spent);
    } else {
      kv_int(w, "bought", s->bought);
      kv_int(w, "spent", s->spent);
      kv_int(w, "sold", s->sold);
      kv_int(w, "earned", s->earned);
    }
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

/* A cost centre's fields, after a first key: a row of cc.list, or the
** whole of cc.get.ok. */
static void put_cc_fields(writer *w, const imx_reply_cc *c) {
  kv_str(w, "name", c->name);
  kv_str(w, "site", c->site);
  put_roles(w, c->roles);
  key(w, "services");
  put(w, "[", 1);
  for (uint32_t i = 0; i < c->services_n; i++) {
    if (i) put(w, ",", 1);
    put_str(w, c->services[i]);
  }
  put(w, "]", 1);
  if (c->has_budget) kv_int(w, "budget", c->budget_minor);
  if (c->reputation_n == 0) return;
  key(w, "reputation");
  put(w, "[", 1);
  for (uint32_t i = 0; i < c->reputation_n; i++) {
    put_raw(w, i ? ",{\"service\":" : "{\"service\":");
    put_str(w, c->reputation[i].service);
    put_rep(w, &c->reputation[i]);
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

static void put_ccs(writer *w, const imx_reply_cc *c, uint32_t n) {
  key(w, "ccs");
  put(w, "[", 1);
  for (uint32_t i = 0; i < n; i++, c++) {
    put_raw(w, i ? ",{\"cc\":" : "{\"cc\":");
    put_str(w, c->cc);
    put_cc_fields(w, c);
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

/* period.summary's cost centres; reserved and available only for the open
** period (the engine's figures). */
static void put_cc_sums(writer *w, const imx_reply_cc_sum *c, uint32_t n, int open) {
  key(w, "ccs");
  put(w, "[", 1);
  for (uint32_t i = 0; i < n; i++, c++) {
    put_raw(w, i ? ",{\"cc\":" : "{\"cc\":");
    put_str(w, c->cc);
    kv_int(w, "budget", c->budget);
    kv_int(w, "spent", c->spent);
    kv_int(w, "earned", c->earned);
    if (open) {
      kv_int(w, "reserved", c->reserved);
      kv_int(w, "available", c->available);
    }
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

static void put_quotes(writer *w, const imx_reply_quote *q, uint32_t n) {
  key(w, "quotes");
  put(w, "[", 1);
  for (uint32_t i = 0; i < n; i++, q++) {
    put_raw(w, i ? ",{\"quote\":" : "{\"quote\":");
    put_uint(w, q->quote);
    kv_str(w, "provider", q->provider);
    kv_str(w, "name", q->name);
    kv_str(w, "site", q->site);
    kv_int(w, "price", q->price_minor);
    if (q->has_score) kv_int(w, "score", q->score);
    put_rep(w, &q->rep);
    put(w, "}", 1);
  }
  put(w, "]", 1);
}

static void put_roles(writer *w, unsigned roles) {
  assert((roles & ~15u) == 0);
  key(w, "roles");
  put(w, "[", 1);
  int n = 0;
  for (int i = 0; role_words[i]; i++)
    if (roles & (1u << i)) {
      if (n++) put(w, ",", 1);
      put_str(w, role_words[i]);
    }
  put(w, "]", 1);
}

static void put_reply_fields(writer *w, const imx_reply *r) {
  switch (r->type) {
  case IMX_MSG_HELLO:
    kv_str(w, "cc", r->cc);
    put_roles(w, r->roles);
    kv_str(w, "currency", r->currency);
    kv_int(w, "decimals", r->decimals);
    break;
  case IMX_MSG_ORDER_NEW:
    kv_uint(w, "order", r->order);
    kv_word(w, "status", status_words, 3, r->status);
    kv_int(w, "qty_open", r->qty_open);
    kv_int(w, "qty_filled", r->qty_filled);
    if (r->reason[0]) kv_str(w, "reason", r->reason);
    put_trades(w, r->trades, r->trades_n);
    if (r->trades_omitted) kv_uint(w, "trades_omitted", r->trades_omitted);
    break;
  case IMX_MSG_ORDER_CANCEL:
    kv_uint(w, "order", r->order);
    kv_int(w, "qty", r->qty);
    break;
  case IMX_MSG_ORDER_LIST: put_orders(w, r->orders, r->orders_n); break;
  case IMX_MSG_BOOK_GET:
    kv_str(w, "service", r->service);
    put_levels(w, "bids", r->bids, r->bids_n);
    put_levels(w, "offers", r->offers, r->offers_n);
    put_offer_orders(w, r->offer_orders, r->offer_orders_n);
    break;
  case IMX_MSG_TRADES_LIST: put_trades(w, r->trades, r->trades_n); break;
  case IMX_MSG_BALANCE_GET:
    kv_str(w, "cc", r->cc);
    kv_int(w, "budget", r->budget);
    kv_int(w, "reserved", r->reserved);
    kv_int(w, "spent", r->spent);
    kv_int(w, "earned", r->earned);
    kv_int(w, "available", r->available);
    put_capacities(w, r->capacities, r->capacities_n);
    break;
  case IMX_MSG_TENDER_NEW: kv_uint(w, "tender", r->tender); break;
  case IMX_MSG_TENDER_QUOTE:
    kv_uint(w, "tender", r->tender);
    kv_uint(w, "quote", r->quote);
    break;
  case IMX_MSG_AUCTION_RUN:
    kv_str(w, "service", r->service);
    kv_price(w, "price", r->price_minor);
    kv_int(w, "volume", r->volume);
    kv_int(w, "surplus", r->surplus);
    kv_word(w, "surplus_side", side_words, 3, r->surplus_side);
    break;
  case IMX_MSG_PERIOD_CLOSE:
    kv_int(w, "expired", r->expired);
    kv_str(w, "period", r->period);
    kv_str(w, "opened", r->opened);
    put_sums(w, r->sums, r->sums_n, 1);
    if (r->sums_omitted) kv_uint(w, "services_omitted", r->sums_omitted);
    key(w, "over_budget");
    put(w, "[", 1);
    for (uint32_t i = 0; i < r->over_budget_n; i++) {
      if (i) put(w, ",", 1);
      put_str(w, r->over_budget[i]);
    }
    put(w, "]", 1);
    if (r->over_budget_omitted) kv_uint(w, "over_budget_omitted", r->over_budget_omitted);
    break;
  case IMX_MSG_SERVICES_LIST:
    put_services(w, r->services, r->services_n);
    if (r->next[0]) kv_str(w, "next", r->next);
    break;
  case IMX_MSG_CC_LIST:
    put_ccs(w, r->ccs, r->ccs_n);
    if (r->next[0]) kv_str(w, "next", r->next);
    break;
  case IMX_MSG_CC_GET:
    assert(r->ccs_n == 1 && r->ccs != NULL);
    kv_str(w, "cc", r->ccs->cc);
    put_cc_fields(w, r->ccs);
    break;
  case IMX_MSG_ORDER_MODIFY:
    kv_uint(w, "order", r->order);
    kv_word(w, "status", status_words, 3, r->status);
    kv_price(w, "price", r->price_minor);
    kv_int(w, "qty", r->qty);
    kv_int(w, "qty_open", r->qty_open);
    kv_int(w, "qty_filled", r->qty_filled);
    kv_bool(w, "priority_kept", r->priority_kept);
    if (r->reason[0]) kv_str(w, "reason", r->reason);
    put_trades(w, r->trades, r->trades_n);
    if (r->trades_omitted) kv_uint(w, "trades_omitted", r->trades_omitted);
    break;
  case IMX_MSG_ORDER_HISTORY:
    kv_str(w, "cc", r->cc);
    put_closed(w, r->closed, r->closed_n);
    break;
  case IMX_MSG_TENDER_AWARD:
    kv_uint(w, "tender", r->tender);
    kv_uint(w, "quote", r->quote);
    put_trades(w, r->trades, r->trades_n);
    break;
  case IMX_MSG_TENDER_CANCEL: kv_uint(w, "tender", r->tender); break;
  case IMX_MSG_QUOTE_WITHDRAW:
    kv_uint(w, "tender", r->tender);
    kv_uint(w, "quote", r->quote);
    break;
  case IMX_MSG_TENDER_LIST: put_tenders(w, r->tenders, r->tenders_n); break;
  case IMX_MSG_TENDER_GET:
    assert(r->tenders_n == 1 && r->tenders != NULL);
    kv_uint(w, "tender", r->tenders->tender);
    put_tender_rest(w, r->tenders);
    kv_str(w, "buyer_name", r->buyer_name);
    kv_str(w, "buyer_site", r->buyer_site);
    put_tender_end(w, r->tenders);
    put_quotes(w, r->quotes, r->quotes_n);
    break;
  case IMX_MSG_STATEMENT_GET:
    kv_str(w, "cc", r->cc);
    kv_str(w, "period", r->period);
    kv_bool(w, "closed", r->is_closed);
    if (r->is_closed) kv_int(w, "closed_ms", r->closed_ms);
    kv_int(w, "budget", r->budget);
    put_sums(w, r->sums, r->sums_n, 0);
    if (r->sums_omitted) kv_uint(w, "services_omitted", r->sums_omitted);
    put_trades(w, r->trades, r->trades_n);
    if (r->trades_omitted) kv_uint(w, "trades_omitted", r->trades_omitted);
    break;
  case IMX_MSG_RATING_NEW:
    kv_uint(w, "trade", r->trade);
    kv_int(w, "stars", r->stars);
    kv_str(w, "service", r->service);
    kv_str(w, "provider", r->cc);
    break;
  case IMX_MSG_RATING_REPLY: kv_uint(w, "trade", r->trade); break;
  case IMX_MSG_RATINGS_LIST: put_ratings(w, r->ratings, r->ratings_n); break;
  case IMX_MSG_PERIOD_SUMMARY:
    kv_str(w, "period", r->period);
    kv_bool(w, "open", r->is_open);
    put_sums(w, r->sums, r->sums_n, 1);
    if (r->sums_omitted) kv_uint(w, "services_omitted", r->sums_omitted);
    put_cc_sums(w, r->cc_sums, r->cc_sums_n, r->is_open);
    if (r->next[0]) kv_str(w, "next", r->next);
    break;
  case IMX_MSG_TYPES: assert(0 && "not a reply type"); break;
  }
}

static void put_error(writer *w, const char *id, const char *code,
                      const char *field, const char *message,
                      const char *reason) {
  IMX_ASSERT(code != NULL);
  IMX_ASSERT(id == NULL || strlen(id) <= IMX_NAME_BYTES_MAX);
  IMX_ASSERT(strlen(code) < sizeof ((imx_reply *)0)->code); /* decodable */
  put_raw(w, "{\"v\":1,\"type\":\"error\",\"id\":");
  put_str(w, id ? id : "");
  kv_str(w, "code", code);
  kv_str(w, "field", field ? field : "");
  kv_str(w, "message", message ? message : "");
  if (reason && reason[0]) kv_str(w, "reason", reason);
  put(w, "}", 1);
}

size_t imx_error_encode(const char *id, const char *code, const char *field,
                        const char *message, char *buf, size_t cap) {
  IMX_ASSERT(buf != NULL || cap == 0);
  writer w = {buf, cap, 0, 0};
  put_error(&w, id, code, field, message, NULL);
  return finish(&w);
}

size_t imx_reply_encode(const imx_reply *r, char *buf, size_t cap) {
  assert(r != NULL && (buf != NULL || cap == 0));
  if (r->error) {
    writer w = {buf, cap, 0, 0};
    put_error(&w, r->id, r->code, r->field, r->message, r->reason);
    return finish(&w);
  }
  const char *name = imx_msg_type_name(r->type);
  assert(name != NULL);
  writer w = {buf, cap, 0, 0};
  put_raw(&w, "{\"v\":1,\"type\":\"");
  put_raw(&w, name);
  put_raw(&w, ".ok\",\"id\":");
  put_str(&w, r->id);
  put_reply_fields(&w, r);
  put(&w, "}", 1);
  return finish(&w);
}

/* ------------------------------------------------------ replies: decode */

static int missing(imx_proto_error *err, const char *field) {
  return imx_proto_fail(err, "bad_field", field, "missing");
}

enum { TEXT_OPTIONAL = 1, TEXT_CUT = 2 };

/* A string of 0..cap-1 bytes (replies echo whatever the daemon had, so an
** empty one is fine); with TEXT_CUT a longer one is cut, at a UTF-8 boundary,
** instead of refused: error fields and messages are only shown. */
static int text(const cJSON *obj, const char *field, char *dst, size_t cap,
                unsigned flags, imx_proto_error *err) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (it == NULL) return (flags & TEXT_OPTIONAL) ? 1 : missing(err, field);
  if (!cJSON_IsString(it))
    return imx_proto_fail(err, "bad_field", field, "must be a string");
  size_t n = strlen(it->valuestring);
  if (n >= cap) {
    if (!(flags & TEXT_CUT))
      return imx_proto_fail(err, "bad_field", field, "is too long");
    n = cap - 1;
    while (n > 0 && ((unsigned char)it->valuestring[n] & 0xc0) == 0x80) n--;
  }
  memcpy(dst, it->valuestring, n);
  dst[n] = '\0';
  return 0;
}

static int num(const cJSON *obj, const char *field, int64_t min, int64_t max,
               int64_t *dst, imx_proto_error *err) {
  int rc = imx_json_int(obj, field, min, max, dst, err);
  return rc > 0 ? missing(err, field) : rc;
}

static int unum(const cJSON *obj, const char *field, uint64_t *dst,
                imx_proto_error *err) {
  int64_t v = 0;
  if (num(obj, field, 0, IMX_ID_MAX, &v, err)) return -1;
  *dst = (uint64_t)v;
  return 0;
}

/* unum for a field that may be absent (then *dst stays 0). */
static int opt_unum(const cJSON *obj, const char *field, uint64_t *dst,
                    imx_proto_error *err) {
  if (cJSON_GetObjectItemCaseSensitive(obj, field) == NULL) return 0;
  return unum(obj, field, dst, err);
}

static int qty(const cJSON *obj, const char *field, int64_t *dst,
               imx_proto_error *err) {
  return num(obj, field, 0, IMX_ID_MAX, dst, err);
}

static int money(const cJSON *obj, const char *field, int64_t *dst,
                 imx_proto_error *err) {
  return num(obj, field, -IMX_ID_MAX, IMX_ID_MAX, dst, err);
}

/* A price or null (0). */
static int price_or_null(const cJSON *obj, const char *field, int64_t *dst,
                         imx_proto_error *err) {
  if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(obj, field))) {
    *dst = 0;
    return 0;
  }
  return num(obj, field, 1, IMX_ID_MAX, dst, err);
}

static int word(const cJSON *obj, const char *field, const char *const *words,
                int *dst, imx_proto_error *err) {
  int rc = imx_json_word(obj, field, words, dst, err);
  return rc > 0 ? missing(err, field) : rc;
}

static int get_bool(const cJSON *obj, const char *field, int *dst,
                    imx_proto_error *err) {
  int rc = imx_json_bool(obj, field, dst, err);
  return rc > 0 ? missing(err, field) : rc;
}

static int row_object(const cJSON *row, const char *const *keys,
                      imx_proto_error *err) {
  if (!cJSON_IsObject(row))
    return imx_proto_fail(err, "bad_field", "", "must be an object");
  return imx_json_check_keys(row, keys, err);
}

static int decode_trade(const cJSON *o, imx_reply_trade *t, imx_proto_error *err) {
  static const char *const keys[] = {"trade", "service", "buyer", "seller",
                                     "qty", "price", "time_ms", "buy_order",
                                     "sell_order", NULL};
  if (row_object(o, keys, err) || unum(o, "trade", &t->trade, err) ||
      text(o, "service", t->service, sizeof t->service, 0, err) ||
      text(o, "buyer", t->buyer, sizeof t->buyer, 0, err) ||
      text(o, "seller", t->seller, sizeof t->seller, 0, err) ||
      qty(o, "qty", &t->qty, err) || qty(o, "price", &t->price_minor, err) ||
      qty(o, "time_ms", &t->time_ms, err) ||
      unum(o, "buy_order", &t->buy_order, err) ||
      unum(o, "sell_order", &t->sell_order, err))
    return -1;
  return 0;
}

static int decode_order(const cJSON *o, imx_reply_order *r, imx_proto_error *err) {
  static const char *const keys[] = {"order", "service", "side", "tif", "aon",
                                     "price", "qty", "qty_open", "qty_filled",
                                     "min_stars", "allow_unrated", NULL};
  static const char *const sides[] = {"bid", "offer", NULL};
  if (row_object(o, keys, err) || unum(o, "order", &r->order, err) ||
      text(o, "service", r->service, sizeof r->service, 0, err) ||
      word(o, "side", sides, &r->side, err) ||
      word(o, "tif", tif_words, &r->tif, err) ||
      get_bool(o, "aon", &r->aon, err) ||
      price_or_null(o, "price", &r->price_minor, err) ||
      qty(o, "qty", &r->qty, err) || qty(o, "qty_open", &r->qty_open, err) ||
      qty(o, "qty_filled", &r->qty_filled, err))
    return -1;
  /* Both only on a bid with min_stars (absent: 0, false). */
  int64_t stars = 0;
  if (cJSON_GetObjectItemCaseSensitive(o, "min_stars") != NULL &&
      num(o, "min_stars", IMX_STARS_MIN, IMX_STARS_MAX, &stars, err))
    return -1;
  r->min_stars = (int)stars;
  r->allow_unrated = 0;
  if (cJSON_GetObjectItemCaseSensitive(o, "allow_unrated") != NULL &&
      get_bool(o, "allow_unrated", &r->allow_unrated, err))
    return -1;
  return 0;
}

static int decode_level(const cJSON *o, imx_reply_level *l, imx_proto_error *err) {
  static const char *const keys[] = {"price", "qty", "orders", NULL};
  int64_t orders = 0;
  if (row_object(o, keys, err) || qty(o, "price", &l->price_minor, err) ||
      qty(o, "qty", &l->qty, err) ||
      num(o, "orders", 0, UINT32_MAX, &orders, err))
    return -1;
  l->orders = (uint32_t)orders;
  return 0;
}

/* A `score` tender's weights, given exactly when decide is score. */
static int decode_weights(const cJSON *o, int decide, uint32_t *price_weight,
                          uint32_t *quality_weight, imx_proto_error *err) {
  int score = decide == IMX_PDECIDE_SCORE;
  if (!score) {
    if (cJSON_GetObjectItemCaseSensitive(o, "price_weight") != NULL ||
        cJSON_GetObjectItemCaseSensitive(o, "quality_weight") != NULL)
      return imx_proto_fail(err, "bad_field", "price_weight",
                            "given only when decide is score");
    return 0;
  }
  int64_t p = 0, q = 0;
  if (num(o, "price_weight", 0, IMX_WEIGHT_MAX, &p, err) ||
      num(o, "quality_weight", 0, IMX_WEIGHT_MAX, &q, err))
    return -1;
  if (p + q != IMX_WEIGHT_MAX)
    return imx_proto_fail(err, "bad_field", "price_weight", "the weights must sum to 100");
  *price_weight = (uint32_t)p, *quality_weight = (uint32_t)q;
  return 0;
}

/* An optional score (0..IMX_SCORE_SHOWN_MAX): 1 when given. */
static int decode_score(const cJSON *o, int *has, int64_t *score, imx_proto_error *err) {
  *has = cJSON_GetObjectItemCaseSensitive(o, "score") != NULL;
  return *has ? num(o, "score", 0, IMX_SCORE_SHOWN_MAX, score, err) : 0;
}

/* The fields of a tender (a row, or tender.get's head): keys checked by the
** caller. */
static int decode_tender_fields(const cJSON *o, imx_reply_tender *t,
                                imx_proto_error *err) {
  int64_t n = 0;
  if (unum(o, "tender", &t->tender, err) ||
      text(o, "service", t->service, sizeof t->service, 0, err) ||
      text(o, "buyer", t->buyer, sizeof t->buyer, 0, err) ||
      qty(o, "qty", &t->qty, err) || qty(o, "ceiling", &t->ceiling_minor, err) ||
      qty(o, "deadline_time_ms", &t->deadline_time_ms, err) ||
      word(o, "decide", decide_words, &t->decide, err) ||
      num(o, "quote_count", 0, UINT32_MAX, &n, err) ||
      opt_unum(o, "my_quote", &t->my_quote, err))
    return -1;
  t->quotes = (uint32_t)n;
  if (decode_weights(o, t->decide, &t->price_weight, &t->quality_weight, err))
    return -1;
  int has_price = cJSON_GetObjectItemCaseSensitive(o, "my_price") != NULL;
  if (has_price != (t->my_quote != 0))
    return imx_proto_fail(err, "bad_field", "my_price",
                          "given exactly when my_quote is");
  return has_price ? qty(o, "my_price", &t->my_price_minor, err) : 0;
}

#define TENDER_KEYS "tender", "service", "buyer", "qty", "ceiling", \
                    "deadline_time_ms", "decide", "price_weight", \
                    "quality_weight", "quote_count", "my_quote", "my_price"

static int decode_tender(const cJSON *o, imx_reply_tender *t,
                         imx_proto_error *err) {
  static const char *const keys[] = {TENDER_KEYS, NULL};
  return row_object(o, keys, err) || decode_tender_fields(o, t, err) ? -1 : 0;
}

#define REP_KEYS "ratings", "stars_sum", "ratings_90d", "stars_sum_90d"

static int decode_rep(const cJSON *o, imx_reply_reputation *r, imx_proto_error *err) {
  return qty(o, "ratings", &r->ratings, err) || qty(o, "stars_sum", &r->stars_sum, err) ||
                 qty(o, "ratings_90d", &r->ratings_recent, err) ||
                 qty(o, "stars_sum_90d", &r->stars_sum_recent, err)
             ? -1 : 0;
}

static int decode_rep_row(const cJSON *o, imx_reply_reputation *r, imx_proto_error *err) {
  static const char *const keys[] = {"service", REP_KEYS, NULL};
  return row_object(o, keys, err) ||
                 text(o, "service", r->service, sizeof r->service, 0, err) ||
                 decode_rep(o, r, err)
             ? -1 : 0;
}

static int decode_rating(const cJSON *o, imx_reply_rating *r, imx_proto_error *err) {
  static const char *const keys[] = {"trade", "service", "provider", "rater", "stars",
                                     "comment", "time_ms", "reply", "reply_ms", NULL};
  int64_t stars = 0;
  if (row_object(o, keys, err) || unum(o, "trade", &r->trade, err) ||
      text(o, "service", r->service, sizeof r->service, 0, err) ||
      text(o, "provider", r->provider, sizeof r->provider, 0, err) ||
      text(o, "rater", r->rater, sizeof r->rater, 0, err) ||
      num(o, "stars", IMX_RATING_STARS_MIN, IMX_RATING_STARS_MAX, &stars, err) ||
      text(o, "comment", r->comment, sizeof r->comment, 0, err) ||
      qty(o, "time_ms", &r->time_ms, err) ||
      text(o, "reply", r->reply, sizeof r->reply, TEXT_OPTIONAL, err) < 0)
    return -1;
  r->stars = (int)stars;
  if (cJSON_GetObjectItemCaseSensitive(o, "reply_ms") != NULL &&
      qty(o, "reply_ms", &r->reply_ms, err))
    return -1;
  if ((r->reply_ms != 0) != (cJSON_GetObjectItemCaseSensitive(o, "reply") != NULL))
    return imx_proto_fail(err, "bad_field", "reply_ms", "given exactly when reply is");
  return 0;
}

static int decode_quote(const cJSON *o, imx_reply_quote *q, imx_proto_error *err) {
  static const char *const keys[] = {"quote", "provider", "name", "site",
                                     "price", "score", REP_KEYS, NULL};
  if (row_object(o, keys, err) || unum(o, "quote", &q->quote, err) ||
      text(o, "provider", q->provider, sizeof q->provider, 0, err) ||
      text(o, "name", q->name, sizeof q->name, 0, err) ||
      text(o, "site", q->site, sizeof q->site, 0, err) ||
      qty(o, "price", &q->price_minor, err) ||
      decode_score(o, &q->has_score, &q->score, err) || decode_rep(o, &q->rep, err))
    return -1;
  return 0;
}

static int decode_capacity(const cJSON *o, imx_reply_capacity *c,
                           imx_proto_error *err) {
  static const char *const keys[] = {"service", "capacity", "reserved", "sold",
                                     "available", NULL};
  if (row_object(o, keys, err) ||
      text(o, "service", c->service, sizeof c->service, 0, err) ||
      money(o, "capacity", &c->capacity, err) ||
      money(o, "reserved", &c->reserved, err) ||
      money(o, "sold", &c->sold, err) ||
      money(o, "available", &c->available, err))
    return -1;
  return 0;
}

static int decode_offer(const cJSON *o, imx_reply_offer *r, imx_proto_error *err) {
  static const char *const keys[] = {"price", "qty", "aon", "cc", "name",
                                     "site", "order", REP_KEYS, NULL};
  if (row_object(o, keys, err) || price_or_null(o, "price", &r->price_minor, err) ||
      qty(o, "qty", &r->qty, err) || get_bool(o, "aon", &r->aon, err) ||
      text(o, "cc", r->cc, sizeof r->cc, 0, err) ||
      text(o, "name", r->name, sizeof r->name, 0, err) ||
      text(o, "site", r->site, sizeof r->site, 0, err) ||
      opt_unum(o, "order", &r->order, err) || decode_rep(o, &r->rep, err))
    return -1;
  return 0;
}

/* "translations" of a services.list row: what put_texts writes. */
static int decode_texts(const cJSON *o, imx_reply_service *r, imx_proto_error *err) {
  static const char *const keys[] = {"name", "description", "unit", NULL};
  const cJSON *tr = cJSON_GetObjectItemCaseSensitive(o, "translations");
  if (tr == NULL) return 0;
  if (!cJSON_IsObject(tr))
    return imx_proto_fail(err, "bad_field", "translations", "must be an object");
  for (const cJSON *it = tr->child; it; it = it->next) {
    if (r->texts_n == IMX_TRANSLATIONS_MAX)
      return imx_proto_fail(err, "bad_field", "translations", "too many languages");
    imx_service_text *t = &r->texts[r->texts_n];
    const char *lang = it->string;
    /* as the market file has them: a language with no text would encode
    ** as {"de"}, which is no JSON (imx --json prints what it decoded) */
    if (!imx_lang_code_ok(lang) || !cJSON_IsObject(it) || imx_json_check_keys(it, keys, err) ||
        text(it, "name", t->name, sizeof t->name, TEXT_OPTIONAL, err) < 0 ||
        text(it, "description", t->description, sizeof t->description, TEXT_OPTIONAL,
             err) < 0 ||
        text(it, "unit", t->unit, sizeof t->unit, TEXT_OPTIONAL, err) < 0 ||
        (t->name[0] == '\0' && t->description[0] == '\0' && t->unit[0] == '\0'))
      return imx_proto_fail(err, "bad_field", "translations",
                            "must map language codes to name, description and unit");
    memcpy(t->lang, it->string, 3);
    r->texts_n++;
  }
  return 0;
}

static int decode_service(const cJSON *o, imx_reply_service *r,
                          imx_proto_error *err) {
  static const char *const keys[] = {
      "service", "name", "description", "unit", "currency", "mode",
      "divisible", "tick", "lot", "price_cap", "providers", "bid", "bid_qty",
      "offer", "offer_qty", "last_price", "last_qty", "last_time_ms", REP_KEYS,
      "translations", NULL};
  int64_t providers = 0;
  if (row_object(o, keys, err) ||
      text(o, "service", r->service, sizeof r->service, 0, err) ||
      text(o, "name", r->name, sizeof r->name, 0, err) ||
      text(o, "description", r->description, sizeof r->description, 0, err) ||
      text(o, "unit", r->unit, sizeof r->unit, 0, err) ||
      text(o, "currency", r->currency, sizeof r->currency, 0, err) ||
      word(o, "mode", mode_words, &r->auction, err) ||
      get_bool(o, "divisible", &r->divisible, err) ||
      qty(o, "tick", &r->tick_minor, err) || qty(o, "lot", &r->lot, err) ||
      price_or_null(o, "price_cap", &r->price_cap_minor, err) ||
      num(o, "providers", 0, UINT32_MAX, &providers, err) ||
      price_or_null(o, "bid", &r->bid_minor, err) ||
      qty(o, "bid_qty", &r->bid_qty, err) ||
      price_or_null(o, "offer", &r->offer_minor, err) ||
      qty(o, "offer_qty", &r->offer_qty, err) ||
      price_or_null(o, "last_price", &r->last_price_minor, err) ||
      qty(o, "last_qty", &r->last_qty, err) ||
      price_or_null(o, "last_time_ms", &r->last_time_ms, err) ||
      decode_rep(o, &r->rep, err) || decode_texts(o, r, err))
    return -1;
  r->providers = (uint32_t)providers;
  return 0;
}

/* A list of ids ("services" of a cost centre) into one allocated block:
** the pointers, then the strings. */
static int decode_id_list(const cJSON *obj, const char *field,
                          const char ***out, uint32_t *n_out,
                          imx_proto_error *err) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (arr == NULL) return missing(err, field);
  if (!cJSON_IsArray(arr))
    return imx_proto_fail(err, "bad_field", field, "must be a list");
  size_t n = 0, bytes = 0;
  for (const cJSON *it = arr->child; it; it = it->next, n++) {
    if (!cJSON_IsString(it) || strlen(it->valuestring) > IMX_NAME_BYTES_MAX)
      return imx_proto_fail(err, "bad_field", field,
                            "must be a list of ids (at most 64 bytes each)");
    bytes += strlen(it->valuestring) + 1;
  }
  if (n > IMX_SERVICES_MAX)
    return imx_proto_fail(err, "bad_field", field, "has too many rows");
  *out = NULL;
  *n_out = 0;
  if (n == 0) return 0;
  const char **block = malloc(n * sizeof *block + bytes);
  if (block == NULL) return imx_proto_fail(err, "internal", field, "out of memory");
  char *text_at = (char *)(block + n);
  size_t i = 0;
  for (const cJSON *it = arr->child; it; it = it->next, i++) {
    size_t len = strlen(it->valuestring) + 1;
    memcpy(text_at, it->valuestring, len);
    block[i] = text_at;
    text_at += len;
  }
  *out = block;
  *n_out = (uint32_t)n;
  return 0;
}

static int decode_roles(const cJSON *doc, unsigned *roles, imx_proto_error *err);

/* cc.get's optional "reputation": one row per service provided. */
static int decode_reputation(const cJSON *o, imx_reply_cc *r, imx_proto_error *err) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "reputation");
  if (arr == NULL) return 0;
  if (!cJSON_IsArray(arr))
    return imx_proto_fail(err, "bad_field", "reputation", "must be a list");
  int size = cJSON_GetArraySize(arr);
  if (size > (int)IMX_SERVICES_MAX)
    return imx_proto_fail(err, "bad_field", "reputation", "has too many rows");
  if (size == 0) return 0;
  r->reputation = calloc((size_t)size, sizeof *r->reputation);
  if (r->reputation == NULL)
    return imx_proto_fail(err, "internal", "reputation", "out of memory");
  uint32_t i = 0;
  for (const cJSON *row = arr->child; row; row = row->next, i++)
    if (decode_rep_row(row, &r->reputation[i], err)) {
      free(r->reputation);
      r->reputation = NULL;
      return imx_proto_at(err, "reputation[%" PRIu32 "].", i);
    }
  r->reputation_n = i;
  return 0;
}

/* A cost centre's fields (cc.list's row, or cc.get.ok itself); the
** services last, so that a row that fails has allocated nothing. */
static int decode_cc_fields(const cJSON *o, imx_reply_cc *r, imx_proto_error *err) {
  const cJSON *budget = cJSON_GetObjectItemCaseSensitive(o, "budget");
  if (text(o, "cc", r->cc, sizeof r->cc, 0, err) ||
      text(o, "name", r->name, sizeof r->name, 0, err) ||
      text(o, "site", r->site, sizeof r->site, 0, err) ||
      decode_roles(o, &r->roles, err) ||
      (budget && money(o, "budget", &r->budget_minor, err)))
    return -1;
  r->has_budget = budget != NULL;
  if (decode_reputation(o, r, err)) return -1;
  if (decode_id_list(o, "services", &r->services, &r->services_n, err) == 0) return 0;
  free(r->reputation);
  r->reputation = NULL, r->reputation_n = 0;
  return -1;
}

static int decode_cc_row(const cJSON *o, imx_reply_cc *r, imx_proto_error *err) {
  static const char *const keys[] = {"cc", "name", "site", "roles", "services",
                                     "budget", "reputation", NULL};
  if (row_object(o, keys, err)) return -1;
  return decode_cc_fields(o, r, err);
}

/* A list field: checked and allocated (NULL when empty); rows decoded by
** the caller's function, whose errors get the row's path. */
#define DECODE_LIST(obj, name, rows, n, decode_row, err)                      \
  do {                                                                       \
    const cJSON *arr_ = cJSON_GetObjectItemCaseSensitive((obj), (name));     \
    if (arr_ == NULL) return missing((err), (name));                         \
    if (!cJSON_IsArray(arr_))                                                \
      return imx_proto_fail((err), "bad_field", (name), "must be a list");   \
    int size_ = cJSON_GetArraySize(arr_);                                    \
    if (size_ > IMX_LIST_MAX)                                                \
      return imx_proto_fail((err), "bad_field", (name),                      \
                            "has more than 1000 rows");                      \
    if (size_ > 0 && ((rows) = calloc((size_t)size_, sizeof *(rows))) == NULL) \
      return imx_proto_fail((err), "internal", (name), "out of memory");     \
    for (const cJSON *row_ = arr_->child; row_; row_ = row_->next) {         \
      assert((n) < (uint32_t)size_);                                         \
      if (decode_row(row_, &(rows)[(n)], (err))) return imx_proto_at((err), "%s[%" PRIu32 "].", (name), (uint32_t)(n)); \
      (n)++;                                                                 \
    }                                                                        \
  } while (0)

static int decode_fill(const cJSON *o, imx_reply_fill *f, imx_proto_error *err) {
  static const char *const keys[] = {"trade", "qty", "price", "time_ms",
                                     "counterparty", NULL};
  if (row_object(o, keys, err) || unum(o, "trade", &f->trade, err) ||
      qty(o, "qty", &f->qty, err) || qty(o, "price", &f->price_minor, err) ||
      qty(o, "time_ms", &f->time_ms, err) ||
      text(o, "counterparty", f->counterparty, sizeof f->counterparty, 0, err))
    return -1;
  return 0;
}

static int decode_fills(const cJSON *o, imx_reply_closed *r, imx_proto_error *err) {
  DECODE_LIST(o, "fills", r->fills, r->fills_n, decode_fill, err);
  return 0;
}

static int decode_closed(const cJSON *o, imx_reply_closed *r, imx_proto_error *err) {
  static const char *const keys[] = {"order", "service", "side", "tif", "aon",
                                     "price", "qty", "qty_filled", "status",
                                     "reason", "period", "closed_ms", "fills",
                                     "fills_omitted", NULL};
  static const char *const sides[] = {"bid", "offer", NULL};
  int status = 0;
  if (row_object(o, keys, err) || unum(o, "order", &r->order, err) ||
      text(o, "service", r->service, sizeof r->service, 0, err) ||
      word(o, "side", sides, &r->side, err) ||
      word(o, "tif", tif_words, &r->tif, err) ||
      get_bool(o, "aon", &r->aon, err) ||
      price_or_null(o, "price", &r->price_minor, err) ||
      qty(o, "qty", &r->qty, err) || qty(o, "qty_filled", &r->qty_filled, err) ||
      word(o, "status", closed_words, &status, err) ||
      text(o, "reason", r->reason, sizeof r->reason, TEXT_OPTIONAL, err) < 0 ||
      text(o, "period", r->period, sizeof r->period, 0, err) ||
      qty(o, "closed_ms", &r->closed_ms, err) ||
      decode_fills(o, r, err) || opt_unum(o, "fills_omitted", &r->fills_omitted, err))
    return -1;
  r->status = status + IMX_PSTATUS_FILLED;
  return 0;
}

/* Like DECODE_LIST, but every row counts from the start (closed_n is the
** whole list): a row that failed half way may hold fills to free. */
static int decode_closed_list(const cJSON *doc, imx_reply *r, imx_proto_error *err) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "orders");
  if (arr == NULL) return missing(err, "orders");
  if (!cJSON_IsArray(arr)) return imx_proto_fail(err, "bad_field", "orders", "must be a list");
  int size = cJSON_GetArraySize(arr);
  if (size > IMX_LIST_MAX)
    return imx_proto_fail(err, "bad_field", "orders", "has more than 1000 rows");
  if (size > 0 && (r->closed = calloc((size_t)size, sizeof *r->closed)) == NULL)
    return imx_proto_fail(err, "internal", "orders", "out of memory");
  r->closed_n = (uint32_t)size;
  uint32_t i = 0;
  for (const cJSON *row = arr->child; row; row = row->next, i++)
    if (decode_closed(row, &r->closed[i], err))
      return imx_proto_at(err, "orders[%" PRIu32 "].", i);
  return 0;
}

static int decode_sum(const cJSON *o, imx_reply_sum *s, imx_proto_error *err) {
  static const char *const keys[] = {"service", "trades", "bought", "spent", "sold",
                                     "earned", NULL};
  if (row_object(o, keys, err) ||
      text(o, "service", s->service, sizeof s->service, 0, err) ||
      qty(o, "trades", &s->trades, err) || qty(o, "bought", &s->bought, err) ||
      money(o, "spent", &s->spent, err) || qty(o, "sold", &s->sold, err) ||
      money(o, "earned", &s->earned, err))
    return -1;
  return 0;
}

/* period.close's row: units and amount, which are bought = sold and
** spent = earned in the struct. */
static int decode_market_sum(const cJSON *o, imx_reply_sum *s, imx_proto_error *err) {
  static const char *const keys[] = {"service", "trades", "units", "amount", NULL};
  if (row_object(o, keys, err) ||
      text(o, "service", s->service, sizeof s->service, 0, err) ||
      qty(o, "trades", &s->trades, err) || qty(o, "units", &s->bought, err) ||
      money(o, "amount", &s->spent, err))
    return -1;
  s->sold = s->bought;
  s->earned = s->spent;
  return 0;
}

typedef char cc_id_row[IMX_NAME_BYTES_MAX + 1];

static int decode_cc_id(const cJSON *o, cc_id_row *row, imx_proto_error *err) {
  if (!cJSON_IsString(o) || strlen(o->valuestring) > IMX_NAME_BYTES_MAX ||
      o->valuestring[0] == '\0')
    return imx_proto_fail(err, "bad_field", "", "must be a cost centre id");
  memcpy(*row, o->valuestring, strlen(o->valuestring) + 1);
  return 0;
}

static int decode_period_close(const cJSON *doc, imx_reply *r, imx_proto_error *err) {
  if (qty(doc, "expired", &r->expired, err) ||
      text(doc, "period", r->period, sizeof r->period, 0, err) ||
      text(doc, "opened", r->opened, sizeof r->opened, 0, err))
    return -1;
  DECODE_LIST(doc, "services", r->sums, r->sums_n, decode_market_sum, err);
  DECODE_LIST(doc, "over_budget", r->over_budget, r->over_budget_n, decode_cc_id, err);
  return opt_unum(doc, "services_omitted", &r->sums_omitted, err) ||
         opt_unum(doc, "over_budget_omitted", &r->over_budget_omitted, err);
}

static int decode_statement(const cJSON *doc, imx_reply *r, imx_proto_error *err) {
  if (text(doc, "cc", r->cc, sizeof r->cc, 0, err) ||
      text(doc, "period", r->period, sizeof r->period, 0, err) ||
      get_bool(doc, "closed", &r->is_closed, err))
    return -1;
  if (r->is_closed && qty(doc, "closed_ms", &r->closed_ms, err)) return -1;
  if (!r->is_closed && cJSON_GetObjectItemCaseSensitive(doc, "closed_ms"))
    return imx_proto_fail(err, "bad_field", "closed_ms", "only for a closed period");
  if (money(doc, "budget", &r->budget, err)) return -1;
  DECODE_LIST(doc, "services", r->sums, r->sums_n, decode_sum, err);
  DECODE_LIST(doc, "trades", r->trades, r->trades_n, decode_trade, err);
  return opt_unum(doc, "trades_omitted", &r->trades_omitted, err) ||
         opt_unum(doc, "services_omitted", &r->sums_omitted, err);
}

/* period.summary's row of the open period has reserved and available,
** one of a closed period has neither: open_ says which (a decode
** function's arguments are the row's). */
static int decode_cc_sum_row(const cJSON *o, imx_reply_cc_sum *c, int open,
                             imx_proto_error *err) {
  static const char *const keys[2][7] = {
      {"cc", "budget", "spent", "earned", NULL},
      {"cc", "budget", "spent", "earned", "reserved", "available", NULL}};
  if (row_object(o, keys[open != 0], err) ||
      text(o, "cc", c->cc, sizeof c->cc, 0, err) || money(o, "budget", &c->budget, err) ||
      money(o, "spent", &c->spent, err) || money(o, "earned", &c->earned, err))
    return -1;
  if (c->cc[0] == '\0') return imx_proto_fail(err, "bad_field", "cc", "must be a cost centre id");
  if (!open) return 0;
  return money(o, "reserved", &c->reserved, err) || money(o, "available", &c->available, err);
}
static int decode_cc_sum_open(const cJSON *o, imx_reply_cc_sum *c, imx_proto_error *err) {
  return decode_cc_sum_row(o, c, 1, err);
}
static int decode_cc_sum_closed(const cJSON *o, imx_reply_cc_sum *c, imx_proto_error *err) {
  return decode_cc_sum_row(o, c, 0, err);
}

static int decode_period_summary(const cJSON *doc, imx_reply *r, imx_proto_error *err) {
  if (text(doc, "period", r->period, sizeof r->period, 0, err) ||
      get_bool(doc, "open", &r->is_open, err))
    return -1;
  if (r->period[0] == '\0') return imx_proto_fail(err, "bad_field", "period", "is empty");
  DECODE_LIST(doc, "services", r->sums, r->sums_n, decode_market_sum, err);
  if (r->is_open)
    DECODE_LIST(doc, "ccs", r->cc_sums, r->cc_sums_n, decode_cc_sum_open, err);
  else
    DECODE_LIST(doc, "ccs", r->cc_sums, r->cc_sums_n, decode_cc_sum_closed, err);
  return opt_unum(doc, "services_omitted", &r->sums_omitted, err) ||
         text(doc, "next", r->next, sizeof r->next, TEXT_OPTIONAL, err) < 0;
}

static int decode_trades(const cJSON *doc, imx_reply *r, imx_proto_error *err) {
  DECODE_LIST(doc, "trades", r->trades, r->trades_n, decode_trade, err);
  return 0;
}

static int decode_orders(const cJSON *doc, imx_reply *r, imx_proto_error *err) {
  DECODE_LIST(doc, "orders", r->orders, r->orders_n, decode_order, err);
  return 0;
}

static int decode_levels(const cJSON *doc, imx_reply *r, imx_proto_error *err) {
  DECODE_LIST(doc, "bids", r->bids, r->bids_n, decode_level, err);
  DECODE_LIST(doc, "offers", r->offers, r->offers_n, decode_level, err);
  return 0;
}

static int decode_book(const cJSON *doc, imx_reply *r, imx_proto_error *err) {
  if (decode_levels(doc, r, err)) return -1;
  DECODE_LIST(doc, "offer_orders", r->offer_orders, r->offer_orders_n,
              decode_offer, err);
  return 0;
}

static int decode_services(const cJSON *doc, imx_reply *r, imx_proto_error *err) {
  DECODE_LIST(doc, "services", r->services, r->services_n, decode_service, err);
  return text(doc, "next", r->next, sizeof r->next, TEXT_OPTIONAL, err) < 0 ? -1 : 0;
}

static int decode_ccs(const cJSON *doc, imx_reply *r, imx_proto_error *err) {
  DECODE_LIST(doc, "ccs", r->ccs, r->ccs_n, decode_cc_row, err);
  return text(doc, "next", r->next, sizeof r->next, TEXT_OPTIONAL, err) < 0 ? -1 : 0;
}

static int decode_cc_get(const cJSON *doc, imx_reply *r, imx_proto_error *err) {
  r->ccs = calloc(1, sizeof *r->ccs);
  if (r->ccs == NULL) return imx_proto_fail(err, "internal", "cc", "out of memory");
  if (decode_cc_fields(doc, r->ccs, err)) return -1;
  r->ccs_n = 1;
  return 0;
}

static int decode_capacities(const cJSON *doc, imx_reply *r,
                             imx_proto_error *err) {
  DECODE_LIST(doc, "capacities", r->capacities, r->capacities_n,
              decode_capacity, err);
  return 0;
}

static int decode_tenders(const cJSON *doc, imx_reply *r, imx_proto_error *err) {
  DECODE_LIST(doc, "tenders", r->tenders, r->tenders_n, decode_tender, err);
  return 0;
}

static int decode_quotes(const cJSON *doc, imx_reply *r, imx_proto_error *err) {
  DECODE_LIST(doc, "quotes", r->quotes, r->quotes_n, decode_quote, err);
  return 0;
}

/* tender.get's status, and the fields of an end: each given exactly when
** the status has it. */
static int decode_tender_end(const cJSON *doc, imx_reply_tender *t,
                             imx_proto_error *err) {
  if (word(doc, "status", tender_status_words, &t->status, err)) return -1;
  int ended = t->status != IMX_PTENDER_OPEN, awarded = t->status == IMX_PTENDER_AWARDED,
      lapsed = t->status == IMX_PTENDER_LAPSED;
  static const struct {
    const char *key;
    int want;
  } *k, given[] = {{"ended_time_ms", 1}, {"quote", 2}, {"trade", 2}, {"why", 3}};
  for (k = given; k < given + 4; k++) {
    int want = k->want == 1 ? ended : k->want == 2 ? awarded : lapsed;
    if ((cJSON_GetObjectItemCaseSensitive(doc, k->key) != NULL) != want)
      return imx_proto_fail(err, "bad_field", k->key,
                            k->want == 1 ? "given exactly when the tender ended"
                            : k->want == 2 ? "given exactly when the tender was awarded"
                                           : "given exactly when the tender lapsed");
  }
  if (ended && qty(doc, "ended_time_ms", &t->ended_time_ms, err)) return -1;
  if (awarded && (num(doc, "quote", 1, IMX_ID_MAX, (int64_t *)&t->award_quote, err) ||
                  num(doc, "trade", 1, IMX_ID_MAX, (int64_t *)&t->award_trade, err)))
    return -1;
  return lapsed ? word(doc, "why", lapsed_words, &t->why, err) : 0;
}

/* tender.get: the tender's fields at the top, its quotes. */
static int decode_tender_get(const cJSON *doc, imx_reply *r,
                             imx_proto_error *err) {
  r->tenders = calloc(1, sizeof *r->tenders);
  if (r->tenders == NULL) return imx_proto_fail(err, "internal", "", "out of memory");
  r->tenders_n = 1;
  return decode_tender_fields(doc, r->tenders, err) ||
                 text(doc, "buyer_name", r->buyer_name, sizeof r->buyer_name, 0, err) ||
                 text(doc, "buyer_site", r->buyer_site, sizeof r->buyer_site, 0, err) ||
                 decode_tender_end(doc, r->tenders, err) || decode_quotes(doc, r, err)
             ? -1 : 0;
}

static int decode_roles(const cJSON *doc, unsigned *roles, imx_proto_error *err) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, "roles");
  if (arr == NULL) return missing(err, "roles");
  if (!cJSON_IsArray(arr))
    return imx_proto_fail(err, "bad_field", "roles", "must be a list");
  *roles = 0;
  for (const cJSON *it = arr->child; it; it = it->next) {
    int k = -1;
    for (int i = 0; role_words[i] && cJSON_IsString(it); i++)
      if (strcmp(role_words[i], it->valuestring) == 0) k = i;
    if (k < 0 || (*roles & (1u << k)))
      return imx_proto_fail(err, "bad_field", "roles",
                            "each must be provider, receiver, finance or "
                            "admin, and given once");
    *roles |= 1u << k;
  }
  return 0;
}

#define K3 "v", "type", "id"
static const char *const reply_keys[IMX_MSG_TYPES][24] = {
    [IMX_MSG_HELLO] = {K3, "cc", "roles", "currency", "decimals", NULL},
    [IMX_MSG_ORDER_NEW] = {K3, "order", "status", "qty_open", "qty_filled",
                           "reason", "trades", "trades_omitted", NULL},
    [IMX_MSG_ORDER_CANCEL] = {K3, "order", "qty", NULL},
    [IMX_MSG_ORDER_LIST] = {K3, "orders", NULL},
    [IMX_MSG_BOOK_GET] = {K3, "service", "bids", "offers", "offer_orders", NULL},
    [IMX_MSG_TRADES_LIST] = {K3, "trades", NULL},
    [IMX_MSG_BALANCE_GET] = {K3, "cc", "budget", "reserved", "spent", "earned",
                             "available", "capacities", NULL},
    [IMX_MSG_TENDER_NEW] = {K3, "tender", NULL},
    [IMX_MSG_TENDER_QUOTE] = {K3, "tender", "quote", NULL},
    [IMX_MSG_AUCTION_RUN] = {K3, "service", "price", "volume", "surplus",
                             "surplus_side", NULL},
    [IMX_MSG_PERIOD_CLOSE] = {K3, "expired", "period", "opened", "services",
                              "services_omitted", "over_budget", "over_budget_omitted",
                              NULL},
    [IMX_MSG_SERVICES_LIST] = {K3, "services", "next", NULL},
    [IMX_MSG_CC_LIST] = {K3, "ccs", "next", NULL},
    [IMX_MSG_CC_GET] = {K3, "cc", "name", "site", "roles", "services", "budget",
                        "reputation", NULL},
    [IMX_MSG_ORDER_MODIFY] = {K3, "order", "status", "price", "qty", "qty_open",
                              "qty_filled", "priority_kept", "reason", "trades",
                              "trades_omitted", NULL},
    [IMX_MSG_ORDER_HISTORY] = {K3, "cc", "orders", NULL},
    [IMX_MSG_TENDER_AWARD] = {K3, "tender", "quote", "trades", NULL},
    [IMX_MSG_TENDER_CANCEL] = {K3, "tender", NULL},
    [IMX_MSG_QUOTE_WITHDRAW] = {K3, "tender", "quote", NULL},
    [IMX_MSG_TENDER_LIST] = {K3, "tenders", NULL},
    [IMX_MSG_TENDER_GET] = {K3, TENDER_KEYS, "buyer_name", "buyer_site",
                            "status", "ended_time_ms", "quote", "trade", "why",
                            "quotes", NULL},
    [IMX_MSG_STATEMENT_GET] = {K3, "cc", "period", "closed", "closed_ms", "budget", "services",
                               "services_omitted", "trades", "trades_omitted", NULL},
    [IMX_MSG_RATING_NEW] = {K3, "trade", "stars", "service", "provider", NULL},
    [IMX_MSG_RATING_REPLY] = {K3, "trade", NULL},
    [IMX_MSG_RATINGS_LIST] = {K3, "ratings", NULL},
    [IMX_MSG_PERIOD_SUMMARY] = {K3, "period", "open", "services", "services_omitted",
                                "ccs", "next", NULL},
};
_Static_assert(3 + 12 + 3 + 5 < 24, "tender.get's keys and a NULL fit a row");

static int decode_reply_fields(const cJSON *d, imx_reply *r,
                               imx_proto_error *err) {
  switch (r->type) {
  case IMX_MSG_HELLO: {
    int64_t decimals = 0;
    int rc = text(d, "cc", r->cc, sizeof r->cc, 0, err) ||
             decode_roles(d, &r->roles, err) ||
             text(d, "currency", r->currency, sizeof r->currency, 0, err) ||
             num(d, "decimals", 0, IMX_DECIMALS_MAX, &decimals, err);
    r->decimals = (int)decimals;
    return rc;
  }
  case IMX_MSG_ORDER_NEW:
    return unum(d, "order", &r->order, err) ||
           word(d, "status", new_status_words, &r->status, err) ||
           qty(d, "qty_open", &r->qty_open, err) ||
           qty(d, "qty_filled", &r->qty_filled, err) ||
           text(d, "reason", r->reason, sizeof r->reason, TEXT_OPTIONAL, err) < 0 ||
           decode_trades(d, r, err) || opt_unum(d, "trades_omitted", &r->trades_omitted, err);
  case IMX_MSG_ORDER_CANCEL:
    return unum(d, "order", &r->order, err) || qty(d, "qty", &r->qty, err);
  case IMX_MSG_ORDER_LIST: return decode_orders(d, r, err);
  case IMX_MSG_BOOK_GET:
    return text(d, "service", r->service, sizeof r->service, 0, err) ||
           decode_book(d, r, err);
  case IMX_MSG_TRADES_LIST: return decode_trades(d, r, err);
  case IMX_MSG_BALANCE_GET:
    return text(d, "cc", r->cc, sizeof r->cc, 0, err) ||
           money(d, "budget", &r->budget, err) ||
           money(d, "reserved", &r->reserved, err) ||
           money(d, "spent", &r->spent, err) ||
           money(d, "earned", &r->earned, err) ||
           money(d, "available", &r->available, err) ||
           decode_capacities(d, r, err);
  case IMX_MSG_TENDER_NEW: return unum(d, "tender", &r->tender, err);
  case IMX_MSG_TENDER_QUOTE:
    return unum(d, "tender", &r->tender, err) || unum(d, "quote", &r->quote, err);
  case IMX_MSG_AUCTION_RUN:
    return text(d, "service", r->service, sizeof r->service, 0, err) ||
           price_or_null(d, "price", &r->price_minor, err) ||
           qty(d, "volume", &r->volume, err) ||
           qty(d, "surplus", &r->surplus, err) ||
           word(d, "surplus_side", side_words, &r->surplus_side, err);
  case IMX_MSG_PERIOD_CLOSE: return decode_period_close(d, r, err);
  case IMX_MSG_SERVICES_LIST: return decode_services(d, r, err);
  case IMX_MSG_CC_LIST: return decode_ccs(d, r, err);
  case IMX_MSG_CC_GET: return decode_cc_get(d, r, err);
  case IMX_MSG_ORDER_MODIFY:
    return unum(d, "order", &r->order, err) ||
           word(d, "status", new_status_words, &r->status, err) ||
           price_or_null(d, "price", &r->price_minor, err) ||
           qty(d, "qty", &r->qty, err) || qty(d, "qty_open", &r->qty_open, err) ||
           qty(d, "qty_filled", &r->qty_filled, err) ||
           get_bool(d, "priority_kept", &r->priority_kept, err) ||
           text(d, "reason", r->reason, sizeof r->reason, TEXT_OPTIONAL, err) < 0 ||
           decode_trades(d, r, err) || opt_unum(d, "trades_omitted", &r->trades_omitted, err);
  case IMX_MSG_ORDER_HISTORY:
    return text(d, "cc", r->cc, sizeof r->cc, 0, err) || decode_closed_list(d, r, err);
  case IMX_MSG_TENDER_AWARD:
    return unum(d, "tender", &r->tender, err) ||
           unum(d, "quote", &r->quote, err) || decode_trades(d, r, err);
  case IMX_MSG_TENDER_CANCEL: return unum(d, "tender", &r->tender, err);
  case IMX_MSG_QUOTE_WITHDRAW:
    return unum(d, "tender", &r->tender, err) || unum(d, "quote", &r->quote, err);
  case IMX_MSG_TENDER_LIST: return decode_tenders(d, r, err);
  case IMX_MSG_TENDER_GET: return decode_tender_get(d, r, err);
  case IMX_MSG_STATEMENT_GET: return decode_statement(d, r, err);
  case IMX_MSG_RATING_NEW: {
    int64_t stars = 0;
    int rc = unum(d, "trade", &r->trade, err) ||
             num(d, "stars", IMX_RATING_STARS_MIN, IMX_RATING_STARS_MAX, &stars, err) ||
             text(d, "service", r->service, sizeof r->service, 0, err) ||
             text(d, "provider", r->cc, sizeof r->cc, 0, err);
    r->stars = (int)stars;
    return rc;
  }
  case IMX_MSG_RATING_REPLY: return unum(d, "trade", &r->trade, err);
  case IMX_MSG_RATINGS_LIST:
    DECODE_LIST(d, "ratings", r->ratings, r->ratings_n, decode_rating, err);
    return 0;
  case IMX_MSG_PERIOD_SUMMARY: return decode_period_summary(d, r, err);
  case IMX_MSG_TYPES: break;
  }
  assert(0 && "not a reply type");
  return -1;
}

/* "error" or "<request type>.ok". */
static int decode_reply_type(const cJSON *doc, imx_reply *r,
                             imx_proto_error *err) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(doc, "type");
  if (it == NULL) return missing(err, "type");
  const char *s = cJSON_IsString(it) ? it->valuestring : "";
  if (strcmp(s, "error") == 0) {
    r->error = 1;
    return 0;
  }
  size_t n = strlen(s);
  for (int t = 0; t < IMX_MSG_TYPES; t++)
    if (n == strlen(type_names[t]) + 3 && strncmp(s, type_names[t], n - 3) == 0 &&
        strcmp(s + n - 3, ".ok") == 0) {
      r->type = (imx_msg_type)t;
      return 0;
    }
  return imx_proto_fail(err, "bad_field", "type", "is not a reply type");
}

static int decode_reply(const cJSON *doc, imx_reply *r, imx_proto_error *err) {
  static const char *const error_keys[] = {K3, "code", "field", "message",
                                           "reason", NULL};
  if (!cJSON_IsObject(doc))
    return imx_proto_fail(err, "bad_json", "message", "must be a JSON object");
  int64_t v = 0;
  if (num(doc, "v", 1, 1, &v, err) || decode_reply_type(doc, r, err) ||
      imx_json_check_keys(doc, r->error ? error_keys : reply_keys[r->type], err) ||
      text(doc, "id", r->id, sizeof r->id, 0, err))
    return -1;
  if (r->error)
    return text(doc, "code", r->code, sizeof r->code, 0, err) ||
                   text(doc, "field", r->field, sizeof r->field, TEXT_CUT, err) ||
                   text(doc, "message", r->message, sizeof r->message, TEXT_CUT, err) ||
                   text(doc, "reason", r->reason, sizeof r->reason, TEXT_OPTIONAL, err) < 0
               ? -1
               : 0;
  return decode_reply_fields(doc, r, err) ? -1 : 0;
}

int imx_reply_decode(const char *buf, size_t len, imx_reply *out,
                     imx_proto_error *err) {
  assert(out != NULL && err != NULL && (buf != NULL || len == 0));
  memset(out, 0, sizeof *out);
  if (len > IMX_REPLY_BYTES_MAX)
    return imx_proto_fail(err, "too_large", "message", "is larger than 512 KiB");
  if (len == 0) return imx_proto_fail(err, "bad_json", "message", "is empty");
  cJSON *doc = imx_json_parse_scratch(buf, len, err);
  if (doc == NULL) return -1;
  int rc = decode_reply(doc, out, err);
  imx_json_scratch_end(doc);
  if (rc) imx_reply_free(out); /* the lists decoded so far */
  return rc;
}

void imx_reply_free(imx_reply *r) {
  if (r == NULL) return;
  free(r->trades);
  free(r->orders);
  free(r->bids);
  free(r->offers);
  free(r->capacities);
  free(r->offer_orders);
  free(r->services);
  for (uint32_t i = 0; r->ccs && i < r->ccs_n; i++) {
    free((void *)r->ccs[i].services);
    free(r->ccs[i].reputation);
  }
  free(r->ratings);
  r->ratings = NULL, r->ratings_n = 0;
  free(r->ccs);
  r->offer_orders = NULL, r->offer_orders_n = 0;
  r->services = NULL, r->services_n = 0;
  r->ccs = NULL, r->ccs_n = 0;
  for (uint32_t i = 0; r->closed && i < r->closed_n; i++) free(r->closed[i].fills);
  free(r->closed);
  r->closed = NULL, r->closed_n = 0;
  free(r->tenders);
  free(r->quotes);
  r->tenders = NULL, r->tenders_n = 0;
  r->quotes = NULL, r->quotes_n = 0;
  free(r->sums);
  r->sums = NULL, r->sums_n = 0;
  free(r->over_budget);
  r->over_budget = NULL, r->over_budget_n = 0;
  free(r->cc_sums);
  r->cc_sums = NULL, r->cc_sums_n = 0;
  r->trades = NULL, r->trades_n = 0;
  r->orders = NULL, r->orders_n = 0;
  r->bids = r->offers = NULL, r->bids_n = r->offers_n = 0;
  r->capacities = NULL, r->capacities_n = 0;
}

/* ---------------------------------------------------------- market data */

static const char *const md_kinds[] = {"trade", "top", "auction",
                                       "tender.opened", "tender.quoted",
                                       "tender.awarded", "tender.lapsed", NULL};

/* The topic: the service's id, or "cc:" and a cost centre's. */
static void put_topic(writer *w, const imx_md_event *ev) {
  if (ev->topic_cc[0] == '\0') {
    put_raw(w, ev->service);
    return;
  }
  put_raw(w, IMX_MD_TOPIC_CC);
  put_raw(w, ev->topic_cc);
}

static void put_md_tender(writer *w, const imx_md_event *ev) {
  switch (ev->kind) {
  case IMX_MD_TENDER_OPENED:
    kv_uint(w, "tender", ev->tender);
    kv_str(w, "buyer", ev->buyer);
    kv_int(w, "qty", ev->qty);
    kv_int(w, "ceiling", ev->price_minor);
    kv_int(w, "deadline_time_ms", ev->deadline_time_ms);
    kv_word(w, "decide", decide_words, 3, ev->decide);
    if (ev->decide == IMX_PDECIDE_SCORE) {
      kv_uint(w, "price_weight", ev->price_weight);
      kv_uint(w, "quality_weight", ev->quality_weight);
    }
    break;
  case IMX_MD_TENDER_QUOTED:
    kv_uint(w, "tender", ev->tender);
    kv_str(w, "buyer", ev->buyer);
    kv_uint(w, "quote_count", ev->quotes);
    break;
  case IMX_MD_TENDER_AWARDED:
    kv_uint(w, "tender", ev->tender);
    kv_uint(w, "quote", ev->quote);
    kv_str(w, "buyer", ev->buyer);
    kv_str(w, "seller", ev->seller);
    kv_int(w, "qty", ev->qty);
    kv_int(w, "price", ev->price_minor);
    kv_uint(w, "trade", ev->trade);
    if (ev->has_score) kv_int(w, "score", ev->score);
    break;
  case IMX_MD_TENDER_LAPSED:
    kv_uint(w, "tender", ev->tender);
    kv_str(w, "buyer", ev->buyer);
    kv_int(w, "qty", ev->qty);
    kv_word(w, "why", lapsed_words, 2, ev->why);
    break;
  default: assert(0 && "not a tender event"); break;
  }
}

size_t imx_md_encode(const imx_md_event *ev, char *buf, size_t cap) {
  writer w = {buf, cap, 0, 0};
  assert((unsigned)ev->kind <= IMX_MD_TENDER_LAPSED);
  put_topic(&w, ev);
  put_raw(&w, " {\"type\":");
  put_str(&w, md_kinds[ev->kind]);
  kv_str(&w, "service", ev->service);
  switch (ev->kind) {
  case IMX_MD_TRADE:
    kv_uint(&w, "trade", ev->trade);
    kv_int(&w, "qty", ev->qty);
    kv_int(&w, "price", ev->price_minor);
    kv_int(&w, "time_ms", ev->time_ms);
    break;
  case IMX_MD_TOP:
    kv_price(&w, "bid", ev->bid);
    kv_int(&w, "bid_qty", ev->bid_qty);
    kv_price(&w, "offer", ev->offer);
    kv_int(&w, "offer_qty", ev->offer_qty);
    break;
  case IMX_MD_AUCTION:
    kv_price(&w, "price", ev->price_minor);
    kv_int(&w, "volume", ev->volume);
    kv_int(&w, "surplus", ev->surplus);
    kv_word(&w, "surplus_side", side_words, 3, ev->surplus_side);
    break;
  case IMX_MD_TENDER_OPENED:
  case IMX_MD_TENDER_QUOTED:
  case IMX_MD_TENDER_AWARDED:
  case IMX_MD_TENDER_LAPSED: put_md_tender(&w, ev); break;
  }
  put(&w, "}", 1);
  return finish(&w);
}

static int decode_md_tender(const cJSON *d, imx_md_event *ev,
                            imx_proto_error *err) {
  if (unum(d, "tender", &ev->tender, err) ||
      text(d, "buyer", ev->buyer, sizeof ev->buyer, 0, err))
    return -1;
  int64_t n = 0;
  switch (ev->kind) {
  case IMX_MD_TENDER_OPENED:
    return qty(d, "qty", &ev->qty, err) ||
                   qty(d, "ceiling", &ev->price_minor, err) ||
                   qty(d, "deadline_time_ms", &ev->deadline_time_ms, err) ||
                   word(d, "decide", decide_words, &ev->decide, err) ||
                   decode_weights(d, ev->decide, &ev->price_weight,
                                  &ev->quality_weight, err)
               ? -1 : 0;
  case IMX_MD_TENDER_QUOTED:
    if (num(d, "quote_count", 0, UINT32_MAX, &n, err)) return -1;
    ev->quotes = (uint32_t)n;
    return 0;
  case IMX_MD_TENDER_AWARDED:
    return unum(d, "quote", &ev->quote, err) ||
                   text(d, "seller", ev->seller, sizeof ev->seller, 0, err) ||
                   qty(d, "qty", &ev->qty, err) ||
                   qty(d, "price", &ev->price_minor, err) ||
                   unum(d, "trade", &ev->trade, err) ||
                   decode_score(d, &ev->has_score, &ev->score, err)
               ? -1 : 0;
  case IMX_MD_TENDER_LAPSED:
    return qty(d, "qty", &ev->qty, err) ||
                   word(d, "why", lapsed_words, &ev->why, err)
               ? -1 : 0;
  default: break;
  }
  return -1;
}

static int decode_md(const cJSON *d, imx_md_event *ev, imx_proto_error *err) {
  static const char *const keys[7][12] = {
      {"type", "service", "trade", "qty", "price", "time_ms", NULL},
      {"type", "service", "bid", "bid_qty", "offer", "offer_qty", NULL},
      {"type", "service", "price", "volume", "surplus", "surplus_side", NULL},
      {"type", "service", "tender", "buyer", "qty", "ceiling",
       "deadline_time_ms", "decide", "price_weight", "quality_weight", NULL},
      {"type", "service", "tender", "buyer", "quote_count", NULL},
      {"type", "service", "tender", "quote", "buyer", "seller", "qty", "price",
       "trade", "score", NULL},
      {"type", "service", "tender", "buyer", "qty", "why", NULL}};
  int kind = 0;
  if (!cJSON_IsObject(d))
    return imx_proto_fail(err, "bad_json", "message", "not a JSON object");
  if (word(d, "type", md_kinds, &kind, err)) return -1;
  ev->kind = (imx_md_kind)kind;
  if (imx_json_check_keys(d, keys[kind], err) ||
      text(d, "service", ev->service, sizeof ev->service, 0, err))
    return -1;
  switch (ev->kind) {
  case IMX_MD_TRADE:
    return unum(d, "trade", &ev->trade, err) || qty(d, "qty", &ev->qty, err) ||
                   qty(d, "price", &ev->price_minor, err) ||
                   qty(d, "time_ms", &ev->time_ms, err)
               ? -1 : 0;
  case IMX_MD_TOP:
    return price_or_null(d, "bid", &ev->bid, err) ||
                   qty(d, "bid_qty", &ev->bid_qty, err) ||
                   price_or_null(d, "offer", &ev->offer, err) ||
                   qty(d, "offer_qty", &ev->offer_qty, err)
               ? -1 : 0;
  case IMX_MD_AUCTION:
    return price_or_null(d, "price", &ev->price_minor, err) ||
                   qty(d, "volume", &ev->volume, err) ||
                   qty(d, "surplus", &ev->surplus, err) ||
                   word(d, "surplus_side", side_words, &ev->surplus_side, err)
               ? -1 : 0;
  case IMX_MD_TENDER_OPENED:
  case IMX_MD_TENDER_QUOTED:
  case IMX_MD_TENDER_AWARDED:
  case IMX_MD_TENDER_LAPSED: return decode_md_tender(d, ev, err);
  }
  return -1;
}

/* The topic agrees with the event: the service's for the service's events
** (trade, top, auction, tender.opened), the buyer's for tender.quoted and
** tender.lapsed, the buyer's or the seller's for tender.awarded. */
static int md_topic_check(const char *topic, size_t n, imx_md_event *ev,
                          imx_proto_error *err) {
  size_t pre = sizeof IMX_MD_TOPIC_CC - 1;
  int service_topic = ev->kind <= IMX_MD_TENDER_OPENED;
  if (service_topic) {
    if (strlen(ev->service) == n && memcmp(ev->service, topic, n) == 0) return 0;
    return imx_proto_fail(err, "bad_field", "service", "differs from the topic");
  }
  if (n <= pre || memcmp(topic, IMX_MD_TOPIC_CC, pre) != 0 ||
      n - pre > IMX_NAME_BYTES_MAX)
    return imx_proto_fail(err, "bad_field", "buyer", "the topic is not a cost centre's");
  const char *id = topic + pre;
  size_t id_len = n - pre;
  /* byte for byte: a NUL in the topic must not make a shorter id */
  int is_buyer = strlen(ev->buyer) == id_len && memcmp(ev->buyer, id, id_len) == 0;
  int is_seller = ev->kind == IMX_MD_TENDER_AWARDED && strlen(ev->seller) == id_len &&
                  memcmp(ev->seller, id, id_len) == 0;
  if (!is_buyer && !is_seller)
    return imx_proto_fail(err, "bad_field", "buyer", "differs from the topic");
  memcpy(ev->topic_cc, id, id_len);
  ev->topic_cc[id_len] = '\0';
  return 0;
}

int imx_md_decode(const char *buf, size_t len, imx_md_event *out,
                  imx_proto_error *err) {
  memset(out, 0, sizeof *out);
  if (len > IMX_PUB_BYTES_MAX)
    return imx_proto_fail(err, "too_large", "message", "is larger than 1 KiB");
  const char *space = memchr(buf, ' ', len);
  if (space == NULL)
    return imx_proto_fail(err, "bad_json", "message", "no topic before the event");
  size_t topic = (size_t)(space - buf);
  cJSON *doc = imx_json_parse_scratch(space + 1, len - topic - 1, err);
  if (doc == NULL) return -1;
  int rc = decode_md(doc, out, err);
  imx_json_scratch_end(doc);
  if (rc == 0) rc = md_topic_check(buf, topic, out, err);
  return rc;
}
