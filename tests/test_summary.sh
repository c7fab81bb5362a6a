#!/usr/bin/env bash
# period.summary, the whole market's period for finance's overview, against
# a real imxd on examples/market.json (periods from 2026-12): the open
# period's figures (the ledger's per service and cost centre, the engine's
# reserved and available) and the closed one's, as docs/protocol.md shows
# them; who may ask (finance only, not admin); the refusals of periods, fields
# and pages; pages that add up to the whole; `imx summary`; and, on a market
# of its own, a period of more than 1,000 trades counted exactly (a
# statement lists 1,000 of a cost centre's trades at most); and that imx
# summary's pages are of one period (tests/gateway/fake_summary.py).
# usage: test_summary.sh IMXD IMX SOURCE_DIR REQLINES
set -u
imxd=$1
imx=$2
src=$3
reqlines=$4 # tests/gateway/reqlines.c: many requests on one connection
market=$src/examples/market.json
. "$(dirname "$0")/lib.sh"

if ! command -v nngcat >/dev/null; then
  echo "nngcat (Debian package nng-utils) is missing"
  echo "0 passed, 1 failed"
  exit 1
fi

start_daemon su
URL=$URL_su
as() { # as CC imx-args...: runs imx with CC's token
  local cc=$1
  shift
  IMX_URL=$URL IMX_TOKEN=demo-$cc "$imx" "$@"
}
raw() { # raw JSON: one request through nngcat, prints the reply
  nngcat --req --dial "$URL" --format ascii --recv-timeout 5 --data "$1" 2>&1
}
doc_request() { # doc_request ID: the request of docs/protocol.md's nngcat example ID
  grep -o "'{\"v\":1,\"type\":\"[a-z.]*\",\"id\":\"$1\"[^']*'" "$src/docs/protocol.md" | tr -d "'"
}
doc_reply() { # doc_reply ID: the reply printed under it
  grep -A1 -F "$(doc_request "$1")" "$src/docs/protocol.md" | tail -1
}
refused() { # refused CODE FIELD REASON-OR-- JSON: the request is refused so
  local out
  out=$(raw "$4")
  [[ "$out" == *'"type":"error"'*'"code":"'"$1"'","field":"'"$2"'"'* ]] &&
    { [ "$3" = - ] || [[ "$out" == *'"reason":"'"$3"'"'* ]]; } ||
    { echo "  want $1/$2/$3, got: $out"; return 1; }
}

# The trades of test_statement.sh: Sales North (CC-1100) buys 25 hours at
# 85.00 from Hamburg (CC-4100), 2 at 84.00 from Leipzig (CC-4200) and a
# payroll run at 1500.00 (CC-5100); its bid of 5 at 80.00 stays open (400.00
# reserved).
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

# docs/protocol.md's example: the first 10 cost centres of the market file,
# those with a budget or a trade listed; the open period's rows with the
# engine's reserved and available (balance.get's: 60000.00 - 400.00 -
# 3793.00 = 55807.00 for Sales North).
summary_of_the_open_period() {
  local req got
  req=$(doc_request ps1)
  [ "$req" = '{"v":1,"type":"period.summary","id":"ps1","token":"demo-CC-9000","limit":10}' ] ||
    { echo "  docs: $req"; return 1; }
  got=$(raw "$req")
  [ "$got" = '{"v":1,"type":"period.summary.ok","id":"ps1","period":"2026-12","open":true,"services":[{"service":"it.helpdesk.hour","trades":2,"units":27,"amount":229300},{"service":"payroll.run","trades":1,"units":1,"amount":150000}],"ccs":[{"cc":"CC-4100","budget":0,"spent":0,"earned":212500,"reserved":0,"available":0},{"cc":"CC-4200","budget":0,"spent":0,"earned":16800,"reserved":0,"available":0},{"cc":"CC-5100","budget":0,"spent":0,"earned":150000,"reserved":0,"available":0},{"cc":"CC-1100","budget":6000000,"spent":379300,"earned":0,"reserved":40000,"available":5580700},{"cc":"CC-1200","budget":5000000,"spent":0,"earned":0,"reserved":0,"available":5000000}],"next":"CC-1300"}' ] &&
    [ "$got" = "$(doc_reply ps1)" ] || { echo "  got: $got"; return 1; }
  # the same figures as balance.get's for Sales North
  raw '{"v":1,"type":"balance.get","id":"b1","token":"demo-CC-9000","cc":"CC-1100"}' |
    grep -q '"budget":6000000,"reserved":40000,"spent":379300,"earned":0,"available":5580700'
}
check the_open_periods_summary_is_the_ledgers_and_the_engines summary_of_the_open_period

