/*
** engine.c -- the continuous matching engine: order books, price-time
** priority, aon, ioc/fok, self-trade prevention, modify and period expiry.
** The rules are specified in docs/matching.md; this file is their fast
** implementation, tests/refmodel.c the slow one they are compared against.
** Auction books, risk limits and tenders have files of their own
** (engine_int.h lists them); this one owns the order pool and the books.
**
** Memory layout. Everything is allocated up front:
**
**   pool[pool_n]       every order (64 bytes, one cache line: the pool is
**                      line-aligned), in blocks of 16 (see "order pool").
**   orders             id -> pool slot (index.c): one load. O(1) cancel.
**   links[pool_n]      each cost centre's open orders are a list through
**                      these, by pool slot, so order.list costs what it
**                      returns; by_cc maps a cost centre to the last of its
**                      open orders (index.c).
**   books[services]    two sides per book; a side is a pool of price
**                      levels with a red-black tree over them, or a tick
**                      map where the service has few prices (levels.c),
**                      ordered by eng_key(): bids by price ascending,
**                      offers by price descending, market orders (auction
**                      books only) highest, so the BEST level is the
**                      maximum, which the side caches: matching reads it in
**                      O(1).
**   level              price, open total, a FIFO of orders as a doubly
**                      linked list of pool slots (head = oldest). A level
**                      keeps its slot while it exists.
**
** The side's pool (levels_max slots) is an explicit limit rather than an
** allocation on the hot path. It was a sorted array until random prices
** made books thousands of levels deep and the memmove of every new or
** emptied level the simulator's largest cost (levels.c says more). The
** large tables come from eng_big_alloc: on huge pages where the kernel
** has them.
*/
#define _DEFAULT_SOURCE /* madvise */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "engine_int.h"

/* ---------------------------------------------------------------- names */

const char *imx_status_name(imx_status s) {
  switch (s) {
  case IMX_OK: return "ok";
  case IMX_E_UNKNOWN_SERVICE: return "unknown_service";
  case IMX_E_UNKNOWN_ORDER: return "unknown_order";
  case IMX_E_BAD_SIDE: return "bad_side";
  case IMX_E_BAD_TIF: return "bad_tif";
  case IMX_E_BAD_QTY: return "bad_qty";
  case IMX_E_BAD_PRICE: return "bad_price";
  case IMX_E_BAD_TICK: return "bad_tick";
  case IMX_E_BAD_LOT: return "bad_lot";
  case IMX_E_AON_REQUIRED: return "aon_required";
  case IMX_E_ORDERS_FULL: return "orders_full";
  case IMX_E_LEVELS_FULL: return "levels_full";
  case IMX_E_SERVICES_FULL: return "services_full";
  case IMX_E_BAD_CONFIG: return "bad_config";
  case IMX_E_NOMEM: return "nomem";
  case IMX_E_UNKNOWN_CC: return "unknown_cc";
  case IMX_E_INSUFFICIENT_BUDGET: return "insufficient_budget";
  case IMX_E_OVER_CAPACITY: return "over_capacity";
  case IMX_E_SELF_TRADE: return "self_trade";
  case IMX_E_WRONG_MODE: return "wrong_mode";
  case IMX_E_POSITIONS_FULL: return "positions_full";
  case IMX_E_TENDERS_FULL: return "tenders_full";
  case IMX_E_UNKNOWN_TENDER: return "unknown_tender";
  case IMX_E_ABOVE_CEILING: return "above_ceiling";
  case IMX_E_QUOTES_FULL: return "quotes_full";
  case IMX_E_ALREADY_QUOTED: return "already_quoted";
  case IMX_E_BAD_DEADLINE: return "bad_deadline";
  case IMX_E_TOO_MANY_ORDERS: return "too_many_orders";
  case IMX_E_TOO_MANY_TENDERS: return "too_many_tenders";
  case IMX_E_UNKNOWN_QUOTE: return "unknown_quote";
  case IMX_E_WRONG_DECIDE: return "wrong_decide";
  case IMX_E_BAD_STARS: return "bad_stars";
  case IMX_E_RATINGS_FULL: return "ratings_full";
  case IMX_E_BAD_WEIGHTS: return "bad_weights";
  }
  return "unknown";
}

const char *imx_cancel_reason_name(imx_cancel_reason r) {
  switch (r) {
  case IMX_CANCEL_USER: return "user";
  case IMX_CANCEL_IOC: return "ioc";
  case IMX_CANCEL_FOK: return "fok";
  case IMX_CANCEL_SELF_TRADE: return "self_trade";
  }
  return "unknown";
}

const char *imx_side_name(imx_side s) {
  return s == IMX_BID     ? "bid"
         : s == IMX_OFFER ? "offer"
         : s == IMX_NO_SIDE ? "none"
                          : "unknown";
}

const char *imx_tif_name(imx_tif t) {
  switch (t) {
  case IMX_TIF_GTC: return "gtc";
  case IMX_TIF_PERIOD: return "period";
  case IMX_TIF_IOC: return "ioc";
  case IMX_TIF_FOK: return "fok";
  }
  return "unknown";
}

const char *imx_event_type_name(imx_event_type t) {
  switch (t) {
  case IMX_EV_ACCEPTED: return "accepted";
  case IMX_EV_TRADE: return "trade";
  case IMX_EV_CANCELLED: return "cancelled";
  case IMX_EV_EXPIRED: return "expired";
  case IMX_EV_REJECTED: return "rejected";
  case IMX_EV_MODIFIED: return "modified";
  case IMX_EV_AUCTION: return "auction";
  case IMX_EV_TENDER_OPENED: return "tender_opened";
  case IMX_EV_QUOTE_ACCEPTED: return "quote_accepted";
  case IMX_EV_QUOTE_RELEASED: return "quote_released";
  case IMX_EV_TENDER_AWARDED: return "tender_awarded";
  case IMX_EV_TENDER_UNFILLED: return "tender_unfilled";
  case IMX_EV_TENDER_CANCELLED: return "tender_cancelled";
  case IMX_EV_TENDER_LAPSED: return "tender_lapsed";
  case IMX_EV_QUOTE_WITHDRAWN: return "quote_withdrawn";
  }
  return "unknown";
}

/* --------------------------------------------------------------- events */

void eng_emit(imx_engine *e, const imx_event *ev) { e->on_event(e->ctx, ev); }

/* The fields every event about one order has. */
static void ev_order(imx_event *ev, imx_event_type type, const order *o) {
  eng_event_start(ev, type);
  ev->service = o->service;
  ev->order_id = o->id;
  ev->cc = o->cc;
  ev->side = (imx_side)o->side;
}

static void emit_accepted(imx_engine *e, const order *o) {
  imx_event ev;
  ev_order(&ev, IMX_EV_ACCEPTED, o);
  ev.tif = (imx_tif)o->tif;
  ev.aon = o->aon;
  ev.qty = o->qty_filled + o->qty_open;
  ev.price_minor = o->price_minor;
  eng_emit(e, &ev);
}

void eng_emit_cancelled(imx_engine *e, const order *o, imx_cancel_reason why) {
  imx_event ev;
  ev_order(&ev, IMX_EV_CANCELLED, o);
  ev.qty = o->qty_open;
  ev.reason = why;
  eng_emit(e, &ev);
}

static void emit_expired(imx_engine *e, const order *o) {
  imx_event ev;
  ev_order(&ev, IMX_EV_EXPIRED, o);
  ev.qty = o->qty_open;
  eng_emit(e, &ev);
}

static void emit_modified(imx_engine *e, const order *o, int kept) {
  imx_event ev;
  ev_order(&ev, IMX_EV_MODIFIED, o);
  ev.qty = o->qty_open;
  ev.price_minor = o->price_minor;
  ev.priority_kept = kept;
  eng_emit(e, &ev);
}

imx_status eng_reject(imx_engine *e, uint64_t order_id, imx_status why,
                      int64_t available) {
  imx_event ev;
  IMX_ASSERT(why != IMX_OK);
  eng_event_start(&ev, IMX_EV_REJECTED);
  ev.order_id = order_id;
  ev.status = why;
  ev.available = available;
  eng_emit(e, &ev);
  return why;
}

