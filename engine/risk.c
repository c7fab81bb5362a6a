/*
** risk.c -- budgets, capacities and positions.
**
** With risk on, every cost centre has a budget per period and every
** provider a capacity per service per period, and no sequence of commands
** can spend more than the one or sell more than the other:
**
**   a bid reserves qty x limit (a market bid qty x the service's price cap);
**   a fill moves qty x limit out of the reservation and qty x trade price
**   into spent (the trade price is never above the limit: the rest is
**   released); cancel and expiry release what is still reserved;
**   an offer reserves qty units of capacity, a fill moves them to sold;
**   tenders reserve qty x ceiling of the receiver, quotes qty units of the
**   provider's capacity, and the award settles them the same way.
**
** So spent + reserved <= budget and sold + reserved <= capacity at all times;
** imx_engine_check() recomputes every reservation from the open orders and
** tenders and compares. Amounts cannot overflow: qty x price <= 1e18 is
** computed before it is compared with what is left, never added unchecked;
** and cc_set keeps the sum of all declared budgets within
** IMX_BUDGETS_TOTAL_MAX_MINOR (1e15), which bounds every reservation,
** spent and earned of a period (the argument is in imx_base.h).
**
** Positions -- (cost centre, service) pairs -- hold a provider's capacity
** of one service; they are made by capacity_set and never removed, and an
** order or a quote never makes one (no capacity declared means none). How
** many orders a cost centre has open in an auction book is auction.c's
** business, not a position.
**
** The per-cost-centre limits live here too: open orders
** (orders_per_cc_max) and open tenders (tenders_per_cc_max), counted in
** the cost centre's account.
*/
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

#define CCS_DEFAULT 1024u
#define POSITIONS_DEFAULT 65536u
#define CCS_MAX (1u << 24)
#define POSITIONS_MAX (1u << 24)

int risk_init(imx_engine *e, const imx_engine_config *cfg) {
  e->risk = cfg->risk != 0;
  e->orders_per_cc_max = cfg->orders_per_cc_max;
  e->tenders_per_cc_max = cfg->tenders_per_cc_max;
  e->ccs_max = cfg->ccs_max ? cfg->ccs_max : CCS_DEFAULT;
  e->positions_max = cfg->positions_max ? cfg->positions_max : POSITIONS_DEFAULT;
  if (e->ccs_max > CCS_MAX || e->positions_max > POSITIONS_MAX) return -1;
  if (!e->risk) return 0;
  e->ccs = eng_alloc(e, e->ccs_max, sizeof(cc_account));
  e->check_cc_reserved = eng_alloc(e, e->ccs_max, sizeof(int64_t));
  e->check_cc_counts = eng_alloc(e, 2 * (size_t)e->ccs_max, sizeof(uint32_t));
  e->positions = eng_alloc(e, e->positions_max, sizeof(position));
  e->check_cap_reserved = eng_alloc(e, e->positions_max, sizeof(int64_t));
  if (e->ccs == NULL || e->check_cc_reserved == NULL ||
      e->check_cc_counts == NULL || e->positions == NULL ||
      e->check_cap_reserved == NULL ||
      imx_hash_init(&e->position_index, e->positions_max) != 0)
    return -1;
  e->memory_bytes += (e->position_index.mask + 1) * sizeof(uint32_t);
  IMX_ASSERT(e->position_index.mask >= e->positions_max);
  return 0;
}

void risk_free(imx_engine *e) {
  free(e->check_cc_reserved);
  free(e->check_cc_counts);
  free(e->check_cap_reserved);
  free(e->ccs);
  free(e->positions);
  imx_hash_free(&e->position_index);
}

static uint64_t position_key(uint32_t cc, uint32_t service) {
  return ((uint64_t)cc << 32) | service;
}

static uint64_t position_hash_of(const void *owner, uint32_t k) {
  const position *p = &((const imx_engine *)owner)->positions[k];
  return position_key(p->cc, p->service);
}

