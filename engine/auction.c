/*
** auction.c -- the periodic call auction: one uniform price clears a book.
**
** Orders of an auction-mode service rest without matching (market orders
** at the best level of their side, price IMX_PRICE_MARKET). At the call:
**
**   1. every limit price of a participating order is a candidate; at each,
**      demand D(p) = market bids + bids with limit >= p, supply S(p) =
**      market offers + offers with limit <= p; the executable volume is
**      min(D, S) and the surplus |D - S|;
**   2. the price is the candidate with the highest volume; among those, the
**      lowest surplus; among those, if every one has its surplus on the bid
**      side the highest, if every one on the offer side the lowest; else
**      the one nearest the reference price (the service's last clearing
**      price, or the caller's), the higher of two equally near (the Xetra
**      rule); with no reference at all, the lowest;
**   3. at that price the short side fills whole and the long side fills by
**      price then time priority (market orders first), the marginal price
**      level in time order;
**   4. an aon (or fok) order that would not fill whole is left out of the
**      call and the price is computed again without it, until every aon
**      order that takes part fills whole;
**   5. buyers and sellers are paired in priority order into trades, all at
**      the one price; unfilled ioc and fok orders are then cancelled, gtc
**      and period orders stay for the next call.
**
** Steps 1-2 read the price levels' aggregates (each level's open qty, the
** qty of its aon/fok orders and of its bids with min_stars, kept up to date
** by every change in engine.c), once per pass: O(levels), no order is read.
** Step 4 reads, per side, the orders of the one level where the volume runs
** out (in time order); every level past it that takes part leaves out all
** its aon orders at once, by a flag, without reading them. Steps 3 and 5
** visit, in priority order, the orders that trade (and the left-out ones
** they pass on the way). Nothing allocates: the qty per level left out, the
** flags and the orders left out one by one go to scratch arrays sized when
** services are added, and are cleared through those arrays after the call.
**
** This file also keeps the books of auction books: how many orders each
** (cost centre, service) has open on each side -- an auction has no time
** order between its sides, so self-trade prevention refuses an order at
** entry when its cost centre is on the other side -- and how many ioc/fok
** orders a book holds (cancelled at the call). The counts live in a pool
** of positions_max entries found through an imx_hash; a pair whose sides
** both reach 0 stays in the table, idle, until a new pair finds no free
** entry, and then all idle ones go at once (count_sweep), so only pairs
** with open orders take room.
*/
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* ------------------------------------------------------------ lifecycle */

/* The counts are allocated with the first auction service, the scratch
** grows to the largest book side. */
int auction_service_added(imx_engine *e, uint32_t levels) {
  if (e->counts == NULL) {
    uint32_t n = e->positions_max;
    e->counts = eng_alloc(e, n, sizeof(auction_count));
    e->check_counts = eng_alloc(e, 2 * (size_t)n, sizeof(uint32_t));
    if (e->counts == NULL || e->check_counts == NULL ||
        imx_hash_init(&e->count_index, n) != 0)
      return -1;
    e->memory_bytes += (e->count_index.mask + 1) * sizeof(uint32_t);
    for (uint32_t i = 0; i < n; i++)
      e->counts[i] = (auction_count){NIL, NIL, {i + 1 < n ? i + 1 : NIL, 0}};
    e->counts_free = 0;
    e->scratch_avail = eng_alloc(e, e->pool_n, sizeof(int64_t));
    e->scratch_excl = eng_alloc(e, e->pool_n, sizeof(uint32_t));
    if (e->scratch_avail == NULL || e->scratch_excl == NULL) return -1;
  }
  if (levels <= e->scratch_n) return 0;
  size_t n2 = 2 * (size_t)levels;
  int64_t *q = realloc(e->scratch_qty, n2 * sizeof *q);
  if (q == NULL) return -1;
  e->scratch_qty = q;
  uint32_t *slots = realloc(e->scratch_slots, n2 * sizeof *slots);
  if (slots == NULL) return -1;
  e->scratch_slots = slots;
  int64_t *price = realloc(e->scratch_price, n2 * sizeof *price);
  if (price == NULL) return -1;
  e->scratch_price = price;
  int64_t *out = realloc(e->scratch_out, n2 * sizeof *out);
  if (out == NULL) return -1;
  e->scratch_out = out;
  uint8_t *flag = realloc(e->scratch_aon_out, n2);
  if (flag == NULL) return -1;
  e->scratch_aon_out = flag;
  /* Zero between calls, whatever the layout (side x scratch_n + slot). */
  memset(out, 0, n2 * sizeof *out);
  memset(flag, 0, n2);
  e->memory_bytes += 2 * (size_t)(levels - e->scratch_n) *
                     (sizeof *q + sizeof *slots + sizeof *price + sizeof *out +
                      sizeof *flag);
  e->scratch_n = levels;
  return 0;
}

void auction_free(imx_engine *e) {
  free(e->scratch_qty);
  free(e->scratch_slots);
  free(e->scratch_price);
  free(e->scratch_out);
  free(e->scratch_aon_out);
  free(e->scratch_excl);
  free(e->scratch_avail);
  free(e->counts);
  free(e->check_counts);
  imx_hash_free(&e->count_index);
}

