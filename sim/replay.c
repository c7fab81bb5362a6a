/*
** replay.c -- `imx-sim replay`: JSON-lines commands in, engine events out.
**
** The offline driver of the engine: it turns each input line into one
** engine command and prints every event the engine emits as one JSON line,
** with the input line number, so a file of orders can be replayed, diffed
** and reasoned about without a daemon. Input lines (README.md has more):
**
**   {"id":"o1","cc":"CC-1","service":"it.hour","side":"bid","qty":10,
**    "price":9500,"tif":"gtc","aon":false}
**   {"cancel":"o1"}   {"modify":"o1","qty":5,"price":9400}
**   {"end_period":"it.hour"}
**
** The engine knows services, cost centres and orders by number; the names
** the file uses are interned here. Validation of the JSON (shape, types,
** exact integers, unknown or duplicate keys) happens here and yields an
** `error` event; validation of the values against the market (tick, lot,
** ranges) is the engine's and yields a `rejected` event.
*/
#define _POSIX_C_SOURCE 200809L

#include <assert.h>
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imx_engine.h"
#include "imx_sim.h"

#define LINE_BYTES_MAX 65536 /* a longer line is an error, not a crash */
#define NAME_BYTES_MAX 64    /* ids of orders, cost centres, services  */
#define REPLAY_ORDERS_MAX (1u << 20)
#define REPLAY_SERVICES_MAX 1024u

/* ------------------------------------------------------- interned names */

/* Strings to dense numbers 0..n-1, by open addressing. */
typedef struct names {
  char **v;
  uint32_t n, cap;
  uint32_t *slot; /* UINT32_MAX = empty; capacity 2 * cap */
} names;

static uint32_t hash_str(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

static int64_t names_find(const names *t, const char *s) {
  if (t->cap == 0) return -1;
  uint32_t mask = 2 * t->cap - 1;
  for (uint32_t i = hash_str(s) & mask;; i = (i + 1) & mask) {
    if (t->slot[i] == UINT32_MAX) return -1;
    if (strcmp(t->v[t->slot[i]], s) == 0) return t->slot[i];
  }
}

static int names_grow(names *t) {
  uint32_t cap = t->cap ? 2 * t->cap : 64;
  char **v = realloc(t->v, cap * sizeof *v);
  if (v == NULL) return -1;
  t->v = v;
  uint32_t *slot = malloc(2 * (size_t)cap * sizeof *slot);
  if (slot == NULL) return -1;
  memset(slot, 0xff, 2 * (size_t)cap * sizeof *slot);
  for (uint32_t k = 0; k < t->n; k++) {
    uint32_t i = hash_str(v[k]) & (2 * cap - 1);
    while (slot[i] != UINT32_MAX) i = (i + 1) & (2 * cap - 1);
    slot[i] = k;
  }
  free(t->slot);
  t->slot = slot;
  t->cap = cap;
  return 0;
}

/* Returns the number of s, adding it if new; -1 when out of memory. */
static int64_t names_intern(names *t, const char *s) {
  int64_t k = names_find(t, s);
  if (k >= 0) return k;
  if (t->n == t->cap && names_grow(t) != 0) return -1;
  char *copy = strdup(s);
  if (copy == NULL) return -1;
  uint32_t mask = 2 * t->cap - 1, i = hash_str(s) & mask;
  while (t->slot[i] != UINT32_MAX) i = (i + 1) & mask;
  t->slot[i] = t->n;
  t->v[t->n] = copy;
  return t->n++;
}

static void names_free(names *t) {
  for (uint32_t k = 0; k < t->n; k++) free(t->v[k]);
  free(t->v);
  free(t->slot);
}

/* ------------------------------------------------------------ the state */

typedef struct replay {
  imx_engine *engine;
  FILE *out;
  long line;
  names services, ccs, orders;
  uint64_t *order_engine_id;  /* by orders number; 0 = not accepted     */
  uint32_t order_slots_n;     /* capacity of order_engine_id            */
  uint32_t *order_by_engine;  /* engine id -> orders number             */
  uint64_t order_by_engine_n; /* capacity of order_by_engine            */
  int64_t pending_order;      /* orders number of the order being sent  */
  int failed;                 /* out of memory while recording an order */
} replay;

/* A problem with one input line. */
typedef struct line_error {
  const char *code;  /* bad_json, bad_field, duplicate_id, too_large, ... */
  char field[NAME_BYTES_MAX + 1]; /* the field at fault, or "line"; a copy,
                                  ** since the parsed line is freed first */
  const char *message;
} line_error;

/* --------------------------------------------------------------- output */

static void put_str(FILE *f, const char *s) {
  fputc('"', f);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f) fprintf(f, "\\u%04x", *p);
    else fputc(*p, f);
  }
  fputc('"', f);
}

