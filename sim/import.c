/*
** import.c -- `imx-sim import`: a scenario from finance's history of
** allocations, the CSV an ERP exports:
**
**   period,sender_cc,receiver_cc,service,quantity,amount
**   2026-01,CC-4100,CC-1100,it.helpdesk.hour,120,10200.00
**
** one row per allocation (a header line exactly as above; CRLF and a UTF-8
** BOM tolerated; no quoting: ids cannot hold commas). A period is a label:
** if every label is an integer they are ordered as numbers, else as
** strings (2026-01 .. 2026-12), and numbered 1..P. Amounts are decimals
** with at most two places, parsed by proto's imx_money_parse into minor
** units, never through a double. A bad row fails with the line and the column
** ("history.csv:17: amount: more than 2 decimal places").
**
** The model (what a history can tell, and what must be assumed):
** - services: every service of the file, unit "unit", tick 1, the mode of
**   --mode (auction by default); with the group's market file (--market),
**   the unit, tick and mode of its service of the same id (--mode, when
**   given, still decides the mode), and the cost centres' sites.
** - providers: the senders of a service. The flat rate is assumed to
**   recover cost, so the amounts charged for a sender are its cost pool and
**   c = total amount / total quantity (rounded) its mean cost. Capacity =
**   ceil(busiest period's quantity x (100 + headroom) / 100). Marginal costs
**   rise linearly from 80 % to 120 % of c over the capacity, the value at
**   the middle of each unit: c_k = c (160 cap + 40 (2k - 1)) / (200 cap).
** - receivers: each (receiver, service) pair. qbar = mean quantity a period
**   over all P periods (rounded, at least 1); p0 = total amount / total
**   quantity (what it paid per unit; at least 1 minor unit so that a value
**   schedule is never empty). Budget a period: twice its largest period
**   amount for the service (none if that is 0). Home: the sender that
**   served most of its quantity (ties: the sender seen first).
** - key per service: per_unit at rate r if every row has amount = quantity
**   x r for one r (to the cent), else percent with shares_bp = the
**   receivers' shares of the service's total amount (largest remainder, so
**   they sum to 10000; ties to the receiver seen first).
** - values, a linear demand curve with elasticity e (in thousandths):
**   per_unit (the rate was the marginal price): the line through (qbar,
**   p0) with point elasticity e there, v_k = p0 (2 qbar (1000 + e) -
**   1000 (2k - 1)) / (2 e qbar) for k = 1.. while v_k > 0 (at most 1e6
**   units); percent (the margin was free, so qbar is what it uses at price
**   0): the line reaching 0 at qbar with elasticity e at p0,
**   v_k = p0 (1000 + e) (2 qbar - 2k + 1) / (2 e qbar), k = 1..qbar.
** Schedules are written as [qty, price] runs of equal prices. Every product
** is bounded first (amounts <= 1e12 a row and 1e14 a service, quantities
** <= 1e9 a row, capacities and qbar <= 1e6, prices <= 1e9), so int64
** arithmetic cannot overflow; a history beyond them fails with a message.
*/
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "imx_sim.h"
#include "sim_int.h"

#define HISTORY_LINES_MAX 4000000u
#define LINE_BYTES_MAX 4096
#define LABEL_BYTES_MAX 32
#define QTY_ROW_MAX IMX_QTY_MAX
#define AMOUNT_ROW_MAX 1000000000000LL      /* 1e12 minor units a row     */
#define AMOUNT_SERVICE_MAX 100000000000000LL /* 1e14: x 10000 fits int64  */
#define PRICE_MAX IMX_PRICE_MAX_MINOR
#define COST_MEAN_MAX (PRICE_MAX / 6 * 5)   /* 1.2 c stays within 1e9     */
#define ELASTICITY_MAX 100000
#define HEADROOM_MAX 1000
#define ELASTICITIES_MAX 16

#define FIELDS_MAX 256u

/* One allocation row; prov and recv number the (cc, service) pairs. */
typedef struct hrow {
  uint32_t period, prov, recv;
  int64_t qty, amount_minor;
} hrow;

typedef struct hpair {
  uint32_t cc, service, line; /* line: where the pair first appears      */
  int64_t qty, amount_minor;  /* totals                                  */
  int64_t peak;               /* provider: busiest period's quantity;
                              ** receiver: largest period's amount       */
  uint32_t home;              /* receiver: provider pair serving most    */
  int64_t m1, m2;             /* the model: provider c and capacity;
                              ** receiver qbar and p0                    */
} hpair;

typedef struct hsvc {
  int64_t amount_minor, rate_minor; /* rate: -1 while no row had a qty   */
  int per_unit;                     /* every row so far at one rate      */
} hsvc;

/* What a history file says once read and aggregated (sim_history_read):
** everything but the elasticity's models. */
typedef struct sim_history hist;
struct sim_history {
  const char *path;
  char *errbuf;
  size_t errcap;
  names periods, ccs, services, pkeys, rkeys;
  hrow *rows;
  uint32_t rows_n, rows_cap;
  hpair *prov, *recv;
  uint32_t prov_cap, recv_cap;
  hsvc *svc;
  uint32_t svc_cap;
  uint32_t *period_rank;      /* label number -> 0-based position        */
  int labels_numeric;
  char delim;                 /* ',' or ';', from the header             */
  uint32_t col_of[6];         /* column -> field number                  */
  uint32_t col_at[FIELDS_MAX];/* field number -> column, 6: ignored      */
  char col_label[6][64];      /* "amount", or "amount (Betrag)"          */
  uint32_t fields_n, ignored; /* the header's fields; those ignored      */
  int64_t *rq;                /* [recv pair x P]: quantity by period rank */
  hrow *lines;                /* the rows summed by (period, sender,
                              ** receiver, service), in period rank order */
  uint32_t lines_n;
};