/* ------------------------------------------------- orders per side, entry */

static uint64_t count_key(uint32_t cc, uint32_t service) {
  return ((uint64_t)cc << 32) | service;
}

static uint64_t count_hash_of(const void *owner, uint32_t k) {
  const auction_count *c = &((const imx_engine *)owner)->counts[k];
  return count_key(c->cc, c->service);
}

/* The position in count_index of (cc, service)'s counts, or NIL. Bounded:
** the table always has an empty slot. */
static uint32_t count_pos(const imx_engine *e, uint32_t cc, uint32_t service) {
  uint64_t key = count_key(cc, service);
  const imx_hash *h = &e->count_index;
  uint32_t i = imx_hash_first(h, key);
  for (uint32_t probes = 0; probes <= h->mask; probes++) {
    uint32_t k = h->slots[i];
    if (k == IMX_HASH_NIL) return NIL;
    if (count_hash_of(e, k) == key) return i;
    i = imx_hash_next(h, i);
  }
  IMX_ASSERT(0 && "count_index without an empty slot");
  return NIL;
}

static auction_count *count_find(const imx_engine *e, uint32_t cc,
                                 uint32_t service) {
  uint32_t i = count_pos(e, cc, service);
  return i == NIL ? NULL : &e->counts[e->count_index.slots[i]];
}

/* Makes count_index anew from the counts still in use, freeing the idle
** ones: one pass in slot order, when a new pair finds no free slot. Idle
** counts stay until then because removing each as it empties (a probe of
** the table and a shift of its chain, far from the book) was a tenth of a
** call over a large book, which empties most of them. */
static void count_sweep(imx_engine *e) {
  imx_hash *h = &e->count_index;
  memset(h->slots, 0xff, ((size_t)h->mask + 1) * sizeof *h->slots); /* NIL */
  h->n = 0;
  e->counts_free = NIL;
  e->counts_idle = 0;
  for (uint32_t k = e->positions_max; k-- > 0;) {
    auction_count *c = &e->counts[k];
    if (c->service != NIL && c->open[0] + c->open[1] > 0) {
      imx_hash_put(h, count_key(c->cc, c->service), k);
      continue;
    }
    *c = (auction_count){NIL, NIL, {e->counts_free, 0}};
    e->counts_free = k;
  }
}

/* May the order enter the auction book? Nothing changes: the counts are
** made only once every check of the order has passed
** (auction_order_opened), so a rejected order leaves nothing behind. */
imx_status auction_check_entry(const imx_engine *e, const imx_order_new *o) {
  IMX_ASSERT(e->books[o->service].mode == IMX_MODE_AUCTION);
  IMX_ASSERT(o->side == IMX_BID || o->side == IMX_OFFER);
  const auction_count *c = count_find(e, o->cc, o->service);
  if (c == NULL)
    return e->counts_free == NIL && e->counts_idle == 0 ? IMX_E_POSITIONS_FULL
                                                        : IMX_OK;
  /* No time order runs between the sides of a call, so a cost centre
  ** that is on one side may not join the other. */
  return c->open[!o->side] > 0 ? IMX_E_SELF_TRADE : IMX_OK;
}

void auction_order_opened(imx_engine *e, order *o) {
  book *b = &e->books[o->service];
  IMX_ASSERT(b->mode == IMX_MODE_AUCTION && o->live);
  uint32_t k = NIL;
  auction_count *c = count_find(e, o->cc, o->service);
  if (c == NULL) {
    if (e->counts_free == NIL) count_sweep(e);
    k = e->counts_free;
    IMX_ASSERT(k != NIL); /* auction_check_entry saw room */
    c = &e->counts[k];
    e->counts_free = c->open[0];
    *c = (auction_count){o->cc, o->service, {0, 0}};
    imx_hash_put(&e->count_index, count_key(o->cc, o->service), k);
  } else {
    k = (uint32_t)(c - e->counts);
    if (c->open[0] + c->open[1] == 0) {
      IMX_ASSERT(e->counts_idle > 0);
      e->counts_idle--;
    }
  }
  IMX_ASSERT(c->open[!o->side] == 0);
  c->open[o->side]++;
  o->count = k;
  if (o->tif == IMX_TIF_IOC || o->tif == IMX_TIF_FOK) b->immediate++;
  if (o->stars) b->restricted++;
}

/* The order keeps its counts slot, so closing one touches only that. */
void auction_order_closed(imx_engine *e, const order *o) {
  book *b = &e->books[o->service];
  IMX_ASSERT(b->mode == IMX_MODE_AUCTION && o->count < e->positions_max);
  auction_count *c = &e->counts[o->count];
  IMX_ASSERT(c->cc == o->cc && c->service == o->service && c->open[o->side] > 0);
  if (--c->open[o->side] == 0 && c->open[!o->side] == 0) e->counts_idle++;
  if (o->tif == IMX_TIF_IOC || o->tif == IMX_TIF_FOK) {
    IMX_ASSERT(b->immediate > 0);
    b->immediate--;
  }
  if (o->stars) {
    IMX_ASSERT(b->restricted > 0);
    b->restricted--;
  }
}

