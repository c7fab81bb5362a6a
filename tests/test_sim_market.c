/*
** test_sim_market.c -- the market run of imx-sim (sim/market.c) and its
** in-process venue (sim/venue_engine.c): agents, clearing prices, what each
** row and service traded, budgets and capacities, reproducibility, and the
** classic zero-intelligence results, on scenarios built in code with the
** expected numbers worked out by hand in each test's comment.
**
** Efficiency below is the market's surplus over the most surplus possible
** (sim_max_surplus), summed over every period and service.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "sim_int.h"

/* ------------------------------------------------------------- builder */

#define B_SERVICES_MAX 4
#define B_CCS_MAX 32
#define B_ROWS_MAX 64
#define B_UNITS_MAX 512
#define B_CHANGES_MAX 4

/* A scenario built in code. Rows are added providers first, as the loader
** orders them; every row has its own cost centre unless given one. */
typedef struct built {
  sim_scenario sc;
  sim_service services[B_SERVICES_MAX];
  sim_cc ccs[B_CCS_MAX];
  sim_row rows[B_ROWS_MAX];
  int64_t units[B_UNITS_MAX];
  sim_change changes[B_CHANGES_MAX];
} built;

static built B;
static sim_result R;
static char ERR[256];

static void b_reset(uint32_t periods) {
  sim_result_free(&R);
  memset(&B, 0, sizeof B);
  B.sc.periods = periods;
  B.sc.seed = 1;
  memcpy(B.sc.currency, "EUR", 4);
  B.sc.services = B.services;
  B.sc.ccs = B.ccs;
  B.sc.rows = B.rows;
  B.sc.units = B.units;
  B.sc.changes = B.changes;
}

static uint32_t b_service(int auction, int64_t tick, int64_t price_max) {
  uint32_t s = B.sc.services_n++;
  assert(s < B_SERVICES_MAX);
  snprintf(B.services[s].id, sizeof B.services[s].id, "svc.%u", s);
  snprintf(B.services[s].unit, sizeof B.services[s].unit, "hour");
  B.services[s].auction = auction;
  B.services[s].tick_minor = tick;
  B.services[s].price_max_minor = price_max;
  return s;
}

static uint32_t b_cc(void) {
  uint32_t c = B.sc.ccs_n++;
  assert(c < B_CCS_MAX);
  snprintf(B.ccs[c].id, sizeof B.ccs[c].id, "CC-%u", c);
  return c;
}

static uint32_t b_row(sim_side side, uint32_t cc, uint32_t service,
                      const int64_t *sched, uint32_t n, int64_t budget) {
  uint32_t r = B.sc.rows_n++;
  assert(r < B_ROWS_MAX && B.sc.units_n + n <= B_UNITS_MAX);
  assert(side == SIM_RECEIVER || B.sc.providers_n == r); /* providers first */
  B.rows[r] = (sim_row){.side = side, .cc = cc, .service = service,
                        .off = B.sc.units_n, .n = n, .budget_minor = budget,
                        .headcount = 1};
  memcpy(B.units + B.sc.units_n, sched, n * sizeof *sched);
  B.sc.units_n += n;
  if (side == SIM_PROVIDER) B.sc.providers_n++;
  B.ccs[cc].budget_minor += budget;
  return r;
}

#define PROVIDER(svc, ...)                                                 \
  b_row(SIM_PROVIDER, b_cc(), svc, (const int64_t[]){__VA_ARGS__},         \
        sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t), 0)
#define RECEIVER(svc, budget, ...)                                         \
  b_row(SIM_RECEIVER, b_cc(), svc, (const int64_t[]){__VA_ARGS__},         \
        sizeof((const int64_t[]){__VA_ARGS__}) / sizeof(int64_t), budget)

static void b_change(uint32_t period, sim_side side, int64_t percent) {
  assert(B.sc.changes_n < B_CHANGES_MAX);
  B.changes[B.sc.changes_n++] =
      (sim_change){.period = period, .side = side, .service = -1, .cc = -1,
                   .percent = percent};
}

/* Runs the market; 0 or -1 with ERR set. */
static int run(sim_agents agents, uint64_t seed, uint32_t rounds) {
  sim_result_free(&R);
  if (sim_result_init(&R, &B.sc) != 0) return -1;
  sim_market_opts o = {.agents = agents, .seed = seed, .rounds = rounds};
  ERR[0] = 0;
  return sim_market_run(&B.sc, &o, &R, ERR, sizeof ERR);
}

