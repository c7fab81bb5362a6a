/*
** engine_int.h -- what the files of the engine share and nobody else sees.
**
**   engine.c   lifecycle, events, the order pool, each cost centre's list
**              of open orders, books, continuous matching, queries and the
**              invariant check (which calls the others' checks)
**   levels.c   the price levels of a book side: a slot pool and a
**              red-black tree by price, or a tick map for few prices
**   index.c    sequential key -> pool slot index (orders and tenders by
**              id, order lists by cost centre)
**   auction.c  the periodic call auction and the bookkeeping of auction
**              books: orders per side of each (cost centre, service),
**              self-trade prevention at entry, open ioc/fok orders
**   risk.c     budgets, capacities (positions: a provider's capacity of
**              one service) and the per-cost-centre limits
**   tender.c   tenders and quotes
**   reputation.c  providers' ratings per service, for bids with min_stars
**   snapshot.c the byte codec of snapshots and their header; each file
**              writes and reads its own part (imx_engine_snapshot_write)
**
** Each file owns its data and checks its own invariants: imx_engine_check
** calls auction_check, risk_check and tender_check.
*/
#ifndef IMX_ENGINE_INT_H
#define IMX_ENGINE_INT_H

#include <stddef.h>
#include <stdint.h>

#include "imx_engine.h"

#define NIL UINT32_MAX

/* ------------------------------------------------------------- id index */

/* Maps sequential keys to slots of a pool whose entries hold their key as
** a uint64_t or a uint32_t (key_bytes) at key_off. See index.c. */
typedef struct id_index {
  const char *base;    /* the pool                                  */
  size_t stride;       /* bytes per pool entry                      */
  size_t key_off;      /* where an entry's key is                   */
  size_t key_bytes;    /* 8 or 4                                    */
  uint32_t *direct;    /* key & mask -> slot                        */
  imx_hash overflow;   /* keys whose direct entry is taken          */
  uint32_t mask;
  uint32_t n;          /* keys in the index                         */
} id_index;

int idx_init(id_index *x, const void *base, size_t stride, size_t key_off,
             size_t key_bytes, uint32_t n_max, size_t *bytes);
void idx_free(id_index *x);
/* The overflow halves of idx_find, idx_put, idx_del and idx_set
** (index.c). */
uint32_t idx_find_overflow(const id_index *x, uint64_t key);
void idx_put_overflow(id_index *x, uint64_t key, uint32_t slot);
void idx_del_overflow(id_index *x, uint64_t key);
void idx_set_overflow(id_index *x, uint64_t key, uint32_t slot);

/* The direct-mapped fast paths are inline: every order passes through
** them two or three times. */
static inline uint64_t idx_key_at(const id_index *x, uint32_t slot) {
  const void *p = x->base + (size_t)slot * x->stride + x->key_off;
  if (x->key_bytes == sizeof(uint32_t)) return *(const uint32_t *)p;
  return *(const uint64_t *)p;
}

static inline uint32_t idx_find(const id_index *x, uint64_t key) {
  uint32_t slot = x->direct[key & x->mask];
  if (slot != UINT32_MAX && idx_key_at(x, slot) == key) return slot;
  return x->overflow.n == 0 ? UINT32_MAX : idx_find_overflow(x, key);
}

static inline void idx_put(id_index *x, uint32_t slot) {
  uint64_t key = idx_key_at(x, slot);
  IMX_ASSERT(x->n <= x->mask / 2 && slot != UINT32_MAX);
  uint32_t *d = &x->direct[key & x->mask];
  x->n++;
  if (*d == UINT32_MAX) *d = slot;
  else idx_put_overflow(x, key, slot);
}

/* Removes slot, which is in the index. The caller holds the entry, so its
** key is at hand; the direct entry is compared by slot, without reading the
** key of whatever entry it names (keys are unique: the same slot is the
** same key). */
static inline void idx_del(id_index *x, uint32_t slot) {
  uint64_t key = idx_key_at(x, slot);
  uint32_t *d = &x->direct[key & x->mask];
  IMX_ASSERT(x->n > 0 && slot != UINT32_MAX);
  x->n--;
  if (*d == slot) *d = UINT32_MAX;
  else idx_del_overflow(x, key);
}

