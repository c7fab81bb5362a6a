/*
** imx.c -- the command line client of imxd.
**
**   imx [--url URL] [--cc CC] [--token T] [--json] [--decimal point|comma]
**       [--ca FILE] COMMAND ...
**
** Settings come from flags or IMX_URL, IMX_CC, IMX_TOKEN, IMX_PUB_URL (for
** watch), IMX_DECIMAL and IMX_CA (the CA certificate for tls+tcp:// URLs). Human tables by default; --json prints the
** daemon's reply as it came (minor units, as on the wire).
**
** Money. A person types and reads money in the currency's major units
** ("85", "85.50", "85,50"); the one conversion is proto's imx_money_parse /
** imx_money_format, with the decimals the daemon's hello.ok gives (the
** market's currency). So every command that talks to imxd first says hello
** with the token alone, then sends its request on the same connection.
**
** Errors and exit codes (README "The command line"):
**   0  done
**   1  refused: imxd answered with an error (or an offline check failed)
**   2  usage: a wrong or missing argument, an unknown command, no token
**   3  no reply: imxd cannot be reached, timed out, or answered garbage
** A wrong argument gets one line that names it and says what was expected;
** with --json every error is one JSON object on stdout: the daemon's error
** reply as it came, or {"type":"error","code":"usage"|"no_reply",...}.
**
** Adding a command: write `static int cmd_NAME(cli *c, const args *a)` and
** add a row to `commands[]` (its positional names, how many are required,
** its options, a one-line description and an example). The table drives
** parsing, `imx help` and `imx help NAME`; the function reads its
** arguments with arg_pos / arg_opt and the arg_* converters (which print
** the one-line error themselves and return -1), and sends its request with
** send_request (which connects, says hello and prints the reply).
*/
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/sub.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imx_client.h"
#include "imx_engine.h" /* IMX_ORDERS_MAX */
#include "imx_ledger.h"
#include "imx_server.h" /* the replay check of ledger verify --market */

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_NO_REPLY = 3 };

#define ARGS_POS_MAX 8   /* positional names of one command            */
#define ARGS_OPT_MAX 8   /* options of one command                     */
#define WATCH_TOPICS_MAX 64

typedef struct command command;

/* The names people read, by id: cost centres (cc.list) and services
** (services.list), fetched once per run when a table first needs one. */
typedef struct dir_row {
  char id[IMX_NAME_BYTES_MAX + 1];
  char name[IMX_TEXT_BYTES_MAX + 1];
} dir_row;

typedef struct directory {
  int loaded; /* tried: rows are what came */
  dir_row *rows;
  uint32_t n, cap;
} directory;

typedef struct cli {
  const char *url, *pub_url, *cc, *token;
  const char *ca;         /* --ca or IMX_CA: for tls+tcp:// URLs        */
  int json;
  unsigned money_flags;   /* IMX_MONEY_COMMA for --decimal comma        */
  int timeout_ms;
  const command *cmd;     /* the one running                            */
  /* After hello: the connection and the market's money. */
  imx_client *conn;
  char currency[4];
  int decimals;
  directory ccs_dir, services_dir;
} cli;

/* A command's arguments once split: positionals in order, and each option
** of the command's list (NULL: not given; "" for a flag given). */
typedef struct args {
  const char *pos[WATCH_TOPICS_MAX];
  int npos;
  const char *opt[ARGS_OPT_MAX];
} args;

struct command {
  const char *name;              /* one or two words: "bid", "period close"  */
  const char *pos[ARGS_POS_MAX]; /* positional names, as help shows them     */
  int pos_min;                   /* how many are required                    */
  int pos_repeats;               /* the last one may be given many times     */
  const char *opts[ARGS_OPT_MAX];/* "--tif=" takes a value, "--aon" does not */
  int (*run)(cli *c, const args *a);
  const char *usage;             /* the arguments, as help shows them        */
  const char *what;
  const char *example;
};

/* ---------------------------------------------------------------- errors */

