/*
** bench_engine.c -- `imx-bench engine`: throughput, latency and memory of the
** continuous matching engine on one thread.
**
** Every workload is generated into a preallocated array of commands before
** any clock starts, then replayed; the event callback only counts, so what
** is measured is the engine. Figures are printed next to their targets
** (docs: >= 5 M operations/s; 1 M resting orders in < 256 MiB) and beside
** baselines from the same run, so that they read as ratios on a noisy
** machine:
**   floor  the same replay loop over the same commands calling an empty
**          function: what the harness itself costs;
**   ref    tests/refmodel.c (sorted arrays) on the first 200,000 commands.
**
** mixed  Over K services: ~55 % limit adds near a slowly drifting mid,
**        ~35 % cancels, ~10 % crossing orders. Cancels name orders that are
**        open at that point: the generator runs the stream through a
**        separate engine (the pre-pass) and mirrors every open quantity from
**        the events, so a cancel picks uniformly among the open orders. The
**        timed run reports how many cancels did hit an open order. A cancel
**        drawn while the book is below its depth (1,000 orders a service)
**        becomes an add, which holds the book steady (see mix_next).
** cross  The classic insert-only order-book benchmark: one service,
**        alternating bids 1880..1889 and offers 1884..1893, quantities
**        100..1000 in steps of 100, crossing orders match.
** deep   What a price level costs as the book deepens. One service per
**        depth D (about 1,000, 10,000 and 100,000 levels a side, and a
**        SHALLOW book of about 8, the baseline in the same run): limit
**        prices uniform over 2 D ticks behind a fixed mid on each side,
**        so most orders open or empty a level; the steady stream is ~45 %
**        adds and ~45 % cancels (holding 1.4 D open orders a side, which
**        cover about D levels) and ~10 % ioc
**        orders at the opposite best price (which the pre-pass knows), so
**        that they trade at every depth. The book is filled first
**        (untimed, worst price first); the steady stream is timed, N
**        operations per depth (default 200,000), the same mix at every
**        depth, so ns/op against the shallow book reads as the cost of
**        depth. Each depth's commands run twice, on fresh engines: without
**        a price cap (the sides are red-black trees of levels) and capped
**        just above the highest price (tick maps); both must trade the
**        same.
*/
#define _POSIX_C_SOURCE 200809L

#include "bench/bench.h"
#include "imx_engine.h"
#include "refmodel.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define fail(...) bench_fail("engine", __VA_ARGS__)

#define OPS_DEFAULT_MIXED 5000000u
#define OPS_DEFAULT_CROSS 10000000u
#define SERVICES_DEFAULT 8u
#define SEED_DEFAULT 42u
#define REF_OPS_MAX 200000u   /* the reference model is O(n) per insert */
#define CC_COUNT 100000u      /* many cost centres: self-trade is rare */
#define MID_START_TICKS 10000 /* 100.00 with a tick of one cent */
#define LATENCY_OVERHEAD_SAMPLES 1000000u
#define MIX_DEPTH_PER_SERVICE 1000u /* resting orders the mixed book keeps */

#define MEM_ORDERS 1000000u
#define MEM_LEVELS_MAX 65536u   /* per side and service */
#define MEM_LEVELS_SPREAD 2000u /* levels used per side and service */

#define DEEP_OPS_DEFAULT 200000u

#define TARGET_OPS_PER_S 5000000.0
#define TARGET_MEM_BYTES (256ull << 20)

/* ---- options ------------------------------------------------------------- */

typedef enum workload { WORKLOAD_MIXED, WORKLOAD_CROSS, WORKLOAD_DEEP } workload;

typedef struct eng_opts {
  workload wl;
  uint64_t ops;
  uint64_t seed;
  uint32_t services;
  int json;
} eng_opts;

static int opt_workload(int argc, char **argv, int *i, workload *out) {
  if (*i + 1 >= argc) return bench_usage_error("--workload needs a value");
  const char *v = argv[++*i];
  if (strcmp(v, "mixed") == 0)
    *out = WORKLOAD_MIXED;
  else if (strcmp(v, "cross") == 0)
    *out = WORKLOAD_CROSS;
  else if (strcmp(v, "deep") == 0)
    *out = WORKLOAD_DEEP;
  else
    return bench_usage_error("--workload: '%s' is not mixed, cross or deep", v);
  return BENCH_EXIT_OK;
}

static int parse_opts(int argc, char **argv, eng_opts *o) {
  uint64_t ops = 0, services = 0;
  int rc = BENCH_EXIT_OK;
  *o = (eng_opts){WORKLOAD_MIXED, 0, SEED_DEFAULT, SERVICES_DEFAULT, 0};
  for (int i = 1; i < argc && rc == BENCH_EXIT_OK; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--json") == 0)
      o->json = 1;
    else if (strcmp(a, "--workload") == 0)
      rc = opt_workload(argc, argv, &i, &o->wl);
    else if (strcmp(a, "--ops") == 0)
      rc = bench_opt_u64(argc, argv, &i, 1, IMX_ORDERS_MAX, &ops);
    else if (strcmp(a, "--seed") == 0)
      rc = bench_opt_u64(argc, argv, &i, 0, UINT64_MAX, &o->seed);
    else if (strcmp(a, "--services") == 0)
      rc = bench_opt_u64(argc, argv, &i, 1, IMX_SERVICES_MAX, &services);
    else
      rc = bench_usage_error("engine: unknown option '%s'", a);
  }
  if (rc != BENCH_EXIT_OK) return rc;
  if (services != 0 && o->wl != WORKLOAD_MIXED)
    return bench_usage_error("--services applies to --workload mixed only");
  if (services != 0) o->services = (uint32_t)services;
  if (o->wl != WORKLOAD_MIXED) o->services = 1;
  o->ops = ops                        ? ops
           : o->wl == WORKLOAD_MIXED ? OPS_DEFAULT_MIXED
           : o->wl == WORKLOAD_CROSS ? OPS_DEFAULT_CROSS
                                     : DEEP_OPS_DEFAULT;
  return BENCH_EXIT_OK;
}

/* ---- commands and targets ------------------------------------------------ */

enum { OP_NEW = 0, OP_CANCEL = 1 };

/* 24 bytes, so that 10 M commands stay a sequential read of 240 MB. */
typedef struct eng_op {
  uint8_t kind;
  uint8_t side;
  uint8_t tif;
  uint8_t pad;
  uint32_t service;
  uint32_t cc;
  uint32_t qty;
  uint64_t arg; /* OP_NEW: price_minor; OP_CANCEL: order id */
} eng_op;

_Static_assert(sizeof(eng_op) == 24, "eng_op is meant to be 24 bytes");

typedef imx_status (*new_fn)(void *self, const imx_order_new *o,
                             uint64_t *id_out);
typedef imx_status (*cancel_fn)(void *self, uint64_t order_id);

/* What a replay drives: the engine, the reference model or nothing. All go
** through the same indirect call so that the floor costs what the harness
** costs and no less. */
typedef struct eng_target {
  void *self;
  new_fn order_new;
  cancel_fn order_cancel;
} eng_target;

static imx_status engine_new(void *self, const imx_order_new *o,
                             uint64_t *id_out) {
  return imx_engine_order_new(self, o, id_out);
}
static imx_status engine_cancel(void *self, uint64_t id) {
  return imx_engine_order_cancel(self, id);
}
static imx_status model_new(void *self, const imx_order_new *o,
                            uint64_t *id_out) {
  return ref_order_new(self, o, id_out);
}
static imx_status model_cancel(void *self, uint64_t id) {
  return ref_order_cancel(self, id);
}
static imx_status floor_new(void *self, const imx_order_new *o,
                            uint64_t *id_out) {
  return IMX_OK;
}
static imx_status floor_cancel(void *self, uint64_t id) {
  return IMX_OK;
}

