/*
** export_sap.c -- the ledger's settlements as an SAP CO direct activity
** allocation upload: what BAPI_ACC_ACTIVITY_ALLOC_POST (transaction KB21N)
** takes, as a flat file an upload program (LSMW, or a custom one) reads.
**
**   *H;DOC;CO_AREA;DOCDATE;POSTGDATE;USERNAME;DOC_HDR_TX
**   *I;DOC;SEND_CCTR;ACTTYPE;ACTVTY_QTY;ACTIVITYUN;REC_CCTR;PRICE;CURRENCY;SEG_TEXT
**   H;1;1000;20261231;20261231;IMX-UPLOAD;imx Nordwerk 2026-12 1/1
**   I;1;0000004200;ITHLP;10;H;0000001100;820.00;EUR;IMX-1 IT helpdesk hour
**
** The two lines starting with '*' name the columns by the BAPI's fields
** (header BAPIDOCHDRP, items BAPIAAITM); then each document is an H line
** and its I lines, tied by DOC (1, 2, ... in the file). Fields are
** separated by ';' and never quoted: every key is checked when the market
** file loads (no ';', '"' or space), and free text has ';' written as ','
** and '"' as '\''. Lengths are SAP's, in characters (imx_base.h's
** IMX_SAP_*): keys are refused when the market loads if longer, texts are
** cut at a character.
**
** One item per trade, its value in PRICE (the BAPI's "overall price", the
** quantity times the trade's price, in the market's decimals, with a
** point or, IMX_EXPORT_COMMA, a comma), its trade id in SEG_TEXT. One
** document per period, split every IMX_SAP_DOC_ITEMS_MAX items (SAP's 999
** line items per CO document). DOCDATE and POSTGDATE are both the period's
** last day: the books are the month's, and the same ledger makes the same
** file whenever it is exported.
**
** Only closed periods of a market with calendar periods are written: an
** open period can still change, and a numbered one has no last day. What
** can be refused (such a period, a cost centre or service without its
** mapping, a trade of one the market does not know) is found by a first
** pass over the trades, before the first byte; the second writes. Both run
** in one read transaction, so they read the same trades.
*/
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imx_ledger.h"
#include "ledger_int.h"

/* One period of the export: its number and how many items it has. */
typedef struct sap_period {
  int64_t period, items;
} sap_period;

typedef struct sap {
  imx_ledger *l;
  const imx_market *m;
  FILE *out;
  unsigned money_flags;
  sap_period *periods;   /* pass 1: every period exported, in order */
  size_t periods_n, periods_cap;
  /* pass 2 */
  size_t at;             /* periods[at] is the period being written */
  int64_t doc;           /* documents begun, the DOC of the last     */
  int64_t doc_of_period; /* the last document's number in its period */
  int64_t in_doc;        /* items in the last document               */
  char day[9];           /* periods[at]'s last day, YYYYMMDD         */
  char label[IMX_PERIOD_LABEL_BYTES];
  int64_t rows;
} sap;

/* ------------------------------------------------------ pass 1: checks */

/* A cost centre of a trade, with its SAP cost centre. */
static const imx_market_cc *sap_cc(sap *x, const char *id, int64_t trade) {
  int64_t k = imx_market_cc_find(x->m, id);
  if (k < 0) {
    imx_ledger_error_set(x->l, "sap: cost centre %s of trade %" PRId64 " is not in the"
                               " market file", id, trade);
    return NULL;
  }
  const imx_market_cc *c = &x->m->ccs[k];
  if (c->erp_cc[0] == '\0') {
    imx_ledger_error_set(x->l, "sap: cost centre %s has no erp_cc in the market file", id);
    return NULL;
  }
  IMX_ASSERT(strlen(c->erp_cc) <= IMX_SAP_CC_MAX); /* the array's size */
  return c;
}

/* A service of a trade, with its activity type and unit. */
static const imx_market_service *sap_service(sap *x, const char *id, int64_t trade) {
  int64_t k = imx_market_service_find(x->m, id);
  if (k < 0) {
    imx_ledger_error_set(x->l, "sap: service %s of trade %" PRId64 " is not in the"
                               " market file", id, trade);
    return NULL;
  }
  const imx_market_service *s = &x->m->services[k];
  const char *missing = s->activity_type[0] == '\0' ? "activity_type"
                        : s->uom[0] == '\0'         ? "uom"
                                                    : NULL;
  if (missing) {
    imx_ledger_error_set(x->l, "sap: service %s has no %s in the market file", id, missing);
    return NULL;
  }
  return s;
}

