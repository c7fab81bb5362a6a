/*
** server.c -- imxd's network side and its engine thread.
**
** The shape is nng's demo/async/server.c: a fixed set of workers, each an
** nng_ctx on the REP socket with one nng_aio, cycling RECV -> WAIT -> SEND.
** The aio callbacks (nng's threads) do everything that needs no market
** state: size limit, per-connection rate limit, decoding and validation,
** authentication (token hash, or the connection's earlier hello). A valid
** request is queued for the one engine thread, which owns the core (books,
** risk, tenders), takes the whole queue at once as a batch, runs it and
** commits it. The network side never touches the engine, and the engine
** thread holds the queue lock only to swap the queue out.
**
** Waiting for the engine is an asynchronous operation of the worker's own
** aio (nng_aio_begin/defer, the way nng's providers do it): once the batch
** is durable the engine thread only finishes each aio, and the worker's
** callback, on one of nng's threads, sends the reply. The engine thread
** never writes to a socket for a reply, so the replies' system calls run
** beside the next batch instead of after it. Every worker the engine takes
** out of the queue it finishes (with an error when the ledger failed); a
** worker still in the queue is finished by its cancel function.
**
** Connections are nng pipes: the pipe table (pipe id -> authenticated cost
** centre, rate bucket) is filled by hello and by the first request, and
** emptied when nng reports the pipe gone.
*/
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/rep.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core.h"
#include "imx_ledger.h"
#include "imx_server.h"

#define PIPES_MAX 4096u /* connections tracked at once */
#define ENGINE_LINGER_NS 50000 /* the engine yields this long before it sleeps */

enum { W_RECV, W_WAIT, W_SEND };

typedef struct worker {
  struct imx_server *srv;
  nng_aio *aio;
  nng_ctx ctx;
  int state;
  imx_request rq;
  uint32_t auth_cc;
  struct worker *next; /* in the engine queue */
  char *reply;         /* IMX_REPLY_BYTES_MAX */
  size_t reply_len;
} worker;

typedef struct token_entry {
  char hash[65];
  uint32_t cc;
} token_entry;

typedef struct pipe_entry {
  uint32_t pipe; /* nng's pipe id; 0: free (then next_free chains it) */
  uint32_t next_free;
  int64_t auth_cc; /* -1: none yet */
  double tokens;
  int64_t last_ns;
  int64_t warned_ns;
} pipe_entry;

struct imx_server {
  imx_server_config cfg;
  nng_socket rep, pub;
  int pub_open;
  nng_aio *pub_aio;           /* no callback: pub0 completes it at once */
  atomic_int subscribers;     /* pub pipes: ADD_PRE seen, REM_POST not  */
  worker *workers;
  uint32_t workers_n;
  pthread_mutex_t pipes_mu;
  pipe_entry *pipes; /* PIPES_MAX entries, free ones chained    */
  uint32_t pipes_free;
  imx_hash pipes_index; /* pipe id -> entry                       */
  pthread_mutex_t queue_mu;
  pthread_cond_t queue_cv;
  worker *queue_head, *queue_tail;
  atomic_int queued;     /* queue_head != NULL, readable without queue_mu */
  int engine_waiting;    /* on queue_cv: the next request must wake it   */
  int stopping;
  pthread_t engine_thread;
  int engine_started;
  imx_core *core;
  imx_ledger *ledger;
  int64_t journal_seq; /* the last written */
  atomic_int failed;   /* the ledger failed: nothing more is acknowledged */
  char listen_bound[256], publish_bound[256];
  token_entry *tokens; /* sorted by hash */
  uint32_t tokens_n;
};

/* ------------------------------------------------------------- logging */

