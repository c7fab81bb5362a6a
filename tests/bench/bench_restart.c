/*
** bench_restart.c -- imx-bench restart: how long imxd takes to start on a
** ledger of N journaled commands, replaying the whole journal (the baseline,
** as before snapshots) and from a snapshot.
**
** The ledger is written through the real path: an in-process imx_server
** (imxd's library) on loopback tcp, driven by CLIENTS threads with one REQ
** socket each, sending order.new (bids of receivers, offers of providers
** around one price, so that a part trades) and order.cancel of their own
** earlier orders. Only the requests that change the market are journaled,
** so the clients count acknowledged changes until N are in.
**
**   1. N - M commands with snapshots on; the stop writes snapshot A.
**   2. M more (the start reads A); the stop writes snapshot B, at N.
**   3. Restarts, each timed from imx_server_start to serving:
**        no snapshot   the whole journal, N commands (the baseline)
**        snapshot B    nothing after it
**        snapshot A    and the M commands after it: a crash M commands
**                      after the last snapshot (M = half of imxd's default
**                      --snapshot-every, the mean distance of a crash)
**
**   imx-bench restart [--commands N] [--after M] [--dir DIR] [--json]
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

#include "imx_proto.h"
#include "imx_server.h"

#define fail(...) bench_fail("restart", __VA_ARGS__)

enum {
  CLIENTS = 32, /* batches of up to 32 requests a commit, as under load */
  PROVIDERS = 20,
  RECEIVERS = 100,
  MID = 100000,          /* minor units, tick 1                       */
  SPREAD = 60,           /* prices within MID +- SPREAD               */
  KEPT = 4096,           /* a client's own orders it may cancel       */
  CANCEL_PER_MILLE = 450 /* of requests: a cancel of an own order      */
};

#define COMMANDS_DEFAULT 1000000u
#define AFTER_DEFAULT (IMX_SERVER_SNAPSHOT_EVERY_DEFAULT / 2)

/* ---- the market --------------------------------------------------------- */

static int market_make(imx_market *m) {
  size_t cap = 256 + (PROVIDERS + RECEIVERS) * 400, n = 0;
  char *json = malloc(cap);
  if (json == NULL) return fail("out of memory");
  n += (size_t)snprintf(json + n, cap - n,
                        "{\"currency\":\"EUR\",\"services\":[{\"id\":\"svc\",\"unit\":\"hour\","
                        "\"tick\":1,\"lot\":1,\"divisible\":true,\"mode\":\"continuous\","
                        "\"price_cap\":1000000}],\"cost_centres\":[");
  for (int i = 0; i < PROVIDERS + RECEIVERS; i++) {
    char token[32], hash[65];
    snprintf(token, sizeof token, "restart-%d", i);
    imx_sha256_hex(token, strlen(token), hash);
    int provider = i < PROVIDERS;
    n += (size_t)snprintf(json + n, cap - n,
                          "%s{\"id\":\"CC-%d\",\"name\":\"cc %d\",\"site\":\"x\",\"roles\":[\"%s\"],"
                          "\"budget\":%s,\"token_hash\":\"%s\"%s}",
                          i ? "," : "", i, i, provider ? "provider" : "receiver",
                          provider ? "0" : "10000000000", hash,
                          provider ? ",\"capacities\":{\"svc\":1000000000}" : "");
  }
  n += (size_t)snprintf(json + n, cap - n, "]}");
  imx_proto_error err = {0};
  int rc = imx_market_parse(json, n, m, &err);
  free(json);
  if (rc != 0) return fail("the market: %s %s", err.field, err.message);
  return BENCH_EXIT_OK;
}

/* ---- the clients ---------------------------------------------------------- */

typedef struct client {
  pthread_t thread;
  const char *url;
  uint32_t index;
  uint32_t phase;      /* in every id: the ids of phases never repeat */
  uint64_t want;       /* journaled commands to make              */
  uint64_t made;       /* acknowledged changes                     */
  uint64_t sent;
  bench_rng rng;
  uint64_t kept[KEPT]; /* own open (or by now filled) order ids    */
  uint32_t kept_n;
  char error[256];
} client;

