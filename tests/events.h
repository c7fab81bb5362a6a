/*
** events.h -- the event recorder and fixture shared by test_engine.c and
** test_market.c: tests that run one command and compare the events it
** produced with the events the rules demand, field by field.
**
** A recorder copies every event the engine emits. Each command helper
** (submit, PLACE, cancel, modify, period_end) first marks the recorder, so
** EXPECT_EVENTS() speaks about the last command alone and demands exactly
** the listed events, no more, no fewer. The fixture is one engine E that
** records into R, and S, the service under test: the event builders stamp S
** into the expected events, so a test that works on two services sets S
** before it states expectations. After every test finish() demands that
** imx_engine_check() finds every invariant intact. Usage:
**
**   static void test_bid_rests(void) {
**     E = engine_create((imx_engine_config){.orders_max = 64,
**                                           .services_max = 4}, &R);
**     S = ...;                     (the file's own setup, service_add)
**     CHECK_EQ(1, BUY(A, 10, 100));
**     EXPECT_EVENTS(accepted(1, A, BID, GTC, 0, 10, 100));
**     EXPECT_LEVELS(BID, {100, 10, 1});
**     finish();
**   }
**
** EXPECT_EVENTS compares the fields imx_engine.h says are meaningful for the
** event's type (that the others are zero is then a test of its own). A file
** that defines EVENTS_COMPARE_ALL_FIELDS to 1 before including this one
** compares every field instead, and its expected events must carry zero
** wherever a field does not apply.
**
** Failures are reported at the test file's line, as check.h does. Everything
** is static (inline, so that a file need not use every helper).
*/
#ifndef IMX_TEST_EVENTS_H
#define IMX_TEST_EVENTS_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "imx_engine.h"

#ifndef EVENTS_COMPARE_ALL_FIELDS
#define EVENTS_COMPARE_ALL_FIELDS 0
#endif

/* Short names keep the expectations on one line each, like a table. */
#define BID IMX_BID
#define OFFER IMX_OFFER
#define GTC IMX_TIF_GTC
#define PERIOD IMX_TIF_PERIOD
#define IOC IMX_TIF_IOC
#define FOK IMX_TIF_FOK
#define USER IMX_CANCEL_USER
#define BY_IOC IMX_CANCEL_IOC
#define BY_FOK IMX_CANCEL_FOK

/* ---------------------------------------------------------------- recorder */

#define REC_CAP 4096u

typedef struct recorder {
  size_t n;    /* events seen; more than REC_CAP fails the test in finish() */
  size_t mark; /* index of the first event of the last command              */
  imx_event ev[REC_CAP];
} recorder;

/* Copies field by field into zeroed memory: struct assignment need not copy
** padding, and the determinism test compares recorded events with memcmp, so
** only the fields themselves may decide equality. */
static inline void record(imx_event *dst, const imx_event *ev) {
  memset(dst, 0, sizeof *dst);
  dst->type = ev->type;
  dst->service = ev->service;
  dst->order_id = ev->order_id;
  dst->cc = ev->cc;
  dst->side = ev->side;
  dst->tif = ev->tif;
  dst->aon = ev->aon;
  dst->qty = ev->qty;
  dst->price_minor = ev->price_minor;
  dst->reason = ev->reason;
  dst->status = ev->status;
  dst->priority_kept = ev->priority_kept;
  dst->trade_id = ev->trade_id;
  dst->buy_order_id = ev->buy_order_id;
  dst->sell_order_id = ev->sell_order_id;
  dst->buyer_cc = ev->buyer_cc;
  dst->seller_cc = ev->seller_cc;
  dst->aggressor = ev->aggressor;
  dst->surplus = ev->surplus;
  dst->surplus_side = ev->surplus_side;
  dst->available = ev->available;
  dst->tender_id = ev->tender_id;
  dst->quote_id = ev->quote_id;
  dst->deadline_ms = ev->deadline_ms;
  dst->decide = ev->decide;
  dst->price_weight = ev->price_weight;
  dst->quality_weight = ev->quality_weight;
  dst->score = ev->score;
}

static inline void on_event(void *ctx, const imx_event *ev) {
  recorder *r = ctx;
  if (r->n < REC_CAP) record(&r->ev[r->n], ev);
  r->n++;
}

/* --------------------------------------------------------------- fixture */

static recorder R;       /* every event of E                  */
static imx_engine *E;    /* the engine under test             */
static uint32_t S;       /* the service under test            */
static uint64_t last_id; /* order id written by the last order_new */

/* Records a failure at file:line, like a failed CHECK. */
static inline void fail_in(const char *file, int line, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "  %s:%d: ", file, line);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  check_failures_++;
}

