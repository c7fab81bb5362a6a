/*
** market.c -- the market file: which services are traded and who trades.
**
**   {"currency":"EUR", "decimals":2, "tenders_per_cc_max":16, "ratings_min":3,
**    "services":[{"id":"it.helpdesk.hour","name":"IT helpdesk hour",
**                 "description":"First- and second-level support ...",
**                 "unit":"hour","tick":100,"lot":1,
**                 "divisible":true,"mode":"continuous","price_cap":500000}],
**    "cost_centres":[{"id":"CC-4100","name":"IT Service Desk","site":"Berlin",
**                     "roles":["provider"],"budget":0,
**                     "capacities":{"it.helpdesk.hour":400},
**                     "token_hash":"..."}],
**    "period":"month", "first_period":"2026-12"}
**
** A service's name and description are optional text for people (1 to
** 128 and 1 to 512 bytes, no control characters); a service without a name
** is called by its id. "translations" gives them, and the unit, in more
** languages, for the pages in those: {"de":{"name":"LKW mit Fahrer",
** "description":"...","unit":"LKW-Tag"}}, at most IMX_TRANSLATIONS_MAX
** languages (ISO 639-1 codes, two lower-case letters), each with at least
** one of the three (what it leaves out is the default's).
**
** A service's "levels" (1 to IMX_LEVELS_MAX, default IMX_LEVELS_DEFAULT) is
** how many different prices each side of its book may hold at once: an
** order at a new price beyond it is refused (levels_full). A deep call
** auction, whose bids and offers spread over thousands of prices, needs
** more than the default; each level costs about 90 bytes a side, taken
** from memory as the book gets that deep.
**
** The SAP upload's mapping (the sap export, ledger/export_sap.c) is
** optional: "erp" at the top ({"controlling_area":"1000","user":"IMX-UPLOAD",
** "header_text":"imx Nordwerk"}), "erp_cc" on a cost centre and
** "activity_type" and "uom" on a service. A market runs without it; the
** export names what it misses. What is given is checked here, so that a
** mistake shows when the file loads: SAP's lengths in characters
** (imx_base.h's IMX_SAP_*), and keys of printable ASCII without a space,
** ';' or '"' (the upload's separator and quote), header_text without ';',
** '"' or control characters.
**
** "period" (the length of a period: "month", the only one so far) and
** "first_period" (the first period's month) are optional; without
** "first_period" the periods are numbered (period.c).
**
** Checked whole before anything uses it: every field typed and in range
** (the bounds are imx_base.h's), ids unique, capacities only for known
** services and only of providers, and the sum of all budgets at most
** IMX_BUDGETS_TOTAL_MAX_MINOR -- the bound that keeps every sum of a
** period's money within int64 (imx_base.h), so it is checked here, where
** the budgets come in. An error names the field by its path, e.g.
** "services[1].tick".
**
** Ids are found through two imx_hash indexes (services, cost centres) built
** while loading: the same lookup that answers imx_market_*_find refuses an
** id given twice, so a load is linear in the file. A market built by hand
** (a benchmark) has no index and is searched linearly.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imx_json.h"

#define ID_HASH_SEED 0x6d61726b6574ull /* "market": any constant will do */

/* The messages below state these numbers. */
_Static_assert(IMX_CAPACITY_MAX == (long long)1e9, "the message says 1e9");
_Static_assert(IMX_BUDGETS_TOTAL_MAX_MINOR == (long long)1e15,
               "the message says 10^15");
/* capacities_total and the role counts below fit uint32_t. */
_Static_assert((uint64_t)IMX_SERVICES_MAX * IMX_CCS_MAX <= UINT32_MAX,
               "a capacity per (cost centre, service) fits uint32_t");

/* What one load keeps besides the market itself. */
typedef struct loader {
  imx_market *m;
  uint32_t *capacity_seen;  /* per service: 1 + the last cost centre that
                            ** gave it a capacity, for "given twice"      */
  int64_t budgets_minor;    /* the sum so far, <= IMX_BUDGETS_TOTAL_MAX_MINOR */
} loader;

/* ------------------------------------------------------------ id index */

static const char *service_id(const imx_market *m, uint32_t k) {
  return m->services[k].id;
}

static const char *cc_id(const imx_market *m, uint32_t k) { return m->ccs[k].id; }

