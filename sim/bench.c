/*
** bench.c -- `imx-sim bench`: a large synthetic group through both runs.
**
** The target: 10 k cost centres x 100 services x 12 periods in under 3.5 s
** (DESIGN.md asked for 10 s; deep books made it 7 s and the target was set
** at half that). The group is generated in memory from a seed (no file to
** parse), shaped like a real one: a fifth of the cost centres provide one
** service each (20 providers a service, 250 units of capacity in five cost
** steps), the others each receive 6 services (8 units, falling values,
** a budget that binds now and then); services alternate between call
** auctions and continuous trading and between the three allocation keys.
**
** It prints the time of each step and the peak memory of the process. The
** flat-rate run is the baseline: it does what any allocation needs
** (schedules, exact surplus, settling) and no trading, so market / flat
** reads as the price of running a real market.
*/
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "imx_sim.h"
#include "sim_int.h"

#define BENCH_PROVIDERS_PER_SERVICE 20u
#define BENCH_CAPACITY 250u
#define BENCH_STEPS 5u
#define BENCH_SERVICES_PER_RECEIVER 6u
#define BENCH_UNITS_PER_RECEIVER 8u

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int64_t base_price(uint32_t s) { return 5000 + 500 * (int64_t)(s % 37); }

static void bench_services(sim_scenario *sc) {
  for (uint32_t s = 0; s < sc->services_n; s++) {
    sim_service *v = &sc->services[s];
    snprintf(v->id, sizeof v->id, "svc.%03u", s);
    snprintf(v->unit, sizeof v->unit, "unit");
    v->auction = s % 2 == 0;
    v->tick_minor = 1;
    v->price_max_minor = 2 * base_price(s); /* the highest value */
    v->key = (sim_key)(s % 3);
    v->rate_minor = base_price(s);
  }
}

/* Provider rows: service s has providers s*P .. s*P+P-1 (cost centres). */
static void bench_providers(sim_scenario *sc, sim_rng *g) {
  uint32_t r = 0;
  for (uint32_t s = 0; s < sc->services_n; s++)
    for (uint32_t k = 0; k < BENCH_PROVIDERS_PER_SERVICE; k++, r++) {
      sim_row *w = &sc->rows[r];
      *w = (sim_row){.side = SIM_PROVIDER, .cc = r, .service = s,
                     .off = sc->units_n, .n = BENCH_CAPACITY};
      int64_t level = base_price(s) * sim_rng_range(g, 60, 110) / 100;
      for (uint32_t u = 0; u < BENCH_CAPACITY; u++)
        sc->units[sc->units_n++] = level * (80 + 10 * (u / (BENCH_CAPACITY / BENCH_STEPS))) / 100;
    }
  sc->providers_n = r;
}

static void bench_receivers(sim_scenario *sc, sim_rng *g, uint32_t first_cc) {
  uint32_t r = sc->providers_n;
  for (uint32_t c = first_cc; c < sc->ccs_n; c++) {
    uint32_t s0 = (uint32_t)sim_rng_range(g, 0, sc->services_n - 1);
    for (uint32_t k = 0; k < BENCH_SERVICES_PER_RECEIVER; k++, r++) {
      uint32_t s = (s0 + k) % sc->services_n; /* distinct: services_n >= 6 */
      sim_row *w = &sc->rows[r];
      int64_t top = base_price(s) * sim_rng_range(g, 100, 200) / 100;
      *w = (sim_row){.side = SIM_RECEIVER, .cc = c, .service = s,
                     .off = sc->units_n, .n = BENCH_UNITS_PER_RECEIVER,
                     .headcount = sim_rng_range(g, 5, 200)};
      /* Values fall by about a tenth a unit; budget: about 70 % of them. */
      int64_t sum = 0;
      for (uint32_t u = 0; u < BENCH_UNITS_PER_RECEIVER; u++) {
        int64_t v = top * (100 - 10 * (int64_t)u) / 100;
        sc->units[sc->units_n++] = v;
        sum += v;
      }
      w->budget_minor = sum * 7 / 10;
      sc->ccs[c].budget_minor += w->budget_minor;
      if (w->headcount > sc->ccs[c].headcount) sc->ccs[c].headcount = w->headcount;
      /* Home: the provider of the same "site" (cost centre number mod 4). */
      uint32_t p = s * BENCH_PROVIDERS_PER_SERVICE + c % 4;
      w->home = p;
    }
  }
  sc->rows_n = r;
}

/* Equal shares for the percent key, the rounding left to the first. */
static void bench_shares(sim_scenario *sc) {
  uint32_t *count = calloc(sc->services_n, sizeof *count);
  assert(count);
  for (uint32_t i = sc->providers_n; i < sc->rows_n; i++) count[sc->rows[i].service]++;
  uint32_t *seen = calloc(sc->services_n, sizeof *seen);
  assert(seen);
  for (uint32_t i = sc->providers_n; i < sc->rows_n; i++) {
    uint32_t s = sc->rows[i].service;
    sc->rows[i].share_bp = 10000 / count[s] + (seen[s]++ == 0 ? 10000 % count[s] : 0);
  }
  free(count);
  free(seen);
}

