/*
** cli.c -- `imx-sim run` and `imx-sim bench`: the flat rate beside the
** market, for finance and decision makers.
**
** run: load a scenario (or import finance's history, once per assumed
** elasticity), run the flat-rate allocation and the market on the same
** demand, and report: a summary on the terminal, one JSON object with
** --json, CSV files and an HTML report with --out DIR. The market runs on
** the engine in-process, or on a running imxd with --connect URL.
**
** bench: a synthetic group (10 k cost centres x 100 services x 12 periods by
** default) generated in memory and run through both, timed, with the peak
** memory of the process.
*/
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "imx_sim.h"
#include "sim_int.h"

#define ELASTICITIES_MAX 16

typedef struct run_args {
  const char *scenario;      /* a scenario file, or NULL with history   */
  const char *history;       /* a CSV of past allocations               */
  const char *market;        /* import: the group's market file         */
  int64_t elasticity_milli[ELASTICITIES_MAX];
  char elasticity_text[ELASTICITIES_MAX][24];
  uint32_t elasticities_n;
  int mode;                  /* import: -1 default, 0 continuous, 1 auction */
  int agents;                /* -1: the scenario's                       */
  int64_t seed;              /* -1: the scenario's                       */
  int64_t rounds;
  int json;
  const char *out_dir;
  const char *connect_url, *token_prefix, *admin_token;
  const char *ca_file;       /* --ca, or IMX_CA: for a tls+tcp URL */
  int progress;              /* 1: a bar on stderr when it is a terminal */
} run_args;

static int usage_error(FILE *err, const char *what, const char *arg) {
  fprintf(err, "imx-sim run: %s%s%s\n", what, arg ? ": " : "", arg ? arg : "");
  fprintf(err,
          "usage: imx-sim run SCENARIO [--agents truthful|zi-c|zi-u|zip] [--seed N]\n"
          "                  [--rounds N] [--json] [--out DIR] [--no-progress]\n"
          "                  [--connect URL [--token-prefix P] [--admin-token T]\n"
          "                   [--ca FILE]]\n"
          "       imx-sim run --history FILE.csv [--elasticity E]... [--market FILE]\n"
          "                  [--mode M] [...]\n");
  return 2;
}

static int parse_int(const char *s, int64_t min, int64_t max, int64_t *out) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || *end || v < min || v > max) return -1;
  *out = v;
  return 0;
}

/* Reads the value of an option that takes one; NULL when it is missing. */
static const char *value(int argc, char **argv, int *i) {
  return *i + 1 < argc ? argv[++*i] : NULL;
}

static int takes_value(const char *o) {
  static const char *const with_value[] = {
      "--history", "--market", "--out", "--connect", "--token-prefix", "--admin-token", "--ca",
      "--agents", "--seed", "--rounds", "--mode", "--elasticity", NULL};
  for (int i = 0; with_value[i]; i++)
    if (strcmp(o, with_value[i]) == 0) return 1;
  return 0;
}

