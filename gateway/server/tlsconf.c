/*
** tlsconf.c -- imxd's certificate and key made into an nng TLS
** configuration (tlsconf.h), checked with mbedtls first: nng's
** nng_tls_config_own_cert parses both but pairs them without a look, and a
** key that does not belong to the certificate would only show as every
** client's handshake failing.
*/
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <mbedtls/pk.h>
#include <mbedtls/x509_crt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imx_base.h"
#include "tlsconf.h"

int tlsconf_url_is_tls(const char *url) {
  IMX_ASSERT(url != NULL);
  return strncmp(url, "tls+", 4) == 0;
}

/* The whole file, NUL-terminated (mbedtls parses PEM only with its NUL
** counted), or NULL with err set. */
static char *read_pem(const char *option, const char *path, size_t *len, char *err,
                      size_t cap) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    snprintf(err, cap, "%s %s: %s", option, path, strerror(errno));
    return NULL;
  }
  char *buf = malloc(TLSCONF_FILE_BYTES_MAX + 1);
  size_t n = buf ? fread(buf, 1, TLSCONF_FILE_BYTES_MAX + 1, f) : 0;
  int bad = ferror(f);
  fclose(f);
  if (buf == NULL || bad || n == 0 || n > TLSCONF_FILE_BYTES_MAX) {
    snprintf(err, cap, "%s %s: %s", option, path,
             buf == NULL ? "out of memory"
             : bad       ? "cannot be read"
             : n == 0    ? "empty"
                         : "larger than 256 KiB: not a certificate or key file");
    free(buf);
    return NULL;
  }
  buf[n] = '\0';
  *len = n + 1;
  return buf;
}

/* The mbedtls checks: PEM, a pair, not expired. */
static int check_pair(const char *cert_file, const char *cert, size_t cert_len,
                      const char *key_file, const char *key, size_t key_len, char *err,
                      size_t cap) {
  mbedtls_x509_crt crt;
  mbedtls_pk_context pk;
  mbedtls_x509_crt_init(&crt);
  mbedtls_pk_init(&pk);
  int rc = -1;
  if (strstr(cert, "-----BEGIN CERTIFICATE-----") == NULL ||
      mbedtls_x509_crt_parse(&crt, (const unsigned char *)cert, cert_len) != 0)
    snprintf(err, cap, "--tls-cert %s: not a PEM certificate", cert_file);
  else if (mbedtls_pk_parse_key(&pk, (const unsigned char *)key, key_len, NULL, 0) != 0)
    snprintf(err, cap, "--tls-key %s: not a PEM private key (an encrypted key is not "
             "supported)", key_file);
  else if (mbedtls_pk_check_pair(&crt.pk, &pk) != 0)
    snprintf(err, cap, "--tls-key %s: not the key of the certificate in --tls-cert %s",
             key_file, cert_file);
  else if (mbedtls_x509_time_is_past(&crt.valid_to))
    snprintf(err, cap, "--tls-cert %s: expired on %04d-%02d-%02d", cert_file,
             crt.valid_to.year, crt.valid_to.mon, crt.valid_to.day);
  else
    rc = 0;
  mbedtls_pk_free(&pk);
  mbedtls_x509_crt_free(&crt);
  return rc;
}

int tlsconf_server(const char *cert_file, const char *key_file, nng_tls_config **out,
                   char *err, size_t cap) {
  IMX_ASSERT(cert_file != NULL && key_file != NULL && out != NULL);
  IMX_ASSERT(err != NULL && cap > 0);
  *out = NULL;
  size_t cert_len = 0, key_len = 0;
  char *cert = read_pem("--tls-cert", cert_file, &cert_len, err, cap);
  char *key = cert ? read_pem("--tls-key", key_file, &key_len, err, cap) : NULL;
  int rc = -1, rv;
  nng_tls_config *tls = NULL;
  if (key == NULL || check_pair(cert_file, cert, cert_len, key_file, key, key_len, err,
                                cap) != 0) {
    /* err says why */
  } else if ((rv = nng_tls_config_alloc(&tls, NNG_TLS_MODE_SERVER)) != 0 ||
             (rv = nng_tls_config_auth_mode(tls, NNG_TLS_AUTH_MODE_NONE)) != 0 ||
             (rv = nng_tls_config_version(tls, NNG_TLS_1_2, NNG_TLS_1_3)) != 0 ||
             (rv = nng_tls_config_own_cert(tls, cert, key, NULL)) != 0) {
    snprintf(err, cap, "--tls-cert %s, --tls-key %s: %s", cert_file, key_file,
             nng_strerror(rv));
  } else {
    *out = tls;
    tls = NULL;
    rc = 0;
  }
  if (tls) nng_tls_config_free(tls);
  if (key) memset(key, 0, key_len); /* no copy of the key left behind */
  free(key);
  free(cert);
  IMX_ASSERT(rc != 0 || *out != NULL);
  return rc;
}