static const char *order_name(const replay *r, uint64_t engine_id) {
  if (engine_id == 0 || engine_id >= r->order_by_engine_n) return "";
  return r->orders.v[r->order_by_engine[engine_id]];
}

static void put_head(replay *r, const char *type, const imx_event *ev) {
  fprintf(r->out, "{\"type\":\"%s\",\"line\":%ld,\"service\":", type,
          r->line);
  put_str(r->out, r->services.v[ev->service]);
}

static void put_order(replay *r, const imx_event *ev) {
  fputs(",\"id\":", r->out);
  put_str(r->out, order_name(r, ev->order_id));
  fputs(",\"cc\":", r->out);
  put_str(r->out, r->ccs.v[ev->cc]);
  fprintf(r->out, ",\"side\":\"%s\"", imx_side_name(ev->side));
}

static void put_trade(replay *r, const imx_event *ev) {
  fprintf(r->out, "{\"type\":\"trade\",\"line\":%ld,\"trade_id\":%llu", r->line,
          (unsigned long long)ev->trade_id);
  fputs(",\"service\":", r->out);
  put_str(r->out, r->services.v[ev->service]);
  fputs(",\"buy_id\":", r->out);
  put_str(r->out, order_name(r, ev->buy_order_id));
  fputs(",\"sell_id\":", r->out);
  put_str(r->out, order_name(r, ev->sell_order_id));
  fputs(",\"buyer\":", r->out);
  put_str(r->out, r->ccs.v[ev->buyer_cc]);
  fputs(",\"seller\":", r->out);
  put_str(r->out, r->ccs.v[ev->seller_cc]);
  fprintf(r->out, ",\"qty\":%lld,\"price\":%lld,\"aggressor\":\"%s\"}\n",
          (long long)ev->qty, (long long)ev->price_minor,
          imx_side_name(ev->aggressor));
}

/* The input field each rejection reason is about. */
static const char *status_field(imx_status s) {
  switch (s) {
  case IMX_E_UNKNOWN_SERVICE: return "service";
  case IMX_E_UNKNOWN_ORDER: return "id";
  case IMX_E_BAD_SIDE: return "side";
  case IMX_E_BAD_TIF: return "tif";
  case IMX_E_BAD_QTY: case IMX_E_BAD_LOT: return "qty";
  case IMX_E_BAD_PRICE: case IMX_E_BAD_TICK: return "price";
  case IMX_E_AON_REQUIRED: return "aon";
  default: return "line";
  }
}

static void put_rejected(replay *r, const imx_event *ev, const char *id) {
  fprintf(r->out, "{\"type\":\"rejected\",\"line\":%ld,\"id\":", r->line);
  put_str(r->out, id);
  fprintf(r->out, ",\"code\":\"%s\",\"field\":\"%s\"}\n",
          imx_status_name(ev->status), status_field(ev->status));
}

/* Records engine id -> order name for the order being accepted. */
static void remember_accepted(replay *r, uint64_t engine_id) {
  if (engine_id >= r->order_by_engine_n) {
    uint64_t n = r->order_by_engine_n ? 2 * r->order_by_engine_n : 1024;
    while (n <= engine_id) n *= 2;
    uint32_t *p = realloc(r->order_by_engine, n * sizeof *p);
    if (p == NULL) { r->failed = 1; return; }
    r->order_by_engine = p;
    r->order_by_engine_n = n;
  }
  r->order_by_engine[engine_id] = (uint32_t)r->pending_order;
  r->order_engine_id[r->pending_order] = engine_id;
}

