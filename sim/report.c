/*
** report.c -- what `imx-sim run` shows: the terminal summary, the JSON
** object (--json), and the CSV files and the HTML report (--out DIR).
**
** Every report starts from one aggregation of the result (struct agg):
** totals per run (flat rate, market), per service, per period and per cost
** centre, the cross-subsidy of each receiver and the capacity of each
** provider. The reports only format those numbers.
**
** Everything printed is exact and the same on every machine: money is
** int64 minor units printed in major units by proto's imx_money_format
** (the scenario currency's decimals), ratios (efficiency, utilisation, budget use) are rounded half
** away from zero from 128-bit products, and the SVG charts of the HTML use
** integer pixel coordinates. No floating point anywhere in this file.
*/
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "sim_int.h"

enum { RUN_FLAT = 0, RUN_MARKET = 1, RUNS = 2 };

#define REPORT_TOP_N 5         /* winners and losers in the summaries      */
#define CHART_BARS_MAX 20      /* cost centres in one bar chart            */
#define CHART_DIVERGE_MAX 10   /* receivers each way in the diverging bars */
#define CHART_PANELS_MAX 12    /* services drawn in the price chart        */
#define HTML_CC_ROWS_MAX 100   /* rows of the cost-centre table            */
#define REPORT_PATH_MAX 4096   /* --out DIR, with a file name appended     */
#define ROLE_PROVIDER 1u
#define ROLE_RECEIVER 2u

static const char *const run_csv[RUNS] = {"flat", "market"};
static const int64_t pow10_tab[] = {1, 10, 100, 1000, 10000, 100000, 1000000};

static const sim_run *run_of(const sim_result *r, int k) {
  assert(k == RUN_FLAT || k == RUN_MARKET);
  return k == RUN_FLAT ? &r->flat : &r->market;
}

/* ================================================================ numbers */

typedef struct numbuf {
  char s[64];
} numbuf;