static int number_after(const char *buf, size_t len, const char *key, uint64_t *out) {
  size_t k = strlen(key);
  for (size_t i = 0; i + k < len; i++)
    if (memcmp(buf + i, key, k) == 0) {
      *out = strtoull(buf + i + k, NULL, 10);
      return 1;
    }
  return 0;
}

static void *client_main(void *arg) {
  client *c = arg;
  nng_socket sock;
  int rv = nng_req0_open(&sock);
  if (rv == 0) rv = nng_dial(sock, c->url, NULL, 0);
  if (rv != 0) {
    snprintf(c->error, sizeof c->error, "dial: %s", nng_strerror(rv));
    return NULL;
  }
  nng_socket_set_ms(sock, NNG_OPT_RECVTIMEO, 30000);
  char req[512];
  while (c->made < c->want) {
    int cancel = c->kept_n > 0 && bench_rng_below(&c->rng, 1000) < CANCEL_PER_MILLE;
    int cc = (int)bench_rng_below(&c->rng, PROVIDERS + RECEIVERS);
    /* a client cancels only its own orders: its cost centres are those
    ** equal to its index modulo CLIENTS */
    cc -= cc % CLIENTS;
    cc += (int)c->index;
    if (cc >= PROVIDERS + RECEIVERS) cc -= CLIENTS;
    uint32_t k = cancel ? bench_rng_below(&c->rng, c->kept_n) : 0;
    int n;
    if (cancel) {
      /* the order's cost centre is in its id's slot */
      n = snprintf(req, sizeof req,
                   "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"c%u-%u-%" PRIu64 "\","
                   "\"token\":\"restart-%" PRIu64 "\",\"order\":%" PRIu64 "}",
                   c->phase, c->index, c->sent, c->kept[k] >> 40, (uint64_t)(c->kept[k] & ((UINT64_C(1) << 40) - 1)));
    } else {
      int provider = cc < PROVIDERS;
      int64_t price = MID + (int64_t)bench_rng_below(&c->rng, 2 * SPREAD + 1) - SPREAD +
                      (provider ? 15 : -15);
      n = snprintf(req, sizeof req,
                   "{\"v\":1,\"type\":\"order.new\",\"id\":\"n%u-%u-%" PRIu64 "\","
                   "\"token\":\"restart-%d\",\"service\":\"svc\",\"side\":\"%s\","
                   "\"qty\":%u,\"price\":%" PRId64 "}",
                   c->phase, c->index, c->sent, cc, provider ? "offer" : "bid",
                   1 + bench_rng_below(&c->rng, 10), price);
    }
    c->sent++;
    char *reply = NULL;
    size_t len = 0;
    if ((rv = nng_send(sock, req, (size_t)n, 0)) != 0 ||
        (rv = nng_recv(sock, &reply, &len, NNG_FLAG_ALLOC)) != 0) {
      snprintf(c->error, sizeof c->error, "request: %s", nng_strerror(rv));
      break;
    }
    uint64_t order = 0;
    if (cancel) {
      if (len > 0 && bench_has(reply, len, "order.cancel.ok")) c->made++;
      c->kept[k] = c->kept[--c->kept_n]; /* cancelled, or gone anyway */
    } else if (number_after(reply, len, "\"order\":", &order) &&
               bench_has(reply, len, "order.new.ok")) {
      c->made++;
      uint64_t v = (uint64_t)cc << 40 | order; /* ids < 2^40 here */
      if (c->kept_n < KEPT) c->kept[c->kept_n++] = v;
      else c->kept[bench_rng_below(&c->rng, KEPT)] = v;
    } else {
      snprintf(c->error, sizeof c->error, "refused: %.*s", (int)(len < 200 ? len : 200), reply);
      nng_free(reply, len);
      break;
    }
    nng_free(reply, len);
  }
  nng_close(sock);
  return NULL;
}