static int fail(hist *h, uint32_t line, const char *column, const char *fmt, ...) {
  char msg[200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  snprintf(h->errbuf, h->errcap, "%s:%u: %s: %s", h->path, line, column, msg);
  return -1;
}

/* --------------------------------------------------------- the format */

enum { COL_PERIOD, COL_SENDER, COL_RECEIVER, COL_SERVICE, COL_QTY, COL_AMOUNT, COLS };
static const char *const col_names[COLS] = {"period", "sender_cc", "receiver_cc",
                                            "service", "quantity", "amount"};
/* The header names each column goes by (compared case-insensitively, ASCII
** and the German umlauts): English as imx writes it and as ERPs export it,
** and the German of an SAP CO export. */
static const char *const col_aliases[COLS][8] = {
    {"period", "periode", "month", "monat", "buchungsperiode", NULL},
    {"sender_cc", "sender", "sender cost center", "sending cost center",
     "senderkostenstelle", "sender-kostenstelle", NULL},
    {"receiver_cc", "receiver", "receiver cost center", "receiving cost center",
     "empfänger", "empfaenger", "empfängerkostenstelle", "empfänger-kostenstelle"},
    {"service", "leistungsart", "activity type", "activity", NULL},
    {"quantity", "menge", "qty", "leistungsmenge", NULL},
    {"amount", "betrag", "wert", "value", NULL}};

/* a and b equal ignoring ASCII case and the case of Ä, Ö, Ü (UTF-8). */
static int name_eq(const char *a, const char *b) {
  for (;;) {
    unsigned char x = (unsigned char)*a, y = (unsigned char)*b;
    if (x == 0xC3 && y == 0xC3 && a[1] && b[1]) {
      unsigned char p = (unsigned char)a[1], q = (unsigned char)b[1];
      if (p == 0x84 || p == 0x96 || p == 0x9C) p += 0x20; /* Ä Ö Ü -> ä ö ü */
      if (q == 0x84 || q == 0x96 || q == 0x9C) q += 0x20;
      if (p != q) return 0;
      a += 2, b += 2;
      continue;
    }
    if (x >= 'A' && x <= 'Z') x += 32;
    if (y >= 'A' && y <= 'Z') y += 32;
    if (x != y) return 0;
    if (x == 0) return 1;
    a++, b++;
  }
}

/* The column's name for messages: the canonical one, with the file's own
** header in parentheses when that differs ("amount (Betrag)"). */
static const char *col_label(hist *h, int c) {
  return h->col_label[c];
}

/* The label of field k of a row, for messages. */
static const char *field_label(hist *h, uint32_t k) {
  return k < h->fields_n && h->col_at[k] < COLS ? h->col_label[h->col_at[k]] : "line";
}

/* Splits a line at the delimiter into fields (RFC 4180 quoting: a field
** that starts with a quote runs to the closing quote, "" inside is one
** quote), trimming blanks around unquoted fields; *n the number found. */
static int split(hist *h, uint32_t line, char *s, char **f, uint32_t *n) {
  uint32_t k = 0;
  char *p = s;
  for (;;) {
    if (k == FIELDS_MAX) return fail(h, line, "line", "more than %u fields", FIELDS_MAX);
    while (*p == ' ' || *p == '\t') p++;
    if (*p == '"') {
      char *w = ++p, *start = p;
      for (;;) {
        if (*p == '\0')
          return fail(h, line, field_label(h, k), "a quoted field has no closing quote");
        if (*p == '"' && p[1] == '"') {
          *w++ = '"';
          p += 2;
        } else if (*p == '"') {
          p++;
          break;
        } else {
          *w++ = *p++;
        }
      }
      *w = '\0';
      f[k++] = start;
      while (*p == ' ' || *p == '\t') p++;
      if (*p != h->delim && *p != '\0')
        return fail(h, line, field_label(h, k - 1), "text after a closing quote");
    } else {
      f[k++] = p;
      while (*p && *p != h->delim) p++;
      char *e = p;
      int last = *p == '\0';
      while (e > f[k - 1] && (e[-1] == ' ' || e[-1] == '\t')) e--;
      *e = '\0';
      if (last) break;
      p++; /* past the delimiter */
      continue;
    }
    if (*p == '\0') break;
    p++; /* past the delimiter */
  }
  *n = k;
  return 0;
}

/* The header: the delimiter (a ';' outside quotes makes it ';', else ','),
** then each column found by name; other columns are ignored. */
static int read_header(hist *h, char *s) {
  int quoted = 0;
  h->delim = ',';
  for (const char *p = s; *p; p++) {
    if (*p == '"') quoted = !quoted;
    else if (*p == ';' && !quoted) {
      h->delim = ';';
      break;
    }
  }
  char *f[FIELDS_MAX];
  uint32_t n = 0;
  for (int c = 0; c < COLS; c++) h->col_of[c] = UINT32_MAX;
  if (split(h, 1, s, f, &n)) return -1;
  for (uint32_t k = 0; k < n; k++) {
    h->col_at[k] = COLS;
    for (int c = 0; c < COLS; c++)
      for (int j = 0; j < 8 && col_aliases[c][j]; j++) {
        if (!name_eq(f[k], col_aliases[c][j])) continue;
        if (h->col_of[c] != UINT32_MAX)
          return fail(h, 1, "header", "two columns for %s: %u and %u", col_names[c],
                      h->col_of[c] + 1, k + 1);
        h->col_of[c] = k;
        h->col_at[k] = (uint32_t)c;
        if (strcmp(f[k], col_names[c]) == 0 || strlen(f[k]) > 40)
          snprintf(h->col_label[c], sizeof h->col_label[c], "%s", col_names[c]);
        else
          snprintf(h->col_label[c], sizeof h->col_label[c], "%s (%s)", col_names[c], f[k]);
        break;
      }
  }
  for (int c = 0; c < COLS; c++)
    if (h->col_of[c] == UINT32_MAX)
      return fail(h, 1, "header", "no column %s (or %s); the header needs period, "
                  "sender_cc, receiver_cc, service, quantity and amount (German: "
                  "Periode, Sender, Empfänger, Leistungsart, Menge, Betrag)",
                  col_names[c], col_aliases[c][1]);
  for (uint32_t k = 0; k < n; k++)
    if (h->col_at[k] == COLS) h->ignored++;
  h->fields_n = n;
  return 0;
}

/* A number as the file writes it, into canonical text in out ("-1234.56"):
** the decimal mark is the last '.' or ',' -- unless that is the file's
** thousands separator ('.' in a ';' file, ',' in a ',' file) followed by
** exactly three digits -- and the other mark may group the whole part in
** threes ("1.234,56" in a ';' file, "1,234.56" quoted in a ',' file).
** Returns 0, or -1 when it is not such a number (the money parser judges
** the rest: signs, decimal places). */
static int number_text(const hist *h, const char *s, char *out, size_t cap) {
  static const char digits[] = "0123456789";
  size_t n = strlen(s), o = 0;
  char thousands = h->delim == ';' ? '.' : ',';
  const char *dec = NULL;
  for (size_t i = n; i > 0 && dec == NULL; i--)
    if (s[i - 1] == '.' || s[i - 1] == ',') dec = s + i - 1;
  if (dec && *dec == thousands && n - (size_t)(dec - s) - 1 == 3 &&
      strspn(dec + 1, digits) == 3)
    dec = NULL;
  char sep = dec ? (*dec == '.' ? ',' : '.') : thousands;
  const char *p = s, *end = dec ? dec : s + n;
  if (*p == '-' && o + 1 < cap) out[o++] = *p++;
  int grouped = 0;
  size_t run = 0;
  for (; p < end; p++) {
    if (*p == sep) {
      if (run == 0 || run > 3 || (grouped && run != 3)) return -1;
      grouped = 1;
      run = 0;
      continue;
    }
    if (*p < '0' || *p > '9' || o + 2 >= cap) return -1;
    out[o++] = *p;
    run++;
  }
  if (run == 0 || (grouped && run != 3)) return -1;
  if (dec) {
    out[o++] = '.';
    for (p = dec + 1; *p; p++) {
      if (o + 1 >= cap) return -1;
      out[o++] = *p;
    }
  }
  out[o] = '\0';
  return 0;
}

/* ------------------------------------------------------------- fields */

static int parse_id(hist *h, uint32_t line, const char *col, const char *s, size_t max) {
  size_t n = strlen(s);
  if (n == 0) return fail(h, line, col, "missing");
  if (n > max) return fail(h, line, col, "longer than %zu bytes", max);
  for (size_t i = 0; i < n; i++)
    if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '"')
      return fail(h, line, col, "must not contain control characters or quotes");
  return 0;
}

