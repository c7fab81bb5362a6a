/*
** core.c -- the market behind the protocol.
**
** One core owns the engine, the market file's names and roles, the recent
** trades and the replies of recent idempotent requests. It runs on the
** engine thread only, so nothing here locks. core_execute() turns one
** decoded request into engine calls, authorises it, collects the engine's
** events for the reply and publishes market data.
**
** Names: the engine knows services and cost centres by their position in
** the market file; requests name them by id.
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "imx_server.h"

#define TRADES_KEPT 65536u   /* trades.list looks this far back            */
#define FILLS_MAX 256u       /* fills listed in one order.new.ok           */
#define DEDUPE_N 65536u      /* idempotent replies remembered              */
#define DEDUPE_REPLY_MAX 512 /* a longer reply is remembered as "done"     */

typedef struct dedupe_entry {
  uint64_t hash;
  uint32_t cc;
  uint16_t len; /* 0: slot unused */
  char id[IMX_NAME_BYTES_MAX + 1];
  char reply[DEDUPE_REPLY_MAX];
} dedupe_entry;

typedef struct top {
  int64_t bid, bid_qty, offer, offer_qty;
} top;

struct imx_core {
  const imx_market *m;
  imx_engine *e;
  core_publish_fn publish;
  void *publish_ctx;
  imx_ledger *ledger;
  int replaying;      /* recovery: trades are in the ledger already     */
  int ledger_failed;
  int64_t period;     /* numbers the trades' period, from 1             */
  int64_t last_trade;
  int64_t now_ms;
  /* events of the command being run */
  uint64_t order_id;
  int cancelled;
  imx_cancel_reason reason;
  imx_reply_trade fills[FILLS_MAX];
  uint32_t fills_n;
  int64_t available;
  imx_auction_result auction;
  uint64_t tender_id, quote_id;
  int64_t expired;
  /* trades kept for trades.list: a ring, newest at head - 1 */
  imx_reply_trade *trades;
  uint32_t trades_head, trades_n;
  /* top of book last published, per service */
  top *tops;
  uint8_t *touched;
  /* idempotent replies: a ring with an open-addressing index */
  dedupe_entry *dedupe;
  uint32_t dedupe_next;
  uint32_t *dedupe_index; /* 2 * DEDUPE_N slots, NIL empty */
};

#define NIL UINT32_MAX

/* ------------------------------------------------------------ helpers */

int64_t core_cc_index(const imx_market *m, const char *cc) {
  return imx_market_cc_find(m, cc);
}

static void publish(imx_core *c, imx_md_event *ev, uint32_t service) {
  char msg[IMX_PUB_BYTES_MAX];
  snprintf(ev->service, sizeof ev->service, "%s", c->m->services[service].id);
  size_t n = imx_md_encode(ev, msg, sizeof msg);
  if (n > 0 && c->publish) c->publish(c->publish_ctx, msg, n);
}

static void keep_trade(imx_core *c, const imx_event *ev) {
  imx_reply_trade *t = &c->trades[c->trades_head];
  memset(t, 0, sizeof *t);
  t->trade = ev->trade_id;
  snprintf(t->service, sizeof t->service, "%s", c->m->services[ev->service].id);
  snprintf(t->buyer, sizeof t->buyer, "%s", c->m->ccs[ev->buyer_cc].id);
  snprintf(t->seller, sizeof t->seller, "%s", c->m->ccs[ev->seller_cc].id);
  t->qty = ev->qty;
  t->price_minor = ev->price_minor;
  t->time_ms = c->now_ms;
  t->buy_order = ev->buy_order_id;
  t->sell_order = ev->sell_order_id;
  c->trades_head = (c->trades_head + 1) % TRADES_KEPT;
  if (c->trades_n < TRADES_KEPT) c->trades_n++;
  if (c->fills_n < FILLS_MAX) c->fills[c->fills_n++] = *t;
  c->last_trade = (int64_t)t->trade;
  if (c->ledger && !c->replaying) {
    imx_ledger_trade lt = {.trade_id = (int64_t)t->trade, .period = c->period,
                           .time_ms = t->time_ms, .service = t->service,
                           .buyer = t->buyer, .seller = t->seller,
                           .qty = t->qty, .price_minor = t->price_minor};
    if (imx_ledger_put_trade(c->ledger, &lt) != 0) {
      imx_log("ledger: %s", imx_ledger_error(c->ledger));
      c->ledger_failed = 1;
    }
  }
  imx_md_event md = {.kind = IMX_MD_TRADE, .trade = t->trade, .qty = t->qty,
                     .price_minor = t->price_minor, .time_ms = t->time_ms};
  publish(c, &md, ev->service);
}

