/*
** tender.c -- tenders (requests for quotes) for indivisible jobs.
**
** A receiver asks for a whole quantity of a service with a ceiling price
** and a deadline; providers quote one price per unit for the whole quantity.
** The receiver chooses how the tender is decided:
**
**   lowest  at the deadline (imx_engine_clock) or when the receiver awards
**           early, the lowest quote at or under the ceiling wins at its own
**           price -- ties go to the earliest quote -- and the other quotes
**           are released. A tender without a quote ends unfilled.
**   score   like lowest, but the quote with the highest score wins: the
**           buyer's weights (whole percent) of the quote's price below
**           the ceiling and of its provider's reputation for the service
**           at the award (quote_frac below; docs/matching.md). Ties go to
**           the earliest quote.
**   choose  the receiver awards any quote it likes before the deadline
**           (imx_engine_tender_award_quote); at the deadline a tender that
**           was not awarded lapses: every quote and the budget released.
**
** A provider may withdraw its quote until the award; the quotes behind it
** move up, so the quotes of a tender always stand in arrival order. With
** risk on, the tender reserves qty x ceiling of the receiver's budget and
** each quote qty units of its provider's capacity.
**
** Tenders live in a fixed pool with a free list, found by id through the
** same kind of index as orders, and chained in the order they opened so the
** deadline sweep is deterministic. Quotes are stored inline: at most
** IMX_QUOTES_MAX per tender, an explicit limit rather than an allocation.
** A quote is found by id through a second index over quote slots (tender
** slot x IMX_QUOTES_MAX + its position), whose keys live in quote_keys[],
** a copy of each standing quote's id kept beside the tenders.
*/
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

#define TENDERS_DEFAULT 1024u

int tender_init(imx_engine *e, uint32_t tenders_max) {
  e->tenders_max = tenders_max ? tenders_max : TENDERS_DEFAULT;
  if (e->tenders_max > IMX_TENDERS_MAX) return -1;
  e->tenders = eng_alloc(e, e->tenders_max, sizeof(tender));
  if (e->tenders == NULL) return -1;
  for (uint32_t i = 0; i < e->tenders_max; i++)
    e->tenders[i].next = i + 1 < e->tenders_max ? i + 1 : NIL;
  e->tender_free = 0;
  e->tender_head = e->tender_tail = NIL;
  e->tender_id_next = 1;
  e->quote_id_next = 1;
  uint32_t quotes_max = e->tenders_max * IMX_QUOTES_MAX;
  e->quote_keys = eng_alloc(e, quotes_max, sizeof(uint64_t));
  if (e->quote_keys == NULL) return -1;
  if (idx_init(&e->quote_index, e->quote_keys, sizeof(uint64_t), 0,
               sizeof(uint64_t), quotes_max, &e->memory_bytes) != 0)
    return -1;
  return idx_init(&e->tender_index, e->tenders, sizeof(tender),
                  offsetof(tender, id), sizeof(uint64_t),
                  e->tenders_max,
                  &e->memory_bytes);
}

void tender_free(imx_engine *e) {
  idx_free(&e->tender_index);
  idx_free(&e->quote_index);
  free(e->quote_keys);
  free(e->tenders);
}

/* The quote slot of a tender's i-th quote. */
static uint32_t quote_slot(const imx_engine *e, const tender *t, uint32_t i) {
  IMX_ASSERT(i < IMX_QUOTES_MAX && t >= e->tenders &&
             t < e->tenders + e->tenders_max);
  return (uint32_t)(t - e->tenders) * IMX_QUOTES_MAX + i;
}

/* --------------------------------------------------------------- scores */

/* A quote's exact score, num / den, with C the ceiling, p the price, wp and
** wq the weights, R ratings and S stars summed (R >= ratings_min: rated):
**   wp (C - p) / C + wq S / (5 R)  =  (wp (C - p) 5R + wq S C) / (5 R C)
** and, unrated (the quality share 0), (wp (C - p)) / C. Bounds: C <= 1e9,
** R < 2^32, S <= 5R, weights <= 100, so num < 2^81 and den < 2^65: both
** fit in unsigned 128 bits, and a cross product of the two below 2^146
** would not, so comparisons reduce first (frac_less). */
typedef struct frac {
  unsigned __int128 num, den;
} frac;

