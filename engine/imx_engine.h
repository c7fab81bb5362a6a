/*
** imx_engine.h -- the whole interface of the matching engine: continuous
** books, periodic call auctions, tenders, budgets and capacities.
**
** One engine owns every order book of a market. It is single-threaded by
** design (exactly one thread calls into it), does no I/O and allocates all
** of its memory in imx_engine_create() and imx_engine_service_add(); the
** order entry, cancel, modify and matching paths never call malloc.
**
** The engine is deterministic: the same commands in the same order produce
** the same events in the same order, byte for byte. Order ids and trade ids
** are assigned by the engine, sequentially from 1.
**
** Every command reports what happened through the event callback given at
** creation, synchronously, before the command returns (the callback may
** call queries, never commands):
**
**   order_new    -> ACCEPTED, then zero or more TRADE, then possibly one
**                   CANCELLED (IOC remainder, FOK that cannot fill, self-trade
**                   prevention); or a single REJECTED.
**   order_cancel -> CANCELLED (reason USER), or REJECTED.
**   order_modify -> MODIFIED, then (only if the order lost priority and now
**                   crosses) TRADE and CANCELLED events as for a new order;
**                   or REJECTED.
**   period_end   -> one EXPIRED per `period` order of the service.
**   auction_run  -> AUCTION (the uniform price, the whole volume), TRADE
**                   events all at that price (those of bids with min_stars
**                   last), CANCELLED for ioc/fok orders left unfilled.
**   tender_new   -> TENDER_OPENED; tender_quote -> QUOTE_ACCEPTED;
**   tender_award, tender_award_quote, clock (the deadline of a `lowest`
**                   tender) -> TRADE, TENDER_AWARDED and QUOTE_RELEASED
**                   for the losing quotes, or TENDER_UNFILLED;
**   clock (the deadline of a `choose` tender) -> QUOTE_RELEASED...,
**                   TENDER_LAPSED;
**   tender_cancel-> QUOTE_RELEASED..., TENDER_CANCELLED;
**   quote_withdraw -> QUOTE_WITHDRAWN.
**   Any command may instead give a single REJECTED.
**
** Money is int64 minor units (`*_minor`), quantities int64 whole units.
** There is no floating point anywhere in the engine.
*/
#ifndef IMX_ENGINE_H
#define IMX_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "imx_base.h" /* IMX_QTY_MAX, IMX_PRICE_MAX_MINOR, IMX_ASSERT */

/* The engine's own limits. The market's (prices, quantities, budgets, and
** the price levels per book side, IMX_LEVELS_DEFAULT and IMX_LEVELS_MAX) are
** in imx_base.h, shared with the codec and the ledger. */
#define IMX_ORDERS_MAX       (1u << 26)     /* 67 M orders per engine       */
#define IMX_SERVICES_MAX     4096u          /* services per engine          */
#define IMX_TENDERS_MAX      (1u << 20)     /* open tenders per engine      */
#define IMX_QUOTES_MAX       16u            /* quotes per tender            */
#define IMX_PRICE_MARKET     0              /* price of a market order      */

/* IMX_NO_SIDE: the aggressor of an auction trade, the surplus side of a
** balanced auction. Never valid on an order. */
typedef enum imx_side { IMX_BID = 0, IMX_OFFER = 1, IMX_NO_SIDE = 2 } imx_side;

typedef enum imx_mode {
  IMX_MODE_CONTINUOUS = 0, /* orders match on arrival                       */
  IMX_MODE_AUCTION = 1     /* orders collect; a call clears at one price    */
} imx_mode;

typedef enum imx_tif {
  IMX_TIF_GTC = 0,    /* rests until filled or cancelled                  */
  IMX_TIF_PERIOD = 1, /* rests until filled, cancelled or the period ends */
  IMX_TIF_IOC = 2,    /* trades what it can now, the rest is cancelled    */
  IMX_TIF_FOK = 3     /* trades all of it now, or nothing                 */
} imx_tif;

