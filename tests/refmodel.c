/*
** refmodel.c -- the reference model: docs/matching.md, read literally.
**
** Every order ever accepted lives in one array indexed by id - 1, so an id
** lookup is a subscript; every tender likewise. Each book side is a plain
** array of indices into the orders, kept sorted best first by (price,
** arrival sequence), a market order (auction books) before every limit. An
** order that arrives or loses priority takes the next sequence number, so it
** always sorts to the back of its price level. Inserting and removing are a
** binary search and a memmove; the matching walk goes down the opposite
** array from the front.
**
** The rest is brute force. A call auction evaluates D(p) and S(p) at every
** candidate price by summing over every order of the book, and allocates by
** walking each side in priority order. Budgets and capacities keep only what
** cannot be recomputed (the budget, the capacity, spent, earned and sold);
** what is reserved is summed from the open orders and tenders each time it
** is asked for, so a reservation can never be forgotten or released twice.
** Nothing here is clever on purpose: when the engine and the model
** disagree, the model should be the one that is easy to believe.
*/
#include "refmodel.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

/* The engine's defaults for the limits of imx_engine_config. */
#define REF_CCS_DEFAULT 1024u
#define REF_TENDERS_DEFAULT 1024u

typedef struct ref_order {
  uint64_t id;
  uint64_t seq;  /* arrival in its book; larger is later */
  uint32_t service;
  uint32_t cc;
  imx_side side;
  imx_tif tif;
  int aon;
  int min_stars; /* a bid's, in tenths of a star; 0: none */
  int allow_unrated;
  int open;      /* 1 while it rests in a book */
  int excluded;  /* 1 while a call leaves it out (all-or-none step) */
  int64_t qty_original;
  int64_t qty_open;
  int64_t qty_filled;
  int64_t price_minor; /* IMX_PRICE_MARKET: a market order */
} ref_order;

typedef struct ref_side {
  uint32_t *slots; /* indices into ref_model.orders, best first */
  size_t len, cap;
  uint32_t levels; /* distinct prices among the slots */
} ref_side;

typedef struct ref_book {
  int64_t tick_minor;
  int64_t lot;
  int divisible;
  uint32_t levels_max; /* resolved: never 0 */
  imx_mode mode;
  int64_t price_cap_minor;  /* resolved: never 0 */
  int64_t last_price_minor; /* auction: the last clearing price, or 0 */
  ref_side sides[2];        /* indexed by imx_side */
} ref_book;

/* A declared cost centre (risk on). Its reservation is not kept here. */
typedef struct ref_account {
  uint32_t cc;
  int64_t budget_minor;
  int64_t spent_minor;
  int64_t earned_minor;
} ref_account;

/* A declared capacity of one provider for one service (risk on). */
typedef struct ref_capacity_row {
  uint32_t cc;
  uint32_t service;
  int64_t capacity;
  int64_t sold;
} ref_capacity_row;

/* A provider's all-time ratings of one service, as last set. */
typedef struct ref_reputation {
  uint32_t cc;
  uint32_t service;
  uint32_t ratings;
  uint64_t stars_sum;
} ref_reputation;

typedef struct ref_quote {
  uint64_t id;
  uint32_t cc;
  int64_t price_minor;
} ref_quote;

typedef struct ref_tender {
  uint64_t id;
  uint32_t service;
  uint32_t cc; /* the receiver */
  int open;
  int64_t qty;
  int64_t ceiling_minor;
  int64_t deadline_ms;
  imx_decide decide;
  uint32_t price_weight, quality_weight; /* score */
  uint32_t quotes_n;
  ref_quote quotes[IMX_QUOTES_MAX]; /* in arrival order */
} ref_tender;

struct ref_model {
  imx_event_fn on_event;
  void *ctx;
  int risk;
  uint32_t ccs_max;           /* resolved */
  uint32_t tenders_max;       /* resolved */
  uint32_t orders_per_cc_max; /* 0: no limit */
  uint32_t ratings_min;       /* resolved */
  ref_reputation *reputations; /* in the order first set */
  size_t reputations_len, reputations_cap;
  ref_book *books; /* indexed by service id */
  size_t books_len, books_cap;
  ref_order *orders; /* every accepted order, indexed by id - 1 */
  size_t orders_len, orders_cap;
  uint64_t trades; /* trade ids handed out so far */
  uint64_t seq;    /* book arrivals so far */
  uint32_t open;   /* orders resting in all books */
  ref_account *accounts;
  size_t accounts_len, accounts_cap;
  ref_capacity_row *capacities;
  size_t capacities_len, capacities_cap;
  ref_tender *tenders; /* every opened tender, indexed by id - 1 */
  size_t tenders_len, tenders_cap;
  uint64_t quotes; /* quote ids handed out so far */
  int64_t clock_ms;
};

/* ---- small helpers ------------------------------------------------------ */

/* Makes room for `need` elements. The model aborts on allocation failure
** rather than report it: it only runs in tests and benchmarks. */
static void *grow(void *p, size_t *cap, size_t need, size_t elem_bytes) {
  if (need <= *cap) return p;
  size_t cap_new = *cap ? *cap : 16;
  while (cap_new < need) cap_new *= 2;
  void *q = realloc(p, cap_new * elem_bytes);
  if (q == NULL) abort();
  *cap = cap_new;
  return q;
}

static int64_t min_i64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t abs_i64(int64_t a) { return a < 0 ? -a : a; }

static imx_side opposite(imx_side side) {
  return side == IMX_BID ? IMX_OFFER : IMX_BID;
}

/* Where a price sorts among the resting orders of `side`: lower is better.
** A market order is better than every limit. */
static int64_t rank(imx_side side, int64_t price_minor) {
  if (price_minor == IMX_PRICE_MARKET) return INT64_MIN;
  return side == IMX_BID ? -price_minor : price_minor;
}

/* 1 if, for resting orders of `side`, price a has priority over price b. */
static int price_better(imx_side side, int64_t a, int64_t b) {
  return rank(side, a) < rank(side, b);
}

/* 1 if an incoming order of `side` with limit `limit` may trade with a
** resting order at `resting` (continuous books: no market orders). */
static int crosses(imx_side side, int64_t limit, int64_t resting) {
  return side == IMX_BID ? resting <= limit : resting >= limit;
}

/* 1 if a is ahead of b in the queue of their (common) side. */
static int ahead(const ref_order *a, const ref_order *b) {
  assert(a->side == b->side);
  if (a->price_minor != b->price_minor)
    return price_better(a->side, a->price_minor, b->price_minor);
  return a->seq < b->seq;
}

static int could_rest(imx_tif tif) {
  return tif == IMX_TIF_GTC || tif == IMX_TIF_PERIOD;
}

static ref_book *book_get(const ref_model *m, uint32_t service) {
  return service < m->books_len ? &m->books[service] : NULL;
}

/* The open order with that id, or NULL. */
static ref_order *open_order(const ref_model *m, uint64_t id) {
  if (id == 0 || id > m->orders_len) return NULL;
  ref_order *o = &m->orders[id - 1];
  return o->open ? o : NULL;
}

/* The open tender with that id, or NULL. */
static ref_tender *open_tender(const ref_model *m, uint64_t id) {
  if (id == 0 || id > m->tenders_len) return NULL;
  ref_tender *t = &m->tenders[id - 1];
  return t->open ? t : NULL;
}
/* ---- a book side: a sorted array ---------------------------------------- */

static ref_order *at(const ref_model *m, const ref_side *s, size_t pos) {
  assert(pos < s->len);
  return &m->orders[s->slots[pos]];
}

