/*
** ledger.c -- the double-entry ledger in SQLite.
**
** Tables (schema version 6, PRAGMA user_version):
**   journal(seq, time_ms, cc, command)       every accepted command, in order
**   trades(trade_id, period, time_ms, service, buyer, seller, qty,
**          price_minor, amount_minor,        amount = qty x price (CHECK)
**          buy_order, sell_order)            the orders (4; NULL before 4 and
**                                            for a tender's trade), indexed
**   postings(trade_id, account, period, amount_minor)
**                                            PRIMARY KEY (trade_id, account),
**                                            index (account, period)
**   periods(period, closed_ms)               the closed periods
**   period_summaries(period, cc, spent_minor, earned_minor, units_bought,
**          units_sold)                       one row per cost centre that
**                                            traded in a closed period
**   orders_closed(seq, order_id, cc, service, side, tif, aon, price_minor,
**          qty, qty_filled, status, reason, period, closed_ms)
**                                            every order that closed (4),
**                                            keyed by order_id (6); seq
**                                            counts each cost centre's
**                                            orders in the order they
**                                            closed; index (cc, seq):
**                                            order.history
**   ratings(trade_id, service, provider, rater, stars, comment, time_ms,
**          reply, reply_ms)                  every rating of a trade by its
**                                            buyer (5), with the provider's
**                                            reply; indexes (provider,
**                                            trade_id), (rater, trade_id)
** Migrations run in order inside one transaction; a file from a newer imx is
** refused rather than guessed at.
**
** A closed period is frozen: triggers refuse to update or delete its trades
** and postings. New trades in a closed period are refused here, in C, by one
** look-up in periods per batch and period (put_trade): until schema 2 a
** trigger did it on every posting, which cost a fifth of a batch's time. A
** row slipped into a closed period behind the ledger's back is still found:
** verify recomputes every closed period's summaries from its trades.
**
** One writer: imx_ledger_open takes an exclusive advisory lock (flock) on a
** file beside the ledger, PATH-lock, that holds the writer's pid, and keeps
** it until imx_ledger_close. A second imxd on the same file is refused at
** start, naming the file and the holder, instead of failing its first
** commit with "database is locked" and exiting with a request unanswered.
** The lock is a separate file rather than SQLite's locking_mode=EXCLUSIVE
** because that mode locks readers out too, and finance reads a live ledger
** (WAL lets readers in while imxd writes): imx_ledger_open_existing takes
** no lock, and waits READ_BUSY_MS for the rare moments SQLite itself keeps
** readers out (WAL recovery, a checkpoint that truncates). A writer that
** ignores the advisory lock (the sqlite3 shell) can still make a commit
** fail; imxd then acknowledges nothing of the batch and stops.
*/
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "imx_ledger.h"
#include "ledger_int.h"

/* The writer's page cache (IMX_LEDGER_WRITER_CACHE_KIB). A call
** auction's batch writes each trade into five indexes in no order of theirs
** (the trades by buy and sell order, the postings by account, the closed
** orders by id and by cost centre): with 2 MiB most of those pages are read
** again from the file and spilled to the WAL before the commit. A call over
** a 1 M-order book (495 k trades, `imx-bench call --orders 1000000`) took
** 15 to 16 s with the default and 8.3 to 9.3 s with this. SQLite takes the
** memory page by page as a batch needs it, and keeps it. Readers
** (imx_ledger_open_existing) keep the default. */
#define STR_(x) #x
#define STR(x) STR_(x)
#define WRITER_CACHE "PRAGMA cache_size=-" STR(IMX_LEDGER_WRITER_CACHE_KIB)

struct imx_ledger {
  sqlite3 *db;
  sqlite3_stmt *put_journal, *put_trade, *put_posting, *period_closed, *put_order;
  sqlite3_stmt *put_rating, *put_reply, *ratings, *ratings_all; /* schema 5 */
  /* order.history's reads, prepared at their first use (schema 4) */
  sqlite3_stmt *order_seq, *orders_closed, *fills, *fills_count;
  int read_only;       /* opened by imx_ledger_open_existing      */
  int lock_fd;         /* PATH-lock, flock'ed; -1: none            */
  int64_t version;     /* the file's schema version when opened    */
  int64_t period_open; /* a period known open in this transaction;
                       ** 0: none (periods are >= 1)               */
  char error[256];
};

/* How long a reader waits for a lock SQLite holds (WAL recovery). */
#define READ_BUSY_MS 5000
/* "PATH-lock": beside PATH-wal and PATH-shm. */
#define LOCK_SUFFIX "-lock"