static frac quote_frac(const imx_engine *e, const tender *t, const quote *q) {
  IMX_ASSERT(t->decide == IMX_DECIDE_SCORE && q->price_minor <= t->ceiling_minor);
  unsigned __int128 c = (unsigned __int128)t->ceiling_minor;
  unsigned __int128 below = (unsigned __int128)(t->ceiling_minor - q->price_minor);
  const reputation *r = rep_find(e, q->cc, t->service);
  if (r == NULL || r->ratings == 0 || r->ratings < e->ratings_min)
    return (frac){t->price_weight * below, c};
  unsigned __int128 five_r = 5 * (unsigned __int128)r->ratings;
  return (frac){t->price_weight * below * five_r + t->quality_weight * r->stars_sum * c,
                five_r * c};
}

/* The reported score: floor(score x 1000), 0..IMX_SCORE_MAX. */
static int64_t frac_points(frac f) {
  unsigned __int128 v = f.num * 1000 / f.den;
  IMX_ASSERT(v <= IMX_SCORE_MAX);
  return (int64_t)v;
}

/* a < b, exactly: compares the whole parts, then the remainders as
** fractions of their denominators by continued fractions (each step
** swaps the roles: r1/d1 < r2/d2 <=> d2/r2 < d1/r1), so no product of
** two 128-bit numbers is ever formed. Bounded: Euclid's steps. */
static int frac_less(frac a, frac b) {
  int flip = 0;
  for (int steps = 0; steps < 400; steps++) {
    unsigned __int128 qa = a.num / a.den, qb = b.num / b.den;
    if (qa != qb) return (qa < qb) != flip;
    unsigned __int128 ra = a.num % a.den, rb = b.num % b.den;
    if (ra == 0 || rb == 0) {
      if (ra == rb) return 0;       /* equal */
      return (ra == 0) != flip;     /* a's remainder 0: a smaller */
    }
    a = (frac){a.den, ra};
    b = (frac){b.den, rb};
    flip = !flip;
  }
  IMX_ASSERT(0 && "frac_less did not converge");
  return 0;
}

/* The highest score, the earliest among equals. */
static const quote *best_score(const imx_engine *e, const tender *t) {
  const quote *best = NULL;
  frac bf = {0, 1};
  for (uint32_t i = 0; i < t->quotes_n; i++) {
    frac f = quote_frac(e, t, &t->quotes[i]);
    if (best == NULL || frac_less(bf, f)) {
      best = &t->quotes[i];
      bf = f;
    }
  }
  return best;
}

static int64_t quote_score(const imx_engine *e, const tender *t, const quote *q) {
  return t->decide == IMX_DECIDE_SCORE ? frac_points(quote_frac(e, t, q)) : 0;
}

/* --------------------------------------------------------------- events */

static void ev_tender(imx_event *ev, imx_event_type type, const tender *t) {
  eng_event_start(ev, type);
  ev->service = t->service;
  ev->tender_id = t->id;
  ev->cc = t->cc;
  ev->qty = t->qty;
}

static void emit_quote(imx_engine *e, imx_event_type type, const tender *t,
                       const quote *q) {
  imx_event ev;
  ev_tender(&ev, type, t);
  ev.quote_id = q->id;
  ev.cc = q->cc;
  ev.price_minor = q->price_minor;
  if (type == IMX_EV_QUOTE_RELEASED) ev.score = quote_score(e, t, q);
  eng_emit(e, &ev);
}

static imx_status reject_quote(imx_engine *e, uint64_t tender_id,
                               uint64_t quote_id, imx_status why,
                               int64_t available) {
  imx_event ev;
  eng_event_start(&ev, IMX_EV_REJECTED);
  ev.tender_id = tender_id;
  ev.quote_id = quote_id;
  ev.status = why;
  ev.available = available;
  eng_emit(e, &ev);
  return why;
}

