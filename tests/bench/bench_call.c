/*
** bench_call.c -- `imx-bench call`: one call auction over a deep book as a
** person meets it in imxd, end to end: the admin's `auction.run` from send
** to reply (the engine's call, the events, and the batch with its trades
** and postings committed to the durable ledger), and what the call does to
** everybody else: how long an unrelated order waits while it runs.
**
** `imx-bench auction` times the engine's call alone; this puts it in
** proportion. The baseline, in the same run, is that engine call on the
** same book: the engine alone, without budgets, events counted only.
**
** The market: an auction service "call" (tick 1, lot 1, cap 1,000,000
** minor), a continuous service "probe", PROVIDERS providers (capacity of
** both), RECEIVERS receivers (a budget no bid exhausts) and an admin. The
** book has the shape of `imx-bench auction`'s: limit prices a bell of four
** uniform draws of 2,500 ticks around 100,000, quantities 1..100,
** alternating bids (a random receiver) and offers (a random provider); no
** market or all-or-none orders, so the price and volume do not depend on
** the order in which the orders arrive, and the engine baseline must
** agree with imxd on both.
**
**   1. imxd's server starts in this process on a fresh ledger (tcp on
**      127.0.0.1, synchronous FULL unless --sync normal).
**   2. CLIENTS threads send the N orders (one REQ socket each, one order in
**      flight each): orders/s.
**   3. A probe thread sends order.new on "probe", qty 1, one at a time,
**      offers and bids at one price in turn (every other one trades), and
**      keeps each one's latency; after PROBE_BEFORE_MS the admin sends
**      auction.run; the probe goes on until PROBE_AFTER_MS after the reply.
**   4. The server stops; imx_ledger_verify must pass on the ledger, which
**      must hold as many trades as the call made and the probe's.
**
**   imx-bench call [--orders N] [--sync full|normal] [--dir DIR] [--json]
*/
#define _POSIX_C_SOURCE 200809L

#include "bench/bench.h"

#include <errno.h>
#include <inttypes.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imx_client.h"
#include "imx_engine.h"
#include "imx_ledger.h"
#include "imx_proto.h"
#include "imx_server.h"

#define fail(...) bench_fail("call", __VA_ARGS__)

enum {
  CLIENTS = 32,
  PROVIDERS = 1000,
  RECEIVERS = 1000,
  MID_TICKS = 100000,
  BELL_WIDTH_TICKS = 2500,
  QTY_MAX = 100,
  PROBE_PRICE = 50000,
  PROBE_BEFORE_MS = 300,
  PROBE_AFTER_MS = 300,
  PROBE_MAX = 1 << 20, /* latencies kept */
  LEVELS_MAX = 65536,
  CALL_PRICE_CAP = 1000000 /* "call"'s price_cap, in imxd and the baseline */
};

#define ORDERS_DEFAULT 100000u
#define ORDERS_MAX (IMX_SERVER_ORDERS_MAX_DEFAULT - 4096u)
#define SEED 42u

typedef struct call_order {
  uint32_t cc; /* provider or receiver index, by side */
  uint8_t side;
  uint32_t qty;
  int64_t price_minor;
} call_order;

/* ---- the market and the book ------------------------------------------ */

static void token_of(char *buf, size_t len, int provider, uint32_t i) {
  snprintf(buf, len, "call-%s-%u", provider ? "P" : "R", i);
}

