/*
** web.c -- imxd's web front (web.h; docs/protocol.md, "Over HTTP").
**
** One nng HTTP server, one handler for every path and method (on_http, on
** nng's threads), so that every response, the refusals too, carries the
** security headers (add_headers). What it serves:
**
**   /...                 the pages under web/: compiled in (web_files.c,
**                        made by embed_web.cmake), or --http-root's files
**   /api/signin, /api/signout, /api/session
**                        sessions: a random 256-bit id in an HttpOnly,
**                        SameSite=Strict cookie; the table keeps the id's
**                        SHA-256 only, so neither a log nor a memory dump
**                        of it signs anyone in
**   POST /api/<type>     one protocol request (calls)
**   GET /api/export, GET /api/statement.csv, POST /api/ledger.verify
**                        downloads, on a thread of their own (slow)
**   GET /api/live        the websocket (live)
**
** A call is a job (job.h) from a fixed pool: its request is the body with
** "v", "type" (from the path) and, for a read without one, "id" put in
** front, decoded by proto as an nng request is; authenticated by the
** session; then either read from the ledger here (reads.h, as a worker
** does) or queued for the engine thread. The job's own aio is the
** completion the engine finishes after the commit; its callback hands the
** reply, byte for byte, to nng's HTTP server. The session counts the call
** against its rate and its calls in flight, as a connection does.
**
** Nothing is allocated per call but what nng's HTTP server needs (the
** response, its headers and a copy of the body); no lock is held across
** I/O: the locks (sessions, sign-in failures, pool, websockets) guard a
** few words each.
*/
#define _GNU_SOURCE /* open_memstream, getrandom */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <nng/nng.h>
#include <nng/supplemental/http/http.h>
#include <nng/supplemental/tls/tls.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/sha1.h>

#include "imx_ledger.h"
#include "job.h"
#include "reads.h"
#include "tlsconf.h"
#include "web.h"

#define SESSIONS_MAX 65536u
#define SESSIONS_PER_CC 256u                  /* beyond: the oldest ends  */
#define SESSION_TTL_MS (12LL * 3600 * 1000)   /* absolute, from sign-in   */
#define SESSION_ID_BYTES 32                   /* 64 hex in the cookie     */
#define SIGNIN_FAILS_MAX 5                    /* per address, per cc ...  */
#define SIGNIN_WINDOW_MS 60000                /* ... in a minute          */
#define SIGNIN_ADDRS 4096u                    /* addresses remembered     */
#define SIGNIN_PROBE 8                        /* slots looked at per one  */
#define CC_HOMES 8                            /* addresses a cc signed in */
#define CC_HOME_TTL_MS (30LL * 24 * 3600 * 1000) /* ... from, remembered   */
#define LOG_EVERY_MS 1000                     /* a client-caused log line */
#define TEXT_CAP (IMX_MSG_BYTES_MAX + 256)    /* a call's request text    */
#define COOKIE "imx_session"

typedef struct web_file {
  const char *path;
  const unsigned char *data;
  size_t len;
} web_file;
extern const web_file web_files[]; /* web_files.c, generated */
extern const size_t web_files_n;

/* ------------------------------------------------------------- status */

/* The one table from a protocol error's code to its HTTP status; a reply
** that is not an error is 200. Codes not listed (insufficient_budget,
** market_full, duplicate_id, ...) are the market refusing what was asked
** now: 409. */
static const struct {
  const char *code;
  int status;
} statuses[] = {
    {"bad_json", 400},        {"bad_field", 400},       {"bad_request", 400},
    {"too_large", 413},       {"unauthorized", 401},    {"forbidden", 403},
    {"not_found", 404},       {"unknown_service", 404}, {"unknown_cc", 404},
    {"rate_limited", 429},    {"internal", 500},        {"unavailable", 503},
};

static int status_of_code(const char *code, size_t len) {
  for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
    if (strlen(statuses[i].code) == len && memcmp(statuses[i].code, code, len) == 0)
      return statuses[i].status;
  return 409;
}

/* The status of a protocol reply: 200, or its error code's. The encoder
** writes "type" before "id" and "code" after it; an id is escaped, so the
** first "code":" is the code's. */
static int status_of_reply(const char *reply, size_t len) {
  static const char err[] = "\"type\":\"error\"", key[] = "\"code\":\"";
  const char *t = memmem(reply, len < 32 ? len : 32, err, sizeof err - 1);
  if (t == NULL) return 200;
  const char *c = memmem(t, len - (size_t)(t - reply), key, sizeof key - 1);
  if (c == NULL) return 500;
  c += sizeof key - 1;
  const char *e = memchr(c, '"', len - (size_t)(c - reply));
  return e ? status_of_code(c, (size_t)(e - c)) : 500;
}

/* ------------------------------------------------------------ the web */

typedef struct session {
  char hash[65];      /* SHA-256 of the id, hex; "" when free          */
  uint32_t cc;
  uint32_t gen;       /* bumped when the slot is freed                 */
  uint32_t next_free;
  int64_t expires_ms; /* wall clock                                    */
  double tokens;      /* the rate bucket                               */
  int64_t last_ns;
  uint32_t inflight;
} session;

typedef struct fail_count {
  uint64_t key;       /* an address (0: free slot)                     */
  int64_t since_ms;   /* the window's start                            */
  uint32_t fails;
} fail_count;

/* An address a cost centre signed in from (peer_key; 0: free). */
typedef struct cc_home {
  uint64_t key;
  int64_t last_ms;    /* its last sign-in there                        */
} cc_home;

typedef struct web_job {
  imx_job job;         /* job.aio: ours, finished by the engine         */
  struct web *w;
  nng_aio *http;       /* the HTTP server's aio, while the engine has it */
  reads *reads;
  uint32_t session, gen;
  char *text;          /* TEXT_CAP: the request as proto reads it       */
  struct web_job *next_free;
} web_job;

typedef struct live live; /* a websocket, below */

struct web {
  web_config cfg;
  imx_server *srv;
  const imx_market *m;
  int tls;
  nng_http_server *http;
  nng_http_handler *handler;
  nng_tls_config *tls_cfg;
  int started;
  char url[256];
  /* sessions */
  pthread_mutex_t sessions_mu;
  session *sessions;
  imx_hash sessions_index;
  uint32_t sessions_free;
  uint32_t *cc_sessions;  /* sessions per cost centre                    */
  /* sign-in failures */
  pthread_mutex_t signin_mu;
  fail_count *addr_fails; /* SIGNIN_ADDRS */
  fail_count *cc_fails;   /* one per cost centre (key unused) */
  cc_home *cc_homes;      /* CC_HOMES per cost centre        */
  int64_t signin_logged_ms;
  /* calls */
  pthread_mutex_t pool_mu;
  web_job *jobs;
  uint32_t jobs_n;
  web_job *jobs_free;
  atomic_int busy_logged;
  /* live: the websockets and the log of events they are fed from */
  pthread_mutex_t live_mu;      /* the table, each socket's queue and state */
  live *lives;                  /* lives_max slots                         */
  uint32_t lives_max;
  live *lives_free, *dead;      /* free slots; closed, to be freed         */
  int cancel_due;               /* a closing socket's operations to cancel */
  atomic_uint lives_n;          /* open (the engine skips all when 0)      */
  pthread_mutex_t ring_mu;      /* the log's bytes and head                */
  uint8_t *ring;                /* RING_BYTES                              */
  uint64_t head;                /* bytes ever written                      */
  uint64_t pumped;              /* the pump's: records handed out up to    */
  pthread_mutex_t pump_mu;      /* the pump's wake-up: the engine takes it,  */
  pthread_cond_t pump_cv;       /* never live_mu                           */
  int pump_due, pump_stop;
  pthread_t pump;
  int pump_started;
  uint8_t *stage;               /* the engine's: this batch's own events   */
  size_t stage_len;
  int stage_lost;               /* they did not fit: every socket closes   */
  uint32_t epoch;               /* bumped when events were lost            */
  /* downloads: one thread, a short queue */
  pthread_mutex_t slow_mu;
  pthread_cond_t slow_cv;
  struct slow_req *slow_q;      /* SLOW_QUEUE                              */
  uint32_t slow_head, slow_n;
  int slow_stop, slow_started;
  pthread_t slow;
  imx_ledger *slow_ledger;      /* read-only, opened at the first download */
};

/* ----------------------------------------------------------- responses */

