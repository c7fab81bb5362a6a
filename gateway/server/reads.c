/*
** reads.c -- order.history, statement.get, ratings.list and period.summary from
** the ledger, on the worker's thread (reads.h says why).
**
** One page is read inside one read transaction (a WAL snapshot): the
** closed orders, newest closed first, then each one's first fills. An
** order closed before the ledger kept closed orders (schema 4) is not in
** it; a fill made before schema 4 has no order id and is not listed.
**
** Authorisation is order.list's (core_acting_cc with CORE_ORDER_READERS):
** a cost centre reads its own history, finance and admin anyone's; `before`
** names a closed order of the cost centre read, anything else is not_found,
** so that paging tells nobody about other cost centres' orders. A
** statement is balance.get's (CORE_BALANCE_READERS): the cost centre's own,
** and finance's for anyone; its section below says what it reads.
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"
#include "imx_ledger.h"
#include "imx_server.h"
#include "reads.h"

/*
** ratings.list: who sees which ratings. Finance and admin see every rating
** (finance can list all, issue 13), and any cost centre's with "cc". A
** cost centre sees the ratings it received as a provider and those it gave
** as a receiver; asking for another's is not_own_ratings. The rater's id is
** shown, also to the provider: ratings are an internal accountability tool
** (a provider may ask its customer what went wrong), and an anonymous
** rating in a market of a few dozen cost centres would rarely stay
** anonymous anyway (README, "Ratings").
*/

struct reads {
  const imx_market *m;
  const char *db_path;
  imx_ledger *l;  /* opened at the first read; NULL until then */
  /* one page: its orders, and their fills in one array */
  imx_reply_closed closed[IMX_HISTORY_LIMIT_MAX];
  imx_reply_fill fills[IMX_HISTORY_LIMIT_MAX * IMX_HISTORY_FILLS_MAX];
  imx_reply_rating ratings[IMX_RATINGS_LIMIT_MAX];
  uint32_t ratings_n;
  uint32_t closed_n, fills_n;
  int bad_row;    /* a row with words this imx does not know */
  /* one statement: allocated at the first, kept for the next */
  imx_reply_sum *sums;     /* IMX_LIST_MAX */
  imx_reply_trade *trades; /* IMX_STATEMENT_TRADES_MAX */
  uint32_t sums_n, trades_n;
  uint64_t sums_omitted;
  /* one page of a period's summary: allocated at the first, kept */
  core_summary summary;
  imx_reply_cc_sum *cc_rows; /* IMX_LIST_MAX: the page's cost centres,  */
  uint32_t *cc_index;        /* ... their index in the market,          */
  uint8_t *traded;           /* ... and whether each traded             */
  uint32_t page_first, page_n; /* the cost centres the page covers      */
};

int reads_open(const imx_market *m, const char *db_path, reads **out) {
  reads *r = calloc(1, sizeof *r);
  *out = r;
  if (r == NULL) return -1;
  r->m = m;
  r->db_path = db_path;
  return 0;
}

void reads_close(reads *r) {
  if (r == NULL) return;
  imx_ledger_close(r->l);
  free(r->sums);
  free(r->trades);
  free(r->cc_rows);
  free(r->cc_index);
  free(r->traded);
  free(r);
}

int reads_handles(imx_msg_type type) {
  return type == IMX_MSG_ORDER_HISTORY || type == IMX_MSG_STATEMENT_GET ||
         type == IMX_MSG_RATINGS_LIST || type == IMX_MSG_PERIOD_SUMMARY;
}

/* The index of s in words, or -1. */
static int word_of(const char *s, const char *const *words) {
  for (int i = 0; words[i]; i++)
    if (strcmp(s, words[i]) == 0) return i;
  return -1;
}