/* Entry k of n whose id is id, or -1. */
static int64_t id_find(const imx_market *m, const imx_hash *h, uint32_t n,
                       const char *(*id_of)(const imx_market *, uint32_t),
                       const char *id) {
  if (h->slots == NULL) {
    for (uint32_t k = 0; k < n; k++)
      if (strcmp(id_of(m, k), id) == 0) return k;
    return -1;
  }
  IMX_ASSERT(h->n == n);
  uint32_t slot = imx_hash_first(h, imx_hash_str(ID_HASH_SEED, id));
  for (uint32_t steps = 0; steps <= h->mask; steps++) {
    uint32_t k = h->slots[slot];
    if (k == IMX_HASH_NIL) return -1;
    IMX_ASSERT(k < n);
    if (strcmp(id_of(m, k), id) == 0) return k;
    slot = imx_hash_next(h, slot);
  }
  IMX_ASSERT(0 && "an imx_hash is never full");
  return -1;
}

int64_t imx_market_service_find(const imx_market *m, const char *id) {
  return id_find(m, &m->services_index_, m->services_n, service_id, id);
}

int64_t imx_market_cc_find(const imx_market *m, const char *id) {
  return id_find(m, &m->ccs_index_, m->ccs_n, cc_id, id);
}

/* ---------------------------------------------------------------- parse */

static int currency(const cJSON *obj, const char *field, char *dst,
                    imx_proto_error *err) {
  const char *s = NULL;
  /* read longer than 3, so that "EURO" gets the message that says why */
  int rc = imx_json_string(obj, field, IMX_NAME_BYTES_MAX, &s, err);
  if (rc) return rc;
  if (strlen(s) != 3 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' ||
      s[2] < 'A' || s[2] > 'Z')
    return imx_proto_fail(err, "bad_field", field,
                          "must be a 3-letter currency code such as EUR");
  memcpy(dst, s, 4);
  return 0;
}

/* A service's own currency: it must have the market's decimals. */
static int service_currency(const cJSON *obj, const imx_market *m, char *dst,
                            imx_proto_error *err) {
  int rc = currency(obj, "currency", dst, err);
  if (rc != 0 || strcmp(dst, m->currency) == 0) return rc < 0 ? -1 : 0;
  int d = imx_currency_decimals(dst);
  if (d < 0)
    return imx_proto_fail(err, "bad_field", "currency",
                          "not an ISO 4217 currency (only the market's own "
                          "currency may be another, with \"decimals\")");
  if (d != m->decimals)
    return imx_proto_fail(err, "bad_field", "currency",
                          "must have as many decimals as the market's currency "
                          "(budgets are spent in it)");
  return 0;
}

/* ------------------------------------------------------- the SAP mapping */

/* How many characters a UTF-8 string holds (the parser has checked it is
** UTF-8): its bytes that do not continue a character. */
static size_t utf8_chars(const char *s) {
  size_t n = 0;
  for (; *s; s++) n += ((unsigned char)*s & 0xC0) != 0x80;
  return n;
}

/* An SAP key of the mapping (a cost centre, an activity type, a unit, the
** controlling area, a user): 1 to max_chars characters of printable ASCII
** without a space, ';' or '"'. too_long says which SAP field it is. An
** absent field leaves dst "" (0); -1 with *err set when it is wrong. */
static int sap_key(const cJSON *obj, const char *field, size_t max_chars,
                   const char *too_long, char *dst, imx_proto_error *err) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (it == NULL) return 0;
  if (!cJSON_IsString(it))
    return imx_proto_fail(err, "bad_field", field, "must be a string");
  const char *s = it->valuestring;
  size_t n = strlen(s);
  for (size_t i = 0; i < n; i++)
    if (s[i] <= ' ' || s[i] > '~' || s[i] == ';' || s[i] == '"')
      return imx_proto_fail(err, "bad_field", field,
                            "may hold printable ASCII only, without a space, ';' or '\"'"
                            " (the SAP upload's separator and quote)");
  if (n == 0 || n > max_chars) return imx_proto_fail(err, "bad_field", field, too_long);
  memcpy(dst, s, n + 1);
  return 0;
}

