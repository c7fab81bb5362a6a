/*
** levels.c -- the price levels of one book side: a pool of stable slots
** and a red-black tree over them (or, for few prices, a tick map: below),
** ordered by eng_key() (bids by price ascending, offers by price
** descending, market orders highest), so the BEST level is the maximum.
**
** Why a tree. The sides used to be sorted arrays, best level last: an
** insert or delete near the touch moved a few bytes, but random prices
** (the simulator's agents) make books thousands of levels deep, and then
** every new level and every emptied one moved half the array: imx-sim
** bench spent about 35 % of its time in that memmove and the binary
** search. Here insert and delete are O(log n) worst case and move no
** level: a level keeps its slot from creation to removal, so callers may
** hold a pointer to it across the removal of others, and auction.c indexes
** its per-call scratch by slot.
**
** Layout. A side's `levels` is `cap` slots of levels (price, totals, the
** FIFO of orders); `nodes` is `cap` tree nodes, the node of slot s being
** the tree's entry for levels[s]: its key (eng_key of the price), links
** as uint32 slots (NIL: none) kid[0] (lower key), kid[1] (higher key) and
** up, and the colour. The nodes are apart from the levels and 24 bytes, so
** that a descent (every add and cancel makes one) reads a dense array
** whose upper levels stay in the cache, and reads no level until it has
** found one; it indexes kid[] with the comparison instead of branching on
** it: with random prices that branch is a coin toss, and its
** mispredictions cost more than the load. Slots below `used` have been
** handed out at least once; free ones among them chain through `up` from
** free_head; slots from `used` on were never touched, so a side's memory
** is faulted in only as deep as the book has been. `best` caches the
** maximum so that the continuous matching's path (match at the best
** level, remove it when it empties: its predecessor is its left child or
** its parent) stays O(1).
**
** The deletion relinks the successor into the deleted node's place rather
** than copying it (the textbook shortcut), because copying would move a
** level out of its slot. A call auction that empties many levels at once
** hands the side's levels in key order to side_rebuild instead, which
** frees the empty ones and links the rest as a balanced tree in O(n).
** Nothing here is random: the same commands give the same tree.
**
** The price of stable slots: levels no longer lie in price order in
** memory, so a walk over many of them (a call's price determination)
** misses the cache where the sorted array streamed; auction.c reads each
** side once per call into arrays in price order (side_order).
**
** The tick map. Most services have few prices: a cap of 500.00 with a tick
** of 1.00 is 500 of them. Where a side's prices on the tick (up to the cap,
** plus market) are no more than TICK_MAP_PER_LEVEL per level slot, the
** side keeps, instead of the tree, `map`: for each price's rank (0 the
** worst price, the last market) its level's slot or NIL, and a bitmap of
** the ranks in use with up to three summary levels above it (a bit per
** word below that is not 0). Finding a price's level is one read;
** inserting or removing one sets or clears a bit, and the summary bits
** only when a word turns 0 or stops being; the next level towards either
** side is a few word reads and a count of leading or trailing zeros.
** imx-sim bench (random prices over ~900 levels a side in 200 sides) spent
** a quarter of its time descending the trees, whose nodes of all sides
** together no longer fit the cache; the map takes 4 bytes per price, which
** the per-level limit keeps below what the side's level slots take.
** Uncapped services (prices up to IMX_PRICE_MAX_MINOR) keep the tree. The
** two give the same order, so the same commands give the same events.
*/
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

/* Ranks of a side's prices: each multiple of the tick from one tick to the
** cap, and market; 0 when there are too many for a tick map (more than
** TICK_MAP_PER_LEVEL per level slot, or than the bitmap's depth holds). */
static uint32_t tick_map_ranks(uint32_t cap, int64_t tick_minor,
                               int64_t price_cap_minor) {
  IMX_ASSERT(tick_minor >= 1 && price_cap_minor >= tick_minor);
  IMX_ASSERT(price_cap_minor <= INT32_MAX); /* tick_rank divides in 32 bits */
  uint64_t ranks = (uint64_t)(price_cap_minor / tick_minor) + 1;
  if (ranks > (uint64_t)TICK_MAP_PER_LEVEL * cap ||
      ranks > (uint64_t)1 << (6 * TICK_MAP_DEPTH))
    return 0;
  return (uint32_t)ranks;
}

