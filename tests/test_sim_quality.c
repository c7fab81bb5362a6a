/*
** test_sim_quality.c -- quality in the simulator: providers' delivered
** stars, the quality factor on receivers' worth, ratings into the engine's
** reputation table and min_stars bids in the market run, the flat rate that
** keeps serving from the home provider, the report's quality figures, the
** scenario fields and their errors, and that a scenario without quality is
** untouched. The scenario is examples/quality.json's (kept in step by
** hand): a cheap poor provider (1.5 stars, 30.00 an hour, 40 hours) and a
** dearer good one (4.5 stars, 36.00, 60 hours) of the same service; three
** receivers want 70 hours a period; two of them have the poor one as home.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "sim_int.h"

#define POOR 0u /* provider rows */
#define GOOD 1u

static const char SCENARIO_HEAD[] =
    "{\"periods\": 6, \"seed\": 11, \"agents\": \"truthful\",";
static const char SCENARIO_BODY[] =
    "\"services\": [{\"id\": \"cleaning.hour\", \"unit\": \"hour\", "
    "\"mode\": \"continuous\", \"tick\": 10}],"
    "\"providers\": ["
    " {\"cc\": \"CC-8100\", \"service\": \"cleaning.hour\", \"costs\": [[40, 3000]] %s},"
    " {\"cc\": \"CC-8200\", \"service\": \"cleaning.hour\", \"costs\": [[60, 3600]] %s}],"
    "\"receivers\": ["
    " {\"cc\": \"CC-1100\", \"service\": \"cleaning.hour\", \"values\": [[20, 6000], [10, 4500]]},"
    " {\"cc\": \"CC-1200\", \"service\": \"cleaning.hour\", \"values\": [[20, 6000], [10, 4500]] %s},"
    " {\"cc\": \"CC-1300\", \"service\": \"cleaning.hour\", \"values\": [[10, 5000]]}],"
    "\"flat_rate\": [{\"service\": \"cleaning.hour\", \"key\": \"per_unit\", \"rate\": 3300,"
    " \"home\": {\"CC-1100\": \"CC-8100\", \"CC-1200\": \"CC-8200\", \"CC-1300\": \"CC-8100\"}}]}";

static sim_scenario SC;
static sim_result R;
static char ERR[256];
static imx_proto_error PERR;

/* Parses the scenario with `quality` as the top-level member (or "" for
** none), the providers' extra members and CC-1200's (receiver row 1);
** 0 or -1 with PERR set. */
static const char *RECV1 = "";
static int load(const char *quality, const char *poor, const char *good) {
  static char text[4096], body[3072];
  sim_scenario_free(&SC);
  snprintf(body, sizeof body, SCENARIO_BODY, poor, good, RECV1);
  snprintf(text, sizeof text, "%s%s%s", SCENARIO_HEAD, quality, body);
  memset(&PERR, 0, sizeof PERR);
  return sim_scenario_parse(text, strlen(text), &SC, &PERR);
}

static int load_example(const char *min_stars) {
  char q[160];
  snprintf(q, sizeof q, "\"quality\": {\"factor\": 30, \"noise\": \"0.5\"%s},",
           min_stars);
  return load(q, ", \"quality\": \"1.5\"", ", \"quality\": 45");
}

/* Both runs; 0 or -1 with ERR set. */
static int run_both(void) {
  sim_result_free(&R);
  if (sim_result_init(&R, &SC) != 0 || sim_flat_run(&SC, &R) != 0) return -1;
  sim_market_opts o = {.agents = SC.agents, .seed = SC.seed};
  return sim_market_run(&SC, &o, &R, ERR, sizeof ERR);
}

static int64_t units(const sim_run *run, uint32_t period, uint32_t row) {
  return run->cells[(size_t)period * SC.rows_n + row].units;
}

static int64_t run_units(const sim_run *run, uint32_t row) {
  int64_t n = 0;
  for (uint32_t p = 0; p < SC.periods; p++) n += units(run, p, row);
  return n;
}

