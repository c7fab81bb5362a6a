/*
** reqlines.c -- test tool: sends each line of stdin as one request over ONE
** REQ connection and prints each reply on a line of its own. Unlike a new
** imx process per request, this keeps one nng pipe, which the daemon's
** per-connection limits are about.
** usage: reqlines URL < requests
** IMX_REQ_TIMEOUT_MS sets how long a reply may take (default 5000);
** IMX_REQ_STOP_ON_ERROR=1 stops at the first request without a reply
** (exit 1) instead of going on with the next.
*/
#define _POSIX_C_SOURCE 200809L

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  nng_socket s;
  int rv;
  if (argc != 2) {
    fprintf(stderr, "usage: reqlines URL < requests\n");
    return 2;
  }
  if ((rv = nng_req0_open(&s)) != 0 || (rv = nng_dial(s, argv[1], NULL, 0)) != 0) {
    fprintf(stderr, "reqlines: %s\n", nng_strerror(rv));
    return 1;
  }
  const char *t = getenv("IMX_REQ_TIMEOUT_MS");
  nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, t && atoi(t) > 0 ? atoi(t) : 5000);
  nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
  const char *stop = getenv("IMX_REQ_STOP_ON_ERROR");
  int stop_on_error = stop != NULL && strcmp(stop, "1") == 0;
  static char line[1 << 20];
  while (fgets(line, sizeof line, stdin)) {
    size_t n = strcspn(line, "\n");
    char *reply = NULL;
    size_t len = 0;
    if ((rv = nng_send(s, line, n, 0)) != 0 ||
        (rv = nng_recv(s, &reply, &len, NNG_FLAG_ALLOC)) != 0) {
      printf("reqlines: %s\n", nng_strerror(rv));
      if (stop_on_error) return 1;
      continue;
    }
    printf("%.*s\n", (int)len, reply);
    nng_free(reply, len);
  }
  nng_close(s);
  return 0;
}