static imx_status reject_tender(imx_engine *e, uint64_t tender_id,
                                imx_status why, int64_t available) {
  return reject_quote(e, tender_id, 0, why, available);
}

/* ------------------------------------------------------------ lifecycle */

static tender *tender_by_id(imx_engine *e, uint64_t id) {
  uint32_t slot = idx_find(&e->tender_index, id);
  return slot == NIL ? NULL : &e->tenders[slot];
}

/* Releases every quote but `keep` (NULL: all) and the tender itself;
** QUOTE_RELEASED carries the quote's score (`score` tenders). */
static void close_tender(imx_engine *e, tender *t, const quote *keep) {
  uint32_t slot = (uint32_t)(t - e->tenders);
  IMX_ASSERT(t->live && idx_find(&e->tender_index, t->id) == slot);
  for (uint32_t i = 0; i < t->quotes_n; i++) {
    idx_del(&e->quote_index, quote_slot(e, t, i));
    if (&t->quotes[i] == keep) continue;
    risk_release_capacity(e, t->quotes[i].cc, t->service, t->qty);
    emit_quote(e, IMX_EV_QUOTE_RELEASED, t, &t->quotes[i]);
  }
  if (t->prev != NIL) e->tenders[t->prev].next = t->next;
  else e->tender_head = t->next;
  if (t->next != NIL) e->tenders[t->next].prev = t->prev;
  else e->tender_tail = t->prev;
  idx_del(&e->tender_index, slot);
  risk_tender_closed(e, t->cc);
  t->live = 0;
  t->next = e->tender_free;
  e->tender_free = slot;
  IMX_ASSERT(tender_by_id(e, t->id) == NULL);
}

/* The lowest quote, the earliest among equals (quotes are kept in arrival
** order, so the first minimum found). */
static const quote *best_quote(const tender *t) {
  const quote *best = NULL;
  for (uint32_t i = 0; i < t->quotes_n; i++)
    if (best == NULL || t->quotes[i].price_minor < best->price_minor)
      best = &t->quotes[i];
  return best;
}

/* The tender ends without a trade: every quote and the budget released,
** then `type` (LAPSED, CANCELLED) after the releases; UNFILLED (no quote
** to release) comes first, as it always has. */
static void end_unawarded(imx_engine *e, tender *t, imx_event_type type) {
  imx_event ev;
  risk_release_budget(e, t->cc, t->qty * t->ceiling_minor);
  ev_tender(&ev, type, t);
  if (type == IMX_EV_TENDER_UNFILLED) {
    IMX_ASSERT(t->quotes_n == 0);
    eng_emit(e, &ev);
    close_tender(e, t, NULL);
    return;
  }
  close_tender(e, t, NULL);
  eng_emit(e, &ev);
}

/* q wins at its price: TRADE, TENDER_AWARDED, the others released. */
static void award_to(imx_engine *e, tender *t, const quote *q) {
  IMX_ASSERT(t->live && q >= t->quotes && q < t->quotes + t->quotes_n);
  IMX_ASSERT(q->price_minor <= t->ceiling_minor);
  imx_event ev;
  risk_settle(e, t->cc, t->qty * t->ceiling_minor, q->cc, t->service, t->qty,
              q->price_minor);
  eng_event_start(&ev, IMX_EV_TRADE);
  ev.service = t->service;
  ev.trade_id = e->trade_id_next++;
  ev.buyer_cc = t->cc;
  ev.seller_cc = q->cc;
  ev.qty = t->qty;
  ev.price_minor = q->price_minor;
  ev.aggressor = IMX_NO_SIDE;
  ev.tender_id = t->id;
  ev.quote_id = q->id;
  eng_emit(e, &ev);
  uint64_t trade_id = ev.trade_id;
  ev_tender(&ev, IMX_EV_TENDER_AWARDED, t);
  ev.quote_id = q->id;
  ev.cc = q->cc;
  ev.price_minor = q->price_minor;
  ev.trade_id = trade_id;
  ev.score = quote_score(e, t, q);
  eng_emit(e, &ev);
  close_tender(e, t, q);
}

