/*
** bench_ledger.c -- `imx-bench ledger`: how fast the durable ledger
** (ledger/ledger.c, imx_ledger) settles trades, in batches of 1, 64 and
** 4,096 trades a transaction, beside raw SQLite doing the same writes.
**
** For each batch size a fresh ledger file is opened in DIR (default: a
** mkdtemp directory under /tmp, removed at the end) with synchronous FULL
** (--sync normal: NORMAL), and N trades are written as imxd writes them:
** imx_ledger_begin, then per trade one imx_ledger_journal (the request that
** made it, as the daemon journals it) and one imx_ledger_put_trade (the trade
** row and its two postings), imx_ledger_commit. Timed: the whole loop, of
** which the commits (where the fsyncs are) on their own. Then the ledger is
** checked: imx_ledger_verify must return 0 (else exit 1); its time is a
** figure. The target (README: >= 500 k postings/s with large batches) is
** printed next to the batch of 4,096.
**
** The baseline, in the same run and the same DIR: raw SQLite, no imx code.
** The ledger's own tables and indexes (every migration of
** imx_ledger_migration_sql, run in order, then its triggers dropped), WAL,
** the same synchronous setting, the same rows from the same trades, inserted
** with prepared statements (BEGIN and COMMIT prepared too), same batch sizes;
** no checks (foreign_keys left off, no triggers, nothing verified). ledger /
** raw reads as what imx adds to SQLite on this machine.
**
** The trades are generated before any clock starts: a pool of 65,536 trades
** (1,000 cost centres CC-1000..CC-1999, the six services of
** examples/market.json, qty 1..100, price 100..50,000 minor) with their
** journaled order.new, cycled; trade ids 1..N, one per millisecond, a period
** per 100,000 trades. Every file is removed after its part (its size is a
** figure); a DIR given is kept. Figures never decide the exit status.
*/
#define _POSIX_C_SOURCE 200809L

#include "bench/bench.h"
#include "imx_ledger.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define fail(...) bench_fail("ledger", __VA_ARGS__)

#define BATCHES_N 3u
#define TRADES_MAX 100000000u
#define POOL_N 65536u /* distinct trades, cycled */
#define CC_N 1000u
#define CC_FIRST 1000u
#define QTY_MAX 100u
#define PRICE_MIN_MINOR 100u
#define PRICE_MAX_MINOR 50000u
#define TRADES_PER_PERIOD 100000u
#define TIME_START_MS 1767225600000LL /* 2026-01-01T00:00:00Z */
#define CMD_BYTES 192u
#define ROWS_PER_TRADE 4u     /* journal, trade, two postings */
#define POSTINGS_PER_TRADE 2u
#define SEED 42u
#define PATH_BYTES 4096u

#define TARGET_POSTINGS_PER_S 500000.0
#define TARGET_BATCH 4096u

static const uint32_t batches[BATCHES_N] = {1u, 64u, 4096u};
/* ~2-5 s a part with synchronous FULL on the 2-core VM this was written on
** (batches of 1: ~0.3-0.9 ms a commit, fsync-bound; 64 and 4,096: ~20-60 us
** a trade, slower as the file grows), so that the default run stays < 40 s. */
static const uint64_t trades_default[BATCHES_N] = {5000u, 50000u, 200000u};

static const char *const services[] = {
    "it.helpdesk.hour", "payroll.run", "warehouse.m2month",
    "truck.day",        "translation.page", "lab.test"};
enum { SERVICES_N = sizeof services / sizeof services[0] };

/* The baseline has the ledger's tables and indexes as every migration leaves
** them; the triggers are imx's checks, and so part of what the ledger / raw
** ratio shows: raw_open drops them. */
#define RAW_TRIGGERS_MAX 64

/* ---- options ------------------------------------------------------------- */

typedef struct led_opts {
  uint64_t trades; /* 0: trades_default per batch size */
  int sync_full;
  const char *dir; /* NULL: a mkdtemp directory under /tmp */
  int json;
} led_opts;

static int opt_sync(int argc, char **argv, int *i, int *out) {
  if (*i + 1 >= argc) return bench_usage_error("--sync needs a value");
  const char *v = argv[++*i];
  if (strcmp(v, "full") == 0)
    *out = 1;
  else if (strcmp(v, "normal") == 0)
    *out = 0;
  else
    return bench_usage_error("--sync: '%s' is not full or normal", v);
  return BENCH_EXIT_OK;
}