static int tick_map_init(imx_engine *e, book_side *bs, uint32_t ranks) {
  bs->map = eng_big_alloc((size_t)ranks * sizeof(uint32_t), 0xff, /* NIL */
                          &e->memory_bytes);
  if (bs->map == NULL) return -1;
  uint32_t n = ranks;
  do {
    n = (n + 63) / 64; /* words of this bitmap level */
    IMX_ASSERT(bs->bits_depth < TICK_MAP_DEPTH);
    uint64_t *w = eng_big_alloc((size_t)n * sizeof(uint64_t), 0, &e->memory_bytes);
    if (w == NULL) return -1;
    bs->bits[bs->bits_depth++] = w;
  } while (n > 1);
  bs->ranks = ranks;
  return 0;
}

int side_init(imx_engine *e, book_side *bs, uint32_t cap, int side,
              int64_t tick_minor, int64_t price_cap_minor) {
  IMX_ASSERT(cap >= 1 && (side == IMX_BID || side == IMX_OFFER));
  memset(bs, 0, sizeof *bs);
  bs->cap = cap;
  bs->side = (uint8_t)side;
  bs->root = bs->best = bs->free_head = NIL;
  /* Not cleared: slots are written when first taken, so pages of a deep
  ** side are touched only once the book gets there. */
  bs->levels = malloc((size_t)cap * sizeof(level));
  bs->nodes = malloc((size_t)cap * sizeof(level_node));
  uint32_t ranks = tick_map_ranks(cap, tick_minor, price_cap_minor);
  bs->tick = (uint32_t)tick_minor;
  if (bs->levels == NULL || bs->nodes == NULL ||
      (ranks != 0 && tick_map_init(e, bs, ranks) != 0)) {
    side_free(bs);
    return -1;
  }
  e->memory_bytes += (size_t)cap * (sizeof(level) + sizeof(level_node));
  return 0;
}

void side_free(book_side *bs) {
  free(bs->levels);
  free(bs->nodes);
  free(bs->map);
  for (uint32_t j = 0; j < bs->bits_depth; j++) free(bs->bits[j]);
  bs->levels = NULL;
  bs->nodes = NULL;
  bs->map = NULL;
  bs->bits_depth = 0;
}

/* -------------------------------------------------------------- tick map */

/* Marks rank r in use (on) or not, in every bitmap level whose word
** changes between zero and not zero. */
static void tick_mark(book_side *bs, uint32_t r, int on) {
  for (uint32_t j = 0; j < bs->bits_depth; j++, r /= 64) {
    uint64_t *w = &bs->bits[j][r / 64], bit = (uint64_t)1 << (r % 64);
    IMX_ASSERT(((*w & bit) != 0) != on);
    int was_zero = *w == 0;
    if (on) *w |= bit;
    else *w &= ~bit;
    if (on ? !was_zero : *w != 0) return; /* the levels above stand */
  }
}

/* From word x of bitmap level j down to a rank: the highest (dir 0) or
** lowest (dir 1) set bit at each level. The word is not 0. */
static uint32_t tick_descend(const book_side *bs, uint32_t j, uint32_t x,
                             int dir) {
  for (;;) {
    uint64_t w = bs->bits[j][x];
    IMX_ASSERT(w != 0);
    x = x * 64 + (uint32_t)(dir ? __builtin_ctzll(w) : 63 - __builtin_clzll(w));
    if (j-- == 0) return x;
  }
}

/* The rank in use nearest below (dir 0) or above (dir 1) rank r, or NIL. */
static uint32_t tick_near(const book_side *bs, uint32_t r, int dir) {
  for (uint32_t j = 0; j < bs->bits_depth; j++, r /= 64) {
    uint32_t b = r % 64;
    uint64_t w = bs->bits[j][r / 64];
    uint64_t m = dir ? (b == 63 ? 0 : w & (~(uint64_t)0 << (b + 1)))
                     : w & (((uint64_t)1 << b) - 1);
    if (m != 0) {
      uint32_t x = (r / 64) * 64 +
                   (uint32_t)(dir ? __builtin_ctzll(m) : 63 - __builtin_clzll(m));
      return j == 0 ? x : tick_descend(bs, j - 1, x, dir);
    }
  }
  return NIL;
}

uint32_t tick_worst(const book_side *bs) {
  uint32_t top = bs->bits_depth - 1;
  if (bs->bits[top][0] == 0) return NIL;
  return bs->map[tick_descend(bs, top, 0, 1)];
}

