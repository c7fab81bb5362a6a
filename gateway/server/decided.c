/*
** decided.c -- the ring of tenders that ended (decided.h).
**
** A lookup walks the ring from the newest: at most IMX_TENDERS_DECIDED_KEPT
** records, for tender.get only (never on the order path), and most reads
** are of a tender that ended lately.
*/
#include <stdlib.h>
#include <string.h>

#include "decided.h"

_Static_assert(IMX_TENDERS_DECIDED_KEPT >= 1 && IMX_TENDERS_DECIDED_KEPT < (1u << 24),
               "a ring of decided tenders");

int decided_open(decided_ring *d) {
  IMX_ASSERT(d != NULL);
  memset(d, 0, sizeof *d);
  d->slots = calloc(IMX_TENDERS_DECIDED_KEPT, sizeof *d->slots);
  return d->slots ? 0 : -1;
}

void decided_close(decided_ring *d) {
  if (d == NULL) return;
  free(d->slots);
  d->slots = NULL;
}

decided_tender *decided_add(decided_ring *d, uint64_t tender_id) {
  IMX_ASSERT(d->slots != NULL && tender_id != 0);
  IMX_ASSERT(d->head < IMX_TENDERS_DECIDED_KEPT && d->n <= IMX_TENDERS_DECIDED_KEPT);
  decided_tender *t = &d->slots[d->head];
  memset(t, 0, sizeof *t);
  t->info.tender_id = tender_id;
  d->head = (d->head + 1) % IMX_TENDERS_DECIDED_KEPT;
  if (d->n < IMX_TENDERS_DECIDED_KEPT) d->n++;
  return t;
}

decided_tender *decided_newest(decided_ring *d) {
  if (d->n == 0) return NULL;
  return &d->slots[(d->head + IMX_TENDERS_DECIDED_KEPT - 1) % IMX_TENDERS_DECIDED_KEPT];
}

const decided_tender *decided_find(const decided_ring *d, uint64_t tender_id) {
  IMX_ASSERT(d->n <= IMX_TENDERS_DECIDED_KEPT);
  for (uint32_t k = 1; k <= d->n; k++) {
    const decided_tender *t =
        &d->slots[(d->head + IMX_TENDERS_DECIDED_KEPT - k) % IMX_TENDERS_DECIDED_KEPT];
    if (t->info.tender_id == tender_id) return t->end == DECIDED_PENDING ? NULL : t;
  }
  return NULL;
}

/* ------------------------------------------------------------ snapshots */

static void snap_one(const decided_tender *t, imx_wbuf *o) {
  const imx_tender_info *i = &t->info;
  imx_wbuf_int(o, i->tender_id, 8);
  imx_wbuf_int(o, i->service, 4);
  imx_wbuf_int(o, i->cc, 4);
  imx_wbuf_int(o, (uint64_t)i->qty, 8);
  imx_wbuf_int(o, (uint64_t)i->ceiling_minor, 8);
  imx_wbuf_int(o, (uint64_t)i->deadline_ms, 8);
  imx_wbuf_int(o, (uint64_t)i->decide, 1);
  imx_wbuf_int(o, i->price_weight, 1);
  imx_wbuf_int(o, i->quality_weight, 1);
  imx_wbuf_int(o, (uint64_t)t->end, 1);
  imx_wbuf_int(o, (uint64_t)t->time_ms, 8);
  imx_wbuf_int(o, t->quote, 8);
  imx_wbuf_int(o, t->trade, 8);
  imx_wbuf_int(o, t->quotes_n, 1);
  for (uint32_t k = 0; k < t->quotes_n; k++) {
    const decided_quote *q = &t->quotes[k];
    imx_wbuf_int(o, q->quote, 8);
    imx_wbuf_int(o, q->cc, 4);
    imx_wbuf_int(o, (uint64_t)q->price_minor, 8);
    imx_wbuf_int(o, (uint64_t)q->score, 8);
    imx_wbuf_int(o, (uint64_t)q->ratings, 8);
    imx_wbuf_int(o, (uint64_t)q->stars_sum, 8);
    imx_wbuf_int(o, (uint64_t)q->ratings_recent, 8);
    imx_wbuf_int(o, (uint64_t)q->stars_sum_recent, 8);
  }
}

void decided_snap_write(const decided_ring *d, imx_wbuf *o) {
  IMX_ASSERT(d->n <= IMX_TENDERS_DECIDED_KEPT);
  imx_wbuf_int(o, d->n, 4);
  for (uint32_t k = d->n; k >= 1; k--) {
    const decided_tender *t =
        &d->slots[(d->head + IMX_TENDERS_DECIDED_KEPT - k) % IMX_TENDERS_DECIDED_KEPT];
    IMX_ASSERT(t->end != DECIDED_PENDING && "a snapshot is taken between commands");
    snap_one(t, o);
  }
}

