/*
** soakclient.c -- one client of the SIGKILL soak (soak.sh): over one REQ
** connection, order.new on one side of it.hour (prices around 80.00, so
** that the two clients trade part of the time) and order.cancel of one of
** its own earlier orders, in turn, until the daemon goes away or COUNT
** requests are done. Every acknowledged request and its reply go to stdout
** as a pair of lines, "REQ <json>" and "REP <json>", flushed together: a
** kill leaves only whole pairs. After the restart soak.sh sends each REQ
** again and demands the same REP, byte for byte (idempotency): a request
** that was acknowledged and then lost would run anew and answer otherwise.
** usage: soakclient URL CC bid|offer PREFIX SEED COUNT
*/
#define _POSIX_C_SOURCE 200809L

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KEPT 256

static uint64_t rng(uint64_t *s) {
  uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: soakclient URL CC bid|offer PREFIX SEED COUNT\n");
    return 2;
  }
  const char *url = argv[1], *cc = argv[2], *side = argv[3], *prefix = argv[4];
  uint64_t seed = strtoull(argv[5], NULL, 10);
  long count = strtol(argv[6], NULL, 10);
  nng_socket s;
  int rv;
  if ((rv = nng_req0_open(&s)) != 0 || (rv = nng_dial(s, url, NULL, 0)) != 0) {
    fprintf(stderr, "soakclient: %s\n", nng_strerror(rv));
    return 1;
  }
  /* Both bounded: once imxd is killed, a REQ send waits for a connection
  ** that may never come back (nng's default send timeout is infinite). */
  nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 10000);
  nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 10000);
  nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
  unsigned long long kept[KEPT];
  int kept_n = 0;
  char req[512];
  for (long i = 0; i < count; i++) {
    int cancel = kept_n > 0 && rng(&seed) % 3 == 0;
    int k = cancel ? (int)(rng(&seed) % (uint64_t)kept_n) : 0;
    if (cancel)
      snprintf(req, sizeof req,
               "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"%s-%ld\","
               "\"token\":\"test-token-%s\",\"order\":%llu}",
               prefix, i, cc, kept[k]);
    else
      snprintf(req, sizeof req,
               "{\"v\":1,\"type\":\"order.new\",\"id\":\"%s-%ld\",\"token\":\"test-token-%s\","
               "\"service\":\"it.hour\",\"side\":\"%s\",\"qty\":%d,\"price\":%d}",
               prefix, i, cc, side, 1 + (int)(rng(&seed) % 5),
               8000 + 100 * ((int)(rng(&seed) % 7) - 3));
    char *reply = NULL;
    size_t len = 0;
    if ((rv = nng_send(s, req, strlen(req), 0)) != 0 ||
        (rv = nng_recv(s, &reply, &len, NNG_FLAG_ALLOC)) != 0)
      break; /* the daemon is gone: what was acknowledged is written */
    printf("REQ %s\nREP %.*s\n", req, (int)len, reply);
    fflush(stdout);
    const char *o = strstr(reply, "\"order\":");
    if (cancel) {
      kept[k] = kept[--kept_n];
    } else if (o != NULL && strstr(reply, "order.new.ok") != NULL) {
      unsigned long long id = strtoull(o + 8, NULL, 10);
      if (kept_n < KEPT) kept[kept_n++] = id;
      else kept[rng(&seed) % KEPT] = id;
    }
    nng_free(reply, len);
  }
  nng_close(s);
  return 0;
}
