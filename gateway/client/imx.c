/*
** imx.c -- the command line client of imxd.
**
**   imx [--url URL] [--cc CC] [--token T] [--json] COMMAND ...
**
** Settings come from flags or IMX_URL, IMX_CC, IMX_TOKEN (and IMX_PUB_URL
** for watch). Human tables by default; --json prints the daemon's reply as
** it came. An error reply prints its code, field and message on stderr and
** exits 1; no reply at all exits 3; a usage error exits 2.
*/
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imx_client.h"
#include "imx_engine.h" /* IMX_ORDERS_MAX */
#include "imx_ledger.h"
#include "imx_server.h" /* the replay check of ledger verify --market */

typedef struct opts {
  const char *url, *pub_url, *cc, *token;
  int json;
  int timeout_ms;
} opts;

static const char *const USAGE =
    "usage: imx [--url URL] [--cc CC] [--token TOKEN] [--json] COMMAND ...\n"
    "  bid SERVICE QTY [PRICE] [--tif gtc|period|ioc|fok] [--aon]\n"
    "  offer SERVICE QTY [PRICE] [--tif ...] [--aon]   (no PRICE: market order)\n"
    "  cancel ORDER\n"
    "  modify ORDER [--qty N] [--price P]   N: the new total (filled + open)\n"
    "  orders [--for CC]            open orders\n"
    "  orders --all [--for CC] [--limit N] [--before ORDER]\n"
    "                               open orders, then closed ones, newest first\n"
    "  book SERVICE [--depth N]\n"
    "  trades [SERVICE] [--for CC] [--limit N] [--after ID]\n"
    "                               (--after: the trades after ID, oldest first)\n"
    "  balance [--for CC]\n"
    "  services                     every service: name, unit, mode, providers,\n"
    "                               best prices, last trade, description\n"
    "  who [CC]                     the cost centres (name, site, roles, offers),\n"
    "                               or one of them\n"
    "  tender SERVICE QTY CEILING SECONDS [--decide lowest|choose]\n"
    "                               (deadline SECONDS from now; lowest: the cheapest\n"
    "                               quote at the deadline wins; choose: you award)\n"
    "  tenders [--limit N] [--after ID]   your tenders; a provider's open jobs\n"
    "  tender show TENDER           the tender and its quotes (yours only, as a provider)\n"
    "  tender award TENDER QUOTE    award a choose tender to that quote\n"
    "  tender cancel TENDER\n"
    "  quote TENDER PRICE\n"
    "  quote withdraw QUOTE         take your quote back before the award\n"
    "  auction run SERVICE [--reference PRICE]\n"
    "  period close                 close the open period: its summary per service\n"
    "  statement [--period LABEL] [--for CC] [--csv]\n"
    "                               a period's statement (default: the open one):\n"
    "                               per service bought, sold, average prices; trades\n"
    "  watch [SERVICE...] [cc:CC...] [--count N]   live market data (IMX_PUB_URL);\n"
    "                               cc:CC: that cost centre's tender events\n"
    "  token                        print a new random token and its hash\n"
    "  ledger verify --db PATH [--market FILE [--orders-max N] [--orders-per-cc N]]\n"
    "                               check a ledger file offline; with the market,\n"
    "                               replay its journal against its trades too\n"
    "  export --db PATH --market FILE [--period LABEL] --format csv|sap|hledger|beancount\n"
    "         [--out FILE]          the settlements, for finance's tools\n"
    "settings: IMX_URL (default " IMX_DEFAULT_LISTEN "), IMX_PUB_URL (default "
    IMX_DEFAULT_PUBLISH "), IMX_CC, IMX_TOKEN\n";

static int usage(void) {
  fputs(USAGE, stderr);
  return 2;
}

/* A whole number in [lo, hi]; 0 on success. */
static int number(const char *s, int64_t lo, int64_t hi, int64_t *out) {
  char *end = NULL;
  long long v = strtoll(s, &end, 10);
  if (end == s || *end != '\0' || v < lo || v > hi) return -1;
  *out = v;
  return 0;
}

static const char *side_word(int side) {
  return side == IMX_PSIDE_BID ? "bid" : side == IMX_PSIDE_OFFER ? "offer" : "none";
}

static const char *tif_word(int tif) {
  static const char *const w[] = {"gtc", "period", "ioc", "fok"};
  return tif >= 0 && tif < 4 ? w[tif] : "?";
}

/* Minor units as 1234.56 (two decimals: the market file's currencies). */
static const char *amount(int64_t minor, char *buf) {
  snprintf(buf, 32, "%s%" PRId64 ".%02" PRId64, minor < 0 ? "-" : "",
           (minor < 0 ? -minor : minor) / 100, (minor < 0 ? -minor : minor) % 100);
  return buf;
}

/* A price; 0 is a market order's. */
static const char *money(int64_t minor, char *buf) {
  return minor == 0 ? "market" : amount(minor, buf);
}

/* ------------------------------------- discovery, and the names people read */

/*
** `imx services` and `imx who` page through services.list and cc.list; the
** tables that show cost centres (trades, book, balance) show their names,
** read once per run from cc.list (the directory), while --json prints the
** daemon's replies with their ids. Without a directory (the daemon did not
** answer cc.list) the ids are shown.
*/

typedef struct dir_row {
  char id[IMX_NAME_BYTES_MAX + 1];
  char name[IMX_TEXT_BYTES_MAX + 1];
} dir_row;

typedef struct directory {
  int loaded;      /* tried: rows are what came */
  dir_row *rows;
  uint32_t n, cap;
} directory;

static const opts *names_opts; /* whom to ask for the directory */
static directory ccs_dir, services_dir;

typedef int (*page_fn)(const opts *o, const imx_reply *page, void *ctx);

/* Sends a list request (services.list, cc.list) and every page after it
** until the list is complete, giving each reply to on_page. Returns the
** exit status: 0, 1 (an error reply; printed unless quiet), 3 (no reply). */
static int fetch_pages(const opts *o, imx_msg_type type, int quiet, page_fn on_page,
                       void *ctx) {
  imx_client *c = NULL;
  char err[256];
  int rc = 0;
  if (o->token == NULL) {
    if (!quiet) fprintf(stderr, "imx: no token: set IMX_TOKEN or --token\n");
    return 2;
  }
  if (imx_client_open(o->url, o->timeout_ms, &c, err, sizeof err) != 0) {
    if (!quiet) fprintf(stderr, "imx: %s\n", err);
    imx_client_close(c);
    return 3;
  }
  char start[IMX_NAME_BYTES_MAX + 1] = "";
  /* each page moves on by at least one row, and no list is longer */
  for (uint32_t pages = 0; rc == 0 && pages <= IMX_CCS_MAX; pages++) {
    imx_request rq;
    memset(&rq, 0, sizeof rq);
    rq.type = type;
    rq.limit = IMX_LIST_MAX;
    snprintf(rq.start, sizeof rq.start, "%s", start);
    snprintf(rq.token, sizeof rq.token, "%s", o->token);
    imx_reply r;
    memset(&r, 0, sizeof r);
    if (imx_client_call(c, &rq, &r, err, sizeof err) != 0) {
      if (!quiet) fprintf(stderr, "imx: %s\n", err);
      rc = 3;
    } else if (r.error) {
      if (!quiet)
        fprintf(stderr, "imx: %s: %s%s%s\n", r.code, r.field, r.field[0] ? ": " : "",
                r.message);
      rc = 1;
    } else {
      rc = on_page(o, &r, ctx);
      snprintf(start, sizeof start, "%s", r.next);
    }
    imx_reply_free(&r);
    if (start[0] == '\0') break;
  }
  imx_client_close(c);
  return rc;
}

