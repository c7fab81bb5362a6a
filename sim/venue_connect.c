/*
** venue_connect.c -- the sim_venue of `imx-sim run --connect URL`: the same
** market run, driven over the protocol against a running imxd instead of
** the engine in-process; and `imx-sim market`, the market file that makes
** imxd serve a scenario.
**
** imxd runs the same engine, so for the same scenario, agents and seed the
** run must see the same fills in the same order as in-process. What makes
** that hold:
**   - the market file maps the scenario one to one (service i, cost centre
**     i; budgets, capacities, ticks and price caps as venue_engine.c sets
**     them), so imxd's engine is configured like the in-process one;
**   - requests go one at a time, so imxd executes them in the run's order;
**   - fills come back in the engine's order: those of an order in its
**     order.new.ok (up to the 256 a reply lists; the rest, and an auction's,
**     through trades.list with `after`, paged forward, oldest first);
**   - every trade id must be the one after the last seen: a gap means that
**     someone else traded on this imxd during the run, and the run fails
**     rather than report a market it did not make;
**   - quality: the market file carries the scenario's ratings_min, bids
**     their min_stars with allow_unrated, and the buyers rate the period's
**     fills (rating.new) right after its close, where the in-process run
**     sets the same totals on its engine (vc_rate).
** And one condition outside our hands: the engine remembers each auction's
** last clearing price and its price rule prefers it to the reference the
** run passes, so only an imxd that has not yet cleared the scenario's
** auctions (a fresh one, per run) repeats the in-process result exactly; a
** used one runs correctly, but its auction prices may differ.
**
** Requests carry the token of the cost centre they act for (prefix + id),
** auctions and period closes the admin token; no hello is needed. An
** imxd that traded before the run (an earlier run) first gets a period
** close, so that the run's first period starts from the market file's
** budgets and capacities, as in-process.
**
** Errors: a refused order is a rejection (the engine's imx_status, read
** from the error reply's reason); a refused token, an unknown service or
** cost centre, or no reply within the timeout fail the venue with the code
** and imxd's message in v->err.
*/
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imx_client.h"
#include "imx_sim.h"
#include "sim_int.h"

#define CONNECT_TIMEOUT_MS 10000 /* per request                              */
#define RATE_RETRIES_MAX 200     /* rate_limited: retried, 10 ms apart        */
#define PAGES_MAX (1u << 20)     /* trades.list pages after one request       */
#define PREFIX_BYTES_MAX (IMX_TOKEN_BYTES_MAX - IMX_NAME_BYTES_MAX)
#define ADMIN_CC "SIM-ADMIN"

typedef struct venue_connect {
  sim_venue base; /* first: a sim_venue * is a venue_connect * */
  imx_client *cl;
  const char *url;
  names ccs, services; /* the scenario's ids -> indexes, for fills      */
  char prefix[PREFIX_BYTES_MAX + 1];
  char admin[IMX_TOKEN_BYTES_MAX + 1];
  uint64_t last_trade; /* the newest trade id seen                      */
  /* quality: the period's ratings, given at its close (vc_rate) */
  struct pending_rating {
    uint64_t trade;
    uint32_t buyer;
    int stars;
  } *ratings;
  size_t ratings_n, ratings_cap;
} venue_connect;

/* ------------------------------------------------------------ requests */

/* Sets v->err (cut to its size: the start says what failed) and fails. */
__attribute__((format(printf, 2, 3)))
static int vfail(venue_connect *v, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(v->base.err, sizeof v->base.err, fmt, ap);
  va_end(ap);
  return -1;
}

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* One request and its reply (an error reply is a reply: 0). rate_limited
** means nothing was done: wait and ask again, under a fresh id. */
static int request(venue_connect *v, imx_request *rq, imx_reply *rp) {
  for (int attempt = 0;; attempt++) {
    char err[200];
    rq->id[0] = '\0';
    if (imx_client_call(v->cl, rq, rp, err, sizeof err) != 0)
      return vfail(v, "imxd at %s: %s (%s)", v->url, err,
                   imx_msg_type_name(rq->type));
    if (!rp->error || strcmp(rp->code, "rate_limited") != 0 ||
        attempt >= RATE_RETRIES_MAX)
      return 0;
    imx_reply_free(rp);
    sleep_ms(10);
  }
}