static void test_the_scenario_reads_quality_in_tenths_or_exact_decimals(void) {
  CHECK_EQ(0, load_example(", \"min_stars\": \"3.5\", \"ratings_min\": 2"));
  CHECK_EQ(1, SC.quality_on);
  CHECK_EQ(15, SC.rows[POOR].quality);
  CHECK_EQ(45, SC.rows[GOOD].quality);
  CHECK_EQ(30, SC.quality_factor);
  CHECK_EQ(5, SC.quality_noise);
  CHECK_EQ(35, SC.quality_min_stars);
  CHECK_EQ(2, SC.ratings_min);
  /* A provider's quality alone turns it on, with the defaults. */
  CHECK_EQ(0, load("", "", ", \"quality\": \"4\""));
  CHECK_EQ(1, SC.quality_on);
  CHECK_EQ(0, SC.rows[POOR].quality);
  CHECK_EQ(30, sim_quality_of(&SC, POOR)); /* none given: 3.0 */
  CHECK_EQ(40, sim_quality_of(&SC, GOOD));
  CHECK_EQ(10, SC.quality_factor);
  CHECK_EQ(0, SC.quality_min_stars);
  CHECK_EQ(3, SC.ratings_min);
}

static void test_bad_quality_fields_are_errors_naming_the_field(void) {
  static const struct {
    const char *quality, *poor, *field;
  } bad[] = {
      {"", ", \"quality\": \"4.55\"", "providers[0].quality"}, /* 2 decimals */
      {"", ", \"quality\": 5", "providers[0].quality"},        /* tenths: 0.5 */
      {"", ", \"quality\": \"5.1\"", "providers[0].quality"},
      {"", ", \"quality\": 4.5", "providers[0].quality"},      /* not tenths */
      {"", ", \"quality\": true", "providers[0].quality"},
      {"\"quality\": {\"factor\": 51},", "", "quality.factor"},
      {"\"quality\": {\"noise\": \"2.1\"},", "", "quality.noise"},
      {"\"quality\": {\"min_stars\": \"0.5\"},", "", "quality.min_stars"},
      {"\"quality\": {\"ratings_min\": 0},", "", "quality.ratings_min"},
      {"\"quality\": {\"stars\": 3},", "", "quality.stars"},
      {"\"quality\": 3,", "", "quality"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK_EQ(-1, load(bad[i].quality, bad[i].poor, ""));
    CHECK_STR(bad[i].field, PERR.field);
  }
  /* Quality on a receiver is not a field. */
  static const char recv[] =
      "{\"periods\": 1, \"services\": [{\"id\": \"s\", \"unit\": \"u\"}],"
      "\"providers\": [{\"cc\": \"P\", \"service\": \"s\", \"costs\": [10]}],"
      "\"receivers\": [{\"cc\": \"R\", \"service\": \"s\", \"values\": [20], \"quality\": 40}]}";
  CHECK_EQ(-1, sim_scenario_parse(recv, strlen(recv), &SC, &PERR));
  CHECK_STR("receivers[0].quality", PERR.field);
}

static void test_the_quality_factor_is_exact_integer_arithmetic(void) {
  CHECK_EQ(0, load_example(""));
  CHECK_EQ(1450, sim_quality_worth(&SC, 1000, 45)); /* 1 + 0.30 x 1.5 */
  CHECK_EQ(550, sim_quality_worth(&SC, 1000, 15));
  CHECK_EQ(1000, sim_quality_worth(&SC, 1000, 30));
  CHECK_EQ(1448, sim_quality_worth(&SC, 999, 45));  /* 1448.55 down */
  CHECK_EQ(400, sim_quality_worth(&SC, 1000, 10));
  /* Draws stay within quality +- noise and within 1.0 .. 5.0. */
  sim_rng g;
  sim_rng_seed(&g, 3);
  int lo = 99, hi = 0;
  for (int i = 0; i < 2000; i++) {
    int s = sim_quality_draw(&SC, POOR, &g);
    lo = s < lo ? s : lo;
    hi = s > hi ? s : hi;
  }
  CHECK_EQ(10, lo);
  CHECK_EQ(20, hi);
  CHECK_EQ(0, load("\"quality\": {\"noise\": 20},", ", \"quality\": 50", ""));
  lo = 99, hi = 0;
  for (int i = 0; i < 2000; i++) {
    int s = sim_quality_draw(&SC, POOR, &g);
    lo = s < lo ? s : lo;
    hi = s > hi ? s : hi;
  }
  CHECK_EQ(30, lo);
  CHECK_EQ(50, hi); /* clamped */
}

/* The point of it all: rated, the poor provider loses the market, while the
** flat rate keeps both at the share their homes give them. */
static void test_the_market_shifts_share_to_the_better_provider_the_flat_rate_does_not(void) {
  CHECK_EQ(0, load_example(", \"min_stars\": \"3.5\""));
  CHECK_EQ(0, run_both());
  CHECK_STR("", ERR);
  for (uint32_t p = 0; p < SC.periods; p++) {
    /* Flat: CC-1100 (30 h) and CC-1300 (10 h) from the poor one, CC-1200 (30 h)
    ** from the good one, every period: 4/7 and 3/7. */
    CHECK_EQ(40, units(&R.flat, p, POOR));
    CHECK_EQ(30, units(&R.flat, p, GOOD));
    /* Each home delivers at its own quality, noise apart. */
    int64_t su = R.flat.cells[(size_t)p * SC.rows_n + POOR].stars_units;
    CHECK(su >= 10 * 40 && su <= 20 * 40);
    su = R.flat.cells[(size_t)p * SC.rows_n + GOOD].stars_units;
    CHECK(su >= 40 * 30 && su <= 50 * 30);
  }
  /* Market: at first nobody is rated (bids say allow_unrated) and the
  ** cheap one sells, a trade (and so a rating) a period; once it has 3
  ** ratings (ratings_min), all below 3.5, it sells nothing, and the good
  ** one sells all it has. */
  CHECK(units(&R.market, 0, POOR) > 0);
  for (uint32_t p = 3; p < SC.periods; p++) {
    CHECK_EQ(0, units(&R.market, p, POOR));
    CHECK_EQ(60, units(&R.market, p, GOOD));
  }
  int64_t poor = run_units(&R.market, POOR), good = run_units(&R.market, GOOD);
  CHECK(good * 100 >= (poor + good) * 85);
  CHECK_EQ(240, run_units(&R.flat, POOR));
  CHECK_EQ(180, run_units(&R.flat, GOOD));
  /* Delivered stars: within quality +- noise, by provider. */
  for (uint32_t p = 0; p < SC.periods; p++)
    for (uint32_t i = 0; i < 2; i++) {
      const sim_cell *c = &R.market.cells[(size_t)p * SC.rows_n + i];
      int q = sim_quality_of(&SC, i);
      CHECK(c->stars_units >= (q - 5) * c->units && c->stars_units <= (q + 5) * c->units);
    }
}

/* A threshold of its own: only CC-1200 filters; the others buy from
** both. Errors name the receiver's field. */
static void test_a_receiver_may_have_its_own_min_stars(void) {
  RECV1 = ", \"min_stars\": \"3.5\"";
  CHECK_EQ(0, load_example(""));
  const uint32_t r1 = SC.providers_n + 1;
  CHECK_EQ(0, SC.rows[SC.providers_n].min_stars);
  CHECK_EQ(35, SC.rows[r1].min_stars);
  CHECK_EQ(0, run_both());
  CHECK_STR("", ERR);
  int64_t poor_late = 0;
  for (uint32_t p = 3; p < SC.periods; p++) {
    const sim_cell *c = &R.market.cells[(size_t)p * SC.rows_n + r1];
    /* Only the good provider's deliveries (4.0 .. 5.0) from period 4. */
    CHECK(c->units > 0 && c->stars_units >= 40 * c->units);
    poor_late += units(&R.market, p, POOR);
  }
  CHECK(poor_late > 0); /* the others still buy from the poor one */
  /* The scenario's default, and 0 to opt out of it. */
  RECV1 = ", \"min_stars\": 0";
  CHECK_EQ(0, load_example(", \"min_stars\": 40"));
  CHECK_EQ(40, SC.rows[SC.providers_n].min_stars);
  CHECK_EQ(0, SC.rows[r1].min_stars);
  RECV1 = ", \"min_stars\": \"0.5\"";
  CHECK_EQ(-1, load_example(""));
  CHECK_STR("receivers[1].min_stars", PERR.field);
  RECV1 = ", \"min_stars\": 51";
  CHECK_EQ(-1, load_example(""));
  CHECK_STR("receivers[1].min_stars", PERR.field);
  RECV1 = "";
}

static void test_without_min_stars_the_cheap_poor_provider_keeps_its_share(void) {
  CHECK_EQ(0, load_example(""));
  CHECK_EQ(0, run_both());
  CHECK_STR("", ERR);
  for (uint32_t p = 0; p < SC.periods; p++) CHECK(units(&R.market, p, POOR) > 0);
  CHECK(run_units(&R.market, POOR) >= 100);
}

static int64_t qsurplus(const sim_run *run) {
  int64_t s = 0;
  for (uint32_t p = 0; p < SC.periods; p++)
    for (uint32_t i = 0; i < SC.rows_n; i++) {
      const sim_cell *c = &run->cells[(size_t)p * SC.rows_n + i];
      s += i < SC.providers_n ? -c->worth_minor : c->qworth_minor;
    }
  return s;
}

static void test_the_report_shows_stars_shares_and_quality_adjusted_surplus(void) {
  CHECK_EQ(0, load_example(", \"min_stars\": \"3.5\""));
  CHECK_EQ(0, run_both());
  /* Quality-adjusted worth: a receiver's worth adjusted by each delivery,
  ** never more than 1.45 x nor less than 0.4 x its worth. */
  for (uint32_t p = 0; p < SC.periods; p++)
    for (uint32_t i = SC.providers_n; i < SC.rows_n; i++) {
      const sim_cell *c = &R.market.cells[(size_t)p * SC.rows_n + i];
      CHECK(c->qworth_minor * 1000 <= c->worth_minor * 1600);
      CHECK(c->qworth_minor * 1000 >= c->worth_minor * 400);
    }
  CHECK(qsurplus(&R.market) > qsurplus(&R.flat));
  sim_report *rp = sim_report_build(&R);
  CHECK(rp != NULL);
  char *text = NULL, *json = NULL;
  size_t n = 0, m = 0;
  FILE *f = open_memstream(&text, &n);
  CHECK_EQ(0, sim_report_text(rp, f));
  fclose(f);
  f = open_memstream(&json, &m);
  CHECK_EQ(0, sim_report_json(rp, f));
  fclose(f);
  char line[256];
  snprintf(line, sizeof line, "  cleaning.hour  CC-8100         1.5      1.5");
  CHECK(strstr(text, line) != NULL);
  CHECK(strstr(text, "57.14 %") != NULL);
  CHECK(strstr(text, "42.86 %") != NULL);
  CHECK(strstr(text, "quality-adjusted surplus: flat rate") != NULL);
  CHECK(strstr(json, "\"quality\":{\"factor\":30,\"noise\":5,\"min_stars\":35") != NULL);
  CHECK(strstr(json, "\"cc\":\"CC-8100\",\"quality\":15,\"flat_rate\":{\"units\":240,"
                     "\"stars\":15,\"share\":0.571429}") != NULL);
  free(text);
  free(json);
  sim_report_free(rp);
}

static void test_a_scenario_without_quality_is_untouched(void) {
  CHECK_EQ(0, load("", "", ""));
  CHECK_EQ(0, SC.quality_on);
  CHECK_EQ(0, run_both());
  for (uint32_t p = 0; p < SC.periods; p++)
    for (uint32_t i = 0; i < SC.rows_n; i++) {
      CHECK_EQ(0, R.flat.cells[(size_t)p * SC.rows_n + i].stars_units);
      CHECK_EQ(0, R.market.cells[(size_t)p * SC.rows_n + i].stars_units);
      CHECK_EQ(0, R.market.cells[(size_t)p * SC.rows_n + i].qworth_minor);
    }
  sim_report *rp = sim_report_build(&R);
  char *text = NULL, *json = NULL;
  size_t n = 0, m = 0;
  FILE *f = open_memstream(&text, &n);
  CHECK_EQ(0, sim_report_text(rp, f));
  fclose(f);
  f = open_memstream(&json, &m);
  CHECK_EQ(0, sim_report_json(rp, f));
  fclose(f);
  CHECK(strstr(text, "Quality") == NULL);
  CHECK(strstr(json, "\"quality\"") == NULL);
  char dir[] = "/tmp/test_sim_quality.XXXXXX", path[128], err[256] = "";
  CHECK(mkdtemp(dir) != NULL);
  CHECK_EQ(0, sim_report_dir(rp, dir, err, sizeof err));
  snprintf(path, sizeof path, "%s/quality.csv", dir);
  CHECK(access(path, F_OK) != 0); /* no quality.csv */
  static const char *const files[] = {"periods.csv", "services.csv",
                                      "cost_centres.csv", "report.html"};
  for (size_t i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, files[i]);
    CHECK_EQ(0, remove(path));
  }
  CHECK_EQ(0, rmdir(dir));
  free(text);
  free(json);
  sim_report_free(rp);
}