static int market_make(imx_market *m) {
  size_t cap = 4096 + (size_t)(PROVIDERS + RECEIVERS) * 320, n = 0;
  char *json = malloc(cap);
  if (json == NULL) return fail("out of memory");
  char token[64], hash[65];
  n += (size_t)snprintf(
      json + n, cap - n,
      "{\"currency\":\"EUR\",\"services\":["
      "{\"id\":\"call\",\"unit\":\"hour\",\"tick\":1,\"lot\":1,\"divisible\":true,"
      "\"mode\":\"auction\",\"price_cap\":%d,\"levels\":%d},"
      "{\"id\":\"probe\",\"unit\":\"hour\",\"tick\":1,\"lot\":1,\"divisible\":true,"
      "\"mode\":\"continuous\",\"price_cap\":1000000}],\"cost_centres\":[",
      CALL_PRICE_CAP, LEVELS_MAX);
  snprintf(token, sizeof token, "call-admin");
  imx_sha256_hex(token, strlen(token), hash);
  n += (size_t)snprintf(json + n, cap - n,
                        "{\"id\":\"ADMIN\",\"name\":\"admin\",\"site\":\"x\","
                        "\"roles\":[\"admin\"],\"budget\":0,\"token_hash\":\"%s\"}",
                        hash);
  for (int provider = 1; provider >= 0; provider--)
    for (uint32_t i = 0; i < (provider ? PROVIDERS : RECEIVERS); i++) {
      token_of(token, sizeof token, provider, i);
      imx_sha256_hex(token, strlen(token), hash);
      n += (size_t)snprintf(
          json + n, cap - n,
          ",{\"id\":\"%s-%u\",\"name\":\"cc %u\",\"site\":\"x\",\"roles\":[\"%s\"],"
          "\"budget\":%s,\"token_hash\":\"%s\"%s}",
          provider ? "P" : "R", i, i, provider ? "provider" : "receiver",
          provider ? "0" : "100000000000", hash,
          provider ? ",\"capacities\":{\"call\":1000000000,\"probe\":1000000000}" : "");
    }
  n += (size_t)snprintf(json + n, cap - n, "]}");
  if (n >= cap) {
    free(json);
    return fail("the market file outgrew its buffer");
  }
  imx_proto_error err = {0};
  int rc = imx_market_parse(json, n, m, &err);
  free(json);
  if (rc != 0) return fail("the market: %s %s", err.field, err.message);
  return BENCH_EXIT_OK;
}

static int64_t bell(bench_rng *r) {
  int64_t s = 0;
  for (int k = 0; k < 4; k++) s += bench_rng_below(r, BELL_WIDTH_TICKS);
  return MID_TICKS + s - 2 * BELL_WIDTH_TICKS;
}

static call_order *book_make(uint32_t n) {
  call_order *b = calloc(n, sizeof *b);
  if (b == NULL) return NULL;
  bench_rng rng = {SEED};
  for (uint32_t i = 0; i < n; i++) {
    uint8_t side = (uint8_t)(i & 1u); /* IMX_BID 0, IMX_OFFER 1 */
    b[i].side = side;
    b[i].cc = bench_rng_below(&rng, side == IMX_OFFER ? PROVIDERS : RECEIVERS);
    b[i].qty = 1 + bench_rng_below(&rng, QTY_MAX);
    b[i].price_minor = bell(&rng);
  }
  return b;
}

/* ---- requests ----------------------------------------------------------- */

static int dial(const char *url, nng_socket *s, char *error, size_t cap) {
  int rv = nng_req0_open(s);
  if (rv == 0) rv = nng_dial(*s, url, NULL, 0);
  if (rv == 0) rv = nng_socket_set_ms(*s, NNG_OPT_RECVTIMEO, 120000);
  if (rv != 0) snprintf(error, cap, "dial %s: %s", url, nng_strerror(rv));
  return rv;
}

/* Sends req and waits for the reply, which must contain `ok`. */
static int request(nng_socket s, const char *req, size_t n, const char *ok, char *error,
                   size_t ecap) {
  char *reply = NULL;
  size_t len = 0;
  int rv = nng_send(s, (void *)req, n, 0);
  if (rv == 0) rv = nng_recv(s, &reply, &len, NNG_FLAG_ALLOC);
  if (rv != 0) {
    snprintf(error, ecap, "request: %s", nng_strerror(rv));
    return -1;
  }
  int good = bench_has(reply, len, ok);
  if (!good) snprintf(error, ecap, "refused: %.*s", (int)(len < 300 ? len : 300), reply);
  nng_free(reply, len);
  return good ? 0 : -1;
}

