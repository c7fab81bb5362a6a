#!/usr/bin/env bash
# End-to-end test of `imx-sim market` and `imx-sim run --connect URL`: the
# market run driven over the protocol against a real imxd must give exactly
# the result of the in-process run (the same engine behind both), for the
# same scenario, agents and seed. Every daemon listens on free loopback
# ports (port 0, read back from its log), keeps its ledger in a temporary
# directory, and is stopped at the end, whatever happens.
# usage: test_sim_connect.sh IMX_SIM SOURCE_DIR IMXD
set -u
sim=$1
src=$2
imxd=$3
imx=$(dirname "$imxd")/imx
. "$(dirname "$0")/lib.sh"

# A scenario of our own: a continuous and an auction service, a cost centre
# on both sides (CC-R2), a budget too small for what CC-R2 wants (its bids
# get insufficient_budget), a demand shock from period 3.
cat >"$tmp/own.json" <<'EOF'
{"description": "test_sim_connect",
 "currency": "EUR", "periods": 4, "seed": 7, "agents": "zi-c",
 "services": [{"id": "it.hour", "unit": "hour", "mode": "continuous", "tick": 100, "price_max": 20000},
              {"id": "truck.day", "unit": "day", "mode": "auction", "tick": 100, "price_max": 60000}],
 "providers": [{"cc": "CC-P1", "site": "A", "service": "it.hour", "costs": [5000, 6000, 7000, 8000]},
               {"cc": "CC-P2", "site": "B", "service": "it.hour", "costs": [5500, 9000]},
               {"cc": "CC-P1", "site": "A", "service": "truck.day", "costs": [30000, 35000, 40000]},
               {"cc": "CC-P3", "service": "truck.day", "costs": [32000, 50000]},
               {"cc": "CC-R2", "site": "B", "service": "truck.day", "costs": [45000]}],
 "receivers": [{"cc": "CC-R1", "site": "A", "headcount": 10, "service": "it.hour", "values": [12000, 10000, 9000, 6000, 4000], "budget": 500000},
               {"cc": "CC-R1", "site": "A", "headcount": 10, "service": "truck.day", "values": [55000, 41000], "budget": 100000},
               {"cc": "CC-R2", "site": "B", "headcount": 5, "service": "it.hour", "values": [15000, 11000, 7000], "budget": 20000},
               {"cc": "CC-R3", "site": "B", "headcount": 20, "service": "truck.day", "values": [58000, 52000, 36000], "budget": 300000}],
 "flat_rate": [{"service": "it.hour", "key": "per_unit", "rate": 7000},
               {"service": "truck.day", "key": "headcount"}],
 "changes": [{"period": 3, "demand": {"service": "it.hour", "percent": 120}}]}
EOF
scenarios=("$tmp/own.json")
[ -f "$src/examples/scenario.json" ] && scenarios+=("$src/examples/scenario.json")
# Quality (issue 13): one poor and one good provider; over imxd every fill
# is rated with rating.new by its buyer when the period closes (where the
# in-process run sets the reputations) and bids carry min_stars 3.5 with
# allow_unrated, so the result, quality block and market shares included,
# is the in-process one byte for byte.
scenarios+=("$src/examples/quality.json")

sha() { printf %s "$1" | sha256sum | cut -d' ' -f1; }

# start_daemon NAME MARKET: sets URL_NAME and PID_NAME.
start_daemon() {
  local name=$1 market=$2
  "$imxd" --market "$market" --db "$tmp/$name.db" --sync normal \
    --listen tcp://127.0.0.1:0 --publish tcp://127.0.0.1:0 2>>"$tmp/$name.log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 200); do # 10 s: imxd under ASan on a busy machine
    grep -q 'requests on' "$tmp/$name.log" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  local url
  url=$(grep -o 'requests on [^,]*' "$tmp/$name.log" | sed 's/requests on //')
  [ -n "$url" ] || { echo "  imxd did not start:"; cat "$tmp/$name.log"; return 1; }
  printf -v "URL_$name" '%s' "$url"
  printf -v "PID_$name" '%s' "$pid"
}

stop_daemon() { # stop_daemon NAME: SIGTERM, and it must exit 0
  local pid_var="PID_$1"
  kill -TERM "${!pid_var}" && wait "${!pid_var}"
}

# ------------------------------------------------------- the market file