/* One error line on stderr, or with --json one JSON object on stdout
** (scripts read stdout); returns the exit status. */
static int fail(const cli *c, int status, const char *code, const char *field,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail(const cli *c, int status, const char *code, const char *field,
                const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  if (c->json) {
    char buf[1024];
    size_t n = imx_error_encode("", code, field, msg, buf, sizeof buf);
    printf("%.*s\n", (int)n, buf);
  } else if (c->cmd) {
    fprintf(stderr, "imx %s: %s\n", c->cmd->name, msg);
  } else {
    fprintf(stderr, "imx: %s\n", msg);
  }
  return status;
}

/* A wrong argument: its name (as usage shows it), and what was expected. */
static int bad_arg(const cli *c, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad_arg(const cli *c, const char *name, const char *fmt, ...) {
  char what[384], field[64];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  /* the field of a JSON error: "PRICE" -> "price", "--tif" -> "tif" */
  size_t k = 0;
  for (const char *s = name; *s && k + 1 < sizeof field; s++)
    if (*s != '-' || k > 0) field[k++] = (char)(*s >= 'A' && *s <= 'Z' ? *s + 32 : *s);
  field[k] = '\0';
  if (c->cmd == NULL || !strcmp(c->cmd->name, "help"))
    return fail(c, EXIT_USAGE, "usage", field, "%s: %s", name, what);
  return fail(c, EXIT_USAGE, "usage", field, "%s: %s; see imx help %s", name, what,
              c->cmd->name);
}

/* --------------------------------------------------------- the arguments */

static const char *arg_pos(const args *a, int k) { return k < a->npos ? a->pos[k] : NULL; }

/* The value of an option of the running command ("--tif"), NULL if absent. */
static const char *arg_opt(const cli *c, const args *a, const char *name) {
  size_t n = strlen(name);
  for (int k = 0; k < ARGS_OPT_MAX && c->cmd->opts[k]; k++)
    if (!strncmp(c->cmd->opts[k], name, n) &&
        (c->cmd->opts[k][n] == '\0' || c->cmd->opts[k][n] == '='))
      return a->opt[k];
  IMX_ASSERT(0 && "an option the command does not list");
  return NULL;
}

/* Splits argv by the command's table: options anywhere, positionals in
** order, their count checked. */
static int split_args(cli *c, int argc, char **argv, args *a) {
  const command *cmd = c->cmd;
  int pos_max = 0;
  while (pos_max < ARGS_POS_MAX && cmd->pos[pos_max]) pos_max++;
  memset(a, 0, sizeof *a);
  for (int i = 0; i < argc; i++) {
    const char *s = argv[i];
    if (s[0] == '-' && s[1] == '-') {
      int k = 0;
      size_t n = strlen(s);
      for (; k < ARGS_OPT_MAX && cmd->opts[k]; k++)
        if (!strncmp(cmd->opts[k], s, n) &&
            (cmd->opts[k][n] == '\0' || cmd->opts[k][n] == '='))
          break;
      if (k == ARGS_OPT_MAX || cmd->opts[k] == NULL)
        return bad_arg(c, s, "not an option of imx %s", cmd->name);
      if (cmd->opts[k][n] == '=') {
        if (i + 1 >= argc) return bad_arg(c, s, "needs a value");
        a->opt[k] = argv[++i];
      } else {
        a->opt[k] = "";
      }
      continue;
    }
    int room = cmd->pos_repeats ? WATCH_TOPICS_MAX : pos_max;
    if (a->npos >= room)
      return bad_arg(c, s, "one argument too many (imx %s takes %s)", cmd->name,
                     cmd->usage[0] ? cmd->usage : "none");
    a->pos[a->npos++] = s;
  }
  if (a->npos < cmd->pos_min)
    return bad_arg(c, cmd->pos[a->npos], "missing");
  return 0;
}

/* A whole number in [lo, hi] named `name`; 0, or -1 with the error printed
** (*status holds the exit status). */
static int arg_int(const cli *c, const char *name, const char *s, int64_t lo,
                   int64_t hi, int64_t *out, int *status) {
  int64_t v = 0;
  int ok = s[0] != '\0';
  for (const char *p = s; *p && ok; p++) {
    if (*p < '0' || *p > '9' || v > (INT64_MAX - (*p - '0')) / 10) ok = 0;
    else v = v * 10 + (*p - '0');
  }
  if (!ok || v < lo || v > hi) {
    *status = bad_arg(c, name, "'%s': must be a whole number, %" PRId64 " to %" PRId64,
                      s, lo, hi);
    return -1;
  }
  *out = v;
  return 0;
}

/* A service id: 1 to IMX_NAME_BYTES_MAX bytes into rq->service (never cut:
** a cut id would name another service). */
static int arg_service(const cli *c, const char *s, imx_request *rq, int *status) {
  if (s[0] == '\0' || strlen(s) > IMX_NAME_BYTES_MAX) {
    *status = bad_arg(c, "SERVICE", "'%.20s%s': must be a service id of 1 to %d bytes", s,
                      strlen(s) > 20 ? "..." : "", IMX_NAME_BYTES_MAX);
    return -1;
  }
  memcpy(rq->service, s, strlen(s) + 1);
  return 0;
}

static const char *fmt_money(const cli *c, int64_t minor, char buf[IMX_MONEY_TEXT_BYTES]) {
  return imx_money_format(minor, c->decimals, c->money_flags, buf);
}

/* An amount of money in major units (a price, a ceiling), at least one
** minor unit and at most max_minor; needs the market's decimals (hello). */
static int arg_money(const cli *c, const char *name, const char *s, int64_t max_minor,
                     int64_t *out, int *status) {
  imx_proto_error err = {0};
  char lo[IMX_MONEY_TEXT_BYTES], hi[IMX_MONEY_TEXT_BYTES];
  IMX_ASSERT(c->conn != NULL);
  if (imx_money_parse(s, c->decimals, 0, max_minor, out, &err) == 0 && *out >= 1)
    return 0;
  if (err.message == NULL || !strcmp(err.message, "larger than the limit"))
    *status = bad_arg(c, name, "'%s': must be %s to %s %s", s, fmt_money(c, 1, lo),
                      fmt_money(c, max_minor, hi), c->currency);
  else if (strstr(err.message, "decimals"))
    *status = bad_arg(c, name, "'%s': %s (%s has %d)", s, err.message, c->currency,
                      c->decimals);
  else
    *status = bad_arg(c, name, "'%s': %s", s, err.message);
  return -1;
}

/* --min-stars: stars with at most one decimal ("4.5", "4,5", "4") read by
** the one exact decimal parser, as tenths of a star (45), 1.0 to 5.0. */
static int arg_stars(const cli *c, const char *s, int *out, int *status) {
  imx_proto_error err = {0};
  int64_t tenths = 0;
  if (imx_money_parse(s, 1, 0, IMX_STARS_MAX, &tenths, &err) == 0 && tenths >= IMX_STARS_MIN) {
    *out = (int)tenths;
    return 0;
  }
  *status = bad_arg(c, "--min-stars", "'%s': must be 1.0 to 5.0 stars, one decimal at most", s);
  return -1;
}

/* A bid's filter as people read it: " min 4.5 stars", "+unrated". */
static const char *stars_text(int min_stars, int allow_unrated, char *buf, size_t cap) {
  char t[IMX_MONEY_TEXT_BYTES];
  if (min_stars == 0) return "";
  snprintf(buf, cap, " min %s stars%s", imx_money_format(min_stars, 1, 0, t),
           allow_unrated ? " or unrated" : "");
  return buf;
}

/* --------------------------------------------------------------- output */

static const char *side_word(int side) {
  return side == IMX_PSIDE_BID ? "bid" : side == IMX_PSIDE_OFFER ? "offer" : "none";
}

static const char *tif_word(int tif) {
  static const char *const w[] = {"gtc", "period", "ioc", "fok"};
  return tif >= 0 && tif < 4 ? w[tif] : "?";
}

/* A price; 0 is a market order's. */
static const char *price_text(cli *c, int64_t minor, char buf[IMX_MONEY_TEXT_BYTES]) {
  return minor == 0 ? "market" : fmt_money(c, minor, buf);
}

/* A time in ms since the epoch as ISO 8601 local time:
** 2026-12-04T09:30:05+01:00. */
static const char *time_text(int64_t time_ms, char buf[32]) {
  time_t t = (time_t)(time_ms / 1000);
  struct tm tm;
  char zone[8];
  if (localtime_r(&t, &tm) == NULL || strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm) == 0 ||
      strftime(zone, sizeof zone, "%z", &tm) != 5) {
    snprintf(buf, 32, "%" PRId64 " ms", time_ms);
    return buf;
  }
  size_t n = strlen(buf);
  snprintf(buf + n, 32 - n, "%.3s:%.2s", zone, zone + 3);
  return buf;
}

/* ------------------------------------- discovery, and the names people read */

/*
** `imx services` and `imx who` page through services.list and cc.list; the
** tables that show cost centres (trades, book, balance) show their names,
** read once per run from cc.list (the directory), while --json prints the
** daemon's replies with their ids. Without a directory (the daemon did not
** answer cc.list) the ids are shown.
*/

typedef int (*page_fn)(cli *c, const imx_reply *page, void *ctx);

static int market(cli *c);
static int exchange(cli *c, imx_request *rq, imx_reply *r);
static int refused(const cli *c, const imx_reply *r);

/* Sends a list request (services.list, cc.list, period.summary: of period,
** NULL for the others) and every page after it until the list is
** complete, giving each reply to on_page. Returns the exit status; quiet:
** print no error (the names of a table are a courtesy). */
static int fetch_pages(cli *c, imx_msg_type type, const char *period, int quiet,
                       page_fn on_page, void *ctx) {
  int rc = market(c);
  char start[IMX_NAME_BYTES_MAX + 1] = "", err[256];
  /* period.summary's pages after the first ask for the first's period: the
  ** open one may close between two pages, and the next page without a
  ** period would be of the period after it */
  char pinned[IMX_PERIOD_LABEL_BYTES] = "";
  if (period) snprintf(pinned, sizeof pinned, "%s", period);
  /* each page moves on by at least one row, and no list is longer */
  for (uint32_t pages = 0; rc == EXIT_OK && pages <= IMX_CCS_MAX; pages++) {
    imx_request rq;
    memset(&rq, 0, sizeof rq);
    rq.type = type;
    rq.limit = IMX_LIST_MAX;
    memcpy(rq.start, start, sizeof start);
    if (pinned[0]) snprintf(rq.period, sizeof rq.period, "%s", pinned);
    imx_reply r;
    memset(&r, 0, sizeof r);
    if (!quiet) {
      rc = exchange(c, &rq, &r);
    } else {
      if (c->token) snprintf(rq.token, sizeof rq.token, "%s", c->token);
      if (imx_client_call(c->conn, &rq, &r, err, sizeof err) != 0) rc = EXIT_NO_REPLY;
    }
    if (rc == EXIT_OK && r.error) rc = quiet ? EXIT_REFUSED : refused(c, &r);
    else if (rc == EXIT_OK) rc = on_page(c, &r, ctx);
    if (rc == EXIT_OK && type == IMX_MSG_PERIOD_SUMMARY && pinned[0] == '\0')
      snprintf(pinned, sizeof pinned, "%s", r.period);
    memcpy(start, r.next, sizeof start);
    imx_reply_free(&r);
    if (start[0] == '\0') break;
  }
  return rc;
}

static void dir_add(directory *d, const char *id, const char *name) {
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

static int dir_ccs_page(cli *c, const imx_reply *page, void *ctx) {
  (void)c;
  for (uint32_t i = 0; i < page->ccs_n; i++) dir_add(ctx, page->ccs[i].cc, page->ccs[i].name);
  return 0;
}

static int dir_services_page(cli *c, const imx_reply *page, void *ctx) {
  (void)c;
  for (uint32_t i = 0; i < page->services_n; i++)
    dir_add(ctx, page->services[i].service, page->services[i].name);
  return 0;
}

static const dir_row *dir_find(cli *c, directory *d, imx_msg_type type, const char *id) {
  if (!d->loaded && c->conn != NULL) {
    d->loaded = 1;
    fetch_pages(c, type, NULL, 1, type == IMX_MSG_CC_LIST ? dir_ccs_page : dir_services_page, d);
  }
  for (uint32_t i = 0; i < d->n; i++)
    if (strcmp(d->rows[i].id, id) == 0) return &d->rows[i];
  return NULL;
}

/* A cost centre as a person reads it: its name, or its id when the
** directory does not know it. */
static const char *cc_name(cli *c, const char *id) {
  const dir_row *row = dir_find(c, &c->ccs_dir, IMX_MSG_CC_LIST, id);
  return row ? row->name : id;
}

static const char *service_name(cli *c, const char *id) {
  const dir_row *row = dir_find(c, &c->services_dir, IMX_MSG_SERVICES_LIST, id);
  return row ? row->name : id;
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

/* The mean of `ratings` ratings whose stars sum to `sum`, with one
** decimal, rounded half up, exactly in integers (43 over 10: "4.3"); "-"
** for none. */
static const char *mean_stars_text(int64_t sum, int64_t ratings, char buf[24]) {
  if (ratings <= 0 || sum < 0) return strcpy(buf, "-");
  int64_t tenths = (sum * 20 + ratings) / (ratings * 2);
  snprintf(buf, 24, "%" PRId64 ".%" PRId64, tenths / 10, tenths % 10);
  return buf;
}

/* A reputation for people: "4.3 (10), 90 days 4.5 (2)", or "unrated". */
static const char *rep_text(const imx_reply_reputation *r, char buf[96]) {
  char a[24], b[24];
  if (r->ratings == 0) return strcpy(buf, "unrated");
  snprintf(buf, 96, "%s (%" PRId64 "), 90 days %s (%" PRId64 ")",
           mean_stars_text(r->stars_sum, r->ratings, a), r->ratings,
           mean_stars_text(r->stars_sum_recent, r->ratings_recent, b), r->ratings_recent);
  return buf;
}

static int print_services_page(cli *c, const imx_reply *page, void *ctx) {
  int *rows = ctx;
  char a[IMX_MONEY_TEXT_BYTES], b[IMX_MONEY_TEXT_BYTES], p[IMX_MONEY_TEXT_BYTES], when[32];
  if (c->json) return print_json(page);
  for (uint32_t i = 0; i < page->services_n; i++, (*rows)++) {
    const imx_reply_service *s = &page->services[i];
    if (*rows == 0)
      printf("%-24s %-20s %-10s %-10s %9s %14s %14s %12s  %s\n", "name", "service", "unit",
             "mode", "providers", "best bid", "best offer", "last price", "last trade");
    char bid[48] = "-", offer[48] = "-";
    if (s->bid_minor)
      snprintf(bid, sizeof bid, "%s x %" PRId64, fmt_money(c, s->bid_minor, a), s->bid_qty);
    if (s->offer_minor)
      snprintf(offer, sizeof offer, "%s x %" PRId64, fmt_money(c, s->offer_minor, b),
               s->offer_qty);
    printf("%-24s %-20s %-10s %-10s %9" PRIu32 " %14s %14s %12s  %s\n", s->name, s->service,
           s->unit, s->auction ? "auction" : "continuous", s->providers, bid, offer,
           s->last_price_minor ? fmt_money(c, s->last_price_minor, p) : "-",
           s->last_time_ms ? time_text(s->last_time_ms, when) : "-");
    if (s->description[0]) printf("  %s\n", s->description);
    char rt[96];
    if (s->rep.ratings) printf("  rated %s\n", rep_text(&s->rep, rt));
  }
  return 0;
}

static int print_ccs_page(cli *c, const imx_reply *page, void *ctx) {
  int *rows = ctx;
  char roles[48];
  if (c->json) return print_json(page);
  for (uint32_t i = 0; i < page->ccs_n; i++, (*rows)++) {
    const imx_reply_cc *x = &page->ccs[i];
    if (*rows == 0)
      printf("%-28s %-10s %-16s %-18s %s\n", "name", "cc", "site", "roles", "offers");
    printf("%-28s %-10s %-16s %-*s", x->name, x->cc, x->site, x->services_n ? 18 : 0,
           roles_text(x->roles, roles, sizeof roles));
    for (uint32_t k = 0; k < x->services_n; k++)
      printf("%s%s", k ? ", " : " ", x->services[k]);
    printf("\n");
  }
  return 0;
}

/* One cost centre: who it is, what it offers (with the services' names),
** and its budget when the asker may see it. */
static void print_cc(cli *c, const imx_reply_cc *x) {
  char roles[48], a[IMX_MONEY_TEXT_BYTES];
  printf("%s (%s)\n", x->name, x->cc);
  printf("  site      %s\n", x->site[0] ? x->site : "-");
  printf("  roles     %s\n", roles_text(x->roles, roles, sizeof roles));
  for (uint32_t k = 0; k < x->services_n; k++) {
    char rt[96];
    printf("  %-9s %s (%s)", k ? "" : "offers", service_name(c, x->services[k]),
           x->services[k]);
    if (k < x->reputation_n && !strcmp(x->reputation[k].service, x->services[k]) &&
        x->reputation[k].ratings)
      printf(", rated %s", rep_text(&x->reputation[k], rt));
    printf("\n");
  }
  if (x->has_budget)
    printf("  budget    %s %s per period\n", fmt_money(c, x->budget_minor, a), c->currency);
}

static void print_trades(cli *c, const imx_reply *r) {
  char p[IMX_MONEY_TEXT_BYTES], t[32];
  if (r->trades_n)
    printf("%-8s %-20s %-24s %-24s %8s %12s  %s\n", "trade", "service", "buyer", "seller",
           "qty", "price", "time");
  for (uint32_t i = 0; i < r->trades_n; i++) {
    const imx_reply_trade *x = &r->trades[i];
    printf("%-8" PRIu64 " %-20s %-24s %-24s %8" PRId64 " %12s  %s\n", x->trade, x->service,
           cc_name(c, x->buyer), cc_name(c, x->seller), x->qty,
           price_text(c, x->price_minor, p), time_text(x->time_ms, t));
  }
}

static void print_balance(cli *c, const imx_reply *r) {
  char a[5][IMX_MONEY_TEXT_BYTES];
  printf("%s (%s): budget %s, reserved %s, spent %s, earned %s, available %s (%s)\n",
         cc_name(c, r->cc), r->cc, fmt_money(c, r->budget, a[0]),
         fmt_money(c, r->reserved, a[1]), fmt_money(c, r->spent, a[2]),
         fmt_money(c, r->earned, a[3]), fmt_money(c, r->available, a[4]), c->currency);
  for (uint32_t i = 0; i < r->capacities_n; i++)
    printf("  %-20s capacity %" PRId64 ", reserved %" PRId64 ", sold %" PRId64
           ", available %" PRId64 "\n",
           r->capacities[i].service, r->capacities[i].capacity, r->capacities[i].reserved,
           r->capacities[i].sold, r->capacities[i].available);
}

/* The book: bids as levels (anonymous), beside the offers one by one in
** the order they trade, each with its provider; the asker's own offers
** show their order id. */
static void print_book(cli *c, const imx_reply *r) {
  char a[IMX_MONEY_TEXT_BYTES], b[IMX_MONEY_TEXT_BYTES], who[IMX_TEXT_BYTES_MAX * 2 + 48];
  printf("%s (%s)\n%12s %8s | %-12s %8s  %s\n", service_name(c, r->service), r->service,
         "bid", "qty", "offer", "qty", "provider");
  uint32_t n = r->bids_n > r->offer_orders_n ? r->bids_n : r->offer_orders_n;
  for (uint32_t i = 0; i < n; i++) {
    if (i < r->bids_n)
      printf("%12s %8" PRId64 " | ", price_text(c, r->bids[i].price_minor, a), r->bids[i].qty);
    else
      printf("%12s %8s | ", "", "");
    if (i < r->offer_orders_n) {
      const imx_reply_offer *o = &r->offer_orders[i];
      int k = snprintf(who, sizeof who, "%s%s%s%s", o->name, o->site[0] ? " (" : "",
                       o->site, o->site[0] ? ")" : "");
      if (o->order && k >= 0 && (size_t)k < sizeof who)
        k += snprintf(who + k, sizeof who - (size_t)k, ", your order %" PRIu64, o->order);
      char st[24];
      if (o->rep.ratings && k >= 0 && (size_t)k < sizeof who)
        snprintf(who + k, sizeof who - (size_t)k, ", %s stars (%" PRId64 " ratings)",
                 mean_stars_text(o->rep.stars_sum, o->rep.ratings, st), o->rep.ratings);
      printf("%-12s %8" PRId64 "%s  %s", price_text(c, o->price_minor, b), o->qty,
             o->aon ? " aon" : "", who);
    }
    printf("\n");
  }
}

static void print_orders(cli *c, const imx_reply *r) {
  char a[IMX_MONEY_TEXT_BYTES], st[48];
  printf("%-8s %-20s %-5s %-6s %12s %8s %8s %8s\n", "order", "service", "side", "tif",
         "price", "qty", "open", "filled");
  for (uint32_t i = 0; i < r->orders_n; i++) {
    const imx_reply_order *o = &r->orders[i];
    printf("%-8" PRIu64 " %-20s %-5s %-6s %12s %8" PRId64 " %8" PRId64 " %8" PRId64 "%s%s\n",
           o->order, o->service, side_word(o->side), tif_word(o->tif),
           price_text(c, o->price_minor, a), o->qty, o->qty_open, o->qty_filled,
           o->aon ? " aon" : "", stars_text(o->min_stars, o->allow_unrated, st, sizeof st));
  }
}

static const char *status_word(int status) {
  static const char *const w[] = {"open", "filled", "cancelled", "expired"};
  return status >= 0 && status < 4 ? w[status] : "?";
}

static void print_modified(cli *c, const imx_reply *r) {
  char p[IMX_MONEY_TEXT_BYTES];
  printf("order %" PRIu64 " %s: %" PRId64 " of %" PRId64 " filled, %" PRId64
         " open at %s, priority %s%s%s\n", r->order, status_word(r->status),
         r->qty_filled, r->qty, r->qty_open, price_text(c, r->price_minor, p),
         r->priority_kept ? "kept" : "lost", r->reason[0] ? ", reason " : "", r->reason);
  print_trades(c, r);
}

/* Closed orders, newest first, each with its fills. */
static void print_history(cli *c, const imx_reply *r) {
  char p[IMX_MONEY_TEXT_BYTES];
  printf("closed orders of %s (%s)\n", cc_name(c, r->cc), r->cc);
  if (r->closed_n == 0) return;
  printf("%-8s %-20s %-5s %-6s %12s %8s %8s %s\n", "order", "service", "side", "tif",
         "price", "qty", "filled", "status");
  for (uint32_t i = 0; i < r->closed_n; i++) {
    const imx_reply_closed *o = &r->closed[i];
    printf("%-8" PRIu64 " %-20s %-5s %-6s %12s %8" PRId64 " %8" PRId64 " %s%s%s%s%s\n",
           o->order, o->service, side_word(o->side), tif_word(o->tif),
           price_text(c, o->price_minor, p), o->qty, o->qty_filled, status_word(o->status),
           o->reason[0] ? " (" : "", o->reason, o->reason[0] ? ")" : "", o->aon ? " aon" : "");
    for (uint32_t k = 0; k < o->fills_n; k++)
      printf("         fill %" PRIu64 ": %" PRId64 " at %s with %s\n", o->fills[k].trade,
             o->fills[k].qty, price_text(c, o->fills[k].price_minor, p),
             cc_name(c, o->fills[k].counterparty));
    if (o->fills_omitted)
      printf("         ... and %" PRIu64 " more fills\n", o->fills_omitted);
  }
}

static const char *decide_word(int decide) {
  return decide == IMX_PDECIDE_SCORE    ? "score"
         : decide == IMX_PDECIDE_CHOOSE ? "choose"
                                        : "lowest";
}

/* A score as people read it: the thousandths on the wire (floor(1000 x
** score), 0..100000) with one decimal, cut not rounded: 73456 -> "73.4". */
static const char *score_text(int64_t thousandths, char out[24]) {
  IMX_ASSERT(thousandths >= 0 && thousandths <= IMX_SCORE_SHOWN_MAX); /* decoded so */
  snprintf(out, 24, "%d.%d", (int)(thousandths / 1000), (int)(thousandths % 1000 / 100));
  return out;
}

/* "P/Q": two whole percents, digits only, summing to 100; 0 when so. */
static int parse_weights(const char *s, int *p, int *q) {
  int v[2] = {0, 0}, k = 0, digits = 0;
  for (; *s; s++) {
    if (*s == '/' && k == 0 && digits) k = 1, digits = 0;
    else if (*s >= '0' && *s <= '9' && digits < 3) v[k] = v[k] * 10 + (*s - '0'), digits++;
    else return -1;
  }
  if (k != 1 || !digits || v[0] + v[1] != IMX_WEIGHT_MAX) return -1;
  *p = v[0], *q = v[1];
  return 0;
}

static void print_tender_row(cli *c, const imx_reply_tender *t) {
  char m[IMX_MONEY_TEXT_BYTES], d[32], p[IMX_MONEY_TEXT_BYTES];
  printf("%-8" PRIu64 " %-20s %-24s %8" PRId64 " %12s  %-6s %6" PRIu32 "  %s", t->tender,
         t->service, cc_name(c, t->buyer), t->qty, fmt_money(c, t->ceiling_minor, m),
         decide_word(t->decide), t->quotes, time_text(t->deadline_time_ms, d));
  if (t->my_quote)
    printf("  your quote %" PRIu64 " at %s", t->my_quote, fmt_money(c, t->my_price_minor, p));
  printf("\n");
}

/* How a tender that ended ended (an open one prints nothing here); the
** quotes below are as they stood then, scores and ratings included. */
static void print_tender_end(const imx_reply_tender *t) {
  char d[32];
  if (t->status == IMX_PTENDER_OPEN) return;
  time_text(t->ended_time_ms, d);
  if (t->status == IMX_PTENDER_AWARDED)
    printf("awarded %s to quote %" PRIu64 " (trade %" PRIu64 "); the quotes as they stood "
           "then:\n", d, t->award_quote, t->award_trade);
  else if (t->status == IMX_PTENDER_LAPSED)
    printf("lapsed %s: %s\n", d, t->why == IMX_LAPSED_NO_QUOTES ? "no quotes"
                                                                : "no award by the deadline");
  else
    printf("cancelled %s\n", d);
}

static void print_tender(cli *c, const imx_reply *r) {
  const imx_reply_tender *t = r->tenders;
  char m[IMX_MONEY_TEXT_BYTES], d[32], p[IMX_MONEY_TEXT_BYTES];
  printf("tender %" PRIu64 ": %" PRId64 " x %s for %s (%s), ceiling %s, decide %s, deadline "
         "%s, %" PRIu32 " quotes\n", t->tender, t->qty, t->service, r->buyer_name,
         r->buyer_site, fmt_money(c, t->ceiling_minor, m), decide_word(t->decide),
         time_text(t->deadline_time_ms, d), t->quotes);
  if (t->decide == IMX_PDECIDE_SCORE)
    printf("weights: price %" PRIu32 ", quality %" PRIu32 " (the best score at the deadline"
           " wins)\n", t->price_weight, t->quality_weight);
  print_tender_end(t);
  if (r->quotes_n)
    printf("%-8s %-28s %-16s %12s%s\n", "quote", "provider", "site", "price",
           t->decide == IMX_PDECIDE_SCORE ? "  score" : "");
  for (uint32_t i = 0; i < r->quotes_n; i++) {
    const imx_reply_quote *q = &r->quotes[i];
    char rt[96], sc[24];
    printf("%-8" PRIu64 " %-28s %-16s %12s", q->quote, q->name, q->site,
           fmt_money(c, q->price_minor, p));
    if (q->has_score) printf("  %5s", score_text(q->score, sc));
    if (q->rep.ratings) printf("  rated %s", rep_text(&q->rep, rt));
    if (t->status == IMX_PTENDER_AWARDED && q->quote == t->award_quote) printf("  won");
    printf("\n");
  }
}

/* The replies of the tender requests; 0 when r is not one. */
static int print_tender_reply(cli *c, const imx_reply *r) {
  switch (r->type) {
  case IMX_MSG_TENDER_AWARD:
    printf("tender %" PRIu64 " awarded to quote %" PRIu64 "\n", r->tender, r->quote);
    print_trades(c, r);
    return 1;
  case IMX_MSG_TENDER_CANCEL: printf("tender %" PRIu64 " cancelled\n", r->tender); return 1;
  case IMX_MSG_QUOTE_WITHDRAW:
    printf("quote %" PRIu64 " on tender %" PRIu64 " withdrawn\n", r->quote, r->tender);
    return 1;
  case IMX_MSG_TENDER_LIST:
    printf("%-8s %-20s %-24s %8s %12s  %-6s %6s  %s\n", "tender", "service", "buyer", "qty",
           "ceiling", "decide", "quotes", "deadline");
    for (uint32_t i = 0; i < r->tenders_n; i++) print_tender_row(c, &r->tenders[i]);
    return 1;
  case IMX_MSG_TENDER_GET: print_tender(c, r); return 1;
  default: return 0;
  }
}

/* Ratings, newest first: who rated whom, the stars, the comment and the
** provider's reply. */
static void print_ratings(cli *c, const imx_reply *r) {
  char t[32];
  for (uint32_t i = 0; i < r->ratings_n; i++) {
    const imx_reply_rating *g = &r->ratings[i];
    printf("trade %" PRIu64 " %s: %d stars from %s (%s) to %s (%s), %s\n", g->trade,
           g->service, g->stars, cc_name(c, g->rater), g->rater, cc_name(c, g->provider),
           g->provider, time_text(g->time_ms, t));
    if (g->comment[0]) printf("  \"%s\"\n", g->comment);
    if (g->reply_ms) printf("  reply: \"%s\"\n", g->reply);
  }
  if (r->ratings_n == 0) printf("no ratings\n");
}

/* ------------------------------------------------ periods and statements */

/*
** `imx period close` prints the periods closed and opened and what traded
** per service; `imx statement` asks statement.get (the ledger's part) and,
** for the open period, balance.get (the engine's budget and reservations),
** and prints both. Average prices are amount / units rounded half up to
** the currency's minor unit, for reading only: the exact figures are the
** amount and the units beside them (and in --json).
*/

/* amount / units rounded half up to a minor unit, or "-" without units. */
static const char *average(cli *c, int64_t amount_minor, int64_t units,
                           char buf[IMX_MONEY_TEXT_BYTES]) {
  if (units <= 0) return snprintf(buf, IMX_MONEY_TEXT_BYTES, "-"), buf;
  return fmt_money(c, (2 * amount_minor + units) / (2 * units), buf);
}

/* "1 order", "2 orders": people read these lines. */
static const char *plural(int64_t n, const char *one, const char *more) {
  return n == 1 ? one : more;
}

static void print_period_close(cli *c, const imx_reply *r) {
  char a[IMX_MONEY_TEXT_BYTES], v[IMX_MONEY_TEXT_BYTES];
  printf("period %s closed, %s open; %" PRId64 " %s expired\n", r->period, r->opened,
         r->expired, plural(r->expired, "order", "orders"));
  if (r->sums_n)
    printf("%-20s %8s %10s %14s %12s\n", "service", "trades", "units", "amount", "avg price");
  for (uint32_t i = 0; i < r->sums_n; i++) {
    const imx_reply_sum *s = &r->sums[i];
    printf("%-20s %8" PRId64 " %10" PRId64 " %14s %12s\n", s->service, s->trades, s->bought,
           fmt_money(c, s->spent, a), average(c, s->spent, s->bought, v));
  }
  if (r->sums_omitted) printf("(%" PRIu64 " more services not listed)\n", r->sums_omitted);
  if (r->sums_n == 0) printf("nothing traded\n");
  for (uint32_t i = 0; i < r->over_budget_n; i++)
    printf("over budget: %s (%s): its open bids hold more than its new budget\n",
           cc_name(c, r->over_budget[i]), r->over_budget[i]);
  if (r->over_budget_omitted)
    printf("(%" PRIu64 " more over budget: the log names them)\n", r->over_budget_omitted);
}

static void print_statement(cli *c, const imx_reply *st, const imx_reply *bal) {
  char a[IMX_MONEY_TEXT_BYTES], b[IMX_MONEY_TEXT_BYTES], d[IMX_MONEY_TEXT_BYTES],
      e[IMX_MONEY_TEXT_BYTES], when[32];
  printf("statement of %s (%s), period %s, %s\n", cc_name(c, st->cc), st->cc, st->period,
         st->is_closed ? "closed" : "open");
  if (st->is_closed)
    printf("closed %s; budget per period %s %s (market file)\n", time_text(st->closed_ms, when),
           fmt_money(c, st->budget, a), c->currency);
  if (bal) print_balance(c, bal);
  printf("%-20s %7s %8s %12s %10s %8s %12s %10s\n", "service", "trades", "bought", "spent",
         "avg buy", "sold", "earned", "avg sell");
  for (uint32_t i = 0; i < st->sums_n; i++) {
    const imx_reply_sum *s = &st->sums[i];
    printf("%-20s %7" PRId64 " %8" PRId64 " %12s %10s %8" PRId64 " %12s %10s\n", s->service,
           s->trades, s->bought, fmt_money(c, s->spent, a), average(c, s->spent, s->bought, b),
           s->sold, fmt_money(c, s->earned, d), average(c, s->earned, s->sold, e));
  }
  if (st->sums_n == 0) printf("(no trades in this period)\n");
  if (st->sums_omitted) printf("(%" PRIu64 " more services not listed)\n", st->sums_omitted);
  if (st->trades_n) printf("trades, oldest first:\n");
  for (uint32_t i = 0; i < st->trades_n; i++) {
    const imx_reply_trade *t = &st->trades[i];
    int bought = strcmp(t->buyer, st->cc) == 0;
    const char *other = bought ? t->seller : t->buyer;
    printf("  %-8" PRIu64 " %-20s %-6s %8" PRId64 " x %10s = %12s  %s %s, %s\n", t->trade,
           t->service, bought ? "bought" : "sold", t->qty, fmt_money(c, t->price_minor, a),
           fmt_money(c, t->qty * t->price_minor, b), bought ? "from" : "to",
           cc_name(c, other), time_text(t->time_ms, when));
  }
  if (st->trades_omitted)
    printf("  (%" PRIu64 " more trades: imx trades --for %s --after %" PRIu64 ")\n",
           st->trades_omitted, st->cc, st->trades_n ? st->trades[st->trades_n - 1].trade : 0);
}

/* imx summary: the whole market's period (period.summary), finance's
** overview. The services are every page's: the first page's are printed,
** with their total; then each page's cost centres, the open period's with
** the engine's reserved and available. */
typedef struct summary_print {
  uint32_t pages, rows;
  char period[IMX_PERIOD_LABEL_BYTES]; /* the first page's, and whether */
  int is_open;                         /* it was open                   */
} summary_print;

static int print_summary_page(cli *c, const imx_reply *r, void *ctx) {
  summary_print *p = ctx;
  char a[5][IMX_MONEY_TEXT_BYTES];
  /* Every page of one period as it was at the first: a page asked for
  ** the open period that comes back closed was closed in between (its
  ** rows would have no reserved and available, and spending the others'
  ** rows do not show). */
  if (p->pages == 0) {
    snprintf(p->period, sizeof p->period, "%s", r->period);
    p->is_open = r->is_open;
  } else if (strcmp(p->period, r->period) != 0 || p->is_open != r->is_open) {
    return fail(c, EXIT_REFUSED, "period_moved", "period",
                "period %s was closed while its pages were read: ask again", p->period);
  }
  if (c->json) return p->pages++, print_json(r);
  if (p->pages++ == 0) {
    int64_t total = 0;
    printf("period %s, %s\n", r->period, r->is_open ? "open" : "closed");
    if (r->sums_n)
      printf("%-20s %8s %10s %14s %12s\n", "service", "trades", "units", "amount", "avg price");
    for (uint32_t i = 0; i < r->sums_n; i++) {
      const imx_reply_sum *s = &r->sums[i];
      printf("%-20s %8" PRId64 " %10" PRId64 " %14s %12s\n", s->service, s->trades, s->bought,
             fmt_money(c, s->spent, a[0]), average(c, s->spent, s->bought, a[1]));
      total += s->spent;
    }
    if (r->sums_omitted) printf("(%" PRIu64 " more services not listed)\n", r->sums_omitted);
    if (r->sums_n == 0) printf("nothing traded\n");
    else
      printf("%-20s %8s %10s %14s %s\n", "total", "", "", fmt_money(c, total, a[0]),
             c->currency);
  }
  for (uint32_t i = 0; i < r->cc_sums_n; i++, p->rows++) {
    const imx_reply_cc_sum *x = &r->cc_sums[i];
    if (p->rows == 0)
      printf("%-28s %-10s %12s %12s %12s%s\n", "cost centre", "cc", "budget", "spent", "earned",
             r->is_open ? "     reserved    available" : "");
    printf("%-28s %-10s %12s %12s %12s", cc_name(c, x->cc), x->cc, fmt_money(c, x->budget, a[0]),
           fmt_money(c, x->spent, a[1]), fmt_money(c, x->earned, a[2]));
    if (r->is_open)
      printf(" %12s %12s", fmt_money(c, x->reserved, a[3]), fmt_money(c, x->available, a[4]));
    printf("\n");
  }
  return 0;
}

/* A CSV field, quoted as imx export's csv quotes (RFC 4180). */
static void csv_text(const char *s) {
  if (strpbrk(s, ",;\" ") == NULL) {
    fputs(s, stdout);
    return;
  }
  putchar('"');
  for (; *s; s++) {
    if (*s == '"') putchar('"');
    putchar(*s);
  }
  putchar('"');
}

/* --csv: one row per service, money in major units with a point (a CSV's
** commas separate fields), averages rounded as above. */
static void print_statement_csv(cli *c, const imx_reply *st) {
  char a[IMX_MONEY_TEXT_BYTES], b[IMX_MONEY_TEXT_BYTES], d[IMX_MONEY_TEXT_BYTES],
      e[IMX_MONEY_TEXT_BYTES];
  unsigned flags = c->money_flags;
  c->money_flags = 0;
  printf("period,closed,cc,service,trades,bought,spent,avg_buy_price,sold,earned,"
         "avg_sell_price,currency\n");
  for (uint32_t i = 0; i < st->sums_n; i++) {
    const imx_reply_sum *s = &st->sums[i];
    csv_text(st->period);
    printf(",%s,", st->is_closed ? "true" : "false");
    csv_text(st->cc);
    putchar(',');
    csv_text(s->service);
    printf(",%" PRId64 ",%" PRId64 ",%s,%s,%" PRId64 ",%s,%s,%s\n", s->trades, s->bought,
           fmt_money(c, s->spent, a), s->bought ? average(c, s->spent, s->bought, b) : "",
           s->sold, fmt_money(c, s->earned, d), s->sold ? average(c, s->earned, s->sold, e) : "",
           c->currency);
  }
  c->money_flags = flags;
}

static void print_human(cli *c, const imx_reply *r) {
  if (print_tender_reply(c, r)) return;
  char a[IMX_MONEY_TEXT_BYTES];
  switch (r->type) {
  case IMX_MSG_HELLO: printf("hello %s\n", r->cc); break;
  case IMX_MSG_ORDER_NEW:
    printf("order %" PRIu64 " %s: %" PRId64 " filled, %" PRId64 " open%s%s\n", r->order,
           r->status == 0 ? "open" : r->status == 1 ? "filled" : "cancelled", r->qty_filled,
           r->qty_open, r->reason[0] ? ", reason " : "", r->reason);
    print_trades(c, r);
    break;
  case IMX_MSG_ORDER_CANCEL:
    printf("order %" PRIu64 " cancelled, %" PRId64 " open removed\n", r->order, r->qty);
    break;
  case IMX_MSG_ORDER_LIST: print_orders(c, r); break;
  case IMX_MSG_BOOK_GET: print_book(c, r); break;
  case IMX_MSG_TRADES_LIST: print_trades(c, r); break;
  case IMX_MSG_BALANCE_GET: print_balance(c, r); break;
  case IMX_MSG_TENDER_NEW: printf("tender %" PRIu64 " open\n", r->tender); break;
  case IMX_MSG_TENDER_QUOTE:
    printf("quote %" PRIu64 " on tender %" PRIu64 "\n", r->quote, r->tender);
    break;
  case IMX_MSG_AUCTION_RUN:
    if (r->price_minor)
      printf("%s: price %s, volume %" PRId64 ", surplus %" PRId64 " (%s)\n", r->service,
             price_text(c, r->price_minor, a), r->volume, r->surplus,
             side_word(r->surplus_side));
    else
      printf("%s: no price, nothing traded\n", r->service);
    break;
  case IMX_MSG_PERIOD_CLOSE: print_period_close(c, r); break;
  case IMX_MSG_ORDER_MODIFY: print_modified(c, r); break;
  case IMX_MSG_ORDER_HISTORY: print_history(c, r); break;
  case IMX_MSG_CC_GET: print_cc(c, r->ccs); break;
  case IMX_MSG_RATING_NEW:
    printf("trade %" PRIu64 " rated %d stars (%s, %s)\n", r->trade, r->stars, r->cc,
           r->service);
    break;
  case IMX_MSG_RATING_REPLY: printf("reply to the rating of trade %" PRIu64 " given\n", r->trade); break;
  case IMX_MSG_RATINGS_LIST: print_ratings(c, r); break;
  default: break;
  }
}

/* ------------------------------------------------------ talking to imxd */

/* An error reply: its code, field and message; with --json the reply. */
static int refused(const cli *c, const imx_reply *r) {
  if (c->json) {
    static char buf[IMX_REPLY_BYTES_MAX];
    size_t n = imx_reply_encode(r, buf, sizeof buf);
    printf("%.*s\n", (int)n, buf);
  } else {
    fprintf(stderr, "imx %s: %s: %s%s%s\n", c->cmd->name, r->code, r->field,
            r->field[0] ? ": " : "", r->message);
  }
  return EXIT_REFUSED;
}

/* One request on the open connection into *r (the caller frees it);
** EXIT_OK also for an error reply (r->error), else EXIT_NO_REPLY. */
static int exchange(cli *c, imx_request *rq, imx_reply *r) {
  char err[256];
  memset(r, 0, sizeof *r);
  if (c->token) snprintf(rq->token, sizeof rq->token, "%s", c->token);
  if (imx_client_call(c->conn, rq, r, err, sizeof err) != 0)
    return fail(c, EXIT_NO_REPLY, "no_reply", "url", "%s: %s", c->url, err);
  return EXIT_OK;
}

/* A tls+tcp URL without --ca: the client library refuses it (a usage
** error, not an unreachable daemon). */
static int no_ca(const cli *c, const char *url) {
  return strncmp(url, "tls+", 4) == 0 && (c->ca == NULL || c->ca[0] == '\0');
}

/* Connects and says hello with the token alone: the reply gives the
** market's currency and decimals, which every price typed or shown needs. */
static int market(cli *c) {
  if (c->conn) return EXIT_OK;
  if (c->token == NULL || c->token[0] == '\0')
    return fail(c, EXIT_USAGE, "usage", "token", "no token: set IMX_TOKEN or give --token");
  char err[256];
  if (imx_client_open(c->url, c->ca, c->timeout_ms, &c->conn, err, sizeof err) != 0) {
    imx_client_close(c->conn);
    c->conn = NULL;
    if (no_ca(c, c->url)) return fail(c, EXIT_USAGE, "usage", "ca", "%s", err);
    return fail(c, EXIT_NO_REPLY, "no_reply", "url", "%s", err);
  }
  imx_request rq;
  memset(&rq, 0, sizeof rq);
  rq.type = IMX_MSG_HELLO;
  imx_reply r;
  int rc = exchange(c, &rq, &r);
  if (rc == EXIT_OK && r.error) rc = refused(c, &r);
  if (rc == EXIT_OK) {
    memcpy(c->currency, r.currency, sizeof c->currency);
    c->decimals = r.decimals;
  }
  imx_reply_free(&r);
  return rc;
}

/* Sends the request (after hello) and prints the reply. */
static int send_request(cli *c, imx_request *rq) {
  int rc = market(c);
  if (rc != EXIT_OK) return rc;
  /* The token says who asks; cc (IMX_CC, or --for) whom it is about. */
  int acts = rq->type != IMX_MSG_TRADES_LIST && rq->type != IMX_MSG_BOOK_GET &&
             rq->type != IMX_MSG_AUCTION_RUN && rq->type != IMX_MSG_PERIOD_CLOSE &&
             rq->type != IMX_MSG_SERVICES_LIST && rq->type != IMX_MSG_CC_LIST &&
             rq->type != IMX_MSG_RATINGS_LIST; /* its CC: whose ratings */
  if (acts && rq->cc[0] == '\0' && c->cc) snprintf(rq->cc, sizeof rq->cc, "%s", c->cc);
  imx_reply r;
  rc = exchange(c, rq, &r);
  if (rc == EXIT_OK && r.error) {
    rc = refused(c, &r);
  } else if (rc == EXIT_OK && c->json) {
    static char buf[IMX_REPLY_BYTES_MAX];
    size_t n = imx_reply_encode(&r, buf, sizeof buf);
    printf("%.*s\n", (int)n, buf);
  } else if (rc == EXIT_OK) {
    print_human(c, &r);
  }
  imx_reply_free(&r);
  return rc;
}

static void request_init(imx_request *rq, imx_msg_type type) {
  memset(rq, 0, sizeof *rq);
  rq->type = type;
}

/* -------------------------------------------------------------- commands */

static int order_cmd(cli *c, const args *a, int side) {
  imx_request rq;
  request_init(&rq, IMX_MSG_ORDER_NEW);
  rq.side = side;
  int st = EXIT_OK;
  if (arg_service(c, arg_pos(a, 0), &rq, &st) ||
      arg_int(c, "QTY", arg_pos(a, 1), 1, IMX_QTY_MAX, &rq.qty, &st))
    return st;
  const char *tif = arg_opt(c, a, "--tif");
  if (tif) {
    static const char *const w[] = {"gtc", "period", "ioc", "fok"};
    rq.tif = -1;
    for (int k = 0; k < 4; k++)
      if (!strcmp(tif, w[k])) rq.tif = k;
    if (rq.tif < 0) return bad_arg(c, "--tif", "'%s': must be gtc, period, ioc or fok", tif);
  }
  rq.aon = arg_opt(c, a, "--aon") != NULL;
  if (side == IMX_PSIDE_BID) {
    const char *stars = arg_opt(c, a, "--min-stars");
    if (stars && arg_stars(c, stars, &rq.min_stars, &st)) return st;
    rq.allow_unrated = arg_opt(c, a, "--allow-unrated") != NULL;
    if (rq.allow_unrated && !stars)
      return bad_arg(c, "--allow-unrated", "only with --min-stars");
  }
  if ((st = market(c)) != EXIT_OK) return st;
  if (arg_pos(a, 2)) {
    if (arg_money(c, "PRICE", arg_pos(a, 2), IMX_PRICE_MAX_MINOR, &rq.price_minor, &st))
      return st;
    rq.has_price = 1;
  }
  return send_request(c, &rq);
}

static int cmd_bid(cli *c, const args *a) { return order_cmd(c, a, IMX_PSIDE_BID); }
static int cmd_offer(cli *c, const args *a) { return order_cmd(c, a, IMX_PSIDE_OFFER); }

static int cmd_cancel(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_ORDER_CANCEL);
  int64_t n = 0;
  int st = EXIT_OK;
  if (arg_int(c, "ORDER", arg_pos(a, 0), 1, IMX_ID_MAX, &n, &st)) return st;
  rq.order = (uint64_t)n;
  return send_request(c, &rq);
}

/* modify ORDER [--qty N] [--price P]: N is the new total quantity. */
static int cmd_modify(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_ORDER_MODIFY);
  int64_t n = 0;
  int st = EXIT_OK;
  const char *qty = arg_opt(c, a, "--qty"), *price = arg_opt(c, a, "--price");
  if (arg_int(c, "ORDER", arg_pos(a, 0), 1, IMX_ID_MAX, &n, &st) ||
      (qty && arg_int(c, "--qty", qty, 1, IMX_QTY_MAX, &rq.qty, &st)))
    return st;
  if (qty == NULL && price == NULL)
    return bad_arg(c, "--qty", "missing: give --qty, --price or both");
  rq.order = (uint64_t)n;
  if ((st = market(c)) != EXIT_OK) return st;
  if (price) {
    if (arg_money(c, "--price", price, IMX_PRICE_MAX_MINOR, &rq.price_minor, &st)) return st;
    rq.has_price = 1;
  }
  return send_request(c, &rq);
}

static int for_cc(const cli *c, const args *a, imx_request *rq) {
  const char *cc = arg_opt(c, a, "--for");
  if (cc == NULL) return 0;
  if (cc[0] == '\0' || strlen(cc) > IMX_NAME_BYTES_MAX)
    return bad_arg(c, "--for", "must be a cost centre id of 1 to %d bytes", IMX_NAME_BYTES_MAX);
  snprintf(rq->cc, sizeof rq->cc, "%s", cc);
  return 0;
}

/* orders: the open orders (order.list); with --all, then a page of the
** closed ones (order.history), newest first. */
static int cmd_orders(cli *c, const args *a) {
  imx_request open, done;
  request_init(&open, IMX_MSG_ORDER_LIST);
  request_init(&done, IMX_MSG_ORDER_HISTORY);
  done.limit = 20;
  int64_t n = 0;
  int st = for_cc(c, a, &open);
  if (st) return st;
  memcpy(done.cc, open.cc, sizeof done.cc);
  const char *limit = arg_opt(c, a, "--limit"), *before = arg_opt(c, a, "--before");
  int all = arg_opt(c, a, "--all") != NULL;
  if (!all && (limit || before))
    return bad_arg(c, limit ? "--limit" : "--before", "only with --all (closed orders)");
  if (limit && arg_int(c, "--limit", limit, 1, IMX_HISTORY_LIMIT_MAX, &n, &st)) return st;
  if (limit) done.limit = (uint32_t)n;
  if (before && arg_int(c, "--before", before, 1, IMX_ID_MAX, &n, &st)) return st;
  if (before) done.before = (uint64_t)n;
  st = send_request(c, &open);
  return st != EXIT_OK || !all ? st : send_request(c, &done);
}

static int cmd_balance(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_BALANCE_GET);
  int st = for_cc(c, a, &rq);
  return st ? st : send_request(c, &rq);
}

