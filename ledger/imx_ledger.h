/*
** imx_ledger.h -- the whole interface of the ledger: the SQLite file that
** finance trusts (schema, batches, period close, verification, exports).
**
** ledger/ is a library of its own (imx_ledger) that knows nothing of the
** engine or the network: imxd's server writes to it, the imx CLI reads it
** offline, and the market file (proto) gives exports their units and
** currencies. Every settlement is double entry:
** a trade of qty x price debits the buyer's account and credits the seller's
** by the same amount (+amount and -amount), so the postings of every trade,
** and of the whole ledger, sum to zero. Writing a trade twice is impossible:
** trade ids and (trade, account) are unique keys.
**
** Amounts are SQLite INTEGERs (int64 minor units): no floating point.
** Writes happen in batches: begin, any number of journal entries and
** trades, commit (one transaction, WAL, synchronous=FULL by default).
*/
#ifndef IMX_LEDGER_H
#define IMX_LEDGER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "imx_proto.h" /* the market file: units and currencies of exports */

#define IMX_LEDGER_SCHEMA_VERSION 6

typedef struct imx_ledger imx_ledger;

typedef struct imx_ledger_trade {
  int64_t trade_id; /* the engine's, > 0, unique */
  int64_t period;   /* >= 1 */
  int64_t time_ms;
  const char *service;
  const char *buyer;  /* cost centre ids: the accounts */
  const char *seller;
  int64_t qty;        /* 1..IMX_QTY_MAX */
  int64_t price_minor;/* 1..IMX_PRICE_MAX_MINOR; ids <= IMX_NAME_BYTES_MAX */
  int64_t buy_order;  /* the engine's order ids of both sides; 0: none (a */
  int64_t sell_order; /* tender's trade, or a trade from before schema 4) */
} imx_ledger_trade;

/* An order that closed (schema 4): filled, cancelled or expired. Written
** in the batch of the command that closed it; the history of a cost
** centre's orders (order.history). Strings are the protocol's words. */
typedef struct imx_ledger_order {
  int64_t order_id;   /* the engine's, > 0, unique                       */
  const char *cc, *service;
  const char *side;   /* "bid", "offer"                                   */
  const char *tif;    /* "gtc", "period", "ioc", "fok"                    */
  int aon;
  int64_t price_minor;/* 0: a market order                                */
  int64_t qty;        /* its last total quantity (filled + open)          */
  int64_t qty_filled;
  const char *status; /* "filled", "cancelled", "expired"                */
  const char *reason; /* cancelled: "user", "ioc", "fok", "self_trade";
                      ** NULL otherwise                                   */
  int64_t period, closed_ms;
} imx_ledger_order;

/* A rating of a trade by its buyer (schema 5), with the provider's reply
** once given (reply NULL, reply_ms 0 until then). */
typedef struct imx_ledger_rating {
  int64_t trade_id;
  const char *service, *provider, *rater; /* the trade's seller and buyer */
  int stars;                              /* 1..5                         */
  const char *comment;                    /* "" when none                 */
  int64_t time_ms;
  const char *reply;
  int64_t reply_ms;
} imx_ledger_rating;

/* A fill of a closed order, as its owner sees it. */
typedef struct imx_ledger_fill {
  int64_t trade_id, qty, price_minor, time_ms;
  const char *counterparty;
} imx_ledger_fill;

/* The one writer's SQLite page cache, in KiB (SQLite's default is 2 MiB):
** ledger.c says why. The benchmark's raw SQLite baseline uses it too. */
#define IMX_LEDGER_WRITER_CACHE_KIB 262144

/* Opens (creating or migrating) a ledger. sync_full: 1 = synchronous=FULL
** (nothing acknowledged is lost on power loss), 0 = NORMAL (faster; the last
** commits can be lost). The one writer: it holds an exclusive lock on the
** file PATH-lock (with its pid in it) until imx_ledger_close, and a second
** open for writing, from any process, fails and names that file. On
** failure returns -1 and says why in err; *out must still be passed to
** imx_ledger_close. */
int imx_ledger_open(const char *path, int sync_full, imx_ledger **out,
                    char *err, size_t errcap);
