/*
** test_sim_scenario.c -- the scenario file (sim/scenario.c) and the history
** importer (sim/import.c): every error path of the loader with its code and
** field, the defaults, schedule expansion, changes composed period by
** period, the importer's model on a tiny history computed by hand, key
** detection, bad CSV rows, and the shipped examples.
**
** Scenarios are written with single quotes (sq() turns them into double
** quotes) so that they read like the files they stand for.
*/
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "imx_sim.h"
#include "sim_int.h"

/* ------------------------------------------------------------- helpers */

static char *sq(const char *s) {
  char *d = strdup(s);
  for (char *p = d; *p; p++)
    if (*p == '\'') *p = '"';
  return d;
}

/* Parses a single-quoted scenario; 0 on success. */
static int parse(const char *text, sim_scenario *sc, imx_proto_error *err) {
  char *t = sq(text);
  int rc = sim_scenario_parse(t, strlen(t), sc, err);
  free(t);
  return rc;
}

/* The scenario must fail with this code and field. */
#define EXPECT_ERROR(text, want_code, want_field)                          \
  do {                                                                     \
    sim_scenario sc_;                                                      \
    imx_proto_error e_ = {0};                                              \
    CHECK_EQ(-1, parse(text, &sc_, &e_));                                  \
    CHECK_STR(want_code, e_.code);                                         \
    CHECK_STR(want_field, e_.field);                                       \
    CHECK(sc_.rows == NULL && sc_.units == NULL);                          \
  } while (0)

/* A valid scenario around parts: periods 2, service s (tick 1), provider
** P, receiver R. */
#define SVC "'services':[{'id':'s','unit':'u'}]"
#define PROV "'providers':[{'cc':'P','service':'s','costs':[5]}]"
#define RECV "'receivers':[{'cc':'R','service':'s','values':[9]}]"
#define FLAT "'flat_rate':[{'service':'s','key':'per_unit','rate':3}]"
#define BASE "'periods':2," SVC "," PROV "," RECV "," FLAT

/* Writes text to a fresh file in /tmp; path gets its name. */
static void write_tmp(const char *text, char *path, size_t cap) {
  snprintf(path, cap, "/tmp/test_sim_scenario_XXXXXX");
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd < 0) return;
  ssize_t n = write(fd, text, strlen(text));
  CHECK_EQ((long long)strlen(text), n);
  close(fd);
}

static sim_import_opts opts(int64_t e) {
  return (sim_import_opts){.elasticity_milli = e, .auction = 1, .headroom_percent = 25,
                           .seed = 1, .agents = SIM_AGENTS_ZIC};
}

/* Imports a CSV file into text (caller frees); 0 on success. */
static int import_path(const char *path, sim_import_opts o, char **text, char *errbuf,
                       size_t errcap) {
  size_t len = 0;
  *text = NULL;
  FILE *mem = open_memstream(text, &len);
  int rc = sim_import_history(path, &o, mem, errbuf, errcap);
  fclose(mem);
  return rc;
}

/* Imports CSV text and loads the result into sc; 0 on success. */
static int import_csv(const char *csv, sim_import_opts o, sim_scenario *sc, char *errbuf,
                      size_t errcap, char *path, size_t pathcap) {
  char *text;
  write_tmp(csv, path, pathcap);
  int rc = import_path(path, o, &text, errbuf, errcap);
  unlink(path);
  if (rc == 0) {
    imx_proto_error pe = {0};
    rc = sim_scenario_parse(text, strlen(text), sc, &pe);
    if (rc) fprintf(stderr, "  reload: %s: %s\n", pe.field, pe.message);
  }
  free(text);
  return rc;
}

/* The entries of row r as a comma-separated string. */
static const char *sched(const sim_scenario *sc, const int64_t *units, uint32_t r) {
  static char buf[4096];
  size_t n = 0;
  buf[0] = '\0';
  for (uint32_t k = 0; k < sc->rows[r].n && n < sizeof buf - 32; k++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%lld", k ? "," : "",
                          (long long)units[sc->rows[r].off + k]);
  return buf;
}

/* A calibrated receiver's schedule as the file gave it (its base). */
static const char *base_sched(const sim_scenario *sc, uint32_t r) {
  static char buf[4096];
  size_t n = 0;
  buf[0] = '\0';
  for (uint32_t k = 0; k < sc->rows[r].base_n && n < sizeof buf - 32; k++)
    n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%lld", k ? "," : "",
                          (long long)sc->units[sc->rows[r].base_off + k]);
  return buf;
}

/* --------------------------------------------------- loader: defaults */

static void test_minimal_scenario_gets_every_default(void) {
  sim_scenario sc;
  imx_proto_error e = {0};
  CHECK_EQ(0, parse("{" BASE "}", &sc, &e));
  CHECK_STR("EUR", sc.currency);
  CHECK_EQ(2, sc.periods);
  CHECK_EQ(1, sc.seed);
  CHECK_EQ(SIM_AGENTS_ZIP, sc.agents);
  CHECK_EQ(1, sc.services_n);
  CHECK_EQ(1, sc.services[0].auction);
  CHECK_EQ(1, sc.services[0].tick_minor);
  CHECK_EQ(9, sc.services[0].price_max_minor); /* the highest value */
  CHECK_EQ(SIM_KEY_PER_UNIT, sc.services[0].key);
  CHECK_EQ(3, sc.services[0].rate_minor);
  CHECK_EQ(2, sc.rows_n);
  CHECK_EQ(1, sc.providers_n);
  CHECK_EQ(1000000000000000LL, sc.rows[1].budget_minor);
  CHECK_EQ(1000000000000000LL, sc.ccs[1].budget_minor);
  CHECK_EQ(0, sc.rows[1].headcount);
  CHECK_EQ(0, sc.rows[1].home);
  CHECK_EQ(0, sc.changes_n);
  sim_scenario_free(&sc);
}

static void test_top_level_fields_are_read(void) {
  sim_scenario sc;
  imx_proto_error e = {0};
  CHECK_EQ(0, parse("{'description':'d','currency':'CHF','seed':9007199254740992,"
                    "'agents':'zip'," BASE "}", &sc, &e));
  CHECK_STR("CHF", sc.currency);
  CHECK_EQ(9007199254740992LL, sc.seed);
  CHECK_EQ(SIM_AGENTS_ZIP, sc.agents);
  sim_scenario_free(&sc);
}

static void test_schedule_pairs_expand_into_units(void) {
  sim_scenario sc;
  imx_proto_error e = {0};
  CHECK_EQ(0, parse("{'periods':1," SVC ",'providers':[{'cc':'P','service':'s',"
                    "'costs':[[2,100],150,[3,150]]}],"
                    "'receivers':[{'cc':'R','service':'s','values':[[3,900],700,[2,500]]}],"
                    FLAT "}", &sc, &e));
  CHECK_EQ(12, sc.units_n);
  CHECK_STR("100,100,150,150,150,150", sched(&sc, sc.units, 0));
  CHECK_STR("900,900,900,700,500,500", sched(&sc, sc.units, 1));
  CHECK_EQ(0, sc.rows[0].off);
  CHECK_EQ(6, sc.rows[1].off);
  sim_scenario_free(&sc);
}

static void test_price_max_defaults_to_the_highest_entry_rounded_up_to_the_tick(void) {
  sim_scenario sc;
  imx_proto_error e = {0};
  CHECK_EQ(0, parse("{'periods':3,'services':[{'id':'s','unit':'u','tick':100},"
                    "{'id':'t','unit':'u','tick':50},{'id':'z','unit':'u','tick':20},"
                    "{'id':'g','unit':'u','tick':100,'price_max':1000}],"
                    "'providers':[{'cc':'P','service':'s','costs':[150,250]},"
                    "{'cc':'P','service':'t','costs':[150,250]},"
                    "{'cc':'P','service':'z','costs':[0]},{'cc':'P','service':'g','costs':[1]}],"
                    "'receivers':[{'cc':'R','service':'s','values':[420,130]},"
                    "{'cc':'R','service':'t','values':[420,130]}],"
                    "'flat_rate':[{'service':'s','key':'per_unit','rate':1},"
                    "{'service':'t','key':'per_unit','rate':1},{'service':'z','key':'per_unit','rate':1},"
                    "{'service':'g','key':'per_unit','rate':1}],"
                    "'changes':[{'period':3,'demand':{'service':'t','percent':150}}]}",
                    &sc, &e));
  CHECK_EQ(500, sc.services[0].price_max_minor);  /* 420 -> 500            */
  CHECK_EQ(650, sc.services[1].price_max_minor);  /* 420 x 1.5 = 630 -> 650 */
  CHECK_EQ(20, sc.services[2].price_max_minor);   /* nothing above 0: tick */
  CHECK_EQ(1000, sc.services[3].price_max_minor); /* given                 */
  sim_scenario_free(&sc);
}

static void test_modes_ticks_and_sites_are_read(void) {
  sim_scenario sc;
  imx_proto_error e = {0};
  CHECK_EQ(0, parse("{'periods':1,'services':[{'id':'s','unit':'u','mode':'continuous',"
                    "'tick':5,'price_max':50}],'providers':[{'cc':'P','site':'Kiel',"
                    "'service':'s','costs':[5]}],'receivers':[{'cc':'R','service':'s',"
                    "'headcount':12,'budget':700,'values':[9]}]," FLAT "}", &sc, &e));
  CHECK_EQ(0, sc.services[0].auction);
  CHECK_EQ(5, sc.services[0].tick_minor);
  CHECK_EQ(50, sc.services[0].price_max_minor);
  CHECK_STR("Kiel", sc.ccs[0].site);
  CHECK_STR("", sc.ccs[1].site);
  CHECK_EQ(12, sc.rows[1].headcount);
  CHECK_EQ(700, sc.rows[1].budget_minor);
  sim_scenario_free(&sc);
}

