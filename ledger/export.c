/*
** export.c -- the ledger's settlements in the shapes finance loads elsewhere.
**
**   csv        one row per settlement, with headers, for spreadsheets
**   sap        an SAP CO direct activity allocation upload, in its own
**              file (export_sap.c): imx_export hands it over
**   hledger    a journal hledger accepts; buys on expenses:internal:<cc>,
**              sales on income:internal:<cc>
**   beancount  the same for bean-check (accounts opened first)
**   ratings    not settlements: every rating of a trade by its buyer, with
**              the provider's reply, as CSV (imx_ledger.h)
**
** Ids come from the market file, which allows any printable character, so
** every id is written through the one function of its format that escapes
** it (csv_field, account, text_hledger, text_beancount; the rules are in
** imx_ledger.h). Whatever can be refused (two cost centres with one account
** name) is found in the market before the first byte is written; an id in
** the ledger but not in the market is checked again on its row.
**
** A posting's date is its period's last day once the period is closed (in
** a market with calendar periods, proto/period.c), else its trade's day:
** what finance books is the month, not the minute of the trade.
**
** Amounts are written from int64 minor units by proto's one money
** formatter (imx_money_format), with the market's decimals (EUR 2, JPY 0).
*/
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imx_ledger.h"
#include "ledger_int.h"

/* An id as an account name component: at most 3 bytes per byte of the id,
** an 'X' in front and the NUL. */
#define ACCOUNT_BYTES (3 * IMX_NAME_BYTES_MAX + 2)

typedef struct exporter {
  imx_ledger *l;
  FILE *out;
  const imx_market *m;
  int format;
  int64_t rows;
  int64_t period;     /* the period of the last row, 0 before the first */
  int closed;         /* whether it is closed                           */
  char last_day[11];  /* its last day when closed and calendar, else "" */
  char label[IMX_PERIOD_LABEL_BYTES];
} exporter;

static void date_of(char *buf, size_t cap, int64_t time_ms) {
  time_t t = (time_t)(time_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, cap, "%Y-%m-%d", &tm);
}

static const imx_market_service *service_of(const imx_market *m, const char *id) {
  int64_t k = imx_market_service_find(m, id);
  return k < 0 ? NULL : &m->services[k];
}

/* ------------------------------------------------------------- escaping */

/* RFC 4180: quoted when it holds a separator (',' or the ';' of some
** spreadsheets' locales), a quote or a space; a quote inside is doubled. */
static void csv_field(FILE *f, const char *s) {
  if (strpbrk(s, ",;\" ") == NULL) {
    fputs(s, f);
    return;
  }
  fputc('"', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  fputc('"', f);
}

/* Free text people wrote (a rating's comment, the provider's reply), for
** spreadsheets: csv_field's quoting (and a tab, CR or LF quoted too), and a
** text that begins with '=', '+', '-', '@', a tab or a CR, which a
** spreadsheet would take for a formula, gets an apostrophe put before it
** ("=1+2" -> "'=1+2"): shown as text, never evaluated (imx_ledger.h). */
static void csv_text(FILE *f, const char *s) {
  int guard = s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL;
  int quote = strpbrk(s, ",;\" \t\r\n") != NULL;
  if (quote) fputc('"', f);
  if (guard) fputc('\'', f);
  for (; *s; s++) {
    if (*s == '"') fputc('"', f);
    fputc(*s, f);
  }
  if (quote) fputc('"', f);
}

static int is_account_byte(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
         (c >= '0' && c <= '9') || c == '-';
}

/* A cost centre id as an account name component hledger and beancount both
** accept (the rule is in imx_ledger.h); -1 for an id no market allows (the
** ledger file is read as it is). */
static int account(exporter *x, char dst[ACCOUNT_BYTES], const char *id) {
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0, len = strlen(id);
  if (len < 1 || len > IMX_NAME_BYTES_MAX)
    return imx_ledger_error_set(x->l, "a cost centre id of %zu bytes", len);
  if (!((id[0] >= 'A' && id[0] <= 'Z') || (id[0] >= '0' && id[0] <= '9')))
    dst[n++] = 'X';
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)id[i];
    if (is_account_byte(c)) {
      dst[n++] = (char)c;
    } else {
      dst[n++] = '-';
      dst[n++] = hex[c >> 4];
      dst[n++] = hex[c & 15];
    }
  }
  IMX_ASSERT(n < ACCOUNT_BYTES);
  dst[n] = '\0';
  return 0;
}