/* Points key, the key of slot_old, which is in the index, at slot_new,
** another entry with the same key (the new last of a cost centre's list,
** or the same order copied to a new slot). Its place does not move. The
** caller has the key at hand: neither entry's is read. */
static inline void idx_set_key(id_index *x, uint64_t key, uint32_t slot_old,
                               uint32_t slot_new) {
  uint32_t *d = &x->direct[key & x->mask];
  IMX_ASSERT(slot_old != UINT32_MAX && slot_new != UINT32_MAX);
  if (*d == slot_old) *d = slot_new;
  else idx_set_overflow(x, key, slot_new);
}

static inline void idx_set(id_index *x, uint32_t slot_old, uint32_t slot_new) {
  idx_set_key(x, idx_key_at(x, slot_new), slot_old, slot_new);
}

int idx_check(const id_index *x);

/* ---------------------------------------------------------------- books */

#define IMX_CACHE_LINE_BYTES 64

/* 64 bytes, one cache line (the pool is aligned to lines). */
typedef struct order {
  uint64_t id; /* the orders index reads it here */
  int64_t qty_open;    /* qty_filled + qty_open is the original qty */
  int64_t qty_filled;
  int32_t price_minor; /* IMX_PRICE_MARKET for a market order; read it as
                       ** int64_t (IMX_PRICE_MAX_MINOR fits)              */
  uint32_t level;      /* resting: its level's slot in its book side      */
  uint32_t prev, next; /* FIFO within the level                           */
  uint32_t cc;         /* the by_cc index reads it here                   */
  uint16_t service;    /* < IMX_SERVICES_MAX                              */
  uint8_t stars;       /* a bid's min_stars (0: none, else 10..50) |
                       ** STARS_ALLOW_UNRATED                             */
  uint8_t side : 1, tif : 2, aon : 1, live : 1;
  uint8_t excluded : 1; /* auction: left out of the current call          */
  uint32_t count;      /* auction books: its (cc, service)'s e->counts slot */
  uint8_t unused[12];  /* to the line: an order never spans two          */
} order;

#define STARS_ALLOW_UNRATED 0x80u
#define STARS_MASK 0x7fu

_Static_assert(IMX_SERVICES_MAX - 1 <= UINT16_MAX, "order.service");
_Static_assert(IMX_PRICE_MAX_MINOR <= INT32_MAX && IMX_PRICE_MARKET >= 0,
               "order.price_minor");
_Static_assert(sizeof(order) == IMX_CACHE_LINE_BYTES, "an order is one line");

/* An order's place in its cost centre's list of open orders (engine.c,
** "orders of a cost centre"), by pool slot beside the pool rather than in
** the order: a call that fills half a million orders unlinks each from its
** list, and the neighbours' links are then lines of a table an eighth of
** the pool's size, which stays in the cache, instead of two more orders
** fetched from memory and written back. */
typedef struct cc_link {
  uint32_t prev, next; /* the last's next is the first, the first's prev
                       ** NIL; both NIL: not in a list                   */
} cc_link;

/* A price level keeps, besides its open quantity, the open quantity of
** two kinds of orders that a call auction treats apart, so that the call
** finds its price from the levels without walking their orders: qty_aon,
** aon or fok orders without min_stars (left out of a call when they would
** not fill whole), and qty_stars, bids with min_stars (which never form
** the price). Every change of an order's open qty in a level goes through
** level_qty_add; imx_engine_check recounts all three. */
typedef struct level {
  int64_t price_minor;
  int64_t qty_open;
  int64_t qty_aon;
  int64_t qty_stars;
  uint32_t head, tail;
  uint32_t count;
  uint32_t block; /* the pool block its new orders go to, or NIL (engine.c) */
} level;

