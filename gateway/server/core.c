/*
** core.c -- the market behind the protocol.
**
** One core owns the engine, the market file's names and roles, the recent
** trades and, per cost centre, the requests it made lately that change the
** market, with their replies (idempotency). It runs on the engine thread
** only, so nothing here locks. core_execute() turns one
** decoded request into engine calls, authorises it and returns one result
** (core.h): the reply, the journal entry, the trades to settle and the
** period it closed; the market data it caused waits in the batch until the
** server has made the batch durable. The core never touches the ledger or
** a socket.
**
** What the engine reports through its event callback lands in two places:
** the batch (trades and market data, in the order they happened) and the
** command (how the command's own order ended: the engine has no return
** value for that). Ids come from the engine's out-parameters.
**
** Names: the engine knows services and cost centres by their position in
** the market file; requests name them by id.
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "decided.h"
#include "imx_server.h"
#include "imx_setup.h"

#define TRADES_KEPT 65536u   /* trades.list looks this far back            */
#define TENDER_SCAN 256u     /* open tenders tender.list reads at a time   */
#define BATCH_TRADES_MIN 4096u /* the batch's trades; grows for a sweep    */
#define BATCH_MD_MIN 8192u   /* the batch's market data; grows likewise    */
#define BATCH_CLOSED_MIN 4096u /* the batch's closed orders; grows likewise */

/* The memory of requests for idempotency ("idempotency" below). */
#define DEDUPE_PER_CC 1024u  /* requests a cost centre keeps, at most      */
#define DEDUPE_BYTES_TOTAL (64u << 20) /* ids and replies: shared out      */
#define DEDUPE_SHARE_MAX (1u << 20) /* a cost centre's share, at most ...  */
#define DEDUPE_SHARE_MIN (8u << 10) /* ... and at least                     */
#define DEDUPE_RECORD_BYTES 64u /* bytes of share per entry, at least      */
#define DEDUPE_NOT_KEPT UINT32_MAX /* reply_len of a reply not kept        */

/* Any reply fits a share of DEDUPE_SHARE_MAX (with its id). */
_Static_assert(DEDUPE_SHARE_MAX >= IMX_REPLY_BYTES_MAX + IMX_NAME_BYTES_MAX,
               "a full share holds any reply");
_Static_assert(DEDUPE_PER_CC < UINT16_MAX, "an index slot holds entry + 1");

/* One cost centre's memory of its requests: where its rings stand. */
typedef struct dedupe_cc {
  uint64_t head;   /* where the next record goes (grows)                   */
  uint32_t oldest; /* the oldest entry                                     */
  uint32_t n;      /* entries kept                                         */
} dedupe_cc;

typedef struct top {
  int64_t bid, bid_qty, offer, offer_qty;
} top;

/* How a cost centre's services are found for the directory (cc.list): the
** ids of the services it provides, in the order of its capacities in the
** market file, from cc_services[cc_services_at[cc]] on. */

/* Ratings ("ratings" below): a trade as the core keeps it for its rating,
** in slot trade % IMX_RATEABLE_TRADES (0: an empty slot). */
typedef struct rateable {
  uint64_t trade;
  int64_t time_ms;      /* the trade's                                   */
  int64_t rated_ms;     /* 0: not rated                                  */
  uint32_t service, buyer, seller;
  uint8_t stars;        /* 1..5 once rated                               */
  uint8_t replied;
} rateable;

/* One day of a provider's ratings for a service. */
typedef struct rep_day {
  int64_t day;          /* days since the epoch (UTC); 0: none yet       */
  uint32_t ratings, stars_sum;
} rep_day;

/* A provider's reputation for one service it provides (a capacity entry
** of the market file, numbered as cc_services). */
typedef struct reputation {
  int64_t ratings, stars_sum;                 /* all time              */
  rep_day days[IMX_REPUTATION_RECENT_DAYS];   /* day % RECENT_DAYS      */
} reputation;

/* What the engine said about the command being run. */
typedef struct command {
  uint64_t order_id;    /* order.new: the new order (from ACCEPTED);
                        ** order.modify: the order modified           */
  int priority_kept;    /* order.modify: from MODIFIED                  */
  int cancelled;        /* ... which then left the book unfilled        */
  imx_cancel_reason reason;
  int64_t filled;       /* ... and traded this much (every fill)        */
  uint64_t fills_n;     /* ... in this many trades                      */
  int64_t available;    /* REJECTED: budget or capacity left            */
  int64_t expired;      /* period.close: orders that expired            */
  uint32_t trades_first;/* its trades in the batch                      */
  uint32_t closed_first;/* the orders it closed, in the batch           */
  int changed;          /* the engine took it: journal it (core_result) */
} command;

/* What traded in the open period, per service. */
typedef struct core_period_sum {
  int64_t trades, units, amount_minor;
} core_period_sum;

struct imx_core {
  const imx_market *m;
  imx_engine *e;
  int quiet;          /* replaying the journal: no log lines            */
  int64_t period;     /* numbers the trades' period, from 1             */
  int64_t last_trade;
  int64_t now_ms;
  command cmd;
  core_summary *summary; /* core_execute_summary's, during the call */
  /* the batch: trades to settle and market data to publish */
  core_trade *batch_trades;
  uint32_t batch_trades_n, batch_trades_cap;
  imx_md_event *md;
  uint32_t md_n, md_cap;
  core_closed *batch_closed; /* orders closed, for the ledger's history */
  uint32_t batch_closed_n, batch_closed_cap;
  char journal[IMX_MSG_BYTES_MAX];
  /* trades kept for trades.list: a ring, newest at head - 1 */
  imx_reply_trade *trades;
  uint32_t trades_head, trades_n;
  /* top of book last published, per service */
  top *tops;
  /* per service: its last trade (services.list), a plain array that the
  ** core's snapshot carries (core.h, core_last_of); and the number of its
  ** providers, from the market file */
  core_last *last;
  uint32_t *providers;
  /* per service: the open period's trades, units and amount, for
  ** period.close's summary (the snapshot carries them) */
  core_period_sum *period_sums;
  imx_reply_sum *sum_rows;   /* IMX_LIST_MAX: period.close's reply       */
  char (*over_rows)[IMX_NAME_BYTES_MAX + 1]; /* IMX_LIST_MAX: its over_budget */
  uint32_t over_n, over_total;
  /* the directory: per cost centre, the ids of the services it provides */
  const char **cc_services;
  uint32_t *cc_services_at; /* ccs_n + 1 offsets into cc_services       */
  uint8_t *touched;       /* per service: in touched_list               */
  uint32_t *touched_list; /* the services the command touched           */
  uint32_t touched_n;
  /* the requests remembered for idempotency: per cost centre, its rings
  ** and its block of the arena (dedupe_open) */
  dedupe_cc *dedupe;
  char *dedupe_arena;
  size_t dedupe_block;      /* bytes per cost centre                     */
  uint32_t dedupe_share;    /* bytes of records per cost centre          */
  uint32_t dedupe_entries;  /* entries per cost centre                   */
  uint32_t dedupe_index_n;  /* index slots per cost centre (2^k)         */
  int replaying;            /* core_replay: every entry is executed      */
  /* room for the rows of one reply */
  imx_order_info *order_infos;   /* IMX_LIST_MAX */
  imx_reply_order *order_rows;   /* IMX_LIST_MAX */
  imx_reply_trade *trade_rows;   /* IMX_LIST_MAX */
  imx_reply_capacity *capacity_rows; /* services_n */
  imx_reply_service *service_rows; /* IMX_LIST_MAX */
  imx_reply_cc *cc_rows;         /* IMX_LIST_MAX */
  imx_reply_offer *offer_rows;   /* IMX_DEPTH_MAX */
  imx_tender_info *tender_infos; /* TENDER_SCAN: one step of tender.list */
  imx_reply_tender *tender_rows; /* IMX_LIST_MAX */
  imx_reply_reputation *rep_rows; /* services_n: cc.get's reputation */
  /* ratings: the trades that may still be rated or replied to, every
  ** provider's reputation per service, and the command's rating */
  rateable *rateable;            /* IMX_RATEABLE_TRADES                 */
  decided_ring decided;          /* the tenders that ended (tender.get)  */
  reputation *reps;              /* one per cc_services entry           */
  core_rating rating;
  char rating_comment[IMX_COMMENT_BYTES_MAX + 1];
  char *replay_reply;            /* IMX_REPLY_BYTES_MAX: recovery's replies */
  size_t replay_reply_len;       /* ... the last one's bytes               */
  char why[IMX_NAME_BYTES_MAX + 96]; /* why core_open failed */
};

/* ------------------------------------------------------------ the batch */

/* Grows an array of the batch (rare: one command that sweeps thousands of
** orders); the engine thread keeps what it grew. Aborts when out of memory:
** a command half recorded must not be acknowledged. */
static void *grow(void *p, uint32_t *cap, size_t size) {
  IMX_ASSERT(*cap > 0 && *cap <= UINT32_MAX / 2);
  void *q = realloc(p, (size_t)*cap * 2 * size);
  IMX_ASSERT(q != NULL && "out of memory for a batch's trades");
  *cap *= 2;
  return q;
}

/* snprintf(dst, cap, "%s", src) without the format machinery: ids are
** copied several times per command. */
static void copy_str(char *dst, size_t cap, const char *src) {
  IMX_ASSERT(cap > 0);
  size_t n = 0;
  while (n + 1 < cap && src[n] != '\0') n++;
  memcpy(dst, src, n);
  dst[n] = '\0';
}

static void md_add(imx_core *c, imx_md_event *ev, uint32_t service) {
  IMX_ASSERT(service < c->m->services_n);
  if (c->md_n == c->md_cap) c->md = grow(c->md, &c->md_cap, sizeof *c->md);
  copy_str(ev->service, sizeof ev->service, c->m->services[service].id);
  c->md[c->md_n++] = *ev;
}

void core_batch_begin(imx_core *c) {
  c->batch_trades_n = 0;
  c->batch_closed_n = 0;
  c->md_n = 0;
}

const imx_md_event *core_batch_md(const imx_core *c, uint32_t *n) {
  *n = c->md_n;
  return c->md;
}

/* ------------------------------------------------------------ events */

_Static_assert(IMX_SCORE_SHOWN_MAX == IMX_SCORE_MAX, "scores shown as the engine's");

/* A tender's decide mode: the engine's IMX_DECIDE_* and the wire's
** IMX_PDECIDE_* */
static int decide_to_proto(int d) {
  return d == IMX_DECIDE_SCORE    ? IMX_PDECIDE_SCORE
         : d == IMX_DECIDE_CHOOSE ? IMX_PDECIDE_CHOOSE
                                  : IMX_PDECIDE_LOWEST;
}

static int decide_to_engine(int d) {
  return d == IMX_PDECIDE_SCORE    ? IMX_DECIDE_SCORE
         : d == IMX_PDECIDE_CHOOSE ? IMX_DECIDE_CHOOSE
                                   : IMX_DECIDE_LOWEST;
}

static void keep_trade(imx_core *c, const imx_event *ev) {
  IMX_ASSERT(ev->trade_id > (uint64_t)c->last_trade);
  imx_reply_trade *t = &c->trades[c->trades_head];
  memset(t, 0, sizeof *t);
  t->trade = ev->trade_id;
  copy_str(t->service, sizeof t->service, c->m->services[ev->service].id);
  copy_str(t->buyer, sizeof t->buyer, c->m->ccs[ev->buyer_cc].id);
  copy_str(t->seller, sizeof t->seller, c->m->ccs[ev->seller_cc].id);
  t->qty = ev->qty;
  t->price_minor = ev->price_minor;
  t->time_ms = c->now_ms;
  /* A tender's trade names the tender and the winning quote (their ids
  ** are counted apart from order ids, docs/protocol.md). */
  int tender = ev->tender_id != 0;
  t->buy_order = tender ? ev->tender_id : ev->buy_order_id;
  t->sell_order = tender ? ev->quote_id : ev->sell_order_id;
  c->last[ev->service] = (core_last){.trade = t->trade, .price_minor = t->price_minor,
                                     .qty = t->qty, .time_ms = t->time_ms};
  c->rateable[t->trade % IMX_RATEABLE_TRADES] =
      (rateable){.trade = t->trade, .time_ms = t->time_ms, .service = ev->service,
                 .buyer = ev->buyer_cc, .seller = ev->seller_cc};
  c->trades_head = (c->trades_head + 1) % TRADES_KEPT;
  if (c->trades_n < TRADES_KEPT) c->trades_n++;
  c->last_trade = (int64_t)t->trade;
  if (c->batch_trades_n == c->batch_trades_cap)
    c->batch_trades = grow(c->batch_trades, &c->batch_trades_cap, sizeof *c->batch_trades);
  c->batch_trades[c->batch_trades_n++] = (core_trade){*t, c->period, tender};
  core_period_sum *ps = &c->period_sums[ev->service];
  ps->trades++;
  ps->units += t->qty;
  ps->amount_minor += t->qty * t->price_minor;
  if (c->cmd.order_id && !tender &&
      (t->buy_order == c->cmd.order_id || t->sell_order == c->cmd.order_id)) {
    c->cmd.filled += t->qty;
    c->cmd.fills_n++;
  }
  imx_md_event md = {.kind = IMX_MD_TRADE, .trade = t->trade, .qty = t->qty,
                     .price_minor = t->price_minor, .time_ms = t->time_ms};
  md_add(c, &md, ev->service);
}

/* An order leaves the market: in is the order as it was before the event
** that closes it (the engine answers queries from its callback with the
** state before the event: imx_engine.h), filled_now what that event filled. */
static void close_order(imx_core *c, const imx_order_info *in, int64_t filled_now,
                        const char *status, const char *reason) {
  IMX_ASSERT(in->service < c->m->services_n && in->cc < c->m->ccs_n);
  IMX_ASSERT(filled_now >= 0 && in->qty_filled + filled_now <= in->qty_original);
  if (c->batch_closed_n == c->batch_closed_cap)
    c->batch_closed = grow(c->batch_closed, &c->batch_closed_cap, sizeof *c->batch_closed);
  c->batch_closed[c->batch_closed_n++] = (core_closed){
      .order = in->order_id, .cc = c->m->ccs[in->cc].id,
      .service = c->m->services[in->service].id, .side = imx_side_name(in->side),
      .tif = imx_tif_name(in->tif), .aon = in->aon, .price_minor = in->price_minor,
      .qty = in->qty_original, .qty_filled = in->qty_filled + filled_now,
      .status = status, .reason = reason, .period = c->period, .time_ms = c->now_ms};
}

/* A trade closes each of its orders whose open quantity it takes whole. */
static void trade_closes(imx_core *c, const imx_event *ev) {
  const uint64_t ids[2] = {ev->buy_order_id, ev->sell_order_id};
  for (int k = 0; k < 2; k++) {
    imx_order_info in;
    if (imx_engine_order_get(c->e, ids[k], &in) != IMX_OK) continue;
    IMX_ASSERT(in.qty_open >= ev->qty);
    if (in.qty_open == ev->qty) close_order(c, &in, ev->qty, "filled", NULL);
  }
}

/* A cancel or an expiry: the order is still in the engine, whole. */
static void order_ends(imx_core *c, const imx_event *ev, const char *status,
                       const char *reason) {
  imx_order_info in;
  imx_status st = imx_engine_order_get(c->e, ev->order_id, &in);
  IMX_ASSERT(st == IMX_OK && in.qty_open == ev->qty);
  close_order(c, &in, 0, status, reason);
}

/* A tender's end without a trade, to its buyer's topic: the event names
** the buyer (the engine has closed a lapsed tender by now). */
static void md_tender_lapsed(imx_core *c, const imx_event *ev) {
  imx_md_event md;
  memset(&md, 0, sizeof md);
  md.kind = IMX_MD_TENDER_LAPSED;
  md.tender = ev->tender_id;
  md.qty = ev->qty;
  md.why = ev->type == IMX_EV_TENDER_LAPSED ? IMX_LAPSED_NO_AWARD : IMX_LAPSED_NO_QUOTES;
  copy_str(md.buyer, sizeof md.buyer, c->m->ccs[ev->cc].id);
  copy_str(md.topic_cc, sizeof md.topic_cc, md.buyer);
  md_add(c, &md, ev->service);
}

