/*
** test_sim.c -- the flat-rate run and the exact metrics of imx-sim run:
** the most surplus a period can give, worth, waste, rationing at the home
** provider, and the charges of each allocation key, on hand-computed cases.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sim_int.h"

/* A scenario built in code: one service, rows added in order (providers
** first). */
typedef struct built {
  sim_scenario sc;
  sim_service services[2];
  sim_cc ccs[8];
  sim_row rows[8];
  int64_t units[64];
} built;

static void build(built *b, sim_key key, int64_t rate_minor) {
  memset(b, 0, sizeof *b);
  b->sc.periods = 1;
  b->sc.seed = 1;
  memcpy(b->sc.currency, "EUR", 4);
  b->sc.services = b->services;
  b->sc.services_n = 1;
  b->sc.ccs = b->ccs;
  b->sc.rows = b->rows;
  b->sc.units = b->units;
  snprintf(b->services[0].id, sizeof b->services[0].id, "it.hour");
  b->services[0].tick_minor = 1;
  b->services[0].price_max_minor = 1000;
  b->services[0].key = key;
  b->services[0].rate_minor = rate_minor;
}

static uint32_t add_row(built *b, sim_side side, const int64_t *sched, uint32_t n) {
  uint32_t r = b->sc.rows_n++, cc = b->sc.ccs_n++;
  snprintf(b->ccs[cc].id, sizeof b->ccs[cc].id, "CC-%u", cc);
  b->rows[r] = (sim_row){.side = side, .cc = cc, .service = 0,
                         .off = b->sc.units_n, .n = n, .budget_minor = 1000000};
  memcpy(b->units + b->sc.units_n, sched, n * sizeof *sched);
  b->sc.units_n += n;
  if (side == SIM_PROVIDER) b->sc.providers_n++;
  return r;
}

static uint32_t add_provider(built *b, const int64_t *costs, uint32_t n) {
  return add_row(b, SIM_PROVIDER, costs, n);
}

static uint32_t add_receiver(built *b, const int64_t *values, uint32_t n,
                             uint32_t home, int64_t headcount, int64_t share_bp) {
  uint32_t r = add_row(b, SIM_RECEIVER, values, n);
  b->rows[r].home = home;
  b->rows[r].headcount = headcount;
  b->rows[r].share_bp = share_bp;
  return r;
}

/* The small market most tests use: receivers A (100, 30) and B (80), both
** served at home by X (costs 20, 90); Y (cost 50) is nobody's home. */
static void small_market(built *b, sim_key key, int64_t rate, int64_t hc_a,
                         int64_t hc_b, int64_t bp_a, int64_t bp_b) {
  build(b, key, rate);
  static const int64_t x[] = {20, 90}, y[] = {50}, a[] = {100, 30}, bv[] = {80};
  uint32_t px = add_provider(b, x, 2);
  add_provider(b, y, 1);
  add_receiver(b, a, 2, px, hc_a, bp_a);
  add_receiver(b, bv, 1, px, hc_b, bp_b);
}

/* The most surplus of the built scenario's service 0. */
static int64_t max_surplus(const built *b) {
  int64_t scratch[128];
  sim_groups g;
  if (sim_groups_build(&b->sc, SIM_BY_SERVICE, &g) != 0) return -1;
  int64_t best = sim_max_surplus(&b->sc, &g, b->units, 0, scratch);
  sim_groups_free(&g);
  return best;
}

static void test_max_surplus_pairs_best_values_with_cheapest_costs(void) {
  built b;
  small_market(&b, SIM_KEY_PER_UNIT, 60, 0, 0, 0, 0);
  /* 100-20 + 80-50 = 110; the third pair 30-90 would lose money. */
  CHECK_EQ(110, max_surplus(&b));
}

static void test_max_surplus_is_exact_with_values_beyond_32_bits(void) {
  built b;
  build(&b, SIM_KEY_PER_UNIT, 1);
  static const int64_t c[] = {1, 5000000000LL}, v[] = {9000000000LL, 4999999999LL};
  uint32_t p = add_provider(&b, c, 2);
  add_receiver(&b, v, 2, p, 0, 0);
  CHECK_EQ(8999999999LL, max_surplus(&b));
}

static void test_max_surplus_is_zero_without_a_profitable_pair(void) {
  built b;
  build(&b, SIM_KEY_PER_UNIT, 1);
  static const int64_t c[] = {70}, v[] = {70, 10};
  uint32_t p = add_provider(&b, c, 1);
  add_receiver(&b, v, 2, p, 0, 0);
  CHECK_EQ(0, max_surplus(&b));
}

