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
** Connections are nng pipes. The pipe table (pipe id -> authenticated cost
** centre, rate buckets, requests in flight) has one entry per connection:
** nng's ADD_PRE makes it, or refuses the connection when the table holds
** connections_max already; REM_POST empties it. No client can hurt another:
**
**  - A request is "authenticated" when it carries a known token or its
**    connection said hello; everything else (hello itself, bad JSON,
**    unknown tokens) is anonymous. Each kind has its own rate bucket, and
**    the anonymous one is small (anon_rate_per_s, bursts of twice that).
**    A request is decoded first, so that even a rate_limited reply carries
**    its id; the bucket is charged before any reply is queued.
**  - A request is "in flight" from the moment it is taken until its reply
**    has been handed to the transport. A connection may have inflight_max
**    authenticated and ANON_INFLIGHT_MAX anonymous requests in flight, and
**    all anonymous requests together may hold half the workers at most. A
**    client that reads its replies never comes near that; one that does
**    not read them would hold workers in W_SEND forever, so the request
**    that would go beyond is not taken: the connection is closed.
**  - A reply that cannot be handed to the transport within send_timeout_ms
**    (the client stopped reading) closes the connection; nng then finishes
**    every reply queued for it, and the workers go back to work.
**  - nng allocates a message of the size its header announces before the
**    body arrives. The socket's receive limit is therefore small (imxd's
**    default 128 KiB: twice the largest request, so that a message just too
**    large is still read and answered too_large), which bounds the memory
**    of announced messages to connections_max x recv_max_bytes; pages that
**    no byte arrived for are never touched, and it is freed at close.
**  - Log lines a client can cause are rate limited: one per connection and
**    second for unknown tokens and rate excess, one per second in all for
**    refused and dropped connections (with a count of those not logged).
**
** Stopping (imx_server_stop) goes in this order: refuse new connections and
** new requests (they get an error reply), let the engine drain its queue
** (every request it took is executed, committed and answered), wait a
** bounded time for the replies to go out, then close the sockets.
*/
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
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
#include <unistd.h>

#include "core.h"
#include "imx_ledger.h"
#include "imx_server.h"
#include "job.h"
#include "reads.h"
#include "web.h"
#include "snapfile.h"
#include "tlsconf.h"

#define ENGINE_LINGER_NS 50000 /* the engine yields this long before it sleeps */
#define ANON_INFLIGHT_MAX 4u     /* anonymous requests in flight per connection */
#define CONNECTIONS_DEFAULT 1024u
#define ANON_RATE_DEFAULT 100.0  /* anonymous requests per second per connection */
#define SEND_TIMEOUT_MS_DEFAULT 1000
#define LOG_EVERY_NS 1000000000  /* a client-caused log line: once a second */
#define STOP_DRAIN_MS 1500       /* stopping: the longest wait for replies */
#define STOP_CLOSE_MS 1000       /* ... for connections to end, for nng_close */

enum { W_RECV, W_WAIT, W_SEND };
enum { K_NONE, K_AUTH, K_ANON }; /* which allowance a request counts against */
enum { ADMIT_OK, ADMIT_RATE, ADMIT_DROP, ADMIT_GONE };

typedef struct worker {
  struct imx_server *srv;
  nng_aio *aio;
  nng_ctx ctx;
  int state;
  imx_job job;         /* its request; job.aio is aio, job.reply its buffer */
  nng_pipe pipe;       /* the connection of the request being served */
  int kind;            /* K_*: what it is counted against while in flight */
  reads *reads;        /* its reader of the ledger (order.history) */
} worker;

typedef struct token_entry {
  char hash[65];
  uint32_t cc;
} token_entry;

typedef struct pipe_entry {
  uint32_t pipe; /* nng's pipe id; 0: free (then next_free chains it) */
  uint32_t next_free;
  int64_t auth_cc;     /* -1: no hello yet */
  double tokens;       /* authenticated requests' bucket */
  double anon_tokens;  /* anonymous requests' bucket */
  int64_t last_ns;     /* the buckets' last refill */
  uint32_t inflight, anon_inflight;
  int64_t rate_warned_ns, token_warned_ns;
} pipe_entry;

/* One log line per LOG_EVERY_NS for something any number of clients can
** cause; the next line says how many were not logged. */
typedef struct log_gate {
  pthread_mutex_t mu;
  int64_t last_ns;
  uint64_t quiet; /* events since the last line */
} log_gate;

