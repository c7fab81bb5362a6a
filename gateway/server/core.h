/*
** core.h -- the server's private interface to its core.
**
**   core.c    the market's state behind the protocol: runs one decoded,
**             authenticated request against the engine and writes its reply;
**             called from the engine thread only
**   server.c  nng sockets, request contexts, authentication, limits, the
**             command queue and the engine thread
**   imxd.c    the daemon's main: options, signals, logging
*/
#ifndef IMX_CORE_H
#define IMX_CORE_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "imx_engine.h"
#include "imx_ledger.h"
#include "imx_proto.h"


/* Market data out: one message per call, "<service> <json>". */
typedef void (*core_publish_fn)(void *ctx, const char *msg, size_t len);

typedef struct core_config {
  const imx_market *market;     /* kept; must outlive the core          */
  uint32_t orders_max;          /* open orders in the whole market      */
  uint32_t orders_per_cc_max;   /* open orders per cost centre          */
  core_publish_fn publish;
  void *publish_ctx;
  imx_ledger *ledger;           /* trades go here; NULL: memory only    */
} core_config;

typedef struct imx_core imx_core;

int core_open(const core_config *cfg, imx_core **out);
void core_close(imx_core *c);

/* Runs one request for the authenticated cost centre auth_cc (an index
** into market->ccs) and writes the reply; returns its length (0 only if
** cap is too small for even an error). now_ms stamps trades and deadlines. */
size_t core_execute(imx_core *c, const imx_request *rq, uint32_t auth_cc,
                    int64_t now_ms, char *buf, size_t cap);

/* Tenders whose deadline has come are awarded; call now and then. Returns
** how many trades that made (a tick that trades must be journaled). */
uint32_t core_tick(imx_core *c, int64_t now_ms);

/* Whether a request changes the market (and so goes to the journal). */
int core_changes_state(imx_msg_type t);

/* Runs one journal entry again (recovery): a request as journaled, or a
** {"tick":T}. Trades are not written again. Returns 0, or -1 when the
** entry cannot be read. */
int core_replay(imx_core *c, int64_t time_ms, const char *cc,
                const char *command, size_t len);

/* The last trade id the engine gave, and whether writing to the ledger
** failed (the daemon must then stop: nothing more may be acknowledged). */
int64_t core_last_trade(const imx_core *c);
void core_set_ledger(imx_core *c, imx_ledger *l);
int core_ledger_failed(const imx_core *c);

/* "cc" of a request, resolved: the acting cost centre, or -1. */
int64_t core_cc_index(const imx_market *m, const char *cc);

#endif /* IMX_CORE_H */
