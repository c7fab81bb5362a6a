/*
** sim_int.h -- what the files of imx-sim share.
*/
#ifndef IMX_SIM_INT_H
#define IMX_SIM_INT_H

#include <assert.h>
#include <stdint.h>
#include <stdio.h>

#include "imx_engine.h"
#include "imx_proto.h"

/* Strings to dense numbers 0..n-1, by open addressing. */
typedef struct names {
  char **v;
  uint32_t n, cap;
  uint32_t *slot; /* UINT32_MAX = empty; capacity 2 * cap */
} names;

int64_t names_find(const names *t, const char *s);
/* Returns the number of s, adding it if new; -1 when out of memory. */
int64_t names_intern(names *t, const char *s);
void names_free(names *t);

/* The names a file gives to orders (tenders, quotes) and the engine's ids
** for them, both ways. An id of 0 means "not accepted by the engine". */
typedef struct idmap {
  names names;
  uint64_t *engine_id;  /* by name number */
  uint32_t engine_id_n; /* capacity       */
  uint32_t *by_engine;  /* engine id -> name number */
  uint64_t by_engine_n; /* capacity       */
} idmap;

int64_t idmap_intern(idmap *m, const char *name);
int idmap_bind(idmap *m, uint32_t name_number, uint64_t engine_id);
uint64_t idmap_engine_id(const idmap *m, const char *name);
const char *idmap_name(const idmap *m, uint64_t engine_id);
void idmap_free(idmap *m);

/* Writes s as a JSON string: quotes, backslashes and control characters
** escaped (UTF-8 passes through). */
void sim_json_str(FILE *out, const char *s);
/* Thousandths as the shortest decimal: 500 -> "0.5", 2000 -> "2",
** 1250 -> "1.25" (elasticities). */
void sim_milli_text(int64_t milli, char *buf, size_t cap);


/* rng.c: a small deterministic generator (splitmix64 seeded xoshiro256**),
** the same numbers on every machine for a seed. */
typedef struct sim_rng { uint64_t s[4]; } sim_rng;
void sim_rng_seed(sim_rng *g, uint64_t seed);
uint64_t sim_rng_next(sim_rng *g);
/* Uniform in [lo, hi] (lo <= hi), without modulo bias. */
int64_t sim_rng_range(sim_rng *g, int64_t lo, int64_t hi);

/* ================================================================ run
**
** The simulator's model (`imx-sim run`): a scenario of services, providers
** with marginal-cost schedules and receivers with value schedules, run twice
** over the same periods -- once under finance's flat-rate allocation, once
** through the engine as a market -- and compared.
**
** Money is int64 minor units, quantities whole units. A schedule is a list
** of per-unit amounts: a provider's costs cheapest first (its length is the
** capacity per period), a receiver's values highest first (its length is
** the most it could use per period). Consuming n units is worth the sum of
** the n highest values; producing n units costs the sum of the n cheapest
** costs. Surplus is worth minus cost, so every figure below is exact.
*/

#define SIM_PERIODS_MAX 120u
#define SIM_ROWS_MAX (1u << 22)      /* providers + receivers            */
#define SIM_UNITS_MAX (1u << 26)     /* schedule entries, all rows        */
#define SIM_SCHEDULE_MAX 1000000     /* entries of one schedule           */
#define SIM_CHANGES_MAX 1024u
#define SIM_LABEL_BYTES 32           /* a period's label ("2026-01")      */

typedef enum sim_key {
  SIM_KEY_PER_UNIT = 0, /* a planned rate per unit consumed              */
  SIM_KEY_HEADCOUNT = 1,/* the cost pool spread by receivers' headcount  */
  SIM_KEY_PERCENT = 2   /* the cost pool spread by fixed shares          */
} sim_key;