/* The oldest schema that imx_ledger_open_existing reads as it is (it cannot
** migrate a file it opened read-only): 2 and 3 have the same tables, and 4
** adds the closed orders and the trades' order ids, which only
** order.history reads. */
#define SCHEMA_READ_MIN 2

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
    /* 3: no trigger on inserts (put_trade checks the period once per batch);
    ** updates may neither leave nor enter a closed period, and a closed
    ** period's trades are frozen like its postings. */
    "DROP TRIGGER postings_frozen_insert;"
    "DROP TRIGGER postings_frozen_update;"
    "CREATE TRIGGER postings_frozen_update BEFORE UPDATE ON postings"
    " WHEN EXISTS(SELECT 1 FROM periods WHERE period IN (OLD.period, NEW.period))"
    " BEGIN SELECT RAISE(ABORT, 'the period is closed'); END;"
    "CREATE TRIGGER trades_frozen_update BEFORE UPDATE ON trades"
    " WHEN EXISTS(SELECT 1 FROM periods WHERE period IN (OLD.period, NEW.period))"
    " BEGIN SELECT RAISE(ABORT, 'the period is closed'); END;"
    "CREATE TRIGGER trades_frozen_delete BEFORE DELETE ON trades"
    " WHEN EXISTS(SELECT 1 FROM periods WHERE period = OLD.period)"
    " BEGIN SELECT RAISE(ABORT, 'the period is closed'); END;",
    /* 4: the order ids of a trade's two sides, and every order that closed,
    ** for order.history. Trades and orders from before stay without: the
    ** history starts with the upgrade. */
    "ALTER TABLE trades ADD COLUMN buy_order INTEGER CHECK(buy_order > 0);"
    "ALTER TABLE trades ADD COLUMN sell_order INTEGER CHECK(sell_order > 0);"
    "CREATE INDEX trades_buy_order ON trades(buy_order) WHERE buy_order IS NOT NULL;"
    "CREATE INDEX trades_sell_order ON trades(sell_order) WHERE sell_order IS NOT NULL;"
    "CREATE TABLE orders_closed(seq INTEGER PRIMARY KEY,"
    " order_id INTEGER NOT NULL UNIQUE CHECK(order_id > 0),"
    " cc TEXT NOT NULL, service TEXT NOT NULL,"
    " side TEXT NOT NULL CHECK(side IN ('bid', 'offer')),"
    " tif TEXT NOT NULL CHECK(tif IN ('gtc', 'period', 'ioc', 'fok')),"
    " aon INTEGER NOT NULL CHECK(aon IN (0, 1)),"
    " price_minor INTEGER NOT NULL CHECK(price_minor >= 0),"
    " qty INTEGER NOT NULL CHECK(qty > 0),"
    " qty_filled INTEGER NOT NULL CHECK(qty_filled BETWEEN 0 AND qty),"
    " status TEXT NOT NULL CHECK(status IN ('filled', 'cancelled', 'expired')),"
    " reason TEXT CHECK((status = 'cancelled') = (reason IS NOT NULL)),"
    " period INTEGER NOT NULL CHECK(period >= 1), closed_ms INTEGER NOT NULL,"
    " CHECK((status = 'filled') = (qty_filled = qty)));"
    "CREATE INDEX orders_closed_cc ON orders_closed(cc, seq);",
    /* 5: ratings of trades by their buyers, and the providers' replies */
    "CREATE TABLE ratings(trade_id INTEGER PRIMARY KEY CHECK(trade_id > 0),"
    " service TEXT NOT NULL, provider TEXT NOT NULL, rater TEXT NOT NULL,"
    " stars INTEGER NOT NULL CHECK(stars BETWEEN 1 AND 5),"
    " comment TEXT NOT NULL, time_ms INTEGER NOT NULL,"
    " reply TEXT, reply_ms INTEGER,"
    " CHECK(provider <> rater), CHECK((reply IS NULL) = (reply_ms IS NULL)));"
    "CREATE INDEX ratings_provider ON ratings(provider, trade_id);"
    "CREATE INDEX ratings_rater ON ratings(rater, trade_id);",
    /* 6: orders_closed keyed by order_id (its rowid) instead of seq: a
    ** closed order wrote three B-tree entries (rowid seq, UNIQUE order_id,
    ** (cc, seq)) and now writes two. seq is kept, as a column, and counts
    ** per cost centre (put_order: one more than cc's last, found by the
    ** (cc, seq) index); the seqs of an older file are kept as they were
    ** (increasing within each cost centre, which is all order.history
    ** reads of them). Same columns, in the same order. */
    "CREATE TABLE orders_closed_6(seq INTEGER NOT NULL CHECK(seq > 0),"
    " order_id INTEGER PRIMARY KEY CHECK(order_id > 0),"
    " cc TEXT NOT NULL, service TEXT NOT NULL,"
    " side TEXT NOT NULL CHECK(side IN ('bid', 'offer')),"
    " tif TEXT NOT NULL CHECK(tif IN ('gtc', 'period', 'ioc', 'fok')),"
    " aon INTEGER NOT NULL CHECK(aon IN (0, 1)),"
    " price_minor INTEGER NOT NULL CHECK(price_minor >= 0),"
    " qty INTEGER NOT NULL CHECK(qty > 0),"
    " qty_filled INTEGER NOT NULL CHECK(qty_filled BETWEEN 0 AND qty),"
    " status TEXT NOT NULL CHECK(status IN ('filled', 'cancelled', 'expired')),"
    " reason TEXT CHECK((status = 'cancelled') = (reason IS NOT NULL)),"
    " period INTEGER NOT NULL CHECK(period >= 1), closed_ms INTEGER NOT NULL,"
    " CHECK((status = 'filled') = (qty_filled = qty)));"
    "INSERT INTO orders_closed_6 SELECT seq, order_id, cc, service, side, tif, aon,"
    " price_minor, qty, qty_filled, status, reason, period, closed_ms"
    " FROM orders_closed ORDER BY order_id;"
    "DROP TABLE orders_closed;"
    "ALTER TABLE orders_closed_6 RENAME TO orders_closed;"
    "CREATE INDEX orders_closed_cc ON orders_closed(cc, seq);",
};
#define MIGRATIONS_N (sizeof MIGRATIONS / sizeof MIGRATIONS[0])
_Static_assert(MIGRATIONS_N == IMX_LEDGER_SCHEMA_VERSION,
               "one migration per schema version");

static int fail(imx_ledger *l, const char *what) {
  snprintf(l->error, sizeof l->error, "%s: %s", what,
           l->db ? sqlite3_errmsg(l->db) : "no database");
  return -1;
}