static void set_token(const venue_connect *v, imx_request *rq, int64_t cc) {
  if (cc < 0)
    snprintf(rq->token, sizeof rq->token, "%s", v->admin);
  else
    snprintf(rq->token, sizeof rq->token, "%s%s", v->prefix,
             v->base.sc->ccs[cc].id);
}

/* An error reply that is not a rejection of the run's order: the venue
** fails, naming what imxd said. */
static int reply_failure(venue_connect *v, const imx_reply *rp, const char *as) {
  const char *hint = "";
  if (strcmp(rp->code, "unauthorized") == 0)
    hint = " (is the token prefix the one imx-sim market wrote the market with?)";
  else if (strcmp(rp->code, "unknown_service") == 0 ||
           strcmp(rp->code, "unknown_cc") == 0 || strcmp(rp->code, "forbidden") == 0)
    hint = " (does imxd serve `imx-sim market` of this scenario?)";
  return vfail(v, "imxd refused a request of %s: %s (%s, field %s)%s", as,
               rp->message, rp->code, rp->field, hint);
}

/* --------------------------------------------------------------- fills */

/* Reports one trade through on_fill, after checking it is the next one. */
static int take_trade(venue_connect *v, const imx_reply_trade *t) {
  if (t->trade != v->last_trade + 1) {
    return vfail(v, "imxd made trade %" PRIu64 " where the run expected %" PRIu64
                    ": is someone else trading on it?", t->trade, v->last_trade + 1);
  }
  int64_t s = names_find(&v->services, t->service);
  int64_t b = names_find(&v->ccs, t->buyer), sl = names_find(&v->ccs, t->seller);
  if (s < 0 || b < 0 || sl < 0)
    return vfail(v, "imxd traded %s between cost centres not in the scenario "
                    "(%s)", t->service, s < 0 ? t->service : b < 0 ? t->buyer : t->seller);
  v->last_trade = t->trade;
  sim_fill f = {.service = (uint32_t)s, .buyer_cc = (uint32_t)b,
                .seller_cc = (uint32_t)sl, .qty = t->qty,
                .price_minor = t->price_minor, .buy_order = t->buy_order,
                .sell_order = t->sell_order, .trade = t->trade};
  assert(f.qty > 0);
  if (v->base.on_fill) v->base.on_fill(v->base.ctx, &f);
  return 0;
}

/* Every trade after last_trade, paged forward, oldest first; *n_out counts
** them. */
static int fetch_trades(venue_connect *v, uint64_t *n_out) {
  *n_out = 0;
  for (uint32_t page = 0; page < PAGES_MAX; page++) {
    imx_request rq;
    imx_reply rp;
    memset(&rq, 0, sizeof rq);
    rq.type = IMX_MSG_TRADES_LIST;
    rq.limit = IMX_LIST_MAX;
    rq.has_after = 1, rq.after = v->last_trade;
    set_token(v, &rq, -1);
    if (request(v, &rq, &rp) != 0) return -1;
    int rc = rp.error ? reply_failure(v, &rp, "the admin") : 0;
    for (uint32_t i = 0; rc == 0 && i < rp.trades_n; i++) {
      rc = take_trade(v, &rp.trades[i]);
      (*n_out)++;
    }
    uint32_t n = rp.trades_n;
    imx_reply_free(&rp);
    if (rc != 0 || n < IMX_LIST_MAX) return rc;
  }
  return vfail(v, "imxd at %s: more trades than %u pages", v->url, PAGES_MAX);
}

/* The newest trade id, or 0 when imxd has none. */
static int newest_trade(venue_connect *v, uint64_t *id_out) {
  imx_request rq;
  imx_reply rp;
  memset(&rq, 0, sizeof rq);
  rq.type = IMX_MSG_TRADES_LIST;
  rq.limit = 1;
  set_token(v, &rq, -1);
  if (request(v, &rq, &rp) != 0) return -1;
  int rc = rp.error ? reply_failure(v, &rp, "the admin") : 0;
  *id_out = rc == 0 && rp.trades_n > 0 ? rp.trades[0].trade : 0;
  imx_reply_free(&rp);
  return rc;
}

/* ------------------------------------------------------------- the ops */