void eng_emit_trade(imx_engine *e, const order *buy, const order *sell,
                    int64_t qty, int64_t price_minor, imx_side aggressor) {
  imx_event ev;
  IMX_ASSERT(buy->side == IMX_BID && sell->side == IMX_OFFER);
  eng_event_start(&ev, IMX_EV_TRADE);
  ev.service = buy->service;
  ev.trade_id = e->trade_id_next++;
  ev.buy_order_id = buy->id;
  ev.sell_order_id = sell->id;
  ev.buyer_cc = buy->cc;
  ev.seller_cc = sell->cc;
  ev.qty = qty;
  ev.price_minor = price_minor;
  ev.aggressor = aggressor;
  eng_emit(e, &ev);
}

/* ----------------------------------------------------------- order pool */

/*
** In auction books the orders of one price level live close together, so
** that the call's walk over a level reads consecutive cache lines instead
** of paying a miss per order. The pool is cut into blocks of POOL_BLOCK
** slots (1 KiB); a level hands each order that comes to rest at it a free
** slot of its own block (level.block), and takes a wholly free block when
** its own is full. Such an order arrives in the stage, the one slot after
** the blocks, and moves into its level's block when it rests (pool_move,
** from rest()); one that rests again after a modify moves to its new
** level's block. A move copies one line and repoints the id index and the
** cost centre's list.
**
** In continuous books an order stays in the slot it arrived in: the most
** recently freed one (a ring of the last POOL_HOT; its line is likely still
** in the cache), else any. Matching reads only the orders at the touch, and
** the hot slot saves the arriving order a miss and a move.
**
** A block is on one list: FREE (every slot free, no level's; a stack),
** PARTIAL (some slot free; newest first) or none (FULL). When no block is
** wholly free, a level takes the first partial block's slot, so the pool
** holds orders_max orders however fragmented; only locality degrades. The
** pool has a quarter more slots than orders_max, so that the part-filled
** blocks of many small levels do not use up the free ones, and a moving
** order always finds a slot while its old one is still taken.
*/
static void partial_push(imx_engine *e, uint32_t b) {
  pool_block *k = &e->blocks[b];
  IMX_ASSERT(k->listed == BLOCK_FULL && k->free != 0);
  k->listed = BLOCK_PARTIAL;
  k->prev = NIL;
  k->next = e->blocks_partial;
  if (k->next != NIL) e->blocks[k->next].prev = b;
  e->blocks_partial = b;
}

static void partial_drop(imx_engine *e, uint32_t b) {
  pool_block *k = &e->blocks[b];
  IMX_ASSERT(k->listed == BLOCK_PARTIAL);
  if (k->prev != NIL) e->blocks[k->prev].next = k->next;
  else e->blocks_partial = k->next;
  if (k->next != NIL) e->blocks[k->next].prev = k->prev;
  k->listed = BLOCK_FULL;
  k->prev = k->next = NIL;
}

/* A partial block whose every slot is free and that no level holds goes
** back to the free stack. */
static void block_settle(imx_engine *e, uint32_t b) {
  pool_block *k = &e->blocks[b];
  if (k->free != POOL_BLOCK_ALL || k->open) return;
  partial_drop(e, b);
  k->listed = BLOCK_FREE;
  k->next = e->blocks_free;
  e->blocks_free = b;
}

/* Takes slot `bit` of block b, which is free. */
static uint32_t block_take_bit(imx_engine *e, uint32_t b, uint32_t bit) {
  pool_block *k = &e->blocks[b];
  IMX_ASSERT(bit < POOL_BLOCK && (k->free >> bit & 1u) && k->listed != BLOCK_FREE);
  uint32_t free = k->free & ~(1u << bit);
  k->free = free;
  if (free == 0 && k->listed == BLOCK_PARTIAL) partial_drop(e, b);
  uint32_t slot = b * POOL_BLOCK + bit;
  IMX_ASSERT(slot < e->stage && !e->pool[slot].live);
  e->pool[slot].live = 1;
  return slot;
}

static uint32_t block_take(imx_engine *e, uint32_t b) {
  return block_take_bit(e, b, (uint32_t)__builtin_ctz(e->blocks[b].free));
}

/* Takes a wholly free block off the free stack; the caller takes its first
** slot and lists it PARTIAL. */
static uint32_t free_block_pop(imx_engine *e) {
  uint32_t b = e->blocks_free;
  IMX_ASSERT(b != NIL); /* blocks_n x POOL_BLOCK > orders_max */
  pool_block *k = &e->blocks[b];
  IMX_ASSERT(k->listed == BLOCK_FREE && k->free == POOL_BLOCK_ALL && !k->open);
  e->blocks_free = k->next;
  k->listed = BLOCK_FULL; /* listed nowhere until partial_push */
  return b;
}

/* A free slot for an order about to rest at l, near l's other orders. */
static uint32_t pool_place(imx_engine *e, level *l) {
  if (l->block != NIL && e->blocks[l->block].free != 0) {
    uint32_t slot = block_take(e, l->block);
    /* The level's next order will likely go to the next slot: have its
    ** line come while the caller works. */
    if (e->blocks[l->block].free != 0)
      __builtin_prefetch(&e->pool[l->block * POOL_BLOCK +
                                  (uint32_t)__builtin_ctz(e->blocks[l->block].free)], 1);
    return slot;
  }
  if (e->blocks_free != NIL) {
    uint32_t b = free_block_pop(e);
    if (e->blocks_free != NIL) __builtin_prefetch(&e->pool[e->blocks_free * POOL_BLOCK], 1);
    __builtin_prefetch(&e->pool[b * POOL_BLOCK + 1], 1);
    e->blocks[b].open = 1;
    e->blocks[b].after = NIL;
    if (l->block != NIL) { /* full: listed nowhere */
      e->blocks[l->block].open = 0;
      e->blocks[l->block].after = b;
    }
    l->block = b;
    uint32_t slot = block_take(e, b);
    partial_push(e, b);
    return slot;
  }
  uint32_t b = e->blocks_partial;
  IMX_ASSERT(b != NIL); /* blocks_n x POOL_BLOCK > orders_max */
  return block_take(e, b);
}

/* Any free slot, the most recently freed first (its line is likely still
** in the cache). */
static uint32_t pool_any(imx_engine *e) {
  while (e->hot_n > 0) {
    e->hot_n--;
    e->hot_top = (e->hot_top + POOL_HOT - 1) % POOL_HOT;
    uint32_t slot = e->hot[e->hot_top];
    const pool_block *k = &e->blocks[slot / POOL_BLOCK];
    if ((k->free >> (slot % POOL_BLOCK) & 1u) && k->listed != BLOCK_FREE)
      return block_take_bit(e, slot / POOL_BLOCK, slot % POOL_BLOCK);
  }
  uint32_t b = e->blocks_partial, slot;
  if (b == NIL) {
    b = free_block_pop(e);
    slot = block_take(e, b);
    partial_push(e, b);
  } else {
    slot = block_take(e, b);
  }
  /* Nothing freed lately: the next order will likely take the next free
  ** slot of the first partial block; have its line come meanwhile. */
  b = e->blocks_partial;
  if (b != NIL)
    __builtin_prefetch(&e->pool[b * POOL_BLOCK +
                                (uint32_t)__builtin_ctz(e->blocks[b].free)], 1);
  return slot;
}

/* A slot for an order that has just arrived. In an auction book, the stage:
** the order moves into its level's block when it rests (the call walks
** every order of a level). In a continuous book, where it stays: matching
** reads only the orders at the touch, and a recently freed slot saves the
** arriving order a cache miss and a move. */
static uint32_t pool_take(imx_engine *e, const book *b) {
  IMX_ASSERT(e->orders.n < e->orders_max);
  if (b->mode == IMX_MODE_CONTINUOUS) return pool_any(e);
  IMX_ASSERT(!e->pool[e->stage].live);
  e->pool[e->stage].live = 1;
  return e->stage;
}

