/*
** tlsconf.h -- the server's private interface to its TLS certificate:
** imxd's --tls-cert and --tls-key (imx_server_config's tls_cert, tls_key)
** made into one nng_tls_config in server mode, which the tls+tcp://
** listeners for requests and market data set with NNG_OPT_TLS_CONFIG and
** the web server's https:// listener can share (nng_http_server_set_tls).
**
** The files are checked before anything listens, so that a mistake is a
** start error naming the file and not a handshake failure every client
** sees: both must be PEM; the key must belong to the certificate (mbedtls's
** pk_check_pair); a certificate past its notAfter is refused.
*/
#ifndef IMX_TLSCONF_H
#define IMX_TLSCONF_H

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>
#include <stddef.h>

/* Largest certificate chain or key file read (a chain of a few PEM
** certificates is a few KiB). */
#define TLSCONF_FILE_BYTES_MAX (256 * 1024)

/* Non-zero when url is a TLS one (tls+tcp://, tls+tcp4://, ...). */
int tlsconf_url_is_tls(const char *url);

/* Reads cert_file (the server's certificate, then any intermediate ones)
** and key_file (its private key, unencrypted). Returns 0 and *out (release
** with nng_tls_config_free; every user holds its own reference), or -1 with
** err saying which file and what is wrong with it. */
int tlsconf_server(const char *cert_file, const char *key_file, nng_tls_config **out,
                   char *err, size_t cap);

#endif /* IMX_TLSCONF_H */
