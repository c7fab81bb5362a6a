/*
** venue_engine.c -- the sim_venue of a market run on the engine itself,
** in-process, with budgets and capacities on (risk = 1).
**
** The scenario maps onto the engine one to one, so nothing is translated:
** the engine's service i is the scenario's service i and its cost centre c
** is the scenario's cc c. Each period starts with imx_engine_cc_set (every
** cost centre's budget) and imx_engine_capacity_set (every provider row's
** capacity, the length of its cost schedule); the market run keeps one
** provider row per (cost centre, service), so setting a capacity per row
** sets each position exactly once. Trades go to the run's on_fill as they
** happen, synchronously, which is the contract of sim_venue_ops.
**
** Memory: the engine allocates everything at creation (orders_max from the
** run's own bound; levels per side bounded by what one service's side can
** hold at once, see sim_levels_for), nothing per order.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

typedef struct venue_engine {
  sim_venue base; /* first: a sim_venue * is a venue_engine * */
  imx_engine *e;
  int64_t budget_share; /* the engine's budget of an unlimited one */
} venue_engine;

static void on_event(void *ctx, const imx_event *ev) {
  venue_engine *v = ctx;
  if (ev->type != IMX_EV_TRADE || v->base.on_fill == NULL) return;
  sim_fill f = {.service = ev->service, .buyer_cc = ev->buyer_cc,
                .seller_cc = ev->seller_cc, .qty = ev->qty,
                .price_minor = ev->price_minor,
                .buy_order = ev->buy_order_id, .sell_order = ev->sell_order_id,
                .trade = ev->trade_id};
  assert(f.qty > 0 && f.price_minor > 0);
  v->base.on_fill(v->base.ctx, &f);
}

static int ve_period_open(sim_venue *base, uint32_t period) {
  venue_engine *v = (venue_engine *)base;
  const sim_scenario *sc = base->sc;
  assert(period >= 1 && period <= sc->periods);
  for (uint32_t c = 0; c < sc->ccs_n; c++) {
    imx_status st =
        imx_engine_cc_set(v->e, c, sim_budget_for_engine(sc, c, v->budget_share));
    if (st != IMX_OK) {
      snprintf(base->err, sizeof base->err, "period %u: budget of %s: %s",
               period, sc->ccs[c].id, imx_status_name(st));
      return -1;
    }
  }
  for (uint32_t i = 0; i < sc->providers_n; i++) {
    const sim_row *w = &sc->rows[i];
    assert(w->side == SIM_PROVIDER);
    imx_status st = imx_engine_capacity_set(v->e, w->cc, w->service, w->n);
    if (st != IMX_OK) {
      snprintf(base->err, sizeof base->err,
               "period %u: capacity of providers[%u]: %s", period, i,
               imx_status_name(st));
      return -1;
    }
  }
  return 0;
}

static int ve_order(sim_venue *base, uint32_t cc, uint32_t service,
                    imx_side side, int64_t qty, int64_t price_minor,
                    imx_tif tif, int min_stars, uint64_t *id_out,
                    imx_status *status_out) {
  venue_engine *v = (venue_engine *)base;
  imx_order_new o = {.service = service, .cc = cc, .side = side, .tif = tif,
                     .aon = 0, .qty = qty, .price_minor = price_minor,
                     .min_stars = min_stars, .allow_unrated = min_stars != 0};
  uint64_t id = 0;
  imx_status st = imx_engine_order_new(v->e, &o, &id);
  *id_out = st == IMX_OK ? id : 0;
  *status_out = st;
  assert(st != IMX_OK || id != 0);
  return 0;
}

static int ve_reputation(sim_venue *base, uint32_t cc, uint32_t service,
                         uint32_t ratings, uint64_t stars_sum) {
  venue_engine *v = (venue_engine *)base;
  imx_status st = imx_engine_reputation_set(v->e, cc, service, ratings, stars_sum);
  if (st != IMX_OK) {
    snprintf(base->err, sizeof base->err, "reputation of %s in %s: %s",
             base->sc->ccs[cc].id, base->sc->services[service].id,
             imx_status_name(st));
    return -1;
  }
  return 0;
}

static int ve_cancel(sim_venue *base, uint32_t cc, uint64_t order_id) {
  venue_engine *v = (venue_engine *)base;
  (void)cc;
  imx_status st = imx_engine_order_cancel(v->e, order_id);
  /* Filled, expired or cancelled by self-trade prevention: already gone. */
  assert(st == IMX_OK || st == IMX_E_UNKNOWN_ORDER);
  (void)st;
  return 0;
}

static int ve_call(sim_venue *base, uint32_t service, int64_t reference_minor,
                   int64_t *price_out) {
  venue_engine *v = (venue_engine *)base;
  imx_auction_result res;
  memset(&res, 0, sizeof res);
  imx_status st = imx_engine_auction_run(v->e, service, reference_minor, &res);
  if (st != IMX_OK) {
    snprintf(base->err, sizeof base->err, "services[%u]: auction: %s", service,
             imx_status_name(st));
    return -1;
  }
  *price_out = res.volume > 0 ? res.price_minor : 0;
  return 0;
}

static int ve_period_close(sim_venue *base, uint32_t period) {
  venue_engine *v = (venue_engine *)base;
  (void)period;
  for (uint32_t s = 0; s < base->sc->services_n; s++) {
    imx_status st = imx_engine_period_end(v->e, s);
    assert(st == IMX_OK);
    (void)st;
  }
  return 0;
}