static void test_cost_centres_sum_budgets_and_keep_the_largest_headcount(void) {
  sim_scenario sc;
  imx_proto_error e = {0};
  CHECK_EQ(0, parse("{'periods':1,'services':[{'id':'s','unit':'u'},{'id':'t','unit':'u'},"
                    "{'id':'v','unit':'u'}],'providers':[{'cc':'P','service':'s','costs':[1]},"
                    "{'cc':'P','service':'t','costs':[1]},{'cc':'P','service':'v','costs':[1]}],"
                    "'receivers':[{'cc':'R','service':'s','headcount':7,'budget':300,'values':[2]},"
                    "{'cc':'R','service':'t','headcount':9,'budget':400,'values':[2]},"
                    "{'cc':'Q','service':'t','budget':900000000000000,'values':[2]},"
                    "{'cc':'Q','service':'v','budget':900000000000000,'values':[2]}],"
                    "'flat_rate':[{'service':'s','key':'per_unit','rate':1},"
                    "{'service':'t','key':'per_unit','rate':1},{'service':'v','key':'per_unit','rate':1}]}",
                    &sc, &e));
  CHECK_EQ(3, sc.ccs_n); /* P, R, Q in order of first appearance */
  CHECK_STR("Q", sc.ccs[2].id);
  CHECK_EQ(9, sc.ccs[1].headcount);
  CHECK_EQ(700, sc.ccs[1].budget_minor);
  CHECK_EQ(1000000000000000LL, sc.ccs[2].budget_minor); /* saturates at 1e15 */
  CHECK_EQ(0, sc.ccs[0].headcount);
  sim_scenario_free(&sc);
}

static void test_home_defaults_to_the_first_provider_on_the_receivers_site(void) {
  sim_scenario sc;
  imx_proto_error e = {0};
  CHECK_EQ(0, parse("{'periods':1,'services':[{'id':'s','unit':'u'},{'id':'t','unit':'u'}],"
                    "'providers':[{'cc':'A','site':'Hamburg','service':'s','costs':[1]},"
                    "{'cc':'B','site':'Leipzig','service':'s','costs':[1]},"
                    "{'cc':'C','site':'Leipzig','service':'s','costs':[1]},"
                    "{'cc':'A','service':'t','costs':[1]}],"
                    "'receivers':[{'cc':'X','site':'Leipzig','service':'s','values':[1]},"
                    "{'cc':'Y','site':'Munich','service':'s','values':[1]},"
                    "{'cc':'Z','service':'s','values':[1]},"
                    "{'cc':'W','service':'s','values':[1]},"
                    "{'cc':'W','site':'Leipzig','service':'t','values':[1]},"
                    "{'cc':'V','site':'Leipzig','service':'t','values':[1]}],"
                    "'flat_rate':[{'service':'s','key':'per_unit','rate':1},"
                    "{'service':'t','key':'per_unit','rate':1,'home':{'V':'A'}}]}", &sc, &e));
  CHECK_EQ(4, sc.providers_n);
  CHECK_EQ(1, sc.rows[4].home); /* X Leipzig -> B, the first in Leipzig     */
  CHECK_EQ(0, sc.rows[5].home); /* Y Munich: none there -> A, the first     */
  CHECK_EQ(0, sc.rows[6].home); /* Z no site -> A                           */
  CHECK_EQ(1, sc.rows[7].home); /* W's site, given on another row -> B      */
  CHECK_EQ(3, sc.rows[8].home); /* t: its only provider row                 */
  CHECK_EQ(3, sc.rows[9].home); /* given                                    */
  sim_scenario_free(&sc);
}

static void test_home_given_overrides_the_site(void) {
  sim_scenario sc;
  imx_proto_error e = {0};
  CHECK_EQ(0, parse("{'periods':1," SVC ",'providers':[{'cc':'A','site':'H','service':'s',"
                    "'costs':[1]},{'cc':'B','site':'L','service':'s','costs':[1]}],"
                    "'receivers':[{'cc':'X','site':'H','service':'s','values':[1]}],"
                    "'flat_rate':[{'service':'s','key':'per_unit','rate':1,'home':{'X':'B'}}]}",
                    &sc, &e));
  CHECK_EQ(1, sc.rows[2].home);
  sim_scenario_free(&sc);
}

static void test_percent_and_headcount_keys_fill_shares_and_headcounts(void) {
  sim_scenario sc;
  imx_proto_error e = {0};
  CHECK_EQ(0, parse("{'periods':1,'services':[{'id':'s','unit':'u'},{'id':'t','unit':'u'}],"
                    "'providers':[{'cc':'P','service':'s','costs':[1]},"
                    "{'cc':'P','service':'t','costs':[1]}],"
                    "'receivers':[{'cc':'R','service':'s','values':[1]},"
                    "{'cc':'Q','service':'s','values':[1]},{'cc':'S','service':'s','values':[1]},"
                    "{'cc':'R','service':'t','headcount':4,'values':[1]},"
                    "{'cc':'Q','service':'t','values':[1]}],"
                    "'flat_rate':[{'service':'s','key':'percent','shares_bp':{'R':2500,'Q':7500}},"
                    "{'service':'t','key':'headcount'}]}", &sc, &e));
  CHECK_EQ(SIM_KEY_PERCENT, sc.services[0].key);
  CHECK_EQ(SIM_KEY_HEADCOUNT, sc.services[1].key);
  CHECK_EQ(2500, sc.rows[2].share_bp);
  CHECK_EQ(7500, sc.rows[3].share_bp);
  CHECK_EQ(0, sc.rows[4].share_bp); /* not named: 0 */
  CHECK_EQ(4, sc.rows[5].headcount);
  CHECK_EQ(0, sc.rows[6].headcount);
  sim_scenario_free(&sc);
}

/* ------------------------------------------------- loader: every error */

static void test_documents_that_are_not_scenarios_fail(void) {
  EXPECT_ERROR("not json", "bad_json", "scenario");
  EXPECT_ERROR("{'periods':1} x", "bad_json", "scenario");
  EXPECT_ERROR("[1]", "bad_json", "scenario");
  EXPECT_ERROR("{" BASE ",'colour':1}", "bad_field", "colour");
  EXPECT_ERROR("{" BASE ",'periods':3}", "bad_field", "periods");
}

static void test_bad_top_level_fields_fail(void) {
  EXPECT_ERROR("{" SVC "," PROV "," FLAT "}", "bad_field", "periods");
  EXPECT_ERROR("{'periods':0," SVC "," PROV "," FLAT "}", "bad_field", "periods");
  EXPECT_ERROR("{'periods':121," SVC "," PROV "," FLAT "}", "bad_field", "periods");
  EXPECT_ERROR("{'periods':1.5," SVC "," PROV "," FLAT "}", "bad_field", "periods");
  EXPECT_ERROR("{'seed':-1," BASE "}", "bad_field", "seed");
  EXPECT_ERROR("{'seed':10000000000000000," BASE "}", "bad_field", "seed");
  EXPECT_ERROR("{'agents':'smart'," BASE "}", "bad_field", "agents");
  EXPECT_ERROR("{'currency':'eur'," BASE "}", "bad_field", "currency");
  EXPECT_ERROR("{'currency':'EURO'," BASE "}", "bad_field", "currency");
  EXPECT_ERROR("{'description':7," BASE "}", "bad_field", "description");
}

static void test_bad_services_fail(void) {
  EXPECT_ERROR("{'periods':1," PROV "," FLAT "}", "bad_field", "services");
  EXPECT_ERROR("{'periods':1,'services':[]," PROV "," FLAT "}", "bad_field", "services");
  EXPECT_ERROR("{'periods':1,'services':{}," PROV "," FLAT "}", "bad_field", "services");
  EXPECT_ERROR("{'periods':1,'services':[7]," PROV "," FLAT "}", "bad_field", "services[0]");
  EXPECT_ERROR("{'periods':1,'services':[{'id':'s'}]," PROV "," FLAT "}", "bad_field",
               "services[0].unit");
  EXPECT_ERROR("{'periods':1,'services':[{'unit':'u'}]," PROV "," FLAT "}", "bad_field",
               "services[0].id");
  EXPECT_ERROR("{'periods':1,'services':[{'id':'s','unit':'u'},{'id':'s','unit':'v'}],"
               PROV "," FLAT "}", "bad_field", "services[1].id");
  EXPECT_ERROR("{'periods':1,'services':[{'id':'s','unit':'u','mode':'live'}]," PROV ","
               FLAT "}", "bad_field", "services[0].mode");
  EXPECT_ERROR("{'periods':1,'services':[{'id':'s','unit':'u','tick':0}]," PROV "," FLAT "}",
               "bad_field", "services[0].tick");
  EXPECT_ERROR("{'periods':1,'services':[{'id':'s','unit':'u','tick':10,'price_max':15}],"
               PROV "," FLAT "}", "bad_field", "services[0].price_max");
  EXPECT_ERROR("{'periods':1,'services':[{'id':'s','unit':'u','price_max':1000000001}],"
               PROV "," FLAT "}", "bad_field", "services[0].price_max");
  EXPECT_ERROR("{'periods':1,'services':[{'id':'s','unit':'u','lot':1}]," PROV "," FLAT "}",
               "bad_field", "services[0].lot");
  EXPECT_ERROR("{'periods':1,'services':[{'id':'s','unit':'u'},{'id':'t','unit':'u'}],"
               PROV ",'flat_rate':[{'service':'s','key':'per_unit','rate':1},"
               "{'service':'t','key':'per_unit','rate':1}]}", "bad_field", "services[1]");
}

