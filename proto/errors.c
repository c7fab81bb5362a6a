/*
** errors.c -- the one table from a rejection's reason to the protocol's
** error reply.
**
** The engine says why it refused a command with a status whose stable name
** ("bad_tick", "insufficient_budget", ...) is the reply's `reason`; this
** table gives each reason its protocol `code` (the coarse class a client
** branches on: bad_field, not_found, forbidden, ...), the request field it
** is about, and the message a person reads. The daemon's core, the replay
** tool and the simulator's client all read it here, so a reason is
** explained the same way everywhere, and a client never parses a message:
** it reads `reason`.
**
** The field "price" stands for the request's price, whatever the request
** calls it: tender.new's ceiling, auction.run's reference.
*/
#include <stdio.h>
#include <string.h>

#include "imx_proto.h"

static const imx_error_info table[] = {
    {"unknown_service", "unknown_service", "service", "no such service"},
    {"unknown_order", "not_found", "order", "no open order with this id"},
    {"bad_side", "bad_field", "side", "must be bid or offer"},
    {"bad_tif", "bad_field", "tif", "not a time in force this order can have"},
    {"bad_qty", "bad_field", "qty", "out of range"},
    {"bad_price", "bad_field", "price",
     "out of range (or a market order in a continuous market)"},
    {"bad_tick", "bad_field", "price", "not a multiple of the service's tick"},
    {"bad_lot", "bad_field", "qty", "not a multiple of the service's lot"},
    {"aon_required", "bad_field", "aon",
     "the service is indivisible: orders must be aon"},
    {"orders_full", "market_full", "", "the market holds its maximum of open orders"},
    {"levels_full", "market_full", "price",
     "the book side holds as many different prices as the service allows "
     "(levels in the market file): use a price already in the book"},
    {"services_full", "internal", "", "no room for another service"},
    {"bad_config", "internal", "", "the engine refused a setting"},
    {"nomem", "internal", "", "out of memory"},
    {"unknown_cc", "unknown_cc", "cc", "no such cost centre"},
    {"insufficient_budget", "insufficient_budget", "price",
     "the budget left does not cover quantity x price"},
    {"over_capacity", "over_capacity", "qty", "more than the capacity left"},
    {"self_trade", "forbidden", "cc", "own order or tender on the other side"},
    {"wrong_mode", "bad_field", "service",
     "the service's mode does not allow this (auction.run needs an auction service)"},
    {"positions_full", "market_full", "",
     "the market holds its maximum of (cost centre, service) positions"},
    {"tenders_full", "market_full", "", "the market holds its maximum of open tenders"},
    {"unknown_tender", "not_found", "tender", "no open tender with this id"},
    {"above_ceiling", "bad_field", "price", "above the tender's ceiling"},
    {"quotes_full", "market_full", "tender", "the tender has its maximum of quotes"},
    {"already_quoted", "forbidden", "tender", "already quoted on this tender"},
    {"bad_deadline", "bad_field", "deadline_ms", "not after the market's clock"},
    {"too_many_orders", "too_many_orders", "cc",
     "the cost centre has its maximum of open orders"},
    {"too_many_tenders", "too_many_tenders", "cc",
     "the cost centre has its maximum of open tenders"},
    {"unknown_quote", "not_found", "quote",
     "no standing quote with this id (on this tender)"},
    {"wrong_decide", "forbidden", "tender",
     "the tender is decided at the deadline (decide lowest: its lowest "
     "quote; decide score: its best score), not by an award"},
    {"bad_stars", "bad_field", "min_stars",
     "min_stars must be 10..50 (tenths of a star) and only on a bid; "
     "allow_unrated only with min_stars"},
    {"bad_weights", "bad_field", "price_weight",
     "decide score needs price_weight and quality_weight (whole percent, "
     "0..100, summing to 100); decide lowest and choose take no weights"},
    {"ratings_full", "market_full", "",
     "the market holds its maximum of rated (provider, service) pairs"},
    /* Reasons of the daemon's own, not the engine's. */
    {"not_provider", "forbidden", "service",
     "the cost centre does not provide this service (no capacity in the market file)"},
    {"not_own_trades", "forbidden", "cc",
     "only finance and admin see the trades of other cost centres"},
    /* Ratings (rating.new, rating.reply, ratings.list). */
    {"unknown_trade", "not_found", "trade", "no trade with this id"},
    {"not_buyer", "forbidden", "trade", "only the buyer of a trade rates it"},
    {"already_rated", "forbidden", "trade", "the trade is rated already (once per trade)"},
    {"rating_window_passed", "forbidden", "trade",
     "too late: the trade is older than the market's rating window"},
    {"not_rated", "not_found", "trade", "the trade has no rating to reply to"},
    {"not_seller", "forbidden", "trade", "only the provider of a trade replies to its rating"},
    {"already_replied", "forbidden", "trade", "the rating has a reply already (once)"},
    {"not_own_ratings", "forbidden", "cc",
     "only finance and admin see the ratings of other cost centres"},
    /* period.summary: every cost centre's budget and spending are finance's
    ** (admin sees no budgets, as for balance.get); a summary of the open
    ** period that a close overtook between the ledger's read and the
    ** engine's figures. */
    {"not_finance", "forbidden", "type",
     "only finance reads the period's summary (every cost centre's budget and spending)"},
    {"period_moved", "unavailable", "period",
     "the period was closed while its summary was read; ask again"},
    /* The web front (docs/protocol.md, "Over HTTP"). */
    {"cross_origin", "forbidden", "",
     "a page of another site sent this request: refused (sign in on imx's own pages)"},
    {"sessions_full", "unavailable", "",
     "imxd holds its maximum of signed-in sessions; try again later"},
    {"ledger_check_failed", "internal", "",
     "the ledger failed a check (the message names it): run imx ledger verify"},
    {"web_busy", "unavailable", "",
     "every call the web takes at once is in flight; try again in a moment"},
};

/* The name a request gives its price. */
static const char *price_field(imx_msg_type t) {
  switch (t) {
  case IMX_MSG_TENDER_NEW: return "ceiling";
  case IMX_MSG_AUCTION_RUN: return "reference";
  default: return "price";
  }
}

int imx_error_of(const char *reason, imx_msg_type type, imx_error_info *out) {
  IMX_ASSERT(reason != NULL && out != NULL);
  for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
    if (strcmp(table[i].reason, reason) != 0) continue;
    *out = table[i];
    if (strcmp(out->field, "price") == 0) out->field = price_field(type);
    return 0;
  }
  *out = (imx_error_info){reason, "internal", "", "unexplained rejection"};
  return -1;
}

size_t imx_error_reason_encode(const char *id, const char *reason,
                               imx_msg_type type, const char *message,
                               char *buf, size_t cap) {
  imx_error_info e;
  imx_error_of(reason, type, &e);
  imx_reply r;
  memset(&r, 0, sizeof r);
  r.error = 1;
  snprintf(r.id, sizeof r.id, "%s", id ? id : "");
  snprintf(r.code, sizeof r.code, "%s", e.code);
  snprintf(r.field, sizeof r.field, "%s", e.field);
  snprintf(r.message, sizeof r.message, "%s", message ? message : e.message);
  snprintf(r.reason, sizeof r.reason, "%s", reason);
  return imx_reply_encode(&r, buf, cap);
}