/* The rule of a `lowest` tender: its best quote wins, or it ends unfilled;
** of a `score` tender the same with the best score. */
static void award(imx_engine *e, tender *t) {
  IMX_ASSERT(t->live && t->quotes_n <= IMX_QUOTES_MAX);
  const quote *q = t->decide == IMX_DECIDE_SCORE ? best_score(e, t) : best_quote(t);
  if (q == NULL) end_unawarded(e, t, IMX_EV_TENDER_UNFILLED);
  else award_to(e, t, q);
}

/* ------------------------------------------------------------ interface */

static imx_status check_tender(const imx_engine *e, const imx_tender_new *t) {
  if (t->service >= e->services_n) return IMX_E_UNKNOWN_SERVICE;
  /* A ceiling is a limit: no market price, in any mode. A ceiling below 1
  ** goes in as -1 so that it fails as bad_price in the documented order
  ** (after bad_qty, before bad_tick and bad_lot). */
  int64_t ceiling = t->ceiling_minor < 1 ? -1 : t->ceiling_minor;
  imx_status s = eng_check_qty_price(&e->books[t->service], t->qty, ceiling);
  if (s != IMX_OK) return s;
  if (t->deadline_ms <= e->clock_ms) return IMX_E_BAD_DEADLINE;
  if (t->decide != IMX_DECIDE_LOWEST && t->decide != IMX_DECIDE_CHOOSE &&
      t->decide != IMX_DECIDE_SCORE)
    return IMX_E_BAD_CONFIG;
  if (t->decide == IMX_DECIDE_SCORE
          ? t->price_weight > 100 || t->quality_weight > 100 ||
                t->price_weight + t->quality_weight != 100
          : t->price_weight != 0 || t->quality_weight != 0)
    return IMX_E_BAD_WEIGHTS;
  if (e->tender_free == NIL) return IMX_E_TENDERS_FULL;
  return IMX_OK;
}

imx_status imx_engine_tender_new(imx_engine *e, const imx_tender_new *in,
                                 uint64_t *tender_id_out) {
  IMX_ASSERT(e != NULL && in != NULL);
  imx_status s = check_tender(e, in);
  int64_t available = 0;
  if (s == IMX_OK) s = risk_check_tender(e, in, &available); /* reserves */
  if (s != IMX_OK) return reject_tender(e, 0, s, available);
  uint32_t slot = e->tender_free;
  tender *t = &e->tenders[slot];
  e->tender_free = t->next;
  memset(t, 0, sizeof *t);
  t->id = e->tender_id_next++;
  t->service = in->service;
  t->cc = in->cc;
  t->qty = in->qty;
  t->ceiling_minor = in->ceiling_minor;
  t->deadline_ms = in->deadline_ms;
  t->decide = in->decide;
  t->price_weight = in->price_weight;
  t->quality_weight = in->quality_weight;
  t->live = 1;
  t->next = NIL;
  t->prev = e->tender_tail;
  if (e->tender_tail != NIL) e->tenders[e->tender_tail].next = slot;
  else e->tender_head = slot;
  e->tender_tail = slot;
  idx_put(&e->tender_index, slot);
  IMX_ASSERT(tender_by_id(e, t->id) == t && t->qty > 0);
  if (tender_id_out) *tender_id_out = t->id;
  imx_event ev;
  ev_tender(&ev, IMX_EV_TENDER_OPENED, t);
  ev.price_minor = t->ceiling_minor;
  ev.deadline_ms = t->deadline_ms;
  ev.decide = t->decide;
  ev.price_weight = t->price_weight;
  ev.quality_weight = t->quality_weight;
  eng_emit(e, &ev);
  return IMX_OK;
}

static imx_status check_quote(const imx_engine *e, const tender *t, uint32_t cc,
                              int64_t price_minor) {
  imx_status s = eng_check_qty_price(&e->books[t->service], t->qty,
                                     price_minor);
  if (s != IMX_OK) return s;
  if (price_minor == IMX_PRICE_MARKET) return IMX_E_BAD_PRICE;
  if (price_minor > t->ceiling_minor) return IMX_E_ABOVE_CEILING;
  if (cc == t->cc) return IMX_E_SELF_TRADE;
  for (uint32_t i = 0; i < t->quotes_n; i++)
    if (t->quotes[i].cc == cc) return IMX_E_ALREADY_QUOTED;
  if (t->quotes_n == IMX_QUOTES_MAX) return IMX_E_QUOTES_FULL;
  return IMX_OK;
}