/* "erp": the SAP upload's controlling area, user and header text. */
static int parse_erp(const cJSON *doc, imx_market_erp *e, imx_proto_error *err) {
  static const char *const keys[] = {"controlling_area", "user", "header_text", NULL};
  const cJSON *obj = cJSON_GetObjectItemCaseSensitive(doc, "erp");
  if (obj == NULL) return 0;
  if (!cJSON_IsObject(obj)) return imx_proto_fail(err, "bad_field", "erp", "must be an object");
  const char *text = NULL;
  int rc;
  if (imx_json_check_keys(obj, keys, err) ||
      sap_key(obj, "controlling_area", IMX_SAP_CO_AREA_MAX,
              "must be 1 to 4 characters: SAP's controlling area (CO_AREA)",
              e->controlling_area, err) ||
      sap_key(obj, "user", IMX_SAP_USER_MAX,
              "must be 1 to 12 characters: an SAP user name (USERNAME)", e->user, err) ||
      (rc = imx_json_string(obj, "header_text", IMX_MARKET_BYTES_MAX, &text, err)) < 0)
    return imx_proto_at(err, "erp.");
  if (rc == 0) {
    if (utf8_chars(text) > IMX_SAP_HEADER_TEXT_MAX || strpbrk(text, ";\"") != NULL)
      return imx_proto_fail(err, "bad_field", "header_text",
                            "must be 1 to 25 characters without ';' or '\"' (SAP's"
                            " header text, DOC_HDR_TX, also holds the period)"),
             imx_proto_at(err, "erp.");
    IMX_ASSERT(strlen(text) < sizeof e->header_text); /* 4 bytes a character */
    memcpy(e->header_text, text, strlen(text) + 1);
  }
  return 0;
}

int imx_lang_code_ok(const char *s) {
  return s[0] >= 'a' && s[0] <= 'z' && s[1] >= 'a' && s[1] <= 'z' && s[2] == '\0';
}

/* "translations": {"de": {"name": ..., "description": ..., "unit": ...}}. */
static int parse_translations(const cJSON *obj, imx_market_service *s,
                              imx_proto_error *err) {
  static const char *const keys[] = {"name", "description", "unit", NULL};
  const cJSON *tr = cJSON_GetObjectItemCaseSensitive(obj, "translations");
  if (tr == NULL) return 0;
  if (!cJSON_IsObject(tr))
    return imx_proto_fail(err, "bad_field", "translations",
                          "must be an object: a language code to its texts");
  for (const cJSON *it = tr->child; it; it = it->next) {
    const char *lang = it->string;
    if (!imx_lang_code_ok(lang))
      return imx_proto_fail(err, "bad_field", "translations",
                            "each key must be a language code: two lower-case letters "
                            "(ISO 639-1), e.g. de");
    char field[sizeof err->field];
    snprintf(field, sizeof field, "translations.%s", lang);
    for (uint32_t k = 0; k < s->texts_n; k++)
      if (strcmp(s->texts[k].lang, lang) == 0)
        return imx_proto_fail(err, "bad_field", field, "given twice");
    if (s->texts_n == IMX_TRANSLATIONS_MAX)
      return imx_proto_fail(err, "bad_field", field,
                            "too many languages: at most 4 translations");
    if (!cJSON_IsObject(it))
      return imx_proto_fail(err, "bad_field", field,
                            "must be an object with name, description or unit");
    imx_service_text *t = &s->texts[s->texts_n];
    memset(t, 0, sizeof *t);
    memcpy(t->lang, lang, 3);
    if (imx_json_check_keys(it, keys, err) ||
        imx_json_string_copy(it, "name", IMX_TEXT_BYTES_MAX, 0, t->name, err) ||
        imx_json_string_copy(it, "description", IMX_DESCRIPTION_BYTES_MAX, 0,
                             t->description, err) ||
        imx_json_string_copy(it, "unit", IMX_NAME_BYTES_MAX, 0, t->unit, err))
      return imx_proto_at(err, "translations.%s.", lang);
    if (t->name[0] == '\0' && t->description[0] == '\0' && t->unit[0] == '\0')
      return imx_proto_fail(err, "bad_field", field,
                            "must give at least one of name, description and unit");
    s->texts_n++;
  }
  return 0;
}

