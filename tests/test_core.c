/*
** test_core.c -- the daemon's core in-process, without sockets: one decoded,
** authenticated request in, one result out (gateway/server/core.h).
**
** Requests are written as the JSON a client sends and decoded with
** imx_request_decode, as the server does; replies are decoded with
** imx_reply_decode and read field by field. Authentication is the server's
** job, so a test names the acting cost centre by id and the core gets its
** index. Every request carries its own time: T0 plus the milliseconds the
** test lets pass.
**
** The market (MARKET_JSON) has a continuous service (it.hour), a call
** auction (truck.day), and an indivisible one with a lot of 2 (room.day);
** two providers (CC-P2 provides only it.hour), two receivers, finance,
** admin, and CC-PR, both provider and receiver, for the self-trade rules.
*/
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "core.h"
#include "imx_proto.h"

#define T0 INT64_C(1718000000000)

static const char MARKET_JSON[] =
    "{\"currency\":\"EUR\",\"services\":["
    "{\"id\":\"it.hour\",\"name\":\"IT hour\",\"description\":\"Support by "
    "the hour.\",\"unit\":\"hour\",\"tick\":100,\"lot\":1,"
    "\"divisible\":true,\"mode\":\"continuous\",\"price_cap\":100000},"
    "{\"id\":\"truck.day\",\"unit\":\"day\",\"tick\":100,\"lot\":1,"
    "\"divisible\":true,\"mode\":\"auction\",\"price_cap\":100000},"
    "{\"id\":\"room.day\",\"unit\":\"day\",\"tick\":100,\"lot\":2,"
    "\"divisible\":false,\"mode\":\"continuous\",\"price_cap\":100000}],"
    "\"cost_centres\":["
    "{\"id\":\"CC-P1\",\"name\":\"Provider One\",\"site\":\"A\",\"roles\":[\"provider\"],"
    "\"budget\":0,\"capacities\":{\"it.hour\":1000,\"truck.day\":10,\"room.day\":10}},"
    "{\"id\":\"CC-P2\",\"name\":\"Provider Two\",\"site\":\"B\",\"roles\":[\"provider\"],"
    "\"budget\":0,\"capacities\":{\"it.hour\":50}},"
    "{\"id\":\"CC-R1\",\"name\":\"Receiver One\",\"site\":\"A\",\"roles\":[\"receiver\"],"
    "\"budget\":100000},"
    "{\"id\":\"CC-R2\",\"name\":\"Receiver Two\",\"site\":\"B\",\"roles\":[\"receiver\"],"
    "\"budget\":1000000},"
    "{\"id\":\"CC-FIN\",\"name\":\"Controlling\",\"site\":\"A\",\"roles\":[\"finance\"],"
    "\"budget\":0},"
    "{\"id\":\"CC-ADM\",\"name\":\"Market Operations\",\"site\":\"A\",\"roles\":[\"admin\"],"
    "\"budget\":0},"
    "{\"id\":\"CC-PR\",\"name\":\"Both Sides\",\"site\":\"A\","
    "\"roles\":[\"provider\",\"receiver\"],\"budget\":100000,"
    "\"capacities\":{\"it.hour\":10,\"truck.day\":10}}]}";

/* ----------------------------------------------------------------- helpers */

static imx_market market_;
static int market_parsed_;
static char reply_[IMX_REPLY_BYTES_MAX]; /* the last reply's bytes */
static size_t reply_len_;
static imx_reply last_;                  /* ... decoded             */
static int last_decoded_;

static const imx_market *market(void) {
  if (!market_parsed_) {
    imx_proto_error err = {0};
    if (imx_market_parse(MARKET_JSON, strlen(MARKET_JSON), &market_, &err) != 0) {
      fprintf(stderr, "  the test market does not parse: %s %s: %s\n", err.code,
              err.field, err.message);
      abort();
    }
    market_parsed_ = 1;
  }
  return &market_;
}

/* A core on the test market with these limits. */
static imx_core *open_limited(uint32_t orders_max, uint32_t orders_per_cc_max) {
  core_config cfg = {.market = market(), .orders_max = orders_max,
                     .orders_per_cc_max = orders_per_cc_max};
  imx_core *c = NULL;
  const char *why = NULL;
  if (core_open(&cfg, &c, &why) != 0) {
    fprintf(stderr, "  core_open: %s\n", why);
    abort();
  }
  return c;
}

static imx_core *open_core(void) { return open_limited(1024, 0); }

static void forget_reply(void) {
  if (last_decoded_) imx_reply_free(&last_);
  last_decoded_ = 0;
  memset(&last_, 0, sizeof last_);
}

static void close_core(imx_core *c) {
  forget_reply();
  core_close(c);
}

static uint32_t cc_index(const char *id) {
  int64_t k = core_cc_index(market(), id);
  if (k < 0) {
    fprintf(stderr, "  no cost centre %s in the test market\n", id);
    abort();
  }
  return (uint32_t)k;
}

/* Runs one request as its own batch, as cost centre `cc`, at `now_ms`; the
** reply's bytes are in reply_ and decoded in last_. */
static core_result run_at(imx_core *c, uint32_t cc, int64_t now_ms, const char *json);

static core_result run(imx_core *c, const char *cc, int64_t now_ms,
                       const char *json) {
  return run_at(c, cc_index(cc), now_ms, json);
}

/* run() as the cost centre of index cc in the core's market. */
static core_result run_at(imx_core *c, uint32_t cc, int64_t now_ms, const char *json) {
  forget_reply();
  imx_request rq;
  imx_proto_error err = {0};
  if (imx_request_decode(json, strlen(json), &rq, &err) != 0) {
    fprintf(stderr, "  request refused (%s %s: %s): %s\n", err.code, err.field,
            err.message, json);
    check_failures_++;
    return (core_result){0};
  }
  core_batch_begin(c);
  core_result res = core_execute(c, &rq, cc, now_ms, reply_, sizeof reply_);
  reply_len_ = res.reply_len;
  if (imx_reply_decode(reply_, reply_len_, &last_, &err) != 0) {
    fprintf(stderr, "  reply refused (%s %s: %s): %.*s\n", err.code, err.field,
            err.message, (int)reply_len_, reply_);
    check_failures_++;
  } else {
    last_decoded_ = 1;
  }
  return res;
}

/* run() with a request built from a format. */
static core_result runf(imx_core *c, const char *cc, int64_t now_ms,
                        const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static core_result runf(imx_core *c, const char *cc, int64_t now_ms,
                        const char *fmt, ...) {
  char json[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(json, sizeof json, fmt, ap);
  va_end(ap);
  return run(c, cc, now_ms, json);
}

/* The last reply is an error with this code, field and reason ("" when the
** reply gives none). */
#define CHECK_ERROR(want_code, want_field, want_reason)                     \
  do {                                                                     \
    CHECK_EQ(1, last_.error);                                              \
    CHECK_STR(want_code, last_.code);                                      \
    CHECK_STR(want_field, last_.field);                                    \
    CHECK_STR(want_reason, last_.reason);                                  \
  } while (0)

/* The last reply is an .ok of this type. */
#define CHECK_OK(msg_type)                                                 \
  do {                                                                     \
    CHECK_EQ(0, last_.error);                                              \
    CHECK_EQ(msg_type, last_.type);                                        \
  } while (0)

/* Whether the journal entry of a result is exactly `want`. */
static int journal_is(const core_result *res, const char *want) {
  if (res->journal == NULL) {
    fprintf(stderr, "  journal: want %s, got NULL\n", want);
    return 0;
  }
  if (res->journal_len != strlen(want) ||
      memcmp(res->journal, want, res->journal_len) != 0) {
    fprintf(stderr, "  journal: want %s\n           got  %.*s\n", want,
            (int)res->journal_len, res->journal);
    return 0;
  }
  return 1;
}

/* A resting offer of `qty` it.hour at `price` by CC-P1. */
static void offer_it(imx_core *c, const char *id, int64_t qty, int64_t price,
                     int64_t now_ms) {
  runf(c, "CC-P1", now_ms,
       "{\"v\":1,\"type\":\"order.new\",\"id\":\"%s\",\"service\":\"it.hour\","
       "\"side\":\"offer\",\"qty\":%lld,\"price\":%lld}",
       id, (long long)qty, (long long)price);
  CHECK_OK(IMX_MSG_ORDER_NEW);
}

/* A copy of the last reply's bytes, to compare with a later one. */
typedef struct saved_reply {
  char bytes[8192];
  size_t len;
} saved_reply;

static void save_reply(saved_reply *s) {
  CHECK(reply_len_ <= sizeof s->bytes);
  s->len = reply_len_ < sizeof s->bytes ? reply_len_ : sizeof s->bytes;
  memcpy(s->bytes, reply_, s->len);
}

static int same_reply(const saved_reply *s) {
  int same = s->len == reply_len_ && memcmp(s->bytes, reply_, s->len) == 0;
  if (!same)
    fprintf(stderr, "  want %.*s\n  got  %.*s\n", (int)s->len, s->bytes,
            (int)reply_len_, reply_);
  return same;
}

/* Whether `needle` occurs in the n bytes at s. */
static int contains(const char *s, size_t n, const char *needle) {
  size_t k = strlen(needle);
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(s + i, needle, k) == 0) return 1;
  return 0;
}

/* ------------------------------------------------------------- ratings */

#define DAY INT64_C(86400000)

#define RATE(id, trade, stars, rest)                                               \
  "{\"v\":1,\"type\":\"rating.new\",\"id\":\"" id "\",\"trade\":" #trade ",\"stars\":" \
  #stars rest "}"
#define REPLY(id, trade, comment)                                                  \
  "{\"v\":1,\"type\":\"rating.reply\",\"id\":\"" id "\",\"trade\":" #trade           \
  ",\"comment\":\"" comment "\"}"

/* Trade 1: R1 buys 2 it.hour from P1 at `at`; trade 2: R2 buys 1 from P2. */
static void two_rateable_trades(imx_core *c, int64_t at) {
  offer_it(c, "o1", 5, 1000, at);
  run(c, "CC-R1", at, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
                      "\"side\":\"bid\",\"qty\":2,\"price\":1000}");
  CHECK_EQ(1, last_.trades_n);
  run(c, "CC-P2", at, "{\"v\":1,\"type\":\"order.new\",\"id\":\"o2\",\"service\":\"it.hour\","
                      "\"side\":\"offer\",\"qty\":1,\"price\":900}");
  run(c, "CC-R2", at, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b2\",\"service\":\"it.hour\","
                      "\"side\":\"bid\",\"qty\":1,\"price\":900}");
  CHECK_EQ(1, last_.trades_n);
  CHECK_EQ(2, core_last_trade(c));
}

/* The reputation of CC-P1 for it.hour, as cc.get shows it at `at`. */
static imx_reply_reputation p1_reputation(imx_core *c, int64_t at) {
  run(c, "CC-R2", at, "{\"v\":1,\"type\":\"cc.get\",\"id\":\"g\",\"cc\":\"CC-P1\"}");
  CHECK_OK(IMX_MSG_CC_GET);
  imx_reply_reputation r;
  memset(&r, 0, sizeof r);
  CHECK(last_.ccs_n == 1 && last_.ccs[0].reputation_n == 3);
  if (last_.ccs_n == 1 && last_.ccs[0].reputation_n == 3) {
    CHECK_STR("it.hour", last_.ccs[0].reputation[0].service);
    CHECK_STR("truck.day", last_.ccs[0].reputation[1].service);
    r = last_.ccs[0].reputation[0];
  }
  return r;
}

static void test_the_buyer_rates_a_trade_once_and_it_is_journaled_for_the_ledger(void) {
  imx_core *c = open_core();
  two_rateable_trades(c, T0);
  core_result res = run(c, "CC-R1", T0 + 5, RATE("r1", 1, 4, ",\"comment\":\"ok\""));
  CHECK_OK(IMX_MSG_RATING_NEW);
  CHECK_EQ(1, last_.trade);
  CHECK_EQ(4, last_.stars);
  CHECK_STR("CC-P1", last_.cc);
  CHECK_STR("it.hour", last_.service);
  CHECK(journal_is(&res, RATE("r1", 1, 4, ",\"comment\":\"ok\"")));
  CHECK(res.rating != NULL);
  if (res.rating) {
    CHECK_EQ(1, res.rating->trade);
    CHECK_EQ(4, res.rating->stars);
    CHECK_STR("CC-P1", res.rating->provider);
    CHECK_STR("CC-R1", res.rating->rater);
    CHECK_STR("it.hour", res.rating->service);
    CHECK_STR("ok", res.rating->comment);
    CHECK_EQ(T0 + 5, res.rating->time_ms);
  }
  /* the same request again: the first reply, nothing journaled */
  saved_reply first;
  save_reply(&first);
  res = run(c, "CC-R1", T0 + 6, RATE("r1", 1, 4, ",\"comment\":\"ok\""));
  CHECK(same_reply(&first));
  CHECK(res.journal == NULL && res.rating == NULL);
  /* the same id with another request */
  run(c, "CC-R1", T0 + 6, RATE("r1", 1, 5, ""));
  CHECK_ERROR("duplicate_id", "id", "");
  /* another id: once per trade */
  res = run(c, "CC-R1", T0 + 6, RATE("r2", 1, 5, ""));
  CHECK_ERROR("forbidden", "trade", "already_rated");
  CHECK(res.journal == NULL && res.rating == NULL);
  imx_reply_reputation r = p1_reputation(c, T0 + 7);
  CHECK_EQ(1, r.ratings);
  CHECK_EQ(4, r.stars_sum);
  CHECK_EQ(1, r.ratings_recent);
  CHECK_EQ(4, r.stars_sum_recent);
  close_core(c);
}

static void test_only_the_buyer_rates_and_only_known_trades(void) {
  imx_core *c = open_core();
  two_rateable_trades(c, T0);
  core_result res = run(c, "CC-R2", T0 + 1, RATE("x1", 1, 3, ""));
  CHECK_ERROR("forbidden", "trade", "not_buyer");
  CHECK(res.journal == NULL);
  run(c, "CC-P1", T0 + 1, RATE("x2", 1, 5, "")); /* the seller: nobody rates itself */
  CHECK_ERROR("forbidden", "trade", "not_buyer");
  run(c, "CC-FIN", T0 + 1, RATE("x3", 1, 5, ""));
  CHECK_ERROR("forbidden", "trade", "not_buyer");
  run(c, "CC-R1", T0 + 1, RATE("x4", 3, 5, "")); /* no trade 3 yet */
  CHECK_ERROR("not_found", "trade", "unknown_trade");
  run(c, "CC-R1", T0 + 1, RATE("x5", 9007199254740991, 5, ""));
  CHECK_ERROR("not_found", "trade", "unknown_trade");
  /* acting for another cost centre is refused as for orders */
  run(c, "CC-R2", T0 + 1, RATE("x6", 1, 5, ",\"cc\":\"CC-R1\""));
  CHECK_ERROR("forbidden", "cc", "");
  /* nothing was rated */
  CHECK_EQ(0, p1_reputation(c, T0 + 2).ratings);
  close_core(c);
}

static void test_bad_stars_and_comments_are_refused_when_decoded(void) {
  imx_request rq;
  imx_proto_error err = {0};
  const char *bad[] = {
      RATE("s", 1, 0, ""), RATE("s", 1, 6, ""), RATE("s", 1, -1, ""),
      "{\"v\":1,\"type\":\"rating.new\",\"id\":\"s\",\"trade\":1,\"stars\":4.5}",
      "{\"v\":1,\"type\":\"rating.new\",\"id\":\"s\",\"trade\":1,\"stars\":\"4\"}",
      "{\"v\":1,\"type\":\"rating.new\",\"id\":\"s\",\"trade\":1}",
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    memset(&err, 0, sizeof err);
    CHECK_EQ(-1, imx_request_decode(bad[i], strlen(bad[i]), &rq, &err));
    CHECK_STR("stars", err.field);
  }
  char json[1024], comment[IMX_COMMENT_BYTES_MAX + 2];
  memset(comment, 'x', sizeof comment - 1);
  comment[IMX_COMMENT_BYTES_MAX + 1] = '\0'; /* 501 bytes */
  snprintf(json, sizeof json, RATE("s", 1, 3, ",\"comment\":\"%s\""), comment);
  CHECK_EQ(-1, imx_request_decode(json, strlen(json), &rq, &err));
  CHECK_STR("comment", err.field);
  CHECK_STR("must be 1 to 500 bytes long", err.message);
  comment[IMX_COMMENT_BYTES_MAX] = '\0'; /* 500: fine */
  snprintf(json, sizeof json, RATE("s", 1, 3, ",\"comment\":\"%s\""), comment);
  CHECK_EQ(0, imx_request_decode(json, strlen(json), &rq, &err));
  CHECK_EQ(IMX_COMMENT_BYTES_MAX, strlen(rq.comment));
  const char *empty = RATE("s", 1, 3, ",\"comment\":\"\"");
  CHECK_EQ(-1, imx_request_decode(empty, strlen(empty), &rq, &err));
  CHECK_STR("comment", err.field);
  const char *control = RATE("s", 1, 3, ",\"comment\":\"a\\nb\"");
  CHECK_EQ(-1, imx_request_decode(control, strlen(control), &rq, &err));
  CHECK_STR("comment", err.field);
  const char *not_utf8 = RATE("s", 1, 3, ",\"comment\":\"\xc3\x28\"");
  CHECK_EQ(-1, imx_request_decode(not_utf8, strlen(not_utf8), &rq, &err));
  CHECK_STR("bad_json", err.code);
  const char *utf8 = RATE("s", 1, 3, ",\"comment\":\"M\xc3\xbcnchen \\u00e9\"");
  CHECK_EQ(0, imx_request_decode(utf8, strlen(utf8), &rq, &err));
  CHECK_STR("M\xc3\xbcnchen \xc3\xa9", rq.comment);
  const char *no_comment = REPLY("s", 1, "");
  CHECK_EQ(-1, imx_request_decode(no_comment, strlen(no_comment), &rq, &err));
  CHECK_STR("comment", err.field);
  const char *missing = "{\"v\":1,\"type\":\"rating.reply\",\"id\":\"s\",\"trade\":1}";
  CHECK_EQ(-1, imx_request_decode(missing, strlen(missing), &rq, &err));
  CHECK_STR("comment", err.field);
}

/* The window: rated up to rating_window_days (60) after the trade, by the
** request's clock; one millisecond later it is too late. */
static void test_a_trade_is_rated_within_the_window_only(void) {
  imx_core *c = open_core();
  two_rateable_trades(c, T0);
  run(c, "CC-R1", T0 + 60 * DAY, RATE("w1", 1, 5, ""));
  CHECK_OK(IMX_MSG_RATING_NEW);
  core_result res = run(c, "CC-R2", T0 + 60 * DAY + 1, RATE("w2", 2, 5, ""));
  CHECK_ERROR("forbidden", "trade", "rating_window_passed");
  CHECK(res.journal == NULL);
  /* the clock never goes back: an earlier request time is the core's now */
  run(c, "CC-R2", T0, RATE("w3", 2, 5, ""));
  CHECK_ERROR("forbidden", "trade", "rating_window_passed");
  /* the reply's window runs from the rating */
  run(c, "CC-P1", T0 + 120 * DAY, REPLY("p1", 1, "thanks"));
  CHECK_OK(IMX_MSG_RATING_REPLY);
  close_core(c);
}

/* The market file's rating_window_days: 1..3650, default 60. */
static void test_the_market_file_sets_the_rating_window(void) {
  char text[sizeof MARKET_JSON + 64];
  imx_market m;
  imx_proto_error err = {0};
  const char *bad[] = {"0", "3651", "\"7\"", "7.5"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(text, sizeof text, "{\"rating_window_days\":%s,%s", bad[i], MARKET_JSON + 1);
    memset(&err, 0, sizeof err);
    CHECK(imx_market_parse(text, strlen(text), &m, &err) != 0);
    CHECK_STR("rating_window_days", err.field);
    imx_market_free(&m);
  }
  CHECK_EQ(60, market()->rating_window_days);
  snprintf(text, sizeof text, "{\"rating_window_days\":7,%s", MARKET_JSON + 1);
  CHECK_EQ(0, imx_market_parse(text, strlen(text), &m, &err));
  CHECK_EQ(7, m.rating_window_days);
  core_config cfg = {.market = &m, .orders_max = 1024};
  imx_core *c = NULL;
  const char *why = NULL;
  CHECK_EQ(0, core_open(&cfg, &c, &why));
  /* the same trades as on the test market: its cost centres, in its order */
  two_rateable_trades(c, T0);
  run(c, "CC-R1", T0 + 7 * DAY, RATE("a", 1, 5, ""));
  CHECK_OK(IMX_MSG_RATING_NEW);
  run(c, "CC-R2", T0 + 7 * DAY + 1, RATE("b", 2, 5, ""));
  CHECK_ERROR("forbidden", "trade", "rating_window_passed");
  close_core(c);
  imx_market_free(&m);
}

/* A market of one service, "deep" (tick 1, cap 1,000,000: a million prices
** on its grid, more than a side's default levels), `levels` its "levels"
** ("" for none), with one receiver. */
static int deep_market(imx_market *m, const char *levels, imx_proto_error *err) {
  char text[1024];
  snprintf(text, sizeof text,
           "{\"currency\":\"EUR\",\"services\":[{\"id\":\"deep\",\"unit\":\"day\","
           "\"tick\":1,\"lot\":1,\"divisible\":true,\"mode\":\"auction\","
           "\"price_cap\":1000000%s%s}],\"cost_centres\":[{\"id\":\"CC-R\",\"name\":\"R\","
           "\"site\":\"A\",\"roles\":[\"receiver\"],\"budget\":100000000000}]}",
           levels[0] ? ",\"levels\":" : "", levels);
  memset(err, 0, sizeof *err);
  return imx_market_parse(text, strlen(text), m, err);
}

/* Bids of CC-R on "deep", qty 1, at n different prices from 1 on; returns
** how many were accepted before the first refusal (whose reply stays in
** last_). */
static uint32_t deep_bids(imx_core *c, uint32_t n) {
  for (uint32_t i = 0; i < n; i++) {
    char json[256];
    snprintf(json, sizeof json,
             "{\"v\":1,\"type\":\"order.new\",\"id\":\"d%u\",\"service\":\"deep\","
             "\"side\":\"bid\",\"qty\":1,\"price\":%u}",
             i, i + 1);
    run_at(c, 0, T0 + i, json); /* CC-R */
    if (last_.error) return i;
  }
  return n;
}

/* A service's "levels" in the market file is how many different prices a
** side of its book holds at once (default 4,096): a deep call auction's
** bids spread over more. Beyond it an order at a new price is refused with
** levels_full, naming the price; a price already in the book still rests. */
static void test_a_services_levels_bound_the_different_prices_a_side_holds(void) {
  CHECK_EQ(IMX_LEVELS_DEFAULT, market()->services[0].levels);
  imx_market m;
  imx_proto_error err;
  const char *bad[] = {"0", "1048577", "\"5000\"", "50.5", "-1", "null"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK(deep_market(&m, bad[i], &err) != 0);
    CHECK_STR("services[0].levels", err.field);
    imx_market_free(&m);
  }
  for (int raised = 0; raised <= 1; raised++) {
    CHECK_EQ(0, deep_market(&m, raised ? "5000" : "", &err));
    CHECK_EQ(raised ? 5000u : IMX_LEVELS_DEFAULT, m.services[0].levels);
    core_config cfg = {.market = &m, .orders_max = 8192, .orders_per_cc_max = 8192};
    imx_core *c = NULL;
    const char *why = NULL;
    CHECK_EQ(0, core_open(&cfg, &c, &why));
    uint32_t want = raised ? 5000u : IMX_LEVELS_DEFAULT;
    CHECK_EQ(want, deep_bids(c, want + 1));
    CHECK_ERROR("market_full", "price", "levels_full");
    CHECK(strstr(last_.message, "levels in the market file") != NULL);
    /* a price already in the book needs no new level */
    run_at(c, 0, T0 + 9000,
           "{\"v\":1,\"type\":\"order.new\",\"id\":\"again\",\"service\":\"deep\","
           "\"side\":\"bid\",\"qty\":1,\"price\":7}");
    CHECK_OK(IMX_MSG_ORDER_NEW);
    close_core(c);
    imx_market_free(&m);
  }
}

/* Ratings feed matching: once P1 has ratings_min (3) ratings averaging at
** least a bid's min_stars, the bid takes P1's dearer offer and skips P2's
** cheaper one, P2 being unrated. */
static void test_accepted_ratings_drive_min_stars_matching(void) {
  imx_core *c = open_core();
  offer_it(c, "o1", 10, 1000, T0);
  for (int k = 1; k <= 3; k++) {
    runf(c, "CC-R1", T0 + k, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b%d\",\"service\":"
                             "\"it.hour\",\"side\":\"bid\",\"qty\":1,\"price\":1000}", k);
    CHECK_EQ(1, last_.trades_n);
  }
  run(c, "CC-P2", T0 + 4, "{\"v\":1,\"type\":\"order.new\",\"id\":\"o2\",\"service\":"
                          "\"it.hour\",\"side\":\"offer\",\"qty\":5,\"price\":900}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
  run(c, "CC-R1", T0 + 5, RATE("r1", 1, 5, ""));
  run(c, "CC-R1", T0 + 5, RATE("r2", 2, 4, ""));
  /* two ratings: P1 is still unrated for min_stars, the bid rests */
  run(c, "CC-R2", T0 + 6, "{\"v\":1,\"type\":\"order.new\",\"id\":\"m1\",\"service\":"
                          "\"it.hour\",\"side\":\"bid\",\"qty\":1,\"price\":1000,"
                          "\"min_stars\":40,\"tif\":\"ioc\"}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
  CHECK_EQ(0, last_.trades_n);
  run(c, "CC-R1", T0 + 7, RATE("r3", 3, 5, "")); /* 14 / 3 = 4.67 */
  CHECK_OK(IMX_MSG_RATING_NEW);
  run(c, "CC-R2", T0 + 8, "{\"v\":1,\"type\":\"order.new\",\"id\":\"m2\",\"service\":"
                          "\"it.hour\",\"side\":\"bid\",\"qty\":1,\"price\":1000,"
                          "\"min_stars\":45}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
  CHECK_EQ(1, last_.trades_n);
  if (last_.trades_n == 1) {
    CHECK_STR("CC-P1", last_.trades[0].seller);
    CHECK_EQ(1000, last_.trades[0].price_minor);
  }
  /* a stricter bid finds nobody: 4.67 < 4.7 */
  run(c, "CC-R2", T0 + 9, "{\"v\":1,\"type\":\"order.new\",\"id\":\"m3\",\"service\":"
                          "\"it.hour\",\"side\":\"bid\",\"qty\":1,\"price\":1000,"
                          "\"min_stars\":47,\"tif\":\"ioc\"}");
  CHECK_EQ(0, last_.trades_n);
  /* a snapshot gives the engine the same reputations */
  size_t n = core_snapshot_write(c, NULL, 0);
  char *snap = malloc(n);
  if (snap == NULL) abort();
  CHECK_EQ(n, core_snapshot_write(c, snap, n));
  imx_core *b = open_core();
  const char *why = NULL;
  CHECK_EQ(0, core_snapshot_read(b, snap, n, &why));
  free(snap);
  run(b, "CC-R2", T0 + 10, "{\"v\":1,\"type\":\"order.new\",\"id\":\"m4\",\"service\":"
                           "\"it.hour\",\"side\":\"bid\",\"qty\":1,\"price\":1000,"
                           "\"min_stars\":46}");
  CHECK_EQ(1, last_.trades_n);
  if (last_.trades_n == 1) CHECK_STR("CC-P1", last_.trades[0].seller);
  close_core(b);
  close_core(c);
}

static void test_the_provider_replies_once_to_a_rating(void) {
  imx_core *c = open_core();
  two_rateable_trades(c, T0);
  run(c, "CC-P1", T0 + 1, REPLY("p0", 1, "early"));
  CHECK_ERROR("not_found", "trade", "not_rated");
  run(c, "CC-R1", T0 + 2, RATE("r1", 1, 2, ",\"comment\":\"slow\""));
  CHECK_OK(IMX_MSG_RATING_NEW);
  run(c, "CC-R1", T0 + 3, REPLY("p1", 1, "me too"));
  CHECK_ERROR("forbidden", "trade", "not_seller");
  run(c, "CC-P2", T0 + 3, REPLY("p2", 1, "not mine"));
  CHECK_ERROR("forbidden", "trade", "not_seller");
  core_result res = run(c, "CC-P1", T0 + 4, REPLY("p3", 1, "sorry"));
  CHECK_OK(IMX_MSG_RATING_REPLY);
  CHECK_EQ(1, last_.trade);
  CHECK(journal_is(&res, REPLY("p3", 1, "sorry")));
  CHECK(res.rating != NULL && res.rating->stars == 0);
  if (res.rating) {
    CHECK_STR("sorry", res.rating->comment);
    CHECK_EQ(T0 + 4, res.rating->time_ms);
  }
  saved_reply first;
  save_reply(&first);
  res = run(c, "CC-P1", T0 + 5, REPLY("p3", 1, "sorry"));
  CHECK(same_reply(&first));
  CHECK(res.journal == NULL);
  run(c, "CC-P1", T0 + 5, REPLY("p4", 1, "again"));
  CHECK_ERROR("forbidden", "trade", "already_replied");
  /* a reply changes no reputation */
  imx_reply_reputation r = p1_reputation(c, T0 + 6);
  CHECK_EQ(1, r.ratings);
  CHECK_EQ(2, r.stars_sum);
  close_core(c);
}

/* Reputation: all time, and the last 90 days by the rating's day; the
** book's offers, services.list (per service) and cc.get show it. */
static void test_reputation_all_time_and_of_the_last_90_days(void) {
  imx_core *c = open_core();
  two_rateable_trades(c, T0);
  run(c, "CC-R1", T0, RATE("a", 1, 5, ""));
  CHECK_OK(IMX_MSG_RATING_NEW);
  /* trade 3 on day 40, rated on day 50 */
  run(c, "CC-R2", T0 + 40 * DAY, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b3\",\"service\":"
                                 "\"it.hour\",\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  CHECK_EQ(3, core_last_trade(c));
  run(c, "CC-R2", T0 + 50 * DAY, RATE("b", 3, 2, ""));
  CHECK_OK(IMX_MSG_RATING_NEW);
  imx_reply_reputation r = p1_reputation(c, T0 + 50 * DAY);
  CHECK_EQ(2, r.ratings);
  CHECK_EQ(7, r.stars_sum);
  CHECK_EQ(2, r.ratings_recent);
  CHECK_EQ(7, r.stars_sum_recent);
  r = p1_reputation(c, T0 + 95 * DAY); /* day 0 is gone, day 50 is not */
  CHECK_EQ(2, r.ratings);
  CHECK_EQ(7, r.stars_sum);
  CHECK_EQ(1, r.ratings_recent);
  CHECK_EQ(2, r.stars_sum_recent);
  /* the book: P1's offer shows it, P2's none */
  run(c, "CC-P2", T0 + 95 * DAY, "{\"v\":1,\"type\":\"order.new\",\"id\":\"o3\",\"service\":"
                                 "\"it.hour\",\"side\":\"offer\",\"qty\":1,\"price\":1100}");
  run(c, "CC-R1", T0 + 95 * DAY, "{\"v\":1,\"type\":\"book.get\",\"id\":\"k\",\"service\":\"it.hour\"}");
  CHECK_OK(IMX_MSG_BOOK_GET);
  CHECK_EQ(2, last_.offer_orders_n);
  if (last_.offer_orders_n == 2) {
    CHECK_STR("CC-P1", last_.offer_orders[0].cc);
    CHECK_EQ(2, last_.offer_orders[0].rep.ratings);
    CHECK_EQ(7, last_.offer_orders[0].rep.stars_sum);
    CHECK_EQ(1, last_.offer_orders[0].rep.ratings_recent);
    CHECK_STR("CC-P2", last_.offer_orders[1].cc);
    CHECK_EQ(0, last_.offer_orders[1].rep.ratings);
  }
  /* services.list: it.hour over all its providers */
  run(c, "CC-R2", T0 + 95 * DAY, "{\"v\":1,\"type\":\"services.list\",\"id\":\"s\"}");
  CHECK_OK(IMX_MSG_SERVICES_LIST);
  CHECK(last_.services_n == 3 && last_.services[0].rep.ratings == 2 &&
        last_.services[0].rep.stars_sum == 7 && last_.services[1].rep.ratings == 0);
  close_core(c);
}

static void test_a_tenders_trade_is_rated_by_the_tenders_receiver(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n\",\"service\":\"it.hour\","
                      "\"qty\":2,\"ceiling\":2000,\"deadline_ms\":1000}");
  CHECK_OK(IMX_MSG_TENDER_NEW);
  run(c, "CC-P2", T0 + 1, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q\",\"tender\":1,"
                          "\"price\":1500}");
  CHECK_OK(IMX_MSG_TENDER_QUOTE);
  run(c, "CC-R1", T0 + 1, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"t\",\"tender\":1}");
  CHECK(last_.quotes_n == 1 && last_.quotes[0].rep.ratings == 0);
  core_batch_begin(c);
  core_result tick = core_tick(c, T0 + 2000);
  CHECK_EQ(1, tick.trades_n);
  run(c, "CC-P2", T0 + 2001, RATE("x", 1, 5, ""));
  CHECK_ERROR("forbidden", "trade", "not_buyer");
  run(c, "CC-R1", T0 + 2001, RATE("r", 1, 3, ""));
  CHECK_OK(IMX_MSG_RATING_NEW);
  CHECK_STR("CC-P2", last_.cc);
  /* a later tender's quote by P2 carries its reputation */
  run(c, "CC-R2", T0 + 2002, "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n\",\"service\":"
                             "\"it.hour\",\"qty\":1,\"ceiling\":2000,\"deadline_ms\":1000}");
  run(c, "CC-P2", T0 + 2003, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q2\",\"tender\":2,"
                             "\"price\":1500}");
  run(c, "CC-R2", T0 + 2004, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"t\",\"tender\":2}");
  CHECK_OK(IMX_MSG_TENDER_GET);
  CHECK(last_.quotes_n == 1 && last_.quotes[0].rep.ratings == 1 &&
        last_.quotes[0].rep.stars_sum == 3);
  close_core(c);
}

/* ------------------------------------------------------------ order.modify */

#define MODIFY(id, order, fields)                                                \
  "{\"v\":1,\"type\":\"order.modify\",\"id\":\"" id "\",\"order\":" #order "," fields "}"

/* P1's offer 1 and P2's offer 2, 5 it.hour each at 10.00: 1 is first. */
static void two_offers(imx_core *c) {
  offer_it(c, "o1", 5, 1000, T0);
  run(c, "CC-P2", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"o2\",\"service\":\"it.hour\","
      "\"side\":\"offer\",\"qty\":5,\"price\":1000}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
}

/* R1 bids qty at 10.00: which offers did it take, in order? */
static uint64_t first_seller_order(imx_core *c, int64_t qty) {
  runf(c, "CC-R1", T0 + 10,
       "{\"v\":1,\"type\":\"order.new\",\"id\":\"b%lld\",\"service\":\"it.hour\","
       "\"side\":\"bid\",\"qty\":%lld,\"price\":1000}", (long long)qty, (long long)qty);
  CHECK_OK(IMX_MSG_ORDER_NEW);
  return last_.trades_n > 0 ? last_.trades[0].sell_order : 0;
}

static void test_modify_reducing_the_quantity_keeps_priority(void) {
  imx_core *c = open_core();
  two_offers(c);
  core_result res = run(c, "CC-P1", T0 + 1, MODIFY("m1", 1, "\"qty\":3"));
  CHECK_OK(IMX_MSG_ORDER_MODIFY);
  CHECK_EQ(1, last_.order);
  CHECK_EQ(IMX_PSTATUS_OPEN, last_.status);
  CHECK_EQ(1, last_.priority_kept);
  CHECK_EQ(3, last_.qty);
  CHECK_EQ(3, last_.qty_open);
  CHECK_EQ(0, last_.qty_filled);
  CHECK_EQ(1000, last_.price_minor);
  CHECK_EQ(0, last_.trades_n);
  CHECK(journal_is(&res, "{\"v\":1,\"type\":\"order.modify\",\"id\":\"m1\",\"qty\":3,"
                         "\"order\":1}"));
  CHECK_EQ(0, res.closed_n);
  CHECK_EQ(1, first_seller_order(c, 3)); /* still first */
  run(c, "CC-P1", T0, "{\"v\":1,\"type\":\"order.list\",\"id\":\"l\"}");
  CHECK_EQ(0, last_.orders_n); /* filled: 3 of 3 */
  close_core(c);
}

static void test_modify_raising_the_quantity_or_changing_the_price_loses_priority(void) {
  imx_core *c = open_core();
  two_offers(c);
  run(c, "CC-P1", T0 + 1, MODIFY("m1", 1, "\"qty\":8"));
  CHECK_OK(IMX_MSG_ORDER_MODIFY);
  CHECK_EQ(0, last_.priority_kept);
  CHECK_EQ(8, last_.qty_open);
  CHECK_EQ(2, first_seller_order(c, 2)); /* P2's offer is first now */
  /* A price change loses it too, even back to the same level. */
  run(c, "CC-P2", T0 + 2, MODIFY("m2", 2, "\"price\":1100"));
  CHECK_EQ(0, last_.priority_kept);
  run(c, "CC-P2", T0 + 3, MODIFY("m3", 2, "\"price\":1000"));
  CHECK_EQ(0, last_.priority_kept);
  CHECK_EQ(5, last_.qty); /* 2 filled + 3 open */
  CHECK_EQ(3, last_.qty_open);
  CHECK_EQ(2, last_.qty_filled);
  CHECK_EQ(1, first_seller_order(c, 1));
  close_core(c);
}

/* A modified order that crosses trades at once, at the resting price, and
** its fills settle and close orders like any trade's. */
static void test_modify_to_a_crossing_price_trades_at_once(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":4,\"price\":900}");
  offer_it(c, "o1", 6, 1000, T0);
  core_result res = run(c, "CC-P1", T0 + 5, MODIFY("m1", 2, "\"price\":900"));
  CHECK_OK(IMX_MSG_ORDER_MODIFY);
  CHECK_EQ(IMX_PSTATUS_OPEN, last_.status);
  CHECK_EQ(0, last_.priority_kept);
  CHECK_EQ(6, last_.qty);
  CHECK_EQ(2, last_.qty_open);
  CHECK_EQ(4, last_.qty_filled);
  CHECK_EQ(1, last_.trades_n);
  CHECK_EQ(900, last_.trades_n ? last_.trades[0].price_minor : 0);
  CHECK_EQ(1, res.trades_n);
  CHECK_EQ(1, res.trades_n ? (int64_t)res.trades[0].trade.buy_order : 0);
  CHECK_EQ(1, res.closed_n); /* R1's bid, filled */
  if (res.closed_n == 1) {
    CHECK_EQ(1, res.closed[0].order);
    CHECK_STR("filled", res.closed[0].status);
    CHECK_STR("CC-R1", res.closed[0].cc);
    CHECK_EQ(4, res.closed[0].qty_filled);
  }
  /* The market heard of the trade and the new best prices. */
  uint32_t n = 0;
  const imx_md_event *md = core_batch_md(c, &n);
  CHECK_EQ(2, n);
  if (n == 2) {
    CHECK_EQ(IMX_MD_TRADE, md[0].kind);
    CHECK_EQ(IMX_MD_TOP, md[1].kind);
    CHECK_EQ(0, md[1].bid);
    CHECK_EQ(900, md[1].offer);
    CHECK_EQ(2, md[1].offer_qty);
  }
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g\"}");
  CHECK_EQ(3600, last_.spent);
  CHECK_EQ(0, last_.reserved);
  close_core(c);
}

static void test_modify_of_another_cost_centres_or_an_unknown_order_is_not_found(void) {
  imx_core *c = open_core();
  two_offers(c);
  core_result res = run(c, "CC-P2", T0, MODIFY("m1", 1, "\"qty\":1"));
  CHECK_ERROR("not_found", "order", "unknown_order");
  CHECK(res.journal == NULL);
  run(c, "CC-P1", T0, MODIFY("m2", 99, "\"qty\":1"));
  CHECK_ERROR("not_found", "order", "unknown_order");
  run(c, "CC-P1", T0, "{\"v\":1,\"type\":\"order.modify\",\"id\":\"m3\",\"order\":1,"
                      "\"cc\":\"CC-P2\",\"qty\":1}");
  CHECK_ERROR("forbidden", "cc", "");
  run(c, "CC-P1", T0, "{\"v\":1,\"type\":\"order.list\",\"id\":\"l\"}");
  CHECK_EQ(5, last_.orders_n == 1 ? last_.orders[0].qty_open : 0);
  close_core(c);
}

static void test_modify_to_a_price_off_the_tick_or_a_quantity_not_above_the_filled_is_bad_field(void) {
  imx_core *c = open_core();
  offer_it(c, "o1", 5, 1000, T0);
  first_seller_order(c, 2);
  run(c, "CC-P1", T0, MODIFY("m1", 1, "\"price\":950"));
  CHECK_ERROR("bad_field", "price", "bad_tick");
  run(c, "CC-P1", T0, MODIFY("m2", 1, "\"qty\":2"));
  CHECK_ERROR("bad_field", "qty", "bad_qty");
  CHECK(strstr(last_.message, "filled already (2)") != NULL);
  run(c, "CC-P1", T0, MODIFY("m3", 1, "\"qty\":3"));
  CHECK_OK(IMX_MSG_ORDER_MODIFY);
  CHECK_EQ(1, last_.qty_open);
  close_core(c);
}

static void test_modify_raising_a_bid_beyond_the_budget_is_insufficient_budget(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":50,\"price\":1000}");
  CHECK_OK(IMX_MSG_ORDER_NEW); /* holds 50,000 of 100,000 */
  core_result res = run(c, "CC-R1", T0, MODIFY("m1", 1, "\"qty\":101"));
  CHECK_ERROR("insufficient_budget", "price", "insufficient_budget");
  CHECK(strstr(last_.message, "budget left") != NULL);
  CHECK(res.journal == NULL);
  run(c, "CC-R1", T0, MODIFY("m2", 1, "\"price\":2100"));
  CHECK_ERROR("insufficient_budget", "price", "insufficient_budget");
  /* Exactly the whole budget fits; the reservation follows the order. */
  run(c, "CC-R1", T0, MODIFY("m3", 1, "\"qty\":50,\"price\":2000"));
  CHECK_OK(IMX_MSG_ORDER_MODIFY);
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g\"}");
  CHECK_EQ(100000, last_.reserved);
  CHECK_EQ(0, last_.available);
  run(c, "CC-R1", T0, MODIFY("m4", 1, "\"qty\":10"));
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g\"}");
  CHECK_EQ(20000, last_.reserved);
  /* An offer's capacity likewise: P2 has 50 of it.hour. */
  run(c, "CC-P2", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"o1\",\"service\":\"it.hour\","
      "\"side\":\"offer\",\"qty\":40,\"price\":5000}");
  run(c, "CC-P2", T0, MODIFY("m5", 2, "\"qty\":51"));
  CHECK_ERROR("over_capacity", "qty", "over_capacity");
  close_core(c);
}