static void pool_give(imx_engine *e, uint32_t slot) {
  IMX_ASSERT(slot < e->pool_n && e->pool[slot].live);
  e->pool[slot].live = 0;
  if (slot == e->stage) return;
  uint32_t b = slot / POOL_BLOCK;
  pool_block *k = &e->blocks[b];
  uint32_t bit = 1u << (slot % POOL_BLOCK), free = k->free;
  IMX_ASSERT((free & bit) == 0);
  k->free = free | bit;
  e->hot[e->hot_top] = slot;
  e->hot_top = (e->hot_top + 1) % POOL_HOT;
  if (e->hot_n < POOL_HOT) e->hot_n++;
  if (free == 0) partial_push(e, b); /* it was full */
  else block_settle(e, b);
}

/* An emptied level gives up its block (before it is removed). */
void eng_level_release(imx_engine *e, level *l) {
  IMX_ASSERT(l->count == 0);
  if (l->block == NIL) return;
  pool_block *k = &e->blocks[l->block];
  IMX_ASSERT(k->open);
  k->open = 0;
  if (k->listed == BLOCK_PARTIAL) block_settle(e, l->block);
  l->block = NIL;
}

/* Every slot is exactly one of: a live order, a free bit of its block; the
** lists hold what their names say, each block once; every block a level
** holds is marked open, and as many are open as levels hold one (two
** levels naming one block while another open block has none would pass:
** that would take a mark per block); only auction levels hold blocks; the
** ring of freed slots names slots of blocks; no call is half retired.
** 0 or a check number. */
static int pool_check(const imx_engine *e) {
  if (e->pool[e->stage].live || e->retiring != 0) return 70;
  if (e->hot_n > POOL_HOT || e->hot_top >= POOL_HOT) return 78;
  for (uint32_t i = 0; i < e->hot_n; i++)
    if (e->hot[(e->hot_top + POOL_HOT - 1 - i) % POOL_HOT] >= e->stage) return 78;
  uint32_t live = 0, partial = 0, free_n = 0, open = 0, opened = 0;
  for (uint32_t b = 0; b < e->blocks_n; b++) {
    const pool_block *k = &e->blocks[b];
    for (uint32_t i = 0; i < POOL_BLOCK; i++) {
      int is_free = (k->free >> i) & 1u;
      if (is_free == e->pool[b * POOL_BLOCK + i].live) return 71;
      live += !is_free;
    }
    int want = k->free == 0 ? BLOCK_FULL
               : k->free == POOL_BLOCK_ALL && !k->open ? BLOCK_FREE
                                                       : BLOCK_PARTIAL;
    if (k->listed != want) return 72;
    partial += k->listed == BLOCK_PARTIAL;
    free_n += k->listed == BLOCK_FREE;
    open += k->open;
  }
  if (live != e->orders.n) return 73;
  uint32_t n = 0, prev = NIL;
  for (uint32_t b = e->blocks_partial; b != NIL; b = e->blocks[b].next) {
    if (b >= e->blocks_n || e->blocks[b].listed != BLOCK_PARTIAL ||
        e->blocks[b].prev != prev || ++n > partial)
      return 74;
    prev = b;
  }
  if (n != partial) return 74;
  n = 0;
  for (uint32_t b = e->blocks_free; b != NIL; b = e->blocks[b].next)
    if (b >= e->blocks_n || e->blocks[b].listed != BLOCK_FREE || ++n > free_n)
      return 75;
  if (n != free_n) return 75;
  for (uint32_t svc = 0; svc < e->services_n; svc++)
    for (int side = 0; side < 2; side++) {
      const book_side *bs = &e->books[svc].side[side];
      for (const level *l = side_best(bs); l != NULL; l = level_worse(bs, l)) {
        uint32_t b = l->block;
        if (b == NIL) continue;
        if (e->books[svc].mode == IMX_MODE_CONTINUOUS) return 79;
        if (b >= e->blocks_n || !e->blocks[b].open) return 76;
        opened++;
      }
    }
  return opened == open ? 0 : 77;
}

static order *order_by_id(imx_engine *e, uint64_t id) {
  uint32_t slot = idx_find(&e->orders, id);
  return slot == NIL ? NULL : &e->pool[slot];
}

/* -------------------------------------------- orders of a cost centre */

/*
** Each cost centre's open orders form a list in the order they arrived,
** which is ascending id, through e->links (by pool slot, beside the pool:
** engine_int.h says why). by_cc maps the cost centre to the list's LAST
** order, whose next is the first (the first's prev is NIL): the list is
** reached from its last, which a new order is linked after and whose links
** are usually still in the cache, and appending touches no other entry.
**
** An order is linked only once it rests (at the end of order_new): one that
** fills or is cancelled at once never touches the list. The links of a
** slot whose order is not linked are NIL; a linked one's next never is.
*/
/* The list entry of cc in by_cc is a likely cache miss (one of as many as
** there are cost centres): a caller that will link or unlink starts the
** load early, while it does other work. */
static void cc_prefetch(const imx_engine *e, uint32_t cc) {
  __builtin_prefetch(&e->by_cc.direct[cc & e->by_cc.mask]);
}

static int cc_linked(const imx_engine *e, uint32_t slot) {
  return e->links[slot].next != NIL;
}

/* The last of cc's list, which exists. Without reading that order: by_cc's
** direct entry is the answer where nothing overflowed. */
static uint32_t cc_last(const imx_engine *e, uint32_t cc) {
  uint32_t last = e->by_cc.overflow.n == 0
                      ? e->by_cc.direct[cc & e->by_cc.mask]
                      : idx_find(&e->by_cc, cc);
  IMX_ASSERT(last != NIL);
  return last;
}

static void cc_append(imx_engine *e, uint32_t slot) {
  const order *o = &e->pool[slot];
  cc_link *r = e->links;
  IMX_ASSERT(o->live && !cc_linked(e, slot));
  uint32_t last = idx_find(&e->by_cc, o->cc);
  if (last == NIL) {
    r[slot] = (cc_link){NIL, slot};
    idx_put(&e->by_cc, slot);
    return;
  }
  IMX_ASSERT(e->pool[last].cc == o->cc && e->pool[last].id < o->id);
  r[slot] = (cc_link){last, r[last].next};
  r[last].next = slot;
  idx_set_key(&e->by_cc, o->cc, last, slot);
}

/* Reads the links of the order and of at most two others, and by_cc's
** entry of its cost centre only for a first or a last: never another
** order. The order is the last exactly when its next (the first) has no
** prev. */
static void cc_unlink(imx_engine *e, uint32_t slot) {
  const uint32_t cc = e->pool[slot].cc;
  cc_link *r = e->links;
  cc_link l = r[slot];
  IMX_ASSERT(l.next != NIL);
  r[slot] = (cc_link){NIL, NIL};
  if (l.next == slot) { /* alone */
    IMX_ASSERT(l.prev == NIL);
    idx_del(&e->by_cc, slot);
    return;
  }
  if (r[l.next].prev == NIL) { /* the last: l.next is the first */
    IMX_ASSERT(l.prev != NIL);
    r[l.prev].next = l.next;
    idx_set_key(&e->by_cc, cc, slot, l.prev);
    return;
  }
  r[l.next].prev = l.prev;
  if (l.prev != NIL) r[l.prev].next = l.next;
  else r[cc_last(e, cc)].next = l.next; /* the first: the last learns */
}

/* The order of slot `from`, linked, has been copied to `to`: its links
** move along; its neighbours, or the last (for the first), and by_cc (for
** the last) learn the new slot. */
static void cc_moved(imx_engine *e, uint32_t from, uint32_t to) {
  const uint32_t cc = e->pool[to].cc;
  cc_link *r = e->links;
  cc_link l = r[from];
  IMX_ASSERT(l.next != NIL);
  r[from] = (cc_link){NIL, NIL};
  if (l.next == from) { /* alone */
    r[to] = (cc_link){NIL, to};
    idx_set_key(&e->by_cc, cc, from, to);
    return;
  }
  r[to] = l;
  int last = r[l.next].prev == NIL; /* l.next is the first */
  if (!last) r[l.next].prev = to;
  if (l.prev != NIL) r[l.prev].next = to;
  else r[cc_last(e, cc)].next = to; /* the first */
  if (last) idx_set_key(&e->by_cc, cc, from, to);
}