typedef enum sim_agents {
  SIM_AGENTS_TRUTHFUL = 0, /* bid value, offer cost                      */
  SIM_AGENTS_ZIC = 1,      /* random prices within value / above cost    */
  SIM_AGENTS_ZIU = 2,      /* random prices, unconstrained               */
  SIM_AGENTS_ZIP = 3,      /* Cliff's adaptive ZIP traders               */
  SIM_AGENTS_N
} sim_agents;

typedef enum sim_side { SIM_PROVIDER = 0, SIM_RECEIVER = 1 } sim_side;

/* A receiver row without a budget: no limit. The scenario keeps it as this
** budget per period (the reports show it); an engine gets a share of the
** market's budget total instead (sim_budget_unlimited_share). */
#define SIM_BUDGET_UNLIMITED IMX_BUDGETS_TOTAL_MAX_MINOR

typedef struct sim_cc {
  char id[IMX_NAME_BYTES_MAX + 1];
  char name[IMX_TEXT_BYTES_MAX + 1]; /* "" when the file gives none      */
  char site[IMX_TEXT_BYTES_MAX + 1];
  int64_t headcount;     /* the largest a receiver row gave; 0 if none   */
  int64_t budget_minor;  /* per period: the sum of its receiver rows'    */
} sim_cc;

typedef struct sim_service {
  char id[IMX_NAME_BYTES_MAX + 1];
  char unit[IMX_NAME_BYTES_MAX + 1];
  int auction;           /* mode: 1 auction (one call a period), 0 continuous */
  int64_t tick_minor;    /* >= 1, default 1                              */
  int64_t price_max_minor; /* highest price an agent may ask or bid; 0 in
                         ** the file: the highest value or cost of the
                         ** service in any period (set by the loader)   */
  sim_key key;           /* flat_rate                                    */
  int64_t rate_minor;    /* per_unit: the planned rate                   */
} sim_service;

typedef struct sim_row {
  sim_side side;
  uint32_t cc;           /* index into ccs                               */
  uint32_t service;      /* index into services                          */
  uint32_t off, n;       /* the schedule: units[off .. off+n-1]          */
  int64_t budget_minor;  /* receivers: per period                        */
  int64_t headcount;     /* receivers                                    */
  int64_t share_bp;      /* receivers, percent key: share in basis points
                         ** (1/100 of a percent); the shares of a service
                         ** sum to 10000                                  */
  uint32_t home;         /* receivers: the provider row that serves it
                         ** under the flat rate                          */
  int quality;           /* providers: delivered stars in tenths (10..50);
                         ** 0: none given (delivers 3.0 when the scenario
                         ** has quality)                                 */
  int min_stars;         /* receivers, market: its bids' min_stars in
                         ** tenths (its own, else the scenario's); 0 none */
  int64_t outside_minor; /* receivers: an outside supplier's price per
                         ** unit (`outside_price`); 0 none. A unit is
                         ** worth at most that (sim_schedule_period),
                         ** and under a pool key the receiver leaves for
                         ** the outside from the period after one whose
                         ** charge passed outside_minor x its units    */
  int64_t fixed_minor;   /* providers: fixed cost a period (`fixed_cost`),
                         ** in a headcount or percent key's pool whether
                         ** anything is made or not; not in surplus (the
                         ** same under both runs)                       */
  /* Receivers calibrated per period (`at` and `quantities` in the file;
  ** at == 0: not calibrated). The file's values are the
  ** demand at `at` units; in period p they are stretched to quantities[p]:
  ** unit k is worth the file's unit ceil((2k - 1) at / (2 q)), so that a
  ** receiver who took `at` units at a price takes q units at it. The file's
  ** schedule is units[base_off .. base_off+base_n-1]; off, n is the
  ** period's slot (the longest period's length, padded with 0). */
  int64_t at;
  uint32_t base_off, base_n;
  uint32_t calib_off;    /* into sc->calib: `periods` quantities         */
} sim_row;

/* One line of an allocation history carried by a scenario (`history`):
** in `period`, receiver row `recv` got qty units of its service from
** provider row `send` and was charged amount_minor. Sorted by period,
** receiver row, sender row; no two alike. */
typedef struct sim_hline {
  uint32_t period;       /* 1-based                                       */
  uint32_t send, recv;   /* rows                                          */
  int64_t qty, amount_minor;
} sim_hline;