static int cmd_book(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_BOOK_GET);
  rq.depth = 10;
  int64_t n = 0;
  int st = EXIT_OK;
  if (arg_service(c, arg_pos(a, 0), &rq, &st)) return st;
  const char *depth = arg_opt(c, a, "--depth");
  if (depth && arg_int(c, "--depth", depth, 1, IMX_DEPTH_MAX, &n, &st)) return st;
  if (depth) rq.depth = (uint32_t)n;
  return send_request(c, &rq);
}

static int cmd_trades(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_TRADES_LIST);
  rq.limit = 100;
  int64_t n = 0;
  int st = for_cc(c, a, &rq);
  if (st) return st;
  if (arg_pos(a, 0) && arg_service(c, arg_pos(a, 0), &rq, &st)) return st;
  const char *limit = arg_opt(c, a, "--limit"), *after = arg_opt(c, a, "--after");
  if (limit && arg_int(c, "--limit", limit, 1, IMX_LIST_MAX, &n, &st)) return st;
  if (limit) rq.limit = (uint32_t)n;
  if (after && arg_int(c, "--after", after, 0, IMX_ID_MAX, &n, &st)) return st;
  if (after) {
    rq.after = (uint64_t)n;
    rq.has_after = 1;
  }
  return send_request(c, &rq);
}