/* ---- the loading clients -------------------------------------------------- */

typedef struct loader {
  pthread_t thread;
  const char *url;
  const call_order *book;
  uint32_t n, index;
  char error[400];
} loader;

static void *loader_main(void *arg) {
  loader *c = arg;
  nng_socket s;
  if (dial(c->url, &s, c->error, sizeof c->error) != 0) return NULL;
  char req[512];
  for (uint32_t i = c->index; i < c->n; i += CLIENTS) {
    const call_order *o = &c->book[i];
    char token[64];
    token_of(token, sizeof token, o->side == IMX_OFFER, o->cc);
    int k = snprintf(req, sizeof req,
                     "{\"v\":1,\"type\":\"order.new\",\"id\":\"l%u\",\"token\":\"%s\","
                     "\"service\":\"call\",\"side\":\"%s\",\"qty\":%u,\"price\":%" PRId64 "}",
                     i, token, o->side == IMX_OFFER ? "offer" : "bid", o->qty, o->price_minor);
    if (request(s, req, (size_t)k, "order.new.ok", c->error, sizeof c->error) != 0)
      break;
  }
  nng_close(s);
  return NULL;
}

static int load(const char *url, const call_order *book, uint32_t n) {
  static loader cl[CLIENTS];
  int rc = BENCH_EXIT_OK;
  uint32_t started = 0;
  for (; started < CLIENTS; started++) {
    cl[started] = (loader){.url = url, .book = book, .n = n, .index = started};
    if (pthread_create(&cl[started].thread, NULL, loader_main, &cl[started]) != 0) {
      rc = fail("cannot start a client");
      break;
    }
  }
  for (uint32_t i = 0; i < started; i++) {
    pthread_join(cl[i].thread, NULL);
    if (cl[i].error[0] && rc == BENCH_EXIT_OK) rc = fail("client %u: %s", i, cl[i].error);
  }
  return rc;
}

/* ---- the probe ------------------------------------------------------------ */

typedef struct probe {
  pthread_t thread;
  const char *url;
  int64_t *sent_ns, *latency_ns; /* PROBE_MAX each */
  uint32_t n;
  uint64_t trades; /* the probe's own: every bid meets the offer before it */
  int stop;        /* __atomic */
  char error[400];
} probe;

static void *probe_main(void *arg) {
  probe *p = arg;
  nng_socket s;
  if (dial(p->url, &s, p->error, sizeof p->error) != 0) return NULL;
  char req[512];
  while (!__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE) && p->n < PROBE_MAX) {
    int offer = (p->n & 1u) == 0;
    char token[64];
    token_of(token, sizeof token, offer, 0);
    int k = snprintf(req, sizeof req,
                     "{\"v\":1,\"type\":\"order.new\",\"id\":\"p%u\",\"token\":\"%s\","
                     "\"service\":\"probe\",\"side\":\"%s\",\"qty\":1,\"price\":%d}",
                     p->n, token, offer ? "offer" : "bid", PROBE_PRICE);
    int64_t t0 = bench_now_ns();
    if (request(s, req, (size_t)k, "order.new.ok", p->error, sizeof p->error) != 0)
      break;
    p->sent_ns[p->n] = t0;
    p->latency_ns[p->n] = bench_elapsed_since(t0);
    p->trades += !offer;
    p->n++;
  }
  nng_close(s);
  return NULL;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* ---- the engine alone: the baseline -------------------------------------- */

static void count_trades(void *ctx, const imx_event *ev) {
  if (ev->type == IMX_EV_TRADE) (*(uint64_t *)ctx)++;
}

typedef struct engine_call {
  int64_t call_ns, price_minor, volume;
  uint64_t trades;
} engine_call;