void imx_log(const char *fmt, ...) {
  char when[32];
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s imxd: ", when);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---------------------------------------------------------- pipe table */

static uint64_t pipe_hash_of(const void *owner, uint32_t k) {
  return ((const imx_server *)owner)->pipes[k].pipe;
}

/* The entry of a pipe, or IMX_HASH_NIL; *slot is where the search ended.
** Called with pipes_mu held. */
static uint32_t pipe_find(const imx_server *s, uint32_t id, uint32_t *slot) {
  const imx_hash *x = &s->pipes_index;
  for (uint32_t i = imx_hash_first(x, id), n = 0; n <= x->mask;
       i = imx_hash_next(x, i), n++) {
    uint32_t k = x->slots[i];
    *slot = i;
    if (k == IMX_HASH_NIL || s->pipes[k].pipe == id) return k;
  }
  IMX_ASSERT(0 && "the pipe index is never full");
  return IMX_HASH_NIL;
}

/* Returns the entry of a pipe, creating it; NULL when PIPES_MAX pipes are
** tracked already. Called with pipes_mu held. */
static pipe_entry *pipe_get(imx_server *s, uint32_t id) {
  IMX_ASSERT(id != 0);
  uint32_t slot, k = pipe_find(s, id, &slot);
  if (k != IMX_HASH_NIL) return &s->pipes[k];
  if (s->pipes_free == IMX_HASH_NIL) return NULL;
  k = s->pipes_free;
  pipe_entry *p = &s->pipes[k];
  IMX_ASSERT(p->pipe == 0);
  s->pipes_free = p->next_free;
  memset(p, 0, sizeof *p);
  p->pipe = id;
  p->auth_cc = -1;
  p->tokens = s->cfg.rate_burst;
  p->last_ns = now_ns();
  imx_hash_put(&s->pipes_index, id, k);
  return p;
}

static void pipe_del(imx_server *s, uint32_t id) {
  uint32_t slot, k = pipe_find(s, id, &slot);
  if (k == IMX_HASH_NIL) return; /* it never sent a request */
  imx_hash_del(&s->pipes_index, slot, s, pipe_hash_of);
  s->pipes[k].pipe = 0;
  s->pipes[k].next_free = s->pipes_free;
  s->pipes_free = k;
}

static void on_pipe_removed(nng_pipe p, nng_pipe_ev ev, void *arg) {
  imx_server *s = arg;
  (void)ev;
  pthread_mutex_lock(&s->pipes_mu);
  pipe_del(s, (uint32_t)nng_pipe_id(p));
  pthread_mutex_unlock(&s->pipes_mu);
}

/* Takes one request from the connection's bucket; 0 if it is empty. Also
** returns the connection's authenticated cost centre. */
static int pipe_admit(imx_server *s, uint32_t id, int64_t *auth_cc) {
  int ok = 1, warn = 0;
  pthread_mutex_lock(&s->pipes_mu);
  pipe_entry *p = pipe_get(s, id);
  if (p == NULL) {
    ok = 0;
    *auth_cc = -1;
  } else {
    int64_t t = now_ns();
    p->tokens += (double)(t - p->last_ns) * 1e-9 * s->cfg.rate_per_s;
    if (p->tokens > s->cfg.rate_burst) p->tokens = s->cfg.rate_burst;
    p->last_ns = t;
    if (p->tokens >= 1.0) p->tokens -= 1.0;
    else ok = 0;
    if (!ok && t - p->warned_ns > 1000000000) {
      p->warned_ns = t; /* one log line per connection per second */
      warn = 1;
    }
    *auth_cc = p->auth_cc;
  }
  pthread_mutex_unlock(&s->pipes_mu);
  if (warn) imx_log("connection %u is over its rate limit", id);
  return ok;
}

static void pipe_authenticate(imx_server *s, uint32_t id, uint32_t cc) {
  pthread_mutex_lock(&s->pipes_mu);
  pipe_entry *p = pipe_get(s, id);
  if (p) p->auth_cc = cc;
  pthread_mutex_unlock(&s->pipes_mu);
}

/* ------------------------------------------------------------- workers */

static void send_reply(worker *w, const char *buf, size_t len) {
  nng_msg *m;
  if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, buf, len) != 0) {
    /* Out of memory: drop the reply; REQ will ask again. */
    imx_log("out of memory for a reply");
    w->state = W_RECV;
    nng_ctx_recv(w->ctx, w->aio);
    return;
  }
  w->state = W_SEND;
  nng_aio_set_msg(w->aio, m);
  nng_ctx_send(w->ctx, w->aio);
}

static void send_error(worker *w, const char *id, const char *code,
                       const char *field, const char *message) {
  size_t len = imx_error_encode(id, code, field, message, w->reply,
                                IMX_REPLY_BYTES_MAX);
  send_reply(w, w->reply, len);
}

static int token_ok(const imx_server *s, uint32_t cc, const char *token) {
  const char *hash = s->cfg.market->ccs[cc].token_hash;
  return hash[0] != '\0' && imx_token_matches(token, hash);
}

static int by_hash(const void *a, const void *b) {
  return strcmp(((const token_entry *)a)->hash, ((const token_entry *)b)->hash);
}

