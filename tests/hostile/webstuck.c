/*
** webstuck -- a websocket client that stops reading (tests/hostile/web.sh):
**
**   webstuck HOST PORT COOKIE TIMEOUT_MS
**
** connects with a small receive buffer (so that the server's writes back up
** after a few KiB, not after the megabytes loopback would otherwise hold),
** upgrades GET /api/live with "Cookie: imx_session=COOKIE", prints "open",
** then reads nothing until a line (or EOF) on stdin. Then it reads what the
** server sent until the server ends the connection ("closed BYTES") or
** TIMEOUT_MS pass ("open BYTES"). Exits 1 when the upgrade fails.
*/
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
  if (argc != 5) {
    fprintf(stderr, "usage: webstuck HOST PORT COOKIE TIMEOUT_MS\n");
    return 64;
  }
  int fd = socket(AF_INET, SOCK_STREAM, 0), small = 2048;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2]))};
  inet_pton(AF_INET, argv[1], &sa.sin_addr);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    perror("connect");
    return 1;
  }
  char req[512], head[4096];
  int n = snprintf(req, sizeof req,
                   "GET /api/live HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
                   "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: imx_session=%s\r\n\r\n",
                   argv[1], argv[2], argv[3]);
  if (write(fd, req, (size_t)n) != n) return 1;
  size_t got = 0; /* the 101's head, a byte at a time: nothing more */
  while (got + 1 < sizeof head && (got < 4 || memcmp(head + got - 4, "\r\n\r\n", 4) != 0)) {
    if (read(fd, head + got, 1) != 1) {
      fprintf(stderr, "no upgrade\n");
      return 1;
    }
    got++;
  }
  head[got] = '\0';
  if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
    fprintf(stderr, "upgrade refused: %.40s\n", head);
    return 1;
  }
  printf("open\n");
  fflush(stdout);
  char line[64];
  if (fgets(line, sizeof line, stdin) == NULL) { /* EOF: go on */
  }
  long long bytes = 0, end = now_ms() + atoll(argv[4]);
  char buf[65536];
  for (;;) {
    long long left = end - now_ms();
    if (left <= 0) break;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, (int)left) <= 0) break;
    ssize_t r = read(fd, buf, sizeof buf);
    if (r <= 0) {
      printf("closed %lld\n", bytes);
      close(fd);
      return 0;
    }
    bytes += r;
  }
  printf("open %lld\n", bytes);
  close(fd);
  return 0;
}
