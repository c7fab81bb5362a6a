/*
** bench.c -- main of imx-bench: picks a benchmark by name from one table and
** holds what every benchmark shares (argument parsing, memory figures, the
** table/JSON writer). The benchmarks themselves live in bench_NAME.c.
**
**   imx-bench engine [--workload mixed|cross|deep] [--ops N] [--seed S]
**                    [--services K] [--json]
**   imx-bench auction [--orders N] [--seed S] [--json]
**   imx-bench gateway [--clients N] [--inflight K] [--seconds S]
**                     [--orders N] [--json]
**   imx-bench ledger [--trades N] [--sync full|normal] [--dir DIR] [--json]
**   imx-bench restart [--commands N] [--after M] [--dir DIR] [--json]
**   imx-bench http [--clients N] [--seconds S] [--ws N] [--ws-seconds S]
**                  [--ws-rate R] [--json]
**
** Figures never decide the exit status (see bench.h): 0 on any figure,
** 1 on a real error, 2 on bad arguments.
*/
#define _POSIX_C_SOURCE 200809L

#include "bench/bench.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

typedef struct bench_command {
  const char *name;
  const char *args; /* one line of options, for the usage           */
  const char *help; /* what it measures and what the options mean    */
  int (*main)(int argc, char **argv);
} bench_command;

/* One entry per benchmark; auction, gateway and ledger go here. */
static const bench_command commands[] = {
    {"engine",
     "[--workload mixed|cross|deep] [--ops N] [--seed S] [--services K] [--json]",
     "continuous matching engine on one thread.\n"
     "      mixed  adds near the touch, cancels and crossing orders over K\n"
     "             services (default K 8, N 5,000,000); latency percentiles,\n"
     "             harness floor, reference model, 1 M resting orders\n"
     "      cross  one service, inserts only, alternating bids 1880..1889\n"
     "             and offers 1884..1893 that match (default N 10,000,000)\n"
     "      deep   adds, cancels and ioc orders at random prices on books of\n"
     "             ~8 (the baseline), 1 k, 10 k and 100 k levels a side, N\n"
     "             timed per depth (default 200,000): ns/op by depth\n"
     "      --seed S  PRNG seed (default 42); --json  one JSON object",
     bench_engine_main},
    {"auction", "[--orders N] [--seed S] [--json]",
     "one call auction (imx_engine_auction_run) over a crossing book.\n"
     "      books of 10 k, 100 k and 1 M orders, or N with --orders: adds,\n"
     "      price levels, the call split into price determination and\n"
     "      allocation and events (targets: 1 M orders < 15 ms, 100 k < 4 ms)\n"
     "      and one pass over the book as the baseline; price, volume,\n"
     "      trades, check\n"
     "      --seed S  PRNG seed (default 42); --json  one JSON object",
     bench_auction_main},
    {"gateway",
     "[--clients N] [--inflight K] [--seconds S] [--orders N] [--db PATH] [--sync full|normal] [--json]",
     "order.new through the gateway (imx_server_start, in process, tcp).\n"
     "      N client threads (default 4), one REQ socket each, K requests in\n"
     "      flight per client (default 32, nng_ctx + nng_aio); closed loop\n"
     "      for S seconds (default 5) or N orders: orders/s, latency\n"
     "      percentiles (target >= 100 k orders/s); then paced at half that\n"
     "      rate (target p99 < 2 ms). Baseline: an nng REQ/REP echo server\n"
     "      driven by the same clients; --json  one JSON object",
     bench_gateway_main},
    {"ledger", "[--trades N] [--sync full|normal] [--dir DIR] [--json]",
     "the durable ledger (imx_ledger, SQLite): journal + put_trade per trade.\n"
     "      batches of 1, 64 and 4,096 trades a transaction (default N 5,000,\n"
     "      50,000 and 200,000; --trades N for all), synchronous FULL\n"
     "      (--sync normal: NORMAL); trades/s and postings/s (target >= 500 k\n"
     "      postings/s with large batches), imx_ledger_verify must pass.\n"
     "      Baseline: raw SQLite, same schema and rows, prepared statements.\n"
     "      --dir DIR  where the files go (default a mkdtemp dir under /tmp,\n"
     "      removed at the end); --json  one JSON object",
     bench_ledger_main},
    {"restart", "[--commands N] [--after M] [--dir DIR] [--json]",
     "imxd's start on a ledger of N journaled commands (default 1,000,000),\n"
     "      written through the server by 4 clients (orders and cancels).\n"
     "      Baseline: the whole journal replayed (no snapshot); then from a\n"
     "      snapshot at the end, and from one M commands before it (default\n"
     "      50,000, half of --snapshot-every) with those M replayed.\n"
     "      --dir DIR  keep the files there; --json  one JSON object",
     bench_restart_main},
    {"call", "[--orders N] [--sync full|normal] [--dir DIR] [--json]",
     "one call auction over a deep book through imxd (in process, tcp,\n"
     "      durable ledger): N orders (default 100,000, the book of `auction`)\n"
     "      sent by 32 clients, then auction.run from send to reply, and the\n"
     "      latency of an unrelated order.new while the call runs. Baseline:\n"
     "      the engine's call alone on the same book, which must agree on\n"
     "      price and volume; the ledger must verify and hold the trades.\n"
     "      --dir DIR  keep the files there; --json  one JSON object",
     bench_call_main},
    {"http", "[--clients N] [--seconds S] [--ws N] [--ws-seconds S] [--ws-rate R] [--json]",
     "imxd's web front (imx_server_start with --http, in process).\n"
     "      N client threads (default 16), one keep-alive HTTP/1.1 connection\n"
     "      each, sign in, then POST /api/order.new (offers and bids, some\n"
     "      crossing) for S seconds (default 5): orders/s, latency p50/p99.\n"
     "      Baseline: nng's HTTP server answering a static reply of the same\n"
     "      size to the same clients (target: imxd >= 0.7 x). Then N websockets\n"
     "      on /api/live (default 1000, a session each) while R orders/s\n"
     "      (default 100) flow for --ws-seconds (default 3): every socket must\n"
     "      get every trade; --json  one JSON object",
     bench_http_main},
};