/* The cost centre a token belongs to, or -1. Tokens are random secrets, so
** their SHA-256 identifies them; the index is sorted by it. */
static int64_t token_owner(const imx_server *s, const char *token) {
  token_entry key;
  imx_sha256_hex(token, strlen(token), key.hash);
  const token_entry *t =
      bsearch(&key, s->tokens, s->tokens_n, sizeof key, by_hash);
  return t ? (int64_t)t->cc : -1;
}

static int index_tokens(imx_server *s) {
  const imx_market *m = s->cfg.market;
  s->tokens = calloc(m->ccs_n + 1, sizeof *s->tokens);
  if (s->tokens == NULL) return -1;
  for (uint32_t i = 0; i < m->ccs_n; i++) {
    if (strlen(m->ccs[i].token_hash) != 64) continue;
    memcpy(s->tokens[s->tokens_n].hash, m->ccs[i].token_hash, 64);
    s->tokens[s->tokens_n].hash[64] = '\0';
    s->tokens[s->tokens_n++].cc = i;
  }
  qsort(s->tokens, s->tokens_n, sizeof *s->tokens, by_hash);
  return 0;
}

/* Authenticates a request; returns the cost centre or -1 (reply sent). */
static int64_t authenticate(worker *w, uint32_t pipe, int64_t conn_cc) {
  imx_server *s = w->srv;
  const imx_request *rq = &w->rq;
  if (rq->token[0] == '\0') {
    if (conn_cc < 0) {
      send_error(w, rq->id, "unauthorized", "token",
                 "say hello first, or give a token");
      return -1;
    }
    return conn_cc;
  }
  int64_t cc = token_owner(s, rq->token);
  if (cc < 0) {
    imx_log("connection %u: unknown token", pipe);
    send_error(w, rq->id, "unauthorized", "token", "unknown token");
    return -1;
  }
  return cc;
}

static void hello(worker *w, uint32_t pipe) {
  imx_server *s = w->srv;
  int64_t cc = core_cc_index(s->cfg.market, w->rq.cc);
  if (cc < 0 || !token_ok(s, (uint32_t)cc, w->rq.token)) {
    imx_log("connection %u: hello with a wrong token for %s", pipe, w->rq.cc);
    send_error(w, w->rq.id, "unauthorized", "token", "wrong token for the cost centre");
    return;
  }
  pipe_authenticate(s, pipe, (uint32_t)cc);
  imx_reply r;
  memset(&r, 0, sizeof r);
  r.type = IMX_MSG_HELLO;
  snprintf(r.id, sizeof r.id, "%s", w->rq.id);
  snprintf(r.cc, sizeof r.cc, "%s", w->rq.cc);
  r.roles = s->cfg.market->ccs[cc].roles;
  send_reply(w, w->reply, imx_reply_encode(&r, w->reply, IMX_REPLY_BYTES_MAX));
}

/* The cancel function of a worker waiting for the engine (nng_aio_stop at
** shutdown): a worker still in the queue leaves it and finishes with rv; one
** the engine has taken is finished by the engine. */
static void wait_cancel(nng_aio *aio, void *arg, int rv) {
  worker *w = arg;
  imx_server *s = w->srv;
  int found = 0;
  pthread_mutex_lock(&s->queue_mu);
  for (worker **p = &s->queue_head, *prev = NULL; *p; prev = *p, p = &(*p)->next) {
    if (*p != w) continue;
    *p = w->next;
    if (s->queue_tail == w) s->queue_tail = prev;
    if (s->queue_head == NULL) atomic_store(&s->queued, 0);
    found = 1;
    break;
  }
  pthread_mutex_unlock(&s->queue_mu);
  if (found) nng_aio_finish(aio, rv);
}

/* Starts the worker's wait for the engine and queues its request. */
static void enqueue(worker *w) {
  imx_server *s = w->srv;
  IMX_ASSERT(w->state == W_RECV);
  /* False once nng_aio_stop began (shutdown): the request is dropped. */
  if (!nng_aio_begin(w->aio)) return;
  w->state = W_WAIT;
  w->next = NULL;
  /* nng 1.5's nng_aio_defer cannot say that a stop came between begin
  ** and defer; the worker then waits in the queue for nobody. That only
  ** happens in imx_server_stop, after the engine thread is gone. */
  nng_aio_defer(w->aio, wait_cancel, w);
  pthread_mutex_lock(&s->queue_mu);
  if (s->queue_tail) s->queue_tail->next = w;
  else s->queue_head = w;
  s->queue_tail = w;
  atomic_store_explicit(&s->queued, 1, memory_order_release);
  /* One wake-up for a sleeping engine; a lingering or busy one looks at
  ** the queue by itself. */
  if (s->engine_waiting) {
    s->engine_waiting = 0;
    pthread_cond_signal(&s->queue_cv);
  }
  pthread_mutex_unlock(&s->queue_mu);
}

