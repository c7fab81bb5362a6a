/*
** proto_eq.h -- field-by-field equality of decoded messages, shared by
** test_proto.c and the fuzz harness: decode(encode(x)) == x is the property
** both check, and a struct compare (memcmp) would also compare padding and
** the bytes after each string's NUL.
*/
#ifndef IMX_PROTO_EQ_H
#define IMX_PROTO_EQ_H

#include <string.h>

#include "imx_proto.h"

#define EQ_STR_(a, b, f) (strcmp((a)->f, (b)->f) == 0)
#define EQ_(a, b, f) ((a)->f == (b)->f)

static inline int imx_request_eq(const imx_request *a, const imx_request *b) {
  return EQ_(a, b, type) && EQ_STR_(a, b, id) && EQ_STR_(a, b, cc) &&
         EQ_STR_(a, b, token) && EQ_STR_(a, b, service) && EQ_(a, b, side) &&
         EQ_(a, b, tif) && EQ_(a, b, aon) && EQ_(a, b, has_price) &&
         EQ_(a, b, qty) && EQ_(a, b, price_minor) && EQ_(a, b, ceiling_minor) &&
         EQ_(a, b, deadline_ms) && EQ_(a, b, order) && EQ_(a, b, tender) &&
         EQ_(a, b, depth) && EQ_(a, b, limit) && EQ_(a, b, has_after) &&
         EQ_(a, b, after) && EQ_STR_(a, b, start) && EQ_(a, b, before) &&
         EQ_(a, b, quote) && EQ_(a, b, decide) && EQ_(a, b, min_stars) &&
         EQ_(a, b, allow_unrated) && EQ_STR_(a, b, period) && EQ_(a, b, trade) &&
         EQ_(a, b, stars) && EQ_STR_(a, b, comment) &&
         EQ_(a, b, price_weight) && EQ_(a, b, quality_weight) &&
         EQ_(a, b, weights_given);
}

/* A reputation's numbers (its service only in cc.get's rows). */
static inline int imx_rep_eq(const imx_reply_reputation *a, const imx_reply_reputation *b) {
  return EQ_STR_(a, b, service) && EQ_(a, b, ratings) && EQ_(a, b, stars_sum) &&
         EQ_(a, b, ratings_recent) && EQ_(a, b, stars_sum_recent);
}

static inline int imx_rating_eq(const imx_reply_rating *a, const imx_reply_rating *b) {
  return EQ_(a, b, trade) && EQ_STR_(a, b, service) && EQ_STR_(a, b, provider) &&
         EQ_STR_(a, b, rater) && EQ_(a, b, stars) && EQ_STR_(a, b, comment) &&
         EQ_(a, b, time_ms) && EQ_STR_(a, b, reply) && EQ_(a, b, reply_ms);
}

static inline int imx_trade_eq(const imx_reply_trade *a, const imx_reply_trade *b) {
  return EQ_(a, b, trade) && EQ_STR_(a, b, service) && EQ_STR_(a, b, buyer) &&
         EQ_STR_(a, b, seller) && EQ_(a, b, qty) && EQ_(a, b, price_minor) &&
         EQ_(a, b, time_ms) && EQ_(a, b, buy_order) && EQ_(a, b, sell_order);
}

static inline int imx_order_eq(const imx_reply_order *a, const imx_reply_order *b) {
  return EQ_(a, b, order) && EQ_STR_(a, b, service) && EQ_(a, b, side) &&
         EQ_(a, b, tif) && EQ_(a, b, aon) && EQ_(a, b, price_minor) &&
         EQ_(a, b, qty) && EQ_(a, b, qty_open) && EQ_(a, b, qty_filled) &&
         EQ_(a, b, min_stars) && EQ_(a, b, allow_unrated);
}

static inline int imx_level_eq(const imx_reply_level *a, const imx_reply_level *b) {
  return EQ_(a, b, price_minor) && EQ_(a, b, qty) && EQ_(a, b, orders);
}

static inline int imx_capacity_eq(const imx_reply_capacity *a,
                                  const imx_reply_capacity *b) {
  return EQ_STR_(a, b, service) && EQ_(a, b, capacity) && EQ_(a, b, reserved) &&
         EQ_(a, b, sold) && EQ_(a, b, available);
}

static inline int imx_offer_eq(const imx_reply_offer *a, const imx_reply_offer *b) {
  return EQ_(a, b, price_minor) && EQ_(a, b, qty) && EQ_(a, b, aon) &&
         EQ_(a, b, order) && EQ_STR_(a, b, cc) && EQ_STR_(a, b, name) &&
         EQ_STR_(a, b, site) && imx_rep_eq(&a->rep, &b->rep);
}