static int parse_qty(hist *h, uint32_t line, const char *s, int64_t *out) {
  char t[64];
  const char *col = col_label(h, COL_QTY);
  /* A whole number; an ERP's "34,000" (three zero decimals) is 34. */
  if (number_text(h, s, t, sizeof t) != 0) t[0] = 'x';
  char *dot = strchr(t, '.');
  if (dot && dot[1] && strspn(dot + 1, "0") == strlen(dot + 1)) *dot = '\0';
  size_t n = strlen(t);
  if (n == 0 || n > 10 || strspn(t, "0123456789") != n)
    return fail(h, line, col, "must be a whole number of units, 0 to 1e9");
  *out = strtoll(t, NULL, 10);
  if (*out > QTY_ROW_MAX)
    return fail(h, line, col, "must be a whole number of units, 0 to 1e9");
  return 0;
}

/* "1234.56", "1234.5", "1234" -> minor units, by proto's one exact money
** parser (the file's amounts have two decimals, whatever the market's
** currency), with this file's words for what is wrong. */
static int parse_amount(hist *h, uint32_t line, const char *s, int64_t *out) {
  imx_proto_error err = {0};
  char t[64];
  const char *why = "must be a decimal amount such as 1234.56 (or 1234,56)";
  if (number_text(h, s, t, sizeof t) == 0) {
    if (imx_money_parse(t, 2, 0, AMOUNT_ROW_MAX, out, &err) == 0) return 0;
    if (strstr(err.message, "decimals")) why = "more than 2 decimal places";
    else if (strstr(err.message, "limit")) why = "above 1e10";
    else if (strstr(err.message, "negative")) why = err.message;
  }
  return fail(h, line, col_label(h, COL_AMOUNT), "%s", why);
}

/* --------------------------------------------------------- aggregation */

static int grow(void **p, uint32_t *cap, uint32_t need, size_t size) {
  if (need <= *cap) return 0;
  uint32_t c = *cap ? *cap : 64;
  while (c < need) c *= 2;
  void *q = realloc(*p, (size_t)c * size);
  if (q == NULL) return -1;
  *p = q;
  *cap = c;
  return 0;
}

/* The pair number of (cc, service) on one side, adding it if new; a cost
** centre may not be on both sides of one service. */
static int64_t pair_of(hist *h, uint32_t line, int recv, uint32_t cc, uint32_t s) {
  char key[32];
  snprintf(key, sizeof key, "%u\x1f%u", s, cc);
  names *mine = recv ? &h->rkeys : &h->pkeys, *other = recv ? &h->pkeys : &h->rkeys;
  uint32_t before = mine->n;
  int64_t k = names_intern(mine, key);
  if (k < 0 || grow(recv ? (void **)&h->recv : (void **)&h->prov,
                    recv ? &h->recv_cap : &h->prov_cap, mine->n, sizeof(hpair)))
    return fail(h, line, "service", "out of memory");
  if (mine->n == before) return k;
  int64_t o = names_find(other, key);
  if (o >= 0)
    return fail(h, line, col_label(h, recv ? COL_RECEIVER : COL_SENDER),
                "%s both sends and receives %s (line %u); a cost centre cannot be "
                "on both sides of one service", h->ccs.v[cc], h->services.v[s],
                (recv ? h->prov : h->recv)[o].line);
  hpair *p = recv ? &h->recv[k] : &h->prov[k];
  memset(p, 0, sizeof *p);
  p->cc = cc;
  p->service = s;
  p->line = line;
  return k;
}

static int64_t intern(hist *h, uint32_t line, const char *col, names *t, const char *s) {
  int64_t k = names_intern(t, s);
  return k < 0 ? fail(h, line, col, "out of memory") : k;
}

/* The running per_unit test of a service: one rate, to the cent. */
static void key_row(hsvc *sv, int64_t qty, int64_t amount) {
  if (qty == 0) {
    if (amount != 0) sv->per_unit = 0;
  } else if (amount % qty != 0) {
    sv->per_unit = 0;
  } else if (sv->rate_minor < 0) {
    sv->rate_minor = amount / qty;
  } else if (sv->rate_minor != amount / qty) {
    sv->per_unit = 0;
  }
}

static int add_row(hist *h, uint32_t line, char **f) {
  int64_t qty = 0, amount = 0;
  if (parse_id(h, line, col_label(h, COL_PERIOD), f[0], LABEL_BYTES_MAX) ||
      parse_id(h, line, col_label(h, COL_SENDER), f[1], IMX_NAME_BYTES_MAX) ||
      parse_id(h, line, col_label(h, COL_RECEIVER), f[2], IMX_NAME_BYTES_MAX) ||
      parse_id(h, line, col_label(h, COL_SERVICE), f[3], IMX_NAME_BYTES_MAX) ||
      parse_qty(h, line, f[4], &qty) || parse_amount(h, line, f[5], &amount))
    return -1;
  if (strcmp(f[1], f[2]) == 0)
    return fail(h, line, col_label(h, COL_RECEIVER), "same as %s", col_label(h, COL_SENDER));
  if (h->rows_n == HISTORY_LINES_MAX)
    return fail(h, line, "period", "more than 4,000,000 rows");
  uint32_t nper = h->periods.n;
  int64_t per = intern(h, line, "period", &h->periods, f[0]);
  if (per >= 0 && h->periods.n > SIM_PERIODS_MAX)
    return fail(h, line, "period", "more than %u distinct periods", SIM_PERIODS_MAX);
  if (per >= 0 && h->periods.n > nper && strspn(f[0], "0123456789") != strlen(f[0]))
    h->labels_numeric = 0;
  int64_t snd = intern(h, line, "sender_cc", &h->ccs, f[1]);
  int64_t rcv = intern(h, line, "receiver_cc", &h->ccs, f[2]);
  uint32_t nsvc = h->services.n;
  int64_t s = intern(h, line, "service", &h->services, f[3]);
  if (per < 0 || snd < 0 || rcv < 0 || s < 0) return -1;
  if (grow((void **)&h->svc, &h->svc_cap, h->services.n, sizeof *h->svc))
    return fail(h, line, "service", "out of memory");
  if ((uint32_t)s == nsvc) h->svc[s] = (hsvc){.per_unit = 1, .rate_minor = -1};
  int64_t p = pair_of(h, line, 0, (uint32_t)snd, (uint32_t)s);
  int64_t r = p < 0 ? -1 : pair_of(h, line, 1, (uint32_t)rcv, (uint32_t)s);
  if (r < 0 || grow((void **)&h->rows, &h->rows_cap, h->rows_n + 1, sizeof *h->rows))
    return r < 0 ? -1 : fail(h, line, "period", "out of memory");
  hsvc *sv = &h->svc[s];
  if (amount > AMOUNT_SERVICE_MAX - sv->amount_minor)
    return fail(h, line, col_label(h, COL_AMOUNT), "the service's total passes 1e12 (1e14 minor units)");
  sv->amount_minor += amount;
  key_row(sv, qty, amount);
  h->prov[p].qty += qty;
  h->prov[p].amount_minor += amount;
  h->recv[r].qty += qty;
  h->recv[r].amount_minor += amount;
  h->rows[h->rows_n++] = (hrow){(uint32_t)per, (uint32_t)p, (uint32_t)r, qty, amount};
  return 0;
}