/* A request arrived: everything that needs no market state happens here. */
static void on_request(worker *w) {
  imx_server *s = w->srv;
  nng_msg *m = nng_aio_get_msg(w->aio);
  uint32_t pipe = (uint32_t)nng_pipe_id(nng_msg_get_pipe(m));
  size_t len = nng_msg_len(m);
  int64_t conn_cc;
  imx_proto_error err = {0};
  memset(&w->rq, 0, sizeof w->rq);
  if (!pipe_admit(s, pipe, &conn_cc)) {
    nng_msg_free(m);
    send_error(w, "", "rate_limited", "", "too many requests on this connection");
    return;
  }
  int rc = imx_request_decode(nng_msg_body(m), len, &w->rq, &err);
  nng_msg_free(m);
  if (rc != 0) {
    send_error(w, w->rq.id, err.code, err.field, err.message);
    return;
  }
  if (w->rq.type == IMX_MSG_HELLO) {
    hello(w, pipe);
    return;
  }
  int64_t cc = authenticate(w, pipe, conn_cc);
  if (cc < 0) return;
  w->auth_cc = (uint32_t)cc;
  enqueue(w);
}

static void on_aio(void *arg) {
  worker *w = arg;
  int rv = nng_aio_result(w->aio);
  switch (w->state) {
  case W_RECV:
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
    if (rv != 0) {
      nng_ctx_recv(w->ctx, w->aio);
      return;
    }
    on_request(w);
    break;
  case W_WAIT:
    /* The engine made the batch durable (0), or the ledger failed or the
    ** server stops: nothing to acknowledge, and the worker retires. */
    if (rv != 0) return;
    IMX_ASSERT(w->reply_len > 0);
    send_reply(w, w->reply, w->reply_len);
    break;
  case W_SEND:
    if (rv != 0) nng_msg_free(nng_aio_get_msg(w->aio));
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
    w->state = W_RECV;
    nng_ctx_recv(w->ctx, w->aio);
    break;
  default:
    IMX_ASSERT(0 && "a worker in no known state");
  }
}

/* --------------------------------------------------------- engine thread */

/* Writes what one command did to the open ledger transaction: its journal
** entry, its trades with their postings, the period it closed. Returns 0,
** or -1 (the batch must not be acknowledged). */
static int settle(imx_server *s, const core_result *r, int64_t now) {
  imx_ledger *l = s->ledger;
  /* Only what changed the market is journaled: a rejected request or a
  ** not_found cancel costs no row (nor replay time at every restart). */
  IMX_ASSERT(!r->changed == !r->journal);
  IMX_ASSERT(r->changed || (r->trades_n == 0 && r->period_closed == 0));
  if (r->changed &&
      imx_ledger_journal(l, ++s->journal_seq, now, r->journal_cc, r->journal,
                         r->journal_len) != 0)
    return -1;
  for (uint32_t i = 0; i < r->trades_n; i++) {
    const imx_reply_trade *t = &r->trades[i].trade;
    imx_ledger_trade lt = {.trade_id = (int64_t)t->trade, .period = r->trades[i].period,
                           .time_ms = t->time_ms, .service = t->service,
                           .buyer = t->buyer, .seller = t->seller,
                           .qty = t->qty, .price_minor = t->price_minor};
    if (imx_ledger_put_trade(l, &lt) != 0) return -1;
  }
  if (r->period_closed && imx_ledger_close_period(l, r->period_closed, now) != 0)
    return -1;
  return 0;
}

/* Runs one batch: the clock's tick, then the requests, each settled in one
** ledger transaction that is committed before anything is acknowledged.
** Returns 0 when the batch is durable (or there is no ledger). */
static int run_batch(imx_server *s, worker *batch, int64_t now) {
  imx_ledger *l = s->ledger;
  int rc = l ? imx_ledger_begin(l) : 0;
  core_batch_begin(s->core);
  core_result r = core_tick(s->core, now);
  if (l && rc == 0) rc = settle(s, &r, now);
  for (worker *w = batch; w; w = w->next) {
    r = core_execute(s->core, &w->rq, w->auth_cc, now, w->reply, IMX_REPLY_BYTES_MAX);
    IMX_ASSERT(r.reply_len > 0);
    w->reply_len = r.reply_len;
    if (l && rc == 0) rc = settle(s, &r, now);
  }
  if (l && rc == 0) rc = imx_ledger_commit(l);
  if (l && rc != 0) {
    imx_log("ledger: %s: stopping, nothing more is acknowledged", imx_ledger_error(l));
    imx_ledger_rollback(l);
    return -1;
  }
  return 0;
}

