/*
** test_engine.c -- the rules of docs/matching.md, one behaviour per test.
**
** Every test builds a small book through the public interface only, runs one
** command and compares the events that command produced with the events the
** rules demand, field by field, with the numbers written out. A recorder
** copies every event the engine emits; each command helper first marks the
** recorder, so EXPECT_EVENTS() always speaks about the last command alone and
** demands exactly the listed events, no more, no fewer.
** The recorder, the fixture and the expectations are in events.h, shared
** with test_market.c.
**
** Conventions: cost centres are A, B, C, D; S is the service under test (the
** event builders stamp it into the expected events, so a test that works on
** two services sets S before it states expectations); order and trade ids are
** written out as the numbers the engine must assign (sequential from 1).
** After every test imx_engine_check() must find every invariant intact.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "events.h" /* recorder, fixture E R S, commands, EXPECT_EVENTS ... */
#include "imx_engine.h"

/* Short names beyond those of events.h. */
#define SELF_TRADE IMX_CANCEL_SELF_TRADE

enum { A = 1, B = 2, C = 3, D = 4 }; /* cost centres */

/* --------------------------------------------------------------- fixture */

static recorder R2; /* a second engine's, for determinism */

static imx_engine *create_engine(uint32_t orders_max, uint32_t services_max,
                                 recorder *r) {
  imx_engine_config cfg = {.orders_max = orders_max,
                           .services_max = services_max};
  return engine_create(cfg, r);
}

static uint32_t add_service(int64_t tick_minor, int64_t lot, int divisible,
                            uint32_t levels_max) {
  imx_service_config cfg = {.tick_minor = tick_minor, .lot = lot, .divisible = divisible, .levels_max = levels_max};
  uint32_t id = UINT32_MAX;
  imx_status st = imx_engine_service_add(E, &cfg, &id);
  if (st != IMX_OK)
    fail_at(__LINE__, "service_add(tick %lld, lot %lld, divisible %d, "
            "levels %u) returned %d", (long long)tick_minor, (long long)lot,
            divisible, levels_max, (int)st);
  return id;
}

/* The usual world: room for 64 orders and 4 services, one service with
** tick 1 and lot 1 so that any positive price and qty is valid. */
static void setup(void) {
  E = create_engine(64, 4, &R);
  S = add_service(1, 1, 1, 0);
}

static void setup_engine(uint32_t orders_max, uint32_t services_max) {
  E = create_engine(orders_max, services_max, &R);
}

/* -------------------------------------------------------------- commands */

/* This file's names for PLACE, BUY and SELL of events.h: an order on S the
** test expects to be accepted; each returns the order's id. */
#define place(cc, side, tif, aon, qty, price) \
  PLACE(cc, side, tif, aon, qty, price)
#define bid(cc, qty, price) BUY(cc, qty, price)
#define offer(cc, qty, price) SELL(cc, qty, price)

/* ------------------------------------------------------ expected queries */

/* The order ids of one side in priority order: better price first, then
** time. This is how a test sees who is ahead in the queue. */
static void expect_queue_(int line, imx_side side, const uint64_t *want,
                          uint32_t n) {
  imx_order_info got[64];
  uint32_t k = imx_engine_orders(E, S, side, got, 64);
  int bad = k != n;
  for (uint32_t i = 0; i < n && i < k; i++)
    bad |= want[i] != got[i].order_id;
  if (bad) {
    fail_at(line, "%s queue differs", side == BID ? "bid" : "offer");
    fprintf(stderr, "    want:");
    for (uint32_t i = 0; i < n; i++)
      fprintf(stderr, " %llu", (unsigned long long)want[i]);
    fprintf(stderr, "\n    got: ");
    for (uint32_t i = 0; i < k; i++)
      fprintf(stderr, " %llu", (unsigned long long)got[i].order_id);
    fprintf(stderr, "\n");
  }
}

#define EXPECT_QUEUE(side, ...)                                             \
  expect_queue_(__LINE__, side, (const uint64_t[]){__VA_ARGS__},            \
                (uint32_t)(sizeof((const uint64_t[]){__VA_ARGS__}) /        \
                           sizeof(uint64_t)))

/* ======================================================= price and time */

static void test_better_priced_offer_trades_first(void) {
  setup();
  offer(A, 10, 101); /* 1 */
  offer(B, 10, 100); /* 2: cheaper, so first although it came later */
  CHECK_EQ(3, bid(C, 10, 101));
  EXPECT_EVENTS(accepted(3, C, BID, GTC, 0, 10, 101),
                trade(1, 3, 2, C, B, 10, 100, BID));
  EXPECT_LEVELS(OFFER, {101, 10, 1});
  EXPECT_NO_LEVELS(BID);
  finish();
}

static void test_better_priced_bid_trades_first(void) {
  setup();
  bid(A, 10, 99);  /* 1 */
  bid(B, 10, 100); /* 2: higher, so first although it came later */
  CHECK_EQ(3, offer(C, 10, 99));
  EXPECT_EVENTS(accepted(3, C, OFFER, GTC, 0, 10, 99),
                trade(1, 2, 3, B, C, 10, 100, OFFER));
  EXPECT_LEVELS(BID, {99, 10, 1});
  EXPECT_NO_LEVELS(OFFER);
  finish();
}

static void test_same_price_trades_in_arrival_order(void) {
  setup();
  offer(A, 5, 100); /* 1 */
  offer(B, 5, 100); /* 2 */
  offer(C, 5, 100); /* 3 */
  bid(D, 7, 100);   /* 4 */
  EXPECT_EVENTS(accepted(4, D, BID, GTC, 0, 7, 100),
                trade(1, 4, 1, D, A, 5, 100, BID),
                trade(2, 4, 2, D, B, 2, 100, BID));
  EXPECT_QUEUE(OFFER, 2, 3);
  EXPECT_LEVELS(OFFER, {100, 8, 2});
  EXPECT_ORDER(2, 5, 3, 2, 100);
  EXPECT_NOT_OPEN(1);
  finish();
}

static void test_incoming_bid_trades_at_resting_offer_price(void) {
  setup();
  offer(A, 10, 100); /* 1 */
  bid(B, 4, 105);    /* 2: willing to pay 105, pays 100 */
  EXPECT_EVENTS(accepted(2, B, BID, GTC, 0, 4, 105),
                trade(1, 2, 1, B, A, 4, 100, BID));
  EXPECT_ORDER(1, 10, 6, 4, 100);
  EXPECT_LEVELS(OFFER, {100, 6, 1});
  EXPECT_NO_LEVELS(BID);
  finish();
}

static void test_incoming_offer_trades_at_resting_bid_price(void) {
  setup();
  bid(A, 10, 105); /* 1 */
  offer(B, 4, 100); /* 2: willing to sell at 100, gets 105 */
  EXPECT_EVENTS(accepted(2, B, OFFER, GTC, 0, 4, 100),
                trade(1, 1, 2, A, B, 4, 105, OFFER));
  EXPECT_ORDER(1, 10, 6, 4, 105);
  EXPECT_LEVELS(BID, {105, 6, 1});
  EXPECT_NO_LEVELS(OFFER);
  finish();
}

static void test_orders_that_fill_completely_leave_the_book(void) {
  setup();
  offer(A, 5, 100); /* 1 */
  bid(B, 5, 100);   /* 2 */
  /* No further event for either: a filled order simply leaves. */
  EXPECT_EVENTS(accepted(2, B, BID, GTC, 0, 5, 100),
                trade(1, 2, 1, B, A, 5, 100, BID));
  EXPECT_NOT_OPEN(1);
  EXPECT_NOT_OPEN(2);
  EXPECT_NO_LEVELS(BID);
  EXPECT_NO_LEVELS(OFFER);
  CHECK_EQ(0, imx_engine_open_orders(E));
  finish();
}

static void test_orders_that_do_not_cross_both_rest(void) {
  setup();
  bid(A, 5, 99);    /* 1 */
  offer(B, 5, 100); /* 2 */
  EXPECT_EVENTS(accepted(2, B, OFFER, GTC, 0, 5, 100));
  EXPECT_LEVELS(BID, {99, 5, 1});
  EXPECT_LEVELS(OFFER, {100, 5, 1});
  CHECK_EQ(2, imx_engine_open_orders(E));
  finish();
}

/* ================================================ partial fills, levels */

static void test_partial_fill_across_levels_rests_remainder_at_limit(void) {
  setup();
  offer(A, 5, 100); /* 1 */
  offer(B, 5, 101); /* 2 */
  offer(C, 5, 103); /* 3: beyond the limit, untouched */
  bid(D, 15, 102);  /* 4 */
  EXPECT_EVENTS(accepted(4, D, BID, GTC, 0, 15, 102),
                trade(1, 4, 1, D, A, 5, 100, BID),
                trade(2, 4, 2, D, B, 5, 101, BID));
  EXPECT_LEVELS(BID, {102, 5, 1});
  EXPECT_LEVELS(OFFER, {103, 5, 1});
  EXPECT_ORDER(4, 15, 5, 10, 102);
  EXPECT_ORDER(3, 5, 5, 0, 103);
  finish();
}

static void test_levels_report_totals_best_first(void) {
  setup();
  bid(A, 3, 100);   /* 1 */
  bid(B, 4, 100);   /* 2 */
  bid(C, 5, 99);    /* 3 */
  bid(A, 1, 101);   /* 4 */
  offer(B, 2, 103); /* 5 */
  offer(C, 6, 103); /* 6 */
  offer(A, 7, 102); /* 7 */
  EXPECT_LEVELS(BID, {101, 1, 1}, {100, 7, 2}, {99, 5, 1});
  EXPECT_LEVELS(OFFER, {102, 7, 1}, {103, 8, 2});
  EXPECT_QUEUE(BID, 4, 1, 2, 3);
  EXPECT_QUEUE(OFFER, 7, 5, 6);
  /* A short buffer gets the best levels only. */
  imx_level_info two[2];
  CHECK_EQ(2, imx_engine_levels(E, S, BID, two, 2));
  CHECK_EQ(101, two[0].price_minor);
  CHECK_EQ(100, two[1].price_minor);
  CHECK_EQ(0, imx_engine_levels(E, 1000, BID, two, 2));
  finish();
}

static void test_emptied_level_is_free_again(void) {
  setup_engine(64, 4);
  S = add_service(1, 1, 1, 2); /* two levels per side */
  bid(A, 5, 100);              /* 1 */
  bid(A, 5, 99);               /* 2 */
  CHECK_EQ(IMX_OK, cancel(2)); /* level 99 empties */
  CHECK_EQ(3, bid(A, 5, 98));
  offer(B, 5, 100);            /* 4: fills 1, level 100 empties */
  CHECK_EQ(5, bid(A, 5, 97));
  EXPECT_LEVELS(BID, {98, 5, 1}, {97, 5, 1});
  finish();
}

/* A book of thousands of levels built, traded through and emptied in
** random order (the sides are trees of levels, engine/levels.c: every
** insert and delete rebalances somewhere else). A model kept from the
** events knows every open order; every few commands imx_engine_check must
** pass (it checks the tree: order, colours, links, the free list, the
** cached best) and now and then the levels must be the model's, best
** first, price by price. */
enum { DEEP_IDS = 16384, DEEP_LO = 1000, DEEP_MID = 5000, DEEP_HI = 9000 };

typedef struct deep_book {
  int64_t open[DEEP_IDS], price[DEEP_IDS];
  uint8_t side[DEEP_IDS];
  uint64_t x;            /* the test's random stream */
  uint64_t traded;       /* qty traded, from the events */
  uint32_t ids[DEEP_IDS], ids_n; /* orders the model holds open */
} deep_book;

static void deep_event(void *ctx, const imx_event *ev) {
  deep_book *d = ctx;
  if (ev->type == IMX_EV_ACCEPTED) {
    d->open[ev->order_id] = ev->qty;
    d->price[ev->order_id] = ev->price_minor;
    d->side[ev->order_id] = (uint8_t)ev->side;
  } else if (ev->type == IMX_EV_TRADE) {
    d->open[ev->buy_order_id] -= ev->qty;
    d->open[ev->sell_order_id] -= ev->qty;
    d->traded += (uint64_t)ev->qty;
  } else if (ev->type == IMX_EV_CANCELLED || ev->type == IMX_EV_EXPIRED) {
    d->open[ev->order_id] = 0;
  } else if (ev->type == IMX_EV_MODIFIED) {
    d->open[ev->order_id] = ev->qty;
    d->price[ev->order_id] = ev->price_minor;
  }
}

static uint32_t deep_rand(deep_book *d, uint32_t n) {
  d->x = d->x * 6364136223846793005ULL + 1442695040888963407ULL;
  return (uint32_t)((d->x >> 33) % n);
}

/* The open ids, gathered again (closed ones dropped). */
static void deep_gather(deep_book *d, uint64_t id_next) {
  d->ids_n = 0;
  for (uint64_t id = 1; id < id_next; id++)
    if (d->open[id] > 0) d->ids[d->ids_n++] = (uint32_t)id;
}

/* The engine's levels of one side against the model's, best first. */
static void deep_compare(int line, deep_book *d, uint64_t id_next, imx_side side) {
  static imx_level_info got[4 * DEEP_HI];
  static int64_t qty[DEEP_HI + 1];
  static uint32_t count[DEEP_HI + 1];
  memset(qty, 0, sizeof qty);
  memset(count, 0, sizeof count);
  for (uint64_t id = 1; id < id_next; id++)
    if (d->open[id] > 0 && d->side[id] == side) {
      qty[d->price[id]] += d->open[id];
      count[d->price[id]]++;
    }
  uint32_t n = imx_engine_levels(E, S, side, got, 4 * DEEP_HI), k = 0;
  for (int64_t i = 0; i <= DEEP_HI; i++) {
    int64_t p = side == BID ? DEEP_HI - i : i;
    if (count[p] == 0) continue;
    if (k >= n || got[k].price_minor != p || got[k].qty_open != qty[p] ||
        got[k].orders != count[p]) {
      fail_at(line, "%s level %u: want {%lld, %lld, %u}, got %s", imx_side_name(side), k,
              (long long)p, (long long)qty[p], count[p], k < n ? "another" : "none");
      return;
    }
    k++;
  }
  if (k != n) fail_at(line, "%s: %u levels, the model has %u", imx_side_name(side), n, k);
}

/* A non-crossing limit: bids below DEEP_MID, offers above. */
static int64_t deep_resting_price(deep_book *d, imx_side side) {
  int64_t t = 1 + deep_rand(d, DEEP_MID - DEEP_LO);
  return side == BID ? DEEP_MID - t : DEEP_MID + t;
}

static uint64_t deep_add(deep_book *d, imx_side side, imx_tif tif, int64_t qty,
                         int64_t price) {
  /* Bids from odd cost centres, offers from even ones: no self-trade. */
  uint32_t cc = 2 * (1 + deep_rand(d, 500)) + (side == BID);
  imx_order_new o = {S, cc, side, tif, 0, qty, price, 0, 0};
  uint64_t id = 0;
  if (imx_engine_order_new(E, &o, &id) != IMX_OK || id == 0 || id >= DEEP_IDS)
    fail_at(__LINE__, "order_new(%s %lld @ %lld) failed", imx_side_name(side),
            (long long)qty, (long long)price);
  return id;
}

/* An ioc order through the best prices of the other side: it trades what
** the model says rests at or better than its limit, up to its qty. */
static void deep_sweep(deep_book *d, uint64_t id_next) {
  imx_side side = deep_rand(d, 2) ? BID : OFFER;
  int64_t through = deep_rand(d, 60), qty = 1 + deep_rand(d, 400);
  imx_level_info best;
  if (imx_engine_levels(E, S, side == BID ? OFFER : BID, &best, 1) != 1) return;
  int64_t limit = side == BID ? best.price_minor + through : best.price_minor - through;
  int64_t can = 0;
  for (uint64_t id = 1; id < id_next; id++)
    if (d->open[id] > 0 && d->side[id] != side &&
        (side == BID ? d->price[id] <= limit : d->price[id] >= limit))
      can += d->open[id];
  uint64_t before = d->traded;
  deep_add(d, side, IMX_TIF_IOC, qty, limit);
  CHECK_EQ(qty < can ? qty : can, (int64_t)(d->traded - before));
}

