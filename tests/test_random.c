/*
** test_random.c -- the engine against the reference model (refmodel.c),
** which implements docs/matching.md independently of engine/engine.c.
**
** Both get the same commands. After every command the returned statuses,
** the new order ids, the whole event streams (every field of every event),
** every book side (orders in priority order and the levels), the open order
** counts and order_get of the ids involved must agree, and
** imx_engine_check() and ref_check() must pass.
**
** The random streams come from a fixed list of seeds (1..SEEDS), so a run is
** reproducible; the first divergence of a seed prints the seed and command
** index, then the run is shrunk to a short command sequence that still
** diverges, which is printed too. Environment:
**   IMX_RANDOM_SEED=n    run only seed n (n-m: seeds n to m, for soak runs)
**   IMX_RANDOM_TRACE=1   print every command and the engine's events
**   IMX_RANDOM_COMMANDS=n  commands per seed (default COMMANDS); more
**                        grows deeper books, for soak runs
**
** The order pool: the model has none. One seed in four gives the engine
** orders_max 64, so orders_full happens often; the others give it one slot
** per command, and before command i at most i orders are open, so it never
** fills. Whenever the model holds
** orders_max open orders and would accept a new order (or reject it only with
** levels_full, which the rules check after orders_full), the engine must
** reject it with orders_full and nothing else; the model skips that command.
**
** Service ids: the model numbers its services 0, 1, ...; the test never
** assumes the engine does the same but maps one to the other by the order of
** creation.
*/
#include <assert.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "imx_engine.h"
#include "refmodel.h"

enum {
  SEEDS = 300,
  COMMANDS = 2000,
  SVC_MAX = 3,
  PRICE_MID_TICKS = 200, /* prices are tick * (mid +- a scenario's spread) */
  SEEDS_REPORTED_MAX = 3, /* stop after this many divergent seeds */
  SHRINK_REPLAYS_MAX = 4000
};

/* ---- PRNG: splitmix64 ---------------------------------------------------- */

typedef struct rng {
  uint64_t state;
} rng;

static uint64_t rng_next(rng *r) {
  uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Uniform enough in [0, n) for a test: the modulo bias is below 2^-32. */
static uint32_t below(rng *r, uint32_t n) {
  assert(n > 0);
  return (uint32_t)(rng_next(r) % n);
}

static int one_in(rng *r, uint32_t n) { return below(r, n) == 0; }

/* ---- names and formatting ------------------------------------------------ */

/* Local tables, so that the test does not lean on the engine to describe
** what the engine did. */
static const char *status_str(imx_status s) {
  static const char *const names[] = {
      "ok",          "unknown_service", "unknown_order", "bad_side",
      "bad_tif",     "bad_qty",         "bad_price",     "bad_tick",
      "bad_lot",     "aon_required",    "orders_full",   "levels_full",
      "services_full", "bad_config",    "nomem"};
  return (unsigned)s < sizeof names / sizeof names[0] ? names[s] : "?status";
}

static const char *side_str(imx_side s) {
  return s == IMX_BID ? "bid" : s == IMX_OFFER ? "offer" : "?side";
}

static const char *tif_str(imx_tif t) {
  static const char *const names[] = {"gtc", "period", "ioc", "fok"};
  return (unsigned)t < 4 ? names[t] : "?tif";
}

static const char *reason_str(imx_cancel_reason r) {
  static const char *const names[] = {"user", "ioc", "fok", "self_trade"};
  return (unsigned)r < 4 ? names[r] : "?reason";
}

static const char *type_str(imx_event_type t) {
  static const char *const names[] = {"ACCEPTED", "TRADE",    "CANCELLED",
                                      "EXPIRED",  "REJECTED", "MODIFIED"};
  return (unsigned)t < 6 ? names[t] : "?TYPE";
}

/* Every field, for divergence reports. */
static void ev_format_full(const imx_event *ev, char *buf, size_t n) {
  snprintf(buf, n,
           "%s svc=%" PRIu32 " id=%" PRIu64 " cc=%" PRIu32
           " side=%d tif=%d aon=%d qty=%" PRId64 " price=%" PRId64
           " reason=%d status=%d(%s) kept=%d trade=%" PRIu64 " buy=%" PRIu64
           " sell=%" PRIu64 " bcc=%" PRIu32 " scc=%" PRIu32 " aggr=%d"
           " surplus=%" PRId64 "/%d available=%" PRId64 " tender=%" PRIu64
           " quote=%" PRIu64 " deadline=%" PRId64,
           type_str(ev->type), ev->service, ev->order_id, ev->cc,
           (int)ev->side, (int)ev->tif, ev->aon, ev->qty, ev->price_minor,
           (int)ev->reason, (int)ev->status, status_str(ev->status),
           ev->priority_kept, ev->trade_id, ev->buy_order_id,
           ev->sell_order_id, ev->buyer_cc, ev->seller_cc, (int)ev->aggressor,
           ev->surplus, (int)ev->surplus_side, ev->available, ev->tender_id,
           ev->quote_id, ev->deadline_ms);
}

/* The fields that apply, for the expectations of the fixed scenarios. */
static void ev_format_brief(const imx_event *ev, char *buf, size_t n) {
  switch (ev->type) {
  case IMX_EV_ACCEPTED:
    snprintf(buf, n, "accepted #%" PRIu64 " cc%" PRIu32 " %s %s%s q%" PRId64
             " p%" PRId64, ev->order_id, ev->cc, side_str(ev->side),
             tif_str(ev->tif), ev->aon ? " aon" : "", ev->qty, ev->price_minor);
    break;
  case IMX_EV_TRADE:
    snprintf(buf, n, "trade t%" PRIu64 " buy#%" PRIu64 " sell#%" PRIu64
             " cc%" PRIu32 "/cc%" PRIu32 " q%" PRId64 " p%" PRId64 " %s",
             ev->trade_id, ev->buy_order_id, ev->sell_order_id, ev->buyer_cc,
             ev->seller_cc, ev->qty, ev->price_minor, side_str(ev->aggressor));
    break;
  case IMX_EV_CANCELLED:
    snprintf(buf, n, "cancelled #%" PRIu64 " cc%" PRIu32 " %s q%" PRId64 " %s",
             ev->order_id, ev->cc, side_str(ev->side), ev->qty,
             reason_str(ev->reason));
    break;
  case IMX_EV_EXPIRED:
    snprintf(buf, n, "expired #%" PRIu64 " cc%" PRIu32 " %s q%" PRId64,
             ev->order_id, ev->cc, side_str(ev->side), ev->qty);
    break;
  case IMX_EV_REJECTED:
    snprintf(buf, n, "rejected #%" PRIu64 " %s", ev->order_id,
             status_str(ev->status));
    break;
  case IMX_EV_MODIFIED:
    snprintf(buf, n, "modified #%" PRIu64 " cc%" PRIu32 " %s q%" PRId64
             " p%" PRId64 " %s", ev->order_id, ev->cc, side_str(ev->side),
             ev->qty, ev->price_minor, ev->priority_kept ? "kept" : "moved");
    break;
  default:
    snprintf(buf, n, "?event %d", (int)ev->type);
  }
}

/* ---- event logs ---------------------------------------------------------- */

typedef struct ev_log {
  imx_event *evs;
  size_t len, cap;
} ev_log;

static void ev_log_push(void *ctx, const imx_event *ev) {
  ev_log *l = ctx;
  if (l->len == l->cap) {
    l->cap = l->cap ? 2 * l->cap : 64;
    l->evs = realloc(l->evs, l->cap * sizeof *l->evs);
    if (l->evs == NULL) abort();
  }
  l->evs[l->len++] = *ev;
}

/* The events of one command, brief, joined by "; ". */
static const char *ev_log_brief(const ev_log *l) {
  static char buf[4096];
  size_t used = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < l->len && used < sizeof buf; i++) {
    char one[256];
    ev_format_brief(&l->evs[i], one, sizeof one);
    used += (size_t)snprintf(buf + used, sizeof buf - used, "%s%s",
                             i ? "; " : "", one);
  }
  return buf;
}

