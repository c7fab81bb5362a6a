/*
** test_ledger.c -- the ledger's schema and its migrations, double entry,
** unique keys, closed periods, verification, read-only opening and the
** exports' escaping, the one-writer lock, readers beside a lock SQLite
** holds, and reading trades one at a time, on temporary SQLite files.
*/
#define _POSIX_C_SOURCE 200809L

#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "imx_ledger.h"

static char path[64];

static imx_ledger *fresh(void) {
  snprintf(path, sizeof path, "/tmp/imx-ledger-test-XXXXXX");
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  unlink(path);
  imx_ledger *l = NULL;
  char err[256];
  CHECK_EQ(0, imx_ledger_open(path, 1, &l, err, sizeof err));
  return l;
}

static void done(imx_ledger *l) {
  imx_ledger_close(l);
  char wal[80];
  unlink(path);
  snprintf(wal, sizeof wal, "%s-wal", path);
  unlink(wal);
  snprintf(wal, sizeof wal, "%s-shm", path);
  unlink(wal);
  snprintf(wal, sizeof wal, "%s-lock", path);
  unlink(wal);
}

static imx_ledger_trade trade(int64_t id, const char *buyer, const char *seller,
                              int64_t qty, int64_t price) {
  imx_ledger_trade t = {.trade_id = id, .period = 1, .time_ms = 1000 + id,
                        .service = "it.hour", .buyer = buyer, .seller = seller,
                        .qty = qty, .price_minor = price};
  return t;
}

/* Runs raw SQL on the file behind the ledger's back. */
static void tamper(const char *sql) {
  sqlite3 *db;
  CHECK_EQ(SQLITE_OK, sqlite3_open(path, &db));
  CHECK_EQ(SQLITE_OK, sqlite3_exec(db, sql, NULL, NULL, NULL));
  sqlite3_close(db);
}

static void test_a_trade_debits_the_buyer_and_credits_the_seller(void) {
  imx_ledger *l = fresh();
  imx_ledger_trade t = trade(1, "CC-1100", "CC-4100", 25, 8500);
  CHECK_EQ(0, imx_ledger_begin(l));
  CHECK_EQ(0, imx_ledger_journal(l, 1, 1000, "CC-1100", "{}", 2));
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  CHECK_EQ(0, imx_ledger_commit(l));
  int64_t b = 0;
  CHECK_EQ(0, imx_ledger_balance(l, "CC-1100", &b));
  CHECK_EQ(212500, b);
  CHECK_EQ(0, imx_ledger_balance(l, "CC-4100", &b));
  CHECK_EQ(-212500, b);
  CHECK_EQ(0, imx_ledger_balance(l, "CC-NOBODY", &b));
  CHECK_EQ(0, b);
  char failed[256] = "";
  CHECK_EQ(0, imx_ledger_verify(l, failed, sizeof failed));
  done(l);
}

static void test_a_trade_cannot_be_written_twice(void) {
  imx_ledger *l = fresh();
  imx_ledger_trade t = trade(7, "A", "B", 1, 100);
  CHECK_EQ(0, imx_ledger_begin(l));
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  CHECK_EQ(-1, imx_ledger_put_trade(l, &t));
  CHECK(strstr(imx_ledger_error(l), "UNIQUE") != NULL);
  CHECK_EQ(0, imx_ledger_rollback(l));
  int64_t b = 1;
  CHECK_EQ(0, imx_ledger_balance(l, "A", &b));
  CHECK_EQ(0, b); /* the rolled-back batch left nothing */
  done(l);
}

static void test_bad_trades_are_refused(void) {
  imx_ledger *l = fresh();
  imx_ledger_trade t = trade(1, "A", "A", 1, 100);
  CHECK_EQ(-1, imx_ledger_put_trade(l, &t)); /* buyer = seller */
  t = trade(2, "A", "B", 0, 100);
  CHECK_EQ(-1, imx_ledger_put_trade(l, &t));
  t = trade(3, "A", "B", 1, 1000000001);
  CHECK_EQ(-1, imx_ledger_put_trade(l, &t));
  done(l);
}

static void test_reopening_keeps_the_ledger_and_its_schema(void) {
  imx_ledger *l = fresh();
  imx_ledger_trade t = trade(1, "A", "B", 3, 100);
  CHECK_EQ(0, imx_ledger_put_trade(l, &t)); /* autocommit outside a batch */
  imx_ledger_close(l);
  char err[256];
  CHECK_EQ(0, imx_ledger_open(path, 0, &l, err, sizeof err));
  int64_t b = 0;
  CHECK_EQ(0, imx_ledger_balance(l, "A", &b));
  CHECK_EQ(300, b);
  char failed[256];
  CHECK_EQ(0, imx_ledger_verify(l, failed, sizeof failed));
  done(l);
}

/* Each tampering breaks one named check, and verify names it. */
static void expect_check_fails(const char *sql, const char *name) {
  imx_ledger *l = fresh();
  imx_ledger_trade t1 = trade(1, "A", "B", 2, 100), t2 = trade(2, "C", "B", 1, 50);
  CHECK_EQ(0, imx_ledger_put_trade(l, &t1));
  CHECK_EQ(0, imx_ledger_put_trade(l, &t2));
  tamper(sql);
  char failed[256] = "";
  CHECK_EQ(-1, imx_ledger_verify(l, failed, sizeof failed));
  if (strncmp(failed, name, strlen(name)) != 0)
    fprintf(stderr, "  want %s, got: %s\n", name, failed);
  CHECK(strncmp(failed, name, strlen(name)) == 0);
  done(l);
}

static void test_verify_names_the_check_that_fails(void) {
  expect_check_fails("UPDATE postings SET amount_minor = 150 WHERE trade_id = 1 AND account = 'A'",
                     "trade_balanced");
  expect_check_fails("DELETE FROM postings WHERE trade_id = 2 AND account = 'C'",
                     "two_postings_per_trade");
  expect_check_fails("UPDATE postings SET account = 'Z' WHERE trade_id = 1 AND account = 'A'",
                     "postings_match_trade");
  expect_check_fails("PRAGMA user_version = 7", "schema_version");
}

/* From a snapshot, imxd checks only the trades after its last one: a bad
** trade before is left to the full check, one after is found. */
static void test_verify_after_checks_the_trades_after_an_id_only(void) {
  imx_ledger *l = fresh();
  CHECK_EQ(0, imx_ledger_begin(l));
  for (int64_t id = 1; id <= 10; id++) {
    imx_ledger_trade t = trade(id, id % 2 ? "A" : "B", "C", 2, 50);
    CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  }
  CHECK_EQ(0, imx_ledger_commit(l));
  char failed[256];
  CHECK_EQ(0, imx_ledger_verify_after(l, 0, failed, sizeof failed));
  tamper("UPDATE postings SET amount_minor = 150 WHERE trade_id = 4 AND account = 'B'");
  CHECK_EQ(0, imx_ledger_verify_after(l, 4, failed, sizeof failed));
  CHECK_EQ(-1, imx_ledger_verify_after(l, 3, failed, sizeof failed));
  CHECK(strstr(failed, "trade_balanced (first offender: 4)") != NULL);
  CHECK_EQ(-1, imx_ledger_verify(l, failed, sizeof failed));
  tamper("UPDATE postings SET amount_minor = 100 WHERE trade_id = 4 AND account = 'B';"
         "DELETE FROM postings WHERE trade_id = 9 AND account = 'A'");
  CHECK_EQ(-1, imx_ledger_verify_after(l, 8, failed, sizeof failed));
  CHECK(strstr(failed, "two_postings_per_trade (first offender: 9)") != NULL);
  CHECK_EQ(0, imx_ledger_verify_after(l, 9, failed, sizeof failed));
  done(l);
}

static void test_a_newer_schema_is_refused(void) {
  imx_ledger *l = fresh();
  imx_ledger_close(l);
  tamper("PRAGMA user_version = 99");
  char err[256] = "";
  CHECK_EQ(-1, imx_ledger_open(path, 1, &l, err, sizeof err));
  CHECK(strstr(err, "newer") != NULL);
  done(l);
}

static void test_a_file_that_is_not_a_ledger_gives_an_error(void) {
  snprintf(path, sizeof path, "/tmp/imx-ledger-junk-XXXXXX");
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  const char junk[] = "this is not an SQLite database, only some bytes of text";
  for (int i = 0; i < 100; i++) CHECK(write(fd, junk, sizeof junk) > 0);
  close(fd);
  imx_ledger *l = NULL;
  char err[256] = "";
  CHECK_EQ(-1, imx_ledger_open(path, 1, &l, err, sizeof err));
  CHECK(strstr(err, "not a database") != NULL || strstr(err, "ledger") != NULL);
  done(l);
}

/* Closing a period writes a summary per cost centre and freezes it. */
static void test_a_closed_period_has_summaries_and_is_frozen(void) {
  imx_ledger *l = fresh();
  imx_ledger_trade t1 = trade(1, "A", "B", 2, 100), t2 = trade(2, "A", "C", 3, 50);
  CHECK_EQ(0, imx_ledger_put_trade(l, &t1));
  CHECK_EQ(0, imx_ledger_put_trade(l, &t2));
  CHECK_EQ(0, imx_ledger_close_period(l, 1, 5000));
  imx_ledger_trade late = trade(3, "A", "B", 1, 100); /* period 1 again */
  CHECK_EQ(-1, imx_ledger_put_trade(l, &late));
  CHECK(strstr(imx_ledger_error(l), "the period is closed") != NULL);
  imx_ledger_close(l);
  sqlite3 *db;
  sqlite3_stmt *st;
  CHECK_EQ(SQLITE_OK, sqlite3_open(path, &db));
  CHECK_EQ(SQLITE_OK, sqlite3_prepare_v2(db,
      "SELECT cc, spent_minor, earned_minor, units_bought, units_sold"
      " FROM period_summaries WHERE period = 1 ORDER BY cc", -1, &st, NULL));
  static const char *const cc[] = {"A", "B", "C"};
  static const int64_t want[3][4] = {{350, 0, 5, 0}, {0, 200, 0, 2}, {0, 150, 0, 3}};
  for (int i = 0; i < 3; i++) {
    CHECK_EQ(SQLITE_ROW, sqlite3_step(st));
    CHECK_STR(cc[i], (const char *)sqlite3_column_text(st, 0));
    for (int k = 0; k < 4; k++) CHECK_EQ(want[i][k], sqlite3_column_int64(st, k + 1));
  }
  CHECK_EQ(SQLITE_DONE, sqlite3_step(st));
  sqlite3_finalize(st);
  CHECK(sqlite3_exec(db, "UPDATE postings SET amount_minor = 0", NULL, NULL, NULL) != SQLITE_OK);
  sqlite3_close(db);
  char err[256];
  CHECK_EQ(0, imx_ledger_open(path, 1, &l, err, sizeof err));
  done(l);
}

/* ------------------------------------------------ opening existing files */

static int exists(const char *p) {
  struct stat st;
  return stat(p, &st) == 0;
}

static void test_opening_a_missing_ledger_fails_and_creates_nothing(void) {
  const char *missing = "/tmp/imx-ledger-test-missing/nothing.db";
  imx_ledger *l = NULL;
  char err[256] = "";
  CHECK_EQ(-1, imx_ledger_open_existing(missing, &l, err, sizeof err));
  CHECK(strstr(err, "No such file") != NULL);
  CHECK(!exists(missing));
  imx_ledger_close(l);
  snprintf(path, sizeof path, "/tmp/imx-ledger-test-XXXXXX");
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  unlink(path);
  CHECK_EQ(-1, imx_ledger_open_existing(path, &l, err, sizeof err));
  CHECK(!exists(path));
  imx_ledger_close(l);
}

