#!/usr/bin/env bash
# Calendar periods and statements against a real imxd on examples/market.json
# (periods from 2026-12): statement.get through imx and nngcat, open and
# closed, whose it is (the cost centre itself, finance; nobody else), periods
# that do not exist or have not begun; period.close's reply (the periods by
# label, each service's trades, units and amount), answered byte for byte to
# a repeat; the open period's sums after a SIGKILL and a restart; the
# ledger's verify after all of it.
# usage: test_statement.sh IMXD IMX SOURCE_DIR
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

start_daemon st
URL=$URL_st
as() { # as CC imx-args...: runs imx with CC's token
  local cc=$1
  shift
  IMX_URL=$URL IMX_TOKEN=demo-$cc "$imx" "$@"
}
raw() { # raw JSON: one request through nngcat, prints the reply
  nngcat --req --dial "$URL" --format ascii --recv-timeout 5 --data "$1" 2>&1
}
mask() { sed 's/"\(closed_ms\|time_ms\)":[0-9]*/"\1":T/g'; }
doc_request() { # doc_request ID: the request of docs/protocol.md's nngcat example ID
  grep -o "'{\"v\":1,\"type\":\"[a-z.]*\",\"id\":\"$1\"[^']*'" "$src/docs/protocol.md" | tr -d "'"
}
doc_reply() { # doc_reply ID: the reply printed under it, masked
  grep -A1 -F "$(doc_request "$1")" "$src/docs/protocol.md" | tail -1 | mask
}
expect_error() { # expect_error "imx COMMAND: CODE: FIELD: MESSAGE" CC imx-args...
  local want=$1
  shift
  local out rc
  out=$(as "$@" 2>&1)
  rc=$?
  [ $rc -eq 1 ] && [ "$out" = "$want" ] || { echo "  rc $rc: $out"; return 1; }
}

# Sales North (CC-1100) buys 25 hours at 85.00 and 2 at 84.00 (27 hours,
# 2293.00: 84.93 on average, rounded half up from 84.9259...) and a payroll
# run at 1500.00; its bid of 5 at 80.00 stays open (400.00 reserved).
trades_of_december() {
  as CC-4100 offer it.helpdesk.hour 40 85 >/dev/null &&
    as CC-1100 bid it.helpdesk.hour 25 90 | grep -q 'order 2 filled' &&
    as CC-4200 offer it.helpdesk.hour 3 84 >/dev/null &&
    as CC-1100 bid it.helpdesk.hour 2 84 | grep -q 'order 4 filled' &&
    as CC-5100 offer payroll.run 1 1500 --aon >/dev/null &&
    as CC-1100 bid payroll.run 1 1500 --aon | grep -q 'order 6 filled' &&
    as CC-1100 bid it.helpdesk.hour 5 80 | grep -q 'order 7 open'
}
check trades_of_december trades_of_december

open_statement() {
  local out
  out=$(as CC-1100 statement) || return 1
  has() { [[ "$out" == *"$1"* ]] || { echo "  no \"$1\" in:"; echo "$out"; return 1; }; }
  has 'statement of Sales North (CC-1100), period 2026-12, open' &&
    has 'Sales North (CC-1100): budget 60000.00, reserved 400.00, spent 3793.00, earned 0.00, available 55807.00 (EUR)' &&
    echo "$out" | grep -qE '^it\.helpdesk\.hour +2 +27 +2293\.00 +84\.93 +0 +0\.00 +-$' &&
    echo "$out" | grep -qE '^payroll\.run +1 +1 +1500\.00 +1500\.00 +0 +0\.00 +-$' &&
    echo "$out" | grep -qE '^  1 +it\.helpdesk\.hour +bought +25 x +85\.00 = +2125\.00  from IT Service Desk Hamburg, [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}[+-][0-9]{2}:[0-9]{2}$'
}
check the_open_periods_statement_through_imx open_statement

