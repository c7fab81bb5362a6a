/*
** flat.c -- the allocation finance runs today, on the scenario's demand.
**
** Under a flat rate nobody bids and nobody competes. Each receiver takes
** every unit worth more to it than the price it sees at the margin: the
** planned rate for a `per_unit` key, nothing at all for `headcount` and
** `percent` keys (its charge does not depend on what it uses). Its home
** provider serves it up to the provider's capacity; when the home
** provider's receivers want more than it has, they are served round-robin,
** one unit each in turn (a queue, which is how a service desk rations), so
** each gets an equal share of what there is, capped by what it wants.
** A provider makes what it serves at its cheapest costs.
**
** Charges follow finance's key:
**   per_unit   the receiver pays units x rate; its provider gets the same;
**   headcount  the cost pool (what the providers of the service spent
**              making what they served) is spread over the service's
**              receivers by headcount, whether they used the service or not;
**   percent    the same pool spread by fixed shares (basis points).
** Pool splits use the largest-remainder method, so the charges add up to the
** pool to the cent; each provider then recovers exactly its own cost.
**
** A scenario that carries its allocation history (an imported one) is a
** replay of it: per_unit services charge units x rate as above, and the
** headcount and percent services charge each receiver, in each period, what
** the history charged it, to the sender the history names -- the cost pool
** as finance spread it, not the model's cost of it. (The units still follow
** the rule above on the calibrated demand; reconcile.c checks both against
** the history.)
**
** Outside options (a receiver's `outside_price`): a unit is worth no more
** to it than the outside supplier's price (sim_schedule_period caps the
** values). Under a headcount or percent key, a receiver whose charge in a
** period passed what its units would have cost outside (outside price x
** units) buys outside from the next period on: it takes nothing inside and
** leaves the pool, which the remaining receivers share. A provider's
** `fixed_cost` is in the pool every period, made or not, so that the charge
** of each one left rises as others go: the death spiral of cost allocation.
** When nobody is left, the pool is charged to nobody (the fixed cost is not
** recovered).
**
** The same function fills the most surplus each service could give, which
** both runs are measured against.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

typedef struct flat {
  const sim_scenario *sc;
  const int64_t *eff;
  sim_cell *cells;      /* this period's                               */
  int64_t *want;        /* by row: units a receiver wants this period  */
  int64_t *weight;      /* by row: a receiver's part of the pool       */
  sim_groups by_svc;    /* rows grouped by service                     */
  sim_groups by_home;   /* receiver rows grouped by home provider      */
  uint32_t *order;      /* scratch: receivers by remainder             */
  uint64_t *rem;        /* by row: scratch for pool splits             */
  uint32_t period;      /* 0-based                                     */
  uint32_t *left;       /* by row: result's flat_left                  */
} flat;

/* Receiver row i buys outside in this period. */
static int gone(const flat *f, uint32_t i) {
  return f->left[i] != 0 && f->left[i] <= f->period + 1;
}

/* Units worth more than price to the receiver (values highest first). */
static int64_t units_wanted(const sim_row *w, const int64_t *eff, int64_t price) {
  int64_t k = 0;
  while (k < (int64_t)w->n && eff[w->off + k] > price) k++;
  return k;
}

/* Serves the receivers whose home is provider row p, round-robin in rounds
** of equal shares, then one unit each in row order for what is left. They
** are p's group in by_home, not a search of its service's rows: a service
** with many providers would make that a search per provider. */
static void serve(flat *f, uint32_t p) {
  const sim_scenario *sc = f->sc;
  const uint32_t *rows = f->by_home.rows + f->by_home.off[p];
  uint32_t rows_n = f->by_home.off[p + 1] - f->by_home.off[p];
  int64_t left = sc->rows[p].n, active = 0;
  for (uint32_t j = 0; j < rows_n; j++)
    if (f->want[rows[j]] > 0) active++;
  while (left > 0 && active > 0 && left / active > 0) {
    int64_t share = left / active;
    active = 0;
    for (uint32_t j = 0; j < rows_n; j++) {
      uint32_t i = rows[j];
      int64_t open = f->want[i] - f->cells[i].units;
      int64_t take = open < share ? open : share;
      f->cells[i].units += take;
      left -= take;
      if (f->cells[i].units < f->want[i]) active++;
    }
  }
  for (uint32_t j = 0; j < rows_n && left > 0; j++) {
    uint32_t i = rows[j];
    if (f->cells[i].units >= f->want[i]) continue;
    f->cells[i].units++;
    left--;
  }
  assert(left >= 0);
  f->cells[p].units = sc->rows[p].n - left;
}