/* A rejection's reason (the engine's status name, proto/errors.c) back to
** the engine's status; -1: not an engine rejection (a failure to report).
** The reason is a stable field: no message is parsed. */
static int status_of(const imx_reply *rp, imx_status *st) {
  if (rp->reason[0] == '\0') return -1;
  /* A service or cost centre imxd does not know is the run's failure. */
  if (strcmp(rp->code, "unknown_service") == 0 || strcmp(rp->code, "unknown_cc") == 0)
    return -1;
  /* The daemon's own word for what the engine calls no capacity left. */
  if (strcmp(rp->reason, "not_provider") == 0) return *st = IMX_E_OVER_CAPACITY, 0;
  for (int s = IMX_E_UNKNOWN_SERVICE; s < 256; s++) {
    const char *name = imx_status_name((imx_status)s);
    if (strcmp(name, "unknown") == 0) break; /* past the last status */
    if (strcmp(name, rp->reason) == 0) return *st = (imx_status)s, 0;
  }
  return -1;
}

/* The fills an order.new.ok lists; beyond the IMX_FILLS_LISTED_MAX a reply
** holds (it says how many it left out), the rest come from trades.list. */
static int order_fills(venue_connect *v, const imx_reply *rp) {
  int64_t listed = 0;
  for (uint32_t i = 0; i < rp->trades_n; i++) {
    if (take_trade(v, &rp->trades[i]) != 0) return -1;
    listed += rp->trades[i].qty;
  }
  assert(listed <= rp->qty_filled);
  if (rp->trades_omitted == 0) return 0;
  uint64_t n = 0;
  return fetch_trades(v, &n);
}

static int vc_order(sim_venue *base, uint32_t cc, uint32_t service,
                    imx_side side, int64_t qty, int64_t price_minor,
                    imx_tif tif, int min_stars, uint64_t *id_out,
                    imx_status *status_out) {
  venue_connect *v = (venue_connect *)base;
  const sim_scenario *sc = base->sc;
  assert(cc < sc->ccs_n && service < sc->services_n);
  assert(min_stars == 0 || (side == IMX_BID && min_stars >= IMX_STARS_MIN &&
                            min_stars <= IMX_STARS_MAX));
  assert(side == IMX_BID || side == IMX_OFFER);
  imx_request rq;
  imx_reply rp;
  memset(&rq, 0, sizeof rq);
  rq.type = IMX_MSG_ORDER_NEW;
  set_token(v, &rq, cc);
  snprintf(rq.cc, sizeof rq.cc, "%s", sc->ccs[cc].id);
  snprintf(rq.service, sizeof rq.service, "%s", sc->services[service].id);
  rq.side = side == IMX_BID ? IMX_PSIDE_BID : IMX_PSIDE_OFFER;
  rq.tif = tif == IMX_TIF_GTC ? IMX_PTIF_GTC : tif == IMX_TIF_PERIOD ? IMX_PTIF_PERIOD
           : tif == IMX_TIF_IOC ? IMX_PTIF_IOC : IMX_PTIF_FOK;
  rq.qty = qty;
  rq.has_price = price_minor > 0, rq.price_minor = price_minor;
  /* as venue_engine.c bids: unrated providers stay eligible */
  rq.min_stars = min_stars, rq.allow_unrated = min_stars != 0;
  if (request(v, &rq, &rp) != 0) return -1;
  int rc = 0;
  *id_out = 0;
  *status_out = IMX_OK;
  if (rp.error) {
    if (status_of(&rp, status_out) != 0) rc = reply_failure(v, &rp, sc->ccs[cc].id);
  } else {
    *id_out = rp.order;
    rc = order_fills(v, &rp);
  }
  assert(rc != 0 || (*id_out != 0) == (*status_out == IMX_OK));
  imx_reply_free(&rp);
  return rc;
}

static int vc_cancel(sim_venue *base, uint32_t cc, uint64_t order_id) {
  venue_connect *v = (venue_connect *)base;
  assert(cc < base->sc->ccs_n && order_id > 0);
  imx_request rq;
  imx_reply rp;
  memset(&rq, 0, sizeof rq);
  rq.type = IMX_MSG_ORDER_CANCEL;
  set_token(v, &rq, cc);
  rq.order = order_id;
  if (request(v, &rq, &rp) != 0) return -1;
  /* filled, expired or stopped by self-trade prevention: already gone */
  int rc = rp.error && strcmp(rp.code, "not_found") != 0
               ? reply_failure(v, &rp, base->sc->ccs[cc].id)
               : 0;
  imx_reply_free(&rp);
  return rc;
}

