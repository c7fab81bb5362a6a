/*
** bench_auction.c -- `imx-bench auction`: one call auction over a book of
** 10 k, 100 k and 1 M orders on one thread.
**
** For each size the book is generated into a preallocated array before any
** clock starts, then added to a fresh engine with one auction-mode service
** (timed: orders/s) and called (timed); the same book is built and called
** four times more, and the call reported is the median of the five (single
** calls spread widely on a shared machine: with three, the verdict on a
** target near the median flipped from run to run), with their spread. The
** walk, the baseline, runs on a build of the book of its own, so that no
** call follows it. The event callback only counts, so what is measured is the
** engine. The call is printed next to its targets (1 M orders under 15 ms,
** 100 k under 4 ms; issue 16) and beside a baseline from the same run, so
** that it reads as a ratio on a noisy machine:
**   walk  imx_engine_orders() copying every open order of both sides into a
**         preallocated array: one pass over the book, the least a call that
**         looks at every order can cost.
** The call is split by the clock read in the callback at the `auction`
** event, which the engine emits once the price is found (all-or-none passes
** included) and before any trade: price determination is the call's start
** to that event; allocation and events (pairing, fills, the trade events,
** retiring filled orders, then the cancels and clean-up) the rest. The
** number of price levels of each side is read before the call.
**
** The book: half bids, half offers (alternating); limit prices around a mid
** of 100,000 (tick 1), the sum of four uniform draws (a bell of +/- 5,000
** ticks), bids and offers about the same mid so that about half of each side
** crosses; ~2 % market orders, ~2 % aon, quantities 1..100, all gtc. Cost
** centres: 50,000 a side, bids odd and offers even, since an auction refuses
** a cost centre's order on the side opposite its own (self_trade).
**
** After the call, imx_engine_check() must return 0 (else exit 1); the trade
** events are summed and compared with the call's result, and what does not
** agree is printed, not failed on: figures never decide the exit status.
*/
#define _POSIX_C_SOURCE 200809L

#include "bench/bench.h"
#include "imx_engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define fail(...) bench_fail("auction", __VA_ARGS__)

#define SEED_DEFAULT 42u
#define SIZES_N 3u
#define ORDERS_SLACK 1024u    /* orders_max = N + this */
#define LEVELS_MAX 65536u     /* per side; the bell uses ~10,000 */
#define MID_TICKS 100000      /* 1,000.00 with a tick of one cent */
#define BELL_WIDTH_TICKS 2500 /* each of four draws; the bell is +/- 2x4/2 */
#define CC_PER_SIDE 50000u    /* bids 1,3,5,..; offers 2,4,6,.. */
#define MARKET_ONE_IN 50u     /* ~2 % market orders */
#define AON_ONE_IN 50u        /* ~2 % all-or-none */
#define QTY_MAX 100u

#define CALL_BOOKS 5u /* the same book built and called anew: medians */

#define TARGET_CALL_ORDERS 1000000u
#define TARGET_CALL_MS 15.0
#define TARGET_CALL_100K_ORDERS 100000u
#define TARGET_CALL_100K_MS 4.0

static const uint32_t sizes_default[SIZES_N] = {10000u, 100000u, 1000000u};

/* ---- options ------------------------------------------------------------- */

typedef struct auc_opts {
  uint64_t orders; /* 0: every size of sizes_default */
  uint64_t seed;
  int json;
} auc_opts;

static int parse_opts(int argc, char **argv, auc_opts *o) {
  int rc = BENCH_EXIT_OK;
  *o = (auc_opts){0, SEED_DEFAULT, 0};
  for (int i = 1; i < argc && rc == BENCH_EXIT_OK; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--json") == 0)
      o->json = 1;
    else if (strcmp(a, "--orders") == 0)
      rc = bench_opt_u64(argc, argv, &i, 2, IMX_ORDERS_MAX - ORDERS_SLACK,
                   &o->orders);
    else if (strcmp(a, "--seed") == 0)
      rc = bench_opt_u64(argc, argv, &i, 0, UINT64_MAX, &o->seed);
    else
      rc = bench_usage_error("auction: unknown option '%s'", a);
  }
  return rc;
}

