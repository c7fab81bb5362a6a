/*
** imx_proto.h -- the whole interface of proto/: the wire protocol's
** messages (docs/protocol.md), the market file, market data and token
** hashes. Knows nothing of sockets, SQLite or the engine's books.
**
** Layering (README.md, "The code"): base <- proto and base <- engine are
** siblings that know nothing of each other; ledger/ uses proto's market
** file for exports; gateway/ uses both (the server) or proto alone (the
** client). cJSON stays inside proto: its users see plain C structs, and
** the strict JSON reader it is built on has a header of its own
** (imx_json.h) for the simulator's files.
**
** Every decoder fails with an imx_proto_error: a stable code (the protocol's
** error codes: bad_json, bad_field, ...), the field at fault (a path such as
** "services[2].tick") and a human message.
*/
#ifndef IMX_PROTO_H
#define IMX_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "imx_base.h"

typedef struct imx_proto_error {
  const char *code;    /* static: "bad_json", "bad_field", ...          */
  char field[96];      /* a copy: the parsed document may be gone        */
  const char *message; /* static                                         */
} imx_proto_error;

/* Sets *err and returns -1, for one-line failure paths. */
int imx_proto_fail(imx_proto_error *err, const char *code, const char *field,
                   const char *message);

/* Prefixes err->field with the path of the object the error was in, e.g.
** ("services[%u].", 2) makes "tick" "services[2].tick" (an empty field:
** "services[2]"); a long path is cut. Returns -1. */
int imx_proto_at(imx_proto_error *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Reads a whole file of at most max_bytes into *buf (malloc'd, NUL after
** the last byte; the caller frees it). Fails with not_found, too_large or
** internal and the field `what`. */
int imx_file_read(const char *path, size_t max_bytes, const char *what,
                  char **buf, size_t *len, imx_proto_error *err);

/* -------------------------------------------------------------- money */

/* Money as people write it (money.c has the rules): the one conversion
** between decimal text in major units and int64 minor units, for every
** place a person types or reads money. No floating point. */
#define IMX_MONEY_TEXT_BYTES 32 /* a formatted amount and its NUL */

enum {
  IMX_MONEY_SIGNED = 1, /* parse: a leading '-' is allowed          */
  IMX_MONEY_COMMA = 2,  /* format: ',' as the decimal separator     */
  IMX_MONEY_PLUS = 4    /* format: '+' before an amount above zero  */
};

/* The ISO 4217 minor unit of a currency code ("EUR" 2, "JPY" 0, "KWD" 3),
** or -1 for a code not in ISO 4217's list of currencies. */
int imx_currency_decimals(const char *code);

/* Reads text ("85", "85.50", "85,5") in major units of a currency with
** `decimals` decimals (0..IMX_DECIMALS_MAX) into *out_minor, exactly.
** Fails (code bad_field, field "": the caller names its argument) on an
** empty or malformed text, a sign without IMX_MONEY_SIGNED, more decimals
** than `decimals`, or a magnitude above max_minor (>= 0). */
int imx_money_parse(const char *text, int decimals, unsigned flags,
                    int64_t max_minor, int64_t *out_minor, imx_proto_error *err);

/* Writes minor units as major units with `decimals` decimals ("85.00",
** "-0.05", "1500" with 0 decimals) into buf and returns buf. Exact for
** every int64. */
const char *imx_money_format(int64_t minor, int decimals, unsigned flags,
                             char buf[IMX_MONEY_TEXT_BYTES]);

/* ------------------------------------------------------------- market */

enum { IMX_ROLE_PROVIDER = 1, IMX_ROLE_RECEIVER = 2, IMX_ROLE_FINANCE = 4,
       IMX_ROLE_ADMIN = 8 };

/* A service's name, description and unit in one more language (a
** translation in the market file; "" where it gives none: the default's). */
typedef struct imx_service_text {
  char lang[3]; /* ISO 639-1, two lower-case letters: "de" */
  char name[IMX_TEXT_BYTES_MAX + 1];
  char description[IMX_DESCRIPTION_BYTES_MAX + 1];
  char unit[IMX_NAME_BYTES_MAX + 1];
} imx_service_text;

/* Whether s is a translation's language code (imx_service_text.lang): two
** lower-case ASCII letters. The market file and the reply decoder ask. */
int imx_lang_code_ok(const char *s);

typedef struct imx_market_service {
  char id[IMX_NAME_BYTES_MAX + 1];
  char name[IMX_TEXT_BYTES_MAX + 1];               /* the id when not given */
  char description[IMX_DESCRIPTION_BYTES_MAX + 1]; /* "" when not given      */
  char unit[IMX_NAME_BYTES_MAX + 1];
  char currency[4];
  int64_t tick_minor;
  int64_t lot;
  int64_t price_cap_minor; /* 0: none given                      */
  int divisible;
  int auction;             /* mode "auction" (else "continuous") */
  uint32_t levels;         /* "levels": different prices a side of the
                           ** book holds at once, 1..IMX_LEVELS_MAX
                           ** (IMX_LEVELS_DEFAULT when not given)  */
  char activity_type[IMX_SAP_ACTTYPE_MAX + 1]; /* the SAP upload's: ""   */
  char uom[IMX_SAP_UOM_MAX + 1];               /* when not given          */
  imx_service_text texts[IMX_TRANSLATIONS_MAX]; /* "translations", in the  */
  uint32_t texts_n;                             /* file's order           */
} imx_market_service;

typedef struct imx_market_capacity {
  uint32_t service; /* index into services */
  int64_t qty;
} imx_market_capacity;

typedef struct imx_market_cc {
  char id[IMX_NAME_BYTES_MAX + 1];
  char name[IMX_TEXT_BYTES_MAX + 1];
  char site[IMX_TEXT_BYTES_MAX + 1];
  unsigned roles;        /* IMX_ROLE_* */
  int64_t budget_minor;  /* per period */
  imx_market_capacity *capacities;
  uint32_t capacities_n;
  char token_hash[IMX_TEXT_BYTES_MAX + 1]; /* may be empty */
  char erp_cc[IMX_SAP_CC_MAX + 1];         /* its SAP cost centre, "" when
                                           ** not given                   */
} imx_market_cc;

/* The market file's "erp": what the SAP upload (the sap export) needs
** besides each cost centre's erp_cc and each service's activity_type and
** uom. Every field "" when not given; the loader checks lengths and
** characters, the export that what it needs is there (README "The market
** file"). */
typedef struct imx_market_erp {
  char controlling_area[IMX_SAP_CO_AREA_MAX + 1];
  char user[IMX_SAP_USER_MAX + 1];
  char header_text[4 * IMX_SAP_HEADER_TEXT_MAX + 1]; /* UTF-8: characters,
                                                     ** up to 4 bytes each */
} imx_market_erp;

typedef struct imx_market {
  char digest[65];               /* SHA-256 of the file's bytes, hex: a
                                 ** snapshot is read only into the market
                                 ** it was written from                  */
  char currency[4];
  int decimals;                  /* of the currency: the file's "decimals",
                                 ** else ISO 4217's (imx_currency_decimals);
                                 ** every service's currency has as many  */
  imx_market_service *services;  /* at most IMX_SERVICES_MAX          */
  uint32_t services_n;
  imx_market_cc *ccs;            /* at most IMX_CCS_MAX               */
  uint32_t ccs_n;
  uint32_t tenders_per_cc_max;   /* open tenders a cost centre may have,
                                 ** 0..IMX_TENDERS_PER_CC_MAX; the file's
                                 ** "tenders_per_cc_max", default
                                 ** IMX_TENDERS_PER_CC_DEFAULT          */
  uint32_t ratings_min;          /* providers with fewer ratings of a
                                 ** service are unrated for min_stars:
                                 ** 1..IMX_RATINGS_MIN_MAX, the file's
                                 ** "ratings_min", default
                                 ** IMX_RATINGS_MIN_DEFAULT (3)         */
  uint32_t rating_window_days;   /* days after a trade its buyer may rate
                                 ** it: the file's "rating_window_days",
                                 ** 1..IMX_RATING_WINDOW_DAYS_MAX, default
                                 ** IMX_RATING_WINDOW_DAYS_DEFAULT      */
  int64_t first_month;           /* the first period's month, counted as
                                 ** year * 12 + month - 1 (the file's
                                 ** "first_period"); 0: none given, the
                                 ** periods are numbered (period.c)     */
  imx_market_erp erp;            /* the file's "erp", all "" without it  */
  /* Private to market.c: the id indexes built at load, freed by
  ** imx_market_free. A market built by hand leaves them zero (memset) and
  ** is then searched linearly. */
  imx_hash services_index_;
  imx_hash ccs_index_;
} imx_market;

/* Reads and checks a market file (format in README.md). On failure err
** names the field, e.g. "cost_centres[3].capacities.it.hour"; a file whose
** budgets sum to more than IMX_BUDGETS_TOTAL_MAX_MINOR fails at the budget
** where the sum passes it, e.g. "cost_centres[10].budget". */
int imx_market_load(const char *path, imx_market *out, imx_proto_error *err);
int imx_market_parse(const char *text, size_t len, imx_market *out,
                     imx_proto_error *err);
void imx_market_free(imx_market *m);
/* Index of a service or cost centre by id, or -1: a hash lookup in a loaded
** market. */
int64_t imx_market_service_find(const imx_market *m, const char *id);
int64_t imx_market_cc_find(const imx_market *m, const char *id);

/* What sizes the engine from the market (imx_engine_config), derived, not
** configured; counted in uint64_t by the caller, as products can pass 2^32:
**   positions_max >= imx_market_capacities_total(m)
**                    + ccs_n * imx_market_auction_services(m)
**     (a position is a (cost centre, service) pair with a capacity, or with
**     an order in an auction book);
**   tenders_max   =  imx_market_ccs_with_role(m, IMX_ROLE_RECEIVER)
**                    * m->tenders_per_cc_max.
** The (cost centre, service) capacity entries, at most ccs_n x services_n: */
uint32_t imx_market_capacities_total(const imx_market *m);
/* The services in mode "auction". */
uint32_t imx_market_auction_services(const imx_market *m);
/* The cost centres that have any of the IMX_ROLE_* bits in role. */
uint32_t imx_market_ccs_with_role(const imx_market *m, unsigned role);

/* ------------------------------------------------------------ periods */

/* The one mapping between a period's number (1, 2, ...: the engine's, the
** core's and the ledger's) and what people read: with the market file's
** "first_period" (e.g. "2026-12"; "period": "month", the only length),
** period n is the (n-1)-th month after it, labelled "YYYY-MM"; without
** it, the label is the number ("3"). */
/* The label of a period into buf (IMX_PERIOD_LABEL_BYTES will do): 0, or
** -1 for a period < 1 or past the year IMX_PERIOD_YEAR_MAX. */
int imx_period_label(const imx_market *m, int64_t period, char *buf, size_t cap);
/* The period a label names, >= 1; -1 for anything else (a malformed label,
** a month before the first period). Strict: "2026-12" in a calendar
** market, "3" in a numbered one. */
int64_t imx_period_parse(const imx_market *m, const char *label);
/* The period's last day, "YYYY-MM-DD" (leap years counted): 0; 1 when the
** market has numbered periods (no calendar: buf is ""); -1 out of range. */
int imx_period_last_day(const imx_market *m, int64_t period, char buf[11]);
/* "YYYY-MM" as year * 12 + month - 1, or -1 (the year in
** IMX_PERIOD_YEAR_MIN..MAX, the month 01..12). */
int64_t imx_month_parse(const char *s);

/* ----------------------------------------------------------- messages */

/* The protocol of docs/protocol.md. Decoding validates everything the
** protocol says (types, ranges, lengths, unknown and duplicate keys);
** encoding writes into a caller's buffer with no allocation and returns the
** length, or 0 when the buffer is too small. */


/* Where imxd listens and the clients dial unless told otherwise. */
#define IMX_DEFAULT_LISTEN "tcp://127.0.0.1:7450"
#define IMX_DEFAULT_PUBLISH "tcp://127.0.0.1:7451"

#define IMX_FILLS_LISTED_MAX 256 /* fills listed in one order.new.ok   */

typedef enum imx_msg_type {
  IMX_MSG_HELLO = 0,
  IMX_MSG_ORDER_NEW,
  IMX_MSG_ORDER_CANCEL,
  IMX_MSG_ORDER_LIST,
  IMX_MSG_BOOK_GET,
  IMX_MSG_TRADES_LIST,
  IMX_MSG_BALANCE_GET,
  IMX_MSG_TENDER_NEW,
  IMX_MSG_TENDER_QUOTE,
  IMX_MSG_AUCTION_RUN,
  IMX_MSG_PERIOD_CLOSE,
  IMX_MSG_SERVICES_LIST,
  IMX_MSG_CC_LIST,
  IMX_MSG_CC_GET,
  IMX_MSG_ORDER_MODIFY,
  IMX_MSG_ORDER_HISTORY,
  IMX_MSG_TENDER_AWARD,
  IMX_MSG_TENDER_CANCEL,
  IMX_MSG_QUOTE_WITHDRAW,
  IMX_MSG_TENDER_LIST,
  IMX_MSG_TENDER_GET,
  IMX_MSG_STATEMENT_GET,
  IMX_MSG_RATING_NEW,
  IMX_MSG_RATING_REPLY,
  IMX_MSG_RATINGS_LIST,
  IMX_MSG_PERIOD_SUMMARY,
  IMX_MSG_TYPES /* count */
} imx_msg_type;

/* "order.new" ... ; NULL for an out-of-range type. */
const char *imx_msg_type_name(imx_msg_type t);

enum { IMX_PSIDE_BID = 0, IMX_PSIDE_OFFER = 1, IMX_PSIDE_NONE = 2 };
enum { IMX_PTIF_GTC = 0, IMX_PTIF_PERIOD, IMX_PTIF_IOC, IMX_PTIF_FOK };
/* How a tender is decided: "lowest" (the default), "choose" or "score"
** (price_weight and quality_weight, docs/matching.md). */
enum { IMX_PDECIDE_LOWEST = 0, IMX_PDECIDE_CHOOSE = 1, IMX_PDECIDE_SCORE = 2 };
/* imx_request.weights_given: which of tender.new's weights were given. */
enum { IMX_PWEIGHT_PRICE = 1, IMX_PWEIGHT_QUALITY = 2 };

typedef struct imx_request {
  imx_msg_type type;
  char id[IMX_NAME_BYTES_MAX + 1];
  char cc[IMX_NAME_BYTES_MAX + 1];     /* "" = the connection's; hello:
                                       ** the token's                    */
  char token[IMX_TOKEN_BYTES_MAX + 1]; /* "" = none in this request      */
  char service[IMX_NAME_BYTES_MAX + 1];/* "" = none (trades.list: all)  */
  int side;            /* IMX_PSIDE_*                                    */
  int tif;             /* IMX_PTIF_*                                     */
  int aon;
  int min_stars;       /* order.new, bids: IMX_STARS_MIN..IMX_STARS_MAX
                       ** tenths of a star; 0 = not given               */
  int allow_unrated;   /* order.new, with min_stars                      */
  int has_price;       /* order.new: 0 = market order; auction.run: ref  */
  int64_t qty;         /* order.new, tender.new: 1..IMX_QTY_MAX;
                       ** order.modify: the new total (filled + open),
                       ** 0 = unchanged                                 */
  int64_t price_minor; /* order.new, tender.quote, auction.run reference:
                       ** 1..IMX_PRICE_MAX_MINOR                         */
  int64_t ceiling_minor;   /* tender.new: 1..IMX_PRICE_MAX_MINOR         */
  int64_t deadline_ms;     /* tender.new: from now, 1..IMX_DEADLINE_MS_MAX */
  uint64_t order;      /* order.cancel, order.modify: 1..IMX_ID_MAX      */
  uint64_t tender;     /* tender.quote, .award, .cancel, .get,
                       ** quote.withdraw (0: not given): 1..IMX_ID_MAX   */
  uint64_t quote;      /* tender.award, quote.withdraw (0: not given)    */
  int decide;          /* tender.new: IMX_PDECIDE_*, lowest by default   */
  int price_weight;    /* tender.new, decide score: 0..IMX_WEIGHT_MAX    */
  int quality_weight;  /* (whole percent; the server checks the sum)     */
  int weights_given;   /* IMX_PWEIGHT_* bits: the weights in the request */
  uint32_t depth;      /* book.get: 1..IMX_DEPTH_MAX, default 10         */
  uint32_t limit;      /* trades.list, tender.list: 1..IMX_LIST_MAX,
                       ** default 100; order.history:
                       ** 1..IMX_HISTORY_LIMIT_MAX, default 20          */
  uint64_t before;     /* order.history: the page after this closed order
                       ** (an order id); ratings.list: after this rated
                       ** trade; 0 = from the newest                    */
  int has_after;       /* trades.list, tender.list: after given           */
  uint64_t after;      /* trades.list: only trades with id > after, oldest
                       ** first; tender.list: tenders with id > after;
                       ** 0..IMX_ID_MAX                                  */
  char start[IMX_NAME_BYTES_MAX + 1]; /* services.list, cc.list,
                       ** period.summary (a cost centre): the id to
                       ** list from (a reply's `next`); "" = the first   */
  char period[IMX_PERIOD_LABEL_BYTES]; /* statement.get, period.summary:
                       ** a period's label
                       ** (imx_period_parse, by the server, which knows the
                       ** market); "" = the open period                 */
  uint64_t trade;      /* rating.new, rating.reply: 1..IMX_ID_MAX
                       ** (ratings.list pages with before: a trade id) */
  int stars;           /* rating.new: IMX_RATING_STARS_MIN..MAX (1..5) */
  char comment[IMX_COMMENT_BYTES_MAX + 1]; /* rating.new (optional, "" =
                       ** none), rating.reply (required): 1..500 bytes   */
} imx_request;

/* Decodes exactly len bytes. On failure err is set and out->id holds the
** request's id if it could be read (so the error reply can echo it). */
int imx_request_decode(const char *buf, size_t len, imx_request *out,
                       imx_proto_error *err);
size_t imx_request_encode(const imx_request *r, char *buf, size_t cap);

typedef struct imx_reply_trade {
  uint64_t trade;
  char service[IMX_NAME_BYTES_MAX + 1];
  char buyer[IMX_NAME_BYTES_MAX + 1];
  char seller[IMX_NAME_BYTES_MAX + 1];
  int64_t qty;
  int64_t price_minor;
  int64_t time_ms;
  uint64_t buy_order, sell_order; /* the engine's order ids of both sides */
} imx_reply_trade;

typedef struct imx_reply_order {
  uint64_t order;
  char service[IMX_NAME_BYTES_MAX + 1];
  int side, tif, aon;
  int64_t price_minor; /* 0: market order */
  int64_t qty, qty_open, qty_filled;
  int min_stars;       /* a bid's, tenths of a star; 0: none (absent)  */
  int allow_unrated;
} imx_reply_order;

/* A fill of a closed order (order.history): the trade as its owner sees
** it; the service and side are the order's. */
typedef struct imx_reply_fill {
  uint64_t trade;
  int64_t qty, price_minor, time_ms;
  char counterparty[IMX_NAME_BYTES_MAX + 1];
} imx_reply_fill;

/* A closed order (order.history). status: 1 filled, 2 cancelled, 3 expired
** (IMX_PSTATUS_*); reason: why it was cancelled ("user", "ioc", "fok",
** "self_trade"), "" otherwise. */
typedef struct imx_reply_closed {
  uint64_t order;
  char service[IMX_NAME_BYTES_MAX + 1];
  int side, tif, aon;
  int64_t price_minor; /* 0: market order */
  int64_t qty, qty_filled;
  int status;
  char reason[16];
  char period[IMX_PERIOD_LABEL_BYTES]; /* its label (proto/period.c)     */
  int64_t closed_ms;
  imx_reply_fill *fills; /* the first IMX_HISTORY_FILLS_MAX, oldest first */
  uint32_t fills_n;
  uint64_t fills_omitted;
} imx_reply_closed;

enum { IMX_PSTATUS_OPEN = 0, IMX_PSTATUS_FILLED, IMX_PSTATUS_CANCELLED,
       IMX_PSTATUS_EXPIRED };

/* A provider's reputation for a service: ratings given and the sum of
** their stars, all time and over the last IMX_REPUTATION_RECENT_DAYS days
** (the mean is sum / count, an exact ratio; 0 ratings: unrated). */
typedef struct imx_reply_reputation {
  char service[IMX_NAME_BYTES_MAX + 1]; /* cc.get's rows only           */
  int64_t ratings, stars_sum, ratings_recent, stars_sum_recent;
} imx_reply_reputation;

/* A rating (ratings.list), newest first. reply is "" and reply_ms 0 until
** the provider answers. */
typedef struct imx_reply_rating {
  uint64_t trade;
  char service[IMX_NAME_BYTES_MAX + 1];
  char provider[IMX_NAME_BYTES_MAX + 1];
  char rater[IMX_NAME_BYTES_MAX + 1];   /* the trade's buyer              */
  int stars;
  char comment[IMX_COMMENT_BYTES_MAX + 1];
  int64_t time_ms;
  char reply[IMX_COMMENT_BYTES_MAX + 1];
  int64_t reply_ms;
} imx_reply_rating;

typedef struct imx_reply_level {
  int64_t price_minor;
  int64_t qty;
  uint32_t orders;
} imx_reply_level;

/* book.get: one offer in the book, in priority order, with its provider
** (buyers choose providers); order is its id only for its owner, else 0. */
typedef struct imx_reply_offer {
  int64_t price_minor; /* 0: a market order (auction book)               */
  int64_t qty;         /* open                                           */
  int aon;
  uint64_t order;
  char cc[IMX_NAME_BYTES_MAX + 1];
  char name[IMX_TEXT_BYTES_MAX + 1];
  char site[IMX_TEXT_BYTES_MAX + 1];
  imx_reply_reputation rep; /* the provider's, for this service         */
} imx_reply_offer;

/* services.list: one service as the market file gives it, and its market
** now. Prices of 0 are "none" (null on the wire). */
typedef struct imx_reply_service {
  char service[IMX_NAME_BYTES_MAX + 1];
  char name[IMX_TEXT_BYTES_MAX + 1];
  char description[IMX_DESCRIPTION_BYTES_MAX + 1];
  char unit[IMX_NAME_BYTES_MAX + 1];
  char currency[4];
  int auction, divisible;
  int64_t tick_minor, lot, price_cap_minor;
  uint32_t providers;          /* cost centres with a capacity of it     */
  int64_t bid_minor, bid_qty, offer_minor, offer_qty; /* best prices     */
  int64_t last_price_minor, last_qty, last_time_ms;   /* the last trade  */
  imx_reply_reputation rep;    /* all its providers' ratings together    */
  imx_service_text texts[IMX_TRANSLATIONS_MAX]; /* the market file's     */
  uint32_t texts_n;                             /* translations          */
} imx_reply_service;

/* cc.list, cc.get: one cost centre of the directory. services are the ids
** of the services it provides (a capacity in the market file); budget is
** shown (has_budget) only to finance and to the cost centre itself. */
typedef struct imx_reply_cc {
  char cc[IMX_NAME_BYTES_MAX + 1];
  char name[IMX_TEXT_BYTES_MAX + 1];
  char site[IMX_TEXT_BYTES_MAX + 1];
  unsigned roles;          /* IMX_ROLE_*                                 */
  const char **services;   /* encode: the caller's; decode: one block of
                           ** pointers and strings, freed by imx_reply_free */
  uint32_t services_n;
  int has_budget;
  int64_t budget_minor;    /* per period, from the market file           */
  imx_reply_reputation *reputation; /* cc.get: one per service it provides,
                           ** in services' order (encode: the caller's;
                           ** decode: allocated); NULL in cc.list      */
  uint32_t reputation_n;
} imx_reply_cc;
/* An open tender as tender.list and tender.get show it. */
typedef struct imx_reply_tender {
  uint64_t tender;
  char service[IMX_NAME_BYTES_MAX + 1];
  char buyer[IMX_NAME_BYTES_MAX + 1];  /* the receiver                 */
  int64_t qty;
  int64_t ceiling_minor;
  int64_t deadline_time_ms;            /* ms since the Unix epoch       */
  int decide;                          /* IMX_PDECIDE_*                 */
  uint32_t price_weight;               /* decide score: 0..100, summing */
  uint32_t quality_weight;             /* to 100; else both 0           */
  uint32_t quotes;                     /* standing quotes               */
  uint64_t my_quote;                   /* the asker's standing quote, 0:
                                       ** none                          */
  int64_t my_price_minor;              /* ... and its price             */
  /* tender.get only: how it stands; a tender that ended is still shown
  ** (docs/protocol.md, "Tenders": the last IMX_TENDERS_DECIDED_KEPT) */
  int status;                          /* IMX_PTENDER_*                 */
  int64_t ended_time_ms;               /* ended: when                   */
  uint64_t award_quote, award_trade;   /* awarded: the winner, its trade */
  int why;                             /* lapsed: IMX_LAPSED_*          */
} imx_reply_tender;
/* imx_reply_tender.status */
enum { IMX_PTENDER_OPEN = 0, IMX_PTENDER_AWARDED = 1, IMX_PTENDER_LAPSED = 2,
       IMX_PTENDER_CANCELLED = 3 };

/* A quote as tender.get shows it. */
typedef struct imx_reply_quote {
  uint64_t quote;
  char provider[IMX_NAME_BYTES_MAX + 1];
  char name[IMX_TEXT_BYTES_MAX + 1];
  char site[IMX_TEXT_BYTES_MAX + 1];
  int64_t price_minor;
  int has_score;            /* a `score` tender's quote:                  */
  int64_t score;            /* its score now, 0..IMX_SCORE_SHOWN_MAX      */
  imx_reply_reputation rep; /* the provider's, for the tender's service  */
} imx_reply_quote;

/* One service's figures in one period. statement.get: what the cost
** centre bought (units, amount spent) and sold (units, amount earned) in
** `trades` trades; period.close: the whole market's, units and amount
** (bought = sold = units, spent = earned = amount; on the wire once). */
typedef struct imx_reply_sum {
  char service[IMX_NAME_BYTES_MAX + 1];
  int64_t trades;
  int64_t bought, spent;
  int64_t sold, earned;
} imx_reply_sum;

/* period.summary: one cost centre's figures in one period. budget is the
** market file's per period; spent and earned the period's trades (the
** ledger's); reserved and available the engine's, the open period only
** (balance.get's). */
typedef struct imx_reply_cc_sum {
  char cc[IMX_NAME_BYTES_MAX + 1];
  int64_t budget, spent, earned;
  int64_t reserved, available; /* on the wire when the period is open */
} imx_reply_cc_sum;

typedef struct imx_reply_capacity {
  char service[IMX_NAME_BYTES_MAX + 1];
  int64_t capacity, reserved, sold, available;
} imx_reply_capacity;

/* A reply: `type` is the request's type, or error = 1. Lists point into
** the caller's arrays (encode) or into arrays decode allocated (freed by
** imx_reply_free). */
typedef struct imx_reply {
  imx_msg_type type;
  int error;
  char id[IMX_NAME_BYTES_MAX + 1];
  /* error */
  char code[32];
  char field[96];
  char message[160];
  /* hello, order.list, balance.get */
  char cc[IMX_NAME_BYTES_MAX + 1];
  unsigned roles;                      /* IMX_ROLE_*                    */
  char currency[4];                    /* hello: the market's currency  */
  int decimals;                        /* hello: its decimals, 0..IMX_
                                       ** DECIMALS_MAX: every amount and
                                       ** price of the market is in
                                       ** 10^-decimals of the currency */
  /* order.new, order.cancel, order.modify */
  uint64_t order;
  int status;                          /* IMX_PSTATUS_*: open, filled,
                                       ** cancelled                      */
  int priority_kept;                   /* order.modify                  */
  char reason[32];                     /* error: why, a stable name
                                       ** ("bad_tick"; errors.c); order.new:
                                       ** why the rest was cancelled     */
  int64_t qty;                         /* order.cancel, order.modify    */
  int64_t qty_open, qty_filled;
  imx_reply_trade *trades;             /* order.new, trades.list,
                                       ** statement.get (oldest first)  */
  uint32_t trades_n;
  uint64_t trades_omitted;             /* order.new: fills not listed (the
                                       ** first IMX_FILLS_LISTED_MAX are);
                                       ** page them with trades.list;
                                       ** statement.get: past the first
                                       ** IMX_STATEMENT_TRADES_MAX      */
  imx_reply_order *orders;             /* order.list                    */
  uint32_t orders_n;
  imx_reply_closed *closed;            /* order.history, newest first   */
  uint32_t closed_n;
  char service[IMX_NAME_BYTES_MAX + 1];/* book.get, auction.run         */
  imx_reply_level *bids, *offers;      /* book.get                      */
  uint32_t bids_n, offers_n;
  imx_reply_offer *offer_orders;       /* book.get: offers, with providers */
  uint32_t offer_orders_n;
  imx_reply_service *services;         /* services.list                 */
  uint32_t services_n;
  imx_reply_cc *ccs;                   /* cc.list; cc.get: one row      */
  uint32_t ccs_n;
  char next[IMX_NAME_BYTES_MAX + 1];   /* services.list, cc.list: the id to
                                       ** start the next page at; "" = the
                                       ** list is complete              */
  int64_t budget, reserved, spent, earned, available; /* balance.get;
                                       ** statement.get: budget, the market
                                       ** file's per period             */
  imx_reply_capacity *capacities;
  uint32_t capacities_n;
  uint64_t tender, quote;              /* tender.new, tender.quote,
                                       ** tender.award, tender.cancel,
                                       ** quote.withdraw                */
  imx_reply_tender *tenders;           /* tender.list; tender.get: one,
                                       ** the tender (encode: a pointer
                                       ** to it; decode: allocated)      */
  uint32_t tenders_n;
  char buyer_name[IMX_TEXT_BYTES_MAX + 1]; /* tender.get                */
  char buyer_site[IMX_TEXT_BYTES_MAX + 1];
  imx_reply_quote *quotes;             /* tender.get: every quote to the
                                       ** receiver, its own to a provider */
  uint32_t quotes_n;
  int64_t price_minor;                 /* auction.run: 0 = no price;
                                       ** order.modify: the order's     */
  int64_t volume, surplus;
  int surplus_side;                    /* IMX_PSIDE_*                   */
  int64_t expired;                     /* period.close                  */
  char period[IMX_PERIOD_LABEL_BYTES]; /* statement.get; period.close: the
                                       ** period closed                 */
  char opened[IMX_PERIOD_LABEL_BYTES]; /* period.close: the period opened */
  int is_closed;                       /* statement.get: the period is   */
  int64_t closed_ms;                   /* ... closed, then when (ms)     */
  imx_reply_sum *sums;                 /* statement.get, period.close,
                                       ** period.summary: per service,
                                       ** by service id                 */
  uint32_t sums_n;
  uint64_t sums_omitted;               /* ... not listed (a list has at
                                       ** most IMX_LIST_MAX rows)       */
  char (*over_budget)[IMX_NAME_BYTES_MAX + 1]; /* period.close: cost centres
                                       ** whose open bids hold more than
                                       ** their new budget (the first
                                       ** IMX_LIST_MAX)                 */
  uint32_t over_budget_n;
  uint64_t over_budget_omitted;        /* ... not listed                */
  uint64_t trade;                      /* rating.new, rating.reply      */
  int stars;                           /* rating.new                    */
  imx_reply_rating *ratings;           /* ratings.list, newest first    */
  uint32_t ratings_n;
  int is_open;                         /* period.summary: the period is
                                       ** the open one                  */
  imx_reply_cc_sum *cc_sums;           /* period.summary: a page of cost
                                       ** centres, market-file order; the
                                       ** page's next in `next`         */
  uint32_t cc_sums_n;
} imx_reply;

size_t imx_reply_encode(const imx_reply *r, char *buf, size_t cap);
int imx_reply_decode(const char *buf, size_t len, imx_reply *out,
                     imx_proto_error *err);
void imx_reply_free(imx_reply *r);

/* An error reply in one call: the daemon's most common encode. */
size_t imx_error_encode(const char *id, const char *code, const char *field,
                        const char *message, char *buf, size_t cap);

/* ------------------------------------------------------------- errors */

/* What a rejection's reason (the engine's status name, e.g. "bad_tick",
** or one of the daemon's own such as "not_provider") means on the wire:
** the error code, the request field at fault and a message. One table
** (errors.c) for the daemon, the replay tool and the simulator. */
typedef struct imx_error_info {
  const char *reason;
  const char *code;
  const char *field;   /* "" when no field is at fault */
  const char *message;
} imx_error_info;

/* Fills *out for a reason in a request of type `type` (which names the
** price field: price, ceiling, reference). Returns 0, or -1 for a reason
** not in the table (then code "internal"). */
int imx_error_of(const char *reason, imx_msg_type type, imx_error_info *out);
/* An error reply for a reason: code, field and message from the table,
** unless message is given (a more precise one, e.g. with the budget
** left); `reason` is in the reply. */
size_t imx_error_reason_encode(const char *id, const char *reason,
                               imx_msg_type type, const char *message,
                               char *buf, size_t cap);

/* -------------------------------------------------------- market data */

/* One PUB message is the service id, one space, and the JSON event, so a
** subscriber to "<service> " gets exactly that service.
** The tender events that concern one cost centre go to its own topic,
** "cc:<cost centre id> " (topic_cc names it; empty: the service's topic).
** Market data is not authenticated: what goes to a cost centre's topic
** never shows a quote's price or provider before the award (sealed bids). */
typedef enum imx_md_kind {
  IMX_MD_TRADE = 0, IMX_MD_TOP, IMX_MD_AUCTION,
  IMX_MD_TENDER_OPENED,  /* the service's topic: a new job to quote on  */
  IMX_MD_TENDER_QUOTED,  /* the buyer's: a quote came (not which)       */
  IMX_MD_TENDER_AWARDED, /* the buyer's and the winner's                */
  IMX_MD_TENDER_LAPSED   /* the buyer's: it ended without a trade       */
} imx_md_kind;

/* tender.lapsed's why. */
enum { IMX_LAPSED_NO_AWARD = 0, /* choose: no award by the deadline     */
       IMX_LAPSED_NO_QUOTES     /* lowest: no quote by the deadline     */ };

#define IMX_MD_TOPIC_CC "cc:" /* the prefix of a cost centre's topic */

typedef struct imx_md_event {
  imx_md_kind kind;
  char topic_cc[IMX_NAME_BYTES_MAX + 1]; /* "": the service's topic     */
  char service[IMX_NAME_BYTES_MAX + 1];
  uint64_t trade;              /* trade                                  */
  int64_t qty, price_minor;    /* trade; auction: price (0 = none)       */
  int64_t time_ms;             /* trade                                  */
  int64_t bid, bid_qty, offer, offer_qty; /* top: price 0 = none         */
  int64_t volume, surplus;     /* auction                                */
  int surplus_side;            /* auction: IMX_PSIDE_*                   */
  /* tender events: qty is the tender's; price_minor the ceiling (opened)
  ** or the award's price; trade the award's trade */
  uint64_t tender, quote;      /* quote: awarded                         */
  uint32_t quotes;             /* quoted: standing quotes now            */
  char buyer[IMX_NAME_BYTES_MAX + 1];
  char seller[IMX_NAME_BYTES_MAX + 1]; /* awarded                        */
  int64_t deadline_time_ms;    /* opened                                 */
  int decide;                  /* opened: IMX_PDECIDE_*                  */
  uint32_t price_weight;       /* opened, decide score: the weights      */
  uint32_t quality_weight;
  int has_score;               /* awarded, a `score` tender: the winner's */
  int64_t score;               /* score, 0..IMX_SCORE_SHOWN_MAX          */
  int why;                     /* lapsed: IMX_LAPSED_*                   */
} imx_md_event;

/* Writes the whole PUB message (topic included); 0 if cap is too small. */
size_t imx_md_encode(const imx_md_event *ev, char *buf, size_t cap);
/* Reads a whole PUB message back. */
int imx_md_decode(const char *buf, size_t len, imx_md_event *out,
                  imx_proto_error *err);

/* ---------------------------------------------------------- sha-256 */

/* Tokens are stored as the lower-case hex SHA-256 of the token. */
void imx_sha256_hex(const void *data, size_t len, char hex[65]);
/* Compares without an early exit, so timing does not leak the hash. */
int imx_token_matches(const char *token, const char *hash_hex);

#endif /* IMX_PROTO_H */