uint32_t tick_next(const book_side *bs, uint32_t s, int dir) {
  IMX_ASSERT(s < bs->used && !bs->nodes[s].is_free);
  uint32_t r = tick_near(bs, bs->nodes[s].rank, dir);
  return r == NIL ? NIL : bs->map[r];
}

/* ------------------------------------------------------------- rotations */

/* Puts child in the place of u under u's parent (or at the root). */
static void replace_child(book_side *bs, uint32_t u, uint32_t child) {
  level_node *v = bs->nodes;
  uint32_t p = v[u].up;
  if (p == NIL) bs->root = child;
  else if (v[p].kid[0] == u) v[p].kid[0] = child;
  else v[p].kid[1] = child;
  if (child != NIL) v[child].up = p;
}

/* Rotates x down to side d (0 left, 1 right): its child on the other side
** takes its place. rotate(x, 0) is the textbook left rotation. */
static void rotate(book_side *bs, uint32_t x, int d) {
  level_node *v = bs->nodes;
  uint32_t y = v[x].kid[!d];
  IMX_ASSERT(y != NIL);
  v[x].kid[!d] = v[y].kid[d];
  if (v[y].kid[d] != NIL) v[v[y].kid[d]].up = x;
  replace_child(bs, x, y);
  v[y].kid[d] = x;
  v[x].up = y;
}

static int is_red(const book_side *bs, uint32_t s) {
  return s != NIL && bs->nodes[s].red;
}

/* ---------------------------------------------------------------- insert */

static uint32_t slot_take(book_side *bs) {
  uint32_t s = bs->free_head;
  if (s != NIL) {
    IMX_ASSERT(s < bs->used && bs->nodes[s].is_free);
    bs->free_head = bs->nodes[s].up;
  } else {
    IMX_ASSERT(bs->used < bs->cap);
    s = bs->used++;
  }
  bs->n++;
  return s;
}

/* Restores the red-black rules after z was linked in red. d is the side
** of z's parent under the grandparent; the two mirror cases are one. */
static void insert_fixup(book_side *bs, uint32_t z) {
  level_node *v = bs->nodes;
  while (z != bs->root && v[v[z].up].red) {
    uint32_t p = v[z].up, g = v[p].up; /* p is red: not the root */
    IMX_ASSERT(g != NIL);
    int d = p != v[g].kid[0];
    uint32_t u = v[g].kid[!d];
    if (is_red(bs, u)) {
      v[p].red = v[u].red = 0;
      v[g].red = 1;
      z = g;
      continue;
    }
    if (z == v[p].kid[!d]) {
      rotate(bs, p, d);
      z = p;
      p = v[z].up;
    }
    v[p].red = 0;
    v[g].red = 1;
    rotate(bs, g, !d);
  }
  v[bs->root].red = 0;
}

/* Takes a slot for a new, empty level of a price, with its node. */
static uint32_t level_open(book_side *bs, level_node node, int64_t price_minor) {
  IMX_ASSERT(bs->n < bs->cap); /* the caller checked levels_full */
  uint32_t z = slot_take(bs);
  bs->nodes[z] = node;
  bs->levels[z] = (level){.price_minor = price_minor, .head = NIL, .tail = NIL,
                          .block = NIL};
  return z;
}

/* side_insert_level on a tick map. */
static level *tick_insert(book_side *bs, int64_t price_minor) {
  uint32_t r = tick_rank(bs, price_minor);
  IMX_ASSERT(r != NIL); /* the engine checked the price */
  uint32_t z = bs->map[r];
  if (z != NIL) return &bs->levels[z];
  z = level_open(bs, (level_node){.key = eng_key(bs->side, price_minor),
                                  .rank = r, .up = NIL}, price_minor);
  bs->map[r] = z;
  tick_mark(bs, r, 1);
  if (bs->best == NIL || r > bs->nodes[bs->best].rank) bs->best = z;
  return &bs->levels[z];
}