static int parse_opts(int argc, char **argv, led_opts *o) {
  int rc = BENCH_EXIT_OK;
  *o = (led_opts){0, 1, NULL, 0};
  for (int i = 1; i < argc && rc == BENCH_EXIT_OK; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--json") == 0)
      o->json = 1;
    else if (strcmp(a, "--trades") == 0)
      rc = bench_opt_u64(argc, argv, &i, 1, TRADES_MAX, &o->trades);
    else if (strcmp(a, "--sync") == 0)
      rc = opt_sync(argc, argv, &i, &o->sync_full);
    else if (strcmp(a, "--dir") == 0) {
      if (i + 1 >= argc) return bench_usage_error("--dir needs a value");
      o->dir = argv[++i];
      if (o->dir[0] == '\0') return bench_usage_error("--dir: empty path");
    } else
      rc = bench_usage_error("ledger: unknown option '%s'", a);
  }
  return rc;
}

/* ---- the trades ---------------------------------------------------------- */

/* POOL_N trades and the order.new that made each, as the daemon journals it
** (imx_request_encode: canonical, without token). */
typedef struct led_pool {
  char cc[CC_N][12];
  imx_ledger_trade *trade; /* strings point into cc and services */
  char (*cmd)[CMD_BYTES];
  uint32_t *cmd_len;
} led_pool;

static int pool_generate(led_pool *p) {
  p->trade = malloc(POOL_N * sizeof *p->trade);
  p->cmd = malloc(POOL_N * sizeof *p->cmd);
  p->cmd_len = malloc(POOL_N * sizeof *p->cmd_len);
  if (p->trade == NULL || p->cmd == NULL || p->cmd_len == NULL)
    return fail("out of memory for %u trades", POOL_N);
  for (uint32_t c = 0; c < CC_N; c++)
    snprintf(p->cc[c], sizeof p->cc[c], "CC-%u", CC_FIRST + c);
  bench_rng rng = {SEED};
  for (uint32_t i = 0; i < POOL_N; i++) {
    uint32_t buyer = bench_rng_below(&rng, CC_N);
    uint32_t seller = (buyer + 1 + bench_rng_below(&rng, CC_N - 1)) % CC_N;
    const char *service = services[bench_rng_below(&rng, SERVICES_N)];
    int64_t qty = 1 + bench_rng_below(&rng, QTY_MAX);
    int64_t price = PRICE_MIN_MINOR +
                    bench_rng_below(&rng, PRICE_MAX_MINOR - PRICE_MIN_MINOR + 1);
    p->trade[i] = (imx_ledger_trade){0, 1, 0, service, p->cc[buyer],
                                     p->cc[seller], qty, price, 0, 0};
    /* The order that crossed: the bid half the time, the offer otherwise. */
    int bid = (i & 1u) == 0;
    int n = snprintf(p->cmd[i], CMD_BYTES,
                     "{\"v\":1,\"type\":\"order.new\",\"id\":\"o%u\",\"cc\":\"%s\","
                     "\"service\":\"%s\",\"side\":\"%s\",\"qty\":%lld,"
                     "\"price\":%lld}",
                     i + 1, bid ? p->cc[buyer] : p->cc[seller], service,
                     bid ? "bid" : "offer", (long long)qty, (long long)price);
    if (n < 0 || (unsigned)n >= CMD_BYTES) return fail("command %u too long", i);
    p->cmd_len[i] = (uint32_t)n;
  }
  return BENCH_EXIT_OK;
}

static void pool_free(led_pool *p) {
  free(p->trade);
  free(p->cmd);
  free(p->cmd_len);
}

/* Trade i of a run (0-based): pool entry i mod POOL_N, id i + 1. */
static inline imx_ledger_trade trade_at(const led_pool *p, uint64_t i) {
  imx_ledger_trade t = p->trade[i % POOL_N];
  t.trade_id = (int64_t)i + 1;
  t.period = 1 + (int64_t)(i / TRADES_PER_PERIOD);
  t.time_ms = TIME_START_MS + (int64_t)i;
  /* Both sides' orders, as imxd writes them (schema 4 indexes them). */
  t.buy_order = 2 * (int64_t)i + 1;
  t.sell_order = 2 * (int64_t)i + 2;
  return t;
}