/* A period met for the first time: closed, with a last day. */
static int sap_period_add(sap *x, int64_t period) {
  char label[IMX_PERIOD_LABEL_BYTES], day[11];
  if (imx_period_label(x->m, period, label, sizeof label) != 0)
    return imx_ledger_error_set(x->l, "sap: period %" PRId64 " has no label in this"
                                      " market", period);
  int rc = imx_period_last_day(x->m, period, day);
  if (rc == 1)
    return imx_ledger_error_set(x->l, "sap: the market file has numbered periods, so"
                                      " period %s has no last day to post on; give it"
                                      " first_period", label);
  if (rc != 0) return imx_ledger_error_set(x->l, "sap: period %s has no last day", label);
  int closed = imx_ledger_period_closed(x->l, period, NULL);
  if (closed < 0) return -1;
  if (!closed)
    return imx_ledger_error_set(x->l, "sap: period %s is open: only closed periods are"
                                      " posted (imx period close; or --period with a"
                                      " closed one)", label);
  if (x->periods_n == x->periods_cap) {
    size_t cap = x->periods_cap ? 2 * x->periods_cap : 16;
    sap_period *p = realloc(x->periods, cap * sizeof *p);
    if (p == NULL) return imx_ledger_error_set(x->l, "out of memory");
    x->periods = p;
    x->periods_cap = cap;
  }
  x->periods[x->periods_n++] = (sap_period){period, 0};
  return 0;
}

static int sap_check(void *ctx, const imx_ledger_trade *t) {
  sap *x = ctx;
  /* trades come in trade order, and periods only grow with it */
  IMX_ASSERT(x->periods_n == 0 || t->period >= x->periods[x->periods_n - 1].period);
  if ((x->periods_n == 0 || t->period != x->periods[x->periods_n - 1].period) &&
      sap_period_add(x, t->period))
    return -1;
  if (sap_cc(x, t->seller, t->trade_id) == NULL ||
      sap_service(x, t->service, t->trade_id) == NULL ||
      sap_cc(x, t->buyer, t->trade_id) == NULL)
    return -1;
  x->periods[x->periods_n - 1].items++;
  return 0;
}

/* ------------------------------------------------------ pass 2: writing */

/* Free text as SAP's upload takes it: ';' (the separator) written as ',',
** '"' as '\'', at most max_chars characters, cut before a character. */
static void sap_text(FILE *f, const char *s, size_t max_chars) {
  size_t chars = 0;
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c & 0xC0) != 0x80 && chars++ == max_chars) break;
    fputc(c == ';' ? ',' : c == '"' ? '\'' : c, f);
  }
}

/* The header line of the next document of periods[at]. */
static int sap_header(sap *x) {
  const sap_period *p = &x->periods[x->at];
  int64_t docs = (p->items + IMX_SAP_DOC_ITEMS_MAX - 1) / IMX_SAP_DOC_ITEMS_MAX;
  x->doc++;
  x->doc_of_period++;
  x->in_doc = 0;
  IMX_ASSERT(x->doc_of_period <= docs);
  const imx_market_erp *e = &x->m->erp;
  char text[4 * IMX_SAP_DOC_TEXT_MAX + 1];
  int n = snprintf(text, sizeof text, "%s %s %" PRId64 "/%" PRId64,
                   e->header_text[0] ? e->header_text : "imx", x->label, x->doc_of_period,
                   docs);
  /* 25 characters, a label of 7 ("2026-12": numbered periods are refused)
  ** and two spaces leave 16 for "k/n": up to 10^7 - 1 documents a period */
  size_t chars = 0;
  for (const char *c = text; *c; c++) chars += ((unsigned char)*c & 0xC0) != 0x80;
  if (n < 0 || (size_t)n >= sizeof text || chars > IMX_SAP_DOC_TEXT_MAX)
    return imx_ledger_error_set(x->l, "sap: period %s needs too many documents for"
                                      " SAP's header text", x->label);
  fprintf(x->out, "H;%" PRId64 ";%s;%s;%s;%s;", x->doc, e->controlling_area, x->day, x->day,
          e->user);
  sap_text(x->out, text, IMX_SAP_DOC_TEXT_MAX);
  fputc('\n', x->out);
  return 0;
}

