/*
** imx_base.h -- what every module of imx builds on: the always-on
** assertion, the numeric limits of the market, and one open-addressing hash
** index. Header only; it depends on the C library alone, so proto/,
** engine/ and ledger/ can all use it and still know nothing of each other.
**
** Limits. Every bound on a price, a quantity, a budget or an id is named
** here once; the codec, the market loader, the engine, the ledger and the
** CLI use these names. Why the numbers fit int64 (the overflow argument):
**
**   qty x price        <= IMX_QTY_MAX x IMX_PRICE_MAX_MINOR = 1e18 < 2^63
**   a period's money   every sum the engine or the ledger keeps for one
**                      period (a cost centre's spent, earned or reserved, a
**                      period summary, all postings of a period) is at most
**                      the sum of all budgets, because every unit of money
**                      that moves was first a buyer's budget. The market
**                      loader and the engine refuse budgets whose sum passes
**                      IMX_BUDGETS_TOTAL_MAX_MINOR (1e15), so a period's
**                      totals stay below 1e15 and an account's balance over
**                      all history below 9,000 periods x 1e15 < 2^63.
**   a reservation      a bid reserves qty x limit (<= 1e18) but never more
**                      than the budget left, so it is checked before it is
**                      added: qty x price is computed in int64 (<= 1e18)
**                      and compared, never summed unchecked.
*/
#ifndef IMX_BASE_H
#define IMX_BASE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ assertions */

