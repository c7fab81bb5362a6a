/*
** test_market.c -- call auctions, budgets and capacities (risk), tenders:
** the sections "Call auctions", "Budgets and capacities (risk)" and
** "Tenders" of docs/matching.md, one behaviour per test.
**
** Same conventions as test_engine.c, with the same recorder and helpers
** (events.h): a recorder copies every event; each command helper marks it
** first, so EXPECT_EVENTS() speaks about the last command alone and demands
** exactly the listed events, every field (the fields that do not apply must
** be zero, so an expected event built with only the meaningful fields is
** compared whole: EVENTS_COMPARE_ALL_FIELDS below). Cost centres are A..F; S is
** the service under test; ids are written out as the numbers the engine
** must assign. After every test imx_engine_check() must find every
** invariant intact.
**
** A few tests run in a child process (isolated()): an engine that aborts on
** an assertion then fails one test instead of ending the whole run.
*/
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
/* Every field of an event is compared (see above). */
#define EVENTS_COMPARE_ALL_FIELDS 1
#include "events.h" /* recorder, fixture E R S, commands, EXPECT_EVENTS ... */
#include "imx_engine.h"

/* Short names beyond those of events.h. */
#define NONE IMX_NO_SIDE
#define AUCTION IMX_MODE_AUCTION
#define CONTINUOUS IMX_MODE_CONTINUOUS
#define MARKET IMX_PRICE_MARKET

enum { A = 1, B = 2, C = 3, D = 4, E_ = 5, F = 6 }; /* cost centres */

/* --------------------------------------------------------------- fixture */

static uint64_t last_tid; /* tender id written by the last tender_new */
static uint64_t last_qid; /* quote id written by the last quote       */
static imx_auction_result RES; /* the last auction_run's result      */

static void create(int risk, uint32_t tenders_max) {
  imx_engine_config cfg = {.orders_max = 64, .services_max = 4,
                           .risk = risk, .ccs_max = 64, .positions_max = 256,
                           .tenders_max = tenders_max};
  memset(&RES, 0, sizeof RES);
  E = engine_create(cfg, &R);
}

static uint32_t add_service(imx_mode mode, int64_t tick, int64_t lot,
                            int64_t price_cap) {
  imx_service_config cfg = {.tick_minor = tick, .lot = lot, .divisible = 1,
                            .mode = mode, .price_cap_minor = price_cap};
  uint32_t id = UINT32_MAX;
  imx_status st = imx_engine_service_add(E, &cfg, &id);
  if (st != IMX_OK) fail_at(__LINE__, "service_add returned %d", (int)st);
  return id;
}

/* An auction service with tick 1, lot 1, no risk. */
static void setup_auction(void) {
  create(0, 0);
  S = add_service(AUCTION, 1, 1, 0);
}

/* Risk on, a continuous service with tick 1, lot 1. */
static void setup_risk(void) {
  create(1, 0);
  S = add_service(CONTINUOUS, 1, 1, 0);
}

static void setup_tenders(void) {
  create(0, 0);
  S = add_service(CONTINUOUS, 1, 1, 0);
}

/* Runs a test in a child process: an assertion failure (abort) in the
** engine then fails this test only. */
static void isolated(int line, void (*fn)(void)) {
  fflush(stdout);
  fflush(stderr);
  pid_t pid = fork();
  if (pid < 0) {
    fail_at(line, "fork failed");
    return;
  }
  if (pid == 0) {
    check_failures_ = 0;
    fn();
    fflush(stderr);
    _exit(check_failures_ ? 1 : 0);
  }
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) {
    fail_at(line, "waitpid failed");
  } else if (WIFSIGNALED(status)) {
    fail_at(line, "the engine crashed: signal %d", WTERMSIG(status));
  } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    check_failures_++; /* the child printed what failed */
  }
}

/* -------------------------------------------------------------- commands */

static imx_status run(int64_t reference_minor) {
  mark();
  memset(&RES, 0x5a, sizeof RES);
  return imx_engine_auction_run(E, S, reference_minor, &RES);
}

static imx_status tender(uint32_t cc, int64_t qty, int64_t ceiling,
                         int64_t deadline) {
  imx_tender_new t = {S, cc, qty, ceiling, deadline, IMX_DECIDE_LOWEST, 0, 0};
  mark();
  last_tid = 0;
  return imx_engine_tender_new(E, &t, &last_tid);
}

static imx_status quote(uint64_t tid, uint32_t cc, int64_t price_minor) {
  mark();
  last_qid = 0;
  return imx_engine_tender_quote(E, tid, cc, price_minor, &last_qid);
}

static imx_status award(uint64_t tid) {
  mark();
  return imx_engine_tender_award(E, tid);
}

static imx_status tender_score(uint32_t cc, int64_t qty, int64_t ceiling,
                               int64_t deadline, uint32_t wp, uint32_t wq) {
  imx_tender_new t = {S, cc, qty, ceiling, deadline, IMX_DECIDE_SCORE, wp, wq};
  mark();
  last_tid = 0;
  return imx_engine_tender_new(E, &t, &last_tid);
}

static imx_status tender_choose(uint32_t cc, int64_t qty, int64_t ceiling,
                                int64_t deadline) {
  imx_tender_new t = {S, cc, qty, ceiling, deadline, IMX_DECIDE_CHOOSE, 0, 0};
  mark();
  last_tid = 0;
  return imx_engine_tender_new(E, &t, &last_tid);
}

static imx_status award_quote(uint64_t tid, uint64_t qid) {
  mark();
  return imx_engine_tender_award_quote(E, tid, qid);
}

static imx_status withdraw(uint64_t qid) {
  mark();
  return imx_engine_quote_withdraw(E, qid);
}

static imx_status tcancel(uint64_t tid) {
  mark();
  return imx_engine_tender_cancel(E, tid);
}

static imx_status clock_to(int64_t now_ms) {
  mark();
  return imx_engine_clock(E, now_ms);
}

/* ------------------------------------------------------- expected events */

/* An auction trade: aggressor none. */
static imx_event atrade(uint64_t trade_id, uint64_t buy_id, uint64_t sell_id,
                        uint32_t buyer_cc, uint32_t seller_cc, int64_t qty,
                        int64_t price_minor) {
  return trade(trade_id, buy_id, sell_id, buyer_cc, seller_cc, qty,
               price_minor, NONE);
}

/* A tender award's trade: no order ids, tender and quote ids set. The
** aggressor of a tender trade is not specified and not compared. */
static imx_event ttrade(uint64_t trade_id, uint32_t buyer_cc,
                        uint32_t seller_cc, int64_t qty, int64_t price_minor,
                        uint64_t tender_id, uint64_t quote_id) {
  imx_event e = {.type = IMX_EV_TRADE, .service = S, .trade_id = trade_id,
                 .buyer_cc = buyer_cc, .seller_cc = seller_cc, .qty = qty,
                 .price_minor = price_minor, .tender_id = tender_id,
                 .quote_id = quote_id};
  return e;
}

static imx_event rejected_avail(uint64_t id, imx_status status,
                                int64_t available) {
  imx_event e = {.type = IMX_EV_REJECTED, .order_id = id, .status = status,
                 .available = available};
  return e;
}

static imx_event rejected_tender(uint64_t tid, imx_status status,
                                 int64_t available) {
  imx_event e = {.type = IMX_EV_REJECTED, .tender_id = tid, .status = status,
                 .available = available};
  return e;
}

static imx_event auction(int64_t price_minor, int64_t volume, int64_t surplus,
                         imx_side surplus_side) {
  imx_event e = {.type = IMX_EV_AUCTION, .service = S,
                 .price_minor = price_minor, .qty = volume,
                 .surplus = surplus, .surplus_side = surplus_side};
  return e;
}

static imx_event tender_opened(uint64_t tid, uint32_t cc, int64_t qty,
                               int64_t ceiling, int64_t deadline) {
  imx_event e = {.type = IMX_EV_TENDER_OPENED, .service = S, .tender_id = tid,
                 .cc = cc, .qty = qty, .price_minor = ceiling,
                 .deadline_ms = deadline};
  return e;
}

static imx_event quote_accepted(uint64_t tid, uint64_t qid, uint32_t cc,
                                int64_t price_minor, int64_t qty) {
  imx_event e = {.type = IMX_EV_QUOTE_ACCEPTED, .service = S,
                 .tender_id = tid, .quote_id = qid, .cc = cc,
                 .price_minor = price_minor, .qty = qty};
  return e;
}

static imx_event quote_released(uint64_t tid, uint64_t qid, uint32_t cc,
                                int64_t price_minor, int64_t qty) {
  imx_event e = quote_accepted(tid, qid, cc, price_minor, qty);
  e.type = IMX_EV_QUOTE_RELEASED;
  return e;
}

static imx_event tender_awarded(uint64_t tid, uint64_t qid, uint32_t cc,
                                int64_t price_minor, int64_t qty,
                                uint64_t trade_id) {
  imx_event e = {.type = IMX_EV_TENDER_AWARDED, .service = S,
                 .tender_id = tid, .quote_id = qid, .cc = cc,
                 .price_minor = price_minor, .qty = qty,
                 .trade_id = trade_id};
  return e;
}

static imx_event tender_unfilled(uint64_t tid, uint32_t cc, int64_t qty) {
  imx_event e = {.type = IMX_EV_TENDER_UNFILLED, .service = S,
                 .tender_id = tid, .cc = cc, .qty = qty};
  return e;
}

static imx_event tender_lapsed(uint64_t tid, uint32_t cc, int64_t qty) {
  imx_event e = {.type = IMX_EV_TENDER_LAPSED, .service = S,
                 .tender_id = tid, .cc = cc, .qty = qty};
  return e;
}

static imx_event quote_withdrawn(uint64_t tid, uint64_t qid, uint32_t cc,
                                 int64_t price_minor, int64_t qty) {
  imx_event e = quote_accepted(tid, qid, cc, price_minor, qty);
  e.type = IMX_EV_QUOTE_WITHDRAWN;
  return e;
}

static imx_event rejected_quote(uint64_t tid, uint64_t qid, imx_status status) {
  imx_event e = {.type = IMX_EV_REJECTED, .tender_id = tid, .quote_id = qid,
                 .status = status};
  return e;
}

static imx_event tender_cancelled(uint64_t tid, uint32_t cc, int64_t qty) {
  imx_event e = {.type = IMX_EV_TENDER_CANCELLED, .service = S,
                 .tender_id = tid, .cc = cc, .qty = qty};
  return e;
}

/* ------------------------------------------------------ expected queries */

static void expect_result_(int line, int64_t price, int64_t volume,
                           int64_t surplus, imx_side side) {
  if (RES.price_minor != price || RES.volume != volume ||
      RES.surplus != surplus || RES.surplus_side != side)
    fail_at(line, "auction result: want {%lld, %lld, %lld, %d}, got {%lld, "
            "%lld, %lld, %d}", (long long)price, (long long)volume,
            (long long)surplus, (int)side, (long long)RES.price_minor,
            (long long)RES.volume, (long long)RES.surplus,
            (int)RES.surplus_side);
}
/* EXPECT_RESULT(price, volume, surplus, surplus_side) of the last call. */
#define EXPECT_RESULT(price, volume, surplus, side)                         \
  expect_result_(__LINE__, price, volume, surplus, side)

static void expect_balance_(int line, uint32_t cc, int64_t budget,
                            int64_t reserved, int64_t spent, int64_t earned,
                            int64_t available) {
  imx_balance b;
  memset(&b, 0, sizeof b);
  imx_status st = imx_engine_balance(E, cc, &b);
  if (st != IMX_OK) {
    fail_at(line, "balance(%u) returned %s", cc, imx_status_name(st));
    return;
  }
  if (b.budget_minor != budget || b.reserved_minor != reserved ||
      b.spent_minor != spent || b.earned_minor != earned ||
      b.available_minor != available)
    fail_at(line, "balance of cc %u: want budget %lld reserved %lld spent "
            "%lld earned %lld available %lld, got %lld %lld %lld %lld %lld",
            cc, (long long)budget, (long long)reserved, (long long)spent,
            (long long)earned, (long long)available,
            (long long)b.budget_minor, (long long)b.reserved_minor,
            (long long)b.spent_minor, (long long)b.earned_minor,
            (long long)b.available_minor);
}
/* EXPECT_BALANCE(cc, budget, reserved, spent, earned, available) */
#define EXPECT_BALANCE(cc, budget, reserved, spent, earned, available)      \
  expect_balance_(__LINE__, cc, budget, reserved, spent, earned, available)

static void expect_capacity_(int line, uint32_t cc, uint32_t svc,
                             int64_t capacity, int64_t reserved, int64_t sold,
                             int64_t available) {
  imx_capacity c;
  memset(&c, 0, sizeof c);
  imx_status st = imx_engine_capacity(E, cc, svc, &c);
  if (st != IMX_OK) {
    fail_at(line, "capacity(%u, %u) returned %s", cc, svc,
            imx_status_name(st));
    return;
  }
  if (c.capacity != capacity || c.reserved != reserved || c.sold != sold ||
      c.available != available)
    fail_at(line, "capacity of cc %u svc %u: want capacity %lld reserved "
            "%lld sold %lld available %lld, got %lld %lld %lld %lld", cc, svc,
            (long long)capacity, (long long)reserved, (long long)sold,
            (long long)available, (long long)c.capacity,
            (long long)c.reserved, (long long)c.sold, (long long)c.available);
}
/* EXPECT_CAPACITY(cc, service, capacity, reserved, sold, available) */
#define EXPECT_CAPACITY(cc, svc, capacity, reserved, sold, available)       \
  expect_capacity_(__LINE__, cc, svc, capacity, reserved, sold, available)

/* ============================================================ AUCTIONS */

static void test_auction_orders_rest_without_matching_even_crossed(void) {
  setup_auction();
  BUY(A, 10, 100); /* 1 */
  EXPECT_EVENTS(accepted(1, A, BID, GTC, 0, 10, 100));
  SELL(B, 10, 90); /* 2: crosses, no trade */
  EXPECT_EVENTS(accepted(2, B, OFFER, GTC, 0, 10, 90));
  PLACE(C, BID, IOC, 0, 5, 95); /* 3: an ioc rests until the call */
  EXPECT_EVENTS(accepted(3, C, BID, IOC, 0, 5, 95));
  PLACE(D, OFFER, FOK, 0, 5, 80); /* 4: so does a fok */
  EXPECT_EVENTS(accepted(4, D, OFFER, FOK, 0, 5, 80));
  EXPECT_LEVELS(BID, {100, 10, 1}, {95, 5, 1});
  EXPECT_LEVELS(OFFER, {80, 5, 1}, {90, 10, 1});
  CHECK_EQ(4, imx_engine_open_orders(E));
  finish();
}

/* Rule 2, first step: the highest volume wins even over a lower surplus
** and a nearer reference. p=90: D 15 S 12 V 12 surplus 3; p=100: D 10 S 12
** V 10 surplus 2. */
static void test_price_highest_executable_volume(void) {
  setup_auction();
  BUY(A, 10, 100);  /* 1 */
  BUY(A, 5, 90);    /* 2 */
  SELL(B, 12, 90);  /* 3 */
  CHECK_EQ(IMX_OK, run(100));
  EXPECT_EVENTS(auction(90, 12, 3, BID),
                atrade(1, 1, 3, A, B, 10, 90),
                atrade(2, 2, 3, A, B, 2, 90));
  EXPECT_RESULT(90, 12, 3, BID);
  EXPECT_ORDER(2, 5, 3, 2, 90);
  EXPECT_NOT_OPEN(1);
  EXPECT_NOT_OPEN(3);
  finish();
}

/* Second step: equal volume, the lowest surplus wins over the nearer
** reference. p=95: V 10 surplus 0; p=100: V 10 surplus 4. */
static void test_price_equal_volume_lowest_surplus(void) {
  setup_auction();
  BUY(A, 10, 100); /* 1 */
  SELL(B, 10, 95); /* 2 */
  SELL(B, 4, 100); /* 3 */
  CHECK_EQ(IMX_OK, run(100));
  EXPECT_EVENTS(auction(95, 10, 0, NONE), atrade(1, 1, 2, A, B, 10, 95));
  EXPECT_RESULT(95, 10, 0, NONE);
  EXPECT_ORDER(3, 4, 4, 0, 100);
  finish();
}