/* price_cap_minor 0: no cap, so the sides are red-black trees; a cap just
** above every price the test uses makes them tick maps (levels.c). */
static void deep_books_build_and_empty(int64_t price_cap_minor) {
  static deep_book d;
  memset(&d, 0, sizeof d);
  d.x = 20261205;
  imx_engine_config cfg = {.orders_max = DEEP_IDS, .services_max = 1,
                           .on_event = deep_event, .ctx = &d};
  CHECK_EQ(IMX_OK, imx_engine_create(&cfg, &E));
  /* Every resting price fits, and a sweep's limit up to 60 past them. */
  imx_service_config sc = {.tick_minor = 1, .lot = 1, .divisible = 1,
                           .levels_max = DEEP_MID - DEEP_LO,
                           .price_cap_minor = price_cap_minor};
  CHECK_EQ(IMX_OK, imx_engine_service_add(E, &sc, &S));
  uint64_t id_next = 1, checks = 0;
  /* Build: 6,000 orders at random prices, so most open a level somewhere
  ** in the middle of thousands. */
  for (int i = 0; i < 6000; i++) {
    imx_side side = deep_rand(&d, 2) ? BID : OFFER;
    id_next = deep_add(&d, side, GTC, 1 + deep_rand(&d, 50), deep_resting_price(&d, side)) + 1;
    if (i % 5 == 0 && ++checks) CHECK_EQ(0, imx_engine_check(E));
    if (i % 997 == 0) deep_compare(__LINE__, &d, id_next, BID);
  }
  imx_level_info all[DEEP_MID];
  CHECK(imx_engine_levels(E, S, BID, all, DEEP_MID) > 2000);
  CHECK(imx_engine_levels(E, S, OFFER, all, DEEP_MID) > 2000);
  deep_compare(__LINE__, &d, id_next, BID);
  deep_compare(__LINE__, &d, id_next, OFFER);
  /* Trade through it: cancels, adds, moves to other prices and sweeps,
  ** mixed. */
  for (int i = 0; i < 4000; i++) {
    uint32_t r = deep_rand(&d, 10);
    if (i % 50 == 0) deep_gather(&d, id_next);
    uint32_t id = d.ids_n ? d.ids[deep_rand(&d, d.ids_n)] : 0;
    if (r < 4 && id && d.open[id] > 0) {
      CHECK_EQ(IMX_OK, imx_engine_order_cancel(E, id));
    } else if (r < 5 && id && d.open[id] > 0) {
      imx_side side = (imx_side)d.side[id];
      CHECK_EQ(IMX_OK, imx_engine_order_modify(E, id, d.open[id], deep_resting_price(&d, side)));
    } else if (r < 7) {
      deep_sweep(&d, id_next);
      id_next++;
    } else {
      imx_side side = deep_rand(&d, 2) ? BID : OFFER;
      id_next = deep_add(&d, side, GTC, 1 + deep_rand(&d, 50), deep_resting_price(&d, side)) + 1;
    }
    if (i % 4 == 0 && ++checks) CHECK_EQ(0, imx_engine_check(E));
    if (i % 499 == 0) {
      deep_compare(__LINE__, &d, id_next, BID);
      deep_compare(__LINE__, &d, id_next, OFFER);
    }
  }
  CHECK(d.traded > 0);
  /* Empty it in random order. */
  deep_gather(&d, id_next);
  while (d.ids_n > 0) {
    uint32_t k = deep_rand(&d, d.ids_n);
    CHECK_EQ(IMX_OK, imx_engine_order_cancel(E, d.ids[k]));
    d.ids[k] = d.ids[--d.ids_n];
    if (d.ids_n % 5 == 0 && ++checks) CHECK_EQ(0, imx_engine_check(E));
    if (d.ids_n % 751 == 0) deep_compare(__LINE__, &d, id_next, OFFER);
  }
  CHECK_EQ(0, imx_engine_open_orders(E));
  CHECK_EQ(0, imx_engine_levels(E, S, BID, all, DEEP_MID));
  CHECK_EQ(0, imx_engine_levels(E, S, OFFER, all, DEEP_MID));
  /* And again, on the freed slots: a full side's worth of levels. */
  for (int64_t t = 1; t <= DEEP_MID - DEEP_LO; t += 1 + deep_rand(&d, 2)) {
    id_next = deep_add(&d, BID, GTC, 1, DEEP_MID - t) + 1;
    if (t % 7 == 0 && ++checks) CHECK_EQ(0, imx_engine_check(E));
  }
  deep_compare(__LINE__, &d, id_next, BID);
  CHECK(checks > 2500);
  finish();
}

/* The tick map's edges: a map of one bitmap word (cap 60) and one of three
** levels (cap 4,100: 65 words, then 2, then 1), in an auction book so that
** market bids take the last rank. Bids at every price in a scattered
** order, then cancelled in another, the levels compared with what must
** rest after each step: neighbours across word boundaries and an empty
** side both come up. */
static void tick_map_edges(int64_t cap) {
  enum { PRICES_MAX = 4100 };
  static uint64_t id_at[PRICES_MAX + 2]; /* by price; [cap + 1]: market */
  static imx_level_info got[PRICES_MAX + 2];
  E = create_engine(PRICES_MAX + 2, 1, &R);
  imx_service_config sc = {.tick_minor = 1, .lot = 1, .divisible = 1,
                           .levels_max = 420, .mode = IMX_MODE_AUCTION,
                           .price_cap_minor = cap};
  CHECK_EQ(IMX_OK, imx_engine_service_add(E, &sc, &S));
  uint32_t n = (uint32_t)cap + 1, step = 7; /* 7 is prime to both caps + 1 */
  uint32_t resting = 0;
  for (int pass = 0; pass < 2; pass++)
    for (uint32_t k = 0, p = 0; k < n; k++, p = (p + step) % n) {
      int64_t price = p == 0 ? IMX_PRICE_MARKET : (int64_t)p;
      uint64_t *id = &id_at[p == 0 ? cap + 1 : p];
      if (pass == 0) {
        /* Only every tenth price on the deep map: levels_max is 420. */
        if (cap > 64 && p % 10 != 0) continue;
        imx_order_new o = {S, A, BID, GTC, 0, 1, price, 0, 0};
        CHECK_EQ(IMX_OK, imx_engine_order_new(E, &o, id));
        resting++;
      } else {
        if (*id == 0) continue;
        CHECK_EQ(IMX_OK, imx_engine_order_cancel(E, *id));
        *id = 0;
        resting--;
      }
      CHECK_EQ(0, imx_engine_check(E));
      /* Best first: market, then the highest price. */
      uint32_t got_n = imx_engine_levels(E, S, BID, got, PRICES_MAX + 2), m = 0;
      CHECK_EQ(resting, got_n);
      if (id_at[cap + 1] != 0)
        CHECK_EQ(IMX_PRICE_MARKET, got[m++].price_minor);
      for (int64_t q = cap; q >= 1 && m <= got_n; q--)
        if (id_at[q] != 0) {
          CHECK(m < got_n);
          if (m < got_n) CHECK_EQ(q, got[m].price_minor);
          m++;
        }
      CHECK_EQ(got_n, m);
    }
  CHECK_EQ(0, imx_engine_open_orders(E));
  finish();
}

static void test_tick_map_edges_one_word_and_three_levels(void) {
  tick_map_edges(60);
  tick_map_edges(4100);
}

/* Tick maps of one to four bitmap levels, both sides of an auction book:
** levels at the ranks on either side of every word boundary of every
** bitmap level (63, 64, 4095, 4096, 262143, 262144 ...), the worst price,
** the best and market (the last rank), opened and cancelled in a random
** order and each side read back after every step; then a snapshot round
** trip must give the same sides, and a call over them must leave a book
** that passes imx_engine_check. A bid's rank r is the price (r + 1) x
** tick, an offer's (ranks - 1 - r) x tick: the two reverse each other. */
static void tick_map_boundaries(int64_t tick, int64_t cap, uint32_t levels_max) {
  enum { WANT_MAX = 40 };
  uint32_t ranks = (uint32_t)(cap / tick) + 1, want[WANT_MAX], nw = 0;
  static const uint32_t edges[] = {0, 1, 2, 62, 63, 64, 65, 127, 128,
                                   4095, 4096, 4097, 8191, 8192,
                                   262143, 262144, 262145};
  for (size_t i = 0; i < sizeof edges / sizeof edges[0]; i++)
    if (edges[i] + 3 < ranks) want[nw++] = edges[i];
  want[nw++] = ranks - 3; /* ascending, each once: no edge is this high */
  want[nw++] = ranks - 2; /* the best price */
  want[nw++] = ranks - 1; /* market */
  CHECK(nw <= WANT_MAX);
  imx_engine_config cfg = {.orders_max = 2 * WANT_MAX + 8, .services_max = 1,
                           .positions_max = 8};
  E = engine_create(cfg, &R);
  imx_service_config sc = {.tick_minor = tick, .lot = 1, .divisible = 1,
                           .levels_max = levels_max, .mode = IMX_MODE_AUCTION,
                           .price_cap_minor = cap};
  CHECK_EQ(IMX_OK, imx_engine_service_add(E, &sc, &S));
  uint64_t id[2][WANT_MAX] = {{0}};
  uint64_t x = 0x9e3779b97f4a7c15ull ^ (uint64_t)cap;
  static imx_level_info got[WANT_MAX + 1];
  for (int step = 0; step < 240; step++) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    int side = (int)(x >> 40) & 1;
    uint32_t k = (uint32_t)(x >> 20) % nw, r = want[k];
    int64_t price = r == ranks - 1 ? IMX_PRICE_MARKET
                    : side == IMX_BID ? (int64_t)(r + 1) * tick
                                      : (int64_t)(ranks - 1 - r) * tick;
    if (id[side][k] == 0) {
      CHECK_EQ(IMX_OK, submit(S, side == IMX_BID ? A : B, (imx_side)side, GTC,
                              0, 1 + k, price));
      id[side][k] = last_id;
    } else {
      CHECK_EQ(IMX_OK, imx_engine_order_cancel(E, id[side][k]));
      id[side][k] = 0;
    }
    R.n = R.mark = 0;
    CHECK_EQ(0, imx_engine_check(E));
    /* Best first is the highest rank first, on either side. */
    for (int sd = 0; sd < 2; sd++) {
      uint32_t n = imx_engine_levels(E, S, (imx_side)sd, got, WANT_MAX + 1), m = 0;
      for (uint32_t j = nw; j-- > 0;) {
        if (id[sd][j] == 0) continue;
        uint32_t rj = want[j];
        int64_t pj = rj == ranks - 1 ? IMX_PRICE_MARKET
                     : sd == IMX_BID ? (int64_t)(rj + 1) * tick
                                     : (int64_t)(ranks - 1 - rj) * tick;
        if (m < n) {
          CHECK_EQ(pj, got[m].price_minor);
          CHECK_EQ((int64_t)(1 + j), got[m].qty_open);
        }
        m++;
      }
      CHECK_EQ(m, n);
    }
    if (check_failures_) break;
  }
  /* The snapshot: the same sides in a new engine of the same service. */
  size_t bytes = imx_engine_snapshot_write(E, NULL, 0);
  unsigned char *buf = malloc(bytes);
  CHECK(buf != NULL);
  CHECK_EQ(bytes, imx_engine_snapshot_write(E, buf, bytes));
  static imx_level_info before[2][WANT_MAX + 1];
  uint32_t before_n[2];
  for (int sd = 0; sd < 2; sd++)
    before_n[sd] = imx_engine_levels(E, S, (imx_side)sd, before[sd], WANT_MAX + 1);
  imx_engine_destroy(E);
  E = engine_create(cfg, &R);
  CHECK_EQ(IMX_OK, imx_engine_service_add(E, &sc, &S));
  const char *why = NULL;
  CHECK_EQ(IMX_OK, imx_engine_snapshot_read(E, buf, bytes, &why));
  free(buf);
  CHECK_EQ(0, imx_engine_check(E));
  for (int sd = 0; sd < 2; sd++) {
    uint32_t n = imx_engine_levels(E, S, (imx_side)sd, got, WANT_MAX + 1);
    CHECK_EQ(before_n[sd], n);
    for (uint32_t j = 0; j < n && j < before_n[sd]; j++) {
      CHECK_EQ(before[sd][j].price_minor, got[j].price_minor);
      CHECK_EQ(before[sd][j].qty_open, got[j].qty_open);
    }
  }
  CHECK_EQ(IMX_OK, imx_engine_auction_run(E, S, cap / 2 / tick * tick, NULL));
  R.n = R.mark = 0;
  finish();
}

static void test_tick_map_boundaries_of_one_to_four_bitmap_levels(void) {
  tick_map_boundaries(1, 62, 24);           /* 63 ranks: one partial word */
  tick_map_boundaries(1, 63, 24);           /* 64: one full word */
  tick_map_boundaries(1, 64, 24);           /* 65: two levels */
  tick_map_boundaries(3, 3 * 4095 + 2, 256); /* 4096: two levels, full */
  tick_map_boundaries(1, 4096, 257);        /* 4097: three levels */
  tick_map_boundaries(1, 262143, 16384);    /* 262144: three, full */
  tick_map_boundaries(1, 262144 + 70, 16390); /* four levels */
}

static void test_deep_books_build_and_empty_in_random_order(void) {
  deep_books_build_and_empty(0);
}

static void test_deep_books_on_a_tick_map_build_and_empty_in_random_order(void) {
  deep_books_build_and_empty(DEEP_HI + 100);
}

/* ============================================================ ioc, fok */

static void test_ioc_remainder_is_cancelled(void) {
  setup();
  offer(A, 5, 100);                       /* 1 */
  CHECK_EQ(2, place(B, BID, IOC, 0, 8, 101));
  EXPECT_EVENTS(accepted(2, B, BID, IOC, 0, 8, 101),
                trade(1, 2, 1, B, A, 5, 100, BID),
                cancelled(2, B, BID, 3, BY_IOC));
  EXPECT_NO_LEVELS(BID);
  EXPECT_NO_LEVELS(OFFER);
  EXPECT_NOT_OPEN(2);
  CHECK_EQ(0, imx_engine_open_orders(E));
  finish();
}

static void test_ioc_that_trades_nothing_is_cancelled_whole(void) {
  setup();
  offer(A, 5, 102);                       /* 1: above the limit */
  CHECK_EQ(2, place(B, BID, IOC, 0, 8, 101));
  EXPECT_EVENTS(accepted(2, B, BID, IOC, 0, 8, 101),
                cancelled(2, B, BID, 8, BY_IOC));
  EXPECT_NO_LEVELS(BID);
  EXPECT_ORDER(1, 5, 5, 0, 102);
  finish();
}

static void test_fok_that_cannot_fill_is_killed(void) {
  setup();
  offer(A, 5, 100); /* 1 */
  offer(B, 5, 102); /* 2: above the limit, so only 5 of 8 are there */
  CHECK_EQ(3, place(C, BID, FOK, 0, 8, 101));
  EXPECT_EVENTS(accepted(3, C, BID, FOK, 0, 8, 101),
                cancelled(3, C, BID, 8, BY_FOK));
  EXPECT_LEVELS(OFFER, {100, 5, 1}, {102, 5, 1});
  EXPECT_ORDER(1, 5, 5, 0, 100);
  EXPECT_NO_LEVELS(BID);
  /* The kill traded nothing, so the next trade is still trade 1. */
  bid(D, 5, 100); /* 4 */
  EXPECT_EVENTS(accepted(4, D, BID, GTC, 0, 5, 100),
                trade(1, 4, 1, D, A, 5, 100, BID));
  finish();
}

static void test_fok_that_can_fill_exactly_across_levels_trades(void) {
  setup();
  offer(A, 5, 100); /* 1 */
  offer(B, 5, 101); /* 2 */
  offer(C, 5, 102); /* 3 */
  CHECK_EQ(4, place(D, BID, FOK, 0, 10, 101));
  EXPECT_EVENTS(accepted(4, D, BID, FOK, 0, 10, 101),
                trade(1, 4, 1, D, A, 5, 100, BID),
                trade(2, 4, 2, D, B, 5, 101, BID));
  EXPECT_LEVELS(OFFER, {102, 5, 1});
  EXPECT_NO_LEVELS(BID);
  finish();
}

static void test_fok_does_not_count_a_resting_aon_it_cannot_take_whole(void) {
  setup();
  place(A, OFFER, GTC, 1, 8, 100); /* 1: aon 8 > 6, will be skipped */
  offer(B, 5, 100);                /* 2 */
  CHECK_EQ(3, place(C, BID, FOK, 0, 6, 100));
  EXPECT_EVENTS(accepted(3, C, BID, FOK, 0, 6, 100),
                cancelled(3, C, BID, 6, BY_FOK));
  EXPECT_LEVELS(OFFER, {100, 13, 2});
  EXPECT_QUEUE(OFFER, 1, 2);
  finish();
}

/* ================================================================= aon */

static void test_resting_aon_is_skipped_by_smaller_order_which_trades_behind_it(void) {
  setup();
  place(A, OFFER, GTC, 1, 10, 100); /* 1: aon */
  offer(B, 5, 100);                 /* 2 */
  bid(C, 4, 100);                   /* 3: 4 < 10, so the aon is skipped */
  EXPECT_EVENTS(accepted(3, C, BID, GTC, 0, 4, 100),
                trade(1, 3, 2, C, B, 4, 100, BID));
  EXPECT_ORDER(1, 10, 10, 0, 100);
  EXPECT_QUEUE(OFFER, 1, 2); /* the aon keeps its place */
  EXPECT_LEVELS(OFFER, {100, 11, 2});
  EXPECT_NO_LEVELS(BID);
  finish();
}

static void test_resting_aon_skipped_by_smaller_order_which_then_rests(void) {
  setup();
  place(A, OFFER, GTC, 1, 10, 100); /* 1: aon */
  bid(B, 4, 100);                   /* 2 */
  EXPECT_EVENTS(accepted(2, B, BID, GTC, 0, 4, 100));
  /* The book may cross here: one of the two is aon. */
  EXPECT_LEVELS(BID, {100, 4, 1});
  EXPECT_LEVELS(OFFER, {100, 10, 1});
  finish();
}

static void test_resting_aon_is_compared_with_remaining_not_original_qty(void) {
  setup();
  offer(B, 5, 100);                 /* 1 */
  place(A, OFFER, GTC, 1, 10, 100); /* 2: aon */
  bid(C, 12, 100);                  /* 3: 12 - 5 = 7 left < 10: skip */
  EXPECT_EVENTS(accepted(3, C, BID, GTC, 0, 12, 100),
                trade(1, 3, 1, C, B, 5, 100, BID));
  EXPECT_ORDER(2, 10, 10, 0, 100);
  EXPECT_ORDER(3, 12, 7, 5, 100);
  EXPECT_LEVELS(BID, {100, 7, 1});
  EXPECT_LEVELS(OFFER, {100, 10, 1});
  finish();
}