/* Result of a command; also the reason of a REJECTED event. Stable: the
** numeric values and the names of imx_status_name() never change meaning. */
typedef enum imx_status {
  IMX_OK = 0,
  IMX_E_UNKNOWN_SERVICE, /* no service with that id                        */
  IMX_E_UNKNOWN_ORDER,   /* no open order with that id                     */
  IMX_E_BAD_SIDE,        /* side is neither bid nor offer                  */
  IMX_E_BAD_TIF,         /* time in force out of range, or not modifiable  */
  IMX_E_BAD_QTY,         /* qty <= 0 or > IMX_QTY_MAX                      */
  IMX_E_BAD_PRICE,       /* price <= 0 or > IMX_PRICE_MAX_MINOR            */
  IMX_E_BAD_TICK,        /* price is not a multiple of the service's tick  */
  IMX_E_BAD_LOT,         /* qty is not a multiple of the service's lot     */
  IMX_E_AON_REQUIRED,    /* the service is indivisible: orders must be aon */
  IMX_E_ORDERS_FULL,     /* the order pool is exhausted                    */
  IMX_E_LEVELS_FULL,     /* the book side has no free price level          */
  IMX_E_SERVICES_FULL,   /* no room for another service                    */
  IMX_E_BAD_CONFIG,      /* engine or service settings out of range        */
  IMX_E_NOMEM,           /* allocation failed while creating              */
  IMX_E_UNKNOWN_CC,      /* risk limits on and the cost centre undeclared */
  IMX_E_INSUFFICIENT_BUDGET, /* the bid's reservation exceeds what is left */
  IMX_E_OVER_CAPACITY,   /* the offer exceeds the provider's capacity left */
  IMX_E_SELF_TRADE,      /* auction/tender: own order on the other side   */
  IMX_E_WRONG_MODE,      /* the command does not fit the service's mode   */
  IMX_E_POSITIONS_FULL,  /* no room for another (cost centre, service)    */
  IMX_E_TENDERS_FULL,    /* no room for another open tender               */
  IMX_E_UNKNOWN_TENDER,  /* no open tender with that id                   */
  IMX_E_ABOVE_CEILING,   /* a quote above the tender's ceiling price      */
  IMX_E_QUOTES_FULL,     /* the tender has IMX_QUOTES_MAX quotes          */
  IMX_E_ALREADY_QUOTED,  /* the provider has quoted on this tender        */
  IMX_E_BAD_DEADLINE,    /* the deadline is not after the engine's clock  */
  IMX_E_TOO_MANY_ORDERS, /* the cost centre has orders_per_cc_max open   */
  IMX_E_TOO_MANY_TENDERS,/* the cost centre has tenders_per_cc_max open  */
  IMX_E_UNKNOWN_QUOTE,   /* no standing quote with that id (on that tender) */
  IMX_E_WRONG_DECIDE,    /* the tender's decide mode does not allow this:
                         ** only a `choose` tender is awarded by choice   */
  IMX_E_BAD_STARS,       /* min_stars not 0 or 10..50, on an offer, or
                         ** allow_unrated without min_stars               */
  IMX_E_RATINGS_FULL,    /* no room for another (provider, service)
                         ** reputation (reputations_max)                  */
  IMX_E_BAD_WEIGHTS      /* a `score` tender's weights not 0..100 summing
                         ** to 100, or weights on another decide mode     */
} imx_status;

/* How a tender is decided (chosen at tender_new). */
typedef enum imx_decide {
  IMX_DECIDE_LOWEST = 0, /* the lowest quote at the deadline wins, the
                         ** earliest among equals                          */
  IMX_DECIDE_CHOOSE = 1, /* the receiver awards any quote before the
                         ** deadline; without an award the tender lapses   */
  IMX_DECIDE_SCORE = 2   /* the highest score (price and the provider's
                         ** reputation, weighted) at the deadline wins, the
                         ** earliest among equals; see imx_engine_quote_score */
} imx_decide;

/* Why an order left the book without trading its whole quantity. */
typedef enum imx_cancel_reason {
  IMX_CANCEL_USER = 0,      /* order_cancel                                 */
  IMX_CANCEL_IOC = 1,       /* remainder of an immediate-or-cancel order    */
  IMX_CANCEL_FOK = 2,       /* fill-or-kill order that could not fill whole */
  IMX_CANCEL_SELF_TRADE = 3 /* it would have traded with its own cost centre*/
} imx_cancel_reason;

