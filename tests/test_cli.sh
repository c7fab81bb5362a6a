#!/usr/bin/env bash
# test_cli.sh -- imx as people meet it, against a real imxd: money typed and
# shown in the currency's major units (a decimal comma too, currencies of 0
# and 3 decimals), every argument error as one line naming the argument,
# help, --json errors, the exit codes (0 done, 1 refused, 2 usage, 3 no
# reply), imxd's messages in major units, watch of an unknown service,
# trades --for another cost centre, trade times in ISO 8601 local time, and
# the README's session run exactly as written there.
# usage: test_cli.sh IMXD IMX SOURCE_DIR
set -u
imxd=$1
imx=$2
src=$3
market=$src/tests/gateway/market.json
. "$(dirname "$0")/lib.sh"
export TZ=UTC
unset IMX_DECIMAL IMX_CC IMX_TOKEN

start_daemon main

# im CC imx-args...: runs imx with CC's token (CC "-": none); sets OUT, ERR, RC.
im() {
  local cc=$1
  shift
  local token=test-token-$cc
  [ "$cc" = - ] && token=
  IMX_URL=$URL_main IMX_PUB_URL=$PUB_main IMX_TOKEN=$token "$imx" "$@" >"$tmp/out" 2>"$tmp/err"
  RC=$?
  OUT=$(cat "$tmp/out")
  ERR=$(cat "$tmp/err")
}
# want RC OUT ERR: the last im's exit status, stdout and stderr, exactly.
want() {
  [ "$RC" -eq "$1" ] && [ "$OUT" = "$2" ] && [ "$ERR" = "$3" ] && return 0
  echo "  want rc $1, out [$2], err [$3]"
  echo "  got  rc $RC, out [$OUT], err [$ERR]"
  return 1
}
# want_err CC RC ERR imx-args...: fails with exactly that one line on stderr.
want_err() {
  local cc=$1 rc=$2 err=$3
  shift 3
  im "$cc" "$@"
  want "$rc" "" "$err"
}
has() { # has TEXT PATTERN (grep -E): TEXT has a line matching (replaces lib.sh's fixed-string has)
  grep -qE -- "$2" <<<"$1" || { echo "  no line matching [$2] in:"; echo "$1"; return 1; }
}

# ------------------------------------------------------ money, major units

typed_in_major_units() {
  im CC-P1 offer it.hour 10 85 && want 0 "order 1 open: 0 filled, 10 open" "" || return 1
  im CC-P1 offer it.hour 5 86.00 && want 0 "order 2 open: 0 filled, 5 open" "" || return 1
  im CC-R1 bid it.hour 2 85,00 || return 1
  has "$OUT" '^order 3 filled: 2 filled, 0 open$' &&
    has "$OUT" '^1 +it.hour +Receiver One +Provider One +2 +85.00  ' &&
    im CC-R1 --json trades && has "$OUT" '"qty":2,"price":8500,' # the wire: minor units
}
check prices_are_typed_in_major_units_with_a_point_or_a_comma typed_in_major_units

shown_in_major_units() {
  im CC-R2 book it.hour && has "$OUT" '^ +\| 85.00 +8  Provider One \(A\)$' &&
    has "$OUT" '^ +\| 86.00 +5  Provider One \(A\)$' &&
    im CC-P1 orders && has "$OUT" '^1 +it.hour +offer gtc +85.00 +10 +8 +2$' &&
    im CC-R1 balance &&
    want 0 "Receiver One (CC-R1): budget 1000.00, reserved 0.00, spent 170.00, earned 0.00, available 830.00 (EUR)" ""
}
check books_orders_and_balances_show_major_units shown_in_major_units

decimal_comma_output() {
  im CC-R1 --decimal comma balance &&
    want 0 "Receiver One (CC-R1): budget 1000,00, reserved 0,00, spent 170,00, earned 0,00, available 830,00 (EUR)" "" &&
    IMX_DECIMAL=comma im CC-R2 book it.hour && has "$OUT" '\| 85,00 +8  ' &&
    IMX_DECIMAL=comma im CC-R2 --decimal point book it.hour && has "$OUT" '\| 85.00 +8  ' &&
    want_err CC-R2 2 "imx: --decimal (or IMX_DECIMAL) 'dot': must be point or comma" --decimal dot book it.hour
}
check decimal_comma_on_request decimal_comma_output