imx_status imx_engine_tender_quote(imx_engine *e, uint64_t tender_id,
                                   uint32_t cc, int64_t price_minor,
                                   uint64_t *quote_id_out) {
  IMX_ASSERT(e != NULL);
  tender *t = tender_by_id(e, tender_id);
  if (t == NULL) return reject_tender(e, tender_id, IMX_E_UNKNOWN_TENDER, 0);
  imx_status s = check_quote(e, t, cc, price_minor);
  int64_t available = 0;
  if (s == IMX_OK)
    s = risk_reserve_capacity(e, cc, t->service, t->qty, &available);
  if (s != IMX_OK) return reject_tender(e, tender_id, s, available);
  IMX_ASSERT(t->quotes_n < IMX_QUOTES_MAX && price_minor <= t->ceiling_minor);
  uint32_t qslot = quote_slot(e, t, t->quotes_n);
  quote *q = &t->quotes[t->quotes_n++];
  q->id = e->quote_id_next++;
  q->cc = cc;
  q->price_minor = price_minor;
  e->quote_keys[qslot] = q->id;
  idx_put(&e->quote_index, qslot);
  if (quote_id_out) *quote_id_out = q->id;
  emit_quote(e, IMX_EV_QUOTE_ACCEPTED, t, q);
  return IMX_OK;
}

imx_status imx_engine_tender_award(imx_engine *e, uint64_t tender_id) {
  IMX_ASSERT(e != NULL);
  tender *t = tender_by_id(e, tender_id);
  if (t == NULL) return reject_tender(e, tender_id, IMX_E_UNKNOWN_TENDER, 0);
  award(e, t);
  return IMX_OK;
}

imx_status imx_engine_tender_award_quote(imx_engine *e, uint64_t tender_id,
                                         uint64_t quote_id) {
  IMX_ASSERT(e != NULL);
  tender *t = tender_by_id(e, tender_id);
  if (t == NULL)
    return reject_quote(e, tender_id, quote_id, IMX_E_UNKNOWN_TENDER, 0);
  uint32_t slot = idx_find(&e->quote_index, quote_id);
  uint32_t first = quote_slot(e, t, 0);
  if (slot == NIL || slot < first || slot >= first + t->quotes_n)
    return reject_quote(e, tender_id, quote_id, IMX_E_UNKNOWN_QUOTE, 0);
  if (t->decide != IMX_DECIDE_CHOOSE)
    return reject_quote(e, tender_id, quote_id, IMX_E_WRONG_DECIDE, 0);
  const quote *q = &t->quotes[slot - first];
  IMX_ASSERT(q->id == quote_id);
  award_to(e, t, q);
  return IMX_OK;
}

imx_status imx_engine_tender_cancel(imx_engine *e, uint64_t tender_id) {
  IMX_ASSERT(e != NULL);
  tender *t = tender_by_id(e, tender_id);
  if (t == NULL) return reject_tender(e, tender_id, IMX_E_UNKNOWN_TENDER, 0);
  end_unawarded(e, t, IMX_EV_TENDER_CANCELLED);
  return IMX_OK;
}

