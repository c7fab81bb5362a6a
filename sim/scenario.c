/*
** scenario.c -- the scenario file of `imx-sim run`: services, providers with
** cost schedules, receivers with value schedules, finance's flat-rate keys
** and the changes from one period to the next, and the optional quality of
** providers (format in README.md), with the arithmetic of quality.
**
** The whole file is checked before anything uses it, with proto/'s strict
** getters, and an error names the field by its path ("receivers[3].values[2]",
** "flat_rate[1].shares_bp.CC-1100") with the protocol's codes: bad_json,
** bad_field, unknown_service, unknown_cc.
**
** Layout of the result (sim_int.h): schedules are expanded into one array of
** per-unit amounts, sc->units, each row owning units[off .. off+n-1]; rows
** are the providers, then the receivers, each in file order; cost centres
** are numbered in order of first appearance. While loading, a small hash
** from (side, cost centre, service) to row finds duplicates and resolves the
** cost centres that flat_rate names.
**
** Changes scale schedules by a percentage from a period on. Every value and
** cost must stay within the engine's price limit (1e9 minor units) after
** every step of every period's changes: that keeps the arithmetic far from
** int64 overflow and lets the default price_max be a price the engine takes.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "imx_json.h"
#include "sim_int.h"

#define SCENARIO_BYTES_MAX (256u << 20)

/* The words of the file, in enum order, NULL-terminated for imx_json_word. */
static const char *const agents_names[SIM_AGENTS_N + 1] = {"truthful", "zi-c", "zi-u",
                                                           "zip", NULL};
static const char *const key_names[] = {"per_unit", "headcount", "percent", NULL};
#define SERVICES_MAX 65536u
#define PRICE_MAX IMX_PRICE_MAX_MINOR       /* 1e9, the engine's limit  */
#define BUDGET_MAX SIM_BUDGET_UNLIMITED      /* 1e15 minor units         */
#define HEADCOUNT_MAX 10000000LL
#define SEED_MAX 9007199254740992LL         /* 2^53                     */
#define SHARES_TOTAL_BP 10000

typedef struct loader {
  sim_scenario *sc;
  imx_proto_error *err;
  names svc, cc;          /* ids -> numbers, freed after loading       */
  uint32_t ccs_cap, units_cap;
  uint64_t *pair_key;     /* hash of (side, cc, service) + 1; 0 empty  */
  uint32_t *pair_row;
  uint64_t pair_mask;
  uint8_t *share_seen, *home_seen; /* by row: given in flat_rate       */
  uint8_t *headcounts; /* by service, once needed: 0 no receiver, 1 only
                       ** headcount 0, 2 some headcount above 0         */
} loader;

/* An exact integer in [min, max] as an array item or object member. */
static int int_value(const cJSON *it, int64_t min, int64_t max, int64_t *out) {
  if (!cJSON_IsNumber(it)) return -1;
  double d = it->valuedouble;
  if (!(d >= -(double)SEED_MAX && d <= (double)SEED_MAX) ||
      d != (double)(int64_t)d)
    return -1;
  int64_t v = (int64_t)d;
  if (v < min || v > max) return -1;
  *out = v;
  return 0;
}

/* A required integer field. */
static int need_int(const cJSON *obj, const char *field, int64_t min,
                    int64_t max, int64_t *out, imx_proto_error *err) {
  int rc = imx_json_int(obj, field, min, max, out, err);
  return rc == 1 ? imx_proto_fail(err, "bad_field", field, "missing") : rc;
}

/* A list field: NULL with err set when absent (and required) or wrong. */
static const cJSON *list_of(const cJSON *obj, const char *field, int required,
                            uint32_t max, imx_proto_error *err, int *absent) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, field);
  *absent = arr == NULL;
  if (arr == NULL) {
    if (required) imx_proto_fail(err, "bad_field", field, "missing");
    return NULL;
  }
  if (!cJSON_IsArray(arr) || (uint32_t)cJSON_GetArraySize(arr) > max) {
    imx_proto_fail(err, "bad_field", field, "must be a list (not too long)");
    return NULL;
  }
  return arr;
}

/* ------------------------------------------------------- the pair hash */

static uint64_t pair_of(sim_side side, uint32_t cc, uint32_t service) {
  return ((((uint64_t)cc << 20) | service) << 1 | (uint64_t)side) + 1;
}

static uint64_t pair_slot(const loader *L, uint64_t key) {
  uint64_t h = key * 0x9E3779B97F4A7C15ull;
  uint64_t i = (h >> 17) & L->pair_mask;
  while (L->pair_key[i] != 0 && L->pair_key[i] != key) i = (i + 1) & L->pair_mask;
  return i;
}

/* The row of (side, cc, service), or -1. */
static int64_t pair_find(const loader *L, sim_side side, uint32_t cc,
                         uint32_t service) {
  uint64_t i = pair_slot(L, pair_of(side, cc, service));
  return L->pair_key[i] ? (int64_t)L->pair_row[i] : -1;
}

static void pair_add(loader *L, sim_side side, uint32_t cc, uint32_t service,
                     uint32_t row) {
  uint64_t key = pair_of(side, cc, service), i = pair_slot(L, key);
  assert(L->pair_key[i] == 0);
  L->pair_key[i] = key;
  L->pair_row[i] = row;
}

static int pairs_alloc(loader *L, uint32_t rows) {
  uint64_t cap = 64;
  while (cap < 2 * (uint64_t)rows) cap *= 2;
  L->pair_key = calloc(cap, sizeof *L->pair_key);
  L->pair_row = calloc(cap, sizeof *L->pair_row);
  L->share_seen = calloc((size_t)rows + 1, 1);
  L->home_seen = calloc((size_t)rows + 1, 1);
  L->pair_mask = cap - 1;
  if (!L->pair_key || !L->pair_row || !L->share_seen || !L->home_seen)
    return imx_proto_fail(L->err, "internal", "scenario", "out of memory");
  return 0;
}

/* ------------------------------------------------------------ services */

static int parse_service(loader *L, const cJSON *obj, sim_service *s) {
  static const char *const keys[] = {"id", "unit", "mode", "tick", "price_max", NULL};
  static const char *const modes[] = {"continuous", "auction", NULL};
  imx_proto_error *err = L->err;
  if (!cJSON_IsObject(obj)) return imx_proto_fail(err, "bad_field", "", "must be an object");
  s->auction = 1;
  s->tick_minor = 1;
  if (imx_json_check_keys(obj, keys, err) ||
      imx_json_string_copy(obj, "id", IMX_NAME_BYTES_MAX, 1, s->id, err) ||
      imx_json_string_copy(obj, "unit", IMX_NAME_BYTES_MAX, 1, s->unit, err) ||
      imx_json_word(obj, "mode", modes, &s->auction, err) < 0 ||
      imx_json_int(obj, "tick", 1, PRICE_MAX, &s->tick_minor, err) < 0 ||
      imx_json_int(obj, "price_max", 1, PRICE_MAX, &s->price_max_minor, err) < 0)
    return -1;
  if (s->price_max_minor % s->tick_minor != 0)
    return imx_proto_fail(err, "bad_field", "price_max", "must be a multiple of the tick");
  uint32_t before = L->svc.n;
  if (names_intern(&L->svc, s->id) < 0)
    return imx_proto_fail(err, "internal", "id", "out of memory");
  if (L->svc.n == before) return imx_proto_fail(err, "bad_field", "id", "given twice");
  return 0;
}

