/*
** ledger.c -- the double-entry ledger in SQLite.
**
** Tables (schema version 1, PRAGMA user_version):
**   journal(seq, time_ms, cc, command)       every accepted command, in order
**   trades(trade_id, period, time_ms, service, buyer, seller, qty,
**          price_minor, amount_minor)        amount = qty x price (CHECK)
**   postings(trade_id, account, period, amount_minor)
**                                            PRIMARY KEY (trade_id, account)
** Migrations run in order inside one transaction; a file from a newer imx is
** refused rather than guessed at.
*/
#include <assert.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imx_ledger.h"

struct imx_ledger {
  sqlite3 *db;
  sqlite3_stmt *put_journal, *put_trade, *put_posting;
  char error[256];
};

static const char *const MIGRATIONS[] = {
    /* 1 */
    "CREATE TABLE journal(seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    " cc TEXT NOT NULL, command TEXT NOT NULL);"
    "CREATE TABLE trades(trade_id INTEGER PRIMARY KEY CHECK(trade_id > 0),"
    " period INTEGER NOT NULL CHECK(period >= 1), time_ms INTEGER NOT NULL,"
    " service TEXT NOT NULL, buyer TEXT NOT NULL, seller TEXT NOT NULL,"
    " qty INTEGER NOT NULL CHECK(qty > 0),"
    " price_minor INTEGER NOT NULL CHECK(price_minor > 0),"
    " amount_minor INTEGER NOT NULL CHECK(amount_minor = qty * price_minor),"
    " CHECK(buyer <> seller));"
    "CREATE TABLE postings(trade_id INTEGER NOT NULL REFERENCES trades,"
    " account TEXT NOT NULL, period INTEGER NOT NULL,"
    " amount_minor INTEGER NOT NULL, PRIMARY KEY(trade_id, account));"
    "CREATE INDEX postings_account ON postings(account, period);",
    /* 2: periods close; their summaries; closed periods are frozen */
    "CREATE TABLE periods(period INTEGER PRIMARY KEY, closed_ms INTEGER NOT NULL);"
    "CREATE TABLE period_summaries(period INTEGER NOT NULL REFERENCES periods,"
    " cc TEXT NOT NULL, spent_minor INTEGER NOT NULL, earned_minor INTEGER NOT NULL,"
    " units_bought INTEGER NOT NULL, units_sold INTEGER NOT NULL,"
    " PRIMARY KEY(period, cc));"
    "CREATE TRIGGER postings_frozen_insert BEFORE INSERT ON postings"
    " WHEN EXISTS(SELECT 1 FROM periods WHERE period = NEW.period)"
    " BEGIN SELECT RAISE(ABORT, 'the period is closed'); END;"
    "CREATE TRIGGER postings_frozen_update BEFORE UPDATE ON postings"
    " WHEN EXISTS(SELECT 1 FROM periods WHERE period = OLD.period)"
    " BEGIN SELECT RAISE(ABORT, 'the period is closed'); END;"
    "CREATE TRIGGER postings_frozen_delete BEFORE DELETE ON postings"
    " WHEN EXISTS(SELECT 1 FROM periods WHERE period = OLD.period)"
    " BEGIN SELECT RAISE(ABORT, 'the period is closed'); END;",
};
#define MIGRATIONS_N (sizeof MIGRATIONS / sizeof MIGRATIONS[0])

static int fail(imx_ledger *l, const char *what) {
  snprintf(l->error, sizeof l->error, "%s: %s", what,
           l->db ? sqlite3_errmsg(l->db) : "no database");
  return -1;
}

const char *imx_ledger_error(const imx_ledger *l) { return l->error; }