/* nng runs ADD_PRE before the pipe joins the pub socket and REM_POST
** after it left, each exactly once for a pipe that had ADD_PRE: while the
** count is 0 no pipe would get a message. */
static void on_subscriber(nng_pipe p, nng_pipe_ev ev, void *arg) {
  imx_server *s = arg;
  (void)p;
  atomic_fetch_add(&s->subscribers, ev == NNG_PIPE_EV_ADD_PRE ? 1 : -1);
}

/* One market-data message. nng_send would allocate an aio (and draw a
** random number for it) per message; pub0 completes a send at once, so one
** aio without a callback serves every message. */
static void publish_one(imx_server *s, const imx_md_event *ev) {
  char buf[IMX_PUB_BYTES_MAX];
  size_t len = imx_md_encode(ev, buf, sizeof buf);
  nng_msg *m;
  if (len == 0 || nng_msg_alloc(&m, len) != 0) return; /* lost, as a slow subscriber's */
  memcpy(nng_msg_body(m), buf, len);
  nng_aio_set_msg(s->pub_aio, m);
  nng_send_aio(s->pub, s->pub_aio);
  nng_aio_wait(s->pub_aio); /* the engine thread, not a callback */
  if (nng_aio_result(s->pub_aio) != 0) nng_msg_free(m);
}

/* Market data of a durable batch. It must never stall the engine: a slow
** subscriber loses messages; with no subscriber nothing is encoded. */
static void publish_batch(imx_server *s) {
  uint32_t n = 0;
  const imx_md_event *md = core_batch_md(s->core, &n);
  if (!s->pub_open || atomic_load(&s->subscribers) == 0) return;
  for (uint32_t i = 0; i < n; i++) publish_one(s, &md[i]);
}

/* Before it sleeps the engine lingers a little, yielding its CPU to the
** threads that bring requests: under load the next request comes within
** microseconds, and waking a sleeping thread (a futex call, a context
** switch, on a virtual machine an interprocessor interrupt) cost more than
** the command itself; with every request waking the engine, batches were
** 2 requests long. An idle server sleeps after ENGINE_LINGER_NS. */
static void linger(imx_server *s) {
  int64_t until = now_ns() + ENGINE_LINGER_NS;
  while (!atomic_load_explicit(&s->queued, memory_order_acquire) && now_ns() < until)
    sched_yield();
}

static void *engine_main(void *arg) {
  imx_server *s = arg;
  for (;;) {
    linger(s);
    pthread_mutex_lock(&s->queue_mu);
    while (s->queue_head == NULL && !s->stopping) {
      s->engine_waiting = 1;
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_nsec += 100 * 1000000; /* wake for tender deadlines */
      if (until.tv_nsec >= 1000000000) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000;
      }
      int rc = pthread_cond_timedwait(&s->queue_cv, &s->queue_mu, &until);
      s->engine_waiting = 0;
      if (rc == ETIMEDOUT) break;
    }
    worker *batch = s->queue_head;
    s->queue_head = s->queue_tail = NULL;
    atomic_store(&s->queued, 0);
    int stopping = s->stopping;
    pthread_mutex_unlock(&s->queue_mu);
    int rc = run_batch(s, batch, wall_ms());
    if (rc != 0) atomic_store(&s->failed, 1); /* not durable: not acknowledged */
    /* Durable: the workers send the replies; then tell the market. After
    ** nng_aio_finish the worker is not ours any more. */
    for (worker *w = batch, *next; w; w = next) {
      next = w->next;
      nng_aio_finish(w->aio, rc == 0 ? 0 : NNG_ECANCELED);
    }
    if (rc != 0) break;
    publish_batch(s);
    if (stopping) break;
  }
  return NULL;
}

/* Recovery replays the journal into a fresh core and checks, trade by
** trade, that it makes exactly the trades the ledger holds: same ids in the
** same order, and the same service, buyer, seller, price, quantity and
** period. Checking the last trade id only would let an edited journal row
** (another price) or an edited trade pass. The ledger's trades are read
** with a cursor beside the journal, so memory does not grow with history. */
typedef struct replay {
  imx_core *core;
  imx_ledger *ledger;
  imx_ledger_cursor *trades; /* the ledger's, in trade id order */
  int64_t trades_n;          /* compared and equal so far       */
  int64_t last_id;           /* the last of them                */
  char *failed;              /* the failed check, for the log   */
  size_t cap;
} replay;