static int parse_services(loader *L, const cJSON *doc) {
  int absent;
  const cJSON *arr = list_of(doc, "services", 1, SERVICES_MAX, L->err, &absent);
  if (arr == NULL) return -1;
  uint32_t n = (uint32_t)cJSON_GetArraySize(arr);
  if (n == 0) return imx_proto_fail(L->err, "bad_field", "services", "must not be empty");
  sim_scenario *sc = L->sc;
  sc->services = calloc(n, sizeof *sc->services);
  if (sc->services == NULL) return imx_proto_fail(L->err, "internal", "services", "out of memory");
  for (const cJSON *it = arr->child; it; it = it->next) {
    if (parse_service(L, it, &sc->services[sc->services_n]))
      return imx_proto_at(L->err, "services[%u].", sc->services_n);
    sc->services_n++;
  }
  return 0;
}

/* ----------------------------------------------------------- schedules */

static int units_push(loader *L, int64_t v) {
  sim_scenario *sc = L->sc;
  if (sc->units_n == SIM_UNITS_MAX) return -1;
  if (sc->units_n == L->units_cap) {
    uint32_t cap = L->units_cap ? 2 * L->units_cap : 1024;
    if (cap > SIM_UNITS_MAX) cap = SIM_UNITS_MAX;
    int64_t *p = realloc(sc->units, (size_t)cap * sizeof *p);
    if (p == NULL) return -1;
    sc->units = p;
    L->units_cap = cap;
  }
  sc->units[sc->units_n++] = v;
  return 0;
}

/* One entry: a price (one unit) or [qty, price]. */
static int schedule_entry(const cJSON *e, int64_t *qty, int64_t *price) {
  *qty = 1;
  if (cJSON_IsNumber(e)) return int_value(e, 0, PRICE_MAX, price);
  if (!cJSON_IsArray(e) || cJSON_GetArraySize(e) != 2) return -1;
  return int_value(e->child, 1, SIM_SCHEDULE_MAX, qty) ||
         int_value(e->child->next, 0, PRICE_MAX, price);
}

/* Expands the schedule `field` of a row into units; costs (rising) must
** not decrease, values must not increase. */
static int parse_schedule(loader *L, const cJSON *obj, const char *field,
                          int rising, sim_row *r) {
  imx_proto_error *err = L->err;
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (arr == NULL) return imx_proto_fail(err, "bad_field", field, "missing");
  if (!cJSON_IsArray(arr) || arr->child == NULL)
    return imx_proto_fail(err, "bad_field", field,
                          "must be a non-empty list of prices or [qty, price] pairs");
  r->off = L->sc->units_n;
  unsigned i = 0;
  for (const cJSON *e = arr->child; e; e = e->next, i++) {
    int64_t qty, price;
    if (schedule_entry(e, &qty, &price))
      return imx_proto_fail(err, "bad_field", "",
                            "must be a price 0 to 1e9 or a pair [qty 1 to 1e6, price]"),
             imx_proto_at(err, "%s[%u]", field, i);
    if (r->n > 0) {
      int64_t last = L->sc->units[r->off + r->n - 1];
      if (rising ? price < last : price > last)
        return imx_proto_fail(err, "bad_field", "",
                              rising ? "costs must not decrease (cheapest first)"
                                     : "values must not increase (highest first)"),
               imx_proto_at(err, "%s[%u]", field, i);
    }
    if (qty > SIM_SCHEDULE_MAX - (int64_t)r->n)
      return imx_proto_fail(err, "bad_field", "", "more than 1e6 units in one schedule"),
             imx_proto_at(err, "%s[%u]", field, i);
    for (int64_t k = 0; k < qty; k++)
      if (units_push(L, price))
        return imx_proto_fail(err, "bad_field", "",
                              "more than 2^26 units in the scenario (or out of memory)"),
               imx_proto_at(err, "%s[%u]", field, i);
    r->n += (uint32_t)qty;
  }
  assert(r->n >= 1 && r->off + r->n == L->sc->units_n);
  return 0;
}

/* ---------------------------------------------------------------- rows */

/* The number of cost centre `id`, adding it (with its site) if new; a
** site given twice must agree. */
static int64_t cc_of(loader *L, const char *id, const char *site) {
  sim_scenario *sc = L->sc;
  int64_t k = names_intern(&L->cc, id);
  if (k < 0) return imx_proto_fail(L->err, "internal", "cc", "out of memory");
  if ((uint32_t)k == sc->ccs_n) {
    if (sc->ccs_n == L->ccs_cap) {
      uint32_t cap = L->ccs_cap ? 2 * L->ccs_cap : 64;
      sim_cc *p = realloc(sc->ccs, (size_t)cap * sizeof *p);
      if (p == NULL) return imx_proto_fail(L->err, "internal", "cc", "out of memory");
      sc->ccs = p;
      L->ccs_cap = cap;
    }
    memset(&sc->ccs[k], 0, sizeof sc->ccs[k]);
    memcpy(sc->ccs[k].id, id, strlen(id) + 1);
    sc->ccs_n++;
  }
  sim_cc *c = &sc->ccs[k];
  if (site[0] && c->site[0] == '\0') memcpy(c->site, site, strlen(site) + 1);
  else if (site[0] && strcmp(site, c->site) != 0)
    return imx_proto_fail(L->err, "bad_field", "site",
                          "differs from the site given before for this cost centre");
  return k;
}

/* Who the row is and for which service; no pair given twice. */
static int row_identity(loader *L, const cJSON *obj, sim_row *r) {
  char id[IMX_NAME_BYTES_MAX + 1] = "", site[IMX_TEXT_BYTES_MAX + 1] = "";
  char service[IMX_NAME_BYTES_MAX + 1] = "", name[IMX_TEXT_BYTES_MAX + 1] = "";
  imx_proto_error *err = L->err;
  if (imx_json_string_copy(obj, "cc", IMX_NAME_BYTES_MAX, 1, id, err) ||
      imx_json_string_copy(obj, "name", IMX_TEXT_BYTES_MAX, 0, name, err) ||
      imx_json_string_copy(obj, "site", IMX_TEXT_BYTES_MAX, 0, site, err) ||
      imx_json_string_copy(obj, "service", IMX_NAME_BYTES_MAX, 1, service, err))
    return -1;
  int64_t s = names_find(&L->svc, service);
  if (s < 0) return imx_proto_fail(err, "unknown_service", "service", "no such service");
  int64_t cc = cc_of(L, id, site);
  if (cc < 0) return -1;
  sim_cc *c = &L->sc->ccs[cc];
  if (name[0] && c->name[0] == '\0') memcpy(c->name, name, strlen(name) + 1);
  else if (name[0] && strcmp(name, c->name) != 0)
    return imx_proto_fail(err, "bad_field", "name",
                          "differs from the name given before for this cost centre");
  r->cc = (uint32_t)cc;
  r->service = (uint32_t)s;
  if (pair_find(L, r->side, r->cc, r->service) >= 0)
    return imx_proto_fail(err, "bad_field", "service",
                          r->side == SIM_PROVIDER
                              ? "this cost centre already has a provider row for it"
                              : "this cost centre already has a receiver row for it");
  if (pair_find(L, !r->side, r->cc, r->service) >= 0)
    return imx_proto_fail(err, "bad_field", "service",
                          "a cost centre cannot provide and receive the same service "
                          "(it could only trade with itself)");
  return 0;
}