/* From `period` on (1-based), the schedule of every matching row is
** multiplied by percent / 100 (rounded down, at least 0): a demand shock
** scales receivers' values, a cost change scales providers' costs. Changes
** compose in file order. */
typedef struct sim_change {
  uint32_t period;
  sim_side side;         /* SIM_RECEIVER: demand; SIM_PROVIDER: cost     */
  int64_t service;       /* -1: every service                            */
  int64_t cc;            /* -1: every cost centre                        */
  int64_t percent;       /* 0 .. 10000                                   */
} sim_change;

typedef struct sim_scenario {
  char currency[4];
  uint32_t periods;      /* 1 .. SIM_PERIODS_MAX                         */
  uint64_t seed;
  sim_agents agents;
  sim_service *services;
  uint32_t services_n;
  sim_cc *ccs;
  uint32_t ccs_n;
  sim_row *rows;         /* providers first, then receivers, file order  */
  uint32_t rows_n, providers_n;
  int64_t *units;        /* every schedule, back to back                 */
  uint32_t units_n;
  sim_change *changes;
  uint32_t changes_n;
  /* Quality (opt-in: quality_on is 0 unless the file has a "quality"
  ** object or a provider's quality). A delivery's stars, in tenths, are
  ** the provider's quality plus a uniform draw in [-noise, +noise],
  ** clamped to 10..50; a receiver's units are worth their values times
  ** (1000 + factor x (stars - 30)) / 1000, rounded down (sim_quality_worth);
  ** in the market every fill is rated (whole stars, the delivery rounded)
  ** and receivers bid with their min_stars (allow_unrated) when it is not
  ** 0: a receiver's own, else quality_min_stars. */
  int quality_on;
  int64_t quality_factor; /* percent of value per star off 3.0; 0..50    */
  int64_t quality_noise;  /* tenths of a star; 0..20                     */
  int quality_min_stars;  /* tenths; 0 or 10..50                         */
  uint32_t ratings_min;   /* the engine's ratings_min; 1..1000, 3        */
  char (*period_labels)[SIM_LABEL_BYTES + 1]; /* `period_labels`, or NULL */
  int64_t *calib;         /* calibrated receivers' quantities a period  */
  uint32_t calib_n;
  /* The allocation history the scenario was calibrated on (an imported
  ** scenario's `history`; hist_n 0: none). With one, the flat run charges
  ** headcount and percent services as the history did, and the report
  ** reconciles the flat run with it line by line (reconcile.c). */
  sim_hline *hist;
  uint32_t hist_n;
  uint32_t *hist_period;  /* [periods + 1]: period p's lines are
                          ** hist[hist_period[p-1] .. hist_period[p])     */
} sim_scenario;

/* The quality a provider row delivers, tenths (30 when it gave none). */
int sim_quality_of(const sim_scenario *sc, uint32_t provider_row);
/* One delivery's stars, tenths, 10..50: quality +- noise from g. */
int sim_quality_draw(const sim_scenario *sc, uint32_t provider_row,
                     sim_rng *g);
/* worth_minor of units delivered at stars (tenths), quality-adjusted. */
int64_t sim_quality_worth(const sim_scenario *sc, int64_t worth_minor,
                          int stars);
/* The seed of the draws of a run's deliveries (flat rate: run 0; market:
** run 1), apart from the agents' so that quality changes no price. */
uint64_t sim_quality_seed(const sim_scenario *sc, int run);

/* scenario.c. Reads and checks a scenario file (format in README.md);
** an error names the field by its path, e.g. "receivers[3].values[2]". */
int sim_scenario_load(const char *path, sim_scenario *out, imx_proto_error *err);
int sim_scenario_parse(const char *text, size_t len, sim_scenario *out,
                       imx_proto_error *err);