/* Sends until `commands` more are journaled. */
static int drive(const char *url, uint64_t commands, uint64_t seed) {
  static client cl[CLIENTS];
  static uint32_t phase;
  phase++;
  for (uint32_t i = 0; i < CLIENTS; i++) {
    memset(&cl[i], 0, sizeof cl[i]);
    cl[i].url = url;
    cl[i].index = i;
    cl[i].phase = phase;
    cl[i].want = commands / CLIENTS + (i < commands % CLIENTS);
    cl[i].rng.state = seed * 7919 + i;
    if (pthread_create(&cl[i].thread, NULL, client_main, &cl[i]) != 0)
      return fail("cannot start a client");
  }
  int rc = BENCH_EXIT_OK;
  for (uint32_t i = 0; i < CLIENTS; i++) {
    pthread_join(cl[i].thread, NULL);
    if (cl[i].error[0]) rc = fail("client %u: %s", i, cl[i].error);
  }
  return rc;
}

/* ---- the server ------------------------------------------------------------ */

static imx_server_config config(const imx_market *m, const char *db, int64_t every) {
  return (imx_server_config){.market = m, .listen_url = "tcp://127.0.0.1:0",
                             .publish_url = "tcp://127.0.0.1:0", .workers = 16,
                             .rate_per_s = 1e9, .rate_burst = 1e9,
                             .recv_max_bytes = 2 * IMX_MSG_BYTES_MAX,
                             .orders_max = IMX_SERVER_ORDERS_MAX_DEFAULT,
                             .orders_per_cc_max = 100000, .db_path = db,
                             .sync_full = 0, .snapshot_every = every};
}

/* Starts (timed), optionally drives, stops. */
static int run_server(const imx_market *m, const char *db, int64_t every, uint64_t drive_n,
                      int64_t *start_ns) {
  imx_server_config cfg = config(m, db, every);
  imx_server *s = NULL;
  int64_t t0 = bench_now_ns();
  if (imx_server_start(&cfg, &s) != 0) {
    imx_server_stop(s);
    return fail("imx_server_start failed (see the log above)");
  }
  if (start_ns) *start_ns = bench_elapsed_since(t0);
  int rc = drive_n ? drive(imx_server_listen_url(s), drive_n, (uint64_t)t0) : BENCH_EXIT_OK;
  if (imx_server_stop(s) != 0) return fail("imx_server_stop: nng did not close in time");
  return rc;
}

static int copy_file(const char *from, const char *to) {
  FILE *a = fopen(from, "rb"), *b = a ? fopen(to, "wb") : NULL;
  int rc = a && b ? 0 : -1;
  char buf[1 << 16];
  size_t n;
  while (rc == 0 && (n = fread(buf, 1, sizeof buf, a)) > 0)
    if (fwrite(buf, 1, n, b) != n) rc = -1;
  if (a) fclose(a);
  if (b && fclose(b) != 0) rc = -1;
  return rc;
}