/* The tree node of the level in the same slot (levels.c). Apart from the
** levels, and small, so that a descent reads 24 bytes a step, not a level:
** the tree's upper part stays in the cache. */
typedef struct level_node {
  int64_t key;     /* eng_key(side, the level's price)                  */
  union {
    uint32_t kid[2]; /* the tree: slots, NIL none: kid[0] the lower key
                     ** (worse), kid[1] the higher (better)           */
    uint32_t rank;   /* the tick map: the level's rank                 */
  };
  uint32_t up;     /* the parent; a free slot chains through it         */
  uint8_t red;
  uint8_t is_free;
} level_node;

_Static_assert(sizeof(level_node) == 24, "a node is 24 bytes");

/* Is o counted in its level's qty_aon? */
static inline int order_is_aon(const order *o) {
  return (o->aon || o->tif == IMX_TIF_FOK) && o->stars == 0;
}

/* Changes the open qty that o holds in l by delta (the caller changes
** o->qty_open itself). */
static inline void level_qty_add(level *l, const order *o, int64_t delta) {
  l->qty_open += delta;
  if (o->stars != 0) {
    l->qty_stars += delta;
    IMX_ASSERT(l->qty_stars >= 0);
  } else if (o->aon || o->tif == IMX_TIF_FOK) {
    l->qty_aon += delta;
    IMX_ASSERT(l->qty_aon >= 0);
  }
}

/* A side's price levels: a pool of cap slots (a level keeps its slot while
** it exists) ordered by eng_key() ascending, so the best level is the
** maximum: by a red-black tree over the slots in use, or, where the side's
** prices on the tick are few (price cap / tick no more than
** TICK_MAP_PER_LEVEL x cap), by a tick map: each price's rank (0 the worst
** price, best market) names its level's slot, and a bitmap of the ranks
** in use, with a summary of each 64 bits above it, finds the next level in
** a few word reads. levels.c; use it through the functions below, never by
** position. */
#define TICK_MAP_PER_LEVEL 16u
#define TICK_MAP_DEPTH 4u /* bitmap levels: 64^4 ranks at most */

typedef struct book_side {
  level *levels;      /* cap slots                                     */
  level_node *nodes;  /* cap slots: the tree over them (its key and the
                      ** free chain also for the tick map)             */
  uint32_t *map;      /* NULL: the tree; else rank -> slot, NIL none    */
  uint64_t *bits[TICK_MAP_DEPTH]; /* bits[0]: ranks in use; bits[j + 1]:
                      ** which words of bits[j] are not 0               */
  uint32_t bits_depth;/* bitmap levels in use; the last is one word    */
  uint32_t ranks;     /* tick map: prices on the tick up to the cap,
                      ** and market (the last rank)                    */
  uint32_t tick;      /* tick map: the book's tick                     */
  uint32_t root;      /* NIL: no level                                 */
  uint32_t best;      /* the maximum, cached; NIL: no level            */
  uint32_t free_head; /* removed slots, chained through `up`           */
  uint32_t used;      /* slots handed out so far; the rest untouched   */
  uint32_t n;         /* levels                                        */
  uint32_t cap;
  uint8_t side;       /* IMX_BID or IMX_OFFER: which eng_key           */
} book_side;

/* Bids by price, offers by -price; market orders (auction books) above
** every limit of either side. */
static inline int64_t eng_key(int side, int64_t price_minor) {
  if (price_minor == IMX_PRICE_MARKET) return INT64_MAX;
  return side == IMX_BID ? price_minor : -price_minor;
}

static inline level *side_at(const book_side *bs, uint32_t slot) {
  return slot == NIL ? NULL : &bs->levels[slot];
}

/* A level's slot: stable while the level exists; indexes per-level scratch
** (auction.c). */
static inline uint32_t level_slot(const book_side *bs, const level *l) {
  return (uint32_t)(l - bs->levels);
}

/* The level a resting order is in. O(1). */
static inline level *order_level(const book_side *bs, const order *o) {
  IMX_ASSERT(o->level < bs->cap);
  level *l = &bs->levels[o->level];
  IMX_ASSERT(l->price_minor == o->price_minor && l->count > 0);
  return l;
}