static int ev_equal(const imx_event *a, const imx_event *b) {
  return a->type == b->type && a->service == b->service &&
         a->order_id == b->order_id && a->cc == b->cc && a->side == b->side &&
         a->tif == b->tif && a->aon == b->aon && a->qty == b->qty &&
         a->price_minor == b->price_minor && a->reason == b->reason &&
         a->status == b->status && a->priority_kept == b->priority_kept &&
         a->trade_id == b->trade_id && a->buy_order_id == b->buy_order_id &&
         a->sell_order_id == b->sell_order_id && a->buyer_cc == b->buyer_cc &&
         a->seller_cc == b->seller_cc && a->aggressor == b->aggressor &&
         /* Auction, risk and tender fields: zero in continuous events. */
         a->surplus == b->surplus && a->surplus_side == b->surplus_side &&
         a->available == b->available && a->tender_id == b->tender_id &&
         a->quote_id == b->quote_id && a->deadline_ms == b->deadline_ms;
}

static int info_equal(const imx_order_info *a, const imx_order_info *b) {
  return a->order_id == b->order_id && a->service == b->service &&
         a->cc == b->cc && a->side == b->side && a->tif == b->tif &&
         a->aon == b->aon && a->qty_original == b->qty_original &&
         a->qty_open == b->qty_open && a->qty_filled == b->qty_filled &&
         a->price_minor == b->price_minor;
}

static void info_format(const imx_order_info *o, char *buf, size_t n) {
  snprintf(buf, n, "#%" PRIu64 " svc=%" PRIu32 " cc%" PRIu32 " %s %s aon=%d"
           " orig=%" PRId64 " open=%" PRId64 " filled=%" PRId64 " p%" PRId64,
           o->order_id, o->service, o->cc, side_str(o->side), tif_str(o->tif),
           o->aon, o->qty_original, o->qty_open, o->qty_filled, o->price_minor);
}

/* ---- commands ------------------------------------------------------------ */

typedef enum cmd_kind {
  CMD_NEW,
  CMD_CANCEL,
  CMD_MODIFY,
  CMD_PERIOD_END
} cmd_kind;

typedef struct cmd {
  cmd_kind kind;
  uint32_t svc;        /* logical service: < nsvc real, else unknown */
  imx_order_new o;     /* CMD_NEW; o.service is set from svc when run */
  uint64_t id;         /* CMD_CANCEL, CMD_MODIFY, when target < 0 */
  long target;         /* else the index of the command that made the order,
                       ** so that shrinking a run keeps the reference */
  int64_t qty_open;    /* CMD_MODIFY */
  int64_t price_minor; /* CMD_MODIFY */
} cmd;

static cmd cmd_new(uint32_t svc, uint32_t cc, imx_side side, imx_tif tif,
                   int aon, int64_t qty, int64_t price_minor) {
  cmd c;
  memset(&c, 0, sizeof c);
  c.kind = CMD_NEW;
  c.target = -1;
  c.svc = svc;
  c.o.cc = cc;
  c.o.side = side;
  c.o.tif = tif;
  c.o.aon = aon;
  c.o.qty = qty;
  c.o.price_minor = price_minor;
  return c;
}

static cmd cmd_id(cmd_kind kind, uint64_t id, int64_t qty_open,
                  int64_t price_minor) {
  cmd c;
  memset(&c, 0, sizeof c);
  c.kind = kind;
  c.id = id;
  c.target = -1;
  c.qty_open = qty_open;
  c.price_minor = price_minor;
  return c;
}

static cmd cmd_period_end(uint32_t svc) {
  cmd c;
  memset(&c, 0, sizeof c);
  c.kind = CMD_PERIOD_END;
  c.target = -1;
  c.svc = svc;
  return c;
}

/* id: the order id the command targets, resolved. */
static void cmd_format(const cmd *c, uint64_t id, char *buf, size_t n) {
  switch (c->kind) {
  case CMD_NEW:
    snprintf(buf, n, "new(svc %" PRIu32 ", cc %" PRIu32 ", %s(%d), %s(%d),"
             " aon %d, qty %" PRId64 ", price %" PRId64 ")", c->svc, c->o.cc,
             side_str(c->o.side), (int)c->o.side, tif_str(c->o.tif),
             (int)c->o.tif, c->o.aon, c->o.qty, c->o.price_minor);
    break;
  case CMD_CANCEL:
    snprintf(buf, n, "cancel(#%" PRIu64 ")", id);
    break;
  case CMD_MODIFY:
    snprintf(buf, n, "modify(#%" PRIu64 ", qty %" PRId64 ", price %" PRId64
             ")", id, c->qty_open, c->price_minor);
    break;
  case CMD_PERIOD_END:
    snprintf(buf, n, "period_end(svc %" PRIu32 ")", c->svc);
    break;
  }
}

/* ---- the world: one engine and one model side by side -------------------- */

/* A service config by name, so that fields the header may add stay zero. */
#define SERVICE(tick, lot_units, divisible_flag, levels)                    \
  {.tick_minor = (tick), .lot = (lot_units), .divisible = (divisible_flag), \
   .levels_max = (levels)}

typedef struct scenario {
  uint32_t orders_max; /* the engine's pool */
  uint32_t nsvc;
  imx_service_config svc[SVC_MAX];
  uint32_t ncc;        /* cost centres 1..ncc */
  int cc_edges;        /* 1: cost centre 1 is 0 and ncc is UINT32_MAX */
  /* Bids are priced in [mid - spread, mid + overlap] ticks, offers in
  ** [mid - overlap, mid + spread]: overlap == spread crosses all the time,
  ** a small overlap lets the books grow deep and cross at the edge. */
  int64_t spread_ticks, overlap_ticks;
  uint32_t cancel_pct;           /* of commands */
  uint32_t period_end_per_mille; /* of commands */
} scenario;

typedef struct world {
  const scenario *sc;
  imx_engine *e;
  ref_model *m;
  ev_log log_e, log_m;
  uint32_t svc_e[SVC_MAX], svc_m[SVC_MAX];
  uint64_t id_last;    /* highest order id handed out */
  size_t steps;        /* commands run so far */
  uint64_t *step_ids;  /* the order id each command got from the model, or 0 */
  size_t *id_steps;    /* the command that got each order id */
  size_t steps_cap;
  imx_order_info *ord_e, *ord_m;
  imx_level_info *lev_e, *lev_m;
  uint32_t buf_cap;    /* entries of each of the four buffers */
  char why[16384];     /* the first divergence, when a step returns 1 */
} world;

static void scenario_print(const scenario *sc) {
  fprintf(stderr, "  scenario: orders_max %" PRIu32 ", services_max %" PRIu32
          ", cost centres 1..%" PRIu32 "%s\n", sc->orders_max, sc->nsvc,
          sc->ncc, sc->cc_edges ? " (1 is 0, the last is UINT32_MAX)" : "");
  for (uint32_t k = 0; k < sc->nsvc; k++)
    fprintf(stderr, "  svc %" PRIu32 ": tick %" PRId64 " lot %" PRId64
            " divisible %d levels_max %" PRIu32 "\n", k, sc->svc[k].tick_minor,
            sc->svc[k].lot, sc->svc[k].divisible, sc->svc[k].levels_max);
}

static int world_open(world *w, const scenario *sc) {
  memset(w, 0, sizeof *w);
  w->sc = sc;
  imx_engine_config cfg = {.orders_max = sc->orders_max,
                           .services_max = sc->nsvc,
                           .on_event = ev_log_push,
                           .ctx = &w->log_e};
  if (imx_engine_create(&cfg, &w->e) != IMX_OK) return -1;
  w->m = ref_create(ev_log_push, &w->log_m);
  if (w->m == NULL) return -1;
  for (uint32_t k = 0; k < sc->nsvc; k++) {
    if (imx_engine_service_add(w->e, &sc->svc[k], &w->svc_e[k]) != IMX_OK ||
        ref_service_add(w->m, &sc->svc[k], &w->svc_m[k]) != IMX_OK)
      return -1;
  }
  return 0;
}