static void test_bad_rows_fail(void) {
  EXPECT_ERROR("{'periods':1," SVC "," FLAT "}", "bad_field", "providers");
  EXPECT_ERROR("{'periods':1," SVC "," PROV ",'receivers':{}," FLAT "}", "bad_field",
               "receivers");
  EXPECT_ERROR("{'periods':1," SVC ",'providers':[{'cc':'P','service':'x','costs':[1]}],"
               FLAT "}", "unknown_service", "providers[0].service");
  EXPECT_ERROR("{'periods':1," SVC ",'providers':[{'service':'s','costs':[1]}]," FLAT "}",
               "bad_field", "providers[0].cc");
  EXPECT_ERROR("{'periods':1," SVC ",'providers':[{'cc':'P','service':'s'}]," FLAT "}",
               "bad_field", "providers[0].costs");
  EXPECT_ERROR("{'periods':1," SVC ",'providers':[{'cc':'P','service':'s','costs':[1],"
               "'budget':5}]," FLAT "}", "bad_field", "providers[0].budget");
  EXPECT_ERROR("{'periods':1," SVC "," PROV ",'receivers':[{'cc':'R','service':'s',"
               "'values':[1],'headcount':-1}]," FLAT "}", "bad_field", "receivers[0].headcount");
  EXPECT_ERROR("{'periods':1," SVC "," PROV ",'receivers':[{'cc':'R','service':'s',"
               "'values':[1],'budget':1000000000000001}]," FLAT "}", "bad_field",
               "receivers[0].budget");
  EXPECT_ERROR("{'periods':1," SVC "," PROV ",'receivers':[{'cc':'R','service':'s',"
               "'costs':[1]}]," FLAT "}", "bad_field", "receivers[0].costs");
}

static void test_bad_schedules_name_the_entry(void) {
#define P1(costs) "{'periods':1," SVC ",'providers':[{'cc':'P','service':'s','costs':" costs "}]," FLAT "}"
  EXPECT_ERROR(P1("[]"), "bad_field", "providers[0].costs");
  EXPECT_ERROR(P1("5"), "bad_field", "providers[0].costs");
  EXPECT_ERROR(P1("[5,4]"), "bad_field", "providers[0].costs[1]");
  EXPECT_ERROR(P1("[1,2,[2,1]]"), "bad_field", "providers[0].costs[2]");
  EXPECT_ERROR(P1("[1.5]"), "bad_field", "providers[0].costs[0]");
  EXPECT_ERROR(P1("[-1]"), "bad_field", "providers[0].costs[0]");
  EXPECT_ERROR(P1("[1000000001]"), "bad_field", "providers[0].costs[0]");
  EXPECT_ERROR(P1("[1,'2']"), "bad_field", "providers[0].costs[1]");
  EXPECT_ERROR(P1("[[0,5]]"), "bad_field", "providers[0].costs[0]");
  EXPECT_ERROR(P1("[[2,5,1]]"), "bad_field", "providers[0].costs[0]");
  EXPECT_ERROR(P1("[[2]]"), "bad_field", "providers[0].costs[0]");
  EXPECT_ERROR(P1("[[1000000,1],[1,1]]"), "bad_field", "providers[0].costs[1]");
  EXPECT_ERROR("{'periods':1," SVC "," PROV ",'receivers':[{'cc':'R','service':'s',"
               "'values':[9,[3,8],9]}]," FLAT "}", "bad_field", "receivers[0].values[2]");
#undef P1
}

static void test_pairs_sides_and_sites_must_be_consistent(void) {
  EXPECT_ERROR("{'periods':1," SVC ",'providers':[{'cc':'P','service':'s','costs':[1]},"
               "{'cc':'P','service':'s','costs':[2]}]," FLAT "}", "bad_field",
               "providers[1].service");
  EXPECT_ERROR("{'periods':1," SVC "," PROV ",'receivers':[{'cc':'R','service':'s',"
               "'values':[1]},{'cc':'R','service':'s','values':[1]}]," FLAT "}", "bad_field",
               "receivers[1].service");
  EXPECT_ERROR("{'periods':1," SVC "," PROV ",'receivers':[{'cc':'P','service':'s',"
               "'values':[1]}]," FLAT "}", "bad_field", "receivers[0].service");
  EXPECT_ERROR("{'periods':1," SVC ",'providers':[{'cc':'P','site':'A','service':'s',"
               "'costs':[1]}],'receivers':[{'cc':'R','site':'B','service':'s','values':[1]},"
               "{'cc':'P','site':'C','service':'s','values':[1]}]," FLAT "}", "bad_field",
               "receivers[1].site");
}

static void test_bad_flat_rates_fail(void) {
#define F(flat) "{'periods':1," SVC "," PROV ",'receivers':[{'cc':'R','service':'s','values':[1]}," \
  "{'cc':'Q','service':'s','values':[1]}],'flat_rate':[" flat "]}"
  EXPECT_ERROR("{'periods':1," SVC "," PROV "}", "bad_field", "flat_rate");
  EXPECT_ERROR(F(""), "bad_field", "flat_rate.s");
  EXPECT_ERROR(F("{'service':'x','key':'per_unit','rate':1}"), "unknown_service",
               "flat_rate[0].service");
  EXPECT_ERROR(F("{'service':'s','key':'per_unit','rate':1},{'service':'s','key':'headcount'}"),
               "bad_field", "flat_rate[1].service");
  EXPECT_ERROR(F("{'service':'s'}"), "bad_field", "flat_rate[0].key");
  EXPECT_ERROR(F("{'service':'s','key':'square_metres'}"), "bad_field", "flat_rate[0].key");
  EXPECT_ERROR(F("{'service':'s','key':'per_unit'}"), "bad_field", "flat_rate[0].rate");
  EXPECT_ERROR(F("{'service':'s','key':'per_unit','rate':1000000001}"), "bad_field",
               "flat_rate[0].rate");
  EXPECT_ERROR(F("{'service':'s','key':'headcount','rate':1}"), "bad_field",
               "flat_rate[0].rate");
  EXPECT_ERROR(F("{'service':'s','key':'headcount'}"), "bad_field", "flat_rate[0].key");
  EXPECT_ERROR(F("{'service':'s','key':'percent'}"), "bad_field", "flat_rate[0].shares_bp");
  EXPECT_ERROR(F("{'service':'s','key':'per_unit','rate':1,'shares_bp':{'R':10000}}"),
               "bad_field", "flat_rate[0].shares_bp");
  EXPECT_ERROR(F("{'service':'s','key':'percent','shares_bp':{'R':5000,'Q':4999}}"),
               "bad_field", "flat_rate[0].shares_bp");
  EXPECT_ERROR(F("{'service':'s','key':'percent','shares_bp':{'R':5000,'Z':5000}}"),
               "unknown_cc", "flat_rate[0].shares_bp.Z");
  EXPECT_ERROR(F("{'service':'s','key':'percent','shares_bp':{'R':5000,'P':5000}}"),
               "bad_field", "flat_rate[0].shares_bp.P");
  EXPECT_ERROR(F("{'service':'s','key':'percent','shares_bp':{'R':10001}}"), "bad_field",
               "flat_rate[0].shares_bp.R");
  EXPECT_ERROR(F("{'service':'s','key':'percent','shares_bp':{'R':5000,'R':5000}}"),
               "bad_field", "flat_rate[0].shares_bp.R");
  EXPECT_ERROR(F("{'service':'s','key':'percent','shares_bp':[]}"), "bad_field",
               "flat_rate[0].shares_bp");
  EXPECT_ERROR(F("{'service':'s','key':'per_unit','rate':1,'home':{'R':'Q'}}"), "bad_field",
               "flat_rate[0].home.R");
  EXPECT_ERROR(F("{'service':'s','key':'per_unit','rate':1,'home':{'R':'Z'}}"), "unknown_cc",
               "flat_rate[0].home.R");
  EXPECT_ERROR(F("{'service':'s','key':'per_unit','rate':1,'home':{'Z':'P'}}"), "unknown_cc",
               "flat_rate[0].home.Z");
  EXPECT_ERROR(F("{'service':'s','key':'per_unit','rate':1,'home':{'R':7}}"), "bad_field",
               "flat_rate[0].home.R");
  EXPECT_ERROR(F("{'service':'s','key':'per_unit','rate':1,'home':{'P':'P'}}"), "bad_field",
               "flat_rate[0].home.P");
  EXPECT_ERROR(F("{'service':'s','key':'per_unit','rate':1,'ratio':2}"), "bad_field",
               "flat_rate[0].ratio");
#undef F
}

static void test_bad_changes_fail(void) {
#define C(ch) "{" BASE ",'changes':[" ch "]}"
  EXPECT_ERROR("{" BASE ",'changes':{}}", "bad_field", "changes");
  EXPECT_ERROR(C("{'period':3,'demand':{'percent':50}}"), "bad_field", "changes[0].period");
  EXPECT_ERROR(C("{'demand':{'percent':50}}"), "bad_field", "changes[0].period");
  EXPECT_ERROR(C("{'period':1}"), "bad_field", "changes[0].demand");
  EXPECT_ERROR(C("{'period':1,'demand':{'percent':50},'cost':{'percent':50}}"), "bad_field",
               "changes[0].cost");
  EXPECT_ERROR(C("{'period':1,'demand':{}}"), "bad_field", "changes[0].demand.percent");
  EXPECT_ERROR(C("{'period':1,'demand':{'percent':10001}}"), "bad_field",
               "changes[0].demand.percent");
  EXPECT_ERROR(C("{'period':1,'cost':{'service':'x','percent':50}}"), "unknown_service",
               "changes[0].cost.service");
  EXPECT_ERROR(C("{'period':1,'cost':{'cc':'X','percent':50}}"), "unknown_cc",
               "changes[0].cost.cc");
  EXPECT_ERROR(C("{'period':1,'cost':{'percent':50,'site':'A'}}"), "bad_field",
               "changes[0].cost.site");
  EXPECT_ERROR(C("{'period':1,'cost':7}"), "bad_field", "changes[0].cost");
#undef C
}