static int engine_alone(const call_order *book, uint32_t n, engine_call *r) {
  memset(r, 0, sizeof *r);
  imx_engine_config cfg = {.orders_max = n + 1024,
                           .services_max = 1,
                           .on_event = count_trades,
                           .ctx = &r->trades,
                           .positions_max = PROVIDERS + RECEIVERS};
  imx_engine *e = NULL;
  imx_status st = imx_engine_create(&cfg, &e);
  if (st != IMX_OK) return fail("imx_engine_create: %s", imx_status_name(st));
  /* imxd's service as market_make writes it: with its price_cap, whose grid
  ** (1,000,001 prices) is within 16 per level, the book is a tick map, as
  ** in imxd; without it, a tree (as in imx-bench auction), another engine. */
  imx_service_config sc = {.tick_minor = 1, .lot = 1, .divisible = 1,
                           .levels_max = LEVELS_MAX, .mode = IMX_MODE_AUCTION,
                           .price_cap_minor = CALL_PRICE_CAP};
  uint32_t id = 0;
  st = imx_engine_service_add(e, &sc, &id);
  for (uint32_t i = 0; i < n && st == IMX_OK; i++) {
    const call_order *o = &book[i];
    /* cost centres as imxd numbers them does not matter; sides apart */
    uint32_t cc = o->side == IMX_OFFER ? o->cc : PROVIDERS + o->cc;
    imx_order_new on = {0, cc, (imx_side)o->side, IMX_TIF_GTC, 0, (int64_t)o->qty,
                        o->price_minor, 0, 0};
    st = imx_engine_order_new(e, &on, NULL);
  }
  imx_auction_result res;
  int64_t t0 = bench_now_ns();
  if (st == IMX_OK) st = imx_engine_auction_run(e, 0, MID_TICKS, &res);
  r->call_ns = bench_elapsed_since(t0);
  imx_engine_destroy(e);
  if (st != IMX_OK) return fail("the engine alone: %s", imx_status_name(st));
  r->price_minor = res.price_minor;
  r->volume = res.volume;
  return BENCH_EXIT_OK;
}

/* ---- the run ------------------------------------------------------------- */

typedef struct call_result {
  int64_t load_ns, call_ns, price_minor, volume;
  uint64_t call_trades, ledger_trades, ledger_bytes;
  uint32_t probes_before, probes_during;
  int64_t probe_p50_before_ns, probe_max_during_ns, probe_max_after_ns;
  uint64_t probe_trades;
} call_result;

static uint64_t file_bytes(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void remove_ledger(const char *db) {
  const char *ext[] = {"", "-wal", "-shm", "-lock", ".snapshot"};
  char path[4400];
  for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
    snprintf(path, sizeof path, "%s%s", db, ext[i]);
    unlink(path);
  }
}

static int probe_summary(const probe *p, int64_t call_t0, int64_t call_t1, call_result *r) {
  int64_t *before = malloc(sizeof(int64_t) * (p->n + 1u));
  if (before == NULL) return fail("out of memory");
  uint32_t nb = 0;
  for (uint32_t i = 0; i < p->n; i++) {
    int64_t sent = p->sent_ns[i], done = sent + p->latency_ns[i];
    if (done <= call_t0) before[nb++] = p->latency_ns[i];
    else if (sent < call_t1) { /* waited while the call ran */
      r->probes_during++;
      if (p->latency_ns[i] > r->probe_max_during_ns) r->probe_max_during_ns = p->latency_ns[i];
    } else if (p->latency_ns[i] > r->probe_max_after_ns)
      r->probe_max_after_ns = p->latency_ns[i];
  }
  r->probes_before = nb;
  qsort(before, nb, sizeof *before, cmp_i64);
  r->probe_p50_before_ns = nb ? before[nb / 2] : 0;
  free(before);
  r->probe_trades = p->trades;
  if (nb == 0) return fail("the probe got no reply before the call");
  if (r->probes_during == 0) return fail("the probe sent nothing while the call ran");
  return BENCH_EXIT_OK;
}