/* Recounts the open orders of every auction book per (cost centre, service)
** and side, and the open ioc/fok orders per book, and compares. */
int auction_check(const imx_engine *e) {
  if (e->counts == NULL) return 0;
  uint32_t *n = e->check_counts;
  memset(n, 0, 2 * (size_t)e->positions_max * sizeof *n);
  for (uint32_t s = 0; s < e->pool_n; s++) {
    const order *o = &e->pool[s];
    if (!o->live || e->books[o->service].mode != IMX_MODE_AUCTION) continue;
    uint32_t i = count_pos(e, o->cc, o->service);
    if (i == NIL) return 50;
    if (e->count_index.slots[i] != o->count) return 58;
    n[2 * e->count_index.slots[i] + o->side]++;
  }
  uint32_t held = 0, idle = 0;
  for (uint32_t i = 0; i <= e->count_index.mask; i++) {
    uint32_t k = e->count_index.slots[i];
    if (k == IMX_HASH_NIL) continue;
    const auction_count *c = &e->counts[k];
    if (count_pos(e, c->cc, c->service) != i) return 51;
    if (c->open[0] != n[2 * k] || c->open[1] != n[2 * k + 1]) return 52;
    if (c->open[0] > 0 && c->open[1] > 0) return 53; /* self-trade */
    idle += c->open[0] + c->open[1] == 0;
    held++;
  }
  if (idle != e->counts_idle) return 54;
  uint32_t free_n = 0;
  for (uint32_t k = e->counts_free; k != NIL; k = e->counts[k].open[0])
    if (++free_n > e->positions_max || e->counts[k].service != NIL) return 55;
  if (held != e->count_index.n || held + free_n != e->positions_max) return 55;
  for (uint32_t svc = 0; svc < e->services_n; svc++) {
    const book *b = &e->books[svc];
    uint32_t immediate = 0, restricted = 0;
    for (int side = 0; side < 2; side++)
      for (const level *l = side_best(&b->side[side]); l != NULL;
           l = level_worse(&b->side[side], l))
        for (uint32_t s = l->head; s != NIL; s = e->pool[s].next) {
          immediate += e->pool[s].tif == IMX_TIF_IOC ||
                       e->pool[s].tif == IMX_TIF_FOK;
          restricted += e->pool[s].stars != 0 && b->mode == IMX_MODE_AUCTION;
        }
    if (immediate != b->immediate || restricted != b->restricted) return 56;
  }
  /* The call's scratch is clean between calls. */
  for (size_t i = 0; i < 2 * (size_t)e->scratch_n; i++)
    if (e->scratch_out[i] != 0 || e->scratch_aon_out[i] != 0) return 57;
  return 0;
}

/* ------------------------------------------------------- price discovery */

/* One side as the auction sees it: limit levels in ascending price order
** through at(), and the market orders apart. Each side's levels are read
** once per call into `slots` (sides_order), in eng_key order (what the
** side's sorted array was): no level is added or removed until compact,
** so every pass, the clean-up and compact index that array instead of
** walking the side again. */
typedef struct curve {
  const book_side *bs;
  int side;
  const int64_t *qty;    /* eligible qty per level, by position in slots */
  const int64_t *price;  /* price per level, the same                    */
  const uint32_t *slots; /* the side's level slots by eng_key ascending  */
  uint32_t n_limit;      /* levels with a limit price                    */
  int64_t market_qty;
  int64_t limit_qty;
} curve;

/* Position in slots of the k-th limit level in ascending price order. */
static uint32_t at(const curve *c, uint32_t k) {
  IMX_ASSERT(k < c->n_limit);
  return c->side == IMX_BID ? k : c->n_limit - 1 - k;
}

/* The candidate walks read qty and price from arrays in key order, not
** from the levels, which lie in slot order: three passes over thousands of
** levels would miss the cache at every one. */
static int64_t price_at(const curve *c, uint32_t k) {
  return c->price[at(c, k)];
}

/* The qty per level that the all-or-none step left out, and its flags. */
static int64_t *out_of(const imx_engine *e, int side) {
  return e->scratch_out + (size_t)side * e->scratch_n;
}

static uint8_t *aon_out_of(const imx_engine *e, int side) {
  return e->scratch_aon_out + (size_t)side * e->scratch_n;
}

/* Does o, an order of the level in slot i of its side, take no part in
** steps 1-5 of this call? Bids with min_stars never do; aon orders when
** left out one by one, or with every aon order of their level. */
static int left_out(const imx_engine *e, uint32_t i, const order *o) {
  return o->excluded || o->stars != 0 ||
         (aon_out_of(e, o->side)[i] && order_is_aon(o));
}

/* The slots of a side's levels in eng_key order, as sides_order left them. */
static uint32_t *slots_of(const imx_engine *e, int side) {
  return e->scratch_slots + (size_t)side * e->scratch_n;
}

