/*
** replay.c -- `imx-sim replay` and `imx-sim auction`: JSON-lines commands
** in, engine events out.
**
** The offline driver of the engine: it turns each input line into one
** engine command and prints every event the engine emits as one JSON line,
** with the input line number, so a file of orders can be replayed, diffed
** and reasoned about without a daemon. The input lines are listed in
** README.md ("Input lines").
**
** The engine knows services, cost centres, orders, tenders and quotes by
** number; the names the file uses are interned here. Validation of the JSON
** (shape, types, exact integers, unknown or duplicate keys) happens here
** and yields an `error` event; validation against the market (tick, lot,
** ranges, budgets) is the engine's and yields a `rejected` event.
**
** Without a market file every service is created on first use and there
** are no limits; with `--market FILE` the services and cost centres are the
** file's, and budgets and capacities are enforced.
*/
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "imx_engine.h"
#include "imx_json.h"
#include "imx_setup.h"
#include "imx_sim.h"
#include "sim_int.h"

#define LINE_BYTES_MAX 65536 /* a longer line is an error, not a crash */
#define REPLAY_ORDERS_MAX (1u << 20)
#define REPLAY_SERVICES_MAX 1024u
#define CCS_SPARE 1024u       /* cost centres a market-less file may name */

typedef struct replay {
  imx_engine *engine;
  FILE *out;
  FILE *err;
  long line;
  int auction_default; /* services created on first use are auctions   */
  int quiet;           /* print trades and errors only (imx-sim auction) */
  int trades;          /* with quiet: print the trades                   */
  int market;          /* a market file defined services and cost centres */
  names services, ccs;
  idmap orders, tenders, quotes;
  idmap *pending;      /* the map the next accepted id belongs to        */
  int64_t pending_name;
  int failed;          /* out of memory while recording an id            */
  int64_t last_available; /* of the last rejection                       */
} replay;

typedef imx_proto_error line_error;

/* --------------------------------------------------------------- output */

/* Writes ,"key":"value" with value escaped. */
static void put_kv(FILE *f, const char *key, const char *value) {
  fprintf(f, ",\"%s\":", key);
  sim_json_str(f, value);
}

static void put_head(replay *r, const char *type, const imx_event *ev) {
  fprintf(r->out, "{\"type\":\"%s\",\"line\":%ld", type, r->line);
  put_kv(r->out, "service", r->services.v[ev->service]);
}

static void put_order(replay *r, const imx_event *ev) {
  put_kv(r->out, "id", idmap_name(&r->orders, ev->order_id));
  put_kv(r->out, "cc", r->ccs.v[ev->cc]);
  fprintf(r->out, ",\"side\":\"%s\"", imx_side_name(ev->side));
}

static void put_trade(replay *r, const imx_event *ev) {
  int tender = ev->tender_id != 0;
  fprintf(r->out, "{\"type\":\"trade\",\"line\":%ld,\"trade_id\":%" PRIu64,
          r->line, ev->trade_id);
  put_kv(r->out, "service", r->services.v[ev->service]);
  put_kv(r->out, "buy_id", tender ? idmap_name(&r->tenders, ev->tender_id)
                                  : idmap_name(&r->orders, ev->buy_order_id));
  put_kv(r->out, "sell_id", tender ? idmap_name(&r->quotes, ev->quote_id)
                                   : idmap_name(&r->orders, ev->sell_order_id));
  put_kv(r->out, "buyer", r->ccs.v[ev->buyer_cc]);
  put_kv(r->out, "seller", r->ccs.v[ev->seller_cc]);
  fprintf(r->out, ",\"qty\":%" PRId64 ",\"price\":%" PRId64
                  ",\"aggressor\":\"%s\"}\n",
          ev->qty, ev->price_minor, imx_side_name(ev->aggressor));
}

static void put_price(FILE *f, int64_t price_minor) {
  if (price_minor) fprintf(f, "%" PRId64, price_minor);
  else fputs("null", f);
}

static void put_auction(replay *r, const imx_event *ev) {
  if (r->quiet) fputs("{\"service\":", r->out);
  else fprintf(r->out, "{\"type\":\"auction\",\"line\":%ld,\"service\":", r->line);
  sim_json_str(r->out, r->services.v[ev->service]);
  fputs(",\"price\":", r->out);
  put_price(r->out, ev->price_minor);
  fprintf(r->out, ",\"volume\":%" PRId64 ",\"surplus\":%" PRId64
                  ",\"surplus_side\":\"%s\"}\n",
          ev->qty, ev->surplus, imx_side_name(ev->surplus_side));
}