static void world_close(world *w) {
  imx_engine_destroy(w->e);
  ref_destroy(w->m);
  free(w->log_e.evs);
  free(w->log_m.evs);
  free(w->ord_e);
  free(w->ord_m);
  free(w->lev_e);
  free(w->lev_m);
  free(w->step_ids);
  free(w->id_steps);
}

/* The order id a cancel or modify targets. */
static uint64_t cmd_target(const world *w, const cmd *c) {
  if (c->target < 0) return c->id;
  assert((size_t)c->target < w->steps);
  return w->step_ids[c->target];
}

/* Makes every query buffer hold at least every open order. */
static void world_buffers(world *w) {
  uint32_t need = imx_engine_open_orders(w->e) + ref_open_orders(w->m) + 1;
  if (need <= w->buf_cap) return;
  w->buf_cap = 2 * need;
  w->ord_e = realloc(w->ord_e, w->buf_cap * sizeof *w->ord_e);
  w->ord_m = realloc(w->ord_m, w->buf_cap * sizeof *w->ord_m);
  w->lev_e = realloc(w->lev_e, w->buf_cap * sizeof *w->lev_e);
  w->lev_m = realloc(w->lev_m, w->buf_cap * sizeof *w->lev_m);
  if (!w->ord_e || !w->ord_m || !w->lev_e || !w->lev_m) abort();
}

/* Service id of logical service k: a real one, or for k >= nsvc an id that
** neither side knows (just past the last one, or far away). */
static uint32_t svc_id(const uint32_t *ids, uint32_t nsvc, uint32_t k) {
  if (k < nsvc) return ids[k];
  uint32_t last = 0;
  for (uint32_t i = 0; i < nsvc; i++) last = ids[i] > last ? ids[i] : last;
  return k == nsvc ? last + 1 : UINT32_MAX - 1;
}

/* The engine's id of the model's service id (a value neither uses if none). */
static uint32_t svc_m_to_e(const world *w, uint32_t service_m) {
  for (uint32_t k = 0; k < w->sc->nsvc; k++)
    if (w->svc_m[k] == service_m) return w->svc_e[k];
  return UINT32_MAX - 2;
}

/* Records the first divergence; returns 1 so callers can `return diverge()`. */
static int diverge(world *w, const char *fmt, ...) {
  size_t used = strlen(w->why);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->why + used, sizeof w->why - used, fmt, ap);
  va_end(ap);
  return 1;
}

static void append_log(world *w, const char *title, const ev_log *l) {
  diverge(w, "    %s events (%zu):\n", title, l->len);
  for (size_t i = 0; i < l->len; i++) {
    char buf[768];
    ev_format_full(&l->evs[i], buf, sizeof buf);
    diverge(w, "      [%zu] %s\n", i, buf);
  }
}

static int compare_events(world *w) {
  size_t n = w->log_e.len < w->log_m.len ? w->log_e.len : w->log_m.len;
  size_t first = 0;
  for (; first < n; first++) {
    imx_event want = w->log_m.evs[first];
    if (want.type != IMX_EV_REJECTED)
      want.service = svc_m_to_e(w, want.service);
    if (!ev_equal(&want, &w->log_e.evs[first])) break;
  }
  if (first == n && w->log_e.len == w->log_m.len) return 0;
  diverge(w, "events differ from index %zu (model service ids are mapped to"
          " the engine's)\n", first);
  append_log(w, "engine", &w->log_e);
  append_log(w, "model", &w->log_m);
  return 1;
}

/* The levels that the model's orders of one side (best first) make. */
static uint32_t levels_of(const imx_order_info *o, uint32_t n,
                          imx_level_info *out) {
  uint32_t k = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (k == 0 || out[k - 1].price_minor != o[i].price_minor) {
      memset(&out[k], 0, sizeof out[k]);
      out[k++].price_minor = o[i].price_minor;
    }
    out[k - 1].qty_open += o[i].qty_open;
    out[k - 1].orders++;
  }
  return k;
}

static int compare_side(world *w, uint32_t k, imx_side side) {
  uint32_t cap = w->buf_cap;
  uint32_t ne = imx_engine_orders(w->e, w->svc_e[k], side, w->ord_e, cap);
  uint32_t nm = ref_orders(w->m, w->svc_m[k], side, w->ord_m, cap);
  for (uint32_t i = 0; i < nm; i++) w->ord_m[i].service = w->svc_e[k];
  for (uint32_t i = 0; i < ne || i < nm; i++) {
    if (i < ne && i < nm && info_equal(&w->ord_e[i], &w->ord_m[i])) continue;
    char be[256] = "(none)", bm[256] = "(none)";
    if (i < ne) info_format(&w->ord_e[i], be, sizeof be);
    if (i < nm) info_format(&w->ord_m[i], bm, sizeof bm);
    return diverge(w, "book svc %" PRIu32 " %s differs at position %" PRIu32
                   " (engine %" PRIu32 " orders, model %" PRIu32 "):\n"
                   "    engine %s\n    model  %s\n", k, side_str(side), i, ne,
                   nm, be, bm);
  }
  uint32_t le = imx_engine_levels(w->e, w->svc_e[k], side, w->lev_e, cap);
  uint32_t lm = levels_of(w->ord_m, nm, w->lev_m);
  for (uint32_t i = 0; i < le || i < lm; i++) {
    const imx_level_info *a = &w->lev_e[i], *b = &w->lev_m[i];
    if (i < le && i < lm && a->price_minor == b->price_minor &&
        a->qty_open == b->qty_open && a->orders == b->orders)
      continue;
    return diverge(w, "levels svc %" PRIu32 " %s differ at level %" PRIu32
                   " (engine %" PRIu32 " levels, model %" PRIu32 ")\n", k,
                   side_str(side), i, le, lm);
  }
  return 0;
}

/* order_get of one id must agree (open or not, and every field). */
static int compare_get(world *w, uint64_t id) {
  imx_order_info a, b;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  imx_status se = imx_engine_order_get(w->e, id, &a);
  imx_status sm = ref_order_get(w->m, id, &b);
  if (sm == IMX_OK) b.service = svc_m_to_e(w, b.service);
  if (se == sm && (se != IMX_OK || info_equal(&a, &b))) return 0;
  char be[256], bm[256];
  info_format(&a, be, sizeof be);
  info_format(&b, bm, sizeof bm);
  return diverge(w, "order_get(#%" PRIu64 "): engine %s %s, model %s %s\n", id,
                 status_str(se), se == IMX_OK ? be : "", status_str(sm),
                 sm == IMX_OK ? bm : "");
}

static int compare_state(world *w, uint64_t id) {
  world_buffers(w);
  for (uint32_t k = 0; k < w->sc->nsvc; k++)
    if (compare_side(w, k, IMX_BID) || compare_side(w, k, IMX_OFFER)) return 1;
  if (imx_engine_open_orders(w->e) != ref_open_orders(w->m))
    return diverge(w, "open orders: engine %" PRIu32 ", model %" PRIu32 "\n",
                   imx_engine_open_orders(w->e), ref_open_orders(w->m));
  int bad = imx_engine_check(w->e);
  if (bad != 0) return diverge(w, "imx_engine_check() = %d\n", bad);
  bad = ref_check(w->m);
  if (bad != 0) return diverge(w, "ref_check() = %d (a model bug)\n", bad);
  if (id != 0 && compare_get(w, id)) return 1;
  return w->id_last != 0 && compare_get(w, w->id_last);
}

static imx_event rejected_event(imx_status status) {
  imx_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = IMX_EV_REJECTED;
  ev.status = status;
  return ev;
}