static const sim_cell *cell(uint32_t period, uint32_t row) {
  return &R.market.cells[(size_t)(period - 1) * B.sc.rows_n + row];
}

static const sim_svc_cell *svc(uint32_t period, uint32_t s) {
  return &R.market.svc[(size_t)(period - 1) * B.sc.services_n + s];
}

/* The most surplus of every period and service (schedules without
** changes), and what the run realised. */
static int64_t max_total(void) {
  int64_t scratch[2 * B_UNITS_MAX], sum = 0;
  sim_groups g;
  CHECK_EQ(0, sim_groups_build(&B.sc, SIM_BY_SERVICE, &g));
  for (uint32_t s = 0; s < B.sc.services_n; s++)
    sum += B.sc.periods * sim_max_surplus(&B.sc, &g, B.units, s, scratch);
  sim_groups_free(&g);
  return sum;
}

static int64_t surplus_total(void) {
  int64_t sum = 0;
  for (uint32_t p = 1; p <= B.sc.periods; p++)
    for (uint32_t s = 0; s < B.sc.services_n; s++) sum += svc(p, s)->surplus_minor;
  return sum;
}

/* Efficiency in basis points (1/100 of a percent). */
static int64_t efficiency_bp(void) {
  int64_t max = max_total();
  return max > 0 ? surplus_total() * 10000 / max : 0;
}

/* ---------------------------------------------------- truthful auctions */

/* Supply 10 20 30 | 15 25 35, demand 50 40 22 | 45 28 12. Sorted: values
** 50 45 40 28 22 12 against costs 10 15 20 25 30 35: four pairs gain
** 40 + 30 + 20 + 3 = 93. Both 25 and 28 clear 4 units with no surplus; the
** reference of the first call is midway between the lowest cost and the
** highest value, (10 + 50) / 2 = 30, and 28 is nearer. So 4 units at 28:
** each receiver buys 2 (56), each provider sells 2 (56). */
static void test_truthful_auction_clears_four_units_at_28_with_all_surplus(void) {
  b_reset(1);
  uint32_t s = b_service(1, 1, 200);
  uint32_t p1 = PROVIDER(s, 10, 20, 30), p2 = PROVIDER(s, 15, 25, 35);
  uint32_t r1 = RECEIVER(s, 1000, 50, 40, 22), r2 = RECEIVER(s, 1000, 45, 28, 12);
  CHECK_EQ(0, run(SIM_AGENTS_TRUTHFUL, 1, 0));
  CHECK_EQ(28, svc(1, s)->price_minor);
  CHECK_EQ(28, svc(1, s)->price_lo_minor);
  CHECK_EQ(28, svc(1, s)->price_hi_minor);
  CHECK_EQ(4, svc(1, s)->units);
  CHECK_EQ(112, svc(1, s)->amount_minor);
  CHECK_EQ(2, cell(1, r1)->units);
  CHECK_EQ(56, cell(1, r1)->amount_minor);
  CHECK_EQ(90, cell(1, r1)->worth_minor);
  CHECK_EQ(2, cell(1, r2)->units);
  CHECK_EQ(73, cell(1, r2)->worth_minor);
  CHECK_EQ(2, cell(1, p1)->units);
  CHECK_EQ(56, cell(1, p1)->amount_minor);
  CHECK_EQ(30, cell(1, p1)->worth_minor);
  CHECK_EQ(2, cell(1, p2)->units);
  CHECK_EQ(40, cell(1, p2)->worth_minor);
  CHECK_EQ(93, max_total());
  CHECK_EQ(93, svc(1, s)->surplus_minor);
  CHECK_EQ(0, svc(1, s)->waste_units);
  CHECK_EQ(12, R.market.orders); /* every unit has its own price */
  CHECK_EQ(4, R.market.trades);
  CHECK_EQ(0, R.market.rejected);
}