static inline uint32_t cmd_at(uint64_t i) {
  return (uint32_t)(i % POOL_N);
}

/* ---- files --------------------------------------------------------------- */

static int db_path(char *buf, const char *dir, const char *kind,
                   uint32_t batch) {
  int n = snprintf(buf, PATH_BYTES, "%s/%s-batch%u.db", dir, kind, batch);
  if (n < 0 || (unsigned)n >= PATH_BYTES) return fail("path too long: %s", dir);
  return BENCH_EXIT_OK;
}

/* Removes a database and what SQLite keeps beside it; 0 or -1 with errno. */
static int db_remove(const char *path) {
  static const char *const suffixes[] = {"", "-wal", "-shm", "-journal", "-lock"};
  char p[PATH_BYTES + 16];
  int rc = 0;
  for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
    snprintf(p, sizeof p, "%s%s", path, suffixes[k]);
    if (unlink(p) != 0 && errno != ENOENT) rc = -1;
  }
  return rc;
}

/* The database and its WAL, after the last connection closed. */
static uint64_t db_bytes(const char *path) {
  char p[PATH_BYTES + 16];
  struct stat st;
  uint64_t bytes = 0;
  if (stat(path, &st) == 0) bytes += (uint64_t)st.st_size;
  snprintf(p, sizeof p, "%s-wal", path);
  if (stat(p, &st) == 0) bytes += (uint64_t)st.st_size;
  return bytes;
}

/* ---- one part: the ledger, or raw SQLite ---------------------------------- */

typedef struct led_part {
  int64_t ns;        /* the whole loop, commits included */
  int64_t commit_ns; /* in COMMIT */
  uint64_t commits;
  uint64_t file_bytes;
} led_part;

typedef struct led_result {
  uint32_t batch;
  uint64_t trades;
  led_part ledger, raw;
  int64_t verify_ns;
} led_result;

static int ledger_fail(imx_ledger *l, uint32_t batch, uint64_t i,
                       const char *what) {
  int rc = fail("ledger, batch %u, trade %llu: %s: %s", batch,
                (unsigned long long)i + 1, what, imx_ledger_error(l));
  imx_ledger_rollback(l);
  return rc;
}

static int ledger_write(imx_ledger *l, const led_pool *p, led_result *r) {
  int64_t commit_ns = 0, t0_ns = bench_now_ns();
  uint64_t i = 0, commits = 0;
  while (i < r->trades) {
    uint64_t end = r->trades - i < r->batch ? r->trades : i + r->batch;
    if (imx_ledger_begin(l) != 0) return ledger_fail(l, r->batch, i, "begin");
    for (; i < end; i++) {
      imx_ledger_trade t = trade_at(p, i);
      uint32_t k = cmd_at(i);
      if (imx_ledger_journal(l, (int64_t)i + 1, t.time_ms,
                             i & 1u ? t.seller : t.buyer, p->cmd[k],
                             p->cmd_len[k]) != 0)
        return ledger_fail(l, r->batch, i, "imx_ledger_journal");
      if (imx_ledger_put_trade(l, &t) != 0)
        return ledger_fail(l, r->batch, i, "imx_ledger_put_trade");
    }
    int64_t c0_ns = bench_now_ns();
    if (imx_ledger_commit(l) != 0) return ledger_fail(l, r->batch, i, "commit");
    commit_ns += bench_now_ns() - c0_ns;
    commits++;
  }
  r->ledger.ns = bench_elapsed_since(t0_ns);
  r->ledger.commit_ns = commit_ns;
  r->ledger.commits = commits;
  return BENCH_EXIT_OK;
}

