#!/usr/bin/env bash
# Discovery against a real imxd on examples/market.json (issue 12): which
# services exist and who offers them. Driven through imx (services, who,
# book, trades, balance: names for people, ids with --json) and through
# nngcat (a client we did not write) for the raw requests services.list,
# cc.list, cc.get and book.get, including their errors.
# usage: test_discovery.sh IMXD IMX SOURCE_DIR
set -u
imxd=$1
imx=$2
src=$3
market=$src/examples/market.json
. "$(dirname "$0")/lib.sh"

if ! command -v nngcat >/dev/null; then
  echo "nngcat (Debian package nng-utils) is missing"
  echo "0 passed, 1 failed"
  exit 1
fi

start_daemon main
as() { # as CC imx-args...: runs imx with CC's demo token
  local cc=$1
  shift
  IMX_URL=$URL_main IMX_TOKEN=demo-$cc IMX_CC=$cc "$imx" "$@"
}
raw() { # raw JSON: one request through nngcat, prints the reply
  nngcat --req --dial "$URL_main" --format ascii --recv-timeout 5 --data "$1" 2>&1
}

# An empty market first: names, descriptions, providers; nothing traded.
services_of_an_empty_market() {
  local out
  out=$(as CC-1100 services) || return 1
  has "$out" "IT helpdesk hour" "it.helpdesk.hour" \
    "  First- and second-level support by phone and remote session, billed per started hour." \
    "Truck with driver" "auction" &&
    [ "$(grep -c "^[A-Z]" <<<"$out")" -eq 6 ] && # six services, below the header
    grep -qE '^IT helpdesk hour +it\.helpdesk\.hour +hour +continuous +2 +- +- +- +-$' <<<"$out"
}
check services_lists_every_service_with_name_and_description services_of_an_empty_market

# Two providers offer, a receiver buys from the cheaper, another bids.
as CC-4100 offer it.helpdesk.hour 10 85 >/dev/null
as CC-4200 offer it.helpdesk.hour 5 84 >/dev/null
as CC-1100 bid it.helpdesk.hour 2 86 >"$tmp/fill"
as CC-1200 bid it.helpdesk.hour 2 80 >/dev/null

services_show_the_market_now() {
  local out json
  out=$(as CC-1300 services) || return 1
  grep -qE '^IT helpdesk hour +it\.helpdesk\.hour +hour +continuous +2 +80\.00 x 2 +84\.00 x 3 +84\.00 +[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-][0-9]{2}:[0-9]{2}$' <<<"$out" ||
    { echo "$out"; return 1; }
  json=$(as CC-1300 --json services) || return 1
  has "$json" '"type":"services.list.ok"' '"service":"it.helpdesk.hour","name":"IT helpdesk hour"' \
    '"providers":2,"bid":8000,"bid_qty":2,"offer":8400,"offer_qty":3,"last_price":8400,"last_qty":2,"last_time_ms":' \
    '"service":"lab.test","name":"Laboratory test"' '"last_price":null'
}
check services_show_best_prices_and_the_last_trade services_show_the_market_now

trades_show_names() {
  grep -qE 'Sales North +IT Service Desk Leipzig +2 +84\.00' "$tmp/fill" &&
    as CC-1100 trades | grep -qE 'Sales North +IT Service Desk Leipzig +2 +84\.00' &&
    as CC-1100 --json trades | grep -q '"buyer":"CC-1100","seller":"CC-4200"' &&
    as CC-1100 balance | grep -q '^Sales North (CC-1100): budget 60000.00, .*spent 168.00, .*(EUR)$'
}
check trades_and_balance_show_names_and_json_keeps_ids trades_show_names