/* The engine's event callback: one JSON line per event. */
static void on_event(void *ctx, const imx_event *ev) {
  replay *r = ctx;
  switch (ev->type) {
  case IMX_EV_ACCEPTED:
    remember_accepted(r, ev->order_id);
    put_head(r, "accepted", ev);
    put_order(r, ev);
    fprintf(r->out, ",\"qty\":%lld,\"price\":%lld,\"tif\":\"%s\",\"aon\":%s}\n",
            (long long)ev->qty, (long long)ev->price_minor,
            imx_tif_name(ev->tif), ev->aon ? "true" : "false");
    break;
  case IMX_EV_TRADE:
    put_trade(r, ev);
    break;
  case IMX_EV_CANCELLED:
    put_head(r, "cancelled", ev);
    put_order(r, ev);
    fprintf(r->out, ",\"qty\":%lld,\"reason\":\"%s\"}\n", (long long)ev->qty,
            imx_cancel_reason_name(ev->reason));
    break;
  case IMX_EV_EXPIRED:
    put_head(r, "expired", ev);
    put_order(r, ev);
    fprintf(r->out, ",\"qty\":%lld}\n", (long long)ev->qty);
    break;
  case IMX_EV_MODIFIED:
    put_head(r, "modified", ev);
    put_order(r, ev);
    fprintf(r->out, ",\"qty\":%lld,\"price\":%lld,\"priority\":\"%s\"}\n",
            (long long)ev->qty, (long long)ev->price_minor,
            ev->priority_kept ? "kept" : "lost");
    break;
  case IMX_EV_REJECTED:
    /* Rejections are printed by the command that caused them, which knows
    ** the name of the order even when the engine does not. */
    break;
  default:
    break;
  }
}

static void put_error(replay *r, const line_error *le) {
  fprintf(r->out, "{\"type\":\"error\",\"line\":%ld,\"code\":\"%s\",\"field\":",
          r->line, le->code);
  put_str(r->out, le->field);
  fputs(",\"message\":", r->out);
  put_str(r->out, le->message);
  fputs("}\n", r->out);
}

/* ------------------------------------------------------- field decoding */

static int fail(line_error *le, const char *code, const char *field,
                const char *message) {
  le->code = code;
  snprintf(le->field, sizeof le->field, "%s", field);
  le->message = message;
  return -1;
}

/* Rejects keys that are not in allowed[] and keys given twice (cJSON keeps
** both and would silently use the first). */
static int check_keys(const cJSON *obj, const char *const *allowed,
                      line_error *le) {
  for (const cJSON *a = obj->child; a; a = a->next) {
    int known = 0;
    for (const char *const *k = allowed; *k; k++) known |= !strcmp(*k, a->string);
    if (!known) return fail(le, "bad_field", a->string, "unknown field");
    for (const cJSON *b = a->next; b; b = b->next)
      if (!strcmp(a->string, b->string))
        return fail(le, "bad_field", a->string, "field given twice");
  }
  return 0;
}

/* A name: a string of 1..NAME_BYTES_MAX bytes without control characters. */
static int get_name(const cJSON *obj, const char *field, const char **out,
                    line_error *le) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (it == NULL) return fail(le, "bad_field", field, "missing");
  if (!cJSON_IsString(it)) return fail(le, "bad_field", field, "must be a string");
  size_t n = strlen(it->valuestring);
  if (n == 0 || n > NAME_BYTES_MAX)
    return fail(le, "bad_field", field, "must be 1 to 64 bytes long");
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)it->valuestring[i];
    if (c < 0x20 || c == 0x7f)
      return fail(le, "bad_field", field, "must not contain control characters");
  }
  *out = it->valuestring;
  return 0;
}

/* An exact integer. cJSON stores numbers as doubles: only those that are
** whole and within +-2^53 are exactly the integer the text wrote; range
** checks against the market are the engine's. Returns 1 if absent. */
static int get_int(const cJSON *obj, const char *field, int64_t *out,
                   line_error *le) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (it == NULL) return 1;
  if (!cJSON_IsNumber(it)) return fail(le, "bad_field", field, "must be a number");
  double d = it->valuedouble;
  if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) ||
      d != (double)(int64_t)d)
    return fail(le, "bad_field", field, "must be a whole number within 2^53");
  *out = (int64_t)d;
  return 0;
}

/* A string that must be one of words[]; writes its position. Returns 1 if
** absent. */
static int get_word(const cJSON *obj, const char *field,
                    const char *const *words, int *out, line_error *le) {
  const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, field);
  if (it == NULL) return 1;
  if (cJSON_IsString(it))
    for (int i = 0; words[i]; i++)
      if (!strcmp(words[i], it->valuestring)) { *out = i; return 0; }
  return fail(le, "bad_field", field, "has an unknown value");
}

/* ------------------------------------------------------------- commands */

static int64_t intern_or_fail(names *t, const char *s, line_error *le) {
  int64_t k = names_intern(t, s);
  if (k < 0) fail(le, "internal", "line", "out of memory");
  return k;
}

/* Finds or creates the engine's book for a service name. */
static int64_t service_of(replay *r, const char *name, line_error *le) {
  int64_t k = names_find(&r->services, name);
  if (k >= 0) return k;
  imx_service_config cfg = {.tick_minor = 1, .lot = 1, .divisible = 1};
  uint32_t id;
  if (imx_engine_service_add(r->engine, &cfg, &id) != IMX_OK)
    return fail(le, "internal", "service", "no room for another service");
  k = intern_or_fail(&r->services, name, le);
  assert(k < 0 || (uint32_t)k == id);
  return k;
}