static void dir_free(void) {
  free(ccs_dir.rows);
  free(services_dir.rows);
}

static void dir_add(directory *d, const char *id, const char *name) {
  static int registered;
  if (!registered) registered = atexit(dir_free) == 0;
  if (d->n == d->cap) {
    uint32_t cap = d->cap ? 2 * d->cap : 64;
    dir_row *rows = realloc(d->rows, cap * sizeof *rows);
    if (rows == NULL) return; /* names are a courtesy: ids will do */
    d->rows = rows, d->cap = cap;
  }
  dir_row *row = &d->rows[d->n++];
  snprintf(row->id, sizeof row->id, "%s", id);
  snprintf(row->name, sizeof row->name, "%s", name);
}

static int dir_ccs_page(const opts *o, const imx_reply *page, void *ctx) {
  (void)o;
  for (uint32_t i = 0; i < page->ccs_n; i++)
    dir_add(ctx, page->ccs[i].cc, page->ccs[i].name);
  return 0;
}

static int dir_services_page(const opts *o, const imx_reply *page, void *ctx) {
  (void)o;
  for (uint32_t i = 0; i < page->services_n; i++)
    dir_add(ctx, page->services[i].service, page->services[i].name);
  return 0;
}

static const dir_row *dir_find(directory *d, imx_msg_type type, const char *id) {
  if (!d->loaded && names_opts != NULL) {
    d->loaded = 1;
    fetch_pages(names_opts, type, 1,
                type == IMX_MSG_CC_LIST ? dir_ccs_page : dir_services_page, d);
  }
  for (uint32_t i = 0; i < d->n; i++)
    if (strcmp(d->rows[i].id, id) == 0) return &d->rows[i];
  return NULL;
}

/* A cost centre as a person reads it: its name, or its id when the
** directory does not know it. */
static const char *cc_name(const char *id) {
  const dir_row *row = dir_find(&ccs_dir, IMX_MSG_CC_LIST, id);
  return row ? row->name : id;
}

static const char *service_name(const char *id) {
  const dir_row *row = dir_find(&services_dir, IMX_MSG_SERVICES_LIST, id);
  return row ? row->name : id;
}