static int parse_service(const cJSON *obj, const imx_market *m,
                         imx_market_service *s, imx_proto_error *err) {
  static const char *const keys[] = {"id", "name", "description", "unit",
                                     "currency", "tick", "lot", "divisible",
                                     "mode", "price_cap", "levels", "activity_type",
                                     "uom", "translations", NULL};
  static const char *const modes[] = {"continuous", "auction", NULL};
  if (!cJSON_IsObject(obj))
    return imx_proto_fail(err, "bad_field", "", "must be an object");
  memcpy(s->currency, m->currency, 4);
  s->divisible = 1;
  int64_t levels = IMX_LEVELS_DEFAULT;
  int rc;
  if (imx_json_check_keys(obj, keys, err) ||
      imx_json_string_copy(obj, "id", IMX_NAME_BYTES_MAX, 1, s->id, err) ||
      imx_json_string_copy(obj, "name", IMX_TEXT_BYTES_MAX, 0, s->name, err) ||
      imx_json_string_copy(obj, "description", IMX_DESCRIPTION_BYTES_MAX, 0,
                           s->description, err) ||
      imx_json_string_copy(obj, "unit", IMX_NAME_BYTES_MAX, 1, s->unit, err) ||
      service_currency(obj, m, s->currency, err) < 0 ||
      imx_json_bool(obj, "divisible", &s->divisible, err) < 0 ||
      imx_json_word(obj, "mode", modes, &s->auction, err) < 0 ||
      imx_json_int(obj, "price_cap", 1, IMX_PRICE_MAX_MINOR, &s->price_cap_minor,
                   err) < 0 ||
      imx_json_int(obj, "levels", 1, IMX_LEVELS_MAX, &levels, err) < 0 ||
      sap_key(obj, "activity_type", IMX_SAP_ACTTYPE_MAX,
              "must be 1 to 6 characters: SAP's activity type (ACTTYPE)",
              s->activity_type, err) ||
      sap_key(obj, "uom", IMX_SAP_UOM_MAX,
              "must be 1 to 3 characters: SAP's internal unit of measure (ACTIVITYUN)",
              s->uom, err) ||
      parse_translations(obj, s, err))
    return -1;
  if ((rc = imx_json_int(obj, "tick", 1, IMX_PRICE_MAX_MINOR, &s->tick_minor, err)))
    return rc < 0 ? -1 : imx_proto_fail(err, "bad_field", "tick", "missing");
  if ((rc = imx_json_int(obj, "lot", 1, IMX_QTY_MAX, &s->lot, err)))
    return rc < 0 ? -1 : imx_proto_fail(err, "bad_field", "lot", "missing");
  s->levels = (uint32_t)levels;
  if (s->name[0] == '\0') memcpy(s->name, s->id, sizeof s->id); /* people read it */
  if (s->price_cap_minor && s->price_cap_minor % s->tick_minor != 0)
    return imx_proto_fail(err, "bad_field", "price_cap",
                          "must be a multiple of the tick");
  /* "cc:<id>" is a cost centre's market-data topic (imx_proto.h) */
  if (strncmp(s->id, IMX_MD_TOPIC_CC, sizeof IMX_MD_TOPIC_CC - 1) == 0)
    return imx_proto_fail(err, "bad_field", "id",
                          "may not begin with cc: (the market-data topics of "
                          "cost centres)");
  return 0;
}

static int parse_roles(const cJSON *obj, unsigned *roles, imx_proto_error *err) {
  static const char *const names[] = {"provider", "receiver", "finance",
                                      "admin", NULL};
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "roles");
  if (arr == NULL) return imx_proto_fail(err, "bad_field", "roles", "missing");
  if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
    return imx_proto_fail(err, "bad_field", "roles",
                          "must be a non-empty list of roles");
  *roles = 0;
  for (const cJSON *r = arr->child; r; r = r->next) {
    int k = -1;
    for (int i = 0; names[i] && cJSON_IsString(r); i++)
      if (strcmp(names[i], r->valuestring) == 0) k = i;
    if (k < 0)
      return imx_proto_fail(err, "bad_field", "roles",
                            "each must be provider, receiver, finance or admin");
    *roles |= 1u << k;
  }
  return 0;
}