/* Third step: every tied candidate has more demand: the highest, not the
** one nearest the reference. p=98 and p=102: D 15 S 10. */
static void test_price_bid_surplus_everywhere_highest(void) {
  setup_auction();
  BUY(A, 15, 102); /* 1 */
  SELL(B, 10, 98); /* 2 */
  CHECK_EQ(IMX_OK, run(98));
  EXPECT_EVENTS(auction(102, 10, 5, BID), atrade(1, 1, 2, A, B, 10, 102));
  EXPECT_RESULT(102, 10, 5, BID);
  EXPECT_ORDER(1, 15, 5, 10, 102);
  finish();
}

/* Every tied candidate has more supply: the lowest. */
static void test_price_offer_surplus_everywhere_lowest(void) {
  setup_auction();
  BUY(A, 10, 102); /* 1 */
  SELL(B, 15, 98); /* 2 */
  CHECK_EQ(IMX_OK, run(102));
  EXPECT_EVENTS(auction(98, 10, 5, OFFER), atrade(1, 1, 2, A, B, 10, 98));
  EXPECT_RESULT(98, 10, 5, OFFER);
  EXPECT_ORDER(2, 15, 5, 10, 98);
  finish();
}

/* The mixed-pressure book: bids 10@104 (1), 2@100 (2); offers 10@96 (3),
** 2@102 (4). Every candidate has volume 10 and surplus 2: at 96 and 100
** on the bid side, at 102 and 104 on the offer side. */
static void mixed_book(void) {
  BUY(A, 10, 104);
  BUY(A, 2, 100);
  SELL(B, 10, 96);
  SELL(B, 2, 102);
}

static void test_price_mixed_pressure_nearest_reference(void) {
  setup_auction();
  mixed_book();
  CHECK_EQ(IMX_OK, run(99)); /* 100 is 1 away, 96 3, 102 3, 104 5 */
  /* At 100 the offers at most 100 (10@96) fill whole; the bids at least 100
  ** in priority: 10@104 takes all. */
  EXPECT_EVENTS(auction(100, 10, 2, BID), atrade(1, 1, 3, A, B, 10, 100));
  EXPECT_RESULT(100, 10, 2, BID);
  EXPECT_ORDER(2, 2, 2, 0, 100);
  EXPECT_ORDER(4, 2, 2, 0, 102);
  finish();
}

static void test_price_mixed_pressure_nearest_reference_high(void) {
  setup_auction();
  mixed_book();
  CHECK_EQ(IMX_OK, run(105)); /* 104 is 1 away */
  /* At 104: offers 10@96 and 2@102 = 12 > bids 10@104 = 10. */
  EXPECT_EVENTS(auction(104, 10, 2, OFFER), atrade(1, 1, 3, A, B, 10, 104));
  EXPECT_RESULT(104, 10, 2, OFFER);
  EXPECT_ORDER(4, 2, 2, 0, 102);
  finish();
}

static void test_price_mixed_pressure_equally_near_takes_higher(void) {
  setup_auction();
  mixed_book();
  CHECK_EQ(IMX_OK, run(101)); /* 100 and 102 are both 1 away: 102 */
  /* At 102: bids at least 102 10@104 = 10 < offers at most 102 12. */
  EXPECT_EVENTS(auction(102, 10, 2, OFFER), atrade(1, 1, 3, A, B, 10, 102));
  EXPECT_RESULT(102, 10, 2, OFFER);
  finish();
}

static void test_price_mixed_pressure_without_reference_lowest(void) {
  setup_auction();
  mixed_book();
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(96, 10, 2, BID), atrade(1, 1, 3, A, B, 10, 96));
  finish();
}

/* Zero surplus at 96 and at 104: the one nearest the reference. */
static void test_price_zero_surplus_nearest_reference(void) {
  setup_auction();
  BUY(A, 10, 104); /* 1 */
  SELL(B, 10, 96); /* 2 */
  CHECK_EQ(IMX_OK, run(101));
  EXPECT_EVENTS(auction(104, 10, 0, NONE), atrade(1, 1, 2, A, B, 10, 104));
  EXPECT_RESULT(104, 10, 0, NONE);
  finish();
}

static void test_price_zero_surplus_equally_near_takes_higher(void) {
  setup_auction();
  BUY(A, 10, 104); /* 1 */
  SELL(B, 10, 96); /* 2 */
  CHECK_EQ(IMX_OK, run(100)); /* 96 and 104 are both 4 away: 104 */
  EXPECT_EVENTS(auction(104, 10, 0, NONE), atrade(1, 1, 2, A, B, 10, 104));
  finish();
}

/* The Xetra market model's example of the last tie-break: limits 199 and
** 201, both with V 10 and no surplus, so only the reference decides. */
static void xetra_book(void) {
  BUY(A, 10, 201); /* 1 */
  SELL(B, 10, 199); /* 2 */
}

static void test_xetra_reference_200_equally_near_takes_higher_201(void) {
  setup_auction();
  xetra_book();
  CHECK_EQ(IMX_OK, run(200)); /* 199 and 201 are both 1 away */
  EXPECT_EVENTS(auction(201, 10, 0, NONE), atrade(1, 1, 2, A, B, 10, 201));
  EXPECT_RESULT(201, 10, 0, NONE);
  finish();
}

static void test_xetra_reference_202_nearest_is_201(void) {
  setup_auction();
  xetra_book();
  CHECK_EQ(IMX_OK, run(202)); /* 201 is 1 away, 199 3 */
  EXPECT_EVENTS(auction(201, 10, 0, NONE), atrade(1, 1, 2, A, B, 10, 201));
  EXPECT_RESULT(201, 10, 0, NONE);
  finish();
}

static void test_xetra_reference_198_nearest_is_199(void) {
  setup_auction();
  xetra_book();
  CHECK_EQ(IMX_OK, run(198)); /* 199 is 1 away, 201 3 */
  EXPECT_EVENTS(auction(199, 10, 0, NONE), atrade(1, 1, 2, A, B, 10, 199));
  EXPECT_RESULT(199, 10, 0, NONE);
  finish();
}

/* Once a call has cleared, its price is the reference, not the caller's. */
static void test_last_clearing_price_replaces_callers_reference(void) {
  setup_auction();
  BUY(A, 10, 104); /* 1 */
  SELL(B, 10, 96); /* 2 */
  CHECK_EQ(IMX_OK, run(101));
  EXPECT_EVENTS(auction(104, 10, 0, NONE), atrade(1, 1, 2, A, B, 10, 104));
  BUY(A, 10, 104); /* 3 */
  SELL(B, 10, 96); /* 4 */
  CHECK_EQ(IMX_OK, run(97)); /* the caller's 97 would give 96 */
  EXPECT_EVENTS(auction(104, 10, 0, NONE), atrade(2, 3, 4, A, B, 10, 104));
  finish();
}

/* A call that clears nothing leaves no clearing price behind. */
static void test_call_without_trade_sets_no_clearing_price(void) {
  setup_auction();
  BUY(A, 10, 90);   /* 1 */
  SELL(B, 10, 100); /* 2 */
  CHECK_EQ(IMX_OK, run(101));
  EXPECT_EVENTS(auction(0, 0, 0, NONE));
  CHECK_EQ(IMX_OK, cancel(1));
  CHECK_EQ(IMX_OK, cancel(2));
  BUY(A, 10, 104); /* 3 */
  SELL(B, 10, 96); /* 4 */
  CHECK_EQ(IMX_OK, run(97));
  EXPECT_EVENTS(auction(96, 10, 0, NONE), atrade(1, 3, 4, A, B, 10, 96));
  finish();
}

/* Several trades of one call: all at the one price, aggressor none, paired
** in priority order. p=101 and p=103 have V 10 surplus 0. */
static void test_auction_event_fields_and_trades_at_one_price(void) {
  setup_auction();
  BUY(A, 5, 105);  /* 1 */
  BUY(C, 5, 103);  /* 2 */
  SELL(B, 4, 99);  /* 3 */
  SELL(D, 6, 101); /* 4 */
  CHECK_EQ(IMX_OK, run(103));
  EXPECT_EVENTS(auction(103, 10, 0, NONE),
                atrade(1, 1, 3, A, B, 4, 103),
                atrade(2, 1, 4, A, D, 1, 103),
                atrade(3, 2, 4, C, D, 5, 103));
  EXPECT_RESULT(103, 10, 0, NONE);
  EXPECT_NO_LEVELS(BID);
  EXPECT_NO_LEVELS(OFFER);
  CHECK_EQ(0, imx_engine_open_orders(E));
  finish();
}

/* A market bid takes part at every candidate and fills before any limit
** bid. p=95 and p=100: D 10 S 8, bid side: the highest. */
static void test_market_order_takes_part_at_any_price_and_fills_first(void) {
  setup_auction();
  uint64_t m = BUY(A, 5, MARKET); /* 1 */
  EXPECT_EVENTS(accepted(1, A, BID, GTC, 0, 5, MARKET));
  BUY(C, 5, 100);  /* 2 */
  SELL(B, 8, 95);  /* 3 */
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(100, 8, 2, BID),
                atrade(1, m, 3, A, B, 5, 100),
                atrade(2, 2, 3, C, B, 3, 100));
  EXPECT_ORDER(2, 5, 2, 3, 100);
  finish();
}

/* A market offer against limit bids only: the bids' prices are the
** candidates. */
static void test_market_offer_fills_first_on_long_offer_side(void) {
  setup_auction();
  SELL(B, 4, 95);       /* 1 */
  SELL(D, 4, MARKET);   /* 2 */
  BUY(A, 6, 100);       /* 3 */
  CHECK_EQ(IMX_OK, run(0));
  /* p=95: D 6 S 8 V 6 s 2 offer; p=100: D 6 S 8 V 6 s 2 offer: lowest. */
  EXPECT_EVENTS(auction(95, 6, 2, OFFER),
                atrade(1, 3, 2, A, D, 4, 95),
                atrade(2, 3, 1, A, B, 2, 95));
  EXPECT_ORDER(1, 4, 2, 2, 95);
  finish();
}

static void test_only_market_orders_trade_at_reference(void) {
  setup_auction();
  BUY(A, 5, MARKET);  /* 1 */
  SELL(B, 3, MARKET); /* 2 */
  CHECK_EQ(IMX_OK, run(77));
  EXPECT_EVENTS(auction(77, 3, 2, BID), atrade(1, 1, 2, A, B, 3, 77));
  EXPECT_RESULT(77, 3, 2, BID);
  EXPECT_ORDER(1, 5, 2, 3, MARKET);
  /* 77 is now the service's price: the next market-only call uses it. */
  SELL(B, 2, MARKET); /* 3 */
  CHECK_EQ(IMX_OK, run(50));
  EXPECT_EVENTS(auction(77, 2, 0, NONE), atrade(2, 1, 3, A, B, 2, 77));
  finish();
}

static void test_only_market_orders_without_reference_do_not_trade(void) {
  setup_auction();
  BUY(A, 5, MARKET);  /* 1 */
  SELL(B, 3, MARKET); /* 2 */
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(0, 0, 0, NONE));
  EXPECT_RESULT(0, 0, 0, NONE);
  CHECK_EQ(2, imx_engine_open_orders(E));
  finish();
}

static void test_market_order_rejected_in_continuous_mode(void) {
  create(0, 0);
  S = add_service(CONTINUOUS, 1, 1, 0);
  SELL(B, 5, 100);
  CHECK_EQ(IMX_E_BAD_PRICE, submit(S, A, BID, GTC, 0, 5, MARKET));
  EXPECT_EVENTS(rejected(0, IMX_E_BAD_PRICE));
  CHECK_EQ(IMX_E_BAD_PRICE, submit(S, A, BID, IOC, 0, 5, MARKET));
  EXPECT_EVENTS(rejected(0, IMX_E_BAD_PRICE));
  CHECK_EQ(1, imx_engine_open_orders(E));
  finish();
}

/* Bids 4@102 (1), 3@100 (2), 3@100 (3) against 8@100 (4): the short offer
** side fills whole; the bids by price, then at the marginal level 100 in
** time order. The partly filled 3 keeps its place for the next call. */
static void test_allocation_long_side_price_then_time(void) {
  setup_auction();
  BUY(A, 4, 102);  /* 1 */
  BUY(C, 3, 100);  /* 2 */
  BUY(D, 3, 100);  /* 3 */
  SELL(B, 8, 100); /* 4 */
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(100, 8, 2, BID),
                atrade(1, 1, 4, A, B, 4, 100),
                atrade(2, 2, 4, C, B, 3, 100),
                atrade(3, 3, 4, D, B, 1, 100));
  EXPECT_ORDER(3, 3, 2, 1, 100);
  BUY(E_, 2, 100); /* 5: behind 3 */
  SELL(B, 2, 100); /* 6 */
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(100, 2, 2, BID), atrade(4, 3, 6, D, B, 2, 100));
  EXPECT_ORDER(5, 2, 2, 0, 100);
  EXPECT_NOT_OPEN(3);
  finish();
}

/* The offers are the long side: the lowest first; the offer above the
** price does not take part. p=99: D 5 S 6. */
static void test_allocation_long_offer_side_lowest_first(void) {
  setup_auction();
  SELL(B, 3, 98);  /* 1 */
  SELL(D, 3, 100); /* 2 */
  SELL(C, 3, 99);  /* 3 */
  BUY(A, 5, 100);  /* 4 */
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(99, 5, 1, OFFER),
                atrade(1, 4, 1, A, B, 3, 99),
                atrade(2, 4, 3, A, C, 2, 99));
  EXPECT_ORDER(3, 3, 1, 2, 99);
  EXPECT_ORDER(2, 3, 3, 0, 100);
  finish();
}

/* With the aon bid 10@100 the price would be 100 (V 6, surplus 4, the
** lowest), where it gets only 6 of 10: it is left out, and without it the
** candidates 95 and 96 have V 4 and surplus 2 on the offer side: 95. */
static void test_aon_that_cannot_fill_is_left_out_and_price_changes(void) {
  setup_auction();
  PLACE(A, BID, GTC, 1, 10, 100); /* 1 */
  BUY(C, 4, 96);                  /* 2 */
  SELL(B, 6, 95);                 /* 3 */
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(95, 4, 2, OFFER), atrade(1, 2, 3, C, B, 4, 95));
  EXPECT_RESULT(95, 4, 2, OFFER);
  EXPECT_ORDER(1, 10, 10, 0, 100); /* left out, still whole, still there */
  EXPECT_ORDER(3, 6, 2, 4, 95);
  finish();
}

/* The same book with an aon of 6: it fits and fills whole at 100
** (V 6 surplus 0 beats V 6 surplus 4 at 95 and 96). */
static void test_aon_that_fits_fills_whole(void) {
  setup_auction();
  PLACE(A, BID, GTC, 1, 6, 100); /* 1 */
  BUY(C, 4, 96);                 /* 2 */
  SELL(B, 6, 95);                /* 3 */
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(100, 6, 0, NONE), atrade(1, 1, 3, A, B, 6, 100));
  EXPECT_NOT_OPEN(1);
  EXPECT_ORDER(2, 4, 4, 0, 96);
  finish();
}

/* ------------------------------------------------- min_stars in a call */

/* A bid with min_stars on S; returns its id. */
static uint64_t stars_bid(uint32_t cc, imx_tif tif, int aon, int64_t qty,
                          int64_t price, int min_stars) {
  imx_order_new o = {.service = S, .cc = cc, .side = BID, .tif = tif, .aon = aon,
                     .qty = qty, .price_minor = price, .min_stars = min_stars};
  uint64_t id = 0;
  mark();
  CHECK_EQ(IMX_OK, imx_engine_order_new(E, &o, &id));
  return id;
}

/* The price comes from the other orders (p=100 and p=110 both give 4 of
** 10: offer surplus, the lowest); C's 4 take A's first 4; D's bid for 4.5
** stars then takes what A has left, and never B's (2.0 stars). The event
** carries the whole volume; the surplus is the price-forming curves'. */
static void test_call_min_stars_bid_fills_after_the_price_from_eligible_offers(void) {
  setup_auction();
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, A, S, 3, 15));
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, B, S, 3, 6));
  SELL(A, 5, 100);                    /* 1 */
  SELL(B, 5, 100);                    /* 2 */
  BUY(C, 4, 110);                     /* 3 */
  stars_bid(D, GTC, 0, 6, 105, 45);   /* 4 */
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(100, 5, 6, OFFER),
                atrade(1, 3, 1, C, A, 4, 100),
                atrade(2, 4, 1, D, A, 1, 100));
  EXPECT_RESULT(100, 5, 6, OFFER);
  EXPECT_ORDER(4, 6, 5, 1, 105);
  EXPECT_ORDER(2, 5, 5, 0, 100);
  EXPECT_NOT_OPEN(1);
  finish();
}

