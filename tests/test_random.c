/*
** test_random.c -- the engine against the reference model (refmodel.c),
** which implements docs/matching.md independently of engine/.
**
** Both get the same commands: continuous orders, cancels and modifies,
** period ends, calls of auction books (market orders among them), budgets
** and capacities (cc_set, capacity_set), tenders of both decide modes,
** quotes, awards by the rule and by choice, quote withdrawals, tender
** cancels and the clock. After every command the returned statuses, the new
** order and tender ids, the open tenders and their quotes (through the
** engine's queries), the whole event streams (every field of every
** event), the auction result of a call, every book side (orders in priority
** order and the levels), each cost centre's open orders (orders_of, in id
** order), the open order counts, order_get of the ids
** involved, and with risk on the balance of every cost centre and the
** capacity of every (cost centre, service) must agree, and
** imx_engine_check() and ref_check() must pass.
**
** A seed's scenario picks the modes of its services (continuous or
** auction), whether risk is on (then the stream starts by declaring most
** budgets and capacities), whether tenders are traded, and small limits
** (ccs_max, tenders_max, orders_per_cc_max, price caps) so that every
** rejection happens somewhere. A third of the seeds without risk number
** their cost centres so that they collide in the engine's table of
** cost centre lists (cc_collide).
**
** The random streams come from a fixed list of seeds (1..SEEDS), so a run is
** reproducible; the first divergence of a seed prints the seed and command
** index, then the run is shrunk to a short command sequence that still
** diverges, which is printed too. Environment:
**   IMX_RANDOM_SEED=n    run only seed n (n-m: seeds n to m, for soak runs)
**   IMX_RANDOM_TRACE=1   print every command and the engine's events
**   IMX_RANDOM_COMMANDS=n  commands per seed (default COMMANDS); more
**                        grows deeper books, for soak runs
**   IMX_RANDOM_SEEDS=n   seeds 1..n (default SEEDS), for longer runs
**
** The order pool: the model has none. One seed in four gives the engine
** orders_max 64, so orders_full happens often; the others give it one slot
** per command, and before command i at most i orders are open, so it never
** fills. Whenever the model holds
** orders_max open orders and would accept a new order (or reject it only with
** levels_full or a status the rules check after it: self_trade in an
** auction book, or a risk status), the engine must reject it with
** orders_full and nothing else; the model skips that command.
**
** Positions: the engine keeps a (cost centre, service) pair for every
** capacity and every auction order; the model has none, so positions_max is
** sized for every pair a scenario can name and positions_full never
** happens. It is small because imx_engine_check() clears it every time.
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
  RELOAD_EVERY = 97, /* commands between two snapshot round trips */
  SVC_MAX = 3,
  PRICE_MID_TICKS = 200, /* prices are tick * (mid +- a scenario's spread) */
  SEEDS_REPORTED_MAX = 3, /* stop after this many divergent seeds */
  SHRINK_REPLAYS_MAX = 4000,
  DEEP_SEEDS = 3,
  DEEP_COMMANDS = 12000,
  DEEP_COMPARE_EVERY = 250,
  DEEP_MID_TICKS = 5000,  /* deep books: prices mid +- DEEP_BAND_TICKS */
  DEEP_BAND_TICKS = 2500,
  DEEP_CROSS_TICKS = 200  /* bids reach this far above mid, offers below */
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
static const char *const status_names[] = {
    "ok",          "unknown_service", "unknown_order", "bad_side",
    "bad_tif",     "bad_qty",         "bad_price",     "bad_tick",
    "bad_lot",     "aon_required",    "orders_full",   "levels_full",
    "services_full", "bad_config",    "nomem",         "unknown_cc",
    "insufficient_budget", "over_capacity", "self_trade", "wrong_mode",
    "positions_full", "tenders_full", "unknown_tender", "above_ceiling",
    "quotes_full", "already_quoted", "bad_deadline",  "too_many_orders",
    "too_many_tenders", "unknown_quote", "wrong_decide", "bad_stars",
    "ratings_full", "bad_weights"};

enum { STATUSES = sizeof status_names / sizeof status_names[0] };

static const char *status_str(imx_status s) {
  return (unsigned)s < STATUSES ? status_names[s] : "?status";
}

static const char *side_str(imx_side s) {
  return s == IMX_BID     ? "bid"
         : s == IMX_OFFER ? "offer"
         : s == IMX_NO_SIDE ? "none"
                            : "?side";
}

static const char *tif_str(imx_tif t) {
  static const char *const names[] = {"gtc", "period", "ioc", "fok"};
  return (unsigned)t < 4 ? names[t] : "?tif";
}

static const char *reason_str(imx_cancel_reason r) {
  static const char *const names[] = {"user", "ioc", "fok", "self_trade"};
  return (unsigned)r < 4 ? names[r] : "?reason";
}

static const char *const type_names[] = {
    "ACCEPTED",       "TRADE",          "CANCELLED",       "EXPIRED",
    "REJECTED",       "MODIFIED",       "AUCTION",         "TENDER_OPENED",
    "QUOTE_ACCEPTED", "QUOTE_RELEASED", "TENDER_AWARDED",  "TENDER_UNFILLED",
    "TENDER_CANCELLED", "TENDER_LAPSED", "QUOTE_WITHDRAWN"};

enum { TYPES = sizeof type_names / sizeof type_names[0] };

static const char *type_str(imx_event_type t) {
  return (unsigned)t < TYPES ? type_names[t] : "?TYPE";
}

/* Every field, for divergence reports. */
static void ev_format_full(const imx_event *ev, char *buf, size_t n) {
  snprintf(buf, n,
           "%s svc=%" PRIu32 " id=%" PRIu64 " cc=%" PRIu32
           " side=%d tif=%d aon=%d qty=%" PRId64 " price=%" PRId64
           " reason=%d status=%d(%s) kept=%d trade=%" PRIu64 " buy=%" PRIu64
           " sell=%" PRIu64 " bcc=%" PRIu32 " scc=%" PRIu32 " aggr=%d"
           " surplus=%" PRId64 "/%d available=%" PRId64 " tender=%" PRIu64
           " quote=%" PRIu64 " deadline=%" PRId64 " decide=%d weights=%u/%u"
           " score=%" PRId64,
           type_str(ev->type), ev->service, ev->order_id, ev->cc,
           (int)ev->side, (int)ev->tif, ev->aon, ev->qty, ev->price_minor,
           (int)ev->reason, (int)ev->status, status_str(ev->status),
           ev->priority_kept, ev->trade_id, ev->buy_order_id,
           ev->sell_order_id, ev->buyer_cc, ev->seller_cc, (int)ev->aggressor,
           ev->surplus, (int)ev->surplus_side, ev->available, ev->tender_id,
           ev->quote_id, ev->deadline_ms, (int)ev->decide, ev->price_weight,
           ev->quality_weight, ev->score);
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
    if (ev->tender_id != 0) {
      snprintf(buf, n, "trade t%" PRIu64 " tender%" PRIu64 " quote%" PRIu64
               " cc%" PRIu32 "/cc%" PRIu32 " q%" PRId64 " p%" PRId64,
               ev->trade_id, ev->tender_id, ev->quote_id, ev->buyer_cc,
               ev->seller_cc, ev->qty, ev->price_minor);
      break;
    }
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
    if (ev->quote_id != 0)
      snprintf(buf, n, "rejected tender%" PRIu64 " quote%" PRIu64 " %s",
               ev->tender_id, ev->quote_id, status_str(ev->status));
    else if (ev->tender_id != 0)
      snprintf(buf, n, "rejected tender%" PRIu64 " %s", ev->tender_id,
               status_str(ev->status));
    else
      snprintf(buf, n, "rejected #%" PRIu64 " %s", ev->order_id,
               status_str(ev->status));
    if (ev->available != 0) {
      size_t used = strlen(buf);
      snprintf(buf + used, n - used, " available %" PRId64, ev->available);
    }
    break;
  case IMX_EV_MODIFIED:
    snprintf(buf, n, "modified #%" PRIu64 " cc%" PRIu32 " %s q%" PRId64
             " p%" PRId64 " %s", ev->order_id, ev->cc, side_str(ev->side),
             ev->qty, ev->price_minor, ev->priority_kept ? "kept" : "moved");
    break;
  case IMX_EV_AUCTION:
    snprintf(buf, n, "auction p%" PRId64 " q%" PRId64 " surplus %" PRId64
             " %s", ev->price_minor, ev->qty, ev->surplus,
             side_str(ev->surplus_side));
    break;
  case IMX_EV_TENDER_OPENED:
    snprintf(buf, n, "tender_opened tender%" PRIu64 " cc%" PRIu32 " q%" PRId64
             " ceiling %" PRId64 " deadline %" PRId64 "%s", ev->tender_id,
             ev->cc, ev->qty, ev->price_minor, ev->deadline_ms,
             ev->decide == IMX_DECIDE_CHOOSE  ? " choose"
             : ev->decide == IMX_DECIDE_SCORE ? " score"
                                              : "");
    break;
  case IMX_EV_QUOTE_ACCEPTED:
  case IMX_EV_QUOTE_RELEASED:
  case IMX_EV_QUOTE_WITHDRAWN:
    snprintf(buf, n, "%s tender%" PRIu64 " quote%" PRIu64 " cc%" PRIu32
             " q%" PRId64 " p%" PRId64, ev->type == IMX_EV_QUOTE_ACCEPTED
             ? "quote_accepted" : ev->type == IMX_EV_QUOTE_RELEASED
             ? "quote_released" : "quote_withdrawn", ev->tender_id,
             ev->quote_id, ev->cc, ev->qty, ev->price_minor);
    break;
  case IMX_EV_TENDER_AWARDED:
    snprintf(buf, n, "tender_awarded tender%" PRIu64 " quote%" PRIu64
             " cc%" PRIu32 " q%" PRId64 " p%" PRId64 " t%" PRIu64,
             ev->tender_id, ev->quote_id, ev->cc, ev->qty, ev->price_minor,
             ev->trade_id);
    break;
  case IMX_EV_TENDER_UNFILLED:
  case IMX_EV_TENDER_CANCELLED:
  case IMX_EV_TENDER_LAPSED:
    snprintf(buf, n, "%s tender%" PRIu64 " cc%" PRIu32 " q%" PRId64,
             ev->type == IMX_EV_TENDER_UNFILLED ? "tender_unfilled"
             : ev->type == IMX_EV_TENDER_LAPSED ? "tender_lapsed"
                                                : "tender_cancelled",
             ev->tender_id, ev->cc, ev->qty);
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
         a->quote_id == b->quote_id && a->deadline_ms == b->deadline_ms &&
         a->decide == b->decide && a->price_weight == b->price_weight &&
         a->quality_weight == b->quality_weight && a->score == b->score;
}

static int info_equal(const imx_order_info *a, const imx_order_info *b) {
  return a->order_id == b->order_id && a->service == b->service &&
         a->cc == b->cc && a->side == b->side && a->tif == b->tif &&
         a->aon == b->aon && a->qty_original == b->qty_original &&
         a->qty_open == b->qty_open && a->qty_filled == b->qty_filled &&
         a->price_minor == b->price_minor && a->min_stars == b->min_stars &&
         a->allow_unrated == b->allow_unrated;
}