int imx_ledger_error_set(imx_ledger *l, const char *fmt, ...) {
  IMX_ASSERT(l != NULL && fmt != NULL);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(l->error, sizeof l->error, fmt, ap);
  va_end(ap);
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

/* The file's schema version into l->version; refuses a newer one. */
static int read_version(imx_ledger *l) {
  int ok;
  l->version = pragma_int(l, "PRAGMA user_version", &ok);
  if (!ok) return fail(l, "reading the schema version (not a ledger?)");
  if (l->version > (int64_t)MIGRATIONS_N)
    return imx_ledger_error_set(l, "schema version %lld is newer than this imx (%d)",
                                (long long)l->version, (int)MIGRATIONS_N);
  return 0;
}

static int migrate(imx_ledger *l) {
  if (read_version(l)) return -1;
  if (l->version == (int64_t)MIGRATIONS_N) return 0;
  if (exec(l, "BEGIN IMMEDIATE")) return -1;
  for (size_t v = (size_t)l->version; v < MIGRATIONS_N; v++) {
    char set[64];
    snprintf(set, sizeof set, "PRAGMA user_version=%zu", v + 1);
    if (exec(l, MIGRATIONS[v]) || exec(l, set)) {
      sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
      return -1;
    }
  }
  if (exec(l, "COMMIT")) return -1;
  l->version = (int64_t)MIGRATIONS_N;
  return 0;
}

/* The writer's statements: a read-only ledger has none (its file may be of
** an older schema), and its writes fail. */
static int prepare_all(imx_ledger *l) {
  struct {
    sqlite3_stmt **st;
    const char *sql;
  } prep[] = {{&l->put_journal, "INSERT INTO journal VALUES(?,?,?,?)"},
              {&l->put_trade, "INSERT INTO trades VALUES(?,?,?,?,?,?,?,?,?,?,?)"},
              {&l->put_posting, "INSERT INTO postings VALUES(?,?,?,?)"},
              {&l->period_closed, "SELECT 1 FROM periods WHERE period = ?"},
              {&l->put_order, "INSERT INTO orders_closed VALUES((SELECT"
                              " coalesce(max(seq), 0) + 1 FROM orders_closed"
                              " WHERE cc = ?2),?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,"
                              "?12,?13)"},
              {&l->put_rating, "INSERT INTO ratings VALUES(?,?,?,?,?,?,?,NULL,NULL)"},
              {&l->put_reply, "UPDATE ratings SET reply = ?2, reply_ms = ?3"
                              " WHERE trade_id = ?1 AND reply IS NULL"}};
  for (size_t k = 0; k < sizeof prep / sizeof prep[0]; k++)
    if (sqlite3_prepare_v2(l->db, prep[k].sql, -1, prep[k].st, NULL) != SQLITE_OK)
      return fail(l, "preparing statements");
  return 0;
}

static int read_only_write(imx_ledger *l) {
  return imx_ledger_error_set(l, "writing: the ledger is open readonly");
}

static imx_ledger *ledger_new(imx_ledger **out, char *err, size_t errcap) {
  IMX_ASSERT(out != NULL && err != NULL && errcap > 0);
  imx_ledger *l = calloc(1, sizeof *l);
  *out = l;
  if (l == NULL) snprintf(err, errcap, "out of memory");
  else l->lock_fd = -1;
  return l;
}

/* SQLite's names for databases that are no file: nothing to lock. */
static int is_file(const char *path) {
  return path[0] != '\0' && strcmp(path, ":memory:") != 0 &&
         strncmp(path, "file:", 5) != 0;
}

/* Takes the writer's lock, PATH-lock, and writes our pid into it; when
** another process holds it, says whose it is. */
static int lock_writer(imx_ledger *l, const char *path) {
  IMX_ASSERT(l->lock_fd == -1);
  char lock[4096];
  if (snprintf(lock, sizeof lock, "%s" LOCK_SUFFIX, path) >= (int)sizeof lock)
    return imx_ledger_error_set(l, "the path is too long");
  int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0)
    return imx_ledger_error_set(l, "cannot open the lock file %s: %s", lock,
                                strerror(errno));
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    char pid[24] = "";
    ssize_t n = e == EWOULDBLOCK ? pread(fd, pid, sizeof pid - 1, 0) : -1;
    pid[n > 0 ? n : 0] = '\0';
    pid[strcspn(pid, "\n")] = '\0';
    close(fd);
    if (e != EWOULDBLOCK)
      return imx_ledger_error_set(l, "cannot lock %s: %s", lock, strerror(e));
    return imx_ledger_error_set(l, "in use by another writer (pid %s): %s is locked;"
                                " one imxd per ledger", pid[0] ? pid : "unknown", lock);
  }
  char pid[24];
  int n = snprintf(pid, sizeof pid, "%ld\n", (long)getpid());
  int written = ftruncate(fd, 0) == 0 && pwrite(fd, pid, (size_t)n, 0) == n;
  (void)written; /* the pid only helps the message above: no error */
  l->lock_fd = fd;
  return 0;
}

int imx_ledger_open(const char *path, int sync_full, imx_ledger **out,
                    char *err, size_t errcap) {
  imx_ledger *l = ledger_new(out, err, errcap);
  if (l == NULL) return -1;
  int rc = -1;
  if (is_file(path) && lock_writer(l, path) != 0)
    ;
  else if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                           NULL) != SQLITE_OK)
    fail(l, path);
  else if (exec(l, "PRAGMA journal_mode=WAL") ||
           exec(l, sync_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") ||
           exec(l, "PRAGMA foreign_keys=ON") || exec(l, WRITER_CACHE) || migrate(l) ||
           prepare_all(l))
    ;
  else
    rc = 0;
  if (rc) snprintf(err, errcap, "%s", l->error);
  return rc;
}