/* Every response: the page may load only its own scripts and styles, may
** not be framed, and no browser guesses a type or sends a referrer. */
static int add_headers(nng_http_res *res, int api) {
  int rv = nng_http_res_set_header(
      res, "Content-Security-Policy",
      "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  if (rv == 0) rv = nng_http_res_set_header(res, "X-Content-Type-Options", "nosniff");
  if (rv == 0) rv = nng_http_res_set_header(res, "Referrer-Policy", "no-referrer");
  if (rv == 0)
    rv = nng_http_res_set_header(res, "Cache-Control", api ? "no-store" : "no-cache");
  return rv;
}

/* Hands a response to nng (or, out of memory, closes the connection). */
static void respond(nng_aio *aio, nng_http_res *res) {
  nng_aio_set_output(aio, 0, res);
  nng_aio_finish(aio, 0);
}

/* A response with a body (copied) of a content type. */
static void respond_data(nng_aio *aio, int status, const char *ctype, const void *body,
                         size_t len, int api, const char *extra_name,
                         const char *extra_value) {
  nng_http_res *res;
  if (nng_http_res_alloc(&res) != 0) {
    nng_aio_finish(aio, NNG_ENOMEM);
    return;
  }
  int rv = nng_http_res_set_status(res, (uint16_t)status);
  if (rv == 0) rv = add_headers(res, api);
  if (rv == 0 && ctype) rv = nng_http_res_set_header(res, "Content-Type", ctype);
  if (rv == 0 && extra_name) rv = nng_http_res_set_header(res, extra_name, extra_value);
  /* nng refuses to copy 0 bytes (an export with nothing in it), and sets
  ** no Content-Length without a body: say 0, or the client waits */
  if (rv == 0)
    rv = len > 0 ? nng_http_res_copy_data(res, body, len)
                 : nng_http_res_set_header(res, "Content-Length", "0");
  if (rv != 0) {
    nng_http_res_free(res);
    nng_aio_finish(aio, rv);
    return;
  }
  respond(aio, res);
}

#define JSON_TYPE "application/json"

static void respond_json(nng_aio *aio, const char *body, size_t len) {
  respond_data(aio, status_of_reply(body, len), JSON_TYPE, body, len, 1, NULL, NULL);
}

/* A protocol error reply of the web's own. */
static void respond_error(nng_aio *aio, const char *id, const char *code, const char *field,
                          const char *message) {
  char buf[512];
  size_t len = imx_error_encode(id, code, field, message, buf, sizeof buf);
  IMX_ASSERT(len > 0);
  respond_json(aio, buf, len);
}

/* An error with a reason of proto's table (proto/errors.c). */
static void respond_reason(nng_aio *aio, const char *reason, const char *message) {
  char buf[512];
  size_t len = imx_error_reason_encode("", reason, IMX_MSG_HELLO, message, buf, sizeof buf);
  IMX_ASSERT(len > 0);
  respond_json(aio, buf, len);
}

/* -------------------------------------------------------- request bits */

/* The path of a request target (origin form, or absolute form), without
** its query; *query is what follows '?' (or ""). Into buf; -1 if too long. */
static int split_target(const char *uri, char *buf, size_t cap, const char **query) {
  if (strncasecmp(uri, "http://", 7) == 0 || strncasecmp(uri, "https://", 8) == 0) {
    const char *p = strchr(strchr(uri, ':') + 3, '/');
    uri = p ? p : "/";
  }
  size_t n = strcspn(uri, "?");
  if (n >= cap) return -1;
  memcpy(buf, uri, n);
  buf[n] = '\0';
  *query = uri[n] == '?' ? uri + n + 1 : "";
  return 0;
}

/* A query parameter's value (no percent-decoding: the values imx takes,
** periods, cost centres and formats, are plain) into buf; -1 if absent or
** too long or not plain. */
static int query_param(const char *q, const char *name, char *buf, size_t cap) {
  size_t nl = strlen(name);
  while (*q) {
    size_t seg = strcspn(q, "&");
    if (seg > nl && strncmp(q, name, nl) == 0 && q[nl] == '=') {
      size_t vl = seg - nl - 1;
      if (vl == 0 || vl >= cap) return -1;
      memcpy(buf, q + nl + 1, vl);
      buf[vl] = '\0';
      for (size_t i = 0; i < vl; i++)
        if (buf[i] == '%' || buf[i] == '+') return -1;
      return 0;
    }
    q += seg + (q[seg] == '&');
  }
  return -1;
}

/* The session id of the Cookie header: 64 hex digits, else -1. */
static int cookie_id(nng_http_req *req, char id[2 * SESSION_ID_BYTES + 1]) {
  const char *c = nng_http_req_get_header(req, "Cookie");
  static const char name[] = COOKIE "=";
  for (const char *p = c; p && *p;) {
    while (*p == ' ' || *p == ';') p++;
    if (strncmp(p, name, sizeof name - 1) == 0) {
      p += sizeof name - 1;
      size_t n = strcspn(p, "; ");
      if (n != 2 * SESSION_ID_BYTES) return -1;
      for (size_t i = 0; i < n; i++)
        if (!((p[i] >= '0' && p[i] <= '9') || (p[i] >= 'a' && p[i] <= 'f'))) return -1;
      memcpy(id, p, n);
      id[n] = '\0';
      return 0;
    }
    p = strchr(p, ';');
  }
  return -1;
}

/* CSRF: a request that a page of another origin made. Browsers send
** Origin on every POST and websocket; a request without it (curl, a
** benchmark) is not a browser's and is let through. */
static int cross_origin(const web *w, nng_http_req *req) {
  const char *site = nng_http_req_get_header(req, "Sec-Fetch-Site");
  if (site && strcasecmp(site, "cross-site") == 0) return 1;
  const char *origin = nng_http_req_get_header(req, "Origin");
  if (origin == NULL) return 0;
  const char *host = nng_http_req_get_header(req, "Host");
  const char *scheme = w->tls ? "https://" : "http://";
  size_t sl = strlen(scheme);
  if (host == NULL || strncasecmp(origin, scheme, sl) != 0) return 1;
  return strcasecmp(origin + sl, host) != 0;
}

/* Which of a few top-level keys a JSON object has: a scan that skips
** strings and nested values, so that the server knows whether the body
** brings an id (and refuses a token) without parsing it twice. Malformed
** text stops the scan; proto's decoder then says what is wrong. */
enum { KEY_ID = 1, KEY_TOKEN = 2 };

static unsigned top_keys(const char *s, size_t n) {
  unsigned found = 0;
  size_t i = 0;
  int depth = 0, expect_key = 0;
  while (i < n) {
    char c = s[i];
    if (c == '"') {
      size_t start = ++i;
      while (i < n && s[i] != '"') i += s[i] == '\\' ? 2 : 1;
      if (i >= n) break;
      if (depth == 1 && expect_key) {
        size_t len = i - start;
        if (len == 2 && memcmp(s + start, "id", 2) == 0) found |= KEY_ID;
        if (len == 5 && memcmp(s + start, "token", 5) == 0) found |= KEY_TOKEN;
        expect_key = 0;
      }
      i++;
      continue;
    }
    if (c == '{' || c == '[') {
      depth++;
      expect_key = c == '{' && depth == 1;
    } else if (c == '}' || c == ']') {
      depth--;
    } else if (c == ',' && depth == 1) {
      expect_key = 1;
    }
    i++;
  }
  return found;
}

/* Writes {"v":1,"type":"T"[,"id":"ID"] and the body's members into buf:
** the request text proto decodes. The body must be a JSON object (or
** empty: none). Returns the length, or 0 when the body is no object. */
static size_t compose(char *buf, size_t cap, const char *type, const char *id,
                      const char *body, size_t len) {
  size_t i = 0;
  while (i < len && (body[i] == ' ' || body[i] == '\t' || body[i] == '\r' || body[i] == '\n'))
    i++;
  if (i < len && body[i] != '{') return 0;
  int n = id ? snprintf(buf, cap, "{\"v\":1,\"type\":\"%s\",\"id\":\"%s\"", type, id)
             : snprintf(buf, cap, "{\"v\":1,\"type\":\"%s\"", type);
  IMX_ASSERT(n > 0 && (size_t)n < cap);
  size_t o = (size_t)n;
  if (i == len) { /* no body */
    buf[o++] = '}';
    return o;
  }
  /* the body's members after ours: "," unless the object is empty */
  size_t j = i + 1;
  while (j < len && (body[j] == ' ' || body[j] == '\t' || body[j] == '\r' || body[j] == '\n'))
    j++;
  if (o + 1 + (len - i - 1) > cap) return 0;
  if (j < len && body[j] != '}') buf[o++] = ',';
  memcpy(buf + o, body + i + 1, len - i - 1);
  return o + (len - i - 1);
}

/* A JSON string, escaped, at buf + *o (bounded by cap). */
static void put_json_str(char *buf, size_t cap, size_t *o, const char *s) {
  if (*o < cap) buf[(*o)++] = '"';
  for (; *s && *o + 7 < cap; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      buf[(*o)++] = '\\';
      buf[(*o)++] = (char)c;
    } else if (c < 0x20) {
      *o += (size_t)snprintf(buf + *o, cap - *o, "\\u%04x", c);
    } else {
      buf[(*o)++] = (char)c;
    }
  }
  if (*o < cap) buf[(*o)++] = '"';
}

/* -------------------------------------------------------------- pages */

static const char *content_type(const char *path) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {".html", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".json", "application/json"},
      {".map", "application/json"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/x-icon"},
      {".woff2", "font/woff2"},
      {".txt", "text/plain; charset=utf-8"},
      {".webmanifest", "application/manifest+json"},
  };
  const char *dot = strrchr(path, '.');
  if (dot && strchr(dot, '/') == NULL)
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
      if (strcmp(dot, types[i].ext) == 0) return types[i].type;
  return "application/octet-stream";
}

static void not_found_page(nng_aio *aio) {
  static const char body[] = "not found\n";
  respond_data(aio, 404, "text/plain; charset=utf-8", body, sizeof body - 1, 0, NULL, NULL);
}

/* A page from --http-root: a path of plain segments (no "..", no hidden
** files), a regular file. Development only: read per request. */
static void serve_file(web *w, nng_aio *aio, const char *path) {
  if (strstr(path, "/.") || strchr(path, '\\') || strlen(path) > 512) {
    not_found_page(aio);
    return;
  }
  char full[1024], real[PATH_MAX], top[PATH_MAX];
  snprintf(full, sizeof full, "%s%s", w->cfg.root, path);
  /* a symbolic link may point out of the root: what is served is a file
  ** whose real path is under the root's */
  size_t tl = realpath(w->cfg.root, top) ? strlen(top) : 0;
  if (tl == 0 || realpath(full, real) == NULL || strncmp(real, top, tl) != 0 ||
      (real[tl] != '/' && top[tl - 1] != '/')) {
    not_found_page(aio);
    return;
  }
  int fd = open(real, O_RDONLY | O_CLOEXEC);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (64 << 20)) {
    if (fd >= 0) close(fd);
    not_found_page(aio);
    return;
  }
  size_t len = (size_t)st.st_size, got = 0;
  char *data = malloc(len ? len : 1);
  while (data && got < len) {
    ssize_t r = read(fd, data + got, len - got);
    if (r <= 0) break;
    got += (size_t)r;
  }
  close(fd);
  if (data == NULL || got != len) {
    free(data);
    respond_error(aio, "", "internal", "", "cannot read the file");
    return;
  }
  respond_data(aio, 200, content_type(path), data, len, 0, NULL, NULL);
  free(data);
}

static void serve_page(web *w, nng_aio *aio, const char *method, const char *path) {
  if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
    respond_data(aio, 405, "text/plain; charset=utf-8", "GET only\n", 9, 0, "Allow",
                 "GET, HEAD");
    return;
  }
  if (strcmp(path, "/") == 0) path = "/index.html";
  if (w->cfg.root) {
    serve_file(w, aio, path);
    return;
  }
  for (size_t i = 0; i < web_files_n; i++)
    if (strcmp(web_files[i].path, path) == 0) {
      respond_data(aio, 200, content_type(path), web_files[i].data, web_files[i].len, 0,
                   NULL, NULL);
      return;
    }
  not_found_page(aio);
}

/* ------------------------------------------------------------ sessions */

static uint64_t session_key(const char *hash_hex) {
  uint64_t k = 0;
  for (int i = 0; i < 16; i++) {
    char c = hash_hex[i];
    k = k << 4 | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  return k;
}

static uint64_t session_hash_of(const void *owner, uint32_t k) {
  return session_key(((const web *)owner)->sessions[k].hash);
}

/* Compares two hex hashes without an early exit. */
static int same_hash(const char *a, const char *b) {
  unsigned d = 0;
  for (int i = 0; i < 64; i++) d |= (unsigned)(a[i] ^ b[i]);
  return d == 0;
}

/* The slot of a session by its id's hash, or IMX_HASH_NIL; *slot is where
** the search ended. Under sessions_mu. */
static uint32_t session_find(const web *w, const char *hash, uint32_t *slot) {
  const imx_hash *x = &w->sessions_index;
  for (uint32_t i = imx_hash_first(x, session_key(hash)), n = 0; n <= x->mask;
       i = imx_hash_next(x, i), n++) {
    uint32_t k = x->slots[i];
    *slot = i;
    if (k == IMX_HASH_NIL || same_hash(w->sessions[k].hash, hash)) return k;
  }
  IMX_ASSERT(0 && "the session index is never full");
  return IMX_HASH_NIL;
}

static void session_free(web *w, uint32_t k, uint32_t slot) {
  session *p = &w->sessions[k];
  IMX_ASSERT(w->cc_sessions[p->cc] > 0);
  w->cc_sessions[p->cc]--;
  imx_hash_del(&w->sessions_index, slot, w, session_hash_of);
  p->hash[0] = '\0';
  p->gen++;
  p->next_free = w->sessions_free;
  w->sessions_free = k;
}

/* Frees every expired session; the table was full. Under sessions_mu. */
static void sessions_sweep(web *w, int64_t now) {
  for (uint32_t k = 0; k < SESSIONS_MAX; k++) {
    session *p = &w->sessions[k];
    uint32_t slot;
    if (p->hash[0] && p->expires_ms <= now && session_find(w, p->hash, &slot) == k)
      session_free(w, k, slot);
  }
}

/* A new session for cost centre cc: its id (64 hex) into id. 0, or -1 when
** the table is full (of sessions that have not expired). */
static int session_new(web *w, uint32_t cc, char id[2 * SESSION_ID_BYTES + 1]) {
  unsigned char raw[SESSION_ID_BYTES];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
    if (r < 0 && errno == EINTR) continue;
    IMX_ASSERT(r > 0 && "the kernel's random numbers");
    got += (size_t)r;
  }
  for (size_t i = 0; i < sizeof raw; i++) snprintf(id + 2 * i, 3, "%02x", raw[i]);
  char hash[65];
  imx_sha256_hex(id, 2 * SESSION_ID_BYTES, hash);
  int64_t now = wall_ms();
  pthread_mutex_lock(&w->sessions_mu);
  /* One cost centre cannot fill the table: its oldest session ends. */
  if (w->cc_sessions[cc] >= SESSIONS_PER_CC) {
    uint32_t oldest = IMX_HASH_NIL, slot;
    for (uint32_t k = 0; k < SESSIONS_MAX; k++)
      if (w->sessions[k].hash[0] && w->sessions[k].cc == cc &&
          (oldest == IMX_HASH_NIL || w->sessions[k].expires_ms < w->sessions[oldest].expires_ms))
        oldest = k;
    IMX_ASSERT(oldest != IMX_HASH_NIL);
    IMX_ASSERT(session_find(w, w->sessions[oldest].hash, &slot) == oldest);
    session_free(w, oldest, slot);
  }
  if (w->sessions_free == IMX_HASH_NIL) sessions_sweep(w, now);
  if (w->sessions_free == IMX_HASH_NIL) {
    pthread_mutex_unlock(&w->sessions_mu);
    return -1;
  }
  uint32_t k = w->sessions_free;
  session *p = &w->sessions[k];
  w->sessions_free = p->next_free;
  memcpy(p->hash, hash, sizeof p->hash);
  p->cc = cc;
  p->expires_ms = now + SESSION_TTL_MS;
  p->tokens = w->cfg.rate_burst;
  p->last_ns = now_ns();
  p->inflight = 0;
  w->cc_sessions[cc]++;
  imx_hash_put(&w->sessions_index, session_key(hash), k);
  pthread_mutex_unlock(&w->sessions_mu);
  return 0;
}

