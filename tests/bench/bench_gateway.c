/*
** bench_gateway.c -- `imx-bench gateway`: order.new through the gateway
** (gateway/server.c, started in this process with imx_server_start) over
** tcp on 127.0.0.1: acknowledged orders per second and the latency of each
** request, from send to reply.
**
** The market is built in memory: one continuous service (tick 1, lot 1,
** price_cap 1,000,000) and 64 cost centres, the first half providers with a
** capacity of 1e9 units, the second half receivers with a budget of 1e15 / 32,
** each with the token "bench-<i>" (its token_hash the SHA-256 of it). The
** server gets 256 workers, a rate limit of 1e9 requests/s (never reached)
** and room for 1 M open orders, far more than can rest: see below.
**
** The clients: N threads (default 4), each with one REQ socket and K
** requests in flight (default 32), each an nng_ctx on that socket with its
** own nng_aio. The aio callbacks (nng's threads) drive the requests; the
** client thread starts its contexts and then waits (closed loop) or is the
** clock that paces them (paced). A request is order.new, qty 1, gtc, with
** the token of the context's cost centre in it (no hello); each context
** alternates a bid at 1,010 (a receiver's token) and an offer at 990 (a
** provider's), so every order crosses whatever rests on the other side:
** about half the orders trade on arrival and at most one order per context
** rests. The requests are encoded before any clock starts, two per context
** (bid and offer); a send only writes the id's ten-digit sequence into the
** template and copies it into an nng_msg. Ids are unique over the run, so
** the gateway's idempotency cache never answers one from memory.
**
** Every reply is checked: "order.new.ok" with the request's id (a prefix
** compare), an error reply or anything else counts as an error; more than
** 0.1 % errors (replies that were not order.new.ok, or requests that got no
** reply within 10 s) exit 1 after the report. Latencies go into arrays
** allocated and faulted in before the clock starts.
**
** Measurements, one run, in this order:
**   echo    the baseline: an nng REP socket with as many ctx/aio workers as
**           the gateway, each echoing the request back from its aio
**           callback, driven by the same client code with the same
**           requests: what nng, tcp and the harness cost on this machine
**   gateway closed loop: every context sends its next order as soon as the
**           reply arrives, for S seconds (default 5) or N orders in all
**   paced   the gateway at half the closed-loop throughput: each context
**           sends at fixed intervals (staggered across contexts); a reply
**           that comes after the next send was due makes that send late
**           (counted). Then the echo server at the same rate, the baseline
**           for that latency.
** Targets: >= 100 k orders/s, and p99 < 2 ms at half that load. All of it
** (gateway, echo server and clients) shares this process and its cores, so
** the figures are a floor for a daemon with the machine to itself; the
** process's CPU time per measurement says how busy the cores were.
*/
#define _POSIX_C_SOURCE 200809L

#include "bench/bench.h"
#include "imx_server.h"
#include "imx_proto.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>

#define fail(...) bench_fail("gateway", __VA_ARGS__)

#define CLIENTS_DEFAULT 4u
#define INFLIGHT_DEFAULT 32u
#define SECONDS_DEFAULT 5u

#define CCS BENCH_MARKET_CCS        /* 0..31 providers, 32..63 receivers */
#define CAPACITY_UNITS 1000000000LL /* IMX_QTY_MAX: never runs out        */
#define BUDGET_MINOR (IMX_BUDGETS_TOTAL_MAX_MINOR / (CCS / 2)) /* never runs out */
#define PRICE_CAP_MINOR 1000000
#define BID_MINOR 1010
#define OFFER_MINOR 990
#define SERVICE_ID BENCH_MARKET_SERVICE

#define WORKERS 256u
#define RATE_PER_S 1e9
#define ORDERS_MAX (1u << 20)
#define ORDERS_PER_CC_MAX (1u << 26)
#define RECV_MAX_BYTES (1u << 20)
#define TIMEOUT_MS 10000 /* per send and per reply */

#define SEQ_DIGITS 10
#define TPL_BYTES 512
#define SAMPLES_PER_S 1000000u /* latency slots per second of a run, all clients */
#define BUSY_POLL_NS 20000     /* paced: re-look at a late context after this */
#define LATE_NS 1000000        /* paced: a send this far behind is late */
#define ERRORS_PER_MILLION_MAX 1000u /* 0.1 % */

#define TARGET_ORDERS_PER_S 100000.0
#define TARGET_P99_US 2000.0

/* ---- options ------------------------------------------------------------- */

typedef struct gw_opts {
  uint32_t clients, inflight;
  uint64_t seconds; /* 0: no time limit (--orders alone) */
  uint64_t orders;  /* 0: no count limit */
  int json;
} gw_opts;

/* --db PATH puts the durable ledger under the gateway (--sync as imxd's). */
static const char *db_path;
static int sync_full = 1;

