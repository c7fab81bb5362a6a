/*
** core.h -- the server's private interface to its core.
**
**   core.c    the market behind the protocol: executes one decoded,
**             authenticated request against the engine and returns one
**             result; knows nothing of sockets or the ledger
**   server.c  nng sockets, request contexts, authentication, limits, the
**             command queue and the engine thread; it alone journals,
**             settles, commits, then replies and publishes
**   reads.c   requests answered from the ledger on the worker's thread,
**             never by the engine (order.history, ratings.list; reads.h)
**   decided.c the core's ring of tenders that ended, for tender.get
**             (decided.h)
**   imxd.c    the daemon's main: options, signals, logging
**
** The path of one command (README.md, "The path of a request"):
**
**   server: decode, authenticate -> queue -> engine thread, per batch:
**     core_batch_begin
**     core_tick          -> result: journal {"tick":T} if it traded, trades
**     core_execute (each request) -> result: reply, journal entry, trades,
**                           the period it closed
**     server: journal, trades and postings, period close; commit
**     server: replies; then the batch's market data (core_batch_md)
**
** A result's journal entry and trades stay valid until the next
** core_batch_begin; so do the batch's market-data events.
*/
#ifndef IMX_CORE_H
#define IMX_CORE_H

#include <stddef.h>
#include <stdint.h>

#include "imx_engine.h"
#include "imx_proto.h"

typedef struct core_config {
  const imx_market *market;   /* kept; must outlive the core          */
  uint32_t orders_max;        /* open orders in the whole market      */
  uint32_t orders_per_cc_max; /* open orders per cost centre          */
} core_config;

/* A trade to settle: the trade as the protocol shows it, and the period
** its postings belong to. */
typedef struct core_trade {
  imx_reply_trade trade;
  int64_t period;
  int tender;      /* a tender's: buy_order and sell_order are the tender
                   ** and the winning quote, not orders                */
} core_trade;

/* An order that left the market for good in a command: filled, cancelled
** (by its owner, ioc, fok or self-trade prevention) or expired. Strings
** are static (status, side, tif, reason) or the market file's ids. */
typedef struct core_closed {
  uint64_t order;
  const char *cc, *service;
  const char *side, *tif;   /* "bid"/"offer"; "gtc", "period", "ioc", "fok" */
  int aon;
  int64_t price_minor;      /* 0: a market order                        */
  int64_t qty, qty_filled;  /* its last total (filled + open), and filled */
  const char *status;       /* "filled", "cancelled", "expired"          */
  const char *reason;       /* cancelled: "user", "ioc", "fok",
                            ** "self_trade"; NULL otherwise             */
  int64_t period, time_ms;  /* when it closed                           */
} core_closed;

/* A rating a command made (rating.new), or its reply (rating.reply): the
** ledger keeps both (ratings.list, the export). Strings are the market
** file's ids and the request's comment, valid until the next command. */
typedef struct core_rating {
  uint64_t trade;
  const char *service, *provider, *rater; /* the trade's seller, buyer   */
  int stars;                /* 1..5; 0: this is the provider's reply      */
  const char *comment;      /* the rating's ("" when none), or the reply   */
  int64_t time_ms;          /* when it was given: the request's clock     */
} core_rating;

/* What one command did. */
typedef struct core_result {
  size_t reply_len;         /* the reply, in the caller's buffer; 0 for a
                            ** tick                                      */
  int changed;              /* the command changed the market (the engine
                            ** took it, or its clock traded): the server
                            ** journals it. 0: a read, a rejection, a
                            ** repeat: nothing to journal, and nothing a
                            ** restart must remember                    */
  const char *journal;      /* the entry that makes the command durable
                            ** (replayed by core_replay); NULL exactly
                            ** when !changed                            */
  size_t journal_len;
  const char *journal_cc;   /* whose entry: the authenticated cost centre,
                            ** "" for a tick                             */
  const core_trade *trades; /* to settle, in trade id order            */
  uint32_t trades_n;
  const core_closed *closed;/* orders it closed, in the order they closed:
                            ** the ledger keeps them (order.history)    */
  uint32_t closed_n;
  int64_t period_closed;    /* 0, or the period the command closed: the
                            ** ledger freezes it after the trades       */
  const core_rating *rating;/* NULL, or the rating or reply it made     */
} core_result;

typedef struct imx_core imx_core;

/* Builds the engine from the market file: services, budgets, capacities,
** positions and tender slots sized from it. Returns 0, or -1 (out of
** memory, or a market the engine refuses: *why says which). */
int core_open(const core_config *cfg, imx_core **out, const char **why);
void core_close(imx_core *c);

/* Snapshots (server.c keeps them in a file beside the ledger): the
** engine's state and the core's own (period, last trade, clock, the
** trades kept for trades.list, every cost centre's remembered requests).
** write returns the size and writes when it fits (buf NULL, cap 0: the
** size only). read loads one into a core fresh from core_open with the
** same market and limits; 0, or -1 with *why saying what did not fit (the
** core must then be closed). */
size_t core_snapshot_write(const imx_core *c, void *buf, size_t cap);
int core_snapshot_read(imx_core *c, const void *buf, size_t len, const char **why);

/* Starts a batch: the previous batch's results and market data are gone. */
void core_batch_begin(imx_core *c);

/* Advances the clock to now_ms: tenders whose deadline came are awarded.
** The result has no reply; it has a journal entry when the tick traded. */
core_result core_tick(imx_core *c, int64_t now_ms);