/* Stars: a string with one decimal at most ("4.5", "2") read by the one
** exact decimal parser, or an integer in tenths (45), as on the wire's
** min_stars. 1 when absent; *out in tenths, min..max. */
static int stars_field(const cJSON *obj, const char *field, int64_t min,
                       int64_t max, int *out, imx_proto_error *err) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (it == NULL) return 1;
  int64_t v = -1;
  imx_proto_error perr = {0};
  if (cJSON_IsString(it)) {
    if (imx_money_parse(it->valuestring, 1, 0, max, &v, &perr) != 0) v = -1;
  } else if (int_value(it, min, max, &v) != 0) {
    v = -1;
  }
  if (v < min || v > max) {
    char msg[160];
    snprintf(msg, sizeof msg, "must be %lld.%lld to %lld.%lld stars: a string "
             "such as \"4.5\" or an integer in tenths", (long long)(min / 10),
             (long long)(min % 10), (long long)(max / 10), (long long)(max % 10));
    return imx_proto_fail(err, "bad_field", field, msg);
  }
  *out = (int)v;
  return 0;
}

/* The optional "quality" object (README, "Quality in the simulator"). */
static int parse_quality(loader *L, const cJSON *doc) {
  static const char *const keys[] = {"factor", "noise", "min_stars",
                                     "ratings_min", NULL};
  imx_proto_error *err = L->err;
  sim_scenario *sc = L->sc;
  sc->quality_factor = 10;
  sc->ratings_min = 3;
  const cJSON *q = cJSON_GetObjectItemCaseSensitive(doc, "quality");
  if (q == NULL) return 0;
  if (!cJSON_IsObject(q)) return imx_proto_fail(err, "bad_field", "quality", "must be an object");
  int noise = 0, min_stars = 0;
  int64_t rmin = 3;
  if (imx_json_check_keys(q, keys, err) ||
      imx_json_int(q, "factor", 0, 50, &sc->quality_factor, err) < 0 ||
      stars_field(q, "noise", 0, 20, &noise, err) < 0 ||
      stars_field(q, "min_stars", IMX_STARS_MIN, IMX_STARS_MAX, &min_stars, err) < 0 ||
      imx_json_int(q, "ratings_min", 1, 1000, &rmin, err) < 0)
    return imx_proto_at(err, "quality.");
  sc->quality_on = 1;
  sc->quality_noise = noise;
  sc->quality_min_stars = min_stars;
  sc->ratings_min = (uint32_t)rmin;
  return 0;
}

/* How many units of a schedule of base_n stretched from `at` to q units
** have a value: k with ceil((2k - 1) at / (2 q)) <= base_n. */
static int64_t stretched_n(int64_t base_n, int64_t at, int64_t q) {
  int64_t n = (2 * base_n * q + at) / (2 * at);
  return n > SIM_SCHEDULE_MAX ? SIM_SCHEDULE_MAX : n;
}

/* The stretched schedule of period quantity q into dst[0 .. n): unit k is
** worth base unit ceil((2k - 1) at / (2 q)), the units past the base's end
** nothing. */
static void stretch(const int64_t *base, int64_t base_n, int64_t at, int64_t q,
                    int64_t *dst, int64_t n) {
  int64_t m = q > 0 ? stretched_n(base_n, at, q) : 0;
  for (int64_t k = 1; k <= n; k++) {
    if (k > m) {
      dst[k - 1] = 0;
      continue;
    }
    int64_t j = ((2 * k - 1) * at + 2 * q - 1) / (2 * q);
    assert(j >= 1 && j <= base_n);
    dst[k - 1] = base[j - 1];
  }
}

/* A receiver's `at` and `quantities` (both or neither): its values are the
** demand at `at` units, stretched in each period to that period's quantity.
** The row's slot becomes the longest period's schedule; the file's values
** stay behind it in units[] as the base. */
static int parse_calibration(loader *L, const cJSON *obj, sim_row *r) {
  imx_proto_error *err = L->err;
  sim_scenario *sc = L->sc;
  const cJSON *qs = cJSON_GetObjectItemCaseSensitive(obj, "quantities");
  int64_t at = 0;
  int rc = imx_json_int(obj, "at", 1, SIM_SCHEDULE_MAX, &at, err);
  if (rc < 0) return -1;
  if (qs == NULL && rc == 1) return 0;
  if (qs == NULL) return imx_proto_fail(err, "bad_field", "quantities", "missing: at goes with quantities");
  if (rc == 1) return imx_proto_fail(err, "bad_field", "at", "missing: quantities go with at");
  if (!cJSON_IsArray(qs) || (uint32_t)cJSON_GetArraySize(qs) != sc->periods)
    return imx_proto_fail(err, "bad_field", "quantities",
                          "must be a list of one quantity a period");
  int64_t *cal = realloc(sc->calib, ((size_t)sc->calib_n + sc->periods) * sizeof *cal);
  if (cal == NULL) return imx_proto_fail(err, "internal", "quantities", "out of memory");
  sc->calib = cal;
  int64_t qmax = 0, n = 1;
  unsigned i = 0;
  for (const cJSON *e = qs->child; e; e = e->next, i++) {
    int64_t q;
    if (int_value(e, 0, SIM_SCHEDULE_MAX, &q))
      return imx_proto_fail(err, "bad_field", "", "must be a whole number of units 0 to 1e6"),
             imx_proto_at(err, "quantities[%u]", i);
    cal[sc->calib_n + i] = q;
    if (q > qmax) qmax = q;
  }
  if (qmax > 0 && stretched_n(r->n, at, qmax) > n) n = stretched_n(r->n, at, qmax);
  r->at = at;
  r->base_off = r->off;
  r->base_n = r->n;
  r->calib_off = sc->calib_n;
  sc->calib_n += sc->periods;
  r->off = sc->units_n;
  r->n = 0;
  for (int64_t k = 0; k < n; k++)
    if (units_push(L, 0))
      return imx_proto_fail(err, "bad_field", "quantities",
                            "more than 2^26 units in the scenario (or out of memory)");
  r->n = (uint32_t)n;
  /* The busiest period's schedule: it is above every other period's unit
  ** by unit, so that the checks of the highest value see the right one. */
  stretch(sc->units + r->base_off, r->base_n, at, qmax, sc->units + r->off, n);
  return 0;
}

static int parse_row(loader *L, const cJSON *obj, sim_row *r) {
  static const char *const pkeys[] = {"cc", "name", "site", "service", "costs",
                                      "quality", "fixed_cost", NULL};
  static const char *const rkeys[] = {"cc", "name", "site", "headcount", "service",
                                      "values", "budget", "min_stars", "at",
                                      "quantities", "outside_price", NULL};
  imx_proto_error *err = L->err;
  if (!cJSON_IsObject(obj)) return imx_proto_fail(err, "bad_field", "", "must be an object");
  int recv = r->side == SIM_RECEIVER;
  r->budget_minor = recv ? BUDGET_MAX : 0;
  if (imx_json_check_keys(obj, recv ? rkeys : pkeys, err) ||
      row_identity(L, obj, r) ||
      imx_json_int(obj, "headcount", 0, HEADCOUNT_MAX, &r->headcount, err) < 0 ||
      imx_json_int(obj, "budget", 0, BUDGET_MAX, &r->budget_minor, err) < 0 ||
      imx_json_int(obj, "outside_price", 1, PRICE_MAX, &r->outside_minor, err) < 0 ||
      imx_json_int(obj, "fixed_cost", 0, BUDGET_MAX, &r->fixed_minor, err) < 0 ||
      parse_schedule(L, obj, recv ? "values" : "costs", !recv, r) ||
      (recv && parse_calibration(L, obj, r)))
    return -1;
  if (!recv) {
    int rc = stars_field(obj, "quality", IMX_STARS_MIN, IMX_STARS_MAX, &r->quality, err);
    if (rc < 0) return -1;
    if (rc == 0) L->sc->quality_on = 1;
  } else {
    /* Its own threshold, or 0 for none, else the scenario's. */
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(obj, "min_stars");
    r->min_stars = L->sc->quality_min_stars;
    if (cJSON_IsNumber(ms) && ms->valuedouble == 0) {
      r->min_stars = 0;
    } else {
      int rc = stars_field(obj, "min_stars", IMX_STARS_MIN, IMX_STARS_MAX,
                           &r->min_stars, err);
      if (rc < 0) return -1;
    }
    if (ms != NULL) L->sc->quality_on = 1;
  }
  if (recv) {
    sim_cc *c = &L->sc->ccs[r->cc];
    if (r->headcount > c->headcount) c->headcount = r->headcount;
    c->budget_minor += r->budget_minor; /* both <= 1e15: no overflow */
    if (c->budget_minor > BUDGET_MAX) c->budget_minor = BUDGET_MAX;
  }
  return 0;
}

