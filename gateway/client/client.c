/*
** client.c -- one REQ socket to imxd, one request at a time.
*/
#define _POSIX_C_SOURCE 200809L

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "imx_client.h"

struct imx_client {
  nng_socket req;
  uint64_t seq;
  uint64_t salt;
  char *buf; /* IMX_MSG_BYTES_MAX */
  int timeout_ms;
};

static int fail(char *errbuf, size_t errcap, const char *what, int rv) {
  snprintf(errbuf, errcap, "%s: %s", what, nng_strerror(rv));
  return -1;
}

/* A tls+tcp dial: imxd's certificate must chain to ca_file and name the
** URL's host. */
static int dial_tls(nng_socket sock, const char *url, const char *ca_file, char *errbuf,
                    size_t errcap) {
  if (ca_file == NULL || ca_file[0] == '\0') {
    snprintf(errbuf, errcap,
             "%s: a TLS URL needs the certificate of the CA that signed imxd's: "
             "pass --ca FILE (or set IMX_CA)", url);
    return -1;
  }
  nng_url *u = NULL;
  nng_tls_config *tls = NULL;
  nng_dialer d = NNG_DIALER_INITIALIZER;
  int rv = nng_url_parse(&u, url);
  if (rv != 0) {
    fail(errbuf, errcap, url, rv);
  } else if ((rv = nng_tls_config_alloc(&tls, NNG_TLS_MODE_CLIENT)) != 0) {
    fail(errbuf, errcap, "tls", rv);
  } else if ((rv = nng_tls_config_ca_file(tls, ca_file)) != 0) {
    snprintf(errbuf, errcap, "--ca %s: not a readable PEM certificate (%s)", ca_file,
             nng_strerror(rv));
  } else if ((rv = nng_tls_config_auth_mode(tls, NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
             (rv = nng_tls_config_server_name(tls, u->u_hostname)) != 0 ||
             (rv = nng_dialer_create(&d, sock, url)) != 0 ||
             (rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, tls)) != 0) {
    fail(errbuf, errcap, url, rv);
  } else if ((rv = nng_dialer_start(d, 0)) != 0) {
    if (rv == NNG_EPEERAUTH || rv == NNG_ECRYPTO)
      snprintf(errbuf, errcap,
               "%s: imxd's certificate was refused: it is not signed by the CA in %s, "
               "or not made out to %s (%s)", url, ca_file, u->u_hostname, nng_strerror(rv));
    else
      fail(errbuf, errcap, url, rv);
  }
  if (rv != 0 && nng_dialer_id(d) > 0) nng_dialer_close(d);
  if (tls) nng_tls_config_free(tls); /* the dialer holds its own reference */
  if (u) nng_url_free(u);
  return rv == 0 ? 0 : -1;
}

int imx_client_dial(nng_socket sock, const char *url, const char *ca_file, int flags,
                    char *errbuf, size_t errcap) {
  IMX_ASSERT(url != NULL && errbuf != NULL && errcap > 0);
  if (strncmp(url, "tls+", 4) == 0) return dial_tls(sock, url, ca_file, errbuf, errcap);
  int rv = nng_dial(sock, url, NULL, flags);
  return rv == 0 ? 0 : fail(errbuf, errcap, url, rv);
}

int imx_client_open(const char *url, const char *ca_file, int timeout_ms, imx_client **out,
                    char *errbuf, size_t errcap) {
  IMX_ASSERT(url != NULL && out != NULL && errbuf != NULL && errcap > 0);
  IMX_ASSERT(timeout_ms > 0);
  imx_client *c = calloc(1, sizeof *c);
  *out = c;
  if (c == NULL || (c->buf = malloc(IMX_MSG_BYTES_MAX)) == NULL) {
    snprintf(errbuf, errcap, "out of memory");
    return -1;
  }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  c->salt = ((uint64_t)ts.tv_nsec << 20) ^ (uint64_t)getpid();
  int rv;
  if ((rv = nng_req0_open(&c->req)) != 0) return fail(errbuf, errcap, "socket", rv);
  /* Never re-send: a repeat would be answered from the daemon's cache, but
  ** there is no reason to ask twice. */
  nng_socket_set_ms(c->req, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
  c->timeout_ms = timeout_ms;
  nng_socket_set_ms(c->req, NNG_OPT_RECVTIMEO, timeout_ms);
  nng_socket_set_ms(c->req, NNG_OPT_SENDTIMEO, timeout_ms);
  nng_socket_set_size(c->req, NNG_OPT_RECVMAXSZ, IMX_REPLY_BYTES_MAX + 1024);
  return imx_client_dial(c->req, url, ca_file, 0, errbuf, errcap);
}

void imx_client_close(imx_client *c) {
  if (c == NULL) return;
  nng_close(c->req);
  free(c->buf);
  free(c);
}

int imx_client_call(imx_client *c, imx_request *rq, imx_reply *reply,
                    char *errbuf, size_t errcap) {
  IMX_ASSERT(c != NULL && c->buf != NULL && rq != NULL && reply != NULL);
  IMX_ASSERT(rq->type != IMX_MSG_TYPES);
  if (rq->id[0] == '\0')
    snprintf(rq->id, sizeof rq->id, "imx-%llx-%llu", (unsigned long long)c->salt,
             (unsigned long long)++c->seq);
  size_t len = imx_request_encode(rq, c->buf, IMX_MSG_BYTES_MAX);
  if (len == 0) {
    snprintf(errbuf, errcap, "request too large");
    return -1;
  }
  int rv;
  if ((rv = nng_send(c->req, c->buf, len, 0)) != 0) return fail(errbuf, errcap, "send", rv);
  char *data = NULL;
  size_t n = 0;
  /* A call may write its trades for seconds: its reply gets longer */
  int calls = rq->type == IMX_MSG_AUCTION_RUN || rq->type == IMX_MSG_PERIOD_CLOSE;
  if (calls && c->timeout_ms < IMX_CLIENT_CALL_TIMEOUT_MS)
    nng_socket_set_ms(c->req, NNG_OPT_RECVTIMEO, IMX_CLIENT_CALL_TIMEOUT_MS);
  rv = nng_recv(c->req, &data, &n, NNG_FLAG_ALLOC);
  if (calls && c->timeout_ms < IMX_CLIENT_CALL_TIMEOUT_MS)
    nng_socket_set_ms(c->req, NNG_OPT_RECVTIMEO, c->timeout_ms);
  if (rv != 0) return fail(errbuf, errcap, "no reply", rv);
  imx_proto_error err = {0};
  IMX_ASSERT(data != NULL || n == 0);
  rv = imx_reply_decode(data, n, reply, &err);
  nng_free(data, n);
  if (rv != 0) {
    snprintf(errbuf, errcap, "bad reply: %s: %s", err.field, err.message);
    return -1;
  }
  return 0;
}