/* The best level, or NULL. O(1). */
static inline level *side_best(const book_side *bs) {
  return side_at(bs, bs->best);
}

/* levels.c: the tick map's halves of side_worst and side_next. */
uint32_t tick_worst(const book_side *bs);
uint32_t tick_next(const book_side *bs, uint32_t s, int dir);

/* A price's rank in a side's tick map, or NIL off the map (not on the
** tick, or past the cap). Prices fit 32 bits (order.price_minor). */
static inline uint32_t tick_rank(const book_side *bs, int64_t price_minor) {
  if (price_minor == IMX_PRICE_MARKET) return bs->ranks - 1;
  if (price_minor < bs->tick || price_minor > INT32_MAX) return NIL;
  uint32_t t = (uint32_t)price_minor / bs->tick; /* 1 .. ranks - 1 */
  if (t * bs->tick != (uint32_t)price_minor || t >= bs->ranks) return NIL;
  return bs->side == IMX_BID ? t - 1 : bs->ranks - 1 - t;
}

/* The worst level (the minimum), or NULL. O(log n). */
static inline level *side_worst(const book_side *bs) {
  if (bs->map) return side_at(bs, tick_worst(bs));
  uint32_t s = bs->root;
  if (s == NIL) return NULL;
  while (bs->nodes[s].kid[0] != NIL) s = bs->nodes[s].kid[0];
  return &bs->levels[s];
}

/* The neighbour of slot s in key order, towards dir (0: the predecessor,
** the next worse level; 1: the successor, the next better), or NIL.
** Amortised O(1) over a walk; O(1) from the best level. */
static inline uint32_t side_next(const book_side *bs, uint32_t s, int dir) {
  if (bs->map) return tick_next(bs, s, dir);
  const level_node *t = bs->nodes;
  uint32_t k = t[s].kid[dir];
  if (k != NIL) {
    while (t[k].kid[!dir] != NIL) k = t[k].kid[!dir];
    return k;
  }
  for (k = t[s].up; k != NIL && t[k].kid[dir] == s; k = t[k].up) s = k;
  return k;
}

/* The next level in priority order, or NULL. */
static inline level *level_worse(const book_side *bs, const level *l) {
  return side_at(bs, side_next(bs, level_slot(bs, l), 0));
}

/* The previous level in priority order, or NULL. */
static inline level *level_better(const book_side *bs, const level *l) {
  return side_at(bs, side_next(bs, level_slot(bs, l), 1));
}

/* The level of a price, or NULL. O(log n) in a tree, O(1) in a tick map
** and at the best price. */
static inline level *side_find(const book_side *bs, int64_t price_minor) {
  const level_node *t = bs->nodes;
  int64_t k = eng_key(bs->side, price_minor);
  if (bs->best != NIL && t[bs->best].key == k) return &bs->levels[bs->best];
  if (bs->map) {
    uint32_t r = tick_rank(bs, price_minor);
    return r == NIL ? NULL : side_at(bs, bs->map[r]);
  }
  for (uint32_t s = bs->root; s != NIL;) {
    if (k == t[s].key) return &bs->levels[s];
    s = t[s].kid[k > t[s].key]; /* an index, not a branch: random prices */
  }
  return NULL;
}

/* levels.c. side_insert_level returns the level of the price, made empty
** if it did not exist (the caller made sure of room: n < cap); levels
** other than a new one do not move. side_remove_level removes an empty
** level; the others keep their slots. Both O(log n) worst case in a tree,
** O(1) in a tick map. */
int side_init(imx_engine *e, book_side *bs, uint32_t cap, int side,
              int64_t tick_minor, int64_t price_cap_minor);