struct imx_server {
  imx_server_config cfg;
  nng_socket rep, pub;
  int pub_open;
  nng_aio *pub_aio;           /* no callback: pub0 completes it at once */
  atomic_int subscribers;     /* pub pipes: ADD_PRE seen, REM_POST not  */
  worker *workers;
  uint32_t workers_n;
  nng_listener rep_listener, pub_listener;
  nng_tls_config *tls;         /* cfg.tls_cert/tls_key; NULL: none given */
  int listen_port;             /* tcp: the requests' port; 0: another transport */
  int publish_port;            /* the same for market data */
  pthread_mutex_t pipes_mu;
  pipe_entry *pipes; /* cfg.connections_max entries, free ones chained */
  uint32_t pipes_free;
  imx_hash pipes_index; /* pipe id -> entry                            */
  uint32_t anon_inflight;      /* all connections'; under pipes_mu     */
  uint32_t anon_inflight_max;  /* half the workers                     */
  atomic_int closing;          /* stopping: no new connections, requests */
  atomic_int owed;             /* queued requests whose reply is not out */
  log_gate refused_log, dropped_log;
  pthread_mutex_t queue_mu;
  pthread_cond_t queue_cv;
  imx_job *queue_head, *queue_tail;
  atomic_int queued;     /* queue_head != NULL, readable without queue_mu */
  int engine_waiting;    /* on queue_cv: the next request must wake it   */
  int stopping;
  pthread_t engine_thread;
  int engine_started;
  imx_core *core;
  imx_ledger *ledger;
  int64_t journal_seq; /* the last written */
  int batch_closed;    /* the batch closed a period (a snapshot is due) */
  /* Snapshots (snapfile.h): the engine thread writes the core's state into
  ** snap_buf after a durable batch, the snapshot thread writes the file.
  ** snap_busy (under snap_mu) says the buffer is the thread's. */
  char *snap_path;            /* NULL: no snapshots                     */
  int64_t snap_seq;           /* the journal seq of the last one taken  */
  pthread_t snap_thread;
  int snap_started, snap_busy, snap_stop;
  pthread_mutex_t snap_mu;
  pthread_cond_t snap_cv;
  uint8_t *snap_buf;
  size_t snap_cap, snap_len;
  int64_t snap_copy_ns;       /* how long the engine paused for the last */
  snap_meta snap_next;
  char snap_key[65];          /* what a snapshot must have been written
                              ** with: the market file and the order
                              ** limits (snapshot_start)                */
  /* After a start from a snapshot: the whole ledger checked in the
  ** background (audit_main), on a read-only connection of its own. */
  pthread_t audit_thread;
  int audit_started;
  pthread_mutex_t audit_mu;   /* audit_ledger while the thread has it */
  imx_ledger *audit_ledger;
  atomic_int audit_stop;
  int audit_due;              /* recovered from a snapshot */
  atomic_int failed;   /* the ledger failed: nothing more is acknowledged */
  char listen_bound[256], publish_bound[256];
  token_entry *tokens; /* sorted by hash */
  uint32_t tokens_n;
  web *web;            /* the web front (--http), or NULL */
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

/* ---------------------------------------------------------- pipe table */

/* Whether a gated line may be logged now; *quiet gets the events not
** logged since the last line. */
static int log_gate_open(log_gate *g, uint64_t *quiet) {
  int64_t t = now_ns();
  int open = 0;
  pthread_mutex_lock(&g->mu);
  if (t - g->last_ns >= LOG_EVERY_NS) {
    g->last_ns = t;
    *quiet = g->quiet;
    g->quiet = 0;
    open = 1;
  } else {
    g->quiet++;
  }
  pthread_mutex_unlock(&g->mu);
  return open;
}

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

static pipe_entry *pipe_entry_of(imx_server *s, uint32_t id) {
  uint32_t slot, k = pipe_find(s, id, &slot);
  return k == IMX_HASH_NIL ? NULL : &s->pipes[k];
}

/* Makes the entry of a new pipe; -1 when the table is full (or the server
** stops). Called with pipes_mu held. */
static int pipe_add(imx_server *s, uint32_t id) {
  IMX_ASSERT(id != 0);
  uint32_t slot;
  IMX_ASSERT(pipe_find(s, id, &slot) == IMX_HASH_NIL);
  if (s->pipes_free == IMX_HASH_NIL || atomic_load(&s->closing)) return -1;
  uint32_t k = s->pipes_free;
  pipe_entry *p = &s->pipes[k];
  IMX_ASSERT(p->pipe == 0);
  s->pipes_free = p->next_free;
  memset(p, 0, sizeof *p);
  p->pipe = id;
  p->auth_cc = -1;
  p->tokens = s->cfg.rate_burst;
  p->anon_tokens = 2 * s->cfg.anon_rate_per_s;
  p->last_ns = now_ns();
  p->rate_warned_ns = p->token_warned_ns = p->last_ns - LOG_EVERY_NS;
  imx_hash_put(&s->pipes_index, id, k);
  IMX_ASSERT(s->pipes_index.n <= s->cfg.connections_max);
  return 0;
}

static void pipe_del(imx_server *s, uint32_t id) {
  uint32_t slot, k = pipe_find(s, id, &slot);
  if (k == IMX_HASH_NIL) return; /* refused at ADD_PRE */
  /* Requests still in flight on it stop counting for the connection, but
  ** the anonymous ones keep their workers until their replies are done. */
  imx_hash_del(&s->pipes_index, slot, s, pipe_hash_of);
  s->pipes[k].pipe = 0;
  s->pipes[k].next_free = s->pipes_free;
  s->pipes_free = k;
}

/* nng's ADD_PRE: the connection gets an entry, or is closed before it can
** send anything (closing the pipe here is how nng lets a callback refuse
** it). REM_POST follows for both, exactly once. */
static void on_pipe_added(nng_pipe p, nng_pipe_ev ev, void *arg) {
  imx_server *s = arg;
  (void)ev;
  pthread_mutex_lock(&s->pipes_mu);
  int rc = pipe_add(s, (uint32_t)nng_pipe_id(p));
  pthread_mutex_unlock(&s->pipes_mu);
  if (rc == 0) return;
  nng_pipe_close(p);
  uint64_t quiet;
  if (!atomic_load(&s->closing) && log_gate_open(&s->refused_log, &quiet))
    imx_log("connection refused: %u connections already (--max-connections); "
            "%llu more refused since the last such line",
            s->cfg.connections_max, (unsigned long long)quiet);
}

static void on_pipe_removed(nng_pipe p, nng_pipe_ev ev, void *arg) {
  imx_server *s = arg;
  (void)ev;
  pthread_mutex_lock(&s->pipes_mu);
  pipe_del(s, (uint32_t)nng_pipe_id(p));
  pthread_mutex_unlock(&s->pipes_mu);
}

/* Refills both buckets of a connection. Called with pipes_mu held. */
static void pipe_refill(const imx_server *s, pipe_entry *p, int64_t t) {
  double dt_s = (double)(t - p->last_ns) * 1e-9;
  p->last_ns = t;
  p->tokens += dt_s * s->cfg.rate_per_s;
  if (p->tokens > s->cfg.rate_burst) p->tokens = s->cfg.rate_burst;
  p->anon_tokens += dt_s * s->cfg.anon_rate_per_s;
  if (p->anon_tokens > 2 * s->cfg.anon_rate_per_s)
    p->anon_tokens = 2 * s->cfg.anon_rate_per_s;
}

/* Takes a request on a connection. *kind is K_AUTH or K_ANON, or K_NONE
** for a request without a token: then the connection's hello decides.
** Returns ADMIT_DROP when it would go beyond what may be in flight (the
** caller closes the connection), ADMIT_GONE when the connection is gone
** already; otherwise the request is in flight (pipe_release ends that) and
** ADMIT_RATE says that its bucket was empty. *conn_cc is the hello's cost
** centre or -1. */
static int pipe_admit(imx_server *s, uint32_t id, int *kind_io, int64_t *conn_cc) {
  int rc = ADMIT_OK, warn = 0, kind = *kind_io;
  pthread_mutex_lock(&s->pipes_mu);
  pipe_entry *p = pipe_entry_of(s, id);
  if (p && kind == K_NONE) kind = p->auth_cc >= 0 ? K_AUTH : K_ANON;
  *kind_io = kind;
  if (p == NULL) {
    rc = ADMIT_GONE;
  } else if (kind == K_AUTH ? p->inflight >= s->cfg.inflight_max
                            : p->anon_inflight >= ANON_INFLIGHT_MAX ||
                                  s->anon_inflight >= s->anon_inflight_max) {
    rc = ADMIT_DROP;
  } else {
    int64_t t = now_ns();
    pipe_refill(s, p, t);
    double *bucket = kind == K_AUTH ? &p->tokens : &p->anon_tokens;
    if (kind == K_AUTH) p->inflight++;
    else p->anon_inflight++, s->anon_inflight++;
    if (*bucket >= 1.0) {
      *bucket -= 1.0;
    } else {
      rc = ADMIT_RATE;
      if (t - p->rate_warned_ns >= LOG_EVERY_NS) {
        p->rate_warned_ns = t; /* one log line per connection per second */
        warn = 1;
      }
    }
  }
  *conn_cc = p ? p->auth_cc : -1;
  pthread_mutex_unlock(&s->pipes_mu);
  if (warn) imx_log("connection %u is over its %srate limit", id,
                    kind == K_AUTH ? "" : "unauthenticated ");
  return rc;
}

/* A request's reply went out (or never will): it is no longer in flight. */
static void pipe_release(imx_server *s, uint32_t id, int kind) {
  IMX_ASSERT(kind == K_AUTH || kind == K_ANON);
  pthread_mutex_lock(&s->pipes_mu);
  if (kind == K_ANON) {
    IMX_ASSERT(s->anon_inflight > 0);
    s->anon_inflight--;
  }
  pipe_entry *p = pipe_entry_of(s, id);
  if (p && kind == K_AUTH) {
    IMX_ASSERT(p->inflight > 0);
    p->inflight--;
  } else if (p) {
    IMX_ASSERT(p->anon_inflight > 0);
    p->anon_inflight--;
  }
  pthread_mutex_unlock(&s->pipes_mu);
}

/* Whether a line about an unknown token on this connection may be logged
** (one per connection per second). */
static int pipe_may_log_token(imx_server *s, uint32_t id) {
  int64_t t = now_ns();
  int ok = 0;
  pthread_mutex_lock(&s->pipes_mu);
  pipe_entry *p = pipe_entry_of(s, id);
  if (p && t - p->token_warned_ns >= LOG_EVERY_NS) {
    p->token_warned_ns = t;
    ok = 1;
  }
  pthread_mutex_unlock(&s->pipes_mu);
  return ok;
}

static void pipe_authenticate(imx_server *s, uint32_t id, uint32_t cc) {
  pthread_mutex_lock(&s->pipes_mu);
  pipe_entry *p = pipe_entry_of(s, id);
  if (p) p->auth_cc = cc;
  pthread_mutex_unlock(&s->pipes_mu);
}

/* ------------------------------------------------- closing connections */

/* nng 1.5.2 loses a pipe's close (nng_pipe_close, or nng_close's) that
** lands while its TCP transport is between reading a message's header and
** its body: the body read is started on a stopped aio, which nng drops
** without a callback. The pipe then never finishes closing, nng's one
** reaper thread waits for it for good (no pipe is ever freed again, so no
** REM_POST, no free table entry, no closed descriptor), and nng_close
** waits forever: the "SIGTERM under load hangs in nng_close". A connection
** that dies under the transport (the peer went away) takes the error path
** instead, when the receiving side fails first: then the close starts
** from the end of a read, never in the middle of one. So imxd ends a TCP
** connection by shutting down its receiving side (shutdown(2), SHUT_RD:
** the next read sees the end, nng closes the pipe from there, and that
** close aborts a send stuck on a client that does not read). The socket is
** found among the process's descriptors by its local port (the
** listener's) and, for one connection, its peer's address. Returns how
** many sockets it shut down. */
static int same_peer(const struct sockaddr_storage *ss, const nng_sockaddr *peer) {
  if (peer == NULL) return 1;
  if (ss->ss_family == AF_INET && peer->s_family == NNG_AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    return a->sin_port == peer->s_in.sa_port &&
           a->sin_addr.s_addr == peer->s_in.sa_addr;
  }
  if (ss->ss_family == AF_INET6 && peer->s_family == NNG_AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    return a->sin6_port == peer->s_in6.sa_port &&
           memcmp(&a->sin6_addr, peer->s_in6.sa_addr, 16) == 0;
  }
  return 0;
}

static int local_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof ss;
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return -1;
}