static int cmd_tender(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_TENDER_NEW);
  int64_t n = 0;
  int st = EXIT_OK;
  if (arg_service(c, arg_pos(a, 0), &rq, &st) ||
      arg_int(c, "QTY", arg_pos(a, 1), 1, IMX_QTY_MAX, &rq.qty, &st) ||
      arg_int(c, "SECONDS", arg_pos(a, 3), 1, IMX_DEADLINE_MS_MAX / 1000, &n, &st))
    return st;
  rq.deadline_ms = n * 1000;
  const char *decide = arg_opt(c, a, "--decide"), *weights = arg_opt(c, a, "--weights");
  if (decide && !strcmp(decide, "choose")) rq.decide = IMX_PDECIDE_CHOOSE;
  else if (decide && !strcmp(decide, "score")) rq.decide = IMX_PDECIDE_SCORE;
  else if (decide && strcmp(decide, "lowest"))
    return bad_arg(c, "--decide", "'%s': must be lowest, choose or score", decide);
  if (rq.decide == IMX_PDECIDE_SCORE && weights == NULL)
    return bad_arg(c, "--weights", "missing: --decide score needs --weights PRICE/QUALITY"
                   " (e.g. 60/40)");
  if (weights) {
    int p = 0, q = 0;
    if (rq.decide != IMX_PDECIDE_SCORE)
      return bad_arg(c, "--weights", "only with --decide score");
    if (parse_weights(weights, &p, &q))
      return bad_arg(c, "--weights",
                     "'%s': must be PRICE/QUALITY, whole percents summing to 100 (e.g. 60/40)",
                     weights);
    rq.price_weight = p, rq.quality_weight = q;
    rq.weights_given = IMX_PWEIGHT_PRICE | IMX_PWEIGHT_QUALITY;
  }
  if ((st = market(c)) != EXIT_OK) return st;
  if (arg_money(c, "CEILING", arg_pos(a, 2), IMX_PRICE_MAX_MINOR, &rq.ceiling_minor, &st))
    return st;
  return send_request(c, &rq);
}