# Finance may ask; admin (who sees no budgets, as for balance.get) may not,
# nor a manager, nor anybody without a token.
who_may_ask() {
  raw '{"v":1,"type":"period.summary","id":"a1","token":"demo-CC-9000","limit":1}' |
    grep -q '"type":"period.summary.ok","id":"a1","period":"2026-12","open":true' &&
    refused forbidden type not_finance '{"v":1,"type":"period.summary","id":"a2","token":"demo-CC-9900","limit":1}' &&
    refused forbidden type not_finance '{"v":1,"type":"period.summary","id":"r1","token":"demo-CC-1100"}' &&
    refused forbidden type not_finance '{"v":1,"type":"period.summary","id":"r2","token":"demo-CC-4100","period":"2026-12"}' &&
    refused unauthorized token - '{"v":1,"type":"period.summary","id":"r3"}' &&
    refused unauthorized token - '{"v":1,"type":"period.summary","id":"r4","token":"nope"}' &&
    # imx's help says so too: it named admin once, who then got forbidden.
    local h
    h=$("$imx" help summary) && has "$h" '(finance only;' && [[ "$h" != *admin* ]] &&
    h=$("$imx" help) && has "$h" '  summary        the whole market'"'"'s period (finance only;' ||
    { echo "  imx help summary must say finance only:"; echo "$h" | sed 's/^/  | /'; return 1; }
}
check only_finance_reads_the_summary who_may_ask

# Periods as statement.get refuses them; fields of the wrong type or range,
# fields the request does not take, a start that is no cost centre.
refusals() {
  local f='"type":"period.summary","id":"e","token":"demo-CC-9000"'
  refused bad_field period - "{\"v\":1,$f,\"period\":\"2026-13\"}" &&
    raw "{\"v\":1,$f,\"period\":\"2026-11\"}" | grep -q '"message":"not a period of this market (the first is 2026-12, the open one 2026-12)"' &&
    refused not_found period - "{\"v\":1,$f,\"period\":\"2027-01\"}" &&
    raw "{\"v\":1,$f,\"period\":\"2027-01\"}" | grep -q '"message":"that period has not begun (the open one is 2026-12)"' &&
    refused bad_field period - "{\"v\":1,$f,\"period\":202612}" &&
    refused bad_field period - "{\"v\":1,$f,\"period\":\"\"}" &&
    refused bad_field period - "{\"v\":1,$f,\"period\":null}" &&
    refused bad_field limit - "{\"v\":1,$f,\"limit\":\"10\"}" &&
    refused bad_field limit - "{\"v\":1,$f,\"limit\":0}" &&
    refused bad_field limit - "{\"v\":1,$f,\"limit\":1001}" &&
    refused bad_field limit - "{\"v\":1,$f,\"limit\":2.5}" &&
    refused bad_field start - "{\"v\":1,$f,\"start\":7}" &&
    refused unknown_cc start - "{\"v\":1,$f,\"start\":\"CC-0000\"}" &&
    refused bad_field service - "{\"v\":1,$f,\"service\":\"it.helpdesk.hour\"}"
}
check bad_periods_and_fields_are_refused_by_name refusals