/* The six columns of a data line, in column order, from its fields. */
static int row_fields(hist *h, uint32_t line, char *s, char **col) {
  char *f[FIELDS_MAX];
  uint32_t n = 0;
  if (split(h, line, s, f, &n)) return -1;
  if (n > h->fields_n)
    return fail(h, line, "line", "%u fields, the header has %u (a separator in an "
                "unquoted field?)", n, h->fields_n);
  for (int c = 0; c < COLS; c++) {
    if (h->col_of[c] >= n)
      return fail(h, line, col_label(h, c), "missing (the line has %u fields, the "
                  "header %u)", n, h->fields_n);
    col[c] = f[h->col_of[c]];
  }
  return 0;
}

static int read_history(hist *h, FILE *in) {
  char *buf = NULL, *f[COLS];
  size_t cap = 0;
  ssize_t n;
  uint32_t line = 0;
  int rc = 0;
  h->labels_numeric = 1;
  while (rc == 0 && (n = getline(&buf, &cap, in)) >= 0) {
    line++;
    if (n > LINE_BYTES_MAX) rc = fail(h, line, "line", "longer than 4096 bytes");
    else if (memchr(buf, '\0', (size_t)n)) rc = fail(h, line, "line", "contains a NUL byte");
    if (rc) break;
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r')) buf[--n] = '\0';
    char *s = buf;
    if (line == 1) {
      if (strncmp(s, "\xEF\xBB\xBF", 3) == 0) s += 3;
      rc = read_header(h, s);
    } else if (n > 0) {
      rc = row_fields(h, line, s, f) || add_row(h, line, f) ? -1 : 0;
    }
  }
  free(buf);
  if (rc == 0 && ferror(in)) rc = fail(h, line, "line", "cannot read the file");
  if (rc == 0 && line == 0) rc = fail(h, 1, "header", "the file is empty");
  if (rc == 0 && h->rows_n == 0) rc = fail(h, line, "line", "no allocation rows");
  return rc;
}

/* ------------------------------------------------------------ periods */

typedef struct plabel {
  const char *s;
  uint32_t idx;
  int numeric;
} plabel;

static int cmp_label(const void *a, const void *b) {
  const plabel *x = a, *y = b;
  if (x->numeric) { /* digits only: fewer significant digits is smaller */
    const char *p = x->s + strspn(x->s, "0"), *q = y->s + strspn(y->s, "0");
    size_t lp = strlen(p), lq = strlen(q);
    if (lp != lq) return lp < lq ? -1 : 1;
    int c = strcmp(p, q);
    if (c) return c;
  }
  return strcmp(x->s, y->s);
}

static int rank_periods(hist *h) {
  uint32_t n = h->periods.n;
  plabel *l = malloc((size_t)n * sizeof *l);
  h->period_rank = malloc((size_t)n * sizeof *h->period_rank);
  if (l == NULL || h->period_rank == NULL) {
    free(l);
    return fail(h, 1, "period", "out of memory");
  }
  for (uint32_t i = 0; i < n; i++)
    l[i] = (plabel){h->periods.v[i], i, h->labels_numeric};
  qsort(l, n, sizeof *l, cmp_label);
  for (uint32_t i = 0; i < n; i++) h->period_rank[l[i].idx] = i;
  free(l);
  return 0;
}

/* -------------------------------------------------------- aggregation */

static int cmp_u32(uint32_t a, uint32_t b) { return a < b ? -1 : a > b; }

static int cmp_prov_period(const void *a, const void *b) {
  const hrow *x = a, *y = b;
  return x->prov != y->prov ? cmp_u32(x->prov, y->prov) : cmp_u32(x->period, y->period);
}

static int cmp_recv_period(const void *a, const void *b) {
  const hrow *x = a, *y = b;
  return x->recv != y->recv ? cmp_u32(x->recv, y->recv) : cmp_u32(x->period, y->period);
}

static int cmp_recv_prov(const void *a, const void *b) {
  const hrow *x = a, *y = b;
  return x->recv != y->recv ? cmp_u32(x->recv, y->recv) : cmp_u32(x->prov, y->prov);
}

/* Busiest periods and homes: the rows sorted three ways, summed in runs. */
static void aggregate(hist *h) {
  hrow *r = h->rows;
  uint32_t n = h->rows_n;
  qsort(r, n, sizeof *r, cmp_prov_period);
  for (uint32_t i = 0, j; i < n; i = j) {
    int64_t sum = 0;
    for (j = i; j < n && r[j].prov == r[i].prov && r[j].period == r[i].period; j++)
      sum += r[j].qty;
    if (sum > h->prov[r[i].prov].peak) h->prov[r[i].prov].peak = sum;
  }
  qsort(r, n, sizeof *r, cmp_recv_period);
  for (uint32_t i = 0, j; i < n; i = j) {
    int64_t sum = 0;
    for (j = i; j < n && r[j].recv == r[i].recv && r[j].period == r[i].period; j++)
      sum += r[j].amount_minor;
    if (sum > h->recv[r[i].recv].peak) h->recv[r[i].recv].peak = sum;
  }
  qsort(r, n, sizeof *r, cmp_recv_prov);
  int64_t best = -1;
  for (uint32_t i = 0, j; i < n; i = j) {
    int64_t sum = 0;
    for (j = i; j < n && r[j].recv == r[i].recv && r[j].prov == r[i].prov; j++)
      sum += r[j].qty;
    if (i == 0 || r[i].recv != r[i - 1].recv) best = -1;
    if (sum > best) { /* sorted by provider: ties keep the first seen */
      best = sum;
      h->recv[r[i].recv].home = r[i].prov;
    }
  }
}

static int cmp_line(const void *a, const void *b) {
  const hrow *x = a, *y = b;
  if (x->period != y->period) return cmp_u32(x->period, y->period);
  return x->recv != y->recv ? cmp_u32(x->recv, y->recv) : cmp_u32(x->prov, y->prov);
}