static int parse_rows(loader *L, const cJSON *doc) {
  int pabsent, rabsent;
  const cJSON *prov = list_of(doc, "providers", 1, SIM_ROWS_MAX, L->err, &pabsent);
  if (prov == NULL) return -1;
  const cJSON *recv = list_of(doc, "receivers", 0, SIM_ROWS_MAX, L->err, &rabsent);
  if (recv == NULL && !rabsent) return -1;
  uint64_t n = (uint64_t)cJSON_GetArraySize(prov) +
               (recv ? (uint64_t)cJSON_GetArraySize(recv) : 0);
  if (n > SIM_ROWS_MAX)
    return imx_proto_fail(L->err, "bad_field", "receivers", "more than 2^22 rows in all");
  sim_scenario *sc = L->sc;
  sc->rows = calloc(n + 1, sizeof *sc->rows);
  if (sc->rows == NULL || pairs_alloc(L, (uint32_t)n))
    return imx_proto_fail(L->err, "internal", "providers", "out of memory");
  const cJSON *lists[2] = {prov, recv};
  for (int side = 0; side < 2; side++) {
    uint32_t i = 0;
    for (const cJSON *it = lists[side] ? lists[side]->child : NULL; it; it = it->next, i++) {
      sim_row *r = &sc->rows[sc->rows_n];
      r->side = (sim_side)side;
      if (parse_row(L, it, r))
        return imx_proto_at(L->err, "%s[%u].", side ? "receivers" : "providers", i);
      pair_add(L, r->side, r->cc, r->service, sc->rows_n);
      sc->rows_n++;
    }
    if (side == 0) sc->providers_n = sc->rows_n;
  }
  return 0;
}

/* Every service needs someone to make it. */
static int check_providers(loader *L) {
  const sim_scenario *sc = L->sc;
  uint8_t *has = calloc((size_t)sc->services_n, 1);
  if (has == NULL) return imx_proto_fail(L->err, "internal", "services", "out of memory");
  for (uint32_t i = 0; i < sc->providers_n; i++) has[sc->rows[i].service] = 1;
  int rc = 0;
  for (uint32_t s = 0; s < sc->services_n && rc == 0; s++)
    if (!has[s])
      rc = imx_proto_fail(L->err, "bad_field", "", "has no provider row"),
      imx_proto_at(L->err, "services[%u]", s);
  free(has);
  return rc;
}

/* ----------------------------------------------------------- flat rate */

/* The receiver row of service s that an object key names. */
static int64_t receiver_named(loader *L, const char *id, uint32_t s) {
  int64_t cc = names_find(&L->cc, id);
  if (cc < 0) return imx_proto_fail(L->err, "unknown_cc", id, "no such cost centre");
  int64_t row = pair_find(L, SIM_RECEIVER, (uint32_t)cc, s);
  if (row < 0)
    return imx_proto_fail(L->err, "bad_field", id, "is not a receiver of this service");
  return row;
}

static int parse_shares(loader *L, const cJSON *shares, uint32_t s) {
  imx_proto_error *err = L->err;
  if (!cJSON_IsObject(shares))
    return imx_proto_fail(err, "bad_field", "shares_bp",
                          "must be an object: receiver -> basis points");
  int64_t sum = 0;
  for (const cJSON *it = shares->child; it; it = it->next) {
    int64_t row = receiver_named(L, it->string, s), bp;
    if (row < 0) return imx_proto_at(err, "shares_bp.");
    if (L->share_seen[row])
      return imx_proto_fail(err, "bad_field", it->string, "given twice"), imx_proto_at(err, "shares_bp.");
    if (int_value(it, 0, SHARES_TOTAL_BP, &bp))
      return imx_proto_fail(err, "bad_field", it->string,
                            "must be basis points, 0 to 10000"),
             imx_proto_at(err, "shares_bp.");
    L->share_seen[row] = 1;
    L->sc->rows[row].share_bp = bp;
    sum += bp;
  }
  if (sum != SHARES_TOTAL_BP)
    return imx_proto_fail(err, "bad_field", "shares_bp", "must sum to exactly 10000");
  return 0;
}

static int parse_home(loader *L, const cJSON *home, uint32_t s) {
  imx_proto_error *err = L->err;
  if (!cJSON_IsObject(home))
    return imx_proto_fail(err, "bad_field", "home", "must be an object: receiver -> provider");
  for (const cJSON *it = home->child; it; it = it->next) {
    int64_t row = receiver_named(L, it->string, s);
    if (row < 0) return imx_proto_at(err, "home.");
    if (L->home_seen[row])
      return imx_proto_fail(err, "bad_field", it->string, "given twice"), imx_proto_at(err, "home.");
    int64_t pcc = cJSON_IsString(it) ? names_find(&L->cc, it->valuestring) : -2;
    if (pcc == -2)
      return imx_proto_fail(err, "bad_field", it->string, "must be a provider's id"),
             imx_proto_at(err, "home.");
    if (pcc < 0)
      return imx_proto_fail(err, "unknown_cc", it->string, "no such cost centre"),
             imx_proto_at(err, "home.");
    int64_t prow = pair_find(L, SIM_PROVIDER, (uint32_t)pcc, s);
    if (prow < 0)
      return imx_proto_fail(err, "bad_field", it->string,
                            "is not a provider of this service"),
             imx_proto_at(err, "home.");
    L->home_seen[row] = 1;
    L->sc->rows[row].home = (uint32_t)prow;
  }
  return 0;
}

/* The headcount key needs someone to spread the pool over. */
static int check_headcount(loader *L, uint32_t s) {
  const sim_scenario *sc = L->sc;
  if (L->headcounts == NULL) { /* one pass for every service */
    L->headcounts = calloc((size_t)sc->services_n + 1, 1);
    if (L->headcounts == NULL) return imx_proto_fail(L->err, "internal", "", "out of memory");
    for (uint32_t i = sc->providers_n; i < sc->rows_n; i++) {
      uint8_t *h = &L->headcounts[sc->rows[i].service];
      if (sc->rows[i].headcount > 0) *h = 2;
      else if (*h == 0) *h = 1;
    }
  }
  return L->headcounts[s] == 1 ? imx_proto_fail(L->err, "bad_field", "key",
                                                "headcount key, but every receiver of the "
                                                "service has headcount 0")
                               : 0;
}