void side_free(book_side *bs);
level *side_insert_level(book_side *bs, int64_t price_minor);
void side_remove_level(book_side *bs, level *l);
/* Given every level slot of the side in key order (slots[0, n)), frees the
** empty levels and makes a balanced tree of the others, O(n); slots[0, n)
** then holds those, in order. For a call that empties many at once. */
void side_rebuild(book_side *bs, uint32_t *slots);
/* Writes the slots of the side's levels to slots[0, n) in key order (worst
** first), O(n) plus, on a tick map, a read of its bitmap. */
void side_order(const book_side *bs, uint32_t *slots);
int side_check(const book_side *bs);

typedef struct book {
  int64_t tick_minor;
  int64_t lot;
  int64_t price_cap_minor;
  int64_t last_price_minor; /* auction: the last clearing price, or 0 */
  int divisible;
  imx_mode mode;
  uint32_t immediate; /* auction: open ioc/fok orders, cancelled at the call */
  uint32_t restricted;/* auction: open bids with min_stars                   */
  book_side side[2];
} book;

/* A block of POOL_BLOCK consecutive pool slots (engine.c, "order pool"). */
#define POOL_BLOCK 16u
#define POOL_BLOCK_ALL 0xffffu /* every slot of a block free */
#define POOL_HOT 4096u /* freed slots remembered for continuous books */
_Static_assert(POOL_BLOCK == 16, "POOL_BLOCK_ALL has 16 bits");

typedef struct pool_block {
  uint32_t prev, next; /* on the list `listed` names                        */
  uint32_t free;       /* bit k: slot k of the block is free. 32 bits, not
                       ** 16: a load of the bytes after a 16-bit store of
                       ** it waited for the store (no forwarding)          */
  uint32_t after;      /* the block its level took when this one was full,
                       ** or NIL: a hint for walks (eng_block_prefetch),
                       ** which may be stale, never trusted              */
  uint8_t open;        /* the block of some level (level.block)            */
  uint8_t listed;      /* BLOCK_FULL, BLOCK_PARTIAL or BLOCK_FREE           */
} pool_block;

enum { BLOCK_FULL = 0, BLOCK_PARTIAL = 1, BLOCK_FREE = 2 };

/* For walks over an auction level's orders, which run through consecutive
** slots of a block and then jump to another block: on entering a block
** (not the one *seen names), asks for the rest of its lines at once, so
** that its orders arrive together instead of one miss after another, and
** for the block its level went on to (the hint `after`), so that those
** arrive while this one is read; with links (a call, which retires the
** orders it fills), for their list links too. The orders are asked for
** as read once (locality 0): a walk streams through tens of MB of them and
** should not push the id index, the links and the counts, which a call
** reads at random, out of the last-level cache. */
static inline void eng_block_prefetch(const order *pool, const pool_block *blocks,
                                      const cc_link *links, uint32_t pool_n,
                                      uint32_t slot, uint32_t *seen) {
  if (slot / POOL_BLOCK == *seen) return;
  uint32_t b = slot / POOL_BLOCK;
  uint32_t after = *seen == NIL ? NIL : blocks[*seen].after;
  *seen = b;
  if (after != b) /* else: its lines were asked for a block ago */
    for (uint32_t k = slot + 1; k % POOL_BLOCK != 0 && k < pool_n; k++)
      __builtin_prefetch(&pool[k], 1, 0);
  after = blocks[b].after;
  if (after != NIL) {
    __builtin_prefetch(&blocks[after]); /* the hint after that */
    for (uint32_t k = after * POOL_BLOCK; k < (after + 1) * POOL_BLOCK; k++)
      __builtin_prefetch(&pool[k], 1, 0);
  }
  if (links == NULL) return;
  _Static_assert(POOL_BLOCK * sizeof *links % IMX_CACHE_LINE_BYTES == 0,
                 "a block's links are whole lines");
  const char *first = (const char *)&links[slot - slot % POOL_BLOCK];
  for (size_t at = 0; at < POOL_BLOCK * sizeof *links; at += IMX_CACHE_LINE_BYTES)
    __builtin_prefetch(first + at, 1);
}

/* --------------------------------------------------------------- risk */

typedef struct cc_account {
  int64_t budget_minor;
  int64_t reserved_minor;
  int64_t spent_minor;
  int64_t earned_minor;
  uint32_t orders_open;
  uint32_t tenders_open;
  int declared;
} cc_account;