static double ms(int64_t elapsed_ns) {
  return (double)elapsed_ns / 1e6;
}

/* ---- the book ------------------------------------------------------------ */

/* 24 bytes, so that 1 M orders stay a sequential read of 24 MB. */
typedef struct auc_order {
  uint32_t cc;
  uint8_t side;
  uint8_t aon;
  uint16_t pad;
  uint32_t qty;
  int64_t price_minor; /* IMX_PRICE_MARKET for a market order */
} auc_order;

_Static_assert(sizeof(auc_order) == 24, "auc_order is meant to be 24 bytes");

typedef struct auc_book {
  auc_order *orders;
  uint32_t n;
  uint32_t side_n[2], market_n[2], aon_n;
  int64_t qty[2]; /* total quantity per side */
} auc_book;

/* A bell around 0: the sum of four uniform draws, +/- 2 x BELL_WIDTH_TICKS,
** standard deviation BELL_WIDTH_TICKS / sqrt(3). */
static int64_t bell_ticks(bench_rng *rng) {
  int64_t sum = 0;
  for (int k = 0; k < 4; k++)
    sum += (int64_t)bench_rng_below(rng, BELL_WIDTH_TICKS);
  return sum - 2 * BELL_WIDTH_TICKS;
}

static void book_generate(auc_book *b, uint64_t seed) {
  bench_rng rng = {seed};
  for (uint32_t i = 0; i < b->n; i++) {
    imx_side side = (i & 1u) ? IMX_OFFER : IMX_BID;
    /* A cost centre only ever on one side: bids odd, offers even. */
    uint32_t cc = 2u * bench_rng_below(&rng, CC_PER_SIDE) + 1u + (uint32_t)side;
    int market = bench_rng_below(&rng, MARKET_ONE_IN) == 0;
    int aon = bench_rng_below(&rng, AON_ONE_IN) == 0;
    uint32_t qty = 1 + bench_rng_below(&rng, QTY_MAX);
    int64_t price = MID_TICKS + bell_ticks(&rng);
    b->orders[i] = (auc_order){cc,  (uint8_t)side, (uint8_t)aon, 0,
                               qty, market ? IMX_PRICE_MARKET : price};
    b->side_n[side]++;
    b->market_n[side] += market;
    b->aon_n += aon;
    b->qty[side] += qty;
  }
}

/* ---- the engine and its callback ----------------------------------------- */

/* The measured callback: counts, and sums the trades to compare them with
** the call's result. */
typedef struct auc_counts {
  uint64_t events[16];
  int64_t auction_at_ns; /* the clock at the auction event */
  int64_t trade_qty;
  int64_t trade_price_minor; /* of the first trade */
  uint64_t trades_off_price; /* trades not at the first trade's price */
  uint64_t cancels;
} auc_counts;

static void count_event(void *ctx, const imx_event *ev) {
  auc_counts *c = ctx;
  c->events[(unsigned)ev->type & 15u]++;
  if (ev->type == IMX_EV_AUCTION) c->auction_at_ns = bench_now_ns();
  if (ev->type != IMX_EV_TRADE) return;
  if (c->trade_qty == 0) c->trade_price_minor = ev->price_minor;
  c->trades_off_price += ev->price_minor != c->trade_price_minor;
  c->trade_qty += ev->qty;
}

/* One auction-mode service (id 0) of tick 1 and lot 1. */
static int engine_open(uint32_t orders_max, imx_event_fn fn, void *ctx,
                       imx_engine **out) {
  imx_engine_config cfg = {.orders_max = orders_max,
                           .services_max = 1,
                           .on_event = fn,
                           .ctx = ctx,
                           .positions_max = 2u * CC_PER_SIDE};
  imx_status st = imx_engine_create(&cfg, out);
  if (st != IMX_OK)
    return fail("imx_engine_create(orders_max %u): %s", orders_max,
                imx_status_name(st));
  imx_service_config sc = {.tick_minor = 1,
                           .lot = 1,
                           .divisible = 1,
                           .levels_max = LEVELS_MAX,
                           .mode = IMX_MODE_AUCTION};
  uint32_t id = UINT32_MAX;
  st = imx_engine_service_add(*out, &sc, &id);
  if (st != IMX_OK || id != 0) {
    imx_engine_destroy(*out);
    *out = NULL;
    return fail("imx_engine_service_add: %s, id %u", imx_status_name(st), id);
  }
  return BENCH_EXIT_OK;
}