level *side_insert_level(book_side *bs, int64_t price_minor) {
  if (bs->map) return tick_insert(bs, price_minor);
  level_node *v = bs->nodes;
  int64_t k = eng_key(bs->side, price_minor);
  uint32_t parent = NIL;
  int right = 0;
  if (bs->best != NIL && k >= v[bs->best].key) {
    /* At or past the best price, the common case near the touch. */
    if (v[bs->best].key == k) return &bs->levels[bs->best];
    parent = bs->best;
    right = 1;
  } else {
    for (uint32_t s = bs->root; s != NIL;) {
      if (k == v[s].key) return &bs->levels[s];
      parent = s;
      right = k > v[s].key;
      s = v[s].kid[right]; /* an index, not a branch: random prices */
    }
  }
  uint32_t z = level_open(bs, (level_node){.key = k, .kid = {NIL, NIL},
                                           .up = parent, .red = 1}, price_minor);
  if (parent == NIL) bs->root = z;
  else v[parent].kid[right] = z;
  if (right && parent == bs->best) bs->best = z;
  if (bs->best == NIL) bs->best = z;
  insert_fixup(bs, z); /* which blackens the root last */
  IMX_ASSERT(v[bs->root].up == NIL && bs->n <= bs->used);
  return &bs->levels[z];
}

/* ---------------------------------------------------------------- remove */

/* Restores the black heights after a black node left x's place (x may be
** NIL, hence its parent xp). */
static void remove_fixup(book_side *bs, uint32_t x, uint32_t xp) {
  level_node *v = bs->nodes;
  while (x != bs->root && !is_red(bs, x)) {
    IMX_ASSERT(xp != NIL);
    int d = x != v[xp].kid[0]; /* x's side; w, its sibling, the other */
    uint32_t w = v[xp].kid[!d];
    if (v[w].red) {
      v[w].red = 0;
      v[xp].red = 1;
      rotate(bs, xp, d);
      w = v[xp].kid[!d];
    }
    if (!is_red(bs, v[w].kid[0]) && !is_red(bs, v[w].kid[1])) {
      v[w].red = 1;
      x = xp;
      xp = v[x].up;
      continue;
    }
    if (!is_red(bs, v[w].kid[!d])) {
      v[v[w].kid[d]].red = 0;
      v[w].red = 1;
      rotate(bs, w, !d);
      w = v[xp].kid[!d];
    }
    v[w].red = v[xp].red;
    v[xp].red = 0;
    v[v[w].kid[!d]].red = 0;
    rotate(bs, xp, d);
    x = bs->root;
  }
  if (x != NIL) v[x].red = 0;
}

/* Gives slot z back: free, chained through `up`. */
static void slot_give(book_side *bs, uint32_t z) {
  level_node *v = bs->nodes;
  v[z].is_free = 1;
  v[z].kid[0] = v[z].kid[1] = NIL;
  v[z].up = bs->free_head;
  bs->free_head = z;
}

/* Takes slot z's level off the tick map (not yet giving the slot back). */
static void tick_remove(book_side *bs, uint32_t z) {
  uint32_t r = bs->nodes[z].rank;
  IMX_ASSERT(r < bs->ranks && bs->map[r] == z);
  tick_mark(bs, r, 0);
  bs->map[r] = NIL;
}

void side_remove_level(book_side *bs, level *l) {
  level_node *v = bs->nodes;
  uint32_t z = level_slot(bs, l);
  IMX_ASSERT(z < bs->used && !v[z].is_free && bs->n > 0);
  IMX_ASSERT(l->count == 0 && l->head == NIL && l->qty_open == 0);
  if (z == bs->best) bs->best = side_next(bs, z, 0);
  if (bs->map) {
    tick_remove(bs, z);
    slot_give(bs, z);
    bs->n--;
    return;
  }
  uint32_t x, xp;
  int removed_red;
  if (v[z].kid[0] == NIL || v[z].kid[1] == NIL) {
    x = v[z].kid[0] == NIL ? v[z].kid[1] : v[z].kid[0];
    xp = v[z].up;
    removed_red = v[z].red;
    replace_child(bs, z, x);
  } else {
    /* The successor y (no left child) takes z's place and colour. */
    uint32_t y = v[z].kid[1];
    while (v[y].kid[0] != NIL) y = v[y].kid[0];
    removed_red = v[y].red;
    x = v[y].kid[1];
    if (v[y].up == z) {
      xp = y;
    } else {
      xp = v[y].up;
      replace_child(bs, y, x);
      v[y].kid[1] = v[z].kid[1];
      v[v[y].kid[1]].up = y;
    }
    replace_child(bs, z, y);
    v[y].kid[0] = v[z].kid[0];
    v[v[y].kid[0]].up = y;
    v[y].red = v[z].red;
  }
  if (!removed_red) remove_fixup(bs, x, xp);
  slot_give(bs, z);
  bs->n--;
  IMX_ASSERT(bs->n > 0 || (bs->root == NIL && bs->best == NIL));
}