# Pages of one cost centre each, from start to no next, list the rows of
# one page of all of them, in the same order.
ids_of() { grep -o '"cc":"[^"]*"' | cut -d'"' -f4 | tr '\n' ' '; }
pages_add_up() {
  local whole start="" got="" out pages=0
  whole=$(raw '{"v":1,"type":"period.summary","id":"w","token":"demo-CC-9000","limit":1000}')
  [[ "$whole" != *'"next"'* ]] || { echo "  one page of 1000 has a next: $whole"; return 1; }
  while :; do
    local s=""
    [ -n "$start" ] && s=",\"start\":\"$start\""
    out=$(raw "{\"v\":1,\"type\":\"period.summary\",\"id\":\"p\",\"token\":\"demo-CC-9000\",\"limit\":1$s}")
    [[ "$out" == *'period.summary.ok'* ]] || { echo "  page: $out"; return 1; }
    got+=$(echo "$out" | ids_of)
    pages=$((pages + 1))
    start=$(echo "$out" | grep -o '"next":"[^"]*"' | cut -d'"' -f4)
    [ -n "$start" ] || break
    [ $pages -le 40 ] || { echo "  more pages than cost centres"; return 1; }
  done
  # 33 cost centres, 33 pages; 26 rows: not finance, admin, nor the 4
  # providers that have not traded
  [ $pages -eq 33 ] && [ "$got" = "$(echo "$whole" | ids_of)" ] &&
    [ "$(echo "$whole" | ids_of | wc -w)" -eq 26 ] ||
    { echo "  $pages pages: $got"; echo "  whole: $(echo "$whole" | ids_of)"; return 1; }
}
check pages_of_one_cost_centre_add_up_to_the_whole pages_add_up

imx_summary_open() {
  local out
  out=$(as CC-9000 summary) || { echo "$out"; return 1; }
  echo "$out" | head -1 | grep -qx 'period 2026-12, open' &&
    echo "$out" | grep -qE '^it\.helpdesk\.hour +2 +27 +2293\.00 +84\.93$' &&
    echo "$out" | grep -qE '^payroll\.run +1 +1 +1500\.00 +1500\.00$' &&
    echo "$out" | grep -qE '^total +3793\.00 EUR$' &&
    echo "$out" | grep -qE '^cost centre +cc +budget +spent +earned +reserved +available$' &&
    echo "$out" | grep -qE '^Sales North +CC-1100 +60000\.00 +3793\.00 +0\.00 +400\.00 +55807\.00$' &&
    echo "$out" | grep -qE '^IT Service Desk Leipzig +CC-4200 +0\.00 +0\.00 +168\.00 +0\.00 +0\.00$' &&
    [ "$(as CC-9000 --json summary | wc -l)" -eq 1 ] &&
    as CC-9000 --json summary | grep -q '^{"v":1,"type":"period.summary.ok",' ||
    { echo "$out"; return 1; }
  out=$(as CC-1100 summary 2>&1)
  [ $? -eq 1 ] && [ "$out" = "imx summary: forbidden: type: only finance reads the period's summary (every cost centre's budget and spending)" ] ||
    { echo "  manager: $out"; return 1; }
  out=$(as CC-9000 summary --period 2027-01 2>&1)
  [ $? -eq 1 ] && [ "$out" = "imx summary: not_found: period: that period has not begun (the open one is 2026-12)" ] ||
    { echo "  future: $out"; return 1; }
}
check imx_summary_prints_the_open_period imx_summary_open