/* ---- one size ------------------------------------------------------------ */

typedef struct auc_result {
  uint32_t n, orders_max;
  uint32_t side_n[2], market_n[2], aon_n;
  int64_t qty[2];
  uint64_t engine_bytes;
  double add_orders_per_s;
  int64_t walk_ns, call_ns;   /* the call: median of CALL_BOOKS books */
  int64_t price_ns, alloc_ns; /* the call split at the auction event, of
                              ** the book whose call is the median */
  int64_t call_min_ns, call_max_ns;
  uint32_t levels[2];         /* before the call */
  uint32_t walked;
  imx_auction_result call;
  uint64_t trades, cancels;
  int64_t trade_qty, trade_price_minor;
  uint64_t trades_off_price;
  uint32_t open_after;
  int check;
} auc_result;

static int add_all(imx_engine *e, const auc_book *b, auc_result *r) {
  uint64_t failed = 0;
  imx_status first = IMX_OK;
  uint32_t first_i = 0;
  int64_t t0_ns = bench_now_ns();
  for (uint32_t i = 0; i < b->n; i++) {
    const auc_order *a = &b->orders[i];
    imx_order_new o = {0,           a->cc, (imx_side)a->side, IMX_TIF_GTC,
                       a->aon,      (int64_t)a->qty,          a->price_minor, 0, 0};
    imx_status st = imx_engine_order_new(e, &o, NULL);
    if (st != IMX_OK && failed++ == 0) {
      first = st;
      first_i = i;
    }
  }
  r->add_orders_per_s = bench_per_s(b->n, bench_elapsed_since(t0_ns));
  if (failed)
    return fail("%u orders: %llu adds did not return ok, the first #%u: %s",
                b->n, (unsigned long long)failed, first_i,
                imx_status_name(first));
  if (imx_engine_open_orders(e) != b->n)
    return fail("%u orders added, the engine has %u open", b->n,
                imx_engine_open_orders(e));
  return BENCH_EXIT_OK;
}

/* The baseline: one pass over every open order, copied out in priority
** order. */
static void walk_book(const imx_engine *e, imx_order_info *info, uint32_t n,
                      auc_result *r) {
  int64_t t0_ns = bench_now_ns();
  uint32_t k = imx_engine_orders(e, 0, IMX_BID, info, n);
  k += imx_engine_orders(e, 0, IMX_OFFER, info + k, n - k);
  r->walk_ns = bench_elapsed_since(t0_ns);
  r->walked = k;
}