static inline int imx_service_text_eq(const imx_service_text *a,
                                      const imx_service_text *b) {
  return EQ_STR_(a, b, lang) && EQ_STR_(a, b, name) && EQ_STR_(a, b, description) &&
         EQ_STR_(a, b, unit);
}

static inline int imx_service_eq(const imx_reply_service *a,
                                 const imx_reply_service *b) {
  if (a->texts_n != b->texts_n) return 0;
  for (uint32_t i = 0; i < a->texts_n; i++)
    if (!imx_service_text_eq(&a->texts[i], &b->texts[i])) return 0;
  return EQ_STR_(a, b, service) && EQ_STR_(a, b, name) &&
         EQ_STR_(a, b, description) && EQ_STR_(a, b, unit) &&
         EQ_STR_(a, b, currency) && EQ_(a, b, auction) && EQ_(a, b, divisible) &&
         EQ_(a, b, tick_minor) && EQ_(a, b, lot) && EQ_(a, b, price_cap_minor) &&
         EQ_(a, b, providers) && EQ_(a, b, bid_minor) && EQ_(a, b, bid_qty) &&
         EQ_(a, b, offer_minor) && EQ_(a, b, offer_qty) &&
         EQ_(a, b, last_price_minor) && EQ_(a, b, last_qty) &&
         EQ_(a, b, last_time_ms) && imx_rep_eq(&a->rep, &b->rep);
}

static inline int imx_cc_eq(const imx_reply_cc *a, const imx_reply_cc *b) {
  if (!(EQ_STR_(a, b, cc) && EQ_STR_(a, b, name) && EQ_STR_(a, b, site) &&
        EQ_(a, b, roles) && EQ_(a, b, has_budget) && EQ_(a, b, services_n)))
    return 0;
  if (a->has_budget && a->budget_minor != b->budget_minor) return 0;
  for (uint32_t i = 0; i < a->services_n; i++)
    if (strcmp(a->services[i], b->services[i]) != 0) return 0;
  if (a->reputation_n != b->reputation_n) return 0;
  for (uint32_t i = 0; i < a->reputation_n; i++)
    if (!imx_rep_eq(&a->reputation[i], &b->reputation[i])) return 0;
  return 1;
}

static inline int imx_tender_eq(const imx_reply_tender *a,
                                const imx_reply_tender *b) {
  return EQ_(a, b, tender) && EQ_STR_(a, b, service) && EQ_STR_(a, b, buyer) &&
         EQ_(a, b, qty) && EQ_(a, b, ceiling_minor) &&
         EQ_(a, b, deadline_time_ms) && EQ_(a, b, decide) && EQ_(a, b, quotes) &&
         EQ_(a, b, my_quote) && EQ_(a, b, my_price_minor) &&
         EQ_(a, b, price_weight) && EQ_(a, b, quality_weight) && EQ_(a, b, status) &&
         EQ_(a, b, ended_time_ms) && EQ_(a, b, award_quote) && EQ_(a, b, award_trade) &&
         EQ_(a, b, why);
}

static inline int imx_quote_eq(const imx_reply_quote *a, const imx_reply_quote *b) {
  return EQ_(a, b, quote) && EQ_STR_(a, b, provider) && EQ_STR_(a, b, name) &&
         EQ_STR_(a, b, site) && EQ_(a, b, price_minor) && EQ_(a, b, has_score) &&
         EQ_(a, b, score) && imx_rep_eq(&a->rep, &b->rep);
}

/* Lists are equal when their lengths and every row are. */
#define EQ_LIST_(a, b, list, n, row_eq)                                     \
  do {                                                                     \
    if ((a)->n != (b)->n) return 0;                                        \
    for (uint32_t i_ = 0; i_ < (a)->n; i_++)                               \
      if (!row_eq(&(a)->list[i_], &(b)->list[i_])) return 0;               \
  } while (0)

static inline int imx_fill_eq(const imx_reply_fill *a, const imx_reply_fill *b) {
  return EQ_(a, b, trade) && EQ_(a, b, qty) && EQ_(a, b, price_minor) &&
         EQ_(a, b, time_ms) && EQ_STR_(a, b, counterparty);
}