/* Supply 4 x 10 and 4 x 12, demand 30 30 | 20: 3 units, all from the
** cheaper provider. At 10 three units clear with one unit of supply left
** over (the least surplus), so the price is 10: 30 paid, 30 + 30 + 20 - 3 x
** 10 = 50 = the most. Runs of equal prices are one order each: 4 orders. */
static void test_truthful_auction_with_more_supply_than_demand_clears_at_cost(void) {
  b_reset(1);
  uint32_t s = b_service(1, 1, 200);
  uint32_t p1 = PROVIDER(s, 10, 10, 10, 10), p2 = PROVIDER(s, 12, 12, 12, 12);
  uint32_t r1 = RECEIVER(s, 1000, 30, 30), r2 = RECEIVER(s, 1000, 20);
  CHECK_EQ(0, run(SIM_AGENTS_TRUTHFUL, 1, 0));
  CHECK_EQ(10, svc(1, s)->price_minor);
  CHECK_EQ(3, svc(1, s)->units);
  CHECK_EQ(30, svc(1, s)->amount_minor);
  CHECK_EQ(3, cell(1, p1)->units);
  CHECK_EQ(30, cell(1, p1)->amount_minor);
  CHECK_EQ(0, cell(1, p2)->units);
  CHECK_EQ(2, cell(1, r1)->units);
  CHECK_EQ(20, cell(1, r1)->amount_minor);
  CHECK_EQ(1, cell(1, r2)->units);
  CHECK_EQ(50, max_total());
  CHECK_EQ(50, surplus_total());
  CHECK_EQ(4, R.market.orders);
}

/* Demand 30 | 25 against costs 10 20 | 20: two units, the second from
** either provider at 20 (a tie at the margin, time priority decides). 20
** and 25 both clear 2 units with one offer left over: the lowest, 20. The
** surplus is (30 - 10) + (25 - 20) = 25 whoever sells the second unit. */
static void test_truthful_auction_with_a_tie_at_the_margin_is_fully_efficient(void) {
  for (uint64_t seed = 1; seed <= 8; seed++) {
    b_reset(1);
    uint32_t s = b_service(1, 1, 200);
    uint32_t p1 = PROVIDER(s, 10, 20), p2 = PROVIDER(s, 20);
    RECEIVER(s, 1000, 30);
    RECEIVER(s, 1000, 25);
    CHECK_EQ(0, run(SIM_AGENTS_TRUTHFUL, seed, 0));
    CHECK_EQ(20, svc(1, s)->price_minor);
    CHECK_EQ(2, svc(1, s)->units);
    CHECK(cell(1, p1)->units >= 1);
    CHECK_EQ(2, cell(1, p1)->units + cell(1, p2)->units);
    CHECK_EQ(25, max_total());
    CHECK_EQ(25, surplus_total());
  }
}

/* A marginal unit whose value equals its cost (20 against 20) may trade
** or not: it adds nothing. Demand 30 20 | 25, costs 10 20 | 20: at 20,
** 3 bids and 3 offers: 3 units, surplus 20 + 5 + 0 = 25 = the most. */
static void test_truthful_auction_trades_a_unit_worth_its_cost(void) {
  b_reset(1);
  uint32_t s = b_service(1, 1, 200);
  PROVIDER(s, 10, 20);
  PROVIDER(s, 20);
  RECEIVER(s, 1000, 30, 20);
  RECEIVER(s, 1000, 25);
  CHECK_EQ(0, run(SIM_AGENTS_TRUTHFUL, 3, 0));
  CHECK_EQ(20, svc(1, s)->price_minor);
  CHECK_EQ(3, svc(1, s)->units);
  CHECK_EQ(60, svc(1, s)->amount_minor);
  CHECK_EQ(25, surplus_total());
  CHECK_EQ(25, max_total());
}

/* --------------------------------------------------- budgets, capacity */

/* Values 100 and 90 against a budget of 150: the bid at 100 reserves 100,
** the one at 90 needs 90 of the 50 left and is refused (insufficient
** budget), counted as rejected. Offers 3 x 10; the one bid clears at 10
** (one unit of demand, supply left over: the lowest price). */
static void test_a_budget_that_binds_rejects_the_bid_and_counts_it(void) {
  b_reset(1);
  uint32_t s = b_service(1, 1, 200);
  uint32_t p = PROVIDER(s, 10, 10, 10);
  uint32_t r = RECEIVER(s, 150, 100, 90);
  CHECK_EQ(0, run(SIM_AGENTS_TRUTHFUL, 1, 0));
  CHECK_EQ(3, R.market.orders);
  CHECK_EQ(1, R.market.rejected);
  CHECK_EQ(1, cell(1, r)->units);
  CHECK_EQ(10, cell(1, r)->amount_minor);
  CHECK_EQ(1, cell(1, p)->units);
  CHECK_EQ(10, svc(1, s)->price_minor);
}