/* Milliseconds since 1970 as local ISO 8601 time, to the second. */
static const char *time_text(int64_t ms, char *buf, size_t cap) {
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  if (localtime_r(&t, &tm) == NULL || strftime(buf, cap, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
    snprintf(buf, cap, "%lld", (long long)ms);
  return buf;
}

static const char *roles_text(unsigned roles, char *buf, size_t cap) {
  static const char *const words[] = {"provider", "receiver", "finance", "admin"};
  size_t at = 0;
  buf[0] = '\0';
  for (int i = 0; i < 4; i++)
    if (roles & (1u << i))
      at += (size_t)snprintf(buf + at, cap - at, "%s%s", at ? "," : "", words[i]);
  return buf;
}

/* A page as the daemon sent it (one line of JSON per page). */
static int print_json(const imx_reply *page) {
  static char buf[IMX_REPLY_BYTES_MAX];
  size_t n = imx_reply_encode(page, buf, sizeof buf);
  printf("%.*s\n", (int)n, buf);
  return 0;
}

static int print_services_page(const opts *o, const imx_reply *page, void *ctx) {
  int *rows = ctx;
  char a[32], b[32], c[32], when[40];
  if (o->json) return print_json(page);
  for (uint32_t i = 0; i < page->services_n; i++, (*rows)++) {
    const imx_reply_service *s = &page->services[i];
    if (*rows == 0)
      printf("%-24s %-20s %-10s %-10s %9s %14s %14s %12s  %s\n", "name", "service", "unit",
             "mode", "providers", "best bid", "best offer", "last price", "last trade");
    char bid[48] = "-", offer[48] = "-";
    if (s->bid_minor)
      snprintf(bid, sizeof bid, "%s x %" PRId64, amount(s->bid_minor, a), s->bid_qty);
    if (s->offer_minor)
      snprintf(offer, sizeof offer, "%s x %" PRId64, amount(s->offer_minor, b), s->offer_qty);
    printf("%-24s %-20s %-10s %-10s %9" PRIu32 " %14s %14s %12s  %s\n", s->name, s->service,
           s->unit, s->auction ? "auction" : "continuous", s->providers, bid, offer,
           s->last_price_minor ? amount(s->last_price_minor, c) : "-",
           s->last_time_ms ? time_text(s->last_time_ms, when, sizeof when) : "-");
    if (s->description[0]) printf("  %s\n", s->description);
  }
  return 0;
}

/* imx services: every service of the market, a page at a time. */
static int services_cmd(const opts *o, int argc) {
  if (argc != 0) return usage();
  int rows = 0;
  int rc = fetch_pages(o, IMX_MSG_SERVICES_LIST, 0, print_services_page, &rows);
  if (rc == 0 && rows == 0 && !o->json) printf("no services\n");
  return rc;
}

static int print_ccs_page(const opts *o, const imx_reply *page, void *ctx) {
  int *rows = ctx;
  char roles[48];
  if (o->json) return print_json(page);
  for (uint32_t i = 0; i < page->ccs_n; i++, (*rows)++) {
    const imx_reply_cc *c = &page->ccs[i];
    if (*rows == 0)
      printf("%-28s %-10s %-16s %-18s %s\n", "name", "cc", "site", "roles", "offers");
    printf("%-28s %-10s %-16s %-*s", c->name, c->cc, c->site, c->services_n ? 18 : 0,
           roles_text(c->roles, roles, sizeof roles));
    for (uint32_t k = 0; k < c->services_n; k++)
      printf("%s%s", k ? ", " : " ", c->services[k]);
    printf("\n");
  }
  return 0;
}

/* One cost centre: who it is, what it offers (with the services' names),
** and its budget when the asker may see it. */
static void print_cc(const imx_reply_cc *c) {
  char roles[48], a[32];
  printf("%s (%s)\n", c->name, c->cc);
  printf("  site      %s\n", c->site[0] ? c->site : "-");
  printf("  roles     %s\n", roles_text(c->roles, roles, sizeof roles));
  for (uint32_t k = 0; k < c->services_n; k++)
    printf("  %-9s %s (%s)\n", k ? "" : "offers", service_name(c->services[k]),
           c->services[k]);
  if (c->has_budget) printf("  budget    %s per period\n", amount(c->budget_minor, a));
}

static int call(const opts *o, imx_request *rq);

/* imx who [CC]: the directory, or one cost centre (cc.get). */
static int who_cmd(const opts *o, int argc, char **argv) {
  if (argc > 1) return usage();
  if (argc == 0) {
    int rows = 0;
    return fetch_pages(o, IMX_MSG_CC_LIST, 0, print_ccs_page, &rows);
  }
  imx_request rq;
  memset(&rq, 0, sizeof rq);
  rq.type = IMX_MSG_CC_GET;
  snprintf(rq.cc, sizeof rq.cc, "%s", argv[0]);
  return call(o, &rq);
}

static void print_trades(const imx_reply *r) {
  char p[32], when[32];
  if (r->trades_n) printf("%-8s %-19s %-20s %-24s %-24s %8s %12s\n", "trade", "time", "service", "buyer", "seller", "qty", "price");
  for (uint32_t i = 0; i < r->trades_n; i++) {
    const imx_reply_trade *t = &r->trades[i];
    printf("%-8" PRIu64 " %-19s %-20s %-24s %-24s %8" PRId64 " %12s\n", t->trade,
           time_text(t->time_ms, when, sizeof when), t->service, cc_name(t->buyer), cc_name(t->seller),
           t->qty, money(t->price_minor, p));
  }
}

/* The book: bids as levels (anonymous), beside the offers one by one in
** the order they trade, each with its provider; the asker's own offers
** show their order id. */
static void print_book(const imx_reply *r) {
  char a[32], b[32], who[IMX_TEXT_BYTES_MAX * 2 + 48];
  printf("%s (%s)\n%12s %8s | %-12s %8s  %s\n", service_name(r->service), r->service,
         "bid", "qty", "offer", "qty", "provider");
  uint32_t n = r->bids_n > r->offer_orders_n ? r->bids_n : r->offer_orders_n;
  for (uint32_t i = 0; i < n; i++) {
    if (i < r->bids_n) printf("%12s %8" PRId64 " | ", money(r->bids[i].price_minor, a), r->bids[i].qty);
    else printf("%12s %8s | ", "", "");
    if (i < r->offer_orders_n) {
      const imx_reply_offer *o = &r->offer_orders[i];
      int k = snprintf(who, sizeof who, "%s%s%s%s", o->name, o->site[0] ? " (" : "",
                       o->site, o->site[0] ? ")" : "");
      if (o->order && k >= 0 && (size_t)k < sizeof who)
        snprintf(who + k, sizeof who - (size_t)k, ", your order %" PRIu64, o->order);
      printf("%-12s %8" PRId64 "%s  %s", money(o->price_minor, b), o->qty, o->aon ? " aon" : "",
             who);
    }
    printf("\n");
  }
}

static const char *status_word(int status) {
  static const char *const w[] = {"open", "filled", "cancelled", "expired"};
  return status >= 0 && status < 4 ? w[status] : "?";
}

static void print_modified(const imx_reply *r) {
  char p[32];
  printf("order %" PRIu64 " %s: %" PRId64 " of %" PRId64 " filled, %" PRId64
         " open at %s, priority %s%s%s\n", r->order, status_word(r->status),
         r->qty_filled, r->qty, r->qty_open, money(r->price_minor, p),
         r->priority_kept ? "kept" : "lost", r->reason[0] ? ", reason " : "", r->reason);
  print_trades(r);
}

/* Closed orders, newest first, each with its fills. */
static void print_history(const imx_reply *r) {
  char p[32];
  printf("closed orders of %s (%s)\n", cc_name(r->cc), r->cc);
  if (r->closed_n == 0) return;
  printf("%-8s %-20s %-5s %-6s %12s %8s %8s %s\n", "order", "service", "side", "tif",
         "price", "qty", "filled", "status");
  for (uint32_t i = 0; i < r->closed_n; i++) {
    const imx_reply_closed *o = &r->closed[i];
    printf("%-8" PRIu64 " %-20s %-5s %-6s %12s %8" PRId64 " %8" PRId64 " %s%s%s%s%s\n",
           o->order, o->service, side_word(o->side), tif_word(o->tif),
           money(o->price_minor, p), o->qty, o->qty_filled, status_word(o->status),
           o->reason[0] ? " (" : "", o->reason, o->reason[0] ? ")" : "", o->aon ? " aon" : "");
    for (uint32_t k = 0; k < o->fills_n; k++)
      printf("         fill %" PRIu64 ": %" PRId64 " at %s with %s\n", o->fills[k].trade,
             o->fills[k].qty, money(o->fills[k].price_minor, p),
             cc_name(o->fills[k].counterparty));
    if (o->fills_omitted)
      printf("         ... and %" PRIu64 " more fills\n", o->fills_omitted);
  }
}

/* ------------------------------------------------ periods and statements */

/*
** `imx period close` prints the periods closed and opened and what traded
** per service; `imx statement` asks statement.get (the ledger's part) and,
** for the open period, balance.get (the engine's budget and reservations),
** and prints both. Average prices are amount / units rounded half up to a
** cent, for reading only: the exact figures are the amount and the units
** beside them (and in --json).
*/

/* amount / units rounded half up to a cent, or "-" without units. */
static const char *average(int64_t amount_minor, int64_t units, char *buf) {
  if (units <= 0) return snprintf(buf, 32, "-"), buf;
  return amount((2 * amount_minor + units) / (2 * units), buf);
}

static void print_period_close(const imx_reply *r) {
  char a[32], v[32];
  printf("period %s closed, %s open; %" PRId64 " orders expired\n", r->period, r->opened,
         r->expired);
  if (r->sums_n)
    printf("%-20s %8s %10s %14s %12s\n", "service", "trades", "units", "amount", "avg price");
  for (uint32_t i = 0; i < r->sums_n; i++) {
    const imx_reply_sum *s = &r->sums[i];
    printf("%-20s %8" PRId64 " %10" PRId64 " %14s %12s\n", s->service, s->trades, s->bought,
           amount(s->spent, a), average(s->spent, s->bought, v));
  }
  if (r->sums_omitted) printf("(%" PRIu64 " more services not listed)\n", r->sums_omitted);
  if (r->sums_n == 0) printf("nothing traded\n");
  for (uint32_t i = 0; i < r->over_budget_n; i++)
    printf("over budget: %s (%s): its open bids hold more than its new budget\n",
           cc_name(r->over_budget[i]), r->over_budget[i]);
}

static void print_statement(const imx_reply *st, const imx_reply *bal) {
  char a[32], b[32], c[32], d[32], when[32];
  printf("statement of %s (%s), period %s, %s\n", cc_name(st->cc), st->cc, st->period,
         st->is_closed ? "closed" : "open");
  if (st->is_closed)
    printf("  closed %s\n", time_text(st->closed_ms, when, sizeof when));
  if (bal)
    printf("  budget %s, reserved %s, spent %s, earned %s, available %s\n",
           amount(bal->budget, a), amount(bal->reserved, b), amount(bal->spent, c),
           amount(bal->earned, d), amount(bal->available, (char[32]){0}));
  printf("%-20s %7s %8s %12s %10s %8s %12s %10s\n", "service", "trades", "bought", "spent",
         "avg buy", "sold", "earned", "avg sell");
  for (uint32_t i = 0; i < st->sums_n; i++) {
    const imx_reply_sum *s = &st->sums[i];
    printf("%-20s %7" PRId64 " %8" PRId64 " %12s %10s %8" PRId64 " %12s %10s\n", s->service,
           s->trades, s->bought, amount(s->spent, a), average(s->spent, s->bought, b),
           s->sold, amount(s->earned, c), average(s->earned, s->sold, d));
  }
  if (st->sums_n == 0) printf("(no trades in this period)\n");
  if (st->sums_omitted) printf("(%" PRIu64 " more services not listed)\n", st->sums_omitted);
  if (bal && bal->reserved)
    printf("reserved by open bids now: %s (imx orders lists them)\n", amount(bal->reserved, a));
  for (uint32_t i = 0; bal && i < bal->capacities_n; i++)
    if (bal->capacities[i].reserved)
      printf("reserved by open offers now: %" PRId64 " of %s\n", bal->capacities[i].reserved,
             bal->capacities[i].service);
  if (st->trades_n) printf("trades, oldest first:\n");
  for (uint32_t i = 0; i < st->trades_n; i++) {
    const imx_reply_trade *t = &st->trades[i];
    int bought = strcmp(t->buyer, st->cc) == 0;
    const char *other = bought ? t->seller : t->buyer;
    printf("  %-8" PRIu64 " %-19s %-20s %-6s %8" PRId64 " x %10s = %12s  %s %s\n", t->trade,
           time_text(t->time_ms, when, sizeof when), t->service, bought ? "bought" : "sold", t->qty,
           amount(t->price_minor, a), amount(t->qty * t->price_minor, b),
           bought ? "from" : "to", cc_name(other));
  }
  if (st->trades_omitted)
    printf("  (%" PRIu64 " more trades: imx trades --for %s --after %" PRIu64 ")\n",
           st->trades_omitted, st->cc, st->trades_n ? st->trades[st->trades_n - 1].trade : 0);
}

/* --csv: one row per service, money in major units, averages rounded as
** above, for a spreadsheet. */
static void print_statement_csv(const imx_reply *st) {
  char a[32], b[32], c[32], d[32];
  printf("period,closed,cc,service,trades,bought,spent,avg_buy_price,sold,earned,"
         "avg_sell_price\n");
  for (uint32_t i = 0; i < st->sums_n; i++) {
    const imx_reply_sum *s = &st->sums[i];
    /* ids may hold commas or quotes: quoted as in imx export's csv */
    printf("%s,%s,\"", st->period, st->is_closed ? "true" : "false");
    for (const char *p = st->cc; *p; p++) printf(*p == '"' ? "\"\"" : "%c", *p);
    printf("\",\"");
    for (const char *p = s->service; *p; p++) printf(*p == '"' ? "\"\"" : "%c", *p);
    printf("\",%" PRId64 ",%" PRId64 ",%s,%s,%" PRId64 ",%s,%s\n", s->trades, s->bought,
           amount(s->spent, a), s->bought ? average(s->spent, s->bought, b) : "",
           s->sold, amount(s->earned, c), s->sold ? average(s->earned, s->sold, d) : "");
  }
}

/* One request, its reply into *r: 0, 1 (an error reply, printed), 3 (no
** reply). */
static int ask(const opts *o, imx_request *rq, imx_reply *r) {
  if (o->token) snprintf(rq->token, sizeof rq->token, "%s", o->token);
  imx_client *c = NULL;
  char err[256];
  int rc = 0;
  memset(r, 0, sizeof *r);
  if (imx_client_open(o->url, o->timeout_ms, &c, err, sizeof err) != 0 ||
      imx_client_call(c, rq, r, err, sizeof err) != 0) {
    fprintf(stderr, "imx: %s\n", err);
    rc = 3;
  } else if (r->error) {
    fprintf(stderr, "imx: %s: %s%s%s\n", r->code, r->field, r->field[0] ? ": " : "",
            r->message);
    rc = 1;
  }
  imx_client_close(c);
  return rc;
}

/* statement [--period LABEL] [--for CC | --cc CC] [--csv] */
static int statement_cmd(const opts *o, int argc, char **argv) {
  imx_request rq;
  memset(&rq, 0, sizeof rq);
  rq.type = IMX_MSG_STATEMENT_GET;
  int csv = 0;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--csv")) {
      csv = 1;
    } else if (i + 1 < argc && !strcmp(argv[i], "--period") &&
               strlen(argv[i + 1]) < sizeof rq.period && argv[i + 1][0]) {
      snprintf(rq.period, sizeof rq.period, "%s", argv[++i]);
    } else if (i + 1 < argc && (!strcmp(argv[i], "--for") || !strcmp(argv[i], "--cc")) &&
               strlen(argv[i + 1]) < sizeof rq.cc && argv[i + 1][0]) {
      snprintf(rq.cc, sizeof rq.cc, "%s", argv[++i]);
    } else {
      return usage();
    }
  }
  if (rq.cc[0] == '\0' && o->cc) snprintf(rq.cc, sizeof rq.cc, "%s", o->cc);
  if (o->token == NULL) {
    fprintf(stderr, "imx: no token: set IMX_TOKEN or --token\n");
    return 2;
  }
  imx_reply st, bal;
  int rc = ask(o, &rq, &st);
  int have_bal = 0;
  if (rc == 0 && !st.is_closed && !csv) {
    /* the open period: the engine's budget and reservations */
    imx_request b;
    memset(&b, 0, sizeof b);
    b.type = IMX_MSG_BALANCE_GET;
    snprintf(b.cc, sizeof b.cc, "%s", st.cc);
    rc = ask(o, &b, &bal);
    have_bal = rc == 0;
  }
  if (rc == 0) {
    if (csv) print_statement_csv(&st);
    else if (o->json) {
      print_json(&st);
      if (have_bal) print_json(&bal);
    } else {
      print_statement(&st, have_bal ? &bal : NULL);
    }
  }
  imx_reply_free(&st);
  if (have_bal) imx_reply_free(&bal);
  return rc;
}

