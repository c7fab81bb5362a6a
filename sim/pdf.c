/*
** pdf.c -- `imx-sim run --pdf FILE`: the HTML report printed to PDF by
** headless Chromium (Debian's `chromium`, or the program IMX_CHROMIUM
** names), with a fresh profile in a temporary directory and a bounded
** wait: a Chromium that does not finish in time is killed with its
** process group.
*/
#define _XOPEN_SOURCE 700

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sim_int.h"

extern char **environ;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f) {
  (void)st, (void)flag, (void)f;
  remove(path);
  return 0;
}

static void rm_tree(const char *dir) {
  nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Waits for pid at most timeout_s seconds; the exit status, -1 on timeout
** (the group killed). */
static int wait_bounded(pid_t pid, int timeout_s) {
  const struct timespec tick = {0, 100 * 1000 * 1000};
  for (long i = 0; i < (long)timeout_s * 10; i++) {
    int st;
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
    if (w < 0 && errno != EINTR) return 128;
    nanosleep(&tick, NULL);
  }
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  waitpid(pid, NULL, 0);
  return -1;
}

int sim_pdf_print(const char *html_path, const char *pdf_path, int timeout_s,
                  char *errbuf, size_t errcap) {
  const char *prog = getenv("IMX_CHROMIUM");
  if (prog == NULL || prog[0] == '\0') prog = "chromium";
  char html_abs[PATH_MAX], pdf_abs[PATH_MAX + 64], url[PATH_MAX + 16];
  if (realpath(html_path, html_abs) == NULL) {
    snprintf(errbuf, errcap, "cannot read %s: %s", html_path, strerror(errno));
    return -1;
  }
  /* Chromium resolves a relative --print-to-pdf against its own working
  ** directory: pass it absolute. */
  if (pdf_path[0] == '/') {
    snprintf(pdf_abs, sizeof pdf_abs, "%s", pdf_path);
  } else {
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL) {
      snprintf(errbuf, errcap, "cannot find the working directory: %s", strerror(errno));
      return -1;
    }
    snprintf(pdf_abs, sizeof pdf_abs, "%s/%s", cwd, pdf_path);
  }
  remove(pdf_abs);
  snprintf(url, sizeof url, "file://%s", html_abs);
  const char *tmp = getenv("TMPDIR");
  char profile[PATH_MAX];
  snprintf(profile, sizeof profile, "%s/imx-chromium-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
  if (mkdtemp(profile) == NULL) {
    snprintf(errbuf, errcap, "cannot make a profile directory: %s", strerror(errno));
    return -1;
  }
  char a_pdf[PATH_MAX + 80], a_prof[PATH_MAX + 32];
  snprintf(a_pdf, sizeof a_pdf, "--print-to-pdf=%s", pdf_abs);
  snprintf(a_prof, sizeof a_prof, "--user-data-dir=%s", profile);
  char *argv[] = {(char *)prog, "--headless=new", "--no-sandbox", "--disable-gpu",
                  "--no-pdf-header-footer", "--no-first-run", a_prof, a_pdf, url, NULL};
  posix_spawn_file_actions_t fa;
  posix_spawnattr_t at;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  posix_spawnattr_init(&at);
  posix_spawnattr_setpgroup(&at, 0);
  posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP);
  pid_t pid;
  int rc = posix_spawnp(&pid, prog, &fa, &at, argv, environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&at);
  if (rc != 0) {
    rm_tree(profile);
    if (rc == ENOENT)
      snprintf(errbuf, errcap, "%s is not installed (Debian: apt-get install chromium; "
               "or set IMX_CHROMIUM to the program)", prog);
    else
      snprintf(errbuf, errcap, "cannot start %s: %s", prog, strerror(rc));
    return -1;
  }
  int st = wait_bounded(pid, timeout_s);
  rm_tree(profile);
  if (st < 0) {
    snprintf(errbuf, errcap, "%s did not finish within %d s", prog, timeout_s);
    return -1;
  }
  FILE *f = fopen(pdf_abs, "rb");
  char head[5] = "";
  size_t n = f ? fread(head, 1, sizeof head, f) : 0;
  if (f) fclose(f);
  if (st != 0 || n != sizeof head || memcmp(head, "%PDF-", 5) != 0) {
    snprintf(errbuf, errcap, "%s wrote no PDF (exit status %d)", prog, st);
    return -1;
  }
  return 0;
}