typedef enum imx_event_type {
  IMX_EV_ACCEPTED = 0,
  IMX_EV_TRADE = 1,
  IMX_EV_CANCELLED = 2,
  IMX_EV_EXPIRED = 3,
  IMX_EV_REJECTED = 4,
  IMX_EV_MODIFIED = 5,
  IMX_EV_AUCTION = 6,
  IMX_EV_TENDER_OPENED = 7,
  IMX_EV_QUOTE_ACCEPTED = 8,
  IMX_EV_QUOTE_RELEASED = 9,
  IMX_EV_TENDER_AWARDED = 10,
  IMX_EV_TENDER_UNFILLED = 11,
  IMX_EV_TENDER_CANCELLED = 12,
  IMX_EV_TENDER_LAPSED = 13,
  IMX_EV_QUOTE_WITHDRAWN = 14
} imx_event_type;

/*
** One event. Which fields are meaningful depends on `type`:
**
**   ACCEPTED   service order_id cc side tif aon qty price_minor
**   TRADE      service trade_id buy_order_id sell_order_id buyer_cc seller_cc
**              qty price_minor aggressor (the side of the incoming order;
**              IMX_NO_SIDE in an auction); for a tender award tender_id and
**              quote_id are set and buy/sell_order_id are 0
**   CANCELLED  service order_id cc side qty (the open quantity removed) reason
**   EXPIRED    service order_id cc side qty (the open quantity removed)
**   REJECTED   order_id (the target of a cancel/modify, else 0) status;
**              tender_id for tender commands, quote_id for the commands
**              that name a quote (award_quote, quote_withdraw); available: for
**              insufficient_budget the budget left (minor units), for
**              over_capacity the capacity left (units)
**   MODIFIED   service order_id cc side qty (new open) price_minor
**              priority_kept (1: same place in the queue; 0: moved to the back)
**   AUCTION    service price_minor (0: no price) qty (the volume) surplus
**              surplus_side
**   TENDER_OPENED    service tender_id cc qty price_minor (ceiling)
**                    deadline_ms decide price_weight quality_weight
**   QUOTE_ACCEPTED   service tender_id quote_id cc price_minor qty
**   QUOTE_RELEASED   service tender_id quote_id cc price_minor qty score
**   TENDER_AWARDED   service tender_id quote_id cc (the winner) price_minor
**                    qty trade_id score
**                    (score: `score` tenders only, the quote's score at the
**                    award in 0..IMX_SCORE_MAX; else 0)
**   TENDER_UNFILLED  service tender_id cc (the receiver) qty
**   TENDER_CANCELLED service tender_id cc (the receiver) qty
**   TENDER_LAPSED    service tender_id cc (the receiver) qty
**   QUOTE_WITHDRAWN  service tender_id quote_id cc price_minor qty
**
** Fields that do not apply are zero. The pointer is valid only during the
** callback.
*/
typedef struct imx_event {
  imx_event_type type;
  uint32_t service;
  uint64_t order_id;
  uint32_t cc;
  imx_side side;
  imx_tif tif;
  int aon;
  int64_t qty;
  int64_t price_minor;
  imx_cancel_reason reason;
  imx_status status;
  int priority_kept;
  uint64_t trade_id;
  uint64_t buy_order_id;
  uint64_t sell_order_id;
  uint32_t buyer_cc;
  uint32_t seller_cc;
  imx_side aggressor;
  int64_t surplus;
  imx_side surplus_side;
  int64_t available;
  uint64_t tender_id;
  uint64_t quote_id;
  int64_t deadline_ms;
  imx_decide decide;
  uint32_t price_weight;   /* TENDER_OPENED of a `score` tender           */
  uint32_t quality_weight;
  int64_t score;           /* see QUOTE_RELEASED, TENDER_AWARDED          */
} imx_event;

typedef void (*imx_event_fn)(void *ctx, const imx_event *ev);

