#!/usr/bin/env bash
# End-to-end test of the reports of `imx-sim run`: the terminal summary, the
# JSON object (--json), the CSV files and the HTML report (--out DIR), on a
# small scenario whose figures are worked out by hand below, on the shipped
# examples/scenario.json and on the shipped history (examples/history.csv);
# the HTML is rendered in headless Chromium. JSON is checked with jq.
# usage: test_sim_report.sh IMX_SIM SOURCE_DIR IMXD
set -u
sim=$1
src=$2
. "$(dirname "$0")/lib.sh"

# The small scenario: two auction services, four periods, truthful agents.
#   it.helpdesk.hour, flat rate per_unit 80.00: CC-1100 (values 120, 90, 40)
#   takes 2 units from CC-4100 (costs 50, 60, 70), CC-1200 (100, 30) takes 1
#   from CC-4200 (80, 90): worth 310, cost 190, surplus 120 a period.
#   payroll.run, headcount key (free at the margin): CC-1100 (300) and CC-1300
#   (220) take one run each from CC-5100 (200, 250): surplus 520 - 450 = 70,
#   and the second run (worth 220, cost 250) is waste: 1 unit, 30.00.
#   Best possible: 120-50, 100-60, 90-70 = 130 and 300-200 = 100: 230.
# Over 4 periods: flat surplus 760.00 of 920.00 (82.61 %), charges
# 4 x (3 x 80 + 450) = 2760.00, 20 units, waste 4 units 120.00. Truthful
# agents in call auctions trade every unit worth more than it costs: the
# market's surplus is the maximum, 920.00 (100.00 %), 16 units.
cat >"$tmp/small.json" <<'EOF'
{"description":"report test","currency":"EUR","periods":4,"seed":7,"agents":"truthful",
 "services":[{"id":"it.helpdesk.hour","unit":"hour","mode":"auction"},
             {"id":"payroll.run","unit":"run","mode":"auction"}],
 "providers":[{"cc":"CC-4100","site":"Nord","service":"it.helpdesk.hour","costs":[5000,6000,7000]},
              {"cc":"CC-4200","site":"Süd","service":"it.helpdesk.hour","costs":[8000,9000]},
              {"cc":"CC-5100","site":"Nord","service":"payroll.run","costs":[20000,25000]}],
 "receivers":[{"cc":"CC-1100","site":"Nord","headcount":60,"service":"it.helpdesk.hour","values":[12000,9000,4000],"budget":5000000},
              {"cc":"CC-1200 <&\"x>","site":"a,\"b\"","headcount":10,"service":"it.helpdesk.hour","values":[10000,3000],"budget":2000000},
              {"cc":"CC-1100","site":"Nord","headcount":60,"service":"payroll.run","values":[30000],"budget":5000000},
              {"cc":"CC-1300","site":"Süd","headcount":40,"service":"payroll.run","values":[22000],"budget":3000000}],
 "flat_rate":[{"service":"it.helpdesk.hour","key":"per_unit","rate":8000,
               "home":{"CC-1100":"CC-4100","CC-1200 <&\"x>":"CC-4200"}},
              {"service":"payroll.run","key":"headcount","home":{"CC-1100":"CC-5100","CC-1300":"CC-5100"}}]}
EOF
small=$tmp/small.json
scenario=$src/examples/scenario.json
history=$src/examples/history.csv
have_jq=0
command -v jq >/dev/null 2>&1 && have_jq=1
# CI installs jq (imx-dev test): there, every JSON check must run.
[ "$have_jq" -eq 1 ] || [ "${CI:-}" != true ] || check jq_is_installed false

# ------------------------------------------------------------ terminal

"$sim" run "$small" >"$tmp/small.txt" 2>"$tmp/small.err"
small_rc=$?

row_is() { # file, label, the row's three figures
  grep -Eq "^  $2 +$3 +$4 +$5\$" "$1" ||
    { echo "  no row '$2 $3 $4 $5' in:"; cat "$1"; return 1; }
}

small_summary_has_the_hand_computed_figures() {
  [ "$small_rc" -eq 0 ] || { cat "$tmp/small.err"; return 1; }
  local f=$tmp/small.txt
  grep -q '^Flat rate vs market: 4 periods, 2 services, 6 cost centres (3 providers, 3 receivers), money in EUR$' "$f" &&
    grep -q '^Market run: agents truthful, seed 7; ' "$f" &&
    row_is "$f" surplus 760.00 920.00 '\+160.00' &&
    row_is "$f" 'max surplus' 920.00 920.00 0.00 &&
    row_is "$f" efficiency '82.61 %' '100.00 %' '\+17.39 pp' &&
    row_is "$f" units 20 16 -4 &&
    row_is "$f" 'waste units' 4 0 -4 &&
    row_is "$f" waste 120.00 0.00 -120.00 &&
    grep -Eq '^  it\.helpdesk\.hour +auction +12 +12 +80\.00 .*92\.31 % +100\.00 % +60\.00 %$' "$f" &&
    grep -Eq '^  payroll\.run +auction +8 +4 +225\.00 .*70\.00 % +100\.00 % +50\.00 %$' "$f"
}
check small_summary_has_the_hand_computed_figures small_summary_has_the_hand_computed_figures