static int take_order(void *ctx, const imx_ledger_order *o) {
  static const char *const sides[] = {"bid", "offer", NULL};
  static const char *const tifs[] = {"gtc", "period", "ioc", "fok", NULL};
  static const char *const statuses[] = {"open", "filled", "cancelled", "expired", NULL};
  reads *r = ctx;
  IMX_ASSERT(r->closed_n < IMX_HISTORY_LIMIT_MAX);
  imx_reply_closed *c = &r->closed[r->closed_n];
  memset(c, 0, sizeof *c);
  int side = word_of(o->side, sides), tif = word_of(o->tif, tifs),
      status = word_of(o->status, statuses);
  if (side < 0 || tif < 0 || status < IMX_PSTATUS_FILLED ||
      strlen(o->service) > IMX_NAME_BYTES_MAX ||
      (o->reason && strlen(o->reason) >= sizeof c->reason)) {
    r->bad_row = 1;
    return 1;
  }
  c->order = (uint64_t)o->order_id;
  snprintf(c->service, sizeof c->service, "%s", o->service);
  c->side = side;
  c->tif = tif;
  c->aon = o->aon;
  c->price_minor = o->price_minor;
  c->qty = o->qty;
  c->qty_filled = o->qty_filled;
  c->status = status;
  if (o->reason) snprintf(c->reason, sizeof c->reason, "%s", o->reason);
  if (imx_period_label(r->m, o->period, c->period, sizeof c->period) != 0) {
    r->bad_row = 1;
    return 1;
  }
  c->closed_ms = o->closed_ms;
  r->closed_n++;
  return 0;
}

static int take_fill(void *ctx, const imx_ledger_fill *f) {
  reads *r = ctx;
  IMX_ASSERT(r->fills_n < IMX_HISTORY_LIMIT_MAX * IMX_HISTORY_FILLS_MAX);
  imx_reply_fill *x = &r->fills[r->fills_n++];
  memset(x, 0, sizeof *x);
  x->trade = (uint64_t)f->trade_id;
  x->qty = f->qty;
  x->price_minor = f->price_minor;
  x->time_ms = f->time_ms;
  snprintf(x->counterparty, sizeof x->counterparty, "%s", f->counterparty);
  return 0;
}

/* Reads one page into r: 0, 1 when `before` is none of cc's closed orders,
** -1 on a ledger error. */
static int read_page(reads *r, const char *cc, const imx_request *rq) {
  r->closed_n = r->fills_n = 0;
  r->bad_row = 0;
  if (imx_ledger_read_begin(r->l) != 0) return -1;
  int rc = imx_ledger_orders_closed(r->l, cc, (int64_t)rq->before, rq->limit,
                                    take_order, r);
  for (uint32_t i = 0; rc == 0 && i < r->closed_n; i++) {
    imx_reply_closed *c = &r->closed[i];
    int64_t total = 0;
    c->fills = r->fills + r->fills_n;
    uint32_t first = r->fills_n;
    rc = imx_ledger_order_fills(r->l, (int64_t)c->order, IMX_HISTORY_FILLS_MAX,
                                take_fill, r, &total);
    c->fills_n = r->fills_n - first;
    c->fills_omitted = total > c->fills_n ? (uint64_t)(total - c->fills_n) : 0;
  }
  imx_ledger_read_end(r->l);
  return rc != 0 ? rc : r->bad_row ? -1 : 0;
}

/* The ledger connection, opened at the first read: 0, or -1 with the error
** reply in buf and its length in *len. */
static int ledger_ready(reads *r, const imx_request *rq, char *buf, size_t cap,
                        size_t *len) {
  char err[256];
  const char *what = imx_msg_type_name(rq->type);
  if (r->db_path == NULL) {
    *len = imx_error_encode(rq->id, "internal", "", "this server runs without a"
                            " ledger: it keeps no history", buf, cap);
    return -1;
  }
  if (r->l == NULL && imx_ledger_open_existing(r->db_path, &r->l, err, sizeof err) != 0) {
    imx_log("%s: ledger %s: %s", what, r->db_path, err);
    imx_ledger_close(r->l);
    r->l = NULL;
    *len = imx_error_encode(rq->id, "internal", "", "the ledger cannot be read", buf, cap);
    return -1;
  }
  return 0;
}