typedef struct imx_engine_config {
  uint32_t orders_max;   /* open orders across all books, 1..IMX_ORDERS_MAX */
  uint32_t services_max; /* books, 1..IMX_SERVICES_MAX                      */
  imx_event_fn on_event; /* required                                        */
  void *ctx;             /* passed to on_event                              */
  int risk;              /* 1: budgets and capacities are enforced and every
                         ** cost centre must be declared (imx_engine_cc_set);
                         ** 0: no limits                                    */
  uint32_t ccs_max;      /* cost centres are numbered 0..ccs_max-1 when risk
                         ** is on; 0 = 1024                                 */
  uint32_t positions_max;/* (cost centre, service) pairs with a declared
                         ** capacity, and, counted apart, pairs with open
                         ** orders in an auction book; 0 = 65536            */
  uint32_t tenders_max;  /* open tenders; 0 = 1024                          */
  uint32_t orders_per_cc_max; /* risk on: open orders per cost centre;
                         ** 0 = no limit                                    */
  uint32_t tenders_per_cc_max; /* risk on: open tenders per cost centre
                         ** (the receiver's); 0 = no limit                  */
  uint32_t ratings_min;  /* providers with fewer ratings of a service are
                         ** unrated for min_stars; 0 = 3, at most
                         ** IMX_RATINGS_MIN_MAX                            */
  uint32_t reputations_max; /* (provider, service) pairs with a reputation;
                         ** 0 = 65536                                       */
} imx_engine_config;

typedef struct imx_service_config {
  int64_t tick_minor; /* prices are multiples of this, >= 1               */
  int64_t lot;        /* quantities are multiples of this, >= 1           */
  int divisible;      /* 0: every order must be aon                       */
  uint32_t levels_max;/* price levels per side; 0 = IMX_LEVELS_DEFAULT     */
  imx_mode mode;
  int64_t price_cap_minor; /* highest limit price; market bids reserve qty x
                           ** this; 0 = IMX_PRICE_MAX_MINOR                  */
} imx_service_config;

typedef struct imx_order_new {
  uint32_t service;
  uint32_t cc;        /* the cost centre; orders of one cc never trade together */
  imx_side side;
  imx_tif tif;
  int aon;            /* all-or-none: only ever trades its whole quantity */
  int64_t qty;
  int64_t price_minor;/* IMX_PRICE_MARKET: a market order (auction mode)  */
  int min_stars;      /* bids only: 0 = any
                      ** provider, else IMX_STARS_MIN..IMX_STARS_MAX
                      ** tenths of a star: the bid trades only with
                      ** offers of providers rated at least that
                      ** (docs/matching.md, "Quality: min_stars")      */
  int allow_unrated;  /* with min_stars: providers with fewer than
                      ** ratings_min ratings are eligible too           */
} imx_order_new;

/* The outcome of a call auction. */
typedef struct imx_auction_result {
  int64_t price_minor;  /* 0: no price (nothing could trade)            */
  int64_t volume;       /* units traded                                 */
  int64_t surplus;      /* unmatched units at the price                 */
  imx_side surplus_side;/* IMX_NO_SIDE when the surplus is 0            */
} imx_auction_result;

/* A cost centre's money in the current period (risk on). */
typedef struct imx_balance {
  int64_t budget_minor;
  int64_t reserved_minor; /* held by open bids and tenders                */
  int64_t spent_minor;    /* paid for fills this period                   */
  int64_t earned_minor;   /* received for sales this period               */
  int64_t available_minor;/* budget - reserved - spent                    */
} imx_balance;

/* A provider's capacity of one service in the current period. */
typedef struct imx_capacity {
  int64_t capacity;   /* declared units                                  */
  int64_t reserved;   /* held by open offers and quotes                  */
  int64_t sold;       /* sold this period                                */
  int64_t available;  /* capacity - reserved - sold                      */
} imx_capacity;

/* A read-only view of an open order, for queries and tests. */
typedef struct imx_order_info {
  uint64_t order_id;
  uint32_t service;
  uint32_t cc;
  imx_side side;
  imx_tif tif;
  int aon;
  int64_t qty_original; /* qty_filled + qty_open                          */
  int64_t qty_open;
  int64_t qty_filled;
  int64_t price_minor;
  int min_stars;      /* tenths of a star, 0: none (bids only)            */
  int allow_unrated;
} imx_order_info;

/* One price level of a book side, best first. */
typedef struct imx_level_info {
  int64_t price_minor;
  int64_t qty_open;   /* sum of the open quantities at this price */
  uint32_t orders;    /* number of orders at this price           */
} imx_level_info;

typedef struct imx_engine imx_engine;