static const char *decide_word(int decide) {
  return decide == IMX_PDECIDE_CHOOSE ? "choose" : "lowest";
}

static void print_tender_row(const imx_reply_tender *t) {
  char c[32], d[40], p[32];
  printf("%-8" PRIu64 " %-20s %-24s %8" PRId64 " %12s  %-6s %6" PRIu32 "  %s",
         t->tender, t->service, cc_name(t->buyer), t->qty, amount(t->ceiling_minor, c),
         decide_word(t->decide), t->quotes,
         time_text(t->deadline_time_ms, d, sizeof d));
  if (t->my_quote)
    printf("  your quote %" PRIu64 " at %s", t->my_quote, amount(t->my_price_minor, p));
  printf("\n");
}

/* The replies of the tender requests; 0 when r is not one. */
static int print_tender_reply(const imx_reply *r) {
  char p[32];
  switch (r->type) {
  case IMX_MSG_TENDER_AWARD:
    printf("tender %" PRIu64 " awarded to quote %" PRIu64 "\n", r->tender, r->quote);
    print_trades(r);
    return 1;
  case IMX_MSG_TENDER_CANCEL: printf("tender %" PRIu64 " cancelled\n", r->tender); return 1;
  case IMX_MSG_QUOTE_WITHDRAW:
    printf("quote %" PRIu64 " on tender %" PRIu64 " withdrawn\n", r->quote, r->tender);
    return 1;
  case IMX_MSG_TENDER_LIST:
    printf("%-8s %-20s %-24s %8s %12s  %-6s %6s  %s\n", "tender", "service", "buyer",
           "qty", "ceiling", "decide", "quotes", "deadline");
    for (uint32_t i = 0; i < r->tenders_n; i++) print_tender_row(&r->tenders[i]);
    return 1;
  case IMX_MSG_TENDER_GET: {
    const imx_reply_tender *t = r->tenders;
    char c[32], d[40];
    printf("tender %" PRIu64 ": %" PRId64 " x %s for %s (%s), ceiling %s, "
           "decide %s, deadline %s, %" PRIu32 " quotes\n", t->tender, t->qty,
           t->service, r->buyer_name, r->buyer_site,
           amount(t->ceiling_minor, c), decide_word(t->decide),
           time_text(t->deadline_time_ms, d, sizeof d), t->quotes);
    if (r->quotes_n)
      printf("%-8s %-28s %-16s %12s\n", "quote", "provider", "site", "price");
    for (uint32_t i = 0; i < r->quotes_n; i++) {
      const imx_reply_quote *q = &r->quotes[i];
      printf("%-8" PRIu64 " %-28s %-16s %12s\n", q->quote, q->name, q->site,
             amount(q->price_minor, p));
    }
    return 1;
  }
  default: return 0;
  }
}