/* Opens an existing ledger read-only, for verify and exports: creates
** nothing and changes nothing (no migration: schema versions 2 and 3 are
** read as they are). A path that does not exist, a file that is not an imx
** ledger, and a schema that is too old or too new fail as imx_ledger_open
** does (err without the path: the caller names it). Writes fail. It takes
** no lock, so it reads a ledger that imxd is writing (WAL), and waits up to
** 5 s for a lock SQLite itself holds against readers. */
int imx_ledger_open_existing(const char *path, imx_ledger **out, char *err,
                             size_t errcap);
void imx_ledger_close(imx_ledger *l);

/* A batch. Every call returns 0, or -1 with imx_ledger_error() set; after a
** failure inside a batch, roll it back. */
int imx_ledger_begin(imx_ledger *l);
int imx_ledger_commit(imx_ledger *l);
int imx_ledger_rollback(imx_ledger *l);
int imx_ledger_journal(imx_ledger *l, int64_t seq, int64_t time_ms,
                       const char *cc, const char *command, size_t len);
/* The trade and its two postings. A trade id already written fails. */
int imx_ledger_put_trade(imx_ledger *l, const imx_ledger_trade *t);
/* A closed order. An order id already written fails. */
int imx_ledger_put_order(imx_ledger *l, const imx_ledger_order *o);
/* A rating (reply and reply_ms are ignored). A trade rated already fails. */
int imx_ledger_put_rating(imx_ledger *l, const imx_ledger_rating *r);
/* The provider's reply to the rating of a trade. Fails when the trade has
** no rating or its rating has a reply. */
int imx_ledger_put_reply(imx_ledger *l, int64_t trade_id, const char *reply,
                         int64_t time_ms);
const char *imx_ledger_error(const imx_ledger *l);

/* Checks the whole ledger: the file's integrity, the schema version, every
** trade's amount = qty x price, two postings per trade that sum to zero and
** match the trade (buyer +amount, seller -amount), the total zero, every
** closed period's summaries equal to its trades, and (schema 4) every closed
** order on its trades' side, for its cost centre and service, and filled at
** least what its trades add up to, and (schema 5) every rating of a trade
** of the ledger, by its buyer, of its seller and service. Returns 0, or -1 with the
** name of the first failed check and details in failed (for the file's
** integrity, the first rows of SQLite's PRAGMA integrity_check). */
int imx_ledger_verify(imx_ledger *l, char *failed, size_t cap);
/* The checks of imx_ledger_verify but the file's integrity, over the trades
** with an id above `after` and their postings and periods only (0: all):
** what a start from a snapshot must check before it serves, in time that
** grows with the trades since the snapshot, not with the ledger. */
int imx_ledger_verify_after(imx_ledger *l, int64_t after, char *failed, size_t cap);

/* A read transaction: the reads between see the ledger as it was at the
** first of them, however much a writer adds meanwhile (WAL). For checks
** that compare two reads (the journal and the trades) on a live ledger. */
int imx_ledger_read_begin(imx_ledger *l);
void imx_ledger_read_end(imx_ledger *l);

/* Makes the query running on l (in another thread: a long verify) stop
** soon with an error; safe from any thread while l is open. */
void imx_ledger_interrupt(imx_ledger *l);

/* Calls fn for every journal entry in sequence order; stops early when fn
** returns non-zero (and returns that). -1 on a database error. */
typedef int (*imx_ledger_journal_fn)(void *ctx, int64_t seq, int64_t time_ms,
                                     const char *cc, const char *command,
                                     size_t len);
int imx_ledger_journal_each(imx_ledger *l, imx_ledger_journal_fn fn, void *ctx);
/* The same from sequence number `first` on (a restart from a snapshot). */
int imx_ledger_journal_from(imx_ledger *l, int64_t first, imx_ledger_journal_fn fn,
                            void *ctx);
/* The highest journal sequence number and trade id written (0 if none). */
int imx_ledger_last(imx_ledger *l, int64_t *seq, int64_t *trade_id);

/* Calls fn for every trade of a period (0: every period) in trade order;
** the strings are valid during the call only. Stops early as journal_each. */
typedef int (*imx_ledger_trade_fn)(void *ctx, const imx_ledger_trade *t);
int imx_ledger_trades_each(imx_ledger *l, int64_t period, imx_ledger_trade_fn fn,
                           void *ctx);