static int parse_run_args(int argc, char **argv, run_args *a, FILE *err) {
  *a = (run_args){.mode = -1, .agents = -1, .seed = -1, .progress = 1,
                  .ca_file = getenv("IMX_CA")};
  for (int i = 0; i < argc; i++) {
    const char *o = argv[i], *v = NULL;
    if (strcmp(o, "--json") == 0) a->json = 1;
    else if (strcmp(o, "--no-progress") == 0) a->progress = 0;
    else if (o[0] != '-' || strcmp(o, "-") == 0) {
      if (a->scenario) return usage_error(err, "more than one scenario", o);
      a->scenario = o;
    } else if (!takes_value(o)) {
      return usage_error(err, "unknown option", o);
    } else if ((v = value(argc, argv, &i)) == NULL) {
      return usage_error(err, "option needs a value", o);
    } else if (strcmp(o, "--history") == 0) a->history = v;
    else if (strcmp(o, "--market") == 0) a->market = v;
    else if (strcmp(o, "--out") == 0) a->out_dir = v;
    else if (strcmp(o, "--connect") == 0) a->connect_url = v;
    else if (strcmp(o, "--token-prefix") == 0) a->token_prefix = v;
    else if (strcmp(o, "--admin-token") == 0) a->admin_token = v;
    else if (strcmp(o, "--ca") == 0) a->ca_file = v;
    else if (strcmp(o, "--agents") == 0) {
      sim_agents ag;
      if (sim_agents_parse(v, &ag)) return usage_error(err, "unknown agents", v);
      a->agents = (int)ag;
    } else if (strcmp(o, "--seed") == 0) {
      if (parse_int(v, 0, INT64_C(1) << 53, &a->seed)) return usage_error(err, "bad seed", v);
    } else if (strcmp(o, "--rounds") == 0) {
      if (parse_int(v, 1, 100000, &a->rounds)) return usage_error(err, "bad rounds", v);
    } else if (strcmp(o, "--mode") == 0) {
      if (strcmp(v, "auction") && strcmp(v, "continuous"))
        return usage_error(err, "mode is auction or continuous", v);
      a->mode = strcmp(v, "auction") == 0;
    } else if (strcmp(o, "--elasticity") == 0) {
      int64_t e = sim_elasticity_parse(v);
      if (e < 0) return usage_error(err, "elasticity must be a positive decimal such as 0.5", v);
      if (a->elasticities_n == ELASTICITIES_MAX) return usage_error(err, "too many elasticities", v);
      sim_milli_text(e, a->elasticity_text[a->elasticities_n], sizeof a->elasticity_text[0]);
      a->elasticity_milli[a->elasticities_n++] = e;
    } else return usage_error(err, "unknown option", o);
  }
  if (!a->scenario == !a->history)
    return usage_error(err, "give a scenario file or --history FILE.csv", NULL);
  if (a->scenario && (a->elasticities_n || a->mode >= 0 || a->market))
    return usage_error(err, "--elasticity, --mode and --market go with --history", NULL);
  if ((a->token_prefix || a->admin_token) && !a->connect_url)
    return usage_error(err, "--token-prefix and --admin-token go with --connect", NULL);
  if (a->history && a->elasticities_n == 0) {
    sim_milli_text(1000, a->elasticity_text[0], sizeof a->elasticity_text[0]);
    a->elasticity_milli[a->elasticities_n++] = 1000;
  }
  return 0;
}

/* What --history and --market read, once for every elasticity. */
typedef struct history_src {
  sim_history *h;
  imx_market market;
  int has_market;
} history_src;

static int history_open(const run_args *a, history_src *src, FILE *err) {
  memset(src, 0, sizeof *src);
  imx_proto_error pe;
  char errbuf[512];
  if (a->market && imx_market_load(a->market, &src->market, &pe) != 0) {
    fprintf(err, "imx-sim run: %s: %s: %s (%s)\n", a->market, pe.field, pe.message, pe.code);
    return -1;
  }
  src->has_market = a->market != NULL;
  if (sim_history_read(a->history, &src->h, errbuf, sizeof errbuf) != 0) {
    fprintf(err, "imx-sim run: %s\n", errbuf);
    return -1;
  }
  if (src->has_market) sim_history_warn_market(src->h, &src->market, a->market, "imx-sim run", err);
  return 0;
}

static void history_close(history_src *src) {
  sim_history_free(src->h);
  if (src->has_market) imx_market_free(&src->market);
  memset(src, 0, sizeof *src);
}

/* The scenario of the history at elasticity k, through the scenario JSON,
** so that an imported scenario is checked like a file. */
static int import_scenario(const run_args *a, history_src *src, uint32_t k,
                           sim_scenario *sc, FILE *err) {
  sim_import_opts io = {.elasticity_milli = a->elasticity_milli[k],
                        .auction = a->mode, /* -1: the market file's */
                        .headroom_percent = 25,
                        .seed = a->seed < 0 ? 1 : (uint64_t)a->seed,
                        .agents = a->agents < 0 ? SIM_AGENTS_ZIP : (sim_agents)a->agents,
                        .market = src->has_market ? &src->market : NULL};
  char *text = NULL, errbuf[512] = "out of memory";
  size_t len = 0;
  FILE *mem = open_memstream(&text, &len);
  int rc = mem ? sim_history_write(src->h, &io, mem, errbuf, sizeof errbuf) : -1;
  if (mem) fclose(mem);
  if (rc != 0) {
    fprintf(err, "imx-sim run: %s\n", errbuf);
    free(text);
    return -1;
  }
  imx_proto_error pe;
  rc = sim_scenario_parse(text, len, sc, &pe);
  if (rc != 0)
    fprintf(err, "imx-sim run: %s: imported scenario: %s: %s (%s)\n", a->history,
            pe.field, pe.message, pe.code);
  free(text);
  return rc;
}

static int progress_wanted(const run_args *a, FILE *err) {
  return a->progress && isatty(fileno(err));
}