static void print_human(const imx_reply *r) {
  if (print_tender_reply(r)) return;
  char a[32], b[32];
  switch (r->type) {
  case IMX_MSG_HELLO: printf("hello %s\n", r->cc); break;
  case IMX_MSG_ORDER_NEW:
    printf("order %" PRIu64 " %s: %" PRId64 " filled, %" PRId64 " open%s%s\n",
           r->order, r->status == 0 ? "open" : r->status == 1 ? "filled" : "cancelled",
           r->qty_filled, r->qty_open, r->reason[0] ? ", reason " : "", r->reason);
    print_trades(r);
    break;
  case IMX_MSG_ORDER_CANCEL:
    printf("order %" PRIu64 " cancelled, %" PRId64 " open removed\n", r->order, r->qty);
    break;
  case IMX_MSG_ORDER_LIST:
    printf("%-8s %-20s %-5s %-6s %12s %8s %8s %8s\n", "order", "service", "side", "tif", "price", "qty", "open", "filled");
    for (uint32_t i = 0; i < r->orders_n; i++) {
      const imx_reply_order *o = &r->orders[i];
      printf("%-8" PRIu64 " %-20s %-5s %-6s %12s %8" PRId64 " %8" PRId64 " %8" PRId64 "%s\n",
             o->order, o->service, side_word(o->side), tif_word(o->tif),
             money(o->price_minor, a), o->qty, o->qty_open, o->qty_filled, o->aon ? " aon" : "");
    }
    break;
  case IMX_MSG_BOOK_GET: print_book(r); break;
  case IMX_MSG_TRADES_LIST: print_trades(r); break;
  case IMX_MSG_BALANCE_GET:
    printf("%s (%s): budget %s, reserved %s, spent %s, earned %s, available %s\n",
           cc_name(r->cc), r->cc,
           amount(r->budget, a), amount(r->reserved, b), amount(r->spent, (char[32]){0}),
           amount(r->earned, (char[32]){0}), amount(r->available, (char[32]){0}));
    for (uint32_t i = 0; i < r->capacities_n; i++)
      printf("  %-20s capacity %" PRId64 ", reserved %" PRId64 ", sold %" PRId64 ", available %" PRId64 "\n",
             r->capacities[i].service, r->capacities[i].capacity, r->capacities[i].reserved,
             r->capacities[i].sold, r->capacities[i].available);
    break;
  case IMX_MSG_TENDER_NEW: printf("tender %" PRIu64 " open\n", r->tender); break;
  case IMX_MSG_TENDER_QUOTE: printf("quote %" PRIu64 " on tender %" PRIu64 "\n", r->quote, r->tender); break;
  case IMX_MSG_AUCTION_RUN:
    if (r->price_minor) printf("%s: price %s, volume %" PRId64 ", surplus %" PRId64 " (%s)\n",
                               r->service, money(r->price_minor, a), r->volume, r->surplus,
                               side_word(r->surplus_side));
    else printf("%s: no price, nothing traded\n", r->service);
    break;
  case IMX_MSG_PERIOD_CLOSE: print_period_close(r); break;
  case IMX_MSG_ORDER_MODIFY: print_modified(r); break;
  case IMX_MSG_ORDER_HISTORY: print_history(r); break;
  case IMX_MSG_CC_GET: print_cc(r->ccs); break;
  default: break;
  }
}

/* Sends one request and prints the reply; returns the exit status. */
static int call(const opts *o, imx_request *rq) {
  /* The token says who asks; cc (IMX_CC, or --for) whom it is about. */
  int acts = rq->type != IMX_MSG_TRADES_LIST && rq->type != IMX_MSG_BOOK_GET &&
             rq->type != IMX_MSG_AUCTION_RUN && rq->type != IMX_MSG_PERIOD_CLOSE &&
             rq->type != IMX_MSG_SERVICES_LIST && rq->type != IMX_MSG_CC_LIST;
  if (acts && rq->cc[0] == '\0' && o->cc)
    snprintf(rq->cc, sizeof rq->cc, "%s", o->cc);
  if (o->token) snprintf(rq->token, sizeof rq->token, "%s", o->token);
  if (rq->token[0] == '\0') {
    fprintf(stderr, "imx: no token: set IMX_TOKEN or --token\n");
    return 2;
  }
  imx_client *c = NULL;
  imx_reply r;
  memset(&r, 0, sizeof r);
  char err[256];
  int rc = 0;
  if (imx_client_open(o->url, o->timeout_ms, &c, err, sizeof err) != 0 ||
      imx_client_call(c, rq, &r, err, sizeof err) != 0) {
    fprintf(stderr, "imx: %s\n", err);
    rc = 3;
  } else if (r.error) {
    fprintf(stderr, "imx: %s: %s%s%s\n", r.code, r.field, r.field[0] ? ": " : "", r.message);
    rc = 1;
  } else if (o->json) {
    static char buf[IMX_MSG_BYTES_MAX * 8];
    size_t n = imx_reply_encode(&r, buf, sizeof buf);
    printf("%.*s\n", (int)n, buf);
  } else {
    print_human(&r);
  }
  imx_reply_free(&r);
  imx_client_close(c);
  return rc;
}

static int order_cmd(const opts *o, int side, int argc, char **argv) {
  imx_request rq;
  memset(&rq, 0, sizeof rq);
  rq.type = IMX_MSG_ORDER_NEW;
  rq.side = side;
  int pos = 0;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--aon")) rq.aon = 1;
    else if (!strcmp(argv[i], "--tif") && i + 1 < argc) {
      const char *t = argv[++i];
      rq.tif = !strcmp(t, "gtc") ? 0 : !strcmp(t, "period") ? 1 : !strcmp(t, "ioc") ? 2 : !strcmp(t, "fok") ? 3 : -1;
      if (rq.tif < 0) return usage();
    } else if (pos == 0) {
      snprintf(rq.service, sizeof rq.service, "%s", argv[i]);
      pos++;
    } else if (pos == 1) {
      if (number(argv[i], 1, IMX_QTY_MAX, &rq.qty)) return usage();
      pos++;
    } else if (pos == 2) {
      if (number(argv[i], 1, IMX_PRICE_MAX_MINOR, &rq.price_minor)) return usage();
      rq.has_price = 1;
      pos++;
    } else {
      return usage();
    }
  }
  return pos < 2 ? usage() : call(o, &rq);
}