/* The same one trade at a time, beside other reads of the same ledger
** (recovery compares them with the trades the replayed journal makes).
** next returns 1 with *t set (its strings valid until the next call), 0
** after the last trade, -1 on a database error (imx_ledger_error). */
typedef struct imx_ledger_cursor imx_ledger_cursor;
int imx_ledger_trades_open(imx_ledger *l, int64_t period, imx_ledger_cursor **out);
/* Only the trades with an id above `after`. */
int imx_ledger_trades_open_after(imx_ledger *l, int64_t period, int64_t after,
                                 imx_ledger_cursor **out);
int imx_ledger_trades_next(imx_ledger_cursor *c, imx_ledger_trade *t);
void imx_ledger_trades_close(imx_ledger_cursor *c);

/* Closes a period: records it, writes one summary row per cost centre
** that traded in it (spent, earned, units bought and sold), and freezes it:
** put_trade refuses its trades from then on, triggers refuse any change to
** its trades and postings. Inside a batch. */
int imx_ledger_close_period(imx_ledger *l, int64_t period, int64_t time_ms);

/* ---------------------------------------------------------- reads */

/* A page of closed orders and their fills is read in one read transaction
** (imx_ledger_read_begin, above), on a connection of
** imx_ledger_open_existing beside a live imxd. */

/* A cost centre's closed orders, the most recently closed first: up to
** limit of them, after the closed order before_order (0: from the newest)
** in that order. fn is called for each (its strings valid during the call;
** non-zero stops). Returns 0; 1 when before_order is not a closed order of
** cc; -1 on a database error. Schema 4 (a ledger that imxd opened). */
typedef int (*imx_ledger_order_fn)(void *ctx, const imx_ledger_order *o);
int imx_ledger_orders_closed(imx_ledger *l, const char *cc, int64_t before_order,
                             uint32_t limit, imx_ledger_order_fn fn, void *ctx);
/* The fills of one order, oldest first, up to limit; *total gets how many
** it has in all. Returns 0 or -1. */
typedef int (*imx_ledger_fill_fn)(void *ctx, const imx_ledger_fill *f);
int imx_ledger_order_fills(imx_ledger *l, int64_t order_id, uint32_t limit,
                           imx_ledger_fill_fn fn, void *ctx, int64_t *total);

/* Statements (statement.get), read the same way. */

/* Whether a period is closed: 1 (and *closed_ms when not NULL), 0 when
** not, -1 on a database error. */
int imx_ledger_period_closed(imx_ledger *l, int64_t period, int64_t *closed_ms);
/* The last closed period, 0 when none was closed: the open period is the
** next one. Returns 0 or -1. */
int imx_ledger_last_closed(imx_ledger *l, int64_t *period);

/* What a cost centre bought and sold of one service in one period, summed
** from the period's trades (the same trades the period's summaries are
** made of, imx_ledger_close_period). */
typedef struct imx_ledger_service_sum {
  const char *service;
  int64_t trades;                 /* trades the cost centre was a side of */
  int64_t bought, spent_minor;    /* units bought and their amount        */
  int64_t sold, earned_minor;     /* units sold and their amount          */
} imx_ledger_service_sum;
typedef int (*imx_ledger_sum_fn)(void *ctx, const imx_ledger_service_sum *s);
/* Calls fn per service cc traded in the period, by service id. cc NULL:
** every cost centre's trades (a period's summary: each trade counted once,
** bought = sold, spent = earned). Returns 0 or -1 (or fn's non-zero). */
int imx_ledger_service_sums(imx_ledger *l, const char *cc, int64_t period,
                            imx_ledger_sum_fn fn, void *ctx);
/* What each cost centre that traded in a period bought and sold there
** (period.summary), summed from its trades as a closed period's summaries
** are (the same query), in no particular order. */
typedef struct imx_ledger_cc_sum {
  const char *cc;
  int64_t spent_minor, earned_minor; /* its amounts bought and sold   */
  int64_t bought, sold;              /* and their units               */
} imx_ledger_cc_sum;
typedef int (*imx_ledger_cc_sum_fn)(void *ctx, const imx_ledger_cc_sum *s);
/* Calls fn per cost centre that traded in the period. Returns 0 or -1 (or
** fn's non-zero). */
int imx_ledger_cc_sums(imx_ledger *l, int64_t period, imx_ledger_cc_sum_fn fn, void *ctx);
/* A cost centre's trades in a period, oldest first, up to limit; *total
** gets how many it has in all. Returns 0 or -1. */
int imx_ledger_cc_trades(imx_ledger *l, const char *cc, int64_t period, uint32_t limit,
                         imx_ledger_trade_fn fn, void *ctx, int64_t *total);
