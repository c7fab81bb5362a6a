/*
** snapfile.c -- the snapshot file (snapfile.h). Layout, integers
** little-endian (imx_base.h's codec):
**
**   magic "IMXSNAP1"  8 bytes
**   version           u32
**   seq, last_trade, written_ms   i64 each
**   market digest, anchor         64 hex characters each
**   payload length    u64
**   payload SHA-256   64 hex characters
**   payload
*/
#define _POSIX_C_SOURCE 200809L

#include "snapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "imx_base.h"
#include "imx_proto.h" /* imx_sha256_hex */

#define SNAPFILE_MAGIC 0x3150414E53584D49ull /* "IMXSNAP1" little-endian */
#define SNAPFILE_VERSION 1u
#define HEAD_BYTES (8 + 4 + 3 * 8 + 2 * 64 + 8 + 64)

void snapfile_anchor(int64_t time_ms, const char *cc, const char *command,
                     size_t len, char hex[65]) {
  /* time, cc and command, each closed by a NUL: no two entries alike. */
  char head[32 + IMX_NAME_BYTES_MAX + 2];
  int n = snprintf(head, sizeof head, "%" PRId64 "%c%s%c", time_ms, '\0', cc, '\0');
  IMX_ASSERT(n > 0 && (size_t)n < sizeof head);
  char *all = malloc((size_t)n + len);
  IMX_ASSERT(all != NULL && "out of memory for a journal entry's hash");
  memcpy(all, head, (size_t)n);
  memcpy(all + n, command, len);
  imx_sha256_hex(all, (size_t)n + len, hex);
  free(all);
}

static int fail(char *err, size_t cap, const char *what, const char *path) {
  snprintf(err, cap, "%s %s: %s", what, path, errno ? strerror(errno) : "failed");
  return -1;
}

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* The folder of path, synced so that the rename is durable. */
static int sync_folder(const char *path) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  size_t n = slash == NULL ? 1 : slash == path ? 1 : (size_t)(slash - path);
  if (n >= sizeof dir) return -1;
  memcpy(dir, slash == NULL ? "." : path, n);
  dir[n] = '\0';
  int fd = open(dir, O_RDONLY | O_DIRECTORY);
  if (fd < 0) return -1;
  int rc = fsync(fd);
  close(fd);
  return rc;
}

int snapfile_write(const char *path, const snap_meta *m, const void *payload,
                   size_t len, char *err, size_t errcap) {
  uint8_t head[HEAD_BYTES];
  char sum[65];
  imx_sha256_hex(payload, len, sum);
  imx_wbuf o = {.p = head, .cap = sizeof head};
  imx_wbuf_int(&o, SNAPFILE_MAGIC, 8);
  imx_wbuf_int(&o, SNAPFILE_VERSION, 4);
  imx_wbuf_int(&o, (uint64_t)m->seq, 8);
  imx_wbuf_int(&o, (uint64_t)m->last_trade, 8);
  imx_wbuf_int(&o, (uint64_t)m->written_ms, 8);
  char market[64] = {0}, anchor[64] = {0};
  memcpy(market, m->market, strnlen(m->market, 64));
  memcpy(anchor, m->anchor, strnlen(m->anchor, 64));
  imx_wbuf_bytes(&o, market, 64);
  imx_wbuf_bytes(&o, anchor, 64);
  imx_wbuf_int(&o, len, 8);
  imx_wbuf_bytes(&o, sum, 64);
  IMX_ASSERT(!o.full && o.len == HEAD_BYTES);
  char tmp[4096];
  if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp) {
    errno = ENAMETOOLONG;
    return fail(err, errcap, "snapshot", path);
  }
  errno = 0;
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return fail(err, errcap, "cannot create", tmp);
  if (write_all(fd, head, sizeof head) != 0 || write_all(fd, payload, len) != 0 ||
      fsync(fd) != 0) {
    fail(err, errcap, "cannot write", tmp);
    close(fd);
    unlink(tmp);
    return -1;
  }
  if (close(fd) != 0 || rename(tmp, path) != 0) {
    fail(err, errcap, "cannot put in place", path);
    unlink(tmp);
    return -1;
  }
  if (sync_folder(path) != 0) return fail(err, errcap, "cannot sync the folder of", path);
  return 0;
}

int snapfile_read(const char *path, snap_meta *m, void **payload, size_t *len,
                  char *err, size_t errcap) {
  *payload = NULL;
  *len = 0;
  memset(m, 0, sizeof *m);
  errno = 0;
  FILE *f = fopen(path, "rb");
  if (f == NULL && errno == ENOENT) return 1;
  if (f == NULL) return fail(err, errcap, "cannot open", path);
  uint8_t head[HEAD_BYTES];
  int rc = -1;
  if (fread(head, 1, sizeof head, f) != sizeof head) {
    snprintf(err, errcap, "shorter than a snapshot's header");
    goto done;
  }
  imx_rbuf in = {.p = head, .len = sizeof head};
  if (imx_rbuf_int(&in, 8) != SNAPFILE_MAGIC || imx_rbuf_int(&in, 4) != SNAPFILE_VERSION) {
    snprintf(err, errcap, "not a snapshot of this version");
    goto done;
  }
  m->seq = (int64_t)imx_rbuf_int(&in, 8);
  m->last_trade = (int64_t)imx_rbuf_int(&in, 8);
  m->written_ms = (int64_t)imx_rbuf_int(&in, 8);
  memcpy(m->market, imx_rbuf_bytes(&in, 64), 64);
  memcpy(m->anchor, imx_rbuf_bytes(&in, 64), 64);
  uint64_t n = imx_rbuf_int(&in, 8);
  char want[65] = {0}, got[65];
  memcpy(want, imx_rbuf_bytes(&in, 64), 64);
  IMX_ASSERT(in.why == NULL && in.at == in.len);
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || (uint64_t)st.st_size != HEAD_BYTES + n) {
    snprintf(err, errcap, "its length is not the one its header gives");
    goto done;
  }
  *payload = malloc(n ? (size_t)n : 1);
  if (*payload == NULL) {
    snprintf(err, errcap, "out of memory");
    goto done;
  }
  if (fread(*payload, 1, (size_t)n, f) != n) {
    snprintf(err, errcap, "cannot read it whole");
    goto done;
  }
  imx_sha256_hex(*payload, (size_t)n, got);
  if (memcmp(want, got, 64) != 0) {
    snprintf(err, errcap, "its checksum does not match (damaged)");
    goto done;
  }
  *len = (size_t)n;
  rc = 0;
done:
  fclose(f);
  if (rc != 0) {
    free(*payload);
    *payload = NULL;
  }
  return rc;
}