static int parse_opts(int argc, char **argv, gw_opts *o) {
  uint64_t clients = CLIENTS_DEFAULT, inflight = INFLIGHT_DEFAULT;
  uint64_t seconds = 0;
  int rc = BENCH_EXIT_OK;
  *o = (gw_opts){0, 0, 0, 0, 0};
  for (int i = 1; i < argc && rc == BENCH_EXIT_OK; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--json") == 0)
      o->json = 1;
    else if (strcmp(a, "--clients") == 0)
      rc = bench_opt_u64(argc, argv, &i, 1, 64, &clients);
    else if (strcmp(a, "--inflight") == 0)
      rc = bench_opt_u64(argc, argv, &i, 1, 1024, &inflight);
    else if (strcmp(a, "--seconds") == 0)
      rc = bench_opt_u64(argc, argv, &i, 1, 3600, &seconds);
    else if (strcmp(a, "--orders") == 0)
      rc = bench_opt_u64(argc, argv, &i, 1, 50000000, &o->orders);
    else if (strcmp(a, "--db") == 0 && i + 1 < argc)
      db_path = argv[++i];
    else if (strcmp(a, "--sync") == 0 && i + 1 < argc)
      sync_full = strcmp(argv[++i], "normal") != 0;
    else
      rc = bench_usage_error("gateway: unknown option '%s'", a);
  }
  if (rc != BENCH_EXIT_OK) return rc;
  o->clients = (uint32_t)clients;
  o->inflight = (uint32_t)inflight;
  /* --orders alone runs until that many; the default is 5 seconds. */
  o->seconds = seconds ? seconds : o->orders ? 0 : SECONDS_DEFAULT;
  return BENCH_EXIT_OK;
}

static int fail_nng(const char *what, int rv) {
  return fail("%s: %s", what, nng_strerror(rv));
}

static double cpu_s(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

/* ---- the market ---------------------------------------------------------- */

static void token_of(char *buf, size_t len, uint32_t cc) {
  snprintf(buf, len, "bench-%u", cc);
}

/* Freed with imx_market_free: the same allocations imx_market_parse makes.
** bench_http.c trades on it too (bench.h). */
int bench_gateway_market(imx_market *m) {
  memset(m, 0, sizeof *m);
  m->services = calloc(1, sizeof *m->services);
  m->ccs = calloc(CCS, sizeof *m->ccs);
  if (m->services == NULL || m->ccs == NULL)
    return fail("out of memory for the market");
  memcpy(m->currency, "EUR", 4);
  m->decimals = 2;
  imx_market_service *s = &m->services[0];
  snprintf(s->id, sizeof s->id, "%s", SERVICE_ID);
  snprintf(s->unit, sizeof s->unit, "hour");
  memcpy(s->currency, "EUR", 4);
  s->tick_minor = 1;
  s->lot = 1;
  s->price_cap_minor = PRICE_CAP_MINOR;
  s->divisible = 1;
  s->auction = 0;
  m->services_n = 1;
  for (uint32_t i = 0; i < CCS; i++) {
    imx_market_cc *c = &m->ccs[i];
    int provider = i < CCS / 2;
    char token[32];
    snprintf(c->id, sizeof c->id, "CC-%u", i);
    snprintf(c->name, sizeof c->name, "bench %s %u",
             provider ? "provider" : "receiver", i);
    snprintf(c->site, sizeof c->site, "bench");
    c->roles = provider ? IMX_ROLE_PROVIDER : IMX_ROLE_RECEIVER;
    c->budget_minor = provider ? 0 : BUDGET_MINOR;
    if (provider) {
      c->capacities = calloc(1, sizeof *c->capacities);
      if (c->capacities == NULL) {
        m->ccs_n = i;
        return fail("out of memory for the market");
      }
      c->capacities[0] = (imx_market_capacity){0, CAPACITY_UNITS};
      c->capacities_n = 1;
    }
    token_of(token, sizeof token, i);
    imx_sha256_hex(token, strlen(token), c->token_hash);
    m->ccs_n = i + 1;
  }
  return BENCH_EXIT_OK;
}

static int gateway_start(const imx_market *m, imx_server **out) {
  imx_server_config cfg = {.market = m,
                           .listen_url = "tcp://127.0.0.1:0",
                           .publish_url = "tcp://127.0.0.1:0",
                           .workers = WORKERS,
                           .rate_per_s = RATE_PER_S,
                           .rate_burst = RATE_PER_S,
                           .recv_max_bytes = RECV_MAX_BYTES,
                           .orders_max = ORDERS_MAX,
                           .orders_per_cc_max = ORDERS_PER_CC_MAX,
                           .db_path = db_path,
                           .sync_full = sync_full};
  if (db_path) unlink(db_path); /* a fresh ledger each run */
  if (imx_server_start(&cfg, out) != 0)
    return fail("imx_server_start failed (see the log above)");
  return BENCH_EXIT_OK;
}

/* ---- the baseline: an echo server ---------------------------------------- */

/* The shape of server.c's workers: ctx + aio cycling RECV -> SEND, the
** reply being the request itself, sent from the callback. */
typedef struct echo_worker {
  nng_aio *aio;
  nng_ctx ctx;
  int sending;
} echo_worker;

typedef struct echo_server {
  nng_socket sock;
  int sock_open;
  echo_worker *w;
  uint32_t n;
  char url[64];
} echo_server;

static void echo_cb(void *arg) {
  echo_worker *w = arg;
  int rv = nng_aio_result(w->aio);
  if (w->sending) {
    if (rv != 0) nng_msg_free(nng_aio_get_msg(w->aio));
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
    w->sending = 0;
    nng_ctx_recv(w->ctx, w->aio);
    return;
  }
  if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
  if (rv != 0) {
    nng_ctx_recv(w->ctx, w->aio);
    return;
  }
  nng_msg *m = nng_aio_get_msg(w->aio);
  nng_aio_set_msg(w->aio, m);
  w->sending = 1;
  nng_ctx_send(w->ctx, w->aio);
}

static void echo_stop(echo_server *e) {
  for (uint32_t i = 0; i < e->n; i++) nng_aio_stop(e->w[i].aio);
  for (uint32_t i = 0; i < e->n; i++) {
    nng_ctx_close(e->w[i].ctx);
    nng_aio_free(e->w[i].aio);
  }
  if (e->sock_open) nng_close(e->sock);
  free(e->w);
  memset(e, 0, sizeof *e);
}

static int echo_start(echo_server *e, uint32_t workers) {
  memset(e, 0, sizeof *e);
  nng_listener l;
  int rv, port = 0;
  if ((rv = nng_rep0_open(&e->sock)) != 0) return fail_nng("echo: rep socket", rv);
  e->sock_open = 1;
  nng_socket_set_size(e->sock, NNG_OPT_RECVMAXSZ, RECV_MAX_BYTES);
  if ((rv = nng_listen(e->sock, "tcp://127.0.0.1:0", &l, 0)) != 0 ||
      (rv = nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port)) != 0)
    return fail_nng("echo: listen on tcp://127.0.0.1:0", rv);
  snprintf(e->url, sizeof e->url, "tcp://127.0.0.1:%d", port);
  e->w = calloc(workers, sizeof *e->w);
  if (e->w == NULL) return fail("echo: out of memory");
  for (uint32_t i = 0; i < workers; i++) {
    echo_worker *w = &e->w[i];
    if ((rv = nng_aio_alloc(&w->aio, echo_cb, w)) != 0) return fail_nng("echo: aio", rv);
    if ((rv = nng_ctx_open(&w->ctx, e->sock)) != 0) {
      nng_aio_free(w->aio);
      return fail_nng("echo: ctx", rv);
    }
    e->n++;
  }
  for (uint32_t i = 0; i < e->n; i++) nng_ctx_recv(e->w[i].ctx, e->w[i].aio);
  return BENCH_EXIT_OK;
}