/* The budget is renewed every period. Prices are capped at 10: truthful,
** the run of two bids at 10 reserves 20 > 10 and is refused, every period.
** zi-c bids one unit at a time (1 .. 10): the first bid of 10 meets the
** offer of 10 and spends the whole budget; the next bid is refused. So one
** unit at 10 in each of the 3 periods. */
static void test_the_budget_is_renewed_every_period(void) {
  b_reset(3);
  uint32_t s = b_service(0, 1, 10);
  PROVIDER(s, 10, 10);
  uint32_t r = RECEIVER(s, 10, 50, 50);
  CHECK_EQ(0, run(SIM_AGENTS_TRUTHFUL, 1, 0));
  CHECK_EQ(3, R.market.rejected);
  CHECK_EQ(0, cell(3, r)->units);
  CHECK_EQ(0, run(SIM_AGENTS_ZIC, 5, 200));
  CHECK(R.market.rejected >= 3);
  for (uint32_t p = 1; p <= 3; p++) {
    CHECK_EQ(10, cell(p, r)->amount_minor);
    CHECK_EQ(1, cell(p, r)->units);
  }
}

/* A provider sells at most its capacity (the length of its schedule),
** however much is wanted above its cost: 2 units, over 20 seeds. */
static void test_a_provider_never_sells_beyond_its_capacity(void) {
  b_reset(2);
  uint32_t s = b_service(0, 1, 100);
  uint32_t p = PROVIDER(s, 10, 10);
  RECEIVER(s, 10000, 90, 90, 90);
  RECEIVER(s, 10000, 80, 80, 80);
  for (uint64_t seed = 1; seed <= 20; seed++) {
    CHECK_EQ(0, run(SIM_AGENTS_ZIC, seed, 0));
    CHECK_EQ(2, cell(1, p)->units);
    CHECK_EQ(2, cell(2, p)->units);
    CHECK_EQ(2, svc(1, s)->units);
  }
}

/* ------------------------------------------------------- continuous */

/* Truthful agents place their whole schedule at once, one order per run of
** equal prices: costs 10 10 20 are 2 orders, values 30 30 one. Whoever
** comes first, 2 units trade (at 10 or at 30) and the surplus is
** 60 - 20 = 40. */
static void test_truthful_continuous_places_one_order_per_run(void) {
  for (uint64_t seed = 1; seed <= 6; seed++) {
    b_reset(1);
    uint32_t s = b_service(0, 1, 100);
    uint32_t p = PROVIDER(s, 10, 10, 20);
    uint32_t r = RECEIVER(s, 1000, 30, 30);
    CHECK_EQ(0, run(SIM_AGENTS_TRUTHFUL, seed, 0));
    CHECK_EQ(3, R.market.orders);
    CHECK_EQ(2, cell(1, p)->units);
    CHECK_EQ(2, cell(1, r)->units);
    CHECK(cell(1, r)->amount_minor == 20 || cell(1, r)->amount_minor == 60);
    CHECK_EQ(cell(1, r)->amount_minor / 2, svc(1, s)->price_minor);
    CHECK_EQ(40, surplus_total());
  }
}

/* The mean price of a continuous service is amount / units, rounded to
** the nearest minor unit; trades on a tick of 5 are all multiples of 5. */
static void test_zic_prices_are_on_the_tick_and_the_mean_is_rounded(void) {
  b_reset(3);
  uint32_t s = b_service(0, 5, 200);
  PROVIDER(s, 12, 33, 51);
  PROVIDER(s, 7, 64);
  RECEIVER(s, 10000, 171, 99, 48);
  RECEIVER(s, 10000, 133, 77);
  CHECK_EQ(0, run(SIM_AGENTS_ZIC, 11, 0));
  for (uint32_t p = 1; p <= 3; p++) {
    const sim_svc_cell *c = svc(p, s);
    CHECK(c->units > 0);
    CHECK_EQ(0, c->amount_minor % 5);
    CHECK_EQ(0, c->price_lo_minor % 5);
    CHECK_EQ(0, c->price_hi_minor % 5);
    CHECK_EQ((c->amount_minor + c->units / 2) / c->units, c->price_minor);
    CHECK(c->price_lo_minor <= c->price_minor && c->price_minor <= c->price_hi_minor);
  }
}