static int cmd_tenders(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_TENDER_LIST);
  rq.limit = 100;
  int64_t n = 0;
  int st = EXIT_OK;
  const char *limit = arg_opt(c, a, "--limit"), *after = arg_opt(c, a, "--after");
  if (limit && arg_int(c, "--limit", limit, 1, IMX_LIST_MAX, &n, &st)) return st;
  if (limit) rq.limit = (uint32_t)n;
  if (after && arg_int(c, "--after", after, 0, IMX_ID_MAX, &n, &st)) return st;
  if (after) rq.after = (uint64_t)n, rq.has_after = 1;
  return send_request(c, &rq);
}

/* tender show|cancel TENDER */
static int tender_one(cli *c, const args *a, imx_msg_type type) {
  imx_request rq;
  request_init(&rq, type);
  int64_t n = 0;
  int st = EXIT_OK;
  if (arg_int(c, "TENDER", arg_pos(a, 0), 1, IMX_ID_MAX, &n, &st)) return st;
  rq.tender = (uint64_t)n;
  return send_request(c, &rq);
}

static int cmd_tender_show(cli *c, const args *a) { return tender_one(c, a, IMX_MSG_TENDER_GET); }
static int cmd_tender_cancel(cli *c, const args *a) {
  return tender_one(c, a, IMX_MSG_TENDER_CANCEL);
}

static int cmd_tender_award(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_TENDER_AWARD);
  int64_t n = 0, m = 0;
  int st = EXIT_OK;
  if (arg_int(c, "TENDER", arg_pos(a, 0), 1, IMX_ID_MAX, &n, &st) ||
      arg_int(c, "QUOTE", arg_pos(a, 1), 1, IMX_ID_MAX, &m, &st))
    return st;
  rq.tender = (uint64_t)n, rq.quote = (uint64_t)m;
  return send_request(c, &rq);
}

static int cmd_quote_withdraw(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_QUOTE_WITHDRAW);
  int64_t n = 0;
  int st = EXIT_OK;
  if (arg_int(c, "QUOTE", arg_pos(a, 0), 1, IMX_ID_MAX, &n, &st)) return st;
  rq.quote = (uint64_t)n;
  return send_request(c, &rq);
}

