/*
** fuzz_request.c -- libFuzzer harness for the message decoders (msg.c).
**
** For any bytes: a request that decodes must encode, and decode again to
** the same struct (decode(encode(x)) == x); a refused one must say why and
** make an error reply that decodes. The same bytes are also decoded as a
** reply (the imx client's side) and, when they decode, round-tripped too.
** The bytes are also read as a market file: a market that loads must keep
** every bound of imx_base.h (the sum of budgets above all), find every id
** at its own position, and carry its services' translations through a
** services.list reply. And the bytes are read as money typed by a person
** (proto/money.c, at 0..4 decimals): an amount that reads must format and
** read back to itself, a refused one must say why. ASan and UBSan watch
** every step; a leak of a reply's
** lists or of a market is a crash.
**
** Build: CC=clang cmake -DIMX_FUZZ=ON; run: tests/fuzz/run.sh DIR SECONDS.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imx_proto.h"
#include "proto_eq.h"

/* A decoded reply (at most IMX_REPLY_BYTES_MAX) encodes again to at most ~6
** times its text: a raw 0x7f in a string comes back as \u007f. */
#define REPLY_BYTES_MAX (8 * IMX_REPLY_BYTES_MAX)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* assert() is not enough: Release builds keep it, but a fuzzer must crash
** whatever NDEBUG says. */
#define MUST(cond)                                                            \
  do {                                                                        \
    if (!(cond)) abort();                                                     \
  } while (0)

static void request_round_trip(const char *buf, size_t len) {
  static char out[8192];
  imx_request x, y;
  imx_proto_error err = {0};
  if (imx_request_decode(buf, len, &x, &err) == 0) {
    size_t n = imx_request_encode(&x, out, sizeof out);
    MUST(n > 0 && n == strlen(out));
    MUST(imx_request_decode(out, n, &y, &err) == 0);
    MUST(imx_request_eq(&x, &y));
    return;
  }
  MUST(err.code != NULL && err.message != NULL);
  MUST(strlen(x.id) <= IMX_NAME_BYTES_MAX);
  size_t n = imx_error_encode(x.id, err.code, err.field, err.message, out,
                              sizeof out);
  MUST(n > 0);
  imx_reply r;
  MUST(imx_reply_decode(out, n, &r, &err) == 0);
  MUST(r.error == 1 && strcmp(r.id, x.id) == 0);
  imx_reply_free(&r);
}

static void reply_round_trip(const char *buf, size_t len) {
  static char out[REPLY_BYTES_MAX];
  imx_reply x, y;
  imx_proto_error err = {0};
  if (imx_reply_decode(buf, len, &x, &err) != 0) {
    MUST(err.code != NULL);
    MUST(!x.trades && !x.orders && !x.bids && !x.offers && !x.capacities &&
         !x.tenders && !x.quotes);
    return;
  }
  size_t n = imx_reply_encode(&x, out, sizeof out);
  MUST(n > 0 && n == strlen(out));
  MUST(imx_reply_decode(out, n, &y, &err) == 0);
  MUST(imx_reply_eq(&x, &y));
  imx_reply_free(&x);
  imx_reply_free(&y);
}

/* Market data, as imx watch reads it off the PUB socket. */
static void md_round_trip(const char *buf, size_t len) {
  static char out[4096];
  imx_md_event x, y;
  imx_proto_error err = {0};
  if (imx_md_decode(buf, len, &x, &err) != 0) return;
  size_t n = imx_md_encode(&x, out, sizeof out);
  MUST(n > 0 && n == strlen(out));
  MUST(imx_md_decode(out, n, &y, &err) == 0);
  MUST(memcmp(&x, &y, sizeof x) == 0);
}