/* A Smith-style symmetric market: 6 buyers and 6 sellers with 3 units
** each; buyer i values its units 200 - 10i, 140 - 10i, 80 - 10i, seller i
** costs 20 + 10i, 80 + 10i, 140 + 10i. The values are 200, 190, .., 30 and
** the costs 20, 30, .., 190, each value plus its mirror cost 220: the
** competitive price is 110, where 10 units are bid and 10 offered (at 100
** or 120 only 9 could trade). Half the units are extra-marginal: trading
** them all would keep only 180 of the surplus. */
static void smith_market(uint32_t periods, int auction) {
  b_reset(periods);
  uint32_t s = b_service(auction, 1, 220);
  for (int i = 0; i < 6; i++)
    PROVIDER(s, 20 + 10 * i, 80 + 10 * i, 140 + 10 * i);
  for (int i = 0; i < 6; i++)
    RECEIVER(s, 100000, 200 - 10 * i, 140 - 10 * i, 80 - 10 * i);
}

/* The k-th value (k from 0) is 200 - 10k and the k-th cost 20 + 10k: pairs
** gain while k < 9 (k = 9 pairs 110 with 110 and adds nothing), so the
** most is the sum of 180 - 20k for k = 0..8 = 1620 - 720 = 900. */
static void test_smith_market_most_surplus_is_900(void) {
  smith_market(1, 0);
  int64_t scratch[2 * B_UNITS_MAX];
  sim_groups g;
  CHECK_EQ(0, sim_groups_build(&B.sc, SIM_BY_SERVICE, &g));
  CHECK_EQ(900, sim_max_surplus(&B.sc, &g, B.units, 0, scratch));
  sim_groups_free(&g);
}

/* Truthful agents in a call auction take all of it, at 110. */
static void test_truthful_auction_on_smith_market_is_fully_efficient(void) {
  smith_market(2, 1);
  CHECK_EQ(0, run(SIM_AGENTS_TRUTHFUL, 5, 0));
  CHECK_EQ(1800, surplus_total());
  CHECK_EQ(1800, max_total());
  CHECK_EQ(10, svc(1, 0)->units);
  CHECK_EQ(110, svc(1, 0)->price_minor);
  CHECK_EQ(110, svc(2, 0)->price_minor);
}

/* Gode and Sunder (1993): budget-constrained zero-intelligence traders in a
** continuous double auction extract nearly all the surplus; unconstrained
** ones much less. Over 30 seeds of one period each. */
static void test_zic_is_efficient_and_ziu_clearly_less_over_30_seeds(void) {
  smith_market(1, 0);
  int64_t zic = 0, ziu = 0;
  for (uint64_t seed = 1; seed <= 30; seed++) {
    CHECK_EQ(0, run(SIM_AGENTS_ZIC, seed, 0));
    zic += efficiency_bp();
    CHECK_EQ(0, run(SIM_AGENTS_ZIU, seed, 0));
    ziu += efficiency_bp();
  }
  zic /= 30;
  ziu /= 30;
  printf("  zi-c mean efficiency %lld bp, zi-u %lld bp\n", (long long)zic,
         (long long)ziu);
  CHECK(zic >= 9000);
  CHECK(ziu <= zic - 1500);
}

/* A constrained agent never trades at a loss: per row and period, what a
** receiver paid is at most what its units were worth to it, what a
** provider got at least what they cost it. */
static void test_zic_never_trades_at_a_loss(void) {
  smith_market(3, 0);
  for (uint64_t seed = 1; seed <= 10; seed++) {
    for (int auction = 0; auction <= 1; auction++) {
      B.services[0].auction = auction;
      CHECK_EQ(0, run(SIM_AGENTS_ZIC, seed, 0));
      for (uint32_t p = 1; p <= 3; p++)
        for (uint32_t r = 0; r < B.sc.rows_n; r++) {
          const sim_cell *c = cell(p, r);
          if (B.rows[r].side == SIM_RECEIVER) CHECK(c->amount_minor <= c->worth_minor);
          else CHECK(c->amount_minor >= c->worth_minor);
        }
    }
  }
}

