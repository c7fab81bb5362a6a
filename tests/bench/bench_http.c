/*
** bench_http.c -- `imx-bench http`: imxd's web front (issue 14) under load,
** started in this process with imx_server_start and --http on 127.0.0.1.
**
** Orders over HTTP. N client threads (default 16), each with one
** keep-alive HTTP/1.1 connection (a plain blocking TCP socket: one write()
** of the request, read() until the reply's Content-Length is in). Before
** the clock each signs in twice (POST /api/signin with the token of a
** provider and of a receiver of bench_gateway.c's market) and keeps both
** cookies; then, for S seconds (default 5), it sends POST /api/order.new,
** alternating an offer (provider's cookie) and a bid (receiver's), qty 1,
** each at a price drawn from 1,000..1,007 (seeded), so that an order
** crosses when it meets the other side's best: some trade on arrival, some
** rest. Closed loop: the next request goes when the reply is in. Every
** reply is checked (200 and order.new.ok); the latency of each, write to
** whole reply, goes into an array faulted in before the clock.
**
** The baseline, in the same run: nng's own HTTP server (nng_http_server,
** in this process like imxd's), one handler for POST /api/order.new that
** answers a static JSON body of the size of imxd's average reply with the
** headers every web reply of imxd carries (the contract's CSP, nosniff,
** Referrer-Policy, Cache-Control); the same client threads send it the
** same requests on new keep-alive connections. imxd / baseline is the
** ratio printed (target >= 0.7 x): what the session lookup, the decoding,
** the engine thread, the journal and the reply cost on top of nng's HTTP.
**
** The ledger is in memory (no --db), as imx-bench gateway's by default:
** what is measured is the web's path, not SQLite's fsync.
**
** The clients are not what is measured: they do one write() and one or
** two read()s per request and allocate nothing. Each client thread's CPU
** time (CLOCK_THREAD_CPUTIME_ID) is summed and printed beside the
** process's (getrusage), per request too: what the clients cost is on the
** page (mostly the kernel's loopback TCP, which a write() pays for both
** ends), and so is the server's CPU per request, the rest. When imxd's
** throughput is below the baseline's with the cores not busy, the limit
** is imxd's latency per request, not the clients. The 1-minute load
** average says what else ran on the machine.
**
** Live websockets. Then W sockets (--ws, default 1000) are opened on
** GET /api/live, each with a session of its own (W sign-ins, spread over
** the 64 cost centres), upgraded with a raw handshake, and read by one
** epoll thread that parses the frames (text, unmasked) and counts, per
** socket, the trade events ({"type":"trade",...}). Orders then flow for
** --ws-seconds (default 3) at --ws-rate orders/s (default 100; an offer at
** 990 and a bid at 1,010 in turn, so every order trades), and the bench
** waits up to 10 s after the last order until every socket has every
** trade (the number of trades is counted from the order.new.ok replies:
** qty 1, status filled). Printed: sessions held, sockets that got every
** trade, events delivered, and how long after the last order the last
** socket had them all. A socket that misses a trade exits 1.
**
** The process's open-file limit is raised to what 2 x (N + W) sockets need
** (client and server side live in this process); W shrinks if the hard
** limit does not allow it, and the report says so.
*/
#define _POSIX_C_SOURCE 200809L

#include "bench/bench.h"
#include "imx_proto.h"
#include "imx_server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define fail(...) bench_fail("http", __VA_ARGS__)

#define CLIENTS_DEFAULT 16u
#define CLIENTS_MAX 256u
#define SECONDS_DEFAULT 5u
#define WS_DEFAULT 1000u
#define WS_MAX 100000u
#define WS_SECONDS_DEFAULT 3u
#define WS_RATE_DEFAULT 100u
#define WS_DELIVERY_MS 10000 /* after the last order, every trade everywhere */
#define WS_BUF_BYTES 8192    /* a socket's unparsed frames (events are <= 1 KiB) */
#define IO_TIMEOUT_MS 10000
#define HBUF_BYTES 16384
#define REQ_BYTES 1024
#define COOKIE_BYTES 80
#define SAMPLES_PER_S 200000u /* latency slots per second of a run */
#define ERRORS_PER_MILLION_MAX 1000u
#define FDS_SPARE 256
#define PRICE_BASE 1000
#define PRICE_SPREAD 8
#define WS_BID 1010
#define WS_OFFER 990
#define TARGET_RATIO 0.7

/* The headers imxd's web puts on every API reply (docs: the contract). */
#define CSP "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

/* ---- options ------------------------------------------------------------- */

typedef struct http_opts {
  uint32_t clients;
  uint64_t seconds;
  uint32_t ws, ws_seconds, ws_rate;
  int json;
} http_opts;

static int parse_opts(int argc, char **argv, http_opts *o) {
  uint64_t clients = CLIENTS_DEFAULT, seconds = SECONDS_DEFAULT, ws = WS_DEFAULT;
  uint64_t ws_seconds = WS_SECONDS_DEFAULT, ws_rate = WS_RATE_DEFAULT;
  int rc = BENCH_EXIT_OK;
  memset(o, 0, sizeof *o);
  for (int i = 1; i < argc && rc == BENCH_EXIT_OK; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--json") == 0) o->json = 1;
    else if (strcmp(a, "--clients") == 0)
      rc = bench_opt_u64(argc, argv, &i, 1, CLIENTS_MAX, &clients);
    else if (strcmp(a, "--seconds") == 0)
      rc = bench_opt_u64(argc, argv, &i, 1, 3600, &seconds);
    else if (strcmp(a, "--ws") == 0)
      rc = bench_opt_u64(argc, argv, &i, 0, WS_MAX, &ws);
    else if (strcmp(a, "--ws-seconds") == 0)
      rc = bench_opt_u64(argc, argv, &i, 1, 3600, &ws_seconds);
    else if (strcmp(a, "--ws-rate") == 0)
      rc = bench_opt_u64(argc, argv, &i, 1, 100000, &ws_rate);
    else
      rc = bench_usage_error("http: unknown option '%s'", a);
  }
  o->clients = (uint32_t)clients;
  o->seconds = seconds;
  o->ws = (uint32_t)ws;
  o->ws_seconds = (uint32_t)ws_seconds;
  o->ws_rate = (uint32_t)ws_rate;
  return rc;
}