market_file() {
  "$sim" market "$tmp/own.json" --out "$tmp/own.market.json" 2>"$tmp/market.err" || return 1
  local f=$tmp/own.market.json ok=1
  grep -q '"services[^]]*"id": "it.hour", "unit": "hour", "tick": 100, "lot": 1, "divisible": true, "mode": "continuous", "price_cap": 20000}' <(tr -d '\n' <"$f") || { echo "  it.hour"; ok=0; }
  grep -q '"id": "truck.day", "unit": "day", "tick": 100, "lot": 1, "divisible": true, "mode": "auction", "price_cap": 60000}' "$f" || { echo "  truck.day"; ok=0; }
  # CC-P1 provides both services; CC-R2 is on both sides (budget = its
  # receiver row's); CC-R1's budget is the sum of its two receiver rows.
  grep -qF "{\"id\": \"CC-P1\", \"name\": \"CC-P1\", \"site\": \"A\", \"roles\": [\"provider\"], \"budget\": 0, \"capacities\": {\"it.hour\": 4, \"truck.day\": 3}, \"token_hash\": \"$(sha demo-CC-P1)\"}" "$f" || { echo "  CC-P1"; ok=0; }
  grep -qF "{\"id\": \"CC-P3\", \"name\": \"CC-P3\", \"roles\": [\"provider\"], \"budget\": 0, \"capacities\": {\"truck.day\": 2}," "$f" || { echo "  CC-P3 (no site)"; ok=0; }
  grep -qF "{\"id\": \"CC-R2\", \"name\": \"CC-R2\", \"site\": \"B\", \"roles\": [\"provider\", \"receiver\"], \"budget\": 20000, \"capacities\": {\"truck.day\": 1}," "$f" || { echo "  CC-R2"; ok=0; }
  grep -qF "{\"id\": \"CC-R1\", \"name\": \"CC-R1\", \"site\": \"A\", \"roles\": [\"receiver\"], \"budget\": 600000, \"token_hash\": \"$(sha demo-CC-R1)\"}" "$f" || { echo "  CC-R1"; ok=0; }
  grep -qF "\"id\": \"SIM-ADMIN\", \"name\": \"imx-sim run (auctions, period closes)\", \"roles\": [\"finance\", \"admin\"], \"budget\": 0, \"token_hash\": \"$(sha demo-SIM-ADMIN)\"}" "$f" || { echo "  SIM-ADMIN"; ok=0; }
  [ "$(grep -c '"id": "CC-' "$f")" -eq 6 ] || { echo "  want 6 cost centres"; ok=0; }
  grep -q 'token of cost centre X: demo-X' "$tmp/market.err" || { echo "  $(cat "$tmp/market.err")"; ok=0; }
  [ $ok -eq 1 ]
}
check market_file_maps_the_scenario market_file

market_to_stdout() {
  "$sim" market "$tmp/own.json" >"$tmp/stdout.market.json" 2>/dev/null &&
    cmp -s "$tmp/stdout.market.json" "$tmp/own.market.json"
}
check market_file_on_stdout_is_the_same market_to_stdout

market_prefix() {
  "$sim" market "$tmp/own.json" --token-prefix sec- >"$tmp/sec.market.json" 2>/dev/null &&
    grep -q "$(sha sec-CC-P1)" "$tmp/sec.market.json" &&
    grep -q "$(sha sec-SIM-ADMIN)" "$tmp/sec.market.json" &&
    ! grep -q "sec-" "$tmp/sec.market.json" # the prefix itself is not written
}
check token_prefix_sets_every_hash market_prefix

# A service whose rows can rest more orders at more prices than imxd's
# default levels (4,096 a side) gets the levels the engine in-process has
# (sim_levels_for), so that imxd holds the same book; the others get none.
market_levels() {
  cat >"$tmp/deep.json" <<'JSON'
{"currency": "EUR", "periods": 1, "seed": 1, "agents": "zi-c",
 "services": [{"id": "deep", "unit": "h", "mode": "auction", "tick": 1, "price_max": 100000},
              {"id": "small", "unit": "h", "mode": "auction", "tick": 1, "price_max": 100000}],
 "providers": [{"cc": "P", "service": "deep", "costs": [[5000, 100]]},
               {"cc": "Q", "service": "small", "costs": [[10, 100]]}],
 "receivers": [{"cc": "R", "service": "deep", "values": [[4500, 9000]]},
               {"cc": "S", "service": "small", "values": [[10, 9000]]}],
 "flat_rate": [{"service": "deep", "key": "per_unit", "rate": 5000},
               {"service": "small", "key": "per_unit", "rate": 5000}]}
JSON
  "$sim" market "$tmp/deep.json" >"$tmp/deep.market.json" 2>/dev/null || return 1
  grep -qF '"id": "deep", "unit": "h", "tick": 1, "lot": 1, "divisible": true, "mode": "auction", "price_cap": 100000, "levels": 5000}' "$tmp/deep.market.json" &&
    grep -qF '"id": "small", "unit": "h", "tick": 1, "lot": 1, "divisible": true, "mode": "auction", "price_cap": 100000}' "$tmp/deep.market.json"
}
check market_file_gives_deep_services_their_levels market_levels

market_errors() {
  local out ok=1
  out=$("$sim" market 2>&1)
  [ $? -eq 2 ] && [[ "$out" == *usage* ]] || { echo "  no scenario: $out"; ok=0; }
  sed 's/"price_max": 20000/"price_max": 20050/' "$tmp/own.json" >"$tmp/bad.json"
  out=$("$sim" market "$tmp/bad.json" 2>&1)
  [ $? -eq 1 ] && [[ "$out" == *"services[0].price_max"* ]] || { echo "  bad scenario: $out"; ok=0; }
  sed 's/"CC-P3"/"SIM-ADMIN"/' "$tmp/own.json" >"$tmp/admin.json"
  out=$("$sim" market "$tmp/admin.json" 2>&1)
  [ $? -eq 1 ] && [[ "$out" == *SIM-ADMIN* ]] || { echo "  SIM-ADMIN: $out"; ok=0; }
  [ $ok -eq 1 ]
}
check market_errors_name_the_fault market_errors

# -------------------------------------------- in-process and over imxd

# For each scenario and agent: a fresh imxd on the scenario's market file
# (an imxd that ran auctions before remembers their last clearing prices,
# which the auction's price rule uses), then both runs; JSON compared byte
# for byte, and the ledger's trades are the run's.
same_result() {
  local scenario=$1 agents=$2 seed=$3 name ok=1
  name=$(printf %s "$(basename "$scenario" .json)_$agents" | tr -c 'A-Za-z0-9_' _)
  "$sim" market "$scenario" >"$tmp/$name.market.json" 2>/dev/null || return 1
  start_daemon "$name" "$tmp/$name.market.json" || return 1
  local url_var="URL_$name"
  "$sim" run "$scenario" --json --agents "$agents" --seed "$seed" >"$tmp/$name.in.json" 2>"$tmp/$name.in.err" ||
    { echo "  in-process: $(cat "$tmp/$name.in.err")"; ok=0; }
  timeout 50 "$sim" run "$scenario" --json --agents "$agents" --seed "$seed" \
    --connect "${!url_var}" >"$tmp/$name.co.json" 2>"$tmp/$name.co.err" ||
    { echo "  --connect: $(cat "$tmp/$name.co.err")"; ok=0; }
  cmp "$tmp/$name.in.json" "$tmp/$name.co.json" || ok=0
  # The comparison means something: the market traded.
  local trades
  trades=$(grep -o '"market":{[^}]*"trades":[0-9]*' "$tmp/$name.in.json" | head -1 | grep -o '[0-9]*$')
  [ "${trades:-0}" -gt 0 ] || { echo "  no trades in the market run"; ok=0; }
  stop_daemon "$name" || { echo "  imxd did not stop cleanly"; ok=0; }
  local verify
  verify=$("$imx" ledger verify --db "$tmp/$name.db" 2>&1)
  [[ "$verify" == *": ok ("*" $trades trades; every trade balanced, total zero)"* ]] ||
    { echo "  ledger ($trades trades wanted): $verify"; ok=0; }
  [ $ok -eq 1 ]
}

for scenario in "${scenarios[@]}"; do
  for agents in truthful zi-c zip; do
    check "connect_gives_the_in_process_result_$(basename "$scenario" .json)_$agents" \
      same_result "$scenario" "$agents" 11
  done
done

# The quality run over imxd: the market file carries the scenario's
# ratings_min; the report has the quality block with the market shares of
# the in-process run (cmp above) and the market moved share to the good
# provider (CC-8200, quality 4.5) while the flat rate kept its home share;
# the ledger holds one rating per trade, each by the trade's buyer.
quality_over_imxd() {
  local f=$tmp/quality_truthful ok=1
  grep -q '^ "ratings_min": 3,$' "$f.market.json" || { echo "  no ratings_min in the market file"; ok=0; }
  ! grep -q 'ratings_min' "$tmp/own.market.json" || { echo "  ratings_min without quality"; ok=0; }
  local good
  good=$(tr -d '\n' <"$f.co.json" | grep -o '"cc":"CC-8200"[^]]*' | head -1)
  [[ "$good" == *'"flat_rate":{"units":180,"stars":45,"share":0.428571},"market":{"units":360,"stars":46,"share":0.923077}'* ]] ||
    { echo "  CC-8200: $good"; ok=0; }
  local trades ratings wrong
  trades=$(grep -o '"market":{[^}]*"trades":[0-9]*' "$f.co.json" | head -1 | grep -o '[0-9]*$')
  "$imx" export --db "$tmp/quality_truthful.db" --market "$f.market.json" --format ratings >"$f.ratings.csv" 2>&1 ||
    { echo "  export: $(cat "$f.ratings.csv")"; return 1; }
  ratings=$(($(wc -l <"$f.ratings.csv") - 1))
  [ "$ratings" -eq "${trades:-0}" ] && [ "$ratings" -gt 0 ] || { echo "  $ratings ratings for ${trades:-?} trades"; ok=0; }
  # every rater is a receiver of the scenario, every provider a provider
  wrong=$(tail -n +2 "$f.ratings.csv" | awk -F, '$3 !~ /^CC-8[12]00$/ || $4 !~ /^CC-1[123]00$/ || $5 < 1 || $5 > 5' | wc -l)
  [ "$wrong" -eq 0 ] || { echo "  $wrong ratings of the wrong cost centres"; head -5 "$f.ratings.csv"; ok=0; }
  [ $ok -eq 1 ]
}
check quality_over_imxd_rates_every_fill_and_shifts_share_like_in_process quality_over_imxd

own_rejections() {
  # zi-c on our scenario: CC-R2's budget refuses some bids over imxd as
  # in-process (insufficient_budget maps back to the engine's status).
  local rejected
  rejected=$(grep -o '"market":{[^}]*"rejected":[0-9]*' "$tmp/own_zi_c.co.json" | head -1 | grep -o '[0-9]*$')
  [ "${rejected:-0}" -gt 0 ] || { echo "  rejected: ${rejected:-none}"; return 1; }
}
check rejections_over_imxd_are_counted_like_in_process own_rejections

# ------------------------------------------------------------- failures

start_daemon used "$tmp/own.market.json"

wrong_prefix() {
  local out
  out=$(timeout 30 "$sim" run "$tmp/own.json" --json --connect "$URL_used" --token-prefix nope- 2>&1 >/dev/null)
  [ $? -eq 1 ] && [[ "$out" == *unauthorized* && "$out" == *"token prefix"* ]] || { echo "  $out"; return 1; }
}
check a_wrong_token_prefix_is_a_clear_error wrong_prefix

wrong_admin() {
  local out
  out=$(timeout 30 "$sim" run "$tmp/own.json" --json --connect "$URL_used" --admin-token nope 2>&1 >/dev/null)
  [ $? -eq 1 ] && [[ "$out" == *unauthorized* ]] || { echo "  $out"; return 1; }
}
check a_wrong_admin_token_is_a_clear_error wrong_admin

dead_url() {
  # A port that was just free: nothing listens there.
  start_daemon gone "$tmp/own.market.json" || return 1
  local url=$URL_gone out
  stop_daemon gone
  out=$(timeout 30 "$sim" run "$tmp/own.json" --json --connect "$url" 2>&1 >/dev/null)
  local rc=$?
  [ $rc -eq 1 ] && [[ "$out" == *"$url"* ]] || { echo "  rc $rc: $out"; return 1; }
}
check a_dead_url_is_an_error_not_a_hang dead_url

used_daemon() {
  # A second and third run on the same imxd: old trades are not replayed
  # (the run's figures are its own), and the ledger holds all of them.
  local a b ta tb
  "$sim" run "$tmp/own.json" --json --agents truthful --connect "$URL_used" >"$tmp/u1.json" 2>&1 &&
    "$sim" run "$tmp/own.json" --json --agents truthful --connect "$URL_used" >"$tmp/u2.json" 2>&1 ||
    { echo "  $(cat "$tmp/u1.json" "$tmp/u2.json")"; return 1; }
  ta=$(grep -o '"market":{[^}]*"trades":[0-9]*' "$tmp/u1.json" | head -1 | grep -o '[0-9]*$')
  tb=$(grep -o '"market":{[^}]*"trades":[0-9]*' "$tmp/u2.json" | head -1 | grep -o '[0-9]*$')
  [ -n "$ta" ] && [ "$ta" == "$tb" ] || { echo "  trades $ta then $tb"; return 1; }
  stop_daemon used || return 1
  "$imx" ledger verify --db "$tmp/used.db" 2>&1 | grep -qF " $((ta + tb)) trades; every trade balanced" ||
    { echo "  $("$imx" ledger verify --db "$tmp/used.db" 2>&1), want $((ta + tb)) trades"; return 1; }
}
check a_used_imxd_starts_a_fresh_period_and_replays_nothing used_daemon

finish