/* ZIP traders learn the market: over 10 periods and 10 seeds they take at
** least 90 % of the surplus, the prices of a period narrow (the range of
** trade prices in the last period is less than half that of the first) and
** gather near the competitive price 110 (any price from 100 to 120 clears
** the 9 intra-marginal units; measured: last-period means on average 13
** away from 110, at most 29 -- the sellers' margins start from low costs,
** so early trades are low and the market comes to 110 from below; agents
** stay on the floor while they trade, so late extra-marginal trades pull a
** period's mean a little). The range of trade prices shrinks tenfold. */
static void test_zip_is_efficient_and_its_prices_converge_near_110(void) {
  smith_market(10, 0);
  int64_t eff = 0, dist = 0, far = 0, spread_first = 0, spread_last = 0;
  for (uint64_t seed = 1; seed <= 10; seed++) {
    CHECK_EQ(0, run(SIM_AGENTS_ZIP, seed, 0));
    eff += efficiency_bp();
    int64_t d = svc(10, 0)->price_minor - 110;
    d = d < 0 ? -d : d;
    dist += d;
    far = d > far ? d : far;
    spread_first += svc(1, 0)->price_hi_minor - svc(1, 0)->price_lo_minor;
    spread_last += svc(10, 0)->price_hi_minor - svc(10, 0)->price_lo_minor;
  }
  printf("  zip: mean efficiency %lld bp; last price %lld from 110 on average, "
         "%lld at most; price range %lld in period 1, %lld in period 10 (sums)\n",
         (long long)eff / 10, (long long)dist / 10, (long long)far,
         (long long)spread_first, (long long)spread_last);
  CHECK(eff / 10 >= 9000);
  CHECK(dist / 10 <= 15);
  CHECK(far <= 30);
  CHECK(10 * spread_last < spread_first);
}

/* ZIP in a call auction, margins adapted once a period. */
static void test_zip_auction_is_efficient(void) {
  smith_market(10, 1);
  int64_t eff = 0;
  for (uint64_t seed = 1; seed <= 10; seed++) {
    CHECK_EQ(0, run(SIM_AGENTS_ZIP, seed, 0));
    eff += efficiency_bp();
  }
  eff /= 10;
  printf("  zip auction mean efficiency %lld bp\n", (long long)eff);
  CHECK(eff >= 9000);
}

/* ------------------------------------------------------ reproducibility */

static void test_the_same_seed_gives_the_same_run_and_another_seed_another(void) {
  smith_market(3, 0);
  size_t cells = 3 * (size_t)B.sc.rows_n * sizeof(sim_cell);
  size_t svcs = 3 * (size_t)B.sc.services_n * sizeof(sim_svc_cell);
  CHECK_EQ(0, run(SIM_AGENTS_ZIC, 42, 0));
  sim_cell *c1 = malloc(cells);
  sim_svc_cell *s1 = malloc(svcs);
  memcpy(c1, R.market.cells, cells);
  memcpy(s1, R.market.svc, svcs);
  uint64_t orders = R.market.orders;
  CHECK_EQ(0, run(SIM_AGENTS_ZIC, 42, 0));
  CHECK(memcmp(c1, R.market.cells, cells) == 0);
  CHECK(memcmp(s1, R.market.svc, svcs) == 0);
  CHECK_EQ(orders, R.market.orders);
  CHECK_EQ(42, R.seed);
  CHECK_EQ(SIM_AGENTS_ZIC, R.agents);
  CHECK_EQ(0, run(SIM_AGENTS_ZIC, 43, 0));
  CHECK(memcmp(c1, R.market.cells, cells) != 0);
  free(c1);
  free(s1);
}

/* ------------------------------------------------------------ changes */

/* Costs 10 20 30 40 50, values 45 35 25 15 5: 2 units; 20, 25, 30 and 35
** all clear 2 with one unit left over (bids at 20 and 25, offers at 30 and
** 35), so the reference decides: (10 + 45) / 2 = 27 -> 25. From period 2
** demand doubles (90 70 50 30 10): 3 units; 30 and 40 both leave one unit
** over, and 30 is nearer the last price, 25. */
static void test_a_demand_shock_raises_the_clearing_price(void) {
  b_reset(2);
  uint32_t s = b_service(1, 1, 200);
  PROVIDER(s, 10, 20, 30, 40, 50);
  RECEIVER(s, 100000, 45, 35, 25, 15, 5);
  b_change(2, SIM_RECEIVER, 200);
  CHECK_EQ(0, run(SIM_AGENTS_TRUTHFUL, 1, 0));
  CHECK_EQ(25, svc(1, s)->price_minor);
  CHECK_EQ(2, svc(1, s)->units);
  CHECK_EQ(30, svc(2, s)->price_minor);
  CHECK_EQ(3, svc(2, s)->units);
  /* Period 2's worth is of the doubled values: 90 + 70 + 50. */
  CHECK_EQ(210, cell(2, 1)->worth_minor);
}