static int run(const imx_market *m, const char *db, int sync_full,
               const call_order *book, uint32_t n, call_result *r) {
  imx_server_config cfg = {.market = m,
                           .listen_url = "tcp://127.0.0.1:0",
                           .publish_url = "tcp://127.0.0.1:0",
                           .workers = 64,
                           .rate_per_s = 1e9,
                           .rate_burst = 1e9,
                           .recv_max_bytes = 2 * IMX_MSG_BYTES_MAX,
                           .orders_max = IMX_SERVER_ORDERS_MAX_DEFAULT,
                           .orders_per_cc_max = IMX_SERVER_ORDERS_MAX_DEFAULT,
                           .db_path = db,
                           .sync_full = sync_full};
  imx_server *s = NULL;
  if (imx_server_start(&cfg, &s) != 0) {
    imx_server_stop(s);
    return fail("imx_server_start failed (see the log above)");
  }
  const char *url = imx_server_listen_url(s);
  int64_t t0 = bench_now_ns();
  int rc = load(url, book, n);
  r->load_ns = bench_elapsed_since(t0);

  static probe p;
  memset(&p, 0, sizeof p);
  p.url = url;
  p.sent_ns = malloc(sizeof(int64_t) * PROBE_MAX);
  p.latency_ns = malloc(sizeof(int64_t) * PROBE_MAX);
  int probing = 0;
  if (rc == BENCH_EXIT_OK && (p.sent_ns == NULL || p.latency_ns == NULL))
    rc = fail("out of memory");
  if (rc == BENCH_EXIT_OK) {
    if (pthread_create(&p.thread, NULL, probe_main, &p) != 0) rc = fail("cannot start the probe");
    else probing = 1;
  }
  int64_t call_t0 = 0, call_t1 = 0;
  if (rc == BENCH_EXIT_OK) {
    sleep_ms(PROBE_BEFORE_MS);
    /* the admin's call through the client library, as `imx auction run`
    ** sends it (and waits as long for it: IMX_CLIENT_CALL_TIMEOUT_MS) */
    imx_client *admin = NULL;
    char error[400] = "";
    if (imx_client_open(url, NULL, 10000, &admin, error, sizeof error) != 0)
      rc = fail("admin: %s", error);
    else {
      imx_request rq;
      memset(&rq, 0, sizeof rq);
      rq.type = IMX_MSG_AUCTION_RUN;
      snprintf(rq.id, sizeof rq.id, "call-1");
      snprintf(rq.token, sizeof rq.token, "call-admin");
      snprintf(rq.service, sizeof rq.service, "call");
      imx_reply reply;
      memset(&reply, 0, sizeof reply);
      call_t0 = bench_now_ns();
      int got = imx_client_call(admin, &rq, &reply, error, sizeof error);
      call_t1 = bench_now_ns();
      r->call_ns = call_t1 - call_t0;
      if (got != 0) rc = fail("auction.run: %s", error);
      else if (reply.error) rc = fail("auction.run: %s %s: %s", reply.code, reply.field, reply.message);
      else if (reply.price_minor == 0) rc = fail("auction.run.ok without a price");
      else {
        r->price_minor = reply.price_minor;
        r->volume = reply.volume;
      }
      if (got == 0) imx_reply_free(&reply);
    }
    imx_client_close(admin);
    sleep_ms(PROBE_AFTER_MS);
  }
  if (probing) {
    __atomic_store_n(&p.stop, 1, __ATOMIC_RELEASE);
    pthread_join(p.thread, NULL);
    if (p.error[0] && rc == BENCH_EXIT_OK) rc = fail("the probe: %s", p.error);
  }
  if (rc == BENCH_EXIT_OK) rc = probe_summary(&p, call_t0, call_t1, r);
  free(p.sent_ns);
  free(p.latency_ns);
  if (imx_server_stop(s) != 0 && rc == BENCH_EXIT_OK)
    rc = fail("imx_server_stop: nng did not close in time");
  return rc;
}