# The same scenario in yen: the same minor units, shown with no decimals (a
# yen has none), through the formatter every money figure goes through.
yen_summary_has_no_decimals() {
  sed 's/"currency":"EUR"/"currency":"JPY"/' "$small" >"$tmp/small-jpy.json"
  "$sim" run "$tmp/small-jpy.json" >"$tmp/small-jpy.txt" 2>&1 || { cat "$tmp/small-jpy.txt"; return 1; }
  local f=$tmp/small-jpy.txt
  grep -q ' money in JPY$' "$f" &&
    row_is "$f" surplus 76000 92000 '\+16000' &&
    row_is "$f" waste 12000 0 -12000 &&
    grep -Eq '^  it\.helpdesk\.hour +auction +12 +12 +8000 ' "$f"
}
check a_currency_without_decimals_is_shown_without yen_summary_has_no_decimals

# Cross-subsidy = flat-rate charge - use share (the service's charges of the
# period split by units consumed). Payroll: CC-1100 (headcount 60) and
# CC-1300 (40) take one run each of the 450.00 pool: charged 270.00 and
# 180.00, use share 225.00 each; over 4 periods CC-1100 +180.00, CC-1300
# -180.00. The helpdesk's per_unit key charges by use: no cross-subsidy.
# Winners and losers net to zero.
cross_subsidy_is_charge_minus_use_share() {
  "$sim" run "$small" --json >"$tmp/small.json.out" || return 1
  jq -e '(.cost_centres[] | select(.id=="CC-1300") | .cross_subsidy == -18000
            and .use_share == 90000 and .flat_rate.paid == 72000)
     and (.cost_centres[] | select(.id=="CC-1100") | .cross_subsidy == 18000)
     and ([.cost_centres[] | select(.receiver) | .cross_subsidy] | add) == 0
     and ([.cost_centres[] | select(.receiver) | .use_share] | add) == .flat_rate.charges
     and .summary.cross_subsidy_paid == 18000 and .summary.cross_subsidy_payers == 1
     and .summary.charges_net_for_group == 0' \
    "$tmp/small.json.out" >/dev/null || { echo "  wrong cross-subsidy"; return 1; }
  grep -A1 '^  pays for others' "$tmp/small.txt" | grep -Eq 'CC-1100 +\+180\.00 +CC-1300 +-180\.00$' ||
    { echo "  no 'CC-1100 +180.00  CC-1300 -180.00' in the summary"; cat "$tmp/small.txt"; return 1; }
}
if [ "$have_jq" -eq 1 ]; then
  check cross_subsidy_is_charge_minus_use_share_and_nets_to_zero cross_subsidy_is_charge_minus_use_share
else
  skip cross_subsidy_is_charge_minus_use_share_and_nets_to_zero "jq is not installed"
fi