static int parse_flat_entry(loader *L, const cJSON *obj, uint8_t *done) {
  static const char *const keys[] = {"service", "key", "rate", "shares_bp", "home", NULL};
  imx_proto_error *err = L->err;
  char id[IMX_NAME_BYTES_MAX + 1];
  int key = 0, rc;
  if (!cJSON_IsObject(obj)) return imx_proto_fail(err, "bad_field", "", "must be an object");
  if (imx_json_check_keys(obj, keys, err) ||
      imx_json_string_copy(obj, "service", IMX_NAME_BYTES_MAX, 1, id, err))
    return -1;
  int64_t s = names_find(&L->svc, id);
  if (s < 0) return imx_proto_fail(err, "unknown_service", "service", "no such service");
  if (done[s]) return imx_proto_fail(err, "bad_field", "service", "given twice");
  done[s] = 1;
  if ((rc = imx_json_word(obj, "key", key_names, &key, err)))
    return rc < 0 ? -1 : imx_proto_fail(err, "bad_field", "key", "missing");
  sim_service *sv = &L->sc->services[s];
  sv->key = (sim_key)key;
  rc = imx_json_int(obj, "rate", 0, PRICE_MAX, &sv->rate_minor, err);
  if (rc < 0) return -1;
  if (key == SIM_KEY_PER_UNIT && rc == 1)
    return imx_proto_fail(err, "bad_field", "rate", "missing: the per_unit key needs a rate");
  if (key != SIM_KEY_PER_UNIT && rc == 0)
    return imx_proto_fail(err, "bad_field", "rate", "only with the per_unit key");
  const cJSON *shares = cJSON_GetObjectItemCaseSensitive(obj, "shares_bp");
  if (key == SIM_KEY_PERCENT && shares == NULL)
    return imx_proto_fail(err, "bad_field", "shares_bp",
                          "missing: the percent key needs shares");
  if (key != SIM_KEY_PERCENT && shares != NULL)
    return imx_proto_fail(err, "bad_field", "shares_bp", "only with the percent key");
  if (shares && parse_shares(L, shares, (uint32_t)s)) return -1;
  if (key == SIM_KEY_HEADCOUNT && check_headcount(L, (uint32_t)s)) return -1;
  const cJSON *home = cJSON_GetObjectItemCaseSensitive(obj, "home");
  return home ? parse_home(L, home, (uint32_t)s) : 0;
}

/* Homes not given: the first provider of the service on the receiver's
** site, else the first provider of the service. */
static int default_homes(loader *L) {
  sim_scenario *sc = L->sc;
  names sites = {0};
  uint32_t *first = malloc(((size_t)sc->services_n + sc->providers_n + 1) * sizeof *first);
  uint32_t *site_first = first ? first + sc->services_n : NULL;
  int rc = first ? 0 : -1;
  char key[16 + IMX_TEXT_BYTES_MAX];
  for (uint32_t s = 0; s < sc->services_n && rc == 0; s++) first[s] = UINT32_MAX;
  for (uint32_t p = 0; p < sc->providers_n && rc == 0; p++) {
    const sim_row *r = &sc->rows[p];
    if (first[r->service] == UINT32_MAX) first[r->service] = p;
    if (sc->ccs[r->cc].site[0] == '\0') continue;
    snprintf(key, sizeof key, "%u\x1f%s", r->service, sc->ccs[r->cc].site);
    uint32_t before = sites.n;
    int64_t k = names_intern(&sites, key);
    if (k < 0) rc = -1;
    else if (sites.n > before) site_first[k] = p;
  }
  for (uint32_t i = sc->providers_n; i < sc->rows_n && rc == 0; i++) {
    sim_row *r = &sc->rows[i];
    if (L->home_seen[i]) continue;
    assert(first[r->service] != UINT32_MAX);
    r->home = first[r->service];
    if (sc->ccs[r->cc].site[0] == '\0') continue;
    snprintf(key, sizeof key, "%u\x1f%s", r->service, sc->ccs[r->cc].site);
    int64_t k = names_find(&sites, key);
    if (k >= 0) r->home = site_first[k];
  }
  names_free(&sites);
  free(first);
  return rc ? imx_proto_fail(L->err, "internal", "flat_rate", "out of memory") : 0;
}

static int parse_flat_rate(loader *L, const cJSON *doc) {
  int absent;
  const cJSON *arr = list_of(doc, "flat_rate", 1, SERVICES_MAX, L->err, &absent);
  if (arr == NULL) return -1;
  sim_scenario *sc = L->sc;
  uint8_t *done = calloc(sc->services_n, 1);
  if (done == NULL) return imx_proto_fail(L->err, "internal", "flat_rate", "out of memory");
  int rc = 0;
  unsigned i = 0;
  for (const cJSON *it = arr->child; it && rc == 0; it = it->next, i++)
    if (parse_flat_entry(L, it, done)) rc = imx_proto_at(L->err, "flat_rate[%u].", i);
  for (uint32_t s = 0; s < sc->services_n && rc == 0; s++)
    if (!done[s])
      rc = imx_proto_fail(L->err, "bad_field", sc->services[s].id,
                          "missing: every service needs its flat-rate key"),
      imx_proto_at(L->err, "flat_rate.");
  free(done);
  return rc ? -1 : default_homes(L);
}

/* ------------------------------------------------------------- history */

static int hline_cmp(const void *a, const void *b) {
  const sim_hline *x = a, *y = b;
  if (x->period != y->period) return x->period < y->period ? -1 : 1;
  if (x->recv != y->recv) return x->recv < y->recv ? -1 : 1;
  return x->send < y->send ? -1 : x->send > y->send;
}

/* The row of cost centre `field` of obj on one side of service s. */
static int64_t hline_row(loader *L, const cJSON *obj, const char *field,
                         sim_side side, uint32_t s) {
  char id[IMX_NAME_BYTES_MAX + 1];
  if (imx_json_string_copy(obj, field, IMX_NAME_BYTES_MAX, 1, id, L->err)) return -1;
  int64_t cc = names_find(&L->cc, id);
  if (cc < 0) return imx_proto_fail(L->err, "unknown_cc", field, "no such cost centre");
  int64_t row = pair_find(L, side, (uint32_t)cc, s);
  if (row < 0)
    return imx_proto_fail(L->err, "bad_field", field,
                          side == SIM_PROVIDER ? "has no provider row for this service"
                                               : "has no receiver row for this service");
  return row;
}

static int parse_hline(loader *L, const cJSON *obj, sim_hline *h) {
  static const char *const keys[] = {"period", "sender", "receiver", "service",
                                     "quantity", "amount", NULL};
  imx_proto_error *err = L->err;
  char id[IMX_NAME_BYTES_MAX + 1];
  int64_t period, qty, amount;
  if (!cJSON_IsObject(obj)) return imx_proto_fail(err, "bad_field", "", "must be an object");
  if (imx_json_check_keys(obj, keys, err) ||
      need_int(obj, "period", 1, L->sc->periods, &period, err) ||
      imx_json_string_copy(obj, "service", IMX_NAME_BYTES_MAX, 1, id, err))
    return -1;
  int64_t s = names_find(&L->svc, id);
  if (s < 0) return imx_proto_fail(err, "unknown_service", "service", "no such service");
  int64_t send = hline_row(L, obj, "sender", SIM_PROVIDER, (uint32_t)s);
  int64_t recv = send < 0 ? -1 : hline_row(L, obj, "receiver", SIM_RECEIVER, (uint32_t)s);
  if (recv < 0 || need_int(obj, "quantity", 0, IMX_QTY_MAX, &qty, err) ||
      need_int(obj, "amount", 0, IMX_BUDGETS_TOTAL_MAX_MINOR, &amount, err))
    return -1;
  *h = (sim_hline){(uint32_t)period, (uint32_t)send, (uint32_t)recv, qty, amount};
  return 0;
}