/* A failure at `line` of the test file (the file being compiled, which
** includes this one): the helpers below take the line of the test's call. */
#define fail_at(line, ...) fail_in(__BASE_FILE__, line, __VA_ARGS__)

/* An engine that records into r (emptied first). cfg's on_event and ctx are
** set here. Nothing after could run without an engine, so a failure exits. */
static inline imx_engine *engine_create(imx_engine_config cfg, recorder *r) {
  imx_engine *e = NULL;
  cfg.on_event = on_event;
  cfg.ctx = r;
  memset(r, 0, sizeof *r);
  imx_status st = imx_engine_create(&cfg, &e);
  if (st != IMX_OK || e == NULL) {
    fprintf(stderr, "imx_engine_create(%u, %u) failed: %d\n", cfg.orders_max,
            cfg.services_max, (int)st);
    exit(2);
  }
  return e;
}

static inline void finish(void) {
  CHECK_EQ(0, imx_engine_check(E));
  if (R.n > REC_CAP)
    fail_in(__FILE__, __LINE__, "recorder overflow: %zu events", R.n);
  imx_engine_destroy(E);
  E = NULL;
}

/* -------------------------------------------------------------- commands */

static inline void mark(void) { R.mark = R.n; }

static inline imx_status submit(uint32_t svc, uint32_t cc, imx_side side,
                                imx_tif tif, int aon, int64_t qty,
                                int64_t price_minor) {
  imx_order_new o = {svc, cc, side, tif, aon, qty, price_minor, 0, 0};
  mark();
  last_id = 0;
  return imx_engine_order_new(E, &o, &last_id);
}

/* An order on S the test expects to be accepted; returns its id. */
#define PLACE(cc, side, tif, aon, qty, price) \
  place_(__LINE__, cc, side, tif, aon, qty, price)
static inline uint64_t place_(int line, uint32_t cc, imx_side side,
                              imx_tif tif, int aon, int64_t qty,
                              int64_t price_minor) {
  imx_status st = submit(S, cc, side, tif, aon, qty, price_minor);
  if (st != IMX_OK)
    fail_at(line, "order_new(cc %u, side %d, tif %d, aon %d, qty %lld, "
            "price %lld) returned %s", cc, (int)side, (int)tif, aon,
            (long long)qty, (long long)price_minor, imx_status_name(st));
  return last_id;
}
#define BUY(cc, qty, price) PLACE(cc, BID, GTC, 0, qty, price)
#define SELL(cc, qty, price) PLACE(cc, OFFER, GTC, 0, qty, price)

static inline imx_status cancel(uint64_t id) {
  mark();
  return imx_engine_order_cancel(E, id);
}

static inline imx_status modify(uint64_t id, int64_t qty_open,
                                int64_t price_minor) {
  mark();
  return imx_engine_order_modify(E, id, qty_open, price_minor);
}

static inline imx_status period_end(uint32_t svc) {
  mark();
  return imx_engine_period_end(E, svc);
}

/* ------------------------------------------------------- expected events */

static inline imx_event accepted(uint64_t id, uint32_t cc, imx_side side,
                                 imx_tif tif, int aon, int64_t qty,
                                 int64_t price_minor) {
  imx_event e = {.type = IMX_EV_ACCEPTED, .service = S, .order_id = id,
                 .cc = cc, .side = side, .tif = tif, .aon = aon, .qty = qty,
                 .price_minor = price_minor};
  return e;
}

static inline imx_event trade(uint64_t trade_id, uint64_t buy_id,
                              uint64_t sell_id, uint32_t buyer_cc,
                              uint32_t seller_cc, int64_t qty,
                              int64_t price_minor, imx_side aggressor) {
  imx_event e = {.type = IMX_EV_TRADE, .service = S, .trade_id = trade_id,
                 .buy_order_id = buy_id, .sell_order_id = sell_id,
                 .buyer_cc = buyer_cc, .seller_cc = seller_cc, .qty = qty,
                 .price_minor = price_minor, .aggressor = aggressor};
  return e;
}

static inline imx_event cancelled(uint64_t id, uint32_t cc, imx_side side,
                                  int64_t qty, imx_cancel_reason reason) {
  imx_event e = {.type = IMX_EV_CANCELLED, .service = S, .order_id = id,
                 .cc = cc, .side = side, .qty = qty, .reason = reason};
  return e;
}

static inline imx_event expired(uint64_t id, uint32_t cc, imx_side side,
                                int64_t qty) {
  imx_event e = {.type = IMX_EV_EXPIRED, .service = S, .order_id = id,
                 .cc = cc, .side = side, .qty = qty};
  return e;
}

