/*
** refmodel.h -- a deliberately simple reference model of the matching engine.
**
** It implements docs/matching.md independently of engine/engine.c: the
** randomised test feeds both the same commands and compares every status,
** every event and every book. It emits exactly the events the engine must
** emit (ids and trade ids from 1, fields that do not apply zero), with two
** differences of scope:
**   - it has no order pool, so it never rejects orders_full;
**   - it allocates as it goes and aborts if malloc fails (tests only).
** Service ids are 0, 1, 2, ... in the order of ref_service_add. It models
** continuous matching only (the first part of docs/matching.md): no call
** auctions, risk limits or tenders. Of imx_service_config it reads
** tick_minor, lot, divisible and levels_max; a mode other than continuous
** is bad_config, price_cap_minor is ignored.
**
** It is also the baseline of the engine benchmark, so it is simple but not
** careless: each book side is a sorted array of order indices (binary search
** plus memmove), an id lookup is O(1).
*/
#ifndef IMX_REFMODEL_H
#define IMX_REFMODEL_H

#include <stdint.h>

#include "imx_engine.h"

typedef struct ref_model ref_model;

/* on_event may be NULL (no events are delivered). NULL if malloc fails. */
ref_model *ref_create(imx_event_fn on_event, void *ctx);
void ref_destroy(ref_model *m);

/* bad_config if tick or lot < 1, levels_max > IMX_LEVELS_MAX or the mode
** is not continuous. */
imx_status ref_service_add(ref_model *m, const imx_service_config *cfg,
                           uint32_t *service_out);

/* The commands, with the statuses and events of the engine's. */
imx_status ref_order_new(ref_model *m, const imx_order_new *o,
                         uint64_t *id_out);
imx_status ref_order_cancel(ref_model *m, uint64_t id);
imx_status ref_order_modify(ref_model *m, uint64_t id, int64_t qty_open,
                            int64_t price_minor);
imx_status ref_period_end(ref_model *m, uint32_t service);

/* Writes up to n open orders of one side, best first; returns how many. */
uint32_t ref_orders(const ref_model *m, uint32_t service, imx_side side,
                    imx_order_info *out, uint32_t n);

/* Extras for the differential test. */

/* The status ref_order_new would return, without changing anything. With a
** pool, orders_full would come between aon_required and levels_full. */
imx_status ref_order_validate(const ref_model *m, const imx_order_new *o);
/* OK and the order, or unknown_order if no open order has that id. */
imx_status ref_order_get(const ref_model *m, uint64_t id, imx_order_info *out);
/* Open orders across all books. */
uint32_t ref_open_orders(const ref_model *m);
/* Checks the model's own invariants; 0 if all hold, else the failed check. */
int ref_check(const ref_model *m);

#endif /* IMX_REFMODEL_H */
