/*
** refmodel.c -- the reference model: docs/matching.md, read literally.
**
** Every order ever accepted lives in one array indexed by id - 1, so an id
** lookup is a subscript. Each book side is a plain array of indices into it,
** kept sorted best first by (price, arrival sequence). An order that arrives
** or loses priority takes the next sequence number, so it always sorts to
** the back of its price level. Inserting and removing are a binary search
** and a memmove; the matching walk goes down the opposite array from the
** front. Nothing here is clever on purpose: when the engine and the model
** disagree, the model should be the one that is easy to believe.
*/
#include "refmodel.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct ref_order {
  uint64_t id;
  uint64_t seq;  /* arrival in its book; larger is later */
  uint32_t service;
  uint32_t cc;
  imx_side side;
  imx_tif tif;
  int aon;
  int open;      /* 1 while it rests in a book */
  int64_t qty_original;
  int64_t qty_open;
  int64_t qty_filled;
  int64_t price_minor;
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
  ref_side sides[2];   /* indexed by imx_side */
} ref_book;

struct ref_model {
  imx_event_fn on_event;
  void *ctx;
  ref_book *books; /* indexed by service id */
  size_t books_len, books_cap;
  ref_order *orders; /* every accepted order, indexed by id - 1 */
  size_t orders_len, orders_cap;
  uint64_t trades; /* trade ids handed out so far */
  uint64_t seq;    /* book arrivals so far */
  uint32_t open;   /* orders resting in all books */
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

static imx_side opposite(imx_side side) {
  return side == IMX_BID ? IMX_OFFER : IMX_BID;
}

/* 1 if, for resting orders of `side`, price a has priority over price b. */
static int price_better(imx_side side, int64_t a, int64_t b) {
  return side == IMX_BID ? a > b : a < b;
}

/* 1 if an incoming order of `side` with limit `limit` may trade with a
** resting order at `resting`. */
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

/* ---- events ------------------------------------------------------------ */

static void emit(const ref_model *m, const imx_event *ev) {
  if (m->on_event != NULL) m->on_event(m->ctx, ev);
}

static imx_status reject(const ref_model *m, uint64_t order_id,
                         imx_status status) {
  assert(status != IMX_OK);
  imx_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = IMX_EV_REJECTED;
  ev.order_id = order_id;
  ev.status = status;
  emit(m, &ev);
  return status;
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

/* One trade of qty between the incoming order and a resting one, at the
** resting order's price. */
static void trade(ref_model *m, ref_order *in, ref_order *rest, int64_t qty) {
  assert(qty > 0 && qty <= in->qty_open && qty <= rest->qty_open);
  assert(in->side != rest->side && in->cc != rest->cc);
  const ref_order *buy = in->side == IMX_BID ? in : rest;
  const ref_order *sell = in->side == IMX_BID ? rest : in;
  imx_event ev;
  memset(&ev, 0, sizeof ev);
  ev.type = IMX_EV_TRADE;
  ev.service = in->service;
  ev.trade_id = ++m->trades;
  ev.buy_order_id = buy->id;
  ev.sell_order_id = sell->id;
  ev.buyer_cc = buy->cc;
  ev.seller_cc = sell->cc;
  ev.qty = qty;
  ev.price_minor = rest->price_minor;
  ev.aggressor = in->side;
  in->qty_open -= qty;
  in->qty_filled += qty;
  rest->qty_open -= qty;
  rest->qty_filled += qty;
  emit(m, &ev);
}

/* ---- matching ----------------------------------------------------------- */

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

ref_model *ref_create(imx_event_fn on_event, void *ctx) {
  ref_model *m = calloc(1, sizeof *m);
  if (m == NULL) return NULL;
  m->on_event = on_event;
  m->ctx = ctx;
  return m;
}

void ref_destroy(ref_model *m) {
  if (m == NULL) return;
  for (size_t i = 0; i < m->books_len; i++) {
    free(m->books[i].sides[IMX_BID].slots);
    free(m->books[i].sides[IMX_OFFER].slots);
  }
  free(m->books);
  free(m->orders);
  free(m);
}

imx_status ref_service_add(ref_model *m, const imx_service_config *cfg,
                           uint32_t *service_out) {
  if (cfg == NULL || cfg->tick_minor < 1 || cfg->lot < 1 ||
      cfg->levels_max > IMX_LEVELS_MAX)
    return IMX_E_BAD_CONFIG;
  /* The model knows continuous matching only: refuse rather than pretend. */
  if (cfg->mode != IMX_MODE_CONTINUOUS) return IMX_E_BAD_CONFIG;
  assert(m->books_len < UINT32_MAX);
  m->books = grow(m->books, &m->books_cap, m->books_len + 1, sizeof *m->books);
  ref_book *b = &m->books[m->books_len];
  memset(b, 0, sizeof *b);
  b->tick_minor = cfg->tick_minor;
  b->lot = cfg->lot;
  b->divisible = cfg->divisible != 0;
  b->levels_max = cfg->levels_max ? cfg->levels_max : IMX_LEVELS_DEFAULT;
  if (service_out != NULL) *service_out = (uint32_t)m->books_len;
  m->books_len++;
  return IMX_OK;
}

/* ---- commands ----------------------------------------------------------- */

/* The checks new orders and modifies share, in the rules' order. */
static imx_status validate_qty_price(const ref_book *b, int64_t qty,
                                     int64_t price_minor) {
  if (qty < 1 || qty > IMX_QTY_MAX) return IMX_E_BAD_QTY;
  if (price_minor < 1 || price_minor > IMX_PRICE_MAX_MINOR)
    return IMX_E_BAD_PRICE;
  if (price_minor % b->tick_minor != 0) return IMX_E_BAD_TICK;
  if (qty % b->lot != 0) return IMX_E_BAD_LOT;
  return IMX_OK;
}

imx_status ref_order_validate(const ref_model *m, const imx_order_new *o) {
  const ref_book *b = book_get(m, o->service);
  if (b == NULL) return IMX_E_UNKNOWN_SERVICE;
  /* Unsigned compares so that negative enum values count as out of range. */
  if ((unsigned)o->side > (unsigned)IMX_OFFER) return IMX_E_BAD_SIDE;
  if ((unsigned)o->tif > (unsigned)IMX_TIF_FOK) return IMX_E_BAD_TIF;
  imx_status st = validate_qty_price(b, o->qty, o->price_minor);
  if (st != IMX_OK) return st;
  if (!b->divisible && !o->aon) return IMX_E_AON_REQUIRED;
  /* No pool here, so no orders_full. levels_full is checked before
  ** matching: an order that could rest needs a level even if it would
  ** fill at once. */
  const ref_side *s = &b->sides[o->side];
  if (could_rest(o->tif) && !side_has_price(m, s, o->side, o->price_minor) &&
      s->levels >= b->levels_max)
    return IMX_E_LEVELS_FULL;
  return IMX_OK;
}

imx_status ref_order_new(ref_model *m, const imx_order_new *o,
                         uint64_t *id_out) {
  imx_status st = ref_order_validate(m, o);
  if (st != IMX_OK) return reject(m, 0, st);
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
  in->qty_original = o->qty;
  in->qty_open = o->qty;
  in->price_minor = o->price_minor;
  if (id_out != NULL) *id_out = in->id;
  emit_accepted(m, in);
  process(m, in);
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
  const ref_book *b = &m->books[o->service];
  imx_status st = validate_qty_price(b, qty_open, price_minor);
  if (st != IMX_OK) return reject(m, id, st);
  ref_side *s = &m->books[o->service].sides[o->side];
  size_t pos = side_find(m, s, o);
  /* A new level is needed only if the new price has none; moving frees
  ** the old level only if the order is alone there. */
  if (price_minor != o->price_minor &&
      !side_has_price(m, s, o->side, price_minor) && shares_level(m, s, pos) &&
      s->levels >= b->levels_max)
    return reject(m, id, IMX_E_LEVELS_FULL);
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
  process(m, o);
  return IMX_OK;
}

imx_status ref_period_end(ref_model *m, uint32_t service) {
  ref_book *b = book_get(m, service);
  if (b == NULL) return reject(m, 0, IMX_E_UNKNOWN_SERVICE);
  static const imx_side sides[2] = {IMX_BID, IMX_OFFER}; /* bids first */
  for (int i = 0; i < 2; i++) {
    ref_side *s = &b->sides[sides[i]];
    size_t pos = 0;
    while (pos < s->len) {
      ref_order *o = at(m, s, pos);
      if (o->tif != IMX_TIF_PERIOD) {
        pos++;
        continue;
      }
      side_remove_at(m, s, pos); /* pos is now the next order */
      emit_removed(m, IMX_EV_EXPIRED, o, IMX_CANCEL_USER);
    }
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
  }
  if (levels != s->levels || levels > b->levels_max) return 5;
  *open += (uint32_t)s->len;
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
  return 0;
}