/* ---- the clients --------------------------------------------------------- */

/* One encoded request; its id ends in SEQ_DIGITS digits written per send. */
typedef struct gw_tpl {
  char buf[TPL_BYTES];
  size_t len;
  size_t id_off, id_len; /* the id's bytes, without the quotes */
  size_t seq_off;
} gw_tpl;

struct gw_client;

typedef struct gw_ctx {
  struct gw_client *cl;
  nng_ctx ctx;
  nng_aio *aio;
  int sending; /* the aio's operation: 1 send, 0 receive */
  int dead;    /* a send or receive failed: the context is out */
  uint64_t seq;
  const gw_tpl *sent;
  int64_t t0_ns;
  int64_t last_ns; /* the latest reply */
  int64_t due_ns;  /* paced: the next send is due */
  atomic_int busy; /* paced: a request is out */
  gw_tpl tpl[2];   /* bid, offer */
} gw_ctx;

typedef struct gw_run gw_run;

typedef struct gw_client {
  gw_run *run;
  uint32_t index;
  nng_socket sock;
  int sock_open;
  gw_ctx *ctxs;
  uint32_t ctxs_n;
  pthread_t thread;
  int thread_started;
  atomic_uint_fast64_t sent, ok, errors, failed, filled, reply_bytes;
  atomic_int active; /* closed loop: contexts still sending */
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint64_t late;       /* paced: sends LATE_NS or more behind schedule */
  int64_t late_max_ns; /* paced: the worst */
} gw_client;

struct gw_run {
  const char *url;
  int echo;  /* the reply must be the request itself */
  int paced;
  char phase; /* in every id: ids are unique over the whole run */
  uint32_t clients, inflight;
  int64_t start_ns, stop_ns; /* no send at or after stop_ns */
  uint64_t issue_max;        /* --orders, and never more than lat_cap */
  atomic_uint_fast64_t issued;
  int64_t interval_ns; /* paced: between two sends of one context */
  gw_client *cl;
  uint32_t *lat_ns; /* one per acknowledged request */
  size_t lat_cap;
  atomic_size_t lat_n;
  atomic_flag error_taken;
  char first_error[200];
};

static void put_seq(char *p, uint64_t v) {
  for (int i = SEQ_DIGITS - 1; i >= 0; i--, v /= 10) p[i] = (char)('0' + v % 10);
}

static int tpl_make(gw_tpl *t, char phase, uint32_t client, uint32_t k,
                    uint32_t cc, int bid) {
  imx_request rq;
  memset(&rq, 0, sizeof rq);
  rq.type = IMX_MSG_ORDER_NEW;
  snprintf(rq.id, sizeof rq.id, "bench-%c-%u-%u-%0*u", phase, client, k,
           SEQ_DIGITS, 0u);
  token_of(rq.token, sizeof rq.token, cc);
  snprintf(rq.service, sizeof rq.service, "%s", SERVICE_ID);
  rq.side = bid ? IMX_PSIDE_BID : IMX_PSIDE_OFFER;
  rq.tif = IMX_PTIF_GTC;
  rq.has_price = 1;
  rq.qty = 1;
  rq.price_minor = bid ? BID_MINOR : OFFER_MINOR;
  t->len = imx_request_encode(&rq, t->buf, sizeof t->buf);
  if (t->len == 0) return fail("a request does not fit %d bytes", TPL_BYTES);
  /* Where the id is in the encoded text: after "id":" */
  char key[IMX_NAME_BYTES_MAX + 8];
  int kn = snprintf(key, sizeof key, "\"id\":\"%s\"", rq.id);
  for (size_t i = 0; i + (size_t)kn <= t->len; i++)
    if (memcmp(t->buf + i, key, (size_t)kn) == 0) {
      t->id_off = i + 6;
      t->id_len = strlen(rq.id);
      t->seq_off = t->id_off + t->id_len - SEQ_DIGITS;
      return BENCH_EXIT_OK;
    }
  return fail("the encoded request has no \"id\":\"%s\"", rq.id);
}

