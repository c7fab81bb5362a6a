/*
** reads.c -- order.history and ratings.list from the ledger, on the
** worker's thread (reads.h says why).
**
** One page is read inside one read transaction (a WAL snapshot): the
** closed orders, newest closed first, then each one's first fills. An
** order closed before the ledger kept closed orders (schema 4) is not in
** it; a fill made before schema 4 has no order id and is not listed.
**
** Authorisation is order.list's (core_acting_cc with CORE_ORDER_READERS):
** a cost centre reads its own history, finance and admin anyone's; `before`
** names a closed order of the cost centre read, anything else is not_found,
** so that paging tells nobody about other cost centres' orders.
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
  free(r);
}

int reads_handles(imx_msg_type type) {
  return type == IMX_MSG_ORDER_HISTORY || type == IMX_MSG_RATINGS_LIST;
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
  c->period = o->period;
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

/* The reader's connection, opened at the first read: 0, or -1 with the
** error reply written into buf (*len). */
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
      (x->reply && strlen(x->reply) > IMX_COMMENT_BYTES_MAX) || x->stars < IMX_STARS_MIN ||
      x->stars > IMX_STARS_MAX) {
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
  if (ledger_ready(r, rq, buf, cap, &len) != 0) return len;
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

size_t reads_execute(reads *r, const imx_request *rq, uint32_t auth_cc, char *buf,
                     size_t cap) {
  IMX_ASSERT(reads_handles(rq->type) && auth_cc < r->m->ccs_n);
  IMX_ASSERT(rq->limit >= 1 && rq->limit <= IMX_HISTORY_LIMIT_MAX);
  size_t len = 0;
  if (rq->type == IMX_MSG_RATINGS_LIST) {
    len = ratings(r, rq, auth_cc, buf, cap);
    if (len == 0) len = imx_error_encode(rq->id, "internal", "", "reply too large", buf, cap);
    IMX_ASSERT(len > 0 && len <= cap);
    return len;
  }
  int64_t cc = core_acting_cc(r->m, rq, auth_cc, CORE_ORDER_READERS, buf, cap, &len);
  if (cc < 0) return len;
  len = history(r, rq, (uint32_t)cc, buf, cap);
  if (len == 0) len = imx_error_encode(rq->id, "internal", "", "reply too large", buf, cap);
  IMX_ASSERT(len > 0 && len <= cap);
  return len;
}