book_shows_providers() {
  local out
  out=$(as CC-1300 book it.helpdesk.hour) || return 1
  has "$out" "IT helpdesk hour (it.helpdesk.hour)" &&
    grep -qE '^ +80\.00 +2 \| 84\.00 +3  IT Service Desk Leipzig \(Leipzig\)$' <<<"$out" &&
    grep -qE '^ +\| 85\.00 +10  IT Service Desk Hamburg \(Hamburg\)$' <<<"$out" &&
    ! grep -q 'Sales South' <<<"$out" &&
    as CC-4100 book it.helpdesk.hour | grep -qE '85\.00 +10  IT Service Desk Hamburg \(Hamburg\), your order 1$'
}
check book_shows_each_offer_with_its_provider_bids_anonymous book_shows_providers

directory_lists_every_cost_centre() {
  local out
  out=$(as CC-1100 who) || return 1
  [ "$(grep -c 'CC-' <<<"$out")" -eq 33 ] &&
    grep -qE '^Logistics Centre Leipzig +CC-6100 +Leipzig +provider +warehouse\.m2month, truck\.day$' <<<"$out" &&
    grep -qE '^Group Controlling +CC-9000 +Hamburg +finance$' <<<"$out" &&
    ! grep -q 'budget' <<<"$out"
}
check who_lists_the_directory directory_lists_every_cost_centre

one_cost_centre() {
  local out
  out=$(as CC-1100 who CC-6100) || return 1
  has "$out" "Logistics Centre Leipzig (CC-6100)" "  site      Leipzig" "  roles     provider" \
    "  offers    Warehouse space (warehouse.m2month)" "            Truck with driver (truck.day)" &&
    ! grep -q budget <<<"$out" &&
    as CC-1100 who CC-1100 | grep -q '^  budget    60000.00 EUR per period$' &&
    as CC-9000 who CC-1400 | grep -q '^  budget    90000.00 EUR per period$' &&
    ! as CC-9900 who CC-1400 | grep -q budget
}
check who_shows_one_cost_centre_and_its_budget_only_to_itself_and_finance one_cost_centre

who_unknown() {
  local out
  out=$(as CC-1100 who CC-NOBODY 2>&1)
  [ $? -eq 1 ] && [[ "$out" == *"unknown_cc: cc: no such cost centre"* ]] || { echo "  $out"; return 1; }
}
check who_of_an_unknown_cost_centre_is_unknown_cc who_unknown

# ------------------------------------------------------- raw requests

raw_services_page() {
  local out
  out=$(raw '{"v":1,"type":"services.list","id":"s1","token":"demo-CC-1500","limit":2}')
  has "$out" '"type":"services.list.ok","id":"s1"' '"service":"payroll.run"' \
    '"next":"warehouse.m2month"' && [[ "$out" != *'"service":"truck.day"'* ]] || return 1
  out=$(raw '{"v":1,"type":"services.list","id":"s2","token":"demo-CC-1500","start":"lab.test"}')
  has "$out" '"service":"lab.test","name":"Laboratory test","description":"One standard' &&
    [[ "$out" != *'"next"'* && "$out" != *'"service":"truck.day"'* ]]
}
check raw_services_list_pages_with_start_and_next raw_services_page

raw_directory() {
  local out
  out=$(raw '{"v":1,"type":"cc.list","id":"c1","token":"demo-CC-1500"}')
  has "$out" '"type":"cc.list.ok"' \
    '{"cc":"CC-4100","name":"IT Service Desk Hamburg","site":"Hamburg","roles":["provider"],"services":["it.helpdesk.hour"]}' \
    '{"cc":"CC-1500","name":"Marketing","site":"Hamburg","roles":["receiver"],"services":[],"budget":3000000}' &&
    [[ "$out" != *token_hash* && "$out" != *'"budget":6000000'* && "$out" != *'"next"'* ]] || return 1
  out=$(raw '{"v":1,"type":"cc.get","id":"g1","token":"demo-CC-9000","cc":"CC-1100"}')
  [[ "$out" == '{"v":1,"type":"cc.get.ok","id":"g1","cc":"CC-1100","name":"Sales North","site":"Hamburg","roles":["receiver"],"services":[],"budget":6000000}' ]] ||
    { echo "  $out"; return 1; }
}
check raw_cc_list_and_cc_get_show_nothing_secret raw_directory