static void test_an_existing_ledger_opens_read_only(void) {
  imx_ledger *l = fresh();
  imx_ledger_trade t = trade(1, "A", "B", 3, 100);
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  imx_ledger_close(l);
  char err[256] = "", failed[256] = "";
  CHECK_EQ(0, imx_ledger_open_existing(path, &l, err, sizeof err));
  CHECK_EQ(0, imx_ledger_verify(l, failed, sizeof failed));
  imx_ledger_trade t2 = trade(2, "A", "B", 1, 100);
  CHECK_EQ(-1, imx_ledger_put_trade(l, &t2));
  CHECK(strstr(imx_ledger_error(l), "readonly") != NULL);
  int64_t seq = -1, last = -1;
  CHECK_EQ(0, imx_ledger_last(l, &seq, &last));
  CHECK_EQ(1, last);
  done(l);
}

static void test_an_sqlite_file_that_is_not_a_ledger_is_refused(void) {
  imx_ledger *l = fresh();
  imx_ledger_close(l);
  tamper("PRAGMA user_version = 0");
  char err[256] = "";
  CHECK_EQ(-1, imx_ledger_open_existing(path, &l, err, sizeof err));
  CHECK(strstr(err, "not an imx ledger") != NULL);
  imx_ledger_close(l);
  tamper("PRAGMA user_version = 99");
  CHECK_EQ(-1, imx_ledger_open_existing(path, &l, err, sizeof err));
  CHECK(strstr(err, "newer") != NULL);
  done(l);
}

/* ------------------------------------------------ one writer, many readers */

static void test_a_second_writer_is_refused_and_the_lock_file_named(void) {
  imx_ledger *l = fresh(), *second = NULL;
  char err[512] = "", lock[80];
  snprintf(lock, sizeof lock, "%s-lock", path);
  CHECK_EQ(-1, imx_ledger_open(path, 1, &second, err, sizeof err));
  CHECK(strstr(err, lock) != NULL);
  CHECK(strstr(err, "in use by another writer") != NULL);
  char pid[32];
  snprintf(pid, sizeof pid, "(pid %ld)", (long)getpid());
  CHECK(strstr(err, pid) != NULL);
  imx_ledger_close(second);
  /* The writer is untouched, and readers still read. */
  imx_ledger_trade t = trade(1, "A", "B", 3, 100);
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  imx_ledger *reader = NULL;
  char failed[256] = "";
  CHECK_EQ(0, imx_ledger_open_existing(path, &reader, err, sizeof err));
  CHECK_EQ(0, imx_ledger_verify(reader, failed, sizeof failed));
  imx_ledger_close(reader);
  /* Closing the writer lets the next one in. */
  imx_ledger_close(l);
  CHECK_EQ(0, imx_ledger_open(path, 1, &l, err, sizeof err));
  done(l);
}

static void test_a_lock_file_left_by_a_dead_writer_does_not_lock(void) {
  imx_ledger *l = fresh();
  imx_ledger_close(l);
  char lock[80];
  snprintf(lock, sizeof lock, "%s-lock", path);
  FILE *f = fopen(lock, "w");
  CHECK(f != NULL);
  fputs("999999999\n", f); /* a pid nobody has: the file, not the lock */
  fclose(f);
  char err[256] = "";
  CHECK_EQ(0, imx_ledger_open(path, 1, &l, err, sizeof err));
  done(l);
}

static int64_t ms_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A child process holds SQLite's exclusive lock on the file (what a
** locking_mode=EXCLUSIVE connection or WAL recovery does) for hold_ms; a
** reader opened meanwhile waits for it instead of failing "database is
** locked". */
static void test_a_reader_waits_for_a_lock_that_sqlite_holds(void) {
  imx_ledger *l = fresh();
  imx_ledger_trade t = trade(1, "A", "B", 3, 100);
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  imx_ledger_close(l);
  int ready[2];
  CHECK_EQ(0, pipe(ready));
  const int hold_ms = 400;
  pid_t child = fork();
  CHECK(child >= 0);
  if (child == 0) {
    sqlite3 *db;
    int ok = sqlite3_open(path, &db) == SQLITE_OK &&
             sqlite3_exec(db, "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE;"
                          " SELECT count(*) FROM trades; COMMIT;",
                          NULL, NULL, NULL) == SQLITE_OK;
    if (write(ready[1], ok ? "1" : "0", 1) != 1) _exit(2);
    struct timespec d = {0, hold_ms * 1000000L};
    nanosleep(&d, NULL);
    sqlite3_close(db);
    _exit(ok ? 0 : 1);
  }
  char c = 0;
  CHECK_EQ(1, read(ready[0], &c, 1));
  CHECK_EQ('1', c);
  /* The lock is really held: a connection that does not wait fails. */
  sqlite3 *probe;
  CHECK_EQ(SQLITE_OK, sqlite3_open_v2(path, &probe, SQLITE_OPEN_READONLY, NULL));
  CHECK_EQ(SQLITE_BUSY, sqlite3_exec(probe, "SELECT count(*) FROM trades", NULL, NULL,
                                     NULL));
  sqlite3_close(probe);
  int64_t t0 = ms_now();
  char err[256] = "", failed[256] = "";
  CHECK_EQ(0, imx_ledger_open_existing(path, &l, err, sizeof err));
  if (err[0]) fprintf(stderr, "  open_existing: %s\n", err);
  CHECK_EQ(0, l ? imx_ledger_verify(l, failed, sizeof failed) : -1);
  CHECK(ms_now() - t0 >= hold_ms / 4); /* it waited */
  int status = -1;
  CHECK_EQ(child, waitpid(child, &status, 0));
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  close(ready[0]);
  close(ready[1]);
  done(l);
}

/* Recovery reads the ledger's trades one by one while it replays the
** journal: a cursor beside journal_each on the same connection. */
typedef struct beside {
  imx_ledger_cursor *cur;
  int64_t ids[4];
  int n;
} beside;

static int next_trade_per_entry(void *ctx, int64_t seq, int64_t time_ms, const char *cc,
                                const char *command, size_t len) {
  beside *b = ctx;
  (void)seq, (void)time_ms, (void)cc, (void)command, (void)len;
  imx_ledger_trade t;
  int rc = imx_ledger_trades_next(b->cur, &t);
  if (rc == 1 && b->n < 4) b->ids[b->n++] = t.trade_id;
  return rc < 0 ? -1 : 0;
}

static void test_trades_are_read_one_at_a_time_beside_the_journal(void) {
  imx_ledger *l = fresh();
  imx_ledger_trade t1 = trade(1, "A", "B", 3, 100), t2 = trade(2, "C", "B", 1, 250);
  t2.period = 2;
  CHECK_EQ(0, imx_ledger_begin(l));
  CHECK_EQ(0, imx_ledger_journal(l, 1, 1000, "A", "{}", 2));
  CHECK_EQ(0, imx_ledger_put_trade(l, &t1));
  CHECK_EQ(0, imx_ledger_journal(l, 2, 1001, "C", "{}", 2));
  CHECK_EQ(0, imx_ledger_put_trade(l, &t2));
  CHECK_EQ(0, imx_ledger_journal(l, 3, 1002, "C", "{}", 2));
  CHECK_EQ(0, imx_ledger_commit(l));
  beside b = {0};
  CHECK_EQ(0, imx_ledger_trades_open(l, 0, &b.cur));
  CHECK_EQ(0, imx_ledger_journal_each(l, next_trade_per_entry, &b));
  CHECK_EQ(2, b.n);
  CHECK_EQ(1, b.ids[0]);
  CHECK_EQ(2, b.ids[1]);
  imx_ledger_trade t;
  CHECK_EQ(0, imx_ledger_trades_next(b.cur, &t)); /* the end, and it stays there */
  imx_ledger_trades_close(b.cur);
  /* One period: its trades only, every field as written. */
  CHECK_EQ(0, imx_ledger_trades_open(l, 2, &b.cur));
  CHECK_EQ(1, imx_ledger_trades_next(b.cur, &t));
  CHECK_EQ(2, t.trade_id);
  CHECK_EQ(2, t.period);
  CHECK_EQ(1002, t.time_ms);
  CHECK_STR("it.hour", t.service);
  CHECK_STR("C", t.buyer);
  CHECK_STR("B", t.seller);
  CHECK_EQ(1, t.qty);
  CHECK_EQ(250, t.price_minor);
  CHECK_EQ(0, imx_ledger_trades_next(b.cur, &t));
  imx_ledger_trades_close(b.cur);
  done(l);
}

/* Overwrites bytes of the file: the ledger must be closed (WAL checkpointed). */
static void scribble(long offset, const char *bytes) {
  FILE *f = fopen(path, "r+b");
  CHECK(f != NULL);
  CHECK_EQ(0, fseek(f, offset, SEEK_SET));
  CHECK_EQ(strlen(bytes), fwrite(bytes, 1, strlen(bytes), f));
  fclose(f);
}

static void test_verify_reports_the_integrity_checks_own_rows(void) {
  imx_ledger *l = fresh();
  imx_ledger_trade t = trade(1, "A", "B", 3, 100);
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  imx_ledger_close(l);
  scribble(4096, "garbage"); /* page 2: the journal's root */
  char err[256] = "", failed[512] = "";
  CHECK_EQ(0, imx_ledger_open_existing(path, &l, err, sizeof err));
  CHECK_EQ(-1, imx_ledger_verify(l, failed, sizeof failed));
  if (strstr(failed, "Page 2") == NULL) fprintf(stderr, "  got: %s\n", failed);
  CHECK(strncmp(failed, "integrity: *** in database main *** Page 2: ", 44) == 0);
  CHECK(strchr(failed, '\n') == NULL);
  done(l);
}

/* ------------------------------------------------------ closed periods */

static void test_a_period_closed_inside_a_batch_refuses_its_next_trade(void) {
  imx_ledger *l = fresh();
  imx_ledger_trade t1 = trade(1, "A", "B", 1, 100), t2 = trade(2, "A", "B", 1, 100);
  t1.period = t2.period = 2;
  CHECK_EQ(0, imx_ledger_begin(l));
  CHECK_EQ(0, imx_ledger_put_trade(l, &t1)); /* period 2 found open */
  CHECK_EQ(0, imx_ledger_close_period(l, 2, 5000));
  CHECK_EQ(-1, imx_ledger_put_trade(l, &t2));
  CHECK(strstr(imx_ledger_error(l), "the period is closed") != NULL);
  CHECK_EQ(0, imx_ledger_rollback(l));
  CHECK_EQ(0, imx_ledger_begin(l)); /* rolled back: period 2 is open again */
  CHECK_EQ(0, imx_ledger_put_trade(l, &t2));
  CHECK_EQ(0, imx_ledger_commit(l));
  done(l);
}

static void test_verify_finds_a_trade_slipped_into_a_closed_period(void) {
  imx_ledger *l = fresh();
  imx_ledger_trade t = trade(1, "A", "B", 2, 100);
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  CHECK_EQ(0, imx_ledger_close_period(l, 1, 5000));
  char failed[256] = "";
  CHECK_EQ(0, imx_ledger_verify(l, failed, sizeof failed));
  tamper("INSERT INTO trades VALUES(2, 1, 1002, 'it.hour', 'C', 'B', 1, 50, 50, NULL, NULL);"
         "INSERT INTO postings VALUES(2, 'C', 1, 50), (2, 'B', 1, -50);");
  CHECK_EQ(-1, imx_ledger_verify(l, failed, sizeof failed));
  CHECK_STR("closed_period_unchanged (first offender: period 1, B)", failed);
  done(l);
}

