/*
** market.c -- the market run: the scenario's demand and costs traded by
** agents on a sim_venue (the engine in-process, or imxd with --connect),
** period by period, into r->market.
**
** A period. The schedules in force (sim_schedule_period) are opened on the
** venue (budgets, capacities), then each service in turn has one session:
**   auction     every row with units places its whole schedule, in a random
**               order of rows, and the service's call clears them at one
**               price;
**   continuous  `rounds` rounds; in each, every row with units left shouts
**               once in a fresh random order (truthful agents place their
**               whole schedule in the first round and stop).
** A session ends by cancelling its orders still open, so that what they
** reserved of a cost centre's budget is free for the next service's session
** (a cost centre's budget is shared by its receiver rows). Then the period
** is closed and its cells settled (metrics.c).
**
** Rows and units. A row's next unit is the one after those it traded this
** period: a receiver that bought k units bids for unit k of its values
** (highest first), a provider that sold k offers unit k of its costs
** (cheapest first). Bids are rounded down to the service's tick and capped
** at price_max; offers rounded up, at least one tick, never above
** price_max; a bid below one tick or an offer above price_max is not placed.
**
** Fills. The venue reports every fill synchronously (on_fill); a fill is
** booked to the buyer's receiver row and the seller's provider row, found by
** (cost centre, service, side) in a hash index built once (so a scenario may
** have one provider and one receiver row per cost centre and service); a
** fill in the service in session, as every fill is in-process, is looked up
** in the session's own table by cost centre and side instead. Each
** order a row placed this session has a slot (id, open qty) in slots[],
** parallel to the schedule entries: a row never has more orders open than
** units. The slots that may still be open are [cursor, top); a fill is
** looked for at the cursor, then from the top down: a continuous row places
** best first and fills in that order, an auction places worst first (see
** place_collected) and fills from the top, so the search is one step.
**
** Agents (opts->agents), all drawing from one sim_rng seeded with
** opts->seed, so a run repeats byte for byte:
**   truthful  bids its values, offers its costs: one order per run of equal
**             prices, the whole remaining schedule at once;
**   zi-c      Gode and Sunder (1993), zero-intelligence constrained: a bid
**             uniform on the ticks of [tick, value], an offer on those of
**             [max(cost, tick), price_max]: never a loss;
**   zi-u      unconstrained: bids and offers uniform in [tick, price_max];
**   zip       Cliff (1997), "Minimal-intelligence agents for bargaining
**             behaviours in market-based environments", HP Labs HPL-97-91:
**             see the ZIP section below for the rule and our
**             simplifications.
** Random agents in continuous mode keep one order open, for the next chunk
** of their schedule (1/rounds of it, at least one unit, priced on its
** marginal unit): a shout cancels the row's previous order, then places the
** new one. In auction
** mode every agent places its whole schedule before the call, each unit at
** its own price (zi-c, zi-u, zip), consecutive equal prices as one order.
**
** Quality (a scenario with quality only): every fill is a delivery with
** its stars drawn from the seller's quality (deliver), adjusting what the
** units are worth to the buyer, who rates it; the ratings go to the venue
** when the period closes (in-process: each provider's totals; --connect:
** each rating with rating.new, as the buyer), and receivers bid with their
** min_stars (allow_unrated). README, "Quality in the simulator".
**
** Memory and time: everything is allocated at the start of the run; the hot
** path (a shout, a fill) allocates nothing and is O(1) apart from the
** engine. An auction session sorts its orders (radix, linear) so that the
** engine's sorted level arrays only ever grow and shrink at their end.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

#define PPM 1000000LL            /* margins and rates in millionths    */
#define ZIP_MARGIN_SELLER_MAX (10 * PPM) /* an offer at most 11 x cost */
#define ROUNDS_DEFAULT 30u
#define ROUNDS_MAX 100000u
#define NO_ROW UINT32_MAX
#define NO_SVC UINT32_MAX

/* An order a row placed this session. */
typedef struct slot {
  uint64_t id;
  int64_t open; /* units still open as far as the run knows */
} slot;

/* A row as the run sees it: the fields of its sim_row that a shout or a
** fill reads, copied once (rows_init), and what it did in the current
** period and session. A shout visits rows in a random order, so each row's
** turn is a cache miss: one line (64 bytes, aligned) instead of this and
** the 104-byte sim_row. */
typedef struct mrow {
  uint32_t cc, service, off, n; /* as in the sim_row                */
  sim_side side;
  int min_stars;
  uint32_t chunk;  /* continuous, random agents: units a shout offers
                   ** (1/rounds of the schedule, at least one)    */
  uint32_t misses; /* continuous: its shouts in a row that found no
                   ** trade, this period (reset by any fill)      */
  int64_t done;    /* units traded this period                    */
  int64_t offered; /* units of accepted orders this session       */
  uint32_t placed; /* slots used this session                     */
  uint32_t cursor; /* slots [cursor, top) may still be open        */
  uint32_t top;
} mrow;
_Static_assert(sizeof(mrow) == 64, "an mrow is one cache line");

/* An order of an auction session, collected before any is placed. */
typedef struct porder {
  int64_t price_minor;
  uint32_t row;
  uint32_t qty;
  uint32_t seq;    /* collection order: rows shuffled, best first  */
  uint32_t bid;
  uint32_t slot;   /* once placed: its slot in m->slots; NO_SLOT if
                   ** not placed or rejected                        */
  uint32_t rank;   /* sort_collected's key                         */
} porder;

#define NO_SLOT UINT32_MAX
/* How far ahead a loop over rows in no order in memory asks for the next
** row's line: far enough to cover a miss, while the lines asked for stay
** a handful. */
#define PREFETCH_AHEAD 8u

/* ZIP state, in integers: margins and rates in millionths, prices and
** momentum in thousandths of a minor unit ("milli"). Each schedule entry
** (unit) learns its own margin, a row its rates. */
typedef struct zip_unit {
  int64_t margin_ppm;  /* seller: price = limit x (1 + m); buyer: x (1 - m) */
  int64_t momentum_milli;
} zip_unit;

typedef struct zip_state {
  int64_t beta_ppm;    /* Widrow-Hoff learning rate, 0.1 .. 0.5        */
  int64_t gamma_ppm;   /* momentum, 0 .. 0.1                           */
  uint64_t seen;       /* the service's last shout it learned from     */
} zip_state;

/* A shout of a continuous service, for ZIP: a ring of the last
** ZIP_MEMORY shouts per service. */
#define ZIP_MEMORY 8u
typedef struct shout {
  int64_t q_minor;     /* its price                                   */
  int traded;
  imx_side side;
} shout;