/* Each receiver's quantity a period, and the history's lines summed (an
** ERP may split one allocation over several rows), periods by rank. */
static int lines_and_quantities(hist *h) {
  uint32_t P = h->periods.n;
  h->rq = calloc((size_t)h->rkeys.n * P + 1, sizeof *h->rq);
  h->lines = malloc(((size_t)h->rows_n + 1) * sizeof *h->lines);
  if (h->rq == NULL || h->lines == NULL) return fail(h, 1, "line", "out of memory");
  for (uint32_t i = 0; i < h->rows_n; i++) {
    hrow x = h->rows[i];
    x.period = h->period_rank[x.period];
    h->rq[(size_t)x.recv * P + x.period] += x.qty;
    h->lines[i] = x;
  }
  qsort(h->lines, h->rows_n, sizeof *h->lines, cmp_line);
  uint32_t m = 0;
  for (uint32_t i = 0; i < h->rows_n; i++) {
    if (m > 0 && cmp_line(&h->lines[m - 1], &h->lines[i]) == 0) {
      h->lines[m - 1].qty += h->lines[i].qty;
      h->lines[m - 1].amount_minor += h->lines[i].amount_minor;
    } else {
      h->lines[m++] = h->lines[i];
    }
  }
  h->lines_n = m;
  for (uint32_t i = 0; i < (size_t)h->rkeys.n * P; i++)
    if (h->rq[i] > SIM_SCHEDULE_MAX)
      return fail(h, h->recv[i / P].line, col_label(h, COL_QTY), "%s uses more than 1e6 "
                  "units of %s in a period", h->ccs.v[h->recv[i / P].cc],
                  h->services.v[h->recv[i / P].service]);
  return 0;
}

/* -------------------------------------------------------------- model */

/* c and the capacity of a provider; m1 = c, m2 = cap. */
static int provider_model(hist *h, hpair *p, int64_t headroom) {
  const char *who = h->ccs.v[p->cc], *what = h->services.v[p->service];
  if (p->qty == 0)
    return fail(h, p->line, "quantity", "%s never delivers %s (total quantity 0), so its "
                "cost per unit is unknown", who, what);
  assert(p->peak >= 1 && p->amount_minor <= AMOUNT_SERVICE_MAX);
  if (p->peak > SIM_SCHEDULE_MAX)
    return fail(h, p->line, "quantity", "%s delivers more than 1e6 units of %s in "
                "a period", who, what);
  int64_t cap = (p->peak * (100 + headroom) + 99) / 100;
  if (cap > SIM_SCHEDULE_MAX) cap = SIM_SCHEDULE_MAX;
  int64_t c = (p->amount_minor + p->qty / 2) / p->qty;
  if (c > COST_MEAN_MAX)
    return fail(h, p->line, "amount", "%s's cost per unit of %s is above 8.3e8 minor "
                "units (its marginal costs would pass 1e9)", who, what);
  p->m1 = c;
  p->m2 = cap;
  return 0;
}

static int64_t cost_k(int64_t c, int64_t cap, int64_t k) {
  assert(k >= 1 && k <= cap && c <= COST_MEAN_MAX && cap <= SIM_SCHEDULE_MAX);
  return c * (160 * cap + 40 * (2 * k - 1)) / (200 * cap);
}

static int64_t value_k(int per_unit, int64_t p0, int64_t qbar, int64_t e, int64_t k) {
  int64_t d = 2 * e * qbar;
  if (per_unit) return p0 * (2 * qbar * (1000 + e) - 1000 * (2 * k - 1)) / d;
  return p0 * (1000 + e) * (2 * qbar - 2 * k + 1) / d;
}

/* qbar and p0 of a receiver; m1 = qbar, m2 = p0. */
static int receiver_model(hist *h, hpair *r, int64_t e, int per_unit) {
  const char *who = h->ccs.v[r->cc], *what = h->services.v[r->service];
  int64_t periods = h->periods.n;
  int64_t qbar = (2 * r->qty + periods) / (2 * periods);
  if (qbar < 1) qbar = 1;
  if (qbar > SIM_SCHEDULE_MAX)
    return fail(h, r->line, "quantity", "%s uses more than 1e6 units of %s a period",
                who, what);
  int64_t p0 = r->qty ? (r->amount_minor + r->qty / 2) / r->qty : r->amount_minor;
  if (p0 < 1) p0 = 1;
  if (p0 > PRICE_MAX || qbar * (1000 + e) > INT64_MAX / (2 * p0))
    return fail(h, r->line, "amount", "%s pays too much per unit of %s to model "
                "(above 1e9 minor units)", who, what);
  if (value_k(per_unit, p0, qbar, e, 1) > PRICE_MAX)
    return fail(h, r->line, "amount", "%s's value per unit of %s would be above 1e9 "
                "minor units at this elasticity", who, what);
  r->m1 = qbar;
  r->m2 = p0;
  return 0;
}

static int build_models(hist *h, const sim_import_opts *o) {
  for (uint32_t i = 0; i < h->pkeys.n; i++)
    if (provider_model(h, &h->prov[i], o->headroom_percent)) return -1;
  for (uint32_t i = 0; i < h->rkeys.n; i++) {
    const hsvc *sv = &h->svc[h->recv[i].service];
    if (receiver_model(h, &h->recv[i], o->elasticity_milli,
                       sv->per_unit && sv->rate_minor >= 0))
      return -1;
  }
  /* A rate above the price limit made every provider's c fail above. */
  for (uint32_t s = 0; s < h->services.n; s++)
    assert(!h->svc[s].per_unit || h->svc[s].rate_minor <= COST_MEAN_MAX);
  return 0;
}

/* ------------------------------------------------------------- shares */

typedef struct share {
  int64_t rem;
  uint32_t pair;
} share;

static int cmp_share(const void *a, const void *b) {
  const share *x = a, *y = b;
  if (x->rem != y->rem) return x->rem > y->rem ? -1 : 1;
  return cmp_u32(x->pair, y->pair);
}

/* Basis points of each receiver pair of service s (bp[pair]), by the
** largest-remainder method; tmp holds a share per receiver pair. */
static void shares_bp(const hist *h, uint32_t s, const uint32_t *pairs,
                      uint32_t pairs_n, int64_t *bp, share *tmp) {
  int64_t total = h->svc[s].amount_minor, sum = 0;
  uint32_t n = 0;
  assert(total > 0 && total <= AMOUNT_SERVICE_MAX);
  for (uint32_t j = 0; j < pairs_n; j++) {
    uint32_t i = pairs[j];
    assert(h->recv[i].service == s);
    int64_t x = h->recv[i].amount_minor * 10000; /* <= 1e18 */
    bp[i] = x / total;
    sum += bp[i];
    tmp[n++] = (share){x % total, i};
  }
  assert(sum <= 10000 && 10000 - sum <= n);
  qsort(tmp, n, sizeof *tmp, cmp_share);
  for (uint32_t k = 0; k < (uint32_t)(10000 - sum); k++) bp[tmp[k].pair]++;
}

/* ------------------------------------------------------------- output */

typedef struct runs {
  FILE *out;
  int64_t price, qty;
  int n;
} runs;

static void runs_flush(runs *r) {
  if (r->qty == 0) return;
  fputs(r->n++ ? ", " : "", r->out);
  if (r->qty == 1) fprintf(r->out, "%" PRId64, r->price);
  else fprintf(r->out, "[%" PRId64 ", %" PRId64 "]", r->qty, r->price);
  r->qty = 0;
}