static double cpu_s(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0.0;
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static int64_t thread_cpu_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_until(int64_t t_ns) {
  struct timespec ts = {(time_t)(t_ns / 1000000000), (long)(t_ns % 1000000000)};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
  }
}

/* Raises the soft open-file limit to need (up to the hard limit); returns
** the limit now in force. */
static uint64_t raise_nofile(uint64_t need) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return 0;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ? rl.rlim_max : need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) getrlimit(RLIMIT_NOFILE, &rl);
  }
  return rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : (uint64_t)rl.rlim_cur;
}

/* ---- imxd and the baseline ---------------------------------------------- */

static int port_of(const char *url, uint16_t *port) {
  const char *colon = strrchr(url, ':');
  long p = colon ? strtol(colon + 1, NULL, 10) : 0;
  if (p <= 0 || p > 65535) return fail("no port in %s", url);
  *port = (uint16_t)p;
  return BENCH_EXIT_OK;
}

static int imxd_start(const imx_market *m, imx_server **out, char *url, size_t cap) {
  imx_server_config cfg = {.market = m,
                           .listen_url = "tcp://127.0.0.1:0",
                           .publish_url = "tcp://127.0.0.1:0",
                           .http_url = "http://127.0.0.1:0",
                           .workers = 64,
                           .rate_per_s = 1e9,
                           .rate_burst = 1e9,
                           .recv_max_bytes = 1u << 20,
                           .orders_max = 1u << 20,
                           .orders_per_cc_max = 1u << 26};
  if (imx_server_start(&cfg, out) != 0)
    return fail("imx_server_start failed (see the log above)");
  snprintf(url, cap, "%s", imx_server_web_url(*out));
  return BENCH_EXIT_OK;
}

typedef struct baseline {
  nng_http_server *srv;
  nng_http_handler *h;
  char *body;
  size_t body_len;
  char url[64];
} baseline;

static void baseline_cb(nng_aio *aio) {
  nng_http_handler *h = nng_aio_get_input(aio, 1);
  baseline *b = nng_http_handler_get_data(h);
  nng_http_res *res;
  if (nng_http_res_alloc(&res) != 0) {
    nng_aio_finish(aio, NNG_ENOMEM);
    return;
  }
  if (nng_http_res_set_header(res, "Content-Type", "application/json") != 0 ||
      nng_http_res_set_header(res, "Content-Security-Policy", CSP) != 0 ||
      nng_http_res_set_header(res, "X-Content-Type-Options", "nosniff") != 0 ||
      nng_http_res_set_header(res, "Referrer-Policy", "no-referrer") != 0 ||
      nng_http_res_set_header(res, "Cache-Control", "no-store") != 0 ||
      nng_http_res_copy_data(res, b->body, b->body_len) != 0) {
    nng_http_res_free(res);
    nng_aio_finish(aio, NNG_ENOMEM);
    return;
  }
  nng_aio_set_output(aio, 0, res);
  nng_aio_finish(aio, 0);
}

/* A JSON object of exactly len bytes that reads like an order.new.ok. */
static char *static_reply(size_t len) {
  static const char head[] = "{\"v\":1,\"type\":\"order.new.ok\",\"id\":\"static\",\"order\":1,"
                             "\"status\":\"open\",\"qty_open\":1,\"qty_filled\":0,\"pad\":\"";
  size_t min = sizeof head - 1 + 2;
  if (len < min) len = min;
  char *b = malloc(len + 1);
  if (b == NULL) return NULL;
  memcpy(b, head, sizeof head - 1);
  memset(b + sizeof head - 1, 'x', len - min);
  memcpy(b + len - 2, "\"}", 3);
  return b;
}

static int baseline_start(baseline *b, size_t body_len) {
  memset(b, 0, sizeof *b);
  nng_url *u = NULL;
  nng_sockaddr sa;
  int rv;
  if ((b->body = static_reply(body_len)) == NULL) return fail("out of memory");
  b->body_len = strlen(b->body);
  if ((rv = nng_url_parse(&u, "http://127.0.0.1:0")) != 0 ||
      (rv = nng_http_server_hold(&b->srv, u)) != 0 ||
      (rv = nng_http_handler_alloc(&b->h, "/api/order.new", baseline_cb)) != 0 ||
      (rv = nng_http_handler_set_method(b->h, "POST")) != 0 ||
      (rv = nng_http_handler_collect_body(b->h, true, 65536)) != 0 ||
      (rv = nng_http_handler_set_data(b->h, b, NULL)) != 0 ||
      (rv = nng_http_server_add_handler(b->srv, b->h)) != 0 ||
      (rv = nng_http_server_start(b->srv)) != 0 ||
      (rv = nng_http_server_get_addr(b->srv, &sa)) != 0) {
    if (u) nng_url_free(u);
    return fail("baseline http server: %s", nng_strerror(rv));
  }
  nng_url_free(u);
  snprintf(b->url, sizeof b->url, "http://127.0.0.1:%u", (unsigned)ntohs(sa.s_in.sa_port));
  return BENCH_EXIT_OK;
}

static void baseline_stop(baseline *b) {
  if (b->srv) {
    nng_http_server_stop(b->srv);
    nng_http_server_release(b->srv); /* frees the handler it holds */
  }
  free(b->body);
  memset(b, 0, sizeof *b);
}

/* ---- one keep-alive HTTP/1.1 connection ---------------------------------- */

typedef struct hconn {
  int fd;
  uint16_t port;
  int close_next;       /* the last reply said Connection: close */
  uint64_t reconnects;  /* connections opened after the first */
  size_t have;
  char buf[HBUF_BYTES];
} hconn;

typedef struct hres {
  int status;
  const char *body;
  size_t body_len;
  char cookie[COOKIE_BYTES]; /* imx_session's value, or "" */
} hres;