static int exec(imx_ledger *l, const char *sql) {
  return sqlite3_exec(l->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : fail(l, sql);
}

static int64_t pragma_int(imx_ledger *l, const char *sql, int *ok) {
  sqlite3_stmt *st;
  int64_t v = 0;
  *ok = sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW;
  if (*ok) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

static int migrate(imx_ledger *l) {
  int ok;
  int64_t version = pragma_int(l, "PRAGMA user_version", &ok);
  if (!ok) return fail(l, "reading the schema version (not a ledger?)");
  if (version > (int64_t)MIGRATIONS_N) {
    snprintf(l->error, sizeof l->error,
             "schema version %lld is newer than this imx (%d)",
             (long long)version, (int)MIGRATIONS_N);
    return -1;
  }
  if (version == (int64_t)MIGRATIONS_N) return 0;
  if (exec(l, "BEGIN IMMEDIATE")) return -1;
  for (size_t v = (size_t)version; v < MIGRATIONS_N; v++) {
    char set[64];
    snprintf(set, sizeof set, "PRAGMA user_version=%zu", v + 1);
    if (exec(l, MIGRATIONS[v]) || exec(l, set)) {
      sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
      return -1;
    }
  }
  return exec(l, "COMMIT");
}

int imx_ledger_open(const char *path, int sync_full, imx_ledger **out,
                    char *err, size_t errcap) {
  imx_ledger *l = calloc(1, sizeof *l);
  *out = l;
  if (l == NULL) {
    snprintf(err, errcap, "out of memory");
    return -1;
  }
  int rc = -1;
  if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      NULL) != SQLITE_OK)
    fail(l, path);
  else if (exec(l, "PRAGMA journal_mode=WAL") ||
           exec(l, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") ||
           exec(l, "PRAGMA foreign_keys=ON") || migrate(l))
    ;
  else if (sqlite3_prepare_v2(l->db, "INSERT INTO journal VALUES(?,?,?,?)", -1,
                              &l->put_journal, NULL) != SQLITE_OK ||
           sqlite3_prepare_v2(l->db, "INSERT INTO trades VALUES(?,?,?,?,?,?,?,?,?)",
                              -1, &l->put_trade, NULL) != SQLITE_OK ||
           sqlite3_prepare_v2(l->db, "INSERT INTO postings VALUES(?,?,?,?)", -1,
                              &l->put_posting, NULL) != SQLITE_OK)
    fail(l, "preparing statements");
  else
    rc = 0;
  if (rc) snprintf(err, errcap, "%s", l->error);
  return rc;
}

void imx_ledger_close(imx_ledger *l) {
  if (l == NULL) return;
  sqlite3_finalize(l->put_journal);
  sqlite3_finalize(l->put_trade);
  sqlite3_finalize(l->put_posting);
  sqlite3_close(l->db);
  free(l);
}

int imx_ledger_begin(imx_ledger *l) { return exec(l, "BEGIN IMMEDIATE"); }
int imx_ledger_commit(imx_ledger *l) { return exec(l, "COMMIT"); }
int imx_ledger_rollback(imx_ledger *l) { return exec(l, "ROLLBACK"); }

/* Steps a prepared insert and resets it for the next use. */
static int step(imx_ledger *l, sqlite3_stmt *st, const char *what) {
  int rc = sqlite3_step(st);
  int ok = rc == SQLITE_DONE;
  if (!ok) fail(l, what);
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return ok ? 0 : -1;
}

int imx_ledger_journal(imx_ledger *l, int64_t seq, int64_t time_ms,
                       const char *cc, const char *command, size_t len) {
  sqlite3_stmt *st = l->put_journal;
  sqlite3_bind_int64(st, 1, seq);
  sqlite3_bind_int64(st, 2, time_ms);
  sqlite3_bind_text(st, 3, cc, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, command, (int)len, SQLITE_STATIC);
  return step(l, st, "journal");
}

static int posting(imx_ledger *l, const imx_ledger_trade *t, const char *account,
                   int64_t amount_minor) {
  sqlite3_stmt *st = l->put_posting;
  sqlite3_bind_int64(st, 1, t->trade_id);
  sqlite3_bind_text(st, 2, account, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, t->period);
  sqlite3_bind_int64(st, 4, amount_minor);
  return step(l, st, "posting");
}

int imx_ledger_put_trade(imx_ledger *l, const imx_ledger_trade *t) {
  if (t->qty < 1 || t->qty > 1000000000 || t->price_minor < 1 ||
      t->price_minor > 1000000000) {
    snprintf(l->error, sizeof l->error, "trade %lld: qty or price out of range",
             (long long)t->trade_id);
    return -1;
  }
  int64_t amount = t->qty * t->price_minor; /* <= 1e18: no overflow */
  sqlite3_stmt *st = l->put_trade;
  sqlite3_bind_int64(st, 1, t->trade_id);
  sqlite3_bind_int64(st, 2, t->period);
  sqlite3_bind_int64(st, 3, t->time_ms);
  sqlite3_bind_text(st, 4, t->service, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, t->buyer, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 6, t->seller, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 7, t->qty);
  sqlite3_bind_int64(st, 8, t->price_minor);
  sqlite3_bind_int64(st, 9, amount);
  if (step(l, st, "trade")) return -1;
  return posting(l, t, t->buyer, amount) || posting(l, t, t->seller, -amount) ? -1 : 0;
}

/* ---------------------------------------------------------------- verify */

/* A query that must find no row; the first row found is the detail. */
typedef struct check {
  const char *name;
  const char *sql;
} check;

static const check CHECKS[] = {
    {"amount_is_qty_times_price",
     "SELECT trade_id FROM trades WHERE amount_minor <> qty * price_minor LIMIT 1"},
    {"two_postings_per_trade",
     "SELECT t.trade_id FROM trades t LEFT JOIN postings p USING(trade_id)"
     " GROUP BY t.trade_id HAVING count(p.account) <> 2 LIMIT 1"},
    {"trade_balanced",
     "SELECT trade_id FROM postings GROUP BY trade_id"
     " HAVING sum(amount_minor) <> 0 LIMIT 1"},
    {"postings_match_trade",
     "SELECT p.trade_id FROM postings p JOIN trades t USING(trade_id)"
     " WHERE NOT ((p.account = t.buyer AND p.amount_minor = t.amount_minor)"
     " OR (p.account = t.seller AND p.amount_minor = -t.amount_minor)"
     " ) OR p.period <> t.period LIMIT 1"},
    {"posting_without_trade",
     "SELECT p.trade_id FROM postings p LEFT JOIN trades t USING(trade_id)"
     " WHERE t.trade_id IS NULL LIMIT 1"},
    {"ledger_total_zero",
     "SELECT total(amount_minor) FROM postings HAVING sum(amount_minor) <> 0"},
};

static int run_check(imx_ledger *l, const check *c, char *failed, size_t cap) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(l->db, c->sql, -1, &st, NULL) != SQLITE_OK) {
    snprintf(failed, cap, "%s: %s", c->name, sqlite3_errmsg(l->db));
    return -1;
  }
  int rc = sqlite3_step(st), bad = 0;
  if (rc == SQLITE_ROW) {
    snprintf(failed, cap, "%s (first offender: %s)", c->name,
             (const char *)sqlite3_column_text(st, 0));
    bad = 1;
  } else if (rc != SQLITE_DONE) {
    snprintf(failed, cap, "%s: %s", c->name, sqlite3_errmsg(l->db));
    bad = 1;
  }
  sqlite3_finalize(st);
  return bad ? -1 : 0;
}