/* The position of (cc, service), or NULL. Bounded: the table always has an
** empty slot (it holds positions_max < its size). */
static position *position_find(const imx_engine *e, uint32_t cc,
                               uint32_t service) {
  if (e->positions == NULL) return NULL;
  uint64_t key = position_key(cc, service);
  const imx_hash *h = &e->position_index;
  uint32_t i = imx_hash_first(h, key);
  for (uint32_t probes = 0; probes <= h->mask; probes++) {
    uint32_t k = h->slots[i];
    if (k == IMX_HASH_NIL) return NULL;
    if (position_hash_of(e, k) == key) return &e->positions[k];
    i = imx_hash_next(h, i);
  }
  IMX_ASSERT(0 && "position_index without an empty slot");
  return NULL;
}

/* Positions are made only by capacity_set and never removed. */
static position *position_make(imx_engine *e, uint32_t cc, uint32_t service) {
  position *p = position_find(e, cc, service);
  if (p != NULL) return p;
  if (e->positions_n == e->positions_max) return NULL;
  p = &e->positions[e->positions_n];
  memset(p, 0, sizeof *p);
  p->cc = cc;
  p->service = service;
  p->capacity = -1;
  imx_hash_put(&e->position_index, position_key(cc, service), e->positions_n);
  e->positions_n++;
  IMX_ASSERT(position_find(e, cc, service) == p);
  return p;
}

int64_t risk_bid_limit(const book *b, const order *o) {
  return o->price_minor == IMX_PRICE_MARKET ? b->price_cap_minor
                                            : o->price_minor;
}

static int64_t budget_left(const cc_account *a) {
  return a->budget_minor - a->reserved_minor - a->spent_minor;
}

static int64_t capacity_left(const position *p) {
  if (p == NULL || p->capacity < 0) return 0;
  return p->capacity - p->cap_reserved - p->sold;
}

static int declared(const imx_engine *e, uint32_t cc) {
  return cc < e->ccs_max && e->ccs[cc].declared;
}

static imx_status reserve_budget(imx_engine *e, uint32_t cc,
                                 int64_t amount_minor, int64_t *available) {
  IMX_ASSERT(e->risk && declared(e, cc));
  IMX_ASSERT(amount_minor >= 0);
  cc_account *a = &e->ccs[cc];
  if (amount_minor > budget_left(a)) {
    *available = budget_left(a);
    return IMX_E_INSUFFICIENT_BUDGET;
  }
  a->reserved_minor += amount_minor;
  IMX_ASSERT(budget_left(a) >= 0);
  return IMX_OK;
}

void risk_release_budget(imx_engine *e, uint32_t cc, int64_t amount_minor) {
  if (!e->risk) return;
  IMX_ASSERT(declared(e, cc) && amount_minor >= 0);
  cc_account *a = &e->ccs[cc];
  a->reserved_minor -= amount_minor;
  IMX_ASSERT(a->reserved_minor >= 0);
}

imx_status risk_reserve_capacity(imx_engine *e, uint32_t cc, uint32_t service,
                                 int64_t qty, int64_t *available) {
  if (!e->risk) return IMX_OK;
  if (!declared(e, cc)) return IMX_E_UNKNOWN_CC;
  IMX_ASSERT(qty > 0 && service < e->services_n);
  position *p = position_find(e, cc, service);
  if (qty > capacity_left(p)) {
    *available = capacity_left(p);
    return IMX_E_OVER_CAPACITY;
  }
  p->cap_reserved += qty;
  IMX_ASSERT(capacity_left(p) >= 0);
  return IMX_OK;
}

void risk_release_capacity(imx_engine *e, uint32_t cc, uint32_t service,
                           int64_t qty) {
  if (!e->risk) return;
  position *p = position_find(e, cc, service);
  IMX_ASSERT(p != NULL && qty >= 0);
  p->cap_reserved -= qty;
  IMX_ASSERT(p->cap_reserved >= 0);
}

/* Checks and reserves in one step, so that a rejected order holds nothing
** and leaves nothing behind. */
imx_status risk_check_order(imx_engine *e, const imx_order_new *o,
                            int64_t *available) {
  if (!e->risk) return IMX_OK;
  IMX_ASSERT(o->service < e->services_n && o->qty > 0);
  if (!declared(e, o->cc)) return IMX_E_UNKNOWN_CC;
  if (e->orders_per_cc_max &&
      e->ccs[o->cc].orders_open >= e->orders_per_cc_max)
    return IMX_E_TOO_MANY_ORDERS;
  if (o->side == IMX_BID) {
    const book *b = &e->books[o->service];
    int64_t limit = o->price_minor == IMX_PRICE_MARKET ? b->price_cap_minor
                                                       : o->price_minor;
    return reserve_budget(e, o->cc, o->qty * limit, available);
  }
  return risk_reserve_capacity(e, o->cc, o->service, o->qty, available);
}