static int take_rating(void *ctx, const imx_ledger_rating *x) {
  reads *r = ctx;
  IMX_ASSERT(r->ratings_n < IMX_RATINGS_LIMIT_MAX);
  imx_reply_rating *g = &r->ratings[r->ratings_n];
  memset(g, 0, sizeof *g);
  if (strlen(x->service) > IMX_NAME_BYTES_MAX || strlen(x->provider) > IMX_NAME_BYTES_MAX ||
      strlen(x->rater) > IMX_NAME_BYTES_MAX || strlen(x->comment) > IMX_COMMENT_BYTES_MAX ||
      (x->reply && strlen(x->reply) > IMX_COMMENT_BYTES_MAX) || x->stars < IMX_RATING_STARS_MIN ||
      x->stars > IMX_RATING_STARS_MAX) {
    r->bad_row = 1;
    return 1;
  }
  g->trade = (uint64_t)x->trade_id;
  snprintf(g->service, sizeof g->service, "%s", x->service);
  snprintf(g->provider, sizeof g->provider, "%s", x->provider);
  snprintf(g->rater, sizeof g->rater, "%s", x->rater);
  g->stars = x->stars;
  snprintf(g->comment, sizeof g->comment, "%s", x->comment);
  g->time_ms = x->time_ms;
  if (x->reply) {
    snprintf(g->reply, sizeof g->reply, "%s", x->reply);
    g->reply_ms = x->reply_ms > 0 ? x->reply_ms : 1;
  }
  r->ratings_n++;
  return 0;
}

/* ratings.list: one page, newest rated trade first. */
static size_t ratings(reads *r, const imx_request *rq, uint32_t auth_cc, char *buf,
                      size_t cap) {
  const imx_market *m = r->m;
  int all = (m->ccs[auth_cc].roles & CORE_ORDER_READERS) != 0;
  const char *cc = all ? NULL : m->ccs[auth_cc].id;
  if (rq->cc[0]) {
    int64_t k = core_cc_index(m, rq->cc);
    if (k < 0) return imx_error_reason_encode(rq->id, "unknown_cc", rq->type, NULL, buf, cap);
    if ((uint32_t)k != auth_cc && !all)
      return imx_error_reason_encode(rq->id, "not_own_ratings", rq->type, NULL, buf, cap);
    cc = m->ccs[k].id;
  }
  if (rq->service[0] && imx_market_service_find(m, rq->service) < 0)
    return imx_error_reason_encode(rq->id, "unknown_service", rq->type, NULL, buf, cap);
  size_t len = 0;
  if (ledger_ready(r, rq, buf, cap, &len) != 0) return len;
  r->ratings_n = 0;
  r->bad_row = 0;
  int rc = imx_ledger_read_begin(r->l);
  if (rc == 0)
    rc = imx_ledger_ratings(r->l, cc, rq->service[0] ? rq->service : NULL,
                            (int64_t)rq->before, rq->limit, take_rating, r);
  imx_ledger_read_end(r->l);
  if (rc != 0 || r->bad_row) {
    imx_log("ratings.list: ledger %s: %s", r->db_path,
            r->bad_row ? "a rating out of range" : imx_ledger_error(r->l));
    return imx_error_encode(rq->id, "internal", "", "the ledger cannot be read", buf, cap);
  }
  imx_reply rep;
  memset(&rep, 0, sizeof rep);
  rep.type = IMX_MSG_RATINGS_LIST;
  snprintf(rep.id, sizeof rep.id, "%s", rq->id);
  rep.ratings = r->ratings;
  rep.ratings_n = r->ratings_n;
  return imx_reply_encode(&rep, buf, cap);
}

