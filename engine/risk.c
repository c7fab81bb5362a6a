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
** tenders and compares. Amounts cannot overflow: qty <= 1e9 and price <=
** 1e9, and budgets are checked before anything is added.
**
** Positions -- (cost centre, service) pairs -- hold capacities and, for
** auction books, how many orders a cost centre has open on each side (an
** auction has no time order between the sides, so self-trade prevention
** there refuses an order when its own cost centre is on the other side).
*/
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

#define CCS_DEFAULT 1024u
#define POSITIONS_DEFAULT 65536u
#define CCS_MAX (1u << 24)
#define POSITIONS_MAX (1u << 24)

int risk_positions_alloc(imx_engine *e) {
  if (e->positions) return 0;
  uint32_t size = 2;
  while (size < 2 * e->positions_max) size *= 2;
  e->positions = eng_alloc(e, e->positions_max, sizeof(position));
  e->position_slots = eng_alloc(e, size, sizeof(uint32_t));
  e->check_positions = eng_alloc(e, 3 * (size_t)e->positions_max,
                                 sizeof(int64_t));
  if (!e->positions || !e->position_slots || !e->check_positions) return -1;
  memset(e->position_slots, 0xff, size * sizeof(uint32_t));
  e->position_mask = size - 1;
  return 0;
}

int risk_init(imx_engine *e, const imx_engine_config *cfg) {
  e->risk = cfg->risk != 0;
  e->orders_per_cc_max = cfg->orders_per_cc_max;
  e->ccs_max = cfg->ccs_max ? cfg->ccs_max : CCS_DEFAULT;
  e->positions_max = cfg->positions_max ? cfg->positions_max : POSITIONS_DEFAULT;
  if (e->ccs_max > CCS_MAX || e->positions_max > POSITIONS_MAX) return -1;
  if (!e->risk) return 0;
  e->ccs = eng_alloc(e, e->ccs_max, sizeof(cc_account));
  e->check_cc_reserved = eng_alloc(e, e->ccs_max, sizeof(int64_t));
  if (e->ccs == NULL || e->check_cc_reserved == NULL) return -1;
  return risk_positions_alloc(e);
}

void risk_free(imx_engine *e) {
  free(e->check_cc_reserved);
  free(e->check_positions);
  free(e->ccs);
  free(e->positions);
  free(e->position_slots);
}

int risk_tracks_positions(const imx_engine *e, const book *b) {
  return b->mode == IMX_MODE_AUCTION;
  (void)e;
}

static uint32_t position_home(const imx_engine *e, uint32_t cc,
                              uint32_t service) {
  uint64_t key = ((uint64_t)cc << 32) | service;
  return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & e->position_mask;
}

/* Positions are never removed, so plain linear probing suffices. */
position *risk_position(imx_engine *e, uint32_t cc, uint32_t service,
                        int create) {
  /* Allocated when risk is on or an auction service is added. */
  if (e->positions == NULL) return NULL;
  uint32_t i = position_home(e, cc, service);
  for (;;) {
    uint32_t slot = e->position_slots[i];
    if (slot == NIL) break;
    position *p = &e->positions[slot];
    if (p->cc == cc && p->service == service) return p;
    i = (i + 1) & e->position_mask;
  }
  if (!create || e->positions_n == e->positions_max) return NULL;
  position *p = &e->positions[e->positions_n];
  memset(p, 0, sizeof *p);
  p->cc = cc;
  p->service = service;
  p->capacity = -1;
  e->position_slots[i] = e->positions_n++;
  return p;
}