void risk_order_opened(imx_engine *e, const order *o) {
  if (!e->risk) return;
  IMX_ASSERT(declared(e, o->cc));
  e->ccs[o->cc].orders_open++;
  IMX_ASSERT(!e->orders_per_cc_max ||
             e->ccs[o->cc].orders_open <= e->orders_per_cc_max);
}

void risk_order_closed(imx_engine *e, const order *o) {
  if (!e->risk) return;
  IMX_ASSERT(declared(e, o->cc) && e->ccs[o->cc].orders_open > 0);
  e->ccs[o->cc].orders_open--;
}

/* What an order holds for its open quantity, released when it leaves. */
void risk_unreserve_order(imx_engine *e, const order *o) {
  if (!e->risk || o->qty_open == 0) return;
  IMX_ASSERT(o->qty_open > 0);
  if (o->side == IMX_BID)
    risk_release_budget(e, o->cc,
                        o->qty_open * risk_bid_limit(&e->books[o->service], o));
  else
    risk_release_capacity(e, o->cc, o->service, o->qty_open);
}

void risk_reserve_order(imx_engine *e, const order *o) {
  if (!e->risk) return;
  IMX_ASSERT(o->qty_open > 0);
  int64_t available;
  imx_status s;
  if (o->side == IMX_BID)
    s = reserve_budget(e, o->cc,
                       o->qty_open * risk_bid_limit(&e->books[o->service], o),
                       &available);
  else
    s = risk_reserve_capacity(e, o->cc, o->service, o->qty_open,
                              &available);
  IMX_ASSERT(s == IMX_OK); /* risk_check_modify made room */
}

/* Would the order still fit with a new open qty and price? Nothing
** changes; on IMX_OK the caller unreserves, modifies, and reserves. */
imx_status risk_check_modify(imx_engine *e, const order *o, int64_t qty_open,
                             int64_t price_minor, int64_t *available) {
  if (!e->risk) return IMX_OK;
  IMX_ASSERT(qty_open > 0 && declared(e, o->cc));
  const book *b = &e->books[o->service];
  if (o->side == IMX_BID) {
    int64_t limit = price_minor == IMX_PRICE_MARKET ? b->price_cap_minor
                                                    : price_minor;
    int64_t more = qty_open * limit - o->qty_open * risk_bid_limit(b, o);
    int64_t left = budget_left(&e->ccs[o->cc]);
    if (more > left) {
      *available = left;
      return IMX_E_INSUFFICIENT_BUDGET;
    }
    return IMX_OK;
  }
  int64_t left = capacity_left(position_find(e, o->cc, o->service));
  if (qty_open - o->qty_open > left) {
    *available = left;
    return IMX_E_OVER_CAPACITY;
  }
  return IMX_OK;
}

void risk_settle(imx_engine *e, uint32_t buyer, int64_t reserved_minor,
                 uint32_t seller, uint32_t service, int64_t qty,
                 int64_t price_minor) {
  if (!e->risk) return;
  IMX_ASSERT(declared(e, buyer) && declared(e, seller) && buyer != seller);
  IMX_ASSERT(qty > 0 && price_minor > 0 && qty * price_minor <= reserved_minor);
  cc_account *b = &e->ccs[buyer], *s = &e->ccs[seller];
  b->reserved_minor -= reserved_minor;
  b->spent_minor += qty * price_minor;
  s->earned_minor += qty * price_minor;
  position *p = position_find(e, seller, service);
  IMX_ASSERT(p != NULL);
  p->cap_reserved -= qty;
  p->sold += qty;
  IMX_ASSERT(b->reserved_minor >= 0 && budget_left(b) >= 0);
  IMX_ASSERT(p->cap_reserved >= 0 && capacity_left(p) >= 0);
}

