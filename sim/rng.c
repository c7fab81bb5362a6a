/*
** rng.c -- the simulator's random numbers: xoshiro256** seeded through
** splitmix64 (Blackman and Vigna). Not for secrets; for runs that repeat
** exactly from a seed on every machine, which rand() does not promise.
*/
#include "sim_int.h"

static uint64_t splitmix64(uint64_t *x) {
  uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

void sim_rng_seed(sim_rng *g, uint64_t seed) {
  uint64_t x = seed;
  for (int i = 0; i < 4; i++) g->s[i] = splitmix64(&x);
  /* splitmix64 never gives four zeros in a row, the one bad state. */
  assert(g->s[0] | g->s[1] | g->s[2] | g->s[3]);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t sim_rng_next(sim_rng *g) {
  uint64_t *s = g->s;
  uint64_t result = rotl(s[1] * 5, 7) * 9;
  uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = rotl(s[3], 45);
  return result;
}

int64_t sim_rng_range(sim_rng *g, int64_t lo, int64_t hi) {
  assert(lo <= hi);
  uint64_t span = (uint64_t)hi - (uint64_t)lo + 1; /* 0: the whole range */
  if (span == 0) return (int64_t)sim_rng_next(g);
  /* Reject the top partial copy of [0, span) so every value is as likely.
  ** That copy lies within the top span values (UINT64_MAX % span < span), so
  ** a draw below them is kept without computing its start: one division a
  ** draw instead of two, and the same draws. */
  uint64_t x = sim_rng_next(g);
  if (x > UINT64_MAX - span) {
    uint64_t limit = UINT64_MAX - UINT64_MAX % span;
    while (x >= limit) x = sim_rng_next(g);
  }
  int64_t v = (int64_t)((uint64_t)lo + x % span);
  assert(v >= lo && v <= hi);
  return v;
}