static void info_format(const imx_order_info *o, char *buf, size_t n) {
  snprintf(buf, n, "#%" PRIu64 " svc=%" PRIu32 " cc%" PRIu32 " %s %s aon=%d"
           " orig=%" PRId64 " open=%" PRId64 " filled=%" PRId64 " p%" PRId64
           " stars=%d%s", o->order_id, o->service, o->cc, side_str(o->side),
           tif_str(o->tif), o->aon, o->qty_original, o->qty_open, o->qty_filled,
           o->price_minor, o->min_stars, o->allow_unrated ? "+unrated" : "");
}

/* ---- commands ------------------------------------------------------------ */

typedef enum cmd_kind {
  CMD_NEW,
  CMD_CANCEL,
  CMD_MODIFY,
  CMD_PERIOD_END,
  CMD_AUCTION,       /* svc, value: the reference */
  CMD_CC_SET,        /* o.cc, value: the budget */
  CMD_CAPACITY_SET,  /* o.cc, svc, value: the capacity */
  CMD_TENDER_NEW,    /* svc, o.cc, o.qty, o.price_minor: the ceiling,
                     ** value: the deadline */
  CMD_QUOTE,         /* the tender, o.cc, o.price_minor */
  CMD_AWARD,         /* the tender */
  CMD_TENDER_CANCEL, /* the tender */
  CMD_CLOCK,         /* value: now */
  CMD_AWARD_QUOTE,   /* the tender, value: the quote id */
  CMD_WITHDRAW,      /* value: the quote id */
  CMD_REPUTATION     /* o.cc, svc, o.qty: ratings, value: stars sum */
} cmd_kind;

/* Commands that target something another command made: an order (cancel,
** modify) or a tender (quote, award, tender cancel). */
static int cmd_targets(cmd_kind kind) {
  return kind == CMD_CANCEL || kind == CMD_MODIFY || kind == CMD_QUOTE ||
         kind == CMD_AWARD || kind == CMD_TENDER_CANCEL ||
         kind == CMD_AWARD_QUOTE;
}