/* A provider's capacity of one service. Never removed. */
typedef struct position {
  uint32_t cc;
  uint32_t service;
  int64_t capacity; /* -1: none declared */
  int64_t cap_reserved;
  int64_t sold;
} position;

/* ----------------------------------------------------------- reputation */

/* A provider's all-time ratings of one service (reputation.c). Never
** removed. */
typedef struct reputation {
  uint32_t cc;
  uint32_t service;
  uint32_t ratings;
  uint64_t stars_sum;
} reputation;

/* ------------------------------------------------------------ auctions */

/* How many orders one cost centre has open on each side of one auction
** book; removed when both reach 0. */
typedef struct auction_count {
  uint32_t cc;
  uint32_t service;
  uint32_t open[2];
} auction_count;

/* -------------------------------------------------------------- tenders */

typedef struct quote {
  uint64_t id;
  uint32_t cc;
  int64_t price_minor;
} quote;

typedef struct tender {
  uint64_t id; /* first: the id index reads it here */
  uint32_t service;
  uint32_t cc;
  int64_t qty;
  int64_t ceiling_minor;
  int64_t deadline_ms;
  uint32_t prev, next; /* open tenders in the order they opened; free list */
  uint32_t quotes_n;
  int live;
  imx_decide decide;
  uint32_t price_weight, quality_weight; /* `score`: sum 100; else 0 */
  quote quotes[IMX_QUOTES_MAX]; /* standing quotes, in arrival order */
} tender;

/* --------------------------------------------------------------- engine */

struct imx_engine {
  imx_event_fn on_event;
  void *ctx;
  order *pool;
  cc_link *links;          /* by pool slot: the cost centres' lists      */
  uint32_t orders_max;
  uint32_t pool_n;         /* slots: blocks_n x POOL_BLOCK, then the stage */
  uint32_t stage;          /* where an order is until it rests             */
  pool_block *blocks;
  uint32_t blocks_n;
  uint32_t blocks_free;    /* wholly free blocks of no level, a stack      */
  uint32_t blocks_partial; /* other blocks with a free slot, newest first  */
  uint32_t retiring;       /* auction.c: filled orders a call has yet to
                           ** retire (the queries do not see them)       */
  uint32_t hot[POOL_HOT];  /* the slots freed last, a ring (may be stale) */
  uint32_t hot_top, hot_n;
  id_index orders; /* open orders by id */
  book *books;
  uint32_t services_max;
  uint32_t services_n;
  uint64_t order_id_next;
  uint64_t trade_id_next;
  size_t memory_bytes;

  id_index by_cc;  /* cost centre -> the last of its open orders */

  /* risk.c */
  int risk;
  uint32_t orders_per_cc_max;
  uint32_t tenders_per_cc_max;
  cc_account *ccs;
  uint32_t ccs_max;
  int64_t budgets_total_minor; /* sum of the declared budgets */
  position *positions;
  uint32_t positions_max;
  uint32_t positions_n;
  imx_hash position_index; /* (cc, service) -> position */
  int64_t *check_cc_reserved;    /* scratch of risk_check */
  uint32_t *check_cc_counts;     /* scratch of risk_check: 2 per cc */
  int64_t *check_cap_reserved;   /* scratch of risk_check */

  /* tender.c */
  tender *tenders;
  uint32_t tenders_max;
  uint32_t tender_free;
  uint32_t tender_head, tender_tail; /* open tenders, oldest first */
  id_index tender_index;
  uint64_t tender_id_next;
  uint64_t quote_id_next;
  uint64_t *quote_keys;    /* quote ids by quote slot: tender slot x
                           ** IMX_QUOTES_MAX + position in the tender   */
  id_index quote_index;    /* standing quotes by id                    */
  int64_t clock_ms;

  /* reputation.c */
  uint32_t ratings_min;
  reputation *reputations;
  uint32_t reputations_max;
  uint32_t reputations_n;
  imx_hash reputation_index; /* (cc, service) -> reputation */

