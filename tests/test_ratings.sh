#!/usr/bin/env bash
# Ratings (issue 13) against a real imxd, through imx and through nngcat:
# the buyer of a trade rates it once, the provider replies once; every
# rule's error names its field and reason; a repeat is answered byte for
# byte; reputations in the book, tender quotes, services.list and cc.get;
# ratings.list for the rater, the provider and finance; the CSV export;
# and all of it the same after a SIGKILL (journal replay) and after a clean
# stop (snapshot).
# usage: test_ratings.sh IMXD IMX SOURCE_DIR
set -u
imxd=$1
imx=$2
src=$3
market=$src/tests/gateway/market.json
. "$(dirname "$0")/lib.sh"

if ! command -v nngcat >/dev/null; then
  echo "nngcat (Debian package nng-utils) is missing"
  echo "0 passed, 1 failed"
  exit 1
fi

start_daemon rate
URL=$URL_rate
as() { # as CC imx-args...: runs imx with CC's token
  local cc=$1
  shift
  IMX_URL=$URL IMX_TOKEN=test-token-$cc IMX_CC=$cc "$imx" "$@"
}
raw() { # raw JSON: one request through nngcat, prints the reply
  nngcat --req --dial "$URL" --format ascii --recv-timeout 5 --data "$1" 2>&1
}
expect_reason() { # expect_reason CODE REASON CC imx-args...: refused with both
  local code=$1 reason=$2 cc=$3
  shift 3
  local out
  out=$(as "$cc" --json "$@" 2>&1)
  local rc=$?
  [ $rc -eq 1 ] && [[ "$out" == *"\"code\":\"$code\""* ]] &&
    [[ "$out" == *"\"field\":\"trade\""* || "$reason" == not_own_ratings ]] &&
    [[ "$out" == *"\"reason\":\"$reason\""* ]] || { echo "  rc $rc: $out"; return 1; }
}

# --------------------------------------------------------------- trades

# Trade 1: R1 buys 4 of P1's offer; trade 2: R2 buys 2 of it.
trades() {
  as CC-P1 offer it.hour 10 85 | grep -q 'order 1 open' &&
    as CC-R1 bid it.hour 4 90 | grep -q 'order 2 filled' &&
    as CC-R2 bid it.hour 2 90 | grep -q 'order 3 filled'
}
check two_trades_to_rate trades

# ------------------------------------------------------------- rating.new

buyer_rates() {
  as CC-R1 rate 1 4 "quick, one ticket reopened" | grep -qx 'trade 1 rated 4 stars (CC-P1, it.hour)'
}
check the_buyer_rates_its_trade buyer_rates

rating_rules() {
  expect_reason forbidden not_buyer CC-R2 rate 1 5 &&          # another buyer's trade
    expect_reason forbidden not_buyer CC-P1 rate 1 5 &&        # the seller: nobody rates itself
    expect_reason forbidden already_rated CC-R1 rate 1 5 &&    # once per trade
    expect_reason not_found unknown_trade CC-R1 rate 99 5 &&   # no such trade
    { as CC-R1 rate 1 6 >/dev/null 2>&1; [ $? -eq 2 ]; } &&   # imx checks 1..5 itself
    has "$(raw '{"v":1,"type":"rating.new","id":"s0","token":"test-token-CC-R2","trade":2,"stars":0}')" \
      '"code":"bad_field"' '"field":"stars"' &&
    has "$(raw '{"v":1,"type":"rating.new","id":"s1","token":"test-token-CC-R2","trade":2,"stars":3.5}')" \
      '"code":"bad_field"' '"field":"stars"' &&
    has "$(raw '{"v":1,"type":"rating.new","id":"s2","token":"test-token-CC-R2","trade":2}')" \
      '"code":"bad_field"' '"field":"stars"' '"message":"missing"'
}
check every_rating_rule_is_an_error_naming_its_field rating_rules