raw_book() {
  local out
  out=$(raw '{"v":1,"type":"book.get","id":"b1","token":"demo-CC-4200","service":"it.helpdesk.hour"}')
  has "$out" '"bids":[{"price":8000,"qty":2,"orders":1}]' \
    '"offer_orders":[{"price":8400,"qty":3,"aon":false,"cc":"CC-4200","name":"IT Service Desk Leipzig","site":"Leipzig","order":2,"ratings":0,"stars_sum":0,"ratings_90d":0,"stars_sum_90d":0},{"price":8500,"qty":10,"aon":false,"cc":"CC-4100","name":"IT Service Desk Hamburg","site":"Hamburg","ratings":0,"stars_sum":0,"ratings_90d":0,"stars_sum_90d":0}]' &&
    [[ "$out" != *CC-1200* ]]
}
check raw_book_get_lists_offers_with_providers raw_book

# docs/protocol.md's discovery examples (services.list, cc.list, cc.get,
# book.get) were made on this market as it is now: each request, sent as
# written there, must get the reply written there, "..." standing for what
# the example leaves out, and the time and the reputations (which this
# market has none of) any number. The services.list example once missed the
# fields that each row has gained since.
doc_discovery_examples() {
  local id req want re got ok=0
  for id in s1 c1 g1 b1; do
    req=$(grep -o "'{\"v\":1,\"type\":\"[a-z.]*\",\"id\":\"$id\"[^']*'" "$src/docs/protocol.md" |
      head -1 | tr -d "'")
    [ -n "$req" ] || { echo "  no example $id in docs/protocol.md"; ok=1; continue; }
    want=$(grep -A1 -F "$req" "$src/docs/protocol.md" | sed -n 2p)
    re=$(sed -E -e 's/[][\.*^$(){}+?|]/\\&/g' -e 's/\\\.\\\.\\\./.*/g' \
      -e 's/("(last_time_ms|ratings|stars_sum|ratings_90d|stars_sum_90d)":)[0-9]+/\1[0-9]+/g' <<<"$want")
    got=$(raw "$req")
    [[ "$got" =~ ^$re$ ]] || { echo "  $id: docs/protocol.md has"; echo "    $want"; echo "  imxd sent"; echo "    $got"; ok=1; }
  done
  return $ok
}
check the_discovery_examples_of_docs_protocol_md_are_what_imxd_sends doc_discovery_examples

expect_raw() { # expect_raw CODE FIELD JSON
  local out
  out=$(raw "$3")
  [[ "$out" == *"\"code\":\"$1\",\"field\":\"$2\""* ]] || { echo "  got: $out"; return 1; }
}
check raw_services_list_unknown_start expect_raw unknown_service start \
  '{"v":1,"type":"services.list","id":"e1","token":"demo-CC-1500","start":"no.such"}'
check raw_cc_list_unknown_start expect_raw unknown_cc start \
  '{"v":1,"type":"cc.list","id":"e2","token":"demo-CC-1500","start":"CC-0"}'
check raw_cc_get_unknown_cc expect_raw unknown_cc cc \
  '{"v":1,"type":"cc.get","id":"e3","token":"demo-CC-1500","cc":"CC-0"}'
check raw_services_list_bad_limit expect_raw bad_field limit \
  '{"v":1,"type":"services.list","id":"e4","token":"demo-CC-1500","limit":0}'
check raw_cc_get_unknown_key expect_raw bad_field start \
  '{"v":1,"type":"cc.get","id":"e5","token":"demo-CC-1500","start":"CC-1100"}'
check raw_services_list_unauthenticated expect_raw unauthorized token \
  '{"v":1,"type":"services.list","id":"e6"}'
check raw_cc_list_wrong_token expect_raw unauthorized token \
  '{"v":1,"type":"cc.list","id":"e7","token":"demo-CC-0000"}'
check raw_cc_get_unauthenticated expect_raw unauthorized token \
  '{"v":1,"type":"cc.get","id":"e8","cc":"CC-1100"}'