static void run_flat(built *b, sim_result *r) {
  CHECK_EQ(0, sim_result_init(r, &b->sc));
  CHECK_EQ(0, sim_flat_run(&b->sc, r));
}

static void test_per_unit_receivers_take_what_is_worth_more_than_the_rate(void) {
  built b;
  small_market(&b, SIM_KEY_PER_UNIT, 60, 0, 0, 0, 0);
  sim_result r;
  run_flat(&b, &r);
  const sim_cell *c = r.flat.cells;
  /* A takes 100 (not 30 < 60), B takes 80; X makes both at 20 and 90. */
  CHECK_EQ(1, c[2].units);
  CHECK_EQ(1, c[3].units);
  CHECK_EQ(2, c[0].units);
  CHECK_EQ(0, c[1].units);
  CHECK_EQ(60, c[2].amount_minor);
  CHECK_EQ(60, c[3].amount_minor);
  CHECK_EQ(120, c[0].amount_minor);
  CHECK_EQ(100, c[2].worth_minor);
  CHECK_EQ(110, c[0].worth_minor);
  CHECK_EQ(2, r.flat.svc[0].units);
  CHECK_EQ(120, r.flat.svc[0].amount_minor);
  CHECK_EQ(60, r.flat.svc[0].price_minor);
  CHECK_EQ(70, r.flat.svc[0].surplus_minor); /* 180 - 110 */
  CHECK_EQ(110, r.max_surplus_minor[0]);
  /* 80 consumed against the 90 it cost: one unit wasted, 0.10 lost. */
  CHECK_EQ(1, r.flat.svc[0].waste_units);
  CHECK_EQ(10, r.flat.svc[0].waste_minor);
  sim_result_free(&r);
}

static void test_headcount_spreads_the_cost_pool_by_headcount_to_the_cent(void) {
  built b;
  small_market(&b, SIM_KEY_HEADCOUNT, 0, 3, 1, 0, 0);
  sim_result r;
  run_flat(&b, &r);
  const sim_cell *c = r.flat.cells;
  /* Free at the margin, A wants 2 and B 1; X has 2: one each. */
  CHECK_EQ(1, c[2].units);
  CHECK_EQ(1, c[3].units);
  /* Pool 110 by 3:1 = 82.5 / 27.5; the spare cent to the first of equal
  ** remainders. */
  CHECK_EQ(83, c[2].amount_minor);
  CHECK_EQ(27, c[3].amount_minor);
  CHECK_EQ(110, c[0].amount_minor);
  CHECK_EQ(110, r.flat.svc[0].amount_minor);
  CHECK_EQ(55, r.flat.svc[0].price_minor);
  sim_result_free(&r);
}

static void test_percent_key_charges_fixed_shares_even_without_use(void) {
  built b;
  small_market(&b, SIM_KEY_PERCENT, 0, 0, 0, 7000, 3000);
  /* B wants nothing: its only value is 0. */
  b.units[5] = 0;
  sim_result r;
  run_flat(&b, &r);
  const sim_cell *c = r.flat.cells;
  CHECK_EQ(2, c[2].units); /* A takes 100 and 30, all of X */
  CHECK_EQ(0, c[3].units);
  CHECK_EQ(77, c[2].amount_minor); /* 70 % of 110 */
  CHECK_EQ(33, c[3].amount_minor); /* 30 % for nothing used */
  CHECK_EQ(20, r.flat.svc[0].surplus_minor); /* 130 - 110 */
  CHECK_EQ(1, r.flat.svc[0].waste_units);    /* 30 made at 90 */
  CHECK_EQ(60, r.flat.svc[0].waste_minor);
  sim_result_free(&r);
}

static void test_home_provider_rations_round_robin(void) {
  built b;
  build(&b, SIM_KEY_HEADCOUNT, 0);
  static const int64_t cap5[] = {1, 1, 1, 1, 1};
  static const int64_t ten[] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9}, one[] = {9};
  uint32_t p = add_provider(&b, cap5, 5);
  add_receiver(&b, ten, 10, p, 1, 0);
  add_receiver(&b, one, 1, p, 1, 0);
  add_receiver(&b, ten, 10, p, 1, 0);
  sim_result r;
  run_flat(&b, &r);
  /* 5 units for wants of 10, 1, 10: a round of 1 each, then 1 more each
  ** for the two still wanting. */
  CHECK_EQ(2, r.flat.cells[1].units);
  CHECK_EQ(1, r.flat.cells[2].units);
  CHECK_EQ(2, r.flat.cells[3].units);
  CHECK_EQ(5, r.flat.cells[0].units);
  sim_result_free(&r);
}