enum { SESSION_OK, SESSION_NONE, SESSION_RATE };

/* The session of a request's cookie: its slot, generation and cost centre.
** With charge, a call: counted against the session's rate and its calls in
** flight (SESSION_RATE when over either; session_release ends a call). */
static int session_get(web *w, nng_http_req *req, int charge, uint32_t *k_out,
                       uint32_t *gen, uint32_t *cc) {
  char id[2 * SESSION_ID_BYTES + 1], hash[65];
  if (cookie_id(req, id) != 0) return SESSION_NONE;
  imx_sha256_hex(id, 2 * SESSION_ID_BYTES, hash);
  int64_t now = wall_ms();
  int rc = SESSION_OK;
  pthread_mutex_lock(&w->sessions_mu);
  uint32_t slot, k = session_find(w, hash, &slot);
  if (k == IMX_HASH_NIL) {
    rc = SESSION_NONE;
  } else if (w->sessions[k].expires_ms <= now) {
    session_free(w, k, slot);
    rc = SESSION_NONE;
  } else {
    session *p = &w->sessions[k];
    *k_out = k;
    *gen = p->gen;
    *cc = p->cc;
    if (charge) {
      int64_t t = now_ns();
      p->tokens += (double)(t - p->last_ns) * 1e-9 * w->cfg.rate_per_s;
      if (p->tokens > w->cfg.rate_burst) p->tokens = w->cfg.rate_burst;
      p->last_ns = t;
      if (p->tokens < 1.0 || p->inflight >= w->cfg.inflight_max) {
        rc = SESSION_RATE;
      } else {
        p->tokens -= 1.0;
        p->inflight++;
      }
    }
  }
  pthread_mutex_unlock(&w->sessions_mu);
  return rc;
}

/* A call of session k (generation gen) is over. */
static void session_release(web *w, uint32_t k, uint32_t gen) {
  pthread_mutex_lock(&w->sessions_mu);
  session *p = &w->sessions[k];
  if (p->gen == gen && p->hash[0]) {
    IMX_ASSERT(p->inflight > 0);
    p->inflight--;
  }
  pthread_mutex_unlock(&w->sessions_mu);
}

/* Whether session k of generation gen is still signed in (the live feed
** asks before it sends). */
static int session_alive(web *w, uint32_t k, uint32_t gen) {
  int64_t now = wall_ms();
  pthread_mutex_lock(&w->sessions_mu);
  session *p = &w->sessions[k];
  int alive = p->gen == gen && p->hash[0] && p->expires_ms > now;
  pthread_mutex_unlock(&w->sessions_mu);
  return alive;
}

static void session_end(web *w, uint32_t k, uint32_t gen) {
  pthread_mutex_lock(&w->sessions_mu);
  session *p = &w->sessions[k];
  uint32_t slot;
  if (p->gen == gen && p->hash[0] && session_find(w, p->hash, &slot) == k)
    session_free(w, k, slot);
  pthread_mutex_unlock(&w->sessions_mu);
}

/* ------------------------------------------------------------- sign-in */

/* Where a request came from: 4 with its IPv4 address in v4 (network
** order), also for an IPv4 client of a listener on [::], which comes as
** ::ffff:a.b.c.d; 6 with an IPv6 address's first 64 bits in v6 (one host's
** many addresses); 0 when unknown.
**
** nng 1.5 has no call for a server connection's peer address. Its
** nng_http_conn begins with the nng_stream it reads (http_conn.c, 1.5.0
** to 1.5.2), whose address is public (nng_stream_get_addr); other
** versions know no address, which only makes the limits stricter. */
static int peer_addr(nng_http_conn *conn, uint8_t v4[4], uint64_t *v6) {
#if NNG_MAJOR_VERSION == 1 && NNG_MINOR_VERSION == 5
  static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  nng_stream *st = *(nng_stream **)(void *)conn;
  nng_sockaddr sa;
  if (st == NULL || nng_stream_get_addr(st, NNG_OPT_REMADDR, &sa) != 0) return 0;
  if (sa.s_family == NNG_AF_INET) {
    memcpy(v4, &sa.s_in.sa_addr, 4);
    return 4;
  }
  if (sa.s_family != NNG_AF_INET6) return 0;
  if (memcmp(sa.s_in6.sa_addr, v4mapped, sizeof v4mapped) == 0) {
    memcpy(v4, sa.s_in6.sa_addr + 12, 4);
    return 4;
  }
  memcpy(v6, sa.s_in6.sa_addr, 8);
  return 6;
#else
  (void)conn, (void)v4, (void)v6;
  return 0;
#endif
}

/* The address as a key of the limits: its IPv4 address, or its IPv6 /64;
** 1 when unknown (every unknown address is one). */
static uint64_t peer_key(nng_http_conn *conn) {
  uint8_t v4[4];
  uint64_t v6 = 0;
  uint32_t a4;
  switch (peer_addr(conn, v4, &v6)) {
  case 4:
    memcpy(&a4, v4, 4);
    return 0x400000000ull | a4;
  case 6:
    return v6 | 1;
  default:
    return 1;
  }
}

static void peer_text(nng_http_conn *conn, char *buf, size_t cap) {
  uint8_t v4[4];
  uint64_t v6;
  switch (peer_addr(conn, v4, &v6)) {
  case 4:
    snprintf(buf, cap, "%u.%u.%u.%u", v4[0], v4[1], v4[2], v4[3]);
    break;
  case 6:
    snprintf(buf, cap, "an IPv6 address");
    break;
  default:
    snprintf(buf, cap, "an unknown address");
  }
}

/* The address's entry (found, or a free or stale or the oldest slot of its
** probe taken over). Under signin_mu. */
static fail_count *addr_entry(web *w, uint64_t key, int64_t now) {
  uint32_t home = (uint32_t)((key * 0x9E3779B97F4A7C15ull) >> 40) % SIGNIN_ADDRS;
  fail_count *oldest = NULL;
  for (uint32_t i = 0; i < SIGNIN_PROBE; i++) {
    fail_count *f = &w->addr_fails[(home + i) % SIGNIN_ADDRS];
    if (f->key == key) return f;
    if (oldest == NULL || f->since_ms < oldest->since_ms) oldest = f;
  }
  for (uint32_t i = 0; i < SIGNIN_PROBE; i++) {
    fail_count *f = &w->addr_fails[(home + i) % SIGNIN_ADDRS];
    if (f->key == 0 || now - f->since_ms >= SIGNIN_WINDOW_MS) {
      oldest = f;
      break;
    }
  }
  oldest->key = key;
  oldest->since_ms = now;
  oldest->fails = 0;
  return oldest;
}

/* Whether cost centre cc signed in from address key in the last
** CC_HOME_TTL_MS. Under signin_mu. */
static int cc_home_known(const web *w, int64_t cc, uint64_t key, int64_t now) {
  if (key <= 1) return 0; /* an unknown address is nobody's home */
  const cc_home *h = &w->cc_homes[(size_t)cc * CC_HOMES];
  for (uint32_t i = 0; i < CC_HOMES; i++)
    if (h[i].key == key && now - h[i].last_ms < CC_HOME_TTL_MS) return 1;
  return 0;
}

/* Remembers that cc signed in from key: its entry, else a free or the
** least recent one. Under signin_mu. */
static void cc_home_note(web *w, int64_t cc, uint64_t key, int64_t now) {
  if (key <= 1) return;
  cc_home *h = &w->cc_homes[(size_t)cc * CC_HOMES], *pick = &h[0];
  for (uint32_t i = 0; i < CC_HOMES; i++) {
    if (h[i].key == key) {
      pick = &h[i];
      break;
    }
    if (h[i].last_ms < pick->last_ms) pick = &h[i];
  }
  pick->key = key;
  pick->last_ms = now;
}

static int over_limit(const fail_count *f, int64_t now) {
  return f->fails >= SIGNIN_FAILS_MAX && now - f->since_ms < SIGNIN_WINDOW_MS;
}

static void count_fail(fail_count *f, int64_t now) {
  if (now - f->since_ms >= SIGNIN_WINDOW_MS) {
    f->since_ms = now;
    f->fails = 0;
  }
  f->fails++;
}

/* POST /api/signin {"token":...,"cc":...}: proto decodes it as a hello. */
static void api_signin(web *w, nng_aio *aio, nng_http_req *req, nng_http_conn *conn) {
  void *body;
  size_t len;
  nng_http_req_get_data(req, &body, &len);
  if (len > IMX_MSG_BYTES_MAX) {
    respond_error(aio, "", "too_large", "", "the body is larger than 64 KiB");
    return;
  }
  char text[IMX_MSG_BYTES_MAX + 128];
  unsigned keys = top_keys(body, len);
  size_t n = compose(text, sizeof text, "hello", (keys & KEY_ID) ? NULL : "signin", body, len);
  imx_request rq;
  imx_proto_error err = {0};
  if (n == 0) {
    respond_error(aio, "", "bad_json", "", "the body must be a JSON object");
    return;
  }
  if (imx_request_decode(text, n, &rq, &err) != 0) {
    respond_error(aio, "", err.code, err.field, err.message);
    return;
  }
  if (rq.token[0] == '\0') {
    respond_error(aio, "", "bad_field", "token", "missing: the cost centre's token");
    return;
  }
  uint64_t key = peer_key(conn);
  /* the limits' clock is the monotonic one: a wall clock set back an hour
  ** would keep a cost centre's failures "within the minute" for that hour,
  ** and one set ahead a month would forget every desk */
  int64_t now = now_ns() / 1000000;
  int64_t named = rq.cc[0] ? imx_market_cc_find(w->m, rq.cc) : -1;
  pthread_mutex_lock(&w->signin_mu);
  fail_count *a = addr_entry(w, key, now);
  /* Failures for a cost centre from anywhere lock out the addresses it has
  ** not signed in from lately, not its people at their usual desks: else
  ** anyone could lock any cost centre out with five wrong tokens a minute. */
  int limited = over_limit(a, now) || (named >= 0 && over_limit(&w->cc_fails[named], now) &&
                                       !cc_home_known(w, named, key, now));
  pthread_mutex_unlock(&w->signin_mu);
  if (limited) {
    respond_error(aio, "", "rate_limited", "",
                  "too many failed sign-ins: wait a minute");
    return;
  }
  int64_t cc = server_token_cc(w->srv, rq.token, rq.cc);
  if (cc < 0) {
    int log = 0;
    pthread_mutex_lock(&w->signin_mu);
    count_fail(addr_entry(w, key, now), now);
    if (named >= 0) count_fail(&w->cc_fails[named], now);
    if (now - w->signin_logged_ms >= LOG_EVERY_MS) {
      w->signin_logged_ms = now;
      log = 1;
    }
    pthread_mutex_unlock(&w->signin_mu);
    if (log) {
      char from[64];
      peer_text(conn, from, sizeof from);
      /* the cc only when it is one: a token typed into its field is no
      ** cost centre, and never logged */
      imx_log("web: a failed sign-in for %s from %s (logged once a second at most)",
              named >= 0 ? rq.cc : rq.cc[0] ? "an unknown cost centre"
                                             : "(the token's cost centre)",
              from);
    }
    respond_error(aio, "", "unauthorized", "token",
                  rq.cc[0] ? "wrong token for the cost centre" : "unknown token");
    return;
  }
  char id[2 * SESSION_ID_BYTES + 1];
  if (session_new(w, (uint32_t)cc, id) != 0) {
    respond_reason(aio, "sessions_full", NULL);
    return;
  }
  pthread_mutex_lock(&w->signin_mu);
  cc_home_note(w, cc, key, now);
  pthread_mutex_unlock(&w->signin_mu);
  char reply[1024];
  size_t rl = server_hello_ok(w->srv, "", (uint32_t)cc, reply, sizeof reply);
  IMX_ASSERT(rl > 1 && reply[rl - 1] == '}');
  rl--;
  memcpy(reply + rl, ",\"name\":", 8);
  rl += 8;
  put_json_str(reply, sizeof reply, &rl, w->m->ccs[cc].name);
  memcpy(reply + rl, ",\"site\":", 8);
  rl += 8;
  put_json_str(reply, sizeof reply, &rl, w->m->ccs[cc].site);
  reply[rl++] = '}';
  char cookie[256];
  snprintf(cookie, sizeof cookie,
           COOKIE "=%s; Path=/; HttpOnly; SameSite=Strict; Max-Age=%lld%s", id,
           (long long)(SESSION_TTL_MS / 1000), w->tls ? "; Secure" : "");
  respond_data(aio, 200, JSON_TYPE, reply, rl, 1, "Set-Cookie", cookie);
}

