/*
** imx_client.h -- the whole interface of the client library: one REQ
** socket to imxd, one request at a time. `imx` and `imx-sim --connect` are
** built on it; it links proto and nng only (no server, no engine, no
** SQLite).
*/
#ifndef IMX_CLIENT_H
#define IMX_CLIENT_H

#include <nng/nng.h>
#include <stddef.h>

#include "imx_proto.h"

typedef struct imx_client imx_client;

/* How long the reply of auction.run and period.close may take: a call over
** a deep book writes its trades for seconds (imx-bench call: about 9 s over
** 1 M orders), and a close runs every auction service's call. Giving up
** sooner would report no reply for a command that was done, and a retried
** period.close would close the next period too. */
#define IMX_CLIENT_CALL_TIMEOUT_MS (10 * 60 * 1000)

/* Dials url; timeout_ms bounds every request (auction.run and period.close:
** at least IMX_CLIENT_CALL_TIMEOUT_MS). REQ never re-sends (the daemon
** de-duplicates by id anyway). ca_file: as imx_client_dial. */
int imx_client_open(const char *url, const char *ca_file, int timeout_ms,
                    imx_client **out, char *errbuf, size_t errcap);
void imx_client_close(imx_client *c);
/* Sends one request (its id is set if empty) and decodes the reply. Returns
** 0 with *reply filled (which may be an error reply), or -1 with errbuf set
** when no reply came. Free the reply with imx_reply_free. */
int imx_client_call(imx_client *c, imx_request *rq, imx_reply *reply,
                    char *errbuf, size_t errcap);

/* Dials url on sock (the REQ socket above, or a SUB socket for market
** data). A tls+tcp:// URL needs ca_file, the PEM certificate(s) of the CA
** that signed imxd's; the name checked against imxd's certificate is the
** URL's host. A tls+tcp dial is always synchronous, whatever flags say, so
** that a certificate refused is reported here. Without ca_file for such a
** URL, or when the handshake fails, -1 and errbuf says what to do; ca_file
** is ignored for other URLs. */
int imx_client_dial(nng_socket sock, const char *url, const char *ca_file, int flags,
                    char *errbuf, size_t errcap);

#endif /* IMX_CLIENT_H */
