/*
** imx_server.h -- the whole interface of the server library: imxd's
** sockets, its engine thread and its ledger. imxd.c is its main.
*/
#ifndef IMX_SERVER_H
#define IMX_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "imx_ledger.h"
#include "imx_proto.h"

/* imxd's defaults for the engine's limits, which replaying a journal must
** share (imx ledger verify --market). */
#define IMX_SERVER_ORDERS_MAX_DEFAULT (1u << 20)
#define IMX_SERVER_ORDERS_PER_CC_DEFAULT 10000u
/* Journal entries between two snapshots (imxd --snapshot-every). */
#define IMX_SERVER_SNAPSHOT_EVERY_DEFAULT 100000

typedef struct imx_server_config {
  const imx_market *market;   /* must outlive the server             */
  const char *listen_url;     /* REQ/REP requests                    */
  const char *publish_url;    /* PUB market data                     */
  uint32_t workers;           /* requests served at once             */
  double rate_per_s;          /* per connection                      */
  double rate_burst;
  size_t recv_max_bytes;      /* nng drops larger messages; it also
                              ** allocates what a header announces, so
                              ** connections_max x this bounds that   */
  /* What one client may take; 0 gives the default. */
  uint32_t connections_max;   /* request connections, and as many
                              ** subscribers and websockets (--http)
                              ** (default 1024)                      */
  uint32_t inflight_max;      /* authenticated requests in flight per
                              ** connection (default: workers)       */
  double anon_rate_per_s;     /* per connection, requests without a
                              ** valid token or hello (default 100,
                              ** bursts of twice that)               */
  int32_t send_timeout_ms;    /* a reply not sent by then drops the
                              ** connection (default 1000)           */
  uint32_t orders_max;        /* open orders in the market           */
  uint32_t orders_per_cc_max; /* open orders per cost centre         */
  const char *db_path;        /* the ledger; NULL: memory only       */
  int sync_full;              /* 1: synchronous=FULL, 0: NORMAL      */
  int64_t snapshot_every;     /* a snapshot (db_path.snapshot) after
                              ** this many journal entries and at each
                              ** period close; 0: none, and none read */
  /* The web front (web.h); http_url NULL: none. */
  const char *http_url;       /* http://host:port, https:// with TLS  */
  const char *http_root;      /* NULL: the pages compiled in          */
  /* The server's certificate (then any intermediate ones) and its key,
  ** PEM files; both or neither. They make tls+tcp:// listen_url and
  ** publish_url work, and the web's https://; a TLS URL without them is
  ** a start error. */
  const char *tls_cert;
  const char *tls_key;
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
/* The web front's URL as bound, or NULL without --http. */
const char *imx_server_web_url(const imx_server *s);
/* Answers the requests the engine already has, then closes everything. */
/* Returns 0, or 1 when nng did not close its sockets in time (a known nng
** 1.5 hang): the ledger is closed and durable, but nng's threads still
** run, and the process must end at once (_exit), freeing nothing more. */
int imx_server_stop(imx_server *s);

/* The check imxd makes on start, offline (imx ledger verify --market):
** replays the ledger's journal through a fresh market of cfg (market,
** orders_max, orders_per_cc_max: as imxd ran) and checks that it makes
** exactly the ledger's trades, trade by trade (id, period, qty, price,
** service, buyer, seller). Returns 0 and the trades compared, or -1 with
** the failed check in failed, naming the trade and the field. *refused
** (when refused is not NULL): the journal entries that this market and
** these limits refuse (imxd's start logs them), 0 when the file and the
** limits are the ones the journal was written with. */
int imx_server_replay_check(const imx_server_config *cfg, imx_ledger *l,
                            int64_t *trades_n, int64_t *refused, char *failed,
                            size_t cap);

/* One line on stderr with a UTC timestamp. */
void imx_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* IMX_SERVER_H */