/* Bids with min_stars never make a price: alone with crossing offers they
** do not trade; an aon (or fok) one trades only if eligible offers fill it
** whole, and a later one may then take what it left. */
static void test_call_min_stars_bids_make_no_price_and_aon_ones_fill_whole(void) {
  setup_auction();
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, A, S, 3, 15));
  SELL(A, 5, 100);                          /* 1 */
  stars_bid(C, GTC, 0, 5, 103, 40);         /* 2 */
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(0, 0, 0, NONE));
  EXPECT_ORDER(2, 5, 5, 0, 103);
  BUY(D, 2, 100);                           /* 3: now there is a price */
  /* 4: first in priority, but only 3 are left after D: skipped, and
  ** killed after the call; C behind it takes the 3. */
  uint64_t f = stars_bid(E_, FOK, 0, 4, 105, 40);
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(100, 5, 3, OFFER),
                atrade(1, 3, 1, D, A, 2, 100),
                atrade(2, 2, 1, C, A, 3, 100),
                cancelled(f, E_, BID, 4, BY_FOK));
  EXPECT_ORDER(2, 5, 2, 3, 103);
  finish();
}

/* An aon offer on the long side behind a smaller one: allocation by
** priority would give it 2 of 5, so it is left out; the volume then goes to
** the later non-aon offer. */
static void test_aon_on_long_offer_side_left_out_later_order_fills(void) {
  setup_auction();
  SELL(B, 3, 90);                   /* 1 */
  PLACE(D, OFFER, GTC, 1, 5, 90);   /* 2: aon */
  SELL(C, 4, 90);                   /* 3 */
  BUY(A, 5, 90);                    /* 4 */
  CHECK_EQ(IMX_OK, run(0));
  /* Without 2: p=90: D 5 S 7 V 5 s 2 offer. */
  EXPECT_EVENTS(auction(90, 5, 2, OFFER),
                atrade(1, 4, 1, A, B, 3, 90),
                atrade(2, 4, 3, A, C, 2, 90));
  EXPECT_ORDER(2, 5, 5, 0, 90);
  EXPECT_ORDER(3, 4, 2, 2, 90);
  finish();
}

/* fok behaves as aon: left out (the price moves to 95), then cancelled. */
static void test_fok_behaves_as_aon_and_is_cancelled_after_call(void) {
  setup_auction();
  PLACE(A, BID, FOK, 0, 10, 100); /* 1 */
  BUY(C, 4, 96);                  /* 2 */
  SELL(B, 6, 95);                 /* 3 */
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(95, 4, 2, OFFER), atrade(1, 2, 3, C, B, 4, 95),
                cancelled(1, A, BID, 10, BY_FOK));
  EXPECT_NOT_OPEN(1);
  finish();
}

static void test_fok_that_fits_fills_whole(void) {
  setup_auction();
  PLACE(A, BID, FOK, 0, 6, 100); /* 1 */
  SELL(B, 6, 95);                /* 2 */
  CHECK_EQ(IMX_OK, run(0));
  /* p=95, 100: V 6 surplus 0, nearest to no reference: the lowest. */
  EXPECT_EVENTS(auction(95, 6, 0, NONE), atrade(1, 1, 2, A, B, 6, 95));
  CHECK_EQ(0, imx_engine_open_orders(E));
  finish();
}

/* ioc: what the call did not fill is cancelled after the trades. */
static void test_ioc_remainder_cancelled_after_call(void) {
  setup_auction();
  PLACE(A, BID, IOC, 0, 10, 100); /* 1 */
  SELL(B, 6, 95);                 /* 2 */
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(100, 6, 4, BID), atrade(1, 1, 2, A, B, 6, 100),
                cancelled(1, A, BID, 4, BY_IOC));
  CHECK_EQ(0, imx_engine_open_orders(E));
  finish();
}

static void test_ioc_that_does_not_take_part_is_cancelled_whole(void) {
  setup_auction();
  BUY(A, 5, 100);                 /* 1 */
  SELL(B, 5, 100);                /* 2 */
  PLACE(D, OFFER, IOC, 0, 3, 105);/* 3: above the price */
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(100, 5, 0, NONE), atrade(1, 1, 2, A, B, 5, 100),
                cancelled(3, D, OFFER, 3, BY_IOC));
  finish();
}

/* An ioc or fok order takes part in the next call only: a call that
** clears nothing still cancels it. */
static void test_ioc_and_fok_cancelled_by_a_call_that_clears_nothing(void) {
  setup_auction();
  PLACE(A, BID, IOC, 0, 5, 90); /* 1 */
  SELL(B, 5, 100);              /* 2 */
  CHECK_EQ(IMX_OK, run(95));
  EXPECT_EVENTS(auction(0, 0, 0, NONE), cancelled(1, A, BID, 5, BY_IOC));
  CHECK_EQ(1, imx_engine_open_orders(E));
  finish();
}

/* gtc and period leftovers stay with their priority and trade next call. */
static void test_gtc_and_period_leftovers_trade_at_next_call(void) {
  setup_auction();
  BUY(A, 10, 100);                  /* 1 */
  PLACE(C, BID, PERIOD, 0, 5, 99);  /* 2 */
  SELL(B, 4, 98);                   /* 3 */
  CHECK_EQ(IMX_OK, run(0));
  /* p=98, 99: D 15 S 4 s 11; p=100: D 10 S 4 s 6. */
  EXPECT_EVENTS(auction(100, 4, 6, BID), atrade(1, 1, 3, A, B, 4, 100));
  EXPECT_ORDER(1, 10, 6, 4, 100);
  EXPECT_ORDER(2, 5, 5, 0, 99);
  SELL(D, 8, 99); /* 4 */
  CHECK_EQ(IMX_OK, run(0));
  /* p=99: D 11 S 8 V 8; p=100: D 6 S 8 V 6. */
  EXPECT_EVENTS(auction(99, 8, 3, BID), atrade(2, 1, 4, A, D, 6, 99),
                atrade(3, 2, 4, C, D, 2, 99));
  EXPECT_ORDER(2, 5, 3, 2, 99);
  finish();
}

static void test_no_crossing_orders_no_price(void) {
  setup_auction();
  BUY(A, 5, 90);   /* 1 */
  SELL(B, 5, 100); /* 2 */
  CHECK_EQ(IMX_OK, run(95));
  EXPECT_EVENTS(auction(0, 0, 0, NONE));
  EXPECT_RESULT(0, 0, 0, NONE);
  EXPECT_ORDER(1, 5, 5, 0, 90);
  EXPECT_ORDER(2, 5, 5, 0, 100);
  finish();
}

static void test_empty_book_no_price(void) {
  setup_auction();
  CHECK_EQ(IMX_OK, run(100));
  EXPECT_EVENTS(auction(0, 0, 0, NONE));
  EXPECT_RESULT(0, 0, 0, NONE);
  /* One side only. */
  BUY(A, 5, 90);
  CHECK_EQ(IMX_OK, run(100));
  EXPECT_EVENTS(auction(0, 0, 0, NONE));
  finish();
}

static void test_self_trade_prevented_at_entry(void) {
  setup_auction();
  BUY(A, 5, 100); /* 1 */
  CHECK_EQ(IMX_E_SELF_TRADE, submit(S, A, OFFER, GTC, 0, 5, 99));
  EXPECT_EVENTS(rejected(0, IMX_E_SELF_TRADE));
  CHECK_EQ(IMX_E_SELF_TRADE, submit(S, A, OFFER, IOC, 0, 5, MARKET));
  EXPECT_EVENTS(rejected(0, IMX_E_SELF_TRADE));
  BUY(A, 2, 95); /* 2: the same side is fine */
  SELL(B, 5, 99); /* 3: another cc is fine */
  /* B is now on the offer side. */
  CHECK_EQ(IMX_E_SELF_TRADE, submit(S, B, BID, GTC, 0, 1, 90));
  EXPECT_EVENTS(rejected(0, IMX_E_SELF_TRADE));
  CHECK_EQ(IMX_OK, cancel(1));
  /* A still has 2 open. */
  CHECK_EQ(IMX_E_SELF_TRADE, submit(S, A, OFFER, GTC, 0, 5, 99));
  CHECK_EQ(IMX_OK, cancel(2));
  CHECK_EQ(IMX_OK, submit(S, A, OFFER, GTC, 0, 5, 99)); /* 4 */
  EXPECT_EVENTS(accepted(4, A, OFFER, GTC, 0, 5, 99));
  finish();
}

/* A fill that takes the last order of a cc off a side frees the other. */
static void test_self_trade_allowed_again_after_fill(void) {
  setup_auction();
  BUY(A, 5, 100);  /* 1 */
  SELL(B, 5, 100); /* 2 */
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(100, 5, 0, NONE), atrade(1, 1, 2, A, B, 5, 100));
  CHECK_EQ(IMX_OK, submit(S, A, OFFER, GTC, 0, 5, 99)); /* 3 */
  CHECK_EQ(IMX_OK, submit(S, B, BID, GTC, 0, 5, 99));   /* 4 */
  finish();
}

static void test_auction_run_errors(void) {
  create(0, 0);
  uint32_t cont = add_service(CONTINUOUS, 1, 1, 0);
  S = add_service(AUCTION, 1, 1, 0);
  mark();
  CHECK_EQ(IMX_E_WRONG_MODE, imx_engine_auction_run(E, cont, 100, NULL));
  EXPECT_EVENTS(rejected(0, IMX_E_WRONG_MODE));
  mark();
  CHECK_EQ(IMX_E_UNKNOWN_SERVICE, imx_engine_auction_run(E, 7, 100, NULL));
  EXPECT_EVENTS(rejected(0, IMX_E_UNKNOWN_SERVICE));
  BUY(A, 5, MARKET);
  SELL(B, 5, MARKET);
  CHECK_EQ(IMX_E_BAD_PRICE, run(-1));
  EXPECT_EVENTS(rejected(0, IMX_E_BAD_PRICE));
  CHECK_EQ(IMX_E_BAD_PRICE, run(IMX_PRICE_MAX_MINOR + 1));
  EXPECT_EVENTS(rejected(0, IMX_E_BAD_PRICE));
  CHECK_EQ(2, imx_engine_open_orders(E));
  /* The reference may become the price: on the tick, within the cap. */
  S = add_service(AUCTION, 5, 1, 200);
  BUY(A, 5, MARKET);  /* 3 */
  SELL(B, 5, MARKET); /* 4 */
  CHECK_EQ(IMX_E_BAD_PRICE, run(205));
  EXPECT_EVENTS(rejected(0, IMX_E_BAD_PRICE));
  CHECK_EQ(IMX_E_BAD_TICK, run(101));
  EXPECT_EVENTS(rejected(0, IMX_E_BAD_TICK));
  CHECK_EQ(4, imx_engine_open_orders(E));
  CHECK_EQ(IMX_OK, run(200)); /* at the cap is fine */
  EXPECT_EVENTS(auction(200, 5, 0, NONE), atrade(1, 3, 4, A, B, 5, 200));
  finish();
}

/* A market bid reserves qty x the price cap, and the cap is the highest
** limit price: a call must never charge a market bid more than that.
** Market orders alone trade at the reference; a reference above the cap
** is refused (bad_price): as a trade price it would spend 5 x 200 = 1000 of
** a budget of 500. Run in a child: the engine used to abort here. */
static void reference_above_price_cap_body(void) {
  create(1, 0);
  S = add_service(AUCTION, 1, 1, 100);
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 500));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, B, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, B, S, 10));
  BUY(A, 5, MARKET);  /* reserves 5 x 100 = 500 */
  SELL(B, 5, MARKET);
  EXPECT_BALANCE(A, 500, 500, 0, 0, 0);
  CHECK_EQ(IMX_E_BAD_PRICE, run(200));
  EXPECT_EVENTS(rejected(0, IMX_E_BAD_PRICE));
  for (size_t i = R.mark; i < R.n && i < REC_CAP; i++)
    if (R.ev[i].type == IMX_EV_TRADE && R.ev[i].price_minor > 100)
      fail_at(__LINE__, "trade at %lld, above the price cap 100",
              (long long)R.ev[i].price_minor);
  imx_balance b;
  CHECK_EQ(IMX_OK, imx_engine_balance(E, A, &b));
  CHECK(b.spent_minor + b.reserved_minor <= b.budget_minor);
  EXPECT_BALANCE(A, 500, 500, 0, 0, 0);
  finish();
}

static void test_reference_above_price_cap_never_overspends(void) {
  isolated(__LINE__, reference_above_price_cap_body);
}

/* ================================================================ RISK */

/* orders_per_cc_max bounds what one cost centre can keep open; orders that
** leave the book (filled, cancelled) make room again. */
static void test_open_orders_per_cost_centre_are_limited(void) {
  imx_engine_config cfg = {.orders_max = 64, .services_max = 4, .risk = 1,
                           .ccs_max = 64, .orders_per_cc_max = 2};
  E = engine_create(cfg, &R);
  S = add_service(CONTINUOUS, 1, 1, 0);
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 10000));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, B, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, B, S, 100));
  BUY(A, 1, 10); /* 1 */
  BUY(A, 1, 11); /* 2 */
  CHECK_EQ(IMX_E_TOO_MANY_ORDERS, submit(S, A, BID, GTC, 0, 1, 12));
  EXPECT_EVENTS(rejected(0, IMX_E_TOO_MANY_ORDERS));
  SELL(B, 1, 11); /* 3: fills order 2 */
  BUY(A, 1, 12);  /* 4: room again */
  CHECK_EQ(IMX_E_TOO_MANY_ORDERS, submit(S, A, BID, GTC, 0, 1, 13));
  CHECK_EQ(IMX_OK, cancel(1));
  BUY(A, 1, 13);  /* 5 */
  CHECK_EQ(2, imx_engine_open_orders(E));
  finish();
}

/* An order that is rejected leaves nothing behind: with room for one
** (cost centre, service) pair, A's rejected auction orders (no budget, no
** capacity) and C's (undeclared) must not take it from B. */
static void test_rejected_auction_order_leaves_no_position(void) {
  imx_engine_config cfg = {.orders_max = 64, .services_max = 4, .risk = 1,
                           .ccs_max = 64, .positions_max = 1};
  E = engine_create(cfg, &R);
  S = add_service(AUCTION, 1, 1, 0);
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 0));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, B, 1000));
  CHECK_EQ(IMX_E_INSUFFICIENT_BUDGET, submit(S, A, BID, GTC, 0, 10, 100));
  EXPECT_EVENTS(rejected_avail(0, IMX_E_INSUFFICIENT_BUDGET, 0));
  CHECK_EQ(IMX_E_OVER_CAPACITY, submit(S, A, OFFER, GTC, 0, 10, 100));
  EXPECT_EVENTS(rejected_avail(0, IMX_E_OVER_CAPACITY, 0));
  CHECK_EQ(IMX_E_UNKNOWN_CC, submit(S, C, BID, GTC, 0, 10, 100));
  BUY(B, 10, 100); /* 1: the one pair is still free */
  EXPECT_EVENTS(accepted(1, B, BID, GTC, 0, 10, 100));
  /* And now it is taken: another pair is refused before any reservation. */
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000));
  CHECK_EQ(IMX_E_POSITIONS_FULL, submit(S, A, BID, GTC, 0, 1, 100));
  EXPECT_BALANCE(A, 1000, 0, 0, 0, 1000);
  /* B's order leaving frees the pair for A. */
  CHECK_EQ(IMX_OK, cancel(1));
  BUY(A, 1, 100); /* 2 */
  EXPECT_BALANCE(A, 1000, 100, 0, 0, 900);
  finish();
}

