/*
** web.h -- the whole interface of web.c: imxd's web front (imxd --http).
**
** nng's HTTP server serves the pages under web/ (compiled in, or from
** --http-root), the sessions (/api/signin, /api/signout, /api/session), one
** protocol request per POST /api/<type>, the downloads (/api/export,
** /api/statement.csv, /api/ledger.verify) and the live websocket
** (/api/live). docs/protocol.md, "Over HTTP", is the contract.
**
** A call goes through exactly the path of an nng request (job.h): decoded
** by proto, authenticated (here: by the session's cost centre), queued for
** the engine thread, run, journaled and committed in its batch, answered.
** The engine thread tells the web what each batch did (web_batch_*), and
** after the commit the web hands it to the live websockets without ever
** waiting for one.
*/
#ifndef IMX_WEB_H
#define IMX_WEB_H

#include <stddef.h>
#include <stdint.h>

#include "core.h"
#include "imx_proto.h"
#include "imx_server.h"

typedef struct web web;

typedef struct web_config {
  const char *url;          /* http://host:port (port 0: a free one), or
                            ** https://... with tls_cert and tls_key     */
  const char *root;         /* NULL: the pages compiled in; else a
                            ** directory to serve them from             */
  const char *tls_cert;     /* PEM files, both or neither               */
  const char *tls_key;
  const imx_market *market; /* must outlive the web                      */
  const char *db_path;      /* the ledger: history reads and downloads  */
  double rate_per_s;        /* per session, as per connection            */
  double rate_burst;
  uint32_t inflight_max;    /* calls in flight per session               */
  uint32_t calls_max;       /* calls in flight at once, all sessions     */
  size_t body_max;          /* the largest body read (larger: nng's 400) */
  uint32_t lives_max;       /* live websockets open at once              */
} web_config;

/* Starts serving; logs "web on URL" once it listens. 0, or -1 (logged);
** *out must then still be passed to web_stop. */
int web_start(const web_config *cfg, imx_server *srv, web **out);
/* The URL as bound (port 0 replaced by the port chosen). */
const char *web_url(const web *w);
/* Closes every connection and websocket and frees the web (NULL: nothing).
** Call after the engine thread stopped and every job was finished. */
void web_stop(web *w);

/* The engine thread's side (w may be NULL: no web). A batch begins, each
** of its results (the tick's too) is shown to the web, and once the batch
** is durable its events go out to the websockets; a batch that fails is
** never published (the next begin forgets it). Nothing here blocks. */
void web_batch_begin(web *w);
void web_batch_result(web *w, const core_result *r);
void web_batch_publish(web *w, const imx_md_event *md, uint32_t md_n);

#endif /* IMX_WEB_H */