/* ---------------------------------------------------------------- rebuild */

/* Links slots[lo, hi) as a subtree of exactly balanced sizes under up;
** nodes at depth red_depth are red, the others black. Returns its root.
** Depth <= 32 (a side holds at most IMX_LEVELS_MAX levels). */
static uint32_t build(level_node *t, const uint32_t *slots, uint32_t lo,
                      uint32_t hi, uint32_t up, uint32_t depth,
                      uint32_t red_depth) {
  if (lo == hi) return NIL;
  IMX_ASSERT(depth <= 32);
  uint32_t mid = lo + (hi - lo) / 2, s = slots[mid];
  t[s].up = up;
  t[s].red = depth >= red_depth;
  t[s].kid[0] = build(t, slots, lo, mid, s, depth + 1, red_depth);
  t[s].kid[1] = build(t, slots, mid + 1, hi, s, depth + 1, red_depth);
  return s;
}

void side_rebuild(book_side *bs, uint32_t *slots) {
  level_node *t = bs->nodes;
  uint32_t kept = 0;
  for (uint32_t k = 0; k < bs->n; k++) {
    uint32_t s = slots[k];
    const level *l = &bs->levels[s];
    IMX_ASSERT(s < bs->used && !t[s].is_free);
    if (l->count > 0) {
      slots[kept++] = s;
      continue;
    }
    IMX_ASSERT(l->head == NIL && l->qty_open == 0);
    if (bs->map) tick_remove(bs, s);
    slot_give(bs, s);
  }
  if (bs->map) { /* the map is in order already */
    bs->n = kept;
    bs->best = kept ? slots[kept - 1] : NIL;
    return;
  }
  /* Subtree sizes differ by at most one, so every level of the tree but
  ** the deepest is full: the deepest red, the rest black, keeps every
  ** path's black count and no red node has a red child. */
  uint32_t full = 0; /* complete levels: 2^full - 1 <= kept */
  while (full < 32 && ((uint64_t)2 << full) - 1 <= kept) full++;
  bs->n = kept;
  bs->root = build(t, slots, 0, kept, NIL, 0, full);
  bs->best = kept ? slots[kept - 1] : NIL;
  IMX_ASSERT(bs->root == NIL || !t[bs->root].red);
}

/* ------------------------------------------------------------------ order */

/* The tree: an in-order walk with a stack of the left spine (a red-black
** tree of 2^32 nodes is at most 64 deep), each node read once. The tick
** map: the words of its lowest bitmap level in order. */
void side_order(const book_side *bs, uint32_t *slots) {
  uint32_t k = 0;
  if (bs->map) {
    for (uint32_t i = 0; i < (bs->ranks + 63) / 64; i++)
      for (uint64_t w = bs->bits[0][i]; w != 0; w &= w - 1) {
        IMX_ASSERT(k < bs->n);
        slots[k++] = bs->map[i * 64 + (uint32_t)__builtin_ctzll(w)];
      }
    IMX_ASSERT(k == bs->n);
    return;
  }
  const level_node *t = bs->nodes;
  uint32_t stack[64], top = 0;
  for (uint32_t s = bs->root; s != NIL || top > 0;) {
    for (; s != NIL; s = t[s].kid[0]) {
      IMX_ASSERT(top < 64);
      stack[top++] = s;
    }
    s = stack[--top];
    IMX_ASSERT(k < bs->n);
    slots[k++] = s;
    s = t[s].kid[1];
  }
  IMX_ASSERT(k == bs->n);
}

/* ------------------------------------------------------------------ check */