static void test_rationing_leftover_goes_in_row_order(void) {
  built b;
  build(&b, SIM_KEY_HEADCOUNT, 0);
  static const int64_t cap4[] = {1, 1, 1, 1}, three[] = {5, 5, 5};
  uint32_t p = add_provider(&b, cap4, 4);
  for (int i = 0; i < 3; i++) add_receiver(&b, three, 3, p, 1, 0);
  sim_result r;
  run_flat(&b, &r);
  CHECK_EQ(2, r.flat.cells[1].units);
  CHECK_EQ(1, r.flat.cells[2].units);
  CHECK_EQ(1, r.flat.cells[3].units);
  /* Pool 4 over three equal headcounts: 1 each, the spare cent to the
  ** first. */
  CHECK_EQ(2, r.flat.cells[1].amount_minor);
  CHECK_EQ(1, r.flat.cells[2].amount_minor);
  CHECK_EQ(1, r.flat.cells[3].amount_minor);
  sim_result_free(&r);
}

static void test_a_provider_nobody_calls_home_stays_idle(void) {
  built b;
  small_market(&b, SIM_KEY_PER_UNIT, 10, 0, 0, 0, 0);
  sim_result r;
  run_flat(&b, &r);
  /* Y (cost 50) would beat X's 90, but under the flat rate nobody asks. */
  CHECK_EQ(0, r.flat.cells[1].units);
  CHECK_EQ(0, r.flat.cells[1].amount_minor);
  sim_result_free(&r);
}

static void test_settling_a_market_allocation_counts_worth_and_waste(void) {
  built b;
  small_market(&b, SIM_KEY_PER_UNIT, 60, 0, 0, 0, 0);
  sim_result r;
  CHECK_EQ(0, sim_result_init(&r, &b.sc));
  /* A buys 2 (100 + 30), B none; Y sells 1 (50), X 1 (20). */
  r.market.cells[2].units = 2;
  r.market.cells[0].units = 1;
  r.market.cells[1].units = 1;
  r.market.svc[0].units = 2;
  int64_t scratch[64];
  sim_groups g;
  CHECK_EQ(0, sim_groups_build(&b.sc, SIM_BY_SERVICE, &g));
  sim_run_settle_period(&b.sc, &g, b.units, 0, &r.market, scratch);
  sim_groups_free(&g);
  CHECK_EQ(130, r.market.cells[2].worth_minor);
  CHECK_EQ(20, r.market.cells[0].worth_minor);
  CHECK_EQ(50, r.market.cells[1].worth_minor);
  CHECK_EQ(60, r.market.svc[0].surplus_minor);
  /* 100 against 20, 30 against 50: one unit below cost, by 20. */
  CHECK_EQ(1, r.market.svc[0].waste_units);
  CHECK_EQ(20, r.market.svc[0].waste_minor);
  sim_result_free(&r);
}

static void test_rng_is_the_same_everywhere_and_in_range(void) {
  sim_rng g;
  sim_rng_seed(&g, 42);
  uint64_t first = sim_rng_next(&g);
  sim_rng_seed(&g, 42);
  CHECK_EQ(sim_rng_next(&g), first);
  sim_rng_seed(&g, 43);
  CHECK(sim_rng_next(&g) != first);
  int seen[7] = {0};
  for (int i = 0; i < 7000; i++) {
    int64_t v = sim_rng_range(&g, -3, 3);
    CHECK(v >= -3 && v <= 3);
    if (v >= -3 && v <= 3) seen[v + 3]++;
  }
  for (int i = 0; i < 7; i++) CHECK(seen[i] > 800 && seen[i] < 1200);
  CHECK_EQ(5, sim_rng_range(&g, 5, 5));
}

int main(int argc, char **argv) {
  static const check_case cases[] = {
      CHECK_CASE(test_max_surplus_pairs_best_values_with_cheapest_costs),
      CHECK_CASE(test_max_surplus_is_exact_with_values_beyond_32_bits),
      CHECK_CASE(test_max_surplus_is_zero_without_a_profitable_pair),
      CHECK_CASE(test_per_unit_receivers_take_what_is_worth_more_than_the_rate),
      CHECK_CASE(test_headcount_spreads_the_cost_pool_by_headcount_to_the_cent),
      CHECK_CASE(test_percent_key_charges_fixed_shares_even_without_use),
      CHECK_CASE(test_home_provider_rations_round_robin),
      CHECK_CASE(test_rationing_leftover_goes_in_row_order),
      CHECK_CASE(test_a_provider_nobody_calls_home_stays_idle),
      CHECK_CASE(test_settling_a_market_allocation_counts_worth_and_waste),
      CHECK_CASE(test_rng_is_the_same_everywhere_and_in_range),
  };
  return check_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