/* A tender event as a line of text. */
static void print_md_tender(const imx_md_event *ev) {
  char a[32], d[40];
  switch (ev->kind) {
  case IMX_MD_TENDER_OPENED:
    printf("%-20s tender %" PRIu64 " opened by %s: %" PRId64 ", ceiling %s, decide %s,"
           " deadline %s\n", ev->service, ev->tender, cc_name(ev->buyer), ev->qty,
           amount(ev->price_minor, a), decide_word(ev->decide),
           time_text(ev->deadline_time_ms, d, sizeof d));
    break;
  case IMX_MD_TENDER_QUOTED:
    printf("%-20s tender %" PRIu64 ": a quote came, %" PRIu32 " standing\n", ev->service,
           ev->tender, ev->quotes);
    break;
  case IMX_MD_TENDER_AWARDED:
    printf("%-20s tender %" PRIu64 " awarded: quote %" PRIu64 " of %s, %" PRId64
           " at %s, trade %" PRIu64 "\n", ev->service, ev->tender, ev->quote, cc_name(ev->seller),
           ev->qty, amount(ev->price_minor, a), ev->trade);
    break;
  case IMX_MD_TENDER_LAPSED:
    printf("%-20s tender %" PRIu64 " lapsed: %s\n", ev->service, ev->tender,
           ev->why == IMX_LAPSED_NO_QUOTES ? "no quote by the deadline"
                                           : "no award by the deadline");
    break;
  default: break;
  }
}

/* One market data message: a line of text, or its JSON with --json. */
static void print_md(const opts *o, const char *data, size_t len) {
  imx_md_event ev;
  imx_proto_error err = {0};
  char a[32], b[32];
  if (imx_md_decode(data, len, &ev, &err) != 0) {
    fprintf(stderr, "imx: watch: a bad message: %s: %s\n", err.field, err.message);
    return;
  }
  if (o->json) {
    const char *json = memchr(data, ' ', len) + 1;
    printf("%.*s\n", (int)(len - (size_t)(json - data)), json);
    return;
  }
  if (ev.kind >= IMX_MD_TENDER_OPENED) {
    print_md_tender(&ev);
    return;
  }
  switch (ev.kind) {
  case IMX_MD_TENDER_OPENED:
  case IMX_MD_TENDER_QUOTED:
  case IMX_MD_TENDER_AWARDED:
  case IMX_MD_TENDER_LAPSED: break; /* above */
  case IMX_MD_TRADE:
    printf("%-20s trade %" PRIu64 ": %" PRId64 " at %s\n", ev.service, ev.trade,
           ev.qty, money(ev.price_minor, a));
    break;
  case IMX_MD_TOP:
    printf("%-20s best bid %s x %" PRId64 ", best offer %s x %" PRId64 "\n", ev.service,
           ev.bid ? amount(ev.bid, a) : "-", ev.bid_qty,
           ev.offer ? amount(ev.offer, b) : "-", ev.offer_qty);
    break;
  case IMX_MD_AUCTION:
    printf("%-20s auction: %s, volume %" PRId64 ", surplus %" PRId64 " (%s)\n", ev.service,
           ev.price_minor ? amount(ev.price_minor, a) : "no price", ev.volume,
           ev.surplus, side_word(ev.surplus_side));
    break;
  }
}

static int watch(const opts *o, int argc, char **argv) {
  int64_t count = -1;
  nng_socket sub;
  int rv, topics = 0;
  if ((rv = nng_sub0_open(&sub)) != 0 || (rv = nng_dial(sub, o->pub_url, NULL, NNG_FLAG_NONBLOCK)) != 0) {
    fprintf(stderr, "imx: %s: %s\n", o->pub_url, nng_strerror(rv));
    return 3;
  }
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--count") && i + 1 < argc) {
      if (number(argv[++i], 1, INT64_MAX, &count)) return usage();
      continue;
    }
    char topic[IMX_NAME_BYTES_MAX + 2];
    snprintf(topic, sizeof topic, "%s ", argv[i]);
    nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, topic, strlen(topic));
    topics++;
  }
  if (topics == 0) nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int64_t n = 0; count < 0 || n < count; n++) {
    char *data = NULL;
    size_t len = 0;
    if ((rv = nng_recv(sub, &data, &len, NNG_FLAG_ALLOC)) != 0) {
      fprintf(stderr, "imx: watch: %s\n", nng_strerror(rv));
      nng_close(sub);
      return 3;
    }
    print_md(o, data, len);
    nng_free(data, len);
  }
  nng_close(sub);
  return 0;
}

static int token_cmd(void) {
  unsigned char raw[32];
  FILE *f = fopen("/dev/urandom", "rb");
  if (f == NULL || fread(raw, 1, sizeof raw, f) != sizeof raw) {
    fprintf(stderr, "imx: cannot read /dev/urandom\n");
    if (f) fclose(f);
    return 3;
  }
  fclose(f);
  char token[65], hash[65];
  for (int i = 0; i < 32; i++) snprintf(token + 2 * i, 3, "%02x", raw[i]);
  imx_sha256_hex(token, 64, hash);
  printf("token %s\ntoken_hash %s\n", token, hash);
  return 0;
}

/* imx ledger verify --db PATH [--market FILE [--orders-max N]
** [--orders-per-cc N]]: the daemon's start-up checks, offline, on a ledger
** that must exist (opened read-only: verifying changes nothing; imxd may be
** writing it). With the market file the journal is also replayed through
** the engine and must make exactly the ledger's trades, trade by trade: an
** edit that keeps the ledger balanced (a price changed in a trade and its
** postings) is found there. The limits must be the ones imxd ran with. */
static int ledger_cmd(int argc, char **argv) {
  const char *db = NULL, *market_path = NULL;
  int64_t orders_max = IMX_SERVER_ORDERS_MAX_DEFAULT,
          orders_per_cc = IMX_SERVER_ORDERS_PER_CC_DEFAULT;
  if (argc < 1 || strcmp(argv[0], "verify") || argc % 2 == 0) return usage();
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--db")) db = argv[i + 1];
    else if (!strcmp(argv[i], "--market")) market_path = argv[i + 1];
    else if (!strcmp(argv[i], "--orders-max")) {
      if (number(argv[i + 1], 1, IMX_ORDERS_MAX, &orders_max)) return usage();
    } else if (!strcmp(argv[i], "--orders-per-cc")) {
      if (number(argv[i + 1], 1, 1LL << 30, &orders_per_cc)) return usage();
    } else {
      return usage();
    }
  }
  if (db == NULL) return usage();
  imx_market m;
  imx_proto_error perr = {0};
  if (market_path && imx_market_load(market_path, &m, &perr) != 0) {
    fprintf(stderr, "imx: %s: %s: %s\n", market_path, perr.field, perr.message);
    return 1;
  }
  imx_ledger *l = NULL;
  char err[512];
  int rc = 0;
  int64_t seq = 0, trade = 0, replayed = 0;
  imx_server_config cfg = {.market = &m, .orders_max = (uint32_t)orders_max,
                           .orders_per_cc_max = (uint32_t)orders_per_cc};
  if (imx_ledger_open_existing(db, &l, err, sizeof err) != 0) {
    fprintf(stderr, "imx: %s: %s\n", db, err);
    rc = 1;
  } else if (imx_ledger_verify(l, err, sizeof err) != 0 ||
             (market_path && imx_server_replay_check(&cfg, l, &replayed, err,
                                                     sizeof err) != 0)) {
    fprintf(stderr, "imx: %s: check failed: %s\n", db, err);
    rc = 1;
  } else {
    imx_ledger_last(l, &seq, &trade);
    printf("%s: ok (%" PRId64 " commands, %" PRId64 " trades; every trade balanced, total"
           " zero%s)\n", db, seq, trade,
           market_path ? "; the journal replayed makes every trade" : "");
  }
  imx_ledger_close(l);
  if (market_path) imx_market_free(&m);
  return rc;
}