/* Walks every list from the first order to the last one by_cc names:
** ascending ids, one cost centre, links both ways; the slots of no list
** have no links. 0 or a check number. */
static int cc_lists_check(const imx_engine *e) {
  uint32_t lists = 0, orders = 0, linked = 0;
  const cc_link *r = e->links;
  for (uint32_t s = 0; s < e->pool_n; s++) {
    if (r[s].next == NIL) {
      if (r[s].prev != NIL) return 67;
      continue;
    }
    linked++;
    const order *t = &e->pool[s];
    if (!t->live) return 61;
    if (idx_find(&e->by_cc, t->cc) != s) continue; /* not a last */
    lists++;
    uint32_t prev = NIL, n = 0;
    for (uint32_t k = r[s].next;; k = r[k].next) {
      if (k >= e->pool_n) return 61;
      const order *o = &e->pool[k];
      if (!o->live || o->cc != t->cc) return 61;
      if (r[k].prev != prev || ++n > e->orders_max) return 62;
      if (prev != NIL && e->pool[prev].id >= o->id) return 63;
      prev = k;
      if (k == s) break;
    }
    orders += n;
  }
  if (lists != e->by_cc.n || orders != e->orders.n || linked != orders) return 65;
  return idx_check(&e->by_cc) ? 66 : 0;
}

/* ---------------------------------------------------------------- books */

void eng_level_unlink(imx_engine *e, level *l, uint32_t slot) {
  order *o = &e->pool[slot];
  IMX_ASSERT(l->count > 0 && l->price_minor == o->price_minor);
  if (o->prev != NIL) e->pool[o->prev].next = o->next;
  else l->head = o->next;
  if (o->next != NIL) e->pool[o->next].prev = o->prev;
  else l->tail = o->prev;
  l->count--;
  level_qty_add(l, o, -o->qty_open);
  o->prev = o->next = NIL;
  IMX_ASSERT(l->qty_open >= 0);
  IMX_ASSERT((l->count == 0) == (l->head == NIL));
}

/* Removes an emptied level: it gives up its pool block, then leaves the
** tree (levels.c); no other level moves. */
void eng_side_remove_level(imx_engine *e, book_side *bs, level *l) {
  IMX_ASSERT(l->count == 0 && l->head == NIL && l->qty_open == 0);
  eng_level_release(e, l);
  side_remove_level(bs, l);
}

/* Moves the order of slot `from`, open and detached, to a slot near the
** other orders of l; returns its new slot. */
static uint32_t pool_move(imx_engine *e, uint32_t from, level *l) {
  uint32_t to = pool_place(e, l);
  IMX_ASSERT(to != from);
  e->pool[to] = e->pool[from];
  idx_set(&e->orders, from, to);
  if (cc_linked(e, from)) cc_moved(e, from, to);
  pool_give(e, from);
  return to;
}

/* Puts a detached order at the back of its price level (in an auction
** book, moved to a slot near the level's other orders); returns its slot. */
static uint32_t rest(imx_engine *e, book *b, uint32_t slot) {
  IMX_ASSERT(e->pool[slot].live && e->pool[slot].qty_open > 0);
  IMX_ASSERT(e->pool[slot].prev == NIL && e->pool[slot].next == NIL);
  /* The caller checked levels_full before anything happened. */
  book_side *bs = &b->side[e->pool[slot].side];
  level *l = side_insert_level(bs, e->pool[slot].price_minor);
  if (b->mode == IMX_MODE_AUCTION) slot = pool_move(e, slot, l);
  order *o = &e->pool[slot];
  o->level = level_slot(bs, l);
  o->prev = l->tail;
  o->next = NIL;
  if (l->tail != NIL) e->pool[l->tail].next = slot;
  else l->head = slot;
  l->tail = slot;
  l->count++;
  level_qty_add(l, o, o->qty_open);
  IMX_ASSERT(l->price_minor == o->price_minor && l->qty_open >= o->qty_open);
  return slot;
}

/* Starts loading what eng_retire(slot) will touch far from the order: its
** cost centre's list neighbours and list entry, its id index entry, its
** auction counts and its cost centre's account. For callers that retire
** many orders and can put a few others between the two calls. */
void eng_retire_prefetch(const imx_engine *e, uint32_t slot) {
  const order *o = &e->pool[slot];
  cc_link l = e->links[slot];
  if (l.next != NIL) {
    __builtin_prefetch(&e->links[l.next], 1);
    if (l.prev != NIL) __builtin_prefetch(&e->links[l.prev], 1);
    else cc_prefetch(e, o->cc); /* the first: by_cc names the last */
  }
  __builtin_prefetch(&e->blocks[slot / POOL_BLOCK], 1);
  __builtin_prefetch(&e->orders.direct[o->id & e->orders.mask], 1);
  if (e->books[o->service].mode == IMX_MODE_AUCTION)
    __builtin_prefetch(&e->counts[o->count], 1);
  if (e->risk) __builtin_prefetch(&e->ccs[o->cc], 1);
}

/* Removes a detached order from the engine for good, releasing what it
** still reserves. */
void eng_retire(imx_engine *e, uint32_t slot) {
  order *o = &e->pool[slot];
  IMX_ASSERT(o->live && o->prev == NIL && o->next == NIL);
  risk_unreserve_order(e, o);
  risk_order_closed(e, o);
  if (e->books[o->service].mode == IMX_MODE_AUCTION) auction_order_closed(e, o);
  if (cc_linked(e, slot)) cc_unlink(e, slot);
  idx_del(&e->orders, slot);
  pool_give(e, slot);
}

static int crosses(int in_side, int64_t limit_minor, int64_t level_minor) {
  return in_side == IMX_BID ? level_minor <= limit_minor
                            : level_minor >= limit_minor;
}

/*
** The matching walk of docs/matching.md, step 4. With execute == 0 it only
** computes what would remain (the feasibility check of fok and aon orders);
** with execute == 1 it trades. Both follow the same path, which is what
** makes "feasible" mean "will fill". Returns the quantity left; sets
** *self_trade when the walk stopped at an order of the same cost centre.
*/
static int64_t walk(imx_engine *e, book *b, uint32_t in_slot, int execute,
                    int *self_trade) {
  order *in = &e->pool[in_slot];
  IMX_ASSERT(in->live && in->qty_open > 0 && in->prev == NIL);
  IMX_ASSERT(b->mode == IMX_MODE_CONTINUOUS);
  book_side *opp = &b->side[!in->side];
  int64_t left = in->qty_open;
  /* min_stars: an incoming bid with it looks up each offer's provider; an
  ** incoming offer looks up its own provider once, at the first resting
  ** bid with min_stars. Bids without min_stars pay one byte test. */
  const unsigned in_stars = in->stars;
  const reputation *in_rep = NULL;
  int in_rep_known = 0;
  *self_trade = 0;
  for (level *l = side_best(opp), *worse; l != NULL && left > 0; l = worse) {
    if (!crosses(in->side, in->price_minor, l->price_minor)) break;
    uint32_t slot = l->head;
    while (slot != NIL && left > 0) {
      order *r = &e->pool[slot];
      uint32_t next = r->next;
      if (__builtin_expect(in_stars != 0, 0)) {
        if (!rep_eligible(e, in_stars, rep_find(e, r->cc, in->service))) {
          slot = next; /* not a counterparty: skipped, keeps its place */
          continue;
        }
      } else if (__builtin_expect(r->stars != 0, 0)) {
        if (!in_rep_known) {
          in_rep = rep_find(e, in->cc, in->service);
          in_rep_known = 1;
        }
        if (!rep_eligible(e, r->stars, in_rep)) { slot = next; continue; }
      }
      if (r->aon && r->qty_open > left) { slot = next; continue; }
      if (r->cc == in->cc) { *self_trade = 1; return left; }
      int64_t q = r->qty_open < left ? r->qty_open : left;
      left -= q;
      if (execute) {
        if (q == r->qty_open) /* eng_retire below */
          cc_prefetch(e, r->cc);
        const order *buy = in->side == IMX_BID ? in : r;
        const order *sell = in->side == IMX_BID ? r : in;
        eng_emit_trade(e, buy, sell, q, l->price_minor, (imx_side)in->side);
        risk_fill(e, buy, sell, q, l->price_minor);
        in->qty_open -= q;
        in->qty_filled += q;
        r->qty_open -= q;
        r->qty_filled += q;
        level_qty_add(l, r, -q);
        IMX_ASSERT(r->qty_open >= 0 && in->qty_open == left);
        if (r->qty_open == 0) {
          eng_level_unlink(e, l, slot);
          eng_retire(e, slot);
        }
      }
      slot = next;
    }
    if (execute && l->count == 0) {
      /* Removing the best level caches its predecessor as the new best. */
      int was_best = l == side_best(opp);
      worse = was_best ? NULL : level_worse(opp, l);
      eng_side_remove_level(e, opp, l);
      if (was_best) worse = side_best(opp);
    } else {
      worse = left > 0 ? level_worse(opp, l) : NULL;
    }
  }
  IMX_ASSERT(left >= 0 && left <= in->qty_open);
  return left;
}

