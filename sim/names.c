/*
** names.c -- interned names and the map between the names a file gives its
** orders, tenders and quotes and the numbers the engine gives them; and
** names written out as JSON strings.
*/
#define _POSIX_C_SOURCE 200809L

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"

static uint32_t hash_str(const char *s) {
  uint32_t h = 2166136261u; /* FNV-1a */
  for (; *s; s++) h = (h ^ (uint8_t)*s) * 16777619u;
  return h;
}

int64_t names_find(const names *t, const char *s) {
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

int64_t names_intern(names *t, const char *s) {
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

void names_free(names *t) {
  for (uint32_t k = 0; k < t->n; k++) free(t->v[k]);
  free(t->v);
  free(t->slot);
  memset(t, 0, sizeof *t);
}

/* ---------------------------------------------------------------- idmap */

int64_t idmap_intern(idmap *m, const char *name) {
  int64_t k = names_intern(&m->names, name);
  if (k < 0) return -1;
  if (m->names.n > m->engine_id_n) {
    uint32_t n = m->names.cap;
    uint64_t *p = realloc(m->engine_id, n * sizeof *p);
    if (p == NULL) return -1;
    memset(p + m->engine_id_n, 0, (n - m->engine_id_n) * sizeof *p);
    m->engine_id = p;
    m->engine_id_n = n;
  }
  return k;
}

int idmap_bind(idmap *m, uint32_t k, uint64_t engine_id) {
  assert(k < m->names.n && engine_id > 0);
  if (engine_id >= m->by_engine_n) {
    uint64_t n = m->by_engine_n ? 2 * m->by_engine_n : 1024;
    while (n <= engine_id) n *= 2;
    uint32_t *p = realloc(m->by_engine, n * sizeof *p);
    if (p == NULL) return -1;
    m->by_engine = p;
    m->by_engine_n = n;
  }
  m->by_engine[engine_id] = k;
  m->engine_id[k] = engine_id;
  return 0;
}

uint64_t idmap_engine_id(const idmap *m, const char *name) {
  int64_t k = names_find(&m->names, name);
  return k < 0 ? 0 : m->engine_id[k];
}

const char *idmap_name(const idmap *m, uint64_t engine_id) {
  if (engine_id == 0 || engine_id >= m->by_engine_n) return "";
  return m->names.v[m->by_engine[engine_id]];
}

void idmap_free(idmap *m) {
  names_free(&m->names);
  free(m->engine_id);
  free(m->by_engine);
  memset(m, 0, sizeof *m);
}

void sim_json_str(FILE *out, const char *s) {
  fputc('"', out);
  for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
    if (*p == '"' || *p == '\\') fprintf(out, "\\%c", *p);
    else if (*p < 0x20 || *p == 0x7f) fprintf(out, "\\u%04x", (unsigned)*p);
    else fputc(*p, out);
  }
  fputc('"', out);
}

void sim_milli_text(int64_t milli, char *buf, size_t cap) {
  assert(milli >= 0);
  int64_t frac = milli % 1000;
  int places = 3;
  while (frac && frac % 10 == 0) frac /= 10, places--;
  if (frac == 0) snprintf(buf, cap, "%" PRId64, milli / 1000);
  else snprintf(buf, cap, "%" PRId64 ".%0*" PRId64, milli / 1000, places, frac);
}
