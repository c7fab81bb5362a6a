/*
** metrics.c -- the exact figures both runs are judged by: the most surplus a
** period could give, and what a run's allocation was worth and wasted.
**
** A receiver's values and a provider's costs are per unit and sorted (values
** highest first, costs cheapest first), so consuming n units is worth the n
** first values and producing n units costs the n first costs. The most a
** service can give in a period is the classic competitive surplus: every
** value of every receiver highest first, against every cost of every
** provider cheapest first, summed pair by pair while the value exceeds the
** cost. Waste lines up what a run actually consumed (values highest first)
** against what it produced (costs cheapest first), as the demand and supply
** curves of that allocation: the units past the point where the next unit
** consumed is worth less than the next unit made costs are the waste units
** (over-consumption, in welfare terms), and the sum of cost - value over
** them is what they destroyed. It does not say which receiver took which
** provider's unit: a market where no single trade loses money can still
** show waste when too many units changed hands.
**
** Everything is int64 minor units; sorting is an LSD radix sort so that a
** period of millions of units is linear work.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

int sim_result_init(sim_result *r, const sim_scenario *sc) {
  memset(r, 0, sizeof *r);
  r->sc = sc;
  size_t cells = (size_t)sc->periods * sc->rows_n;
  size_t svcs = (size_t)sc->periods * sc->services_n;
  r->max_surplus_minor = calloc(svcs ? svcs : 1, sizeof *r->max_surplus_minor);
  r->flat.cells = calloc(cells ? cells : 1, sizeof(sim_cell));
  r->market.cells = calloc(cells ? cells : 1, sizeof(sim_cell));
  r->flat.svc = calloc(svcs ? svcs : 1, sizeof(sim_svc_cell));
  r->market.svc = calloc(svcs ? svcs : 1, sizeof(sim_svc_cell));
  r->flat_left = calloc((size_t)sc->rows_n + 1, sizeof *r->flat_left);
  r->agents = sc->agents;
  r->seed = sc->seed;
  if (!r->max_surplus_minor || !r->flat.cells || !r->market.cells ||
      !r->flat.svc || !r->market.svc || !r->flat_left) {
    sim_result_free(r);
    return -1;
  }
  return 0;
}

void sim_result_free(sim_result *r) {
  free(r->max_surplus_minor);
  free(r->flat.cells);
  free(r->market.cells);
  free(r->flat.svc);
  free(r->market.svc);
  free(r->flat_left);
  memset(r, 0, sizeof *r);
}

/* Sorts n non-negative keys ascending, in as many passes of at most 11
** bits as the largest key needs, the bits shared out evenly: a 16-bit
** price takes two passes of 8 bits, whose counts (256) are cheaper to clear
** and sum than 2048 for the few thousand keys of one service. tmp holds n
** entries. */
static void radix_sort(int64_t *a, int64_t *tmp, size_t n) {
  int64_t max = 0;
  for (size_t i = 0; i < n; i++) {
    assert(a[i] >= 0);
    if (a[i] > max) max = a[i];
  }
  enum { BITS_MAX = 11 };
  int bits = 0;
  while (bits < 63 && (max >> bits) != 0) bits++;
  int passes = (bits + BITS_MAX - 1) / BITS_MAX;
  int width = passes ? (bits + passes - 1) / passes : 0;
  size_t count[1u << BITS_MAX], mask = ((size_t)1 << width) - 1;
  int64_t *src = a, *dst = tmp;
  for (int pass = 0; pass < passes; pass++) {
    int shift = pass * width;
    memset(count, 0, (mask + 1) * sizeof *count);
    for (size_t i = 0; i < n; i++) count[(src[i] >> shift) & mask]++;
    size_t sum = 0;
    for (size_t b = 0; b <= mask; b++) {
      size_t c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (size_t i = 0; i < n; i++) dst[count[(src[i] >> shift) & mask]++] = src[i];
    int64_t *t = src;
    src = dst;
    dst = t;
  }
  if (src != a) memcpy(a, src, n * sizeof *a);
  for (size_t i = 1; i < n; i++) assert(a[i - 1] <= a[i]);
}

/* Pairs values (ascending in memory, read from the top) with costs
** (ascending): returns the sum of value - cost over the first pairs while
** value > cost, or over all `pairs` pairs when pairs >= 0. */
static int64_t pair_sum(const int64_t *values, size_t nv, const int64_t *costs,
                        size_t nc, int64_t *waste_units, int64_t *waste_minor) {
  int64_t sum = 0;
  size_t n = nv < nc ? nv : nc;
  for (size_t k = 0; k < n; k++) {
    int64_t v = values[nv - 1 - k], c = costs[k];
    if (waste_units == NULL && v <= c) break; /* the most surplus: stop */
    sum += v - c;
    if (waste_units && v < c) {
      (*waste_units)++;
      *waste_minor += c - v;
    }
  }
  return sum;
}

/* Copies the schedules of the `side` rows among rows[0 .. n) to dst, each
** cut to the units the row used in cells (the whole schedule when cells is
** NULL); adds their worth to *worth when it is given. Returns the count. */
static size_t gather(const sim_scenario *sc, const uint32_t *rows, uint32_t n,
                     sim_side side, const int64_t *eff, const sim_cell *cells,
                     int64_t *dst, int64_t *worth) {
  size_t k = 0;
  for (uint32_t j = 0; j < n; j++) {
    const sim_row *w = &sc->rows[rows[j]];
    if (w->side != side) continue;
    size_t take = cells ? (size_t)cells[rows[j]].units : w->n;
    assert(take <= w->n);
    memcpy(dst + k, eff + w->off, take * sizeof *eff);
    k += take;
    if (worth) *worth += cells[rows[j]].worth_minor;
  }
  return k;
}

int64_t sim_max_surplus(const sim_scenario *sc, const sim_groups *by_service,
                        const int64_t *eff, uint32_t service, int64_t *scratch) {
  assert(service < sc->services_n && by_service->n == sc->services_n);
  const uint32_t *rows = by_service->rows + by_service->off[service];
  uint32_t n = by_service->off[service + 1] - by_service->off[service];
  /* Values first, costs after them: together at most units_n entries. */
  size_t nv = gather(sc, rows, n, SIM_RECEIVER, eff, NULL, scratch, NULL);
  int64_t *costs = scratch + nv;
  size_t nc = gather(sc, rows, n, SIM_PROVIDER, eff, NULL, costs, NULL);
  assert(nv + nc <= sc->units_n);
  int64_t *tmp = scratch + sc->units_n;
  radix_sort(scratch, tmp, nv);
  radix_sort(costs, tmp, nc);
  int64_t best = pair_sum(scratch, nv, costs, nc, NULL, NULL);
  assert(best >= 0);
  return best;
}

/* The worth of the first `units` entries of a row's schedule. */
static int64_t row_worth(const sim_row *w, const int64_t *eff, int64_t units) {
  assert(units >= 0 && units <= (int64_t)w->n);
  int64_t sum = 0;
  for (int64_t k = 0; k < units; k++) sum += eff[w->off + k];
  return sum;
}

void sim_run_settle_period(const sim_scenario *sc, const sim_groups *by_service,
                           const int64_t *eff, uint32_t period, sim_run *run,
                           int64_t *scratch) {
  assert(period < sc->periods && by_service->n == sc->services_n);
  sim_cell *cells = run->cells + (size_t)period * sc->rows_n;
  sim_svc_cell *svc = run->svc + (size_t)period * sc->services_n;
  for (uint32_t i = 0; i < sc->rows_n; i++)
    cells[i].worth_minor = row_worth(&sc->rows[i], eff, cells[i].units);
  int64_t *tmp = scratch + sc->units_n;
  for (uint32_t s = 0; s < sc->services_n; s++) {
    const uint32_t *rows = by_service->rows + by_service->off[s];
    uint32_t n = by_service->off[s + 1] - by_service->off[s];
    int64_t worth = 0, cost = 0;
    size_t nv = gather(sc, rows, n, SIM_RECEIVER, eff, cells, scratch, &worth);
    int64_t *costs = scratch + nv;
    size_t nc = gather(sc, rows, n, SIM_PROVIDER, eff, cells, costs, &cost);
    int64_t surplus = worth - cost;
    /* Every unit consumed was produced by someone, in either run. */
    assert(nv == nc);
    assert((int64_t)nv == svc[s].units);
    radix_sort(scratch, tmp, nv);
    radix_sort(costs, tmp, nc);
    svc[s].waste_units = 0;
    svc[s].waste_minor = 0;
    int64_t paired = pair_sum(scratch, nv, costs, nc, &svc[s].waste_units,
                              &svc[s].waste_minor);
    assert(paired == surplus); /* the pairing regroups the same sums */
    svc[s].surplus_minor = surplus;
  }
}