/* Steps 3 to 5 for an order that is in the index but in no level. Returns
** the slot it rests in, or NIL when it left the book. */
static uint32_t process(imx_engine *e, book *b, uint32_t slot) {
  order *o = &e->pool[slot];
  int self_trade;
  if (o->tif == IMX_TIF_FOK || o->aon) {
    if (walk(e, b, slot, 0, &self_trade) > 0) {
      if (o->tif == IMX_TIF_FOK || o->tif == IMX_TIF_IOC) {
        eng_emit_cancelled(e, o, o->tif == IMX_TIF_FOK ? IMX_CANCEL_FOK
                                                   : IMX_CANCEL_IOC);
        eng_retire(e, slot);
        return NIL;
      }
      return rest(e, b, slot);
    }
  }
  int64_t left = walk(e, b, slot, 1, &self_trade);
  IMX_ASSERT(left == o->qty_open);
  IMX_ASSERT(left == 0 || !(o->tif == IMX_TIF_FOK || o->aon));
  if (left == 0) {
    eng_retire(e, slot);
  } else if (self_trade) {
    eng_emit_cancelled(e, o, IMX_CANCEL_SELF_TRADE);
    eng_retire(e, slot);
  } else if (o->tif == IMX_TIF_IOC) {
    eng_emit_cancelled(e, o, IMX_CANCEL_IOC);
    eng_retire(e, slot);
  } else {
    return rest(e, b, slot);
  }
  return NIL;
}

/* ------------------------------------------------------------- commands */

/* Market orders (price IMX_PRICE_MARKET) exist only in auction books. */
imx_status eng_check_qty_price(const book *b, int64_t qty,
                               int64_t price_minor) {
  if (qty < 1 || qty > IMX_QTY_MAX) return IMX_E_BAD_QTY;
  int market = price_minor == IMX_PRICE_MARKET && b->mode == IMX_MODE_AUCTION;
  if (!market && (price_minor < 1 || price_minor > b->price_cap_minor))
    return IMX_E_BAD_PRICE;
  /* Past the checks above price, tick, qty and lot are all within
  ** [0, 1e9]: the 32-bit division is several times faster than the 64-bit
  ** one, which was a tenth of an order's entry. */
  IMX_ASSERT(price_minor >= 0 && price_minor <= IMX_PRICE_MAX_MINOR &&
             b->tick_minor >= 1 && b->tick_minor <= IMX_PRICE_MAX_MINOR &&
             b->lot >= 1 && b->lot <= IMX_QTY_MAX);
  if ((uint32_t)price_minor % (uint32_t)b->tick_minor != 0) return IMX_E_BAD_TICK;
  if ((uint32_t)qty % (uint32_t)b->lot != 0) return IMX_E_BAD_LOT;
  return IMX_OK;
}

/* Could an order with this tif rest, and would it need a level that the
** full side does not have? Checked before anything happens. */
static int needs_missing_level(const book *b, const imx_order_new *o) {
  int may_rest = o->tif == IMX_TIF_GTC || o->tif == IMX_TIF_PERIOD ||
                 b->mode == IMX_MODE_AUCTION;
  const book_side *bs = &b->side[o->side];
  return may_rest && bs->n == bs->cap && !side_find(bs, o->price_minor);
}

static imx_status check_new(imx_engine *e, const imx_order_new *o) {
  if (o->service >= e->services_n) return IMX_E_UNKNOWN_SERVICE;
  const book *b = &e->books[o->service];
  if (o->side != IMX_BID && o->side != IMX_OFFER) return IMX_E_BAD_SIDE;
  if ((unsigned)o->tif > IMX_TIF_FOK) return IMX_E_BAD_TIF;
  imx_status s = eng_check_qty_price(b, o->qty, o->price_minor);
  if (s != IMX_OK) return s;
  if (!b->divisible && !o->aon) return IMX_E_AON_REQUIRED;
  if (o->min_stars != 0 || o->allow_unrated != 0) {
    if (o->side != IMX_BID || o->min_stars < IMX_STARS_MIN ||
        o->min_stars > IMX_STARS_MAX || (o->allow_unrated != 0 && o->allow_unrated != 1))
      return IMX_E_BAD_STARS;
  }
  if (e->orders.n == e->orders_max) return IMX_E_ORDERS_FULL;
  if (needs_missing_level(b, o)) return IMX_E_LEVELS_FULL;
  if (b->mode == IMX_MODE_AUCTION) return auction_check_entry(e, o);
  return IMX_OK;
}

imx_status imx_engine_order_new(imx_engine *e, const imx_order_new *in,
                                uint64_t *id_out) {
  IMX_ASSERT(e != NULL && in != NULL);
  cc_prefetch(e, in->cc); /* for cc_append below, if the order rests */
  int64_t available = 0;
  imx_status s = check_new(e, in);
  if (s == IMX_OK) s = risk_check_order(e, in, &available); /* reserves */
  if (s != IMX_OK) return eng_reject(e, 0, s, available);
  /* From here on nothing can fail. */
  uint32_t slot = pool_take(e, &e->books[in->service]);
  IMX_ASSERT(slot != NIL);
  order *o = &e->pool[slot];
  o->id = e->order_id_next++;
  o->price_minor = in->price_minor;
  o->qty_open = in->qty;
  o->qty_filled = 0;
  o->cc = in->cc;
  o->prev = o->next = NIL;
  o->service = (uint16_t)in->service;
  o->side = (uint8_t)in->side;
  o->tif = (uint8_t)in->tif;
  o->aon = in->aon ? 1 : 0;
  o->excluded = 0;
  o->stars = (uint8_t)(in->min_stars | (in->allow_unrated ? STARS_ALLOW_UNRATED : 0));
  idx_put(&e->orders, slot);
  risk_order_opened(e, o);
  if (id_out) *id_out = o->id;
  emit_accepted(e, o);
  book *b = &e->books[in->service];
  if (b->mode == IMX_MODE_AUCTION) {
    auction_order_opened(e, o);
    slot = rest(e, b, slot);
  } else {
    slot = process(e, b, slot);
  }
  if (slot != NIL) cc_append(e, slot); /* it rests */
  IMX_ASSERT(e->order_id_next > 1 && e->orders.n <= e->orders_max);
  return IMX_OK;
}

/* Detaches a resting order from its level, removing the level if empty. */
static void detach(imx_engine *e, book *b, uint32_t slot) {
  order *o = &e->pool[slot];
  IMX_ASSERT(o->live);
  book_side *bs = &b->side[o->side];
  level *l = order_level(bs, o);
  eng_level_unlink(e, l, slot);
  if (l->count == 0) eng_side_remove_level(e, bs, l);
  IMX_ASSERT(o->prev == NIL && o->next == NIL);
}

imx_status imx_engine_order_cancel(imx_engine *e, uint64_t order_id) {
  IMX_ASSERT(e != NULL);
  order *o = order_by_id(e, order_id);
  if (o == NULL) return eng_reject(e, order_id, IMX_E_UNKNOWN_ORDER, 0);
  uint32_t slot = (uint32_t)(o - e->pool);
  uint32_t open_before = e->orders.n;
  eng_retire_prefetch(e, slot); /* while detach works */
  detach(e, &e->books[o->service], slot);
  eng_emit_cancelled(e, o, IMX_CANCEL_USER);
  eng_retire(e, slot);
  IMX_ASSERT(e->orders.n + 1 == open_before && order_by_id(e, order_id) == NULL);
  return IMX_OK;
}