static int run_ledger(const char *dir, const led_pool *p, const led_opts *o,
                      led_result *r) {
  char path[PATH_BYTES], err[256], failed[512];
  int rc = db_path(path, dir, "ledger", r->batch);
  if (rc != BENCH_EXIT_OK) return rc;
  if (db_remove(path) != 0) return fail("%s: cannot remove: %s", path, strerror(errno));
  imx_ledger *l = NULL;
  if (imx_ledger_open(path, o->sync_full, &l, err, sizeof err) != 0)
    rc = fail("imx_ledger_open(%s): %s", path, err);
  if (rc == BENCH_EXIT_OK) rc = ledger_write(l, p, r);
  if (rc == BENCH_EXIT_OK) {
    int64_t t0_ns = bench_now_ns();
    int v = imx_ledger_verify(l, failed, sizeof failed);
    r->verify_ns = bench_elapsed_since(t0_ns);
    if (v != 0)
      rc = fail("ledger, batch %u, %llu trades: imx_ledger_verify failed: %s",
                r->batch, (unsigned long long)r->trades, failed);
  }
  imx_ledger_close(l);
  r->ledger.file_bytes = db_bytes(path);
  db_remove(path);
  return rc;
}

/* The baseline: no imx code, the least SQLite can do for the same rows. */
typedef struct raw_db {
  sqlite3 *db;
  sqlite3_stmt *begin, *commit, *journal, *trade, *posting;
} raw_db;

static int raw_fail(raw_db *d, uint32_t batch, const char *what) {
  return fail("raw sqlite, batch %u: %s: %s", batch, what,
              d->db ? sqlite3_errmsg(d->db) : "out of memory");
}

/* Every migration of the ledger in order, then its triggers dropped. */
static int raw_schema(raw_db *d, uint32_t batch) {
  for (int v = 1; imx_ledger_migration_sql(v) != NULL; v++)
    if (sqlite3_exec(d->db, imx_ledger_migration_sql(v), NULL, NULL, NULL) != SQLITE_OK)
      return raw_fail(d, batch, "the ledger's migrations");
  sqlite3_stmt *st;
  char drop[RAW_TRIGGERS_MAX][128];
  int n = 0, rc;
  if (sqlite3_prepare_v2(d->db, "SELECT name FROM sqlite_master WHERE type = 'trigger'",
                         -1, &st, NULL) != SQLITE_OK)
    return raw_fail(d, batch, "listing triggers");
  while ((rc = sqlite3_step(st)) == SQLITE_ROW && n < RAW_TRIGGERS_MAX)
    snprintf(drop[n++], sizeof drop[0], "DROP TRIGGER \"%s\"",
             (const char *)sqlite3_column_text(st, 0));
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) return raw_fail(d, batch, "listing triggers");
  for (int k = 0; k < n; k++)
    if (sqlite3_exec(d->db, drop[k], NULL, NULL, NULL) != SQLITE_OK)
      return raw_fail(d, batch, drop[k]);
  return BENCH_EXIT_OK;
}

static int raw_open(raw_db *d, const char *path, int sync_full,
                    uint32_t batch) {
  if (sqlite3_open_v2(path, &d->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
                      NULL) != SQLITE_OK)
    return raw_fail(d, batch, path);
  char cache[64];
  snprintf(cache, sizeof cache, "PRAGMA cache_size=-%d", IMX_LEDGER_WRITER_CACHE_KIB);
  const char *setup[] = {"PRAGMA journal_mode=WAL",
                         sync_full ? "PRAGMA synchronous=FULL"
                                   : "PRAGMA synchronous=NORMAL",
                         cache}; /* as the ledger's writer */
  for (size_t k = 0; k < sizeof setup / sizeof setup[0]; k++)
    if (sqlite3_exec(d->db, setup[k], NULL, NULL, NULL) != SQLITE_OK)
      return raw_fail(d, batch, setup[k]);
  int rc = raw_schema(d, batch);
  if (rc != BENCH_EXIT_OK) return rc;
  struct {
    sqlite3_stmt **st;
    const char *sql;
  } prep[] = {{&d->begin, "BEGIN IMMEDIATE"},
              {&d->commit, "COMMIT"},
              {&d->journal, "INSERT INTO journal VALUES(?,?,?,?)"},
              {&d->trade, "INSERT INTO trades VALUES(?,?,?,?,?,?,?,?,?,?,?)"},
              {&d->posting, "INSERT INTO postings VALUES(?,?,?,?)"}};
  for (size_t k = 0; k < sizeof prep / sizeof prep[0]; k++)
    if (sqlite3_prepare_v2(d->db, prep[k].sql, -1, prep[k].st, NULL) !=
        SQLITE_OK)
      return raw_fail(d, batch, prep[k].sql);
  return BENCH_EXIT_OK;
}

