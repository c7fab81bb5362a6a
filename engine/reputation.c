/*
** reputation.c -- each provider's all-time ratings of each service: how
** many and the sum of their stars, set from outside the engine
** (imx_engine_reputation_set: the server, when a rating is accepted). Bids
** with min_stars compare with them as they match (engine.c's walk, through
** rep_eligible in engine_int.h).
**
** A bounded table of reputations_max (cost centre, service) pairs with an
** open-addressing index, allocated at creation; entries are never removed,
** so a lookup on the matching path is one hash probe chain and nothing
** is allocated after creation.
*/
#include <stdlib.h>
#include <string.h>

#include "engine_int.h"

#define REPUTATIONS_DEFAULT 65536u
#define REPUTATIONS_MAX (1u << 24)
#define RATINGS_MIN_DEFAULT 3u

int rep_init(imx_engine *e, const imx_engine_config *cfg) {
  e->ratings_min = cfg->ratings_min ? cfg->ratings_min : RATINGS_MIN_DEFAULT;
  e->reputations_max = cfg->reputations_max ? cfg->reputations_max : REPUTATIONS_DEFAULT;
  if (e->ratings_min > IMX_RATINGS_MIN_MAX || e->reputations_max > REPUTATIONS_MAX) return -1;
  e->reputations = eng_alloc(e, e->reputations_max, sizeof(reputation));
  if (e->reputations == NULL || imx_hash_init(&e->reputation_index, e->reputations_max) != 0)
    return -1;
  e->memory_bytes += (e->reputation_index.mask + 1) * sizeof(uint32_t);
  IMX_ASSERT(e->reputation_index.mask >= e->reputations_max);
  return 0;
}

void rep_free(imx_engine *e) {
  free(e->reputations);
  imx_hash_free(&e->reputation_index);
}

static uint64_t rep_key(uint32_t cc, uint32_t service) {
  return ((uint64_t)cc << 32) | service;
}

const reputation *rep_find(const imx_engine *e, uint32_t cc, uint32_t service) {
  if (e->reputations_n == 0) return NULL;
  uint64_t key = rep_key(cc, service);
  const imx_hash *h = &e->reputation_index;
  uint32_t i = imx_hash_first(h, key);
  for (uint32_t probes = 0; probes <= h->mask; probes++) {
    uint32_t k = h->slots[i];
    if (k == IMX_HASH_NIL) return NULL;
    const reputation *r = &e->reputations[k];
    if (r->cc == cc && r->service == service) return r;
    i = imx_hash_next(h, i);
  }
  IMX_ASSERT(0 && "reputation_index without an empty slot");
  return NULL;
}

static imx_status rep_put(imx_engine *e, uint32_t cc, uint32_t service,
                          uint32_t ratings, uint64_t stars_sum) {
  reputation *r = (reputation *)rep_find(e, cc, service);
  if (r == NULL) {
    if (e->reputations_n == e->reputations_max) return IMX_E_RATINGS_FULL;
    r = &e->reputations[e->reputations_n];
    *r = (reputation){.cc = cc, .service = service};
    imx_hash_put(&e->reputation_index, rep_key(cc, service), e->reputations_n);
    e->reputations_n++;
  }
  r->ratings = ratings;
  r->stars_sum = stars_sum;
  IMX_ASSERT(rep_find(e, cc, service) == r);
  return IMX_OK;
}

static int rep_valid(uint32_t ratings, uint64_t stars_sum) {
  return stars_sum >= ratings && stars_sum <= 5ull * ratings;
}

imx_status imx_engine_reputation_set(imx_engine *e, uint32_t cc,
                                     uint32_t service, uint32_t ratings,
                                     uint64_t stars_sum) {
  IMX_ASSERT(e != NULL);
  if (service >= e->services_n) return IMX_E_UNKNOWN_SERVICE;
  if (!rep_valid(ratings, stars_sum)) return IMX_E_BAD_CONFIG;
  return rep_put(e, cc, service, ratings, stars_sum);
}

void imx_engine_reputation(const imx_engine *e, uint32_t cc, uint32_t service,
                           uint32_t *ratings, uint64_t *stars_sum) {
  const reputation *r = rep_find(e, cc, service);
  *ratings = r ? r->ratings : 0;
  *stars_sum = r ? r->stars_sum : 0;
}

/* Every entry valid and found through the index. 0 or a check number. */
int rep_check(const imx_engine *e) {
  if (e->reputations_n > e->reputations_max) return 90;
  if (e->reputation_index.n != e->reputations_n) return 91;
  for (uint32_t i = 0; i < e->reputations_n; i++) {
    const reputation *r = &e->reputations[i];
    if (r->service >= e->services_n || !rep_valid(r->ratings, r->stars_sum)) return 92;
    if (rep_find(e, r->cc, r->service) != r) return 93;
  }
  return 0;
}

/* The pairs in the order they were first set. */
void rep_snap_write(const imx_engine *e, snap_out *o) {
  snap_u32(o, e->reputations_n);
  for (uint32_t i = 0; i < e->reputations_n; i++) {
    const reputation *r = &e->reputations[i];
    snap_u32(o, r->cc);
    snap_u32(o, r->service);
    snap_u32(o, r->ratings);
    snap_u64(o, r->stars_sum);
  }
}

int rep_snap_read(imx_engine *e, snap_in *in) {
  uint32_t n = snap_get_u32(in);
  if (in->why) return -1;
  if (n > e->reputations_max) return snap_fail(in, "more reputations than this market holds");
  /* The snapshot's replace any set before it was read. */
  memset(e->reputation_index.slots, 0xff,
         (e->reputation_index.mask + 1) * sizeof(uint32_t));
  e->reputation_index.n = 0;
  e->reputations_n = 0;
  for (uint32_t i = 0; i < n; i++) {
    uint32_t cc = snap_get_u32(in), service = snap_get_u32(in), ratings = snap_get_u32(in);
    uint64_t sum = snap_get_u64(in);
    if (in->why) return -1;
    if (service >= e->services_n || !rep_valid(ratings, sum) || rep_find(e, cc, service))
      return snap_fail(in, "a reputation is out of range or twice");
    rep_put(e, cc, service, ratings, sum);
  }
  return 0;
}