/* The allocation history an imported scenario carries (optional). */
static int parse_history(loader *L, const cJSON *doc) {
  int absent;
  sim_scenario *sc = L->sc;
  const cJSON *arr = list_of(doc, "history", 0, SIM_ROWS_MAX, L->err, &absent);
  if (arr == NULL) return absent ? 0 : -1;
  uint32_t n = (uint32_t)cJSON_GetArraySize(arr), i = 0;
  sc->hist = malloc(((size_t)n + 1) * sizeof *sc->hist);
  sc->hist_period = calloc((size_t)sc->periods + 1, sizeof *sc->hist_period);
  if (sc->hist == NULL || sc->hist_period == NULL)
    return imx_proto_fail(L->err, "internal", "history", "out of memory");
  for (const cJSON *it = arr->child; it; it = it->next, i++)
    if (parse_hline(L, it, &sc->hist[i])) return imx_proto_at(L->err, "history[%u].", i);
  qsort(sc->hist, n, sizeof *sc->hist, hline_cmp);
  for (i = 1; i < n; i++)
    if (hline_cmp(&sc->hist[i - 1], &sc->hist[i]) == 0)
      return imx_proto_fail(L->err, "bad_field", "history",
                            "two lines of one period, sender, receiver and service "
                            "(add them up into one)");
  for (i = 0; i < n; i++) sc->hist_period[sc->hist[i].period]++;
  for (uint32_t p = 1; p <= sc->periods; p++) sc->hist_period[p] += sc->hist_period[p - 1];
  sc->hist_n = n;
  return 0;
}

/* ------------------------------------------------------------- changes */

static int parse_change(loader *L, const cJSON *obj, sim_change *c) {
  static const char *const keys[] = {"period", "demand", "cost", NULL};
  static const char *const inner[] = {"service", "cc", "percent", NULL};
  imx_proto_error *err = L->err;
  char id[IMX_NAME_BYTES_MAX + 1] = "", cc[IMX_NAME_BYTES_MAX + 1] = "";
  int64_t period;
  if (!cJSON_IsObject(obj)) return imx_proto_fail(err, "bad_field", "", "must be an object");
  if (imx_json_check_keys(obj, keys, err) ||
      need_int(obj, "period", 1, L->sc->periods, &period, err))
    return -1;
  const cJSON *d = cJSON_GetObjectItemCaseSensitive(obj, "demand");
  const cJSON *k = cJSON_GetObjectItemCaseSensitive(obj, "cost");
  if (d && k) return imx_proto_fail(err, "bad_field", "cost", "give demand or cost, not both");
  if (!d && !k) return imx_proto_fail(err, "bad_field", "demand", "missing: give demand or cost");
  const char *what = d ? "demand." : "cost.";
  const cJSON *o = d ? d : k;
  c->period = (uint32_t)period;
  c->side = d ? SIM_RECEIVER : SIM_PROVIDER;
  c->service = c->cc = -1;
  if (!cJSON_IsObject(o))
    return imx_proto_fail(err, "bad_field", d ? "demand" : "cost", "must be an object");
  if (imx_json_check_keys(o, inner, err) ||
      imx_json_string_copy(o, "service", IMX_NAME_BYTES_MAX, 0, id, err) ||
      imx_json_string_copy(o, "cc", IMX_NAME_BYTES_MAX, 0, cc, err) ||
      need_int(o, "percent", 0, 10000, &c->percent, err))
    return imx_proto_at(err, "%s", what);
  if (id[0] && (c->service = names_find(&L->svc, id)) < 0)
    return imx_proto_fail(err, "unknown_service", "service", "no such service"),
           imx_proto_at(err, "%s", what);
  if (cc[0] && (c->cc = names_find(&L->cc, cc)) < 0)
    return imx_proto_fail(err, "unknown_cc", "cc", "no such cost centre"), imx_proto_at(err, "%s", what);
  return 0;
}

static int parse_changes(loader *L, const cJSON *doc) {
  int absent;
  const cJSON *arr = list_of(doc, "changes", 0, SIM_CHANGES_MAX, L->err, &absent);
  if (arr == NULL) return absent ? 0 : -1;
  sim_scenario *sc = L->sc;
  sc->changes = calloc((size_t)cJSON_GetArraySize(arr) + 1, sizeof *sc->changes);
  if (sc->changes == NULL) return imx_proto_fail(L->err, "internal", "changes", "out of memory");
  for (const cJSON *it = arr->child; it; it = it->next) {
    if (parse_change(L, it, &sc->changes[sc->changes_n]))
      return imx_proto_at(L->err, "changes[%u].", sc->changes_n);
    sc->changes_n++;
  }
  return 0;
}

static int change_matches(const sim_change *c, const sim_row *r) {
  return c->side == r->side && (c->service < 0 || c->service == (int64_t)r->service) &&
         (c->cc < 0 || c->cc == (int64_t)r->cc);
}

/* The highest entry a row reaches in any period, or -1 when some step of
** some period's changes takes it above the engine's limit (*bad: the
** change). A period's changes are those up to it, so only period 1 and the
** periods of the row's own changes need checking. */
static int64_t row_peak(const sim_scenario *sc, const sim_row *r, uint32_t *mine,
                        uint32_t *bad) {
  int64_t top = sc->units[r->side == SIM_PROVIDER ? r->off + r->n - 1 : r->off];
  uint32_t m = 0;
  for (uint32_t c = 0; c < sc->changes_n; c++)
    if (change_matches(&sc->changes[c], r)) mine[m++] = c;
  /* The row's top entry in each period where one of its changes starts
  ** (the changes in force then applied in file order): at most
  ** SIM_PERIODS_MAX compositions, not one per change. */
  uint8_t starts[SIM_PERIODS_MAX + 1] = {0};
  for (uint32_t t = 0; t < m; t++) starts[sc->changes[mine[t]].period] = 1;
  int64_t peak = top;
  for (uint32_t period = 1; period <= SIM_PERIODS_MAX; period++) {
    if (!starts[period]) continue;
    int64_t x = top;
    for (uint32_t j = 0; j < m; j++) {
      const sim_change *ch = &sc->changes[mine[j]];
      if (ch->period > period) continue;
      x = x * ch->percent / 100; /* x <= 1e9, percent <= 1e4: no overflow */
      if (x > PRICE_MAX) {
        *bad = mine[j];
        return -1;
      }
    }
    if (x > peak) peak = x;
  }
  return peak;
}

/* Every row within the limit in every period; the default price_max of a
** service is the highest entry it reaches, rounded up to the tick. */
static int check_peaks(loader *L) {
  sim_scenario *sc = L->sc;
  int64_t *peak = calloc(sc->services_n, sizeof *peak);
  uint32_t *mine = malloc(((size_t)sc->changes_n + 1) * sizeof *mine);
  int rc = peak && mine ? 0 : imx_proto_fail(L->err, "internal", "changes", "out of memory");
  for (uint32_t i = 0; i < sc->rows_n && rc == 0; i++) {
    uint32_t bad = 0;
    int64_t x = row_peak(sc, &sc->rows[i], mine, &bad);
    if (x < 0)
      rc = imx_proto_fail(L->err, "bad_field", "", "raises a value or cost above "
                          "1e9 minor units, the engine's limit"),
      imx_proto_at(L->err, "changes[%u].%s.percent", bad,
         sc->changes[bad].side == SIM_RECEIVER ? "demand" : "cost");
    else if (x > peak[sc->rows[i].service]) peak[sc->rows[i].service] = x;
  }
  for (uint32_t s = 0; s < sc->services_n && rc == 0; s++) {
    sim_service *sv = &sc->services[s];
    if (sv->price_max_minor) continue;
    int64_t p = (peak[s] + sv->tick_minor - 1) / sv->tick_minor * sv->tick_minor;
    if (p > PRICE_MAX) p = PRICE_MAX / sv->tick_minor * sv->tick_minor;
    sv->price_max_minor = p < sv->tick_minor ? sv->tick_minor : p;
  }
  free(peak);
  free(mine);
  return rc;
}