static void put_tender(replay *r, const char *type, const imx_event *ev) {
  put_head(r, type, ev);
  put_kv(r->out, "tender", idmap_name(&r->tenders, ev->tender_id));
  if (ev->quote_id) put_kv(r->out, "quote", idmap_name(&r->quotes, ev->quote_id));
  put_kv(r->out, "cc", r->ccs.v[ev->cc]);
  fprintf(r->out, ",\"qty\":%" PRId64, ev->qty);
  if (ev->type == IMX_EV_TENDER_OPENED)
    fprintf(r->out, ",\"ceiling\":%" PRId64 ",\"deadline\":%" PRId64 "%s",
            ev->price_minor, ev->deadline_ms,
            ev->decide == IMX_DECIDE_CHOOSE ? ",\"decide\":\"choose\"" : "");
  else if (ev->price_minor)
    fprintf(r->out, ",\"price\":%" PRId64, ev->price_minor);
  if (ev->trade_id) fprintf(r->out, ",\"trade_id\":%" PRIu64, ev->trade_id);
  fputs("}\n", r->out);
}

/* The input field a rejection is about: the protocol's field for the
** reason (proto/errors.c, the table the daemon uses), named as a replay
** line names it. */
static const char *status_field(imx_status s, imx_msg_type type) {
  imx_error_info e;
  imx_error_of(imx_status_name(s), type, &e);
  if (strcmp(e.field, "order") == 0) return "id";
  if (strcmp(e.field, "deadline_ms") == 0) return "deadline";
  if (type == IMX_MSG_AUCTION_RUN && strcmp(e.field, "service") == 0) return "auction";
  if (e.field[0] == '\0') return "line";
  return e.field;
}

/* The protocol request a replay line is, for the name of its price. */
static imx_msg_type line_type(const cJSON *obj) {
  if (cJSON_HasObjectItem(obj, "award")) return IMX_MSG_TENDER_AWARD;
  if (cJSON_HasObjectItem(obj, "withdraw")) return IMX_MSG_QUOTE_WITHDRAW;
  if (cJSON_HasObjectItem(obj, "quote")) return IMX_MSG_TENDER_QUOTE;
  if (cJSON_HasObjectItem(obj, "tender")) return IMX_MSG_TENDER_NEW;
  if (cJSON_HasObjectItem(obj, "auction")) return IMX_MSG_AUCTION_RUN;
  return IMX_MSG_ORDER_NEW;
}

static void put_rejected(replay *r, imx_status s, imx_msg_type type,
                         int64_t available, const char *id) {
  FILE *f = r->quiet ? r->err : r->out;
  fprintf(f, "{\"type\":\"rejected\",\"line\":%ld", r->line);
  put_kv(f, "id", id);
  fprintf(f, ",\"code\":\"%s\",\"field\":\"%s\"", imx_status_name(s),
          status_field(s, type));
  if (s == IMX_E_INSUFFICIENT_BUDGET || s == IMX_E_OVER_CAPACITY)
    fprintf(f, ",\"available\":%" PRId64, available);
  fputs("}\n", f);
}

static void put_error(replay *r, const line_error *le) {
  FILE *f = r->quiet ? r->err : r->out;
  fprintf(f, "{\"type\":\"error\",\"line\":%ld,\"code\":\"%s\"", r->line,
          le->code);
  put_kv(f, "field", le->field);
  put_kv(f, "message", le->message);
  fputs("}\n", f);
}

/* Binds the name of the command being run to the id the engine gave it. */
static void bind_pending(replay *r, uint64_t engine_id) {
  assert(r->pending != NULL);
  if (idmap_bind(r->pending, (uint32_t)r->pending_name, engine_id) != 0)
    r->failed = 1;
}

/* A bid's min_stars (and allow_unrated), as the engine took them: only
** when it has one. */
static void put_stars(replay *r, uint64_t order_id) {
  imx_order_info o;
  if (imx_engine_order_get(r->engine, order_id, &o) != IMX_OK || o.min_stars == 0) return;
  fprintf(r->out, ",\"min_stars\":%d", o.min_stars);
  if (o.allow_unrated) fputs(",\"allow_unrated\":true", r->out);
}