static void test_modify_repeated_is_answered_with_the_same_bytes_and_other_content_is_duplicate_id(void) {
  imx_core *c = open_core();
  two_offers(c);
  run(c, "CC-P1", T0, MODIFY("m1", 1, "\"qty\":4"));
  CHECK_OK(IMX_MSG_ORDER_MODIFY);
  saved_reply first;
  save_reply(&first);
  core_result res = run(c, "CC-P1", T0 + 100, MODIFY("m1", 1, "\"qty\":4"));
  CHECK(same_reply(&first));
  CHECK(res.journal == NULL);
  res = run(c, "CC-P1", T0 + 100, MODIFY("m1", 1, "\"qty\":3"));
  CHECK_ERROR("duplicate_id", "id", "");
  CHECK(res.journal == NULL);
  run(c, "CC-P1", T0, "{\"v\":1,\"type\":\"order.list\",\"id\":\"l\"}");
  CHECK_EQ(4, last_.orders_n == 1 ? last_.orders[0].qty_open : 0);
  close_core(c);
}

/* Every way an order closes is in the result of the command that closed it,
** for the ledger's order history. */
static void test_the_orders_a_command_closes_are_in_its_result(void) {
  imx_core *c = open_core();
  offer_it(c, "o1", 5, 1000, T0);
  core_result res = run(c, "CC-P1", T0 + 1, "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"x\",\"order\":1}");
  CHECK_EQ(1, res.closed_n);
  if (res.closed_n == 1) {
    const core_closed *k = &res.closed[0];
    CHECK_EQ(1, k->order);
    CHECK_STR("cancelled", k->status);
    CHECK_STR("user", k->reason);
    CHECK_STR("offer", k->side);
    CHECK_STR("gtc", k->tif);
    CHECK_STR("it.hour", k->service);
    CHECK_EQ(5, k->qty);
    CHECK_EQ(0, k->qty_filled);
    CHECK_EQ(1, k->period);
    CHECK_EQ(T0 + 1, k->time_ms);
  }
  offer_it(c, "o2", 3, 1000, T0 + 2);
  res = run(c, "CC-R1", T0 + 3,
            "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
            "\"side\":\"bid\",\"qty\":5,\"price\":1000,\"tif\":\"ioc\"}");
  CHECK_EQ(2, res.closed_n); /* the offer filled, then the ioc's rest */
  if (res.closed_n == 2) {
    CHECK_EQ(2, res.closed[0].order);
    CHECK_STR("filled", res.closed[0].status);
    CHECK(res.closed[0].reason == NULL);
    CHECK_EQ(3, res.closed[1].order);
    CHECK_STR("cancelled", res.closed[1].status);
    CHECK_STR("ioc", res.closed[1].reason);
    CHECK_EQ(3, res.closed[1].qty_filled);
    CHECK_EQ(5, res.closed[1].qty);
  }
  run(c, "CC-R1", T0 + 4,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b2\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":500,\"tif\":\"period\"}");
  res = run(c, "CC-ADM", T0 + 5, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p\"}");
  CHECK_EQ(1, res.closed_n);
  if (res.closed_n == 1) {
    CHECK_STR("expired", res.closed[0].status);
    CHECK_STR("period", res.closed[0].tif);
    CHECK_EQ(1, res.closed[0].period);
  }
  /* A refusal closes nothing. */
  res = run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"y\",\"order\":1}");
  CHECK_EQ(0, res.closed_n);
  close_core(c);
}

/* ------------------------------------------------- order.new and results */

static void test_resting_order_has_no_trades_and_journals_the_request_without_its_token(void) {
  imx_core *c = open_core();
  const char *json =
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"token\":\"secret-R1\","
      "\"service\":\"it.hour\",\"side\":\"bid\",\"qty\":2,\"price\":1000}";
  core_result res = run(c, "CC-R1", T0, json);
  CHECK_OK(IMX_MSG_ORDER_NEW);
  CHECK_EQ(1, last_.order);
  CHECK_EQ(0, last_.status); /* open */
  CHECK_EQ(2, last_.qty_open);
  CHECK_EQ(0, last_.qty_filled);
  CHECK_EQ(0, last_.trades_n);
  CHECK_EQ(0, last_.trades_omitted);
  CHECK_EQ(0, res.trades_n);
  CHECK(res.trades == NULL);
  CHECK_EQ(0, res.period_closed);
  CHECK_STR("CC-R1", res.journal_cc);
  CHECK(journal_is(&res, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":"
                         "\"it.hour\",\"side\":\"bid\",\"qty\":2,\"price\":1000,"
                         "\"tif\":\"gtc\",\"aon\":false}"));
  CHECK(res.journal && !contains(res.journal, res.journal_len, "token"));
  CHECK(res.journal && !contains(res.journal, res.journal_len, "secret-R1"));
  /* canonical: the request re-encoded, without its token */
  imx_request rq;
  imx_proto_error err = {0};
  char canonical[1024];
  CHECK_EQ(0, imx_request_decode(json, strlen(json), &rq, &err));
  rq.token[0] = '\0';
  size_t n = imx_request_encode(&rq, canonical, sizeof canonical);
  CHECK(res.journal && n == res.journal_len && memcmp(canonical, res.journal, n) == 0);
  close_core(c);
}

static void test_crossing_order_lists_its_trades_in_period_1(void) {
  imx_core *c = open_core();
  offer_it(c, "o1", 3, 1000, T0);
  core_result res = run(c, "CC-R1", T0 + 5,
                        "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":"
                        "\"it.hour\",\"side\":\"bid\",\"qty\":2,\"price\":1200}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
  CHECK_EQ(2, last_.order);
  CHECK_EQ(1, last_.status); /* filled */
  CHECK_EQ(0, last_.qty_open);
  CHECK_EQ(2, last_.qty_filled);
  CHECK_EQ(1, last_.trades_n);
  if (last_.trades_n == 1) {
    const imx_reply_trade *t = &last_.trades[0];
    CHECK_EQ(1, t->trade);
    CHECK_STR("it.hour", t->service);
    CHECK_STR("CC-R1", t->buyer);
    CHECK_STR("CC-P1", t->seller);
    CHECK_EQ(2, t->qty);
    CHECK_EQ(1000, t->price_minor); /* the resting order's price */
    CHECK_EQ(T0 + 5, t->time_ms);
    CHECK_EQ(2, t->buy_order);
    CHECK_EQ(1, t->sell_order);
  }
  CHECK_EQ(1, res.trades_n);
  if (res.trades_n == 1) {
    CHECK_EQ(1, res.trades[0].period);
    CHECK_EQ(1, res.trades[0].trade.trade);
    CHECK_EQ(2, res.trades[0].trade.qty);
    CHECK_EQ(1000, res.trades[0].trade.price_minor);
  }
  CHECK_EQ(1, core_last_trade(c));
  close_core(c);
}

static void test_batch_market_data_is_the_trade_then_the_new_top_and_empty_after_batch_begin(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":2,\"price\":1000}");
  offer_it(c, "o1", 1, 1000, T0 + 1);
  uint32_t n = 0;
  const imx_md_event *md = core_batch_md(c, &n);
  CHECK_EQ(2, n);
  if (n == 2) {
    CHECK_EQ(IMX_MD_TRADE, md[0].kind);
    CHECK_STR("it.hour", md[0].service);
    CHECK_EQ(1, md[0].trade);
    CHECK_EQ(1, md[0].qty);
    CHECK_EQ(1000, md[0].price_minor);
    CHECK_EQ(T0 + 1, md[0].time_ms);
    CHECK_EQ(IMX_MD_TOP, md[1].kind);
    CHECK_STR("it.hour", md[1].service);
    CHECK_EQ(1000, md[1].bid);
    CHECK_EQ(1, md[1].bid_qty);
    CHECK_EQ(0, md[1].offer); /* none */
    CHECK_EQ(0, md[1].offer_qty);
  }
  core_batch_begin(c);
  core_batch_md(c, &n);
  CHECK_EQ(0, n);
  close_core(c);
}

static void test_ioc_remainder_is_cancelled_with_reason_ioc(void) {
  imx_core *c = open_core();
  offer_it(c, "o1", 1, 1000, T0);
  core_result res = run(c, "CC-R1", T0,
                        "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":"
                        "\"it.hour\",\"side\":\"bid\",\"qty\":3,\"price\":1000,\"tif\":\"ioc\"}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
  CHECK_EQ(2, last_.status); /* cancelled */
  CHECK_STR("ioc", last_.reason);
  CHECK_EQ(1, last_.qty_filled);
  CHECK_EQ(0, last_.qty_open);
  CHECK_EQ(1, res.trades_n);
  close_core(c);
}

static void test_bid_crossing_its_own_offer_is_cancelled_with_reason_self_trade(void) {
  imx_core *c = open_core();
  run(c, "CC-PR", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"o1\",\"service\":\"it.hour\","
      "\"side\":\"offer\",\"qty\":1,\"price\":1000}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
  core_result res = run(c, "CC-PR", T0,
                        "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":"
                        "\"it.hour\",\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
  CHECK_EQ(2, last_.status); /* cancelled */
  CHECK_STR("self_trade", last_.reason);
  CHECK_EQ(0, last_.qty_filled);
  CHECK_EQ(0, res.trades_n);
  close_core(c);
}

/* --------------------------------------------------- the other requests */

static void test_order_cancel_replies_the_quantity_cancelled_and_journals_it(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":2,\"price\":1000}");
  core_result res = run(c, "CC-R1", T0 + 1,
                        "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"x1\",\"order\":1}");
  CHECK_OK(IMX_MSG_ORDER_CANCEL);
  CHECK_EQ(1, last_.order);
  CHECK_EQ(2, last_.qty);
  CHECK_STR("CC-R1", res.journal_cc);
  CHECK(journal_is(&res, "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"x1\",\"order\":1}"));
  run(c, "CC-R1", T0 + 2, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g1\"}");
  CHECK_EQ(0, last_.reserved);
  CHECK_EQ(100000, last_.available);
  close_core(c);
}

static void test_order_list_shows_the_open_orders_of_the_cost_centre(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":2,\"price\":1000}");
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b2\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":3,\"price\":900,\"tif\":\"period\"}");
  offer_it(c, "o1", 5, 2000, T0);
  core_result res = run(c, "CC-R1", T0 + 1, "{\"v\":1,\"type\":\"order.list\",\"id\":\"l1\"}");
  CHECK_OK(IMX_MSG_ORDER_LIST);
  CHECK_EQ(2, last_.orders_n);
  if (last_.orders_n == 2) {
    CHECK_EQ(1, last_.orders[0].order);
    CHECK_STR("it.hour", last_.orders[0].service);
    CHECK_EQ(IMX_PSIDE_BID, last_.orders[0].side);
    CHECK_EQ(IMX_PTIF_GTC, last_.orders[0].tif);
    CHECK_EQ(1000, last_.orders[0].price_minor);
    CHECK_EQ(2, last_.orders[0].qty);
    CHECK_EQ(2, last_.orders[0].qty_open);
    CHECK_EQ(0, last_.orders[0].qty_filled);
    CHECK_EQ(2, last_.orders[1].order);
    CHECK_EQ(IMX_PTIF_PERIOD, last_.orders[1].tif);
    CHECK_EQ(900, last_.orders[1].price_minor);
    CHECK_EQ(3, last_.orders[1].qty_open);
  }
  CHECK(res.journal == NULL);
  close_core(c);
}