a_tick_is_the_markets_word() {
  # 85.5 is a price imx can read; the market's tick (1.00) refuses it.
  want_err CC-R1 1 "imx bid: bad_field: price: not a multiple of the service's tick" bid it.hour 1 85.5
}
check a_price_off_the_tick_is_refused_by_the_market a_tick_is_the_markets_word

daemon_messages_in_major_units() {
  want_err CC-R1 1 "imx bid: insufficient_budget: price: budget left: 830.00 EUR" bid it.hour 100 90 &&
    want_err CC-R2 1 "imx tender: insufficient_budget: ceiling: budget left: 10000.00 EUR" \
      tender it.hour 1000 91 60 || return 1
  command -v nngcat >/dev/null || return 0
  local out
  out=$(nngcat --req --dial "$URL_main" --format ascii --recv-timeout 5 --data \
    '{"v":1,"type":"order.new","id":"m1","token":"test-token-CC-R1","service":"it.hour","side":"bid","qty":100,"price":9000}')
  [[ "$out" == *'"code":"insufficient_budget","field":"price","message":"budget left: 830.00 EUR"'* ]] ||
    { echo "  $out"; return 1; }
}
check imxd_writes_money_in_its_messages_in_major_units daemon_messages_in_major_units

# ------------------------------------------- argument errors: one line each

