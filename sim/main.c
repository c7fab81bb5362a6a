/*
** main.c -- imx-sim: the simulator and the offline tools around the engine.
*/
#include <stdio.h>
#include <string.h>

#include "imx_sim.h"

static void usage(FILE *f) {
  fprintf(f,
          "usage: imx-sim COMMAND [ARGS]\n"
          "\n"
          "commands:\n"
          "  replay [--market FILE] FILE|-\n"
          "                  run JSON-lines commands through the engine and print\n"
          "                  its events as JSON lines (see README.md)\n"
          "  auction FILE|- [--reference PRICE] [--trades]\n"
          "                  collect the orders in auction books and run one call\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  if (strcmp(argv[1], "replay") == 0)
    return imx_sim_replay(argc - 2, argv + 2, stdout, stderr);
  if (strcmp(argv[1], "auction") == 0)
    return imx_sim_auction(argc - 2, argv + 2, stdout, stderr);
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "imx-sim: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