/* Moves on to the period of trade t: its label and last day. */
static void sap_next_period(sap *x, int64_t period) {
  if (x->doc > 0) x->at++;
  IMX_ASSERT(x->at < x->periods_n && x->periods[x->at].period == period);
  char day[11];
  int rc = imx_period_label(x->m, period, x->label, sizeof x->label);
  IMX_ASSERT(rc == 0 && imx_period_last_day(x->m, period, day) == 0); /* pass 1 */
  snprintf(x->day, sizeof x->day, "%.4s%.2s%.2s", day, day + 5, day + 8);
  x->doc_of_period = 0;
  x->in_doc = 0;
}

static int sap_item(void *ctx, const imx_ledger_trade *t) {
  sap *x = ctx;
  if (x->doc == 0 || t->period != x->periods[x->at].period) sap_next_period(x, t->period);
  if ((x->doc_of_period == 0 || x->in_doc == IMX_SAP_DOC_ITEMS_MAX) && sap_header(x))
    return -1;
  const imx_market_cc *seller = sap_cc(x, t->seller, t->trade_id);
  const imx_market_cc *buyer = sap_cc(x, t->buyer, t->trade_id);
  const imx_market_service *s = sap_service(x, t->service, t->trade_id);
  IMX_ASSERT(seller && buyer && s); /* pass 1 saw the same trades */
  char value[IMX_MONEY_TEXT_BYTES], text[IMX_TEXT_BYTES_MAX + 32];
  imx_money_format(t->qty * t->price_minor, x->m->decimals, x->money_flags, value);
  fprintf(x->out, "I;%" PRId64 ";%s;%s;%" PRId64 ";%s;%s;%s;%s;", x->doc, seller->erp_cc,
          s->activity_type, t->qty, s->uom, buyer->erp_cc, value, s->currency);
  snprintf(text, sizeof text, "IMX-%" PRId64 " %s", t->trade_id, s->name);
  sap_text(x->out, text, IMX_SAP_ITEM_TEXT_MAX);
  fputc('\n', x->out);
  x->in_doc++;
  x->rows++;
  return ferror(x->out) ? imx_ledger_error_set(x->l, "writing the export failed") : 0;
}

/* ---------------------------------------------------------------- both */

static int sap_passes(sap *x, int64_t period) {
  const imx_market_erp *e = &x->m->erp;
  if (e->controlling_area[0] == '\0')
    return imx_ledger_error_set(x->l, "sap: the market file has no erp.controlling_area");
  if (e->user[0] == '\0')
    return imx_ledger_error_set(x->l, "sap: the market file has no erp.user");
  /* a period asked for by name is checked before its first trade too: an
  ** open one's empty upload would be the wrong month's books */
  if (period > 0 && sap_period_add(x, period)) return -1;
  if (imx_ledger_trades_each(x->l, period, sap_check, x)) return -1;
  fputs("*H;DOC;CO_AREA;DOCDATE;POSTGDATE;USERNAME;DOC_HDR_TX\n"
        "*I;DOC;SEND_CCTR;ACTTYPE;ACTVTY_QTY;ACTIVITYUN;REC_CCTR;PRICE;CURRENCY;SEG_TEXT\n",
        x->out);
  if (imx_ledger_trades_each(x->l, period, sap_item, x)) return -1;
  IMX_ASSERT(x->periods_n == 0 || x->at == x->periods_n - 1);
  return 0;
}

int imx_export_sap(imx_ledger *l, const imx_market *m, int64_t period,
                   unsigned money_flags, FILE *out, int64_t *rows) {
  IMX_ASSERT(l != NULL && m != NULL && out != NULL && period >= 0);
  sap x = {.l = l, .m = m, .out = out, .money_flags = money_flags};
  if (imx_ledger_read_begin(l)) return -1;
  int rc = sap_passes(&x, period);
  imx_ledger_read_end(l);
  free(x.periods);
  if (rows) *rows = x.rows;
  return rc;
}
