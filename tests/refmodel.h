/*
** refmodel.h -- a deliberately simple reference model of the matching engine.
**
** It implements docs/matching.md independently of engine/: the randomised
** test feeds both the same commands and compares every status, every event,
** every book, every balance and every capacity. It emits exactly the events
** the engine must emit (ids and trade ids from 1, fields that do not apply
** zero) and covers the whole of docs/matching.md: continuous matching, call
** auctions (market orders, self-trade prevention at entry, the all-or-none
** step), budgets and capacities (risk), and tenders. Its differences of
** scope:
**   - it has no order pool, so it never rejects orders_full;
**   - it keeps no (cost centre, service) positions table, so it never
**     rejects positions_full;
**   - it does not bound the number of services (no services_full) nor of
**     reputations (no ratings_full);
**   - it allocates as it goes and aborts if malloc fails (tests only).
** Service ids are 0, 1, 2, ... in the order of ref_service_add.
**
** It is also the baseline of the engine benchmark, so its continuous path is
** simple but not careless: each book side is a sorted array of order indices
** (binary search plus memmove), an id lookup is O(1). Everything else is
** brute force on purpose: a call's price is found by evaluating every
** candidate against every order, and reservations are recomputed from the
** open orders and tenders whenever they are needed, never kept as running
** totals.
*/
#ifndef IMX_REFMODEL_H
#define IMX_REFMODEL_H

#include <stdint.h>

#include "imx_engine.h"

typedef struct ref_model ref_model;

/* on_event may be NULL (no events are delivered). Risk off, no tender
** limit but the default. NULL if malloc fails. */
ref_model *ref_create(imx_event_fn on_event, void *ctx);
/* The same, with the engine's settings: it reads on_event, ctx, risk,
** ccs_max, tenders_max, orders_per_cc_max and ratings_min (0 meaning the engine's
** defaults); orders_max, services_max and positions_max are ignored. */
ref_model *ref_create_config(const imx_engine_config *cfg);
void ref_destroy(ref_model *m);

/* bad_config if tick or lot is out of range, levels_max > IMX_LEVELS_MAX,
** the mode is unknown, or the price cap is below the tick or above
** IMX_PRICE_MAX_MINOR. */
imx_status ref_service_add(ref_model *m, const imx_service_config *cfg,
                           uint32_t *service_out);

/* The commands, with the statuses and events of the engine's. */
imx_status ref_order_new(ref_model *m, const imx_order_new *o,
                         uint64_t *id_out);
imx_status ref_order_cancel(ref_model *m, uint64_t id);
imx_status ref_order_modify(ref_model *m, uint64_t id, int64_t qty_open,
                            int64_t price_minor);
imx_status ref_period_end(ref_model *m, uint32_t service);
imx_status ref_auction_run(ref_model *m, uint32_t service,
                           int64_t reference_minor, imx_auction_result *out);

/* Risk. Like the engine's, these two emit no events. */
imx_status ref_cc_set(ref_model *m, uint32_t cc, int64_t budget_minor);
imx_status ref_capacity_set(ref_model *m, uint32_t cc, uint32_t service,
                            int64_t capacity);
imx_status ref_balance(const ref_model *m, uint32_t cc, imx_balance *out);
imx_status ref_capacity(const ref_model *m, uint32_t cc, uint32_t service,
                        imx_capacity *out);

/* Quality: a provider's all-time ratings of a service (no events). */
imx_status ref_reputation_set(ref_model *m, uint32_t cc, uint32_t service,
                              uint32_t ratings, uint64_t stars_sum);

/* Tenders. */
imx_status ref_tender_new(ref_model *m, const imx_tender_new *t,
                          uint64_t *tender_id_out);
imx_status ref_tender_quote(ref_model *m, uint64_t tender_id, uint32_t cc,
                            int64_t price_minor, uint64_t *quote_id_out);
imx_status ref_tender_award(ref_model *m, uint64_t tender_id);
imx_status ref_tender_award_quote(ref_model *m, uint64_t tender_id,
                                  uint64_t quote_id);
imx_status ref_quote_withdraw(ref_model *m, uint64_t quote_id);
imx_status ref_tender_cancel(ref_model *m, uint64_t tender_id);
imx_status ref_clock(ref_model *m, int64_t now_ms);

/* Writes up to n open orders of one side, best first (market orders
** first); returns how many. */
uint32_t ref_orders(const ref_model *m, uint32_t service, imx_side side,
                    imx_order_info *out, uint32_t n);

/* Extras for the differential test. */

/* The status ref_order_new would return, without changing anything, and
** for insufficient_budget / over_capacity what is left (else 0). With a
** pool, orders_full would come between aon_required and levels_full. */
imx_status ref_order_validate(const ref_model *m, const imx_order_new *o,
                              int64_t *available);
/* OK and the order, or unknown_order if no open order has that id. */
imx_status ref_order_get(const ref_model *m, uint64_t id, imx_order_info *out);
/* Open orders across all books. */
uint32_t ref_open_orders(const ref_model *m);
/* Writes up to n ids of open tenders, oldest first; returns how many. */
uint32_t ref_tenders_open(const ref_model *m, uint64_t *ids, uint32_t n);
/* Writes up to n standing quotes of an open tender, in arrival order;
** returns how many. */
uint32_t ref_tender_quotes(const ref_model *m, uint64_t tender_id,
                           imx_quote_info *out, uint32_t n);
/* The clock: the latest now_ms given to ref_clock, 0 at first. */
int64_t ref_clock_now(const ref_model *m);
/* Checks the model's own invariants; 0 if all hold, else the failed check. */
int ref_check(const ref_model *m);

#endif /* IMX_REFMODEL_H */
