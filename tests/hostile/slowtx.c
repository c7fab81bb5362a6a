/*
** slowtx -- an LD_PRELOAD library for tests/hostile/web.sh: the completion
** of every websocket write of imxd's web front (an aio once given to
** nng_http_conn_write_all) waits 0.3 s before it looks at its result
** (nng_aio_result), so that a client's frame that comes right after an
** event arrived is read while the write of that event is still out. (It
** showed one: a close frame that came then was never answered, as the
** socket ended when that earlier write completed.)
*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

typedef struct nng_aio nng_aio;
typedef struct nng_http_conn nng_http_conn;

#define SLOTS 4096 /* aios remembered: imxd reuses its sockets' aios */
static _Atomic(nng_aio *) writes[SLOTS];

void nng_http_conn_write_all(nng_http_conn *c, nng_aio *aio) {
  static void (*real)(nng_http_conn *, nng_aio *);
  if (real == NULL) *(void **)&real = dlsym(RTLD_NEXT, "nng_http_conn_write_all");
  for (int i = 0; i < SLOTS; i++) {
    nng_aio *seen = atomic_load(&writes[i]);
    if (seen == NULL && atomic_compare_exchange_strong(&writes[i], &seen, aio)) break;
    if (seen == aio) break; /* (a failed exchange put the slot's aio in seen) */
  }
  real(c, aio);
}

int nng_aio_result(nng_aio *aio) {
  static int (*real)(nng_aio *);
  if (real == NULL) *(void **)&real = dlsym(RTLD_NEXT, "nng_aio_result");
  for (int i = 0; i < SLOTS; i++) {
    nng_aio *seen = atomic_load(&writes[i]);
    if (seen == NULL) break;
    if (seen == aio) {
      struct timespec ts = {0, 300 * 1000000};
      nanosleep(&ts, NULL);
      break;
    }
  }
  return real(aio);
}