static void runs_add(runs *r, int64_t price) {
  if (r->qty > 0 && price == r->price) {
    r->qty++;
    return;
  }
  runs_flush(r);
  r->price = price;
  r->qty = 1;
}

static const char *label_at(const hist *h, uint32_t rank) {
  for (uint32_t i = 0; i < h->periods.n; i++)
    if (h->period_rank[i] == rank) return h->periods.v[i];
  assert(0);
  return "";
}

static void write_head(const hist *h, const sim_import_opts *o, FILE *out) {
  char e[32], desc[1024];
  sim_milli_text(o->elasticity_milli, e, sizeof e);
  snprintf(desc, sizeof desc,
           "Imported by imx-sim import from %s: %u periods (%s .. %s), elasticity %s, "
           "capacity headroom %" PRId64 " %%. Providers' costs: the amounts charged "
           "for them, 80 %% to 120 %% of their mean; receivers' values: a linear "
           "demand curve through what they used and paid.",
           h->path, h->periods.n, label_at(h, 0), label_at(h, h->periods.n - 1), e,
           o->headroom_percent);
  fputs("{\n  \"description\": ", out);
  sim_json_str(out, desc);
  fprintf(out, ",\n  \"currency\": \"%s\",\n  \"periods\": %u,\n  \"period_labels\": [",
          o->market ? o->market->currency : "EUR", h->periods.n);
  for (uint32_t p = 0; p < h->periods.n; p++) {
    fputs(p ? ", " : "", out);
    sim_json_str(out, label_at(h, p));
  }
  fprintf(out, "],\n  \"seed\": %" PRIu64 ",\n  \"agents\": \"%s\",\n  \"services\": [\n",
          o->seed, sim_agents_name(o->agents));
  for (uint32_t s = 0; s < h->services.n; s++) {
    /* The market file knows the unit, the tick and the mode; the history
    ** only the id. */
    int64_t m = o->market ? imx_market_service_find(o->market, h->services.v[s]) : -1;
    const imx_market_service *ms = m >= 0 ? &o->market->services[m] : NULL;
    fputs("    {\"id\": ", out);
    sim_json_str(out, h->services.v[s]);
    fputs(", \"unit\": ", out);
    sim_json_str(out, ms ? ms->unit : "unit");
    fprintf(out, ", \"mode\": \"%s\", \"tick\": %" PRId64 "}%s\n",
            (o->auction >= 0 ? o->auction : ms ? ms->auction : 1) ? "auction"
                                                                  : "continuous",
            ms ? ms->tick_minor : 1, s + 1 < h->services.n ? "," : "");
  }
}

/* , "name": "...", "site": "..." when the market file knows the cost
** centre's name (other than its id) and site. */
static void write_site(const sim_import_opts *o, const char *cc, FILE *out) {
  int64_t c = o->market ? imx_market_cc_find(o->market, cc) : -1;
  if (c < 0) return;
  if (o->market->ccs[c].name[0] && strcmp(o->market->ccs[c].name, cc) != 0) {
    fputs(", \"name\": ", out);
    sim_json_str(out, o->market->ccs[c].name);
  }
  if (o->market->ccs[c].site[0] == '\0') return;
  fputs(", \"site\": ", out);
  sim_json_str(out, o->market->ccs[c].site);
}

static void write_rows(const hist *h, const sim_import_opts *o, FILE *out) {
  fputs("  ],\n  \"providers\": [\n", out);
  for (uint32_t i = 0; i < h->pkeys.n; i++) {
    const hpair *p = &h->prov[i];
    runs r = {.out = out};
    fputs("    {\"cc\": ", out);
    sim_json_str(out, h->ccs.v[p->cc]);
    write_site(o, h->ccs.v[p->cc], out);
    fputs(", \"service\": ", out);
    sim_json_str(out, h->services.v[p->service]);
    fputs(", \"costs\": [", out);
    for (int64_t k = 1; k <= p->m2; k++) runs_add(&r, cost_k(p->m1, p->m2, k));
    runs_flush(&r);
    fprintf(out, "]}%s\n", i + 1 < h->pkeys.n ? "," : "");
  }
  fputs("  ],\n  \"receivers\": [\n", out);
  for (uint32_t i = 0; i < h->rkeys.n; i++) {
    const hpair *p = &h->recv[i];
    const hsvc *sv = &h->svc[p->service];
    int per_unit = sv->per_unit && sv->rate_minor >= 0;
    runs r = {.out = out};
    fputs("    {\"cc\": ", out);
    sim_json_str(out, h->ccs.v[p->cc]);
    write_site(o, h->ccs.v[p->cc], out);
    fputs(", \"service\": ", out);
    sim_json_str(out, h->services.v[p->service]);
    if (p->peak > 0) fprintf(out, ", \"budget\": %" PRId64, 2 * p->peak);
    fputs(", \"values\": [", out);
    for (int64_t k = 1; k <= SIM_SCHEDULE_MAX && (per_unit || k <= p->m1); k++) {
      int64_t v = value_k(per_unit, p->m2, p->m1, o->elasticity_milli, k);
      if (per_unit && v <= 0) break;
      /* A unit the receiver used is worth more than the price it paid at
      ** the margin, whatever the rounding: per_unit more than the rate,
      ** percent more than nothing. */
      int64_t floor = per_unit ? p->m2 + 1 : 1;
      if (k <= p->m1 && v < floor) v = floor;
      runs_add(&r, v);
    }
    runs_flush(&r);
    fprintf(out, "], \"at\": %" PRId64 ", \"quantities\": [", p->m1);
    for (uint32_t t = 0; t < h->periods.n; t++)
      fprintf(out, "%s%" PRId64, t ? ", " : "", h->rq[(size_t)i * h->periods.n + t]);
    fprintf(out, "]}%s\n", i + 1 < h->rkeys.n ? "," : "");
  }
}

/* One receiver -> value member per receiver pair of service s. */
static void write_map(const hist *h, const uint32_t *pairs, uint32_t pairs_n,
                      const int64_t *bp, FILE *out) {
  int first = 1;
  fputs(bp ? "\"shares_bp\": {" : "\"home\": {", out);
  for (uint32_t j = 0; j < pairs_n; j++) {
    uint32_t i = pairs[j];
    if (bp && bp[i] == 0) continue;
    fputs(first ? "" : ", ", out);
    first = 0;
    sim_json_str(out, h->ccs.v[h->recv[i].cc]);
    fputs(": ", out);
    if (bp) fprintf(out, "%" PRId64, bp[i]);
    else sim_json_str(out, h->ccs.v[h->prov[h->recv[i].home].cc]);
  }
  fputs("}", out);
}