/* A single call spreads widely on a shared machine (caches, the
** neighbours): the same book is built and called CALL_BOOKS times in all,
** and the call reported is the median, its split that of the median call;
** the first call's events, result and check stand, the others must agree
** on price and volume. */
static int call_again(const auc_book *b, auc_result *r) {
  int64_t call[CALL_BOOKS], price[CALL_BOOKS];
  call[0] = r->call_ns;
  price[0] = r->price_ns;
  int rc = BENCH_EXIT_OK;
  for (uint32_t k = 1; k < CALL_BOOKS && rc == BENCH_EXIT_OK; k++) {
    auc_counts counts;
    memset(&counts, 0, sizeof counts);
    auc_result again = *r;
    imx_engine *e = NULL;
    rc = engine_open(r->orders_max, count_event, &counts, &e);
    if (rc != BENCH_EXIT_OK) return rc;
    rc = add_all(e, b, &again);
    if (rc == BENCH_EXIT_OK) {
      memset(&counts, 0, sizeof counts);
      imx_auction_result res;
      int64_t t0_ns = bench_now_ns();
      imx_status st = imx_engine_auction_run(e, 0, MID_TICKS, &res);
      call[k] = bench_elapsed_since(t0_ns);
      price[k] = counts.auction_at_ns - t0_ns;
      if (st != IMX_OK || res.price_minor != r->call.price_minor ||
          res.volume != r->call.volume)
        rc = fail("%u orders: a call again gave %s, price %lld, volume %lld",
                  b->n, imx_status_name(st), (long long)res.price_minor,
                  (long long)res.volume);
    }
    imx_engine_destroy(e);
  }
  if (rc != BENCH_EXIT_OK) return rc;
  uint32_t order[CALL_BOOKS];
  for (uint32_t k = 0; k < CALL_BOOKS; k++) order[k] = k;
  for (uint32_t i = 1; i < CALL_BOOKS; i++) /* by call time */
    for (uint32_t j = i; j > 0 && call[order[j - 1]] > call[order[j]]; j--) {
      uint32_t t = order[j];
      order[j] = order[j - 1];
      order[j - 1] = t;
    }
  uint32_t mid = order[CALL_BOOKS / 2];
  r->call_ns = call[mid];
  r->price_ns = price[mid];
  r->alloc_ns = call[mid] - price[mid];
  r->call_min_ns = call[order[0]];
  r->call_max_ns = call[order[CALL_BOOKS - 1]];
  return BENCH_EXIT_OK;
}

/* The baseline on a book of its own, so that no call follows a walk (which
** copies the whole book out and leaves the caches full of the copy). */
static int walk_apart(const auc_book *b, imx_order_info *info, auc_result *r) {
  auc_counts counts;
  memset(&counts, 0, sizeof counts);
  auc_result again = *r;
  imx_engine *e = NULL;
  int rc = engine_open(r->orders_max, count_event, &counts, &e);
  if (rc != BENCH_EXIT_OK) return rc;
  rc = add_all(e, b, &again);
  if (rc == BENCH_EXIT_OK) {
    walk_book(e, info, b->n, r);
    if (r->walked != b->n)
      rc = fail("%u orders: the walk copied %u", b->n, r->walked);
  }
  imx_engine_destroy(e);
  return rc;
}

static int run_size(const auc_opts *o, uint32_t n, auc_order *orders,
                    imx_order_info *info, imx_level_info *levels,
                    auc_result *r) {
  auc_book b = {orders, n, {0, 0}, {0, 0}, 0, {0, 0}};
  book_generate(&b, o->seed);
  r->n = n;
  r->orders_max = n + ORDERS_SLACK;
  memcpy(r->side_n, b.side_n, sizeof r->side_n);
  memcpy(r->market_n, b.market_n, sizeof r->market_n);
  r->aon_n = b.aon_n;
  memcpy(r->qty, b.qty, sizeof r->qty);
  /* Fault every page of the copy-out array in now, not in the walk. */
  memset(info, 0, (size_t)n * sizeof *info);

  auc_counts counts;
  memset(&counts, 0, sizeof counts);
  imx_engine *e = NULL;
  int rc = engine_open(r->orders_max, count_event, &counts, &e);
  if (rc != BENCH_EXIT_OK) return rc;
  rc = add_all(e, &b, r);
  if (rc == BENCH_EXIT_OK) {
    for (int side = IMX_BID; side <= IMX_OFFER; side++)
      r->levels[side] = imx_engine_levels(e, 0, (imx_side)side, levels,
                                          LEVELS_MAX + 1);
    memset(&counts, 0, sizeof counts); /* the call's events only */
    int64_t t0_ns = bench_now_ns();
    imx_status st = imx_engine_auction_run(e, 0, MID_TICKS, &r->call);
    r->call_ns = bench_elapsed_since(t0_ns);
    r->price_ns = counts.auction_at_ns - t0_ns;
    r->alloc_ns = r->call_ns - r->price_ns;
    if (st != IMX_OK)
      rc = fail("%u orders: imx_engine_auction_run: %s", n,
                imx_status_name(st));
  }
  if (rc == BENCH_EXIT_OK) {
    r->trades = counts.events[IMX_EV_TRADE];
    r->cancels = counts.events[IMX_EV_CANCELLED];
    r->trade_qty = counts.trade_qty;
    r->trade_price_minor = counts.trade_price_minor;
    r->trades_off_price = counts.trades_off_price;
    r->open_after = imx_engine_open_orders(e);
    r->engine_bytes = imx_engine_memory_bytes(e);
    r->check = imx_engine_check(e);
    if (r->check != 0)
      rc = fail("%u orders: imx_engine_check failed check %d after the call "
                "(price %lld, volume %lld, %llu trades)",
                n, r->check, (long long)r->call.price_minor,
                (long long)r->call.volume, (unsigned long long)r->trades);
  }
  imx_engine_destroy(e);
  if (rc == BENCH_EXIT_OK) rc = call_again(&b, r);
  if (rc == BENCH_EXIT_OK) rc = walk_apart(&b, info, r);
  return rc;
}