H="; see imx help"
argument_errors() {
  local ok=0
  want_err CC-R1 2 "imx bid: PRICE: '85.555': has more decimals than the currency has (EUR has 2)$H bid" \
    bid it.hour 1 85.555 || ok=1
  want_err CC-R1 2 "imx bid: PRICE: '85.000': has more decimals than the currency has (EUR has 2)$H bid" \
    bid it.hour 1 85.000 || ok=1
  want_err CC-R1 2 "imx bid: PRICE: '-5': must not be negative$H bid" bid it.hour 1 -5 || ok=1
  want_err CC-R1 2 "imx bid: PRICE: '1.234,56': not an amount: digits with at most one '.' or ',' (85, 85.50, 85,50)$H bid" \
    bid it.hour 1 1.234,56 || ok=1
  want_err CC-R1 2 "imx bid: PRICE: '0': must be 0.01 to 10000000.00 EUR$H bid" bid it.hour 1 0 || ok=1
  want_err CC-R1 2 "imx bid: PRICE: '10000000.01': must be 0.01 to 10000000.00 EUR$H bid" \
    bid it.hour 1 10000000.01 || ok=1
  want_err CC-R1 2 "imx bid: PRICE: '99999999999999999999999': must be 0.01 to 10000000.00 EUR$H bid" \
    bid it.hour 1 99999999999999999999999 || ok=1
  want_err CC-R1 2 "imx bid: QTY: 'x': must be a whole number, 1 to 1000000000$H bid" bid it.hour x 85 || ok=1
  want_err CC-R1 2 "imx bid: QTY: '2.5': must be a whole number, 1 to 1000000000$H bid" bid it.hour 2.5 85 || ok=1
  want_err CC-R1 2 "imx bid: QTY: missing$H bid" bid it.hour || ok=1
  want_err CC-R1 2 "imx bid: SERVICE: missing$H bid" bid || ok=1
  want_err CC-R1 2 "imx bid: extra: one argument too many (imx bid takes SERVICE QTY [PRICE] [--tif gtc|period|ioc|fok] [--aon] [--min-stars S [--allow-unrated]])$H bid" \
    bid it.hour 1 85 extra || ok=1
  want_err CC-R1 2 "imx bid: --tof: not an option of imx bid$H bid" bid it.hour 1 85 --tof x || ok=1
  want_err CC-R1 2 "imx bid: --tif: needs a value$H bid" bid it.hour 1 85 --tif || ok=1
  want_err CC-R1 2 "imx bid: --tif: 'never': must be gtc, period, ioc or fok$H bid" \
    bid it.hour 1 85 --tif never || ok=1
  want_err CC-R1 2 "imx book: --depth: '0': must be a whole number, 1 to 100$H book" book it.hour --depth 0 || ok=1
  want_err CC-R1 2 "imx cancel: ORDER: 'abc': must be a whole number, 1 to 9007199254740991$H cancel" cancel abc || ok=1
  want_err CC-R2 2 "imx tender: SECONDS: '0': must be a whole number, 1 to 2592000$H tender" \
    tender it.hour 1 90 0 || ok=1
  want_err CC-P2 2 "imx quote: PRICE: '88.123': has more decimals than the currency has (EUR has 2)$H quote" \
    quote 1 88.123 || ok=1
  want_err CC-ADM 2 "imx auction run: --reference: 'x': not an amount: digits with at most one '.' or ',' (85, 85.50, 85,50)$H auction run" \
    auction run truck.day --reference x || ok=1
  want_err CC-R1 2 "imx trades: --limit: '5000': must be a whole number, 1 to 1000$H trades" trades --limit 5000 || ok=1
  local long
  long=$(printf 'x%.0s' $(seq 65))
  want_err CC-R1 2 "imx bid: SERVICE: 'xxxxxxxxxxxxxxxxxxxx...': must be a service id of 1 to 64 bytes$H bid" \
    bid "$long" 1 85 || ok=1
  want_err CC-R1 2 "imx trades: --for: must be a cost centre id of 1 to 64 bytes$H trades" \
    trades --for "$long" || ok=1
  want_err CC-R2 2 "imx tender: --decide: 'best': must be lowest, choose or score$H tender" \
    tender it.hour 1 90 60 --decide best || ok=1
  want_err CC-R2 2 "imx tender: --weights: '60/50': must be PRICE/QUALITY, whole percents summing to 100 (e.g. 60/40)$H tender" \
    tender it.hour 1 90 60 --decide score --weights 60/50 || ok=1
  want_err CC-R2 2 "imx tender: --weights: missing: --decide score needs --weights PRICE/QUALITY (e.g. 60/40)$H tender" \
    tender it.hour 1 90 60 --decide score || ok=1
  want_err CC-R2 2 "imx tender award: QUOTE: missing$H tender award" tender award 1 || ok=1
  want_err CC-P1 2 "imx quote withdraw: QUOTE: 'x': must be a whole number, 1 to 9007199254740991$H quote withdraw" \
    quote withdraw x || ok=1
  want_err CC-P1 2 "imx modify: --qty: missing: give --qty, --price or both$H modify" modify 1 || ok=1
  want_err CC-P1 2 "imx modify: --price: '85.555': has more decimals than the currency has (EUR has 2)$H modify" \
    modify 1 --price 85.555 || ok=1
  want_err CC-R1 2 "imx orders: --limit: only with --all (closed orders)$H orders" orders --limit 5 || ok=1
  want_err CC-R1 2 "imx orders: --limit: '101': must be a whole number, 1 to 100$H orders" \
    orders --all --limit 101 || ok=1
  want_err CC-R1 2 "imx: frobnicate: no such command (imx help lists them)" frobnicate || ok=1
  want_err CC-R1 2 "imx: auction: did you mean imx auction run? (imx help)" auction || ok=1
  want_err CC-R1 2 "imx: --url: needs a value" --url || ok=1
  want_err CC-R1 2 "imx: --colour: no such option (imx help)" --colour book it.hour || ok=1
  want_err CC-FIN 2 "imx export: --format: 'xls': must be csv, sap, hledger, beancount or ratings$H export" \
    export --db x --market y --format xls || ok=1
  return $ok
}
check each_wrong_argument_is_one_line_naming_it argument_errors

usage_errors_send_nothing() {
  im CC-R1 balance
  local before=$OUT
  im CC-R1 bid it.hour 1 85.555
  im CC-R1 bid it.hour 1 -90
  im CC-R1 balance
  [ "$OUT" = "$before" ] || { echo "  $before -> $OUT"; return 1; }
}
check a_usage_error_sends_nothing usage_errors_send_nothing

exit_codes() {
  want_err - 2 "imx book: no token: set IMX_TOKEN or give --token" book it.hour || return 1
  im CC-R1 --url tcp://127.0.0.1:1 book it.hour
  [ "$RC" -eq 3 ] && [[ "$ERR" == "imx book: tcp://127.0.0.1:1: Connection refused"* ]] ||
    { echo "  rc $RC: $ERR"; return 1; }
  IMX_URL=$URL_main IMX_TOKEN=wrong "$imx" book it.hour >"$tmp/out" 2>"$tmp/err"
  RC=$? OUT=$(cat "$tmp/out") ERR=$(cat "$tmp/err")
  want 1 "" "imx book: unauthorized: token: unknown token" &&
    want_err CC-R1 1 "imx bid: unknown_service: service: no such service" bid no.such 1 90 &&
    want_err CC-R1 1 "imx balance: forbidden: cc: may not act for another cost centre" balance --for CC-R2 &&
    im CC-R1 book it.hour && [ "$RC" -eq 0 ]
}
check exit_status_0_done_1_refused_2_usage_3_no_reply exit_codes