/* A tender event for the market data: the service's topic for a new
** tender; the buyer's (and, for an award, the winner's) own topic for a
** quote and an award. The engine still holds the tender when it reports
** these (an award before it closes the tender), so its buyer and its
** count of quotes are read from it. */
static void md_tender(imx_core *c, const imx_event *ev) {
  if (ev->type == IMX_EV_TENDER_LAPSED || ev->type == IMX_EV_TENDER_UNFILLED) {
    md_tender_lapsed(c, ev);
    return;
  }
  imx_tender_info ti;
  imx_status st = imx_engine_tender_get(c->e, ev->tender_id, &ti);
  IMX_ASSERT(st == IMX_OK && "the engine reports these of an open tender");
  imx_md_event md;
  memset(&md, 0, sizeof md);
  md.tender = ev->tender_id;
  md.qty = ti.qty;
  copy_str(md.buyer, sizeof md.buyer, c->m->ccs[ti.cc].id);
  copy_str(md.topic_cc, sizeof md.topic_cc, md.buyer);
  switch (ev->type) {
  case IMX_EV_TENDER_OPENED:
    md.kind = IMX_MD_TENDER_OPENED;
    md.topic_cc[0] = '\0'; /* the service's: providers see new jobs */
    md.price_minor = ti.ceiling_minor;
    md.deadline_time_ms = ti.deadline_ms;
    md.decide = decide_to_proto(ti.decide);
    md.price_weight = ti.price_weight;
    md.quality_weight = ti.quality_weight;
    break;
  case IMX_EV_QUOTE_ACCEPTED:
    md.kind = IMX_MD_TENDER_QUOTED; /* sealed: no price, no provider */
    md.qty = 0;
    md.quotes = ti.quotes;
    break;
  case IMX_EV_TENDER_AWARDED:
    md.kind = IMX_MD_TENDER_AWARDED;
    md.quote = ev->quote_id;
    md.price_minor = ev->price_minor;
    md.trade = ev->trade_id;
    /* the winner's score, so that the award can be explained */
    md.has_score = ti.decide == IMX_DECIDE_SCORE;
    md.score = md.has_score ? ev->score : 0;
    copy_str(md.seller, sizeof md.seller, c->m->ccs[ev->cc].id);
    md_add(c, &md, ev->service);
    copy_str(md.topic_cc, sizeof md.topic_cc, md.seller); /* and the winner */
    break;
  default: IMX_ASSERT(0 && "not a tender event that is published"); return;
  }
  md_add(c, &md, ev->service);
}

/* Reputation, for the rows that show it ("ratings" below). */
static reputation *rep_of(const imx_core *c, uint32_t cc, uint32_t s);
static reputation *rep_of_service(const imx_core *c, uint32_t s);
static void rep_fill(const imx_core *c, const reputation *r, imx_reply_reputation *out);

/* A tender that ends goes to the decided ring (decided.h) with its quotes
** as they stand at the end: read from the engine while it still holds the
** tender, at the first event of its end (an award's TENDER_AWARDED, an
** UNFILLED, or the first QUOTE_RELEASED of a lapse or a cancel); a lapse
** or cancel without quotes is read with imx_engine_tender_closing. */
static decided_tender *decided_begin(imx_core *c, const imx_tender_info *ti) {
  decided_tender *d = decided_add(&c->decided, ti->tender_id);
  d->info = *ti;
  d->time_ms = c->now_ms;
  imx_quote_info q[IMX_QUOTES_MAX];
  d->quotes_n = imx_engine_tender_quotes(c->e, ti->tender_id, q, IMX_QUOTES_MAX);
  IMX_ASSERT(d->quotes_n == ti->quotes);
  for (uint32_t k = 0; k < d->quotes_n; k++) {
    imx_reply_reputation rep;
    rep_fill(c, rep_of(c, q[k].cc, ti->service), &rep);
    d->quotes[k] = (decided_quote){
        .quote = q[k].quote_id, .cc = q[k].cc, .price_minor = q[k].price_minor,
        .score = ti->decide == IMX_DECIDE_SCORE ? q[k].score : 0,
        .ratings = rep.ratings, .stars_sum = rep.stars_sum,
        .ratings_recent = rep.ratings_recent, .stars_sum_recent = rep.stars_sum_recent};
  }
  return d;
}

static void decided_note(imx_core *c, const imx_event *ev) {
  decided_tender *d = decided_newest(&c->decided);
  int mine = d != NULL && d->info.tender_id == ev->tender_id;
  imx_tender_info ti;
  if (ev->type == IMX_EV_TENDER_LAPSED || ev->type == IMX_EV_TENDER_CANCELLED) {
    if (!mine || d->end != DECIDED_PENDING) {
      imx_status st = imx_engine_tender_closing(c->e, ev->tender_id, &ti);
      IMX_ASSERT(st == IMX_OK && ti.quotes == 0 && "released quotes began a record");
      d = decided_add(&c->decided, ev->tender_id);
      d->info = ti;
      d->time_ms = c->now_ms;
    }
    d->end = ev->type == IMX_EV_TENDER_LAPSED ? DECIDED_NO_AWARD : DECIDED_CANCELLED;
    return;
  }
  if (mine) return; /* the releases after an award, or after the first */
  imx_status st = imx_engine_tender_get(c->e, ev->tender_id, &ti);
  IMX_ASSERT(st == IMX_OK && "the engine holds a tender until its end's last event");
  d = decided_begin(c, &ti);
  if (ev->type == IMX_EV_TENDER_AWARDED) {
    d->end = DECIDED_AWARDED;
    d->quote = ev->quote_id;
    d->trade = ev->trade_id;
  } else if (ev->type == IMX_EV_TENDER_UNFILLED) {
    IMX_ASSERT(d->quotes_n == 0);
    d->end = DECIDED_NO_QUOTES;
  } else {
    IMX_ASSERT(ev->type == IMX_EV_QUOTE_RELEASED); /* a lapse or cancel: pending */
  }
}

static int pside(imx_side s) {
  return s == IMX_BID ? IMX_PSIDE_BID : s == IMX_OFFER ? IMX_PSIDE_OFFER : IMX_PSIDE_NONE;
}

static void on_event(void *ctx, const imx_event *ev) {
  imx_core *c = ctx;
  if (ev->type != IMX_EV_REJECTED && ev->service < c->m->services_n &&
      !c->touched[ev->service]) {
    IMX_ASSERT(c->touched_n < c->m->services_n);
    c->touched[ev->service] = 1;
    c->touched_list[c->touched_n++] = ev->service;
  }
  switch (ev->type) {
  case IMX_EV_ACCEPTED: c->cmd.order_id = ev->order_id; break;
  case IMX_EV_TRADE:
    keep_trade(c, ev);
    if (ev->tender_id == 0) trade_closes(c, ev);
    break;
  case IMX_EV_CANCELLED:
    if (ev->order_id == c->cmd.order_id) {
      c->cmd.cancelled = 1;
      c->cmd.reason = ev->reason;
    }
    order_ends(c, ev, "cancelled", imx_cancel_reason_name(ev->reason));
    break;
  case IMX_EV_EXPIRED:
    c->cmd.expired++;
    order_ends(c, ev, "expired", NULL);
    break;
  case IMX_EV_MODIFIED: c->cmd.priority_kept = ev->priority_kept; break;
  case IMX_EV_REJECTED: c->cmd.available = ev->available; break;
  case IMX_EV_AUCTION: {
    imx_md_event md = {.kind = IMX_MD_AUCTION, .price_minor = ev->price_minor,
                       .volume = ev->qty, .surplus = ev->surplus,
                       .surplus_side = pside(ev->surplus_side)};
    md_add(c, &md, ev->service);
    break;
  }
  case IMX_EV_TENDER_AWARDED:
  case IMX_EV_TENDER_LAPSED:
  case IMX_EV_TENDER_UNFILLED:
    decided_note(c, ev);
    md_tender(c, ev);
    break;
  case IMX_EV_TENDER_OPENED:
  case IMX_EV_QUOTE_ACCEPTED: md_tender(c, ev); break;
  case IMX_EV_QUOTE_RELEASED:
  case IMX_EV_TENDER_CANCELLED: decided_note(c, ev); break;
  default: break;
  }
}

static int by_index(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

/* The best prices of every service the command touched, when they
** changed, in the order of the market file. Only the touched services are
** visited: a command touches one, the market may have thousands. */
static void record_tops(imx_core *c) {
  if (c->touched_n > 1)
    qsort(c->touched_list, c->touched_n, sizeof *c->touched_list, by_index);
  for (uint32_t i = 0; i < c->touched_n; i++) {
    uint32_t s = c->touched_list[i];
    IMX_ASSERT(s < c->m->services_n && c->touched[s]);
    c->touched[s] = 0;
    imx_level_info bid, offer;
    top t = {0, 0, 0, 0};
    if (imx_engine_levels(c->e, s, IMX_BID, &bid, 1)) {
      t.bid = bid.price_minor;
      t.bid_qty = bid.qty_open;
    }
    if (imx_engine_levels(c->e, s, IMX_OFFER, &offer, 1)) {
      t.offer = offer.price_minor;
      t.offer_qty = offer.qty_open;
    }
    if (memcmp(&t, &c->tops[s], sizeof t) == 0) continue;
    c->tops[s] = t;
    imx_md_event md = {.kind = IMX_MD_TOP, .bid = t.bid, .bid_qty = t.bid_qty,
                       .offer = t.offer, .offer_qty = t.offer_qty};
    md_add(c, &md, s);
  }
  c->touched_n = 0;
}

/* Whether a request changes the market: it is journaled, and it is
** idempotent by (cost centre, id). */
static int changes_state(imx_msg_type t) {
  return t == IMX_MSG_ORDER_NEW || t == IMX_MSG_ORDER_CANCEL ||
         t == IMX_MSG_ORDER_MODIFY || t == IMX_MSG_TENDER_NEW || t == IMX_MSG_TENDER_QUOTE ||
         t == IMX_MSG_AUCTION_RUN || t == IMX_MSG_PERIOD_CLOSE ||
         t == IMX_MSG_TENDER_AWARD || t == IMX_MSG_TENDER_CANCEL ||
         t == IMX_MSG_QUOTE_WITHDRAW || t == IMX_MSG_RATING_NEW ||
         t == IMX_MSG_RATING_REPLY;
}

/* ------------------------------------------------------------- replies */

static size_t error_reply(const imx_request *rq, const char *code,
                          const char *field, const char *message, char *buf,
                          size_t cap) {
  return imx_error_encode(rq->id, code, field, message, buf, cap);
}

/* A refusal with a reason of proto's table, its code, field and message. */
static size_t reason_reply(const imx_request *rq, const char *reason, char *buf,
                           size_t cap) {
  return imx_error_reason_encode(rq->id, reason, rq->type, NULL, buf, cap);
}

/* A rejection by the engine: code, field and message from proto's table,
** the status name as the reason; budget and capacity say what is left. */
static size_t engine_error(imx_core *c, const imx_request *rq, imx_status s,
                           char *buf, size_t cap) {
  char msg[160];
  const char *text = NULL;
  if (s == IMX_E_INSUFFICIENT_BUDGET) {
    /* In the units a person reads, as imx prints balances (the wire's
    ** numbers stay minor units; only this text is for people). */
    char left[IMX_MONEY_TEXT_BYTES];
    snprintf(msg, sizeof msg, "budget left: %s %s",
             imx_money_format(c->cmd.available, c->m->decimals, 0, left),
             c->m->currency);
    text = msg;
  } else if (s == IMX_E_OVER_CAPACITY) {
    snprintf(msg, sizeof msg, "capacity left: %" PRId64, c->cmd.available);
    text = msg;
  }
  return imx_error_reason_encode(rq->id, imx_status_name(s), rq->type, text,
                                 buf, cap);
}

static int has_role(const imx_core *c, uint32_t cc, unsigned role) {
  return (c->m->ccs[cc].roles & role) != 0;
}

/* Whether the market file gives a provider a capacity of a service. */
static int provides(const imx_core *c, uint32_t cc, uint32_t service) {
  const imx_market_cc *mc = &c->m->ccs[cc];
  for (uint32_t k = 0; k < mc->capacities_n; k++)
    if (mc->capacities[k].service == service) return 1;
  return 0;
}

static size_t not_provider(imx_core *c, const imx_request *rq, uint32_t cc,
                           uint32_t service, char *buf, size_t cap) {
  char msg[IMX_NAME_BYTES_MAX * 2 + 64];
  snprintf(msg, sizeof msg, "%s does not provide %s (no capacity in the market file)",
           c->m->ccs[cc].id, c->m->services[service].id);
  return imx_error_reason_encode(rq->id, "not_provider", rq->type, msg, buf, cap);
}

int64_t core_acting_cc(const imx_market *m, const imx_request *rq, uint32_t auth_cc,
                       unsigned others_role, char *buf, size_t cap, size_t *len) {
  IMX_ASSERT(auth_cc < m->ccs_n);
  if (rq->cc[0] == '\0') return auth_cc;
  int64_t k = core_cc_index(m, rq->cc);
  if (k < 0) {
    *len = reason_reply(rq, "unknown_cc", buf, cap);
    return -1;
  }
  if ((uint32_t)k != auth_cc && !(m->ccs[auth_cc].roles & others_role)) {
    *len = error_reply(rq, "forbidden", "cc", "may not act for another cost centre", buf, cap);
    return -1;
  }
  return k;
}

/* ----------------------------------------------------------- idempotency */

/*
** Every request that changes the market is remembered by (authenticated
** cost centre, id) with the hash of the request as journaled and its reply,
** so that a repeat (nng's REQ re-sends after a reconnect) is answered with
** the first reply and changes nothing, and an id used again for another
** request is refused (docs/protocol.md, "Idempotency").
**
** Each cost centre has a memory of its own, so that no cost centre can evict
** another's requests, however many it sends. It is one block of the arena
** allocated at start (nothing is allocated per request):
**
**   id_hashes[E]  the hash of each entry's id (a probe reads 8 bytes)
**   entries[E]    a ring of the requests kept, oldest at dedupe_cc.oldest
**   index[I]      open addressing over the entries: entry + 1, 0 empty
**   bytes[S]      a ring of records, one per entry: the id, then the reply;
**                 positions grow (dedupe_cc.head) and are taken modulo S,
**                 and no record wraps: one that would is put at the next
**                 multiple of S
**
** A new request evicts the cost centre's oldest entries until there is a
** free entry and its record fits: the live records always lie within S
** bytes, [oldest entry's pos, head). S, the share, is DEDUPE_BYTES_TOTAL
** over the cost centres, within [DEDUPE_SHARE_MIN, DEDUPE_SHARE_MAX]; E is
** DEDUPE_PER_CC, or fewer when the share is small (one entry per
** DEDUPE_RECORD_BYTES). A reply longer than the share (only in a market of
** more than 127 cost centres) is not kept: its entry holds only the id, and
** its repeat is duplicate_id.
**
** What is remembered is a function of the requests executed, in order, and
** of nothing else (not of time, not of repeats): replaying the journal
** rebuilds it exactly.
*/

typedef struct dedupe_entry {
  uint64_t request_hash; /* request_hash() of the request as journaled     */
  uint64_t pos;          /* its record: the id, then the reply            */
  uint32_t reply_len;    /* DEDUPE_NOT_KEPT: longer than the share        */
  uint32_t id_len;
} dedupe_entry;

/* One cost centre's block, as pointers. */
typedef struct dedupe_view {
  dedupe_cc *s;
  uint64_t *id_hashes;
  dedupe_entry *entries;
  uint16_t *index;
  char *bytes;
} dedupe_view;

#define DEDUPE_NONE UINT32_MAX

/* The bytes of an entry's record: its id, and its reply when kept. */
static uint64_t dedupe_record_len(const dedupe_entry *e) {
  return (uint64_t)e->id_len + (e->reply_len == DEDUPE_NOT_KEPT ? 0 : e->reply_len);
}

static dedupe_view dedupe_of(const imx_core *c, uint32_t cc) {
  IMX_ASSERT(cc < c->m->ccs_n);
  char *block = c->dedupe_arena + (size_t)cc * c->dedupe_block;
  dedupe_view v;
  v.s = &c->dedupe[cc];
  v.id_hashes = (uint64_t *)(void *)block;
  v.entries = (dedupe_entry *)(void *)(v.id_hashes + c->dedupe_entries);
  v.index = (uint16_t *)(void *)(v.entries + c->dedupe_entries);
  v.bytes = (char *)(v.index + c->dedupe_index_n);
  return v;
}

/* The hash of an id: FNV-1a (ids are short). */
static uint64_t id_hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
  return h;
}