/* A new order on both sides, or on the engine only when its pool must be
** full (see the top of the file). */
static int step_new(world *w, const cmd *c, imx_status *se, imx_status *sm) {
  uint32_t nsvc = w->sc->nsvc;
  imx_order_new oe = c->o, om = c->o;
  oe.service = svc_id(w->svc_e, nsvc, c->svc);
  om.service = svc_id(w->svc_m, nsvc, c->svc);
  imx_status v = ref_order_validate(w->m, &om);
  int pool_full = (v == IMX_OK || v == IMX_E_LEVELS_FULL) &&
                  ref_open_orders(w->m) >= w->sc->orders_max;
  uint64_t id_e = 0, id_m = 0;
  *se = imx_engine_order_new(w->e, &oe, &id_e);
  if (pool_full) {
    *sm = IMX_E_ORDERS_FULL;
    imx_event ev = rejected_event(IMX_E_ORDERS_FULL);
    ev_log_push(&w->log_m, &ev);
    return 0;
  }
  *sm = ref_order_new(w->m, &om, &id_m);
  if (*sm != IMX_OK) return 0;
  w->id_last = id_m;
  w->step_ids[w->steps] = id_m;
  w->id_steps[id_m] = w->steps; /* ids <= commands, so it fits */
  if (*se == IMX_OK && id_e != id_m)
    return diverge(w, "new order id: engine %" PRIu64 ", model %" PRIu64 "\n",
                   id_e, id_m);
  return 0;
}

/* What the random streams exercised, so that a generator that drifts away
** from some rule shows up as a failure rather than as silent green. */
typedef struct coverage {
  uint64_t types[6];
  uint64_t reasons[4];
  uint64_t statuses[IMX_E_NOMEM + 1];
  uint64_t kept[2]; /* MODIFIED with priority_kept 0, 1 */
  uint32_t open_max; /* most open orders at once */
} coverage;

static coverage cov;

static void coverage_add(const ev_log *l) {
  for (size_t i = 0; i < l->len; i++) {
    const imx_event *ev = &l->evs[i];
    if ((unsigned)ev->type < 6) cov.types[ev->type]++;
    if (ev->type == IMX_EV_CANCELLED && (unsigned)ev->reason < 4)
      cov.reasons[ev->reason]++;
    if (ev->type == IMX_EV_REJECTED && (unsigned)ev->status <= IMX_E_NOMEM)
      cov.statuses[ev->status]++;
    if (ev->type == IMX_EV_MODIFIED) cov.kept[ev->priority_kept != 0]++;
  }
}

static void coverage_print(void) {
  fprintf(stderr, "  coverage: accepted %" PRIu64 " trade %" PRIu64
          " expired %" PRIu64 " rejected %" PRIu64 ", open orders at most %"
          PRIu32 "\n", cov.types[IMX_EV_ACCEPTED], cov.types[IMX_EV_TRADE],
          cov.types[IMX_EV_EXPIRED], cov.types[IMX_EV_REJECTED], cov.open_max);
  fprintf(stderr, "  cancelled %" PRIu64 ":", cov.types[IMX_EV_CANCELLED]);
  for (int r = 0; r < 4; r++)
    fprintf(stderr, " %s %" PRIu64, reason_str((imx_cancel_reason)r),
            cov.reasons[r]);
  fprintf(stderr, "; modified %" PRIu64 ": kept %" PRIu64 " moved %" PRIu64
          "\n  rejected:", cov.types[IMX_EV_MODIFIED], cov.kept[1],
          cov.kept[0]);
  for (int s = IMX_E_UNKNOWN_SERVICE; s <= IMX_E_LEVELS_FULL; s++)
    fprintf(stderr, " %s %" PRIu64, status_str((imx_status)s), cov.statuses[s]);
  fprintf(stderr, "\n");
}

/* Every event type, cancel reason, priority outcome and command status
** must have happened somewhere in the random streams. */
static void coverage_check(void) {
  for (int t = 0; t < 6; t++) CHECK(cov.types[t] > 0);
  for (int r = 0; r < 4; r++) CHECK(cov.reasons[r] > 0);
  for (int s = IMX_E_UNKNOWN_SERVICE; s <= IMX_E_LEVELS_FULL; s++)
    CHECK(cov.statuses[s] > 0);
  CHECK(cov.kept[0] > 0 && cov.kept[1] > 0);
}

/* One command, whose target order id is resolved, on both. */
static int world_step_run(world *w, const cmd *c, uint64_t id) {
  imx_status se = IMX_OK, sm = IMX_OK;
  uint32_t nsvc = w->sc->nsvc;
  switch (c->kind) {
  case CMD_NEW:
    if (step_new(w, c, &se, &sm)) return 1;
    break;
  case CMD_CANCEL:
    se = imx_engine_order_cancel(w->e, id);
    sm = ref_order_cancel(w->m, id);
    break;
  case CMD_MODIFY:
    se = imx_engine_order_modify(w->e, id, c->qty_open, c->price_minor);
    sm = ref_order_modify(w->m, id, c->qty_open, c->price_minor);
    break;
  case CMD_PERIOD_END:
    se = imx_engine_period_end(w->e, svc_id(w->svc_e, nsvc, c->svc));
    sm = ref_period_end(w->m, svc_id(w->svc_m, nsvc, c->svc));
    break;
  }
  if (se != sm) {
    diverge(w, "status: engine %s, model %s\n", status_str(se), status_str(sm));
    append_log(w, "engine", &w->log_e);
    append_log(w, "model", &w->log_m);
    return 1;
  }
  if (compare_events(w) || compare_state(w, id)) return 1;
  coverage_add(&w->log_e);
  uint32_t open = ref_open_orders(w->m);
  cov.open_max = open > cov.open_max ? open : cov.open_max;
  return 0;
}

/* Runs one command on both; 0 if they agree, else 1 with w->why set. */
static int world_step(world *w, const cmd *c) {
  w->log_e.len = w->log_m.len = 0;
  w->why[0] = '\0';
  if (w->steps + 1 >= w->steps_cap) {
    w->steps_cap = w->steps_cap ? 2 * w->steps_cap : 256;
    w->step_ids = realloc(w->step_ids, w->steps_cap * sizeof *w->step_ids);
    w->id_steps = realloc(w->id_steps, w->steps_cap * sizeof *w->id_steps);
    if (w->step_ids == NULL || w->id_steps == NULL) abort();
  }
  w->step_ids[w->steps] = 0;
  uint64_t id = cmd_target(w, c);
  int bad = world_step_run(w, c, id);
  w->steps++;
  return bad;
}

/* ---- random commands ----------------------------------------------------- */

static const imx_service_config svc_unknown_cfg = SERVICE(1, 1, 1, 0);

static const imx_service_config *svc_cfg(const scenario *sc, uint32_t k) {
  return k < sc->nsvc ? &sc->svc[k] : &svc_unknown_cfg;
}

/* Commands per seed: COMMANDS, or IMX_RANDOM_COMMANDS for soak runs. */
static size_t commands_per_seed(void) {
  const char *v = getenv("IMX_RANDOM_COMMANDS");
  size_t n = v != NULL ? (size_t)strtoull(v, NULL, 10) : 0;
  return n > 0 && n < UINT32_MAX ? n : COMMANDS;
}

static scenario scenario_make(rng *r, uint64_t seed) {
  /* tick, lot, divisible, levels_max: plain, coarse, indivisible, and
  ** small level limits so that levels_full happens. */
  static const imx_service_config kinds[] = {
      SERVICE(1, 1, 1, 0), SERVICE(5, 10, 1, 0), SERVICE(1, 1, 0, 0),
      SERVICE(1, 1, 1, 3), SERVICE(5, 10, 1, 2), SERVICE(5, 1, 0, 3)};
  scenario sc;
  memset(&sc, 0, sizeof sc);
  /* A pool of one slot per command never fills: a run accepts fewer
  ** orders. It is no bigger because imx_engine_check() costs time in
  ** proportion to it. */
  sc.orders_max = seed % 4 == 0 ? 64 : (uint32_t)commands_per_seed();
  sc.nsvc = 1 + below(r, SVC_MAX);
  for (uint32_t k = 0; k < sc.nsvc; k++)
    sc.svc[k] = kinds[below(r, sizeof kinds / sizeof kinds[0])];
  sc.ncc = 2 + below(r, 4);
  sc.cc_edges = one_in(r, 4);
  sc.spread_ticks = one_in(r, 3) ? 25 : 6;
  sc.overlap_ticks = one_in(r, 2) ? sc.spread_ticks : (int64_t)below(r, 3);
  sc.cancel_pct = one_in(r, 2) ? 14 : 4;
  sc.period_end_per_mille = one_in(r, 2) ? 30 : 5;
  return sc;
}