void sim_scenario_free(sim_scenario *sc);
/* What an engine's budget is for a cost centre whose budget is
** SIM_BUDGET_UNLIMITED: an equal share of what the other budgets leave of
** IMX_BUDGETS_TOTAL_MAX_MINOR (an engine and imxd refuse budgets whose sum
** passes it; the share is still far above anything a period can trade).
** Returns -1 when the given budgets alone pass the total. */
int64_t sim_budget_unlimited_share(const sim_scenario *sc);
/* Cost centre c's budget as an engine gets it, given that share. */
int64_t sim_budget_for_engine(const sim_scenario *sc, uint32_t c, int64_t share);
/* The rows grouped by service or by cost centre, or the receiver rows by
** their home provider row, each group in row order: group g is
** rows[off[g] .. off[g + 1]). A counting sort, linear; every pass over "the
** rows of one service" (or "the receivers of one provider") goes through
** one of these. */
typedef enum sim_group_key {
  SIM_BY_SERVICE = 0, SIM_BY_CC = 1, SIM_BY_HOME = 2
} sim_group_key;
typedef struct sim_groups {
  uint32_t n;        /* groups: services_n, ccs_n or providers_n         */
  uint32_t *off;     /* [n + 1]                                          */
  uint32_t *rows;    /* [rows_n]: every row, or every receiver row       */
  uint32_t widest;   /* rows in the largest group                        */
} sim_groups;
int sim_groups_build(const sim_scenario *sc, sim_group_key key, sim_groups *out);
void sim_groups_free(sim_groups *g);

/* Price levels a side of service s needs (venue_engine.c): no more than the
** distinct prices an agent may use, nor than the schedule entries of the
** service's rows, nor than orders_max. The engine in-process is made with
** it, and `imx-sim market` writes it as the service's "levels" where it is
** above imxd's default, so that imxd holds what the engine in-process
** holds. by_service: sim_groups_build(SIM_BY_SERVICE). */
uint32_t sim_levels_for(const sim_scenario *sc, const sim_groups *by_service,
                        uint32_t s, uint32_t orders_max);

/* The schedules in force in `period` (1-based): units_n entries, changes
** applied, still sorted (scaling by a percentage keeps the order). */
void sim_schedule_period(const sim_scenario *sc, uint32_t period, int64_t *eff);
const char *sim_agents_name(sim_agents a);
int sim_agents_parse(const char *s, sim_agents *out);
const char *sim_key_name(sim_key k);

/* import.c: a scenario from finance's history of allocations (CSV
** `period,sender_cc,receiver_cc,service,quantity,amount`), written as
** scenario JSON (the file format) so that it can be read, edited and run.
** elasticity_milli is the assumed price elasticity of demand in
** thousandths (500 = 0.5). Returns 0, or -1 with errbuf naming the line
** and column at fault. */
typedef struct sim_import_opts {
  int64_t elasticity_milli;  /* > 0                                       */
  int auction;               /* services' mode: 1 auction, 0 continuous,
                             ** -1 the market file's, else auction        */
  int64_t headroom_percent;  /* capacity above the busiest period; 25     */
  uint64_t seed;             /* written into the scenario                 */
  sim_agents agents;         /* written into the scenario                 */
  const imx_market *market;  /* optional: units, ticks, modes, sites and
                             ** the currency of the group's market file   */
} sim_import_opts;
int sim_import_history(const char *csv_path, const sim_import_opts *o,
                       FILE *json_out, char *errbuf, size_t errcap);
/* The same in two steps, so that several elasticities read the file once:
** read and aggregate the history, then write a scenario per options. */
typedef struct sim_history sim_history;
int sim_history_read(const char *csv_path, sim_history **out, char *errbuf,
                     size_t errcap);
int sim_history_write(sim_history *h, const sim_import_opts *o, FILE *json_out,
                      char *errbuf, size_t errcap);