/* Keeps order_engine_id as long as the table of order names. */
static int order_slots_fit(replay *r) {
  if (r->orders.n <= r->order_slots_n) return 0;
  uint32_t n = r->orders.cap;
  uint64_t *p = realloc(r->order_engine_id, n * sizeof *p);
  if (p == NULL) return -1;
  memset(p + r->order_slots_n, 0, (n - r->order_slots_n) * sizeof *p);
  r->order_engine_id = p;
  r->order_slots_n = n;
  return 0;
}

static int cmd_order(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"id", "cc", "service", "side", "qty",
                                     "price", "tif", "aon", NULL};
  static const char *const sides[] = {"bid", "offer", NULL};
  static const char *const tifs[] = {"gtc", "period", "ioc", "fok", NULL};
  const char *id, *cc, *service;
  int side = 0, tif = IMX_TIF_GTC;
  int64_t qty = 0, price = 0;
  if (check_keys(obj, keys, le) || get_name(obj, "id", &id, le) ||
      get_name(obj, "cc", &cc, le) || get_name(obj, "service", &service, le))
    return -1;
  int rc = get_word(obj, "side", sides, &side, le);
  if (rc) return rc < 0 ? -1 : fail(le, "bad_field", "side", "missing");
  if ((rc = get_int(obj, "qty", &qty, le)))
    return rc < 0 ? -1 : fail(le, "bad_field", "qty", "missing");
  if ((rc = get_int(obj, "price", &price, le)))
    return rc < 0 ? -1 : fail(le, "bad_field", "price", "missing");
  if (get_word(obj, "tif", tifs, &tif, le) < 0) return -1;
  const cJSON *aon = cJSON_GetObjectItemCaseSensitive(obj, "aon");
  if (aon && !cJSON_IsBool(aon))
    return fail(le, "bad_field", "aon", "must be true or false");
  int64_t k = names_find(&r->orders, id);
  if (k >= 0 && r->order_engine_id[k] != 0)
    return fail(le, "duplicate_id", "id", "an order with this id was already accepted");
  int64_t svc = service_of(r, service, le), ccn = intern_or_fail(&r->ccs, cc, le);
  if (svc < 0 || ccn < 0 || (k = intern_or_fail(&r->orders, id, le)) < 0)
    return -1;
  if (order_slots_fit(r) != 0)
    return fail(le, "internal", "line", "out of memory");
  imx_order_new o = {.service = (uint32_t)svc, .cc = (uint32_t)ccn,
                     .side = (imx_side)side, .tif = (imx_tif)tif,
                     .aon = aon && cJSON_IsTrue(aon), .qty = qty,
                     .price_minor = price};
  r->pending_order = k;
  imx_status s = imx_engine_order_new(r->engine, &o, NULL);
  if (s != IMX_OK) {
    imx_event ev = {.type = IMX_EV_REJECTED, .status = s};
    put_rejected(r, &ev, id);
  }
  return 0;
}

static uint64_t engine_id_of(const replay *r, const char *name) {
  int64_t k = names_find(&r->orders, name);
  return k < 0 ? 0 : r->order_engine_id[k];
}

static int cmd_cancel(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"cancel", NULL};
  const char *id;
  if (check_keys(obj, keys, le) || get_name(obj, "cancel", &id, le)) return -1;
  imx_status s = imx_engine_order_cancel(r->engine, engine_id_of(r, id));
  if (s != IMX_OK) {
    imx_event ev = {.type = IMX_EV_REJECTED, .status = s};
    put_rejected(r, &ev, id);
  }
  return 0;
}

/* qty and price default to the order's current open qty and price. */
static int cmd_modify(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"modify", "qty", "price", NULL};
  const char *id;
  int64_t qty = 0, price = 0;
  if (check_keys(obj, keys, le) || get_name(obj, "modify", &id, le)) return -1;
  int no_qty = get_int(obj, "qty", &qty, le);
  if (no_qty < 0) return -1;
  int no_price = get_int(obj, "price", &price, le);
  if (no_price < 0) return -1;
  if (no_qty && no_price)
    return fail(le, "bad_field", "qty", "modify needs qty or price");
  uint64_t engine_id = engine_id_of(r, id);
  imx_order_info info;
  if (imx_engine_order_get(r->engine, engine_id, &info) == IMX_OK) {
    if (no_qty) qty = info.qty_open;
    if (no_price) price = info.price_minor;
  }
  imx_status s = imx_engine_order_modify(r->engine, engine_id, qty, price);
  if (s != IMX_OK) {
    imx_event ev = {.type = IMX_EV_REJECTED, .status = s};
    put_rejected(r, &ev, id);
  }
  return 0;
}