/* ---- the report ---------------------------------------------------------- */

/* JSON keys are flat: every figure of a size is prefixed book_N_. */
static const char *key(char *buf, size_t len, const auc_result *r,
                       const char *name) {
  snprintf(buf, len, "book_%u_%s", r->n, name);
  return buf;
}

static void print_header(bench_out *out, const auc_opts *o, uint32_t sizes_n) {
  bench_out_section(out, "book, generated before timing");
  bench_out_u64(out, "seed", "seed", o->seed, NULL, NULL);
  bench_out_u64(out, "sizes", "book sizes", sizes_n, NULL,
                o->orders ? "--orders" : "10 k, 100 k, 1 M");
  bench_out_remark(out, "one auction service, tick 1, lot 1, levels_max 65,536;"
                        " all gtc, qty 1..100");
  bench_out_remark(out, "half bids, half offers; limits a bell of +/- 5,000 "
                        "ticks around 100,000,");
  bench_out_remark(out, "the same mid for both sides, so that about half of "
                        "each side crosses;");
  bench_out_remark(out, "~2 % market orders, ~2 % aon; 50,000 cost centres a "
                        "side, none on both");
  bench_out_remark(out, "call: one imx_engine_auction_run, reference 100,000; "
                        "walk: imx_engine_orders()");
  bench_out_remark(out, "copying every open order of both sides out once "
                        "(the baseline)");
  bench_out_remark(out, "split: price determination = the call's start to "
                        "its auction event (the clock");
  bench_out_remark(out, "read in the callback), allocation and events = the "
                        "rest of the call");
  bench_out_remark(out, "targets: 1,000,000 orders < 15 ms, 100,000 < 4 ms; "
                        "the figures never fail the run");
}

static void print_book(bench_out *out, const auc_result *r) {
  char k[64], note[96], a[32], b[32];
  snprintf(note, sizeof note, "%s bids, %s offers",
           bench_grouped(a, sizeof a, (int64_t)r->side_n[IMX_BID]),
           bench_grouped(b, sizeof b, (int64_t)r->side_n[IMX_OFFER]));
  bench_out_u64(out, key(k, sizeof k, r, "orders"), "orders in the book", r->n,
                NULL, note);
  snprintf(note, sizeof note, "%s bids, %s offers",
           bench_grouped(a, sizeof a, (int64_t)r->market_n[IMX_BID]),
           bench_grouped(b, sizeof b, (int64_t)r->market_n[IMX_OFFER]));
  bench_out_u64(out, key(k, sizeof k, r, "orders_market"), "  market orders",
                (uint64_t)r->market_n[IMX_BID] + r->market_n[IMX_OFFER], NULL,
                note);
  bench_out_u64(out, key(k, sizeof k, r, "orders_aon"), "  aon orders",
                r->aon_n, NULL, NULL);
  snprintf(note, sizeof note, "bids %s, offers %s",
           bench_grouped(a, sizeof a, (int64_t)r->qty[IMX_BID]),
           bench_grouped(b, sizeof b, (int64_t)r->qty[IMX_OFFER]));
  bench_out_i64(out, key(k, sizeof k, r, "qty"), "  quantity",
                r->qty[IMX_BID] + r->qty[IMX_OFFER], "units", note);
  bench_out_bytes(out, key(k, sizeof k, r, "engine_bytes"),
                  "  imx_engine_memory_bytes()", r->engine_bytes, NULL);
  bench_out_f64(out, key(k, sizeof k, r, "add_orders_per_s"), "adds",
                r->add_orders_per_s, 0, "orders/s", "fresh engine, untimed per order");
  bench_out_f64(out, key(k, sizeof k, r, "add_ns_per_order"),
                "adds, per order", 1e9 / r->add_orders_per_s, 1, "ns", NULL);
}

