/*
** token.c -- the token hashes of the market file.
**
** A cost centre's token is a random secret; the market file keeps only its
** SHA-256 in lower-case hex. SHA-256 itself comes from mbedtls (which nng
** already links for TLS): nothing cryptographic is written by hand here.
*/
#include <mbedtls/sha256.h>
#include <string.h>

#include "imx_proto.h"

void imx_sha256_hex(const void *data, size_t len, char hex[65]) {
  static const char digits[] = "0123456789abcdef";
  unsigned char sum[32];
  /* is224 = 0: SHA-256. Fails only on bad arguments. */
  int rc = mbedtls_sha256_ret(data, len, sum, 0);
  IMX_ASSERT(rc == 0);
  for (int i = 0; i < 32; i++) {
    hex[2 * i] = digits[sum[i] >> 4];
    hex[2 * i + 1] = digits[sum[i] & 15];
  }
  hex[64] = '\0';
}

/* An empty token never matches: "no token" must not open a door whose hash
** happens to be that of "". */
int imx_token_matches(const char *token, const char *hash_hex) {
  if (token == NULL || token[0] == '\0' || hash_hex == NULL) return 0;
  for (int i = 0; i < 64; i++) {
    char c = hash_hex[i]; /* stops at a NUL: never reads past a short string */
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return 0;
  }
  if (hash_hex[64] != '\0') return 0;
  char hex[65];
  imx_sha256_hex(token, strlen(token), hex);
  unsigned diff = 0;
  for (int i = 0; i < 64; i++) diff |= (unsigned)(hex[i] ^ hash_hex[i]);
  return diff == 0;
}