/* Reads both sides' levels into the call's slot arrays, in order. */
static void sides_order(imx_engine *e, const book *b) {
  for (int side = 0; side < 2; side++) {
    IMX_ASSERT(b->side[side].cap <= e->scratch_n);
    side_order(&b->side[side], slots_of(e, side));
  }
}

/* Eligible quantity of every level of a side, from the levels' aggregates:
** the open quantity less the bids with min_stars and less what the
** all-or-none step left out; with each level's price, in key order. */
static void curve_make(imx_engine *e, const book *b, int side, int64_t *qty,
                       int64_t *price, curve *c) {
  const book_side *bs = &b->side[side];
  const int64_t *out = out_of(e, side);
  const uint32_t *slots = slots_of(e, side);
  memset(c, 0, sizeof *c);
  c->bs = bs;
  c->side = side;
  c->qty = qty;
  c->price = price;
  c->slots = slots;
  c->n_limit = bs->n;
  const level *best = side_best(bs);
  if (best != NULL && best->price_minor == IMX_PRICE_MARKET) c->n_limit--;
  for (uint32_t k = 0; k < bs->n; k++) {
    uint32_t i = slots[k];
    const level *l = &bs->levels[i];
    /* Levels lie in slot order, not price order: ask ahead. */
    if (k + 8 < bs->n) __builtin_prefetch(&bs->levels[slots[k + 8]]);
    IMX_ASSERT(i < bs->used && l->count > 0);
    IMX_ASSERT(out[i] <= l->qty_aon &&
               l->qty_aon + l->qty_stars <= l->qty_open);
    qty[k] = l->qty_open - l->qty_stars - out[i];
    price[k] = l->price_minor;
    IMX_ASSERT(qty[k] >= 0);
    if (k < c->n_limit) c->limit_qty += qty[k];
    else c->market_qty += qty[k];
  }
}

/* Walks the candidate prices in ascending order with D(p) and S(p). */
typedef struct cand_iter {
  const curve *bid, *offer;
  uint32_t i, j;      /* next bid / offer limit level, ascending */
  int64_t bids_below; /* limit bids priced below the candidate   */
  int64_t offers_upto;/* limit offers priced at most the candidate */
} cand_iter;