/* Ratings, newest rated trade first: up to limit of them with a trade id
** below before_trade (0: from the newest), where cc (NULL: anyone) is the
** provider or the rater, and of service (NULL: any). fn is called for
** each (strings valid during the call; non-zero stops). Returns 0 or -1.
** Schema 5. */
typedef int (*imx_ledger_rating_fn)(void *ctx, const imx_ledger_rating *r);
int imx_ledger_ratings(imx_ledger *l, const char *cc, const char *service,
                       int64_t before_trade, uint32_t limit, imx_ledger_rating_fn fn,
                       void *ctx);

/* The SQL of one schema migration (1..IMX_LEDGER_SCHEMA_VERSION), or NULL:
** for tools that need the ledger's tables without the ledger (a benchmark's
** raw-SQLite baseline). */
const char *imx_ledger_migration_sql(int version);

/* The balance of one account (sum of its postings): + spent, - earned. */
int imx_ledger_balance(imx_ledger *l, const char *account, int64_t *out);

/* ------------------------------------------------------------- export */

/* IMX_EXPORT_RATINGS: not settlements but every rating (schema 5), as CSV
** with headers, oldest trade first: trade, service, provider, rater,
** stars, comment, rated, reply, replied (times in UTC, ISO 8601); the
** period must be 0 (a rating belongs to no period). */
enum { IMX_EXPORT_CSV, IMX_EXPORT_SAP, IMX_EXPORT_HLEDGER, IMX_EXPORT_BEANCOUNT,
       IMX_EXPORT_RATINGS };
/* OR'd into IMX_EXPORT_SAP: amounts with a decimal comma (German SAP
** installations). Any other format with it fails. */
#define IMX_EXPORT_COMMA 0x100

/* Writes the settlements of a period (0: all) in a format; the market file
** gives units and currencies. Returns 0, and the number of rows; or -1 with
** imx_ledger_error() set (out may then hold part of the export; what can be
** refused is refused before the first byte, see below).
**
** Ids may hold any printable character (proto/market.c), so each format
** escapes them its own way:
**   csv        RFC 4180: a field holding a comma, quote, semicolon or space
**              is quoted, quotes inside doubled.
**   ratings    the csv rules; a comment or reply (text people typed) is also
**              quoted when it holds a tab, CR or LF, and one that begins
**              with '=', '+', '-', '@', a tab or a CR gets an apostrophe
**              before it, so that a spreadsheet shows it as text instead of
**              running it as a formula ("=1+2" is written '=1+2).
**   sap        no ids at all: the market file's SAP mapping (erp_cc,
**              activity_type, uom, "erp"), whose keys the market loader
**              refuses with ';', '"' or a space; in texts ';' becomes ','
**              and '"' '\''. The format, and what fails it (a missing
**              mapping, an open period, numbered periods), is in
**              export_sap.c and README "Finance".
**   hledger,   the cost centre becomes an account name component: every
**   beancount  byte outside A-Z a-z 0-9 '-' is written as '-' and its two
**              upper-case hex digits ("CC 1;2" -> "CC-201-3B2"), and a first
**              character other than A-Z 0-9 gets an 'X' put before it
**              ("cc-1" -> "Xcc-1"); the same in both formats. Two cost
**              centres of the market that map to one name fail the export.
**              Descriptions: hledger's write ';' (its comment sign) as ',';
**              beancount's strings escape '"' and '\' with a backslash. */
int imx_export(imx_ledger *l, const imx_market *m, int64_t period, int format,
               FILE *out, int64_t *rows);
/* A cost centre's statement of a period (>= 1): the csv format's rows of
** the trades it bought or sold in it (web.c's GET /api/statement.csv). */
int imx_export_statement(imx_ledger *l, const imx_market *m, int64_t period,
                         const char *cc, FILE *out, int64_t *rows);
/* The same into a file: written under a temporary name beside path and
** renamed over it only when complete, so a failed export leaves neither a
** partial nor an empty file (nor changes one already at path). */
int imx_export_file(imx_ledger *l, const imx_market *m, int64_t period, int format,
                    const char *path, int64_t *rows);

#endif /* IMX_LEDGER_H */