/* Costs 5 10 15 20 25, values 45 35 25 15 5: 3 units; 15 and 20 leave one
** unit over, the reference (5 + 45) / 2 = 25 picks 20. From period 2 costs
** halve, rounded down (2 5 7 10 12): at 10, 4 bids (45 35 25 15) meet 4
** offers with nothing left over, so 4 units at 10. */
static void test_a_cost_drop_lowers_the_clearing_price(void) {
  b_reset(2);
  uint32_t s = b_service(1, 1, 200);
  PROVIDER(s, 5, 10, 15, 20, 25);
  RECEIVER(s, 100000, 45, 35, 25, 15, 5);
  b_change(2, SIM_PROVIDER, 50);
  CHECK_EQ(0, run(SIM_AGENTS_TRUTHFUL, 1, 0));
  CHECK_EQ(20, svc(1, s)->price_minor);
  CHECK_EQ(3, svc(1, s)->units);
  CHECK_EQ(10, svc(2, s)->price_minor);
  CHECK_EQ(4, svc(2, s)->units);
}

/* -------------------------------------------------------- bad input */

static void test_two_rows_of_one_cost_centre_and_service_are_an_error(void) {
  b_reset(1);
  uint32_t s = b_service(1, 1, 200);
  uint32_t cc = b_cc();
  b_row(SIM_PROVIDER, cc, s, (const int64_t[]){10}, 1, 0);
  b_row(SIM_PROVIDER, cc, s, (const int64_t[]){20}, 1, 0);
  RECEIVER(s, 100, 50);
  CHECK_EQ(-1, run(SIM_AGENTS_TRUTHFUL, 1, 0));
  CHECK(strstr(ERR, "providers[1]") != NULL);
  CHECK(strstr(ERR, "providers[0]") != NULL);
}

static void test_a_price_max_below_the_tick_is_an_error(void) {
  b_reset(1);
  uint32_t s = b_service(1, 10, 5);
  PROVIDER(s, 1);
  RECEIVER(s, 100, 50);
  CHECK_EQ(-1, run(SIM_AGENTS_TRUTHFUL, 1, 0));
  CHECK(strstr(ERR, "services[0].price_max") != NULL);
}

/* ------------------------------------------------------------ venue */

typedef struct fills {
  sim_fill f[8];
  int n;
} fills;

static void record_fill(void *ctx, const sim_fill *f) {
  fills *x = ctx;
  if (x->n < 8) x->f[x->n] = *f;
  x->n++;
}

