/*
** index.c -- key -> pool slot, for keys handed out in sequence.
**
** The ids of orders and tenders are sequential, and so are the numbers of
** cost centres in practice, so the low bits of a key address a direct-mapped
** table: entries made one after the other sit next to each other (kind to
** the cache and the TLB) and a lookup is one load. An entry whose direct
** slot is held by another key still present (2^k ids earlier, or a cost
** centre with the same low bits) goes to the open-addressing overflow table
** of imx_base.h instead, so one long-lived order never slows the others
** down. The direct table has 2^k >= 2 * n_max entries; the overflow table
** (imx_hash_init) at least as many, so it can hold every key and never
** fills.
**
** The key is a uint64_t (an order's or a tender's id) or a uint32_t (an
** order's cost centre, for engine.c's per-cost-centre lists) at key_off in
** each pool entry. Keys in one index are unique.
**
** A multiplicative hash over the whole table was measured first: every
** insert and lookup was a cache miss, and the engine ran at half the speed.
*/
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

#define key_at idx_key_at

/* imx_hash_del asks the owner for the hash of an entry it moves. */
static uint64_t key_of(const void *owner, uint32_t slot) {
  return key_at(owner, slot);
}

int idx_init(id_index *x, const void *base, size_t stride, size_t key_off,
             size_t key_bytes, uint32_t n_max, size_t *bytes) {
  IMX_ASSERT(key_bytes == sizeof(uint64_t) || key_bytes == sizeof(uint32_t));
  IMX_ASSERT(n_max > 0 && key_off + key_bytes <= stride);
  memset(x, 0, sizeof *x);
  x->base = base;
  x->stride = stride;
  x->key_off = key_off;
  x->key_bytes = key_bytes;
  uint32_t bits = 1;
  while ((1ull << bits) < 2ull * n_max) bits++;
  size_t size = (size_t)1 << bits;
  x->mask = (uint32_t)(size - 1);
  x->direct = eng_big_alloc(size * sizeof(uint32_t), 0xff, bytes); /* every NIL */
  if (x->direct == NULL || imx_hash_init(&x->overflow, n_max) != 0) {
    idx_free(x);
    return -1;
  }
  *bytes += (x->overflow.mask + 1) * sizeof(uint32_t);
  IMX_ASSERT(x->overflow.mask >= x->mask / 2); /* holds n_max and more */
  return 0;
}

void idx_free(id_index *x) {
  free(x->direct);
  imx_hash_free(&x->overflow);
  x->direct = NULL;
}

/* Returns the overflow position of key, or NIL. Bounded: the table always
** has an empty slot, which ends every probe chain. */
static uint32_t overflow_pos(const id_index *x, uint64_t key) {
  if (x->overflow.n == 0) return NIL;
  uint32_t i = imx_hash_first(&x->overflow, key);
  for (uint32_t probes = 0; probes <= x->overflow.mask; probes++) {
    uint32_t slot = x->overflow.slots[i];
    if (slot == IMX_HASH_NIL) return NIL;
    if (key_at(x, slot) == key) return i;
    i = imx_hash_next(&x->overflow, i);
  }
  IMX_ASSERT(0 && "overflow table without an empty slot");
  return NIL;
}

uint32_t idx_find_overflow(const id_index *x, uint64_t key) {
  uint32_t i = overflow_pos(x, key);
  return i == NIL ? NIL : x->overflow.slots[i];
}

/* idx_put found the key's direct entry taken (idx_put counted it). */
void idx_put_overflow(id_index *x, uint64_t key, uint32_t slot) {
  IMX_ASSERT(key_at(x, x->direct[key & x->mask]) != key);
  IMX_ASSERT(overflow_pos(x, key) == NIL);
  imx_hash_put(&x->overflow, key, slot);
}

/* idx_set found the key outside the direct table. */
void idx_set_overflow(id_index *x, uint64_t key, uint32_t slot) {
  IMX_ASSERT(key_at(x, slot) == key);
  uint32_t i = overflow_pos(x, key);
  IMX_ASSERT(i != NIL);
  x->overflow.slots[i] = slot;
}

/* idx_del found the key outside the direct table (idx_del counted it). */
void idx_del_overflow(id_index *x, uint64_t key) {
  uint32_t i = overflow_pos(x, key);
  IMX_ASSERT(i != NIL);
  imx_hash_del(&x->overflow, i, x, key_of);
  IMX_ASSERT(idx_find(x, key) == NIL);
}

/* Counts the entries of both tables and finds every one from its key;
** 0 if all agree with n. */
int idx_check(const id_index *x) {
  uint32_t direct = 0, overflow = 0;
  for (uint32_t i = 0; i <= x->mask; i++) {
    uint32_t slot = x->direct[i];
    if (slot == NIL) continue;
    if ((key_at(x, slot) & x->mask) != i) return 1;
    direct++;
  }
  for (uint32_t i = 0; i <= x->overflow.mask; i++) {
    uint32_t slot = x->overflow.slots[i];
    if (slot == IMX_HASH_NIL) continue;
    if (idx_find(x, key_at(x, slot)) != slot) return 1;
    overflow++;
  }
  return direct + overflow == x->n && overflow == x->overflow.n ? 0 : 1;
}
