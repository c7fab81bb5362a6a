/*
** imx_gateway.h -- the whole interface of gateway/: the imxd server and
** the client that imx (and imx-sim --connect) use to reach it.
*/
#ifndef IMX_GATEWAY_H
#define IMX_GATEWAY_H

#include <stddef.h>
#include <stdint.h>

#include <stdio.h>

#include "imx_ledger.h"
#include "imx_proto.h"

#define IMX_DEFAULT_LISTEN "tcp://127.0.0.1:7450"
#define IMX_DEFAULT_PUBLISH "tcp://127.0.0.1:7451"

/* ------------------------------------------------------------- server */

typedef struct imx_server_config {
  const imx_market *market;   /* must outlive the server             */
  const char *listen_url;     /* REQ/REP requests                    */
  const char *publish_url;    /* PUB market data                     */
  uint32_t workers;           /* requests served at once             */
  double rate_per_s;          /* per connection                      */
  double rate_burst;
  size_t recv_max_bytes;      /* nng drops larger messages           */
  uint32_t orders_max;        /* open orders in the market           */
  uint32_t orders_per_cc_max; /* open orders per cost centre         */
  const char *db_path;        /* the ledger; NULL: memory only       */
  int sync_full;              /* 1: synchronous=FULL, 0: NORMAL      */
} imx_server_config;

typedef struct imx_server imx_server;

/* Starts serving; on failure logs why, returns -1 and *out must still be
** passed to imx_server_stop. */
int imx_server_start(const imx_server_config *cfg, imx_server **out);
/* Non-zero once the ledger failed: nothing more is acknowledged, and the
** daemon must stop (a restart recovers from the journal). */
int imx_server_failed(const imx_server *s);
/* The URLs as bound ("tcp://127.0.0.1:0" becomes the port chosen). */
const char *imx_server_listen_url(const imx_server *s);
const char *imx_server_publish_url(const imx_server *s);
/* Answers the requests the engine already has, then closes everything. */
void imx_server_stop(imx_server *s);

/* One line on stderr with a UTC timestamp. */
void imx_log(const char *fmt, ...);

/* ------------------------------------------------------------- client */

typedef struct imx_client imx_client;

/* Dials url; timeout_ms bounds every request. REQ never re-sends (the
** daemon de-duplicates by id anyway). */
int imx_client_open(const char *url, int timeout_ms, imx_client **out,
                    char *errbuf, size_t errcap);
void imx_client_close(imx_client *c);
/* Sends one request (its id is set if empty) and decodes the reply. Returns
** 0 with *reply filled (which may be an error reply), or -1 with errbuf set
** when no reply came. Free the reply with imx_reply_free. */
int imx_client_call(imx_client *c, imx_request *rq, imx_reply *reply,
                    char *errbuf, size_t errcap);

/* ------------------------------------------------------------- export */

enum { IMX_EXPORT_CSV, IMX_EXPORT_SAP, IMX_EXPORT_HLEDGER, IMX_EXPORT_BEANCOUNT };

/* Writes the settlements of a period (0: all) in a format; the market file
** gives units and currencies. Returns 0, and the number of rows. */
int imx_export(imx_ledger *l, const imx_market *m, int64_t period, int format,
               FILE *out, int64_t *rows);

#endif /* IMX_GATEWAY_H */