# ------------------------------------------------------------------ help

help_lists_commands() {
  im - help
  [ "$RC" -eq 0 ] && [ -z "$ERR" ] || return 1
  local c
  for c in bid offer cancel modify orders book trades balance services who tender tenders \
    "tender show" "tender award" "tender cancel" quote "quote withdraw" "auction run" \
    "period close" watch token "ledger verify" export help; do
    has "$OUT" "^  $c +[a-z]" || return 1
  done
  has "$OUT" '^exit status: 0 done, 1 refused by the market, 2 usage, 3 no reply$' &&
    im - --help && [ "$RC" -eq 0 ] && has "$OUT" '^  bid ' &&
    im - && [ "$RC" -eq 2 ] && [ -z "$OUT" ] && has "$ERR" '^  quote '
}
check help_lists_every_command help_lists_commands

help_shows_one() {
  im - help bid &&
    want 0 "usage: imx bid SERVICE QTY [PRICE] [--tif gtc|period|ioc|fok] [--aon] [--min-stars S [--allow-unrated]]
  buy QTY units at PRICE or better per unit (no PRICE: a market order, auction services only); --min-stars 4.5: only from providers rated 4.5 stars or more for the service (--allow-unrated: or not yet rated)
example:
  imx bid it.helpdesk.hour 25 90.00" "" &&
    im - help auction run && has "$OUT" '^usage: imx auction run SERVICE \[--reference PRICE\]$' &&
    has "$OUT" '^  imx auction run truck.day --reference 400$' &&
    want_err - 2 "imx help: COMMAND: 'nope': no such command (imx help lists them)" help nope
}
check help_command_shows_its_usage_and_an_example help_shows_one

help_examples_work() {
  # Every example of `imx help` that reads the market runs on the example market.
  market=$src/examples/market.json start_daemon ex
  local out ex
  out=$(IMX_URL=$URL_ex IMX_TOKEN=demo-CC-4100 "$imx" offer it.helpdesk.hour 40 85 2>&1) &&
    out=$(IMX_URL=$URL_ex IMX_TOKEN=demo-CC-1100 "$imx" bid it.helpdesk.hour 25 90.00 2>&1) &&
    out=$(IMX_URL=$URL_ex IMX_TOKEN=demo-CC-1100 "$imx" trades it.helpdesk.hour --limit 10 2>&1) &&
    # modify's, as help prints it, on the offer above (order 1; its price
    # was once off the helpdesk's tick of 1.00)
    ex=$("$imx" help modify | sed -n '/^example:$/{n;p;}' | sed -E 's/^ *imx modify [0-9]+/modify 1/') &&
    # shellcheck disable=SC2086 # the example's arguments, split as a shell would
    out=$(IMX_URL=$URL_ex IMX_TOKEN=demo-CC-4100 "$imx" $ex 2>&1) &&
    out=$(IMX_URL=$URL_ex IMX_TOKEN=demo-CC-1400 "$imx" tender payroll.run 2 8000.00 3600 2>&1) &&
    out=$(IMX_URL=$URL_ex IMX_TOKEN=demo-CC-5100 "$imx" quote 1 7200 2>&1) &&
    out=$(IMX_URL=$URL_ex IMX_TOKEN=demo-CC-9900 "$imx" auction run truck.day --reference 400 2>&1) ||
    { echo "  $out"; return 1; }
}
check the_examples_of_help_run help_examples_work

# ------------------------------------------------------------ --json errors