static int tcp_shutdown(int port, const nng_sockaddr *peer) {
  IMX_ASSERT(port > 0);
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) return 0;
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) { /* bounded: the open files */
    int fd = atoi(e->d_name);
    if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(d)) continue;
    if (local_port(fd) != port) continue;
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0) continue; /* a listener */
    if (!same_peer(&ss, peer)) continue;
    shutdown(fd, SHUT_RD);
    n++;
  }
  closedir(d);
  return n;
}

/* ------------------------------------------------------------- workers */

/* The worker is done with its request: it is no longer in flight. */
static void worker_release(worker *w) {
  server_job_done(w->srv, &w->job);
  if (w->kind == K_NONE) return;
  pipe_release(w->srv, (uint32_t)nng_pipe_id(w->pipe), w->kind);
  w->kind = K_NONE;
}

/* Waits for the next request. */
static void worker_recv(worker *w) {
  IMX_ASSERT(w->kind == K_NONE);
  w->state = W_RECV;
  IMX_ASSERT(!w->job.owed);
  nng_aio_set_timeout(w->aio, NNG_DURATION_INFINITE);
  nng_ctx_recv(w->ctx, w->aio);
}

/* Closes the worker's connection: it broke a limit. nng finishes what was
** queued for it (as sent), so every worker waiting on it goes on. */
static void drop_connection(worker *w, const char *why) {
  uint64_t quiet;
  uint32_t id = (uint32_t)nng_pipe_id(w->pipe);
  nng_sockaddr peer;
  /* Over tcp, a connection whose socket is gone already is on its way out:
  ** no nng_pipe_close (see tcp_shutdown). Other transports have only it. */
  if (w->srv->listen_port == 0) nng_pipe_close(w->pipe);
  else if (nng_pipe_get_addr(w->pipe, NNG_OPT_REMADDR, &peer) == 0)
    tcp_shutdown(w->srv->listen_port, &peer);
  if (log_gate_open(&w->srv->dropped_log, &quiet))
    imx_log("connection %u dropped: %s; %llu more dropped since the last such line",
            id, why, (unsigned long long)quiet);
}

static void send_reply(worker *w, const char *buf, size_t len) {
  nng_msg *m;
  if (nng_msg_alloc(&m, 0) != 0 || nng_msg_append(m, buf, len) != 0) {
    /* Out of memory: drop the reply; REQ will ask again. */
    imx_log("out of memory for a reply");
    worker_release(w);
    worker_recv(w);
    return;
  }
  w->state = W_SEND;
  nng_aio_set_msg(w->aio, m);
  /* A client that stops reading must not keep the worker. */
  nng_aio_set_timeout(w->aio, w->srv->cfg.send_timeout_ms);
  nng_ctx_send(w->ctx, w->aio);
}