/* A service's translations, as services.list carries them: a row with the
** texts the market file gave encodes, and decodes to the same texts. */
static void texts_reach_the_wire(const imx_market_service *s) {
  static char out[IMX_REPLY_BYTES_MAX];
  static imx_reply_service row;
  MUST(s->texts_n <= IMX_TRANSLATIONS_MAX);
  memset(&row, 0, sizeof row);
  memcpy(row.service, s->id, sizeof row.service);
  memcpy(row.name, s->name, sizeof row.name);
  memcpy(row.unit, s->unit, sizeof row.unit);
  memcpy(row.currency, s->currency, sizeof row.currency);
  memcpy(row.texts, s->texts, sizeof row.texts);
  row.texts_n = s->texts_n;
  row.tick_minor = s->tick_minor, row.lot = s->lot;
  imx_reply x, y;
  memset(&x, 0, sizeof x);
  x.type = IMX_MSG_SERVICES_LIST;
  x.services = &row, x.services_n = 1;
  size_t n = imx_reply_encode(&x, out, sizeof out);
  imx_proto_error err = {0};
  MUST(n > 0 && imx_reply_decode(out, n, &y, &err) == 0);
  MUST(y.services_n == 1 && y.services[0].texts_n == s->texts_n);
  MUST(memcmp(y.services[0].texts, s->texts, s->texts_n * sizeof *s->texts) == 0);
  imx_reply_free(&y);
}

/* The market file, as imxd loads it. */
static void market_check(const char *buf, size_t len) {
  imx_market m;
  imx_proto_error err = {0};
  if (imx_market_parse(buf, len, &m, &err) != 0) {
    MUST(err.code != NULL && err.message != NULL);
    MUST(m.services == NULL && m.ccs == NULL && m.ccs_n == 0);
    return;
  }
  MUST(m.services_n <= IMX_SERVICES_MAX && m.ccs_n <= IMX_CCS_MAX);
  MUST(m.tenders_per_cc_max <= IMX_TENDERS_PER_CC_MAX);
  MUST(m.ratings_min >= 1 && m.ratings_min <= IMX_RATINGS_MIN_MAX);
  MUST(m.decimals >= 0 && m.decimals <= IMX_DECIMALS_MAX);
  for (uint32_t i = 0; i < m.services_n; i++) {
    const imx_market_service *s = &m.services[i];
    MUST(imx_market_service_find(&m, s->id) == (int64_t)i);
    MUST(s->tick_minor >= 1 && s->tick_minor <= IMX_PRICE_MAX_MINOR);
    MUST(s->lot >= 1 && s->lot <= IMX_QTY_MAX);
    MUST(s->price_cap_minor >= 0 && s->price_cap_minor <= IMX_PRICE_MAX_MINOR);
    MUST(s->levels >= 1 && s->levels <= IMX_LEVELS_MAX);
    if (s->texts_n) texts_reach_the_wire(s);
  }
  int64_t budgets = 0;
  uint64_t capacities = 0;
  for (uint32_t i = 0; i < m.ccs_n; i++) {
    const imx_market_cc *c = &m.ccs[i];
    MUST(imx_market_cc_find(&m, c->id) == (int64_t)i);
    MUST(c->budget_minor >= 0 &&
         c->budget_minor <= IMX_BUDGETS_TOTAL_MAX_MINOR - budgets);
    budgets += c->budget_minor;
    for (uint32_t k = 0; k < c->capacities_n; k++)
      MUST(c->capacities[k].service < m.services_n &&
           c->capacities[k].qty >= 0 && c->capacities[k].qty <= IMX_CAPACITY_MAX);
    capacities += c->capacities_n;
  }
  MUST(capacities == imx_market_capacities_total(&m));
  MUST(imx_market_auction_services(&m) <= m.services_n);
  imx_market_free(&m);
}

/* Money as a person types it: the bytes up to 40 of them as the text, the
** decimals from the length. */
static void money_check(const char *buf, size_t len) {
  char text[41], out[IMX_MONEY_TEXT_BYTES];
  size_t n = len < 40 ? len : 40;
  memcpy(text, buf, n);
  text[n] = '\0';
  int decimals = (int)(len % (IMX_DECIMALS_MAX + 1));
  int64_t v = 0, back = 0;
  imx_proto_error err = {0};
  if (imx_money_parse(text, decimals, IMX_MONEY_SIGNED, INT64_MAX, &v, &err) != 0) {
    MUST(err.code != NULL && err.message != NULL);
    return;
  }
  MUST(strlen(text) > 0);
  imx_money_format(v, decimals, len % 2 ? IMX_MONEY_COMMA : 0, out);
  MUST(imx_money_parse(out, decimals, IMX_MONEY_SIGNED, INT64_MAX, &back, &err) == 0);
  MUST(back == v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  request_round_trip(buf, size);
  reply_round_trip(buf, size);
  md_round_trip(buf, size);
  market_check(buf, size);
  money_check(buf, size);
  return 0;
}