static void test_min_stars_bids_skip_providers_rated_below_and_show_in_order_list(void) {
  imx_core *c = open_core();
  uint32_t p1 = cc_index("CC-P1"), p2 = cc_index("CC-P2");
  CHECK_EQ(IMX_OK, core_reputation_set(c, p1, 0, 3, 12)); /* 4.0 */
  CHECK_EQ(IMX_OK, core_reputation_set(c, p2, 0, 3, 14)); /* 4.67 */
  offer_it(c, "o1", 5, 1000, T0); /* P1: cheaper */
  run(c, "CC-P2", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"o2\",\"service\":\"it.hour\","
      "\"side\":\"offer\",\"qty\":5,\"price\":1100}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
  core_result res = run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":7,\"price\":1100,\"min_stars\":45}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
  CHECK_EQ(1, last_.trades_n);
  if (last_.trades_n == 1) {
    CHECK_STR("CC-P2", last_.trades[0].seller);
    CHECK_EQ(5, last_.trades[0].qty);
    CHECK_EQ(1100, last_.trades[0].price_minor);
  }
  CHECK_EQ(2, last_.qty_open); /* rests crossed with P1's offer */
  /* The journal keeps the filter, so a replay skips P1 again. */
  CHECK(res.journal != NULL && contains(res.journal, res.journal_len, "\"min_stars\":45"));
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"order.list\",\"id\":\"l1\"}");
  CHECK_OK(IMX_MSG_ORDER_LIST);
  CHECK_EQ(1, last_.orders_n);
  if (last_.orders_n == 1) {
    CHECK_EQ(45, last_.orders[0].min_stars);
    CHECK_EQ(0, last_.orders[0].allow_unrated);
  }
  CHECK(contains(reply_, reply_len_, "\"min_stars\":45"));
  /* A rating that lifts P1 to 4.5 matches nothing by itself. */
  CHECK_EQ(IMX_OK, core_reputation_set(c, p1, 0, 4, 18));
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"order.list\",\"id\":\"l2\"}");
  CHECK_EQ(2, last_.orders_n ? last_.orders[0].qty_open : 0);
  /* Errors: an offer may not filter; the market's cost centres and
  ** services only. An auction service takes the filter. */
  run(c, "CC-P1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"o3\",\"service\":\"it.hour\","
      "\"side\":\"offer\",\"qty\":1,\"price\":1200,\"min_stars\":45}");
  CHECK_ERROR("bad_field", "min_stars", "bad_stars");
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b2\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1200,\"allow_unrated\":true}");
  CHECK_ERROR("bad_field", "min_stars", "bad_stars");
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b3\",\"service\":\"truck.day\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1200,\"min_stars\":30}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
  CHECK_EQ(IMX_E_UNKNOWN_CC, core_reputation_set(c, (uint32_t)market()->ccs_n, 0, 1, 5));
  CHECK_EQ(IMX_E_UNKNOWN_SERVICE, core_reputation_set(c, p1, 99, 1, 5));
  CHECK_EQ(IMX_E_BAD_CONFIG, core_reputation_set(c, p1, 0, 1, 6));
  close_core(c);
}

static void test_finance_reads_another_cost_centres_orders_and_balance(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":2,\"price\":1000}");
  run(c, "CC-FIN", T0, "{\"v\":1,\"type\":\"order.list\",\"id\":\"l1\",\"cc\":\"CC-R1\"}");
  CHECK_OK(IMX_MSG_ORDER_LIST);
  CHECK_EQ(1, last_.orders_n);
  run(c, "CC-FIN", T0, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g1\",\"cc\":\"CC-R1\"}");
  CHECK_OK(IMX_MSG_BALANCE_GET);
  CHECK_STR("CC-R1", last_.cc);
  CHECK_EQ(2000, last_.reserved);
  close_core(c);
}

static void test_book_get_lists_levels_best_first_up_to_depth(void) {
  imx_core *c = open_core();
  offer_it(c, "o1", 1, 1100, T0);
  offer_it(c, "o2", 2, 1000, T0);
  offer_it(c, "o3", 3, 1000, T0);
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":900}");
  core_result res = run(c, "CC-R2", T0, "{\"v\":1,\"type\":\"book.get\",\"id\":\"k1\",\"service\":\"it.hour\"}");
  CHECK_OK(IMX_MSG_BOOK_GET);
  CHECK_STR("it.hour", last_.service);
  CHECK_EQ(1, last_.bids_n);
  if (last_.bids_n == 1) {
    CHECK_EQ(900, last_.bids[0].price_minor);
    CHECK_EQ(1, last_.bids[0].qty);
    CHECK_EQ(1, last_.bids[0].orders);
  }
  CHECK_EQ(2, last_.offers_n);
  if (last_.offers_n == 2) {
    CHECK_EQ(1000, last_.offers[0].price_minor);
    CHECK_EQ(5, last_.offers[0].qty);
    CHECK_EQ(2, last_.offers[0].orders);
    CHECK_EQ(1100, last_.offers[1].price_minor);
    CHECK_EQ(1, last_.offers[1].qty);
  }
  CHECK(res.journal == NULL);
  run(c, "CC-R2", T0, "{\"v\":1,\"type\":\"book.get\",\"id\":\"k2\",\"service\":\"it.hour\",\"depth\":1}");
  CHECK_EQ(1, last_.offers_n);
  CHECK_EQ(1, last_.bids_n);
  close_core(c);
}

/* ------------------------------------------------------------ discovery */

static const imx_reply_service *service_row_of(const char *id) {
  for (uint32_t i = 0; i < last_.services_n; i++)
    if (strcmp(last_.services[i].service, id) == 0) return &last_.services[i];
  fprintf(stderr, "  no row for %s\n", id);
  return NULL;
}

static void test_services_list_shows_every_service_with_its_market_now(void) {
  imx_core *c = open_core();
  offer_it(c, "o1", 5, 1000, T0);
  run(c, "CC-R1", T0 + 1, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":"
                          "\"it.hour\",\"side\":\"bid\",\"qty\":1,\"price\":900}");
  run(c, "CC-R2", T0 + 5, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b2\",\"service\":"
                          "\"it.hour\",\"side\":\"bid\",\"qty\":2,\"price\":1000}");
  CHECK_EQ(1, last_.status);
  core_result res = run(c, "CC-R2", T0 + 9, "{\"v\":1,\"type\":\"services.list\",\"id\":\"s\"}");
  CHECK_OK(IMX_MSG_SERVICES_LIST);
  CHECK(res.journal == NULL);
  CHECK_EQ(3, last_.services_n);
  CHECK_STR("", last_.next);
  const imx_reply_service *it = service_row_of("it.hour");
  if (it) {
    CHECK_STR("IT hour", it->name);
    CHECK_STR("Support by the hour.", it->description);
    CHECK_STR("hour", it->unit);
    CHECK_STR("EUR", it->currency);
    CHECK_EQ(0, it->auction);
    CHECK_EQ(1, it->divisible);
    CHECK_EQ(100, it->tick_minor);
    CHECK_EQ(1, it->lot);
    CHECK_EQ(100000, it->price_cap_minor);
    CHECK_EQ(3, it->providers); /* CC-P1, CC-P2, CC-PR */
    CHECK_EQ(900, it->bid_minor);
    CHECK_EQ(1, it->bid_qty);
    CHECK_EQ(1000, it->offer_minor);
    CHECK_EQ(3, it->offer_qty);
    CHECK_EQ(1000, it->last_price_minor);
    CHECK_EQ(2, it->last_qty);
    CHECK_EQ(T0 + 5, it->last_time_ms);
  }
  const imx_reply_service *room = service_row_of("room.day");
  if (room) {
    CHECK_STR("room.day", room->name); /* no name in the market file: the id */
    CHECK_STR("", room->description);
    CHECK_EQ(0, room->divisible);
    CHECK_EQ(2, room->lot);
    CHECK_EQ(1, room->providers);
    CHECK_EQ(0, room->bid_minor);
    CHECK_EQ(0, room->offer_minor);
    CHECK_EQ(0, room->last_price_minor);
    CHECK_EQ(0, room->last_time_ms);
  }
  const imx_reply_service *truck = service_row_of("truck.day");
  if (truck) {
    CHECK_EQ(1, truck->auction);
    CHECK_EQ(2, truck->providers);
  }
  CHECK(contains(reply_, reply_len_, "\"last_price\":null,\"last_qty\":0,\"last_time_ms\":null"));
  close_core(c);
}

static void test_services_list_pages_in_market_file_order(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"services.list\",\"id\":\"s1\",\"limit\":2}");
  CHECK_OK(IMX_MSG_SERVICES_LIST);
  CHECK_EQ(2, last_.services_n);
  if (last_.services_n == 2) {
    CHECK_STR("it.hour", last_.services[0].service);
    CHECK_STR("truck.day", last_.services[1].service);
  }
  CHECK_STR("room.day", last_.next);
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"services.list\",\"id\":\"s2\",\"limit\":2,"
                      "\"start\":\"room.day\"}");
  CHECK_EQ(1, last_.services_n);
  if (last_.services_n == 1) CHECK_STR("room.day", last_.services[0].service);
  CHECK_STR("", last_.next);
  CHECK(!contains(reply_, reply_len_, "\"next\""));
  close_core(c);
}

static void test_services_list_from_an_unknown_service_is_unknown_service_on_start(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"services.list\",\"id\":\"s\",\"start\":\"nope\"}");
  CHECK_ERROR("unknown_service", "start", "");
  close_core(c);
}

static void test_the_last_trade_of_a_service_is_kept_from_an_auction_call(void) {
  imx_core *c = open_core();
  run(c, "CC-P1", T0, "{\"v\":1,\"type\":\"order.new\",\"id\":\"o\",\"service\":"
                      "\"truck.day\",\"side\":\"offer\",\"qty\":4,\"price\":1000}");
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b\",\"service\":"
                      "\"truck.day\",\"side\":\"bid\",\"qty\":3,\"price\":1200}");
  run(c, "CC-ADM", T0 + 50, "{\"v\":1,\"type\":\"auction.run\",\"id\":\"a\",\"service\":"
                            "\"truck.day\"}");
  CHECK_OK(IMX_MSG_AUCTION_RUN);
  core_last l = core_last_of(c, 1);
  CHECK_EQ(3, l.qty);
  CHECK_EQ(last_.price_minor, l.price_minor);
  CHECK_EQ(T0 + 50, l.time_ms);
  CHECK_EQ(1, l.trade);
  run(c, "CC-R2", T0 + 60, "{\"v\":1,\"type\":\"services.list\",\"id\":\"s\"}");
  const imx_reply_service *truck = service_row_of("truck.day");
  if (truck) {
    CHECK_EQ(l.price_minor, truck->last_price_minor);
    CHECK_EQ(3, truck->last_qty);
    CHECK_EQ(T0 + 50, truck->last_time_ms);
    CHECK_EQ(1, truck->offer_qty);
  }
  /* the core's snapshot carries it: a core read from it shows it alike */
  static saved_reply before;
  save_reply(&before);
  size_t n = core_snapshot_write(c, NULL, 0);
  char *snap = malloc(n);
  CHECK(snap != NULL && core_snapshot_write(c, snap, n) == n);
  imx_core *b = open_core();
  const char *why = NULL;
  CHECK_EQ(0, core_snapshot_read(b, snap, n, &why));
  CHECK_EQ(3, core_last_of(b, 1).qty);
  CHECK_EQ(T0 + 50, core_last_of(b, 1).time_ms);
  run(b, "CC-R2", T0 + 60, "{\"v\":1,\"type\":\"services.list\",\"id\":\"s\"}");
  CHECK(same_reply(&before));
  free(snap);
  close_core(b);
  close_core(c);
}

static const imx_reply_cc *cc_row_of(const char *id) {
  for (uint32_t i = 0; i < last_.ccs_n; i++)
    if (strcmp(last_.ccs[i].cc, id) == 0) return &last_.ccs[i];
  fprintf(stderr, "  no row for %s\n", id);
  return NULL;
}

static void test_cc_list_is_the_directory_with_budgets_only_for_finance_and_self(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"cc.list\",\"id\":\"c\"}");
  CHECK_OK(IMX_MSG_CC_LIST);
  CHECK_EQ(7, last_.ccs_n);
  const imx_reply_cc *p1 = cc_row_of("CC-P1");
  if (p1) {
    CHECK_STR("Provider One", p1->name);
    CHECK_STR("A", p1->site);
    CHECK_EQ(IMX_ROLE_PROVIDER, p1->roles);
    CHECK_EQ(3, p1->services_n);
    if (p1->services_n == 3) {
      CHECK_STR("it.hour", p1->services[0]);
      CHECK_STR("truck.day", p1->services[1]);
      CHECK_STR("room.day", p1->services[2]);
    }
    CHECK_EQ(0, p1->has_budget);
  }
  const imx_reply_cc *r1 = cc_row_of("CC-R1"), *r2 = cc_row_of("CC-R2");
  if (r1 && r2) {
    CHECK_EQ(1, r1->has_budget); /* its own */
    CHECK_EQ(100000, r1->budget_minor);
    CHECK_EQ(0, r2->has_budget);
    CHECK_EQ(0, r2->services_n);
  }
  const imx_reply_cc *pr = cc_row_of("CC-PR");
  if (pr) CHECK_EQ(IMX_ROLE_PROVIDER | IMX_ROLE_RECEIVER, pr->roles);
  CHECK(!contains(reply_, reply_len_, "token"));
  CHECK(!contains(reply_, reply_len_, "1000000")); /* CC-R2's budget */
  run(c, "CC-FIN", T0, "{\"v\":1,\"type\":\"cc.list\",\"id\":\"c\"}");
  for (uint32_t i = 0; i < last_.ccs_n; i++) CHECK_EQ(1, last_.ccs[i].has_budget);
  r2 = cc_row_of("CC-R2");
  if (r2) CHECK_EQ(1000000, r2->budget_minor);
  run(c, "CC-ADM", T0, "{\"v\":1,\"type\":\"cc.list\",\"id\":\"c\"}");
  for (uint32_t i = 0; i < last_.ccs_n; i++)
    CHECK_EQ(strcmp(last_.ccs[i].cc, "CC-ADM") == 0, last_.ccs[i].has_budget);
  close_core(c);
}

static void test_cc_list_pages_and_an_unknown_start_is_unknown_cc(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"cc.list\",\"id\":\"c\",\"limit\":3}");
  CHECK_EQ(3, last_.ccs_n);
  CHECK_STR("CC-R2", last_.next);
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"cc.list\",\"id\":\"c\",\"limit\":3,"
                      "\"start\":\"CC-R2\"}");
  CHECK_EQ(3, last_.ccs_n);
  if (last_.ccs_n == 3) CHECK_STR("CC-R2", last_.ccs[0].cc);
  CHECK_STR("CC-PR", last_.next);
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"cc.list\",\"id\":\"c\",\"start\":\"CC-PR\"}");
  CHECK_EQ(1, last_.ccs_n);
  CHECK_STR("", last_.next);
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"cc.list\",\"id\":\"c\",\"start\":\"CC-X\"}");
  CHECK_ERROR("unknown_cc", "start", "");
  close_core(c);
}

static void test_cc_get_shows_one_cost_centre_the_asker_by_default(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"cc.get\",\"id\":\"g\"}");
  CHECK_OK(IMX_MSG_CC_GET);
  CHECK_EQ(1, last_.ccs_n);
  if (last_.ccs_n == 1) {
    CHECK_STR("CC-R1", last_.ccs[0].cc);
    CHECK_STR("Receiver One", last_.ccs[0].name);
    CHECK_EQ(IMX_ROLE_RECEIVER, last_.ccs[0].roles);
    CHECK_EQ(1, last_.ccs[0].has_budget);
    CHECK_EQ(100000, last_.ccs[0].budget_minor);
  }
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"cc.get\",\"id\":\"g\",\"cc\":\"CC-P2\"}");
  CHECK_OK(IMX_MSG_CC_GET);
  if (last_.ccs_n == 1) {
    CHECK_STR("Provider Two", last_.ccs[0].name);
    CHECK_STR("B", last_.ccs[0].site);
    CHECK_EQ(1, last_.ccs[0].services_n);
    CHECK_EQ(0, last_.ccs[0].has_budget);
  }
  run(c, "CC-FIN", T0, "{\"v\":1,\"type\":\"cc.get\",\"id\":\"g\",\"cc\":\"CC-R2\"}");
  if (last_.ccs_n == 1) CHECK_EQ(1000000, last_.ccs[0].budget_minor);
  CHECK(contains(reply_, reply_len_, "\"budget\":1000000"));
  close_core(c);
}

static void test_cc_get_of_an_unknown_cost_centre_is_unknown_cc(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"cc.get\",\"id\":\"g\",\"cc\":\"CC-NONE\"}");
  CHECK_ERROR("unknown_cc", "cc", "unknown_cc");
  close_core(c);
}

static void test_book_get_lists_offers_in_priority_order_with_their_providers(void) {
  imx_core *c = open_core();
  offer_it(c, "o1", 2, 1100, T0); /* order 1 */
  run(c, "CC-P2", T0 + 1, "{\"v\":1,\"type\":\"order.new\",\"id\":\"o2\",\"service\":"
                          "\"it.hour\",\"side\":\"offer\",\"qty\":3,\"price\":1000}");
  offer_it(c, "o3", 1, 1000, T0 + 2); /* order 3: behind order 2 at 1000 */
  run(c, "CC-R1", T0 + 3, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":"
                          "\"it.hour\",\"side\":\"bid\",\"qty\":1,\"price\":900}");
  run(c, "CC-P1", T0 + 4, "{\"v\":1,\"type\":\"book.get\",\"id\":\"k\",\"service\":\"it.hour\"}");
  CHECK_OK(IMX_MSG_BOOK_GET);
  CHECK_EQ(3, last_.offer_orders_n);
  if (last_.offer_orders_n == 3) {
    const imx_reply_offer *o = last_.offer_orders;
    CHECK_EQ(1000, o[0].price_minor);
    CHECK_EQ(3, o[0].qty);
    CHECK_STR("CC-P2", o[0].cc);
    CHECK_STR("Provider Two", o[0].name);
    CHECK_STR("B", o[0].site);
    CHECK_EQ(0, o[0].order); /* another's order: no id */
    CHECK_EQ(1000, o[1].price_minor);
    CHECK_STR("CC-P1", o[1].cc);
    CHECK_EQ(3, o[1].order); /* the asker's own */
    CHECK_EQ(1100, o[2].price_minor);
    CHECK_EQ(2, o[2].qty);
    CHECK_EQ(1, o[2].order);
  }
  CHECK_EQ(2, last_.offers_n); /* the levels stay */
  CHECK_EQ(1, last_.bids_n);
  CHECK(!contains(reply_, reply_len_, "CC-R1")); /* bids stay anonymous */
  run(c, "CC-R2", T0 + 4, "{\"v\":1,\"type\":\"book.get\",\"id\":\"k\",\"service\":\"it.hour\","
                          "\"depth\":2}");
  CHECK_EQ(2, last_.offer_orders_n);
  for (uint32_t i = 0; i < last_.offer_orders_n; i++) CHECK_EQ(0, last_.offer_orders[i].order);
  CHECK(!contains(reply_, reply_len_, "\"order\""));
  close_core(c);
}

/* Three trades of one unit at 1000: CC-R1, CC-R2, CC-R1 buy from CC-P1. */
static void three_trades(imx_core *c) {
  offer_it(c, "o1", 3, 1000, T0);
  const char *buyers[3] = {"CC-R1", "CC-R2", "CC-R1"};
  for (int i = 0; i < 3; i++) {
    runf(c, buyers[i], T0 + 1 + i,
         "{\"v\":1,\"type\":\"order.new\",\"id\":\"b%d\",\"service\":\"it.hour\","
         "\"side\":\"bid\",\"qty\":1,\"price\":1000}", i);
    CHECK_EQ(1, last_.status);
  }
}

static void test_trades_list_shows_a_receiver_only_its_own_trades_newest_first(void) {
  imx_core *c = open_core();
  three_trades(c);
  core_result res = run(c, "CC-R1", T0 + 10, "{\"v\":1,\"type\":\"trades.list\",\"id\":\"t1\"}");
  CHECK_OK(IMX_MSG_TRADES_LIST);
  CHECK_EQ(2, last_.trades_n);
  if (last_.trades_n == 2) {
    CHECK_EQ(3, last_.trades[0].trade);
    CHECK_EQ(T0 + 3, last_.trades[0].time_ms);
    CHECK_EQ(1, last_.trades[1].trade);
  }
  CHECK(res.journal == NULL);
  close_core(c);
}

static void test_trades_list_shows_finance_every_trade_newest_first(void) {
  imx_core *c = open_core();
  three_trades(c);
  run(c, "CC-FIN", T0 + 10, "{\"v\":1,\"type\":\"trades.list\",\"id\":\"t1\"}");
  CHECK_EQ(3, last_.trades_n);
  if (last_.trades_n == 3) {
    CHECK_EQ(3, last_.trades[0].trade);
    CHECK_EQ(2, last_.trades[1].trade);
    CHECK_STR("CC-R2", last_.trades[1].buyer);
    CHECK_EQ(1, last_.trades[2].trade);
  }
  close_core(c);
}

static void test_trades_list_of_another_cost_centre_is_forbidden_not_empty(void) {
  imx_core *c = open_core();
  three_trades(c);
  /* CC-R2 asks for CC-R1's trades: refused, not an empty list that would
  ** read as "CC-R1 has none"; with or without after and a service. */
  core_result res = run(c, "CC-R2", T0 + 10,
                        "{\"v\":1,\"type\":\"trades.list\",\"id\":\"t1\",\"cc\":\"CC-R1\"}");
  CHECK_ERROR("forbidden", "cc", "not_own_trades");
  CHECK_STR("only finance and admin see the trades of other cost centres", last_.message);
  CHECK(res.journal == NULL);
  run(c, "CC-R2", T0 + 10,
      "{\"v\":1,\"type\":\"trades.list\",\"id\":\"t2\",\"cc\":\"CC-R1\",\"after\":0,"
      "\"service\":\"it.hour\"}");
  CHECK_ERROR("forbidden", "cc", "not_own_trades");
  /* A provider for its buyer: the same, though they traded together. */
  run(c, "CC-P1", T0 + 10,
      "{\"v\":1,\"type\":\"trades.list\",\"id\":\"t3\",\"cc\":\"CC-R1\"}");
  CHECK_ERROR("forbidden", "cc", "not_own_trades");
  /* An unknown cost centre is unknown_cc, for anyone. */
  run(c, "CC-R2", T0 + 10,
      "{\"v\":1,\"type\":\"trades.list\",\"id\":\"t4\",\"cc\":\"CC-NOBODY\"}");
  CHECK_ERROR("unknown_cc", "cc", "unknown_cc");
  /* Its own id is fine, and so are finance and admin for anyone. */
  run(c, "CC-R2", T0 + 10,
      "{\"v\":1,\"type\":\"trades.list\",\"id\":\"t5\",\"cc\":\"CC-R2\"}");
  CHECK_OK(IMX_MSG_TRADES_LIST);
  CHECK_EQ(1, last_.trades_n);
  run(c, "CC-FIN", T0 + 10,
      "{\"v\":1,\"type\":\"trades.list\",\"id\":\"t6\",\"cc\":\"CC-R1\"}");
  CHECK_OK(IMX_MSG_TRADES_LIST);
  CHECK_EQ(2, last_.trades_n);
  run(c, "CC-ADM", T0 + 10,
      "{\"v\":1,\"type\":\"trades.list\",\"id\":\"t7\",\"cc\":\"CC-R1\"}");
  CHECK_OK(IMX_MSG_TRADES_LIST);
  CHECK_EQ(2, last_.trades_n);
  close_core(c);
}

static void test_trades_list_after_pages_forward_oldest_first(void) {
  imx_core *c = open_core();
  three_trades(c);
  run(c, "CC-FIN", T0 + 10,
      "{\"v\":1,\"type\":\"trades.list\",\"id\":\"t1\",\"after\":0,\"limit\":2}");
  CHECK_EQ(2, last_.trades_n);
  if (last_.trades_n == 2) {
    CHECK_EQ(1, last_.trades[0].trade);
    CHECK_EQ(2, last_.trades[1].trade);
  }
  run(c, "CC-FIN", T0 + 10,
      "{\"v\":1,\"type\":\"trades.list\",\"id\":\"t2\",\"after\":2,\"limit\":2}");
  CHECK_EQ(1, last_.trades_n);
  if (last_.trades_n == 1) CHECK_EQ(3, last_.trades[0].trade);
  run(c, "CC-FIN", T0 + 10,
      "{\"v\":1,\"type\":\"trades.list\",\"id\":\"t3\",\"after\":3,\"limit\":2}");
  CHECK_OK(IMX_MSG_TRADES_LIST);
  CHECK_EQ(0, last_.trades_n);
  close_core(c);
}

static void test_balance_get_shows_budget_reservation_spending_and_capacities(void) {
  imx_core *c = open_core();
  offer_it(c, "o1", 1, 1000, T0);
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":3,\"price\":1000}");
  core_result res = run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g1\"}");
  CHECK_OK(IMX_MSG_BALANCE_GET);
  CHECK_STR("CC-R1", last_.cc);
  CHECK_EQ(100000, last_.budget);
  CHECK_EQ(2000, last_.reserved);
  CHECK_EQ(1000, last_.spent);
  CHECK_EQ(0, last_.earned);
  CHECK_EQ(97000, last_.available);
  CHECK_EQ(0, last_.capacities_n);
  CHECK(res.journal == NULL);
  run(c, "CC-P1", T0, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g2\"}");
  CHECK_EQ(1000, last_.earned);
  CHECK_EQ(3, last_.capacities_n);
  if (last_.capacities_n == 3) {
    CHECK_STR("it.hour", last_.capacities[0].service);
    CHECK_EQ(1000, last_.capacities[0].capacity);
    CHECK_EQ(0, last_.capacities[0].reserved);
    CHECK_EQ(1, last_.capacities[0].sold);
    CHECK_EQ(999, last_.capacities[0].available);
    CHECK_STR("truck.day", last_.capacities[1].service);
    CHECK_EQ(10, last_.capacities[1].available);
    CHECK_STR("room.day", last_.capacities[2].service);
  }
  close_core(c);
}

