/*
** slowlock -- an LD_PRELOAD library for tests/hostile/web.sh. From the
** moment imxd's web front starts stopping (its nng_http_server_stop), the
** thread that stops it waits 0.3 ms before each pthread_mutex_lock. That
** thread closes the websockets while nng's threads and the pump still
** complete and free them; the wait widens the windows between a look at a
** socket and the next lock from nanoseconds to a fraction of a millisecond,
** so that a race there shows in a stop round or two instead of once in many
** CI runs. (It showed one: a socket's operation cancelled by the stopping
** thread while the pump freed its connection.)
*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

typedef struct nng_http_server nng_http_server;

static _Atomic(pthread_t) stopper;
static atomic_int stopping;

void nng_http_server_stop(nng_http_server *s) {
  static void (*real)(nng_http_server *);
  if (real == NULL) *(void **)&real = dlsym(RTLD_NEXT, "nng_http_server_stop");
  atomic_store(&stopper, pthread_self());
  atomic_store(&stopping, 1);
  real(s);
}

int pthread_mutex_lock(pthread_mutex_t *m) {
  static int (*real)(pthread_mutex_t *);
  if (real == NULL) *(void **)&real = dlsym(RTLD_NEXT, "pthread_mutex_lock");
  if (atomic_load(&stopping) && pthread_equal(atomic_load(&stopper), pthread_self())) {
    struct timespec ts = {0, 300 * 1000};
    nanosleep(&ts, NULL);
  }
  return real(m);
}