static int64_t gen_price(rng *r, const scenario *sc, imx_side side,
                         int64_t tick_minor) {
  int64_t width = sc->spread_ticks + sc->overlap_ticks + 1;
  int64_t ticks = (int64_t)below(r, (uint32_t)width);
  ticks = side == IMX_OFFER ? PRICE_MID_TICKS - sc->overlap_ticks + ticks
                            : PRICE_MID_TICKS + sc->overlap_ticks - ticks;
  return tick_minor * ticks;
}

static int64_t gen_qty(rng *r, int64_t lot) {
  return lot * (1 + (int64_t)(one_in(r, 6) ? below(r, 40) : below(r, 10)));
}

/* Breaks qty or price in one of the ways validation knows, or pushes it to
** a valid extreme. */
static void spoil(rng *r, const imx_service_config *cfg, int64_t *qty,
                  int64_t *price_minor) {
  int64_t tick = cfg->tick_minor, lot = cfg->lot;
  switch (below(r, 14)) {
  case 0: *qty = 0; break;
  case 1: *qty = -lot; break;
  case 2: *qty = IMX_QTY_MAX + lot; break;
  case 3: *qty += 1; break; /* bad_lot where lot > 1 */
  case 4: *price_minor = 0; break;
  case 5: *price_minor = -tick; break;
  case 6: *price_minor = IMX_PRICE_MAX_MINOR + tick; break;
  case 7: *price_minor += 1; break; /* bad_tick where tick > 1 */
  case 8: *qty = IMX_QTY_MAX / lot * lot; break;
  case 9: *price_minor = IMX_PRICE_MAX_MINOR / tick * tick; break;
  case 10: *qty = 0; *price_minor = 0; break;
  case 11: *qty += 1; *price_minor += 1; break;
  case 12: *qty = INT64_MAX; break;
  default: *price_minor = INT64_MIN; break;
  }
}

/* A random open order of the model; 0 if the books are empty. */
static int pick_open(rng *r, world *w, imx_order_info *out, uint32_t *k_out) {
  world_buffers(w);
  uint32_t combos = 2 * w->sc->nsvc, start = below(r, combos);
  for (uint32_t i = 0; i < combos; i++) {
    uint32_t k = (start + i) % combos / 2;
    imx_side side = (imx_side)((start + i) % 2);
    uint32_t n = ref_orders(w->m, w->svc_m[k], side, w->ord_m, w->buf_cap);
    if (n == 0) continue;
    *out = w->ord_m[below(r, n)];
    *k_out = k;
    return 1;
  }
  return 0;
}

/* An id that is probably not open: none, any id so far, just past, huge. */
static uint64_t gen_other_id(rng *r, const world *w) {
  switch (below(r, 4)) {
  case 0: return 0;
  case 1: return 1 + rng_next(r) % (w->id_last + 1);
  case 2: return w->id_last + 1 + below(r, 3);
  default: return UINT64_MAX - below(r, 2);
  }
}

static cmd gen_new(rng *r, const world *w) {
  const scenario *sc = w->sc;
  uint32_t k = one_in(r, 60) ? sc->nsvc + below(r, 2) : below(r, sc->nsvc);
  const imx_service_config *cfg = svc_cfg(sc, k);
  imx_side side = (imx_side)below(r, 2);
  static const uint32_t bad_values[] = {2, 3, 4, 255, UINT32_MAX};
  if (one_in(r, 100)) side = (imx_side)bad_values[below(r, 5)];
  uint32_t u = below(r, 100);
  imx_tif tif = u < 40 ? IMX_TIF_GTC : u < 60 ? IMX_TIF_PERIOD
              : u < 80 ? IMX_TIF_IOC : IMX_TIF_FOK;
  if (one_in(r, 100)) tif = (imx_tif)bad_values[2 + below(r, 3)];
  int aon = cfg->divisible ? one_in(r, 5) : !one_in(r, 40);
  int64_t qty = gen_qty(r, cfg->lot);
  int64_t price = gen_price(r, sc, side, cfg->tick_minor);
  if (one_in(r, 30)) spoil(r, cfg, &qty, &price);
  uint32_t cc = 1 + below(r, sc->ncc);
  if (sc->cc_edges && cc == 1) cc = 0;
  if (sc->cc_edges && cc == sc->ncc) cc = UINT32_MAX;
  return cmd_new(k, cc, side, tif, aon, qty, price);
}

static cmd gen_modify(rng *r, world *w) {
  imx_order_info o;
  uint32_t k = 0;
  if (one_in(r, 5) || !pick_open(r, w, &o, &k)) {
    const imx_service_config *cfg = svc_cfg(w->sc, below(r, w->sc->nsvc));
    return cmd_id(CMD_MODIFY, gen_other_id(r, w), gen_qty(r, cfg->lot),
                  gen_price(r, w->sc, (imx_side)below(r, 2), cfg->tick_minor));
  }
  cmd c = cmd_id(CMD_MODIFY, o.order_id, 0, 0);
  c.target = (long)w->id_steps[o.order_id];
  const imx_service_config *cfg = svc_cfg(w->sc, k);
  int64_t tick = cfg->tick_minor, lot = cfg->lot;
  int64_t qty = o.qty_open, price = o.price_minor;
  int64_t sign = one_in(r, 2) ? 1 : -1;
  switch (below(r, 7)) {
  case 0: qty -= lot * (1 + (int64_t)below(r, 3)); break; /* may stay valid */
  case 1: break;                                        /* a no-op modify */
  case 2: qty += lot * (1 + (int64_t)below(r, 3)); break;
  case 3: price += sign * tick * (1 + (int64_t)below(r, 4)); break;
  case 4:
    qty = gen_qty(r, lot);
    price = gen_price(r, w->sc, o.side, tick);
    break;
  case 5: /* to the far side of the band: crosses whatever rests there */
    price = tick * (PRICE_MID_TICKS + (o.side == IMX_BID ? 1 : -1) *
                                          w->sc->spread_ticks);
    break;
  default: spoil(r, cfg, &qty, &price); break;
  }
  if (qty < lot && one_in(r, 2)) qty = lot; /* mostly keep it valid */
  c.qty_open = qty;
  c.price_minor = price;
  return c;
}

static cmd gen_cmd(rng *r, world *w) {
  uint32_t u = below(r, 1000);
  if (u < w->sc->period_end_per_mille) {
    uint32_t nsvc = w->sc->nsvc;
    return cmd_period_end(one_in(r, 20) ? nsvc + below(r, 2) : below(r, nsvc));
  }
  u = below(r, 100);
  if (u < 60) return gen_new(r, w);
  if (u < 60 + w->sc->cancel_pct) {
    imx_order_info o;
    uint32_t k;
    if (one_in(r, 4) || !pick_open(r, w, &o, &k))
      return cmd_id(CMD_CANCEL, gen_other_id(r, w), 0, 0);
    cmd c = cmd_id(CMD_CANCEL, o.order_id, 0, 0);
    c.target = (long)w->id_steps[o.order_id];
    return c;
  }
  return gen_modify(r, w);
}

/* ---- replay and shrinking ------------------------------------------------ */