/* The venue maps the scenario's cost centres and services one to one and
** enforces what period_open declared: budgets and capacities. */
static void test_venue_engine_enforces_budget_and_capacity_and_reports_fills(void) {
  b_reset(2);
  uint32_t s = b_service(0, 1, 100);
  PROVIDER(s, 10, 10);          /* cc 0, capacity 2 */
  RECEIVER(s, 60, 50, 50, 50);  /* cc 1, budget 60  */
  sim_venue *v = NULL;
  CHECK_EQ(0, sim_venue_engine(&B.sc, 8, &v, ERR, sizeof ERR));
  if (v == NULL) return;
  fills x = {.n = 0};
  v->on_fill = record_fill;
  v->ctx = &x;
  uint64_t id = 0, sell = 0;
  imx_status st = IMX_OK;
  CHECK_EQ(0, v->ops->period_open(v, 1));
  CHECK_EQ(0, v->ops->order(v, 0, s, IMX_OFFER, 3, 20, IMX_TIF_PERIOD, 0, &id, &st));
  CHECK_EQ(IMX_E_OVER_CAPACITY, st);
  CHECK_EQ(0, id);
  CHECK_EQ(0, v->ops->order(v, 0, s, IMX_OFFER, 2, 20, IMX_TIF_PERIOD, 0, &sell, &st));
  CHECK_EQ(IMX_OK, st);
  CHECK_EQ(0, v->ops->order(v, 1, s, IMX_BID, 2, 40, IMX_TIF_PERIOD, 0, &id, &st));
  CHECK_EQ(IMX_E_INSUFFICIENT_BUDGET, st); /* 80 > 60 */
  CHECK_EQ(0, v->ops->order(v, 1, s, IMX_BID, 1, 40, IMX_TIF_PERIOD, 0, &id, &st));
  CHECK_EQ(IMX_OK, st);
  CHECK_EQ(1, x.n);
  CHECK_EQ(1, x.f[0].buyer_cc);
  CHECK_EQ(0, x.f[0].seller_cc);
  CHECK_EQ(1, x.f[0].qty);
  CHECK_EQ(20, x.f[0].price_minor);
  CHECK_EQ(sell, x.f[0].sell_order);
  CHECK_EQ(id, x.f[0].buy_order);
  CHECK_EQ(0, v->ops->cancel(v, 1, id)); /* filled: not a failure */
  CHECK_EQ(0, v->ops->period_close(v, 1));
  /* Period 2: the offer expired, the capacity is 2 again. */
  CHECK_EQ(0, v->ops->period_open(v, 2));
  CHECK_EQ(0, v->ops->order(v, 0, s, IMX_OFFER, 2, 20, IMX_TIF_PERIOD, 0, &id, &st));
  CHECK_EQ(IMX_OK, st);
  v->ops->destroy(v);
}

/* ----------------------------------------------------------- progress */

static void test_progress_prints_a_bar_per_period_and_ends_the_line(void) {
  smith_market(2, 1);
  FILE *f = tmpfile();
  if (f == NULL) return;
  sim_result_free(&R);
  CHECK_EQ(0, sim_result_init(&R, &B.sc));
  sim_market_opts o = {.agents = SIM_AGENTS_ZIC, .seed = 1, .progress = f};
  CHECK_EQ(0, sim_market_run(&B.sc, &o, &R, ERR, sizeof ERR));
  char buf[256] = {0};
  rewind(f);
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  CHECK_STR("\rmarket [###############...............] period 1/2"
            "\rmarket [##############################] period 2/2\n",
            n > 0 ? buf : "");
}

int main(int argc, char **argv) {
  static const check_case cases[] = {
      CHECK_CASE(test_truthful_auction_clears_four_units_at_28_with_all_surplus),
      CHECK_CASE(test_truthful_auction_with_more_supply_than_demand_clears_at_cost),
      CHECK_CASE(test_truthful_auction_with_a_tie_at_the_margin_is_fully_efficient),
      CHECK_CASE(test_truthful_auction_trades_a_unit_worth_its_cost),
      CHECK_CASE(test_a_budget_that_binds_rejects_the_bid_and_counts_it),
      CHECK_CASE(test_the_budget_is_renewed_every_period),
      CHECK_CASE(test_a_provider_never_sells_beyond_its_capacity),
      CHECK_CASE(test_truthful_continuous_places_one_order_per_run),
      CHECK_CASE(test_zic_prices_are_on_the_tick_and_the_mean_is_rounded),
      CHECK_CASE(test_smith_market_most_surplus_is_900),
      CHECK_CASE(test_truthful_auction_on_smith_market_is_fully_efficient),
      CHECK_CASE(test_zic_is_efficient_and_ziu_clearly_less_over_30_seeds),
      CHECK_CASE(test_zic_never_trades_at_a_loss),
      CHECK_CASE(test_zip_is_efficient_and_its_prices_converge_near_110),
      CHECK_CASE(test_zip_auction_is_efficient),
      CHECK_CASE(test_the_same_seed_gives_the_same_run_and_another_seed_another),
      CHECK_CASE(test_a_demand_shock_raises_the_clearing_price),
      CHECK_CASE(test_a_cost_drop_lowers_the_clearing_price),
      CHECK_CASE(test_two_rows_of_one_cost_centre_and_service_are_an_error),
      CHECK_CASE(test_a_price_max_below_the_tick_is_an_error),
      CHECK_CASE(test_venue_engine_enforces_budget_and_capacity_and_reports_fills),
      CHECK_CASE(test_progress_prints_a_bar_per_period_and_ends_the_line),
  };
  int rc = check_run(cases, sizeof cases / sizeof cases[0], argc, argv);
  sim_result_free(&R);
  return rc;
}
