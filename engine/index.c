/*
** index.c -- id -> pool slot, for ids handed out in sequence.
**
** The ids of orders and tenders are sequential, so their low bits address a
** direct-mapped table: entries made one after the other sit next to each
** other (kind to the cache and the TLB) and a lookup is one load. An entry
** whose direct slot is held by an older one still open (2^k ids earlier)
** goes to an open-addressing overflow table instead, so one long-lived order
** never slows the others down. Both tables have 2^k >= 2 * n_max entries.
**
** A multiplicative hash over the whole table was measured first: every
** insert and lookup was a cache miss, and the engine ran at half the speed.
*/
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

static uint64_t id_at(const id_index *x, uint32_t slot) {
  return *(const uint64_t *)(const void *)(x->base + (size_t)slot * x->stride);
}

static uint32_t overflow_home(const id_index *x, uint64_t id) {
  return (uint32_t)((id * 0x9E3779B97F4A7C15ull) >> x->shift);
}

int idx_init(id_index *x, const void *base, size_t stride, uint32_t n_max,
             size_t *bytes) {
  assert(n_max > 0 && stride >= sizeof(uint64_t));
  memset(x, 0, sizeof *x);
  x->base = base;
  x->stride = stride;
  uint32_t bits = 1;
  while ((1ull << bits) < 2ull * n_max) bits++;
  size_t size = (size_t)1 << bits;
  x->mask = (uint32_t)(size - 1);
  x->shift = 64 - bits;
  x->direct = malloc(size * sizeof(uint32_t));
  x->overflow = malloc(size * sizeof(uint32_t));
  if (x->direct == NULL || x->overflow == NULL) {
    idx_free(x);
    return -1;
  }
  /* Touch every page now, not in the first busy minute of trading. */
  memset(x->direct, 0xff, size * sizeof(uint32_t));
  memset(x->overflow, 0xff, size * sizeof(uint32_t));
  *bytes += 2 * size * sizeof(uint32_t);
  return 0;
}

void idx_free(id_index *x) {
  free(x->direct);
  free(x->overflow);
  x->direct = x->overflow = NULL;
}

/* Returns the overflow position of id, or NIL. */
static uint32_t overflow_pos(const id_index *x, uint64_t id) {
  if (x->overflow_n == 0) return NIL;
  uint32_t i = overflow_home(x, id);
  for (uint32_t probes = 0; probes <= x->mask; probes++) {
    uint32_t slot = x->overflow[i];
    if (slot == NIL) return NIL;
    if (id_at(x, slot) == id) return i;
    i = (i + 1) & x->mask;
  }
  return NIL;
}

uint32_t idx_find(const id_index *x, uint64_t id) {
  uint32_t slot = x->direct[id & x->mask];
  if (slot != NIL && id_at(x, slot) == id) return slot;
  uint32_t i = overflow_pos(x, id);
  return i == NIL ? NIL : x->overflow[i];
}

void idx_put(id_index *x, uint32_t slot) {
  uint64_t id = id_at(x, slot);
  assert(x->n <= x->mask / 2 && idx_find(x, id) == NIL);
  x->n++;
  uint32_t *d = &x->direct[id & x->mask];
  if (*d == NIL) {
    *d = slot;
    return;
  }
  uint32_t i = overflow_home(x, id);
  while (x->overflow[i] != NIL) i = (i + 1) & x->mask;
  x->overflow[i] = slot;
  x->overflow_n++;
}

/* Backward-shift deletion keeps every probe chain unbroken without
** tombstones, so lookups never degrade over a long run. */
static void overflow_del(id_index *x, uint32_t i) {
  uint32_t j = i;
  for (;;) {
    j = (j + 1) & x->mask;
    uint32_t slot = x->overflow[j];
    if (slot == NIL) break;
    uint32_t k = overflow_home(x, id_at(x, slot));
    /* Move j back to i unless its home k lies cyclically in (i, j]. */
    int k_in = i <= j ? (i < k && k <= j) : (i < k || k <= j);
    if (!k_in) {
      x->overflow[i] = slot;
      i = j;
    }
  }
  x->overflow[i] = NIL;
  x->overflow_n--;
}

void idx_del(id_index *x, uint64_t id) {
  uint32_t *d = &x->direct[id & x->mask];
  assert(x->n > 0);
  x->n--;
  if (*d != NIL && id_at(x, *d) == id) {
    *d = NIL;
    return;
  }
  uint32_t i = overflow_pos(x, id);
  assert(i != NIL);
  overflow_del(x, i);
}

/* Counts the entries of both tables; 0 if they agree with n. */
int idx_check(const id_index *x) {
  uint32_t direct = 0, overflow = 0;
  for (uint32_t i = 0; i <= x->mask; i++) {
    direct += x->direct[i] != NIL;
    overflow += x->overflow[i] != NIL;
  }
  return direct + overflow == x->n && overflow == x->overflow_n ? 0 : 1;
}