static size_t history(reads *r, const imx_request *rq, uint32_t cc, char *buf,
                      size_t cap) {
  size_t len = 0;
  if (ledger_ready(r, rq, buf, cap, &len)) return len;
  const char *id = r->m->ccs[cc].id;
  int rc = read_page(r, id, rq);
  if (rc == 1)
    return imx_error_encode(rq->id, "not_found", "before",
                            "no closed order of the cost centre has that id", buf, cap);
  if (rc != 0) {
    imx_log("order.history: ledger %s: %s", r->db_path,
            r->bad_row ? "a closed order with unknown words" : imx_ledger_error(r->l));
    return imx_error_encode(rq->id, "internal", "", "the ledger cannot be read", buf, cap);
  }
  imx_reply rep;
  memset(&rep, 0, sizeof rep);
  rep.type = IMX_MSG_ORDER_HISTORY;
  snprintf(rep.id, sizeof rep.id, "%s", rq->id);
  snprintf(rep.cc, sizeof rep.cc, "%s", id);
  rep.closed = r->closed;
  rep.closed_n = r->closed_n;
  return imx_reply_encode(&rep, buf, cap);
}

/* ------------------------------------------------------------ statements */

/*
** statement.get: one cost centre's period, open or closed, from the ledger
** in one read transaction: whether the period is closed (the ledger's
** periods), per service what the cost centre bought and sold (summed from
** the period's trades, as the period's summaries are), and its first
** IMX_STATEMENT_TRADES_MAX trades, oldest first (trades_omitted: the
** rest; trades.list pages them). The open period is the one after the
** last closed. `budget` is the market file's budget per period (as cc.get
** shows it). The open period's budget and reservations as the engine
** keeps them are balance.get's: they are not in the ledger, and reading
** them here would make a second copy of the engine's rules; a client shows
** both.
*/

static int take_sum(void *ctx, const imx_ledger_service_sum *s) {
  reads *r = ctx;
  if (strlen(s->service) > IMX_NAME_BYTES_MAX) {
    r->bad_row = 1;
    return 1;
  }
  if (r->sums_n == IMX_LIST_MAX) { /* a list's most rows */
    r->sums_omitted++;
    return 0;
  }
  imx_reply_sum *x = &r->sums[r->sums_n++];
  memset(x, 0, sizeof *x);
  memcpy(x->service, s->service, strlen(s->service) + 1);
  x->trades = s->trades;
  x->bought = s->bought;
  x->spent = s->spent_minor;
  x->sold = s->sold;
  x->earned = s->earned_minor;
  return 0;
}

static int take_trade(void *ctx, const imx_ledger_trade *t) {
  reads *r = ctx;
  IMX_ASSERT(r->trades_n < IMX_STATEMENT_TRADES_MAX);
  if (strlen(t->service) > IMX_NAME_BYTES_MAX || strlen(t->buyer) > IMX_NAME_BYTES_MAX ||
      strlen(t->seller) > IMX_NAME_BYTES_MAX) {
    r->bad_row = 1;
    return 1;
  }
  imx_reply_trade *x = &r->trades[r->trades_n++];
  memset(x, 0, sizeof *x);
  x->trade = (uint64_t)t->trade_id;
  snprintf(x->service, sizeof x->service, "%s", t->service);
  snprintf(x->buyer, sizeof x->buyer, "%s", t->buyer);
  snprintf(x->seller, sizeof x->seller, "%s", t->seller);
  x->qty = t->qty;
  x->price_minor = t->price_minor;
  x->time_ms = t->time_ms;
  x->buy_order = (uint64_t)t->buy_order;
  x->sell_order = (uint64_t)t->sell_order;
  return 0;
}

/* The period a statement asks for: >= 1, or -1 with the error reply. The
** open period is the one after the last closed. */
static int64_t statement_period(reads *r, const imx_request *rq, int64_t last_closed,
                                char *buf, size_t cap, size_t *len) {
  char first[IMX_PERIOD_LABEL_BYTES], open[IMX_PERIOD_LABEL_BYTES], msg[160];
  int64_t p = rq->period[0] ? imx_period_parse(r->m, rq->period) : last_closed + 1;
  if (p >= 1 && p <= last_closed + 1) return p;
  imx_period_label(r->m, 1, first, sizeof first);
  imx_period_label(r->m, last_closed + 1, open, sizeof open);
  if (p < 1) {
    snprintf(msg, sizeof msg, "not a period of this market (the first is %s, the"
             " open one %s)", first, open);
    *len = imx_error_encode(rq->id, "bad_field", "period", msg, buf, cap);
  } else {
    snprintf(msg, sizeof msg, "that period has not begun (the open one is %s)", open);
    *len = imx_error_encode(rq->id, "not_found", "period", msg, buf, cap);
  }
  return -1;
}