/* A copy read through volatile: the compiler cannot see which functions a
** replay calls, so it cannot inline the floor's empty ones away. */
static eng_target target_opaque(const eng_target *t) {
  const volatile eng_target *v = t;
  eng_target copy = {v->self, v->order_new, v->order_cancel};
  return copy;
}

static inline imx_status replay_one(const eng_target *t, const eng_op *op) {
  if (op->kind == OP_CANCEL) return t->order_cancel(t->self, op->arg);
  imx_order_new o = {op->service,      op->cc, (imx_side)op->side,
                     (imx_tif)op->tif, 0,      (int64_t)op->qty,
                     (int64_t)op->arg, 0, 0};
  return t->order_new(t->self, &o, NULL);
}

/* Replays ops untimed per op; returns the elapsed ns, counts the commands
** that did not return IMX_OK by kind. */
static int64_t replay(const eng_target *target, const eng_op *ops, size_t n,
                      uint64_t failed[2]) {
  eng_target t = target_opaque(target);
  uint64_t bad[2] = {0, 0};
  int64_t t0_ns = bench_now_ns();
  for (size_t i = 0; i < n; i++)
    bad[ops[i].kind] += replay_one(&t, &ops[i]) != IMX_OK;
  int64_t elapsed_ns = bench_now_ns() - t0_ns;
  failed[0] = bad[0];
  failed[1] = bad[1];
  return elapsed_ns > 0 ? elapsed_ns : 1;
}

/* The same replay with each command timed on its own. */
static void replay_timed(const eng_target *target, const eng_op *ops, size_t n,
                         uint32_t *latency_ns, uint64_t failed[2]) {
  eng_target t = target_opaque(target);
  uint64_t bad[2] = {0, 0};
  for (size_t i = 0; i < n; i++) {
    int64_t t0_ns = bench_now_ns();
    imx_status st = replay_one(&t, &ops[i]);
    int64_t d_ns = bench_now_ns() - t0_ns;
    latency_ns[i] = d_ns < (int64_t)UINT32_MAX ? (uint32_t)d_ns : UINT32_MAX;
    bad[ops[i].kind] += st != IMX_OK;
  }
  failed[0] = bad[0];
  failed[1] = bad[1];
}

/* ---- engines and their callbacks ----------------------------------------- */

/* The measured callback: one increment per event. */
typedef struct eng_counts {
  uint64_t events[8];
} eng_counts;

static void count_event(void *ctx, const imx_event *ev) {
  eng_counts *c = ctx;
  c->events[(unsigned)ev->type & 7u]++;
}

/* An engine with `services` books of tick 1 and lot 1; service ids must be
** 0..services-1, which the commands are generated with. */
/* price_cap_minor 0: no cap (the engine's IMX_PRICE_MAX_MINOR). */
static int engine_open(uint32_t orders_max, uint32_t services,
                       uint32_t levels_max, int64_t price_cap_minor,
                       imx_event_fn fn, void *ctx, imx_engine **out) {
  imx_engine_config cfg = {.orders_max = orders_max, .services_max = services, .on_event = fn, .ctx = ctx};
  imx_status st = imx_engine_create(&cfg, out);
  if (st != IMX_OK)
    return fail("imx_engine_create(orders_max %u): %s", orders_max,
                imx_status_name(st));
  for (uint32_t s = 0; s < services; s++) {
    imx_service_config sc = {.tick_minor = 1, .lot = 1, .divisible = 1, .levels_max = levels_max,
                             .price_cap_minor = price_cap_minor};
    uint32_t id = UINT32_MAX;
    st = imx_engine_service_add(*out, &sc, &id);
    if (st != IMX_OK || id != s) {
      imx_engine_destroy(*out);
      *out = NULL;
      return fail("imx_engine_service_add #%u: %s, id %u", s,
                  imx_status_name(st), id);
    }
  }
  return BENCH_EXIT_OK;
}

static int model_open(uint32_t services, imx_event_fn fn, void *ctx,
                      ref_model **out) {
  *out = ref_create(fn, ctx);
  if (*out == NULL) return fail("ref_create: out of memory");
  for (uint32_t s = 0; s < services; s++) {
    imx_service_config sc = {.tick_minor = 1, .lot = 1, .divisible = 1, .levels_max = 0};
    uint32_t id = UINT32_MAX;
    imx_status st = ref_service_add(*out, &sc, &id);
    if (st != IMX_OK || id != s) {
      ref_destroy(*out);
      *out = NULL;
      return fail("ref_service_add #%u: %s, id %u", s, imx_status_name(st), id);
    }
  }
  return BENCH_EXIT_OK;
}

/* ---- mixed: the generator and its pre-pass ------------------------------- */

#define LIVE_NONE UINT32_MAX

/* The generator's mirror of the pre-pass engine: which orders are open, so
** that a cancel can pick one. Arrays are indexed by order id, which the
** engine assigns from 1 and never above the number of adds. */
typedef struct mix_gen {
  bench_rng rng;
  imx_engine *e;
  uint32_t services;
  int64_t *mid_ticks; /* per service: drifts one tick now and then */
  int32_t *qty_open;  /* by id; qty <= 100 here, so int32 is plenty */
  uint32_t *live_pos; /* by id: index in live_ids, or LIVE_NONE */
  uint32_t *live_ids; /* the open orders, in no order */
  uint32_t live_n, live_peak;
  uint64_t ids_max; /* ids < ids_max fit the arrays */
  uint64_t adds, cancels, crosses, trades, rejects, bad_ids;
  uint64_t cancels_self_trade, cancels_ioc;
} mix_gen;

static void live_add(mix_gen *g, uint64_t id) {
  assert(g->live_pos[id] == LIVE_NONE);
  g->live_pos[id] = g->live_n;
  g->live_ids[g->live_n++] = (uint32_t)id;
  if (g->live_n > g->live_peak) g->live_peak = g->live_n;
}

static void live_remove(mix_gen *g, uint64_t id) {
  uint32_t pos = g->live_pos[id];
  if (pos == LIVE_NONE) return; /* an incoming order that never rested */
  uint32_t last = g->live_ids[--g->live_n];
  g->live_ids[pos] = last;
  g->live_pos[last] = pos;
  g->live_pos[id] = LIVE_NONE;
}

static void mix_on_trade(mix_gen *g, const imx_event *ev) {
  g->trades++;
  if (ev->buy_order_id >= g->ids_max || ev->sell_order_id >= g->ids_max) {
    g->bad_ids++;
    return;
  }
  g->qty_open[ev->buy_order_id] -= (int32_t)ev->qty;
  g->qty_open[ev->sell_order_id] -= (int32_t)ev->qty;
  uint64_t resting =
      ev->aggressor == IMX_BID ? ev->sell_order_id : ev->buy_order_id;
  if (g->qty_open[resting] <= 0) live_remove(g, resting);
}

