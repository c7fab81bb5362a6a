/*
** job.h -- one request on its way through the engine thread: what the
** engine queue holds (server.c's private interface to the sources of
** requests: its REP workers, and web.c's HTTP calls).
**
** A source decodes and authenticates a request into a job, then
** server_enqueue hands it to the engine thread, which runs it in a batch,
** journals and commits the batch, writes the reply into job->reply and
** finishes job->aio: 0 once the batch is durable, NNG_ECANCELED when the
** ledger failed or the server stops (nothing is acknowledged then). The
** aio's callback (one of nng's threads) sends the reply the way its source
** does, then calls server_job_done. So every request, whatever brought
** it, is queued, batched, journaled and answered the same way.
*/
#ifndef IMX_JOB_H
#define IMX_JOB_H

#include <nng/nng.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core.h"
#include "imx_proto.h"
#include "imx_server.h"

typedef struct imx_job {
  imx_request rq;       /* decoded, validated                          */
  uint32_t auth_cc;     /* the authenticated cost centre (market index) */
  char *reply;          /* IMX_REPLY_BYTES_MAX, the source's            */
  size_t reply_len;     /* set by the engine                            */
  nng_aio *aio;         /* the completion, the source's                 */
  struct imx_job *next; /* in the queue                                 */
  int owed;             /* queued: its reply is not out yet             */
  imx_server *srv;      /* set by server_enqueue                         */
  core_summary *summary;/* a period.summary of the open period: what the
                        ** source read of it (reads_execute); else NULL */
} imx_job;

/* Queues a job for the engine thread: nng_aio_begin on job->aio, and a
** cancel function that takes it out of the queue again (nng_aio_stop).
** -1 when the server stops (nothing was queued: the caller answers). */
int server_enqueue(imx_server *s, imx_job *j);
/* The job's reply has been handed to its transport (or never will be):
** imx_server_stop no longer waits for it. */
void server_job_done(imx_server *s, imx_job *j);

/* The cost centre a token authenticates (with cc: that cost centre's
** token; without, the cost centre whose token it is), or -1. */
int64_t server_token_cc(const imx_server *s, const char *token, const char *cc);

/* The hello.ok reply for cost centre cc (id: the request's) into buf. */
size_t server_hello_ok(const imx_server *s, const char *id, uint32_t cc, char *buf,
                       size_t cap);

/* The clocks of server.c and web.c: monotonic nanoseconds (rates, waits)
** and wall-clock milliseconds (the market's time). */
static inline int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline int64_t wall_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif /* IMX_JOB_H */