static void test_a_change_beyond_the_price_limit_fails(void) {
  /* 6e8 x 150 % = 9e8 is fine; a second 150 % from period 2 is not. */
  const char *head = "{'periods':3," SVC "," PROV ",'receivers':[{'cc':'R','service':'s',"
                     "'values':[600000000]}]," FLAT ",'changes':[";
  char text[1024];
  snprintf(text, sizeof text, "%s%s", head,
           "{'period':1,'demand':{'percent':150}},{'period':3,'demand':{'cc':'R','percent':150}}]}");
  EXPECT_ERROR(text, "bad_field", "changes[1].demand.percent");
  snprintf(text, sizeof text, "%s%s", head,
           "{'period':1,'demand':{'percent':150}},{'period':3,'cost':{'percent':150}}]}");
  sim_scenario sc;
  imx_proto_error e = {0};
  CHECK_EQ(0, parse(text, &sc, &e));
  CHECK_EQ(900000000, sc.services[0].price_max_minor);
  sim_scenario_free(&sc);
}

static void test_a_missing_file_fails_with_not_found(void) {
  sim_scenario sc;
  imx_proto_error e = {0};
  CHECK_EQ(-1, sim_scenario_load("/nonexistent/scenario.json", &sc, &e));
  CHECK_STR("not_found", e.code);
  CHECK_STR("scenario", e.field);
}

/* ------------------------------------------------ schedules by period */

static void test_changes_compose_in_file_order_from_their_period_on(void) {
  sim_scenario sc;
  imx_proto_error e = {0};
  CHECK_EQ(0, parse("{'periods':4," SVC ",'providers':[{'cc':'P','service':'s','costs':[100,201]},"
                    "{'cc':'Q','service':'s','costs':[7]}],"
                    "'receivers':[{'cc':'R','service':'s','values':[1000,999,10]}]," FLAT ","
                    "'changes':[{'period':2,'cost':{'percent':150}},"
                    "{'period':3,'cost':{'cc':'P','percent':50}},"
                    "{'period':3,'demand':{'service':'s','percent':33}},"
                    "{'period':4,'demand':{'cc':'R','percent':300}}]}", &sc, &e));
  int64_t eff[6];
  sim_schedule_period(&sc, 1, eff);
  CHECK_STR("100,201", sched(&sc, eff, 0));
  CHECK_STR("7", sched(&sc, eff, 1));
  CHECK_STR("1000,999,10", sched(&sc, eff, 2));
  sim_schedule_period(&sc, 2, eff); /* every cost x 1.5, rounded down */
  CHECK_STR("150,301", sched(&sc, eff, 0));
  CHECK_STR("10", sched(&sc, eff, 1));
  CHECK_STR("1000,999,10", sched(&sc, eff, 2));
  sim_schedule_period(&sc, 3, eff); /* P: 150 -> 75, 301 -> 150; values x 0.33 */
  CHECK_STR("75,150", sched(&sc, eff, 0));
  CHECK_STR("10", sched(&sc, eff, 1));
  CHECK_STR("330,329,3", sched(&sc, eff, 2));
  sim_schedule_period(&sc, 4, eff); /* then x 3: 3 -> 9, not 10 x 0.99 */
  CHECK_STR("990,987,9", sched(&sc, eff, 2));
  CHECK_STR("75,150", sched(&sc, eff, 0));
  CHECK_STR("1000,999,10", sched(&sc, sc.units, 2)); /* units untouched */
  CHECK_EQ(1000, sc.services[0].price_max_minor);   /* 1000 in periods 1-2 */
  sim_scenario_free(&sc);
}

/* --------------------------------------------------------------- names */

static void test_agents_and_keys_have_their_file_names(void) {
  static const char *const words[] = {"truthful", "zi-c", "zi-u", "zip"};
  for (int a = 0; a < SIM_AGENTS_N; a++) {
    sim_agents got = SIM_AGENTS_N;
    CHECK_STR(words[a], sim_agents_name((sim_agents)a));
    CHECK_EQ(0, sim_agents_parse(words[a], &got));
    CHECK_EQ(a, got);
  }
  sim_agents got = SIM_AGENTS_ZIP;
  CHECK_EQ(-1, sim_agents_parse("zic", &got));
  CHECK_EQ(SIM_AGENTS_ZIP, got);
  CHECK_STR("per_unit", sim_key_name(SIM_KEY_PER_UNIT));
  CHECK_STR("headcount", sim_key_name(SIM_KEY_HEADCOUNT));
  CHECK_STR("percent", sim_key_name(SIM_KEY_PERCENT));
}

static void test_elasticity_parses_as_thousandths(void) {
  CHECK_EQ(500, sim_elasticity_parse("0.5"));
  CHECK_EQ(2000, sim_elasticity_parse("2"));
  CHECK_EQ(1250, sim_elasticity_parse("1.25"));
  CHECK_EQ(1, sim_elasticity_parse("0.001"));
  CHECK_EQ(100000, sim_elasticity_parse("100"));
  CHECK_EQ(100000, sim_elasticity_parse("100.000"));
  CHECK_EQ(-1, sim_elasticity_parse("0"));
  CHECK_EQ(-1, sim_elasticity_parse("0.000"));
  CHECK_EQ(-1, sim_elasticity_parse("-1"));
  CHECK_EQ(-1, sim_elasticity_parse("0.0005"));
  CHECK_EQ(-1, sim_elasticity_parse("100.001"));
  CHECK_EQ(-1, sim_elasticity_parse("1."));
  CHECK_EQ(-1, sim_elasticity_parse(".5"));
  CHECK_EQ(-1, sim_elasticity_parse("1e3"));
  CHECK_EQ(-1, sim_elasticity_parse(""));
  CHECK_EQ(-1, sim_elasticity_parse("abc"));
  CHECK_EQ(-1, sim_elasticity_parse("99999999999999999999"));
}

/* ------------------------------------------------------------ importer */

/* Periods 2, 10, 1 (numeric order 1, 2, 10: P = 3). svc.a: every amount is
** quantity x 10.00 -> per_unit 1000. svc.b: line 7 charges 40.00 for no
** quantity -> percent. */
static const char tiny_csv[] =
    "period,sender_cc,receiver_cc,service,quantity,amount\n"
    "2,P1,R1,svc.a,4,40.00\n"    /* line 2 */
    "10,P1,R2,svc.a,2,20\n"
    "1,P1,R1,svc.a,2,20.0\n"
    "10,P2,R2,svc.a,3,30.00\n"
    "2,P3,R1,svc.b,10,60.00\n"
    "2,P3,R2,svc.b,0,40.00\n"
    "10,P3,R1,svc.b,5,50.00\n"
    "10,P3,R2,svc.b,1,50.00\n";

static void test_import_builds_costs_values_budgets_and_homes(void) {
  sim_scenario sc;
  char err[512] = "", path[64];
  CHECK_EQ(0, import_csv(tiny_csv, opts(1000), &sc, err, sizeof err, path, sizeof path));
  if (sc.rows == NULL) return;
  CHECK_EQ(3, sc.periods);
  CHECK_EQ(2, sc.services_n);
  CHECK_STR("svc.a", sc.services[0].id);
  CHECK_STR("unit", sc.services[0].unit);
  CHECK_EQ(1, sc.services[0].auction);
  CHECK_EQ(1, sc.services[0].tick_minor);
  CHECK_EQ(3, sc.providers_n);
  CHECK_EQ(7, sc.rows_n);
  /* P1: 8 units for 80.00, c = 1000; busiest period 4 -> cap ceil(5) = 5;
  ** c_k = 1000 (800 + 40 (2k - 1)) / 1000 */
  CHECK_STR("P1", sc.ccs[sc.rows[0].cc].id);
  CHECK_STR("840,920,1000,1080,1160", sched(&sc, sc.units, 0));
  /* P2: 3 units, c = 1000, cap ceil(3.75) = 4: 1000 (640 + 40 (2k - 1)) / 800 */
  CHECK_STR("850,950,1050,1150", sched(&sc, sc.units, 1));
  /* P3: 16 units for 200.00, c = 1250; busiest period 10 -> cap 13;
  ** c_k = 1250 (2080 + 40 (2k - 1)) / 2600 */
  CHECK_STR("1019,1057,1096,1134,1173,1211,1250,1288,1326,1365,1403,1442,1480",
            sched(&sc, sc.units, 2));
  /* R1 in svc.a: 6 units in 3 periods, qbar 2, p0 1000, e 1:
  ** v_k = 1000 (8000 - 1000 (2k - 1)) / 4000 while > 0 */
  CHECK_STR("R1", sc.ccs[sc.rows[3].cc].id);
  CHECK_STR("1750,1250,750,250", base_sched(&sc, 3));
  CHECK_EQ(2, sc.rows[3].at); /* calibrated at qbar, to 2, 4, 0 a period */
  CHECK_EQ(4, sc.calib[sc.rows[3].calib_off + 1]);
  CHECK_EQ(8000, sc.rows[3].budget_minor);  /* 2 x 40.00 in period 2      */
  CHECK_EQ(0, sc.rows[3].home);             /* P1 served it all           */
  /* R2 in svc.a: 5 units -> qbar round(1.67) = 2, p0 1000 */
  CHECK_STR("1750,1250,750,250", base_sched(&sc, 4));
  CHECK_EQ(10000, sc.rows[4].budget_minor); /* 2 x (20.00 + 30.00) in 10  */
  CHECK_EQ(1, sc.rows[4].home);             /* 3 units from P2, 2 from P1 */
  /* R1 in svc.b: 15 units, qbar 5, p0 round(110.00 / 15) = 733:
  ** v_k = 733 x 2000 (11 - 2k) / 10000 */
  CHECK_STR("1319,1026,733,439,146", base_sched(&sc, 5));
  CHECK_EQ(12000, sc.rows[5].budget_minor);
  CHECK_EQ(2, sc.rows[5].home);
  /* R2 in svc.b: 1 unit -> qbar at least 1, p0 9000: v_1 = 9000 */
  CHECK_STR("9000", base_sched(&sc, 6));
  /* The history rides along: 8 lines, 310.00. */
  CHECK_EQ(8, sc.hist_n);
  CHECK_EQ(10000, sc.rows[6].budget_minor);
  CHECK_EQ(20000, sc.ccs[sc.rows[3].cc].budget_minor);
  sim_scenario_free(&sc);
}