static int bench_scenario(sim_scenario *sc, uint32_t ccs, uint32_t services,
                          uint32_t periods, uint64_t seed) {
  memset(sc, 0, sizeof *sc);
  memcpy(sc->currency, "EUR", 4);
  sc->periods = periods;
  sc->seed = seed;
  sc->agents = SIM_AGENTS_ZIC;
  sc->services_n = services;
  sc->ccs_n = ccs;
  uint32_t providers = services * BENCH_PROVIDERS_PER_SERVICE;
  if (providers >= ccs || services < BENCH_SERVICES_PER_RECEIVER) return -1;
  uint32_t rows = providers + (ccs - providers) * BENCH_SERVICES_PER_RECEIVER;
  size_t units = (size_t)providers * BENCH_CAPACITY +
                 (size_t)(ccs - providers) * BENCH_SERVICES_PER_RECEIVER * BENCH_UNITS_PER_RECEIVER;
  if (rows > SIM_ROWS_MAX || units > SIM_UNITS_MAX) return -1;
  sc->services = calloc(services, sizeof *sc->services);
  sc->ccs = calloc(ccs, sizeof *sc->ccs);
  sc->rows = calloc(rows, sizeof *sc->rows);
  sc->units = calloc(units, sizeof *sc->units);
  if (!sc->services || !sc->ccs || !sc->rows || !sc->units) return -1;
  static const char *const sites[] = {"Hamburg", "Leipzig", "Munich", "Cologne"};
  for (uint32_t c = 0; c < ccs; c++) {
    snprintf(sc->ccs[c].id, sizeof sc->ccs[c].id, "CC-%05u", c);
    snprintf(sc->ccs[c].site, sizeof sc->ccs[c].site, "%s", sites[c % 4]);
  }
  sim_rng g;
  sim_rng_seed(&g, seed);
  bench_services(sc);
  bench_providers(sc, &g);
  bench_receivers(sc, &g, providers);
  bench_shares(sc);
  assert(sc->units_n == units && sc->rows_n == rows);
  return 0;
}

static void bench_free(sim_scenario *sc) {
  free(sc->services);
  free(sc->ccs);
  free(sc->rows);
  free(sc->units);
}

static int64_t peak_rss_kib(void) {
  struct rusage ru;
  return getrusage(RUSAGE_SELF, &ru) == 0 ? (int64_t)ru.ru_maxrss : -1;
}

static int bench_usage(FILE *err, const char *arg) {
  fprintf(err, "imx-sim bench: bad argument: %s\n"
               "usage: imx-sim bench [--ccs N] [--services N] [--periods N] "
               "[--agents S] [--seed N]\n", arg);
  return 2;
}

int imx_sim_bench(int argc, char **argv, FILE *out, FILE *err) {
  long ccs = 10000, services = 100, periods = 12;
  unsigned long long seed = 1;
  sim_agents agents = SIM_AGENTS_ZIC;
  for (int i = 0; i < argc; i++) {
    char *end = NULL;
    if (i + 1 >= argc) return bench_usage(err, argv[i]);
    const char *o = argv[i], *v = argv[++i];
    if (strcmp(o, "--agents") == 0) {
      if (sim_agents_parse(v, &agents)) return bench_usage(err, v);
      continue;
    }
    long n = strtol(v, &end, 10);
    if (*end || n < 1) return bench_usage(err, v);
    if (strcmp(o, "--ccs") == 0) ccs = n;
    else if (strcmp(o, "--services") == 0) services = n;
    else if (strcmp(o, "--periods") == 0 && n <= (long)SIM_PERIODS_MAX) periods = n;
    else if (strcmp(o, "--seed") == 0) seed = (unsigned long long)n;
    else return bench_usage(err, o);
  }
  sim_scenario sc = {0};
  double t0 = now_s();
  if (ccs > 1000000 || services > 4000 ||
      bench_scenario(&sc, (uint32_t)ccs, (uint32_t)services, (uint32_t)periods, seed)) {
    fprintf(err, "imx-sim bench: cannot build that group (more providers than cost "
                 "centres, or over the limits)\n");
    bench_free(&sc);
    return 2;
  }
  sc.agents = agents;
  double t1 = now_s();
  sim_result r;
  if (sim_result_init(&r, &sc) || sim_flat_run(&sc, &r)) {
    fprintf(err, "imx-sim bench: out of memory\n");
    bench_free(&sc);
    return 1;
  }
  double t2 = now_s();
  char errbuf[512] = "";
  sim_market_opts mo = {.agents = agents, .seed = seed};
  int rc = sim_market_run(&sc, &mo, &r, errbuf, sizeof errbuf);
  double t3 = now_s();
  if (rc) fprintf(err, "imx-sim bench: market: %s\n", errbuf);
  int64_t units = 0, trades = (int64_t)r.market.trades;
  for (size_t i = 0; i < (size_t)sc.periods * sc.services_n; i++) units += r.market.svc[i].units;
  fprintf(out, "imx-sim bench: %ld cost centres x %ld services x %ld periods, agents %s, seed %llu\n",
          ccs, services, periods, sim_agents_name(agents), seed);
  fprintf(out, "  group: %u rows (%u providers), %u schedule units; generated in %.2f s\n",
          sc.rows_n, sc.providers_n, sc.units_n, t1 - t0);
  fprintf(out, "  baseline, flat-rate run (schedules, exact max surplus, settling): %.2f s\n", t2 - t1);
  fprintf(out, "  market run: %.2f s = %.1fx the baseline; %" PRIu64 " orders, %" PRId64
               " trades, %" PRId64 " units, %.2f M orders/s\n",
          t3 - t2, (t3 - t2) / (t2 - t1 > 0 ? t2 - t1 : 1e-9), r.market.orders, trades,
          units, (double)r.market.orders / (t3 - t2) / 1e6);
  fprintf(out, "  total %.2f s (target < 3.5 s for 10 k x 100 x 12: %s; DESIGN.md's < 10 s: %s);"
               " peak memory %.0f MiB\n",
          t3 - t0, t3 - t0 < 3.5 ? "met" : "NOT met", t3 - t0 < 10.0 ? "met" : "NOT met",
          (double)peak_rss_kib() / 1024.0);
  sim_result_free(&r);
  bench_free(&sc);
  return rc ? 1 : 0;
}
