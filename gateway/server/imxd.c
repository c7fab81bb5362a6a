/*
** imxd.c -- the exchange daemon: imxd --market FILE --db PATH [--listen URL]
** [--publish URL] [options]. Serves until SIGINT or SIGTERM, or until the
** ledger fails (exit 1: a restart recovers from the journal).
*/
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <sys/resource.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imx_engine.h" /* IMX_ORDERS_MAX */
#include "imx_server.h"

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

static void usage(FILE *f) {
  fprintf(f,
          "usage: imxd --market FILE --db PATH [--sync full|normal]\n"
          "            [--listen URL] [--publish URL]\n"
          "            [--workers N] [--rate N] [--burst N] [--max-msg BYTES]\n"
          "            [--orders-max N] [--orders-per-cc N]\n"
          "            [--max-connections N] [--inflight N] [--anon-rate N]\n"
          "            [--send-timeout MS] [--snapshot-every N]\n"
          "            [--http URL [--http-root DIR]] [--tls-cert FILE --tls-key FILE]\n"
          "  --db       the ledger (SQLite): journal, trades, postings; replayed on start\n"
          "  --sync     full (default): an acknowledged request survives power loss;\n"
          "             normal: faster, the last commits can be lost on power loss\n"
          "  --listen   requests, REQ/REP (default " IMX_DEFAULT_LISTEN ")\n"
          "  --publish  market data, PUB (default " IMX_DEFAULT_PUBLISH ")\n"
          "             tcp://HOST:PORT, or tls+tcp://HOST:PORT with --tls-cert\n"
          "  --workers  requests served at once (default 64)\n"
          "  --rate     requests per second per connection (default 20000)\n"
          "  --burst    burst per connection (default 2 x rate)\n"
          "  --max-msg  largest message read, up to 1048576 (default 131072; requests\n"
          "             are at most 65536, larger ones read get too_large, beyond\n"
          "             this the connection is closed)\n"
          "  --orders-max     open orders in the market (default 1048576)\n"
          "  --orders-per-cc  open orders per cost centre (default 10000)\n"
          "  --max-connections  request connections, and as many subscribers (and\n"
          "             with --http as many websockets)\n"
          "             (default 1024, or less if the open-file limit is lower);\n"
          "             beyond, a connection is closed at once\n"
          "  --inflight requests in flight per authenticated connection (default 32);\n"
          "             beyond, the connection is closed\n"
          "  --anon-rate  requests per second per connection before a hello or a\n"
          "             valid token (default 100, bursts of 2 x; at most --rate);\n"
          "             4 such requests may be in flight per connection\n"
          "  --send-timeout  ms a reply may wait for a client that does not read\n"
          "             before its connection is closed (default 1000)\n"
          "  --snapshot-every  journal entries between two snapshots of the market\n"
          "             (PATH.snapshot; also at every period close and on stop), so\n"
          "             that a start replays only the entries after the last one\n"
          "             (default 100000; 0: no snapshots, the whole journal)\n"
          "  --http     the web front, e.g. http://127.0.0.1:7452 (port 0: a free one;\n"
          "             off by default); https://... with --tls-cert and --tls-key\n"
          "  --http-root  serve the pages from DIR instead of those compiled in\n"
          "  --tls-cert, --tls-key  the server's certificate (then any intermediate\n"
          "             ones) and its unencrypted private key, PEM files: TLS for\n"
          "             tls+tcp:// URLs and https://; clients trust it with imx --ca\n");
}

#define FDS_RESERVED 64 /* listeners, the ledger, stdio, nng's own */

/* Makes room for the connections in the open-file limit (each request
** connection, each subscriber and, with --http, each websocket is a
** descriptor: per for each of max connections): raises the soft limit
** if it must, up to the hard one. A value given explicitly that does not
** fit is refused (-1); the default shrinks to fit. */
static int fit_connections(uint32_t *max, int explicit_max, int per) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return -1;
  rlim_t need = (rlim_t)per * *max + FDS_RESERVED;
  if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
    rlim_t hard = rl.rlim_max;
    if (hard != RLIM_INFINITY && hard < need) {
      if (explicit_max || hard < (rlim_t)per + FDS_RESERVED) {
        fprintf(stderr,
                "imxd: --max-connections %u needs %llu open files (%d per connection: "
                "requests, subscriber%s; and %d); the limit is %llu (ulimit -n)\n",
                *max, (unsigned long long)need, per, per > 2 ? ", websocket" : "",
                FDS_RESERVED, (unsigned long long)hard);
        return -1;
      }
      *max = (uint32_t)((hard - FDS_RESERVED) / (rlim_t)per);
      need = (rlim_t)per * *max + FDS_RESERVED;
    }
    rl.rlim_cur = need;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
      perror("imxd: setrlimit");
      return -1;
    }
  }
  return 0;
}

/* A whole number in [lo, hi], or -1. */
static long long number(const char *s, long long lo, long long hi) {
  char *end = NULL;
  long long v = strtoll(s, &end, 10);
  return (end == s || *end != '\0' || v < lo || v > hi) ? -1 : v;
}