/* ------------------------------------------------------------ document */

static int parse_top(loader *L, const cJSON *doc) {
  static const char *const keys[] = {"description", "currency", "periods", "seed",
                                     "agents", "services", "providers",
                                     "receivers", "flat_rate", "changes",
                                     "quality", "history", "period_labels", NULL};
  imx_proto_error *err = L->err;
  sim_scenario *sc = L->sc;
  const char *cur = NULL;
  int64_t periods, seed = 1;
  int ag = SIM_AGENTS_ZIP, rc;
  if (imx_json_check_keys(doc, keys, err)) return -1;
  const cJSON *desc = cJSON_GetObjectItemCaseSensitive(doc, "description");
  if (desc && !cJSON_IsString(desc))
    return imx_proto_fail(err, "bad_field", "description", "must be a string");
  memcpy(sc->currency, "EUR", 4);
  if ((rc = imx_json_string(doc, "currency", 3, &cur, err)) < 0) return -1;
  if (rc == 0 && (strlen(cur) != 3 || strspn(cur, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != 3))
    return imx_proto_fail(err, "bad_field", "currency",
                          "must be a 3-letter currency code such as EUR");
  if (rc == 0) memcpy(sc->currency, cur, 4);
  if (need_int(doc, "periods", 1, SIM_PERIODS_MAX, &periods, err) ||
      imx_json_int(doc, "seed", 0, SEED_MAX, &seed, err) < 0 ||
      imx_json_word(doc, "agents", agents_names, &ag, err) < 0)
    return -1;
  sc->periods = (uint32_t)periods;
  sc->seed = (uint64_t)seed;
  const cJSON *labels = cJSON_GetObjectItemCaseSensitive(doc, "period_labels");
  if (labels) {
    if (!cJSON_IsArray(labels) || (uint32_t)cJSON_GetArraySize(labels) != sc->periods)
      return imx_proto_fail(err, "bad_field", "period_labels",
                            "must be a list of one label a period");
    sc->period_labels = calloc(sc->periods, sizeof *sc->period_labels);
    if (sc->period_labels == NULL)
      return imx_proto_fail(err, "internal", "period_labels", "out of memory");
    uint32_t i = 0;
    for (const cJSON *e = labels->child; e; e = e->next, i++) {
      if (!cJSON_IsString(e) || e->valuestring[0] == '\0' ||
          strlen(e->valuestring) > SIM_LABEL_BYTES)
        return imx_proto_fail(err, "bad_field", "", "must be a text of 1 to 32 bytes"),
               imx_proto_at(err, "period_labels[%u]", i);
      memcpy(sc->period_labels[i], e->valuestring, strlen(e->valuestring) + 1);
    }
  }
  sc->agents = (sim_agents)ag;
  return 0;
}

static int parse_doc(loader *L, const cJSON *doc) {
  if (!cJSON_IsObject(doc))
    return imx_proto_fail(L->err, "bad_json", "scenario", "must be a JSON object");
  return parse_top(L, doc) || parse_quality(L, doc) || parse_services(L, doc) ||
         parse_rows(L, doc) ||
         check_providers(L) || parse_flat_rate(L, doc) || parse_changes(L, doc) ||
         parse_history(L, doc) || check_peaks(L);
}

/* A decimal number anywhere in the file is an error naming its place: every
** number of a scenario is whole (money in minor units, quantities in
** units), and cJSON would read 60.00 as 60 -- 60 cents where 60 euros were
** meant. A scan of the (already valid) JSON text that keeps the path of
** keys and indexes to each number. */
#define PATH_DEPTH_MAX 16
typedef struct jframe {
  int array;
  uint32_t index;
  char key[40];
} jframe;

static void jpath(const jframe *st, int depth, char *buf, size_t cap) {
  size_t n = 0;
  buf[0] = '\0';
  for (int d = 0; d < depth && d < PATH_DEPTH_MAX && n < cap; d++) {
    if (st[d].array) n += (size_t)snprintf(buf + n, cap - n, "[%u]", st[d].index);
    else n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "." : "", st[d].key);
  }
}

static int no_decimals(const char *t, size_t len, imx_proto_error *err) {
  jframe st[PATH_DEPTH_MAX];
  int depth = 0, want_key = 0;
  for (size_t i = 0; i < len; i++) {
    char c = t[i];
    jframe *top = depth > 0 && depth <= PATH_DEPTH_MAX ? &st[depth - 1] : NULL;
    if (c == '"') {
      size_t j = i + 1;
      while (j < len && t[j] != '"') j += t[j] == '\\' ? 2 : 1;
      if (want_key && top && !top->array) {
        size_t k = j - i - 1 < sizeof top->key - 1 ? j - i - 1 : sizeof top->key - 1;
        memcpy(top->key, t + i + 1, k);
        top->key[k] = '\0';
      }
      want_key = 0;
      i = j;
    } else if (c == '{' || c == '[') {
      if (depth < PATH_DEPTH_MAX) st[depth] = (jframe){.array = c == '['};
      depth++;
      want_key = c == '{';
    } else if (c == '}' || c == ']') {
      depth--;
    } else if (c == ',') {
      if (top && top->array) top->index++;
      want_key = top && !top->array;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      size_t j = i;
      int frac = 0;
      while (j < len && t[j] && strchr("+-0123456789.eE", t[j])) frac |= strchr(".eE", t[j++]) != NULL;
      if (frac) {
        char path[sizeof err->field];
        jpath(st, depth, path, sizeof path);
        imx_proto_fail(err, "bad_field", path[0] ? path : "scenario",
                       "is a decimal number: every number in a scenario file is whole, "
                       "money in minor units (60.00 EUR is 6000) and quantities in units");
        return -1;
      }
      i = j - 1;
    }
  }
  return 0;
}

int sim_scenario_parse(const char *text, size_t len, sim_scenario *out,
                       imx_proto_error *err) {
  memset(out, 0, sizeof *out);
  cJSON *doc = imx_json_parse(text, len, err);
  if (doc == NULL) {
    snprintf(err->field, sizeof err->field, "scenario");
    return -1;
  }
  if (no_decimals(text, len, err)) {
    cJSON_Delete(doc);
    return -1;
  }
  loader L = {.sc = out, .err = err};
  int rc = parse_doc(&L, doc) ? -1 : 0;
  cJSON_Delete(doc);
  names_free(&L.svc);
  names_free(&L.cc);
  free(L.pair_key);
  free(L.pair_row);
  free(L.share_seen);
  free(L.headcounts);
  free(L.home_seen);
  if (rc) sim_scenario_free(out);
  assert(rc != 0 || (out->services_n > 0 && out->providers_n > 0));
  return rc;
}

int sim_scenario_load(const char *path, sim_scenario *out, imx_proto_error *err) {
  memset(out, 0, sizeof *out);
  char *buf;
  size_t n;
  if (imx_file_read(path, SCENARIO_BYTES_MAX, "scenario", &buf, &n, err) != 0) return -1;
  int rc = sim_scenario_parse(buf, n, out, err);
  free(buf);
  return rc;
}