void sim_history_free(sim_history *h);
/* The history's cost centres and services that the market file m does not
** know, listed into buf ("cost centres A, B; services s"); their number. */
int sim_history_market_misfits(const sim_history *h, const imx_market *m, char *buf,
                               size_t cap);
/* Prints a warning naming them on err, when there are any. */
void sim_history_warn_market(const sim_history *h, const imx_market *m,
                             const char *market_path, const char *prog, FILE *err);
/* "0.5", "1", "1.25" -> 500, 1000, 1250; -1 if not a positive decimal
** with at most three places. */
int64_t sim_elasticity_parse(const char *s);

/* What one run did with one row in one period. */
typedef struct sim_cell {
  int64_t units;         /* consumed (receiver) or produced (provider)   */
  int64_t amount_minor;  /* paid (receiver) or received (provider)       */
  int64_t worth_minor;   /* receiver: sum of the top `units` values;
                         ** provider: sum of the cheapest `units` costs  */
  int64_t qworth_minor;  /* receiver, quality on: worth_minor adjusted by
                         ** the stars of each delivery                   */
  int64_t stars_units;   /* quality on: sum of stars (tenths) x units over
                         ** its deliveries (either side)                 */
} sim_cell;

/* What one run did in one service in one period. */
typedef struct sim_svc_cell {
  int64_t units;         /* traded (market) or served (flat rate)        */
  int64_t amount_minor;  /* money that changed hands for them            */
  int64_t price_minor;   /* auction: the clearing price; continuous: the
                         ** volume-weighted mean, rounded; flat rate: the
                         ** charges per unit, rounded; 0: nothing traded */
  int64_t price_lo_minor, price_hi_minor; /* range of trade prices       */
  int64_t surplus_minor; /* sum of worth over receivers - over providers */
  int64_t waste_units;   /* units consumed past the point where the next
                         ** one is worth less than the next one costs   */
  int64_t waste_minor;   /* the sum of cost - value over those units     */
} sim_svc_cell;

typedef struct sim_run {
  sim_cell *cells;       /* [period * rows_n + row], period 0-based      */
  sim_svc_cell *svc;     /* [period * services_n + service]              */
  uint64_t orders, trades, rejected; /* market run: engine commands      */
} sim_run;

typedef struct sim_result {
  const sim_scenario *sc;
  int64_t *max_surplus_minor; /* [period * services_n + service]         */
  sim_run flat, market;
  uint32_t *flat_left;   /* [rows_n]: receivers with an outside option,
                         ** the first period (1-based) they buy outside
                         ** under the flat rate; 0 never (may be past
                         ** the last period: they would leave next)    */
  sim_agents agents;     /* what the market run used                     */
  uint64_t seed;
} sim_result;

/* metrics.c */
int sim_result_init(sim_result *r, const sim_scenario *sc);
void sim_result_free(sim_result *r);
/* The most surplus the period could give in one service: the values of
** every receiver highest first against the costs of every provider
** cheapest first, paired while value > cost. eff is the period's
** schedules; scratch holds at least 2 * units_n entries. */
int64_t sim_max_surplus(const sim_scenario *sc, const sim_groups *by_service,
                        const int64_t *eff, uint32_t service, int64_t *scratch);
/* Fills worth_minor of the period's cells from units and eff, and the
** service cells' surplus and waste (the consumed values highest first
** against the produced costs cheapest first: the units past the point where
** value < cost, and the sum of cost - value over them; see metrics.c).
** scratch holds at least 2 * units_n entries. */
void sim_run_settle_period(const sim_scenario *sc, const sim_groups *by_service,
                           const int64_t *eff, uint32_t period, sim_run *run,
                           int64_t *scratch);

/* flat.c: finance's allocation key on the same demand. Fills r->flat and
** r->max_surplus_minor. */
int sim_flat_run(const sim_scenario *sc, sim_result *r);