# After the close: 2026-12 is answered from the ledger alone, with what
# period.close.ok said per service and no engine figures; the open 2027-01
# starts empty but for the budgets and the bid carried over.
after_the_close() {
  local closed summary
  closed=$(raw '{"v":1,"type":"period.close","id":"c1","token":"demo-CC-9000"}')
  summary=$(raw '{"v":1,"type":"period.summary","id":"s","token":"demo-CC-9000","period":"2026-12","limit":10}')
  [ "$summary" = '{"v":1,"type":"period.summary.ok","id":"s","period":"2026-12","open":false,"services":[{"service":"it.helpdesk.hour","trades":2,"units":27,"amount":229300},{"service":"payroll.run","trades":1,"units":1,"amount":150000}],"ccs":[{"cc":"CC-4100","budget":0,"spent":0,"earned":212500},{"cc":"CC-4200","budget":0,"spent":0,"earned":16800},{"cc":"CC-5100","budget":0,"spent":0,"earned":150000},{"cc":"CC-1100","budget":6000000,"spent":379300,"earned":0},{"cc":"CC-1200","budget":5000000,"spent":0,"earned":0}],"next":"CC-1300"}' ] ||
    { echo "  closed: $summary"; return 1; }
  [[ "$closed" == *"$(echo "$summary" | grep -o '"services":\[[^]]*\]')"* ]] ||
    { echo "  period.close.ok: $closed"; return 1; }
  raw '{"v":1,"type":"period.summary","id":"o","token":"demo-CC-9000","limit":10}' |
    grep -q '"period":"2027-01","open":true,"services":\[\],"ccs":\[{"cc":"CC-1100","budget":6000000,"spent":0,"earned":0,"reserved":40000,"available":5960000},{"cc":"CC-1200",' &&
    as CC-9000 summary --period 2026-12 | head -1 | grep -qx 'period 2026-12, closed' &&
    ! as CC-9000 summary --period 2026-12 | grep -q reserved
}
check a_closed_period_is_the_ledgers_alone after_the_close

# More than 1,000 trades in a period, on a market of its own: one provider,
# one buyer with finance's role, 1,200 bids of one unit each. statement.get
# lists 1,000 of them (trades_omitted 200); period.summary counts all 1,200.
many_trades() {
  local hp hb
  hp=$(printf %s many-P | sha256sum | cut -d' ' -f1)
  hb=$(printf %s many-B | sha256sum | cut -d' ' -f1)
  printf '{"currency":"EUR","first_period":"2026-12","services":[{"id":"s","unit":"u","tick":1,"lot":1,"mode":"continuous"}],
"cost_centres":[{"id":"P","name":"P","site":"A","roles":["provider"],"budget":0,"capacities":{"s":1000000},"token_hash":"%s"},
{"id":"B","name":"B","site":"A","roles":["receiver","finance"],"budget":1000000000,"token_hash":"%s"}]}' \
    "$hp" "$hb" >"$tmp/many.json"
  market=$tmp/many.json start_daemon many --sync normal --rate 1000000 --burst 1000000
  local url=$URL_many n=1200 filled out
  IMX_URL=$url IMX_TOKEN=many-P "$imx" offer s 100000 0.07 >/dev/null || return 1
  filled=$(for i in $(seq $n); do
      printf '{"v":1,"type":"order.new","id":"m%d","token":"many-B","service":"s","side":"bid","qty":1,"price":7}\n' "$i"
    done | "$reqlines" "$url" | grep -c '"status":"filled"')
  [ "$filled" -eq $n ] || { echo "  filled $filled of $n"; return 1; }
  out=$(nngcat --req --dial "$url" --format ascii --recv-timeout 5 --data \
    '{"v":1,"type":"statement.get","id":"st","token":"many-B"}')
  [[ "$out" == *'"trades_omitted":200'* ]] || { echo "  statement: ${out:0:300}"; return 1; }
  out=$(nngcat --req --dial "$url" --format ascii --recv-timeout 5 --data \
    '{"v":1,"type":"period.summary","id":"ms","token":"many-B"}')
  [ "$out" = '{"v":1,"type":"period.summary.ok","id":"ms","period":"2026-12","open":true,"services":[{"service":"s","trades":1200,"units":1200,"amount":8400}],"ccs":[{"cc":"P","budget":0,"spent":0,"earned":8400,"reserved":0,"available":0},{"cc":"B","budget":1000000000,"spent":8400,"earned":0,"reserved":0,"available":999991600}]}' ] ||
    { echo "  summary: $out"; return 1; }
  # and the same once the period is closed, from the ledger alone
  nngcat --req --dial "$url" --format ascii --recv-timeout 5 --data \
    '{"v":1,"type":"period.close","id":"mc","token":"many-B"}' | grep -q '"trades":1200,"units":1200' &&
    nngcat --req --dial "$url" --format ascii --recv-timeout 5 --data \
      '{"v":1,"type":"period.summary","id":"mo","token":"many-B","period":"2026-12"}' |
      grep -q '"open":false,"services":\[{"service":"s","trades":1200,"units":1200,"amount":8400}\]'
}
check more_than_1000_trades_are_counted_exactly many_trades