static void test_resting_aon_is_filled_whole_by_big_enough_order(void) {
  setup();
  place(A, OFFER, GTC, 1, 10, 100); /* 1: aon */
  offer(B, 5, 100);                 /* 2 */
  bid(C, 4, 100);                   /* 3: skips 1, takes 4 of 2 */
  bid(D, 12, 100);                  /* 4: 12 >= 10 takes the aon whole */
  EXPECT_EVENTS(accepted(4, D, BID, GTC, 0, 12, 100),
                trade(2, 4, 1, D, A, 10, 100, BID),
                trade(3, 4, 2, D, B, 1, 100, BID));
  EXPECT_NOT_OPEN(1);
  EXPECT_NOT_OPEN(2);
  EXPECT_ORDER(4, 12, 1, 11, 100);
  EXPECT_LEVELS(BID, {100, 1, 1});
  EXPECT_NO_LEVELS(OFFER);
  finish();
}

static void test_resting_aon_is_never_matched_with_orders_already_resting(void) {
  setup();
  place(A, OFFER, GTC, 1, 10, 100); /* 1: aon */
  bid(B, 4, 100);                   /* 2 */
  bid(C, 6, 100);                   /* 3: 4 + 6 = 10 rest, but never pool */
  EXPECT_EVENTS(accepted(3, C, BID, GTC, 0, 6, 100));
  EXPECT_LEVELS(BID, {100, 10, 2});
  EXPECT_ORDER(1, 10, 10, 0, 100);
  finish();
}

static void test_incoming_aon_that_cannot_fill_rests_whole_without_trading(void) {
  setup();
  offer(A, 5, 100); /* 1 */
  CHECK_EQ(2, place(B, BID, GTC, 1, 8, 100));
  EXPECT_EVENTS(accepted(2, B, BID, GTC, 1, 8, 100));
  EXPECT_ORDER(2, 8, 8, 0, 100);
  EXPECT_ORDER(1, 5, 5, 0, 100);
  EXPECT_LEVELS(BID, {100, 8, 1});
  EXPECT_LEVELS(OFFER, {100, 5, 1});
  finish();
}

static void test_incoming_aon_that_can_fill_trades_across_levels(void) {
  setup();
  offer(A, 5, 100); /* 1 */
  offer(B, 5, 101); /* 2 */
  CHECK_EQ(3, place(C, BID, GTC, 1, 8, 101));
  EXPECT_EVENTS(accepted(3, C, BID, GTC, 1, 8, 101),
                trade(1, 3, 1, C, A, 5, 100, BID),
                trade(2, 3, 2, C, B, 3, 101, BID));
  EXPECT_NOT_OPEN(3);
  EXPECT_LEVELS(OFFER, {101, 2, 1});
  EXPECT_NO_LEVELS(BID);
  finish();
}

static void test_incoming_aon_takes_resting_aon_of_equal_qty(void) {
  setup();
  place(A, OFFER, GTC, 1, 6, 100); /* 1 */
  CHECK_EQ(2, place(B, BID, GTC, 1, 6, 100));
  EXPECT_EVENTS(accepted(2, B, BID, GTC, 1, 6, 100),
                trade(1, 2, 1, B, A, 6, 100, BID));
  EXPECT_NO_LEVELS(BID);
  EXPECT_NO_LEVELS(OFFER);
  finish();
}

static void test_aon_ioc_that_cannot_fill_is_cancelled_with_reason_ioc(void) {
  setup();
  offer(A, 5, 100); /* 1 */
  CHECK_EQ(2, place(B, BID, IOC, 1, 8, 100));
  EXPECT_EVENTS(accepted(2, B, BID, IOC, 1, 8, 100),
                cancelled(2, B, BID, 8, BY_IOC));
  EXPECT_ORDER(1, 5, 5, 0, 100);
  EXPECT_NO_LEVELS(BID);
  finish();
}

static void test_aon_ioc_that_can_fill_trades_whole(void) {
  setup();
  offer(A, 5, 100); /* 1 */
  offer(B, 5, 101); /* 2 */
  CHECK_EQ(3, place(C, BID, IOC, 1, 10, 101));
  EXPECT_EVENTS(accepted(3, C, BID, IOC, 1, 10, 101),
                trade(1, 3, 1, C, A, 5, 100, BID),
                trade(2, 3, 2, C, B, 5, 101, BID));
  EXPECT_NO_LEVELS(OFFER);
  EXPECT_NO_LEVELS(BID);
  finish();
}

static void test_aon_fok_that_cannot_fill_is_killed_with_reason_fok(void) {
  setup();
  offer(A, 5, 100); /* 1 */
  CHECK_EQ(2, place(B, BID, FOK, 1, 8, 100));
  EXPECT_EVENTS(accepted(2, B, BID, FOK, 1, 8, 100),
                cancelled(2, B, BID, 8, BY_FOK));
  EXPECT_ORDER(1, 5, 5, 0, 100);
  finish();
}

static void test_indivisible_service_rejects_non_aon(void) {
  setup_engine(64, 4);
  S = add_service(1, 1, 0, 0); /* indivisible */
  CHECK_EQ(IMX_E_AON_REQUIRED, submit(S, A, BID, GTC, 0, 5, 100));
  EXPECT_EVENTS(rejected(0, IMX_E_AON_REQUIRED));
  CHECK_EQ(IMX_E_AON_REQUIRED, submit(S, A, BID, IOC, 0, 5, 100));
  EXPECT_EVENTS(rejected(0, IMX_E_AON_REQUIRED));
  CHECK_EQ(1, place(A, BID, GTC, 1, 5, 100)); /* no id was consumed */
  EXPECT_EVENTS(accepted(1, A, BID, GTC, 1, 5, 100));
  CHECK_EQ(2, place(B, OFFER, GTC, 1, 5, 100));
  EXPECT_EVENTS(accepted(2, B, OFFER, GTC, 1, 5, 100),
                trade(1, 1, 2, A, B, 5, 100, OFFER));
  finish();
}

/* ============================================== self-trade prevention */

static void test_self_trade_cancels_remainder_and_leaves_own_order_untouched(void) {
  setup();
  offer(A, 5, 100); /* 1 */
  offer(C, 5, 100); /* 2: C's own */
  offer(B, 5, 100); /* 3: behind C's own, never reached */
  bid(C, 12, 100);  /* 4 */
  EXPECT_EVENTS(accepted(4, C, BID, GTC, 0, 12, 100),
                trade(1, 4, 1, C, A, 5, 100, BID),
                cancelled(4, C, BID, 7, SELF_TRADE));
  EXPECT_ORDER(2, 5, 5, 0, 100);
  EXPECT_ORDER(3, 5, 5, 0, 100);
  EXPECT_QUEUE(OFFER, 2, 3);
  EXPECT_LEVELS(OFFER, {100, 10, 2});
  EXPECT_NO_LEVELS(BID); /* gtc, yet the remainder does not rest */
  EXPECT_NOT_OPEN(4);
  finish();
}

static void test_self_trade_prevention_applies_to_incoming_offer(void) {
  setup();
  bid(A, 5, 101);  /* 1 */
  bid(C, 5, 100);  /* 2: C's own */
  offer(C, 10, 99); /* 3 */
  EXPECT_EVENTS(accepted(3, C, OFFER, GTC, 0, 10, 99),
                trade(1, 1, 3, A, C, 5, 101, OFFER),
                cancelled(3, C, OFFER, 5, SELF_TRADE));
  EXPECT_ORDER(2, 5, 5, 0, 100);
  EXPECT_LEVELS(BID, {100, 5, 1});
  EXPECT_NO_LEVELS(OFFER);
  finish();
}

static void test_ioc_stopped_by_self_trade_is_cancelled_with_reason_self_trade(void) {
  setup();
  offer(C, 5, 100); /* 1 */
  CHECK_EQ(2, place(C, BID, IOC, 0, 5, 100));
  EXPECT_EVENTS(accepted(2, C, BID, IOC, 0, 5, 100),
                cancelled(2, C, BID, 5, SELF_TRADE));
  EXPECT_ORDER(1, 5, 5, 0, 100);
  finish();
}

static void test_fok_blocked_by_own_order_is_killed(void) {
  setup();
  offer(A, 5, 100); /* 1 */
  offer(C, 5, 101); /* 2: C's own, stops the walk after 5 of 8 */
  CHECK_EQ(3, place(C, BID, FOK, 0, 8, 101));
  EXPECT_EVENTS(accepted(3, C, BID, FOK, 0, 8, 101),
                cancelled(3, C, BID, 8, BY_FOK));
  EXPECT_ORDER(1, 5, 5, 0, 100);
  EXPECT_ORDER(2, 5, 5, 0, 101);
  EXPECT_LEVELS(OFFER, {100, 5, 1}, {101, 5, 1});
  finish();
}

static void test_fok_that_fills_before_reaching_own_order_trades(void) {
  setup();
  offer(A, 5, 100); /* 1 */
  offer(C, 5, 101); /* 2: C's own, never reached */
  CHECK_EQ(3, place(C, BID, FOK, 0, 5, 101));
  EXPECT_EVENTS(accepted(3, C, BID, FOK, 0, 5, 101),
                trade(1, 3, 1, C, A, 5, 100, BID));
  EXPECT_LEVELS(OFFER, {101, 5, 1});
  finish();
}

static void test_resting_own_aon_that_would_be_skipped_does_not_trigger_stp(void) {
  setup();
  place(C, OFFER, GTC, 1, 10, 100); /* 1: C's own aon, 10 > 5 */
  offer(A, 5, 100);                 /* 2 */
  bid(C, 5, 100);                   /* 3 */
  EXPECT_EVENTS(accepted(3, C, BID, GTC, 0, 5, 100),
                trade(1, 3, 2, C, A, 5, 100, BID));
  EXPECT_ORDER(1, 10, 10, 0, 100);
  EXPECT_NO_LEVELS(BID);
  finish();
}

static void test_resting_own_aon_that_could_be_taken_triggers_stp(void) {
  setup();
  place(C, OFFER, GTC, 1, 5, 100); /* 1: C's own aon, 5 <= 5 */
  offer(A, 5, 100);                /* 2 */
  bid(C, 5, 100);                  /* 3 */
  EXPECT_EVENTS(accepted(3, C, BID, GTC, 0, 5, 100),
                cancelled(3, C, BID, 5, SELF_TRADE));
  EXPECT_ORDER(1, 5, 5, 0, 100);
  EXPECT_ORDER(2, 5, 5, 0, 100);
  finish();
}

static void test_incoming_aon_blocked_by_own_order_rests_whole(void) {
  setup();
  offer(C, 5, 100); /* 1: C's own */
  offer(A, 5, 100); /* 2 */
  /* The feasibility walk stops at 1 with nothing filled: an aon gtc order
  ** that cannot fill rests whole (step 3), it is not cancelled. */
  CHECK_EQ(3, place(C, BID, GTC, 1, 10, 100));
  EXPECT_EVENTS(accepted(3, C, BID, GTC, 1, 10, 100));
  EXPECT_ORDER(3, 10, 10, 0, 100);
  EXPECT_LEVELS(OFFER, {100, 10, 2});
  finish();
}

/* ============================================================== cancel */

static void test_cancel_removes_open_order_with_reason_user(void) {
  setup();
  bid(A, 10, 100);  /* 1 */
  offer(B, 4, 100); /* 2: fills 4 of 1 */
  CHECK_EQ(IMX_OK, cancel(1));
  EXPECT_EVENTS(cancelled(1, A, BID, 6, USER));
  EXPECT_NOT_OPEN(1);
  EXPECT_NO_LEVELS(BID);
  CHECK_EQ(0, imx_engine_open_orders(E));
  finish();
}

static void test_cancel_of_unknown_id_is_rejected(void) {
  setup();
  bid(A, 10, 100); /* 1 */
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, cancel(99));
  EXPECT_EVENTS(rejected(99, IMX_E_UNKNOWN_ORDER));
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, cancel(0));
  EXPECT_EVENTS(rejected(0, IMX_E_UNKNOWN_ORDER));
  EXPECT_ORDER(1, 10, 10, 0, 100);
  EXPECT_LEVELS(BID, {100, 10, 1});
  CHECK_EQ(1, imx_engine_open_orders(E));
  CHECK_EQ(2, bid(A, 1, 90));
  finish();
}

static void test_cancel_of_filled_order_is_rejected(void) {
  setup();
  offer(A, 5, 100); /* 1 */
  bid(B, 5, 100);   /* 2: both fill */
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, cancel(1));
  EXPECT_EVENTS(rejected(1, IMX_E_UNKNOWN_ORDER));
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, cancel(2));
  EXPECT_EVENTS(rejected(2, IMX_E_UNKNOWN_ORDER));
  CHECK_EQ(0, imx_engine_open_orders(E));
  finish();
}

static void test_cancel_of_cancelled_order_is_rejected(void) {
  setup();
  bid(A, 5, 100); /* 1 */
  bid(B, 5, 99);  /* 2 */
  CHECK_EQ(IMX_OK, cancel(1));
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, cancel(1));
  EXPECT_EVENTS(rejected(1, IMX_E_UNKNOWN_ORDER));
  EXPECT_LEVELS(BID, {99, 5, 1});
  CHECK_EQ(1, imx_engine_open_orders(E));
  finish();
}

static void test_cancel_of_ioc_or_fok_order_is_rejected(void) {
  setup();
  place(A, BID, IOC, 0, 5, 100); /* 1: never rests */
  place(A, BID, FOK, 0, 5, 100); /* 2: never rests */
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, cancel(1));
  EXPECT_EVENTS(rejected(1, IMX_E_UNKNOWN_ORDER));
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, cancel(2));
  EXPECT_EVENTS(rejected(2, IMX_E_UNKNOWN_ORDER));
  finish();
}

/* ============================================================== modify */

static void test_modify_reducing_qty_keeps_priority(void) {
  setup();
  bid(A, 10, 100); /* 1 */
  bid(B, 10, 100); /* 2 */
  CHECK_EQ(IMX_OK, modify(1, 6, 100));
  EXPECT_EVENTS(modified(1, A, BID, 6, 100, 1));
  EXPECT_QUEUE(BID, 1, 2);
  offer(C, 6, 100); /* 3: still meets 1 first */
  EXPECT_EVENTS(accepted(3, C, OFFER, GTC, 0, 6, 100),
                trade(1, 1, 3, A, C, 6, 100, OFFER));
  EXPECT_NOT_OPEN(1);
  EXPECT_ORDER(2, 10, 10, 0, 100);
  EXPECT_LEVELS(BID, {100, 10, 1});
  finish();
}

static void test_modify_to_same_values_keeps_priority(void) {
  setup();
  bid(A, 10, 100); /* 1 */
  bid(B, 10, 100); /* 2 */
  CHECK_EQ(IMX_OK, modify(1, 10, 100));
  EXPECT_EVENTS(modified(1, A, BID, 10, 100, 1));
  EXPECT_QUEUE(BID, 1, 2);
  finish();
}

static void test_modify_increasing_qty_loses_priority(void) {
  setup();
  bid(A, 10, 100); /* 1 */
  bid(B, 10, 100); /* 2 */
  CHECK_EQ(IMX_OK, modify(1, 12, 100));
  EXPECT_EVENTS(modified(1, A, BID, 12, 100, 0));
  EXPECT_QUEUE(BID, 2, 1);
  offer(C, 6, 100); /* 3: now meets 2 first */
  EXPECT_EVENTS(accepted(3, C, OFFER, GTC, 0, 6, 100),
                trade(1, 2, 3, B, C, 6, 100, OFFER));
  EXPECT_ORDER(1, 12, 12, 0, 100);
  EXPECT_LEVELS(BID, {100, 16, 2});
  finish();
}

static void test_modify_changing_price_loses_priority(void) {
  setup();
  bid(A, 10, 101); /* 1 */
  bid(B, 10, 100); /* 2 */
  CHECK_EQ(IMX_OK, modify(1, 10, 100));
  EXPECT_EVENTS(modified(1, A, BID, 10, 100, 0));
  EXPECT_QUEUE(BID, 2, 1);
  offer(C, 5, 100); /* 3 */
  EXPECT_EVENTS(accepted(3, C, OFFER, GTC, 0, 5, 100),
                trade(1, 2, 3, B, C, 5, 100, OFFER));
  EXPECT_LEVELS(BID, {100, 15, 2});
  finish();
}

static void test_modify_reducing_qty_with_new_price_loses_priority(void) {
  setup();
  bid(A, 10, 100); /* 1 */
  bid(B, 10, 100); /* 2 */
  CHECK_EQ(IMX_OK, modify(1, 5, 101));
  EXPECT_EVENTS(modified(1, A, BID, 5, 101, 0));
  CHECK_EQ(IMX_OK, modify(1, 5, 100)); /* back, but behind 2 now */
  EXPECT_EVENTS(modified(1, A, BID, 5, 100, 0));
  EXPECT_QUEUE(BID, 2, 1);
  finish();
}

static void test_modify_price_that_crosses_trades_at_resting_price(void) {
  setup();
  offer(A, 5, 102); /* 1 */
  offer(A, 5, 104); /* 2 */
  bid(B, 10, 100);  /* 3 */
  CHECK_EQ(IMX_OK, modify(3, 10, 103));
  EXPECT_EVENTS(modified(3, B, BID, 10, 103, 0),
                trade(1, 3, 1, B, A, 5, 102, BID));
  EXPECT_ORDER(3, 10, 5, 5, 103);
  EXPECT_LEVELS(BID, {103, 5, 1});
  EXPECT_LEVELS(OFFER, {104, 5, 1});
  finish();
}

static void test_modify_that_crosses_own_order_cancels_remainder_self_trade(void) {
  setup();
  offer(A, 3, 101); /* 1 */
  offer(C, 5, 102); /* 2: C's own */
  bid(C, 10, 100);  /* 3 */
  CHECK_EQ(IMX_OK, modify(3, 10, 102));
  EXPECT_EVENTS(modified(3, C, BID, 10, 102, 0),
                trade(1, 3, 1, C, A, 3, 101, BID),
                cancelled(3, C, BID, 7, SELF_TRADE));
  EXPECT_NOT_OPEN(3);
  EXPECT_ORDER(2, 5, 5, 0, 102);
  EXPECT_NO_LEVELS(BID);
  EXPECT_LEVELS(OFFER, {102, 5, 1});
  finish();
}

