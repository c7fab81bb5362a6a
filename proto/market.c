/*
** market.c -- the market file: which services are traded and who trades.
**
**   {"currency":"EUR",
**    "services":[{"id":"it.helpdesk.hour","unit":"hour","tick":100,"lot":1,
**                 "divisible":true,"mode":"continuous","price_cap":500000}],
**    "cost_centres":[{"id":"CC-4100","name":"IT Service Desk","site":"Berlin",
**                     "roles":["provider"],"budget":0,
**                     "capacities":{"it.helpdesk.hour":400},
**                     "token_hash":"..."}]}
**
** Checked whole before anything uses it: every field typed and in range,
** ids unique, capacities only for known services and only of providers.
** An error names the field by its path, e.g. "services[1].tick".
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imx_json.h"

#define MARKET_BYTES_MAX (64 << 20)
#define SERVICES_MAX 4096
#define CCS_MAX 65536
#define MONEY_MAX 1000000000000000000LL /* 1e18 minor units */
#define QTY_MAX 1000000000LL

static int currency(const cJSON *obj, const char *field, char *dst,
                    imx_proto_error *err) {
  const char *s = NULL;
  int rc = imx_json_string(obj, field, 3, &s, err);
  if (rc) return rc;
  if (strlen(s) != 3 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z' ||
      s[2] < 'A' || s[2] > 'Z')
    return imx_proto_fail(err, "bad_field", field,
                          "must be a 3-letter currency code such as EUR");
  memcpy(dst, s, 4);
  return 0;
}

static int parse_service(const cJSON *obj, const imx_market *m,
                         imx_market_service *s, imx_proto_error *err) {
  static const char *const keys[] = {"id", "unit", "currency", "tick", "lot",
                                     "divisible", "mode", "price_cap", NULL};
  static const char *const modes[] = {"continuous", "auction", NULL};
  if (!cJSON_IsObject(obj))
    return imx_proto_fail(err, "bad_field", "", "must be an object");
  memcpy(s->currency, m->currency, 4);
  s->divisible = 1;
  int rc;
  if (imx_json_check_keys(obj, keys, err) ||
      imx_json_string_copy(obj, "id", IMX_NAME_BYTES_MAX, 1, s->id, err) ||
      imx_json_string_copy(obj, "unit", IMX_NAME_BYTES_MAX, 1, s->unit, err) ||
      currency(obj, "currency", s->currency, err) < 0 ||
      imx_json_bool(obj, "divisible", &s->divisible, err) < 0 ||
      imx_json_word(obj, "mode", modes, &s->auction, err) < 0 ||
      imx_json_int(obj, "price_cap", 1, 1000000000, &s->price_cap_minor, err) < 0)
    return -1;
  if ((rc = imx_json_int(obj, "tick", 1, 1000000000, &s->tick_minor, err)))
    return rc < 0 ? -1 : imx_proto_fail(err, "bad_field", "tick", "missing");
  if ((rc = imx_json_int(obj, "lot", 1, QTY_MAX, &s->lot, err)))
    return rc < 0 ? -1 : imx_proto_fail(err, "bad_field", "lot", "missing");
  if (s->price_cap_minor && s->price_cap_minor % s->tick_minor != 0)
    return imx_proto_fail(err, "bad_field", "price_cap",
                          "must be a multiple of the tick");
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

static int parse_capacities(const cJSON *obj, const imx_market *m,
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
    int64_t k = imx_market_service_find(m, it->string);
    char field[sizeof err->field];
    snprintf(field, sizeof field, "capacities.%s", it->string);
    if (k < 0) return imx_proto_fail(err, "unknown_service", field, "no such service");
    for (uint32_t j = 0; j < c->capacities_n; j++)
      if (c->capacities[j].service == (uint32_t)k)
        return imx_proto_fail(err, "bad_field", field, "given twice");
    double d = cJSON_IsNumber(it) ? it->valuedouble : -1;
    if (!(d >= 0 && d <= QTY_MAX) || d != (double)(int64_t)d)
      return imx_proto_fail(err, "bad_field", field,
                            "must be a whole number of units, 0 to 1e9");
    c->capacities[c->capacities_n].service = (uint32_t)k;
    c->capacities[c->capacities_n++].qty = (int64_t)d;
  }
  return 0;
}

