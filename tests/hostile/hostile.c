/*
** hostile.c -- test tool: clients that misbehave on purpose, speaking raw
** SP over TCP so that they can do what no nng client would. nng's TCP
** transport: each side sends 8 bytes ("\0SP\0", the protocol id 16 bits
** big-endian: REQ 0x30, REP 0x31, then 2 reserved bytes); then each
** message is an 8-byte big-endian length and the body. A REQ body starts
** with a 4-byte request id with the high bit set; the REP reply echoes it.
**
** usage: hostile MODE tcp://127.0.0.1:PORT ...
**   table N             N connections, each sends {} and reads its reply;
**                       prints "served S refused R silent Q", then obeys
**                       stdin: "close K" closes K served connections,
**                       "exit" (or end of input) closes all
**   flood N CONNS MS    CONNS connections, each pipelines N {} and never
**                       reads (a tiny receive buffer), for MS ms at most;
**                       waits until MS ms are up for imxd to drop those
**                       it has not dropped yet (or until it dropped all);
**                       prints "flood sent S dropped D of CONNS", then holds
**                       the connections until end of input
**   pipe N WINDOW GAP_MS BODY
**                       one connection, N requests (BODY, "%d" becomes the
**                       request's number), WINDOW in flight, GAP_MS between
**                       sends; prints each reply, then "# answered A of N
**                       max_ms M closed C"; stops when the peer closes
**   announce N LEN SENT N connections, each announces a message of LEN
**                       bytes and sends SENT of them; prints "announce open
**                       O closed C", then holds until end of input
**
** Every loop is bounded by a count or a deadline; the process never waits
** on one socket longer than 10 s.
*/
#define _GNU_SOURCE /* POLLRDHUP */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define CONNS_MAX 20000
#define REPLY_BYTES_MAX (512 * 1024 + 64)
#define WAIT_MS_MAX 10000

static const unsigned char sp_req_header[8] = {0, 'S', 'P', 0, 0x00, 0x30, 0, 0};

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
  nanosleep(&ts, NULL);
}

static struct sockaddr_in addr;

static int parse_url(const char *url) {
  const char *p = strncmp(url, "tcp://", 6) == 0 ? url + 6 : NULL;
  const char *colon = p ? strrchr(p, ':') : NULL;
  if (colon == NULL) return -1;
  char host[64];
  snprintf(host, sizeof host, "%.*s", (int)(colon - p), p);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_port = htons((uint16_t)atoi(colon + 1));
  return inet_pton(AF_INET, host, &addr.sin_addr) == 1 ? 0 : -1;
}

/* Room for many descriptors: the soft limit up to the hard one. */
static void raise_nofile(void) {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

/* A TCP connection that sent the REQ header; -1 on failure. rcvbuf > 0
** sets a small receive buffer first (then the kernel does not grow it). */
static int dial(int rcvbuf) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  if (rcvbuf > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
      write(fd, sp_req_header, 8) != 8) {
    close(fd);
    return -1;
  }
  return fd;
}

static void put_be64(unsigned char *b, uint64_t v) {
  for (int i = 7; i >= 0; i--, v >>= 8) b[i] = (unsigned char)v;
}

static uint64_t get_be64(const unsigned char *b) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | b[i];
  return v;
}

/* One framed REQ message: length, request id, body. Returns its size. */
static size_t frame(unsigned char *out, uint32_t req_id, const char *body, size_t len) {
  put_be64(out, 4 + len);
  uint32_t id = req_id | 0x80000000u;
  out[8] = (unsigned char)(id >> 24);
  out[9] = (unsigned char)(id >> 16);
  out[10] = (unsigned char)(id >> 8);
  out[11] = (unsigned char)id;
  memcpy(out + 12, body, len);
  return 12 + len;
}