static inline imx_event rejected(uint64_t id, imx_status status) {
  imx_event e = {.type = IMX_EV_REJECTED, .order_id = id, .status = status};
  return e;
}

static inline imx_event modified(uint64_t id, uint32_t cc, imx_side side,
                                 int64_t qty, int64_t price_minor,
                                 int priority_kept) {
  imx_event e = {.type = IMX_EV_MODIFIED, .service = S, .order_id = id,
                 .cc = cc, .side = side, .qty = qty,
                 .price_minor = price_minor, .priority_kept = priority_kept};
  return e;
}

/* Our own names, so that a broken imx_event_type_name() cannot hide a
** failure message. */
static inline const char *ev_name(imx_event_type t) {
  static const char *const names[] = {
      "accepted",       "trade",          "cancelled",       "expired",
      "rejected",       "modified",       "auction",         "tender_opened",
      "quote_accepted", "quote_released", "tender_awarded",  "tender_unfilled",
      "tender_cancelled"};
  return (unsigned)t < 13 ? names[t] : "?";
}

static inline void dump_event(const imx_event *ev) {
  fprintf(stderr,
          "      %-16s svc %u id %llu cc %u side %d tif %d aon %d qty %lld "
          "price %lld reason %d status %d kept %d | trade %llu buy %llu "
          "sell %llu bcc %u scc %u aggr %d | surplus %lld sside %d avail "
          "%lld | tender %llu quote %llu deadline %lld\n",
          ev_name(ev->type), ev->service, (unsigned long long)ev->order_id,
          ev->cc, (int)ev->side, (int)ev->tif, ev->aon, (long long)ev->qty,
          (long long)ev->price_minor, (int)ev->reason, (int)ev->status,
          ev->priority_kept, (unsigned long long)ev->trade_id,
          (unsigned long long)ev->buy_order_id,
          (unsigned long long)ev->sell_order_id, ev->buyer_cc, ev->seller_cc,
          (int)ev->aggressor, (long long)ev->surplus, (int)ev->surplus_side,
          (long long)ev->available, (unsigned long long)ev->tender_id,
          (unsigned long long)ev->quote_id, (long long)ev->deadline_ms);
}