/* A call that fills every order leaves their (cost centre, service) pairs
** idle, not removed one by one; a new pair then takes the room of idle
** ones, and positions_full still comes once every pair holds an order. A
** pair that went idle and returns keeps its side rule. */
static void test_pairs_emptied_by_a_call_make_room_for_new_ones(void) {
  imx_engine_config cfg = {.orders_max = 64, .services_max = 4,
                           .positions_max = 2};
  E = engine_create(cfg, &R);
  S = add_service(AUCTION, 1, 1, 0);
  BUY(A, 5, 100);  /* 1 */
  SELL(B, 5, 100); /* 2 */
  CHECK_EQ(IMX_E_POSITIONS_FULL, submit(S, C, BID, GTC, 0, 1, 100));
  CHECK_EQ(IMX_OK, run(100));
  CHECK_EQ(5, RES.volume);
  CHECK_EQ(0, imx_engine_open_orders(E));
  CHECK_EQ(0, imx_engine_check(E));
  BUY(C, 1, 90);   /* 3: takes an idle pair's room */
  SELL(D, 1, 110); /* 4 */
  CHECK_EQ(0, imx_engine_check(E));
  CHECK_EQ(IMX_E_POSITIONS_FULL, submit(S, A, BID, GTC, 0, 1, 90));
  CHECK_EQ(IMX_OK, cancel(3));
  /* C's pair is idle again: C may offer now, and then not bid. */
  SELL(C, 1, 120); /* 5 */
  CHECK_EQ(IMX_E_SELF_TRADE, submit(S, C, BID, GTC, 0, 1, 90));
  CHECK_EQ(0, imx_engine_check(E));
  finish();
}

/* A sweep frees every idle pair at once, not only the one the new pair
** takes: the others are free entries (imx_engine_check: no cost centre, no
** service) that later pairs take without another sweep. With room for
** one pair, each new pair sweeps the one before it. */
static void test_a_sweep_frees_every_idle_pair(void) {
  imx_engine_config cfg = {.orders_max = 64, .services_max = 4,
                           .positions_max = 3};
  E = engine_create(cfg, &R);
  S = add_service(AUCTION, 1, 1, 0);
  BUY(A, 5, 100); /* 1 */
  SELL(B, 5, 100); /* 2 */
  BUY(C, 1, 90);  /* 3: stays after the call */
  CHECK_EQ(IMX_E_POSITIONS_FULL, submit(S, D, BID, GTC, 0, 1, 80));
  CHECK_EQ(IMX_OK, run(100));
  CHECK_EQ(5, RES.volume);
  CHECK_EQ(1, imx_engine_open_orders(E));
  BUY(D, 1, 80); /* 4: sweeps A's and B's pairs, takes one */
  CHECK_EQ(0, imx_engine_check(E));
  SELL(A, 1, 120); /* 5: the other; A's bid pair is gone */
  CHECK_EQ(0, imx_engine_check(E));
  CHECK_EQ(IMX_E_POSITIONS_FULL, submit(S, B, BID, GTC, 0, 1, 80));
  CHECK_EQ(IMX_E_SELF_TRADE, submit(S, A, BID, GTC, 0, 1, 80));
  finish();

  cfg.positions_max = 1;
  E = engine_create(cfg, &R);
  S = add_service(AUCTION, 1, 1, 0);
  BUY(A, 5, 100); /* 1 */
  CHECK_EQ(IMX_E_POSITIONS_FULL, submit(S, B, OFFER, GTC, 0, 1, 100));
  CHECK_EQ(IMX_OK, cancel(1)); /* A's pair idle */
  CHECK_EQ(0, imx_engine_check(E));
  SELL(B, 1, 100); /* 2: sweeps A's */
  CHECK_EQ(0, imx_engine_check(E));
  CHECK_EQ(IMX_E_POSITIONS_FULL, submit(S, A, BID, GTC, 0, 1, 100));
  CHECK_EQ(IMX_E_SELF_TRADE, submit(S, B, BID, GTC, 0, 1, 90));
  CHECK_EQ(IMX_OK, cancel(2));
  BUY(A, 1, 100); /* 3: sweeps B's */
  CHECK_EQ(IMX_E_POSITIONS_FULL, submit(S, B, OFFER, GTC, 0, 1, 100));
  finish();
}

/* tenders_per_cc_max bounds the tenders one receiver keeps open; a tender
** that ends (cancelled, awarded, unfilled) makes room again. */
static void test_open_tenders_per_cost_centre_are_limited(void) {
  imx_engine_config cfg = {.orders_max = 64, .services_max = 4, .risk = 1,
                           .ccs_max = 64, .tenders_per_cc_max = 2};
  E = engine_create(cfg, &R);
  S = add_service(CONTINUOUS, 1, 1, 0);
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 10000));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, B, 10000));
  CHECK_EQ(IMX_OK, tender(A, 1, 100, 1000)); /* 1 */
  CHECK_EQ(IMX_OK, tender(A, 1, 100, 2000)); /* 2 */
  CHECK_EQ(IMX_E_TOO_MANY_TENDERS, tender(A, 1, 100, 3000));
  EXPECT_EVENTS(rejected_tender(0, IMX_E_TOO_MANY_TENDERS, 0));
  EXPECT_BALANCE(A, 10000, 200, 0, 0, 9800); /* nothing reserved for it */
  CHECK_EQ(IMX_OK, tender(B, 1, 100, 1000)); /* 3: the limit is per cc */
  CHECK_EQ(IMX_OK, tcancel(1));
  CHECK_EQ(IMX_OK, tender(A, 1, 100, 3000)); /* 4 */
  EXPECT_EVENTS(tender_opened(4, A, 1, 100, 3000));
  CHECK_EQ(IMX_E_TOO_MANY_TENDERS, tender(A, 1, 100, 3000));
  CHECK_EQ(IMX_OK, clock_to(2000)); /* 2 ends unfilled, 3 too */
  CHECK_EQ(IMX_OK, tender(A, 1, 100, 3000)); /* 5 */
  CHECK_EQ(28, (int)IMX_E_TOO_MANY_TENDERS); /* appended: values are stable */
  CHECK(strcmp("too_many_tenders", imx_status_name(IMX_E_TOO_MANY_TENDERS)) == 0);
  finish();
}

/* cc_set keeps the sum of all declared budgets within
** IMX_BUDGETS_TOTAL_MAX_MINOR (1e15); a renewed budget replaces the old
** one in the sum. Ten budgets of 1e18 used to be accepted and overflowed a
** provider's earned. */
static void test_budgets_whose_sum_passes_the_bound_are_refused(void) {
  setup_risk();
  CHECK_EQ(IMX_E_BAD_CONFIG, imx_engine_cc_set(E, A, 1000000000000000000));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000000000000000)); /* the bound */
  CHECK_EQ(IMX_E_BAD_CONFIG, imx_engine_cc_set(E, B, 1));
  imx_balance bal;
  CHECK_EQ(IMX_E_UNKNOWN_CC, imx_engine_balance(E, B, &bal)); /* not declared */
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000000000000000)); /* renewed */
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 999999999999990));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, B, 10));
  CHECK_EQ(IMX_E_BAD_CONFIG, imx_engine_cc_set(E, B, 11));
  EXPECT_BALANCE(B, 10, 0, 0, 0, 10);
  CHECK_EQ(IMX_E_BAD_CONFIG, imx_engine_cc_set(E, A, 1000000000000001));
  CHECK_EQ(IMX_E_BAD_PRICE, imx_engine_cc_set(E, C, -1));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, B, 0)); /* frees room for C */
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, C, 10));
  finish();
}

/* A market at the bound: ten buyers with 1e14 each (1e15 in all) fill one
** provider at the price cap; the provider earns exactly 1e15 and no sum
** overflows (run under UBSan by the sanitizer build). */
static void test_market_at_the_budget_bound_trades_without_overflow(void) {
  setup_risk();
  enum { P = 20 };
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, P, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, P, S, 1000000));
  for (uint32_t cc = 1; cc <= 10; cc++) {
    CHECK_EQ(IMX_OK, imx_engine_cc_set(E, cc, 100000000000000));
    BUY(cc, 100000, 1000000000); /* reserves 1e14, all of it */
  }
  CHECK_EQ(IMX_E_BAD_CONFIG, imx_engine_cc_set(E, 11, 1)); /* the eleventh */
  SELL(P, 1000000, 1000000000); /* 11: fills all ten bids */
  CHECK_EQ(0, imx_engine_open_orders(E));
  EXPECT_BALANCE(P, 0, 0, 0, 1000000000000000, 0);
  for (uint32_t cc = 1; cc <= 10; cc++)
    EXPECT_BALANCE(cc, 100000000000000, 0, 100000000000000, 0, 0);
  EXPECT_CAPACITY(P, S, 1000000, 0, 1000000, 0);
  finish();
}

static void test_undeclared_cc_is_rejected_unknown_cc(void) {
  setup_risk();
  CHECK_EQ(IMX_E_UNKNOWN_CC, submit(S, A, BID, GTC, 0, 5, 100));
  EXPECT_EVENTS(rejected(0, IMX_E_UNKNOWN_CC));
  CHECK_EQ(IMX_E_UNKNOWN_CC, submit(S, B, OFFER, GTC, 0, 5, 100));
  EXPECT_EVENTS(rejected(0, IMX_E_UNKNOWN_CC));
  CHECK_EQ(IMX_E_UNKNOWN_CC, tender(A, 5, 100, 1000));
  EXPECT_EVENTS(rejected_tender(0, IMX_E_UNKNOWN_CC, 0));
  CHECK_EQ(0, imx_engine_open_orders(E));
  /* Declared, it is accepted; the rejected commands consumed no id. */
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000));
  BUY(A, 5, 100);
  EXPECT_EVENTS(accepted(1, A, BID, GTC, 0, 5, 100));
  finish();
}

static void test_bid_reserves_qty_times_limit(void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000));
  EXPECT_BALANCE(A, 1000, 0, 0, 0, 1000);
  BUY(A, 5, 100);
  EXPECT_BALANCE(A, 1000, 500, 0, 0, 500);
  BUY(A, 2, 30);
  EXPECT_BALANCE(A, 1000, 560, 0, 0, 440);
  finish();
}

static void test_bid_above_what_is_left_is_rejected_with_available(void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000));
  BUY(A, 5, 100); /* 1 */
  CHECK_EQ(IMX_E_INSUFFICIENT_BUDGET, submit(S, A, BID, GTC, 0, 6, 100));
  EXPECT_EVENTS(rejected_avail(0, IMX_E_INSUFFICIENT_BUDGET, 500));
  CHECK_EQ(IMX_E_INSUFFICIENT_BUDGET, submit(S, A, BID, IOC, 0, 1, 501));
  EXPECT_EVENTS(rejected_avail(0, IMX_E_INSUFFICIENT_BUDGET, 500));
  EXPECT_BALANCE(A, 1000, 500, 0, 0, 500);
  /* Exactly what is left fits. */
  BUY(A, 5, 100); /* 2 */
  EXPECT_EVENTS(accepted(2, A, BID, GTC, 0, 5, 100));
  EXPECT_BALANCE(A, 1000, 1000, 0, 0, 0);
  CHECK_EQ(IMX_E_INSUFFICIENT_BUDGET, submit(S, A, BID, GTC, 0, 1, 1));
  EXPECT_EVENTS(rejected_avail(0, IMX_E_INSUFFICIENT_BUDGET, 0));
  finish();
}

/* Two providers with capacity, so that offers can rest. */
static void declare_sellers(void) {
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, B, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, B, S, 10));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, C, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, C, S, 10));
}

static void test_fill_at_better_price_charges_trade_price(void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000));
  declare_sellers();
  SELL(B, 5, 80); /* 1 */
  EXPECT_CAPACITY(B, S, 10, 5, 0, 5);
  BUY(A, 5, 100); /* 2 */
  EXPECT_EVENTS(accepted(2, A, BID, GTC, 0, 5, 100),
                trade(1, 2, 1, A, B, 5, 80, BID));
  EXPECT_BALANCE(A, 1000, 0, 400, 0, 600);
  EXPECT_BALANCE(B, 0, 0, 0, 400, 0);
  EXPECT_CAPACITY(B, S, 10, 0, 5, 5);
  finish();
}

static void test_partial_fills_charge_and_keep_the_rest_reserved(void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000));
  declare_sellers();
  SELL(B, 3, 80); /* 1 */
  BUY(A, 5, 100); /* 2: 3 at 80, 2 rest at 100 */
  EXPECT_BALANCE(A, 1000, 200, 240, 0, 560);
  SELL(C, 1, 100); /* 3: hits the resting bid at 100 */
  EXPECT_EVENTS(accepted(3, C, OFFER, GTC, 0, 1, 100),
                trade(2, 2, 3, A, C, 1, 100, OFFER));
  EXPECT_BALANCE(A, 1000, 100, 340, 0, 560);
  EXPECT_ORDER(2, 5, 1, 4, 100);
  EXPECT_CAPACITY(B, S, 10, 0, 3, 7);
  EXPECT_CAPACITY(C, S, 10, 0, 1, 9);
  finish();
}

static void test_cancel_releases_reservation(void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000));
  declare_sellers();
  BUY(A, 5, 100);  /* 1 */
  SELL(B, 4, 120); /* 2 */
  EXPECT_BALANCE(A, 1000, 500, 0, 0, 500);
  EXPECT_CAPACITY(B, S, 10, 4, 0, 6);
  CHECK_EQ(IMX_OK, cancel(1));
  EXPECT_EVENTS(cancelled(1, A, BID, 5, USER));
  EXPECT_BALANCE(A, 1000, 0, 0, 0, 1000);
  CHECK_EQ(IMX_OK, cancel(2));
  EXPECT_CAPACITY(B, S, 10, 0, 0, 10);
  finish();
}

static void test_period_expiry_releases_reservation(void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000));
  declare_sellers();
  PLACE(A, BID, PERIOD, 0, 3, 100);   /* 1 */
  PLACE(B, OFFER, PERIOD, 0, 4, 120); /* 2 */
  EXPECT_BALANCE(A, 1000, 300, 0, 0, 700);
  CHECK_EQ(IMX_OK, period_end(S));
  EXPECT_EVENTS(expired(1, A, BID, 3), expired(2, B, OFFER, 4));
  EXPECT_BALANCE(A, 1000, 0, 0, 0, 1000);
  EXPECT_CAPACITY(B, S, 10, 0, 0, 10);
  finish();
}

static void test_ioc_and_fok_remainders_release_reservation(void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000));
  declare_sellers();
  SELL(B, 2, 90); /* 1 */
  PLACE(A, BID, IOC, 0, 5, 100); /* 2 */
  EXPECT_EVENTS(accepted(2, A, BID, IOC, 0, 5, 100),
                trade(1, 2, 1, A, B, 2, 90, BID),
                cancelled(2, A, BID, 3, BY_IOC));
  EXPECT_BALANCE(A, 1000, 0, 180, 0, 820);
  SELL(B, 2, 90); /* 3 */
  PLACE(A, BID, FOK, 0, 5, 100); /* 4 */
  EXPECT_EVENTS(accepted(4, A, BID, FOK, 0, 5, 100),
                cancelled(4, A, BID, 5, BY_FOK));
  EXPECT_BALANCE(A, 1000, 0, 180, 0, 820);
  finish();
}

static void test_modify_up_beyond_budget_rejected_down_releases(void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000));
  BUY(A, 5, 100); /* 1 */
  CHECK_EQ(IMX_E_INSUFFICIENT_BUDGET, modify(1, 11, 100));
  EXPECT_EVENTS(rejected_avail(1, IMX_E_INSUFFICIENT_BUDGET, 500));
  EXPECT_ORDER(1, 5, 5, 0, 100);
  EXPECT_BALANCE(A, 1000, 500, 0, 0, 500);
  CHECK_EQ(IMX_E_INSUFFICIENT_BUDGET, modify(1, 5, 201));
  EXPECT_EVENTS(rejected_avail(1, IMX_E_INSUFFICIENT_BUDGET, 500));
  EXPECT_ORDER(1, 5, 5, 0, 100);
  /* Up to exactly the budget is fine. */
  CHECK_EQ(IMX_OK, modify(1, 10, 100));
  EXPECT_EVENTS(modified(1, A, BID, 10, 100, 0));
  EXPECT_BALANCE(A, 1000, 1000, 0, 0, 0);
  CHECK_EQ(IMX_OK, modify(1, 3, 100));
  EXPECT_EVENTS(modified(1, A, BID, 3, 100, 1));
  EXPECT_BALANCE(A, 1000, 300, 0, 0, 700);
  CHECK_EQ(IMX_OK, modify(1, 3, 50));
  EXPECT_BALANCE(A, 1000, 150, 0, 0, 850);
  finish();
}