static void note_error(gw_run *r, const char *what, const char *buf,
                       size_t len) {
  if (atomic_flag_test_and_set(&r->error_taken)) return;
  snprintf(r->first_error, sizeof r->first_error, "%s%.*s", what,
           (int)(len > 150 ? 150 : len), buf ? buf : "");
}

/* 1 if the reply is what the request should get. */
static int reply_ok(gw_ctx *x, const char *buf, size_t len) {
  static const char prefix[] = "{\"v\":1,\"type\":\"order.new.ok\",\"id\":\"";
  const size_t p = sizeof prefix - 1;
  const gw_tpl *t = x->sent;
  gw_client *cl = x->cl;
  if (cl->run->echo) {
    if (len == t->len && memcmp(buf, t->buf, len) == 0) return 1;
    note_error(cl->run, "echo differs: ", buf, len);
    return 0;
  }
  if (len > p + t->id_len && memcmp(buf, prefix, p) == 0 &&
      memcmp(buf + p, t->buf + t->id_off, t->id_len) == 0 &&
      buf[p + t->id_len] == '"') {
    if (bench_has(buf + p, len - p, "\"status\":\"filled\""))
      atomic_fetch_add_explicit(&cl->filled, 1, memory_order_relaxed);
    return 1;
  }
  note_error(cl->run, "", buf, len);
  return 0;
}

/* May this context send one more? Takes a latency slot if so. */
static int may_issue(gw_ctx *x, int64_t now_ns) {
  gw_run *r = x->cl->run;
  if (now_ns >= r->stop_ns) return 0;
  return atomic_fetch_add_explicit(&r->issued, 1, memory_order_relaxed) <
         r->issue_max;
}

static void ctx_done(gw_ctx *x) {
  gw_client *cl = x->cl;
  if (cl->run->paced) {
    atomic_store_explicit(&x->busy, 0, memory_order_release);
    return;
  }
  if (atomic_fetch_sub(&cl->active, 1) == 1) {
    pthread_mutex_lock(&cl->mu);
    pthread_cond_broadcast(&cl->cv);
    pthread_mutex_unlock(&cl->mu);
  }
}

static void ctx_failed(gw_ctx *x, const char *what, int rv) {
  char text[96];
  snprintf(text, sizeof text, "%s: %s", what, nng_strerror(rv));
  note_error(x->cl->run, text, NULL, 0);
  atomic_fetch_add(&x->cl->failed, 1);
  x->dead = 1;
  ctx_done(x);
}

static void send_one(gw_ctx *x) {
  gw_tpl *t = &x->tpl[x->seq & 1u];
  put_seq(t->buf + t->seq_off, x->seq++);
  nng_msg *m;
  int rv = nng_msg_alloc(&m, t->len);
  if (rv != 0) {
    ctx_failed(x, "nng_msg_alloc", rv);
    return;
  }
  memcpy(nng_msg_body(m), t->buf, t->len);
  x->sent = t;
  x->sending = 1;
  atomic_fetch_add_explicit(&x->cl->sent, 1, memory_order_relaxed);
  nng_aio_set_msg(x->aio, m);
  x->t0_ns = bench_now_ns();
  nng_ctx_send(x->ctx, x->aio);
}

static void ctx_cb(void *arg) {
  gw_ctx *x = arg;
  gw_client *cl = x->cl;
  int rv = nng_aio_result(x->aio);
  if (x->sending) {
    if (rv != 0) {
      nng_msg_free(nng_aio_get_msg(x->aio));
      ctx_failed(x, "send", rv);
      return;
    }
    x->sending = 0;
    nng_ctx_recv(x->ctx, x->aio);
    return;
  }
  int64_t t1_ns = bench_now_ns();
  if (rv != 0) {
    ctx_failed(x, "no reply", rv);
    return;
  }
  nng_msg *m = nng_aio_get_msg(x->aio);
  size_t len = nng_msg_len(m);
  int ok = reply_ok(x, nng_msg_body(m), len);
  nng_msg_free(m);
  x->last_ns = t1_ns;
  if (ok) {
    int64_t d_ns = t1_ns - x->t0_ns;
    gw_run *r = cl->run;
    size_t i = atomic_fetch_add_explicit(&r->lat_n, 1, memory_order_relaxed);
    if (i < r->lat_cap)
      r->lat_ns[i] = d_ns < (int64_t)UINT32_MAX ? (uint32_t)d_ns : UINT32_MAX;
    atomic_fetch_add_explicit(&cl->ok, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&cl->reply_bytes, len, memory_order_relaxed);
  } else {
    atomic_fetch_add_explicit(&cl->errors, 1, memory_order_relaxed);
  }
  if (cl->run->paced) {
    atomic_store_explicit(&x->busy, 0, memory_order_release);
    return;
  }
  if (may_issue(x, t1_ns))
    send_one(x);
  else
    ctx_done(x);
}