/* The hello.ok of a signed-in cost centre, with its name and site. */
static size_t session_reply(web *w, uint32_t cc, char *buf, size_t cap) {
  size_t rl = server_hello_ok(w->srv, "", cc, buf, cap);
  IMX_ASSERT(rl > 1 && buf[rl - 1] == '}' && cap >= rl + 600);
  rl--;
  memcpy(buf + rl, ",\"name\":", 8);
  rl += 8;
  put_json_str(buf, cap, &rl, w->m->ccs[cc].name);
  memcpy(buf + rl, ",\"site\":", 8);
  rl += 8;
  put_json_str(buf, cap, &rl, w->m->ccs[cc].site);
  buf[rl++] = '}';
  return rl;
}

static void no_session(nng_aio *aio) {
  respond_error(aio, "", "unauthorized", "", "sign in first");
}

static void api_session(web *w, nng_aio *aio, nng_http_req *req) {
  uint32_t k, gen, cc;
  if (session_get(w, req, 0, &k, &gen, &cc) != SESSION_OK) {
    no_session(aio);
    return;
  }
  char buf[1024];
  size_t len = session_reply(w, cc, buf, sizeof buf);
  respond_data(aio, 200, JSON_TYPE, buf, len, 1, NULL, NULL);
}

static void api_signout(web *w, nng_aio *aio, nng_http_req *req) {
  uint32_t k, gen, cc;
  if (session_get(w, req, 0, &k, &gen, &cc) == SESSION_OK) session_end(w, k, gen);
  static const char body[] = "{\"type\":\"signout.ok\"}";
  char cookie[160];
  snprintf(cookie, sizeof cookie,
           COOKIE "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0%s",
           w->tls ? "; Secure" : "");
  respond_data(aio, 200, JSON_TYPE, body, sizeof body - 1, 1, "Set-Cookie", cookie);
}

/* --------------------------------------------------------------- calls */

static web_job *job_take(web *w) {
  pthread_mutex_lock(&w->pool_mu);
  web_job *j = w->jobs_free;
  if (j) w->jobs_free = j->next_free;
  pthread_mutex_unlock(&w->pool_mu);
  return j;
}

static void job_put(web *w, web_job *j) {
  pthread_mutex_lock(&w->pool_mu);
  j->next_free = w->jobs_free;
  w->jobs_free = j;
  pthread_mutex_unlock(&w->pool_mu);
}

/* The end of a call: its reply to nng, its session and job released. */
static void call_done(web_job *j, const char *reply, size_t len) {
  web *w = j->w;
  nng_aio *aio = j->http;
  j->http = NULL;
  if (reply) respond_json(aio, reply, len);
  else nng_aio_finish(aio, NNG_ECANCELED); /* not durable: no answer */
  server_job_done(w->srv, &j->job);
  session_release(w, j->session, j->gen);
  job_put(w, j);
}

/* The engine finished the job (nng's thread): 0 when its batch is durable. */
static void on_job(void *arg) {
  web_job *j = arg;
  if (nng_aio_result(j->job.aio) != 0) {
    call_done(j, NULL, 0);
    return;
  }
  IMX_ASSERT(j->job.reply_len > 0);
  call_done(j, j->job.reply, j->job.reply_len);
}

static int type_of(const char *name) {
  for (int t = 1; t < IMX_MSG_TYPES; t++)
    if (strcmp(imx_msg_type_name((imx_msg_type)t), name) == 0) return t;
  return -1;
}

/* Whether a request type changes the market (then its id is the client's:
** it makes a retry idempotent). */
static int is_read(int t) {
  switch (t) {
  case IMX_MSG_ORDER_LIST: case IMX_MSG_BOOK_GET: case IMX_MSG_TRADES_LIST:
  case IMX_MSG_BALANCE_GET: case IMX_MSG_SERVICES_LIST: case IMX_MSG_CC_LIST:
  case IMX_MSG_CC_GET: case IMX_MSG_ORDER_HISTORY: case IMX_MSG_TENDER_LIST:
  case IMX_MSG_TENDER_GET: case IMX_MSG_STATEMENT_GET: case IMX_MSG_RATINGS_LIST:
  case IMX_MSG_PERIOD_SUMMARY:
    return 1;
  default:
    return 0;
  }
}

/* POST /api/<type>: one protocol request. */

/* The session of a call or a download, charged to its rate; -1 when there
** is none (401) or it is over its rate (429), the refusal answered. */
static int session_or_refuse(web *w, nng_aio *aio, nng_http_req *req, uint32_t *k,
                             uint32_t *gen, uint32_t *cc) {
  int rc = session_get(w, req, 1, k, gen, cc);
  if (rc == SESSION_NONE) {
    no_session(aio);
    return -1;
  }
  if (rc == SESSION_RATE) {
    respond_error(aio, "", "rate_limited", "", "too many requests in this session");
    return -1;
  }
  return 0;
}
static void api_call(web *w, nng_aio *aio, nng_http_req *req, const char *name) {
  int type = type_of(name);
  if (type < 0) {
    respond_error(aio, "", "not_found", "type", "no such request type (POST /api/<type>)");
    return;
  }
  void *body;
  size_t len;
  nng_http_req_get_data(req, &body, &len);
  if (len > IMX_MSG_BYTES_MAX) {
    respond_error(aio, "", "too_large", "message", "is larger than 64 KiB");
    return;
  }
  uint32_t k, gen, cc;
  if (session_or_refuse(w, aio, req, &k, &gen, &cc) != 0) return;
  web_job *j = job_take(w);
  if (j == NULL) {
    session_release(w, k, gen);
    if (atomic_exchange(&w->busy_logged, 1) == 0)
      imx_log("web: every one of its %u calls is in flight; refusing more (503) until one "
              "ends", w->jobs_n);
    respond_reason(aio, "web_busy", NULL);
    return;
  }
  atomic_store(&w->busy_logged, 0);
  j->session = k;
  j->gen = gen;
  j->http = aio;
  unsigned keys = top_keys(body, len);
  const char *id = (keys & KEY_ID) || !is_read(type) ? NULL : "web";
  size_t n = compose(j->text, TEXT_CAP, name, id, body, len);
  imx_proto_error err = {0};
  char ebuf[512];
  size_t el = 0;
  if (n == 0)
    el = imx_error_encode("", "bad_json", "", "the body must be a JSON object", ebuf,
                          sizeof ebuf);
  else if (keys & KEY_TOKEN)
    el = imx_error_encode("", "bad_field", "token",
                          "no token over HTTP: the session authenticates", ebuf,
                          sizeof ebuf);
  else if (imx_request_decode(j->text, n, &j->job.rq, &err) != 0)
    el = imx_error_encode(j->job.rq.id, err.code, err.field, err.message, ebuf,
                          sizeof ebuf);
  else if (j->job.rq.token[0])
    el = imx_error_encode(j->job.rq.id, "bad_field", "token",
                          "no token over HTTP: the session authenticates", ebuf,
                          sizeof ebuf);
  if (el > 0) {
    call_done(j, ebuf, el);
    return;
  }
  j->job.auth_cc = cc;
  /* History is read from the ledger here, as a worker does (and the open
  ** period's summary goes on to the engine thread with what was read). */
  j->job.summary = NULL;
  if (reads_handles(j->job.rq.type)) {
    size_t rl = reads_execute(j->reads, &j->job.rq, cc, j->job.reply, IMX_REPLY_BYTES_MAX,
                              &j->job.summary);
    if (rl > 0) {
      call_done(j, j->job.reply, rl);
      return;
    }
  }
  if (server_enqueue(w->srv, &j->job) != 0) {
    el = imx_error_encode(j->job.rq.id, "internal", "", "imxd is stopping; nothing was done",
                          ebuf, sizeof ebuf);
    call_done(j, ebuf, el);
  }
}

/* ------------------------------------------------------------- routing */

static void live_upgrade(web *w, nng_aio *aio, nng_http_req *req, nng_http_conn *conn);
static void download(web *w, nng_aio *aio, nng_http_req *req, const char *what,
                     const char *query);

static void on_http(nng_aio *aio) {
  nng_http_req *req = nng_aio_get_input(aio, 0);
  nng_http_handler *h = nng_aio_get_input(aio, 1);
  nng_http_conn *conn = nng_aio_get_input(aio, 2);
  web *w = nng_http_handler_get_data(h);
  const char *method = nng_http_req_get_method(req), *query;
  char path[512];
  if (split_target(nng_http_req_get_uri(req), path, sizeof path, &query) != 0) {
    not_found_page(aio);
    return;
  }
  /* nng reads a body by Content-Length only: a chunked one would be taken
  ** for no body, and its bytes for the next request */
  if (nng_http_req_get_header(req, "Transfer-Encoding") != NULL) {
    char buf[256];
    size_t len = imx_error_encode("", "bad_request", "Transfer-Encoding",
                                  "not supported: send the body with a Content-Length", buf,
                                  sizeof buf);
    respond_data(aio, 501, JSON_TYPE, buf, len, 1, "Connection", "close");
    return;
  }
  if (strncmp(path, "/api/", 5) != 0) {
    serve_page(w, aio, method, path);
    return;
  }
  const char *name = path + 5;
  int post = strcmp(method, "POST") == 0,
      get = strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0;
  /* Downloads and the websocket are GETs: SameSite keeps the cookie off
  ** other sites' requests, and the checks below refuse their pages. */
  if ((post || strcmp(name, "live") == 0) && cross_origin(w, req)) {
    respond_reason(aio, "cross_origin", NULL);
    return;
  }
  if (strcmp(name, "session") == 0 && get) {
    api_session(w, aio, req);
  } else if (strcmp(name, "live") == 0 && strcmp(method, "GET") == 0) {
    live_upgrade(w, aio, req, conn);
  } else if ((strcmp(name, "export") == 0 || strcmp(name, "statement.csv") == 0) && get) {
    download(w, aio, req, name, query);
  } else if (!post) {
    char buf[256];
    size_t len = imx_error_encode("", "bad_request", "method",
                                  "not a method this path takes", buf, sizeof buf);
    respond_data(aio, 405, JSON_TYPE, buf, len, 1, "Allow", "POST");
  } else if (strcmp(name, "signin") == 0) {
    api_signin(w, aio, req, conn);
  } else if (strcmp(name, "signout") == 0) {
    api_signout(w, aio, req);
  } else if (strcmp(name, "ledger.verify") == 0) {
    download(w, aio, req, name, query);
  } else {
    api_call(w, aio, req, name);
  }
}

/* ----------------------------------------------------------- downloads */

/*
** GET /api/export, GET /api/statement.csv, POST /api/ledger.verify: read
** the whole ledger, which can take seconds, so they run one at a time on a
** thread of their own (never on nng's), on a read-only connection of its
** own (WAL: the engine's commits go on). A few wait; more get 503.
*/
#define SLOW_QUEUE 8