/* Free text in an hledger description, where ';' would start a comment. */
static void text_hledger(FILE *f, const char *s) {
  for (; *s; s++) fputc(*s == ';' ? ',' : *s, f);
}

/* Free text inside a beancount string. */
static void text_beancount(FILE *f, const char *s) {
  for (; *s; s++) {
    if (*s == '"' || *s == '\\') fputc('\\', f);
    fputc(*s, f);
  }
}

/* ----------------------------------------------------------------- rows */

typedef struct row_text {
  const char *unit, *cur;
  char price[IMX_MONEY_TEXT_BYTES], amount[IMX_MONEY_TEXT_BYTES], neg[IMX_MONEY_TEXT_BYTES];
  char date[16];
} row_text;

static void row_csv(FILE *f, const imx_ledger_trade *t, const row_text *r,
                    const char *label) {
  fprintf(f, "%" PRId64 ",%s,%s,", t->trade_id, label, r->date);
  csv_field(f, t->service);
  fputc(',', f);
  csv_field(f, t->buyer);
  fputc(',', f);
  csv_field(f, t->seller);
  fprintf(f, ",%" PRId64 ",", t->qty);
  csv_field(f, r->unit);
  fprintf(f, ",%s,%s,%s\n", r->price, r->amount, r->cur);
}

static void row_hledger(FILE *f, const imx_ledger_trade *t, const row_text *r,
                        const char *buyer, const char *seller) {
  fprintf(f, "%s * IMX-%" PRId64 " ", r->date, t->trade_id);
  text_hledger(f, t->service);
  fprintf(f, " %" PRId64 " ", t->qty);
  text_hledger(f, r->unit);
  fprintf(f, " @ %s\n    expenses:internal:%s    %s %s\n"
             "    income:internal:%s    %s %s\n\n",
          r->price, buyer, r->amount, r->cur, seller, r->neg, r->cur);
}

static void row_beancount(FILE *f, const imx_ledger_trade *t, const row_text *r,
                          const char *buyer, const char *seller) {
  fprintf(f, "%s * \"IMX-%" PRId64 "\" \"", r->date, t->trade_id);
  text_beancount(f, t->service);
  fprintf(f, " %" PRId64 " ", t->qty);
  text_beancount(f, r->unit);
  fprintf(f, " @ %s\"\n  Expenses:Internal:%s  %s %s\n"
             "  Income:Internal:%s  %s %s\n\n",
          r->price, buyer, r->amount, r->cur, seller, r->neg, r->cur);
}

/* The period of a row, looked up once per period (rows come in trade
** order, and periods only grow with it): its label, and its last day when
** it is closed and the market has calendar periods. */
static int period_of(exporter *x, int64_t period) {
  if (period == x->period) return 0;
  int closed = imx_ledger_period_closed(x->l, period, NULL);
  if (closed < 0) return -1;
  if (imx_period_label(x->m, period, x->label, sizeof x->label) != 0)
    return imx_ledger_error_set(x->l, "period %" PRId64 " has no label in this market"
                                      " (past the year %d)", period, IMX_PERIOD_YEAR_MAX);
  x->last_day[0] = '\0';
  if (closed && imx_period_last_day(x->m, period, x->last_day) < 0)
    return imx_ledger_error_set(x->l, "period %" PRId64 " has no last day", period);
  x->period = period;
  x->closed = closed;
  return 0;
}