static void sleep_until(int64_t t_ns) {
  struct timespec ts = {(time_t)(t_ns / 1000000000), (long)(t_ns % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
  }
}

static void closed_loop(gw_client *cl) {
  atomic_store(&cl->active, (int)cl->ctxs_n);
  for (uint32_t k = 0; k < cl->ctxs_n; k++) {
    gw_ctx *x = &cl->ctxs[k];
    if (may_issue(x, bench_now_ns()))
      send_one(x);
    else
      ctx_done(x);
  }
  pthread_mutex_lock(&cl->mu);
  while (atomic_load(&cl->active) > 0) pthread_cond_wait(&cl->cv, &cl->mu);
  pthread_mutex_unlock(&cl->mu);
}

/* The client thread is the clock: a context whose send is due and whose
** last reply is in sends now; one whose reply is not in yet sends as soon as
** it is (late). The schedule never slips: a late context catches up. */
static void paced(gw_client *cl) {
  gw_run *r = cl->run;
  int64_t all = (int64_t)r->clients * r->inflight;
  for (uint32_t k = 0; k < cl->ctxs_n; k++) {
    int64_t g = (int64_t)cl->index * r->inflight + k;
    cl->ctxs[k].due_ns = r->start_ns + r->interval_ns * g / all;
  }
  for (int issuing = 1; issuing;) {
    int64_t now = bench_now_ns(), next = r->stop_ns;
    if (now >= r->stop_ns) break;
    for (uint32_t k = 0; k < cl->ctxs_n && issuing; k++) {
      gw_ctx *x = &cl->ctxs[k];
      /* busy first: dead is written before busy is cleared. */
      if (x->due_ns <= now) {
        if (atomic_load_explicit(&x->busy, memory_order_acquire)) {
          if (now + BUSY_POLL_NS < next) next = now + BUSY_POLL_NS;
          continue;
        }
        if (x->dead) continue;
        if (!may_issue(x, now)) {
          issuing = 0;
          break;
        }
        int64_t behind_ns = now - x->due_ns;
        if (behind_ns >= LATE_NS) cl->late++;
        if (behind_ns > cl->late_max_ns) cl->late_max_ns = behind_ns;
        atomic_store_explicit(&x->busy, 1, memory_order_relaxed);
        x->due_ns += r->interval_ns;
        send_one(x);
      }
      if (x->due_ns < next) next = x->due_ns;
    }
    if (issuing && next > now) sleep_until(next);
  }
  /* Wait for the replies still out (each bounded by TIMEOUT_MS). */
  for (uint32_t k = 0; k < cl->ctxs_n; k++)
    while (atomic_load_explicit(&cl->ctxs[k].busy, memory_order_acquire))
      sleep_until(bench_now_ns() + 100000);
}

static void *client_main(void *arg) {
  gw_client *cl = arg;
  sleep_until(cl->run->start_ns);
  if (cl->run->paced)
    paced(cl);
  else
    closed_loop(cl);
  return NULL;
}

static void client_close(gw_client *cl) {
  for (uint32_t k = 0; k < cl->ctxs_n; k++) nng_aio_stop(cl->ctxs[k].aio);
  for (uint32_t k = 0; k < cl->ctxs_n; k++) {
    nng_ctx_close(cl->ctxs[k].ctx);
    nng_aio_free(cl->ctxs[k].aio);
  }
  if (cl->sock_open) nng_close(cl->sock);
  free(cl->ctxs);
  pthread_mutex_destroy(&cl->mu);
  pthread_cond_destroy(&cl->cv);
}

/* Socket, dial (done before returning), contexts, requests encoded. */
static int client_open(gw_run *r, gw_client *cl, uint32_t index) {
  int rv;
  cl->run = r;
  cl->index = index;
  pthread_mutex_init(&cl->mu, NULL);
  pthread_cond_init(&cl->cv, NULL);
  cl->ctxs = calloc(r->inflight, sizeof *cl->ctxs);
  if (cl->ctxs == NULL) return fail("out of memory for the contexts");
  if ((rv = nng_req0_open(&cl->sock)) != 0) return fail_nng("req socket", rv);
  cl->sock_open = 1;
  /* Never re-send: every request counts once. */
  nng_socket_set_ms(cl->sock, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
  nng_socket_set_size(cl->sock, NNG_OPT_RECVMAXSZ, RECV_MAX_BYTES);
  if ((rv = nng_dial(cl->sock, r->url, NULL, 0)) != 0) return fail_nng(r->url, rv);
  for (uint32_t k = 0; k < r->inflight; k++) {
    gw_ctx *x = &cl->ctxs[k];
    x->cl = cl;
    uint32_t g = index * r->inflight + k;
    int rc = tpl_make(&x->tpl[0], r->phase, index, k, CCS / 2 + g % (CCS / 2), 1);
    if (rc == BENCH_EXIT_OK)
      rc = tpl_make(&x->tpl[1], r->phase, index, k, g % (CCS / 2), 0);
    if (rc != BENCH_EXIT_OK) return rc;
    if ((rv = nng_aio_alloc(&x->aio, ctx_cb, x)) != 0) return fail_nng("aio", rv);
    if ((rv = nng_ctx_open(&x->ctx, cl->sock)) != 0) {
      nng_aio_free(x->aio);
      return fail_nng("req ctx", rv);
    }
    nng_aio_set_timeout(x->aio, TIMEOUT_MS);
    cl->ctxs_n++;
  }
  return BENCH_EXIT_OK;
}

/* ---- one measurement ----------------------------------------------------- */

typedef struct gw_result {
  uint64_t sent, ok, errors, failed, filled;
  double elapsed_s, per_s, cpu_cores, reply_bytes_avg;
  double rate_target; /* paced: orders/s asked for */
  uint64_t late;
  double late_max_us;
  double lat_us_p50, lat_us_p99, lat_us_p999, lat_us_max;
  size_t request_bytes;
  char first_error[200];
} gw_result;

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static double pct_us(const uint32_t *sorted, size_t n, uint32_t per_mille) {
  if (n == 0) return 0.0;
  return sorted[(size_t)((uint64_t)(n - 1) * per_mille / 1000)] / 1e3;
}

static void latency_summary(gw_run *r, gw_result *res) {
  size_t n = atomic_load(&r->lat_n);
  if (n > r->lat_cap) n = r->lat_cap;
  qsort(r->lat_ns, n, sizeof *r->lat_ns, cmp_u32);
  res->lat_us_p50 = pct_us(r->lat_ns, n, 500);
  res->lat_us_p99 = pct_us(r->lat_ns, n, 990);
  res->lat_us_p999 = pct_us(r->lat_ns, n, 999);
  res->lat_us_max = pct_us(r->lat_ns, n, 1000);
}

/* rate 0: closed loop; else paced at rate requests/s over all contexts. */
static int measure(const gw_opts *o, const char *url, int echo, char phase,
                   double rate, uint32_t *lat_ns, size_t lat_cap,
                   gw_result *res) {
  gw_run *r = calloc(1, sizeof *r);
  gw_client *cl = calloc(o->clients, sizeof *cl);
  if (r == NULL || cl == NULL) {
    free(r);
    free(cl);
    return fail("out of memory for the clients");
  }
  memset(res, 0, sizeof *res);
  r->url = url;
  r->echo = echo;
  r->paced = rate > 0.0;
  r->phase = phase;
  r->clients = o->clients;
  r->inflight = o->inflight;
  r->issue_max = o->orders && o->orders < lat_cap ? o->orders : lat_cap;
  r->cl = cl;
  r->lat_ns = lat_ns;
  r->lat_cap = lat_cap;
  atomic_flag_clear(&r->error_taken);
  uint32_t opened = 0;
  int rc = BENCH_EXIT_OK;
  for (uint32_t c = 0; c < o->clients && rc == BENCH_EXIT_OK; c++) {
    rc = client_open(r, &cl[c], c);
    opened++;
  }
  res->request_bytes = cl[0].ctxs_n ? cl[0].ctxs[0].tpl[0].len : 0;
  if (r->paced) {
    r->interval_ns =
        (int64_t)((double)o->clients * o->inflight * 1e9 / rate + 0.5);
    res->rate_target = rate;
  }
  double cpu0 = cpu_s();
  /* The threads start together, once all of them exist. */
  r->start_ns = bench_now_ns() + 10000000;
  r->stop_ns = o->seconds ? r->start_ns + (int64_t)o->seconds * 1000000000
                          : INT64_MAX;
  for (uint32_t c = 0; c < o->clients && rc == BENCH_EXIT_OK; c++) {
    if (pthread_create(&cl[c].thread, NULL, client_main, &cl[c]) != 0)
      rc = fail("cannot start client thread %u", c);
    else
      cl[c].thread_started = 1;
  }
  int64_t end_ns = r->start_ns;
  for (uint32_t c = 0; c < o->clients; c++) {
    if (cl[c].thread_started) pthread_join(cl[c].thread, NULL);
    for (uint32_t k = 0; k < cl[c].ctxs_n; k++)
      if (cl[c].ctxs[k].last_ns > end_ns) end_ns = cl[c].ctxs[k].last_ns;
  }
  double cpu1 = cpu_s();
  for (uint32_t c = 0; c < o->clients; c++) {
    res->sent += atomic_load(&cl[c].sent);
    res->ok += atomic_load(&cl[c].ok);
    res->errors += atomic_load(&cl[c].errors);
    res->failed += atomic_load(&cl[c].failed);
    res->filled += atomic_load(&cl[c].filled);
    res->reply_bytes_avg += (double)atomic_load(&cl[c].reply_bytes);
    res->late += cl[c].late;
    if (cl[c].late_max_ns / 1e3 > res->late_max_us)
      res->late_max_us = cl[c].late_max_ns / 1e3;
  }
  /* The closed loop starts at once; the paced one at start_ns. */
  res->elapsed_s = (double)(end_ns - r->start_ns) / 1e9;
  if (res->elapsed_s <= 0) res->elapsed_s = 1e-9;
  res->per_s = (double)res->ok / res->elapsed_s;
  res->cpu_cores = (cpu1 - cpu0) / res->elapsed_s;
  res->reply_bytes_avg = res->ok ? res->reply_bytes_avg / (double)res->ok : 0;
  memcpy(res->first_error, r->first_error, sizeof res->first_error);
  latency_summary(r, res);
  for (uint32_t c = 0; c < opened; c++) client_close(&cl[c]);
  free(cl);
  free(r);
  return rc;
}

/* ---- the report ---------------------------------------------------------- */

/* JSON keys are flat: every figure of a measurement is prefixed. */
static const char *key(char *buf, size_t len, const char *prefix,
                       const char *name) {
  snprintf(buf, len, "%s_%s", prefix, name);
  return buf;
}

static void print_header(bench_out *out, const gw_opts *o, size_t req_bytes,
                         const char *echo_url, const char *gw_url) {
  bench_out_section(out, "setup: one process, tcp on 127.0.0.1");
  bench_out_u64(out, "clients", "client threads", o->clients, NULL,
                "one REQ socket each");
  bench_out_u64(out, "inflight", "requests in flight per client", o->inflight,
                NULL, "nng_ctx + nng_aio each, driven by callbacks");
  if (o->seconds)
    bench_out_u64(out, "seconds", "seconds per measurement", o->seconds, "s",
                  o->orders ? "or --orders, whichever first" : NULL);
  if (o->orders)
    bench_out_u64(out, "orders", "orders per measurement", o->orders, NULL,
                  "--orders");
  bench_out_u64(out, "workers", "server workers (ctx + aio)", WORKERS, NULL,
                "gateway and echo server alike");
  bench_out_u64(out, "request_bytes", "request size", req_bytes, "bytes",
                "order.new with a token, encoded in advance");
  bench_out_str(out, "gateway_url", "gateway", gw_url, NULL);
  bench_out_str(out, "echo_url", "echo server", echo_url, NULL);
  bench_out_remark(out, "market: 1 continuous service (tick 1, lot 1), 32 "
                        "providers, 32 receivers, a token");
  bench_out_remark(out, "each; every context alternates a bid at 1,010 and "
                        "an offer at 990, qty 1, gtc:");
  bench_out_remark(out, "each order crosses what rests on the other side, so "
                        "about half trade on arrival");
  bench_out_remark(out, "target: >= 100 k orders/s");
  bench_out_remark(out, "target: p99 < 2 ms at half that load (50 k orders/s)");
  bench_out_remark(out, "latency: send to reply (clock_gettime); the figures "
                        "never fail the run");
}

static void print_measure(bench_out *out, const char *p, const gw_result *r,
                          const char *rate_note, const char *p99_note) {
  char k[64], note[96];
  snprintf(note, sizeof note, "in %.2f s", r->elapsed_s);
  bench_out_u64(out, key(k, sizeof k, p, "sent"), "requests sent", r->sent,
                NULL, note);
  if (r->rate_target > 0)
    bench_out_f64(out, key(k, sizeof k, p, "rate_target_per_s"),
                  "paced at", r->rate_target, 0, "req/s",
                  "each context at fixed intervals");
  bench_out_f64(out, key(k, sizeof k, p, "per_s"), "acknowledged",
                r->per_s, 0, "req/s", rate_note);
  snprintf(note, sizeof note, "%llu failed (no reply in %d s)",
           (unsigned long long)r->failed, TIMEOUT_MS / 1000);
  bench_out_u64(out, key(k, sizeof k, p, "errors"), "errors",
                r->errors + r->failed, NULL, note);
  bench_out_u64(out, key(k, sizeof k, p, "failed"), NULL, r->failed, NULL,
                NULL);
  if (r->filled)
    bench_out_u64(out, key(k, sizeof k, p, "filled"), "orders filled on arrival",
                  r->filled, NULL, "one trade each");
  bench_out_f64(out, key(k, sizeof k, p, "reply_bytes_avg"), "reply size",
                r->reply_bytes_avg, 1, "bytes", "average");
  bench_out_f64(out, key(k, sizeof k, p, "latency_us_p50"), "latency p50",
                r->lat_us_p50, 1, "us", NULL);
  bench_out_f64(out, key(k, sizeof k, p, "latency_us_p99"), "latency p99",
                r->lat_us_p99, 1, "us", p99_note);
  bench_out_f64(out, key(k, sizeof k, p, "latency_us_p999"), "latency p99.9",
                r->lat_us_p999, 1, "us", NULL);
  bench_out_f64(out, key(k, sizeof k, p, "latency_us_max"), "latency max",
                r->lat_us_max, 1, "us", NULL);
  if (r->rate_target > 0) {
    snprintf(note, sizeof note, "%.2f %%, the worst %.1f ms behind",
             r->sent ? 100.0 * (double)r->late / (double)r->sent : 0.0,
             r->late_max_us / 1e3);
    bench_out_u64(out, key(k, sizeof k, p, "late"),
                  "sends >= 1 ms behind schedule", r->late, NULL, note);
  }
  bench_out_f64(out, key(k, sizeof k, p, "cpu_cores"),
                "process CPU time / wall time", r->cpu_cores, 2, "cores",
                "gateway + clients (+ echo)");
}

static void print_all(const gw_opts *o, const char *echo_url,
                      const char *gw_url, const gw_result *echo,
                      const gw_result *gw, const gw_result *pgw,
                      const gw_result *pecho) {
  char note[128], note2[128], num[32];
  bench_out out;
  bench_out_begin(&out, o->json, "gateway");
  print_header(&out, o, gw->request_bytes, echo_url, gw_url);

  bench_out_section(&out, "baseline: nng REQ/REP echo, same clients, same "
                          "requests, closed loop");
  print_measure(&out, "echo", echo, NULL, NULL);

  bench_out_section(&out, "gateway, closed loop: each context sends on the "
                          "reply to its last");
  snprintf(note, sizeof note, "target >= 100,000 orders/s: %s",
           bench_met(gw->per_s >= TARGET_ORDERS_PER_S));
  print_measure(&out, "gateway", gw, note, NULL);
  bench_out_f64(&out, "gateway_orders_per_s_target", NULL, TARGET_ORDERS_PER_S,
                0, NULL, NULL);
  bench_out_f64(&out, "gateway_to_echo_ratio", "gateway / echo throughput",
                echo->per_s > 0 ? gw->per_s / echo->per_s : 0.0, 2, "x", NULL);

  bench_out_section(&out, "gateway, paced at half the closed-loop throughput");
  if (pgw->rate_target >= TARGET_ORDERS_PER_S / 2)
    snprintf(note2, sizeof note2, "target p99 < 2 ms at half that load: %s",
             bench_met(pgw->lat_us_p99 < TARGET_P99_US));
  else
    snprintf(note2, sizeof note2,
             "< 2 ms: %s, at %s/s, not the target's 50,000/s",
             pgw->lat_us_p99 < TARGET_P99_US ? "yes" : "no",
             bench_grouped_f(num, sizeof num, pgw->rate_target));
  print_measure(&out, "paced", pgw, NULL, note2);
  bench_out_f64(&out, "paced_latency_us_p99_target", NULL, TARGET_P99_US, 0,
                NULL, NULL);

  bench_out_section(&out, "baseline: the echo server paced at the same rate");
  print_measure(&out, "paced_echo", pecho, NULL, NULL);
  bench_out_end(&out);
}

/* ---- main ---------------------------------------------------------------- */

static int check_errors(const char *what, const gw_result *r, int echo) {
  uint64_t bad = r->errors + r->failed;
  if (bad == 0) return BENCH_EXIT_OK;
  if (!echo && bad * 1000000u <= r->sent * (uint64_t)ERRORS_PER_MILLION_MAX)
    return BENCH_EXIT_OK;
  return fail("%s: %llu of %llu requests without order.new.ok (%llu with no "
              "reply); the first: %s",
              what, (unsigned long long)bad, (unsigned long long)r->sent,
              (unsigned long long)r->failed, r->first_error);
}

int bench_gateway_main(int argc, char **argv) {
  gw_opts o;
  int rc = parse_opts(argc, argv, &o);
  if (rc != BENCH_EXIT_OK) return rc;

  /* Latency slots: one per order of a measurement, or SAMPLES_PER_S per
  ** second, whichever is fewer; faulted in now, not while measuring. */
  uint64_t slots = o.seconds ? o.seconds * SAMPLES_PER_S : UINT64_MAX;
  if (o.orders && o.orders < slots) slots = o.orders;
  uint32_t *lat_ns = malloc((size_t)slots * sizeof *lat_ns);
  if (lat_ns == NULL)
    return fail("out of memory for %llu latencies", (unsigned long long)slots);
  memset(lat_ns, 0, (size_t)slots * sizeof *lat_ns);

  imx_market market;
  imx_server *srv = NULL;
  echo_server echo;
  memset(&echo, 0, sizeof echo);
  gw_result r_echo, r_gw, r_pgw, r_pecho;
  memset(&r_echo, 0, sizeof r_echo);
  memset(&r_gw, 0, sizeof r_gw);
  memset(&r_pgw, 0, sizeof r_pgw);
  memset(&r_pecho, 0, sizeof r_pecho);
  char gw_url[256] = "", echo_url[64] = "";

  rc = bench_gateway_market(&market);
  if (rc == BENCH_EXIT_OK) rc = gateway_start(&market, &srv);
  if (rc == BENCH_EXIT_OK) {
    snprintf(gw_url, sizeof gw_url, "%s", imx_server_listen_url(srv));
    rc = echo_start(&echo, WORKERS);
    snprintf(echo_url, sizeof echo_url, "%s", echo.url);
  }
  if (rc == BENCH_EXIT_OK)
    rc = measure(&o, echo_url, 1, 'e', 0.0, lat_ns, slots, &r_echo);
  if (rc == BENCH_EXIT_OK) rc = check_errors("echo", &r_echo, 1);
  if (rc == BENCH_EXIT_OK)
    rc = measure(&o, gw_url, 0, 't', 0.0, lat_ns, slots, &r_gw);
  if (rc == BENCH_EXIT_OK && r_gw.ok == 0)
    rc = check_errors("gateway, closed loop", &r_gw, 1);
  double half = r_gw.per_s / 2.0;
  if (rc == BENCH_EXIT_OK)
    rc = measure(&o, gw_url, 0, 'p', half, lat_ns, slots, &r_pgw);
  if (rc == BENCH_EXIT_OK)
    rc = measure(&o, echo_url, 1, 'q', half, lat_ns, slots, &r_pecho);
  if (rc == BENCH_EXIT_OK) rc = check_errors("echo, paced", &r_pecho, 1);

  echo_stop(&echo);
  imx_server_stop(srv);
  imx_market_free(&market);
  free(lat_ns);
  if (rc != BENCH_EXIT_OK) return rc;
  print_all(&o, echo_url, gw_url, &r_echo, &r_gw, &r_pgw,
            &r_pecho);
  rc = check_errors("gateway, closed loop", &r_gw, 0);
  if (rc == BENCH_EXIT_OK) rc = check_errors("gateway, paced", &r_pgw, 0);
  return rc;
}