# ------------------------------------------------- the README's example

# The commands of README.md's block after "**Finding services and
# providers.**", run on a fresh daemon after the README's orders; each
# output must be the README's lines ("..." ends a shortened one), with the
# time of day as a placeholder.
readme_example() {
  start_daemon readme
  local r=(env IMX_URL="$URL_readme")
  "${r[@]}" IMX_TOKEN=demo-CC-4100 "$imx" offer it.helpdesk.hour 40 85 >/dev/null &&
    "${r[@]}" IMX_TOKEN=demo-CC-1100 "$imx" bid it.helpdesk.hour 25 90 >/dev/null &&
    "${r[@]}" IMX_TOKEN=demo-CC-4200 "$imx" offer it.helpdesk.hour 5 84 >/dev/null || return 1
  awk '/^\*\*Finding services and providers/ {f = 1}
       f && /^```sh$/ {b = 1; next}
       b && /^```$/ {exit}
       b' "$src/README.md" >"$tmp/readme.block"
  local commands=0 ok=1 n=0
  while IFS= read -r line || [ -n "$line" ]; do
    if [[ "$line" == '$ '* ]]; then
      n=$((n + 1))
      read -r -a words <<<"${line#\$ }"
      [ "${words[1]}" = build/gateway/imx ] || { echo "  not an imx command: $line"; return 1; }
      words[1]=$imx
      "${r[@]}" "${words[@]}" >"$tmp/readme.got.$n" 2>&1 || ok=0
      : >"$tmp/readme.want.$n"
      commands=$n
    elif [ "$line" = "..." ]; then
      echo cut >"$tmp/readme.cut.$n"
    else
      printf '%s\n' "$line" >>"$tmp/readme.want.$n"
    fi
  done <"$tmp/readme.block"
  [ "$commands" -eq 3 ] || { echo "  want 3 commands in the README block, found $commands"; return 1; }
  local time='s/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([+-][0-9]{2}:[0-9]{2})?/TIME/'
  for i in $(seq "$commands"); do
    local lines
    lines=$(wc -l <"$tmp/readme.want.$i")
    if [ -e "$tmp/readme.cut.$i" ]; then head -n "$lines" "$tmp/readme.got.$i"; else cat "$tmp/readme.got.$i"; fi |
      sed -E "$time" >"$tmp/readme.got"
    sed -E "$time" "$tmp/readme.want.$i" | diff -u - "$tmp/readme.got" || ok=0
  done
  [ "$ok" -eq 1 ]
}
check readme_discovery_example_is_what_imx_prints readme_example


# ------------------------------------------------------------ a restart

# The last trade of each service is the core's state: after a stop it
# comes back from the snapshot imxd writes at the stop, and without a
# snapshot from the journal.
services_json() { # services_json URL: services.list.ok without its id (imx picks one)
  URL_main=$1 as CC-1300 --json services | sed 's/"id":"[^"]*",//'
}
restart_keeps_the_last_trades() {
  services_json "$URL_main" >"$tmp/services.before" || return 1
  grep -q '"last_price":8400' "$tmp/services.before" || { echo "  no last trade before"; return 1; }
  kill -TERM "$PID_main" && wait "$PID_main" || return 1
  start_daemon snap --db "$tmp/main.db"
  grep -q 'the snapshot of journal entry [0-9]* read' "$tmp/snap.log" || { cat "$tmp/snap.log"; return 1; }
  services_json "$URL_snap" | diff "$tmp/services.before" - || return 1
  kill -TERM "$PID_snap" && wait "$PID_snap" || return 1
  rm -f "$tmp/main.db.snapshot"
  start_daemon replay --db "$tmp/main.db"
  grep -q 'the whole journal, [0-9]* entries replayed' "$tmp/replay.log" || { cat "$tmp/replay.log"; return 1; }
  services_json "$URL_replay" | diff "$tmp/services.before" -
}
check restart_from_snapshot_or_journal_keeps_each_services_last_trade restart_keeps_the_last_trades

finish