static void print_call(bench_out *out, const auc_result *r) {
  char k[64], note[96], a[32], b[32];
  snprintf(note, sizeof note, "%s bid levels, %s offer levels",
           bench_grouped(a, sizeof a, (int64_t)r->levels[IMX_BID]),
           bench_grouped(b, sizeof b, (int64_t)r->levels[IMX_OFFER]));
  bench_out_u64(out, key(k, sizeof k, r, "levels"), "price levels",
                (uint64_t)r->levels[IMX_BID] + r->levels[IMX_OFFER], NULL,
                note);
  bench_out_f64(out, key(k, sizeof k, r, "walk_ms"),
                "walk: one pass over the book", ms(r->walk_ns), 3, "ms",
                "imx_engine_orders(), both sides");
  bench_out_f64(out, key(k, sizeof k, r, "walk_orders_per_s"), "walk",
                bench_per_s(r->walked, r->walk_ns), 0, "orders/s", NULL);
  const char *target = NULL;
  double target_ms = 0;
  if (r->n == TARGET_CALL_ORDERS) target_ms = TARGET_CALL_MS;
  if (r->n == TARGET_CALL_100K_ORDERS) target_ms = TARGET_CALL_100K_MS;
  if (target_ms > 0) {
    snprintf(note, sizeof note, "target: under %.0f ms: %s", target_ms,
             bench_met(ms(r->call_ns) < target_ms));
    target = note;
  }
  bench_out_f64(out, key(k, sizeof k, r, "call_ms"), "call", ms(r->call_ns), 3,
                "ms", target);
  snprintf(note, sizeof note, "the median of %u books; they spread %.3f to %.3f ms",
           CALL_BOOKS, ms(r->call_min_ns), ms(r->call_max_ns));
  bench_out_remark(out, note);
  bench_out_f64(out, key(k, sizeof k, r, "call_ms_min"), NULL, ms(r->call_min_ns),
                3, NULL, NULL);
  bench_out_f64(out, key(k, sizeof k, r, "call_ms_max"), NULL, ms(r->call_max_ns),
                3, NULL, NULL);
  if (target)
    bench_out_f64(out, key(k, sizeof k, r, "call_ms_target"), NULL,
                  target_ms, 0, NULL, NULL);
  bench_out_f64(out, key(k, sizeof k, r, "call_price_ms"),
                "  price determination", ms(r->price_ns), 3, "ms",
                "to the auction event: levels, all-or-none passes");
  bench_out_f64(out, key(k, sizeof k, r, "call_alloc_ms"),
                "  allocation and events", ms(r->alloc_ns), 3, "ms",
                "trades, fills, events, clean-up");
  snprintf(note, sizeof note, "over %s trades",
           bench_grouped(a, sizeof a, (int64_t)r->trades));
  bench_out_f64(out, key(k, sizeof k, r, "call_alloc_ns_per_trade"),
                "  allocation and events, per trade",
                r->trades ? (double)r->alloc_ns / (double)r->trades : 0.0, 1,
                "ns", note);
  bench_out_f64(out, key(k, sizeof k, r, "call_orders_per_s"),
                "call, orders in the book per second", bench_per_s(r->n, r->call_ns),
                0, "orders/s", NULL);
  bench_out_f64(out, key(k, sizeof k, r, "call_to_walk_ratio"),
                "call / one pass over the book",
                (double)r->call_ns / (double)r->walk_ns, 2, "x", NULL);
}