static int parse_cc(const cJSON *obj, const imx_market *m, imx_market_cc *c,
                    imx_proto_error *err) {
  static const char *const keys[] = {"id", "name", "site", "roles", "budget",
                                     "capacities", "token_hash", NULL};
  if (!cJSON_IsObject(obj))
    return imx_proto_fail(err, "bad_field", "", "must be an object");
  if (imx_json_check_keys(obj, keys, err) ||
      imx_json_string_copy(obj, "id", IMX_NAME_BYTES_MAX, 1, c->id, err) ||
      imx_json_string_copy(obj, "name", IMX_TEXT_BYTES_MAX, 1, c->name, err) ||
      imx_json_string_copy(obj, "site", IMX_TEXT_BYTES_MAX, 0, c->site, err) ||
      imx_json_string_copy(obj, "token_hash", IMX_TEXT_BYTES_MAX, 0, c->token_hash, err) ||
      parse_roles(obj, &c->roles, err) ||
      imx_json_int(obj, "budget", 0, MONEY_MAX, &c->budget_minor, err) < 0)
    return -1;
  return parse_capacities(obj, m, c, err);
}

static const cJSON *array_of(const cJSON *doc, const char *field, int max,
                             imx_proto_error *err) {
  const cJSON *arr = cJSON_GetObjectItemCaseSensitive(doc, field);
  if (arr == NULL) {
    imx_proto_fail(err, "bad_field", field, "missing");
  } else if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) > max) {
    imx_proto_fail(err, "bad_field", field, "must be a list (not too long)");
    arr = NULL;
  }
  return arr;
}

static int parse_doc(const cJSON *doc, imx_market *m, imx_proto_error *err) {
  static const char *const keys[] = {"currency", "services", "cost_centres",
                                     "description", NULL};
  if (!cJSON_IsObject(doc))
    return imx_proto_fail(err, "bad_json", "market", "must be a JSON object");
  int rc;
  if (imx_json_check_keys(doc, keys, err)) return -1;
  if ((rc = currency(doc, "currency", m->currency, err)))
    return rc < 0 ? -1 : imx_proto_fail(err, "bad_field", "currency", "missing");
  const cJSON *svcs = array_of(doc, "services", SERVICES_MAX, err);
  const cJSON *ccs = svcs ? array_of(doc, "cost_centres", CCS_MAX, err) : NULL;
  if (ccs == NULL) return -1;
  m->services = calloc((size_t)cJSON_GetArraySize(svcs) + 1, sizeof *m->services);
  m->ccs = calloc((size_t)cJSON_GetArraySize(ccs) + 1, sizeof *m->ccs);
  if (!m->services || !m->ccs)
    return imx_proto_fail(err, "internal", "market", "out of memory");
  for (const cJSON *it = svcs->child; it; it = it->next) {
    imx_market_service *s = &m->services[m->services_n];
    if (parse_service(it, m, s, err)) return imx_proto_at(err, "services[%u].", m->services_n);
    if (imx_market_service_find(m, s->id) >= 0)
      return imx_proto_fail(err, "bad_field", "id", "given twice"),
             imx_proto_at(err, "services[%u].", m->services_n);
    m->services_n++;
  }
  for (const cJSON *it = ccs->child; it; it = it->next) {
    imx_market_cc *c = &m->ccs[m->ccs_n];
    if (parse_cc(it, m, c, err)) {
      m->ccs_n++; /* so that imx_market_free frees its capacities */
      return imx_proto_at(err, "cost_centres[%u].", m->ccs_n - 1);
    }
    if (imx_market_cc_find(m, c->id) >= 0) {
      m->ccs_n++;
      return imx_proto_fail(err, "bad_field", "id", "given twice"),
             imx_proto_at(err, "cost_centres[%u].", m->ccs_n - 1);
    }
    m->ccs_n++;
  }
  return 0;
}

int imx_market_parse(const char *text, size_t len, imx_market *out,
                     imx_proto_error *err) {
  memset(out, 0, sizeof *out);
  cJSON *doc = imx_json_parse(text, len, err);
  if (doc == NULL) {
    snprintf(err->field, sizeof err->field, "market");
    return -1;
  }
  int rc = parse_doc(doc, out, err);
  cJSON_Delete(doc);
  if (rc) imx_market_free(out);
  return rc;
}

int imx_market_load(const char *path, imx_market *out, imx_proto_error *err) {
  memset(out, 0, sizeof *out);
  char *buf;
  size_t n;
  if (imx_file_read(path, MARKET_BYTES_MAX, "market", &buf, &n, err) != 0) return -1;
  int rc = imx_market_parse(buf, n, out, err);
  free(buf);
  return rc;
}

void imx_market_free(imx_market *m) {
  for (uint32_t i = 0; m->ccs && i < m->ccs_n; i++) free(m->ccs[i].capacities);
  free(m->ccs);
  free(m->services);
  memset(m, 0, sizeof *m);
}

int64_t imx_market_service_find(const imx_market *m, const char *id) {
  for (uint32_t i = 0; i < m->services_n; i++)
    if (strcmp(m->services[i].id, id) == 0) return i;
  return -1;
}

int64_t imx_market_cc_find(const imx_market *m, const char *id) {
  for (uint32_t i = 0; i < m->ccs_n; i++)
    if (strcmp(m->ccs[i].id, id) == 0) return i;
  return -1;
}
