/*
** bench.h -- what the benchmarks of imx-bench share: the subcommand entry
** points, a seeded PRNG, the clock, resident memory, and one output writer
** that prints either an aligned table or a single JSON object.
**
** A benchmark is one function `int bench_NAME_main(int argc, char **argv)`
** (argv[0] is the subcommand's name) listed in the table in bench.c. It
** returns BENCH_EXIT_OK whatever the figures are: a slow result is a figure,
** not a failure. BENCH_EXIT_ERROR is for a real error (a command the code
** under test rejected unexpectedly, an allocation that failed) and
** BENCH_EXIT_USAGE for bad arguments, after which bench.c prints the usage.
**
** Every file that includes this header must define _POSIX_C_SOURCE before
** its first include: the build is -std=c11 and the clock needs POSIX.
*/
#ifndef IMX_BENCH_H
#define IMX_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum { BENCH_EXIT_OK = 0, BENCH_EXIT_ERROR = 1, BENCH_EXIT_USAGE = 2 };

/* Subcommands. Adding one (auction, gateway, ledger) is a function here and
** one line in the table of bench.c. */
int bench_engine_main(int argc, char **argv);
int bench_auction_main(int argc, char **argv);
int bench_gateway_main(int argc, char **argv);
int bench_ledger_main(int argc, char **argv);
int bench_restart_main(int argc, char **argv);
int bench_http_main(int argc, char **argv);
int bench_call_main(int argc, char **argv);

/* The market bench_gateway.c builds in memory, which bench_http.c trades on
** too: one continuous service BENCH_MARKET_SERVICE (tick 1, lot 1, price
** cap 1,000,000), BENCH_MARKET_CCS cost centres "CC-<i>", the first half
** providers with a capacity that never runs out, the second half receivers
** with budgets that never run out; the token of CC-<i> is "bench-<i>".
** Free it with imx_market_free. */
#define BENCH_MARKET_CCS 64u
#define BENCH_MARKET_SERVICE "bench.hour"
struct imx_market;
int bench_gateway_market(struct imx_market *m);

/* ---- arguments -------------------------------------------------------- */

/* Prints "imx-bench: <message>" to stderr; returns BENCH_EXIT_USAGE so that a
** parser can `return bench_usage_error(...)`. */
int bench_usage_error(const char *fmt, ...);

/* Parses a whole decimal number within [min, max]; 0 on success, -1 if s is
** not one (no sign, no suffix, no overflow). */
int bench_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
/* Reads the value of option argv[*i] (a whole number in [min, max]) into
** *out, advancing *i; BENCH_EXIT_OK or a usage error. */
int bench_opt_u64(int argc, char **argv, int *i, uint64_t min, uint64_t max,
                  uint64_t *out);

/* ---- PRNG: splitmix64, seeded, deterministic across machines ------------ */

typedef struct bench_rng {
  uint64_t state;
} bench_rng;

static inline uint64_t bench_rng_next(bench_rng *r) {
  uint64_t z = (r->state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

/* Uniform in [0, n), n <= 2^32: multiply-shift of the high 32 bits, whose
** bias (< n / 2^32) is far below anything a benchmark can see. */
static inline uint32_t bench_rng_below(bench_rng *r, uint32_t n) {
  return (uint32_t)(((bench_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

/* ---- clock and memory ------------------------------------------------- */

/* Inline so that timing one operation costs one vDSO call, not two calls. */
static inline int64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Resident set size now, from /proc/self/statm; 0 if it cannot be read. */
uint64_t bench_rss_bytes(void);
/* Peak resident set size of the process so far (getrusage ru_maxrss). */
uint64_t bench_rss_bytes_peak(void);

/* ---- output: an aligned table, or one JSON object ---------------------- */

typedef struct bench_out {
  int json;   /* 1: one JSON object on stdout, nothing else */
  int fields; /* JSON fields written so far, for the commas   */
} bench_out;

void bench_out_begin(bench_out *o, int json, const char *bench);
/* A heading in the table; nothing in JSON, whose keys are flat. */
void bench_out_section(bench_out *o, const char *title);
/* One figure. `key` names it in JSON (units last: ops_per_s); `label`,
** `unit` and `note` (a target, a remark; may be NULL) are for the table;
** a NULL label keeps the figure out of the table (JSON only). */
void bench_out_u64(bench_out *o, const char *key, const char *label, uint64_t v,
                   const char *unit, const char *note);
void bench_out_i64(bench_out *o, const char *key, const char *label, int64_t v,
                   const char *unit, const char *note);
void bench_out_f64(bench_out *o, const char *key, const char *label, double v,
                   int decimals, const char *unit, const char *note);
/* A size: bytes in JSON (the key ends in _bytes), MiB in the table. */
void bench_out_bytes(bench_out *o, const char *key, const char *label,
                     uint64_t bytes, const char *note);
void bench_out_str(bench_out *o, const char *key, const char *label,
                   const char *v, const char *note);
/* A line of prose in the table only (e.g. how a figure was obtained). */
void bench_out_remark(bench_out *o, const char *text);
void bench_out_end(bench_out *o);

/* Shared by the benchmarks. */
int bench_fail(const char *bench, const char *fmt, ...);  /* BENCH_EXIT_ERROR */
int bench_has(const char *buf, size_t len, const char *s); /* s within buf[0..len) */
double bench_per_s(uint64_t n, int64_t elapsed_ns);
int64_t bench_elapsed_since(int64_t t0_ns);                /* >= 1 ns */
const char *bench_met(int ok);                             /* "met" / "NOT MET" */
/* 5000000 -> "5,000,000", for notes and titles. */
const char *bench_grouped(char *buf, size_t len, int64_t v);
const char *bench_grouped_f(char *buf, size_t len, double v); /* rounded */

#endif /* IMX_BENCH_H */