static int vc_call(sim_venue *base, uint32_t service, int64_t reference_minor,
                   int64_t *price_out) {
  venue_connect *v = (venue_connect *)base;
  assert(service < base->sc->services_n);
  imx_request rq;
  imx_reply rp;
  memset(&rq, 0, sizeof rq);
  rq.type = IMX_MSG_AUCTION_RUN;
  set_token(v, &rq, -1);
  snprintf(rq.service, sizeof rq.service, "%s", base->sc->services[service].id);
  rq.has_price = reference_minor > 0, rq.price_minor = reference_minor;
  if (request(v, &rq, &rp) != 0) return -1;
  int rc = rp.error ? reply_failure(v, &rp, "the admin") : 0;
  int64_t volume = rp.volume, price = rp.price_minor;
  imx_reply_free(&rp);
  if (rc != 0) return rc;
  *price_out = volume > 0 ? price : 0;
  uint64_t n = 0;
  return fetch_trades(v, &n);
}

static int close_period(venue_connect *v) {
  imx_request rq;
  imx_reply rp;
  memset(&rq, 0, sizeof rq);
  rq.type = IMX_MSG_PERIOD_CLOSE;
  set_token(v, &rq, -1);
  if (request(v, &rq, &rp) != 0) return -1;
  int rc = rp.error ? reply_failure(v, &rp, "the admin") : 0;
  imx_reply_free(&rp);
  return rc;
}

/* imxd renews budgets and capacities at its period close; only a daemon
** that traded before the run needs a close to start from the file's. */
static int vc_period_open(sim_venue *base, uint32_t period) {
  venue_connect *v = (venue_connect *)base;
  assert(period >= 1);
  if (period > 1 || v->last_trade == 0) return 0;
  if (close_period(v) != 0) return -1;
  return newest_trade(v, &v->last_trade);
}

/* Quality: a fill's rating waits for the period's close, where the
** in-process run sets the reputations too (market.c): a rating given at
** once would change whom the rest of the period's bids with min_stars may
** trade with, and the run would no longer be the in-process one. */
static int vc_rate(sim_venue *base, const sim_fill *f, int stars) {
  venue_connect *v = (venue_connect *)base;
  assert(f->trade != 0 && f->buyer_cc < base->sc->ccs_n);
  assert(stars >= IMX_RATING_STARS_MIN && stars <= IMX_RATING_STARS_MAX);
  if (v->ratings_n == v->ratings_cap) {
    size_t cap = v->ratings_cap ? 2 * v->ratings_cap : 1024;
    void *p = realloc(v->ratings, cap * sizeof *v->ratings);
    if (p == NULL) return vfail(v, "out of memory for the period's ratings");
    v->ratings = p, v->ratings_cap = cap;
  }
  v->ratings[v->ratings_n++] = (struct pending_rating){f->trade, f->buyer_cc, stars};
  return 0;
}

/* The period's ratings, each by its trade's buyer, in the order of the
** fills (docs/protocol.md, rating.new). */
static int send_ratings(venue_connect *v) {
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < v->ratings_n; i++) {
    const struct pending_rating *g = &v->ratings[i];
    imx_request rq;
    imx_reply rp;
    memset(&rq, 0, sizeof rq);
    rq.type = IMX_MSG_RATING_NEW;
    set_token(v, &rq, g->buyer);
    rq.trade = g->trade;
    rq.stars = g->stars;
    if (request(v, &rq, &rp) != 0) return -1;
    if (rp.error) rc = reply_failure(v, &rp, v->base.sc->ccs[g->buyer].id);
    imx_reply_free(&rp);
  }
  v->ratings_n = 0;
  return rc;
}

/* period.close also calls every auction (the run called them already, and
** cancelled what was left, so nothing trades): any fill is still reported.
** Then the buyers rate the period's fills. */
static int vc_period_close(sim_venue *base, uint32_t period) {
  venue_connect *v = (venue_connect *)base;
  assert(period >= 1);
  uint64_t n = 0;
  if (close_period(v) != 0 || fetch_trades(v, &n) != 0) return -1;
  return send_ratings(v);
}