static int tcp_connect(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons(port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  struct timeval tv = {IO_TIMEOUT_MS / 1000, 0};
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

static int write_all(int fd, const char *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* The value of header name in the header block [h, end), or NULL. */
static const char *header_value(const char *h, const char *end, const char *name,
                                size_t *len) {
  size_t n = strlen(name);
  for (const char *line = h; line < end;) {
    const char *eol = memchr(line, '\n', (size_t)(end - line));
    if (eol == NULL) eol = end;
    if ((size_t)(eol - line) > n && line[n] == ':' && strncasecmp(line, name, n) == 0) {
      const char *v = line + n + 1;
      while (v < eol && *v == ' ') v++;
      const char *ve = eol;
      while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ')) ve--;
      *len = (size_t)(ve - v);
      return v;
    }
    line = eol + 1;
  }
  return NULL;
}

static const char *find_bytes(const char *p, size_t n, const char *s) {
  size_t k = strlen(s);
  for (size_t i = 0; i + k <= n; i++)
    if (p[i] == s[0] && memcmp(p + i, s, k) == 0) return p + i;
  return NULL;
}

static void hconn_close(hconn *c) {
  if (c->fd >= 0) close(c->fd);
  c->fd = -1;
}

static int hconn_open(hconn *c, uint16_t port) {
  c->port = port;
  c->have = 0;
  c->close_next = 0;
  c->fd = tcp_connect(port);
  return c->fd < 0 ? -1 : 0;
}

/* Reads until the header block is in; its length (to the blank line). */
static ssize_t read_headers(int fd, char *buf, size_t cap, size_t *have) {
  for (;;) {
    const char *e = find_bytes(buf, *have, "\r\n\r\n");
    if (e) return (ssize_t)(e + 4 - buf);
    if (*have == cap) return -1;
    ssize_t n = read(fd, buf + *have, cap - *have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    *have += (size_t)n;
  }
}

/* One request, one reply (lockstep: nothing is left over). */
static int hconn_call(hconn *c, const char *req, size_t len, hres *r) {
  if (c->close_next || c->fd < 0) {
    hconn_close(c);
    if (hconn_open(c, c->port) != 0) return -1;
    c->reconnects++;
  }
  c->have = 0;
  if (write_all(c->fd, req, len) != 0) return -1;
  ssize_t hdr = read_headers(c->fd, c->buf, sizeof c->buf, &c->have);
  if (hdr < 0 || strncmp(c->buf, "HTTP/1.", 7) != 0) return -1;
  const char *h = c->buf, *end = c->buf + hdr;
  r->status = atoi(c->buf + 9);
  size_t vlen = 0, clen = 0;
  const char *v = header_value(h, end, "Content-Length", &vlen);
  if (v) clen = (size_t)strtoull(v, NULL, 10);
  if ((size_t)hdr + clen > sizeof c->buf) return -1;
  while (c->have < (size_t)hdr + clen) {
    ssize_t n = read(c->fd, c->buf + c->have, sizeof c->buf - c->have);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return -1;
    c->have += (size_t)n;
  }
  r->body = c->buf + hdr;
  r->body_len = clen;
  r->cookie[0] = '\0';
  v = header_value(h, end, "Set-Cookie", &vlen);
  if (v && vlen > 12 && strncmp(v, "imx_session=", 12) == 0) {
    size_t k = 12;
    while (k < vlen && v[k] != ';') k++;
    if (k - 12 < COOKIE_BYTES) snprintf(r->cookie, COOKIE_BYTES, "%.*s", (int)(k - 12), v + 12);
  }
  v = header_value(h, end, "Connection", &vlen);
  c->close_next = v && vlen == 5 && strncasecmp(v, "close", 5) == 0;
  return 0;
}

/* POST /api/signin with the token of cost centre cc; its cookie. */
static int signin(hconn *c, uint32_t cc, char cookie[COOKIE_BYTES], char *err, size_t cap) {
  char body[64], req[REQ_BYTES];
  int bn = snprintf(body, sizeof body, "{\"token\":\"bench-%u\"}", cc);
  int n = snprintf(req, sizeof req,
                   "POST /api/signin HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                   "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
                   (unsigned)c->port, bn, body);
  hres r;
  if (hconn_call(c, req, (size_t)n, &r) != 0) {
    snprintf(err, cap, "sign-in of CC-%u: no reply", cc);
    return -1;
  }
  if (r.status != 200 || r.cookie[0] == '\0') {
    snprintf(err, cap, "sign-in of CC-%u: %d %.*s", cc, r.status,
             (int)(r.body_len > 120 ? 120 : r.body_len), r.body);
    return -1;
  }
  memcpy(cookie, r.cookie, COOKIE_BYTES);
  return 0;
}

static size_t order_request(char *req, size_t cap, uint16_t port, const char *cookie,
                            char phase, uint32_t client, uint64_t seq, int bid,
                            int64_t price) {
  char body[256];
  int bn = snprintf(body, sizeof body,
                    "{\"id\":\"h%c-%u-%llu\",\"service\":\"" BENCH_MARKET_SERVICE
                    "\",\"side\":\"%s\",\"qty\":1,\"price\":%lld}",
                    phase, client, (unsigned long long)seq, bid ? "bid" : "offer",
                    (long long)price);
  int n = snprintf(req, cap,
                   "POST /api/order.new HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                   "Cookie: imx_session=%s\r\nContent-Type: application/json\r\n"
                   "Content-Length: %d\r\n\r\n%s",
                   (unsigned)port, cookie, bn, body);
  return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static int is_order_ok(const hres *r) {
  static const char ok[] = "{\"v\":1,\"type\":\"order.new.ok\"";
  return r->status == 200 && r->body_len > sizeof ok - 1 &&
         memcmp(r->body, ok, sizeof ok - 1) == 0;
}

static int is_filled(const hres *r) {
  return find_bytes(r->body, r->body_len, "\"status\":\"filled\"") != NULL;
}

/* ---- the order clients --------------------------------------------------- */

typedef struct hrun hrun;

typedef struct hclient {
  hrun *run;
  uint32_t index;
  hconn *conn;
  char cookie_bid[COOKIE_BYTES], cookie_offer[COOKIE_BYTES];
  bench_rng rng;
  pthread_t thread;
  int started;
  uint64_t sent, ok, errors, filled, reply_bytes;
  int64_t cpu_ns, last_ns;
} hclient;

struct hrun {
  uint16_t port;
  const baseline *base; /* NULL: imxd */
  char phase;
  int64_t start_ns, stop_ns;
  uint32_t *lat_ns;
  size_t lat_cap;
  atomic_size_t lat_n;
  atomic_flag error_taken;
  char first_error[200];
};

typedef struct hresult {
  uint64_t sent, ok, errors, filled, reconnects;
  double elapsed_s, per_s, reply_bytes_avg, cpu_cores, client_cpu_cores;
  double lat_us_p50, lat_us_p99, lat_us_p999, lat_us_max;
  size_t request_bytes;
  char first_error[200];
} hresult;

static void note_error(hrun *r, const char *what, const char *buf, size_t len) {
  if (atomic_flag_test_and_set(&r->error_taken)) return;
  snprintf(r->first_error, sizeof r->first_error, "%s%.*s", what,
           (int)(len > 150 ? 150 : len), buf ? buf : "");
}

static void *client_main(void *arg) {
  hclient *cl = arg;
  hrun *r = cl->run;
  char req[REQ_BYTES];
  sleep_until(r->start_ns);
  int64_t cpu0 = thread_cpu_ns();
  for (uint64_t seq = 0;; seq++) {
    int64_t t0 = bench_now_ns();
    if (t0 >= r->stop_ns) break;
    int bid = (int)(seq & 1u);
    int64_t price = PRICE_BASE + (int64_t)bench_rng_below(&cl->rng, PRICE_SPREAD);
    size_t n = order_request(req, sizeof req, r->port, bid ? cl->cookie_bid : cl->cookie_offer,
                             r->phase, cl->index, seq, bid, price);
    hres res;
    cl->sent++;
    if (n == 0 || hconn_call(cl->conn, req, n, &res) != 0) {
      cl->errors++;
      note_error(r, "no reply: ", strerror(errno), strlen(strerror(errno)));
      hconn_close(cl->conn); /* reopened on the next call */
      continue;
    }
    int64_t t1 = bench_now_ns();
    cl->last_ns = t1;
    int ok = r->base ? res.status == 200 && res.body_len == r->base->body_len
                     : is_order_ok(&res);
    if (!ok) {
      cl->errors++;
      note_error(r, "", res.body, res.body_len);
      continue;
    }
    cl->ok++;
    cl->reply_bytes += res.body_len;
    if (!r->base && is_filled(&res)) cl->filled++;
    size_t i = atomic_fetch_add_explicit(&r->lat_n, 1, memory_order_relaxed);
    if (i < r->lat_cap) r->lat_ns[i] = t1 - t0 < (int64_t)UINT32_MAX ? (uint32_t)(t1 - t0) : UINT32_MAX;
  }
  cl->cpu_ns = thread_cpu_ns() - cpu0;
  return NULL;
}

static int cmp_u32(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  return (x > y) - (x < y);
}

static double pct_us(const uint32_t *sorted, size_t n, uint32_t per_mille) {
  if (n == 0) return 0.0;
  return sorted[(size_t)((uint64_t)(n - 1) * per_mille / 1000)] / 1e3;
}

/* Runs the clients (already connected and signed in) against port for
** o->seconds. */
static int measure(const http_opts *o, hclient *cl, uint16_t port, const baseline *base,
                   char phase, uint32_t *lat_ns, size_t lat_cap, hresult *res) {
  hrun *r = calloc(1, sizeof *r);
  if (r == NULL) return fail("out of memory");
  memset(res, 0, sizeof *res);
  r->port = port;
  r->base = base;
  r->phase = phase;
  r->lat_ns = lat_ns;
  r->lat_cap = lat_cap;
  atomic_flag_clear(&r->error_taken);
  int rc = BENCH_EXIT_OK;
  uint64_t reconnects0 = 0;
  for (uint32_t c = 0; c < o->clients; c++) {
    cl[c].run = r;
    cl[c].sent = cl[c].ok = cl[c].errors = cl[c].filled = cl[c].reply_bytes = 0;
    cl[c].cpu_ns = cl[c].last_ns = 0;
    cl[c].started = 0;
    reconnects0 += cl[c].conn->reconnects;
  }
  double cpu0 = cpu_s();
  r->start_ns = bench_now_ns() + 20000000;
  r->stop_ns = r->start_ns + (int64_t)o->seconds * 1000000000;
  for (uint32_t c = 0; c < o->clients && rc == BENCH_EXIT_OK; c++) {
    if (pthread_create(&cl[c].thread, NULL, client_main, &cl[c]) != 0)
      rc = fail("cannot start client thread %u", c);
    else
      cl[c].started = 1;
  }
  int64_t end_ns = r->start_ns, client_cpu_ns = 0;
  for (uint32_t c = 0; c < o->clients; c++) {
    if (!cl[c].started) continue;
    pthread_join(cl[c].thread, NULL);
    if (cl[c].last_ns > end_ns) end_ns = cl[c].last_ns;
    res->sent += cl[c].sent;
    res->ok += cl[c].ok;
    res->errors += cl[c].errors;
    res->filled += cl[c].filled;
    res->reply_bytes_avg += (double)cl[c].reply_bytes;
    res->reconnects += cl[c].conn->reconnects;
    client_cpu_ns += cl[c].cpu_ns;
  }
  res->reconnects -= reconnects0;
  res->elapsed_s = (double)(end_ns - r->start_ns) / 1e9;
  if (res->elapsed_s <= 0) res->elapsed_s = 1e-9;
  res->per_s = (double)res->ok / res->elapsed_s;
  res->cpu_cores = (cpu_s() - cpu0) / res->elapsed_s;
  res->client_cpu_cores = (double)client_cpu_ns / 1e9 / res->elapsed_s;
  res->reply_bytes_avg = res->ok ? res->reply_bytes_avg / (double)res->ok : 0;
  size_t n = atomic_load(&r->lat_n);
  if (n > lat_cap) n = lat_cap;
  qsort(lat_ns, n, sizeof *lat_ns, cmp_u32);
  res->lat_us_p50 = pct_us(lat_ns, n, 500);
  res->lat_us_p99 = pct_us(lat_ns, n, 990);
  res->lat_us_p999 = pct_us(lat_ns, n, 999);
  res->lat_us_max = pct_us(lat_ns, n, 1000);
  char req[REQ_BYTES];
  res->request_bytes = order_request(req, sizeof req, port, cl[0].cookie_bid, phase, 0, 0, 1,
                                     PRICE_BASE);
  memcpy(res->first_error, r->first_error, sizeof res->first_error);
  free(r);
  return rc;
}

/* Every client: a connection to port; with sign_in, its two sessions. */
static int clients_connect(const http_opts *o, hclient *cl, uint16_t port, int sign_in) {
  char err[256];
  for (uint32_t c = 0; c < o->clients; c++) {
    hconn_close(cl[c].conn);
    if (hconn_open(cl[c].conn, port) != 0)
      return fail("client %u: cannot connect to 127.0.0.1:%u: %s", c, (unsigned)port,
                  strerror(errno));
    cl[c].conn->reconnects = 0;
    if (!sign_in) continue;
    uint32_t half = BENCH_MARKET_CCS / 2;
    if (signin(cl[c].conn, c % half, cl[c].cookie_offer, err, sizeof err) != 0 ||
        signin(cl[c].conn, half + c % half, cl[c].cookie_bid, err, sizeof err) != 0)
      return fail("%s", err);
  }
  return BENCH_EXIT_OK;
}

/* ---- the live websockets ------------------------------------------------- */

typedef struct wsock {
  int fd;
  atomic_int open;
  atomic_uint_fast64_t frames, trades;
  size_t have;
  char buf[WS_BUF_BYTES];
} wsock;

typedef struct wsresult {
  uint32_t asked, signed_in, held, open_end, complete;
  uint64_t trades, orders, order_errors, events, frames;
  double window_s, delivery_ms, reader_cpu_cores;
  int all_delivered;
  char first_error[256];
} wsresult;

typedef struct wsreader {
  wsock *s;
  uint32_t n;
  int ep;
  atomic_int stop;
  int64_t cpu_ns;
} wsreader;

/* Parses the whole frames in w->buf; -1 when the peer closed (or sent what
** no server should). */
static int ws_frames(wsock *w) {
  size_t off = 0;
  const unsigned char *b = (const unsigned char *)w->buf;
  while (w->have - off >= 2) {
    int op = b[off] & 0x0f;
    uint64_t len = b[off + 1] & 0x7f;
    size_t h = 2;
    if (b[off + 1] & 0x80) return -1; /* a server never masks */
    if (len == 126) {
      if (w->have - off < 4) break;
      len = (uint64_t)b[off + 2] << 8 | b[off + 3];
      h = 4;
    } else if (len == 127) {
      if (w->have - off < 10) break;
      len = 0;
      for (int i = 0; i < 8; i++) len = len << 8 | b[off + 2 + i];
      h = 10;
    }
    if (len > WS_BUF_BYTES - 16) return -1;
    if (w->have - off < h + len) break;
    if (op == 8) return -1;
    if (op == 1 || op == 2) { /* text, as the contract says; binary counted too */
      atomic_fetch_add_explicit(&w->frames, 1, memory_order_relaxed);
      static const char trade[] = "{\"type\":\"trade\"";
      if (len >= sizeof trade - 1 && memcmp(b + off + h, trade, sizeof trade - 1) == 0)
        atomic_fetch_add_explicit(&w->trades, 1, memory_order_relaxed);
    }
    off += h + (size_t)len;
  }
  memmove(w->buf, w->buf + off, w->have - off);
  w->have -= off;
  return 0;
}

static int fcntl_nonblock(int fd) {
  int fl = fcntl(fd, F_GETFL);
  return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

static void ws_drop(wsreader *rd, wsock *w) {
  epoll_ctl(rd->ep, EPOLL_CTL_DEL, w->fd, NULL);
  atomic_store(&w->open, 0);
}

static void *reader_main(void *arg) {
  wsreader *rd = arg;
  struct epoll_event ev[256];
  int64_t cpu0 = thread_cpu_ns();
  while (!atomic_load(&rd->stop)) {
    int n = epoll_wait(rd->ep, ev, 256, 20);
    for (int i = 0; i < n; i++) {
      wsock *w = ev[i].data.ptr;
      if (!atomic_load(&w->open)) continue;
      for (;;) {
        ssize_t k = read(w->fd, w->buf + w->have, sizeof w->buf - w->have);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        if (k <= 0) {
          ws_drop(rd, w);
          break;
        }
        w->have += (size_t)k;
        if (ws_frames(w) != 0) {
          ws_drop(rd, w);
          break;
        }
      }
    }
  }
  rd->cpu_ns = thread_cpu_ns() - cpu0;
  return NULL;
}

/* The upgrade of one socket with cookie; 0 and the socket open. */
static int ws_open(wsock *w, uint16_t port, const char *cookie, char *err, size_t cap) {
  char req[512];
  int n = snprintf(req, sizeof req,
                   "GET /api/live HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                   "Sec-WebSocket-Version: 13\r\nCookie: imx_session=%s\r\n\r\n",
                   (unsigned)port, cookie);
  w->fd = tcp_connect(port);
  if (w->fd < 0) {
    snprintf(err, cap, "connect: %s", strerror(errno));
    return -1;
  }
  w->have = 0;
  ssize_t hdr = -1;
  if (write_all(w->fd, req, (size_t)n) == 0)
    hdr = read_headers(w->fd, w->buf, sizeof w->buf, &w->have);
  if (hdr < 0 || strncmp(w->buf, "HTTP/1.1 101", 12) != 0) {
    snprintf(err, cap, "upgrade: %.*s", hdr < 0 ? 9 : (int)(strchr(w->buf, '\r') - w->buf),
             hdr < 0 ? "no answer" : w->buf);
    close(w->fd);
    w->fd = -1;
    return -1;
  }
  memmove(w->buf, w->buf + hdr, w->have - (size_t)hdr);
  w->have -= (size_t)hdr;
  atomic_store(&w->open, 1);
  return 0;
}

/* Orders at rate, an offer at WS_OFFER and a bid at WS_BID in turn, for
** seconds; counts the trades from the replies. */
static int ws_flow(uint16_t port, uint32_t rate, uint32_t seconds, wsresult *res) {
  hconn *c = calloc(1, sizeof *c);
  char cookie_offer[COOKIE_BYTES], cookie_bid[COOKIE_BYTES], err[256], req[REQ_BYTES];
  if (c == NULL) return fail("out of memory");
  c->fd = -1;
  int rc = BENCH_EXIT_OK;
  if (hconn_open(c, port) != 0 ||
      signin(c, 0, cookie_offer, err, sizeof err) != 0 ||
      signin(c, BENCH_MARKET_CCS / 2, cookie_bid, err, sizeof err) != 0)
    rc = fail("websocket phase: %s", c->fd < 0 ? "cannot connect" : err);
  int64_t interval_ns = 1000000000LL / rate, t0 = bench_now_ns();
  int64_t stop_ns = t0 + (int64_t)seconds * 1000000000;
  for (uint64_t seq = 0; rc == BENCH_EXIT_OK; seq++) {
    int64_t due = t0 + (int64_t)seq * interval_ns;
    if (due >= stop_ns) break;
    sleep_until(due);
    int bid = (int)(seq & 1u);
    size_t n = order_request(req, sizeof req, port, bid ? cookie_bid : cookie_offer, 'w', 0,
                             seq, bid, bid ? WS_BID : WS_OFFER);
    hres r;
    res->orders++;
    if (hconn_call(c, req, n, &r) != 0 || !is_order_ok(&r)) {
      res->order_errors++;
      continue;
    }
    if (is_filled(&r)) res->trades++;
  }
  res->window_s = (double)(bench_now_ns() - t0) / 1e9;
  hconn_close(c);
  free(c);
  return rc;
}

static uint32_t ws_count_complete(wsock *s, uint32_t n, uint64_t trades, uint32_t *open) {
  uint32_t done = 0;
  *open = 0;
  for (uint32_t i = 0; i < n; i++) {
    if (!atomic_load(&s[i].open)) continue;
    (*open)++;
    if (atomic_load_explicit(&s[i].trades, memory_order_relaxed) >= trades) done++;
  }
  return done;
}

static int ws_phase(const http_opts *o, uint16_t port, uint32_t ws_n, wsresult *res) {
  memset(res, 0, sizeof *res);
  res->asked = ws_n;
  if (ws_n == 0) return BENCH_EXIT_OK;
  wsock *s = calloc(ws_n, sizeof *s);
  hconn *c = calloc(1, sizeof *c);
  char (*cookies)[COOKIE_BYTES] = calloc(ws_n, COOKIE_BYTES);
  wsreader rd = {.s = s, .ep = -1};
  if (s == NULL || c == NULL || cookies == NULL) {
    free(s), free(c), free(cookies);
    return fail("out of memory for %u websockets", ws_n);
  }
  int rc = BENCH_EXIT_OK;
  char err[256] = "";
  /* One session per socket, over the cost centres. */
  if (hconn_open(c, port) != 0) rc = fail("cannot connect to 127.0.0.1:%u", (unsigned)port);
  for (uint32_t i = 0; rc == BENCH_EXIT_OK && i < ws_n; i++) {
    if (signin(c, i % BENCH_MARKET_CCS, cookies[i], err, sizeof err) != 0) break;
    res->signed_in++;
  }
  hconn_close(c);
  free(c);
  rd.ep = epoll_create1(0);
  if (rd.ep < 0) rc = fail("epoll: %s", strerror(errno));
  for (uint32_t i = 0; rc == BENCH_EXIT_OK && i < res->signed_in; i++) {
    if (ws_open(&s[i], port, cookies[i], err, sizeof err) != 0) break;
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s[i]};
    struct timeval tv = {0, 0};
    setsockopt(s[i].fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (fcntl_nonblock(s[i].fd) != 0 || epoll_ctl(rd.ep, EPOLL_CTL_ADD, s[i].fd, &ev) != 0) {
      snprintf(err, sizeof err, "epoll_ctl: %s", strerror(errno));
      close(s[i].fd);
      s[i].fd = -1;
      atomic_store(&s[i].open, 0);
      break;
    }
    rd.n = i + 1;
    res->held++;
  }
  if (err[0]) snprintf(res->first_error, sizeof res->first_error, "%s", err);
  free(cookies);
  pthread_t reader;
  int reader_started = 0;
  if (rc == BENCH_EXIT_OK && res->held > 0) {
    /* Frames that came with the upgrade's reply. */
    for (uint32_t i = 0; i < rd.n; i++)
      if (atomic_load(&s[i].open) && ws_frames(&s[i]) != 0) atomic_store(&s[i].open, 0);
    if (pthread_create(&reader, NULL, reader_main, &rd) != 0)
      rc = fail("cannot start the websocket reader");
    else
      reader_started = 1;
  }
  if (reader_started) {
    rc = ws_flow(port, o->ws_rate, o->ws_seconds, res);
    int64_t t_end = bench_now_ns();
    uint32_t open = 0, done = 0;
    while ((done = ws_count_complete(s, rd.n, res->trades, &open)) < open &&
           bench_now_ns() - t_end < (int64_t)WS_DELIVERY_MS * 1000000)
      sleep_until(bench_now_ns() + 1000000);
    res->delivery_ms = (double)(bench_now_ns() - t_end) / 1e6;
    res->complete = done;
    res->open_end = open;
    res->all_delivered = done == res->held;
    atomic_store(&rd.stop, 1);
    pthread_join(reader, NULL);
    res->reader_cpu_cores = (double)rd.cpu_ns / 1e9 / (res->window_s + res->delivery_ms / 1e3);
    for (uint32_t i = 0; i < rd.n; i++) {
      res->events += atomic_load(&s[i].trades);
      res->frames += atomic_load(&s[i].frames);
    }
  }
  for (uint32_t i = 0; i < rd.n; i++)
    if (s[i].fd >= 0) close(s[i].fd);
  if (rd.ep >= 0) close(rd.ep);
  free(s);
  return rc;
}

/* ---- the report ---------------------------------------------------------- */

static const char *key(char *buf, size_t len, const char *prefix, const char *name) {
  snprintf(buf, len, "%s_%s", prefix, name);
  return buf;
}

static void print_measure(bench_out *out, const char *p, const hresult *r, const char *note) {
  char k[64], n[128];
  snprintf(n, sizeof n, "in %.2f s", r->elapsed_s);
  bench_out_u64(out, key(k, sizeof k, p, "sent"), "requests sent", r->sent, NULL, n);
  bench_out_f64(out, key(k, sizeof k, p, "per_s"), "answered", r->per_s, 0, "req/s", note);
  bench_out_u64(out, key(k, sizeof k, p, "errors"), "errors", r->errors, NULL,
                r->first_error[0] ? r->first_error : NULL);
  snprintf(n, sizeof n, "the server closed a keep-alive connection");
  bench_out_u64(out, key(k, sizeof k, p, "reconnects"), "reconnects", r->reconnects, NULL, n);
  if (r->filled)
    bench_out_u64(out, key(k, sizeof k, p, "filled"), "orders filled on arrival", r->filled,
                  NULL, "one trade each");
  bench_out_f64(out, key(k, sizeof k, p, "reply_bytes_avg"), "reply body", r->reply_bytes_avg,
                1, "bytes", "average");
  bench_out_f64(out, key(k, sizeof k, p, "latency_us_p50"), "latency p50", r->lat_us_p50, 1,
                "us", NULL);
  bench_out_f64(out, key(k, sizeof k, p, "latency_us_p99"), "latency p99", r->lat_us_p99, 1,
                "us", NULL);
  bench_out_f64(out, key(k, sizeof k, p, "latency_us_p999"), "latency p99.9", r->lat_us_p999,
                1, "us", NULL);
  bench_out_f64(out, key(k, sizeof k, p, "latency_us_max"), "latency max", r->lat_us_max, 1,
                "us", NULL);
  bench_out_f64(out, key(k, sizeof k, p, "cpu_cores"), "process CPU time / wall time",
                r->cpu_cores, 2, "cores", "server + clients");
  snprintf(n, sizeof n, "%.0f %% of the process's",
           r->cpu_cores > 0 ? 100.0 * r->client_cpu_cores / r->cpu_cores : 0.0);
  bench_out_f64(out, key(k, sizeof k, p, "client_cpu_cores"), "client threads' CPU",
                r->client_cpu_cores, 2, "cores", n);
  double per = r->per_s > 0 ? 1e6 / r->per_s : 0.0;
  bench_out_f64(out, key(k, sizeof k, p, "client_cpu_us_per_req"), "client CPU per request",
                r->client_cpu_cores * per, 1, "us", "write + read on loopback tcp");
  bench_out_f64(out, key(k, sizeof k, p, "server_cpu_us_per_req"), "server CPU per request",
                (r->cpu_cores - r->client_cpu_cores) * per, 1, "us",
                "the rest of the process's");
}

/* The 1-minute load average: what else runs on the machine's cores. */
static double loadavg(void) {
  double l = 0.0;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf", &l) != 1) l = 0.0;
    fclose(f);
  }
  return l;
}

static void print_all(const http_opts *o, const char *imxd_url, const char *base_url,
                      const hresult *im, const hresult *ba, const wsresult *ws,
                      uint64_t nofile, uint32_t ws_fit) {
  bench_out out;
  char note[160];
  bench_out_begin(&out, o->json, "http");
  bench_out_section(&out, "setup: one process, HTTP/1.1 keep-alive on 127.0.0.1");
  bench_out_u64(&out, "clients", "client threads", o->clients, NULL,
                "one blocking socket each, closed loop");
  bench_out_u64(&out, "seconds", "seconds per measurement", o->seconds, "s", NULL);
  bench_out_u64(&out, "request_bytes", "request", im->request_bytes, "bytes",
                "POST /api/order.new, headers and body");
  bench_out_str(&out, "imxd_url", "imxd --http", imxd_url, NULL);
  bench_out_str(&out, "baseline_url", "baseline", base_url, NULL);
  bench_out_u64(&out, "nofile", "open-file limit", nofile, NULL, "raised for the sockets");
  bench_out_f64(&out, "loadavg", "load average at the end", loadavg(), 2, NULL,
                "1 minute; the machine's other work shares the cores");
  bench_out_remark(&out, "market: 1 continuous service, 32 providers, 32 receivers; each client");
  bench_out_remark(&out, "signs in one of each and alternates offers and bids, qty 1, at");
  bench_out_remark(&out, "1,000..1,007: an order trades when it meets the other side's best");

  bench_out_section(&out, "baseline: nng's HTTP server, a static reply of the same size");
  print_measure(&out, "baseline", ba, NULL);

  bench_out_section(&out, "imxd: POST /api/order.new, signed in, through the engine");
  double ratio = ba->per_s > 0 ? im->per_s / ba->per_s : 0.0;
  print_measure(&out, "imxd", im, NULL);
  snprintf(note, sizeof note, "target >= %.1f x: %s", TARGET_RATIO,
           bench_met(ratio >= TARGET_RATIO));
  bench_out_f64(&out, "imxd_to_baseline_ratio", "imxd / baseline throughput", ratio, 2, "x",
                note);

  bench_out_section(&out, "live: GET /api/live websockets while orders flow");
  snprintf(note, sizeof note, "--ws%s", ws_fit < o->ws ? ", fewer: the open-file limit" : "");
  bench_out_u64(&out, "ws_asked", "websockets asked", ws_fit, NULL, note);
  bench_out_u64(&out, "ws_sessions", "sessions signed in", ws->signed_in, NULL,
                "one per websocket");
  bench_out_u64(&out, "ws_held", "websockets held", ws->held, NULL,
                ws->first_error[0] ? ws->first_error : "upgraded (101)");
  snprintf(note, sizeof note, "%u orders/s for %u s, %llu errors", o->ws_rate, o->ws_seconds,
           (unsigned long long)ws->order_errors);
  bench_out_u64(&out, "ws_orders", "orders during it", ws->orders, NULL, note);
  bench_out_u64(&out, "ws_trades", "trades they made", ws->trades, NULL,
                "every socket must get each");
  snprintf(note, sizeof note, "%s; %u still open",
           ws->all_delivered ? "all of them" : "NOT all", ws->open_end);
  bench_out_u64(&out, "ws_complete", "websockets with every trade", ws->complete, NULL, note);
  bench_out_u64(&out, "ws_trade_events", "trade events delivered", ws->events, NULL,
                "sum over the sockets");
  bench_out_u64(&out, "ws_frames", "events delivered, all kinds", ws->frames, NULL,
                "trade, top, fill, order.closed");
  double span_s = ws->window_s + ws->delivery_ms / 1e3;
  bench_out_f64(&out, "ws_frames_per_s", "events per second", span_s > 0 ? ws->frames / span_s : 0,
                0, "1/s", "over the flow and the wait after it");
  bench_out_f64(&out, "ws_delivery_ms", "after the last order", ws->delivery_ms, 1, "ms",
                "until every socket had every trade");
  bench_out_f64(&out, "ws_reader_cpu_cores", "reader thread's CPU", ws->reader_cpu_cores, 2,
                "cores", "one epoll thread reads every socket");
  bench_out_end(&out);
}

/* ---- main ---------------------------------------------------------------- */

int bench_http_main(int argc, char **argv) {
  http_opts o;
  int rc = parse_opts(argc, argv, &o);
  if (rc != BENCH_EXIT_OK) return rc;
  /* 2 descriptors per connection (both ends are in this process). */
  uint64_t need = 2 * ((uint64_t)o.clients + o.ws + 4) + FDS_SPARE;
  uint64_t nofile = raise_nofile(need);
  uint32_t ws_fit = o.ws;
  if (nofile < need) {
    uint64_t room = nofile > FDS_SPARE + 2 * ((uint64_t)o.clients + 4)
                        ? (nofile - FDS_SPARE) / 2 - o.clients - 4
                        : 0;
    ws_fit = room < o.ws ? (uint32_t)room : o.ws;
  }
  size_t lat_cap = (size_t)o.seconds * SAMPLES_PER_S;
  uint32_t *lat_ns = calloc(lat_cap, sizeof *lat_ns);
  hclient *cl = calloc(o.clients, sizeof *cl);
  if (lat_ns == NULL || cl == NULL) {
    free(lat_ns), free(cl);
    return fail("out of memory");
  }
  for (uint32_t c = 0; c < o.clients; c++) {
    cl[c].index = c;
    cl[c].rng.state = 42 + c;
    cl[c].conn = calloc(1, sizeof *cl[c].conn);
    if (cl[c].conn == NULL) rc = fail("out of memory");
    else cl[c].conn->fd = -1;
  }
  imx_market market;
  imx_server *srv = NULL;
  baseline base;
  memset(&base, 0, sizeof base);
  hresult r_imxd, r_base;
  wsresult r_ws;
  memset(&r_imxd, 0, sizeof r_imxd);
  memset(&r_base, 0, sizeof r_base);
  memset(&r_ws, 0, sizeof r_ws);
  char imxd_url[256] = "";
  uint16_t imxd_port = 0, base_port = 0;
  int market_built = 0;
  if (rc == BENCH_EXIT_OK && (rc = bench_gateway_market(&market)) == BENCH_EXIT_OK)
    market_built = 1;
  if (rc == BENCH_EXIT_OK) rc = imxd_start(&market, &srv, imxd_url, sizeof imxd_url);
  if (rc == BENCH_EXIT_OK) rc = port_of(imxd_url, &imxd_port);
  if (rc == BENCH_EXIT_OK) rc = clients_connect(&o, cl, imxd_port, 1);
  if (rc == BENCH_EXIT_OK) rc = measure(&o, cl, imxd_port, NULL, 'i', lat_ns, lat_cap, &r_imxd);
  if (rc == BENCH_EXIT_OK && r_imxd.ok == 0)
    rc = fail("imxd answered no order.new: %s", r_imxd.first_error);
  if (rc == BENCH_EXIT_OK) rc = baseline_start(&base, (size_t)(r_imxd.reply_bytes_avg + 0.5));
  if (rc == BENCH_EXIT_OK) rc = port_of(base.url, &base_port);
  if (rc == BENCH_EXIT_OK) rc = clients_connect(&o, cl, base_port, 0);
  if (rc == BENCH_EXIT_OK) rc = measure(&o, cl, base_port, &base, 'b', lat_ns, lat_cap, &r_base);
  for (uint32_t c = 0; c < o.clients; c++)
    if (cl[c].conn) hconn_close(cl[c].conn);
  char base_url[64];
  snprintf(base_url, sizeof base_url, "%s", base.url);
  baseline_stop(&base);
  if (rc == BENCH_EXIT_OK) rc = ws_phase(&o, imxd_port, ws_fit, &r_ws);
  if (srv) imx_server_stop(srv);
  if (market_built) imx_market_free(&market);
  for (uint32_t c = 0; c < o.clients; c++) free(cl[c].conn);
  free(cl);
  free(lat_ns);
  if (rc != BENCH_EXIT_OK) return rc;
  print_all(&o, imxd_url, base_url, &r_imxd, &r_base, &r_ws, nofile, ws_fit);
  uint64_t bad = r_imxd.errors;
  if (bad * 1000000u > r_imxd.sent * (uint64_t)ERRORS_PER_MILLION_MAX)
    return fail("imxd: %llu of %llu orders without order.new.ok; the first: %s",
                (unsigned long long)bad, (unsigned long long)r_imxd.sent, r_imxd.first_error);
  if (r_base.errors)
    return fail("baseline: %llu errors; the first: %s", (unsigned long long)r_base.errors,
                r_base.first_error);
  if (ws_fit > 0 && (!r_ws.all_delivered || r_ws.held < ws_fit))
    return fail("websockets: %u of %u held, %u got every one of %llu trades (%s)", r_ws.held,
                ws_fit, r_ws.complete, (unsigned long long)r_ws.trades,
                r_ws.first_error[0] ? r_ws.first_error : "see above");
  return BENCH_EXIT_OK;
}