/* The hash of a request as journaled: FNV-1a's step (xor, then multiply by
** an odd constant) a word at a time, seeded with the length, then
** murmur3's finaliser. Each step is a bijection of the state, so two
** encodings of one length that differ in one word never collide; others
** collide by chance only (about 2^-64), and a repeat is only ever compared
** with the same cost centre's request of the same id. Replay computes it
** again; a snapshot stores it (with the reply it remembers). */
static uint64_t request_hash(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull ^ (n * 0x9E3779B97F4A7C15ull);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t w;
    memcpy(&w, s + i, 8);
    h = (h ^ w) * 1099511628211ull;
  }
  for (; i < n; i++) h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ull;
  return h ^ (h >> 33);
}

static uint32_t dedupe_home(uint64_t h, uint32_t mask) {
  return (uint32_t)((h * 0x9E3779B97F4A7C15ull) >> 40) & mask;
}

/* The entry of id, or DEDUPE_NONE; *at is the index slot it is in (or the
** empty slot where it would go). */
static uint32_t dedupe_find(const imx_core *c, const dedupe_view *v, uint64_t h,
                            const char *id, size_t id_len, uint32_t *at) {
  uint32_t mask = c->dedupe_index_n - 1;
  for (uint32_t i = dedupe_home(h, mask), n = 0; n <= mask; i = (i + 1) & mask, n++) {
    *at = i;
    if (v->index[i] == 0) return DEDUPE_NONE;
    uint32_t k = v->index[i] - 1u;
    IMX_ASSERT(k < c->dedupe_entries);
    const dedupe_entry *e = &v->entries[k];
    if (v->id_hashes[k] == h && e->id_len == id_len &&
        memcmp(v->bytes + e->pos % c->dedupe_share, id, id_len) == 0)
      return k;
  }
  IMX_ASSERT(0 && "an index has twice the slots of its entries: never full");
  return DEDUPE_NONE;
}

/* Empties an index slot, shifting the probe chain after it back (as
** imx_hash_del does) so that every entry stays reachable from its home. */
static void dedupe_unindex(const imx_core *c, const dedupe_view *v, uint32_t slot) {
  uint32_t mask = c->dedupe_index_n - 1, i = slot, j = slot;
  IMX_ASSERT(v->index[slot] != 0);
  for (uint32_t steps = 0; steps <= mask; steps++) {
    j = (j + 1) & mask;
    uint16_t x = v->index[j];
    if (x == 0) break;
    uint32_t home = dedupe_home(v->id_hashes[x - 1u], mask);
    int home_between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!home_between) {
      v->index[i] = x;
      i = j;
    }
  }
  v->index[i] = 0;
}

static void dedupe_evict_oldest(const imx_core *c, const dedupe_view *v) {
  dedupe_cc *s = v->s;
  IMX_ASSERT(s->n > 0 && s->oldest < c->dedupe_entries);
  uint32_t k = s->oldest, at;
  const dedupe_entry *e = &v->entries[k];
  uint32_t found = dedupe_find(c, v, v->id_hashes[k],
                               v->bytes + e->pos % c->dedupe_share, e->id_len, &at);
  IMX_ASSERT(found == k);
  dedupe_unindex(c, v, at);
  s->oldest = (k + 1) % c->dedupe_entries;
  s->n--;
}

/* Remembers a request that was just executed (it is not remembered yet). */
static void dedupe_put(const imx_core *c, uint32_t cc, const char *id,
                       uint64_t request_hash, const char *reply, size_t reply_len) {
  dedupe_view v = dedupe_of(c, cc);
  dedupe_cc *s = v.s;
  const uint64_t share = c->dedupe_share;
  size_t id_len = strlen(id);
  IMX_ASSERT(id_len <= IMX_NAME_BYTES_MAX && reply_len <= IMX_REPLY_BYTES_MAX);
  int kept = id_len + reply_len <= share;
  uint64_t need = id_len + (kept ? reply_len : 0);
  uint64_t pos = s->head;
  if (pos % share + need > share) pos += share - pos % share; /* no record wraps */
  while (s->n > 0 && (s->n == c->dedupe_entries ||
                      pos + need - v.entries[s->oldest].pos > share))
    dedupe_evict_oldest(c, &v);
  uint32_t k = (s->oldest + s->n) % c->dedupe_entries, at;
  char *record = v.bytes + pos % share;
  memcpy(record, id, id_len);
  if (kept) memcpy(record + id_len, reply, reply_len);
  v.entries[k] = (dedupe_entry){.request_hash = request_hash, .pos = pos,
                                .reply_len = kept ? (uint32_t)reply_len : DEDUPE_NOT_KEPT,
                                .id_len = (uint32_t)id_len};
  uint64_t h = id_hash(id, id_len);
  v.id_hashes[k] = h;
  IMX_ASSERT(dedupe_find(c, &v, h, id, id_len, &at) == DEDUPE_NONE);
  v.index[at] = (uint16_t)(k + 1);
  s->n++;
  s->head = pos + need;
  IMX_ASSERT(s->n <= c->dedupe_entries && s->head - v.entries[s->oldest].pos <= share);
}

/* The reply to a request whose id the cost centre has used: the first
** reply when it is the same request, else duplicate_id. */
static size_t dedupe_repeat(const imx_core *c, const dedupe_view *v, uint32_t k,
                            uint64_t request_hash, const imx_request *rq,
                            char *buf, size_t cap) {
  const dedupe_entry *e = &v->entries[k];
  if (e->request_hash != request_hash)
    return error_reply(rq, "duplicate_id", "id",
                       "the id was already used for a different request", buf, cap);
  if (e->reply_len == DEDUPE_NOT_KEPT || e->reply_len > cap)
    return error_reply(rq, "duplicate_id", "id",
                       "already done; its reply was longer than this cost "
                       "centre's memory for replies", buf, cap);
  memcpy(buf, v->bytes + e->pos % c->dedupe_share + e->id_len, e->reply_len);
  return e->reply_len;
}

/* Sizes every cost centre's memory from the market (see above) and
** allocates it: one calloc, whose pages are touched only as cost centres
** use them. Returns 0, or -1 when out of memory. */
static int dedupe_open(imx_core *c) {
  uint32_t ccs = c->m->ccs_n ? c->m->ccs_n : 1;
  uint64_t share = DEDUPE_BYTES_TOTAL / ccs;
  if (share > DEDUPE_SHARE_MAX) share = DEDUPE_SHARE_MAX;
  if (share < DEDUPE_SHARE_MIN) share = DEDUPE_SHARE_MIN;
  share &= ~(uint64_t)7;
  uint64_t entries = share / DEDUPE_RECORD_BYTES;
  if (entries > DEDUPE_PER_CC) entries = DEDUPE_PER_CC;
  uint32_t index_n = 2;
  while (index_n < 2 * entries) index_n <<= 1;
  IMX_ASSERT(entries >= 1 && entries < UINT16_MAX && index_n >= 2 * entries);
  size_t block = (size_t)entries * (sizeof(uint64_t) + sizeof(dedupe_entry)) +
                 (size_t)index_n * sizeof(uint16_t) + (size_t)share;
  block = (block + 63) & ~(size_t)63;
  c->dedupe_share = (uint32_t)share;
  c->dedupe_entries = (uint32_t)entries;
  c->dedupe_index_n = index_n;
  c->dedupe_block = block;
  c->dedupe = calloc(ccs, sizeof *c->dedupe);
  c->dedupe_arena = calloc(ccs, block);
  return c->dedupe && c->dedupe_arena ? 0 : -1;
}

int64_t core_cc_index(const imx_market *m, const char *cc) {
  return imx_market_cc_find(m, cc);
}

static int64_t service_index(const imx_core *c, const char *id) {
  return imx_market_service_find(c->m, id);
}

/* An empty .ok reply to a request: its type and id. */
static void reply_init(imx_reply *r, imx_msg_type type, const imx_request *rq) {
  memset(r, 0, sizeof *r);
  r->type = type;
  copy_str(r->id, sizeof r->id, rq->id);
}

/* ------------------------------------------------------------ requests */