static void test_modify_with_invalid_values_is_rejected_and_changes_nothing(void) {
  static const struct {
    int64_t qty, price;
    imx_status want;
  } cases[] = {
      {0, 100, IMX_E_BAD_QTY},
      {-10, 100, IMX_E_BAD_QTY},
      {IMX_QTY_MAX + 10, 100, IMX_E_BAD_QTY},
      {20, 0, IMX_E_BAD_PRICE},
      {20, -5, IMX_E_BAD_PRICE},
      {20, IMX_PRICE_MAX_MINOR + 5, IMX_E_BAD_PRICE},
      {20, 102, IMX_E_BAD_TICK},
      {25, 100, IMX_E_BAD_LOT},
  };
  setup_engine(64, 4);
  S = add_service(5, 10, 1, 0); /* tick 5, lot 10 */
  bid(A, 20, 100);              /* 1 */
  bid(B, 20, 100);              /* 2 */
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int before = check_failures_;
    CHECK_EQ(cases[i].want, modify(1, cases[i].qty, cases[i].price));
    EXPECT_EVENTS(rejected(1, cases[i].want));
    if (check_failures_ != before) fprintf(stderr, "    in case %zu\n", i);
  }
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, modify(99, 20, 100));
  EXPECT_EVENTS(rejected(99, IMX_E_UNKNOWN_ORDER));
  EXPECT_ORDER(1, 20, 20, 0, 100);
  EXPECT_QUEUE(BID, 1, 2);
  EXPECT_LEVELS(BID, {100, 40, 2});
  finish();
}

static void test_modify_validation_precedence(void) {
  setup_engine(64, 4);
  S = add_service(5, 10, 1, 2); /* tick 5, lot 10, two levels per side */
  bid(A, 20, 100);              /* 1 */
  bid(B, 20, 100);              /* 2 */
  bid(A, 20, 95);               /* 3: the bid side is full */
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, modify(99, 0, 0));
  EXPECT_EVENTS(rejected(99, IMX_E_UNKNOWN_ORDER));
  CHECK_EQ(IMX_E_BAD_QTY, modify(1, 0, 0));
  EXPECT_EVENTS(rejected(1, IMX_E_BAD_QTY));
  CHECK_EQ(IMX_E_BAD_PRICE, modify(1, 25, IMX_PRICE_MAX_MINOR + 3));
  EXPECT_EVENTS(rejected(1, IMX_E_BAD_PRICE));
  CHECK_EQ(IMX_E_BAD_TICK, modify(1, 25, 92));
  EXPECT_EVENTS(rejected(1, IMX_E_BAD_TICK));
  CHECK_EQ(IMX_E_BAD_LOT, modify(1, 25, 90));
  EXPECT_EVENTS(rejected(1, IMX_E_BAD_LOT));
  CHECK_EQ(IMX_E_LEVELS_FULL, modify(1, 20, 90));
  EXPECT_EVENTS(rejected(1, IMX_E_LEVELS_FULL));
  EXPECT_QUEUE(BID, 1, 2, 3);
  finish();
}

static void test_modify_to_new_level_on_full_side_is_rejected_levels_full(void) {
  setup_engine(64, 4);
  S = add_service(1, 1, 1, 2);
  bid(A, 5, 100); /* 1 */
  bid(B, 5, 100); /* 2: level 100 stays when 1 leaves it */
  bid(A, 5, 99);  /* 3 */
  CHECK_EQ(IMX_E_LEVELS_FULL, modify(1, 5, 98));
  EXPECT_EVENTS(rejected(1, IMX_E_LEVELS_FULL));
  EXPECT_QUEUE(BID, 1, 2, 3);
  CHECK_EQ(IMX_OK, modify(1, 5, 99)); /* an existing level is fine */
  EXPECT_EVENTS(modified(1, A, BID, 5, 99, 0));
  EXPECT_QUEUE(BID, 2, 3, 1);
  finish();
}

static void test_modify_that_frees_its_old_level_may_take_a_new_one(void) {
  setup_engine(64, 4);
  S = add_service(1, 1, 1, 2);
  bid(A, 5, 100); /* 1 */
  bid(B, 5, 100); /* 2 */
  bid(A, 5, 99);  /* 3: alone at 99, so its level becomes free */
  CHECK_EQ(IMX_OK, modify(3, 5, 98));
  EXPECT_EVENTS(modified(3, A, BID, 5, 98, 0));
  EXPECT_LEVELS(BID, {100, 10, 2}, {98, 5, 1});
  finish();
}

static void test_modify_of_order_that_is_not_open_is_rejected(void) {
  setup();
  place(A, BID, IOC, 0, 5, 100); /* 1: cancelled at once */
  offer(B, 5, 100);              /* 2 */
  bid(C, 5, 100);                /* 3: fills 2 and itself */
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, modify(1, 5, 100));
  EXPECT_EVENTS(rejected(1, IMX_E_UNKNOWN_ORDER));
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, modify(2, 5, 100));
  EXPECT_EVENTS(rejected(2, IMX_E_UNKNOWN_ORDER));
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, modify(3, 5, 100));
  EXPECT_EVENTS(rejected(3, IMX_E_UNKNOWN_ORDER));
  finish();
}

static void test_filled_plus_open_equals_original_after_modifies_and_fills(void) {
  setup();
  bid(A, 10, 100); /* 1 */
  offer(B, 3, 100); /* 2 */
  EXPECT_ORDER(1, 10, 7, 3, 100);
  CHECK_EQ(IMX_OK, modify(1, 5, 100));
  EXPECT_EVENTS(modified(1, A, BID, 5, 100, 1));
  EXPECT_ORDER(1, 8, 5, 3, 100);
  CHECK_EQ(IMX_OK, modify(1, 9, 100));
  EXPECT_EVENTS(modified(1, A, BID, 9, 100, 0));
  EXPECT_ORDER(1, 12, 9, 3, 100);
  offer(C, 4, 100); /* 3 */
  EXPECT_ORDER(1, 12, 5, 7, 100);
  CHECK_EQ(IMX_OK, modify(1, 2, 99));
  EXPECT_EVENTS(modified(1, A, BID, 2, 99, 0));
  EXPECT_ORDER(1, 9, 2, 7, 99);
  EXPECT_LEVELS(BID, {99, 2, 1});
  finish();
}

static void test_modify_keeps_id_side_tif_aon_and_cost_centre(void) {
  setup();
  place(A, OFFER, PERIOD, 1, 10, 100); /* 1 */
  CHECK_EQ(IMX_OK, modify(1, 20, 101));
  EXPECT_EVENTS(modified(1, A, OFFER, 20, 101, 0));
  imx_order_info o;
  CHECK_EQ(IMX_OK, imx_engine_order_get(E, 1, &o));
  CHECK_EQ(1, o.order_id);
  CHECK_EQ(S, o.service);
  CHECK_EQ(A, o.cc);
  CHECK_EQ(OFFER, o.side);
  CHECK_EQ(PERIOD, o.tif);
  CHECK(o.aon != 0);
  finish();
}

/* ========================================================== period end */

static void test_period_end_expires_only_period_orders_in_book_order(void) {
  setup();
  place(A, BID, PERIOD, 0, 5, 100);   /* 1 */
  bid(B, 5, 100);                     /* 2: gtc, stays */
  place(C, BID, PERIOD, 0, 5, 101);   /* 3 */
  place(A, BID, PERIOD, 0, 4, 100);   /* 4 */
  place(B, OFFER, PERIOD, 0, 5, 105); /* 5 */
  offer(C, 5, 104);                   /* 6: gtc, stays */
  place(A, OFFER, PERIOD, 0, 5, 104); /* 7 */
  place(B, OFFER, PERIOD, 0, 2, 106); /* 8 */
  CHECK_EQ(IMX_OK, period_end(S));
  /* Bids first, then offers; best level first; time order in a level. */
  EXPECT_EVENTS(expired(3, C, BID, 5), expired(1, A, BID, 5),
                expired(4, A, BID, 4), expired(7, A, OFFER, 5),
                expired(5, B, OFFER, 5), expired(8, B, OFFER, 2));
  EXPECT_LEVELS(BID, {100, 5, 1});
  EXPECT_LEVELS(OFFER, {104, 5, 1});
  CHECK_EQ(2, imx_engine_open_orders(E));
  CHECK_EQ(IMX_OK, period_end(S)); /* nothing left to expire */
  EXPECT_NO_EVENTS();
  finish();
}

static void test_period_end_expires_open_qty_of_partly_filled_order(void) {
  setup();
  place(A, BID, PERIOD, 0, 10, 100); /* 1 */
  offer(B, 4, 100);                  /* 2 */
  CHECK_EQ(IMX_OK, period_end(S));
  EXPECT_EVENTS(expired(1, A, BID, 6));
  EXPECT_NOT_OPEN(1);
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, cancel(1)); /* expired is not open */
  EXPECT_EVENTS(rejected(1, IMX_E_UNKNOWN_ORDER));
  finish();
}

static void test_period_end_follows_priority_after_modify(void) {
  setup();
  place(A, BID, PERIOD, 0, 5, 100); /* 1 */
  place(B, BID, PERIOD, 0, 5, 100); /* 2 */
  CHECK_EQ(IMX_OK, modify(1, 6, 100)); /* 1 goes behind 2 */
  CHECK_EQ(IMX_OK, period_end(S));
  EXPECT_EVENTS(expired(2, B, BID, 5), expired(1, A, BID, 6));
  finish();
}

static void test_period_end_leaves_other_services_untouched(void) {
  setup();
  uint32_t s1 = S, s2 = add_service(1, 1, 1, 0);
  place(A, BID, PERIOD, 0, 5, 100);   /* 1 on s1 */
  S = s2;
  place(A, BID, PERIOD, 0, 5, 100);   /* 2 on s2 */
  place(B, OFFER, PERIOD, 0, 5, 101); /* 3 on s2 */
  S = s1;
  CHECK_EQ(IMX_OK, period_end(s1));
  EXPECT_EVENTS(expired(1, A, BID, 5));
  S = s2;
  EXPECT_ORDER(2, 5, 5, 0, 100);
  EXPECT_ORDER(3, 5, 5, 0, 101);
  EXPECT_LEVELS(BID, {100, 5, 1});
  CHECK_EQ(2, imx_engine_open_orders(E));
  finish();
}

static void test_period_end_of_unknown_service_is_rejected(void) {
  setup();
  place(A, BID, PERIOD, 0, 5, 100); /* 1 */
  CHECK_EQ(IMX_E_UNKNOWN_SERVICE, period_end(1000));
  EXPECT_EVENTS(rejected(0, IMX_E_UNKNOWN_SERVICE));
  EXPECT_ORDER(1, 5, 5, 0, 100);
  finish();
}

/* ========================================================== validation */

static void test_each_invalid_field_is_rejected_with_its_code(void) {
  setup_engine(64, 4);
  S = add_service(5, 10, 1, 0); /* tick 5, lot 10 */
  const struct {
    uint32_t svc;
    int side, tif;
    int64_t qty, price;
    imx_status want;
  } cases[] = {
      {1000, BID, GTC, 10, 100, IMX_E_UNKNOWN_SERVICE},
      {UINT32_MAX, BID, GTC, 10, 100, IMX_E_UNKNOWN_SERVICE},
      {S, 2, GTC, 10, 100, IMX_E_BAD_SIDE},
      {S, -1, GTC, 10, 100, IMX_E_BAD_SIDE},
      {S, BID, 4, 10, 100, IMX_E_BAD_TIF},
      {S, BID, -1, 10, 100, IMX_E_BAD_TIF},
      {S, BID, GTC, 0, 100, IMX_E_BAD_QTY},
      {S, BID, GTC, -10, 100, IMX_E_BAD_QTY},
      {S, BID, GTC, IMX_QTY_MAX + 10, 100, IMX_E_BAD_QTY},
      {S, BID, GTC, 10, 0, IMX_E_BAD_PRICE},
      {S, BID, GTC, 10, -5, IMX_E_BAD_PRICE},
      {S, BID, GTC, 10, IMX_PRICE_MAX_MINOR + 5, IMX_E_BAD_PRICE},
      {S, BID, GTC, 10, 102, IMX_E_BAD_TICK},
      {S, BID, GTC, 15, 100, IMX_E_BAD_LOT},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    int before = check_failures_;
    CHECK_EQ(cases[i].want,
             submit(cases[i].svc, A, (imx_side)cases[i].side,
                    (imx_tif)cases[i].tif, 0, cases[i].qty, cases[i].price));
    EXPECT_EVENTS(rejected(0, cases[i].want));
    if (check_failures_ != before) fprintf(stderr, "    in case %zu\n", i);
  }
  CHECK_EQ(0, imx_engine_open_orders(E));
  CHECK_EQ(1, bid(A, 10, 100)); /* none of them took an id */
  finish();
}

static void test_validation_precedence_from_unknown_service_to_bad_lot(void) {
  setup_engine(64, 4);
  S = add_service(5, 10, 1, 0);                 /* tick 5, lot 10 */
  uint32_t whole = add_service(5, 10, 0, 0);    /* the same, indivisible */
  CHECK_EQ(IMX_E_UNKNOWN_SERVICE,
           submit(1000, A, (imx_side)7, (imx_tif)9, 0, 0, 0));
  EXPECT_EVENTS(rejected(0, IMX_E_UNKNOWN_SERVICE));
  CHECK_EQ(IMX_E_BAD_SIDE, submit(S, A, (imx_side)7, (imx_tif)9, 0, 0, 0));
  EXPECT_EVENTS(rejected(0, IMX_E_BAD_SIDE));
  CHECK_EQ(IMX_E_BAD_TIF, submit(S, A, BID, (imx_tif)9, 0, 0, 0));
  EXPECT_EVENTS(rejected(0, IMX_E_BAD_TIF));
  CHECK_EQ(IMX_E_BAD_QTY, submit(S, A, BID, GTC, 0, 0, 0)); /* bad qty AND price */
  EXPECT_EVENTS(rejected(0, IMX_E_BAD_QTY));
  CHECK_EQ(IMX_E_BAD_PRICE, submit(S, A, BID, GTC, 0, 15, -3));
  EXPECT_EVENTS(rejected(0, IMX_E_BAD_PRICE));
  CHECK_EQ(IMX_E_BAD_PRICE,
           submit(S, A, BID, GTC, 0, 15, IMX_PRICE_MAX_MINOR + 3));
  EXPECT_EVENTS(rejected(0, IMX_E_BAD_PRICE));
  CHECK_EQ(IMX_E_BAD_TICK, submit(S, A, BID, GTC, 0, 15, 102));
  EXPECT_EVENTS(rejected(0, IMX_E_BAD_TICK));
  CHECK_EQ(IMX_E_BAD_LOT, submit(whole, A, BID, GTC, 0, 15, 100));
  EXPECT_EVENTS(rejected(0, IMX_E_BAD_LOT));
  CHECK_EQ(0, imx_engine_open_orders(E));
  finish();
}

static void test_validation_precedence_aon_required_orders_full_levels_full(void) {
  setup_engine(3, 4);
  S = add_service(1, 1, 0, 2);     /* indivisible, two levels per side */
  place(A, BID, GTC, 1, 5, 100);   /* 1 */
  place(A, BID, GTC, 1, 5, 99);    /* 2 */
  place(A, BID, GTC, 1, 5, 99);    /* 3: pool full, bid levels full */
  CHECK_EQ(IMX_E_AON_REQUIRED, submit(S, A, BID, GTC, 0, 5, 98));
  EXPECT_EVENTS(rejected(0, IMX_E_AON_REQUIRED));
  CHECK_EQ(IMX_E_ORDERS_FULL, submit(S, A, BID, GTC, 1, 5, 98));
  EXPECT_EVENTS(rejected(0, IMX_E_ORDERS_FULL));
  CHECK_EQ(IMX_OK, cancel(3)); /* room in the pool, levels still full */
  CHECK_EQ(IMX_E_LEVELS_FULL, submit(S, A, BID, GTC, 1, 5, 98));
  EXPECT_EVENTS(rejected(0, IMX_E_LEVELS_FULL));
  CHECK_EQ(4, place(A, BID, GTC, 1, 5, 99));
  finish();
}

static void test_levels_full_rejects_order_that_needs_a_new_level(void) {
  setup_engine(64, 4);
  S = add_service(1, 1, 1, 2); /* two levels per side */
  bid(A, 5, 100);              /* 1 */
  bid(A, 5, 99);               /* 2 */
  CHECK_EQ(IMX_E_LEVELS_FULL, submit(S, B, BID, GTC, 0, 5, 98));
  EXPECT_EVENTS(rejected(0, IMX_E_LEVELS_FULL));
  CHECK_EQ(IMX_E_LEVELS_FULL, submit(S, B, BID, PERIOD, 0, 5, 101));
  EXPECT_EVENTS(rejected(0, IMX_E_LEVELS_FULL));
  CHECK_EQ(IMX_E_LEVELS_FULL, submit(S, B, BID, GTC, 1, 5, 101));
  EXPECT_EVENTS(rejected(0, IMX_E_LEVELS_FULL));
  CHECK_EQ(3, bid(B, 5, 100)); /* an existing level takes more orders */
  CHECK_EQ(4, offer(B, 5, 105)); /* the other side has its own levels */
  CHECK_EQ(5, offer(B, 5, 106));
  EXPECT_LEVELS(BID, {100, 10, 2}, {99, 5, 1});
  finish();
}