enum { COMMANDS_N = sizeof commands / sizeof commands[0] };

static void usage(FILE *f) {
  fprintf(f, "usage: imx-bench <benchmark> [options]\n\n");
  for (size_t i = 0; i < COMMANDS_N; i++)
    fprintf(f, "  %s %s\n      %s\n\n", commands[i].name, commands[i].args,
            commands[i].help);
  fprintf(f, "Exit status: 0 whatever the figures, 1 on an error, 2 on bad "
             "arguments.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return BENCH_EXIT_USAGE;
  }
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    usage(stdout);
    return BENCH_EXIT_OK;
  }
  for (size_t i = 0; i < COMMANDS_N; i++) {
    if (strcmp(argv[1], commands[i].name) != 0) continue;
    int rc = commands[i].main(argc - 1, argv + 1);
    if (rc == BENCH_EXIT_USAGE) usage(stderr);
    return rc;
  }
  bench_usage_error("unknown benchmark '%s'", argv[1]);
  usage(stderr);
  return BENCH_EXIT_USAGE;
}

/* ---- arguments -------------------------------------------------------- */

int bench_usage_error(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("imx-bench: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return BENCH_EXIT_USAGE;
}

int bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out) {
  /* strtoull alone would accept "-1", " 7" and "7x"; a benchmark run with a
  ** misread count is worse than one refused. */
  if (s == NULL || *s < '0' || *s > '9') return -1;
  char *end = NULL;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max) return -1;
  *out = (uint64_t)v;
  return 0;
}

/* ---- memory ----------------------------------------------------------- */

uint64_t bench_rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  if (f == NULL) return 0;
  unsigned long long size_pages = 0, resident_pages = 0;
  int n = fscanf(f, "%llu %llu", &size_pages, &resident_pages);
  fclose(f);
  long page_bytes = sysconf(_SC_PAGESIZE);
  if (n != 2 || page_bytes <= 0) return 0;
  return (uint64_t)resident_pages * (uint64_t)page_bytes;
}

uint64_t bench_rss_bytes_peak(void) {
  struct rusage ru;
  if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
  return (uint64_t)ru.ru_maxrss * 1024u; /* Linux reports KiB */
}

/* ---- output ----------------------------------------------------------- */

/* 5000000 -> "5,000,000": figures of seven digits are read, not counted. */
static void format_grouped(char *buf, size_t len, uint64_t v) {
  char digits[32];
  int n = snprintf(digits, sizeof digits, "%llu", (unsigned long long)v);
  size_t j = 0;
  for (int i = 0; i < n && j + 2 < len; i++) {
    if (i > 0 && (n - i) % 3 == 0) buf[j++] = ',';
    buf[j++] = digits[i];
  }
  buf[j] = '\0';
}

static void json_key(bench_out *o, const char *key) {
  printf("%s\"%s\":", o->fields++ ? "," : "", key);
}

static void table_row(const char *label, const char *value, const char *unit,
                      const char *note) {
  if (label == NULL) return; /* a figure for JSON only */
  char line[256];
  int n = snprintf(line, sizeof line, "  %-42s %16s %-8s %s", label, value,
                   unit ? unit : "", note ? note : "");
  if (n < 0) return;
  size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
  while (len > 0 && line[len - 1] == ' ') len--; /* no trailing blanks */
  printf("%.*s\n", (int)len, line);
}

