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
          "                  collect the orders in auction books and run one call\n"
          "  run SCENARIO [--agents truthful|zi-c|zi-u|zip] [--seed N] [--json]\n"
          "      [--out DIR] [--rounds N] [--connect URL [--token-prefix P]\n"
          "      [--admin-token T] [--ca FILE]]\n"
          "                  the flat-rate allocation beside the market on the\n"
          "                  same demand: surplus, efficiency, charges, waste\n"
          "  run --history FILE.csv [--elasticity E]... [run options]\n"
          "                  import the history, then run (one run per E)\n"
          "  import --history FILE.csv [--elasticity E]... [--out PATH]\n"
          "                  build a scenario from past allocations\n"
          "  market SCENARIO [--token-prefix P] [--out FILE]\n"
          "                  the market file for imxd to serve the scenario\n"
          "  bench [--ccs N] [--services N] [--periods N]\n"
          "                  time a synthetic group through both runs\n");
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
  if (strcmp(argv[1], "run") == 0)
    return imx_sim_run(argc - 2, argv + 2, stdout, stderr);
  if (strcmp(argv[1], "import") == 0)
    return imx_sim_import(argc - 2, argv + 2, stdout, stderr);
  if (strcmp(argv[1], "market") == 0)
    return imx_sim_market(argc - 2, argv + 2, stdout, stderr);
  if (strcmp(argv[1], "bench") == 0)
    return imx_sim_bench(argc - 2, argv + 2, stdout, stderr);
  if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
    usage(stdout);
    return 0;
  }
  fprintf(stderr, "imx-sim: unknown command '%s'\n", argv[1]);
  usage(stderr);
  return 2;
}