static imx_status check_modify(imx_engine *e, const order *o, int64_t qty_open,
                               int64_t price_minor, int64_t *available) {
  const book *b = &e->books[o->service];
  imx_status s = eng_check_qty_price(b, qty_open, price_minor);
  if (s != IMX_OK) return s;
  const book_side *bs = &b->side[o->side];
  const level *old = order_level(bs, o);
  int frees_level = old->count == 1 && price_minor != o->price_minor;
  if (!frees_level && bs->n == bs->cap && !side_find(bs, price_minor))
    return IMX_E_LEVELS_FULL;
  return risk_check_modify(e, o, qty_open, price_minor, available);
}

imx_status imx_engine_order_modify(imx_engine *e, uint64_t order_id,
                                   int64_t qty_open, int64_t price_minor) {
  IMX_ASSERT(e != NULL);
  order *o = order_by_id(e, order_id);
  if (o == NULL) return eng_reject(e, order_id, IMX_E_UNKNOWN_ORDER, 0);
  int64_t available = 0;
  imx_status s = check_modify(e, o, qty_open, price_minor, &available);
  if (s != IMX_OK) return eng_reject(e, order_id, s, available);
  book *b = &e->books[o->service];
  uint32_t slot = (uint32_t)(o - e->pool);
  int kept = price_minor == o->price_minor && qty_open <= o->qty_open;
  risk_unreserve_order(e, o);
  if (kept) {
    level *l = order_level(&b->side[o->side], o);
    level_qty_add(l, o, -(o->qty_open - qty_open));
  } else {
    detach(e, b, slot);
    o->price_minor = price_minor;
  }
  o->qty_open = qty_open;
  IMX_ASSERT(o->qty_open > 0 && o->price_minor == price_minor);
  risk_reserve_order(e, o);
  emit_modified(e, o, kept);
  if (!kept) { /* o moves, or leaves */
    if (b->mode == IMX_MODE_AUCTION) rest(e, b, slot);
    else process(e, b, slot);
  }
  return IMX_OK;
}

imx_status imx_engine_period_end(imx_engine *e, uint32_t service) {
  IMX_ASSERT(e != NULL);
  if (service >= e->services_n)
    return eng_reject(e, 0, IMX_E_UNKNOWN_SERVICE, 0);
  book *b = &e->books[service];
  uint32_t open_before = e->orders.n;
  for (int side = IMX_BID; side <= IMX_OFFER; side++) {
    book_side *bs = &b->side[side];
    for (level *l = side_best(bs), *worse; l != NULL; l = worse) {
      worse = level_worse(bs, l);
      uint32_t slot = l->head;
      while (slot != NIL) {
        uint32_t next = e->pool[slot].next;
        if (e->pool[slot].tif == IMX_TIF_PERIOD) {
          eng_level_unlink(e, l, slot);
          emit_expired(e, &e->pool[slot]);
          eng_retire(e, slot);
        }
        slot = next;
      }
      if (l->count == 0) eng_side_remove_level(e, bs, l);
    }
  }
  IMX_ASSERT(e->orders.n <= open_before);
  return IMX_OK;
}

/* ------------------------------------------------------------ lifecycle */

/* Large tables (the pool, the id index, the counts) are read at random
** by a call over a deep book: with 4 KiB pages nearly every such read also
** misses the TLB, which costs as much as the read again on a virtual
** machine. They are aligned to 2 MiB and the kernel is asked for huge pages
** (a hint: where transparent huge pages are off it changes nothing). Every
** byte is set to `fill` here, which also touches every page now, not in the
** first busy minute of trading. free() releases them. */
#define HUGE_PAGE_BYTES ((size_t)2 << 20)

void *eng_big_alloc(size_t bytes, int fill, size_t *counted) {
  if (bytes == 0) bytes = 1; /* a pointer all the same, like calloc's */
  if (bytes < HUGE_PAGE_BYTES) {
    size_t lines = (bytes + IMX_CACHE_LINE_BYTES - 1) / IMX_CACHE_LINE_BYTES *
                   IMX_CACHE_LINE_BYTES;
    void *p = aligned_alloc(IMX_CACHE_LINE_BYTES, lines);
    if (p == NULL) return NULL;
    memset(p, fill, bytes);
    *counted += lines;
    return p;
  }
  /* Rounding up must not wrap to a small block that memset then overruns. */
  if (bytes > SIZE_MAX - (HUGE_PAGE_BYTES - 1)) return NULL;
  size_t rounded = (bytes + HUGE_PAGE_BYTES - 1) / HUGE_PAGE_BYTES * HUGE_PAGE_BYTES;
  void *p = aligned_alloc(HUGE_PAGE_BYTES, rounded);
  if (p == NULL) return NULL;
#ifdef MADV_HUGEPAGE
  (void)madvise(p, rounded, MADV_HUGEPAGE);
#endif
  memset(p, fill, bytes);
  *counted += rounded; /* a huge page is resident whole */
  return p;
}

void *eng_alloc(imx_engine *e, size_t n, size_t size) {
  IMX_ASSERT(size == 0 || n <= SIZE_MAX / size);
  return eng_big_alloc(n * size, 0, &e->memory_bytes);
}

/* The pool on cache-line boundaries (eng_big_alloc), zeroed: an order
** across two lines would cost a cancel, a fill or a list link both. */
static order *pool_alloc(imx_engine *e, uint32_t n) {
  order *p = eng_alloc(e, n, sizeof(order));
  IMX_ASSERT(p == NULL || (uintptr_t)p % IMX_CACHE_LINE_BYTES == 0);
  return p;
}

/* Cost centres with open orders at once: at most one per open order, and
** with risk on at most the declared ones. */
static uint32_t cc_lists_max(const imx_engine *e) {
  if (e->risk && e->ccs_max < e->orders_max) return e->ccs_max;
  return e->orders_max;
}

imx_status imx_engine_create(const imx_engine_config *cfg, imx_engine **out) {
  IMX_ASSERT(cfg != NULL && out != NULL);
  *out = NULL;
  if (cfg->on_event == NULL || cfg->orders_max < 1 ||
      cfg->orders_max > IMX_ORDERS_MAX || cfg->services_max < 1 ||
      cfg->services_max > IMX_SERVICES_MAX ||
      cfg->ratings_min > IMX_RATINGS_MIN_MAX)
    return IMX_E_BAD_CONFIG;
  imx_engine *e = calloc(1, sizeof *e);
  if (e == NULL) return IMX_E_NOMEM;
  e->memory_bytes = sizeof *e;
  e->on_event = cfg->on_event;
  e->ctx = cfg->ctx;
  e->orders_max = cfg->orders_max;
  e->services_max = cfg->services_max;
  e->order_id_next = 1;
  e->trade_id_next = 1;
  /* Room for orders_max orders, a quarter more and one block (see "order
  ** pool"), and the stage. */
  e->blocks_n = (cfg->orders_max + cfg->orders_max / 4) / POOL_BLOCK + 1;
  e->stage = e->blocks_n * POOL_BLOCK;
  e->pool_n = e->stage + 1;
  e->pool = pool_alloc(e, e->pool_n);
  e->links = eng_big_alloc((size_t)e->pool_n * sizeof(cc_link), 0xff,
                           &e->memory_bytes);
  e->blocks = eng_alloc(e, e->blocks_n, sizeof(pool_block));
  e->books = eng_alloc(e, cfg->services_max, sizeof(book));
  if (!e->pool || !e->links || !e->blocks || !e->books ||
      idx_init(&e->orders, e->pool, sizeof(order), offsetof(order, id),
               sizeof(uint64_t), cfg->orders_max, &e->memory_bytes) != 0 ||
      risk_init(e, cfg) != 0 || tender_init(e, cfg->tenders_max) != 0 ||
      rep_init(e, cfg) != 0 ||
      idx_init(&e->by_cc, e->pool, sizeof(order), offsetof(order, cc),
               sizeof(uint32_t), cc_lists_max(e), &e->memory_bytes) != 0) {
    imx_engine_destroy(e);
    return IMX_E_NOMEM;
  }
  /* Every block free, in address order. (pool_alloc touched every page
  ** of the pool, not the first busy minute of trading.) */
  for (uint32_t b = 0; b < e->blocks_n; b++)
    e->blocks[b] = (pool_block){NIL, b + 1 < e->blocks_n ? b + 1 : NIL,
                                POOL_BLOCK_ALL, NIL, 0, BLOCK_FREE};
  e->blocks_free = 0;
  e->blocks_partial = NIL;
  IMX_ASSERT(e->orders.n == 0 && e->by_cc.n == 0);
  *out = e;
  return IMX_OK;
}