/* First position whose order is not ahead of `key`: where key is, or where
** it belongs. */
static size_t side_position(const ref_model *m, const ref_side *s,
                            const ref_order *key) {
  size_t lo = 0, hi = s->len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (ahead(at(m, s, mid), key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/* 1 if some order of the side rests at exactly price_minor. */
static int side_has_price(const ref_model *m, const ref_side *s,
                          imx_side side, int64_t price_minor) {
  size_t lo = 0, hi = s->len;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (price_better(side, at(m, s, mid)->price_minor, price_minor))
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < s->len && at(m, s, lo)->price_minor == price_minor;
}

/* 1 if the order at pos is not alone at its price. Orders of one price are
** contiguous, so the neighbours tell. */
static int shares_level(const ref_model *m, const ref_side *s, size_t pos) {
  int64_t p = at(m, s, pos)->price_minor;
  return (pos > 0 && at(m, s, pos - 1)->price_minor == p) ||
         (pos + 1 < s->len && at(m, s, pos + 1)->price_minor == p);
}

static size_t side_find(const ref_model *m, const ref_side *s,
                        const ref_order *o) {
  size_t pos = side_position(m, s, o);
  assert(pos < s->len && at(m, s, pos) == o);
  return pos;
}

/* Rests o at the back of its price level. */
static void side_insert(ref_model *m, ref_side *s, ref_order *o) {
  assert(!o->open && o->qty_open > 0);
  o->seq = ++m->seq; /* newest, so it sorts after its whole level */
  size_t pos = side_position(m, s, o);
  int level_new = !side_has_price(m, s, o->side, o->price_minor);
  s->slots = grow(s->slots, &s->cap, s->len + 1, sizeof *s->slots);
  memmove(&s->slots[pos + 1], &s->slots[pos],
          (s->len - pos) * sizeof *s->slots);
  assert(o->id - 1 < UINT32_MAX);
  s->slots[pos] = (uint32_t)(o->id - 1);
  s->len++;
  s->levels += (uint32_t)level_new;
  o->open = 1;
  m->open++;
}

static void side_remove_at(ref_model *m, ref_side *s, size_t pos) {
  ref_order *o = at(m, s, pos);
  int level_gone = !shares_level(m, s, pos);
  memmove(&s->slots[pos], &s->slots[pos + 1],
          (s->len - pos - 1) * sizeof *s->slots);
  s->len--;
  assert(s->levels >= (uint32_t)level_gone);
  s->levels -= (uint32_t)level_gone;
  assert(o->open && m->open > 0);
  o->open = 0;
  m->open--;
}

/* ---- budgets and capacities: recomputed, never running totals ----------- */

/* The account of a declared cost centre, or NULL. */
static ref_account *account(const ref_model *m, uint32_t cc) {
  for (size_t i = 0; i < m->accounts_len; i++)
    if (m->accounts[i].cc == cc) return &m->accounts[i];
  return NULL;
}

/* The declared capacity of (cc, service), or NULL: none declared. */
static ref_capacity_row *capacity_row(const ref_model *m, uint32_t cc,
                                      uint32_t service) {
  for (size_t i = 0; i < m->capacities_len; i++) {
    ref_capacity_row *r = &m->capacities[i];
    if (r->cc == cc && r->service == service) return r;
  }
  return NULL;
}

/* What a bid holds per unit: its limit, or for a market bid the cap. */
static int64_t bid_limit(const ref_book *b, const ref_order *o) {
  assert(o->side == IMX_BID);
  return o->price_minor == IMX_PRICE_MARKET ? b->price_cap_minor
                                            : o->price_minor;
}

/* Money a cost centre's open bids and open tenders hold. */
static int64_t budget_reserved(const ref_model *m, uint32_t cc) {
  int64_t sum = 0;
  for (size_t k = 0; k < m->books_len; k++) {
    const ref_book *b = &m->books[k];
    const ref_side *s = &b->sides[IMX_BID];
    for (size_t pos = 0; pos < s->len; pos++) {
      const ref_order *o = at(m, s, pos);
      if (o->cc == cc) sum += o->qty_open * bid_limit(b, o);
    }
  }
  for (size_t i = 0; i < m->tenders_len; i++) {
    const ref_tender *t = &m->tenders[i];
    if (t->open && t->cc == cc) sum += t->qty * t->ceiling_minor;
  }
  return sum;
}

/* Units of a service a provider's open offers and quotes hold. */
static int64_t capacity_reserved(const ref_model *m, uint32_t cc,
                                 uint32_t service) {
  int64_t sum = 0;
  const ref_book *b = book_get(m, service);
  if (b != NULL) {
    const ref_side *s = &b->sides[IMX_OFFER];
    for (size_t pos = 0; pos < s->len; pos++) {
      const ref_order *o = at(m, s, pos);
      if (o->cc == cc) sum += o->qty_open;
    }
  }
  for (size_t i = 0; i < m->tenders_len; i++) {
    const ref_tender *t = &m->tenders[i];
    if (!t->open || t->service != service) continue;
    for (uint32_t q = 0; q < t->quotes_n; q++)
      if (t->quotes[q].cc == cc) sum += t->qty;
  }
  return sum;
}

/* 1 if the cost centre may trade: in range and declared. */
static int cc_known(const ref_model *m, uint32_t cc) {
  return cc < m->ccs_max && account(m, cc) != NULL;
}

/* budget - reserved - spent of a declared cost centre. */
static int64_t budget_left(const ref_model *m, uint32_t cc) {
  const ref_account *a = account(m, cc);
  assert(a != NULL);
  return a->budget_minor - budget_reserved(m, cc) - a->spent_minor;
}

/* capacity - reserved - sold; no declared capacity means none. */
static int64_t capacity_left(const ref_model *m, uint32_t cc,
                             uint32_t service) {
  const ref_capacity_row *r = capacity_row(m, cc, service);
  if (r == NULL) return 0;
  return r->capacity - capacity_reserved(m, cc, service) - r->sold;
}

/* A trade of qty at price: the buyer pays, the seller earns and sells. What
** the buyer's bid or tender reserved needs no release: it is recomputed. */
static void settle(ref_model *m, uint32_t buyer, uint32_t seller,
                   uint32_t service, int64_t qty, int64_t price_minor) {
  if (!m->risk) return;
  ref_account *b = account(m, buyer), *s = account(m, seller);
  ref_capacity_row *r = capacity_row(m, seller, service);
  assert(b != NULL && s != NULL && r != NULL);
  b->spent_minor += qty * price_minor;
  s->earned_minor += qty * price_minor;
  r->sold += qty;
}

/* Open orders of one cost centre across all books. */
static uint32_t orders_of(const ref_model *m, uint32_t cc) {
  uint32_t n = 0;
  for (size_t k = 0; k < m->books_len; k++)
    for (int side = IMX_BID; side <= IMX_OFFER; side++) {
      const ref_side *s = &m->books[k].sides[side];
      for (size_t pos = 0; pos < s->len; pos++) n += at(m, s, pos)->cc == cc;
    }
  return n;
}

/* The risk checks of a new order, after the book's own. */
static imx_status risk_check_new(const ref_model *m, const ref_book *b,
                                 const imx_order_new *o, int64_t *available) {
  if (!m->risk) return IMX_OK;
  if (!cc_known(m, o->cc)) return IMX_E_UNKNOWN_CC;
  if (m->orders_per_cc_max != 0 && orders_of(m, o->cc) >= m->orders_per_cc_max)
    return IMX_E_TOO_MANY_ORDERS;
  if (o->side == IMX_BID) {
    int64_t limit = o->price_minor == IMX_PRICE_MARKET ? b->price_cap_minor
                                                       : o->price_minor;
    int64_t left = budget_left(m, o->cc);
    if (o->qty * limit > left) {
      *available = left;
      return IMX_E_INSUFFICIENT_BUDGET;
    }
    return IMX_OK;
  }
  uint32_t service = (uint32_t)(b - m->books);
  int64_t left = capacity_left(m, o->cc, service);
  if (o->qty > left) {
    *available = left;
    return IMX_E_OVER_CAPACITY;
  }
  return IMX_OK;
}

/* The risk check of a modify: the new reservation must fit in what is left
** plus what the order holds now. */
static imx_status risk_check_modify(const ref_model *m, const ref_order *o,
                                    int64_t qty_open, int64_t price_minor,
                                    int64_t *available) {
  if (!m->risk) return IMX_OK;
  const ref_book *b = &m->books[o->service];
  if (o->side == IMX_BID) {
    int64_t limit_new = price_minor == IMX_PRICE_MARKET ? b->price_cap_minor
                                                        : price_minor;
    int64_t left = budget_left(m, o->cc);
    if (qty_open * limit_new > left + o->qty_open * bid_limit(b, o)) {
      *available = left;
      return IMX_E_INSUFFICIENT_BUDGET;
    }
    return IMX_OK;
  }
  int64_t left = capacity_left(m, o->cc, o->service);
  if (qty_open > left + o->qty_open) {
    *available = left;
    return IMX_E_OVER_CAPACITY;
  }
  return IMX_OK;
}

/* ---- events ------------------------------------------------------------ */

static void emit(const ref_model *m, const imx_event *ev) {
  if (m->on_event != NULL) m->on_event(m->ctx, ev);
}

static imx_status reject_quote(const ref_model *m, uint64_t tender_id,
                               uint64_t quote_id, imx_status status) {
  assert(status != IMX_OK);
  imx_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = IMX_EV_REJECTED;
  ev.tender_id = tender_id;
  ev.quote_id = quote_id;
  ev.status = status;
  emit(m, &ev);
  return status;
}

static imx_status reject_full(const ref_model *m, uint64_t order_id,
                              uint64_t tender_id, imx_status status,
                              int64_t available) {
  assert(status != IMX_OK);
  imx_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = IMX_EV_REJECTED;
  ev.order_id = order_id;
  ev.tender_id = tender_id;
  ev.status = status;
  ev.available = available;
  emit(m, &ev);
  return status;
}

static imx_status reject(const ref_model *m, uint64_t order_id,
                         imx_status status) {
  return reject_full(m, order_id, 0, status, 0);
}

static void emit_accepted(const ref_model *m, const ref_order *o) {
  imx_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = IMX_EV_ACCEPTED;
  ev.service = o->service;
  ev.order_id = o->id;
  ev.cc = o->cc;
  ev.side = o->side;
  ev.tif = o->tif;
  ev.aon = o->aon;
  ev.qty = o->qty_open;
  ev.price_minor = o->price_minor;
  emit(m, &ev);
}

/* CANCELLED (with a reason) or EXPIRED: the open qty leaves the market. */
static void emit_removed(const ref_model *m, imx_event_type type,
                         const ref_order *o, imx_cancel_reason reason) {
  assert(type == IMX_EV_CANCELLED || type == IMX_EV_EXPIRED);
  imx_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = type;
  ev.service = o->service;
  ev.order_id = o->id;
  ev.cc = o->cc;
  ev.side = o->side;
  ev.qty = o->qty_open;
  if (type == IMX_EV_CANCELLED) ev.reason = reason;
  emit(m, &ev);
}

static void emit_modified(const ref_model *m, const ref_order *o,
                          int priority_kept) {
  imx_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = IMX_EV_MODIFIED;
  ev.service = o->service;
  ev.order_id = o->id;
  ev.cc = o->cc;
  ev.side = o->side;
  ev.qty = o->qty_open;
  ev.price_minor = o->price_minor;
  ev.priority_kept = priority_kept;
  emit(m, &ev);
}

/* One trade of qty between two orders of one book at price_minor: the
** event, the fills and the money. */
static void trade_orders(ref_model *m, ref_order *buy, ref_order *sell,
                         int64_t qty, int64_t price_minor, imx_side aggressor) {
  assert(buy->side == IMX_BID && sell->side == IMX_OFFER);
  assert(qty > 0 && qty <= buy->qty_open && qty <= sell->qty_open);
  assert(buy->cc != sell->cc && buy->service == sell->service);
  imx_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = IMX_EV_TRADE;
  ev.service = buy->service;
  ev.trade_id = ++m->trades;
  ev.buy_order_id = buy->id;
  ev.sell_order_id = sell->id;
  ev.buyer_cc = buy->cc;
  ev.seller_cc = sell->cc;
  ev.qty = qty;
  ev.price_minor = price_minor;
  ev.aggressor = aggressor;
  buy->qty_open -= qty;
  buy->qty_filled += qty;
  sell->qty_open -= qty;
  sell->qty_filled += qty;
  settle(m, buy->cc, sell->cc, buy->service, qty, price_minor);
  emit(m, &ev);
}

/* A continuous trade between the incoming order and a resting one, at the
** resting order's price. */
static void trade(ref_model *m, ref_order *in, ref_order *rest, int64_t qty) {
  assert(in->side != rest->side);
  ref_order *buy = in->side == IMX_BID ? in : rest;
  ref_order *sell = in->side == IMX_BID ? rest : in;
  trade_orders(m, buy, sell, qty, rest->price_minor, in->side);
}
/* ---- matching ----------------------------------------------------------- */

/* ---- quality: min_stars ------------------------------------------------- */

static const ref_reputation *reputation_row(const ref_model *m, uint32_t cc,
                                            uint32_t service) {
  for (size_t i = 0; i < m->reputations_len; i++)
    if (m->reputations[i].cc == cc && m->reputations[i].service == service)
      return &m->reputations[i];
  return NULL;
}

/* 1 if the bid may trade with an offer of the provider `seller`: no
** min_stars; or the provider is unrated (fewer than ratings_min ratings)
** and the bid allows that; or its mean, sum / ratings, is at least
** min_stars / 10: sum * 10 >= min_stars * ratings, in integers. */
static int bid_accepts(const ref_model *m, const ref_order *bid,
                       uint32_t seller) {
  assert(bid->side == IMX_BID);
  if (bid->min_stars == 0) return 1;
  const ref_reputation *r = reputation_row(m, seller, bid->service);
  uint64_t ratings = r != NULL ? r->ratings : 0;
  uint64_t sum = r != NULL ? r->stars_sum : 0;
  if (ratings < m->ratings_min) return bid->allow_unrated;
  return sum * 10 >= (uint64_t)bid->min_stars * ratings;
}

/* 1 if the incoming order and the resting one may trade at all. */
static int counterparts(const ref_model *m, const ref_order *in,
                        const ref_order *rest) {
  const ref_order *bid = in->side == IMX_BID ? in : rest;
  const ref_order *offer = in->side == IMX_BID ? rest : in;
  return bid_accepts(m, bid, offer->cc);
}

imx_status ref_reputation_set(ref_model *m, uint32_t cc, uint32_t service,
                              uint32_t ratings, uint64_t stars_sum) {
  if (book_get(m, service) == NULL) return IMX_E_UNKNOWN_SERVICE;
  if (stars_sum < ratings || stars_sum > 5 * (uint64_t)ratings)
    return IMX_E_BAD_CONFIG;
  ref_reputation *r = (ref_reputation *)reputation_row(m, cc, service);
  if (r == NULL) {
    m->reputations = grow(m->reputations, &m->reputations_cap,
                          m->reputations_len + 1, sizeof *m->reputations);
    r = &m->reputations[m->reputations_len++];
    r->cc = cc;
    r->service = service;
  }
  r->ratings = ratings;
  r->stars_sum = stars_sum;
  return IMX_OK;
}

/* Step 4 for the order `in`, which is in no book. With execute 0 this is
** the feasibility simulation of step 3: nothing changes, nothing is emitted.
** Returns the qty left; sets *self_trade if an order of the same cost centre
** stopped the walk. */
static int64_t walk(ref_model *m, ref_order *in, int execute,
                    int *self_trade) {
  assert(!in->open);
  ref_side *s = &m->books[in->service].sides[opposite(in->side)];
  int64_t left = in->qty_open;
  size_t pos = 0;
  *self_trade = 0;
  while (left > 0 && pos < s->len) {
    ref_order *rest = at(m, s, pos);
    if (!crosses(in->side, in->price_minor, rest->price_minor)) break;
    if (!counterparts(m, in, rest)) { /* min_stars: invisible, untouched */
      pos++;
      continue;
    }
    if (rest->aon && rest->qty_open > left) { /* skipped, untouched */
      pos++;
      continue;
    }
    if (rest->cc == in->cc) {
      *self_trade = 1;
      break;
    }
    int64_t qty = min_i64(left, rest->qty_open);
    left -= qty;
    if (!execute) {
      pos++;
      continue;
    }
    trade(m, in, rest, qty);
    if (rest->qty_open == 0) side_remove_at(m, s, pos); /* pos is the next */
    else pos++;
  }
  assert(!execute || left == in->qty_open);
  return left;
}

/* Steps 3 to 5 for an accepted (or priority-losing modified) order. */
static void process(ref_model *m, ref_order *in) {
  ref_side *own = &m->books[in->service].sides[in->side];
  int self_trade = 0;
  if (in->tif == IMX_TIF_FOK || in->aon) {
    if (walk(m, in, 0, &self_trade) > 0) { /* would not fill whole */
      if (in->tif == IMX_TIF_FOK)
        emit_removed(m, IMX_EV_CANCELLED, in, IMX_CANCEL_FOK);
      else if (in->tif == IMX_TIF_IOC)
        emit_removed(m, IMX_EV_CANCELLED, in, IMX_CANCEL_IOC);
      else
        side_insert(m, own, in);
      return;
    }
  }
  walk(m, in, 1, &self_trade);
  if (in->qty_open == 0) return;
  assert(in->tif != IMX_TIF_FOK && !in->aon);
  if (self_trade)
    emit_removed(m, IMX_EV_CANCELLED, in, IMX_CANCEL_SELF_TRADE);
  else if (in->tif == IMX_TIF_IOC)
    emit_removed(m, IMX_EV_CANCELLED, in, IMX_CANCEL_IOC);
  else
    side_insert(m, own, in);
}

/* ---- creation and services --------------------------------------------- */

ref_model *ref_create_config(const imx_engine_config *cfg) {
  ref_model *m = calloc(1, sizeof *m);
  if (m == NULL) return NULL;
  m->on_event = cfg->on_event;
  m->ctx = cfg->ctx;
  m->risk = cfg->risk != 0;
  m->ccs_max = cfg->ccs_max ? cfg->ccs_max : REF_CCS_DEFAULT;
  m->tenders_max = cfg->tenders_max ? cfg->tenders_max : REF_TENDERS_DEFAULT;
  m->orders_per_cc_max = cfg->orders_per_cc_max;
  m->ratings_min = cfg->ratings_min ? cfg->ratings_min : 3;
  return m;
}

ref_model *ref_create(imx_event_fn on_event, void *ctx) {
  imx_engine_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.on_event = on_event;
  cfg.ctx = ctx;
  return ref_create_config(&cfg);
}

void ref_destroy(ref_model *m) {
  if (m == NULL) return;
  for (size_t i = 0; i < m->books_len; i++) {
    free(m->books[i].sides[IMX_BID].slots);
    free(m->books[i].sides[IMX_OFFER].slots);
  }
  free(m->books);
  free(m->orders);
  free(m->accounts);
  free(m->capacities);
  free(m->tenders);
  free(m->reputations);
  free(m);
}

imx_status ref_service_add(ref_model *m, const imx_service_config *cfg,
                           uint32_t *service_out) {
  if (cfg == NULL) return IMX_E_BAD_CONFIG;
  int64_t cap = cfg->price_cap_minor ? cfg->price_cap_minor
                                     : IMX_PRICE_MAX_MINOR;
  if (cfg->tick_minor < 1 || cfg->tick_minor > IMX_PRICE_MAX_MINOR ||
      cfg->lot < 1 || cfg->lot > IMX_QTY_MAX ||
      cfg->levels_max > IMX_LEVELS_MAX ||
      (cfg->mode != IMX_MODE_CONTINUOUS && cfg->mode != IMX_MODE_AUCTION) ||
      cap < cfg->tick_minor || cap > IMX_PRICE_MAX_MINOR)
    return IMX_E_BAD_CONFIG;
  assert(m->books_len < UINT32_MAX);
  m->books = grow(m->books, &m->books_cap, m->books_len + 1, sizeof *m->books);
  ref_book *b = &m->books[m->books_len];
  memset(b, 0, sizeof *b);
  b->tick_minor = cfg->tick_minor;
  b->lot = cfg->lot;
  b->divisible = cfg->divisible != 0;
  b->levels_max = cfg->levels_max ? cfg->levels_max : IMX_LEVELS_DEFAULT;
  b->mode = cfg->mode;
  b->price_cap_minor = cap;
  if (service_out != NULL) *service_out = (uint32_t)m->books_len;
  m->books_len++;
  return IMX_OK;
}

/* ---- orders ------------------------------------------------------------- */

/* The checks new orders and modifies share, in the rules' order. A market
** order (price 0) is a price only in an auction book. */
static imx_status validate_qty_price(const ref_book *b, int64_t qty,
                                     int64_t price_minor) {
  if (qty < 1 || qty > IMX_QTY_MAX) return IMX_E_BAD_QTY;
  int market = price_minor == IMX_PRICE_MARKET && b->mode == IMX_MODE_AUCTION;
  if (!market && (price_minor < 1 || price_minor > b->price_cap_minor))
    return IMX_E_BAD_PRICE;
  if (price_minor % b->tick_minor != 0) return IMX_E_BAD_TICK;
  if (qty % b->lot != 0) return IMX_E_BAD_LOT;
  return IMX_OK;
}

/* 1 if the cost centre has an open order on `side` of the book. */
static int cc_on_side(const ref_model *m, const ref_book *b, imx_side side,
                      uint32_t cc) {
  const ref_side *s = &b->sides[side];
  for (size_t pos = 0; pos < s->len; pos++)
    if (at(m, s, pos)->cc == cc) return 1;
  return 0;
}

imx_status ref_order_validate(const ref_model *m, const imx_order_new *o,
                              int64_t *available) {
  *available = 0;
  const ref_book *b = book_get(m, o->service);
  if (b == NULL) return IMX_E_UNKNOWN_SERVICE;
  /* Unsigned compares so that negative enum values count as out of range. */
  if ((unsigned)o->side > (unsigned)IMX_OFFER) return IMX_E_BAD_SIDE;
  if ((unsigned)o->tif > (unsigned)IMX_TIF_FOK) return IMX_E_BAD_TIF;
  imx_status st = validate_qty_price(b, o->qty, o->price_minor);
  if (st != IMX_OK) return st;
  if (!b->divisible && !o->aon) return IMX_E_AON_REQUIRED;
  if (o->min_stars != 0 || o->allow_unrated != 0) {
    int in_range = o->min_stars >= 10 && o->min_stars <= 50;
    int flag_ok = o->allow_unrated == 0 || o->allow_unrated == 1;
    if (o->side != IMX_BID || !in_range || !flag_ok) return IMX_E_BAD_STARS;
  }
  /* No pool here, so no orders_full. levels_full is checked before
  ** matching: an order that could rest needs a level even if it would
  ** fill at once; in an auction book every order rests until the call. */
  const ref_side *s = &b->sides[o->side];
  int rests = could_rest(o->tif) || b->mode == IMX_MODE_AUCTION;
  if (rests && !side_has_price(m, s, o->side, o->price_minor) &&
      s->levels >= b->levels_max)
    return IMX_E_LEVELS_FULL;
  if (b->mode == IMX_MODE_AUCTION &&
      cc_on_side(m, b, opposite(o->side), o->cc))
    return IMX_E_SELF_TRADE;
  return risk_check_new(m, b, o, available);
}

imx_status ref_order_new(ref_model *m, const imx_order_new *o,
                         uint64_t *id_out) {
  int64_t available = 0;
  imx_status st = ref_order_validate(m, o, &available);
  if (st != IMX_OK) return reject_full(m, 0, 0, st, available);
  m->orders = grow(m->orders, &m->orders_cap, m->orders_len + 1,
                   sizeof *m->orders);
  ref_order *in = &m->orders[m->orders_len++];
  memset(in, 0, sizeof *in);
  in->id = m->orders_len; /* ids from 1, one per accepted order */
  in->service = o->service;
  in->cc = o->cc;
  in->side = o->side;
  in->tif = o->tif;
  in->aon = o->aon != 0;
  in->min_stars = o->min_stars;
  in->allow_unrated = o->allow_unrated;
  in->qty_original = o->qty;
  in->qty_open = o->qty;
  in->price_minor = o->price_minor;
  if (id_out != NULL) *id_out = in->id;
  emit_accepted(m, in);
  ref_book *b = &m->books[in->service];
  if (b->mode == IMX_MODE_AUCTION) side_insert(m, &b->sides[in->side], in);
  else process(m, in);
  return IMX_OK;
}

imx_status ref_order_cancel(ref_model *m, uint64_t id) {
  ref_order *o = open_order(m, id);
  if (o == NULL) return reject(m, id, IMX_E_UNKNOWN_ORDER);
  ref_side *s = &m->books[o->service].sides[o->side];
  side_remove_at(m, s, side_find(m, s, o));
  emit_removed(m, IMX_EV_CANCELLED, o, IMX_CANCEL_USER);
  return IMX_OK;
}

imx_status ref_order_modify(ref_model *m, uint64_t id, int64_t qty_open,
                            int64_t price_minor) {
  ref_order *o = open_order(m, id);
  if (o == NULL) return reject(m, id, IMX_E_UNKNOWN_ORDER);
  ref_book *b = &m->books[o->service];
  imx_status st = validate_qty_price(b, qty_open, price_minor);
  if (st != IMX_OK) return reject(m, id, st);
  ref_side *s = &b->sides[o->side];
  size_t pos = side_find(m, s, o);
  /* A new level is needed only if the new price has none; moving frees
  ** the old level only if the order is alone there. */
  if (price_minor != o->price_minor &&
      !side_has_price(m, s, o->side, price_minor) && shares_level(m, s, pos) &&
      s->levels >= b->levels_max)
    return reject(m, id, IMX_E_LEVELS_FULL);
  int64_t available = 0;
  st = risk_check_modify(m, o, qty_open, price_minor, &available);
  if (st != IMX_OK) return reject_full(m, id, 0, st, available);
  if (price_minor == o->price_minor && qty_open <= o->qty_open) {
    o->qty_open = qty_open; /* in place: keeps its queue position */
    o->qty_original = o->qty_filled + qty_open;
    emit_modified(m, o, 1);
    return IMX_OK;
  }
  side_remove_at(m, s, pos);
  o->price_minor = price_minor;
  o->qty_open = qty_open;
  o->qty_original = o->qty_filled + qty_open;
  emit_modified(m, o, 0);
  if (b->mode == IMX_MODE_AUCTION) side_insert(m, s, o);
  else process(m, o);
  return IMX_OK;
}

/* Removes every order of the book that `pick` selects, bids first, then
** offers, each side in priority order, with one event each. */
static void remove_where(ref_model *m, ref_book *b, int (*pick)(const ref_order *),
                         imx_event_type type) {
  static const imx_side sides[2] = {IMX_BID, IMX_OFFER};
  for (int i = 0; i < 2; i++) {
    ref_side *s = &b->sides[sides[i]];
    size_t pos = 0;
    while (pos < s->len) {
      ref_order *o = at(m, s, pos);
      if (!pick(o)) {
        pos++;
        continue;
      }
      side_remove_at(m, s, pos); /* pos is now the next order */
      imx_cancel_reason why = o->tif == IMX_TIF_FOK ? IMX_CANCEL_FOK
                                                    : IMX_CANCEL_IOC;
      emit_removed(m, type, o, type == IMX_EV_CANCELLED ? why : IMX_CANCEL_USER);
    }
  }
}

static int is_period(const ref_order *o) { return o->tif == IMX_TIF_PERIOD; }

static int is_immediate(const ref_order *o) {
  return o->tif == IMX_TIF_IOC || o->tif == IMX_TIF_FOK;
}

imx_status ref_period_end(ref_model *m, uint32_t service) {
  ref_book *b = book_get(m, service);
  if (b == NULL) return reject(m, 0, IMX_E_UNKNOWN_SERVICE);
  remove_where(m, b, is_period, IMX_EV_EXPIRED);
  return IMX_OK;
}
/* ---- call auctions ------------------------------------------------------- */

/* 1 if the order takes part in a call at price_minor: not left out, and a
** market order or a limit at least as good as the price. */
static int takes_part(const ref_order *o, int64_t price_minor) {
  if (o->excluded) return 0;
  if (o->price_minor == IMX_PRICE_MARKET) return 1;
  return o->side == IMX_BID ? o->price_minor >= price_minor
                            : o->price_minor <= price_minor;
}

/* D(p) for the bids, S(p) for the offers: every order summed. */
static int64_t call_qty(const ref_model *m, const ref_book *b, imx_side side,
                        int64_t price_minor) {
  const ref_side *s = &b->sides[side];
  int64_t sum = 0;
  for (size_t pos = 0; pos < s->len; pos++) {
    const ref_order *o = at(m, s, pos);
    if (takes_part(o, price_minor)) sum += o->qty_open;
  }
  return sum;
}

/* The market orders of a side that take part. */
static int64_t market_qty(const ref_model *m, const ref_book *b,
                          imx_side side) {
  const ref_side *s = &b->sides[side];
  int64_t sum = 0;
  for (size_t pos = 0; pos < s->len; pos++) {
    const ref_order *o = at(m, s, pos);
    if (!o->excluded && o->price_minor == IMX_PRICE_MARKET) sum += o->qty_open;
  }
  return sum;
}

/* 1 if p is nearer the reference than q; of two equally near, the higher
** (the Xetra rule: limits 199 and 201, reference 200 -> 201). */
static int nearer(int64_t p, int64_t q, int64_t reference_minor) {
  int64_t dp = abs_i64(p - reference_minor), dq = abs_i64(q - reference_minor);
  return dp < dq || (dp == dq && p > q);
}

static imx_side surplus_side(int64_t demand, int64_t supply) {
  return demand > supply ? IMX_BID : demand < supply ? IMX_OFFER : IMX_NO_SIDE;
}

/* Market orders alone: they trade at the reference, if there is one. */
static void call_price_market(const ref_model *m, const ref_book *b,
                              int64_t reference_minor, imx_auction_result *r) {
  int64_t d = market_qty(m, b, IMX_BID), s = market_qty(m, b, IMX_OFFER);
  if (min_i64(d, s) == 0 || reference_minor == 0) return;
  r->price_minor = reference_minor;
  r->volume = min_i64(d, s);
  r->surplus = abs_i64(d - s);
  r->surplus_side = surplus_side(d, s);
}

/* Steps 1 and 2: every limit of a taking-part order is a candidate, each
** evaluated against every order. Candidates repeat; that changes nothing. */
static void call_price(const ref_model *m, const ref_book *b,
                       int64_t reference_minor, imx_auction_result *r) {
  memset(r, 0, sizeof *r);
  r->surplus_side = IMX_NO_SIDE;
  int64_t volume = 0, surplus = 0;
  for (int pass = 0; pass < 2; pass++) {
    int all_bid = 1, all_offer = 1;
    int64_t lowest = 0, highest = 0, nearest = 0; /* 0: none yet */
    for (int side = IMX_BID; side <= IMX_OFFER; side++) {
      const ref_side *sd = &b->sides[side];
      for (size_t pos = 0; pos < sd->len; pos++) {
        const ref_order *o = at(m, sd, pos);
        if (o->excluded || o->price_minor == IMX_PRICE_MARKET) continue;
        int64_t p = o->price_minor;
        int64_t d = call_qty(m, b, IMX_BID, p), s = call_qty(m, b, IMX_OFFER, p);
        int64_t v = min_i64(d, s), gap = abs_i64(d - s);
        if (pass == 0) { /* the highest volume, then the lowest surplus */
          if (v > volume || (v == volume && v > 0 && gap < surplus)) {
            volume = v;
            surplus = gap;
          }
          continue;
        }
        if (v != volume || gap != surplus) continue;
        all_bid &= d > s;
        all_offer &= d < s;
        if (lowest == 0 || p < lowest) lowest = p;
        if (highest == 0 || p > highest) highest = p;
        if (nearest == 0 || nearer(p, nearest, reference_minor)) nearest = p;
      }
    }
    if (pass == 0 && volume == 0) {
      call_price_market(m, b, reference_minor, r);
      return;
    }
    if (pass == 0) continue;
    r->price_minor = surplus > 0 && all_bid     ? highest
                     : surplus > 0 && all_offer ? lowest
                     : reference_minor > 0      ? nearest
                                                : lowest;
  }
  int64_t d = call_qty(m, b, IMX_BID, r->price_minor);
  int64_t s = call_qty(m, b, IMX_OFFER, r->price_minor);
  assert(min_i64(d, s) == volume && abs_i64(d - s) == surplus);
  r->volume = volume;
  r->surplus = surplus;
  r->surplus_side = surplus_side(d, s);
}

/* Step 3 for one side: what each order of the side gets, in priority order
** (the side's own order: market first, better prices, then time). */
static void call_allocate(const ref_model *m, const ref_side *s,
                          int64_t price_minor, int64_t volume, int64_t *alloc) {
  int64_t left = volume;
  for (size_t pos = 0; pos < s->len; pos++) {
    const ref_order *o = at(m, s, pos);
    alloc[pos] = takes_part(o, price_minor) ? min_i64(o->qty_open, left) : 0;
    left -= alloc[pos];
  }
}

/* Step 4: leaves out every aon or fok order that takes part but would not
** fill whole; returns how many. */
static uint32_t call_leave_out(ref_model *m, ref_book *b, int64_t price_minor,
                               int64_t volume) {
  uint32_t n = 0;
  for (int side = IMX_BID; side <= IMX_OFFER; side++) {
    ref_side *s = &b->sides[side];
    int64_t *alloc = calloc(s->len + 1, sizeof *alloc);
    if (alloc == NULL) abort();
    call_allocate(m, s, price_minor, volume, alloc);
    for (size_t pos = 0; pos < s->len; pos++) {
      ref_order *o = at(m, s, pos);
      if (!takes_part(o, price_minor)) continue;
      if ((o->aon || o->tif == IMX_TIF_FOK) && alloc[pos] < o->qty_open) {
        o->excluded = 1;
        n++;
      }
    }
    free(alloc);
  }
  return n;
}

/* Step 5: pairs the bids' and the offers' allocations in priority order. */
static void call_trade(ref_model *m, ref_book *b, int64_t price_minor,
                       int64_t volume) {
  ref_side *sb = &b->sides[IMX_BID], *so = &b->sides[IMX_OFFER];
  int64_t *ab = calloc(sb->len + 1, sizeof *ab);
  int64_t *ao = calloc(so->len + 1, sizeof *ao);
  if (ab == NULL || ao == NULL) abort();
  call_allocate(m, sb, price_minor, volume, ab);
  call_allocate(m, so, price_minor, volume, ao);
  size_t i = 0, j = 0;
  int64_t traded = 0;
  for (;;) {
    while (i < sb->len && ab[i] == 0) i++;
    while (j < so->len && ao[j] == 0) j++;
    if (i == sb->len || j == so->len) break;
    int64_t q = min_i64(ab[i], ao[j]);
    trade_orders(m, at(m, sb, i), at(m, so, j), q, price_minor, IMX_NO_SIDE);
    ab[i] -= q;
    ao[j] -= q;
    traded += q;
  }
  assert(traded == volume);
  free(ab);
  free(ao);
  for (int side = IMX_BID; side <= IMX_OFFER; side++) {
    ref_side *s = &b->sides[side];
    for (size_t pos = 0; pos < s->len;) {
      if (at(m, s, pos)->qty_open == 0) side_remove_at(m, s, pos);
      else pos++;
    }
  }
}

/* Step 6 (min_stars): a pairing of a bid with min_stars and an offer. */
typedef struct ref_pair {
  ref_order *bid, *offer;
  int64_t qty;
} ref_pair;

/* Plans step 6 before anything trades: what every offer that takes part
** has left after steps 3-5 (its allocation of `volume`), then the bids
** with min_stars that take part, in priority order, each taking from the
** eligible offers in priority order (an aon or fok bid only if it fills
** whole). Returns the pairs (malloc'd) and their count in *n. */
static ref_pair *call_plan_restricted(ref_model *m, ref_book *b, int64_t price_minor,
                                      int64_t volume, size_t *n) {
  ref_side *sb = &b->sides[IMX_BID], *so = &b->sides[IMX_OFFER];
  int64_t *left = calloc(so->len + 1, sizeof *left);
  ref_pair *pairs = malloc((sb->len * (so->len + 1) + 1) * sizeof *pairs);
  if (left == NULL || pairs == NULL) abort();
  call_allocate(m, so, price_minor, volume, left);
  for (size_t j = 0; j < so->len; j++) {
    ref_order *o = at(m, so, j);
    left[j] = takes_part(o, price_minor) ? o->qty_open - left[j] : 0;
  }
  *n = 0;
  for (size_t i = 0; i < sb->len; i++) {
    ref_order *bid = at(m, sb, i);
    if (bid->min_stars == 0) continue;
    int takes = bid->price_minor == IMX_PRICE_MARKET || bid->price_minor >= price_minor;
    if (!takes) continue;
    int64_t want = bid->qty_open, can = 0;
    for (size_t j = 0; j < so->len; j++)
      if (left[j] > 0 && bid_accepts(m, bid, at(m, so, j)->cc)) can += left[j];
    if ((bid->aon || bid->tif == IMX_TIF_FOK) && can < want) continue;
    for (size_t j = 0; j < so->len && want > 0; j++) {
      if (left[j] == 0 || !bid_accepts(m, bid, at(m, so, j)->cc)) continue;
      int64_t q = min_i64(want, left[j]);
      left[j] -= q;
      want -= q;
      pairs[(*n)++] = (ref_pair){bid, at(m, so, j), q};
    }
  }
  free(left);
  return pairs;
}

imx_status ref_auction_run(ref_model *m, uint32_t service,
                           int64_t reference_minor, imx_auction_result *out) {
  ref_book *b = book_get(m, service);
  if (b == NULL) return reject(m, 0, IMX_E_UNKNOWN_SERVICE);
  if (b->mode != IMX_MODE_AUCTION) return reject(m, 0, IMX_E_WRONG_MODE);
  if (reference_minor < 0 || reference_minor > b->price_cap_minor)
    return reject(m, 0, IMX_E_BAD_PRICE);
  if (reference_minor % b->tick_minor != 0) return reject(m, 0, IMX_E_BAD_TICK);
  int64_t reference = b->last_price_minor ? b->last_price_minor
                                          : reference_minor;
  imx_auction_result r;
  /* Bids with min_stars do not form the price: steps 1-5 without them. */
  ref_side *bids = &b->sides[IMX_BID];
  for (size_t pos = 0; pos < bids->len; pos++)
    if (at(m, bids, pos)->min_stars != 0) at(m, bids, pos)->excluded = 1;
  for (;;) { /* ends: every pass but the last leaves out an order */
    call_price(m, b, reference, &r);
    if (r.volume == 0 || call_leave_out(m, b, r.price_minor, r.volume) == 0)
      break;
  }
  size_t pairs_n = 0;
  ref_pair *pairs = r.volume > 0 ? call_plan_restricted(m, b, r.price_minor, r.volume, &pairs_n)
                                 : NULL;
  int64_t volume2 = 0;
  for (size_t k = 0; k < pairs_n; k++) volume2 += pairs[k].qty;
  imx_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = IMX_EV_AUCTION;
  ev.service = service;
  ev.price_minor = r.price_minor;
  ev.qty = r.volume + volume2;
  ev.surplus = r.surplus;
  ev.surplus_side = r.surplus_side;
  emit(m, &ev);
  if (r.volume > 0) {
    call_trade(m, b, r.price_minor, r.volume);
    for (size_t k = 0; k < pairs_n; k++)
      trade_orders(m, pairs[k].bid, pairs[k].offer, pairs[k].qty, r.price_minor,
                   IMX_NO_SIDE);
    for (int side = IMX_BID; side <= IMX_OFFER; side++) {
      ref_side *s = &b->sides[side];
      for (size_t pos = 0; pos < s->len;) {
        if (at(m, s, pos)->qty_open == 0) side_remove_at(m, s, pos);
        else pos++;
      }
    }
    b->last_price_minor = r.price_minor;
    r.volume += volume2;
  }
  free(pairs);
  for (int side = IMX_BID; side <= IMX_OFFER; side++) {
    ref_side *s = &b->sides[side];
    for (size_t pos = 0; pos < s->len; pos++) at(m, s, pos)->excluded = 0;
  }
  remove_where(m, b, is_immediate, IMX_EV_CANCELLED);
  if (out != NULL) *out = r;
  return IMX_OK;
}
/* ---- risk commands -------------------------------------------------------- */

imx_status ref_cc_set(ref_model *m, uint32_t cc, int64_t budget_minor) {
  if (!m->risk) return IMX_E_BAD_CONFIG;
  if (cc >= m->ccs_max) return IMX_E_UNKNOWN_CC;
  if (budget_minor < 0) return IMX_E_BAD_PRICE;
  /* Open orders keep their reservations: a budget must cover them. */
  if (budget_minor < budget_reserved(m, cc)) return IMX_E_INSUFFICIENT_BUDGET;
  ref_account *a = account(m, cc);
  if (a == NULL) {
    m->accounts = grow(m->accounts, &m->accounts_cap, m->accounts_len + 1,
                       sizeof *m->accounts);
    a = &m->accounts[m->accounts_len++];
    a->cc = cc;
  }
  a->budget_minor = budget_minor;
  a->spent_minor = 0;
  a->earned_minor = 0;
  return IMX_OK;
}

imx_status ref_capacity_set(ref_model *m, uint32_t cc, uint32_t service,
                            int64_t capacity) {
  if (!m->risk) return IMX_E_BAD_CONFIG;
  if (!cc_known(m, cc)) return IMX_E_UNKNOWN_CC;
  if (book_get(m, service) == NULL) return IMX_E_UNKNOWN_SERVICE;
  if (capacity < 0 || capacity > IMX_CAPACITY_MAX) return IMX_E_BAD_QTY;
  if (capacity < capacity_reserved(m, cc, service)) return IMX_E_OVER_CAPACITY;
  ref_capacity_row *r = capacity_row(m, cc, service);
  if (r == NULL) {
    m->capacities = grow(m->capacities, &m->capacities_cap,
                         m->capacities_len + 1, sizeof *m->capacities);
    r = &m->capacities[m->capacities_len++];
    r->cc = cc;
    r->service = service;
  }
  r->capacity = capacity;
  r->sold = 0;
  return IMX_OK;
}

imx_status ref_balance(const ref_model *m, uint32_t cc, imx_balance *out) {
  if (!m->risk) return IMX_E_BAD_CONFIG;
  if (!cc_known(m, cc)) return IMX_E_UNKNOWN_CC;
  const ref_account *a = account(m, cc);
  memset(out, 0, sizeof *out);
  out->budget_minor = a->budget_minor;
  out->reserved_minor = budget_reserved(m, cc);
  out->spent_minor = a->spent_minor;
  out->earned_minor = a->earned_minor;
  out->available_minor = budget_left(m, cc);
  return IMX_OK;
}

imx_status ref_capacity(const ref_model *m, uint32_t cc, uint32_t service,
                        imx_capacity *out) {
  if (!m->risk) return IMX_E_BAD_CONFIG;
  if (!cc_known(m, cc)) return IMX_E_UNKNOWN_CC;
  memset(out, 0, sizeof *out);
  const ref_capacity_row *r = capacity_row(m, cc, service);
  if (r == NULL) return IMX_OK; /* none declared: all zero */
  out->capacity = r->capacity;
  out->reserved = capacity_reserved(m, cc, service);
  out->sold = r->sold;
  out->available = capacity_left(m, cc, service);
  return IMX_OK;
}

/* ---- tenders -------------------------------------------------------------- */

/* The fields every tender event carries. */
static void ev_tender(imx_event *ev, imx_event_type type, const ref_tender *t) {
  memset(ev, 0, sizeof *ev);
  ev->type = type;
  ev->service = t->service;
  ev->tender_id = t->id;
  ev->cc = t->cc;
  ev->qty = t->qty;
}

/* A quote's quality share of a score tender as stars / (5 ratings): 0 / 1
** for an unrated provider (fewer than ratings_min ratings). */
static void quality_share(const ref_model *m, const ref_tender *t,
                          const ref_quote *q, __int128 *num, __int128 *den) {
  const ref_reputation *r = reputation_row(m, q->cc, t->service);
  if (r == NULL || r->ratings == 0 || r->ratings < m->ratings_min) {
    *num = 0;
    *den = 1;
    return;
  }
  *num = (__int128)r->stars_sum;
  *den = 5 * (__int128)r->ratings;
}

/* Independently of the engine's continued fractions: a scores more than b
** when the difference of their scores times C x den_a x den_b is positive,
**   wp (p_b - p_a) den_a den_b + wq C (num_a den_b - num_b den_a),
** each term below 2^107 (weights <= 100, prices <= 1e9, dens <= 5 x 2^32). */
static int scores_more(const ref_model *m, const ref_tender *t,
                       const ref_quote *a, const ref_quote *b) {
  __int128 na, da, nb, db;
  quality_share(m, t, a, &na, &da);
  quality_share(m, t, b, &nb, &db);
  __int128 diff = (__int128)t->price_weight * (b->price_minor - a->price_minor) * da * db +
                  (__int128)t->quality_weight * t->ceiling_minor * (na * db - nb * da);
  return diff > 0;
}

/* floor(1000 x (wp (C - p) / C + wq num / den)). */
static int64_t quote_score(const ref_model *m, const ref_tender *t, const ref_quote *q) {
  if (t->decide != IMX_DECIDE_SCORE) return 0;
  __int128 n, d;
  quality_share(m, t, q, &n, &d);
  __int128 c = t->ceiling_minor;
  __int128 top = (__int128)t->price_weight * (c - q->price_minor) * d +
                 (__int128)t->quality_weight * n * c;
  return (int64_t)(top * 1000 / (c * d));
}

/* QUOTE_ACCEPTED or QUOTE_RELEASED: cc is the provider's. */
static void emit_quote(const ref_model *m, imx_event_type type,
                       const ref_tender *t, const ref_quote *q) {
  imx_event ev;
  ev_tender(&ev, type, t);
  ev.quote_id = q->id;
  ev.cc = q->cc;
  ev.price_minor = q->price_minor;
  if (type == IMX_EV_QUOTE_RELEASED) ev.score = quote_score(m, t, q);
  emit(m, &ev);
}

static uint32_t tenders_open(const ref_model *m) {
  uint32_t n = 0;
  for (size_t i = 0; i < m->tenders_len; i++) n += (uint32_t)m->tenders[i].open;
  return n;
}

static imx_status tender_check(const ref_model *m, const imx_tender_new *t,
                               int64_t *available) {
  const ref_book *b = book_get(m, t->service);
  if (b == NULL) return IMX_E_UNKNOWN_SERVICE;
  if (t->qty < 1 || t->qty > IMX_QTY_MAX) return IMX_E_BAD_QTY;
  if (t->ceiling_minor < 1 || t->ceiling_minor > b->price_cap_minor)
    return IMX_E_BAD_PRICE;
  if (t->ceiling_minor % b->tick_minor != 0) return IMX_E_BAD_TICK;
  if (t->qty % b->lot != 0) return IMX_E_BAD_LOT;
  if (t->deadline_ms <= m->clock_ms) return IMX_E_BAD_DEADLINE;
  if (t->decide != IMX_DECIDE_LOWEST && t->decide != IMX_DECIDE_CHOOSE &&
      t->decide != IMX_DECIDE_SCORE)
    return IMX_E_BAD_CONFIG;
  int weights_ok = t->decide == IMX_DECIDE_SCORE
                       ? t->price_weight <= 100 && t->quality_weight <= 100 &&
                             t->price_weight + t->quality_weight == 100
                       : t->price_weight == 0 && t->quality_weight == 0;
  if (!weights_ok) return IMX_E_BAD_WEIGHTS;
  if (tenders_open(m) >= m->tenders_max) return IMX_E_TENDERS_FULL;
  if (!m->risk) return IMX_OK;
  if (!cc_known(m, t->cc)) return IMX_E_UNKNOWN_CC;
  int64_t left = budget_left(m, t->cc);
  if (t->qty * t->ceiling_minor > left) {
    *available = left;
    return IMX_E_INSUFFICIENT_BUDGET;
  }
  return IMX_OK;
}

imx_status ref_tender_new(ref_model *m, const imx_tender_new *in,
                          uint64_t *tender_id_out) {
  int64_t available = 0;
  imx_status st = tender_check(m, in, &available);
  if (st != IMX_OK) return reject_full(m, 0, 0, st, available);
  m->tenders = grow(m->tenders, &m->tenders_cap, m->tenders_len + 1,
                    sizeof *m->tenders);
  ref_tender *t = &m->tenders[m->tenders_len++];
  memset(t, 0, sizeof *t);
  t->id = m->tenders_len; /* ids from 1, one per opened tender */
  t->service = in->service;
  t->cc = in->cc;
  t->open = 1;
  t->qty = in->qty;
  t->ceiling_minor = in->ceiling_minor;
  t->deadline_ms = in->deadline_ms;
  t->decide = in->decide;
  t->price_weight = in->price_weight;
  t->quality_weight = in->quality_weight;
  if (tender_id_out != NULL) *tender_id_out = t->id;
  imx_event ev;
  ev_tender(&ev, IMX_EV_TENDER_OPENED, t);
  ev.price_minor = t->ceiling_minor;
  ev.deadline_ms = t->deadline_ms;
  ev.decide = t->decide;
  ev.price_weight = t->price_weight;
  ev.quality_weight = t->quality_weight;
  emit(m, &ev);
  return IMX_OK;
}

static imx_status quote_check(const ref_model *m, const ref_tender *t,
                              uint32_t cc, int64_t price_minor,
                              int64_t *available) {
  const ref_book *b = &m->books[t->service];
  if (price_minor < 1 || price_minor > b->price_cap_minor)
    return IMX_E_BAD_PRICE;
  if (price_minor % b->tick_minor != 0) return IMX_E_BAD_TICK;
  if (price_minor > t->ceiling_minor) return IMX_E_ABOVE_CEILING;
  if (cc == t->cc) return IMX_E_SELF_TRADE;
  for (uint32_t i = 0; i < t->quotes_n; i++)
    if (t->quotes[i].cc == cc) return IMX_E_ALREADY_QUOTED;
  if (t->quotes_n == IMX_QUOTES_MAX) return IMX_E_QUOTES_FULL;
  if (!m->risk) return IMX_OK;
  if (!cc_known(m, cc)) return IMX_E_UNKNOWN_CC;
  int64_t left = capacity_left(m, cc, t->service);
  if (t->qty > left) {
    *available = left;
    return IMX_E_OVER_CAPACITY;
  }
  return IMX_OK;
}

imx_status ref_tender_quote(ref_model *m, uint64_t tender_id, uint32_t cc,
                            int64_t price_minor, uint64_t *quote_id_out) {
  ref_tender *t = open_tender(m, tender_id);
  if (t == NULL) return reject_full(m, 0, tender_id, IMX_E_UNKNOWN_TENDER, 0);
  int64_t available = 0;
  imx_status st = quote_check(m, t, cc, price_minor, &available);
  if (st != IMX_OK) return reject_full(m, 0, tender_id, st, available);
  ref_quote *q = &t->quotes[t->quotes_n++];
  q->id = ++m->quotes;
  q->cc = cc;
  q->price_minor = price_minor;
  if (quote_id_out != NULL) *quote_id_out = q->id;
  emit_quote(m, IMX_EV_QUOTE_ACCEPTED, t, q);
  return IMX_OK;
}

/* best wins at its price; the others are released. */
static void award_to(ref_model *m, ref_tender *t, const ref_quote *best) {
  assert(t->open && best != NULL);
  t->open = 0; /* from here on it reserves nothing */
  imx_event ev;
  settle(m, t->cc, best->cc, t->service, t->qty, best->price_minor);
  memset(&ev, 0, sizeof ev);
  ev.type = IMX_EV_TRADE;
  ev.service = t->service;
  ev.trade_id = ++m->trades;
  ev.buyer_cc = t->cc;
  ev.seller_cc = best->cc;
  ev.qty = t->qty;
  ev.price_minor = best->price_minor;
  ev.aggressor = IMX_NO_SIDE;
  ev.tender_id = t->id;
  ev.quote_id = best->id;
  emit(m, &ev);
  uint64_t trade_id = ev.trade_id;
  ev_tender(&ev, IMX_EV_TENDER_AWARDED, t);
  ev.quote_id = best->id;
  ev.cc = best->cc;
  ev.price_minor = best->price_minor;
  ev.trade_id = trade_id;
  ev.score = quote_score(m, t, best);
  emit(m, &ev);
  for (uint32_t i = 0; i < t->quotes_n; i++)
    if (&t->quotes[i] != best)
      emit_quote(m, IMX_EV_QUOTE_RELEASED, t, &t->quotes[i]);
}

/* The rule of `lowest`: the lowest quote (the earliest of equals) wins at
** its price; of `score`, the highest score (the earliest of equals).
** Without quotes the tender ends unfilled. */
static void award(ref_model *m, ref_tender *t) {
  assert(t->open);
  const ref_quote *best = NULL;
  for (uint32_t i = 0; i < t->quotes_n; i++)
    if (best == NULL ||
        (t->decide == IMX_DECIDE_SCORE
             ? scores_more(m, t, &t->quotes[i], best)
             : t->quotes[i].price_minor < best->price_minor))
      best = &t->quotes[i];
  if (best != NULL) {
    award_to(m, t, best);
    return;
  }
  t->open = 0;
  imx_event ev;
  ev_tender(&ev, IMX_EV_TENDER_UNFILLED, t);
  emit(m, &ev);
}

imx_status ref_tender_award(ref_model *m, uint64_t tender_id) {
  ref_tender *t = open_tender(m, tender_id);
  if (t == NULL) return reject_full(m, 0, tender_id, IMX_E_UNKNOWN_TENDER, 0);
  award(m, t);
  return IMX_OK;
}

imx_status ref_tender_award_quote(ref_model *m, uint64_t tender_id,
                                  uint64_t quote_id) {
  ref_tender *t = open_tender(m, tender_id);
  if (t == NULL)
    return reject_quote(m, tender_id, quote_id, IMX_E_UNKNOWN_TENDER);
  for (uint32_t i = 0; i < t->quotes_n; i++) {
    if (t->quotes[i].id != quote_id) continue;
    if (t->decide != IMX_DECIDE_CHOOSE)
      return reject_quote(m, tender_id, quote_id, IMX_E_WRONG_DECIDE);
    award_to(m, t, &t->quotes[i]);
    return IMX_OK;
  }
  return reject_quote(m, tender_id, quote_id, IMX_E_UNKNOWN_QUOTE);
}

/* Ends a tender without a trade: its quotes released, then `type`. */
static void end_unawarded(ref_model *m, ref_tender *t, imx_event_type type) {
  t->open = 0;
  for (uint32_t i = 0; i < t->quotes_n; i++)
    emit_quote(m, IMX_EV_QUOTE_RELEASED, t, &t->quotes[i]);
  imx_event ev;
  ev_tender(&ev, type, t);
  emit(m, &ev);
}

imx_status ref_tender_cancel(ref_model *m, uint64_t tender_id) {
  ref_tender *t = open_tender(m, tender_id);
  if (t == NULL) return reject_full(m, 0, tender_id, IMX_E_UNKNOWN_TENDER, 0);
  end_unawarded(m, t, IMX_EV_TENDER_CANCELLED);
  return IMX_OK;
}

imx_status ref_quote_withdraw(ref_model *m, uint64_t quote_id) {
  for (size_t k = 0; k < m->tenders_len; k++) {
    ref_tender *t = &m->tenders[k];
    if (!t->open) continue;
    for (uint32_t i = 0; i < t->quotes_n; i++) {
      if (t->quotes[i].id != quote_id) continue;
      ref_quote q = t->quotes[i];
      memmove(&t->quotes[i], &t->quotes[i + 1],
              (t->quotes_n - i - 1) * sizeof q);
      t->quotes_n--;
      emit_quote(m, IMX_EV_QUOTE_WITHDRAWN, t, &q);
      return IMX_OK;
    }
  }
  return reject_quote(m, 0, quote_id, IMX_E_UNKNOWN_QUOTE);
}

imx_status ref_clock(ref_model *m, int64_t now_ms) {
  if (now_ms <= m->clock_ms) return IMX_OK; /* never back */
  m->clock_ms = now_ms;
  for (size_t i = 0; i < m->tenders_len; i++) { /* in the order they opened */
    ref_tender *t = &m->tenders[i];
    if (!t->open || t->deadline_ms > now_ms) continue;
    if (t->decide == IMX_DECIDE_CHOOSE) end_unawarded(m, t, IMX_EV_TENDER_LAPSED);
    else award(m, t);
  }
  return IMX_OK;
}

/* ---- queries ------------------------------------------------------------ */

static void order_info(const ref_order *o, imx_order_info *out) {
  memset(out, 0, sizeof *out);
  out->order_id = o->id;
  out->service = o->service;
  out->cc = o->cc;
  out->side = o->side;
  out->tif = o->tif;
  out->aon = o->aon;
  out->qty_original = o->qty_original;
  out->qty_open = o->qty_open;
  out->qty_filled = o->qty_filled;
  out->price_minor = o->price_minor;
  out->min_stars = o->min_stars;
  out->allow_unrated = o->allow_unrated;
}

uint32_t ref_orders(const ref_model *m, uint32_t service, imx_side side,
                    imx_order_info *out, uint32_t n) {
  const ref_book *b = book_get(m, service);
  if (b == NULL || (unsigned)side > (unsigned)IMX_OFFER) return 0;
  const ref_side *s = &b->sides[side];
  uint32_t k = s->len < n ? (uint32_t)s->len : n;
  for (uint32_t i = 0; i < k; i++) order_info(at(m, s, i), &out[i]);
  return k;
}

imx_status ref_order_get(const ref_model *m, uint64_t id, imx_order_info *out) {
  const ref_order *o = open_order(m, id);
  if (o == NULL) return IMX_E_UNKNOWN_ORDER;
  order_info(o, out);
  return IMX_OK;
}

uint32_t ref_open_orders(const ref_model *m) { return m->open; }

uint32_t ref_tenders_open(const ref_model *m, uint64_t *ids, uint32_t n) {
  uint32_t k = 0;
  for (size_t i = 0; i < m->tenders_len && k < n; i++)
    if (m->tenders[i].open) ids[k++] = m->tenders[i].id;
  return k;
}

uint32_t ref_tender_quotes(const ref_model *m, uint64_t tender_id,
                           imx_quote_info *out, uint32_t n) {
  const ref_tender *t = open_tender(m, tender_id);
  uint32_t k = 0;
  for (; t != NULL && k < t->quotes_n && k < n; k++)
    out[k] = (imx_quote_info){.quote_id = t->quotes[k].id, .tender_id = t->id,
                              .cc = t->quotes[k].cc,
                              .price_minor = t->quotes[k].price_minor,
                              .score = quote_score(m, t, &t->quotes[k])};
  return k;
}

int64_t ref_clock_now(const ref_model *m) { return m->clock_ms; }

/* Checks one side; 0 or the number of the failed check. */
static int check_side(const ref_model *m, const ref_book *b, uint32_t service,
                      imx_side side, uint32_t *open) {
  const ref_side *s = &b->sides[side];
  uint32_t levels = 0;
  for (size_t pos = 0; pos < s->len; pos++) {
    const ref_order *o = at(m, s, pos);
    if (!o->open || o->side != side || o->service != service) return 1;
    if (o->qty_open < 1 || o->qty_filled < 0) return 2;
    if (o->qty_filled + o->qty_open != o->qty_original) return 3;
    if (pos > 0 && !ahead(at(m, s, pos - 1), o)) return 4;
    if (pos == 0 || at(m, s, pos - 1)->price_minor != o->price_minor) levels++;
    if (o->excluded) return 7; /* only during a call */
    if (b->mode == IMX_MODE_CONTINUOUS &&
        (!could_rest(o->tif) || o->price_minor == IMX_PRICE_MARKET))
      return 8;
  }
  if (levels != s->levels || levels > b->levels_max) return 5;
  *open += (uint32_t)s->len;
  return 0;
}

/* spent + reserved <= budget and sold + reserved <= capacity. */
static int check_risk(const ref_model *m) {
  for (size_t i = 0; i < m->accounts_len; i++) {
    const ref_account *a = &m->accounts[i];
    if (a->spent_minor < 0 || a->earned_minor < 0) return 10;
    if (budget_left(m, a->cc) < 0) return 11;
  }
  for (size_t i = 0; i < m->capacities_len; i++) {
    const ref_capacity_row *r = &m->capacities[i];
    if (r->sold < 0 || capacity_left(m, r->cc, r->service) < 0) return 12;
  }
  for (size_t i = 0; i < m->tenders_len; i++) {
    const ref_tender *t = &m->tenders[i];
    if (!t->open) continue;
    if (t->quotes_n > IMX_QUOTES_MAX) return 13;
    for (uint32_t q = 0; q < t->quotes_n; q++)
      if (t->quotes[q].price_minor > t->ceiling_minor || t->quotes[q].cc == t->cc)
        return 14;
  }
  return 0;
}

int ref_check(const ref_model *m) {
  uint32_t open = 0;
  for (size_t i = 0; i < m->books_len; i++) {
    for (int side = IMX_BID; side <= IMX_OFFER; side++) {
      int bad = check_side(m, &m->books[i], (uint32_t)i, (imx_side)side, &open);
      if (bad) return bad;
    }
  }
  uint32_t open_flags = 0;
  for (size_t i = 0; i < m->orders_len; i++)
    open_flags += (uint32_t)m->orders[i].open;
  if (open != m->open || open_flags != m->open) return 6;
  return m->risk ? check_risk(m) : 0;
}