/* With the group's market file, the importer takes each service's unit,
** tick and mode and each cost centre's site from it; services and cost
** centres the file does not know keep the defaults. */
static void test_import_takes_units_ticks_modes_and_sites_from_a_market_file(void) {
  static const char market_json[] =
      "{\"currency\":\"CHF\",\"services\":["
      "{\"id\":\"svc.a\",\"unit\":\"hour\",\"tick\":10,\"lot\":1,\"mode\":\"continuous\"}],"
      "\"cost_centres\":[{\"id\":\"P1\",\"name\":\"P one\",\"site\":\"Basel\","
      "\"roles\":[\"provider\"],\"budget\":0,\"capacities\":{\"svc.a\":5}},"
      "{\"id\":\"R1\",\"name\":\"R one\",\"site\":\"Bern\",\"roles\":[\"receiver\"],"
      "\"budget\":100}]}";
  imx_market m;
  imx_proto_error pe = {0};
  int parsed = imx_market_parse(market_json, strlen(market_json), &m, &pe);
  CHECK_EQ(0, parsed);
  if (parsed != 0) return;
  sim_import_opts o = opts(1000);
  o.market = &m;
  o.auction = -1; /* the file's mode */
  sim_scenario sc;
  char err[512] = "", path[64];
  CHECK_EQ(0, import_csv(tiny_csv, o, &sc, err, sizeof err, path, sizeof path));
  imx_market_free(&m);
  if (sc.rows == NULL) return;
  CHECK_STR("CHF", sc.currency);
  CHECK_STR("hour", sc.services[0].unit);
  CHECK_EQ(10, sc.services[0].tick_minor);
  CHECK_EQ(0, sc.services[0].auction);
  CHECK_STR("unit", sc.services[1].unit); /* svc.b: not in the file */
  CHECK_EQ(1, sc.services[1].tick_minor);
  CHECK_EQ(1, sc.services[1].auction);
  CHECK_STR("Basel", sc.ccs[sc.rows[0].cc].site);
  CHECK_STR("Bern", sc.ccs[sc.rows[3].cc].site);
  CHECK_STR("", sc.ccs[sc.rows[4].cc].site); /* R2: not in the file */
  sim_scenario_free(&sc);
}

static void test_import_detects_per_unit_rates_and_percent_shares(void) {
  sim_scenario sc;
  char err[512] = "", path[64];
  CHECK_EQ(0, import_csv(tiny_csv, opts(1000), &sc, err, sizeof err, path, sizeof path));
  if (sc.rows == NULL) return;
  CHECK_EQ(SIM_KEY_PER_UNIT, sc.services[0].key);
  CHECK_EQ(1000, sc.services[0].rate_minor);
  CHECK_EQ(SIM_KEY_PERCENT, sc.services[1].key);
  CHECK_EQ(5500, sc.rows[5].share_bp); /* 110.00 of 200.00 */
  CHECK_EQ(4500, sc.rows[6].share_bp);
  sim_scenario_free(&sc);
}

static void test_import_shares_use_the_largest_remainder(void) {
  /* 0.01 + 0.01 + 0.02 + 0.02 of 0.06: 1666.67, 1666.67, 3333.33, 3333.33
  ** -> floors 1666 1666 3333 3333 (9998); the two largest remainders (the
  ** first two, 0.67 each) get one more. Rates differ: percent. */
  const char csv[] = "period,sender_cc,receiver_cc,service,quantity,amount\n"
                     "1,P,A,s,1,0.01\n1,P,B,s,1,0.01\n1,P,C,s,1,0.02\n1,P,D,s,3,0.02\n";
  sim_scenario sc;
  char err[512] = "", path[64];
  CHECK_EQ(0, import_csv(csv, opts(500), &sc, err, sizeof err, path, sizeof path));
  if (sc.rows == NULL) return;
  CHECK_EQ(SIM_KEY_PERCENT, sc.services[0].key);
  CHECK_EQ(1667, sc.rows[1].share_bp);
  CHECK_EQ(1667, sc.rows[2].share_bp);
  CHECK_EQ(3333, sc.rows[3].share_bp);
  CHECK_EQ(3333, sc.rows[4].share_bp);
  sim_scenario_free(&sc);
}

static void test_import_per_unit_values_at_elasticity_half(void) {
  /* qbar 2, p0 1000, e 0.5: v_k = 1000 (4 x 1500 - 1000 (2k - 1)) / 2000
  ** = 2500, 1500, 500, then -500: stop. */
  const char csv[] = "period,sender_cc,receiver_cc,service,quantity,amount\n"
                     "a,P,R,s,2,20.00\nb,P,R,s,2,20.00\n";
  sim_scenario sc;
  char err[512] = "", path[64];
  CHECK_EQ(0, import_csv(csv, opts(500), &sc, err, sizeof err, path, sizeof path));
  if (sc.rows == NULL) return;
  CHECK_EQ(2, sc.periods);
  CHECK_STR("2500,1500,500", base_sched(&sc, 1));
  sim_scenario_free(&sc);
}

static void test_import_tolerates_bom_crlf_and_blank_lines_and_orders_numbers(void) {
  const char csv[] = "\xEF\xBB\xBFperiod,sender_cc,receiver_cc,service,quantity,amount\r\n"
                     "10,P,R,s,1,1.00\r\n\r\n9,P,R,s,1,1.00\r\n";
  char err[512] = "", path[64], *text = NULL;
  write_tmp(csv, path, sizeof path);
  sim_import_opts o = opts(1000);
  o.seed = 42;
  o.agents = SIM_AGENTS_ZIU;
  o.auction = 0;
  CHECK_EQ(0, import_path(path, o, &text, err, sizeof err));
  unlink(path);
  CHECK(text && strstr(text, "2 periods (9 .. 10)") != NULL); /* not "10 .. 9" */
  CHECK(text && strstr(text, "\"seed\": 42") != NULL);
  sim_scenario sc;
  imx_proto_error pe = {0};
  CHECK_EQ(0, text ? sim_scenario_parse(text, strlen(text), &sc, &pe) : -1);
  CHECK_EQ(42, sc.seed);
  CHECK_EQ(SIM_AGENTS_ZIU, sc.agents);
  CHECK_EQ(0, sc.services_n ? sc.services[0].auction : -1);
  sim_scenario_free(&sc);
  free(text);
}

/* The import of csv must fail with "PATH:suffix". */
static void expect_csv_error(const char *csv, const char *suffix) {
  char err[512] = "", path[64], want[600], *text = NULL;
  write_tmp(csv, path, sizeof path);
  sim_import_opts o = opts(1000);
  CHECK_EQ(-1, import_path(path, o, &text, err, sizeof err));
  unlink(path);
  free(text);
  snprintf(want, sizeof want, "%s:%s", path, suffix);
  if (strncmp(err, want, strlen(want)) != 0) {
    fprintf(stderr, "  want %s\n  got  %s\n", want, err);
    CHECK(0);
  }
}

#define HEAD "period,sender_cc,receiver_cc,service,quantity,amount\n"

static void test_bad_csv_rows_name_the_line_and_column(void) {
  expect_csv_error("", "1: header: the file is empty");
  expect_csv_error("period,sender,receiver,service,menge\n", "1: header: no column amount (or betrag)");
  expect_csv_error("period,sender,Sender_CC,receiver,service,quantity,amount\n",
                   "1: header: two columns for sender_cc: 2 and 3");
  expect_csv_error(HEAD, "1: line: no allocation rows");
  expect_csv_error(HEAD "1,P,R,s,1,1.00\n1,P,R,s,4\n", "3: amount: missing");
  expect_csv_error(HEAD "1,P,R,s\n", "2: quantity: missing");
  expect_csv_error(HEAD "1,P,R,s,1,\"1.00\n", "2: amount: a quoted field has no closing quote");
  expect_csv_error(HEAD "1,P,\"R\"x,s,1,1.00\n", "2: receiver_cc: text after a closing quote");
  expect_csv_error(HEAD "1,P,R,s,1,1,234\n", "2: line: 7 fields, the header has 6");
  expect_csv_error(HEAD "1,P,R,s,1,\"1,23,4\"\n", "2: amount: must be a decimal amount");
  expect_csv_error(HEAD "1,P,R,s,1,\"12,34.5\"\n", "2: amount: must be a decimal amount");
  /* German: ';', decimal comma, the file's own column names in messages. */
  expect_csv_error("Periode;Sender;Empf\xC3\xA4nger;Leistungsart;Menge;Betrag\n1;P;R;s;1;1,234\n",
                   "2: amount (Betrag): more than 2 decimal places");
  expect_csv_error("Periode;Sender;Empf\xC3\xA4nger;Leistungsart;Menge;Betrag\n1;P;R;s;1,5;1\n",
                   "2: quantity (Menge): must be a whole number");
  expect_csv_error("Periode;Sender;Empf\xC3\xA4nger;Leistungsart;Menge;Betrag\n1;P;R;s\n",
                   "2: quantity (Menge): missing (the line has 4 fields, the header 6)");
  expect_csv_error("Periode;Sender;Empf\xC3\xA4nger;Leistungsart;Menge;Betrag\n1;P;P;s;1;1\n",
                   "2: receiver_cc (Empf\xC3\xA4nger): same as sender_cc (Sender)");
  expect_csv_error(HEAD "1,P,R,s,1,1.001\n", "2: amount: more than 2 decimal places");
  expect_csv_error(HEAD "1,P,R,s,1,1.5.0\n", "2: amount: must be a decimal amount");
  expect_csv_error(HEAD "1,P,R,s,1,4o\n", "2: amount: must be a decimal amount");
  expect_csv_error(HEAD "1,P,R,s,1,1.\n", "2: amount: must be a decimal amount");
  expect_csv_error(HEAD "1,P,R,s,1,\n", "2: amount: must be a decimal amount");
  expect_csv_error(HEAD "1,P,R,s,1,-1.00\n", "2: amount: must not be negative");
  expect_csv_error(HEAD "1,P,R,s,1,10000000000.01\n", "2: amount: above 1e10");
  expect_csv_error(HEAD "1,P,R,s,1.5,1\n", "2: quantity: must be a whole number");
  expect_csv_error(HEAD "1,P,R,s,-1,1\n", "2: quantity: must be a whole number");
  expect_csv_error(HEAD "1,P,R,s,1000000001,1\n", "2: quantity: must be a whole number");
  expect_csv_error(HEAD ",P,R,s,1,1\n", "2: period: missing");
  expect_csv_error(HEAD "1,,R,s,1,1\n", "2: sender_cc: missing");
  expect_csv_error(HEAD "1,P,,s,1,1\n", "2: receiver_cc: missing");
  expect_csv_error(HEAD "1,P,R,,1,1\n", "2: service: missing");
  expect_csv_error(HEAD "1,P,R\"x,s,1,1\n", "2: receiver_cc: must not contain");
  expect_csv_error(HEAD "1,P,R,s,1,1\n1,P,P,s,1,1\n", "3: receiver_cc: same as sender_cc");
  expect_csv_error(HEAD "1,P,R,s,1,1\n1,R,Q,s,1,1\n",
                   "3: sender_cc: R both sends and receives s (line 2)");
  expect_csv_error(HEAD "1,P,R,s,1,1\n1,Q,P,s,1,1\n",
                   "3: receiver_cc: P both sends and receives s (line 2)");
  expect_csv_error(HEAD "1,P,R,s,1,1\n1,Q,R,s,0,1\n",
                   "3: quantity: Q never delivers s (total quantity 0)");
  expect_csv_error(HEAD "1,P,R,s,1,9000000.00\n", "2: amount: P's cost per unit of s");
}

