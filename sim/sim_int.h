/*
** sim_int.h -- what the files of imx-sim share.
*/
#ifndef IMX_SIM_INT_H
#define IMX_SIM_INT_H

#include <assert.h>
#include <stdint.h>

/* Strings to dense numbers 0..n-1, by open addressing. */
typedef struct names {
  char **v;
  uint32_t n, cap;
  uint32_t *slot; /* UINT32_MAX = empty; capacity 2 * cap */
} names;

int64_t names_find(const names *t, const char *s);
/* Returns the number of s, adding it if new; -1 when out of memory. */
int64_t names_intern(names *t, const char *s);
void names_free(names *t);

/* The names a file gives to orders (tenders, quotes) and the engine's ids
** for them, both ways. An id of 0 means "not accepted by the engine". */
typedef struct idmap {
  names names;
  uint64_t *engine_id;  /* by name number */
  uint32_t engine_id_n; /* capacity       */
  uint32_t *by_engine;  /* engine id -> name number */
  uint64_t by_engine_n; /* capacity       */
} idmap;

int64_t idmap_intern(idmap *m, const char *name);
int idmap_bind(idmap *m, uint32_t name_number, uint64_t engine_id);
uint64_t idmap_engine_id(const idmap *m, const char *name);
const char *idmap_name(const idmap *m, uint64_t engine_id);
void idmap_free(idmap *m);

#endif /* IMX_SIM_INT_H */