static int cmd_quote(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_TENDER_QUOTE);
  int64_t n = 0;
  int st = EXIT_OK;
  if (arg_int(c, "TENDER", arg_pos(a, 0), 1, IMX_ID_MAX, &n, &st)) return st;
  rq.tender = (uint64_t)n;
  if ((st = market(c)) != EXIT_OK) return st;
  if (arg_money(c, "PRICE", arg_pos(a, 1), IMX_PRICE_MAX_MINOR, &rq.price_minor, &st))
    return st;
  rq.has_price = 1;
  return send_request(c, &rq);
}

static int cmd_auction_run(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_AUCTION_RUN);
  int st = EXIT_OK;
  if (arg_service(c, arg_pos(a, 0), &rq, &st)) return st;
  const char *ref = arg_opt(c, a, "--reference");
  if ((st = market(c)) != EXIT_OK) return st;
  if (ref) {
    if (arg_money(c, "--reference", ref, IMX_PRICE_MAX_MINOR, &rq.price_minor, &st)) return st;
    rq.has_price = 1;
  }
  return send_request(c, &rq);
}

static int cmd_period_close(cli *c, const args *a) {
  (void)a;
  imx_request rq;
  request_init(&rq, IMX_MSG_PERIOD_CLOSE);
  return send_request(c, &rq);
}

/* imx services: every service of the market, a page at a time. */
static int cmd_services(cli *c, const args *a) {
  (void)a;
  int rows = 0;
  int rc = fetch_pages(c, IMX_MSG_SERVICES_LIST, NULL, 0, print_services_page, &rows);
  if (rc == EXIT_OK && rows == 0 && !c->json) printf("no services\n");
  return rc;
}

/* imx who [CC]: the directory, or one cost centre (cc.get). */
static int cmd_who(cli *c, const args *a) {
  if (a->npos == 0) {
    int rows = 0;
    return fetch_pages(c, IMX_MSG_CC_LIST, NULL, 0, print_ccs_page, &rows);
  }
  const char *cc = arg_pos(a, 0);
  if (strlen(cc) > IMX_NAME_BYTES_MAX)
    return bad_arg(c, "CC", "must be a cost centre id of 1 to %d bytes", IMX_NAME_BYTES_MAX);
  imx_request rq;
  request_init(&rq, IMX_MSG_CC_GET);
  memcpy(rq.cc, cc, strlen(cc) + 1);
  return send_request(c, &rq);
}

/* A comment: 1..500 bytes, printable (imxd checks it too). */
static int arg_comment(const cli *c, const char *name, const char *text, char *dst) {
  size_t n = strlen(text);
  if (n == 0 || n > IMX_COMMENT_BYTES_MAX)
    return bad_arg(c, name, "must be 1 to %d bytes", IMX_COMMENT_BYTES_MAX);
  memcpy(dst, text, n + 1);
  return 0;
}

/* rate TRADE STARS [COMMENT]: the buyer of a trade rates its provider. */
static int cmd_rate(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_RATING_NEW);
  int64_t n = 0, stars = 0;
  int st = EXIT_OK;
  if (arg_int(c, "TRADE", arg_pos(a, 0), 1, IMX_ID_MAX, &n, &st) ||
      arg_int(c, "STARS", arg_pos(a, 1), IMX_RATING_STARS_MIN, IMX_RATING_STARS_MAX, &stars, &st))
    return st;
  if (arg_pos(a, 2) && arg_comment(c, "COMMENT", arg_pos(a, 2), rq.comment))
    return EXIT_USAGE;
  rq.trade = (uint64_t)n;
  rq.stars = (int)stars;
  return send_request(c, &rq);
}

/* rating reply TRADE COMMENT: the provider answers the rating, once. */
static int cmd_rating_reply(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_RATING_REPLY);
  int64_t n = 0;
  int st = EXIT_OK;
  if (arg_int(c, "TRADE", arg_pos(a, 0), 1, IMX_ID_MAX, &n, &st)) return st;
  if (arg_comment(c, "COMMENT", arg_pos(a, 1), rq.comment)) return EXIT_USAGE;
  rq.trade = (uint64_t)n;
  return send_request(c, &rq);
}

/* ratings [CC] [--service S] [--limit N] [--before TRADE]. */
static int cmd_ratings(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_RATINGS_LIST);
  rq.limit = 20;
  int64_t n = 0;
  int st = EXIT_OK;
  const char *cc = arg_pos(a, 0), *svc = arg_opt(c, a, "--service");
  const char *limit = arg_opt(c, a, "--limit"), *before = arg_opt(c, a, "--before");
  if (cc && strlen(cc) > IMX_NAME_BYTES_MAX)
    return bad_arg(c, "CC", "must be a cost centre id of 1 to %d bytes", IMX_NAME_BYTES_MAX);
  if (cc) memcpy(rq.cc, cc, strlen(cc) + 1);
  if (svc && arg_service(c, svc, &rq, &st)) return st;
  if (limit && arg_int(c, "--limit", limit, 1, IMX_RATINGS_LIMIT_MAX, &n, &st)) return st;
  if (limit) rq.limit = (uint32_t)n;
  if (before && arg_int(c, "--before", before, 1, IMX_ID_MAX, &n, &st)) return st;
  if (before) rq.before = (uint64_t)n;
  return send_request(c, &rq);
}

/* One market data message: a line of text, or its JSON with --json. */
static void print_md(cli *c, const char *data, size_t len) {
  imx_md_event ev;
  imx_proto_error err = {0};
  char a[IMX_MONEY_TEXT_BYTES], b[IMX_MONEY_TEXT_BYTES], t[32];
  if (imx_md_decode(data, len, &ev, &err) != 0) {
    fprintf(stderr, "imx watch: a bad message: %s: %s\n", err.field, err.message);
    return;
  }
  if (c->json) {
    const char *json = memchr(data, ' ', len) + 1;
    printf("%.*s\n", (int)(len - (size_t)(json - data)), json);
    return;
  }
  char d[32];
  switch (ev.kind) {
  case IMX_MD_TENDER_OPENED:
    printf("%-20s tender %" PRIu64 " opened by %s: %" PRId64 ", ceiling %s, decide %s,"
           " deadline %s\n", ev.service, ev.tender, cc_name(c, ev.buyer), ev.qty,
           fmt_money(c, ev.price_minor, a), decide_word(ev.decide),
           time_text(ev.deadline_time_ms, d));
    if (ev.decide == IMX_PDECIDE_SCORE)
      printf("%-20s   weights: price %" PRIu32 ", quality %" PRIu32 "\n", ev.service,
             ev.price_weight, ev.quality_weight);
    break;
  case IMX_MD_TENDER_QUOTED:
    printf("%-20s tender %" PRIu64 ": a quote came, %" PRIu32 " standing\n", ev.service,
           ev.tender, ev.quotes);
    break;
  case IMX_MD_TENDER_AWARDED:
    printf("%-20s tender %" PRIu64 " awarded: quote %" PRIu64 " of %s, %" PRId64
           " at %s, trade %" PRIu64 "\n", ev.service, ev.tender, ev.quote,
           cc_name(c, ev.seller), ev.qty, fmt_money(c, ev.price_minor, a), ev.trade);
    if (ev.has_score) {
      char sc[24];
      printf("%-20s   the best score: %s\n", ev.service, score_text(ev.score, sc));
    }
    break;
  case IMX_MD_TENDER_LAPSED:
    printf("%-20s tender %" PRIu64 " lapsed: %s\n", ev.service, ev.tender,
           ev.why == IMX_LAPSED_NO_QUOTES ? "no quote by the deadline"
                                          : "no award by the deadline");
    break;
  case IMX_MD_TRADE:
    printf("%-20s trade %" PRIu64 ": %" PRId64 " at %s, %s\n", ev.service, ev.trade, ev.qty,
           price_text(c, ev.price_minor, a), time_text(ev.time_ms, t));
    break;
  case IMX_MD_TOP: { /* an empty side reads "no bids", not "- x 0" */
    char bid[2 * IMX_MONEY_TEXT_BYTES + 48], offer[2 * IMX_MONEY_TEXT_BYTES + 48];
    if (ev.bid) snprintf(bid, sizeof bid, "best bid %s x %" PRId64, fmt_money(c, ev.bid, a), ev.bid_qty);
    else snprintf(bid, sizeof bid, "no bids");
    if (ev.offer)
      snprintf(offer, sizeof offer, "best offer %s x %" PRId64, fmt_money(c, ev.offer, b), ev.offer_qty);
    else snprintf(offer, sizeof offer, "no offers");
    printf("%-20s %s, %s\n", ev.service, bid, offer);
    break;
  }
  case IMX_MD_AUCTION:
    printf("%-20s auction: %s, volume %" PRId64 ", surplus %" PRId64 " (%s)\n", ev.service,
           ev.price_minor ? fmt_money(c, ev.price_minor, a) : "no price", ev.volume,
           ev.surplus, side_word(ev.surplus_side));
    break;
  }
}

/* Every service named must exist: the daemon's book.get says so (an
** unknown one is its unknown_service error, exit 1). */
static int services_exist(cli *c, const args *a) {
  for (int i = 0; i < a->npos; i++) {
    imx_request rq;
    request_init(&rq, IMX_MSG_BOOK_GET);
    rq.depth = 1;
    int rc = EXIT_OK;
    if (!strncmp(a->pos[i], "cc:", 3)) { /* a cost centre's tender events */
      const char *cc = a->pos[i] + 3;
      if (cc[0] == '\0' || strlen(cc) > IMX_NAME_BYTES_MAX)
        return bad_arg(c, "SERVICE", "'%.20s': cc: needs a cost centre id of 1 to %d bytes",
                       a->pos[i], IMX_NAME_BYTES_MAX);
      request_init(&rq, IMX_MSG_CC_GET);
      memcpy(rq.cc, cc, strlen(cc) + 1);
    } else if (arg_service(c, a->pos[i], &rq, &rc)) {
      return rc;
    }
    imx_reply r;
    rc = exchange(c, &rq, &r);
    if (rc == EXIT_OK && r.error) rc = refused(c, &r);
    imx_reply_free(&r);
    if (rc != EXIT_OK) return rc;
  }
  return EXIT_OK;
}

static int cmd_watch(cli *c, const args *a) {
  int64_t count = -1;
  int st = EXIT_OK;
  const char *cnt = arg_opt(c, a, "--count");
  if (cnt && arg_int(c, "--count", cnt, 1, INT64_MAX, &count, &st)) return st;
  if ((st = market(c)) != EXIT_OK || (st = services_exist(c, a)) != EXIT_OK) return st;
  nng_socket sub;
  int rv;
  char err[512];
  if ((rv = nng_sub0_open(&sub)) != 0)
    return fail(c, EXIT_NO_REPLY, "no_reply", "pub_url", "%s: %s", c->pub_url,
                nng_strerror(rv));
  if (imx_client_dial(sub, c->pub_url, c->ca, NNG_FLAG_NONBLOCK, err, sizeof err) != 0) {
    nng_close(sub);
    if (no_ca(c, c->pub_url)) return fail(c, EXIT_USAGE, "usage", "ca", "%s", err);
    return fail(c, EXIT_NO_REPLY, "no_reply", "pub_url", "%s", err);
  }
  for (int i = 0; i < a->npos; i++) {
    char topic[IMX_NAME_BYTES_MAX + 2];
    snprintf(topic, sizeof topic, "%s ", a->pos[i]);
    nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, topic, strlen(topic));
  }
  if (a->npos == 0) nng_socket_set(sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
  setvbuf(stdout, NULL, _IOLBF, 0);
  for (int64_t n = 0; count < 0 || n < count; n++) {
    char *data = NULL;
    size_t len = 0;
    if ((rv = nng_recv(sub, &data, &len, NNG_FLAG_ALLOC)) != 0) {
      nng_close(sub);
      return fail(c, EXIT_NO_REPLY, "no_reply", "pub_url", "%s", nng_strerror(rv));
    }
    print_md(c, data, len);
    nng_free(data, len);
  }
  nng_close(sub);
  return EXIT_OK;
}