static const position *position_get(const imx_engine *e, uint32_t cc,
                                    uint32_t service) {
  return risk_position((imx_engine *)e, cc, service, 0);
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

imx_status risk_reserve_budget(imx_engine *e, uint32_t cc, int64_t amount_minor,
                               int64_t *available) {
  if (!e->risk) return IMX_OK;
  if (cc >= e->ccs_max || !e->ccs[cc].declared) return IMX_E_UNKNOWN_CC;
  cc_account *a = &e->ccs[cc];
  assert(amount_minor >= 0);
  if (amount_minor > budget_left(a)) {
    *available = budget_left(a);
    return IMX_E_INSUFFICIENT_BUDGET;
  }
  a->reserved_minor += amount_minor;
  return IMX_OK;
}

void risk_release_budget(imx_engine *e, uint32_t cc, int64_t amount_minor) {
  if (!e->risk) return;
  cc_account *a = &e->ccs[cc];
  a->reserved_minor -= amount_minor;
  assert(a->declared && a->reserved_minor >= 0);
}

imx_status risk_reserve_capacity(imx_engine *e, uint32_t cc, uint32_t service,
                                 int64_t qty, int64_t *available) {
  if (!e->risk) return IMX_OK;
  if (cc >= e->ccs_max || !e->ccs[cc].declared) return IMX_E_UNKNOWN_CC;
  position *p = risk_position(e, cc, service, 0);
  if (qty > capacity_left(p)) {
    *available = capacity_left(p);
    return IMX_E_OVER_CAPACITY;
  }
  p->cap_reserved += qty;
  return IMX_OK;
}

void risk_release_capacity(imx_engine *e, uint32_t cc, uint32_t service,
                           int64_t qty) {
  if (!e->risk) return;
  position *p = risk_position(e, cc, service, 0);
  assert(p != NULL);
  p->cap_reserved -= qty;
  assert(p->cap_reserved >= 0);
}

/* Checks and reserves in one step, so that a rejected order holds nothing. */
imx_status risk_check_order(imx_engine *e, const imx_order_new *o,
                            int64_t *available) {
  if (!e->risk) return IMX_OK;
  const book *b = &e->books[o->service];
  if (o->cc < e->ccs_max && e->orders_per_cc_max &&
      e->ccs[o->cc].orders_open >= e->orders_per_cc_max)
    return IMX_E_TOO_MANY_ORDERS;
  if (o->side == IMX_BID) {
    int64_t limit = o->price_minor == IMX_PRICE_MARKET ? b->price_cap_minor
                                                       : o->price_minor;
    return risk_reserve_budget(e, o->cc, o->qty * limit, available);
  }
  return risk_reserve_capacity(e, o->cc, o->service, o->qty, available);
}

void risk_order_opened(imx_engine *e, const order *o) {
  if (e->risk) e->ccs[o->cc].orders_open++;
}

void risk_order_closed(imx_engine *e, const order *o) {
  if (!e->risk) return;
  assert(e->ccs[o->cc].orders_open > 0);
  e->ccs[o->cc].orders_open--;
}

/* What an order holds for its open quantity, released when it leaves. */
void risk_unreserve_order(imx_engine *e, const order *o) {
  if (!e->risk || o->qty_open == 0) return;
  if (o->side == IMX_BID)
    risk_release_budget(e, o->cc,
                        o->qty_open * risk_bid_limit(&e->books[o->service], o));
  else
    risk_release_capacity(e, o->cc, o->service, o->qty_open);
}

void risk_reserve_order(imx_engine *e, const order *o) {
  if (!e->risk) return;
  int64_t available;
  imx_status s;
  if (o->side == IMX_BID)
    s = risk_reserve_budget(
        e, o->cc, o->qty_open * risk_bid_limit(&e->books[o->service], o),
        &available);
  else
    s = risk_reserve_capacity(e, o->cc, o->service, o->qty_open, &available);
  assert(s == IMX_OK); /* risk_check_modify made room */
  (void)s;
}

/* Would the order still fit with a new open qty and price? Nothing
** changes; on IMX_OK the caller unreserves, modifies, and reserves. */
imx_status risk_check_modify(imx_engine *e, const order *o, int64_t qty_open,
                             int64_t price_minor, int64_t *available) {
  if (!e->risk) return IMX_OK;
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
  int64_t left = capacity_left(position_get(e, o->cc, o->service));
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
  cc_account *b = &e->ccs[buyer], *s = &e->ccs[seller];
  assert(qty * price_minor <= reserved_minor);
  b->reserved_minor -= reserved_minor;
  b->spent_minor += qty * price_minor;
  s->earned_minor += qty * price_minor;
  position *p = risk_position(e, seller, service, 0);
  assert(p != NULL);
  p->cap_reserved -= qty;
  p->sold += qty;
  assert(b->reserved_minor >= 0 && budget_left(b) >= 0);
  assert(p->cap_reserved >= 0 && capacity_left(p) >= 0);
}

void risk_fill(imx_engine *e, const order *buy, const order *sell, int64_t qty,
               int64_t price_minor) {
  if (!e->risk) return;
  const book *b = &e->books[buy->service];
  risk_settle(e, buy->cc, qty * risk_bid_limit(b, buy), sell->cc,
              sell->service, qty, price_minor);
}

/* ------------------------------------------------------------ interface */

imx_status imx_engine_cc_set(imx_engine *e, uint32_t cc, int64_t budget_minor) {
  assert(e != NULL);
  if (!e->risk) return IMX_E_BAD_CONFIG;
  if (cc >= e->ccs_max) return IMX_E_UNKNOWN_CC;
  if (budget_minor < 0 || budget_minor > INT64_MAX / 4) return IMX_E_BAD_PRICE;
  cc_account *a = &e->ccs[cc];
  if (budget_minor < a->reserved_minor) return IMX_E_INSUFFICIENT_BUDGET;
  a->declared = 1;
  a->budget_minor = budget_minor;
  a->spent_minor = 0;
  a->earned_minor = 0;
  return IMX_OK;
}

imx_status imx_engine_capacity_set(imx_engine *e, uint32_t cc, uint32_t service,
                                   int64_t capacity) {
  assert(e != NULL);
  if (!e->risk) return IMX_E_BAD_CONFIG;
  if (cc >= e->ccs_max || !e->ccs[cc].declared) return IMX_E_UNKNOWN_CC;
  if (service >= e->services_n) return IMX_E_UNKNOWN_SERVICE;
  if (capacity < 0 || capacity > IMX_QTY_MAX) return IMX_E_BAD_QTY;
  position *p = risk_position(e, cc, service, 1);
  if (p == NULL) return IMX_E_POSITIONS_FULL;
  if (capacity < p->cap_reserved) return IMX_E_OVER_CAPACITY;
  p->capacity = capacity;
  p->sold = 0;
  return IMX_OK;
}

imx_status imx_engine_balance(const imx_engine *e, uint32_t cc,
                              imx_balance *out) {
  if (!e->risk) return IMX_E_BAD_CONFIG;
  if (cc >= e->ccs_max || !e->ccs[cc].declared) return IMX_E_UNKNOWN_CC;
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
  if (cc >= e->ccs_max || !e->ccs[cc].declared) return IMX_E_UNKNOWN_CC;
  const position *p = position_get(e, cc, service);
  memset(out, 0, sizeof *out);
  if (p == NULL || p->capacity < 0) return IMX_OK;
  out->capacity = p->capacity;
  out->reserved = p->cap_reserved;
  out->sold = p->sold;
  out->available = capacity_left(p);
  return IMX_OK;
}

/* ----------------------------------------------------------- invariants */

/* Recomputes every reservation and open count from the open orders and
** tenders in one pass, into scratch memory, and compares. For tests. */
int risk_check(const imx_engine *e) {
  int64_t *cc_res = e->check_cc_reserved;
  int64_t *pos = e->check_positions; /* 3 per position: reserved, bids, offers */
  if (cc_res) memset(cc_res, 0, e->ccs_max * sizeof *cc_res);
  if (pos) memset(pos, 0, 3 * (size_t)e->positions_max * sizeof *pos);
  for (uint32_t s = 0; s < e->orders_max; s++) {
    const order *o = &e->pool[s];
    if (!o->live) continue;
    const book *b = &e->books[o->service];
    if (e->risk && o->side == IMX_BID)
      cc_res[o->cc] += o->qty_open * risk_bid_limit(b, o);
    const position *p = position_get(e, o->cc, o->service);
    if (p == NULL) {
      if (b->mode == IMX_MODE_AUCTION || (e->risk && o->side == IMX_OFFER))
        return 30;
      continue;
    }
    size_t k = 3 * (size_t)(p - e->positions);
    if (o->side == IMX_OFFER) pos[k] += o->qty_open;
    pos[k + 1 + o->side]++;
  }
  for (uint32_t t = e->tender_head; t != NIL; t = e->tenders[t].next) {
    const tender *td = &e->tenders[t];
    if (e->risk) cc_res[td->cc] += td->qty * td->ceiling_minor;
    for (uint32_t q = 0; q < td->quotes_n; q++) {
      const position *p = position_get(e, td->quotes[q].cc, td->service);
      if (p) pos[3 * (size_t)(p - e->positions)] += td->qty;
      else if (e->risk) return 31;
    }
  }
  for (uint32_t cc = 0; e->risk && cc < e->ccs_max; cc++) {
    const cc_account *a = &e->ccs[cc];
    if (!a->declared) {
      if (a->reserved_minor || cc_res[cc]) return 32;
      continue;
    }
    if (a->reserved_minor < 0 || a->spent_minor < 0 || a->earned_minor < 0)
      return 33;
    if (budget_left(a) < 0) return 34;
    if (cc_res[cc] != a->reserved_minor) return 35;
  }
  for (uint32_t i = 0; i < e->positions_n; i++) {
    const position *p = &e->positions[i];
    if (p->cap_reserved < 0 || p->sold < 0) return 36;
    if (p->capacity >= 0 && capacity_left(p) < 0) return 37;
    if (e->risk && pos[3 * i] != p->cap_reserved) return 38;
    if (e->books[p->service].mode == IMX_MODE_AUCTION &&
        ((int64_t)p->open[0] != pos[3 * i + 1] ||
         (int64_t)p->open[1] != pos[3 * i + 2]))
      return 39;
  }
  return 0;
}