  /* auction.c */
  auction_count *counts;   /* pool of positions_max, free ones chained
                           ** through open[0], their cc and service NIL  */
  uint32_t counts_free;
  uint32_t counts_idle;    /* counts in count_index at 0 on both sides:
                           ** removed only when a new pair needs room   */
  imx_hash count_index;    /* (cc, service) -> counts slot              */
  uint32_t *check_counts;  /* scratch of auction_check: 2 per slot      */
  int64_t *scratch_qty;    /* one call: qty per level, both sides, by
                           ** position in scratch_slots                */
  int64_t *scratch_price;  /* one call: price per level, the same       */
  uint32_t *scratch_slots; /* one call: per side, the slots of its levels
                           ** in eng_key order (side x scratch_n + k)    */
  int64_t *scratch_out;    /* one call: qty per level left out by the
                           ** all-or-none step, both sides (0 between
                           ** calls)                                    */
  uint8_t *scratch_aon_out;/* one call: per level, 1 when every aon order
                           ** of the level is left out (0 between calls) */
  uint32_t *scratch_excl;  /* one call: slots of the orders marked
                           ** excluded one by one (pool_n)              */
  int64_t *scratch_avail;  /* one call: by pool slot, what an offer has
                           ** left for bids with min_stars (pool_n)     */
  uint32_t scratch_n;       /* per-level scratch is side x scratch_n +
                            ** level slot: the largest levels_max        */
};

/* engine.c */
void *eng_alloc(imx_engine *e, size_t n, size_t size);
/* Every byte `fill` (0, or 0xff for tables of NIL), cache-line aligned;
** from 2 MiB on, aligned to and advised for huge pages. Adds the bytes it
** took (rounded up to lines or huge pages) to *counted, the engine's
** memory_bytes. Released with free(). engine.c. */
void *eng_big_alloc(size_t bytes, int fill, size_t *counted);
void eng_emit(imx_engine *e, const imx_event *ev);
/* Starts an event: every field zero, then its type. A copy of a zeroed
** event, not a memset: compilers turn the memset of an event into
** `rep stos`, whose start-up cost as much as the rest of a trade's event;
** the copy is a few vector moves. */
static inline void eng_event_start(imx_event *ev, imx_event_type type) {
  static const imx_event blank;
  *ev = blank;
  ev->type = type;
}
imx_status eng_reject(imx_engine *e, uint64_t order_id, imx_status why,
                      int64_t available);
void eng_emit_trade(imx_engine *e, const order *buy, const order *sell,
                    int64_t qty, int64_t price_minor, imx_side aggressor);
void eng_emit_cancelled(imx_engine *e, const order *o, imx_cancel_reason why);
void eng_level_unlink(imx_engine *e, level *l, uint32_t slot);
/* Removes an emptied level: its pool block, then the tree (levels.c). */
void eng_side_remove_level(imx_engine *e, book_side *bs, level *l);
void eng_level_release(imx_engine *e, level *l);
void eng_retire(imx_engine *e, uint32_t slot);
void eng_retire_prefetch(const imx_engine *e, uint32_t slot);
imx_status eng_check_qty_price(const book *b, int64_t qty,
                               int64_t price_minor);

/* risk.c */
int risk_init(imx_engine *e, const imx_engine_config *cfg);
void risk_free(imx_engine *e);
int64_t risk_bid_limit(const book *b, const order *o);
imx_status risk_check_order(imx_engine *e, const imx_order_new *o,
                            int64_t *available);
void risk_reserve_order(imx_engine *e, const order *o);
imx_status risk_check_modify(imx_engine *e, const order *o, int64_t qty_open,
                             int64_t price_minor, int64_t *available);
void risk_unreserve_order(imx_engine *e, const order *o);
void risk_order_opened(imx_engine *e, const order *o);
void risk_order_closed(imx_engine *e, const order *o);
void risk_fill(imx_engine *e, const order *buy, const order *sell, int64_t qty,
               int64_t price_minor);