int imx_ledger_verify(imx_ledger *l, char *failed, size_t cap) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(l->db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW ||
      strcmp((const char *)sqlite3_column_text(st, 0), "ok") != 0) {
    snprintf(failed, cap, "integrity: %s", sqlite3_errmsg(l->db));
    sqlite3_finalize(st);
    return -1;
  }
  sqlite3_finalize(st);
  int ok;
  if (pragma_int(l, "PRAGMA user_version", &ok) != IMX_LEDGER_SCHEMA_VERSION || !ok) {
    snprintf(failed, cap, "schema_version: not %d", IMX_LEDGER_SCHEMA_VERSION);
    return -1;
  }
  for (size_t i = 0; i < sizeof CHECKS / sizeof CHECKS[0]; i++)
    if (run_check(l, &CHECKS[i], failed, cap)) return -1;
  return 0;
}

int imx_ledger_balance(imx_ledger *l, const char *account, int64_t *out) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(l->db,
                         "SELECT coalesce(sum(amount_minor), 0) FROM postings"
                         " WHERE account = ?", -1, &st, NULL) != SQLITE_OK)
    return fail(l, "balance");
  sqlite3_bind_text(st, 1, account, -1, SQLITE_STATIC);
  int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : fail(l, "balance");
  if (rc == 0) *out = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return rc;
}