# imx summary's pages are of one period: the open one may close between two
# pages (a market of more than 1,000 cost centres), and the next page asked
# without a period would be the next period's, printed under the first's
# label. tests/gateway/fake_summary.py stands in for imxd with two pages of
# one cost centre each; "moved" closes 2026-12 between them.
summary_against() { # summary_against MODE [COMMAND]: runs imx COMMAND (summary)
  local port fifo=$tmp/fake.$1 out rc cmd=${2:-summary}  # against the stand-in
  mkfifo "$fifo"
  python3 "$src/tests/gateway/fake_summary.py" "$1" <"$fifo" >"$tmp/fake.$1.port" \
    2>"$tmp/fake.$1.log" &
  pids+=($!)
  exec {hold}>"$fifo" # its stdin: it stops when this closes
  for _ in $(seq 100); do [ -s "$tmp/fake.$1.port" ] && break; sleep 0.05; done
  port=$(head -1 "$tmp/fake.$1.port")
  out=$(IMX_URL=tcp://127.0.0.1:$port IMX_TOKEN=x "$imx" $cmd 2>&1)
  rc=$?
  exec {hold}>&-
  echo "$out"
  grep '^period.summary' "$tmp/fake.$1.log"
  return $rc
}
summary_pages_of_one_period() {
  local out
  out=$(summary_against steady) || { echo "  steady: $out"; return 1; }
  # the second page asks for the first's period
  has "$out" 'period 2026-12, open' 'CC-2                         CC-2             100.00        70.00' \
    'period.summary 2026-12 CC-2' || return 1
  out=$(summary_against moved) && { echo "  moved: exit 0: $out"; return 1; }
  has "$out" 'period 2026-12 was closed while its pages were read: ask again' || return 1
  [[ "$out" != *'CC-2                         CC-2'* ]] || { echo "  moved: $out"; return 1; }
}
if command -v python3 >/dev/null; then
  check imx_summary_pages_are_of_one_period summary_pages_of_one_period
else
  skip imx_summary_pages_are_of_one_period "no python3 for tests/gateway/fake_summary.py"
fi

# A period close runs the calls of the auction services, which over deep
# books write their trades for seconds: imx waits for the reply (it gave up
# after 10 s, saying no reply for a close that was done, and a retry would
# have closed the next period too).
close_waits() {
  local out
  out=$(summary_against slow "period close") || { echo "  $out"; return 1; }
  has "$out" 'period 2026-12 closed, 2027-01 open; 0 orders expired'
}
if command -v python3 >/dev/null; then
  check imx_period_close_waits_past_10_s_for_its_reply close_waits
else
  skip imx_period_close_waits_past_10_s_for_its_reply "no python3 for tests/gateway/fake_summary.py"
fi

ledger_verifies() {
  "$imx" ledger verify --db "$tmp/su.db" --market "$market" >/dev/null &&
    "$imx" ledger verify --db "$tmp/many.db" --market "$tmp/many.json" >/dev/null
}
check the_ledgers_verify ledger_verifies

finish