/* A tender of 5 it.hour by CC-R1 (ceiling 2000, deadline T0 + 60 s), quoted
** 1500 by CC-P1 and 1400 by CC-P2. */
static void tender_with_two_quotes(imx_core *c) {
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n1\",\"service\":\"it.hour\","
      "\"qty\":5,\"ceiling\":2000,\"deadline_ms\":60000}");
  CHECK_OK(IMX_MSG_TENDER_NEW);
  run(c, "CC-P1", T0 + 1, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q1\",\"tender\":1,\"price\":1500}");
  CHECK_OK(IMX_MSG_TENDER_QUOTE);
  run(c, "CC-P2", T0 + 2, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q2\",\"tender\":1,\"price\":1400}");
  CHECK_OK(IMX_MSG_TENDER_QUOTE);
}

static void test_tender_new_replies_the_tender_and_reserves_qty_times_ceiling(void) {
  imx_core *c = open_core();
  core_result res = run(c, "CC-R1", T0,
                        "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n1\",\"service\":\"it.hour\","
                        "\"qty\":5,\"ceiling\":2000,\"deadline_ms\":60000}");
  CHECK_OK(IMX_MSG_TENDER_NEW);
  CHECK_EQ(1, last_.tender);
  CHECK_STR("CC-R1", res.journal_cc);
  CHECK(journal_is(&res, "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n1\",\"service\":"
                         "\"it.hour\",\"qty\":5,\"ceiling\":2000,\"deadline_ms\":60000}"));
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g1\"}");
  CHECK_EQ(10000, last_.reserved);
  close_core(c);
}

static void test_tender_quote_replies_the_tender_and_the_quote(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n1\",\"service\":\"it.hour\","
      "\"qty\":5,\"ceiling\":2000,\"deadline_ms\":60000}");
  core_result res = run(c, "CC-P1", T0 + 1,
                        "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q1\",\"tender\":1,\"price\":1500}");
  CHECK_OK(IMX_MSG_TENDER_QUOTE);
  CHECK_EQ(1, last_.tender);
  CHECK_EQ(1, last_.quote);
  CHECK_STR("CC-P1", res.journal_cc);
  CHECK(journal_is(&res, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q1\",\"price\":1500,\"tender\":1}"));
  run(c, "CC-P2", T0 + 2, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q2\",\"tender\":1,\"price\":1400}");
  CHECK_EQ(2, last_.quote);
  close_core(c);
}

static void test_tick_at_the_deadline_awards_the_tender_to_the_lowest_quote(void) {
  imx_core *c = open_core();
  tender_with_two_quotes(c);
  core_batch_begin(c);
  core_result early = core_tick(c, T0 + 59999);
  CHECK_EQ(0, early.trades_n);
  CHECK(early.journal == NULL);
  core_batch_begin(c);
  core_result res = core_tick(c, T0 + 60000);
  CHECK_EQ(0, res.reply_len);
  CHECK_EQ(1, res.trades_n);
  if (res.trades_n == 1) {
    const imx_reply_trade *t = &res.trades[0].trade;
    CHECK_EQ(1, res.trades[0].period);
    CHECK_EQ(1, t->trade);
    CHECK_STR("CC-R1", t->buyer);
    CHECK_STR("CC-P2", t->seller);
    CHECK_EQ(5, t->qty);
    CHECK_EQ(1400, t->price_minor);
    CHECK_EQ(T0 + 60000, t->time_ms);
  }
  CHECK_STR("", res.journal_cc);
  CHECK(journal_is(&res, "{\"tick\":1718000060000}"));
  close_core(c);
}

/* Regression: docs/protocol.md says a tender's trade row names "the tender
** and the winning quote" in buy_order and sell_order; the engine's TRADE
** event of an award carries them in tender_id and quote_id, and the core
** once copied only the (zero) order ids. */
static void test_tender_trade_names_the_tender_and_the_winning_quote(void) {
  imx_core *c = open_core();
  tender_with_two_quotes(c);
  core_batch_begin(c);
  core_result res = core_tick(c, T0 + 60000);
  CHECK_EQ(1, res.trades_n);
  if (res.trades_n == 1) {
    CHECK_EQ(1, res.trades[0].trade.buy_order);  /* tender 1 */
    CHECK_EQ(2, res.trades[0].trade.sell_order); /* quote 2, CC-P2's */
  }
  close_core(c);
}

static void test_tick_with_nothing_to_do_has_no_journal(void) {
  imx_core *c = open_core();
  core_batch_begin(c);
  core_result res = core_tick(c, T0);
  CHECK_EQ(0, res.reply_len);
  CHECK_EQ(0, res.trades_n);
  CHECK(res.journal == NULL);
  close_core(c);
}

static void test_read_only_requests_have_no_journal(void) {
  imx_core *c = open_core();
  three_trades(c);
  const char *reads[] = {
      "{\"v\":1,\"type\":\"order.list\",\"id\":\"r1\"}",
      "{\"v\":1,\"type\":\"book.get\",\"id\":\"r2\",\"service\":\"it.hour\"}",
      "{\"v\":1,\"type\":\"trades.list\",\"id\":\"r3\"}",
      "{\"v\":1,\"type\":\"trades.list\",\"id\":\"r4\",\"after\":1}",
      "{\"v\":1,\"type\":\"balance.get\",\"id\":\"r5\"}",
      "{\"v\":1,\"type\":\"services.list\",\"id\":\"r6\"}",
      "{\"v\":1,\"type\":\"cc.list\",\"id\":\"r7\"}",
      "{\"v\":1,\"type\":\"cc.get\",\"id\":\"r8\",\"cc\":\"CC-P1\"}",
  };
  for (size_t i = 0; i < sizeof reads / sizeof reads[0]; i++) {
    core_result res = run(c, "CC-R1", T0 + 100, reads[i]);
    CHECK_EQ(0, last_.error);
    CHECK(res.journal == NULL);
    CHECK_EQ(0, res.trades_n);
  }
  close_core(c);
}

static void test_read_only_request_whose_clock_awards_a_tender_journals_the_tick(void) {
  imx_core *c = open_core();
  tender_with_two_quotes(c);
  core_result res = run(c, "CC-R2", T0 + 60000,
                        "{\"v\":1,\"type\":\"book.get\",\"id\":\"k1\",\"service\":\"it.hour\"}");
  CHECK_OK(IMX_MSG_BOOK_GET);
  CHECK_EQ(1, res.trades_n);
  CHECK_STR("", res.journal_cc);
  CHECK(journal_is(&res, "{\"tick\":1718000060000}"));
  close_core(c);
}

static void test_auction_run_clears_at_one_price(void) {
  imx_core *c = open_core();
  core_result rest = run(c, "CC-P1", T0,
                         "{\"v\":1,\"type\":\"order.new\",\"id\":\"o1\",\"service\":"
                         "\"truck.day\",\"side\":\"offer\",\"qty\":5,\"price\":1000}");
  CHECK_EQ(0, last_.status); /* an auction order waits for the call */
  CHECK_EQ(0, rest.trades_n);
  run(c, "CC-R2", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"truck.day\","
      "\"side\":\"bid\",\"qty\":3,\"price\":1200}");
  CHECK_EQ(0, last_.status);
  core_result res = run(c, "CC-ADM", T0 + 1,
                        "{\"v\":1,\"type\":\"auction.run\",\"id\":\"a1\",\"service\":\"truck.day\"}");
  CHECK_OK(IMX_MSG_AUCTION_RUN);
  CHECK_STR("truck.day", last_.service);
  /* 1000 and 1200 both clear 3 with 2 offered over: the lowest */
  CHECK_EQ(1000, last_.price_minor);
  CHECK_EQ(3, last_.volume);
  CHECK_EQ(2, last_.surplus);
  CHECK_EQ(IMX_PSIDE_OFFER, last_.surplus_side);
  CHECK_EQ(1, res.trades_n);
  if (res.trades_n == 1) {
    CHECK_EQ(3, res.trades[0].trade.qty);
    CHECK_EQ(1000, res.trades[0].trade.price_minor);
    CHECK_STR("CC-R2", res.trades[0].trade.buyer);
  }
  CHECK_STR("CC-ADM", res.journal_cc);
  CHECK(journal_is(&res, "{\"v\":1,\"type\":\"auction.run\",\"id\":\"a1\",\"service\":\"truck.day\"}"));
  close_core(c);
}

static void test_period_close_reports_the_closed_period_and_the_next_trade_is_in_period_2(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1000,\"tif\":\"period\"}");
  core_result res = run(c, "CC-FIN", T0 + 1, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p1\"}");
  CHECK_OK(IMX_MSG_PERIOD_CLOSE);
  CHECK_EQ(1, last_.expired);
  CHECK_EQ(1, res.period_closed);
  CHECK_STR("CC-FIN", res.journal_cc);
  CHECK(journal_is(&res, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p1\"}"));
  offer_it(c, "o1", 1, 1000, T0 + 2);
  res = run(c, "CC-R2", T0 + 3,
            "{\"v\":1,\"type\":\"order.new\",\"id\":\"b2\",\"service\":\"it.hour\","
            "\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  CHECK_EQ(1, res.trades_n);
  if (res.trades_n == 1) CHECK_EQ(2, res.trades[0].period);
  close_core(c);
}

/* period.summary's engine step (core_execute_summary): the rows reads.c
** read from the ledger get balance.get's reserved and available; nothing is
** journaled; a period closed since the read is period_moved; without the
** ledger's part, or for a manager, refused. */
static core_result summary_of(imx_core *c, const char *cc, core_summary *s) {
  forget_reply();
  imx_request rq;
  imx_proto_error err = {0};
  const char *json = "{\"v\":1,\"type\":\"period.summary\",\"id\":\"ps\"}";
  CHECK_EQ(0, imx_request_decode(json, strlen(json), &rq, &err));
  core_batch_begin(c);
  core_result res = s ? core_execute_summary(c, &rq, cc_index(cc), s, T0 + 9, reply_, sizeof reply_)
                      : core_execute(c, &rq, cc_index(cc), T0 + 9, reply_, sizeof reply_);
  reply_len_ = res.reply_len;
  if (imx_reply_decode(reply_, reply_len_, &last_, &err) == 0) last_decoded_ = 1;
  else check_failures_++;
  return res;
}

static void test_period_summary_adds_the_engines_reserved_and_available(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":3,\"price\":1000}");
  run(c, "CC-FIN", T0 + 1, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g\",\"cc\":\"CC-R1\"}");
  CHECK_OK(IMX_MSG_BALANCE_GET);
  int64_t reserved = last_.reserved, available = last_.available;
  CHECK_EQ(3000, reserved);
  imx_reply_cc_sum rows[2] = {{.cc = "CC-R1", .budget = 1, .spent = 7, .earned = 0},
                              {.cc = "CC-P1", .budget = 0, .spent = 0, .earned = 7}};
  uint32_t idx[2] = {cc_index("CC-R1"), cc_index("CC-P1")};
  core_summary s;
  memset(&s, 0, sizeof s);
  s.rep.type = IMX_MSG_PERIOD_SUMMARY;
  strcpy(s.rep.id, "ps");
  strcpy(s.rep.period, "1");
  s.rep.is_open = 1;
  s.rep.cc_sums = rows;
  s.rep.cc_sums_n = 2;
  s.period = 1;
  s.cc_index = idx;
  core_result res = summary_of(c, "CC-FIN", &s);
  CHECK_OK(IMX_MSG_PERIOD_SUMMARY);
  CHECK_EQ(0, res.changed);
  CHECK(res.journal == NULL);
  CHECK_EQ(2, last_.cc_sums_n);
  if (last_.cc_sums_n == 2) {
    CHECK_STR("CC-R1", last_.cc_sums[0].cc);
    CHECK_EQ(reserved, last_.cc_sums[0].reserved);
    CHECK_EQ(available, last_.cc_sums[0].available);
    CHECK_EQ(7, last_.cc_sums[0].spent); /* the ledger's, as read */
    CHECK_EQ(0, last_.cc_sums[1].reserved);
    CHECK_EQ(0, last_.cc_sums[1].available);
  }
  summary_of(c, "CC-ADM", &s); /* admin sees no budgets */
  CHECK_ERROR("forbidden", "type", "not_finance");
  summary_of(c, "CC-R1", &s);
  CHECK_ERROR("forbidden", "type", "not_finance");
  summary_of(c, "CC-FIN", NULL); /* never without the ledger's part */
  CHECK_ERROR("internal", "type", "");
  run(c, "CC-FIN", T0 + 2, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p1\"}");
  CHECK_OK(IMX_MSG_PERIOD_CLOSE);
  summary_of(c, "CC-FIN", &s); /* read as period 1, which closed since */
  CHECK_ERROR("unavailable", "period", "period_moved");
  close_core(c);
}

static void test_period_close_calls_the_auctions_first(void) {
  imx_core *c = open_core();
  run(c, "CC-P1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"o1\",\"service\":\"truck.day\","
      "\"side\":\"offer\",\"qty\":2,\"price\":1000}");
  run(c, "CC-R2", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"truck.day\","
      "\"side\":\"bid\",\"qty\":2,\"price\":1000}");
  core_result res = run(c, "CC-ADM", T0 + 1, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p1\"}");
  CHECK_OK(IMX_MSG_PERIOD_CLOSE);
  CHECK_EQ(1, res.period_closed);
  CHECK_EQ(1, res.trades_n);
  if (res.trades_n == 1) {
    CHECK_EQ(1, res.trades[0].period);
    CHECK_EQ(2, res.trades[0].trade.qty);
  }
  close_core(c);
}

/* period.close's reply names the period closed and the one opened (this
** market has no first_period: the labels are the numbers), sums up each
** service's trades, units and amount, the call's at the close included,
** never units of two services together, and lists no cost centre over
** budget (risk keeps every one within its own). The next period starts
** from nothing. */
static void test_period_close_sums_up_each_service_and_names_the_periods(void) {
  imx_core *c = open_core();
  offer_it(c, "o1", 5, 1000, T0);
  run(c, "CC-R1", T0 + 1,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":2,\"price\":1000}");
  run(c, "CC-R2", T0 + 2,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b2\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":3,\"price\":1000}");
  run(c, "CC-P1", T0 + 3,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"o2\",\"service\":\"truck.day\","
      "\"side\":\"offer\",\"qty\":2,\"price\":1500}");
  run(c, "CC-R2", T0 + 4,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b3\",\"service\":\"truck.day\","
      "\"side\":\"bid\",\"qty\":2,\"price\":1500}");
  run(c, "CC-FIN", T0 + 5, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p1\"}");
  CHECK_OK(IMX_MSG_PERIOD_CLOSE);
  CHECK_STR("1", last_.period);
  CHECK_STR("2", last_.opened);
  CHECK_EQ(2, last_.sums_n);
  if (last_.sums_n == 2) {
    CHECK_STR("it.hour", last_.sums[0].service);
    CHECK_EQ(2, last_.sums[0].trades);
    CHECK_EQ(5, last_.sums[0].bought);
    CHECK_EQ(5000, last_.sums[0].spent);
    CHECK_STR("truck.day", last_.sums[1].service);
    CHECK_EQ(1, last_.sums[1].trades);
    CHECK_EQ(2, last_.sums[1].bought);
    CHECK_EQ(3000, last_.sums[1].spent);
  }
  CHECK_EQ(0, last_.over_budget_n);
  CHECK(strstr(reply_, "\"services\":[{\"service\":\"it.hour\",\"trades\":2,\"units\":5,"
                       "\"amount\":5000},{\"service\":\"truck.day\",\"trades\":1,"
                       "\"units\":2,\"amount\":3000}],\"over_budget\":[]") != NULL);
  run(c, "CC-ADM", T0 + 6, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p2\"}");
  CHECK_OK(IMX_MSG_PERIOD_CLOSE);
  CHECK_STR("2", last_.period);
  CHECK_STR("3", last_.opened);
  CHECK_EQ(0, last_.sums_n);
  close_core(c);
}

/* The open period's sums are in the core's snapshot: a core read from it
** closes the period with the same reply. */
static void test_a_snapshot_carries_the_open_periods_sums(void) {
  imx_core *a = open_core();
  offer_it(a, "o1", 5, 1000, T0);
  run(a, "CC-R1", T0 + 1,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":4,\"price\":1000}");
  size_t n = core_snapshot_write(a, NULL, 0);
  char *snap = malloc(n);
  if (snap == NULL) abort();
  CHECK_EQ(n, core_snapshot_write(a, snap, n));
  imx_core *b = open_core();
  const char *why = NULL;
  CHECK_EQ(0, core_snapshot_read(b, snap, n, &why));
  run(a, "CC-FIN", T0 + 2, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p1\"}");
  saved_reply first;
  save_reply(&first);
  run(b, "CC-FIN", T0 + 2, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p1\"}");
  CHECK(same_reply(&first));
  CHECK(strstr(reply_, "\"services\":[{\"service\":\"it.hour\",\"trades\":1,\"units\":4,"
                       "\"amount\":4000}]") != NULL);
  free(snap);
  close_core(a);
  close_core(b);
}

/* ----------------------------------------------------------------- errors */

static void test_order_for_an_unknown_service_is_unknown_service(void) {
  imx_core *c = open_core();
  core_result res = run(c, "CC-R1", T0,
                        "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":"
                        "\"nope\",\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  CHECK_ERROR("unknown_service", "service", "unknown_service");
  CHECK_STR("b1", last_.id);
  CHECK_EQ(0, res.trades_n);
  close_core(c);
}

static void test_book_get_of_an_unknown_service_is_unknown_service(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"book.get\",\"id\":\"k1\",\"service\":\"nope\"}");
  CHECK_ERROR("unknown_service", "service", "unknown_service");
  close_core(c);
}

static void test_order_for_an_unknown_cost_centre_is_unknown_cc(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"cc\":\"CC-NOPE\",\"service\":"
      "\"it.hour\",\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  CHECK_ERROR("unknown_cc", "cc", "unknown_cc");
  close_core(c);
}

static void test_bid_without_the_receiver_role_is_forbidden(void) {
  imx_core *c = open_core();
  run(c, "CC-P1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  CHECK_ERROR("forbidden", "side", "");
  CHECK_STR("only receivers bid", last_.message);
  close_core(c);
}

static void test_offer_without_the_provider_role_is_forbidden(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"o1\",\"service\":\"it.hour\","
      "\"side\":\"offer\",\"qty\":1,\"price\":1000}");
  CHECK_ERROR("forbidden", "side", "");
  CHECK_STR("only providers offer", last_.message);
  close_core(c);
}

static void test_order_for_another_cost_centre_is_forbidden(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"cc\":\"CC-R2\",\"service\":"
      "\"it.hour\",\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  CHECK_ERROR("forbidden", "cc", "");
  close_core(c);
}

static void test_receiver_reading_another_cost_centres_balance_is_forbidden(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g1\",\"cc\":\"CC-R2\"}");
  CHECK_ERROR("forbidden", "cc", "");
  close_core(c);
}

/* Issue 11, 15: "forbidden" for an open order and not_found for a closed
** one told another cost centre which order ids are open. */
static void test_cancel_of_another_cost_centres_order_is_not_found_open_or_closed(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b2\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":900}");
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"x0\",\"order\":2}");
  CHECK_OK(IMX_MSG_ORDER_CANCEL);
  saved_reply open_one, closed_one, unknown_one;
  run(c, "CC-R2", T0, "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"x\",\"order\":1}");
  CHECK_ERROR("not_found", "order", "unknown_order");
  save_reply(&open_one);
  run(c, "CC-R2", T0, "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"y\",\"order\":2}");
  save_reply(&closed_one);
  run(c, "CC-R2", T0, "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"z\",\"order\":99}");
  save_reply(&unknown_one);
  /* byte for byte the same but for the id ("x", "y", "z": one byte each) */
  CHECK_EQ(open_one.len, closed_one.len);
  CHECK_EQ(open_one.len, unknown_one.len);
  const char *id_at = strstr(open_one.bytes, "\"id\":\"x\"");
  CHECK(id_at != NULL);
  if (id_at && open_one.len == closed_one.len && open_one.len == unknown_one.len) {
    size_t k = (size_t)(id_at - open_one.bytes) + 6;
    CHECK_EQ(0, memcmp(open_one.bytes, closed_one.bytes, k));
    CHECK_EQ(0, memcmp(open_one.bytes + k + 1, closed_one.bytes + k + 1, open_one.len - k - 1));
    CHECK_EQ(0, memcmp(open_one.bytes + k + 1, unknown_one.bytes + k + 1, open_one.len - k - 1));
  }
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"order.list\",\"id\":\"l1\"}");
  CHECK_EQ(1, last_.orders_n); /* still open */
  close_core(c);
}

/* Issue 11, 14: admin runs the market and may look at the orders in it,
** but budgets and spending are finance's. */
static void test_admin_reads_another_cost_centres_orders_but_not_its_balance(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":2,\"price\":1000}");
  run(c, "CC-ADM", T0, "{\"v\":1,\"type\":\"order.list\",\"id\":\"l1\",\"cc\":\"CC-R1\"}");
  CHECK_OK(IMX_MSG_ORDER_LIST);
  CHECK_EQ(1, last_.orders_n);
  CHECK_EQ(2, last_.orders_n == 1 ? last_.orders[0].qty : 0);
  run(c, "CC-ADM", T0, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g1\",\"cc\":\"CC-R1\"}");
  CHECK_ERROR("forbidden", "cc", "");
  run(c, "CC-ADM", T0, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g2\"}");
  CHECK_OK(IMX_MSG_BALANCE_GET); /* its own */
  CHECK_STR("CC-ADM", last_.cc);
  close_core(c);
}

static void test_auction_run_by_a_non_admin_is_forbidden(void) {
  imx_core *c = open_core();
  run(c, "CC-FIN", T0, "{\"v\":1,\"type\":\"auction.run\",\"id\":\"a1\",\"service\":\"truck.day\"}");
  CHECK_ERROR("forbidden", "type", "");
  close_core(c);
}

static void test_period_close_by_neither_admin_nor_finance_is_forbidden(void) {
  imx_core *c = open_core();
  core_result res = run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p1\"}");
  CHECK_ERROR("forbidden", "type", "");
  CHECK_EQ(0, res.period_closed);
  close_core(c);
}

static void test_cancel_of_an_unknown_order_is_not_found(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"x1\",\"order\":42}");
  CHECK_ERROR("not_found", "order", "unknown_order");
  close_core(c);
}

static void test_quote_on_an_unknown_tender_is_not_found(void) {
  imx_core *c = open_core();
  run(c, "CC-P1", T0, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q1\",\"tender\":42,\"price\":1000}");
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  close_core(c);
}

static void test_order_price_off_the_tick_is_bad_tick_on_price(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1050}");
  CHECK_ERROR("bad_field", "price", "bad_tick");
  close_core(c);
}

static void test_tender_ceiling_off_the_tick_is_bad_tick_on_ceiling(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n1\",\"service\":\"it.hour\","
      "\"qty\":1,\"ceiling\":1050,\"deadline_ms\":60000}");
  CHECK_ERROR("bad_field", "ceiling", "bad_tick");
  close_core(c);
}

static void test_auction_reference_off_the_tick_is_bad_tick_on_reference(void) {
  imx_core *c = open_core();
  run(c, "CC-ADM", T0,
      "{\"v\":1,\"type\":\"auction.run\",\"id\":\"a1\",\"service\":\"truck.day\",\"reference\":1050}");
  CHECK_ERROR("bad_field", "reference", "bad_tick");
  close_core(c);
}

static void test_quantity_off_the_lot_is_bad_lot(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"room.day\","
      "\"side\":\"bid\",\"qty\":3,\"price\":1000,\"aon\":true}");
  CHECK_ERROR("bad_field", "qty", "bad_lot");
  close_core(c);
}

static void test_divisible_order_in_an_indivisible_service_is_aon_required(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"room.day\","
      "\"side\":\"bid\",\"qty\":2,\"price\":1000}");
  CHECK_ERROR("bad_field", "aon", "aon_required");
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b2\",\"service\":\"room.day\","
      "\"side\":\"bid\",\"qty\":2,\"price\":1000,\"aon\":true}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
  close_core(c);
}

static void test_price_above_the_cap_is_bad_price(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":100100}");
  CHECK_ERROR("bad_field", "price", "bad_price");
  close_core(c);
}

static void test_market_order_in_a_continuous_service_is_bad_price(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1}");
  CHECK_ERROR("bad_field", "price", "bad_price");
  close_core(c);
}

static void test_auction_run_on_a_continuous_service_is_wrong_mode(void) {
  imx_core *c = open_core();
  run(c, "CC-ADM", T0, "{\"v\":1,\"type\":\"auction.run\",\"id\":\"a1\",\"service\":\"it.hour\"}");
  CHECK_ERROR("bad_field", "service", "wrong_mode");
  close_core(c);
}

static void test_quote_above_the_ceiling_is_above_ceiling(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n1\",\"service\":\"it.hour\","
      "\"qty\":5,\"ceiling\":2000,\"deadline_ms\":60000}");
  run(c, "CC-P1", T0, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q1\",\"tender\":1,\"price\":2100}");
  CHECK_ERROR("bad_field", "price", "above_ceiling");
  close_core(c);
}

static void test_bid_beyond_the_budget_is_insufficient_budget_and_names_what_is_left(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":10,\"price\":4000}");
  CHECK_OK(IMX_MSG_ORDER_NEW); /* holds 40,000 of 100,000 */
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b2\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":61,\"price\":1000}");
  CHECK_ERROR("insufficient_budget", "price", "insufficient_budget");
  CHECK_STR("budget left: 600.00 EUR", last_.message);
  close_core(c);
}

static void test_tender_beyond_the_budget_is_insufficient_budget_on_ceiling(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n1\",\"service\":\"it.hour\","
      "\"qty\":101,\"ceiling\":1000,\"deadline_ms\":60000}");
  CHECK_ERROR("insufficient_budget", "ceiling", "insufficient_budget");
  CHECK_STR("budget left: 1000.00 EUR", last_.message);
  close_core(c);
}

static void test_offer_beyond_the_capacity_is_over_capacity_and_names_what_is_left(void) {
  imx_core *c = open_core();
  run(c, "CC-P2", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"o1\",\"service\":\"it.hour\","
      "\"side\":\"offer\",\"qty\":51,\"price\":1000}");
  CHECK_ERROR("over_capacity", "qty", "over_capacity");
  CHECK_STR("capacity left: 50", last_.message);
  close_core(c);
}