static void test_a_closed_periods_trades_cannot_change(void) {
  imx_ledger *l = fresh();
  imx_ledger_trade t = trade(1, "A", "B", 2, 100);
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  CHECK_EQ(0, imx_ledger_close_period(l, 1, 5000));
  imx_ledger_close(l);
  sqlite3 *db;
  CHECK_EQ(SQLITE_OK, sqlite3_open(path, &db));
  CHECK(sqlite3_exec(db, "UPDATE trades SET time_ms = 0", NULL, NULL, NULL) != SQLITE_OK);
  CHECK(sqlite3_exec(db, "DELETE FROM trades", NULL, NULL, NULL) != SQLITE_OK);
  CHECK(sqlite3_exec(db, "UPDATE postings SET period = 1 WHERE 0", NULL, NULL, NULL) ==
        SQLITE_OK);
  sqlite3_close(db);
  char err[256];
  CHECK_EQ(0, imx_ledger_open(path, 1, &l, err, sizeof err));
  done(l);
}

/* ----------------------------------------------------------- migrations */

/* A ledger as imx with schema version 2 left it: trades in periods 1 and
** 2, period 1 closed. */
static void write_v2_ledger(void) {
  snprintf(path, sizeof path, "/tmp/imx-ledger-test-XXXXXX");
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  unlink(path);
  sqlite3 *db;
  CHECK_EQ(SQLITE_OK, sqlite3_open(path, &db));
  const char *sql[] = {
      "PRAGMA journal_mode=WAL", imx_ledger_migration_sql(1), imx_ledger_migration_sql(2),
      "PRAGMA user_version=2",
      "INSERT INTO journal VALUES(1, 1000, 'A', '{}');"
      "INSERT INTO trades VALUES(1, 1, 1001, 'it.hour', 'A', 'B', 2, 100, 200);"
      "INSERT INTO postings VALUES(1, 'A', 1, 200), (1, 'B', 1, -200);"
      "INSERT INTO periods VALUES(1, 2000);"
      "INSERT INTO period_summaries VALUES(1, 'A', 200, 0, 2, 0), (1, 'B', 0, 200, 0, 2);"
      "INSERT INTO trades VALUES(2, 2, 3001, 'it.hour', 'C', 'B', 1, 50, 50);"
      "INSERT INTO postings VALUES(2, 'C', 2, 50), (2, 'B', 2, -50);"};
  for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
    CHECK_EQ(SQLITE_OK, sqlite3_exec(db, sql[i], NULL, NULL, NULL));
  sqlite3_close(db);
}

static int64_t sql_int(const char *sql) {
  sqlite3 *db;
  sqlite3_stmt *st;
  int64_t v = -1;
  CHECK_EQ(SQLITE_OK, sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL));
  CHECK_EQ(SQLITE_OK, sqlite3_prepare_v2(db, sql, -1, &st, NULL));
  if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

static void test_a_v2_ledger_is_read_as_it_is_and_upgraded(void) {
  write_v2_ledger();
  imx_ledger *l = NULL;
  char err[256] = "", failed[256] = "";
  /* Read-only: verified as version 2, left as it is. */
  CHECK_EQ(0, imx_ledger_open_existing(path, &l, err, sizeof err));
  CHECK_EQ(0, imx_ledger_verify(l, failed, sizeof failed));
  imx_ledger_close(l);
  CHECK_EQ(2, sql_int("PRAGMA user_version"));
  /* Read-write: migrated. */
  CHECK_EQ(0, imx_ledger_open(path, 1, &l, err, sizeof err));
  CHECK_EQ(6, sql_int("PRAGMA user_version"));
  CHECK_EQ(IMX_LEDGER_SCHEMA_VERSION, sql_int("PRAGMA user_version"));
  CHECK_EQ(0, sql_int("SELECT count(*) FROM sqlite_master WHERE name = 'postings_frozen_insert'"));
  CHECK_EQ(1, sql_int("SELECT count(*) FROM sqlite_master WHERE name = 'trades_frozen_update'"));
  CHECK_EQ(0, imx_ledger_verify(l, failed, sizeof failed));
  int64_t b = 0, seq = 0, last = 0;
  CHECK_EQ(0, imx_ledger_balance(l, "B", &b));
  CHECK_EQ(-250, b);
  CHECK_EQ(0, imx_ledger_last(l, &seq, &last));
  CHECK_EQ(1, seq);
  CHECK_EQ(2, last);
  /* Period 1 stays closed, period 2 open. */
  imx_ledger_trade late = trade(3, "A", "B", 1, 100), now = trade(4, "A", "B", 1, 100);
  now.period = 2;
  CHECK_EQ(0, imx_ledger_begin(l));
  CHECK_EQ(-1, imx_ledger_put_trade(l, &late));
  CHECK(strstr(imx_ledger_error(l), "the period is closed") != NULL);
  CHECK_EQ(0, imx_ledger_put_trade(l, &now));
  CHECK_EQ(0, imx_ledger_commit(l));
  CHECK_EQ(0, imx_ledger_verify(l, failed, sizeof failed));
  imx_ledger_close(l);
  CHECK_EQ(0, imx_ledger_open(path, 1, &l, err, sizeof err)); /* nothing more to do */
  CHECK_EQ(6, sql_int("PRAGMA user_version"));
  done(l);
}

/* -------------------------------------------------------- closed orders */

static imx_ledger_order closed(int64_t id, const char *cc, const char *status,
                               int64_t qty, int64_t filled) {
  imx_ledger_order o = {.order_id = id, .cc = cc, .service = "it.hour",
                        .side = "bid", .tif = "gtc", .price_minor = 100,
                        .qty = qty, .qty_filled = filled, .status = status,
                        .reason = strcmp(status, "cancelled") == 0 ? "user" : NULL,
                        .period = 1, .closed_ms = 5000 + id};
  return o;
}

/* What the history callbacks saw, as text: "id:status:filled/qty" per
** order, "trade:qty@price:counterparty" per fill. */
static char seen[512];

static int see_order(void *ctx, const imx_ledger_order *o) {
  (void)ctx;
  size_t n = strlen(seen);
  snprintf(seen + n, sizeof seen - n, "%s%lld:%s:%lld/%lld%s%s", n ? " " : "",
           (long long)o->order_id, o->status, (long long)o->qty_filled,
           (long long)o->qty, o->reason ? ":" : "", o->reason ? o->reason : "");
  return 0;
}

static int see_fill(void *ctx, const imx_ledger_fill *f) {
  (void)ctx;
  size_t n = strlen(seen);
  snprintf(seen + n, sizeof seen - n, "%s%lld:%lld@%lld:%s", n ? " " : "",
           (long long)f->trade_id, (long long)f->qty, (long long)f->price_minor,
           f->counterparty);
  return 0;
}

static const char *history(imx_ledger *l, const char *cc, int64_t before,
                           uint32_t limit, int *rc) {
  seen[0] = '\0';
  *rc = imx_ledger_orders_closed(l, cc, before, limit, see_order, NULL);
  return seen;
}

static const char *fills(imx_ledger *l, int64_t order, uint32_t limit, int64_t *total) {
  seen[0] = '\0';
  CHECK_EQ(0, imx_ledger_order_fills(l, order, limit, see_fill, NULL, total));
  return seen;
}

/* Orders 1 (A's bid, filled by trades 1 and 2 from B's offer 2 and C's
** offer 3), 4 (A's, cancelled after trade 3 with B's offer 5), and C's
** offer 3, filled. */
static void write_history(imx_ledger *l) {
  imx_ledger_trade t1 = trade(1, "A", "B", 2, 100), t2 = trade(2, "A", "C", 1, 100),
                   t3 = trade(3, "A", "B", 1, 90);
  t1.buy_order = 1, t1.sell_order = 2;
  t2.buy_order = 1, t2.sell_order = 3;
  t3.buy_order = 4, t3.sell_order = 5;
  imx_ledger_order o3 = closed(3, "C", "filled", 1, 1);
  o3.side = "offer";
  imx_ledger_order o1 = closed(1, "A", "filled", 3, 3), o4 = closed(4, "A", "cancelled", 5, 1);
  CHECK_EQ(0, imx_ledger_begin(l));
  CHECK_EQ(0, imx_ledger_put_trade(l, &t1));
  CHECK_EQ(0, imx_ledger_put_trade(l, &t2));
  CHECK_EQ(0, imx_ledger_put_order(l, &o3));
  CHECK_EQ(0, imx_ledger_put_order(l, &o1));
  CHECK_EQ(0, imx_ledger_put_trade(l, &t3));
  CHECK_EQ(0, imx_ledger_put_order(l, &o4));
  CHECK_EQ(0, imx_ledger_commit(l));
}

static void test_closed_orders_are_read_newest_first_with_their_fills(void) {
  imx_ledger *l = fresh();
  write_history(l);
  imx_ledger *r = NULL;
  char err[256] = "", failed[256] = "";
  /* A reader beside the writer, as imxd's workers read. */
  CHECK_EQ(0, imx_ledger_open_existing(path, &r, err, sizeof err));
  CHECK_EQ(0, imx_ledger_read_begin(r));
  int rc = -1;
  CHECK_STR("4:cancelled:1/5:user 1:filled:3/3", history(r, "A", 0, 10, &rc));
  CHECK_EQ(0, rc);
  CHECK_STR("3:filled:1/1", history(r, "C", 0, 10, &rc));
  CHECK_STR("", history(r, "B", 0, 10, &rc));
  CHECK_EQ(0, rc);
  /* Pages: the newest, then the one closed before it. */
  CHECK_STR("4:cancelled:1/5:user", history(r, "A", 0, 1, &rc));
  CHECK_STR("1:filled:3/3", history(r, "A", 4, 1, &rc));
  CHECK_STR("", history(r, "A", 1, 1, &rc));
  CHECK_EQ(0, rc);
  /* Another cost centre's order, or no closed order, is no place to page from. */
  history(r, "A", 3, 10, &rc);
  CHECK_EQ(1, rc);
  history(r, "A", 99, 10, &rc);
  CHECK_EQ(1, rc);
  int64_t total = 0;
  CHECK_STR("1:2@100:B 2:1@100:C", fills(r, 1, 20, &total));
  CHECK_EQ(2, total);
  CHECK_STR("1:2@100:B", fills(r, 1, 1, &total));
  CHECK_EQ(2, total);
  CHECK_STR("2:1@100:A", fills(r, 3, 20, &total)); /* the seller's view */
  CHECK_EQ(1, total);
  CHECK_STR("1:2@100:A", fills(r, 2, 20, &total)); /* open, but it traded */
  CHECK_STR("", fills(r, 9, 20, &total));          /* no such order */
  CHECK_EQ(0, total);
  imx_ledger_read_end(r);
  CHECK_EQ(0, imx_ledger_verify(r, failed, sizeof failed));
  imx_ledger_close(r);
  done(l);
}

static void test_a_closed_order_is_written_once_and_whole(void) {
  imx_ledger *l = fresh();
  imx_ledger_order o = closed(1, "A", "filled", 3, 3);
  CHECK_EQ(0, imx_ledger_put_order(l, &o));
  CHECK_EQ(-1, imx_ledger_put_order(l, &o));
  CHECK(strstr(imx_ledger_error(l), "UNIQUE") != NULL);
  imx_ledger_order partly = closed(2, "A", "filled", 3, 2);  /* filled is whole */
  CHECK_EQ(-1, imx_ledger_put_order(l, &partly));
  imx_ledger_order why = closed(3, "A", "cancelled", 3, 0); /* a cancel has a reason */
  why.reason = NULL;
  CHECK_EQ(-1, imx_ledger_put_order(l, &why));
  imx_ledger_order side = closed(4, "A", "expired", 3, 0);
  side.side = "buy";
  CHECK_EQ(-1, imx_ledger_put_order(l, &side));
  CHECK_EQ(1, sql_int("SELECT count(*) FROM orders_closed"));
  done(l);
}

