/*
** fuzz_request.c -- libFuzzer harness for the message decoders (msg.c).
**
** For any bytes: a request that decodes must encode, and decode again to
** the same struct (decode(encode(x)) == x); a refused one must say why and
** make an error reply that decodes. The same bytes are also decoded as a
** reply (the imx client's side) and, when they decode, round-tripped too.
** ASan and UBSan watch every step; a leak of a reply's lists is a crash.
**
** Build: CC=clang cmake -DIMX_FUZZ=ON; run: tests/fuzz/run.sh DIR SECONDS.
*/
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imx_proto.h"
#include "proto_eq.h"

#define REPLY_BYTES_MAX (4u << 20) /* 1000 rows of escaped 64-byte strings */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* assert() is not enough: Release builds keep it, but a fuzzer must crash
** whatever NDEBUG says. */
#define MUST(cond)                                                            \
  do {                                                                        \
    if (!(cond)) abort();                                                     \
  } while (0)

static void request_round_trip(const char *buf, size_t len) {
  static char out[8192];
  imx_request x, y;
  imx_proto_error err = {0};
  if (imx_request_decode(buf, len, &x, &err) == 0) {
    size_t n = imx_request_encode(&x, out, sizeof out);
    MUST(n > 0 && n == strlen(out));
    MUST(imx_request_decode(out, n, &y, &err) == 0);
    MUST(imx_request_eq(&x, &y));
    return;
  }
  MUST(err.code != NULL && err.message != NULL);
  MUST(strlen(x.id) <= IMX_NAME_BYTES_MAX);
  size_t n = imx_error_encode(x.id, err.code, err.field, err.message, out,
                              sizeof out);
  MUST(n > 0);
  imx_reply r;
  MUST(imx_reply_decode(out, n, &r, &err) == 0);
  MUST(r.error == 1 && strcmp(r.id, x.id) == 0);
  imx_reply_free(&r);
}

static void reply_round_trip(const char *buf, size_t len) {
  static char out[REPLY_BYTES_MAX];
  imx_reply x, y;
  imx_proto_error err = {0};
  if (imx_reply_decode(buf, len, &x, &err) != 0) {
    MUST(err.code != NULL);
    MUST(!x.trades && !x.orders && !x.bids && !x.offers && !x.capacities);
    return;
  }
  size_t n = imx_reply_encode(&x, out, sizeof out);
  MUST(n > 0 && n == strlen(out));
  MUST(imx_reply_decode(out, n, &y, &err) == 0);
  MUST(imx_reply_eq(&x, &y));
  imx_reply_free(&x);
  imx_reply_free(&y);
}

/* Market data, as imx watch reads it off the PUB socket. */
static void md_round_trip(const char *buf, size_t len) {
  static char out[4096];
  imx_md_event x, y;
  imx_proto_error err = {0};
  if (imx_md_decode(buf, len, &x, &err) != 0) return;
  size_t n = imx_md_encode(&x, out, sizeof out);
  MUST(n > 0 && n == strlen(out));
  MUST(imx_md_decode(out, n, &y, &err) == 0);
  MUST(memcmp(&x, &y, sizeof x) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *buf = (const char *)data;
  request_round_trip(buf, size);
  reply_round_trip(buf, size);
  md_round_trip(buf, size);
  return 0;
}