/* Creation and services. These allocate; nothing else does. */
imx_status imx_engine_create(const imx_engine_config *cfg, imx_engine **out);
void imx_engine_destroy(imx_engine *e);
imx_status imx_engine_service_add(imx_engine *e, const imx_service_config *cfg,
                                  uint32_t *service_out);

/* Commands. Each returns IMX_OK or the status of its REJECTED event. On
** success order_new writes the new order's id through id_out (may be NULL). */
imx_status imx_engine_order_new(imx_engine *e, const imx_order_new *o,
                                uint64_t *id_out);
imx_status imx_engine_order_cancel(imx_engine *e, uint64_t order_id);

/* Sets the open quantity to qty_open and the limit price to price_minor.
** A pure quantity reduction at the same price keeps time priority; a price
** change or a quantity increase moves the order to the back of its (new)
** level, where it may trade at once like a new order. The order keeps its
** id; its original quantity becomes qty_filled + qty_open. */
imx_status imx_engine_order_modify(imx_engine *e, uint64_t order_id,
                                   int64_t qty_open, int64_t price_minor);

/* Ends the period of one service: every resting `period` order expires.
** An unknown service gives REJECTED (order_id 0, unknown_service). */
imx_status imx_engine_period_end(imx_engine *e, uint32_t service);

/* Runs the call of an auction-mode service: one uniform price clears the
** book (rule in docs/matching.md). reference_minor is used only while the
** service has no last clearing price. out may be NULL. */
imx_status imx_engine_auction_run(imx_engine *e, uint32_t service,
                                  int64_t reference_minor,
                                  imx_auction_result *out);

/* Risk limits (config.risk = 1). cc_set declares a cost centre and starts
** its period: budget set, spent and earned back to 0; what open orders
** reserve stays reserved. It refuses (IMX_E_BAD_CONFIG) a budget that
** would make the sum of all declared budgets, this one replacing the cost
** centre's old one, exceed IMX_BUDGETS_TOTAL_MAX_MINOR: so no sum of money
** in the engine can overflow (imx_base.h). capacity_set starts a
** provider's period for one service: capacity set, sold back to 0. */
imx_status imx_engine_cc_set(imx_engine *e, uint32_t cc, int64_t budget_minor);
imx_status imx_engine_capacity_set(imx_engine *e, uint32_t cc,
                                   uint32_t service, int64_t capacity);
imx_status imx_engine_balance(const imx_engine *e, uint32_t cc,
                              imx_balance *out);
imx_status imx_engine_capacity(const imx_engine *e, uint32_t cc,
                               uint32_t service, imx_capacity *out);

/* Reputation: a provider's ALL-TIME number of ratings of one service and
** the sum of their stars (each 1..5), which bids with min_stars compare
** with. Replaces what was set before. bad_config unless ratings <= sum <=
** 5 x ratings; unknown_service; ratings_full when the pair is new and
** reputations_max pairs exist. Emits no events and never moves or matches
** orders: a resting bid with min_stars may thereby come to cross an offer
** that is now eligible to it; they trade when one of them next arrives or
** loses priority by a modify (docs/matching.md). */
imx_status imx_engine_reputation_set(imx_engine *e, uint32_t cc,
                                     uint32_t service, uint32_t ratings,
                                     uint64_t stars_sum);
/* What reputation_set last set for the pair (0 and 0 if never). */
void imx_engine_reputation(const imx_engine *e, uint32_t cc, uint32_t service,
                           uint32_t *ratings, uint64_t *stars_sum);

/* Tenders (requests for quotes) for a whole quantity of a service. The
** engine's clock is a command like the others (imx_engine_clock), so that
** replaying the same commands gives the same awards. */
typedef struct imx_tender_new {
  uint32_t service;
  uint32_t cc;            /* the receiver                                 */
  int64_t qty;
  int64_t ceiling_minor;  /* highest acceptable price per unit            */
  int64_t deadline_ms;    /* must be after the engine's clock             */
  imx_decide decide;      /* IMX_DECIDE_LOWEST, _CHOOSE or _SCORE         */
  uint32_t price_weight;  /* _SCORE: whole percent, 0..100, the two       */
  uint32_t quality_weight;/* summing to 100; other modes: both 0          */
} imx_tender_new;

imx_status imx_engine_tender_new(imx_engine *e, const imx_tender_new *t,
                                 uint64_t *tender_id_out);