#define REPLAY_CHECK "trades_match_journal"

/* Names the first field in which a replayed trade and the ledger's differ;
** 0 when none does. */
static int trade_differs(replay *r, const core_trade *ct, const imx_ledger_trade *lt) {
  const imx_reply_trade *t = &ct->trade;
  static const char *const int_names[] = {"id", "period", "qty", "price"};
  const int64_t journal_ints[] = {(int64_t)t->trade, ct->period, t->qty, t->price_minor};
  const int64_t ledger_ints[] = {lt->trade_id, lt->period, lt->qty, lt->price_minor};
  for (size_t i = 0; i < 4; i++)
    if (journal_ints[i] != ledger_ints[i]) {
      snprintf(r->failed, r->cap, REPLAY_CHECK " (trade %lld, %s: the journal makes %lld,"
               " the ledger has %lld)", (long long)t->trade, int_names[i],
               (long long)journal_ints[i], (long long)ledger_ints[i]);
      return 1;
    }
  static const char *const str_names[] = {"service", "buyer", "seller"};
  const char *journal_strs[] = {t->service, t->buyer, t->seller};
  const char *ledger_strs[] = {lt->service, lt->buyer, lt->seller};
  for (size_t i = 0; i < 3; i++)
    if (strcmp(journal_strs[i], ledger_strs[i]) != 0) {
      snprintf(r->failed, r->cap, REPLAY_CHECK " (trade %lld, %s: the journal makes %s,"
               " the ledger has %s)", (long long)t->trade, str_names[i],
               journal_strs[i], ledger_strs[i]);
      return 1;
    }
  return 0;
}

/* Compares the trades one journal entry made with the ledger's next ones. */
static int replay_entry(void *ctx, int64_t seq, int64_t time_ms, const char *cc,
                        const char *command, size_t len) {
  replay *r = ctx;
  core_result res;
  if (core_replay(r->core, time_ms, cc, command, len, &res) != 0) {
    snprintf(r->failed, r->cap, "journal_readable (entry %lld cannot be read)",
             (long long)seq);
    return 1;
  }
  IMX_ASSERT(res.trades_n == 0 || res.trades != NULL);
  for (uint32_t i = 0; i < res.trades_n; i++) {
    imx_ledger_trade lt;
    int rc = imx_ledger_trades_next(r->trades, &lt);
    if (rc < 0) {
      snprintf(r->failed, r->cap, REPLAY_CHECK ": %s", imx_ledger_error(r->ledger));
      return 1;
    }
    if (rc == 0) {
      snprintf(r->failed, r->cap, REPLAY_CHECK " (trade %lld: journal entry %lld makes it,"
               " the ledger does not have it)", (long long)res.trades[i].trade.trade,
               (long long)seq);
      return 1;
    }
    if (trade_differs(r, &res.trades[i], &lt)) return 1;
    r->trades_n++;
    r->last_id = lt.trade_id;
  }
  return 0;
}

/* Replays the whole journal into core (fresh) and compares its trades with
** the ledger's. Returns 0, or -1 with the failed check in failed. */
static int replay_journal(imx_core *core, imx_ledger *l, int64_t *trades_n,
                          char *failed, size_t cap) {
  replay r = {.core = core, .ledger = l, .failed = failed, .cap = cap};
  failed[0] = '\0';
  if (imx_ledger_trades_open(l, 0, &r.trades) != 0) {
    snprintf(failed, cap, REPLAY_CHECK ": %s", imx_ledger_error(l));
    imx_ledger_trades_close(r.trades);
    return -1;
  }
  int rc = imx_ledger_journal_each(l, replay_entry, &r);
  if (rc < 0) snprintf(failed, cap, "journal_readable: %s", imx_ledger_error(l));
  imx_ledger_trade extra;
  int more = rc == 0 ? imx_ledger_trades_next(r.trades, &extra) : 0;
  if (more > 0)
    snprintf(failed, cap, REPLAY_CHECK " (trade %lld: in the ledger, no journal entry"
             " makes it)", (long long)extra.trade_id);
  else if (more < 0)
    snprintf(failed, cap, REPLAY_CHECK ": %s", imx_ledger_error(l));
  imx_ledger_trades_close(r.trades);
  /* Every trade compared equal: the engine's last is the ledger's last. */
  IMX_ASSERT(rc != 0 || more != 0 || core_last_trade(core) == r.last_id);
  *trades_n = r.trades_n;
  return rc == 0 && more == 0 ? 0 : -1;
}