/* A side kept as a tick map (cap 30, tick 1: 31 ranks, no more than 16 per
** level for two levels) is full like a tree: a new price, market included,
** is refused; a price it holds, at either end of the map, is not; a modify
** to a new price is refused unless it empties its own level. */
static void test_levels_full_on_a_tick_map(void) {
  setup_engine(64, 4);
  imx_service_config sc = {.tick_minor = 1, .lot = 1, .divisible = 1,
                           .levels_max = 2, .mode = IMX_MODE_AUCTION,
                           .price_cap_minor = 30};
  CHECK_EQ(IMX_OK, imx_engine_service_add(E, &sc, &S));
  CHECK_EQ(IMX_OK, submit(S, A, BID, GTC, 0, 5, 30)); /* 1: the best rank */
  CHECK_EQ(IMX_OK, submit(S, A, BID, GTC, 0, 5, 1));  /* 2: rank 0 */
  CHECK_EQ(IMX_E_LEVELS_FULL, submit(S, A, BID, GTC, 0, 5, 15));
  CHECK_EQ(IMX_E_LEVELS_FULL, submit(S, A, BID, GTC, 0, 5, IMX_PRICE_MARKET));
  CHECK_EQ(IMX_OK, submit(S, A, BID, GTC, 0, 5, 30)); /* 3 */
  CHECK_EQ(IMX_OK, submit(S, A, BID, GTC, 0, 5, 1));  /* 4 */
  CHECK_EQ(IMX_E_LEVELS_FULL, modify(1, 5, 15));     /* 3 keeps level 30 */
  CHECK_EQ(IMX_OK, cancel(3));
  CHECK_EQ(IMX_OK, modify(1, 5, 29)); /* empties 30 for 29 */
  EXPECT_LEVELS(BID, {29, 5, 1}, {1, 10, 2});
  CHECK_EQ(IMX_OK, cancel(2));
  CHECK_EQ(IMX_OK, cancel(4));
  CHECK_EQ(IMX_OK, submit(S, A, BID, GTC, 0, 5, IMX_PRICE_MARKET)); /* 5 */
  CHECK_EQ(IMX_E_LEVELS_FULL, submit(S, A, BID, GTC, 0, 5, 1));
  CHECK_EQ(IMX_OK, submit(S, A, BID, GTC, 0, 5, IMX_PRICE_MARKET)); /* 6 */
  EXPECT_LEVELS(BID, {IMX_PRICE_MARKET, 10, 2}, {29, 5, 1});
  /* Offers: rank 0 is the highest price, the cap. */
  CHECK_EQ(IMX_OK, submit(S, B, OFFER, GTC, 0, 5, 30)); /* 7 */
  CHECK_EQ(IMX_OK, submit(S, B, OFFER, GTC, 0, 5, 1));  /* 8 */
  CHECK_EQ(IMX_E_LEVELS_FULL, submit(S, B, OFFER, GTC, 0, 5, 2));
  CHECK_EQ(IMX_E_LEVELS_FULL, submit(S, B, OFFER, GTC, 0, 5, IMX_PRICE_MARKET));
  CHECK_EQ(IMX_OK, submit(S, B, OFFER, GTC, 0, 5, 30)); /* 9 */
  EXPECT_LEVELS(OFFER, {1, 5, 1}, {30, 10, 2});
  finish();
}

static void test_levels_full_is_checked_before_matching_for_orders_that_could_rest(void) {
  setup_engine(64, 4);
  S = add_service(1, 1, 1, 2);
  bid(B, 5, 100);   /* 1 */
  bid(B, 5, 99);    /* 2: bid levels full */
  offer(A, 5, 101); /* 3 */
  offer(A, 5, 102); /* 4 */
  /* Would fill against 3 completely, yet could rest, so it needs a level. */
  CHECK_EQ(IMX_E_LEVELS_FULL, submit(S, C, BID, GTC, 0, 5, 101));
  EXPECT_EVENTS(rejected(0, IMX_E_LEVELS_FULL));
  EXPECT_ORDER(3, 5, 5, 0, 101);
  /* ioc and fok never rest, so they need no level. */
  CHECK_EQ(5, place(C, BID, IOC, 0, 5, 101));
  EXPECT_EVENTS(accepted(5, C, BID, IOC, 0, 5, 101),
                trade(1, 5, 3, C, A, 5, 101, BID));
  CHECK_EQ(6, place(C, BID, FOK, 0, 5, 102));
  EXPECT_EVENTS(accepted(6, C, BID, FOK, 0, 5, 102),
                trade(2, 6, 4, C, A, 5, 102, BID));
  EXPECT_NO_LEVELS(OFFER);
  finish();
}

static void test_orders_full_rejects_new_orders_until_one_leaves(void) {
  setup_engine(2, 4);
  S = add_service(1, 1, 1, 0);
  bid(A, 5, 100); /* 1 */
  bid(A, 5, 99);  /* 2: pool full */
  CHECK_EQ(IMX_E_ORDERS_FULL, submit(S, A, BID, GTC, 0, 5, 98));
  EXPECT_EVENTS(rejected(0, IMX_E_ORDERS_FULL));
  CHECK_EQ(IMX_OK, cancel(2));
  CHECK_EQ(3, bid(A, 5, 98)); /* the rejection took no id */
  EXPECT_EVENTS(accepted(3, A, BID, GTC, 0, 5, 98));
  CHECK_EQ(2, imx_engine_open_orders(E));
  finish();
}

static void test_orders_full_rejects_even_an_order_that_would_fill(void) {
  setup_engine(2, 4);
  S = add_service(1, 1, 1, 0);
  offer(A, 5, 100); /* 1 */
  offer(A, 5, 101); /* 2: pool full */
  /* Validation comes before matching: a full pool rejects every order. */
  CHECK_EQ(IMX_E_ORDERS_FULL, submit(S, B, BID, IOC, 0, 5, 100));
  EXPECT_EVENTS(rejected(0, IMX_E_ORDERS_FULL));
  EXPECT_ORDER(1, 5, 5, 0, 100);
  finish();
}

/* The id index maps an id's low bits straight to its order; with orders_max
** 4 it has 8 entries, so ids 9, 17, 25 ... land on the entry that the still
** open order 1 holds and must go to the overflow table. Cancel, modify and
** fills must find every order, whichever table holds it. */
static void test_orders_that_outlive_later_ids_stay_reachable(void) {
  setup_engine(4, 4);
  S = add_service(1, 1, 1, 0);
  CHECK_EQ(1, bid(A, 5, 100));   /* stays open throughout */
  CHECK_EQ(2, offer(D, 1, 300)); /* keeps the pairs below on odd ids */
  for (uint64_t id = 3; id <= 39; id += 2) {
    CHECK_EQ(id, offer(B, 1, 200));
    CHECK_EQ(id + 1, bid(C, 1, 200)); /* takes order id whole */
  }
  CHECK_EQ(41, offer(B, 1, 150)); /* 41 & 7 == 1: overflow */
  CHECK_EQ(IMX_OK, modify(41, 1, 160));
  CHECK_EQ(IMX_OK, modify(1, 4, 100));
  EXPECT_ORDER(1, 4, 4, 0, 100);
  CHECK_EQ(IMX_OK, cancel(1));
  EXPECT_NOT_OPEN(1);
  CHECK_EQ(42, bid(C, 1, 160));
  EXPECT_EVENTS(accepted(42, C, BID, GTC, 0, 1, 160),
                trade(20, 42, 41, C, B, 1, 160, BID));
  CHECK_EQ(1, imx_engine_open_orders(E));
  finish();
}

static void test_rejected_commands_consume_no_order_id(void) {
  setup();
  CHECK_EQ(1, bid(A, 5, 100));
  CHECK_EQ(IMX_E_BAD_QTY, submit(S, A, BID, GTC, 0, 0, 100));
  CHECK_EQ(IMX_E_UNKNOWN_SERVICE, submit(1000, A, BID, GTC, 0, 5, 100));
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, cancel(77));
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, modify(77, 5, 100));
  CHECK_EQ(2, bid(A, 5, 99));
  CHECK_EQ(3, offer(B, 5, 100));
  EXPECT_EVENTS(accepted(3, B, OFFER, GTC, 0, 5, 100),
                trade(1, 1, 3, A, B, 5, 100, OFFER));
  CHECK_EQ(IMX_E_BAD_PRICE, submit(S, B, OFFER, GTC, 0, 5, 0));
  CHECK_EQ(4, offer(B, 5, 99));
  EXPECT_EVENTS(accepted(4, B, OFFER, GTC, 0, 5, 99),
                trade(2, 2, 4, A, B, 5, 99, OFFER));
  finish();
}

static void test_qty_and_price_at_their_maxima_are_accepted(void) {
  setup();
  CHECK_EQ(1, bid(A, IMX_QTY_MAX, IMX_PRICE_MAX_MINOR));
  EXPECT_EVENTS(accepted(1, A, BID, GTC, 0, IMX_QTY_MAX, IMX_PRICE_MAX_MINOR));
  CHECK_EQ(2, offer(B, IMX_QTY_MAX, 1));
  EXPECT_EVENTS(accepted(2, B, OFFER, GTC, 0, IMX_QTY_MAX, 1),
                trade(1, 1, 2, A, B, IMX_QTY_MAX, IMX_PRICE_MAX_MINOR, OFFER));
  CHECK_EQ(3, bid(A, 1, 1)); /* the smallest valid order */
  finish();
}

/* ==================================================== services, engine */

static void test_service_add_rejects_bad_config(void) {
  static const imx_service_config bad[] = {
      {.tick_minor = 0, .lot = 1, .divisible = 1, .levels_max = 0},  {.tick_minor = 1, .lot = 0, .divisible = 1, .levels_max = 0}, {.tick_minor = -5, .lot = 1, .divisible = 1, .levels_max = 0},
      {.tick_minor = 1, .lot = -1, .divisible = 1, .levels_max = 0}, {.tick_minor = 1, .lot = 1, .divisible = 1, .levels_max = IMX_LEVELS_MAX + 1},
  };
  setup_engine(64, 1);
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint32_t id = 0;
    int before = check_failures_;
    CHECK_EQ(IMX_E_BAD_CONFIG, imx_engine_service_add(E, &bad[i], &id));
    if (check_failures_ != before) fprintf(stderr, "    in case %zu\n", i);
  }
  /* None of them took the only slot. */
  S = add_service(1, 1, 1, 0);
  CHECK_EQ(1, bid(A, 5, 100));
  finish();
}

static void test_services_full(void) {
  setup_engine(64, 2);
  uint32_t s1 = add_service(1, 1, 1, 0);
  uint32_t s2 = add_service(1, 1, 1, 0);
  CHECK(s1 != s2);
  imx_service_config cfg = {.tick_minor = 1, .lot = 1, .divisible = 1, .levels_max = 0};
  uint32_t id = 0;
  CHECK_EQ(IMX_E_SERVICES_FULL, imx_engine_service_add(E, &cfg, &id));
  finish();
}

static void test_engine_create_rejects_bad_config(void) {
  static const imx_engine_config bad[] = {
      {.orders_max = 0, .services_max = 4, .on_event = on_event, .ctx = &R},
      {.orders_max = 64, .services_max = 0, .on_event = on_event, .ctx = &R},
      {.orders_max = 64, .services_max = 4, .on_event = NULL, .ctx = &R},
      {.orders_max = IMX_ORDERS_MAX + 1, .services_max = 4, .on_event = on_event, .ctx = &R},
      {.orders_max = 64, .services_max = IMX_SERVICES_MAX + 1, .on_event = on_event, .ctx = &R},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    imx_engine *e = NULL;
    int before = check_failures_;
    imx_status st = imx_engine_create(&bad[i], &e);
    CHECK_EQ(IMX_E_BAD_CONFIG, st);
    if (st == IMX_OK && e != NULL) imx_engine_destroy(e);
    if (check_failures_ != before) fprintf(stderr, "    in case %zu\n", i);
  }
}

static void test_order_and_trade_ids_are_sequential_per_engine_across_services(void) {
  setup();
  uint32_t s1 = S, s2 = add_service(1, 1, 1, 0);
  CHECK_EQ(1, bid(A, 5, 100));
  S = s2;
  CHECK_EQ(2, offer(B, 5, 200));
  S = s1;
  CHECK_EQ(3, offer(C, 5, 100));
  EXPECT_EVENTS(accepted(3, C, OFFER, GTC, 0, 5, 100),
                trade(1, 1, 3, A, C, 5, 100, OFFER));
  S = s2;
  CHECK_EQ(4, bid(D, 5, 200));
  EXPECT_EVENTS(accepted(4, D, BID, GTC, 0, 5, 200),
                trade(2, 4, 2, D, B, 5, 200, BID));
  finish();
}

/* =============================================================== other */

/* Zeroes the fields the header lists for the event's type, then demands
** that everything left is zero. */
static void expect_unlisted_zero(size_t i, const imx_event *ev) {
  imx_event z = *ev;
  switch (ev->type) {
  case IMX_EV_ACCEPTED:
    z.service = 0; z.order_id = 0; z.cc = 0; z.side = 0; z.tif = 0;
    z.aon = 0; z.qty = 0; z.price_minor = 0;
    break;
  case IMX_EV_TRADE:
    z.service = 0; z.trade_id = 0; z.buy_order_id = 0; z.sell_order_id = 0;
    z.buyer_cc = 0; z.seller_cc = 0; z.qty = 0; z.price_minor = 0;
    z.aggressor = 0;
    break;
  case IMX_EV_CANCELLED:
    z.service = 0; z.order_id = 0; z.cc = 0; z.side = 0; z.qty = 0;
    z.reason = 0;
    break;
  case IMX_EV_EXPIRED:
    z.service = 0; z.order_id = 0; z.cc = 0; z.side = 0; z.qty = 0;
    break;
  case IMX_EV_REJECTED:
    z.order_id = 0; z.status = 0;
    break;
  case IMX_EV_MODIFIED:
    z.service = 0; z.order_id = 0; z.cc = 0; z.side = 0; z.qty = 0;
    z.price_minor = 0; z.priority_kept = 0;
    break;
  default:
    break;
  }
#define ZERO(f)                                                             \
  do {                                                                      \
    if (z.f != 0)                                                           \
      fail_at(__LINE__, "event %zu (%s): %s does not apply, want 0, got "   \
              "%lld", i, ev_name(ev->type), #f, (long long)z.f);            \
  } while (0)
  ZERO(service); ZERO(order_id); ZERO(cc); ZERO(side); ZERO(tif); ZERO(aon);
  ZERO(qty); ZERO(price_minor); ZERO(reason); ZERO(status);
  ZERO(priority_kept); ZERO(trade_id); ZERO(buy_order_id);
  ZERO(sell_order_id); ZERO(buyer_cc); ZERO(seller_cc); ZERO(aggressor);
  ZERO(surplus); ZERO(surplus_side); ZERO(available); ZERO(tender_id);
  ZERO(quote_id); ZERO(deadline_ms); ZERO(decide);
  ZERO(price_weight); ZERO(quality_weight); ZERO(score);
#undef ZERO
}

static void test_fields_that_do_not_apply_are_zero(void) {
  setup();
  /* Non-zero values everywhere they are allowed, so that a field copied
  ** into the wrong event shows. */
  place(D, OFFER, PERIOD, 1, 5, 100);  /* 1: accepted */
  place(C, BID, IOC, 0, 8, 100);       /* 2: accepted, trade, cancelled */
  place(B, OFFER, PERIOD, 0, 4, 110);  /* 3: accepted */
  modify(3, 3, 111);                   /* modified */
  submit(S, A, OFFER, FOK, 1, 0, 100); /* rejected */
  cancel(99);                          /* rejected */
  period_end(S);                       /* expired */
  int seen[6] = {0};
  for (size_t i = 0; i < R.n && i < REC_CAP; i++) {
    if ((unsigned)R.ev[i].type < 6) seen[R.ev[i].type]++;
    expect_unlisted_zero(i, &R.ev[i]);
  }
  for (int t = 0; t < 6; t++)
    if (!seen[t]) fail_at(__LINE__, "no %s event to look at", ev_name(t));
  finish();
}

static void test_queries_emit_no_events(void) {
  setup();
  bid(A, 5, 100);   /* 1 */
  offer(B, 5, 101); /* 2 */
  mark();
  imx_order_info o[4];
  imx_level_info l[4];
  CHECK_EQ(IMX_OK, imx_engine_order_get(E, 1, &o[0]));
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, imx_engine_order_get(E, 9, &o[0]));
  CHECK_EQ(1, imx_engine_levels(E, S, OFFER, l, 4));
  CHECK_EQ(1, imx_engine_orders(E, S, BID, o, 4));
  CHECK_EQ(2, imx_engine_open_orders(E));
  CHECK(imx_engine_memory_bytes(E) > 0);
  CHECK_EQ(0, imx_engine_check(E));
  EXPECT_NO_EVENTS();
  finish();
}

/* One cost centre's open orders across services and sides, lowest id first,
** at most n of them: what order.list shows. Filled and cancelled orders and
** other cost centres' orders are not listed. */
static void test_orders_of_a_cost_centre_lowest_ids_first(void) {
  setup_engine(64, 2);
  uint32_t s1 = add_service(1, 1, 1, 0), s2 = add_service(1, 1, 1, 0);
  S = s2;
  offer(A, 5, 200); /* 1 */
  S = s1;
  bid(A, 5, 100);   /* 2 */
  bid(B, 5, 101);   /* 3 */
  offer(A, 5, 300); /* 4 */
  bid(A, 1, 90);    /* 5 */
  CHECK_EQ(IMX_OK, cancel(5));
  offer(C, 10, 100); /* 6: fills order 3 (B) then 2 (A) */
  imx_order_info o[8];
  CHECK_EQ(2, imx_engine_orders_of(E, A, o, 8));
  CHECK_EQ(1, o[0].order_id);
  CHECK_EQ(s2, o[0].service);
  CHECK_EQ(4, o[1].order_id);
  CHECK_EQ(1, imx_engine_orders_of(E, A, o, 1));
  CHECK_EQ(1, o[0].order_id);
  CHECK_EQ(0, imx_engine_orders_of(E, B, o, 8));
  finish();
}