typedef struct market {
  const sim_scenario *sc;
  sim_agents agents;
  uint32_t rounds;
  uint32_t patience;     /* continuous: misses before an agent leaves */
  sim_run *run;
  sim_venue *venue;
  sim_rng rng;
  uint32_t period;       /* 1-based, the one being run              */
  int64_t *eff;          /* [units_n] the period's schedules        */
  int64_t *scratch;      /* [2 * units_n] for metrics.c             */
  slot *slots;           /* [units_n] parallel to the schedules     */
  mrow *rows;            /* [rows_n]                                */
  zip_state *zip;        /* [rows_n] with zip agents, else NULL     */
  zip_unit *zip_units;   /* [units_n] with zip agents, else NULL    */
  sim_groups by_svc;     /* rows grouped by service                  */
  uint32_t *order;       /* [rows of the largest service] shuffled   */
  porder *porders;       /* [units of the largest service]          */
  porder *porders_tmp;   /* as many, for sorting                    */
  uint32_t *index;       /* (cc, service, side) -> row; NO_ROW empty */
  uint32_t index_mask;
  uint32_t session_svc;  /* the service in session; NO_SVC between     */
  uint32_t *session_rows; /* [2 * ccs_n] its rows: cc * 2 + side -> row,
                         ** NO_ROW; the index without hashing or probing */
  int64_t *last_price;   /* [services_n] last clearing price, or 0   */
  shout *shouts;         /* [services_n * ZIP_MEMORY] rings         */
  uint64_t *shout_seq;   /* [services_n] shouts so far              */
  uint32_t placing_row;  /* the row whose order is being placed      */
  int64_t placing_filled; /* what it traded at once so far        */
  sim_rng qrng;          /* quality on: the draws of deliveries      */
  uint32_t *rep_n;       /* quality on: [providers_n] ratings         */
  uint64_t *rep_sum;     /* quality on: [providers_n] their stars     */
  int failed;            /* a fill the run could not book            */
  char err[256];
} market;

/* ----------------------------------------------------------- row index */