/* The shipped example prints what the README shows. */
static void test_the_shipped_example_prints_the_readme_figures(void) {
  sim_scenario_free(&SC);
  CHECK_EQ(0, sim_scenario_load(IMX_SOURCE_DIR "/examples/quality.json", &SC, &PERR));
  CHECK_EQ(0, run_both());
  sim_report *rp = sim_report_build(&R);
  CHECK(rp != NULL);
  char *text = NULL;
  size_t n = 0;
  FILE *f = open_memstream(&text, &n);
  CHECK_EQ(0, sim_report_text(rp, f));
  fclose(f);
  CHECK(strstr(text, "  cleaning.hour  CC-8100         1.5      1.5     1.4   57.14 %   7.69 %\n") != NULL);
  CHECK(strstr(text, "  cleaning.hour  CC-8200         4.5      4.5     4.6   42.86 %  92.31 %\n") != NULL);
  CHECK(strstr(text, "  quality-adjusted surplus: flat rate 7864.50, market 16369.00\n") != NULL);
  /* --out: quality.csv beside the others, and a Quality table in the HTML. */
  char dir[] = "/tmp/test_sim_quality.XXXXXX", path[128], csv[1024] = "";
  CHECK(mkdtemp(dir) != NULL);
  char err[256] = "";
  CHECK_EQ(0, sim_report_dir(rp, dir, err, sizeof err));
  snprintf(path, sizeof path, "%s/quality.csv", dir);
  FILE *q = fopen(path, "r");
  CHECK(q != NULL);
  if (q) {
    size_t got = fread(csv, 1, sizeof csv - 1, q);
    csv[got] = 0;
    fclose(q);
  }
  CHECK_STR("run,service,cc,quality,units,stars,share,service_quality_adjusted_surplus\n"
            "flat,cleaning.hour,CC-8100,1.5,240,1.5,0.571429,7864.50\n"
            "flat,cleaning.hour,CC-8200,4.5,180,4.5,0.428571,7864.50\n"
            "market,cleaning.hour,CC-8100,1.5,30,1.4,0.076923,16369.00\n"
            "market,cleaning.hour,CC-8200,4.5,360,4.6,0.923077,16369.00\n", csv);
  remove(path);
  static const char *const others[] = {"periods.csv", "services.csv",
                                       "cost_centres.csv", "report.html"};
  for (size_t i = 0; i < 4; i++) {
    snprintf(path, sizeof path, "%s/%s", dir, others[i]);
    if (i == 3) {
      FILE *h = fopen(path, "r");
      CHECK(h != NULL);
      static char html[1 << 20];
      size_t got = h ? fread(html, 1, sizeof html - 1, h) : 0;
      html[got] = 0;
      if (h) fclose(h);
      CHECK(strstr(html, "<h2>Quality</h2>") != NULL);
    }
    CHECK_EQ(0, remove(path));
  }
  CHECK_EQ(0, rmdir(dir));
  free(text);
  sim_report_free(rp);
}