enum { SLOW_EXPORT, SLOW_STATEMENT, SLOW_VERIFY };

typedef struct slow_req {
  nng_aio *aio;
  int kind, format;
  int64_t period;               /* 0: all (an export)                    */
  char label[IMX_PERIOD_LABEL_BYTES];
  uint32_t cc;                  /* a statement's cost centre             */
  uint32_t session, gen;
} slow_req;

static const struct {
  const char *name, *ext, *type;
  int format;
} formats[] = {
    {"csv", "csv", "text/csv; charset=utf-8", IMX_EXPORT_CSV},
    {"sap", "sap.txt", "text/plain; charset=utf-8", IMX_EXPORT_SAP},
    {"hledger", "journal", "text/plain; charset=utf-8", IMX_EXPORT_HLEDGER},
    {"beancount", "beancount", "text/plain; charset=utf-8", IMX_EXPORT_BEANCOUNT},
    {"ratings", "ratings.csv", "text/csv; charset=utf-8", IMX_EXPORT_RATINGS},
};

static void slow_run(web *w, slow_req *q) {
  char err[512];
  if (w->slow_ledger == NULL &&
      imx_ledger_open_existing(w->cfg.db_path, &w->slow_ledger, err, sizeof err) != 0) {
    imx_ledger_close(w->slow_ledger);
    w->slow_ledger = NULL;
    imx_log("web: ledger %s: %s", w->cfg.db_path, err);
    respond_error(q->aio, "", "internal", "", "the ledger cannot be read");
    return;
  }
  imx_ledger *l = w->slow_ledger;
  if (q->kind == SLOW_VERIFY) {
    int64_t t0 = now_ns(), seq = 0, trades = 0;
    int rc = imx_ledger_read_begin(l);
    if (rc == 0) {
      rc = imx_ledger_last(l, &seq, &trades) != 0 ? -1 : imx_ledger_verify(l, err, sizeof err);
      imx_ledger_read_end(l);
    } else {
      snprintf(err, sizeof err, "%s", imx_ledger_error(l));
    }
    if (rc != 0) {
      respond_reason(q->aio, "ledger_check_failed", err);
      return;
    }
    char body[128];
    int n = snprintf(body, sizeof body,
                     "{\"type\":\"ledger.verify.ok\",\"trades\":%lld,\"checked_ms\":%lld}",
                     (long long)trades, (long long)((now_ns() - t0) / 1000000));
    respond_data(q->aio, 200, JSON_TYPE, body, (size_t)n, 1, NULL, NULL);
    return;
  }
  char *data = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&data, &len);
  if (f == NULL) {
    respond_error(q->aio, "", "internal", "", "out of memory");
    return;
  }
  /* each export reads in one query or one read transaction of its own */
  int rc = q->kind == SLOW_STATEMENT
               ? imx_export_statement(l, w->m, q->period, w->m->ccs[q->cc].id, f, NULL)
               : imx_export(l, w->m, q->period, formats[q->format].format, f, NULL);
  int closed = fclose(f);
  if (rc != 0 || closed != 0) {
    /* what the export refuses (an open period for sap, a mapping the
    ** market file lacks) is refused before a byte: the message says why */
    respond_error(q->aio, "", "export_refused", "", imx_ledger_error(l));
  } else {
    char disposition[160];
    if (q->kind == SLOW_STATEMENT)
      snprintf(disposition, sizeof disposition,
               "attachment; filename=\"imx-statement-%s-%s.csv\"", w->m->ccs[q->cc].id,
               q->label);
    else
      snprintf(disposition, sizeof disposition, "attachment; filename=\"imx-%s.%s\"",
               q->period ? q->label : "all", formats[q->format].ext);
    /* a cost centre id may hold a quote: it never reaches the header so */
    for (char *p = strchr(disposition, '"') + 1; *p && p[1]; p++)
      if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20) *p = '_';
    respond_data(q->aio, 200,
                 q->kind == SLOW_STATEMENT ? "text/csv; charset=utf-8" : formats[q->format].type,
                 data, len, 1, "Content-Disposition", disposition);
  }
  free(data);
}

static void *slow_main(void *arg) {
  web *w = arg;
  pthread_mutex_lock(&w->slow_mu);
  for (;;) {
    while (w->slow_n == 0 && !w->slow_stop) pthread_cond_wait(&w->slow_cv, &w->slow_mu);
    if (w->slow_n == 0) break;
    slow_req q = w->slow_q[w->slow_head];
    w->slow_head = (w->slow_head + 1) % SLOW_QUEUE;
    w->slow_n--;
    int stop = w->slow_stop;
    pthread_mutex_unlock(&w->slow_mu);
    if (stop) respond_error(q.aio, "", "internal", "", "imxd is stopping");
    else slow_run(w, &q);
    session_release(w, q.session, q.gen);
    pthread_mutex_lock(&w->slow_mu);
  }
  pthread_mutex_unlock(&w->slow_mu);
  return NULL;
}

static void download(web *w, nng_aio *aio, nng_http_req *req, const char *what,
                     const char *query) {
  uint32_t k, gen, cc;
  if (session_or_refuse(w, aio, req, &k, &gen, &cc) != 0) return;
  slow_req q = {.aio = aio, .session = k, .gen = gen, .cc = cc};
  unsigned roles = w->m->ccs[cc].roles;
  char word[IMX_NAME_BYTES_MAX + 1];
  const char *code = NULL, *field = "", *message = NULL;
  if (strcmp(what, "ledger.verify") == 0) {
    q.kind = SLOW_VERIFY;
    if (!(roles & IMX_ROLE_FINANCE))
      code = "forbidden", message = "only finance verifies the ledger";
  } else if (strcmp(what, "export") == 0) {
    q.kind = SLOW_EXPORT;
    q.format = -1;
    if (query_param(query, "format", word, sizeof word) == 0)
      for (int i = 0; i < (int)(sizeof formats / sizeof formats[0]); i++)
        if (strcmp(word, formats[i].name) == 0) q.format = i;
    if (!(roles & IMX_ROLE_FINANCE))
      code = "forbidden", message = "only finance exports the ledger";
    else if (q.format < 0)
      code = "bad_field", field = "format", message = "csv, sap, hledger, beancount or ratings";
  } else {
    q.kind = SLOW_STATEMENT;
    if (query_param(query, "cc", word, sizeof word) == 0) {
      int64_t i = imx_market_cc_find(w->m, word);
      if (i < 0) code = "unknown_cc", field = "cc", message = "no such cost centre";
      else q.cc = (uint32_t)i;
    }
    if (code == NULL && q.cc != cc && !(roles & IMX_ROLE_FINANCE))
      code = "forbidden", field = "cc",
      message = "only finance reads the statements of other cost centres";
  }
  if (code == NULL && q.kind != SLOW_VERIFY) {
    int given = query_param(query, "period", q.label, sizeof q.label) == 0;
    q.period = given ? imx_period_parse(w->m, q.label) : 0;
    if (given && q.period < 0)
      code = "bad_field", field = "period", message = "not a period of the market";
    else if (q.kind == SLOW_STATEMENT && !given)
      code = "bad_field", field = "period", message = "missing: the statement's period";
    else if (q.kind == SLOW_EXPORT && given && formats[q.format].format == IMX_EXPORT_RATINGS)
      code = "bad_field", field = "period", message = "ratings belong to no period";
  }
  if (code) {
    session_release(w, k, gen);
    respond_error(aio, "", code, field, message);
    return;
  }
  pthread_mutex_lock(&w->slow_mu);
  int full = w->slow_n == SLOW_QUEUE || w->slow_stop;
  if (!full) {
    w->slow_q[(w->slow_head + w->slow_n) % SLOW_QUEUE] = q;
    w->slow_n++;
    pthread_cond_signal(&w->slow_cv);
  }
  pthread_mutex_unlock(&w->slow_mu);
  if (full) {
    session_release(w, k, gen);
    respond_reason(aio, "web_busy", "downloads are busy: try again in a moment");
  }
}

static int slow_open(web *w) {
  pthread_mutex_init(&w->slow_mu, NULL);
  pthread_cond_init(&w->slow_cv, NULL);
  w->slow_q = calloc(SLOW_QUEUE, sizeof *w->slow_q);
  if (w->slow_q == NULL || pthread_create(&w->slow, NULL, slow_main, w) != 0) return -1;
  w->slow_started = 1;
  return 0;
}

/* Stopping: what runs is interrupted, what waits is answered. */
static void slow_interrupt(web *w) {
  if (!w->slow_started) return;
  pthread_mutex_lock(&w->slow_mu);
  w->slow_stop = 1;
  imx_ledger_interrupt(w->slow_ledger);
  pthread_cond_signal(&w->slow_cv);
  pthread_mutex_unlock(&w->slow_mu);
}

static void slow_stop(web *w) {
  if (w->slow_started) {
    slow_interrupt(w);
    pthread_join(w->slow, NULL);
    w->slow_started = 0;
  }
  imx_ledger_close(w->slow_ledger);
  free(w->slow_q);
}

/* ---------------------------------------------------------------- live */

/*
** GET /api/live: a websocket (RFC 6455) per page, done here on top of nng's
** HTTP connection (nng_http_hijack), as nng's own websocket does: nng 1.5
** has no public hook to refuse an upgrade, and an upgrade without a session
** must get 401, not a socket.
**
** The engine thread never touches a socket. After each durable batch it
** appends the batch's events (market data, and the fills, closed orders,
** ratings and period closes of web_batch_result) to the log, a ring of
** bytes, each record with its audience (everyone, or one cost centre), and
** wakes the pump thread. The pump hands each new record to the queue of
** every socket it is for (at most LIVE_QUEUE records: a socket that does
** not keep up is closed) and starts the writes of idle sockets; each write
** takes as many queued records as fit its buffer, as text frames, and its
** completion (one of nng's threads) starts the next. A record overwritten
** before a socket wrote it, or a batch whose events did not fit the
** stage, closes the sockets concerned: the page reconnects and re-reads.
**
** The pump also cancels the operations of closing sockets and frees them
** once those are over (never from their own callbacks, and no other thread
** cancels: nng calls an operation's cancel function on the connection with
** no hold on it, so a cancel racing the free would use a freed connection),
** and once a second it closes the sockets whose session ended.
*/
#define RING_BYTES (4u << 20)
#define RING_SLACK (2 * IMX_PUB_BYTES_MAX) /* a record is never longer     */
#define STAGE_BYTES (1u << 20)
#define LIVE_QUEUE 256
#define LIVE_WBUF (32 * 1024)
#define LIVE_RBUF 256
#define REC_HDR 8 /* u32 length, i32 audience (-1: everyone), the bytes */
#define REC_PAD 0xffffffffu
#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

enum { L_FREE, L_HANDSHAKE, L_OPEN };

struct live {
  web *w;
  int state;             /* L_*, and the rest under live_mu            */
  int closing, dead;     /* closing: no more I/O; dead: on the list    */
  int reading, writing;  /* an operation outstanding on rx, tx         */
  nng_http_conn *conn;
  nng_http_res *res;     /* the 101 while it is written                */
  nng_aio *rx, *tx;
  uint32_t session, gen, cc, epoch;
  uint64_t queue[LIVE_QUEUE]; /* log offsets of its records, in order */
  uint32_t q_head, q_n;
  uint8_t ctl[2 + 125];  /* a control frame to send first (pong, close) */
  size_t ctl_len;
  int close_after;       /* the close frame is queued: end once sent    */
  int close_out;         /* the write out now carries the close frame   */
  uint8_t *wbuf;         /* LIVE_WBUF                                   */
  size_t wlen;
  uint8_t rbuf[LIVE_RBUF];
  size_t rlen;
  uint64_t skip;         /* bytes of a client's data frame to drop      */
  live *next;            /* free or dead list                           */
};

static uint32_t round8(uint32_t n) { return (n + 7) & ~7u; }

