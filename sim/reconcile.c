/*
** reconcile.c -- the flat run against the allocation history the scenario
** was calibrated on, line by line: what finance checks first.
**
** A line is one (period, service, receiver, sender). The history's lines are
** the scenario's `history`; the flat run's are, for each receiver row and
** period, the units its home provider served it and what it paid: under a
** per_unit key units x rate to the home, under a pool key (headcount,
** percent) the history's own charges to the senders the history names
** (flat.c). Both lists are merged; a line is exact when both the units and
** the amount agree to the minor unit. Every other line gets the first cause
** that explains it:
**   sender    the history has the receiver served (in that period) by a
**             sender that is not its home; the flat run serves every unit
**             from the home;
**   rationed  the flat run gave the receiver fewer units than the history
**             and its home ran at capacity;
**   demand    other units than the history (a demand curve or a change that
**             does not give back the history's quantity);
**   rate      the units agree, the amount does not (a per_unit rate other
**             than the history's amount per unit).
*/
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

typedef struct rline {
  uint32_t period, recv, send; /* rows */
  int64_t hu, ha, fu, fa;
} rline;

static int rline_cmp(const void *a, const void *b) {
  const rline *x = a, *y = b;
  if (x->period != y->period) return x->period < y->period ? -1 : 1;
  if (x->recv != y->recv) return x->recv < y->recv ? -1 : 1;
  return x->send < y->send ? -1 : x->send > y->send;
}

const char *sim_cause_name(sim_cause c) {
  static const char *const n[] = {"", "sender", "rationed", "demand", "rate"};
  return n[c];
}

const char *sim_cause_text(sim_cause c) {
  static const char *const t[] = {
      "",
      "the history has another sender than the receiver's home; the flat run "
      "serves every unit from the home",
      "the home ran at capacity and served fewer units than the history",
      "the demand gives other units than the history",
      "the units agree, the amount does not: the key's rate is not the "
      "history's amount per unit"};
  return t[c];
}

/* Does the history have receiver row recv served in period (1-based) by a
** sender other than its home? lines[lo .. hi) are the period's merged
** lines of that receiver. */
static int other_sender(const sim_scenario *sc, const rline *l, uint32_t lo,
                        uint32_t hi) {
  for (uint32_t k = lo; k < hi; k++)
    if (l[k].send != sc->rows[l[k].recv].home && l[k].hu > 0) return 1;
  return 0;
}

static sim_cause cause_of(const sim_result *r, const rline *l, uint32_t lo,
                          uint32_t hi, uint32_t k) {
  const sim_scenario *sc = r->sc;
  const rline *x = &l[k];
  if (x->hu == x->fu && x->ha == x->fa) return SIM_CAUSE_NONE;
  if (other_sender(sc, l, lo, hi)) return SIM_CAUSE_SENDER;
  int64_t hist_units = 0, flat_units = 0;
  for (uint32_t j = lo; j < hi; j++) {
    hist_units += l[j].hu;
    flat_units += l[j].fu;
  }
  uint32_t home = sc->rows[x->recv].home;
  const sim_cell *hc = &r->flat.cells[(size_t)(x->period - 1) * sc->rows_n + home];
  if (flat_units < hist_units && hc->units >= (int64_t)sc->rows[home].n)
    return SIM_CAUSE_RATIONED;
  if (x->hu != x->fu) return SIM_CAUSE_DEMAND;
  return SIM_CAUSE_RATE;
}

int sim_reconcile(const sim_result *r, sim_recon *out) {
  const sim_scenario *sc = r->sc;
  memset(out, 0, sizeof *out);
  if (sc->hist_n == 0) return 0;
  /* The history's lines, a flat line per receiver and period, and the
  ** money of each history line of a pool key. */
  size_t cap = 2 * (size_t)sc->hist_n + (size_t)sc->periods * (sc->rows_n - sc->providers_n) + 1;
  rline *l = malloc(cap * sizeof *l);
  if (l == NULL) return -1;
  size_t n = 0;
  for (uint32_t k = 0; k < sc->hist_n; k++) {
    const sim_hline *h = &sc->hist[k];
    l[n++] = (rline){h->period, h->recv, h->send, h->qty, h->amount_minor, 0, 0};
    out->hist_amount += h->amount_minor;
  }
  for (uint32_t p = 0; p < sc->periods; p++) {
    const sim_cell *cells = r->flat.cells + (size_t)p * sc->rows_n;
    for (uint32_t i = sc->providers_n; i < sc->rows_n; i++) {
      const sim_row *w = &sc->rows[i];
      const sim_cell *c = &cells[i];
      out->flat_amount += c->amount_minor;
      if (sc->services[w->service].key == SIM_KEY_PER_UNIT) {
        if (c->units || c->amount_minor)
          l[n++] = (rline){p + 1, i, w->home, 0, 0, c->units, c->amount_minor};
        continue;
      }
      /* A pool key replays the history's charges: money per history line,
      ** the units from the home. */
      if (c->units) l[n++] = (rline){p + 1, i, w->home, 0, 0, c->units, 0};
    }
    for (uint32_t k = sc->hist_period[p]; k < sc->hist_period[p + 1]; k++) {
      const sim_hline *h = &sc->hist[k];
      if (sc->services[sc->rows[h->recv].service].key != SIM_KEY_PER_UNIT)
        l[n++] = (rline){p + 1, h->recv, h->send, 0, 0, 0, h->amount_minor};
    }
  }
  assert(n <= cap);
  qsort(l, n, sizeof *l, rline_cmp);
  size_t m = 0; /* merge equal keys */
  for (size_t k = 0; k < n; k++) {
    if (m > 0 && rline_cmp(&l[m - 1], &l[k]) == 0) {
      l[m - 1].hu += l[k].hu;
      l[m - 1].ha += l[k].ha;
      l[m - 1].fu += l[k].fu;
      l[m - 1].fa += l[k].fa;
    } else {
      l[m++] = l[k];
    }
  }
  out->lines = malloc((m + 1) * sizeof *out->lines);
  if (out->lines == NULL) {
    free(l);
    return -1;
  }
  for (uint32_t lo = 0, hi; lo < m; lo = hi) {
    for (hi = lo; hi < m && l[hi].period == l[lo].period && l[hi].recv == l[lo].recv; hi++) {
    }
    for (uint32_t k = lo; k < hi; k++) {
      const rline *x = &l[k];
      sim_cause c = cause_of(r, l, lo, hi, k);
      out->lines[k] = (sim_recon_line){x->period, sc->rows[x->recv].service,
                                       sc->rows[x->recv].cc, sc->rows[x->send].cc,
                                       x->hu, x->ha, x->fu, x->fa, c};
      if (c == SIM_CAUSE_NONE) {
        out->exact_n++;
        out->exact_amount += x->ha;
      }
    }
  }
  out->hist_lines_n = sc->hist_n;
  out->lines_n = (uint32_t)m;
  free(l);
  return 0;
}

void sim_recon_free(sim_recon *rc) {
  free(rc->lines);
  memset(rc, 0, sizeof *rc);
}