static void test_verify_finds_a_closed_order_that_does_not_match_its_trades(void) {
  imx_ledger *l = fresh();
  write_history(l);
  char failed[256] = "";
  CHECK_EQ(0, imx_ledger_verify(l, failed, sizeof failed));
  tamper("UPDATE orders_closed SET cc = 'B' WHERE order_id = 1");
  CHECK_EQ(-1, imx_ledger_verify(l, failed, sizeof failed));
  CHECK_STR("closed_order_matches_its_trades (first offender: order 1)", failed);
  tamper("UPDATE orders_closed SET cc = 'A', qty_filled = 2, status = 'cancelled',"
         " reason = 'user' WHERE order_id = 1");
  CHECK_EQ(-1, imx_ledger_verify(l, failed, sizeof failed));
  CHECK_STR("closed_order_filled_its_trades (first offender: order 1)", failed);
  done(l);
}

/* A file as imx wrote it before closed orders were kept (schema 3). */
static void write_v3_ledger(void) {
  snprintf(path, sizeof path, "/tmp/imx-ledger-test-XXXXXX");
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  unlink(path);
  sqlite3 *db;
  CHECK_EQ(SQLITE_OK, sqlite3_open(path, &db));
  const char *sql[] = {
      "PRAGMA journal_mode=WAL", imx_ledger_migration_sql(1), imx_ledger_migration_sql(2),
      imx_ledger_migration_sql(3), "PRAGMA user_version=3",
      "INSERT INTO journal VALUES(1, 1000, 'A', '{}');"
      "INSERT INTO trades VALUES(1, 1, 1001, 'it.hour', 'A', 'B', 2, 100, 200);"
      "INSERT INTO postings VALUES(1, 'A', 1, 200), (1, 'B', 1, -200);"};
  for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
    CHECK_EQ(SQLITE_OK, sqlite3_exec(db, sql[i], NULL, NULL, NULL));
  sqlite3_close(db);
}

static void test_a_v3_ledger_is_upgraded_to_keep_closed_orders(void) {
  write_v3_ledger();
  imx_ledger *l = NULL;
  char err[256] = "", failed[256] = "";
  /* Read-only it stays version 3: verified, but it has no history. */
  CHECK_EQ(0, imx_ledger_open_existing(path, &l, err, sizeof err));
  CHECK_EQ(0, imx_ledger_verify(l, failed, sizeof failed));
  int rc = 0;
  history(l, "A", 0, 10, &rc);
  CHECK_EQ(-1, rc);
  CHECK(strstr(imx_ledger_error(l), "schema 4") != NULL);
  imx_ledger_close(l);
  CHECK_EQ(3, sql_int("PRAGMA user_version"));
  /* The writer migrates it: the old trade has no order ids, new ones do. */
  CHECK_EQ(0, imx_ledger_open(path, 1, &l, err, sizeof err));
  CHECK_EQ(6, sql_int("PRAGMA user_version"));
  CHECK_EQ(1, sql_int("SELECT count(*) FROM trades WHERE buy_order IS NULL"
                      " AND sell_order IS NULL AND trade_id = 1"));
  CHECK_EQ(0, sql_int("SELECT count(*) FROM orders_closed"));
  imx_ledger_trade t = trade(2, "A", "B", 1, 100);
  t.buy_order = 7, t.sell_order = 8;
  imx_ledger_order o = closed(7, "A", "filled", 1, 1);
  CHECK_EQ(0, imx_ledger_begin(l));
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  CHECK_EQ(0, imx_ledger_put_order(l, &o));
  CHECK_EQ(0, imx_ledger_commit(l));
  CHECK_STR("7:filled:1/1", history(l, "A", 0, 10, &rc));
  CHECK_EQ(0, rc);
  int64_t total = 0;
  CHECK_STR("2:1@100:B", fills(l, 7, 20, &total));
  CHECK_EQ(0, imx_ledger_verify(l, failed, sizeof failed));
  int64_t b = 0;
  CHECK_EQ(0, imx_ledger_balance(l, "B", &b));
  CHECK_EQ(-300, b);
  done(l);
}

/* -------------------------------------------------------------- exports */

/* A market whose ids hold what the market file allows and the formats
** must escape: separators, quotes, spaces, a colon, a lower-case start. */
static const char ODD_MARKET[] =
    "{\"currency\":\"EUR\","
    "\"services\":[{\"id\":\"it help;desk,\\\"hour\\\"\",\"unit\":\"h \\\"x\\\";y\","
    "\"tick\":1,\"lot\":1,\"divisible\":true,\"mode\":\"continuous\"}],"
    "\"cost_centres\":["
    "{\"id\":\"CC 4100;\\\"IT\\\",HH\",\"name\":\"IT\",\"site\":\"Hamburg\","
    "\"roles\":[\"provider\"],\"budget\":0,\"capacities\":{\"it help;desk,\\\"hour\\\"\":10}},"
    "{\"id\":\"sales: north\",\"name\":\"Sales\",\"site\":\"Kiel\",\"roles\":[\"receiver\"],"
    "\"budget\":100000}]}";

static const char *export_of(imx_ledger *l, const imx_market *m, int format, int *rc,
                             char *buf, size_t cap) {
  memset(buf, 0, cap);
  FILE *f = fmemopen(buf, cap - 1, "w");
  CHECK(f != NULL);
  int64_t rows = 0;
  *rc = imx_export(l, m, 0, format, f, &rows);
  fclose(f);
  return buf;
}

static imx_ledger *odd_ledger(imx_market *m) {
  imx_proto_error perr = {0};
  if (imx_market_parse(ODD_MARKET, sizeof ODD_MARKET - 1, m, &perr) != 0) {
    fprintf(stderr, "  market: %s: %s\n", perr.field, perr.message);
    abort(); /* every export test needs it */
  }
  imx_ledger *l = fresh();
  imx_ledger_trade t = {.trade_id = 1, .period = 1, .time_ms = 1767225600000LL,
                        .service = m->services[0].id, .buyer = m->ccs[1].id,
                        .seller = m->ccs[0].id, .qty = 2, .price_minor = 850};
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  return l;
}

static void test_csv_quotes_ids_per_rfc_4180(void) {
  imx_market m;
  imx_ledger *l = odd_ledger(&m);
  char buf[2048];
  int rc = -1;
  export_of(l, &m, IMX_EXPORT_CSV, &rc, buf, sizeof buf);
  CHECK_EQ(0, rc);
  CHECK_STR("trade,period,date,service,buyer,seller,qty,unit,price,amount,currency\n"
            "1,1,2026-01-01,\"it help;desk,\"\"hour\"\"\",\"sales: north\","
            "\"CC 4100;\"\"IT\"\",HH\",2,\"h \"\"x\"\";y\",8.50,17.00,EUR\n", buf);
  done(l);
  imx_market_free(&m);
}

/* Amounts in the market currency's decimals: yen have none, dinars three. */
static void test_exports_write_amounts_with_the_currencys_decimals(void) {
  static const char *const markets[2] = {
      "{\"currency\":\"JPY\",\"services\":[{\"id\":\"s\",\"unit\":\"u\",\"tick\":1,\"lot\":1}],"
      "\"cost_centres\":[{\"id\":\"P\",\"name\":\"P\",\"roles\":[\"provider\"],\"budget\":0,"
      "\"capacities\":{\"s\":10}},{\"id\":\"R\",\"name\":\"R\",\"roles\":[\"receiver\"],"
      "\"budget\":100000}]}",
      "{\"currency\":\"KWD\",\"services\":[{\"id\":\"s\",\"unit\":\"u\",\"tick\":1,\"lot\":1}],"
      "\"cost_centres\":[{\"id\":\"P\",\"name\":\"P\",\"roles\":[\"provider\"],\"budget\":0,"
      "\"capacities\":{\"s\":10}},{\"id\":\"R\",\"name\":\"R\",\"roles\":[\"receiver\"],"
      "\"budget\":100000}]}"};
  static const char *const want[2] = {
      "trade,period,date,service,buyer,seller,qty,unit,price,amount,currency\n"
      "1,1,2026-01-01,s,R,P,2,u,1500,3000,JPY\n",
      "trade,period,date,service,buyer,seller,qty,unit,price,amount,currency\n"
      "1,1,2026-01-01,s,R,P,2,u,1.500,3.000,KWD\n"};
  for (int k = 0; k < 2; k++) {
    imx_market m;
    imx_proto_error perr = {0};
    CHECK_EQ(0, imx_market_parse(markets[k], strlen(markets[k]), &m, &perr));
    imx_ledger *l = fresh();
    imx_ledger_trade t = {.trade_id = 1, .period = 1, .time_ms = 1767225600000LL,
                          .service = "s", .buyer = "R", .seller = "P", .qty = 2,
                          .price_minor = 1500};
    CHECK_EQ(0, imx_ledger_put_trade(l, &t));
    char buf[1024];
    int rc = -1;
    export_of(l, &m, IMX_EXPORT_CSV, &rc, buf, sizeof buf);
    CHECK_EQ(0, rc);
    CHECK_STR(want[k], buf);
    done(l);
    imx_market_free(&m);
  }
}

static void test_account_names_are_mapped_the_same_for_hledger_and_beancount(void) {
  imx_market m;
  imx_ledger *l = odd_ledger(&m);
  char buf[2048];
  int rc = -1;
  export_of(l, &m, IMX_EXPORT_HLEDGER, &rc, buf, sizeof buf);
  CHECK_EQ(0, rc);
  CHECK_STR("2026-01-01 * IMX-1 it help,desk,\"hour\" 2 h \"x\",y @ 8.50\n"
            "    expenses:internal:Xsales-3A-20north    17.00 EUR\n"
            "    income:internal:CC-204100-3B-22IT-22-2CHH    -17.00 EUR\n\n", buf);
  export_of(l, &m, IMX_EXPORT_BEANCOUNT, &rc, buf, sizeof buf);
  CHECK_EQ(0, rc);
  CHECK(strstr(buf, "1970-01-01 open Expenses:Internal:CC-204100-3B-22IT-22-2CHH\n") != NULL);
  CHECK(strstr(buf, "2026-01-01 * \"IMX-1\" \"it help;desk,\\\"hour\\\" 2 h \\\"x\\\";y @ 8.50\"\n"
                    "  Expenses:Internal:Xsales-3A-20north  17.00 EUR\n"
                    "  Income:Internal:CC-204100-3B-22IT-22-2CHH  -17.00 EUR\n") != NULL);
  done(l);
  imx_market_free(&m);
}

/* A market with calendar periods from January 2028 (a leap year): period 1
** is "2028-01", period 2 "2028-02". */
static const char CALENDAR_MARKET[] =
    "{\"currency\":\"EUR\",\"period\":\"month\",\"first_period\":\"2028-01\","
    "\"erp\":{\"controlling_area\":\"1000\",\"user\":\"IMX\"},"
    "\"services\":[{\"id\":\"it\",\"name\":\"IT hour\",\"unit\":\"hour\",\"tick\":1,"
    "\"lot\":1,\"activity_type\":\"ITH\",\"uom\":\"H\"}],"
    "\"cost_centres\":["
    "{\"id\":\"P\",\"name\":\"P\",\"roles\":[\"provider\"],\"budget\":0,"
    "\"capacities\":{\"it\":100},\"erp_cc\":\"0000004100\"},"
    "{\"id\":\"R\",\"name\":\"R\",\"roles\":[\"receiver\"],\"budget\":100000,"
    "\"erp_cc\":\"SALES-1\"}]}";