/* market.c: the same demand through the engine (or imxd with connect). */
typedef struct sim_market_opts {
  sim_agents agents;
  uint64_t seed;
  uint32_t rounds;          /* continuous: shouts per agent a period; 0 = 30 */
  const char *connect_url;  /* NULL: the engine in-process               */
  const char *tokens_prefix;/* connect: the token of cc X is prefix + X   */
  const char *admin_token;  /* connect: runs auctions and closes periods  */
  const char *ca_file;      /* connect: a tls+tcp URL's CA certificate    */
  FILE *progress;           /* a progress bar, or NULL                   */
} sim_market_opts;
int sim_market_run(const sim_scenario *sc, const sim_market_opts *o,
                   sim_result *r, char *errbuf, size_t errcap);

/* venue_engine.c, venue_connect.c: the exchange a market run trades on,
** the engine in-process or a running imxd over the protocol. Both report
** every fill through on_fill, synchronously, before the call returns, so
** that a run sees the same fills in the same order on either. */
typedef struct sim_fill {
  uint32_t service;
  uint32_t buyer_cc, seller_cc;   /* indexes into the scenario's ccs     */
  int64_t qty, price_minor;
  uint64_t buy_order, sell_order; /* the venue's order ids               */
  uint64_t trade;                 /* the venue's trade id                */
} sim_fill;

typedef struct sim_venue sim_venue;
typedef struct sim_venue_ops {
  /* Starts period `period` (1-based): budgets and capacities renewed from
  ** the scenario (the engine), or as imxd renewed them at its close. */
  int (*period_open)(sim_venue *v, uint32_t period);
  /* Places an order. Fills it makes at once go to on_fill. A rejection is
  ** not a failure: *id_out = 0 and *status_out says why. Returns -1 only
  ** when the venue failed (errbuf in v->err). */
  int (*order)(sim_venue *v, uint32_t cc, uint32_t service, imx_side side,
               int64_t qty, int64_t price_minor, imx_tif tif, int min_stars,
               uint64_t *id_out, imx_status *status_out);
  /* Quality on, one of two ways for the ratings to reach the venue when
  ** a period closes (market.c, reputations_set), the other op NULL:
  ** reputation sets a provider's all-time ratings of a service and the
  ** sum of their stars (the engine in-process); rate is called for
  ** every fill with the buyer's rating of it (1..5 whole stars), which
  ** the venue holds until period_close and then gives as the buyer
  ** would, in the order of the fills (connect: rating.new). */
  int (*reputation)(sim_venue *v, uint32_t cc, uint32_t service,
                    uint32_t ratings, uint64_t stars_sum);
  int (*rate)(sim_venue *v, const sim_fill *f, int stars);
  /* Cancels an open order; one already gone is not a failure. */
  int (*cancel)(sim_venue *v, uint32_t cc, uint64_t order_id);
  /* Runs the call of an auction service; fills go to on_fill; *price_out
  ** is the clearing price, 0 when nothing traded. */
  int (*call)(sim_venue *v, uint32_t service, int64_t reference_minor,
              int64_t *price_out);
  /* Ends the period for every service: open `period` orders expire. */
  int (*period_close)(sim_venue *v, uint32_t period);
  void (*destroy)(sim_venue *v);
} sim_venue_ops;

struct sim_venue {
  const sim_venue_ops *ops;
  const sim_scenario *sc;
  void (*on_fill)(void *ctx, const sim_fill *f);
  void *ctx;
  char err[256];
};

/* orders_max: open orders the run may have at once. */
int sim_venue_engine(const sim_scenario *sc, uint32_t orders_max,
                     sim_venue **out, char *errbuf, size_t errcap);
/* Dials url (tls+tcp: trusting ca_file's CA); cost centre X acts with
** token token_prefix + X, auctions and period closes with admin_token
** (imx-sim market writes such a market). */
int sim_venue_connect(const sim_scenario *sc, const char *url, const char *ca_file,
                      const char *token_prefix, const char *admin_token,
                      sim_venue **out, char *errbuf, size_t errcap);
/* venue_connect.c: the market file imxd needs to serve a scenario. */
int sim_market_file_write(const sim_scenario *sc, const char *token_prefix,
                          FILE *out);