/* The receiver pairs grouped by service, in pair order: service s has
** idx[off[s] .. off[s + 1]), so that each service's entry is linear. */
static int recv_by_service(const hist *h, uint32_t **off_out, uint32_t **idx_out) {
  uint32_t *off = calloc((size_t)h->services.n + 1, sizeof *off);
  uint32_t *idx = malloc(((size_t)h->rkeys.n + 1) * sizeof *idx);
  uint32_t *next = calloc((size_t)h->services.n + 1, sizeof *next);
  *off_out = off, *idx_out = idx;
  if (!off || !idx || !next) return free(next), -1;
  for (uint32_t i = 0; i < h->rkeys.n; i++) off[h->recv[i].service + 1]++;
  for (uint32_t s = 0; s < h->services.n; s++) off[s + 1] += off[s];
  for (uint32_t i = 0; i < h->rkeys.n; i++) {
    uint32_t s = h->recv[i].service;
    idx[off[s] + next[s]++] = i;
  }
  free(next);
  return 0;
}

static int write_flat(const hist *h, FILE *out) {
  int64_t *bp = calloc((size_t)h->rkeys.n + 1, sizeof *bp);
  share *tmp = malloc(((size_t)h->rkeys.n + 1) * sizeof *tmp);
  uint32_t *off = NULL, *idx = NULL;
  int rc = bp && tmp ? recv_by_service(h, &off, &idx) : -1;
  fputs("  ],\n  \"flat_rate\": [\n", out);
  for (uint32_t s = 0; rc == 0 && s < h->services.n; s++) {
    const hsvc *sv = &h->svc[s];
    const uint32_t *pairs = idx + off[s];
    uint32_t n = off[s + 1] - off[s];
    fputs("    {\"service\": ", out);
    sim_json_str(out, h->services.v[s]);
    if (sv->per_unit && sv->rate_minor >= 0) {
      fprintf(out, ", \"key\": \"per_unit\", \"rate\": %" PRId64 ",\n     ", sv->rate_minor);
    } else {
      shares_bp(h, s, pairs, n, bp, tmp);
      fputs(", \"key\": \"percent\",\n     ", out);
      write_map(h, pairs, n, bp, out);
      fputs(",\n     ", out);
    }
    write_map(h, pairs, n, NULL, out);
    fprintf(out, "}%s\n", s + 1 < h->services.n ? "," : "");
  }
  if (rc == 0) {
    fputs("  ],\n  \"history\": [\n", out);
    for (uint32_t k = 0; k < h->lines_n; k++) {
      const hrow *l = &h->lines[k];
      fprintf(out, "    {\"period\": %u, \"sender\": ", l->period + 1);
      sim_json_str(out, h->ccs.v[h->prov[l->prov].cc]);
      fputs(", \"receiver\": ", out);
      sim_json_str(out, h->ccs.v[h->recv[l->recv].cc]);
      fputs(", \"service\": ", out);
      sim_json_str(out, h->services.v[h->recv[l->recv].service]);
      fprintf(out, ", \"quantity\": %" PRId64 ", \"amount\": %" PRId64 "}%s\n", l->qty,
              l->amount_minor, k + 1 < h->lines_n ? "," : "");
    }
    fputs("  ]\n}\n", out);
  }
  free(bp);
  free(tmp);
  free(off);
  free(idx);
  return rc;
}

static void hist_free(hist *h) {
  names_free(&h->periods);
  names_free(&h->ccs);
  names_free(&h->services);
  names_free(&h->pkeys);
  names_free(&h->rkeys);
  free(h->rows);
  free(h->prov);
  free(h->recv);
  free(h->svc);
  free(h->period_rank);
  free(h->rq);
  free(h->lines);
}

int sim_history_read(const char *csv_path, sim_history **out, char *errbuf,
                     size_t errcap) {
  assert(errbuf != NULL && errcap > 0);
  *out = NULL;
  FILE *in = fopen(csv_path, "r");
  if (in == NULL) {
    snprintf(errbuf, errcap, "%s: cannot open (%s)", csv_path, strerror(errno));
    return -1;
  }
  hist *h = calloc(1, sizeof *h);
  if (h == NULL) {
    fclose(in);
    snprintf(errbuf, errcap, "%s: out of memory", csv_path);
    return -1;
  }
  *h = (hist){.path = csv_path, .errbuf = errbuf, .errcap = errcap};
  int rc = read_history(h, in);
  fclose(in);
  if (rc == 0) rc = rank_periods(h);
  if (rc == 0) aggregate(h);
  if (rc == 0) rc = lines_and_quantities(h);
  if (rc != 0) {
    sim_history_free(h);
    return -1;
  }
  *out = h;
  return 0;
}

int sim_history_write(sim_history *h, const sim_import_opts *o, FILE *json_out,
                      char *errbuf, size_t errcap) {
  assert(errbuf != NULL && errcap > 0);
  h->errbuf = errbuf;
  h->errcap = errcap;
  if (o->elasticity_milli < 1 || o->elasticity_milli > ELASTICITY_MAX ||
      o->headroom_percent < 0 || o->headroom_percent > HEADROOM_MAX ||
      o->agents >= SIM_AGENTS_N || o->seed > (1ull << 53)) {
    snprintf(errbuf, errcap, "%s: bad import options (elasticity 0.001 to 100, "
             "headroom 0 to 1000 %%, seed 0 to 2^53)", h->path);
    return -1;
  }
  if (build_models(h, o) != 0) return -1;
  write_head(h, o, json_out);
  write_rows(h, o, json_out);
  if (write_flat(h, json_out) != 0 || ferror(json_out)) {
    snprintf(errbuf, errcap, "%s: cannot write the scenario", h->path);
    return -1;
  }
  return 0;
}

void sim_history_free(sim_history *h) {
  if (h == NULL) return;
  hist_free(h);
  free(h);
}

int sim_import_history(const char *csv_path, const sim_import_opts *o,
                       FILE *json_out, char *errbuf, size_t errcap) {
  sim_history *h;
  if (sim_history_read(csv_path, &h, errbuf, errcap) != 0) return -1;
  int rc = sim_history_write(h, o, json_out, errbuf, errcap);
  sim_history_free(h);
  return rc;
}

int sim_history_market_misfits(const sim_history *h, const imx_market *m, char *buf,
                               size_t cap) {
  int n = 0;
  size_t o = 0;
  buf[0] = '\0';
  for (int pass = 0; pass < 2; pass++) {
    const names *t = pass ? &h->services : &h->ccs;
    int first = 1;
    for (uint32_t i = 0; i < t->n; i++) {
      int64_t k = pass ? imx_market_service_find(m, t->v[i]) : imx_market_cc_find(m, t->v[i]);
      if (k >= 0) continue;
      n++;
      if (o + 1 >= cap) continue;
      o += (size_t)snprintf(buf + o, cap - o, "%s%s",
                            first ? (o ? "; services " : pass ? "services " : "cost centres ")
                                  : ", ",
                            t->v[i]);
      first = 0;
    }
  }
  if (o >= cap && cap > 4) memcpy(buf + cap - 4, "...", 4);
  return n;
}