/* Trade 1 on 2028-01-10 in period 1, trade 2 on 2028-02-03 in period 2;
** closed: period 1 when close_first, else none. */
static imx_ledger *calendar_ledger(imx_market *m, int close_first) {
  imx_proto_error perr = {0};
  if (imx_market_parse(CALENDAR_MARKET, sizeof CALENDAR_MARKET - 1, m, &perr) != 0) {
    fprintf(stderr, "  market: %s: %s\n", perr.field, perr.message);
    abort();
  }
  imx_ledger *l = fresh();
  imx_ledger_trade t = {.trade_id = 1, .period = 1, .time_ms = 1831118400000LL,
                        .service = "it", .buyer = "R", .seller = "P", .qty = 2,
                        .price_minor = 850};
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  if (close_first) {
    CHECK_EQ(0, imx_ledger_begin(l));
    CHECK_EQ(0, imx_ledger_close_period(l, 1, 1833000000000LL));
    CHECK_EQ(0, imx_ledger_commit(l));
  }
  t = (imx_ledger_trade){.trade_id = 2, .period = 2, .time_ms = 1833192000000LL,
                         .service = "it", .buyer = "R", .seller = "P", .qty = 1,
                         .price_minor = 900};
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  return l;
}

/* A closed period's postings carry its last day (2028-01-31) in every
** format, and its label in the csv's period column; the open period's
** carry their trade's day. Before the close, period 1's too. */
static void test_exports_date_a_closed_period_by_its_last_day(void) {
  imx_market m;
  imx_ledger *l = calendar_ledger(&m, 1);
  char buf[4096];
  int rc = -1;
  export_of(l, &m, IMX_EXPORT_CSV, &rc, buf, sizeof buf);
  CHECK_EQ(0, rc);
  CHECK_STR("trade,period,date,service,buyer,seller,qty,unit,price,amount,currency\n"
            "1,2028-01,2028-01-31,it,R,P,2,hour,8.50,17.00,EUR\n"
            "2,2028-02,2028-02-03,it,R,P,1,hour,9.00,9.00,EUR\n", buf);
  export_of(l, &m, IMX_EXPORT_HLEDGER, &rc, buf, sizeof buf);
  CHECK_EQ(0, rc);
  CHECK(strncmp(buf, "2028-01-31 * IMX-1 ", 19) == 0);
  CHECK(strstr(buf, "\n2028-02-03 * IMX-2 ") != NULL);
  export_of(l, &m, IMX_EXPORT_BEANCOUNT, &rc, buf, sizeof buf);
  CHECK_EQ(0, rc);
  CHECK(strstr(buf, "\n2028-01-31 * \"IMX-1\"") != NULL);
  CHECK(strstr(buf, "\n2028-02-03 * \"IMX-2\"") != NULL);
  done(l);
  imx_market_free(&m);

  l = calendar_ledger(&m, 0);
  export_of(l, &m, IMX_EXPORT_CSV, &rc, buf, sizeof buf);
  CHECK_EQ(0, rc);
  CHECK(strstr(buf, "\n1,2028-01,2028-01-10,it,") != NULL); /* still open */
  done(l);
  imx_market_free(&m);
}

/* ------------------------------------------------------------ the SAP upload */

static const char SAP_COLUMNS[] =
    "*H;DOC;CO_AREA;DOCDATE;POSTGDATE;USERNAME;DOC_HDR_TX\n"
    "*I;DOC;SEND_CCTR;ACTTYPE;ACTVTY_QTY;ACTIVITYUN;REC_CCTR;PRICE;CURRENCY;SEG_TEXT\n";

static void sap_of(imx_ledger *l, const imx_market *m, int64_t period, int format, int *rc,
                   char *buf, size_t cap) {
  memset(buf, 0, cap);
  FILE *f = fmemopen(buf, cap - 1, "w");
  CHECK(f != NULL);
  *rc = imx_export(l, m, period, format, f, NULL);
  fclose(f);
}

/* Each closed period is a document posted on its last day (2028 is a leap
** year), the document date the same; the value of each item is qty x
** price; the header text is "imx", the period and the document's number. */
static void test_sap_posts_each_closed_period_on_its_last_day(void) {
  imx_market m;
  imx_ledger *l = calendar_ledger(&m, 1);
  char buf[4096];
  int rc = -1;
  sap_of(l, &m, 1, IMX_EXPORT_SAP, &rc, buf, sizeof buf);
  CHECK_EQ(0, rc);
  char want[1024];
  snprintf(want, sizeof want, "%s"
           "H;1;1000;20280131;20280131;IMX;imx 2028-01 1/1\n"
           "I;1;0000004100;ITH;2;H;SALES-1;17.00;EUR;IMX-1 IT hour\n", SAP_COLUMNS);
  CHECK_STR(want, buf);
  /* period 2 is open: the whole ledger is refused, and nothing written */
  sap_of(l, &m, 0, IMX_EXPORT_SAP, &rc, buf, sizeof buf);
  CHECK_EQ(-1, rc);
  CHECK_STR("", buf);
  CHECK_STR("sap: period 2028-02 is open: only closed periods are posted (imx period"
            " close; or --period with a closed one)", imx_ledger_error(l));
  CHECK_EQ(0, imx_ledger_begin(l));
  CHECK_EQ(0, imx_ledger_close_period(l, 2, 1835000000000LL));
  CHECK_EQ(0, imx_ledger_commit(l));
  sap_of(l, &m, 0, IMX_EXPORT_SAP | IMX_EXPORT_COMMA, &rc, buf, sizeof buf);
  CHECK_EQ(0, rc);
  snprintf(want, sizeof want, "%s"
           "H;1;1000;20280131;20280131;IMX;imx 2028-01 1/1\n"
           "I;1;0000004100;ITH;2;H;SALES-1;17,00;EUR;IMX-1 IT hour\n"
           "H;2;1000;20280229;20280229;IMX;imx 2028-02 1/1\n"
           "I;2;0000004100;ITH;1;H;SALES-1;9,00;EUR;IMX-2 IT hour\n", SAP_COLUMNS);
  CHECK_STR(want, buf);
  /* a decimal comma is the sap export's only */
  sap_of(l, &m, 0, IMX_EXPORT_CSV | IMX_EXPORT_COMMA, &rc, buf, sizeof buf);
  CHECK_EQ(-1, rc);
  CHECK_STR("", buf);
  done(l);
  imx_market_free(&m);
}