int imx_server_replay_check(const imx_server_config *cfg, imx_ledger *l,
                            int64_t *trades_n, char *failed, size_t cap) {
  IMX_ASSERT(cfg != NULL && cfg->market != NULL && l != NULL && cap > 0);
  core_config cc = {.market = cfg->market, .orders_max = cfg->orders_max,
                    .orders_per_cc_max = cfg->orders_per_cc_max};
  imx_core *core = NULL;
  const char *why = NULL;
  int rc = -1;
  if (core_open(&cc, &core, &why) != 0)
    snprintf(failed, cap, "market (%s)", why);
  else
    rc = replay_journal(core, l, trades_n, failed, cap);
  core_close(core);
  return rc;
}

static int recover(imx_server *s) {
  char err[512];
  if (imx_ledger_open(s->cfg.db_path, s->cfg.sync_full, &s->ledger, err, sizeof err)) {
    imx_log("ledger %s: %s", s->cfg.db_path, err);
    return -1;
  }
  int64_t seq = 0, trade = 0, replayed = 0;
  if (imx_ledger_last(s->ledger, &seq, &trade) != 0) {
    imx_log("ledger %s: cannot replay the journal: %s", s->cfg.db_path,
            imx_ledger_error(s->ledger));
    return -1;
  }
  if (replay_journal(s->core, s->ledger, &replayed, err, sizeof err) != 0) {
    imx_log("ledger %s: check %s failed: refusing to serve", s->cfg.db_path, err);
    return -1;
  }
  s->journal_seq = seq;
  if (imx_ledger_verify(s->ledger, err, sizeof err) != 0) {
    imx_log("ledger %s: check %s: refusing to serve", s->cfg.db_path, err);
    return -1;
  }
  imx_log("ledger %s: recovered %lld commands and %lld trades; verified",
          s->cfg.db_path, (long long)seq, (long long)replayed);
  return 0;
}

/* ------------------------------------------------------------ lifecycle */

static int fail_nng(const char *what, int rv) {
  imx_log("%s: %s", what, nng_strerror(rv));
  return -1;
}

/* Listens, and writes the URL as bound: "tcp://host:0" asks for a free
** port, and the log must say which one (the tests read it there). */
static int listen_on(nng_socket sock, const char *url, char *bound, size_t cap) {
  nng_listener l;
  int rv = nng_listen(sock, url, &l, 0), port = 0;
  if (rv != 0) return rv;
  const char *colon = strrchr(url, ':');
  if (strncmp(url, "tcp", 3) == 0 && colon &&
      nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) == 0)
    snprintf(bound, cap, "%.*s:%d", (int)(colon - url), url, port);
  else
    snprintf(bound, cap, "%s", url);
  return 0;
}

static int open_sockets(imx_server *s) {
  int rv;
  if ((rv = nng_rep0_open(&s->rep)) != 0) return fail_nng("rep socket", rv);
  /* nng 1.5 has no receive limit on tcp and ipc by default. */
  if ((rv = nng_socket_set_size(s->rep, NNG_OPT_RECVMAXSZ, s->cfg.recv_max_bytes)) != 0)
    return fail_nng("recv-size-max", rv);
  if ((rv = nng_pipe_notify(s->rep, NNG_PIPE_EV_REM_POST, on_pipe_removed, s)) != 0)
    return fail_nng("pipe notify", rv);
  if ((rv = listen_on(s->rep, s->cfg.listen_url, s->listen_bound,
                      sizeof s->listen_bound)) != 0)
    return fail_nng(s->cfg.listen_url, rv);
  if ((rv = nng_pub0_open(&s->pub)) != 0) return fail_nng("pub socket", rv);
  s->pub_open = 1;
  if ((rv = nng_aio_alloc(&s->pub_aio, NULL, NULL)) != 0) return fail_nng("pub aio", rv);
  nng_aio_set_timeout(s->pub_aio, NNG_DURATION_ZERO); /* as NNG_FLAG_NONBLOCK */
  if ((rv = nng_pipe_notify(s->pub, NNG_PIPE_EV_ADD_PRE, on_subscriber, s)) != 0 ||
      (rv = nng_pipe_notify(s->pub, NNG_PIPE_EV_REM_POST, on_subscriber, s)) != 0)
    return fail_nng("pub pipe notify", rv);
  if ((rv = listen_on(s->pub, s->cfg.publish_url, s->publish_bound,
                      sizeof s->publish_bound)) != 0)
    return fail_nng(s->cfg.publish_url, rv);
  return 0;
}