static inline int imx_closed_eq(const imx_reply_closed *a, const imx_reply_closed *b) {
  EQ_LIST_(a, b, fills, fills_n, imx_fill_eq);
  return EQ_(a, b, order) && EQ_STR_(a, b, service) && EQ_(a, b, side) &&
         EQ_(a, b, tif) && EQ_(a, b, aon) && EQ_(a, b, price_minor) &&
         EQ_(a, b, qty) && EQ_(a, b, qty_filled) && EQ_(a, b, status) &&
         EQ_STR_(a, b, reason) && EQ_STR_(a, b, period) && EQ_(a, b, closed_ms) &&
         EQ_(a, b, fills_omitted);
}

static inline int imx_sum_eq(const imx_reply_sum *a, const imx_reply_sum *b) {
  return EQ_STR_(a, b, service) && EQ_(a, b, trades) && EQ_(a, b, bought) &&
         EQ_(a, b, spent) && EQ_(a, b, sold) && EQ_(a, b, earned);
}

static inline int imx_cc_id_eq(const char (*a)[IMX_NAME_BYTES_MAX + 1],
                               const char (*b)[IMX_NAME_BYTES_MAX + 1]) {
  return strcmp(*a, *b) == 0;
}

static inline int imx_cc_sum_eq(const imx_reply_cc_sum *a, const imx_reply_cc_sum *b) {
  return EQ_STR_(a, b, cc) && EQ_(a, b, budget) && EQ_(a, b, spent) && EQ_(a, b, earned) &&
         EQ_(a, b, reserved) && EQ_(a, b, available);
}

/* An error reply is its id, code, field and message: its type means nothing. */
static inline int imx_reply_eq(const imx_reply *a, const imx_reply *b) {
  if (a->error != b->error || !EQ_STR_(a, b, id)) return 0;
  if (a->error)
    return EQ_STR_(a, b, code) && EQ_STR_(a, b, field) && EQ_STR_(a, b, message);
  EQ_LIST_(a, b, trades, trades_n, imx_trade_eq);
  EQ_LIST_(a, b, orders, orders_n, imx_order_eq);
  EQ_LIST_(a, b, bids, bids_n, imx_level_eq);
  EQ_LIST_(a, b, offers, offers_n, imx_level_eq);
  EQ_LIST_(a, b, capacities, capacities_n, imx_capacity_eq);
  EQ_LIST_(a, b, offer_orders, offer_orders_n, imx_offer_eq);
  EQ_LIST_(a, b, services, services_n, imx_service_eq);
  EQ_LIST_(a, b, ccs, ccs_n, imx_cc_eq);
  EQ_LIST_(a, b, closed, closed_n, imx_closed_eq);
  EQ_LIST_(a, b, sums, sums_n, imx_sum_eq);
  EQ_LIST_(a, b, over_budget, over_budget_n, imx_cc_id_eq);
  EQ_LIST_(a, b, tenders, tenders_n, imx_tender_eq);
  EQ_LIST_(a, b, quotes, quotes_n, imx_quote_eq);
  EQ_LIST_(a, b, ratings, ratings_n, imx_rating_eq);
  EQ_LIST_(a, b, cc_sums, cc_sums_n, imx_cc_sum_eq);
  return EQ_(a, b, trade) && EQ_(a, b, stars) && EQ_STR_(a, b, buyer_name) && EQ_STR_(a, b, buyer_site) &&
         EQ_(a, b, type) && EQ_STR_(a, b, cc) && EQ_(a, b, roles) &&
         EQ_STR_(a, b, currency) && EQ_(a, b, decimals) &&
         EQ_(a, b, order) && EQ_(a, b, status) && EQ_STR_(a, b, reason) &&
         EQ_(a, b, qty) && EQ_(a, b, qty_open) && EQ_(a, b, qty_filled) &&
         EQ_STR_(a, b, service) && EQ_(a, b, budget) && EQ_(a, b, reserved) &&
         EQ_(a, b, spent) && EQ_(a, b, earned) && EQ_(a, b, available) &&
         EQ_(a, b, tender) && EQ_(a, b, quote) && EQ_(a, b, price_minor) &&
         EQ_(a, b, volume) && EQ_(a, b, surplus) &&
         EQ_(a, b, surplus_side) && EQ_(a, b, expired) && EQ_STR_(a, b, next) &&
         EQ_(a, b, priority_kept) && EQ_(a, b, trades_omitted) &&
         EQ_STR_(a, b, period) && EQ_STR_(a, b, opened) && EQ_(a, b, is_closed) &&
         EQ_(a, b, closed_ms) && EQ_(a, b, sums_omitted) &&
         EQ_(a, b, over_budget_omitted) && EQ_(a, b, is_open);
}

#endif /* IMX_PROTO_EQ_H */
