/*
** export.c -- the ledger's settlements in the shapes finance loads elsewhere.
**
**   csv        one row per settlement, with headers, for spreadsheets
**   sap        a direct activity allocation upload: sender cost centre,
**              activity type (= service), receiver cost centre, quantity,
**              unit, price, amount, currency, posting date, document ref
**   hledger    a journal hledger accepts; buys on expenses:internal:<cc>,
**              sales on income:internal:<cc>
**   beancount  the same for bean-check (accounts opened first)
**
** Amounts are written from int64 minor units with integer arithmetic, two
** decimals (the market file's currencies are all cent-based).
*/
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "imx_ledger.h"

typedef struct exporter {
  FILE *out;
  const imx_market *m;
  int format;
  int64_t rows;
} exporter;

static void decimal(char *buf, size_t cap, int64_t minor) {
  int64_t a = minor < 0 ? -minor : minor;
  snprintf(buf, cap, "%s%" PRId64 ".%02" PRId64, minor < 0 ? "-" : "", a / 100,
           a % 100);
}

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

static int row(void *ctx, const imx_ledger_trade *t) {
  exporter *x = ctx;
  const imx_market_service *s = service_of(x->m, t->service);
  const char *unit = s ? s->unit : "unit";
  const char *cur = s ? s->currency : x->m->currency;
  char price[32], amount[32], neg[32], date[16];
  decimal(price, sizeof price, t->price_minor);
  decimal(amount, sizeof amount, t->qty * t->price_minor);
  decimal(neg, sizeof neg, -t->qty * t->price_minor);
  date_of(date, sizeof date, t->time_ms);
  FILE *f = x->out;
  switch (x->format) {
  case IMX_EXPORT_CSV:
    fprintf(f, "%" PRId64 ",%" PRId64 ",%s,%s,%s,%s,%" PRId64 ",%s,%s,%s,%s\n",
            t->trade_id, t->period, date, t->service, t->buyer, t->seller, t->qty,
            unit, price, amount, cur);
    break;
  case IMX_EXPORT_SAP:
    fprintf(f, "%s;%s;%s;%" PRId64 ";%s;%s;%s;%s;%s;IMX-%" PRId64 "\n", t->seller,
            t->service, t->buyer, t->qty, unit, price, amount, cur, date, t->trade_id);
    break;
  case IMX_EXPORT_HLEDGER:
    fprintf(f, "%s * IMX-%" PRId64 " %s %" PRId64 " %s @ %s\n"
               "    expenses:internal:%s    %s %s\n"
               "    income:internal:%s    %s %s\n\n",
            date, t->trade_id, t->service, t->qty, unit, price, t->buyer, amount,
            cur, t->seller, neg, cur);
    break;
  case IMX_EXPORT_BEANCOUNT:
    fprintf(f, "%s * \"IMX-%" PRId64 "\" \"%s %" PRId64 " %s @ %s\"\n"
               "  Expenses:Internal:%s  %s %s\n"
               "  Income:Internal:%s  %s %s\n\n",
            date, t->trade_id, t->service, t->qty, unit, price, t->buyer, amount,
            cur, t->seller, neg, cur);
    break;
  }
  x->rows++;
  return ferror(f) ? -1 : 0;
}

/* beancount wants every account opened before its first use: the market's
** cost centres, opened on the first day there can be postings. */
static void beancount_head(exporter *x) {
  fprintf(x->out, "option \"operating_currency\" \"%s\"\n\n", x->m->currency);
  for (uint32_t i = 0; i < x->m->ccs_n; i++)
    fprintf(x->out, "1970-01-01 open Expenses:Internal:%s\n"
                    "1970-01-01 open Income:Internal:%s\n",
            x->m->ccs[i].id, x->m->ccs[i].id);
  fputc('\n', x->out);
}

int imx_export(imx_ledger *l, const imx_market *m, int64_t period, int format,
               FILE *out, int64_t *rows) {
  exporter x = {out, m, format, 0};
  if (format == IMX_EXPORT_CSV)
    fputs("trade,period,date,service,buyer,seller,qty,unit,price,amount,currency\n", out);
  else if (format == IMX_EXPORT_SAP)
    fputs("sender_cost_center;activity_type;receiver_cost_center;quantity;unit;"
          "price;amount;currency;posting_date;document_reference\n", out);
  else if (format == IMX_EXPORT_BEANCOUNT)
    beancount_head(&x);
  int rc = imx_ledger_trades_each(l, period, row, &x);
  if (rows) *rows = x.rows;
  return rc == 0 && fflush(out) == 0 && !ferror(out) ? 0 : -1;
}