static void test_modify_offer_beyond_capacity_rejected(void) {
  setup_risk();
  declare_sellers();
  SELL(B, 4, 100); /* 1 */
  CHECK_EQ(IMX_E_OVER_CAPACITY, modify(1, 11, 100));
  EXPECT_EVENTS(rejected_avail(1, IMX_E_OVER_CAPACITY, 6));
  EXPECT_ORDER(1, 4, 4, 0, 100);
  CHECK_EQ(IMX_OK, modify(1, 10, 100));
  EXPECT_CAPACITY(B, S, 10, 10, 0, 0);
  CHECK_EQ(IMX_OK, modify(1, 1, 100));
  EXPECT_CAPACITY(B, S, 10, 1, 0, 9);
  finish();
}

static void test_offer_capacity_none_within_over_fill_cancel(void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 10000));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, B, 0));
  /* No capacity declared: none. */
  CHECK_EQ(IMX_E_OVER_CAPACITY, submit(S, B, OFFER, GTC, 0, 1, 100));
  EXPECT_EVENTS(rejected_avail(0, IMX_E_OVER_CAPACITY, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, B, S, 10));
  SELL(B, 6, 100); /* 1 */
  EXPECT_CAPACITY(B, S, 10, 6, 0, 4);
  CHECK_EQ(IMX_E_OVER_CAPACITY, submit(S, B, OFFER, GTC, 0, 5, 100));
  EXPECT_EVENTS(rejected_avail(0, IMX_E_OVER_CAPACITY, 4));
  BUY(A, 2, 100); /* 2: trades 2 */
  EXPECT_CAPACITY(B, S, 10, 4, 2, 4);
  EXPECT_BALANCE(B, 0, 0, 0, 200, 0);
  CHECK_EQ(IMX_OK, cancel(1));
  EXPECT_CAPACITY(B, S, 10, 0, 2, 8);
  /* Capacity is per service. */
  uint32_t other = add_service(CONTINUOUS, 1, 1, 0);
  mark();
  imx_order_new o = {other, B, OFFER, GTC, 0, 1, 100, 0, 0};
  CHECK_EQ(IMX_E_OVER_CAPACITY, imx_engine_order_new(E, &o, NULL));
  EXPECT_EVENTS(rejected_avail(0, IMX_E_OVER_CAPACITY, 0));
  finish();
}

static void test_market_bid_in_auction_reserves_price_cap(void) {
  create(1, 0);
  S = add_service(AUCTION, 1, 1, 250);
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 10000));
  declare_sellers();
  BUY(A, 4, MARKET); /* 1 */
  EXPECT_BALANCE(A, 10000, 1000, 0, 0, 9000);
  SELL(B, 4, 200); /* 2 */
  CHECK_EQ(IMX_OK, run(0));
  EXPECT_EVENTS(auction(200, 4, 0, NONE), atrade(1, 1, 2, A, B, 4, 200));
  EXPECT_BALANCE(A, 10000, 0, 800, 0, 9200);
  CHECK_EQ(IMX_E_INSUFFICIENT_BUDGET, submit(S, A, BID, GTC, 0, 37, MARKET));
  EXPECT_EVENTS(rejected_avail(0, IMX_E_INSUFFICIENT_BUDGET, 9200));
  BUY(A, 36, MARKET); /* 3: 9000 */
  EXPECT_BALANCE(A, 10000, 9000, 800, 0, 200);
  CHECK_EQ(IMX_OK, cancel(3));
  EXPECT_BALANCE(A, 10000, 0, 800, 0, 9200);
  finish();
}

static void test_cc_set_starts_new_period_and_refuses_below_reserved(void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000));
  declare_sellers();
  SELL(B, 2, 100); /* 1 */
  BUY(A, 2, 100);  /* 2: spends 200 */
  BUY(A, 3, 100);  /* 3: reserves 300 */
  EXPECT_BALANCE(A, 1000, 300, 200, 0, 500);
  EXPECT_BALANCE(B, 0, 0, 0, 200, 0);
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 800));
  EXPECT_BALANCE(A, 800, 300, 0, 0, 500);
  CHECK(imx_engine_cc_set(E, A, 299) != IMX_OK);
  EXPECT_BALANCE(A, 800, 300, 0, 0, 500);
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 300));
  EXPECT_BALANCE(A, 300, 300, 0, 0, 0);
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, B, 0));
  EXPECT_BALANCE(B, 0, 0, 0, 0, 0);
  /* The reservation still belongs to the open bid. */
  CHECK_EQ(IMX_OK, cancel(3));
  EXPECT_BALANCE(A, 300, 0, 0, 0, 300);
  finish();
}

static void test_capacity_set_starts_new_period_and_refuses_below_reserved(
    void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000));
  declare_sellers();
  SELL(B, 4, 100); /* 1 */
  BUY(A, 1, 100);  /* 2 */
  EXPECT_CAPACITY(B, S, 10, 3, 1, 6);
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, B, S, 5));
  EXPECT_CAPACITY(B, S, 5, 3, 0, 2);
  CHECK(imx_engine_capacity_set(E, B, S, 2) != IMX_OK);
  EXPECT_CAPACITY(B, S, 5, 3, 0, 2);
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, B, S, 3));
  EXPECT_CAPACITY(B, S, 3, 3, 0, 0);
  finish();
}

/* ------------------------------------------------------ randomised risk */

/* splitmix64 */
static uint64_t rnd_state;
static uint64_t rnd(void) {
  uint64_t z = (rnd_state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
static int64_t rnd_in(int64_t lo, int64_t hi) { /* inclusive */
  return lo + (int64_t)(rnd() % (uint64_t)(hi - lo + 1));
}

#define RCC 6  /* cost centres 0..5 */
#define RSVC 4 /* 0, 1 continuous; 2, 3 auction */
#define RIDS 64

static const struct {
  imx_mode mode;
  int64_t tick, lot, cap;
  int divisible;
} rsvc[RSVC] = {{CONTINUOUS, 1, 1, 40, 1},
                {CONTINUOUS, 5, 2, 100, 0},
                {AUCTION, 1, 1, 40, 1},
                {AUCTION, 2, 1, 60, 1}};

typedef struct rworld {
  int declared[RCC];
  int64_t budget[RCC], spent[RCC], earned[RCC];
  int64_t capacity[RCC][RSVC], sold[RCC][RSVC]; /* capacity -1: none */
  uint64_t ids[RIDS], tids[RIDS];
  uint32_t tsvc[RIDS];    /* the service of tids[i]  */
  int64_t tceiling[RIDS]; /* the ceiling of tids[i]  */
  uint32_t n_ids, n_tids;
  int64_t clock;
  int in_call;      /* inside auction_run             */
  int64_t call_price;
  int bad;          /* an event broke a rule           */
  char why[200];
} rworld;

static rworld W;
static char rcmd[200]; /* the command being run, for a crash report */

static void rbad(const char *fmt, ...) {
  if (W.bad) return;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(W.why, sizeof W.why, fmt, ap);
  va_end(ap);
  W.bad = 1;
}

static void ron_event(void *ctx, const imx_event *ev) {
  (void)ctx;
  switch (ev->type) {
  case IMX_EV_ACCEPTED:
    W.ids[W.n_ids++ % RIDS] = ev->order_id;
    break;
  case IMX_EV_TENDER_OPENED:
    W.tsvc[W.n_tids % RIDS] = ev->service;
    W.tceiling[W.n_tids % RIDS] = ev->price_minor;
    W.tids[W.n_tids++ % RIDS] = ev->tender_id;
    break;
  case IMX_EV_AUCTION:
    W.call_price = ev->price_minor;
    break;
  case IMX_EV_TRADE:
    if (ev->service >= RSVC || ev->buyer_cc >= RCC || ev->seller_cc >= RCC) {
      rbad("trade with a bad service or cc");
      break;
    }
    if (ev->buyer_cc == ev->seller_cc) rbad("trade with itself");
    if (ev->qty < 1 || ev->price_minor < 1 ||
        ev->price_minor > rsvc[ev->service].cap)
      rbad("trade qty %lld price %lld", (long long)ev->qty,
           (long long)ev->price_minor);
    if (W.in_call && (ev->price_minor != W.call_price ||
                      ev->aggressor != IMX_NO_SIDE))
      rbad("auction trade at %lld, call price %lld",
           (long long)ev->price_minor, (long long)W.call_price);
    W.spent[ev->buyer_cc] += ev->qty * ev->price_minor;
    W.earned[ev->seller_cc] += ev->qty * ev->price_minor;
    W.sold[ev->seller_cc][ev->service] += ev->qty;
    break;
  default:
    break;
  }
}

static int64_t rprice(uint32_t svc, int market_ok) {
  if (market_ok && rsvc[svc].mode == AUCTION && rnd() % 6 == 0) return MARKET;
  if (rnd() % 50 == 0) return rnd_in(-1, rsvc[svc].cap + 3); /* maybe bad */
  int64_t t = rsvc[svc].tick, top = rsvc[svc].cap / t;
  return t * rnd_in(top / 3, top); /* a narrow band: books cross often */
}

static int64_t rqty(uint32_t svc) {
  if (rnd() % 50 == 0) return rnd_in(0, 5);
  return rsvc[svc].lot * rnd_in(1, 6);
}

/* An id seen lately (most often one of the last few, which are the most
** likely to be still open), now and then any number. */
static uint32_t rpick_slot(uint32_t n) {
  uint32_t k = n < RIDS ? n : RIDS;
  if (rnd() % 4 != 0 && k > 6) k = 6;
  return (n - 1 - (uint32_t)(rnd() % k)) % RIDS;
}

static uint64_t rpick(const uint64_t *ids, uint32_t n) {
  if (n == 0 || rnd() % 20 == 0) return rnd_in(0, 500);
  return ids[rpick_slot(n)];
}

/* Runs one random command; returns its status. */
static imx_status rstep(imx_engine *e) {
  uint32_t svc = (uint32_t)(rnd() % RSVC);
  uint32_t cc = (uint32_t)(rnd() % RCC);
  unsigned r = (unsigned)(rnd() % 100);
  if (r < 34) {
    imx_order_new o = {svc, cc, (imx_side)(rnd() % 2),
                       (imx_tif)(rnd() % 4 == 0 ? rnd() % 4 : rnd() % 2),
                       rsvc[svc].divisible ? rnd() % 6 == 0 : rnd() % 20 != 0,
                       rqty(svc), rprice(svc, 1), 0, 0};
    snprintf(rcmd, sizeof rcmd, "order_new(svc %u cc %u side %d tif %d aon %d "
             "qty %lld price %lld)", o.service, o.cc, (int)o.side, (int)o.tif,
             o.aon, (long long)o.qty, (long long)o.price_minor);
    return imx_engine_order_new(e, &o, NULL);
  }
  if (r < 42) {
    uint64_t id = rpick(W.ids, W.n_ids);
    snprintf(rcmd, sizeof rcmd, "order_cancel(%llu)", (unsigned long long)id);
    return imx_engine_order_cancel(e, id);
  }
  if (r < 52) {
    uint64_t id = rpick(W.ids, W.n_ids);
    imx_order_info o;
    int64_t qty = rqty(svc), price = rprice(svc, 1);
    if (imx_engine_order_get(e, id, &o) == IMX_OK) {
      qty = rqty(o.service);
      price = rnd() % 3 == 0 ? o.price_minor : rprice(o.service, 1);
    }
    snprintf(rcmd, sizeof rcmd, "order_modify(%llu, %lld, %lld)",
             (unsigned long long)id, (long long)qty, (long long)price);
    return imx_engine_order_modify(e, id, qty, price);
  }
  if (r < 62) {
    if (rnd() % 10 != 0) svc = 2 + (uint32_t)(rnd() % 2);
    int64_t ref = rsvc[svc].tick * rnd_in(0, rsvc[svc].cap / rsvc[svc].tick);
    if (rnd() % 20 == 0) ref = rnd_in(-1, rsvc[svc].cap + 3); /* maybe bad */
    snprintf(rcmd, sizeof rcmd, "auction_run(%u, %lld)", svc, (long long)ref);
    W.in_call = 1;
    W.call_price = -1;
    imx_status s = imx_engine_auction_run(e, svc, ref, NULL);
    W.in_call = 0;
    return s;
  }
  if (r < 65) {
    snprintf(rcmd, sizeof rcmd, "period_end(%u)", svc);
    return imx_engine_period_end(e, svc);
  }
  if (r < 68) {
    int64_t budget = rnd_in(0, 1500);
    snprintf(rcmd, sizeof rcmd, "cc_set(%u, %lld)", cc, (long long)budget);
    imx_status s = imx_engine_cc_set(e, cc, budget);
    if (s == IMX_OK) {
      W.declared[cc] = 1;
      W.budget[cc] = budget;
      W.spent[cc] = W.earned[cc] = 0;
    }
    return s;
  }
  if (r < 71) {
    int64_t cap = rnd_in(0, 25);
    snprintf(rcmd, sizeof rcmd, "capacity_set(%u, %u, %lld)", cc, svc,
             (long long)cap);
    imx_status s = imx_engine_capacity_set(e, cc, svc, cap);
    if (s == IMX_OK) {
      W.capacity[cc][svc] = cap;
      W.sold[cc][svc] = 0;
    }
    return s;
  }
  if (r < 77) {
    imx_tender_new t = {svc, cc, rqty(svc), rprice(svc, 0),
                        W.clock + rnd_in(rnd() % 20 == 0 ? -5 : 1, 1500),
                        rnd() % 2 ? IMX_DECIDE_CHOOSE : IMX_DECIDE_LOWEST, 0, 0};
    snprintf(rcmd, sizeof rcmd, "tender_new(svc %u cc %u qty %lld ceiling "
             "%lld deadline %lld decide %d)", svc, cc, (long long)t.qty,
             (long long)t.ceiling_minor, (long long)t.deadline_ms, (int)t.decide);
    return imx_engine_tender_new(e, &t, NULL);
  }
  if (r < 88) {
    uint64_t tid = rnd_in(0, 500);
    int64_t price = rprice(svc, 0);
    if (W.n_tids > 0 && rnd() % 20 != 0) {
      /* Mostly a price near the tender's ceiling, now and then above. */
      uint32_t k = rpick_slot(W.n_tids);
      int64_t t = rsvc[W.tsvc[k]].tick, top = W.tceiling[k] / t;
      tid = W.tids[k];
      price = t * rnd_in(top / 2 > 0 ? top / 2 : 1, top + (rnd() % 8 == 0));
    }
    snprintf(rcmd, sizeof rcmd, "tender_quote(%llu, cc %u, %lld)",
             (unsigned long long)tid, cc, (long long)price);
    return imx_engine_tender_quote(e, tid, cc, price, NULL);
  }
  if (r < 91) {
    uint64_t tid = rpick(W.tids, W.n_tids);
    snprintf(rcmd, sizeof rcmd, "tender_award(%llu)", (unsigned long long)tid);
    return imx_engine_tender_award(e, tid);
  }
  if (r < 93) {
    uint64_t tid = rpick(W.tids, W.n_tids);
    snprintf(rcmd, sizeof rcmd, "tender_cancel(%llu)",
             (unsigned long long)tid);
    return imx_engine_tender_cancel(e, tid);
  }
  int64_t now = W.clock + rnd_in(-20, 100);
  snprintf(rcmd, sizeof rcmd, "clock(%lld)", (long long)now);
  if (now > W.clock) W.clock = now;
  return imx_engine_clock(e, now);
}

/* From the events alone: no cc spent more than its budget this period, no
** provider sold more than its capacity; and the engine's own accounts
** agree with the events. */
static void rcheck_limits(imx_engine *e) {
  for (uint32_t cc = 0; cc < RCC && !W.bad; cc++) {
    if (!W.declared[cc]) {
      if (W.spent[cc] != 0) rbad("undeclared cc %u spent %lld", cc,
                                 (long long)W.spent[cc]);
      continue;
    }
    if (W.spent[cc] > W.budget[cc])
      rbad("cc %u spent %lld of a budget of %lld", cc, (long long)W.spent[cc],
           (long long)W.budget[cc]);
    imx_balance b;
    if (imx_engine_balance(e, cc, &b) != IMX_OK ||
        b.spent_minor != W.spent[cc] || b.earned_minor != W.earned[cc] ||
        b.budget_minor != W.budget[cc] ||
        b.available_minor != b.budget_minor - b.reserved_minor - b.spent_minor ||
        b.available_minor < 0)
      rbad("cc %u: balance disagrees with the events", cc);
    for (uint32_t s = 0; s < RSVC && !W.bad; s++) {
      int64_t cap = W.capacity[cc][s] < 0 ? 0 : W.capacity[cc][s];
      if (W.sold[cc][s] > cap)
        rbad("cc %u svc %u sold %lld of a capacity of %lld", cc, s,
             (long long)W.sold[cc][s], (long long)cap);
      imx_capacity c;
      if (imx_engine_capacity(e, cc, s, &c) != IMX_OK ||
          c.sold != W.sold[cc][s] || c.available < 0 ||
          c.available != c.capacity - c.reserved - c.sold)
        rbad("cc %u svc %u: capacity disagrees with the events", cc, s);
    }
  }
}

static void rsigabrt(int sig) {
  (void)sig;
  static const char msg[] = "  random: the engine aborted during ";
  if (write(2, msg, sizeof msg - 1) < 0) _exit(3);
  if (write(2, rcmd, strlen(rcmd)) < 0) _exit(3);
  if (write(2, "\n", 1) < 0) _exit(3);
}

static void random_body(void) {
  signal(SIGABRT, rsigabrt);
  const uint32_t seeds = 300, steps = 1000;
  uint64_t trades = 0, calls_with_price = 0;
  for (uint32_t seed = 1; seed <= seeds; seed++) {
    rnd_state = seed * 0x1234567ull;
    memset(&W, 0, sizeof W);
    for (uint32_t cc = 0; cc < RCC; cc++)
      for (uint32_t s = 0; s < RSVC; s++) W.capacity[cc][s] = -1;
    imx_engine_config cfg = {.orders_max = 96, .services_max = RSVC,
                             .on_event = ron_event, .ctx = NULL, .risk = 1,
                             .ccs_max = 8, .positions_max = 64,
                             .tenders_max = 12};
    imx_engine *e = NULL;
    if (imx_engine_create(&cfg, &e) != IMX_OK) {
      fail_at(__LINE__, "create failed");
      return;
    }
    for (uint32_t s = 0; s < RSVC; s++) {
      imx_service_config sc = {.tick_minor = rsvc[s].tick, .lot = rsvc[s].lot,
                               .divisible = rsvc[s].divisible,
                               .levels_max = 16, .mode = rsvc[s].mode,
                               .price_cap_minor = rsvc[s].cap};
      uint32_t id;
      CHECK_EQ(IMX_OK, imx_engine_service_add(e, &sc, &id));
    }
    /* cc 5 starts undeclared. */
    for (uint32_t cc = 0; cc < RCC - 1; cc++) {
      W.declared[cc] = 1;
      W.budget[cc] = rnd_in(100, 1500);
      CHECK_EQ(IMX_OK, imx_engine_cc_set(e, cc, W.budget[cc]));
      for (uint32_t s = 0; s < RSVC; s++)
        if (rnd() % 4 != 0) {
          W.capacity[cc][s] = rnd_in(0, 30);
          CHECK_EQ(IMX_OK, imx_engine_capacity_set(e, cc, s, W.capacity[cc][s]));
        }
    }
    for (uint32_t step = 0; step < steps; step++) {
      int64_t before = W.call_price;
      rstep(e);
      if (W.call_price > 0 && W.call_price != before) calls_with_price++;
      int rc = imx_engine_check(e);
      if (rc != 0) rbad("imx_engine_check() = %d", rc);
      rcheck_limits(e);
      if (W.bad) {
        fail_at(__LINE__, "seed %u step %u after %s: %s", seed, step, rcmd,
                W.why);
        imx_engine_destroy(e);
        return;
      }
    }
    for (uint32_t cc = 0; cc < RCC; cc++)
      trades += (uint64_t)W.spent[cc] > 0;
    imx_engine_destroy(e);
  }
  /* The run did exercise trading and calls. */
  CHECK(trades > seeds);
  CHECK(calls_with_price > seeds);
}

static void test_random_budgets_and_capacities_hold(void) {
  isolated(__LINE__, random_body);
}

/* ============================================================= TENDERS */

static void test_tender_open_and_quotes_accepted(void) {
  setup_tenders();
  CHECK_EQ(IMX_OK, tender(A, 10, 100, 1000));
  CHECK_EQ(1, last_tid);
  EXPECT_EVENTS(tender_opened(1, A, 10, 100, 1000));
  CHECK_EQ(IMX_OK, quote(1, B, 90));
  CHECK_EQ(1, last_qid);
  EXPECT_EVENTS(quote_accepted(1, 1, B, 90, 10));
  CHECK_EQ(IMX_OK, quote(1, C, 100)); /* at the ceiling */
  EXPECT_EVENTS(quote_accepted(1, 2, C, 100, 10));
  CHECK_EQ(IMX_OK, tender(D, 3, 50, 2000));
  EXPECT_EVENTS(tender_opened(2, D, 3, 50, 2000));
  CHECK_EQ(IMX_OK, quote(2, A, 40));
  EXPECT_EVENTS(quote_accepted(2, 3, A, 40, 3)); /* quote ids per engine */
  /* Tenders never touch the book. */
  CHECK_EQ(0, imx_engine_open_orders(E));
  finish();
}

static void test_award_lowest_quote_earliest_on_tie(void) {
  setup_tenders();
  CHECK_EQ(IMX_OK, tender(A, 10, 100, 1000)); /* 1 */
  CHECK_EQ(IMX_OK, quote(1, B, 90));  /* q1 */
  CHECK_EQ(IMX_OK, quote(1, C, 80));  /* q2 */
  CHECK_EQ(IMX_OK, quote(1, D, 80));  /* q3: as low, later */
  CHECK_EQ(IMX_OK, quote(1, E_, 95)); /* q4 */
  CHECK_EQ(IMX_OK, award(1));
  EXPECT_EVENTS(ttrade(1, A, C, 10, 80, 1, 2),
                tender_awarded(1, 2, C, 80, 10, 1),
                quote_released(1, 1, B, 90, 10),
                quote_released(1, 3, D, 80, 10),
                quote_released(1, 4, E_, 95, 10));
  /* Closed. */
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, award(1));
  EXPECT_EVENTS(rejected_tender(1, IMX_E_UNKNOWN_TENDER, 0));
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, quote(1, F, 50));
  EXPECT_EVENTS(rejected_tender(1, IMX_E_UNKNOWN_TENDER, 0));
  finish();
}

