/*
** test_proto.c -- the messages of docs/protocol.md, the market file and the
** token hashes: every request and reply type round-trips (decode(encode(x))
** == x, every field compared), every field's validation, every error code,
** the market file's bounds (imx_base.h) and id lookups, and SHA-256 against
** the FIPS 180-4 examples.
**
** Requests are written out as the JSON a client sends, built by msg() from a
** type and its fields, so a test reads like the wire. A refused message must
** fail with the expected code and name the expected field.
*/
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "imx_json.h"
#include "imx_proto.h"
#include "proto_eq.h"

#define ENCODE_BYTES_MAX (1u << 20)

static char out_[ENCODE_BYTES_MAX];

/* ----------------------------------------------------------------- helpers */

/* {"v":1,"type":<type>,"id":"r1",<fields>} */
static const char *msg(const char *type, const char *fields) {
  static char text[8192];
  snprintf(text, sizeof text, "{\"v\":1,\"type\":\"%s\",\"id\":\"r1\"%s%s}", type,
           fields[0] ? "," : "", fields);
  return text;
}

static int decode_ok(const char *json, imx_request *r) {
  imx_proto_error err = {0};
  int rc = imx_request_decode(json, strlen(json), r, &err);
  if (rc != 0)
    fprintf(stderr, "  refused (%s %s: %s): %s\n", err.code, err.field,
            err.message, json);
  CHECK_EQ(0, rc);
  return rc == 0;
}

static void expect_error_n(const char *buf, size_t len, const char *code,
                           const char *field, const char *what) {
  imx_request r;
  imx_proto_error err = {0};
  int rc = imx_request_decode(buf, len, &r, &err);
  int good = rc == -1 && err.code != NULL && strcmp(err.code, code) == 0 &&
             strcmp(err.field, field) == 0 && err.message != NULL;
  if (!good)
    fprintf(stderr, "  want %s \"%s\", got rc %d %s \"%s\": %.200s\n", code,
            field, rc, err.code ? err.code : "-", err.field, what);
  CHECK(good);
}

static void expect_error(const char *json, const char *code, const char *field) {
  expect_error_n(json, strlen(json), code, field, json);
}

static void expect_bad(const char *type, const char *fields, const char *field) {
  expect_error(msg(type, fields), "bad_field", field);
}

/* fields + "," + "name":value, for one more field on a valid base. */
static const char *with(const char *base, const char *name, const char *value) {
  static char text[4096];
  snprintf(text, sizeof text, "%s%s\"%s\":%s", base, base[0] ? "," : "", name,
           value);
  return text;
}

static void round_trip_request(const imx_request *x) {
  size_t n = imx_request_encode(x, out_, sizeof out_);
  CHECK(n > 0);
  CHECK_EQ(n, strlen(out_));
  imx_request y;
  if (!decode_ok(out_, &y)) return;
  if (!imx_request_eq(x, &y)) fprintf(stderr, "  differs after: %s\n", out_);
  CHECK(imx_request_eq(x, &y));
  char again[4096];
  CHECK_EQ(n, imx_request_encode(&y, again, sizeof again));
  CHECK_STR(out_, again);
}

static void round_trip_reply(const imx_reply *x) {
  size_t n = imx_reply_encode(x, out_, sizeof out_);
  CHECK(n > 0);
  CHECK_EQ(n, strlen(out_));
  imx_reply y;
  imx_proto_error err = {0};
  int rc = imx_reply_decode(out_, n, &y, &err);
  if (rc)
    fprintf(stderr, "  reply refused (%s %s: %s): %.300s\n", err.code,
            err.field, err.message, out_);
  CHECK_EQ(0, rc);
  if (rc) return;
  if (!imx_reply_eq(x, &y)) fprintf(stderr, "  differs after: %.300s\n", out_);
  CHECK(imx_reply_eq(x, &y));
  static char again[ENCODE_BYTES_MAX];
  CHECK_EQ(n, imx_reply_encode(&y, again, sizeof again));
  CHECK_STR(out_, again);
  imx_reply_free(&y);
}

static imx_request request(imx_msg_type type, const char *id) {
  imx_request r;
  memset(&r, 0, sizeof r);
  r.type = type;
  snprintf(r.id, sizeof r.id, "%s", id);
  return r;
}

static imx_reply reply(imx_msg_type type, const char *id) {
  imx_reply r;
  memset(&r, 0, sizeof r);
  r.type = type;
  snprintf(r.id, sizeof r.id, "%s", id);
  return r;
}

/* A string of n copies of c, for length limits. */
static const char *repeat(char c, size_t n) {
  static char text[2][1024];
  static int which;
  which ^= 1;
  memset(text[which], c, n);
  text[which][n] = '\0';
  return text[which];
}

static const char *quoted(const char *s) {
  static char text[2][1100];
  static int which;
  which ^= 1;
  snprintf(text[which], sizeof text[which], "\"%s\"", s);
  return text[which];
}