/* The ids a cost centre's order list shows, oldest (lowest id) first. */
static void expect_orders_of_(int line, uint32_t cc, const uint64_t *want,
                              uint32_t n) {
  imx_order_info got[16];
  uint32_t k = imx_engine_orders_of(E, cc, got, 16);
  int bad = k != n;
  for (uint32_t i = 0; i < n && i < k; i++) bad |= want[i] != got[i].order_id;
  if (!bad) return;
  fail_at(line, "orders of cc %u differ", cc);
  fprintf(stderr, "    want:");
  for (uint32_t i = 0; i < n; i++) fprintf(stderr, " %llu", (unsigned long long)want[i]);
  fprintf(stderr, "\n    got: ");
  for (uint32_t i = 0; i < k; i++) fprintf(stderr, " %llu", (unsigned long long)got[i].order_id);
  fprintf(stderr, "\n");
}

#define EXPECT_ORDERS_OF(cc, ...)                                           \
  expect_orders_of_(__LINE__, cc, (const uint64_t[]){__VA_ARGS__},          \
                    (uint32_t)(sizeof((const uint64_t[]){__VA_ARGS__}) /    \
                               sizeof(uint64_t)))
#define EXPECT_NO_ORDERS_OF(cc)                                             \
  CHECK_EQ(0, imx_engine_orders_of(E, cc, (imx_order_info[1]){{0}}, 1))

/* Leaving the list from its front, middle and back, and a modify that loses
** priority in the book, keep the others in id order. */
static void test_orders_of_keeps_id_order_as_orders_leave_and_change(void) {
  setup();
  bid(A, 1, 90);  /* 1 */
  bid(A, 1, 91);  /* 2 */
  bid(B, 1, 92);  /* 3 */
  bid(A, 1, 93);  /* 4 */
  bid(A, 1, 94);  /* 5 */
  EXPECT_ORDERS_OF(A, 1, 2, 4, 5);
  CHECK_EQ(IMX_OK, cancel(2)); /* middle */
  EXPECT_ORDERS_OF(A, 1, 4, 5);
  CHECK_EQ(IMX_OK, modify(1, 3, 95)); /* back of the book, not of the list */
  EXPECT_ORDERS_OF(A, 1, 4, 5);
  offer(C, 3, 95); /* 6: fills order 1, the front of A's list */
  EXPECT_ORDERS_OF(A, 4, 5);
  CHECK_EQ(IMX_OK, cancel(5)); /* back */
  EXPECT_ORDERS_OF(A, 4);
  bid(A, 1, 80); /* 7 */
  EXPECT_ORDERS_OF(A, 4, 7);
  EXPECT_ORDERS_OF(B, 3);
  CHECK_EQ(IMX_OK, cancel(4));
  CHECK_EQ(IMX_OK, cancel(7));
  EXPECT_NO_ORDERS_OF(A);
  EXPECT_NO_ORDERS_OF(C); /* order 6 filled whole and never rested */
  finish();
}

/* Cost centres whose numbers share their low bits (risk off: any number):
** each still has its own list. 64 orders: the lists' table has 128 direct
** entries, so 5, 133 and 261 compete for one. */
static void test_orders_of_cost_centres_with_equal_low_bits(void) {
  setup();
  enum { X = 5, Y = 5 + 128, Z = 5 + 256 };
  bid(X, 1, 90);   /* 1 */
  bid(Y, 1, 91);   /* 2 */
  bid(Z, 1, 92);   /* 3 */
  bid(Y, 1, 93);   /* 4 */
  bid(X, 1, 94);   /* 5 */
  bid(Z, 1, 95);   /* 6 */
  EXPECT_ORDERS_OF(X, 1, 5);
  EXPECT_ORDERS_OF(Y, 2, 4);
  EXPECT_ORDERS_OF(Z, 3, 6);
  CHECK_EQ(IMX_OK, cancel(1));
  CHECK_EQ(IMX_OK, cancel(5)); /* X's list is gone; Y and Z move back */
  EXPECT_NO_ORDERS_OF(X);
  EXPECT_ORDERS_OF(Y, 2, 4);
  EXPECT_ORDERS_OF(Z, 3, 6);
  CHECK_EQ(IMX_OK, cancel(6));
  EXPECT_ORDERS_OF(Z, 3);
  bid(X, 1, 96);   /* 7 */
  EXPECT_ORDERS_OF(X, 7);
  CHECK_EQ(0, imx_engine_check(E));
  finish();
}

static double seconds_now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* order.list must not cost the size of the order pool: with a pool of 1 M
** orders, 1,000 lists of a cost centre with 3 open orders take well under
** 200 ms (scanning the pool took about 1 ms a list, 1 s in all). */
static void test_orders_of_does_not_scan_the_pool(void) {
  E = create_engine(1u << 20, 1, &R);
  S = add_service(1, 1, 1, 0);
  bid(A, 1, 90);  /* 1 */
  bid(B, 1, 91);  /* 2 */
  bid(A, 1, 92);  /* 3 */
  bid(A, 1, 93);  /* 4 */
  imx_order_info o[8];
  double t0 = seconds_now();
  uint32_t k = 0;
  for (int i = 0; i < 1000; i++) k += imx_engine_orders_of(E, A, o, 8);
  double dt = seconds_now() - t0;
  CHECK_EQ(3000, k);
  if (dt > 0.2) fail_at(__LINE__, "1,000 orders_of took %.3f s", dt);
  finish();
}

/* Resident bytes of this process (/proc/self/statm), or 0 where unknown. */
static size_t resident_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  unsigned long size = 0, resident = 0;
  if (f == NULL) return 0;
  int n = fscanf(f, "%lu %lu", &size, &resident);
  fclose(f);
  return n == 2 ? (size_t)resident * (size_t)sysconf(_SC_PAGESIZE) : 0;
}

/* imx_engine_memory_bytes covers what creating an engine made resident:
** its large tables are touched whole at creation (a table it forgot, such
** as the 10 MB of list links, fails this), and on huge pages they are
** resident in whole 2 MiB pages, which it counts now (it counted the bytes
** asked for, up to 2 MiB a table short; whether that showed here depended
** on how many huge pages the kernel gave). A MiB of slack for
** malloc's own bookkeeping. */
static void test_memory_bytes_covers_what_the_engine_made_resident(void) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  /* The sanitizer's shadow of the tables is resident too (an eighth of
  ** them and more): nothing to compare with. */
  fprintf(stderr, "  (skipped under a sanitizer: its shadow memory is resident too)\n");
  return;
#endif
  size_t before = resident_bytes();
  E = create_engine(1000000, 4, &R);
  size_t after = resident_bytes();
  if (before == 0 || after == 0) { /* no /proc: nothing to compare */
    finish();
    return;
  }
  size_t counted = imx_engine_memory_bytes(E);
  if (after - before > counted + ((size_t)1 << 20))
    fail_at(__LINE__, "creating the engine made %zu bytes resident, it counts %zu",
            after - before, counted);
  CHECK(counted < (size_t)256 << 20); /* 1 M orders in under 256 MiB */
  finish();
}

/* A fixed pseudo-random mix of every command, on two services; the same
** seed gives the same commands. */
static void run_script(imx_engine *e, uint32_t s1, uint32_t s2,
                       int *check_failed) {
  uint64_t x = 20240601;
  for (int i = 0; i < 400; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    uint32_t r = (uint32_t)(x >> 32);
    uint32_t svc = (r & 1) ? s1 : s2;
    uint32_t op = (r >> 1) % 16;
    if (op < 10) {
      imx_order_new o = {svc, 1 + (r >> 5) % 4, (imx_side)((r >> 7) & 1),
                         (imx_tif)((r >> 8) % 4), (r >> 10) % 6 == 0,
                         1 + (r >> 13) % 12, 95 + (r >> 17) % 11, 0, 0};
      if ((r >> 22) % 40 == 0) o.qty = 0; /* now and then a rejection */
      imx_engine_order_new(e, &o, NULL);
    } else if (op < 12) {
      imx_engine_order_cancel(e, (r >> 5) % (uint32_t)(i + 2));
    } else if (op < 15) {
      imx_engine_order_modify(e, (r >> 5) % (uint32_t)(i + 2),
                              1 + (r >> 13) % 12, 95 + (r >> 17) % 11);
    } else {
      imx_engine_period_end(e, svc);
    }
    if (imx_engine_check(e) != 0 && *check_failed == 0) *check_failed = i + 1;
  }
}

/* The event callback may query the engine, and sees the state before the
** event (imx_engine.h): imxd's core learns that way which orders a command
** closed. A watcher checks every event of a random stream against queries
** made from inside the callback, and, after each command, that the orders
** it judged closed are gone and the others of its trades are still open. */
typedef struct watcher {
  imx_engine *e;
  uint64_t closed[64], touched[64];
  uint32_t closed_n, touched_n;
  int wrong; /* the first event that disagreed with a query, + 1 */
  int events;
} watcher;

static void watch_event(void *ctx, const imx_event *ev) {
  watcher *w = ctx;
  w->events++;
  imx_order_info in;
  if (ev->type == IMX_EV_TRADE) {
    const uint64_t ids[2] = {ev->buy_order_id, ev->sell_order_id};
    for (int k = 0; k < 2; k++) {
      if (imx_engine_order_get(w->e, ids[k], &in) != IMX_OK || in.qty_open < ev->qty) {
        if (!w->wrong) w->wrong = w->events;
        continue;
      }
      if (in.qty_open == ev->qty && w->closed_n < 64) w->closed[w->closed_n++] = ids[k];
      else if (w->touched_n < 64) w->touched[w->touched_n++] = ids[k];
    }
  } else if (ev->type == IMX_EV_CANCELLED || ev->type == IMX_EV_EXPIRED) {
    if (imx_engine_order_get(w->e, ev->order_id, &in) != IMX_OK || in.qty_open != ev->qty) {
      if (!w->wrong) w->wrong = w->events;
    } else if (w->closed_n < 64) {
      w->closed[w->closed_n++] = ev->order_id;
    }
  }
}

/* A call retires its filled orders a few behind (auction.c); the queries
** from a later TRADE of the same call must already see them closed. Two
** bids of 1 (cost centres A, C) meet an offer of 2: at the second trade the
** first bid is gone for order_get, orders_of and open_orders alike. */
typedef struct call_watch {
  imx_engine *e;
  int trades;
  imx_status get_first;  /* order 1 at the second trade */
  uint32_t open, of_a;   /* open orders, A's orders at the second trade */
} call_watch;

static void call_watch_event(void *ctx, const imx_event *ev) {
  call_watch *w = ctx;
  if (ev->type != IMX_EV_TRADE || ++w->trades != 2) return;
  imx_order_info in, list[4];
  w->get_first = imx_engine_order_get(w->e, 1, &in);
  w->open = imx_engine_open_orders(w->e);
  w->of_a = imx_engine_orders_of(w->e, A, list, 4);
}

static void test_a_calls_filled_orders_are_closed_for_queries_at_its_next_trade(void) {
  call_watch w = {0};
  imx_engine_config cfg = {.orders_max = 64, .services_max = 1,
                           .on_event = call_watch_event, .ctx = &w};
  CHECK_EQ(IMX_OK, imx_engine_create(&cfg, &w.e));
  imx_service_config call = {.tick_minor = 1, .lot = 1, .divisible = 1,
                             .mode = IMX_MODE_AUCTION};
  uint32_t s = 0;
  CHECK_EQ(IMX_OK, imx_engine_service_add(w.e, &call, &s));
  imx_order_new b1 = {s, A, BID, GTC, 0, 1, 10, 0, 0};
  imx_order_new b2 = {s, C, BID, GTC, 0, 1, 10, 0, 0};
  imx_order_new o1 = {s, B, OFFER, GTC, 0, 2, 10, 0, 0};
  CHECK_EQ(IMX_OK, imx_engine_order_new(w.e, &b1, NULL));
  CHECK_EQ(IMX_OK, imx_engine_order_new(w.e, &b2, NULL));
  CHECK_EQ(IMX_OK, imx_engine_order_new(w.e, &o1, NULL));
  CHECK_EQ(IMX_OK, imx_engine_auction_run(w.e, s, 0, NULL));
  CHECK_EQ(2, w.trades);
  CHECK_EQ(IMX_E_UNKNOWN_ORDER, w.get_first);
  CHECK_EQ(2, w.open); /* the second bid and the offer, still open */
  CHECK_EQ(0, w.of_a);
  CHECK_EQ(0, imx_engine_open_orders(w.e));
  CHECK_EQ(0, imx_engine_check(w.e));
  imx_engine_destroy(w.e);
}

/* ================================================================ pool */

/* An auction book's orders move into blocks of their level when they rest
** (engine.c, "order pool"). However the blocks fragment, the engine holds
** exactly orders_max orders, and imx_engine_check (which checks every
** block's free bits and lists) holds after each step. */
static void test_a_full_pool_holds_orders_max_orders_however_fragmented(void) {
  enum { N = 200 };
  E = create_engine(N, 2, &R);
  imx_service_config call = {.tick_minor = 1, .lot = 1, .divisible = 1,
                             .levels_max = 1024, .mode = IMX_MODE_AUCTION};
  CHECK_EQ(IMX_OK, imx_engine_service_add(E, &call, &S));
  uint64_t id[N];
  /* One order a level: every level takes a block of its own until none is
  ** free, the rest land in other levels' blocks. */
  for (uint32_t i = 0; i < N; i++) {
    id[i] = place(1 + i % 7 * 2, BID, GTC, 0, 1, 1000 - (int64_t)i);
    if (i % 16 == 0) CHECK_EQ(0, imx_engine_check(E));
  }
  CHECK_EQ(N, imx_engine_open_orders(E));
  CHECK_EQ(IMX_E_ORDERS_FULL, submit(S, 1, BID, GTC, 0, 1, 5));
  /* Leave one order in every eight, then fill up again, at a few levels:
  ** their blocks fill, and the holes elsewhere take the rest. */
  for (uint32_t i = 0; i < N; i++)
    if (i % 8 != 0) CHECK_EQ(IMX_OK, cancel(id[i]));
  CHECK_EQ(0, imx_engine_check(E));
  for (uint32_t i = 0; i < N - N / 8; i++) {
    id[i] = place(1 + i % 7 * 2, BID, GTC, 0, 1, 10 + (int64_t)(i % 3));
    if (i % 16 == 0) CHECK_EQ(0, imx_engine_check(E));
  }
  CHECK_EQ(N, imx_engine_open_orders(E));
  CHECK_EQ(IMX_E_ORDERS_FULL, submit(S, 1, BID, GTC, 0, 1, 10));
  /* Time order within each level survives the blocks. */
  imx_level_info lv[64]; /* the N / 8 that stayed, and the three new */
  CHECK_EQ(N / 8 + 3, imx_engine_levels(E, S, BID, lv, 64));
  imx_order_info got[N];
  uint32_t k = imx_engine_orders(E, S, BID, got, N);
  CHECK_EQ(N, k);
  for (uint32_t i = 1; i < k; i++)
    if (got[i].price_minor == got[i - 1].price_minor)
      CHECK(got[i].order_id > got[i - 1].order_id);
  /* A call that trades them all empties every block. */
  for (uint32_t i = 0; i < 3; i++) CHECK_EQ(IMX_OK, cancel(got[i].order_id));
  CHECK_EQ(IMX_OK, submit(S, 2, OFFER, GTC, 0, N - 3, 5));
  imx_auction_result r;
  CHECK_EQ(IMX_OK, imx_engine_auction_run(E, S, 10, &r));
  CHECK_EQ(N - 3, r.volume);
  CHECK_EQ(0, imx_engine_open_orders(E));
  CHECK_EQ(0, imx_engine_check(E));
  for (uint32_t i = 0; i < N; i++) /* and the pool takes N again */
    place(1 + i % 7 * 2, BID, GTC, 0, 1, 500 + (int64_t)(i % 40));
  finish();
}

/* A modify that loses priority in an auction book moves the order to a slot
** of its new level; the cost centre's list keeps arrival order whether the
** moved order was its first, a middle one, its last or alone. */
static void test_auction_modify_moves_the_order_and_keeps_its_cost_centres_list(void) {
  E = create_engine(64, 2, &R);
  imx_service_config call = {.tick_minor = 1, .lot = 1, .divisible = 1,
                             .mode = IMX_MODE_AUCTION};
  CHECK_EQ(IMX_OK, imx_engine_service_add(E, &call, &S));
  uint64_t a1 = place(A, BID, GTC, 0, 5, 100), a2 = place(A, BID, GTC, 0, 5, 101);
  uint64_t b1 = place(B, BID, GTC, 0, 5, 100);
  uint64_t a3 = place(A, BID, GTC, 0, 5, 102), c1 = place(C, BID, GTC, 0, 5, 99);
  uint64_t moves[] = {a2, a1, a3, c1, a1, b1};
  for (size_t m = 0; m < sizeof moves / sizeof moves[0]; m++) {
    CHECK_EQ(IMX_OK, modify(moves[m], 6, 90 + (int64_t)m));
    CHECK_EQ(0, imx_engine_check(E));
  }
  imx_order_info of[8];
  CHECK_EQ(3, imx_engine_orders_of(E, A, of, 8));
  CHECK_EQ(a1, of[0].order_id);
  CHECK_EQ(a2, of[1].order_id);
  CHECK_EQ(a3, of[2].order_id);
  CHECK_EQ(94, of[0].price_minor); /* its last move */
  CHECK_EQ(1, imx_engine_orders_of(E, C, of, 8));
  CHECK_EQ(c1, of[0].order_id);
  CHECK_EQ(93, of[0].price_minor);
  CHECK_EQ(IMX_OK, cancel(a2)); /* the middle one, after the moves */
  CHECK_EQ(2, imx_engine_orders_of(E, A, of, 8));
  CHECK_EQ(a3, of[1].order_id);
  finish();
}