/* Trade ids are shared with the books. */
static void test_tender_trade_ids_follow_book_trades(void) {
  create(0, 0);
  S = add_service(AUCTION, 1, 1, 0);
  BUY(A, 5, 100);
  SELL(B, 5, 100);
  CHECK_EQ(IMX_OK, run(0)); /* trade 1 */
  CHECK_EQ(IMX_OK, tender(C, 2, 100, 1000));
  CHECK_EQ(IMX_OK, quote(1, D, 70));
  CHECK_EQ(IMX_OK, award(1));
  EXPECT_EVENTS(ttrade(2, C, D, 2, 70, 1, 1),
                tender_awarded(1, 1, D, 70, 2, 2));
  finish();
}

static void test_quote_rejections(void) {
  create(0, 0);
  S = add_service(CONTINUOUS, 5, 1, 0);
  CHECK_EQ(IMX_OK, tender(A, 10, 100, 1000)); /* 1 */
  CHECK_EQ(IMX_E_ABOVE_CEILING, quote(1, B, 105));
  EXPECT_EVENTS(rejected_tender(1, IMX_E_ABOVE_CEILING, 0));
  CHECK_EQ(IMX_E_SELF_TRADE, quote(1, A, 50));
  EXPECT_EVENTS(rejected_tender(1, IMX_E_SELF_TRADE, 0));
  CHECK_EQ(IMX_E_BAD_PRICE, quote(1, B, 0));
  EXPECT_EVENTS(rejected_tender(1, IMX_E_BAD_PRICE, 0));
  CHECK_EQ(IMX_E_BAD_TICK, quote(1, B, 52));
  EXPECT_EVENTS(rejected_tender(1, IMX_E_BAD_TICK, 0));
  CHECK_EQ(IMX_OK, quote(1, B, 90)); /* q1 */
  CHECK_EQ(IMX_E_ALREADY_QUOTED, quote(1, B, 85));
  EXPECT_EVENTS(rejected_tender(1, IMX_E_ALREADY_QUOTED, 0));
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, quote(99, B, 85));
  EXPECT_EVENTS(rejected_tender(99, IMX_E_UNKNOWN_TENDER, 0));
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, award(99));
  EXPECT_EVENTS(rejected_tender(99, IMX_E_UNKNOWN_TENDER, 0));
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, tcancel(99));
  EXPECT_EVENTS(rejected_tender(99, IMX_E_UNKNOWN_TENDER, 0));
  /* The rejected quotes consumed no quote id. */
  CHECK_EQ(IMX_OK, quote(1, C, 95));
  EXPECT_EVENTS(quote_accepted(1, 2, C, 95, 10));
  finish();
}

static void test_seventeenth_quote_is_rejected_quotes_full(void) {
  setup_tenders();
  CHECK_EQ(IMX_OK, tender(A, 1, 100, 1000)); /* 1 */
  for (uint32_t cc = 10; cc < 10 + IMX_QUOTES_MAX; cc++)
    CHECK_EQ(IMX_OK, quote(1, cc, 100 - (int64_t)cc));
  CHECK_EQ(16, last_qid);
  CHECK_EQ(IMX_E_QUOTES_FULL, quote(1, 30, 50));
  EXPECT_EVENTS(rejected_tender(1, IMX_E_QUOTES_FULL, 0));
  /* An earlier provider hears already_quoted first. */
  CHECK_EQ(IMX_E_ALREADY_QUOTED, quote(1, 10, 50));
  EXPECT_EVENTS(rejected_tender(1, IMX_E_ALREADY_QUOTED, 0));
  /* The lowest (cc 25 at 75) wins; the 15 others are released. */
  CHECK_EQ(IMX_OK, award(1));
  CHECK_EQ(2 + 15, R.n - R.mark);
  CHECK_EQ(IMX_EV_TRADE, R.ev[R.mark].type);
  CHECK_EQ(25, R.ev[R.mark].seller_cc);
  CHECK_EQ(75, R.ev[R.mark].price_minor);
  finish();
}

/* imx_engine_tender_closing: from the callback of a TENDER_CANCELLED or a
** TENDER_LAPSED, the tender that event closes, as it was (the server keeps
** it for tender.get); a tender that is not the one closed last is unknown. */
typedef struct closing_seen {
  imx_engine *e;
  int n;
  imx_status st[4];
  imx_tender_info ti[4];
} closing_seen;

static void closing_on_event(void *ctx, const imx_event *ev) {
  closing_seen *c = ctx;
  if ((ev->type != IMX_EV_TENDER_LAPSED && ev->type != IMX_EV_TENDER_CANCELLED) || c->n >= 4)
    return;
  c->st[c->n] = imx_engine_tender_closing(c->e, ev->tender_id, &c->ti[c->n]);
  c->n++;
}

static void test_tender_closing_reads_the_tender_a_lapse_or_a_cancel_closes(void) {
  closing_seen seen;
  memset(&seen, 0, sizeof seen);
  imx_engine_config cfg = {.orders_max = 8, .services_max = 1,
                           .on_event = closing_on_event, .ctx = &seen};
  CHECK_EQ(IMX_OK, imx_engine_create(&cfg, &seen.e));
  if (seen.e == NULL) return;
  imx_service_config sc = {.tick_minor = 1, .lot = 1, .divisible = 1,
                           .mode = IMX_MODE_CONTINUOUS};
  uint32_t s = 0;
  CHECK_EQ(IMX_OK, imx_engine_service_add(seen.e, &sc, &s));
  uint64_t t1 = 0, t2 = 0, q = 0;
  imx_tender_new a = {.service = s, .cc = 0, .qty = 3, .ceiling_minor = 500,
                      .deadline_ms = 100, .decide = IMX_DECIDE_CHOOSE};
  CHECK_EQ(IMX_OK, imx_engine_tender_new(seen.e, &a, &t1));
  CHECK_EQ(IMX_OK, imx_engine_tender_quote(seen.e, t1, 1, 400, &q));
  imx_tender_new b = {.service = s, .cc = 2, .qty = 1, .ceiling_minor = 200,
                      .deadline_ms = 1000, .decide = IMX_DECIDE_LOWEST};
  CHECK_EQ(IMX_OK, imx_engine_tender_new(seen.e, &b, &t2));
  imx_tender_info ti;
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, imx_engine_tender_closing(seen.e, t1, &ti)); /* open */
  CHECK_EQ(IMX_OK, imx_engine_tender_cancel(seen.e, t2));
  CHECK_EQ(IMX_OK, imx_engine_clock(seen.e, 100)); /* t1 lapses */
  CHECK_EQ(2, seen.n);
  CHECK_EQ(IMX_OK, seen.st[0]);
  CHECK_EQ(t2, seen.ti[0].tender_id);
  CHECK_EQ(2, seen.ti[0].cc);
  CHECK_EQ(200, seen.ti[0].ceiling_minor);
  CHECK_EQ(1000, seen.ti[0].deadline_ms);
  CHECK_EQ(0, seen.ti[0].quotes);
  CHECK_EQ(IMX_DECIDE_LOWEST, seen.ti[0].decide);
  CHECK_EQ(IMX_OK, seen.st[1]);
  CHECK_EQ(t1, seen.ti[1].tender_id);
  CHECK_EQ(3, seen.ti[1].qty);
  CHECK_EQ(500, seen.ti[1].ceiling_minor);
  CHECK_EQ(1, seen.ti[1].quotes); /* the quote it had, released by now */
  CHECK_EQ(IMX_DECIDE_CHOOSE, seen.ti[1].decide);
  /* t2 is not the tender closed last; an id never given is unknown */
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, imx_engine_tender_closing(seen.e, t2, &ti));
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, imx_engine_tender_closing(seen.e, 99, &ti));
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, imx_engine_tender_get(seen.e, t1, &ti));
  imx_engine_destroy(seen.e);
}

static void test_tender_get_shows_an_open_tender_and_forgets_a_closed_one(void) {
  setup_tenders();
  CHECK_EQ(IMX_OK, tender(0, 5, 100, 300));
  CHECK_EQ(IMX_OK, quote(last_tid, 1, 90));
  imx_tender_info ti;
  CHECK_EQ(IMX_OK, imx_engine_tender_get(E, 1, &ti));
  CHECK_EQ(1, ti.tender_id);
  CHECK_EQ(S, ti.service);
  CHECK_EQ(0, ti.cc);
  CHECK_EQ(5, ti.qty);
  CHECK_EQ(100, ti.ceiling_minor);
  CHECK_EQ(300, ti.deadline_ms);
  CHECK_EQ(1, ti.quotes);
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, imx_engine_tender_get(E, 2, &ti));
  CHECK_EQ(IMX_OK, award(1));
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, imx_engine_tender_get(E, 1, &ti));
  finish();
}

/* Regression (found by the reference model): a ceiling of 0 in an auction
** service was taken for a market price and reported bad_lot; a ceiling is
** a limit in every mode, and bad_price comes before bad_tick and bad_lot. */
static void test_tender_ceiling_0_is_bad_price_in_an_auction_service(void) {
  create(0, 0);
  S = add_service(AUCTION, 5, 10, 0);
  CHECK_EQ(IMX_E_BAD_PRICE, tender(0, 21, 0, 233));
  EXPECT_EVENTS(rejected_tender(0, IMX_E_BAD_PRICE, 0));
  CHECK_EQ(IMX_E_BAD_LOT, tender(0, 21, 100, 233));
  EXPECT_EVENTS(rejected_tender(0, IMX_E_BAD_LOT, 0));
  CHECK_EQ(IMX_E_BAD_QTY, tender(0, 0, 0, 233));
  EXPECT_EVENTS(rejected_tender(0, IMX_E_BAD_QTY, 0));
  finish();
}