/* An integer field: min and max accepted; one beyond, fractions, numbers
** beyond 2^53, other types and (when required) absence refused, naming it. */
static void check_int_field(const char *type, const char *base,
                            const char *field, int64_t min, int64_t max,
                            int required) {
  char num[32];
  imx_request r;
  snprintf(num, sizeof num, "%lld", (long long)min);
  decode_ok(msg(type, with(base, field, num)), &r);
  snprintf(num, sizeof num, "%lld", (long long)max);
  decode_ok(msg(type, with(base, field, num)), &r);
  snprintf(num, sizeof num, "%lld", (long long)min - 1);
  expect_bad(type, with(base, field, num), field);
  snprintf(num, sizeof num, "%lld", (long long)max + 1);
  expect_bad(type, with(base, field, num), field);
  static const char *const bad[] = {
      "1.5", "0.5", "-1", "1e400", "9007199254740993", "-9007199254740993",
      "\"5\"", "true", "null", "[1]", "{}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_bad(type, with(base, field, bad[i]), field);
  if (required) expect_bad(type, base, field);
  else decode_ok(msg(type, base), &r);
}

/* A string field: 1 and max bytes accepted; empty, too long, control
** characters and other types refused. */
static void check_string_field(const char *type, const char *base,
                               const char *field, size_t max, int required) {
  imx_request r;
  decode_ok(msg(type, with(base, field, "\"x\"")), &r);
  decode_ok(msg(type, with(base, field, quoted(repeat('x', max)))), &r);
  expect_bad(type, with(base, field, quoted(repeat('x', max + 1))), field);
  static const char *const bad[] = {"\"\"", "\"a\\u0001b\"", "\"a\\nb\"", "5",
                                    "true", "null", "[\"x\"]", "{}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_bad(type, with(base, field, bad[i]), field);
  if (required) expect_bad(type, base, field);
  else decode_ok(msg(type, base), &r);
}

#define ORDER_NEW_BASE "\"service\":\"it.hour\",\"side\":\"bid\",\"qty\":5"
#define TENDER_NEW_BASE \
  "\"service\":\"it.hour\",\"qty\":5,\"ceiling\":1000,\"deadline_ms\":60000"

/* -------------------------------------------------- requests: round trips */

static void test_type_names_are_the_protocols(void) {
  static const char *const names[] = {
      "hello", "order.new", "order.cancel", "order.list", "book.get",
      "trades.list", "balance.get", "tender.new", "tender.quote",
      "auction.run", "period.close", "services.list", "cc.list", "cc.get",
      "order.modify", "order.history", "tender.award", "tender.cancel",
      "quote.withdraw", "tender.list", "tender.get", "statement.get", "rating.new",
      "rating.reply", "ratings.list", "period.summary"};
  CHECK_EQ(IMX_MSG_TYPES, sizeof names / sizeof names[0]);
  for (int t = 0; t < IMX_MSG_TYPES; t++)
    CHECK_STR(names[t], imx_msg_type_name((imx_msg_type)t));
  CHECK(imx_msg_type_name(IMX_MSG_TYPES) == NULL);
  CHECK(imx_msg_type_name((imx_msg_type)-1) == NULL);
}

static void test_hello_round_trips(void) {
  imx_request x = request(IMX_MSG_HELLO, "h1");
  strcpy(x.cc, "CC-4100");
  strcpy(x.token, "s3cret \"quoted\" back\\slash");
  round_trip_request(&x);
}

static void test_order_new_limit_round_trips(void) {
  imx_request x = request(IMX_MSG_ORDER_NEW, "o-1");
  strcpy(x.cc, "CC-4100");
  strcpy(x.token, "tok");
  strcpy(x.service, "it.helpdesk.hour");
  x.side = IMX_PSIDE_OFFER, x.tif = IMX_PTIF_FOK, x.aon = 1;
  x.has_price = 1, x.price_minor = 1000000000, x.qty = 1000000000;
  round_trip_request(&x);
  x.side = IMX_PSIDE_BID, x.tif = IMX_PTIF_PERIOD, x.aon = 0;
  x.price_minor = 1, x.qty = 1;
  round_trip_request(&x);
  x.tif = IMX_PTIF_IOC;
  round_trip_request(&x);
}

static void test_order_new_market_round_trips(void) {
  imx_request x = request(IMX_MSG_ORDER_NEW, "m1");
  strcpy(x.service, "truck.day");
  x.side = IMX_PSIDE_BID, x.tif = IMX_PTIF_IOC, x.qty = 7;
  round_trip_request(&x);
  size_t n = imx_request_encode(&x, out_, sizeof out_);
  CHECK(n > 0 && strstr(out_, "price") == NULL);
}

static void test_order_cancel_round_trips(void) {
  imx_request x = request(IMX_MSG_ORDER_CANCEL, "c1");
  strcpy(x.cc, "CC-1");
  x.order = 9007199254740991ull; /* 2^53 - 1 */
  round_trip_request(&x);
  x.order = 1;
  round_trip_request(&x);
}

static void test_order_modify_round_trips(void) {
  imx_request x = request(IMX_MSG_ORDER_MODIFY, "m1");
  x.order = 7, x.qty = 12;
  round_trip_request(&x);
  x.price_minor = 9000, x.has_price = 1;
  round_trip_request(&x);
  x.qty = 0; /* the price alone */
  round_trip_request(&x);
  CHECK_STR("{\"v\":1,\"type\":\"order.modify\",\"id\":\"m1\",\"price\":9000,"
            "\"order\":7}", out_);
}

static void test_order_modify_needs_an_order_and_qty_or_price(void) {
  imx_request r;
  expect_bad("order.modify", "\"qty\":3", "order");
  expect_bad("order.modify", "\"order\":1", "qty");
  expect_bad("order.modify", "\"order\":1,\"qty\":0", "qty");
  expect_bad("order.modify", "\"order\":1,\"price\":0", "price");
  expect_bad("order.modify", "\"order\":1,\"qty\":2,\"side\":\"bid\"", "side");
  if (decode_ok(msg("order.modify", "\"order\":1,\"price\":100"), &r)) {
    CHECK_EQ(0, r.qty);
    CHECK_EQ(1, r.has_price);
  }
}

static void test_order_history_round_trips_with_its_paging(void) {
  imx_request x = request(IMX_MSG_ORDER_HISTORY, "h1");
  x.limit = 20;
  round_trip_request(&x);
  strcpy(x.cc, "CC-1");
  x.limit = 100, x.before = 9007199254740991ull;
  round_trip_request(&x);
  imx_request r;
  if (decode_ok(msg("order.history", ""), &r)) {
    CHECK_EQ(20, r.limit); /* the default */
    CHECK_EQ(0, r.before);
  }
  expect_bad("order.history", "\"limit\":101", "limit");
  expect_bad("order.history", "\"before\":0", "before");
  expect_bad("order.history", "\"after\":1", "after");
}

/* period.summary: a period's label (none: the open one) and a page of
** cost centres, start and limit as cc.list's. */
static void test_period_summary_round_trips(void) {
  imx_request x = request(IMX_MSG_PERIOD_SUMMARY, "ps1");
  x.limit = 100;
  round_trip_request(&x);
  CHECK_STR("{\"v\":1,\"type\":\"period.summary\",\"id\":\"ps1\",\"limit\":100}", out_);
  strcpy(x.period, "2026-12");
  strcpy(x.start, "CC-1100");
  x.limit = 1000;
  round_trip_request(&x);
  imx_request r;
  if (decode_ok(msg("period.summary", ""), &r)) {
    CHECK_EQ(IMX_MSG_PERIOD_SUMMARY, r.type);
    CHECK_EQ(100, r.limit); /* the default, as cc.list's */
    CHECK_STR("", r.period);
    CHECK_STR("", r.start);
  }
  expect_bad("period.summary", "\"period\":202612", "period");
  expect_bad("period.summary", "\"period\":\"\"", "period");
  expect_bad("period.summary", "\"period\":\"1234567890123456\"", "period");
  expect_bad("period.summary", "\"limit\":0", "limit");
  expect_bad("period.summary", "\"limit\":1001", "limit");
  expect_bad("period.summary", "\"limit\":\"10\"", "limit");
  expect_bad("period.summary", "\"start\":\"\"", "start");
  expect_bad("period.summary", "\"start\":5", "start");
  expect_bad("period.summary", "\"service\":\"s\"", "service");
  expect_bad("period.summary", "\"before\":1", "before");
}

static void test_statement_get_round_trips_with_its_period(void) {
  imx_request x = request(IMX_MSG_STATEMENT_GET, "st1");
  round_trip_request(&x);
  strcpy(x.cc, "CC-1");
  strcpy(x.period, "2026-12");
  round_trip_request(&x);
  strcpy(x.period, "123456789012345"); /* 15 bytes: the server judges it */
  round_trip_request(&x);
  expect_bad("statement.get", "\"period\":\"1234567890123456\"", "period");
  expect_bad("statement.get", "\"period\":\"\"", "period");
  expect_bad("statement.get", "\"period\":202612", "period");
  expect_bad("statement.get", "\"limit\":1", "limit");
}

static void test_order_list_round_trips(void) {
  imx_request x = request(IMX_MSG_ORDER_LIST, "l1");
  round_trip_request(&x);
  strcpy(x.cc, "CC-6100");
  round_trip_request(&x);
}

static void test_book_get_round_trips(void) {
  imx_request x = request(IMX_MSG_BOOK_GET, "b1");
  strcpy(x.service, "it.hour");
  x.depth = 100;
  round_trip_request(&x);
  x.depth = 1;
  round_trip_request(&x);
}

static void test_trades_list_round_trips(void) {
  imx_request x = request(IMX_MSG_TRADES_LIST, "t1");
  x.limit = 100;
  round_trip_request(&x); /* all services, all cost centres */
  strcpy(x.service, "it.hour");
  strcpy(x.cc, "CC-4100");
  x.limit = IMX_LIST_MAX;
  round_trip_request(&x);
}

static void test_trades_list_after_round_trips(void) {
  imx_request x = request(IMX_MSG_TRADES_LIST, "t2");
  x.limit = 1000;
  x.has_after = 1, x.after = 0; /* 0 is given: every trade since the first */
  round_trip_request(&x);
  CHECK(strstr(out_, "\"after\":0") != NULL);
  x.after = 9007199254740991ull;
  round_trip_request(&x);
  CHECK(strstr(out_, "\"after\":9007199254740991") != NULL);
  x.has_after = 0, x.after = 0;
  round_trip_request(&x);
  CHECK(strstr(out_, "after") == NULL);
}

static void test_trades_list_after_is_optional_and_decoded(void) {
  imx_request r;
  if (!decode_ok(msg("trades.list", ""), &r)) return;
  CHECK_EQ(0, r.has_after);
  CHECK_EQ(0, r.after);
  if (!decode_ok(msg("trades.list", "\"after\":41,\"limit\":2"), &r)) return;
  CHECK_EQ(1, r.has_after);
  CHECK_EQ(41, r.after);
  CHECK_EQ(2, r.limit);
}

static void test_balance_get_round_trips(void) {
  imx_request x = request(IMX_MSG_BALANCE_GET, "g1");
  strcpy(x.cc, "CC-4100");
  round_trip_request(&x);
}

static void test_tender_new_round_trips(void) {
  imx_request x = request(IMX_MSG_TENDER_NEW, "tn");
  strcpy(x.cc, "CC-1400");
  strcpy(x.service, "truck.day");
  x.qty = 40, x.ceiling_minor = 45000, x.deadline_ms = 2592000000;
  round_trip_request(&x);
  x.deadline_ms = 1;
  round_trip_request(&x);
}

static void test_tender_new_decide_round_trips(void) {
  imx_request x = request(IMX_MSG_TENDER_NEW, "tc");
  strcpy(x.service, "truck.day");
  x.qty = 2, x.ceiling_minor = 45000, x.deadline_ms = 60000;
  x.decide = IMX_PDECIDE_CHOOSE;
  round_trip_request(&x);
  CHECK(strstr(out_, "\"decide\":\"choose\"") != NULL);
  /* lowest is the default: not written, so journals stay as they were */
  x.decide = IMX_PDECIDE_LOWEST;
  round_trip_request(&x);
  CHECK(strstr(out_, "decide") == NULL);
  imx_request r;
  if (!decode_ok(msg("tender.new", TENDER_NEW_BASE ",\"decide\":\"lowest\""), &r))
    return;
  CHECK_EQ(IMX_PDECIDE_LOWEST, r.decide);
  if (!decode_ok(msg("tender.new", TENDER_NEW_BASE ",\"decide\":\"choose\""), &r))
    return;
  CHECK_EQ(IMX_PDECIDE_CHOOSE, r.decide);
  expect_bad("tender.new", TENDER_NEW_BASE ",\"decide\":\"cheapest\"", "decide");
  expect_bad("tender.new", TENDER_NEW_BASE ",\"decide\":1", "decide");
  expect_bad("tender.quote", "\"tender\":1,\"price\":1,\"decide\":\"choose\"",
             "decide");
}

static void test_tender_new_score_weights_round_trip(void) {
  imx_request x = request(IMX_MSG_TENDER_NEW, "ts");
  strcpy(x.service, "truck.day");
  x.qty = 2, x.ceiling_minor = 45000, x.deadline_ms = 60000;
  x.decide = IMX_PDECIDE_SCORE;
  x.price_weight = 60, x.quality_weight = 40;
  x.weights_given = IMX_PWEIGHT_PRICE | IMX_PWEIGHT_QUALITY;
  round_trip_request(&x);
  CHECK(strstr(out_, "\"decide\":\"score\"") != NULL);
  CHECK(strstr(out_, "\"price_weight\":60,\"quality_weight\":40") != NULL);
  x.price_weight = 0, x.quality_weight = 100; /* 0 is a weight, written */
  round_trip_request(&x);
  CHECK(strstr(out_, "\"price_weight\":0,\"quality_weight\":100") != NULL);
  /* one weight alone round trips too: the server refuses it (bad_weights) */
  x.weights_given = IMX_PWEIGHT_QUALITY, x.price_weight = 0;
  round_trip_request(&x);
  CHECK(strstr(out_, "price_weight") == NULL);
  imx_request r;
  if (!decode_ok(msg("tender.new", TENDER_NEW_BASE
                     ",\"decide\":\"score\",\"price_weight\":100,\"quality_weight\":0"),
                 &r))
    return;
  CHECK_EQ(IMX_PDECIDE_SCORE, r.decide);
  CHECK_EQ(100, r.price_weight);
  CHECK_EQ(0, r.quality_weight);
  CHECK_EQ(IMX_PWEIGHT_PRICE | IMX_PWEIGHT_QUALITY, r.weights_given);
  /* weights given on lowest are decoded (and refused by the server) */
  if (!decode_ok(msg("tender.new", TENDER_NEW_BASE ",\"price_weight\":0"), &r)) return;
  CHECK_EQ(IMX_PDECIDE_LOWEST, r.decide);
  CHECK_EQ(IMX_PWEIGHT_PRICE, r.weights_given);
  if (!decode_ok(msg("tender.new", TENDER_NEW_BASE), &r)) return;
  CHECK_EQ(0, r.weights_given);
  expect_bad("tender.new", TENDER_NEW_BASE ",\"price_weight\":101", "price_weight");
  expect_bad("tender.new", TENDER_NEW_BASE ",\"price_weight\":-1", "price_weight");
  expect_bad("tender.new", TENDER_NEW_BASE ",\"quality_weight\":50.5", "quality_weight");
  expect_bad("tender.new", TENDER_NEW_BASE ",\"quality_weight\":\"40\"", "quality_weight");
  expect_bad("tender.quote", "\"tender\":1,\"price\":1,\"price_weight\":50",
             "price_weight");
  /* the one table explains bad_weights, about price_weight */
  imx_error_info e;
  CHECK_EQ(0, imx_error_of("bad_weights", IMX_MSG_TENDER_NEW, &e));
  CHECK_STR("bad_field", e.code);
  CHECK_STR("price_weight", e.field);
}

static void test_tender_award_cancel_withdraw_round_trip(void) {
  imx_request x = request(IMX_MSG_TENDER_AWARD, "ta");
  x.tender = 9007199254740991ull, x.quote = 1;
  round_trip_request(&x);
  CHECK_STR("{\"v\":1,\"type\":\"tender.award\",\"id\":\"ta\","
            "\"tender\":9007199254740991,\"quote\":1}", out_);
  x = request(IMX_MSG_TENDER_CANCEL, "tx");
  strcpy(x.cc, "CC-1100");
  x.tender = 4;
  round_trip_request(&x);
  x = request(IMX_MSG_QUOTE_WITHDRAW, "qw");
  x.quote = 3;
  round_trip_request(&x);
  CHECK(strstr(out_, "tender") == NULL);
  x.quote = 0, x.tender = 5;
  round_trip_request(&x);
  CHECK(strstr(out_, "quote\"") == NULL);
  x = request(IMX_MSG_TENDER_GET, "tg");
  x.tender = 5;
  round_trip_request(&x);
  x = request(IMX_MSG_TENDER_LIST, "tl");
  x.limit = 100;
  round_trip_request(&x);
  x.has_after = 1, x.after = 7, x.limit = 1;
  round_trip_request(&x);
}

static void test_tender_requests_refuse_bad_fields(void) {
  check_int_field("tender.award", "\"tender\":1", "quote", 1, IMX_ID_MAX, 1);
  check_int_field("tender.award", "\"quote\":1", "tender", 1, IMX_ID_MAX, 1);
  check_int_field("tender.cancel", "", "tender", 1, IMX_ID_MAX, 1);
  check_int_field("tender.get", "", "tender", 1, IMX_ID_MAX, 1);
  check_int_field("tender.list", "", "limit", 1, IMX_LIST_MAX, 0);
  check_int_field("tender.list", "", "after", 0, IMX_ID_MAX, 0);
  /* quote.withdraw: exactly one of quote and tender */
  expect_bad("quote.withdraw", "", "quote");
  expect_bad("quote.withdraw", "\"quote\":1,\"tender\":2", "tender");
  expect_bad("quote.withdraw", "\"quote\":0", "quote");
  expect_bad("tender.cancel", "\"tender\":1,\"quote\":2", "quote");
  expect_bad("tender.list", "\"service\":\"s\"", "service");
  imx_request r;
  if (!decode_ok(msg("tender.list", ""), &r)) return;
  CHECK_EQ(100, r.limit);
  CHECK_EQ(0, r.has_after);
  if (!decode_ok(msg("quote.withdraw", "\"tender\":8"), &r)) return;
  CHECK_EQ(8, r.tender);
  CHECK_EQ(0, r.quote);
}

static void test_tender_quote_round_trips(void) {
  imx_request x = request(IMX_MSG_TENDER_QUOTE, "tq");
  strcpy(x.cc, "CC-6100");
  x.tender = 3, x.price_minor = 41000; /* required: no has_price */
  round_trip_request(&x);
  CHECK(strstr(out_, "\"price\":41000") != NULL);
}

static void test_auction_run_round_trips(void) {
  imx_request x = request(IMX_MSG_AUCTION_RUN, "a1");
  strcpy(x.service, "truck.day");
  round_trip_request(&x);
  x.has_price = 1, x.price_minor = 40000;
  round_trip_request(&x);
}

static void test_period_close_round_trips(void) {
  imx_request x = request(IMX_MSG_PERIOD_CLOSE, "p1");
  round_trip_request(&x);
  strcpy(x.token, "admin-token");
  round_trip_request(&x);
}

static void test_request_encoding_is_the_documented_json(void) {
  imx_request x = request(IMX_MSG_ORDER_NEW, "o1");
  strcpy(x.cc, "CC-1");
  strcpy(x.service, "it.hour");
  x.qty = 5, x.has_price = 1, x.price_minor = 100;
  CHECK(imx_request_encode(&x, out_, sizeof out_) > 0);
  CHECK_STR("{\"v\":1,\"type\":\"order.new\",\"id\":\"o1\",\"cc\":\"CC-1\","
            "\"service\":\"it.hour\",\"side\":\"bid\",\"qty\":5,\"price\":100,"
            "\"tif\":\"gtc\",\"aon\":false}",
            out_);
  x = request(IMX_MSG_BOOK_GET, "b\"1\\");
  strcpy(x.service, "s");
  x.depth = 10;
  CHECK(imx_request_encode(&x, out_, sizeof out_) > 0);
  CHECK_STR("{\"v\":1,\"type\":\"book.get\",\"id\":\"b\\\"1\\\\\","
            "\"service\":\"s\",\"depth\":10}",
            out_);
  x = request(IMX_MSG_PERIOD_CLOSE, "p");
  CHECK(imx_request_encode(&x, out_, sizeof out_) > 0);
  CHECK_STR("{\"v\":1,\"type\":\"period.close\",\"id\":\"p\"}", out_);
}

static void test_longest_strings_round_trip(void) {
  imx_request x = request(IMX_MSG_ORDER_NEW, repeat('"', IMX_NAME_BYTES_MAX));
  strcpy(x.cc, repeat('\\', IMX_NAME_BYTES_MAX));
  strcpy(x.token, repeat('t', IMX_TOKEN_BYTES_MAX));
  strcpy(x.service, "caf\xc3\xa9.hour"); /* UTF-8 passes as it is */
  x.qty = 1;
  round_trip_request(&x);
}

/* ------------------------------------------------- requests: what they mean */

static void test_order_new_without_price_is_a_market_order(void) {
  imx_request r;
  if (!decode_ok(msg("order.new", ORDER_NEW_BASE), &r)) return;
  CHECK_EQ(IMX_MSG_ORDER_NEW, r.type);
  CHECK_EQ(0, r.has_price);
  CHECK_EQ(0, r.price_minor);
  if (!decode_ok(msg("order.new", ORDER_NEW_BASE ",\"price\":2500"), &r)) return;
  CHECK_EQ(1, r.has_price);
  CHECK_EQ(2500, r.price_minor);
}

static void test_order_new_decodes_every_field(void) {
  imx_request r;
  if (!decode_ok("{\"v\":1,\"type\":\"order.new\",\"id\":\"o7\",\"cc\":\"CC-4100\","
                 "\"token\":\"tk\",\"service\":\"it.hour\",\"side\":\"offer\","
                 "\"qty\":12,\"price\":4500,\"tif\":\"period\",\"aon\":true}",
                 &r))
    return;
  CHECK_STR("o7", r.id);
  CHECK_STR("CC-4100", r.cc);
  CHECK_STR("tk", r.token);
  CHECK_STR("it.hour", r.service);
  CHECK_EQ(IMX_PSIDE_OFFER, r.side);
  CHECK_EQ(12, r.qty);
  CHECK_EQ(4500, r.price_minor);
  CHECK_EQ(IMX_PTIF_PERIOD, r.tif);
  CHECK_EQ(1, r.aon);
}

static void test_order_new_defaults_to_gtc_without_aon(void) {
  imx_request r;
  if (!decode_ok(msg("order.new", ORDER_NEW_BASE), &r)) return;
  CHECK_EQ(IMX_PTIF_GTC, r.tif);
  CHECK_EQ(0, r.aon);
  CHECK_STR("", r.cc);
  CHECK_STR("", r.token);
}

static void test_book_get_depth_defaults_to_10(void) {
  imx_request r;
  if (!decode_ok(msg("book.get", "\"service\":\"s\""), &r)) return;
  CHECK_EQ(10, r.depth);
  if (!decode_ok(msg("book.get", "\"service\":\"s\",\"depth\":3"), &r)) return;
  CHECK_EQ(3, r.depth);
}

static void test_trades_list_defaults_to_100_of_every_service(void) {
  imx_request r;
  if (!decode_ok(msg("trades.list", ""), &r)) return;
  CHECK_EQ(100, r.limit);
  CHECK_STR("", r.service);
  CHECK_STR("", r.cc);
  if (!decode_ok(msg("trades.list", "\"service\":\"s\",\"cc\":\"C\",\"limit\":7"), &r))
    return;
  CHECK_EQ(7, r.limit);
  CHECK_STR("s", r.service);
  CHECK_STR("C", r.cc);
}

static void test_auction_run_reference_is_optional(void) {
  imx_request r;
  if (!decode_ok(msg("auction.run", "\"service\":\"truck.day\""), &r)) return;
  CHECK_EQ(0, r.has_price);
  if (!decode_ok(msg("auction.run", "\"service\":\"truck.day\",\"reference\":40000"), &r))
    return;
  CHECK_EQ(1, r.has_price);
  CHECK_EQ(40000, r.price_minor);
}

static void test_tender_requests_decode_their_fields(void) {
  imx_request r;
  if (!decode_ok(msg("tender.new", TENDER_NEW_BASE), &r)) return;
  CHECK_EQ(5, r.qty);
  CHECK_EQ(1000, r.ceiling_minor);
  CHECK_EQ(60000, r.deadline_ms);
  if (!decode_ok(msg("tender.quote", "\"tender\":9,\"price\":800"), &r)) return;
  CHECK_EQ(9, r.tender);
  CHECK_EQ(800, r.price_minor);
  CHECK_EQ(0, r.has_price); /* only for the optional prices */
  if (!decode_ok(msg("order.cancel", "\"order\":9007199254740991"), &r)) return;
  CHECK(r.order == 9007199254740991ull);
}

static void test_fields_that_do_not_apply_are_zero(void) {
  imx_request r;
  if (!decode_ok(msg("book.get", "\"service\":\"s\""), &r)) return;
  CHECK_EQ(0, r.qty);
  CHECK_EQ(0, r.limit);
  CHECK_EQ(0, r.side);
  CHECK_EQ(0, r.has_price);
  if (!decode_ok(msg("period.close", ""), &r)) return;
  CHECK_EQ(IMX_MSG_PERIOD_CLOSE, r.type);
  CHECK_EQ(0, r.depth);
  CHECK_EQ(0, r.limit);
  CHECK_STR("", r.service);
}

static void test_cc_and_token_are_allowed_in_every_request(void) {
  static const char *const bases[IMX_MSG_TYPES] = {
      "", ORDER_NEW_BASE, "\"order\":1", "", "\"service\":\"s\"", "", "",
      TENDER_NEW_BASE, "\"tender\":1,\"price\":1", "\"service\":\"s\"", "",
      "", "", "", "\"order\":1,\"qty\":2", "",
      "\"tender\":1,\"quote\":2", "\"tender\":1", "\"quote\":2", "",
      "\"tender\":1", "\"period\":\"2026-12\"", "\"trade\":1,\"stars\":5",
      "\"trade\":1,\"comment\":\"c\"", "", "\"period\":\"2026-12\""};
  for (int t = 0; t < IMX_MSG_TYPES; t++) {
    char fields[512];
    snprintf(fields, sizeof fields, "\"cc\":\"CC-9\",\"token\":\"tk\"%s%s",
             bases[t][0] ? "," : "", bases[t]);
    imx_request r;
    if (!decode_ok(msg(imx_msg_type_name((imx_msg_type)t), fields), &r)) continue;
    CHECK_EQ(t, r.type);
    CHECK_STR("CC-9", r.cc);
    CHECK_STR("tk", r.token);
  }
}

static void test_whitespace_is_json(void) {
  imx_request r;
  if (!decode_ok(" \n{ \"v\" : 1 , \"type\":\"order.new\",\"id\":\"x\",\"service\":"
                 "\"s\",\"side\":\"bid\",\"qty\":500,\"price\":1000000000 }\t\r\n",
                 &r))
    return;
  CHECK_EQ(500, r.qty);
  CHECK_EQ(1000000000, r.price_minor);
}

/* Issue 11: a number with a fraction or an exponent is not a whole number,
** even when its double is one (cJSON reads 10.0, 1e1 and
** 1.0000000000000001 all as 10-ish exact doubles). */
static void test_fractions_and_exponents_are_not_whole_numbers(void) {
  expect_bad("order.new", "\"service\":\"s\",\"side\":\"bid\",\"qty\":10.0", "qty");
  expect_bad("order.new", "\"service\":\"s\",\"side\":\"bid\",\"qty\":1e1", "qty");
  expect_bad("order.new", "\"service\":\"s\",\"side\":\"bid\",\"qty\":5E2", "qty");
  expect_bad("order.new",
             "\"service\":\"s\",\"side\":\"bid\",\"qty\":1,\"price\":1.0000000000000001",
             "price");
  expect_error("{\"v\":1.0,\"type\":\"book.get\",\"id\":\"x\",\"service\":\"s\"}",
               "bad_field", "v");
  /* inside a string, a dot or an e is only text */
  imx_request r;
  decode_ok("{\"v\":1,\"type\":\"book.get\",\"id\":\"1.5e3\",\"service\":\"it.e1\"}", &r);
}

/* Issue 11: strings are UTF-8 and hold no NUL: \u0000 would cut the C
** string (a token "t\u0000junk" read as "t"), and half a surrogate pair or
** a byte that is not UTF-8 would be echoed into replies that are not JSON. */
static void test_strings_are_utf8_without_nul(void) {
  expect_error("{\"v\":1,\"type\":\"hello\",\"id\":\"x\",\"cc\":\"CC-1\","
               "\"token\":\"demo-CC-1100\\u0000junk\"}", "bad_json", "message");
  expect_error("{\"v\":1,\"type\":\"book.get\",\"id\":\"a\\ud800\",\"service\":\"s\"}",
               "bad_json", "message");
  expect_error("{\"v\":1,\"type\":\"book.get\",\"id\":\"a\\udc00b\",\"service\":\"s\"}",
               "bad_json", "message");
  expect_error("{\"v\":1,\"type\":\"book.get\",\"id\":\"a\xff\",\"service\":\"s\"}",
               "bad_json", "message");
  expect_error("{\"v\":1,\"type\":\"book.get\",\"id\":\"a\xc0\xaf\",\"service\":\"s\"}",
               "bad_json", "message"); /* an overlong "/" */
  expect_error("{\"v\":1,\"type\":\"book.get\",\"id\":\"a\xed\xa0\x80\",\"service\":\"s\"}",
               "bad_json", "message"); /* a surrogate in UTF-8 */
  expect_error("{\"v\":1,\"type\":\"book.get\",\"id\":\"a\xe2\x82\",\"service\":\"s\"}",
               "bad_json", "message"); /* cut short */
  imx_request r;
  /* real UTF-8 and a whole surrogate pair are fine */
  if (decode_ok("{\"v\":1,\"type\":\"book.get\",\"id\":\"M\xc3\xbcnchen-\xe2\x82\xac-"
                "\\ud83d\\ude00\",\"service\":\"s\"}", &r))
    CHECK_STR("M\xc3\xbcnchen-\xe2\x82\xac-\xf0\x9f\x98\x80", r.id);
}

/* ----------------------------------------------- requests: what is refused */

static void test_hello_needs_a_token_and_may_name_its_cc(void) {
  imx_request r;
  decode_ok(msg("hello", "\"cc\":\"CC-4100\",\"token\":\"tk\""), &r);
  CHECK_STR("CC-4100", r.cc);
  decode_ok(msg("hello", "\"token\":\"tk\""), &r); /* the token's cc */
  CHECK_STR("", r.cc);
  CHECK_STR("tk", r.token);
  expect_bad("hello", "\"cc\":\"CC-4100\"", "token");
  expect_bad("hello", "", "token");
}

static void test_required_fields_are_required(void) {
  expect_bad("order.new", "\"side\":\"bid\",\"qty\":5", "service");
  expect_bad("order.new", "\"service\":\"s\",\"qty\":5", "side");
  expect_bad("order.new", "\"service\":\"s\",\"side\":\"bid\"", "qty");
  expect_bad("order.cancel", "", "order");
  expect_bad("book.get", "", "service");
  expect_bad("tender.new", "\"qty\":5,\"ceiling\":1,\"deadline_ms\":1", "service");
  expect_bad("tender.new", "\"service\":\"s\",\"ceiling\":1,\"deadline_ms\":1", "qty");
  expect_bad("tender.new", "\"service\":\"s\",\"qty\":5,\"deadline_ms\":1", "ceiling");
  expect_bad("tender.new", "\"service\":\"s\",\"qty\":5,\"ceiling\":1", "deadline_ms");
  expect_bad("tender.quote", "\"price\":1", "tender");
  expect_bad("tender.quote", "\"tender\":1", "price");
  expect_bad("auction.run", "", "service");
  imx_request r;
  decode_ok(msg("order.list", ""), &r);
  decode_ok(msg("balance.get", ""), &r);
}

static void test_v_must_be_1(void) {
  expect_error("{\"v\":2,\"type\":\"x\",\"id\":\"r\"}", "bad_field", "v"); /* before type */
  expect_error("{\"type\":\"order.list\",\"id\":\"r\"}", "bad_field", "v");
  expect_error("{\"v\":2,\"type\":\"order.list\",\"id\":\"r\"}", "bad_field", "v");
  expect_error("{\"v\":0,\"type\":\"order.list\",\"id\":\"r\"}", "bad_field", "v");
  expect_error("{\"v\":\"1\",\"type\":\"order.list\",\"id\":\"r\"}", "bad_field", "v");
  expect_error("{\"v\":1.5,\"type\":\"order.list\",\"id\":\"r\"}", "bad_field", "v");
  expect_error("{\"v\":true,\"type\":\"order.list\",\"id\":\"r\"}", "bad_field", "v");
  expect_error("{\"v\":null,\"type\":\"order.list\",\"id\":\"r\"}", "bad_field", "v");
}

static void test_type_must_be_a_request_type(void) {
  expect_bad("order.nuke", "", "type");
  expect_bad("hello.ok", "", "type");
  expect_bad("error", "", "type");
  expect_bad("", "", "type");
  expect_bad("ORDER.NEW", "", "type");
  expect_error("{\"v\":1,\"id\":\"r\"}", "bad_field", "type");
  expect_error("{\"v\":1,\"type\":5,\"id\":\"r\"}", "bad_field", "type");
  expect_error("{\"v\":1,\"type\":[\"hello\"],\"id\":\"r\"}", "bad_field", "type");
}

static void test_id_is_1_to_64_bytes(void) {
  char json[512];
  imx_request r;
  snprintf(json, sizeof json, "{\"v\":1,\"type\":\"order.list\",\"id\":\"%s\"}",
           repeat('i', 64));
  if (decode_ok(json, &r)) CHECK_STR(repeat('i', 64), r.id);
  snprintf(json, sizeof json, "{\"v\":1,\"type\":\"order.list\",\"id\":\"%s\"}",
           repeat('i', 65));
  expect_error(json, "bad_field", "id");
  expect_error("{\"v\":1,\"type\":\"order.list\"}", "bad_field", "id");
  expect_error("{\"v\":1,\"type\":\"order.list\",\"id\":\"\"}", "bad_field", "id");
  expect_error("{\"v\":1,\"type\":\"order.list\",\"id\":7}", "bad_field", "id");
  expect_error("{\"v\":1,\"type\":\"order.list\",\"id\":null}", "bad_field", "id");
  expect_error("{\"v\":1,\"type\":\"order.list\",\"id\":\"a\\u0007\"}", "bad_field", "id");
}

static void test_id_is_kept_for_the_error_reply(void) {
  const char *json = msg("order.new", "\"service\":\"s\",\"side\":\"bid\",\"qty\":0");
  imx_request r;
  imx_proto_error err;
  CHECK_EQ(-1, imx_request_decode(json, strlen(json), &r, &err));
  CHECK_STR("r1", r.id);
  CHECK_STR("qty", err.field);
  /* read before v and type are checked, and before unknown keys */
  json = "{\"id\":\"early\",\"v\":3,\"bogus\":1}";
  CHECK_EQ(-1, imx_request_decode(json, strlen(json), &r, &err));
  CHECK_STR("early", r.id);
  CHECK_STR("v", err.field);
  /* a bad id is not echoed */
  json = "{\"v\":1,\"type\":\"order.list\",\"id\":\"a\\u0001\"}";
  CHECK_EQ(-1, imx_request_decode(json, strlen(json), &r, &err));
  CHECK_STR("", r.id);
  CHECK_EQ(-1, imx_request_decode("[1]", 3, &r, &err));
  CHECK_STR("", r.id);
}

static void test_unknown_key_is_refused_by_name(void) {
  expect_bad("order.list", "\"bogus\":1", "bogus");
  expect_bad("order.new", ORDER_NEW_BASE ",\"Price\":5", "Price");
  expect_bad("order.new", ORDER_NEW_BASE ",\"\":5", "");
}

static void test_a_field_of_another_type_is_unknown(void) {
  expect_bad("order.new", ORDER_NEW_BASE ",\"depth\":5", "depth");
  expect_bad("book.get", "\"service\":\"s\",\"qty\":5", "qty");
  expect_bad("period.close", "\"service\":\"s\"", "service");
  expect_bad("auction.run", "\"service\":\"s\",\"price\":5", "price");
  expect_bad("order.new", ORDER_NEW_BASE ",\"reference\":5", "reference");
  expect_bad("tender.quote", "\"tender\":1,\"price\":1,\"order\":1", "order");
}

static void test_a_key_given_twice_is_refused(void) {
  expect_bad("order.new", ORDER_NEW_BASE ",\"qty\":5", "qty");
  expect_bad("order.list", "\"cc\":\"A\",\"cc\":\"B\"", "cc");
  expect_error("{\"v\":1,\"v\":1,\"type\":\"order.list\",\"id\":\"r\"}", "bad_field", "v");
  expect_error("{\"v\":1,\"type\":\"order.list\",\"type\":\"order.list\",\"id\":\"r\"}",
               "bad_field", "type");
  expect_error("{\"v\":1,\"type\":\"order.list\",\"id\":\"r\",\"id\":\"r\"}",
               "bad_field", "id");
}

/* The first bad member in the document's order is the error, also when a
** duplicate comes after an unknown key: "a" is given twice before "x". */
static void test_a_duplicate_before_an_unknown_key_is_named_first(void) {
  expect_bad("order.list", "\"cc\":\"A\",\"bogus\":1,\"cc\":\"B\"", "cc");
  expect_bad("order.list", "\"bogus\":1,\"cc\":\"A\",\"cc\":\"B\"", "bogus");
  expect_error("{\"v\":1,\"type\":\"order.list\",\"depth\":1,\"id\":\"r\",\"v\":1}",
               "bad_field", "v");
}

/* The check before imx_json_members: every member against every allowed
** key and every later member. The reference for the test below. */
static int keys_reference(const cJSON *obj, const char *const *allowed,
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

/* 20,000 random objects of keys from a small alphabet (so that duplicates
** and unknown keys are frequent, and names share first bytes), against
** random allowed lists: the same verdict, field and message. */
static void test_key_check_agrees_with_the_quadratic_reference(void) {
  static const char *const alphabet[] = {"a", "ab", "b", "ba", "", "abc", "c", "v"};
  enum { ALPHABET = sizeof alphabet / sizeof alphabet[0] };
  uint64_t seed = 12345;
  int verdicts[3] = {0}; /* accepted, unknown, given twice */
  for (int round = 0; round < 20000; round++) {
    const char *allowed[ALPHABET + 1];
    char json[512] = "{";
    size_t n_allowed = 0, len = 1;
    seed = seed * 6364136223846793005u + 1442695040888963407u;
    for (int i = 0; i < ALPHABET; i++)
      if ((seed >> (33 + i)) & 1) allowed[n_allowed++] = alphabet[i];
    allowed[n_allowed] = NULL;
    int members = (int)((seed >> 20) % 9);
    for (int m = 0; m < members; m++) {
      seed = seed * 6364136223846793005u + 1442695040888963407u;
      len += (size_t)snprintf(json + len, sizeof json - len, "%s\"%s\":%d",
                              m ? "," : "", alphabet[(seed >> 40) % ALPHABET], m);
    }
    snprintf(json + len, sizeof json - len, "}");
    imx_proto_error want = {0}, got = {0};
    cJSON *doc = imx_json_parse(json, strlen(json), &got);
    CHECK(doc != NULL);
    if (doc == NULL) continue;
    int rc_want = keys_reference(doc, allowed, &want);
    int rc_got = imx_json_check_keys(doc, allowed, &got);
    cJSON_Delete(doc);
    CHECK_EQ(rc_want, rc_got);
    if (rc_want != 0 && rc_got != 0) {
      CHECK_STR(want.field, got.field);
      CHECK_STR(want.message, got.message);
    }
    if (rc_want != rc_got || (rc_want && (strcmp(want.field, got.field) ||
                                          strcmp(want.message, got.message)))) {
      fprintf(stderr, "  differs on %s\n", json);
      return;
    }
    verdicts[rc_want == 0 ? 0 : strcmp(want.message, "unknown field") == 0 ? 1 : 2]++;
  }
  for (int i = 0; i < 3; i++) CHECK(verdicts[i] > 2000); /* each well covered */
}

/* items[i] is the first member named names[i]; a name whose bit is clear
** is an unknown key, and an absent one is NULL. */
static void test_members_finds_each_allowed_key(void) {
  static const char *const names[] = {"x", "y", "z", "w", NULL};
  const char *json = "{\"z\":3,\"x\":1}";
  imx_proto_error err = {0};
  const cJSON *items[4];
  cJSON *doc = imx_json_parse(json, strlen(json), &err);
  CHECK(doc != NULL);
  if (doc == NULL) return;
  CHECK_EQ(0, imx_json_members(doc, names, 0x7, items, &err));
  CHECK(items[0] != NULL && items[0]->valuedouble == 1);
  CHECK(items[1] == NULL);
  CHECK(items[2] != NULL && items[2]->valuedouble == 3);
  CHECK(items[3] == NULL);
  CHECK_EQ(-1, imx_json_members(doc, names, 0x3, items, &err));
  CHECK_STR("z", err.field);
  CHECK_STR("unknown field", err.message);
  cJSON_Delete(doc);
}

/* The limit of 64 names: the 64th is found like the first. */
static void test_key_check_takes_64_names(void) {
  static char text[IMX_JSON_NAMES_MAX][8];
  const char *names[IMX_JSON_NAMES_MAX + 1];
  for (int i = 0; i < IMX_JSON_NAMES_MAX; i++) {
    snprintf(text[i], sizeof text[i], "k%d", i);
    names[i] = text[i];
  }
  names[IMX_JSON_NAMES_MAX] = NULL;
  const char *json = "{\"k63\":1,\"k0\":2,\"k32\":3}";
  imx_proto_error err = {0};
  cJSON *doc = imx_json_parse(json, strlen(json), &err);
  CHECK(doc != NULL);
  if (doc == NULL) return;
  CHECK_EQ(0, imx_json_check_keys(doc, names, &err));
  names[IMX_JSON_NAMES_MAX - 1] = "k64";
  CHECK_EQ(-1, imx_json_check_keys(doc, names, &err));
  CHECK_STR("k63", err.field);
  cJSON_Delete(doc);
}

/* ------------------------------------------- requests: the scratch arena */

/* n bytes of c, each written as \u00XX: the longest text for a string. */
static const char *escaped(char c, size_t n) {
  static char text[2][6 * 128 + 1];
  static int which;
  which ^= 1;
  for (size_t i = 0; i < n; i++)
    snprintf(text[which] + 6 * i, 7, "\\u%04x", (unsigned char)c);
  text[which][6 * n] = '\0';
  return text[which];
}

/* The request with the most members and the longest strings, each byte
** escaped, and room to spare: all of it in the arena, nothing from malloc. */
static void test_the_largest_request_fits_the_arena(void) {
  static char json[16384];
  int n = snprintf(json, sizeof json,
                   "{\"v\":1,\"type\":\"order.new\",\"id\":\"%s\",", escaped('i', 64));
  n += snprintf(json + n, sizeof json - (size_t)n, "\"cc\":\"%s\",", escaped('c', 64));
  n += snprintf(json + n, sizeof json - (size_t)n, "\"token\":\"%s\",",
                escaped('t', 128));
  n += snprintf(json + n, sizeof json - (size_t)n, "\"service\":\"%s\",",
                escaped('s', 64));
  n += snprintf(json + n, sizeof json - (size_t)n, "%s",
                "\"side\":\"offer\",\"qty\":1000000000,\"price\":1000000000,"
                "\"tif\":\"period\",\"aon\":false");
  memset(json + n, ' ', 4096); /* whitespace: only the copy of the text grows */
  snprintf(json + n + 4096, sizeof json - (size_t)n - 4096, "}");
  imx_request r;
  if (!decode_ok(json, &r)) return;
  CHECK_EQ(0, imx_json_scratch_fallbacks());
  CHECK_STR(repeat('t', 128), r.token);
  CHECK_EQ(1000000000, r.price_minor);
}

/* {"v":1,"type":"order.list","id":"r1","bogus":[1,1,...]}: more nodes
** than the arena holds, the rest from malloc (and freed: ASan's leak check
** in the sanitizer build), and the arena empty again for the next one. */
static void test_a_message_larger_than_the_arena_falls_back_to_malloc(void) {
  static char json[IMX_MSG_BYTES_MAX];
  int n = snprintf(json, sizeof json,
                   "{\"v\":1,\"type\":\"order.list\",\"id\":\"r1\",\"bogus\":[1");
  while ((size_t)n < sizeof json - 8) n += snprintf(json + n, sizeof json - (size_t)n, ",1");
  snprintf(json + n, sizeof json - (size_t)n, "]}");
  expect_error(json, "bad_field", "bogus");
  CHECK(imx_json_scratch_fallbacks() > 10000);
  imx_request r;
  if (decode_ok(msg("order.new", ORDER_NEW_BASE), &r)) CHECK_STR("it.hour", r.service);
  CHECK_EQ(0, imx_json_scratch_fallbacks());
  /* a request padded to the limit: its copy from malloc, its nodes not */
  int m = snprintf(json, sizeof json, "{\"v\":1,\"type\":\"order.list\",\"id\":\"r2\"");
  memset(json + m, ' ', sizeof json - (size_t)m - 2);
  snprintf(json + sizeof json - 2, 2, "}");
  CHECK_EQ(0, imx_request_decode(json, sizeof json - 1, &r, &(imx_proto_error){0}));
  CHECK_STR("r2", r.id);
  CHECK_EQ(1, imx_json_scratch_fallbacks());
}

/* A document of imx_json_parse (the market file's, the simulator's) lives
** on malloc, also when it is parsed while a scratch document is open on
** the same thread, and outlives that document's end. */
static void test_a_plain_document_outlives_a_scratch_document(void) {
  imx_proto_error err = {0};
  cJSON *scratch = imx_json_parse_scratch("{\"a\":1}", 7, &err);
  cJSON *plain = imx_json_parse("{\"b\":\"kept\"}", 12, &err);
  CHECK(scratch != NULL && plain != NULL);
  if (scratch == NULL || plain == NULL) return;
  imx_json_scratch_end(scratch);
  const char *b = NULL;
  CHECK_EQ(0, imx_json_string(plain, "b", IMX_NAME_BYTES_MAX, &b, &err));
  CHECK_STR("kept", b);
  cJSON_Delete(plain);
  /* a scratch parse that fails leaves nothing open */
  CHECK(imx_json_parse_scratch("{\"a\":", 5, &err) == NULL);
  CHECK_STR("bad_json", err.code);
  scratch = imx_json_parse_scratch("[]", 2, &err);
  CHECK(scratch != NULL);
  if (scratch != NULL) imx_json_scratch_end(scratch);
}

/* Each thread has its own arena: two threads decoding different requests
** at once read each its own. POSIX threads, not C11's thrd_create: glibc
** starts those through an internal call that gcc's ThreadSanitizer does not
** intercept, so under ./imx-dev tsan the new thread had no TSan state and
** the test crashed in TSan's runtime (SEGV in __tsan_func_entry). */
static void *decode_many(void *arg) {
  const char *service = arg;
  char fields[128];
  snprintf(fields, sizeof fields, "\"service\":\"%s\",\"side\":\"bid\",\"qty\":5",
           service);
  char json[256];
  snprintf(json, sizeof json, "{\"v\":1,\"type\":\"order.new\",\"id\":\"r1\",%s}",
           fields);
  for (int i = 0; i < 20000; i++) {
    imx_request r;
    imx_proto_error err;
    if (imx_request_decode(json, strlen(json), &r, &err) != 0 ||
        strcmp(r.service, service) != 0 || r.qty != 5)
      return "a decode failed or read the other thread's request";
  }
  return NULL;
}

static void test_threads_decode_in_their_own_arenas(void) {
  pthread_t a, b;
  void *rc_a = "not joined", *rc_b = "not joined";
  CHECK_EQ(0, pthread_create(&a, NULL, decode_many, "first.service"));
  CHECK_EQ(0, pthread_create(&b, NULL, decode_many, "second"));
  pthread_join(a, &rc_a);
  pthread_join(b, &rc_b);
  CHECK(rc_a == NULL);
  CHECK(rc_b == NULL);
}

static void test_qty_is_validated(void) {
  check_int_field("order.new", "\"service\":\"s\",\"side\":\"bid\"", "qty", 1,
                  1000000000, 1);
  check_int_field("tender.new",
                  "\"service\":\"s\",\"ceiling\":1,\"deadline_ms\":1", "qty", 1,
                  1000000000, 1);
}

static void test_price_is_validated(void) {
  check_int_field("order.new", ORDER_NEW_BASE, "price", 1, 1000000000, 0);
  check_int_field("tender.quote", "\"tender\":1", "price", 1, 1000000000, 1);
}

static void test_ceiling_is_validated(void) {
  check_int_field("tender.new", "\"service\":\"s\",\"qty\":1,\"deadline_ms\":1",
                  "ceiling", 1, 1000000000, 1);
}

static void test_deadline_ms_is_1_ms_to_30_days(void) {
  check_int_field("tender.new", "\"service\":\"s\",\"qty\":1,\"ceiling\":1",
                  "deadline_ms", 1, 30LL * 24 * 3600 * 1000, 1);
}

/* 2^53 + 1 reads as the double 2^53, so 2^53 itself is ambiguous: the
** largest id is 2^53 - 1. */
static void test_order_and_tender_ids_are_exact(void) {
  check_int_field("order.cancel", "", "order", 1, 9007199254740991LL, 1);
  check_int_field("tender.quote", "\"price\":1", "tender", 1, 9007199254740991LL, 1);
  expect_bad("order.cancel", "\"order\":9007199254740992", "order");
  expect_bad("order.cancel", "\"order\":9007199254740993", "order");
  expect_bad("order.cancel", "\"order\":18446744073709551617", "order");
}

static void test_depth_is_1_to_100(void) {
  check_int_field("book.get", "\"service\":\"s\"", "depth", 1, 100, 0);
}

static void test_limit_is_1_to_1000(void) {
  check_int_field("trades.list", "", "limit", 1, 1000, 0);
}

static void test_after_is_0_to_2_pow_53_minus_1(void) {
  check_int_field("trades.list", "", "after", 0, 9007199254740991LL, 0);
  expect_bad("trades.list", "\"after\":9007199254740992", "after");
  expect_bad("trades.list", "\"after\":\"\"", "after");
  expect_bad("book.get", "\"service\":\"s\",\"after\":1", "after");
}

static void test_reference_is_validated(void) {
  check_int_field("auction.run", "\"service\":\"s\"", "reference", 1,
                  1000000000, 0);
}

static void test_fractions_are_refused(void) {
  expect_bad("order.new", ORDER_NEW_BASE ",\"price\":100.5", "price");
  expect_bad("order.new", "\"service\":\"s\",\"side\":\"bid\",\"qty\":1e-1", "qty");
  expect_bad("book.get", "\"service\":\"s\",\"depth\":9.999", "depth");
}

static void test_side_is_bid_or_offer(void) {
  imx_request r;
  const char *base = "\"service\":\"s\",\"qty\":1";
  if (decode_ok(msg("order.new", with(base, "side", "\"bid\"")), &r))
    CHECK_EQ(IMX_PSIDE_BID, r.side);
  if (decode_ok(msg("order.new", with(base, "side", "\"offer\"")), &r))
    CHECK_EQ(IMX_PSIDE_OFFER, r.side);
  static const char *const bad[] = {"\"none\"", "\"buy\"", "\"BID\"", "\"\"",
                                    "0", "null", "true", "[\"bid\"]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_bad("order.new", with(base, "side", bad[i]), "side");
}

static void test_tif_is_gtc_period_ioc_or_fok(void) {
  static const char *const words[] = {"\"gtc\"", "\"period\"", "\"ioc\"", "\"fok\""};
  imx_request r;
  for (int i = 0; i < 4; i++)
    if (decode_ok(msg("order.new", with(ORDER_NEW_BASE, "tif", words[i])), &r))
      CHECK_EQ(i, r.tif);
  static const char *const bad[] = {"\"day\"", "\"GTC\"", "0", "null", "\"\""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_bad("order.new", with(ORDER_NEW_BASE, "tif", bad[i]), "tif");
}

static void test_aon_is_a_boolean(void) {
  imx_request r;
  if (decode_ok(msg("order.new", with(ORDER_NEW_BASE, "aon", "true")), &r))
    CHECK_EQ(1, r.aon);
  if (decode_ok(msg("order.new", with(ORDER_NEW_BASE, "aon", "false")), &r))
    CHECK_EQ(0, r.aon);
  static const char *const bad[] = {"1", "0", "\"true\"", "null", "[]"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_bad("order.new", with(ORDER_NEW_BASE, "aon", bad[i]), "aon");
}

static void test_min_stars_is_tenths_10_to_50_and_allow_unrated_a_boolean(void) {
  imx_request r;
  if (decode_ok(msg("order.new", with(ORDER_NEW_BASE, "min_stars", "45")), &r)) {
    CHECK_EQ(45, r.min_stars);
    CHECK_EQ(0, r.allow_unrated);
  }
  if (decode_ok(msg("order.new", with(ORDER_NEW_BASE ",\"min_stars\":10",
                                      "allow_unrated", "true")), &r)) {
    CHECK_EQ(10, r.min_stars);
    CHECK_EQ(1, r.allow_unrated);
    round_trip_request(&r); /* both fields on the wire, decoded the same */
  }
  static const char *const bad[] = {"9", "51", "0", "4.5", "45.0", "\"45\"", "null", "-45"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_bad("order.new", with(ORDER_NEW_BASE, "min_stars", bad[i]), "min_stars");
  static const char *const bad_flag[] = {"1", "\"true\"", "null"};
  for (size_t i = 0; i < sizeof bad_flag / sizeof bad_flag[0]; i++)
    expect_bad("order.new", with(ORDER_NEW_BASE, "allow_unrated", bad_flag[i]),
               "allow_unrated");
  /* Only order.new has them. */
  expect_bad("order.modify", "\"order\":1,\"qty\":2,\"min_stars\":45", "min_stars");
}

static void test_cc_is_validated(void) {
  check_string_field("order.list", "", "cc", IMX_NAME_BYTES_MAX, 0);
  check_string_field("hello", "\"token\":\"t\"", "cc", IMX_NAME_BYTES_MAX, 0);
}

static void test_token_is_validated(void) {
  check_string_field("order.list", "", "token", IMX_TOKEN_BYTES_MAX, 0);
  check_string_field("hello", "\"cc\":\"c\"", "token", IMX_TOKEN_BYTES_MAX, 1);
}

static void test_service_is_validated(void) {
  check_string_field("order.new", "\"side\":\"bid\",\"qty\":1", "service",
                     IMX_NAME_BYTES_MAX, 1);
  check_string_field("trades.list", "", "service", IMX_NAME_BYTES_MAX, 0);
  check_string_field("book.get", "", "service", IMX_NAME_BYTES_MAX, 1);
}

/* ---------------------------------------------------------- error codes */

static void test_not_json_is_bad_json(void) {
  expect_error("{", "bad_json", "message");
  expect_error("{\"v\":1,}", "bad_json", "message");
  expect_error("hello", "bad_json", "message");
  expect_error("{'v':1}", "bad_json", "message");
  expect_error("   ", "bad_json", "message");
  expect_error_n("", 0, "bad_json", "message", "(empty)");
}

static void test_not_an_object_is_bad_json(void) {
  expect_error("[1,2]", "bad_json", "message");
  expect_error("\"order.new\"", "bad_json", "message");
  expect_error("42", "bad_json", "message");
  expect_error("null", "bad_json", "message");
  expect_error("true", "bad_json", "message");
}

static void test_a_nul_byte_inside_is_bad_json(void) {
  static const char json[] = "{\"v\":1,\"type\":\"order.list\",\"id\":\"r\0x\"}";
  expect_error_n(json, sizeof json - 1, "bad_json", "message", "NUL in id");
  static const char after[] = "{\"v\":1,\"type\":\"order.list\",\"id\":\"r\"}\0";
  expect_error_n(after, sizeof after - 1, "bad_json", "message", "NUL after");
}

static void test_trailing_garbage_is_bad_json(void) {
  expect_error("{\"v\":1,\"type\":\"order.list\",\"id\":\"r\"}x", "bad_json", "message");
  expect_error("{\"v\":1,\"type\":\"order.list\",\"id\":\"r\"}{}", "bad_json", "message");
  expect_error("{\"v\":1,\"type\":\"order.list\",\"id\":\"r\"} 1", "bad_json", "message");
}

static void test_too_large_is_refused_before_parsing(void) {
  char *big = malloc(IMX_MSG_BYTES_MAX + 1);
  CHECK(big != NULL);
  if (big == NULL) return;
  memset(big, '{', IMX_MSG_BYTES_MAX + 1); /* not JSON: too_large wins */
  expect_error_n(big, IMX_MSG_BYTES_MAX + 1, "too_large", "message", "64 KiB + 1");
  /* exactly 64 KiB of a valid request (padded with spaces) is fine */
  const char *json = "{\"v\":1,\"type\":\"order.list\",\"id\":\"r\"}";
  memset(big, ' ', IMX_MSG_BYTES_MAX);
  memcpy(big, json, strlen(json));
  imx_request r;
  imx_proto_error err;
  CHECK_EQ(0, imx_request_decode(big, IMX_MSG_BYTES_MAX, &r, &err));
  big[IMX_MSG_BYTES_MAX] = ' ';
  expect_error_n(big, IMX_MSG_BYTES_MAX + 1, "too_large", "message", "padded");
  free(big);
}

static void test_decode_reads_exactly_len_bytes(void) {
  /* no NUL after the message: ASan would see a read past the end */
  const char *json = "{\"v\":1,\"type\":\"book.get\",\"id\":\"r\",\"service\":\"s\"}";
  size_t n = strlen(json);
  char *exact = malloc(n);
  CHECK(exact != NULL);
  if (exact == NULL) return;
  memcpy(exact, json, n);
  imx_request r;
  imx_proto_error err;
  CHECK_EQ(0, imx_request_decode(exact, n, &r, &err));
  CHECK_STR("s", r.service);
  /* a prefix of a longer buffer: the rest is not looked at */
  CHECK_EQ(-1, imx_request_decode(exact, n - 1, &r, &err));
  CHECK_STR("bad_json", err.code);
  free(exact);
  const char *longer = "{\"v\":1,\"type\":\"order.list\",\"id\":\"r\"}GARBAGE";
  CHECK_EQ(0, imx_request_decode(longer, strlen(longer) - 7, &r, &err));
}

/* ---------------------------------------------------- discovery requests */

static void test_discovery_requests_round_trip(void) {
  imx_request x = request(IMX_MSG_SERVICES_LIST, "s1");
  x.limit = 100;
  round_trip_request(&x);
  strcpy(x.start, "it.hour");
  x.limit = IMX_LIST_MAX;
  round_trip_request(&x);
  x = request(IMX_MSG_CC_LIST, "c1");
  x.limit = 1;
  strcpy(x.start, "CC-4100");
  round_trip_request(&x);
  x = request(IMX_MSG_CC_GET, "g1");
  round_trip_request(&x); /* the asker itself */
  strcpy(x.cc, "CC-4100");
  round_trip_request(&x);
}

static void test_discovery_lists_default_to_100_from_the_first(void) {
  imx_request r;
  if (decode_ok(msg("services.list", ""), &r)) {
    CHECK_EQ(IMX_MSG_SERVICES_LIST, r.type);
    CHECK_EQ(100, r.limit);
    CHECK_STR("", r.start);
  }
  if (decode_ok(msg("cc.list", "\"start\":\"CC-7\",\"limit\":3"), &r)) {
    CHECK_EQ(IMX_MSG_CC_LIST, r.type);
    CHECK_EQ(3, r.limit);
    CHECK_STR("CC-7", r.start);
  }
  if (decode_ok(msg("cc.get", "\"cc\":\"CC-7\""), &r)) {
    CHECK_EQ(IMX_MSG_CC_GET, r.type);
    CHECK_STR("CC-7", r.cc);
    CHECK_EQ(0, r.limit);
  }
}

static void test_discovery_request_fields_are_validated(void) {
  expect_bad("services.list", "\"start\":\"\"", "start");
  expect_bad("services.list", "\"start\":7", "start");
  expect_bad("cc.list", "\"limit\":0", "limit");
  expect_bad("cc.list", "\"limit\":1001", "limit");
  expect_bad("services.list", "\"service\":\"it.hour\"", "service");
  expect_bad("cc.get", "\"start\":\"CC-1\"", "start");
  expect_bad("cc.get", "\"limit\":5", "limit");
  expect_bad("book.get", "\"service\":\"s\",\"start\":\"x\"", "start");
}

/* ------------------------------------------------------ replies: round trips */

static void test_hello_ok_round_trips_every_set_of_roles(void) {
  for (unsigned roles = 0; roles < 16; roles++) {
    imx_reply x = reply(IMX_MSG_HELLO, "h1");
    strcpy(x.cc, "CC-4100");
    x.roles = roles;
    strcpy(x.currency, roles & 1 ? "EUR" : "JPY");
    x.decimals = (int)(roles % (IMX_DECIMALS_MAX + 1));
    round_trip_reply(&x);
  }
}

static imx_reply_trade trades_[3] = {
    {1, "it.hour", "CC-1400", "CC-4100", 5, 4500, 1700000000000, 7, 3},
    {2, "it.hour", "CC-1400", "CC-6100", 1000000000, 1000000000, 0, 0, 0},
    {9007199254740991ull, "truck.day", "A\"b", "c\\d", 0, 0, 9007199254740991LL,
     9007199254740991ull, 1}};

static void test_order_new_ok_round_trips(void) {
  imx_reply x = reply(IMX_MSG_ORDER_NEW, "o1");
  x.order = 42, x.status = 0, x.qty_open = 5, x.qty_filled = 0;
  round_trip_reply(&x); /* no fills: "trades":[] */
  x.status = 1, x.qty_open = 0, x.qty_filled = 10;
  x.trades = trades_, x.trades_n = 3;
  round_trip_reply(&x);
  x.status = 2, x.qty_open = 0, x.qty_filled = 5, x.trades_n = 1;
  strcpy(x.reason, "self_trade");
  round_trip_reply(&x);
}

static void test_order_cancel_ok_round_trips(void) {
  imx_reply x = reply(IMX_MSG_ORDER_CANCEL, "c1");
  x.order = 17, x.qty = 3;
  round_trip_reply(&x);
}

static void test_order_list_ok_round_trips(void) {
  imx_reply_order orders[2] = {
      {7, "it.hour", IMX_PSIDE_OFFER, IMX_PTIF_PERIOD, 1, 4500, 10, 6, 4, 0, 0},
      {8, "truck.day", IMX_PSIDE_BID, IMX_PTIF_GTC, 0, 0, 3, 3, 0, 45, 1}};
  imx_reply x = reply(IMX_MSG_ORDER_LIST, "l1");
  round_trip_reply(&x);
  x.orders = orders, x.orders_n = 2;
  round_trip_reply(&x);
  CHECK(strstr(out_, "\"price\":null") != NULL); /* the market order */
}

static void test_book_get_ok_round_trips(void) {
  imx_reply_level bids[2] = {{4500, 10, 2}, {4400, 1, 1}};
  imx_reply_level offers[1] = {{4600, 7, UINT32_MAX}};
  imx_reply x = reply(IMX_MSG_BOOK_GET, "b1");
  strcpy(x.service, "it.hour");
  round_trip_reply(&x);
  x.bids = bids, x.bids_n = 2, x.offers = offers, x.offers_n = 1;
  round_trip_reply(&x);
}

static void test_book_get_ok_offers_with_providers_round_trip(void) {
  imx_reply_level offers[1] = {{4600, 12, 2}};
  imx_reply_offer rows[3] = {
      {4600, 5, 0, 0, "CC-4100", "IT Service Desk Hamburg", "Hamburg", {"", 0, 0, 0, 0}},
      {4600, 7, 1, 42, "CC-4200", "M\xc3\xbcnchen \"Nord\"", "", {"", 10, 43, 2, 9}},
      {0, 3, 0, 9007199254740991ull, "x", "y", "z", {"", 0, 0, 0, 0}}}; /* a market order */
  imx_reply x = reply(IMX_MSG_BOOK_GET, "b2");
  strcpy(x.service, "it.hour");
  x.offers = offers, x.offers_n = 1;
  x.offer_orders = rows, x.offer_orders_n = 3;
  round_trip_reply(&x);
  CHECK(imx_reply_encode(&x, out_, sizeof out_) > 0);
  /* the order id only where given (the asker's own offer) */
  CHECK(strstr(out_, "{\"price\":4600,\"qty\":5,\"aon\":false,\"cc\":\"CC-4100\","
                     "\"name\":\"IT Service Desk Hamburg\",\"site\":\"Hamburg\",\"ratings\":0,"
                     "\"stars_sum\":0,\"ratings_90d\":0,\"stars_sum_90d\":0}") != NULL);
  CHECK(strstr(out_, "\"site\":\"\",\"order\":42,\"ratings\":10,\"stars_sum\":43,"
                     "\"ratings_90d\":2,\"stars_sum_90d\":9}") != NULL);
  CHECK(strstr(out_, "{\"price\":null,\"qty\":3,") != NULL);
}

static imx_reply_service services_[2] = {
    {"it.hour", "IT helpdesk hour", "Support by \"phone\", billed per hour.",
     "hour", "EUR", 0, 1, 100, 1, 50000, 2, 8400, 3, 8500, 10, 8500, 4,
     1718000000000, {"", 7, 30, 1, 5},
     {{"de", "IT-Helpdesk-Stunde", "", "Stunde"}, {"fr", "", "Assistance \"t\u00e9l\u00e9phone\"", ""}},
     2},
    {"truck.day", "truck.day", "", "day", "EUR", 1, 0, 500, 1, 0, 0, 0, 0, 0, 0,
     0, 0, 0, {"", 0, 0, 0, 0}, {{"", "", "", ""}}, 0}};

static void test_services_list_ok_round_trips(void) {
  imx_reply x = reply(IMX_MSG_SERVICES_LIST, "s1");
  round_trip_reply(&x); /* an empty market */
  x.services = services_, x.services_n = 2;
  round_trip_reply(&x);
  strcpy(x.next, "lab.test");
  round_trip_reply(&x);
}

static void test_services_list_ok_is_the_documented_json(void) {
  imx_reply x = reply(IMX_MSG_SERVICES_LIST, "s1");
  x.services = services_ + 1, x.services_n = 1;
  strcpy(x.next, "z");
  CHECK(imx_reply_encode(&x, out_, sizeof out_) > 0);
  CHECK_STR("{\"v\":1,\"type\":\"services.list.ok\",\"id\":\"s1\",\"services\":["
            "{\"service\":\"truck.day\",\"name\":\"truck.day\",\"description\":\"\","
            "\"unit\":\"day\",\"currency\":\"EUR\",\"mode\":\"auction\","
            "\"divisible\":false,\"tick\":500,\"lot\":1,\"price_cap\":null,"
            "\"providers\":0,\"bid\":null,\"bid_qty\":0,\"offer\":null,"
            "\"offer_qty\":0,\"last_price\":null,\"last_qty\":0,"
            "\"last_time_ms\":null,\"ratings\":0,\"stars_sum\":0,\"ratings_90d\":0,"
            "\"stars_sum_90d\":0}],\"next\":\"z\"}",
            out_);
}

/* A service's translations: only the texts given, in the file's order. */
static void test_services_list_translations_are_the_documented_json(void) {
  imx_reply x = reply(IMX_MSG_SERVICES_LIST, "s1");
  x.services = services_, x.services_n = 1;
  CHECK(imx_reply_encode(&x, out_, sizeof out_) > 0);
  CHECK(strstr(out_, "\"stars_sum_90d\":5,\"translations\":{\"de\":{\"name\":"
                     "\"IT-Helpdesk-Stunde\",\"unit\":\"Stunde\"},\"fr\":{\"description\":"
                     "\"Assistance \\\"t\u00e9l\u00e9phone\\\"\"}}}]") != NULL);
  imx_proto_error err;
  imx_reply d;
  /* a language with no text, or not an object, is refused */
  static const char *bad[] = {
      "\"translations\":[]", "\"translations\":{\"de\":\"x\"}",
      "\"translations\":{\"deu\":{\"name\":\"x\"}}",
      "\"translations\":{\"de\":{\"title\":\"x\"}}",
      "\"translations\":{\"de\":{}}", "\"translations\":{\"DE\":{\"name\":\"x\"}}",
      "\"translations\":{\"a1\":{},\"b1\":{},\"c1\":{},\"d1\":{},\"e1\":{}}"};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char msg[1024];
    snprintf(msg, sizeof msg,
             "{\"v\":1,\"type\":\"services.list.ok\",\"id\":\"s1\",\"services\":["
             "{\"service\":\"a\",\"name\":\"a\",\"description\":\"\",\"unit\":\"u\","
             "\"currency\":\"EUR\",\"mode\":\"auction\",\"divisible\":false,\"tick\":1,"
             "\"lot\":1,\"price_cap\":null,\"providers\":0,\"bid\":null,\"bid_qty\":0,"
             "\"offer\":null,\"offer_qty\":0,\"last_price\":null,\"last_qty\":0,"
             "\"last_time_ms\":null,\"ratings\":0,\"stars_sum\":0,\"ratings_90d\":0,"
             "\"stars_sum_90d\":0,%s}]}",
             bad[i]);
    CHECK(imx_reply_decode(msg, strlen(msg), &d, &err) != 0);
    CHECK_STR("services[0].translations", err.field);
  }
}

static void test_cc_list_and_get_ok_round_trip(void) {
  const char *offers[2] = {"it.hour", "truck.day"};
  imx_reply_cc rows[3] = {
      {"CC-4100", "IT Service Desk", "Hamburg", IMX_ROLE_PROVIDER, offers, 2, 0, 0,
       NULL, 0},
      {"CC-1100", "Sales North", "", IMX_ROLE_RECEIVER | IMX_ROLE_FINANCE, NULL,
       0, 1, 6000000, NULL, 0},
      {"CC-0", "Zero", "X", 0, NULL, 0, 1, 0, NULL, 0}};
  imx_reply x = reply(IMX_MSG_CC_LIST, "c1");
  round_trip_reply(&x);
  x.ccs = rows, x.ccs_n = 3;
  round_trip_reply(&x);
  strcpy(x.next, "CC-9000");
  round_trip_reply(&x);
  CHECK(imx_reply_encode(&x, out_, sizeof out_) > 0);
  CHECK(strstr(out_, "{\"cc\":\"CC-4100\",\"name\":\"IT Service Desk\",\"site\":"
                     "\"Hamburg\",\"roles\":[\"provider\"],\"services\":[\"it.hour\","
                     "\"truck.day\"]}") != NULL); /* no budget: not shown */
  CHECK(strstr(out_, "\"services\":[],\"budget\":6000000}") != NULL);
  for (uint32_t i = 0; i < 3; i++) {
    x = reply(IMX_MSG_CC_GET, "g1");
    x.ccs = rows + i, x.ccs_n = 1;
    round_trip_reply(&x);
  }
  CHECK(imx_reply_encode(&x, out_, sizeof out_) > 0);
  CHECK_STR("{\"v\":1,\"type\":\"cc.get.ok\",\"id\":\"g1\",\"cc\":\"CC-0\","
            "\"name\":\"Zero\",\"site\":\"X\",\"roles\":[],\"services\":[],"
            "\"budget\":0}",
            out_);
}

static void expect_reply_error(const char *json, const char *field);

static void test_discovery_reply_decode_is_strict(void) {
  static const char head[] = "{\"v\":1,\"type\":\"cc.list.ok\",\"id\":\"c\",\"ccs\":";
  char json[1024];
  snprintf(json, sizeof json, "%s[{\"cc\":\"A\",\"name\":\"a\",\"site\":\"\","
           "\"roles\":[],\"services\":[\"s\",7]}]}", head);
  expect_reply_error(json, "ccs[0].services");
  snprintf(json, sizeof json, "%s[{\"cc\":\"A\",\"name\":\"a\",\"site\":\"\","
           "\"roles\":[],\"services\":[],\"colour\":1}]}", head);
  expect_reply_error(json, "ccs[0].colour");
  snprintf(json, sizeof json, "%s[{\"cc\":\"A\",\"name\":\"a\",\"site\":\"\","
           "\"roles\":[],\"services\":[\"s\"]},{\"cc\":\"B\"}]}", head);
  expect_reply_error(json, "ccs[1].name"); /* the first row's list is freed */
  expect_reply_error("{\"v\":1,\"type\":\"services.list.ok\",\"id\":\"s\","
                     "\"services\":[{\"service\":\"a\"}]}",
                     "services[0].name");
  expect_reply_error("{\"v\":1,\"type\":\"book.get.ok\",\"id\":\"b\",\"service\":"
                     "\"s\",\"bids\":[],\"offers\":[]}",
                     "offer_orders");
}

static void test_trades_list_ok_round_trips(void) {
  imx_reply x = reply(IMX_MSG_TRADES_LIST, "t1");
  round_trip_reply(&x);
  x.trades = trades_, x.trades_n = 3;
  round_trip_reply(&x);
}

static void test_balance_get_ok_round_trips(void) {
  imx_reply_capacity caps[2] = {{"it.hour", 400, 10, 20, 370},
                                {"truck.day", 0, 0, 0, 0}};
  imx_reply x = reply(IMX_MSG_BALANCE_GET, "g1");
  strcpy(x.cc, "CC-4100");
  x.budget = 1000000, x.reserved = 2000, x.spent = 3000, x.earned = 4000;
  x.available = -5000;
  round_trip_reply(&x);
  x.capacities = caps, x.capacities_n = 2;
  round_trip_reply(&x);
}

static void test_tender_replies_round_trip(void) {
  imx_reply x = reply(IMX_MSG_TENDER_NEW, "tn");
  x.tender = 5;
  round_trip_reply(&x);
  x = reply(IMX_MSG_TENDER_QUOTE, "tq");
  x.tender = 5, x.quote = 2;
  round_trip_reply(&x);
}

static void test_tender_decision_replies_round_trip(void) {
  imx_reply x = reply(IMX_MSG_TENDER_AWARD, "ta");
  imx_reply_trade t = {.trade = 3, .service = "truck.day", .buyer = "CC-1100",
                       .seller = "CC-6100", .qty = 2, .price_minor = 45000,
                       .time_ms = 1700000000000, .buy_order = 1, .sell_order = 2};
  x.tender = 1, x.quote = 2, x.trades = &t, x.trades_n = 1;
  round_trip_reply(&x);
  x = reply(IMX_MSG_TENDER_CANCEL, "tx");
  x.tender = 4;
  round_trip_reply(&x);
  CHECK_STR("{\"v\":1,\"type\":\"tender.cancel.ok\",\"id\":\"tx\",\"tender\":4}",
            out_);
  x = reply(IMX_MSG_QUOTE_WITHDRAW, "qw");
  x.tender = 4, x.quote = 9;
  round_trip_reply(&x);
}

static void test_tender_list_and_get_replies_round_trip(void) {
  imx_reply_tender rows[2] = {
      {.tender = 1, .service = "truck.day", .buyer = "CC-1100", .qty = 2,
       .ceiling_minor = 45000, .deadline_time_ms = 1700000060000,
       .decide = IMX_PDECIDE_CHOOSE, .quotes = 2},
      {.tender = 7, .service = "it.hour", .buyer = "CC-1200", .qty = 1,
       .ceiling_minor = 100, .deadline_time_ms = 1, .quotes = 1,
       .my_quote = 5, .my_price_minor = 90}};
  imx_reply x = reply(IMX_MSG_TENDER_LIST, "tl");
  x.tenders = rows, x.tenders_n = 2;
  round_trip_reply(&x);
  CHECK(strstr(out_, "\"my_quote\":5,\"my_price\":90") != NULL);
  x.tenders_n = 0;
  round_trip_reply(&x);
  imx_reply_quote quotes[2] = {
      {.quote = 1, .provider = "CC-6100", .name = "Fleet \"Nord\"",
       .site = "Hamburg", .price_minor = 41000},
      {.quote = 2, .provider = "CC-6200", .name = "Caf\xc3\xa9", .site = "",
       .price_minor = 45000}};
  x = reply(IMX_MSG_TENDER_GET, "tg");
  x.tenders = rows, x.tenders_n = 1;
  strcpy(x.buyer_name, "Sales");
  strcpy(x.buyer_site, "Berlin");
  x.quotes = quotes, x.quotes_n = 2;
  round_trip_reply(&x);
  CHECK(strncmp(out_, "{\"v\":1,\"type\":\"tender.get.ok\",\"id\":\"tg\",\"tender\":1,"
                "\"service\":\"truck.day\",\"buyer\":\"CC-1100\",\"qty\":2,"
                "\"ceiling\":45000,\"deadline_time_ms\":1700000060000,"
                "\"decide\":\"choose\",\"quote_count\":2,\"buyer_name\":\"Sales\"",
                strlen("{\"v\":1,\"type\":\"tender.get.ok\",\"id\":\"tg\",\"tender\":1,"
                "\"service\":\"truck.day\",\"buyer\":\"CC-1100\",\"qty\":2,"
                "\"ceiling\":45000,\"deadline_time_ms\":1700000060000,"
                "\"decide\":\"choose\",\"quote_count\":2,\"buyer_name\":\"Sales\"")) == 0);
  x.quotes_n = 0; /* another cost centre's view: no quotes of others */
  round_trip_reply(&x);
  /* my_price without my_quote, and the other way round, are refused */
  static const char *const bad[] = {
      "{\"v\":1,\"type\":\"tender.list.ok\",\"id\":\"x\",\"tenders\":[{\"tender\":1,"
      "\"service\":\"s\",\"buyer\":\"b\",\"qty\":1,\"ceiling\":1,"
      "\"deadline_time_ms\":1,\"decide\":\"lowest\",\"quote_count\":0,\"my_price\":1}]}",
      "{\"v\":1,\"type\":\"tender.list.ok\",\"id\":\"x\",\"tenders\":[{\"tender\":1,"
      "\"service\":\"s\",\"buyer\":\"b\",\"qty\":1,\"ceiling\":1,"
      "\"deadline_time_ms\":1,\"decide\":\"lowest\",\"quote_count\":0,\"my_quote\":1}]}",
      "{\"v\":1,\"type\":\"tender.list.ok\",\"id\":\"x\",\"tenders\":[{\"tender\":1,"
      "\"service\":\"s\",\"buyer\":\"b\",\"qty\":1,\"ceiling\":1,"
      "\"deadline_time_ms\":1,\"decide\":\"best\",\"quote_count\":0}]}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    imx_reply y;
    imx_proto_error err = {0};
    CHECK_EQ(-1, imx_reply_decode(bad[i], strlen(bad[i]), &y, &err));
    CHECK(strstr(err.field, i < 2 ? "my_" : "decide") != NULL);
  }
}

static void test_auction_run_ok_round_trips(void) {
  imx_reply x = reply(IMX_MSG_AUCTION_RUN, "a1");
  strcpy(x.service, "truck.day");
  x.surplus_side = IMX_PSIDE_NONE;
  round_trip_reply(&x); /* no price */
  x.price_minor = 41000, x.volume = 65, x.surplus = 5, x.surplus_side = IMX_PSIDE_BID;
  round_trip_reply(&x);
  x.surplus_side = IMX_PSIDE_OFFER;
  round_trip_reply(&x);
}

static void test_order_modify_ok_round_trips(void) {
  imx_reply x = reply(IMX_MSG_ORDER_MODIFY, "m1");
  x.order = 3, x.status = IMX_PSTATUS_OPEN, x.price_minor = 9000, x.qty = 10;
  x.qty_open = 6, x.qty_filled = 4, x.priority_kept = 1;
  round_trip_reply(&x);
  x.priority_kept = 0, x.trades = trades_, x.trades_n = 2;
  round_trip_reply(&x);
  x.status = IMX_PSTATUS_CANCELLED, x.qty_open = 0;
  strcpy(x.reason, "self_trade");
  x.trades_omitted = 300;
  round_trip_reply(&x);
}

static void test_order_history_ok_round_trips_and_is_the_documented_json(void) {
  imx_reply_fill fills[2] = {{5, 3, 8500, 1718000000000, "CC-4100"},
                             {9, 1, 8400, 1718000001000, "CC-4200"}};
  imx_reply_closed closed[2];
  memset(closed, 0, sizeof closed);
  closed[0] = (imx_reply_closed){.order = 8, .service = "it.hour", .side = IMX_PSIDE_BID,
                                 .tif = IMX_PTIF_GTC, .price_minor = 8500, .qty = 5,
                                 .qty_filled = 4, .status = IMX_PSTATUS_CANCELLED,
                                 .reason = "user", .period = "2026-12", .closed_ms = 1718000002000,
                                 .fills = fills, .fills_n = 2, .fills_omitted = 1};
  closed[1] = (imx_reply_closed){.order = 2, .service = "truck.day", .side = IMX_PSIDE_OFFER,
                                 .tif = IMX_PTIF_PERIOD, .aon = 1, .qty = 2,
                                 .status = IMX_PSTATUS_EXPIRED, .period = "2026-12",
                                 .closed_ms = 1718000003000};
  imx_reply x = reply(IMX_MSG_ORDER_HISTORY, "h1");
  strcpy(x.cc, "CC-1100");
  round_trip_reply(&x);
  x.closed = closed, x.closed_n = 2;
  round_trip_reply(&x);
  CHECK_STR("{\"v\":1,\"type\":\"order.history.ok\",\"id\":\"h1\",\"cc\":\"CC-1100\","
            "\"orders\":[{\"order\":8,\"service\":\"it.hour\",\"side\":\"bid\","
            "\"tif\":\"gtc\",\"aon\":false,\"price\":8500,\"qty\":5,\"qty_filled\":4,"
            "\"status\":\"cancelled\",\"reason\":\"user\",\"period\":\"2026-12\","
            "\"closed_ms\":1718000002000,\"fills\":[{\"trade\":5,\"qty\":3,"
            "\"price\":8500,\"time_ms\":1718000000000,\"counterparty\":\"CC-4100\"},"
            "{\"trade\":9,\"qty\":1,\"price\":8400,\"time_ms\":1718000001000,"
            "\"counterparty\":\"CC-4200\"}],\"fills_omitted\":1},"
            "{\"order\":2,\"service\":\"truck.day\",\"side\":\"offer\",\"tif\":\"period\","
            "\"aon\":true,\"price\":null,\"qty\":2,\"qty_filled\":0,\"status\":\"expired\","
            "\"period\":\"2026-12\",\"closed_ms\":1718000003000,\"fills\":[]}]}", out_);
  /* A closed order is never "open"; a bad row is named, and what was
  ** decoded before it is freed (ASan). */
  const char *bad = "{\"v\":1,\"type\":\"order.history.ok\",\"id\":\"h\",\"cc\":\"A\","
                    "\"orders\":[{\"order\":1,\"service\":\"s\",\"side\":\"bid\","
                    "\"tif\":\"gtc\",\"aon\":false,\"price\":1,\"qty\":1,\"qty_filled\":1,"
                    "\"status\":\"filled\",\"period\":\"2026-12\",\"closed_ms\":1,\"fills\":"
                    "[{\"trade\":1,\"qty\":1,\"price\":1,\"time_ms\":1,\"counterparty\":\"B\"}]},"
                    "{\"order\":2,\"service\":\"s\",\"side\":\"bid\",\"tif\":\"gtc\","
                    "\"aon\":false,\"price\":1,\"qty\":1,\"qty_filled\":0,\"status\":\"open\","
                    "\"period\":\"2026-12\",\"closed_ms\":1,\"fills\":[]}]}";
  imx_reply y;
  imx_proto_error err = {0};
  CHECK_EQ(-1, imx_reply_decode(bad, strlen(bad), &y, &err));
  CHECK_STR("orders[1].status", err.field);
}

static void test_period_close_ok_round_trips(void) {
  imx_reply x = reply(IMX_MSG_PERIOD_CLOSE, "p1");
  x.expired = 12;
  strcpy(x.period, "2026-12");
  strcpy(x.opened, "2027-01");
  round_trip_reply(&x);
  imx_reply_sum sums[2] = {{.service = "it.hour", .trades = 3, .bought = 7, .spent = 59500,
                            .sold = 7, .earned = 59500},
                           {.service = "truck.day", .trades = 1, .bought = 2, .spent = 30000,
                            .sold = 2, .earned = 30000}};
  char over[1][IMX_NAME_BYTES_MAX + 1] = {"CC-1100"};
  x.sums = sums, x.sums_n = 2;
  x.over_budget = over, x.over_budget_n = 1;
  round_trip_reply(&x);
  CHECK_STR("{\"v\":1,\"type\":\"period.close.ok\",\"id\":\"p1\",\"expired\":12,"
            "\"period\":\"2026-12\",\"opened\":\"2027-01\",\"services\":["
            "{\"service\":\"it.hour\",\"trades\":3,\"units\":7,\"amount\":59500},"
            "{\"service\":\"truck.day\",\"trades\":1,\"units\":2,\"amount\":30000}],"
            "\"over_budget\":[\"CC-1100\"]}", out_);
}

/* A statement: per service what the cost centre bought and sold, and its
** trades; closed_ms only with closed. */
static void test_statement_get_ok_round_trips(void) {
  imx_reply x = reply(IMX_MSG_STATEMENT_GET, "s1");
  strcpy(x.cc, "CC-1100");
  strcpy(x.period, "2027-01");
  round_trip_reply(&x);
  imx_reply_sum sums[1] = {{.service = "it.hour", .trades = 2, .bought = 3, .spent = 25500,
                            .sold = 1, .earned = 9000}};
  imx_reply_trade trades[1] = {{.trade = 4, .service = "it.hour", .buyer = "CC-1100",
                                .seller = "CC-4100", .qty = 3, .price_minor = 8500,
                                .time_ms = 1718000000000, .buy_order = 2, .sell_order = 1}};
  x.sums = sums, x.sums_n = 1;
  x.trades = trades, x.trades_n = 1;
  x.trades_omitted = 5;
  x.is_closed = 1, x.closed_ms = 1718000009000;
  x.budget = 6000000;
  round_trip_reply(&x);
  CHECK_STR("{\"v\":1,\"type\":\"statement.get.ok\",\"id\":\"s1\",\"cc\":\"CC-1100\","
            "\"period\":\"2027-01\",\"closed\":true,\"closed_ms\":1718000009000,\"budget\":6000000,"
            "\"services\":[{\"service\":\"it.hour\",\"trades\":2,\"bought\":3,"
            "\"spent\":25500,\"sold\":1,\"earned\":9000}],\"trades\":[{\"trade\":4,"
            "\"service\":\"it.hour\",\"buyer\":\"CC-1100\",\"seller\":\"CC-4100\","
            "\"qty\":3,\"price\":8500,\"time_ms\":1718000000000,\"buy_order\":2,"
            "\"sell_order\":1}],\"trades_omitted\":5}", out_);
  const char *bad = "{\"v\":1,\"type\":\"statement.get.ok\",\"id\":\"s\",\"cc\":\"A\","
                    "\"period\":\"2027-01\",\"closed\":false,\"closed_ms\":1,"
                    "\"budget\":0,\"services\":[],\"trades\":[]}";
  imx_reply y;
  imx_proto_error err = {0};
  CHECK_EQ(-1, imx_reply_decode(bad, strlen(bad), &y, &err));
  CHECK_STR("closed_ms", err.field);
}

/* period.summary: the period's label, whether it is open, per service the
** market's trades, units and amount, and a page of cost centres; reserved
** and available only in the open period's rows. */
static void test_period_summary_ok_round_trips(void) {
  imx_reply x = reply(IMX_MSG_PERIOD_SUMMARY, "ps1");
  strcpy(x.period, "2026-12");
  round_trip_reply(&x);
  CHECK_STR("{\"v\":1,\"type\":\"period.summary.ok\",\"id\":\"ps1\",\"period\":\"2026-12\","
            "\"open\":false,\"services\":[],\"ccs\":[]}", out_);
  imx_reply_sum sums[1] = {{.service = "it.hour", .trades = 1500, .bought = 1500,
                            .spent = 12750000, .sold = 1500, .earned = 12750000}};
  imx_reply_cc_sum ccs[2] = {
      {.cc = "CC-1100", .budget = 6000000, .spent = 12750000, .earned = 0,
       .reserved = 40000, .available = -6790000},
      {.cc = "CC-4100", .budget = 0, .spent = 0, .earned = 12750000}};
  x.sums = sums, x.sums_n = 1, x.sums_omitted = 3;
  x.cc_sums = ccs, x.cc_sums_n = 2;
  x.is_open = 1;
  strcpy(x.next, "CC-5100");
  round_trip_reply(&x);
  CHECK_STR("{\"v\":1,\"type\":\"period.summary.ok\",\"id\":\"ps1\",\"period\":\"2026-12\","
            "\"open\":true,\"services\":[{\"service\":\"it.hour\",\"trades\":1500,"
            "\"units\":1500,\"amount\":12750000}],\"services_omitted\":3,\"ccs\":["
            "{\"cc\":\"CC-1100\",\"budget\":6000000,\"spent\":12750000,\"earned\":0,"
            "\"reserved\":40000,\"available\":-6790000},{\"cc\":\"CC-4100\",\"budget\":0,"
            "\"spent\":0,\"earned\":12750000,\"reserved\":0,\"available\":0}],"
            "\"next\":\"CC-5100\"}", out_);
  /* a closed period's rows carry no engine figures */
  x.is_open = 0;
  ccs[0].reserved = ccs[0].available = 0;
  round_trip_reply(&x);
  CHECK(strstr(out_, "reserved") == NULL && strstr(out_, "available") == NULL);
}

/* What a client refuses in a period.summary.ok. */
static void test_period_summary_ok_refusals(void) {
  static const struct {
    const char *body, *field;
  } bad[] = {
      /* an open period's row without the engine's figures */
      {"\"period\":\"1\",\"open\":true,\"services\":[],\"ccs\":[{\"cc\":\"A\","
       "\"budget\":1,\"spent\":0,\"earned\":0}]", "ccs[0].reserved"},
      /* a closed period's row with them */
      {"\"period\":\"1\",\"open\":false,\"services\":[],\"ccs\":[{\"cc\":\"A\","
       "\"budget\":1,\"spent\":0,\"earned\":0,\"reserved\":0,\"available\":1}]",
       "ccs[0].reserved"},
      {"\"period\":\"1\",\"open\":\"yes\",\"services\":[],\"ccs\":[]", "open"},
      {"\"period\":\"\",\"open\":false,\"services\":[],\"ccs\":[]", "period"},
      {"\"open\":false,\"services\":[],\"ccs\":[]", "period"},
      {"\"period\":\"1\",\"open\":false,\"services\":[]", "ccs"},
      {"\"period\":\"1\",\"open\":false,\"services\":[],\"ccs\":[{\"cc\":\"\","
       "\"budget\":1,\"spent\":0,\"earned\":0}]", "ccs[0].cc"},
      {"\"period\":\"1\",\"open\":false,\"services\":[],\"ccs\":[{\"cc\":\"A\","
       "\"budget\":\"1\",\"spent\":0,\"earned\":0}]", "ccs[0].budget"},
      {"\"period\":\"1\",\"open\":false,\"services\":[{\"service\":\"s\",\"trades\":-1,"
       "\"units\":1,\"amount\":1}],\"ccs\":[]", "services[0].trades"},
      {"\"period\":\"1\",\"open\":false,\"services\":[],\"ccs\":[],\"next\":7", "next"},
      {"\"period\":\"1\",\"open\":false,\"services\":[],\"ccs\":[],\"trades\":[]",
       "trades"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char doc[512];
    snprintf(doc, sizeof doc, "{\"v\":1,\"type\":\"period.summary.ok\",\"id\":\"x\",%s}",
             bad[i].body);
    imx_reply y;
    imx_proto_error err = {0};
    CHECK_EQ(-1, imx_reply_decode(doc, strlen(doc), &y, &err));
    if (strcmp(bad[i].field, err.field) != 0) fprintf(stderr, "  case %zu: %s\n", i, doc);
    CHECK_STR(bad[i].field, err.field);
  }
}

static void test_reply_encoding_is_the_documented_json(void) {
  imx_reply x = reply(IMX_MSG_HELLO, "h1");
  strcpy(x.cc, "CC-1");
  x.roles = IMX_ROLE_PROVIDER | IMX_ROLE_ADMIN;
  strcpy(x.currency, "KWD");
  x.decimals = 3;
  CHECK(imx_reply_encode(&x, out_, sizeof out_) > 0);
  CHECK_STR("{\"v\":1,\"type\":\"hello.ok\",\"id\":\"h1\",\"cc\":\"CC-1\","
            "\"roles\":[\"provider\",\"admin\"],\"currency\":\"KWD\",\"decimals\":3}",
            out_);
  x = reply(IMX_MSG_AUCTION_RUN, "a1");
  strcpy(x.service, "truck.day");
  x.surplus_side = IMX_PSIDE_NONE;
  CHECK(imx_reply_encode(&x, out_, sizeof out_) > 0);
  CHECK_STR("{\"v\":1,\"type\":\"auction.run.ok\",\"id\":\"a1\",\"service\":"
            "\"truck.day\",\"price\":null,\"volume\":0,\"surplus\":0,"
            "\"surplus_side\":\"none\"}",
            out_);
  x = reply(IMX_MSG_ORDER_NEW, "o1");
  x.order = 3, x.status = 2, x.qty_open = 0, x.qty_filled = 0;
  strcpy(x.reason, "fok");
  CHECK(imx_reply_encode(&x, out_, sizeof out_) > 0);
  CHECK_STR("{\"v\":1,\"type\":\"order.new.ok\",\"id\":\"o1\",\"order\":3,"
            "\"status\":\"cancelled\",\"qty_open\":0,\"qty_filled\":0,"
            "\"reason\":\"fok\",\"trades\":[]}",
            out_);
  x = reply(IMX_MSG_BOOK_GET, "b");
  imx_reply_level lv[2] = {{5, 6, 1}, {4, 2, 2}};
  strcpy(x.service, "s");
  x.bids = lv, x.bids_n = 2;
  CHECK(imx_reply_encode(&x, out_, sizeof out_) > 0);
  CHECK_STR("{\"v\":1,\"type\":\"book.get.ok\",\"id\":\"b\",\"service\":\"s\","
            "\"bids\":[{\"price\":5,\"qty\":6,\"orders\":1},"
            "{\"price\":4,\"qty\":2,\"orders\":2}],\"offers\":[],"
            "\"offer_orders\":[]}",
            out_);
}

static int reply_decode(const char *json, imx_reply *r, imx_proto_error *err) {
  return imx_reply_decode(json, strlen(json), r, err);
}

static void expect_reply_error(const char *json, const char *field) {
  imx_reply r;
  imx_proto_error err = {0};
  int rc = reply_decode(json, &r, &err);
  int good = rc == -1 && err.code && strcmp(err.field, field) == 0;
  if (!good)
    fprintf(stderr, "  want bad \"%s\", got rc %d %s \"%s\": %.200s\n", field,
            rc, err.code ? err.code : "-", err.field, json);
  CHECK(good);
  CHECK(r.trades == NULL && r.orders == NULL && r.bids == NULL &&
        r.offers == NULL && r.capacities == NULL);
}

/* A trades.list.ok with n copies of one trade. */
static char *trades_reply(uint32_t n) {
  const char *row = "{\"trade\":1,\"service\":\"s\",\"buyer\":\"b\",\"seller\":"
                    "\"x\",\"qty\":1,\"price\":2,\"time_ms\":3,\"buy_order\":4,"
                    "\"sell_order\":5}";
  size_t cap = 64 + (size_t)n * (strlen(row) + 1);
  char *json = malloc(cap);
  if (json == NULL) return NULL;
  size_t len = (size_t)snprintf(json, cap, "{\"v\":1,\"type\":\"trades.list.ok\","
                                           "\"id\":\"t\",\"trades\":[");
  for (uint32_t i = 0; i < n; i++)
    len += (size_t)snprintf(json + len, cap - len, "%s%s", i ? "," : "", row);
  snprintf(json + len, cap - len, "]}");
  return json;
}

static void test_reply_lists_hold_at_most_1000_rows(void) {
  char *json = trades_reply(IMX_LIST_MAX);
  imx_reply r;
  imx_proto_error err;
  CHECK(json != NULL);
  if (json == NULL) return;
  CHECK_EQ(0, reply_decode(json, &r, &err));
  CHECK_EQ(IMX_LIST_MAX, r.trades_n);
  CHECK_EQ(2, r.trades[IMX_LIST_MAX - 1].price_minor);
  CHECK_EQ(4, r.trades[IMX_LIST_MAX - 1].buy_order);
  CHECK_EQ(5, r.trades[IMX_LIST_MAX - 1].sell_order);
  imx_reply_free(&r);
  free(json);
  json = trades_reply(IMX_LIST_MAX + 1);
  CHECK(json != NULL);
  if (json == NULL) return;
  expect_reply_error(json, "trades");
  free(json);
}

static void test_reply_decode_names_the_row_at_fault(void) {
  expect_reply_error(
      "{\"v\":1,\"type\":\"trades.list.ok\",\"id\":\"t\",\"trades\":["
      "{\"trade\":1,\"service\":\"s\",\"buyer\":\"b\",\"seller\":\"x\",\"qty\":1,"
      "\"price\":2,\"time_ms\":3,\"buy_order\":4,\"sell_order\":5},"
      "{\"trade\":1,\"service\":\"s\",\"buyer\":\"b\",\"seller\":\"x\",\"qty\":-1,"
      "\"price\":2,\"time_ms\":3,\"buy_order\":4,\"sell_order\":5}]}",
      "trades[1].qty");
  expect_reply_error(
      "{\"v\":1,\"type\":\"trades.list.ok\",\"id\":\"t\",\"trades\":["
      "{\"trade\":1,\"service\":\"s\",\"buyer\":\"b\",\"seller\":\"x\",\"qty\":1,"
      "\"price\":2,\"time_ms\":3,\"buy_order\":4}]}",
      "trades[0].sell_order");
  expect_reply_error(
      "{\"v\":1,\"type\":\"trades.list.ok\",\"id\":\"t\",\"trades\":["
      "{\"trade\":1,\"service\":\"s\",\"buyer\":\"b\",\"seller\":\"x\",\"qty\":1,"
      "\"price\":2,\"time_ms\":3,\"buy_order\":-4,\"sell_order\":5}]}",
      "trades[0].buy_order");
  expect_reply_error("{\"v\":1,\"type\":\"book.get.ok\",\"id\":\"b\",\"service\":"
                     "\"s\",\"bids\":[],\"offers\":[5]}",
                     "offers[0]");
  expect_reply_error("{\"v\":1,\"type\":\"order.list.ok\",\"id\":\"l\",\"orders\":"
                     "[{\"order\":1}]}",
                     "orders[0].service");
  expect_reply_error("{\"v\":1,\"type\":\"balance.get.ok\",\"id\":\"g\",\"cc\":\"c\","
                     "\"budget\":0,\"reserved\":0,\"spent\":0,\"earned\":0,"
                     "\"available\":0,\"capacities\":[{\"service\":\"s\","
                     "\"capacity\":1,\"reserved\":0,\"sold\":0,\"available\":1,"
                     "\"extra\":1}]}",
                     "capacities[0].extra");
}

static void test_reply_decode_is_strict(void) {
  expect_reply_error("{\"type\":\"tender.new.ok\",\"id\":\"t\",\"tender\":1}", "v");
  expect_reply_error("{\"v\":1,\"type\":\"tender.new\",\"id\":\"t\",\"tender\":1}", "type");
  expect_reply_error("{\"v\":1,\"type\":\"nope.ok\",\"id\":\"t\",\"tender\":1}", "type");
  expect_reply_error("{\"v\":1,\"type\":\".ok\",\"id\":\"t\"}", "type");
  expect_reply_error("{\"v\":1,\"type\":\"tender.new.ok\",\"id\":\"t\"}", "tender");
  expect_reply_error("{\"v\":1,\"type\":\"tender.new.ok\",\"id\":\"t\",\"tender\":1,"
                     "\"quote\":1}",
                     "quote");
  expect_reply_error("{\"v\":1,\"type\":\"tender.new.ok\",\"id\":\"t\",\"tender\":1,"
                     "\"tender\":1}",
                     "tender");
  expect_reply_error("{\"v\":1,\"type\":\"hello.ok\",\"id\":\"h\",\"cc\":\"c\","
                     "\"roles\":[\"admin\",\"admin\"]}",
                     "roles");
  expect_reply_error("{\"v\":1,\"type\":\"hello.ok\",\"id\":\"h\",\"cc\":\"c\","
                     "\"roles\":[\"king\"]}",
                     "roles");
  expect_reply_error("{\"v\":1,\"type\":\"auction.run.ok\",\"id\":\"a\",\"service\":"
                     "\"s\",\"price\":0,\"volume\":0,\"surplus\":0,"
                     "\"surplus_side\":\"none\"}",
                     "price");
  expect_reply_error("[]", "message");
  imx_reply r;
  imx_proto_error err;
  CHECK_EQ(-1, reply_decode("{\"v\":1", &r, &err));
  CHECK_STR("bad_json", err.code);
}

static void test_a_failed_reply_decode_frees_what_it_allocated(void) {
  /* the trades are allocated before the bad row is found (ASan: no leak) */
  expect_reply_error("{\"v\":1,\"type\":\"order.new.ok\",\"id\":\"o\",\"order\":1,"
                     "\"status\":\"open\",\"qty_open\":1,\"qty_filled\":0,"
                     "\"trades\":[{\"trade\":1}]}",
                     "trades[0].service");
  expect_reply_error("{\"v\":1,\"type\":\"book.get.ok\",\"id\":\"b\",\"service\":"
                     "\"s\",\"bids\":[{\"price\":1,\"qty\":1,\"orders\":1}],"
                     "\"offers\":7}",
                     "offers");
}

static void test_reply_free_can_be_called_twice(void) {
  imx_reply x = reply(IMX_MSG_TRADES_LIST, "t");
  x.trades = trades_, x.trades_n = 2;
  size_t n = imx_reply_encode(&x, out_, sizeof out_);
  imx_reply y;
  imx_proto_error err;
  CHECK_EQ(0, imx_reply_decode(out_, n, &y, &err));
  CHECK(y.trades != NULL && y.trades != trades_);
  imx_reply_free(&y);
  CHECK(y.trades == NULL);
  CHECK_EQ(0, y.trades_n);
  imx_reply_free(&y);
  imx_reply_free(NULL);
}

/* --------------------------------------------------------- error replies */

static void test_error_reply_is_the_documented_json(void) {
  size_t n = imx_error_encode("r1", "bad_field", "qty", "is out of range", out_,
                              sizeof out_);
  CHECK_STR("{\"v\":1,\"type\":\"error\",\"id\":\"r1\",\"code\":\"bad_field\","
            "\"field\":\"qty\",\"message\":\"is out of range\"}",
            out_);
  CHECK_EQ(strlen(out_), n);
}

static void test_error_reply_without_id_has_an_empty_id(void) {
  CHECK(imx_error_encode(NULL, "bad_json", NULL, NULL, out_, sizeof out_) > 0);
  CHECK_STR("{\"v\":1,\"type\":\"error\",\"id\":\"\",\"code\":\"bad_json\","
            "\"field\":\"\",\"message\":\"\"}",
            out_);
  imx_reply r;
  imx_proto_error err;
  CHECK_EQ(0, reply_decode(out_, &r, &err));
  CHECK_EQ(1, r.error);
  CHECK_STR("", r.id);
  CHECK_STR("bad_json", r.code);
}

static void test_error_reply_escapes_quotes_backslashes_and_controls(void) {
  CHECK(imx_error_encode("a\"b", "internal", "x\\y",
                         "tab\there\nnew \x01\x1f\x7f end", out_,
                         sizeof out_) > 0);
  CHECK_STR("{\"v\":1,\"type\":\"error\",\"id\":\"a\\\"b\",\"code\":\"internal\","
            "\"field\":\"x\\\\y\",\"message\":\"tab\\u0009here\\u000anew "
            "\\u0001\\u001f\\u007f end\"}",
            out_);
  imx_reply r;
  imx_proto_error err;
  CHECK_EQ(0, reply_decode(out_, &r, &err));
  CHECK_STR("a\"b", r.id);
  CHECK_STR("x\\y", r.field);
  CHECK_STR("tab\there\nnew \x01\x1f\x7f end", r.message);
}

static void test_error_reply_round_trips(void) {
  imx_reply x = reply(IMX_MSG_HELLO, "r9");
  x.error = 1;
  strcpy(x.code, "insufficient_budget");
  strcpy(x.field, "price");
  strcpy(x.message, "available: 1200");
  round_trip_reply(&x);
  char direct[512];
  size_t n = imx_error_encode("r9", "insufficient_budget", "price",
                              "available: 1200", direct, sizeof direct);
  CHECK_EQ(n, imx_reply_encode(&x, out_, sizeof out_));
  CHECK_STR(direct, out_);
}

static void test_a_decode_error_becomes_an_error_reply(void) {
  const char *json = msg("order.new", ORDER_NEW_BASE ",\"bogus\":1");
  imx_request r;
  imx_proto_error err;
  CHECK_EQ(-1, imx_request_decode(json, strlen(json), &r, &err));
  CHECK(imx_error_encode(r.id, err.code, err.field, err.message, out_,
                         sizeof out_) > 0);
  imx_reply back;
  imx_proto_error err2;
  CHECK_EQ(0, reply_decode(out_, &back, &err2));
  CHECK_EQ(1, back.error);
  CHECK_STR("r1", back.id);
  CHECK_STR("bad_field", back.code);
  CHECK_STR("bogus", back.field);
  CHECK_STR(err.message, back.message);
}

static void test_a_long_error_message_is_cut_when_decoded(void) {
  char message[400];
  snprintf(message, sizeof message, "%s\xc3\xa9%s", repeat('m', 158), repeat('n', 100));
  CHECK(imx_error_encode("r", "internal", repeat('f', 200), message, out_,
                         sizeof out_) > 0);
  imx_reply r;
  imx_proto_error err;
  CHECK_EQ(0, reply_decode(out_, &r, &err));
  CHECK_STR(repeat('f', 95), r.field);
  CHECK_STR(repeat('m', 158), r.message); /* not in the middle of the é */
}

/* ---------------------------------------------------- buffers too small */

/* Every cap up to the length (the NUL needs one more byte) gives 0 and
** writes nothing beyond cap. */
static void check_small_buffers(size_t (*encode)(const void *, char *, size_t),
                                const void *x) {
  char full[4096];
  size_t n = encode(x, full, sizeof full);
  CHECK(n > 0);
  for (size_t cap = 0; cap <= n; cap++) {
    char small[4096 + 16];
    memset(small, '#', sizeof small);
    CHECK_EQ(0, encode(x, small, cap));
    CHECK(small[cap] == '#');
  }
  char exact[4096];
  CHECK_EQ(n, encode(x, exact, n + 1));
  CHECK_STR(full, exact);
}

static size_t enc_request(const void *x, char *buf, size_t cap) {
  return imx_request_encode(x, buf, cap);
}

static size_t enc_reply(const void *x, char *buf, size_t cap) {
  return imx_reply_encode(x, buf, cap);
}

static size_t enc_error(const void *x, char *buf, size_t cap) {
  return imx_error_encode(x, "bad_field", "qty", "is out of range", buf, cap);
}

static void test_encode_into_a_small_buffer_returns_0(void) {
  imx_request q = request(IMX_MSG_ORDER_NEW, "o\"1");
  strcpy(q.service, "s");
  q.qty = 5;
  check_small_buffers(enc_request, &q);
  imx_reply r = reply(IMX_MSG_TRADES_LIST, "t");
  r.trades = trades_, r.trades_n = 3;
  check_small_buffers(enc_reply, &r);
  check_small_buffers(enc_error, "r\\1");
  CHECK_EQ(0, imx_error_encode("r", "internal", "", "", NULL, 0));
}

/* ------------------------------------------------------------- sha-256 */

static const char *sha(const char *s) {
  static char hex[65];
  imx_sha256_hex(s, strlen(s), hex);
  return hex;
}

static void test_sha256_fips_180_examples(void) {
  CHECK_STR("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            sha(""));
  CHECK_STR("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            sha("abc"));
  CHECK_STR("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
            sha("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"));
  CHECK_STR("cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
            sha("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"));
}

static void test_sha256_of_a_million_a(void) {
  char *a = malloc(1000000);
  CHECK(a != NULL);
  if (a == NULL) return;
  memset(a, 'a', 1000000);
  char hex[65];
  imx_sha256_hex(a, 1000000, hex);
  CHECK_STR("cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", hex);
  free(a);
}

/* The padding takes one block or two around 55/56 bytes (and 119/120). */
static void test_sha256_padding_boundaries(void) {
  CHECK_STR("9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318",
            sha(repeat('a', 55)));
  CHECK_STR("b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a",
            sha(repeat('a', 56)));
  CHECK_STR("7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457ddc2f34",
            sha(repeat('a', 63)));
  CHECK_STR("ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb",
            sha(repeat('a', 64)));
  CHECK_STR("31eba51c313a5c08226adf18d4a359cfdfd8d2e816b13f4af952f7ea6584dcfb",
            sha(repeat('a', 119)));
  CHECK_STR("2f3d335432c70b580af0e8e1b3674a7c020d683aa5f73aaaedfdc55af904c21c",
            sha(repeat('a', 120)));
}

#define TOKEN "tok-CC-4100-secret"
#define TOKEN_HASH "be787ef282b1ad2c3b52b0b4868be4610a99588cd8cb00775d2167562e778249"

static void test_token_matches_its_hash(void) {
  CHECK_EQ(1, imx_token_matches(TOKEN, TOKEN_HASH));
  CHECK_STR(TOKEN_HASH, sha(TOKEN));
}

static void test_a_wrong_token_does_not_match(void) {
  CHECK_EQ(0, imx_token_matches("tok-CC-4100-secreT", TOKEN_HASH));
  CHECK_EQ(0, imx_token_matches("tok-CC-4100-secret ", TOKEN_HASH));
  CHECK_EQ(0, imx_token_matches("", TOKEN_HASH));
  CHECK_EQ(0, imx_token_matches(NULL, TOKEN_HASH));
  /* "no token" never matches, even the hash of "" */
  CHECK_EQ(0, imx_token_matches("", sha("")));
}

static void test_a_bad_stored_hash_matches_nothing(void) {
  char upper[65];
  strcpy(upper, TOKEN_HASH);
  for (int i = 0; upper[i]; i++)
    if (upper[i] >= 'a' && upper[i] <= 'f') upper[i] = (char)(upper[i] - 32);
  CHECK_EQ(0, imx_token_matches(TOKEN, upper));
  CHECK_EQ(0, imx_token_matches(TOKEN, ""));
  CHECK_EQ(0, imx_token_matches(TOKEN, NULL));
  char cut[65];
  strcpy(cut, TOKEN_HASH);
  cut[63] = '\0';
  CHECK_EQ(0, imx_token_matches(TOKEN, cut));
  CHECK_EQ(0, imx_token_matches(TOKEN, TOKEN_HASH "0"));
  char odd[65];
  strcpy(odd, TOKEN_HASH);
  odd[10] = 'g';
  CHECK_EQ(0, imx_token_matches(TOKEN, odd));
}

/* ---------------------------------------------------------- market data */

static void md_round_trip(const imx_md_event *ev) {
  char buf[1024];
  size_t n = imx_md_encode(ev, buf, sizeof buf);
  CHECK(n > 0);
  imx_md_event back;
  imx_proto_error err = {0};
  CHECK_EQ(0, imx_md_decode(buf, n, &back, &err));
  CHECK_EQ(0, memcmp(ev, &back, sizeof back));
}

static void test_market_data_trade_is_the_documented_message(void) {
  imx_md_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = IMX_MD_TRADE;
  strcpy(ev.service, "it.hour");
  ev.trade = 7;
  ev.qty = 4;
  ev.price_minor = 8500;
  ev.time_ms = 1700000000000;
  char buf[256];
  size_t n = imx_md_encode(&ev, buf, sizeof buf);
  CHECK_STR("it.hour {\"type\":\"trade\",\"service\":\"it.hour\",\"trade\":7,"
            "\"qty\":4,\"price\":8500,\"time_ms\":1700000000000}", buf);
  CHECK_EQ(strlen(buf), n);
  md_round_trip(&ev);
}

static void test_market_data_top_and_auction_round_trip(void) {
  imx_md_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = IMX_MD_TOP;
  strcpy(ev.service, "truck.day");
  ev.offer = 41000;
  ev.offer_qty = 5; /* no bid: null */
  md_round_trip(&ev);
  memset(&ev, 0, sizeof ev);
  ev.kind = IMX_MD_AUCTION;
  strcpy(ev.service, "truck.day");
  ev.price_minor = 41000;
  ev.volume = 65;
  ev.surplus = 3;
  ev.surplus_side = IMX_PSIDE_OFFER;
  md_round_trip(&ev);
  ev.price_minor = 0; /* no price: null */
  ev.volume = 0;
  ev.surplus_side = IMX_PSIDE_NONE;
  md_round_trip(&ev);
}

static void test_market_data_tender_events_round_trip(void) {
  imx_md_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = IMX_MD_TENDER_OPENED;
  strcpy(ev.service, "truck.day");
  strcpy(ev.buyer, "CC-1100");
  ev.tender = 3, ev.qty = 2, ev.price_minor = 45000;
  ev.deadline_time_ms = 1700000060000, ev.decide = IMX_PDECIDE_CHOOSE;
  char buf[1024];
  CHECK(imx_md_encode(&ev, buf, sizeof buf) > 0);
  CHECK_STR("truck.day {\"type\":\"tender.opened\",\"service\":\"truck.day\","
            "\"tender\":3,\"buyer\":\"CC-1100\",\"qty\":2,\"ceiling\":45000,"
            "\"deadline_time_ms\":1700000060000,\"decide\":\"choose\"}", buf);
  md_round_trip(&ev);
  memset(&ev, 0, sizeof ev);
  ev.kind = IMX_MD_TENDER_QUOTED;
  strcpy(ev.topic_cc, "CC-1100");
  strcpy(ev.service, "truck.day");
  strcpy(ev.buyer, "CC-1100");
  ev.tender = 3, ev.quotes = 2;
  CHECK(imx_md_encode(&ev, buf, sizeof buf) > 0);
  /* sealed: neither the price nor the provider */
  CHECK_STR("cc:CC-1100 {\"type\":\"tender.quoted\",\"service\":\"truck.day\","
            "\"tender\":3,\"buyer\":\"CC-1100\",\"quote_count\":2}", buf);
  md_round_trip(&ev);
  memset(&ev, 0, sizeof ev);
  ev.kind = IMX_MD_TENDER_AWARDED;
  strcpy(ev.service, "truck.day");
  strcpy(ev.buyer, "CC-1100");
  strcpy(ev.seller, "CC-6100");
  strcpy(ev.topic_cc, "CC-6100"); /* the winner's copy */
  ev.tender = 3, ev.quote = 2, ev.qty = 2, ev.price_minor = 45000, ev.trade = 9;
  md_round_trip(&ev);
  strcpy(ev.topic_cc, "CC-1100"); /* the buyer's */
  md_round_trip(&ev);
  memset(&ev, 0, sizeof ev);
  ev.kind = IMX_MD_TENDER_LAPSED;
  strcpy(ev.topic_cc, "CC-1100");
  strcpy(ev.service, "truck.day");
  strcpy(ev.buyer, "CC-1100");
  ev.tender = 4, ev.qty = 1, ev.why = IMX_LAPSED_NO_QUOTES;
  md_round_trip(&ev);
  ev.why = IMX_LAPSED_NO_AWARD;
  CHECK(imx_md_encode(&ev, buf, sizeof buf) > 0);
  CHECK(strstr(buf, "\"why\":\"no_award\"") != NULL);
  md_round_trip(&ev);
}

/* tender.get of a tender that ended (issue 13): its status, when it ended,
** the winning quote and trade of an award, why it lapsed; each field given
** exactly when the status has it. */
static void test_tender_get_of_an_ended_tender_round_trips(void) {
  imx_reply_tender row = {.tender = 5, .service = "it.hour", .buyer = "CC-1100",
                          .qty = 1, .ceiling_minor = 2000, .deadline_time_ms = 9,
                          .decide = IMX_PDECIDE_SCORE, .price_weight = 50,
                          .quality_weight = 50, .quotes = 2,
                          .status = IMX_PTENDER_AWARDED, .ended_time_ms = 10,
                          .award_quote = 7, .award_trade = 3};
  imx_reply_quote quotes[2] = {
      {.quote = 6, .provider = "CC-6100", .name = "A", .site = "", .price_minor = 1900,
       .has_score = 1, .score = 2500},
      {.quote = 7, .provider = "CC-6200", .name = "B", .site = "", .price_minor = 1500,
       .has_score = 1, .score = 12500}};
  imx_reply x = reply(IMX_MSG_TENDER_GET, "tg");
  x.tenders = &row, x.tenders_n = 1;
  x.quotes = quotes, x.quotes_n = 2;
  round_trip_reply(&x);
  CHECK(strstr(out_, "\"buyer_site\":\"\",\"status\":\"awarded\",\"ended_time_ms\":10,"
                     "\"quote\":7,\"trade\":3,\"quotes\":[") != NULL);
  row.status = IMX_PTENDER_LAPSED, row.award_quote = row.award_trade = 0;
  row.why = IMX_LAPSED_NO_QUOTES, row.quotes = 0, x.quotes_n = 0;
  round_trip_reply(&x);
  CHECK(strstr(out_, "\"status\":\"lapsed\",\"ended_time_ms\":10,\"why\":\"no_quotes\"") != NULL);
  row.status = IMX_PTENDER_CANCELLED, row.why = 0;
  round_trip_reply(&x);
  CHECK(strstr(out_, "\"status\":\"cancelled\",\"ended_time_ms\":10,\"quotes\"") != NULL);
  row.status = IMX_PTENDER_OPEN, row.ended_time_ms = 0;
  round_trip_reply(&x);
  CHECK(strstr(out_, "\"status\":\"open\",\"quotes\"") != NULL);
#define HEAD "{\"v\":1,\"type\":\"tender.get.ok\",\"id\":\"x\",\"tender\":1,\"service\":\"s\"," \
             "\"buyer\":\"b\",\"qty\":1,\"ceiling\":1,\"deadline_time_ms\":1,"           \
             "\"decide\":\"lowest\",\"quote_count\":0,\"buyer_name\":\"n\",\"buyer_site\":\"\","
  static const struct {
    const char *json, *field;
  } bad[] = {
      {HEAD "\"quotes\":[]}", "status"},
      {HEAD "\"status\":\"won\",\"quotes\":[]}", "status"},
      {HEAD "\"status\":\"open\",\"ended_time_ms\":1,\"quotes\":[]}", "ended_time_ms"},
      {HEAD "\"status\":\"cancelled\",\"quotes\":[]}", "ended_time_ms"},
      {HEAD "\"status\":\"awarded\",\"ended_time_ms\":1,\"quote\":1,\"quotes\":[]}", "trade"},
      {HEAD "\"status\":\"awarded\",\"ended_time_ms\":1,\"quote\":0,\"trade\":1,\"quotes\":[]}",
       "quote"},
      {HEAD "\"status\":\"lapsed\",\"ended_time_ms\":1,\"quotes\":[]}", "why"},
      {HEAD "\"status\":\"lapsed\",\"ended_time_ms\":1,\"why\":\"late\",\"quotes\":[]}", "why"},
      {HEAD "\"status\":\"cancelled\",\"ended_time_ms\":1,\"why\":\"no_award\",\"quotes\":[]}",
       "why"},
      {HEAD "\"status\":\"lapsed\",\"ended_time_ms\":1,\"why\":\"no_award\",\"quote\":1,"
            "\"quotes\":[]}", "quote"},
  };
#undef HEAD
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    imx_reply y;
    imx_proto_error err = {0};
    CHECK_EQ(-1, imx_reply_decode(bad[i].json, strlen(bad[i].json), &y, &err));
    CHECK_STR(bad[i].field, err.field);
  }
}

/* A `score` tender: its weights in the tender's fields, a score per quote
** in tender.get, the weights in tender.opened and the winner's score in
** tender.awarded; weights only with decide score, summing to 100. */
static void test_score_tender_replies_and_events_round_trip(void) {
  imx_reply_tender row = {.tender = 1, .service = "truck.day", .buyer = "CC-1100",
                          .qty = 2, .ceiling_minor = 2000, .deadline_time_ms = 9,
                          .decide = IMX_PDECIDE_SCORE, .price_weight = 40,
                          .quality_weight = 60, .quotes = 2};
  imx_reply_quote quotes[2] = {
      {.quote = 1, .provider = "CC-6100", .name = "A", .site = "", .price_minor = 1500,
       .has_score = 1, .score = 70000},
      {.quote = 2, .provider = "CC-6200", .name = "B", .site = "", .price_minor = 1999,
       .has_score = 1, .score = 0}};
  imx_reply x = reply(IMX_MSG_TENDER_GET, "tg");
  x.tenders = &row, x.tenders_n = 1;
  x.quotes = quotes, x.quotes_n = 2;
  round_trip_reply(&x);
  CHECK(strstr(out_, "\"decide\":\"score\",\"price_weight\":40,\"quality_weight\":60,"
                     "\"quote_count\":2") != NULL);
  CHECK(strstr(out_, "\"price\":1500,\"score\":70000,\"ratings\"") != NULL);
  CHECK(strstr(out_, "\"price\":1999,\"score\":0,\"ratings\"") != NULL);
  x = reply(IMX_MSG_TENDER_LIST, "tl");
  x.tenders = &row, x.tenders_n = 1;
  round_trip_reply(&x);
  row.price_weight = 100, row.quality_weight = 0;
  round_trip_reply(&x);
  static const char *const bad[] = {
      /* score without its weights, weights not summing to 100, out of range */
      "{\"v\":1,\"type\":\"tender.list.ok\",\"id\":\"x\",\"tenders\":[{\"tender\":1,"
      "\"service\":\"s\",\"buyer\":\"b\",\"qty\":1,\"ceiling\":1,"
      "\"deadline_time_ms\":1,\"decide\":\"score\",\"quote_count\":0}]}",
      "{\"v\":1,\"type\":\"tender.list.ok\",\"id\":\"x\",\"tenders\":[{\"tender\":1,"
      "\"service\":\"s\",\"buyer\":\"b\",\"qty\":1,\"ceiling\":1,\"deadline_time_ms\":1,"
      "\"decide\":\"score\",\"price_weight\":50,\"quality_weight\":40,\"quote_count\":0}]}",
      "{\"v\":1,\"type\":\"tender.list.ok\",\"id\":\"x\",\"tenders\":[{\"tender\":1,"
      "\"service\":\"s\",\"buyer\":\"b\",\"qty\":1,\"ceiling\":1,\"deadline_time_ms\":1,"
      "\"decide\":\"score\",\"price_weight\":101,\"quality_weight\":-1,\"quote_count\":0}]}",
      /* weights on lowest */
      "{\"v\":1,\"type\":\"tender.list.ok\",\"id\":\"x\",\"tenders\":[{\"tender\":1,"
      "\"service\":\"s\",\"buyer\":\"b\",\"qty\":1,\"ceiling\":1,\"deadline_time_ms\":1,"
      "\"decide\":\"lowest\",\"price_weight\":50,\"quality_weight\":50,\"quote_count\":0}]}"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    imx_reply y;
    imx_proto_error err = {0};
    CHECK_EQ(-1, imx_reply_decode(bad[i], strlen(bad[i]), &y, &err));
    CHECK(strstr(err.field, "_weight") != NULL);
  }
  /* a score above 100000 */
  const char *big =
      "{\"v\":1,\"type\":\"tender.get.ok\",\"id\":\"x\",\"tender\":1,\"service\":\"s\","
      "\"buyer\":\"b\",\"qty\":1,\"ceiling\":1,\"deadline_time_ms\":1,\"decide\":\"score\","
      "\"price_weight\":50,\"quality_weight\":50,\"quote_count\":1,\"buyer_name\":\"n\","
      "\"buyer_site\":\"\",\"status\":\"open\",\"quotes\":[{\"quote\":1,\"provider\":\"p\",\"name\":\"n\","
      "\"site\":\"\",\"price\":1,\"score\":100001,\"ratings\":0,\"stars_sum\":0,"
      "\"ratings_90d\":0,\"stars_sum_90d\":0}]}";
  imx_reply y;
  imx_proto_error err = {0};
  CHECK_EQ(-1, imx_reply_decode(big, strlen(big), &y, &err));
  CHECK(strstr(err.field, "score") != NULL);

  imx_md_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = IMX_MD_TENDER_OPENED;
  strcpy(ev.service, "truck.day");
  strcpy(ev.buyer, "CC-1100");
  ev.tender = 3, ev.qty = 2, ev.price_minor = 45000, ev.deadline_time_ms = 1;
  ev.decide = IMX_PDECIDE_SCORE, ev.price_weight = 60, ev.quality_weight = 40;
  char buf[1024];
  CHECK(imx_md_encode(&ev, buf, sizeof buf) > 0);
  CHECK(strstr(buf, "\"decide\":\"score\",\"price_weight\":60,\"quality_weight\":40}") != NULL);
  md_round_trip(&ev);
  memset(&ev, 0, sizeof ev);
  ev.kind = IMX_MD_TENDER_AWARDED;
  strcpy(ev.service, "truck.day");
  strcpy(ev.buyer, "CC-1100");
  strcpy(ev.seller, "CC-6100");
  strcpy(ev.topic_cc, "CC-1100");
  ev.tender = 3, ev.quote = 2, ev.qty = 2, ev.price_minor = 45000, ev.trade = 9;
  ev.has_score = 1, ev.score = 73400;
  CHECK(imx_md_encode(&ev, buf, sizeof buf) > 0);
  CHECK(strstr(buf, "\"trade\":9,\"score\":73400}") != NULL);
  md_round_trip(&ev);
}

static void test_market_data_tender_topic_must_fit_the_event(void) {
  static const char *const bad[] = {
      /* a buyer's event on a service's topic */
      "truck.day {\"type\":\"tender.quoted\",\"service\":\"truck.day\","
      "\"tender\":3,\"buyer\":\"CC-1100\",\"quote_count\":2}",
      /* on another cost centre's topic */
      "cc:CC-9 {\"type\":\"tender.lapsed\",\"service\":\"truck.day\","
      "\"tender\":3,\"buyer\":\"CC-1100\",\"qty\":1,\"why\":\"no_award\"}",
      /* an awarded on a third party's topic */
      "cc:CC-9 {\"type\":\"tender.awarded\",\"service\":\"t\",\"tender\":3,"
      "\"quote\":1,\"buyer\":\"CC-1\",\"seller\":\"CC-2\",\"qty\":1,"
      "\"price\":1,\"trade\":1}",
      /* a service's event on a cost centre's topic */
      "cc:CC-1100 {\"type\":\"tender.opened\",\"service\":\"truck.day\","
      "\"tender\":3,\"buyer\":\"CC-1100\",\"qty\":2,\"ceiling\":1,"
      "\"deadline_time_ms\":1,\"decide\":\"lowest\"}",
      /* a price in a sealed event */
      "cc:CC-1100 {\"type\":\"tender.quoted\",\"service\":\"truck.day\","
      "\"tender\":3,\"buyer\":\"CC-1100\",\"quote_count\":2,\"price\":1}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    imx_md_event ev;
    imx_proto_error err = {0};
    CHECK_EQ(-1, imx_md_decode(bad[i], strlen(bad[i]), &ev, &err));
  }
  /* The fuzzer's: a NUL in the topic made "cc:CC-6100\0..." pass as the
  ** seller's topic, and the event did not encode back to its bytes. */
  static const char nul[] =
      "cc:CC-6100\0\0 {\"type\":\"tender.awarded\",\"service\":\"t\",\"tender\":3,"
      "\"quote\":2,\"buyer\":\"CC-1100\",\"seller\":\"CC-6100\",\"qty\":2,"
      "\"price\":1,\"trade\":9}";
  imx_md_event ev;
  imx_proto_error err = {0};
  CHECK_EQ(-1, imx_md_decode(nul, sizeof nul - 1, &ev, &err));
  CHECK_STR("buyer", err.field);
}

static void test_market_data_decode_refuses_bad_messages(void) {
  static const char *const bad[] = {
      "it.hour",                                             /* no event   */
      "it.hour {",                                           /* not JSON   */
      "it.hour {\"type\":\"quote\",\"service\":\"it.hour\"}",   /* kind  */
      "other {\"type\":\"top\",\"service\":\"it.hour\",\"bid\":null,"
      "\"bid_qty\":0,\"offer\":null,\"offer_qty\":0}",       /* topic      */
      "it.hour {\"type\":\"trade\",\"service\":\"it.hour\",\"trade\":1,"
      "\"qty\":1.5,\"price\":1,\"time_ms\":0}",               /* fraction   */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    imx_md_event ev;
    imx_proto_error err = {0};
    CHECK_EQ(-1, imx_md_decode(bad[i], strlen(bad[i]), &ev, &err));
  }
  imx_md_event ev;
  memset(&ev, 0, sizeof ev);
  ev.kind = IMX_MD_TRADE;
  strcpy(ev.service, "it.hour");
  char small[16];
  CHECK_EQ(0, imx_md_encode(&ev, small, sizeof small));
}

/* ------------------------------------------------------------ market file */

/* A growing text, for market files of any size. */
typedef struct text_buf {
  char *s;
  size_t len, cap;
} text_buf;

static void tb_add(text_buf *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void tb_add(text_buf *t, const char *fmt, ...) {
  for (;;) {
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->s ? t->s + t->len : NULL, t->s ? t->cap - t->len : 0,
                      fmt, ap);
    va_end(ap);
    if (n < 0) abort();
    if (t->s && (size_t)n < t->cap - t->len) {
      t->len += (size_t)n;
      return;
    }
    t->cap = 2 * (t->cap + (size_t)n + 1);
    t->s = realloc(t->s, t->cap);
    if (t->s == NULL) abort();
  }
}

#define MARKET_HEAD                                                          \
  "{\"currency\":\"EUR\",\"services\":[{\"id\":\"s\",\"unit\":\"hour\","     \
  "\"tick\":1,\"lot\":1}],\"cost_centres\":["

/* A market of one service "s" and n receivers CC-0..CC-(n-1), each with the
** budget given (a JSON number as text). */
static char *receivers_market(uint32_t n, const char *budget) {
  text_buf t = {0};
  tb_add(&t, MARKET_HEAD);
  for (uint32_t i = 0; i < n; i++)
    tb_add(&t, "%s{\"id\":\"CC-%u\",\"name\":\"n\",\"roles\":[\"receiver\"],"
               "\"budget\":%s}", i ? "," : "", i, budget);
  tb_add(&t, "]}");
  return t.s;
}

static int market_ok(const char *json, imx_market *m) {
  imx_proto_error err = {0};
  int rc = imx_market_parse(json, strlen(json), m, &err);
  if (rc != 0)
    fprintf(stderr, "  market refused (%s %s: %s)\n", err.code, err.field,
            err.message);
  CHECK_EQ(0, rc);
  return rc == 0;
}

static void expect_market_error(const char *json, const char *code,
                                const char *field) {
  imx_market m;
  imx_proto_error err = {0};
  int rc = imx_market_parse(json, strlen(json), &m, &err);
  int good = rc == -1 && err.code && strcmp(err.code, code) == 0 &&
             strcmp(err.field, field) == 0 && err.message != NULL;
  if (!good)
    fprintf(stderr, "  want %s \"%s\", got rc %d %s \"%s\" (%s)\n", code, field,
            rc, err.code ? err.code : "-", err.field,
            err.message ? err.message : "-");
  CHECK(good);
  CHECK(m.services == NULL && m.ccs == NULL); /* a failed load keeps nothing */
}

/* The market of README.md's section "The market file". */
static void test_market_file_loads_the_documented_example(void) {
  static const char json[] =
      "{\"currency\": \"EUR\",\n"
      " \"services\": [{\"id\": \"it.helpdesk.hour\", \"name\": \"IT helpdesk hour\",\n"
      "               \"description\": \"First- and second-level support by phone "
      "and remote session, billed per started hour.\",\n"
      "               \"unit\": \"hour\", \"tick\": 100, \"lot\": 1,\n"
      "               \"divisible\": true, \"mode\": \"continuous\", "
      "\"price_cap\": 50000}],\n"
      " \"cost_centres\": [{\"id\": \"CC-4100\", \"name\": \"IT Service Desk "
      "Hamburg\", \"site\": \"Hamburg\",\n"
      "                   \"roles\": [\"provider\"], \"budget\": 0, "
      "\"capacities\": {\"it.helpdesk.hour\": 1200}},\n"
      "                  {\"id\": \"CC-1500\", \"name\": \"Marketing\", "
      "\"site\": \"Hamburg\",\n"
      "                   \"roles\": [\"receiver\"], \"budget\": 3000000}]}";
  imx_market m;
  if (!market_ok(json, &m)) return;
  CHECK_STR("EUR", m.currency);
  CHECK_EQ(1, m.services_n);
  CHECK_EQ(2, m.ccs_n);
  CHECK_EQ(100, m.services[0].tick_minor);
  CHECK_EQ(50000, m.services[0].price_cap_minor);
  CHECK_STR("IT helpdesk hour", m.services[0].name);
  CHECK_EQ(1200, m.ccs[0].capacities[0].qty);
  CHECK_EQ(3000000, m.ccs[1].budget_minor);
  CHECK_EQ(IMX_TENDERS_PER_CC_DEFAULT, m.tenders_per_cc_max);
  CHECK_EQ(16, m.tenders_per_cc_max);
  CHECK_EQ(0, imx_market_service_find(&m, "it.helpdesk.hour"));
  CHECK_EQ(1, imx_market_cc_find(&m, "CC-1500"));
  CHECK_EQ(-1, imx_market_cc_find(&m, "CC-9999"));
  CHECK_EQ(-1, imx_market_service_find(&m, "CC-1500"));
  imx_market_free(&m);
}

static void test_market_service_name_and_description_are_optional(void) {
  static const char json[] =
      "{\"currency\":\"EUR\",\"services\":["
      "{\"id\":\"it.helpdesk.hour\",\"name\":\"IT helpdesk hour\","
      "\"description\":\"First- and second-level support by phone and remote "
      "session, billed per started hour.\",\"unit\":\"hour\",\"tick\":100,"
      "\"lot\":1},"
      "{\"id\":\"lab.test\",\"unit\":\"test\",\"tick\":100,\"lot\":1}],"
      "\"cost_centres\":[]}";
  imx_market m;
  if (!market_ok(json, &m)) return;
  CHECK_STR("IT helpdesk hour", m.services[0].name);
  CHECK_STR("First- and second-level support by phone and remote session, "
            "billed per started hour.", m.services[0].description);
  CHECK_STR("lab.test", m.services[1].name); /* no name: the id */
  CHECK_STR("", m.services[1].description);
  imx_market_free(&m);
}

static void test_market_service_name_and_description_are_bounded(void) {
  char desc[IMX_DESCRIPTION_BYTES_MAX + 2];
  memset(desc, 'd', sizeof desc - 1);
  desc[sizeof desc - 1] = '\0'; /* 513 bytes */
  char name[IMX_TEXT_BYTES_MAX + 2];
  memset(name, 'n', sizeof name - 1);
  name[sizeof name - 1] = '\0'; /* 129 bytes */
  static const char svc[] = "{\"id\":\"s%d\",\"unit\":\"u\",\"tick\":1,\"lot\":1%s}";
  text_buf t = {0};
  char extra[1024];
  /* 512 bytes load; the third service's 513 are refused by path */
  snprintf(extra, sizeof extra, ",\"description\":\"%.512s\"", desc);
  tb_add(&t, "{\"currency\":\"EUR\",\"services\":[");
  tb_add(&t, svc, 0, "");
  tb_add(&t, ",");
  tb_add(&t, svc, 1, extra);
  tb_add(&t, ",");
  snprintf(extra, sizeof extra, ",\"description\":\"%s\"", desc);
  tb_add(&t, svc, 2, extra);
  tb_add(&t, "],\"cost_centres\":[]}");
  imx_market m;
  imx_proto_error err = {0};
  CHECK_EQ(-1, imx_market_parse(t.s, t.len, &m, &err));
  CHECK_STR("bad_field", err.code);
  CHECK_STR("services[2].description", err.field);
  CHECK_STR("must be 1 to 512 bytes long", err.message);
  free(t.s);
  snprintf(extra, sizeof extra,
           "{\"currency\":\"EUR\",\"services\":[{\"id\":\"s\",\"name\":\"%s\","
           "\"unit\":\"u\",\"tick\":1,\"lot\":1}],\"cost_centres\":[]}", name);
  expect_market_error(extra, "bad_field", "services[0].name");
  expect_market_error("{\"currency\":\"EUR\",\"services\":[{\"id\":\"s\",\"name\":"
                      "\"\",\"unit\":\"u\",\"tick\":1,\"lot\":1}],\"cost_centres\":[]}",
                      "bad_field", "services[0].name");
  expect_market_error("{\"currency\":\"EUR\",\"services\":[{\"id\":\"s\","
                      "\"description\":\"a\\nb\",\"unit\":\"u\",\"tick\":1,"
                      "\"lot\":1}],\"cost_centres\":[]}",
                      "bad_field", "services[0].description");
  expect_market_error("{\"currency\":\"EUR\",\"services\":[{\"id\":\"s\","
                      "\"description\":7,\"unit\":\"u\",\"tick\":1,"
                      "\"lot\":1}],\"cost_centres\":[]}",
                      "bad_field", "services[0].description");
}

/* A service's name, description and unit in more languages: loaded in the
** file's order, each text optional; refused by path where wrong. */
static void test_market_service_translations(void) {
  static const char json[] =
      "{\"currency\":\"EUR\",\"services\":[{\"id\":\"truck.day\",\"name\":\"Truck "
      "with driver\",\"unit\":\"truck-day\",\"tick\":500,\"lot\":1,"
      "\"translations\":{\"de\":{\"name\":\"LKW mit Fahrer\",\"description\":\"Ein "
      "7,5-Tonner mit Fahrer\",\"unit\":\"LKW-Tag\"},\"fr\":{\"unit\":\"jour\"}}},"
      "{\"id\":\"lab.test\",\"unit\":\"test\",\"tick\":100,\"lot\":1}],"
      "\"cost_centres\":[]}";
  imx_market m;
  if (!market_ok(json, &m)) return;
  CHECK_EQ(2, m.services[0].texts_n);
  CHECK_STR("de", m.services[0].texts[0].lang);
  CHECK_STR("LKW mit Fahrer", m.services[0].texts[0].name);
  CHECK_STR("Ein 7,5-Tonner mit Fahrer", m.services[0].texts[0].description);
  CHECK_STR("LKW-Tag", m.services[0].texts[0].unit);
  CHECK_STR("fr", m.services[0].texts[1].lang);
  CHECK_STR("", m.services[0].texts[1].name); /* the default's */
  CHECK_STR("jour", m.services[0].texts[1].unit);
  CHECK_EQ(0, m.services[1].texts_n);
  imx_market_free(&m);
  /* what is wrong, and the field the error names (in services[0].) */
  static const struct {
    const char *tr, *field;
  } bad[] = {
      {"[]", "translations"},
      {"{\"deu\":{\"name\":\"x\"}}", "translations"},
      {"{\"DE\":{\"name\":\"x\"}}", "translations"},
      {"{\"de\":\"LKW\"}", "translations.de"},
      {"{\"de\":{}}", "translations.de"},
      {"{\"de\":{\"title\":\"x\"}}", "translations.de.title"},
      {"{\"de\":{\"name\":\"\"}}", "translations.de.name"},
      {"{\"de\":{\"unit\":\"a\\nb\"}}", "translations.de.unit"},
      {"{\"de\":{\"name\":\"a\"},\"de\":{\"name\":\"b\"}}", "translations.de"},
      {"{\"aa\":{\"name\":\"a\"},\"bb\":{\"name\":\"b\"},\"cc\":{\"name\":\"c\"},"
       "\"dd\":{\"name\":\"d\"},\"ee\":{\"name\":\"e\"}}",
       "translations.ee"}};
  for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
    char file[512], field[64];
    snprintf(file, sizeof file,
             "{\"currency\":\"EUR\",\"services\":[{\"id\":\"s\",\"unit\":\"u\",\"tick\":1,"
             "\"lot\":1,\"translations\":%s}],\"cost_centres\":[]}",
             bad[i].tr);
    snprintf(field, sizeof field, "services[0].%s", bad[i].field);
    expect_market_error(file, "bad_field", field);
  }
}

/* ------------------------------------------------------------- periods */

#define PERIOD_MARKET(extra) \
  "{\"currency\":\"EUR\",\"services\":[],\"cost_centres\":[]" extra "}"

static void label_is(const imx_market *m, int64_t period, const char *want) {
  char buf[IMX_PERIOD_LABEL_BYTES];
  CHECK_EQ(0, imx_period_label(m, period, buf, sizeof buf));
  CHECK_STR(want, buf);
  CHECK_EQ(period, imx_period_parse(m, want)); /* and back */
}

static void last_day_is(const imx_market *m, int64_t period, const char *want) {
  char buf[11];
  CHECK_EQ(0, imx_period_last_day(m, period, buf));
  CHECK_STR(want, buf);
}

/* Period n is the (n-1)-th month after "first_period": December turns into
** January of the next year, and the last day counts leap years (2028 is
** one, 2100 is not, 2000 is). */
static void test_periods_are_calendar_months_from_the_first(void) {
  imx_market m;
  if (!market_ok(PERIOD_MARKET(",\"period\":\"month\",\"first_period\":\"2026-12\""),
                 &m))
    return;
  label_is(&m, 1, "2026-12");
  label_is(&m, 2, "2027-01");
  label_is(&m, 13, "2027-12");
  label_is(&m, 14, "2028-01");
  last_day_is(&m, 1, "2026-12-31");
  last_day_is(&m, 2, "2027-01-31");
  last_day_is(&m, 3, "2027-02-28");
  last_day_is(&m, 4, "2027-03-31");
  last_day_is(&m, 5, "2027-04-30");
  last_day_is(&m, 15, "2028-02-29");
  CHECK_EQ(-1, imx_period_parse(&m, "2026-11")); /* before the first */
  CHECK_EQ(-1, imx_period_parse(&m, "2026-13"));
  CHECK_EQ(-1, imx_period_parse(&m, "2026-00"));
  CHECK_EQ(-1, imx_period_parse(&m, "2027-1"));
  CHECK_EQ(-1, imx_period_parse(&m, "2027-01-31"));
  CHECK_EQ(-1, imx_period_parse(&m, "1")); /* a number in a calendar market */
  CHECK_EQ(-1, imx_period_parse(&m, ""));
  char buf[IMX_PERIOD_LABEL_BYTES];
  CHECK_EQ(-1, imx_period_label(&m, 0, buf, sizeof buf));
  CHECK_EQ(0, imx_period_label(&m, (9999 - 2026) * 12 + 1, buf, sizeof buf));
  CHECK_STR("9999-12", buf);
  CHECK_EQ(-1, imx_period_label(&m, (9999 - 2026) * 12 + 2, buf, sizeof buf));
  CHECK_EQ(-1, imx_period_label(&m, 2, buf, 7)); /* no room for the NUL */
  imx_market_free(&m);
  if (!market_ok(PERIOD_MARKET(",\"first_period\":\"2100-01\""), &m)) return;
  last_day_is(&m, 2, "2100-02-28");
  imx_market_free(&m);
  if (!market_ok(PERIOD_MARKET(",\"first_period\":\"2000-02\""), &m)) return;
  last_day_is(&m, 1, "2000-02-29");
  imx_market_free(&m);
}

/* Without "first_period" the periods keep their numbers, and have no last
** day (exports date postings by the trade's day). */
static void test_periods_without_first_period_are_numbered(void) {
  imx_market m;
  if (!market_ok(PERIOD_MARKET(""), &m)) return;
  label_is(&m, 1, "1");
  label_is(&m, 12, "12");
  char day[11];
  CHECK_EQ(1, imx_period_last_day(&m, 1, day));
  CHECK_EQ(-1, imx_period_parse(&m, "0"));
  CHECK_EQ(-1, imx_period_parse(&m, "01"));
  CHECK_EQ(-1, imx_period_parse(&m, "2026-12"));
  CHECK_EQ(-1, imx_period_parse(&m, "-1"));
  imx_market_free(&m);
}

static void test_market_period_fields_are_checked(void) {
  expect_market_error(PERIOD_MARKET(",\"period\":\"week\""), "bad_field", "period");
  expect_market_error(PERIOD_MARKET(",\"first_period\":\"2026-13\""), "bad_field",
                      "first_period");
  expect_market_error(PERIOD_MARKET(",\"first_period\":\"1969-12\""), "bad_field",
                      "first_period");
  expect_market_error(PERIOD_MARKET(",\"first_period\":\"2026-12-01\""), "bad_field",
                      "first_period");
  expect_market_error(PERIOD_MARKET(",\"first_period\":202612"), "bad_field",
                      "first_period");
}

/* ------------------------------------------------------ the SAP mapping */

/* A market with one service and two cost centres; svc, cc and top go into
** the service, the provider and the document (each starts with a comma
** when not empty). */
#define SAP_MARKET(top, svc, cc)                                                  \
  "{\"currency\":\"EUR\"" top ",\"services\":[{\"id\":\"it\",\"unit\":\"hour\","   \
  "\"tick\":1,\"lot\":1" svc "}],\"cost_centres\":[{\"id\":\"P\",\"name\":\"P\","  \
  "\"roles\":[\"provider\"],\"budget\":0" cc "},{\"id\":\"R\",\"name\":\"R\","     \
  "\"roles\":[\"receiver\"],\"budget\":100}]}"

/* The mapping is read into the market; without it every field is "". */
static void test_market_sap_mapping_is_read_and_optional(void) {
  imx_market m;
  if (!market_ok(SAP_MARKET(",\"erp\":{\"controlling_area\":\"1000\",\"user\":"
                            "\"IMX-UPLOAD12\",\"header_text\":\"Gruppe Süd: Umlage\"}",
                            ",\"activity_type\":\"ITHLP1\",\"uom\":\"TAG\"",
                            ",\"erp_cc\":\"0000004100\""),
                 &m))
    return;
  CHECK_STR("1000", m.erp.controlling_area);
  CHECK_STR("IMX-UPLOAD12", m.erp.user); /* each at SAP's length */
  CHECK_STR("Gruppe Süd: Umlage", m.erp.header_text);
  CHECK_STR("ITHLP1", m.services[0].activity_type);
  CHECK_STR("TAG", m.services[0].uom);
  CHECK_STR("0000004100", m.ccs[0].erp_cc);
  CHECK_STR("", m.ccs[1].erp_cc);
  imx_market_free(&m);
  if (!market_ok(SAP_MARKET("", "", ""), &m)) return;
  CHECK_STR("", m.erp.controlling_area);
  CHECK_STR("", m.erp.user);
  CHECK_STR("", m.erp.header_text);
  CHECK_STR("", m.services[0].activity_type);
  CHECK_STR("", m.services[0].uom);
  CHECK_STR("", m.ccs[0].erp_cc);
  imx_market_free(&m);
  /* 25 characters of two bytes each are 25 characters */
  if (!market_ok(SAP_MARKET(",\"erp\":{\"header_text\":\"äääääääääääääääääääääääää\"}",
                            "", ""),
                 &m))
    return;
  CHECK_EQ(50, (long long)strlen(m.erp.header_text));
  imx_market_free(&m);
}

/* Every key longer than SAP's field, empty, not a string or with what the
** upload cannot carry is refused when the file loads, by its path. */
static void test_market_sap_mapping_is_checked_when_the_file_loads(void) {
  expect_market_error(SAP_MARKET("", "", ",\"erp_cc\":\"00000041000\""), "bad_field",
                      "cost_centres[0].erp_cc");
  expect_market_error(SAP_MARKET("", "", ",\"erp_cc\":\"\""), "bad_field",
                      "cost_centres[0].erp_cc");
  expect_market_error(SAP_MARKET("", "", ",\"erp_cc\":4100"), "bad_field",
                      "cost_centres[0].erp_cc");
  expect_market_error(SAP_MARKET("", "", ",\"erp_cc\":\"41;00\""), "bad_field",
                      "cost_centres[0].erp_cc");
  expect_market_error(SAP_MARKET("", "", ",\"erp_cc\":\"41 00\""), "bad_field",
                      "cost_centres[0].erp_cc");
  expect_market_error(SAP_MARKET("", "", ",\"erp_cc\":\"41\\\"00\""), "bad_field",
                      "cost_centres[0].erp_cc");
  expect_market_error(SAP_MARKET("", "", ",\"erp_cc\":\"Kst4100\u00e4\""), "bad_field",
                      "cost_centres[0].erp_cc");
  expect_market_error(SAP_MARKET("", ",\"activity_type\":\"ITHLP12\"", ""), "bad_field",
                      "services[0].activity_type");
  expect_market_error(SAP_MARKET("", ",\"uom\":\"MTRK\"", ""), "bad_field",
                      "services[0].uom");
  expect_market_error(SAP_MARKET(",\"erp\":{\"controlling_area\":\"10000\"}", "", ""),
                      "bad_field", "erp.controlling_area");
  expect_market_error(SAP_MARKET(",\"erp\":{\"user\":\"IMX-UPLOAD-123\"}", "", ""),
                      "bad_field", "erp.user");
  expect_market_error(
      SAP_MARKET(",\"erp\":{\"header_text\":\"abcdefghijklmnopqrstuvwxyz\"}", "", ""),
      "bad_field", "erp.header_text");
  expect_market_error(SAP_MARKET(",\"erp\":{\"header_text\":\"a;b\"}", "", ""),
                      "bad_field", "erp.header_text");
  expect_market_error(SAP_MARKET(",\"erp\":{\"header_text\":\"a\\nb\"}", "", ""),
                      "bad_field", "erp.header_text");
  expect_market_error(SAP_MARKET(",\"erp\":{\"header_text\":\"\"}", "", ""), "bad_field",
                      "erp.header_text");
  expect_market_error(SAP_MARKET(",\"erp\":{\"company\":\"1000\"}", "", ""), "bad_field",
                      "erp.company");
  expect_market_error(SAP_MARKET(",\"erp\":\"1000\"", "", ""), "bad_field", "erp");
  /* the message says which SAP field and how long */
  imx_market m;
  imx_proto_error err = {0};
  const char *json = SAP_MARKET("", "", ",\"erp_cc\":\"00000041000\"");
  CHECK_EQ(-1, imx_market_parse(json, strlen(json), &m, &err));
  CHECK_STR("must be 1 to 10 characters: SAP's cost centre (SEND_CCTR, REC_CCTR)",
            err.message);
}

static void test_market_service_id_may_not_take_a_cost_centres_topic(void) {
  expect_market_error(
      "{\"currency\":\"EUR\",\"services\":[{\"id\":\"it.hour\",\"unit\":\"h\","
      "\"tick\":1,\"lot\":1},{\"id\":\"cc:CC-1\",\"unit\":\"h\",\"tick\":1,"
      "\"lot\":1}],\"cost_centres\":[]}",
      "bad_field", "services[1].id");
}

static void test_market_ten_budgets_of_1e18_are_refused_at_the_first(void) {
  char *json = receivers_market(10, "1000000000000000000");
  imx_market m;
  imx_proto_error err = {0};
  CHECK_EQ(-1, imx_market_parse(json, strlen(json), &m, &err));
  CHECK_STR("bad_field", err.code);
  CHECK_STR("cost_centres[0].budget", err.field);
  CHECK_STR("makes the sum of all budgets larger than the limit, 10^15 minor "
            "units", err.message);
  free(json);
}

static void test_market_budgets_are_refused_where_their_sum_passes_1e15(void) {
  /* 11 x 1e14: the sum passes 1e15 at the eleventh */
  char *json = receivers_market(11, "100000000000000");
  expect_market_error(json, "bad_field", "cost_centres[10].budget");
  free(json);
  /* 1e15 then 1: at the second */
  json = receivers_market(2, "500000000000001");
  expect_market_error(json, "bad_field", "cost_centres[1].budget");
  free(json);
}

static void test_market_budgets_summing_to_exactly_1e15_load(void) {
  imx_market m;
  char *json = receivers_market(10, "100000000000000"); /* 10 x 1e14 */
  if (market_ok(json, &m)) {
    int64_t sum = 0;
    for (uint32_t i = 0; i < m.ccs_n; i++) sum += m.ccs[i].budget_minor;
    CHECK_EQ(IMX_BUDGETS_TOTAL_MAX_MINOR, sum);
    imx_market_free(&m);
  }
  free(json);
  json = receivers_market(1, "1000000000000000"); /* one budget of 1e15 */
  if (market_ok(json, &m)) imx_market_free(&m);
  free(json);
  json = receivers_market(1, "1000000000000001");
  expect_market_error(json, "bad_field", "cost_centres[0].budget");
  free(json);
  json = receivers_market(1, "-1");
  expect_market_error(json, "bad_field", "cost_centres[0].budget");
  free(json);
}

/* One provider of service "s" with the capacity given (JSON text). */
static char *provider_market(const char *service_extra, const char *capacity) {
  text_buf t = {0};
  tb_add(&t, "{\"currency\":\"EUR\",\"services\":[{\"id\":\"s\",\"unit\":\"u\","
             "\"lot\":1%s}],\"cost_centres\":[{\"id\":\"P\",\"name\":\"p\","
             "\"roles\":[\"provider\"],\"capacities\":{\"s\":%s}}]}",
         service_extra, capacity);
  return t.s;
}

static void test_market_capacity_is_0_to_IMX_CAPACITY_MAX(void) {
  imx_market m;
  char *json = provider_market(",\"tick\":1", "1000000000");
  if (market_ok(json, &m)) {
    CHECK_EQ(IMX_CAPACITY_MAX, m.ccs[0].capacities[0].qty);
    imx_market_free(&m);
  }
  free(json);
  static const char *const bad[] = {"1000000001", "-1", "1.5", "\"5\""};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json = provider_market(",\"tick\":1", bad[i]);
    expect_market_error(json, "bad_field", "cost_centres[0].capacities.s");
    free(json);
  }
}

static void test_market_tick_price_cap_and_lot_are_bounded(void) {
  imx_market m;
  char *json = provider_market(",\"tick\":1000000000,\"price_cap\":1000000000", "1");
  if (market_ok(json, &m)) {
    CHECK_EQ(IMX_PRICE_MAX_MINOR, m.services[0].tick_minor);
    CHECK_EQ(IMX_PRICE_MAX_MINOR, m.services[0].price_cap_minor);
    imx_market_free(&m);
  }
  free(json);
  json = provider_market(",\"tick\":1000000001", "1");
  expect_market_error(json, "bad_field", "services[0].tick");
  free(json);
  json = provider_market(",\"tick\":1,\"price_cap\":1000000001", "1");
  expect_market_error(json, "bad_field", "services[0].price_cap");
  free(json);
  static const char lot_over[] =
      "{\"currency\":\"EUR\",\"services\":[{\"id\":\"s\",\"unit\":\"u\","
      "\"tick\":1,\"lot\":1000000001}],\"cost_centres\":[]}";
  expect_market_error(lot_over, "bad_field", "services[0].lot");
}

static void test_market_ratings_min_is_1_to_1e6_default_3(void) {
  static const char *const good[] = {"1", "1000000", "5"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    char json[256];
    snprintf(json, sizeof json,
             "{\"currency\":\"EUR\",\"ratings_min\":%s,\"services\":[],"
             "\"cost_centres\":[]}", good[i]);
    imx_market m;
    if (!market_ok(json, &m)) continue;
    CHECK_EQ(atoll(good[i]), m.ratings_min);
    imx_market_free(&m);
  }
  imx_market m;
  if (market_ok("{\"currency\":\"EUR\",\"services\":[],\"cost_centres\":[]}", &m)) {
    CHECK_EQ(3u, m.ratings_min);
    imx_market_free(&m);
  }
  static const char *const bad[] = {"0", "1000001", "-1", "2.5", "\"3\"", "null"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char json[256];
    snprintf(json, sizeof json,
             "{\"currency\":\"EUR\",\"ratings_min\":%s,\"services\":[],"
             "\"cost_centres\":[]}", bad[i]);
    expect_market_error(json, "bad_field", "ratings_min");
  }
}

static void test_market_tenders_per_cc_max_is_0_to_1e6_default_16(void) {
  static const char *const good[] = {"0", "1000000", "16"};
  for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
    char json[256];
    snprintf(json, sizeof json,
             "{\"currency\":\"EUR\",\"tenders_per_cc_max\":%s,\"services\":[],"
             "\"cost_centres\":[]}", good[i]);
    imx_market m;
    if (!market_ok(json, &m)) continue;
    CHECK_EQ(atoll(good[i]), m.tenders_per_cc_max);
    imx_market_free(&m);
  }
  static const char *const bad[] = {"1000001", "-1", "1.5", "\"16\"", "null"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    char json[256];
    snprintf(json, sizeof json,
             "{\"currency\":\"EUR\",\"tenders_per_cc_max\":%s,\"services\":[],"
             "\"cost_centres\":[]}", bad[i]);
    expect_market_error(json, "bad_field", "tenders_per_cc_max");
  }
}

/* 20,000 cost centres: every id found by the index, at its position. */
static void test_market_of_20000_cost_centres_finds_every_id(void) {
  enum { N = 20000 };
  char *json = receivers_market(N, "1000");
  imx_market m;
  if (!market_ok(json, &m)) {
    free(json);
    return;
  }
  CHECK_EQ(N, m.ccs_n);
  int found = 0;
  for (uint32_t i = 0; i < N; i++) {
    char id[32];
    snprintf(id, sizeof id, "CC-%u", i);
    found += imx_market_cc_find(&m, id) == (int64_t)i;
  }
  CHECK_EQ(N, found);
  CHECK_EQ(-1, imx_market_cc_find(&m, "CC-20000"));
  CHECK_EQ(-1, imx_market_cc_find(&m, "CC-"));
  CHECK_EQ(-1, imx_market_cc_find(&m, "s"));
  CHECK_EQ(0, imx_market_service_find(&m, "s"));
  imx_market_free(&m);
  free(json);
}

static void test_market_a_duplicate_id_is_named_at_its_second_position(void) {
  /* CC-0 .. CC-19999, then CC-7 again */
  char *json = receivers_market(20000, "1");
  text_buf t = {json, strlen(json), strlen(json) + 1};
  t.len -= 2; /* "]}" */
  tb_add(&t, ",{\"id\":\"CC-7\",\"name\":\"again\",\"roles\":[\"receiver\"]}]}");
  imx_market m;
  imx_proto_error err = {0};
  CHECK_EQ(-1, imx_market_parse(t.s, t.len, &m, &err));
  CHECK_STR("bad_field", err.code);
  CHECK_STR("cost_centres[20000].id", err.field);
  CHECK_STR("given twice", err.message);
  free(t.s);
  static const char services[] =
      "{\"currency\":\"EUR\",\"services\":[{\"id\":\"a\",\"unit\":\"u\","
      "\"tick\":1,\"lot\":1},{\"id\":\"b\",\"unit\":\"u\",\"tick\":1,\"lot\":1},"
      "{\"id\":\"a\",\"unit\":\"u\",\"tick\":1,\"lot\":1}],\"cost_centres\":[]}";
  expect_market_error(services, "bad_field", "services[2].id");
}

static void test_market_a_capacity_given_twice_is_refused(void) {
  static const char json[] =
      "{\"currency\":\"EUR\",\"services\":[{\"id\":\"a\",\"unit\":\"u\","
      "\"tick\":1,\"lot\":1},{\"id\":\"b\",\"unit\":\"u\",\"tick\":1,\"lot\":1}],"
      "\"cost_centres\":[{\"id\":\"P\",\"name\":\"p\",\"roles\":[\"provider\"],"
      "\"capacities\":{\"a\":1,\"b\":2}},{\"id\":\"Q\",\"name\":\"q\","
      "\"roles\":[\"provider\"],\"capacities\":{\"b\":1,\"a\":1,\"b\":3}}]}";
  expect_market_error(json, "bad_field", "cost_centres[1].capacities.b");
}

static void test_market_lists_are_bounded(void) {
  text_buf t = {0};
  tb_add(&t, "{\"currency\":\"EUR\",\"services\":[");
  for (uint32_t i = 0; i <= IMX_SERVICES_MAX; i++)
    tb_add(&t, "%s{\"id\":\"s%u\",\"unit\":\"u\",\"tick\":1,\"lot\":1}",
           i ? "," : "", i);
  tb_add(&t, "],\"cost_centres\":[]}");
  expect_market_error(t.s, "bad_field", "services");
  free(t.s);
}

static void test_market_currency_must_be_3_letters(void) {
  static const char json[] =
      "{\"currency\":\"EURO\",\"services\":[],\"cost_centres\":[]}";
  imx_market m;
  imx_proto_error err = {0};
  CHECK_EQ(-1, imx_market_parse(json, strlen(json), &m, &err));
  CHECK_STR("currency", err.field);
  CHECK_STR("must be a 3-letter currency code such as EUR", err.message);
}

/* ------------------------------------------------------------------ money */

/* text in a currency of d decimals must read as want minor units. */
static void money_reads(const char *text, int d, int64_t want) {
  imx_proto_error err = {0};
  int64_t got = -12345;
  int rc = imx_money_parse(text, d, IMX_MONEY_SIGNED, INT64_MAX, &got, &err);
  if (rc != 0 || got != want)
    fprintf(stderr, "  \"%s\" (%d decimals): want %lld, got rc %d %lld (%s)\n", text, d,
            (long long)want, rc, (long long)got, err.message ? err.message : "");
  CHECK(rc == 0 && got == want);
}

/* text must be refused with message. */
static void money_refused(const char *text, int d, unsigned flags, int64_t max,
                          const char *message) {
  imx_proto_error err = {0};
  int64_t got = -12345;
  int rc = imx_money_parse(text, d, flags, max, &got, &err);
  int good = rc == -1 && got == -12345 && err.code && !strcmp(err.code, "bad_field") &&
             err.message && !strcmp(err.message, message);
  if (!good)
    fprintf(stderr, "  \"%s\" (%d decimals): want \"%s\", got rc %d %lld \"%s\"\n", text, d,
            message, rc, (long long)got, err.message ? err.message : "");
  CHECK(good);
}

#define NOT_AN_AMOUNT "not an amount: digits with at most one '.' or ',' (85, 85.50, 85,50)"

static void test_money_reads_major_units_exactly(void) {
  money_reads("85", 2, 8500);
  money_reads("85.00", 2, 8500);
  money_reads("85.5", 2, 8550);
  money_reads("85.50", 2, 8550);
  money_reads("0.05", 2, 5);
  money_reads("0", 2, 0);
  money_reads("007.10", 2, 710);
  money_reads("1500", 0, 1500);   /* JPY */
  money_reads("1.234", 3, 1234);  /* KWD */
  money_reads("0.0001", 4, 1);    /* CLF */
  money_reads("19.99", 2, 1999);  /* no binary fraction can round it */
  money_reads("0.29", 2, 29);
  money_reads("1.15", 2, 115);
}

static void test_money_reads_a_decimal_comma_as_a_point(void) {
  money_reads("85,50", 2, 8550);
  money_reads("85,5", 2, 8550);
  money_reads("0,05", 2, 5);
  /* No grouping: a comma is always the decimal separator. */
  money_reads("1,000", 3, 1000);
  money_refused("1,000", 2, 0, INT64_MAX, "has more decimals than the currency has");
}

static void test_money_refuses_more_decimals_than_the_currency_has(void) {
  money_refused("85.555", 2, 0, INT64_MAX, "has more decimals than the currency has");
  money_refused("85.000", 2, 0, INT64_MAX, "has more decimals than the currency has");
  money_refused("0,001", 2, 0, INT64_MAX, "has more decimals than the currency has");
  money_refused("85.0", 0, 0, INT64_MAX, "has decimals, but the currency has none");
  money_refused("1.2345", 3, 0, INT64_MAX, "has more decimals than the currency has");
  money_refused("0.00001", 4, 0, INT64_MAX, "has more decimals than the currency has");
}

static void test_money_refuses_what_is_not_an_amount(void) {
  static const char *const bad[] = {
      " 85", "85 ", "+85", ".5", "85.", "85..0", "85.,0", "1.234,56", "1,234.56",
      "8e2", "0x10", "85EUR", "85 EUR", "--5", "1 000", "1_000", "\xef\xbc\x98\xef\xbc\x95",
      "-", "-.5", "inf", "nan", "85.5.5", "\t85"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    money_refused(bad[i], 2, IMX_MONEY_SIGNED, INT64_MAX, NOT_AN_AMOUNT);
  money_refused("", 2, 0, INT64_MAX, "empty: give an amount such as 85.50");
}

static void test_money_is_negative_only_where_the_caller_allows_it(void) {
  money_refused("-5", 2, 0, INT64_MAX, "must not be negative");
  money_refused("-0.05", 2, 0, INT64_MAX, "must not be negative");
  money_reads("-5", 2, -500);
  money_reads("-0.05", 2, -5);
  money_reads("-0", 2, 0);
}

static void test_money_above_the_limit_is_refused_not_wrapped(void) {
  int64_t v = 0;
  imx_proto_error err = {0};
  /* IMX_PRICE_MAX_MINOR is 10,000,000.00 in a currency of 2 decimals. */
  CHECK_EQ(0, imx_money_parse("10000000", 2, 0, IMX_PRICE_MAX_MINOR, &v, &err));
  CHECK_EQ(IMX_PRICE_MAX_MINOR, v);
  money_refused("10000000.01", 2, 0, IMX_PRICE_MAX_MINOR, "larger than the limit");
  money_refused("99999999999999999999999999", 2, 0, IMX_PRICE_MAX_MINOR,
                "larger than the limit");
  /* The edge of int64, in both directions and at every scale. */
  money_reads("9223372036854775807", 0, INT64_MAX);
  money_reads("92233720368547758.07", 2, INT64_MAX);
  money_reads("922337203685477.5807", 4, INT64_MAX);
  money_reads("-92233720368547758.07", 2, -INT64_MAX);
  money_refused("9223372036854775808", 0, 0, INT64_MAX, "larger than the limit");
  money_refused("92233720368547758.08", 2, 0, INT64_MAX, "larger than the limit");
  money_refused("92233720368547758.1", 2, 0, INT64_MAX, "larger than the limit");
  money_refused("184467440737095516160", 0, 0, INT64_MAX, "larger than the limit");
  money_refused("-92233720368547758.08", 2, IMX_MONEY_SIGNED, INT64_MAX,
                "larger than the limit");
  /* A limit of 0: only nothing fits. */
  CHECK_EQ(0, imx_money_parse("0.00", 2, 0, 0, &v, &err));
  CHECK_EQ(0, v);
  money_refused("0.01", 2, 0, 0, "larger than the limit");
  money_refused("5", 0, 0, 0, "larger than the limit");
}

static void test_money_is_formatted_in_major_units(void) {
  char b[IMX_MONEY_TEXT_BYTES];
  CHECK_STR("85.00", imx_money_format(8500, 2, 0, b));
  CHECK_STR("0.05", imx_money_format(5, 2, 0, b));
  CHECK_STR("-0.05", imx_money_format(-5, 2, 0, b));
  CHECK_STR("0.00", imx_money_format(0, 2, 0, b));
  CHECK_STR("57875.00", imx_money_format(5787500, 2, 0, b));
  CHECK_STR("1500", imx_money_format(1500, 0, 0, b));
  CHECK_STR("-1500", imx_money_format(-1500, 0, 0, b));
  CHECK_STR("1.234", imx_money_format(1234, 3, 0, b));
  CHECK_STR("0.0001", imx_money_format(1, 4, 0, b));
  CHECK_STR("85,00", imx_money_format(8500, 2, IMX_MONEY_COMMA, b));
  CHECK_STR("+85.00", imx_money_format(8500, 2, IMX_MONEY_PLUS, b));
  CHECK_STR("0.00", imx_money_format(0, 2, IMX_MONEY_PLUS, b));
  CHECK_STR("-1,00", imx_money_format(-100, 2, IMX_MONEY_PLUS | IMX_MONEY_COMMA, b));
  CHECK_STR("92233720368547758.07", imx_money_format(INT64_MAX, 2, 0, b));
  CHECK_STR("-92233720368547758.08", imx_money_format(INT64_MIN, 2, 0, b));
  CHECK_STR("-9223372036854775808", imx_money_format(INT64_MIN, 0, 0, b));
  CHECK_STR("-922337203685477.5808", imx_money_format(INT64_MIN, 4, IMX_MONEY_PLUS, b));
}

static void test_money_round_trips_at_every_scale(void) {
  static const int64_t edges[] = {0, 1, -1, 9, 10, 99, 100, 101, 999999, 1000000,
                                  IMX_PRICE_MAX_MINOR, INT64_MAX, -INT64_MAX};
  uint64_t x = 0x9E3779B97F4A7C15ull;
  for (int d = 0; d <= IMX_DECIMALS_MAX; d++)
    for (int k = 0; k < 20000; k++) {
      int64_t v;
      if (k < (int)(sizeof edges / sizeof edges[0])) {
        v = edges[k];
      } else {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        v = (int64_t)(x >> (k % 63)) * (k % 2 ? -1 : 1);
      }
      char b[IMX_MONEY_TEXT_BYTES];
      unsigned flags = k % 3 == 0 ? IMX_MONEY_COMMA : 0;
      int64_t back = 0;
      imx_proto_error err = {0};
      int rc = imx_money_parse(imx_money_format(v, d, flags, b), d, IMX_MONEY_SIGNED,
                               INT64_MAX, &back, &err);
      if (rc != 0 || back != v) {
        fprintf(stderr, "  %lld with %d decimals: \"%s\" reads back as %lld\n", (long long)v,
                d, b, (long long)back);
        CHECK(0);
        return;
      }
    }
}

static void test_currency_decimals_are_iso_4217s(void) {
  CHECK_EQ(2, imx_currency_decimals("EUR"));
  CHECK_EQ(2, imx_currency_decimals("USD"));
  CHECK_EQ(2, imx_currency_decimals("CHF"));
  CHECK_EQ(2, imx_currency_decimals("GBP"));
  CHECK_EQ(0, imx_currency_decimals("JPY"));
  CHECK_EQ(0, imx_currency_decimals("KRW"));
  CHECK_EQ(3, imx_currency_decimals("BHD"));
  CHECK_EQ(3, imx_currency_decimals("KWD"));
  CHECK_EQ(4, imx_currency_decimals("CLF"));
  CHECK_EQ(2, imx_currency_decimals("AED")); /* the first of the table */
  CHECK_EQ(2, imx_currency_decimals("ZWL")); /* the last */
  CHECK_EQ(0, imx_currency_decimals("XOF"));
  CHECK_EQ(-1, imx_currency_decimals("XAU")); /* gold: no minor unit */
  CHECK_EQ(-1, imx_currency_decimals("XYZ"));
  CHECK_EQ(-1, imx_currency_decimals("eur"));
  CHECK_EQ(-1, imx_currency_decimals("EURO"));
  CHECK_EQ(-1, imx_currency_decimals(""));
  CHECK_EQ(-1, imx_currency_decimals("AAA"));
  CHECK_EQ(-1, imx_currency_decimals("ZZZ"));
}

/* A market of one service in `svc_currency` (NULL: none) and top-level
** fields `top`; returns the load's result. */
static int money_market(const char *top, const char *svc_currency, imx_market *m,
                        imx_proto_error *err) {
  char json[512];
  snprintf(json, sizeof json,
           "{%s,\"services\":[{\"id\":\"s\",\"unit\":\"u\",\"tick\":1,\"lot\":1%s%s%s}],"
           "\"cost_centres\":[]}",
           top, svc_currency ? ",\"currency\":\"" : "", svc_currency ? svc_currency : "",
           svc_currency ? "\"" : "");
  return imx_market_parse(json, strlen(json), m, err);
}

static void test_market_decimals_come_from_the_currency_or_the_file(void) {
  imx_market m;
  imx_proto_error err = {0};
  CHECK_EQ(0, money_market("\"currency\":\"EUR\"", NULL, &m, &err));
  CHECK_EQ(2, m.decimals);
  imx_market_free(&m);
  CHECK_EQ(0, money_market("\"currency\":\"JPY\"", NULL, &m, &err));
  CHECK_EQ(0, m.decimals);
  imx_market_free(&m);
  CHECK_EQ(0, money_market("\"currency\":\"KWD\"", "KWD", &m, &err));
  CHECK_EQ(3, m.decimals);
  imx_market_free(&m);
  /* "decimals" says it for a currency ISO 4217 does not know, or overrides */
  CHECK_EQ(0, money_market("\"currency\":\"XYZ\",\"decimals\":3", NULL, &m, &err));
  CHECK_EQ(3, m.decimals);
  imx_market_free(&m);
  CHECK_EQ(0, money_market("\"currency\":\"HUF\",\"decimals\":0", NULL, &m, &err));
  CHECK_EQ(0, m.decimals);
  imx_market_free(&m);
  /* a service in another currency of as many decimals */
  CHECK_EQ(0, money_market("\"currency\":\"EUR\"", "USD", &m, &err));
  CHECK_STR("USD", m.services[0].currency);
  imx_market_free(&m);
}

static void test_market_money_it_cannot_show_is_refused(void) {
  imx_market m;
  imx_proto_error err = {0};
  CHECK_EQ(-1, money_market("\"currency\":\"XYZ\"", NULL, &m, &err));
  CHECK_STR("currency", err.field);
  CHECK_STR("not an ISO 4217 currency: give its \"decimals\" (0 to 4) too", err.message);
  CHECK_EQ(-1, money_market("\"currency\":\"EUR\",\"decimals\":5", NULL, &m, &err));
  CHECK_STR("decimals", err.field);
  CHECK_EQ(-1, money_market("\"currency\":\"EUR\",\"decimals\":-1", NULL, &m, &err));
  CHECK_STR("decimals", err.field);
  CHECK_EQ(-1, money_market("\"currency\":\"EUR\",\"decimals\":\"2\"", NULL, &m, &err));
  CHECK_STR("decimals", err.field);
  CHECK_EQ(-1, money_market("\"currency\":\"EUR\"", "JPY", &m, &err));
  CHECK_STR("services[0].currency", err.field);
  CHECK_STR("must have as many decimals as the market's currency (budgets are spent in it)",
            err.message);
  CHECK_EQ(-1, money_market("\"currency\":\"EUR\"", "XYZ", &m, &err));
  CHECK_STR("services[0].currency", err.field);
  /* the market's own unknown currency with its decimals is fine on a service */
  CHECK_EQ(0, money_market("\"currency\":\"XYZ\",\"decimals\":1", "XYZ", &m, &err));
  imx_market_free(&m);
}

static void test_market_counts_what_sizes_the_engine(void) {
  static const char json[] =
      "{\"currency\":\"EUR\",\"tenders_per_cc_max\":3,\"services\":["
      "{\"id\":\"a\",\"unit\":\"u\",\"tick\":1,\"lot\":1},"
      "{\"id\":\"b\",\"unit\":\"u\",\"tick\":1,\"lot\":1,\"mode\":\"auction\"},"
      "{\"id\":\"c\",\"unit\":\"u\",\"tick\":1,\"lot\":1,\"mode\":\"auction\"}],"
      "\"cost_centres\":["
      "{\"id\":\"P\",\"name\":\"p\",\"roles\":[\"provider\"],"
      "\"capacities\":{\"a\":1,\"b\":2,\"c\":0}},"
      "{\"id\":\"Q\",\"name\":\"q\",\"roles\":[\"provider\",\"receiver\"],"
      "\"capacities\":{\"b\":1}},"
      "{\"id\":\"R\",\"name\":\"r\",\"roles\":[\"receiver\"],\"budget\":5},"
      "{\"id\":\"F\",\"name\":\"f\",\"roles\":[\"finance\"]}]}";
  imx_market m;
  if (!market_ok(json, &m)) return;
  CHECK_EQ(4, imx_market_capacities_total(&m));
  CHECK_EQ(2, imx_market_auction_services(&m));
  CHECK_EQ(2, imx_market_ccs_with_role(&m, IMX_ROLE_RECEIVER));
  CHECK_EQ(2, imx_market_ccs_with_role(&m, IMX_ROLE_PROVIDER));
  CHECK_EQ(3, imx_market_ccs_with_role(&m, IMX_ROLE_PROVIDER | IMX_ROLE_RECEIVER));
  CHECK_EQ(0, imx_market_ccs_with_role(&m, IMX_ROLE_ADMIN));
  CHECK_EQ(3, m.tenders_per_cc_max);
  imx_market_free(&m);
  memset(&m, 0, sizeof m); /* an empty market counts nothing */
  CHECK_EQ(0, imx_market_capacities_total(&m));
  CHECK_EQ(0, imx_market_auction_services(&m));
}

/* A benchmark builds its market by hand (no index) and frees it with
** imx_market_free: lookups still work. */
static void test_market_built_by_hand_is_searched_without_an_index(void) {
  imx_market m;
  memset(&m, 0, sizeof m);
  m.services = calloc(2, sizeof *m.services);
  m.ccs = calloc(3, sizeof *m.ccs);
  if (m.services == NULL || m.ccs == NULL) abort();
  strcpy(m.services[0].id, "x");
  strcpy(m.services[1].id, "y");
  m.services_n = 2;
  strcpy(m.ccs[0].id, "A");
  strcpy(m.ccs[1].id, "B");
  strcpy(m.ccs[2].id, "C");
  m.ccs_n = 3;
  CHECK_EQ(1, imx_market_service_find(&m, "y"));
  CHECK_EQ(2, imx_market_cc_find(&m, "C"));
  CHECK_EQ(-1, imx_market_cc_find(&m, "D"));
  imx_market_free(&m);
  CHECK(m.ccs == NULL && m.ccs_n == 0);
}

static void test_a_failed_market_load_frees_what_it_allocated(void) {
  /* fails in the second provider's capacities, after the first's (ASan) */
  static const char json[] =
      "{\"currency\":\"EUR\",\"services\":[{\"id\":\"a\",\"unit\":\"u\","
      "\"tick\":1,\"lot\":1}],\"cost_centres\":["
      "{\"id\":\"P\",\"name\":\"p\",\"roles\":[\"provider\"],\"capacities\":{\"a\":1}},"
      "{\"id\":\"Q\",\"name\":\"q\",\"roles\":[\"provider\"],"
      "\"capacities\":{\"a\":1,\"nope\":1}}]}";
  expect_market_error(json, "unknown_service", "cost_centres[1].capacities.nope");
}

static void test_reply_and_market_data_larger_than_their_bounds_are_too_large(void) {
  char *big = malloc(IMX_REPLY_BYTES_MAX + 1);
  if (big == NULL) abort();
  memset(big, ' ', IMX_REPLY_BYTES_MAX + 1);
  imx_reply r;
  imx_proto_error err = {0};
  CHECK_EQ(-1, imx_reply_decode(big, IMX_REPLY_BYTES_MAX + 1, &r, &err));
  CHECK_STR("too_large", err.code);
  CHECK_STR("is larger than 512 KiB", err.message);
  imx_md_event ev;
  memset(&err, 0, sizeof err);
  CHECK_EQ(-1, imx_md_decode(big, IMX_PUB_BYTES_MAX + 1, &ev, &err));
  CHECK_STR("too_large", err.code);
  free(big);
}


/* ------------------------------------------------------------- ratings */

static void test_rating_requests_round_trip(void) {
  imx_request x = request(IMX_MSG_RATING_NEW, "rn");
  x.trade = 12, x.stars = 4;
  round_trip_request(&x);
  CHECK_STR("{\"v\":1,\"type\":\"rating.new\",\"id\":\"rn\",\"trade\":12,\"stars\":4}", out_);
  strcpy(x.comment, "M\xc3\xbcnchen: \"fast\", once reopened");
  round_trip_request(&x);
  x = request(IMX_MSG_RATING_REPLY, "rr");
  x.trade = 9007199254740991ull;
  strcpy(x.comment, "sorry");
  round_trip_request(&x);
  CHECK_STR("{\"v\":1,\"type\":\"rating.reply\",\"id\":\"rr\",\"trade\":9007199254740991,"
            "\"comment\":\"sorry\"}", out_);
  x = request(IMX_MSG_RATINGS_LIST, "rl");
  x.limit = 20;
  round_trip_request(&x);
  strcpy(x.cc, "CC-4100");
  strcpy(x.service, "it.hour");
  x.before = 7;
  x.limit = 100;
  round_trip_request(&x);
}

static void test_rating_requests_are_checked(void) {
  imx_request r;
  imx_proto_error err = {0};
  struct { const char *json, *field; } bad[] = {
      {"{\"v\":1,\"type\":\"rating.new\",\"id\":\"a\",\"stars\":3}", "trade"},
      {"{\"v\":1,\"type\":\"rating.new\",\"id\":\"a\",\"trade\":0,\"stars\":3}", "trade"},
      {"{\"v\":1,\"type\":\"rating.new\",\"id\":\"a\",\"trade\":1,\"stars\":6}", "stars"},
      {"{\"v\":1,\"type\":\"rating.new\",\"id\":\"a\",\"trade\":1,\"stars\":3,\"qty\":1}", "qty"},
      {"{\"v\":1,\"type\":\"rating.reply\",\"id\":\"a\",\"trade\":1}", "comment"},
      {"{\"v\":1,\"type\":\"rating.reply\",\"id\":\"a\",\"trade\":1,\"stars\":3,"
       "\"comment\":\"x\"}", "stars"},
      {"{\"v\":1,\"type\":\"ratings.list\",\"id\":\"a\",\"limit\":101}", "limit"},
      {"{\"v\":1,\"type\":\"ratings.list\",\"id\":\"a\",\"before\":0}", "before"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset(&err, 0, sizeof err);
    CHECK_EQ(-1, imx_request_decode(bad[i].json, strlen(bad[i].json), &r, &err));
    CHECK_STR(bad[i].field, err.field);
  }
  const char *dflt = "{\"v\":1,\"type\":\"ratings.list\",\"id\":\"a\"}";
  CHECK_EQ(0, imx_request_decode(dflt, strlen(dflt), &r, &err));
  CHECK_EQ(20, r.limit);
}

static void test_rating_replies_round_trip(void) {
  imx_reply x = reply(IMX_MSG_RATING_NEW, "rn");
  x.trade = 12, x.stars = 5;
  strcpy(x.service, "it.hour");
  strcpy(x.cc, "CC-4100");
  round_trip_reply(&x);
  CHECK_STR("{\"v\":1,\"type\":\"rating.new.ok\",\"id\":\"rn\",\"trade\":12,\"stars\":5,"
            "\"service\":\"it.hour\",\"provider\":\"CC-4100\"}", out_);
  x = reply(IMX_MSG_RATING_REPLY, "rr");
  x.trade = 12;
  round_trip_reply(&x);
  imx_reply_rating rows[2];
  memset(rows, 0, sizeof rows);
  rows[0] = (imx_reply_rating){.trade = 9, .service = "it.hour", .provider = "P",
                               .rater = "R", .stars = 2, .comment = "",
                               .time_ms = 1718000000000};
  rows[1] = (imx_reply_rating){.trade = 3, .service = "it.hour", .provider = "P",
                               .rater = "Q", .stars = 5, .comment = "caf\xc3\xa9 \"ok\"",
                               .time_ms = 1718000000000, .reply = "thanks",
                               .reply_ms = 1718000001000};
  x = reply(IMX_MSG_RATINGS_LIST, "rl");
  round_trip_reply(&x);
  x.ratings = rows, x.ratings_n = 2;
  round_trip_reply(&x);
  CHECK(strstr(out_, "{\"trade\":9,\"service\":\"it.hour\",\"provider\":\"P\",\"rater\":\"R\","
                     "\"stars\":2,\"comment\":\"\",\"time_ms\":1718000000000}") != NULL);
  CHECK(strstr(out_, "\"reply\":\"thanks\",\"reply_ms\":1718000001000}]") != NULL);
  /* a reply without its time, or stars out of range, is refused */
  const char *bad[] = {
      "{\"v\":1,\"type\":\"ratings.list.ok\",\"id\":\"a\",\"ratings\":[{\"trade\":1,"
      "\"service\":\"s\",\"provider\":\"P\",\"rater\":\"R\",\"stars\":2,\"comment\":\"\","
      "\"time_ms\":1,\"reply\":\"x\"}]}",
      "{\"v\":1,\"type\":\"ratings.list.ok\",\"id\":\"a\",\"ratings\":[{\"trade\":1,"
      "\"service\":\"s\",\"provider\":\"P\",\"rater\":\"R\",\"stars\":6,\"comment\":\"\","
      "\"time_ms\":1}]}"};
  for (size_t i = 0; i < 2; i++) {
    imx_reply y;
    imx_proto_error err = {0};
    CHECK_EQ(-1, imx_reply_decode(bad[i], strlen(bad[i]), &y, &err));
  }
}

static void test_cc_get_ok_with_reputation_round_trips(void) {
  const char *offers[2] = {"it.hour", "truck.day"};
  imx_reply_reputation reps[2] = {{"it.hour", 10, 43, 2, 9}, {"truck.day", 0, 0, 0, 0}};
  imx_reply_cc row = {"CC-4100", "IT", "Hamburg", IMX_ROLE_PROVIDER, offers, 2, 0, 0,
                      reps, 2};
  imx_reply x = reply(IMX_MSG_CC_GET, "g");
  x.ccs = &row, x.ccs_n = 1;
  round_trip_reply(&x);
  CHECK(strstr(out_, "\"reputation\":[{\"service\":\"it.hour\",\"ratings\":10,"
                     "\"stars_sum\":43,\"ratings_90d\":2,\"stars_sum_90d\":9},") != NULL);
  /* a reputation row that is wrong frees what was decoded */
  const char *bad = "{\"v\":1,\"type\":\"cc.get.ok\",\"id\":\"g\",\"cc\":\"C\",\"name\":\"n\","
                    "\"site\":\"s\",\"roles\":[],\"services\":[\"a\"],\"reputation\":"
                    "[{\"service\":\"a\",\"ratings\":1}]}";
  imx_reply y;
  imx_proto_error err = {0};
  CHECK_EQ(-1, imx_reply_decode(bad, strlen(bad), &y, &err));
  CHECK(strstr(err.field, "reputation[0]") != NULL);
}

int main(int argc, char **argv) {
  static const check_case cases[] = {
      CHECK_CASE(test_type_names_are_the_protocols),
      CHECK_CASE(test_rating_requests_round_trip),
      CHECK_CASE(test_rating_requests_are_checked),
      CHECK_CASE(test_rating_replies_round_trip),
      CHECK_CASE(test_cc_get_ok_with_reputation_round_trips),
      CHECK_CASE(test_hello_round_trips),
      CHECK_CASE(test_order_new_limit_round_trips),
      CHECK_CASE(test_order_new_market_round_trips),
      CHECK_CASE(test_order_cancel_round_trips),
      CHECK_CASE(test_order_modify_round_trips),
      CHECK_CASE(test_order_modify_needs_an_order_and_qty_or_price),
      CHECK_CASE(test_order_history_round_trips_with_its_paging),
      CHECK_CASE(test_order_modify_ok_round_trips),
      CHECK_CASE(test_order_history_ok_round_trips_and_is_the_documented_json),
      CHECK_CASE(test_order_list_round_trips),
      CHECK_CASE(test_book_get_round_trips),
      CHECK_CASE(test_trades_list_round_trips),
      CHECK_CASE(test_trades_list_after_round_trips),
      CHECK_CASE(test_trades_list_after_is_optional_and_decoded),
      CHECK_CASE(test_balance_get_round_trips),
      CHECK_CASE(test_tender_new_round_trips),
      CHECK_CASE(test_tender_quote_round_trips),
      CHECK_CASE(test_tender_new_decide_round_trips),
      CHECK_CASE(test_tender_new_score_weights_round_trip),
      CHECK_CASE(test_score_tender_replies_and_events_round_trip),
      CHECK_CASE(test_tender_get_of_an_ended_tender_round_trips),
      CHECK_CASE(test_tender_award_cancel_withdraw_round_trip),
      CHECK_CASE(test_tender_requests_refuse_bad_fields),
      CHECK_CASE(test_tender_decision_replies_round_trip),
      CHECK_CASE(test_tender_list_and_get_replies_round_trip),
      CHECK_CASE(test_market_data_tender_events_round_trip),
      CHECK_CASE(test_market_data_tender_topic_must_fit_the_event),
      CHECK_CASE(test_market_service_id_may_not_take_a_cost_centres_topic),
      CHECK_CASE(test_auction_run_round_trips),
      CHECK_CASE(test_period_close_round_trips),
      CHECK_CASE(test_period_summary_round_trips),
      CHECK_CASE(test_request_encoding_is_the_documented_json),
      CHECK_CASE(test_longest_strings_round_trip),
      CHECK_CASE(test_order_new_without_price_is_a_market_order),
      CHECK_CASE(test_order_new_decodes_every_field),
      CHECK_CASE(test_order_new_defaults_to_gtc_without_aon),
      CHECK_CASE(test_min_stars_is_tenths_10_to_50_and_allow_unrated_a_boolean),
      CHECK_CASE(test_book_get_depth_defaults_to_10),
      CHECK_CASE(test_trades_list_defaults_to_100_of_every_service),
      CHECK_CASE(test_auction_run_reference_is_optional),
      CHECK_CASE(test_tender_requests_decode_their_fields),
      CHECK_CASE(test_fields_that_do_not_apply_are_zero),
      CHECK_CASE(test_cc_and_token_are_allowed_in_every_request),
      CHECK_CASE(test_whitespace_is_json),
      CHECK_CASE(test_fractions_and_exponents_are_not_whole_numbers),
      CHECK_CASE(test_strings_are_utf8_without_nul),
      CHECK_CASE(test_hello_needs_a_token_and_may_name_its_cc),
      CHECK_CASE(test_required_fields_are_required),
      CHECK_CASE(test_v_must_be_1),
      CHECK_CASE(test_type_must_be_a_request_type),
      CHECK_CASE(test_id_is_1_to_64_bytes),
      CHECK_CASE(test_id_is_kept_for_the_error_reply),
      CHECK_CASE(test_unknown_key_is_refused_by_name),
      CHECK_CASE(test_a_field_of_another_type_is_unknown),
      CHECK_CASE(test_a_key_given_twice_is_refused),
      CHECK_CASE(test_a_duplicate_before_an_unknown_key_is_named_first),
      CHECK_CASE(test_key_check_agrees_with_the_quadratic_reference),
      CHECK_CASE(test_members_finds_each_allowed_key),
      CHECK_CASE(test_key_check_takes_64_names),
      CHECK_CASE(test_the_largest_request_fits_the_arena),
      CHECK_CASE(test_a_message_larger_than_the_arena_falls_back_to_malloc),
      CHECK_CASE(test_a_plain_document_outlives_a_scratch_document),
      CHECK_CASE(test_threads_decode_in_their_own_arenas),
      CHECK_CASE(test_qty_is_validated),
      CHECK_CASE(test_price_is_validated),
      CHECK_CASE(test_ceiling_is_validated),
      CHECK_CASE(test_deadline_ms_is_1_ms_to_30_days),
      CHECK_CASE(test_order_and_tender_ids_are_exact),
      CHECK_CASE(test_depth_is_1_to_100),
      CHECK_CASE(test_limit_is_1_to_1000),
      CHECK_CASE(test_after_is_0_to_2_pow_53_minus_1),
      CHECK_CASE(test_reference_is_validated),
      CHECK_CASE(test_fractions_are_refused),
      CHECK_CASE(test_side_is_bid_or_offer),
      CHECK_CASE(test_tif_is_gtc_period_ioc_or_fok),
      CHECK_CASE(test_aon_is_a_boolean),
      CHECK_CASE(test_cc_is_validated),
      CHECK_CASE(test_token_is_validated),
      CHECK_CASE(test_service_is_validated),
      CHECK_CASE(test_not_json_is_bad_json),
      CHECK_CASE(test_not_an_object_is_bad_json),
      CHECK_CASE(test_a_nul_byte_inside_is_bad_json),
      CHECK_CASE(test_trailing_garbage_is_bad_json),
      CHECK_CASE(test_too_large_is_refused_before_parsing),
      CHECK_CASE(test_decode_reads_exactly_len_bytes),
      CHECK_CASE(test_discovery_requests_round_trip),
      CHECK_CASE(test_discovery_lists_default_to_100_from_the_first),
      CHECK_CASE(test_discovery_request_fields_are_validated),
      CHECK_CASE(test_book_get_ok_offers_with_providers_round_trip),
      CHECK_CASE(test_services_list_ok_round_trips),
      CHECK_CASE(test_services_list_ok_is_the_documented_json),
      CHECK_CASE(test_services_list_translations_are_the_documented_json),
      CHECK_CASE(test_market_service_translations),
      CHECK_CASE(test_cc_list_and_get_ok_round_trip),
      CHECK_CASE(test_discovery_reply_decode_is_strict),
      CHECK_CASE(test_hello_ok_round_trips_every_set_of_roles),
      CHECK_CASE(test_order_new_ok_round_trips),
      CHECK_CASE(test_order_cancel_ok_round_trips),
      CHECK_CASE(test_order_list_ok_round_trips),
      CHECK_CASE(test_book_get_ok_round_trips),
      CHECK_CASE(test_trades_list_ok_round_trips),
      CHECK_CASE(test_balance_get_ok_round_trips),
      CHECK_CASE(test_tender_replies_round_trip),
      CHECK_CASE(test_auction_run_ok_round_trips),
      CHECK_CASE(test_period_close_ok_round_trips),
      CHECK_CASE(test_period_summary_ok_round_trips),
      CHECK_CASE(test_period_summary_ok_refusals),
      CHECK_CASE(test_statement_get_ok_round_trips),
      CHECK_CASE(test_statement_get_round_trips_with_its_period),
      CHECK_CASE(test_reply_encoding_is_the_documented_json),
      CHECK_CASE(test_reply_lists_hold_at_most_1000_rows),
      CHECK_CASE(test_reply_decode_names_the_row_at_fault),
      CHECK_CASE(test_reply_decode_is_strict),
      CHECK_CASE(test_a_failed_reply_decode_frees_what_it_allocated),
      CHECK_CASE(test_reply_free_can_be_called_twice),
      CHECK_CASE(test_market_data_trade_is_the_documented_message),
      CHECK_CASE(test_market_data_top_and_auction_round_trip),
      CHECK_CASE(test_market_data_decode_refuses_bad_messages),
      CHECK_CASE(test_error_reply_is_the_documented_json),
      CHECK_CASE(test_error_reply_without_id_has_an_empty_id),
      CHECK_CASE(test_error_reply_escapes_quotes_backslashes_and_controls),
      CHECK_CASE(test_error_reply_round_trips),
      CHECK_CASE(test_a_decode_error_becomes_an_error_reply),
      CHECK_CASE(test_a_long_error_message_is_cut_when_decoded),
      CHECK_CASE(test_encode_into_a_small_buffer_returns_0),
      CHECK_CASE(test_market_file_loads_the_documented_example),
      CHECK_CASE(test_periods_are_calendar_months_from_the_first),
      CHECK_CASE(test_periods_without_first_period_are_numbered),
      CHECK_CASE(test_market_period_fields_are_checked),
      CHECK_CASE(test_market_sap_mapping_is_read_and_optional),
      CHECK_CASE(test_market_sap_mapping_is_checked_when_the_file_loads),
      CHECK_CASE(test_market_service_name_and_description_are_optional),
      CHECK_CASE(test_market_service_name_and_description_are_bounded),
      CHECK_CASE(test_market_ten_budgets_of_1e18_are_refused_at_the_first),
      CHECK_CASE(test_market_budgets_are_refused_where_their_sum_passes_1e15),
      CHECK_CASE(test_market_budgets_summing_to_exactly_1e15_load),
      CHECK_CASE(test_market_capacity_is_0_to_IMX_CAPACITY_MAX),
      CHECK_CASE(test_market_tick_price_cap_and_lot_are_bounded),
      CHECK_CASE(test_market_tenders_per_cc_max_is_0_to_1e6_default_16),
      CHECK_CASE(test_market_ratings_min_is_1_to_1e6_default_3),
      CHECK_CASE(test_market_of_20000_cost_centres_finds_every_id),
      CHECK_CASE(test_market_a_duplicate_id_is_named_at_its_second_position),
      CHECK_CASE(test_market_a_capacity_given_twice_is_refused),
      CHECK_CASE(test_market_lists_are_bounded),
      CHECK_CASE(test_market_currency_must_be_3_letters),
      CHECK_CASE(test_money_reads_major_units_exactly),
      CHECK_CASE(test_money_reads_a_decimal_comma_as_a_point),
      CHECK_CASE(test_money_refuses_more_decimals_than_the_currency_has),
      CHECK_CASE(test_money_refuses_what_is_not_an_amount),
      CHECK_CASE(test_money_is_negative_only_where_the_caller_allows_it),
      CHECK_CASE(test_money_above_the_limit_is_refused_not_wrapped),
      CHECK_CASE(test_money_is_formatted_in_major_units),
      CHECK_CASE(test_money_round_trips_at_every_scale),
      CHECK_CASE(test_currency_decimals_are_iso_4217s),
      CHECK_CASE(test_market_decimals_come_from_the_currency_or_the_file),
      CHECK_CASE(test_market_money_it_cannot_show_is_refused),
      CHECK_CASE(test_market_counts_what_sizes_the_engine),
      CHECK_CASE(test_market_built_by_hand_is_searched_without_an_index),
      CHECK_CASE(test_a_failed_market_load_frees_what_it_allocated),
      CHECK_CASE(test_reply_and_market_data_larger_than_their_bounds_are_too_large),
      CHECK_CASE(test_sha256_fips_180_examples),
      CHECK_CASE(test_sha256_of_a_million_a),
      CHECK_CASE(test_sha256_padding_boundaries),
      CHECK_CASE(test_token_matches_its_hash),
      CHECK_CASE(test_a_wrong_token_does_not_match),
      CHECK_CASE(test_a_bad_stored_hash_matches_nothing),
  };
  return check_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