static int cmd_token(cli *c, const args *a) {
  (void)a;
  unsigned char raw[32];
  FILE *f = fopen("/dev/urandom", "rb");
  if (f == NULL || fread(raw, 1, sizeof raw, f) != sizeof raw) {
    if (f) fclose(f);
    return fail(c, EXIT_REFUSED, "internal", "", "cannot read /dev/urandom");
  }
  fclose(f);
  char token[65], hash[65];
  for (int i = 0; i < 32; i++) snprintf(token + 2 * i, 3, "%02x", raw[i]);
  imx_sha256_hex(token, 64, hash);
  printf("token %s\ntoken_hash %s\n", token, hash);
  return EXIT_OK;
}

/* imx ledger verify: the daemon's start-up checks, offline, on a ledger
** that must exist (opened read-only: verifying changes nothing; imxd may be
** writing it). With the market file the journal is also replayed through
** the engine and must make exactly the ledger's trades, trade by trade: an
** edit that keeps the ledger balanced (a price changed in a trade and its
** postings) is found there. The limits must be the ones imxd ran with. */
static int cmd_ledger_verify(cli *c, const args *a) {
  const char *db = arg_opt(c, a, "--db"), *market_path = arg_opt(c, a, "--market");
  const char *omax = arg_opt(c, a, "--orders-max"), *opcc = arg_opt(c, a, "--orders-per-cc");
  int64_t orders_max = IMX_SERVER_ORDERS_MAX_DEFAULT,
          orders_per_cc = IMX_SERVER_ORDERS_PER_CC_DEFAULT;
  int st = EXIT_OK;
  if (db == NULL) return bad_arg(c, "--db", "missing: the ledger file to check");
  if ((omax && arg_int(c, "--orders-max", omax, 1, IMX_ORDERS_MAX, &orders_max, &st)) ||
      (opcc && arg_int(c, "--orders-per-cc", opcc, 1, 1LL << 30, &orders_per_cc, &st)))
    return st;
  imx_market m;
  imx_proto_error perr = {0};
  if (market_path && imx_market_load(market_path, &m, &perr) != 0)
    return fail(c, EXIT_REFUSED, perr.code, perr.field, "%s: %s: %s", market_path,
                perr.field, perr.message);
  imx_ledger *l = NULL;
  char err[512];
  int rc = EXIT_OK;
  int64_t seq = 0, trade = 0, replayed = 0, refused = 0;
  imx_server_config cfg = {.market = &m, .orders_max = (uint32_t)orders_max,
                           .orders_per_cc_max = (uint32_t)orders_per_cc};
  if (imx_ledger_open_existing(db, &l, err, sizeof err) != 0) {
    rc = fail(c, EXIT_REFUSED, "not_found", "db", "%s: %s", db, err);
  } else if (imx_ledger_verify(l, err, sizeof err) != 0 ||
             (market_path &&
              imx_server_replay_check(&cfg, l, &replayed, &refused, err, sizeof err) != 0)) {
    rc = fail(c, EXIT_REFUSED, "check_failed", "db", "%s: check failed: %s", db, err);
  } else {
    imx_ledger_last(l, &seq, &trade);
    printf("%s: ok (%" PRId64 " %s, %" PRId64 " %s; every trade balanced, total"
           " zero%s)\n", db, seq, plural(seq, "command", "commands"), trade,
           plural(trade, "trade", "trades"),
           market_path ? "; the journal replayed makes every trade" : "");
    if (refused > 0)
      printf("%s: %" PRId64 " %s refused by this market file or these order limits: what "
             "%s would not be in the market (imxd's start logs each)\n", db, refused,
             plural(refused, "journal entry is", "journal entries are"),
             plural(refused, "it did", "they did"));
  }
  imx_ledger_close(l);
  if (market_path) imx_market_free(&m);
  return rc;
}

/* imx export: the ledger must exist (read-only); with --out the file appears
** only when the export is complete. */
static int cmd_export(cli *c, const args *a) {
  static const char *const formats[] = {"csv", "sap", "hledger", "beancount", "ratings"};
  const char *db = arg_opt(c, a, "--db"), *market_path = arg_opt(c, a, "--market");
  const char *out_path = arg_opt(c, a, "--out"), *fmt = arg_opt(c, a, "--format");
  const char *per = arg_opt(c, a, "--period");
  int format = -1, st = EXIT_OK;
  int64_t period = 0;
  if (db == NULL) return bad_arg(c, "--db", "missing: the ledger file to export");
  if (market_path == NULL) return bad_arg(c, "--market", "missing: the market file");
  for (int k = 0; fmt && k < 5; k++)
    if (!strcmp(fmt, formats[k])) format = k;
  if (format < 0)
    return bad_arg(c, "--format", "%s%s%smust be csv, sap, hledger, beancount or ratings",
                   fmt ? "'" : "", fmt ? fmt : "", fmt ? "': " : "");
  _Static_assert(IMX_EXPORT_RATINGS == 4, "formats[] in the enum's order");
  if (per && format == IMX_EXPORT_RATINGS)
    return bad_arg(c, "--period", "ratings belong to no period: export them all");
  imx_market m;
  imx_proto_error perr = {0};
  if (imx_market_load(market_path, &m, &perr) != 0)
    return fail(c, EXIT_REFUSED, perr.code, perr.field, "%s: %s: %s", market_path,
                perr.field, perr.message);
  /* a period by its label (proto/period.c): "2026-12", or "3" in a market
  ** without calendar periods */
  if (per && (period = imx_period_parse(&m, per)) < 1) {
    char first[IMX_PERIOD_LABEL_BYTES];
    imx_period_label(&m, 1, first, sizeof first);
    st = bad_arg(c, "--period", "'%s': not a period of this market (the first is %s)", per,
                 first);
    imx_market_free(&m);
    return st;
  }
  imx_ledger *l = NULL;
  char err[512];
  int rc = EXIT_OK;
  int64_t rows = 0;
  /* --decimal comma: the SAP upload's amounts (German installations); the
  ** other formats keep the point their tools read */
  if (format == IMX_EXPORT_SAP && (c->money_flags & IMX_MONEY_COMMA))
    format |= IMX_EXPORT_COMMA;
  int64_t closed = 0;
  char open[IMX_PERIOD_LABEL_BYTES];
  if (imx_ledger_open_existing(db, &l, err, sizeof err) != 0) {
    rc = fail(c, EXIT_REFUSED, "not_found", "db", "%s: %s", db, err);
  } else if (period > 0 && imx_ledger_last_closed(l, &closed) != 0) {
    rc = fail(c, EXIT_REFUSED, "internal", "", "export failed: %s", imx_ledger_error(l));
  } else if (period > closed + 1) { /* as statement.get: nothing to export yet */
    imx_period_label(&m, closed + 1, open, sizeof open);
    rc = fail(c, EXIT_REFUSED, "not_found", "period",
              "--period: '%s': that period has not begun (the open one is %s)", per, open);
  } else if ((out_path ? imx_export_file(l, &m, period, format, out_path, &rows)
                       : imx_export(l, &m, period, format, stdout, &rows)) != 0) {
    rc = fail(c, EXIT_REFUSED, "internal", "", "export failed: %s", imx_ledger_error(l));
  } else if (out_path) {
    fprintf(stderr, "imx export: %" PRId64 " %s written to %s\n", rows,
            format == IMX_EXPORT_RATINGS ? plural(rows, "rating", "ratings")
                                         : plural(rows, "settlement", "settlements"),
            out_path);
  }
  imx_ledger_close(l);
  imx_market_free(&m);
  return rc;
}

/* statement [--period LABEL] [--for CC] [--csv]: statement.get, and for
** the open period balance.get, on one connection. */
static int cmd_statement(cli *c, const args *a) {
  imx_request rq;
  request_init(&rq, IMX_MSG_STATEMENT_GET);
  int st = for_cc(c, a, &rq);
  if (st) return st;
  const char *per = arg_opt(c, a, "--period");
  if (per && (per[0] == '\0' || strlen(per) >= sizeof rq.period))
    return bad_arg(c, "--period", "'%s': must be a period's label such as 2026-12", per);
  if (per) snprintf(rq.period, sizeof rq.period, "%s", per);
  int csv = arg_opt(c, a, "--csv") != NULL;
  if ((st = market(c)) != EXIT_OK) return st;
  if (rq.cc[0] == '\0' && c->cc) snprintf(rq.cc, sizeof rq.cc, "%s", c->cc);
  imx_reply sr, br;
  memset(&br, 0, sizeof br);
  int have_bal = 0;
  st = exchange(c, &rq, &sr);
  if (st == EXIT_OK && sr.error) st = refused(c, &sr);
  if (st == EXIT_OK && !sr.is_closed && !csv) {
    /* the open period: the engine's budget and reservations */
    imx_request b;
    request_init(&b, IMX_MSG_BALANCE_GET);
    snprintf(b.cc, sizeof b.cc, "%s", sr.cc);
    st = exchange(c, &b, &br);
    have_bal = st == EXIT_OK;
    if (st == EXIT_OK && br.error) st = refused(c, &br);
  }
  if (st == EXIT_OK) {
    if (csv) {
      print_statement_csv(c, &sr);
    } else if (c->json) {
      static char buf[IMX_REPLY_BYTES_MAX];
      size_t n = imx_reply_encode(&sr, buf, sizeof buf);
      printf("%.*s\n", (int)n, buf);
      if (have_bal) {
        n = imx_reply_encode(&br, buf, sizeof buf);
        printf("%.*s\n", (int)n, buf);
      }
    } else {
      print_statement(c, &sr, have_bal ? &br : NULL);
    }
  }
  imx_reply_free(&sr);
  imx_reply_free(&br);
  return st;
}

/* summary [--period LABEL]: period.summary, every page of it. */
static int cmd_summary(cli *c, const args *a) {
  const char *per = arg_opt(c, a, "--period");
  char period[IMX_PERIOD_LABEL_BYTES];
  if (per && (per[0] == '\0' || strlen(per) >= sizeof period))
    return bad_arg(c, "--period", "'%s': must be a period's label such as 2026-12", per);
  if (per) snprintf(period, sizeof period, "%s", per);
  summary_print p = {0};
  int rc = fetch_pages(c, IMX_MSG_PERIOD_SUMMARY, per ? period : NULL, 0, print_summary_page, &p);
  if (rc == EXIT_OK && p.rows == 0 && !c->json) printf("no cost centre with a budget or a trade\n");
  return rc;
}

static int cmd_help(cli *c, const args *a);

