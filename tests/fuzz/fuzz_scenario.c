/*
** fuzz_scenario.c -- libFuzzer harness for the scenario loader (sim/scenario.c)
** and for what uses a loaded scenario without the engine: the schedules of
** each period (changes applied) and the flat-rate run with its metrics
** (sim/flat.c, sim/metrics.c).
**
** For any bytes: a refused scenario must say why and leave nothing behind; a
** loaded one must hold together (every schedule inside units and sorted,
** every home a provider of the row's service, percent shares summing to
** 10000), every period's schedules must stay sorted and within the engine's
** price limit, and the flat-rate run must conserve units and money and never
** beat the most surplus the period could give. The library's own asserts
** (kept in every build) are checked along the way; ASan and UBSan watch
** every step.
**
** A file of 8 KiB can ask for 2^26 units with [qty, price] pairs, so the
** work after loading is capped (WORK_MAX): loading such a file is still
** fuzzed, running it is not.
**
** Build: CC=clang cmake -DIMX_FUZZ=ON; run: tests/fuzz/run.sh DIR SECONDS
** fuzz_scenario.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

/* Units times periods (and changes times rows times periods) above which a
** loaded scenario is not run: about 10 ms of instrumented work. */
#define WORK_MAX 200000u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* assert() is not enough: Release builds keep it, but a fuzzer must crash
** whatever NDEBUG says. */
#define MUST(cond)                                                            \
  do {                                                                        \
    if (!(cond)) abort();                                                     \
  } while (0)

static void check_scenario(const sim_scenario *sc) {
  MUST(sc->periods >= 1 && sc->periods <= SIM_PERIODS_MAX);
  MUST(sc->services_n > 0 && sc->providers_n > 0);
  MUST(sc->providers_n <= sc->rows_n && sc->rows_n <= SIM_ROWS_MAX);
  MUST(sc->units_n <= SIM_UNITS_MAX && sc->changes_n <= SIM_CHANGES_MAX);
  int64_t *share_sum = calloc(sc->services_n, sizeof *share_sum);
  MUST(share_sum != NULL);
  /* Every unit belongs to one row's schedule or, for a receiver calibrated
  ** to a history (`at`, `quantities`), to the base schedule its stretched
  ** one is made from (kept in units[] behind it): the ranges lie within
  ** units[] and add up to all of it. */
  uint64_t covered = 0;
  for (uint32_t i = 0; i < sc->rows_n; i++) {
    const sim_row *r = &sc->rows[i];
    MUST(r->side == (i < sc->providers_n ? SIM_PROVIDER : SIM_RECEIVER));
    MUST(r->cc < sc->ccs_n && r->service < sc->services_n);
    MUST(r->n >= 1 && r->n <= SIM_SCHEDULE_MAX);
    MUST((uint64_t)r->off + r->n <= sc->units_n);
    covered += r->n;
    if (r->at != 0) {
      MUST(r->side == SIM_RECEIVER && r->base_n >= 1);
      MUST((uint64_t)r->base_off + r->base_n <= sc->units_n);
      covered += r->base_n;
    }
    for (uint32_t k = r->off; k < r->off + r->n; k++) {
      MUST(sc->units[k] >= 0 && sc->units[k] <= IMX_PRICE_MAX_MINOR);
      if (k > r->off)
        MUST(r->side == SIM_PROVIDER ? sc->units[k] >= sc->units[k - 1]
                                     : sc->units[k] <= sc->units[k - 1]);
    }
    if (r->side == SIM_RECEIVER) {
      MUST(r->home < sc->providers_n && sc->rows[r->home].service == r->service);
      share_sum[r->service] += r->share_bp;
    }
  }
  MUST(covered == sc->units_n);
  for (uint32_t s = 0; s < sc->services_n; s++) {
    const sim_service *sv = &sc->services[s];
    MUST(sv->tick_minor >= 1 && sv->price_max_minor >= sv->tick_minor);
    MUST(sv->price_max_minor % sv->tick_minor == 0);
    if (sv->key == SIM_KEY_PERCENT) MUST(share_sum[s] == 10000);
  }
  free(share_sum);
  for (uint32_t c = 0; c < sc->changes_n; c++)
    MUST(sc->changes[c].period >= 1 && sc->changes[c].period <= sc->periods);
}

static void check_period(const sim_scenario *sc, const int64_t *eff) {
  for (uint32_t i = 0; i < sc->rows_n; i++) {
    const sim_row *r = &sc->rows[i];
    for (uint32_t k = r->off; k < r->off + r->n; k++) {
      MUST(eff[k] >= 0 && eff[k] <= IMX_PRICE_MAX_MINOR);
      if (k > r->off)
        MUST(r->side == SIM_PROVIDER ? eff[k] >= eff[k - 1] : eff[k] <= eff[k - 1]);
    }
  }
}

/* What the flat run must conserve: units served are units made, money paid
** is money received, and no allocation beats the competitive surplus. */
static void check_flat(const sim_scenario *sc, const sim_result *r) {
  for (uint32_t p = 0; p < sc->periods; p++) {
    const sim_cell *cells = r->flat.cells + (size_t)p * sc->rows_n;
    const sim_svc_cell *svc = r->flat.svc + (size_t)p * sc->services_n;
    for (uint32_t s = 0; s < sc->services_n; s++) {
      int64_t made = 0, used = 0, paid = 0, got = 0;
      for (uint32_t i = 0; i < sc->rows_n; i++) {
        const sim_row *w = &sc->rows[i];
        if (w->service != s) continue;
        MUST(cells[i].units >= 0 && cells[i].units <= (int64_t)w->n);
        if (w->side == SIM_PROVIDER) made += cells[i].units, got += cells[i].amount_minor;
        else used += cells[i].units, paid += cells[i].amount_minor;
      }
      MUST(made == used && used == svc[s].units);
      MUST(paid == got && paid == svc[s].amount_minor);
      MUST(svc[s].waste_units >= 0 && svc[s].waste_minor >= 0);
      MUST(svc[s].surplus_minor <= r->max_surplus_minor[(size_t)p * sc->services_n + s]);
    }
  }
}

static void run_scenario(const sim_scenario *sc) {
  uint64_t work = (uint64_t)sc->periods *
                  ((uint64_t)sc->units_n + (uint64_t)sc->changes_n * sc->rows_n);
  if (work > WORK_MAX) return;
  int64_t *eff = malloc(((size_t)sc->units_n + 1) * sizeof *eff);
  MUST(eff != NULL);
  for (uint32_t p = 1; p <= sc->periods; p++) {
    sim_schedule_period(sc, p, eff);
    check_period(sc, eff);
  }
  free(eff);
  sim_result r;
  MUST(sim_result_init(&r, sc) == 0);
  MUST(sim_flat_run(sc, &r) == 0);
  check_flat(sc, &r);
  sim_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  sim_scenario sc;
  imx_proto_error err = {0};
  if (sim_scenario_parse((const char *)data, size, &sc, &err) != 0) {
    MUST(err.code != NULL && err.message != NULL);
    MUST(sc.services == NULL && sc.rows == NULL && sc.units == NULL);
    return 0;
  }
  check_scenario(&sc);
  run_scenario(&sc);
  sim_scenario_free(&sc);
  return 0;
}