static void raw_close(raw_db *d) {
  sqlite3_finalize(d->begin);
  sqlite3_finalize(d->commit);
  sqlite3_finalize(d->journal);
  sqlite3_finalize(d->trade);
  sqlite3_finalize(d->posting);
  sqlite3_close(d->db);
}

static inline int raw_step(sqlite3_stmt *st) {
  int rc = sqlite3_step(st);
  sqlite3_reset(st);
  return rc == SQLITE_DONE ? 0 : -1;
}

static inline int raw_posting(raw_db *d, const imx_ledger_trade *t,
                              const char *account, int64_t amount_minor) {
  sqlite3_bind_int64(d->posting, 1, t->trade_id);
  sqlite3_bind_text(d->posting, 2, account, -1, SQLITE_STATIC);
  sqlite3_bind_int64(d->posting, 3, t->period);
  sqlite3_bind_int64(d->posting, 4, amount_minor);
  return raw_step(d->posting);
}

static inline int raw_put(raw_db *d, const led_pool *p, uint64_t i) {
  imx_ledger_trade t = trade_at(p, i);
  uint32_t k = cmd_at(i);
  sqlite3_bind_int64(d->journal, 1, (int64_t)i + 1);
  sqlite3_bind_int64(d->journal, 2, t.time_ms);
  sqlite3_bind_text(d->journal, 3, i & 1u ? t.seller : t.buyer, -1,
                    SQLITE_STATIC);
  sqlite3_bind_text(d->journal, 4, p->cmd[k], (int)p->cmd_len[k],
                    SQLITE_STATIC);
  if (raw_step(d->journal) != 0) return -1;
  int64_t amount = t.qty * t.price_minor;
  sqlite3_bind_int64(d->trade, 1, t.trade_id);
  sqlite3_bind_int64(d->trade, 2, t.period);
  sqlite3_bind_int64(d->trade, 3, t.time_ms);
  sqlite3_bind_text(d->trade, 4, t.service, -1, SQLITE_STATIC);
  sqlite3_bind_text(d->trade, 5, t.buyer, -1, SQLITE_STATIC);
  sqlite3_bind_text(d->trade, 6, t.seller, -1, SQLITE_STATIC);
  sqlite3_bind_int64(d->trade, 7, t.qty);
  sqlite3_bind_int64(d->trade, 8, t.price_minor);
  sqlite3_bind_int64(d->trade, 9, amount);
  sqlite3_bind_int64(d->trade, 10, t.buy_order);
  sqlite3_bind_int64(d->trade, 11, t.sell_order);
  if (raw_step(d->trade) != 0) return -1;
  return raw_posting(d, &t, t.buyer, amount) ||
                 raw_posting(d, &t, t.seller, -amount)
             ? -1
             : 0;
}

static int raw_write(raw_db *d, const led_pool *p, led_result *r) {
  int64_t commit_ns = 0, t0_ns = bench_now_ns();
  uint64_t i = 0, commits = 0;
  while (i < r->trades) {
    uint64_t end = r->trades - i < r->batch ? r->trades : i + r->batch;
    if (raw_step(d->begin) != 0) return raw_fail(d, r->batch, "BEGIN");
    for (; i < end; i++)
      if (raw_put(d, p, i) != 0) return raw_fail(d, r->batch, "insert");
    int64_t c0_ns = bench_now_ns();
    if (raw_step(d->commit) != 0) return raw_fail(d, r->batch, "COMMIT");
    commit_ns += bench_now_ns() - c0_ns;
    commits++;
  }
  r->raw.ns = bench_elapsed_since(t0_ns);
  r->raw.commit_ns = commit_ns;
  r->raw.commits = commits;
  return BENCH_EXIT_OK;
}

