/*
** decided.h -- the tenders that ended, as tender.get shows them afterwards.
**
** When a tender ends (awarded, lapsed, cancelled) the engine forgets it;
** the core keeps what explains the end: the tender, how it ended, and each
** quote that stood at the end with its price, its score and its
** provider's reputation as they were at that moment (a `score` tender's
** award is explained by exactly the figures it was decided on). A ring of
** the IMX_TENDERS_DECIDED_KEPT newest, in the order they ended; the core's
** snapshot carries it and a replay of the journal builds the same records,
** as the engine ends the same tenders at the same commands.
*/
#ifndef IMX_DECIDED_H
#define IMX_DECIDED_H

#include <stdint.h>

#include "imx_base.h"
#include "imx_engine.h"

/* How a tender ended. PENDING: its quotes are being released, the event
** that says why comes next (lapsed, cancelled). */
typedef enum decided_end {
  DECIDED_PENDING = 0,
  DECIDED_AWARDED = 1,
  DECIDED_NO_AWARD = 2,  /* lapsed: a `choose` tender without an award    */
  DECIDED_NO_QUOTES = 3, /* lapsed: a `lowest`/`score` tender, no quote     */
  DECIDED_CANCELLED = 4
} decided_end;

typedef struct decided_quote {
  uint64_t quote;
  uint32_t cc;              /* the provider                             */
  int64_t price_minor;
  int64_t score;            /* `score` tenders: at the end; else 0      */
  int64_t ratings, stars_sum, ratings_recent, stars_sum_recent;
} decided_quote;

typedef struct decided_tender {
  imx_tender_info info;     /* as it was at the end (quotes: quotes_n)  */
  decided_end end;
  int64_t time_ms;          /* when it ended                            */
  uint64_t quote, trade;    /* awarded: the winning quote, its trade    */
  uint32_t quotes_n;
  decided_quote quotes[IMX_QUOTES_MAX]; /* in arrival order             */
} decided_tender;

typedef struct decided_ring {
  decided_tender *slots;    /* IMX_TENDERS_DECIDED_KEPT                 */
  uint32_t head;            /* where the next one goes                  */
  uint32_t n;               /* kept                                     */
} decided_ring;

int decided_open(decided_ring *d);   /* 0, or -1: out of memory */
void decided_close(decided_ring *d);
/* A fresh record for tender_id, in place of the oldest when full. */
decided_tender *decided_add(decided_ring *d, uint64_t tender_id);
/* The newest record, or NULL. */
decided_tender *decided_newest(decided_ring *d);
/* The record of tender_id, or NULL (never ended, or too long ago). */
const decided_tender *decided_find(const decided_ring *d, uint64_t tender_id);

/* Snapshots: the records oldest first. read checks every field against
** the market (ccs_n, services_n) and the ids the engine gave so far. */
void decided_snap_write(const decided_ring *d, imx_wbuf *o);
int decided_snap_read(decided_ring *d, imx_rbuf *in, uint32_t ccs_n,
                      uint32_t services_n, int64_t last_trade);

#endif /* IMX_DECIDED_H */
