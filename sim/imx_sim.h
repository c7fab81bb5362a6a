/*
** imx_sim.h -- the interface of the simulator and offline tools (imx-sim).
**
** Each subcommand is a function taking the arguments after its name and
** the streams to use, returning the process exit status. They are separate
** from main() so that tests can run them in-process.
*/
#ifndef IMX_SIM_H
#define IMX_SIM_H

#include <stdio.h>

/* imx-sim replay FILE|-: reads one JSON command per line, runs it through
** the engine and prints the engine's events as JSON lines on out. Bad lines
** print an `error` event naming the line and the field; processing goes
** on. Returns 0 if every line was well formed, 1 if any was not, 2 on a
** usage or I/O error. */
int imx_sim_replay(int argc, char **argv, FILE *out, FILE *err);

/* imx-sim auction FILE|- [--reference P] [--trades]: collects the orders of
** the file (replay format, a missing price is a market order) in auction
** books, runs one call per service and prints one JSON line per service
** {"service","price","volume","surplus","surplus_side"}, then its trades
** with --trades. Malformed lines and rejections go to err. Exit status as
** for replay. */
int imx_sim_auction(int argc, char **argv, FILE *out, FILE *err);

/* imx-sim run SCENARIO [--agents S] [--seed N] [--rounds N] [--json]
** [--out DIR] [--connect URL ...]: the flat-rate allocation and the market
** on the same demand, compared (README.md, "The simulator"). */
int imx_sim_run(int argc, char **argv, FILE *out, FILE *err);

/* imx-sim import --history FILE.csv [--elasticity E]... [--out PATH]:
** builds a scenario from finance's export of past allocations. */
int imx_sim_import(int argc, char **argv, FILE *out, FILE *err);

/* imx-sim market SCENARIO [--token-prefix P] [--out FILE]: the market file
** for imxd to serve a scenario, so that `run --connect` can drive it. */
int imx_sim_market(int argc, char **argv, FILE *out, FILE *err);

/* imx-sim bench [--ccs N] [--services N] [--periods N]: a synthetic group
** run through both, timed, with peak memory. */
int imx_sim_bench(int argc, char **argv, FILE *out, FILE *err);

#endif /* IMX_SIM_H */