static int quote_ok(const decided_quote *q, uint32_t ccs_n) {
  return q->quote >= 1 && q->quote <= IMX_ID_MAX && q->cc < ccs_n && q->price_minor >= 1 &&
         q->price_minor <= IMX_PRICE_MAX_MINOR && q->score >= 0 &&
         q->score <= IMX_SCORE_MAX && q->ratings >= 0 && q->stars_sum >= q->ratings &&
         q->stars_sum <= 5 * q->ratings && q->ratings_recent >= 0 &&
         q->ratings_recent <= q->ratings && q->stars_sum_recent >= q->ratings_recent &&
         q->stars_sum_recent <= 5 * q->ratings_recent;
}

static int read_one(decided_tender *t, imx_rbuf *in, uint32_t ccs_n, uint32_t services_n,
                    int64_t last_trade) {
  imx_tender_info *i = &t->info;
  i->service = (uint32_t)imx_rbuf_int(in, 4);
  i->cc = (uint32_t)imx_rbuf_int(in, 4);
  i->qty = (int64_t)imx_rbuf_int(in, 8);
  i->ceiling_minor = (int64_t)imx_rbuf_int(in, 8);
  i->deadline_ms = (int64_t)imx_rbuf_int(in, 8);
  uint64_t decide = imx_rbuf_int(in, 1);
  i->price_weight = (uint32_t)imx_rbuf_int(in, 1);
  i->quality_weight = (uint32_t)imx_rbuf_int(in, 1);
  uint64_t end = imx_rbuf_int(in, 1);
  t->time_ms = (int64_t)imx_rbuf_int(in, 8);
  t->quote = imx_rbuf_int(in, 8);
  t->trade = imx_rbuf_int(in, 8);
  t->quotes_n = (uint32_t)imx_rbuf_int(in, 1);
  if (in->why) return -1;
  i->decide = (imx_decide)decide;
  t->end = (decided_end)end;
  int awarded = end == DECIDED_AWARDED;
  if (i->service >= services_n || i->cc >= ccs_n || i->qty < 1 || i->qty > IMX_QTY_MAX ||
      i->ceiling_minor < 1 || i->ceiling_minor > IMX_PRICE_MAX_MINOR || decide > 2 ||
      end < DECIDED_AWARDED || end > DECIDED_CANCELLED || t->time_ms < 0 ||
      t->quotes_n > IMX_QUOTES_MAX || (decide == IMX_DECIDE_SCORE
          ? i->price_weight + i->quality_weight != IMX_WEIGHT_MAX
          : i->price_weight || i->quality_weight) ||
      awarded != (t->quote != 0) || awarded != (t->trade != 0) ||
      t->trade > (uint64_t)last_trade || (awarded && t->quotes_n == 0) ||
      (end == DECIDED_NO_QUOTES && t->quotes_n != 0))
    return imx_rbuf_fail(in, "a decided tender is out of range");
  int winner_found = 0;
  for (uint32_t k = 0; k < t->quotes_n; k++) {
    decided_quote *q = &t->quotes[k];
    q->quote = imx_rbuf_int(in, 8);
    q->cc = (uint32_t)imx_rbuf_int(in, 4);
    q->price_minor = (int64_t)imx_rbuf_int(in, 8);
    q->score = (int64_t)imx_rbuf_int(in, 8);
    q->ratings = (int64_t)imx_rbuf_int(in, 8);
    q->stars_sum = (int64_t)imx_rbuf_int(in, 8);
    q->ratings_recent = (int64_t)imx_rbuf_int(in, 8);
    q->stars_sum_recent = (int64_t)imx_rbuf_int(in, 8);
    if (in->why) return -1;
    if (!quote_ok(q, ccs_n) || q->price_minor > i->ceiling_minor ||
        (k > 0 && q->quote <= t->quotes[k - 1].quote))
      return imx_rbuf_fail(in, "a decided tender's quote is out of range");
    winner_found |= q->quote == t->quote;
  }
  if (awarded && !winner_found)
    return imx_rbuf_fail(in, "a decided tender's winner is not among its quotes");
  i->quotes = t->quotes_n;
  return 0;
}

int decided_snap_read(decided_ring *d, imx_rbuf *in, uint32_t ccs_n, uint32_t services_n,
                      int64_t last_trade) {
  IMX_ASSERT(d->slots != NULL);
  uint32_t n = (uint32_t)imx_rbuf_int(in, 4);
  if (in->why) return -1;
  if (n > IMX_TENDERS_DECIDED_KEPT)
    return imx_rbuf_fail(in, "more decided tenders than the core keeps");
  d->head = d->n = 0;
  for (uint32_t k = 0; k < n; k++) {
    uint64_t id = imx_rbuf_int(in, 8);
    if (in->why) return -1;
    if (id == 0 || id > IMX_ID_MAX)
      return imx_rbuf_fail(in, "a decided tender's id is out of range");
    if (read_one(decided_add(d, id), in, ccs_n, services_n, last_trade) != 0) return -1;
  }
  return 0;
}