/* Runs one request for the authenticated cost centre auth_cc (an index into
** market->ccs) at now_ms (which first ticks the clock) and writes the
** reply into buf (cap: IMX_REPLY_BYTES_MAX). A request that changes the
** market and repeats one the cost centre made (same id, same request) gets
** the first reply and changes nothing: no journal entry; the same id with
** another request is duplicate_id (docs/protocol.md, "Idempotency"). */
core_result core_execute(imx_core *c, const imx_request *rq, uint32_t auth_cc,
                         int64_t now_ms, char *buf, size_t cap);

/* The market data of the batch so far, in the order it happened: publish
** only once the batch is durable. */
const imx_md_event *core_batch_md(const imx_core *c, uint32_t *n);

/* Runs one journal entry again (recovery): a request as journaled, or a
** tick. *out is its result: its trades are in the ledger already, and the
** caller compares them with the ledger's (valid until the next
** core_replay or core_batch_begin). Every request entry is executed (each
** was, once), and remembered for idempotency as when it ran. Returns 0,
** or -1 when the entry cannot be read. */
int core_replay(imx_core *c, int64_t time_ms, const char *cc,
                const char *command, size_t len, core_result *out);
/* The reply of the last core_replay of a request (an error reply when the
** market file of this start refuses what the journal says was taken), and
** its length; "" for a tick. Valid until the next core_replay. */
const char *core_replay_reply(const imx_core *c, size_t *len);

/* Quality: sets a provider's ALL-TIME number of ratings of service s (an
** index into market->services) and the sum of their stars (1..5 each), as
** bids with min_stars compare with them (docs/matching.md, "Quality:
** min_stars"). To be called on the engine thread whenever a rating is
** accepted, also when one is replayed (the engine's snapshot carries the
** reputations, so a replay after a snapshot sets them again to the same
** values). It neither moves nor matches orders, journals nothing and
** emits no market data. IMX_OK; unknown_service, bad_config (sum outside
** ratings..5 x ratings), ratings_full (imx_setup_config sizes the table for
** every capacity of the market file). */
imx_status core_reputation_set(imx_core *c, uint32_t cc, uint32_t s,
                               uint32_t ratings, uint64_t stars_sum);

/* A service's last trade, as services.list shows it (all 0: none yet).
** The core keeps one per service, in market-file order, updated by every
** trade (also on replay), and its snapshot carries them. */
typedef struct core_last {
  uint64_t trade;
  int64_t price_minor, qty, time_ms;
} core_last;

/* The last trade of service s (< services_n). */
core_last core_last_of(const imx_core *c, uint32_t s);

/* A provider's reputation for a service (rating.new's totals), with the
** recent figures as of the core's clock; all 0 when it has no ratings or
** does not provide the service. */
void core_reputation(const imx_core *c, uint32_t cc, uint32_t service,
                     imx_reply_reputation *out);

/* The last trade id the engine gave (0: none yet). */
int64_t core_last_trade(const imx_core *c);

/* "cc" of a request, resolved: the acting cost centre, or -1. */
int64_t core_cc_index(const imx_market *m, const char *cc);

/* Who may read another cost centre's orders, open (order.list) or closed
** (order.history): finance, and admin to diagnose the market. */
#define CORE_ORDER_READERS (IMX_ROLE_FINANCE | IMX_ROLE_ADMIN)
/* Who may read another cost centre's money (balance.get, statement.get):
** finance only; admin runs the market but budgets are finance's. */
#define CORE_BALANCE_READERS IMX_ROLE_FINANCE

/* Who may read the whole market's figures of a period (period.summary),
** every cost centre's budget and spending among them: finance, as for any
** cost centre's balance.get (admin sees no budgets). */
#define CORE_SUMMARY_READERS IMX_ROLE_FINANCE

/*
** period.summary (docs/protocol.md, "Periods and statements") is read in
** two steps: reads.c reads a page of it from the ledger on the worker's
** thread (the period's per-service sums, and the page's cost centres with
** the market file's budget and what they spent and earned), and answers a
** closed period's itself. The open period's goes on to the engine thread
** (core_execute_summary), which adds each row's reserved and available as
** balance.get gives them and answers. Either way core_summary_encode
** writes the reply, so a page is cut the same way.
*/
typedef struct core_summary {
  imx_reply rep;      /* the reply: period, is_open, sums, cc_sums (their
                      ** reserved and available set by the engine), next */
  int64_t period;     /* rep.period's number                            */
  uint32_t *cc_index; /* each cc_sums row's cost centre (market->ccs)     */
} core_summary;

/* Encodes a summary page into buf (cap: IMX_REPLY_BYTES_MAX). Rows that do
** not fit a reply are left to the next page, as services.list's and
** cc.list's (halved until it fits; `next` then names the first row left
** out). Returns the length, 0 when not even one row fits. */
size_t core_summary_encode(imx_reply *rep, char *buf, size_t cap);

/* core_execute for a period.summary of the open period whose ledger part
** reads.c read into s: the same clock, batch and result, and the reply
** with the engine's figures. A period closed since the read is refused
** (period_moved: ask again). */
core_result core_execute_summary(imx_core *c, const imx_request *rq, uint32_t auth_cc,
                                 core_summary *s, int64_t now_ms, char *buf, size_t cap);

/* The cost centre a request acts for: its "cc", or auth_cc when it has
** none; another cost centre's only for the roles in others_role. -1 when
** it may not (unknown_cc, forbidden), with the error reply written into
** buf and its length in *len. Reads only the market: any thread may call
** it (the server answers order.history outside the engine thread). */
int64_t core_acting_cc(const imx_market *m, const imx_request *rq, uint32_t auth_cc,
                       unsigned others_role, char *buf, size_t cap, size_t *len);

#endif /* IMX_CORE_H */