/* Appends a record to the log. Under ring_mu. */
static void ring_put(web *w, int32_t audience, const void *data, uint32_t len) {
  IMX_ASSERT(len <= IMX_PUB_BYTES_MAX + 256);
  uint32_t need = REC_HDR + round8(len), pos = (uint32_t)(w->head % RING_BYTES);
  if (pos + need > RING_BYTES) { /* the rest of the ring is padding */
    uint32_t pad = REC_PAD;
    memcpy(w->ring + pos, &pad, 4);
    w->head += RING_BYTES - pos;
    pos = 0;
  }
  memcpy(w->ring + pos, &len, 4);
  memcpy(w->ring + pos + 4, &audience, 4);
  memcpy(w->ring + pos + REC_HDR, data, len);
  w->head += need;
}

/* Wakes the pump: new records, or a socket to free. */
static void pump_wake(web *w) {
  pthread_mutex_lock(&w->pump_mu);
  w->pump_due = 1;
  pthread_cond_signal(&w->pump_cv);
  pthread_mutex_unlock(&w->pump_mu);
}

/* A record of the batch, kept until the batch is durable (engine thread). */
static void stage_put(web *w, int64_t audience, const char *data, size_t len) {
  uint32_t need = REC_HDR + round8((uint32_t)len);
  if (audience == -2) return; /* a cost centre the market does not know */
  if (w->stage_len + need > STAGE_BYTES) {
    w->stage_lost = 1;
    return;
  }
  uint32_t l = (uint32_t)len;
  int32_t a = (int32_t)audience;
  memcpy(w->stage + w->stage_len, &l, 4);
  memcpy(w->stage + w->stage_len + 4, &a, 4);
  memcpy(w->stage + w->stage_len + REC_HDR, data, len);
  w->stage_len += need;
}

static int64_t cc_of(const web *w, const char *id) {
  int64_t i = imx_market_cc_find(w->m, id);
  return i < 0 ? -2 : i;
}

void web_batch_begin(web *w) {
  if (w == NULL) return;
  w->stage_len = 0;
  w->stage_lost = 0;
}

/* One "fill" for a party of a trade. */
static void stage_fill(web *w, const core_trade *ct, int bid) {
  const imx_reply_trade *t = &ct->trade;
  char buf[768];
  size_t o = 0;
  o += (size_t)snprintf(buf, sizeof buf, "{\"type\":\"fill\",\"trade\":%llu,\"service\":",
                        (unsigned long long)t->trade);
  put_json_str(buf, sizeof buf, &o, t->service);
  if (ct->tender) /* a tender's award: the tender and the winning quote */
    o += (size_t)snprintf(buf + o, sizeof buf - o, ",\"side\":\"%s\",\"tender\":%llu,\"quote\":%llu",
                          bid ? "bid" : "offer", (unsigned long long)t->buy_order,
                          (unsigned long long)t->sell_order);
  else
    o += (size_t)snprintf(buf + o, sizeof buf - o, ",\"side\":\"%s\",\"order\":%llu",
                          bid ? "bid" : "offer",
                          (unsigned long long)(bid ? t->buy_order : t->sell_order));
  o += (size_t)snprintf(buf + o, sizeof buf - o,
                        ",\"qty\":%lld,\"price\":%lld,\"time_ms\":%lld,\"counterparty\":",
                        (long long)t->qty, (long long)t->price_minor, (long long)t->time_ms);
  put_json_str(buf, sizeof buf, &o, bid ? t->seller : t->buyer);
  buf[o++] = '}';
  stage_put(w, cc_of(w, bid ? t->buyer : t->seller), buf, o);
}

void web_batch_result(web *w, const core_result *r) {
  if (w == NULL || atomic_load(&w->lives_n) == 0) return;
  char buf[1024];
  for (uint32_t i = 0; i < r->trades_n; i++) {
    stage_fill(w, &r->trades[i], 1);
    stage_fill(w, &r->trades[i], 0);
  }
  for (uint32_t i = 0; i < r->closed_n; i++) {
    const core_closed *k = &r->closed[i];
    size_t o = (size_t)snprintf(buf, sizeof buf, "{\"type\":\"order.closed\",\"order\":%llu,"
                                "\"service\":", (unsigned long long)k->order);
    put_json_str(buf, sizeof buf, &o, k->service);
    o += (size_t)snprintf(buf + o, sizeof buf - o, ",\"status\":\"%s\"", k->status);
    if (k->reason) o += (size_t)snprintf(buf + o, sizeof buf - o, ",\"reason\":\"%s\"", k->reason);
    buf[o++] = '}';
    stage_put(w, cc_of(w, k->cc), buf, o);
  }
  const core_rating *k = r->rating;
  if (k) {
    size_t o = (size_t)snprintf(buf, sizeof buf, "{\"type\":\"%s\",\"trade\":%llu,\"service\":",
                                k->stars ? "rating" : "rating.reply",
                                (unsigned long long)k->trade);
    put_json_str(buf, sizeof buf, &o, k->service);
    if (k->stars) o += (size_t)snprintf(buf + o, sizeof buf - o, ",\"stars\":%d", k->stars);
    buf[o++] = '}';
    stage_put(w, cc_of(w, k->stars ? k->provider : k->rater), buf, o);
  }
  if (r->period_closed) {
    char label[IMX_PERIOD_LABEL_BYTES];
    if (imx_period_label(w->m, r->period_closed, label, sizeof label) != 0) label[0] = '\0';
    size_t o = (size_t)snprintf(buf, sizeof buf, "{\"type\":\"period.closed\",\"period\":");
    put_json_str(buf, sizeof buf, &o, label);
    buf[o++] = '}';
    stage_put(w, -1, buf, o);
  }
}

void web_batch_publish(web *w, const imx_md_event *md, uint32_t md_n) {
  if (w == NULL || atomic_load(&w->lives_n) == 0) return;
  char buf[IMX_PUB_BYTES_MAX];
  pthread_mutex_lock(&w->ring_mu);
  for (uint32_t i = 0; i < md_n; i++) {
    size_t len = imx_md_encode(&md[i], buf, sizeof buf);
    /* the PUB message is its topic, a space, the JSON: the JSON goes */
    size_t topic = md[i].topic_cc[0] ? sizeof IMX_MD_TOPIC_CC - 1 + strlen(md[i].topic_cc)
                                     : strlen(md[i].service);
    if (len <= topic + 1) continue;
    int64_t audience = md[i].topic_cc[0] ? cc_of(w, md[i].topic_cc) : -1;
    if (audience != -2)
      ring_put(w, (int32_t)audience, buf + topic + 1, (uint32_t)(len - topic - 1));
  }
  for (size_t o = 0; o < w->stage_len;) {
    uint32_t len;
    int32_t a;
    memcpy(&len, w->stage + o, 4);
    memcpy(&a, w->stage + o + 4, 4);
    ring_put(w, a, w->stage + o + REC_HDR, len);
    o += REC_HDR + round8(len);
  }
  if (w->stage_lost) w->epoch++;
  pthread_mutex_unlock(&w->ring_mu);
  pump_wake(w);
}

/* Puts a closed socket whose operations are over on the dead list. Under
** live_mu. */
static void maybe_dead(web *w, live *l) {
  if (!l->closing || l->reading || l->writing || l->dead) return;
  l->dead = 1;
  l->next = w->dead;
  w->dead = l;
  pump_wake(w);
}

/* Ends a socket: no more reads or writes. The pump cancels what is
** outstanding (pump_cancel) and frees the socket once both are over. */
static void live_close(live *l) {
  web *w = l->w;
  pthread_mutex_lock(&w->live_mu);
  l->closing = 1;
  w->cancel_due = 1;
  maybe_dead(w, l);
  pthread_mutex_unlock(&w->live_mu);
  pump_wake(w);
}

/* An operation was just started on a socket: if it closed meanwhile, the
** pump cancels the operation, so that it is not left pending. */
static void live_started(live *l) {
  web *w = l->w;
  pthread_mutex_lock(&w->live_mu);
  int closing = l->closing;
  if (closing) w->cancel_due = 1;
  pthread_mutex_unlock(&w->live_mu);
  if (closing) pump_wake(w);
}

/* Fills the write buffer: the control frame, then queued records as text
** frames while they fit. Under live_mu. Returns 0, or -1 when one of its
** records was overwritten (the socket fell behind the log). */
static int live_gather(web *w, live *l) {
  l->wlen = 0;
  if (l->ctl_len) {
    memcpy(l->wbuf, l->ctl, l->ctl_len);
    l->wlen = l->ctl_len;
    l->ctl_len = 0;
    l->close_out = l->close_after; /* then the control frame is the close */
  }
  if (l->close_after) return 0;
  pthread_mutex_lock(&w->ring_mu);
  int rc = 0;
  while (l->q_n > 0) {
    uint64_t at = l->queue[l->q_head];
    if (w->head - at > RING_BYTES - RING_SLACK) {
      rc = -1;
      break;
    }
    uint32_t len;
    memcpy(&len, w->ring + at % RING_BYTES, 4);
    size_t hdr = len < 126 ? 2 : 4;
    if (l->wlen + hdr + len > LIVE_WBUF) break;
    uint8_t *p = l->wbuf + l->wlen;
    p[0] = 0x81; /* FIN, text */
    if (len < 126) {
      p[1] = (uint8_t)len;
    } else {
      p[1] = 126;
      p[2] = (uint8_t)(len >> 8);
      p[3] = (uint8_t)len;
    }
    memcpy(p + hdr, w->ring + at % RING_BYTES + REC_HDR, len);
    l->wlen += hdr + len;
    l->q_head = (l->q_head + 1) % LIVE_QUEUE;
    l->q_n--;
  }
  pthread_mutex_unlock(&w->ring_mu);
  return rc;
}

/* Starts a write of what is queued; the caller set l->writing. */
static void live_write(live *l) {
  web *w = l->w;
  pthread_mutex_lock(&w->live_mu);
  int lost = l->closing ? 0 : live_gather(w, l);
  if (l->closing || lost || l->wlen == 0) {
    l->writing = 0;
    maybe_dead(w, l);
    pthread_mutex_unlock(&w->live_mu);
    if (lost) live_close(l);
    return;
  }
  pthread_mutex_unlock(&w->live_mu);
  nng_iov iov = {.iov_buf = l->wbuf, .iov_len = l->wlen};
  nng_aio_set_iov(l->tx, 1, &iov);
  nng_http_conn_write_all(l->conn, l->tx);
  live_started(l);
}

static void live_read(live *l) {
  nng_iov iov = {.iov_buf = l->rbuf + l->rlen, .iov_len = LIVE_RBUF - l->rlen};
  nng_aio_set_iov(l->rx, 1, &iov);
  nng_http_conn_read(l->conn, l->rx);
  live_started(l);
}

static void on_live_tx(void *arg) {
  live *l = arg;
  web *w = l->w;
  int rv = nng_aio_result(l->tx);
  nng_http_res *res = NULL;
  int start_read = 0, again = 0;
  pthread_mutex_lock(&w->live_mu);
  if (l->state == L_HANDSHAKE) {
    res = l->res;
    l->res = NULL;
    l->state = L_OPEN;
    if (rv == 0 && !l->closing) start_read = l->reading = 1;
  }
  l->writing = 0;
  /* the end once the close frame is out: not at the end of a write that
  ** was out when the client's close frame came */
  if (rv != 0 || l->close_out) l->closing = 1;
  if (!l->closing && (l->q_n > 0 || l->ctl_len > 0)) again = l->writing = 1;
  maybe_dead(w, l);
  int closing = l->closing;
  pthread_mutex_unlock(&w->live_mu);
  nng_http_res_free(res);
  if (closing) live_close(l);
  if (start_read) live_read(l);
  if (again) live_write(l);
}

/* A control frame to send before the next records. Under live_mu. */
static void live_control(live *l, uint8_t op, const uint8_t *payload, size_t len) {
  IMX_ASSERT(len <= 125);
  l->ctl[0] = (uint8_t)(0x80 | op);
  l->ctl[1] = (uint8_t)len;
  memcpy(l->ctl + 2, payload, len);
  l->ctl_len = 2 + len;
}