comment_checks() {
  local long
  long=$(printf 'x%.0s' $(seq 501))
  has "$(raw "{\"v\":1,\"type\":\"rating.new\",\"id\":\"c1\",\"token\":\"test-token-CC-R2\",\"trade\":2,\"stars\":3,\"comment\":\"$long\"}")" \
    '"code":"bad_field"' '"field":"comment"' 'must be 1 to 500 bytes long' &&
    has "$(raw '{"v":1,"type":"rating.new","id":"c2","token":"test-token-CC-R2","trade":2,"stars":3,"comment":"a\u0007b"}')" \
      '"code":"bad_field"' '"field":"comment"' &&
    has "$(printf '{"v":1,"type":"rating.new","id":"c3","token":"test-token-CC-R2","trade":2,"stars":3,"comment":"\xff"}' |
      nngcat --req --dial "$URL" --format ascii --recv-timeout 5 --file - 2>&1)" \
      '"code":"bad_json"' 'not valid UTF-8' &&
    { as CC-R2 rate 2 3 "$long" >/dev/null 2>&1; [ $? -eq 2 ]; } &&
    # none of them rated trade 2
    expect_reason not_found not_rated CC-P1 rating reply 2 "thanks"
}
check a_comment_is_checked_like_every_string comment_checks

repeat_same_bytes() {
  local req='{"v":1,"type":"rating.new","id":"r2","token":"test-token-CC-R2","trade":2,"stars":2,"comment":"M\u00fcnchen was late"}'
  local first again other
  first=$(raw "$req")
  again=$(raw "$req")
  has "$first" '"type":"rating.new.ok"' '"trade":2' '"stars":2' '"provider":"CC-P1"' &&
    [ "$first" = "$again" ] || { echo "  first: $first"; echo "  again: $again"; return 1; }
  other=$(raw '{"v":1,"type":"rating.new","id":"r2","token":"test-token-CC-R2","trade":2,"stars":5}')
  has "$other" '"code":"duplicate_id"'
}
check a_repeated_rating_is_answered_byte_for_byte repeat_same_bytes

# ----------------------------------------------------------- rating.reply

replies() {
  expect_reason forbidden not_seller CC-R1 rating reply 1 "me too" &&
    as CC-P1 rating reply 1 "fixed for good now" | grep -qx 'reply to the rating of trade 1 given' &&
    expect_reason forbidden already_replied CC-P1 rating reply 1 "again" &&
    { as CC-P1 rating reply 1 >/dev/null 2>&1; [ $? -eq 2 ]; } # the comment is required
}
check the_provider_replies_once replies

# ------------------------------------------------------------- reputation

# P1 for it.hour: 4 + 2 stars over 2 ratings: 3.0.
reputation_shown() {
  as CC-P1 offer it.hour 3 86 | grep -q 'order 4 open' &&
    as CC-P1 book it.hour | grep -q '85.00 .* Provider One (A), your order 1, 3.0 stars (2 ratings)' ||
    { as CC-P1 book it.hour; return 1; }
  has "$(raw '{"v":1,"type":"book.get","id":"b","token":"test-token-CC-R1","service":"it.hour"}')" \
    '"ratings":2,"stars_sum":6,"ratings_90d":2,"stars_sum_90d":6' &&
    as CC-R1 who CC-P1 | grep -q 'Provider One (CC-P1)' &&
    as CC-R1 who CC-P1 | grep -q 'it.hour (it.hour), rated 3.0 (2), 90 days 3.0 (2)' &&
    has "$(raw '{"v":1,"type":"cc.get","id":"g","token":"test-token-CC-R1","cc":"CC-P1"}')" \
      '"reputation":[{"service":"it.hour","ratings":2,"stars_sum":6,"ratings_90d":2,"stars_sum_90d":6},{"service":"truck.day","ratings":0,' &&
    as CC-R1 services | grep -q 'rated 3.0 (2), 90 days 3.0 (2)' &&
    has "$(raw '{"v":1,"type":"services.list","id":"s","token":"test-token-CC-R1"}')" \
      '"last_time_ms":' '"ratings":2,"stars_sum":6'
}
check reputation_in_book_who_and_services reputation_shown

reputation_in_quotes() {
  as CC-R1 tender it.hour 1 100 600 --decide choose | grep -q 'tender 1 open' &&
    as CC-P1 quote 1 90 | grep -q 'quote 1 on tender 1' &&
    as CC-P2 quote 1 80 | grep -q 'quote 2 on tender 1' &&
    as CC-R1 tender show 1 | grep -qE '^1 +Provider One .* 90.00  rated 3.0 \(2\), 90 days 3.0 \(2\)$' &&
    as CC-R1 tender show 1 | grep -qE '^2 +Provider Two .* 80.00$' &&
    has "$(raw '{"v":1,"type":"tender.get","id":"t","token":"test-token-CC-R1","tender":1}')" \
      '"provider":"CC-P2","name":"Provider Two","site":"B","price":8000,"ratings":0,'
}
check tender_quotes_show_the_providers_reputation reputation_in_quotes