static uint64_t file_bytes(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

int bench_restart_main(int argc, char **argv) {
  uint64_t commands = COMMANDS_DEFAULT, after = AFTER_DEFAULT;
  const char *dir_opt = NULL;
  int json = 0, rc = BENCH_EXIT_OK;
  for (int i = 1; i < argc && rc == BENCH_EXIT_OK; i++) {
    if (strcmp(argv[i], "--json") == 0) json = 1;
    else if (strcmp(argv[i], "--commands") == 0)
      rc = bench_opt_u64(argc, argv, &i, 1000, 100000000, &commands);
    else if (strcmp(argv[i], "--after") == 0)
      rc = bench_opt_u64(argc, argv, &i, 1, 100000000, &after);
    else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) dir_opt = argv[++i];
    else rc = bench_usage_error("restart: unknown option '%s'", argv[i]);
  }
  if (rc != BENCH_EXIT_OK) return rc;
  if (after >= commands) return bench_usage_error("restart: --after must be below --commands");
  char dir[4096], db[4200], snap[4300], snap_a[4400], snap_b[4400];
  if (dir_opt) snprintf(dir, sizeof dir, "%s", dir_opt);
  else {
    snprintf(dir, sizeof dir, "/tmp/imx-bench-restart-XXXXXX");
    if (mkdtemp(dir) == NULL) return fail("mkdtemp: %s", strerror(errno));
  }
  snprintf(db, sizeof db, "%s/restart.db", dir);
  snprintf(snap, sizeof snap, "%s.snapshot", db);
  snprintf(snap_a, sizeof snap_a, "%s.a", snap);
  snprintf(snap_b, sizeof snap_b, "%s.b", snap);
  unlink(db);
  unlink(snap);
  imx_market m;
  if (market_make(&m) != BENCH_EXIT_OK) return BENCH_EXIT_ERROR;
  int64_t every = IMX_SERVER_SNAPSHOT_EVERY_DEFAULT * 1000; /* only at stop */
  int64_t t_full = 0, t_b = 0, t_a = 0, t0 = bench_now_ns();
  /* 1. and 2.: the ledger, and the two snapshots */
  rc = run_server(&m, db, every, commands - after, NULL);
  if (rc == BENCH_EXIT_OK && copy_file(snap, snap_a) != 0) rc = fail("cannot copy snapshot A");
  if (rc == BENCH_EXIT_OK) rc = run_server(&m, db, every, after, NULL);
  if (rc == BENCH_EXIT_OK && copy_file(snap, snap_b) != 0) rc = fail("cannot copy snapshot B");
  int64_t build_ns = bench_elapsed_since(t0);
  /* 3. the restarts */
  if (rc == BENCH_EXIT_OK) rc = run_server(&m, db, 0, 0, &t_full); /* no snapshot read */
  if (rc == BENCH_EXIT_OK && copy_file(snap_b, snap) != 0) rc = fail("cannot restore B");
  if (rc == BENCH_EXIT_OK) rc = run_server(&m, db, every, 0, &t_b);
  if (rc == BENCH_EXIT_OK && copy_file(snap_a, snap) != 0) rc = fail("cannot restore A");
  if (rc == BENCH_EXIT_OK) rc = run_server(&m, db, every, 0, &t_a);
  uint64_t db_bytes = file_bytes(db), a_bytes = file_bytes(snap_a), b_bytes = file_bytes(snap_b);
  if (rc == BENCH_EXIT_OK) {
    bench_out out;
    char g[32], g2[32], note[160];
    bench_out_begin(&out, json, "restart");
    snprintf(note, sizeof note, "%s commands journaled through imxd's server in %.1f s",
             bench_grouped(g, sizeof g, (int64_t)commands), (double)build_ns / 1e9);
    bench_out_remark(&out, note);
    bench_out_u64(&out, "commands", "journaled commands", commands, NULL, NULL);
    bench_out_bytes(&out, "ledger_bytes", "ledger", db_bytes, NULL);
    bench_out_bytes(&out, "snapshot_bytes", "snapshot at the end", b_bytes, NULL);
    bench_out_bytes(&out, "snapshot_a_bytes", "snapshot M before", a_bytes, NULL);
    bench_out_f64(&out, "restart_replay_all_ms", "restart, whole journal (baseline)",
                  (double)t_full / 1e6, 1, "ms", NULL);
    bench_out_f64(&out, "restart_snapshot_ms", "restart, snapshot at the end",
                  (double)t_b / 1e6, 1, "ms", NULL);
    snprintf(note, sizeof note, "M = %s commands replayed after it",
             bench_grouped(g2, sizeof g2, (int64_t)after));
    bench_out_f64(&out, "restart_snapshot_after_ms", "restart, snapshot M before the end",
                  (double)t_a / 1e6, 1, "ms", note);
    bench_out_f64(&out, "speedup_x", "baseline / snapshot M before",
                  (double)t_full / (double)(t_a ? t_a : 1), 2, "x", NULL);
    bench_out_end(&out);
  }
  imx_market_free(&m);
  if (dir_opt == NULL) {
    unlink(snap_a);
    unlink(snap_b);
    unlink(snap);
    unlink(db);
    char side[4300];
    snprintf(side, sizeof side, "%s-wal", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", db);
    unlink(side);
    snprintf(side, sizeof side, "%s-lock", db);
    unlink(side);
    rmdir(dir);
  }
  return rc;
}