int imx_ledger_journal_each(imx_ledger *l, imx_ledger_journal_fn fn, void *ctx) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(l->db, "SELECT seq, time_ms, cc, command FROM journal"
                         " ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
    return fail(l, "reading the journal");
  int rc = 0, step_rc;
  while (rc == 0 && (step_rc = sqlite3_step(st)) == SQLITE_ROW)
    rc = fn(ctx, sqlite3_column_int64(st, 0), sqlite3_column_int64(st, 1),
            (const char *)sqlite3_column_text(st, 2),
            (const char *)sqlite3_column_text(st, 3),
            (size_t)sqlite3_column_bytes(st, 3));
  if (rc == 0 && step_rc != SQLITE_DONE) rc = fail(l, "reading the journal");
  sqlite3_finalize(st);
  return rc;
}

int imx_ledger_last(imx_ledger *l, int64_t *seq, int64_t *trade_id) {
  int ok1, ok2;
  *seq = pragma_int(l, "SELECT coalesce(max(seq), 0) FROM journal", &ok1);
  *trade_id = pragma_int(l, "SELECT coalesce(max(trade_id), 0) FROM trades", &ok2);
  return ok1 && ok2 ? 0 : fail(l, "reading the last ids");
}

int imx_ledger_trades_each(imx_ledger *l, int64_t period, imx_ledger_trade_fn fn,
                           void *ctx) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(l->db,
                         "SELECT trade_id, period, time_ms, service, buyer, seller,"
                         " qty, price_minor FROM trades WHERE ?1 = 0 OR period = ?1"
                         " ORDER BY trade_id", -1, &st, NULL) != SQLITE_OK)
    return fail(l, "reading trades");
  sqlite3_bind_int64(st, 1, period);
  int rc = 0, step_rc;
  while (rc == 0 && (step_rc = sqlite3_step(st)) == SQLITE_ROW) {
    imx_ledger_trade t = {
        .trade_id = sqlite3_column_int64(st, 0), .period = sqlite3_column_int64(st, 1),
        .time_ms = sqlite3_column_int64(st, 2),
        .service = (const char *)sqlite3_column_text(st, 3),
        .buyer = (const char *)sqlite3_column_text(st, 4),
        .seller = (const char *)sqlite3_column_text(st, 5),
        .qty = sqlite3_column_int64(st, 6), .price_minor = sqlite3_column_int64(st, 7)};
    rc = fn(ctx, &t);
  }
  if (rc == 0 && step_rc != SQLITE_DONE) rc = fail(l, "reading trades");
  sqlite3_finalize(st);
  return rc;
}

int imx_ledger_close_period(imx_ledger *l, int64_t period, int64_t time_ms) {
  sqlite3_stmt *st;
  static const char *const sql[] = {
      "INSERT INTO periods VALUES(?1, ?2)",
      "INSERT INTO period_summaries SELECT ?1, cc, sum(spent), sum(earned),"
      " sum(bought), sum(sold) FROM ("
      " SELECT buyer AS cc, amount_minor AS spent, 0 AS earned, qty AS bought,"
      " 0 AS sold FROM trades WHERE period = ?1 UNION ALL"
      " SELECT seller, 0, amount_minor, 0, qty FROM trades WHERE period = ?1)"
      " GROUP BY cc"};
  for (size_t i = 0; i < 2; i++) {
    if (sqlite3_prepare_v2(l->db, sql[i], -1, &st, NULL) != SQLITE_OK)
      return fail(l, "closing the period");
    sqlite3_bind_int64(st, 1, period);
    if (i == 0) sqlite3_bind_int64(st, 2, time_ms);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE) return fail(l, "closing the period");
  }
  return 0;
}

const char *imx_ledger_migration_sql(int version) {
  return version >= 1 && (size_t)version <= MIGRATIONS_N ? MIGRATIONS[version - 1] : NULL;
}