void imx_engine_destroy(imx_engine *e) {
  if (e == NULL) return;
  for (uint32_t i = 0; e->books && i < e->services_n; i++) {
    side_free(&e->books[i].side[0]);
    side_free(&e->books[i].side[1]);
  }
  idx_free(&e->orders);
  idx_free(&e->by_cc);
  risk_free(e);
  rep_free(e);
  tender_free(e);
  auction_free(e);
  free(e->books);
  free(e->blocks);
  free(e->links);
  free(e->pool);
  free(e);
}

static imx_status check_service(const imx_service_config *cfg,
                                uint32_t levels) {
  int64_t cap = cfg->price_cap_minor ? cfg->price_cap_minor : IMX_PRICE_MAX_MINOR;
  if (cfg->tick_minor < 1 || cfg->tick_minor > IMX_PRICE_MAX_MINOR ||
      cfg->lot < 1 || cfg->lot > IMX_QTY_MAX || levels > IMX_LEVELS_MAX ||
      cap < cfg->tick_minor || cap > IMX_PRICE_MAX_MINOR ||
      (cfg->mode != IMX_MODE_CONTINUOUS && cfg->mode != IMX_MODE_AUCTION))
    return IMX_E_BAD_CONFIG;
  return IMX_OK;
}

imx_status imx_engine_service_add(imx_engine *e, const imx_service_config *cfg,
                                  uint32_t *service_out) {
  IMX_ASSERT(e != NULL && cfg != NULL);
  if (e->services_n == e->services_max) return IMX_E_SERVICES_FULL;
  uint32_t levels = cfg->levels_max ? cfg->levels_max : IMX_LEVELS_DEFAULT;
  imx_status s = check_service(cfg, levels);
  if (s != IMX_OK) return s;
  book *b = &e->books[e->services_n];
  memset(b, 0, sizeof *b);
  b->tick_minor = cfg->tick_minor;
  b->lot = cfg->lot;
  b->divisible = cfg->divisible;
  b->mode = cfg->mode;
  b->price_cap_minor =
      cfg->price_cap_minor ? cfg->price_cap_minor : IMX_PRICE_MAX_MINOR;
  int rc = side_init(e, &b->side[IMX_BID], levels, IMX_BID, b->tick_minor,
                     b->price_cap_minor);
  if (rc == 0)
    rc = side_init(e, &b->side[IMX_OFFER], levels, IMX_OFFER, b->tick_minor,
                   b->price_cap_minor);
  if (rc != 0 ||
      (cfg->mode == IMX_MODE_AUCTION && auction_service_added(e, levels) != 0)) {
    side_free(&b->side[0]);
    side_free(&b->side[1]);
    memset(b, 0, sizeof *b);
    return IMX_E_NOMEM;
  }
  if (service_out) *service_out = e->services_n;
  e->services_n++;
  IMX_ASSERT(e->services_n <= e->services_max && b->side[0].n == 0);
  return IMX_OK;
}

/* -------------------------------------------------------------- queries */

static void order_info(const order *o, imx_order_info *out) {
  memset(out, 0, sizeof *out);
  out->order_id = o->id;
  out->service = o->service;
  out->cc = o->cc;
  out->side = (imx_side)o->side;
  out->tif = (imx_tif)o->tif;
  out->aon = o->aon;
  out->qty_original = o->qty_filled + o->qty_open;
  out->qty_open = o->qty_open;
  out->qty_filled = o->qty_filled;
  out->price_minor = o->price_minor;
  out->min_stars = o->stars & STARS_MASK;
  out->allow_unrated = (o->stars & STARS_ALLOW_UNRATED) != 0;
}

imx_status imx_engine_order_get(const imx_engine *e, uint64_t order_id,
                                imx_order_info *out) {
  uint32_t slot = idx_find(&e->orders, order_id);
  /* qty_open 0: filled in a call and waiting to be retired (auction.c). */
  if (slot == NIL || e->pool[slot].qty_open == 0) return IMX_E_UNKNOWN_ORDER;
  order_info(&e->pool[slot], out);
  return IMX_OK;
}

uint32_t imx_engine_levels(const imx_engine *e, uint32_t service,
                           imx_side side, imx_level_info *out, uint32_t n) {
  if (service >= e->services_n || (side != IMX_BID && side != IMX_OFFER))
    return 0;
  const book_side *bs = &e->books[service].side[side];
  uint32_t k = 0;
  for (const level *l = side_best(bs); l != NULL && k < n;
       l = level_worse(bs, l), k++) {
    out[k].price_minor = l->price_minor;
    out[k].qty_open = l->qty_open;
    out[k].orders = l->count;
  }
  return k;
}

uint32_t imx_engine_orders(const imx_engine *e, uint32_t service,
                           imx_side side, imx_order_info *out, uint32_t n) {
  if (service >= e->services_n || (side != IMX_BID && side != IMX_OFFER))
    return 0;
  const book_side *bs = &e->books[service].side[side];
  /* Only an auction book's levels lie in blocks (see "order pool"). */
  int blocks = e->books[service].mode == IMX_MODE_AUCTION;
  uint32_t k = 0, seen = NIL;
  for (const level *l = side_best(bs); l != NULL && k < n;
       l = level_worse(bs, l))
    for (uint32_t s = l->head; s != NIL && k < n;
         s = e->pool[s].next) {
      if (blocks) eng_block_prefetch(e->pool, e->blocks, NULL, e->pool_n, s, &seen);
      order_info(&e->pool[s], &out[k++]);
    }
  return k;
}

uint32_t imx_engine_orders_of(const imx_engine *e, uint32_t cc,
                              imx_order_info *out, uint32_t n) {
  uint32_t tail = idx_find(&e->by_cc, cc);
  if (tail == NIL) return 0;
  uint32_t k = 0;
  for (uint32_t s = e->links[tail].next; k < n; s = e->links[s].next) {
    IMX_ASSERT(e->pool[s].live && e->pool[s].cc == cc);
    if (e->pool[s].qty_open != 0) /* else see imx_engine_order_get */
      order_info(&e->pool[s], &out[k++]);
    if (s == tail) break;
  }
  IMX_ASSERT(k <= n);
  return k;
}

uint32_t imx_engine_open_orders(const imx_engine *e) {
  IMX_ASSERT(e->retiring <= e->orders.n);
  return e->orders.n - e->retiring;
}

size_t imx_engine_memory_bytes(const imx_engine *e) { return e->memory_bytes; }

void imx_engine_ids_skip(imx_engine *e, uint32_t orders, uint32_t tenders,
                         uint32_t quotes) {
  IMX_ASSERT(e != NULL);
  e->order_id_next += orders;
  e->tender_id_next += tenders;
  e->quote_id_next += quotes;
  IMX_ASSERT(e->order_id_next >= orders && e->tender_id_next >= tenders &&
             e->quote_id_next >= quotes); /* 64 bits: never wraps */
}

/* ------------------------------------------------------------ invariants */