/* imx export: the ledger must exist (read-only); with --out the file appears
** only when the export is complete. */
static int export_cmd(int argc, char **argv) {
  static const char *const formats[] = {"csv", "sap", "hledger", "beancount"};
  const char *db = NULL, *market_path = NULL, *out_path = NULL;
  const char *period_label = NULL;
  int format = -1;
  int64_t period = 0;
  for (int i = 0; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--db")) db = argv[i + 1];
    else if (!strcmp(argv[i], "--market")) market_path = argv[i + 1];
    else if (!strcmp(argv[i], "--out")) out_path = argv[i + 1];
    else if (!strcmp(argv[i], "--period")) period_label = argv[i + 1];
    else if (!strcmp(argv[i], "--format")) {
      for (int k = 0; k < 4; k++)
        if (!strcmp(argv[i + 1], formats[k])) format = k;
    } else {
      return usage();
    }
  }
  if (argc % 2 || !db || !market_path || format < 0) return usage();
  imx_market m;
  imx_proto_error perr = {0};
  if (imx_market_load(market_path, &m, &perr) != 0) {
    fprintf(stderr, "imx: %s: %s: %s\n", market_path, perr.field, perr.message);
    return 1;
  }
  if (period_label && (period = imx_period_parse(&m, period_label)) < 1) {
    char first[IMX_PERIOD_LABEL_BYTES];
    imx_period_label(&m, 1, first, sizeof first);
    fprintf(stderr, "imx: --period: \"%s\" is not a period of this market (the first"
                    " is %s)\n", period_label, first);
    imx_market_free(&m);
    return 2;
  }
  imx_ledger *l = NULL;
  char err[512];
  int rc = 0;
  int64_t rows = 0;
  if (imx_ledger_open_existing(db, &l, err, sizeof err) != 0) {
    fprintf(stderr, "imx: %s: %s\n", db, err);
    rc = 1;
  } else if ((out_path ? imx_export_file(l, &m, period, format, out_path, &rows)
                       : imx_export(l, &m, period, format, stdout, &rows)) != 0) {
    fprintf(stderr, "imx: export failed: %s\n", imx_ledger_error(l));
    rc = 1;
  } else if (out_path) {
    fprintf(stderr, "imx: %" PRId64 " settlements written to %s\n", rows, out_path);
  }
  imx_ledger_close(l);
  imx_market_free(&m);
  return rc;
}

/* modify ORDER [--qty N] [--price P]: N is the new total quantity. */
static int modify_cmd(const opts *o, int argc, char **argv) {
  imx_request rq;
  memset(&rq, 0, sizeof rq);
  rq.type = IMX_MSG_ORDER_MODIFY;
  int64_t n = 0;
  if (argc < 3 || number(argv[0], 1, IMX_ID_MAX, &n)) return usage();
  rq.order = (uint64_t)n;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--qty") && i + 1 < argc) {
      if (number(argv[++i], 1, IMX_QTY_MAX, &rq.qty)) return usage();
    } else if (!strcmp(argv[i], "--price") && i + 1 < argc) {
      if (number(argv[++i], 1, IMX_PRICE_MAX_MINOR, &rq.price_minor)) return usage();
      rq.has_price = 1;
    } else {
      return usage();
    }
  }
  return call(o, &rq);
}

/* imx tenders, imx tender show|award|cancel, imx tender SERVICE ... with
** --decide, imx quote withdraw. Returns -1 when the words are none of these
** (simple() then reads them). */
static int tender_cmd(const opts *o, const char *cmd, int argc, char **argv) {
  imx_request rq;
  memset(&rq, 0, sizeof rq);
  int64_t n = 0, m = 0;
  const char *sub = argc > 0 ? argv[0] : "";
  if (!strcmp(cmd, "tenders")) {
    rq.type = IMX_MSG_TENDER_LIST;
    rq.limit = 100;
    for (int i = 0; i < argc; i++) {
      if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
        if (number(argv[++i], 1, IMX_LIST_MAX, &n)) return usage();
        rq.limit = (uint32_t)n;
      } else if (!strcmp(argv[i], "--after") && i + 1 < argc) {
        if (number(argv[++i], 0, IMX_ID_MAX, &n)) return usage();
        rq.after = (uint64_t)n, rq.has_after = 1;
      } else {
        return usage();
      }
    }
  } else if (!strcmp(cmd, "quote") && !strcmp(sub, "withdraw")) {
    if (argc != 2 || number(argv[1], 1, IMX_ID_MAX, &n)) return usage();
    rq.type = IMX_MSG_QUOTE_WITHDRAW;
    rq.quote = (uint64_t)n;
  } else if (!strcmp(cmd, "tender") && (!strcmp(sub, "show") || !strcmp(sub, "cancel"))) {
    if (argc != 2 || number(argv[1], 1, IMX_ID_MAX, &n)) return usage();
    rq.type = !strcmp(sub, "show") ? IMX_MSG_TENDER_GET : IMX_MSG_TENDER_CANCEL;
    rq.tender = (uint64_t)n;
  } else if (!strcmp(cmd, "tender") && !strcmp(sub, "award")) {
    if (argc != 3 || number(argv[1], 1, IMX_ID_MAX, &n) ||
        number(argv[2], 1, IMX_ID_MAX, &m))
      return usage();
    rq.type = IMX_MSG_TENDER_AWARD;
    rq.tender = (uint64_t)n, rq.quote = (uint64_t)m;
  } else if (!strcmp(cmd, "tender") && argc == 6 && !strcmp(argv[4], "--decide")) {
    rq.type = IMX_MSG_TENDER_NEW;
    snprintf(rq.service, sizeof rq.service, "%s", argv[0]);
    if (number(argv[1], 1, IMX_QTY_MAX, &rq.qty) ||
        number(argv[2], 1, IMX_PRICE_MAX_MINOR, &rq.ceiling_minor) ||
        number(argv[3], 1, IMX_DEADLINE_MS_MAX / 1000, &n))
      return usage();
    rq.deadline_ms = n * 1000;
    if (!strcmp(argv[5], "choose")) rq.decide = IMX_PDECIDE_CHOOSE;
    else if (strcmp(argv[5], "lowest")) return usage();
  } else {
    return -1;
  }
  return call(o, &rq);
}

