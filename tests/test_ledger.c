/*
** test_ledger.c -- the ledger's schema, double entry, unique keys and
** verification, on temporary SQLite files.
*/
#define _POSIX_C_SOURCE 200809L

#include <sqlite3.h>
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

int main(int argc, char **argv) {
  static const check_case cases[] = {
      CHECK_CASE(test_a_trade_debits_the_buyer_and_credits_the_seller),
      CHECK_CASE(test_a_trade_cannot_be_written_twice),
      CHECK_CASE(test_bad_trades_are_refused),
      CHECK_CASE(test_reopening_keeps_the_ledger_and_its_schema),
      CHECK_CASE(test_verify_names_the_check_that_fails),
      CHECK_CASE(test_a_closed_period_has_summaries_and_is_frozen),
      CHECK_CASE(test_a_newer_schema_is_refused),
      CHECK_CASE(test_a_file_that_is_not_a_ledger_gives_an_error),
  };
  return check_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