void sim_history_warn_market(const sim_history *h, const imx_market *m,
                             const char *market_path, const char *prog, FILE *err) {
  char list[1024];
  int n = sim_history_market_misfits(h, m, list, sizeof list);
  if (n > 0)
    fprintf(err, "%s: warning: %s does not know %d of the history's names (%s): they "
            "get the defaults (no site; unit \"unit\", tick 1)\n", prog, market_path,
            n, list);
}

int64_t sim_elasticity_parse(const char *s) {
  size_t whole = strspn(s, "0123456789");
  const char *frac = s + whole;
  size_t places = *frac == '.' ? strspn(frac + 1, "0123456789") : 0;
  if (whole == 0 || whole > 6 || (*frac && *frac != '.') ||
      (*frac == '.' && (places == 0 || places > 3 || frac[1 + places] != '\0')))
    return -1;
  int64_t v = 0;
  for (size_t i = 0; i < whole; i++) v = v * 10 + (s[i] - '0');
  for (size_t i = 0; i < 3; i++) v = v * 10 + (i < places ? frac[1 + i] - '0' : 0);
  return v >= 1 && v <= ELASTICITY_MAX ? v : -1;
}

/* ---------------------------------------------------------------- CLI */

typedef struct import_args {
  const char *history, *out, *market;
  int64_t e[ELASTICITIES_MAX];
  uint32_t e_n;
  sim_import_opts o;
} import_args;

static int import_usage(FILE *err, const char *why, const char *arg) {
  if (why) fprintf(err, "imx-sim import: %s%s%s\n", why, arg ? ": " : "", arg ? arg : "");
  fprintf(err, "usage: imx-sim import --history FILE.csv [--elasticity E]... "
          "[--market FILE] [--mode auction|continuous] [--headroom PCT]\n"
          "       [--seed N] [--agents truthful|zi-c|zi-u|zip] [--out PATH]\n");
  return 2;
}

/* A whole number in [0, max], or -1. */
static int64_t whole_arg(const char *s, int64_t max) {
  size_t n = strlen(s);
  if (n == 0 || n > 16 || strspn(s, "0123456789") != n) return -1;
  int64_t v = strtoll(s, NULL, 10);
  return v <= max ? v : -1;
}

static int import_parse(int argc, char **argv, import_args *a, FILE *err) {
  *a = (import_args){.o = {.auction = -1, .headroom_percent = 25, .seed = 1,
                           .agents = SIM_AGENTS_ZIP}};
  for (int i = 0; i < argc; i++) {
    const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (v == NULL || strncmp(o, "--", 2) != 0) return import_usage(err, "unexpected argument", o);
    i++;
    if (strcmp(o, "--history") == 0) a->history = v;
    else if (strcmp(o, "--out") == 0) a->out = v;
    else if (strcmp(o, "--market") == 0) a->market = v;
    else if (strcmp(o, "--elasticity") == 0) {
      int64_t e = sim_elasticity_parse(v);
      if (e < 0) return import_usage(err, "--elasticity must be a decimal 0.001 to 100", v);
      if (a->e_n == ELASTICITIES_MAX) return import_usage(err, "too many elasticities", v);
      a->e[a->e_n++] = e;
    } else if (strcmp(o, "--mode") == 0) {
      if (strcmp(v, "auction") && strcmp(v, "continuous"))
        return import_usage(err, "--mode must be auction or continuous", v);
      a->o.auction = strcmp(v, "auction") == 0;
    } else if (strcmp(o, "--headroom") == 0) {
      if ((a->o.headroom_percent = whole_arg(v, HEADROOM_MAX)) < 0)
        return import_usage(err, "--headroom must be 0 to 1000 (percent)", v);
    } else if (strcmp(o, "--seed") == 0) {
      int64_t s = whole_arg(v, 1ll << 53);
      if (s < 0) return import_usage(err, "--seed must be 0 to 2^53", v);
      a->o.seed = (uint64_t)s;
    } else if (strcmp(o, "--agents") == 0) {
      if (sim_agents_parse(v, &a->o.agents))
        return import_usage(err, "--agents must be truthful, zi-c, zi-u or zip", v);
    } else return import_usage(err, "unknown option", o);
  }
  if (a->history == NULL) return import_usage(err, "--history FILE.csv is required", NULL);
  if (a->e_n == 0) a->e[a->e_n++] = 1000;
  if (a->e_n > 1 && a->out == NULL)
    return import_usage(err, "several elasticities need --out DIR", NULL);
  return 0;
}

/* Imports at one elasticity into path (NULL: out). */
static int import_one(const import_args *a, sim_history *h, int64_t e,
                      const char *path, FILE *out, FILE *err) {
  sim_import_opts o = a->o;
  o.elasticity_milli = e;
  FILE *f = path ? fopen(path, "w") : out;
  if (f == NULL) {
    fprintf(err, "imx-sim import: cannot write %s (%s)\n", path, strerror(errno));
    return 2;
  }
  char errbuf[512];
  int rc = sim_history_write(h, &o, f, errbuf, sizeof errbuf) ? 1 : 0;
  if (rc) fprintf(err, "imx-sim import: %s\n", errbuf);
  /* A full disk shows at the close, or at the flush of standard output. */
  if ((path ? fclose(f) : fflush(f)) != 0 && rc == 0) {
    fprintf(err, "imx-sim import: cannot write %s\n", path ? path : "the scenario");
    rc = 2;
  }
  if (path && rc) remove(path);
  else if (path) fprintf(out, "%s\n", path);
  return rc;
}

static int import_all(import_args *a, sim_history *h, FILE *out, FILE *err) {
  if (a->e_n == 1) return import_one(a, h, a->e[0], a->out, out, err);
  if (mkdir(a->out, 0777) != 0 && errno != EEXIST) {
    fprintf(err, "imx-sim import: cannot create %s (%s)\n", a->out, strerror(errno));
    return 2;
  }
  int rc = 0;
  for (uint32_t k = 0; k < a->e_n && rc == 0; k++) {
    char e[32], path[4096];
    sim_milli_text(a->e[k], e, sizeof e);
    snprintf(path, sizeof path, "%s/scenario-e%s.json", a->out, e);
    rc = import_one(a, h, a->e[k], path, out, err);
  }
  return rc;
}

int imx_sim_import(int argc, char **argv, FILE *out, FILE *err) {
  import_args a;
  int rc = import_parse(argc, argv, &a, err);
  if (rc) return rc;
  imx_market market;
  imx_proto_error pe;
  if (a.market && imx_market_load(a.market, &market, &pe) != 0) {
    fprintf(err, "imx-sim import: %s: %s: %s (%s)\n", a.market, pe.field, pe.message, pe.code);
    return 1;
  }
  a.o.market = a.market ? &market : NULL;
  sim_history *h = NULL;
  char errbuf[512];
  if (sim_history_read(a.history, &h, errbuf, sizeof errbuf) != 0) {
    fprintf(err, "imx-sim import: %s\n", errbuf);
    rc = 1;
  } else {
    if (a.market) sim_history_warn_market(h, &market, a.market, "imx-sim import", err);
    rc = import_all(&a, h, out, err);
  }
  sim_history_free(h);
  if (a.market) imx_market_free(&market);
  return rc;
}