/* The scenario text of an import, without its first two lines (the
** description names the file). */
static char *import_body(const char *path) {
  char err[512] = "", *text = NULL;
  if (import_path(path, opts(500), &text, err, sizeof err) != 0) {
    fprintf(stderr, "  %s: %s\n", path, err);
    free(text);
    return NULL;
  }
  char *body = strstr(text, "\"currency\"");
  char *copy = body ? strdup(body) : NULL;
  free(text);
  return copy;
}

/* Exports as an ERP writes them -- ';' with decimal commas, thousands
** separators, a BOM, CRLF, quotes, German or English column names in another
** order, extra columns, a line split over two rows -- import to the same
** scenario as the plain file. */
static void test_import_reads_erp_exports_as_they_come(void) {
  char *plain = import_body(IMX_SOURCE_DIR "/tests/sim/history-plain.csv");
  char *de = import_body(IMX_SOURCE_DIR "/tests/sim/history-erp-de.csv");
  char *en = import_body(IMX_SOURCE_DIR "/tests/sim/history-erp-en.csv");
  CHECK(plain != NULL && de != NULL && en != NULL);
  if (plain && de) CHECK_STR(plain, de);
  if (plain && en) CHECK_STR(plain, en);
  /* 1.234,56 and "1,234.56" are 123456 minor units. */
  CHECK(plain && strstr(plain, "\"amount\": 123456}") != NULL);
  free(plain);
  free(de);
  free(en);
}

/* A market file that does not know some of the history's cost centres or
** services: the importer names them (and warns), it does not stay silent. */
static void test_import_names_what_the_market_file_does_not_know(void) {
  static const char market_json[] =
      "{\"currency\":\"EUR\",\"services\":["
      "{\"id\":\"svc.a\",\"unit\":\"hour\",\"tick\":10,\"lot\":1,\"mode\":\"auction\"}],"
      "\"cost_centres\":[{\"id\":\"P1\",\"name\":\"P one\",\"site\":\"Basel\","
      "\"roles\":[\"provider\"],\"budget\":0,\"capacities\":{\"svc.a\":5}},"
      "{\"id\":\"R1\",\"name\":\"R one\",\"site\":\"Bern\",\"roles\":[\"receiver\"],"
      "\"budget\":100}]}";
  imx_market m;
  imx_proto_error pe = {0};
  CHECK_EQ(0, imx_market_parse(market_json, strlen(market_json), &m, &pe));
  sim_history *h = NULL;
  char err[512] = "", list[256];
  CHECK_EQ(0, sim_history_read(IMX_SOURCE_DIR "/tests/sim/history-plain.csv", &h, err,
                               sizeof err));
  if (h == NULL) return imx_market_free(&m);
  CHECK_EQ(4, sim_history_market_misfits(h, &m, list, sizeof list));
  CHECK_STR("cost centres R2, P2, P3; services svc.b", list);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  sim_history_warn_market(h, &m, "m.json", "imx-sim import", f);
  fclose(f);
  CHECK(text && strstr(text, "imx-sim import: warning: m.json does not know 4 of the "
                             "history's names (cost centres R2, P2, P3; services svc.b)"));
  free(text);
  sim_history_free(h);
  imx_market_free(&m);
}

/* The flat run replays the history: calibrated demand gives each receiver
** its quantity of each period, per_unit charges units x rate, percent the
** history's own charges; what the model cannot reproduce is listed with its
** cause. In the plain history R2's 5 units of svc.a in period 10 came from
** P1 (2) and P2 (3); the flat run serves them from R2's home P2, whose
** capacity is 4 (3 x 1.25, rounded up). */
static void test_flat_run_replays_and_reconciles_the_history(void) {
  char err[512] = "", *text = NULL;
  CHECK_EQ(0, import_path(IMX_SOURCE_DIR "/tests/sim/history-plain.csv", opts(500), &text,
                          err, sizeof err));
  sim_scenario sc;
  imx_proto_error pe = {0};
  CHECK_EQ(0, text ? sim_scenario_parse(text, strlen(text), &sc, &pe) : -1);
  free(text);
  if (sc.rows == NULL) return;
  /* The stretched schedules: R1's svc.a curve at 2 units, in period 2 at
  ** 4 (each unit twice), in period 3 at 0 (nothing). */
  int64_t *eff = malloc(sc.units_n * sizeof *eff);
  sim_schedule_period(&sc, 1, eff);
  CHECK_STR("2500,1500,500,0,0,0", sched(&sc, eff, 3));
  sim_schedule_period(&sc, 2, eff);
  CHECK_STR("2500,2500,1500,1500,500,500", sched(&sc, eff, 3));
  sim_schedule_period(&sc, 3, eff);
  CHECK_STR("0,0,0,0,0,0", sched(&sc, eff, 3));
  free(eff);
  sim_result r;
  CHECK_EQ(0, sim_result_init(&r, &sc));
  CHECK_EQ(0, sim_flat_run(&sc, &r));
  const sim_cell *c = r.flat.cells;
  /* R1 svc.a: 2, 4, 0 units; R1 svc.b: 0, 10, 5 units, charged 0, 1234.56,
  ** 50.00 (the history's amounts). */
  CHECK_EQ(2, c[0 * sc.rows_n + 3].units);
  CHECK_EQ(4, c[1 * sc.rows_n + 3].units);
  CHECK_EQ(4000, c[1 * sc.rows_n + 3].amount_minor);
  CHECK_EQ(0, c[2 * sc.rows_n + 3].units);
  CHECK_EQ(10, c[1 * sc.rows_n + 5].units);
  CHECK_EQ(123456, c[1 * sc.rows_n + 5].amount_minor);
  CHECK_EQ(4000, c[1 * sc.rows_n + 6].amount_minor); /* R2: 0 pages, 40.00 */
  CHECK_EQ(0, c[1 * sc.rows_n + 6].units);
  CHECK_EQ(4, c[2 * sc.rows_n + 4].units);           /* R2 svc.a: rationed */
  sim_recon rc;
  CHECK_EQ(0, sim_reconcile(&r, &rc));
  CHECK_EQ(8, rc.hist_lines_n);
  CHECK_EQ(8, rc.lines_n);
  CHECK_EQ(6, rc.exact_n);
  CHECK_EQ(148456, rc.hist_amount);
  CHECK_EQ(148456 - 5000, rc.exact_amount);
  CHECK_EQ(148456 - 1000, rc.flat_amount); /* one hour short */
  int seen = 0;
  for (uint32_t k = 0; k < rc.lines_n; k++) {
    const sim_recon_line *l = &rc.lines[k];
    if (l->cause == SIM_CAUSE_NONE) continue;
    seen++;
    CHECK_EQ(3, l->period);
    CHECK_STR("R2", sc.ccs[l->recv_cc].id);
    CHECK_EQ(SIM_CAUSE_SENDER, l->cause);
    if (strcmp(sc.ccs[l->send_cc].id, "P1") == 0) {
      CHECK_EQ(2, l->hist_units);
      CHECK_EQ(2000, l->hist_amount);
      CHECK_EQ(0, l->flat_units);
      CHECK_EQ(0, l->flat_amount);
    } else {
      CHECK_STR("P2", sc.ccs[l->send_cc].id);
      CHECK_EQ(3, l->hist_units);
      CHECK_EQ(4, l->flat_units);
      CHECK_EQ(4000, l->flat_amount);
    }
  }
  CHECK_EQ(2, seen);
  sim_recon_free(&rc);
  sim_result_free(&r);
  sim_scenario_free(&sc);
}