static void vc_destroy(sim_venue *base) {
  venue_connect *v = (venue_connect *)base;
  if (v == NULL) return;
  imx_client_close(v->cl);
  free(v->ratings);
  names_free(&v->ccs);
  names_free(&v->services);
  free(v);
}

static const sim_venue_ops connect_ops = {
    .period_open = vc_period_open, .order = vc_order, .cancel = vc_cancel,
    .call = vc_call, .period_close = vc_period_close, .rate = vc_rate,
    .destroy = vc_destroy};

/* ---------------------------------------------------------------- open */

static int intern_all(venue_connect *v) {
  const sim_scenario *sc = v->base.sc;
  for (uint32_t i = 0; i < sc->ccs_n; i++)
    if (names_intern(&v->ccs, sc->ccs[i].id) != (int64_t)i) return -1;
  for (uint32_t i = 0; i < sc->services_n; i++)
    if (names_intern(&v->services, sc->services[i].id) != (int64_t)i) return -1;
  return 0;
}

/* One hello as the first cost centre: a wrong prefix shows at once. */
static int check_tokens(venue_connect *v) {
  if (v->base.sc->ccs_n == 0) return 0;
  imx_request rq;
  imx_reply rp;
  memset(&rq, 0, sizeof rq);
  rq.type = IMX_MSG_HELLO;
  set_token(v, &rq, 0);
  snprintf(rq.cc, sizeof rq.cc, "%s", v->base.sc->ccs[0].id);
  if (request(v, &rq, &rp) != 0) return -1;
  int rc = rp.error ? reply_failure(v, &rp, v->base.sc->ccs[0].id) : 0;
  imx_reply_free(&rp);
  return rc;
}

int sim_venue_connect(const sim_scenario *sc, const char *url, const char *ca_file,
                      const char *token_prefix, const char *admin_token,
                      sim_venue **out, char *errbuf, size_t errcap) {
  assert(sc != NULL && url != NULL && out != NULL);
  *out = NULL;
  if (token_prefix == NULL) token_prefix = "demo-";
  if (strlen(token_prefix) > PREFIX_BYTES_MAX ||
      (admin_token && strlen(admin_token) > IMX_TOKEN_BYTES_MAX)) {
    snprintf(errbuf, errcap, "--token-prefix: at most %d bytes; --admin-token: "
             "at most %d", PREFIX_BYTES_MAX, IMX_TOKEN_BYTES_MAX);
    return -1;
  }
  venue_connect *v = calloc(1, sizeof *v);
  if (v == NULL) {
    snprintf(errbuf, errcap, "out of memory");
    return -1;
  }
  v->base.ops = &connect_ops;
  v->base.sc = sc;
  v->url = url;
  snprintf(v->prefix, sizeof v->prefix, "%s", token_prefix);
  if (admin_token)
    snprintf(v->admin, sizeof v->admin, "%s", admin_token);
  else
    snprintf(v->admin, sizeof v->admin, "%s%s", token_prefix, ADMIN_CC);
  int rc = intern_all(v);
  if (rc != 0) snprintf(v->base.err, sizeof v->base.err, "out of memory");
  if (rc == 0 && imx_client_open(url, ca_file, CONNECT_TIMEOUT_MS, &v->cl, v->base.err,
                                 sizeof v->base.err) != 0)
    rc = -1;
  if (rc == 0) rc = newest_trade(v, &v->last_trade);
  if (rc == 0) rc = check_tokens(v);
  if (rc != 0) {
    snprintf(errbuf, errcap, "%s", v->base.err);
    vc_destroy(&v->base);
    return -1;
  }
  *out = &v->base;
  return 0;
}

/* ------------------------------------------------------ the market file */

#define MARKET_CCS_MAX 65535u    /* proto/market.c: 65,536 with SIM-ADMIN    */
#define MARKET_SERVICES_MAX 4096u

/* imxd's price cap: the scenario's price_max, on the tick (the market file
** wants a multiple; rounding up keeps every price an agent may use). */
static int64_t price_cap(const sim_service *s) {
  assert(s->tick_minor >= 1);
  int64_t cap = (s->price_max_minor + s->tick_minor - 1) / s->tick_minor * s->tick_minor;
  if (cap > IMX_PRICE_MAX_MINOR) cap = IMX_PRICE_MAX_MINOR / s->tick_minor * s->tick_minor;
  return cap;
}