static void print_outcome(bench_out *out, const auc_result *r) {
  char k[64], note[96];
  const imx_auction_result *c = &r->call;
  bench_out_i64(out, key(k, sizeof k, r, "price_minor"), "clearing price",
                c->price_minor, "minor",
                c->price_minor ? NULL : "NO PRICE on a crossing book");
  snprintf(note, sizeof note, "%.1f %% of the bids, %.1f %% of the offers",
           r->qty[IMX_BID] ? 100.0 * (double)c->volume / (double)r->qty[IMX_BID]
                           : 0.0,
           r->qty[IMX_OFFER]
               ? 100.0 * (double)c->volume / (double)r->qty[IMX_OFFER]
               : 0.0);
  bench_out_i64(out, key(k, sizeof k, r, "volume"), "volume", c->volume,
                "units", c->volume ? note : "VOLUME 0 on a crossing book");
  bench_out_i64(out, key(k, sizeof k, r, "surplus"), "surplus", c->surplus,
                "units", NULL);
  bench_out_str(out, key(k, sizeof k, r, "surplus_side"), "surplus side",
                imx_side_name(c->surplus_side), NULL);
  bench_out_u64(out, key(k, sizeof k, r, "trades"), "trades", r->trades, NULL,
                NULL);
  int agree = r->trade_qty == c->volume && r->trades_off_price == 0 &&
              (r->trades == 0 || r->trade_price_minor == c->price_minor);
  if (agree)
    snprintf(note, sizeof note, "= volume, all at the price");
  else
    snprintf(note, sizeof note,
             "DISAGREE: %llu trades off the price, the first at %lld",
             (unsigned long long)r->trades_off_price,
             (long long)r->trade_price_minor);
  bench_out_i64(out, key(k, sizeof k, r, "trade_qty"), "sum of trade qty",
                r->trade_qty, "units", note);
  bench_out_u64(out, key(k, sizeof k, r, "cancels"), "cancelled by the call",
                r->cancels, NULL, "none expected: all gtc");
  bench_out_u64(out, key(k, sizeof k, r, "orders_open_after"),
                "open orders after the call", r->open_after, NULL, NULL);
  bench_out_i64(out, key(k, sizeof k, r, "check"),
                "imx_engine_check() after the call", r->check, NULL,
                "0: every invariant holds");
}

static void print_all(const auc_opts *o, const auc_result *r, uint32_t n) {
  char title[96], num[32];
  bench_out out;
  bench_out_begin(&out, o->json, "auction");
  print_header(&out, o, n);
  for (uint32_t i = 0; i < n; i++) {
    snprintf(title, sizeof title, "call over %s orders, one thread",
             bench_grouped(num, sizeof num, (int64_t)r[i].n));
    bench_out_section(&out, title);
    print_book(&out, &r[i]);
    print_call(&out, &r[i]);
    print_outcome(&out, &r[i]);
  }
  bench_out_end(&out);
}

int bench_auction_main(int argc, char **argv) {
  auc_opts o;
  int rc = parse_opts(argc, argv, &o);
  if (rc != BENCH_EXIT_OK) return rc;
  uint32_t sizes[SIZES_N], sizes_n = 0, n_max = 0;
  if (o.orders) {
    sizes[sizes_n++] = (uint32_t)o.orders;
  } else {
    for (uint32_t i = 0; i < SIZES_N; i++) sizes[sizes_n++] = sizes_default[i];
  }
  for (uint32_t i = 0; i < sizes_n; i++)
    if (sizes[i] > n_max) n_max = sizes[i];
  auc_order *orders = malloc((size_t)n_max * sizeof *orders);
  imx_order_info *info = malloc((size_t)n_max * sizeof *info);
  imx_level_info *levels = malloc((LEVELS_MAX + 1) * sizeof *levels);
  auc_result results[SIZES_N];
  memset(results, 0, sizeof results);
  if (orders == NULL || info == NULL || levels == NULL)
    rc = fail("out of memory for %u orders", n_max);
  for (uint32_t i = 0; i < sizes_n && rc == BENCH_EXIT_OK; i++)
    rc = run_size(&o, sizes[i], orders, info, levels, &results[i]);
  free(orders);
  free(info);
  free(levels);
  if (rc == BENCH_EXIT_OK) print_all(&o, results, sizes_n);
  return rc;
}