static int cand_next(cand_iter *it, int64_t *p, int64_t *d, int64_t *s) {
  const curve *b = it->bid, *o = it->offer;
  /* Levels whose every order is left out are no candidates. */
  while (it->i < b->n_limit && b->qty[at(b, it->i)] == 0) it->i++;
  while (it->j < o->n_limit && o->qty[at(o, it->j)] == 0) it->j++;
  if (it->i == b->n_limit && it->j == o->n_limit) return 0;
  int64_t pb = it->i < b->n_limit ? price_at(b, it->i) : INT64_MAX;
  int64_t po = it->j < o->n_limit ? price_at(o, it->j) : INT64_MAX;
  *p = pb < po ? pb : po;
  while (it->j < o->n_limit && price_at(o, it->j) <= *p)
    it->offers_upto += o->qty[at(o, it->j++)];
  *d = b->market_qty + b->limit_qty - it->bids_below;
  *s = o->market_qty + it->offers_upto;
  while (it->i < b->n_limit && price_at(b, it->i) <= *p)
    it->bids_below += b->qty[at(b, it->i++)];
  return 1;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t abs64(int64_t a) { return a < 0 ? -a : a; }

/* Steps 1 and 2. */
static void find_price(const curve *bid, const curve *offer,
                       int64_t reference_minor, imx_auction_result *r) {
  int64_t p, d, s, volume = 0, surplus = INT64_MAX;
  cand_iter it = {bid, offer, 0, 0, 0, 0};
  while (cand_next(&it, &p, &d, &s)) {
    int64_t v = min64(d, s);
    if (v > volume || (v == volume && v > 0 && abs64(d - s) < surplus)) {
      volume = v;
      surplus = abs64(d - s);
    }
  }
  memset(r, 0, sizeof *r);
  r->surplus_side = IMX_NO_SIDE;
  if (volume == 0) {
    /* Market orders alone: they trade at the reference price. */
    int64_t v = min64(bid->market_qty, offer->market_qty);
    if (v == 0 || reference_minor <= 0) return;
    r->price_minor = reference_minor;
    r->volume = v;
    r->surplus = abs64(bid->market_qty - offer->market_qty);
    r->surplus_side = bid->market_qty > offer->market_qty   ? IMX_BID
                      : bid->market_qty < offer->market_qty ? IMX_OFFER
                                                            : IMX_NO_SIDE;
    return;
  }
  int all_bid = 1, all_offer = 1;
  int64_t lowest = 0, highest = 0, nearest = 0;
  it = (cand_iter){bid, offer, 0, 0, 0, 0};
  while (cand_next(&it, &p, &d, &s)) {
    if (min64(d, s) != volume || abs64(d - s) != surplus) continue;
    all_bid &= d > s;
    all_offer &= d < s;
    if (lowest == 0) lowest = p;
    highest = p;
    /* Ascending walk: an equally near one replaces, so of two limits
    ** equally near the reference the higher wins (Xetra). */
    if (nearest == 0 ||
        abs64(p - reference_minor) <= abs64(nearest - reference_minor))
      nearest = p;
  }
  r->price_minor = surplus > 0 && all_bid     ? highest
                   : surplus > 0 && all_offer ? lowest
                   : reference_minor > 0      ? nearest
                                              : lowest;
  r->volume = volume;
  r->surplus = surplus;
  /* Recompute D and S at the chosen price for the surplus side. */
  it = (cand_iter){bid, offer, 0, 0, 0, 0};
  while (cand_next(&it, &p, &d, &s))
    if (p == r->price_minor) break;
  IMX_ASSERT(p == r->price_minor && min64(d, s) == volume);
  r->surplus_side = d > s ? IMX_BID : d < s ? IMX_OFFER : IMX_NO_SIDE;
}

/* ----------------------------------------------------------- allocation */

/* Walks the orders of one side that take part at the price, in priority
** order (best level first, time order within), handing each its share of
** the volume. */
typedef struct cursor {
  imx_engine *e;
  const book_side *bs;
  int side;
  int64_t price_minor;
  int64_t volume_left;
  const uint32_t *slots; /* the side's levels in eng_key order (sides_order) */
  uint32_t next_level; /* index + 1 in slots of the next level to enter;
                       ** 0: none                                       */
  uint32_t level;      /* slot of the current order's level             */
  uint32_t slot;       /* the current order; NIL before the first       */
  int64_t alloc;       /* what the current order still gets             */
  uint32_t block_seen; /* eng_block_prefetch's                         */
} cursor;

static int level_takes_part(int side, const level *l, int64_t price_minor) {
  if (l->price_minor == IMX_PRICE_MARKET) return 1;
  return side == IMX_BID ? l->price_minor >= price_minor
                         : l->price_minor <= price_minor;
}

static int takes_part(const cursor *c, const level *l) {
  return level_takes_part(c->side, l, c->price_minor);
}

/* Moves to the next order that gets a share; 0 when none is left. The
** current order must still be linked: its next link is read here. A
** level's orders mostly fill consecutive slots of a few blocks (engine.c,
** "order pool"): the walk asks for the rest of a block when it enters one,
** and for the first order of the next level when it enters a level. */
static int cursor_next(cursor *c) {
  const order *pool = c->e->pool;
  uint32_t s = c->slot == NIL ? NIL : pool[c->slot].next;
  while (c->volume_left > 0) {
    if (s == NIL) {
      if (c->next_level == 0) break;
      const level *l = &c->bs->levels[c->slots[c->next_level - 1]];
      if (!takes_part(c, l)) break;
      c->level = c->slots[--c->next_level];
      s = l->head;
      if (c->next_level > 0) { /* levels lie in slot order, not price order */
        const level *next = &c->bs->levels[c->slots[c->next_level - 1]];
        if (c->next_level > 1) __builtin_prefetch(&c->bs->levels[c->slots[c->next_level - 2]]);
        if (next->head != NIL) {
          __builtin_prefetch(&pool[next->head], 1);
          __builtin_prefetch(&c->e->blocks[next->head / POOL_BLOCK]);
        }
      }
    } else if (eng_block_prefetch(pool, c->e->blocks, c->e->links, c->e->pool_n, s,
                                  &c->block_seen),
               left_out(c->e, c->level, &pool[s])) {
      s = pool[s].next;
    } else {
      c->slot = s;
      c->alloc = min64(pool[s].qty_open, c->volume_left);
      c->volume_left -= c->alloc;
      return 1;
    }
  }
  c->slot = NIL;
  c->alloc = 0;
  return 0;
}

static void cursor_start(cursor *c, imx_engine *e, const book *b, int side,
                         int64_t price_minor, int64_t volume) {
  memset(c, 0, sizeof *c);
  c->e = e;
  c->bs = &b->side[side];
  c->side = side;
  c->price_minor = price_minor;
  c->volume_left = volume;
  c->slots = slots_of(e, side);
  c->next_level = c->bs->n;
  c->slot = NIL;
  c->block_seen = NIL;
}

/* Step 4 on one side: leaves out every aon or fok order that would not
** fill whole, allocating the volume in priority order. A level whose
** eligible qty fits in what is left fills whole; the level where the
** volume runs out is walked in time order; at every level after it that
** takes part each aon order would get nothing, so all of them are left out
** by the level's flag. Returns how many orders (or levels of them) this
** pass newly left out. */
static uint32_t exclude_partial_aon(imx_engine *e, book *b, int side,
                                    int64_t price_minor, int64_t volume,
                                    const curve *c, uint32_t *excl_n) {
  const book_side *bs = &b->side[side];
  int64_t *out = out_of(e, side);
  uint8_t *aon_out = aon_out_of(e, side);
  uint32_t n = 0;
  int64_t left = volume;
  for (uint32_t k = bs->n; k-- > 0;) { /* best first */
    uint32_t i = c->slots[k];
    const level *l = &bs->levels[i];
    if (k >= 8) __builtin_prefetch(&bs->levels[c->slots[k - 8]]);
    if (!level_takes_part(side, l, price_minor)) break;
    if (c->qty[k] <= left) {
      left -= c->qty[k];
    } else if (left > 0) {
      for (uint32_t s = l->head; s != NIL; s = e->pool[s].next) {
        order *o = &e->pool[s];
        if (left_out(e, i, o)) continue;
        int64_t alloc = min64(o->qty_open, left);
        left -= alloc;
        if (order_is_aon(o) && alloc < o->qty_open) {
          o->excluded = 1;
          out[i] += o->qty_open;
          IMX_ASSERT(*excl_n < e->pool_n);
          e->scratch_excl[(*excl_n)++] = s;
          n++;
        }
      }
      IMX_ASSERT(left == 0);
    } else if (out[i] < l->qty_aon) {
      /* out[i] holds aon qty only: some aon order is still in. */
      aon_out[i] = 1;
      out[i] = l->qty_aon;
      n++;
    }
  }
  return n;
}

/* Clears what steps 1-5 marked: before compact, while every level the
** call marked is still in the slot arrays (only those were marked). */
static void clear_exclusions(imx_engine *e, book *b, uint32_t excl_n) {
  for (uint32_t k = 0; k < excl_n; k++) e->pool[e->scratch_excl[k]].excluded = 0;
  for (int side = 0; side < 2; side++) {
    const uint32_t *slots = slots_of(e, side);
    int64_t *out = out_of(e, side);
    uint8_t *aon_out = aon_out_of(e, side);
    for (uint32_t k = 0; k < b->side[side].n; k++) {
      out[slots[k]] = 0;
      aon_out[slots[k]] = 0;
    }
  }
}

/* Removes the levels a call emptied, in one pass over the slot array
** (a removal moves no other level, so the array stays right). A call that
** empties many (one in eight or more) makes the side anew from the array (side_rebuild)
** instead, in O(levels), which costs less than as many removals. */
static void compact(imx_engine *e, book_side *bs, uint32_t *slots) {
  uint32_t emptied = 0;
  for (uint32_t k = 0; k < bs->n; k++)
    emptied += bs->levels[slots[k]].count == 0;
  if (emptied == 0) return;
  if (emptied >= bs->n / 8) {
    for (uint32_t k = 0; k < bs->n; k++)
      if (bs->levels[slots[k]].count == 0) eng_level_release(e, &bs->levels[slots[k]]);
    side_rebuild(bs, slots);
    return;
  }
  for (uint32_t k = 0, n = bs->n; k < n; k++) {
    level *l = &bs->levels[slots[k]];
    if (l->count == 0) eng_side_remove_level(e, bs, l);
  }
}

static void fill(imx_engine *e, book *b, const cursor *c, int64_t qty) {
  order *o = &e->pool[c->slot];
  level *l = side_at(&b->side[c->side], c->level);
  level_qty_add(l, o, -qty);
  o->qty_open -= qty;
  o->qty_filled += qty;
  IMX_ASSERT(o->qty_open >= 0 && l->qty_open >= 0);
}

/* A filled order's retirement touches memory far from the book (its cost
** centre's list, the id index, the counts): execute() retires each one
** RETIRE_LAG filled orders later, having started those loads when the
** order filled, so that the misses overlap instead of queueing. */
#define RETIRE_LAG 16u

typedef struct retire_ring {
  uint32_t slot[RETIRE_LAG];
  uint32_t head, n;
} retire_ring;

/* o is filled and unlinked from its level; the loads of what its
** retirement touches start now (eng_retire_prefetch). Until it is
** retired, the queries treat it as closed (e->retiring; an open order never
** has qty_open 0 outside this ring), as they would after eng_retire. */
static void retire_later(imx_engine *e, retire_ring *r, uint32_t slot) {
  IMX_ASSERT(e->pool[slot].qty_open == 0);
  eng_retire_prefetch(e, slot);
  if (r->n == RETIRE_LAG) {
    e->retiring--;
    eng_retire(e, r->slot[r->head]);
    r->head = (r->head + 1) % RETIRE_LAG;
    r->n--;
  }
  e->retiring++;
  r->slot[(r->head + r->n++) % RETIRE_LAG] = slot;
}

static void retire_all(imx_engine *e, retire_ring *r) {
  for (; r->n > 0; r->n--, r->head = (r->head + 1) % RETIRE_LAG) {
    e->retiring--;
    eng_retire(e, r->slot[r->head]);
  }
  IMX_ASSERT(e->retiring == 0);
}

/* Step 5: pairs the two sides' allocations into trades at one price. */
static void execute(imx_engine *e, book *b, int64_t price_minor,
                    int64_t volume) {
  retire_ring ring = {{0}, 0, 0};
  cursor bid, offer;
  cursor_start(&bid, e, b, IMX_BID, price_minor, volume);
  cursor_start(&offer, e, b, IMX_OFFER, price_minor, volume);
  int more = cursor_next(&bid) && cursor_next(&offer);
  while (more) {
    order *buy = &e->pool[bid.slot], *sell = &e->pool[offer.slot];
    int64_t q = min64(bid.alloc, offer.alloc);
    IMX_ASSERT(q > 0 && buy->cc != sell->cc);
    eng_emit_trade(e, buy, sell, q, price_minor, IMX_NO_SIDE);
    risk_fill(e, buy, sell, q, price_minor);
    fill(e, b, &bid, q);
    fill(e, b, &offer, q);
    bid.alloc -= q;
    offer.alloc -= q;
    /* Advance before retiring: the cursor reads the order's next link. */
    uint32_t buy_slot = bid.slot, sell_slot = offer.slot;
    level *bl = side_at(&b->side[IMX_BID], bid.level);
    level *ol = side_at(&b->side[IMX_OFFER], offer.level);
    if (bid.alloc == 0) more &= cursor_next(&bid);
    if (offer.alloc == 0) more &= cursor_next(&offer);
    if (e->pool[buy_slot].qty_open == 0 && buy_slot != bid.slot) {
      eng_level_unlink(e, bl, buy_slot);
      retire_later(e, &ring, buy_slot);
    }
    if (e->pool[sell_slot].qty_open == 0 && sell_slot != offer.slot) {
      eng_level_unlink(e, ol, sell_slot);
      retire_later(e, &ring, sell_slot);
    }
  }
  retire_all(e, &ring);
  IMX_ASSERT(bid.volume_left == 0 && offer.volume_left == 0);
}

/* ------------------------------------------- bids with min_stars (step 6) */

/* Bids with min_stars take no part in steps 1-5: they do not form the
** price (docs/matching.md, "Quality: min_stars"); left_out says so. */

/* Eligible quantity left for a bid: the offers that take part, in
** priority order, at most `need` (so the walk stops early). */
static int64_t eligible_left(imx_engine *e, const book *b, uint32_t service,
                             const order *bid, int64_t price_minor, int64_t need) {
  const book_side *offers = &b->side[IMX_OFFER];
  int64_t can = 0;
  for (const level *l = side_best(offers); l != NULL && can < need;
       l = level_worse(offers, l)) {
    uint32_t i = level_slot(offers, l);
    if (!level_takes_part(IMX_OFFER, l, price_minor)) break;
    for (uint32_t s = l->head; s != NIL && can < need; s = e->pool[s].next) {
      const order *o = &e->pool[s];
      if (left_out(e, i, o) || e->scratch_avail[s] == 0) continue;
      if (rep_eligible(e, bid->stars, rep_find(e, o->cc, service)))
        can += e->scratch_avail[s];
    }
  }
  return can;
}

/*
** Step 6. The bids with min_stars that take part at the price, in their
** priority order, each fill from what the offers that take part have left
** after steps 3-5, taking only eligible offers, in the offers' priority
** order; an aon or fok one only if that fills it whole. execute 0 changes
** nothing and counts what steps 3-5 (volume1) will leave, so that the
** AUCTION event can carry the whole volume before any trade; execute 1,
** after step 5 traded, trades. Returns the volume of this step.
*/
static int64_t restricted_pass(imx_engine *e, book *b, uint32_t service,
                               int64_t price_minor, int64_t volume1, int execute) {
  int64_t *avail = e->scratch_avail;
  book_side *offers = &b->side[IMX_OFFER], *bids = &b->side[IMX_BID];
  int64_t v1 = execute ? 0 : volume1;
  for (const level *l = side_best(offers); l != NULL; l = level_worse(offers, l)) {
    uint32_t i = level_slot(offers, l);
    if (!level_takes_part(IMX_OFFER, l, price_minor)) break;
    for (uint32_t s = l->head; s != NIL; s = e->pool[s].next) {
      const order *o = &e->pool[s];
      if (left_out(e, i, o)) continue;
      int64_t a1 = min64(o->qty_open, v1);
      v1 -= a1;
      avail[s] = o->qty_open - a1;
    }
  }
  IMX_ASSERT(v1 == 0);
  int64_t total = 0;
  for (level *bl = side_best(bids); bl != NULL; bl = level_worse(bids, bl)) {
    if (!level_takes_part(IMX_BID, bl, price_minor)) break;
    for (uint32_t bs = bl->head, bnext; bs != NIL; bs = bnext) {
      order *bid = &e->pool[bs];
      bnext = bid->next;
      if (!bid->stars) continue;
      int64_t left = bid->qty_open;
      if ((bid->aon || bid->tif == IMX_TIF_FOK) &&
          eligible_left(e, b, service, bid, price_minor, left) < left)
        continue;
      for (level *ol = side_best(offers); ol != NULL && left > 0;
           ol = level_worse(offers, ol)) {
        uint32_t k = level_slot(offers, ol);
        if (!level_takes_part(IMX_OFFER, ol, price_minor)) break;
        for (uint32_t s = ol->head, next; s != NIL && left > 0; s = next) {
          order *o = &e->pool[s];
          next = o->next;
          if (left_out(e, k, o) || avail[s] == 0 ||
              !rep_eligible(e, bid->stars, rep_find(e, o->cc, service)))
            continue;
          int64_t q = min64(left, avail[s]);
          avail[s] -= q;
          left -= q;
          total += q;
          if (!execute) continue;
          IMX_ASSERT(bid->cc != o->cc && q <= o->qty_open);
          eng_emit_trade(e, bid, o, q, price_minor, IMX_NO_SIDE);
          risk_fill(e, bid, o, q, price_minor);
          level_qty_add(bl, bid, -q);
          bid->qty_open -= q;
          bid->qty_filled += q;
          level_qty_add(ol, o, -q);
          o->qty_open -= q;
          o->qty_filled += q;
          if (o->qty_open == 0) {
            eng_level_unlink(e, ol, s);
            eng_retire(e, s);
          }
        }
      }
      IMX_ASSERT(left >= 0 && (!execute || bid->qty_open == left));
      if (execute && bid->qty_open == 0) {
        eng_level_unlink(e, bl, bs);
        eng_retire(e, bs);
      }
    }
  }
  return total;
}

/* Cancels the ioc and fok orders that are still open after the call. */
static void cancel_immediate(imx_engine *e, book *b) {
  for (int side = 0; side < 2 && b->immediate > 0; side++) {
    book_side *bs = &b->side[side];
    for (level *l = side_best(bs); l != NULL; l = level_worse(bs, l)) {
      for (uint32_t s = l->head, next; s != NIL; s = next) {
        next = e->pool[s].next;
        order *o = &e->pool[s];
        if (o->tif != IMX_TIF_IOC && o->tif != IMX_TIF_FOK) continue;
        eng_level_unlink(e, l, s);
        eng_emit_cancelled(e, o, o->tif == IMX_TIF_FOK ? IMX_CANCEL_FOK
                                                       : IMX_CANCEL_IOC);
        eng_retire(e, s);
      }
    }
  }
  IMX_ASSERT(b->immediate == 0);
}

imx_status imx_engine_auction_run(imx_engine *e, uint32_t service,
                                  int64_t reference_minor,
                                  imx_auction_result *out) {
  IMX_ASSERT(e != NULL);
  if (service >= e->services_n) return eng_reject(e, 0, IMX_E_UNKNOWN_SERVICE, 0);
  book *b = &e->books[service];
  if (b->mode != IMX_MODE_AUCTION) return eng_reject(e, 0, IMX_E_WRONG_MODE, 0);
  /* The reference can become the price (market orders alone), so it must
  ** be a price the book could trade at: on the tick, within the cap. */
  if (reference_minor < 0 || reference_minor > b->price_cap_minor)
    return eng_reject(e, 0, IMX_E_BAD_PRICE, 0);
  if (reference_minor % b->tick_minor != 0)
    return eng_reject(e, 0, IMX_E_BAD_TICK, 0);
  int64_t reference = b->last_price_minor ? b->last_price_minor : reference_minor;
  imx_auction_result r;
  curve bid, offer;
  uint32_t excl_n = 0;
  sides_order(e, b); /* the levels stay until compact */
  /* Bounded: every pass but the last leaves out at least one order. */
  for (;;) {
    curve_make(e, b, IMX_BID, e->scratch_qty, e->scratch_price, &bid);
    curve_make(e, b, IMX_OFFER, e->scratch_qty + e->scratch_n,
               e->scratch_price + e->scratch_n, &offer);
    find_price(&bid, &offer, reference, &r);
    if (r.volume == 0) break;
    uint32_t n = exclude_partial_aon(e, b, IMX_BID, r.price_minor, r.volume,
                                     &bid, &excl_n) +
                 exclude_partial_aon(e, b, IMX_OFFER, r.price_minor, r.volume,
                                     &offer, &excl_n);
    if (n == 0) break;
  }
  int64_t volume2 = r.volume > 0 && b->restricted > 0
                        ? restricted_pass(e, b, service, r.price_minor, r.volume, 0)
                        : 0;
  imx_event ev;
  eng_event_start(&ev, IMX_EV_AUCTION);
  ev.service = service;
  ev.price_minor = r.price_minor;
  ev.qty = r.volume + volume2;
  ev.surplus = r.surplus;
  ev.surplus_side = r.surplus_side;
  eng_emit(e, &ev);
  if (r.volume > 0) {
    execute(e, b, r.price_minor, r.volume);
    if (volume2 > 0) {
      int64_t traded = restricted_pass(e, b, service, r.price_minor, r.volume, 1);
      IMX_ASSERT(traded == volume2);
    }
    b->last_price_minor = r.price_minor;
    r.volume += volume2;
  }
  clear_exclusions(e, b, excl_n);
  cancel_immediate(e, b);
  compact(e, &b->side[IMX_BID], slots_of(e, IMX_BID));
  compact(e, &b->side[IMX_OFFER], slots_of(e, IMX_OFFER));
  if (out) *out = r;
  return IMX_OK;
}