/* A pool key with three senders of one receiver in one period: the money
** of each line is the history's, the units all come from the home (P3,
** which served most), so every line differs in units, cause sender. */
static void test_pool_key_with_several_senders_reconciles_money_not_units(void) {
  const char csv[] = "period,sender_cc,receiver_cc,service,quantity,amount\n"
                     "1,P1,R,s,1,10.00\n1,P2,R,s,1,15.00\n1,P3,R,s,2,7.00\n";
  sim_scenario sc;
  char err[512] = "", path[64];
  CHECK_EQ(0, import_csv(csv, opts(1000), &sc, err, sizeof err, path, sizeof path));
  if (sc.rows == NULL) return;
  CHECK_EQ(SIM_KEY_PERCENT, sc.services[0].key);
  sim_result r;
  CHECK_EQ(0, sim_result_init(&r, &sc));
  CHECK_EQ(0, sim_flat_run(&sc, &r));
  sim_recon rc;
  CHECK_EQ(0, sim_reconcile(&r, &rc));
  CHECK_EQ(3, rc.lines_n);
  CHECK_EQ(0, rc.exact_n);
  CHECK_EQ(3200, rc.hist_amount);
  CHECK_EQ(3200, rc.flat_amount);
  CHECK_EQ(0, rc.exact_amount);
  for (uint32_t k = 0; k < rc.lines_n; k++) {
    CHECK_EQ(SIM_CAUSE_SENDER, rc.lines[k].cause);
    CHECK_EQ(rc.lines[k].hist_amount, rc.lines[k].flat_amount);
  }
  /* P3 (capacity 3) serves the 4 units R used: 3. */
  CHECK_EQ(3, rc.lines[2].flat_units);
  CHECK_EQ(2, rc.lines[2].hist_units);
  sim_recon_free(&rc);
  sim_result_free(&r);
  sim_scenario_free(&sc);
}

/* The shipped history is reproduced to the cent, every line. */
static void test_shipped_history_reconciles_exactly(void) {
  static const int64_t es[] = {250, 500, 1000, 2000};
  for (int i = 0; i < 4; i++) {
    char err[512] = "", *text = NULL;
    CHECK_EQ(0, import_path(IMX_SOURCE_DIR "/examples/history.csv", opts(es[i]), &text, err,
                            sizeof err));
    sim_scenario sc;
    imx_proto_error pe = {0};
    CHECK_EQ(0, text ? sim_scenario_parse(text, strlen(text), &sc, &pe) : -1);
    free(text);
    if (sc.rows == NULL) return;
    sim_result r;
    CHECK_EQ(0, sim_result_init(&r, &sc));
    CHECK_EQ(0, sim_flat_run(&sc, &r));
    sim_recon rc;
    CHECK_EQ(0, sim_reconcile(&r, &rc));
    CHECK_EQ(1092, rc.hist_lines_n);
    CHECK_EQ(1092, rc.lines_n);
    CHECK_EQ(1092, rc.exact_n);
    CHECK_EQ(401012738, rc.hist_amount);
    CHECK_EQ(401012738, rc.exact_amount);
    CHECK_EQ(401012738, rc.flat_amount);
    sim_recon_free(&rc);
    sim_result_free(&r);
    sim_scenario_free(&sc);
  }
}

/* A scenario's numbers are whole: a decimal is an error naming its place
** (60.00 was read as 60 minor units); in a string it is text. */
static void test_decimals_in_a_scenario_are_errors(void) {
  EXPECT_ERROR("{'periods':2," SVC "," PROV ",'receivers':[{'cc':'R','service':'s',"
               "'values':[9],'budget':60.00}]," FLAT "}", "bad_field", "receivers[0].budget");
  EXPECT_ERROR("{'periods':2," SVC "," PROV ",'receivers':[{'cc':'R','service':'s',"
               "'values':[[2,9],[3,8.5]]}]," FLAT "}", "bad_field", "receivers[0].values[1][1]");
  EXPECT_ERROR("{'periods':2," SVC "," PROV "," RECV ",'flat_rate':[{'service':'s',"
               "'key':'per_unit','rate':1e3}]}", "bad_field", "flat_rate[0].rate");
  sim_scenario sc;
  imx_proto_error e = {0};
  char *t = sq("{'periods':2,'description':'60.00 EUR is 6000'," SVC "," PROV "," RECV "," FLAT "}");
  CHECK_EQ(0, sim_scenario_parse(t, strlen(t), &sc, &e));
  free(t);
  sim_scenario_free(&sc);
  e = (imx_proto_error){0};
  t = sq("{'periods':2," SVC "," PROV ",'receivers':[{'cc':'R','service':'s',"
         "'values':[9],'budget':60.00}]," FLAT "}");
  CHECK_EQ(-1, sim_scenario_parse(t, strlen(t), &sc, &e));
  CHECK(e.message && strstr(e.message, "minor units (60.00 EUR is 6000)") != NULL);
  free(t);
}

static void test_bad_calibrations_and_histories_fail(void) {
#define RQ(x) "{'periods':2," SVC "," PROV ",'receivers':[{'cc':'R','service':'s','values':[9]" x "}]," FLAT "}"
  EXPECT_ERROR(RQ(",'at':1"), "bad_field", "receivers[0].quantities");
  EXPECT_ERROR(RQ(",'quantities':[1,2]"), "bad_field", "receivers[0].at");
  EXPECT_ERROR(RQ(",'at':1,'quantities':[1]"), "bad_field", "receivers[0].quantities");
  EXPECT_ERROR(RQ(",'at':0,'quantities':[1,1]"), "bad_field", "receivers[0].at");
  EXPECT_ERROR(RQ(",'at':1,'quantities':[1,-1]"), "bad_field", "receivers[0].quantities[1]");
#undef RQ
#define HL(x) "{" BASE ",'history':[" x "]}"
#define LINE(p, s, r, q, a) "{'period':" p ",'sender':'" s "','receiver':'" r "','service':'s','quantity':" q ",'amount':" a "}"
  EXPECT_ERROR(HL(LINE("3", "P", "R", "1", "3")), "bad_field", "history[0].period");
  EXPECT_ERROR(HL(LINE("1", "X", "R", "1", "3")), "unknown_cc", "history[0].sender");
  EXPECT_ERROR(HL(LINE("1", "R", "R", "1", "3")), "bad_field", "history[0].sender");
  EXPECT_ERROR(HL(LINE("1", "P", "P", "1", "3")), "bad_field", "history[0].receiver");
  EXPECT_ERROR(HL(LINE("1", "P", "R", "-1", "3")), "bad_field", "history[0].quantity");
  EXPECT_ERROR(HL(LINE("1", "P", "R", "1", "3") "," LINE("1", "P", "R", "2", "6")),
               "bad_field", "history");
  EXPECT_ERROR("{" BASE ",'history':[{'period':1,'sender':'P','receiver':'R','service':'s',"
               "'quantity':1,'amount':3,'text':'x'}]}", "bad_field", "history[0].text");
#undef LINE
#undef HL
}

static void test_import_cli_writes_one_file_per_elasticity(void) {
  char dir[] = "/tmp/test_sim_scenario_dirXXXXXX", csv[64], f[256];
  CHECK(mkdtemp(dir) != NULL);
  write_tmp(tiny_csv, csv, sizeof csv);
  char out_dir[160];
  snprintf(out_dir, sizeof out_dir, "%s/out", dir);
  char *argv[] = {"--history", csv, "--elasticity", "0.5", "--elasticity", "2",
                  "--headroom", "0", "--out", out_dir};
  FILE *out = tmpfile(), *err = tmpfile();
  CHECK_EQ(0, imx_sim_import(10, argv, out, err));
  const char *names_[] = {"scenario-e0.5.json", "scenario-e2.json"};
  for (int i = 0; i < 2; i++) {
    sim_scenario sc;
    imx_proto_error pe = {0};
    snprintf(f, sizeof f, "%s/%s", out_dir, names_[i]);
    CHECK_EQ(0, sim_scenario_load(f, &sc, &pe));
    CHECK_EQ(4, sc.rows_n ? sc.rows[0].n : 0); /* headroom 0: P1's cap is 4 */
    sim_scenario_free(&sc);
    unlink(f);
  }
  rmdir(out_dir);
  char *bad[] = {"--history", csv, "--elasticity", "0", "--out", out_dir};
  CHECK_EQ(2, imx_sim_import(6, bad, out, err));
  char *two[] = {"--history", csv, "--elasticity", "1", "--elasticity", "2"};
  CHECK_EQ(2, imx_sim_import(6, two, out, err));
  char *none[] = {"--elasticity", "1"};
  CHECK_EQ(2, imx_sim_import(2, none, out, err));
  unlink(csv);
  char *missing[] = {"--history", "/nonexistent/h.csv"};
  CHECK_EQ(1, imx_sim_import(2, missing, out, err));
  fclose(out);
  fclose(err);
  rmdir(dir);
}

/* ----------------------------------------------------- shipped examples */

static void check_shares_sum(const sim_scenario *sc) {
  for (uint32_t s = 0; s < sc->services_n; s++) {
    if (sc->services[s].key != SIM_KEY_PERCENT) continue;
    int64_t sum = 0;
    for (uint32_t i = sc->providers_n; i < sc->rows_n; i++)
      if (sc->rows[i].service == s) sum += sc->rows[i].share_bp;
    CHECK_EQ(10000, sum);
  }
}

static void test_shipped_history_imports_at_three_elasticities(void) {
  static const int64_t es[] = {500, 1000, 2000};
  for (int i = 0; i < 3; i++) {
    char err[512] = "", *text = NULL;
    CHECK_EQ(0, import_path(IMX_SOURCE_DIR "/examples/history.csv", opts(es[i]), &text, err,
                            sizeof err));
    if (err[0]) fprintf(stderr, "  %s\n", err);
    sim_scenario sc;
    imx_proto_error pe = {0};
    CHECK_EQ(0, text ? sim_scenario_parse(text, strlen(text), &sc, &pe) : -1);
    free(text);
    CHECK(sc.ccs_n >= 30);
    CHECK_EQ(6, sc.services_n);
    CHECK_EQ(12, sc.periods);
    int per_unit = 0, percent = 0;
    for (uint32_t s = 0; s < sc.services_n; s++) {
      per_unit += sc.services[s].key == SIM_KEY_PER_UNIT;
      percent += sc.services[s].key == SIM_KEY_PERCENT;
      if (strcmp(sc.services[s].id, "it.helpdesk.hour") == 0) {
        CHECK_EQ(SIM_KEY_PER_UNIT, sc.services[s].key);
        CHECK_EQ(8500, sc.services[s].rate_minor);
      }
      if (strcmp(sc.services[s].id, "translation.page") == 0)
        CHECK_EQ(SIM_KEY_PERCENT, sc.services[s].key);
    }
    CHECK_EQ(3, per_unit);
    CHECK_EQ(3, percent);
    check_shares_sum(&sc);
    sim_scenario_free(&sc);
  }
}