/* The same in an auction book with cost centres whose numbers share their
** low bits (5, 133, 261, 389: one direct entry of the lists' table, the
** others in its overflow): moves by modify, then a call that fills each
** list's first, a middle one, a last and one alone, leave every list in
** arrival order. */
static void test_a_call_keeps_the_lists_of_cost_centres_with_equal_low_bits(void) {
  E = create_engine(64, 1, &R);
  imx_service_config call = {.tick_minor = 1, .lot = 1, .divisible = 1,
                             .mode = IMX_MODE_AUCTION};
  CHECK_EQ(IMX_OK, imx_engine_service_add(E, &call, &S));
  enum { X = 5, Y = 5 + 128, Z = 5 + 256, W = 5 + 384 };
  uint64_t x1 = place(X, BID, GTC, 0, 1, 100); /* fills: X's first */
  uint64_t y1 = place(Y, BID, GTC, 0, 1, 90);
  uint64_t z1 = place(Z, BID, GTC, 0, 1, 91);
  uint64_t y2 = place(Y, BID, GTC, 0, 1, 101); /* fills: Y's middle */
  uint64_t x2 = place(X, BID, GTC, 0, 1, 92);
  uint64_t z2 = place(Z, BID, GTC, 0, 1, 93);
  uint64_t y3 = place(Y, BID, GTC, 0, 1, 94);
  uint64_t z3 = place(Z, BID, GTC, 0, 1, 102); /* fills: Z's last */
  uint64_t w1 = place(W, BID, GTC, 0, 1, 103); /* fills: alone */
  CHECK_EQ(IMX_OK, modify(x2, 1, 95)); /* X's last moves */
  CHECK_EQ(IMX_OK, modify(y1, 1, 96)); /* Y's first moves */
  CHECK_EQ(IMX_OK, modify(w1, 1, 104)); /* alone, moves */
  CHECK_EQ(0, imx_engine_check(E));
  EXPECT_ORDERS_OF(X, x1, x2);
  EXPECT_ORDERS_OF(Y, y1, y2, y3);
  EXPECT_ORDERS_OF(Z, z1, z2, z3);
  EXPECT_ORDERS_OF(W, w1);
  place(D, OFFER, GTC, 0, 4, 100);
  imx_auction_result r;
  CHECK_EQ(IMX_OK, imx_engine_auction_run(E, S, 100, &r));
  CHECK_EQ(4, r.volume);
  CHECK_EQ(0, imx_engine_check(E));
  EXPECT_ORDERS_OF(X, x2);
  EXPECT_ORDERS_OF(Y, y1, y3);
  EXPECT_ORDERS_OF(Z, z1, z2);
  EXPECT_NO_ORDERS_OF(W);
  EXPECT_NO_ORDERS_OF(D);
  uint64_t w2 = place(W, BID, GTC, 0, 1, 80), y4 = place(Y, BID, GTC, 0, 1, 80);
  CHECK_EQ(IMX_OK, cancel(y1)); /* the first, by a user */
  EXPECT_ORDERS_OF(Y, y3, y4);
  EXPECT_ORDERS_OF(W, w2);
  CHECK_EQ(0, imx_engine_check(E));
  finish();
}

static void test_queries_from_the_event_callback_see_the_state_before_the_event(void) {
  watcher w = {0};
  imx_engine_config cfg = {.orders_max = 256, .services_max = 2,
                           .on_event = watch_event, .ctx = &w};
  CHECK_EQ(IMX_OK, imx_engine_create(&cfg, &w.e));
  imx_service_config cont = {.tick_minor = 1, .lot = 1, .divisible = 1};
  imx_service_config call = {.tick_minor = 1, .lot = 1, .divisible = 1,
                             .mode = IMX_MODE_AUCTION};
  uint32_t s1 = 0, s2 = 0;
  CHECK_EQ(IMX_OK, imx_engine_service_add(w.e, &cont, &s1));
  CHECK_EQ(IMX_OK, imx_engine_service_add(w.e, &call, &s2));
  uint64_t x = 42;
  int closed_total = 0, gone_wrong = 0;
  for (int i = 0; i < 3000 && w.e; i++) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    uint32_t r = (uint32_t)(x >> 32), svc = (r & 1) ? s1 : s2, op = (r >> 1) % 20;
    w.closed_n = w.touched_n = 0;
    if (op < 12) {
      imx_order_new o = {svc, 1 + (r >> 5) % 4, (imx_side)((r >> 7) & 1),
                         (imx_tif)((r >> 8) % 4), (r >> 10) % 6 == 0,
                         1 + (r >> 13) % 12, 95 + (r >> 17) % 11, 0, 0};
      imx_engine_order_new(w.e, &o, NULL);
    } else if (op < 14) {
      imx_engine_order_cancel(w.e, (r >> 5) % (uint32_t)(i + 2));
    } else if (op < 17) {
      imx_engine_order_modify(w.e, (r >> 5) % (uint32_t)(i + 2), 1 + (r >> 13) % 12,
                              95 + (r >> 17) % 11);
    } else if (op < 19) {
      imx_engine_auction_run(w.e, s2, 100, NULL);
    } else {
      imx_engine_period_end(w.e, svc);
    }
    imx_order_info in;
    for (uint32_t k = 0; k < w.closed_n; k++)
      if (imx_engine_order_get(w.e, w.closed[k], &in) == IMX_OK) gone_wrong++;
    for (uint32_t k = 0; k < w.touched_n; k++) { /* partly filled, unless closed after */
      int later = 0;
      for (uint32_t j = 0; j < w.closed_n; j++) later |= w.closed[j] == w.touched[k];
      if (!later && imx_engine_order_get(w.e, w.touched[k], &in) != IMX_OK) gone_wrong++;
    }
    closed_total += (int)w.closed_n;
  }
  CHECK_EQ(0, w.wrong);
  CHECK_EQ(0, gone_wrong);
  CHECK(closed_total > 500); /* the stream closed orders every way */
  CHECK_EQ(0, imx_engine_check(w.e));
  imx_engine_destroy(w.e);
}

static void test_same_commands_give_identical_event_streams(void) {
  imx_engine *e1 = create_engine(256, 4, &R);
  imx_engine *e2 = create_engine(256, 4, &R2);
  imx_service_config cfg = {.tick_minor = 1, .lot = 1, .divisible = 1, .levels_max = 0};
  uint32_t a1 = 0, b1 = 0, a2 = 0, b2 = 0;
  CHECK_EQ(IMX_OK, imx_engine_service_add(e1, &cfg, &a1));
  CHECK_EQ(IMX_OK, imx_engine_service_add(e1, &cfg, &b1));
  CHECK_EQ(IMX_OK, imx_engine_service_add(e2, &cfg, &a2));
  CHECK_EQ(IMX_OK, imx_engine_service_add(e2, &cfg, &b2));
  int bad1 = 0, bad2 = 0;
  run_script(e1, a1, b1, &bad1);
  run_script(e2, a2, b2, &bad2);
  CHECK_EQ(0, bad1); /* the command number after which a check failed */
  CHECK_EQ(0, bad2);
  CHECK(R.n > 400); /* the script did produce a real stream */
  CHECK(R.n <= REC_CAP);
  CHECK_EQ(R.n, R2.n);
  size_t n = R.n < R2.n ? R.n : R2.n;
  if (n > REC_CAP) n = REC_CAP;
  CHECK(memcmp(R.ev, R2.ev, n * sizeof(imx_event)) == 0);
  /* Every kind of event occurred, so the comparison covered them all. */
  int seen[6] = {0};
  for (size_t i = 0; i < n; i++)
    if ((unsigned)R.ev[i].type < 6) seen[R.ev[i].type] = 1;
  for (int t = 0; t < 6; t++)
    if (!seen[t]) fail_at(__LINE__, "script emitted no %s event", ev_name(t));
  CHECK_EQ(0, imx_engine_check(e1));
  CHECK_EQ(0, imx_engine_check(e2));
  imx_engine_destroy(e1);
  imx_engine_destroy(e2);
}

static void test_status_and_enum_names_are_stable(void) {
  CHECK_STR("unknown_service", imx_status_name(IMX_E_UNKNOWN_SERVICE));
  CHECK_STR("unknown_order", imx_status_name(IMX_E_UNKNOWN_ORDER));
  CHECK_STR("bad_side", imx_status_name(IMX_E_BAD_SIDE));
  CHECK_STR("bad_tif", imx_status_name(IMX_E_BAD_TIF));
  CHECK_STR("bad_qty", imx_status_name(IMX_E_BAD_QTY));
  CHECK_STR("bad_price", imx_status_name(IMX_E_BAD_PRICE));
  CHECK_STR("bad_tick", imx_status_name(IMX_E_BAD_TICK));
  CHECK_STR("bad_lot", imx_status_name(IMX_E_BAD_LOT));
  CHECK_STR("aon_required", imx_status_name(IMX_E_AON_REQUIRED));
  CHECK_STR("orders_full", imx_status_name(IMX_E_ORDERS_FULL));
  CHECK_STR("levels_full", imx_status_name(IMX_E_LEVELS_FULL));
  CHECK_STR("bad_stars", imx_status_name(IMX_E_BAD_STARS));
  CHECK_STR("ratings_full", imx_status_name(IMX_E_RATINGS_FULL));
  CHECK_STR("user", imx_cancel_reason_name(IMX_CANCEL_USER));
  CHECK_STR("ioc", imx_cancel_reason_name(IMX_CANCEL_IOC));
  CHECK_STR("fok", imx_cancel_reason_name(IMX_CANCEL_FOK));
  CHECK_STR("self_trade", imx_cancel_reason_name(IMX_CANCEL_SELF_TRADE));
  CHECK_STR("bid", imx_side_name(IMX_BID));
  CHECK_STR("offer", imx_side_name(IMX_OFFER));
  CHECK_STR("gtc", imx_tif_name(IMX_TIF_GTC));
  CHECK_STR("period", imx_tif_name(IMX_TIF_PERIOD));
  CHECK_STR("ioc", imx_tif_name(IMX_TIF_IOC));
  CHECK_STR("fok", imx_tif_name(IMX_TIF_FOK));
  CHECK_STR("accepted", imx_event_type_name(IMX_EV_ACCEPTED));
  CHECK_STR("trade", imx_event_type_name(IMX_EV_TRADE));
  CHECK_STR("cancelled", imx_event_type_name(IMX_EV_CANCELLED));
  CHECK_STR("expired", imx_event_type_name(IMX_EV_EXPIRED));
  CHECK_STR("rejected", imx_event_type_name(IMX_EV_REJECTED));
  CHECK_STR("modified", imx_event_type_name(IMX_EV_MODIFIED));
}

/* ====================================================== quality: min_stars */

/* A bid with min_stars (tenths of a star) and allow_unrated on S. */
static imx_status stars_bid(uint32_t cc, imx_tif tif, int64_t qty,
                            int64_t price, int min_stars, int allow_unrated) {
  imx_order_new o = {.service = S, .cc = cc, .side = BID, .tif = tif,
                     .qty = qty, .price_minor = price,
                     .min_stars = min_stars, .allow_unrated = allow_unrated};
  mark();
  last_id = 0;
  return imx_engine_order_new(E, &o, &last_id);
}

static void rate(uint32_t cc, uint32_t ratings, uint64_t sum) {
  mark();
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, cc, S, ratings, sum));
  EXPECT_NO_EVENTS(); /* reputations never move or match orders */
}

static void test_min_stars_skips_ineligible_offers_which_keep_their_place(void) {
  setup();
  rate(A, 5, 15); /* 3.0 */
  rate(B, 5, 25); /* 5.0 */
  offer(A, 5, 99);  /* 1: the best price, but A is below 4.5 */
  offer(A, 5, 100); /* 2 */
  offer(B, 5, 100); /* 3 */
  CHECK_EQ(IMX_OK, stars_bid(C, GTC, 5, 100, 45, 0)); /* 4 */
  EXPECT_EVENTS(accepted(4, C, BID, GTC, 0, 5, 100),
                trade(1, 4, 3, C, B, 5, 100, BID));
  EXPECT_QUEUE(OFFER, 1, 2); /* skipped, untouched, in their places */
  EXPECT_NO_LEVELS(BID);
  bid(D, 7, 100); /* 5: no min_stars: price-time as always */
  EXPECT_EVENTS(accepted(5, D, BID, GTC, 0, 7, 100),
                trade(2, 5, 1, D, A, 5, 99, BID),
                trade(3, 5, 2, D, A, 2, 100, BID));
  finish();
}

static void test_incoming_offer_skips_a_bid_whose_min_stars_it_misses(void) {
  setup();
  rate(A, 4, 8);  /* 2.0 */
  rate(B, 4, 20); /* 5.0 */
  CHECK_EQ(IMX_OK, stars_bid(C, GTC, 5, 100, 40, 0)); /* 1 */
  bid(D, 5, 99);                                      /* 2 */
  offer(A, 8, 99); /* 3: skips bid 1, trades with bid 2, rests */
  EXPECT_EVENTS(accepted(3, A, OFFER, GTC, 0, 8, 99),
                trade(1, 2, 3, D, A, 5, 99, OFFER));
  /* Bid 1 rests crossed with offer 3, which it may not take: the book's
  ** invariant (finish) allows exactly that. */
  EXPECT_LEVELS(BID, {100, 5, 1});
  EXPECT_LEVELS(OFFER, {99, 3, 1});
  offer(B, 2, 100); /* 4: eligible, trades with bid 1 at the bid's price */
  EXPECT_EVENTS(accepted(4, B, OFFER, GTC, 0, 2, 100),
                trade(2, 1, 4, C, B, 2, 100, OFFER));
  EXPECT_ORDER(1, 5, 3, 2, 100);
  finish();
}

static void test_unrated_providers_trade_only_with_allow_unrated(void) {
  setup(); /* ratings_min is 3 by default */
  rate(A, 2, 10); /* two fives: still unrated */
  offer(A, 5, 100); /* 1; B is never rated at all */
  offer(B, 5, 100); /* 2 */
  CHECK_EQ(IMX_OK, stars_bid(C, IOC, 5, 100, 10, 0)); /* 3 */
  EXPECT_EVENTS(accepted(3, C, BID, IOC, 0, 5, 100),
                cancelled(3, C, BID, 5, BY_IOC));
  CHECK_EQ(IMX_OK, stars_bid(C, IOC, 7, 100, 50, 1)); /* 4 */
  EXPECT_EVENTS(accepted(4, C, BID, IOC, 0, 7, 100),
                trade(1, 4, 1, C, A, 5, 100, BID),
                trade(2, 4, 2, C, B, 2, 100, BID));
  /* The third rating makes A rated: 5.0 now counts, and allow_unrated
  ** no longer matters for A. */
  offer(A, 5, 100); /* 5 */
  rate(A, 3, 15);
  CHECK_EQ(IMX_OK, stars_bid(D, GTC, 5, 100, 50, 0)); /* 6 */
  EXPECT_EVENTS(accepted(6, D, BID, GTC, 0, 5, 100),
                trade(3, 6, 5, D, A, 5, 100, BID));
  EXPECT_QUEUE(OFFER, 2);
  finish();
}

static void test_ratings_min_is_the_engine_setting(void) {
  E = engine_create((imx_engine_config){.orders_max = 64, .services_max = 4,
                                        .ratings_min = 1}, &R);
  S = add_service(1, 1, 1, 0);
  rate(A, 1, 5); /* one five: rated with ratings_min 1 */
  offer(A, 5, 100); /* 1 */
  CHECK_EQ(IMX_OK, stars_bid(C, GTC, 5, 100, 50, 0)); /* 2 */
  EXPECT_EVENTS(accepted(2, C, BID, GTC, 0, 5, 100),
                trade(1, 2, 1, C, A, 5, 100, BID));
  imx_engine_destroy(E);
  mark();
  E = NULL;
  imx_engine *bad = NULL;
  imx_engine_config cfg = {.orders_max = 64, .services_max = 4, .on_event = on_event,
                           .ctx = &R, .ratings_min = IMX_RATINGS_MIN_MAX + 1};
  CHECK_EQ(IMX_E_BAD_CONFIG, imx_engine_create(&cfg, &bad));
  CHECK(bad == NULL);
}

static void test_min_stars_boundary_is_exact(void) {
  setup();
  rate(A, 9, 40);  /* 4.444...: below 4.5, at least 4.4 */
  rate(B, 10, 45); /* exactly 4.5 */
  offer(A, 5, 100); /* 1 */
  CHECK_EQ(IMX_OK, stars_bid(C, IOC, 5, 100, 45, 0)); /* 2 */
  EXPECT_EVENTS(accepted(2, C, BID, IOC, 0, 5, 100),
                cancelled(2, C, BID, 5, BY_IOC));
  CHECK_EQ(IMX_OK, stars_bid(C, IOC, 1, 100, 44, 0)); /* 3 */
  EXPECT_EVENTS(accepted(3, C, BID, IOC, 0, 1, 100),
                trade(1, 3, 1, C, A, 1, 100, BID));
  offer(B, 5, 100); /* 4 */
  CHECK_EQ(IMX_OK, stars_bid(C, IOC, 5, 100, 45, 0)); /* 5 */
  EXPECT_EVENTS(accepted(5, C, BID, IOC, 0, 5, 100),
                trade(2, 5, 4, C, B, 5, 100, BID));
  CHECK_EQ(IMX_OK, stars_bid(C, IOC, 5, 100, 46, 0)); /* 6: nobody */
  EXPECT_EVENTS(accepted(6, C, BID, IOC, 0, 5, 100),
                cancelled(6, C, BID, 5, BY_IOC));
  finish();
}