# A tender's trade: its buyer is the tender's receiver, its provider the
# winning quote's.
tender_trade_rated() {
  as CC-R1 tender award 1 2 | grep -q 'tender 1 awarded to quote 2' &&
    expect_reason forbidden not_buyer CC-P2 rate 3 5 &&
    as CC-R1 rate 3 5 "on time" | grep -qx 'trade 3 rated 5 stars (CC-P2, it.hour)' &&
    as CC-R1 who CC-P2 | grep -q 'it.hour (it.hour), rated 5.0 (1), 90 days 5.0 (1)'
}
check a_tenders_trade_is_rated_by_its_receiver tender_trade_rated

# ------------------------------------------------------------ ratings.list

lists() {
  local r1 p1 fin
  r1=$(as CC-R1 ratings) && p1=$(as CC-P1 ratings) && fin=$(as CC-FIN ratings) || return 1
  has "$r1" 'trade 1 it.hour: 4 stars from Receiver One (CC-R1) to Provider One (CC-P1)' \
    '"quick, one ticket reopened"' 'reply: "fixed for good now"' 'trade 3 it.hour: 5 stars' &&
    [[ "$r1" != *'trade 2'* ]] &&
    has "$p1" 'trade 2 it.hour: 2 stars from Receiver Two (CC-R2)' 'trade 1 it.hour: 4 stars' &&
    [[ "$p1" != *'trade 3'* ]] &&
    has "$fin" 'trade 3' 'trade 2' 'trade 1' &&
    # newest first, and paged with --before
    [ "$(echo "$fin" | grep -c '^trade ')" -eq 3 ] &&
    echo "$fin" | head -1 | grep -q '^trade 3 ' &&
    [ "$(as CC-FIN ratings --limit 1 | grep -c '^trade ')" -eq 1 ] &&
    as CC-FIN ratings --before 2 | grep -q '^trade 1 ' &&
    ! as CC-FIN ratings --before 2 | grep -q '^trade 2 ' &&
    as CC-FIN ratings CC-R2 | grep -q '^trade 2 ' &&
    as CC-FIN ratings --service truck.day | grep -qx 'no ratings' &&
    expect_reason forbidden not_own_ratings CC-R2 ratings CC-P1 &&
    has "$(raw '{"v":1,"type":"ratings.list","id":"l","token":"test-token-CC-P2","service":"truck.day"}')" '"ratings":[]' &&
    has "$(raw '{"v":1,"type":"ratings.list","id":"l","token":"test-token-CC-FIN","limit":101}')" \
      '"code":"bad_field"' '"field":"limit"' &&
    has "$(raw '{"v":1,"type":"ratings.list","id":"l","token":"test-token-CC-FIN","service":"nope"}')" \
      '"code":"unknown_service"'
}
check ratings_list_for_rater_provider_and_finance lists

# ---------------------------------------------------------- restarts

state() { # what must survive: the ratings, the reputations, the rules
  raw '{"v":1,"type":"ratings.list","id":"x","token":"test-token-CC-FIN"}'
  raw '{"v":1,"type":"cc.get","id":"x","token":"test-token-CC-R1","cc":"CC-P1"}'
  raw '{"v":1,"type":"rating.new","id":"again","token":"test-token-CC-R1","trade":1,"stars":1}'
  raw '{"v":1,"type":"rating.reply","id":"again","token":"test-token-CC-P1","trade":1,"comment":"x"}'
}
survives_a_crash() {
  state >"$tmp/before" || return 1
  grep -q '"reason":"already_rated"' "$tmp/before" && grep -q '"reason":"already_replied"' "$tmp/before" ||
    { cat "$tmp/before"; return 1; }
  kill -KILL "$PID_rate"
  wait "$PID_rate" 2>/dev/null
  start_daemon crash --db "$tmp/rate.db"
  URL=$URL_crash
  grep -q 'the whole journal, [0-9]* entries replayed' "$tmp/crash.log" || { cat "$tmp/crash.log"; return 1; }
  state | diff "$tmp/before" -
}
check ratings_and_reputations_survive_sigkill_and_replay survives_a_crash