/* Runs cmds on a fresh world; returns the index of the first divergence or
** -1. With print, writes each command and the divergence to stderr. */
static long replay(const scenario *sc, const cmd *cmds, size_t n, int print) {
  world *w = malloc(sizeof *w);
  if (w == NULL || world_open(w, sc) != 0) abort();
  long bad = -1;
  for (size_t i = 0; i < n && bad < 0; i++) {
    if (world_step(w, &cmds[i])) bad = (long)i;
    if (!print) continue;
    char buf[256];
    cmd_format(&cmds[i], cmd_target(w, &cmds[i]), buf, sizeof buf);
    fprintf(stderr, "  %3zu %-70s -> %s\n", i, buf, ev_log_brief(&w->log_e));
    if (bad >= 0) fprintf(stderr, "%s", w->why);
  }
  world_close(w);
  free(w);
  return bad;
}

/* Commands [start, start + len) were dropped: later references move down,
** references to a dropped command point at no order at all. */
static void retarget(cmd *cmds, size_t n, long start, long len) {
  for (size_t i = 0; i < n; i++) {
    if (cmds[i].target < start) continue;
    if (cmds[i].target >= start + len) {
      cmds[i].target -= len;
    } else {
      cmds[i].target = -1;
      cmds[i].id = UINT64_MAX - 9;
    }
  }
}

/* Greedily drops chunks of commands while the rest still diverges; returns
** the new length. Commands name order ids literally, so a shorter run may
** diverge differently; any divergence is worth a look. */
static size_t shrink(const scenario *sc, cmd *cmds, size_t n) {
  cmd *tmp = malloc(n * sizeof *tmp);
  if (tmp == NULL) abort();
  int replays = 0;
  for (size_t chunk = n / 2; chunk >= 1 && replays < SHRINK_REPLAYS_MAX;) {
    int dropped = 0;
    for (size_t start = 0; start < n && replays < SHRINK_REPLAYS_MAX;) {
      size_t len = chunk < n - start ? chunk : n - start;
      memcpy(tmp, cmds, start * sizeof *tmp);
      memcpy(tmp + start, cmds + start + len, (n - start - len) * sizeof *tmp);
      retarget(tmp + start, n - start - len, (long)start, (long)len);
      long bad = replay(sc, tmp, n - len, 0);
      replays++;
      if (bad < 0) {
        start += len;
        continue;
      }
      n = (size_t)bad + 1;
      memcpy(cmds, tmp, n * sizeof *cmds);
      dropped = 1;
    }
    if (!dropped) chunk /= 2;
    else if (chunk > n / 2) chunk = n / 2;
  }
  free(tmp);
  return n;
}

/* One seed; 0 if engine and model agree on every command. */
static int run_seed(uint64_t seed, int trace) {
  rng r = {seed * 0x2545f4914f6cdd1dULL};
  scenario sc = scenario_make(&r, seed);
  world *w = malloc(sizeof *w);
  size_t n = commands_per_seed();
  cmd *cmds = malloc(n * sizeof *cmds);
  if (w == NULL || cmds == NULL || world_open(w, &sc) != 0) abort();
  long bad = -1;
  for (size_t i = 0; i < n && bad < 0; i++) {
    cmds[i] = gen_cmd(&r, w);
    if (world_step(w, &cmds[i])) bad = (long)i;
    if (trace) {
      char buf[256];
      cmd_format(&cmds[i], cmd_target(w, &cmds[i]), buf, sizeof buf);
      fprintf(stderr, "%zu %s -> %s\n", i, buf, ev_log_brief(&w->log_e));
    }
  }
  if (bad >= 0) {
    char buf[256];
    cmd_format(&cmds[bad], cmd_target(w, &cmds[bad]), buf, sizeof buf);
    fprintf(stderr, "  seed %" PRIu64 ": first divergence at command %ld:"
            " %s\n%s", seed, bad, buf, w->why);
    scenario_print(&sc);
    size_t kept = shrink(&sc, cmds, (size_t)bad + 1);
    fprintf(stderr, "  shrunk to %zu commands (svc = logical service index):\n",
            kept);
    replay(&sc, cmds, kept, 1);
  }
  world_close(w);
  free(w);
  free(cmds);
  return bad >= 0;
}

static void test_random_streams_agree_with_the_model(void) {
  const char *only = getenv("IMX_RANDOM_SEED");
  const char *trace = getenv("IMX_RANDOM_TRACE");
  uint64_t first = 1, last = SEEDS;
  if (only != NULL) {
    char *end = NULL;
    first = last = strtoull(only, &end, 10);
    if (*end == '-') last = strtoull(end + 1, NULL, 10);
  }
  int divergent = 0;
  memset(&cov, 0, sizeof cov); /* count only the random streams */
  clock_t t0 = clock();
  for (uint64_t seed = first; seed <= last; seed++) {
    if (run_seed(seed, trace != NULL && *trace == '1')) divergent++;
    if (divergent >= SEEDS_REPORTED_MAX) break;
  }
  fprintf(stderr, "  random: seeds %" PRIu64 "..%" PRIu64 " x %zu commands,"
          " %d divergent, %.2f s\n", first, last, commands_per_seed(),
          divergent, (double)(clock() - t0) / CLOCKS_PER_SEC);
  CHECK_EQ(0, divergent);
  coverage_print();
  if (only == NULL) coverage_check(); /* one seed need not reach every rule */
}

/* ---- fixed scenarios: the model against hand-worked expectations --------- */

typedef struct fixed_step {
  cmd c;
  const char *want; /* the model's events, brief; the engine must agree */
} fixed_step;

static void run_fixed(const imx_service_config *cfg, uint32_t orders_max,
                      const fixed_step *steps, size_t n) {
  scenario sc;
  memset(&sc, 0, sizeof sc);
  sc.orders_max = orders_max;
  sc.nsvc = 1;
  sc.svc[0] = *cfg;
  sc.ncc = 4;
  world *w = malloc(sizeof *w);
  if (w == NULL) abort();
  CHECK(world_open(w, &sc) == 0);
  for (size_t i = 0; i < n; i++) {
    char buf[256];
    cmd_format(&steps[i].c, steps[i].c.id, buf, sizeof buf);
    if (world_step(w, &steps[i].c)) {
      fprintf(stderr, "  step %zu %s: engine and model differ:\n%s", i, buf,
              w->why);
      CHECK(0);
    }
    const char *got = ev_log_brief(&w->log_m);
    if (strcmp(steps[i].want, got) != 0) {
      fprintf(stderr, "  step %zu %s:\n    want %s\n    got  %s\n", i, buf,
              steps[i].want, got);
      CHECK(0);
    }
  }
  world_close(w);
  free(w);
}

static const imx_service_config plain = SERVICE(1, 1, 1, 0);