static void ve_destroy(sim_venue *base) {
  venue_engine *v = (venue_engine *)base;
  if (v == NULL) return;
  imx_engine_destroy(v->e);
  free(v);
}

static const sim_venue_ops engine_ops = {
    .period_open = ve_period_open, .order = ve_order, .cancel = ve_cancel,
    .call = ve_call, .period_close = ve_period_close, .destroy = ve_destroy,
    .reputation = ve_reputation};

/* Price levels a side of service s needs: no more than the distinct prices
** an agent may use (1 .. price_max on the tick), nor than the schedule
** entries of the service's rows (no run rests more orders than that). */
uint32_t sim_levels_for(const sim_scenario *sc, const sim_groups *by_svc,
                        uint32_t s, uint32_t orders_max) {
  const sim_service *svc = &sc->services[s];
  uint64_t prices = (uint64_t)(svc->price_max_minor / svc->tick_minor) + 1;
  uint64_t entries[2] = {0, 0};
  for (uint32_t i = by_svc->off[s]; i < by_svc->off[s + 1]; i++) {
    const sim_row *w = &sc->rows[by_svc->rows[i]];
    entries[w->side] += w->n;
  }
  uint64_t n = entries[0] > entries[1] ? entries[0] : entries[1];
  if (n > orders_max) n = orders_max;
  if (n > prices) n = prices;
  if (n > IMX_LEVELS_MAX) n = IMX_LEVELS_MAX;
  return n < 1 ? 1 : (uint32_t)n;
}

static int add_services(venue_engine *v, const sim_groups *by_svc,
                        uint32_t orders_max, char *errbuf, size_t errcap) {
  const sim_scenario *sc = v->base.sc;
  for (uint32_t s = 0; s < sc->services_n; s++) {
    const sim_service *svc = &sc->services[s];
    if (svc->tick_minor < 1 || svc->price_max_minor < svc->tick_minor ||
        svc->price_max_minor > IMX_PRICE_MAX_MINOR) {
      snprintf(errbuf, errcap,
               "services[%u].price_max: %lld must be from the tick (%lld) "
               "to %lld", s, (long long)svc->price_max_minor,
               (long long)svc->tick_minor, (long long)IMX_PRICE_MAX_MINOR);
      return -1;
    }
    imx_service_config cfg = {
        .tick_minor = svc->tick_minor, .lot = 1, .divisible = 1,
        .levels_max = sim_levels_for(sc, by_svc, s, orders_max),
        .mode = svc->auction ? IMX_MODE_AUCTION : IMX_MODE_CONTINUOUS,
        .price_cap_minor = svc->price_max_minor};
    uint32_t id = 0;
    imx_status st = imx_engine_service_add(v->e, &cfg, &id);
    if (st != IMX_OK) {
      snprintf(errbuf, errcap, "services[%u]: the engine refused it: %s", s,
               imx_status_name(st));
      return -1;
    }
    assert(id == s);
  }
  return 0;
}

int sim_venue_engine(const sim_scenario *sc, uint32_t orders_max,
                     sim_venue **out, char *errbuf, size_t errcap) {
  assert(sc != NULL && out != NULL);
  *out = NULL;
  if (orders_max < 1) orders_max = 1;
  if (orders_max > IMX_ORDERS_MAX || sc->services_n > IMX_SERVICES_MAX ||
      sc->services_n < 1 || sc->rows_n > SIM_ROWS_MAX) {
    snprintf(errbuf, errcap, "scenario too large for one engine: %u services "
             "(at most %u), %u orders at once (at most %u)", sc->services_n,
             IMX_SERVICES_MAX, orders_max, IMX_ORDERS_MAX);
    return -1;
  }
  venue_engine *v = calloc(1, sizeof *v);
  if (v == NULL) {
    snprintf(errbuf, errcap, "out of memory");
    return -1;
  }
  v->base.ops = &engine_ops;
  v->base.sc = sc;
  if ((v->budget_share = sim_budget_unlimited_share(sc)) < 0) {
    snprintf(errbuf, errcap, "the budgets sum to more than %lld minor units, the "
             "most one market holds", (long long)IMX_BUDGETS_TOTAL_MAX_MINOR);
    free(v);
    return -1;
  }
  imx_engine_config cfg = {
      .orders_max = orders_max, .services_max = sc->services_n,
      .on_event = on_event, .ctx = v, .risk = 1,
      .ccs_max = sc->ccs_n ? sc->ccs_n : 1,
      .positions_max = sc->rows_n + 16, .tenders_max = 1,
      .ratings_min = sc->ratings_min ? sc->ratings_min : 3,
      .reputations_max = sc->providers_n + 1};
  imx_status st = imx_engine_create(&cfg, &v->e);
  if (st != IMX_OK) {
    snprintf(errbuf, errcap, "engine: %s", imx_status_name(st));
    free(v);
    return -1;
  }
  sim_groups by_svc;
  if (sim_groups_build(sc, SIM_BY_SERVICE, &by_svc) != 0) {
    snprintf(errbuf, errcap, "out of memory");
    ve_destroy(&v->base);
    return -1;
  }
  int rc = add_services(v, &by_svc, orders_max, errbuf, errcap);
  sim_groups_free(&by_svc);
  if (rc != 0) {
    ve_destroy(&v->base);
    return -1;
  }
  *out = &v->base;
  return 0;
}