static void put_token_hash(FILE *out, const char *prefix, const char *id) {
  char token[PREFIX_BYTES_MAX + IMX_NAME_BYTES_MAX + 1], hex[65];
  int n = snprintf(token, sizeof token, "%s%s", prefix, id);
  assert(n > 0 && (size_t)n < sizeof token);
  imx_sha256_hex(token, (size_t)n, hex);
  fprintf(out, ", \"token_hash\": \"%s\"}", hex);
}

static void put_services(const sim_scenario *sc, const sim_groups *by_service,
                         FILE *out) {
  fputs(" \"services\": [", out);
  for (uint32_t i = 0; i < sc->services_n; i++) {
    const sim_service *s = &sc->services[i];
    fputs(i ? ",\n  {\"id\": " : "\n  {\"id\": ", out);
    sim_json_str(out, s->id);
    fputs(", \"unit\": ", out);
    sim_json_str(out, s->unit);
    fprintf(out, ", \"tick\": %" PRId64 ", \"lot\": 1, \"divisible\": true, "
            "\"mode\": \"%s\"", s->tick_minor, s->auction ? "auction" : "continuous");
    if (s->price_max_minor > 0) fprintf(out, ", \"price_cap\": %" PRId64, price_cap(s));
    uint32_t levels = sim_levels_for(sc, by_service, i, IMX_LEVELS_MAX);
    if (levels > IMX_LEVELS_DEFAULT) fprintf(out, ", \"levels\": %" PRIu32, levels);
    fputc('}', out);
  }
  fputs("],\n", out);
}

/* One cost centre: its roles from its rows, its capacities the sum of its
** provider rows' schedule lengths per service (cap[] is scratch, zero on
** entry and on return). */
static void put_cc(const sim_scenario *sc, uint32_t c, const uint32_t *rows,
                   uint32_t rows_n, int64_t *cap, int64_t budget_share,
                   const char *prefix, FILE *out) {
  const sim_cc *cc = &sc->ccs[c];
  int provider = 0, receiver = 0;
  for (uint32_t k = 0; k < rows_n; k++) {
    const sim_row *w = &sc->rows[rows[k]];
    assert(w->cc == c);
    if (w->side == SIM_PROVIDER) provider = 1, cap[w->service] += w->n;
    else receiver = 1;
  }
  fputs("  {\"id\": ", out);
  sim_json_str(out, cc->id);
  fputs(", \"name\": ", out);
  sim_json_str(out, cc->id);
  if (cc->site[0]) { /* the market file wants none rather than "" */
    fputs(", \"site\": ", out);
    sim_json_str(out, cc->site);
  }
  /* a cost centre with no row still needs a role: receiver, budget 0 */
  fprintf(out, ", \"roles\": [%s%s%s], \"budget\": %" PRId64,
          provider ? "\"provider\"" : "", provider && receiver ? ", " : "",
          receiver || !provider ? "\"receiver\"" : "",
          sim_budget_for_engine(sc, c, budget_share));
  if (provider) {
    fputs(", \"capacities\": {", out);
    int first = 1;
    for (uint32_t s = 0; s < sc->services_n; s++) {
      if (cap[s] == 0) continue;
      fputs(first ? "" : ", ", out);
      sim_json_str(out, sc->services[s].id);
      fprintf(out, ": %" PRId64, cap[s]);
      first = 0;
      cap[s] = 0;
    }
    fputc('}', out);
  }
  put_token_hash(out, prefix, cc->id);
}

/* What keeps imxd from serving the scenario, or NULL. */
static const char *market_unfit(const sim_scenario *sc, const char *prefix) {
  if (strlen(prefix) > PREFIX_BYTES_MAX) return "the token prefix is longer than 64 bytes";
  if (sc->ccs_n > MARKET_CCS_MAX) return "more than 65,535 cost centres";
  if (sc->services_n > MARKET_SERVICES_MAX) return "more than 4,096 services";
  for (uint32_t i = 0; i < sc->ccs_n; i++)
    if (strcmp(sc->ccs[i].id, ADMIN_CC) == 0)
      return "a cost centre is named SIM-ADMIN, the name of the run's admin";
  if (sim_budget_unlimited_share(sc) < 0)
    return "the budgets sum to more than 1e15 minor units, the most one market holds";
  return NULL;
}