static const uint64_t *rem_key;
static int by_remainder(const void *a, const void *b) {
  uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
  if (rem_key[x] != rem_key[y]) return rem_key[x] > rem_key[y] ? -1 : 1;
  return x < y ? -1 : x > y; /* ties: row order */
}

/* Splits pool over the receivers of service s by f->weight, the cents left
** by rounding down going one each to the largest remainders. */
static int64_t split_pool(flat *f, uint32_t s, int64_t pool) {
  const sim_scenario *sc = f->sc;
  const uint32_t *rows = f->by_svc.rows + f->by_svc.off[s];
  uint32_t rows_n = f->by_svc.off[s + 1] - f->by_svc.off[s], n = 0;
  unsigned __int128 total = 0;
  for (uint32_t j = 0; j < rows_n; j++)
    if (sc->rows[rows[j]].side == SIM_RECEIVER) total += (uint64_t)f->weight[rows[j]];
  if (pool == 0 || total == 0) return 0;
  int64_t given = 0;
  for (uint32_t j = 0; j < rows_n; j++) {
    uint32_t i = rows[j];
    if (sc->rows[i].side != SIM_RECEIVER) continue;
    unsigned __int128 x = (unsigned __int128)(uint64_t)pool * (uint64_t)f->weight[i];
    f->cells[i].amount_minor = (int64_t)(x / total);
    f->rem[i] = (uint64_t)(x % total);
    given += f->cells[i].amount_minor;
    if (f->weight[i] > 0) f->order[n++] = i;
  }
  int64_t left = pool - given;
  assert(left >= 0 && left <= (int64_t)n); /* each floor lost under a cent */
  rem_key = f->rem;
  qsort(f->order, n, sizeof *f->order, by_remainder);
  for (int64_t k = 0; k < left; k++) f->cells[f->order[k]].amount_minor++;
  return pool;
}

/* Charges one service's period by its key; fills its service cell. */
static void charge(flat *f, uint32_t s, sim_svc_cell *svc) {
  const sim_scenario *sc = f->sc;
  const sim_service *sv = &sc->services[s];
  const uint32_t *rows = f->by_svc.rows + f->by_svc.off[s];
  uint32_t rows_n = f->by_svc.off[s + 1] - f->by_svc.off[s];
  int64_t pool = 0, charged = 0, received = 0;
  for (uint32_t j = 0; j < rows_n; j++) {
    uint32_t i = rows[j];
    sim_cell *c = &f->cells[i];
    if (sv->key == SIM_KEY_PER_UNIT) {
      c->amount_minor = c->units * sv->rate_minor;
    } else if (sc->rows[i].side == SIM_PROVIDER) { /* it recovers its cost */
      for (int64_t k = 0; k < c->units; k++) c->amount_minor += f->eff[sc->rows[i].off + k];
      if (!sc->hist_n) c->amount_minor += sc->rows[i].fixed_minor;
      pool += c->amount_minor;
    } else if (sc->hist_n) {
      c->amount_minor = 0; /* the history's lines, below */
    } else {
      f->weight[i] = gone(f, i) ? 0
                     : sv->key == SIM_KEY_HEADCOUNT ? sc->rows[i].headcount
                                                    : sc->rows[i].share_bp;
    }
  }
  if (sv->key != SIM_KEY_PER_UNIT && sc->hist_n) {
    /* The history's charges stand for the pool: each line from its
    ** receiver to its sender. */
    for (uint32_t j = 0; j < rows_n; j++) f->cells[rows[j]].amount_minor = 0;
    for (uint32_t k = sc->hist_period[f->period]; k < sc->hist_period[f->period + 1]; k++) {
      const sim_hline *h = &sc->hist[k];
      if (sc->rows[h->recv].service != s) continue;
      f->cells[h->send].amount_minor += h->amount_minor;
      f->cells[h->recv].amount_minor += h->amount_minor;
    }
  } else if (sv->key != SIM_KEY_PER_UNIT && split_pool(f, s, pool) == 0) {
    /* Nobody left to charge: the providers recover nothing. */
    for (uint32_t j = 0; j < rows_n; j++) f->cells[rows[j]].amount_minor = 0;
  }
  if (sv->key != SIM_KEY_PER_UNIT && !sc->hist_n)
    for (uint32_t j = 0; j < rows_n; j++) {
      uint32_t i = rows[j];
      const sim_cell *c = &f->cells[i];
      if (sc->rows[i].side != SIM_RECEIVER || sc->rows[i].outside_minor == 0 ||
          f->left[i] != 0)
        continue;
      /* Both <= 1e9 x 1e6 and 1e15: no overflow. */
      if (c->amount_minor > sc->rows[i].outside_minor * c->units)
        f->left[i] = f->period + 2;
    }
  for (uint32_t j = 0; j < rows_n; j++) {
    uint32_t i = rows[j];
    sim_cell *c = &f->cells[i];
    if (sc->rows[i].side == SIM_RECEIVER) {
      charged += c->amount_minor;
      continue;
    }
    received += c->amount_minor;
    svc->units += c->units;
  }
  /* Double entry: what receivers pay is what providers get. */
  assert(charged == received);
  svc->amount_minor = charged;
  svc->price_minor = svc->units ? (charged + svc->units / 2) / svc->units : 0;
  svc->price_lo_minor = svc->price_hi_minor = svc->price_minor;
}