static int parse_capacities(const cJSON *obj, loader *L, uint32_t at,
                            imx_market_cc *c, imx_proto_error *err) {
  const cJSON *caps = cJSON_GetObjectItemCaseSensitive(obj, "capacities");
  if (caps == NULL) return 0;
  if (!cJSON_IsObject(caps))
    return imx_proto_fail(err, "bad_field", "capacities", "must be an object");
  if (!(c->roles & IMX_ROLE_PROVIDER))
    return imx_proto_fail(err, "bad_field", "capacities",
                          "only providers have capacities");
  uint32_t n = (uint32_t)cJSON_GetArraySize(caps);
  c->capacities = calloc(n ? n : 1, sizeof *c->capacities);
  if (c->capacities == NULL)
    return imx_proto_fail(err, "internal", "capacities", "out of memory");
  for (const cJSON *it = caps->child; it; it = it->next) {
    int64_t k = imx_market_service_find(L->m, it->string);
    char field[sizeof err->field];
    snprintf(field, sizeof field, "capacities.%s", it->string);
    if (k < 0) return imx_proto_fail(err, "unknown_service", field, "no such service");
    if (L->capacity_seen[k] == at + 1)
      return imx_proto_fail(err, "bad_field", field, "given twice");
    L->capacity_seen[k] = at + 1;
    double d = cJSON_IsNumber(it) ? it->valuedouble : -1;
    if (!(d >= 0 && d <= IMX_CAPACITY_MAX) || d != (double)(int64_t)d)
      return imx_proto_fail(err, "bad_field", field,
                            "must be a whole number of units, 0 to 1e9");
    IMX_ASSERT(c->capacities_n < n);
    c->capacities[c->capacities_n].service = (uint32_t)k;
    c->capacities[c->capacities_n++].qty = (int64_t)d;
  }
  return 0;
}

/* A cost centre's budget, added to the sum of the budgets before it. The
** sum may not pass IMX_BUDGETS_TOTAL_MAX_MINOR (imx_base.h: it bounds every
** sum of a period's money); a file that passes it is refused at the budget
** where it does, and a single budget over the bound (1e18, say) is refused
** the same way rather than as a number beyond 2^53. */
static int add_budget(const cJSON *obj, loader *L, imx_market_cc *c,
                      imx_proto_error *err) {
  static const char over[] =
      "makes the sum of all budgets larger than the limit, 10^15 minor units";
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, "budget");
  if (cJSON_IsNumber(it) && it->valuedouble > (double)IMX_BUDGETS_TOTAL_MAX_MINOR)
    return imx_proto_fail(err, "bad_field", "budget", over);
  if (imx_json_int(obj, "budget", 0, IMX_BUDGETS_TOTAL_MAX_MINOR,
                   &c->budget_minor, err) < 0)
    return -1;
  IMX_ASSERT(L->budgets_minor >= 0 &&
             L->budgets_minor <= IMX_BUDGETS_TOTAL_MAX_MINOR);
  if (c->budget_minor > IMX_BUDGETS_TOTAL_MAX_MINOR - L->budgets_minor)
    return imx_proto_fail(err, "bad_field", "budget", over);
  L->budgets_minor += c->budget_minor;
  return 0;
}

static int parse_cc(const cJSON *obj, loader *L, uint32_t at, imx_market_cc *c,
                    imx_proto_error *err) {
  static const char *const keys[] = {"id", "name", "site", "roles", "budget",
                                     "capacities", "token_hash", "erp_cc", NULL};
  if (!cJSON_IsObject(obj))
    return imx_proto_fail(err, "bad_field", "", "must be an object");
  if (imx_json_check_keys(obj, keys, err) ||
      imx_json_string_copy(obj, "id", IMX_NAME_BYTES_MAX, 1, c->id, err) ||
      imx_json_string_copy(obj, "name", IMX_TEXT_BYTES_MAX, 1, c->name, err) ||
      imx_json_string_copy(obj, "site", IMX_TEXT_BYTES_MAX, 0, c->site, err) ||
      imx_json_string_copy(obj, "token_hash", IMX_TEXT_BYTES_MAX, 0, c->token_hash, err) ||
      parse_roles(obj, &c->roles, err) || add_budget(obj, L, c, err) ||
      sap_key(obj, "erp_cc", IMX_SAP_CC_MAX,
              "must be 1 to 10 characters: SAP's cost centre (SEND_CCTR, REC_CCTR)",
              c->erp_cc, err))
    return -1;
  return parse_capacities(obj, L, at, c, err);
}