/* A market the export cannot map fails before the first byte, naming
** what is missing: first the header's fields, then, in trade order, the
** seller, the service and the buyer. */
static void test_sap_names_the_first_missing_mapping_before_writing(void) {
  static const struct {
    const char *from, *to, *error;
  } cases[] = {
      {"\"controlling_area\":\"1000\",", "", "sap: the market file has no erp.controlling_area"},
      {",\"user\":\"IMX\"", "", "sap: the market file has no erp.user"},
      {",\"erp_cc\":\"0000004100\"", "", "sap: cost centre P has no erp_cc in the market file"},
      {",\"activity_type\":\"ITH\"", "", "sap: service it has no activity_type in the market file"},
      {",\"uom\":\"H\"", "", "sap: service it has no uom in the market file"},
      {",\"erp_cc\":\"SALES-1\"", "", "sap: cost centre R has no erp_cc in the market file"},
      {"\"first_period\":\"2028-01\",", "",
       "sap: the market file has numbered periods, so period 1 has no last day to post on;"
       " give it first_period"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    char json[1024];
    const char *at = strstr(CALENDAR_MARKET, cases[k].from);
    CHECK(at != NULL);
    if (at == NULL) continue;
    snprintf(json, sizeof json, "%.*s%s%s", (int)(at - CALENDAR_MARKET), CALENDAR_MARKET,
             cases[k].to, at + strlen(cases[k].from));
    imx_market m;
    imx_proto_error perr = {0};
    CHECK_EQ(0, imx_market_parse(json, strlen(json), &m, &perr));
    imx_ledger *l = fresh();
    imx_ledger_trade t = {.trade_id = 1, .period = 1, .time_ms = 1831118400000LL,
                          .service = "it", .buyer = "R", .seller = "P", .qty = 2,
                          .price_minor = 850};
    CHECK_EQ(0, imx_ledger_put_trade(l, &t));
    CHECK_EQ(0, imx_ledger_begin(l));
    CHECK_EQ(0, imx_ledger_close_period(l, 1, 1833000000000LL));
    CHECK_EQ(0, imx_ledger_commit(l));
    char buf[1024];
    int rc = 0;
    sap_of(l, &m, 0, IMX_EXPORT_SAP, &rc, buf, sizeof buf);
    CHECK_EQ(-1, rc);
    CHECK_STR("", buf);
    CHECK_STR(cases[k].error, imx_ledger_error(l));
    done(l);
    imx_market_free(&m);
  }
  /* a trade of a cost centre the market does not know is named with its
  ** trade */
  imx_market m;
  imx_ledger *l = calendar_ledger(&m, 1);
  imx_ledger_trade t = {.trade_id = 3, .period = 2, .time_ms = 1833192001000LL,
                        .service = "it", .buyer = "GONE", .seller = "P", .qty = 1,
                        .price_minor = 950};
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  CHECK_EQ(0, imx_ledger_begin(l));
  CHECK_EQ(0, imx_ledger_close_period(l, 2, 1835000000000LL));
  CHECK_EQ(0, imx_ledger_commit(l));
  char buf[1024];
  int rc = 0;
  sap_of(l, &m, 0, IMX_EXPORT_SAP, &rc, buf, sizeof buf);
  CHECK_EQ(-1, rc);
  CHECK_STR("", buf);
  CHECK_STR("sap: cost centre GONE of trade 3 is not in the market file", imx_ledger_error(l));
  done(l);
  imx_market_free(&m);
}

/* Free text cannot break the file: ';' in a service's name is written as
** ',', '"' as '\'', and SEG_TEXT is cut at 50 characters, not bytes. */
static void test_sap_item_text_is_cut_at_50_characters_without_separators(void) {
  static const char market[] =
      "{\"currency\":\"EUR\",\"first_period\":\"2028-01\","
      "\"erp\":{\"controlling_area\":\"1000\",\"user\":\"IMX\","
      "\"header_text\":\"Umlage Süd\"},"
      "\"services\":[{\"id\":\"it\",\"name\":\"Übersetzung; \\\"Fachtext\\\" "
      "öäüöäüöäüöäüöäüöäüöäüöäüöäüöäüöäü\",\"unit\":\"page\",\"tick\":1,\"lot\":1,"
      "\"activity_type\":\"TRANSL\",\"uom\":\"EA\"}],"
      "\"cost_centres\":[{\"id\":\"P\",\"name\":\"P\",\"roles\":[\"provider\"],"
      "\"budget\":0,\"erp_cc\":\"7100\"},{\"id\":\"R\",\"name\":\"R\","
      "\"roles\":[\"receiver\"],\"budget\":100000,\"erp_cc\":\"1400\"}]}";
  imx_market m;
  imx_proto_error perr = {0};
  CHECK_EQ(0, imx_market_parse(market, sizeof market - 1, &m, &perr));
  imx_ledger *l = fresh();
  imx_ledger_trade t = {.trade_id = 123456, .period = 1, .time_ms = 1831118400000LL,
                        .service = "it", .buyer = "R", .seller = "P", .qty = 120,
                        .price_minor = 250};
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  CHECK_EQ(0, imx_ledger_begin(l));
  CHECK_EQ(0, imx_ledger_close_period(l, 1, 1833000000000LL));
  CHECK_EQ(0, imx_ledger_commit(l));
  char buf[2048], want[2048];
  int rc = -1;
  sap_of(l, &m, 0, IMX_EXPORT_SAP, &rc, buf, sizeof buf);
  CHECK_EQ(0, rc);
  /* "IMX-123456 " is 11 characters: 39 of the name follow */
  snprintf(want, sizeof want, "%s"
           "H;1;1000;20280131;20280131;IMX;Umlage Süd 2028-01 1/1\n"
           "I;1;7100;TRANSL;120;EA;1400;300.00;EUR;"
           "IMX-123456 Übersetzung, 'Fachtext' öäüöäüöäüöäüöäü\n", SAP_COLUMNS);
  CHECK_STR(want, buf);
  done(l);
  imx_market_free(&m);
}

/* One line of a SAP upload split at ';' into at most 12 fields. */
static int sap_fields(char *line, char *f[12]) {
  int n = 0;
  for (char *p = line; n < 12; p++) {
    f[n++] = p;
    p = strchr(p, ';');
    if (p == NULL) break;
    *p = '\0';
  }
  return n;
}

static size_t chars_of(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

/* 700 trades in January and 3 in February: January is three documents of
** 332, 332 and 36 items, February one; every item's DOC is its header's,
** every field within SAP's length, and every PRICE read back by the one
** money parser (with the decimal comma asked for) is its trade's amount,
** so their sum is the ledger's. */
static void test_sap_splits_a_period_every_332_items_and_round_trips_every_amount(void) {
  imx_market m;
  imx_proto_error perr = {0};
  CHECK_EQ(0, imx_market_parse(CALENDAR_MARKET, sizeof CALENDAR_MARKET - 1, &m, &perr));
  imx_ledger *l = fresh();
  enum { JAN = 700, FEB = 3 };
  int64_t amount_of[JAN + FEB + 1], total = 0;
  CHECK_EQ(0, imx_ledger_begin(l));
  for (int64_t id = 1; id <= JAN + FEB; id++) {
    imx_ledger_trade t = {.trade_id = id, .period = id <= JAN ? 1 : 2,
                          .time_ms = 1831118400000LL + id, .service = "it",
                          .buyer = id % 2 ? "R" : "P", .seller = id % 2 ? "P" : "R",
                          .qty = 1 + id % 7, .price_minor = 1 + id * 997 % 100000};
    CHECK_EQ(0, imx_ledger_put_trade(l, &t));
    amount_of[id] = t.qty * t.price_minor;
    total += amount_of[id];
    if (id == JAN) CHECK_EQ(0, imx_ledger_close_period(l, 1, 1833000000000LL));
  }
  CHECK_EQ(0, imx_ledger_close_period(l, 2, 1835000000000LL));
  CHECK_EQ(0, imx_ledger_commit(l));
  size_t cap = 256 * 1024;
  char *buf = malloc(cap);
  CHECK(buf != NULL);
  int rc = -1;
  int64_t rows = 0;
  memset(buf, 0, cap);
  FILE *f = fmemopen(buf, cap - 1, "w");
  rc = imx_export(l, &m, 0, IMX_EXPORT_SAP | IMX_EXPORT_COMMA, f, &rows);
  fclose(f);
  CHECK_EQ(0, rc);
  CHECK_EQ(JAN + FEB, rows);
  CHECK(strncmp(buf, SAP_COLUMNS, strlen(SAP_COLUMNS)) == 0);
  static const char *const want_headers[] = {
      "H;1;1000;20280131;20280131;IMX;imx 2028-01 1/3",
      "H;2;1000;20280131;20280131;IMX;imx 2028-01 2/3",
      "H;3;1000;20280131;20280131;IMX;imx 2028-01 3/3",
      "H;4;1000;20280229;20280229;IMX;imx 2028-02 1/1"};
  static const int64_t want_items[] = {332, 332, 36, 3};
  int64_t items[4] = {0}, sum = 0, items_seen = 0, next_trade = 1;
  int docs = 0;
  char *save = NULL;
  for (char *line = strtok_r(buf + strlen(SAP_COLUMNS), "\n", &save); line;
       line = strtok_r(NULL, "\n", &save)) {
    if (line[0] == 'H') {
      CHECK(docs < 4);
      if (docs >= 4) break;
      CHECK_STR(want_headers[docs], line);
      docs++;
      continue;
    }
    char *fld[12];
    CHECK_EQ(10, sap_fields(line, fld));
    CHECK(docs >= 1);
    if (docs < 1) break;
    char doc[16];
    snprintf(doc, sizeof doc, "%d", docs);
    CHECK_STR("I", fld[0]);
    CHECK_STR(doc, fld[1]);
    CHECK(chars_of(fld[2]) <= IMX_SAP_CC_MAX && chars_of(fld[6]) <= IMX_SAP_CC_MAX);
    CHECK(chars_of(fld[3]) <= IMX_SAP_ACTTYPE_MAX && chars_of(fld[5]) <= IMX_SAP_UOM_MAX);
    CHECK(chars_of(fld[9]) <= IMX_SAP_ITEM_TEXT_MAX && strlen(fld[8]) <= 5);
    int64_t trade = strtoll(fld[9] + 4, NULL, 10);
    CHECK_EQ(next_trade, trade); /* every trade once, in order */
    next_trade++;
    int64_t value = -1;
    CHECK(strchr(fld[7], ',') != NULL);
    CHECK_EQ(0, imx_money_parse(fld[7], m.decimals, 0, INT64_MAX, &value, &perr));
    if (trade >= 1 && trade <= JAN + FEB) CHECK_EQ(amount_of[trade], value);
    CHECK_EQ(1 + trade % 7, strtoll(fld[4], NULL, 10));
    sum += value;
    items[docs - 1]++;
    items_seen++;
  }
  CHECK_EQ(4, docs);
  for (int k = 0; k < 4; k++) CHECK_EQ(want_items[k], items[k]);
  CHECK_EQ(JAN + FEB, items_seen);
  CHECK_EQ(total, sum);
  free(buf);
  done(l);
  imx_market_free(&m);
}

static imx_ledger_service_sum sums_[4];
static int sums_n_;
static int64_t trade_ids_[4];
static int trades_n_;

static int take_sum_(void *ctx, const imx_ledger_service_sum *s) {
  (void)ctx;
  CHECK(sums_n_ < 4 && strcmp(s->service, "it") == 0);
  if (sums_n_ < 4) sums_[sums_n_++] = *s;
  return 0;
}

static int take_trade_(void *ctx, const imx_ledger_trade *t) {
  (void)ctx;
  CHECK(trades_n_ < 4);
  if (trades_n_ < 4) trade_ids_[trades_n_++] = t->trade_id;
  return 0;
}

/* The statement's reads: per service what a cost centre bought and sold,
** and its trades, capped with the total; the period's whole summary. */
static void test_statement_reads_sum_a_cost_centres_period(void) {
  imx_market m;
  imx_ledger *l = calendar_ledger(&m, 1);
  int64_t last = -1;
  CHECK_EQ(0, imx_ledger_last_closed(l, &last));
  CHECK_EQ(1, last);
  int64_t closed_ms = 0;
  CHECK_EQ(1, imx_ledger_period_closed(l, 1, &closed_ms));
  CHECK_EQ(1833000000000LL, closed_ms);
  CHECK_EQ(0, imx_ledger_period_closed(l, 2, NULL));
  /* one more trade in period 2, R selling back one unit */
  imx_ledger_trade t = {.trade_id = 3, .period = 2, .time_ms = 1833192001000LL,
                        .service = "it", .buyer = "P", .seller = "R", .qty = 1,
                        .price_minor = 950};
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  sums_n_ = 0;
  CHECK_EQ(0, imx_ledger_service_sums(l, "R", 2, take_sum_, NULL));
  CHECK_EQ(1, sums_n_);
  CHECK_EQ(2, sums_[0].trades);
  CHECK_EQ(1, sums_[0].bought);
  CHECK_EQ(900, sums_[0].spent_minor);
  CHECK_EQ(1, sums_[0].sold);
  CHECK_EQ(950, sums_[0].earned_minor);
  sums_n_ = 0;
  CHECK_EQ(0, imx_ledger_service_sums(l, "P", 1, take_sum_, NULL));
  CHECK_EQ(1, sums_n_);
  CHECK_EQ(0, sums_[0].bought);
  CHECK_EQ(2, sums_[0].sold);
  CHECK_EQ(1700, sums_[0].earned_minor);
  sums_n_ = 0; /* the whole market: each trade once */
  CHECK_EQ(0, imx_ledger_service_sums(l, NULL, 2, take_sum_, NULL));
  CHECK_EQ(1, sums_n_);
  CHECK_EQ(2, sums_[0].trades);
  CHECK_EQ(2, sums_[0].bought);
  CHECK_EQ(1850, sums_[0].spent_minor);
  sums_n_ = 0; /* nobody traded in period 3 */
  CHECK_EQ(0, imx_ledger_service_sums(l, "R", 3, take_sum_, NULL));
  CHECK_EQ(0, sums_n_);
  /* the trades: oldest first, capped, with the total */
  int64_t total = 0;
  trades_n_ = 0;
  CHECK_EQ(0, imx_ledger_cc_trades(l, "R", 2, 1, take_trade_, NULL, &total));
  CHECK_EQ(1, trades_n_);
  CHECK_EQ(2, trade_ids_[0]);
  CHECK_EQ(2, total);
  trades_n_ = 0;
  CHECK_EQ(0, imx_ledger_cc_trades(l, "R", 2, 10, take_trade_, NULL, &total));
  CHECK_EQ(2, trades_n_);
  CHECK_EQ(3, trade_ids_[1]);
  CHECK_EQ(2, total);
  done(l);
  imx_market_free(&m);
}

/* period.summary's per cost centre figures: what each cost centre that
** traded in a period spent and earned, from the same query as a closed
** period's summaries, open period or closed. */
static imx_ledger_cc_sum cc_sums_[4];
static char cc_ids_[4][8];
static int cc_sums_n_;
static int take_cc_sum_(void *ctx, const imx_ledger_cc_sum *s) {
  (void)ctx;
  if (cc_sums_n_ == 4) return 1;
  snprintf(cc_ids_[cc_sums_n_], sizeof cc_ids_[0], "%s", s->cc);
  cc_sums_[cc_sums_n_] = *s;
  cc_sums_[cc_sums_n_].cc = cc_ids_[cc_sums_n_];
  cc_sums_n_++;
  return 0;
}

static const imx_ledger_cc_sum *cc_sum_of_(const char *cc) {
  for (int i = 0; i < cc_sums_n_; i++)
    if (strcmp(cc_sums_[i].cc, cc) == 0) return &cc_sums_[i];
  return NULL;
}

static void test_cc_sums_are_each_cost_centres_period(void) {
  imx_market m;
  imx_ledger *l = calendar_ledger(&m, 1);
  imx_ledger_trade t = {.trade_id = 3, .period = 2, .time_ms = 1833192001000LL,
                        .service = "it", .buyer = "P", .seller = "R", .qty = 1,
                        .price_minor = 950};
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  cc_sums_n_ = 0; /* the open period 2: R bought 1 at 9.00 and sold 1 at 9.50 */
  CHECK_EQ(0, imx_ledger_cc_sums(l, 2, take_cc_sum_, NULL));
  CHECK_EQ(2, cc_sums_n_);
  const imx_ledger_cc_sum *r = cc_sum_of_("R"), *p = cc_sum_of_("P");
  CHECK(r != NULL && p != NULL);
  if (r && p) {
    CHECK_EQ(900, r->spent_minor);
    CHECK_EQ(950, r->earned_minor);
    CHECK_EQ(1, r->bought);
    CHECK_EQ(1, r->sold);
    CHECK_EQ(950, p->spent_minor);
    CHECK_EQ(900, p->earned_minor);
  }
  cc_sums_n_ = 0; /* the closed period 1: R bought 2 at 8.50 from P */
  CHECK_EQ(0, imx_ledger_cc_sums(l, 1, take_cc_sum_, NULL));
  CHECK_EQ(2, cc_sums_n_);
  r = cc_sum_of_("R"), p = cc_sum_of_("P");
  CHECK(r != NULL && p != NULL);
  if (r && p) {
    CHECK_EQ(1700, r->spent_minor);
    CHECK_EQ(0, r->earned_minor);
    CHECK_EQ(0, p->spent_minor);
    CHECK_EQ(1700, p->earned_minor);
    CHECK_EQ(2, p->sold);
  }
  cc_sums_n_ = 0; /* nobody traded in period 3 */
  CHECK_EQ(0, imx_ledger_cc_sums(l, 3, take_cc_sum_, NULL));
  CHECK_EQ(0, cc_sums_n_);
  done(l);
  imx_market_free(&m);
}

static void test_two_cost_centres_with_one_account_name_fail_the_export(void) {
  static const char market[] =
      "{\"currency\":\"EUR\",\"services\":[{\"id\":\"s\",\"unit\":\"u\",\"tick\":1,"
      "\"lot\":1,\"divisible\":true,\"mode\":\"continuous\"}],\"cost_centres\":["
      "{\"id\":\"CC 1\",\"name\":\"a\",\"site\":\"x\",\"roles\":[\"receiver\"],\"budget\":1},"
      "{\"id\":\"CC-201\",\"name\":\"b\",\"site\":\"x\",\"roles\":[\"receiver\"],\"budget\":1}]}";
  imx_market m;
  imx_proto_error perr = {0};
  CHECK_EQ(0, imx_market_parse(market, sizeof market - 1, &m, &perr));
  imx_ledger *l = fresh();
  char buf[1024];
  int rc = 0;
  export_of(l, &m, IMX_EXPORT_BEANCOUNT, &rc, buf, sizeof buf);
  CHECK_EQ(-1, rc);
  CHECK(strstr(imx_ledger_error(l), "CC-201") != NULL);
  done(l);
  imx_market_free(&m);
}

static void test_a_failed_export_to_a_file_leaves_no_file(void) {
  imx_market m;
  imx_ledger *l = odd_ledger(&m);
  char out[96];
  snprintf(out, sizeof out, "%s.sap", path);
  int64_t rows = -1;
  CHECK_EQ(-1, imx_export_file(l, &m, 0, IMX_EXPORT_SAP, out, &rows));
  CHECK(!exists(out));
  CHECK_EQ(0, imx_export_file(l, &m, 0, IMX_EXPORT_CSV, out, &rows));
  CHECK_EQ(1, rows);
  CHECK(exists(out));
  CHECK_EQ(-1, imx_export_file(l, &m, 0, IMX_EXPORT_SAP, out, &rows));
  struct stat st;
  CHECK(stat(out, &st) == 0 && st.st_size > 0); /* the old export is still whole */
  unlink(out);
  done(l);
  imx_market_free(&m);
}

/* -------------------------------------------------------------- ratings */

typedef struct rating_rows {
  int64_t trades[8];
  char text[8][160];
  int n;
} rating_rows;

static int take_rating(void *ctx, const imx_ledger_rating *r) {
  rating_rows *x = ctx;
  if (x->n >= 8) return 1;
  x->trades[x->n] = r->trade_id;
  snprintf(x->text[x->n], sizeof x->text[0], "%s %s>%s %d [%s] %lld [%s] %lld", r->service,
           r->rater, r->provider, r->stars, r->comment, (long long)r->time_ms,
           r->reply ? r->reply : "-", (long long)r->reply_ms);
  x->n++;
  return 0;
}

static rating_rows ratings_of(imx_ledger *l, const char *cc, const char *service,
                              int64_t before, uint32_t limit) {
  rating_rows x;
  memset(&x, 0, sizeof x);
  CHECK_EQ(0, imx_ledger_ratings(l, cc, service, before, limit, take_rating, &x));
  return x;
}

static void test_ratings_are_kept_with_one_reply_and_read_newest_first(void) {
  imx_ledger *l = fresh();
  imx_ledger_rating a = {.trade_id = 3, .service = "it.hour", .provider = "P", .rater = "A",
                         .stars = 4, .comment = "good", .time_ms = 1000};
  imx_ledger_rating b = {.trade_id = 7, .service = "room.day", .provider = "Q", .rater = "A",
                         .stars = 1, .comment = "", .time_ms = 2000};
  imx_ledger_rating c = {.trade_id = 9, .service = "it.hour", .provider = "P", .rater = "B",
                         .stars = 5, .comment = "M\xc3\xbcnchen, \"fast\"", .time_ms = 3000};
  CHECK_EQ(0, imx_ledger_begin(l));
  CHECK_EQ(0, imx_ledger_put_rating(l, &a));
  CHECK_EQ(0, imx_ledger_put_rating(l, &b));
  CHECK_EQ(0, imx_ledger_put_rating(l, &c));
  CHECK_EQ(-1, imx_ledger_put_rating(l, &a)); /* once per trade */
  CHECK_EQ(0, imx_ledger_put_reply(l, 3, "thanks", 1500));
  CHECK_EQ(-1, imx_ledger_put_reply(l, 3, "again", 1600)); /* once */
  CHECK(strstr(imx_ledger_error(l), "no rating without a reply") != NULL);
  CHECK_EQ(-1, imx_ledger_put_reply(l, 4, "none", 1600)); /* no rating */
  CHECK_EQ(0, imx_ledger_commit(l));
  rating_rows all = ratings_of(l, NULL, NULL, 0, 100);
  CHECK_EQ(3, all.n);
  CHECK_EQ(9, all.trades[0]);
  CHECK_EQ(7, all.trades[1]);
  CHECK_EQ(3, all.trades[2]);
  CHECK_STR("it.hour B>P 5 [M\xc3\xbcnchen, \"fast\"] 3000 [-] 0", all.text[0]);
  CHECK_STR("it.hour A>P 4 [good] 1000 [thanks] 1500", all.text[2]);
  rating_rows p = ratings_of(l, "P", NULL, 0, 100); /* received */
  CHECK_EQ(2, p.n);
  rating_rows given = ratings_of(l, "A", NULL, 0, 100); /* given */
  CHECK(given.n == 2 && given.trades[0] == 7 && given.trades[1] == 3);
  rating_rows svc = ratings_of(l, "A", "it.hour", 0, 100);
  CHECK(svc.n == 1 && svc.trades[0] == 3);
  rating_rows page = ratings_of(l, NULL, NULL, 0, 1);
  CHECK(page.n == 1 && page.trades[0] == 9);
  page = ratings_of(l, NULL, NULL, 9, 1);
  CHECK(page.n == 1 && page.trades[0] == 7);
  page = ratings_of(l, NULL, NULL, 3, 10);
  CHECK_EQ(0, page.n);
  /* the table refuses what the core never writes: a rating of oneself,
  ** stars out of range, a reply without its time */
  const char *bad[] = {"INSERT INTO ratings VALUES(20, 's', 'X', 'X', 3, '', 1, NULL, NULL)",
                       "INSERT INTO ratings VALUES(21, 's', 'X', 'Y', 6, '', 1, NULL, NULL)",
                       "INSERT INTO ratings VALUES(22, 's', 'X', 'Y', 0, '', 1, NULL, NULL)",
                       "INSERT INTO ratings VALUES(23, 's', 'X', 'Y', 3, '', 1, 'r', NULL)"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    sqlite3 *db;
    CHECK_EQ(SQLITE_OK, sqlite3_open(path, &db));
    CHECK_EQ(SQLITE_CONSTRAINT, sqlite3_exec(db, bad[i], NULL, NULL, NULL));
    sqlite3_close(db);
  }
  CHECK_EQ(3, sql_int("SELECT count(*) FROM ratings"));
  done(l);
}

static void test_a_v4_ledger_is_upgraded_to_keep_ratings(void) {
  write_v3_ledger();
  imx_ledger *l = NULL;
  char err[256] = "";
  /* to version 4 by hand, as an imxd before ratings left it */
  sqlite3 *db;
  CHECK_EQ(SQLITE_OK, sqlite3_open(path, &db));
  CHECK_EQ(SQLITE_OK, sqlite3_exec(db, imx_ledger_migration_sql(4), NULL, NULL, NULL));
  CHECK_EQ(SQLITE_OK, sqlite3_exec(db, "PRAGMA user_version=4", NULL, NULL, NULL));
  sqlite3_close(db);
  /* read-only: no ratings table, and a read says which schema it needs */
  CHECK_EQ(0, imx_ledger_open_existing(path, &l, err, sizeof err));
  CHECK_EQ(-1, imx_ledger_ratings(l, NULL, NULL, 0, 10, take_rating, &(rating_rows){0}));
  CHECK(strstr(imx_ledger_error(l), "5") != NULL);
  imx_ledger_close(l);
  CHECK_EQ(4, sql_int("PRAGMA user_version"));
  CHECK_EQ(0, imx_ledger_open(path, 1, &l, err, sizeof err));
  CHECK_EQ(6, sql_int("PRAGMA user_version"));
  CHECK_EQ(0, sql_int("SELECT count(*) FROM ratings"));
  imx_ledger_rating a = {.trade_id = 1, .service = "it.hour", .provider = "B", .rater = "A",
                         .stars = 3, .comment = "", .time_ms = 1002};
  CHECK_EQ(0, imx_ledger_put_rating(l, &a));
  CHECK_EQ(1, ratings_of(l, "B", NULL, 0, 10).n);
  done(l);
}

/* A file as imx wrote it with schema 5: seq was the rowid, counted over all
** cost centres, and order_id a UNIQUE column. A's orders closed in the
** order 4, 1, 6 (not their ids' order); C's 3 and B's 2 between them. */
static void write_v5_ledger(void) {
  snprintf(path, sizeof path, "/tmp/imx-ledger-test-XXXXXX");
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  close(fd);
  unlink(path);
  sqlite3 *db;
  CHECK_EQ(SQLITE_OK, sqlite3_open(path, &db));
  const char *sql[] = {
      "PRAGMA journal_mode=WAL", imx_ledger_migration_sql(1), imx_ledger_migration_sql(2),
      imx_ledger_migration_sql(3), imx_ledger_migration_sql(4),
      imx_ledger_migration_sql(5), "PRAGMA user_version=5",
      "INSERT INTO journal VALUES(1, 1000, 'A', '{}');"
      "INSERT INTO trades VALUES(1, 1, 1001, 'it.hour', 'A', 'B', 2, 100, 200, 1, 2);"
      "INSERT INTO trades VALUES(2, 1, 1002, 'it.hour', 'A', 'C', 1, 100, 100, 1, 3);"
      "INSERT INTO trades VALUES(3, 1, 1003, 'it.hour', 'A', 'B', 1, 90, 90, 4, 5);"
      "INSERT INTO postings VALUES(1, 'A', 1, 200), (1, 'B', 1, -200),"
      " (2, 'A', 1, 100), (2, 'C', 1, -100), (3, 'A', 1, 90), (3, 'B', 1, -90);"
      "INSERT INTO orders_closed VALUES"
      " (NULL, 4, 'A', 'it.hour', 'bid', 'gtc', 0, 90, 1, 1, 'filled', NULL, 1, 5001),"
      " (NULL, 3, 'C', 'it.hour', 'offer', 'gtc', 0, 100, 1, 1, 'filled', NULL, 1, 5002),"
      " (NULL, 1, 'A', 'it.hour', 'bid', 'gtc', 0, 100, 3, 3, 'filled', NULL, 1, 5003),"
      " (NULL, 2, 'B', 'it.hour', 'offer', 'ioc', 0, 100, 2, 2, 'filled', NULL, 1, 5004),"
      " (NULL, 6, 'A', 'it.hour', 'bid', 'gtc', 1, 80, 2, 0, 'cancelled', 'user', 1, 5005);"};
  for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
    CHECK_EQ(SQLITE_OK, sqlite3_exec(db, sql[i], NULL, NULL, NULL));
  sqlite3_close(db);
}

/* Everything order.history reads of the v5 file above, as text. */
static void read_v5_history(imx_ledger *l, char *out, size_t cap) {
  int rc = -1;
  int64_t total = 0;
  size_t n = 0;
  const char *cc[] = {"A", "B", "C", "D"};
  for (size_t i = 0; i < 4; i++) {
    n += (size_t)snprintf(out + n, cap - n, "%s[%s] ", cc[i], history(l, cc[i], 0, 10, &rc));
    CHECK_EQ(0, rc);
  }
  n += (size_t)snprintf(out + n, cap - n, "p[%s]", history(l, "A", 0, 1, &rc));
  n += (size_t)snprintf(out + n, cap - n, "[%s]", history(l, "A", 6, 1, &rc));
  n += (size_t)snprintf(out + n, cap - n, "[%s] ", history(l, "A", 1, 5, &rc));
  CHECK_EQ(0, rc);
  history(l, "A", 3, 10, &rc); /* C's order: no place for A to page from */
  CHECK_EQ(1, rc);
  for (int64_t o = 1; o <= 6; o++) {
    n += (size_t)snprintf(out + n, cap - n, "%lld[%s]", (long long)o, fills(l, o, 20, &total));
    n += (size_t)snprintf(out + n, cap - n, "%lld ", (long long)total);
  }
  CHECK(n < cap);
}

static void test_a_v5_ledger_is_upgraded_to_key_closed_orders_by_id(void) {
  write_v5_ledger();
  imx_ledger *l = NULL;
  char err[256] = "", failed[256] = "", before[1024] = "", after[1024] = "";
  /* read-only it stays version 5, and is read as it is */
  CHECK_EQ(0, imx_ledger_open_existing(path, &l, err, sizeof err));
  CHECK_EQ(0, imx_ledger_verify(l, failed, sizeof failed));
  read_v5_history(l, before, sizeof before);
  imx_ledger_close(l);
  CHECK_STR("A[6:cancelled:0/2:user 1:filled:3/3 4:filled:1/1] B[2:filled:2/2]"
            " C[3:filled:1/1] D[] p[6:cancelled:0/2:user][1:filled:3/3][4:filled:1/1] "
            "1[1:2@100:B 2:1@100:C]2 2[1:2@100:A]1 3[2:1@100:A]1 4[3:1@90:B]1"
            " 5[3:1@90:A]1 6[]0 ",
            before);
  CHECK_EQ(5, sql_int("PRAGMA user_version"));
  /* the writer migrates it: the same history, the same seqs, one index */
  CHECK_EQ(0, imx_ledger_open(path, 1, &l, err, sizeof err));
  CHECK_EQ(6, sql_int("PRAGMA user_version"));
  read_v5_history(l, after, sizeof after);
  CHECK_STR(before, after);
  CHECK_EQ(0, imx_ledger_verify(l, failed, sizeof failed));
  CHECK_EQ(5, sql_int("SELECT count(*) FROM orders_closed"));
  CHECK_EQ(3, sql_int("SELECT seq FROM orders_closed WHERE order_id = 1"));
  CHECK_EQ(5, sql_int("SELECT seq FROM orders_closed WHERE order_id = 6"));
  CHECK_EQ(1, sql_int("SELECT count(*) FROM sqlite_master WHERE tbl_name = 'orders_closed'"
                      " AND type = 'index'"));
  CHECK_EQ(0, sql_int("SELECT count(*) FROM sqlite_master WHERE name = 'orders_closed_6'"));
  /* orders closed since count on from each cost centre's last */
  imx_ledger_order a = closed(9, "A", "expired", 2, 0), c = closed(8, "C", "filled", 1, 1);
  CHECK_EQ(0, imx_ledger_begin(l));
  CHECK_EQ(0, imx_ledger_put_order(l, &a));
  CHECK_EQ(0, imx_ledger_put_order(l, &c));
  CHECK_EQ(0, imx_ledger_commit(l));
  CHECK_EQ(6, sql_int("SELECT seq FROM orders_closed WHERE order_id = 9"));
  CHECK_EQ(3, sql_int("SELECT seq FROM orders_closed WHERE order_id = 8"));
  int rc = -1;
  CHECK_STR("9:expired:0/2 6:cancelled:0/2:user 1:filled:3/3 4:filled:1/1",
            history(l, "A", 0, 10, &rc));
  CHECK_STR("8:filled:1/1 3:filled:1/1", history(l, "C", 0, 10, &rc));
  CHECK_STR("4:filled:1/1", history(l, "A", 1, 10, &rc));
  CHECK_EQ(0, rc);
  CHECK_EQ(-1, imx_ledger_put_order(l, &a)); /* still once */
  CHECK(strstr(imx_ledger_error(l), "UNIQUE") != NULL);
  done(l);
}

/* verify: a rating is of its trade's buyer, seller and service. */
static void test_verify_finds_a_rating_that_is_not_of_its_trade(void) {
  imx_ledger *l = fresh();
  imx_ledger_trade t = trade(1, "A", "B", 2, 100);
  CHECK_EQ(0, imx_ledger_put_trade(l, &t));
  imx_ledger_rating r = {.trade_id = 1, .service = t.service, .provider = "B", .rater = "A",
                         .stars = 3, .comment = "", .time_ms = 5};
  CHECK_EQ(0, imx_ledger_put_rating(l, &r));
  char failed[256] = "";
  CHECK_EQ(0, imx_ledger_verify(l, failed, sizeof failed));
  tamper("UPDATE ratings SET rater = 'C' WHERE trade_id = 1");
  CHECK_EQ(-1, imx_ledger_verify(l, failed, sizeof failed));
  CHECK(strstr(failed, "rating_matches_its_trade") != NULL && strstr(failed, "trade 1") != NULL);
  tamper("UPDATE ratings SET rater = 'A', trade_id = 2 WHERE trade_id = 1");
  CHECK_EQ(-1, imx_ledger_verify_after(l, 1, failed, sizeof failed)); /* from a snapshot too */
  CHECK(strstr(failed, "rating_matches_its_trade") != NULL);
  done(l);
}

static void test_ratings_export_as_csv(void) {
  imx_market m;
  imx_ledger *l = odd_ledger(&m);
  imx_ledger_rating a = {.trade_id = 1, .service = m.services[0].id, .provider = m.ccs[0].id,
                         .rater = m.ccs[1].id, .stars = 4, .comment = "fast, \"friendly\"",
                         .time_ms = 1767225600000LL};
  CHECK_EQ(0, imx_ledger_put_rating(l, &a));
  CHECK_EQ(0, imx_ledger_put_reply(l, 1, "thanks", 1767229200000LL));
  a.trade_id = 2, a.stars = 1, a.comment = "";
  CHECK_EQ(0, imx_ledger_put_rating(l, &a));
  char buf[2048], want[1024];
  int rc = -1;
  export_of(l, &m, IMX_EXPORT_RATINGS, &rc, buf, sizeof buf);
  CHECK_EQ(0, rc);
  FILE *f = fmemopen(want, sizeof want - 1, "w");
  memset(want, 0, sizeof want);
  fputs("trade,service,provider,rater,stars,comment,rated,reply,replied\n", f);
  fputs("1,", f);
  fclose(f);
  CHECK(strncmp(buf, want, strlen(want)) == 0);
  CHECK(strstr(buf, ",4,\"fast, \"\"friendly\"\"\",2026-01-01T00:00:00Z,thanks,"
                    "2026-01-01T01:00:00Z\n2,") != NULL);
  CHECK(strstr(buf, ",1,,2026-01-01T00:00:00Z,,\n") != NULL);
  /* no period for ratings */
  FILE *g = fmemopen(buf, sizeof buf - 1, "w");
  CHECK_EQ(-1, imx_export(l, &m, 1, IMX_EXPORT_RATINGS, g, NULL));
  fclose(g);
  CHECK(strstr(imx_ledger_error(l), "no period") != NULL);
  imx_market_free(&m);
  done(l);
}

int main(int argc, char **argv) {
  static const check_case cases[] = {
      CHECK_CASE(test_a_trade_debits_the_buyer_and_credits_the_seller),
      CHECK_CASE(test_a_trade_cannot_be_written_twice),
      CHECK_CASE(test_bad_trades_are_refused),
      CHECK_CASE(test_reopening_keeps_the_ledger_and_its_schema),
      CHECK_CASE(test_verify_names_the_check_that_fails),
      CHECK_CASE(test_verify_after_checks_the_trades_after_an_id_only),
      CHECK_CASE(test_a_closed_period_has_summaries_and_is_frozen),
      CHECK_CASE(test_a_newer_schema_is_refused),
      CHECK_CASE(test_a_file_that_is_not_a_ledger_gives_an_error),
      CHECK_CASE(test_opening_a_missing_ledger_fails_and_creates_nothing),
      CHECK_CASE(test_an_existing_ledger_opens_read_only),
      CHECK_CASE(test_an_sqlite_file_that_is_not_a_ledger_is_refused),
      CHECK_CASE(test_verify_reports_the_integrity_checks_own_rows),
      CHECK_CASE(test_a_period_closed_inside_a_batch_refuses_its_next_trade),
      CHECK_CASE(test_verify_finds_a_trade_slipped_into_a_closed_period),
      CHECK_CASE(test_a_closed_periods_trades_cannot_change),
      CHECK_CASE(test_a_v2_ledger_is_read_as_it_is_and_upgraded),
      CHECK_CASE(test_closed_orders_are_read_newest_first_with_their_fills),
      CHECK_CASE(test_a_closed_order_is_written_once_and_whole),
      CHECK_CASE(test_verify_finds_a_closed_order_that_does_not_match_its_trades),
      CHECK_CASE(test_a_v3_ledger_is_upgraded_to_keep_closed_orders),
      CHECK_CASE(test_ratings_are_kept_with_one_reply_and_read_newest_first),
      CHECK_CASE(test_a_v4_ledger_is_upgraded_to_keep_ratings),
      CHECK_CASE(test_a_v5_ledger_is_upgraded_to_key_closed_orders_by_id),
      CHECK_CASE(test_ratings_export_as_csv),
      CHECK_CASE(test_verify_finds_a_rating_that_is_not_of_its_trade),
      CHECK_CASE(test_csv_quotes_ids_per_rfc_4180),
      CHECK_CASE(test_exports_write_amounts_with_the_currencys_decimals),
      CHECK_CASE(test_account_names_are_mapped_the_same_for_hledger_and_beancount),
      CHECK_CASE(test_two_cost_centres_with_one_account_name_fail_the_export),
      CHECK_CASE(test_exports_date_a_closed_period_by_its_last_day),
      CHECK_CASE(test_sap_posts_each_closed_period_on_its_last_day),
      CHECK_CASE(test_sap_names_the_first_missing_mapping_before_writing),
      CHECK_CASE(test_sap_item_text_is_cut_at_50_characters_without_separators),
      CHECK_CASE(test_sap_splits_a_period_every_332_items_and_round_trips_every_amount),
      CHECK_CASE(test_statement_reads_sum_a_cost_centres_period),
      CHECK_CASE(test_cc_sums_are_each_cost_centres_period),
      CHECK_CASE(test_a_failed_export_to_a_file_leaves_no_file),
      CHECK_CASE(test_a_second_writer_is_refused_and_the_lock_file_named),
      CHECK_CASE(test_a_lock_file_left_by_a_dead_writer_does_not_lock),
      CHECK_CASE(test_a_reader_waits_for_a_lock_that_sqlite_holds),
      CHECK_CASE(test_trades_are_read_one_at_a_time_beside_the_journal),
  };
  return check_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