/* Reads the statement of cc into r and rep: 0, or -1 with the reply in buf
** and its length in *len. */
static int read_statement(reads *r, const imx_request *rq, const char *cc, imx_reply *rep,
                          char *buf, size_t cap, size_t *len) {
  if (r->sums == NULL) r->sums = calloc(IMX_LIST_MAX, sizeof *r->sums);
  if (r->trades == NULL) r->trades = calloc(IMX_STATEMENT_TRADES_MAX, sizeof *r->trades);
  if (r->sums == NULL || r->trades == NULL) {
    *len = imx_error_encode(rq->id, "internal", "", "out of memory", buf, cap);
    return -1;
  }
  r->sums_n = r->trades_n = 0;
  r->sums_omitted = 0;
  r->bad_row = 0;
  if (imx_ledger_read_begin(r->l) != 0) return -2;
  int64_t last = 0, total = 0, period = -1;
  int rc = imx_ledger_last_closed(r->l, &last);
  if (rc == 0 && (period = statement_period(r, rq, last, buf, cap, len)) < 0) {
    imx_ledger_read_end(r->l);
    return -1;
  }
  int closed = rc == 0 ? imx_ledger_period_closed(r->l, period, &rep->closed_ms) : -1;
  if (closed >= 0) rc = imx_ledger_service_sums(r->l, cc, period, take_sum, r);
  if (closed >= 0 && rc == 0)
    rc = imx_ledger_cc_trades(r->l, cc, period, IMX_STATEMENT_TRADES_MAX, take_trade, r,
                              &total);
  imx_ledger_read_end(r->l);
  if (closed < 0 || rc != 0 || r->bad_row) return -2;
  rep->is_closed = closed;
  if (!closed) rep->closed_ms = 0;
  imx_period_label(r->m, period, rep->period, sizeof rep->period);
  rep->sums = r->sums;
  rep->sums_n = r->sums_n;
  rep->sums_omitted = r->sums_omitted;
  rep->trades = r->trades;
  rep->trades_n = r->trades_n;
  rep->trades_omitted = total > r->trades_n ? (uint64_t)(total - r->trades_n) : 0;
  return 0;
}

static size_t statement(reads *r, const imx_request *rq, uint32_t cc, char *buf,
                        size_t cap) {
  size_t len = 0;
  if (ledger_ready(r, rq, buf, cap, &len)) return len;
  imx_reply rep;
  memset(&rep, 0, sizeof rep);
  const char *id = r->m->ccs[cc].id;
  int rc = read_statement(r, rq, id, &rep, buf, cap, &len);
  if (rc == -1) return len;
  if (rc != 0) {
    imx_log("statement.get: ledger %s: %s", r->db_path,
            r->bad_row ? "a row this imx cannot show" : imx_ledger_error(r->l));
    return imx_error_encode(rq->id, "internal", "", "the ledger cannot be read", buf, cap);
  }
  rep.type = IMX_MSG_STATEMENT_GET;
  snprintf(rep.id, sizeof rep.id, "%s", rq->id);
  snprintf(rep.cc, sizeof rep.cc, "%s", id);
  rep.budget = r->m->ccs[cc].budget_minor; /* the file's, as cc.get shows it */
  /* Many services and long trade rows may not fit a reply: fewer trades
  ** are listed, and trades_omitted says how many more there are. */
  for (;;) {
    len = imx_reply_encode(&rep, buf, cap);
    if (len > 0 || rep.trades_n == 0) return len;
    uint32_t keep = rep.trades_n / 2;
    rep.trades_omitted += rep.trades_n - keep;
    rep.trades_n = keep;
  }
}