void risk_fill(imx_engine *e, const order *buy, const order *sell, int64_t qty,
               int64_t price_minor) {
  if (!e->risk) return;
  const book *b = &e->books[buy->service];
  risk_settle(e, buy->cc, qty * risk_bid_limit(b, buy),
              sell->cc, sell->service, qty, price_minor);
}

/* A tender reserves qty x ceiling of its receiver's budget. Checks and
** reserves in one step, like risk_check_order. */
imx_status risk_check_tender(imx_engine *e, const imx_tender_new *t,
                             int64_t *available) {
  if (!e->risk) return IMX_OK;
  if (!declared(e, t->cc)) return IMX_E_UNKNOWN_CC;
  if (e->tenders_per_cc_max &&
      e->ccs[t->cc].tenders_open >= e->tenders_per_cc_max)
    return IMX_E_TOO_MANY_TENDERS;
  imx_status s = reserve_budget(e, t->cc, t->qty * t->ceiling_minor, available);
  if (s != IMX_OK) return s;
  e->ccs[t->cc].tenders_open++;
  IMX_ASSERT(!e->tenders_per_cc_max ||
             e->ccs[t->cc].tenders_open <= e->tenders_per_cc_max);
  return IMX_OK;
}

/* The tender's budget is released or settled by the caller. */
void risk_tender_closed(imx_engine *e, uint32_t cc) {
  if (!e->risk) return;
  IMX_ASSERT(declared(e, cc) && e->ccs[cc].tenders_open > 0);
  e->ccs[cc].tenders_open--;
}

/* ------------------------------------------------------------ interface */

imx_status imx_engine_cc_set(imx_engine *e, uint32_t cc, int64_t budget_minor) {
  IMX_ASSERT(e != NULL);
  if (!e->risk) return IMX_E_BAD_CONFIG;
  if (cc >= e->ccs_max) return IMX_E_UNKNOWN_CC;
  if (budget_minor < 0) return IMX_E_BAD_PRICE;
  cc_account *a = &e->ccs[cc];
  /* The new budget replaces the old one in the sum. Both terms are at most
  ** IMX_BUDGETS_TOTAL_MAX_MINOR here, so the comparison cannot overflow. */
  int64_t others = e->budgets_total_minor - a->budget_minor;
  IMX_ASSERT(others >= 0 && others <= IMX_BUDGETS_TOTAL_MAX_MINOR);
  if (budget_minor > IMX_BUDGETS_TOTAL_MAX_MINOR - others)
    return IMX_E_BAD_CONFIG;
  if (budget_minor < a->reserved_minor) return IMX_E_INSUFFICIENT_BUDGET;
  a->declared = 1;
  a->budget_minor = budget_minor;
  e->budgets_total_minor = others + budget_minor;
  a->spent_minor = 0;
  a->earned_minor = 0;
  IMX_ASSERT(budget_left(a) >= 0);
  return IMX_OK;
}

imx_status imx_engine_capacity_set(imx_engine *e, uint32_t cc, uint32_t service,
                                   int64_t capacity) {
  IMX_ASSERT(e != NULL);
  if (!e->risk) return IMX_E_BAD_CONFIG;
  if (!declared(e, cc)) return IMX_E_UNKNOWN_CC;
  if (service >= e->services_n) return IMX_E_UNKNOWN_SERVICE;
  if (capacity < 0 || capacity > IMX_QTY_MAX) return IMX_E_BAD_QTY;
  position *p = position_make(e, cc, service);
  if (p == NULL) return IMX_E_POSITIONS_FULL;
  if (capacity < p->cap_reserved) return IMX_E_OVER_CAPACITY;
  p->capacity = capacity;
  p->sold = 0;
  IMX_ASSERT(capacity_left(p) >= 0);
  return IMX_OK;
}

imx_status imx_engine_balance(const imx_engine *e, uint32_t cc,
                              imx_balance *out) {
  if (!e->risk) return IMX_E_BAD_CONFIG;
  if (!declared(e, cc)) return IMX_E_UNKNOWN_CC;
  const cc_account *a = &e->ccs[cc];
  out->budget_minor = a->budget_minor;
  out->reserved_minor = a->reserved_minor;
  out->spent_minor = a->spent_minor;
  out->earned_minor = a->earned_minor;
  out->available_minor = budget_left(a);
  return IMX_OK;
}