void bench_out_begin(bench_out *o, int json, const char *bench) {
  o->json = json;
  o->fields = 0;
  if (json) {
    printf("{");
    json_key(o, "bench");
    printf("\"%s\"", bench);
  } else {
    printf("imx-bench %s\n", bench);
  }
}

void bench_out_section(bench_out *o, const char *title) {
  if (!o->json) printf("\n%s\n", title);
}

void bench_out_u64(bench_out *o, const char *key, const char *label, uint64_t v,
                   const char *unit, const char *note) {
  if (o->json) {
    json_key(o, key);
    printf("%llu", (unsigned long long)v);
    return;
  }
  char buf[40];
  format_grouped(buf, sizeof buf, v);
  table_row(label, buf, unit, note);
}

void bench_out_i64(bench_out *o, const char *key, const char *label, int64_t v,
                   const char *unit, const char *note) {
  if (o->json) {
    json_key(o, key);
    printf("%lld", (long long)v);
    return;
  }
  char buf[40];
  format_grouped(buf + 1, sizeof buf - 1,
                 v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v);
  buf[0] = '-';
  table_row(label, v < 0 ? buf : buf + 1, unit, note);
}

void bench_out_f64(bench_out *o, const char *key, const char *label, double v,
                   int decimals, const char *unit, const char *note) {
  if (o->json) {
    json_key(o, key);
    printf("%.*f", decimals, v);
    return;
  }
  char buf[40];
  if (decimals == 0 && v >= 0 && v < 1.8e19)
    format_grouped(buf, sizeof buf, (uint64_t)(v + 0.5));
  else
    snprintf(buf, sizeof buf, "%.*f", decimals, v);
  table_row(label, buf, unit, note);
}

void bench_out_bytes(bench_out *o, const char *key, const char *label,
                     uint64_t bytes, const char *note) {
  if (o->json) {
    bench_out_u64(o, key, label, bytes, NULL, NULL);
    return;
  }
  bench_out_f64(o, key, label, (double)bytes / (1024.0 * 1024.0), 1, "MiB",
                note);
}

void bench_out_str(bench_out *o, const char *key, const char *label,
                   const char *v, const char *note) {
  if (!o->json) {
    table_row(label, v, NULL, note);
    return;
  }
  json_key(o, key);
  putchar('"');
  for (const char *p = v; *p; p++) {
    if (*p == '"' || *p == '\\') putchar('\\');
    putchar(*p);
  }
  putchar('"');
}

void bench_out_remark(bench_out *o, const char *text) {
  if (!o->json) printf("  %s\n", text);
}

void bench_out_end(bench_out *o) {
  if (o->json) printf("}\n");
  fflush(stdout);
}

/* Reads the value of option argv[*i] into *out, advancing *i. */
int bench_opt_u64(int argc, char **argv, int *i, uint64_t min, uint64_t max,
                   uint64_t *out) {
  const char *name = argv[*i];
  if (*i + 1 >= argc) return bench_usage_error("%s needs a value", name);
  const char *v = argv[++*i];
  if (bench_parse_u64(v, min, max, out) != 0)
    return bench_usage_error("%s: '%s' is not a whole number in %llu..%llu",
                             name, v, (unsigned long long)min,
                             (unsigned long long)max);
  return BENCH_EXIT_OK;
}


int bench_fail(const char *bench, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "imx-bench %s: error: ", bench);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return BENCH_EXIT_ERROR;
}

double bench_per_s(uint64_t n, int64_t elapsed_ns) {
  return (double)n * 1e9 / (double)elapsed_ns;
}

int64_t bench_elapsed_since(int64_t t0_ns) {
  int64_t d_ns = bench_now_ns() - t0_ns;
  return d_ns > 0 ? d_ns : 1;
}

const char *bench_met(int ok) { return ok ? "met" : "NOT MET"; }

const char *bench_grouped(char *buf, size_t len, int64_t v) {
  char digits[32];
  int n = snprintf(digits, sizeof digits, "%lld", (long long)v);
  size_t j = 0;
  for (int i = 0; i < n && j + 2 < len; i++) {
    if (i > 0 && digits[i - 1] != '-' && (n - i) % 3 == 0) buf[j++] = ',';
    buf[j++] = digits[i];
  }
  buf[j] = '\0';
  return buf;
}

const char *bench_grouped_f(char *buf, size_t len, double v) {
  return bench_grouped(buf, len, (int64_t)(v < 0 ? v - 0.5 : v + 0.5));
}

int bench_has(const char *buf, size_t len, const char *s) {
  size_t k = strlen(s);
  for (size_t i = 0; i + k <= len; i++)
    if (memcmp(buf + i, s, k) == 0) return 1;
  return 0;
}