static void put_event(replay *r, const imx_event *ev) {
  switch (ev->type) {
  case IMX_EV_ACCEPTED:
    put_head(r, "accepted", ev);
    put_order(r, ev);
    fprintf(r->out, ",\"qty\":%" PRId64 ",\"price\":", ev->qty);
    put_price(r->out, ev->price_minor);
    fprintf(r->out, ",\"tif\":\"%s\",\"aon\":%s", imx_tif_name(ev->tif),
            ev->aon ? "true" : "false");
    put_stars(r, ev->order_id);
    fputs("}\n", r->out);
    break;
  case IMX_EV_CANCELLED:
    put_head(r, "cancelled", ev);
    put_order(r, ev);
    fprintf(r->out, ",\"qty\":%" PRId64 ",\"reason\":\"%s\"}\n", ev->qty,
            imx_cancel_reason_name(ev->reason));
    break;
  case IMX_EV_EXPIRED:
    put_head(r, "expired", ev);
    put_order(r, ev);
    fprintf(r->out, ",\"qty\":%" PRId64 "}\n", ev->qty);
    break;
  case IMX_EV_MODIFIED:
    put_head(r, "modified", ev);
    put_order(r, ev);
    fprintf(r->out, ",\"qty\":%" PRId64 ",\"price\":", ev->qty);
    put_price(r->out, ev->price_minor);
    fprintf(r->out, ",\"priority\":\"%s\"}\n", ev->priority_kept ? "kept" : "lost");
    break;
  case IMX_EV_TENDER_OPENED: put_tender(r, "tender_opened", ev); break;
  case IMX_EV_QUOTE_ACCEPTED: put_tender(r, "quote_accepted", ev); break;
  case IMX_EV_QUOTE_RELEASED: put_tender(r, "quote_released", ev); break;
  case IMX_EV_TENDER_AWARDED: put_tender(r, "tender_awarded", ev); break;
  case IMX_EV_TENDER_UNFILLED: put_tender(r, "tender_unfilled", ev); break;
  case IMX_EV_TENDER_CANCELLED: put_tender(r, "tender_cancelled", ev); break;
  case IMX_EV_TENDER_LAPSED: put_tender(r, "tender_lapsed", ev); break;
  case IMX_EV_QUOTE_WITHDRAWN: put_tender(r, "quote_withdrawn", ev); break;
  default: break; /* the others are printed by on_event */
  }
}

/* The engine's event callback. */
static void on_event(void *ctx, const imx_event *ev) {
  replay *r = ctx;
  if (ev->type == IMX_EV_REJECTED) r->last_available = ev->available;
  if (ev->type == IMX_EV_ACCEPTED) bind_pending(r, ev->order_id);
  if (ev->type == IMX_EV_TENDER_OPENED) bind_pending(r, ev->tender_id);
  if (ev->type == IMX_EV_QUOTE_ACCEPTED) bind_pending(r, ev->quote_id);
  if (ev->type == IMX_EV_TRADE) {
    if (!r->quiet || r->trades) put_trade(r, ev);
  } else if (ev->type == IMX_EV_AUCTION) {
    put_auction(r, ev);
  } else if (ev->type != IMX_EV_REJECTED && !r->quiet) {
    /* Rejections are printed by the command that caused them, which knows
    ** the name the file used even when the engine does not. */
    put_event(r, ev);
  }
}

/* ------------------------------------------------------- field decoding */


/* A required name. */
static int get_name(const cJSON *obj, const char *field, const char **out,
                    line_error *le) {
  int rc = imx_json_string(obj, field, IMX_NAME_BYTES_MAX, out, le);
  return rc == 1 ? imx_proto_fail(le, "bad_field", field, "missing") : rc;
}

/* A required exact integer; range checks against the market are the
** engine's, so any integer is let through here. */
static int get_int(const cJSON *obj, const char *field, int64_t *out,
                   line_error *le) {
  int rc = imx_json_int(obj, field, INT64_MIN, INT64_MAX, out, le);
  return rc == 1 ? imx_proto_fail(le, "bad_field", field, "missing") : rc;
}

static int64_t intern_or_fail(names *t, const char *s, line_error *le) {
  int64_t k = names_intern(t, s);
  if (k < 0) imx_proto_fail(le, "internal", "line", "out of memory");
  return k;
}