static void test_offer_of_a_service_the_provider_does_not_provide_is_not_provider(void) {
  imx_core *c = open_core();
  run(c, "CC-P2", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"o1\",\"service\":\"truck.day\","
      "\"side\":\"offer\",\"qty\":1,\"price\":1000}");
  CHECK_ERROR("forbidden", "service", "not_provider");
  CHECK_STR("CC-P2 does not provide truck.day (no capacity in the market file)",
            last_.message);
  close_core(c);
}

static void test_quote_on_a_service_the_provider_does_not_provide_is_not_provider(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"t1\",\"service\":\"truck.day\","
      "\"qty\":1,\"ceiling\":1000,\"deadline_ms\":60000}");
  CHECK_OK(IMX_MSG_TENDER_NEW);
  run(c, "CC-P2", T0,
      "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q1\",\"tender\":1,\"price\":900}");
  CHECK_ERROR("forbidden", "service", "not_provider");
  CHECK_STR("CC-P2 does not provide truck.day (no capacity in the market file)",
            last_.message);
  close_core(c);
}

static void test_auction_order_against_own_order_on_the_other_side_is_self_trade(void) {
  imx_core *c = open_core();
  run(c, "CC-PR", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"truck.day\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
  run(c, "CC-PR", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"o1\",\"service\":\"truck.day\","
      "\"side\":\"offer\",\"qty\":1,\"price\":1000}");
  CHECK_ERROR("forbidden", "cc", "self_trade");
  close_core(c);
}

static void test_quote_on_own_tender_is_self_trade(void) {
  imx_core *c = open_core();
  run(c, "CC-PR", T0,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n1\",\"service\":\"it.hour\","
      "\"qty\":1,\"ceiling\":1000,\"deadline_ms\":60000}");
  CHECK_OK(IMX_MSG_TENDER_NEW);
  run(c, "CC-PR", T0, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q1\",\"tender\":1,\"price\":1000}");
  CHECK_ERROR("forbidden", "cc", "self_trade");
  close_core(c);
}

static void test_second_quote_by_one_provider_is_already_quoted(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n1\",\"service\":\"it.hour\","
      "\"qty\":5,\"ceiling\":2000,\"deadline_ms\":60000}");
  run(c, "CC-P1", T0, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q1\",\"tender\":1,\"price\":1500}");
  CHECK_OK(IMX_MSG_TENDER_QUOTE);
  run(c, "CC-P1", T0, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q2\",\"tender\":1,\"price\":1400}");
  CHECK_ERROR("forbidden", "tender", "already_quoted");
  close_core(c);
}

static void test_order_beyond_the_cost_centres_limit_is_too_many_orders(void) {
  imx_core *c = open_limited(1024, 2);
  offer_it(c, "o1", 1, 2000, T0);
  offer_it(c, "o2", 1, 2000, T0);
  run(c, "CC-P1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"o3\",\"service\":\"it.hour\","
      "\"side\":\"offer\",\"qty\":1,\"price\":2000}");
  CHECK_ERROR("too_many_orders", "cc", "too_many_orders");
  run(c, "CC-R1", T0, /* another cost centre still may */
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
  close_core(c);
}

static void test_order_beyond_the_markets_limit_is_market_full(void) {
  imx_core *c = open_limited(2, 0);
  offer_it(c, "o1", 1, 2000, T0);
  offer_it(c, "o2", 1, 2000, T0);
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  CHECK_ERROR("market_full", "", "orders_full");
  close_core(c);
}

static void test_tender_beyond_the_cost_centres_limit_is_too_many_tenders(void) {
  imx_core *c = open_core(); /* the market file's default: 16 open tenders */
  CHECK_EQ(16, market()->tenders_per_cc_max);
  for (int i = 0; i < 16; i++) {
    runf(c, "CC-R2", T0,
         "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n%d\",\"service\":\"it.hour\","
         "\"qty\":1,\"ceiling\":100,\"deadline_ms\":60000}", i);
    CHECK_EQ(0, last_.error);
  }
  run(c, "CC-R2", T0,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n-last\",\"service\":\"it.hour\","
      "\"qty\":1,\"ceiling\":100,\"deadline_ms\":60000}");
  CHECK_ERROR("too_many_tenders", "cc", "too_many_tenders");
  /* one receiver at its limit leaves the others their slots */
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"r1\",\"service\":\"it.hour\","
      "\"qty\":1,\"ceiling\":100,\"deadline_ms\":60000}");
  CHECK_OK(IMX_MSG_TENDER_NEW);
  close_core(c);
}

/* With no limit per cost centre (tenders_per_cc_max 0), the market's
** slots (at least 1,024) are what runs out. */
static void test_tender_beyond_the_markets_limit_is_market_full(void) {
  static imx_market unlimited;
  unlimited = *market();
  unlimited.tenders_per_cc_max = 0;
  core_config cfg = {.market = &unlimited, .orders_max = 1024};
  imx_core *c = NULL;
  const char *why = NULL;
  CHECK_EQ(0, core_open(&cfg, &c, &why));
  for (int i = 0; i < 1024; i++) {
    runf(c, "CC-R2", T0,
         "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n%d\",\"service\":\"it.hour\","
         "\"qty\":1,\"ceiling\":100,\"deadline_ms\":60000}", i);
    CHECK_EQ(0, last_.error);
  }
  run(c, "CC-R2", T0,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n-last\",\"service\":\"it.hour\","
      "\"qty\":1,\"ceiling\":100,\"deadline_ms\":60000}");
  CHECK_ERROR("market_full", "", "tenders_full");
  close_core(c);
}

/* Positions are sized from the market file: 3,300 providers of 20 services
** are 66,000 capacities, more than the engine's old fixed 65,536. */
static void test_a_market_with_66000_capacities_starts_and_trades(void) {
  enum { SERVICES = 20, PROVIDERS = 3300 };
  size_t cap = 64 + SERVICES * 128 + PROVIDERS * (SERVICES * 16 + 128) + 256;
  char *json = malloc(cap);
  CHECK(json != NULL);
  if (json == NULL) return;
  size_t n = (size_t)snprintf(json, cap, "{\"currency\":\"EUR\",\"services\":[");
  for (int s = 0; s < SERVICES; s++)
    n += (size_t)snprintf(json + n, cap - n,
                          "%s{\"id\":\"s%02d\",\"unit\":\"h\",\"tick\":1,\"lot\":1}",
                          s ? "," : "", s);
  n += (size_t)snprintf(json + n, cap - n, "],\"cost_centres\":[");
  for (int p = 0; p < PROVIDERS; p++) {
    n += (size_t)snprintf(json + n, cap - n,
                          "{\"id\":\"P%04d\",\"name\":\"p\",\"roles\":[\"provider\"],\"budget\":0,"
                          "\"capacities\":{", p);
    for (int s = 0; s < SERVICES; s++)
      n += (size_t)snprintf(json + n, cap - n, "%s\"s%02d\":5", s ? "," : "", s);
    n += (size_t)snprintf(json + n, cap - n, "}},");
  }
  n += (size_t)snprintf(json + n, cap - n,
                        "{\"id\":\"R\",\"name\":\"r\",\"roles\":[\"receiver\"],\"budget\":1000}]}");
  CHECK(n < cap);
  imx_market m;
  imx_proto_error err = {0};
  int parsed = imx_market_parse(json, n, &m, &err);
  free(json);
  CHECK_EQ(0, parsed);
  if (parsed != 0) {
    fprintf(stderr, "  %s %s: %s\n", err.code, err.field, err.message);
    return;
  }
  CHECK_EQ(66000, imx_market_capacities_total(&m));
  core_config cfg = {.market = &m, .orders_max = 1024};
  imx_core *c = NULL;
  const char *why = NULL;
  CHECK_EQ(0, core_open(&cfg, &c, &why));
  if (c != NULL && why == NULL) {
    const char *offer =
        "{\"v\":1,\"type\":\"order.new\",\"id\":\"o\",\"service\":\"s19\","
        "\"side\":\"offer\",\"qty\":5,\"price\":10}";
    const char *bid =
        "{\"v\":1,\"type\":\"order.new\",\"id\":\"b\",\"service\":\"s19\","
        "\"side\":\"bid\",\"qty\":5,\"price\":10}";
    imx_request rq;
    CHECK_EQ(0, imx_request_decode(offer, strlen(offer), &rq, &err));
    core_batch_begin(c);
    core_execute(c, &rq, (uint32_t)imx_market_cc_find(&m, "P3299"), T0, reply_,
                 sizeof reply_);
    CHECK_EQ(0, imx_request_decode(bid, strlen(bid), &rq, &err));
    core_result res = core_execute(c, &rq, (uint32_t)imx_market_cc_find(&m, "R"), T0,
                                   reply_, sizeof reply_);
    CHECK_EQ(1, res.trades_n);
    CHECK_EQ(1, core_last_trade(c));
  }
  core_close(c);
  imx_market_free(&m);
}

/* 1,000 services whose descriptions are 512 quotes (1,024 bytes each in a
** reply, escaped): a page of all of them would be ~1.4 MB, so each page is
** cut to what fits a reply, and `next` goes on where it stopped until
** every service was listed once, in order. */
static void test_a_services_page_too_long_for_a_reply_is_cut_and_next_goes_on(void) {
  enum { SERVICES = 1000 };
  size_t cap = 64 + SERVICES * (2 * IMX_DESCRIPTION_BYTES_MAX + 96) + 256;
  char *json = malloc(cap), quotes[2 * IMX_DESCRIPTION_BYTES_MAX + 1];
  CHECK(json != NULL);
  if (json == NULL) return;
  for (int i = 0; i < IMX_DESCRIPTION_BYTES_MAX; i++) quotes[2 * i] = '\\', quotes[2 * i + 1] = '"';
  quotes[sizeof quotes - 1] = '\0';
  size_t n = (size_t)snprintf(json, cap, "{\"currency\":\"EUR\",\"services\":[");
  for (int k = 0; k < SERVICES; k++)
    n += (size_t)snprintf(json + n, cap - n,
                          "%s{\"id\":\"s%04d\",\"description\":\"%s\",\"unit\":\"h\","
                          "\"tick\":1,\"lot\":1}", k ? "," : "", k, quotes);
  n += (size_t)snprintf(json + n, cap - n,
                        "],\"cost_centres\":[{\"id\":\"R\",\"name\":\"r\","
                        "\"roles\":[\"receiver\"],\"budget\":0}]}");
  CHECK(n < cap);
  imx_market m;
  imx_proto_error err = {0};
  int parsed = imx_market_parse(json, n, &m, &err);
  free(json);
  CHECK_EQ(0, parsed);
  if (parsed != 0) return;
  core_config cfg = {.market = &m, .orders_max = 1024};
  imx_core *c = NULL;
  const char *why = NULL;
  CHECK_EQ(0, core_open(&cfg, &c, &why));
  char start[IMX_NAME_BYTES_MAX + 1] = "", request[256];
  uint32_t seen = 0, pages = 0;
  for (; pages < SERVICES; pages++) {
    snprintf(request, sizeof request,
             "{\"v\":1,\"type\":\"services.list\",\"id\":\"p%u\",\"limit\":1000%s%s%s}",
             pages, start[0] ? ",\"start\":\"" : "", start, start[0] ? "\"" : "");
    imx_request rq;
    CHECK_EQ(0, imx_request_decode(request, strlen(request), &rq, &err));
    core_batch_begin(c);
    core_result res = core_execute(c, &rq, 0, T0, reply_, sizeof reply_);
    imx_reply r;
    if (imx_reply_decode(reply_, res.reply_len, &r, &err) != 0 || r.error) {
      CHECK(0 && "a page of services.list");
      break;
    }
    CHECK(r.services_n > 0 && r.services_n < SERVICES);
    for (uint32_t i = 0; i < r.services_n; i++) {
      char want[16];
      snprintf(want, sizeof want, "s%04u", seen + i);
      CHECK_STR(want, r.services[i].service);
      CHECK_EQ(IMX_DESCRIPTION_BYTES_MAX, strlen(r.services[i].description));
    }
    seen += r.services_n;
    snprintf(start, sizeof start, "%s", r.next);
    imx_reply_free(&r);
    if (start[0] == '\0') break;
    char want[16];
    snprintf(want, sizeof want, "s%04u", seen);
    CHECK_STR(want, start);
  }
  CHECK_EQ(SERVICES, seen);
  CHECK(pages >= 2);
  core_close(c);
  imx_market_free(&m);
}

/* ---------------------------------------------------------- idempotency */

/* ----------------------------------------- tenders: decide, list, get, md */

/* A choose tender of 2 it.hour at most 2000 by CC-R1 (deadline in 60 s),
** quoted 1500 by CC-P1 (quote 1) and 1800 by CC-P2 (quote 2). */
static void choose_tender_with_two_quotes(imx_core *c) {
  core_result res = run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n1\",\"service\":\"it.hour\","
      "\"qty\":2,\"ceiling\":2000,\"deadline_ms\":60000,\"decide\":\"choose\"}");
  CHECK_OK(IMX_MSG_TENDER_NEW);
  CHECK(journal_is(&res, "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n1\",\"service\":"
                         "\"it.hour\",\"qty\":2,\"ceiling\":2000,\"deadline_ms\":60000,"
                         "\"decide\":\"choose\"}"));
  run(c, "CC-P1", T0 + 1, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q1\",\"tender\":1,\"price\":1500}");
  CHECK_OK(IMX_MSG_TENDER_QUOTE);
  run(c, "CC-P2", T0 + 2, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q2\",\"tender\":1,\"price\":1800}");
  CHECK_OK(IMX_MSG_TENDER_QUOTE);
}

/* The batch's market data has an event of this kind on this topic ("" the
** service's); returns it or NULL. */
static const imx_md_event *md_find(imx_core *c, imx_md_kind kind, const char *topic_cc) {
  uint32_t n = 0;
  const imx_md_event *md = core_batch_md(c, &n);
  for (uint32_t i = 0; i < n; i++)
    if (md[i].kind == kind && strcmp(md[i].topic_cc, topic_cc) == 0) return &md[i];
  return NULL;
}

static void test_choose_tender_awarded_to_the_dearer_quote_trades_at_its_price(void) {
  imx_core *c = open_core();
  choose_tender_with_two_quotes(c);
  const char *award = "{\"v\":1,\"type\":\"tender.award\",\"id\":\"a1\",\"tender\":1,\"quote\":2}";
  core_result res = run(c, "CC-R1", T0 + 10, award);
  CHECK_OK(IMX_MSG_TENDER_AWARD);
  CHECK_EQ(1, last_.tender);
  CHECK_EQ(2, last_.quote);
  CHECK_EQ(1, last_.trades_n);
  if (last_.trades_n == 1) {
    CHECK_STR("CC-R1", last_.trades[0].buyer);
    CHECK_STR("CC-P2", last_.trades[0].seller);
    CHECK_EQ(2, last_.trades[0].qty);
    CHECK_EQ(1800, last_.trades[0].price_minor); /* the buyer's choice */
    CHECK_EQ(1, last_.trades[0].buy_order);      /* the tender */
    CHECK_EQ(2, last_.trades[0].sell_order);     /* the quote */
  }
  CHECK_EQ(1, res.trades_n);
  CHECK(journal_is(&res, award));
  /* both the buyer and the winner hear it, on their own topics */
  const imx_md_event *b = md_find(c, IMX_MD_TENDER_AWARDED, "CC-R1");
  const imx_md_event *w = md_find(c, IMX_MD_TENDER_AWARDED, "CC-P2");
  CHECK(b != NULL && w != NULL);
  if (b) {
    CHECK_EQ(1, b->tender);
    CHECK_EQ(2, b->quote);
    CHECK_EQ(1800, b->price_minor);
    CHECK_STR("CC-P2", b->seller);
    CHECK_EQ(1, b->trade);
    CHECK_EQ(0, b->has_score); /* only a `score` tender's award has one */
  }
  CHECK(md_find(c, IMX_MD_TENDER_AWARDED, "CC-P1") == NULL);
  CHECK(md_find(c, IMX_MD_TRADE, "") != NULL);
  /* a repeat is the first reply, and awards nothing again */
  saved_reply first;
  save_reply(&first);
  res = run(c, "CC-R1", T0 + 20, award);
  CHECK(same_reply(&first));
  CHECK(res.journal == NULL);
  CHECK_EQ(0, res.trades_n);
  run(c, "CC-R1", T0 + 20, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g\"}");
  CHECK_EQ(3600, last_.spent);
  CHECK_EQ(0, last_.reserved);
  close_core(c);
}

/* A `score` tender (issue 13): P1 (5.0 stars) quotes 1500, P2 (1.0 star)
** the cheaper 1400; with weights 40/60 of a ceiling of 2000 P1 scores
** 40 x 0.25 + 60 x 1.0 = 70.0 and P2 40 x 0.3 + 60 x 0.2 = 24.0: P1 wins
** at its price, where lowest would have taken P2's. */
#define SCORE_TENDER(id, rest)                                                  \
  "{\"v\":1,\"type\":\"tender.new\",\"id\":\"" id "\",\"service\":\"it.hour\","   \
  "\"qty\":2,\"ceiling\":2000,\"deadline_ms\":60000" rest "}"

static void score_tender_with_two_quotes(imx_core *c) {
  CHECK_EQ(IMX_OK, core_reputation_set(c, cc_index("CC-P1"), 0, 3, 15));
  CHECK_EQ(IMX_OK, core_reputation_set(c, cc_index("CC-P2"), 0, 3, 3));
  const char *rq = SCORE_TENDER("n1", ",\"decide\":\"score\",\"price_weight\":40,"
                                      "\"quality_weight\":60");
  core_result res = run(c, "CC-R1", T0, rq);
  CHECK_OK(IMX_MSG_TENDER_NEW);
  CHECK(journal_is(&res, rq));
  const imx_md_event *o = md_find(c, IMX_MD_TENDER_OPENED, "");
  CHECK(o != NULL && o->decide == IMX_PDECIDE_SCORE && o->price_weight == 40 &&
        o->quality_weight == 60);
  run(c, "CC-P1", T0 + 1, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q1\",\"tender\":1,\"price\":1500}");
  CHECK_OK(IMX_MSG_TENDER_QUOTE);
  run(c, "CC-P2", T0 + 2, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q2\",\"tender\":1,\"price\":1400}");
  CHECK_OK(IMX_MSG_TENDER_QUOTE);
}

static void test_score_tender_is_awarded_to_the_best_score_at_the_deadline(void) {
  imx_core *c = open_core();
  score_tender_with_two_quotes(c);
  run(c, "CC-R1", T0 + 3, "{\"v\":1,\"type\":\"tender.list\",\"id\":\"l\"}");
  CHECK_OK(IMX_MSG_TENDER_LIST);
  CHECK(last_.tenders_n == 1 && last_.tenders[0].decide == IMX_PDECIDE_SCORE);
  /* the receiver sees the weights and every quote's score now */
  run(c, "CC-R1", T0 + 3, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g\",\"tender\":1}");
  CHECK_OK(IMX_MSG_TENDER_GET);
  CHECK(last_.tenders_n == 1 && last_.quotes_n == 2);
  if (last_.tenders_n == 1 && last_.quotes_n == 2) {
    CHECK_EQ(IMX_PDECIDE_SCORE, last_.tenders[0].decide);
    CHECK_EQ(40, last_.tenders[0].price_weight);
    CHECK_EQ(60, last_.tenders[0].quality_weight);
    CHECK_STR("CC-P1", last_.quotes[0].provider);
    CHECK_EQ(1, last_.quotes[0].has_score);
    CHECK_EQ(70000, last_.quotes[0].score);
    CHECK_STR("CC-P2", last_.quotes[1].provider);
    CHECK_EQ(24000, last_.quotes[1].score);
  }
  /* a provider sees its own quote's score only */
  run(c, "CC-P2", T0 + 3, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g2\",\"tender\":1}");
  CHECK_OK(IMX_MSG_TENDER_GET);
  CHECK(last_.quotes_n == 1);
  if (last_.quotes_n == 1) {
    CHECK_STR("CC-P2", last_.quotes[0].provider);
    CHECK_EQ(24000, last_.quotes[0].score);
  }
  /* the score follows the reputation until the deadline */
  CHECK_EQ(IMX_OK, core_reputation_set(c, cc_index("CC-P2"), 0, 3, 15));
  run(c, "CC-P2", T0 + 3, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g3\",\"tender\":1}");
  CHECK(last_.quotes_n == 1 && last_.quotes[0].score == 72000); /* 12 + 60 */
  CHECK_EQ(IMX_OK, core_reputation_set(c, cc_index("CC-P2"), 0, 3, 3));
  /* no award by hand: the score decides */
  run(c, "CC-R1", T0 + 4,
      "{\"v\":1,\"type\":\"tender.award\",\"id\":\"a\",\"tender\":1,\"quote\":2}");
  CHECK_ERROR("forbidden", "tender", "wrong_decide");
  core_batch_begin(c);
  core_result res = core_tick(c, T0 + 60000);
  CHECK_EQ(1, res.trades_n);
  if (res.trades_n == 1) {
    const imx_reply_trade *t = &res.trades[0].trade;
    CHECK_STR("CC-R1", t->buyer);
    CHECK_STR("CC-P1", t->seller);
    CHECK_EQ(2, t->qty);
    CHECK_EQ(1500, t->price_minor);
    CHECK_EQ(1, t->buy_order);  /* the tender */
    CHECK_EQ(1, t->sell_order); /* the winning quote */
  }
  /* the award says the winner's score, on the buyer's and the winner's topics */
  const imx_md_event *b = md_find(c, IMX_MD_TENDER_AWARDED, "CC-R1");
  const imx_md_event *w = md_find(c, IMX_MD_TENDER_AWARDED, "CC-P1");
  CHECK(b != NULL && w != NULL);
  if (b && w) {
    CHECK_EQ(1, b->has_score);
    CHECK_EQ(70000, b->score);
    CHECK_EQ(70000, w->score);
    CHECK_EQ(1500, b->price_minor);
  }
  close_core(c);
}

/* After the award (issue 13, "the award reply shows every quote's
** score"), tender.get still shows the tender to its receiver: awarded, when,
** the winning quote and its trade, and every quote with the score it was
** decided on, frozen (a later reputation changes nothing; the reputation
** shown beside it is frozen too: build_journaled_market checks that); a
** losing provider sees its own quote and the winner's (public with the
** award), the winner its own; anyone else, not_found. A snapshot carries
** it byte for byte. */
static void test_an_awarded_score_tender_shows_every_quotes_score_afterwards(void) {
  imx_core *c = open_core();
  score_tender_with_two_quotes(c);
  core_batch_begin(c);
  CHECK_EQ(1, core_tick(c, T0 + 60000).trades_n);
  CHECK_EQ(IMX_OK, core_reputation_set(c, cc_index("CC-P2"), 0, 4, 20));
  const char *get = "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g\",\"tender\":1}";
  run(c, "CC-R1", T0 + 60001, get);
  CHECK_OK(IMX_MSG_TENDER_GET);
  CHECK(last_.tenders_n == 1 && last_.quotes_n == 2);
  if (last_.tenders_n == 1 && last_.quotes_n == 2) {
    const imx_reply_tender *t = &last_.tenders[0];
    CHECK_EQ(IMX_PTENDER_AWARDED, t->status);
    CHECK_EQ(T0 + 60000, t->ended_time_ms);
    CHECK_EQ(1, t->award_quote);
    CHECK_EQ(1, t->award_trade);
    CHECK_EQ(2, t->quotes);
    CHECK_EQ(40, t->price_weight);
    CHECK_STR("CC-P1", last_.quotes[0].provider);
    CHECK_EQ(70000, last_.quotes[0].score);
    CHECK_EQ(1500, last_.quotes[0].price_minor);
    CHECK_STR("CC-P2", last_.quotes[1].provider);
    CHECK_EQ(24000, last_.quotes[1].score); /* not 72000: as at the deadline */
  }
  CHECK(contains(reply_, reply_len_, "\"status\":\"awarded\",\"ended_time_ms\":"));
  /* the loser: its own quote and the winner's */
  run(c, "CC-P2", T0 + 60001, get);
  CHECK_OK(IMX_MSG_TENDER_GET);
  CHECK(last_.quotes_n == 2 && last_.tenders_n == 1);
  if (last_.quotes_n == 2 && last_.tenders_n == 1) {
    CHECK_EQ(2, last_.tenders[0].my_quote);
    CHECK_EQ(1400, last_.tenders[0].my_price_minor);
    CHECK_EQ(1, last_.quotes[0].quote);
    CHECK_EQ(2, last_.quotes[1].quote);
  }
  /* the winner: its own */
  run(c, "CC-P1", T0 + 60001, get);
  CHECK_OK(IMX_MSG_TENDER_GET);
  CHECK(last_.quotes_n == 1 && last_.quotes[0].quote == 1 && last_.quotes[0].score == 70000);
  /* another receiver, and finance: not_found, as for an open tender */
  run(c, "CC-R2", T0 + 60001, get);
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  run(c, "CC-FIN", T0 + 60001, get);
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  /* still not listed: tender.list shows open tenders only */
  run(c, "CC-R1", T0 + 60001, "{\"v\":1,\"type\":\"tender.list\",\"id\":\"l\"}");
  CHECK_EQ(0, last_.tenders_n);
  /* a snapshot carries it */
  run(c, "CC-R1", T0 + 60001, get);
  char before[IMX_REPLY_BYTES_MAX];
  size_t before_len = reply_len_;
  memcpy(before, reply_, reply_len_);
  size_t n = core_snapshot_write(c, NULL, 0);
  char *snap = malloc(n);
  if (snap == NULL) abort();
  CHECK_EQ(n, core_snapshot_write(c, snap, n));
  imx_core *b = open_core();
  const char *why = NULL;
  CHECK_EQ(0, core_snapshot_read(b, snap, n, &why));
  free(snap);
  run(b, "CC-R1", T0 + 60001, get);
  CHECK(reply_len_ == before_len && memcmp(reply_, before, before_len) == 0);
  close_core(b);
  close_core(c);
}