int imx_ledger_open_existing(const char *path, imx_ledger **out, char *err,
                             size_t errcap) {
  imx_ledger *l = ledger_new(out, err, errcap);
  if (l == NULL) return -1;
  l->read_only = 1;
  int rc = -1;
  if (sqlite3_open_v2(path, &l->db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    int e = l->db ? sqlite3_system_errno(l->db) : 0;
    if (e != 0)
      imx_ledger_error_set(l, "cannot open: %s", strerror(e));
    else
      fail(l, "cannot open");
  } else if (sqlite3_busy_timeout(l->db, READ_BUSY_MS) != SQLITE_OK || read_version(l)) {
    ;
  } else if (l->version < SCHEMA_READ_MIN) {
    if (l->version == 0)
      imx_ledger_error_set(l, "not an imx ledger (no schema version)");
    else
      imx_ledger_error_set(l, "schema version %lld is too old to read without upgrading"
                              " it: let imxd open it once", (long long)l->version);
  } else {
    rc = 0;
  }
  if (rc) snprintf(err, errcap, "%s", l->error);
  return rc;
}

void imx_ledger_close(imx_ledger *l) {
  if (l == NULL) return;
  sqlite3_finalize(l->put_journal);
  sqlite3_finalize(l->put_trade);
  sqlite3_finalize(l->put_posting);
  sqlite3_finalize(l->period_closed);
  sqlite3_finalize(l->put_order);
  sqlite3_finalize(l->put_rating);
  sqlite3_finalize(l->put_reply);
  sqlite3_finalize(l->ratings);
  sqlite3_finalize(l->ratings_all);
  sqlite3_finalize(l->order_seq);
  sqlite3_finalize(l->orders_closed);
  sqlite3_finalize(l->fills);
  sqlite3_finalize(l->fills_count);
  sqlite3_close(l->db);
  if (l->lock_fd >= 0) close(l->lock_fd); /* and with it the lock */
  free(l);
}

/* Whether a period is open is known for one transaction at most: begin,
** commit and rollback forget it. */
int imx_ledger_begin(imx_ledger *l) {
  l->period_open = 0;
  return exec(l, "BEGIN IMMEDIATE");
}
int imx_ledger_commit(imx_ledger *l) {
  l->period_open = 0;
  return exec(l, "COMMIT");
}
int imx_ledger_rollback(imx_ledger *l) {
  l->period_open = 0;
  return exec(l, "ROLLBACK");
}

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
  IMX_ASSERT(cc != NULL && command != NULL);
  if (l->read_only) return read_only_write(l);
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

/* Refuses a trade in a closed period. Inside a batch a period found open
** stays open until the batch ends (closing a period forgets it too), so a
** batch looks each period up once; outside a batch, every time. */
static int period_check(imx_ledger *l, const imx_ledger_trade *t) {
  if (t->period == l->period_open) return 0;
  sqlite3_stmt *st = l->period_closed;
  sqlite3_bind_int64(st, 1, t->period);
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  if (rc == SQLITE_ROW)
    return imx_ledger_error_set(l, "trade %lld: the period is closed (period %lld)",
                                (long long)t->trade_id, (long long)t->period);
  if (rc != SQLITE_DONE) return fail(l, "reading the closed periods");
  if (!sqlite3_get_autocommit(l->db)) l->period_open = t->period;
  return 0;
}

static int trade_in_range(imx_ledger *l, const imx_ledger_trade *t) {
  if (t->qty < 1 || t->qty > IMX_QTY_MAX || t->price_minor < 1 ||
      t->price_minor > IMX_PRICE_MAX_MINOR)
    return imx_ledger_error_set(l, "trade %lld: qty or price out of range",
                                (long long)t->trade_id);
  if (strlen(t->service) > IMX_NAME_BYTES_MAX || strlen(t->buyer) > IMX_NAME_BYTES_MAX ||
      strlen(t->seller) > IMX_NAME_BYTES_MAX)
    return imx_ledger_error_set(l, "trade %lld: an id is longer than %d bytes",
                                (long long)t->trade_id, IMX_NAME_BYTES_MAX);
  return 0;
}

int imx_ledger_put_trade(imx_ledger *l, const imx_ledger_trade *t) {
  IMX_ASSERT(t != NULL && t->service != NULL && t->buyer != NULL && t->seller != NULL);
  IMX_ASSERT(t->buy_order >= 0 && t->sell_order >= 0);
  if (l->read_only) return read_only_write(l);
  if (trade_in_range(l, t) || period_check(l, t)) return -1;
  int64_t amount = t->qty * t->price_minor; /* <= IMX_QTY_MAX x IMX_PRICE_MAX_MINOR */
  IMX_ASSERT(amount > 0 && amount / t->qty == t->price_minor);
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
  if (t->buy_order) sqlite3_bind_int64(st, 10, t->buy_order);
  if (t->sell_order) sqlite3_bind_int64(st, 11, t->sell_order);
  if (step(l, st, "trade")) return -1;
  return posting(l, t, t->buyer, amount) || posting(l, t, t->seller, -amount) ? -1 : 0;
}

/* ---------------------------------------------------------------- verify */

/* A query that must find no row; the first row found is the detail. */
typedef struct check {
  const char *name;
  const char *sql;
  int64_t schema_min; /* the schema that has its tables (0: every one) */
} check;

/* Each check looks at the trades with an id above ?1 (0: all of them) and
** their postings: at a start from a snapshot, only those made since. */
static const check CHECKS[] = {
    {"amount_is_qty_times_price",
     "SELECT trade_id FROM trades WHERE trade_id > ?1 AND amount_minor <> qty * price_minor"
     " LIMIT 1", 0},
    {"two_postings_per_trade",
     "SELECT t.trade_id FROM trades t LEFT JOIN postings p USING(trade_id)"
     " WHERE t.trade_id > ?1 GROUP BY t.trade_id HAVING count(p.account) <> 2 LIMIT 1", 0},
    {"trade_balanced",
     "SELECT trade_id FROM postings WHERE trade_id > ?1 GROUP BY trade_id"
     " HAVING sum(amount_minor) <> 0 LIMIT 1", 0},
    {"postings_match_trade",
     "SELECT p.trade_id FROM postings p JOIN trades t USING(trade_id)"
     " WHERE p.trade_id > ?1 AND (NOT ((p.account = t.buyer AND p.amount_minor = t.amount_minor)"
     " OR (p.account = t.seller AND p.amount_minor = -t.amount_minor)"
     " ) OR p.period <> t.period) LIMIT 1", 0},
    {"posting_without_trade",
     "SELECT p.trade_id FROM postings p LEFT JOIN trades t USING(trade_id)"
     " WHERE p.trade_id > ?1 AND t.trade_id IS NULL LIMIT 1", 0},
    {"ledger_total_zero",
     "SELECT total(amount_minor) FROM postings WHERE trade_id > ?1"
     " HAVING sum(amount_minor) <> 0", 0},
    /* A closed period's summaries, recomputed from its trades, are the ones
    ** written when it closed: nothing was added to, changed in or removed
    ** from a frozen period since. From a snapshot: the periods of the
    ** trades since (whole periods). */
    {"closed_period_unchanged",
     "WITH f AS (SELECT CASE WHEN ?1 = 0 THEN 0 ELSE (SELECT coalesce(min(period),"
     " 9223372036854775807) FROM trades WHERE trade_id > ?1) END AS first),"
     " r AS (SELECT period, cc, sum(spent), sum(earned), sum(bought), sum(sold)"
     " FROM (SELECT period, buyer AS cc, amount_minor AS spent, 0 AS earned,"
     " qty AS bought, 0 AS sold FROM trades JOIN periods USING(period) UNION ALL"
     " SELECT period, seller, 0, amount_minor, 0, qty FROM trades JOIN periods"
     " USING(period)) WHERE period >= (SELECT first FROM f) GROUP BY period, cc),"
     " s AS (SELECT period, cc, spent_minor, earned_minor, units_bought, units_sold"
     " FROM period_summaries WHERE period >= (SELECT first FROM f)),"
     " d AS (SELECT * FROM r EXCEPT SELECT * FROM s UNION ALL"
     " SELECT * FROM (SELECT * FROM s EXCEPT SELECT * FROM r))"
     " SELECT 'period ' || period || ', ' || cc FROM d LIMIT 1", 0},
    /* A closed order is its trades' side: the buyer of the trades it
    ** bought in, the seller of those it sold in, and filled at least what
    ** they add up to (an order open across the upgrade to schema 4 has
    ** fills without its id, so "at least"). From a snapshot: the orders
    ** of the trades since. */
    {"closed_order_matches_its_trades",
     "SELECT 'order ' || o.order_id FROM orders_closed o JOIN trades t"
     " ON t.buy_order = o.order_id OR t.sell_order = o.order_id"
     " WHERE t.trade_id > ?1 AND ((t.buy_order = o.order_id AND (o.side <> 'bid'"
     " OR t.buyer <> o.cc)) OR (t.sell_order = o.order_id AND (o.side <> 'offer'"
     " OR t.seller <> o.cc)) OR t.service <> o.service) LIMIT 1", 4},
    {"closed_order_filled_its_trades",
     "SELECT 'order ' || order_id FROM orders_closed o WHERE order_id IN"
     " (SELECT buy_order FROM trades WHERE trade_id > ?1 UNION"
     " SELECT sell_order FROM trades WHERE trade_id > ?1) AND qty_filled <"
     " (SELECT total(qty) FROM trades WHERE buy_order = o.order_id"
     " OR sell_order = o.order_id) LIMIT 1", 4},
    /* A rating is of a trade of the ledger, by its buyer, of its seller and
    ** service (schema 5). Every rating, also from a snapshot: an old trade
    ** may be rated after it, and ratings are few beside trades. */
    {"rating_matches_its_trade",
     "SELECT 'trade ' || r.trade_id FROM ratings r LEFT JOIN trades t USING(trade_id)"
     " WHERE ?1 >= 0 AND (t.trade_id IS NULL OR r.rater <> t.buyer OR r.provider <> t.seller"
     " OR r.service <> t.service) LIMIT 1", 5},
};

static int run_check(imx_ledger *l, const check *c, int64_t after, char *failed,
                     size_t cap) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(l->db, c->sql, -1, &st, NULL) != SQLITE_OK) {
    snprintf(failed, cap, "%s: %s", c->name, sqlite3_errmsg(l->db));
    return -1;
  }
  sqlite3_bind_int64(st, 1, after);
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