/* Compares want w with got g, event i of the command; the fields compared
** are set by EVENTS_COMPARE_ALL_FIELDS (see the top). Returns 0 if all
** match. */
static inline int expect_one(int line, size_t i, const imx_event *w,
                             const imx_event *g) {
  int bad = 0;
#define CMP(f)                                                              \
  do {                                                                      \
    if ((long long)w->f != (long long)g->f) {                               \
      fail_at(line, "event %zu (%s): %s want %lld, got %lld", i,            \
              ev_name(w->type), #f, (long long)w->f, (long long)g->f);      \
      bad = 1;                                                              \
    }                                                                       \
  } while (0)
  if (w->type != g->type) {
    fail_at(line, "event %zu: want %s, got %s", i, ev_name(w->type),
            ev_name(g->type));
    return 1;
  }
  if (EVENTS_COMPARE_ALL_FIELDS) {
    CMP(service); CMP(order_id); CMP(cc); CMP(side); CMP(tif); CMP(aon);
    CMP(qty); CMP(price_minor); CMP(reason); CMP(status); CMP(priority_kept);
    CMP(trade_id); CMP(buy_order_id); CMP(sell_order_id); CMP(buyer_cc);
    CMP(seller_cc); CMP(surplus); CMP(surplus_side); CMP(available);
    CMP(tender_id); CMP(quote_id); CMP(deadline_ms); CMP(decide);
    CMP(price_weight); CMP(quality_weight); CMP(score);
    /* The aggressor of a tender trade is not specified. */
    if (!(w->type == IMX_EV_TRADE && w->tender_id != 0)) CMP(aggressor);
    return bad;
  }
  switch (w->type) {
  case IMX_EV_ACCEPTED:
    CMP(service); CMP(order_id); CMP(cc); CMP(side); CMP(tif); CMP(aon);
    CMP(qty); CMP(price_minor);
    break;
  case IMX_EV_TRADE:
    CMP(service); CMP(trade_id); CMP(buy_order_id); CMP(sell_order_id);
    CMP(buyer_cc); CMP(seller_cc); CMP(qty); CMP(price_minor);
    CMP(aggressor);
    break;
  case IMX_EV_CANCELLED:
    CMP(service); CMP(order_id); CMP(cc); CMP(side); CMP(qty); CMP(reason);
    break;
  case IMX_EV_EXPIRED:
    CMP(service); CMP(order_id); CMP(cc); CMP(side); CMP(qty);
    break;
  case IMX_EV_REJECTED:
    CMP(order_id); CMP(status);
    break;
  case IMX_EV_MODIFIED:
    CMP(service); CMP(order_id); CMP(cc); CMP(side); CMP(qty);
    CMP(price_minor); CMP(priority_kept);
    break;
  default:
    /* Auctions, risk and tenders: test_market.c compares every field. */
    break;
  }
#undef CMP
  return bad;
}

static inline void expect_events_(int line, const imx_event *want, size_t n) {
  size_t got = R.n - R.mark;
  int bad = 0;
  if (got != n) {
    fail_at(line, "want %zu events, got %zu", n, got);
    bad = 1;
  }
  for (size_t i = 0; i < n && i < got && R.mark + i < REC_CAP; i++)
    bad |= expect_one(line, i, &want[i], &R.ev[R.mark + i]);
  if (bad) {
    fprintf(stderr, "    the command emitted:\n");
    for (size_t i = R.mark; i < R.n && i < REC_CAP; i++) dump_event(&R.ev[i]);
  }
}

#define EXPECT_EVENTS(...)                                                  \
  expect_events_(__LINE__, (const imx_event[]){__VA_ARGS__},                \
                 sizeof((const imx_event[]){__VA_ARGS__}) / sizeof(imx_event))
#define EXPECT_NO_EVENTS() expect_events_(__LINE__, NULL, 0)

/* ------------------------------------------------------ expected queries */

static inline void expect_levels_(int line, imx_side side,
                                  const imx_level_info *want, uint32_t n) {
  imx_level_info got[64];
  uint32_t k = imx_engine_levels(E, S, side, got, 64);
  if (k != n) fail_at(line, "%s levels: want %u, got %u",
                      side == BID ? "bid" : "offer", n, k);
  for (uint32_t i = 0; i < n && i < k; i++)
    if (want[i].price_minor != got[i].price_minor ||
        want[i].qty_open != got[i].qty_open ||
        want[i].orders != got[i].orders)
      fail_at(line, "%s level %u: want {%lld, %lld, %u}, got {%lld, %lld, %u}",
              side == BID ? "bid" : "offer", i,
              (long long)want[i].price_minor, (long long)want[i].qty_open,
              want[i].orders, (long long)got[i].price_minor,
              (long long)got[i].qty_open, got[i].orders);
}

/* EXPECT_LEVELS(BID, {price, qty_open, orders}, ...), best level first. */
#define EXPECT_LEVELS(side, ...)                                            \
  expect_levels_(__LINE__, side, (const imx_level_info[]){__VA_ARGS__},     \
                 (uint32_t)(sizeof((const imx_level_info[]){__VA_ARGS__}) / \
                            sizeof(imx_level_info)))
#define EXPECT_NO_LEVELS(side) expect_levels_(__LINE__, side, NULL, 0)

static inline void expect_order_(int line, uint64_t id, int64_t original,
                                 int64_t open, int64_t filled,
                                 int64_t price_minor) {
  imx_order_info o;
  memset(&o, 0, sizeof o);
  imx_status st = imx_engine_order_get(E, id, &o);
  if (st != IMX_OK) {
    fail_at(line, "order %llu: order_get returned %d, want open",
            (unsigned long long)id, (int)st);
    return;
  }
  if (o.order_id != id || o.qty_original != original || o.qty_open != open ||
      o.qty_filled != filled || o.price_minor != price_minor)
    fail_at(line, "order %llu: want id %llu original %lld open %lld filled "
            "%lld price %lld, got id %llu original %lld open %lld filled "
            "%lld price %lld", (unsigned long long)id,
            (unsigned long long)id, (long long)original, (long long)open,
            (long long)filled, (long long)price_minor,
            (unsigned long long)o.order_id, (long long)o.qty_original,
            (long long)o.qty_open, (long long)o.qty_filled,
            (long long)o.price_minor);
}

/* EXPECT_ORDER(id, original, open, filled, price) of an open order. */
#define EXPECT_ORDER(id, original, open, filled, price)                     \
  expect_order_(__LINE__, id, original, open, filled, price)

static inline void expect_not_open_(int line, uint64_t id) {
  imx_order_info o;
  imx_status st = imx_engine_order_get(E, id, &o);
  if (st != IMX_E_UNKNOWN_ORDER)
    fail_at(line, "order %llu: order_get returned %d, want unknown_order",
            (unsigned long long)id, (int)st);
}

#define EXPECT_NOT_OPEN(id) expect_not_open_(__LINE__, id)

#endif /* IMX_TEST_EVENTS_H */