/* Finds the engine's book for a service name, creating it when there is
** no market file. */
static int64_t service_of(replay *r, const char *name, const char *field,
                          line_error *le) {
  int64_t k = names_find(&r->services, name);
  if (k >= 0) return k;
  if (r->market) return imx_proto_fail(le, "unknown_service", field, "not in the market file");
  imx_service_config cfg = {.tick_minor = 1, .lot = 1, .divisible = 1};
  cfg.mode = r->auction_default ? IMX_MODE_AUCTION : IMX_MODE_CONTINUOUS;
  uint32_t id;
  if (imx_engine_service_add(r->engine, &cfg, &id) != IMX_OK)
    return imx_proto_fail(le, "internal", field, "no room for another service");
  k = intern_or_fail(&r->services, name, le);
  assert(k < 0 || (uint32_t)k == id);
  return k;
}

static int64_t cc_of(replay *r, const char *name, line_error *le) {
  int64_t k = names_find(&r->ccs, name);
  if (k >= 0) return k;
  if (r->market) return imx_proto_fail(le, "unknown_cc", "cc", "not in the market file");
  if (r->ccs.n >= REPLAY_ORDERS_MAX)
    return imx_proto_fail(le, "internal", "cc", "too many cost centres");
  return intern_or_fail(&r->ccs, name, le);
}

/* Interns the name of a new order, tender or quote: unique in the file,
** unless the engine rejected the earlier one. */
static int64_t new_name(replay *r, idmap *m, const char *name,
                        const char *field, line_error *le) {
  if (idmap_engine_id(m, name) != 0)
    return imx_proto_fail(le, "duplicate_id", field, "this id was already accepted");
  int64_t k = idmap_intern(m, name);
  if (k < 0) return imx_proto_fail(le, "internal", field, "out of memory");
  r->pending = m;
  r->pending_name = k;
  return k;
}

/* ------------------------------------------------------------- commands */

static int cmd_order(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"id", "cc", "service", "side", "qty",
                                     "price", "tif", "aon", "min_stars",
                                     "allow_unrated", NULL};
  static const char *const sides[] = {"bid", "offer", NULL};
  static const char *const tifs[] = {"gtc", "period", "ioc", "fok", NULL};
  const char *id, *cc, *service;
  int side = 0, tif = IMX_TIF_GTC, aon = 0, allow_unrated = 0;
  int64_t qty = 0, price = IMX_PRICE_MARKET, min_stars = 0;
  int rc;
  if (imx_json_check_keys(obj, keys, le) || get_name(obj, "id", &id, le) ||
      get_name(obj, "cc", &cc, le) || get_name(obj, "service", &service, le))
    return -1;
  if ((rc = imx_json_word(obj, "side", sides, &side, le)))
    return rc < 0 ? -1 : imx_proto_fail(le, "bad_field", "side", "missing");
  if (get_int(obj, "qty", &qty, le) ||
      imx_json_int(obj, "price", INT64_MIN, INT64_MAX, &price, le) < 0 ||
      imx_json_word(obj, "tif", tifs, &tif, le) < 0 ||
      imx_json_bool(obj, "aon", &aon, le) < 0 ||
      imx_json_int(obj, "min_stars", 0, INT32_MAX, &min_stars, le) < 0 ||
      imx_json_bool(obj, "allow_unrated", &allow_unrated, le) < 0)
    return -1;
  int64_t svc = service_of(r, service, "service", le), ccn;
  if (svc < 0 || (ccn = cc_of(r, cc, le)) < 0 ||
      new_name(r, &r->orders, id, "id", le) < 0)
    return -1;
  imx_order_new o = {.service = (uint32_t)svc, .cc = (uint32_t)ccn,
                     .side = (imx_side)side, .tif = (imx_tif)tif,
                     .aon = aon, .qty = qty, .price_minor = price,
                     .min_stars = (int)min_stars, .allow_unrated = allow_unrated};
  imx_status s = imx_engine_order_new(r->engine, &o, NULL);
  return s == IMX_OK ? 0 : -2 - (int)s;
}

static int cmd_cancel(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"cancel", NULL};
  const char *id;
  if (imx_json_check_keys(obj, keys, le) || get_name(obj, "cancel", &id, le))
    return -1;
  imx_status s =
      imx_engine_order_cancel(r->engine, idmap_engine_id(&r->orders, id));
  return s == IMX_OK ? 0 : -2 - (int)s;
}