/* PRAGMA integrity_check's own rows, the first few, joined by "; ". */
#define INTEGRITY_ROWS_MAX 5

static int integrity(imx_ledger *l, char *failed, size_t cap) {
  sqlite3_stmt *st;
  char sql[64];
  snprintf(sql, sizeof sql, "PRAGMA integrity_check(%d)", INTEGRITY_ROWS_MAX);
  if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK) {
    snprintf(failed, cap, "integrity: %s", sqlite3_errmsg(l->db));
    sqlite3_finalize(st);
    return -1;
  }
  int rc, rows = 0, ok = 0;
  size_t n = (size_t)snprintf(failed, cap, "integrity:");
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && rows < INTEGRITY_ROWS_MAX) {
    const char *row = (const char *)sqlite3_column_text(st, 0);
    if (rows == 0 && row != NULL && strcmp(row, "ok") == 0) ok = 1;
    if (n < cap)
      n += (size_t)snprintf(failed + n, cap - n, "%s %s", rows ? ";" : "",
                            row ? row : "(null)");
    rows++;
  }
  /* One line: a row can hold several, e.g. "*** in database main ***\nPage 2: ..." */
  for (char *p = failed; (p = strchr(p, '\n')) != NULL;) *p = ' ';
  if (rc != SQLITE_ROW && rc != SQLITE_DONE && n < cap) {
    snprintf(failed + n, cap - n, "%s %s", rows ? ";" : "", sqlite3_errmsg(l->db));
    ok = 0;
  }
  sqlite3_finalize(st);
  return ok ? 0 : -1;
}

int imx_ledger_verify(imx_ledger *l, char *failed, size_t cap) {
  IMX_ASSERT(l != NULL && failed != NULL && cap > 0);
  failed[0] = '\0';
  if (integrity(l, failed, cap)) return -1;
  return imx_ledger_verify_after(l, 0, failed, cap);
}

int imx_ledger_verify_after(imx_ledger *l, int64_t after, char *failed, size_t cap) {
  IMX_ASSERT(l != NULL && failed != NULL && cap > 0 && after >= 0);
  failed[0] = '\0';
  int ok;
  int64_t v = pragma_int(l, "PRAGMA user_version", &ok);
  /* Read-write: migrated to this version; read-only: the one it opened. */
  int64_t want = l->read_only ? l->version : IMX_LEDGER_SCHEMA_VERSION;
  if (!ok || v != want) {
    snprintf(failed, cap, "schema_version: %lld, not %lld", (long long)v,
             (long long)want);
    return -1;
  }
  for (size_t i = 0; i < sizeof CHECKS / sizeof CHECKS[0]; i++)
    if (v >= CHECKS[i].schema_min && run_check(l, &CHECKS[i], after, failed, cap))
      return -1;
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
  return imx_ledger_journal_from(l, 1, fn, ctx);
}