static int run_raw(const char *dir, const led_pool *p, const led_opts *o,
                   led_result *r) {
  char path[PATH_BYTES];
  int rc = db_path(path, dir, "raw", r->batch);
  if (rc != BENCH_EXIT_OK) return rc;
  if (db_remove(path) != 0) return fail("%s: cannot remove: %s", path, strerror(errno));
  raw_db d = {0};
  rc = raw_open(&d, path, o->sync_full, r->batch);
  if (rc == BENCH_EXIT_OK) rc = raw_write(&d, p, r);
  raw_close(&d);
  r->raw.file_bytes = db_bytes(path);
  db_remove(path);
  return rc;
}

/* ---- the report ---------------------------------------------------------- */

/* JSON keys are flat: every figure of a batch size is prefixed batch_B_. */
static const char *key(char *buf, size_t len, const led_result *r,
                       const char *name) {
  snprintf(buf, len, "batch_%u_%s", r->batch, name);
  return buf;
}

static double share(int64_t part_ns, int64_t whole_ns) {
  return 100.0 * (double)part_ns / (double)whole_ns;
}

static void print_header(bench_out *out, const led_opts *o, const char *dir) {
  bench_out_section(out, "setup");
  bench_out_str(out, "sync", "synchronous", o->sync_full ? "full" : "normal",
                o->sync_full ? "fsync at every commit" : "--sync normal");
  bench_out_str(out, "sqlite_version", "SQLite", sqlite3_libversion(), NULL);
  if (o->trades)
    bench_out_u64(out, "trades", "trades per batch size", o->trades, NULL,
                  "--trades");
  else /* JSON: 0, the defaults */
    bench_out_u64(out, "trades", NULL, 0, NULL, NULL);
  bench_out_u64(out, "cost_centres", "cost centres (accounts)", CC_N, NULL,
                NULL);
  bench_out_u64(out, "services", "services", SERVICES_N, NULL, NULL);
  char line[PATH_BYTES + 64];
  snprintf(line, sizeof line, "files in %s (%s)", dir,
           o->dir ? "--dir, kept" : "mkdtemp, removed at the end");
  bench_out_str(out, "dir", NULL, dir, NULL);
  bench_out_remark(out, line);
  if (!o->trades)
    bench_out_remark(out, "trades: 5,000, 50,000 and 200,000 for batches of "
                          "1, 64 and 4,096 (--trades N)");
  bench_out_remark(out, "ledger: per batch imx_ledger_begin, per trade "
                        "imx_ledger_journal (the order.new,");
  bench_out_remark(out, "~120 bytes) and imx_ledger_put_trade (a trade row, "
                        "two postings), commit;");
  bench_out_remark(out, "imx_ledger_verify after the last batch must return 0."
                        " raw: SQLite, the same");
  bench_out_remark(out, "tables and indexes (the ledger's migrations) and rows,"
                        " WAL, the same synchronous,");
  bench_out_remark(out, "prepared statements, no checks (foreign_keys off, "
                        "triggers dropped). A fresh file per part; rows = 4 a");
  bench_out_remark(out, "trade: journal, trade, 2 postings.");
  bench_out_remark(out, "target: >= 500 k postings/s with large batches "
                        "(4,096); figures never fail the run");
}