static void test_fok_with_min_stars_counts_eligible_quantity_only(void) {
  setup();
  rate(A, 3, 3);  /* 1.0 */
  rate(B, 3, 15); /* 5.0 */
  offer(A, 5, 100); /* 1 */
  offer(B, 5, 100); /* 2 */
  CHECK_EQ(IMX_OK, stars_bid(C, FOK, 8, 100, 40, 0)); /* 3: 5 eligible < 8 */
  EXPECT_EVENTS(accepted(3, C, BID, FOK, 0, 8, 100),
                cancelled(3, C, BID, 8, BY_FOK));
  EXPECT_LEVELS(OFFER, {100, 10, 2});
  CHECK_EQ(IMX_OK, stars_bid(C, FOK, 5, 100, 40, 0)); /* 4 */
  EXPECT_EVENTS(accepted(4, C, BID, FOK, 0, 5, 100),
                trade(1, 4, 2, C, B, 5, 100, BID));
  EXPECT_QUEUE(OFFER, 1);
  finish();
}

static void test_reputation_change_does_not_match_until_an_order_arrives(void) {
  setup();
  offer(A, 5, 100); /* 1: A unrated */
  CHECK_EQ(IMX_OK, stars_bid(C, GTC, 5, 100, 40, 0)); /* 2: rests crossed */
  EXPECT_EVENTS(accepted(2, C, BID, GTC, 0, 5, 100));
  rate(A, 3, 15); /* now eligible: no event, nothing moves */
  EXPECT_LEVELS(BID, {100, 5, 1});
  EXPECT_LEVELS(OFFER, {100, 5, 1});
  CHECK_EQ(0, imx_engine_check(E));
  /* A modify that keeps priority does not match either; one that loses
  ** it walks the book again, like a new order. */
  CHECK_EQ(IMX_OK, modify(2, 4, 100));
  EXPECT_EVENTS(modified(2, C, BID, 4, 100, 1));
  CHECK_EQ(IMX_OK, modify(2, 6, 100));
  EXPECT_EVENTS(modified(2, C, BID, 6, 100, 0),
                trade(1, 2, 1, C, A, 5, 100, BID));
  imx_order_info info;
  CHECK_EQ(IMX_OK, imx_engine_order_get(E, 2, &info));
  CHECK_EQ(40, info.min_stars);
  CHECK_EQ(0, info.allow_unrated);
  CHECK_EQ(1, info.qty_open);
  finish();
}

static void test_min_stars_and_reputation_errors(void) {
  E = engine_create((imx_engine_config){.orders_max = 64, .services_max = 4,
                                        .reputations_max = 2}, &R);
  S = add_service(1, 1, 1, 0);
  static const struct { imx_side side; int min, allow; } bad[] = {
      {OFFER, 45, 0}, {OFFER, 0, 1}, {BID, 9, 0}, {BID, 51, 0},
      {BID, -10, 0}, {BID, 0, 1}, {BID, 45, 2}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    imx_order_new o = {.service = S, .cc = A, .side = bad[i].side, .tif = GTC,
                       .qty = 1, .price_minor = 100, .min_stars = bad[i].min,
                       .allow_unrated = bad[i].allow};
    mark();
    CHECK_EQ(IMX_E_BAD_STARS, imx_engine_order_new(E, &o, NULL));
    EXPECT_EVENTS(rejected(0, IMX_E_BAD_STARS));
  }
  CHECK_EQ(0u, imx_engine_open_orders(E));
  /* reputation_set: sums between 1 and 5 per rating, known services, a
  ** bounded table. */
  CHECK_EQ(IMX_E_BAD_CONFIG, imx_engine_reputation_set(E, A, S, 2, 1));
  CHECK_EQ(IMX_E_BAD_CONFIG, imx_engine_reputation_set(E, A, S, 2, 11));
  CHECK_EQ(IMX_E_BAD_CONFIG, imx_engine_reputation_set(E, A, S, 0, 1));
  CHECK_EQ(IMX_E_UNKNOWN_SERVICE, imx_engine_reputation_set(E, A, 9, 1, 1));
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, A, S, 0, 0));
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, B, S, 2, 10));
  CHECK_EQ(IMX_E_RATINGS_FULL, imx_engine_reputation_set(E, C, S, 1, 5));
  CHECK_EQ(IMX_OK, imx_engine_reputation_set(E, B, S, 3, 11)); /* replaces */
  uint32_t n;
  uint64_t sum;
  imx_engine_reputation(E, B, S, &n, &sum);
  CHECK_EQ(3u, n);
  CHECK_EQ(11u, sum);
  imx_engine_reputation(E, C, S, &n, &sum);
  CHECK_EQ(0u, n);
  CHECK_EQ(0u, sum);
  finish();
}

static void test_snapshot_keeps_reputations_and_min_stars(void) {
  setup();
  rate(A, 4, 18);
  CHECK_EQ(IMX_OK, stars_bid(C, GTC, 5, 100, 45, 1)); /* 1 */
  size_t n = imx_engine_snapshot_write(E, NULL, 0);
  unsigned char *buf = malloc(n);
  CHECK(buf != NULL);
  CHECK_EQ(n, imx_engine_snapshot_write(E, buf, n));
  imx_engine_destroy(E);
  E = create_engine(64, 4, &R);
  S = add_service(1, 1, 1, 0);
  const char *why = NULL;
  CHECK_EQ(IMX_OK, imx_engine_snapshot_read(E, buf, n, &why));
  free(buf);
  uint32_t ratings;
  uint64_t sum;
  imx_engine_reputation(E, A, S, &ratings, &sum);
  CHECK_EQ(4u, ratings);
  CHECK_EQ(18u, sum);
  imx_order_info info;
  CHECK_EQ(IMX_OK, imx_engine_order_get(E, 1, &info));
  CHECK_EQ(45, info.min_stars);
  CHECK_EQ(1, info.allow_unrated);
  offer(A, 5, 100); /* 4.5: eligible; 2 */
  EXPECT_EVENTS(accepted(2, A, OFFER, GTC, 0, 5, 100),
                trade(1, 1, 2, C, A, 5, 100, OFFER));
  finish();
}

/* A score tender's weights survive a snapshot, and the award after it
** scores with the reputations read back: C (5 stars at 95) beats the
** unrated B (at 60) at 30/70 -- 30x0.05 + 70 = 71.5 against 30x0.4 = 12. */
static void test_snapshot_keeps_a_score_tenders_weights(void) {
  setup();
  rate(C, 3, 15);
  imx_tender_new t = {S, A, 5, 100, 1000, IMX_DECIDE_SCORE, 30, 70};
  uint64_t tid = 0;
  CHECK_EQ(IMX_OK, imx_engine_tender_new(E, &t, &tid));
  uint64_t q1 = 0, q2 = 0;
  CHECK_EQ(IMX_OK, imx_engine_tender_quote(E, tid, B, 60, &q1));
  CHECK_EQ(IMX_OK, imx_engine_tender_quote(E, tid, C, 95, &q2));
  size_t n = imx_engine_snapshot_write(E, NULL, 0);
  unsigned char *buf = malloc(n);
  CHECK(buf != NULL);
  CHECK_EQ(n, imx_engine_snapshot_write(E, buf, n));
  imx_engine_destroy(E);
  E = create_engine(64, 4, &R);
  S = add_service(1, 1, 1, 0);
  const char *why = NULL;
  CHECK_EQ(IMX_OK, imx_engine_snapshot_read(E, buf, n, &why));
  free(buf);
  imx_tender_info ti;
  CHECK_EQ(IMX_OK, imx_engine_tender_get(E, tid, &ti));
  CHECK_EQ(IMX_DECIDE_SCORE, ti.decide);
  CHECK_EQ(30u, ti.price_weight);
  CHECK_EQ(70u, ti.quality_weight);
  imx_quote_info qi;
  CHECK_EQ(IMX_OK, imx_engine_quote_get(E, q2, &qi));
  CHECK_EQ(71500, qi.score);
  CHECK_EQ(IMX_OK, imx_engine_quote_get(E, q1, &qi));
  CHECK_EQ(12000, qi.score);
  mark();
  CHECK_EQ(IMX_OK, imx_engine_tender_award(E, tid));
  size_t m = R.mark;
  CHECK_EQ(3u, R.n - m); /* trade, tender_awarded, quote_released */
  CHECK(R.ev[m].type == IMX_EV_TRADE && R.ev[m].seller_cc == C && R.ev[m].price_minor == 95);
  CHECK(R.ev[m + 1].type == IMX_EV_TENDER_AWARDED && R.ev[m + 1].score == 71500);
  CHECK(R.ev[m + 2].type == IMX_EV_QUOTE_RELEASED && R.ev[m + 2].score == 12000);
  finish();
}

int main(int argc, char **argv) {
  static const check_case cases[] = {
      /* price and time */
      CHECK_CASE(test_better_priced_offer_trades_first),
      CHECK_CASE(test_better_priced_bid_trades_first),
      CHECK_CASE(test_same_price_trades_in_arrival_order),
      CHECK_CASE(test_incoming_bid_trades_at_resting_offer_price),
      CHECK_CASE(test_incoming_offer_trades_at_resting_bid_price),
      CHECK_CASE(test_orders_that_fill_completely_leave_the_book),
      CHECK_CASE(test_queries_from_the_event_callback_see_the_state_before_the_event),
      CHECK_CASE(test_orders_that_do_not_cross_both_rest),
      /* partial fills, levels */
      CHECK_CASE(test_partial_fill_across_levels_rests_remainder_at_limit),
      CHECK_CASE(test_levels_report_totals_best_first),
      CHECK_CASE(test_emptied_level_is_free_again),
      CHECK_CASE(test_deep_books_build_and_empty_in_random_order),
      CHECK_CASE(test_deep_books_on_a_tick_map_build_and_empty_in_random_order),
      CHECK_CASE(test_tick_map_edges_one_word_and_three_levels),
      CHECK_CASE(test_tick_map_boundaries_of_one_to_four_bitmap_levels),
      /* ioc, fok */
      CHECK_CASE(test_ioc_remainder_is_cancelled),
      CHECK_CASE(test_ioc_that_trades_nothing_is_cancelled_whole),
      CHECK_CASE(test_fok_that_cannot_fill_is_killed),
      CHECK_CASE(test_fok_that_can_fill_exactly_across_levels_trades),
      CHECK_CASE(test_fok_does_not_count_a_resting_aon_it_cannot_take_whole),
      /* aon */
      CHECK_CASE(test_resting_aon_is_skipped_by_smaller_order_which_trades_behind_it),
      CHECK_CASE(test_resting_aon_skipped_by_smaller_order_which_then_rests),
      CHECK_CASE(test_resting_aon_is_compared_with_remaining_not_original_qty),
      CHECK_CASE(test_resting_aon_is_filled_whole_by_big_enough_order),
      CHECK_CASE(test_resting_aon_is_never_matched_with_orders_already_resting),
      CHECK_CASE(test_incoming_aon_that_cannot_fill_rests_whole_without_trading),
      CHECK_CASE(test_incoming_aon_that_can_fill_trades_across_levels),
      CHECK_CASE(test_incoming_aon_takes_resting_aon_of_equal_qty),
      CHECK_CASE(test_aon_ioc_that_cannot_fill_is_cancelled_with_reason_ioc),
      CHECK_CASE(test_aon_ioc_that_can_fill_trades_whole),
      CHECK_CASE(test_aon_fok_that_cannot_fill_is_killed_with_reason_fok),
      CHECK_CASE(test_indivisible_service_rejects_non_aon),
      /* self-trade prevention */
      CHECK_CASE(test_self_trade_cancels_remainder_and_leaves_own_order_untouched),
      CHECK_CASE(test_self_trade_prevention_applies_to_incoming_offer),
      CHECK_CASE(test_ioc_stopped_by_self_trade_is_cancelled_with_reason_self_trade),
      CHECK_CASE(test_fok_blocked_by_own_order_is_killed),
      CHECK_CASE(test_fok_that_fills_before_reaching_own_order_trades),
      CHECK_CASE(test_resting_own_aon_that_would_be_skipped_does_not_trigger_stp),
      CHECK_CASE(test_resting_own_aon_that_could_be_taken_triggers_stp),
      CHECK_CASE(test_incoming_aon_blocked_by_own_order_rests_whole),
      /* cancel */
      CHECK_CASE(test_cancel_removes_open_order_with_reason_user),
      CHECK_CASE(test_cancel_of_unknown_id_is_rejected),
      CHECK_CASE(test_cancel_of_filled_order_is_rejected),
      CHECK_CASE(test_cancel_of_cancelled_order_is_rejected),
      CHECK_CASE(test_cancel_of_ioc_or_fok_order_is_rejected),
      /* modify */
      CHECK_CASE(test_modify_reducing_qty_keeps_priority),
      CHECK_CASE(test_modify_to_same_values_keeps_priority),
      CHECK_CASE(test_modify_increasing_qty_loses_priority),
      CHECK_CASE(test_modify_changing_price_loses_priority),
      CHECK_CASE(test_modify_reducing_qty_with_new_price_loses_priority),
      CHECK_CASE(test_modify_price_that_crosses_trades_at_resting_price),
      CHECK_CASE(test_modify_that_crosses_own_order_cancels_remainder_self_trade),
      CHECK_CASE(test_modify_with_invalid_values_is_rejected_and_changes_nothing),
      CHECK_CASE(test_modify_validation_precedence),
      CHECK_CASE(test_modify_to_new_level_on_full_side_is_rejected_levels_full),
      CHECK_CASE(test_modify_that_frees_its_old_level_may_take_a_new_one),
      CHECK_CASE(test_modify_of_order_that_is_not_open_is_rejected),
      CHECK_CASE(test_filled_plus_open_equals_original_after_modifies_and_fills),
      CHECK_CASE(test_modify_keeps_id_side_tif_aon_and_cost_centre),
      /* period end */
      CHECK_CASE(test_period_end_expires_only_period_orders_in_book_order),
      CHECK_CASE(test_period_end_expires_open_qty_of_partly_filled_order),
      CHECK_CASE(test_period_end_follows_priority_after_modify),
      CHECK_CASE(test_period_end_leaves_other_services_untouched),
      CHECK_CASE(test_period_end_of_unknown_service_is_rejected),
      /* validation */
      CHECK_CASE(test_each_invalid_field_is_rejected_with_its_code),
      CHECK_CASE(test_validation_precedence_from_unknown_service_to_bad_lot),
      CHECK_CASE(test_validation_precedence_aon_required_orders_full_levels_full),
      CHECK_CASE(test_levels_full_rejects_order_that_needs_a_new_level),
      CHECK_CASE(test_levels_full_on_a_tick_map),
      CHECK_CASE(test_levels_full_is_checked_before_matching_for_orders_that_could_rest),
      CHECK_CASE(test_orders_full_rejects_new_orders_until_one_leaves),
      CHECK_CASE(test_orders_full_rejects_even_an_order_that_would_fill),
      CHECK_CASE(test_orders_that_outlive_later_ids_stay_reachable),
      CHECK_CASE(test_rejected_commands_consume_no_order_id),
      CHECK_CASE(test_qty_and_price_at_their_maxima_are_accepted),
      /* services, engine */
      CHECK_CASE(test_service_add_rejects_bad_config),
      CHECK_CASE(test_services_full),
      CHECK_CASE(test_engine_create_rejects_bad_config),
      CHECK_CASE(test_order_and_trade_ids_are_sequential_per_engine_across_services),
      /* other */
      CHECK_CASE(test_fields_that_do_not_apply_are_zero),
      CHECK_CASE(test_queries_emit_no_events),
      CHECK_CASE(test_orders_of_a_cost_centre_lowest_ids_first),
      CHECK_CASE(test_orders_of_keeps_id_order_as_orders_leave_and_change),
      CHECK_CASE(test_orders_of_cost_centres_with_equal_low_bits),
      CHECK_CASE(test_orders_of_does_not_scan_the_pool),
      CHECK_CASE(test_memory_bytes_covers_what_the_engine_made_resident),
      CHECK_CASE(test_a_full_pool_holds_orders_max_orders_however_fragmented),
      CHECK_CASE(test_a_calls_filled_orders_are_closed_for_queries_at_its_next_trade),
      CHECK_CASE(test_auction_modify_moves_the_order_and_keeps_its_cost_centres_list),
      CHECK_CASE(test_a_call_keeps_the_lists_of_cost_centres_with_equal_low_bits),
      CHECK_CASE(test_same_commands_give_identical_event_streams),
      CHECK_CASE(test_status_and_enum_names_are_stable),
      /* quality: min_stars */
      CHECK_CASE(test_min_stars_skips_ineligible_offers_which_keep_their_place),
      CHECK_CASE(test_incoming_offer_skips_a_bid_whose_min_stars_it_misses),
      CHECK_CASE(test_unrated_providers_trade_only_with_allow_unrated),
      CHECK_CASE(test_ratings_min_is_the_engine_setting),
      CHECK_CASE(test_min_stars_boundary_is_exact),
      CHECK_CASE(test_fok_with_min_stars_counts_eligible_quantity_only),
      CHECK_CASE(test_reputation_change_does_not_match_until_an_order_arrives),
      CHECK_CASE(test_min_stars_and_reputation_errors),
      CHECK_CASE(test_snapshot_keeps_reputations_and_min_stars),
      CHECK_CASE(test_snapshot_keeps_a_score_tenders_weights),
  };
  return check_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
