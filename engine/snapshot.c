/*
** snapshot.c -- the engine's state as bytes, and back.
**
** A snapshot is what a restart needs instead of every command since the
** market opened: the counters and the clock, the books with their open
** orders in priority order, budgets and capacities, open tenders with
** their quotes. Layout (integers little-endian, fixed width):
**
**   header    magic, version, the configuration and every service's
**             settings (a reader refuses a snapshot of another market)
**   counters  next order, trade, tender and quote ids; the clock
**   risk      declared accounts, positions (risk.c)
**   ratings   providers' reputations per service (reputation.c)
**   books     last clearing prices; open orders (with a bid's min_stars)
**             by service, side, level (worst first) and time (engine.c)
**   tenders   open tenders in the order they opened, how each is decided,
**             with quotes
**             (tender.c)
**   trailer   the end magic
**
** Derived data (levels' totals, id indexes, each cost centre's list of
** orders, auction counts) is not written: the reader rebuilds it, and the
** caller then checks every invariant (imx_engine_check), which recomputes
** each reservation and count from the orders and tenders and compares it
** with the accounts read. The bytes are not an interface: a new version
** of the engine may refuse an old snapshot, and imxd then replays its
** journal as it always could.
*/
#include <string.h>

#include "engine_int.h"

#define SNAP_MAGIC 0x31454E4758534D49ull /* "IMXSGNE1" little-endian */
#define SNAP_END 0x444E455058534D49ull   /* "IMXSPEND"               */
#define SNAP_VERSION 4u /* 2: a tender's decide mode; 3: min_stars, reputations;
                           4: a score tender's weights */

/* ------------------------------------------------------ header, counters */

/* Everything that must be the same in the engine that reads. */
static void config_write(const imx_engine *e, snap_out *o) {
  snap_u32(o, e->orders_max);
  snap_u32(o, e->services_n);
  snap_u32(o, (uint32_t)e->risk);
  snap_u32(o, e->ccs_max);
  snap_u32(o, e->positions_max);
  snap_u32(o, e->tenders_max);
  snap_u32(o, e->orders_per_cc_max);
  snap_u32(o, e->tenders_per_cc_max);
  snap_u32(o, e->ratings_min);
  snap_u32(o, e->reputations_max);
  for (uint32_t s = 0; s < e->services_n; s++) {
    const book *b = &e->books[s];
    snap_i64(o, b->tick_minor);
    snap_i64(o, b->lot);
    snap_i64(o, b->price_cap_minor);
    snap_u32(o, (uint32_t)b->divisible);
    snap_u32(o, (uint32_t)b->mode);
    snap_u32(o, b->side[0].cap);
  }
}

static void counters_write(const imx_engine *e, snap_out *o) {
  snap_u64(o, e->order_id_next);
  snap_u64(o, e->trade_id_next);
  snap_u64(o, e->tender_id_next);
  snap_u64(o, e->quote_id_next);
  snap_i64(o, e->clock_ms);
}

size_t imx_engine_snapshot_write(const imx_engine *e, void *buf, size_t cap) {
  IMX_ASSERT(e != NULL && (buf != NULL || cap == 0));
  snap_out o = {.p = buf, .cap = cap};
  snap_u64(&o, SNAP_MAGIC);
  snap_u32(&o, SNAP_VERSION);
  config_write(e, &o);
  counters_write(e, &o);
  risk_snap_write(e, &o);
  rep_snap_write(e, &o);
  books_snap_write(e, &o);
  tender_snap_write(e, &o);
  snap_u64(&o, SNAP_END);
  return o.len;
}

/* Compares the snapshot's configuration with the engine's own. */
static int config_read(const imx_engine *e, snap_in *in) {
  const uint32_t head[] = {e->orders_max, e->services_n, (uint32_t)e->risk, e->ccs_max,
                           e->positions_max, e->tenders_max, e->orders_per_cc_max,
                           e->tenders_per_cc_max, e->ratings_min, e->reputations_max};
  for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
    if (snap_get_u32(in) != head[i])
      return snap_fail(in, "the snapshot is of another market configuration");
  for (uint32_t s = 0; s < e->services_n; s++) {
    const book *b = &e->books[s];
    if (snap_get_i64(in) != b->tick_minor || snap_get_i64(in) != b->lot ||
        snap_get_i64(in) != b->price_cap_minor ||
        snap_get_u32(in) != (uint32_t)b->divisible ||
        snap_get_u32(in) != (uint32_t)b->mode || snap_get_u32(in) != b->side[0].cap)
      return snap_fail(in, "the snapshot is of another market configuration");
  }
  return in->why ? -1 : 0;
}

static int counters_read(imx_engine *e, snap_in *in) {
  uint64_t next[4];
  for (int i = 0; i < 4; i++) next[i] = snap_get_u64(in);
  int64_t clock = snap_get_i64(in);
  if (in->why) return -1;
  for (int i = 0; i < 4; i++)
    if (next[i] < 1 || next[i] > IMX_ID_MAX + 1)
      return snap_fail(in, "an id counter is out of range");
  e->order_id_next = next[0];
  e->trade_id_next = next[1];
  e->tender_id_next = next[2];
  e->quote_id_next = next[3];
  e->clock_ms = clock;
  return 0;
}

imx_status imx_engine_snapshot_read(imx_engine *e, const void *buf, size_t len,
                                    const char **why) {
  IMX_ASSERT(e != NULL && why != NULL && (buf != NULL || len == 0));
  *why = NULL;
  if (e->orders.n != 0 || e->tender_head != NIL) {
    *why = "the engine already has orders or tenders";
    return IMX_E_BAD_CONFIG;
  }
  snap_in in = {.p = buf, .len = len};
  if (snap_get_u64(&in) != SNAP_MAGIC) snap_fail(&in, "not an engine snapshot");
  if (snap_get_u32(&in) != SNAP_VERSION) snap_fail(&in, "a snapshot of another version");
  if (in.why == NULL) config_read(e, &in);
  if (in.why == NULL) counters_read(e, &in);
  if (in.why == NULL) risk_snap_read(e, &in);
  if (in.why == NULL) rep_snap_read(e, &in);
  if (in.why == NULL) books_snap_read(e, &in);
  if (in.why == NULL) tender_snap_read(e, &in);
  if (in.why == NULL && snap_get_u64(&in) != SNAP_END)
    snap_fail(&in, "the snapshot does not end where it should");
  if (in.why == NULL && in.at != in.len) snap_fail(&in, "bytes after the snapshot's end");
  if (in.why == NULL && imx_engine_check(e) != 0)
    snap_fail(&in, "the snapshot's state breaks an invariant (imx_engine_check)");
  *why = in.why;
  return in.why ? IMX_E_BAD_CONFIG : IMX_OK;
}