/* Outside options and fixed costs: read, checked, and under a pool key the
** receivers whose charge passes the outside price of their units leave for
** the next period, the fixed cost spread over those left. */
static void test_outside_options_and_fixed_costs(void) {
  sim_scenario sc;
  imx_proto_error e = {0};
  CHECK_EQ(0, parse("{'periods':3," SVC ",'providers':[{'cc':'P','name':'Central',"
                    "'service':'s','costs':[[4,100]],'fixed_cost':1000}],"
                    "'receivers':[{'cc':'A','name':'Dept A','headcount':1,'service':'s',"
                    "'values':[[2,900]],'outside_price':400},"
                    "{'cc':'B','headcount':1,'service':'s','values':[[2,900]],'outside_price':700}],"
                    "'flat_rate':[{'service':'s','key':'headcount'}]}", &sc, &e));
  CHECK_EQ(1000, sc.rows[0].fixed_minor);
  CHECK_EQ(400, sc.rows[1].outside_minor);
  CHECK_STR("Central", sc.ccs[sc.rows[0].cc].name);
  CHECK_STR("Dept A", sc.ccs[sc.rows[1].cc].name);
  CHECK_STR("", sc.ccs[sc.rows[2].cc].name);
  /* A unit is worth no more than its outside price. */
  int64_t *eff = malloc(sc.units_n * sizeof *eff);
  CHECK(eff != NULL);
  sim_schedule_period(&sc, 1, eff);
  CHECK_EQ(400, eff[sc.rows[1].off]);
  CHECK_EQ(700, eff[sc.rows[2].off]);
  free(eff);
  sim_result r;
  CHECK_EQ(0, sim_result_init(&r, &sc));
  CHECK_EQ(0, sim_flat_run(&sc, &r));
  /* Period 1: pool 4 x 100 + 1000 = 1400, 700 each; A's 2 units cost 800
  ** outside: it stays. Both stay forever: 700 <= 800 and 700 <= 1400. */
  CHECK_EQ(700, r.flat.cells[1].amount_minor);
  CHECK_EQ(0, r.flat_left[1]);
  CHECK_EQ(0, r.flat_left[2]);
  sim_result_free(&r);
  sim_scenario_free(&sc);
  /* A fixed cost of 2000: 1200 each; A (800 outside) leaves after period 1,
  ** B (1400) stays and bears the whole pool, 2 x 100 + 2000 = 2200, and
  ** leaves after period 2; in period 3 nobody is charged. */
  CHECK_EQ(0, parse("{'periods':3," SVC ",'providers':[{'cc':'P','service':'s',"
                    "'costs':[[4,100]],'fixed_cost':2000}],"
                    "'receivers':[{'cc':'A','headcount':1,'service':'s','values':[[2,900]],"
                    "'outside_price':400},{'cc':'B','headcount':1,'service':'s',"
                    "'values':[[2,900]],'outside_price':700}],"
                    "'flat_rate':[{'service':'s','key':'headcount'}]}", &sc, &e));
  CHECK_EQ(0, sim_result_init(&r, &sc));
  CHECK_EQ(0, sim_flat_run(&sc, &r));
  const sim_cell *c1 = r.flat.cells, *c2 = c1 + sc.rows_n, *c3 = c2 + sc.rows_n;
  CHECK_EQ(1200, c1[1].amount_minor);
  CHECK_EQ(1200, c1[2].amount_minor);
  CHECK_EQ(2, r.flat_left[1]);
  CHECK_EQ(0, c2[1].units);
  CHECK_EQ(0, c2[1].amount_minor);
  CHECK_EQ(2200, c2[2].amount_minor);
  CHECK_EQ(2200, c2[0].amount_minor);
  CHECK_EQ(3, r.flat_left[2]);
  CHECK_EQ(0, c3[0].units);
  CHECK_EQ(0, c3[0].amount_minor);
  CHECK_EQ(0, r.flat.svc[2 * sc.services_n].amount_minor);
  sim_result_free(&r);
  sim_scenario_free(&sc);
  /* Refusals, by their path. */
  EXPECT_ERROR("{'periods':1," SVC "," PROV ",'receivers':[{'cc':'R','service':'s',"
               "'values':[1],'outside_price':0}]," FLAT "}", "bad_field",
               "receivers[0].outside_price");
  EXPECT_ERROR("{'periods':1," SVC "," PROV ",'receivers':[{'cc':'R','service':'s',"
               "'values':[1],'outside_price':1000000001}]," FLAT "}", "bad_field",
               "receivers[0].outside_price");
  EXPECT_ERROR("{'periods':1," SVC ",'providers':[{'cc':'P','service':'s','costs':[1],"
               "'outside_price':5}]," RECV "," FLAT "}", "bad_field", "providers[0].outside_price");
  EXPECT_ERROR("{'periods':1," SVC ",'providers':[{'cc':'P','service':'s','costs':[1],"
               "'fixed_cost':-1}]," RECV "," FLAT "}", "bad_field", "providers[0].fixed_cost");
  EXPECT_ERROR("{'periods':1," SVC "," PROV ",'receivers':[{'cc':'R','service':'s',"
               "'values':[1],'fixed_cost':5}]," FLAT "}", "bad_field", "receivers[0].fixed_cost");
  EXPECT_ERROR("{'periods':1,'services':[{'id':'s','unit':'u'},{'id':'t','unit':'u'}],"
               "'providers':[{'cc':'P','name':'One','service':'s','costs':[1]},"
               "{'cc':'P','name':'Two','service':'t','costs':[1]}]," RECV ","
               "'flat_rate':[{'service':'s','key':'per_unit','rate':3},"
               "{'service':'t','key':'per_unit','rate':3}]}", "bad_field", "providers[1].name");
}

static void test_shipped_scenario_loads(void) {
  sim_scenario sc;
  imx_proto_error e = {0};
  CHECK_EQ(0, sim_scenario_load(IMX_SOURCE_DIR "/examples/scenario.json", &sc, &e));
  CHECK_EQ(4, sc.periods);
  CHECK_EQ(3, sc.services_n);
  CHECK_EQ(0, sc.services[0].auction);
  CHECK_EQ(1, sc.services[1].auction);
  CHECK_EQ(SIM_KEY_PER_UNIT, sc.services[0].key);
  CHECK_EQ(SIM_KEY_HEADCOUNT, sc.services[1].key);
  CHECK_EQ(SIM_KEY_PERCENT, sc.services[2].key);
  CHECK_EQ(2, sc.changes_n);
  CHECK_EQ(1, sc.rows[sc.providers_n].home); /* CC-1100 Hamburg -> CC-4200, given */
  check_shares_sum(&sc);
  sim_scenario_free(&sc);
}

int main(int argc, char **argv) {
  static const check_case cases[] = {
      CHECK_CASE(test_minimal_scenario_gets_every_default),
      CHECK_CASE(test_top_level_fields_are_read),
      CHECK_CASE(test_schedule_pairs_expand_into_units),
      CHECK_CASE(test_price_max_defaults_to_the_highest_entry_rounded_up_to_the_tick),
      CHECK_CASE(test_modes_ticks_and_sites_are_read),
      CHECK_CASE(test_cost_centres_sum_budgets_and_keep_the_largest_headcount),
      CHECK_CASE(test_home_defaults_to_the_first_provider_on_the_receivers_site),
      CHECK_CASE(test_home_given_overrides_the_site),
      CHECK_CASE(test_percent_and_headcount_keys_fill_shares_and_headcounts),
      CHECK_CASE(test_documents_that_are_not_scenarios_fail),
      CHECK_CASE(test_bad_top_level_fields_fail),
      CHECK_CASE(test_bad_services_fail),
      CHECK_CASE(test_bad_rows_fail),
      CHECK_CASE(test_bad_schedules_name_the_entry),
      CHECK_CASE(test_pairs_sides_and_sites_must_be_consistent),
      CHECK_CASE(test_bad_flat_rates_fail),
      CHECK_CASE(test_bad_changes_fail),
      CHECK_CASE(test_a_change_beyond_the_price_limit_fails),
      CHECK_CASE(test_a_missing_file_fails_with_not_found),
      CHECK_CASE(test_changes_compose_in_file_order_from_their_period_on),
      CHECK_CASE(test_agents_and_keys_have_their_file_names),
      CHECK_CASE(test_elasticity_parses_as_thousandths),
      CHECK_CASE(test_import_builds_costs_values_budgets_and_homes),
      CHECK_CASE(test_import_detects_per_unit_rates_and_percent_shares),
      CHECK_CASE(test_import_takes_units_ticks_modes_and_sites_from_a_market_file),
      CHECK_CASE(test_import_shares_use_the_largest_remainder),
      CHECK_CASE(test_import_per_unit_values_at_elasticity_half),
      CHECK_CASE(test_import_tolerates_bom_crlf_and_blank_lines_and_orders_numbers),
      CHECK_CASE(test_bad_csv_rows_name_the_line_and_column),
      CHECK_CASE(test_import_reads_erp_exports_as_they_come),
      CHECK_CASE(test_import_names_what_the_market_file_does_not_know),
      CHECK_CASE(test_flat_run_replays_and_reconciles_the_history),
      CHECK_CASE(test_pool_key_with_several_senders_reconciles_money_not_units),
      CHECK_CASE(test_shipped_history_reconciles_exactly),
      CHECK_CASE(test_decimals_in_a_scenario_are_errors),
      CHECK_CASE(test_bad_calibrations_and_histories_fail),
      CHECK_CASE(test_import_cli_writes_one_file_per_elasticity),
      CHECK_CASE(test_shipped_history_imports_at_three_elasticities),
      CHECK_CASE(test_outside_options_and_fixed_costs),
      CHECK_CASE(test_shipped_scenario_loads),
  };
  return check_run(cases, sizeof cases / sizeof cases[0], argc, argv);
}
