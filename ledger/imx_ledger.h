/*
** imx_ledger.h -- the whole interface of the ledger: the SQLite file that
** finance trusts (issue 5, first part: schema, batches, verification).
**
** The engine does no I/O; the ledger is the one module of engine/ that does,
** in a library of its own (imx_ledger). Every settlement is double entry:
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

#define IMX_LEDGER_SCHEMA_VERSION 2

typedef struct imx_ledger imx_ledger;

typedef struct imx_ledger_trade {
  int64_t trade_id; /* the engine's, > 0, unique */
  int64_t period;   /* >= 1 */
  int64_t time_ms;
  const char *service;
  const char *buyer;  /* cost centre ids: the accounts */
  const char *seller;
  int64_t qty;        /* 1..1e9 */
  int64_t price_minor;/* 1..1e9 */
} imx_ledger_trade;

/* Opens (creating or migrating) a ledger. sync_full: 1 = synchronous=FULL
** (nothing acknowledged is lost on power loss), 0 = NORMAL (faster; the last
** commits can be lost). On failure returns -1 and says why in err; *out
** must still be passed to imx_ledger_close. */
int imx_ledger_open(const char *path, int sync_full, imx_ledger **out,
                    char *err, size_t errcap);
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
const char *imx_ledger_error(const imx_ledger *l);

/* Checks the whole ledger: the file's integrity, the schema version, every
** trade's amount = qty x price, two postings per trade that sum to zero and
** match the trade (buyer +amount, seller -amount), the total zero. Returns
** 0, or -1 with the name of the first failed check and details in failed. */
int imx_ledger_verify(imx_ledger *l, char *failed, size_t cap);

/* Calls fn for every journal entry in sequence order; stops early when fn
** returns non-zero (and returns that). -1 on a database error. */
typedef int (*imx_ledger_journal_fn)(void *ctx, int64_t seq, int64_t time_ms,
                                     const char *cc, const char *command,
                                     size_t len);
int imx_ledger_journal_each(imx_ledger *l, imx_ledger_journal_fn fn, void *ctx);
/* The highest journal sequence number and trade id written (0 if none). */
int imx_ledger_last(imx_ledger *l, int64_t *seq, int64_t *trade_id);

/* Calls fn for every trade of a period (0: every period) in trade order;
** the strings are valid during the call only. Stops early as journal_each. */
typedef int (*imx_ledger_trade_fn)(void *ctx, const imx_ledger_trade *t);
int imx_ledger_trades_each(imx_ledger *l, int64_t period, imx_ledger_trade_fn fn,
                           void *ctx);

/* Closes a period: records it, writes one summary row per cost centre
** that traded in it (spent, earned, units bought and sold), and freezes its
** postings (triggers refuse any later change). Inside a batch. */
int imx_ledger_close_period(imx_ledger *l, int64_t period, int64_t time_ms);

/* The SQL of one schema migration (1..IMX_LEDGER_SCHEMA_VERSION), or NULL:
** for tools that need the ledger's tables without the ledger (a benchmark's
** raw-SQLite baseline). */
const char *imx_ledger_migration_sql(int version);

/* The balance of one account (sum of its postings): + spent, - earned. */
int imx_ledger_balance(imx_ledger *l, const char *account, int64_t *out);

/* ------------------------------------------------------------- export */

enum { IMX_EXPORT_CSV, IMX_EXPORT_SAP, IMX_EXPORT_HLEDGER, IMX_EXPORT_BEANCOUNT };

/* Writes the settlements of a period (0: all) in a format; the market file
** gives units and currencies. Returns 0, and the number of rows. */
int imx_export(imx_ledger *l, const imx_market *m, int64_t period, int format,
               FILE *out, int64_t *rows);

#endif /* IMX_LEDGER_H */