int imx_ledger_journal_from(imx_ledger *l, int64_t first, imx_ledger_journal_fn fn,
                            void *ctx) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(l->db, "SELECT seq, time_ms, cc, command FROM journal"
                         " WHERE seq >= ?1 ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
    return fail(l, "reading the journal");
  sqlite3_bind_int64(st, 1, first);
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

struct imx_ledger_cursor {
  imx_ledger *l;
  sqlite3_stmt *st;
  int done; /* SQLite would start over after the last row */
};

int imx_ledger_trades_open(imx_ledger *l, int64_t period, imx_ledger_cursor **out) {
  return imx_ledger_trades_open_after(l, period, 0, out);
}

int imx_ledger_trades_open_after(imx_ledger *l, int64_t period, int64_t after,
                                 imx_ledger_cursor **out) {
  IMX_ASSERT(l != NULL && out != NULL && period >= 0 && after >= 0);
  imx_ledger_cursor *c = calloc(1, sizeof *c);
  *out = c;
  if (c == NULL) return imx_ledger_error_set(l, "out of memory");
  c->l = l;
  if (sqlite3_prepare_v2(l->db,
                         "SELECT trade_id, period, time_ms, service, buyer, seller,"
                         " qty, price_minor FROM trades WHERE (?1 = 0 OR period = ?1)"
                         " AND trade_id > ?2 ORDER BY trade_id", -1, &c->st, NULL) != SQLITE_OK)
    return fail(l, "reading trades");
  sqlite3_bind_int64(c->st, 1, period);
  sqlite3_bind_int64(c->st, 2, after);
  return 0;
}

int imx_ledger_trades_next(imx_ledger_cursor *c, imx_ledger_trade *t) {
  IMX_ASSERT(c != NULL && c->st != NULL && t != NULL);
  sqlite3_stmt *st = c->st;
  if (c->done) return 0;
  int rc = sqlite3_step(st);
  c->done = rc != SQLITE_ROW;
  if (rc == SQLITE_DONE) return 0;
  if (rc != SQLITE_ROW) return fail(c->l, "reading trades");
  *t = (imx_ledger_trade){
      .trade_id = sqlite3_column_int64(st, 0), .period = sqlite3_column_int64(st, 1),
      .time_ms = sqlite3_column_int64(st, 2),
      .service = (const char *)sqlite3_column_text(st, 3),
      .buyer = (const char *)sqlite3_column_text(st, 4),
      .seller = (const char *)sqlite3_column_text(st, 5),
      .qty = sqlite3_column_int64(st, 6), .price_minor = sqlite3_column_int64(st, 7)};
  /* NOT NULL columns: a NULL here is a text that SQLite could not allocate. */
  if (!t->service || !t->buyer || !t->seller) return fail(c->l, "reading trades");
  return 1;
}

void imx_ledger_trades_close(imx_ledger_cursor *c) {
  if (c == NULL) return;
  sqlite3_finalize(c->st);
  free(c);
}

int imx_ledger_trades_each(imx_ledger *l, int64_t period, imx_ledger_trade_fn fn,
                           void *ctx) {
  imx_ledger_cursor *c;
  int rc = imx_ledger_trades_open(l, period, &c);
  imx_ledger_trade t;
  while (rc == 0 && (rc = imx_ledger_trades_next(c, &t)) == 1) rc = fn(ctx, &t);
  imx_ledger_trades_close(c);
  return rc;
}

/* A period's figures per cost centre (?1 the period): what a closed
** period's summaries hold and what imx_ledger_cc_sums reads of any
** period, one query for both. */
#define CC_SUMS_SQL                                                           \
  "SELECT ?1, cc, sum(spent), sum(earned), sum(bought), sum(sold) FROM ("     \
  " SELECT buyer AS cc, amount_minor AS spent, 0 AS earned, qty AS bought,"   \
  " 0 AS sold FROM trades WHERE period = ?1 UNION ALL"                        \
  " SELECT seller, 0, amount_minor, 0, qty FROM trades WHERE period = ?1)"    \
  " GROUP BY cc"

int imx_ledger_close_period(imx_ledger *l, int64_t period, int64_t time_ms) {
  sqlite3_stmt *st;
  l->period_open = 0; /* it may be the one closed now */
  static const char *const sql[] = {
      "INSERT INTO periods VALUES(?1, ?2)",
      "INSERT INTO period_summaries " CC_SUMS_SQL};
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

/* ---------------------------------------------------------- closed orders */

int imx_ledger_put_order(imx_ledger *l, const imx_ledger_order *o) {
  IMX_ASSERT(o != NULL && o->cc != NULL && o->service != NULL && o->side != NULL &&
             o->tif != NULL && o->status != NULL);
  IMX_ASSERT(o->order_id > 0 && o->qty_filled >= 0 && o->qty_filled <= o->qty);
  if (l->read_only) return read_only_write(l);
  sqlite3_stmt *st = l->put_order;
  sqlite3_bind_int64(st, 1, o->order_id);
  sqlite3_bind_text(st, 2, o->cc, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, o->service, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, o->side, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 5, o->tif, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 6, o->aon ? 1 : 0);
  sqlite3_bind_int64(st, 7, o->price_minor);
  sqlite3_bind_int64(st, 8, o->qty);
  sqlite3_bind_int64(st, 9, o->qty_filled);
  sqlite3_bind_text(st, 10, o->status, -1, SQLITE_STATIC);
  if (o->reason) sqlite3_bind_text(st, 11, o->reason, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 12, o->period);
  sqlite3_bind_int64(st, 13, o->closed_ms);
  return step(l, st, "closed order");
}

int imx_ledger_put_rating(imx_ledger *l, const imx_ledger_rating *r) {
  IMX_ASSERT(r != NULL && r->service && r->provider && r->rater && r->comment);
  IMX_ASSERT(r->trade_id > 0 && r->stars >= IMX_RATING_STARS_MIN && r->stars <= IMX_RATING_STARS_MAX);
  if (l->read_only) return read_only_write(l);
  sqlite3_stmt *st = l->put_rating;
  sqlite3_bind_int64(st, 1, r->trade_id);
  sqlite3_bind_text(st, 2, r->service, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 3, r->provider, -1, SQLITE_STATIC);
  sqlite3_bind_text(st, 4, r->rater, -1, SQLITE_STATIC);
  sqlite3_bind_int(st, 5, r->stars);
  sqlite3_bind_text(st, 6, r->comment, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 7, r->time_ms);
  return step(l, st, "rating");
}

int imx_ledger_put_reply(imx_ledger *l, int64_t trade_id, const char *reply,
                         int64_t time_ms) {
  IMX_ASSERT(trade_id > 0 && reply != NULL);
  if (l->read_only) return read_only_write(l);
  sqlite3_stmt *st = l->put_reply;
  sqlite3_bind_int64(st, 1, trade_id);
  sqlite3_bind_text(st, 2, reply, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, time_ms);
  if (step(l, st, "rating reply") != 0) return -1;
  if (sqlite3_changes(l->db) != 1)
    return imx_ledger_error_set(l, "trade %lld: no rating without a reply to answer",
                                (long long)trade_id);
  return 0;
}

/* Prepares a read statement at its first use: a ledger opened read-only
** may be of a schema without its tables, and only these reads need them. */
static int prepared(imx_ledger *l, sqlite3_stmt **st, const char *sql) {
  if (*st != NULL) return 0;
  if (sqlite3_prepare_v2(l->db, sql, -1, st, NULL) != SQLITE_OK) {
    *st = NULL;
    return fail(l, "preparing a read of the order history or the ratings (schema 4, 5)");
  }
  return 0;
}

/* The seq of cc's closed order, or 0 when it is none of cc's. */
static int64_t closed_seq(imx_ledger *l, const char *cc, int64_t order_id, int *rc) {
  sqlite3_stmt *st = l->order_seq;
  sqlite3_bind_int64(st, 1, order_id);
  sqlite3_bind_text(st, 2, cc, -1, SQLITE_STATIC);
  int64_t seq = 0;
  int r = sqlite3_step(st);
  if (r == SQLITE_ROW) seq = sqlite3_column_int64(st, 0);
  *rc = r == SQLITE_ROW || r == SQLITE_DONE ? 0 : fail(l, "reading closed orders");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return seq;
}

static const char *column_text(sqlite3_stmt *st, int k) {
  return (const char *)sqlite3_column_text(st, k);
}

int imx_ledger_orders_closed(imx_ledger *l, const char *cc, int64_t before_order,
                             uint32_t limit, imx_ledger_order_fn fn, void *ctx) {
  IMX_ASSERT(l != NULL && cc != NULL && fn != NULL && before_order >= 0);
  if (prepared(l, &l->order_seq,
               "SELECT seq FROM orders_closed WHERE order_id = ? AND cc = ?") ||
      prepared(l, &l->orders_closed,
               "SELECT order_id, cc, service, side, tif, aon, price_minor, qty,"
               " qty_filled, status, reason, period, closed_ms FROM orders_closed"
               " WHERE cc = ?1 AND seq < ?2 ORDER BY seq DESC LIMIT ?3"))
    return -1;
  int64_t before_seq = INT64_MAX;
  if (before_order > 0) {
    int rc;
    before_seq = closed_seq(l, cc, before_order, &rc);
    if (rc) return -1;
    if (before_seq == 0) return 1;
  }
  sqlite3_stmt *st = l->orders_closed;
  sqlite3_bind_text(st, 1, cc, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, before_seq);
  sqlite3_bind_int64(st, 3, limit);
  int rc = 0, r;
  while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
    imx_ledger_order o = {
        .order_id = sqlite3_column_int64(st, 0), .cc = column_text(st, 1),
        .service = column_text(st, 2), .side = column_text(st, 3),
        .tif = column_text(st, 4), .aon = sqlite3_column_int(st, 5),
        .price_minor = sqlite3_column_int64(st, 6), .qty = sqlite3_column_int64(st, 7),
        .qty_filled = sqlite3_column_int64(st, 8), .status = column_text(st, 9),
        .reason = column_text(st, 10), .period = sqlite3_column_int64(st, 11),
        .closed_ms = sqlite3_column_int64(st, 12)};
    if (!o.cc || !o.service || !o.side || !o.tif || !o.status) {
      rc = fail(l, "reading closed orders");
      break;
    }
    rc = fn(ctx, &o);
  }
  if (rc == 0 && r != SQLITE_DONE) rc = fail(l, "reading closed orders");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc < 0 ? -1 : 0;
}

int imx_ledger_order_fills(imx_ledger *l, int64_t order_id, uint32_t limit,
                           imx_ledger_fill_fn fn, void *ctx, int64_t *total) {
  IMX_ASSERT(l != NULL && order_id > 0 && fn != NULL && total != NULL);
  /* An order is one side of its trades: the other side is the counterparty.
  ** The two partial indexes answer both halves of the OR. */
  if (prepared(l, &l->fills,
               "SELECT trade_id, qty, price_minor, time_ms,"
               " CASE WHEN buy_order = ?1 THEN seller ELSE buyer END FROM trades"
               " WHERE buy_order = ?1 OR sell_order = ?1 ORDER BY trade_id LIMIT ?2") ||
      prepared(l, &l->fills_count,
               "SELECT count(*) FROM trades WHERE buy_order = ?1 OR sell_order = ?1"))
    return -1;
  sqlite3_stmt *st = l->fills;
  sqlite3_bind_int64(st, 1, order_id);
  sqlite3_bind_int64(st, 2, limit);
  int rc = 0, r, n = 0;
  while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
    imx_ledger_fill f = {.trade_id = sqlite3_column_int64(st, 0),
                         .qty = sqlite3_column_int64(st, 1),
                         .price_minor = sqlite3_column_int64(st, 2),
                         .time_ms = sqlite3_column_int64(st, 3),
                         .counterparty = column_text(st, 4)};
    if (f.counterparty == NULL) {
      rc = fail(l, "reading fills");
      break;
    }
    n++;
    rc = fn(ctx, &f);
  }
  if (rc == 0 && r != SQLITE_DONE) rc = fail(l, "reading fills");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  if (rc != 0) return -1;
  *total = n;
  if ((uint32_t)n < limit) return 0;
  /* A full page: count them all. */
  st = l->fills_count;
  sqlite3_bind_int64(st, 1, order_id);
  r = sqlite3_step(st);
  if (r == SQLITE_ROW) *total = sqlite3_column_int64(st, 0);
  else rc = fail(l, "counting fills");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc;
}