/* Reads the client's frames: close and ping are answered, the rest (a page
** sends nothing) dropped. -1 on a frame RFC 6455 does not allow. */
static int live_parse(live *l) {
  for (;;) {
    if (l->skip > 0) {
      size_t take = l->skip < l->rlen ? (size_t)l->skip : l->rlen;
      memmove(l->rbuf, l->rbuf + take, l->rlen - take);
      l->rlen -= take;
      l->skip -= take;
      if (l->skip > 0) return 0;
      continue;
    }
    if (l->rlen < 2) return 0;
    uint8_t b0 = l->rbuf[0], b1 = l->rbuf[1], op = b0 & 0x0f;
    if (!(b1 & 0x80) || (b0 & 0x70)) return -1; /* unmasked, or extensions */
    size_t ext = (b1 & 0x7f) == 126 ? 2 : (b1 & 0x7f) == 127 ? 8 : 0, hdr = 2 + ext + 4;
    if (l->rlen < hdr) return 0;
    uint64_t plen = b1 & 0x7f;
    if (ext) {
      plen = 0;
      for (size_t i = 0; i < ext; i++) plen = plen << 8 | l->rbuf[2 + i];
    }
    if (op >= 8) { /* control: whole, at most 125 bytes */
      if (plen > 125 || !(b0 & 0x80)) return -1;
      if (l->rlen < hdr + plen) return 0;
      uint8_t payload[125];
      for (size_t i = 0; i < plen; i++) payload[i] = l->rbuf[hdr + i] ^ l->rbuf[2 + ext + i % 4];
      web *w = l->w;
      pthread_mutex_lock(&w->live_mu);
      if (op == 0x8) { /* close: answered with its code, then the end */
        live_control(l, 0x8, payload, plen >= 2 ? 2 : 0);
        l->close_after = 1;
        pthread_mutex_unlock(&w->live_mu);
        l->rlen = 0; /* what follows a close is dropped (RFC 6455 5.5.1): a
                     ** ping's pong must not take the close frame's place */
        return 0;
      } else if (op == 0x9) { /* ping: pong */
        live_control(l, 0xA, payload, (size_t)plen);
      }
      pthread_mutex_unlock(&w->live_mu);
      memmove(l->rbuf, l->rbuf + hdr + plen, l->rlen - hdr - plen);
      l->rlen -= hdr + (size_t)plen;
      continue;
    }
    memmove(l->rbuf, l->rbuf + hdr, l->rlen - hdr);
    l->rlen -= hdr;
    l->skip = plen;
  }
}

static void on_live_rx(void *arg) {
  live *l = arg;
  web *w = l->w;
  int rv = nng_aio_result(l->rx);
  if (rv == 0) {
    l->rlen += nng_aio_count(l->rx);
    if (live_parse(l) != 0) rv = NNG_EPROTO;
  }
  int again = 0, write = 0;
  pthread_mutex_lock(&w->live_mu);
  l->reading = 0;
  if (rv != 0) l->closing = 1;
  if (!l->closing && !l->close_after) again = l->reading = 1;
  if (!l->closing && l->ctl_len > 0 && !l->writing) write = l->writing = 1;
  maybe_dead(w, l);
  int closing = l->closing;
  pthread_mutex_unlock(&w->live_mu);
  if (closing) live_close(l);
  if (write) live_write(l);
  if (again) live_read(l);
}

/* Whether a header's comma-separated list has a word (any case). */
static int has_word(const char *list, const char *word) {
  size_t n = strlen(word);
  for (const char *p = list; p && *p;) {
    while (*p == ' ' || *p == ',' || *p == '\t') p++;
    size_t l = strcspn(p, ", \t");
    if (l == n && strncasecmp(p, word, n) == 0) return 1;
    p += l;
  }
  return 0;
}

static void base64(const uint8_t *in, size_t n, char *out) {
  static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  size_t o = 0;
  for (size_t i = 0; i < n; i += 3) {
    uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0) |
                 (i + 2 < n ? in[i + 2] : 0);
    out[o++] = a[v >> 18 & 63];
    out[o++] = a[v >> 12 & 63];
    out[o++] = i + 1 < n ? a[v >> 6 & 63] : '=';
    out[o++] = i + 2 < n ? a[v & 63] : '=';
  }
  out[o] = '\0';
}

static void live_upgrade(web *w, nng_aio *aio, nng_http_req *req, nng_http_conn *conn) {
  uint32_t k, gen, cc;
  if (session_get(w, req, 0, &k, &gen, &cc) != SESSION_OK) {
    no_session(aio);
    return;
  }
  const char *up = nng_http_req_get_header(req, "Upgrade"),
             *co = nng_http_req_get_header(req, "Connection"),
             *ver = nng_http_req_get_header(req, "Sec-WebSocket-Version"),
             *key = nng_http_req_get_header(req, "Sec-WebSocket-Key");
  if (up == NULL || !has_word(up, "websocket") || co == NULL || !has_word(co, "upgrade") ||
      ver == NULL || strcmp(ver, "13") != 0 || key == NULL || strlen(key) != 24 ||
      strcmp(nng_http_req_get_version(req), "HTTP/1.1") != 0) {
    char buf[256];
    size_t len = imx_error_encode("", "bad_request", "",
                                  "not a websocket upgrade (RFC 6455, version 13)", buf,
                                  sizeof buf);
    respond_data(aio, 400, JSON_TYPE, buf, len, 1, "Sec-WebSocket-Version", "13");
    return;
  }
  char text[24 + sizeof WS_GUID], accept[32];
  uint8_t sum[20];
  snprintf(text, sizeof text, "%s" WS_GUID, key);
  if (mbedtls_sha1_ret((const unsigned char *)text, strlen(text), sum) != 0) {
    respond_error(aio, "", "internal", "", "sha-1 failed");
    return;
  }
  base64(sum, sizeof sum, accept);
  nng_http_res *res;
  if (nng_http_res_alloc(&res) != 0) {
    nng_aio_finish(aio, NNG_ENOMEM);
    return;
  }
  if (nng_http_res_set_status(res, 101) != 0 ||
      nng_http_res_set_reason(res, "Switching Protocols") != 0 ||
      nng_http_res_set_header(res, "Upgrade", "websocket") != 0 ||
      nng_http_res_set_header(res, "Connection", "Upgrade") != 0 ||
      nng_http_res_set_header(res, "Sec-WebSocket-Accept", accept) != 0) {
    nng_http_res_free(res);
    nng_aio_finish(aio, NNG_ENOMEM);
    return;
  }
  pthread_mutex_lock(&w->live_mu);
  live *l = w->lives_free;
  if (l) {
    w->lives_free = l->next;
    l->state = L_HANDSHAKE;
    l->closing = l->dead = l->reading = 0;
    l->writing = 1; /* the 101 */
    l->conn = conn;
    l->res = res;
    l->session = k;
    l->gen = gen;
    l->cc = cc;
    l->q_head = l->q_n = 0;
    l->ctl_len = l->rlen = 0;
    l->close_after = l->close_out = 0;
    l->skip = 0;
    l->next = NULL;
    pthread_mutex_lock(&w->ring_mu);
    l->epoch = w->epoch;
    pthread_mutex_unlock(&w->ring_mu);
    atomic_fetch_add(&w->lives_n, 1);
  }
  pthread_mutex_unlock(&w->live_mu);
  if (l == NULL) {
    nng_http_res_free(res);
    respond_reason(aio, "web_busy", "imxd holds its maximum of live connections");
    return;
  }
  /* The connection is ours from here: nng's server lets go of it (and of
  ** the request, freed below) when this handler finishes without a
  ** response. */
  nng_http_hijack(conn);
  nng_http_conn_write_res(conn, res, l->tx);
  live_started(l);
  nng_aio_set_output(aio, 0, NULL);
  nng_aio_finish(aio, 0);
  nng_http_req_free(req);
}

/* The pump's round: every record the log got since the last one goes into
** the queues of the open sockets it is for; sockets over LIVE_QUEUE, or of
** an older epoch, close; idle ones with something queued start writing. */
static void pump_round(web *w, live **kick, live **shut) {
  typedef struct rec {
    uint64_t at;
    int32_t audience;
  } rec;
  rec recs[1024];
  for (;;) {
    uint32_t n = 0, epoch;
    int lost = 0;
    pthread_mutex_lock(&w->ring_mu);
    if (w->head - w->pumped > RING_BYTES - RING_SLACK) { /* the pump fell behind */
      w->pumped = w->head;
      w->epoch++;
      lost = 1;
    }
    while (w->pumped < w->head && n < 1024) {
      uint32_t pos = (uint32_t)(w->pumped % RING_BYTES), len;
      memcpy(&len, w->ring + pos, 4);
      if (len == REC_PAD) {
        w->pumped += RING_BYTES - pos;
        continue;
      }
      recs[n].at = w->pumped;
      memcpy(&recs[n].audience, w->ring + pos + 4, 4);
      n++;
      w->pumped += REC_HDR + round8(len);
    }
    epoch = w->epoch;
    pthread_mutex_unlock(&w->ring_mu);
    (void)lost;
    uint32_t kicks = 0, shuts = 0;
    pthread_mutex_lock(&w->live_mu);
    for (uint32_t i = 0; i < w->lives_max; i++) {
      live *l = &w->lives[i];
      if (l->state == L_FREE || l->closing) continue;
      /* older than the log's epoch: it missed events. (Not "other than":
      ** a socket opened after this round read the epoch has a newer one.) */
      int over = (int32_t)(epoch - l->epoch) > 0;
      for (uint32_t r = 0; r < n && !over; r++) {
        if (recs[r].audience >= 0 && (uint32_t)recs[r].audience != l->cc) continue;
        if (l->q_n == LIVE_QUEUE) {
          over = 1;
          break;
        }
        l->queue[(l->q_head + l->q_n) % LIVE_QUEUE] = recs[r].at;
        l->q_n++;
      }
      if (over) shut[shuts++] = l;
      else if (l->state == L_OPEN && !l->writing && (l->q_n > 0 || l->ctl_len > 0))
        kick[kicks++] = l, l->writing = 1;
    }
    pthread_mutex_unlock(&w->live_mu);
    for (uint32_t i = 0; i < shuts; i++) live_close(shut[i]);
    for (uint32_t i = 0; i < kicks; i++) live_write(kick[i]);
    pthread_mutex_lock(&w->ring_mu);
    int more = w->pumped < w->head;
    pthread_mutex_unlock(&w->ring_mu);
    if (!more) return;
  }
}

/* Frees the sockets on the dead list (their operations are over). */
static void pump_bury(web *w) {
  pthread_mutex_lock(&w->live_mu);
  live *l = w->dead;
  w->dead = NULL;
  pthread_mutex_unlock(&w->live_mu);
  for (live *next; l; l = next) {
    next = l->next;
    /* Their callbacks may still be on their way out: wait (not stop: a
    ** stopped aio never runs again, and the slot is used again). */
    nng_aio_wait(l->rx);
    nng_aio_wait(l->tx);
    nng_http_res_free(l->res);
    l->res = NULL;
    nng_http_conn_close(l->conn); /* closes and frees */
    l->conn = NULL;
    pthread_mutex_lock(&w->live_mu);
    l->state = L_FREE;
    l->next = w->lives_free;
    w->lives_free = l;
    pthread_mutex_unlock(&w->live_mu);
    atomic_fetch_sub(&w->lives_n, 1);
  }
}

/* Cancels the outstanding operations of closing sockets. Only the pump
** does, as only the pump frees a socket's connection: a cancel from any
** other thread could find the connection freed under it (nng looks up an
** operation's cancel function, then calls it on the connection with no
** hold on it). `spare` has room for lives_max. */
static void pump_cancel(web *w, live **spare) {
  uint32_t n = 0;
  pthread_mutex_lock(&w->live_mu);
  if (w->cancel_due) {
    w->cancel_due = 0;
    for (uint32_t i = 0; i < w->lives_max; i++) {
      live *l = &w->lives[i];
      if (l->state != L_FREE && l->closing && !l->dead) spare[n++] = l;
    }
  }
  pthread_mutex_unlock(&w->live_mu);
  for (uint32_t i = 0; i < n; i++) {
    nng_aio_cancel(spare[i]->rx);
    nng_aio_cancel(spare[i]->tx);
  }
}