statement_csv() {
  [ "$(as CC-1100 --decimal comma statement --csv)" = "period,closed,cc,service,trades,bought,spent,avg_buy_price,sold,earned,avg_sell_price,currency
2026-12,false,CC-1100,it.helpdesk.hour,2,27,2293.00,84.93,0,0.00,,EUR
2026-12,false,CC-1100,payroll.run,1,1,1500.00,1500.00,0,0.00,,EUR" ]
}
check a_statement_as_csv statement_csv

# The provider's side: what it sold and earned; asked by finance for it.
# The request and reply are docs/protocol.md's example.
statement_raw() {
  local req got
  req=$(doc_request st1)
  [ "$req" = '{"v":1,"type":"statement.get","id":"st1","token":"demo-CC-9000","cc":"CC-4100","period":"2026-12"}' ] ||
    { echo "  docs: $req"; return 1; }
  got=$(raw "$req" | mask)
  [ "$got" = '{"v":1,"type":"statement.get.ok","id":"st1","cc":"CC-4100","period":"2026-12","closed":false,"budget":0,"services":[{"service":"it.helpdesk.hour","trades":1,"bought":0,"spent":0,"sold":25,"earned":212500}],"trades":[{"trade":1,"service":"it.helpdesk.hour","buyer":"CC-1100","seller":"CC-4100","qty":25,"price":8500,"time_ms":T,"buy_order":2,"sell_order":1}]}' ] &&
    [ "$got" = "$(doc_reply st1)" ] || { echo "  got: $got"; return 1; }
}
check statement_get_through_nngcat_for_finance statement_raw

whose_statement() {
  expect_error 'imx statement: forbidden: cc: may not act for another cost centre' CC-1200 statement --for CC-1100 &&
    expect_error 'imx statement: forbidden: cc: may not act for another cost centre' CC-9900 statement --for CC-1100 &&
    expect_error 'imx statement: unknown_cc: cc: no such cost centre' CC-9000 statement --for CC-0000 &&
    as CC-9000 statement --for CC-1100 | grep -q 'statement of Sales North (CC-1100), period 2026-12, open' &&
    raw '{"v":1,"type":"statement.get","id":"s2","cc":"CC-1100"}' | grep -q '"code":"unauthorized"'
}
check a_statement_is_the_cost_centres_and_finances whose_statement

unknown_periods() {
  expect_error 'imx statement: not_found: period: that period has not begun (the open one is 2026-12)' \
      CC-1100 statement --period 2027-01 &&
    expect_error 'imx statement: bad_field: period: not a period of this market (the first is 2026-12, the open one 2026-12)' \
      CC-1100 statement --period 2026-11 &&
    expect_error 'imx statement: bad_field: period: not a period of this market (the first is 2026-12, the open one 2026-12)' \
      CC-1100 statement --period 12 &&
    raw '{"v":1,"type":"statement.get","id":"s3","token":"demo-CC-1100","period":"2026-13"}' |
      grep -q '"code":"bad_field","field":"period"' &&
    raw '{"v":1,"type":"statement.get","id":"s4","token":"demo-CC-1100","period":202612}' |
      grep -q '"code":"bad_field","field":"period"'
}
check unknown_and_future_periods_are_refused_by_name unknown_periods

# period.close through nngcat: the periods by label, per service the trades,
# units and amount (never units of two services added), nobody over budget;
# a repeat gets the same bytes and closes nothing more.
period_close() {
  local req first again
  req=$(doc_request pc1)
  [ "$req" = '{"v":1,"type":"period.close","id":"pc1","token":"demo-CC-9000"}' ] ||
    { echo "  docs: $req"; return 1; }
  first=$(raw "$req")
  [ "$first" = '{"v":1,"type":"period.close.ok","id":"pc1","expired":0,"period":"2026-12","opened":"2027-01","services":[{"service":"it.helpdesk.hour","trades":2,"units":27,"amount":229300},{"service":"payroll.run","trades":1,"units":1,"amount":150000}],"over_budget":[]}' ] &&
    [ "$first" = "$(doc_reply pc1)" ] || { echo "  got: $first"; return 1; }
  again=$(raw "$req")
  [ "$again" = "$first" ] || { echo "  repeat: $again"; return 1; }
}
check period_close_replies_with_the_periods_and_a_summary_per_service period_close

closed_statement() {
  local out
  out=$(as CC-1100 statement --period 2026-12) || return 1
  echo "$out" | grep -q '^statement of Sales North (CC-1100), period 2026-12, closed$' &&
    echo "$out" | grep -qE '^closed [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:+-]+; budget per period 60000\.00 EUR \(market file\)$' &&
    ! echo "$out" | grep -q 'reserved' &&
    echo "$out" | grep -qE '^it\.helpdesk\.hour +2 +27 +2293\.00 +84\.93 ' &&
    raw '{"v":1,"type":"statement.get","id":"s5","token":"demo-CC-1100","period":"2026-12"}' |
      grep -q '"period":"2026-12","closed":true,"closed_ms":' &&
    # the open period: nothing traded yet, the bid's reservation carried
    out=$(as CC-1100 statement) &&
    echo "$out" | grep -q 'period 2027-01, open' &&
    echo "$out" | grep -q '(no trades in this period)' &&
    echo "$out" | grep -q 'budget 60000.00, reserved 400.00, spent 0.00'
}
check a_closed_period_and_the_one_opened closed_statement

imx_period_close() {
  as CC-9900 period close | diff - <(printf '%s\n' 'period 2027-01 closed, 2027-02 open; 0 orders expired' 'nothing traded') &&
    expect_error 'imx period close: forbidden: type: only admin or finance close periods' CC-1100 period close
}
check imx_period_close_prints_the_summary imx_period_close

# Trades in 2027-02 (Sales South buys 1 at 84.00 and 2 at 85.00 from the
# best offers left: 254.00, 84.67 on average), then SIGKILL: the restarted
# imxd replays the journal and closes 2027-02 with them in its summary.
after_a_crash() {
  as CC-4100 offer it.helpdesk.hour 3 86 >/dev/null &&
    as CC-1200 bid it.helpdesk.hour 3 86 | grep -q 'filled' || return 1
  kill -9 "$PID_st"
  wait "$PID_st" 2>/dev/null
  start_daemon st2 --db "$tmp/st.db"
  URL=$URL_st2
  local out
  out=$(as CC-9000 period close) &&
    echo "$out" | head -1 | grep -qx 'period 2027-02 closed, 2027-03 open; 0 orders expired' &&
    echo "$out" | grep -qE '^it\.helpdesk\.hour +2 +3 +254\.00 +84\.67$' ||
    { echo "$out"; return 1; }
  as CC-1200 statement --period 2027-02 | grep -qE '^it\.helpdesk\.hour +2 +3 +254\.00 +84\.67 '
}
check the_periods_sums_survive_a_sigkill after_a_crash

ledger_verifies() {
  "$imx" ledger verify --db "$tmp/st.db" --market "$market" >/dev/null &&
    "$imx" export --db "$tmp/st.db" --market "$market" --period 2026-12 --format sap |
      grep '^H;' | cut -d';' -f4,5 | sort -u | grep -qx '20261231;20261231'
}
check the_ledger_verifies_and_december_is_booked_on_its_last_day ledger_verifies

# README's statement example on a fresh market: the commands of its block
# run after the README's orders, their output compared with the block (the
# times, local and different, masked).
readme_example() {
  start_daemon readme
  local url=$URL_readme
  run_imx() { local t=$1; shift; IMX_URL=$url IMX_TOKEN=$t "$imx" "$@"; }
  run_imx demo-CC-4100 offer it.helpdesk.hour 40 85 >/dev/null &&
    run_imx demo-CC-1100 bid it.helpdesk.hour 25 90 >/dev/null &&
    run_imx demo-CC-4200 offer it.helpdesk.hour 5 84 >/dev/null &&
    run_imx demo-CC-1100 bid it.helpdesk.hour 2 84 >/dev/null &&
    run_imx demo-CC-1100 bid it.helpdesk.hour 5 80 >/dev/null || return 1
  sed -n '/^\$ IMX_TOKEN=demo-CC-1100 build\/gateway\/imx statement$/,/^```/p' "$src/README.md" |
    sed '$d' >"$tmp/readme.want"
  [ -s "$tmp/readme.want" ] || { echo "  no example in README.md"; return 1; }
  : >"$tmp/readme.got"
  local line
  while IFS= read -r line; do
    [[ "$line" == '$ '* ]] || continue
    echo "$line" >>"$tmp/readme.got"
    local cmd=${line#\$ }
    local token=${cmd%% *}
    token=${token#IMX_TOKEN=}
    local args=${cmd#* build/gateway/imx }
    # shellcheck disable=SC2086 # the README's arguments, split as a shell would
    run_imx "$token" $args >>"$tmp/readme.got" 2>&1
  done <"$tmp/readme.want"
  local time='s/[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9:]\{8\}\([+-][0-9][0-9]:[0-9][0-9]\|Z\)\?/TIME/'
  diff <(sed "$time" "$tmp/readme.want") <(sed "$time" "$tmp/readme.got")
}
check the_readmes_statement_example_is_what_imx_prints readme_example

finish