imx_status imx_engine_capacity(const imx_engine *e, uint32_t cc,
                               uint32_t service, imx_capacity *out) {
  if (!e->risk) return IMX_E_BAD_CONFIG;
  if (!declared(e, cc)) return IMX_E_UNKNOWN_CC;
  const position *p = position_find(e, cc, service);
  memset(out, 0, sizeof *out);
  if (p == NULL || p->capacity < 0) return IMX_OK;
  out->capacity = p->capacity;
  out->reserved = p->cap_reserved;
  out->sold = p->sold;
  out->available = capacity_left(p);
  return IMX_OK;
}

/* ----------------------------------------------------------- invariants */

/* Adds up, into scratch memory, what the open orders and tenders reserve
** and how many each cost centre has open. 0, or a check number. */
static int recompute(const imx_engine *e) {
  int64_t *cc_res = e->check_cc_reserved;
  uint32_t *counts = e->check_cc_counts; /* 2 per cc: orders, tenders */
  int64_t *cap_res = e->check_cap_reserved;
  memset(cc_res, 0, e->ccs_max * sizeof *cc_res);
  memset(counts, 0, 2 * (size_t)e->ccs_max * sizeof *counts);
  memset(cap_res, 0, e->positions_max * sizeof *cap_res);
  for (uint32_t s = 0; s < e->pool_n; s++) {
    const order *o = &e->pool[s];
    if (!o->live) continue;
    if (!declared(e, o->cc)) return 30;
    counts[2 * o->cc]++;
    if (o->side == IMX_BID) {
      cc_res[o->cc] += o->qty_open * risk_bid_limit(&e->books[o->service], o);
      continue;
    }
    const position *p = position_find(e, o->cc, o->service);
    if (p == NULL) return 31;
    cap_res[p - e->positions] += o->qty_open;
  }
  for (uint32_t t = e->tender_head; t != NIL; t = e->tenders[t].next) {
    const tender *td = &e->tenders[t];
    if (!declared(e, td->cc)) return 30;
    cc_res[td->cc] += td->qty * td->ceiling_minor;
    counts[2 * td->cc + 1]++;
    for (uint32_t q = 0; q < td->quotes_n; q++) {
      const position *p = position_find(e, td->quotes[q].cc, td->service);
      if (p == NULL) return 31;
      cap_res[p - e->positions] += td->qty;
    }
  }
  return 0;
}

/* Recomputes every reservation and open count from the open orders and
** tenders in one pass and compares. For tests. */
int risk_check(const imx_engine *e) {
  if (!e->risk) return e->positions_n == 0 ? 0 : 36;
  int rc = recompute(e);
  if (rc) return rc;
  int64_t budgets = 0; /* each <= the bound, the sum of up to 2^24 fits */
  for (uint32_t cc = 0; cc < e->ccs_max; cc++) {
    const cc_account *a = &e->ccs[cc];
    const uint32_t *n = &e->check_cc_counts[2 * cc];
    budgets += a->budget_minor;
    if (!a->declared) {
      if (a->reserved_minor || a->budget_minor || a->orders_open ||
          a->tenders_open)
        return 32;
      continue;
    }
    if (a->reserved_minor < 0 || a->spent_minor < 0 || a->earned_minor < 0)
      return 33;
    if (budget_left(a) < 0) return 34;
    if (e->check_cc_reserved[cc] != a->reserved_minor) return 35;
    if (n[0] != a->orders_open || n[1] != a->tenders_open) return 39;
  }
  for (uint32_t i = 0; i < e->positions_n; i++) {
    const position *p = &e->positions[i];
    if (p->cap_reserved < 0 || p->sold < 0) return 36;
    if (p->capacity >= 0 && capacity_left(p) < 0) return 37;
    if (e->check_cap_reserved[i] != p->cap_reserved) return 38;
    if (position_find(e, p->cc, p->service) != p) return 38;
  }
  if (e->position_index.n != e->positions_n) return 38;
  if (budgets != e->budgets_total_minor ||
      budgets > IMX_BUDGETS_TOTAL_MAX_MINOR)
    return 33;
  return 0;
}

/* ------------------------------------------------------------ snapshots */