survives_a_snapshot() {
  kill -TERM "$PID_crash" && wait "$PID_crash" || return 1
  start_daemon snap --db "$tmp/rate.db"
  URL=$URL_snap
  grep -q 'the snapshot of journal entry [0-9]* read' "$tmp/snap.log" || { cat "$tmp/snap.log"; return 1; }
  state | diff "$tmp/before" - &&
    # and the market goes on: R1 buys again and rates the new trade
    as CC-R1 bid it.hour 1 90 | grep -q 'filled' &&
    as CC-R1 rate 4 5 | grep -qx 'trade 4 rated 5 stars (CC-P1, it.hour)' &&
    as CC-R1 who CC-P1 | grep -q 'rated 3.7 (3)' # 11 / 3 = 3.67: 3.7
}
check ratings_and_reputations_survive_a_snapshot survives_a_snapshot

# Ratings feed matching: P1 has 3 ratings (11 stars: 3.67), P2 none; a bid
# with --min-stars 3.5 passes P2's cheaper offer by and buys from P1, one
# with 3.7 buys from nobody.
ratings_drive_min_stars() {
  as CC-P2 offer it.hour 1 80 | grep -q 'open' &&
    as CC-R2 bid it.hour 1 90 --min-stars 3.7 --tif ioc | grep -q 'cancelled' &&
    as CC-R2 bid it.hour 1 90 --min-stars 3.5 | grep -qE '^[0-9]+ +it.hour +Receiver Two +Provider One +1 +85.00'
}
check ratings_drive_min_stars_bids ratings_drive_min_stars

# ---------------------------------------------------------------- export

exported() {
  kill -TERM "$PID_snap" && wait "$PID_snap" || return 1
  "$imx" ledger verify --db "$tmp/rate.db" --market "$market" >/dev/null || return 1
  "$imx" export --db "$tmp/rate.db" --market "$market" --format ratings >"$tmp/ratings.csv" || return 1
  head -1 "$tmp/ratings.csv" | grep -qx 'trade,service,provider,rater,stars,comment,rated,reply,replied' &&
    grep -qE '^1,it.hour,CC-P1,CC-R1,4,"quick, one ticket reopened",[0-9-]+T[0-9:]+Z,"fixed for good now",[0-9-]+T[0-9:]+Z$' "$tmp/ratings.csv" &&
    grep -qE '^2,it.hour,CC-P1,CC-R2,2,"München was late",[0-9-]+T[0-9:]+Z,,$' "$tmp/ratings.csv" &&
    grep -qE '^3,it.hour,CC-P2,CC-R1,5,"on time",[0-9-]+T[0-9:]+Z,,$' "$tmp/ratings.csv" &&
    grep -qE '^4,it.hour,CC-P1,CC-R1,5,,[0-9-]+T[0-9:]+Z,,$' "$tmp/ratings.csv" &&
    [ "$(wc -l <"$tmp/ratings.csv")" -eq 5 ] &&
    { "$imx" export --db "$tmp/rate.db" --market "$market" --format ratings --period 1 >/dev/null 2>&1
      [ $? -eq 2 ]; }
}
check ratings_export_as_csv exported