/* Both runs on one scenario. Returns 0, or 1 with the reason on err. */
static int run_one(const run_args *a, sim_scenario *sc, sim_result *r, FILE *err) {
  if (a->agents >= 0) sc->agents = (sim_agents)a->agents;
  if (a->seed >= 0) sc->seed = (uint64_t)a->seed;
  if (sim_result_init(r, sc)) return fprintf(err, "imx-sim run: out of memory\n"), 1;
  if (sim_flat_run(sc, r)) return fprintf(err, "imx-sim run: out of memory\n"), 1;
  char prefix[128];
  snprintf(prefix, sizeof prefix, "%s", a->token_prefix ? a->token_prefix : "demo-");
  char admin[256];
  snprintf(admin, sizeof admin, "%sSIM-ADMIN", prefix);
  sim_market_opts mo = {.agents = sc->agents,
                        .seed = sc->seed,
                        .rounds = (uint32_t)a->rounds,
                        .connect_url = a->connect_url,
                        .tokens_prefix = prefix,
                        .admin_token = a->admin_token ? a->admin_token : admin,
                        .ca_file = a->ca_file,
                        .progress = progress_wanted(a, err) ? err : NULL};
  char errbuf[512] = "";
  if (sim_market_run(sc, &mo, r, errbuf, sizeof errbuf) != 0) {
    fprintf(err, "imx-sim run: market: %s\n", errbuf[0] ? errbuf : "failed");
    return 1;
  }
  return 0;
}

/* Writes one result where --out asks: into the folder, or for run k of
** several into its subfolder e<elasticity> (sub). */
static int write_dir(const run_args *a, const char *sub, const sim_report *rp,
                     FILE *out, FILE *err) {
  char path[4096], errbuf[512] = "";
  if (sub) snprintf(path, sizeof path, "%s/e%s", a->out_dir, sub);
  else snprintf(path, sizeof path, "%s", a->out_dir);
  if (sim_report_dir(rp, path, errbuf, sizeof errbuf) != 0) {
    fprintf(err, "imx-sim run: %s\n", errbuf[0] ? errbuf : path);
    return 1;
  }
  if (!a->json && !sub) fprintf(out, "report: %s/report.html\n", path);
  return 0;
}

/* Everything asked for of run k's result, from one aggregation. */
static int report(const run_args *a, uint32_t k, int several, const sim_result *r,
                  FILE *out, FILE *err) {
  sim_report *rp = sim_report_build(r);
  if (rp == NULL) return fprintf(err, "imx-sim run: out of memory\n"), 1;
  int bad = 0;
  if (a->json && several)
    fprintf(out, "%s{\"elasticity\":%s,\"report\":", k ? "," : "", a->elasticity_text[k]);
  if (a->json) bad |= sim_report_json(rp, out);
  if (a->json && several) fputc('}', out);
  if (!a->json && several)
    bad |= sim_report_sensitivity(rp, a->elasticity_text[k], k == 0, out);
  if (!a->json && !several) bad |= sim_report_text(rp, out);
  int rc = bad ? (fprintf(err, "imx-sim run: cannot write the report\n"), 1) : 0;
  if (rc == 0 && a->out_dir)
    rc = write_dir(a, several ? a->elasticity_text[k] : NULL, rp, out, err);
  sim_report_free(rp);
  return rc;
}

int imx_sim_run(int argc, char **argv, FILE *out, FILE *err) {
  run_args a;
  int rc = parse_run_args(argc, argv, &a, err);
  if (rc) return rc;
  uint32_t runs = a.history ? a.elasticities_n : 1;
  int several = runs > 1;
  history_src src;
  if (a.history && history_open(&a, &src, err) != 0) {
    history_close(&src);
    return 1;
  }
  if (a.json && several) fputs("{\"sensitivity\":[", out);
  for (uint32_t k = 0; k < runs && rc == 0; k++) {
    sim_scenario sc;
    memset(&sc, 0, sizeof sc);
    imx_proto_error pe;
    if (a.history) {
      if (import_scenario(&a, &src, k, &sc, err)) {
        rc = 1;
        break;
      }
    } else if (sim_scenario_load(a.scenario, &sc, &pe) != 0) {
      fprintf(err, "imx-sim run: %s: %s: %s (%s)\n", a.scenario, pe.field,
              pe.message, pe.code);
      return 1;
    }
    sim_result r;
    memset(&r, 0, sizeof r);
    rc = run_one(&a, &sc, &r, err);
    if (rc == 0) rc = report(&a, k, several, &r, out, err);
    sim_result_free(&r);
    sim_scenario_free(&sc);
  }
  if (a.history) history_close(&src);
  /* Closed even after a failure, so that what was printed still parses;
  ** the exit status says it is not complete. */
  if (a.json && several) fputs("]}\n", out);
  if (!a.json && several && rc == 0 && a.out_dir)
    fprintf(out, "reports: %s/e<elasticity>/report.html\n", a.out_dir);
  return rc;
}