static void flat_period(flat *f) {
  const sim_scenario *sc = f->sc;
  for (uint32_t i = sc->providers_n; i < sc->rows_n; i++) {
    const sim_row *w = &sc->rows[i];
    const sim_service *sv = &sc->services[w->service];
    assert(w->side == SIM_RECEIVER && sc->rows[w->home].service == w->service);
    f->want[i] = gone(f, i) ? 0
                 : units_wanted(w, f->eff, sv->key == SIM_KEY_PER_UNIT ? sv->rate_minor : 0);
  }
  for (uint32_t p = 0; p < sc->providers_n; p++) serve(f, p);
}

/* Quality: each receiver's units of the period are one delivery by its
** home provider, whatever its quality: their stars adjust what they are
** worth to the receiver (worth_minor, settled) and count for both. */
static void deliver(const sim_scenario *sc, sim_cell *cells, sim_rng *g) {
  for (uint32_t i = sc->providers_n; i < sc->rows_n; i++) {
    sim_cell *c = &cells[i];
    if (c->units == 0) continue;
    uint32_t home = sc->rows[i].home;
    int stars = sim_quality_draw(sc, home, g);
    c->qworth_minor = sim_quality_worth(sc, c->worth_minor, stars);
    c->stars_units = stars * c->units;
    cells[home].stars_units += stars * c->units;
  }
}

int sim_flat_run(const sim_scenario *sc, sim_result *r) {
  flat f = {.sc = sc, .left = r->flat_left};
  int64_t *eff = malloc(((size_t)sc->units_n + 1) * sizeof *eff);
  int64_t *scratch = malloc(((size_t)2 * sc->units_n + 1) * sizeof *scratch);
  f.want = calloc((size_t)sc->rows_n + 1, sizeof *f.want);
  f.weight = calloc((size_t)sc->rows_n + 1, sizeof *f.weight);
  f.rem = calloc((size_t)sc->rows_n + 1, sizeof *f.rem);
  int rc = -1;
  f.order = malloc(((size_t)sc->rows_n + 1) * sizeof *f.order);
  if (!eff || !scratch || !f.want || !f.weight || !f.rem || !f.order ||
      sim_groups_build(sc, SIM_BY_SERVICE, &f.by_svc) ||
      sim_groups_build(sc, SIM_BY_HOME, &f.by_home))
    goto out;
  f.eff = eff;
  sim_rng qrng;
  sim_rng_seed(&qrng, sim_quality_seed(sc, 0));
  for (uint32_t p = 0; p < sc->periods; p++) {
    sim_schedule_period(sc, p + 1, eff);
    f.cells = r->flat.cells + (size_t)p * sc->rows_n;
    f.period = p;
    flat_period(&f);
    sim_svc_cell *svc = r->flat.svc + (size_t)p * sc->services_n;
    for (uint32_t s = 0; s < sc->services_n; s++) {
      charge(&f, s, &svc[s]);
      r->max_surplus_minor[(size_t)p * sc->services_n + s] =
          sim_max_surplus(sc, &f.by_svc, eff, s, scratch);
    }
    sim_run_settle_period(sc, &f.by_svc, eff, p, &r->flat, scratch);
    if (sc->quality_on) deliver(sc, f.cells, &qrng);
  }
  rc = 0;
out:
  free(eff);
  free(scratch);
  free(f.want);
  free(f.weight);
  free(f.rem);
  sim_groups_free(&f.by_svc);
  sim_groups_free(&f.by_home);
  free(f.order);
  return rc;
}