int sim_market_file_write(const sim_scenario *sc, const char *token_prefix,
                          FILE *out) {
  assert(sc != NULL && token_prefix != NULL && out != NULL);
  if (market_unfit(sc, token_prefix) != NULL) return -1;
  int64_t share = sim_budget_unlimited_share(sc);
  assert(share >= 0 && "market_unfit checks the budgets");
  sim_groups by_cc, by_service;
  int64_t *cap = calloc((size_t)sc->services_n + 1, sizeof *cap);
  if (cap == NULL || sim_groups_build(sc, SIM_BY_CC, &by_cc) != 0) {
    free(cap);
    return -1;
  }
  if (sim_groups_build(sc, SIM_BY_SERVICE, &by_service) != 0) {
    free(cap);
    sim_groups_free(&by_cc);
    return -1;
  }
  fputs("{\"description\": \"written by imx-sim market: the token of a cost centre "
        "is the token prefix followed by its id\",\n \"currency\": ", out);
  sim_json_str(out, sc->currency);
  fputs(",\n", out);
  /* quality: providers unrated below the scenario's ratings_min, as the
  ** engine in-process (venue_engine.c) */
  if (sc->quality_on)
    fprintf(out, " \"ratings_min\": %u,\n", sc->ratings_min ? sc->ratings_min : 3u);
  put_services(sc, &by_service, out);
  fputs(" \"cost_centres\": [\n", out);
  for (uint32_t c = 0; c < sc->ccs_n; c++) {
    put_cc(sc, c, by_cc.rows + by_cc.off[c], by_cc.off[c + 1] - by_cc.off[c], cap,
           share, token_prefix, out);
    fputs(",\n", out);
  }
  fputs("  {\"id\": \"" ADMIN_CC "\", \"name\": \"imx-sim run (auctions, period "
        "closes)\", \"roles\": [\"finance\", \"admin\"], "
        "\"budget\": 0", out);
  put_token_hash(out, token_prefix, ADMIN_CC);
  fputs("]}\n", out);
  free(cap);
  sim_groups_free(&by_cc);
  sim_groups_free(&by_service);
  return ferror(out) ? -1 : 0;
}

/* imx-sim market SCENARIO [--token-prefix P] [--out FILE] */
int imx_sim_market(int argc, char **argv, FILE *out, FILE *err) {
  const char *path = NULL, *prefix = "demo-", *out_path = NULL;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--token-prefix") == 0 && i + 1 < argc) prefix = argv[++i];
    else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc) out_path = argv[++i];
    else if (argv[i][0] != '-' && path == NULL) path = argv[i];
    else path = NULL, i = argc;
  }
  if (path == NULL) {
    fprintf(err, "usage: imx-sim market SCENARIO [--token-prefix P] [--out FILE]\n");
    return 2;
  }
  sim_scenario sc;
  imx_proto_error perr = {0};
  if (sim_scenario_load(path, &sc, &perr) != 0) {
    fprintf(err, "imx-sim: %s: %s: %s (%s)\n", path, perr.field, perr.message,
            perr.code ? perr.code : "bad_field");
    return 1;
  }
  const char *unfit = market_unfit(&sc, prefix);
  FILE *f = unfit || out_path == NULL ? out : fopen(out_path, "w");
  int rc = 0;
  if (unfit) {
    fprintf(err, "imx-sim: %s: imxd cannot serve it: %s\n", path, unfit);
    rc = 1;
  } else if (f == NULL) {
    fprintf(err, "imx-sim: cannot write %s\n", out_path);
    rc = 2;
  } else {
    int failed = sim_market_file_write(&sc, prefix, f) != 0;
    if (f != out && fclose(f) != 0) failed = 1; /* closed either way */
    if (failed) {
      fprintf(err, "imx-sim: writing the market file failed\n");
      rc = 2;
    }
  }
  if (rc == 0 && out_path) {
    fprintf(err, "imx-sim: %s: %u services, %u cost centres and %s; token of "
            "cost centre X: %sX\n", out_path, sc.services_n, sc.ccs_n, ADMIN_CC, prefix);
  }
  sim_scenario_free(&sc);
  return rc;
}