static const cJSON *array_of(const cJSON *doc, const char *field, uint32_t max,
                             imx_proto_error *err) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, field);
  if (arr == NULL) {
    imx_proto_fail(err, "bad_field", field, "missing");
  } else if (!cJSON_IsArray(arr) || (uint32_t)cJSON_GetArraySize(arr) > max) {
    imx_proto_fail(err, "bad_field", field, "must be a list (not too long)");
    arr = NULL;
  }
  return arr;
}

static int parse_services(const cJSON *svcs, imx_market *m, imx_proto_error *err) {
  uint32_t n = (uint32_t)cJSON_GetArraySize(svcs);
  IMX_ASSERT(n <= IMX_SERVICES_MAX);
  m->services = calloc((size_t)n + 1, sizeof *m->services);
  if (m->services == NULL || imx_hash_init(&m->services_index_, n) != 0)
    return imx_proto_fail(err, "internal", "services", "out of memory");
  for (const cJSON *it = svcs->child; it; it = it->next) {
    imx_market_service *s = &m->services[m->services_n];
    if (parse_service(it, m, s, err)) return imx_proto_at(err, "services[%u].", m->services_n);
    if (imx_market_service_find(m, s->id) >= 0)
      return imx_proto_fail(err, "bad_field", "id", "given twice"),
             imx_proto_at(err, "services[%u].", m->services_n);
    imx_hash_put(&m->services_index_, imx_hash_str(ID_HASH_SEED, s->id),
                 m->services_n++);
  }
  IMX_ASSERT(m->services_n == n && m->services_index_.n == n);
  return 0;
}

static int parse_ccs(const cJSON *ccs, loader *L, imx_proto_error *err) {
  imx_market *m = L->m;
  uint32_t n = (uint32_t)cJSON_GetArraySize(ccs);
  IMX_ASSERT(n <= IMX_CCS_MAX);
  m->ccs = calloc((size_t)n + 1, sizeof *m->ccs);
  L->capacity_seen = calloc((size_t)m->services_n + 1, sizeof *L->capacity_seen);
  if (m->ccs == NULL || L->capacity_seen == NULL ||
      imx_hash_init(&m->ccs_index_, n) != 0)
    return imx_proto_fail(err, "internal", "cost_centres", "out of memory");
  for (const cJSON *it = ccs->child; it; it = it->next) {
    uint32_t at = m->ccs_n;
    imx_market_cc *c = &m->ccs[at];
    int rc = parse_cc(it, L, at, c, err);
    if (rc == 0 && imx_market_cc_find(m, c->id) >= 0)
      rc = imx_proto_fail(err, "bad_field", "id", "given twice");
    if (rc) {
      /* kept out of the index, but counted so that imx_market_free frees its
      ** capacities: the failed load is freed whole */
      free(c->capacities);
      c->capacities = NULL;
      return imx_proto_at(err, "cost_centres[%u].", at);
    }
    imx_hash_put(&m->ccs_index_, imx_hash_str(ID_HASH_SEED, c->id), at);
    m->ccs_n++;
  }
  IMX_ASSERT(m->ccs_n == n && m->ccs_index_.n == n);
  IMX_ASSERT(L->budgets_minor <= IMX_BUDGETS_TOTAL_MAX_MINOR);
  return 0;
}