/* The ledger after the stop: it must verify (every posting balanced, the
** chain whole) and hold the call's trades, every one at the price, adding
** up to the volume, and the probe's. */
typedef struct ledger_tally {
  int64_t price_minor;
  uint64_t call_trades, probe_trades, off_price;
  int64_t call_qty;
} ledger_tally;

static int tally_trade(void *ctx, const imx_ledger_trade *t) {
  ledger_tally *y = ctx;
  if (strcmp(t->service, "call") == 0) {
    y->call_trades++;
    y->call_qty += t->qty;
    y->off_price += t->price_minor != y->price_minor;
  } else y->probe_trades++;
  return 0;
}

static int ledger_check(const char *db, call_result *r) {
  imx_ledger *l = NULL;
  char err[256] = "";
  if (imx_ledger_open_existing(db, &l, err, sizeof err) != 0)
    return fail("the ledger: %s", err);
  char failed[512] = "";
  int rc = BENCH_EXIT_OK;
  if (imx_ledger_verify(l, failed, sizeof failed) != 0)
    rc = fail("imx_ledger_verify: %s", failed);
  ledger_tally y = {.price_minor = r->price_minor};
  if (rc == BENCH_EXIT_OK && imx_ledger_trades_each(l, 0, tally_trade, &y) != 0)
    rc = fail("the ledger's trades cannot be read");
  imx_ledger_close(l);
  if (rc == BENCH_EXIT_OK &&
      (y.call_trades == 0 || y.call_qty != r->volume || y.off_price != 0 ||
       y.probe_trades != r->probe_trades))
    rc = fail("the ledger holds %" PRIu64 " trades of the call (%" PRId64 " units, %" PRIu64
              " off the price) and %" PRIu64 " of the probe; expected %" PRId64
              " units, all at %" PRId64 ", and %" PRIu64,
              y.call_trades, y.call_qty, y.off_price, y.probe_trades, r->volume,
              r->price_minor, r->probe_trades);
  r->call_trades = y.call_trades;
  r->ledger_trades = y.call_trades + y.probe_trades;
  r->ledger_bytes = file_bytes(db);
  return rc;
}