static int row(void *ctx, const imx_ledger_trade *t) {
  exporter *x = ctx;
  if (period_of(x, t->period)) return -1;
  const imx_market_service *s = service_of(x->m, t->service);
  row_text r = {.unit = s ? s->unit : "unit", .cur = s ? s->currency : x->m->currency};
  imx_money_format(t->price_minor, x->m->decimals, 0, r.price);
  imx_money_format(t->qty * t->price_minor, x->m->decimals, 0, r.amount);
  imx_money_format(-t->qty * t->price_minor, x->m->decimals, 0, r.neg);
  if (x->last_day[0])
    snprintf(r.date, sizeof r.date, "%s", x->last_day);
  else
    date_of(r.date, sizeof r.date, t->time_ms);
  char buyer[ACCOUNT_BYTES], seller[ACCOUNT_BYTES];
  switch (x->format) {
  case IMX_EXPORT_CSV: row_csv(x->out, t, &r, x->label); break;
  case IMX_EXPORT_HLEDGER:
  case IMX_EXPORT_BEANCOUNT:
    if (account(x, buyer, t->buyer) || account(x, seller, t->seller)) return -1;
    if (x->format == IMX_EXPORT_HLEDGER)
      row_hledger(x->out, t, &r, buyer, seller);
    else
      row_beancount(x->out, t, &r, buyer, seller);
    break;
  default: IMX_ASSERT(0 && "format checked by imx_export");
  }
  x->rows++;
  return ferror(x->out) ? imx_ledger_error_set(x->l, "writing the export failed") : 0;
}

/* ------------------------------------------------------- before any row */

static int account_cmp(const void *a, const void *b) {
  return strcmp((const char *)a, (const char *)b);
}

/* hledger, beancount: no two cost centres of the market share an account
** name (the mapping is not one to one: "CC 1" and "CC-201" meet). */
static int accounts_distinct(exporter *x) {
  uint32_t n = x->m->ccs_n;
  if (n < 2) return 0;
  char(*names)[ACCOUNT_BYTES] = malloc((size_t)n * ACCOUNT_BYTES);
  if (names == NULL) return imx_ledger_error_set(x->l, "out of memory");
  int rc = 0;
  for (uint32_t i = 0; i < n && rc == 0; i++) rc = account(x, names[i], x->m->ccs[i].id);
  if (rc == 0) qsort(names, n, ACCOUNT_BYTES, account_cmp);
  for (uint32_t i = 1; i < n && rc == 0; i++)
    if (strcmp(names[i - 1], names[i]) == 0)
      rc = imx_ledger_error_set(x->l, "two cost centres of the market map to the"
                                      " account name %s", names[i]);
  free(names);
  return rc;
}

/* beancount wants every account opened before its first use: the market's
** cost centres, opened on the first day there can be postings. */
static int beancount_head(exporter *x) {
  fprintf(x->out, "option \"operating_currency\" \"%s\"\n\n", x->m->currency);
  for (uint32_t i = 0; i < x->m->ccs_n; i++) {
    char name[ACCOUNT_BYTES];
    if (account(x, name, x->m->ccs[i].id)) return -1;
    fprintf(x->out, "1970-01-01 open Expenses:Internal:%s\n"
                    "1970-01-01 open Income:Internal:%s\n",
            name, name);
  }
  fputc('\n', x->out);
  return 0;
}

static int head(exporter *x) {
  switch (x->format) {
  case IMX_EXPORT_CSV:
    fputs("trade,period,date,service,buyer,seller,qty,unit,price,amount,currency\n", x->out);
    return 0;
  case IMX_EXPORT_HLEDGER:
    return accounts_distinct(x);
  case IMX_EXPORT_BEANCOUNT:
    return accounts_distinct(x) || beancount_head(x) ? -1 : 0;
  case IMX_EXPORT_RATINGS:
    fputs("trade,service,provider,rater,stars,comment,rated,reply,replied\n", x->out);
    return 0;
  }
  return imx_ledger_error_set(x->l, "unknown export format %d", x->format);
}