/* orders --all: the open orders (order.list), then a page of the closed
** ones (order.history). */
static int orders_all(const opts *o, int argc, char **argv) {
  imx_request open, done;
  memset(&open, 0, sizeof open);
  memset(&done, 0, sizeof done);
  open.type = IMX_MSG_ORDER_LIST;
  done.type = IMX_MSG_ORDER_HISTORY;
  done.limit = 20;
  int64_t n = 0;
  for (int i = 0; i < argc; i++) {
    if (!strcmp(argv[i], "--all")) continue;
    if (i + 1 >= argc) return usage();
    if (!strcmp(argv[i], "--for")) {
      snprintf(open.cc, sizeof open.cc, "%s", argv[++i]);
      snprintf(done.cc, sizeof done.cc, "%s", argv[i]);
    } else if (!strcmp(argv[i], "--limit")) {
      if (number(argv[++i], 1, IMX_HISTORY_LIMIT_MAX, &n)) return usage();
      done.limit = (uint32_t)n;
    } else if (!strcmp(argv[i], "--before")) {
      if (number(argv[++i], 1, IMX_ID_MAX, &n)) return usage();
      done.before = (uint64_t)n;
    } else {
      return usage();
    }
  }
  int rc = call(o, &open);
  return rc != 0 ? rc : call(o, &done);
}

/* The commands that take a few positional arguments. */
static int simple(const opts *o, const char *cmd, int argc, char **argv) {
  imx_request rq;
  memset(&rq, 0, sizeof rq);
  int64_t n = 0;
  const char *opt_for = NULL;
  for (int i = 0; i + 1 < argc; i++)
    if (!strcmp(argv[i], "--for")) opt_for = argv[i + 1];
  if (!strcmp(cmd, "cancel") && argc == 1) {
    rq.type = IMX_MSG_ORDER_CANCEL;
    if (number(argv[0], 1, IMX_ID_MAX, &n)) return usage();
    rq.order = (uint64_t)n;
  } else if (!strcmp(cmd, "orders") || !strcmp(cmd, "balance")) {
    rq.type = !strcmp(cmd, "orders") ? IMX_MSG_ORDER_LIST : IMX_MSG_BALANCE_GET;
    if (opt_for) snprintf(rq.cc, sizeof rq.cc, "%s", opt_for);
  } else if (!strcmp(cmd, "book") && argc >= 1) {
    rq.type = IMX_MSG_BOOK_GET;
    rq.depth = 10;
    snprintf(rq.service, sizeof rq.service, "%s", argv[0]);
    if (argc == 3 && !strcmp(argv[1], "--depth")) {
      if (number(argv[2], 1, IMX_DEPTH_MAX, &n)) return usage();
      rq.depth = (uint32_t)n;
    }
  } else if (!strcmp(cmd, "trades")) {
    rq.type = IMX_MSG_TRADES_LIST;
    rq.limit = 100;
    for (int i = 0; i < argc; i++) {
      if (!strcmp(argv[i], "--for") && i + 1 < argc) {
        snprintf(rq.cc, sizeof rq.cc, "%s", argv[++i]);
      } else if (!strcmp(argv[i], "--limit") && i + 1 < argc) {
        if (number(argv[++i], 1, IMX_LIST_MAX, &n)) return usage();
        rq.limit = (uint32_t)n;
      } else if (!strcmp(argv[i], "--after") && i + 1 < argc) {
        if (number(argv[++i], 0, IMX_ID_MAX, &n)) return usage();
        rq.after = (uint64_t)n;
        rq.has_after = 1;
      } else {
        snprintf(rq.service, sizeof rq.service, "%s", argv[i]);
      }
    }
  } else if (!strcmp(cmd, "tender") && argc == 4) {
    rq.type = IMX_MSG_TENDER_NEW;
    snprintf(rq.service, sizeof rq.service, "%s", argv[0]);
    if (number(argv[1], 1, IMX_QTY_MAX, &rq.qty) ||
        number(argv[2], 1, IMX_PRICE_MAX_MINOR, &rq.ceiling_minor) ||
        number(argv[3], 1, IMX_DEADLINE_MS_MAX / 1000, &n))
      return usage();
    rq.deadline_ms = n * 1000;
  } else if (!strcmp(cmd, "quote") && argc == 2) {
    rq.type = IMX_MSG_TENDER_QUOTE;
    if (number(argv[0], 1, IMX_ID_MAX, &n) || number(argv[1], 1, IMX_PRICE_MAX_MINOR, &rq.price_minor))
      return usage();
    rq.tender = (uint64_t)n;
    rq.has_price = 1;
  } else if (!strcmp(cmd, "auction") && argc >= 2 && !strcmp(argv[0], "run")) {
    rq.type = IMX_MSG_AUCTION_RUN;
    snprintf(rq.service, sizeof rq.service, "%s", argv[1]);
    if (argc == 4 && !strcmp(argv[2], "--reference")) {
      if (number(argv[3], 1, IMX_PRICE_MAX_MINOR, &rq.price_minor)) return usage();
      rq.has_price = 1;
    }
  } else if (!strcmp(cmd, "period") && argc == 1 && !strcmp(argv[0], "close")) {
    rq.type = IMX_MSG_PERIOD_CLOSE;
  } else {
    return usage();
  }
  return call(o, &rq);
}

int main(int argc, char **argv) {
  opts o = {.url = getenv("IMX_URL"), .pub_url = getenv("IMX_PUB_URL"),
            .cc = getenv("IMX_CC"), .token = getenv("IMX_TOKEN"),
            .timeout_ms = 10000};
  if (o.url == NULL) o.url = IMX_DEFAULT_LISTEN;
  if (o.pub_url == NULL) o.pub_url = IMX_DEFAULT_PUBLISH;
  int i = 1;
  for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
    const char *a = argv[i];
    if (!strcmp(a, "--json")) { o.json = 1; continue; }
    if (!strcmp(a, "--help")) { fputs(USAGE, stdout); return 0; }
    if (i + 1 >= argc) return usage();
    if (!strcmp(a, "--url")) o.url = argv[++i];
    else if (!strcmp(a, "--pub-url")) o.pub_url = argv[++i];
    else if (!strcmp(a, "--cc")) o.cc = argv[++i];
    else if (!strcmp(a, "--token")) o.token = argv[++i];
    else return usage();
  }
  if (i >= argc) return usage();
  const char *cmd = argv[i++];
  int rest = argc - i;
  char **args = argv + i;
  names_opts = &o;
  if (!strcmp(cmd, "bid")) return order_cmd(&o, IMX_PSIDE_BID, rest, args);
  if (!strcmp(cmd, "offer")) return order_cmd(&o, IMX_PSIDE_OFFER, rest, args);
  if (!strcmp(cmd, "watch")) return watch(&o, rest, args);
  if (!strcmp(cmd, "services")) return services_cmd(&o, rest);
  if (!strcmp(cmd, "who")) return who_cmd(&o, rest, args);
  if (!strcmp(cmd, "token")) return token_cmd();
  if (!strcmp(cmd, "ledger")) return ledger_cmd(rest, args);
  if (!strcmp(cmd, "export")) return export_cmd(rest, args);
  if (!strcmp(cmd, "modify")) return modify_cmd(&o, rest, args);
  if (!strcmp(cmd, "statement")) return statement_cmd(&o, rest, args);
  for (int k = 0; !strcmp(cmd, "orders") && k < rest; k++)
    if (!strcmp(args[k], "--all")) return orders_all(&o, rest, args);
  int rc = tender_cmd(&o, cmd, rest, args);
  return rc >= 0 ? rc : simple(&o, cmd, rest, args);
}