/* The pre-pass callback: mirrors every open quantity. */
static void mix_observe(void *ctx, const imx_event *ev) {
  mix_gen *g = ctx;
  if (ev->type == IMX_EV_TRADE) {
    mix_on_trade(g, ev);
    return;
  }
  if (ev->type == IMX_EV_REJECTED) g->rejects++;
  if (ev->type != IMX_EV_ACCEPTED && ev->type != IMX_EV_CANCELLED) return;
  if (ev->order_id >= g->ids_max) {
    g->bad_ids++;
    return;
  }
  if (ev->type == IMX_EV_ACCEPTED) {
    g->qty_open[ev->order_id] = (int32_t)ev->qty;
    return;
  }
  g->cancels_self_trade += ev->reason == IMX_CANCEL_SELF_TRADE;
  g->cancels_ioc += ev->reason == IMX_CANCEL_IOC;
  g->qty_open[ev->order_id] = 0;
  live_remove(g, ev->order_id);
}

static uint32_t min_u32(uint32_t a, uint32_t b) {
  return a < b ? a : b;
}

static void mix_order(mix_gen *g, eng_op *op, uint32_t s, imx_side side,
                      int64_t price_ticks, imx_tif tif, uint32_t qty) {
  *op = (eng_op){OP_NEW,
                 (uint8_t)side,
                 (uint8_t)tif,
                 0,
                 s,
                 1 + bench_rng_below(&g->rng, CC_COUNT),
                 qty,
                 (uint64_t)(price_ticks > 1 ? price_ticks : 1)};
}

/* A limit add near the touch: most rest one to eight ticks behind the mid,
** skewed towards it; one in sixteen is at or through the mid and may trade. */
static void mix_limit_add(mix_gen *g, eng_op *op, uint32_t s) {
  imx_side side = (imx_side)bench_rng_below(&g->rng, 2);
  int64_t behind_ticks;
  if (bench_rng_below(&g->rng, 16) == 0)
    behind_ticks = -(int64_t)bench_rng_below(&g->rng, 3);
  else
    behind_ticks =
        1 + min_u32(bench_rng_below(&g->rng, 8), bench_rng_below(&g->rng, 8));
  int64_t mid = g->mid_ticks[s];
  int64_t price = side == IMX_BID ? mid - behind_ticks : mid + behind_ticks;
  imx_tif tif = bench_rng_below(&g->rng, 10) == 0 ? IMX_TIF_IOC : IMX_TIF_GTC;
  mix_order(g, op, s, side, price, tif, 1 + bench_rng_below(&g->rng, 100));
  g->adds++;
}

/* A marketable order 3..8 ticks through the mid that takes liquidity, mostly
** ioc; a gtc one rests its remainder as the new touch. */
static void mix_cross_order(mix_gen *g, eng_op *op, uint32_t s) {
  imx_side side = (imx_side)bench_rng_below(&g->rng, 2);
  int64_t through_ticks = 3 + (int64_t)bench_rng_below(&g->rng, 6);
  int64_t mid = g->mid_ticks[s];
  int64_t price = side == IMX_BID ? mid + through_ticks : mid - through_ticks;
  imx_tif tif = bench_rng_below(&g->rng, 10) < 7 ? IMX_TIF_IOC : IMX_TIF_GTC;
  mix_order(g, op, s, side, price, tif, 1 + bench_rng_below(&g->rng, 100));
  g->crosses++;
}

/* Fixed shares alone cannot hold a book steady: orders rest a little faster
** than cancels remove them, and takers consume more than the difference, so
** the book drains to a few orders per service. A cancel drawn while fewer
** than MIX_DEPTH_PER_SERVICE orders per service rest is therefore an add
** instead; the book settles near that depth and the shares move by a few
** points (the report prints the real ones). */
static void mix_next(mix_gen *g, eng_op *op) {
  uint32_t r = bench_rng_below(&g->rng, 100);
  uint64_t depth = (uint64_t)MIX_DEPTH_PER_SERVICE * g->services;
  if (r >= 55 && r < 90 && g->live_n >= depth) {
    uint32_t id = g->live_ids[bench_rng_below(&g->rng, g->live_n)];
    *op = (eng_op){OP_CANCEL, 0, 0, 0, 0, 0, 0, id};
    g->cancels++;
    return;
  }
  uint32_t s = bench_rng_below(&g->rng, g->services);
  if (bench_rng_below(&g->rng, 256) == 0) /* a slow random walk */
    g->mid_ticks[s] += bench_rng_below(&g->rng, 2) ? 1 : -1;
  if (g->mid_ticks[s] < 100) g->mid_ticks[s] = 100;
  if (r >= 90)
    mix_cross_order(g, op, s);
  else
    mix_limit_add(g, op, s);
}

/* Runs one generated command through the pre-pass engine. */
static int mix_apply(mix_gen *g, const eng_op *op, uint64_t i) {
  if (op->kind == OP_CANCEL) {
    imx_status st = imx_engine_order_cancel(g->e, op->arg);
    if (st != IMX_OK)
      return fail("pre-pass: cancel #%llu of open order %llu: %s",
                  (unsigned long long)i, (unsigned long long)op->arg,
                  imx_status_name(st));
    return BENCH_EXIT_OK;
  }
  uint64_t id = 0;
  imx_order_new o = {op->service,      op->cc, (imx_side)op->side,
                     (imx_tif)op->tif, 0,      (int64_t)op->qty,
                     (int64_t)op->arg, 0, 0};
  imx_status st = imx_engine_order_new(g->e, &o, &id);
  if (st != IMX_OK || id == 0 || id >= g->ids_max || g->bad_ids)
    return fail("pre-pass: order #%llu: %s (id %llu)", (unsigned long long)i,
                imx_status_name(st), (unsigned long long)id);
  if (g->qty_open[id] > 0) live_add(g, id);
  return BENCH_EXIT_OK;
}

typedef struct mix_stream {
  eng_op *ops;
  size_t n;
  uint64_t adds, cancels, crosses, trades, cancels_self_trade, cancels_ioc;
  uint32_t live_end, live_peak;
} mix_stream;

static int mix_gen_init(mix_gen *g, const eng_opts *o, uint64_t ops,
                        uint32_t levels_max) {
  memset(g, 0, sizeof *g);
  g->rng.state = o->seed;
  g->services = o->services;
  g->ids_max = ops + 1;
  g->mid_ticks = calloc(o->services, sizeof *g->mid_ticks);
  g->qty_open = calloc(g->ids_max, sizeof *g->qty_open);
  g->live_pos = malloc(g->ids_max * sizeof *g->live_pos);
  g->live_ids = calloc(g->ids_max, sizeof *g->live_ids);
  if (!g->mid_ticks || !g->qty_open || !g->live_pos || !g->live_ids)
    return fail("pre-pass: out of memory for %llu orders",
                (unsigned long long)g->ids_max);
  memset(g->live_pos, 0xff, g->ids_max * sizeof *g->live_pos);
  for (uint32_t s = 0; s < o->services; s++) g->mid_ticks[s] = MID_START_TICKS;
  /* A pool as large as the stream: the pre-pass must never be the limit. */
  return engine_open((uint32_t)g->ids_max, o->services, levels_max, 0,
                     mix_observe, g, &g->e);
}

static void mix_gen_free(mix_gen *g) {
  if (g->e) imx_engine_destroy(g->e);
  free(g->mid_ticks);
  free(g->qty_open);
  free(g->live_pos);
  free(g->live_ids);
}