/* A provider's price per unit for the tender's whole quantity. */
imx_status imx_engine_tender_quote(imx_engine *e, uint64_t tender_id,
                                   uint32_t cc, int64_t price_minor,
                                   uint64_t *quote_id_out);
/* Awards now, any mode: the lowest quote (ties: the earliest) wins at
** its price; a `score` tender's best-scoring quote (ties: the earliest). */
imx_status imx_engine_tender_award(imx_engine *e, uint64_t tender_id);
/* Awards a `choose` tender to one of its quotes, at that quote's price:
** unknown_tender, unknown_quote (not a standing quote of this tender),
** wrong_decide (a `lowest` tender is decided by its rule, never by
** choice). The caller checks that the receiver asks. */
imx_status imx_engine_tender_award_quote(imx_engine *e, uint64_t tender_id,
                                         uint64_t quote_id);
imx_status imx_engine_tender_cancel(imx_engine *e, uint64_t tender_id);
/* The provider takes its quote back before the award: its capacity is
** released, and the provider may quote on the tender again (a new quote,
** the latest). unknown_quote when no open tender has the quote. */
imx_status imx_engine_quote_withdraw(imx_engine *e, uint64_t quote_id);
/* Advances the clock; tenders whose deadline is <= now_ms end, in the
** order they were opened: a `lowest` one is awarded (or ends unfilled), a
** `choose` one lapses. The clock never goes back: an earlier now_ms is
** ignored. */
imx_status imx_engine_clock(imx_engine *e, int64_t now_ms);

/* Queries. They never emit events, and the event callback may call them
** (queries only: a command from the callback is not allowed, and an order
** entered into an auction book from there trips an assertion): they then
** see the market as it was before the event's change. A TRADE's
** two orders still hold their open quantities from before the fill (an
** order whose open quantity equals the trade's is filled by it), and a
** CANCELLED or EXPIRED order is still found, with the open quantity the
** event removes (the server records closed orders this way). A tender is
** open during TENDER_OPENED, QUOTE_ACCEPTED (the quote already counts),
** QUOTE_WITHDRAWN (the quote no longer does), QUOTE_RELEASED, an award's
** TRADE and TENDER_AWARDED, and TENDER_UNFILLED; it is closed by the time
** of TENDER_LAPSED and TENDER_CANCELLED, whose events carry the receiver. */

/* A read-only view of an open tender. */
typedef struct imx_tender_info {
  uint64_t tender_id;
  uint32_t service;
  uint32_t cc;            /* the receiver                                 */
  int64_t qty;
  int64_t ceiling_minor;
  int64_t deadline_ms;
  uint32_t quotes;        /* quotes standing                              */
  imx_decide decide;
  uint32_t price_weight;  /* `score` tenders; else 0                      */
  uint32_t quality_weight;
} imx_tender_info;

/* The tender that a TENDER_LAPSED or TENDER_CANCELLED event closes, read
** from that event's callback (where imx_engine_tender_get no longer finds
** it): its fields as they were, `quotes` the number it had (all released
** by then). IMX_E_UNKNOWN_TENDER when tender_id is not the tender the
** engine closed last; outside that callback the answer means nothing. */
imx_status imx_engine_tender_closing(const imx_engine *e, uint64_t tender_id,
                                     imx_tender_info *out);

/* A read-only view of a standing quote. */
typedef struct imx_quote_info {
  uint64_t quote_id;
  uint64_t tender_id;
  uint32_t cc;            /* the provider                                 */
  int64_t price_minor;
  int64_t score;          /* `score` tenders: the quote's score with the
                          ** reputations as they stand now; else 0       */
} imx_quote_info;

/* The score of a quote of a `score` tender (docs/matching.md, "Tenders
** decided by score"): with C the ceiling, p the quote's price, wp and wq
** the weights, and the provider's reputation for the service (R ratings,
** S stars summed; R >= ratings_min: rated),
**   price share   (C - p) / C
**   quality share S / (5 R) if rated, else 0
**   score         wp x price share + wq x quality share   (0..100)
** Awards compare scores exactly (cross-multiplied fractions, no
** rounding); the reported score is floor(score x 1000), 0..IMX_SCORE_MAX. */
#define IMX_SCORE_MAX 100000
/* An open tender, or IMX_E_UNKNOWN_TENDER. */
imx_status imx_engine_tender_get(const imx_engine *e, uint64_t tender_id,
                                 imx_tender_info *out);