/* How the other ends read: a `choose` tender that lapses without quotes
** (no_award), a `lowest` one without quotes (no_quotes), a cancelled one
** with its quotes as they stood. */
static void test_a_lapsed_or_cancelled_tender_shows_how_it_ended(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0, SCORE_TENDER("n1", ",\"decide\":\"choose\""));
  run(c, "CC-R1", T0, SCORE_TENDER("n2", ""));
  run(c, "CC-R1", T0, SCORE_TENDER("n3", ""));
  run(c, "CC-P1", T0 + 1, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q1\",\"tender\":3,\"price\":1900}");
  run(c, "CC-R1", T0 + 2, "{\"v\":1,\"type\":\"tender.cancel\",\"id\":\"c\",\"tender\":3}");
  CHECK_OK(IMX_MSG_TENDER_CANCEL);
  run(c, "CC-R1", T0 + 3, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g\",\"tender\":3}");
  CHECK_OK(IMX_MSG_TENDER_GET);
  CHECK(last_.tenders_n == 1 && last_.tenders[0].status == IMX_PTENDER_CANCELLED &&
        last_.tenders[0].ended_time_ms == T0 + 2 && last_.quotes_n == 1 &&
        last_.quotes[0].price_minor == 1900 && last_.quotes[0].has_score == 0);
  CHECK(contains(reply_, reply_len_, "\"status\":\"cancelled\",\"ended_time_ms\":"));
  run(c, "CC-P1", T0 + 3, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g\",\"tender\":3}");
  CHECK(last_.quotes_n == 1 && last_.tenders_n == 1 && last_.tenders[0].my_quote == 1);
  core_batch_begin(c);
  core_tick(c, T0 + 60000);
  run(c, "CC-R1", T0 + 60001, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g\",\"tender\":1}");
  CHECK_OK(IMX_MSG_TENDER_GET);
  CHECK(last_.tenders_n == 1 && last_.tenders[0].status == IMX_PTENDER_LAPSED &&
        last_.tenders[0].why == IMX_LAPSED_NO_AWARD &&
        last_.tenders[0].decide == IMX_PDECIDE_CHOOSE &&
        last_.tenders[0].ceiling_minor == 2000 && last_.tenders[0].qty == 2 &&
        last_.tenders[0].deadline_time_ms == T0 + 60000 && last_.quotes_n == 0);
  CHECK(contains(reply_, reply_len_, "\"status\":\"lapsed\",\"ended_time_ms\":1718000060000,"
                                     "\"why\":\"no_award\""));
  run(c, "CC-R1", T0 + 60001, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g\",\"tender\":2}");
  CHECK(last_.tenders_n == 1 && last_.tenders[0].status == IMX_PTENDER_LAPSED &&
        last_.tenders[0].why == IMX_LAPSED_NO_QUOTES);
  /* a provider of the service that did not quote: not_found once it ended */
  run(c, "CC-P2", T0 + 60001, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g\",\"tender\":2}");
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  close_core(c);
}

/* The ring is bounded: of IMX_TENDERS_DECIDED_KEPT + 1 tenders that ended,
** the oldest is forgotten (not_found), the newest kept. */
static void test_only_the_newest_ended_tenders_are_kept(void) {
  imx_core *c = open_core();
  char rq[256];
  for (uint32_t k = 1; k <= IMX_TENDERS_DECIDED_KEPT + 1; k++) {
    snprintf(rq, sizeof rq, "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n%u\",\"service\":"
             "\"it.hour\",\"qty\":1,\"ceiling\":100,\"deadline_ms\":60000}", k);
    run(c, "CC-R1", T0, rq);
    snprintf(rq, sizeof rq, "{\"v\":1,\"type\":\"tender.cancel\",\"id\":\"c%u\",\"tender\":%u}",
             k, k);
    run(c, "CC-R1", T0, rq);
    if (last_.error) break;
  }
  CHECK_OK(IMX_MSG_TENDER_CANCEL);
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g\",\"tender\":1}");
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g\",\"tender\":2}");
  CHECK_OK(IMX_MSG_TENDER_GET);
  snprintf(rq, sizeof rq, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g\",\"tender\":%u}",
           IMX_TENDERS_DECIDED_KEPT + 1);
  run(c, "CC-R1", T0, rq);
  CHECK(last_.tenders_n == 1 && last_.tenders[0].status == IMX_PTENDER_CANCELLED);
  close_core(c);
}

/* A snapshot keeps a `score` tender's weights and the reputations: a core
** read from it shows the same scores and awards the same quote; the
** journaled tender.new replays into a score tender. */
static void test_score_tender_survives_a_snapshot_and_a_replay(void) {
  imx_core *a = open_core();
  score_tender_with_two_quotes(a);
  size_t n = core_snapshot_write(a, NULL, 0);
  char *snap = malloc(n);
  if (snap == NULL) abort();
  CHECK_EQ(n, core_snapshot_write(a, snap, n));
  imx_core *b = open_core();
  const char *why = NULL;
  CHECK_EQ(0, core_snapshot_read(b, snap, n, &why));
  free(snap);
  run(b, "CC-R1", T0 + 3, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g\",\"tender\":1}");
  CHECK_OK(IMX_MSG_TENDER_GET);
  CHECK(last_.tenders_n == 1 && last_.quotes_n == 2);
  if (last_.tenders_n == 1 && last_.quotes_n == 2) {
    CHECK_EQ(40, last_.tenders[0].price_weight);
    CHECK_EQ(70000, last_.quotes[0].score);
    CHECK_EQ(24000, last_.quotes[1].score);
  }
  core_batch_begin(b);
  core_result res = core_tick(b, T0 + 60000);
  CHECK_EQ(1, res.trades_n);
  if (res.trades_n == 1) CHECK_STR("CC-P1", res.trades[0].trade.seller);
  close_core(b);
  close_core(a);
  /* the journal entry of tender.new replays with its weights */
  imx_core *r = open_core();
  const char *rq = SCORE_TENDER("n1", ",\"decide\":\"score\",\"price_weight\":0,"
                                      "\"quality_weight\":100");
  core_result replayed;
  CHECK_EQ(0, core_replay(r, T0, "CC-R1", rq, strlen(rq), &replayed));
  CHECK_EQ(1, replayed.changed);
  run(r, "CC-R1", T0 + 1, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g\",\"tender\":1}");
  CHECK_OK(IMX_MSG_TENDER_GET);
  CHECK(last_.tenders_n == 1 && last_.tenders[0].decide == IMX_PDECIDE_SCORE &&
        last_.tenders[0].price_weight == 0 && last_.tenders[0].quality_weight == 100);
  close_core(r);
}

static void test_score_tender_weights_are_bad_weights_on_price_weight(void) {
  imx_core *c = open_core();
  static const char *const bad[] = {
      ",\"decide\":\"score\"",                                            /* none */
      ",\"decide\":\"score\",\"price_weight\":100",                       /* one */
      ",\"decide\":\"score\",\"quality_weight\":100",
      ",\"decide\":\"score\",\"price_weight\":60,\"quality_weight\":60",  /* 120 */
      ",\"decide\":\"score\",\"price_weight\":0,\"quality_weight\":0",
      ",\"price_weight\":0",                                             /* lowest */
      ",\"decide\":\"lowest\",\"price_weight\":50,\"quality_weight\":50",
      ",\"decide\":\"choose\",\"quality_weight\":0"};
  char rq[512];
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    snprintf(rq, sizeof rq, SCORE_TENDER("n%zu", "%s"), i, bad[i]);
    core_result res = run(c, "CC-R1", T0, rq);
    CHECK_ERROR("bad_field", "price_weight", "bad_weights");
    CHECK(res.journal == NULL);
  }
  /* out of range: the decoder's bad_field on the weight (test_proto) */
  /* the extremes are weights */
  run(c, "CC-R1", T0, SCORE_TENDER("ok", ",\"decide\":\"score\",\"price_weight\":0,"
                                         "\"quality_weight\":100"));
  CHECK_OK(IMX_MSG_TENDER_NEW);
  close_core(c);
}

static void test_tender_award_errors_name_their_reason_and_field(void) {
  imx_core *c = open_core();
  choose_tender_with_two_quotes(c);
  run(c, "CC-R1", T0 + 3,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n2\",\"service\":\"it.hour\","
      "\"qty\":1,\"ceiling\":2000,\"deadline_ms\":60000}"); /* 2: lowest */
  run(c, "CC-P1", T0 + 4, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q3\",\"tender\":2,\"price\":1000}");
  CHECK_EQ(3, last_.quote);
  /* another receiver, a provider: the tender is not theirs to award */
  core_result res = run(c, "CC-R2", T0 + 5,
                        "{\"v\":1,\"type\":\"tender.award\",\"id\":\"x1\",\"tender\":1,\"quote\":2}");
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  CHECK(res.journal == NULL);
  run(c, "CC-P2", T0 + 5, "{\"v\":1,\"type\":\"tender.award\",\"id\":\"x1\",\"tender\":1,\"quote\":2}");
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  /* a quote of another tender, an unknown one */
  run(c, "CC-R1", T0 + 5, "{\"v\":1,\"type\":\"tender.award\",\"id\":\"x2\",\"tender\":1,\"quote\":3}");
  CHECK_ERROR("not_found", "quote", "unknown_quote");
  run(c, "CC-R1", T0 + 5, "{\"v\":1,\"type\":\"tender.award\",\"id\":\"x3\",\"tender\":1,\"quote\":99}");
  CHECK_ERROR("not_found", "quote", "unknown_quote");
  /* a lowest tender is decided by its rule */
  res = run(c, "CC-R1", T0 + 5, "{\"v\":1,\"type\":\"tender.award\",\"id\":\"x4\",\"tender\":2,\"quote\":3}");
  CHECK_ERROR("forbidden", "tender", "wrong_decide");
  CHECK(res.journal == NULL);
  CHECK_EQ(0, res.trades_n);
  run(c, "CC-R1", T0 + 5, "{\"v\":1,\"type\":\"tender.award\",\"id\":\"x5\",\"tender\":7,\"quote\":1}");
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  /* acting for another cost centre */
  run(c, "CC-R2", T0 + 5, "{\"v\":1,\"type\":\"tender.award\",\"id\":\"x6\",\"cc\":\"CC-R1\","
                          "\"tender\":1,\"quote\":2}");
  CHECK_ERROR("forbidden", "cc", "");
  /* a refused request is not remembered: its id is free for another */
  run(c, "CC-R1", T0 + 6, "{\"v\":1,\"type\":\"tender.award\",\"id\":\"x3\",\"tender\":1,\"quote\":1}");
  CHECK_OK(IMX_MSG_TENDER_AWARD);
  close_core(c);
}

static void test_a_refused_award_is_run_again_and_may_succeed(void) {
  imx_core *c = open_core();
  choose_tender_with_two_quotes(c);
  const char *award = "{\"v\":1,\"type\":\"tender.award\",\"id\":\"a\",\"tender\":1,\"quote\":2}";
  run(c, "CC-P2", T0 + 3, "{\"v\":1,\"type\":\"quote.withdraw\",\"id\":\"w\",\"quote\":2}");
  CHECK_OK(IMX_MSG_QUOTE_WITHDRAW);
  core_result res = run(c, "CC-R1", T0 + 4, award);
  CHECK_ERROR("not_found", "quote", "unknown_quote");
  CHECK(res.journal == NULL);
  run(c, "CC-R1", T0 + 5, "{\"v\":1,\"type\":\"tender.award\",\"id\":\"b\",\"tender\":1,\"quote\":1}");
  CHECK_OK(IMX_MSG_TENDER_AWARD);
  CHECK_EQ(1500, last_.trades_n ? last_.trades[0].price_minor : 0);
  close_core(c);
}

static void test_tender_cancel_by_the_receiver_releases_and_repeats(void) {
  imx_core *c = open_core();
  choose_tender_with_two_quotes(c);
  const char *cancel = "{\"v\":1,\"type\":\"tender.cancel\",\"id\":\"c1\",\"tender\":1}";
  run(c, "CC-R2", T0 + 3, cancel);
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  run(c, "CC-P1", T0 + 3, cancel);
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  core_result res = run(c, "CC-R1", T0 + 3, cancel);
  CHECK_OK(IMX_MSG_TENDER_CANCEL);
  CHECK_EQ(1, last_.tender);
  CHECK(journal_is(&res, cancel));
  saved_reply first;
  save_reply(&first);
  res = run(c, "CC-R1", T0 + 4, cancel);
  CHECK(same_reply(&first));
  CHECK(res.journal == NULL);
  run(c, "CC-R1", T0 + 4, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g\"}");
  CHECK_EQ(0, last_.reserved);
  run(c, "CC-P1", T0 + 4, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g\"}");
  CHECK_EQ(0, last_.capacities_n ? last_.capacities[0].reserved : -1);
  run(c, "CC-R1", T0 + 5, "{\"v\":1,\"type\":\"tender.cancel\",\"id\":\"c2\",\"tender\":1}");
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  close_core(c);
}

static void test_quote_withdraw_by_quote_or_tender_releases_capacity(void) {
  imx_core *c = open_core();
  choose_tender_with_two_quotes(c);
  run(c, "CC-P1", T0 + 3, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g\"}");
  CHECK_EQ(2, last_.capacities_n ? last_.capacities[0].reserved : -1);
  /* another provider's quote is one that does not exist */
  core_result res = run(c, "CC-P2", T0 + 3, "{\"v\":1,\"type\":\"quote.withdraw\",\"id\":\"w1\",\"quote\":1}");
  CHECK_ERROR("not_found", "quote", "unknown_quote");
  CHECK(res.journal == NULL);
  run(c, "CC-R1", T0 + 3, "{\"v\":1,\"type\":\"quote.withdraw\",\"id\":\"w1\",\"tender\":1}");
  CHECK_ERROR("not_found", "quote", "unknown_quote"); /* the buyer has none */
  run(c, "CC-P1", T0 + 3, "{\"v\":1,\"type\":\"quote.withdraw\",\"id\":\"w1\",\"tender\":9}");
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  run(c, "CC-R2", T0 + 3, "{\"v\":1,\"type\":\"quote.withdraw\",\"id\":\"w1\",\"tender\":1}");
  CHECK_ERROR("not_found", "tender", "unknown_tender"); /* not its business */
  const char *w = "{\"v\":1,\"type\":\"quote.withdraw\",\"id\":\"w2\",\"quote\":1}";
  res = run(c, "CC-P1", T0 + 4, w);
  CHECK_OK(IMX_MSG_QUOTE_WITHDRAW);
  CHECK_EQ(1, last_.tender);
  CHECK_EQ(1, last_.quote);
  CHECK(journal_is(&res, w));
  saved_reply first;
  save_reply(&first);
  res = run(c, "CC-P1", T0 + 5, w);
  CHECK(same_reply(&first));
  CHECK(res.journal == NULL);
  run(c, "CC-P1", T0 + 5, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g\"}");
  CHECK_EQ(0, last_.capacities_n ? last_.capacities[0].reserved : -1);
  /* by tender: CC-P2's quote 2 */
  run(c, "CC-P2", T0 + 6, "{\"v\":1,\"type\":\"quote.withdraw\",\"id\":\"w3\",\"tender\":1}");
  CHECK_OK(IMX_MSG_QUOTE_WITHDRAW);
  CHECK_EQ(2, last_.quote);
  run(c, "CC-P2", T0 + 7, "{\"v\":1,\"type\":\"quote.withdraw\",\"id\":\"w4\",\"tender\":1}");
  CHECK_ERROR("not_found", "quote", "unknown_quote");
  /* the provider may quote again */
  run(c, "CC-P1", T0 + 8, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q9\",\"tender\":1,\"price\":1600}");
  CHECK_OK(IMX_MSG_TENDER_QUOTE);
  CHECK_EQ(3, last_.quote);
  close_core(c);
}

static void test_tender_list_shows_own_tenders_and_the_jobs_of_the_services_provided(void) {
  imx_core *c = open_core();
  choose_tender_with_two_quotes(c);                         /* 1: it.hour, R1 */
  run(c, "CC-R2", T0 + 3,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n2\",\"service\":\"truck.day\","
      "\"qty\":3,\"ceiling\":5000,\"deadline_ms\":60000}"); /* 2: truck.day, R2 */
  run(c, "CC-PR", T0 + 4,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n3\",\"service\":\"room.day\","
      "\"qty\":2,\"ceiling\":5000,\"deadline_ms\":60000}"); /* 3: room.day, PR */
  CHECK_OK(IMX_MSG_TENDER_NEW);
  const char *list = "{\"v\":1,\"type\":\"tender.list\",\"id\":\"l\"}";
  core_result res = run(c, "CC-R1", T0 + 5, list);
  CHECK_OK(IMX_MSG_TENDER_LIST);
  CHECK(res.journal == NULL);
  CHECK_EQ(1, last_.tenders_n);
  if (last_.tenders_n == 1) {
    const imx_reply_tender *t = &last_.tenders[0];
    CHECK_EQ(1, t->tender);
    CHECK_STR("it.hour", t->service);
    CHECK_STR("CC-R1", t->buyer);
    CHECK_EQ(2, t->qty);
    CHECK_EQ(2000, t->ceiling_minor);
    CHECK_EQ(T0 + 60000, t->deadline_time_ms);
    CHECK_EQ(IMX_PDECIDE_CHOOSE, t->decide);
    CHECK_EQ(2, t->quotes);
    CHECK_EQ(0, t->my_quote);
  }
  /* CC-P1 provides all three services: every tender, with its quote */
  run(c, "CC-P1", T0 + 5, list);
  CHECK_EQ(3, last_.tenders_n);
  if (last_.tenders_n == 3) {
    CHECK_EQ(1, last_.tenders[0].my_quote);
    CHECK_EQ(1500, last_.tenders[0].my_price_minor);
    CHECK_EQ(2, last_.tenders[1].tender);
    CHECK_EQ(IMX_PDECIDE_LOWEST, last_.tenders[1].decide);
    CHECK_EQ(0, last_.tenders[1].my_quote);
  }
  /* CC-P2 provides it.hour only */
  run(c, "CC-P2", T0 + 5, list);
  CHECK_EQ(1, last_.tenders_n);
  CHECK_EQ(2, last_.tenders_n ? last_.tenders[0].my_quote : 0);
  /* CC-PR: its own room.day tender and the jobs of it.hour and truck.day */
  run(c, "CC-PR", T0 + 5, list);
  CHECK_EQ(3, last_.tenders_n);
  /* finance neither opens nor provides: nothing */
  run(c, "CC-FIN", T0 + 5, list);
  CHECK_OK(IMX_MSG_TENDER_LIST);
  CHECK_EQ(0, last_.tenders_n);
  /* paging: limit, then after the last id */
  run(c, "CC-P1", T0 + 5, "{\"v\":1,\"type\":\"tender.list\",\"id\":\"l\",\"limit\":2}");
  CHECK_EQ(2, last_.tenders_n);
  run(c, "CC-P1", T0 + 5, "{\"v\":1,\"type\":\"tender.list\",\"id\":\"l\",\"after\":2}");
  CHECK_EQ(1, last_.tenders_n);
  CHECK_EQ(3, last_.tenders_n ? last_.tenders[0].tender : 0);
  /* another cost centre's list */
  run(c, "CC-R2", T0 + 5, "{\"v\":1,\"type\":\"tender.list\",\"id\":\"l\",\"cc\":\"CC-R1\"}");
  CHECK_ERROR("forbidden", "cc", "");
  /* an awarded tender is no longer listed */
  run(c, "CC-R1", T0 + 6, "{\"v\":1,\"type\":\"tender.award\",\"id\":\"a\",\"tender\":1,\"quote\":1}");
  run(c, "CC-R1", T0 + 7, list);
  CHECK_EQ(0, last_.tenders_n);
  close_core(c);
}

static void test_tender_get_shows_every_quote_to_the_buyer_and_its_own_to_a_provider(void) {
  imx_core *c = open_core();
  choose_tender_with_two_quotes(c);
  const char *get = "{\"v\":1,\"type\":\"tender.get\",\"id\":\"t\",\"tender\":1}";
  core_result res = run(c, "CC-R1", T0 + 3, get);
  CHECK_OK(IMX_MSG_TENDER_GET);
  CHECK(res.journal == NULL);
  CHECK_EQ(1, last_.tenders_n);
  CHECK_EQ(1, last_.tenders_n ? last_.tenders[0].tender : 0);
  CHECK_STR("Receiver One", last_.buyer_name);
  CHECK_STR("A", last_.buyer_site);
  CHECK_EQ(2, last_.quotes_n);
  if (last_.quotes_n == 2) {
    CHECK_EQ(1, last_.quotes[0].quote);
    CHECK_STR("CC-P1", last_.quotes[0].provider);
    CHECK_STR("Provider One", last_.quotes[0].name);
    CHECK_STR("A", last_.quotes[0].site);
    CHECK_EQ(1500, last_.quotes[0].price_minor);
    CHECK_STR("CC-P2", last_.quotes[1].provider);
    CHECK_STR("Provider Two", last_.quotes[1].name);
    CHECK_STR("B", last_.quotes[1].site);
    CHECK_EQ(1800, last_.quotes[1].price_minor);
  }
  /* sealed bids: a provider sees its own quote, not the other's */
  run(c, "CC-P2", T0 + 3, get);
  CHECK_OK(IMX_MSG_TENDER_GET);
  CHECK_EQ(1, last_.quotes_n);
  CHECK_STR("CC-P2", last_.quotes_n ? last_.quotes[0].provider : "");
  CHECK_EQ(2, last_.tenders_n ? last_.tenders[0].quotes : 0); /* how many, though */
  CHECK(!contains(reply_, reply_len_, "CC-P1") && !contains(reply_, reply_len_, "1500"));
  run(c, "CC-PR", T0 + 3, get); /* a provider of it.hour without a quote */
  CHECK_OK(IMX_MSG_TENDER_GET);
  CHECK_EQ(0, last_.quotes_n);
  /* others: as if there were no such tender */
  run(c, "CC-R2", T0 + 3, get);
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  run(c, "CC-FIN", T0 + 3, get);
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  run(c, "CC-R1", T0 + 3, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"t\",\"tender\":5}");
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  /* CC-P2 does not provide truck.day: its tender is not its business */
  run(c, "CC-R2", T0 + 4,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n2\",\"service\":\"truck.day\","
      "\"qty\":3,\"ceiling\":5000,\"deadline_ms\":60000}");
  run(c, "CC-P2", T0 + 4, "{\"v\":1,\"type\":\"tender.get\",\"id\":\"t\",\"tender\":2}");
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  close_core(c);
}

static void test_tender_market_data_opened_quoted_and_lapsed(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n1\",\"service\":\"it.hour\","
      "\"qty\":2,\"ceiling\":2000,\"deadline_ms\":60000,\"decide\":\"choose\"}");
  const imx_md_event *md = md_find(c, IMX_MD_TENDER_OPENED, "");
  CHECK(md != NULL);
  if (md) {
    CHECK_STR("it.hour", md->service);
    CHECK_STR("CC-R1", md->buyer);
    CHECK_EQ(1, md->tender);
    CHECK_EQ(2, md->qty);
    CHECK_EQ(2000, md->price_minor);
    CHECK_EQ(T0 + 60000, md->deadline_time_ms);
    CHECK_EQ(IMX_PDECIDE_CHOOSE, md->decide);
  }
  run(c, "CC-R1", T0 + 1,
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n2\",\"service\":\"it.hour\","
      "\"qty\":1,\"ceiling\":2000,\"deadline_ms\":60000}");
  run(c, "CC-P1", T0 + 2, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q1\",\"tender\":1,\"price\":1500}");
  md = md_find(c, IMX_MD_TENDER_QUOTED, "CC-R1");
  CHECK(md != NULL);
  if (md) {
    CHECK_EQ(1, md->tender);
    CHECK_EQ(1, md->quotes);
    CHECK_EQ(0, md->price_minor); /* sealed */
  }
  uint32_t n = 0;
  core_batch_md(c, &n);
  CHECK_EQ(1, n);
  /* the deadline: the choose tender lapses, the lowest one without quotes
  ** ends unfilled; both tell their buyer; nothing traded, nothing journaled */
  core_batch_begin(c);
  core_result res = core_tick(c, T0 + 60001); /* both deadlines */
  CHECK_EQ(0, res.trades_n);
  CHECK(res.journal == NULL);
  const imx_md_event *all = core_batch_md(c, &n);
  CHECK_EQ(2, n);
  if (n == 2) {
    CHECK_EQ(IMX_MD_TENDER_LAPSED, all[0].kind);
    CHECK_STR("CC-R1", all[0].topic_cc);
    CHECK_EQ(1, all[0].tender);
    CHECK_EQ(IMX_LAPSED_NO_AWARD, all[0].why);
    CHECK_EQ(IMX_MD_TENDER_LAPSED, all[1].kind);
    CHECK_EQ(2, all[1].tender);
    CHECK_EQ(IMX_LAPSED_NO_QUOTES, all[1].why);
  }
  /* released: the budget and the quote's capacity */
  run(c, "CC-R1", T0 + 60001, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g\"}");
  CHECK_EQ(0, last_.reserved);
  run(c, "CC-P1", T0 + 60001, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g\"}");
  CHECK_EQ(0, last_.capacities_n ? last_.capacities[0].reserved : -1);
  run(c, "CC-R1", T0 + 60001, "{\"v\":1,\"type\":\"tender.award\",\"id\":\"late\",\"tender\":1,\"quote\":1}");
  CHECK_ERROR("not_found", "tender", "unknown_tender");
  close_core(c);
}

static void test_repeated_request_gets_the_same_bytes_and_changes_nothing(void) {
  imx_core *c = open_core();
  const char *bid =
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1000}";
  run(c, "CC-R1", T0, bid);
  CHECK_OK(IMX_MSG_ORDER_NEW);
  saved_reply first, book, balance;
  save_reply(&first);
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"book.get\",\"id\":\"k\",\"service\":\"it.hour\"}");
  save_reply(&book);
  run(c, "CC-R1", T0, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g\"}");
  save_reply(&balance);
  core_result res = run(c, "CC-R1", T0 + 1000, bid);
  CHECK(same_reply(&first));
  CHECK(res.journal == NULL);
  CHECK_EQ(0, res.trades_n);
  run(c, "CC-R1", T0 + 1000, "{\"v\":1,\"type\":\"book.get\",\"id\":\"k\",\"service\":\"it.hour\"}");
  CHECK(same_reply(&book));
  run(c, "CC-R1", T0 + 1000, "{\"v\":1,\"type\":\"balance.get\",\"id\":\"g\"}");
  CHECK(same_reply(&balance));
  close_core(c);
}

static void test_same_id_from_another_cost_centre_is_a_new_request(void) {
  imx_core *c = open_core();
  const char *bid =
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1000}";
  run(c, "CC-R1", T0, bid);
  CHECK_EQ(1, last_.order);
  core_result res = run(c, "CC-R2", T0, bid);
  CHECK_EQ(2, last_.order);
  CHECK(res.journal != NULL);
  close_core(c);
}