static int mix_generate(const eng_opts *o, mix_stream *out) {
  mix_gen g;
  int rc = mix_gen_init(&g, o, o->ops, 0);
  for (uint64_t i = 0; i < o->ops && rc == BENCH_EXIT_OK; i++) {
    mix_next(&g, &out->ops[i]);
    rc = mix_apply(&g, &out->ops[i], i);
  }
  if (rc == BENCH_EXIT_OK &&
      (g.rejects || imx_engine_open_orders(g.e) != g.live_n))
    rc = fail("pre-pass: %llu rejects; engine has %u open orders, mirror %u",
              (unsigned long long)g.rejects, imx_engine_open_orders(g.e),
              g.live_n);
  out->n = (size_t)o->ops;
  out->adds = g.adds;
  out->cancels = g.cancels;
  out->crosses = g.crosses;
  out->trades = g.trades;
  out->cancels_self_trade = g.cancels_self_trade;
  out->cancels_ioc = g.cancels_ioc;
  out->live_end = g.live_n;
  out->live_peak = g.live_peak;
  mix_gen_free(&g);
  return rc;
}

/* ---- mixed: the measurements --------------------------------------------- */

typedef struct mix_result {
  uint32_t orders_max;
  double ops_per_s, floor_ops_per_s;
  uint64_t trades, cancels_live;
  uint64_t rss_bytes_engine; /* growth of RSS over the throughput run */
  uint32_t clock_overhead_ns;
  uint32_t latency_ns_p50, latency_ns_p99, latency_ns_p999, latency_ns_max;
  uint64_t ref_ops, ref_trades, prefix_trades;
  double ref_ops_per_s, prefix_ops_per_s;
  uint64_t rss_bytes_peak;
  uint64_t mem_levels, mem_rss_bytes, mem_engine_bytes;
} mix_result;

static int check_failed(const char *what, const uint64_t failed[2]) {
  if (failed[OP_NEW] == 0 && failed[OP_CANCEL] == 0) return BENCH_EXIT_OK;
  return fail("%s: %llu adds and %llu cancels did not return ok", what,
              (unsigned long long)failed[OP_NEW],
              (unsigned long long)failed[OP_CANCEL]);
}

static int mix_floor(const mix_stream *m, mix_result *r) {
  eng_target t = {NULL, floor_new, floor_cancel};
  uint64_t failed[2];
  r->floor_ops_per_s = bench_per_s(m->n, replay(&t, m->ops, m->n, failed));
  return BENCH_EXIT_OK;
}