static int parse_doc(const cJSON *doc, loader *L, imx_proto_error *err) {
  static const char *const keys[] = {"currency", "decimals", "services",
                                     "cost_centres", "tenders_per_cc_max",
                                     "ratings_min", "rating_window_days", "description", "period",
                                     "first_period", "erp", NULL};
  static const char *const lengths[] = {"month", NULL};
  imx_market *m = L->m;
  if (!cJSON_IsObject(doc))
    return imx_proto_fail(err, "bad_json", "market", "must be a JSON object");
  int rc;
  if (imx_json_check_keys(doc, keys, err)) return -1;
  if ((rc = currency(doc, "currency", m->currency, err)))
    return rc < 0 ? -1 : imx_proto_fail(err, "bad_field", "currency", "missing");
  int64_t decimals = imx_currency_decimals(m->currency);
  if ((rc = imx_json_int(doc, "decimals", 0, IMX_DECIMALS_MAX, &decimals, err)) < 0)
    return -1;
  if (rc == 1 && decimals < 0)
    return imx_proto_fail(err, "bad_field", "currency",
                          "not an ISO 4217 currency: give its \"decimals\" (0 to 4) too");
  m->decimals = (int)decimals;
  int64_t tenders = IMX_TENDERS_PER_CC_DEFAULT;
  if (imx_json_int(doc, "tenders_per_cc_max", 0, IMX_TENDERS_PER_CC_MAX, &tenders,
                   err) < 0)
    return -1;
  m->tenders_per_cc_max = (uint32_t)tenders;
  int64_t ratings_min = IMX_RATINGS_MIN_DEFAULT;
  if (imx_json_int(doc, "ratings_min", 1, IMX_RATINGS_MIN_MAX, &ratings_min, err) < 0)
    return -1;
  m->ratings_min = (uint32_t)ratings_min;
  int64_t window = IMX_RATING_WINDOW_DAYS_DEFAULT;
  if (imx_json_int(doc, "rating_window_days", 1, IMX_RATING_WINDOW_DAYS_MAX, &window,
                   err) < 0)
    return -1;
  m->rating_window_days = (uint32_t)window;
  int length = 0;
  if (imx_json_word(doc, "period", lengths, &length, err) < 0)
    return imx_proto_fail(err, "bad_field", "period", "must be \"month\"");
  const char *first = NULL;
  if ((rc = imx_json_string(doc, "first_period", 7, &first, err)) < 0 ||
      (rc == 0 && (m->first_month = imx_month_parse(first)) < 0))
    return imx_proto_fail(err, "bad_field", "first_period",
                          "must be a month YYYY-MM, 1970-01..9999-12");
  if (parse_erp(doc, &m->erp, err)) return -1;
  const cJSON *svcs = array_of(doc, "services", IMX_SERVICES_MAX, err);
  const cJSON *ccs = svcs ? array_of(doc, "cost_centres", IMX_CCS_MAX, err) : NULL;
  if (ccs == NULL) return -1;
  return parse_services(svcs, m, err) || parse_ccs(ccs, L, err) ? -1 : 0;
}

int imx_market_parse(const char *text, size_t len, imx_market *out,
                     imx_proto_error *err) {
  memset(out, 0, sizeof *out);
  cJSON *doc = imx_json_parse(text, len, err);
  if (doc == NULL) {
    snprintf(err->field, sizeof err->field, "market");
    return -1;
  }
  loader L = {.m = out};
  int rc = parse_doc(doc, &L, err);
  free(L.capacity_seen);
  cJSON_Delete(doc);
  if (rc) imx_market_free(out);
  else imx_sha256_hex(text, len, out->digest);
  return rc;
}

int imx_market_load(const char *path, imx_market *out, imx_proto_error *err) {
  memset(out, 0, sizeof *out);
  char *buf;
  size_t n;
  if (imx_file_read(path, IMX_MARKET_BYTES_MAX, "market", &buf, &n, err) != 0)
    return -1;
  int rc = imx_market_parse(buf, n, out, err);
  free(buf);
  return rc;
}

void imx_market_free(imx_market *m) {
  for (uint32_t i = 0; m->ccs && i < m->ccs_n; i++) free(m->ccs[i].capacities);
  free(m->ccs);
  free(m->services);
  imx_hash_free(&m->services_index_);
  imx_hash_free(&m->ccs_index_);
  memset(m, 0, sizeof *m);
}

/* ------------------------------------------------- sizing the engine */

uint32_t imx_market_capacities_total(const imx_market *m) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < m->ccs_n; i++) {
    IMX_ASSERT(m->ccs[i].capacities_n <= m->services_n);
    n += m->ccs[i].capacities_n;
  }
  return n;
}

uint32_t imx_market_auction_services(const imx_market *m) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < m->services_n; i++) n += m->services[i].auction != 0;
  return n;
}

uint32_t imx_market_ccs_with_role(const imx_market *m, unsigned role) {
  uint32_t n = 0;
  for (uint32_t i = 0; i < m->ccs_n; i++) n += (m->ccs[i].roles & role) != 0;
  return n;
}