/* Issue 11, 6: every acknowledged reply repeats exactly, however long (a
** reply of three or more fills was answered "too long to repeat"). */
static void test_repeat_of_a_reply_of_five_fills_is_the_same_bytes(void) {
  imx_core *c = open_core();
  char id[16];
  for (int i = 0; i < 5; i++) {
    snprintf(id, sizeof id, "o%d", i);
    offer_it(c, id, 1, 1000, T0);
  }
  const char *bid =
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"big\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":5,\"price\":1000}";
  core_result res = run(c, "CC-R2", T0, bid);
  CHECK_EQ(5, last_.trades_n);
  CHECK(res.reply_len > 512);
  saved_reply first;
  save_reply(&first);
  res = run(c, "CC-R2", T0 + 1, bid);
  CHECK(same_reply(&first));
  CHECK(res.journal == NULL);
  CHECK_EQ(0, res.trades_n);
  run(c, "CC-R2", T0 + 1, "{\"v\":1,\"type\":\"order.list\",\"id\":\"l1\"}");
  CHECK_EQ(0, last_.orders_n); /* not placed again */
  close_core(c);
}

static void test_repeat_of_a_sweep_listing_256_fills_is_the_same_bytes(void) {
  static char first[IMX_REPLY_BYTES_MAX];
  imx_core *c = open_core();
  char id[16];
  for (int i = 0; i < 300; i++) {
    snprintf(id, sizeof id, "o%d", i);
    offer_it(c, id, 1, 1000, T0);
  }
  const char *bid = "{\"v\":1,\"type\":\"order.new\",\"id\":\"sweep\",\"service\":"
                    "\"it.hour\",\"side\":\"bid\",\"qty\":300,\"price\":1000}";
  run(c, "CC-R2", T0 + 1, bid);
  CHECK_EQ(256, last_.trades_n);
  size_t first_len = reply_len_;
  CHECK(first_len > 30000);
  memcpy(first, reply_, first_len);
  core_result res = run(c, "CC-R2", T0 + 2, bid);
  CHECK_EQ(first_len, reply_len_);
  CHECK(reply_len_ == first_len && memcmp(first, reply_, first_len) == 0);
  CHECK(res.journal == NULL);
  CHECK_EQ(0, res.trades_n);
  close_core(c);
}

/* Issue 11, 5: an order.cancel under an order.new's id got order.new.ok,
** and nothing was cancelled. */
static void test_an_order_cancel_under_an_order_new_id_is_duplicate_id_and_cancels_nothing(void) {
  imx_core *c = open_core();
  run(c, "CC-R1", T0,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":2,\"price\":1000}");
  CHECK_EQ(1, last_.order);
  core_result res =
      run(c, "CC-R1", T0 + 1, "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"b1\",\"order\":1}");
  CHECK_ERROR("duplicate_id", "id", "");
  CHECK_STR("b1", last_.id);
  CHECK_STR("the id was already used for a different request", last_.message);
  CHECK(res.journal == NULL);
  run(c, "CC-R1", T0 + 2, "{\"v\":1,\"type\":\"order.list\",\"id\":\"l1\"}");
  CHECK_EQ(1, last_.orders_n); /* still open */
  close_core(c);
}

static void test_an_id_used_again_with_other_content_is_duplicate_id_and_the_first_still_repeats(void) {
  imx_core *c = open_core();
  const char *bid =
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1000}";
  run(c, "CC-R1", T0, bid);
  saved_reply first;
  save_reply(&first);
  static const char *const others[] = {
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":2,\"price\":1000}",
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1100}",
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1000,\"tif\":\"ioc\"}",
      "{\"v\":1,\"type\":\"tender.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"qty\":1,\"ceiling\":1000,\"deadline_ms\":1000}",
  };
  for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
    core_result res = run(c, "CC-R1", T0 + 1, others[i]);
    CHECK_ERROR("duplicate_id", "id", "");
    CHECK(res.journal == NULL);
  }
  /* the same content in another order and with a token is the same request */
  core_result res = run(c, "CC-R1", T0 + 2,
                        "{\"price\":1000,\"qty\":1,\"side\":\"bid\",\"service\":\"it.hour\","
                        "\"token\":\"whatever\",\"id\":\"b1\",\"type\":\"order.new\",\"v\":1}");
  CHECK(same_reply(&first));
  CHECK(res.journal == NULL);
  run(c, "CC-R1", T0 + 2, "{\"v\":1,\"type\":\"order.list\",\"id\":\"l1\"}");
  CHECK_EQ(1, last_.orders_n);
  close_core(c);
}