int bench_call_main(int argc, char **argv) {
  uint64_t n = ORDERS_DEFAULT;
  const char *dir_opt = NULL;
  int json = 0, sync_full = 1, rc = BENCH_EXIT_OK;
  for (int i = 1; i < argc && rc == BENCH_EXIT_OK; i++) {
    if (strcmp(argv[i], "--json") == 0) json = 1;
    else if (strcmp(argv[i], "--orders") == 0)
      rc = bench_opt_u64(argc, argv, &i, 1000, ORDERS_MAX, &n);
    else if (strcmp(argv[i], "--sync") == 0 && i + 1 < argc) {
      const char *v = argv[++i];
      if (strcmp(v, "full") == 0) sync_full = 1;
      else if (strcmp(v, "normal") == 0) sync_full = 0;
      else rc = bench_usage_error("call: --sync takes full or normal, not '%s'", v);
    } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) dir_opt = argv[++i];
    else rc = bench_usage_error("call: unknown option '%s'", argv[i]);
  }
  if (rc != BENCH_EXIT_OK) return rc;
  char dir[4096], db[4200];
  if (dir_opt) snprintf(dir, sizeof dir, "%s", dir_opt);
  else {
    snprintf(dir, sizeof dir, "/tmp/imx-bench-call-XXXXXX");
    if (mkdtemp(dir) == NULL) return fail("mkdtemp: %s", strerror(errno));
  }
  snprintf(db, sizeof db, "%s/call.db", dir);
  remove_ledger(db);
  call_order *book = book_make((uint32_t)n);
  if (book == NULL) return fail("out of memory for the book");
  imx_market m;
  memset(&m, 0, sizeof m);
  rc = market_make(&m);
  engine_call alone;
  call_result r;
  memset(&r, 0, sizeof r);
  if (rc == BENCH_EXIT_OK) rc = engine_alone(book, (uint32_t)n, &alone);
  if (rc == BENCH_EXIT_OK) rc = run(&m, db, sync_full, book, (uint32_t)n, &r);
  if (rc == BENCH_EXIT_OK && (r.price_minor != alone.price_minor || r.volume != alone.volume))
    rc = fail("imxd's call cleared %" PRId64 " units at %" PRId64
              ", the engine alone %" PRId64 " at %" PRId64,
              r.volume, r.price_minor, alone.volume, alone.price_minor);
  /* The number of trades depends on the time order within the marginal
  ** levels, which differs; the units and the price do not. */
  if (rc == BENCH_EXIT_OK) rc = ledger_check(db, &r);
  if (rc == BENCH_EXIT_OK) {
    bench_out out;
    char g[32], note[200];
    bench_out_begin(&out, json, "call");
    snprintf(note, sizeof note, "%s orders in an auction book, a call through imxd (sync %s)",
             bench_grouped(g, sizeof g, (int64_t)n), sync_full ? "full" : "normal");
    bench_out_section(&out, note);
    bench_out_f64(&out, "load_orders_per_s", "orders sent, acknowledged",
                  bench_per_s(n, r.load_ns), 0, "orders/s", "32 clients, one in flight each");
    bench_out_f64(&out, "engine_call_ms", "call, the engine alone (baseline)",
                  (double)alone.call_ns / 1e6, 3, "ms", "same book, no budgets, no I/O");
    bench_out_f64(&out, "imxd_call_ms", "call through imxd, send to reply",
                  (double)r.call_ns / 1e6, 1, "ms", "auction.run: engine, events, ledger commit");
    bench_out_f64(&out, "imxd_over_engine_x", "imxd / the engine alone",
                  (double)r.call_ns / (double)(alone.call_ns ? alone.call_ns : 1), 1, "x", NULL);
    snprintf(note, sizeof note, "%s units at %" PRId64 " minor, as the engine alone",
             bench_grouped(g, sizeof g, r.volume), r.price_minor);
    bench_out_u64(&out, "trades", "trades of the call", r.call_trades, NULL, note);
    bench_out_u64(&out, "engine_trades", "trades of the engine alone", alone.trades, NULL,
                  "pairs differ with the order of arrival");
    bench_out_f64(&out, "trades_per_s", "trades through imxd", bench_per_s(r.call_trades, r.call_ns),
                  0, "trades/s", NULL);
    bench_out_u64(&out, "ledger_trades", "trades in the ledger", r.ledger_trades, NULL,
                  "the call's and the probe's; imx_ledger_verify passed");
    bench_out_bytes(&out, "ledger_bytes", "ledger file", r.ledger_bytes, NULL);
    bench_out_section(&out, "an unrelated order while the call runs (order.new on another service)");
    bench_out_f64(&out, "probe_p50_before_us", "latency before the call, p50",
                  (double)r.probe_p50_before_ns / 1e3, 0, "us", NULL);
    snprintf(note, sizeof note, "%u orders sent while it ran", r.probes_during);
    bench_out_f64(&out, "probe_max_during_ms", "latency while the call runs, max",
                  (double)r.probe_max_during_ns / 1e6, 1, "ms", note);
    bench_out_f64(&out, "probe_max_after_ms", "latency after the reply, max",
                  (double)r.probe_max_after_ns / 1e6, 1, "ms", NULL);
    bench_out_end(&out);
  }
  free(book);
  imx_market_free(&m);
  if (dir_opt == NULL) {
    remove_ledger(db);
    rmdir(dir);
  }
  return rc;
}