static uint64_t magnitude(int64_t v) {
  return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

/* The decimals of the scenario's currency (EUR 2, JPY 0; a code outside
** ISO 4217: 2) for the report being written: each public entry point sets
** it (money_of), because money is formatted deep inside tables and chart
** axes that know nothing of the scenario; reports are written one at a
** time. Money goes through proto's one formatter, imx_money_format. */
static int money_decimals = 2;
/* 1 while the HTML report is written: money and counts get thousand
** separators there (the terminal and CSV keep plain digits). */
static int html_sep = 0;
static const char *group3(numbuf *b, const char *plain);
/* The scenario of the HTML report being written: the period labels of
** time axes and the currency of money axes. */
static const sim_scenario *axis_sc;

/* A change of money, signed: +12.00, -3.50, 0.00. */
static const char *fmt_money_change(numbuf *b, int64_t minor) {
  _Static_assert(sizeof b->s >= IMX_MONEY_TEXT_BYTES, "a formatted amount fits");
  if (html_sep) {
    numbuf t;
    return group3(b, imx_money_format(minor, money_decimals, IMX_MONEY_PLUS, t.s));
  }
  return imx_money_format(minor, money_decimals, IMX_MONEY_PLUS, b->s);
}

static const char *fmt_int(numbuf *b, int64_t v) {
  if (html_sep) {
    numbuf t;
    snprintf(t.s, sizeof t.s, "%" PRId64, v);
    return group3(b, t.s);
  }
  snprintf(b->s, sizeof b->s, "%" PRId64, v);
  return b->s;
}

static const char *fmt_int_change(numbuf *b, int64_t v) {
  snprintf(b->s, sizeof b->s, v > 0 ? "+%" PRId64 : "%" PRId64, v);
  return b->s;
}

/* num * scale / den, rounded half away from zero, saturated to int64. */
static int64_t ratio_scaled(int64_t num, int64_t den, int64_t scale) {
  assert(den != 0 && scale > 0);
  __int128 n = (__int128)num * scale, d = den;
  if (d < 0) {
    n = -n;
    d = -d;
  }
  __int128 q = (n >= 0 ? n + d / 2 : n - d / 2) / d;
  /* Clamped well inside int64, so that the difference of two ratios (a
  ** change in points) and a chart's range cannot overflow. Real ratios are
  ** far smaller: |surplus| <= ~1e18 over a max surplus >= 1 minor unit. */
  const __int128 lim = INT64_MAX / 4;
  if (q > lim) q = lim;
  if (q < -lim) q = -lim;
  return (int64_t)q;
}

/* v / 10^places as a decimal: 973100 with 6 places is 0.973100. */
static const char *fmt_fixed(numbuf *b, int64_t v, int places) {
  assert(places >= 1 && places <= 6);
  uint64_t m = magnitude(v), s = (uint64_t)pow10_tab[places];
  snprintf(b->s, sizeof b->s, "%s%" PRIu64 ".%0*" PRIu64, v < 0 ? "-" : "",
           m / s, places, m % s);
  return b->s;
}

/* Money in major units: -1234.05. */
static const char *fmt_money(numbuf *b, int64_t minor) {
  if (html_sep) {
    numbuf t;
    return group3(b, imx_money_format(minor, money_decimals, 0, t.s));
  }
  return imx_money_format(minor, money_decimals, 0, b->s);
}

/* num / den with `places` decimals, or `none` when den is 0. */
static const char *fmt_ratio(numbuf *b, int64_t num, int64_t den, int places,
                             const char *none) {
  if (den == 0) return none;
  return fmt_fixed(b, ratio_scaled(num, den, pow10_tab[places]), places);
}

/* num / den as a percentage with two places, "97.31 %", or `none`. */
static const char *fmt_pct(numbuf *b, int64_t num, int64_t den,
                           const char *none) {
  if (den == 0) return none;
  fmt_fixed(b, ratio_scaled(num, den, 10000), 2);
  size_t n = strlen(b->s);
  assert(n + 3 < sizeof b->s);
  memcpy(b->s + n, " %", 3);
  return b->s;
}

/* A change of two percentages given in 1/100 %: "+45.49 pp". */
static const char *fmt_pp(numbuf *b, int64_t hundredths) {
  b->s[0] = hundredths > 0 ? '+' : '\0';
  b->s[1] = '\0';
  numbuf t;
  fmt_fixed(&t, hundredths, 2);
  size_t n = strlen(b->s), m = strlen(t.s);
  assert(n + m + 4 < sizeof b->s);
  memcpy(b->s + n, t.s, m);
  memcpy(b->s + n + m, " pp", 4);
  return b->s;
}

/* The mean price: charges per unit, rounded; `none` without units. */
static const char *fmt_price(numbuf *b, int64_t charges, int64_t units,
                             const char *none, int money) {
  if (units == 0) return none;
  int64_t p = ratio_scaled(charges, units, 1);
  return money ? fmt_money(b, p) : fmt_int(b, p);
}

/* ============================================================ aggregation */

typedef struct tot {
  int64_t surplus, max_surplus, units, charges, waste_units, waste;
  int64_t capacity; /* units the providers could make in the same span */
} tot;

typedef struct cc_tot {
  int64_t consumed, produced, paid, received, worth, cost;
} cc_tot;

typedef struct ranked {
  int64_t v;
  uint32_t cc;
} ranked;

/* The aggregation behind every report: what sim_report_build makes. */
typedef struct sim_report agg;
static int ranked_desc(const void *x, const void *y);
struct sim_report {
  const sim_result *r;
  const sim_scenario *sc;
  uint32_t P, S, C;
  tot all[RUNS];
  tot *svc[RUNS];          /* [S] */
  tot *per[RUNS];          /* [P] */
  cc_tot *cc[RUNS];        /* [C] */
  int64_t *cc_capacity;    /* [C] units over the whole run        */
  int64_t *xsub;           /* [C] cross-subsidy, receivers        */
  int64_t *use_share;      /* [C] its share of the flat charges by
                           ** use (units consumed), receivers     */
  uint8_t *role;           /* [C] ROLE_* bits                     */
  ranked *rank_a;          /* [C] scratch: one ranking at a time  */
  uint32_t providers, receivers; /* cost centres with such rows    */
  int64_t xsub_paid;       /* sum of the positive cross-subsidies */
  uint32_t xsub_payers;    /* receivers with one                  */
  int64_t fixed[RUNS];     /* charges above the providers' marginal
                           ** cost of what they made             */
  int outside;             /* some receiver has an outside option */
  sim_report_meta meta;    /* the assumptions (sim_report_set_meta)*/
  sim_recon recon;         /* the flat run against the history    */
};

static void agg_free(agg *a) {
  for (int k = 0; k < RUNS; k++) {
    free(a->svc[k]);
    free(a->per[k]);
    free(a->cc[k]);
  }
  free(a->cc_capacity);
  free(a->xsub);
  free(a->use_share);
  free(a->role);
  free(a->rank_a);
  sim_recon_free(&a->recon);
  memset(a, 0, sizeof *a);
}

static int agg_alloc(agg *a) {
  size_t S = (size_t)a->S + 1, P = (size_t)a->P + 1, C = (size_t)a->C + 1;
  int ok = 1;
  for (int k = 0; k < RUNS; k++) {
    a->svc[k] = calloc(S, sizeof(tot));
    a->per[k] = calloc(P, sizeof(tot));
    a->cc[k] = calloc(C, sizeof(cc_tot));
    ok = ok && a->svc[k] && a->per[k] && a->cc[k];
  }
  a->cc_capacity = calloc(C, sizeof(int64_t));
  a->xsub = calloc(C, sizeof(int64_t));
  a->use_share = calloc(C, sizeof(int64_t));
  a->role = calloc(C, 1);
  a->rank_a = calloc(C, sizeof(ranked));
  ok = ok && a->cc_capacity && a->xsub && a->use_share && a->role &&
       a->rank_a;
  return ok ? 0 : -1;
}

static void tot_add(tot *t, const sim_svc_cell *c, int64_t max_minor) {
  t->surplus += c->surplus_minor;
  t->max_surplus += max_minor;
  t->units += c->units;
  t->charges += c->amount_minor;
  t->waste_units += c->waste_units;
  t->waste += c->waste_minor;
}

static void agg_services(agg *a) {
  for (int k = 0; k < RUNS; k++) {
    const sim_run *run = run_of(a->r, k);
    for (uint32_t p = 0; p < a->P; p++) {
      for (uint32_t s = 0; s < a->S; s++) {
        size_t i = (size_t)p * a->S + s;
        int64_t max = a->r->max_surplus_minor[i];
        tot_add(&a->all[k], &run->svc[i], max);
        tot_add(&a->svc[k][s], &run->svc[i], max);
        tot_add(&a->per[k][p], &run->svc[i], max);
      }
    }
  }
}

/* Cross-subsidy (receivers): what the flat rate charged a cost centre
** minus its use share, the part of the same charges that its use would
** bear: in each service and period, the charges to all receivers split by
** units consumed (the cents by the largest remainder, ties in row order).
** A period in which nobody used the service has no use to split by: each
** receiver's use share is its own charge. So in each service and period
** the use shares add up to the charges, and the cross-subsidies of all
** receivers net to zero by construction: what one paid for others' use,
** the others did not pay for theirs. A per_unit key charges by use and
** gives none. */
static int agg_xsub(agg *a) {
  const sim_scenario *sc = a->sc;
  sim_groups g;
  if (sim_groups_build(sc, SIM_BY_SERVICE, &g) != 0) return -1;
  ranked *rem = malloc(((size_t)g.widest + 1) * sizeof *rem);
  if (rem == NULL) {
    sim_groups_free(&g);
    return -1;
  }
  for (uint32_t p = 0; p < a->P; p++) {
    const sim_cell *cells = a->r->flat.cells + (size_t)p * sc->rows_n;
    for (uint32_t s = 0; s < a->S; s++) {
      int64_t pool = 0, units = 0, given = 0;
      uint32_t n = 0;
      for (uint32_t j = g.off[s]; j < g.off[s + 1]; j++) {
        uint32_t i = g.rows[j];
        if (sc->rows[i].side != SIM_RECEIVER) continue;
        pool += cells[i].amount_minor;
        units += cells[i].units;
      }
      for (uint32_t j = g.off[s]; j < g.off[s + 1]; j++) {
        uint32_t i = g.rows[j];
        if (sc->rows[i].side != SIM_RECEIVER) continue;
        if (units == 0) {
          a->use_share[sc->rows[i].cc] += cells[i].amount_minor;
          continue;
        }
        __int128 x = (__int128)pool * cells[i].units;
        int64_t sh = (int64_t)(x / units);
        a->use_share[sc->rows[i].cc] += sh;
        given += sh;
        rem[n++] = (ranked){(int64_t)(x % units), i};
      }
      if (units == 0) continue;
      int64_t left = pool - given;
      assert(left >= 0 && left <= (int64_t)n);
      qsort(rem, n, sizeof *rem, ranked_desc);
      for (int64_t k = 0; k < left; k++) a->use_share[sc->rows[rem[k].cc].cc]++;
    }
  }
  free(rem);
  sim_groups_free(&g);
  int64_t sum = 0;
  for (uint32_t c = 0; c < a->C; c++) {
    if (!(a->role[c] & ROLE_RECEIVER)) continue;
    a->xsub[c] = a->cc[RUN_FLAT][c].paid - a->use_share[c];
    sum += a->xsub[c];
    if (a->xsub[c] > 0) {
      a->xsub_paid += a->xsub[c];
      a->xsub_payers++;
    }
  }
  IMX_ASSERT(sum == 0);
  return 0;
}

static void agg_rows(agg *a) {
  const sim_scenario *sc = a->sc;
  for (uint32_t i = 0; i < sc->rows_n; i++) {
    const sim_row *w = &sc->rows[i];
    assert(w->cc < a->C && w->service < a->S);
    int prov = w->side == SIM_PROVIDER;
    a->role[w->cc] |= prov ? ROLE_PROVIDER : ROLE_RECEIVER;
    if (prov) {
      int64_t cap = (int64_t)w->n;
      a->cc_capacity[w->cc] += cap * a->P;
      for (int k = 0; k < RUNS; k++) {
        a->all[k].capacity += cap * a->P;
        a->svc[k][w->service].capacity += cap * a->P;
        for (uint32_t p = 0; p < a->P; p++) a->per[k][p].capacity += cap;
      }
    }
    for (int k = 0; k < RUNS; k++) {
      const sim_run *run = run_of(a->r, k);
      cc_tot *t = &a->cc[k][w->cc];
      for (uint32_t p = 0; p < a->P; p++) {
        const sim_cell *c = &run->cells[(size_t)p * sc->rows_n + i];
        if (prov) {
          t->produced += c->units;
          t->received += c->amount_minor;
          t->cost += c->worth_minor;
        } else {
          t->consumed += c->units;
          t->paid += c->amount_minor;
          t->worth += c->worth_minor;
        }
      }
    }
    if (prov)
      for (int k = 0; k < RUNS; k++)
        for (uint32_t p = 0; p < a->P; p++) {
          const sim_cell *c = &run_of(a->r, k)->cells[(size_t)p * sc->rows_n + i];
          a->fixed[k] += c->amount_minor - c->worth_minor;
        }
    if (!prov && w->outside_minor) a->outside = 1;
  }
}

static int agg_build(const sim_result *r, agg *a) {
  assert(r != NULL && r->sc != NULL);
  memset(a, 0, sizeof *a);
  a->r = r;
  a->sc = r->sc;
  a->P = r->sc->periods;
  a->S = r->sc->services_n;
  a->C = r->sc->ccs_n;
  assert(a->P >= 1 && a->P <= SIM_PERIODS_MAX);
  if (agg_alloc(a) != 0) {
    agg_free(a);
    return -1;
  }
  if (sim_reconcile(r, &a->recon) != 0) {
    agg_free(a);
    return -1;
  }
  agg_services(a);
  agg_rows(a);
  for (uint32_t c = 0; c < a->C; c++) {
    a->providers += (a->role[c] & ROLE_PROVIDER) != 0;
    a->receivers += (a->role[c] & ROLE_RECEIVER) != 0;
  }
  if (agg_xsub(a) != 0) {
    agg_free(a);
    return -1;
  }
  assert(a->all[RUN_FLAT].max_surplus == a->all[RUN_MARKET].max_surplus);
  return 0;
}

sim_report *sim_report_build(const sim_result *r) {
  agg *a = malloc(sizeof *a);
  if (a == NULL) return NULL;
  if (agg_build(r, a) != 0) {
    free(a);
    return NULL;
  }
  return a;
}

void sim_report_free(sim_report *a) {
  if (a == NULL) return;
  agg_free(a);
  free(a);
}

/* ---------------------------------------------------------------- ranking */

typedef int64_t (*cc_value_fn)(const agg *a, uint32_t cc);

static int64_t v_xsub(const agg *a, uint32_t cc) { return a->xsub[cc]; }
static int64_t v_income_change(const agg *a, uint32_t cc) {
  return a->cc[RUN_MARKET][cc].received - a->cc[RUN_FLAT][cc].received;
}
static int64_t v_paid_max(const agg *a, uint32_t cc) {
  int64_t f = a->cc[RUN_FLAT][cc].paid, m = a->cc[RUN_MARKET][cc].paid;
  return f > m ? f : m;
}
static int64_t v_capacity(const agg *a, uint32_t cc) {
  return a->cc_capacity[cc];
}

/* Highest value first; ties in file order, so rankings are reproducible. */
static int ranked_desc(const void *x, const void *y) {
  const ranked *p = x, *q = y;
  if (p->v != q->v) return p->v > q->v ? -1 : 1;
  return p->cc < q->cc ? -1 : p->cc > q->cc;
}

/* The cost centres having `role`, by f descending, into out (C entries). */
static uint32_t rank_ccs(const agg *a, unsigned role, cc_value_fn f,
                         ranked *out) {
  uint32_t n = 0;
  for (uint32_t c = 0; c < a->C; c++)
    if (a->role[c] & role) out[n++] = (ranked){f(a, c), c};
  assert(n <= a->C);
  qsort(out, n, sizeof *out, ranked_desc);
  return n;
}

/* How many of the first `max` entries are > 0 (from the front) or < 0
** (from the back) of a ranking sorted descending. */
static uint32_t count_pos(const ranked *v, uint32_t n, uint32_t max) {
  uint32_t k = 0;
  while (k < n && k < max && v[k].v > 0) k++;
  return k;
}
static uint32_t count_neg(const ranked *v, uint32_t n, uint32_t max) {
  uint32_t k = 0;
  while (k < n && k < max && v[n - 1 - k].v < 0) k++;
  return k;
}

/* ================================================================= text */

static void text_header(const agg *a, FILE *o) {
  const sim_result *r = a->r;
  fprintf(o,
          "Flat rate vs market: %" PRIu32 " periods, %" PRIu32
          " services, %" PRIu32 " cost centres (%" PRIu32 " providers, %" PRIu32
          " receivers), money in %s\n",
          a->P, a->S, a->C, a->providers, a->receivers, a->sc->currency);
  fprintf(o,
          "Market run: agents %s, seed %" PRIu64 "; %" PRIu64 " orders, %" PRIu64
          " trades, %" PRIu64 " rejected\n\n",
          sim_agents_name(r->agents), r->seed, r->market.orders,
          r->market.trades, r->market.rejected);
}

static void text_money_row(FILE *o, const char *label, int64_t f, int64_t m) {
  numbuf x, y, z;
  fprintf(o, "  %-13s %15s %15s %15s\n", label, fmt_money(&x, f),
          fmt_money(&y, m), fmt_money_change(&z, m - f));
}

static void text_units_row(FILE *o, const char *label, int64_t f, int64_t m) {
  numbuf x, y, z;
  fprintf(o, "  %-13s %15s %15s %15s\n", label, fmt_int(&x, f),
          fmt_int(&y, m), fmt_int_change(&z, m - f));
}

/* A ratio row; the change is in percentage points, taken from the two
** rounded figures so that the row adds up as printed. */
static void text_ratio_row(FILE *o, const char *label, int64_t fn, int64_t fd,
                           int64_t mn, int64_t md) {
  numbuf x, y, z;
  const char *change = "n/a";
  if (fd != 0 && md != 0)
    change = fmt_pp(&z, ratio_scaled(mn, md, 10000) - ratio_scaled(fn, fd, 10000));
  fprintf(o, "  %-13s %15s %15s %15s\n", label, fmt_pct(&x, fn, fd, "n/a"),
          fmt_pct(&y, mn, md, "n/a"), change);
}

static void text_totals(const agg *a, FILE *o) {
  const tot *f = &a->all[RUN_FLAT], *m = &a->all[RUN_MARKET];
  fprintf(o, "  %-13s %15s %15s %15s\n", "", "flat rate", "market", "change");
  text_money_row(o, "surplus", f->surplus, m->surplus);
  text_money_row(o, "max surplus", f->max_surplus, m->max_surplus);
  text_ratio_row(o, "efficiency", f->surplus, f->max_surplus, m->surplus,
                 m->max_surplus);
  text_units_row(o, "units", f->units, m->units);
  text_money_row(o, "charges", f->charges, m->charges);
  text_units_row(o, "waste units", f->waste_units, m->waste_units);
  text_money_row(o, "waste", f->waste, m->waste);
  text_ratio_row(o, "utilisation", f->units, f->capacity, m->units,
                 m->capacity);
  fputc('\n', o);
}

static void text_center(FILE *o, const char *s, int w) {
  int n = (int)strlen(s), left = n < w ? (w - n) / 2 : 0;
  fprintf(o, "%*s%-*s", left, "", w - left, s);
}

static int service_width(const agg *a) {
  int w = 7; /* "service" */
  for (uint32_t s = 0; s < a->S; s++) {
    int n = (int)strlen(a->sc->services[s].id);
    if (n > w) w = n;
  }
  return w > 40 ? 40 : w;
}

static void text_services(const agg *a, FILE *o) {
  int w = service_width(a);
  fprintf(o, "  %-*s  %-10s  ", w, "", "");
  text_center(o, "units", 15);
  fputs("  ", o);
  text_center(o, "price per unit", 19);
  fputs("  ", o);
  text_center(o, "efficiency", 17);
  fprintf(o, "  %8s\n", "util.");
  fprintf(o, "  %-*s  %-10s  %7s %7s  %9s %9s  %8s %8s  %8s\n", w, "service",
          "mode", "flat", "market", "flat", "market", "flat", "market",
          "market");
  for (uint32_t s = 0; s < a->S; s++) {
    const tot *f = &a->svc[RUN_FLAT][s], *m = &a->svc[RUN_MARKET][s];
    numbuf b[7];
    fprintf(o, "  %-*s  %-10s  %7s %7s  %9s %9s  %8s %8s  %8s\n", w,
            a->sc->services[s].id,
            a->sc->services[s].auction ? "auction" : "continuous",
            fmt_int(&b[0], f->units), fmt_int(&b[1], m->units),
            fmt_price(&b[2], f->charges, f->units, "-", 1),
            fmt_price(&b[3], m->charges, m->units, "-", 1),
            fmt_pct(&b[4], f->surplus, f->max_surplus, "n/a"),
            fmt_pct(&b[5], m->surplus, m->max_surplus, "n/a"),
            fmt_pct(&b[6], m->units, m->capacity, "n/a"));
  }
  fputc('\n', o);
}

/* Two ranked lists side by side: the top of `v` (> 0) on the left, the
** bottom (< 0) on the right. */
static void text_two_lists(FILE *o, const agg *a, const ranked *v, uint32_t n,
                           const char *left, const char *right) {
  uint32_t np = count_pos(v, n, REPORT_TOP_N), nn = count_neg(v, n, REPORT_TOP_N);
  int w = 8;
  for (uint32_t i = 0; i < n; i++) {
    int len = (int)strlen(a->sc->ccs[v[i].cc].id);
    if ((i < np || i >= n - nn) && len > w) w = len;
  }
  if (w > 30) w = 30;
  int half = w + 16, ll = (int)strlen(left);
  if (half < ll) half = ll;
  fprintf(o, "  %-*s   %s\n", half, left, right);
  if (np == 0 && nn == 0) fprintf(o, "  %-*s   %s\n", half, "(none)", "(none)");
  for (uint32_t i = 0; i < np || i < nn; i++) {
    numbuf x;
    char cell[192] = "";
    if (i < np)
      snprintf(cell, sizeof cell, "%-*s %15s", w, a->sc->ccs[v[i].cc].id,
               fmt_money_change(&x, v[i].v));
    if (i < nn) {
      const ranked *q = &v[n - 1 - i];
      fprintf(o, "  %-*s   %-*s %15s", half, cell, w, a->sc->ccs[q->cc].id,
              fmt_money_change(&x, q->v));
    } else {
      fprintf(o, "  %s", cell);
    }
    fputc('\n', o);
  }
}

static void text_movers(const agg *a, FILE *o) {
  uint32_t n = rank_ccs(a, ROLE_RECEIVER, v_xsub, a->rank_a);
  fputs("Cross-subsidy per receiver: flat-rate charge - its use share of the "
        "same charges (nets to zero)\n", o);
  text_two_lists(o, a, a->rank_a, n, "pays for others' use",
                 "others pay for its use");
  n = rank_ccs(a, ROLE_PROVIDER, v_income_change, a->rank_a);
  fputs("Provider income: market - flat rate\n", o);
  text_two_lists(o, a, a->rank_a, n, "grows", "shrinks");
}

/* Sets money_decimals for the report a (see there). */
static void money_of(const sim_report *a) {
  int d = imx_currency_decimals(a->sc->currency);
  money_decimals = d < 0 ? 2 : d;
}


/* ================================================ summary for the board
**
** Plain sentences in money, the same in every output: what the market
** gains (surplus), the waste it removes (real resources), what happens to
** capacity use and the fixed cost of idle capacity, that internal charges
** are transfers, and the cross-subsidy; then the assumptions. */

/* Digits of a plain number (an optional sign, digits, an optional
** fraction) with a comma every three digits of the integer part. */
static const char *group3(numbuf *b, const char *plain) {
  char tmp[sizeof b->s];
  size_t n = strlen(plain), i = 0, o = 0;
  assert(n < sizeof tmp);
  memcpy(tmp, plain, n + 1);
  if (tmp[0] == '-' || tmp[0] == '+') b->s[o++] = tmp[i++];
  size_t end = i;
  while (tmp[end] >= '0' && tmp[end] <= '9') end++;
  for (; i < end; i++) {
    b->s[o++] = tmp[i];
    size_t rest = end - i - 1;
    if (rest > 0 && rest % 3 == 0) b->s[o++] = ',';
    assert(o < sizeof b->s - 8);
  }
  size_t tail = strlen(tmp + end);
  assert(o + tail < sizeof b->s);
  memcpy(b->s + o, tmp + end, tail + 1);
  return b->s;
}

static const char *sep_money(numbuf *b, int64_t minor) {
  numbuf t;
  return group3(b, imx_money_format(minor, money_decimals, 0, t.s));
}
static const char *sep_money_change(numbuf *b, int64_t minor) {
  numbuf t;
  return group3(b, imx_money_format(minor, money_decimals, IMX_MONEY_PLUS, t.s));
}
static const char *sep_int(numbuf *b, int64_t v) {
  numbuf t;
  snprintf(t.s, sizeof t.s, "%" PRId64, v);
  return group3(b, t.s);
}

/* "12 periods (2026-01 to 2026-12)", or "4 periods". */
static void periods_text(const agg *a, char *buf, size_t cap) {
  numbuf x, y;
  if (a->sc->period_labels)
    snprintf(buf, cap, "%" PRIu32 " period%s (%s to %s)", a->P, a->P == 1 ? "" : "s",
             sim_period_label(a->sc, 1, x.s, sizeof x.s),
             sim_period_label(a->sc, a->P, y.s, sizeof y.s));
  else
    snprintf(buf, cap, "%" PRIu32 " period%s", a->P, a->P == 1 ? "" : "s");
}

#define SUMMARY_LINES 7
#define SUMMARY_BYTES 600

/* Receiver row i buys outside under the flat rate in period p (0-based). */
static int flat_gone(const agg *a, uint32_t i, uint32_t p) {
  uint32_t l = a->r->flat_left[i];
  return l != 0 && l <= p + 1;
}

static int summary_lines(const agg *a, char (*l)[SUMMARY_BYTES]) {
  const tot *f = &a->all[RUN_FLAT], *m = &a->all[RUN_MARKET];
  const char *cur = a->sc->currency;
  numbuf b[8];
  char per[96];
  int n = 0;
  periods_text(a, per, sizeof per);
  snprintf(l[n++], SUMMARY_BYTES,
           "Surplus gained (the worth of what receivers used minus the cost of making "
           "it): %s %s over %s; efficiency %s under the flat rate, %s in the market.",
           sep_money_change(&b[0], m->surplus - f->surplus), cur, per,
           fmt_pct(&b[1], f->surplus, f->max_surplus, "n/a"),
           fmt_pct(&b[2], m->surplus, m->max_surplus, "n/a"));
  snprintf(l[n++], SUMMARY_BYTES,
           "Waste removed: %s units that cost more to make than they were worth to "
           "those who used them, %s %s of real resources saved (the market leaves "
           "%s units, %s %s).",
           sep_int(&b[0], f->waste_units - m->waste_units),
           sep_money(&b[1], f->waste - m->waste), cur, sep_int(&b[2], m->waste_units),
           sep_money(&b[3], m->waste), cur);
  snprintf(l[n++], SUMMARY_BYTES,
           "Capacity use: %s under the flat rate, %s in the market (%s units of "
           "capacity idle instead of %s). What providers earn above the marginal cost "
           "of what they make has to pay their fixed costs, the fixed cost of idle "
           "capacity included: %s %s under the flat rate, %s in the market. That "
           "fixed cost is saved only when idle capacity is cut or used otherwise.",
           fmt_pct(&b[0], f->units, f->capacity, "n/a"),
           fmt_pct(&b[1], m->units, m->capacity, "n/a"),
           sep_int(&b[4], m->capacity - m->units), sep_int(&b[5], f->capacity - f->units),
           sep_money(&b[2], a->fixed[RUN_FLAT]), cur, sep_money(&b[3], a->fixed[RUN_MARKET]));
  snprintf(l[n++], SUMMARY_BYTES,
           "Internal charges: %s %s under the flat rate, %s in the market (%s). They "
           "are transfers between cost centres of one group and net to zero for it: "
           "lower charges are not a saving in themselves; the saving is the surplus "
           "and the waste above.",
           sep_money(&b[0], f->charges), cur, sep_money(&b[1], m->charges),
           sep_money_change(&b[2], m->charges - f->charges));
  snprintf(l[n++], SUMMARY_BYTES,
           "Cross-subsidy under the flat rate: %" PRIu32 " receiving cost centre%s paid "
           "%s %s for others' use; the others paid as much less (winners and losers "
           "net to zero).",
           a->xsub_payers, a->xsub_payers == 1 ? "" : "s", sep_money(&b[0], a->xsub_paid),
           cur);
  if (a->outside) {
    uint32_t with = 0, left = 0, stay = 0;
    for (uint32_t i = a->sc->providers_n; i < a->sc->rows_n; i++) {
      if (a->sc->rows[i].outside_minor == 0) continue;
      with++;
      left += flat_gone(a, i, a->P - 1);
      int buys = 0;
      for (uint32_t p = 0; p < a->P; p++)
        buys |= a->r->market.cells[(size_t)p * a->sc->rows_n + i].units > 0;
      stay += buys;
    }
    snprintf(l[n++], SUMMARY_BYTES,
             "Outside suppliers: under the flat rate %" PRIu32 " of the %" PRIu32
             " receivers that have one left for it by the last period, and the "
             "service's fixed cost fell on fewer and fewer; in the market %" PRIu32
             " of them still buy inside.",
             left, with, stay);
  }
  return n;
}

static void assumptions_text(const agg *a, char *buf, size_t cap) {
  const sim_report_meta *m = &a->meta;
  char per[96];
  periods_text(a, per, sizeof per);
  size_t o = 0;
#define PUT(...) (o += (size_t)snprintf(buf + o, o < cap ? cap - o : 0, __VA_ARGS__))
  if (m->history) PUT("history %s", m->history);
  else PUT("scenario %s", m->scenario ? m->scenario : "(in memory)");
  if (m->market) PUT(", market file %s", m->market);
  if (m->elasticity) PUT("; price elasticity of demand %s (assumed)", m->elasticity);
  else PUT("; demand as the scenario's values");
  PUT("; agents %s, seed %" PRIu64 ", rounds %" PRIu32 "; %s; money in %s",
      sim_agents_name(a->r->agents), a->r->seed, m->rounds ? m->rounds : 30u, per,
      a->sc->currency);
#undef PUT
  if (o >= cap && cap > 4) memcpy(buf + cap - 4, "...", 4);
}

void sim_report_set_meta(sim_report *a, const sim_report_meta *m) {
  a->meta = *m;
}

void sim_report_sens_row(const sim_report *a, const char *label, sim_sens_row *out) {
  memset(out, 0, sizeof *out);
  snprintf(out->label, sizeof out->label, "%s", label);
  out->max_surplus = a->all[RUN_FLAT].max_surplus;
  for (int k = 0; k < RUNS; k++) {
    out->surplus[k] = a->all[k].surplus;
    out->units[k] = a->all[k].units;
    out->charges[k] = a->all[k].charges;
    out->waste_units[k] = a->all[k].waste_units;
    out->waste[k] = a->all[k].waste;
  }
}

/* s after `first`, wrapped at spaces to lines of at most `width` bytes, the
** lines after the first indented by `indent` spaces. */
static void text_wrap(FILE *o, const char *first, const char *s, int indent, int width) {
  int col = (int)strlen(first), fresh = 1; /* fresh: no word on the line yet */
  fputs(first, o);
  while (*s == ' ') s++;
  while (*s) {
    const char *sp = strchr(s, ' ');
    int len = sp ? (int)(sp - s) : (int)strlen(s);
    if (!fresh && col + 1 + len > width) {
      fprintf(o, "\n%*s", indent, "");
      col = indent;
      fresh = 1;
    }
    if (!fresh) {
      fputc(' ', o);
      col++;
    }
    fwrite(s, 1, (size_t)len, o);
    col += len;
    fresh = 0;
    s += len;
    while (*s == ' ') s++;
  }
  fputc('\n', o);
}

static void text_summary(const agg *a, FILE *o) {
  char l[SUMMARY_LINES][SUMMARY_BYTES], as[1024], line[1100];
  int n = summary_lines(a, l);
  fputs("Summary for the board\n", o);
  for (int i = 0; i < n; i++) text_wrap(o, "  - ", l[i], 4, 100);
  assumptions_text(a, as, sizeof as);
  snprintf(line, sizeof line, "%s.", as);
  text_wrap(o, "Assumptions: ", line, 2, 100);
  fputc('\n', o);
}

/* ------------------------------------------------ outside options */

/* Receivers of service s inside under the flat rate in period p. */
static uint32_t flat_inside(const agg *a, uint32_t s, uint32_t p) {
  uint32_t n = 0;
  for (uint32_t i = a->sc->providers_n; i < a->sc->rows_n; i++)
    if (a->sc->rows[i].service == s && !flat_gone(a, i, p)) n++;
  return n;
}

static int service_has_outside(const agg *a, uint32_t s) {
  for (uint32_t i = a->sc->providers_n; i < a->sc->rows_n; i++)
    if (a->sc->rows[i].service == s && a->sc->rows[i].outside_minor) return 1;
  return 0;
}

static uint32_t market_buying(const agg *a, uint32_t s, uint32_t p) {
  uint32_t n = 0;
  for (uint32_t i = a->sc->providers_n; i < a->sc->rows_n; i++)
    if (a->sc->rows[i].service == s &&
        a->r->market.cells[(size_t)p * a->sc->rows_n + i].units > 0)
      n++;
  return n;
}

/* Who leaves after period p (for p + 1): "CC-1100 Sales, ...". */
static void leaving_text(const agg *a, uint32_t s, uint32_t p, char *buf, size_t cap) {
  size_t o = 0;
  buf[0] = '\0';
  for (uint32_t i = a->sc->providers_n; i < a->sc->rows_n && o < cap; i++) {
    const sim_row *w = &a->sc->rows[i];
    if (w->service != s || a->r->flat_left[i] != p + 2) continue;
    const sim_cc *c = &a->sc->ccs[w->cc];
    o += (size_t)snprintf(buf + o, cap - o, "%s%s%s%s", o ? ", " : "", c->id,
                          c->name[0] ? " " : "", c->name);
  }
}

static void text_outside(const agg *a, FILE *o) {
  if (!a->outside) return;
  for (uint32_t s = 0; s < a->S; s++) {
    if (!service_has_outside(a, s)) continue;
    fputs("Outside suppliers, ", o);
    fputs(a->sc->services[s].id, o);
    fputs(": a receiver leaves the flat rate after a period in which its charge\n"
          "  passed the outside price of its units\n", o);
    fprintf(o, "  %-8s %6s %20s  %7s %14s  %s\n", "period", "inside", "charge per inside",
            "market", "market price", "leaving (flat rate)");
    for (uint32_t p = 0; p < a->P; p++) {
      const sim_svc_cell *f = &a->r->flat.svc[(size_t)p * a->S + s];
      const sim_svc_cell *m = &a->r->market.svc[(size_t)p * a->S + s];
      uint32_t in = flat_inside(a, s, p);
      numbuf b[3];
      char who[512];
      leaving_text(a, s, p, who, sizeof who);
      fprintf(o, "  %-8s %6" PRIu32 " %20s  %7" PRIu32 " %14s%s%s\n",
              sim_period_label(a->sc, p + 1, b[0].s, sizeof b[0].s), in,
              in ? sep_money(&b[1], (f->amount_minor + in / 2) / in) : "-",
              market_buying(a, s, p), m->units ? sep_money(&b[2], m->price_minor) : "-",
              who[0] ? "  " : "", who);
    }
    fputc('\n', o);
  }
}

static void json_summary(const agg *a, FILE *o) {
  const tot *f = &a->all[RUN_FLAT], *m = &a->all[RUN_MARKET];
  numbuf b[2];
  fprintf(o, ",\n\"summary\":{\"surplus_gained\":%" PRId64 ",\"waste_removed\":%" PRId64
             ",\"waste_units_removed\":%" PRId64 ",\"utilisation\":{\"flat_rate\":%s,"
             "\"market\":%s},\"above_marginal_cost\":{\"flat_rate\":%" PRId64
             ",\"market\":%" PRId64 "},\"charges_change\":%" PRId64
             ",\"charges_net_for_group\":0,\"cross_subsidy_paid\":%" PRId64
             ",\"cross_subsidy_payers\":%" PRIu32 ",\"text\":[",
          m->surplus - f->surplus, f->waste - m->waste, f->waste_units - m->waste_units,
          fmt_ratio(&b[0], f->units, f->capacity, 6, "null"),
          fmt_ratio(&b[1], m->units, m->capacity, 6, "null"), a->fixed[RUN_FLAT],
          a->fixed[RUN_MARKET], m->charges - f->charges, a->xsub_paid, a->xsub_payers);
  char l[SUMMARY_LINES][SUMMARY_BYTES], as[1024];
  int n = summary_lines(a, l);
  for (int i = 0; i < n; i++) {
    if (i) fputc(',', o);
    sim_json_str(o, l[i]);
  }
  const sim_report_meta *mt = &a->meta;
  fputs("]},\n\"assumptions\":{\"scenario\":", o);
  if (mt->scenario) sim_json_str(o, mt->scenario); else fputs("null", o);
  fputs(",\"history\":", o);
  if (mt->history) sim_json_str(o, mt->history); else fputs("null", o);
  fputs(",\"market\":", o);
  if (mt->market) sim_json_str(o, mt->market); else fputs("null", o);
  fprintf(o, ",\"elasticity\":%s,\"agents\":", mt->elasticity ? mt->elasticity : "null");
  sim_json_str(o, sim_agents_name(a->r->agents));
  fprintf(o, ",\"seed\":%" PRIu64 ",\"rounds\":%" PRIu32 ",\"periods\":%" PRIu32
             ",\"labels\":[", a->r->seed, mt->rounds ? mt->rounds : 30u, a->P);
  for (uint32_t p = 0; p < a->P; p++) {
    if (p) fputc(',', o);
    sim_json_str(o, sim_period_label(a->sc, p + 1, b[0].s, sizeof b[0].s));
  }
  assumptions_text(a, as, sizeof as);
  fputs("],\"text\":", o);
  sim_json_str(o, as);
  fputc('}', o);
  if (mt->sens_n) {
    fputs(",\n\"sensitivity_range\":[", o);
    for (uint32_t k = 0; k < mt->sens_n; k++) {
      const sim_sens_row *r = &mt->sens[k];
      fprintf(o, "%s{\"elasticity\":%s,\"max_surplus\":%" PRId64, k ? "," : "", r->label,
              r->max_surplus);
      for (int q = 0; q < RUNS; q++)
        fprintf(o, ",\"%s\":{\"surplus\":%" PRId64 ",\"efficiency\":%s,\"units\":%" PRId64
                   ",\"charges\":%" PRId64 ",\"waste_units\":%" PRId64 ",\"waste\":%" PRId64 "}",
                q ? "market" : "flat_rate", r->surplus[q],
                fmt_ratio(&b[0], r->surplus[q], r->max_surplus, 6, "null"), r->units[q],
                r->charges[q], r->waste_units[q], r->waste[q]);
      fputc('}', o);
    }
    fputc(']', o);
  }
  if (!a->outside) return;
  fputs(",\n\"outside\":[", o);
  int first = 1;
  for (uint32_t s = 0; s < a->S; s++) {
    if (!service_has_outside(a, s)) continue;
    fputs(first ? "{\"service\":" : ",{\"service\":", o);
    first = 0;
    sim_json_str(o, a->sc->services[s].id);
    fputs(",\"periods\":[", o);
    for (uint32_t p = 0; p < a->P; p++) {
      const sim_svc_cell *fc = &a->r->flat.svc[(size_t)p * a->S + s];
      uint32_t in = flat_inside(a, s, p);
      fprintf(o, "%s{\"period\":%" PRIu32 ",\"inside\":%" PRIu32
                 ",\"charge_per_inside\":%s,\"market_buying\":%" PRIu32 ",\"leaving\":[",
              p ? "," : "", p + 1, in,
              in ? fmt_int(&b[0], (fc->amount_minor + in / 2) / in) : "null",
              market_buying(a, s, p));
      int k = 0;
      for (uint32_t i = a->sc->providers_n; i < a->sc->rows_n; i++)
        if (a->sc->rows[i].service == s && a->r->flat_left[i] == p + 2) {
          if (k++) fputc(',', o);
          sim_json_str(o, a->sc->ccs[a->sc->rows[i].cc].id);
        }
      fputs("]}", o);
    }
    fputs("]}", o);
  }
  fputc(']', o);
}

/* ============================================================== quality
**
** Only when the scenario has quality (sc->quality_on): per service and
** provider row, the stars it delivered (units-weighted mean of its
** deliveries, tenths) and its share of the service's units, under each run;
** and the quality-adjusted surplus: receivers' qworth (their values times
** the quality factor of each delivery) minus providers' costs. Computed
** from the cells when written; a report without quality writes nothing of
** it, so every existing output stays byte for byte. */

typedef struct qfig {
  int64_t units, stars_units; /* the provider row, the whole run */
  int64_t svc_units;          /* its service, the whole run      */
} qfig;

static qfig q_provider(const agg *a, int k, uint32_t row) {
  const sim_scenario *sc = a->sc;
  const sim_run *run = run_of(a->r, k);
  /* A service's units (tot) are what its providers made: served or sold. */
  qfig f = {0, 0, a->svc[k][sc->rows[row].service].units};
  for (uint32_t p = 0; p < a->P; p++) {
    const sim_cell *c = &run->cells[(size_t)p * sc->rows_n + row];
    f.units += c->units;
    f.stars_units += c->stars_units;
  }
  return f;
}

/* The quality-adjusted surplus of run k, of service s (or all: s < 0). */
static int64_t q_surplus(const agg *a, int k, int64_t s) {
  const sim_scenario *sc = a->sc;
  const sim_run *run = run_of(a->r, k);
  int64_t sum = 0;
  for (uint32_t p = 0; p < a->P; p++)
    for (uint32_t i = 0; i < sc->rows_n; i++) {
      if (s >= 0 && sc->rows[i].service != (uint32_t)s) continue;
      const sim_cell *c = &run->cells[(size_t)p * sc->rows_n + i];
      sum += i < sc->providers_n ? -c->worth_minor : c->qworth_minor;
    }
  return sum;
}

/* Mean stars delivered, "4.5", or `none` when nothing was delivered. */
static const char *fmt_stars(numbuf *b, const qfig *f, const char *none) {
  if (f->units == 0) return none;
  return fmt_fixed(b, ratio_scaled(f->stars_units, f->units * 10, 10), 1);
}

static void text_quality(const agg *a, FILE *o) {
  const sim_scenario *sc = a->sc;
  if (!sc->quality_on) return;
  numbuf b[8];
  fprintf(o, "Quality: a unit is worth its value x (1 + %s x (stars - 3)); "
          "noise +-%s stars; ", fmt_fixed(&b[0], sc->quality_factor, 2),
          fmt_fixed(&b[1], sc->quality_noise, 1));
  int own = 0; /* a receiver whose threshold is not the scenario's */
  for (uint32_t i = sc->providers_n; i < sc->rows_n; i++)
    own |= sc->rows[i].min_stars != sc->quality_min_stars;
  if (own)
    fprintf(o, "market bids with receivers' own min_stars (%u ratings to be "
            "rated)\n", sc->ratings_min);
  else if (sc->quality_min_stars)
    fprintf(o, "market bids min %s stars (%u ratings to be rated)\n",
            fmt_fixed(&b[2], sc->quality_min_stars, 1), sc->ratings_min);
  else
    fputs("market bids without min_stars\n", o);
  int w = service_width(a);
  fprintf(o, "  %-*s  %-10s  %7s  %7s %7s  %8s\n", w, "", "", "",
          "stars", "", "share");
  fprintf(o, "  %-*s  %-10s  %7s  %7s %7s  %8s %8s\n", w, "service",
          "provider", "quality", "flat", "market", "flat", "market");
  for (uint32_t i = 0; i < sc->providers_n; i++) {
    const sim_row *r = &sc->rows[i];
    qfig f = q_provider(a, RUN_FLAT, i), m = q_provider(a, RUN_MARKET, i);
    fprintf(o, "  %-*s  %-10s  %7s  %7s %7s  %8s %8s\n", w,
            sc->services[r->service].id, sc->ccs[r->cc].id,
            fmt_fixed(&b[0], sim_quality_of(sc, i), 1),
            fmt_stars(&b[1], &f, "-"), fmt_stars(&b[2], &m, "-"),
            fmt_pct(&b[3], f.units, f.svc_units, "n/a"),
            fmt_pct(&b[4], m.units, m.svc_units, "n/a"));
  }
  fprintf(o, "  quality-adjusted surplus: flat rate %s, market %s\n\n",
          fmt_money(&b[5], q_surplus(a, RUN_FLAT, -1)),
          fmt_money(&b[6], q_surplus(a, RUN_MARKET, -1)));
}

static void json_quality_run(const agg *a, FILE *o, int k, uint32_t i) {
  qfig f = q_provider(a, k, i);
  numbuf b[2];
  /* Stars in tenths, as quality and min_stars (and the wire) have them. */
  fprintf(o, "{\"units\":%" PRId64 ",\"stars\":%s,\"share\":%s}", f.units,
          f.units ? fmt_int(&b[0], ratio_scaled(f.stars_units, f.units, 1)) : "null",
          fmt_ratio(&b[1], f.units, f.svc_units, 6, "null"));
}

static void json_quality(const agg *a, FILE *o) {
  const sim_scenario *sc = a->sc;
  if (!sc->quality_on) return;
  fprintf(o, ",\n\"quality\":{\"factor\":%" PRId64 ",\"noise\":%" PRId64
          ",\"min_stars\":%d,\"ratings_min\":%u,\"surplus\":{\"flat_rate\":%"
          PRId64 ",\"market\":%" PRId64 "},\"providers\":[",
          sc->quality_factor, sc->quality_noise, sc->quality_min_stars,
          sc->ratings_min, q_surplus(a, RUN_FLAT, -1), q_surplus(a, RUN_MARKET, -1));
  for (uint32_t i = 0; i < sc->providers_n; i++) {
    const sim_row *r = &sc->rows[i];
    fputs(i ? ",\n{\"service\":" : "\n{\"service\":", o);
    sim_json_str(o, sc->services[r->service].id);
    fputs(",\"cc\":", o);
    sim_json_str(o, sc->ccs[r->cc].id);
    fprintf(o, ",\"quality\":%d,\"flat_rate\":", sim_quality_of(sc, i));
    json_quality_run(a, o, RUN_FLAT, i);
    fputs(",\"market\":", o);
    json_quality_run(a, o, RUN_MARKET, i);
    fputc('}', o);
  }
  fputs("]}", o);
}

/* ======================================================= reconciliation */

static const char *recon_period(const agg *a, uint32_t p, numbuf *b) {
  return sim_period_label(a->sc, p, b->s, sizeof b->s);
}

/* The summary: how much of the history the flat run reproduces. */
static void text_recon(const agg *a, FILE *o) {
  const sim_recon *rc = &a->recon;
  if (a->sc->hist_n == 0) return;
  numbuf b[6];
  fprintf(o, "Reconciliation: the flat rate against the history (%" PRIu32
          " lines, %s)\n", rc->hist_lines_n, fmt_money(&b[0], rc->hist_amount));
  fprintf(o, "  reproduced to the cent: %" PRIu32 " of %" PRIu32 " lines (%s), "
          "%s (%s of the history's amount)\n", rc->exact_n, rc->lines_n,
          fmt_pct(&b[1], rc->exact_n, rc->lines_n, "n/a"),
          fmt_money(&b[2], rc->exact_amount),
          fmt_pct(&b[3], rc->exact_amount, rc->hist_amount, "n/a"));
  if (rc->exact_n == rc->lines_n) return;
  int w = service_width(a);
  fprintf(o, "  %-6s %-*s %-10s %-10s %8s %14s %8s %14s  %s\n", "period", w,
          "service", "receiver", "sender", "h.units", "h.amount", "f.units",
          "f.amount", "cause");
  for (uint32_t k = 0; k < rc->lines_n; k++) {
    const sim_recon_line *l = &rc->lines[k];
    if (l->cause == SIM_CAUSE_NONE) continue;
    fprintf(o, "  %-6s %-*s %-10s %-10s %8" PRId64 " %14s %8" PRId64 " %14s  %s\n",
            recon_period(a, l->period, &b[0]), w, a->sc->services[l->service].id,
            a->sc->ccs[l->recv_cc].id, a->sc->ccs[l->send_cc].id, l->hist_units,
            fmt_money(&b[1], l->hist_amount), l->flat_units,
            fmt_money(&b[2], l->flat_amount), sim_cause_name(l->cause));
  }
  fputs("  causes: sender = the history has another sender than the home; "
        "rationed = the home ran at capacity;\n"
        "  demand = the demand gives other units; rate = the key's rate is not "
        "the history's amount per unit\n", o);
}

static void json_recon(const agg *a, FILE *o) {
  const sim_recon *rc = &a->recon;
  if (a->sc->hist_n == 0) return;
  numbuf b;
  fprintf(o, ",\n\"reconciliation\":{\"history_lines\":%" PRIu32 ",\"lines\":%" PRIu32
          ",\"exact_lines\":%" PRIu32 ",\"history_amount\":%" PRId64
          ",\"flat_amount\":%" PRId64 ",\"exact_amount\":%" PRId64
          ",\"exact_share\":%s,\"differences\":[",
          rc->hist_lines_n, rc->lines_n, rc->exact_n, rc->hist_amount,
          rc->flat_amount, rc->exact_amount,
          fmt_ratio(&b, rc->exact_amount, rc->hist_amount, 6, "null"));
  int first = 1;
  for (uint32_t k = 0; k < rc->lines_n; k++) {
    const sim_recon_line *l = &rc->lines[k];
    if (l->cause == SIM_CAUSE_NONE) continue;
    fprintf(o, "%s{\"period\":%" PRIu32 ",\"label\":", first ? "" : ",", l->period);
    first = 0;
    sim_json_str(o, recon_period(a, l->period, &b));
    fputs(",\"service\":", o);
    sim_json_str(o, a->sc->services[l->service].id);
    fputs(",\"receiver\":", o);
    sim_json_str(o, a->sc->ccs[l->recv_cc].id);
    fputs(",\"sender\":", o);
    sim_json_str(o, a->sc->ccs[l->send_cc].id);
    fprintf(o, ",\"history_units\":%" PRId64 ",\"history_amount\":%" PRId64
            ",\"flat_units\":%" PRId64 ",\"flat_amount\":%" PRId64 ",\"cause\":\"%s\"}",
            l->hist_units, l->hist_amount, l->flat_units, l->flat_amount,
            sim_cause_name(l->cause));
  }
  fputs("]}", o);
}

int sim_report_text(const sim_report *a, FILE *out) {
  money_of(a);
  text_header(a, out);
  text_summary(a, out);
  text_recon(a, out);
  if (a->sc->hist_n) fputc('\n', out);
  text_totals(a, out);
  text_services(a, out);
  text_quality(a, out);
  text_outside(a, out);
  text_movers(a, out);
  return ferror(out) ? -1 : 0;
}

/* "  97.31 %" in a fixed width (the sign apart), or "n/a". */
static void put_sens_pct(FILE *o, int64_t num, int64_t den) {
  if (den <= 0) {
    fprintf(o, "%11s", "n/a");
    return;
  }
  int64_t v = ratio_scaled(num, den, 10000);
  uint64_t m = magnitude(v);
  fprintf(o, "%s%5" PRIu64 ".%02" PRIu64 " %%", v < 0 ? "-" : " ", m / 100, m % 100);
}

int sim_report_sensitivity(const sim_report *a, const char *label, int head,
                           FILE *out) {
  const tot *f = &a->all[RUN_FLAT], *m = &a->all[RUN_MARKET];
  numbuf x, y;
  money_of(a);
  if (head) {
    fprintf(out, "\nsensitivity to the assumed price elasticity (money in %s)\n",
            a->sc->currency);
    fprintf(out, "%-10s %11s %11s %10s %10s %16s %16s %10s %10s\n", "elasticity",
            "flat eff", "market eff", "flat units", "mkt units", "flat charges",
            "market charges", "flat waste", "mkt waste");
  }
  fprintf(out, "%-10s ", label);
  put_sens_pct(out, f->surplus, f->max_surplus);
  fputc(' ', out);
  put_sens_pct(out, m->surplus, m->max_surplus);
  fprintf(out, " %10" PRId64 " %10" PRId64 " %16s %16s %10" PRId64 " %10" PRId64 "\n",
          f->units, m->units, fmt_money(&x, f->charges), fmt_money(&y, m->charges),
          f->waste_units, m->waste_units);
  return ferror(out) ? -1 : 0;
}

/* ================================================================= JSON */

/* The fields of a run's totals (whole run, a service, a period). A mean
** price only means something within one service (units differ). */
static void json_tot(FILE *o, const tot *t, int with_price) {
  numbuf e, p, u;
  fprintf(o,
          "\"surplus\":%" PRId64 ",\"max_surplus\":%" PRId64
          ",\"efficiency\":%s,\"units\":%" PRId64 ",\"charges\":%" PRId64,
          t->surplus, t->max_surplus,
          fmt_ratio(&e, t->surplus, t->max_surplus, 6, "null"), t->units,
          t->charges);
  if (with_price)
    fprintf(o, ",\"price\":%s",
            fmt_price(&p, t->charges, t->units, "null", 0));
  fprintf(o,
          ",\"waste_units\":%" PRId64 ",\"waste\":%" PRId64
          ",\"capacity\":%" PRId64 ",\"utilisation\":%s",
          t->waste_units, t->waste, t->capacity,
          fmt_ratio(&u, t->units, t->capacity, 6, "null"));
}

static void json_head(const agg *a, FILE *o) {
  const sim_result *r = a->r;
  fprintf(o,
          "{\"scenario\":{\"periods\":%" PRIu32 ",\"services\":%" PRIu32
          ",\"cost_centres\":%" PRIu32 ",\"providers\":%" PRIu32
          ",\"receivers\":%" PRIu32 ",\"agents\":",
          a->P, a->S, a->C, a->providers, a->receivers);
  sim_json_str(o, sim_agents_name(r->agents));
  fprintf(o, ",\"seed\":%" PRIu64 ",\"currency\":", r->seed);
  sim_json_str(o, a->sc->currency);
  fputs("},\n\"flat_rate\":{", o);
  json_tot(o, &a->all[RUN_FLAT], 0);
  fputs("},\n\"market\":{", o);
  json_tot(o, &a->all[RUN_MARKET], 0);
  fprintf(o,
          ",\"orders\":%" PRIu64 ",\"trades\":%" PRIu64 ",\"rejected\":%" PRIu64
          "},\n\"periods\":[",
          r->market.orders, r->market.trades, r->market.rejected);
  for (uint32_t p = 0; p < a->P; p++) {
    fprintf(o, "%s\n{\"period\":%" PRIu32 ",\"flat_rate\":{", p ? "," : "",
            p + 1);
    json_tot(o, &a->per[RUN_FLAT][p], 0);
    fputs("},\"market\":{", o);
    json_tot(o, &a->per[RUN_MARKET][p], 0);
    fputs("}}", o);
  }
  fputs("],\n", o);
}

/* One service in one period of one run. */
static void json_svc_cell(FILE *o, const sim_svc_cell *c, int market) {
  numbuf p, lo, hi;
  int none = c->units == 0;
  fprintf(o, "\"units\":%" PRId64 ",\"charges\":%" PRId64 ",\"price\":%s",
          c->units, c->amount_minor,
          none ? "null" : fmt_int(&p, c->price_minor));
  if (market)
    fprintf(o, ",\"price_lo\":%s,\"price_hi\":%s",
            none ? "null" : fmt_int(&lo, c->price_lo_minor),
            none ? "null" : fmt_int(&hi, c->price_hi_minor));
  fprintf(o,
          ",\"surplus\":%" PRId64 ",\"waste_units\":%" PRId64
          ",\"waste\":%" PRId64,
          c->surplus_minor, c->waste_units, c->waste_minor);
}

static void json_service(const agg *a, FILE *o, uint32_t s) {
  const sim_service *v = &a->sc->services[s];
  fputs("{\"id\":", o);
  sim_json_str(o, v->id);
  fputs(",\"unit\":", o);
  sim_json_str(o, v->unit);
  fprintf(o, ",\"mode\":\"%s\",\"key\":", v->auction ? "auction" : "continuous");
  sim_json_str(o, sim_key_name(v->key));
  fprintf(o, ",\"rate\":%" PRId64 ",\"flat_rate\":{", v->rate_minor);
  json_tot(o, &a->svc[RUN_FLAT][s], 1);
  fputs("},\"market\":{", o);
  json_tot(o, &a->svc[RUN_MARKET][s], 1);
  fputs("},\"periods\":[", o);
  for (uint32_t p = 0; p < a->P; p++) {
    size_t i = (size_t)p * a->S + s;
    fprintf(o, "%s{\"period\":%" PRIu32 ",\"max_surplus\":%" PRId64
               ",\"flat_rate\":{", p ? "," : "", p + 1,
            a->r->max_surplus_minor[i]);
    json_svc_cell(o, &a->r->flat.svc[i], 0);
    fputs("},\"market\":{", o);
    json_svc_cell(o, &a->r->market.svc[i], 1);
    fputs("}}", o);
  }
  fputs("]}", o);
}

static void json_cc_run(const agg *a, FILE *o, uint32_t c, int k) {
  const cc_tot *t = &a->cc[k][c];
  int64_t budget = a->sc->ccs[c].budget_minor * a->P;
  numbuf u, b;
  fprintf(o,
          "{\"consumed\":%" PRId64 ",\"produced\":%" PRId64 ",\"paid\":%" PRId64
          ",\"received\":%" PRId64 ",\"net\":%" PRId64 ",\"worth\":%" PRId64
          ",\"cost\":%" PRId64 ",\"utilisation\":%s,\"budget_use\":%s}",
          t->consumed, t->produced, t->paid, t->received,
          t->received - t->paid, t->worth, t->cost,
          fmt_ratio(&u, t->produced, a->cc_capacity[c], 6, "null"),
          fmt_ratio(&b, t->paid, budget, 6, "null"));
}

static void json_cc(const agg *a, FILE *o, uint32_t c) {
  const sim_cc *cc = &a->sc->ccs[c];
  int prov = (a->role[c] & ROLE_PROVIDER) != 0;
  int recv = (a->role[c] & ROLE_RECEIVER) != 0;
  numbuf x, y, z;
  fputs("{\"id\":", o);
  sim_json_str(o, cc->id);
  fputs(",\"site\":", o);
  sim_json_str(o, cc->site);
  fprintf(o,
          ",\"headcount\":%" PRId64 ",\"provider\":%s,\"receiver\":%s"
          ",\"budget\":%" PRId64 ",\"capacity\":%" PRId64 ",\"flat_rate\":",
          cc->headcount, prov ? "true" : "false", recv ? "true" : "false",
          cc->budget_minor * a->P, a->cc_capacity[c]);
  json_cc_run(a, o, c, RUN_FLAT);
  fputs(",\"market\":", o);
  json_cc_run(a, o, c, RUN_MARKET);
  fprintf(o,
          ",\"cross_subsidy\":%s,\"use_share\":%s"
          ",\"income_change\":%s}",
          recv ? fmt_int(&x, a->xsub[c]) : "null",
          recv ? fmt_int(&z, a->use_share[c]) : "null",
          prov ? fmt_int(&y, v_income_change(a, c)) : "null");
}

int sim_report_json(const sim_report *a, FILE *out) {
  money_of(a);
  json_head(a, out);
  fputs("\"services\":[", out);
  for (uint32_t s = 0; s < a->S; s++) {
    fputs(s ? ",\n" : "\n", out);
    json_service(a, out, s);
  }
  fputs("],\n\"cost_centres\":[", out);
  for (uint32_t c = 0; c < a->C; c++) {
    fputs(c ? ",\n" : "\n", out);
    json_cc(a, out, c);
  }
  fputc(']', out);
  json_quality(a, out);
  json_recon(a, out);
  json_summary(a, out);
  fputs("}\n", out);
  return ferror(out) ? -1 : 0;
}

/* ================================================================== CSV */

/* RFC 4180: a field with a comma, a quote or a line break is quoted, its
** quotes doubled. */
static void csv_str(FILE *o, const char *s) {
  if (strpbrk(s, ",\"\r\n") == NULL) {
    fputs(s, o);
    return;
  }
  fputc('"', o);
  for (const char *p = s; *p; p++) {
    if (*p == '"') fputc('"', o);
    fputc(*p, o);
  }
  fputc('"', o);
}

/* Every line of the history or the flat run, with the cause of a
** difference (empty when exact). */
static void csv_recon(const agg *a, FILE *o) {
  numbuf b[2];
  fputs("period,label,service,receiver,sender,history_units,history_amount,flat_units,"
        "flat_amount,exact,cause\n", o);
  for (uint32_t k = 0; k < a->recon.lines_n; k++) {
    const sim_recon_line *l = &a->recon.lines[k];
    numbuf lb;
    fprintf(o, "%" PRIu32 ",", l->period);
    csv_str(o, recon_period(a, l->period, &lb));
    fputc(',', o);
    csv_str(o, a->sc->services[l->service].id);
    fputc(',', o);
    csv_str(o, a->sc->ccs[l->recv_cc].id);
    fputc(',', o);
    csv_str(o, a->sc->ccs[l->send_cc].id);
    fprintf(o, ",%" PRId64 ",%s,%" PRId64 ",%s,%d,%s\n", l->hist_units,
            fmt_money(&b[0], l->hist_amount), l->flat_units,
            fmt_money(&b[1], l->flat_amount), l->cause == SIM_CAUSE_NONE,
            sim_cause_name(l->cause));
  }
}

static void csv_periods(const agg *a, FILE *o) {
  fputs("run,period,service,units,charges,price,surplus,max_surplus,"
        "waste_units,waste\n", o);
  for (int k = 0; k < RUNS; k++) {
    const sim_run *run = run_of(a->r, k);
    for (uint32_t p = 0; p < a->P; p++) {
      for (uint32_t s = 0; s < a->S; s++) {
        size_t i = (size_t)p * a->S + s;
        const sim_svc_cell *c = &run->svc[i];
        numbuf b[5];
        fprintf(o, "%s,%" PRIu32 ",", run_csv[k], p + 1);
        csv_str(o, a->sc->services[s].id);
        fprintf(o, ",%" PRId64 ",%s,%s,%s,%s,%" PRId64 ",%s\n", c->units,
                fmt_money(&b[0], c->amount_minor),
                c->units ? fmt_money(&b[1], c->price_minor) : "",
                fmt_money(&b[2], c->surplus_minor),
                fmt_money(&b[3], a->r->max_surplus_minor[i]), c->waste_units,
                fmt_money(&b[4], c->waste_minor));
      }
    }
  }
}

static void csv_services(const agg *a, FILE *o) {
  fputs("run,service,unit,mode,units,charges,price,surplus,max_surplus,"
        "efficiency,waste_units,waste,capacity,utilisation\n", o);
  for (int k = 0; k < RUNS; k++) {
    for (uint32_t s = 0; s < a->S; s++) {
      const sim_service *v = &a->sc->services[s];
      const tot *t = &a->svc[k][s];
      numbuf b[7];
      fprintf(o, "%s,", run_csv[k]);
      csv_str(o, v->id);
      fputc(',', o);
      csv_str(o, v->unit);
      fprintf(o, ",%s,%" PRId64 ",%s,%s,%s,%s,%s,%" PRId64 ",%s,%" PRId64
                 ",%s\n",
              v->auction ? "auction" : "continuous", t->units,
              fmt_money(&b[0], t->charges),
              fmt_price(&b[1], t->charges, t->units, "", 1),
              fmt_money(&b[2], t->surplus), fmt_money(&b[3], t->max_surplus),
              fmt_ratio(&b[4], t->surplus, t->max_surplus, 6, ""),
              t->waste_units, fmt_money(&b[5], t->waste), t->capacity,
              fmt_ratio(&b[6], t->units, t->capacity, 6, ""));
    }
  }
}

static void csv_cc_run(const agg *a, FILE *o, uint32_t c, int k) {
  const cc_tot *t = &a->cc[k][c];
  numbuf b[7];
  fprintf(o, ",%" PRId64 ",%" PRId64 ",%s,%s,%s,%s,%s,%s,%s", t->consumed,
          t->produced, fmt_money(&b[0], t->paid),
          fmt_money(&b[1], t->received),
          fmt_money(&b[2], t->received - t->paid), fmt_money(&b[3], t->worth),
          fmt_money(&b[4], t->cost),
          fmt_ratio(&b[5], t->produced, a->cc_capacity[c], 6, ""),
          fmt_ratio(&b[6], t->paid, a->sc->ccs[c].budget_minor * a->P, 6, ""));
}

static void csv_ccs(const agg *a, FILE *o) {
  fputs("cc,site,headcount,provider,receiver,budget,capacity", o);
  for (int k = 0; k < RUNS; k++)
    fprintf(o, ",%1$s_consumed,%1$s_produced,%1$s_paid,%1$s_received,"
               "%1$s_net,%1$s_worth,%1$s_cost,%1$s_utilisation,"
               "%1$s_budget_use", run_csv[k]);
  fputs(",income_change,use_share,cross_subsidy\n", o);
  for (uint32_t c = 0; c < a->C; c++) {
    const sim_cc *cc = &a->sc->ccs[c];
    int prov = (a->role[c] & ROLE_PROVIDER) != 0;
    int recv = (a->role[c] & ROLE_RECEIVER) != 0;
    numbuf b[4];
    csv_str(o, cc->id);
    fputc(',', o);
    csv_str(o, cc->site);
    fprintf(o, ",%" PRId64 ",%d,%d,%s,%" PRId64, cc->headcount, prov, recv,
            fmt_money(&b[0], cc->budget_minor * a->P), a->cc_capacity[c]);
    for (int k = 0; k < RUNS; k++) csv_cc_run(a, o, c, k);
    fprintf(o, ",%s,%s,%s\n",
            prov ? fmt_money(&b[1], v_income_change(a, c)) : "",
            recv ? fmt_money(&b[3], a->use_share[c]) : "",
            recv ? fmt_money(&b[2], a->xsub[c]) : "");
  }
}

/* quality.csv (quality on only): a line per run and provider row. */
static void csv_quality(const agg *a, FILE *o) {
  const sim_scenario *sc = a->sc;
  fputs("run,service,cc,quality,units,stars,share,service_quality_adjusted_surplus\n", o);
  for (int k = 0; k < RUNS; k++)
    for (uint32_t i = 0; i < sc->providers_n; i++) {
      const sim_row *r = &sc->rows[i];
      qfig f = q_provider(a, k, i);
      numbuf b[4];
      fprintf(o, "%s,", run_csv[k]);
      csv_str(o, sc->services[r->service].id);
      fputc(',', o);
      csv_str(o, sc->ccs[r->cc].id);
      fprintf(o, ",%s,%" PRId64 ",%s,%s,%s\n",
              fmt_fixed(&b[0], sim_quality_of(sc, i), 1), f.units,
              fmt_stars(&b[1], &f, ""), fmt_ratio(&b[2], f.units, f.svc_units, 6, ""),
              fmt_money(&b[3], q_surplus(a, k, r->service)));
    }
}

/* ================================================================= HTML */

static void html_str(FILE *o, const char *s) {
  for (const char *p = s; *p; p++) {
    switch (*p) {
    case '&': fputs("&amp;", o); break;
    case '<': fputs("&lt;", o); break;
    case '>': fputs("&gt;", o); break;
    case '"': fputs("&quot;", o); break;
    case '\'': fputs("&#39;", o); break;
    default: fputc(*p, o);
    }
  }
}

#define C_FLAT "#9a9a9a"
#define C_MARKET "#2060a8"
#define C_BAND "#bcd0ea"
#define C_GAIN "#2e7d32"
#define C_LOSS "#c0392b"
#define SVG_W 960

/* ------------------------------------------------------------ axes */

typedef void (*label_fn)(numbuf *b, int64_t v, int64_t step);

typedef struct axis {
  int64_t lo, hi, step;
  label_fn label;
} axis;

/* Money on an axis: whole currency units when the step allows. */
static void label_money(numbuf *b, int64_t v, int64_t step) {
  int64_t unit = pow10_tab[money_decimals];
  if (step % unit == 0)
    fmt_int(b, v / unit);
  else
    fmt_money(b, v);
}

/* Parts per million as a percentage: 200000 -> "20 %". */
static void label_pct(numbuf *b, int64_t v, int64_t step) {
  if (step % 10000 == 0)
    snprintf(b->s, sizeof b->s, "%" PRId64 " %%", v / 10000);
  else
    fmt_pct(b, v, 1000000, "");
}

/* 1, 2 or 5 times a power of ten, at least range / ticks. */
static int64_t nice_step(int64_t range, int ticks) {
  assert(range > 0 && ticks > 0);
  int64_t raw = (range + ticks - 1) / ticks;
  int64_t p = 1;
  for (int i = 0; i < 18; i++, p *= 10) {
    if (raw <= p) return p;
    if (raw <= 2 * p) return 2 * p;
    if (raw <= 5 * p) return 5 * p;
  }
  return p;
}

static int64_t floor_to(int64_t v, int64_t step) {
  int64_t q = v / step;
  if (v % step != 0 && v < 0) q--;
  return q * step;
}

/* An axis from lo to hi widened to whole steps. */
static axis axis_make(int64_t lo, int64_t hi, int ticks, label_fn f) {
  axis ax = {lo, hi, 1, f};
  if (ax.hi <= ax.lo) ax.hi = ax.lo + 1;
  ax.step = nice_step(ax.hi - ax.lo, ticks);
  ax.lo = floor_to(ax.lo, ax.step);
  ax.hi = -floor_to(-ax.hi, ax.step);
  assert(ax.lo < ax.hi && (ax.hi - ax.lo) % ax.step == 0);
  return ax;
}

/* Where v falls on an axis drawn `len` pixels long (0 .. len). */
static int axis_px(const axis *ax, int64_t v, int len) {
  if (v <= ax->lo) return 0;
  if (v >= ax->hi) return len;
  __int128 n = (__int128)(v - ax->lo) * len;
  return (int)(n / (ax->hi - ax->lo));
}

/* A vertical value axis left of the plot at (x0, y0) w x h, with grid. */
static void svg_yaxis(FILE *o, int x0, int y0, int w, int h, const axis *ax) {
  int64_t v = ax->lo;
  for (int i = 0; i <= 40 && v <= ax->hi; i++, v += ax->step) {
    int y = y0 + h - axis_px(ax, v, h);
    numbuf b;
    ax->label(&b, v, ax->step);
    fprintf(o,
            "<line class=\"grid\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
            "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">%s</text>\n",
            x0, y, x0 + w, y, x0 - 6, y + 4, b.s);
  }
  fprintf(o, "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>\n",
          x0, y0 + h, x0 + w, y0 + h);
}

/* A horizontal value axis below the plot, with vertical grid lines. */
static void svg_xaxis(FILE *o, int x0, int y0, int w, int h, const axis *ax) {
  int64_t v = ax->lo;
  for (int i = 0; i <= 40 && v <= ax->hi; i++, v += ax->step) {
    int x = x0 + axis_px(ax, v, w);
    numbuf b;
    ax->label(&b, v, ax->step);
    fprintf(o,
            "<line class=\"%s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
            v == 0 ? "axis" : "grid", x, y0, x, y0 + h, x, y0 + h + 16, b.s);
  }
  if (ax->label == label_money && axis_sc) { /* the currency of a money axis */
    fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"u\">", x0 + w / 2,
            y0 + h + 32);
    html_str(o, axis_sc->currency);
    fputs("</text>\n", o);
  }
}