static void publish_auction(imx_core *c, const imx_event *ev) {
  imx_md_event md = {.kind = IMX_MD_AUCTION, .price_minor = ev->price_minor,
                     .volume = ev->qty, .surplus = ev->surplus,
                     .surplus_side = ev->surplus_side == IMX_BID     ? IMX_PSIDE_BID
                                     : ev->surplus_side == IMX_OFFER ? IMX_PSIDE_OFFER
                                                                     : IMX_PSIDE_NONE};
  publish(c, &md, ev->service);
}

static void on_event(void *ctx, const imx_event *ev) {
  imx_core *c = ctx;
  if (ev->type != IMX_EV_REJECTED && ev->service < c->m->services_n)
    c->touched[ev->service] = 1;
  switch (ev->type) {
  case IMX_EV_ACCEPTED: c->order_id = ev->order_id; break;
  case IMX_EV_TRADE: keep_trade(c, ev); break;
  case IMX_EV_CANCELLED:
    if (ev->order_id == c->order_id) {
      c->cancelled = 1;
      c->reason = ev->reason;
    }
    break;
  case IMX_EV_EXPIRED: c->expired++; break;
  case IMX_EV_REJECTED: c->available = ev->available; break;
  case IMX_EV_AUCTION:
    c->auction.price_minor = ev->price_minor;
    c->auction.volume = ev->qty;
    c->auction.surplus = ev->surplus;
    c->auction.surplus_side = ev->surplus_side;
    publish_auction(c, ev);
    break;
  case IMX_EV_TENDER_OPENED: c->tender_id = ev->tender_id; break;
  case IMX_EV_QUOTE_ACCEPTED: c->quote_id = ev->quote_id; break;
  default: break;
  }
}

/* Publishes the best prices of every service the command touched, when
** they changed. */
static void publish_tops(imx_core *c) {
  for (uint32_t s = 0; s < c->m->services_n; s++) {
    if (!c->touched[s]) continue;
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
    publish(c, &md, s);
  }
}

/* ----------------------------------------------------------- idempotency */

static uint64_t dedupe_hash(uint32_t cc, const char *id) {
  uint64_t h = 1469598103934665603ull ^ cc;
  for (; *id; id++) h = (h ^ (uint8_t)*id) * 1099511628211ull;
  return h;
}

static uint32_t dedupe_find(const imx_core *c, uint64_t h, uint32_t cc,
                            const char *id, uint32_t *pos) {
  uint32_t mask = 2 * DEDUPE_N - 1;
  for (uint32_t i = (uint32_t)h & mask;; i = (i + 1) & mask) {
    uint32_t k = c->dedupe_index[i];
    *pos = i;
    if (k == NIL) return NIL;
    const dedupe_entry *d = &c->dedupe[k];
    if (d->hash == h && d->cc == cc && strcmp(d->id, id) == 0) return k;
  }
}

static void dedupe_unindex(imx_core *c, uint32_t i) {
  uint32_t mask = 2 * DEDUPE_N - 1, j = i;
  for (;;) {
    j = (j + 1) & mask;
    uint32_t k = c->dedupe_index[j];
    if (k == NIL) break;
    uint32_t home = (uint32_t)c->dedupe[k].hash & mask;
    int home_in = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!home_in) {
      c->dedupe_index[i] = k;
      i = j;
    }
  }
  c->dedupe_index[i] = NIL;
}

static void dedupe_put(imx_core *c, uint32_t cc, const char *id,
                       const char *reply, size_t len) {
  uint32_t k = c->dedupe_next, pos;
  dedupe_entry *d = &c->dedupe[k];
  if (d->len) {
    uint32_t old = dedupe_find(c, d->hash, d->cc, d->id, &pos);
    assert(old == k);
    (void)old;
    dedupe_unindex(c, pos);
  }
  d->hash = dedupe_hash(cc, id);
  d->cc = cc;
  snprintf(d->id, sizeof d->id, "%s", id);
  /* A reply too long to keep is replayed as an error that says so. */
  if (len <= DEDUPE_REPLY_MAX) {
    memcpy(d->reply, reply, len);
    d->len = (uint16_t)len;
  } else {
    d->len = (uint16_t)(DEDUPE_REPLY_MAX + 1);
  }
  uint32_t found = dedupe_find(c, d->hash, cc, d->id, &pos);
  assert(found == NIL);
  (void)found;
  c->dedupe_index[pos] = k;
  c->dedupe_next = (k + 1) % DEDUPE_N;
}