json_errors() {
  im CC-R1 --json bid it.hour 1 85.555 &&
    want 2 "{\"v\":1,\"type\":\"error\",\"id\":\"\",\"code\":\"usage\",\"field\":\"price\",\"message\":\"PRICE: '85.555': has more decimals than the currency has (EUR has 2)$H bid\"}" ""
  [ "$RC" -eq 2 ] || return 1
  im CC-R1 --json bid it.hour 1 85 --tof x
  want 2 "{\"v\":1,\"type\":\"error\",\"id\":\"\",\"code\":\"usage\",\"field\":\"tof\",\"message\":\"--tof: not an option of imx bid$H bid\"}" "" || return 1
  im CC-R1 --json frobnicate
  want 2 '{"v":1,"type":"error","id":"","code":"usage","field":"command","message":"frobnicate: no such command (imx help lists them)"}' "" || return 1
  im - --json book it.hour
  want 2 '{"v":1,"type":"error","id":"","code":"usage","field":"token","message":"no token: set IMX_TOKEN or give --token"}' "" || return 1
  im CC-R1 --json --url tcp://127.0.0.1:1 book it.hour
  [ "$RC" -eq 3 ] && [ -z "$ERR" ] &&
    [[ "$OUT" == '{"v":1,"type":"error","id":"","code":"no_reply","field":"url","message":"tcp://127.0.0.1:1: Connection refused"}' ]] ||
    { echo "  rc $RC [$OUT] [$ERR]"; return 1; }
  # The daemon's error reply as it came, its id included.
  im CC-R1 --json bid it.hour 100 90
  [ "$RC" -eq 1 ] && [ -z "$ERR" ] &&
    [[ "$OUT" == '{"v":1,"type":"error","id":"imx-'*'","code":"insufficient_budget","field":"price","message":"budget left: 830.00 EUR","reason":"insufficient_budget"}' ]] ||
    { echo "  rc $RC [$OUT] [$ERR]"; return 1; }
  im CC-R2 --json trades --for CC-R1
  [ "$RC" -eq 1 ] && [[ "$OUT" == *'"code":"forbidden","field":"cc",'*'"reason":"not_own_trades"}' ]] ||
    { echo "  rc $RC [$OUT]"; return 1; }
}
check json_errors_are_one_json_object_and_the_exit_status_says_which json_errors

# ----------------------------------------------------- watch, trades --for

watch_unknown_service() {
  want_err CC-R2 1 "imx watch: unknown_service: service: no such service" watch no.such --count 1 &&
    want_err CC-R2 1 "imx watch: unknown_service: service: no such service" watch it.hour no.such --count 1 &&
    want_err CC-R2 1 "imx watch: unknown_cc: cc: no such cost centre" watch cc:CC-NOBODY --count 1 &&
    want_err - 2 "imx watch: no token: set IMX_TOKEN or give --token" watch it.hour --count 1
}
check watch_of_an_unknown_service_is_an_error watch_unknown_service

watch_shows_major_units() {
  IMX_URL=$URL_main IMX_PUB_URL=$PUB_main IMX_TOKEN=test-token-CC-R2 "$imx" watch it.hour --count 2 \
    >"$tmp/watch.out" 2>&1 &
  local w=$!
  pids+=("$w")
  wait_connected "$PUB_main" || return 1
  sleep 0.3
  im CC-R2 bid it.hour 1 85 || return 1
  for _ in $(seq 50); do
    kill -0 "$w" 2>/dev/null || break
    sleep 0.1
  done
  has "$(cat "$tmp/watch.out")" '^it.hour +trade [0-9]+: 1 at 85.00, [0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+00:00$' &&
    has "$(cat "$tmp/watch.out")" '^it.hour +no bids, best offer 85.00 x 7$'
}
check watch_prints_trades_and_prices_in_major_units watch_shows_major_units

trades_for_others() {
  want_err CC-R2 1 "imx trades: forbidden: cc: only finance and admin see the trades of other cost centres" \
    trades --for CC-R1 &&
    want_err CC-P2 1 "imx trades: forbidden: cc: only finance and admin see the trades of other cost centres" \
    trades it.hour --for CC-P1 &&
    want_err CC-R2 1 "imx trades: unknown_cc: cc: no such cost centre" trades --for CC-NOBODY &&
    im CC-R2 trades --for CC-R2 && [ "$RC" -eq 0 ] && has "$OUT" ' Receiver Two +Provider One ' &&
    im CC-FIN trades --for CC-R1 && [ "$RC" -eq 0 ] && has "$OUT" ' Receiver One +Provider One ' &&
    ! has "$OUT" ' Receiver Two ' >/dev/null &&
    im CC-ADM trades --for CC-R1 && [ "$RC" -eq 0 ] && has "$OUT" ' Receiver One +Provider One '
}
check trades_of_another_cost_centre_are_forbidden_not_empty trades_for_others