/* Period labels ("2026-01", else the number) under a time axis, at most
** about `most` of them. */
static void svg_periods_n(FILE *o, int x0, int y, int w, uint32_t P, uint32_t most) {
  uint32_t every = (P + most - 1) / most;
  for (uint32_t p = 0; p < P; p += every) {
    int x = P == 1 ? x0 + w / 2 : x0 + (int)((int64_t)p * w / (P - 1));
    numbuf b;
    const char *l = axis_sc ? sim_period_label(axis_sc, p + 1, b.s, sizeof b.s)
                            : (snprintf(b.s, sizeof b.s, "%" PRIu32, p + 1), b.s);
    fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">", x, y);
    html_str(o, l);
    fputs("</text>", o);
  }
  fputc('\n', o);
}
static void svg_periods(FILE *o, int x0, int y, int w, uint32_t P) {
  svg_periods_n(o, x0, y, w, P, 8);
}

typedef struct legend_item {
  const char *colour;
  int line; /* 1 solid line, 2 dashed line, 0 a box */
  const char *label;
} legend_item;

static void svg_legend(FILE *o, int x, int y, const legend_item *it, int n) {
  for (int i = 0; i < n; i++) {
    if (it[i].line)
      fprintf(o,
              "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
              "stroke-width=\"2.5\"%s/>",
              x, y - 4, x + 22, y - 4, it[i].colour,
              it[i].line == 2 ? " stroke-dasharray=\"5 3\"" : "");
    else
      fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"14\" height=\"10\" "
                 "fill=\"%s\"/>", x + 4, y - 9, it[i].colour);
    fprintf(o, "<text x=\"%d\" y=\"%d\">", x + 28, y);
    html_str(o, it[i].label);
    fputs("</text>\n", o);
    x += 40 + 7 * (int)strlen(it[i].label);
  }
}