static int idempotent(imx_msg_type t) {
  return t == IMX_MSG_ORDER_NEW || t == IMX_MSG_ORDER_CANCEL ||
         t == IMX_MSG_TENDER_NEW || t == IMX_MSG_TENDER_QUOTE;
}

/* ------------------------------------------------------------- replies */

static size_t error_reply(const imx_request *rq, const char *code,
                          const char *field, const char *message, char *buf,
                          size_t cap) {
  return imx_error_encode(rq->id, code, field, message, buf, cap);
}

/* Maps an engine rejection to the protocol's code, field and message. */
static size_t engine_error(imx_core *c, const imx_request *rq, imx_status s,
                           char *buf, size_t cap) {
  static char msg[96];
  const char *code = "market_closed", *field = "", *text = imx_status_name(s);
  switch (s) {
  case IMX_E_UNKNOWN_SERVICE: code = "unknown_service"; field = "service"; break;
  case IMX_E_UNKNOWN_ORDER: code = "not_found"; field = "order"; text = "no open order with this id"; break;
  case IMX_E_UNKNOWN_TENDER: code = "not_found"; field = "tender"; text = "no open tender with this id"; break;
  case IMX_E_UNKNOWN_CC: code = "unknown_cc"; field = "cc"; break;
  case IMX_E_BAD_SIDE: code = "bad_field"; field = "side"; break;
  case IMX_E_BAD_TIF: code = "bad_field"; field = "tif"; break;
  case IMX_E_BAD_QTY: code = "bad_field"; field = "qty"; text = "out of range"; break;
  case IMX_E_BAD_LOT: code = "bad_field"; field = "qty"; text = "not a multiple of the service's lot"; break;
  case IMX_E_BAD_PRICE: code = "bad_field"; field = rq->type == IMX_MSG_TENDER_NEW ? "ceiling" : rq->type == IMX_MSG_AUCTION_RUN ? "reference" : "price"; text = "out of range (or a market order in a continuous market)"; break;
  case IMX_E_BAD_TICK: code = "bad_field"; field = rq->type == IMX_MSG_TENDER_NEW ? "ceiling" : "price"; text = "not a multiple of the service's tick"; break;
  case IMX_E_AON_REQUIRED: code = "bad_field"; field = "aon"; text = "the service is indivisible: orders must be aon"; break;
  case IMX_E_ABOVE_CEILING: code = "bad_field"; field = "price"; text = "above the tender's ceiling"; break;
  case IMX_E_BAD_DEADLINE: code = "bad_field"; field = "deadline_ms"; break;
  case IMX_E_INSUFFICIENT_BUDGET:
    code = "insufficient_budget"; field = rq->type == IMX_MSG_TENDER_NEW ? "ceiling" : "price";
    snprintf(msg, sizeof msg, "budget left: %" PRId64, c->available);
    text = msg;
    break;
  case IMX_E_OVER_CAPACITY:
    code = "over_capacity"; field = "qty";
    snprintf(msg, sizeof msg, "capacity left: %" PRId64, c->available);
    text = msg;
    break;
  case IMX_E_SELF_TRADE: code = "forbidden"; field = "cc"; text = "own order or tender on the other side"; break;
  case IMX_E_ALREADY_QUOTED: code = "forbidden"; field = "tender"; text = "already quoted on this tender"; break;
  case IMX_E_TOO_MANY_ORDERS: code = "too_many_orders"; field = "cc"; text = "the cost centre has its maximum of open orders"; break;
  default: break; /* orders_full, levels_full, quotes_full, wrong_mode...: market_closed */
  }
  return error_reply(rq, code, field, text, buf, cap);
}

static int has_role(const imx_core *c, uint32_t cc, unsigned role) {
  return (c->m->ccs[cc].roles & role) != 0;
}