/* ------------------------------------------------------------- statements */

/* One integer read by a statement prepared, run and finalized (these reads
** are rare); arg is bound as ?1 when the SQL has it. *found: a row came. */
static int one_int(imx_ledger *l, const char *sql, int64_t arg, int64_t *out,
                   int *found) {
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(l->db, sql, -1, &st, NULL) != SQLITE_OK)
    return fail(l, "reading the periods");
  if (sqlite3_bind_parameter_count(st) > 0) sqlite3_bind_int64(st, 1, arg);
  int r = sqlite3_step(st);
  *found = r == SQLITE_ROW;
  if (r == SQLITE_ROW && out) *out = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return r == SQLITE_ROW || r == SQLITE_DONE ? 0 : fail(l, "reading the periods");
}

int imx_ledger_period_closed(imx_ledger *l, int64_t period, int64_t *closed_ms) {
  int found = 0;
  if (one_int(l, "SELECT closed_ms FROM periods WHERE period = ?1", period, closed_ms,
              &found))
    return -1;
  return found;
}

int imx_ledger_last_closed(imx_ledger *l, int64_t *period) {
  int found = 0;
  *period = 0;
  return one_int(l, "SELECT coalesce(max(period), 0) FROM periods", 0, period, &found);
}

int imx_ledger_service_sums(imx_ledger *l, const char *cc, int64_t period,
                            imx_ledger_sum_fn fn, void *ctx) {
  IMX_ASSERT(l != NULL && period >= 1 && fn != NULL);
  /* With a cost centre: its postings (index account, period) and their
  ** trades, each on the side it was. Without: each trade once. */
  static const char *const sql[2] = {
      "SELECT t.service, count(*),"
      " sum(CASE WHEN p.amount_minor > 0 THEN t.qty ELSE 0 END),"
      " sum(CASE WHEN p.amount_minor > 0 THEN p.amount_minor ELSE 0 END),"
      " sum(CASE WHEN p.amount_minor < 0 THEN t.qty ELSE 0 END),"
      " sum(CASE WHEN p.amount_minor < 0 THEN -p.amount_minor ELSE 0 END)"
      " FROM postings p JOIN trades t ON t.trade_id = p.trade_id"
      " WHERE p.account = ?2 AND p.period = ?1 GROUP BY t.service ORDER BY t.service",
      "SELECT service, count(*), sum(qty), sum(amount_minor), sum(qty),"
      " sum(amount_minor) FROM trades WHERE period = ?1"
      " GROUP BY service ORDER BY service"};
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(l->db, sql[cc == NULL], -1, &st, NULL) != SQLITE_OK)
    return fail(l, "reading a statement");
  sqlite3_bind_int64(st, 1, period);
  if (cc) sqlite3_bind_text(st, 2, cc, -1, SQLITE_STATIC);
  int rc = 0, r;
  while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
    imx_ledger_service_sum sum = {
        .service = column_text(st, 0), .trades = sqlite3_column_int64(st, 1),
        .bought = sqlite3_column_int64(st, 2), .spent_minor = sqlite3_column_int64(st, 3),
        .sold = sqlite3_column_int64(st, 4), .earned_minor = sqlite3_column_int64(st, 5)};
    if (sum.service == NULL) {
      rc = fail(l, "reading a statement");
      break;
    }
    rc = fn(ctx, &sum);
  }
  if (rc == 0 && r != SQLITE_DONE) rc = fail(l, "reading a statement");
  sqlite3_finalize(st);
  return rc;
}