static uint32_t index_home(const market *m, uint32_t cc, uint32_t service,
                           sim_side side) {
  uint64_t key = (((uint64_t)cc << 32) | service) * 2 + (uint64_t)side;
  return (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & m->index_mask;
}

static uint32_t row_find(const market *m, uint32_t cc, uint32_t service,
                         sim_side side) {
  for (uint32_t i = index_home(m, cc, service, side);; i = (i + 1) & m->index_mask) {
    uint32_t r = m->index[i];
    if (r == NO_ROW) return NO_ROW;
    const sim_row *w = &m->sc->rows[r];
    if (w->cc == cc && w->service == service && w->side == side) return r;
  }
}

/* "providers[2]" or "receivers[0]": how the scenario file names a row. */
static void row_name(const sim_scenario *sc, uint32_t r, char *buf, size_t cap) {
  if (r < sc->providers_n) snprintf(buf, cap, "providers[%u]", r);
  else snprintf(buf, cap, "receivers[%u]", r - sc->providers_n);
}

static int index_build(market *m, char *errbuf, size_t errcap) {
  const sim_scenario *sc = m->sc;
  uint32_t size = 2;
  while (size < 2 * sc->rows_n) size *= 2;
  m->index = malloc((size_t)size * sizeof *m->index);
  if (m->index == NULL) return -1;
  memset(m->index, 0xff, (size_t)size * sizeof *m->index);
  m->index_mask = size - 1;
  for (uint32_t r = 0; r < sc->rows_n; r++) {
    const sim_row *w = &sc->rows[r];
    uint32_t other = row_find(m, w->cc, w->service, w->side);
    if (other != NO_ROW) {
      char a[32], b[32];
      row_name(sc, other, a, sizeof a);
      row_name(sc, r, b, sizeof b);
      snprintf(errbuf, errcap, "%s: the same cost centre and service as %s "
               "(one row per cost centre, service and side)", b, a);
      return 1;
    }
    uint32_t i = index_home(m, w->cc, w->service, w->side);
    while (m->index[i] != NO_ROW) i = (i + 1) & m->index_mask;
    m->index[i] = r;
  }
  return 0;
}

/* ------------------------------------------------------------- prices */

static int64_t tick_of(const market *m, uint32_t row) {
  return m->sc->services[m->rows[row].service].tick_minor;
}

static int64_t price_max_of(const market *m, uint32_t row) {
  return m->sc->services[m->rows[row].service].price_max_minor;
}

/* x / tick and x % tick, with no division for the usual tick of one minor
** unit: they run for every price an agent makes, where a 64-bit division
** costs more than the rest of the price. */
static int64_t per_tick(int64_t x, int64_t tick) { return tick == 1 ? x : x / tick; }
static int64_t off_tick(int64_t x, int64_t tick) { return tick == 1 ? 0 : x % tick; }

/* A bid: down to the tick, at most price_max; 0 when below one tick. */
static int64_t bid_price(const market *m, uint32_t row, int64_t p) {
  int64_t tick = tick_of(m, row), max = price_max_of(m, row);
  if (p > max) p = max;
  if (p < tick) return 0;
  return p - off_tick(p, tick);
}

/* An offer: up to the tick, at least one tick; 0 when above price_max. */
static int64_t offer_price(const market *m, uint32_t row, int64_t p) {
  int64_t tick = tick_of(m, row), max = price_max_of(m, row);
  if (p < tick) p = tick;
  if (p > max) return 0;
  p += off_tick(tick - off_tick(p, tick), tick);
  return p <= max ? p : 0;
}

static int64_t limit_of(const market *m, uint32_t row, int64_t k) {
  const mrow *w = &m->rows[row];
  assert(k >= 0 && k < (int64_t)w->n);
  return m->eff[w->off + k];
}

/* A zero-intelligence price for unit k: constrained (zi-c) or not. */
static int64_t zi_price(market *m, uint32_t row, int64_t k, int constrained) {
  int64_t tick = tick_of(m, row), top = per_tick(price_max_of(m, row), tick);
  int64_t limit = limit_of(m, row, k);
  if (top < 1) return 0;
  if (m->rows[row].side == SIM_RECEIVER) {
    int64_t hi = constrained ? (limit < top * tick ? per_tick(limit, tick) : top) : top;
    return hi < 1 ? 0 : tick * sim_rng_range(&m->rng, 1, hi);
  }
  int64_t lo = 1;
  if (constrained && limit > tick) lo = per_tick(limit + tick - 1, tick);
  return lo > top ? 0 : tick * sim_rng_range(&m->rng, lo, top);
}

/* ------------------------------------------------------------------ ZIP
**
** Cliff (1997), HPL-97-91. Each unit of a row's schedule keeps a profit
** margin m: a seller asks limit x (1 + m), a buyer bids limit x (1 - m),
** where the limit is the unit's cost or value (a seller's at least one tick,
** so that a free unit still has a price a margin can scale). Cliff's
** traders have one limit price each; a row with several units is several
** such traders that come to the market one after the other (one margin for
** all of them would let an extra-marginal unit, lowering its margin to 0 in
** vain, drag the row's intra-marginal units down with it). After a shout at price
** q, a row moves its price p toward a target tau = R x q + A, R and A
** drawn afresh each time (to raise the price: R in [1, 1.05], A in
** [0, 1 tick]; to lower it: R in [0.95, 1], A in [-1 tick, 0]), by
** Widrow-Hoff with momentum:
**     Gamma <- gamma x Gamma + (1 - gamma) x beta x (tau - p),
**     m     <- (p + Gamma) / limit - 1     (seller; 1 - ... for a buyer),
** with beta in [0.1, 0.5], gamma in [0, 0.1] drawn per row at the start and
** initial margins in [0.05, 0.35] per unit. Cliff's rules on the last shout:
**   seller: it traded at q: raise the margin if p <= q, else lower it if
**           the shout was a bid; it did not trade: lower it if the shout
**           was an offer and p >= q;
**   buyer:  symmetric (traded: raise if p >= q, else lower if an offer;
**           untraded bid: lower if p <= q).
** A margin never goes below 0 (ZIP is constrained: never a loss).
**
** Our simplifications: (1) in Cliff's market every trader reacts to every
** shout at once; here a row catches up when its own turn comes, on the
** shouts of its service since its last turn, at most the last ZIP_MEMORY
** (8), oldest first: a shout costs O(8) instead of O(rows). (Reacting to
** the last shout only gave 95 % efficiency on the test market, 8 shouts
** 97 %, every shout 98 %.) (2) q is the shout's own price, whether it
** traded or not (a trade is at the resting order's price, which may be
** better), and p is compared as shouted, on the tick. (3) A is absolute,
** up to one tick. (4) In auction mode, with one call a period, a row
** adapts once a period on the clearing price (zip_after_call).
*/

static int64_t zip_limit(const market *m, uint32_t row, int64_t k) {
  int64_t limit = limit_of(m, row, k), tick = tick_of(m, row);
  int64_t max = price_max_of(m, row);
  if (m->rows[row].side == SIM_PROVIDER) return limit < tick ? tick : limit;
  return limit > max ? max : limit;
}

/* The row's price for unit k, in milli minor units. */
static int64_t zip_price_milli(const market *m, uint32_t row, int64_t k) {
  const zip_unit *z = &m->zip_units[m->rows[row].off + k];
  int64_t limit = zip_limit(m, row, k);
  int seller = m->rows[row].side == SIM_PROVIDER;
  return limit * (seller ? PPM + z->margin_ppm : PPM - z->margin_ppm) / 1000;
}

/* Moves the price of row's unit k toward tau (milli minor units) by
** Widrow-Hoff with momentum, and sets the margin that gives the new price. */
static void zip_move(market *m, uint32_t row, int64_t k, int64_t tau) {
  const zip_state *zr = &m->zip[row];
  zip_unit *z = &m->zip_units[m->rows[row].off + k];
  int64_t p = zip_price_milli(m, row, k);
  int64_t delta = zr->beta_ppm * (tau - p) / PPM;
  z->momentum_milli =
      (zr->gamma_ppm * z->momentum_milli + (PPM - zr->gamma_ppm) * delta) / PPM;
  int64_t np = p + z->momentum_milli;
  if (np < 0) np = 0;
  int64_t limit = zip_limit(m, row, k);
  if (limit < 1) return; /* a unit worth nothing has no margin to learn */
  int64_t ratio_ppm = np / limit * 1000 + (np % limit) * 1000 / limit;
  if (m->rows[row].side == SIM_PROVIDER) {
    int64_t mg = ratio_ppm - PPM;
    z->margin_ppm = mg < 0 ? 0 : mg > ZIP_MARGIN_SELLER_MAX ? ZIP_MARGIN_SELLER_MAX : mg;
  } else {
    int64_t mg = PPM - ratio_ppm;
    z->margin_ppm = mg < 0 ? 0 : mg > PPM ? PPM : mg;
  }
}

/* Cliff's target: R x q + A, above q when up, below it otherwise. */
static void zip_learn(market *m, uint32_t row, int64_t k, int64_t q_minor,
                      int up) {
  int64_t tick_milli = tick_of(m, row) * 1000;
  int64_t r_ppm = up ? sim_rng_range(&m->rng, PPM, PPM * 105 / 100)
                     : sim_rng_range(&m->rng, PPM * 95 / 100, PPM);
  int64_t a_milli = sim_rng_range(&m->rng, 0, tick_milli);
  zip_move(m, row, k, r_ppm * q_minor / 1000 + (up ? a_milli : -a_milli));
}

/* A ZIP price for unit k on the tick; 0: not placed. */
static int64_t zip_price(const market *m, uint32_t row, int64_t k) {
  int64_t p = zip_price_milli(m, row, k);
  if (m->rows[row].side == SIM_PROVIDER) {
    int64_t cost = limit_of(m, row, k), max = price_max_of(m, row);
    int64_t ask = offer_price(m, row, (p + 999) / 1000);
    if (ask == 0 && cost <= max) ask = bid_price(m, row, max); /* capped */
    return ask >= cost ? ask : 0;
  }
  return bid_price(m, row, p / 1000);
}

/* Cliff's rule for row (unit k) on the service's last shout. */
static void zip_on_shout(market *m, uint32_t row, int64_t k, const shout *sh) {
  int64_t p = zip_price(m, row, k) * 1000, q = sh->q_minor * 1000;
  /* Compared as shouted, on the tick: the unrounded price of a bid 100.9
  ** would never be <= an untraded bid of 100, and a book one tick wide
  ** would stall. */
  if (p == 0) p = zip_price_milli(m, row, k);
  int seller = m->rows[row].side == SIM_PROVIDER;
  if (seller) {
    if (sh->traded && p <= q) zip_learn(m, row, k, sh->q_minor, 1);
    else if (sh->traded && sh->side == IMX_BID) zip_learn(m, row, k, sh->q_minor, 0);
    else if (!sh->traded && sh->side == IMX_OFFER && p >= q)
      zip_learn(m, row, k, sh->q_minor, 0);
  } else {
    if (sh->traded && p >= q) zip_learn(m, row, k, sh->q_minor, 0);
    else if (sh->traded && sh->side == IMX_OFFER) zip_learn(m, row, k, sh->q_minor, 1);
    else if (!sh->traded && sh->side == IMX_BID && p <= q)
      zip_learn(m, row, k, sh->q_minor, 1);
  }
}

/* Before its shout, a row learns from the shouts of its service since its
** last turn, the last ZIP_MEMORY of them, oldest first. */
static void zip_catch_up(market *m, uint32_t row, int64_t k) {
  uint32_t s = m->rows[row].service;
  uint64_t last = m->shout_seq[s], from = m->zip[row].seen + 1;
  if (last >= ZIP_MEMORY && from < last - ZIP_MEMORY + 1) from = last - ZIP_MEMORY + 1;
  for (uint64_t j = from; j <= last; j++)
    zip_on_shout(m, row, k, &m->shouts[(size_t)s * ZIP_MEMORY + (j - 1) % ZIP_MEMORY]);
  m->zip[row].seen = last;
}

static void zip_init(market *m) {
  for (uint32_t r = 0; r < m->sc->rows_n; r++) {
    const sim_row *w = &m->sc->rows[r];
    zip_state *z = &m->zip[r];
    z->beta_ppm = sim_rng_range(&m->rng, PPM / 10, PPM / 2);
    z->gamma_ppm = sim_rng_range(&m->rng, 0, PPM / 10);
    z->seen = 0;
    for (uint32_t k = 0; k < w->n; k++) {
      zip_unit *u = &m->zip_units[w->off + k];
      u->margin_ppm = sim_rng_range(&m->rng, PPM * 5 / 100, PPM * 35 / 100);
      u->momentum_milli = 0;
    }
  }
}

/* Auction mode: once a period, on the clearing price q (0: none, then
** each unit's own price). The units a row traded are its first `done`
** (those it is deemed to consume or make): each could have asked more (bid
** less), so moves toward q itself -- not beyond it, as Cliff's R and A
** would: in a call, a price past q no longer trades, and the volume would
** fall period after period. The units it offered beyond them did not trade
** and lower their margins with Cliff's target. */
static void zip_after_call(market *m, uint32_t row, int64_t q_minor) {
  const mrow *mr = &m->rows[row];
  int seller = m->rows[row].side == SIM_PROVIDER;
  assert(mr->offered <= (int64_t)m->rows[row].n);
  for (int64_t k = 0; k < mr->offered; k++) {
    int64_t q = q_minor ? q_minor : zip_price_milli(m, row, k) / 1000;
    if (k < mr->done) zip_move(m, row, k, q * 1000);
    else zip_learn(m, row, k, q, seller ? 0 : 1);
  }
}

/* ---------------------------------------------------------------- fills */

/* Books qty at price to row, for its order id. */
static void book_fill(market *m, uint32_t row, uint64_t id, int64_t qty,
                      int64_t price) {
  mrow *mr = &m->rows[row];
  sim_cell *c = &m->run->cells[(size_t)(m->period - 1) * m->sc->rows_n + row];
  mr->done += qty;
  mr->misses = 0;
  assert(mr->done <= (int64_t)mr->n);
  c->units += qty;
  c->amount_minor += qty * price;
  if (row == m->placing_row) { /* the order being placed: no slot yet */
    m->placing_filled += qty;
    return;
  }
  slot *sl = m->slots + mr->off;
  uint32_t j = mr->cursor;
  if (j < mr->top && sl[j].id != id) /* else: from the top down */
    for (j = mr->top; j-- > mr->cursor && sl[j].id != id;) continue;
  if (j < mr->top && j >= mr->cursor && sl[j].id == id) {
    assert(sl[j].open >= qty);
    sl[j].open -= qty;
    while (mr->cursor < mr->top && sl[mr->cursor].open == 0) mr->cursor++;
    while (mr->top > mr->cursor && sl[mr->top - 1].open == 0) mr->top--;
    return;
  }
  m->failed = 1;
  snprintf(m->err, sizeof m->err, "a fill of order %llu, which the run did not "
           "place or believed closed", (unsigned long long)id);
}

/* Quality: provider row s delivers qty units to receiver row b, before
** they are booked (b's next unit is its unit `done`). The delivery's stars
** adjust what those units are worth to b, and b rates it: whole stars, the
** delivery rounded half up, into s's reputation (set on the venue when the
** period closes: receivers rate after delivery). */
static int deliver(market *m, uint32_t b, uint32_t s, int64_t qty) {
  const sim_scenario *sc = m->sc;
  const sim_row *w = &sc->rows[b];
  int stars = sim_quality_draw(sc, s, &m->qrng);
  int64_t worth = 0;
  for (int64_t k = m->rows[b].done; k < m->rows[b].done + qty && k < (int64_t)w->n; k++)
    worth += m->eff[w->off + k];
  size_t at = (size_t)(m->period - 1) * sc->rows_n;
  m->run->cells[at + b].qworth_minor += sim_quality_worth(sc, worth, stars);
  m->run->cells[at + b].stars_units += stars * qty;
  m->run->cells[at + s].stars_units += stars * qty;
  assert(s < sc->providers_n);
  int whole = (stars + 5) / 10;
  assert(whole >= IMX_RATING_STARS_MIN && whole <= IMX_RATING_STARS_MAX);
  m->rep_n[s]++;
  m->rep_sum[s] += (uint64_t)whole;
  return whole;
}

/* Quality: every provider row's ratings so far onto the venue; a venue
** that takes each rating as it was given (rate) got them at its close. */
static int reputations_set(market *m) {
  const sim_scenario *sc = m->sc;
  if (m->venue->ops->reputation == NULL) return 0;
  for (uint32_t i = 0; i < sc->providers_n; i++) {
    if (m->rep_n[i] == 0) continue;
    if (m->venue->ops->reputation(m->venue, sc->rows[i].cc, sc->rows[i].service,
                                  m->rep_n[i], m->rep_sum[i]) != 0)
      return -1;
  }
  return 0;
}

/* The row of a fill's cost centre: from the session's table when the fill
** is in the service in session (every fill of the in-process engine),
** else from the hash index. */
static uint32_t fill_row(const market *m, uint32_t cc, uint32_t service, sim_side side) {
  if (service == m->session_svc && cc < m->sc->ccs_n)
    return m->session_rows[(size_t)cc * 2 + side];
  return service < m->sc->services_n ? row_find(m, cc, service, side) : NO_ROW;
}

static void on_fill(void *ctx, const sim_fill *f) {
  market *m = ctx;
  const sim_scenario *sc = m->sc;
  uint32_t b = fill_row(m, f->buyer_cc, f->service, SIM_RECEIVER);
  uint32_t s = fill_row(m, f->seller_cc, f->service, SIM_PROVIDER);
  if (b == NO_ROW || s == NO_ROW || f->qty <= 0 || f->price_minor <= 0) {
    m->failed = 1;
    snprintf(m->err, sizeof m->err, "a fill for cost centres %u -> %u in "
             "service %u that has no row", f->seller_cc, f->buyer_cc, f->service);
    return;
  }
  if (sc->quality_on) {
    int stars = deliver(m, b, s, f->qty);
    if (m->venue->ops->rate && m->venue->ops->rate(m->venue, f, stars) != 0) {
      m->failed = 1;
      snprintf(m->err, sizeof m->err, "%s", m->venue->err);
      return;
    }
  }
  book_fill(m, b, f->buy_order, f->qty, f->price_minor);
  book_fill(m, s, f->sell_order, f->qty, f->price_minor);
  sim_svc_cell *c = &m->run->svc[(size_t)(m->period - 1) * sc->services_n + f->service];
  if (c->units == 0 || f->price_minor < c->price_lo_minor) c->price_lo_minor = f->price_minor;
  if (c->units == 0 || f->price_minor > c->price_hi_minor) c->price_hi_minor = f->price_minor;
  c->units += f->qty;
  c->amount_minor += f->qty * f->price_minor;
  m->run->trades++;
}

/* --------------------------------------------------------------- orders */

/* Places qty at price for row into slot j. Returns -1 when the venue
** failed, else 0; *filled (may be NULL) gets what traded at once, or -1
** when the venue rejected the order (counted, and the agent goes on). */
static int place(market *m, uint32_t row, uint32_t j, int64_t qty,
                 int64_t price, int64_t *filled) {
  mrow *mr = &m->rows[row];
  assert(j < mr->n && qty >= 1 && price >= 1);
  uint64_t id = 0;
  imx_status st = IMX_OK;
  m->placing_row = row;
  m->placing_filled = 0;
  int rc = m->venue->ops->order(m->venue, mr->cc, mr->service,
                                mr->side == SIM_RECEIVER ? IMX_BID : IMX_OFFER,
                                qty, price, IMX_TIF_PERIOD,
                                mr->side == SIM_RECEIVER ? mr->min_stars : 0,
                                &id, &st);
  m->placing_row = NO_ROW;
  if (rc != 0) return -1;
  m->run->orders++;
  if (st != IMX_OK) {
    m->run->rejected++;
    if (filled) *filled = -1;
    return 0;
  }
  assert(m->placing_filled <= qty);
  m->slots[mr->off + j].id = id;
  m->slots[mr->off + j].open = qty - m->placing_filled;
  mr->placed = mr->top = j + 1;
  mr->offered += qty;
  while (mr->cursor < mr->top && m->slots[mr->off + mr->cursor].open == 0)
    mr->cursor++;
  if (filled) *filled = m->placing_filled;
  return 0;
}

/* Cancels every order of row this session may have left open. */
static int cancel_open(market *m, uint32_t row) {
  mrow *mr = &m->rows[row];
  for (uint32_t j = mr->cursor; j < mr->top; j++) {
    slot *s = &m->slots[mr->off + j];
    if (s->open == 0) continue;
    if (m->venue->ops->cancel(m->venue, mr->cc, s->id) != 0) return -1;
    s->open = 0;
  }
  mr->cursor = mr->top;
  return 0;
}

/* The price the agent asks or bids for unit k, on the tick; 0: none. */
static int64_t agent_price(market *m, uint32_t row, int64_t k) {
  int bid = m->rows[row].side == SIM_RECEIVER;
  int64_t p;
  switch (m->agents) {
  case SIM_AGENTS_ZIC: p = zi_price(m, row, k, 1); break;
  case SIM_AGENTS_ZIU: p = zi_price(m, row, k, 0); break;
  case SIM_AGENTS_ZIP: return zip_price(m, row, k);
  default: p = limit_of(m, row, k); break;
  }
  return bid ? bid_price(m, row, p) : offer_price(m, row, p);
}

/* The prices of the rest of row's schedule into buf (the row's stretch of
** m->scratch, free until the period is settled): bids as prices, offers
** negated, a unit not to be placed as INT64_MIN, so that truthful prices
** come best first. zi and zip prices are per unit, in no order. */
static int64_t *schedule_prices(market *m, uint32_t row) {
  const mrow *w = &m->rows[row];
  int64_t k = w->done, n = w->n;
  int64_t *buf = m->scratch + w->off;
  int bid = w->side == SIM_RECEIVER;
  for (int64_t i = k; i < n; i++) {
    int64_t p = agent_price(m, row, i);
    buf[i] = p == 0 ? INT64_MIN : bid ? p : -p;
  }
  return buf;
}

/* Continuous mode, truthful agents: places the rest of row's schedule at
** once, one order per run of equal prices, best first (so they fill in
** slot order). */
static int place_schedule(market *m, uint32_t row) {
  const mrow *w = &m->rows[row];
  int64_t k = w->done, n = w->n;
  const int64_t *buf = schedule_prices(m, row);
  uint32_t j = w->placed;
  assert(m->agents == SIM_AGENTS_TRUTHFUL);
  while (k < n && buf[k] != INT64_MIN) {
    int64_t run = 1;
    while (k + run < n && buf[k + run] == buf[k]) run++;
    int64_t price = buf[k] < 0 ? -buf[k] : buf[k];
    if (place(m, row, j++, run, price, NULL) != 0) return -1;
    k += run;
  }
  assert(j <= w->n);
  return 0;
}

/* Auction mode: the orders of row's schedule (one per run of equal
** prices) appended to m->porders. */
static uint32_t collect_schedule(market *m, uint32_t row, uint32_t n_orders) {
  const mrow *w = &m->rows[row];
  int64_t k = w->done, n = w->n;
  const int64_t *buf = schedule_prices(m, row);
  for (; k < n; k++) {
    if (buf[k] == INT64_MIN) continue;
    int64_t run = 1;
    while (k + run < n && buf[k + run] == buf[k]) run++;
    m->porders[n_orders] = (porder){
        .price_minor = buf[k] < 0 ? -buf[k] : buf[k], .row = row,
        .qty = (uint32_t)run, .seq = n_orders, .bid = w->side == SIM_RECEIVER};
    n_orders++;
    k += run - 1;
  }
  return n_orders;
}

/* The sort key of an order: bids before offers, within a side the worst
** price first. Prices are at most IMX_PRICE_MAX_MINOR < 2^30. */
static uint32_t porder_key(const porder *x) {
  assert(x->price_minor >= 1 && x->price_minor <= IMX_PRICE_MAX_MINOR);
  uint32_t p = (uint32_t)x->price_minor;
  return x->bid ? p : (1u << 31) | (uint32_t)(IMX_PRICE_MAX_MINOR - p);
}

/* Sorts the collected orders by porder_key, stably (so that within a key
** they stay in collection order): an LSD radix sort. It sorts on a rank in
** the same order as porder_key: a bid's price above the lowest bid, an
** offer's below the highest offer, the offers after all bids. The ranks
** span the prices actually bid and offered, not 32 bits, so a session
** needs as few passes of at most 11 bits as that span has (two for a span
** under 2^22, where porder_key took three). */
static void sort_collected(market *m, uint32_t n) {
  enum { BITS_MAX = 11 };
  porder *src = m->porders, *dst = m->porders_tmp;
  int64_t bid_lo = INT64_MAX, bid_hi = 0, offer_hi = 0;
  for (uint32_t i = 0; i < n; i++) {
    int64_t p = src[i].price_minor;
    assert(p >= 1 && p <= IMX_PRICE_MAX_MINOR);
    if (src[i].bid) {
      if (p < bid_lo) bid_lo = p;
      if (p > bid_hi) bid_hi = p;
    } else if (p > offer_hi) {
      offer_hi = p;
    }
  }
  /* Prices are under 2^30, so ranks are under 2^31. */
  uint32_t bids_span = bid_hi ? (uint32_t)(bid_hi - bid_lo + 1) : 0, top = 0;
  for (uint32_t i = 0; i < n; i++) {
    porder *x = &src[i];
    x->rank = x->bid ? (uint32_t)(x->price_minor - bid_lo)
                     : bids_span + (uint32_t)(offer_hi - x->price_minor);
    if (x->rank > top) top = x->rank;
  }
  int bits = 0;
  while (bits < 32 && top >> bits) bits++;
  int passes = (bits + BITS_MAX - 1) / BITS_MAX;
  int width = passes ? (bits + passes - 1) / passes : 0;
  uint32_t count[1u << BITS_MAX], mask = (1u << width) - 1;
  for (int pass = 0; pass < passes; pass++) {
    int shift = pass * width;
    memset(count, 0, (mask + 1) * sizeof *count);
    for (uint32_t i = 0; i < n; i++) count[(src[i].rank >> shift) & mask]++;
    uint32_t sum = 0;
    for (uint32_t b = 0; b <= mask; b++) {
      uint32_t c = count[b];
      count[b] = sum;
      sum += c;
    }
    for (uint32_t i = 0; i < n; i++) dst[count[(src[i].rank >> shift) & mask]++] = src[i];
    porder *t = src;
    src = dst;
    dst = t;
  }
  if (src != m->porders) memcpy(m->porders, src, n * sizeof *src);
  for (uint32_t i = 1; i < n; i++)
    assert(porder_key(&m->porders[i - 1]) <= porder_key(&m->porders[i]));
}

/* Places the collected orders of an auction session. A call depends only
** on the price levels and the time order within each level, so the orders
** go in worst price first, each side on its own (once the engine's levels
** were sorted arrays with the best last, where every new level was an
** append; its tree of levels does not care, and the order stays so that
** the order ids, and so the runs, stay what they were), and
** within a level in the order of collection -- the random order of rows,
** as if each row had placed its schedule in turn. The two sides are merged
** by collection order, which decides between a cost centre's bid and
** offer in one service (auction self-trade prevention refuses the later). */
static int place_collected(market *m, uint32_t n_orders, uint32_t *bids_out) {
  sort_collected(m, n_orders);
  uint32_t bids = 0;
  while (bids < n_orders && m->porders[bids].bid) bids++;
  *bids_out = bids;
  uint32_t i = 0, o = bids;
  while (i < bids || o < n_orders) {
    int take_bid = o == n_orders || (i < bids && m->porders[i].seq < m->porders[o].seq);
    /* The rows come in price order, so in no order in memory: ask for
    ** the mrow of this side's order a few places on. */
    uint32_t ahead = (take_bid ? i : o) + PREFETCH_AHEAD;
    if (ahead < (take_bid ? bids : n_orders))
      __builtin_prefetch(&m->rows[m->porders[ahead].row], 1);
    porder *x = &m->porders[take_bid ? i++ : o++];
    const mrow *w = &m->rows[x->row];
    uint32_t j = w->placed;
    int64_t filled = 0;
    if (place(m, x->row, j, x->qty, x->price_minor, &filled) != 0) return -1;
    x->slot = filled < 0 ? NO_SLOT : w->off + j;
  }
  return 0;
}

/* Cancels what the call left open, best price first on each side: the
** reverse of placing, so each removal is of the engine's best level, which
** its tree of levels removes in O(1) plus the rebalancing. */
static int cancel_collected(market *m, uint32_t n_orders) {
  for (uint32_t i = n_orders; i-- > 0;) {
    /* Most orders the call filled are skipped at once: ask for the slot
    ** a few orders on, or each one is a cache miss in a row. */
    if (i >= PREFETCH_AHEAD && m->porders[i - PREFETCH_AHEAD].slot != NO_SLOT)
      __builtin_prefetch(&m->slots[m->porders[i - PREFETCH_AHEAD].slot], 1);
    const porder *x = &m->porders[i]; /* offers, then bids: best first */
    if (x->slot == NO_SLOT) continue;
    slot *sl = &m->slots[x->slot];
    if (sl->open == 0) continue;
    if (m->venue->ops->cancel(m->venue, m->rows[x->row].cc, sl->id) != 0) return -1;
    sl->open = 0;
  }
  return 0;
}

/* ------------------------------------------------------------- sessions */

static void shuffle(market *m, uint32_t *a, uint32_t n) {
  for (uint32_t i = n; i > 1; i--) {
    uint32_t j = (uint32_t)sim_rng_range(&m->rng, 0, i - 1);
    uint32_t t = a[i - 1];
    a[i - 1] = a[j];
    a[j] = t;
  }
}

/* The rows of service s with units left, into m->order, shuffled; 0 when
** one side has none left (nothing more can trade). */
static uint32_t active_rows(market *m, uint32_t s) {
  uint32_t n = 0, sides[2] = {0, 0};
  uint32_t end = m->by_svc.off[s + 1];
  for (uint32_t i = m->by_svc.off[s]; i < end; i++) {
    /* A service's rows are spread over m->rows: ask a few rows ahead. */
    if (i + PREFETCH_AHEAD < end) __builtin_prefetch(&m->rows[m->by_svc.rows[i + PREFETCH_AHEAD]]);
    uint32_t r = m->by_svc.rows[i];
    const mrow *w = &m->rows[r];
    if (w->done >= (int64_t)w->n) continue;
    if (w->misses >= m->patience) continue; /* gone home */
    m->order[n++] = r;
    sides[w->side]++;
  }
  if (sides[0] == 0 || sides[1] == 0) return 0;
  shuffle(m, m->order, n);
  return n;
}

/* One shout of a random agent in a continuous service: cancel the open
** order, learn (zip), place the next chunk of its schedule. A chunk is
** 1/rounds of the schedule (at least one unit), so that a provider of 1,000
** hours can sell them all within a period's rounds; it is priced on its
** marginal unit (a buyer's least valuable, a seller's costliest), so a
** constrained agent still never trades a unit at a loss. */
static int shout_once(market *m, uint32_t row) {
  const mrow *w = &m->rows[row];
  int64_t k = w->done, n = w->n;
  int64_t chunk = w->chunk;
  if (chunk > n - k) chunk = n - k;
  assert(chunk >= 1);
  int64_t marginal = k + chunk - 1;
  if (cancel_open(m, row) != 0) return -1;
  m->rows[row].placed = m->rows[row].cursor = m->rows[row].top = 0;
  if (m->zip) zip_catch_up(m, row, marginal);
  int64_t price = agent_price(m, row, marginal), filled = 0;
  if (price == 0) { /* nothing it could ask or bid: a shout that found nobody */
    m->rows[row].misses++;
    return 0;
  }
  if (place(m, row, 0, chunk, price, &filled) != 0) return -1;
  if (filled <= 0) m->rows[row].misses++;
  if (filled < 0) return 0; /* rejected: no shout in the market */
  uint64_t seq = ++m->shout_seq[w->service];
  shout *sh = &m->shouts[(size_t)w->service * ZIP_MEMORY + (seq - 1) % ZIP_MEMORY];
  sh->traded = filled > 0;
  sh->q_minor = price;
  sh->side = w->side == SIM_RECEIVER ? IMX_BID : IMX_OFFER;
  return 0;
}

/* A continuous session goes on while it trades. An agent whose last
** `patience` shouts (rounds / 2) all went without a trade leaves the floor
** for the period: nobody meets its prices. The session ends when no agent
** is left on one side, or after rounds x ROUNDS_PATIENCE rounds. (With a
** fixed number of rounds, agents that rarely cross, like zi-c far from the
** price, would be cut off with most of their demand unmet: the period's
** length, not the market, would set the volume.) */
#define ROUNDS_PATIENCE 10u

static int session_continuous(market *m, uint32_t s) {
  uint32_t rounds = m->agents == SIM_AGENTS_TRUTHFUL ? 1 : m->rounds * ROUNDS_PATIENCE;
  for (uint32_t round = 0; round < rounds; round++) {
    uint32_t n = active_rows(m, s);
    if (n == 0) break;
    for (uint32_t i = 0; i < n; i++) {
      /* Shuffled: each row's turn would begin with a miss on its mrow. */
      if (i + PREFETCH_AHEAD < n) __builtin_prefetch(&m->rows[m->order[i + PREFETCH_AHEAD]], 1);
      uint32_t r = m->order[i];
      if (m->rows[r].done >= (int64_t)m->rows[r].n) continue;
      int rc = m->agents == SIM_AGENTS_TRUTHFUL ? place_schedule(m, r)
                                                 : shout_once(m, r);
      if (rc != 0 || m->failed) return -1;
    }
  }
  return 0;
}

/* The first call's reference: midway between the lowest cost and the
** highest value of the period, on the tick, within the price cap. */
static int64_t reference_price(const market *m, uint32_t s) {
  const sim_service *svc = &m->sc->services[s];
  int64_t lo = -1, hi = -1;
  if (m->last_price[s] > 0) return m->last_price[s];
  for (uint32_t i = m->by_svc.off[s]; i < m->by_svc.off[s + 1]; i++) {
    const sim_row *w = &m->sc->rows[m->by_svc.rows[i]];
    if (w->n == 0) continue;
    int64_t first = m->eff[w->off];
    if (w->side == SIM_PROVIDER && (lo < 0 || first < lo)) lo = first;
    if (w->side == SIM_RECEIVER && first > hi) hi = first;
  }
  if (lo < 0 || hi < 0) return 0; /* nothing can trade anyway */
  int64_t mid = lo + (hi - lo) / 2, tick = svc->tick_minor;
  mid = (mid + tick / 2) / tick * tick;
  int64_t top = svc->price_max_minor / tick * tick;
  return mid < tick ? tick : mid > top ? top : mid;
}

static int session_auction(market *m, uint32_t s) {
  uint32_t n = active_rows(m, s), n_orders = 0, bids = 0;
  for (uint32_t i = 0; i < n; i++) n_orders = collect_schedule(m, m->order[i], n_orders);
  if (place_collected(m, n_orders, &bids) != 0 || m->failed) return -1;
  int64_t price = 0;
  if (m->venue->ops->call(m->venue, s, reference_price(m, s), &price) != 0 ||
      m->failed)
    return -1;
  sim_svc_cell *c = &m->run->svc[(size_t)(m->period - 1) * m->sc->services_n + s];
  c->price_minor = c->units > 0 ? price : 0;
  if (c->units > 0) m->last_price[s] = price;
  if (cancel_collected(m, n_orders) != 0) return -1;
  if (m->zip)
    for (uint32_t i = 0; i < n; i++) zip_after_call(m, m->order[i], c->price_minor);
  return 0;
}

/* Sets (or clears, with NO_ROW) service s's rows in m->session_rows. */
static void session_rows_set(market *m, uint32_t s, int clear) {
  for (uint32_t i = m->by_svc.off[s]; i < m->by_svc.off[s + 1]; i++) {
    uint32_t r = m->by_svc.rows[i];
    m->session_rows[(size_t)m->rows[r].cc * 2 + m->rows[r].side] = clear ? NO_ROW : r;
  }
  m->session_svc = clear ? NO_SVC : s;
}

/* One service's session, then its open orders cancelled. */
static int session(market *m, uint32_t s) {
  session_rows_set(m, s, 0);
  int rc = m->sc->services[s].auction ? session_auction(m, s)
                                      : session_continuous(m, s);
  for (uint32_t i = m->by_svc.off[s]; rc == 0 && i < m->by_svc.off[s + 1]; i++) {
    uint32_t r = m->by_svc.rows[i];
    rc = cancel_open(m, r);
    m->rows[r].placed = m->rows[r].cursor = m->rows[r].top = 0;
    m->rows[r].offered = 0;
  }
  session_rows_set(m, s, 1);
  return rc;
}

/* ---------------------------------------------------------------- run */

static void progress(FILE *f, uint32_t period, uint32_t periods) {
  enum { WIDTH = 30 };
  char bar[WIDTH + 1];
  uint32_t done = (uint32_t)((uint64_t)period * WIDTH / periods);
  for (uint32_t i = 0; i < WIDTH; i++) bar[i] = i < done ? '#' : '.';
  bar[WIDTH] = 0;
  fprintf(f, "\rmarket [%s] period %u/%u", bar, period, periods);
  if (period == periods) fputc('\n', f);
  fflush(f);
}

static int run_period(market *m, uint32_t p) {
  const sim_scenario *sc = m->sc;
  m->period = p;
  sim_schedule_period(sc, p, m->eff);
  for (uint32_t r = 0; r < sc->rows_n; r++) {
    mrow *w = &m->rows[r];
    w->misses = w->placed = w->cursor = w->top = 0;
    w->done = w->offered = 0;
  }
  if (m->venue->ops->period_open(m->venue, p) != 0) return -1;
  for (uint32_t s = 0; s < sc->services_n; s++)
    if (session(m, s) != 0) return -1;
  if (m->venue->ops->period_close(m->venue, p) != 0 || m->failed) return -1;
  if (sc->quality_on && reputations_set(m) != 0) return -1;
  sim_svc_cell *c = &m->run->svc[(size_t)(p - 1) * sc->services_n];
  for (uint32_t s = 0; s < sc->services_n; s++)
    if (!sc->services[s].auction && c[s].units > 0)
      c[s].price_minor = (c[s].amount_minor + c[s].units / 2) / c[s].units;
  sim_run_settle_period(sc, &m->by_svc, m->eff, p - 1, m->run, m->scratch);
  return 0;
}

/* Rows grouped by service, and the session buffers they size: the order
** of rows, and an auction's collected orders (at most every unit of its
** service). */
static int group_by_service(market *m) {
  const sim_scenario *sc = m->sc;
  if (sim_groups_build(sc, SIM_BY_SERVICE, &m->by_svc) != 0) return -1;
  m->order = malloc(((size_t)m->by_svc.widest + 1) * sizeof *m->order);
  if (m->order == NULL) return -1;
  uint64_t units_widest = 1;
  for (uint32_t s = 0; s < sc->services_n; s++) {
    uint64_t u = 0;
    for (uint32_t i = m->by_svc.off[s]; i < m->by_svc.off[s + 1]; i++)
      u += sc->rows[m->by_svc.rows[i]].n;
    if (u > units_widest) units_widest = u;
  }
  m->porders = malloc((size_t)units_widest * sizeof *m->porders);
  m->porders_tmp = malloc((size_t)units_widest * sizeof *m->porders_tmp);
  return m->porders && m->porders_tmp ? 0 : -1;
}

/* The most orders one session can have open at once: every unit of every
** row of a service when orders are per run or per unit (auction, truthful),
** one per row for the random agents of a continuous service. */
static uint32_t orders_bound(const market *m) {
  const sim_scenario *sc = m->sc;
  uint64_t most = 1;
  for (uint32_t s = 0; s < sc->services_n; s++) {
    uint64_t n = 0;
    int per_unit = sc->services[s].auction || m->agents == SIM_AGENTS_TRUTHFUL;
    for (uint32_t i = m->by_svc.off[s]; i < m->by_svc.off[s + 1]; i++)
      n += per_unit ? sc->rows[m->by_svc.rows[i]].n : 1;
    if (n > most) most = n;
  }
  return most > IMX_ORDERS_MAX ? IMX_ORDERS_MAX : (uint32_t)most;
}

/* The mrows' copies of their sim_rows; the rest is set by each period. */
static void rows_init(market *m) {
  for (uint32_t r = 0; r < m->sc->rows_n; r++) {
    const sim_row *w = &m->sc->rows[r];
    m->rows[r] = (mrow){.cc = w->cc, .service = w->service, .off = w->off, .n = w->n,
                        .side = w->side, .min_stars = w->min_stars,
                        .chunk = (uint32_t)(((uint64_t)w->n + m->rounds - 1) / m->rounds)};
  }
}

static int alloc_all(market *m) {
  const sim_scenario *sc = m->sc;
  size_t units = sc->units_n ? sc->units_n : 1, rows = sc->rows_n ? sc->rows_n : 1;
  size_t svcs = sc->services_n ? sc->services_n : 1;
  m->eff = malloc(units * sizeof *m->eff);
  m->scratch = malloc(2 * units * sizeof *m->scratch);
  m->slots = calloc(units, sizeof *m->slots);
  m->rows = aligned_alloc(64, rows * sizeof *m->rows);
  m->last_price = calloc(svcs, sizeof *m->last_price);
  m->shouts = calloc(svcs * ZIP_MEMORY, sizeof *m->shouts);
  m->shout_seq = calloc(svcs, sizeof *m->shout_seq);
  m->session_rows = malloc(((size_t)sc->ccs_n + 1) * 2 * sizeof *m->session_rows);
  if (sc->quality_on) {
    m->rep_n = calloc((size_t)sc->providers_n + 1, sizeof *m->rep_n);
    m->rep_sum = calloc((size_t)sc->providers_n + 1, sizeof *m->rep_sum);
    if (!m->rep_n || !m->rep_sum) return -1;
  }
  if (m->agents == SIM_AGENTS_ZIP) {
    m->zip = calloc(rows, sizeof *m->zip);
    m->zip_units = calloc(units, sizeof *m->zip_units);
  }
  if (!m->eff || !m->scratch || !m->slots || !m->rows || !m->last_price ||
      !m->shouts || !m->shout_seq || !m->session_rows || (m->agents == SIM_AGENTS_ZIP && (!m->zip || !m->zip_units)))
    return -1;
  rows_init(m);
  memset(m->session_rows, 0xff, ((size_t)sc->ccs_n + 1) * 2 * sizeof *m->session_rows);
  return group_by_service(m);
}

static void free_all(market *m) {
  if (m->venue) m->venue->ops->destroy(m->venue);
  free(m->eff);
  free(m->scratch);
  free(m->slots);
  free(m->rows);
  free(m->zip);
  free(m->zip_units);
  sim_groups_free(&m->by_svc);
  free(m->order);
  free(m->porders);
  free(m->porders_tmp);
  free(m->index);
  free(m->last_price);
  free(m->shouts);
  free(m->shout_seq);
  free(m->session_rows);
  free(m->rep_n);
  free(m->rep_sum);
}

static int open_venue(market *m, const sim_market_opts *o, char *errbuf,
                      size_t errcap) {
  int rc = o->connect_url
               ? sim_venue_connect(m->sc, o->connect_url, o->ca_file, o->tokens_prefix,
                                   o->admin_token, &m->venue, errbuf, errcap)
               : sim_venue_engine(m->sc, orders_bound(m), &m->venue, errbuf,
                                  errcap);
  if (rc != 0) return -1;
  m->venue->on_fill = on_fill;
  m->venue->ctx = m;
  return 0;
}

int sim_market_run(const sim_scenario *sc, const sim_market_opts *o,
                   sim_result *r, char *errbuf, size_t errcap) {
  assert(sc != NULL && o != NULL && r != NULL && r->sc == sc);
  assert(r->market.cells != NULL && r->market.svc != NULL);
  if (o->agents >= SIM_AGENTS_N || o->rounds > ROUNDS_MAX) {
    snprintf(errbuf, errcap, "%s: out of range", o->rounds > ROUNDS_MAX
             ? "rounds" : "agents");
    return -1;
  }
  market m;
  memset(&m, 0, sizeof m);
  m.sc = sc;
  m.agents = o->agents;
  m.rounds = o->rounds ? o->rounds : ROUNDS_DEFAULT;
  m.patience = m.rounds / 2 > 1 ? m.rounds / 2 : 1;
  m.run = &r->market;
  m.placing_row = NO_ROW;
  m.session_svc = NO_SVC;
  sim_rng_seed(&m.rng, o->seed);
  sim_rng_seed(&m.qrng, sim_quality_seed(sc, 1));
  int rc = alloc_all(&m) != 0 ? -1 : index_build(&m, errbuf, errcap);
  if (rc < 0) snprintf(errbuf, errcap, "out of memory");
  if (rc == 0) rc = open_venue(&m, o, errbuf, errcap);
  if (rc == 0 && m.zip) zip_init(&m);
  r->market.orders = r->market.trades = r->market.rejected = 0;
  for (uint32_t p = 1; rc == 0 && p <= sc->periods; p++) {
    if (run_period(&m, p) != 0) {
      snprintf(errbuf, errcap, "period %u: %s", p,
               m.failed ? m.err : m.venue->err);
      rc = -1;
    } else if (o->progress) {
      progress(o->progress, p, sc->periods);
    }
  }
  r->agents = o->agents;
  r->seed = o->seed;
  free_all(&m);
  return rc == 0 ? 0 : -1;
}