/* ------------------------------------------------------------ series */

typedef struct series {
  int64_t v[SIM_PERIODS_MAX];
  uint8_t has[SIM_PERIODS_MAX]; /* 0: no value (a gap in the line) */
} series;

typedef struct plot {
  int x0, y0, w, h;
  uint32_t P;
  const axis *ax;
} plot;

static int plot_x(const plot *pl, uint32_t p) {
  if (pl->P == 1) return pl->x0 + pl->w / 2;
  return pl->x0 + (int)((int64_t)p * pl->w / (pl->P - 1));
}

static int plot_y(const plot *pl, int64_t v) {
  return pl->y0 + pl->h - axis_px(pl->ax, v, pl->h);
}

/* A line through the periods that have a value, broken at gaps, with a
** dot on each value. */
static void svg_series(FILE *o, const plot *pl, const series *s,
                       const char *colour, int dashed) {
  uint32_t p = 0;
  while (p < pl->P) {
    while (p < pl->P && !s->has[p]) p++;
    if (p >= pl->P) break;
    fprintf(o, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s "
               "points=\"", colour, dashed ? " stroke-dasharray=\"5 3\"" : "");
    for (; p < pl->P && s->has[p]; p++)
      fprintf(o, "%d,%d ", plot_x(pl, p), plot_y(pl, s->v[p]));
    fputs("\"/>\n", o);
  }
  for (p = 0; p < pl->P; p++)
    if (s->has[p])
      fprintf(o, "<circle cx=\"%d\" cy=\"%d\" r=\"2.5\" fill=\"%s\"/>",
              plot_x(pl, p), plot_y(pl, s->v[p]), colour);
  fputc('\n', o);
}