int imx_ledger_cc_sums(imx_ledger *l, int64_t period, imx_ledger_cc_sum_fn fn,
                       void *ctx) {
  IMX_ASSERT(l != NULL && period >= 1 && fn != NULL);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(l->db, CC_SUMS_SQL, -1, &st, NULL) != SQLITE_OK)
    return fail(l, "reading a period's summary");
  sqlite3_bind_int64(st, 1, period);
  int rc = 0, r;
  while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
    imx_ledger_cc_sum sum = {
        .cc = column_text(st, 1), .spent_minor = sqlite3_column_int64(st, 2),
        .earned_minor = sqlite3_column_int64(st, 3), .bought = sqlite3_column_int64(st, 4),
        .sold = sqlite3_column_int64(st, 5)};
    if (sum.cc == NULL) {
      rc = fail(l, "reading a period's summary");
      break;
    }
    rc = fn(ctx, &sum);
  }
  if (rc == 0 && r != SQLITE_DONE) rc = fail(l, "reading a period's summary");
  sqlite3_finalize(st);
  return rc;
}

int imx_ledger_cc_trades(imx_ledger *l, const char *cc, int64_t period, uint32_t limit,
                         imx_ledger_trade_fn fn, void *ctx, int64_t *total) {
  IMX_ASSERT(l != NULL && cc != NULL && period >= 1 && fn != NULL && total != NULL);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(l->db,
                         "SELECT t.trade_id, t.period, t.time_ms, t.service, t.buyer,"
                         " t.seller, t.qty, t.price_minor, t.buy_order, t.sell_order"
                         " FROM postings p JOIN trades t ON t.trade_id = p.trade_id"
                         " WHERE p.account = ?1 AND p.period = ?2 ORDER BY t.trade_id"
                         " LIMIT ?3", -1, &st, NULL) != SQLITE_OK)
    return fail(l, "reading a statement's trades");
  sqlite3_bind_text(st, 1, cc, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, period);
  sqlite3_bind_int64(st, 3, limit);
  int rc = 0, r, n = 0;
  while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
    imx_ledger_trade t = {
        .trade_id = sqlite3_column_int64(st, 0), .period = sqlite3_column_int64(st, 1),
        .time_ms = sqlite3_column_int64(st, 2), .service = column_text(st, 3),
        .buyer = column_text(st, 4), .seller = column_text(st, 5),
        .qty = sqlite3_column_int64(st, 6), .price_minor = sqlite3_column_int64(st, 7),
        .buy_order = sqlite3_column_int64(st, 8), .sell_order = sqlite3_column_int64(st, 9)};
    if (!t.service || !t.buyer || !t.seller) {
      rc = fail(l, "reading a statement's trades");
      break;
    }
    n++;
    rc = fn(ctx, &t);
  }
  if (rc == 0 && r != SQLITE_DONE) rc = fail(l, "reading a statement's trades");
  sqlite3_finalize(st);
  if (rc != 0) return rc;
  *total = n;
  if ((uint32_t)n < limit) return 0;
  int found = 0;
  if (sqlite3_prepare_v2(l->db, "SELECT count(*) FROM postings WHERE account = ?1"
                         " AND period = ?2", -1, &st, NULL) != SQLITE_OK)
    return fail(l, "counting a statement's trades");
  sqlite3_bind_text(st, 1, cc, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, period);
  found = sqlite3_step(st) == SQLITE_ROW;
  if (found) *total = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return found ? 0 : fail(l, "counting a statement's trades");
}

int imx_ledger_read_begin(imx_ledger *l) {
  return sqlite3_exec(l->db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK ? 0
                                                                     : fail(l, "beginning a read");
}

void imx_ledger_read_end(imx_ledger *l) { sqlite3_exec(l->db, "COMMIT", NULL, NULL, NULL); }

void imx_ledger_interrupt(imx_ledger *l) {
  if (l != NULL && l->db != NULL) sqlite3_interrupt(l->db);
}

const char *imx_ledger_migration_sql(int version) {
  return version >= 1 && (size_t)version <= MIGRATIONS_N ? MIGRATIONS[version - 1] : NULL;
}

/* Calls fn for each row of a ratings query that is bound and ready. */
static int ratings_rows(imx_ledger *l, sqlite3_stmt *st, imx_ledger_rating_fn fn,
                        void *ctx) {
  int rc = 0, r;
  while (rc == 0 && (r = sqlite3_step(st)) == SQLITE_ROW) {
    imx_ledger_rating x = {
        .trade_id = sqlite3_column_int64(st, 0), .service = column_text(st, 1),
        .provider = column_text(st, 2), .rater = column_text(st, 3),
        .stars = sqlite3_column_int(st, 4), .comment = column_text(st, 5),
        .time_ms = sqlite3_column_int64(st, 6), .reply = column_text(st, 7),
        .reply_ms = sqlite3_column_int64(st, 8)};
    if (!x.service || !x.provider || !x.rater || !x.comment) {
      rc = fail(l, "reading ratings");
      break;
    }
    rc = fn(ctx, &x);
  }
  if (rc == 0 && r != SQLITE_DONE) rc = fail(l, "reading ratings");
  sqlite3_reset(st);
  sqlite3_clear_bindings(st);
  return rc < 0 ? -1 : 0;
}

#define RATING_COLUMNS \
  "SELECT trade_id, service, provider, rater, stars, comment, time_ms, reply," \
  " reply_ms FROM ratings"

int imx_ledger_ratings_each(imx_ledger *l, imx_ledger_rating_fn fn, void *ctx) {
  IMX_ASSERT(l != NULL && fn != NULL);
  if (prepared(l, &l->ratings_all, RATING_COLUMNS " ORDER BY trade_id")) return -1;
  return ratings_rows(l, l->ratings_all, fn, ctx);
}

int imx_ledger_ratings(imx_ledger *l, const char *cc, const char *service,
                       int64_t before_trade, uint32_t limit, imx_ledger_rating_fn fn,
                       void *ctx) {
  IMX_ASSERT(l != NULL && fn != NULL && before_trade >= 0);
  if (prepared(l, &l->ratings,
               RATING_COLUMNS " WHERE (?1 IS NULL OR provider = ?1 OR rater = ?1)"
               " AND (?2 IS NULL OR service = ?2) AND trade_id < ?3"
               " ORDER BY trade_id DESC LIMIT ?4"))
    return -1;
  sqlite3_stmt *st = l->ratings;
  if (cc) sqlite3_bind_text(st, 1, cc, -1, SQLITE_STATIC);
  if (service) sqlite3_bind_text(st, 2, service, -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 3, before_trade > 0 ? before_trade : INT64_MAX);
  sqlite3_bind_int64(st, 4, limit);
  return ratings_rows(l, st, fn, ctx);
}