/* "cc" naming the requester itself is the same as no "cc". */
static void test_a_repeat_that_names_its_own_cost_centre_is_the_same_request(void) {
  imx_core *c = open_core();
  core_result res = run(c, "CC-R1", T0,
                        "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
                        "\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  saved_reply first;
  save_reply(&first);
  res = run(c, "CC-R1", T0 + 1,
            "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"cc\":\"CC-R1\",\"service\":"
            "\"it.hour\",\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  CHECK(same_reply(&first));
  CHECK(res.journal == NULL);
  /* and it is journaled without the cc: it replays the same either way */
  res = run(c, "CC-R1", T0 + 2,
            "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"x1\",\"cc\":\"CC-R1\",\"order\":1}");
  CHECK_OK(IMX_MSG_ORDER_CANCEL);
  CHECK(journal_is(&res, "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"x1\",\"order\":1}"));
  close_core(c);
}

/* Issue 11, 7: every request that changes the market, sent twice, is done
** once: the second gets the first's bytes, changes nothing, journals
** nothing (period.close and auction.run were done twice). */
static void test_every_request_that_changes_the_market_is_done_once(void) {
  static const struct {
    const char *cc, *json;
  } rq[] = {
      {"CC-P1", "{\"v\":1,\"type\":\"order.new\",\"id\":\"r1\",\"service\":\"truck.day\","
                "\"side\":\"offer\",\"qty\":2,\"price\":1000}"},
      {"CC-R2", "{\"v\":1,\"type\":\"order.new\",\"id\":\"r1\",\"service\":\"truck.day\","
                "\"side\":\"bid\",\"qty\":2,\"price\":1000}"},
      {"CC-ADM", "{\"v\":1,\"type\":\"auction.run\",\"id\":\"r1\",\"service\":\"truck.day\"}"},
      {"CC-R1", "{\"v\":1,\"type\":\"order.new\",\"id\":\"r1\",\"service\":\"it.hour\","
                "\"side\":\"bid\",\"qty\":1,\"price\":900,\"tif\":\"period\"}"},
      {"CC-R1", "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"r2\",\"order\":3}"},
      {"CC-R1", "{\"v\":1,\"type\":\"tender.new\",\"id\":\"r3\",\"service\":\"it.hour\","
                "\"qty\":1,\"ceiling\":2000,\"deadline_ms\":100000}"},
      {"CC-P1", "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"r2\",\"tender\":1,\"price\":1500}"},
      {"CC-P1", "{\"v\":1,\"type\":\"quote.withdraw\",\"id\":\"r3\",\"quote\":1}"},
      {"CC-R1", "{\"v\":1,\"type\":\"tender.cancel\",\"id\":\"r4\",\"tender\":1}"},
      {"CC-R1", "{\"v\":1,\"type\":\"tender.new\",\"id\":\"r5\",\"service\":\"it.hour\","
                "\"qty\":1,\"ceiling\":2000,\"deadline_ms\":100000,\"decide\":\"choose\"}"},
      {"CC-P2", "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"r1\",\"tender\":2,\"price\":1500}"},
      {"CC-R1", "{\"v\":1,\"type\":\"tender.award\",\"id\":\"r6\",\"tender\":2,\"quote\":2}"},
      {"CC-FIN", "{\"v\":1,\"type\":\"period.close\",\"id\":\"r1\"}"},
  };
  imx_core *c = open_core();
  for (size_t i = 0; i < sizeof rq / sizeof rq[0]; i++) {
    core_result first = run(c, rq[i].cc, T0 + (int64_t)i, rq[i].json);
    CHECK_EQ(0, last_.error);
    CHECK(first.journal != NULL);
    saved_reply want;
    save_reply(&want);
    core_result again = run(c, rq[i].cc, T0 + (int64_t)i, rq[i].json);
    CHECK(same_reply(&want));
    CHECK(again.journal == NULL);
    CHECK_EQ(0, again.trades_n);
    CHECK_EQ(0, again.period_closed);
  }
  CHECK_EQ(2, core_last_trade(c)); /* one call, one award: a trade each */
  /* one period closed: the next trade is in period 2 */
  offer_it(c, "o9", 1, 1000, T0 + 100);
  core_result res = run(c, "CC-R2", T0 + 100,
                        "{\"v\":1,\"type\":\"order.new\",\"id\":\"b9\",\"service\":\"it.hour\","
                        "\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  CHECK_EQ(1, res.trades_n);
  CHECK_EQ(2, res.trades_n ? res.trades[0].period : 0);
  close_core(c);
}

/* Issue 11, 7: a period order placed between a period.close and its
** repeat stays open. */
static void test_a_repeated_period_close_closes_one_period(void) {
  imx_core *c = open_core();
  run(c, "CC-FIN", T0, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p1\"}");
  CHECK_OK(IMX_MSG_PERIOD_CLOSE);
  run(c, "CC-R1", T0 + 1,
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":900,\"tif\":\"period\"}");
  core_result res = run(c, "CC-FIN", T0 + 2, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p1\"}");
  CHECK_EQ(0, res.period_closed);
  CHECK_EQ(0, last_.expired);
  run(c, "CC-R1", T0 + 3, "{\"v\":1,\"type\":\"order.list\",\"id\":\"l1\"}");
  CHECK_EQ(1, last_.orders_n);
  res = run(c, "CC-FIN", T0 + 4, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p2\"}");
  CHECK_EQ(2, res.period_closed);
  CHECK_EQ(1, last_.expired);
  close_core(c);
}

/* Issue 11, 8: the memory was one ring for all: 65,536 no-op cancels of one
** cost centre evicted another's order.new, whose resend then placed a
** second order. */
static void test_65536_requests_of_another_cost_centre_evict_nothing(void) {
  imx_core *c = open_core();
  const char *bid =
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1000}";
  run(c, "CC-R2", T0, bid);
  saved_reply first;
  save_reply(&first);
  int all_not_found = 1;
  for (int i = 0; i < 65536; i++) {
    runf(c, "CC-R1", T0 + 1, "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"n%d\",\"order\":999}", i);
    all_not_found &= last_.error && strcmp(last_.code, "not_found") == 0;
  }
  CHECK(all_not_found);
  core_result res = run(c, "CC-R2", T0 + 2, bid);
  CHECK(same_reply(&first));
  CHECK(res.journal == NULL);
  run(c, "CC-R2", T0 + 2, "{\"v\":1,\"type\":\"order.list\",\"id\":\"l1\"}");
  CHECK_EQ(1, last_.orders_n);
  close_core(c);
}

/* The window, exactly (docs/protocol.md): a cost centre's last 1,024
** requests that change the market (DEDUPE_PER_CC; its share of the memory,
** 1 MiB in a market of 7 cost centres, holds them all). */
static void test_a_cost_centre_keeps_its_last_1024_requests(void) {
  imx_core *c = open_core();
  const char *bid =
      "{\"v\":1,\"type\":\"order.new\",\"id\":\"first\",\"service\":\"it.hour\","
      "\"side\":\"bid\",\"qty\":1,\"price\":1000}";
  /* ioc bids with nothing to trade against: each takes an order id and
  ** ends at once, a change of the market that is remembered */
  const char *ioc = "{\"v\":1,\"type\":\"order.new\",\"id\":\"n%d\",\"service\":\"it.hour\","
                    "\"side\":\"bid\",\"qty\":1,\"price\":100,\"tif\":\"ioc\"}";
  run(c, "CC-R2", T0, bid);
  CHECK_EQ(1, last_.order);
  for (int i = 1; i <= 1023; i++) runf(c, "CC-R2", T0, ioc, i);
  core_result res = runf(c, "CC-R2", T0, ioc, 1);
  CHECK_EQ(2, last_.order); /* n1 is remembered: its first reply */
  CHECK(res.journal == NULL);
  run(c, "CC-R2", T0, bid); /* 1,023 requests later: the first reply */
  CHECK_EQ(1, last_.order);
  runf(c, "CC-R2", T0, ioc, 1024);
  CHECK_EQ(1025, last_.order);
  res = run(c, "CC-R2", T0, bid); /* 1,024 later: a new request */
  CHECK_OK(IMX_MSG_ORDER_NEW);
  CHECK_EQ(1026, last_.order);
  CHECK(res.journal != NULL);
  /* ... which is now remembered in its turn, and evicted n1 */
  run(c, "CC-R2", T0, bid);
  CHECK_EQ(1026, last_.order);
  res = runf(c, "CC-R2", T0, ioc, 1);
  CHECK_EQ(1027, last_.order);
  CHECK(res.journal != NULL);
  close_core(c);
}

/* A refused request changes nothing and is not remembered (it is not in
** the journal either, so a restart would not remember it): a repeat is
** run again, and may succeed once the market allows it. */
static void test_a_refused_request_is_not_remembered_and_its_repeat_runs_again(void) {
  imx_core *c = open_core();
  const char *cancel = "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"c1\",\"order\":1}";
  core_result res = run(c, "CC-P1", T0, cancel);
  CHECK_ERROR("not_found", "order", "unknown_order");
  CHECK(res.journal == NULL);
  offer_it(c, "o1", 1, 1000, T0 + 1); /* order 1 */
  res = run(c, "CC-P1", T0 + 2, cancel);
  CHECK_OK(IMX_MSG_ORDER_CANCEL);
  CHECK(res.journal != NULL);
  close_core(c);
}

/* A market of 2,001 cost centres: each has 64 MiB / 2,001 = 33,536 bytes
** for its replies, less than a sweep's reply of 256 fills. That reply is
** not kept, but the request is: its repeat is duplicate_id, done once. */
static void test_a_reply_longer_than_the_cost_centres_share_is_not_done_twice(void) {
  enum { PROVIDERS = 2000 };
  size_t cap = 256 + PROVIDERS * 128;
  char *json = malloc(cap);
  CHECK(json != NULL);
  if (json == NULL) return;
  size_t n = (size_t)snprintf(json, cap,
                              "{\"currency\":\"EUR\",\"services\":[{\"id\":\"s\",\"unit\":\"h\","
                              "\"tick\":1,\"lot\":1}],\"cost_centres\":[");
  for (int p = 0; p < PROVIDERS; p++)
    n += (size_t)snprintf(json + n, cap - n,
                          "{\"id\":\"P%04d\",\"name\":\"p\",\"roles\":[\"provider\"],"
                          "\"budget\":0,\"capacities\":{\"s\":1}},", p);
  n += (size_t)snprintf(json + n, cap - n,
                        "{\"id\":\"R\",\"name\":\"r\",\"roles\":[\"receiver\"],\"budget\":100000}]}");
  CHECK(n < cap);
  imx_market m;
  imx_proto_error err = {0};
  int parsed = imx_market_parse(json, n, &m, &err);
  free(json);
  CHECK_EQ(0, parsed);
  if (parsed != 0) return;
  core_config cfg = {.market = &m, .orders_max = 4096};
  imx_core *c = NULL;
  const char *why = NULL;
  CHECK_EQ(0, core_open(&cfg, &c, &why));
  static char reply[IMX_REPLY_BYTES_MAX];
  imx_request rq;
  char req[256];
  core_result res = {0};
  for (int p = 0; p < 300; p++) {
    snprintf(req, sizeof req, "{\"v\":1,\"type\":\"order.new\",\"id\":\"o\",\"service\":\"s\","
                              "\"side\":\"offer\",\"qty\":1,\"price\":10}");
    CHECK_EQ(0, imx_request_decode(req, strlen(req), &rq, &err));
    core_batch_begin(c);
    res = core_execute(c, &rq, (uint32_t)p, T0, reply, sizeof reply);
  }
  const char *sweep = "{\"v\":1,\"type\":\"order.new\",\"id\":\"sweep\",\"service\":\"s\","
                      "\"side\":\"bid\",\"qty\":300,\"price\":10}";
  CHECK_EQ(0, imx_request_decode(sweep, strlen(sweep), &rq, &err));
  core_batch_begin(c);
  res = core_execute(c, &rq, PROVIDERS, T0, reply, sizeof reply);
  CHECK_EQ(300, res.trades_n);
  CHECK(res.reply_len > 33536);
  core_batch_begin(c);
  res = core_execute(c, &rq, PROVIDERS, T0 + 1, reply, sizeof reply);
  CHECK(res.journal == NULL);
  CHECK_EQ(0, res.trades_n);
  CHECK(contains(reply, res.reply_len, "\"code\":\"duplicate_id\""));
  CHECK(contains(reply, res.reply_len, "longer than this cost centre's memory"));
  CHECK_EQ(300, core_last_trade(c));
  core_close(c);
  imx_market_free(&m);
}

/* ------------------------------------------------------------ regression */

/* Fixed in this change: an order.new that filled more orders than it lists
** reported qty_filled as the listed fills only. */
static void test_order_filling_300_orders_counts_every_fill_and_pages_the_rest(void) {
  imx_core *c = open_core();
  char id[16];
  for (int i = 0; i < 300; i++) {
    snprintf(id, sizeof id, "o%d", i);
    offer_it(c, id, 1, 1000, T0);
  }
  core_result res = run(c, "CC-R2", T0 + 1,
                        "{\"v\":1,\"type\":\"order.new\",\"id\":\"sweep\",\"service\":"
                        "\"it.hour\",\"side\":\"bid\",\"qty\":300,\"price\":1000}");
  CHECK_OK(IMX_MSG_ORDER_NEW);
  CHECK_EQ(301, last_.order);
  CHECK_EQ(1, last_.status); /* filled */
  CHECK_EQ(300, last_.qty_filled);
  CHECK_EQ(0, last_.qty_open);
  CHECK_EQ(256, last_.trades_n);
  CHECK_EQ(44, last_.trades_omitted);
  CHECK_EQ(300, res.trades_n);
  uint64_t last_listed = 0;
  if (last_.trades_n == 256) {
    CHECK_EQ(1, last_.trades[0].trade);
    CHECK_EQ(1, last_.trades[0].qty);
    last_listed = last_.trades[255].trade;
    CHECK_EQ(256, last_listed);
  }
  runf(c, "CC-R2", T0 + 2,
       "{\"v\":1,\"type\":\"trades.list\",\"id\":\"t1\",\"after\":%llu}",
       (unsigned long long)last_listed);
  CHECK_OK(IMX_MSG_TRADES_LIST);
  CHECK_EQ(44, last_.trades_n);
  int in_order = last_.trades_n == 44;
  for (uint32_t i = 0; in_order && i < 44; i++)
    in_order = last_.trades[i].trade == 257 + i && last_.trades[i].qty == 1 &&
               last_.trades[i].buy_order == 301 && last_.trades[i].sell_order == 257 + i;
  CHECK(in_order);
  close_core(c);
}

/* -------------------------------------------------------------- recovery */

#define JOURNAL_MAX 48

typedef struct journal {
  struct {
    int64_t time_ms;
    char cc[IMX_NAME_BYTES_MAX + 1];
    char entry[1024];
    size_t len;
  } e[JOURNAL_MAX];
  uint32_t n;
} journal;

static void journal_add(journal *j, const core_result *res, int64_t time_ms) {
  if (res->journal == NULL) return;
  CHECK(j->n < JOURNAL_MAX && res->journal_len < sizeof j->e[0].entry);
  if (j->n == JOURNAL_MAX || res->journal_len >= sizeof j->e[0].entry) return;
  j->e[j->n].time_ms = time_ms;
  snprintf(j->e[j->n].cc, sizeof j->e[j->n].cc, "%s", res->journal_cc);
  memcpy(j->e[j->n].entry, res->journal, res->journal_len);
  j->e[j->n].len = res->journal_len;
  j->n++;
}

/* run() that journals what the result says to journal. */
static void run_j(imx_core *c, journal *j, const char *cc, int64_t now_ms,
                  const char *json) {
  core_result res = run(c, cc, now_ms, json);
  CHECK_EQ(0, last_.error);
  if (last_.error) fprintf(stderr, "  %s: %.*s\n", json, (int)reply_len_, reply_);
  journal_add(j, &res, now_ms);
}

/* The read-only replies two cores must agree on, byte for byte. */
static const struct {
  const char *cc, *json;
} views[] = {
    {"CC-FIN", "{\"v\":1,\"type\":\"trades.list\",\"id\":\"v0\",\"after\":0}"},
    {"CC-P1", "{\"v\":1,\"type\":\"order.list\",\"id\":\"v1\"}"},
    {"CC-P2", "{\"v\":1,\"type\":\"order.list\",\"id\":\"v2\"}"},
    {"CC-R1", "{\"v\":1,\"type\":\"order.list\",\"id\":\"v3\"}"},
    {"CC-R2", "{\"v\":1,\"type\":\"order.list\",\"id\":\"v4\"}"},
    {"CC-P1", "{\"v\":1,\"type\":\"balance.get\",\"id\":\"v5\"}"},
    {"CC-P2", "{\"v\":1,\"type\":\"balance.get\",\"id\":\"v6\"}"},
    {"CC-R1", "{\"v\":1,\"type\":\"balance.get\",\"id\":\"v7\"}"},
    {"CC-R2", "{\"v\":1,\"type\":\"balance.get\",\"id\":\"v8\"}"},
    {"CC-R1", "{\"v\":1,\"type\":\"book.get\",\"id\":\"v9\",\"service\":\"it.hour\"}"},
    {"CC-R1", "{\"v\":1,\"type\":\"book.get\",\"id\":\"va\",\"service\":\"truck.day\"}"},
    {"CC-R1", "{\"v\":1,\"type\":\"services.list\",\"id\":\"vb\"}"},
    {"CC-R1", "{\"v\":1,\"type\":\"tender.list\",\"id\":\"vf\"}"},
    {"CC-P1", "{\"v\":1,\"type\":\"tender.list\",\"id\":\"vc\"}"},
    {"CC-R1", "{\"v\":1,\"type\":\"tender.get\",\"id\":\"vd\",\"tender\":4}"},
    /* tenders that ended: awarded (lowest, choose, score), lapsed, cancelled */
    {"CC-R1", "{\"v\":1,\"type\":\"tender.get\",\"id\":\"vi\",\"tender\":1}"},
    {"CC-P1", "{\"v\":1,\"type\":\"tender.get\",\"id\":\"vj\",\"tender\":1}"},
    {"CC-R1", "{\"v\":1,\"type\":\"tender.get\",\"id\":\"vk\",\"tender\":2}"},
    {"CC-R2", "{\"v\":1,\"type\":\"tender.get\",\"id\":\"vl\",\"tender\":3}"},
    {"CC-R1", "{\"v\":1,\"type\":\"tender.get\",\"id\":\"vm\",\"tender\":5}"},
    {"CC-P1", "{\"v\":1,\"type\":\"tender.get\",\"id\":\"vn\",\"tender\":5}"},
    {"CC-R2", "{\"v\":1,\"type\":\"tender.get\",\"id\":\"vo\",\"tender\":6}"},
    {"CC-R2", "{\"v\":1,\"type\":\"tender.list\",\"id\":\"ve\"}"},
    {"CC-R1", "{\"v\":1,\"type\":\"cc.get\",\"id\":\"vg\",\"cc\":\"CC-P1\"}"},
    {"CC-R1", "{\"v\":1,\"type\":\"cc.get\",\"id\":\"vh\",\"cc\":\"CC-P2\"}"},
};
#define VIEWS_N (sizeof views / sizeof views[0])

/* Repeats of the journaled requests, and ids used again for other requests:
** the rebuilt memory must answer them as the first did, byte for byte. */
static const struct {
  const char *cc, *json;
} repeats[] = {
    {"CC-R1", "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":"
              "\"it.hour\",\"side\":\"bid\",\"qty\":3,\"price\":1100}"},
    {"CC-R2", "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"x1\",\"order\":3}"},
    {"CC-R2", "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"b2\",\"order\":3}"},
    {"CC-R1", "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n1\",\"service\":"
              "\"it.hour\",\"qty\":2,\"ceiling\":2000,\"deadline_ms\":1000}"},
    {"CC-P2", "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q2\",\"tender\":1,\"price\":1700}"},
    {"CC-ADM", "{\"v\":1,\"type\":\"auction.run\",\"id\":\"a1\",\"service\":\"truck.day\"}"},
    {"CC-FIN", "{\"v\":1,\"type\":\"period.close\",\"id\":\"p1\"}"},
    {"CC-R1", "{\"v\":1,\"type\":\"period.close\",\"id\":\"b1\"}"},
    {"CC-R2", "{\"v\":1,\"type\":\"order.new\",\"id\":\"b6\",\"service\":"
              "\"it.hour\",\"side\":\"bid\",\"qty\":1,\"price\":1000}"},
    {"CC-R1", RATE("r1", 1, 4, ",\"comment\":\"fine\"")},
    {"CC-P1", REPLY("rp", 1, "thanks")},
    {"CC-R1", RATE("r9", 1, 1, "")},   /* already_rated */
    {"CC-P1", REPLY("r8", 1, "again")}, /* already_replied */
    {"CC-R2", RATE("r7", 6, 1, "")},   /* already_rated */
    {"CC-R1", RATE("b1", 1, 1, "")},   /* duplicate_id */
};
#define REPEATS_N (sizeof repeats / sizeof repeats[0])

static journal j_;
static saved_reply before_[VIEWS_N], first_[REPEATS_N];

/* A market with every kind of state (resting and cancelled orders, a
** repeat, a tender awarded by the clock, an auction call, a closed period),
** its journal in j_, and the replies of the views and the repeats on it in
** before_ and first_. */
static imx_core *build_journaled_market(void) {
  journal *jp = &j_;
  saved_reply *before = before_, *first = first_;
  memset(jp, 0, sizeof *jp);
  imx_core *c = open_core();
#define j (*jp)
  /* orders: a trade, a resting bid, and a bid then cancelled */
  run_j(c, &j, "CC-P1", T0, "{\"v\":1,\"type\":\"order.new\",\"id\":\"o1\",\"service\":"
                           "\"it.hour\",\"side\":\"offer\",\"qty\":4,\"price\":1000}");
  run_j(c, &j, "CC-R1", T0 + 1, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":"
                               "\"it.hour\",\"side\":\"bid\",\"qty\":3,\"price\":1100}");
  run_j(c, &j, "CC-R2", T0 + 2, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b2\",\"service\":"
                               "\"it.hour\",\"side\":\"bid\",\"qty\":2,\"price\":900}");
  run_j(c, &j, "CC-R2", T0 + 3, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b3\",\"service\":"
                               "\"it.hour\",\"side\":\"bid\",\"qty\":5,\"price\":800,"
                               "\"tif\":\"period\"}");
  run_j(c, &j, "CC-R2", T0 + 4, "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"x1\",\"order\":3}");
  /* a repeat: answered, not journaled */
  run_j(c, &j, "CC-R2", T0 + 4, "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"x1\",\"order\":3}");
  /* a tender, quoted twice, awarded by the clock */
  run_j(c, &j, "CC-R1", T0 + 5, "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n1\",\"service\":"
                               "\"it.hour\",\"qty\":2,\"ceiling\":2000,\"deadline_ms\":1000}");
  run_j(c, &j, "CC-P1", T0 + 6, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q1\",\"tender\":1,\"price\":1800}");
  run_j(c, &j, "CC-P2", T0 + 7, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q2\",\"tender\":1,\"price\":1700}");
  core_batch_begin(c);
  core_result tick = core_tick(c, T0 + 1005);
  CHECK_EQ(1, tick.trades_n);
  journal_add(&j, &tick, T0 + 1005);
  /* a choose tender: two quotes, one withdrawn, the other awarded; one
  ** that lapses before the next request; one left open with a quote */
  run_j(c, &j, "CC-R1", T0 + 1010, "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n2\",\"service\":"
                                  "\"it.hour\",\"qty\":1,\"ceiling\":2000,\"deadline_ms\":100000,"
                                  "\"decide\":\"choose\"}");
  run_j(c, &j, "CC-P1", T0 + 1011, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q3\",\"tender\":2,\"price\":1900}");
  run_j(c, &j, "CC-P2", T0 + 1012, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q4\",\"tender\":2,\"price\":1600}");
  run_j(c, &j, "CC-P2", T0 + 1013, "{\"v\":1,\"type\":\"quote.withdraw\",\"id\":\"w1\",\"quote\":4}");
  run_j(c, &j, "CC-R1", T0 + 1014, "{\"v\":1,\"type\":\"tender.award\",\"id\":\"aw\",\"tender\":2,\"quote\":3}");
  run_j(c, &j, "CC-R2", T0 + 1015, "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n3\",\"service\":"
                                  "\"it.hour\",\"qty\":1,\"ceiling\":2000,\"deadline_ms\":500,"
                                  "\"decide\":\"choose\"}");
  run_j(c, &j, "CC-R1", T0 + 1016, "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n4\",\"service\":"
                                  "\"it.hour\",\"qty\":1,\"ceiling\":1000,\"deadline_ms\":1000000,"
                                  "\"decide\":\"choose\"}");
  run_j(c, &j, "CC-P1", T0 + 1017, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q5\",\"tender\":4,\"price\":900}");
  /* an auction call, and one left for the period close to call */
  run_j(c, &j, "CC-P1", T0 + 2000, "{\"v\":1,\"type\":\"order.new\",\"id\":\"o2\",\"service\":"
                                  "\"truck.day\",\"side\":\"offer\",\"qty\":4,\"price\":1000}");
  run_j(c, &j, "CC-R2", T0 + 2001, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b4\",\"service\":"
                                  "\"truck.day\",\"side\":\"bid\",\"qty\":3,\"price\":1200}");
  run_j(c, &j, "CC-ADM", T0 + 2002, "{\"v\":1,\"type\":\"auction.run\",\"id\":\"a1\",\"service\":\"truck.day\"}");
  run_j(c, &j, "CC-R1", T0 + 2003, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b5\",\"service\":"
                                  "\"truck.day\",\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  run_j(c, &j, "CC-FIN", T0 + 3000, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p1\"}");
  run_j(c, &j, "CC-FIN", T0 + 3000, "{\"v\":1,\"type\":\"period.close\",\"id\":\"p1\"}");
  /* and a trade in period 2 */
  run_j(c, &j, "CC-R2", T0 + 3001, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b6\",\"service\":"
                                  "\"it.hour\",\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  /* ratings: of an order's trade, of a tender's (P2's), a reply */
  run_j(c, &j, "CC-R1", T0 + 3002, RATE("r1", 1, 4, ",\"comment\":\"fine\""));
  run_j(c, &j, "CC-R1", T0 + 3003, RATE("r2", 2, 5, ""));
  run_j(c, &j, "CC-P1", T0 + 3004, REPLY("rp", 1, "thanks"));
  run_j(c, &j, "CC-R2", T0 + 3005, RATE("r3", 6, 2, ""));
  /* a score tender awarded by the clock (P2's 1500 against P1's 1900: both
  ** unrated, price decides), its trade rated after the award; a choose
  ** tender cancelled with a quote */
  run_j(c, &j, "CC-R1", T0 + 3006, "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n5\",\"service\":"
                                  "\"it.hour\",\"qty\":1,\"ceiling\":2000,\"deadline_ms\":100,"
                                  "\"decide\":\"score\",\"price_weight\":50,\"quality_weight\":50}");
  run_j(c, &j, "CC-P1", T0 + 3007, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q6\",\"tender\":5,\"price\":1900}");
  run_j(c, &j, "CC-P2", T0 + 3008, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q7\",\"tender\":5,\"price\":1500}");
  core_batch_begin(c);
  tick = core_tick(c, T0 + 3200);
  CHECK_EQ(1, tick.trades_n);
  journal_add(&j, &tick, T0 + 3200);
  const char *get5 = "{\"v\":1,\"type\":\"tender.get\",\"id\":\"g5\",\"tender\":5}";
  run(c, "CC-R1", T0 + 3200, get5);
  CHECK(last_.quotes_n == 2 && last_.tenders_n == 1);
  if (last_.quotes_n == 2 && last_.tenders_n == 1) {
    CHECK_EQ(IMX_PTENDER_AWARDED, last_.tenders[0].status);
    CHECK_EQ(7, last_.tenders[0].award_quote);
    CHECK_EQ(7, last_.tenders[0].award_trade);
    CHECK_EQ(2500, last_.quotes[0].score);  /* P1: 50 x 100 / 2000 */
    CHECK_EQ(2, last_.quotes[0].rep.ratings); /* r1 and r3 */
    CHECK_EQ(6, last_.quotes[0].rep.stars_sum);
    CHECK_EQ(12500, last_.quotes[1].score); /* P2: 50 x 500 / 2000 */
    CHECK_EQ(1, last_.quotes[1].rep.ratings); /* r2 */
  }
  run_j(c, &j, "CC-R1", T0 + 3201, RATE("r4", 7, 1, ""));
  run(c, "CC-R1", T0 + 3201, get5); /* the reputation shown is the award's */
  CHECK(last_.quotes_n == 2 && last_.quotes[1].rep.ratings == 1 &&
        last_.quotes[1].rep.stars_sum == 5);
  run_j(c, &j, "CC-R2", T0 + 3202, "{\"v\":1,\"type\":\"tender.new\",\"id\":\"n6\",\"service\":"
                                  "\"it.hour\",\"qty\":1,\"ceiling\":2000,\"deadline_ms\":100000,"
                                  "\"decide\":\"choose\"}");
  run_j(c, &j, "CC-P1", T0 + 3203, "{\"v\":1,\"type\":\"tender.quote\",\"id\":\"q8\",\"tender\":6,\"price\":1800}");
  run_j(c, &j, "CC-R2", T0 + 3204, "{\"v\":1,\"type\":\"tender.cancel\",\"id\":\"c6\",\"tender\":6}");
  CHECK_EQ(35, j.n); /* 33 requests and two ticks; the repeats are not journaled */
  CHECK_EQ(7, core_last_trade(c)); /* b1, three tenders, the call, the close's call, b6 */
  for (size_t v = 0; v < VIEWS_N; v++) {
    run(c, views[v].cc, T0 + 4000, views[v].json);
    CHECK_EQ(0, last_.error);
    save_reply(&before[v]);
  }
  for (size_t k = 0; k < REPEATS_N; k++) {
    core_result res = run(c, repeats[k].cc, T0 + 4000, repeats[k].json);
    CHECK(res.journal == NULL);
    save_reply(&first[k]);
  }
#undef j
  return c;
}

/* The views and the repeats on r answer as they did on the market built. */
static void check_same_market(imx_core *r) {
  for (size_t v = 0; v < VIEWS_N; v++) {
    run(r, views[v].cc, T0 + 4000, views[v].json);
    CHECK(same_reply(&before_[v]));
  }
  for (size_t k = 0; k < REPEATS_N; k++) {
    core_result res = run(r, repeats[k].cc, T0 + 4000, repeats[k].json);
    CHECK(res.journal == NULL);
    CHECK(same_reply(&first_[k]));
  }
}

static void test_replaying_the_journal_rebuilds_the_same_market(void) {
  imx_core *c = build_journaled_market();
  journal *jp = &j_;
#define j (*jp)
  imx_core *r = open_core();
  core_result replayed;
  for (uint32_t i = 0; i < j.n; i++) {
    CHECK_EQ(0, core_replay(r, j.e[i].time_ms, j.e[i].cc, j.e[i].entry, j.e[i].len,
                            &replayed));
    CHECK_EQ(1, replayed.changed); /* every entry changed the market */
  }
  CHECK_EQ(core_last_trade(c), core_last_trade(r));
  check_same_market(r);
#undef j
  close_core(r);
  close_core(c);
}

/* A restart from a snapshot taken after any entry of the journal, and the
** entries after it replayed, answers every view and every repeat exactly as
** the market did; the snapshot read back writes the same bytes. */
static void test_a_snapshot_after_any_entry_and_the_rest_replayed_is_the_same_market(void) {
  imx_core *c = build_journaled_market();
  const journal *j = &j_;
  core_result res;
  for (uint32_t k = 0; k <= j->n; k++) {
    imx_core *a = open_core();
    for (uint32_t i = 0; i < k; i++)
      CHECK_EQ(0, core_replay(a, j->e[i].time_ms, j->e[i].cc, j->e[i].entry, j->e[i].len, &res));
    size_t n = core_snapshot_write(a, NULL, 0);
    char *snap = malloc(n), *again = malloc(n);
    if (snap == NULL || again == NULL) abort();
    CHECK_EQ(n, core_snapshot_write(a, snap, n));
    imx_core *b = open_core();
    const char *why = NULL;
    CHECK_EQ(0, core_snapshot_read(b, snap, n, &why));
    if (why) fprintf(stderr, "  after entry %u: %s\n", k, why);
    CHECK_EQ(n, core_snapshot_write(b, again, n));
    CHECK(memcmp(snap, again, n) == 0);
    for (uint32_t i = k; i < j->n; i++)
      CHECK_EQ(0, core_replay(b, j->e[i].time_ms, j->e[i].cc, j->e[i].entry, j->e[i].len, &res));
    CHECK_EQ(core_last_trade(c), core_last_trade(b));
    check_same_market(b);
    close_core(a);
    close_core(b);
    free(snap);
    free(again);
  }
  close_core(c);
}

/* A snapshot keeps what may still be rated or answered, and every
** reputation; a trade past the window is then refused as before. */
static void test_a_snapshot_keeps_ratings_and_the_trades_still_rateable(void) {
  imx_core *a = open_core();
  two_rateable_trades(a, T0);
  run(a, "CC-R1", T0 + 1, RATE("r", 1, 4, ""));
  CHECK_OK(IMX_MSG_RATING_NEW);
  size_t small_later = 0;
  for (int late = 0; late < 2; late++) {
    int64_t now = late ? T0 + 61 * DAY : T0 + 2;
    run(a, "CC-FIN", now, "{\"v\":1,\"type\":\"services.list\",\"id\":\"s\"}"); /* the clock */
    size_t n = core_snapshot_write(a, NULL, 0);
    char *snap = malloc(n);
    if (snap == NULL) abort();
    CHECK_EQ(n, core_snapshot_write(a, snap, n));
    if (late) CHECK(n < small_later); /* trade 2 is no longer kept */
    small_later = n;
    imx_core *b = open_core();
    const char *why = NULL;
    CHECK_EQ(0, core_snapshot_read(b, snap, n, &why));
    free(snap);
    imx_reply_reputation r = p1_reputation(b, now);
    CHECK_EQ(1, r.ratings);
    CHECK_EQ(4, r.stars_sum);
    run(b, "CC-R1", now, RATE("r2", 1, 4, ""));
    CHECK_ERROR("forbidden", "trade", late ? "rating_window_passed" : "already_rated");
    run(b, "CC-R2", now, RATE("r3", 2, 3, ""));
    if (late) {
      CHECK_ERROR("forbidden", "trade", "rating_window_passed");
      run(a, "CC-R2", now, RATE("r3", 2, 3, "")); /* as the core it came from */
      CHECK_ERROR("forbidden", "trade", "rating_window_passed");
    } else {
      CHECK_OK(IMX_MSG_RATING_NEW);
    }
    /* the reply's window runs from the rating (T0 + 1): 60 days */
    run(b, "CC-P1", now, REPLY("p", 1, "thanks"));
    if (late)
      CHECK_ERROR("forbidden", "trade", "rating_window_passed");
    else
      CHECK_OK(IMX_MSG_RATING_REPLY);
    run(b, "CC-R1", now, "{\"v\":1,\"type\":\"order.new\",\"id\":\"b9\",\"service\":\"it.hour\","
                         "\"side\":\"bid\",\"qty\":1,\"price\":1000}");
    CHECK_EQ(3, core_last_trade(b)); /* a new trade after the snapshot is rated */
    run(b, "CC-R1", now + 1, RATE("r4", 3, 5, ""));
    CHECK_OK(IMX_MSG_RATING_NEW);
    close_core(b);
  }
  close_core(a);
}

/* A snapshot of another market, or cut short, is refused with a reason. */
static void test_a_snapshot_of_another_market_or_cut_short_is_refused(void) {
  imx_core *c = build_journaled_market();
  size_t n = core_snapshot_write(c, NULL, 0);
  char *snap = malloc(n);
  if (snap == NULL) abort();
  CHECK_EQ(n, core_snapshot_write(c, snap, n));
  const char *why = NULL;
  imx_core *b = open_limited(2048, 0); /* other limits: another engine */
  CHECK_EQ(-1, core_snapshot_read(b, snap, n, &why));
  CHECK(why != NULL && strstr(why, "another market") != NULL);
  close_core(b);
  for (size_t cut = 0; cut < n; cut += 1 + cut / 8) {
    b = open_core();
    why = NULL;
    CHECK_EQ(-1, core_snapshot_read(b, snap, cut, &why));
    CHECK(why != NULL);
    close_core(b);
  }
  free(snap);
  close_core(c);
}

/* A journal written by an imxd that did not remember period.close (before
** issue 11, 7) may hold one id twice: both were done, and replay does both,
** or the periods of the ledger's trades would not be the engine's. */
static void test_replay_runs_every_entry_even_one_the_memory_would_answer(void) {
  imx_core *c = open_core();
  const char *close = "{\"v\":1,\"type\":\"period.close\",\"id\":\"p1\"}";
  core_result replayed;
  CHECK_EQ(0, core_replay(c, T0, "CC-FIN", close, strlen(close), &replayed));
  CHECK_EQ(1, replayed.period_closed);
  CHECK_EQ(0, core_replay(c, T0 + 1, "CC-FIN", close, strlen(close), &replayed));
  CHECK_EQ(2, replayed.period_closed);
  offer_it(c, "o1", 1, 1000, T0 + 2);
  core_result res = run(c, "CC-R2", T0 + 2,
                        "{\"v\":1,\"type\":\"order.new\",\"id\":\"b1\",\"service\":\"it.hour\","
                        "\"side\":\"bid\",\"qty\":1,\"price\":1000}");
  CHECK_EQ(1, res.trades_n);
  CHECK_EQ(3, res.trades_n ? res.trades[0].period : 0);
  /* once served, the id is remembered: a repeat closes nothing */
  res = run(c, "CC-FIN", T0 + 3, close);
  CHECK_EQ(0, res.period_closed);
  close_core(c);
}

int main(int argc, char **argv) {
  static const check_case cases[] = {
      CHECK_CASE(test_resting_order_has_no_trades_and_journals_the_request_without_its_token),
      CHECK_CASE(test_crossing_order_lists_its_trades_in_period_1),
      CHECK_CASE(test_batch_market_data_is_the_trade_then_the_new_top_and_empty_after_batch_begin),
      CHECK_CASE(test_ioc_remainder_is_cancelled_with_reason_ioc),
      CHECK_CASE(test_bid_crossing_its_own_offer_is_cancelled_with_reason_self_trade),
      CHECK_CASE(test_order_cancel_replies_the_quantity_cancelled_and_journals_it),
      CHECK_CASE(test_order_list_shows_the_open_orders_of_the_cost_centre),
      CHECK_CASE(test_min_stars_bids_skip_providers_rated_below_and_show_in_order_list),
      CHECK_CASE(test_finance_reads_another_cost_centres_orders_and_balance),
      CHECK_CASE(test_book_get_lists_levels_best_first_up_to_depth),
      CHECK_CASE(test_trades_list_shows_a_receiver_only_its_own_trades_newest_first),
      CHECK_CASE(test_trades_list_shows_finance_every_trade_newest_first),
      CHECK_CASE(test_trades_list_of_another_cost_centre_is_forbidden_not_empty),
      CHECK_CASE(test_trades_list_after_pages_forward_oldest_first),
      CHECK_CASE(test_balance_get_shows_budget_reservation_spending_and_capacities),
      CHECK_CASE(test_tender_new_replies_the_tender_and_reserves_qty_times_ceiling),
      CHECK_CASE(test_tender_quote_replies_the_tender_and_the_quote),
      CHECK_CASE(test_tick_at_the_deadline_awards_the_tender_to_the_lowest_quote),
      CHECK_CASE(test_tender_trade_names_the_tender_and_the_winning_quote),
      CHECK_CASE(test_tick_with_nothing_to_do_has_no_journal),
      CHECK_CASE(test_read_only_requests_have_no_journal),
      CHECK_CASE(test_read_only_request_whose_clock_awards_a_tender_journals_the_tick),
      CHECK_CASE(test_auction_run_clears_at_one_price),
      CHECK_CASE(test_period_close_reports_the_closed_period_and_the_next_trade_is_in_period_2),
      CHECK_CASE(test_period_close_calls_the_auctions_first),
      CHECK_CASE(test_period_summary_adds_the_engines_reserved_and_available),
      CHECK_CASE(test_period_close_sums_up_each_service_and_names_the_periods),
      CHECK_CASE(test_a_snapshot_carries_the_open_periods_sums),
      CHECK_CASE(test_order_for_an_unknown_service_is_unknown_service),
      CHECK_CASE(test_book_get_of_an_unknown_service_is_unknown_service),
      CHECK_CASE(test_order_for_an_unknown_cost_centre_is_unknown_cc),
      CHECK_CASE(test_bid_without_the_receiver_role_is_forbidden),
      CHECK_CASE(test_offer_without_the_provider_role_is_forbidden),
      CHECK_CASE(test_order_for_another_cost_centre_is_forbidden),
      CHECK_CASE(test_receiver_reading_another_cost_centres_balance_is_forbidden),
      CHECK_CASE(test_cancel_of_another_cost_centres_order_is_not_found_open_or_closed),
      CHECK_CASE(test_admin_reads_another_cost_centres_orders_but_not_its_balance),
      CHECK_CASE(test_auction_run_by_a_non_admin_is_forbidden),
      CHECK_CASE(test_period_close_by_neither_admin_nor_finance_is_forbidden),
      CHECK_CASE(test_cancel_of_an_unknown_order_is_not_found),
      CHECK_CASE(test_quote_on_an_unknown_tender_is_not_found),
      CHECK_CASE(test_order_price_off_the_tick_is_bad_tick_on_price),
      CHECK_CASE(test_tender_ceiling_off_the_tick_is_bad_tick_on_ceiling),
      CHECK_CASE(test_auction_reference_off_the_tick_is_bad_tick_on_reference),
      CHECK_CASE(test_quantity_off_the_lot_is_bad_lot),
      CHECK_CASE(test_divisible_order_in_an_indivisible_service_is_aon_required),
      CHECK_CASE(test_price_above_the_cap_is_bad_price),
      CHECK_CASE(test_market_order_in_a_continuous_service_is_bad_price),
      CHECK_CASE(test_auction_run_on_a_continuous_service_is_wrong_mode),
      CHECK_CASE(test_quote_above_the_ceiling_is_above_ceiling),
      CHECK_CASE(test_bid_beyond_the_budget_is_insufficient_budget_and_names_what_is_left),
      CHECK_CASE(test_tender_beyond_the_budget_is_insufficient_budget_on_ceiling),
      CHECK_CASE(test_offer_beyond_the_capacity_is_over_capacity_and_names_what_is_left),
      CHECK_CASE(test_offer_of_a_service_the_provider_does_not_provide_is_not_provider),
      CHECK_CASE(test_quote_on_a_service_the_provider_does_not_provide_is_not_provider),
      CHECK_CASE(test_auction_order_against_own_order_on_the_other_side_is_self_trade),
      CHECK_CASE(test_quote_on_own_tender_is_self_trade),
      CHECK_CASE(test_second_quote_by_one_provider_is_already_quoted),
      CHECK_CASE(test_order_beyond_the_cost_centres_limit_is_too_many_orders),
      CHECK_CASE(test_order_beyond_the_markets_limit_is_market_full),
      CHECK_CASE(test_tender_beyond_the_cost_centres_limit_is_too_many_tenders),
      CHECK_CASE(test_tender_beyond_the_markets_limit_is_market_full),
      CHECK_CASE(test_a_market_with_66000_capacities_starts_and_trades),
      CHECK_CASE(test_choose_tender_awarded_to_the_dearer_quote_trades_at_its_price),
      CHECK_CASE(test_score_tender_is_awarded_to_the_best_score_at_the_deadline),
      CHECK_CASE(test_score_tender_weights_are_bad_weights_on_price_weight),
      CHECK_CASE(test_score_tender_survives_a_snapshot_and_a_replay),
      CHECK_CASE(test_an_awarded_score_tender_shows_every_quotes_score_afterwards),
      CHECK_CASE(test_a_lapsed_or_cancelled_tender_shows_how_it_ended),
      CHECK_CASE(test_only_the_newest_ended_tenders_are_kept),
      CHECK_CASE(test_tender_award_errors_name_their_reason_and_field),
      CHECK_CASE(test_a_refused_award_is_run_again_and_may_succeed),
      CHECK_CASE(test_tender_cancel_by_the_receiver_releases_and_repeats),
      CHECK_CASE(test_quote_withdraw_by_quote_or_tender_releases_capacity),
      CHECK_CASE(test_tender_list_shows_own_tenders_and_the_jobs_of_the_services_provided),
      CHECK_CASE(test_tender_get_shows_every_quote_to_the_buyer_and_its_own_to_a_provider),
      CHECK_CASE(test_tender_market_data_opened_quoted_and_lapsed),
      CHECK_CASE(test_repeated_request_gets_the_same_bytes_and_changes_nothing),
      CHECK_CASE(test_same_id_from_another_cost_centre_is_a_new_request),
      CHECK_CASE(test_repeat_of_a_reply_of_five_fills_is_the_same_bytes),
      CHECK_CASE(test_repeat_of_a_sweep_listing_256_fills_is_the_same_bytes),
      CHECK_CASE(test_an_order_cancel_under_an_order_new_id_is_duplicate_id_and_cancels_nothing),
      CHECK_CASE(test_an_id_used_again_with_other_content_is_duplicate_id_and_the_first_still_repeats),
      CHECK_CASE(test_a_repeat_that_names_its_own_cost_centre_is_the_same_request),
      CHECK_CASE(test_every_request_that_changes_the_market_is_done_once),
      CHECK_CASE(test_a_repeated_period_close_closes_one_period),
      CHECK_CASE(test_65536_requests_of_another_cost_centre_evict_nothing),
      CHECK_CASE(test_a_cost_centre_keeps_its_last_1024_requests),
      CHECK_CASE(test_a_refused_request_is_not_remembered_and_its_repeat_runs_again),
      CHECK_CASE(test_a_reply_longer_than_the_cost_centres_share_is_not_done_twice),
      CHECK_CASE(test_order_filling_300_orders_counts_every_fill_and_pages_the_rest),
      CHECK_CASE(test_services_list_shows_every_service_with_its_market_now),
      CHECK_CASE(test_services_list_pages_in_market_file_order),
      CHECK_CASE(test_services_list_from_an_unknown_service_is_unknown_service_on_start),
      CHECK_CASE(test_the_last_trade_of_a_service_is_kept_from_an_auction_call),
      CHECK_CASE(test_cc_list_is_the_directory_with_budgets_only_for_finance_and_self),
      CHECK_CASE(test_cc_list_pages_and_an_unknown_start_is_unknown_cc),
      CHECK_CASE(test_cc_get_shows_one_cost_centre_the_asker_by_default),
      CHECK_CASE(test_cc_get_of_an_unknown_cost_centre_is_unknown_cc),
      CHECK_CASE(test_book_get_lists_offers_in_priority_order_with_their_providers),
      CHECK_CASE(test_a_services_page_too_long_for_a_reply_is_cut_and_next_goes_on),
      CHECK_CASE(test_the_buyer_rates_a_trade_once_and_it_is_journaled_for_the_ledger),
      CHECK_CASE(test_only_the_buyer_rates_and_only_known_trades),
      CHECK_CASE(test_bad_stars_and_comments_are_refused_when_decoded),
      CHECK_CASE(test_a_trade_is_rated_within_the_window_only),
      CHECK_CASE(test_accepted_ratings_drive_min_stars_matching),
      CHECK_CASE(test_the_market_file_sets_the_rating_window),
      CHECK_CASE(test_a_services_levels_bound_the_different_prices_a_side_holds),
      CHECK_CASE(test_the_provider_replies_once_to_a_rating),
      CHECK_CASE(test_reputation_all_time_and_of_the_last_90_days),
      CHECK_CASE(test_a_tenders_trade_is_rated_by_the_tenders_receiver),
      CHECK_CASE(test_replaying_the_journal_rebuilds_the_same_market),
      CHECK_CASE(test_a_snapshot_keeps_ratings_and_the_trades_still_rateable),
      CHECK_CASE(test_a_snapshot_after_any_entry_and_the_rest_replayed_is_the_same_market),
      CHECK_CASE(test_a_snapshot_of_another_market_or_cut_short_is_refused),
      CHECK_CASE(test_replay_runs_every_entry_even_one_the_memory_would_answer),
      CHECK_CASE(test_modify_reducing_the_quantity_keeps_priority),
      CHECK_CASE(test_modify_raising_the_quantity_or_changing_the_price_loses_priority),
      CHECK_CASE(test_modify_to_a_crossing_price_trades_at_once),
      CHECK_CASE(test_modify_of_another_cost_centres_or_an_unknown_order_is_not_found),
      CHECK_CASE(test_modify_to_a_price_off_the_tick_or_a_quantity_not_above_the_filled_is_bad_field),
      CHECK_CASE(test_modify_raising_a_bid_beyond_the_budget_is_insufficient_budget),
      CHECK_CASE(test_modify_repeated_is_answered_with_the_same_bytes_and_other_content_is_duplicate_id),
      CHECK_CASE(test_the_orders_a_command_closes_are_in_its_result),
  };
  int rc = check_run(cases, sizeof cases / sizeof cases[0], argc, argv);
  if (market_parsed_) imx_market_free(&market_);
  return rc;
}