static int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Reads exactly len bytes by the deadline: 0, or -1 (closed, error, late). */
static int read_exact(int fd, void *buf, size_t len, int64_t deadline_ms) {
  char *p = buf;
  while (len > 0) {
    int64_t left = deadline_ms - now_ms();
    struct pollfd pfd = {fd, POLLIN, 0};
    if (left <= 0 || poll(&pfd, 1, (int)left) <= 0) return -1;
    ssize_t n = read(fd, p, len);
    if (n <= 0) return -1;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Reads the peer's header, then one reply into buf (without the request
** id); returns its length, or -1. */
static long read_reply(int fd, int *header_seen, char *buf, size_t cap, int64_t deadline_ms) {
  unsigned char h[8];
  if (!*header_seen) {
    if (read_exact(fd, h, 8, deadline_ms) != 0) return -1;
    *header_seen = 1;
  }
  if (read_exact(fd, h, 8, deadline_ms) != 0) return -1;
  uint64_t len = get_be64(h);
  if (len < 4 || len - 4 >= cap) return -1;
  unsigned char id[4];
  if (read_exact(fd, id, 4, deadline_ms) != 0 ||
      read_exact(fd, buf, (size_t)(len - 4), deadline_ms) != 0)
    return -1;
  buf[len - 4] = '\0';
  return (long)(len - 4);
}

/* Whether the peer closed the connection (EOF or reset): looks without
** reading anything that is still to be read. */
static int peer_closed(int fd) {
  struct pollfd pfd = {fd, POLLIN | POLLRDHUP, 0};
  if (poll(&pfd, 1, 0) <= 0) return 0;
  if (pfd.revents & (POLLHUP | POLLERR | POLLRDHUP)) return 1;
  char c;
  ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Waits for stdin's commands; for each "close K" calls on_close(K). */
static void obey_stdin(void (*on_close)(int)) {
  char line[64];
  while (fgets(line, sizeof line, stdin)) {
    int k;
    if (sscanf(line, "close %d", &k) == 1 && on_close) on_close(k);
    else if (strncmp(line, "exit", 4) == 0) break;
  }
}

/* ---------------------------------------------------------------- table */

static int *fds;
static int fds_n;
static char *served;

static void close_served(int k) {
  int closed = 0;
  for (int i = 0; i < fds_n && closed < k; i++) {
    if (fds[i] < 0 || !served[i]) continue;
    close(fds[i]);
    fds[i] = -1;
    closed++;
  }
  printf("closed %d\n", closed);
  fflush(stdout);
}

static int mode_table(int n) {
  if (n <= 0 || n > CONNS_MAX) return 2;
  fds = calloc((size_t)n, sizeof *fds);
  served = calloc((size_t)n, 1);
  static char reply[REPLY_BYTES_MAX];
  unsigned char msg[64];
  size_t len = frame(msg, 1, "{}", 2);
  int refused = 0, silent = 0, ok = 0;
  for (int i = 0; i < n; i++) {
    fds[i] = dial(0);
    if (fds[i] >= 0 && write_all(fds[i], msg, len) != 0) {
      close(fds[i]);
      fds[i] = -1;
    }
  }
  fds_n = n;
  int64_t deadline = now_ms() + WAIT_MS_MAX;
  for (int i = 0; i < n; i++) {
    if (fds[i] < 0) { refused++; continue; }
    int hs = 0;
    long r = read_reply(fds[i], &hs, reply, sizeof reply, deadline);
    if (r >= 0) { served[i] = 1; ok++; }
    else if (peer_closed(fds[i]) || now_ms() < deadline) refused++;
    else silent++;
  }
  printf("served %d refused %d silent %d\n", ok, refused, silent);
  fflush(stdout);
  obey_stdin(close_served);
  for (int i = 0; i < n; i++) if (fds[i] >= 0) close(fds[i]);
  return 0;
}

/* ---------------------------------------------------------------- flood */

static int mode_flood(int n, int conns, int ms) {
  if (n <= 0 || conns <= 0 || conns > CONNS_MAX) return 2;
  int *f = calloc((size_t)conns, sizeof *f);
  int *sent = calloc((size_t)conns, sizeof *sent);
  for (int c = 0; c < conns; c++) {
    f[c] = dial(4096);
    if (f[c] >= 0) fcntl(f[c], F_SETFL, O_NONBLOCK);
  }
  /* Writes a chunk of framed {} at a time to each connection in turn. */
  enum { PER_CHUNK = 256 };
  static unsigned char chunk[PER_CHUNK * 16];
  size_t chunk_len = 0;
  for (int i = 0; i < PER_CHUNK; i++) chunk_len += frame(chunk + chunk_len, (uint32_t)i + 1, "{}", 2);
  size_t one = chunk_len / PER_CHUNK;
  int64_t deadline = now_ms() + ms;
  long total = 0;
  int dropped = 0;
  char *dead = calloc((size_t)conns, 1);
  for (int progress = 1; progress && now_ms() < deadline;) {
    progress = 0;
    for (int c = 0; c < conns; c++) {
      if (f[c] < 0 || dead[c] || sent[c] >= n) continue;
      int k = n - sent[c] < PER_CHUNK ? n - sent[c] : PER_CHUNK;
      ssize_t w = send(f[c], chunk, one * (size_t)k, MSG_NOSIGNAL);
      if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { progress = 1; continue; }
      if (w <= 0) { dead[c] = 1; dropped++; continue; }
      /* A partial frame would be finished by the next chunk's bytes in a
      ** different place; send the rest of it blocking-free but bounded. */
      size_t rest = (size_t)w % one;
      if (rest) {
        int64_t until = now_ms() + 2000;
        size_t off = (size_t)w, end = (size_t)w + one - rest;
        while (off < end && now_ms() < until) {
          ssize_t m = send(f[c], chunk + off, end - off, MSG_NOSIGNAL);
          if (m > 0) off += (size_t)m;
          else if (m < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) sleep_ms(1);
          else break;
        }
        w = (ssize_t)end;
      }
      sent[c] += (int)((size_t)w / one);
      total += (long)((size_t)w / one);
      progress = 1;
    }
    sleep_ms(1);
  }
  /* All sent before the deadline: a slow imxd (under ThreadSanitizer, on a
  ** busy machine) may have taken it all into its socket buffers without
  ** reading enough to fill its send buffer yet; it has until the deadline
  ** to drop the connections. */
  for (;;) {
    int open = 0;
    for (int c = 0; c < conns; c++) {
      if (f[c] < 0 || dead[c]) continue;
      if (peer_closed(f[c])) dropped++, dead[c] = 1;
      else open++;
    }
    if (open == 0 || now_ms() >= deadline) break;
    sleep_ms(10);
  }
  printf("flood sent %ld dropped %d of %d\n", total, dropped, conns);
  fflush(stdout);
  obey_stdin(NULL);
  for (int c = 0; c < conns; c++) if (f[c] >= 0) close(f[c]);
  return 0;
}

/* ----------------------------------------------------------------- pipe */

static int mode_pipe(int n, int window, int gap_ms, const char *body) {
  if (n <= 0 || window <= 0 || gap_ms < 0) return 2;
  int fd = dial(0);
  if (fd < 0) { printf("# connect failed\n"); return 1; }
  static char reply[REPLY_BYTES_MAX];
  static unsigned char msg[70000];
  static char text[65600];
  int sent = 0, answered = 0, closed = 0, hs = 0;
  int64_t max_ms = 0, *sent_at = calloc((size_t)n + 1, sizeof *sent_at);
  if (sent_at == NULL) { close(fd); return 1; }
  while (answered < n && !closed) {
    while (sent < n && sent - answered < window) {
      int len = snprintf(text, sizeof text, body, sent + 1);
      if (len < 0 || (size_t)len >= sizeof text) { free(sent_at); close(fd); return 2; }
      size_t m = frame(msg, (uint32_t)sent + 1, text, (size_t)len);
      if (write_all(fd, msg, m) != 0) { closed = 1; break; }
      sent_at[sent++] = now_ms();
      if (gap_ms > 0) break;
    }
    if (closed) break;
    long r = read_reply(fd, &hs, reply, sizeof reply, now_ms() + WAIT_MS_MAX);
    if (r < 0) { closed = 1; break; }
    int64_t took = now_ms() - sent_at[answered];
    if (took > max_ms) max_ms = took;
    answered++;
    printf("%s\n", reply);
    if (gap_ms > 0) sleep_ms(gap_ms);
  }
  printf("# answered %d of %d max_ms %lld closed %d\n", answered, n, (long long)max_ms,
         closed);
  free(sent_at);
  close(fd);
  return 0;
}

/* ------------------------------------------------------------- announce */

static int mode_announce(int n, long long len, long long part) {
  if (n <= 0 || n > CONNS_MAX || len < 4 || part < 0 || part > len) return 2;
  int *f = calloc((size_t)n, sizeof *f);
  static char fill[1 << 16];
  memset(fill, 'x', sizeof fill);
  unsigned char h[8];
  put_be64(h, (uint64_t)len);
  for (int i = 0; i < n; i++) {
    f[i] = dial(0);
    if (f[i] < 0) continue;
    int ok = write_all(f[i], h, 8) == 0;
    for (long long left = part; ok && left > 0;) {
      size_t k = left < (long long)sizeof fill ? (size_t)left : sizeof fill;
      ok = write_all(f[i], fill, k) == 0;
      left -= (long long)k;
    }
  }
  sleep_ms(500);
  int open = 0, closed = 0;
  for (int i = 0; i < n; i++) {
    if (f[i] >= 0 && !peer_closed(f[i])) open++;
    else closed++;
  }
  printf("announce open %d closed %d\n", open, closed);
  fflush(stdout);
  obey_stdin(NULL);
  for (int i = 0; i < n; i++) if (f[i] >= 0) close(f[i]);
  return 0;
}

int main(int argc, char **argv) {
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 3 || parse_url(argv[2]) != 0) {
    fprintf(stderr, "usage: hostile table|flood|pipe|announce tcp://127.0.0.1:PORT ...\n");
    return 2;
  }
  raise_nofile();
  const char *m = argv[1];
  if (!strcmp(m, "table") && argc == 4) return mode_table(atoi(argv[3]));
  if (!strcmp(m, "flood") && argc == 6)
    return mode_flood(atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
  if (!strcmp(m, "pipe") && argc == 7)
    return mode_pipe(atoi(argv[3]), atoi(argv[4]), atoi(argv[5]), argv[6]);
  if (!strcmp(m, "announce") && argc == 6)
    return mode_announce(atoi(argv[3]), atoll(argv[4]), atoll(argv[5]));
  fprintf(stderr, "hostile: bad arguments for %s\n", m);
  return 2;
}