/* reconcile.c: the flat run against the scenario's history, line by line
** (period, service, receiver, sender). A line is exact when the flat run
** has the history's units and amount to the minor unit. */
typedef enum sim_cause {
  SIM_CAUSE_NONE = 0,     /* exact                                        */
  SIM_CAUSE_SENDER,       /* the history has another sender than the home */
  SIM_CAUSE_RATIONED,     /* the home's capacity ran short                */
  SIM_CAUSE_DEMAND,       /* the demand gives other units than the history*/
  SIM_CAUSE_RATE          /* same units, another amount (the key's rate)  */
} sim_cause;
typedef struct sim_recon_line {
  uint32_t period, service, recv_cc, send_cc;
  int64_t hist_units, hist_amount, flat_units, flat_amount;
  sim_cause cause;
} sim_recon_line;
typedef struct sim_recon {
  sim_recon_line *lines;  /* every line of either, sorted                 */
  uint32_t lines_n, exact_n, hist_lines_n;
  int64_t hist_amount;    /* the history's total                          */
  int64_t exact_amount;   /* of it, on lines reproduced exactly           */
  int64_t flat_amount;    /* the flat run's total                         */
} sim_recon;
/* Period p's label (1-based): the scenario's period_labels, else "p". */
const char *sim_period_label(const sim_scenario *sc, uint32_t p, char *buf, size_t cap);
/* 0, or -1 out of memory; a scenario without history gives lines_n 0. */
int sim_reconcile(const sim_result *r, sim_recon *out);
void sim_recon_free(sim_recon *rc);
const char *sim_cause_name(sim_cause c);
const char *sim_cause_text(sim_cause c);

/* report.c. A report is one aggregation of a result (totals per run, per
** service, per period and per cost centre, cross-subsidies) that every
** output formats; the writers return -1 when writing failed. */
typedef struct sim_report sim_report;
sim_report *sim_report_build(const sim_result *r); /* NULL: out of memory */
void sim_report_free(sim_report *rp);
int sim_report_text(const sim_report *rp, FILE *out);
int sim_report_json(const sim_report *rp, FILE *out);
/* Writes CSV files and report.html into dir (created if missing). */
int sim_report_dir(const sim_report *rp, const char *dir, char *errbuf,
                   size_t errcap);
/* One line of the sensitivity table of several runs (its heading first
** when head), labelled with the run's elasticity. */
int sim_report_sensitivity(const sim_report *rp, const char *label, int head,
                           FILE *out);
/* A run's totals as a row of the sensitivity range ([0] flat, [1] market). */
typedef struct sim_sens_row {
  char label[24];        /* the elasticity as given, "0.5"               */
  int64_t surplus[2], max_surplus, units[2], charges[2], waste_units[2], waste[2];
} sim_sens_row;
void sim_report_sens_row(const sim_report *rp, const char *label, sim_sens_row *out);
/* What the report states as its assumptions; every field may be NULL / 0.
** sens: the range of runs at other elasticities, drawn in the same report
** (the report's own run among them, its label `elasticity`). The strings
** and the rows must outlive the report's writers. */
typedef struct sim_report_meta {
  const char *scenario, *history, *market; /* source files              */
  const char *elasticity;                  /* imported: as given        */
  uint32_t rounds;                         /* 0: the default, 30        */
  const sim_sens_row *sens;
  uint32_t sens_n;
} sim_report_meta;
void sim_report_set_meta(sim_report *rp, const sim_report_meta *m);
/* pdf.c: prints html_path to pdf_path with headless Chromium (IMX_CHROMIUM,
** else `chromium` on PATH), waiting at most timeout_s seconds. 0, or -1
** with errbuf saying why (not installed, timed out, no PDF written). */
int sim_pdf_print(const char *html_path, const char *pdf_path, int timeout_s,
                  char *errbuf, size_t errcap);



#endif /* IMX_SIM_INT_H */