# -------------------------------------------------------------- trade times

iso_times() {
  im CC-R1 --json trades --limit 1 || return 1
  local ms want
  ms=$(grep -o '"time_ms":[0-9]*' <<<"$OUT" | cut -d: -f2)
  [ -n "$ms" ] || return 1
  want=$(TZ=UTC date -d "@$((ms / 1000))" +%Y-%m-%dT%H:%M:%S+00:00)
  im CC-R1 trades --limit 1 && has "$OUT" "  ${want//+/\\+}\$" || return 1
  if [ -e /usr/share/zoneinfo/Asia/Kolkata ]; then
    want=$(TZ=Asia/Kolkata date -d "@$((ms / 1000))" +%Y-%m-%dT%H:%M:%S+05:30)
    TZ=Asia/Kolkata im CC-R1 trades --limit 1 && has "$OUT" "  ${want//+/\\+}\$"
  fi
}
check trades_show_their_time_in_iso_8601_local_time iso_times

# ----------------------------------------------------- other currencies

# other_market NAME CURRENCY-FIELDS: a market of one service (tick 1) with a
# provider NAME-P and a receiver NAME-R (budget 1,000,000 minor units).
other_market() {
  local hp hr
  hp=$(printf %s "$1-P" | sha256sum | cut -d' ' -f1)
  hr=$(printf %s "$1-R" | sha256sum | cut -d' ' -f1)
  printf '{%s,"services":[{"id":"s","unit":"u","tick":1,"lot":1}],
"cost_centres":[{"id":"P","name":"P","site":"A","roles":["provider"],"budget":0,"capacities":{"s":100},"token_hash":"%s"},
{"id":"R","name":"R","site":"A","roles":["receiver"],"budget":1000000,"token_hash":"%s"}]}' \
    "$2" "$hp" "$hr" >"$tmp/$1.json"
}
in_market() { # in_market NAME WHO imx-args...
  local name=$1 who=$2 url_var="URL_$1"
  shift 2
  IMX_URL=${!url_var} IMX_TOKEN=$name-$who "$imx" "$@" >"$tmp/out" 2>"$tmp/err"
  RC=$? OUT=$(cat "$tmp/out") ERR=$(cat "$tmp/err")
}

yen() {
  other_market yen '"currency":"JPY"'
  market=$tmp/yen.json start_daemon yen
  in_market yen P offer s 5 1500 && want 0 "order 1 open: 0 filled, 5 open" "" &&
    in_market yen R book s && has "$OUT" '\| 1500 +5  P \(A\)$' &&
    in_market yen R bid s 1 1500.5 &&
    want 2 "" "imx bid: PRICE: '1500.5': has decimals, but the currency has none (JPY has 0)$H bid" &&
    in_market yen R bid s 1000 1500 &&
    want 1 "" "imx bid: insufficient_budget: price: budget left: 1000000 JPY" &&
    in_market yen R balance &&
    want 0 "R (R): budget 1000000, reserved 0, spent 0, earned 0, available 1000000 (JPY)" ""
}
check yen_have_no_decimals yen

dinar() {
  other_market kwd '"currency":"KWD"'
  market=$tmp/kwd.json start_daemon kwd
  in_market kwd P offer s 5 1.25 && in_market kwd R book s && has "$OUT" '\| 1.250 +5  P \(A\)$' &&
    in_market kwd R bid s 1 1.2505 &&
    want 2 "" "imx bid: PRICE: '1.2505': has more decimals than the currency has (KWD has 3)$H bid" &&
    in_market kwd R bid s 2 1,250 && has "$OUT" ' 1.250  ' &&
    in_market kwd R balance && has "$OUT" 'spent 2.500, earned 0.000, available 997.500 \(KWD\)$'
}
check kuwaiti_dinars_have_three dinar