/* qty and price default to the order's current open qty and price. */
static int cmd_modify(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"modify", "qty", "price", NULL};
  const char *id;
  int64_t qty = 0, price = 0;
  if (imx_json_check_keys(obj, keys, le) || get_name(obj, "modify", &id, le))
    return -1;
  int no_qty = imx_json_int(obj, "qty", INT64_MIN, INT64_MAX, &qty, le);
  if (no_qty < 0) return -1;
  int no_price = imx_json_int(obj, "price", INT64_MIN, INT64_MAX, &price, le);
  if (no_price < 0) return -1;
  if (no_qty && no_price)
    return imx_proto_fail(le, "bad_field", "qty", "modify needs qty or price");
  uint64_t engine_id = idmap_engine_id(&r->orders, id);
  imx_order_info info;
  if (imx_engine_order_get(r->engine, engine_id, &info) == IMX_OK) {
    if (no_qty) qty = info.qty_open;
    if (no_price) price = info.price_minor;
  }
  imx_status s = imx_engine_order_modify(r->engine, engine_id, qty, price);
  return s == IMX_OK ? 0 : -2 - (int)s;
}

static int cmd_end_period(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"end_period", NULL};
  const char *service;
  if (imx_json_check_keys(obj, keys, le) ||
      get_name(obj, "end_period", &service, le))
    return -1;
  int64_t k = names_find(&r->services, service);
  if (k < 0) return imx_proto_fail(le, "unknown_service", "end_period", "no such service");
  imx_status s = imx_engine_period_end(r->engine, (uint32_t)k);
  return s == IMX_OK ? 0 : -2 - (int)s;
}

static int cmd_auction(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"auction", "reference", NULL};
  const char *service;
  int64_t reference = 0;
  if (imx_json_check_keys(obj, keys, le) ||
      get_name(obj, "auction", &service, le) ||
      imx_json_int(obj, "reference", INT64_MIN, INT64_MAX, &reference, le) < 0)
    return -1;
  int64_t k = names_find(&r->services, service);
  if (k < 0) return imx_proto_fail(le, "unknown_service", "auction", "no such service");
  imx_status s = imx_engine_auction_run(r->engine, (uint32_t)k, reference, NULL);
  return s == IMX_OK ? 0 : -2 - (int)s;
}

static int cmd_tender(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"tender", "cc", "service", "qty",
                                     "ceiling", "deadline", "decide", NULL};
  static const char *const decides[] = {"lowest", "choose", NULL};
  const char *id, *cc, *service;
  imx_tender_new t = {0};
  int decide = 0;
  if (imx_json_check_keys(obj, keys, le) || get_name(obj, "tender", &id, le) ||
      get_name(obj, "cc", &cc, le) || get_name(obj, "service", &service, le) ||
      get_int(obj, "qty", &t.qty, le) ||
      get_int(obj, "ceiling", &t.ceiling_minor, le) ||
      get_int(obj, "deadline", &t.deadline_ms, le) ||
      imx_json_word(obj, "decide", decides, &decide, le) < 0)
    return -1;
  t.decide = decide ? IMX_DECIDE_CHOOSE : IMX_DECIDE_LOWEST;
  int64_t svc = service_of(r, service, "service", le), ccn;
  if (svc < 0 || (ccn = cc_of(r, cc, le)) < 0 ||
      new_name(r, &r->tenders, id, "tender", le) < 0)
    return -1;
  t.service = (uint32_t)svc;
  t.cc = (uint32_t)ccn;
  imx_status s = imx_engine_tender_new(r->engine, &t, NULL);
  return s == IMX_OK ? 0 : -2 - (int)s;
}

static int cmd_quote(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"quote", "tender", "cc", "price", NULL};
  const char *id, *tender, *cc;
  int64_t price = 0, ccn;
  if (imx_json_check_keys(obj, keys, le) || get_name(obj, "quote", &id, le) ||
      get_name(obj, "tender", &tender, le) || get_name(obj, "cc", &cc, le) ||
      get_int(obj, "price", &price, le) || (ccn = cc_of(r, cc, le)) < 0 ||
      new_name(r, &r->quotes, id, "quote", le) < 0)
    return -1;
  imx_status s =
      imx_engine_tender_quote(r->engine, idmap_engine_id(&r->tenders, tender),
                              (uint32_t)ccn, price, NULL);
  return s == IMX_OK ? 0 : -2 - (int)s;
}