static void svg_open(FILE *o, int h, const char *title) {
  fprintf(o, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
             "role=\"img\" aria-label=\"", SVG_W, h, SVG_W, h);
  html_str(o, title);
  fputs("\"><title>", o);
  html_str(o, title);
  fputs("</title>\n", o);
}

/* ------------------------------------------------------ price chart */

enum { PANEL_W = 315, PANEL_H = 205 };

/* One service: the market's price per period (with the range of trade
** prices of a continuous market) against the flat rate's charge per unit. */
static void panel_price(FILE *o, const agg *a, uint32_t s, int x, int y) {
  series flat, mkt;
  int64_t max = 1, min = INT64_MAX;
  memset(&flat, 0, sizeof flat);
  memset(&mkt, 0, sizeof mkt);
  for (uint32_t p = 0; p < a->P; p++) {
    const sim_svc_cell *f = &a->r->flat.svc[(size_t)p * a->S + s];
    const sim_svc_cell *m = &a->r->market.svc[(size_t)p * a->S + s];
    flat.has[p] = f->units > 0;
    flat.v[p] = f->price_minor;
    mkt.has[p] = m->units > 0;
    mkt.v[p] = m->price_minor;
    if (flat.has[p] && f->price_minor > max) max = f->price_minor;
    if (mkt.has[p] && m->price_hi_minor > max) max = m->price_hi_minor;
    if (mkt.has[p] && m->price_minor > max) max = m->price_minor;
    if (flat.has[p] && f->price_minor < min) min = f->price_minor;
    if (mkt.has[p] && m->price_lo_minor < min) min = m->price_lo_minor;
    if (mkt.has[p] && m->price_minor < min) min = m->price_minor;
  }
  /* From zero, unless the prices lie in the top half of that scale: then
  ** from a little below the lowest, so that their differences show. */
  int64_t lo = 0;
  if (min != INT64_MAX && min > max / 2) lo = min - (max - min) / 4;
  axis ax = axis_make(lo, max, 4, label_money);
  plot pl = {x + 64, y + 26, PANEL_W - 84, PANEL_H - 62, a->P, &ax};
  fprintf(o, "<text class=\"t\" x=\"%d\" y=\"%d\">", x + 10, y + 14);
  html_str(o, a->sc->services[s].id);
  fputs(" <tspan class=\"u\">(", o);
  html_str(o, a->sc->currency);
  fputs(" per ", o);
  html_str(o, a->sc->services[s].unit);
  fputs(")</tspan></text>\n", o);
  svg_yaxis(o, pl.x0, pl.y0, pl.w, pl.h, &ax);
  svg_periods_n(o, pl.x0, pl.y0 + pl.h + 16, pl.w, a->P, 4);
  for (uint32_t p = 0; p < a->P; p++) {
    const sim_svc_cell *m = &a->r->market.svc[(size_t)p * a->S + s];
    if (mkt.has[p] && m->price_lo_minor < m->price_hi_minor)
      fprintf(o, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                 "stroke-width=\"7\"/>", plot_x(&pl, p),
              plot_y(&pl, m->price_lo_minor), plot_x(&pl, p),
              plot_y(&pl, m->price_hi_minor), C_BAND);
  }
  svg_series(o, &pl, &flat, C_FLAT, 1);
  svg_series(o, &pl, &mkt, C_MARKET, 0);
}