/* Writes up to n open tenders with an id greater than after_id, oldest
** first; returns how many. O(open tenders). */
uint32_t imx_engine_tenders(const imx_engine *e, uint64_t after_id,
                            imx_tender_info *out, uint32_t n);
/* Writes up to n (at most IMX_QUOTES_MAX) standing quotes of an open
** tender in the order they arrived; returns how many (0 also for a tender
** that is not open). */
uint32_t imx_engine_tender_quotes(const imx_engine *e, uint64_t tender_id,
                                  imx_quote_info *out, uint32_t n);
/* A standing quote of an open tender, or IMX_E_UNKNOWN_QUOTE. */
imx_status imx_engine_quote_get(const imx_engine *e, uint64_t quote_id,
                                imx_quote_info *out);
imx_status imx_engine_order_get(const imx_engine *e, uint64_t order_id,
                                imx_order_info *out);
/* Writes up to n levels of one side, best first; returns how many. */
uint32_t imx_engine_levels(const imx_engine *e, uint32_t service,
                           imx_side side, imx_level_info *out, uint32_t n);
/* Writes up to n open orders of one side in priority order; returns how
** many. */
uint32_t imx_engine_orders(const imx_engine *e, uint32_t service,
                           imx_side side, imx_order_info *out, uint32_t n);
/* Writes up to n open orders of one cost centre, every service and side,
** lowest order id (the oldest) first; returns how many. O(n): each cost
** centre's open orders are kept in a list. */
uint32_t imx_engine_orders_of(const imx_engine *e, uint32_t cc,
                              imx_order_info *out, uint32_t n);
uint32_t imx_engine_open_orders(const imx_engine *e);
/* Bytes the engine allocated (pool, id index, books), as taken: its large
** tables rounded up to whole cache lines or 2 MiB huge pages. */
size_t imx_engine_memory_bytes(const imx_engine *e);

/* Snapshots: the engine's whole state as bytes, so that a restart reads it
** instead of running every command since the market opened. write returns
** the size of the snapshot and writes it when it fits in cap (buf NULL and
** cap 0 ask the size only); it does not change the engine. The bytes are
** the engine's own versioned format, not an interface.
**
** read loads a snapshot into an engine made with the same configuration
** and services and without orders or tenders (the market's budgets and
** capacities may be set: the snapshot's replace them); it emits no events,
** and checks every invariant (imx_engine_check) at the end. IMX_OK, or
** IMX_E_BAD_CONFIG with *why saying what did not fit (another market, a
** damaged snapshot): the engine must then be destroyed. Reading allocates
** (a sort of the orders by id), like creation. */
size_t imx_engine_snapshot_write(const imx_engine *e, void *buf, size_t cap);
imx_status imx_engine_snapshot_read(imx_engine *e, const void *buf, size_t len,
                                    const char **why);

/* Walks every book and checks every invariant: levels strictly ordered,
** each side's tree of levels (search order, red-black rules, links, its
** count, every slot of its pool once in the tree or free, the cached best
** level the maximum: checks 80-88, engine/levels.c) or tick map (its
** bitmap and summary words against its levels: 89),
** level totals equal the sum of their orders, each order naming its level
** (check 16), filled + open = original,
** quantities positive, the id index agrees with the pool, no non-aon bid
** without min_stars crosses a non-aon offer (a bid with min_stars may rest
** crossed with offers it may not trade with, or that became eligible by a
** reputation_set), every budget and capacity reservation
** recomputed from the open orders and tenders, each cost centre's list of
** open orders, the counts of auction books, the order pool's blocks (checks
** 70-79). O(pool slots + levels + id index);
** for tests. Returns 0 if all hold, else the number of the first check that
** failed. */
int imx_engine_check(const imx_engine *e);

/* Stable lower-case names for the enums, e.g. "bad_tick", "self_trade". */
const char *imx_status_name(imx_status s);
const char *imx_cancel_reason_name(imx_cancel_reason r);
const char *imx_side_name(imx_side s);
const char *imx_tif_name(imx_tif t);
const char *imx_event_type_name(imx_event_type t);

#endif /* IMX_ENGINE_H */