#define NEW(cc, side, tif, aon, qty, price) \
  cmd_new(0, cc, IMX_##side, IMX_TIF_##tif, aon, qty, price)
#define CANCEL(id) cmd_id(CMD_CANCEL, id, 0, 0)
#define MODIFY(id, qty, price) cmd_id(CMD_MODIFY, id, qty, price)

static void test_price_time_priority_and_the_resting_price(void) {
  const fixed_step steps[] = {
      {NEW(1, BID, GTC, 0, 10, 100), "accepted #1 cc1 bid gtc q10 p100"},
      {NEW(2, BID, GTC, 0, 5, 101), "accepted #2 cc2 bid gtc q5 p101"},
      {NEW(3, BID, GTC, 0, 5, 101), "accepted #3 cc3 bid gtc q5 p101"},
      {NEW(4, OFFER, IOC, 0, 12, 99),
       "accepted #4 cc4 offer ioc q12 p99; "
       "trade t1 buy#2 sell#4 cc2/cc4 q5 p101 offer; "
       "trade t2 buy#3 sell#4 cc3/cc4 q5 p101 offer; "
       "trade t3 buy#1 sell#4 cc1/cc4 q2 p100 offer"},
      {NEW(4, OFFER, IOC, 0, 10, 101),
       "accepted #5 cc4 offer ioc q10 p101; cancelled #5 cc4 offer q10 ioc"},
      {CANCEL(1), "cancelled #1 cc1 bid q8 user"},
      {CANCEL(1), "rejected #1 unknown_order"},
      {CANCEL(4), "rejected #4 unknown_order"},
      {CANCEL(0), "rejected #0 unknown_order"},
  };
  run_fixed(&plain, 1000, steps, sizeof steps / sizeof steps[0]);
}

static void test_aon_skips_self_trade_stops_fok_and_aon_feasibility(void) {
  const fixed_step steps[] = {
      {NEW(1, OFFER, GTC, 1, 50, 100),
       "accepted #1 cc1 offer gtc aon q50 p100"},
      {NEW(2, OFFER, GTC, 0, 10, 100), "accepted #2 cc2 offer gtc q10 p100"},
      {NEW(1, OFFER, GTC, 0, 10, 101), "accepted #3 cc1 offer gtc q10 p101"},
      /* #1 is aon and bigger than 30: skipped; #3 is cc1: self-trade. */
      {NEW(1, BID, GTC, 0, 30, 101),
       "accepted #4 cc1 bid gtc q30 p101; "
       "trade t1 buy#4 sell#2 cc1/cc2 q10 p100 bid; "
       "cancelled #4 cc1 bid q20 self_trade"},
      {NEW(2, BID, GTC, 0, 60, 100),
       "accepted #5 cc2 bid gtc q60 p100; "
       "trade t2 buy#5 sell#1 cc2/cc1 q50 p100 bid"},
      {NEW(3, BID, FOK, 0, 20, 101),
       "accepted #6 cc3 bid fok q20 p101; cancelled #6 cc3 bid q20 fok"},
      {NEW(3, BID, IOC, 1, 20, 101),
       "accepted #7 cc3 bid ioc aon q20 p101; cancelled #7 cc3 bid q20 ioc"},
      /* Rests whole although it crosses #3. */
      {NEW(3, BID, GTC, 1, 20, 101), "accepted #8 cc3 bid gtc aon q20 p101"},
      {NEW(2, OFFER, GTC, 0, 20, 101),
       "accepted #9 cc2 offer gtc q20 p101; "
       "trade t3 buy#8 sell#9 cc3/cc2 q20 p101 offer"},
      {NEW(4, BID, FOK, 0, 10, 101),
       "accepted #10 cc4 bid fok q10 p101; "
       "trade t4 buy#10 sell#3 cc4/cc1 q10 p101 bid"},
      /* Infeasible because cc2's own #5 is in the way. */
      {NEW(2, OFFER, FOK, 1, 10, 100),
       "accepted #11 cc2 offer fok aon q10 p100; "
       "cancelled #11 cc2 offer q10 fok"},
  };
  run_fixed(&plain, 1000, steps, sizeof steps / sizeof steps[0]);
}

static void test_levels_full_for_new_orders_and_modifies(void) {
  const imx_service_config two_levels = SERVICE(1, 1, 1, 2);
  const fixed_step steps[] = {
      {NEW(1, BID, GTC, 0, 1, 100), "accepted #1 cc1 bid gtc q1 p100"},
      {NEW(1, BID, GTC, 0, 1, 99), "accepted #2 cc1 bid gtc q1 p99"},
      {NEW(1, BID, GTC, 0, 1, 98), "rejected #0 levels_full"},
      {NEW(1, BID, IOC, 0, 1, 98),
       "accepted #3 cc1 bid ioc q1 p98; cancelled #3 cc1 bid q1 ioc"},
      {NEW(2, OFFER, GTC, 0, 1, 98),
       "accepted #4 cc2 offer gtc q1 p98; "
       "trade t1 buy#1 sell#4 cc1/cc2 q1 p100 offer"},
      {NEW(1, BID, GTC, 0, 1, 97), "accepted #5 cc1 bid gtc q1 p97"},
      {NEW(1, BID, GTC, 0, 1, 96), "rejected #0 levels_full"},
      {NEW(2, OFFER, GTC, 0, 1, 110), "accepted #6 cc2 offer gtc q1 p110"},
      {NEW(2, OFFER, GTC, 0, 1, 111), "accepted #7 cc2 offer gtc q1 p111"},
      /* Would fill against #2, but is checked before matching. */
      {NEW(3, OFFER, GTC, 0, 1, 97), "rejected #0 levels_full"},
      {NEW(3, OFFER, FOK, 0, 1, 97),
       "accepted #8 cc3 offer fok q1 p97; "
       "trade t2 buy#2 sell#8 cc1/cc3 q1 p99 offer"},
      {NEW(1, BID, GTC, 0, 1, 99), "accepted #9 cc1 bid gtc q1 p99"},
      /* The side is full (99, 97), but #5 is alone at 97: moving frees it. */
      {MODIFY(5, 1, 96), "modified #5 cc1 bid q1 p96 moved"},
      {NEW(1, BID, GTC, 0, 1, 99), "accepted #10 cc1 bid gtc q1 p99"},
      {MODIFY(9, 1, 95), "rejected #9 levels_full"},
      {MODIFY(9, 1, 96), "modified #9 cc1 bid q1 p96 moved"},
  };
  run_fixed(&two_levels, 1000, steps, sizeof steps / sizeof steps[0]);
}

static void test_modify_keeps_or_loses_priority_and_may_trade(void) {
  const fixed_step steps[] = {
      {NEW(1, BID, GTC, 0, 10, 100), "accepted #1 cc1 bid gtc q10 p100"},
      {NEW(2, BID, GTC, 0, 10, 100), "accepted #2 cc2 bid gtc q10 p100"},
      {MODIFY(1, 5, 100), "modified #1 cc1 bid q5 p100 kept"},
      {NEW(3, OFFER, IOC, 0, 6, 100),
       "accepted #3 cc3 offer ioc q6 p100; "
       "trade t1 buy#1 sell#3 cc1/cc3 q5 p100 offer; "
       "trade t2 buy#2 sell#3 cc2/cc3 q1 p100 offer"},
      {NEW(1, BID, GTC, 0, 10, 100), "accepted #4 cc1 bid gtc q10 p100"},
      {MODIFY(2, 12, 100), "modified #2 cc2 bid q12 p100 moved"},
      {NEW(3, OFFER, IOC, 0, 10, 100),
       "accepted #5 cc3 offer ioc q10 p100; "
       "trade t3 buy#4 sell#5 cc1/cc3 q10 p100 offer"},
      {NEW(2, OFFER, GTC, 0, 5, 101), "accepted #6 cc2 offer gtc q5 p101"},
      {MODIFY(2, 12, 101),
       "modified #2 cc2 bid q12 p101 moved; "
       "cancelled #2 cc2 bid q12 self_trade"},
      {MODIFY(2, 12, 101), "rejected #2 unknown_order"},
      {NEW(1, OFFER, GTC, 0, 5, 101), "accepted #7 cc1 offer gtc q5 p101"},
      {NEW(3, BID, GTC, 0, 2, 100), "accepted #8 cc3 bid gtc q2 p100"},
      {MODIFY(8, 8, 101),
       "modified #8 cc3 bid q8 p101 moved; "
       "trade t4 buy#8 sell#6 cc3/cc2 q5 p101 bid; "
       "trade t5 buy#8 sell#7 cc3/cc1 q3 p101 bid"},
      {MODIFY(7, 0, 101), "rejected #7 bad_qty"},
      {MODIFY(7, 2, 0), "rejected #7 bad_price"},
      {MODIFY(7, 2, 101), "modified #7 cc1 offer q2 p101 kept"},
  };
  run_fixed(&plain, 1000, steps, sizeof steps / sizeof steps[0]);
}

static void test_period_end_expires_bids_then_offers_best_first(void) {
  const fixed_step steps[] = {
      {NEW(1, BID, PERIOD, 0, 1, 100), "accepted #1 cc1 bid period q1 p100"},
      {NEW(1, BID, GTC, 0, 1, 100), "accepted #2 cc1 bid gtc q1 p100"},
      {NEW(1, BID, PERIOD, 0, 2, 101), "accepted #3 cc1 bid period q2 p101"},
      {NEW(1, OFFER, PERIOD, 0, 3, 105),
       "accepted #4 cc1 offer period q3 p105"},
      {NEW(1, OFFER, PERIOD, 0, 4, 104),
       "accepted #5 cc1 offer period q4 p104"},
      {cmd_period_end(0),
       "expired #3 cc1 bid q2; expired #1 cc1 bid q1; "
       "expired #5 cc1 offer q4; expired #4 cc1 offer q3"},
      {cmd_period_end(0), ""},
      {cmd_period_end(1), "rejected #0 unknown_service"},
      {cmd_new(1, 1, IMX_BID, IMX_TIF_GTC, 0, 1, 100),
       "rejected #0 unknown_service"},
      {CANCEL(2), "cancelled #2 cc1 bid q1 user"},
  };
  run_fixed(&plain, 1000, steps, sizeof steps / sizeof steps[0]);
}

static void test_validation_order_first_failure_wins(void) {
  const imx_service_config coarse_indivisible = SERVICE(5, 10, 0, 0);
  const fixed_step steps[] = {
      {cmd_new(0, 1, (imx_side)2, (imx_tif)9, 0, 0, 0), "rejected #0 bad_side"},
      {NEW(1, BID, GTC, 0, 0, 0), "rejected #0 bad_qty"},
      {cmd_new(0, 1, IMX_BID, (imx_tif)9, 0, 0, 0), "rejected #0 bad_tif"},
      {NEW(1, BID, GTC, 0, 10, 0), "rejected #0 bad_price"},
      {NEW(1, BID, GTC, 0, IMX_QTY_MAX + 10, 100), "rejected #0 bad_qty"},
      {NEW(1, BID, GTC, 0, 10, IMX_PRICE_MAX_MINOR + 5),
       "rejected #0 bad_price"},
      {NEW(1, BID, GTC, 0, 11, 101), "rejected #0 bad_tick"},
      {NEW(1, BID, GTC, 0, 11, 100), "rejected #0 bad_lot"},
      {NEW(1, BID, GTC, 0, 10, 100), "rejected #0 aon_required"},
      {NEW(1, BID, GTC, 1, 10, 100), "accepted #1 cc1 bid gtc aon q10 p100"},
      {MODIFY(1, 11, 101), "rejected #1 bad_tick"},
      {MODIFY(1, 11, 100), "rejected #1 bad_lot"},
      {MODIFY(1, -10, 100), "rejected #1 bad_qty"},
      {MODIFY(2, 10, 100), "rejected #2 unknown_order"},
      {MODIFY(1, 20, 105), "modified #1 cc1 bid q20 p105 moved"},
      {NEW(2, OFFER, GTC, 1, 10, 100),
       "accepted #2 cc2 offer gtc aon q10 p100"},
  };
  run_fixed(&coarse_indivisible, 1000, steps, sizeof steps / sizeof steps[0]);
}

static void test_orders_full_rejects_until_an_order_leaves(void) {
  const fixed_step steps[] = {
      {NEW(1, BID, GTC, 0, 1, 100), "accepted #1 cc1 bid gtc q1 p100"},
      {NEW(1, BID, GTC, 0, 1, 99), "accepted #2 cc1 bid gtc q1 p99"},
      {NEW(2, OFFER, IOC, 0, 1, 100), "rejected #0 orders_full"},
      {NEW(2, OFFER, GTC, 0, 0, 100), "rejected #0 bad_qty"},
      {CANCEL(2), "cancelled #2 cc1 bid q1 user"},
      {NEW(2, OFFER, IOC, 0, 1, 100),
       "accepted #3 cc2 offer ioc q1 p100; "
       "trade t1 buy#1 sell#3 cc1/cc2 q1 p100 offer"},
  };
  run_fixed(&plain, 2, steps, sizeof steps / sizeof steps[0]);
}

static void test_levels_max_0_means_the_default(void) {
  scenario sc;
  memset(&sc, 0, sizeof sc);
  sc.orders_max = IMX_LEVELS_DEFAULT + 8;
  sc.nsvc = 1;
  sc.svc[0] = plain;
  sc.ncc = 1;
  world *w = malloc(sizeof *w);
  if (w == NULL || world_open(w, &sc) != 0) abort();
  int differ = 0;
  for (int64_t i = 0; i < IMX_LEVELS_DEFAULT; i++) {
    cmd c = NEW(1, BID, GTC, 0, 1, 100000 - i);
    differ += world_step(w, &c);
  }
  CHECK_EQ(0, differ);
  const cmd last[] = {
      NEW(1, BID, GTC, 0, 1, 1),      /* one level too many */
      NEW(1, BID, PERIOD, 0, 1, 1),   /* likewise */
      NEW(1, BID, IOC, 0, 1, 1),      /* cannot rest: needs no level */
      NEW(1, BID, GTC, 0, 1, 100000), /* an existing level */
  };
  const char *want[] = {
      "rejected #0 levels_full", "rejected #0 levels_full",
      "accepted #4097 cc1 bid ioc q1 p1; cancelled #4097 cc1 bid q1 ioc",
      "accepted #4098 cc1 bid gtc q1 p100000"};
  for (size_t i = 0; i < sizeof last / sizeof last[0]; i++) {
    if (world_step(w, &last[i])) {
      fprintf(stderr, "%s", w->why);
      CHECK(0);
    }
    CHECK_STR(want[i], ev_log_brief(&w->log_m));
  }
  world_close(w);
  free(w);
}

static void test_service_config_is_checked_by_both(void) {
  const imx_service_config bad[] = {
      SERVICE(0, 1, 1, 0), SERVICE(1, 0, 1, 0),
      SERVICE(1, 1, 1, IMX_LEVELS_MAX + 1)};
  imx_engine *e = NULL;
  imx_engine_config cfg = {
      .orders_max = 16, .services_max = 1, .on_event = ev_log_push};
  ev_log l = {NULL, 0, 0};
  cfg.ctx = &l;
  CHECK_EQ(IMX_OK, imx_engine_create(&cfg, &e));
  ref_model *m = ref_create(ev_log_push, &l);
  CHECK(m != NULL);
  uint32_t id = 0;
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_EQ(IMX_E_BAD_CONFIG, imx_engine_service_add(e, &bad[i], &id));
    CHECK_EQ(IMX_E_BAD_CONFIG, ref_service_add(m, &bad[i], &id));
  }
  const imx_service_config widest = SERVICE(1, 1, 1, IMX_LEVELS_MAX);
  CHECK_EQ(IMX_OK, imx_engine_service_add(e, &widest, &id));
  CHECK_EQ(IMX_OK, ref_service_add(m, &widest, &id));
  CHECK_EQ(0, id); /* the model numbers services from 0 */
  CHECK_EQ(IMX_E_SERVICES_FULL, imx_engine_service_add(e, &plain, &id));
  CHECK_EQ(0, l.len); /* creating services emits nothing */
  imx_engine_destroy(e);
  ref_destroy(m);
  free(l.evs);
}

int main(int argc, char **argv) {
  static const check_case cases[] = {
      CHECK_CASE(test_price_time_priority_and_the_resting_price),
      CHECK_CASE(test_aon_skips_self_trade_stops_fok_and_aon_feasibility),
      CHECK_CASE(test_levels_full_for_new_orders_and_modifies),
      CHECK_CASE(test_modify_keeps_or_loses_priority_and_may_trade),
      CHECK_CASE(test_period_end_expires_bids_then_offers_best_first),
      CHECK_CASE(test_validation_order_first_failure_wins),
      CHECK_CASE(test_orders_full_rejects_until_an_order_leaves),
      CHECK_CASE(test_levels_max_0_means_the_default),
      CHECK_CASE(test_service_config_is_checked_by_both),
      CHECK_CASE(test_random_streams_agree_with_the_model),
  };
  return check_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