imx_status imx_engine_quote_withdraw(imx_engine *e, uint64_t quote_id) {
  IMX_ASSERT(e != NULL);
  uint32_t slot = idx_find(&e->quote_index, quote_id);
  if (slot == NIL) return reject_quote(e, 0, quote_id, IMX_E_UNKNOWN_QUOTE, 0);
  tender *t = &e->tenders[slot / IMX_QUOTES_MAX];
  uint32_t i = slot % IMX_QUOTES_MAX;
  IMX_ASSERT(t->live && i < t->quotes_n && t->quotes[i].id == quote_id);
  quote q = t->quotes[i];
  idx_del(&e->quote_index, slot);
  /* The quotes behind it move up one place, keeping their arrival order. */
  for (uint32_t j = i + 1; j < t->quotes_n; j++) {
    t->quotes[j - 1] = t->quotes[j];
    e->quote_keys[slot + j - i - 1] = e->quote_keys[slot + j - i];
    idx_set(&e->quote_index, slot + j - i, slot + j - i - 1);
  }
  t->quotes_n--;
  risk_release_capacity(e, q.cc, t->service, t->qty);
  emit_quote(e, IMX_EV_QUOTE_WITHDRAWN, t, &q);
  IMX_ASSERT(idx_find(&e->quote_index, quote_id) == NIL);
  return IMX_OK;
}

imx_status imx_engine_clock(imx_engine *e, int64_t now_ms) {
  IMX_ASSERT(e != NULL);
  if (now_ms <= e->clock_ms) return IMX_OK;
  e->clock_ms = now_ms;
  uint32_t open_before = e->tender_index.n;
  /* Bounded: each pass closes one tender or stops. */
  uint32_t slot = e->tender_head;
  while (slot != NIL) {
    uint32_t next = e->tenders[slot].next;
    tender *t = &e->tenders[slot];
    if (t->deadline_ms <= now_ms) {
      if (t->decide == IMX_DECIDE_CHOOSE) end_unawarded(e, t, IMX_EV_TENDER_LAPSED);
      else award(e, t);
    }
    slot = next;
  }
  IMX_ASSERT(e->tender_index.n <= open_before);
  return IMX_OK;
}

int tender_check(const imx_engine *e) {
  uint32_t n = 0, prev = NIL, quotes = 0;
  for (uint32_t s = e->tender_head; s != NIL; s = e->tenders[s].next) {
    const tender *t = &e->tenders[s];
    if (!t->live || t->prev != prev || ++n > e->tenders_max) return 40;
    if (idx_find(&e->tender_index, t->id) != s) return 41;
    if (t->quotes_n > IMX_QUOTES_MAX) return 42;
    for (uint32_t q = 0; q < t->quotes_n; q++) {
      if (t->quotes[q].price_minor > t->ceiling_minor ||
          t->quotes[q].cc == t->cc)
        return 43;
      uint32_t qs = quote_slot(e, t, q);
      if (e->quote_keys[qs] != t->quotes[q].id ||
          idx_find(&e->quote_index, t->quotes[q].id) != qs ||
          (q > 0 && t->quotes[q].id <= t->quotes[q - 1].id))
        return 46;
    }
    quotes += t->quotes_n;
    prev = s;
  }
  if (prev != e->tender_tail || n != e->tender_index.n) return 44;
  if (quotes != e->quote_index.n || idx_check(&e->quote_index)) return 47;
  return idx_check(&e->tender_index) ? 45 : 0;
}

imx_status imx_engine_tender_get(const imx_engine *e, uint64_t tender_id,
                                 imx_tender_info *out) {
  IMX_ASSERT(out != NULL);
  uint32_t slot = idx_find(&e->tender_index, tender_id);
  if (slot == NIL) return IMX_E_UNKNOWN_TENDER;
  const tender *t = &e->tenders[slot];
  IMX_ASSERT(t->live && t->id == tender_id && t->quotes_n <= IMX_QUOTES_MAX);
  *out = (imx_tender_info){.tender_id = t->id, .service = t->service, .cc = t->cc,
                           .qty = t->qty, .ceiling_minor = t->ceiling_minor,
                           .deadline_ms = t->deadline_ms, .quotes = t->quotes_n,
                           .decide = t->decide, .price_weight = t->price_weight,
                           .quality_weight = t->quality_weight};
  return IMX_OK;
}