static void test_tender_bad_deadline(void) {
  setup_tenders();
  CHECK_EQ(IMX_E_BAD_DEADLINE, tender(A, 5, 100, 0)); /* clock is 0 */
  EXPECT_EVENTS(rejected_tender(0, IMX_E_BAD_DEADLINE, 0));
  CHECK_EQ(IMX_OK, clock_to(500));
  EXPECT_NO_EVENTS();
  CHECK_EQ(IMX_E_BAD_DEADLINE, tender(A, 5, 100, 500));
  EXPECT_EVENTS(rejected_tender(0, IMX_E_BAD_DEADLINE, 0));
  CHECK_EQ(IMX_E_BAD_DEADLINE, tender(A, 5, 100, 499));
  EXPECT_EVENTS(rejected_tender(0, IMX_E_BAD_DEADLINE, 0));
  CHECK_EQ(IMX_OK, tender(A, 5, 100, 501));
  EXPECT_EVENTS(tender_opened(1, A, 5, 100, 501)); /* no id consumed */
  finish();
}

static void test_tenders_full(void) {
  create(0, 2);
  S = add_service(CONTINUOUS, 1, 1, 0);
  CHECK_EQ(IMX_OK, tender(A, 5, 100, 1000)); /* 1 */
  CHECK_EQ(IMX_OK, tender(B, 5, 100, 1000)); /* 2 */
  CHECK_EQ(IMX_E_TENDERS_FULL, tender(C, 5, 100, 1000));
  EXPECT_EVENTS(rejected_tender(0, IMX_E_TENDERS_FULL, 0));
  CHECK_EQ(IMX_OK, award(1)); /* unfilled, closes */
  EXPECT_EVENTS(tender_unfilled(1, A, 5));
  CHECK_EQ(IMX_OK, tender(C, 5, 100, 1000));
  EXPECT_EVENTS(tender_opened(3, C, 5, 100, 1000));
  finish();
}

static void test_clock_awards_due_tenders_in_opening_order(void) {
  setup_tenders();
  CHECK_EQ(IMX_OK, tender(A, 10, 100, 300)); /* 1 */
  CHECK_EQ(IMX_OK, tender(C, 4, 60, 200));   /* 2: due earlier, opened later */
  CHECK_EQ(IMX_OK, tender(E_, 2, 50, 500));  /* 3 */
  CHECK_EQ(IMX_OK, quote(1, B, 90));         /* q1 */
  CHECK_EQ(IMX_OK, quote(2, D, 55));         /* q2 */
  CHECK_EQ(IMX_OK, quote(2, B, 50));         /* q3 */
  CHECK_EQ(IMX_OK, clock_to(299));
  EXPECT_EVENTS(ttrade(1, C, B, 4, 50, 2, 3),
                tender_awarded(2, 3, B, 50, 4, 1),
                quote_released(2, 2, D, 55, 4));
  CHECK_EQ(IMX_OK, tender(F, 1, 10, 310)); /* 4 */
  CHECK_EQ(IMX_OK, clock_to(310)); /* 1 (deadline 300) and 4 (310) */
  EXPECT_EVENTS(ttrade(2, A, B, 10, 90, 1, 1),
                tender_awarded(1, 1, B, 90, 10, 2),
                tender_unfilled(4, F, 1));
  /* The clock never goes back. */
  CHECK_EQ(IMX_OK, clock_to(250));
  EXPECT_NO_EVENTS();
  CHECK_EQ(IMX_E_BAD_DEADLINE, tender(A, 1, 10, 300));
  /* A tender with no quote ends unfilled at its deadline. */
  CHECK_EQ(IMX_OK, clock_to(499));
  EXPECT_NO_EVENTS();
  CHECK_EQ(IMX_OK, clock_to(500));
  EXPECT_EVENTS(tender_unfilled(3, E_, 2));
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, award(3));
  finish();
}

/* Tenders due together are settled in the order they opened, not by
** deadline. */
static void test_clock_settles_due_tenders_by_opening_not_deadline(void) {
  setup_tenders();
  CHECK_EQ(IMX_OK, tender(A, 1, 100, 300)); /* 1 */
  CHECK_EQ(IMX_OK, tender(C, 1, 100, 200)); /* 2 */
  CHECK_EQ(IMX_OK, clock_to(400));
  EXPECT_EVENTS(tender_unfilled(1, A, 1), tender_unfilled(2, C, 1));
  finish();
}

static void test_tender_cancel_releases_quotes(void) {
  setup_tenders();
  CHECK_EQ(IMX_OK, tender(A, 10, 100, 1000)); /* 1 */
  CHECK_EQ(IMX_OK, quote(1, B, 90));          /* q1 */
  CHECK_EQ(IMX_OK, quote(1, C, 80));          /* q2 */
  CHECK_EQ(IMX_OK, tcancel(1));
  EXPECT_EVENTS(quote_released(1, 1, B, 90, 10),
                quote_released(1, 2, C, 80, 10),
                tender_cancelled(1, A, 10));
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, quote(1, D, 70));
  CHECK_EQ(IMX_OK, clock_to(2000));
  EXPECT_NO_EVENTS();
  finish();
}

static void test_tender_with_risk_reserves_and_settles(void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1500));
  CHECK_EQ(IMX_OK, tender(A, 10, 100, 1000)); /* 1 */
  EXPECT_BALANCE(A, 1500, 1000, 0, 0, 500);
  CHECK_EQ(IMX_E_INSUFFICIENT_BUDGET, tender(A, 10, 60, 1000));
  EXPECT_EVENTS(rejected_tender(0, IMX_E_INSUFFICIENT_BUDGET, 500));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, B, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, B, S, 10));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, C, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, C, S, 5));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, D, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, D, S, 20));
  CHECK_EQ(IMX_OK, quote(1, B, 90)); /* q1 */
  EXPECT_CAPACITY(B, S, 10, 10, 0, 0);
  CHECK_EQ(IMX_E_OVER_CAPACITY, quote(1, C, 80));
  EXPECT_EVENTS(rejected_tender(1, IMX_E_OVER_CAPACITY, 5));
  CHECK_EQ(IMX_E_UNKNOWN_CC, quote(1, F, 80));
  EXPECT_EVENTS(rejected_tender(1, IMX_E_UNKNOWN_CC, 0));
  CHECK_EQ(IMX_OK, quote(1, D, 85)); /* q2 */
  EXPECT_CAPACITY(D, S, 20, 10, 0, 10);
  CHECK_EQ(IMX_OK, award(1));
  EXPECT_EVENTS(ttrade(1, A, D, 10, 85, 1, 2),
                tender_awarded(1, 2, D, 85, 10, 1),
                quote_released(1, 1, B, 90, 10));
  EXPECT_BALANCE(A, 1500, 0, 850, 0, 650);
  EXPECT_BALANCE(D, 0, 0, 0, 850, 0);
  EXPECT_CAPACITY(D, S, 20, 0, 10, 10);
  EXPECT_CAPACITY(B, S, 10, 0, 0, 10);
  finish();
}

static void test_tender_with_risk_unfilled_and_cancel_release(void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 1000));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, B, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, B, S, 10));
  CHECK_EQ(IMX_OK, tender(A, 4, 100, 100)); /* 1 */
  CHECK_EQ(IMX_OK, tender(A, 5, 100, 200)); /* 2 */
  EXPECT_BALANCE(A, 1000, 900, 0, 0, 100);
  CHECK_EQ(IMX_OK, quote(2, B, 50));
  EXPECT_CAPACITY(B, S, 10, 5, 0, 5);
  CHECK_EQ(IMX_OK, clock_to(100)); /* 1 unfilled */
  EXPECT_EVENTS(tender_unfilled(1, A, 4));
  EXPECT_BALANCE(A, 1000, 500, 0, 0, 500);
  CHECK_EQ(IMX_OK, tcancel(2));
  EXPECT_BALANCE(A, 1000, 0, 0, 0, 1000);
  EXPECT_CAPACITY(B, S, 10, 0, 0, 10);
  finish();
}

/* ------------------------------------------------------ decide: score */

static imx_event scored(imx_event e, int64_t score) {
  e.score = score;
  return e;
}

/* 60/40 then 90/10 on the same three quotes: ceiling 100; B at 70 with 3
** stars (quality 0.6), C at 85 with 5 stars (1.0), D at 50 unrated.
**   60/40: B 60x0.30 + 40x0.6 = 42, C 60x0.15 + 40 = 49, D 60x0.5 = 30
**   90/10: B 27 + 6 = 33, C 13.5 + 10 = 23.5, D 45 + 0 = 45 */
static void test_score_trades_price_against_quality(void) {
  setup_tenders();
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, B, S, 3, 9));
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, C, S, 3, 15));
  CHECK_EQ(IMX_OK, tender_score(A, 10, 100, 1000, 60, 40)); /* 1 */
  imx_event opened = tender_opened(1, A, 10, 100, 1000);
  opened.decide = IMX_DECIDE_SCORE;
  opened.price_weight = 60;
  opened.quality_weight = 40;
  EXPECT_EVENTS(opened);
  CHECK_EQ(IMX_OK, quote(1, B, 70)); /* q1 */
  CHECK_EQ(IMX_OK, quote(1, C, 85)); /* q2 */
  CHECK_EQ(IMX_OK, quote(1, D, 50)); /* q3 */
  CHECK_EQ(IMX_OK, tender_score(A, 10, 100, 1000, 90, 10)); /* 2 */
  CHECK_EQ(IMX_OK, quote(2, B, 70)); /* q4 */
  CHECK_EQ(IMX_OK, quote(2, C, 85)); /* q5 */
  CHECK_EQ(IMX_OK, quote(2, D, 50)); /* q6 */
  /* Before the award the queries show the scores as they stand. */
  imx_tender_info ti;
  CHECK_EQ(IMX_OK, imx_engine_tender_get(E, 2, &ti));
  CHECK_EQ(IMX_DECIDE_SCORE, ti.decide);
  CHECK_EQ(90, ti.price_weight);
  CHECK_EQ(10, ti.quality_weight);
  imx_quote_info qi[IMX_QUOTES_MAX];
  CHECK_EQ(3, imx_engine_tender_quotes(E, 1, qi, IMX_QUOTES_MAX));
  CHECK_EQ(42000, qi[0].score);
  CHECK_EQ(49000, qi[1].score);
  CHECK_EQ(30000, qi[2].score);
  CHECK_EQ(IMX_OK, imx_engine_quote_get(E, 5, &qi[0]));
  CHECK_EQ(23500, qi[0].score);
  mark();
  CHECK_EQ(IMX_OK, clock_to(1000));
  EXPECT_EVENTS(ttrade(1, A, C, 10, 85, 1, 2),
                scored(tender_awarded(1, 2, C, 85, 10, 1), 49000),
                scored(quote_released(1, 1, B, 70, 10), 42000),
                scored(quote_released(1, 3, D, 50, 10), 30000),
                ttrade(2, A, D, 10, 50, 2, 6),
                scored(tender_awarded(2, 6, D, 50, 10, 2), 45000),
                scored(quote_released(2, 4, B, 70, 10), 33000),
                scored(quote_released(2, 5, C, 85, 10), 23500));
  finish();
}

/* Equal scores: the earlier quote wins. C at the ceiling with 5 stars and
** B at 80 with 4 stars both score 50 at 50/50; then the same with B first.
** And equal reported scores are not a tie: at 0/100, 2/3 (66666) loses to
** 2000004/3000005 (also 66666 reported, but larger), quoted later. */
static void test_score_ties_go_to_the_earlier_quote(void) {
  setup_tenders();
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, B, S, 3, 12));
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, C, S, 3, 15));
  CHECK_EQ(IMX_OK, tender_score(A, 1, 100, 1000, 50, 50)); /* 1 */
  CHECK_EQ(IMX_OK, quote(1, C, 100)); /* q1 */
  CHECK_EQ(IMX_OK, quote(1, B, 80));  /* q2 */
  CHECK_EQ(IMX_OK, tender_score(A, 1, 100, 1000, 50, 50)); /* 2 */
  CHECK_EQ(IMX_OK, quote(2, B, 80));  /* q3 */
  CHECK_EQ(IMX_OK, quote(2, C, 100)); /* q4 */
  mark();
  CHECK_EQ(IMX_OK, award(1));
  EXPECT_EVENTS(ttrade(1, A, C, 1, 100, 1, 1),
                scored(tender_awarded(1, 1, C, 100, 1, 1), 50000),
                scored(quote_released(1, 2, B, 80, 1), 50000));
  CHECK_EQ(IMX_OK, award(2));
  EXPECT_EVENTS(ttrade(2, A, B, 1, 80, 2, 3),
                scored(tender_awarded(2, 3, B, 80, 1, 2), 50000),
                scored(quote_released(2, 4, C, 100, 1), 50000));
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, D, S, 3, 10));
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, F, S, 600001, 2000004));
  CHECK_EQ(IMX_OK, tender_score(A, 1, 100, 1000, 0, 100)); /* 3 */
  CHECK_EQ(IMX_OK, quote(3, D, 10)); /* q5 */
  CHECK_EQ(IMX_OK, quote(3, F, 100)); /* q6 */
  CHECK_EQ(IMX_OK, award(3));
  EXPECT_EVENTS(ttrade(3, A, F, 1, 100, 3, 6),
                scored(tender_awarded(3, 6, F, 100, 1, 3), 66666),
                scored(quote_released(3, 5, D, 10, 1), 66666));
  finish();
}

/* Unrated: fewer ratings than ratings_min (3) count as no quality at all,
** however good; the reputation is the one at the award, so B's third
** rating, set after the quotes, makes B win. */
static void test_score_unrated_provider_and_reputation_at_the_award(void) {
  setup_tenders();
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, B, S, 2, 10)); /* unrated */
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, C, S, 3, 6));  /* 2 stars */
  CHECK_EQ(IMX_OK, tender_score(A, 2, 200, 1000, 20, 80)); /* 1 */
  CHECK_EQ(IMX_OK, quote(1, B, 100)); /* q1: 20x0.5 + 0 = 10 */
  CHECK_EQ(IMX_OK, quote(1, C, 150)); /* q2: 20x0.25 + 80x0.4 = 37 */
  imx_quote_info qi;
  CHECK_EQ(IMX_OK, imx_engine_quote_get(E, 1, &qi));
  CHECK_EQ(10000, qi.score);
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, B, S, 3, 15)); /* rated */
  CHECK_EQ(IMX_OK, imx_engine_quote_get(E, 1, &qi));
  CHECK_EQ(90000, qi.score); /* 10 + 80 */
  mark();
  CHECK_EQ(IMX_OK, clock_to(1000));
  EXPECT_EVENTS(ttrade(1, A, B, 2, 100, 1, 1),
                scored(tender_awarded(1, 1, B, 100, 2, 1), 90000),
                scored(quote_released(1, 2, C, 150, 2), 37000));
  /* A score tender without a quote ends unfilled. */
  CHECK_EQ(IMX_OK, tender_score(A, 2, 200, 2000, 100, 0)); /* 2 */
  CHECK_EQ(IMX_OK, clock_to(2000));
  EXPECT_EVENTS(tender_unfilled(2, A, 2));
  finish();
}

static void test_score_weights_are_checked(void) {
  setup_tenders();
  static const uint32_t bad[][3] = {
      {IMX_DECIDE_SCORE, 60, 30}, {IMX_DECIDE_SCORE, 101, 0},
      {IMX_DECIDE_SCORE, 0, 0},   {IMX_DECIDE_SCORE, 50, 51},
      {IMX_DECIDE_LOWEST, 60, 40}, {IMX_DECIDE_CHOOSE, 0, 100}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    imx_tender_new t = {S, A, 1, 100, 1000, (imx_decide)bad[i][0], bad[i][1], bad[i][2]};
    mark();
    CHECK_EQ(IMX_E_BAD_WEIGHTS, imx_engine_tender_new(E, &t, NULL));
    EXPECT_EVENTS(rejected_tender(0, IMX_E_BAD_WEIGHTS, 0));
  }
  CHECK_STR("bad_weights", imx_status_name(IMX_E_BAD_WEIGHTS));
  CHECK_EQ(IMX_OK, tender_score(A, 1, 100, 1000, 100, 0));
  CHECK_EQ(IMX_OK, tender_score(A, 1, 100, 1000, 0, 100));
  /* A score tender is awarded by its rule, never by choice. */
  CHECK_EQ(IMX_OK, quote(1, B, 90));
  CHECK_EQ(IMX_E_WRONG_DECIDE, award_quote(1, 1));
  finish();
}