/* Checks one level; returns 0 or a check number. */
static int check_level(const imx_engine *e, uint32_t service, int side,
                       const level *l, uint32_t *orders_seen) {
  int64_t sum = 0, aon = 0, starred = 0;
  uint32_t count = 0, prev = NIL;
  if (l->count == 0) return 10;
  for (uint32_t s = l->head; s != NIL; s = e->pool[s].next) {
    const order *o = &e->pool[s];
    if (s >= e->pool_n || !o->live) return 11;
    if (o->prev != prev) return 12;
    if (o->service != service || o->side != side) return 13;
    if (o->price_minor != l->price_minor) return 14;
    if (o->level != level_slot(&e->books[service].side[side], l)) return 16;
    if (o->qty_open < 1 || o->qty_filled < 0) return 15;
    if (o->tif != IMX_TIF_GTC && o->tif != IMX_TIF_PERIOD &&
        e->books[service].mode != IMX_MODE_AUCTION)
      return 17;
    if (o->excluded) return 21;
    unsigned stars = o->stars & STARS_MASK;
    if (o->stars != 0 &&
        (side != IMX_BID || stars < IMX_STARS_MIN || stars > IMX_STARS_MAX))
      return 22;
    if (idx_find(&e->orders, o->id) != s) return 18;
    sum += o->qty_open;
    if (o->stars != 0) starred += o->qty_open;
    else if (order_is_aon(o)) aon += o->qty_open;
    if (++count > e->orders_max) return 19;
    prev = s;
  }
  if (prev != l->tail || count != l->count || sum != l->qty_open) return 20;
  if (aon != l->qty_aon || starred != l->qty_stars) return 23;
  *orders_seen += count;
  return 0;
}

/* The best price among non-aon orders of a side without min_stars, or 0 if
** none. */
static int64_t best_plain(const imx_engine *e, const book_side *bs) {
  for (const level *l = side_best(bs); l != NULL; l = level_worse(bs, l))
    for (uint32_t s = l->head; s != NIL; s = e->pool[s].next)
      if (!e->pool[s].aon && !e->pool[s].stars) return l->price_minor;
  return 0;
}

int imx_engine_check(const imx_engine *e) {
  uint32_t seen = 0;
  for (uint32_t svc = 0; svc < e->services_n; svc++) {
    const book *b = &e->books[svc];
    for (int side = 0; side < 2; side++) {
      const book_side *bs = &b->side[side];
      if (bs->n > bs->cap || bs->side != side) return 1;
      int rc = side_check(bs); /* 80-89: the tree or tick map, its pool */
      if (rc) return rc;
      for (const level *l = side_worst(bs), *prev = NULL; l != NULL;
           prev = l, l = level_better(bs, l)) {
        if (prev && eng_key(side, prev->price_minor) >= eng_key(side, l->price_minor))
          return 2;
        rc = check_level(e, svc, side, l, &seen);
        if (rc) return rc;
      }
    }
    /* Auction books collect crossing orders until the call. */
    int64_t bid = best_plain(e, &b->side[IMX_BID]);
    int64_t offer = best_plain(e, &b->side[IMX_OFFER]);
    if (b->mode == IMX_MODE_CONTINUOUS && bid && offer && bid >= offer)
      return 3;
  }
  if (seen != e->orders.n) return 4;
  if (idx_check(&e->orders)) return 5;
  int rc = cc_lists_check(e);
  if (rc == 0) rc = pool_check(e);
  if (rc == 0) rc = auction_check(e);
  if (rc == 0) rc = risk_check(e);
  if (rc == 0) rc = rep_check(e);
  return rc ? rc : tender_check(e);
}

/* ------------------------------------------------------------ snapshots */

/* Each book's last clearing price, then every open order: by service, by
** side, by level from the worst price to the best (the order the sorted
** level arrays had: snapshots stay byte for byte what they were), in time
** order within the level. */
void books_snap_write(const imx_engine *e, snap_out *o) {
  for (uint32_t s = 0; s < e->services_n; s++) snap_i64(o, e->books[s].last_price_minor);
  snap_u32(o, e->orders.n);
  uint32_t written = 0;
  for (uint32_t s = 0; s < e->services_n; s++)
    for (int side = 0; side < 2; side++) {
      const book_side *bs = &e->books[s].side[side];
      for (const level *l = side_worst(bs); l != NULL; l = level_better(bs, l))
        for (uint32_t k = l->head; k != NIL; k = e->pool[k].next) {
          const order *od = &e->pool[k];
          snap_u32(o, s);
          snap_u32(o, (uint32_t)side | (uint32_t)od->tif << 8 | (uint32_t)od->aon << 16 |
                          (uint32_t)od->stars << 24);
          snap_u64(o, od->id);
          snap_u32(o, od->cc);
          snap_i64(o, od->price_minor);
          snap_i64(o, od->qty_open);
          snap_i64(o, od->qty_filled);
          written++;
        }
    }
  IMX_ASSERT(written == e->orders.n);
}

/* Reads one order into a free slot and rests it; the cost centres' lists
** are linked once all are read (they run in id order, the book in time
** order). */
static int order_read_one(imx_engine *e, snap_in *in, uint32_t *slot_out) {
  uint32_t service = snap_get_u32(in), flags = snap_get_u32(in);
  uint64_t id = snap_get_u64(in);
  uint32_t cc = snap_get_u32(in);
  int64_t price = snap_get_i64(in), open = snap_get_i64(in), filled = snap_get_i64(in);
  if (in->why) return -1;
  uint32_t side = flags & 0xff, tif = flags >> 8 & 0xff, aon = flags >> 16 & 0xff;
  uint32_t stars = flags >> 24; /* imx_engine_check checks its range */
  if (service >= e->services_n || side > IMX_OFFER || tif > IMX_TIF_FOK || aon > 1 ||
      id < 1 || id >= e->order_id_next || open < 1 || open > IMX_QTY_MAX ||
      filled < 0 || filled > INT64_MAX / 4 || /* modify can raise it past QTY_MAX */ (e->risk && (cc >= e->ccs_max || !e->ccs[cc].declared)))
    return snap_fail(in, "an order is out of range");
  book *b = &e->books[service];
  int market = price == IMX_PRICE_MARKET && b->mode == IMX_MODE_AUCTION;
  if (!market && (price < b->tick_minor || price > b->price_cap_minor ||
                  price % b->tick_minor != 0))
    return snap_fail(in, "an order's price is not on this book");
  if (idx_find(&e->orders, id) != NIL) return snap_fail(in, "an order is in the snapshot twice");
  book_side *bs = &b->side[side];
  if (bs->n == bs->cap && !side_find(bs, price))
    return snap_fail(in, "more price levels than the book holds");
  if (b->mode == IMX_MODE_AUCTION) {
    imx_order_new probe = {.service = service, .cc = cc, .side = (imx_side)side};
    if (auction_check_entry(e, &probe) != IMX_OK)
      return snap_fail(in, "an auction order breaks its book's rules");
  }
  if (e->orders.n == e->orders_max) return snap_fail(in, "more orders than this market holds");
  uint32_t slot = pool_take(e, b);
  order *o = &e->pool[slot];
  *o = (order){.id = id, .price_minor = price, .qty_open = open, .qty_filled = filled,
               .prev = NIL, .next = NIL,
               .cc = cc, .service = (uint16_t)service, .side = (uint8_t)side,
               .tif = (uint8_t)tif, .aon = (uint8_t)aon, .live = 1,
               .stars = (uint8_t)stars};
  idx_put(&e->orders, slot);
  if (b->mode == IMX_MODE_AUCTION) auction_order_opened(e, o);
  *slot_out = rest(e, b, slot);
  return 0;
}

typedef struct id_slot {
  uint64_t id;
  uint32_t slot;
} id_slot;

static int by_id(const void *a, const void *b) {
  uint64_t x = ((const id_slot *)a)->id, y = ((const id_slot *)b)->id;
  return x < y ? -1 : x > y;
}

int books_snap_read(imx_engine *e, snap_in *in) {
  for (uint32_t s = 0; s < e->services_n; s++) {
    int64_t last = snap_get_i64(in);
    if (last < 0 || last > e->books[s].price_cap_minor)
      return snap_fail(in, "a last clearing price is out of range");
    e->books[s].last_price_minor = last;
  }
  uint32_t n = snap_get_u32(in);
  if (in->why) return -1;
  if (n > e->orders_max) return snap_fail(in, "more orders than this market holds");
  id_slot *read = malloc((size_t)(n ? n : 1) * sizeof *read);
  if (read == NULL) return snap_fail(in, "out of memory");
  uint32_t k = 0;
  for (; k < n && order_read_one(e, in, &read[k].slot) == 0; k++)
    read[k].id = e->pool[read[k].slot].id;
  if (k == n) { /* ids are unique: order_read_one refused a second one */
    qsort(read, n, sizeof *read, by_id);
    for (uint32_t i = 0; i < n; i++) cc_append(e, read[i].slot);
  }
  free(read);
  return in->why ? -1 : 0;
}
