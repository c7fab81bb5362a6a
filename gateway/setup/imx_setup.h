/*
** imx_setup.h -- the market file -> engine set-up, in one place for imxd
** (gateway/server/core.c) and the simulator's replay tool: which engine a
** market needs, its services in file order (so engine numbers are file
** positions), the budgets and capacities of a period. It depends on proto
** and the engine and on nothing else.
*/
#ifndef IMX_SETUP_H
#define IMX_SETUP_H

#include <stddef.h>

#include "imx_engine.h"
#include "imx_proto.h"

/* Sizes an engine for a market: services, cost centres (risk on), the
** (cost centre, service) positions it can need (every capacity, and every
** cost centre in every auction book) and tender slots. orders_max,
** orders_per_cc_max, on_event and ctx are the caller's. */
void imx_setup_config(const imx_market *m, imx_engine_config *ec);

/* Defines the market's services, then starts the first period. Returns
** IMX_OK, or the engine's refusal with *what naming the service or cost
** centre it refused. */
imx_status imx_setup_market(imx_engine *e, const imx_market *m,
                            const char **what);

/* Starts a period: every cost centre's budget and every capacity from the
** market file. A cost centre whose open bids hold more than its new budget
** keeps last period's figures: refused (may be NULL) is called for it, and
** the others are renewed all the same. Returns IMX_OK or the first
** refusal, with *what naming its cost centre. */
typedef void (*imx_setup_refused_fn)(void *ctx, uint32_t cc, imx_status st);
imx_status imx_setup_period(imx_engine *e, const imx_market *m,
                            imx_setup_refused_fn refused, void *ctx,
                            const char **what);

#endif /* IMX_SETUP_H */
