/*
** setup.c -- a market file made into an engine (imx_setup.h).
*/
#include "imx_setup.h"

#define TENDERS_MAX_MIN 1024u /* open tenders in a market, at least */

/* Positions: every capacity of the market file, and every cost centre in
** every auction book (an auction order holds a position for its side
** counts and self-trade prevention). */
static uint32_t positions_needed(const imx_market *m) {
  uint64_t n = 1 + (uint64_t)imx_market_capacities_total(m) +
               (uint64_t)m->ccs_n * imx_market_auction_services(m);
  return n > UINT32_MAX / 4 ? UINT32_MAX / 4 : (uint32_t)n;
}

/* Tender slots: every receiver at its limit of open tenders (0 in the
** market file: no limit per cost centre, and the engine's default total). */
static uint32_t tenders_needed(const imx_market *m) {
  uint64_t n = (uint64_t)imx_market_ccs_with_role(m, IMX_ROLE_RECEIVER) *
               m->tenders_per_cc_max;
  if (n < TENDERS_MAX_MIN) n = TENDERS_MAX_MIN;
  return n > IMX_TENDERS_MAX ? IMX_TENDERS_MAX : (uint32_t)n;
}

void imx_setup_config(const imx_market *m, imx_engine_config *ec) {
  ec->services_max = m->services_n ? m->services_n : 1;
  ec->risk = 1;
  ec->ccs_max = m->ccs_n ? m->ccs_n : 1;
  ec->positions_max = positions_needed(m);
  ec->tenders_max = tenders_needed(m);
  ec->tenders_per_cc_max = m->tenders_per_cc_max;
  /* Only providers with a capacity sell, so only they are rated. */
  uint64_t rated = 1 + (uint64_t)imx_market_capacities_total(m);
  ec->reputations_max = rated < 1024 ? 1024 : rated > (1u << 24) ? 1u << 24 : (uint32_t)rated;
  ec->ratings_min = m->ratings_min ? m->ratings_min : IMX_RATINGS_MIN_DEFAULT;
  IMX_ASSERT(ec->services_max <= IMX_SERVICES_MAX);
}

imx_status imx_setup_market(imx_engine *e, const imx_market *m,
                            const char **what) {
  for (uint32_t i = 0; i < m->services_n; i++) {
    const imx_market_service *ms = &m->services[i];
    imx_service_config sc = {.tick_minor = ms->tick_minor, .lot = ms->lot,
                             .divisible = ms->divisible,
                             .mode = ms->auction ? IMX_MODE_AUCTION : IMX_MODE_CONTINUOUS,
                             .price_cap_minor = ms->price_cap_minor,
                             .levels_max = ms->levels};
    uint32_t id = 0;
    imx_status st = imx_engine_service_add(e, &sc, &id);
    *what = ms->id;
    if (st != IMX_OK) return st;
    IMX_ASSERT(id == i && "a fresh engine numbers services in file order");
  }
  return imx_setup_period(e, m, NULL, NULL, what);
}

imx_status imx_setup_period(imx_engine *e, const imx_market *m,
                            imx_setup_refused_fn refused, void *ctx,
                            const char **what) {
  imx_status first = IMX_OK;
  for (uint32_t i = 0; i < m->ccs_n; i++) {
    const imx_market_cc *mc = &m->ccs[i];
    imx_status st = imx_engine_cc_set(e, i, mc->budget_minor);
    if (st != IMX_OK && refused) refused(ctx, i, st);
    if (st != IMX_OK && first == IMX_OK) {
      first = st;
      *what = mc->id;
    }
    for (uint32_t k = 0; k < mc->capacities_n; k++) {
      st = imx_engine_capacity_set(e, i, mc->capacities[k].service,
                                   mc->capacities[k].qty);
      if (st != IMX_OK && first == IMX_OK) {
        first = st;
        *what = mc->id;
      }
    }
  }
  return first;
}