/* {"award":"t1","quote":"q2"}: a choose tender awarded to that quote. */
static int cmd_award_quote(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"award", "quote", NULL};
  const char *id, *quote;
  if (imx_json_check_keys(obj, keys, le) || get_name(obj, "award", &id, le) ||
      get_name(obj, "quote", &quote, le))
    return -1;
  imx_status s = imx_engine_tender_award_quote(r->engine, idmap_engine_id(&r->tenders, id),
                                               idmap_engine_id(&r->quotes, quote));
  return s == IMX_OK ? 0 : -2 - (int)s;
}

/* {"withdraw":"q1"}: the provider takes its quote back. */
static int cmd_withdraw(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"withdraw", NULL};
  const char *id;
  if (imx_json_check_keys(obj, keys, le) || get_name(obj, "withdraw", &id, le))
    return -1;
  imx_status s = imx_engine_quote_withdraw(r->engine, idmap_engine_id(&r->quotes, id));
  return s == IMX_OK ? 0 : -2 - (int)s;
}

/* {"award":"t1"} (by the rule: the lowest quote), {"award":"t1","quote":
** "q2"} (that quote) and {"cancel_tender":"t1"}. */
static int cmd_tender_end(replay *r, const cJSON *obj, const char *key,
                          line_error *le) {
  const char *const keys[] = {key, NULL};
  const char *id;
  if (strcmp(key, "award") == 0 && cJSON_HasObjectItem(obj, "quote"))
    return cmd_award_quote(r, obj, le);
  if (imx_json_check_keys(obj, keys, le) || get_name(obj, key, &id, le))
    return -1;
  uint64_t t = idmap_engine_id(&r->tenders, id);
  imx_status s = strcmp(key, "award") == 0
                     ? imx_engine_tender_award(r->engine, t)
                     : imx_engine_tender_cancel(r->engine, t);
  return s == IMX_OK ? 0 : -2 - (int)s;
}

/* A provider's all-time ratings of a service, as imxd sets them when a
** rating is accepted: what bids with min_stars compare with. The engine
** says nothing of it; the line is echoed (not with quiet). */
static int cmd_reputation(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"reputation", "service", "ratings", "stars_sum", NULL};
  const char *cc, *service;
  int64_t ratings = 0, stars_sum = 0;
  if (imx_json_check_keys(obj, keys, le) || get_name(obj, "reputation", &cc, le) ||
      get_name(obj, "service", &service, le) ||
      get_int(obj, "ratings", &ratings, le) || get_int(obj, "stars_sum", &stars_sum, le))
    return -1;
  if (ratings < 0 || ratings > UINT32_MAX)
    return imx_proto_fail(le, "bad_field", "ratings", "must be 0 to 4294967295");
  if (stars_sum < ratings * IMX_RATING_STARS_MIN || stars_sum > ratings * IMX_RATING_STARS_MAX)
    return imx_proto_fail(le, "bad_field", "stars_sum",
                          "must be 1 to 5 stars per rating: ratings..5 x ratings");
  int64_t svc = service_of(r, service, "service", le), ccn;
  if (svc < 0 || (ccn = cc_of(r, cc, le)) < 0) return -1;
  imx_status s = imx_engine_reputation_set(r->engine, (uint32_t)ccn, (uint32_t)svc,
                                           (uint32_t)ratings, (uint64_t)stars_sum);
  if (s != IMX_OK) return -2 - (int)s;
  if (!r->quiet) {
    fprintf(r->out, "{\"type\":\"reputation\",\"line\":%ld", r->line);
    put_kv(r->out, "service", service);
    put_kv(r->out, "cc", cc);
    fprintf(r->out, ",\"ratings\":%" PRId64 ",\"stars_sum\":%" PRId64 "}\n", ratings,
            stars_sum);
  }
  return 0;
}

static int cmd_time(replay *r, const cJSON *obj, line_error *le) {
  static const char *const keys[] = {"time", NULL};
  int64_t now = 0;
  /* Present: the line was dispatched here on it. */
  if (imx_json_check_keys(obj, keys, le) ||
      imx_json_int(obj, "time", 0, INT64_MAX, &now, le))
    return -1;
  imx_status s = imx_engine_clock(r->engine, now);
  assert(s == IMX_OK);
  (void)s;
  return 0;
}

/* The name a line gives the thing it acts on, for a rejection. */
static const char *subject(const cJSON *obj) {
  static const char *const keys[] = {"id", "cancel", "modify", "award",
                                     "withdraw", "quote", "tender", "cancel_tender",
                                     "auction", "end_period", "reputation", NULL};
  for (const char *const *k = keys; *k; k++) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(obj, *k);
    if (cJSON_IsString(it)) return it->valuestring;
  }
  return "";
}