# Comments and replies are text people typed: one that a spreadsheet would
# run as a formula (=, +, -, @ first) is exported with an apostrophe before
# it; other text is untouched. A daemon of its own, four trades of R1's.
formula_guard() {
  start_daemon csv --db "$tmp/csv.db" || return 1
  local u=$URL_csv k
  IMX_URL=$u IMX_TOKEN=test-token-CC-P1 "$imx" offer it.hour 10 85 >/dev/null || return 1
  for k in 1 2 3 4 5; do
    IMX_URL=$u IMX_TOKEN=test-token-CC-R1 "$imx" bid it.hour 1 90 >/dev/null || return 1
  done
  local c=(
    '=HYPERLINK(\"http://x\",\"y\")'
    '+49 call me'
    '-2 stars, sadly'
    '@SUM(A1:A2)'
    'fine - no formula'
  )
  for k in 1 2 3 4 5; do
    has "$(nngcat --req --dial "$u" --format ascii --recv-timeout 5 --data \
      "{\"v\":1,\"type\":\"rating.new\",\"id\":\"f$k\",\"token\":\"test-token-CC-R1\",\"trade\":$k,\"stars\":3,\"comment\":\"${c[$((k - 1))]}\"}" 2>&1)" \
      '"type":"rating.new.ok"' || return 1
  done
  has "$(nngcat --req --dial "$u" --format ascii --recv-timeout 5 --data \
    '{"v":1,"type":"rating.reply","id":"fr","token":"test-token-CC-P1","trade":4,"comment":"=cmd|calc!A0"}' 2>&1)" \
    '"type":"rating.reply.ok"' || return 1
  kill -TERM "$PID_csv" && wait "$PID_csv" || return 1
  "$imx" export --db "$tmp/csv.db" --market "$market" --format ratings >"$tmp/formula.csv" || return 1
  local t='[0-9-]+T[0-9:]+Z'
  grep -qE "^1,it.hour,CC-P1,CC-R1,3,\"'=HYPERLINK\(\"\"http://x\"\",\"\"y\"\"\)\",$t,,\$" "$tmp/formula.csv" &&
    grep -qE "^2,it.hour,CC-P1,CC-R1,3,\"'\+49 call me\",$t,,\$" "$tmp/formula.csv" &&
    grep -qE "^3,it.hour,CC-P1,CC-R1,3,\"'-2 stars, sadly\",$t,,\$" "$tmp/formula.csv" &&
    grep -qE "^4,it.hour,CC-P1,CC-R1,3,'@SUM\(A1:A2\),$t,'=cmd\|calc!A0,$t\$" "$tmp/formula.csv" &&
    grep -qE "^5,it.hour,CC-P1,CC-R1,3,\"fine - no formula\",$t,,\$" "$tmp/formula.csv" ||
    { cat "$tmp/formula.csv"; return 1; }
}
check ratings_export_guards_against_spreadsheet_formulas formula_guard

# ------------------------------------------------- the README's example

# The commands of README.md's block after "## Ratings", on a fresh daemon on
# the example market after the README's two trades; each output (stdout
# and stderr) must be the README's lines, with the time as a placeholder.
readme_example() {
  market=$src/examples/market.json start_daemon readme
  local r=(env IMX_URL="$URL_readme")
  "${r[@]}" IMX_TOKEN=demo-CC-4100 "$imx" offer it.helpdesk.hour 40 85 >/dev/null &&
    "${r[@]}" IMX_TOKEN=demo-CC-1100 "$imx" bid it.helpdesk.hour 25 90 >/dev/null &&
    "${r[@]}" IMX_TOKEN=demo-CC-1200 "$imx" bid it.helpdesk.hour 5 90 >/dev/null || return 1
  awk '/^## Ratings$/ {f = 1}
       f && /^```sh$/ {b = 1; next}
       b && /^```$/ {exit}
       b' "$src/README.md" >"$tmp/readme.block"
  local commands=0 ok=1 n=0
  while IFS= read -r line || [ -n "$line" ]; do
    if [[ "$line" == '$ '* ]]; then
      n=$((n + 1))
      eval "words=(${line#\$ })"
      [ "${words[1]}" = build/gateway/imx ] || { echo "  not an imx command: $line"; return 1; }
      words[1]=$imx
      "${r[@]}" "${words[@]}" >"$tmp/readme.got.$n" 2>&1
      : >"$tmp/readme.want.$n"
      commands=$n
    else
      printf '%s\n' "$line" >>"$tmp/readme.want.$n"
    fi
  done <"$tmp/readme.block"
  [ "$commands" -eq 8 ] || { echo "  want 8 commands in the README block, found $commands"; return 1; }
  local time='s/[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}([+-][0-9]{2}:[0-9]{2})?/TIME/'
  for i in $(seq "$commands"); do
    sed -E "$time" "$tmp/readme.got.$i" >"$tmp/readme.got"
    sed -E "$time" "$tmp/readme.want.$i" | diff -u - "$tmp/readme.got" || ok=0
  done
  [ "$ok" -eq 1 ]
}
check readme_ratings_example_is_what_imx_prints readme_example

finish