static int start_workers(imx_server *s) {
  s->workers = calloc(s->cfg.workers, sizeof *s->workers);
  if (s->workers == NULL) return -1;
  for (uint32_t i = 0; i < s->cfg.workers; i++) {
    worker *w = &s->workers[i];
    w->srv = s;
    w->reply = malloc(IMX_REPLY_BYTES_MAX);
    if (w->reply == NULL) return -1;
    int rv;
    if ((rv = nng_aio_alloc(&w->aio, on_aio, w)) != 0) return fail_nng("aio", rv);
    if ((rv = nng_ctx_open(&w->ctx, s->rep)) != 0) return fail_nng("ctx", rv);
    s->workers_n++;
  }
  for (uint32_t i = 0; i < s->workers_n; i++) {
    s->workers[i].state = W_RECV;
    nng_ctx_recv(s->workers[i].ctx, s->workers[i].aio);
  }
  return 0;
}

int imx_server_start(const imx_server_config *cfg, imx_server **out) {
  imx_server *s = calloc(1, sizeof *s);
  *out = s;
  if (s == NULL) return -1;
  s->cfg = *cfg;
  pthread_mutex_init(&s->pipes_mu, NULL);
  pthread_mutex_init(&s->queue_mu, NULL);
  pthread_cond_init(&s->queue_cv, NULL);
  s->pipes = calloc(PIPES_MAX, sizeof *s->pipes);
  if (s->pipes == NULL || imx_hash_init(&s->pipes_index, PIPES_MAX) != 0 ||
      index_tokens(s) != 0)
    return -1;
  for (uint32_t k = 0; k < PIPES_MAX; k++)
    s->pipes[k].next_free = k + 1 < PIPES_MAX ? k + 1 : IMX_HASH_NIL;
  s->pipes_free = 0;
  core_config cc = {.market = cfg->market, .orders_max = cfg->orders_max,
                    .orders_per_cc_max = cfg->orders_per_cc_max};
  const char *why = NULL;
  if (core_open(&cc, &s->core, &why) != 0) {
    imx_log("cannot set up the market: %s", why);
    return -1;
  }
  /* Before the sockets: nothing is published or served while recovering. */
  if (cfg->db_path && recover(s) != 0) return -1;
  if (open_sockets(s) != 0) return -1;
  if (pthread_create(&s->engine_thread, NULL, engine_main, s) != 0) return -1;
  s->engine_started = 1;
  if (start_workers(s) != 0) return -1;
  imx_log("serving %u services and %u cost centres: requests on %s, market data on %s",
          cfg->market->services_n, cfg->market->ccs_n, s->listen_bound,
          s->publish_bound);
  return 0;
}

int imx_server_failed(const imx_server *s) { return atomic_load(&s->failed); }

const char *imx_server_listen_url(const imx_server *s) { return s->listen_bound; }

const char *imx_server_publish_url(const imx_server *s) { return s->publish_bound; }

void imx_server_stop(imx_server *s) {
  if (s == NULL) return;
  if (s->engine_started) {
    /* The engine finishes and answers the batch it has, then stops. */
    pthread_mutex_lock(&s->queue_mu);
    s->stopping = 1;
    s->engine_waiting = 0;
    pthread_cond_signal(&s->queue_cv);
    pthread_mutex_unlock(&s->queue_mu);
    pthread_join(s->engine_thread, NULL);
  }
  nng_close(s->rep);
  for (uint32_t i = 0; i < s->workers_n; i++) {
    nng_aio_stop(s->workers[i].aio);
    nng_ctx_close(s->workers[i].ctx);
    nng_aio_free(s->workers[i].aio);
  }
  if (s->pub_open) nng_close(s->pub);
  nng_aio_free(s->pub_aio);
  for (uint32_t i = 0; s->workers && i < s->cfg.workers; i++) free(s->workers[i].reply);
  free(s->workers);
  core_close(s->core);
  imx_ledger_close(s->ledger);
  free(s->pipes);
  imx_hash_free(&s->pipes_index);
  free(s->tokens);
  pthread_mutex_destroy(&s->pipes_mu);
  pthread_mutex_destroy(&s->queue_mu);
  pthread_cond_destroy(&s->queue_cv);
  free(s);
}