static void chart_prices(FILE *o, const agg *a) {
  uint32_t n = a->S < CHART_PANELS_MAX ? a->S : CHART_PANELS_MAX;
  int rows = (int)((n + 2) / 3), h = 40 + (rows ? rows : 1) * PANEL_H;
  static const legend_item leg[] = {
      {C_MARKET, 1, "market: clearing price (mean of the period's trades)"},
      {C_BAND, 0, "range of trade prices"},
      {C_FLAT, 2, "flat rate: charge per unit"}};
  svg_open(o, h, "Price per service and period, market vs flat rate");
  svg_legend(o, 10, 18, leg, 3);
  for (uint32_t s = 0; s < n; s++)
    panel_price(o, a, s, (int)(s % 3) * PANEL_W, 34 + (int)(s / 3) * PANEL_H);
  if (n == 0) fputs("<text x=\"20\" y=\"60\">no services</text>\n", o);
  fputs("</svg>\n", o);
}

/* ------------------------------------------------- efficiency chart */

static void chart_efficiency(FILE *o, const agg *a) {
  series s[RUNS];
  int64_t lo = 0, hi = 1000000;
  for (int k = 0; k < RUNS; k++) {
    memset(&s[k], 0, sizeof s[k]);
    for (uint32_t p = 0; p < a->P; p++) {
      const tot *t = &a->per[k][p];
      if (t->max_surplus == 0) continue;
      s[k].has[p] = 1;
      /* Drawn within -1000 % .. +1000 %: a period far below zero (waste
      ** against a tiny best) would flatten every other point. */
      int64_t v = ratio_scaled(t->surplus, t->max_surplus, 1000000);
      s[k].v[p] = v < -10000000 ? -10000000 : v > 10000000 ? 10000000 : v;
      if (s[k].v[p] < lo) lo = s[k].v[p];
      if (s[k].v[p] > hi) hi = s[k].v[p];
    }
  }
  axis ax = axis_make(lo, hi, 5, label_pct);
  plot pl = {70, 40, SVG_W - 100, 220, a->P, &ax};
  static const legend_item leg[] = {{C_MARKET, 1, "market"},
                                    {C_FLAT, 2, "flat rate"}};
  svg_open(o, 300, "Allocative efficiency per period, market vs flat rate");
  svg_legend(o, 70, 18, leg, 2);
  svg_yaxis(o, pl.x0, pl.y0, pl.w, pl.h, &ax);
  svg_periods(o, pl.x0, pl.y0 + pl.h + 18, pl.w, a->P);
  fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">period</text>\n",
          pl.x0 + pl.w / 2, pl.y0 + pl.h + 36);
  svg_series(o, &pl, &s[RUN_FLAT], C_FLAT, 1);
  svg_series(o, &pl, &s[RUN_MARKET], C_MARKET, 0);
  fputs("</svg>\n", o);
}

/* ------------------------------------------------------- bar charts */

typedef struct bars {
  const ranked *rows;  /* the cost centres, in drawing order */
  uint32_t n;
  int64_t (*value)(const agg *a, int run, uint32_t cc);
  label_fn label;      /* for the values at the bars' ends   */
  const char *title;
} bars;

static int label_width(const agg *a, const ranked *rows, uint32_t n) {
  int w = 60;
  for (uint32_t i = 0; i < n; i++) {
    int len = 7 * (int)strlen(a->sc->ccs[rows[i].cc].id) + 16;
    if (len > w) w = len;
  }
  return w > 240 ? 240 : w;
}

/* A cost centre's id left of its bars; a long one is cut (at a UTF-8
** character boundary) so that it stays inside the chart. */
static void svg_cc_label(FILE *o, const agg *a, uint32_t cc, int x, int y) {
  enum { LABEL_BYTES_MAX = 30 };
  char id[IMX_NAME_BYTES_MAX + 8];
  size_t n = strlen(a->sc->ccs[cc].id);
  assert(n < sizeof id - 4);
  memcpy(id, a->sc->ccs[cc].id, n + 1);
  if (n > LABEL_BYTES_MAX) {
    n = LABEL_BYTES_MAX;
    while (n > 0 && ((unsigned char)id[n] & 0xC0) == 0x80) n--;
    memcpy(id + n, "\xE2\x80\xA6", 4); /* an ellipsis */
  }
  fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", x, y);
  html_str(o, id);
  fputs("</text>", o);
}

/* Two bars per cost centre, flat rate and market, from a zero axis. */
static void svg_grouped_bars(FILE *o, const agg *a, const bars *b) {
  int64_t max = 1;
  for (uint32_t i = 0; i < b->n; i++)
    for (int k = 0; k < RUNS; k++)
      if (b->value(a, k, b->rows[i].cc) > max)
        max = b->value(a, k, b->rows[i].cc);
  axis ax = axis_make(0, max, 5, b->label);
  int x0 = label_width(a, b->rows, b->n), w = SVG_W - x0 - 100, y0 = 34;
  int h = (int)b->n * 30 + 4;
  static const legend_item leg[] = {{C_FLAT, 0, "flat rate"},
                                    {C_MARKET, 0, "market"}};
  svg_open(o, y0 + h + 44, b->title);
  svg_legend(o, x0, 18, leg, 2);
  svg_xaxis(o, x0, y0, w, h, &ax);
  for (uint32_t i = 0; i < b->n; i++) {
    int y = y0 + 4 + (int)i * 30;
    svg_cc_label(o, a, b->rows[i].cc, x0 - 8, y + 16);
    for (int k = 0; k < RUNS; k++) {
      int64_t v = b->value(a, k, b->rows[i].cc);
      int len = axis_px(&ax, v, w);
      numbuf t;
      ax.label(&t, v, 1);
      fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"11\" "
                 "fill=\"%s\"/><text x=\"%d\" y=\"%d\" class=\"v\">%s</text>\n",
              x0, y + k * 12, len, k ? C_MARKET : C_FLAT, x0 + len + 4,
              y + k * 12 + 10, t.s);
    }
  }
  if (b->n == 0)
    fprintf(o, "<text x=\"%d\" y=\"%d\">none</text>\n", x0, y0 + 20);
  fputs("</svg>\n", o);
}

static int64_t bar_paid(const agg *a, int k, uint32_t cc) {
  return a->cc[k][cc].paid;
}

/* Utilisation in parts per million: produced / capacity. */
static int64_t bar_util(const agg *a, int k, uint32_t cc) {
  if (a->cc_capacity[cc] == 0) return 0;
  return ratio_scaled(a->cc[k][cc].produced, a->cc_capacity[cc], 1000000);
}

static void chart_costs(FILE *o, const agg *a) {
  uint32_t n = rank_ccs(a, ROLE_RECEIVER, v_paid_max, a->rank_a);
  bars b = {a->rank_a, n < CHART_BARS_MAX ? n : CHART_BARS_MAX, bar_paid,
            label_money, "Charges per receiving cost centre, flat rate vs market"};
  svg_grouped_bars(o, a, &b);
}

static void chart_utilisation(FILE *o, const agg *a) {
  uint32_t n = rank_ccs(a, ROLE_PROVIDER, v_capacity, a->rank_a);
  bars b = {a->rank_a, n < CHART_BARS_MAX ? n : CHART_BARS_MAX, bar_util,
            label_pct, "Provider utilisation, flat rate vs market"};
  svg_grouped_bars(o, a, &b);
}