/* ------------------------------------------------------ period.summary */

/*
** period.summary: the whole market's period, for finance's overview, in
** one read transaction: the period as statement.get finds it (the same
** errors), its per-service sums over every cost centre (each trade once:
** imx_ledger_service_sums without a cost centre), and a page of cost
** centres: `limit` of them in market-file order from `start`, of which
** those with a budget in the market file or a trade in the period are
** rows, with the file's budget and what the ledger says they spent and
** earned (imx_ledger_cc_sums: the query of a closed period's summaries).
** `next` is the cost centre after the page. A closed period is answered
** here; the open one's rows need the engine's reserved and available, so
** it goes on to the engine thread (core.h, core_summary).
*/

static int take_cc_sum(void *ctx, const imx_ledger_cc_sum *x) {
  reads *r = ctx;
  int64_t k = imx_market_cc_find(r->m, x->cc);
  if (k < (int64_t)r->page_first || k >= (int64_t)r->page_first + r->page_n) return 0;
  uint32_t i = (uint32_t)k - r->page_first;
  r->traded[i] = 1;
  r->cc_rows[i].spent = x->spent_minor;
  r->cc_rows[i].earned = x->earned_minor;
  return 0;
}

/* Reads the page into r->summary: 0, -1 with the reply in buf and its
** length in *len, -2 on a ledger error. */
static int read_summary(reads *r, const imx_request *rq, uint32_t first, char *buf,
                        size_t cap, size_t *len) {
  const imx_market *m = r->m;
  if (r->sums == NULL) r->sums = calloc(IMX_LIST_MAX, sizeof *r->sums);
  if (r->cc_rows == NULL) r->cc_rows = calloc(IMX_LIST_MAX, sizeof *r->cc_rows);
  if (r->cc_index == NULL) r->cc_index = calloc(IMX_LIST_MAX, sizeof *r->cc_index);
  if (r->traded == NULL) r->traded = calloc(IMX_LIST_MAX, sizeof *r->traded);
  if (!r->sums || !r->cc_rows || !r->cc_index || !r->traded) {
    *len = imx_error_encode(rq->id, "internal", "", "out of memory", buf, cap);
    return -1;
  }
  IMX_ASSERT(rq->limit >= 1 && rq->limit <= IMX_LIST_MAX && first <= m->ccs_n);
  r->page_first = first;
  r->page_n = m->ccs_n - first < rq->limit ? m->ccs_n - first : rq->limit;
  memset(r->cc_rows, 0, r->page_n * sizeof *r->cc_rows);
  memset(r->traded, 0, r->page_n);
  r->sums_n = 0;
  r->sums_omitted = 0;
  r->bad_row = 0;
  if (imx_ledger_read_begin(r->l) != 0) return -2;
  int64_t last = 0, period = -1;
  int rc = imx_ledger_last_closed(r->l, &last);
  if (rc == 0 && (period = statement_period(r, rq, last, buf, cap, len)) < 0) {
    imx_ledger_read_end(r->l);
    return -1;
  }
  if (rc == 0) rc = imx_ledger_service_sums(r->l, NULL, period, take_sum, r);
  if (rc == 0) rc = imx_ledger_cc_sums(r->l, period, take_cc_sum, r);
  imx_ledger_read_end(r->l);
  if (rc != 0 || r->bad_row) return -2;
  core_summary *s = &r->summary;
  memset(&s->rep, 0, sizeof s->rep);
  s->rep.type = IMX_MSG_PERIOD_SUMMARY;
  snprintf(s->rep.id, sizeof s->rep.id, "%s", rq->id);
  s->period = period;
  imx_period_label(m, period, s->rep.period, sizeof s->rep.period);
  s->rep.is_open = period == last + 1;
  s->rep.sums = r->sums;
  s->rep.sums_n = r->sums_n;
  s->rep.sums_omitted = r->sums_omitted;
  /* The rows, packed to the front in market-file order. */
  uint32_t n = 0;
  for (uint32_t i = 0; i < r->page_n; i++) {
    const imx_market_cc *mc = &m->ccs[first + i];
    if (!r->traded[i] && mc->budget_minor <= 0) continue;
    imx_reply_cc_sum *row = &r->cc_rows[n];
    *row = r->cc_rows[i];
    snprintf(row->cc, sizeof row->cc, "%s", mc->id);
    row->budget = mc->budget_minor; /* the file's, as statement.get */
    row->reserved = row->available = 0;
    r->cc_index[n++] = first + i;
  }
  s->rep.cc_sums = r->cc_rows;
  s->rep.cc_sums_n = n;
  s->cc_index = r->cc_index;
  if (first + r->page_n < m->ccs_n)
    snprintf(s->rep.next, sizeof s->rep.next, "%s", m->ccs[first + r->page_n].id);
  return 0;
}