/* Runs one line: 0 done, -1 malformed (le set), <= -2 the engine rejected
** it with status -2 - rc (already printed). */
static int run_line(replay *r, const char *buf, size_t len, line_error *le) {
  cJSON *obj = imx_json_parse(buf, len, le);
  if (obj == NULL) {
    snprintf(le->field, sizeof le->field, "line");
    return -1;
  }
  int rc;
  r->pending = NULL;
  if (!cJSON_IsObject(obj)) rc = imx_proto_fail(le, "bad_json", "line", "not a JSON object");
  else if (cJSON_HasObjectItem(obj, "cancel")) rc = cmd_cancel(r, obj, le);
  else if (cJSON_HasObjectItem(obj, "modify")) rc = cmd_modify(r, obj, le);
  else if (cJSON_HasObjectItem(obj, "end_period")) rc = cmd_end_period(r, obj, le);
  else if (cJSON_HasObjectItem(obj, "auction")) rc = cmd_auction(r, obj, le);
  else if (cJSON_HasObjectItem(obj, "award")) rc = cmd_tender_end(r, obj, "award", le);
  else if (cJSON_HasObjectItem(obj, "withdraw")) rc = cmd_withdraw(r, obj, le);
  else if (cJSON_HasObjectItem(obj, "quote")) rc = cmd_quote(r, obj, le);
  else if (cJSON_HasObjectItem(obj, "tender")) rc = cmd_tender(r, obj, le);
  else if (cJSON_HasObjectItem(obj, "cancel_tender"))
    rc = cmd_tender_end(r, obj, "cancel_tender", le);
  else if (cJSON_HasObjectItem(obj, "time")) rc = cmd_time(r, obj, le);
  else if (cJSON_HasObjectItem(obj, "reputation")) rc = cmd_reputation(r, obj, le);
  else rc = cmd_order(r, obj, le);
  if (rc <= -2) {
    imx_status s = (imx_status)(-2 - rc);
    put_rejected(r, s, line_type(obj), r->last_available, subject(obj));
    rc = 0;
  }
  cJSON_Delete(obj);
  return rc;
}

/* ------------------------------------------------------------ the loop */

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

static int blank(const char *s, long n) {
  for (long i = 0; i < n; i++)
    if (s[i] != ' ' && s[i] != '\t') return 0;
  return 1;
}

/* Returns 0 if every line was well formed, 1 if not, 2 on I/O error. */
static int replay_stream(replay *r, FILE *in) {
  static char buf[LINE_BYTES_MAX + 1];
  int bad_lines = 0, too_long;
  long len;
  while ((len = read_line(in, buf, &too_long)) >= 0) {
    r->line++;
    line_error le = {0};
    if (too_long)
      imx_proto_fail(&le, "too_large", "line", "longer than 65536 bytes");
    else if (blank(buf, len))
      continue;
    if (too_long || run_line(r, buf, (size_t)len, &le) != 0) {
      put_error(r, &le);
      bad_lines++;
    }
    if (r->failed) {
      fprintf(r->err, "imx-sim: out of memory at line %ld\n", r->line);
      return 2;
    }
  }
  if (ferror(in)) return 2;
  return bad_lines ? 1 : 0;
}

/* Defines the market file's services and cost centres in the engine, in
** file order, so that engine numbers are file positions. */
static int load_market(replay *r, const char *path) {
  imx_market m;
  imx_proto_error pe = {0};
  if (imx_market_load(path, &m, &pe) != 0) {
    fprintf(r->err, "imx-sim: %s: %s: %s (%s)\n", path, pe.field, pe.message,
            pe.code);
    return -1;
  }
  /* The same set-up as imxd's (gateway/setup/setup.c); the names are
  ** interned in file order, so names and engine numbers agree. */
  int rc = 0;
  const char *what = "";
  imx_status st = imx_setup_market(r->engine, &m, &what);
  if (st != IMX_OK) {
    fprintf(r->err, "imx-sim: %s: the engine refused %s: %s\n", path, what,
            imx_status_name(st));
    rc = -1;
  }
  for (uint32_t i = 0; i < m.services_n && rc == 0; i++)
    if (names_intern(&r->services, m.services[i].id) != (int64_t)i) rc = -1;
  for (uint32_t i = 0; i < m.ccs_n && rc == 0; i++)
    if (names_intern(&r->ccs, m.ccs[i].id) != (int64_t)i) rc = -1;
  if (rc) fprintf(r->err, "imx-sim: %s: the engine refused the market\n", path);
  r->market = 1;
  imx_market_free(&m);
  return rc;
}