/* An ISO 8601 time in UTC, to the second. */
static void time_of(char *buf, size_t cap, int64_t time_ms) {
  time_t t = (time_t)(time_ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static int rating_row(void *ctx, const imx_ledger_rating *r) {
  exporter *x = ctx;
  char when[32];
  fprintf(x->out, "%" PRId64 ",", r->trade_id);
  csv_field(x->out, r->service);
  fputc(',', x->out);
  csv_field(x->out, r->provider);
  fputc(',', x->out);
  csv_field(x->out, r->rater);
  fprintf(x->out, ",%d,", r->stars);
  csv_text(x->out, r->comment);
  time_of(when, sizeof when, r->time_ms);
  fprintf(x->out, ",%s,", when);
  if (r->reply) {
    csv_text(x->out, r->reply);
    time_of(when, sizeof when, r->reply_ms);
    fprintf(x->out, ",%s\n", when);
  } else {
    fputs(",\n", x->out);
  }
  x->rows++;
  return 0;
}

int imx_export(imx_ledger *l, const imx_market *m, int64_t period, int format,
               FILE *out, int64_t *rows) {
  IMX_ASSERT(l != NULL && m != NULL && out != NULL && period >= 0);
  if (format == (IMX_EXPORT_SAP | IMX_EXPORT_COMMA) || format == IMX_EXPORT_SAP)
    return imx_export_sap(l, m, period, format & IMX_EXPORT_COMMA ? IMX_MONEY_COMMA : 0,
                          out, rows);
  if (format & IMX_EXPORT_COMMA)
    return imx_ledger_error_set(l, "a decimal comma is for the sap export only");
  exporter x = {l, out, m, format, 0, 0, 0, "", ""};
  if (format == IMX_EXPORT_RATINGS && period != 0)
    return imx_ledger_error_set(l, "ratings belong to no period: export them all");
  int rc = head(&x);
  if (rc == 0)
    rc = format == IMX_EXPORT_RATINGS ? imx_ledger_ratings_each(l, rating_row, &x)
                                      : imx_ledger_trades_each(l, period, row, &x);
  if (rows) *rows = x.rows;
  if (rc == 0 && (fflush(out) != 0 || ferror(out)))
    rc = imx_ledger_error_set(l, "writing the export failed");
  return rc == 0 ? 0 : -1;
}

/* The export is written beside path under a temporary name, made durable
** and renamed over path only when complete: a reader of path sees the old
** file or the whole new one, and a failed export leaves nothing behind. */
int imx_export_file(imx_ledger *l, const imx_market *m, int64_t period, int format,
                    const char *path, int64_t *rows) {
  IMX_ASSERT(path != NULL);
  size_t cap = strlen(path) + 32;
  char *tmp = malloc(cap);
  if (tmp == NULL) return imx_ledger_error_set(l, "out of memory");
  snprintf(tmp, cap, "%s.tmp-%ld", path, (long)getpid());
  /* 0666 as fopen would: the umask decides. */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
  if (fd < 0) {
    int rc = imx_ledger_error_set(l, "cannot write %s: %s", tmp, strerror(errno));
    free(tmp);
    return rc;
  }
  FILE *f = fdopen(fd, "w");
  int rc = f == NULL ? imx_ledger_error_set(l, "%s: %s", tmp, strerror(errno))
                     : imx_export(l, m, period, format, f, rows);
  if (rc == 0 && (fflush(f) != 0 || fsync(fd) != 0))
    rc = imx_ledger_error_set(l, "writing %s: %s", tmp, strerror(errno));
  int closed = f != NULL ? fclose(f) : close(fd);
  if (closed != 0 && rc == 0)
    rc = imx_ledger_error_set(l, "writing %s: %s", tmp, strerror(errno));
  if (rc == 0 && rename(tmp, path) != 0)
    rc = imx_ledger_error_set(l, "cannot write %s: %s", path, strerror(errno));
  if (rc != 0) unlink(tmp);
  free(tmp);
  return rc;
}