/* The cost centre a request acts for; -1 (with the reply written) when it
** may not act for it. */
static int64_t acting_cc(imx_core *c, const imx_request *rq, uint32_t auth_cc,
                         unsigned others_role, char *buf, size_t cap,
                         size_t *len) {
  if (rq->cc[0] == '\0') return auth_cc;
  int64_t k = core_cc_index(c->m, rq->cc);
  if (k < 0) {
    *len = error_reply(rq, "unknown_cc", "cc", "no such cost centre", buf, cap);
    return -1;
  }
  if ((uint32_t)k != auth_cc && !(c->m->ccs[auth_cc].roles & others_role)) {
    *len = error_reply(rq, "forbidden", "cc", "may not act for another cost centre", buf, cap);
    return -1;
  }
  return k;
}

static int64_t service_index(const imx_core *c, const char *id) {
  return imx_market_service_find(c->m, id);
}

/* ------------------------------------------------------------ requests */

/* An empty .ok reply to a request: its type and id. */
static void reply_init(imx_reply *r, imx_msg_type type, const imx_request *rq) {
  memset(r, 0, sizeof *r);
  r->type = type;
  snprintf(r->id, sizeof r->id, "%s", rq->id);
}

static size_t do_order_new(imx_core *c, const imx_request *rq, uint32_t cc,
                           char *buf, size_t cap) {
  int64_t s = service_index(c, rq->service);
  if (s < 0) return error_reply(rq, "unknown_service", "service", "no such service", buf, cap);
  unsigned role = rq->side == IMX_PSIDE_BID ? IMX_ROLE_RECEIVER : IMX_ROLE_PROVIDER;
  if (!has_role(c, cc, role))
    return error_reply(rq, "forbidden", "side",
                       rq->side == IMX_PSIDE_BID ? "only receivers bid"
                                                 : "only providers offer",
                       buf, cap);
  imx_order_new o = {.service = (uint32_t)s, .cc = cc,
                     .side = rq->side == IMX_PSIDE_BID ? IMX_BID : IMX_OFFER,
                     .tif = (imx_tif)rq->tif, .aon = rq->aon, .qty = rq->qty,
                     .price_minor = rq->has_price ? rq->price_minor : IMX_PRICE_MARKET};
  imx_status st = imx_engine_order_new(c->e, &o, NULL);
  if (st != IMX_OK) return engine_error(c, rq, st, buf, cap);
  imx_reply r;
  reply_init(&r, IMX_MSG_ORDER_NEW, rq);
  r.order = c->order_id;
  imx_order_info info;
  if (imx_engine_order_get(c->e, c->order_id, &info) == IMX_OK) {
    r.status = 0;
    r.qty_open = info.qty_open;
    r.qty_filled = info.qty_filled;
  } else {
    int64_t filled = 0;
    for (uint32_t i = 0; i < c->fills_n; i++) filled += c->fills[i].qty;
    r.status = c->cancelled ? 2 : 1;
    r.qty_filled = filled;
    if (c->cancelled)
      snprintf(r.reason, sizeof r.reason, "%s", imx_cancel_reason_name(c->reason));
  }
  r.trades = c->fills;
  r.trades_n = c->fills_n;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_order_cancel(imx_core *c, const imx_request *rq, uint32_t cc,
                              char *buf, size_t cap) {
  imx_order_info info;
  if (imx_engine_order_get(c->e, rq->order, &info) != IMX_OK)
    return error_reply(rq, "not_found", "order", "no open order with this id", buf, cap);
  if (info.cc != cc)
    return error_reply(rq, "forbidden", "order", "the order is another cost centre's", buf, cap);
  imx_status st = imx_engine_order_cancel(c->e, rq->order);
  if (st != IMX_OK) return engine_error(c, rq, st, buf, cap);
  imx_reply r;
  reply_init(&r, IMX_MSG_ORDER_CANCEL, rq);
  r.order = rq->order;
  r.qty = info.qty_open;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_order_list(imx_core *c, const imx_request *rq, uint32_t cc,
                            char *buf, size_t cap) {
  static imx_order_info scratch[IMX_LIST_MAX];
  static imx_reply_order rows[IMX_LIST_MAX];
  uint32_t n = imx_engine_orders_of(c->e, cc, scratch, IMX_LIST_MAX);
  for (uint32_t i = 0; i < n; i++) {
    imx_reply_order *o = &rows[i];
    memset(o, 0, sizeof *o);
    o->order = scratch[i].order_id;
    snprintf(o->service, sizeof o->service, "%s",
             c->m->services[scratch[i].service].id);
    o->side = scratch[i].side == IMX_BID ? IMX_PSIDE_BID : IMX_PSIDE_OFFER;
    o->tif = (int)scratch[i].tif;
    o->aon = scratch[i].aon;
    o->price_minor = scratch[i].price_minor;
    o->qty = scratch[i].qty_original;
    o->qty_open = scratch[i].qty_open;
    o->qty_filled = scratch[i].qty_filled;
  }
  imx_reply r;
  reply_init(&r, IMX_MSG_ORDER_LIST, rq);
  snprintf(r.cc, sizeof r.cc, "%s", c->m->ccs[cc].id);
  r.orders = rows;
  r.orders_n = n;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_book_get(imx_core *c, const imx_request *rq, char *buf,
                          size_t cap) {
  int64_t s = service_index(c, rq->service);
  if (s < 0) return error_reply(rq, "unknown_service", "service", "no such service", buf, cap);
  imx_level_info lv[100];
  imx_reply_level bids[100], offers[100];
  imx_reply r;
  reply_init(&r, IMX_MSG_BOOK_GET, rq);
  snprintf(r.service, sizeof r.service, "%s", rq->service);
  uint32_t depth = rq->depth ? rq->depth : 10;
  if (depth > 100) depth = 100;
  r.bids_n = imx_engine_levels(c->e, (uint32_t)s, IMX_BID, lv, depth);
  for (uint32_t i = 0; i < r.bids_n; i++)
    bids[i] = (imx_reply_level){lv[i].price_minor, lv[i].qty_open, lv[i].orders};
  r.offers_n = imx_engine_levels(c->e, (uint32_t)s, IMX_OFFER, lv, depth);
  for (uint32_t i = 0; i < r.offers_n; i++)
    offers[i] = (imx_reply_level){lv[i].price_minor, lv[i].qty_open, lv[i].orders};
  r.bids = bids;
  r.offers = offers;
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
  assert(k < c->trades_n);
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
  assert(lo == c->trades_n || kept_trade(c, lo)->trade > after);
  return lo;
}

/* Newest first; with `after`, the trades after that id, oldest first, so
** that a client pages forward without missing one. Trades older than the
** ring are gone: asking for them is an error rather than a silent gap. */
static size_t do_trades_list(imx_core *c, const imx_request *rq,
                             uint32_t auth_cc, char *buf, size_t cap) {
  static imx_reply_trade rows[IMX_LIST_MAX];
  static char msg[96];
  int all = has_role(c, auth_cc, IMX_ROLE_FINANCE | IMX_ROLE_ADMIN);
  const char *me = c->m->ccs[auth_cc].id;
  uint32_t limit = rq->limit ? rq->limit : 100, n = 0;
  if (limit > IMX_LIST_MAX) limit = IMX_LIST_MAX;
  if (rq->service[0] && service_index(c, rq->service) < 0)
    return error_reply(rq, "unknown_service", "service", "no such service", buf, cap);
  if (rq->has_after) {
    if (c->trades_n > 0 && rq->after + 1 < kept_trade(c, 0)->trade) {
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
  imx_reply r;
  reply_init(&r, IMX_MSG_TRADES_LIST, rq);
  r.trades = rows;
  r.trades_n = n;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_balance_get(imx_core *c, const imx_request *rq, uint32_t cc,
                             char *buf, size_t cap) {
  static imx_reply_capacity caps[IMX_SERVICES_MAX];
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
  for (uint32_t i = 0; i < mc->capacities_n && i < IMX_SERVICES_MAX; i++) {
    imx_capacity k;
    uint32_t s = mc->capacities[i].service;
    if (imx_engine_capacity(c->e, cc, s, &k) != IMX_OK) continue;
    imx_reply_capacity *row = &caps[r.capacities_n++];
    snprintf(row->service, sizeof row->service, "%s", c->m->services[s].id);
    row->capacity = k.capacity;
    row->reserved = k.reserved;
    row->sold = k.sold;
    row->available = k.available;
  }
  r.capacities = caps;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_tender_new(imx_core *c, const imx_request *rq, uint32_t cc,
                            char *buf, size_t cap) {
  int64_t s = service_index(c, rq->service);
  if (s < 0) return error_reply(rq, "unknown_service", "service", "no such service", buf, cap);
  if (!has_role(c, cc, IMX_ROLE_RECEIVER))
    return error_reply(rq, "forbidden", "cc", "only receivers open tenders", buf, cap);
  imx_tender_new t = {.service = (uint32_t)s, .cc = cc, .qty = rq->qty,
                      .ceiling_minor = rq->ceiling_minor,
                      .deadline_ms = c->now_ms + rq->deadline_ms};
  imx_status st = imx_engine_tender_new(c->e, &t, NULL);
  if (st != IMX_OK) return engine_error(c, rq, st, buf, cap);
  imx_reply r;
  reply_init(&r, IMX_MSG_TENDER_NEW, rq);
  r.tender = c->tender_id;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_tender_quote(imx_core *c, const imx_request *rq, uint32_t cc,
                              char *buf, size_t cap) {
  if (!has_role(c, cc, IMX_ROLE_PROVIDER))
    return error_reply(rq, "forbidden", "cc", "only providers quote", buf, cap);
  imx_status st = imx_engine_tender_quote(c->e, rq->tender, cc, rq->price_minor, NULL);
  if (st != IMX_OK) return engine_error(c, rq, st, buf, cap);
  imx_reply r;
  reply_init(&r, IMX_MSG_TENDER_QUOTE, rq);
  r.tender = rq->tender;
  r.quote = c->quote_id;
  return imx_reply_encode(&r, buf, cap);
}

static size_t do_auction_run(imx_core *c, const imx_request *rq, char *buf,
                             size_t cap) {
  int64_t s = service_index(c, rq->service);
  if (s < 0) return error_reply(rq, "unknown_service", "service", "no such service", buf, cap);
  imx_status st = imx_engine_auction_run(c->e, (uint32_t)s,
                                         rq->has_price ? rq->price_minor : 0, NULL);
  if (st != IMX_OK) return engine_error(c, rq, st, buf, cap);
  imx_reply r;
  reply_init(&r, IMX_MSG_AUCTION_RUN, rq);
  snprintf(r.service, sizeof r.service, "%s", rq->service);
  r.price_minor = c->auction.price_minor;
  r.volume = c->auction.volume;
  r.surplus = c->auction.surplus;
  r.surplus_side = c->auction.surplus_side == IMX_BID     ? IMX_PSIDE_BID
                   : c->auction.surplus_side == IMX_OFFER ? IMX_PSIDE_OFFER
                                                          : IMX_PSIDE_NONE;
  return imx_reply_encode(&r, buf, cap);
}

/* Closes the period: auctions called, period orders expired, the period's
** settlements summarised and frozen in the ledger, then the next period
** opens with the market file's budgets and capacities. */
static size_t do_period_close(imx_core *c, const imx_request *rq, char *buf,
                              size_t cap) {
  for (uint32_t s = 0; s < c->m->services_n; s++)
    if (c->m->services[s].auction) imx_engine_auction_run(c->e, s, 0, NULL);
  for (uint32_t s = 0; s < c->m->services_n; s++) imx_engine_period_end(c->e, s);
  if (c->ledger && !c->replaying &&
      imx_ledger_close_period(c->ledger, c->period, c->now_ms) != 0) {
    imx_log("ledger: %s", imx_ledger_error(c->ledger));
    c->ledger_failed = 1;
  }
  c->period++;
  for (uint32_t i = 0; i < c->m->ccs_n; i++) {
    const imx_market_cc *mc = &c->m->ccs[i];
    /* Refused only when open gtc bids still hold more than the new
    ** budget: the cost centre then keeps last period's figures. */
    if (imx_engine_cc_set(c->e, i, mc->budget_minor) != IMX_OK && !c->replaying)
      imx_log("period %lld: %s's open bids hold more than its budget; "
              "its budget is not renewed", (long long)c->period, mc->id);
    for (uint32_t k = 0; k < mc->capacities_n; k++)
      imx_engine_capacity_set(c->e, i, mc->capacities[k].service,
                              mc->capacities[k].qty);
  }
  imx_reply r;
  reply_init(&r, IMX_MSG_PERIOD_CLOSE, rq);
  r.expired = c->expired;
  return imx_reply_encode(&r, buf, cap);
}

static size_t dispatch(imx_core *c, const imx_request *rq, uint32_t auth_cc,
                       char *buf, size_t cap) {
  size_t len = 0;
  int64_t cc;
  const unsigned readers = IMX_ROLE_FINANCE | IMX_ROLE_ADMIN;
  switch (rq->type) {
  case IMX_MSG_ORDER_NEW:
    if ((cc = acting_cc(c, rq, auth_cc, 0, buf, cap, &len)) < 0) return len;
    return do_order_new(c, rq, (uint32_t)cc, buf, cap);
  case IMX_MSG_ORDER_CANCEL:
    if ((cc = acting_cc(c, rq, auth_cc, 0, buf, cap, &len)) < 0) return len;
    return do_order_cancel(c, rq, (uint32_t)cc, buf, cap);
  case IMX_MSG_ORDER_LIST:
    if ((cc = acting_cc(c, rq, auth_cc, readers, buf, cap, &len)) < 0) return len;
    return do_order_list(c, rq, (uint32_t)cc, buf, cap);
  case IMX_MSG_BOOK_GET: return do_book_get(c, rq, buf, cap);
  case IMX_MSG_TRADES_LIST: return do_trades_list(c, rq, auth_cc, buf, cap);
  case IMX_MSG_BALANCE_GET:
    if ((cc = acting_cc(c, rq, auth_cc, readers, buf, cap, &len)) < 0) return len;
    return do_balance_get(c, rq, (uint32_t)cc, buf, cap);
  case IMX_MSG_TENDER_NEW:
    if ((cc = acting_cc(c, rq, auth_cc, 0, buf, cap, &len)) < 0) return len;
    return do_tender_new(c, rq, (uint32_t)cc, buf, cap);
  case IMX_MSG_TENDER_QUOTE:
    if ((cc = acting_cc(c, rq, auth_cc, 0, buf, cap, &len)) < 0) return len;
    return do_tender_quote(c, rq, (uint32_t)cc, buf, cap);
  case IMX_MSG_AUCTION_RUN:
    if (!has_role(c, auth_cc, IMX_ROLE_ADMIN))
      return error_reply(rq, "forbidden", "type", "only admin runs auctions", buf, cap);
    return do_auction_run(c, rq, buf, cap);
  case IMX_MSG_PERIOD_CLOSE:
    if (!has_role(c, auth_cc, IMX_ROLE_ADMIN | IMX_ROLE_FINANCE))
      return error_reply(rq, "forbidden", "type", "only admin or finance close periods", buf, cap);
    return do_period_close(c, rq, buf, cap);
  default:
    return error_reply(rq, "internal", "type", "not handled by the engine thread", buf, cap);
  }
}

size_t core_execute(imx_core *c, const imx_request *rq, uint32_t auth_cc,
                    int64_t now_ms, char *buf, size_t cap) {
  assert(auth_cc < c->m->ccs_n);
  core_tick(c, now_ms);
  uint32_t pos;
  uint64_t h = dedupe_hash(auth_cc, rq->id);
  if (idempotent(rq->type)) {
    uint32_t k = dedupe_find(c, h, auth_cc, rq->id, &pos);
    if (k != NIL) {
      const dedupe_entry *d = &c->dedupe[k];
      if (d->len <= DEDUPE_REPLY_MAX && d->len <= cap) {
        memcpy(buf, d->reply, d->len);
        return d->len;
      }
      return error_reply(rq, "duplicate_id", "id",
                         "already done; the reply is too long to repeat", buf, cap);
    }
  }
  c->order_id = 0;
  c->cancelled = 0;
  c->fills_n = 0;
  c->available = 0;
  c->tender_id = c->quote_id = 0;
  c->expired = 0;
  memset(&c->auction, 0, sizeof c->auction);
  size_t len = dispatch(c, rq, auth_cc, buf, cap);
  if (len == 0) len = error_reply(rq, "internal", "", "reply too large", buf, cap);
  if (idempotent(rq->type)) dedupe_put(c, auth_cc, rq->id, buf, len);
  publish_tops(c);
  return len;
}

uint32_t core_tick(imx_core *c, int64_t now_ms) {
  if (now_ms <= c->now_ms) return 0;
  int64_t before = c->last_trade;
  c->now_ms = now_ms;
  imx_engine_clock(c->e, now_ms);
  publish_tops(c);
  return (uint32_t)(c->last_trade - before);
}

int core_changes_state(imx_msg_type t) {
  return t == IMX_MSG_ORDER_NEW || t == IMX_MSG_ORDER_CANCEL ||
         t == IMX_MSG_TENDER_NEW || t == IMX_MSG_TENDER_QUOTE ||
         t == IMX_MSG_AUCTION_RUN || t == IMX_MSG_PERIOD_CLOSE;
}

int core_replay(imx_core *c, int64_t time_ms, const char *cc,
                const char *command, size_t len) {
  static char reply[IMX_REPLY_BYTES_MAX];
  int64_t tick;
  if (sscanf(command, "{\"tick\":%" SCNd64 "}", &tick) == 1) {
    c->replaying = 1;
    core_tick(c, tick);
    c->replaying = 0;
    return 0;
  }
  imx_request rq;
  imx_proto_error err = {0};
  int64_t k = core_cc_index(c->m, cc);
  if (k < 0 || imx_request_decode(command, len, &rq, &err) != 0) return -1;
  c->replaying = 1;
  core_execute(c, &rq, (uint32_t)k, time_ms, reply, sizeof reply);
  c->replaying = 0;
  return 0;
}

int64_t core_last_trade(const imx_core *c) { return c->last_trade; }

void core_set_ledger(imx_core *c, imx_ledger *l) { c->ledger = l; }

int core_ledger_failed(const imx_core *c) { return c->ledger_failed; }

/* ------------------------------------------------------------ lifecycle */

int core_open(const core_config *cfg, imx_core **out) {
  imx_core *c = calloc(1, sizeof *c);
  if (c == NULL) return -1;
  *out = c;
  c->m = cfg->market;
  c->publish = cfg->publish;
  c->publish_ctx = cfg->publish_ctx;
  c->ledger = cfg->ledger;
  c->period = 1;
  uint32_t services = c->m->services_n ? c->m->services_n : 1;
  c->trades = calloc(TRADES_KEPT, sizeof *c->trades);
  c->tops = calloc(services, sizeof *c->tops);
  c->touched = calloc(services, 1);
  c->dedupe = calloc(DEDUPE_N, sizeof *c->dedupe);
  c->dedupe_index = malloc(2 * DEDUPE_N * sizeof *c->dedupe_index);
  if (!c->trades || !c->tops || !c->touched || !c->dedupe || !c->dedupe_index)
    return -1;
  memset(c->dedupe_index, 0xff, 2 * DEDUPE_N * sizeof *c->dedupe_index);
  imx_engine_config ec = {.orders_max = cfg->orders_max,
                          .services_max = services,
                          .on_event = on_event,
                          .ctx = c,
                          .risk = 1,
                          .ccs_max = c->m->ccs_n ? c->m->ccs_n : 1,
                          .orders_per_cc_max = cfg->orders_per_cc_max};
  if (imx_engine_create(&ec, &c->e) != IMX_OK) return -1;
  for (uint32_t i = 0; i < c->m->services_n; i++) {
    const imx_market_service *ms = &c->m->services[i];
    imx_service_config sc = {.tick_minor = ms->tick_minor, .lot = ms->lot,
                             .divisible = ms->divisible,
                             .mode = ms->auction ? IMX_MODE_AUCTION : IMX_MODE_CONTINUOUS,
                             .price_cap_minor = ms->price_cap_minor};
    uint32_t id;
    if (imx_engine_service_add(c->e, &sc, &id) != IMX_OK || id != i) return -1;
  }
  for (uint32_t i = 0; i < c->m->ccs_n; i++) {
    const imx_market_cc *mc = &c->m->ccs[i];
    if (imx_engine_cc_set(c->e, i, mc->budget_minor) != IMX_OK) return -1;
    for (uint32_t k = 0; k < mc->capacities_n; k++)
      if (imx_engine_capacity_set(c->e, i, mc->capacities[k].service,
                                  mc->capacities[k].qty) != IMX_OK)
        return -1;
  }
  return 0;
}

void core_close(imx_core *c) {
  if (c == NULL) return;
  imx_engine_destroy(c->e);
  free(c->trades);
  free(c->tops);
  free(c->touched);
  free(c->dedupe);
  free(c->dedupe_index);
  free(c);
}