/* An assertion that stays on in every build (Release, -DNDEBUG): it states
** what can only be false if imx itself is wrong, and stops the program
** before a wrong state can reach the books or the ledger. */
#define IMX_ASSERT(cond)                                                     \
  ((cond) ? (void)0 : imx_assert_fail(#cond, __FILE__, __LINE__, __func__))

static inline _Noreturn void imx_assert_fail(const char *cond, const char *file,
                                             int line, const char *func) {
  fprintf(stderr, "%s:%d: %s: assertion failed: %s\n", file, line, func, cond);
  fflush(stderr);
  abort();
}

/* ---------------------------------------------------------------- limits */

#define IMX_QTY_MAX 1000000000LL         /* units in one order, tender, row */
#define IMX_PRICE_MAX_MINOR 1000000000LL /* minor units per unit            */
#define IMX_BUDGETS_TOTAL_MAX_MINOR 1000000000000000LL /* 1e15, see above  */
#define IMX_CAPACITY_MAX IMX_QTY_MAX     /* units of a service per period   */
#define IMX_NAME_BYTES_MAX 64            /* ids: services, cost centres,
                                         ** request ids                     */
#define IMX_TEXT_BYTES_MAX 128           /* names and sites                 */
#define IMX_DESCRIPTION_BYTES_MAX 512    /* a service's description in the
                                         ** market file                     */
#define IMX_TRANSLATIONS_MAX 4           /* languages a service's name,
                                         ** description and unit are
                                         ** translated to                   */
#define IMX_TOKEN_BYTES_MAX 128          /* a cost centre's secret          */
#define IMX_EXACT_INT_MAX (INT64_C(1) << 53) /* JSON numbers are read as
                                         ** doubles: integers are exact up
                                         ** to 2^53 in magnitude            */
#define IMX_ID_MAX (IMX_EXACT_INT_MAX - 1) /* order, trade, tender ids and
                                         ** any number in a reply: the text
                                         ** 2^53 + 1 reads as 2^53, so only
                                         ** below 2^53 is a number exactly
                                         ** what was written                */
#define IMX_STARS_MIN 10                 /* min_stars of a bid, in tenths   */
#define IMX_STARS_MAX 50                 /* of a star: 1.0 .. 5.0           */
#define IMX_RATINGS_MIN_MAX 1000000u     /* "ratings_min" of a market file  */
#define IMX_RATINGS_MIN_DEFAULT 3u       /* ... when the file gives none    */
#define IMX_DEADLINE_MS_MAX (30LL * 24 * 3600 * 1000) /* a tender's, from now */
#define IMX_MSG_BYTES_MAX 65536          /* one request                     */
#define IMX_REPLY_BYTES_MAX (512 * 1024) /* one reply: 1,000 rows fit       */
#define IMX_PUB_BYTES_MAX 1024           /* one market-data message         */
#define IMX_LIST_MAX 1000                /* rows in one reply               */
#define IMX_DEPTH_MAX 100                /* levels in one book.get          */
#define IMX_DECIMALS_MAX 4               /* a currency's minor unit: 10^-4
                                         ** at most (ISO 4217's CLF, UYW)   */
#define IMX_HISTORY_LIMIT_MAX 100        /* closed orders in one
                                         ** order.history page              */
#define IMX_HISTORY_FILLS_MAX 20         /* fills listed per closed order:
                                         ** 100 x 20 fills of ~130 bytes fit
                                         ** a reply                         */

/* The market file (proto/market.c). IMX_SERVICES_MAX is also the engine's
** bound on books (engine/imx_engine.h defines it with the same tokens until
** that copy goes): a market the loader accepts always fits the engine. */
#define IMX_MARKET_BYTES_MAX (64 << 20)  /* one market file                 */
#define IMX_SERVICES_MAX 4096u           /* services in one market          */
#define IMX_CCS_MAX 65536u               /* cost centres in one market      */
#define IMX_LEVELS_DEFAULT 4096u         /* "levels" of a service: different
                                         ** prices one side of its book can
                                         ** hold at once, when not given    */
#define IMX_LEVELS_MAX (1u << 20)        /* ... at most                     */
#define IMX_TENDERS_PER_CC_MAX 1000000u  /* "tenders_per_cc_max" in a market
                                         ** file: open tenders a cost centre
                                         ** may have                        */
#define IMX_TENDERS_PER_CC_DEFAULT 16u   /* ... when the file gives none    */
#define IMX_RATING_WINDOW_DAYS_MAX 3650u /* "rating_window_days" in a market
                                         ** file: how long after a trade its
                                         ** buyer may rate it               */
#define IMX_RATING_WINDOW_DAYS_DEFAULT 60u /* ... when the file gives none  */

/* The SAP upload (the market file's "erp" mapping, proto/market.c, and the
** sap export, ledger/export_sap.c): SAP's field lengths, in characters, of
** BAPI_ACC_ACTIVITY_ALLOC_POST's header (BAPIDOCHDRP) and items (BAPIAAITM). */
#define IMX_SAP_CO_AREA_MAX 4            /* CO_AREA, the controlling area   */
#define IMX_SAP_USER_MAX 12              /* USERNAME                        */
#define IMX_SAP_DOC_TEXT_MAX 50          /* DOC_HDR_TX, the header text     */
#define IMX_SAP_HEADER_TEXT_MAX 25       /* the market file's header_text:
                                         ** DOC_HDR_TX is it, the period and
                                         ** the document's number of the
                                         ** period's ("2026-12 1/3")        */
#define IMX_SAP_CC_MAX 10                /* SEND_CCTR, REC_CCTR (KOSTL)     */
#define IMX_SAP_ACTTYPE_MAX 6            /* ACTTYPE (LSTAR)                 */
#define IMX_SAP_UOM_MAX 3                /* ACTIVITYUN, SAP's internal unit */
#define IMX_SAP_ITEM_TEXT_MAX 50         /* SEG_TEXT                        */
#define IMX_SAP_DOC_ITEMS_MAX 332        /* items of one document: a CO
                                         ** document has at most 999 line
                                         ** items, and KB21N makes three of
                                         ** an item with one sender, one
                                         ** activity and one receiver       */

/* Ratings (rating.new, rating.reply; gateway/server/core.c). */
#define IMX_COMMENT_BYTES_MAX 500        /* a rating's or a reply's comment */
#define IMX_RATING_STARS_MIN 1          /* a rating's stars: whole ones    */
#define IMX_RATING_STARS_MAX 5
/* A `score` tender's price_weight and quality_weight: whole percent, each
** 0..IMX_WEIGHT_MAX, summing to IMX_WEIGHT_MAX. */
#define IMX_WEIGHT_MAX 100
/* A score as shown (tender.get, tender.awarded): floor(1000 x score),
** 0..IMX_SCORE_SHOWN_MAX (the engine's IMX_SCORE_MAX). */
#define IMX_SCORE_SHOWN_MAX 100000
#define IMX_TENDERS_DECIDED_KEPT 4096u   /* tenders that ended (awarded,
                                         ** lapsed, cancelled) tender.get
                                         ** still shows, the newest; an
                                         ** older one is not_found        */
#define IMX_RATEABLE_TRADES (1u << 19)   /* the trades the core keeps for
                                         ** ratings (524,288): an older one
                                         ** can no longer be rated, whatever
                                         ** the window                      */
#define IMX_REPUTATION_RECENT_DAYS 90u   /* the "recent" reputation         */
#define IMX_RATINGS_LIMIT_MAX 100        /* ratings in one ratings.list page */
#define IMX_PERIOD_YEAR_MIN 1970         /* "first_period": "YYYY-MM", and  */
#define IMX_PERIOD_YEAR_MAX 9999         /* every label after it            */
#define IMX_PERIOD_LABEL_BYTES 16        /* "2026-12" or a number, and NUL  */
#define IMX_STATEMENT_TRADES_MAX 1000    /* trades listed in one
                                         ** statement.get.ok: the first
                                         ** ones; trades.list pages them    */

/* ------------------------------------------------------------ hash index */

/*
** An open-addressing index of entries that live elsewhere (a pool, a ring):
** each slot holds an entry's number or IMX_HASH_NIL, entries are found by
** linear probing from their hash's home slot, and a deletion shifts the
** rest of the probe chain back (no tombstones, so lookups never slow down).
** The owner keeps the hashes: imx_hash_del asks for the hash of an entry by
** number. The table has 2^k slots and must never be full: the owner sizes
** it at least one slot larger than the entries it holds (twice is usual), so
** every probe loop ends at an empty slot.
*/
#define IMX_HASH_NIL UINT32_MAX

typedef struct imx_hash {
  uint32_t *slots;
  uint32_t mask; /* slots - 1 */
  uint32_t n;    /* entries held */
} imx_hash;

/* The hash of entry number k, as given to imx_hash_put. */
typedef uint64_t (*imx_hash_of_fn)(const void *owner, uint32_t k);

/* Sizes the table to the next power of two >= 2 * entries_max. Returns 0,
** or -1 when out of memory. */
static inline int imx_hash_init(imx_hash *h, uint32_t entries_max) {
  uint64_t size = 2;
  while (size < 2ull * entries_max) size <<= 1;
  IMX_ASSERT(size <= (1ull << 31));
  h->slots = malloc((size_t)size * sizeof *h->slots);
  h->mask = (uint32_t)(size - 1);
  h->n = 0;
  if (h->slots == NULL) return -1;
  for (uint64_t i = 0; i < size; i++) h->slots[i] = IMX_HASH_NIL;
  return 0;
}

static inline void imx_hash_free(imx_hash *h) {
  free(h->slots);
  h->slots = NULL;
}

static inline uint32_t imx_hash_home(const imx_hash *h, uint64_t hash) {
  return (uint32_t)((hash * 0x9E3779B97F4A7C15ull) >> 32) & h->mask;
}

/* The first slot of hash's probe chain; walk it with imx_hash_next until a
** slot holds IMX_HASH_NIL. The caller compares keys (hashes can collide). */
static inline uint32_t imx_hash_first(const imx_hash *h, uint64_t hash) {
  return imx_hash_home(h, hash);
}

static inline uint32_t imx_hash_next(const imx_hash *h, uint32_t slot) {
  return (slot + 1) & h->mask;
}

/* Puts entry k at the end of hash's probe chain (the key must not be in the
** table: look it up first). */
static inline void imx_hash_put(imx_hash *h, uint64_t hash, uint32_t k) {
  IMX_ASSERT(k != IMX_HASH_NIL && h->n < h->mask);
  uint32_t i = imx_hash_home(h, hash);
  while (h->slots[i] != IMX_HASH_NIL) i = imx_hash_next(h, i);
  h->slots[i] = k;
  h->n++;
}

/* Empties the slot found holding an entry, shifting the probe chain after
** it back so that every entry stays reachable from its home. */
static inline void imx_hash_del(imx_hash *h, uint32_t slot, const void *owner,
                                imx_hash_of_fn hash_of) {
  IMX_ASSERT(h->slots[slot] != IMX_HASH_NIL && h->n > 0);
  uint32_t i = slot, j = slot;
  for (uint32_t steps = 0; steps <= h->mask; steps++) {
    j = imx_hash_next(h, j);
    uint32_t k = h->slots[j];
    if (k == IMX_HASH_NIL) break;
    uint32_t home = imx_hash_home(h, hash_of(owner, k));
    /* k may move back to i only if its home is not in (i, j]. */
    int home_between = i <= j ? (i < home && home <= j) : (i < home || home <= j);
    if (!home_between) {
      h->slots[i] = k;
      i = j;
    }
  }
  h->slots[i] = IMX_HASH_NIL;
  h->n--;
}

/* FNV-1a over a string, seeded: the hash of text keys. */
static inline uint64_t imx_hash_str(uint64_t seed, const char *s) {
  uint64_t h = 1469598103934665603ull ^ seed;
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 1099511628211ull;
  return h;
}

/* ------------------------------------------------------- byte buffers */

/*
** Little-endian integers and raw bytes in a buffer: the one codec of
** snapshots (the engine's and the server core's). A writer with p NULL
** only counts, so the same code sizes a buffer and then fills it; past cap
** it stops writing and sets full. A reader past the end, or told by its
** caller that a value is wrong (imx_rbuf_fail), keeps the first reason in
** why and reads 0 from then on.
*/
typedef struct imx_wbuf {
  uint8_t *p;
  size_t len, cap;
  int full;
} imx_wbuf;

typedef struct imx_rbuf {
  const uint8_t *p;
  size_t len, at;
  const char *why; /* NULL while all is well */
} imx_rbuf;

static inline void imx_wbuf_int(imx_wbuf *o, uint64_t v, unsigned bytes) {
  if (o->p != NULL && (o->full || o->len + bytes > o->cap)) o->full = 1;
  else if (o->p != NULL)
    for (unsigned i = 0; i < bytes; i++) o->p[o->len + i] = (uint8_t)(v >> (8 * i));
  o->len += bytes;
}

static inline void imx_wbuf_bytes(imx_wbuf *o, const void *src, size_t n) {
  if (o->p != NULL && (o->full || o->len + n > o->cap)) o->full = 1;
  else if (o->p != NULL && n > 0) memcpy(o->p + o->len, src, n);
  o->len += n;
}

static inline int imx_rbuf_fail(imx_rbuf *in, const char *why) {
  if (in->why == NULL) in->why = why;
  return -1;
}

static inline uint64_t imx_rbuf_int(imx_rbuf *in, unsigned bytes) {
  if (in->why != NULL) return 0;
  if (in->len - in->at < bytes) {
    imx_rbuf_fail(in, "it ends early");
    return 0;
  }
  uint64_t v = 0;
  for (unsigned i = 0; i < bytes; i++) v |= (uint64_t)in->p[in->at + i] << (8 * i);
  in->at += bytes;
  return v;
}

/* The next n bytes, or NULL (and why set) when fewer are left. */
static inline const uint8_t *imx_rbuf_bytes(imx_rbuf *in, size_t n) {
  if (in->why != NULL) return NULL;
  if (in->len - in->at < n) {
    imx_rbuf_fail(in, "it ends early");
    return NULL;
  }
  const uint8_t *p = in->p + in->at;
  in->at += n;
  return p;
}

#endif /* IMX_BASE_H */