/* Receivers with the largest cross-subsidy each way, as bars left (they
** were subsidised) and right (they paid for others) of zero. */
static void chart_xsub(FILE *o, const agg *a) {
  uint32_t n = rank_ccs(a, ROLE_RECEIVER, v_xsub, a->rank_a);
  uint32_t np = count_pos(a->rank_a, n, CHART_DIVERGE_MAX);
  uint32_t nn = count_neg(a->rank_a, n, CHART_DIVERGE_MAX);
  ranked rows[2 * CHART_DIVERGE_MAX];
  uint32_t m = 0;
  int64_t max = 1, min = -1;
  for (uint32_t i = 0; i < np; i++) rows[m++] = a->rank_a[i];
  for (uint32_t i = nn; i > 0; i--) rows[m++] = a->rank_a[n - i];
  for (uint32_t i = 0; i < m; i++) {
    if (rows[i].v > max) max = rows[i].v;
    if (rows[i].v < min) min = rows[i].v;
  }
  axis ax = axis_make(min, max, 6, label_money);
  int x0 = label_width(a, rows, m), w = SVG_W - x0 - 30, y0 = 34;
  int h = (int)m * 22 + 4, zero = x0 + axis_px(&ax, 0, w);
  static const legend_item leg[] = {
      {C_GAIN, 0, "pays for others' use"},
      {C_LOSS, 0, "others pay for its use"}};
  svg_open(o, y0 + h + 44, "Cross-subsidy per receiving cost centre");
  svg_legend(o, x0, 18, leg, 2);
  svg_xaxis(o, x0, y0, w, h, &ax);
  for (uint32_t i = 0; i < m; i++) {
    int y = y0 + 4 + (int)i * 22, end = x0 + axis_px(&ax, rows[i].v, w);
    int pos = rows[i].v > 0;
    /* The value beyond the bar's end when there is room, else beside the
    ** zero line on the other side (where this row has no bar). */
    int outside = pos ? x0 + w - end > 80 : end - x0 > 80;
    int tx = outside ? (pos ? end + 4 : end - 4) : (pos ? zero - 4 : zero + 4);
    numbuf t;
    svg_cc_label(o, a, rows[i].cc, x0 - 8, y + 13);
    fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"16\" fill=\"%s\"/>"
               "<text x=\"%d\" y=\"%d\" text-anchor=\"%s\" class=\"v\">%s</text>\n",
            pos ? zero : end, y, pos ? end - zero : zero - end,
            pos ? C_GAIN : C_LOSS, tx, y + 12,
            pos == outside ? "start" : "end", fmt_money_change(&t, rows[i].v));
  }
  if (m == 0)
    fprintf(o, "<text x=\"%d\" y=\"%d\">no cross-subsidy</text>\n", x0, y0 + 20);
  fputs("</svg>\n", o);
}

/* ------------------------------------------------------------ document */

static const char html_style[] =
    "body{font:14px/1.45 system-ui,-apple-system,'Segoe UI',Helvetica,Arial,"
    "sans-serif;color:#222;max-width:1120px;margin:24px auto;padding:0 16px;"
    "background:#fff}\n"
    "h1{font-size:22px;margin:0 0 4px}\n"
    "h2{font-size:17px;margin:30px 0 6px;border-bottom:1px solid #ddd;"
    "padding-bottom:3px}\n"
    "p{max-width:85ch;margin:4px 0 10px}p.meta{color:#555}\n"
    "table{border-collapse:collapse;margin:8px 0 16px;"
    "font-variant-numeric:tabular-nums}\n"
    "th,td{padding:3px 7px;border-bottom:1px solid #e3e3e3;text-align:right;"
    "white-space:nowrap}\n"
    "th{background:#f4f4f4;font-weight:600}.l{text-align:left}"
    "th.g{text-align:center;border-bottom:1px solid #ccc}\n"
    ".own td{font-weight:600}ul.sum li{margin:3px 0;max-width:95ch}\n"
    "@media print{body{margin:0;max-width:none}svg{max-width:100%;height:auto}"
    "h2{break-after:avoid}svg,table{break-inside:avoid}}\n"
    ".pos{color:#2e7d32}.neg{color:#c0392b}.wide{overflow-x:auto}\n"
    "svg{display:block;margin:8px 0 4px}\n"
    "svg text{font:12px system-ui,Helvetica,Arial,sans-serif;fill:#333}\n"
    "svg text.t{font-weight:600}svg tspan.u{font-weight:400;fill:#777}\n"
    "svg text.v{font-size:11px;fill:#444}\n"
    ".grid{stroke:#e8e8e8}.axis{stroke:#888}\n";

static void html_head(const agg *a, FILE *o) {
  const sim_result *r = a->r;
  fprintf(o, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta "
             "charset=\"utf-8\">\n<title>Flat rate vs market</title>\n"
             "<style>\n%s</style>\n</head>\n<body>\n"
             "<h1>Flat rate vs market</h1>\n<p class=\"meta\">", html_style);
  fprintf(o,
          "%" PRIu32 " periods, %" PRIu32 " services, %" PRIu32
          " cost centres (%" PRIu32 " providers, %" PRIu32
          " receivers). Market run: agents %s, seed %" PRIu64 "; %" PRIu64
          " orders, %" PRIu64 " trades, %" PRIu64 " rejected. Money in ",
          a->P, a->S, a->C, a->providers, a->receivers,
          sim_agents_name(r->agents), r->seed, r->market.orders,
          r->market.trades, r->market.rejected);
  html_str(o, a->sc->currency);
  fputs(".</p>\n<p>The same demand (what each receiving cost centre would "
        "use, and what it is worth to it) and the same costs (what each "
        "provider pays to make one more unit) run twice: once under "
        "finance's flat-rate allocation, once through the market engine. "
        "<b>Surplus</b> is the worth of what was consumed minus the cost of "
        "making it; <b>efficiency</b> is that surplus as a share of the most "
        "these schedules could give; <b>waste</b> is units consumed that "
        "cost more to make than they were worth.</p>\n", o);
}

/* A row of the key-figures table; kind 0 money, 1 units, 2 ratio. */
static void html_key_row(FILE *o, const char *label, int kind, int64_t fn,
                         int64_t fd, int64_t mn, int64_t md) {
  numbuf x, y, z;
  const char *f, *m, *c;
  if (kind == 2) {
    f = fmt_pct(&x, fn, fd, "n/a");
    m = fmt_pct(&y, mn, md, "n/a");
    c = "n/a";
    if (fd != 0 && md != 0) {
      c = fmt_pp(&z, ratio_scaled(mn, md, 10000) - ratio_scaled(fn, fd, 10000));
    }
  } else if (kind == 1) {
    f = fmt_int(&x, fn);
    m = fmt_int(&y, mn);
    c = fmt_int_change(&z, mn - fn);
  } else {
    f = fmt_money(&x, fn);
    m = fmt_money(&y, mn);
    c = fmt_money_change(&z, mn - fn);
  }
  fprintf(o, "<tr><td class=\"l\">%s</td><td>%s</td><td>%s</td><td>%s</td>"
             "</tr>\n", label, f, m, c);
}

static void html_totals(const agg *a, FILE *o) {
  const tot *f = &a->all[RUN_FLAT], *m = &a->all[RUN_MARKET];
  fputs("<h2>Key figures</h2>\n<table>\n<tr><th class=\"l\">figure</th>"
        "<th>flat rate</th><th>market</th><th>change</th></tr>\n", o);
  html_key_row(o, "surplus", 0, f->surplus, 0, m->surplus, 0);
  html_key_row(o, "max surplus", 0, f->max_surplus, 0, m->max_surplus, 0);
  html_key_row(o, "efficiency", 2, f->surplus, f->max_surplus, m->surplus,
               m->max_surplus);
  html_key_row(o, "units", 1, f->units, 0, m->units, 0);
  html_key_row(o, "charges", 0, f->charges, 0, m->charges, 0);
  html_key_row(o, "waste units", 1, f->waste_units, 0, m->waste_units, 0);
  html_key_row(o, "waste", 0, f->waste, 0, m->waste, 0);
  html_key_row(o, "utilisation", 2, f->units, f->capacity, m->units,
               m->capacity);
  fputs("</table>\n", o);
}

static void html_services(const agg *a, FILE *o) {
  fputs("<h2>Services</h2>\n<div class=\"wide\"><table>\n<tr>"
        "<th rowspan=\"2\" class=\"l\">service</th>"
        "<th rowspan=\"2\" class=\"l\">unit</th>"
        "<th rowspan=\"2\" class=\"l\">mode</th>"
        "<th rowspan=\"2\" class=\"l\">flat-rate key</th>"
        "<th colspan=\"2\" class=\"g\">units</th>"
        "<th colspan=\"2\" class=\"g\">price per unit</th>"
        "<th colspan=\"2\" class=\"g\">efficiency</th>"
        "<th colspan=\"2\" class=\"g\">waste units</th>"
        "<th class=\"g\">utilisation</th></tr>\n<tr>", o);
  for (int i = 0; i < 4; i++) fputs("<th>flat</th><th>market</th>", o);
  fputs("<th>market</th></tr>\n", o);
  for (uint32_t s = 0; s < a->S; s++) {
    const sim_service *v = &a->sc->services[s];
    const tot *f = &a->svc[RUN_FLAT][s], *m = &a->svc[RUN_MARKET][s];
    numbuf b[7];
    fputs("<tr><td class=\"l\">", o);
    html_str(o, v->id);
    fputs("</td><td class=\"l\">", o);
    html_str(o, v->unit);
    fprintf(o, "</td><td class=\"l\">%s</td><td class=\"l\">%s</td>"
               "<td>%" PRId64 "</td><td>%" PRId64 "</td><td>%s</td><td>%s</td>"
               "<td>%s</td><td>%s</td><td>%" PRId64 "</td><td>%" PRId64
               "</td><td>%s</td></tr>\n",
            v->auction ? "auction" : "continuous", sim_key_name(v->key),
            f->units, m->units, fmt_price(&b[0], f->charges, f->units, "-", 1),
            fmt_price(&b[1], m->charges, m->units, "-", 1),
            fmt_pct(&b[2], f->surplus, f->max_surplus, "n/a"),
            fmt_pct(&b[3], m->surplus, m->max_surplus, "n/a"), f->waste_units,
            m->waste_units, fmt_pct(&b[4], m->units, m->capacity, "n/a"));
  }
  fputs("</table></div>\n", o);
}

/* One winner or loser: the cost centre, its two figures and the change. */
static void html_cc_name(FILE *o, const agg *a, uint32_t c) {
  html_str(o, a->sc->ccs[c].id);
  if (a->sc->ccs[c].name[0]) {
    fputs(" ", o);
    html_str(o, a->sc->ccs[c].name);
  }
}

static void html_mover(FILE *o, const agg *a, const ranked *q, int64_t f,
                       int64_t m) {
  numbuf x, y, z;
  fputs("<tr><td class=\"l\">", o);
  html_cc_name(o, a, q->cc);
  fputs("</td><td class=\"l\">", o);
  html_str(o, a->sc->ccs[q->cc].site);
  fprintf(o, "</td><td>%s</td><td>%s</td><td class=\"%s\">%s</td></tr>\n",
          fmt_money(&x, f), fmt_money(&y, m), q->v > 0 ? "pos" : "neg",
          fmt_money_change(&z, q->v));
}

static void html_movers_table(FILE *o, const agg *a, int providers) {
  const ranked *v = a->rank_a;
  uint32_t n = rank_ccs(a, providers ? ROLE_PROVIDER : ROLE_RECEIVER,
                        providers ? v_income_change : v_xsub, a->rank_a);
  uint32_t np = count_pos(v, n, REPORT_TOP_N), nn = count_neg(v, n, REPORT_TOP_N);
  fprintf(o, "<table>\n<tr><th class=\"l\">cost centre</th><th class=\"l\">"
             "site</th><th>%s</th><th>%s</th><th>%s</th></tr>\n",
          providers ? "income flat" : "charged flat (a)",
          providers ? "income market" : "use share (b)",
          providers ? "change in income" : "cross-subsidy (a &minus; b)");
  for (uint32_t i = 0; i < np + nn; i++) {
    const ranked *q = i < np ? &v[i] : &v[n - 1 - (i - np)];
    const cc_tot *f = &a->cc[RUN_FLAT][q->cc], *m = &a->cc[RUN_MARKET][q->cc];
    html_mover(o, a, q, providers ? f->received : f->paid,
               providers ? m->received : a->use_share[q->cc]);
  }
  if (np + nn == 0)
    fputs("<tr><td class=\"l\" colspan=\"5\">none</td></tr>\n", o);
  fputs("</table>\n", o);
}

static void html_ccs(const agg *a, FILE *o) {
  uint32_t n = a->C < HTML_CC_ROWS_MAX ? a->C : HTML_CC_ROWS_MAX;
  fputs("<h2>Cost centres</h2>\n", o);
  if (n < a->C)
    fprintf(o, "<p>The first %" PRIu32 " of %" PRIu32 " cost centres; all of "
               "them are in cost_centres.csv.</p>\n", n, a->C);
  fputs("<div class=\"wide\"><table>\n<tr>"
        "<th rowspan=\"2\" class=\"l\">cost centre</th>"
        "<th rowspan=\"2\" class=\"l\">site</th>"
        "<th colspan=\"2\" class=\"g\">units consumed</th>"
        "<th colspan=\"2\" class=\"g\">paid</th>"
        "<th colspan=\"2\" class=\"g\">units produced</th>"
        "<th colspan=\"2\" class=\"g\">received</th>"
        "<th rowspan=\"2\">cross-<br>subsidy</th>"
        "<th class=\"g\">budget use</th></tr>\n<tr>", o);
  for (int i = 0; i < 4; i++) fputs("<th>flat</th><th>market</th>", o);
  fputs("<th>market</th></tr>\n", o);
  for (uint32_t c = 0; c < n; c++) {
    const cc_tot *f = &a->cc[RUN_FLAT][c], *m = &a->cc[RUN_MARKET][c];
    numbuf b[6];
    fputs("<tr><td class=\"l\">", o);
    html_cc_name(o, a, c);
    fputs("</td><td class=\"l\">", o);
    html_str(o, a->sc->ccs[c].site);
    fprintf(o, "</td><td>%" PRId64 "</td><td>%" PRId64 "</td><td>%s</td>"
               "<td>%s</td><td>%" PRId64 "</td><td>%" PRId64 "</td><td>%s</td>"
               "<td>%s</td><td>%s</td><td>%s</td></tr>\n",
            f->consumed, m->consumed, fmt_money(&b[0], f->paid),
            fmt_money(&b[1], m->paid), f->produced, m->produced,
            fmt_money(&b[2], f->received), fmt_money(&b[3], m->received),
            (a->role[c] & ROLE_RECEIVER) ? fmt_money_change(&b[4], a->xsub[c])
                                         : "",
            fmt_pct(&b[5], m->paid, a->sc->ccs[c].budget_minor * a->P, ""));
  }
  fputs("</table></div>\n", o);
}

