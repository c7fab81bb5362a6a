/*
** reads.h -- the server's requests answered from the ledger, outside the
** engine thread (server.c's private interface to reads.c).
**
** The engine thread owns the market in memory; what is history is in the
** ledger, and reading it must never stall the engine. So these requests
** are answered by the worker that received them, on one of nng's threads,
** from a read-only SQLite connection of its own: WAL lets any number of
** readers work beside the one writer, and each read sees the ledger as of
** the last commit, so a request acknowledged before is always in it.
**
**   order.history   a cost centre's closed orders with their fills
**   statement.get   a cost centre's period: per service what it bought and
**                   sold, and its trades (the open period's budget and
**                   reservations are the engine's: balance.get)
**   ratings.list    ratings given and received (finance, admin: all), newest
**                   first, with the providers' replies
**   period.summary  the whole market's period, per service and a page of
**                   cost centres (the open period's reserved and available
**                   are the engine's: the request goes on to it, core.h)
*/
#ifndef IMX_READS_H
#define IMX_READS_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "imx_proto.h"

typedef struct reads reads;

/* A reader of the ledger at db_path (NULL: a server without a ledger, as
** imx-bench starts one in process: every read is refused). Opens nothing
** yet: the connection is opened at the first read, so that workers that
** never read hold none. Returns 0, or -1 when out of memory. m and db_path
** must outlive the reader. */
int reads_open(const imx_market *m, const char *db_path, reads **out);
void reads_close(reads *r);

/* Whether a request is one of these (and not for the engine thread). */
int reads_handles(imx_msg_type type);

/* Answers one request for the authenticated cost centre auth_cc into buf
** (cap: IMX_REPLY_BYTES_MAX). Returns the reply's length; or, for a
** period.summary of the open period, 0 with *engine set: queue the request
** with it for the engine thread (core_execute_summary), which answers. It
** is r's, untouched until r's next read. */
size_t reads_execute(reads *r, const imx_request *rq, uint32_t auth_cc, char *buf,
                     size_t cap, core_summary **engine);

#endif /* IMX_READS_H */