static size_t do_order_new(imx_core *c, const imx_request *rq, uint32_t cc,
                           char *buf, size_t cap) {
  int64_t s = service_index(c, rq->service);
  if (s < 0) return reason_reply(rq, "unknown_service", buf, cap);
  unsigned role = rq->side == IMX_PSIDE_BID ? IMX_ROLE_RECEIVER : IMX_ROLE_PROVIDER;
  if (!has_role(c, cc, role))
    return error_reply(rq, "forbidden", "side",
                       rq->side == IMX_PSIDE_BID ? "only receivers bid"
                                                 : "only providers offer",
                       buf, cap);
  if (rq->side == IMX_PSIDE_OFFER && !provides(c, cc, (uint32_t)s))
    return not_provider(c, rq, cc, (uint32_t)s, buf, cap);
  imx_order_new o = {.service = (uint32_t)s, .cc = cc,
                     .side = rq->side == IMX_PSIDE_BID ? IMX_BID : IMX_OFFER,
                     .tif = (imx_tif)rq->tif, .aon = rq->aon, .qty = rq->qty,
                     .price_minor = rq->has_price ? rq->price_minor : IMX_PRICE_MARKET,
                     .min_stars = rq->min_stars, .allow_unrated = rq->allow_unrated};
  uint64_t id = 0;
  uint32_t first = c->batch_trades_n;
  imx_status st = imx_engine_order_new(c->e, &o, &id);
  if (st != IMX_OK) return engine_error(c, rq, st, buf, cap);
  c->cmd.changed = 1;
  IMX_ASSERT(id != 0 && id == c->cmd.order_id);
  imx_reply r;
  reply_init(&r, IMX_MSG_ORDER_NEW, rq);
  r.order = id;
  imx_order_info info;
  if (imx_engine_order_get(c->e, id, &info) == IMX_OK) {
    r.status = 0;
    r.qty_open = info.qty_open;
    r.qty_filled = info.qty_filled;
    IMX_ASSERT(info.qty_filled == c->cmd.filled);
  } else {
    r.status = c->cmd.cancelled ? 2 : 1;
    r.qty_filled = c->cmd.filled;
    if (c->cmd.cancelled)
      snprintf(r.reason, sizeof r.reason, "%s", imx_cancel_reason_name(c->cmd.reason));
    else
      IMX_ASSERT(c->cmd.filled == rq->qty);
  }
  /* The fills are this command's trades (an incoming order trades with
  ** nothing else); the first IMX_FILLS_LISTED_MAX are listed. */
  uint32_t n = c->batch_trades_n - first;
  IMX_ASSERT(n == c->cmd.fills_n);
  uint32_t listed = n < IMX_FILLS_LISTED_MAX ? n : IMX_FILLS_LISTED_MAX;
  imx_reply_trade *fills = c->trade_rows;
  for (uint32_t i = 0; i < listed; i++)
    fills[i] = c->batch_trades[first + i].trade;
  r.trades = fills;
  r.trades_n = listed;
  r.trades_omitted = n - listed;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_order_cancel(imx_core *c, const imx_request *rq, uint32_t cc,
                              char *buf, size_t cap) {
  imx_order_info info;
  if (imx_engine_order_get(c->e, rq->order, &info) != IMX_OK)
    return engine_error(c, rq, IMX_E_UNKNOWN_ORDER, buf, cap);
  /* Another cost centre's order is answered as one that does not exist,
  ** open or not: "forbidden" would tell that the id is an open order. */
  if (info.cc != cc) return engine_error(c, rq, IMX_E_UNKNOWN_ORDER, buf, cap);
  imx_status st = imx_engine_order_cancel(c->e, rq->order);
  if (st != IMX_OK) return engine_error(c, rq, st, buf, cap);
  c->cmd.changed = 1;
  imx_reply r;
  reply_init(&r, IMX_MSG_ORDER_CANCEL, rq);
  r.order = rq->order;
  r.qty = info.qty_open;
  return imx_reply_encode(&r, buf, cap);
}

/* order.modify: qty is the new total (filled + open), so that a request
** sent while the order fills never raises what may still trade; the
** engine takes the new open quantity. */
static size_t do_order_modify(imx_core *c, const imx_request *rq, uint32_t cc,
                              char *buf, size_t cap) {
  imx_order_info in;
  /* Another cost centre's order is not_found, as for a cancel. */
  if (imx_engine_order_get(c->e, rq->order, &in) != IMX_OK || in.cc != cc)
    return engine_error(c, rq, IMX_E_UNKNOWN_ORDER, buf, cap);
  int64_t qty_open = in.qty_open;
  if (rq->qty != 0) {
    if (rq->qty <= in.qty_filled) {
      char msg[128];
      snprintf(msg, sizeof msg, "must be more than the quantity filled already (%" PRId64
               "); cancel the order instead", in.qty_filled);
      return imx_error_reason_encode(rq->id, "bad_qty", rq->type, msg, buf, cap);
    }
    qty_open = rq->qty - in.qty_filled;
  }
  int64_t price = rq->has_price ? rq->price_minor : in.price_minor;
  uint32_t first = c->batch_trades_n;
  c->cmd.order_id = rq->order;
  imx_status st = imx_engine_order_modify(c->e, rq->order, qty_open, price);
  if (st != IMX_OK) return engine_error(c, rq, st, buf, cap);
  c->cmd.changed = 1;
  imx_reply r;
  reply_init(&r, IMX_MSG_ORDER_MODIFY, rq);
  r.order = rq->order;
  r.price_minor = price;
  r.priority_kept = c->cmd.priority_kept;
  imx_order_info now;
  if (imx_engine_order_get(c->e, rq->order, &now) == IMX_OK) {
    r.status = IMX_PSTATUS_OPEN;
    r.qty = now.qty_original;
    r.qty_open = now.qty_open;
    r.qty_filled = now.qty_filled;
  } else {
    r.status = c->cmd.cancelled ? IMX_PSTATUS_CANCELLED : IMX_PSTATUS_FILLED;
    r.qty = in.qty_filled + qty_open;
    r.qty_filled = in.qty_filled + c->cmd.filled;
    if (c->cmd.cancelled)
      snprintf(r.reason, sizeof r.reason, "%s", imx_cancel_reason_name(c->cmd.reason));
    else
      IMX_ASSERT(r.qty_filled == r.qty);
  }
  /* Only an order that lost its place trades, and only with the book. */
  uint32_t n = c->batch_trades_n - first;
  IMX_ASSERT(n == c->cmd.fills_n && (n == 0 || !r.priority_kept));
  uint32_t listed = n < IMX_FILLS_LISTED_MAX ? n : IMX_FILLS_LISTED_MAX;
  for (uint32_t i = 0; i < listed; i++) c->trade_rows[i] = c->batch_trades[first + i].trade;
  r.trades = c->trade_rows;
  r.trades_n = listed;
  r.trades_omitted = n - listed;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_order_list(imx_core *c, const imx_request *rq, uint32_t cc,
                            char *buf, size_t cap) {
  uint32_t n = imx_engine_orders_of(c->e, cc, c->order_infos, IMX_LIST_MAX);
  IMX_ASSERT(n <= IMX_LIST_MAX);
  for (uint32_t i = 0; i < n; i++) {
    const imx_order_info *in = &c->order_infos[i];
    imx_reply_order *o = &c->order_rows[i];
    memset(o, 0, sizeof *o);
    o->order = in->order_id;
    snprintf(o->service, sizeof o->service, "%s", c->m->services[in->service].id);
    o->side = pside(in->side);
    o->tif = (int)in->tif;
    o->aon = in->aon;
    o->price_minor = in->price_minor;
    o->qty = in->qty_original;
    o->qty_open = in->qty_open;
    o->qty_filled = in->qty_filled;
    o->min_stars = in->min_stars;
    o->allow_unrated = in->allow_unrated;
  }
  imx_reply r;
  reply_init(&r, IMX_MSG_ORDER_LIST, rq);
  snprintf(r.cc, sizeof r.cc, "%s", c->m->ccs[cc].id);
  r.orders = c->order_rows;
  r.orders_n = n;
  return imx_reply_encode(&r, buf, cap);
}

/* The first n offers of a book in priority order, each with its provider
** (buyers choose providers); the order id only on the asker's own offers,
** so that nobody learns the ids of others' orders. Bids stay anonymous:
** book.get shows them only as levels. Into c->offer_rows. */
static uint32_t book_offers(imx_core *c, uint32_t s, uint32_t auth_cc, uint32_t n) {
  IMX_ASSERT(n <= IMX_DEPTH_MAX && IMX_DEPTH_MAX <= IMX_LIST_MAX);
  uint32_t got = imx_engine_orders(c->e, s, IMX_OFFER, c->order_infos, n);
  IMX_ASSERT(got <= n);
  for (uint32_t i = 0; i < got; i++) {
    const imx_order_info *in = &c->order_infos[i];
    const imx_market_cc *mc = &c->m->ccs[in->cc];
    imx_reply_offer *o = &c->offer_rows[i];
    IMX_ASSERT(in->side == IMX_OFFER && in->cc < c->m->ccs_n);
    o->price_minor = in->price_minor;
    o->qty = in->qty_open;
    o->aon = in->aon;
    o->order = in->cc == auth_cc ? in->order_id : 0;
    copy_str(o->cc, sizeof o->cc, mc->id);
    copy_str(o->name, sizeof o->name, mc->name);
    copy_str(o->site, sizeof o->site, mc->site);
    rep_fill(c, rep_of(c, in->cc, s), &o->rep);
  }
  return got;
}

static size_t do_book_get(imx_core *c, const imx_request *rq, uint32_t auth_cc,
                          char *buf, size_t cap) {
  int64_t s = service_index(c, rq->service);
  if (s < 0) return reason_reply(rq, "unknown_service", buf, cap);
  imx_level_info lv[IMX_DEPTH_MAX];
  imx_reply_level bids[IMX_DEPTH_MAX], offers[IMX_DEPTH_MAX];
  imx_reply r;
  reply_init(&r, IMX_MSG_BOOK_GET, rq);
  snprintf(r.service, sizeof r.service, "%s", rq->service);
  uint32_t depth = rq->depth ? rq->depth : 10;
  if (depth > IMX_DEPTH_MAX) depth = IMX_DEPTH_MAX;
  r.bids_n = imx_engine_levels(c->e, (uint32_t)s, IMX_BID, lv, depth);
  for (uint32_t i = 0; i < r.bids_n; i++)
    bids[i] = (imx_reply_level){lv[i].price_minor, lv[i].qty_open, lv[i].orders};
  r.offers_n = imx_engine_levels(c->e, (uint32_t)s, IMX_OFFER, lv, depth);
  for (uint32_t i = 0; i < r.offers_n; i++)
    offers[i] = (imx_reply_level){lv[i].price_minor, lv[i].qty_open, lv[i].orders};
  r.bids = bids;
  r.offers = offers;
  r.offer_orders_n = book_offers(c, (uint32_t)s, auth_cc, depth);
  r.offer_orders = c->offer_rows;
  return imx_reply_encode(&r, buf, cap);
}

/* Whether the asker may see a trade, and it passes the request's filters. */
static int trade_shown(const imx_request *rq, const imx_reply_trade *t,
                       const char *me, int all) {
  int mine = strcmp(t->buyer, me) == 0 || strcmp(t->seller, me) == 0;
  if (!all && !mine) return 0;
  if (rq->service[0] && strcmp(t->service, rq->service) != 0) return 0;
  if (rq->cc[0] && strcmp(t->buyer, rq->cc) != 0 && strcmp(t->seller, rq->cc) != 0)
    return 0;
  return 1;
}

/* The kept trade k places from the oldest (k < trades_n). */
static const imx_reply_trade *kept_trade(const imx_core *c, uint32_t k) {
  IMX_ASSERT(k < c->trades_n);
  return &c->trades[(c->trades_head + TRADES_KEPT - c->trades_n + k) % TRADES_KEPT];
}

/* The first kept trade with an id above `after` (trades_n if none): ids
** grow along the ring, so a binary search finds it. */
static uint32_t kept_after(const imx_core *c, uint64_t after) {
  uint32_t lo = 0, hi = c->trades_n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (kept_trade(c, mid)->trade <= after) lo = mid + 1;
    else hi = mid;
  }
  IMX_ASSERT(lo == c->trades_n || kept_trade(c, lo)->trade > after);
  return lo;
}

/* Newest first; with `after`, the trades after that id, oldest first, so
** that a client pages forward without missing one. Trades older than the
** ring are gone: asking for them is an error rather than a silent gap. */
static size_t do_trades_list(imx_core *c, const imx_request *rq,
                             uint32_t auth_cc, char *buf, size_t cap) {
  imx_reply_trade *rows = c->trade_rows;
  int all = has_role(c, auth_cc, IMX_ROLE_FINANCE | IMX_ROLE_ADMIN);
  const char *me = c->m->ccs[auth_cc].id;
  uint32_t limit = rq->limit ? rq->limit : 100, n = 0;
  if (limit > IMX_LIST_MAX) limit = IMX_LIST_MAX;
  if (rq->service[0] && service_index(c, rq->service) < 0)
    return reason_reply(rq, "unknown_service", buf, cap);
  /* Asking for another cost centre's trades is refused, not answered with
  ** an empty list that would read as "it has none". */
  if (rq->cc[0]) {
    int64_t k = core_cc_index(c->m, rq->cc);
    if (k < 0) return reason_reply(rq, "unknown_cc", buf, cap);
    if ((uint32_t)k != auth_cc && !all)
      return reason_reply(rq, "not_own_trades", buf, cap);
  }
  if (rq->has_after) {
    if (c->trades_n > 0 && rq->after + 1 < kept_trade(c, 0)->trade) {
      char msg[96];
      snprintf(msg, sizeof msg, "the trades before %" PRIu64
               " are no longer in memory", kept_trade(c, 0)->trade);
      return error_reply(rq, "not_found", "after", msg, buf, cap);
    }
    for (uint32_t k = kept_after(c, rq->after); k < c->trades_n && n < limit; k++)
      if (trade_shown(rq, kept_trade(c, k), me, all)) rows[n++] = *kept_trade(c, k);
  } else {
    for (uint32_t k = c->trades_n; k > 0 && n < limit; k--)
      if (trade_shown(rq, kept_trade(c, k - 1), me, all))
        rows[n++] = *kept_trade(c, k - 1);
  }
  IMX_ASSERT(n <= limit);
  imx_reply r;
  reply_init(&r, IMX_MSG_TRADES_LIST, rq);
  r.trades = rows;
  r.trades_n = n;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_balance_get(imx_core *c, const imx_request *rq, uint32_t cc,
                             char *buf, size_t cap) {
  imx_balance b;
  if (imx_engine_balance(c->e, cc, &b) != IMX_OK)
    return error_reply(rq, "internal", "cc", "no balance", buf, cap);
  imx_reply r;
  reply_init(&r, IMX_MSG_BALANCE_GET, rq);
  snprintf(r.cc, sizeof r.cc, "%s", c->m->ccs[cc].id);
  r.budget = b.budget_minor;
  r.reserved = b.reserved_minor;
  r.spent = b.spent_minor;
  r.earned = b.earned_minor;
  r.available = b.available_minor;
  const imx_market_cc *mc = &c->m->ccs[cc];
  IMX_ASSERT(mc->capacities_n <= c->m->services_n);
  for (uint32_t i = 0; i < mc->capacities_n; i++) {
    imx_capacity k;
    uint32_t s = mc->capacities[i].service;
    if (imx_engine_capacity(c->e, cc, s, &k) != IMX_OK) continue;
    imx_reply_capacity *row = &c->capacity_rows[r.capacities_n++];
    snprintf(row->service, sizeof row->service, "%s", c->m->services[s].id);
    row->capacity = k.capacity;
    row->reserved = k.reserved;
    row->sold = k.sold;
    row->available = k.available;
  }
  r.capacities = c->capacity_rows;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_tender_new(imx_core *c, const imx_request *rq, uint32_t cc,
                            char *buf, size_t cap) {
  int64_t s = service_index(c, rq->service);
  if (s < 0) return reason_reply(rq, "unknown_service", buf, cap);
  if (!has_role(c, cc, IMX_ROLE_RECEIVER))
    return error_reply(rq, "forbidden", "cc", "only receivers open tenders", buf, cap);
  /* score takes both weights, lowest and choose none (the engine checks
  ** the sum, and refuses weights other than 0 on the other modes) */
  int all = IMX_PWEIGHT_PRICE | IMX_PWEIGHT_QUALITY;
  if (rq->weights_given != (rq->decide == IMX_PDECIDE_SCORE ? all : 0))
    return reason_reply(rq, "bad_weights", buf, cap);
  imx_tender_new t = {.service = (uint32_t)s, .cc = cc, .qty = rq->qty,
                      .ceiling_minor = rq->ceiling_minor,
                      .deadline_ms = c->now_ms + rq->deadline_ms,
                      .decide = decide_to_engine(rq->decide),
                      .price_weight = (uint32_t)rq->price_weight,
                      .quality_weight = (uint32_t)rq->quality_weight};
  uint64_t id = 0;
  imx_status st = imx_engine_tender_new(c->e, &t, &id);
  if (st != IMX_OK) return engine_error(c, rq, st, buf, cap);
  c->cmd.changed = 1;
  IMX_ASSERT(id != 0);
  imx_reply r;
  reply_init(&r, IMX_MSG_TENDER_NEW, rq);
  r.tender = id;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_tender_quote(imx_core *c, const imx_request *rq, uint32_t cc,
                              char *buf, size_t cap) {
  if (!has_role(c, cc, IMX_ROLE_PROVIDER))
    return error_reply(rq, "forbidden", "cc", "only providers quote", buf, cap);
  /* A provider without capacity of the tender's service hears so, not
  ** "capacity left: 0". */
  imx_tender_info ti;
  if (imx_engine_tender_get(c->e, rq->tender, &ti) == IMX_OK && ti.cc != cc &&
      !provides(c, cc, ti.service))
    return not_provider(c, rq, cc, ti.service, buf, cap);
  uint64_t id = 0;
  imx_status st = imx_engine_tender_quote(c->e, rq->tender, cc, rq->price_minor, &id);
  if (st != IMX_OK) return engine_error(c, rq, st, buf, cap);
  c->cmd.changed = 1;
  IMX_ASSERT(id != 0);
  imx_reply r;
  reply_init(&r, IMX_MSG_TENDER_QUOTE, rq);
  r.tender = rq->tender;
  r.quote = id;
  return imx_reply_encode(&r, buf, cap);
}

/* ---------------------------------------------- tenders: decide, read them */

/*
** Who sees a tender: its receiver, with every quote; a provider with a
** capacity of its service, with its own quote only (sealed bids: providers
** never see each other's prices); anyone else is told it does not exist,
** as for another cost centre's order. Only the receiver awards or cancels
** it, only a quote's provider withdraws it.
*/

/* The open tender the cost centre may see (*receiver: it is its own), or
** 0 with the reply written. */
static int tender_visible(imx_core *c, const imx_request *rq, uint32_t cc,
                          imx_tender_info *ti, int *receiver, char *buf,
                          size_t cap, size_t *len) {
  if (imx_engine_tender_get(c->e, rq->tender, ti) != IMX_OK ||
      (ti->cc != cc && !provides(c, cc, ti->service))) {
    *len = engine_error(c, rq, IMX_E_UNKNOWN_TENDER, buf, cap);
    return 0;
  }
  *receiver = ti->cc == cc;
  return 1;
}

/* The cost centre's own open tender, or 0 with the reply written. */
static int tender_own(imx_core *c, const imx_request *rq, uint32_t cc,
                      imx_tender_info *ti, char *buf, size_t cap, size_t *len) {
  if (imx_engine_tender_get(c->e, rq->tender, ti) == IMX_OK && ti->cc == cc) return 1;
  *len = engine_error(c, rq, IMX_E_UNKNOWN_TENDER, buf, cap);
  return 0;
}

static size_t do_tender_award(imx_core *c, const imx_request *rq, uint32_t cc,
                              char *buf, size_t cap) {
  imx_tender_info ti;
  size_t len = 0;
  if (!tender_own(c, rq, cc, &ti, buf, cap, &len)) return len;
  uint32_t first = c->batch_trades_n;
  imx_status st = imx_engine_tender_award_quote(c->e, rq->tender, rq->quote);
  if (st != IMX_OK) return engine_error(c, rq, st, buf, cap);
  c->cmd.changed = 1;
  IMX_ASSERT(c->batch_trades_n == first + 1);
  imx_reply r;
  reply_init(&r, IMX_MSG_TENDER_AWARD, rq);
  r.tender = rq->tender;
  r.quote = rq->quote;
  c->trade_rows[0] = c->batch_trades[first].trade;
  r.trades = c->trade_rows;
  r.trades_n = 1;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_tender_cancel(imx_core *c, const imx_request *rq, uint32_t cc,
                               char *buf, size_t cap) {
  imx_tender_info ti;
  size_t len = 0;
  if (!tender_own(c, rq, cc, &ti, buf, cap, &len)) return len;
  imx_status st = imx_engine_tender_cancel(c->e, rq->tender);
  IMX_ASSERT(st == IMX_OK); /* it is open: nothing else can refuse */
  c->cmd.changed = 1;
  imx_reply r;
  reply_init(&r, IMX_MSG_TENDER_CANCEL, rq);
  r.tender = rq->tender;
  return imx_reply_encode(&r, buf, cap);
}

/* The provider's standing quote on the tender, or 0. */
static uint64_t quote_of(const imx_core *c, uint64_t tender, uint32_t cc) {
  imx_quote_info q[IMX_QUOTES_MAX];
  uint32_t n = imx_engine_tender_quotes(c->e, tender, q, IMX_QUOTES_MAX);
  for (uint32_t i = 0; i < n; i++)
    if (q[i].cc == cc) return q[i].quote_id;
  return 0;
}

/* By quote id, or by tender (the provider's quote on it). Another
** provider's quote is one that does not exist. */
static size_t do_quote_withdraw(imx_core *c, const imx_request *rq, uint32_t cc,
                                char *buf, size_t cap) {
  imx_quote_info q = {0};
  if (rq->quote == 0) {
    imx_tender_info ti;
    int receiver = 0;
    size_t len = 0;
    if (!tender_visible(c, rq, cc, &ti, &receiver, buf, cap, &len)) return len;
    q.quote_id = quote_of(c, rq->tender, cc);
  } else if (imx_engine_quote_get(c->e, rq->quote, &q) != IMX_OK || q.cc != cc) {
    q.quote_id = 0;
  }
  if (q.quote_id == 0) return engine_error(c, rq, IMX_E_UNKNOWN_QUOTE, buf, cap);
  imx_status st = imx_engine_quote_get(c->e, q.quote_id, &q);
  IMX_ASSERT(st == IMX_OK && q.cc == cc);
  st = imx_engine_quote_withdraw(c->e, q.quote_id);
  IMX_ASSERT(st == IMX_OK); /* it stands: nothing else can refuse */
  c->cmd.changed = 1;
  imx_reply r;
  reply_init(&r, IMX_MSG_QUOTE_WITHDRAW, rq);
  r.tender = q.tender_id;
  r.quote = q.quote_id;
  return imx_reply_encode(&r, buf, cap);
}

/* A tender as the cost centre sees it (its own quote, if any). */
static void tender_row(const imx_core *c, const imx_tender_info *ti, uint32_t cc,
                       imx_reply_tender *row) {
  memset(row, 0, sizeof *row);
  row->tender = ti->tender_id;
  copy_str(row->service, sizeof row->service, c->m->services[ti->service].id);
  copy_str(row->buyer, sizeof row->buyer, c->m->ccs[ti->cc].id);
  row->qty = ti->qty;
  row->ceiling_minor = ti->ceiling_minor;
  row->deadline_time_ms = ti->deadline_ms;
  row->decide = decide_to_proto(ti->decide);
  row->price_weight = ti->price_weight;
  row->quality_weight = ti->quality_weight;
  row->quotes = ti->quotes;
  if (ti->cc == cc) return;
  imx_quote_info q;
  row->my_quote = quote_of(c, ti->tender_id, cc);
  if (row->my_quote && imx_engine_quote_get(c->e, row->my_quote, &q) == IMX_OK)
    row->my_price_minor = q.price_minor;
}

/* The cost centre's own open tenders and the open tenders of the services
** it provides, oldest first, after `after`: one pass over the open tenders
** (the engine keeps them in the order they opened). */
static size_t do_tender_list(imx_core *c, const imx_request *rq, uint32_t cc,
                             char *buf, size_t cap) {
  imx_reply r;
  reply_init(&r, IMX_MSG_TENDER_LIST, rq);
  uint64_t after = rq->has_after ? rq->after : 0;
  uint32_t n = 0, got = 0;
  IMX_ASSERT(rq->limit >= 1 && rq->limit <= IMX_LIST_MAX);
  do {
    got = imx_engine_tenders(c->e, after, c->tender_infos, TENDER_SCAN);
    for (uint32_t i = 0; i < got && n < rq->limit; i++) {
      const imx_tender_info *ti = &c->tender_infos[i];
      after = ti->tender_id;
      if (ti->cc == cc || provides(c, cc, ti->service))
        tender_row(c, ti, cc, &c->tender_rows[n++]);
    }
  } while (got == TENDER_SCAN && n < rq->limit);
  r.tenders = c->tender_rows;
  r.tenders_n = n;
  return imx_reply_encode(&r, buf, cap);
}

/* A tender that ended, to its receiver (every quote) or a provider whose
** quote stood at the end (its own and the winner's, which the award made
** public): the figures it ended with (decided.h); anyone else hears it does
** not exist, as for an open tender. */
static size_t tender_get_ended(imx_core *c, const imx_request *rq, uint32_t cc,
                               const decided_tender *d, char *buf, size_t cap) {
  uint64_t mine = 0;
  for (uint32_t i = 0; i < d->quotes_n; i++)
    if (d->quotes[i].cc == cc) mine = d->quotes[i].quote;
  int receiver = d->info.cc == cc;
  if (!receiver && mine == 0) return engine_error(c, rq, IMX_E_UNKNOWN_TENDER, buf, cap);
  imx_reply r;
  reply_init(&r, IMX_MSG_TENDER_GET, rq);
  imx_reply_tender *row = &c->tender_rows[0];
  tender_row(c, &d->info, cc, row); /* no quote of it stands: my_quote 0 */
  static const int status_of[] = {
      [DECIDED_AWARDED] = IMX_PTENDER_AWARDED, [DECIDED_NO_AWARD] = IMX_PTENDER_LAPSED,
      [DECIDED_NO_QUOTES] = IMX_PTENDER_LAPSED, [DECIDED_CANCELLED] = IMX_PTENDER_CANCELLED};
  IMX_ASSERT(d->end >= DECIDED_AWARDED && d->end <= DECIDED_CANCELLED);
  row->status = status_of[d->end];
  row->ended_time_ms = d->time_ms;
  row->award_quote = d->quote;
  row->award_trade = d->trade;
  row->why = d->end == DECIDED_NO_QUOTES ? IMX_LAPSED_NO_QUOTES : IMX_LAPSED_NO_AWARD;
  r.tenders = row;
  r.tenders_n = 1;
  const imx_market_cc *buyer = &c->m->ccs[d->info.cc];
  copy_str(r.buyer_name, sizeof r.buyer_name, buyer->name);
  copy_str(r.buyer_site, sizeof r.buyer_site, buyer->site);
  imx_reply_quote rows[IMX_QUOTES_MAX];
  for (uint32_t i = 0; i < d->quotes_n; i++) {
    const decided_quote *q = &d->quotes[i];
    if (!receiver && q->quote != mine && q->quote != d->quote) continue; /* sealed */
    if (q->quote == mine) row->my_quote = mine, row->my_price_minor = q->price_minor;
    const imx_market_cc *p = &c->m->ccs[q->cc];
    imx_reply_quote *o = &rows[r.quotes_n++];
    memset(o, 0, sizeof *o);
    o->quote = q->quote;
    copy_str(o->provider, sizeof o->provider, p->id);
    copy_str(o->name, sizeof o->name, p->name);
    copy_str(o->site, sizeof o->site, p->site);
    o->price_minor = q->price_minor;
    o->has_score = d->info.decide == IMX_DECIDE_SCORE;
    o->score = q->score;
    o->rep = (imx_reply_reputation){.ratings = q->ratings, .stars_sum = q->stars_sum,
                                    .ratings_recent = q->ratings_recent,
                                    .stars_sum_recent = q->stars_sum_recent};
  }
  r.quotes = rows;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_tender_get(imx_core *c, const imx_request *rq, uint32_t cc,
                            char *buf, size_t cap) {
  imx_tender_info ti;
  int receiver = 0;
  size_t len = 0;
  const decided_tender *d = imx_engine_tender_get(c->e, rq->tender, &ti) == IMX_OK
                                ? NULL : decided_find(&c->decided, rq->tender);
  if (d != NULL) return tender_get_ended(c, rq, cc, d, buf, cap);
  if (!tender_visible(c, rq, cc, &ti, &receiver, buf, cap, &len)) return len;
  imx_reply r;
  reply_init(&r, IMX_MSG_TENDER_GET, rq);
  tender_row(c, &ti, cc, &c->tender_rows[0]);
  r.tenders = c->tender_rows;
  r.tenders_n = 1;
  const imx_market_cc *buyer = &c->m->ccs[ti.cc];
  copy_str(r.buyer_name, sizeof r.buyer_name, buyer->name);
  copy_str(r.buyer_site, sizeof r.buyer_site, buyer->site);
  imx_quote_info q[IMX_QUOTES_MAX];
  imx_reply_quote rows[IMX_QUOTES_MAX];
  uint32_t k = imx_engine_tender_quotes(c->e, ti.tender_id, q, IMX_QUOTES_MAX);
  for (uint32_t i = 0; i < k; i++) {
    if (!receiver && q[i].cc != cc) continue; /* sealed */
    const imx_market_cc *p = &c->m->ccs[q[i].cc];
    imx_reply_quote *row = &rows[r.quotes_n++];
    row->quote = q[i].quote_id;
    copy_str(row->provider, sizeof row->provider, p->id);
    copy_str(row->name, sizeof row->name, p->name);
    copy_str(row->site, sizeof row->site, p->site);
    row->price_minor = q[i].price_minor;
    /* a `score` tender's quote: its score with the reputations as they
    ** stand now (the award takes them at the deadline) */
    row->has_score = ti.decide == IMX_DECIDE_SCORE;
    row->score = row->has_score ? q[i].score : 0;
    rep_fill(c, rep_of(c, q[i].cc, ti.service), &row->rep);
  }
  r.quotes = rows;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_auction_run(imx_core *c, const imx_request *rq, char *buf,
                             size_t cap) {
  int64_t s = service_index(c, rq->service);
  if (s < 0) return reason_reply(rq, "unknown_service", buf, cap);
  imx_auction_result a;
  imx_status st = imx_engine_auction_run(c->e, (uint32_t)s,
                                         rq->has_price ? rq->price_minor : 0, &a);
  if (st != IMX_OK) return engine_error(c, rq, st, buf, cap);
  c->cmd.changed = 1;
  imx_reply r;
  reply_init(&r, IMX_MSG_AUCTION_RUN, rq);
  snprintf(r.service, sizeof r.service, "%s", rq->service);
  r.price_minor = a.price_minor;
  r.volume = a.volume;
  r.surplus = a.surplus;
  r.surplus_side = pside(a.surplus_side);
  return imx_reply_encode(&r, buf, cap);
}

/* Refused only when open gtc bids still hold more than the new budget:
** the cost centre then keeps last period's figures. */
static void budget_kept(void *ctx, uint32_t cc, imx_status st) {
  imx_core *c = ctx;
  c->over_total++;
  if (c->over_n < IMX_LIST_MAX)
    copy_str(c->over_rows[c->over_n++], sizeof c->over_rows[0], c->m->ccs[cc].id);
  if (!c->quiet)
    imx_log("period %lld: %s's open bids hold more than its budget (%s); "
            "its budget is not renewed", (long long)c->period, c->m->ccs[cc].id,
            imx_status_name(st));
}

/* Closes the period: auctions called, period orders expired, then the next
** period opens with the market file's budgets and capacities. The result
** names the closed period: the server freezes it in the ledger. The reply
** names both periods by their labels (proto/period.c), sums up what traded
** per service (the calls' trades included) and lists the cost centres
** whose open bids hold more than their new budget (budget_kept: the first
** IMX_LIST_MAX; the log names every one). */
static size_t do_period_close(imx_core *c, const imx_request *rq,
                              core_result *res, char *buf, size_t cap) {
  for (uint32_t s = 0; s < c->m->services_n; s++)
    if (c->m->services[s].auction) imx_engine_auction_run(c->e, s, 0, NULL);
  for (uint32_t s = 0; s < c->m->services_n; s++) imx_engine_period_end(c->e, s);
  imx_reply r;
  reply_init(&r, IMX_MSG_PERIOD_CLOSE, rq);
  imx_period_label(c->m, c->period, r.period, sizeof r.period);
  imx_period_label(c->m, c->period + 1, r.opened, sizeof r.opened);
  uint32_t n = 0;
  for (uint32_t s = 0; s < c->m->services_n; s++) {
    const core_period_sum *ps = &c->period_sums[s];
    if (ps->trades == 0) continue;
    if (n == IMX_LIST_MAX) {
      r.sums_omitted++;
      continue;
    }
    imx_reply_sum *row = &c->sum_rows[n++];
    copy_str(row->service, sizeof row->service, c->m->services[s].id);
    row->trades = ps->trades;
    row->bought = row->sold = ps->units;
    row->spent = row->earned = ps->amount_minor;
  }
  memset(c->period_sums, 0, c->m->services_n * sizeof *c->period_sums);
  res->period_closed = c->period++;
  c->cmd.changed = 1;
  const char *what;
  c->over_n = c->over_total = 0;
  imx_setup_period(c->e, c->m, budget_kept, c, &what);
  r.expired = c->cmd.expired;
  r.sums = c->sum_rows;
  r.sums_n = n;
  r.over_budget = c->over_rows;
  r.over_budget_n = c->over_n;
  r.over_budget_omitted = c->over_total - c->over_n;
  return imx_reply_encode(&r, buf, cap);
}

/* ------------------------------------------------------------- summary */

size_t core_summary_encode(imx_reply *rep, char *buf, size_t cap) {
  IMX_ASSERT(rep->type == IMX_MSG_PERIOD_SUMMARY && rep->cc_sums_n <= IMX_LIST_MAX);
  for (;;) {
    size_t len = imx_reply_encode(rep, buf, cap);
    if (len > 0 || rep->cc_sums_n <= 1) return len;
    uint32_t keep = rep->cc_sums_n / 2;
    copy_str(rep->next, sizeof rep->next, rep->cc_sums[keep].cc);
    rep->cc_sums_n = keep;
  }
}

/* period.summary of the open period: reads.c read the ledger's figures
** into c->summary; each row gets the engine's reserved and available, as
** balance.get shows them. The engine's period must still be the one read:
** a close in between made the ledger's figures those of a closed period
** read before its last trades, and the engine's another period's. */
static size_t do_period_summary(imx_core *c, const imx_request *rq, uint32_t auth_cc,
                                char *buf, size_t cap) {
  core_summary *s = c->summary;
  if (!has_role(c, auth_cc, CORE_SUMMARY_READERS))
    return reason_reply(rq, "not_finance", buf, cap);
  if (s == NULL)
    return error_reply(rq, "internal", "type", "period.summary is read from the ledger first",
                       buf, cap);
  IMX_ASSERT(s->rep.is_open && s->rep.cc_sums_n <= IMX_LIST_MAX);
  if (s->period != c->period) return reason_reply(rq, "period_moved", buf, cap);
  for (uint32_t i = 0; i < s->rep.cc_sums_n; i++) {
    imx_balance b;
    IMX_ASSERT(s->cc_index[i] < c->m->ccs_n);
    if (imx_engine_balance(c->e, s->cc_index[i], &b) != IMX_OK)
      return error_reply(rq, "internal", "cc", "no balance", buf, cap);
    s->rep.cc_sums[i].reserved = b.reserved_minor;
    s->rep.cc_sums[i].available = b.available_minor;
  }
  return core_summary_encode(&s->rep, buf, cap);
}

/* ------------------------------------------------------------ discovery */

/*
** services.list, cc.list and cc.get: what a person needs to find services
** and providers. Any authenticated cost centre may read them; nothing
** secret is in them: no token hash, and a cost centre's budget only for
** finance and the cost centre itself (as balance.get).
**
** The lists are pages in market-file order: `start` names the first row,
** `limit` bounds the rows, and `next` names the first row not listed. A
** page whose rows do not fit a reply (IMX_REPLY_BYTES_MAX: long names of a
** large market) is halved until it fits, so `next` may come before the limit.
*/

/* The first row of a page: the position of `start` (0 without one), or -1
** for an id that is not in the list. */
static int64_t page_start(const imx_request *rq, int64_t (*find)(const imx_market *,
                                                                  const char *),
                          const imx_market *m) {
  return rq->start[0] ? find(m, rq->start) : 0;
}

/* Encodes r with n rows of a page that starts at `first` of `total`,
** halving n until the reply fits; id_of gives a row's id for `next`. */
static size_t encode_page(imx_reply *r, uint32_t *rows_n, uint32_t first,
                          uint32_t n, uint32_t total, const char *(*id_of)(const imx_core *, uint32_t),
                          const imx_core *c, char *buf, size_t cap) {
  IMX_ASSERT(first <= total && n <= total - first);
  for (;;) {
    *rows_n = n;
    r->next[0] = '\0';
    if (first + n < total) copy_str(r->next, sizeof r->next, id_of(c, first + n));
    size_t len = imx_reply_encode(r, buf, cap);
    if (len > 0 || n <= 1) return len; /* 0: even one row is too long */
    n /= 2;
  }
}

static const char *service_id_of(const imx_core *c, uint32_t s) {
  return c->m->services[s].id;
}

static const char *cc_id_of(const imx_core *c, uint32_t k) { return c->m->ccs[k].id; }

static void service_row(const imx_core *c, uint32_t s, imx_reply_service *row) {
  const imx_market_service *ms = &c->m->services[s];
  memset(row, 0, sizeof *row);
  copy_str(row->service, sizeof row->service, ms->id);
  copy_str(row->name, sizeof row->name, ms->name);
  copy_str(row->description, sizeof row->description, ms->description);
  copy_str(row->unit, sizeof row->unit, ms->unit);
  copy_str(row->currency, sizeof row->currency, ms->currency);
  memcpy(row->texts, ms->texts, ms->texts_n * sizeof *ms->texts);
  row->texts_n = ms->texts_n;
  row->auction = ms->auction;
  row->divisible = ms->divisible;
  row->tick_minor = ms->tick_minor;
  row->lot = ms->lot;
  row->price_cap_minor = ms->price_cap_minor;
  row->providers = c->providers[s];
  imx_level_info lv;
  if (imx_engine_levels(c->e, s, IMX_BID, &lv, 1))
    row->bid_minor = lv.price_minor, row->bid_qty = lv.qty_open;
  if (imx_engine_levels(c->e, s, IMX_OFFER, &lv, 1))
    row->offer_minor = lv.price_minor, row->offer_qty = lv.qty_open;
  row->last_price_minor = c->last[s].price_minor;
  row->last_qty = c->last[s].qty;
  row->last_time_ms = c->last[s].time_ms;
  rep_fill(c, rep_of_service(c, s), &row->rep);
}

static size_t do_services_list(imx_core *c, const imx_request *rq, char *buf,
                               size_t cap) {
  int64_t first = page_start(rq, imx_market_service_find, c->m);
  if (first < 0)
    return error_reply(rq, "unknown_service", "start", "no such service to start from",
                       buf, cap);
  uint32_t total = c->m->services_n, limit = rq->limit ? rq->limit : 100;
  uint32_t n = total - (uint32_t)first;
  if (n > limit) n = limit;
  IMX_ASSERT(n <= IMX_LIST_MAX);
  for (uint32_t i = 0; i < n; i++) service_row(c, (uint32_t)first + i, &c->service_rows[i]);
  imx_reply r;
  reply_init(&r, IMX_MSG_SERVICES_LIST, rq);
  r.services = c->service_rows;
  return encode_page(&r, &r.services_n, (uint32_t)first, n, total, service_id_of, c,
                     buf, cap);
}

/* A cost centre's budget is finance's business and its own. */
static int sees_budget(const imx_core *c, uint32_t asker, uint32_t cc) {
  return asker == cc || has_role(c, asker, IMX_ROLE_FINANCE);
}

static void cc_row(const imx_core *c, uint32_t cc, uint32_t asker, imx_reply_cc *row) {
  const imx_market_cc *mc = &c->m->ccs[cc];
  memset(row, 0, sizeof *row);
  copy_str(row->cc, sizeof row->cc, mc->id);
  copy_str(row->name, sizeof row->name, mc->name);
  copy_str(row->site, sizeof row->site, mc->site);
  row->roles = mc->roles;
  row->services = c->cc_services + c->cc_services_at[cc];
  row->services_n = c->cc_services_at[cc + 1] - c->cc_services_at[cc];
  IMX_ASSERT(row->services_n == mc->capacities_n);
  row->has_budget = sees_budget(c, asker, cc);
  row->budget_minor = row->has_budget ? mc->budget_minor : 0;
}

static size_t do_cc_list(imx_core *c, const imx_request *rq, uint32_t auth_cc,
                         char *buf, size_t cap) {
  int64_t first = page_start(rq, imx_market_cc_find, c->m);
  if (first < 0)
    return error_reply(rq, "unknown_cc", "start", "no such cost centre to start from",
                       buf, cap);
  uint32_t total = c->m->ccs_n, limit = rq->limit ? rq->limit : 100;
  uint32_t n = total - (uint32_t)first;
  if (n > limit) n = limit;
  IMX_ASSERT(n <= IMX_LIST_MAX);
  for (uint32_t i = 0; i < n; i++) cc_row(c, (uint32_t)first + i, auth_cc, &c->cc_rows[i]);
  imx_reply r;
  reply_init(&r, IMX_MSG_CC_LIST, rq);
  r.ccs = c->cc_rows;
  return encode_page(&r, &r.ccs_n, (uint32_t)first, n, total, cc_id_of, c, buf, cap);
}

/* cc.get's cc is the cost centre to show (default: the asker), not one to
** act for: anyone may look anyone up. */
static size_t do_cc_get(imx_core *c, const imx_request *rq, uint32_t auth_cc,
                        char *buf, size_t cap) {
  int64_t cc = rq->cc[0] ? core_cc_index(c->m, rq->cc) : auth_cc;
  if (cc < 0) return reason_reply(rq, "unknown_cc", buf, cap);
  imx_reply r;
  reply_init(&r, IMX_MSG_CC_GET, rq);
  cc_row(c, (uint32_t)cc, auth_cc, &c->cc_rows[0]);
  /* its reputation for each service it provides, in services' order */
  const imx_market_cc *mc = &c->m->ccs[cc];
  for (uint32_t k = 0; k < mc->capacities_n; k++) {
    imx_reply_reputation *row = &c->rep_rows[k];
    rep_fill(c, &c->reps[c->cc_services_at[cc] + k], row);
    copy_str(row->service, sizeof row->service,
             c->m->services[mc->capacities[k].service].id);
  }
  c->cc_rows[0].reputation = c->rep_rows;
  c->cc_rows[0].reputation_n = mc->capacities_n;
  r.ccs = c->cc_rows;
  r.ccs_n = 1;
  return imx_reply_encode(&r, buf, cap);
}

/* ------------------------------------------------------------- ratings */

/*
** The buyer of a trade rates it once (rating.new), within the market's
** rating window of the trade, by the request's clock (the core's clock
** after the request's tick: deterministic under replay); the provider
** replies once (rating.reply), within the window from the rating. What
** the core must know for that is in memory, bounded: per trade, in slot
** trade % IMX_RATEABLE_TRADES, its buyer, seller, service, time and
** whether it was rated and answered. A trade whose slot a newer trade
** took (more than IMX_RATEABLE_TRADES trades later) can no longer be
** rated, whatever the window: the same answer as for a trade beyond the
** window ("rating_window_passed"). A snapshot keeps the trades that may
** still be rated or answered, and every reputation.
**
** Reputation: per provider and service it provides, the number of
** ratings and the sum of their stars, all time (what matching reads,
** deterministic from the journal) and per day for the last
** IMX_REPUTATION_RECENT_DAYS days (for people: by the rating's day, UTC);
** and the same per service over all its providers (services.list).
*/

#define DAY_MS 86400000LL

static int64_t window_ms(const imx_core *c) {
  uint32_t days = c->m->rating_window_days ? c->m->rating_window_days
                                           : IMX_RATING_WINDOW_DAYS_DEFAULT;
  return (int64_t)days * DAY_MS;
}

/* The reputation of provider cc for service s, or NULL when cc does not
** provide it. */
static reputation *rep_of(const imx_core *c, uint32_t cc, uint32_t s) {
  const imx_market_cc *mc = &c->m->ccs[cc];
  for (uint32_t k = 0; k < mc->capacities_n; k++)
    if (mc->capacities[k].service == s) return &c->reps[c->cc_services_at[cc] + k];
  return NULL;
}

/* The service's own, over all its providers: after the providers'. */
static reputation *rep_of_service(const imx_core *c, uint32_t s) {
  return &c->reps[c->cc_services_at[c->m->ccs_n] + s];
}

static void rep_add(reputation *r, int64_t day, int stars) {
  r->ratings++;
  r->stars_sum += stars;
  rep_day *d = &r->days[day % IMX_REPUTATION_RECENT_DAYS];
  if (d->day != day) *d = (rep_day){.day = day};
  d->ratings++;
  d->stars_sum += (uint32_t)stars;
}

static void rep_fill(const imx_core *c, const reputation *r, imx_reply_reputation *out) {
  memset(out, 0, sizeof *out);
  if (r == NULL) return;
  out->ratings = r->ratings;
  out->stars_sum = r->stars_sum;
  int64_t today = c->now_ms / DAY_MS;
  for (uint32_t k = 0; k < IMX_REPUTATION_RECENT_DAYS; k++) {
    const rep_day *d = &r->days[k];
    if (d->ratings && d->day <= today && d->day > today - IMX_REPUTATION_RECENT_DAYS) {
      out->ratings_recent += d->ratings;
      out->stars_sum_recent += d->stars_sum;
    }
  }
}

void core_reputation(const imx_core *c, uint32_t cc, uint32_t service,
                     imx_reply_reputation *out) {
  IMX_ASSERT(cc < c->m->ccs_n && service < c->m->services_n);
  rep_fill(c, rep_of(c, cc, service), out);
}

/* The engine's copy of a provider's all-time reputation (matching with
** min_stars reads it): the one place that hands it over. */
static void engine_reputation(imx_core *c, uint32_t cc, uint32_t service,
                              const reputation *r) {
  IMX_ASSERT(r->ratings > 0 && r->ratings <= UINT32_MAX && r->stars_sum >= r->ratings);
  /* the engine's table has a slot for every capacity of the market file,
  ** and only a provider with a capacity has a reputation here */
  imx_status st = core_reputation_set(c, cc, service, (uint32_t)r->ratings,
                                      (uint64_t)r->stars_sum);
  IMX_ASSERT(st == IMX_OK && "the engine takes every provider's reputation");
}

/* Every provider's reputation to the engine (after a snapshot is read). */
static void engine_reputations(imx_core *c) {
  for (uint32_t cc = 0; cc < c->m->ccs_n; cc++) {
    const imx_market_cc *mc = &c->m->ccs[cc];
    for (uint32_t k = 0; k < mc->capacities_n; k++) {
      const reputation *r = &c->reps[c->cc_services_at[cc] + k];
      if (r->ratings) engine_reputation(c, cc, mc->capacities[k].service, r);
    }
  }
}

/* Whether a kept trade can no longer be rated nor answered. */
static int rateable_closed(const imx_core *c, const rateable *t) {
  int64_t from = t->rated_ms > t->time_ms ? t->rated_ms : t->time_ms;
  return c->now_ms > from + window_ms(c);
}

/* The kept trade rq->trade, or NULL with the refusal in *len. */
static rateable *rateable_find(imx_core *c, const imx_request *rq, char *buf, size_t cap,
                               size_t *len) {
  if (rq->trade == 0 || rq->trade > (uint64_t)c->last_trade) {
    *len = reason_reply(rq, "unknown_trade", buf, cap);
    return NULL;
  }
  rateable *t = &c->rateable[rq->trade % IMX_RATEABLE_TRADES];
  if (t->trade != rq->trade || rateable_closed(c, t)) {
    *len = reason_reply(rq, "rating_window_passed", buf, cap);
    return NULL;
  }
  return t;
}

static void rating_result(imx_core *c, core_result *res, const rateable *t, int stars,
                          const char *comment) {
  copy_str(c->rating_comment, sizeof c->rating_comment, comment);
  c->rating = (core_rating){.trade = t->trade, .service = c->m->services[t->service].id,
                            .provider = c->m->ccs[t->seller].id,
                            .rater = c->m->ccs[t->buyer].id, .stars = stars,
                            .comment = c->rating_comment, .time_ms = c->now_ms};
  res->rating = &c->rating;
  c->cmd.changed = 1;
}

static size_t do_rating_new(imx_core *c, const imx_request *rq, uint32_t cc,
                            core_result *res, char *buf, size_t cap) {
  size_t len = 0;
  rateable *t = rateable_find(c, rq, buf, cap, &len);
  if (t == NULL) return len;
  if (t->buyer != cc) return reason_reply(rq, "not_buyer", buf, cap);
  if (c->now_ms > t->time_ms + window_ms(c))
    return reason_reply(rq, "rating_window_passed", buf, cap);
  if (t->rated_ms) return reason_reply(rq, "already_rated", buf, cap);
  IMX_ASSERT(t->seller != t->buyer && "nobody rates itself");
  IMX_ASSERT(rq->stars >= IMX_RATING_STARS_MIN && rq->stars <= IMX_RATING_STARS_MAX);
  t->rated_ms = c->now_ms > 0 ? c->now_ms : 1;
  t->stars = (uint8_t)rq->stars;
  int64_t day = c->now_ms / DAY_MS;
  reputation *r = rep_of(c, t->seller, t->service);
  if (r) {
    rep_add(r, day, rq->stars);
    engine_reputation(c, t->seller, t->service, r);
  }
  rep_add(rep_of_service(c, t->service), day, rq->stars);
  rating_result(c, res, t, rq->stars, rq->comment);
  imx_reply rp;
  reply_init(&rp, IMX_MSG_RATING_NEW, rq);
  rp.trade = t->trade;
  rp.stars = rq->stars;
  copy_str(rp.service, sizeof rp.service, c->m->services[t->service].id);
  copy_str(rp.cc, sizeof rp.cc, c->m->ccs[t->seller].id);
  return imx_reply_encode(&rp, buf, cap);
}

static size_t do_rating_reply(imx_core *c, const imx_request *rq, uint32_t cc,
                              core_result *res, char *buf, size_t cap) {
  size_t len = 0;
  rateable *t = rateable_find(c, rq, buf, cap, &len);
  if (t == NULL) return len;
  if (t->seller != cc) return reason_reply(rq, "not_seller", buf, cap);
  if (!t->rated_ms) return reason_reply(rq, "not_rated", buf, cap);
  if (t->replied) return reason_reply(rq, "already_replied", buf, cap);
  t->replied = 1;
  rating_result(c, res, t, 0, rq->comment);
  imx_reply rp;
  reply_init(&rp, IMX_MSG_RATING_REPLY, rq);
  rp.trade = t->trade;
  return imx_reply_encode(&rp, buf, cap);
}

core_last core_last_of(const imx_core *c, uint32_t s) {
  IMX_ASSERT(s < c->m->services_n);
  return c->last[s];
}

/* The tender requests that decide or read tenders, for the cost centre
** they act for (its own only: no role reads others' tenders). */
static size_t dispatch_tender(imx_core *c, const imx_request *rq, uint32_t cc,
                              char *buf, size_t cap) {
  switch (rq->type) {
  case IMX_MSG_TENDER_AWARD: return do_tender_award(c, rq, cc, buf, cap);
  case IMX_MSG_TENDER_CANCEL: return do_tender_cancel(c, rq, cc, buf, cap);
  case IMX_MSG_QUOTE_WITHDRAW: return do_quote_withdraw(c, rq, cc, buf, cap);
  case IMX_MSG_TENDER_LIST: return do_tender_list(c, rq, cc, buf, cap);
  case IMX_MSG_TENDER_GET: return do_tender_get(c, rq, cc, buf, cap);
  default: IMX_ASSERT(0 && "not a tender request"); return 0;
  }
}

static size_t dispatch(imx_core *c, const imx_request *rq, uint32_t auth_cc,
                       core_result *res, char *buf, size_t cap) {
  size_t len = 0;
  int64_t cc;
  /* Finance reads every cost centre's orders and balance. Admin, who runs
  ** the market, reads every cost centre's orders (to see why an order did
  ** not trade or how a call allocated; it sees every trade already), but
  ** not budgets and spending: those are finance's. */
  const unsigned order_readers = CORE_ORDER_READERS;
  const unsigned balance_readers = CORE_BALANCE_READERS;
  switch (rq->type) {
  case IMX_MSG_ORDER_NEW:
    if ((cc = core_acting_cc(c->m, rq, auth_cc, 0, buf, cap, &len)) < 0) return len;
    return do_order_new(c, rq, (uint32_t)cc, buf, cap);
  case IMX_MSG_ORDER_CANCEL:
    if ((cc = core_acting_cc(c->m, rq, auth_cc, 0, buf, cap, &len)) < 0) return len;
    return do_order_cancel(c, rq, (uint32_t)cc, buf, cap);
  case IMX_MSG_ORDER_MODIFY:
    if ((cc = core_acting_cc(c->m, rq, auth_cc, 0, buf, cap, &len)) < 0) return len;
    return do_order_modify(c, rq, (uint32_t)cc, buf, cap);
  case IMX_MSG_ORDER_LIST:
    if ((cc = core_acting_cc(c->m, rq, auth_cc, order_readers, buf, cap, &len)) < 0) return len;
    return do_order_list(c, rq, (uint32_t)cc, buf, cap);
  case IMX_MSG_BOOK_GET: return do_book_get(c, rq, auth_cc, buf, cap);
  case IMX_MSG_SERVICES_LIST: return do_services_list(c, rq, buf, cap);
  case IMX_MSG_CC_LIST: return do_cc_list(c, rq, auth_cc, buf, cap);
  case IMX_MSG_CC_GET: return do_cc_get(c, rq, auth_cc, buf, cap);
  case IMX_MSG_TRADES_LIST: return do_trades_list(c, rq, auth_cc, buf, cap);
  case IMX_MSG_BALANCE_GET:
    if ((cc = core_acting_cc(c->m, rq, auth_cc, balance_readers, buf, cap, &len)) < 0) return len;
    return do_balance_get(c, rq, (uint32_t)cc, buf, cap);
  case IMX_MSG_TENDER_NEW:
    if ((cc = core_acting_cc(c->m, rq, auth_cc, 0, buf, cap, &len)) < 0) return len;
    return do_tender_new(c, rq, (uint32_t)cc, buf, cap);
  case IMX_MSG_TENDER_QUOTE:
    if ((cc = core_acting_cc(c->m, rq, auth_cc, 0, buf, cap, &len)) < 0) return len;
    return do_tender_quote(c, rq, (uint32_t)cc, buf, cap);
  case IMX_MSG_TENDER_AWARD:
  case IMX_MSG_TENDER_CANCEL:
  case IMX_MSG_QUOTE_WITHDRAW:
  case IMX_MSG_TENDER_LIST:
  case IMX_MSG_TENDER_GET:
    if ((cc = core_acting_cc(c->m, rq, auth_cc, 0, buf, cap, &len)) < 0) return len;
    return dispatch_tender(c, rq, (uint32_t)cc, buf, cap);
  case IMX_MSG_AUCTION_RUN:
    if (!has_role(c, auth_cc, IMX_ROLE_ADMIN))
      return error_reply(rq, "forbidden", "type", "only admin runs auctions", buf, cap);
    return do_auction_run(c, rq, buf, cap);
  case IMX_MSG_RATING_NEW:
    if ((cc = core_acting_cc(c->m, rq, auth_cc, 0, buf, cap, &len)) < 0) return len;
    return do_rating_new(c, rq, (uint32_t)cc, res, buf, cap);
  case IMX_MSG_RATING_REPLY:
    if ((cc = core_acting_cc(c->m, rq, auth_cc, 0, buf, cap, &len)) < 0) return len;
    return do_rating_reply(c, rq, (uint32_t)cc, res, buf, cap);
  case IMX_MSG_PERIOD_SUMMARY: return do_period_summary(c, rq, auth_cc, buf, cap);
  case IMX_MSG_PERIOD_CLOSE:
    if (!has_role(c, auth_cc, IMX_ROLE_ADMIN | IMX_ROLE_FINANCE))
      return error_reply(rq, "forbidden", "type", "only admin or finance close periods", buf, cap);
    return do_period_close(c, rq, res, buf, cap);
  default:
    return error_reply(rq, "internal", "type", "not handled by the engine thread", buf, cap);
  }
}

/* ------------------------------------------------------------- journal */

/* A request as it is journaled and replayed, and as it is compared with a
** repeat: canonical, without token, and without cc when it names the
** authenticated cost centre (who acts for itself either way), into
** c->journal. Returns its length. */
static size_t encode_request(imx_core *c, const imx_request *rq, uint32_t auth_cc) {
  imx_request copy = *rq;
  copy.token[0] = '\0';
  if (strcmp(copy.cc, c->m->ccs[auth_cc].id) == 0) copy.cc[0] = '\0';
  size_t n = imx_request_encode(&copy, c->journal, sizeof c->journal);
  IMX_ASSERT(n > 0 && n < sizeof c->journal &&
             "a decoded request re-encodes within IMX_MSG_BYTES_MAX");
  return n;
}

/* The tick entry, {"tick":T}: written here and read here only. */
#define TICK_HEAD "{\"tick\":"

static void journal_tick(imx_core *c, int64_t now_ms, core_result *res) {
  int n = snprintf(c->journal, sizeof c->journal, TICK_HEAD "%" PRId64 "}", now_ms);
  IMX_ASSERT(n > 0 && (size_t)n < sizeof c->journal);
  res->journal = c->journal;
  res->journal_len = (size_t)n;
  res->journal_cc = "";
}

/* 1 with *t set when the entry is a tick entry, 0 when it is not one; a
** tick entry that is malformed is -1. */
static int read_tick(const char *s, size_t len, int64_t *t) {
  size_t head = sizeof TICK_HEAD - 1;
  if (len < head || memcmp(s, TICK_HEAD, head) != 0) return 0;
  int64_t v = 0;
  size_t i = head;
  for (; i < len && s[i] >= '0' && s[i] <= '9' && i - head < 18; i++)
    v = v * 10 + (s[i] - '0');
  if (i == head || i + 1 != len || s[i] != '}') return -1;
  *t = v;
  return 1;
}

/* ------------------------------------------------------------- commands */

static void command_begin(imx_core *c) {
  memset(&c->cmd, 0, sizeof c->cmd);
  c->cmd.trades_first = c->batch_trades_n;
  c->cmd.closed_first = c->batch_closed_n;
}

static void command_end(imx_core *c, core_result *res) {
  record_tops(c);
  IMX_ASSERT(c->batch_trades_n >= c->cmd.trades_first);
  res->trades_n = c->batch_trades_n - c->cmd.trades_first;
  res->trades = res->trades_n ? c->batch_trades + c->cmd.trades_first : NULL;
  IMX_ASSERT(c->batch_closed_n >= c->cmd.closed_first);
  res->closed_n = c->batch_closed_n - c->cmd.closed_first;
  res->closed = res->closed_n ? c->batch_closed + c->cmd.closed_first : NULL;
}

/* Advances the engine's clock (tender deadlines). */
static void clock_to(imx_core *c, int64_t now_ms) {
  if (now_ms <= c->now_ms) return;
  c->now_ms = now_ms;
  imx_engine_clock(c->e, now_ms);
}

core_result core_tick(imx_core *c, int64_t now_ms) {
  core_result res = {0};
  command_begin(c);
  clock_to(c, now_ms);
  command_end(c, &res);
  if (res.trades_n > 0) journal_tick(c, now_ms, &res);
  res.changed = res.journal != NULL;
  return res;
}

/* A request that changes the market: a repeat of one the cost centre made
** is answered from its memory and changes nothing (no journal entry); a new
** one is executed, remembered and journaled. Replaying the journal executes
** every entry: each was executed once, even one that a journal written with
** other limits would have the memory answer. */
static void execute_remembered(imx_core *c, const imx_request *rq, uint32_t auth_cc,
                               core_result *res, char *buf, size_t cap) {
  size_t n = encode_request(c, rq, auth_cc), id_len = strlen(rq->id);
  uint64_t h = request_hash(c->journal, n);
  dedupe_view v = dedupe_of(c, auth_cc);
  uint32_t at, k = dedupe_find(c, &v, id_hash(rq->id, id_len), rq->id, id_len, &at);
  if (k != DEDUPE_NONE && !c->replaying) {
    res->reply_len = dedupe_repeat(c, &v, k, h, rq, buf, cap);
    return;
  }
  res->reply_len = dispatch(c, rq, auth_cc, res, buf, cap);
  if (res->reply_len == 0)
    res->reply_len = error_reply(rq, "internal", "", "reply too large", buf, cap);
  /* Only what changed the market is journaled, and so only that is
  ** remembered: what a restart rebuilds from the journal is then exactly
  ** what was remembered before it. A refused request changes nothing and
  ** is not remembered; its repeat is simply run again. */
  if (!c->cmd.changed) return;
  if (k == DEDUPE_NONE) dedupe_put(c, auth_cc, rq->id, h, buf, res->reply_len);
  res->journal = c->journal;
  res->journal_len = n;
  res->journal_cc = c->m->ccs[auth_cc].id;
}

/* The clock first, then the request. A request entry replays at its time,
** so the journal entry of a request that changes the market also brings
** back what its clock did; a request that changes nothing is journaled as
** a tick when its clock traded. */
core_result core_execute(imx_core *c, const imx_request *rq, uint32_t auth_cc,
                         int64_t now_ms, char *buf, size_t cap) {
  IMX_ASSERT(auth_cc < c->m->ccs_n);
  IMX_ASSERT(rq->type != IMX_MSG_HELLO && rq->type < IMX_MSG_TYPES);
  core_result res = {0};
  command_begin(c);
  clock_to(c, now_ms);
  if (changes_state(rq->type)) {
    execute_remembered(c, rq, auth_cc, &res, buf, cap);
  } else {
    res.reply_len = dispatch(c, rq, auth_cc, &res, buf, cap);
    if (res.reply_len == 0)
      res.reply_len = error_reply(rq, "internal", "", "reply too large", buf, cap);
  }
  command_end(c, &res);
  if (res.journal == NULL && res.trades_n > 0) journal_tick(c, now_ms, &res);
  res.changed = res.journal != NULL;
  IMX_ASSERT(res.reply_len > 0 && res.reply_len <= cap);
  return res;
}

/* core_execute with the ledger's part of a period.summary, which
** do_period_summary reads through c->summary for the call only. */
core_result core_execute_summary(imx_core *c, const imx_request *rq, uint32_t auth_cc,
                                 core_summary *s, int64_t now_ms, char *buf, size_t cap) {
  IMX_ASSERT(rq->type == IMX_MSG_PERIOD_SUMMARY && s != NULL && c->summary == NULL);
  c->summary = s;
  core_result res = core_execute(c, rq, auth_cc, now_ms, buf, cap);
  c->summary = NULL;
  return res;
}

int core_replay(imx_core *c, int64_t time_ms, const char *cc,
                const char *entry, size_t len, core_result *out) {
  IMX_ASSERT(out != NULL);
  memset(out, 0, sizeof *out);
  int64_t tick = 0;
  int is_tick = read_tick(entry, len, &tick);
  if (is_tick < 0) return -1;
  c->quiet = 1;
  core_batch_begin(c);
  c->replay_reply_len = 0;
  if (is_tick) {
    *out = core_tick(c, tick);
  } else {
    imx_request rq;
    imx_proto_error err = {0};
    int64_t k = core_cc_index(c->m, cc);
    if (k < 0 || imx_request_decode(entry, len, &rq, &err) != 0 ||
        rq.type == IMX_MSG_HELLO) {
      c->quiet = 0;
      return -1;
    }
    c->replaying = 1;
    *out = core_execute(c, &rq, (uint32_t)k, time_ms, c->replay_reply,
                        IMX_REPLY_BYTES_MAX);
    c->replay_reply_len = out->reply_len;
    c->replaying = 0;
  }
  c->quiet = 0;
  return 0;
}

const char *core_replay_reply(const imx_core *c, size_t *len) {
  *len = c->replay_reply_len;
  return c->replay_reply;
}

int64_t core_last_trade(const imx_core *c) { return c->last_trade; }

/* ------------------------------------------------------------ snapshots */

/*
** A core's snapshot: the engine's (its own format, imx_engine.h), then what
** the core keeps beside it: the period, the last trade id, the clock, the
** trades kept for trades.list (cost centres and services as their index in
** the market file), each service's last trade (services.list), the
** tenders that ended (decided.h), and every
** cost centre's remembered requests exactly as
** they lie in its share (positions included), so that after a restart a
** repeat gets the same answer as before it. The tops last published are
** not written: they are the books' tops, computed again.
*/
#define CORE_SNAP_MAGIC 0x31455243584D49ull /* "IMXCRE1" */
#define CORE_SNAP_VERSION 5u /* 2: each service's last trade; 3: each
                             ** service's trades, units and amount in the
                             ** open period; 4: ratings; 5: the tenders
                             ** that ended (decided.h) */

static void snap_trades(const imx_core *c, imx_wbuf *o) {
  imx_wbuf_int(o, c->trades_n, 4);
  for (uint32_t k = 0; k < c->trades_n; k++) {
    const imx_reply_trade *t =
        &c->trades[(c->trades_head + TRADES_KEPT - c->trades_n + k) % TRADES_KEPT];
    int64_t svc = service_index(c, t->service), buyer = core_cc_index(c->m, t->buyer),
            seller = core_cc_index(c->m, t->seller);
    IMX_ASSERT(svc >= 0 && buyer >= 0 && seller >= 0);
    imx_wbuf_int(o, t->trade, 8);
    imx_wbuf_int(o, (uint64_t)svc, 4);
    imx_wbuf_int(o, (uint64_t)buyer, 4);
    imx_wbuf_int(o, (uint64_t)seller, 4);
    imx_wbuf_int(o, (uint64_t)t->qty, 8);
    imx_wbuf_int(o, (uint64_t)t->price_minor, 8);
    imx_wbuf_int(o, (uint64_t)t->time_ms, 8);
    imx_wbuf_int(o, t->buy_order, 8);
    imx_wbuf_int(o, t->sell_order, 8);
  }
}

static int read_trades(imx_core *c, imx_rbuf *in) {
  uint32_t n = (uint32_t)imx_rbuf_int(in, 4);
  if (n > TRADES_KEPT) return imx_rbuf_fail(in, "more trades kept than the core keeps");
  uint64_t prev = 0;
  for (uint32_t k = 0; k < n; k++) {
    imx_reply_trade *t = &c->trades[k];
    memset(t, 0, sizeof *t);
    t->trade = imx_rbuf_int(in, 8);
    uint32_t svc = (uint32_t)imx_rbuf_int(in, 4), buyer = (uint32_t)imx_rbuf_int(in, 4),
             seller = (uint32_t)imx_rbuf_int(in, 4);
    t->qty = (int64_t)imx_rbuf_int(in, 8);
    t->price_minor = (int64_t)imx_rbuf_int(in, 8);
    t->time_ms = (int64_t)imx_rbuf_int(in, 8);
    t->buy_order = imx_rbuf_int(in, 8);
    t->sell_order = imx_rbuf_int(in, 8);
    if (in->why) return -1;
    if (svc >= c->m->services_n || buyer >= c->m->ccs_n || seller >= c->m->ccs_n ||
        t->trade <= prev || t->trade > (uint64_t)c->last_trade)
      return imx_rbuf_fail(in, "a kept trade is not of this market");
    prev = t->trade;
    copy_str(t->service, sizeof t->service, c->m->services[svc].id);
    copy_str(t->buyer, sizeof t->buyer, c->m->ccs[buyer].id);
    copy_str(t->seller, sizeof t->seller, c->m->ccs[seller].id);
  }
  c->trades_n = n;
  c->trades_head = n % TRADES_KEPT;
  return 0;
}

/* Each service's last trade, in market-file order (all 0: none yet). */
static void snap_last(const imx_core *c, imx_wbuf *o) {
  imx_wbuf_int(o, c->m->services_n, 4);
  for (uint32_t s = 0; s < c->m->services_n; s++) {
    const core_last *l = &c->last[s];
    imx_wbuf_int(o, l->trade, 8);
    imx_wbuf_int(o, (uint64_t)l->price_minor, 8);
    imx_wbuf_int(o, (uint64_t)l->qty, 8);
    imx_wbuf_int(o, (uint64_t)l->time_ms, 8);
  }
}

/* Each service's sums of the open period (period.close's summary). */
static void snap_period_sums(const imx_core *c, imx_wbuf *o) {
  imx_wbuf_int(o, c->m->services_n, 4);
  for (uint32_t s = 0; s < c->m->services_n; s++) {
    const core_period_sum *p = &c->period_sums[s];
    imx_wbuf_int(o, (uint64_t)p->trades, 8);
    imx_wbuf_int(o, (uint64_t)p->units, 8);
    imx_wbuf_int(o, (uint64_t)p->amount_minor, 8);
  }
}

static int read_period_sums(imx_core *c, imx_rbuf *in) {
  if (imx_rbuf_int(in, 4) != c->m->services_n)
    return imx_rbuf_fail(in, "the period's sums are of another market");
  for (uint32_t s = 0; s < c->m->services_n; s++) {
    core_period_sum p;
    p.trades = (int64_t)imx_rbuf_int(in, 8);
    p.units = (int64_t)imx_rbuf_int(in, 8);
    p.amount_minor = (int64_t)imx_rbuf_int(in, 8);
    if (in->why) return -1;
    if (p.trades < 0 || p.trades > c->last_trade || p.units < p.trades ||
        p.amount_minor < p.units || (p.trades == 0 && (p.units || p.amount_minor)))
      return imx_rbuf_fail(in, "a service's sums of the period are out of range");
    c->period_sums[s] = p;
  }
  return 0;
}

static int read_last(imx_core *c, imx_rbuf *in) {
  if (imx_rbuf_int(in, 4) != c->m->services_n)
    return imx_rbuf_fail(in, "the last trades are of another market");
  for (uint32_t s = 0; s < c->m->services_n; s++) {
    core_last l;
    l.trade = imx_rbuf_int(in, 8);
    l.price_minor = (int64_t)imx_rbuf_int(in, 8);
    l.qty = (int64_t)imx_rbuf_int(in, 8);
    l.time_ms = (int64_t)imx_rbuf_int(in, 8);
    if (in->why) return -1;
    int none = l.trade == 0 && l.price_minor == 0 && l.qty == 0 && l.time_ms == 0;
    int some = l.trade >= 1 && l.trade <= (uint64_t)c->last_trade && l.price_minor >= 1 &&
               l.price_minor <= IMX_PRICE_MAX_MINOR && l.qty >= 1 && l.qty <= IMX_QTY_MAX &&
               l.time_ms >= 0;
    if (!none && !some) return imx_rbuf_fail(in, "a service's last trade is out of range");
    c->last[s] = l;
  }
  return 0;
}

/* Ratings: the kept trades that may still be rated or answered (in slot
** order), then every reputation (providers' per service, then services'),
** each with its days. */
static void snap_ratings(const imx_core *c, imx_wbuf *o) {
  uint32_t open = 0;
  for (uint32_t k = 0; k < IMX_RATEABLE_TRADES; k++)
    open += c->rateable[k].trade != 0 && !rateable_closed(c, &c->rateable[k]);
  imx_wbuf_int(o, open, 4);
  for (uint32_t k = 0; k < IMX_RATEABLE_TRADES; k++) {
    const rateable *t = &c->rateable[k];
    if (t->trade == 0 || rateable_closed(c, t)) continue;
    imx_wbuf_int(o, t->trade, 8);
    imx_wbuf_int(o, (uint64_t)t->time_ms, 8);
    imx_wbuf_int(o, (uint64_t)t->rated_ms, 8);
    imx_wbuf_int(o, t->service, 4);
    imx_wbuf_int(o, t->buyer, 4);
    imx_wbuf_int(o, t->seller, 4);
    imx_wbuf_int(o, t->stars, 1);
    imx_wbuf_int(o, t->replied, 1);
  }
  uint32_t reps = c->cc_services_at[c->m->ccs_n] + c->m->services_n;
  imx_wbuf_int(o, reps, 4);
  for (uint32_t k = 0; k < reps; k++) {
    const reputation *r = &c->reps[k];
    imx_wbuf_int(o, (uint64_t)r->ratings, 8);
    imx_wbuf_int(o, (uint64_t)r->stars_sum, 8);
    for (uint32_t d = 0; d < IMX_REPUTATION_RECENT_DAYS; d++) {
      imx_wbuf_int(o, (uint64_t)r->days[d].day, 8);
      imx_wbuf_int(o, r->days[d].ratings, 4);
      imx_wbuf_int(o, r->days[d].stars_sum, 4);
    }
  }
}

static int read_ratings(imx_core *c, imx_rbuf *in) {
  uint32_t open = (uint32_t)imx_rbuf_int(in, 4);
  if (open > IMX_RATEABLE_TRADES) return imx_rbuf_fail(in, "more rateable trades than kept");
  for (uint32_t k = 0; k < open; k++) {
    rateable t;
    memset(&t, 0, sizeof t);
    t.trade = imx_rbuf_int(in, 8);
    t.time_ms = (int64_t)imx_rbuf_int(in, 8);
    t.rated_ms = (int64_t)imx_rbuf_int(in, 8);
    t.service = (uint32_t)imx_rbuf_int(in, 4);
    t.buyer = (uint32_t)imx_rbuf_int(in, 4);
    t.seller = (uint32_t)imx_rbuf_int(in, 4);
    t.stars = (uint8_t)imx_rbuf_int(in, 1);
    t.replied = (uint8_t)imx_rbuf_int(in, 1);
    if (in->why) return -1;
    rateable *slot = &c->rateable[t.trade % IMX_RATEABLE_TRADES];
    if (t.trade == 0 || t.trade > (uint64_t)c->last_trade || slot->trade != 0 ||
        t.service >= c->m->services_n || t.buyer >= c->m->ccs_n ||
        t.seller >= c->m->ccs_n || t.buyer == t.seller || t.time_ms < 0 ||
        t.rated_ms < 0 || (t.rated_ms != 0) != (t.stars != 0) || t.stars > IMX_RATING_STARS_MAX ||
        t.replied > 1 || (t.replied && !t.rated_ms))
      return imx_rbuf_fail(in, "a rateable trade is out of range");
    *slot = t;
  }
  uint32_t reps = (uint32_t)imx_rbuf_int(in, 4);
  if (in->why) return -1;
  if (reps != c->cc_services_at[c->m->ccs_n] + c->m->services_n)
    return imx_rbuf_fail(in, "the reputations are of another market");
  for (uint32_t k = 0; k < reps; k++) {
    reputation *r = &c->reps[k];
    r->ratings = (int64_t)imx_rbuf_int(in, 8);
    r->stars_sum = (int64_t)imx_rbuf_int(in, 8);
    for (uint32_t d = 0; d < IMX_REPUTATION_RECENT_DAYS; d++) {
      r->days[d].day = (int64_t)imx_rbuf_int(in, 8);
      r->days[d].ratings = (uint32_t)imx_rbuf_int(in, 4);
      r->days[d].stars_sum = (uint32_t)imx_rbuf_int(in, 4);
    }
    if (in->why) return -1;
    if (r->ratings < 0 || r->stars_sum < r->ratings * IMX_RATING_STARS_MIN ||
        r->stars_sum > r->ratings * IMX_RATING_STARS_MAX)
      return imx_rbuf_fail(in, "a reputation is out of range");
  }
  return 0;
}

/* Each cost centre that remembers requests: its ring's head, then every
** entry oldest first with its record (the id, and the reply if kept). */
static void snap_dedupe(const imx_core *c, imx_wbuf *o) {
  imx_wbuf_int(o, c->dedupe_share, 4);
  imx_wbuf_int(o, c->dedupe_entries, 4);
  uint32_t with = 0;
  for (uint32_t cc = 0; cc < c->m->ccs_n; cc++) with += c->dedupe[cc].n > 0;
  imx_wbuf_int(o, with, 4);
  for (uint32_t cc = 0; cc < c->m->ccs_n; cc++) {
    dedupe_view v = dedupe_of(c, cc);
    if (v.s->n == 0) continue;
    imx_wbuf_int(o, cc, 4);
    imx_wbuf_int(o, v.s->head, 8);
    imx_wbuf_int(o, v.s->n, 4);
    for (uint32_t i = 0; i < v.s->n; i++) {
      const dedupe_entry *e = &v.entries[(v.s->oldest + i) % c->dedupe_entries];
      size_t record = (size_t)dedupe_record_len(e);
      imx_wbuf_int(o, e->request_hash, 8);
      imx_wbuf_int(o, e->pos, 8);
      imx_wbuf_int(o, e->reply_len, 4);
      imx_wbuf_int(o, e->id_len, 4);
      imx_wbuf_bytes(o, v.bytes + e->pos % c->dedupe_share, record);
    }
  }
}

/* Puts each entry back at its position, so that what later requests evict
** is what they would have evicted without the restart. */
static int read_dedupe(imx_core *c, imx_rbuf *in) {
  uint32_t share = (uint32_t)imx_rbuf_int(in, 4), entries = (uint32_t)imx_rbuf_int(in, 4);
  uint32_t with = (uint32_t)imx_rbuf_int(in, 4);
  if (in->why) return -1;
  if (share != c->dedupe_share || entries != c->dedupe_entries || with > c->m->ccs_n)
    return imx_rbuf_fail(in, "the remembered requests are sized for another market");
  for (uint32_t k = 0; k < with; k++) {
    uint32_t cc = (uint32_t)imx_rbuf_int(in, 4);
    uint64_t head = imx_rbuf_int(in, 8);
    uint32_t n = (uint32_t)imx_rbuf_int(in, 4);
    if (in->why) return -1;
    if (cc >= c->m->ccs_n || c->dedupe[cc].n != 0 || n == 0 || n > entries)
      return imx_rbuf_fail(in, "a cost centre's remembered requests are out of range");
    dedupe_view v = dedupe_of(c, cc);
    uint64_t first = 0;
    for (uint32_t i = 0; i < n; i++) {
      dedupe_entry e = {.request_hash = imx_rbuf_int(in, 8), .pos = imx_rbuf_int(in, 8),
                        .reply_len = (uint32_t)imx_rbuf_int(in, 4),
                        .id_len = (uint32_t)imx_rbuf_int(in, 4)};
      if (in->why) return -1;
      int kept = e.reply_len != DEDUPE_NOT_KEPT;
      uint64_t record = dedupe_record_len(&e);
      if (i == 0) first = e.pos;
      if (e.id_len < 1 || e.id_len > IMX_NAME_BYTES_MAX ||
          (kept && e.reply_len > IMX_REPLY_BYTES_MAX) || record > share ||
          e.pos % share + record > share || e.pos < first || e.pos + record > head ||
          head - first > share ||
          (i > 0 && e.pos < v.entries[i - 1].pos + dedupe_record_len(&v.entries[i - 1])))
        return imx_rbuf_fail(in, "a remembered request is out of range");
      const uint8_t *bytes = imx_rbuf_bytes(in, (size_t)record);
      if (bytes == NULL) return -1;
      uint32_t at;
      uint64_t h = id_hash((const char *)bytes, e.id_len);
      if (dedupe_find(c, &v, h, (const char *)bytes, e.id_len, &at) != DEDUPE_NONE)
        return imx_rbuf_fail(in, "a remembered id is there twice");
      memcpy(v.bytes + e.pos % share, bytes, (size_t)record);
      v.entries[i] = e;
      v.id_hashes[i] = h;
      v.index[at] = (uint16_t)(i + 1);
      v.s->n = i + 1;
    }
    v.s->oldest = 0;
    v.s->head = head;
  }
  return 0;
}

imx_status core_reputation_set(imx_core *c, uint32_t cc, uint32_t s,
                               uint32_t ratings, uint64_t stars_sum) {
  IMX_ASSERT(c != NULL);
  if (cc >= c->m->ccs_n) return IMX_E_UNKNOWN_CC;
  return imx_engine_reputation_set(c->e, cc, s, ratings, stars_sum);
}

size_t core_snapshot_write(const imx_core *c, void *buf, size_t cap) {
  IMX_ASSERT(c != NULL && (buf != NULL || cap == 0));
  imx_wbuf o = {.p = buf, .cap = cap};
  imx_wbuf_int(&o, CORE_SNAP_MAGIC, 8);
  imx_wbuf_int(&o, CORE_SNAP_VERSION, 4);
  size_t engine = imx_engine_snapshot_write(c->e, NULL, 0);
  imx_wbuf_int(&o, engine, 8);
  if (buf != NULL && !o.full && o.len + engine <= cap) {
    size_t written = imx_engine_snapshot_write(c->e, o.p + o.len, engine);
    IMX_ASSERT(written == engine);
  } else {
    o.full = buf != NULL;
  }
  o.len += engine;
  imx_wbuf_int(&o, (uint64_t)c->period, 8);
  imx_wbuf_int(&o, (uint64_t)c->last_trade, 8);
  imx_wbuf_int(&o, (uint64_t)c->now_ms, 8);
  snap_trades(c, &o);
  snap_last(c, &o);
  snap_period_sums(c, &o);
  snap_ratings(c, &o);
  decided_snap_write(&c->decided, &o);
  snap_dedupe(c, &o);
  imx_wbuf_int(&o, CORE_SNAP_MAGIC, 8);
  return o.len;
}

int core_snapshot_read(imx_core *c, const void *buf, size_t len, const char **why) {
  IMX_ASSERT(c != NULL && why != NULL);
  imx_rbuf in = {.p = buf, .len = len};
  if (imx_rbuf_int(&in, 8) != CORE_SNAP_MAGIC || imx_rbuf_int(&in, 4) != CORE_SNAP_VERSION)
    imx_rbuf_fail(&in, "not a snapshot of this version");
  uint64_t engine = imx_rbuf_int(&in, 8);
  const uint8_t *eb = in.why == NULL && engine <= len ? imx_rbuf_bytes(&in, (size_t)engine) : NULL;
  if (in.why == NULL && eb == NULL) imx_rbuf_fail(&in, "it ends early");
  const char *engine_why = NULL;
  if (in.why == NULL && imx_engine_snapshot_read(c->e, eb, (size_t)engine, &engine_why) != IMX_OK)
    imx_rbuf_fail(&in, engine_why ? engine_why : "the engine refused it");
  c->period = (int64_t)imx_rbuf_int(&in, 8);
  c->last_trade = (int64_t)imx_rbuf_int(&in, 8);
  c->now_ms = (int64_t)imx_rbuf_int(&in, 8);
  if (in.why == NULL && (c->period < 1 || c->last_trade < 0))
    imx_rbuf_fail(&in, "the period or the last trade is out of range");
  if (in.why == NULL) read_trades(c, &in);
  if (in.why == NULL) read_last(c, &in);
  if (in.why == NULL) read_period_sums(c, &in);
  if (in.why == NULL) read_ratings(c, &in);
  if (in.why == NULL)
    decided_snap_read(&c->decided, &in, c->m->ccs_n, c->m->services_n, c->last_trade);
  if (in.why == NULL) read_dedupe(c, &in);
  if (in.why == NULL && (imx_rbuf_int(&in, 8) != CORE_SNAP_MAGIC || in.at != in.len))
    imx_rbuf_fail(&in, "it does not end where it should");
  for (uint32_t s = 0; in.why == NULL && s < c->m->services_n; s++) {
    c->touched[s] = 1;
    c->touched_list[c->touched_n++] = s;
  }
  if (in.why == NULL) engine_reputations(c);
  record_tops(c); /* the tops as published before: no market data now */
  c->md_n = 0;
  *why = in.why;
  return in.why ? -1 : 0;
}

/* ------------------------------------------------------------ lifecycle */

/* What the directory reads from the market file, counted once: each
** service's providers and each cost centre's services. */
static int directory_open(imx_core *c, uint32_t services) {
  const imx_market *m = c->m;
  uint32_t total = imx_market_capacities_total(m);
  c->providers = calloc(services, sizeof *c->providers);
  c->cc_services = calloc(total ? total : 1, sizeof *c->cc_services);
  c->cc_services_at = calloc((size_t)m->ccs_n + 1, sizeof *c->cc_services_at);
  if (!c->providers || !c->cc_services || !c->cc_services_at) return -1;
  uint32_t at = 0;
  for (uint32_t k = 0; k < m->ccs_n; k++) {
    c->cc_services_at[k] = at;
    for (uint32_t i = 0; i < m->ccs[k].capacities_n; i++) {
      uint32_t s = m->ccs[k].capacities[i].service;
      IMX_ASSERT(s < m->services_n && at < total);
      c->providers[s]++;
      c->cc_services[at++] = m->services[s].id;
    }
  }
  c->cc_services_at[m->ccs_n] = at;
  IMX_ASSERT(at == total);
  return 0;
}

static int alloc_buffers(imx_core *c, uint32_t services) {
  c->batch_trades_cap = BATCH_TRADES_MIN;
  c->md_cap = BATCH_MD_MIN;
  c->batch_trades = malloc(c->batch_trades_cap * sizeof *c->batch_trades);
  c->md = malloc(c->md_cap * sizeof *c->md);
  c->batch_closed_cap = BATCH_CLOSED_MIN;
  c->batch_closed = malloc(c->batch_closed_cap * sizeof *c->batch_closed);
  c->trades = calloc(TRADES_KEPT, sizeof *c->trades);
  c->tops = calloc(services, sizeof *c->tops);
  c->touched = calloc(services, 1);
  c->touched_list = calloc(services, sizeof *c->touched_list);
  c->order_infos = malloc(IMX_LIST_MAX * sizeof *c->order_infos);
  c->order_rows = malloc(IMX_LIST_MAX * sizeof *c->order_rows);
  c->trade_rows = malloc(IMX_LIST_MAX * sizeof *c->trade_rows);
  c->capacity_rows = malloc(services * sizeof *c->capacity_rows);
  c->tender_infos = malloc(TENDER_SCAN * sizeof *c->tender_infos);
  c->tender_rows = malloc(IMX_LIST_MAX * sizeof *c->tender_rows);
  c->replay_reply = malloc(IMX_REPLY_BYTES_MAX);
  c->last = calloc(services, sizeof *c->last);
  c->service_rows = malloc(IMX_LIST_MAX * sizeof *c->service_rows);
  c->cc_rows = malloc(IMX_LIST_MAX * sizeof *c->cc_rows);
  c->offer_rows = malloc(IMX_DEPTH_MAX * sizeof *c->offer_rows);
  c->period_sums = calloc(services, sizeof *c->period_sums);
  c->sum_rows = calloc(IMX_LIST_MAX, sizeof *c->sum_rows);
  c->over_rows = calloc(IMX_LIST_MAX, sizeof *c->over_rows);
  if (!c->period_sums || !c->sum_rows || !c->over_rows) return -1;
  c->rep_rows = malloc(services * sizeof *c->rep_rows);
  c->rateable = calloc(IMX_RATEABLE_TRADES, sizeof *c->rateable);
  if (!c->rep_rows || !c->rateable) return -1;
  if (!c->last || !c->service_rows || !c->cc_rows || !c->offer_rows ||
      directory_open(c, services) != 0)
    return -1;
  /* every provider's per service, then every service's */
  c->reps = calloc((size_t)c->cc_services_at[c->m->ccs_n] + services, sizeof *c->reps);
  if (!c->reps) return -1;
  if (!c->tender_infos || !c->tender_rows) return -1;
  if (!c->replay_reply || !c->batch_trades || !c->md || !c->batch_closed || !c->trades || !c->tops || !c->touched ||
      !c->touched_list || !c->order_infos || !c->order_rows || !c->trade_rows ||
      !c->capacity_rows)
    return -1;
  return dedupe_open(c);
}

int core_open(const core_config *cfg, imx_core **out, const char **why) {
  IMX_ASSERT(IMX_FILLS_LISTED_MAX <= IMX_LIST_MAX);
  imx_core *c = calloc(1, sizeof *c);
  *out = c;
  *why = "out of memory";
  if (c == NULL) return -1;
  c->m = cfg->market;
  c->period = 1;
  if (alloc_buffers(c, c->m->services_n ? c->m->services_n : 1) != 0 ||
      decided_open(&c->decided) != 0)
    return -1;
  imx_engine_config ec = {.orders_max = cfg->orders_max, .on_event = on_event,
                          .ctx = c, .orders_per_cc_max = cfg->orders_per_cc_max};
  imx_setup_config(c->m, &ec);
  *why = "the engine refused its settings";
  if (imx_engine_create(&ec, &c->e) != IMX_OK) return -1;
  const char *what = "";
  imx_status st = imx_setup_market(c->e, c->m, &what);
  if (st != IMX_OK) {
    snprintf(c->why, sizeof c->why, "the engine refused %s of the market file: %s",
             what, imx_status_name(st));
    *why = c->why;
    return -1;
  }
  *why = NULL;
  return 0;
}

void core_close(imx_core *c) {
  if (c == NULL) return;
  imx_engine_destroy(c->e);
  free(c->batch_trades);
  free(c->md);
  free(c->batch_closed);
  free(c->trades);
  free(c->tops);
  free(c->touched);
  free(c->touched_list);
  free(c->rep_rows);
  free(c->rateable);
  decided_close(&c->decided);
  free(c->reps);
  free(c->dedupe);
  free(c->dedupe_arena);
  free(c->order_infos);
  free(c->order_rows);
  free(c->trade_rows);
  free(c->capacity_rows);
  free(c->tender_infos);
  free(c->tender_rows);
  free(c->replay_reply);
  free(c->last);
  free(c->providers);
  free(c->cc_services);
  free(c->cc_services_at);
  free(c->service_rows);
  free(c->cc_rows);
  free(c->offer_rows);
  free(c->period_sums);
  free(c->sum_rows);
  free(c->over_rows);
  free(c);
}