/* The slot a tender leaves goes to the head of the free list (close_tender)
** with its fields intact, so during the TENDER_LAPSED or TENDER_CANCELLED
** event that follows, the closed tender is the free list's head. */
imx_status imx_engine_tender_closing(const imx_engine *e, uint64_t tender_id,
                                     imx_tender_info *out) {
  IMX_ASSERT(e != NULL && out != NULL);
  uint32_t slot = e->tender_free;
  if (slot == NIL || tender_id == 0 || idx_find(&e->tender_index, tender_id) != NIL)
    return IMX_E_UNKNOWN_TENDER;
  const tender *t = &e->tenders[slot];
  if (t->live || t->id != tender_id) return IMX_E_UNKNOWN_TENDER;
  IMX_ASSERT(t->quotes_n <= IMX_QUOTES_MAX);
  *out = (imx_tender_info){.tender_id = t->id, .service = t->service, .cc = t->cc,
                           .qty = t->qty, .ceiling_minor = t->ceiling_minor,
                           .deadline_ms = t->deadline_ms, .quotes = t->quotes_n,
                           .decide = t->decide, .price_weight = t->price_weight,
                           .quality_weight = t->quality_weight};
  return IMX_OK;
}

uint32_t imx_engine_tenders(const imx_engine *e, uint64_t after_id,
                            imx_tender_info *out, uint32_t n) {
  IMX_ASSERT(e != NULL && (out != NULL || n == 0));
  uint32_t k = 0;
  /* Open tenders are chained in the order they opened, which is id order. */
  for (uint32_t s = e->tender_head; s != NIL && k < n; s = e->tenders[s].next) {
    if (e->tenders[s].id <= after_id) continue;
    imx_status st = imx_engine_tender_get(e, e->tenders[s].id, &out[k++]);
    IMX_ASSERT(st == IMX_OK);
  }
  IMX_ASSERT(k <= n);
  return k;
}

uint32_t imx_engine_tender_quotes(const imx_engine *e, uint64_t tender_id,
                                  imx_quote_info *out, uint32_t n) {
  IMX_ASSERT(e != NULL && (out != NULL || n == 0));
  uint32_t slot = idx_find(&e->tender_index, tender_id);
  if (slot == NIL) return 0;
  const tender *t = &e->tenders[slot];
  uint32_t k = 0;
  for (; k < t->quotes_n && k < n; k++)
    out[k] = (imx_quote_info){.quote_id = t->quotes[k].id, .tender_id = t->id,
                              .cc = t->quotes[k].cc,
                              .price_minor = t->quotes[k].price_minor,
                              .score = quote_score(e, t, &t->quotes[k])};
  return k;
}

imx_status imx_engine_quote_get(const imx_engine *e, uint64_t quote_id,
                                imx_quote_info *out) {
  IMX_ASSERT(e != NULL && out != NULL);
  uint32_t slot = idx_find(&e->quote_index, quote_id);
  if (slot == NIL) return IMX_E_UNKNOWN_QUOTE;
  const tender *t = &e->tenders[slot / IMX_QUOTES_MAX];
  const quote *q = &t->quotes[slot % IMX_QUOTES_MAX];
  IMX_ASSERT(t->live && q->id == quote_id);
  *out = (imx_quote_info){.quote_id = q->id, .tender_id = t->id, .cc = q->cc,
                          .price_minor = q->price_minor,
                          .score = quote_score(e, t, q)};
  return IMX_OK;
}

/* ------------------------------------------------------------ snapshots */

/* Open tenders in the order they opened, each with its quotes in arrival
** order (the order that breaks ties). */
void tender_snap_write(const imx_engine *e, snap_out *o) {
  snap_u32(o, e->tender_index.n);
  for (uint32_t s = e->tender_head; s != NIL; s = e->tenders[s].next) {
    const tender *t = &e->tenders[s];
    snap_u64(o, t->id);
    snap_u32(o, t->service);
    snap_u32(o, t->cc);
    snap_i64(o, t->qty);
    snap_i64(o, t->ceiling_minor);
    snap_i64(o, t->deadline_ms);
    snap_u32(o, (uint32_t)t->decide);
    snap_u32(o, t->price_weight);
    snap_u32(o, t->quality_weight);
    snap_u32(o, t->quotes_n);
    for (uint32_t q = 0; q < t->quotes_n; q++) {
      snap_u64(o, t->quotes[q].id);
      snap_u32(o, t->quotes[q].cc);
      snap_i64(o, t->quotes[q].price_minor);
    }
  }
}