int main(int argc, char **argv) {
  const char *market_path = NULL;
  int sync_full = 1;
  imx_server_config cfg = {.listen_url = IMX_DEFAULT_LISTEN,
                           .publish_url = IMX_DEFAULT_PUBLISH,
                           .workers = 64, .rate_per_s = 20000, .rate_burst = 0,
                           .recv_max_bytes = 2 * IMX_MSG_BYTES_MAX, .orders_max = IMX_SERVER_ORDERS_MAX_DEFAULT,
                           .orders_per_cc_max = IMX_SERVER_ORDERS_PER_CC_DEFAULT, .connections_max = 1024,
                           .inflight_max = 32, .anon_rate_per_s = 100,
                           .send_timeout_ms = 1000,
                           .snapshot_every = IMX_SERVER_SNAPSHOT_EVERY_DEFAULT};
  int explicit_max = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    long long n = v ? number(v, 1, 1LL << 30) : -1;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) { usage(stdout); return 0; }
    if (v == NULL) {
      fprintf(stderr, "imxd: %s needs a value, or is no option of imxd\n", a);
      usage(stderr);
      return 2;
    }
    i++;
    if (!strcmp(a, "--market")) market_path = v;
    else if (!strcmp(a, "--db")) cfg.db_path = v;
    else if (!strcmp(a, "--sync") && (!strcmp(v, "full") || !strcmp(v, "normal")))
      sync_full = !strcmp(v, "full");
    else if (!strcmp(a, "--listen")) cfg.listen_url = v;
    else if (!strcmp(a, "--publish")) cfg.publish_url = v;
    else if (!strcmp(a, "--workers") && n > 0 && n <= 4096) cfg.workers = (uint32_t)n;
    else if (!strcmp(a, "--rate") && n > 0) cfg.rate_per_s = (double)n;
    else if (!strcmp(a, "--burst") && n > 0) cfg.rate_burst = (double)n;
    else if (!strcmp(a, "--max-msg") && n >= 1024 && n <= (1 << 20)) cfg.recv_max_bytes = (size_t)n;
    else if (!strcmp(a, "--max-connections") && n > 0 && n <= (1 << 20))
      cfg.connections_max = (uint32_t)n, explicit_max = 1;
    else if (!strcmp(a, "--inflight") && n > 0 && n <= 4096) cfg.inflight_max = (uint32_t)n;
    else if (!strcmp(a, "--anon-rate") && n > 0) cfg.anon_rate_per_s = (double)n;
    else if (!strcmp(a, "--send-timeout") && n > 0 && n <= 600000)
      cfg.send_timeout_ms = (int32_t)n;
    else if (!strcmp(a, "--orders-max") && n > 0 && n <= IMX_ORDERS_MAX) cfg.orders_max = (uint32_t)n;
    else if (!strcmp(a, "--orders-per-cc") && n > 0) cfg.orders_per_cc_max = (uint32_t)n;
    else if (!strcmp(a, "--http")) cfg.http_url = v;
    else if (!strcmp(a, "--http-root")) cfg.http_root = v;
    else if (!strcmp(a, "--tls-cert")) cfg.tls_cert = v;
    else if (!strcmp(a, "--tls-key")) cfg.tls_key = v;
    else if (!strcmp(a, "--snapshot-every") && number(v, 0, 1LL << 30) >= 0)
      cfg.snapshot_every = number(v, 0, 1LL << 30);
    else { fprintf(stderr, "imxd: bad option %s %s\n", a, v); usage(stderr); return 2; }
  }
  if (market_path == NULL || cfg.db_path == NULL) {
    fprintf(stderr, "imxd: --market and --db are needed\n");
    usage(stderr);
    return 2;
  }
  if (!cfg.tls_cert != !cfg.tls_key || (cfg.http_root && !cfg.http_url) ||
      (cfg.http_url && (strncmp(cfg.http_url, "https://", 8) == 0) != (cfg.tls_cert != NULL))) {
    fprintf(stderr, "imxd: --tls-cert and --tls-key go together, and with them --http is\n"
                    "      https://; --http-root goes with --http\n");
    return 2;
  }
  cfg.sync_full = sync_full;
  if (cfg.rate_burst == 0) cfg.rate_burst = 2 * cfg.rate_per_s;
  /* 2 per connection (requests and market data); with the web, a third:
  ** as many websockets, and the web's HTTP connections */
  if (fit_connections(&cfg.connections_max, explicit_max, cfg.http_url ? 3 : 2) != 0)
    return 2;
  imx_market market;
  imx_proto_error err = {0};
  if (imx_market_load(market_path, &market, &err) != 0) {
    imx_log("%s: %s: %s (%s)", market_path, err.field, err.message, err.code);
    return 1;
  }
  cfg.market = &market;
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  signal(SIGPIPE, SIG_IGN);
  imx_server *srv = NULL;
  int rc = 0;
  if (imx_server_start(&cfg, &srv) != 0) {
    rc = 1;
  } else {
    while (!stop_signal && !imx_server_failed(srv)) {
      struct timespec ts = {0, 50 * 1000000};
      nanosleep(&ts, NULL);
    }
    if (imx_server_failed(srv)) rc = 1;
    else imx_log("signal %d: stopping", (int)stop_signal);
  }
  if (imx_server_stop(srv) != 0) {
    /* nng's threads still run: end now, the ledger is closed and durable
    ** (exit's handlers, and a leak check under ASan, would race them). */
    imx_log("stopped");
    fflush(stderr);
    _exit(rc);
  }
  imx_market_free(&market);
  if (rc == 0) imx_log("stopped");
  return rc;
}