/* Declared accounts as they are (reservations and counts included: the
** caller's check recomputes them from the orders and tenders read after),
** then every position in the order it was made. */
void risk_snap_write(const imx_engine *e, snap_out *o) {
  uint32_t declared_n = 0;
  for (uint32_t cc = 0; e->risk && cc < e->ccs_max; cc++) declared_n += e->ccs[cc].declared != 0;
  snap_u32(o, declared_n);
  for (uint32_t cc = 0; e->risk && cc < e->ccs_max; cc++) {
    const cc_account *a = &e->ccs[cc];
    if (!a->declared) continue;
    snap_u32(o, cc);
    snap_i64(o, a->budget_minor);
    snap_i64(o, a->reserved_minor);
    snap_i64(o, a->spent_minor);
    snap_i64(o, a->earned_minor);
    snap_u32(o, a->orders_open);
    snap_u32(o, a->tenders_open);
  }
  snap_u32(o, e->positions_n);
  for (uint32_t i = 0; i < e->positions_n; i++) {
    const position *p = &e->positions[i];
    snap_u32(o, p->cc);
    snap_u32(o, p->service);
    snap_i64(o, p->capacity);
    snap_i64(o, p->cap_reserved);
    snap_i64(o, p->sold);
  }
}

static int money_ok(int64_t v) { return v >= 0 && v <= IMX_BUDGETS_TOTAL_MAX_MINOR; }

/* The engine's positions so far (made by the market's setup, in the same
** order as in the engine that wrote) must be the snapshot's first ones. */
int risk_snap_read(imx_engine *e, snap_in *in) {
  uint32_t n = snap_get_u32(in);
  if (in->why) return -1;
  if (!e->risk && n != 0) return snap_fail(in, "accounts in a snapshot without risk limits");
  if (n > e->ccs_max) return snap_fail(in, "more accounts than cost centres");
  if (e->risk) memset(e->ccs, 0, e->ccs_max * sizeof *e->ccs);
  e->budgets_total_minor = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t cc = snap_get_u32(in);
    cc_account a = {.budget_minor = snap_get_i64(in), .reserved_minor = snap_get_i64(in),
                    .spent_minor = snap_get_i64(in), .earned_minor = snap_get_i64(in),
                    .orders_open = snap_get_u32(in), .tenders_open = snap_get_u32(in),
                    .declared = 1};
    if (in->why) return -1;
    if (cc >= e->ccs_max || e->ccs[cc].declared)
      return snap_fail(in, "an account's cost centre is out of range or twice");
    if (!money_ok(a.budget_minor) || !money_ok(a.reserved_minor) ||
        !money_ok(a.spent_minor) || !money_ok(a.earned_minor))
      return snap_fail(in, "an account's amount is out of range");
    e->budgets_total_minor += a.budget_minor;
    if (e->budgets_total_minor > IMX_BUDGETS_TOTAL_MAX_MINOR)
      return snap_fail(in, "the budgets add up to more than the limit");
    e->ccs[cc] = a;
  }
  uint32_t positions = snap_get_u32(in);
  if (in->why) return -1;
  if (positions > e->positions_max || positions < e->positions_n)
    return snap_fail(in, "the positions do not fit this market");
  for (uint32_t i = 0; i < positions; i++) {
    uint32_t cc = snap_get_u32(in), service = snap_get_u32(in);
    int64_t capacity = snap_get_i64(in), reserved = snap_get_i64(in), sold = snap_get_i64(in);
    if (in->why) return -1;
    if (!declared(e, cc) || service >= e->services_n || capacity < -1 ||
        capacity > IMX_QTY_MAX || reserved < 0 || sold < 0)
      return snap_fail(in, "a position is out of range");
    position *p;
    if (i < e->positions_n) {
      p = &e->positions[i];
      if (p->cc != cc || p->service != service)
        return snap_fail(in, "the positions are not this market's");
    } else {
      if (position_find(e, cc, service) != NULL)
        return snap_fail(in, "a position is in the snapshot twice");
      p = position_make(e, cc, service);
      IMX_ASSERT(p != NULL); /* positions <= positions_max */
    }
    p->capacity = capacity;
    p->cap_reserved = reserved;
    p->sold = sold;
  }
  return 0;
}