/* Opens the engine, and the market when one is given. */
static int replay_open(replay *r, const char *market_path) {
  imx_market m;
  imx_proto_error pe = {0};
  uint32_t ccs = CCS_SPARE;
  if (market_path) {
    /* Sized from the file; it is read again by load_market. */
    if (imx_market_load(market_path, &m, &pe) != 0) {
      fprintf(r->err, "imx-sim: %s: %s: %s (%s)\n", market_path, pe.field,
              pe.message, pe.code);
      return -1;
    }
    ccs = m.ccs_n ? m.ccs_n : 1;
    imx_market_free(&m);
  }
  imx_engine_config cfg = {.orders_max = REPLAY_ORDERS_MAX,
                           .services_max = REPLAY_SERVICES_MAX,
                           .on_event = on_event,
                           .ctx = r,
                           .risk = market_path != NULL,
                           .ccs_max = ccs};
  if (imx_engine_create(&cfg, &r->engine) != IMX_OK) {
    fprintf(r->err, "imx-sim: cannot create the engine\n");
    return -1;
  }
  return market_path ? load_market(r, market_path) : 0;
}

static void replay_close(replay *r) {
  imx_engine_destroy(r->engine);
  names_free(&r->services);
  names_free(&r->ccs);
  idmap_free(&r->orders);
  idmap_free(&r->tenders);
  idmap_free(&r->quotes);
}

static FILE *open_input(const char *path, FILE *err) {
  FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
  if (in == NULL) fprintf(err, "imx-sim: cannot open %s: %s\n", path, strerror(errno));
  return in;
}

/* Runs a file through a fresh engine; with `finish`, then calls it. */
static int run_file(replay *r, const char *path, const char *market_path,
                    void (*finish)(replay *, int64_t), int64_t reference) {
  FILE *in = open_input(path, r->err);
  if (in == NULL) return 2;
  int rc = 2;
  if (replay_open(r, market_path) == 0) {
    rc = replay_stream(r, in);
    if (rc == 2) fprintf(r->err, "imx-sim: error reading %s\n", path);
    else if (finish) finish(r, reference);
  }
  replay_close(r);
  if (in != stdin) fclose(in);
  if (fflush(r->out) != 0) rc = 2;
  return rc;
}

int imx_sim_replay(int argc, char **argv, FILE *out, FILE *err) {
  const char *market = NULL, *path = NULL;
  for (int i = 0; i < argc; i++) {
    if (strcmp(argv[i], "--market") == 0 && i + 1 < argc) market = argv[++i];
    else if (path == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0))
      path = argv[i];
    else path = NULL, i = argc;
  }
  if (path == NULL) {
    fprintf(err, "usage: imx-sim replay [--market FILE] FILE|-\n");
    return 2;
  }
  replay r = {.out = out, .err = err};
  return run_file(&r, path, market, NULL, 0);
}

/* Calls every service of the file, in the order they appeared. */
static void call_all(replay *r, int64_t reference) {
  for (uint32_t s = 0; s < r->services.n; s++)
    imx_engine_auction_run(r->engine, s, reference, NULL);
}

int imx_sim_auction(int argc, char **argv, FILE *out, FILE *err) {
  const char *path = NULL;
  int64_t reference = 0;
  replay r = {.out = out, .err = err, .auction_default = 1, .quiet = 1};
  int usage = 0;
  for (int i = 0; i < argc && !usage; i++) {
    char *end = NULL;
    if (strcmp(argv[i], "--trades") == 0) {
      r.trades = 1;
    } else if (strcmp(argv[i], "--reference") == 0 && i + 1 < argc) {
      reference = strtoll(argv[++i], &end, 10);
      usage = *end != '\0' || reference < 1 || reference > IMX_PRICE_MAX_MINOR;
    } else if (path == NULL && (argv[i][0] != '-' || strcmp(argv[i], "-") == 0)) {
      path = argv[i];
    } else {
      usage = 1;
    }
  }
  if (usage || path == NULL) {
    fprintf(err, "usage: imx-sim auction FILE|- [--reference PRICE] [--trades]\n");
    return 2;
  }
  return run_file(&r, path, NULL, call_all, reference);
}