static int cmd_end_period(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"end_period", NULL};
  const char *service;
  if (check_keys(obj, keys, le) || get_name(obj, "end_period", &service, le))
    return -1;
  int64_t k = names_find(&r->services, service);
  if (k < 0) return fail(le, "unknown_service", "end_period", "no order has named this service");
  imx_status s = imx_engine_period_end(r->engine, (uint32_t)k);
  assert(s == IMX_OK);
  (void)s;
  return 0;
}

static int run_line(replay *r, char *buf, size_t len, line_error *le) {
  if (strlen(buf) != len) return fail(le, "bad_json", "line", "contains a NUL byte");
  const char *end = NULL;
  cJSON *obj = cJSON_ParseWithOpts(buf, &end, 1);
  if (obj == NULL) return fail(le, "bad_json", "line", "not valid JSON");
  int rc;
  if (!cJSON_IsObject(obj)) rc = fail(le, "bad_json", "line", "not a JSON object");
  else if (cJSON_HasObjectItem(obj, "cancel")) rc = cmd_cancel(r, obj, le);
  else if (cJSON_HasObjectItem(obj, "modify")) rc = cmd_modify(r, obj, le);
  else if (cJSON_HasObjectItem(obj, "end_period")) rc = cmd_end_period(r, obj, le);
  else rc = cmd_order(r, obj, le);
  cJSON_Delete(obj);
  return rc;
}

/* Reads one line of at most LINE_BYTES_MAX bytes; a longer one is consumed
** whole and reported. Returns the length, or -1 at the end of the input. */
static long read_line(FILE *in, char *buf, int *too_long) {
  long n = 0;
  int c;
  *too_long = 0;
  while ((c = getc(in)) != EOF && c != '\n') {
    if (n < LINE_BYTES_MAX) buf[n++] = (char)c;
    else *too_long = 1;
  }
  if (c == EOF && n == 0 && !*too_long) return -1;
  if (n > 0 && buf[n - 1] == '\r') n--;
  buf[n] = '\0';
  return n;
}

static int blank(const char *s) {
  for (; *s; s++)
    if (*s != ' ' && *s != '\t') return 0;
  return 1;
}

static int replay_stream(replay *r, FILE *in) {
  static char buf[LINE_BYTES_MAX + 1];
  int bad_lines = 0, too_long;
  long len;
  while ((len = read_line(in, buf, &too_long)) >= 0) {
    r->line++;
    line_error le = {0};
    if (too_long)
      fail(&le, "too_large", "line", "longer than 65536 bytes");
    else if (blank(buf))
      continue;
    if (too_long || run_line(r, buf, (size_t)len, &le) != 0) {
      put_error(r, &le);
      bad_lines++;
    }
    if (r->failed) {
      fprintf(stderr, "imx-sim: out of memory at line %ld\n", r->line);
      return 2;
    }
  }
  if (ferror(in)) return 2;
  return bad_lines ? 1 : 0;
}

int imx_sim_replay(int argc, char **argv, FILE *out, FILE *err) {
  if (argc != 1) {
    fprintf(err, "usage: imx-sim replay FILE|-\n");
    return 2;
  }
  FILE *in = strcmp(argv[0], "-") == 0 ? stdin : fopen(argv[0], "r");
  if (in == NULL) {
    fprintf(err, "imx-sim: cannot open %s\n", argv[0]);
    return 2;
  }
  replay r = {.out = out};
  imx_engine_config cfg = {.orders_max = REPLAY_ORDERS_MAX,
                           .services_max = REPLAY_SERVICES_MAX,
                           .on_event = on_event,
                           .ctx = &r};
  int rc = 2;
  if (imx_engine_create(&cfg, &r.engine) == IMX_OK) {
    rc = replay_stream(&r, in);
    if (rc == 2) fprintf(err, "imx-sim: error reading %s\n", argv[0]);
  } else {
    fprintf(err, "imx-sim: cannot create the engine\n");
  }
  imx_engine_destroy(r.engine);
  names_free(&r.services);
  names_free(&r.ccs);
  names_free(&r.orders);
  free(r.order_engine_id);
  free(r.order_by_engine);
  if (in != stdin) fclose(in);
  if (fflush(out) != 0) rc = 2;
  return rc;
}