/* A scenario with quality runs over imxd too (tests/test_sim_connect.sh
** compares it with the in-process run): --connect is no longer refused, so
** a dead URL fails on the connection, naming it. */
static void test_quality_runs_with_connect_and_a_dead_url_names_the_url(void) {
  CHECK_EQ(0, load_example(""));
  sim_result_free(&R);
  CHECK_EQ(0, sim_result_init(&R, &SC));
  sim_market_opts o = {.agents = SC.agents, .seed = 1,
                       .connect_url = "tcp://127.0.0.1:1", .tokens_prefix = "t-",
                       .admin_token = "a"};
  CHECK_EQ(-1, sim_market_run(&SC, &o, &R, ERR, sizeof ERR));
  CHECK(strncmp(ERR, "quality:", 8) != 0);
  CHECK(strstr(ERR, "tcp://127.0.0.1:1") != NULL);
}

int main(int argc, char **argv) {
  static const check_case cases[] = {
      CHECK_CASE(test_the_scenario_reads_quality_in_tenths_or_exact_decimals),
      CHECK_CASE(test_bad_quality_fields_are_errors_naming_the_field),
      CHECK_CASE(test_the_quality_factor_is_exact_integer_arithmetic),
      CHECK_CASE(test_the_market_shifts_share_to_the_better_provider_the_flat_rate_does_not),
      CHECK_CASE(test_a_receiver_may_have_its_own_min_stars),
      CHECK_CASE(test_without_min_stars_the_cheap_poor_provider_keeps_its_share),
      CHECK_CASE(test_the_report_shows_stars_shares_and_quality_adjusted_surplus),
      CHECK_CASE(test_a_scenario_without_quality_is_untouched),
      CHECK_CASE(test_the_shipped_example_prints_the_readme_figures),
      CHECK_CASE(test_quality_runs_with_connect_and_a_dead_url_names_the_url),
  };
  int rc = check_run(cases, sizeof cases / sizeof cases[0], argc, argv);
  sim_result_free(&R);
  sim_scenario_free(&SC);
  return rc;
}
