/*
** snapfile.h -- the server's private interface to its snapshot file.
**
** A snapshot file lies beside the ledger (PATH.snapshot) and holds one
** core snapshot (core.h) with what a restart needs to trust it: the last
** journal entry it includes and that entry's hash (the anchor: the file
** belongs to this ledger, not to a copy restored from a backup), the last
** trade id, the market file's digest, and the SHA-256 of the payload. It is
** a cache: the journal stays the truth, and a snapshot that does not fit is
** ignored (the whole journal is replayed, as without snapshots).
*/
#ifndef IMX_SNAPFILE_H
#define IMX_SNAPFILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct snap_meta {
  int64_t seq;          /* the journal's last entry it includes (0: none) */
  int64_t last_trade;   /* the last trade id it includes                  */
  int64_t written_ms;   /* when (wall clock)                              */
  char market[65];      /* SHA-256 of the market file's digest and the
                        ** order limits it was written with (server.c)  */
  char anchor[65];      /* snapfile_anchor of journal entry seq, or ""    */
} snap_meta;

/* The hash of one journal entry, hex. */
void snapfile_anchor(int64_t time_ms, const char *cc, const char *command,
                     size_t len, char hex[65]);

/* Writes the file atomically: a temporary file beside it, written whole and
** synced, renamed over path, the folder synced. 0, or -1 with err set (the
** old file, if any, is then untouched). */
int snapfile_write(const char *path, const snap_meta *m, const void *payload,
                   size_t len, char *err, size_t errcap);

/* Reads and checks the file (magic, version, the payload's length and
** hash). 0 with *payload allocated (free it); 1 when there is no file; -1
** with err set (what is wrong; the caller names the file). */
int snapfile_read(const char *path, snap_meta *m, void **payload, size_t *len,
                  char *err, size_t errcap);

#endif /* IMX_SNAPFILE_H */