/* The commands: the order of `imx help`. */
static const command commands[] = {
    {"bid", {"SERVICE", "QTY", "PRICE"}, 2, 0,
     {"--tif=", "--aon", "--min-stars=", "--allow-unrated"}, cmd_bid,
     "SERVICE QTY [PRICE] [--tif gtc|period|ioc|fok] [--aon] [--min-stars S [--allow-unrated]]",
     "buy QTY units at PRICE or better per unit (no PRICE: a market order, auction services "
     "only); --min-stars 4.5: only from providers rated 4.5 stars or more for the service "
     "(--allow-unrated: or not yet rated)",
     "imx bid it.helpdesk.hour 25 90.00"},
    {"offer", {"SERVICE", "QTY", "PRICE"}, 2, 0, {"--tif=", "--aon"}, cmd_offer,
     "SERVICE QTY [PRICE] [--tif gtc|period|ioc|fok] [--aon]",
     "sell QTY units at PRICE or better per unit (providers)",
     "imx offer it.helpdesk.hour 40 85"},
    {"cancel", {"ORDER"}, 1, 0, {NULL}, cmd_cancel, "ORDER", "cancel an open order of yours",
     "imx cancel 17"},
    {"modify", {"ORDER"}, 1, 0, {"--qty=", "--price="}, cmd_modify,
     "ORDER [--qty N] [--price PRICE]",
     "change an open order: N the new total (filled units included), PRICE the new limit",
     "imx modify 17 --qty 30 --price 84.00"},
    {"orders", {NULL}, 0, 0, {"--for=", "--all", "--limit=", "--before="}, cmd_orders,
     "[--for CC] [--all [--limit N] [--before ORDER]]",
     "your open orders; --all: then the closed ones with their fills, newest first "
     "(finance and admin: --for another cost centre)",
     "imx orders --all --limit 5"},
    {"book", {"SERVICE"}, 1, 0, {"--depth="}, cmd_book, "SERVICE [--depth N]",
     "the order book of a service, best prices first", "imx book it.helpdesk.hour"},
    {"trades", {"SERVICE"}, 0, 0, {"--for=", "--limit=", "--after="}, cmd_trades,
     "[SERVICE] [--for CC] [--limit N] [--after ID]",
     "your trades, newest first (--after ID: the trades after ID, oldest first)",
     "imx trades it.helpdesk.hour --limit 10"},
    {"balance", {NULL}, 0, 0, {"--for="}, cmd_balance, "[--for CC]",
     "budget, reserved, spent, earned and available money, and capacities",
     "imx balance"},
    {"services", {NULL}, 0, 0, {NULL}, cmd_services, "",
     "every service: name, unit, mode, providers, best prices, last trade, description",
     "imx services"},
    {"who", {"CC"}, 0, 0, {NULL}, cmd_who, "[CC]",
     "the cost centres (name, site, roles, offers), or one of them",
     "imx who CC-6100"},
    {"tender", {"SERVICE", "QTY", "CEILING", "SECONDS"}, 4, 0, {"--decide=", "--weights="},
     cmd_tender, "SERVICE QTY CEILING SECONDS [--decide lowest|choose|score] [--weights P/Q]",
     "ask providers for QTY units at CEILING per unit at most, quotes until SECONDS from now;"
     " lowest: the cheapest quote then wins, choose: you award one, score: the best score"
     " wins, price and the providers' ratings weighed P/Q percent (--weights 60/40)",
     "imx tender payroll.run 2 8000.00 3600 --decide choose"},
    {"tenders", {NULL}, 0, 0, {"--limit=", "--after="}, cmd_tenders,
     "[--limit N] [--after ID]",
     "your tenders; a provider's: the open tenders of the services it provides",
     "imx tenders"},
    {"tender show", {"TENDER"}, 1, 0, {NULL}, cmd_tender_show, "TENDER",
     "a tender and its quotes (a provider sees its own quote only)", "imx tender show 3"},
    {"tender award", {"TENDER", "QUOTE"}, 2, 0, {NULL}, cmd_tender_award, "TENDER QUOTE",
     "award a choose tender of yours to one of its quotes", "imx tender award 3 7"},
    {"tender cancel", {"TENDER"}, 1, 0, {NULL}, cmd_tender_cancel, "TENDER",
     "cancel a tender of yours before it is decided", "imx tender cancel 3"},
    {"quote", {"TENDER", "PRICE"}, 2, 0, {NULL}, cmd_quote, "TENDER PRICE",
     "quote PRICE per unit for the whole of a tender (providers)", "imx quote 3 7200"},
    {"quote withdraw", {"QUOTE"}, 1, 0, {NULL}, cmd_quote_withdraw, "QUOTE",
     "take your quote back before the award", "imx quote withdraw 7"},
    {"rate", {"TRADE", "STARS", "COMMENT"}, 2, 0, {NULL}, cmd_rate,
     "TRADE STARS [COMMENT]",
     "rate the provider of a trade you bought: 1 to 5 stars, once, within the market's"
     " rating window",
     "imx rate 12 4 \"fast, but the ticket was reopened once\""},
    {"rating reply", {"TRADE", "COMMENT"}, 2, 0, {NULL}, cmd_rating_reply,
     "TRADE COMMENT", "answer the rating of a trade you provided, once",
     "imx rating reply 12 \"sorry: fixed for good now\""},
    {"ratings", {"CC"}, 0, 0, {"--service=", "--limit=", "--before="}, cmd_ratings,
     "[CC] [--service S] [--limit N] [--before TRADE]",
     "ratings, newest first: those you gave and received (finance and admin: all, or CC's)",
     "imx ratings CC-4100 --service it.helpdesk.hour"},
    {"auction run", {"SERVICE"}, 1, 0, {"--reference="}, cmd_auction_run,
     "SERVICE [--reference PRICE]",
     "call an auction service now (admin); PRICE: the reference while it has no last price",
     "imx auction run truck.day --reference 400"},
    {"period close", {NULL}, 0, 0, {NULL}, cmd_period_close, "",
     "close the period and open the next (admin, finance): what traded per service",
     "imx period close"},
    {"statement", {NULL}, 0, 0, {"--period=", "--for=", "--csv"}, cmd_statement,
     "[--period LABEL] [--for CC] [--csv]",
     "a period's statement (default: the open one): per service bought, sold, average "
     "prices; the trades; the open period's budget and reservations",
     "imx statement --period 2026-12"},
    {"summary", {NULL}, 0, 0, {"--period="}, cmd_summary, "[--period LABEL]",
     "the whole market's period (finance only; default: the open one): per service "
     "trades, units and amount; per cost centre budget, spent, earned and, open, reserved "
     "and available",
     "imx summary --period 2026-12"},
    {"watch", {"SERVICE"}, 0, 1, {"--count="}, cmd_watch,
     "[SERVICE...] [cc:CC...] [--count N]",
     "live market data (IMX_PUB_URL) of the services named, or of all; cc:CC: that cost "
     "centre's tender events",
     "imx watch it.helpdesk.hour cc:CC-1400"},
    {"token", {NULL}, 0, 0, {NULL}, cmd_token, "",
     "a new random token and the hash the market file keeps of it", "imx token"},
    {"ledger verify", {NULL}, 0, 0,
     {"--db=", "--market=", "--orders-max=", "--orders-per-cc="}, cmd_ledger_verify,
     "--db PATH [--market FILE [--orders-max N] [--orders-per-cc N]]",
     "check a ledger file offline; with the market file, replay its journal too",
     "imx ledger verify --db /tmp/imx.db --market examples/market.json"},
    {"export", {NULL}, 0, 0, {"--db=", "--market=", "--period=", "--format=", "--out="},
     cmd_export,
     "--db PATH --market FILE [--period LABEL] --format csv|sap|hledger|beancount|ratings"
     " [--out FILE]",
     "the ledger's settlements for finance's tools (sap: the SAP CO upload of closed"
     " periods, amounts with --decimal comma if asked; ratings: every rating, as CSV)",
     "imx export --db /tmp/imx.db --market examples/market.json --format csv"},
    {"help", {"COMMAND"}, 0, 1, {NULL}, cmd_help, "[COMMAND]",
     "the commands, or one command's usage with an example", "imx help bid"},
};
#define COMMANDS_N (sizeof commands / sizeof commands[0])

static const char *const SETTINGS =
    "options: --url URL, --pub-url URL, --cc CC, --token TOKEN, --json,"
    " --decimal point|comma, --ca FILE\n"
    "settings: IMX_URL (default " IMX_DEFAULT_LISTEN "), IMX_PUB_URL (default "
    IMX_DEFAULT_PUBLISH "), IMX_CC, IMX_TOKEN, IMX_DECIMAL, IMX_CA\n"
    "tls+tcp:// URLs: --ca (or IMX_CA) is the CA certificate that signed imxd's\n"
    "money is typed and shown in the currency's units: 85, 85.50 or 85,50\n"
    "exit status: 0 done, 1 refused by the market, 2 usage, 3 no reply\n";

static void list_commands(FILE *f) {
  fputs("usage: imx [OPTIONS] COMMAND ...\n", f);
  for (size_t i = 0; i < COMMANDS_N; i++)
    fprintf(f, "  %-14s %s\n", commands[i].name, commands[i].what);
  fputs("imx help COMMAND shows one command's usage and an example\n", f);
  fputs(SETTINGS, f);
}

static const command *find_command(const char *name) {
  for (size_t i = 0; i < COMMANDS_N; i++)
    if (!strcmp(commands[i].name, name)) return &commands[i];
  return NULL;
}

static int cmd_help(cli *c, const args *a) {
  if (a->npos == 0) {
    list_commands(stdout);
    return EXIT_OK;
  }
  char name[64]; /* "auction run" comes as two arguments */
  snprintf(name, sizeof name, "%s%s%s", a->pos[0], a->npos > 1 ? " " : "",
           a->npos > 1 ? a->pos[1] : "");
  const command *k = a->npos <= 2 ? find_command(name) : NULL;
  if (k == NULL) return bad_arg(c, "COMMAND", "'%s': no such command (imx help lists them)", name);
  printf("usage: imx %s%s%s\n  %s\nexample:\n  %s\n", k->name, k->usage[0] ? " " : "",
         k->usage, k->what, k->example);
  return EXIT_OK;
}

/* --------------------------------------------------------------- main */

static int global_options(cli *c, int argc, char **argv, int *i) {
  const char *dec = getenv("IMX_DECIMAL");
  for (; *i < argc && argv[*i][0] == '-' && argv[*i][1] == '-'; (*i)++) {
    const char *a = argv[*i];
    if (!strcmp(a, "--json")) { c->json = 1; continue; }
    if (!strcmp(a, "--help")) { list_commands(stdout); return -1; }
    int known = !strcmp(a, "--url") || !strcmp(a, "--pub-url") || !strcmp(a, "--cc") ||
                !strcmp(a, "--token") || !strcmp(a, "--decimal") || !strcmp(a, "--ca");
    if (!known) return fail(c, EXIT_USAGE, "usage", "", "%s: no such option (imx help)", a);
    if (*i + 1 >= argc) return fail(c, EXIT_USAGE, "usage", a + 2, "%s: needs a value", a);
    const char *v = argv[++*i];
    if (!strcmp(a, "--url")) c->url = v;
    else if (!strcmp(a, "--pub-url")) c->pub_url = v;
    else if (!strcmp(a, "--cc")) c->cc = v;
    else if (!strcmp(a, "--token")) c->token = v;
    else if (!strcmp(a, "--ca")) c->ca = v;
    else dec = v;
  }
  if (dec && strcmp(dec, "point") && strcmp(dec, "comma"))
    return fail(c, EXIT_USAGE, "usage", "decimal",
                "--decimal (or IMX_DECIMAL) '%s': must be point or comma", dec);
  if (dec && !strcmp(dec, "comma")) c->money_flags |= IMX_MONEY_COMMA;
  return 0;
}

int main(int argc, char **argv) {
  cli c = {.url = getenv("IMX_URL"), .pub_url = getenv("IMX_PUB_URL"),
           .cc = getenv("IMX_CC"), .token = getenv("IMX_TOKEN"), .ca = getenv("IMX_CA"),
           .timeout_ms = 10000};
  if (c.url == NULL) c.url = IMX_DEFAULT_LISTEN;
  if (c.pub_url == NULL) c.pub_url = IMX_DEFAULT_PUBLISH;
  int i = 1, rc = global_options(&c, argc, argv, &i);
  if (rc != 0) return rc < 0 ? EXIT_OK : rc;
  if (i >= argc) {
    if (c.json) return fail(&c, EXIT_USAGE, "usage", "command", "no command (imx help)");
    list_commands(stderr);
    return EXIT_USAGE;
  }
  /* A command of two words ("auction run") is looked up as such first. */
  char two[64];
  snprintf(two, sizeof two, "%s %s", argv[i], i + 1 < argc ? argv[i + 1] : "");
  const command *k = find_command(two);
  if (k) i += 2;
  else if ((k = find_command(argv[i])) != NULL) i += 1;
  if (k == NULL) {
    for (size_t j = 0; j < COMMANDS_N; j++)
      if (strchr(commands[j].name, ' ') &&
          !strncmp(commands[j].name, argv[i], strlen(argv[i])) &&
          commands[j].name[strlen(argv[i])] == ' ')
        return fail(&c, EXIT_USAGE, "usage", "command", "%s: did you mean imx %s? (imx help)",
                    argv[i], commands[j].name);
    return fail(&c, EXIT_USAGE, "usage", "command", "%s: no such command (imx help lists them)",
                argv[i]);
  }
  c.cmd = k;
  args a;
  rc = split_args(&c, argc - i, argv + i, &a);
  if (rc == 0) rc = k->run(&c, &a);
  imx_client_close(c.conn);
  free(c.ccs_dir.rows);
  free(c.services_dir.rows);
  return rc;
}