typedef struct cmd {
  cmd_kind kind;
  uint32_t svc;        /* logical service: < nsvc real, else unknown */
  imx_order_new o;     /* CMD_NEW; o.service is set from svc when run */
  uint64_t id;         /* the order or tender id targeted, when target < 0 */
  long target;         /* else the index of the command that made the order
                       ** or tender, so that shrinking keeps the reference */
  int64_t qty_open;    /* CMD_MODIFY */
  int64_t price_minor; /* CMD_MODIFY */
  int64_t value;       /* see cmd_kind */
  imx_decide decide;   /* CMD_TENDER_NEW */
  uint32_t price_weight, quality_weight; /* CMD_TENDER_NEW, decide score */
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

/* Any other command: the fields it does not use stay zero. */
static cmd cmd_other(cmd_kind kind, uint32_t svc, uint32_t cc, int64_t qty,
                     int64_t price_minor, int64_t value) {
  cmd c;
  memset(&c, 0, sizeof c);
  c.kind = kind;
  c.target = -1;
  c.svc = svc;
  c.o.cc = cc;
  c.o.qty = qty;
  c.o.price_minor = price_minor;
  c.value = value;
  return c;
}

/* id: the order id the command targets, resolved. */
static void cmd_format(const cmd *c, uint64_t id, char *buf, size_t n) {
  switch (c->kind) {
  case CMD_NEW:
    snprintf(buf, n, "new(svc %" PRIu32 ", cc %" PRIu32 ", %s(%d), %s(%d),"
             " aon %d, qty %" PRId64 ", price %" PRId64 ", min_stars %d,"
             " allow_unrated %d)", c->svc, c->o.cc,
             side_str(c->o.side), (int)c->o.side, tif_str(c->o.tif),
             (int)c->o.tif, c->o.aon, c->o.qty, c->o.price_minor,
             c->o.min_stars, c->o.allow_unrated);
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
  case CMD_AUCTION:
    snprintf(buf, n, "auction_run(svc %" PRIu32 ", reference %" PRId64 ")",
             c->svc, c->value);
    break;
  case CMD_CC_SET:
    snprintf(buf, n, "cc_set(cc %" PRIu32 ", budget %" PRId64 ")", c->o.cc,
             c->value);
    break;
  case CMD_CAPACITY_SET:
    snprintf(buf, n, "capacity_set(cc %" PRIu32 ", svc %" PRIu32
             ", capacity %" PRId64 ")", c->o.cc, c->svc, c->value);
    break;
  case CMD_TENDER_NEW:
    snprintf(buf, n, "tender_new(svc %" PRIu32 ", cc %" PRIu32 ", qty %" PRId64
             ", ceiling %" PRId64 ", deadline %" PRId64 "%s weights %u/%u)",
             c->svc, c->o.cc, c->o.qty, c->o.price_minor, c->value,
             c->decide == IMX_DECIDE_CHOOSE  ? ", choose"
             : c->decide == IMX_DECIDE_SCORE ? ", score"
                                             : "",
             c->price_weight, c->quality_weight);
    break;
  case CMD_AWARD_QUOTE:
    snprintf(buf, n, "tender_award_quote(tender%" PRIu64 ", quote%" PRId64 ")",
             id, c->value);
    break;
  case CMD_WITHDRAW:
    snprintf(buf, n, "quote_withdraw(quote%" PRId64 ")", c->value);
    break;
  case CMD_QUOTE:
    snprintf(buf, n, "tender_quote(tender%" PRIu64 ", cc %" PRIu32
             ", price %" PRId64 ")", id, c->o.cc, c->o.price_minor);
    break;
  case CMD_AWARD:
    snprintf(buf, n, "tender_award(tender%" PRIu64 ")", id);
    break;
  case CMD_TENDER_CANCEL:
    snprintf(buf, n, "tender_cancel(tender%" PRIu64 ")", id);
    break;
  case CMD_CLOCK:
    snprintf(buf, n, "clock(%" PRId64 ")", c->value);
    break;
  case CMD_REPUTATION:
    snprintf(buf, n, "reputation_set(cc %" PRIu32 ", svc %" PRIu32
             ", ratings %" PRId64 ", sum %" PRId64 ")", c->o.cc, c->svc,
             c->o.qty, c->value);
    break;
  }
}

/* ---- the world: one engine and one model side by side -------------------- */

/* A service config by name, so that fields the header may add stay zero. */
#define SERVICE(tick, lot_units, divisible_flag, levels)                    \
  {.tick_minor = (tick), .lot = (lot_units), .divisible = (divisible_flag), \
   .levels_max = (levels)}
#define AUCTION_SERVICE(tick, lot_units, divisible_flag, levels, cap)       \
  {.tick_minor = (tick), .lot = (lot_units), .divisible = (divisible_flag), \
   .levels_max = (levels), .mode = IMX_MODE_AUCTION, .price_cap_minor = (cap)}

typedef struct scenario {
  uint32_t orders_max; /* the engine's pool */
  uint32_t nsvc;
  imx_service_config svc[SVC_MAX];
  uint32_t ncc;        /* cost centres 1..ncc */
  int cc_edges;        /* 1: cost centre 1 is 0 and ncc is UINT32_MAX */
  int cc_collide;      /* 1 (risk off): the others share their low 24 bits
                       ** with 0 or with UINT32_MAX, so that the engine's
                       ** lists by cost centre (by_cc) live in the
                       ** overflow of its direct table                   */
  /* Bids are priced in [mid - spread, mid + overlap] ticks, offers in
  ** [mid - overlap, mid + spread]: overlap == spread crosses all the time,
  ** a small overlap lets the books grow deep and cross at the edge. */
  int64_t spread_ticks, overlap_ticks;
  uint32_t cancel_pct;           /* of commands */
  uint32_t period_end_per_mille; /* of commands */
  uint32_t auction_per_mille;    /* of commands: calls */
  uint32_t tender_pct;           /* of commands: tender commands, clock */
  uint32_t risk_per_mille;       /* of commands: cc_set, capacity_set */
  uint32_t stars_pct;            /* of bids: with min_stars */
  uint32_t reputation_per_mille; /* of commands: reputation_set */
  /* The engine's settings, given to the model too. */
  int risk;
  uint32_t ccs_max, tenders_max, orders_per_cc_max, ratings_min;
  /* Deep books (test_deep_auction_books_agree_with_the_model): thousands of
  ** orders, so the books and the checks are compared at every call and
  ** every DEEP_COMPARE_EVERY commands; statuses and events at every one. */
  int deep;
} scenario;

typedef struct world {
  const scenario *sc;
  imx_engine *e;
  imx_engine_config cfg; /* the engine's, to make it again (world_reload) */
  ref_model *m;
  ev_log log_e, log_m;
  uint32_t svc_e[SVC_MAX], svc_m[SVC_MAX];
  uint64_t id_last;    /* highest order id handed out */
  size_t steps;        /* commands run so far */
  uint64_t *step_ids;  /* the order or tender id each command got from the
                       ** model, or 0 */
  size_t *id_steps;    /* the command that got each order id */
  size_t *tender_steps;/* the command that got each tender id */
  uint32_t *tender_svc;/* the logical service of each tender id */
  int64_t *tender_ceiling; /* and its ceiling */
  uint8_t *restricted; /* by order id: 1 for a bid with min_stars */
  uint32_t quote_next; /* the cost centre of the next round-robin quote */
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
  if (sc->cc_collide)
    fprintf(stderr, "  cost centres collide: odd i is i << 24, even i UINT32_MAX - (i << 24)\n");
  fprintf(stderr, "  risk %d, ccs_max %" PRIu32 ", tenders_max %" PRIu32
          ", orders_per_cc_max %" PRIu32 ", ratings_min %" PRIu32
          " (0: the defaults, no limit)\n", sc->risk, sc->ccs_max,
          sc->tenders_max, sc->orders_per_cc_max, sc->ratings_min);
  for (uint32_t k = 0; k < sc->nsvc; k++)
    fprintf(stderr, "  svc %" PRIu32 ": %s tick %" PRId64 " lot %" PRId64
            " divisible %d levels_max %" PRIu32 " price_cap %" PRId64 "\n", k,
            sc->svc[k].mode == IMX_MODE_AUCTION ? "auction" : "continuous",
            sc->svc[k].tick_minor, sc->svc[k].lot, sc->svc[k].divisible,
            sc->svc[k].levels_max, sc->svc[k].price_cap_minor);
}

/* The i-th cost centre of a scenario, i in 1..ncc. */
static uint32_t cc_of(const scenario *sc, uint32_t i) {
  assert(i >= 1 && i <= sc->ncc);
  if (sc->cc_edges && i == 1) return 0;
  if (sc->cc_edges && i == sc->ncc) return UINT32_MAX;
  if (sc->cc_collide) return i % 2 ? i << 24 : UINT32_MAX - (i << 24);
  return i;
}

static int world_open(world *w, const scenario *sc) {
  memset(w, 0, sizeof *w);
  w->sc = sc;
  imx_engine_config cfg = {.orders_max = sc->orders_max,
                           .services_max = sc->nsvc,
                           .on_event = ev_log_push,
                           .ctx = &w->log_e,
                           .risk = sc->risk,
                           .ccs_max = sc->ccs_max,
                           /* every pair the scenario can name */
                           .positions_max = sc->ncc * SVC_MAX + 1,
                           .tenders_max = sc->tenders_max,
                           .orders_per_cc_max = sc->orders_per_cc_max,
                           .ratings_min = sc->ratings_min};
  if (imx_engine_create(&cfg, &w->e) != IMX_OK) return -1;
  w->cfg = cfg;
  cfg.ctx = &w->log_m;
  w->m = ref_create_config(&cfg);
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
  free(w->tender_steps);
  free(w->tender_svc);
  free(w->tender_ceiling);
  free(w->restricted);
}

/* The order or tender id a command targets. */
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

/* With risk on, the balance of every cost centre the scenario names and the
** capacity of every (cost centre, service), status and every field; with
** risk off, that both refuse the query. */
static int compare_risk(world *w) {
  const scenario *sc = w->sc;
  uint32_t ncc = sc->risk ? sc->ncc : 1;
  for (uint32_t i = 1; i <= ncc; i++) {
    uint32_t cc = cc_of(sc, i);
    imx_balance be, bm;
    memset(&be, 0, sizeof be);
    memset(&bm, 0, sizeof bm);
    imx_status se = imx_engine_balance(w->e, cc, &be);
    imx_status sm = ref_balance(w->m, cc, &bm);
    if (se != sm || (se == IMX_OK &&
                     (be.budget_minor != bm.budget_minor ||
                      be.reserved_minor != bm.reserved_minor ||
                      be.spent_minor != bm.spent_minor ||
                      be.earned_minor != bm.earned_minor ||
                      be.available_minor != bm.available_minor)))
      return diverge(w, "balance(cc %" PRIu32 "): engine %s budget %" PRId64
                     " reserved %" PRId64 " spent %" PRId64 " earned %" PRId64
                     " available %" PRId64 ", model %s budget %" PRId64
                     " reserved %" PRId64 " spent %" PRId64 " earned %" PRId64
                     " available %" PRId64 "\n", cc, status_str(se),
                     be.budget_minor, be.reserved_minor, be.spent_minor,
                     be.earned_minor, be.available_minor, status_str(sm),
                     bm.budget_minor, bm.reserved_minor, bm.spent_minor,
                     bm.earned_minor, bm.available_minor);
    for (uint32_t k = 0; sc->risk && k < sc->nsvc; k++) {
      imx_capacity ce, cm;
      memset(&ce, 0, sizeof ce);
      memset(&cm, 0, sizeof cm);
      se = imx_engine_capacity(w->e, cc, w->svc_e[k], &ce);
      sm = ref_capacity(w->m, cc, w->svc_m[k], &cm);
      if (se == sm && (se != IMX_OK ||
                       (ce.capacity == cm.capacity &&
                        ce.reserved == cm.reserved && ce.sold == cm.sold &&
                        ce.available == cm.available)))
        continue;
      return diverge(w, "capacity(cc %" PRIu32 ", svc %" PRIu32 "): engine %s"
                     " capacity %" PRId64 " reserved %" PRId64 " sold %" PRId64
                     " available %" PRId64 ", model %s capacity %" PRId64
                     " reserved %" PRId64 " sold %" PRId64 " available %" PRId64
                     "\n", cc, k, status_str(se), ce.capacity, ce.reserved,
                     ce.sold, ce.available, status_str(sm), cm.capacity,
                     cm.reserved, cm.sold, cm.available);
    }
  }
  return 0;
}

static int quote_equal(const imx_quote_info *a, const imx_quote_info *b) {
  return a->quote_id == b->quote_id && a->tender_id == b->tender_id &&
         a->cc == b->cc && a->price_minor == b->price_minor && a->score == b->score;
}

/* The open tenders (the first 64) and their standing quotes, through the
** engine's queries. */
static int compare_tenders(world *w) {
  uint64_t ids[64];
  imx_tender_info ti[64];
  uint32_t n = ref_tenders_open(w->m, ids, 64);
  uint32_t ne = imx_engine_tenders(w->e, 0, ti, 64);
  if (n != ne)
    return diverge(w, "open tenders: engine %" PRIu32 ", model %" PRIu32 "\n",
                   ne, n);
  for (uint32_t i = 0; i < n; i++) {
    imx_quote_info qe[IMX_QUOTES_MAX], qm[IMX_QUOTES_MAX];
    if (ti[i].tender_id != ids[i])
      return diverge(w, "open tender %" PRIu32 ": engine %" PRIu64
                     ", model %" PRIu64 "\n", i, ti[i].tender_id, ids[i]);
    uint32_t ke = imx_engine_tender_quotes(w->e, ids[i], qe, IMX_QUOTES_MAX);
    uint32_t km = ref_tender_quotes(w->m, ids[i], qm, IMX_QUOTES_MAX);
    if (ke != km || ke != ti[i].quotes)
      return diverge(w, "tender%" PRIu64 " quotes: engine %" PRIu32
                     ", model %" PRIu32 "\n", ids[i], ke, km);
    for (uint32_t q = 0; q < ke; q++) {
      imx_quote_info g;
      if (!quote_equal(&qe[q], &qm[q]) ||
          imx_engine_quote_get(w->e, qe[q].quote_id, &g) != IMX_OK ||
          !quote_equal(&g, &qe[q]))
        return diverge(w, "tender%" PRIu64 " quote %" PRIu32 ": engine quote%"
                       PRIu64 " cc%" PRIu32 " p%" PRId64 ", model quote%" PRIu64
                       " cc%" PRIu32 " p%" PRId64 "\n", ids[i], q,
                       qe[q].quote_id, qe[q].cc, qe[q].price_minor,
                       qm[q].quote_id, qm[q].cc, qm[q].price_minor);
    }
  }
  return 0;
}

static int by_order_id(const void *a, const void *b) {
  uint64_t x = ((const imx_order_info *)a)->order_id;
  uint64_t y = ((const imx_order_info *)b)->order_id;
  return x < y ? -1 : x > y;
}

/* imx_engine_orders_of of every cost centre the scenario names: the
** model's open orders of that cost centre (from its books), in id order,
** every field. */
static int compare_orders_of(world *w) {
  uint32_t cap = w->buf_cap, nm = 0;
  for (uint32_t k = 0; k < w->sc->nsvc; k++)
    for (int side = IMX_BID; side <= IMX_OFFER; side++) {
      uint32_t got = ref_orders(w->m, w->svc_m[k], (imx_side)side, w->ord_m + nm,
                                cap - nm);
      for (uint32_t i = nm; i < nm + got; i++) w->ord_m[i].service = w->svc_e[k];
      nm += got;
    }
  qsort(w->ord_m, nm, sizeof *w->ord_m, by_order_id);
  for (uint32_t c = 1; c <= w->sc->ncc; c++) {
    uint32_t cc = cc_of(w->sc, c);
    uint32_t ne = imx_engine_orders_of(w->e, cc, w->ord_e, cap), j = 0;
    for (uint32_t i = 0; i < nm; i++) {
      if (w->ord_m[i].cc != cc) continue;
      if (j >= ne || !info_equal(&w->ord_e[j], &w->ord_m[i])) {
        char be[256] = "(none)", bm[256];
        if (j < ne) info_format(&w->ord_e[j], be, sizeof be);
        info_format(&w->ord_m[i], bm, sizeof bm);
        return diverge(w, "orders_of(cc %" PRIu32 ") differs at position %" PRIu32
                       ":\n    engine %s\n    model  %s\n", cc, j, be, bm);
      }
      j++;
    }
    if (j != ne)
      return diverge(w, "orders_of(cc %" PRIu32 "): engine %" PRIu32
                     " orders, model %" PRIu32 "\n", cc, ne, j);
  }
  return 0;
}

static int compare_state(world *w, uint64_t id) {
  world_buffers(w);
  for (uint32_t k = 0; k < w->sc->nsvc; k++)
    if (compare_side(w, k, IMX_BID) || compare_side(w, k, IMX_OFFER)) return 1;
  /* Every command where the cost centres collide, else every eighth (the
  ** lists are state: a broken one stays broken; this keeps the ASan run's
  ** time). */
  if ((w->sc->cc_collide || w->steps % 8 == 0) && compare_orders_of(w)) return 1;
  if (imx_engine_open_orders(w->e) != ref_open_orders(w->m))
    return diverge(w, "open orders: engine %" PRIu32 ", model %" PRIu32 "\n",
                   imx_engine_open_orders(w->e), ref_open_orders(w->m));
  int bad = imx_engine_check(w->e);
  if (bad != 0) return diverge(w, "imx_engine_check() = %d\n", bad);
  bad = ref_check(w->m);
  if (bad != 0) return diverge(w, "ref_check() = %d (a model bug)\n", bad);
  if (compare_risk(w) || compare_tenders(w)) return 1;
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

/* 1 if the rules check this status after orders_full: with a full pool the
** engine says orders_full instead. */
static int after_orders_full(imx_status v) {
  return v == IMX_OK || v == IMX_E_LEVELS_FULL || v == IMX_E_SELF_TRADE ||
         v == IMX_E_UNKNOWN_CC || v == IMX_E_TOO_MANY_ORDERS ||
         v == IMX_E_INSUFFICIENT_BUDGET || v == IMX_E_OVER_CAPACITY;
}

/* A new order on both sides, or on the engine only when its pool must be
** full (see the top of the file). */
static int step_new(world *w, const cmd *c, imx_status *se, imx_status *sm) {
  uint32_t nsvc = w->sc->nsvc;
  imx_order_new oe = c->o, om = c->o;
  oe.service = svc_id(w->svc_e, nsvc, c->svc);
  om.service = svc_id(w->svc_m, nsvc, c->svc);
  int64_t available = 0;
  imx_status v = ref_order_validate(w->m, &om, &available);
  int pool_full = after_orders_full(v) &&
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

static int step_auction(world *w, const cmd *c, imx_status *se,
                        imx_status *sm) {
  uint32_t nsvc = w->sc->nsvc;
  imx_auction_result re, rm;
  memset(&re, 0, sizeof re);
  memset(&rm, 0, sizeof rm);
  *se = imx_engine_auction_run(w->e, svc_id(w->svc_e, nsvc, c->svc), c->value,
                               &re);
  *sm = ref_auction_run(w->m, svc_id(w->svc_m, nsvc, c->svc), c->value, &rm);
  if (*se != IMX_OK || *sm != IMX_OK) return 0;
  if (re.price_minor == rm.price_minor && re.volume == rm.volume &&
      re.surplus == rm.surplus && re.surplus_side == rm.surplus_side)
    return 0;
  return diverge(w, "auction result: engine p%" PRId64 " q%" PRId64
                 " surplus %" PRId64 " %s, model p%" PRId64 " q%" PRId64
                 " surplus %" PRId64 " %s\n", re.price_minor, re.volume,
                 re.surplus, side_str(re.surplus_side), rm.price_minor,
                 rm.volume, rm.surplus, side_str(rm.surplus_side));
}

static int step_tender_new(world *w, const cmd *c, imx_status *se,
                           imx_status *sm) {
  uint32_t nsvc = w->sc->nsvc;
  imx_tender_new te = {.service = svc_id(w->svc_e, nsvc, c->svc),
                       .cc = c->o.cc,
                       .qty = c->o.qty,
                       .ceiling_minor = c->o.price_minor,
                       .deadline_ms = c->value,
                       .decide = c->decide,
                       .price_weight = c->price_weight,
                       .quality_weight = c->quality_weight};
  imx_tender_new tm = te;
  tm.service = svc_id(w->svc_m, nsvc, c->svc);
  uint64_t id_e = 0, id_m = 0;
  *se = imx_engine_tender_new(w->e, &te, &id_e);
  *sm = ref_tender_new(w->m, &tm, &id_m);
  if (*sm != IMX_OK) return 0;
  w->step_ids[w->steps] = id_m;
  w->tender_steps[id_m] = w->steps; /* ids <= commands, so it fits */
  w->tender_svc[id_m] = c->svc;
  w->tender_ceiling[id_m] = c->o.price_minor;
  if (*se == IMX_OK && id_e != id_m)
    return diverge(w, "new tender id: engine %" PRIu64 ", model %" PRIu64
                   "\n", id_e, id_m);
  return 0;
}

static int step_quote(world *w, const cmd *c, uint64_t tender_id,
                      imx_status *se, imx_status *sm) {
  uint64_t id_e = 0, id_m = 0;
  *se = imx_engine_tender_quote(w->e, tender_id, c->o.cc, c->o.price_minor,
                                &id_e);
  *sm = ref_tender_quote(w->m, tender_id, c->o.cc, c->o.price_minor, &id_m);
  if (*se == IMX_OK && *sm == IMX_OK && id_e != id_m)
    return diverge(w, "new quote id: engine %" PRIu64 ", model %" PRIu64 "\n",
                   id_e, id_m);
  return 0;
}

/* What the random streams exercised, so that a generator that drifts away
** from some rule shows up as a failure rather than as silent green. */
typedef struct coverage {
  uint64_t types[TYPES];
  uint64_t reasons[4];
  uint64_t statuses[STATUSES]; /* of REJECTED events and of cc_set and
                               ** capacity_set, which emit none */
  uint64_t kept[2]; /* MODIFIED with priority_kept 0, 1 */
  uint64_t calls[2]; /* AUCTION events without a price, with one */
  /* min_stars: bids accepted with it, their trades, those that rested
  ** crossed by an offer they skipped, accepted reputation_set */
  uint64_t stars_bids, stars_trades, stars_skipped, reputations;
  uint64_t stars_call_trades; /* of stars_trades: in a call (step 6) */
  uint32_t open_max; /* most open orders at once */
  uint64_t reloads;  /* engines replaced by their snapshot (world_reload) */
} coverage;

static coverage cov;

static void coverage_add(const ev_log *l) {
  for (size_t i = 0; i < l->len; i++) {
    const imx_event *ev = &l->evs[i];
    if ((unsigned)ev->type < TYPES) cov.types[ev->type]++;
    if (ev->type == IMX_EV_CANCELLED && (unsigned)ev->reason < 4)
      cov.reasons[ev->reason]++;
    if (ev->type == IMX_EV_REJECTED && (unsigned)ev->status < STATUSES)
      cov.statuses[ev->status]++;
    if (ev->type == IMX_EV_MODIFIED) cov.kept[ev->priority_kept != 0]++;
    if (ev->type == IMX_EV_AUCTION) cov.calls[ev->qty > 0]++;
  }
}

/* What a bid with min_stars did: accepted, traded, or rested although an
** offer of the book crosses it (the offer's provider was not eligible). */
static void coverage_stars(world *w, const ev_log *l) {
  for (size_t i = 0; i < l->len; i++) {
    const imx_event *ev = &l->evs[i];
    if (ev->type == IMX_EV_TRADE && ev->buy_order_id < w->steps_cap &&
        w->restricted[ev->buy_order_id]) {
      cov.stars_trades++;
      cov.stars_call_trades += ev->aggressor == IMX_NO_SIDE;
    }
  }
  imx_order_info o;
  if (w->id_last == 0 || w->id_last >= w->steps_cap || !w->restricted[w->id_last] ||
      imx_engine_order_get(w->e, w->id_last, &o) != IMX_OK)
    return;
  imx_level_info best;
  if (imx_engine_levels(w->e, o.service, IMX_OFFER, &best, 1) == 1 &&
      best.price_minor <= o.price_minor)
    cov.stars_skipped++;
}

/* Statuses no command of the random streams can give: services are added
** before the stream, memory is not exhausted, positions_max is sized for
** every pair. */
static int status_unreachable(int s) {
  return s == IMX_OK || s == IMX_E_SERVICES_FULL || s == IMX_E_NOMEM ||
         s == IMX_E_POSITIONS_FULL || s == IMX_E_TOO_MANY_TENDERS ||
         s == IMX_E_RATINGS_FULL; /* reputations_max is the default */
}

static void coverage_print(void) {
  fprintf(stderr, "  coverage:");
  for (int t = 0; t < TYPES; t++)
    fprintf(stderr, "%s %s %" PRIu64, t % 6 == 5 ? "\n   " : "",
            type_str((imx_event_type)t), cov.types[t]);
  fprintf(stderr, "\n  calls without a price %" PRIu64 ", with %" PRIu64
          "; open orders at most %" PRIu32 "; engines read from their snapshot %"
          PRIu64 "\n", cov.calls[0], cov.calls[1], cov.open_max, cov.reloads);
  fprintf(stderr, "  min_stars: bids %" PRIu64 ", their trades %" PRIu64
          " (in calls %" PRIu64 "), rested crossed %" PRIu64
          "; reputations set %" PRIu64 "\n", cov.stars_bids, cov.stars_trades,
          cov.stars_call_trades, cov.stars_skipped, cov.reputations);
  fprintf(stderr, "  cancelled:");
  for (int r = 0; r < 4; r++)
    fprintf(stderr, " %s %" PRIu64, reason_str((imx_cancel_reason)r),
            cov.reasons[r]);
  fprintf(stderr, "; modified: kept %" PRIu64 " moved %" PRIu64
          "\n  rejected:", cov.kept[1], cov.kept[0]);
  for (int s = 1; s < STATUSES; s++)
    fprintf(stderr, "%s %s %" PRIu64, s % 7 == 0 ? "\n   " : "",
            status_str((imx_status)s), cov.statuses[s]);
  fprintf(stderr, "\n");
}

/* Every event type, cancel reason, priority outcome and command status
** must have happened somewhere in the random streams. */
static void coverage_check(void) {
  for (int t = 0; t < TYPES; t++) CHECK(cov.types[t] > 0);
  for (int r = 0; r < 4; r++) CHECK(cov.reasons[r] > 0);
  for (int s = 0; s < STATUSES; s++)
    if (!status_unreachable(s)) CHECK(cov.statuses[s] > 0);
  CHECK(cov.kept[0] > 0 && cov.kept[1] > 0);
  CHECK(cov.calls[0] > 0 && cov.calls[1] > 0);
  CHECK(cov.reloads > 0);
  CHECK(cov.stars_bids > 0 && cov.stars_trades > 0 && cov.stars_skipped > 0);
  CHECK(cov.stars_call_trades > 0 && cov.stars_call_trades < cov.stars_trades);
  CHECK(cov.reputations > 0);
}

/* One command, whose target order or tender id is resolved, on both. */
static int world_step_run(world *w, const cmd *c, uint64_t id) {
  imx_status se = IMX_OK, sm = IMX_OK;
  uint32_t nsvc = w->sc->nsvc;
  int bad = 0;
  switch (c->kind) {
  case CMD_NEW:
    bad = step_new(w, c, &se, &sm);
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
  case CMD_AUCTION:
    bad = step_auction(w, c, &se, &sm);
    break;
  case CMD_CC_SET:
    se = imx_engine_cc_set(w->e, c->o.cc, c->value);
    sm = ref_cc_set(w->m, c->o.cc, c->value);
    break;
  case CMD_CAPACITY_SET:
    se = imx_engine_capacity_set(w->e, c->o.cc, svc_id(w->svc_e, nsvc, c->svc),
                                 c->value);
    sm = ref_capacity_set(w->m, c->o.cc, svc_id(w->svc_m, nsvc, c->svc),
                          c->value);
    break;
  case CMD_TENDER_NEW:
    bad = step_tender_new(w, c, &se, &sm);
    break;
  case CMD_QUOTE:
    bad = step_quote(w, c, id, &se, &sm);
    break;
  case CMD_AWARD:
    se = imx_engine_tender_award(w->e, id);
    sm = ref_tender_award(w->m, id);
    break;
  case CMD_TENDER_CANCEL:
    se = imx_engine_tender_cancel(w->e, id);
    sm = ref_tender_cancel(w->m, id);
    break;
  case CMD_CLOCK:
    se = imx_engine_clock(w->e, c->value);
    sm = ref_clock(w->m, c->value);
    break;
  case CMD_AWARD_QUOTE:
    se = imx_engine_tender_award_quote(w->e, id, (uint64_t)c->value);
    sm = ref_tender_award_quote(w->m, id, (uint64_t)c->value);
    break;
  case CMD_WITHDRAW:
    se = imx_engine_quote_withdraw(w->e, (uint64_t)c->value);
    sm = ref_quote_withdraw(w->m, (uint64_t)c->value);
    break;
  case CMD_REPUTATION:
    se = imx_engine_reputation_set(w->e, c->o.cc, svc_id(w->svc_e, nsvc, c->svc),
                                   (uint32_t)c->o.qty, (uint64_t)c->value);
    sm = ref_reputation_set(w->m, c->o.cc, svc_id(w->svc_m, nsvc, c->svc),
                            (uint32_t)c->o.qty, (uint64_t)c->value);
    break;
  }
  if (se != sm) {
    diverge(w, "status: engine %s, model %s\n", status_str(se), status_str(sm));
    append_log(w, "engine", &w->log_e);
    append_log(w, "model", &w->log_m);
    return 1;
  }
  int order_cmd = c->kind == CMD_CANCEL || c->kind == CMD_MODIFY;
  int compare = !w->sc->deep || c->kind == CMD_AUCTION ||
                c->kind == CMD_PERIOD_END ||
                (w->steps + 1) % DEEP_COMPARE_EVERY == 0;
  if (bad || compare_events(w) ||
      (compare && compare_state(w, order_cmd ? id : 0)))
    return 1;
  if (c->kind == CMD_NEW && se == IMX_OK && c->o.min_stars != 0) {
    w->restricted[w->id_last] = 1;
    cov.stars_bids++;
  }
  coverage_add(&w->log_e);
  coverage_stars(w, &w->log_e);
  if ((c->kind == CMD_CC_SET || c->kind == CMD_CAPACITY_SET ||
       c->kind == CMD_REPUTATION) &&
      (unsigned)se < STATUSES)
    cov.statuses[se]++;
  if (c->kind == CMD_REPUTATION && se == IMX_OK) cov.reputations++;
  uint32_t open = ref_open_orders(w->m);
  cov.open_max = open > cov.open_max ? open : cov.open_max;
  return 0;
}

/* Replaces the engine with one read from its snapshot, as imxd does at a
** restart: the model, which never restarts, must then still agree with
** every later command. The snapshot of the copy must be the same bytes. */
static int world_reload(world *w) {
  size_t n = imx_engine_snapshot_write(w->e, NULL, 0);
  uint8_t *a = malloc(n), *b = malloc(n);
  if (a == NULL || b == NULL) abort();
  if (imx_engine_snapshot_write(w->e, a, n) != n) abort();
  imx_engine *copy = NULL;
  const char *why = NULL;
  imx_engine_config cfg = w->cfg;
  int bad = imx_engine_create(&cfg, &copy) != IMX_OK;
  for (uint32_t k = 0; !bad && k < w->sc->nsvc; k++) {
    uint32_t id;
    bad = imx_engine_service_add(copy, &w->sc->svc[k], &id) != IMX_OK || id != w->svc_e[k];
  }
  if (!bad && imx_engine_snapshot_read(copy, a, n, &why) != IMX_OK) {
    diverge(w, "snapshot_read: %s\n", why ? why : "?");
    bad = 1;
  } else if (!bad && (imx_engine_snapshot_write(copy, b, n) != n || memcmp(a, b, n) != 0)) {
    diverge(w, "the snapshot of the read snapshot differs\n");
    bad = 1;
  }
  free(a);
  free(b);
  if (bad) {
    imx_engine_destroy(copy);
    return 1;
  }
  imx_engine_destroy(w->e);
  w->e = copy;
  cov.reloads++;
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
    w->tender_steps =
        realloc(w->tender_steps, w->steps_cap * sizeof *w->tender_steps);
    w->tender_svc = realloc(w->tender_svc, w->steps_cap * sizeof *w->tender_svc);
    w->tender_ceiling = realloc(w->tender_ceiling,
                                w->steps_cap * sizeof *w->tender_ceiling);
    size_t had = w->restricted ? w->steps_cap / 2 : 0;
    w->restricted = realloc(w->restricted, w->steps_cap);
    if (!w->step_ids || !w->id_steps || !w->tender_steps || !w->tender_svc ||
        !w->tender_ceiling || !w->restricted)
      abort();
    memset(w->restricted + had, 0, w->steps_cap - had);
  }
  w->step_ids[w->steps] = 0;
  uint64_t id = cmd_targets(c->kind) ? cmd_target(w, c) : 0;
  int bad = world_step_run(w, c, id);
  w->steps++;
  if (!bad && w->steps % RELOAD_EVERY == 0) bad = world_reload(w);
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
  sc.spread_ticks = one_in(r, 3) ? 25 : 6;
  sc.overlap_ticks = one_in(r, 2) ? sc.spread_ticks : (int64_t)below(r, 3);
  /* Half the seeds call auctions: each service is then an auction book
  ** with even odds, the first always. */
  int auctions = one_in(r, 2);
  for (uint32_t k = 0; k < sc.nsvc; k++) {
    sc.svc[k] = kinds[below(r, sizeof kinds / sizeof kinds[0])];
    if (auctions && (k == 0 || one_in(r, 2))) sc.svc[k].mode = IMX_MODE_AUCTION;
    /* A cap inside the price band: bad_price above it, and market bids
    ** reserve qty x cap. */
    if (one_in(r, 3))
      sc.svc[k].price_cap_minor =
          sc.svc[k].tick_minor * (PRICE_MID_TICKS + sc.spread_ticks / 2 + 1);
  }
  sc.tender_pct = one_in(r, 2) ? 10 : 0;
  /* Enough cost centres now and then for a tender to fill its quotes. */
  sc.ncc = 2 + below(r, 4);
  if (sc.tender_pct && one_in(r, 4)) {
    sc.ncc = 2 + IMX_QUOTES_MAX;
    sc.tender_pct = 30;
  }
  sc.cc_edges = one_in(r, 4);
  sc.cancel_pct = one_in(r, 2) ? 14 : 4;
  sc.period_end_per_mille = one_in(r, 2) ? 30 : 5;
  sc.auction_per_mille = auctions ? (one_in(r, 2) ? 120 : 30) : 2;
  sc.risk = one_in(r, 2);
  sc.risk_per_mille = sc.risk ? 15 : 2;
  /* From the seed, not the stream: the other seeds' commands stay as
  ** they were. With risk on, cost centres are below ccs_max. */
  sc.cc_collide = !sc.risk && seed % 3 == 1;
  /* Small limits: the last cost centre out of range, few tenders, few
  ** orders per cost centre. ccs_max stays small in any case because
  ** imx_engine_check() clears an array of that size every time. */
  sc.ccs_max = sc.ncc + (one_in(r, 3) ? 0 : 1);
  sc.tenders_max = one_in(r, 3) ? 3 : 0;
  sc.orders_per_cc_max = sc.risk && one_in(r, 3) ? 6 : 0;
  /* Quality: most seeds have bids with min_stars and reputations that
  ** change; the threshold of "rated" from 1 to 5 (0: the default, 3). */
  sc.stars_pct = one_in(r, 4) ? 0 : one_in(r, 2) ? 20 : 50;
  sc.reputation_per_mille = sc.stars_pct ? (one_in(r, 2) ? 10 : 40) : 2;
  static const uint32_t ratings_mins[] = {0, 1, 2, 5};
  sc.ratings_min = ratings_mins[below(r, 4)];
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
  switch (below(r, 15)) {
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
  case 13: *qty += 1; *price_minor = 0; break; /* bad_lot, or a market */
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

/* One of the scenario's cost centres. */
static uint32_t gen_cc(rng *r, const scenario *sc) {
  return cc_of(sc, 1 + below(r, sc->ncc));
}

/* A logical service: mostly a real one, now and then an unknown one. */
static uint32_t gen_svc(rng *r, const scenario *sc, uint32_t unknown_in) {
  return one_in(r, unknown_in) ? sc->nsvc + below(r, 2) : below(r, sc->nsvc);
}

static cmd gen_new(rng *r, const world *w) {
  const scenario *sc = w->sc;
  uint32_t k = gen_svc(r, sc, 60);
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
  /* Market orders: auction books take them, continuous ones refuse. */
  if (one_in(r, cfg->mode == IMX_MODE_AUCTION ? 8 : 200))
    price = IMX_PRICE_MARKET;
  if (one_in(r, 30)) spoil(r, cfg, &qty, &price);
  cmd c = cmd_new(k, gen_cc(r, sc), side, tif, aon, qty, price);
  if (side == IMX_BID && below(r, 100) < sc->stars_pct) {
    static const int stars[] = {10, 30, 40, 44, 45, 46, 50};
    c.o.min_stars = stars[below(r, 7)];
    c.o.allow_unrated = one_in(r, 3);
  }
  if (one_in(r, 150)) { /* bad_stars: out of range, on an offer, or
                        ** allow_unrated alone */
    static const int bad[] = {9, 51, 1, -45, 100, 0};
    c.o.min_stars = bad[below(r, 6)];
    c.o.allow_unrated = c.o.min_stars == 0 ? 1 : (int)below(r, 2);
  }
  if (one_in(r, 300)) {
    c.o.side = IMX_OFFER;
    c.o.min_stars = 45;
  }
  return c;
}

/* reputation_set: counts and sums that put providers on both sides of the
** thresholds (9 ratings summing 40 is 4.44, 10 summing 45 exactly 4.5),
** now and then a sum out of range or an unknown service. */
static cmd gen_reputation(rng *r, const world *w) {
  const scenario *sc = w->sc;
  static const uint32_t counts[] = {0, 1, 2, 3, 4, 5, 9, 10, 40};
  uint32_t n = counts[below(r, 9)];
  uint64_t sum = n + below(r, 4 * n + 1); /* n .. 5n */
  if (n == 9 && one_in(r, 2)) sum = 40;
  if (n == 10 && one_in(r, 2)) sum = 45;
  if (one_in(r, 40)) sum = one_in(r, 2) ? 5ull * n + 1 : (n ? n - 1 : 1);
  cmd c = cmd_other(CMD_REPUTATION, gen_svc(r, sc, 40), gen_cc(r, sc),
                    (int64_t)n, 0, (int64_t)sum);
  return c;
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
    if (cfg->mode == IMX_MODE_AUCTION && one_in(r, 2)) price = IMX_PRICE_MARKET;
    break;
  default: spoil(r, cfg, &qty, &price); break;
  }
  if (qty < lot && one_in(r, 2)) qty = lot; /* mostly keep it valid */
  c.qty_open = qty;
  c.price_minor = price;
  return c;
}

/* A reference for a call: near the band, none, or off the tick or cap. */
static int64_t gen_reference(rng *r, const world *w, uint32_t k) {
  const imx_service_config *cfg = svc_cfg(w->sc, k);
  int64_t tick = cfg->tick_minor;
  switch (below(r, 12)) {
  case 0: return 0;
  case 1: return tick + 1 - one_in(r, 2) * 2 * (tick + 1); /* off, or < 0 */
  case 2: return IMX_PRICE_MAX_MINOR / tick * tick + tick; /* above any cap */
  default:
    return tick * (PRICE_MID_TICKS - 3 + (int64_t)below(r, 7));
  }
}

/* cc_set or capacity_set: mostly valid, amounts from nothing to plenty. */
static cmd gen_risk(rng *r, const world *w) {
  const scenario *sc = w->sc;
  uint32_t cc = one_in(r, 40) ? sc->ccs_max + below(r, 3) : gen_cc(r, sc);
  if (one_in(r, 2)) {
    static const int64_t budgets[] = {0,      2000,      20000,
                                      200000, 2000000, 1000000000000LL};
    int64_t budget = budgets[below(r, 6)];
    if (one_in(r, 40)) budget = -1 - (int64_t)below(r, 100);
    return cmd_other(CMD_CC_SET, 0, cc, 0, 0, budget);
  }
  uint32_t k = gen_svc(r, sc, 30);
  static const int64_t units[] = {0, 5, 30, 300, 100000};
  int64_t capacity = svc_cfg(sc, k)->lot * units[below(r, 5)];
  if (one_in(r, 40)) capacity = one_in(r, 2) ? -1 : IMX_CAPACITY_MAX + 1;
  return cmd_other(CMD_CAPACITY_SET, k, cc, 0, 0, capacity);
}

/* A random open tender of the model; 0 if none. */
static uint64_t pick_tender(rng *r, const world *w) {
  uint64_t ids[64];
  uint32_t n = ref_tenders_open(w->m, ids, 64);
  return n == 0 ? 0 : ids[below(r, n)];
}

static uint64_t oldest_tender(const world *w) {
  uint64_t id = 0;
  return ref_tenders_open(w->m, &id, 1) ? id : 0;
}

/* A tender id that is probably not open. */
static uint64_t gen_other_tender(rng *r) {
  switch (below(r, 3)) {
  case 0: return 0;
  case 1: return 1 + below(r, 50);
  default: return UINT64_MAX - below(r, 2);
  }
}

/* Tender commands and the clock. */
static cmd gen_tender(rng *r, world *w) {
  const scenario *sc = w->sc;
  int64_t now = ref_clock_now(w->m);
  /* Where the clock, new tenders, quotes and awards end (the rest are
  ** tender cancels); with many cost centres tenders live longer. */
  int many = sc->ncc > IMX_QUOTES_MAX;
  uint32_t clock_end = many ? 4 : 12, new_end = many ? 14 : 40,
           quote_end = many ? 95 : 80, award_end = many ? 98 : 94;
  uint32_t u = below(r, 100);
  if (u < clock_end) { /* the clock, now and then backwards */
    int64_t to = one_in(r, 8) ? now - (int64_t)below(r, 5)
                              : now + 1 + (int64_t)below(r, 15);
    return cmd_other(CMD_CLOCK, 0, 0, 0, 0, to);
  }
  if (u < new_end) {
    uint32_t k = gen_svc(r, sc, 30);
    const imx_service_config *cfg = svc_cfg(sc, k);
    int64_t qty = gen_qty(r, cfg->lot);
    int64_t ceiling = gen_price(r, sc, IMX_BID, cfg->tick_minor);
    if (one_in(r, 20)) spoil(r, cfg, &qty, &ceiling);
    int64_t horizon = many ? 600 : 60;
    int64_t deadline = one_in(r, 20) ? now - (int64_t)below(r, 2)
                                     : now + 1 + (int64_t)below(r, horizon);
    cmd t = cmd_other(CMD_TENDER_NEW, k, gen_cc(r, sc), qty, ceiling, deadline);
    uint32_t mode = (uint32_t)below(r, 3);
    t.decide = mode == 0 ? IMX_DECIDE_LOWEST : mode == 1 ? IMX_DECIDE_CHOOSE : IMX_DECIDE_SCORE;
    if (t.decide == IMX_DECIDE_SCORE) {
      /* Round weights mostly, now and then any split, rarely a bad one. */
      t.price_weight = one_in(r, 2) ? 10 * (uint32_t)below(r, 11) : (uint32_t)below(r, 101);
      t.quality_weight = 100 - t.price_weight;
      if (one_in(r, 30)) t.quality_weight += 1 + (uint32_t)below(r, 5);
    } else if (one_in(r, 40)) {
      t.price_weight = 50; /* weights on a mode without them: bad_weights */
      t.quality_weight = 50;
    }
    return t;
  }
  /* Many cost centres: half the quotes go to the oldest open tender from
  ** each cost centre in turn, so that it fills its quotes. */
  int round_robin = many && one_in(r, 2);
  uint64_t id = round_robin ? oldest_tender(w) : pick_tender(r, w);
  int other = id == 0 || one_in(r, 15);
  cmd c;
  if (u < quote_end) {
    /* A quote near the ceiling: on it, under it, or above it. */
    uint32_t k = id != 0 ? w->tender_svc[id] : below(r, sc->nsvc);
    const imx_service_config *cfg = svc_cfg(sc, k);
    int64_t tick = cfg->tick_minor;
    int64_t ceiling = id != 0 ? w->tender_ceiling[id] : tick * PRICE_MID_TICKS;
    int64_t price = ceiling - tick * (int64_t)below(r, 6);
    if (one_in(r, 6)) price += tick; /* above_ceiling */
    if (one_in(r, 20)) price = one_in(r, 2) ? 0 : price + 1;
    uint32_t cc = gen_cc(r, sc);
    if (round_robin) cc = cc_of(sc, 1 + w->quote_next++ % sc->ncc);
    c = cmd_other(CMD_QUOTE, 0, cc, 0, price, 0);
  } else if (u < award_end) {
    /* Award by the rule, a chosen quote of the tender (now and then a quote
    ** of another or none), or withdraw a quote. */
    imx_quote_info q[IMX_QUOTES_MAX];
    uint32_t nq = ref_tender_quotes(w->m, id, q, IMX_QUOTES_MAX);
    int64_t quote = nq > 0 && !one_in(r, 10) ? (int64_t)q[below(r, nq)].quote_id
                                             : (int64_t)below(r, 40);
    uint32_t v = below(r, 3);
    if (v == 2) return cmd_other(CMD_WITHDRAW, 0, 0, 0, 0, quote);
    c = cmd_other(v == 0 ? CMD_AWARD : CMD_AWARD_QUOTE, 0, 0, 0, 0, quote);
  } else {
    c = cmd_other(CMD_TENDER_CANCEL, 0, 0, 0, 0, 0);
  }
  if (other) {
    c.id = gen_other_tender(r);
  } else {
    c.target = (long)w->tender_steps[id];
  }
  return c;
}

static cmd gen_cmd(rng *r, world *w) {
  const scenario *sc = w->sc;
  uint32_t u = below(r, 1000);
  if (u < sc->period_end_per_mille)
    return cmd_period_end(gen_svc(r, sc, 20));
  u -= sc->period_end_per_mille;
  if (u < sc->auction_per_mille) {
    uint32_t k = gen_svc(r, sc, 20);
    return cmd_other(CMD_AUCTION, k, 0, 0, 0, gen_reference(r, w, k));
  }
  u -= sc->auction_per_mille;
  if (u < sc->risk_per_mille) return gen_risk(r, w);
  u -= sc->risk_per_mille;
  if (u < sc->reputation_per_mille) return gen_reputation(r, w);
  u = below(r, 100);
  if (u < sc->tender_pct) return gen_tender(r, w);
  u = below(r, 100);
  if (u < 60) return gen_new(r, w);
  if (u < 60 + sc->cancel_pct) {
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

/* The start of a risk stream: most cost centres get a budget and most
** pairs a capacity, so that orders trade rather than bounce. */
static size_t gen_setup(rng *r, const scenario *sc, cmd *out, size_t n) {
  size_t k = 0;
  for (uint32_t i = 1; sc->risk && i <= sc->ncc && k < n; i++) {
    if (one_in(r, 6)) continue;
    static const int64_t budgets[] = {20000, 200000, 2000000, 1000000000000LL};
    uint32_t cc = cc_of(sc, i);
    out[k++] = cmd_other(CMD_CC_SET, 0, cc, 0, 0, budgets[below(r, 4)]);
    for (uint32_t s = 0; s < sc->nsvc && k < n; s++) {
      if (one_in(r, 3)) continue;
      int64_t units = one_in(r, 3) ? 30 : 100000;
      out[k++] = cmd_other(CMD_CAPACITY_SET, s, cc, 0, 0,
                           sc->svc[s].lot * units);
    }
  }
  return k;
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
  size_t setup = gen_setup(&r, &sc, cmds, n);
  for (size_t i = 0; i < n && bad < 0; i++) {
    if (i >= setup) cmds[i] = gen_cmd(&r, w);
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
  const char *seeds = getenv("IMX_RANDOM_SEEDS");
  uint64_t first = 1, last = SEEDS;
  if (seeds != NULL && strtoull(seeds, NULL, 10) > 0)
    last = strtoull(seeds, NULL, 10);
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

/* ---- deep auction books ------------------------------------------------- */

/* One auction service with limits spread over DEEP_BAND_TICKS either side of
** DEEP_MID_TICKS, crossing only within DEEP_CROSS_TICKS of the mid: calls
** clear the crossing band and leave thousands of levels on each side.
** Market, aon, fok and ioc orders, bids with min_stars, reputations,
** cancels, modifies (in place and moving), now and then a cost centre on
** the wrong side (self_trade at entry), with risk on or off. */
static scenario deep_scenario(uint64_t seed, int continuous) {
  scenario sc;
  memset(&sc, 0, sizeof sc);
  sc.deep = 1;
  sc.orders_max = DEEP_COMMANDS;
  sc.nsvc = 1;
  sc.svc[0] = (imx_service_config)AUCTION_SERVICE(1, 1, 1, 0, 0);
  if (seed % 3 == 2) sc.svc[0] = (imx_service_config)AUCTION_SERVICE(5, 10, 1, 0, 0);
  if (continuous) {
    /* The crossing band trades at once, so a side holds the ~2,500 prices
    ** behind it; seed 3 gives it fewer levels than that: levels_full deep
    ** in the tree. */
    sc.svc[0] = (imx_service_config)SERVICE(1, 1, 1, seed == 3 ? 1500 : 0);
    if (seed % 3 == 2) sc.svc[0] = (imx_service_config)SERVICE(5, 10, 1, 0);
  }
  /* Odd seeds cap the price at the band's top, which makes the side a
  ** tick map (levels.c) instead of a tree: both hold thousands of levels. */
  if (seed % 2 == 1)
    sc.svc[0].price_cap_minor =
        sc.svc[0].tick_minor * (DEEP_MID_TICKS + DEEP_BAND_TICKS);
  sc.ncc = 60;
  sc.risk = seed % 2 == 0;
  sc.ccs_max = sc.ncc + 1;
  sc.stars_pct = 10;
  sc.ratings_min = 2;
  return sc;
}

static int64_t deep_price(rng *r, imx_side side, int64_t tick) {
  int64_t t = (int64_t)below(r, DEEP_BAND_TICKS + DEEP_CROSS_TICKS + 1);
  return tick * (side == IMX_BID ? DEEP_MID_TICKS + DEEP_CROSS_TICKS - t
                                 : DEEP_MID_TICKS - DEEP_CROSS_TICKS + t);
}

static cmd deep_new(rng *r, const world *w) {
  const imx_service_config *cfg = &w->sc->svc[0];
  imx_side side = (imx_side)below(r, 2);
  uint32_t u = below(r, 100);
  imx_tif tif = u < 70 ? IMX_TIF_GTC : u < 82 ? IMX_TIF_PERIOD
              : u < 91 ? IMX_TIF_IOC : IMX_TIF_FOK;
  int64_t qty = cfg->lot * (1 + (int64_t)below(r, one_in(r, 8) ? 300 : 30));
  int64_t price = one_in(r, 25) && cfg->mode == IMX_MODE_AUCTION
                    ? IMX_PRICE_MARKET
                    : deep_price(r, side, cfg->tick_minor);
  /* Bids odd, offers even; one in 50 on the other side: self_trade. */
  uint32_t cc = 2 * below(r, w->sc->ncc / 2) + 1 + (uint32_t)side;
  if (one_in(r, 50)) cc = 1 + below(r, w->sc->ncc);
  cmd c = cmd_new(0, cc, side, tif, one_in(r, 6), qty, price);
  if (side == IMX_BID && below(r, 100) < w->sc->stars_pct) {
    static const int stars[] = {10, 30, 40, 45, 50};
    c.o.min_stars = stars[below(r, 5)];
    c.o.allow_unrated = one_in(r, 3);
  }
  return c;
}

static cmd deep_cmd(rng *r, world *w) {
  const imx_service_config *cfg = &w->sc->svc[0];
  uint32_t u = below(r, 1000);
  if (u < 2) {
    int64_t ref = one_in(r, 4) ? 0 : deep_price(r, (imx_side)below(r, 2), cfg->tick_minor);
    return cmd_other(CMD_AUCTION, 0, 0, 0, 0, ref);
  }
  if (u < 3) return cmd_period_end(0);
  if (u < 13) return gen_reputation(r, w);
  imx_order_info o;
  uint32_t k = 0;
  if (u < 900 || !pick_open(r, w, &o, &k)) return deep_new(r, w);
  cmd c = cmd_id(u < 950 ? CMD_CANCEL : CMD_MODIFY, o.order_id, 0, 0);
  c.target = (long)w->id_steps[o.order_id];
  if (c.kind == CMD_MODIFY) {
    switch (below(r, 3)) {
    case 0: /* in place, priority kept */
      c.qty_open = o.qty_open > cfg->lot ? o.qty_open - cfg->lot : o.qty_open;
      c.price_minor = o.price_minor;
      break;
    case 1: /* more: to the back of the level */
      c.qty_open = o.qty_open + cfg->lot * (1 + (int64_t)below(r, 20));
      c.price_minor = o.price_minor;
      break;
    default: /* another level, maybe a new one, maybe the market */
      c.qty_open = o.qty_open;
      c.price_minor = one_in(r, 10) && cfg->mode == IMX_MODE_AUCTION
                          ? IMX_PRICE_MARKET
                          : deep_price(r, o.side, cfg->tick_minor);
      break;
    }
  }
  return c;
}

/* Levels of both sides of the one service, engine's view. */
static uint32_t deep_levels(world *w) {
  world_buffers(w);
  return imx_engine_levels(w->e, w->svc_e[0], IMX_BID, w->lev_e, w->buf_cap) +
         imx_engine_levels(w->e, w->svc_e[0], IMX_OFFER, w->lev_e, w->buf_cap);
}

/* The deep scenarios of one mode against the model. Auction books: levels
** are counted at every call; continuous ones every DEEP_COMPARE_EVERY
** commands (where the calls' commands are period ends and rejections). */
static void deep_books_agree(int continuous) {
  clock_t t0 = clock();
  uint32_t levels_at_call_max = 0, calls_priced = 0, divergent = 0;
  uint64_t aon_left_out = 0, levels_full = 0;
  for (uint64_t seed = 1; seed <= DEEP_SEEDS && divergent == 0; seed++) {
    rng r = {seed * 0x9e3779b97f4a7c15ULL + 7 + (uint64_t)continuous};
    scenario sc = deep_scenario(seed, continuous);
    world *w = malloc(sizeof *w);
    cmd *cmds = malloc(DEEP_COMMANDS * sizeof *cmds);
    if (w == NULL || cmds == NULL || world_open(w, &sc) != 0) abort();
    size_t setup = gen_setup(&r, &sc, cmds, DEEP_COMMANDS);
    long bad = -1;
    for (size_t i = 0; i < DEEP_COMMANDS && bad < 0; i++) {
      if (i >= setup) cmds[i] = i + 1 == DEEP_COMMANDS
                                    ? cmd_other(CMD_AUCTION, 0, 0, 0, 0, 0)
                                    : deep_cmd(&r, w);
      int sample = continuous ? i % DEEP_COMPARE_EVERY == 0 : cmds[i].kind == CMD_AUCTION;
      uint32_t levels = sample ? deep_levels(w) : 0;
      if (world_step(w, &cmds[i])) {
        bad = (long)i;
        break;
      }
      for (size_t k = 0; k < w->log_e.len; k++)
        levels_full += w->log_e.evs[k].type == IMX_EV_REJECTED &&
                       w->log_e.evs[k].status == IMX_E_LEVELS_FULL;
      if (continuous)
        levels_at_call_max = levels > levels_at_call_max ? levels : levels_at_call_max;
      if (cmds[i].kind != CMD_AUCTION || continuous) continue;
      levels_at_call_max = levels > levels_at_call_max ? levels : levels_at_call_max;
      int64_t p = 0;
      for (size_t k = 0; k < w->log_e.len; k++)
        if (w->log_e.evs[k].type == IMX_EV_AUCTION && w->log_e.evs[k].qty > 0)
          p = w->log_e.evs[k].price_minor;
      if (p == 0) continue;
      calls_priced++;
      /* aon orders without min_stars that take part at the price and are
      ** still open: the all-or-none step left them out. */
      for (int side = IMX_BID; side <= IMX_OFFER; side++) {
        uint32_t n = imx_engine_orders(w->e, w->svc_e[0], (imx_side)side,
                                       w->ord_e, w->buf_cap);
        for (uint32_t k = 0; k < n; k++) {
          const imx_order_info *o = &w->ord_e[k];
          int in = o->price_minor == IMX_PRICE_MARKET ||
                   (side == IMX_BID ? o->price_minor >= p : o->price_minor <= p);
          aon_left_out += in && o->aon && o->min_stars == 0;
        }
      }
    }
    if (bad >= 0) {
      char buf[256];
      cmd_format(&cmds[bad], cmd_target(w, &cmds[bad]), buf, sizeof buf);
      fprintf(stderr, "  deep seed %" PRIu64 ": first divergence at command %ld:"
              " %s\n%s", seed, bad, buf, w->why);
      scenario_print(&sc);
      size_t kept = shrink(&sc, cmds, (size_t)bad + 1);
      fprintf(stderr, "  shrunk to %zu commands:\n", kept);
      replay(&sc, cmds, kept, 1);
      divergent++;
    } else {
      CHECK_EQ(0, compare_state(w, 0)); /* the end, whatever the step */
    }
    world_close(w);
    free(w);
    free(cmds);
  }
  fprintf(stderr, "  deep %s books: %d seeds x %d commands, %" PRIu32
          " divergent; levels (at a call) up to %" PRIu32 ", calls with a price %"
          PRIu32 ", aon orders left out %" PRIu64 ", levels_full %" PRIu64
          "; %.2f s\n", continuous ? "continuous" : "auction", DEEP_SEEDS,
          DEEP_COMMANDS, divergent, levels_at_call_max, calls_priced,
          aon_left_out, levels_full, (double)(clock() - t0) / CLOCKS_PER_SEC);
  CHECK_EQ(0, divergent);
  CHECK(levels_at_call_max >= 2000); /* thousands of levels */
  if (continuous) {
    CHECK(levels_full > 0); /* seed 3: a full side, deep */
    return;
  }
  CHECK(calls_priced >= 2 * DEEP_SEEDS);
  CHECK(aon_left_out > 0);
}

static void test_deep_auction_books_agree_with_the_model(void) {
  deep_books_agree(0);
}

/* The same on continuous books: levels opened and emptied at every depth
** of thousands, by adds, cancels, modifies and the matching walk through
** the crossing band. */
static void test_deep_continuous_books_agree_with_the_model(void) {
  deep_books_agree(1);
}

/* A snapshot damaged anywhere (any byte changed, cut short, another
** market) is refused with a reason or read into a state that passes every
** check; it never trips an assertion (which would end this process). The
** state comes from a seed with budgets, tenders and an auction book, so
** every part of the snapshot is there. */
static void test_damaged_snapshots_are_refused(void) {
  world *w = malloc(sizeof *w);
  cmd *cmds = malloc(1500 * sizeof *cmds);
  if (w == NULL || cmds == NULL) abort();
  scenario sc;
  uint64_t seed = 1;
  for (;; seed++) {
    rng probe = {seed * 0x2545f4914f6cdd1dULL};
    sc = scenario_make(&probe, seed);
    if (sc.risk && sc.tenders_max && sc.svc[0].mode == IMX_MODE_AUCTION) break;
  }
  rng r = {seed * 0x2545f4914f6cdd1dULL};
  sc = scenario_make(&r, seed);
  if (world_open(w, &sc) != 0) abort();
  size_t setup = gen_setup(&r, &sc, cmds, 1500);
  for (size_t i = 0; i < 1500; i++) {
    if (i >= setup) cmds[i] = gen_cmd(&r, w);
    CHECK(world_step(w, &cmds[i]) == 0);
  }
  size_t n = imx_engine_snapshot_write(w->e, NULL, 0);
  uint8_t *good = malloc(n), *bad = malloc(n);
  if (good == NULL || bad == NULL) abort();
  CHECK_EQ(n, imx_engine_snapshot_write(w->e, good, n));
  CHECK(imx_engine_open_orders(w->e) > 10);
  uint32_t refused = 0, read = 0;
  static const uint8_t flips[] = {0x01, 0x80, 0xff};
  for (size_t i = 0; i <= n; i++) {
    for (size_t f = 0; f < (i < n ? sizeof flips : 1); f++) {
      size_t len = n;
      memcpy(bad, good, n);
      if (i < n) bad[i] ^= flips[f];
      else len = n / 2; /* cut short */
      imx_engine *e = NULL;
      imx_engine_config cfg = w->cfg;
      CHECK(imx_engine_create(&cfg, &e) == IMX_OK);
      for (uint32_t k = 0; k < sc.nsvc; k++)
        CHECK(imx_engine_service_add(e, &sc.svc[k], NULL) == IMX_OK);
      const char *why = NULL;
      imx_status st = imx_engine_snapshot_read(e, bad, len, &why);
      if (st == IMX_OK) {
        CHECK(imx_engine_check(e) == 0);
        read++;
      } else {
        CHECK(st == IMX_E_BAD_CONFIG && why != NULL && *why != '\0');
        refused++;
      }
      imx_engine_destroy(e);
    }
  }
  /* Another market: one more service. */
  imx_engine *e = NULL;
  imx_engine_config cfg = w->cfg;
  cfg.services_max = sc.nsvc + 1;
  CHECK(imx_engine_create(&cfg, &e) == IMX_OK);
  for (uint32_t k = 0; k <= sc.nsvc; k++)
    CHECK(imx_engine_service_add(e, &sc.svc[k % sc.nsvc], NULL) == IMX_OK);
  const char *why = NULL;
  CHECK(imx_engine_snapshot_read(e, good, n, &why) == IMX_E_BAD_CONFIG);
  CHECK(why != NULL && strstr(why, "another market") != NULL);
  imx_engine_destroy(e);
  fprintf(stderr, "  snapshot of %zu bytes, %" PRIu32 " orders: %" PRIu32
          " damaged copies refused, %" PRIu32 " read into a consistent state\n",
          n, imx_engine_open_orders(w->e), refused, read);
  /* Most single-byte changes are caught; a change inside a quantity or a
  ** price can give another consistent state, which only the file's
  ** checksum (imxd) catches. */
  CHECK(refused > read);
  world_close(w);
  free(w);
  free(cmds);
  free(good);
  free(bad);
}

/* ---- fixed scenarios: the model against hand-worked expectations --------- */

typedef struct fixed_step {
  cmd c;
  const char *want; /* the model's events, brief; the engine must agree */
} fixed_step;

/* Runs the steps on a fresh world and leaves it open for more checks;
** world_free closes it. */
static world *run_fixed_world(const scenario *sc, const fixed_step *steps,
                              size_t n) {
  world *w = malloc(sizeof *w);
  if (w == NULL || world_open(w, sc) != 0) abort();
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
  return w;
}

static void world_free(world *w) {
  world_close(w);
  free(w);
}

static scenario fixed_scenario(const imx_service_config *cfg,
                               uint32_t orders_max) {
  scenario sc;
  memset(&sc, 0, sizeof sc);
  sc.orders_max = orders_max;
  sc.nsvc = 1;
  sc.svc[0] = *cfg;
  sc.ncc = 4;
  return sc;
}

static void run_fixed(const imx_service_config *cfg, uint32_t orders_max,
                      const fixed_step *steps, size_t n) {
  scenario sc = fixed_scenario(cfg, orders_max);
  world_free(run_fixed_world(&sc, steps, n));
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

/* ---- fixed scenarios: calls, budgets and capacities, tenders ------------ */

static const imx_service_config call = AUCTION_SERVICE(1, 1, 1, 0, 0);

#define AUCTION(reference) cmd_other(CMD_AUCTION, 0, 0, 0, 0, reference)
#define CC_SET(cc, budget) cmd_other(CMD_CC_SET, 0, cc, 0, 0, budget)
#define CAPACITY_SET(cc, capacity) \
  cmd_other(CMD_CAPACITY_SET, 0, cc, 0, 0, capacity)
#define TENDER(cc, qty, ceiling, deadline) \
  cmd_other(CMD_TENDER_NEW, 0, cc, qty, ceiling, deadline)
#define CLOCK(now) cmd_other(CMD_CLOCK, 0, 0, 0, 0, now)

/* A command on tender `tender`, named by its id. */
static cmd cmd_tender(cmd_kind kind, uint64_t tender, uint32_t cc,
                      int64_t price_minor) {
  cmd c = cmd_other(kind, 0, cc, 0, price_minor, 0);
  c.id = tender;
  return c;
}

#define QUOTE(tender, cc, price) cmd_tender(CMD_QUOTE, tender, cc, price)
#define AWARD(tender) cmd_tender(CMD_AWARD, tender, 0, 0)
#define TENDER_CANCEL(tender) cmd_tender(CMD_TENDER_CANCEL, tender, 0, 0)

/* The Xetra example of issue 10: limits 199 and 201 tie with no surplus;
** the nearer to the reference wins, the higher of two equally near. */
static void test_call_tie_goes_to_the_limit_nearest_the_reference(void) {
  static const int64_t reference[] = {200, 202, 198};
  static const char *const want[] = {
      "auction p201 q10 surplus 0 none; "
      "trade t1 buy#1 sell#2 cc1/cc2 q10 p201 none",
      "auction p201 q10 surplus 0 none; "
      "trade t1 buy#1 sell#2 cc1/cc2 q10 p201 none",
      "auction p199 q10 surplus 0 none; "
      "trade t1 buy#1 sell#2 cc1/cc2 q10 p199 none"};
  for (int i = 0; i < 3; i++) {
    const fixed_step steps[] = {
        {NEW(1, BID, GTC, 0, 10, 201), "accepted #1 cc1 bid gtc q10 p201"},
        {NEW(2, OFFER, GTC, 0, 10, 199), "accepted #2 cc2 offer gtc q10 p199"},
        {AUCTION(reference[i]), want[i]},
    };
    run_fixed(&call, 1000, steps, sizeof steps / sizeof steps[0]);
  }
}

static void test_call_market_orders_and_self_trade_at_entry(void) {
  const fixed_step steps[] = {
      {NEW(1, BID, GTC, 0, 5, 0), "accepted #1 cc1 bid gtc q5 p0"},
      /* cc1 is on the bid side: it may not join the offers. */
      {NEW(1, OFFER, GTC, 0, 5, 100), "rejected #0 self_trade"},
      {NEW(2, OFFER, IOC, 0, 3, 0), "accepted #2 cc2 offer ioc q3 p0"},
      /* Market orders alone and no reference: no price; ioc cancelled. */
      {AUCTION(0),
       "auction p0 q0 surplus 0 none; cancelled #2 cc2 offer q3 ioc"},
      {NEW(2, OFFER, GTC, 0, 3, 0), "accepted #3 cc2 offer gtc q3 p0"},
      {AUCTION(100),
       "auction p100 q3 surplus 2 bid; "
       "trade t1 buy#1 sell#3 cc1/cc2 q3 p100 none"},
      {NEW(3, OFFER, GTC, 0, 4, 102), "accepted #4 cc3 offer gtc q4 p102"},
      {NEW(4, BID, PERIOD, 0, 2, 101), "accepted #5 cc4 bid period q2 p101"},
      /* At 101 nothing is offered; at 102 the market bid meets #4. */
      {AUCTION(0),
       "auction p102 q2 surplus 2 offer; "
       "trade t2 buy#1 sell#4 cc1/cc3 q2 p102 none"},
      {cmd_period_end(0), "expired #5 cc4 bid q2"},
      {MODIFY(4, 2, 0), "modified #4 cc3 offer q2 p0 moved"},
      {AUCTION(100), "auction p0 q0 surplus 0 none"},
  };
  run_fixed(&call, 1000, steps, sizeof steps / sizeof steps[0]);
}

static void test_call_leaves_out_aon_and_fok_that_would_not_fill_whole(void) {
  const fixed_step steps[] = {
      {NEW(1, BID, GTC, 1, 10, 105), "accepted #1 cc1 bid gtc aon q10 p105"},
      {NEW(2, BID, GTC, 0, 4, 103), "accepted #2 cc2 bid gtc q4 p103"},
      {NEW(3, OFFER, GTC, 0, 6, 100), "accepted #3 cc3 offer gtc q6 p100"},
      /* First pass: 105 (volume 6, surplus 4) would give #1 only 6 of 10,
      ** so #1 sits out; without it 100 and 103 tie with the surplus on the
      ** offers: the lowest. */
      {AUCTION(0),
       "auction p100 q4 surplus 2 offer; "
       "trade t1 buy#2 sell#3 cc2/cc3 q4 p100 none"},
      {NEW(4, BID, FOK, 0, 5, 100), "accepted #4 cc4 bid fok q5 p100"},
      /* #1 sits out again, then #4 (2 of 5): nothing trades. */
      {AUCTION(0),
       "auction p0 q0 surplus 0 none; cancelled #4 cc4 bid q5 fok"},
  };
  run_fixed(&call, 1000, steps, sizeof steps / sizeof steps[0]);
}

static scenario risk_scenario(void) {
  scenario sc = fixed_scenario(&plain, 1000);
  sc.risk = 1;
  return sc;
}

static void check_balance(world *w, uint32_t cc, int64_t budget,
                          int64_t reserved, int64_t spent, int64_t earned) {
  imx_balance b;
  CHECK_EQ(IMX_OK, ref_balance(w->m, cc, &b));
  CHECK_EQ(budget, b.budget_minor);
  CHECK_EQ(reserved, b.reserved_minor);
  CHECK_EQ(spent, b.spent_minor);
  CHECK_EQ(earned, b.earned_minor);
  CHECK_EQ(budget - reserved - spent, b.available_minor);
}

static void check_capacity(world *w, uint32_t cc, int64_t capacity,
                           int64_t reserved, int64_t sold) {
  imx_capacity c;
  CHECK_EQ(IMX_OK, ref_capacity(w->m, cc, w->svc_m[0], &c));
  CHECK_EQ(capacity, c.capacity);
  CHECK_EQ(reserved, c.reserved);
  CHECK_EQ(sold, c.sold);
  CHECK_EQ(capacity - reserved - sold, c.available);
}

static void test_bids_reserve_budget_offers_capacity_fills_release(void) {
  const fixed_step steps[] = {
      {CC_SET(1, 1000), ""},
      {CC_SET(2, 0), ""},
      {CAPACITY_SET(2, 10), ""},
      {NEW(2, OFFER, GTC, 0, 4, 90), "accepted #1 cc2 offer gtc q4 p90"},
      /* Reserves 10 x 100; the fill at 90 charges 360 and releases 400. */
      {NEW(1, BID, GTC, 0, 10, 100),
       "accepted #2 cc1 bid gtc q10 p100; "
       "trade t1 buy#2 sell#1 cc1/cc2 q4 p90 bid"},
      {NEW(1, BID, GTC, 0, 1, 50),
       "rejected #0 insufficient_budget available 40"},
      {NEW(2, OFFER, GTC, 0, 7, 100), "rejected #0 over_capacity available 6"},
      {NEW(3, BID, GTC, 0, 1, 100), "rejected #0 unknown_cc"},
      {MODIFY(2, 6, 107), "rejected #2 insufficient_budget available 40"},
      {MODIFY(2, 6, 106), "modified #2 cc1 bid q6 p106 moved"},
      {CANCEL(2), "cancelled #2 cc1 bid q6 user"},
  };
  scenario sc = risk_scenario();
  world *w = run_fixed_world(&sc, steps, sizeof steps / sizeof steps[0]);
  check_balance(w, 1, 1000, 0, 360, 0);
  check_balance(w, 2, 0, 0, 0, 360);
  check_capacity(w, 2, 10, 0, 4);
  CHECK_EQ(IMX_E_UNKNOWN_CC, ref_cc_set(w->m, 2000, 1));
  CHECK_EQ(IMX_OK, ref_cc_set(w->m, 1, 500)); /* a new period */
  check_balance(w, 1, 500, 0, 0, 0);
  world_free(w);
}

static void test_tender_awards_the_lowest_quote_the_earliest_of_equals(void) {
  const fixed_step steps[] = {
      {CC_SET(1, 10000), ""},
      {CC_SET(2, 0), ""},
      {CC_SET(3, 0), ""},
      {CC_SET(4, 0), ""},
      {CAPACITY_SET(2, 10), ""},
      {CAPACITY_SET(3, 10), ""},
      {CAPACITY_SET(4, 5), ""},
      {TENDER(1, 10, 100, 50),
       "tender_opened tender1 cc1 q10 ceiling 100 deadline 50"},
      {QUOTE(1, 2, 95), "quote_accepted tender1 quote1 cc2 q10 p95"},
      {QUOTE(1, 3, 95), "quote_accepted tender1 quote2 cc3 q10 p95"},
      {QUOTE(1, 4, 90), "rejected tender1 over_capacity available 5"},
      {QUOTE(1, 1, 90), "rejected tender1 self_trade"},
      {QUOTE(1, 2, 90), "rejected tender1 already_quoted"},
      {QUOTE(1, 3, 101), "rejected tender1 above_ceiling"},
      {CLOCK(49), ""},
      {CLOCK(50),
       "trade t1 tender1 quote1 cc1/cc2 q10 p95; "
       "tender_awarded tender1 quote1 cc2 q10 p95 t1; "
       "quote_released tender1 quote2 cc3 q10 p95"},
      {AWARD(1), "rejected tender1 unknown_tender"},
      {TENDER(1, 10, 100, 50), "rejected #0 bad_deadline"},
      {TENDER(1, 10, 100, 60),
       "tender_opened tender2 cc1 q10 ceiling 100 deadline 60"},
      {QUOTE(2, 3, 80), "quote_accepted tender2 quote3 cc3 q10 p80"},
      {TENDER_CANCEL(2),
       "quote_released tender2 quote3 cc3 q10 p80; "
       "tender_cancelled tender2 cc1 q10"},
      {TENDER(1, 10, 100, 70),
       "tender_opened tender3 cc1 q10 ceiling 100 deadline 70"},
      {CLOCK(40), ""}, /* the clock never goes back */
      {CLOCK(80), "tender_unfilled tender3 cc1 q10"},
  };
  scenario sc = risk_scenario();
  world *w = run_fixed_world(&sc, steps, sizeof steps / sizeof steps[0]);
  check_balance(w, 1, 10000, 0, 950, 0);
  check_balance(w, 2, 0, 0, 0, 950);
  check_capacity(w, 2, 10, 0, 10);
  check_capacity(w, 3, 10, 0, 0);
  world_free(w);
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
      CHECK_CASE(test_call_tie_goes_to_the_limit_nearest_the_reference),
      CHECK_CASE(test_call_market_orders_and_self_trade_at_entry),
      CHECK_CASE(test_call_leaves_out_aon_and_fok_that_would_not_fill_whole),
      CHECK_CASE(test_bids_reserve_budget_offers_capacity_fills_release),
      CHECK_CASE(test_tender_awards_the_lowest_quote_the_earliest_of_equals),
      CHECK_CASE(test_random_streams_agree_with_the_model),
      CHECK_CASE(test_deep_auction_books_agree_with_the_model),
      CHECK_CASE(test_deep_continuous_books_agree_with_the_model),
      CHECK_CASE(test_damaged_snapshots_are_refused),
  };
  return check_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