static void html_figures(const agg *a, FILE *o) {
  fputs("<h2>Prices</h2>\n<p>For each service, the price the market found in "
        "each period (blue; the light band is the range of prices paid in a "
        "continuous market) against what the flat rate charged per unit "
        "consumed (grey, dashed). A gap means nothing was traded or served "
        "in that period.", o);
  if (a->S > CHART_PANELS_MAX)
    fprintf(o, " The first %u of %" PRIu32 " services are drawn; all are in "
               "periods.csv.", CHART_PANELS_MAX, a->S);
  fputs("</p>\n", o);
  chart_prices(o, a);
  fputs("<h2>Efficiency</h2>\n<p>The surplus each period realised, as a share "
        "of the most the same demand and costs could give. 100 % means every "
        "unit went to a receiver who values it more than it costs to make, "
        "and no such unit was left undone.</p>\n", o);
  chart_efficiency(o, a);
  fprintf(o, "<h2>Cost per department</h2>\n<p>What each receiving cost "
             "centre paid over the %" PRIu32 " periods under the flat rate and "
             "in the market", a->P);
  if (a->receivers > CHART_BARS_MAX)
    fprintf(o, " (the %u of %" PRIu32 " that pay most)", CHART_BARS_MAX,
            a->receivers);
  fputs(".</p>\n", o);
  chart_costs(o, a);
  fputs("<h2>Winners and losers</h2>\n<p><b>Cross-subsidy</b> = what a "
        "receiver was charged under the flat rate (a) minus its <b>use share</b> "
        "(b): in each service and period, the same charges split by the units "
        "each receiver consumed. The use shares add up to the charges, so the "
        "cross-subsidies of all receivers net to zero by construction: what the "
        "green ones paid for others' use, the red ones did not pay for theirs. "
        "A per-unit rate charges by use and gives none.</p>\n", o);
  chart_xsub(o, a);
  html_movers_table(o, a, 0);
  fputs("<h2>Providers</h2>\n<p>Units produced as a share of capacity, flat "
        "rate vs market", o);
  if (a->providers > CHART_BARS_MAX)
    fprintf(o, " (the %u of %" PRIu32 " with the most capacity)",
            CHART_BARS_MAX, a->providers);
  fputs(". Providers that make cheaply grow in the market; expensive ones "
        "shrink. The table shows the largest changes in income.</p>\n", o);
  chart_utilisation(o, a);
  html_movers_table(o, a, 1);
}

static void html_quality(const agg *a, FILE *o) {
  const sim_scenario *sc = a->sc;
  if (!sc->quality_on) return;
  numbuf b[8];
  fputs("<h2>Quality</h2>\n<p>Stars delivered (the mean over units) and share "
        "of the service's units, per provider, under the flat rate and in the "
        "market; the quality-adjusted surplus counts each unit at its value "
        "times the quality factor of its delivery.</p>\n<table>\n<tr>"
        "<th class=\"l\">service</th><th class=\"l\">provider</th>"
        "<th>quality</th><th>stars, flat</th><th>stars, market</th>"
        "<th>share, flat</th><th>share, market</th></tr>\n", o);
  for (uint32_t i = 0; i < sc->providers_n; i++) {
    const sim_row *r = &sc->rows[i];
    qfig f = q_provider(a, RUN_FLAT, i), m = q_provider(a, RUN_MARKET, i);
    fputs("<tr><td class=\"l\">", o);
    html_str(o, sc->services[r->service].id);
    fputs("</td><td class=\"l\">", o);
    html_str(o, sc->ccs[r->cc].id);
    fprintf(o, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td></tr>\n",
            fmt_fixed(&b[0], sim_quality_of(sc, i), 1), fmt_stars(&b[1], &f, "-"),
            fmt_stars(&b[2], &m, "-"), fmt_pct(&b[3], f.units, f.svc_units, "n/a"),
            fmt_pct(&b[4], m.units, m.svc_units, "n/a"));
  }
  fprintf(o, "</table>\n<p>Quality-adjusted surplus: flat rate %s, market %s.</p>\n",
          fmt_money(&b[5], q_surplus(a, RUN_FLAT, -1)),
          fmt_money(&b[6], q_surplus(a, RUN_MARKET, -1)));
}

static void html_recon(const agg *a, FILE *o) {
  const sim_recon *rc = &a->recon;
  if (a->sc->hist_n == 0) return;
  numbuf b[6];
  fprintf(o, "<h2>Reconciliation with the history</h2>\n<p>The flat-rate run "
          "replays the history it was calibrated on: per_unit keys charge units "
          "&times; rate, pool keys the history's own charges, and the demand of "
          "each receiver is calibrated to the units it used in each period. Of "
          "the history's %" PRIu32 " lines (%s), the flat rate reproduces "
          "<b>%" PRIu32 " of %" PRIu32 " lines (%s)</b> to the cent, "
          "<b>%s (%s)</b> of the amount.",
          rc->hist_lines_n, fmt_money(&b[0], rc->hist_amount), rc->exact_n,
          rc->lines_n, fmt_pct(&b[1], rc->exact_n, rc->lines_n, "n/a"),
          fmt_money(&b[2], rc->exact_amount),
          fmt_pct(&b[3], rc->exact_amount, rc->hist_amount, "n/a"));
  if (rc->exact_n == rc->lines_n) {
    fputs(" Every line agrees.</p>\n", o);
    return;
  }
  fputs(" Every difference, with its cause (all lines: "
        "reconciliation.csv):</p>\n<div class=\"wide\"><table>\n<tr>"
        "<th>period</th><th class=\"l\">service</th><th class=\"l\">receiver</th>"
        "<th class=\"l\">sender</th><th>history units</th><th>history amount</th>"
        "<th>flat units</th><th>flat amount</th><th class=\"l\">cause</th></tr>\n", o);
  for (uint32_t k = 0; k < rc->lines_n; k++) {
    const sim_recon_line *l = &rc->lines[k];
    if (l->cause == SIM_CAUSE_NONE) continue;
    numbuf lb;
    fputs("<tr><td>", o);
    html_str(o, recon_period(a, l->period, &lb));
    fputs("</td><td class=\"l\">", o);
    html_str(o, a->sc->services[l->service].id);
    fputs("</td><td class=\"l\">", o);
    html_str(o, a->sc->ccs[l->recv_cc].id);
    fputs("</td><td class=\"l\">", o);
    html_str(o, a->sc->ccs[l->send_cc].id);
    fprintf(o, "</td><td>%" PRId64 "</td><td>%s</td><td>%" PRId64 "</td><td>%s</td>"
            "<td class=\"l\">%s</td></tr>\n", l->hist_units,
            fmt_money(&b[4], l->hist_amount), l->flat_units,
            fmt_money(&b[5], l->flat_amount), sim_cause_text(l->cause));
  }
  fputs("</table></div>\n", o);
}

static void html_summary(const agg *a, FILE *o) {
  char l[SUMMARY_LINES][SUMMARY_BYTES], as[1024];
  int n = summary_lines(a, l);
  fputs("<h2>Summary for the board</h2>\n<ul class=\"sum\">\n", o);
  for (int i = 0; i < n; i++) {
    fputs("<li>", o);
    html_str(o, l[i]);
    fputs("</li>\n", o);
  }
  assumptions_text(a, as, sizeof as);
  fputs("</ul>\n<p><b>Assumptions:</b> ", o);
  html_str(o, as);
  fputs(".</p>\n", o);
}

/* The range of runs at other elasticities: a table and one chart of the
** efficiency of both runs at each. */
static void html_sensitivity(const agg *a, FILE *o) {
  const sim_report_meta *mt = &a->meta;
  if (mt->sens_n == 0) return;
  fputs("<h2>Sensitivity to the assumed price elasticity</h2>\n<p>The elasticity "
        "of demand cannot be observed, so the same history is run at each of "
        "these; this report's figures are at ", o);
  html_str(o, mt->elasticity ? mt->elasticity : "?");
  fputs(". Show the range, not one number.</p>\n<table>\n<tr><th>elasticity</th>"
        "<th>efficiency flat</th><th>efficiency market</th><th>surplus gained</th>"
        "<th>units flat</th><th>units market</th><th>charges flat</th>"
        "<th>charges market</th><th>waste removed</th></tr>\n", o);
  int64_t hi = 1000000, lo = 0;
  for (uint32_t k = 0; k < mt->sens_n; k++) {
    const sim_sens_row *r = &mt->sens[k];
    numbuf b[8];
    int own = mt->elasticity && strcmp(r->label, mt->elasticity) == 0;
    fprintf(o, "<tr%s><td>", own ? " class=\"own\"" : "");
    html_str(o, r->label);
    fprintf(o, "</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td><td>%s</td>"
               "<td>%s</td><td>%s</td></tr>\n",
            fmt_pct(&b[0], r->surplus[0], r->max_surplus, "n/a"),
            fmt_pct(&b[1], r->surplus[1], r->max_surplus, "n/a"),
            fmt_money_change(&b[2], r->surplus[1] - r->surplus[0]),
            fmt_int(&b[3], r->units[0]), fmt_int(&b[4], r->units[1]),
            fmt_money(&b[5], r->charges[0]), fmt_money(&b[6], r->charges[1]),
            fmt_money(&b[7], r->waste[0] - r->waste[1]));
    for (int q = 0; q < RUNS; q++)
      if (r->max_surplus) {
        int64_t v = ratio_scaled(r->surplus[q], r->max_surplus, 1000000);
        if (v < lo) lo = v < -10000000 ? -10000000 : v;
      }
  }
  fputs("</table>\n", o);
  axis ax = axis_make(lo, hi, 5, label_pct);
  int x0 = 70, y0 = 40, h = 200, w = SVG_W - 100;
  int slot = w / (int)mt->sens_n, bw = slot / 4 > 40 ? 40 : slot / 4;
  static const legend_item leg[] = {{C_FLAT, 0, "flat rate"}, {C_MARKET, 0, "market"}};
  svg_open(o, y0 + h + 50, "Efficiency at each assumed elasticity, flat rate vs market");
  svg_legend(o, x0, 18, leg, 2);
  svg_yaxis(o, x0, y0, w, h, &ax);
  int zero = y0 + h - axis_px(&ax, 0, h);
  for (uint32_t k = 0; k < mt->sens_n; k++) {
    const sim_sens_row *r = &mt->sens[k];
    int cx = x0 + slot * (int)k + slot / 2;
    for (int q = 0; q < RUNS; q++) {
      if (r->max_surplus == 0) continue;
      int64_t v = ratio_scaled(r->surplus[q], r->max_surplus, 1000000);
      int y = y0 + h - axis_px(&ax, v, h), x = cx - bw - 2 + q * (bw + 4);
      numbuf t;
      fprintf(o, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>"
                 "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" class=\"v\">%s</text>\n",
              x, y < zero ? y : zero, bw, y < zero ? zero - y : y - zero,
              q ? C_MARKET : C_FLAT, x + bw / 2, (y < zero ? y : zero) - 4,
              fmt_pct(&t, r->surplus[q], r->max_surplus, ""));
    }
    fprintf(o, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">elasticity ", cx,
            y0 + h + 18);
    html_str(o, r->label);
    fputs("</text>\n", o);
  }
  fputs("</svg>\n", o);
}

static void html_outside(const agg *a, FILE *o) {
  if (!a->outside) return;
  for (uint32_t s = 0; s < a->S; s++) {
    if (!service_has_outside(a, s)) continue;
    fputs("<h2>Outside suppliers: ", o);
    html_str(o, a->sc->services[s].id);
    fputs("</h2>\n<p>Under the flat rate a receiving cost centre buys outside from "
          "the period after one in which its charge passed what its units would "
          "have cost there; the service's cost pool, mostly fixed, is then spread "
          "over those left. In the market each pays the clearing price per unit "
          "and none needs to leave.</p>\n<table>\n<tr><th>period</th>"
          "<th>inside (flat)</th><th>charge per receiver inside</th>"
          "<th>buying inside (market)</th><th>market price</th>"
          "<th class=\"l\">leaving after this period (flat)</th></tr>\n", o);
    for (uint32_t p = 0; p < a->P; p++) {
      const sim_svc_cell *f = &a->r->flat.svc[(size_t)p * a->S + s];
      const sim_svc_cell *m = &a->r->market.svc[(size_t)p * a->S + s];
      uint32_t in = flat_inside(a, s, p);
      numbuf b[3];
      char who[512];
      leaving_text(a, s, p, who, sizeof who);
      fputs("<tr><td>", o);
      html_str(o, sim_period_label(a->sc, p + 1, b[0].s, sizeof b[0].s));
      fprintf(o, "</td><td>%" PRIu32 "</td><td>%s</td><td>%" PRIu32 "</td><td>%s</td>"
                 "<td class=\"l\">", in,
              in ? fmt_money(&b[1], (f->amount_minor + in / 2) / in) : "-",
              market_buying(a, s, p), m->units ? fmt_money(&b[2], m->price_minor) : "-");
      html_str(o, who);
      fputs("</td></tr>\n", o);
    }
    fputs("</table>\n", o);
  }
}

static void html_report(const agg *a, FILE *o) {
  html_sep = 1;
  axis_sc = a->sc;
  html_head(a, o);
  html_summary(a, o);
  html_sensitivity(a, o);
  html_outside(a, o);
  html_recon(a, o);
  html_totals(a, o);
  html_services(a, o);
  html_quality(a, o);
  html_figures(a, o);
  html_ccs(a, o);
  fputs("<p class=\"meta\">Written by imx-sim. The numbers behind every "
        "figure are in periods.csv, services.csv and cost_centres.csv next "
        "to this file.</p>\n</body>\n</html>\n", o);
  html_sep = 0;
  axis_sc = NULL;
}

/* ================================================================ files */

/* mkdir -p: every missing directory of the path, then checks that the
** path is a directory. */
static int make_dirs(const char *dir, char *errbuf, size_t errcap) {
  char path[REPORT_PATH_MAX];
  size_t n = strlen(dir);
  if (n == 0 || n >= sizeof path - 32) {
    snprintf(errbuf, errcap, "--out: the path is empty or too long");
    return -1;
  }
  memcpy(path, dir, n + 1);
  for (size_t i = 1; i <= n; i++) {
    if (path[i] != '/' && path[i] != '\0') continue;
    char c = path[i];
    path[i] = '\0';
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
      snprintf(errbuf, errcap, "--out %s: cannot create %s: %s", dir, path,
               strerror(errno));
      return -1;
    }
    path[i] = c;
  }
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    snprintf(errbuf, errcap, "--out %s: not a directory", dir);
    return -1;
  }
  return 0;
}

static int write_file(const agg *a, const char *dir, const char *name,
                      void (*write)(const agg *, FILE *), char *errbuf,
                      size_t errcap) {
  char path[REPORT_PATH_MAX];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *o = fopen(path, "w");
  if (o == NULL) {
    snprintf(errbuf, errcap, "cannot write %s: %s", path, strerror(errno));
    return -1;
  }
  write(a, o);
  int bad = ferror(o);
  if (fclose(o) != 0 || bad) {
    snprintf(errbuf, errcap, "cannot write %s: %s", path,
             bad ? "write error" : strerror(errno));
    return -1;
  }
  return 0;
}

int sim_report_dir(const sim_report *a, const char *dir, char *errbuf,
                   size_t errcap) {
  assert(a != NULL && dir != NULL && errbuf != NULL);
  money_of(a);
  if (make_dirs(dir, errbuf, errcap) != 0) return -1;
  int rc = write_file(a, dir, "periods.csv", csv_periods, errbuf, errcap);
  if (rc == 0)
    rc = write_file(a, dir, "services.csv", csv_services, errbuf, errcap);
  if (rc == 0)
    rc = write_file(a, dir, "cost_centres.csv", csv_ccs, errbuf, errcap);
  if (rc == 0 && a->sc->quality_on)
    rc = write_file(a, dir, "quality.csv", csv_quality, errbuf, errcap);
  if (rc == 0 && a->sc->hist_n)
    rc = write_file(a, dir, "reconciliation.csv", csv_recon, errbuf, errcap);
  if (rc == 0)
    rc = write_file(a, dir, "report.html", html_report, errbuf, errcap);
  return rc;
}