static void print_batch(bench_out *out, const led_result *r) {
  char k[64], note[96], a[32];
  uint64_t postings = r->trades * POSTINGS_PER_TRADE;
  double led_pps = bench_per_s(postings, r->ledger.ns);
  double raw_pps = bench_per_s(postings, r->raw.ns);
  snprintf(note, sizeof note, "%s commits", bench_grouped(a, sizeof a, (int64_t)r->ledger.commits));
  bench_out_u64(out, key(k, sizeof k, r, "trades"), "trades", r->trades, NULL,
                note);
  bench_out_f64(out, key(k, sizeof k, r, "ledger_trades_per_s"),
                "ledger: journal + put_trade", bench_per_s(r->trades, r->ledger.ns),
                0, "trades/s", NULL);
  const char *target = NULL;
  if (r->batch == TARGET_BATCH) {
    snprintf(note, sizeof note, "target >= 500,000: %s",
             bench_met(led_pps >= TARGET_POSTINGS_PER_S));
    target = note;
  }
  bench_out_f64(out, key(k, sizeof k, r, "ledger_postings_per_s"), "ledger",
                led_pps, 0, "postings/s", target);
  if (target)
    bench_out_f64(out, key(k, sizeof k, r, "ledger_postings_per_s_target"),
                  NULL, TARGET_POSTINGS_PER_S, 0, NULL, NULL);
  bench_out_f64(out, key(k, sizeof k, r, "ledger_us_per_trade"),
                "ledger, per trade", (double)r->ledger.ns / 1e3 / (double)r->trades,
                2, "us", NULL);
  bench_out_f64(out, key(k, sizeof k, r, "ledger_commit_pct"),
                "ledger, share of the time in commit",
                share(r->ledger.commit_ns, r->ledger.ns), 1, "%", NULL);
  bench_out_f64(out, key(k, sizeof k, r, "verify_ms"), "imx_ledger_verify",
                (double)r->verify_ns / 1e6, 1, "ms", "returned 0: every check passes");
  snprintf(note, sizeof note, "%.0f bytes a trade",
           (double)r->ledger.file_bytes / (double)r->trades);
  bench_out_bytes(out, key(k, sizeof k, r, "ledger_file_bytes"),
                  "ledger file after close", r->ledger.file_bytes, note);
  bench_out_f64(out, key(k, sizeof k, r, "raw_rows_per_s"),
                "raw sqlite: rows", bench_per_s(r->trades * ROWS_PER_TRADE, r->raw.ns),
                0, "rows/s", "journal, trade, 2 postings");
  bench_out_f64(out, key(k, sizeof k, r, "raw_trades_per_s"), "raw sqlite",
                bench_per_s(r->trades, r->raw.ns), 0, "trades/s", NULL);
  bench_out_f64(out, key(k, sizeof k, r, "raw_postings_per_s"), "raw sqlite",
                raw_pps, 0, "postings/s", NULL);
  bench_out_f64(out, key(k, sizeof k, r, "raw_commit_pct"),
                "raw sqlite, share of the time in commit",
                share(r->raw.commit_ns, r->raw.ns), 1, "%", NULL);
  bench_out_bytes(out, key(k, sizeof k, r, "raw_file_bytes"),
                  "raw sqlite file after close", r->raw.file_bytes, NULL);
  bench_out_f64(out, key(k, sizeof k, r, "ledger_to_raw_ratio"),
                "ledger / raw sqlite", led_pps / raw_pps, 2, "x",
                "postings/s; 1.00: imx adds nothing");
}

static void print_all(const led_opts *o, const char *dir,
                      const led_result *r, uint32_t n) {
  char title[96], a[32];
  bench_out out;
  bench_out_begin(&out, o->json, "ledger");
  print_header(&out, o, dir);
  for (uint32_t i = 0; i < n; i++) {
    snprintf(title, sizeof title, "batches of %s trades a transaction",
             bench_grouped(a, sizeof a, (int64_t)r[i].batch));
    bench_out_section(&out, title);
    print_batch(&out, &r[i]);
  }
  bench_out_end(&out);
}

int bench_ledger_main(int argc, char **argv) {
  led_opts o;
  int rc = parse_opts(argc, argv, &o);
  if (rc != BENCH_EXIT_OK) return rc;
  char tmp[] = "/tmp/imx-bench-ledger.XXXXXX";
  const char *dir = o.dir;
  struct stat st;
  if (dir == NULL) {
    if (mkdtemp(tmp) == NULL) return fail("mkdtemp %s: %s", tmp, strerror(errno));
    dir = tmp;
  } else if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    return fail("--dir %s: not a directory", dir);
  }
  led_pool pool = {0};
  led_result results[BATCHES_N];
  memset(results, 0, sizeof results);
  rc = pool_generate(&pool);
  for (uint32_t i = 0; i < BATCHES_N && rc == BENCH_EXIT_OK; i++) {
    results[i].batch = batches[i];
    results[i].trades = o.trades ? o.trades : trades_default[i];
    rc = run_ledger(dir, &pool, &o, &results[i]);
    if (rc == BENCH_EXIT_OK) rc = run_raw(dir, &pool, &o, &results[i]);
  }
  pool_free(&pool);
  if (dir == tmp && rmdir(tmp) != 0 && rc == BENCH_EXIT_OK)
    rc = fail("rmdir %s: %s", tmp, strerror(errno));
  if (rc == BENCH_EXIT_OK) print_all(&o, dir, results, BATCHES_N);
  return rc;
}