unknown_currency() {
  other_market xts '"currency":"XTS"'
  "$imxd" --market "$tmp/xts.json" --db "$tmp/xts.db" --listen tcp://127.0.0.1:0 \
    --publish tcp://127.0.0.1:0 2>"$tmp/xts.log"
  [ $? -eq 1 ] && grep -q 'currency: not an ISO 4217 currency: give its "decimals" (0 to 4) too' "$tmp/xts.log" ||
    { cat "$tmp/xts.log"; return 1; }
  other_market xtd '"currency":"XTS","decimals":1'
  market=$tmp/xtd.json start_daemon xtd
  in_market xtd P offer s 5 2.5 && in_market xtd R book s && has "$OUT" '\| 2.5 +5  P \(A\)$' || return 1
  command -v nngcat >/dev/null || return 0
  local out
  out=$(nngcat --req --dial "$URL_xtd" --format ascii --recv-timeout 5 --data \
    '{"v":1,"type":"hello","id":"h1","token":"xtd-R"}')
  [ "$out" = '{"v":1,"type":"hello.ok","id":"h1","cc":"R","roles":["receiver"],"currency":"XTS","decimals":1}' ] ||
    { echo "  $out"; return 1; }
  # hello without a cc: the token names it, or is unknown.
  out=$(nngcat --req --dial "$URL_xtd" --format ascii --recv-timeout 5 --data \
    '{"v":1,"type":"hello","id":"h2","token":"nobody"}')
  [[ "$out" == *'"code":"unauthorized","field":"token","message":"unknown token"'* ]] ||
    { echo "  $out"; return 1; }
}
check a_currency_outside_iso_4217_needs_its_decimals unknown_currency

# ------------------------------------------------------ the README session

min_stars_bids() {
  local ok=0
  for bad in 0.9 5.1 4.55 x -4 0; do
    want_err CC-R1 2 "imx bid: --min-stars: '$bad': must be 1.0 to 5.0 stars, one decimal at most$H bid" \
      bid it.hour 1 86 --min-stars "$bad" || ok=1
  done
  want_err CC-R1 2 "imx bid: --allow-unrated: only with --min-stars$H bid" bid it.hour 1 86 --allow-unrated || ok=1
  want_err CC-P1 2 "imx offer: --min-stars: not an option of imx offer$H offer" \
    offer it.hour 1 86 --min-stars 4 || ok=1
  # Nobody is rated yet: a bid for 4.5 stars rests although offers at 85
  # cross it; with --allow-unrated it takes them.
  im CC-R1 bid it.hour 2 86 --min-stars 4.5 && want 0 "order 5 open: 0 filled, 2 open" "" || ok=1
  im CC-R1 orders && has "$OUT" '^5 +it.hour +bid +gtc +86.00 +2 +2 +0 min 4.5 stars$' || ok=1
  im CC-R1 --json orders && has "$OUT" '"min_stars":45' || ok=1
  im CC-R1 cancel 5 || ok=1
  im CC-R1 bid it.hour 1 85 --tif ioc --min-stars 4,5 --allow-unrated && has "$OUT" '^order 6 filled: 1 filled, 0 open$' || ok=1
  return $ok
}
check bids_with_min_stars_typed_in_stars min_stars_bids

# readme_session INFO NAME: the README's ```INFO block, run against a fresh
# imxd on the example market: "$ " lines are run (imx is the binary under
# test), the other lines are the output they must print, stdout and stderr
# together; times differ from run to run.
readme_session() {
  local info=$1 name=$2
  awk -v fence="\`\`\`$info" '$0 == fence { on = 1; next } on && /^```$/ { exit } on { print }' \
    "$src/README.md" >"$tmp/$name.md"
  [ "$(grep -c '^\$ ' "$tmp/$name.md")" -ge 8 ] || { echo "  no \`\`\`$info block in README.md"; return 1; }
  market=$src/examples/market.json start_daemon "$name"
  local url_var="URL_$name" pub_var="PUB_$name"
  { echo "imx() { \"$imx\" \"\$@\"; }"
    echo "export IMX_URL=${!url_var} IMX_PUB_URL=${!pub_var}"
    sed -n 's/^\$ //p' "$tmp/$name.md"; } >"$tmp/$name.sh"
  local norm='s/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}/TIME/g'
  TZ=Europe/Berlin bash "$tmp/$name.sh" 2>&1 | sed -E "$norm" >"$tmp/$name.got"
  grep -v '^\$ ' "$tmp/$name.md" | sed -E "$norm" >"$tmp/$name.want"
  diff "$tmp/$name.want" "$tmp/$name.got"
}
check the_readme_session_prints_what_the_readme_shows readme_session console rd
check the_readme_managers_day_prints_what_the_readme_shows readme_session "console managers-day" day

finish