imx_status risk_check_tender(imx_engine *e, const imx_tender_new *t,
                             int64_t *available);
void risk_tender_closed(imx_engine *e, uint32_t cc);
void risk_release_budget(imx_engine *e, uint32_t cc, int64_t amount_minor);
imx_status risk_reserve_capacity(imx_engine *e, uint32_t cc, uint32_t service,
                                 int64_t qty, int64_t *available);
void risk_release_capacity(imx_engine *e, uint32_t cc, uint32_t service,
                           int64_t qty);
void risk_settle(imx_engine *e, uint32_t buyer, int64_t reserved_minor,
                 uint32_t seller, uint32_t service, int64_t qty,
                 int64_t price_minor);
int risk_check(const imx_engine *e);

/* tender.c */
int tender_init(imx_engine *e, uint32_t tenders_max);
void tender_free(imx_engine *e);
int tender_check(const imx_engine *e);

/* reputation.c */
int rep_init(imx_engine *e, const imx_engine_config *cfg);
void rep_free(imx_engine *e);
/* The reputation of (cc, service), or NULL: never rated. */
const reputation *rep_find(const imx_engine *e, uint32_t cc, uint32_t service);
/* May a bid whose stars byte is `stars` (non-zero) trade with this
** provider, whose reputation is rep (NULL: never rated)? */
static inline int rep_eligible(const imx_engine *e, unsigned stars,
                               const reputation *rep) {
  uint32_t n = rep ? rep->ratings : 0;
  if (n < e->ratings_min) return (stars & STARS_ALLOW_UNRATED) != 0;
  /* mean >= min/10  <=>  sum * 10 >= min * n, exact; both < 2^40 */
  return rep->stars_sum * 10u >= (uint64_t)(stars & STARS_MASK) * n;
}
int rep_check(const imx_engine *e);

/* auction.c */
int auction_service_added(imx_engine *e, uint32_t levels);
void auction_free(imx_engine *e);
imx_status auction_check_entry(const imx_engine *e, const imx_order_new *o);
void auction_order_opened(imx_engine *e, order *o);
void auction_order_closed(imx_engine *e, const order *o);
int auction_check(const imx_engine *e);

/* ------------------------------------------------------------ snapshots */

/* The codec is imx_base.h's; these name its widths. */
typedef imx_wbuf snap_out;
typedef imx_rbuf snap_in;
static inline void snap_u64(snap_out *o, uint64_t v) { imx_wbuf_int(o, v, 8); }
static inline void snap_u32(snap_out *o, uint32_t v) { imx_wbuf_int(o, v, 4); }
static inline void snap_i64(snap_out *o, int64_t v) { imx_wbuf_int(o, (uint64_t)v, 8); }
static inline uint64_t snap_get_u64(snap_in *in) { return imx_rbuf_int(in, 8); }
static inline uint32_t snap_get_u32(snap_in *in) { return (uint32_t)imx_rbuf_int(in, 4); }
static inline int64_t snap_get_i64(snap_in *in) { return (int64_t)imx_rbuf_int(in, 8); }
static inline int snap_fail(snap_in *in, const char *why) { return imx_rbuf_fail(in, why); }

/* Each part writes and reads its own data. A reader runs on an engine made
** with the same configuration and services and no orders or tenders; it
** validates what it reads enough never to trip an assertion, and the
** caller runs imx_engine_check on the result. */
void books_snap_write(const imx_engine *e, snap_out *o);  /* engine.c  */
int books_snap_read(imx_engine *e, snap_in *in);
void risk_snap_write(const imx_engine *e, snap_out *o);   /* risk.c    */
int risk_snap_read(imx_engine *e, snap_in *in);
void tender_snap_write(const imx_engine *e, snap_out *o); /* tender.c  */
void rep_snap_write(const imx_engine *e, snap_out *o);    /* reputation.c */
int rep_snap_read(imx_engine *e, snap_in *in);
int tender_snap_read(imx_engine *e, snap_in *in);

#endif /* IMX_ENGINE_INT_H */