/* Closes the sockets whose session ended (signed out, or expired). The
** pump alone frees sockets, so each stays valid while it looks. */
static void pump_sessions(web *w) {
  for (uint32_t i = 0; i < w->lives_max; i++) {
    live *l = &w->lives[i];
    pthread_mutex_lock(&w->live_mu);
    int open = l->state != L_FREE && !l->closing;
    uint32_t k = l->session, gen = l->gen;
    pthread_mutex_unlock(&w->live_mu);
    if (open && !session_alive(w, k, gen)) live_close(l);
  }
}

static void *pump_main(void *arg) {
  web *w = arg;
  live **kick = calloc(w->lives_max, sizeof *kick), **shut = calloc(w->lives_max, sizeof *shut);
  IMX_ASSERT(kick && shut);
  int64_t swept = now_ns();
  pthread_mutex_lock(&w->pump_mu);
  while (!w->pump_stop) {
    if (!w->pump_due) {
      struct timespec until;
      clock_gettime(CLOCK_REALTIME, &until);
      until.tv_sec += 1;
      pthread_cond_timedwait(&w->pump_cv, &w->pump_mu, &until);
    }
    w->pump_due = 0;
    pthread_mutex_unlock(&w->pump_mu);
    pump_bury(w);
    pump_round(w, kick, shut);
    if (now_ns() - swept >= 1000000000) {
      swept = now_ns();
      pump_sessions(w);
    }
    pump_cancel(w, shut);
    pthread_mutex_lock(&w->pump_mu);
  }
  pthread_mutex_unlock(&w->pump_mu);
  free(kick);
  free(shut);
  return NULL;
}

static int live_open(web *w, uint32_t max) {
  pthread_mutex_init(&w->live_mu, NULL);
  pthread_mutex_init(&w->ring_mu, NULL);
  pthread_mutex_init(&w->pump_mu, NULL);
  pthread_cond_init(&w->pump_cv, NULL);
  w->lives_max = max;
  w->lives = calloc(max, sizeof *w->lives);
  w->ring = malloc(RING_BYTES);
  w->stage = malloc(STAGE_BYTES);
  if (w->lives == NULL || w->ring == NULL || w->stage == NULL) return -1;
  for (uint32_t i = max; i-- > 0;) {
    live *l = &w->lives[i];
    l->w = w;
    l->wbuf = malloc(LIVE_WBUF);
    if (l->wbuf == NULL || nng_aio_alloc(&l->rx, on_live_rx, l) != 0 ||
        nng_aio_alloc(&l->tx, on_live_tx, l) != 0)
      return -1;
    l->next = w->lives_free;
    w->lives_free = l;
  }
  if (pthread_create(&w->pump, NULL, pump_main, w) != 0) return -1;
  w->pump_started = 1;
  return 0;
}

/* Stopping: every socket closes, the pump frees them and ends. */
static void live_stop(web *w) {
  if (w->lives == NULL) return;
  for (uint32_t i = 0; w->pump_started && i < w->lives_max; i++) {
    live *l = &w->lives[i];
    pthread_mutex_lock(&w->live_mu);
    int open = l->state != L_FREE;
    pthread_mutex_unlock(&w->live_mu);
    if (open) live_close(l);
  }
  for (int ms = 0; w->pump_started && ms < 2000 && atomic_load(&w->lives_n) > 0; ms += 5) {
    pump_wake(w);
    struct timespec ts = {0, 5 * 1000000};
    nanosleep(&ts, NULL);
  }
  if (w->pump_started) {
    pthread_mutex_lock(&w->pump_mu);
    w->pump_stop = 1;
    pthread_cond_signal(&w->pump_cv);
    pthread_mutex_unlock(&w->pump_mu);
    pthread_join(w->pump, NULL);
  }
  pump_bury(w); /* what closed last */
  /* A socket still open (an operation that did not end in 2 s): its
  ** operations are stopped first, all of them, as a callback may touch
  ** the other aio of its socket; then its connection closes. */
  for (uint32_t i = 0; i < w->lives_max; i++) {
    nng_aio_stop(w->lives[i].rx);
    nng_aio_stop(w->lives[i].tx);
  }
  for (uint32_t i = 0; i < w->lives_max; i++) {
    live *l = &w->lives[i];
    if (l->conn) nng_http_conn_close(l->conn);
    nng_http_res_free(l->res);
    nng_aio_free(l->rx);
    nng_aio_free(l->tx);
    free(l->wbuf);
  }
  free(w->lives);
  free(w->ring);
  free(w->stage);
  pthread_mutex_destroy(&w->live_mu);
  pthread_mutex_destroy(&w->ring_mu);
  pthread_mutex_destroy(&w->pump_mu);
  pthread_cond_destroy(&w->pump_cv);
}

/* ------------------------------------------------------------ lifecycle */

static int fail(const char *what, int rv) {
  imx_log("web: %s: %s", what, nng_strerror(rv));
  return -1;
}

/* --tls-cert (the certificate, and its chain) and --tls-key, PEM, read and
** checked by the one loader the tls+tcp:// listeners use (tlsconf.h). */
static int setup_tls(web *w) {
  char err[512];
  if (tlsconf_server(w->cfg.tls_cert, w->cfg.tls_key, &w->tls_cfg, err, sizeof err) != 0) {
    imx_log("web: %s", err);
    return -1;
  }
  int rv = nng_http_server_set_tls(w->http, w->tls_cfg);
  return rv != 0 ? fail("tls", rv) : 0;
}

static int pool_open(web *w) {
  w->jobs_n = w->cfg.calls_max;
  w->jobs = calloc(w->jobs_n, sizeof *w->jobs);
  if (w->jobs == NULL) return -1;
  for (uint32_t i = 0; i < w->jobs_n; i++) {
    web_job *j = &w->jobs[i];
    j->w = w;
    j->job.reply = malloc(IMX_REPLY_BYTES_MAX);
    j->text = malloc(TEXT_CAP);
    if (j->job.reply == NULL || j->text == NULL ||
        reads_open(w->m, w->cfg.db_path, &j->reads) != 0 ||
        nng_aio_alloc(&j->job.aio, on_job, j) != 0)
      return -1;
    j->next_free = w->jobs_free;
    w->jobs_free = j;
  }
  return 0;
}

int web_start(const web_config *cfg, imx_server *srv, web **out) {
  web *w = calloc(1, sizeof *w);
  *out = w;
  if (w == NULL) return -1;
  w->cfg = *cfg;
  if (w->cfg.rate_burst < 1) w->cfg.rate_burst = 2 * w->cfg.rate_per_s;
  if (w->cfg.inflight_max == 0) w->cfg.inflight_max = 1;
  if (w->cfg.calls_max == 0) w->cfg.calls_max = 1;
  if (w->cfg.lives_max == 0) w->cfg.lives_max = 1;
  w->srv = srv;
  w->m = cfg->market;
  pthread_mutex_init(&w->sessions_mu, NULL);
  pthread_mutex_init(&w->signin_mu, NULL);
  pthread_mutex_init(&w->pool_mu, NULL);
  w->sessions = calloc(SESSIONS_MAX, sizeof *w->sessions);
  w->addr_fails = calloc(SIGNIN_ADDRS, sizeof *w->addr_fails);
  w->cc_fails = calloc(w->m->ccs_n + 1, sizeof *w->cc_fails);
  w->cc_sessions = calloc(w->m->ccs_n + 1, sizeof *w->cc_sessions);
  w->cc_homes = calloc((size_t)(w->m->ccs_n + 1) * CC_HOMES, sizeof *w->cc_homes);
  if (w->sessions == NULL || w->addr_fails == NULL || w->cc_fails == NULL ||
      w->cc_sessions == NULL || w->cc_homes == NULL ||
      imx_hash_init(&w->sessions_index, SESSIONS_MAX) != 0 || pool_open(w) != 0 ||
      live_open(w, w->cfg.lives_max) != 0 || slow_open(w) != 0) {
    imx_log("web: out of memory");
    return -1;
  }
  for (uint32_t k = 0; k < SESSIONS_MAX; k++)
    w->sessions[k].next_free = k + 1 < SESSIONS_MAX ? k + 1 : IMX_HASH_NIL;
  w->sessions_free = 0;
  w->tls = strncmp(cfg->url, "https://", 8) == 0;
  if (w->tls != (cfg->tls_cert != NULL)) {
    imx_log("web: %s: %s", cfg->url,
            w->tls ? "https needs --tls-cert and --tls-key"
                   : "with --tls-cert the web is https://");
    return -1;
  }
  if (!w->tls && strncmp(cfg->url, "http://", 7) != 0) {
    imx_log("web: %s: not an http:// or https:// URL", cfg->url);
    return -1;
  }
  nng_url *url;
  int rv;
  if ((rv = nng_url_parse(&url, cfg->url)) != 0) return fail(cfg->url, rv);
  rv = nng_http_server_hold(&w->http, url);
  nng_url_free(url);
  if (rv != 0) return fail(cfg->url, rv);
  if (w->tls && setup_tls(w) != 0) return -1;
  if ((rv = nng_http_handler_alloc(&w->handler, "/", on_http)) != 0 ||
      (rv = nng_http_handler_set_method(w->handler, NULL)) != 0 ||
      (rv = nng_http_handler_set_tree(w->handler)) != 0 ||
      (rv = nng_http_handler_collect_body(w->handler, true, cfg->body_max)) != 0 ||
      (rv = nng_http_handler_set_data(w->handler, w, NULL)) != 0)
    return fail("handler", rv);
  if ((rv = nng_http_server_add_handler(w->http, w->handler)) != 0) {
    nng_http_handler_free(w->handler);
    w->handler = NULL;
    return fail("handler", rv);
  }
  if ((rv = nng_http_server_start(w->http)) != 0) return fail(cfg->url, rv);
  w->started = 1;
  nng_sockaddr sa;
  int port = 0;
  if (nng_http_server_get_addr(w->http, &sa) == 0)
    port = sa.s_family == NNG_AF_INET6 ? ntohs(sa.s_in6.sa_port) : ntohs(sa.s_in.sa_port);
  /* the URL as given, with the port bound */
  const char *hs = strstr(cfg->url, "://") + 3;
  const char *hend = hs[0] == '[' ? strchr(hs, ']') : hs;
  const char *colon = hend ? strchr(hend, ':') : NULL;
  const char *slash = strchr(hs, '/');
  size_t hostlen = colon && (!slash || colon < slash) ? (size_t)(colon - cfg->url)
                   : slash                            ? (size_t)(slash - cfg->url)
                                                      : strlen(cfg->url);
  snprintf(w->url, sizeof w->url, "%.*s:%d", (int)hostlen, cfg->url, port);
  imx_log("web on %s", w->url);
  return 0;
}

const char *web_url(const web *w) { return w->url; }

void web_stop(web *w) {
  if (w == NULL) return;
  slow_interrupt(w);
  if (w->started) nng_http_server_stop(w->http);
  slow_stop(w);
  live_stop(w);
  /* del_handler hands the server's reference back: then it is freed */
  if (w->handler && nng_http_server_del_handler(w->http, w->handler) == 0)
    nng_http_handler_free(w->handler);
  if (w->http) nng_http_server_release(w->http);
  if (w->tls_cfg) nng_tls_config_free(w->tls_cfg);
  for (uint32_t i = 0; w->jobs && i < w->jobs_n; i++) {
    web_job *j = &w->jobs[i];
    if (j->job.aio) {
      nng_aio_stop(j->job.aio);
      nng_aio_free(j->job.aio);
    }
    reads_close(j->reads);
    free(j->job.reply);
    free(j->text);
  }
  free(w->jobs);
  free(w->sessions);
  imx_hash_free(&w->sessions_index);
  free(w->addr_fails);
  free(w->cc_fails);
  free(w->cc_homes);
  free(w->cc_sessions);
  pthread_mutex_destroy(&w->sessions_mu);
  pthread_mutex_destroy(&w->signin_mu);
  pthread_mutex_destroy(&w->pool_mu);
  free(w);
}