void sim_scenario_free(sim_scenario *sc) {
  free(sc->services);
  free(sc->ccs);
  free(sc->rows);
  free(sc->units);
  free(sc->changes);
  free(sc->calib);
  free(sc->period_labels);
  free(sc->hist);
  free(sc->hist_period);
  memset(sc, 0, sizeof *sc);
}

/* Row i's group under key; UINT32_MAX: in none (a provider, by home). */
static uint32_t group_of(const sim_scenario *sc, sim_group_key key, uint32_t i) {
  const sim_row *w = &sc->rows[i];
  switch (key) {
  case SIM_BY_SERVICE: return w->service;
  case SIM_BY_CC: return w->cc;
  default: return w->side == SIM_RECEIVER ? w->home : UINT32_MAX;
  }
}

int sim_groups_build(const sim_scenario *sc, sim_group_key key, sim_groups *out) {
  memset(out, 0, sizeof *out);
  out->n = key == SIM_BY_SERVICE ? sc->services_n
           : key == SIM_BY_CC    ? sc->ccs_n
                                 : sc->providers_n;
  out->off = calloc((size_t)out->n + 1, sizeof *out->off);
  out->rows = malloc(((size_t)sc->rows_n + 1) * sizeof *out->rows);
  uint32_t *next = calloc((size_t)out->n + 1, sizeof *next);
  if (!out->off || !out->rows || !next) {
    free(next);
    sim_groups_free(out);
    return -1;
  }
  uint32_t grouped = 0;
  for (uint32_t i = 0; i < sc->rows_n; i++) {
    uint32_t g = group_of(sc, key, i);
    if (g == UINT32_MAX) continue;
    assert(g < out->n);
    out->off[g + 1]++;
    grouped++;
  }
  for (uint32_t g = 0; g < out->n; g++) {
    if (out->off[g + 1] > out->widest) out->widest = out->off[g + 1];
    out->off[g + 1] += out->off[g];
  }
  for (uint32_t i = 0; i < sc->rows_n; i++) {
    uint32_t g = group_of(sc, key, i);
    if (g != UINT32_MAX) out->rows[out->off[g] + next[g]++] = i;
  }
  free(next);
  assert(out->off[out->n] == grouped);
  return 0;
}

void sim_groups_free(sim_groups *g) {
  free(g->off);
  free(g->rows);
  memset(g, 0, sizeof *g);
}

void sim_schedule_period(const sim_scenario *sc, uint32_t period, int64_t *eff) {
  assert(period >= 1 && period <= sc->periods);
  memcpy(eff, sc->units, (size_t)sc->units_n * sizeof *eff);
  if (sc->calib_n)
    for (uint32_t i = sc->providers_n; i < sc->rows_n; i++) {
      const sim_row *r = &sc->rows[i];
      if (r->at == 0) continue;
      stretch(sc->units + r->base_off, r->base_n, r->at,
              sc->calib[r->calib_off + period - 1], eff + r->off, r->n);
    }
  for (uint32_t c = 0; c < sc->changes_n; c++) {
    const sim_change *ch = &sc->changes[c];
    if (ch->period > period) continue;
    for (uint32_t i = 0; i < sc->rows_n; i++) {
      const sim_row *r = &sc->rows[i];
      if (!change_matches(ch, r)) continue;
      for (uint32_t k = r->off; k < r->off + r->n; k++) {
        eff[k] = eff[k] * ch->percent / 100;
        assert(eff[k] >= 0 && eff[k] <= PRICE_MAX); /* check_peaks */
      }
      for (uint32_t k = r->off + 1; k < r->off + r->n; k++)
        assert(r->side == SIM_PROVIDER ? eff[k] >= eff[k - 1] : eff[k] <= eff[k - 1]);
    }
  }
  /* With an outside supplier, a unit is worth no more than its price
  ** there (a cap keeps the values highest first). */
  for (uint32_t i = sc->providers_n; i < sc->rows_n; i++) {
    const sim_row *r = &sc->rows[i];
    if (r->outside_minor == 0) continue;
    for (uint32_t k = r->off; k < r->off + r->n; k++)
      if (eff[k] > r->outside_minor) eff[k] = r->outside_minor;
  }
}

const char *sim_period_label(const sim_scenario *sc, uint32_t p, char *buf, size_t cap) {
  assert(p >= 1 && p <= sc->periods);
  if (sc->period_labels) return sc->period_labels[p - 1];
  snprintf(buf, cap, "%u", p);
  return buf;
}

/* ---------------------------------------------------------------- names */


const char *sim_agents_name(sim_agents a) {
  assert(a < SIM_AGENTS_N);
  return agents_names[a];
}

int sim_agents_parse(const char *s, sim_agents *out) {
  for (int a = 0; a < SIM_AGENTS_N; a++)
    if (strcmp(s, agents_names[a]) == 0) {
      *out = (sim_agents)a;
      return 0;
    }
  return -1;
}

const char *sim_key_name(sim_key k) {
  assert(k <= SIM_KEY_PERCENT);
  return key_names[k];
}

int64_t sim_budget_unlimited_share(const sim_scenario *sc) {
  int64_t given = 0, unlimited = 0;
  for (uint32_t c = 0; c < sc->ccs_n; c++) {
    int64_t b = sc->ccs[c].budget_minor;
    IMX_ASSERT(b >= 0 && b <= SIM_BUDGET_UNLIMITED);
    if (b == SIM_BUDGET_UNLIMITED) unlimited++;
    else given += b; /* each <= 1e15, at most 2^22 of them: no overflow */
  }
  if (given > IMX_BUDGETS_TOTAL_MAX_MINOR) return -1;
  return unlimited ? (IMX_BUDGETS_TOTAL_MAX_MINOR - given) / unlimited : 0;
}

int64_t sim_budget_for_engine(const sim_scenario *sc, uint32_t c, int64_t share) {
  IMX_ASSERT(c < sc->ccs_n && share >= 0);
  int64_t b = sc->ccs[c].budget_minor;
  return b == SIM_BUDGET_UNLIMITED ? share : b;
}

/* ------------------------------------------------------------- quality */

int sim_quality_of(const sim_scenario *sc, uint32_t provider_row) {
  assert(provider_row < sc->providers_n);
  int q = sc->rows[provider_row].quality;
  return q ? q : 30;
}

int sim_quality_draw(const sim_scenario *sc, uint32_t provider_row, sim_rng *g) {
  int64_t q = sim_quality_of(sc, provider_row);
  if (sc->quality_noise > 0) q += sim_rng_range(g, -sc->quality_noise, sc->quality_noise);
  return (int)(q < IMX_STARS_MIN ? IMX_STARS_MIN : q > IMX_STARS_MAX ? IMX_STARS_MAX : q);
}

int64_t sim_quality_worth(const sim_scenario *sc, int64_t worth_minor, int stars) {
  /* factor <= 50, |stars - 30| <= 20: the permille is 0 .. 2000, and a
  ** period's worth is far below 2^63 / 2000 (check_peaks). */
  int64_t permille = 1000 + sc->quality_factor * (stars - 30);
  assert(permille >= 0 && permille <= 2000 && worth_minor >= 0);
  return worth_minor * permille / 1000;
}

uint64_t sim_quality_seed(const sim_scenario *sc, int run) {
  return sc->seed * 2 + 0x5157u + (uint64_t)run;
}