/* Untimed per op, fresh engine; checks the result against the pre-pass:
** the engine is deterministic, so the trades must be the same. */
static int mix_throughput(const eng_opts *o, const mix_stream *m,
                          mix_result *r) {
  eng_counts counts = {{0}};
  imx_engine *e = NULL;
  uint64_t rss0 = bench_rss_bytes();
  int rc = engine_open(r->orders_max, o->services, 0, 0, count_event, &counts, &e);
  if (rc != BENCH_EXIT_OK) return rc;
  eng_target t = {e, engine_new, engine_cancel};
  uint64_t failed[2];
  r->ops_per_s = bench_per_s(m->n, replay(&t, m->ops, m->n, failed));
  uint64_t rss1 = bench_rss_bytes();
  r->rss_bytes_engine = rss1 > rss0 ? rss1 - rss0 : 0;
  r->trades = counts.events[IMX_EV_TRADE];
  r->cancels_live = m->cancels - failed[OP_CANCEL];
  int check = imx_engine_check(e);
  uint32_t open = imx_engine_open_orders(e);
  imx_engine_destroy(e);
  rc = check_failed("engine", failed);
  if (rc == BENCH_EXIT_OK && check != 0)
    rc = fail("imx_engine_check failed check %d after the run", check);
  if (rc == BENCH_EXIT_OK && (r->trades != m->trades || open != m->live_end))
    rc = fail("not deterministic: %llu trades and %u open orders, the "
              "pre-pass had %llu and %u",
              (unsigned long long)r->trades, open,
              (unsigned long long)m->trades, m->live_end);
  return rc;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* What one back-to-back pair of clock reads costs: the median, so that a
** preempted sample does not count. */
static uint32_t clock_overhead_ns(uint32_t *scratch, size_t n) {
  for (size_t i = 0; i < n; i++) {
    int64_t t0_ns = bench_now_ns();
    scratch[i] = (uint32_t)(bench_now_ns() - t0_ns);
  }
  qsort(scratch, n, sizeof *scratch, cmp_u32);
  return scratch[n / 2];
}

static uint32_t net_ns(const uint32_t *sorted, size_t n, uint32_t per_mille,
                       uint32_t overhead_ns) {
  uint32_t v = sorted[(size_t)((uint64_t)(n - 1) * per_mille / 1000)];
  return v > overhead_ns ? v - overhead_ns : 0;
}

static int mix_latency(const eng_opts *o, const mix_stream *m, mix_result *r) {
  uint32_t *latency_ns = malloc(m->n * sizeof *latency_ns);
  if (latency_ns == NULL) return fail("out of memory for latencies");
  /* Fault every page in now, not between two timed operations. */
  memset(latency_ns, 0, m->n * sizeof *latency_ns);
  size_t samples =
      m->n < LATENCY_OVERHEAD_SAMPLES ? m->n : LATENCY_OVERHEAD_SAMPLES;
  r->clock_overhead_ns = clock_overhead_ns(latency_ns, samples);
  eng_counts counts = {{0}};
  imx_engine *e = NULL;
  int rc = engine_open(r->orders_max, o->services, 0, 0, count_event, &counts, &e);
  if (rc != BENCH_EXIT_OK) {
    free(latency_ns);
    return rc;
  }
  eng_target t = {e, engine_new, engine_cancel};
  uint64_t failed[2];
  replay_timed(&t, m->ops, m->n, latency_ns, failed);
  imx_engine_destroy(e);
  rc = check_failed("engine, latency pass", failed);
  qsort(latency_ns, m->n, sizeof *latency_ns, cmp_u32);
  r->latency_ns_p50 = net_ns(latency_ns, m->n, 500, r->clock_overhead_ns);
  r->latency_ns_p99 = net_ns(latency_ns, m->n, 990, r->clock_overhead_ns);
  r->latency_ns_p999 = net_ns(latency_ns, m->n, 999, r->clock_overhead_ns);
  r->latency_ns_max = net_ns(latency_ns, m->n, 1000, r->clock_overhead_ns);
  free(latency_ns);
  return rc;
}

/* The engine and the reference model on the same prefix, fresh instances;
** their trades must agree since they implement the same rules. */
static int mix_reference(const eng_opts *o, const mix_stream *m,
                         mix_result *r) {
  r->ref_ops = m->n < REF_OPS_MAX ? m->n : REF_OPS_MAX;
  eng_counts ref_counts = {{0}}, eng_counts_ = {{0}};
  ref_model *model = NULL;
  imx_engine *e = NULL;
  uint64_t failed[2];
  int rc = model_open(o->services, count_event, &ref_counts, &model);
  if (rc != BENCH_EXIT_OK) return rc;
  eng_target tm = {model, model_new, model_cancel};
  r->ref_ops_per_s = bench_per_s(r->ref_ops, replay(&tm, m->ops, r->ref_ops, failed));
  ref_destroy(model);
  rc = check_failed("reference model", failed);
  if (rc != BENCH_EXIT_OK) return rc;
  rc =
      engine_open(r->orders_max, o->services, 0, 0, count_event, &eng_counts_, &e);
  if (rc != BENCH_EXIT_OK) return rc;
  eng_target te = {e, engine_new, engine_cancel};
  r->prefix_ops_per_s =
      bench_per_s(r->ref_ops, replay(&te, m->ops, r->ref_ops, failed));
  imx_engine_destroy(e);
  r->ref_trades = ref_counts.events[IMX_EV_TRADE];
  r->prefix_trades = eng_counts_.events[IMX_EV_TRADE];
  if (r->ref_trades != r->prefix_trades)
    return fail("engine and reference model disagree on the first %llu "
                "commands: %llu trades against %llu",
                (unsigned long long)r->ref_ops,
                (unsigned long long)r->prefix_trades,
                (unsigned long long)r->ref_trades);
  return check_failed("engine, prefix", failed);
}

/* ---- memory: 1 M resting orders ------------------------------------------ */

/* Non-crossing orders over MEM_LEVELS_SPREAD levels per side, denser near the
** touch (the minimum of two uniform draws). */
static int mem_fill(imx_engine *e, const eng_opts *o, bench_rng *rng) {
  for (uint32_t i = 0; i < MEM_ORDERS; i++) {
    uint32_t s = i % o->services;
    imx_side side = (imx_side)((i / o->services) & 1u);
    int64_t level = min_u32(bench_rng_below(rng, MEM_LEVELS_SPREAD),
                            bench_rng_below(rng, MEM_LEVELS_SPREAD));
    int64_t mid = MID_START_TICKS;
    imx_order_new n = {s,
                       1 + bench_rng_below(rng, CC_COUNT),
                       side,
                       IMX_TIF_GTC,
                       0,
                       1 + bench_rng_below(rng, 100),
                       side == IMX_BID ? mid - 1 - level : mid + 1 + level, 0, 0};
    imx_status st = imx_engine_order_new(e, &n, NULL);
    if (st != IMX_OK)
      return fail("memory: resting order #%u: %s", i, imx_status_name(st));
  }
  return BENCH_EXIT_OK;
}

static uint64_t mem_levels(const imx_engine *e, uint32_t services) {
  imx_level_info *buf = malloc(MEM_LEVELS_MAX * sizeof *buf);
  uint64_t n = 0;
  for (uint32_t s = 0; buf && s < services; s++)
    for (int side = 0; side < 2; side++)
      n += imx_engine_levels(e, s, (imx_side)side, buf, MEM_LEVELS_MAX);
  free(buf);
  return n;
}

static int mix_memory(const eng_opts *o, mix_result *r) {
  eng_counts counts = {{0}};
  imx_engine *e = NULL;
  bench_rng rng = {o->seed ^ 0x6d656d6f7279ULL};
  uint64_t rss0 = bench_rss_bytes();
  int rc = engine_open(MEM_ORDERS, o->services, MEM_LEVELS_MAX, 0, count_event,
                       &counts, &e);
  if (rc != BENCH_EXIT_OK) return rc;
  rc = mem_fill(e, o, &rng);
  uint64_t rss1 = bench_rss_bytes();
  r->mem_rss_bytes = rss1 > rss0 ? rss1 - rss0 : 0;
  r->mem_engine_bytes = imx_engine_memory_bytes(e);
  r->mem_levels = mem_levels(e, o->services);
  if (rc == BENCH_EXIT_OK &&
      (counts.events[IMX_EV_TRADE] || imx_engine_open_orders(e) != MEM_ORDERS))
    rc = fail("memory: %llu trades, %u open orders; want 0 and %u",
              (unsigned long long)counts.events[IMX_EV_TRADE],
              imx_engine_open_orders(e), MEM_ORDERS);
  imx_engine_destroy(e);
  return rc;
}

/* ---- mixed: the report --------------------------------------------------- */

static void mix_print_stream(bench_out *out, const eng_opts *o,
                             const mix_stream *m, const mix_result *r) {
  char note[96];
  double n = (double)m->n;
  bench_out_section(out, "stream, generated before timing (pre-pass engine)");
  bench_out_u64(out, "ops", "operations", m->n, NULL, NULL);
  bench_out_u64(out, "services", "services", o->services, NULL, NULL);
  bench_out_u64(out, "seed", "seed", o->seed, NULL, NULL);
  snprintf(note, sizeof note, "%.1f %%, at and around the touch",
           100.0 * (double)m->adds / n);
  bench_out_u64(out, "adds", "limit adds", m->adds, NULL, note);
  snprintf(note, sizeof note, "%.1f %%, of orders open at that point",
           100.0 * (double)m->cancels / n);
  bench_out_u64(out, "cancels", "cancels", m->cancels, NULL, note);
  snprintf(note, sizeof note, "%.1f %%, marketable, 3..8 ticks through",
           100.0 * (double)m->crosses / n);
  bench_out_u64(out, "crossing_orders", "crossing orders", m->crosses, NULL,
                note);
  bench_out_u64(out, "trades", "trades", m->trades, NULL, NULL);
  bench_out_u64(out, "cancels_ioc", "ioc remainders cancelled", m->cancels_ioc,
                NULL, NULL);
  bench_out_u64(out, "cancels_self_trade", "self-trade cancels",
                m->cancels_self_trade, NULL, NULL);
  bench_out_u64(out, "orders_resting_peak", "resting orders, peak",
                m->live_peak, NULL, NULL);
  bench_out_u64(out, "orders_resting_end", "resting orders, end", m->live_end,
                NULL, NULL);
  bench_out_u64(out, "orders_max", "engine orders_max", r->orders_max, NULL,
                NULL);
}

static void mix_print_speed(bench_out *out, const mix_stream *m,
                            const mix_result *r) {
  char note[96];
  double engine_ns = 1e9 / r->ops_per_s, floor_ns = 1e9 / r->floor_ops_per_s;
  bench_out_section(out, "throughput, one thread, untimed per operation");
  snprintf(note, sizeof note, "target >= 5,000,000: %s",
           bench_met(r->ops_per_s >= TARGET_OPS_PER_S));
  bench_out_f64(out, "ops_per_s", "engine", r->ops_per_s, 0, "ops/s", note);
  bench_out_f64(out, "ops_per_s_target", NULL, TARGET_OPS_PER_S, 0, NULL, NULL);
  bench_out_f64(out, "ns_per_op", "engine, per operation", engine_ns, 1, "ns",
                NULL);
  bench_out_f64(out, "floor_ops_per_s", "harness floor (empty function)",
                r->floor_ops_per_s, 0, "ops/s", NULL);
  bench_out_f64(out, "floor_ns_per_op", "harness floor, per operation",
                floor_ns, 1, "ns", NULL);
  bench_out_f64(out, "engine_ns_per_op_net", "engine net of the floor",
                engine_ns - floor_ns, 1, "ns", NULL);
  snprintf(note, sizeof note, "%.1f %% of the cancels",
           m->cancels ? 100.0 * (double)r->cancels_live / (double)m->cancels
                      : 100.0);
  bench_out_u64(out, "cancels_live", "cancels that hit an open order",
                r->cancels_live, NULL, note);
  bench_out_u64(out, "trades_timed", "trades (timed run = pre-pass)", r->trades,
                NULL, NULL);
}

static void mix_print_latency(bench_out *out, const mix_result *r) {
  bench_out_section(out,
                    "latency, each operation timed alone, net of the clock");
  bench_out_u64(out, "clock_overhead_ns", "clock_gettime pair (subtracted)",
                r->clock_overhead_ns, "ns", "median of back-to-back reads");
  bench_out_u64(out, "latency_ns_p50", "p50", r->latency_ns_p50, "ns", NULL);
  bench_out_u64(out, "latency_ns_p99", "p99", r->latency_ns_p99, "ns", NULL);
  bench_out_u64(out, "latency_ns_p999", "p99.9", r->latency_ns_p999, "ns",
                NULL);
  bench_out_u64(out, "latency_ns_max", "max", r->latency_ns_max, "ns",
                "the worst single operation");
}

static void mix_print_reference(bench_out *out, const mix_result *r) {
  bench_out_section(
      out, "reference model (tests/refmodel.c), same stream, same prefix");
  bench_out_u64(out, "ref_ops", "operations (prefix of the stream)", r->ref_ops,
                NULL, NULL);
  bench_out_f64(out, "ref_ops_per_s", "reference model", r->ref_ops_per_s, 0,
                "ops/s", NULL);
  bench_out_f64(out, "prefix_ops_per_s", "engine, fresh, same prefix",
                r->prefix_ops_per_s, 0, "ops/s", NULL);
  bench_out_f64(out, "engine_to_ref_ratio", "engine / reference",
                r->prefix_ops_per_s / r->ref_ops_per_s, 2, "x", NULL);
  bench_out_u64(out, "ref_trades", "trades (engine = reference)", r->ref_trades,
                NULL, NULL);
}

static void mix_print_memory(bench_out *out, const mix_result *r) {
  char note[96];
  bench_out_section(out, "memory");
  bench_out_bytes(out, "rss_bytes_peak", "peak RSS, whole process",
                  r->rss_bytes_peak, "incl. command array and pre-pass");
  bench_out_bytes(out, "rss_bytes_engine", "RSS growth, engine created and run",
                  r->rss_bytes_engine, NULL);
  bench_out_u64(out, "mem_orders", "resting orders, non-crossing", MEM_ORDERS,
                NULL, "orders_max 1,000,000, levels_max 65,536");
  bench_out_u64(out, "mem_levels", "price levels in use", r->mem_levels, NULL,
                NULL);
  snprintf(note, sizeof note, "target < 256 MiB: %s",
           bench_met(r->mem_rss_bytes < TARGET_MEM_BYTES));
  bench_out_bytes(out, "mem_rss_bytes", "RSS growth (/proc/self/statm)",
                  r->mem_rss_bytes, note);
  bench_out_u64(out, "mem_rss_bytes_target", NULL, TARGET_MEM_BYTES, NULL,
                NULL);
  bench_out_f64(out, "mem_bytes_per_order", "RSS growth per order",
                (double)r->mem_rss_bytes / MEM_ORDERS, 1, "bytes", NULL);
  bench_out_bytes(out, "mem_engine_bytes", "imx_engine_memory_bytes()",
                  r->mem_engine_bytes, NULL);
}

static void mix_print(const eng_opts *o, const mix_stream *m,
                      const mix_result *r) {
  bench_out out;
  bench_out_begin(&out, o->json, "engine");
  bench_out_str(&out, "workload", "workload", "mixed", NULL);
  mix_print_stream(&out, o, m, r);
  mix_print_speed(&out, m, r);
  mix_print_latency(&out, r);
  mix_print_reference(&out, r);
  mix_print_memory(&out, r);
  bench_out_end(&out);
}

static int mix_main(const eng_opts *o) {
  mix_stream m = {0};
  mix_result r = {0};
  m.ops = malloc((size_t)o->ops * sizeof *m.ops);
  if (m.ops == NULL)
    return fail("out of memory for %llu commands", (unsigned long long)o->ops);
  int rc = mix_generate(o, &m);
  /* Room for the peak and the incoming order, and never less than the
  ** million a production engine would be configured with. */
  r.orders_max =
      m.live_peak + 1024u > MEM_ORDERS ? m.live_peak + 1024u : MEM_ORDERS;
  if (rc == BENCH_EXIT_OK) rc = mix_floor(&m, &r);
  if (rc == BENCH_EXIT_OK) rc = mix_throughput(o, &m, &r);
  if (rc == BENCH_EXIT_OK) rc = mix_latency(o, &m, &r);
  if (rc == BENCH_EXIT_OK) rc = mix_reference(o, &m, &r);
  r.rss_bytes_peak = bench_rss_bytes_peak();
  free(m.ops);
  if (rc == BENCH_EXIT_OK) rc = mix_memory(o, &r);
  if (rc == BENCH_EXIT_OK) mix_print(o, &m, &r);
  return rc;
}

/* ---- cross --------------------------------------------------------------- */

typedef struct cross_counts {
  uint64_t trades;
  uint64_t *matched; /* bit per order id: traded at least once */
} cross_counts;

static void cross_observe(void *ctx, const imx_event *ev) {
  if (ev->type != IMX_EV_TRADE) return;
  cross_counts *c = ctx;
  c->trades++;
  c->matched[ev->buy_order_id >> 6] |= 1ull << (ev->buy_order_id & 63u);
  c->matched[ev->sell_order_id >> 6] |= 1ull << (ev->sell_order_id & 63u);
}

static uint64_t popcount64(uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
  return (x * 0x0101010101010101ULL) >> 56;
}

static void cross_generate(const eng_opts *o, eng_op *ops) {
  bench_rng rng = {o->seed};
  for (uint64_t i = 0; i < o->ops; i++) {
    imx_side side = (i & 1u) ? IMX_OFFER : IMX_BID;
    uint64_t price =
        (side == IMX_BID ? 1880 : 1884) + bench_rng_below(&rng, 10);
    uint32_t qty = 100u * (1 + bench_rng_below(&rng, 10));
    /* cc = i + 1: every order its own cost centre, so nothing is a self-trade
 */
    ops[i] = (eng_op){OP_NEW, (uint8_t)side,     IMX_TIF_GTC, 0,
                      0,      (uint32_t)(i + 1), qty,         price};
  }
}

typedef struct cross_result {
  double ops_per_s, floor_ops_per_s;
  uint64_t trades, matched, resting[2], levels[2];
  uint64_t engine_bytes, rss_bytes_peak;
} cross_result;

static void cross_book(const imx_engine *e, cross_result *r) {
  imx_level_info levels[64];
  for (int side = 0; side < 2; side++) {
    uint32_t n = imx_engine_levels(e, 0, (imx_side)side, levels, 64);
    r->levels[side] = n;
    for (uint32_t i = 0; i < n; i++) r->resting[side] += levels[i].orders;
  }
}

static int cross_run(const eng_opts *o, const eng_op *ops, cross_result *r) {
  size_t words = (size_t)(o->ops + 1 + 63) / 64;
  cross_counts counts = {0, calloc(words, sizeof(uint64_t))};
  if (counts.matched == NULL)
    return fail("out of memory for the matched bitmap");
  imx_engine *e = NULL;
  int rc = engine_open((uint32_t)o->ops, 1, 64, 0, cross_observe, &counts, &e);
  if (rc == BENCH_EXIT_OK) {
    eng_target t = {e, engine_new, engine_cancel};
    uint64_t failed[2];
    r->ops_per_s = bench_per_s(o->ops, replay(&t, ops, (size_t)o->ops, failed));
    rc = check_failed("engine", failed);
    int check = imx_engine_check(e);
    if (rc == BENCH_EXIT_OK && check != 0)
      rc = fail("imx_engine_check failed check %d after the run", check);
    cross_book(e, r);
    r->engine_bytes = imx_engine_memory_bytes(e);
    imx_engine_destroy(e);
  }
  r->trades = counts.trades;
  for (size_t i = 0; i < words; i++)
    r->matched += popcount64(counts.matched[i]);
  free(counts.matched);
  return rc;
}

static void cross_print(const eng_opts *o, const cross_result *r) {
  char note[96];
  bench_out out;
  bench_out_begin(&out, o->json, "engine");
  bench_out_str(&out, "workload", "workload", "cross", NULL);
  bench_out_section(&out,
                    "stream: one service, inserts only, alternating bid/offer");
  bench_out_u64(&out, "ops", "orders inserted", o->ops, NULL,
                "bids 1880..1889, offers 1884..1893");
  bench_out_u64(&out, "seed", "seed", o->seed, NULL, NULL);
  bench_out_section(&out, "throughput, one thread");
  snprintf(note, sizeof note, "target >= 5,000,000: %s",
           bench_met(r->ops_per_s >= TARGET_OPS_PER_S));
  bench_out_f64(&out, "ops_per_s", "engine", r->ops_per_s, 0, "orders/s", note);
  bench_out_f64(&out, "ops_per_s_target", NULL, TARGET_OPS_PER_S, 0, NULL,
                NULL);
  bench_out_f64(&out, "ns_per_op", "engine, per order", 1e9 / r->ops_per_s, 1,
                "ns", NULL);
  bench_out_f64(&out, "floor_ops_per_s", "harness floor (empty function)",
                r->floor_ops_per_s, 0, "orders/s", NULL);
  bench_out_section(&out, "outcome");
  snprintf(note, sizeof note, "%.1f %% of the orders",
           100.0 * (double)r->matched / (double)o->ops);
  bench_out_u64(&out, "orders_matched", "orders matched, fully or partly",
                r->matched, NULL, note);
  bench_out_u64(&out, "trades", "trades", r->trades, NULL, NULL);
  bench_out_u64(&out, "orders_resting_end", "resting orders at the end",
                r->resting[0] + r->resting[1], NULL, NULL);
  snprintf(note, sizeof note, "on %llu levels",
           (unsigned long long)r->levels[IMX_BID]);
  bench_out_u64(&out, "bids_resting_end", "  bids", r->resting[IMX_BID], NULL,
                note);
  snprintf(note, sizeof note, "on %llu levels",
           (unsigned long long)r->levels[IMX_OFFER]);
  bench_out_u64(&out, "offers_resting_end", "  offers", r->resting[IMX_OFFER],
                NULL, note);
  bench_out_section(&out, "memory");
  bench_out_bytes(&out, "engine_bytes", "imx_engine_memory_bytes()",
                  r->engine_bytes, "orders_max = orders inserted");
  bench_out_bytes(&out, "rss_bytes_peak", "peak RSS, whole process",
                  r->rss_bytes_peak, "incl. command array");
  bench_out_end(&out);
}

static int cross_main(const eng_opts *o) {
  cross_result r = {0};
  eng_op *ops = malloc((size_t)o->ops * sizeof *ops);
  if (ops == NULL)
    return fail("out of memory for %llu orders", (unsigned long long)o->ops);
  cross_generate(o, ops);
  eng_target floor = {NULL, floor_new, floor_cancel};
  uint64_t failed[2];
  r.floor_ops_per_s =
      bench_per_s(o->ops, replay(&floor, ops, (size_t)o->ops, failed));
  int rc = cross_run(o, ops, &r);
  r.rss_bytes_peak = bench_rss_bytes_peak();
  free(ops);
  if (rc == BENCH_EXIT_OK) cross_print(o, &r);
  return rc;
}

/* ---- deep ---------------------------------------------------------------- */

#define DEEP_RUNS 4
static const uint32_t deep_depths[DEEP_RUNS] = {8, 1000, 10000, 100000};

/* The open orders a side holds at depth d: 1.4 d orders over 2 d prices
** leave about 2 d (1 - e^-0.7) = d of them with a level. */
static uint32_t deep_target(uint32_t depth) { return depth + depth * 2 / 5; }

/* Prices lie from 64 ticks to 4 D + 64 about a mid of 2 D + 64, so that a
** cap of deep_cap(D) holds them all and makes the sides tick maps
** (engine/levels.c: a cap of no more than 16 prices a level slot). */
static int64_t deep_mid(uint32_t depth) { return 2 * (int64_t)depth + 64; }
static int64_t deep_cap(uint32_t depth) { return 4 * (int64_t)depth + 128; }

static int64_t deep_price(mix_gen *g, imx_side side, uint32_t depth) {
  int64_t behind = 1 + (int64_t)bench_rng_below(&g->rng, 2 * depth);
  return side == IMX_BID ? deep_mid(depth) - behind : deep_mid(depth) + behind;
}

static void deep_add(mix_gen *g, eng_op *op, imx_side side, int64_t price) {
  mix_order(g, op, 0, side, price, IMX_TIF_GTC, 1 + bench_rng_below(&g->rng, 100));
  g->adds++;
}

/* One command of the steady stream: one in ten an ioc order through the
** mid; else an add while the book holds fewer than its target of open
** orders (on its thinner side), a cancel of a random open order while it
** holds more, and at the target an add or a cancel 5:4. */
static void deep_next(mix_gen *g, eng_op *op, uint32_t depth,
                      const uint32_t open[2]) {
  uint32_t r = bench_rng_below(&g->rng, 100);
  imx_side side = (imx_side)bench_rng_below(&g->rng, 2);
  uint32_t target = 2 * deep_target(depth), total = open[0] + open[1];
  int cancel = total > target || (total == target && r >= 50);
  if (r < 90 && cancel && g->live_n > 0) {
    uint32_t id = g->live_ids[bench_rng_below(&g->rng, g->live_n)];
    *op = (eng_op){OP_CANCEL, 0, 0, 0, 0, 0, 0, id};
    g->cancels++;
  } else if (r >= 90) {
    /* At the opposite best price: it fills there (or a little of it)
    ** whatever the depth. */
    imx_level_info best;
    int64_t price = deep_mid(depth);
    if (imx_engine_levels(g->e, 0, (imx_side)!side, &best, 1) == 1)
      price = best.price_minor;
    mix_order(g, op, 0, side, price, IMX_TIF_IOC, 1 + bench_rng_below(&g->rng, 100));
    g->crosses++;
  } else {
    if (open[side] > open[!side]) side = (imx_side)!side; /* the thinner side */
    deep_add(g, op, side, deep_price(g, side, depth));
  }
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* The fill: target orders a side, each side from its worst price to its
** best, so that no fill crosses and even a sorted-array book only appends. */
static int deep_fill(mix_gen *g, eng_op *ops, uint32_t depth, size_t *n) {
  uint32_t target = deep_target(depth);
  int64_t *prices = malloc(target * sizeof *prices);
  if (prices == NULL) return fail("out of memory for %u prices", target);
  int rc = BENCH_EXIT_OK;
  for (int side = 0; side < 2 && rc == BENCH_EXIT_OK; side++) {
    for (uint32_t i = 0; i < target; i++)
      prices[i] = deep_price(g, (imx_side)side, depth);
    qsort(prices, target, sizeof *prices, cmp_i64);
    for (uint32_t i = 0; i < target && rc == BENCH_EXIT_OK; i++) {
      deep_add(g, &ops[*n], (imx_side)side,
               prices[side == IMX_BID ? i : target - 1 - i]);
      rc = mix_apply(g, &ops[*n], *n);
      (*n)++;
    }
  }
  free(prices);
  return rc;
}

typedef struct deep_result {
  uint32_t depth, levels_max;
  size_t fill_n, n;          /* commands: the fill, then the timed ones */
  uint64_t trades, adds, cancels, crosses;
  uint64_t levels[2];        /* at the end of the timed run */
  double ops_per_s;          /* sides as red-black trees (no cap) */
  double map_ops_per_s;      /* sides as tick maps (capped)       */
} deep_result;

/* The open orders per side, from the pre-pass engine's levels. */
static void deep_open(const imx_engine *e, imx_level_info *buf, uint32_t cap,
                      uint32_t open[2], uint64_t levels[2]) {
  for (int side = 0; side < 2; side++) {
    uint32_t n = imx_engine_levels(e, 0, (imx_side)side, buf, cap);
    open[side] = 0;
    for (uint32_t i = 0; i < n; i++) open[side] += buf[i].orders;
    if (levels) levels[side] = n;
  }
}

/* Generates the fill and o->ops steady commands for one depth. The
** pre-pass reads the open orders per side from its own levels every
** 1 + D/64 commands (close enough to hold the target). */
static int deep_generate(const eng_opts *o, deep_result *r, eng_op *ops,
                         imx_level_info *buf) {
  mix_gen g;
  uint32_t open[2] = {0, 0};
  size_t total = 2 * (size_t)deep_target(r->depth) + o->ops;
  int rc = mix_gen_init(&g, o, total, r->levels_max);
  size_t n = 0;
  if (rc == BENCH_EXIT_OK) rc = deep_fill(&g, ops, r->depth, &n);
  r->fill_n = n;
  g.adds = 0;
  for (size_t i = 0; i < o->ops && rc == BENCH_EXIT_OK; i++, n++) {
    if (i % (1 + r->depth / 64) == 0) deep_open(g.e, buf, r->levels_max, open, NULL);
    deep_next(&g, &ops[n], r->depth, open);
    rc = mix_apply(&g, &ops[n], n);
  }
  if (rc == BENCH_EXIT_OK && g.rejects)
    rc = fail("deep pre-pass: %llu rejects", (unsigned long long)g.rejects);
  r->n = n;
  r->trades = g.trades;
  r->adds = g.adds;
  r->cancels = g.cancels;
  r->crosses = g.crosses;
  mix_gen_free(&g);
  return rc;
}

/* Fresh engine: the fill untimed, the steady commands timed; the trades
** must be the pre-pass's. Without a cap the sides are trees; with
** deep_cap, tick maps (*ops_per_s says which). */
static int deep_run(const deep_result *gen, deep_result *r, const eng_op *ops,
                    imx_level_info *buf, int64_t price_cap_minor,
                    double *ops_per_s) {
  eng_counts counts = {{0}};
  imx_engine *e = NULL;
  uint32_t orders_max = (uint32_t)gen->n + 1;
  int rc = engine_open(orders_max, 1, r->levels_max, price_cap_minor, count_event,
                       &counts, &e);
  if (rc != BENCH_EXIT_OK) return rc;
  eng_target t = {e, engine_new, engine_cancel};
  uint64_t failed[2];
  replay(&t, ops, gen->fill_n, failed);
  rc = check_failed("deep fill", failed);
  uint64_t trades0 = counts.events[IMX_EV_TRADE];
  size_t timed = gen->n - gen->fill_n;
  int64_t ns = replay(&t, ops + gen->fill_n, timed, failed);
  if (rc == BENCH_EXIT_OK) rc = check_failed("deep", failed);
  *ops_per_s = bench_per_s(timed, ns);
  uint32_t open[2];
  deep_open(e, buf, r->levels_max, open, r->levels);
  int check = imx_engine_check(e);
  imx_engine_destroy(e);
  if (rc == BENCH_EXIT_OK && check != 0)
    rc = fail("deep %u: imx_engine_check failed check %d", r->depth, check);
  if (rc == BENCH_EXIT_OK && (trades0 != 0 || counts.events[IMX_EV_TRADE] != gen->trades))
    rc = fail("deep %u: %llu trades (fill %llu), the pre-pass had %llu", r->depth,
              (unsigned long long)counts.events[IMX_EV_TRADE],
              (unsigned long long)trades0, (unsigned long long)gen->trades);
  return rc;
}

static void deep_print(const eng_opts *o, const deep_result *r) {
  char key[64], label[96], note[96];
  bench_out out;
  bench_out_begin(&out, o->json, "engine");
  bench_out_str(&out, "workload", "workload", "deep", NULL);
  bench_out_section(&out, "stream per depth: one service, a filled book, then");
  bench_out_u64(&out, "ops", "timed operations per depth", o->ops, NULL,
                "adds, cancels, ~10 % ioc orders at the opposite best");
  bench_out_u64(&out, "seed", "seed", o->seed, NULL, NULL);
  bench_out_section(&out, "throughput by depth, one thread (baseline: shallow)");
  double base_ns = 1e9 / r[0].ops_per_s;
  for (int k = 0; k < DEEP_RUNS; k++) {
    double ns = 1e9 / r[k].ops_per_s;
    snprintf(key, sizeof key, "depth_%u_levels", r[k].depth);
    snprintf(label, sizeof label, "%s %u: levels bid / offer",
             k == 0 ? "shallow" : "depth", r[k].depth);
    snprintf(note, sizeof note, "/ %llu; %.0f %% adds, %.0f %% cancels, %llu trades",
             (unsigned long long)r[k].levels[IMX_OFFER],
             100.0 * (double)r[k].adds / (double)o->ops,
             100.0 * (double)r[k].cancels / (double)o->ops,
             (unsigned long long)r[k].trades);
    bench_out_u64(&out, key, label, r[k].levels[IMX_BID], NULL, note);
    snprintf(key, sizeof key, "depth_%u_ops_per_s", r[k].depth);
    bench_out_f64(&out, key, "  engine, tree of levels", r[k].ops_per_s, 0, "ops/s", NULL);
    snprintf(key, sizeof key, "depth_%u_ns_per_op", r[k].depth);
    snprintf(note, sizeof note, "%.2f x the shallow book", ns / base_ns);
    bench_out_f64(&out, key, "  per operation", ns, 1, "ns", note);
    double map_ns = 1e9 / r[k].map_ops_per_s;
    snprintf(key, sizeof key, "depth_%u_map_ns_per_op", r[k].depth);
    snprintf(note, sizeof note, "%.2f x the shallow tree; capped at %lld",
             map_ns / base_ns, (long long)deep_cap(r[k].depth));
    bench_out_f64(&out, key, "  per operation, tick map", map_ns, 1, "ns", note);
  }
  bench_out_end(&out);
}

static int deep_main(const eng_opts *o) {
  deep_result r[DEEP_RUNS];
  uint32_t depth_max = deep_depths[DEEP_RUNS - 1];
  size_t cap = 2 * (size_t)deep_target(depth_max) + o->ops;
  eng_op *ops = malloc(cap * sizeof *ops);
  imx_level_info *buf = malloc((2 * (size_t)depth_max + 16) * sizeof *buf);
  int rc = ops && buf ? BENCH_EXIT_OK : fail("out of memory for %zu commands", cap);
  for (int k = 0; k < DEEP_RUNS && rc == BENCH_EXIT_OK; k++) {
    deep_result gen = {.depth = deep_depths[k], .levels_max = 2 * deep_depths[k] + 16};
    rc = deep_generate(o, &gen, ops, buf);
    r[k] = gen;
    if (rc == BENCH_EXIT_OK) rc = deep_run(&gen, &r[k], ops, buf, 0, &r[k].ops_per_s);
    if (rc == BENCH_EXIT_OK)
      rc = deep_run(&gen, &r[k], ops, buf, deep_cap(gen.depth), &r[k].map_ops_per_s);
  }
  free(ops);
  free(buf);
  if (rc == BENCH_EXIT_OK) deep_print(o, r);
  return rc;
}

int bench_engine_main(int argc, char **argv) {
  eng_opts o;
  int rc = parse_opts(argc, argv, &o);
  if (rc != BENCH_EXIT_OK) return rc;
  return o.wl == WORKLOAD_MIXED   ? mix_main(&o)
         : o.wl == WORKLOAD_CROSS ? cross_main(&o)
                                  : deep_main(&o);
}