/* ----------------------------------------------- decide: choose, withdraw */

static void test_choose_tender_opens_with_its_mode(void) {
  setup_tenders();
  CHECK_EQ(IMX_OK, tender_choose(A, 10, 100, 1000));
  imx_event opened = tender_opened(1, A, 10, 100, 1000);
  opened.decide = IMX_DECIDE_CHOOSE;
  EXPECT_EVENTS(opened);
  imx_tender_info ti;
  CHECK_EQ(IMX_OK, imx_engine_tender_get(E, 1, &ti));
  CHECK_EQ(IMX_DECIDE_CHOOSE, ti.decide);
  /* Out of range: refused like any other bad setting, nothing opened. */
  imx_tender_new bad = {S, A, 10, 100, 1000, (imx_decide)3, 0, 0};
  mark();
  CHECK_EQ(IMX_E_BAD_CONFIG, imx_engine_tender_new(E, &bad, NULL));
  EXPECT_EVENTS(rejected_tender(0, IMX_E_BAD_CONFIG, 0));
  finish();
}

static void test_choose_awards_the_dearer_quote_at_its_price(void) {
  setup_tenders();
  CHECK_EQ(IMX_OK, tender_choose(A, 10, 100, 1000)); /* 1 */
  CHECK_EQ(IMX_OK, quote(1, B, 80)); /* q1, the cheapest */
  CHECK_EQ(IMX_OK, quote(1, C, 95)); /* q2 */
  CHECK_EQ(IMX_OK, quote(1, D, 90)); /* q3 */
  CHECK_EQ(IMX_OK, award_quote(1, 2));
  EXPECT_EVENTS(ttrade(1, A, C, 10, 95, 1, 2),
                tender_awarded(1, 2, C, 95, 10, 1),
                quote_released(1, 1, B, 80, 10),
                quote_released(1, 3, D, 90, 10));
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, award_quote(1, 2)); /* closed */
  EXPECT_EVENTS(rejected_quote(1, 2, IMX_E_UNKNOWN_TENDER));
  finish();
}

static void test_award_quote_rejections(void) {
  setup_tenders();
  CHECK_EQ(IMX_OK, tender(A, 10, 100, 1000));        /* 1: lowest */
  CHECK_EQ(IMX_OK, quote(1, B, 80));                 /* q1 */
  CHECK_EQ(IMX_OK, tender_choose(A, 5, 100, 1000));  /* 2: choose */
  CHECK_EQ(IMX_OK, quote(2, C, 70));                 /* q2 */
  /* A lowest tender is never awarded by choice, not even to its best. */
  CHECK_EQ(IMX_E_WRONG_DECIDE, award_quote(1, 1));
  EXPECT_EVENTS(rejected_quote(1, 1, IMX_E_WRONG_DECIDE));
  /* The quote of another tender, or none. */
  CHECK_EQ(IMX_E_UNKNOWN_QUOTE, award_quote(2, 1));
  EXPECT_EVENTS(rejected_quote(2, 1, IMX_E_UNKNOWN_QUOTE));
  CHECK_EQ(IMX_E_UNKNOWN_QUOTE, award_quote(2, 99));
  EXPECT_EVENTS(rejected_quote(2, 99, IMX_E_UNKNOWN_QUOTE));
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, award_quote(9, 2));
  EXPECT_EVENTS(rejected_quote(9, 2, IMX_E_UNKNOWN_TENDER));
  /* The rule's award works on a choose tender too (the receiver asks). */
  CHECK_EQ(IMX_OK, award(2));
  EXPECT_EVENTS(ttrade(1, A, C, 5, 70, 2, 2), tender_awarded(2, 2, C, 70, 5, 1));
  finish();
}

static void test_choose_tender_lapses_at_its_deadline(void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 2000));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, B, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, B, S, 10));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, C, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, C, S, 10));
  CHECK_EQ(IMX_OK, tender_choose(A, 5, 100, 100)); /* 1: quotes, no award */
  CHECK_EQ(IMX_OK, tender(A, 5, 100, 100));        /* 2: lowest, no quote */
  CHECK_EQ(IMX_OK, tender_choose(A, 5, 100, 100)); /* 3: no quote either */
  CHECK_EQ(IMX_OK, quote(1, B, 60)); /* q1 */
  CHECK_EQ(IMX_OK, quote(1, C, 50)); /* q2 */
  EXPECT_BALANCE(A, 2000, 1500, 0, 0, 500);
  EXPECT_CAPACITY(B, S, 10, 5, 0, 5);
  CHECK_EQ(IMX_OK, clock_to(99)); /* not yet */
  EXPECT_NO_EVENTS();
  CHECK_EQ(IMX_OK, clock_to(100));
  EXPECT_EVENTS(quote_released(1, 1, B, 60, 5),
                quote_released(1, 2, C, 50, 5),
                tender_lapsed(1, A, 5),
                tender_unfilled(2, A, 5),
                tender_lapsed(3, A, 5));
  EXPECT_BALANCE(A, 2000, 0, 0, 0, 2000);
  EXPECT_CAPACITY(B, S, 10, 0, 0, 10);
  EXPECT_CAPACITY(C, S, 10, 0, 0, 10);
  CHECK_EQ(IMX_E_UNKNOWN_TENDER, award_quote(1, 1)); /* too late */
  finish();
}

static void test_withdrawn_quote_releases_capacity_and_cannot_win(void) {
  setup_risk();
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, A, 2000));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, B, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, B, S, 10));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, C, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, C, S, 10));
  CHECK_EQ(IMX_OK, imx_engine_cc_set(E, D, 0));
  CHECK_EQ(IMX_OK, imx_engine_capacity_set(E, D, S, 10));
  CHECK_EQ(IMX_OK, tender(A, 4, 100, 1000)); /* 1: lowest */
  CHECK_EQ(IMX_OK, quote(1, B, 50));         /* q1, the lowest */
  CHECK_EQ(IMX_OK, quote(1, C, 70));         /* q2 */
  CHECK_EQ(IMX_OK, quote(1, D, 70));         /* q3 */
  EXPECT_CAPACITY(B, S, 10, 4, 0, 6);
  CHECK_EQ(IMX_OK, withdraw(1));
  EXPECT_EVENTS(quote_withdrawn(1, 1, B, 50, 4));
  EXPECT_CAPACITY(B, S, 10, 0, 0, 10);
  imx_quote_info q[IMX_QUOTES_MAX];
  CHECK_EQ(2, imx_engine_tender_quotes(E, 1, q, IMX_QUOTES_MAX));
  CHECK_EQ(2, q[0].quote_id); /* the others moved up, in arrival order */
  CHECK_EQ(3, q[1].quote_id);
  CHECK_EQ(IMX_E_UNKNOWN_QUOTE, imx_engine_quote_get(E, 1, &q[2]));
  CHECK_EQ(IMX_OK, imx_engine_quote_get(E, 3, &q[2]));
  CHECK_EQ(1, q[2].tender_id);
  CHECK_EQ(D, q[2].cc);
  /* Twice: the quote is gone. */
  CHECK_EQ(IMX_E_UNKNOWN_QUOTE, withdraw(1));
  EXPECT_EVENTS(rejected_quote(0, 1, IMX_E_UNKNOWN_QUOTE));
  /* B may quote again: a new quote, the latest. */
  CHECK_EQ(IMX_OK, quote(1, B, 70)); /* q4 */
  EXPECT_EVENTS(quote_accepted(1, 4, B, 70, 4));
  /* Equal prices: the earliest standing quote wins (q2, not q4). */
  CHECK_EQ(IMX_OK, award(1));
  EXPECT_EVENTS(ttrade(1, A, C, 4, 70, 1, 2),
                tender_awarded(1, 2, C, 70, 4, 1),
                quote_released(1, 3, D, 70, 4),
                quote_released(1, 4, B, 70, 4));
  /* After the award nothing is left to withdraw. */
  CHECK_EQ(IMX_E_UNKNOWN_QUOTE, withdraw(2));
  CHECK_EQ(IMX_E_UNKNOWN_QUOTE, withdraw(3));
  EXPECT_CAPACITY(C, S, 10, 0, 4, 6);
  EXPECT_CAPACITY(D, S, 10, 0, 0, 10);
  finish();
}

static void test_open_tenders_are_listed_oldest_first_after_an_id(void) {
  setup_tenders();
  CHECK_EQ(IMX_OK, tender(A, 1, 100, 1000));        /* 1 */
  CHECK_EQ(IMX_OK, tender_choose(B, 2, 100, 1000)); /* 2 */
  CHECK_EQ(IMX_OK, tender(C, 3, 100, 1000));        /* 3 */
  CHECK_EQ(IMX_OK, tcancel(2));
  imx_tender_info ti[4];
  CHECK_EQ(2, imx_engine_tenders(E, 0, ti, 4));
  CHECK_EQ(1, ti[0].tender_id);
  CHECK_EQ(3, ti[1].tender_id);
  CHECK_EQ(3, ti[1].qty);
  CHECK_EQ(1, imx_engine_tenders(E, 1, ti, 4));
  CHECK_EQ(3, ti[0].tender_id);
  CHECK_EQ(1, imx_engine_tenders(E, 0, ti, 1)); /* at most n */
  CHECK_EQ(0, imx_engine_tenders(E, 3, ti, 4));
  CHECK_EQ(0, imx_engine_tender_quotes(E, 2, NULL, 0)); /* closed */
  finish();
}

/* ---------------------------------------------------------------- main */

int main(int argc, char **argv) {
  static const check_case cases[] = {
      /* auctions */
      CHECK_CASE(test_auction_orders_rest_without_matching_even_crossed),
      CHECK_CASE(test_price_highest_executable_volume),
      CHECK_CASE(test_price_equal_volume_lowest_surplus),
      CHECK_CASE(test_price_bid_surplus_everywhere_highest),
      CHECK_CASE(test_price_offer_surplus_everywhere_lowest),
      CHECK_CASE(test_price_mixed_pressure_nearest_reference),
      CHECK_CASE(test_price_mixed_pressure_nearest_reference_high),
      CHECK_CASE(test_price_mixed_pressure_equally_near_takes_higher),
      CHECK_CASE(test_price_mixed_pressure_without_reference_lowest),
      CHECK_CASE(test_price_zero_surplus_nearest_reference),
      CHECK_CASE(test_price_zero_surplus_equally_near_takes_higher),
      CHECK_CASE(test_xetra_reference_200_equally_near_takes_higher_201),
      CHECK_CASE(test_xetra_reference_202_nearest_is_201),
      CHECK_CASE(test_xetra_reference_198_nearest_is_199),
      CHECK_CASE(test_last_clearing_price_replaces_callers_reference),
      CHECK_CASE(test_call_without_trade_sets_no_clearing_price),
      CHECK_CASE(test_auction_event_fields_and_trades_at_one_price),
      CHECK_CASE(test_market_order_takes_part_at_any_price_and_fills_first),
      CHECK_CASE(test_market_offer_fills_first_on_long_offer_side),
      CHECK_CASE(test_only_market_orders_trade_at_reference),
      CHECK_CASE(test_only_market_orders_without_reference_do_not_trade),
      CHECK_CASE(test_market_order_rejected_in_continuous_mode),
      CHECK_CASE(test_allocation_long_side_price_then_time),
      CHECK_CASE(test_allocation_long_offer_side_lowest_first),
      CHECK_CASE(test_aon_that_cannot_fill_is_left_out_and_price_changes),
      CHECK_CASE(test_aon_that_fits_fills_whole),
      CHECK_CASE(test_call_min_stars_bid_fills_after_the_price_from_eligible_offers),
      CHECK_CASE(test_call_min_stars_bids_make_no_price_and_aon_ones_fill_whole),
      CHECK_CASE(test_aon_on_long_offer_side_left_out_later_order_fills),
      CHECK_CASE(test_fok_behaves_as_aon_and_is_cancelled_after_call),
      CHECK_CASE(test_fok_that_fits_fills_whole),
      CHECK_CASE(test_ioc_remainder_cancelled_after_call),
      CHECK_CASE(test_ioc_that_does_not_take_part_is_cancelled_whole),
      CHECK_CASE(test_ioc_and_fok_cancelled_by_a_call_that_clears_nothing),
      CHECK_CASE(test_gtc_and_period_leftovers_trade_at_next_call),
      CHECK_CASE(test_no_crossing_orders_no_price),
      CHECK_CASE(test_empty_book_no_price),
      CHECK_CASE(test_self_trade_prevented_at_entry),
      CHECK_CASE(test_self_trade_allowed_again_after_fill),
      CHECK_CASE(test_auction_run_errors),
      CHECK_CASE(test_reference_above_price_cap_never_overspends),
      /* risk */
      CHECK_CASE(test_open_orders_per_cost_centre_are_limited),
      CHECK_CASE(test_rejected_auction_order_leaves_no_position),
      CHECK_CASE(test_pairs_emptied_by_a_call_make_room_for_new_ones),
      CHECK_CASE(test_a_sweep_frees_every_idle_pair),
      CHECK_CASE(test_open_tenders_per_cost_centre_are_limited),
      CHECK_CASE(test_budgets_whose_sum_passes_the_bound_are_refused),
      CHECK_CASE(test_market_at_the_budget_bound_trades_without_overflow),
      CHECK_CASE(test_undeclared_cc_is_rejected_unknown_cc),
      CHECK_CASE(test_bid_reserves_qty_times_limit),
      CHECK_CASE(test_bid_above_what_is_left_is_rejected_with_available),
      CHECK_CASE(test_fill_at_better_price_charges_trade_price),
      CHECK_CASE(test_partial_fills_charge_and_keep_the_rest_reserved),
      CHECK_CASE(test_cancel_releases_reservation),
      CHECK_CASE(test_period_expiry_releases_reservation),
      CHECK_CASE(test_ioc_and_fok_remainders_release_reservation),
      CHECK_CASE(test_modify_up_beyond_budget_rejected_down_releases),
      CHECK_CASE(test_modify_offer_beyond_capacity_rejected),
      CHECK_CASE(test_offer_capacity_none_within_over_fill_cancel),
      CHECK_CASE(test_market_bid_in_auction_reserves_price_cap),
      CHECK_CASE(test_cc_set_starts_new_period_and_refuses_below_reserved),
      CHECK_CASE(test_capacity_set_starts_new_period_and_refuses_below_reserved),
      CHECK_CASE(test_random_budgets_and_capacities_hold),
      /* tenders */
      CHECK_CASE(test_tender_open_and_quotes_accepted),
      CHECK_CASE(test_award_lowest_quote_earliest_on_tie),
      CHECK_CASE(test_tender_trade_ids_follow_book_trades),
      CHECK_CASE(test_quote_rejections),
      CHECK_CASE(test_seventeenth_quote_is_rejected_quotes_full),
      CHECK_CASE(test_tender_get_shows_an_open_tender_and_forgets_a_closed_one),
      CHECK_CASE(test_tender_closing_reads_the_tender_a_lapse_or_a_cancel_closes),
      CHECK_CASE(test_tender_ceiling_0_is_bad_price_in_an_auction_service),
      CHECK_CASE(test_tender_bad_deadline),
      CHECK_CASE(test_tenders_full),
      CHECK_CASE(test_clock_awards_due_tenders_in_opening_order),
      CHECK_CASE(test_clock_settles_due_tenders_by_opening_not_deadline),
      CHECK_CASE(test_tender_cancel_releases_quotes),
      CHECK_CASE(test_tender_with_risk_reserves_and_settles),
      CHECK_CASE(test_tender_with_risk_unfilled_and_cancel_release),
      /* decide, withdraw */
      CHECK_CASE(test_score_trades_price_against_quality),
      CHECK_CASE(test_score_ties_go_to_the_earlier_quote),
      CHECK_CASE(test_score_unrated_provider_and_reputation_at_the_award),
      CHECK_CASE(test_score_weights_are_checked),
      CHECK_CASE(test_choose_tender_opens_with_its_mode),
      CHECK_CASE(test_choose_awards_the_dearer_quote_at_its_price),
      CHECK_CASE(test_award_quote_rejections),
      CHECK_CASE(test_choose_tender_lapses_at_its_deadline),
      CHECK_CASE(test_withdrawn_quote_releases_capacity_and_cannot_win),
      CHECK_CASE(test_open_tenders_are_listed_oldest_first_after_an_id),
  };
  return check_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