/* The tree's shape and colours and the pool's free list; the levels'
** contents are imx_engine_check's. 0 or a check number:
**   80  counts out of range (n > used > cap), or root/best set on an empty
**       side or unset on another
**   81  a link out of range, or a child whose `up` is not its parent
**   82  the in-order walk is not strictly ascending by key (or runs
**       longer than n), or a node's key is not its level's price's
**   83  a red node with a red child, or a red root
**   84  two paths from the root to a leaf with different black counts
**   85  the walk found a number of levels other than n
**   86  the free list is longer than it can be, or holds a slot in use
**   87  tree levels + free slots != slots handed out (a slot in neither,
**       or in both)
**   88  `best` is not the maximum
**   89  tick map: a rank marked in use with no level, a level at a rank
**       not marked, or a summary bit that does not say whether its word
**       below is 0 */
static int tick_check(const book_side *bs) {
  const level_node *v = bs->nodes;
  if (bs->root != NIL) return 80;
  /* The ranks in use: as many bits as levels, as many map entries (the
  ** walk below then finds each bit's entry naming its level). */
  uint32_t seen = 0, last = NIL, words = (bs->ranks + 63) / 64, bits = 0;
  for (uint32_t i = 0; i < words; i++) bits += (uint32_t)__builtin_popcountll(bs->bits[0][i]);
  for (uint32_t r = 0; r < bs->ranks; r++) seen += bs->map[r] != NIL;
  if (bits != bs->n || seen != bs->n) return 89;
  if (bs->ranks % 64 != 0 && bs->bits[0][words - 1] >> (bs->ranks % 64) != 0)
    return 89;
  /* Each summary bit says whether its word below is not 0. */
  for (uint32_t j = 1; j < bs->bits_depth; j++) {
    uint32_t below = words;
    words = (words + 63) / 64;
    for (uint32_t x = 0; x < words * 64; x++) {
      int on = (bs->bits[j][x / 64] >> (x % 64)) & 1;
      if (on != (x < below && bs->bits[j - 1][x] != 0)) return 89;
    }
  }
  if (words != 1) return 89;
  seen = 0;
  for (uint32_t s = tick_worst(bs); s != NIL; s = tick_next(bs, s, 1)) {
    if (s >= bs->used || v[s].is_free) return 81;
    if (++seen > bs->n) return 82;
    const level *l = &bs->levels[s];
    if (v[s].key != eng_key(bs->side, l->price_minor) ||
        v[s].rank != tick_rank(bs, l->price_minor) || bs->map[v[s].rank] != s)
      return 82;
    if (last != NIL && v[last].key >= v[s].key) return 82;
    last = s;
  }
  if (seen != bs->n) return 85;
  return bs->best == last ? 0 : 88;
}

int side_check(const book_side *bs) {
  const level_node *v = bs->nodes;
  if (bs->n > bs->used || bs->used > bs->cap) return 80;
  if ((bs->n == 0) != (bs->best == NIL)) return 80;
  if (bs->map) {
    int rc = tick_check(bs);
    if (rc != 0) return rc;
    goto free_list;
  }
  if ((bs->n == 0) != (bs->root == NIL) || (bs->n == 0) != (bs->best == NIL))
    return 80;
  if (bs->n == 0) goto free_list;
  if (bs->root >= bs->used || v[bs->root].up != NIL) return 81;
  if (v[bs->root].red) return 83;
  uint32_t seen = 0, black_height = 0, last = NIL;
  /* In order, from the minimum, with the links checked as each node is
  ** reached; at most n steps are allowed, so a cycle cannot hang it. */
  uint32_t s = bs->root;
  while (v[s].kid[0] != NIL) {
    s = v[s].kid[0];
    if (s >= bs->used || ++seen > bs->n) return 81;
  }
  seen = 0;
  for (; s != NIL; s = side_next(bs, s, 1)) {
    if (s >= bs->used || v[s].is_free) return 81;
    if (++seen > bs->n) return 82;
    for (int c = 0; c < 2; c++) {
      uint32_t k = v[s].kid[c];
      if (k == NIL) continue;
      if (k >= bs->used || v[k].up != s) return 81;
      if (v[s].red && v[k].red) return 83;
    }
    if (v[s].key != eng_key(bs->side, bs->levels[s].price_minor)) return 82;
    if (last != NIL && v[last].key >= v[s].key) return 82;
    if (v[s].kid[0] == NIL || v[s].kid[1] == NIL) { /* a path ends below s */
      uint32_t blacks = 0, steps = 0;
      for (uint32_t k = s; k != NIL; k = v[k].up) {
        if (k >= bs->used || ++steps > bs->n) return 81;
        blacks += !v[k].red;
      }
      if (black_height == 0) black_height = blacks;
      else if (blacks != black_height) return 84;
    }
    last = s;
  }
  if (seen != bs->n) return 85;
  if (bs->best != last) return 88;
free_list:;
  uint32_t free_n = 0;
  for (uint32_t k = bs->free_head; k != NIL; k = v[k].up) {
    if (k >= bs->used || !v[k].is_free || ++free_n > bs->used) return 86;
  }
  if (free_n + bs->n != bs->used) return 87;
  return 0;
}