static void send_error(worker *w, const char *id, const char *code,
                       const char *field, const char *message) {
  size_t len = imx_error_encode(id, code, field, message, w->job.reply,
                                IMX_REPLY_BYTES_MAX);
  send_reply(w, w->job.reply, len);
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

/* hello with a cc checks the token against that cost centre's; without one,
** the token names its cost centre. The reply tells the client what it
** needs to show money: the market's currency and its decimals. */
int64_t server_token_cc(const imx_server *s, const char *token, const char *cc) {
  int64_t i = cc[0] ? core_cc_index(s->cfg.market, cc) : token_owner(s, token);
  return i >= 0 && token_ok(s, (uint32_t)i, token) ? i : -1;
}

size_t server_hello_ok(const imx_server *s, const char *id, uint32_t cc, char *buf,
                       size_t cap) {
  const imx_market *m = s->cfg.market;
  IMX_ASSERT(cc < m->ccs_n);
  imx_reply r;
  memset(&r, 0, sizeof r);
  r.type = IMX_MSG_HELLO;
  snprintf(r.id, sizeof r.id, "%s", id);
  snprintf(r.cc, sizeof r.cc, "%s", m->ccs[cc].id);
  r.roles = m->ccs[cc].roles;
  memcpy(r.currency, m->currency, sizeof r.currency);
  r.decimals = m->decimals;
  return imx_reply_encode(&r, buf, cap);
}

static void hello(worker *w, uint32_t pipe) {
  imx_server *s = w->srv;
  const imx_request *rq = &w->job.rq;
  int64_t cc = server_token_cc(s, rq->token, rq->cc);
  if (cc < 0) {
    /* the cc only when it is one: a token typed into its field is never
    ** logged */
    if (pipe_may_log_token(s, pipe))
      imx_log("connection %u: hello with a wrong token for %s", pipe,
              !rq->cc[0]                                       ? "(the token's cost centre)"
              : imx_market_cc_find(s->cfg.market, rq->cc) >= 0 ? rq->cc
                                                               : "an unknown cost centre");
    send_error(w, rq->id, "unauthorized", "token",
               rq->cc[0] ? "wrong token for the cost centre" : "unknown token");
    return;
  }
  pipe_authenticate(s, pipe, (uint32_t)cc);
  send_reply(w, w->job.reply,
             server_hello_ok(s, rq->id, (uint32_t)cc, w->job.reply, IMX_REPLY_BYTES_MAX));
}

/* The cancel function of a worker waiting for the engine (nng_aio_stop at
** shutdown): a worker still in the queue leaves it and finishes with rv; one
** the engine has taken is finished by the engine. */
static void wait_cancel(nng_aio *aio, void *arg, int rv) {
  imx_job *w = arg;
  imx_server *s = w->srv;
  int found = 0;
  pthread_mutex_lock(&s->queue_mu);
  for (imx_job **p = &s->queue_head, *prev = NULL; *p; prev = *p, p = &(*p)->next) {
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

/* Starts the worker's wait for the engine and queues its request; -1 when
** the server stops (the caller answers). Begin, defer and append happen
** under queue_mu, after the check: once imx_server_stop set closing (under
** the same lock) nothing joins the queue, so the engine's last batch is
** the last, and no nng_aio_stop can come between begin and defer. */
int server_enqueue(imx_server *s, imx_job *w) {
  pthread_mutex_lock(&s->queue_mu);
  if (atomic_load(&s->closing) || !nng_aio_begin(w->aio)) {
    pthread_mutex_unlock(&s->queue_mu);
    return -1;
  }
  w->next = NULL;
  w->owed = 1;
  atomic_fetch_add(&s->owed, 1);
  nng_aio_set_timeout(w->aio, NNG_DURATION_INFINITE);
  w->srv = s;
  nng_aio_defer(w->aio, wait_cancel, w);
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
  return 0;
}

void server_job_done(imx_server *s, imx_job *j) {
  if (!j->owed) return;
  j->owed = 0;
  atomic_fetch_sub(&s->owed, 1);
}

static int enqueue(worker *w) {
  IMX_ASSERT(w->state == W_RECV);
  w->state = W_WAIT; /* before: the engine may finish it at once */
  if (server_enqueue(w->srv, &w->job) == 0) return 0;
  w->state = W_RECV;
  return -1;
}

/* The cost centre a request acts as: its token's, else the connection's
** hello; -1 when it is not authenticated (token_cc: -1 an unknown token,
** -2 none given). */
static int64_t request_cc(int64_t token_cc, int64_t conn_cc) {
  return token_cc == -2 ? conn_cc : token_cc;
}

/* Runs a decoded, admitted request: hello, authentication, then the queue. */
static void serve(worker *w, uint32_t pipe, int64_t token_cc, int64_t conn_cc) {
  const imx_request *rq = &w->job.rq;
  if (rq->type == IMX_MSG_HELLO) {
    hello(w, pipe);
    return;
  }
  int64_t cc = request_cc(token_cc, conn_cc);
  if (cc < 0 && token_cc == -1) {
    if (pipe_may_log_token(w->srv, pipe))
      imx_log("connection %u: unknown token (logged once a second at most)", pipe);
    send_error(w, rq->id, "unauthorized", "token", "unknown token");
    return;
  }
  if (cc < 0) {
    send_error(w, rq->id, "unauthorized", "token", "say hello first, or give a token");
    return;
  }
  w->job.auth_cc = (uint32_t)cc;
  /* History is read from the ledger here, never by the engine thread;
  ** the open period's summary goes on to it with what was read. */
  w->job.summary = NULL;
  if (reads_handles(rq->type)) {
    size_t len = reads_execute(w->reads, rq, w->job.auth_cc, w->job.reply,
                               IMX_REPLY_BYTES_MAX, &w->job.summary);
    if (len > 0) {
      send_reply(w, w->job.reply, len);
      return;
    }
  }
  if (enqueue(w) != 0)
    send_error(w, rq->id, "internal", "", "imxd is stopping; nothing was done");
}

/* A request arrived: everything that needs no market state happens here.
** It is decoded first (a rate_limited reply carries its id), then counted
** against its connection's allowance, then served. */
static void on_request(worker *w) {
  imx_server *s = w->srv;
  nng_msg *m = nng_aio_get_msg(w->aio);
  w->pipe = nng_msg_get_pipe(m);
  uint32_t pipe = (uint32_t)nng_pipe_id(w->pipe);
  imx_proto_error err = {0};
  imx_request *rq = &w->job.rq;
  int rc = imx_request_decode(nng_msg_body(m), nng_msg_len(m), rq, &err);
  nng_msg_free(m);
  int64_t token_cc = -2, conn_cc = -1;
  if (rc == 0 && rq->type != IMX_MSG_HELLO && rq->token[0] != '\0')
    token_cc = token_owner(s, rq->token);
  /* A known token authenticates; without one, the connection's hello. */
  int kind = K_ANON;
  if (rc == 0 && rq->type != IMX_MSG_HELLO && token_cc >= 0) kind = K_AUTH;
  if (rc == 0 && rq->type != IMX_MSG_HELLO && token_cc == -2) kind = K_NONE;
  switch (pipe_admit(s, pipe, &kind, &conn_cc)) {
  case ADMIT_GONE:
    worker_recv(w);
    return;
  case ADMIT_DROP:
    drop_connection(w, kind == K_AUTH ? "too many requests in flight (--inflight)"
                                      : "too many unauthenticated requests in flight");
    worker_recv(w);
    return;
  case ADMIT_RATE:
    w->kind = kind;
    send_error(w, rq->id, "rate_limited", "", "too many requests on this connection");
    return;
  default:
    w->kind = kind;
    break;
  }
  if (rc != 0) {
    send_error(w, rq->id, err.code, err.field, err.message);
    return;
  }
  serve(w, pipe, token_cc, conn_cc);
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
    if (rv != 0) {
      worker_release(w);
      return;
    }
    IMX_ASSERT(w->job.reply_len > 0);
    send_reply(w, w->job.reply, w->job.reply_len);
    break;
  case W_SEND:
    if (rv != 0) nng_msg_free(nng_aio_get_msg(w->aio));
    worker_release(w);
    if (rv == NNG_ETIMEDOUT) drop_connection(w, "it does not read its replies");
    if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) return;
    worker_recv(w);
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
  IMX_ASSERT(r->changed || (r->trades_n == 0 && r->period_closed == 0 &&
                             r->closed_n == 0 && r->rating == NULL));
  if (r->changed &&
      imx_ledger_journal(l, ++s->journal_seq, now, r->journal_cc, r->journal,
                         r->journal_len) != 0)
    return -1;
  for (uint32_t i = 0; i < r->trades_n; i++) {
    const imx_reply_trade *t = &r->trades[i].trade;
    int orders = !r->trades[i].tender;
    imx_ledger_trade lt = {.trade_id = (int64_t)t->trade, .period = r->trades[i].period,
                           .time_ms = t->time_ms, .service = t->service,
                           .buyer = t->buyer, .seller = t->seller,
                           .qty = t->qty, .price_minor = t->price_minor,
                           .buy_order = orders ? (int64_t)t->buy_order : 0,
                           .sell_order = orders ? (int64_t)t->sell_order : 0};
    if (imx_ledger_put_trade(l, &lt) != 0) return -1;
  }
  /* The orders it closed, after their fills: order.history reads both. */
  for (uint32_t i = 0; i < r->closed_n; i++) {
    const core_closed *k = &r->closed[i];
    imx_ledger_order o = {.order_id = (int64_t)k->order, .cc = k->cc,
                          .service = k->service, .side = k->side, .tif = k->tif,
                          .aon = k->aon, .price_minor = k->price_minor, .qty = k->qty,
                          .qty_filled = k->qty_filled, .status = k->status,
                          .reason = k->reason, .period = k->period,
                          .closed_ms = k->time_ms};
    if (imx_ledger_put_order(l, &o) != 0) return -1;
  }
  /* A rating, or its reply: ratings.list and the export read them. */
  const core_rating *k = r->rating;
  if (k && k->stars) {
    imx_ledger_rating lr = {.trade_id = (int64_t)k->trade, .service = k->service,
                            .provider = k->provider, .rater = k->rater,
                            .stars = k->stars, .comment = k->comment,
                            .time_ms = k->time_ms};
    if (imx_ledger_put_rating(l, &lr) != 0) return -1;
  } else if (k && imx_ledger_put_reply(l, (int64_t)k->trade, k->comment, k->time_ms) != 0) {
    return -1;
  }
  if (r->period_closed) s->batch_closed = 1;
  if (r->period_closed && imx_ledger_close_period(l, r->period_closed, now) != 0)
    return -1;
  return 0;
}

/* Runs one batch: the clock's tick, then the requests, each settled in one
** ledger transaction that is committed before anything is acknowledged.
** Returns 0 when the batch is durable (or there is no ledger). */
static int run_batch(imx_server *s, imx_job *batch, int64_t now) {
  imx_ledger *l = s->ledger;
  int rc = l ? imx_ledger_begin(l) : 0;
  core_batch_begin(s->core);
  web_batch_begin(s->web);
  core_result r = core_tick(s->core, now);
  if (l && rc == 0) rc = settle(s, &r, now);
  web_batch_result(s->web, &r);
  for (imx_job *w = batch; w; w = w->next) {
    r = w->summary ? core_execute_summary(s->core, &w->rq, w->auth_cc, w->summary, now,
                                          w->reply, IMX_REPLY_BYTES_MAX)
                   : core_execute(s->core, &w->rq, w->auth_cc, now, w->reply,
                                  IMX_REPLY_BYTES_MAX);
    IMX_ASSERT(r.reply_len > 0);
    w->reply_len = r.reply_len;
    if (l && rc == 0) rc = settle(s, &r, now);
    web_batch_result(s->web, &r);
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
** count is 0 no pipe would get a message. Subscribers are connections too:
** beyond connections_max one is refused (and counted until its REM_POST). */
static void on_subscriber(nng_pipe p, nng_pipe_ev ev, void *arg) {
  imx_server *s = arg;
  int n = atomic_fetch_add(&s->subscribers, ev == NNG_PIPE_EV_ADD_PRE ? 1 : -1);
  uint64_t quiet;
  if (ev == NNG_PIPE_EV_ADD_PRE && (uint32_t)n >= s->cfg.connections_max) {
    nng_pipe_close(p);
    if (log_gate_open(&s->refused_log, &quiet))
      imx_log("subscriber refused: %u subscribers already (--max-connections); "
              "%llu more refused since the last such line",
              s->cfg.connections_max, (unsigned long long)quiet);
  }
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

/* ---------------------------------------------------------------- audit */

/* The checks a start from a snapshot left out (the file's integrity, the
** trades before the snapshot, the replay of the journal before it), run
** while the market is served, on a connection of its own (the replay in
** one read transaction) with a core of its own. A failure
** stops the daemon as a failed commit does: imxd exits, and a person looks
** at the ledger (imx ledger verify). */
static void *audit_main(void *arg) {
  imx_server *s = arg;
  char err[512];
  int64_t t0 = now_ns();
  imx_ledger *l = NULL;
  int rc = imx_ledger_open_existing(s->cfg.db_path, &l, err, sizeof err);
  pthread_mutex_lock(&s->audit_mu);
  s->audit_ledger = l;
  pthread_mutex_unlock(&s->audit_mu);
  int64_t trades = 0;
  if (rc == 0 && !atomic_load(&s->audit_stop)) rc = imx_ledger_verify(l, err, sizeof err);
  if (rc == 0 && !atomic_load(&s->audit_stop))
    rc = imx_server_replay_check(&s->cfg, l, &trades, NULL, err, sizeof err);
  pthread_mutex_lock(&s->audit_mu);
  s->audit_ledger = NULL;
  pthread_mutex_unlock(&s->audit_mu);
  imx_ledger_close(l);
  if (atomic_load(&s->audit_stop)) return NULL; /* interrupted: not a finding */
  if (rc == 0) {
    imx_log("ledger %s: the whole ledger checked after the start, and the whole journal "
            "replayed to its %lld trades: ok (%lld ms)", s->cfg.db_path, (long long)trades,
            (long long)((now_ns() - t0) / 1000000));
  } else {
    imx_log("ledger %s: the whole ledger checked after the start: %s: stopping",
            s->cfg.db_path, err);
    atomic_store(&s->failed, 1);
  }
  return NULL;
}

static int audit_start(imx_server *s) {
  pthread_mutex_init(&s->audit_mu, NULL);
  if (!s->audit_due) return 0;
  if (pthread_create(&s->audit_thread, NULL, audit_main, s) != 0) return -1;
  s->audit_started = 1;
  return 0;
}

static void audit_stop(imx_server *s) {
  if (!s->audit_started) return;
  atomic_store(&s->audit_stop, 1);
  pthread_mutex_lock(&s->audit_mu);
  imx_ledger_interrupt(s->audit_ledger);
  pthread_mutex_unlock(&s->audit_mu);
  pthread_join(s->audit_thread, NULL);
  s->audit_started = 0;
}

/* ------------------------------------------------------------ snapshots */

/* Reads journal entry seq's anchor (the first entry journal_from gives). */
static int anchor_of(void *ctx, int64_t seq, int64_t time_ms, const char *cc,
                     const char *command, size_t len) {
  (void)seq;
  snapfile_anchor(time_ms, cc, command, len, ctx);
  return 1; /* that one only */
}

/* Fills snap_buf and snap_next with the core's state now, which is the
** journal's up to journal_seq (the engine is between batches, or stopped).
** The buffer must not be the snapshot thread's. 0, or -1 (logged). */
static int snapshot_take(imx_server *s) {
  int64_t t0 = now_ns();
  size_t n = core_snapshot_write(s->core, s->snap_buf, s->snap_cap);
  if (n > s->snap_cap) {
    size_t cap = n + n / 4;
    uint8_t *b = realloc(s->snap_buf, cap);
    if (b == NULL) {
      imx_log("snapshot: out of memory for %zu bytes; the journal is replayed instead", n);
      return -1;
    }
    s->snap_buf = b;
    s->snap_cap = cap;
    n = core_snapshot_write(s->core, s->snap_buf, s->snap_cap);
    IMX_ASSERT(n <= s->snap_cap);
  }
  s->snap_len = n;
  snap_meta *m = &s->snap_next;
  memset(m, 0, sizeof *m);
  m->seq = s->journal_seq;
  m->last_trade = core_last_trade(s->core);
  m->written_ms = wall_ms();
  memcpy(m->market, s->snap_key, sizeof m->market);
  if (m->seq > 0 && imx_ledger_journal_from(s->ledger, m->seq, anchor_of, m->anchor) != 1) {
    imx_log("snapshot: cannot read journal entry %lld: %s", (long long)m->seq,
            imx_ledger_error(s->ledger));
    return -1;
  }
  s->snap_seq = m->seq;
  s->snap_copy_ns = now_ns() - t0;
  return 0;
}

static void snapshot_write_now(imx_server *s) {
  char err[512];
  int64_t t0 = now_ns();
  if (snapfile_write(s->snap_path, &s->snap_next, s->snap_buf, s->snap_len, err,
                     sizeof err) != 0)
    imx_log("snapshot: %s; the journal is replayed instead", err);
  else
    imx_log("snapshot at journal entry %lld: %zu bytes, copied by the engine thread in "
            "%lld ms, written in %lld ms", (long long)s->snap_next.seq, s->snap_len,
            (long long)(s->snap_copy_ns / 1000000), (long long)((now_ns() - t0) / 1000000));
}

static void *snapshot_main(void *arg) {
  imx_server *s = arg;
  pthread_mutex_lock(&s->snap_mu);
  for (;;) {
    while (!s->snap_busy && !s->snap_stop) pthread_cond_wait(&s->snap_cv, &s->snap_mu);
    if (!s->snap_busy) break; /* stopping, nothing to write */
    pthread_mutex_unlock(&s->snap_mu);
    snapshot_write_now(s);
    pthread_mutex_lock(&s->snap_mu);
    s->snap_busy = 0;
    pthread_cond_broadcast(&s->snap_cv);
  }
  pthread_mutex_unlock(&s->snap_mu);
  return NULL;
}

/* After a durable batch: a snapshot every snapshot_every journal entries
** and at every period close. The engine thread only copies the state into
** the buffer; the snapshot thread hashes and writes it. While it still
** writes the last one, the next waits for a later batch. */
static void snapshot_maybe(imx_server *s) {
  int closed = s->batch_closed;
  s->batch_closed = 0;
  if (s->snap_path == NULL || s->journal_seq == s->snap_seq) return;
  if (!closed && s->journal_seq - s->snap_seq < s->cfg.snapshot_every) return;
  pthread_mutex_lock(&s->snap_mu);
  int busy = s->snap_busy;
  pthread_mutex_unlock(&s->snap_mu);
  if (busy || snapshot_take(s) != 0) return;
  pthread_mutex_lock(&s->snap_mu);
  s->snap_busy = 1;
  pthread_cond_signal(&s->snap_cv);
  pthread_mutex_unlock(&s->snap_mu);
}

/* Stopping, the engine gone: the last state, so that the next start reads
** it and replays nothing; then the thread ends. */
static void snapshot_stop(imx_server *s) {
  if (!s->snap_started) return;
  pthread_mutex_lock(&s->snap_mu);
  while (s->snap_busy) pthread_cond_wait(&s->snap_cv, &s->snap_mu);
  s->snap_stop = 1;
  pthread_cond_signal(&s->snap_cv);
  pthread_mutex_unlock(&s->snap_mu);
  pthread_join(s->snap_thread, NULL);
  s->snap_started = 0;
  /* Only a market that recovered and ran (the engine started) is written. */
  if (s->engine_started && !atomic_load(&s->failed) && s->journal_seq != s->snap_seq &&
      snapshot_take(s) == 0)
    snapshot_write_now(s);
}

static int snapshot_start(imx_server *s) {
  if (s->cfg.snapshot_every <= 0 || s->cfg.db_path == NULL) return 0;
  size_t n = strlen(s->cfg.db_path) + sizeof ".snapshot";
  s->snap_path = malloc(n);
  if (s->snap_path == NULL) return -1;
  snprintf(s->snap_path, n, "%s.snapshot", s->cfg.db_path);
  /* A snapshot holds the state the journal made under these: with other
  ** limits the journal may make another (an entry refused), which only a
  ** whole replay at the start finds, not the audit after a start from the
  ** snapshot, which would then stop imxd while it serves. */
  char key[160];
  int kn = snprintf(key, sizeof key, "%s orders_max=%u orders_per_cc_max=%u",
                    s->cfg.market->digest, s->cfg.orders_max, s->cfg.orders_per_cc_max);
  IMX_ASSERT(kn > 0 && (size_t)kn < sizeof key);
  imx_sha256_hex(key, (size_t)kn, s->snap_key);
  pthread_mutex_init(&s->snap_mu, NULL);
  pthread_cond_init(&s->snap_cv, NULL);
  if (pthread_create(&s->snap_thread, NULL, snapshot_main, s) != 0) return -1;
  s->snap_started = 1;
  return 0;
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
    imx_job *batch = s->queue_head;
    s->queue_head = s->queue_tail = NULL;
    atomic_store(&s->queued, 0);
    int stopping = s->stopping;
    pthread_mutex_unlock(&s->queue_mu);
    /* Stopping: closing is set, so nothing joins the queue any more; the
    ** engine runs what is left, and leaves when the queue is empty. */
    if (stopping && batch == NULL) break;
    int rc = run_batch(s, batch, wall_ms());
    if (rc != 0) atomic_store(&s->failed, 1); /* not durable: not acknowledged */
    /* Durable: the workers send the replies; then tell the market. After
    ** nng_aio_finish the worker is not ours any more. */
    for (imx_job *w = batch, *next; w; w = next) {
      next = w->next;
      nng_aio_finish(w->aio, rc == 0 ? 0 : NNG_ECANCELED);
    }
    if (rc != 0) break;
    publish_batch(s);
    if (s->web) {
      uint32_t md_n = 0;
      const imx_md_event *md = core_batch_md(s->core, &md_n);
      web_batch_publish(s->web, md, md_n);
    }
    snapshot_maybe(s);
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
  int64_t refused;           /* entries this market refuses now */
  int log_refused;           /* ... the first REFUSED_LOGGED go
                             ** to the log                      */
} replay;

/* A journal entry was taken when it ran; replayed against a market file
** that has changed since (a lower budget, fewer levels, a service gone),
** or with lower order limits (--orders-max, --orders-per-cc), it may be
** refused, and what it did (an order resting, say) is then not
** in the market after the start. The start logs the first ones and counts
** all after its "recovered" line. An entry of a cost centre the file no
** longer has stops the start (core_replay's -2). */
#define REFUSED_LOGGED 20

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
  int got = core_replay(r->core, time_ms, cc, command, len, &res);
  if (got == -2) {
    snprintf(r->failed, r->cap, "journal_readable (entry %lld is cost centre %s's, which is "
             "not in this market file)", (long long)seq, cc);
    return 1;
  }
  if (got != 0) {
    snprintf(r->failed, r->cap, "journal_readable (entry %lld cannot be read)",
             (long long)seq);
    return 1;
  }
  IMX_ASSERT(res.trades_n == 0 || res.trades != NULL);
  if (!res.changed && ++r->refused <= REFUSED_LOGGED && r->log_refused) {
    size_t n = 0;
    const char *reply = core_replay_reply(r->core, &n);
    imx_log("journal entry %lld (%s) is refused by this market file or imxd's order "
            "limits, so what it did is not in the market: %.*s", (long long)seq,
            cc[0] ? cc : "the clock", (int)n, reply);
  }
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

/* Replays the journal from entry `from` on into core (fresh, or read from
** the snapshot of entry from - 1, whose last trade is `after`) and
** compares its trades with the ledger's after that one. Returns 0, or -1
** with the failed check in failed. */
static int replay_journal(imx_core *core, imx_ledger *l, int64_t from, int64_t after,
                          int64_t *trades_n, int64_t *refused, int log_refused,
                          char *failed, size_t cap) {
  replay r = {.core = core, .ledger = l, .failed = failed, .cap = cap, .last_id = after,
              .log_refused = log_refused};
  failed[0] = '\0';
  if (imx_ledger_trades_open_after(l, 0, after, &r.trades) != 0) {
    snprintf(failed, cap, REPLAY_CHECK ": %s", imx_ledger_error(l));
    imx_ledger_trades_close(r.trades);
    return -1;
  }
  int rc = imx_ledger_journal_from(l, from, replay_entry, &r);
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
  *refused = r.refused;
  return rc == 0 && more == 0 ? 0 : -1;
}

int imx_server_replay_check(const imx_server_config *cfg, imx_ledger *l,
                            int64_t *trades_n, int64_t *refused_n, char *failed,
                            size_t cap) {
  IMX_ASSERT(cfg != NULL && cfg->market != NULL && l != NULL && cap > 0);
  core_config cc = {.market = cfg->market, .orders_max = cfg->orders_max,
                    .orders_per_cc_max = cfg->orders_per_cc_max};
  imx_core *core = NULL;
  const char *why = NULL;
  int rc = -1;
  if (core_open(&cc, &core, &why) != 0)
    snprintf(failed, cap, "market (%s)", why);
  else if (imx_ledger_read_begin(l) != 0)
    snprintf(failed, cap, "journal_readable: %s", imx_ledger_error(l));
  else {
    /* one read transaction: a live imxd's later entries and trades are
    ** not seen half */
    int64_t refused = 0;
    rc = replay_journal(core, l, 1, 0, trades_n, &refused, 0, failed, cap);
    imx_ledger_read_end(l);
    if (refused_n) *refused_n = refused;
  }
  core_close(core);
  return rc;
}

/* Reads the snapshot file into the fresh core when it belongs to this
** ledger and market: its journal entry is the ledger's (same hash), the
** ledger has its last trade, the market file is the same. Returns 1 with
** *from and *after set (the first entry to replay, the last trade it
** holds), or 0 when there is none to use (logged why): the whole journal is
** replayed then, into a core made again if the snapshot got half read. */
static int recover_snapshot(imx_server *s, int64_t last_seq, int64_t last_trade,
                            int64_t *from, int64_t *after) {
  snap_meta m;
  void *payload = NULL;
  size_t len = 0;
  char err[512];
  const char *why = NULL;
  int rc = snapfile_read(s->snap_path, &m, &payload, &len, err, sizeof err);
  if (rc == 1) return 0;
  char anchor[65] = "";
  if (rc != 0) why = err;
  else if (memcmp(m.market, s->snap_key, 64) != 0)
    why = "it was written with another market file or other order limits (--orders-max, "
          "--orders-per-cc)";
  else if (m.seq > last_seq || m.last_trade > last_trade || m.seq < 0 || m.last_trade < 0)
    why = "it is newer than the ledger (a ledger restored from a backup?)";
  else if (m.seq > 0 && imx_ledger_journal_from(s->ledger, m.seq, anchor_of, anchor) != 1)
    why = "its journal entry is not in the ledger";
  else if (memcmp(anchor, m.anchor, 64) != 0)
    why = "its journal entry is not the ledger's (another ledger?)";
  int read = why == NULL;
  if (read && core_snapshot_read(s->core, payload, len, &why) != 0) read = -1;
  if (read == 1 && core_last_trade(s->core) != m.last_trade) {
    why = "its last trade is not the one its header names";
    read = -1;
  }
  free(payload);
  if (read == 1) {
    *from = m.seq + 1;
    *after = m.last_trade;
    s->snap_seq = m.seq;
    return 1;
  }
  imx_log("ledger %s: snapshot %s not used: %s; replaying the whole journal",
          s->cfg.db_path, s->snap_path, why);
  if (read < 0) { /* half read: start from a fresh core */
    core_close(s->core);
    s->core = NULL;
    core_config cc = {.market = s->cfg.market, .orders_max = s->cfg.orders_max,
                      .orders_per_cc_max = s->cfg.orders_per_cc_max};
    const char *open_why = NULL;
    if (core_open(&cc, &s->core, &open_why) != 0) {
      imx_log("cannot set up the market: %s", open_why);
      return -1;
    }
  }
  return 0;
}

static int recover(imx_server *s) {
  char err[512];
  if (imx_ledger_open(s->cfg.db_path, s->cfg.sync_full, &s->ledger, err, sizeof err)) {
    imx_log("ledger %s: %s", s->cfg.db_path, err);
    return -1;
  }
  int64_t seq = 0, trade = 0, replayed = 0, from = 1, after = 0;
  if (imx_ledger_last(s->ledger, &seq, &trade) != 0) {
    imx_log("ledger %s: cannot replay the journal: %s", s->cfg.db_path,
            imx_ledger_error(s->ledger));
    return -1;
  }
  int64_t t0 = now_ns();
  int snap = s->snap_path ? recover_snapshot(s, seq, trade, &from, &after) : 0;
  if (snap < 0) return -1;
  int64_t refused = 0;
  if (replay_journal(s->core, s->ledger, from, after, &replayed, &refused, 1, err,
                     sizeof err) != 0) {
    imx_log("ledger %s: check %s failed: refusing to serve", s->cfg.db_path, err);
    return -1;
  }
  s->journal_seq = seq;
  int64_t t1 = now_ns();
  /* From a snapshot, the trades since it are checked now, the whole ledger
  ** right after the start (audit_start): the start does not wait for it. */
  if ((snap ? imx_ledger_verify_after(s->ledger, after, err, sizeof err)
            : imx_ledger_verify(s->ledger, err, sizeof err)) != 0) {
    imx_log("ledger %s: check %s: refusing to serve", s->cfg.db_path, err);
    return -1;
  }
  /* One line either way: "recovered N commands and M trades; verified", then
  ** where they came from and what it took. */
  char how[160];
  if (snap)
    snprintf(how, sizeof how, "the snapshot of journal entry %lld read, %lld entries after it",
             (long long)(from - 1), (long long)(seq - from + 1));
  else
    snprintf(how, sizeof how, "the whole journal, %lld entries", (long long)seq);
  imx_log("ledger %s: recovered %lld commands and %lld trades; verified (%s replayed "
          "in %lld ms, %s checked in %lld ms)", s->cfg.db_path, (long long)seq,
          (long long)trade, how, (long long)((t1 - t0) / 1000000),
          snap ? "the trades since" : "the ledger", (long long)((now_ns() - t1) / 1000000));
  if (refused > 0) {
    char logged[32] = "each is";
    if (refused > REFUSED_LOGGED) snprintf(logged, sizeof logged, "the first %d are", REFUSED_LOGGED);
    imx_log("ledger %s: journal entries refused by this market file or imxd's order "
            "limits (--orders-max, --orders-per-cc): %lld (%s logged above); what they "
            "did is not in the market", s->cfg.db_path, (long long)refused, logged);
  }
  s->audit_due = snap;
  return 0;
}

/* ------------------------------------------------------------ lifecycle */

static int fail_nng(const char *what, int rv) {
  imx_log("%s: %s", what, nng_strerror(rv));
  return -1;
}

/* tcp:// or tls+tcp://: a port to read back. */
static int url_is_tcp(const char *url) {
  return strncmp(url, "tcp", 3) == 0 || strncmp(url, "tls+tcp", 7) == 0;
}

/* Listens, and writes the URL as bound: "tcp://host:0" asks for a free
** port, and the log must say which one (the tests read it there). A TLS
** URL's listener gets the certificate before it starts. */
static int listen_on(nng_socket sock, const char *url, nng_tls_config *tls,
                     nng_listener *lp, char *bound, size_t cap) {
  nng_listener l = NNG_LISTENER_INITIALIZER;
  int rv, port = 0;
  if (tlsconf_url_is_tls(url)) {
    IMX_ASSERT(tls != NULL); /* open_sockets refused the URL otherwise */
    if ((rv = nng_listener_create(&l, sock, url)) == 0 &&
        (rv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, tls)) == 0)
      rv = nng_listener_start(l, 0);
  } else {
    rv = nng_listen(sock, url, &l, 0);
  }
  *lp = l;
  if (rv != 0) return rv;
  const char *colon = strrchr(url, ':');
  if (url_is_tcp(url) && colon &&
      nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port) == 0)
    snprintf(bound, cap, "%.*s:%d", (int)(colon - url), url, port);
  else
    snprintf(bound, cap, "%s", url);
  return 0;
}

/* The certificate, when given; a TLS URL without one is refused. */
static int open_tls(imx_server *s) {
  const imx_server_config *c = &s->cfg;
  const char *tls_url = tlsconf_url_is_tls(c->listen_url)    ? c->listen_url
                        : tlsconf_url_is_tls(c->publish_url) ? c->publish_url
                                                             : NULL;
  if ((c->tls_cert == NULL) != (c->tls_key == NULL)) {
    imx_log("--tls-cert and --tls-key go together: give both");
    return -1;
  }
  if (c->tls_cert == NULL) {
    if (tls_url == NULL) return 0;
    imx_log("%s: a TLS URL needs the server's certificate and key: "
            "pass --tls-cert FILE --tls-key FILE", tls_url);
    return -1;
  }
  char err[512];
  if (tlsconf_server(c->tls_cert, c->tls_key, &s->tls, err, sizeof err) != 0) {
    imx_log("%s", err);
    return -1;
  }
  return 0;
}

static int open_sockets(imx_server *s) {
  int rv;
  if (open_tls(s) != 0) return -1;
  if ((rv = nng_rep0_open(&s->rep)) != 0) return fail_nng("rep socket", rv);
  /* nng 1.5 has no receive limit on tcp and ipc by default, and it
  ** allocates what a message's header announces before the body comes. */
  if ((rv = nng_socket_set_size(s->rep, NNG_OPT_RECVMAXSZ, s->cfg.recv_max_bytes)) != 0)
    return fail_nng("recv-size-max", rv);
  if ((rv = nng_pipe_notify(s->rep, NNG_PIPE_EV_ADD_PRE, on_pipe_added, s)) != 0 ||
      (rv = nng_pipe_notify(s->rep, NNG_PIPE_EV_REM_POST, on_pipe_removed, s)) != 0)
    return fail_nng("pipe notify", rv);
  if ((rv = listen_on(s->rep, s->cfg.listen_url, s->tls, &s->rep_listener, s->listen_bound,
                      sizeof s->listen_bound)) != 0)
    return fail_nng(s->cfg.listen_url, rv);
  if (url_is_tcp(s->cfg.listen_url) &&
      nng_listener_get_int(s->rep_listener, NNG_OPT_TCP_BOUND_PORT, &s->listen_port) != 0)
    s->listen_port = 0;
  if ((rv = nng_pub0_open(&s->pub)) != 0) return fail_nng("pub socket", rv);
  s->pub_open = 1;
  /* Subscribers send nothing that matters. */
  if ((rv = nng_socket_set_size(s->pub, NNG_OPT_RECVMAXSZ, 1024)) != 0)
    return fail_nng("pub recv-size-max", rv);
  if ((rv = nng_aio_alloc(&s->pub_aio, NULL, NULL)) != 0) return fail_nng("pub aio", rv);
  nng_aio_set_timeout(s->pub_aio, NNG_DURATION_ZERO); /* as NNG_FLAG_NONBLOCK */
  if ((rv = nng_pipe_notify(s->pub, NNG_PIPE_EV_ADD_PRE, on_subscriber, s)) != 0 ||
      (rv = nng_pipe_notify(s->pub, NNG_PIPE_EV_REM_POST, on_subscriber, s)) != 0)
    return fail_nng("pub pipe notify", rv);
  if ((rv = listen_on(s->pub, s->cfg.publish_url, s->tls, &s->pub_listener,
                      s->publish_bound, sizeof s->publish_bound)) != 0)
    return fail_nng(s->cfg.publish_url, rv);
  if (url_is_tcp(s->cfg.publish_url) &&
      nng_listener_get_int(s->pub_listener, NNG_OPT_TCP_BOUND_PORT, &s->publish_port) != 0)
    s->publish_port = 0;
  return 0;
}

static int start_workers(imx_server *s) {
  s->workers = calloc(s->cfg.workers, sizeof *s->workers);
  if (s->workers == NULL) return -1;
  for (uint32_t i = 0; i < s->cfg.workers; i++) {
    worker *w = &s->workers[i];
    w->srv = s;
    w->job.aio = NULL;
    w->job.reply = malloc(IMX_REPLY_BYTES_MAX);
    if (w->job.reply == NULL || reads_open(s->cfg.market, s->cfg.db_path, &w->reads) != 0)
      return -1;
    int rv;
    if ((rv = nng_aio_alloc(&w->aio, on_aio, w)) != 0) return fail_nng("aio", rv);
    w->job.aio = w->aio;
    if ((rv = nng_ctx_open(&w->ctx, s->rep)) != 0) return fail_nng("ctx", rv);
    s->workers_n++;
  }
  for (uint32_t i = 0; i < s->workers_n; i++) {
    s->workers[i].state = W_RECV;
    nng_ctx_recv(s->workers[i].ctx, s->workers[i].aio);
  }
  return 0;
}

/* The connection limits a caller left at 0 get their defaults. */
static void default_limits(imx_server_config *c) {
  if (c->connections_max == 0) c->connections_max = CONNECTIONS_DEFAULT;
  if (c->inflight_max == 0) c->inflight_max = c->workers;
  if (c->anon_rate_per_s <= 0) c->anon_rate_per_s = ANON_RATE_DEFAULT;
  if (c->anon_rate_per_s > c->rate_per_s) c->anon_rate_per_s = c->rate_per_s;
  if (c->send_timeout_ms <= 0) c->send_timeout_ms = SEND_TIMEOUT_MS_DEFAULT;
  IMX_ASSERT(c->workers > 0 && c->connections_max < IMX_HASH_NIL / 2);
}

int imx_server_start(const imx_server_config *cfg, imx_server **out) {
  imx_server *s = calloc(1, sizeof *s);
  *out = s;
  if (s == NULL) return -1;
  s->cfg = *cfg;
  default_limits(&s->cfg);
  uint32_t n = s->cfg.connections_max;
  s->anon_inflight_max = s->cfg.workers / 2 > 0 ? s->cfg.workers / 2 : 1;
  pthread_mutex_init(&s->pipes_mu, NULL);
  pthread_mutex_init(&s->queue_mu, NULL);
  pthread_mutex_init(&s->refused_log.mu, NULL);
  pthread_mutex_init(&s->dropped_log.mu, NULL);
  s->refused_log.last_ns = s->dropped_log.last_ns = now_ns() - LOG_EVERY_NS;
  pthread_cond_init(&s->queue_cv, NULL);
  s->pipes = calloc(n, sizeof *s->pipes);
  if (s->pipes == NULL || imx_hash_init(&s->pipes_index, n) != 0 ||
      index_tokens(s) != 0)
    return -1;
  for (uint32_t k = 0; k < n; k++)
    s->pipes[k].next_free = k + 1 < n ? k + 1 : IMX_HASH_NIL;
  s->pipes_free = 0;
  core_config cc = {.market = cfg->market, .orders_max = cfg->orders_max,
                    .orders_per_cc_max = cfg->orders_per_cc_max};
  const char *why = NULL;
  if (core_open(&cc, &s->core, &why) != 0) {
    imx_log("cannot set up the market: %s", why);
    return -1;
  }
  if (snapshot_start(s) != 0) return -1;
  /* Before the sockets: nothing is published or served while recovering. */
  if (cfg->db_path && recover(s) != 0) return -1;
  if (open_sockets(s) != 0) return -1;
  /* The web front before the engine thread: the engine reads s->web and
  ** the web's log and stage with no lock (pthread_create orders them);
  ** calls that come meanwhile wait in the queue. */
  if (cfg->http_url) {
    web_config wc = {.url = cfg->http_url, .root = cfg->http_root,
                     .tls_cert = cfg->tls_cert, .tls_key = cfg->tls_key,
                     .market = cfg->market, .db_path = cfg->db_path,
                     .rate_per_s = s->cfg.rate_per_s, .rate_burst = s->cfg.rate_burst,
                     .inflight_max = s->cfg.inflight_max,
                     .calls_max = 4 * s->cfg.workers,
                     .body_max = s->cfg.recv_max_bytes,
                     .lives_max = s->cfg.connections_max};
    if (web_start(&wc, s, &s->web) != 0) return -1;
  }
  if (pthread_create(&s->engine_thread, NULL, engine_main, s) != 0) return -1;
  s->engine_started = 1;
  if (start_workers(s) != 0) return -1;
  if (audit_start(s) != 0) return -1;
  imx_log("serving %u services and %u cost centres: requests on %s, market data on %s",
          cfg->market->services_n, cfg->market->ccs_n, s->listen_bound,
          s->publish_bound);
  return 0;
}

int imx_server_failed(const imx_server *s) { return atomic_load(&s->failed); }

const char *imx_server_listen_url(const imx_server *s) { return s->listen_bound; }

const char *imx_server_publish_url(const imx_server *s) { return s->publish_bound; }

const char *imx_server_web_url(const imx_server *s) {
  return s->web ? web_url(s->web) : NULL;
}

/* After the engine left: a worker still in the queue (the engine stopped
** on a failed commit) is finished, unacknowledged. */
static void fail_queue(imx_server *s) {
  pthread_mutex_lock(&s->queue_mu);
  imx_job *w = s->queue_head;
  s->queue_head = s->queue_tail = NULL;
  atomic_store(&s->queued, 0);
  pthread_mutex_unlock(&s->queue_mu);
  for (imx_job *next; w; w = next) {
    next = w->next;
    nng_aio_finish(w->aio, NNG_ECANCELED);
  }
}

/* Waits, a bounded time, until the replies to every request the engine
** ran have been handed to the transport (or timed out: send_timeout_ms). */
static void drain_replies(imx_server *s) {
  for (int ms = 0; ms < STOP_DRAIN_MS && atomic_load(&s->owed) > 0; ms += 5) {
    struct timespec ts = {0, 5 * 1000000};
    nanosleep(&ts, NULL);
  }
  if (atomic_load(&s->owed) > 0)
    imx_log("stopping: %d replies still not sent after %d ms", atomic_load(&s->owed),
            STOP_DRAIN_MS);
}

/* Shuts down every connection, then waits (bounded) until nng has removed
** their pipes. Returns 0 if some did not go. */
static int end_connections(imx_server *s) {
  for (int ms = 0; ms < STOP_CLOSE_MS; ms += 5) {
    pthread_mutex_lock(&s->pipes_mu);
    uint32_t n = s->pipes_index.n;
    pthread_mutex_unlock(&s->pipes_mu);
    if (s->publish_port > 0) n += (uint32_t)atomic_load(&s->subscribers);
    if (n == 0) return 1;
    if (ms % 100 == 0) { /* again every 100 ms: connections that came late */
      tcp_shutdown(s->listen_port, NULL);
      if (s->publish_port > 0) tcp_shutdown(s->publish_port, NULL);
    }
    struct timespec ts = {0, 5 * 1000000};
    nanosleep(&ts, NULL);
  }
  return 0;
}

typedef struct closer {
  nng_socket sock;
  atomic_int done;
} closer;

static void *closer_main(void *arg) {
  closer *c = arg;
  nng_close(c->sock);
  atomic_store(&c->done, 1);
  return NULL;
}

/* nng_close, given ms to return: 0, or -1 when it hangs (see tcp_shutdown:
** a pipe whose close nng lost). The thread is then left to the exit, and
** what it holds with it. */
static int close_within(nng_socket sock, int ms) {
  closer *c = calloc(1, sizeof *c);
  pthread_t t;
  if (c == NULL) return nng_close(sock), 0;
  c->sock = sock;
  if (pthread_create(&t, NULL, closer_main, c) != 0) {
    free(c);
    return nng_close(sock), 0;
  }
  for (int i = 0; i < ms && !atomic_load(&c->done); i += 5) {
    struct timespec ts = {0, 5 * 1000000};
    nanosleep(&ts, NULL);
  }
  if (!atomic_load(&c->done)) {
    pthread_detach(t);
    return -1;
  }
  pthread_join(t, NULL);
  free(c);
  return 0;
}

int imx_server_stop(imx_server *s) {
  if (s == NULL) return 0;
  /* 1. No new connection, no new request into the queue (a request that
  ** arrives now is answered "imxd is stopping"). */
  pthread_mutex_lock(&s->queue_mu);
  atomic_store(&s->closing, 1);
  pthread_mutex_unlock(&s->queue_mu);
  if (nng_listener_id(s->rep_listener) > 0) nng_listener_close(s->rep_listener);
  if (nng_listener_id(s->pub_listener) > 0) nng_listener_close(s->pub_listener);
  if (s->engine_started) {
    /* 2. The engine runs what is queued, commits and answers it, then stops. */
    pthread_mutex_lock(&s->queue_mu);
    s->stopping = 1;
    s->engine_waiting = 0;
    pthread_cond_signal(&s->queue_cv);
    pthread_mutex_unlock(&s->queue_mu);
    pthread_join(s->engine_thread, NULL);
  }
  fail_queue(s);
  audit_stop(s);
  snapshot_stop(s); /* the ledger is complete: the next start reads it */
  /* 3. The replies go out; 4. the connections end as if their peers
  ** closed them (see tcp_shutdown), then the sockets close. */
  if (s->workers_n > 0 || s->web) drain_replies(s);
  /* Every job is finished: the web's connections and websockets close. */
  web_stop(s->web);
  s->web = NULL;
  if ((s->listen_port > 0 && !end_connections(s)) ||
      close_within(s->rep, STOP_CLOSE_MS) != 0 ||
      (s->pub_open && close_within(s->pub, STOP_CLOSE_MS) != 0)) {
    imx_log("stopping: nng did not close the connections (a known nng 1.5 hang); "
            "leaving them to the exit");
    core_close(s->core);
    imx_ledger_close(s->ledger);
    return 1; /* nng's threads may still run: nothing of theirs is freed */
  }
  for (uint32_t i = 0; i < s->workers_n; i++) {
    nng_aio_stop(s->workers[i].aio);
    nng_ctx_close(s->workers[i].ctx);
    nng_aio_free(s->workers[i].aio);
  }
  nng_aio_free(s->pub_aio);
  for (uint32_t i = 0; s->workers && i < s->cfg.workers; i++) {
    free(s->workers[i].job.reply);
    reads_close(s->workers[i].reads);
  }
  free(s->workers);
  core_close(s->core);
  imx_ledger_close(s->ledger);
  free(s->pipes);
  imx_hash_free(&s->pipes_index);
  free(s->tokens);
  free(s->snap_buf);
  free(s->snap_path);
  if (s->tls) nng_tls_config_free(s->tls); /* the listeners held their own */
  pthread_mutex_destroy(&s->pipes_mu);
  pthread_mutex_destroy(&s->queue_mu);
  pthread_cond_destroy(&s->queue_cv);
  free(s);
  return 0;
}