/* A page of the summary: the reply's length, or 0 with *engine set when the
** engine thread must add its figures (the open period). */
static size_t summary(reads *r, const imx_request *rq, uint32_t auth_cc, char *buf,
                      size_t cap, core_summary **engine) {
  if ((r->m->ccs[auth_cc].roles & CORE_SUMMARY_READERS) == 0)
    return imx_error_reason_encode(rq->id, "not_finance", rq->type, NULL, buf, cap);
  int64_t first = rq->start[0] ? imx_market_cc_find(r->m, rq->start) : 0;
  if (first < 0)
    return imx_error_encode(rq->id, "unknown_cc", "start", "no such cost centre to start from",
                            buf, cap);
  size_t len = 0;
  if (ledger_ready(r, rq, buf, cap, &len)) return len;
  int rc = read_summary(r, rq, (uint32_t)first, buf, cap, &len);
  if (rc == -1) return len;
  if (rc != 0) {
    imx_log("period.summary: ledger %s: %s", r->db_path,
            r->bad_row ? "a row this imx cannot show" : imx_ledger_error(r->l));
    return imx_error_encode(rq->id, "internal", "", "the ledger cannot be read", buf, cap);
  }
  if (r->summary.rep.is_open) {
    *engine = &r->summary;
    return 0;
  }
  len = core_summary_encode(&r->summary.rep, buf, cap);
  return len ? len : imx_error_encode(rq->id, "internal", "", "reply too large", buf, cap);
}

size_t reads_execute(reads *r, const imx_request *rq, uint32_t auth_cc, char *buf,
                     size_t cap, core_summary **engine) {
  IMX_ASSERT(reads_handles(rq->type) && auth_cc < r->m->ccs_n && engine != NULL);
  *engine = NULL;
  size_t len = 0;
  if (rq->type == IMX_MSG_PERIOD_SUMMARY) {
    len = summary(r, rq, auth_cc, buf, cap, engine);
    IMX_ASSERT((len > 0) != (*engine != NULL) && len <= cap);
    return len;
  }
  if (rq->type == IMX_MSG_RATINGS_LIST) {
    len = ratings(r, rq, auth_cc, buf, cap);
    if (len == 0) len = imx_error_encode(rq->id, "internal", "", "reply too large", buf, cap);
    IMX_ASSERT(len > 0 && len <= cap);
    return len;
  }
  int history_rq = rq->type == IMX_MSG_ORDER_HISTORY;
  IMX_ASSERT(!history_rq || (rq->limit >= 1 && rq->limit <= IMX_HISTORY_LIMIT_MAX));
  int64_t cc = core_acting_cc(r->m, rq, auth_cc,
                              history_rq ? CORE_ORDER_READERS : CORE_BALANCE_READERS, buf,
                              cap, &len);
  if (cc < 0) return len;
  len = history_rq ? history(r, rq, (uint32_t)cc, buf, cap)
                   : statement(r, rq, (uint32_t)cc, buf, cap);
  if (len == 0) len = imx_error_encode(rq->id, "internal", "", "reply too large", buf, cap);
  IMX_ASSERT(len > 0 && len <= cap);
  return len;
}