static int tender_read_one(imx_engine *e, snap_in *in, tender *t) {
  memset(t, 0, sizeof *t);
  t->id = snap_get_u64(in);
  t->service = snap_get_u32(in);
  t->cc = snap_get_u32(in);
  t->qty = snap_get_i64(in);
  t->ceiling_minor = snap_get_i64(in);
  t->deadline_ms = snap_get_i64(in);
  uint32_t decide = snap_get_u32(in);
  t->decide = decide == IMX_DECIDE_CHOOSE  ? IMX_DECIDE_CHOOSE
              : decide == IMX_DECIDE_SCORE ? IMX_DECIDE_SCORE
                                           : IMX_DECIDE_LOWEST;
  t->price_weight = snap_get_u32(in);
  t->quality_weight = snap_get_u32(in);
  t->quotes_n = snap_get_u32(in);
  if (in->why) return -1;
  if (decide > IMX_DECIDE_SCORE) return snap_fail(in, "a tender's decide is out of range");
  if (decide == IMX_DECIDE_SCORE
          ? t->price_weight > 100 || t->price_weight + t->quality_weight != 100
          : t->price_weight != 0 || t->quality_weight != 0)
    return snap_fail(in, "a tender's weights are out of range");
  if (t->id < 1 || t->id >= e->tender_id_next || t->service >= e->services_n ||
      (e->risk && t->cc >= e->ccs_max) || t->qty < 1 || t->qty > IMX_QTY_MAX ||
      t->ceiling_minor < 1 || t->ceiling_minor > IMX_PRICE_MAX_MINOR ||
      t->quotes_n > IMX_QUOTES_MAX)
    return snap_fail(in, "a tender is out of range");
  if (idx_find(&e->tender_index, t->id) != NIL)
    return snap_fail(in, "a tender is in the snapshot twice");
  for (uint32_t q = 0; q < t->quotes_n; q++) {
    quote *qt = &t->quotes[q];
    qt->id = snap_get_u64(in);
    qt->cc = snap_get_u32(in);
    qt->price_minor = snap_get_i64(in);
    if (in->why) return -1;
    if (qt->id < 1 || qt->id >= e->quote_id_next || qt->price_minor < 1 ||
        qt->price_minor > t->ceiling_minor || (e->risk && qt->cc >= e->ccs_max))
      return snap_fail(in, "a quote is out of range");
    if ((q > 0 && qt->id <= t->quotes[q - 1].id) ||
        idx_find(&e->quote_index, qt->id) != NIL)
      return snap_fail(in, "a quote is in the snapshot twice or out of order");
  }
  return 0;
}

/* The quotes of a tender read back into the quote index. */
static void quotes_index(imx_engine *e, const tender *t) {
  for (uint32_t q = 0; q < t->quotes_n; q++) {
    uint32_t qs = quote_slot(e, t, q);
    e->quote_keys[qs] = t->quotes[q].id;
    idx_put(&e->quote_index, qs);
  }
}

int tender_snap_read(imx_engine *e, snap_in *in) {
  uint32_t n = snap_get_u32(in);
  if (in->why) return -1;
  if (n > e->tenders_max) return snap_fail(in, "more tenders than this market holds");
  for (uint32_t i = 0; i < n; i++) {
    uint32_t slot = e->tender_free;
    IMX_ASSERT(slot != NIL); /* n <= tenders_max, none open before */
    tender *t = &e->tenders[slot];
    uint32_t free_next = t->next;
    if (tender_read_one(e, in, t) != 0) {
      t->next = free_next; /* still free */
      return -1;
    }
    e->tender_free = free_next;
    t->live = 1;
    t->next = NIL;
    t->prev = e->tender_tail;
    if (e->tender_tail != NIL) e->tenders[e->tender_tail].next = slot;
    else e->tender_head = slot;
    e->tender_tail = slot;
    idx_put(&e->tender_index, slot);
    quotes_index(e, t);
  }
  return 0;
}