# The summary for the board, in words and money, then the assumptions: on
# the terminal wrapped under a heading, in the JSON one string a sentence.
small_summary_speaks_to_the_board() {
  grep -qx 'Summary for the board' "$tmp/small.txt" &&
    grep -q '^  - Surplus gained (the worth' "$tmp/small.txt" &&
    grep -q '^Assumptions: scenario ' "$tmp/small.txt" || { head -20 "$tmp/small.txt"; return 1; }
  [ "$have_jq" -eq 1 ] || return 0
  "$sim" run "$small" --json >"$tmp/sum.json" || return 1
  jq -e --arg f "$small" '.summary as $s | $s.text as $t
    | $s.surplus_gained == 16000 and $s.waste_removed == 12000 and $s.waste_units_removed == 4
      and $s.charges_change == (.market.charges - .flat_rate.charges)
      and ($t[0] | startswith("Surplus gained (the worth of what receivers used minus the cost of making it): +160.00 EUR over 4 periods; efficiency 82.61 % under the flat rate, 100.00 % in the market"))
      and ($t[1] | startswith("Waste removed: 4 units that cost more to make than they were worth to those who used them, 120.00 EUR of real resources saved"))
      and ($t[2] | test("^Capacity use: .*the fixed cost of idle capacity included: .*saved only when idle capacity is cut"))
      and ($t[3] | startswith("Internal charges: 2,760.00 EUR under the flat rate") and
                   contains("transfers between cost centres of one group and net to zero for it: lower charges are not a saving in themselves"))
      and $t[4] == "Cross-subsidy under the flat rate: 1 receiving cost centre paid 180.00 EUR for others'"'"' use; the others paid as much less (winners and losers net to zero)."
      and .assumptions == {"scenario":$f,"history":null,"market":null,"elasticity":null,
            "agents":"truthful","seed":7,"rounds":30,"periods":4,"labels":["1","2","3","4"],
            "text":("scenario " + $f + "; demand as the scenario'"'"'s values; agents truthful, seed 7, rounds 30; 4 periods; money in EUR")}' \
    "$tmp/sum.json" >/dev/null || { jq '.summary, .assumptions' "$tmp/sum.json"; return 1; }
}
check small_summary_speaks_to_the_board small_summary_speaks_to_the_board

example_summary_has_every_row() {
  [ -f "$scenario" ] || { echo "  missing $scenario"; return 1; }
  "$sim" run "$scenario" >"$tmp/ex.txt" 2>"$tmp/ex.err" || { cat "$tmp/ex.err"; return 1; }
  local label
  for label in surplus 'max surplus' efficiency units charges 'waste units' waste utilisation; do
    grep -Eq "^  $label +-?[0-9]" "$tmp/ex.txt" || { echo "  no row '$label'"; return 1; }
  done
  grep -Eq '^ +flat rate +market +change$' "$tmp/ex.txt" &&
    grep -q '^Cross-subsidy per receiver' "$tmp/ex.txt" &&
    grep -q '^Provider income: market - flat rate$' "$tmp/ex.txt" || return 1
  if [ "$have_jq" -eq 1 ]; then # one row per service
    for id in $(jq -r '.services[].id' "$scenario"); do
      grep -Eq "^  ${id//./\\.} +(auction|continuous) " "$tmp/ex.txt" ||
        { echo "  no row for service $id"; return 1; }
    done
  fi
  local n
  n=$(wc -l <"$tmp/ex.txt")
  [ "$n" -le 60 ] || { echo "  $n lines: too long for a terminal"; return 1; }
}
check example_summary_has_every_row example_summary_has_every_row

# ------------------------------------------------------------ JSON

# The required keys, the ratios against their parts, and the totals against
# the sums over services, periods and cost centres.
json_is_consistent() { # file
  jq -e '
    def close(a; b): (a - b) | fabs < 0.0000006;
    def ratio(n; d): if d == 0 then null else n / d end;
    . as $r
    | (.scenario | has("periods") and has("services") and has("cost_centres")
        and has("agents") and has("seed") and has("currency"))
    and ([.market.orders, .market.trades, .market.rejected] | all(type == "number"))
    and all(("flat_rate", "market") as $k | $r[$k]
        | has("surplus") and has("max_surplus") and has("efficiency")
          and has("units") and has("charges") and has("waste_units") and has("waste"))
    and all(("flat_rate", "market") as $k |
        ($r[$k] as $t
         | (if $t.max_surplus == 0 then $t.efficiency == null
            else close($t.efficiency; $t.surplus / $t.max_surplus) end)
         and $t.units == ([$r.services[][$k].units] | add)
         and $t.charges == ([$r.services[][$k].charges] | add)
         and $t.surplus == ([$r.services[][$k].surplus] | add)
         and $t.waste_units == ([$r.services[][$k].waste_units] | add)
         and $t.units == ([$r.services[].periods[][$k].units] | add)
         and $t.charges == ([$r.services[].periods[][$k].charges] | add)
         and $t.units == ([$r.periods[][$k].units] | add)
         and $t.charges == ([$r.cost_centres[][$k].paid] | add)
         and $t.charges == ([$r.cost_centres[][$k].received] | add)
         and $t.units == ([$r.cost_centres[][$k].consumed] | add)))
    and .flat_rate.max_surplus == .market.max_surplus
    and .flat_rate.max_surplus == ([.services[].periods[].max_surplus] | add)
    and (.services | length) == .scenario.services
    and (.cost_centres | length) == .scenario.cost_centres
    and all(.services[]; (.periods | length) == $r.scenario.periods)
    and all(.cost_centres[]; .market.net == .market.received - .market.paid)
  ' "$1" >/dev/null || { echo "  $1 fails the consistency checks"; return 1; }
}

small_json_has_the_hand_computed_figures() {
  local f=$tmp/small.json.out
  jq -e '.flat_rate.surplus == 76000 and .flat_rate.max_surplus == 92000
    and .flat_rate.efficiency == 0.826087 and .flat_rate.units == 20
    and .flat_rate.charges == 276000 and .flat_rate.waste_units == 4
    and .flat_rate.waste == 12000 and .market.surplus == 92000
    and .market.efficiency == 1 and .market.units == 16
    and .scenario == {"periods":4,"services":2,"cost_centres":6,"providers":3,
                      "receivers":3,"agents":"truthful","seed":7,"currency":"EUR"}
    and (.cost_centres[] | select(.id == "CC-1300")
         | .flat_rate.paid == 72000 and .budget == 12000000
           and .use_share == 90000 and .income_change == null)
    and (.cost_centres[] | select(.id == "CC-4200")
         | .flat_rate.received == 32000 and .capacity == 8
           and .flat_rate.utilisation == 0.5 and .cross_subsidy == null)' \
    "$f" >/dev/null || { echo "  wrong figures in $f"; return 1; }
  # Ratios are printed with exactly six places, never as floats.
  grep -q '"efficiency":0.826087,' "$f" && grep -q '"utilisation":0.500000,' "$f"
}

if [ "$have_jq" -eq 1 ]; then
  check small_json_is_consistent json_is_consistent "$tmp/small.json.out"
  check small_json_has_the_hand_computed_figures small_json_has_the_hand_computed_figures
  example_json() {
    "$sim" run "$scenario" --json >"$tmp/ex.json" 2>"$tmp/ex.err" || { cat "$tmp/ex.err"; return 1; }
    [ "$(jq -s length "$tmp/ex.json")" = 1 ] || { echo "  not one JSON object"; return 1; }
    json_is_consistent "$tmp/ex.json"
  }
  check example_json_is_one_consistent_object example_json
  history_json() {
    [ -f "$history" ] || { echo "  missing $history"; return 1; }
    "$sim" run --history "$history" --json >"$tmp/hist.json" 2>"$tmp/hist.err" ||
      { cat "$tmp/hist.err"; return 1; }
    [ "$(jq -s length "$tmp/hist.json")" = 1 ] || { echo "  not one JSON object"; return 1; }
    json_is_consistent "$tmp/hist.json" &&
      jq -e '.scenario.cost_centres >= 30 and .scenario.services >= 6
             and .scenario.periods >= 12' "$tmp/hist.json" >/dev/null
  }
  check history_json_is_one_consistent_object history_json
else
  if command -v python3 >/dev/null 2>&1; then
    valid() { "$sim" run "$small" --json | python3 -m json.tool >/dev/null; }
    check small_json_is_valid valid
  fi
  if [ "${CI:-}" = true ]; then
    check jq_is_installed false
  else
    skip json_consistency "jq is not installed"
  fi
fi

# ------------------------------------------------------------ files

csv_and_html_are_written() {
  "$sim" run "$small" --out "$tmp/out" >"$tmp/out.txt" 2>"$tmp/out.err" ||
    { cat "$tmp/out.err"; return 1; }
  grep -qx "report: $tmp/out/report.html" "$tmp/out.txt" || return 1
  local d=$tmp/out
  [ "$(head -1 "$d/periods.csv")" = \
    "run,period,service,units,charges,price,surplus,max_surplus,waste_units,waste" ] &&
  [ "$(head -1 "$d/services.csv")" = \
    "run,service,unit,mode,units,charges,price,surplus,max_surplus,efficiency,waste_units,waste,capacity,utilisation" ] &&
  [ "$(head -1 "$d/cost_centres.csv")" = \
    "cc,site,headcount,provider,receiver,budget,capacity,flat_consumed,flat_produced,flat_paid,flat_received,flat_net,flat_worth,flat_cost,flat_utilisation,flat_budget_use,market_consumed,market_produced,market_paid,market_received,market_net,market_worth,market_cost,market_utilisation,market_budget_use,income_change,use_share,cross_subsidy" ] ||
    { echo "  wrong CSV header"; head -1 "$d"/*.csv; return 1; }
  # 2 runs x 4 periods x 2 services; 2 runs x 2 services; 6 cost centres.
  [ "$(wc -l <"$d/periods.csv")" -eq 17 ] && [ "$(wc -l <"$d/services.csv")" -eq 5 ] &&
    [ "$(wc -l <"$d/cost_centres.csv")" -eq 7 ] || { wc -l "$d"/*.csv; return 1; }
  grep -qx 'flat,1,payroll.run,2,450.00,225.00,70.00,100.00,1,30.00' "$d/periods.csv" &&
    grep -qx 'flat,it.helpdesk.hour,hour,auction,12,960.00,80.00,480.00,520.00,0.923077,0,0.00,20,0.600000' "$d/services.csv" ||
    { echo "  hand-computed rows missing"; return 1; }
  # RFC 4180: the id with a quote and the site with a comma are quoted.
  grep -q '^"CC-1200 <&""x>","a,""b""",10,0,1,80000.00,0,' "$d/cost_centres.csv" ||
    { echo "  CSV quoting"; return 1; }
}
check csv_and_html_are_written csv_and_html_are_written

html_is_self_contained() { # file
  local f=$1
  [ -s "$f" ] || return 1
  ! grep -Eiq 'http://|https://|src=|<link|<script|@import|url\(' "$f" ||
    { echo "  external reference in $f"; grep -Eio '.{20}(http://|https://|src=|<link|<script|@import|url\().{20}' "$f" | head -3; return 1; }
  [ "$(grep -o '<svg' "$f" | wc -l)" -eq 5 ] || { echo "  want 5 charts"; return 1; }
  [ "$(grep -o '</svg>' "$f" | wc -l)" -eq 5 ] &&
    grep -q '^<!DOCTYPE html>' "$f" && grep -q '</html>$' "$f"
}
check html_is_self_contained_with_five_charts html_is_self_contained "$tmp/out/report.html"

names_are_escaped_in_html() {
  grep -q 'CC-1200 &lt;&amp;&quot;x&gt;' "$tmp/out/report.html" &&
    ! grep -q 'CC-1200 <' "$tmp/out/report.html"
}
check names_are_escaped_in_html names_are_escaped_in_html

same_seed_same_bytes() {
  [ -f "$scenario" ] || { echo "  missing $scenario"; return 1; }
  local k
  for k in a b; do
    "$sim" run "$scenario" --seed 11 --json --out "$tmp/det-$k" >"$tmp/det-$k.json" \
      2>/dev/null || return 1
  done
  cmp "$tmp/det-a.json" "$tmp/det-b.json" &&
    for f in periods.csv services.csv cost_centres.csv report.html; do
      cmp "$tmp/det-a/$f" "$tmp/det-b/$f" || return 1
    done
}
check same_seed_gives_identical_json_csv_html same_seed_same_bytes

example_files() {
  [ -d "$tmp/det-a" ] || return 1
  local n want
  n=$(wc -l <"$tmp/det-a/periods.csv")
  if [ "$have_jq" -eq 1 ]; then
    want=$(jq '2 * .scenario.periods * .scenario.services + 1' "$tmp/det-a.json")
    [ "$n" -eq "$want" ] || { echo "  periods.csv has $n lines, want $want"; return 1; }
    # The CSV's decimals add up to the JSON's minor units.
    local csv json
    csv=$(awk -F, 'NR > 1 && $1 == "market" { gsub(/\./, "", $5); s += $5 } END { print s + 0 }' \
          "$tmp/det-a/periods.csv")
    json=$(jq '.market.charges' "$tmp/det-a.json")
    [ "$csv" = "$json" ] || { echo "  CSV charges $csv, JSON $json"; return 1; }
  fi
  html_is_self_contained "$tmp/det-a/report.html"
}
check example_files_have_one_row_per_run_period_service example_files

# ------------------------------------------------------------ Chromium

chromium=$(command -v chromium || command -v chromium-browser || true)
render() { # html file, png out, dom out
  local profile
  profile=$(mktemp -d "$tmp/profile.XXXXXX")
  local flags=(--headless --no-sandbox --disable-gpu --disable-quic --no-first-run
               --disable-background-networking --disable-component-update
               --disable-sync "--user-data-dir=$profile")
  timeout 60 "$chromium" "${flags[@]}" --screenshot="$2" --window-size=1280,4000 \
    "file://$1" >"$tmp/chromium.log" 2>&1 || { tail -5 "$tmp/chromium.log"; return 1; }
  timeout 60 "$chromium" "${flags[@]}" --dump-dom "file://$1" >"$3" 2>>"$tmp/chromium.log" ||
    { tail -5 "$tmp/chromium.log"; return 1; }
}
html_renders_in_chromium() {
  local html=$tmp/det-a/report.html
  [ -f "$html" ] || html=$tmp/out/report.html
  render "$html" "$tmp/report.png" "$tmp/dom.html" || return 1
  [ "$(head -c 8 "$tmp/report.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    { echo "  not a PNG"; return 1; }
  [ "$(wc -c <"$tmp/report.png")" -gt 20000 ] || { echo "  PNG too small"; return 1; }
  [ "$(grep -o '<svg' "$tmp/dom.html" | wc -l)" -eq 5 ] &&
    grep -q '<polyline' "$tmp/dom.html" && grep -q '<rect' "$tmp/dom.html" &&
    grep -q 'Key figures' "$tmp/dom.html" || { echo "  charts missing from the DOM"; return 1; }
  [ -z "${IMX_KEEP_PNG:-}" ] || cp "$tmp/report.png" "$IMX_KEEP_PNG"
}
if [ -n "$chromium" ]; then
  check html_renders_in_headless_chromium html_renders_in_chromium
elif [ "${CI:-}" = true ]; then
  check chromium_is_installed false
else
  skip html_renders_in_headless_chromium "chromium is not installed (apt-get install chromium)"
fi

# ------------------------------------------------------------ PDF

# --pdf prints the HTML report with headless Chromium: a PDF of a few pages
# whose text is the report's (pdfinfo and pdftotext from poppler-utils).
pdf_is_the_report() {
  "$sim" run "$small" --out "$tmp/pdf" --pdf "$tmp/report.pdf" >"$tmp/pdf.txt" 2>"$tmp/pdf.err" ||
    { cat "$tmp/pdf.err"; return 1; }
  grep -qx "pdf: $tmp/report.pdf" "$tmp/pdf.txt" || return 1
  local pages
  pages=$(pdfinfo "$tmp/report.pdf" | awk '/^Pages:/ { print $2 }')
  [ "${pages:-0}" -ge 2 ] && [ "$pages" -le 8 ] || { echo "  $pages pages"; return 1; }
  pdftotext -layout "$tmp/report.pdf" "$tmp/report.pdf.txt" || return 1
  grep -q 'Summary for the board' "$tmp/report.pdf.txt" &&
    grep -q 'Surplus gained (the worth' "$tmp/report.pdf.txt" &&
    grep -q 'net to zero' "$tmp/report.pdf.txt" &&
    grep -q 'Assumptions:' "$tmp/report.pdf.txt" &&
    grep -q 'Key figures' "$tmp/report.pdf.txt" ||
    { echo "  the PDF's text is not the report's"; head -30 "$tmp/report.pdf.txt"; return 1; }
}
pdf_without_chromium_says_so() {
  IMX_CHROMIUM=/nonexistent/chromium "$sim" run "$small" --out "$tmp/pdf2" \
    --pdf "$tmp/no.pdf" >/dev/null 2>"$tmp/nopdf.err"
  local rc=$?
  [ "$rc" -eq 1 ] && grep -q 'is not installed (Debian: apt-get install chromium' "$tmp/nopdf.err" &&
    [ ! -e "$tmp/no.pdf" ] || { echo "  rc $rc"; cat "$tmp/nopdf.err"; return 1; }
  "$sim" run "$small" --pdf "$tmp/no.pdf" >/dev/null 2>"$tmp/nopdf.err"
  rc=$?
  [ "$rc" -eq 2 ] && grep -q -- '--pdf prints the HTML report that --out DIR writes' "$tmp/nopdf.err" ||
    { echo "  rc $rc"; cat "$tmp/nopdf.err"; return 1; }
}
check pdf_without_chromium_or_out_is_a_clear_error pdf_without_chromium_says_so
if [ -n "$chromium" ] && command -v pdfinfo >/dev/null && command -v pdftotext >/dev/null; then
  check pdf_has_the_reports_pages_and_text pdf_is_the_report
elif [ "${CI:-}" = true ]; then
  check chromium_and_poppler_utils_are_installed false
else
  skip pdf_has_the_reports_pages_and_text "chromium or poppler-utils is not installed"
fi

# ------------------------------------------------------------ death spiral

# examples/death-spiral.json: under the flat rate the departments leave one
# a period and the charge per department left rises; in the market all five
# keep buying. The README shows the table: it must be what the run prints.
death_spiral_spirals_under_the_flat_rate_only() {
  local f=$src/examples/death-spiral.json
  "$sim" run "$f" >"$tmp/ds.txt" 2>"$tmp/ds.err" || { cat "$tmp/ds.err"; return 1; }
  "$sim" run "$f" --json >"$tmp/ds.json" || return 1
  jq -e '[.outside[0].periods[] | .inside] == [5,4,3,2,1,0]
     and [.outside[0].periods[] | .market_buying] == [5,5,5,5,5,5]
     and [.outside[0].periods[] | .charge_per_inside] == [2000000,2450000,3200000,4700000,9200000,null]
     and [.outside[0].periods[] | .leaving | length] == [1,1,1,1,1,0]
     and .outside[0].periods[0].leaving == ["CC-1100"]' "$tmp/ds.json" >/dev/null ||
    { echo "  no spiral in the JSON"; jq -c '.outside' "$tmp/ds.json"; return 1; }
  json_is_consistent "$tmp/ds.json" || return 1
  # The market keeps all five at 450.00 a workplace, a call of truthful agents.
  jq -e '[.services[0].periods[].market.price] == [45000,45000,45000,45000,45000,45000]
     and .flat_rate.efficiency == 0.586957 and .market.efficiency == 1' "$tmp/ds.json" >/dev/null ||
    { echo "  wrong market figures"; return 1; }
  readme_block() { awk -v first="$1" 'index($0, first) == 1 { on = 1 } on && /^```/ { exit }
                   on { print }' "$src/README.md"; }
  readme_block 'Outside suppliers, it.workplace' >"$tmp/readme-ds.txt"
  [ "$(wc -l <"$tmp/readme-ds.txt")" -eq 9 ] || { echo "  no spiral table in README.md"; return 1; }
  diff <(sed -n '/^Outside suppliers, it.workplace/,/^$/p' "$tmp/ds.txt" | sed '/^$/d') \
    "$tmp/readme-ds.txt" &&
    grep -q '^  - Outside suppliers: under the flat rate 5 of the 5 receivers' "$tmp/ds.txt"
}
if [ "$have_jq" -eq 1 ]; then
  check death_spiral_spirals_under_the_flat_rate_only death_spiral_spirals_under_the_flat_rate_only
else
  skip death_spiral_spirals_under_the_flat_rate_only "jq is not installed"
fi

# ------------------------------------------------- the README's examples

# The README shows the demo's summary and sensitivity table: every line of
# those blocks must be what the commands print (the README's "report:" paths
# are the demo's out/ folder, so those lines are left out).
readme_block() { # the first line of a fenced block -> the block
  awk -v first="$1" '
    index($0, first) == 1 { on = 1 }
    on && /^```/ { exit }
    on { print }' "$src/README.md"
}
readme_summary_is_what_the_demo_prints() {
  # From the source folder, so that the assumptions name the files as the
  # README's commands do.
  local demo=("$sim" run --history examples/history.csv --market examples/market.json
              --mode auction --no-progress)
  (cd "$src" && "${demo[@]}" --elasticity 0.5) >"$tmp/demo.txt" || return 1
  (cd "$src" && "${demo[@]}" --elasticity 0.5 --elasticity 0.25 --elasticity 1 --elasticity 2) \
    >"$tmp/sens.txt" || return 1
  # Without --out nothing is written.
  [ ! -e "$src/(null)" ] || { echo "  wrote into $src/(null)"; return 1; }
  readme_block 'Flat rate vs market: 12 periods' | grep -v '^report' >"$tmp/readme-demo.txt"
  readme_block 'sensitivity to the assumed' | grep -v '^report\|^each\|^pdf' >"$tmp/readme-sens.txt"
  [ "$(wc -l <"$tmp/readme-demo.txt")" -gt 30 ] || { echo "  no summary in README.md"; return 1; }
  [ "$(wc -l <"$tmp/readme-sens.txt")" -eq 6 ] || { echo "  no sensitivity table in README.md"; return 1; }
  diff <(grep -v '^report' "$tmp/demo.txt") "$tmp/readme-demo.txt" &&
    # The range's run is the same report, then the range.
    diff "$tmp/demo.txt" \
      <(sed -n '/^sensitivity to the assumed/q; p' "$tmp/sens.txt" | sed '$d') &&
    diff <(sed -n '/^sensitivity to the assumed/,$p' "$tmp/sens.txt" | grep -v '^report\|^each') \
      "$tmp/readme-sens.txt"
}
check readme_summary_is_what_the_demo_prints readme_summary_is_what_the_demo_prints
readme_scenario_is_the_shipped_file() {
  readme_block '  "description": "Nordwerk Group in small' >"$tmp/readme-scenario.json"
  [ -s "$tmp/readme-scenario.json" ] || { echo "  no scenario in README.md"; return 1; }
  diff <(sed 1d "$scenario") "$tmp/readme-scenario.json"
}
check readme_scenario_is_the_shipped_file readme_scenario_is_the_shipped_file

# ------------------------------------------------------ reconciliation

# The flat run on an imported history replays it: the shipped history is
# reproduced to the cent, every line (issue 15).
plain=$src/tests/sim/history-plain.csv
shipped_history_reconciles_to_the_cent() {
  "$sim" run --history "$history" --elasticity 0.5 --no-progress --out "$tmp/rec" \
    >"$tmp/rec.txt" 2>"$tmp/rec.err" || { cat "$tmp/rec.err"; return 1; }
  grep -qx 'Reconciliation: the flat rate against the history (1092 lines, 4010127.38)' "$tmp/rec.txt" &&
    grep -qx '  reproduced to the cent: 1092 of 1092 lines (100.00 %), 4010127.38 (100.00 % of the history'"'"'s amount)' "$tmp/rec.txt" &&
    row_is "$tmp/rec.txt" charges 4010127.38 '[0-9.]+' '-[0-9.]+' ||
    { echo "  no reconciliation in:"; head -8 "$tmp/rec.txt"; return 1; }
  # reconciliation.csv: every line, all exact, summing to the history.
  local f=$tmp/rec/reconciliation.csv
  [ "$(head -1 "$f")" = "period,label,service,receiver,sender,history_units,history_amount,flat_units,flat_amount,exact,cause" ] &&
    [ "$(wc -l <"$f")" -eq 1093 ] &&
    [ "$(awk -F, 'NR > 1 && $10 == 1' "$f" | wc -l)" -eq 1092 ] &&
    [ "$(awk -F, 'NR > 1 { gsub(/\./, "", $7); s += $7 } END { print s }' "$f")" = 401012738 ] &&
    grep -q '^1,2026-01,it.helpdesk.hour,CC-1100,CC-4100,34,2890.00,34,2890.00,1,$' "$f" ||
    { echo "  wrong $f"; head -3 "$f"; return 1; }
  # The history, summed here from the CSV, is the flat run's charges.
  local want
  want=$(awk -F, 'NR > 1 { a = $6; sub(/\./, "", a); s += a } END { print s }' "$history")
  [ "$want" = 401012738 ] || { echo "  history sums to $want"; return 1; }
  grep -q 'Reconciliation with the history' "$tmp/rec/report.html" &&
    grep -q 'Every line agrees' "$tmp/rec/report.html"
}
check shipped_history_reconciles_to_the_cent shipped_history_reconciles_to_the_cent

# A history the model cannot reproduce: R2's hours in period "10" came from
# P1 (2) and P2 (3); the flat run serves R2 from its home P2 (capacity 4).
# Every difference is listed with its cause, in the text, the CSV, the JSON
# and the HTML, and the summary says how much is reproduced.
differences_are_listed_with_their_cause() {
  "$sim" run --history "$plain" --elasticity 0.5 --no-progress --out "$tmp/diff" \
    >"$tmp/diff.txt" 2>"$tmp/diff.err" || { cat "$tmp/diff.err"; return 1; }
  local f=$tmp/diff.txt
  grep -qx '  reproduced to the cent: 6 of 8 lines (75.00 %), 1434.56 (96.63 % of the history'"'"'s amount)' "$f" &&
    grep -Eq '^  10 +svc\.a +R2 +P1 +2 +20\.00 +0 +0\.00  sender$' "$f" &&
    grep -Eq '^  10 +svc\.a +R2 +P2 +3 +30\.00 +4 +40\.00  sender$' "$f" ||
    { echo "  no differences in:"; head -12 "$f"; return 1; }
  grep -qx '3,10,svc.a,R2,P1,2,20.00,0,0.00,0,sender' "$tmp/diff/reconciliation.csv" &&
    grep -qx '3,10,svc.b,R2,P3,1,50.00,1,50.00,1,' "$tmp/diff/reconciliation.csv" ||
    { echo "  wrong reconciliation.csv"; cat "$tmp/diff/reconciliation.csv"; return 1; }
  grep -q '<td>10</td><td class="l">svc.a</td><td class="l">R2</td><td class="l">P1</td>' \
    "$tmp/diff/report.html" &&
    grep -q 'the flat run serves every unit from the home' "$tmp/diff/report.html" ||
    { echo "  no difference table in report.html"; return 1; }
  [ "$have_jq" -eq 1 ] || return 0
  "$sim" run --history "$plain" --elasticity 0.5 --no-progress --json >"$tmp/diff.json" &&
    jq -e '.reconciliation | .history_lines == 8 and .lines == 8 and .exact_lines == 6
           and .history_amount == 148456 and .exact_amount == 143456
           and .flat_amount == 147456 and .exact_share == 0.96632
           and (.differences | length) == 2
           and all(.differences[]; .cause == "sender" and .period == 3 and .label == "10")' \
      "$tmp/diff.json" >/dev/null && json_is_consistent "$tmp/diff.json"
}
check differences_are_listed_with_their_cause differences_are_listed_with_their_cause

# A market file that does not know the history's names: a warning naming
# them, the run goes on; the shipped pair fits without one.
market_misfit_is_a_warning() {
  "$sim" run --history "$plain" --market "$src/examples/market.json" --no-progress \
    >"$tmp/mis.txt" 2>"$tmp/mis.err" || { cat "$tmp/mis.err"; return 1; }
  grep -qx 'imx-sim run: warning: '"$src"'/examples/market.json does not know 7 of the history'"'"'s names (cost centres P1, R1, R2, P2, P3; services svc.a, svc.b): they get the defaults (no site; unit "unit", tick 1)' \
    "$tmp/mis.err" || { echo "  no warning:"; cat "$tmp/mis.err"; return 1; }
  "$sim" run --history "$history" --market "$src/examples/market.json" --no-progress \
    >/dev/null 2>"$tmp/mis2.err" || { cat "$tmp/mis2.err"; return 1; }
  # The shipped market file knows every name of the shipped history.
  [ ! -s "$tmp/mis2.err" ] || { echo "  the demo warns:"; cat "$tmp/mis2.err"; return 1; }
}
check market_misfit_is_a_warning market_misfit_is_a_warning

# The ERP exports of tests/sim/ run like the plain file.
erp_exports_run_like_the_plain_file() {
  local f
  "$sim" run --history "$plain" --elasticity 0.5 --json >"$tmp/erp-plain.json" || return 1
  for f in history-erp-de.csv history-erp-en.csv; do
    "$sim" run --history "$src/tests/sim/$f" --elasticity 0.5 --json >"$tmp/erp.json" ||
      return 1
    # All but the assumptions, which name the file.
    cmp <(jq -c 'del(.assumptions)' "$tmp/erp-plain.json") <(jq -c 'del(.assumptions)' "$tmp/erp.json") ||
      { echo "  $f differs"; return 1; }
  done
}
check erp_exports_run_like_the_plain_file erp_exports_run_like_the_plain_file

# ------------------------------------------------------------ bad use

exits_with() { # status, message pattern, then the arguments of imx-sim
  local want=$1 pattern=$2
  shift 2
  "$sim" "$@" >"$tmp/bad.out" 2>"$tmp/bad.err"
  local rc=$?
  [ "$rc" -eq "$want" ] || { echo "  exit $rc, want $want"; cat "$tmp/bad.err"; return 1; }
  grep -q -- "$pattern" "$tmp/bad.err" || { echo "  no '$pattern' in:"; cat "$tmp/bad.err"; return 1; }
}
check unknown_option_exits_2 exits_with 2 'unknown option: --colour' run "$small" --colour red
check no_scenario_exits_2 exits_with 2 'give a scenario file' run --json
check missing_scenario_exits_1 exits_with 1 "$tmp/nope.json" run "$tmp/nope.json"
touch "$tmp/a-file"
check out_on_a_file_exits_1 exits_with 1 'not a directory' run "$small" --out "$tmp/a-file"
check out_below_a_file_exits_1 exits_with 1 'cannot create' run "$small" --out "$tmp/a-file/sub"

check bench_beyond_its_limits_exits_2 exits_with 2 'cannot build that group' bench --ccs 1000001
sed 's/"budget":5000000/"budget":50000.00/' "$small" >"$tmp/decimal.json"
check a_decimal_in_a_scenario_exits_1 exits_with 1 \
  'receivers\[0\].budget: is a decimal number: every number in a scenario file is whole, money in minor units (60.00 EUR is 6000)' \
  run "$tmp/decimal.json"
printf 'Periode;Sender;Empf\303\244nger;Leistungsart;Menge;Betrag\n2026-01;P;R;s;1;12,345\n' >"$tmp/bad-de.csv"
check a_bad_erp_amount_names_line_and_column exits_with 1 \
  "bad-de.csv:2: amount (Betrag): more than 2 decimal places" run --history "$tmp/bad-de.csv"

# Inputs that once crashed or overflowed (found in review):
# a ZIP receiver with a unit worth nothing learns nothing from it (it used to
# abort), and takes the 10 units worth 1.00 from the provider at 0.05;
cat >"$tmp/zipzero.json" <<'EOF'
{"periods":1,"services":[{"id":"s","unit":"u","mode":"continuous"}],
 "providers":[{"cc":"P","service":"s","costs":[[10,5]]}],
 "receivers":[{"cc":"A","service":"s","values":[[10,100]]},{"cc":"B","service":"s","values":[0]}],
 "flat_rate":[{"service":"s","key":"per_unit","rate":50}]}
EOF
zip_ignores_a_worthless_unit() {
  "$sim" run "$tmp/zipzero.json" --agents zip >"$tmp/zz.txt" || return 1
  row_is "$tmp/zz.txt" "efficiency" "100.00 %" "100.00 %" "0.00 pp"
}
check zip_ignores_a_worthless_unit zip_ignores_a_worthless_unit
# an efficiency of about -1e17 % (a huge loss against a best of 0.01) is
# printed, charted and written without overflowing.
cat >"$tmp/effneg.json" <<'EOF'
{"periods":1,"services":[{"id":"s","unit":"u","mode":"auction"}],
 "providers":[{"cc":"P","service":"s","costs":[1,[999999,1000000000]]}],
 "receivers":[{"cc":"A","service":"s","values":[2,[999999,1]]}],
 "flat_rate":[{"service":"s","key":"percent","shares_bp":{"A":10000}}]}
EOF
huge_negative_efficiency_is_reported() {
  "$sim" run "$tmp/effneg.json" --agents truthful --out "$tmp/effneg" >"$tmp/en.txt" &&
    "$sim" run "$tmp/effneg.json" --agents truthful --json >"$tmp/en.json" &&
    grep -q '"surplus":-999998999000000,' "$tmp/en.json" &&
    [ -s "$tmp/effneg/report.html" ]
}
check huge_negative_efficiency_is_reported huge_negative_efficiency_is_reported

finish
