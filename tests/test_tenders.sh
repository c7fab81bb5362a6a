#!/usr/bin/env bash
# Tenders against a real imxd (docs/protocol.md, tender.*, quote.*): a
# tender decided by the buyer's choice, through imx and through nngcat, its
# market data on the service's topic and on the cost centres' own topics,
# the sealed view of a provider, a choose tender that lapses, and a tender
# decided by score (weights, scores, the award's score). Every
# daemon listens on free loopback ports and is stopped at the end.
# usage: test_tenders.sh IMXD IMX SOURCE_DIR
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

start_daemon main
as() { # as CC imx-args...: runs imx with CC's token
  local cc=$1
  shift
  IMX_URL=$URL_main IMX_PUB_URL=$PUB_main IMX_TOKEN=test-token-$cc IMX_CC=$cc \
    "$imx" "$@"
}
raw() { # raw JSON: one request through nngcat, prints the reply
  nngcat --req --dial "$URL_main" --format ascii --recv-timeout 5 --data "$1" 2>&1
}
watch_bg() { # watch_bg FILE TOPIC...: imx --json watch in the background
  local out=$1
  shift
  IMX_URL=$URL_main IMX_PUB_URL=$PUB_main IMX_TOKEN=test-token-CC-FIN "$imx" --json watch "$@" \
    >"$out" 2>&1 &
  pids+=($!)
}
wait_for() { # wait_for FILE PATTERN: up to 5 s for PATTERN to appear
  for _ in $(seq 50); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  echo "  $1 has no $2:"
  cat "$1"
  return 1
}

watch_bg "$tmp/md.service" it.hour
watch_bg "$tmp/md.R1" cc:CC-R1
watch_bg "$tmp/md.P2" cc:CC-P2
watch_bg "$tmp/md.P1" cc:CC-P1
sleep 1 # the subscribers connect (PUB drops what comes before)

# ------------------------------------------- a tender decided by choice

choose_tender_opens() {
  as CC-R1 tender it.hour 2 20 60 --decide choose >"$tmp/t1" &&
    grep -q '^tender 1 open$' "$tmp/t1"
}
check a_choose_tender_opens choose_tender_opens

providers_see_the_new_job() {
  wait_for "$tmp/md.service" '"type":"tender.opened","service":"it.hour","tender":1,"buyer":"CC-R1","qty":2,"ceiling":2000,' &&
    grep -q '"decide":"choose"' "$tmp/md.service" &&
    as CC-P2 tenders | grep -qE '^1 +it.hour +Receiver One +2 +20.00 +choose +0 '
}
check providers_see_the_new_job providers_see_the_new_job

two_quotes() {
  as CC-P1 quote 1 15 | grep -q 'quote 1 on tender 1' &&
    as CC-P2 quote 1 18 | grep -q 'quote 2 on tender 1'
}
check two_providers_quote two_quotes

buyer_hears_of_quotes_without_prices() {
  wait_for "$tmp/md.R1" '"type":"tender.quoted","service":"it.hour","tender":1,"buyer":"CC-R1","quote_count":2}' &&
    ! grep -q '1500\|1800' "$tmp/md.R1"
}
check buyer_hears_of_quotes_without_their_prices buyer_hears_of_quotes_without_prices

buyer_sees_every_quote() {
  as CC-R1 tender show 1 >"$tmp/show.R1" &&
    grep -q 'tender 1: 2 x it.hour for Receiver One (A), ceiling 20.00, decide choose' "$tmp/show.R1" &&
    grep -qE '^1 +Provider One +A +15.00$' "$tmp/show.R1" &&
    grep -qE '^2 +Provider Two +B +18.00$' "$tmp/show.R1"
}
check the_buyer_sees_every_quote_with_name_and_site buyer_sees_every_quote

provider_sees_only_its_own_quote() {
  as CC-P1 tender show 1 >"$tmp/show.P1" &&
    grep -qE '^1 +Provider One +A +15.00$' "$tmp/show.P1" &&
    ! grep -q 'Provider Two\|18.00' "$tmp/show.P1" &&
    as CC-P2 tenders | grep -q 'your quote 2 at 18.00'
}
check a_provider_sees_only_its_own_quote provider_sees_only_its_own_quote

others_get_not_found() {
  local out
  out=$(as CC-R2 tender show 1 2>&1)
  [ $? -eq 1 ] && [[ "$out" == *"not_found: tender"* ]] || { echo "  $out"; return 1; }
  out=$(as CC-P1 tender award 1 1 2>&1)
  [ $? -eq 1 ] && [[ "$out" == *"not_found: tender"* ]] || { echo "  $out"; return 1; }
}
check others_get_not_found_and_cannot_award others_get_not_found

award_the_dearer_quote() {
  as CC-R1 tender award 1 2 >"$tmp/award" &&
    grep -q '^tender 1 awarded to quote 2$' "$tmp/award" &&
    grep -qE 'it.hour +Receiver One +Provider Two +2 +18.00' "$tmp/award" &&
    as CC-R1 trades it.hour | grep -qE 'it.hour +Receiver One +Provider Two +2 +18.00' &&
    as CC-R1 balance | grep -q 'spent 36.00, earned 0.00' &&
    as CC-P2 balance | grep -q 'earned 36.00'
}
check the_buyer_awards_the_dearer_quote_and_it_trades_at_its_price award_the_dearer_quote

award_market_data() {
  wait_for "$tmp/md.service" '"type":"trade","service":"it.hour","trade":1,"qty":2,"price":1800' &&
    wait_for "$tmp/md.R1" '"type":"tender.awarded","service":"it.hour","tender":1,"quote":2,"buyer":"CC-R1","seller":"CC-P2","qty":2,"price":1800,"trade":1}' &&
    wait_for "$tmp/md.P2" '"type":"tender.awarded","service":"it.hour","tender":1,"quote":2' &&
    ! grep -q 'tender.awarded' "$tmp/md.P1"
}
check buyer_and_winner_hear_of_the_award_the_loser_does_not award_market_data

awarded_tender_is_gone() {
  ! as CC-R1 tenders | grep -qE '^1 ' &&
    as CC-P1 balance | grep -q 'it.hour .*reserved 0,'
}
check an_awarded_tender_is_no_longer_listed_and_quotes_are_released awarded_tender_is_gone

# ------------------------------------------------- raw client, repeats

raw_choose_flow() {
  local out
  out=$(raw '{"v":1,"type":"tender.new","id":"rn","token":"test-token-CC-R2","service":"it.hour","qty":1,"ceiling":3000,"deadline_ms":60000,"decide":"choose"}')
  [[ "$out" == *'"type":"tender.new.ok","id":"rn","tender":2'* ]] || { echo "  $out"; return 1; }
  out=$(raw '{"v":1,"type":"tender.quote","id":"rq","token":"test-token-CC-P1","tender":2,"price":2500}')
  [[ "$out" == *'"quote":3'* ]] || { echo "  $out"; return 1; }
  out=$(raw '{"v":1,"type":"tender.get","id":"rg","token":"test-token-CC-R2","tender":2}')
  [[ "$out" == *'"decide":"choose","quote_count":1,"buyer_name":"Receiver Two","buyer_site":"B","status":"open","quotes":[{"quote":3,"provider":"CC-P1","name":"Provider One","site":"A","price":2500,"ratings":0,"stars_sum":0,"ratings_90d":0,"stars_sum_90d":0}]'* ]] ||
    { echo "  $out"; return 1; }
  local award='{"v":1,"type":"tender.award","id":"ra","token":"test-token-CC-R2","tender":2,"quote":3}'
  local first again
  first=$(raw "$award")
  [[ "$first" == *'"type":"tender.award.ok","id":"ra","tender":2,"quote":3,"trades":[{"trade":2,'* ]] || { echo "  $first"; return 1; }
  again=$(raw "$award")
  [ "$first" = "$again" ] || { echo "  first $first"; echo "  again $again"; return 1; }
  [ "$(as CC-FIN trades | grep -c 'Receiver Two')" -eq 1 ] || { as CC-FIN trades; return 1; }
}
check nngcat_choose_flow_and_a_repeated_award_is_the_same_reply raw_choose_flow

raw_errors() {
  local out
  out=$(raw '{"v":1,"type":"tender.award","id":"e1","token":"test-token-CC-R2","tender":2,"quote":3}')
  [[ "$out" == *'"code":"not_found","field":"tender"'*'"reason":"unknown_tender"'* ]] || { echo "  $out"; return 1; }
  out=$(raw '{"v":1,"type":"quote.withdraw","id":"e2","token":"test-token-CC-P1"}')
  [[ "$out" == *'"code":"bad_field","field":"quote"'* ]] || { echo "  $out"; return 1; }
  out=$(raw '{"v":1,"type":"tender.new","id":"e3","token":"test-token-CC-R1","service":"it.hour","qty":1,"ceiling":100,"deadline_ms":1000,"decide":"best"}')
  [[ "$out" == *'"code":"bad_field","field":"decide"'* ]] || { echo "  $out"; return 1; }
  out=$(raw '{"v":1,"type":"tender.new","id":"e4","token":"test-token-CC-R1","service":"it.hour","qty":1,"ceiling":2000,"deadline_ms":60000}')
  [[ "$out" == *'"tender":3'* ]] || { echo "  $out"; return 1; }
  raw '{"v":1,"type":"tender.quote","id":"e5","token":"test-token-CC-P2","tender":3,"price":1000}' >/dev/null
  out=$(raw '{"v":1,"type":"tender.award","id":"e6","token":"test-token-CC-R1","tender":3,"quote":4}')
  [[ "$out" == *'"code":"forbidden","field":"tender"'*'"reason":"wrong_decide"'* ]] || { echo "  $out"; return 1; }
  out=$(raw '{"v":1,"type":"tender.cancel","id":"e7","token":"test-token-CC-R1","tender":3}')
  [[ "$out" == *'"type":"tender.cancel.ok","id":"e7","tender":3}'* ]] || { echo "  $out"; return 1; }
}
check errors_name_their_field_and_reason raw_errors

withdraw_by_cli() {
  as CC-R1 tender it.hour 1 20 60 --decide choose | grep -q 'tender 4 open' &&
    as CC-P1 quote 4 12 | grep -q 'quote 5 on tender 4' &&
    as CC-P1 quote withdraw 5 | grep -q 'quote 5 on tender 4 withdrawn' &&
    as CC-R1 tender show 4 | grep -q ', 0 quotes' &&
    as CC-R1 tender cancel 4 | grep -q 'tender 4 cancelled'
}
check a_provider_withdraws_and_the_buyer_cancels withdraw_by_cli

# ------------------------------------------------------------- a lapse

choose_tender_lapses() {
  as CC-R1 tender it.hour 1 20 1 --decide choose | grep -q 'tender 5 open' &&
    as CC-P2 quote 5 19 >/dev/null &&
    as CC-R1 balance | grep -q 'reserved 20.00' &&
    wait_for "$tmp/md.R1" '"type":"tender.lapsed","service":"it.hour","tender":5,"buyer":"CC-R1","qty":1,"why":"no_award"}' &&
    as CC-R1 balance | grep -q 'reserved 0.00' &&
    as CC-P2 balance | grep -q 'it.hour .*reserved 0,' &&
    ! as CC-R1 tenders | grep -qE '^5 '
}
check a_choose_tender_without_an_award_lapses_and_says_so choose_tender_lapses

lowest_without_quotes_is_not_silent() {
  as CC-R1 tender it.hour 1 20 1 | grep -q 'tender 6 open' &&
    wait_for "$tmp/md.R1" '"tender":6,"buyer":"CC-R1","qty":1,"why":"no_quotes"}'
}
check a_lowest_tender_without_quotes_tells_its_buyer lowest_without_quotes_is_not_silent

watch_prints_tender_lines() {
  local out
  out=$(IMX_URL=$URL_main IMX_PUB_URL=$PUB_main IMX_TOKEN=test-token-CC-FIN timeout 10 \
    "$imx" watch cc:CC-R1 --count 1 2>&1 &
    sleep 1
    as CC-R1 tender it.hour 1 20 1 --decide choose >/dev/null
    wait)
  [[ "$out" == *"tender 7 lapsed: no award by the deadline"* ]] || { echo "  $out"; return 1; }
}
check imx_watch_prints_a_lapse watch_prints_tender_lines

# ------------------------------------------- a tender decided by score

# A second market whose providers are rated after one rating (ratings_min 1):
# P1 is rated 5 stars, P2 1 star. With weights 40/60 of a ceiling of 20.00,
# P1's 15.00 scores 40 x 0.25 + 60 x 1.0 = 70.0 and P2's cheaper 14.00
# 40 x 0.3 + 60 x 0.2 = 24.0: P1 wins, at its price.
sed 's/^{$/{ "ratings_min": 1,/' "$src/tests/gateway/market.json" >"$tmp/score-market.json"
market=$tmp/score-market.json
start_daemon score
sc() { # sc CC imx-args...: imx on the score market with CC's token
  local cc=$1
  shift
  IMX_URL=$URL_score IMX_PUB_URL=$PUB_score IMX_TOKEN=test-token-$cc IMX_CC=$cc "$imx" "$@"
}

score_market_rated() {
  sc CC-P1 offer it.hour 1 10 >/dev/null && sc CC-R1 bid it.hour 1 10 >/dev/null &&
    sc CC-P2 offer it.hour 1 10 >/dev/null && sc CC-R2 bid it.hour 1 10 >/dev/null &&
    sc CC-R1 rate 1 5 >/dev/null && sc CC-R2 rate 2 1 >/dev/null &&
    sc CC-R1 who CC-P1 | grep -q 'it.hour' || { sc CC-R1 trades; return 1; }
}
check the_score_market_has_two_rated_providers score_market_rated

score_usage_errors() {
  local out
  out=$(sc CC-R1 tender it.hour 2 20 60 --decide score 2>&1)
  [ $? -eq 2 ] && [[ "$out" == *"--weights"*"missing"* ]] || { echo "  $out"; return 1; }
  out=$(sc CC-R1 tender it.hour 2 20 60 --decide score --weights 60/50 2>&1)
  [ $? -eq 2 ] && [[ "$out" == *"--weights"*"summing to 100"* ]] || { echo "  $out"; return 1; }
  out=$(sc CC-R1 tender it.hour 2 20 60 --decide score --weights 60-40 2>&1)
  [ $? -eq 2 ] || { echo "  $out"; return 1; }
  out=$(sc CC-R1 tender it.hour 2 20 60 --decide choose --weights 60/40 2>&1)
  [ $? -eq 2 ] && [[ "$out" == *"--weights"*"only with --decide score"* ]] || { echo "  $out"; return 1; }
  out=$(nngcat --req --dial "$URL_score" --format ascii --recv-timeout 5 --data \
    '{"v":1,"type":"tender.new","id":"w1","token":"test-token-CC-R1","service":"it.hour","qty":1,"ceiling":2000,"deadline_ms":60000,"decide":"score","price_weight":70,"quality_weight":40}' 2>&1)
  [[ "$out" == *'"code":"bad_field","field":"price_weight"'*'"reason":"bad_weights"'* ]] || { echo "  $out"; return 1; }
  out=$(nngcat --req --dial "$URL_score" --format ascii --recv-timeout 5 --data \
    '{"v":1,"type":"tender.new","id":"w2","token":"test-token-CC-R1","service":"it.hour","qty":1,"ceiling":2000,"deadline_ms":60000,"price_weight":0}' 2>&1)
  [[ "$out" == *'"reason":"bad_weights"'* ]] || { echo "  $out"; return 1; }
}
check score_weights_are_checked_by_imx_and_by_imxd score_usage_errors

score_tender_flow() {
  sc CC-R1 tender it.hour 2 20 6 --decide score --weights 40/60 | grep -q '^tender 1 open$' &&
    sc CC-P1 quote 1 15 | grep -q 'quote 1 on tender 1' &&
    sc CC-P2 quote 1 14 | grep -q 'quote 2 on tender 1' || return 1
  IMX_URL=$URL_score IMX_PUB_URL=$PUB_score IMX_TOKEN=test-token-CC-FIN "$imx" --json watch \
    cc:CC-R1 >"$tmp/score.md" 2>&1 &
  pids+=($!)
  IMX_URL=$URL_score IMX_PUB_URL=$PUB_score IMX_TOKEN=test-token-CC-FIN "$imx" watch \
    cc:CC-P1 >"$tmp/score.watch" 2>&1 &
  pids+=($!)
  sc CC-R1 tender show 1 >"$tmp/score.show" &&
    grep -q 'decide score' "$tmp/score.show" &&
    grep -q '^weights: price 40, quality 60' "$tmp/score.show" &&
    grep -qE '^1 +Provider One +A +15.00 +70.0 +rated' "$tmp/score.show" &&
    grep -qE '^2 +Provider Two +B +14.00 +24.0 +rated' "$tmp/score.show" || { cat "$tmp/score.show"; return 1; }
  sc CC-P2 tender show 1 >"$tmp/score.P2" &&
    grep -qE '^2 +Provider Two +B +14.00 +24.0' "$tmp/score.P2" &&
    ! grep -q 'Provider One' "$tmp/score.P2" || { cat "$tmp/score.P2"; return 1; }
  sc CC-R1 --json tender show 1 | grep -q '"decide":"score","price_weight":40,"quality_weight":60' || return 1
  local got=0
  for _ in $(seq 150); do # up to 15 s: the deadline is 6 s after the tender
    grep -q '"type":"tender.awarded"' "$tmp/score.md" 2>/dev/null && grep -q 'best score' "$tmp/score.watch" && got=1 && break
    sleep 0.1
  done
  [ $got -eq 1 ] || { cat "$tmp/score.md" "$tmp/score.watch"; return 1; }
  grep -q '"tender":1,"quote":1,"buyer":"CC-R1","seller":"CC-P1","qty":2,"price":1500,"trade":3,"score":70000}' "$tmp/score.md" &&
    grep -q 'the best score: 70.0' "$tmp/score.watch" &&
    sc CC-R1 trades it.hour | grep -qE 'it.hour +Receiver One +Provider One +2 +15.00' ||
    { cat "$tmp/score.md" "$tmp/score.watch"; sc CC-R1 trades it.hour; return 1; }
}
check a_score_tender_goes_to_the_best_score_not_the_cheapest score_tender_flow

# After the award the decision stays explainable (docs/protocol.md,
# "Tenders"): tender show gives the receiver every quote with the score and
# the rating it was decided on, frozen (P1's 1-star rating of the award's
# trade changes neither); the loser sees its own quote and the winner's;
# anyone else is told the tender does not exist.
score_award_explained() {
  sc CC-R1 rate 3 1 >/dev/null || return 1
  sc CC-R1 tender show 1 >"$tmp/score.after" &&
    grep -qE '^awarded .* to quote 1 \(trade 3\); the quotes as they stood then:$' "$tmp/score.after" &&
    grep -qE '^1 +Provider One +A +15.00 +70.0 +rated 5.0 \(1\).* won$' "$tmp/score.after" &&
    grep -qE '^2 +Provider Two +B +14.00 +24.0 +rated 1.0 \(1\)' "$tmp/score.after" &&
    ! grep -qE '^2 .* won$' "$tmp/score.after" || { cat "$tmp/score.after"; return 1; }
  sc CC-R1 who CC-P1 | grep -qE '3.0 \(2\)' || { sc CC-R1 who CC-P1; return 1; }
  sc CC-R1 --json tender show 1 |
    grep -q '"buyer_site":"A","status":"awarded","ended_time_ms":[0-9]*,"quote":1,"trade":3,"quotes":\[' || return 1
  sc CC-P2 tender show 1 >"$tmp/score.P2after" &&
    grep -qE '^1 +Provider One +A +15.00 +70.0 .* won$' "$tmp/score.P2after" &&
    grep -qE '^2 +Provider Two +B +14.00 +24.0' "$tmp/score.P2after" || { cat "$tmp/score.P2after"; return 1; }
  local out
  out=$(sc CC-R2 tender show 1 2>&1)
  [ $? -eq 1 ] && [[ "$out" == *"not_found: tender"* ]] || { echo "  $out"; return 1; }
}
check an_awarded_score_tender_still_shows_every_quotes_score score_award_explained

ended_tenders_show_how() {
  as CC-R1 tender show 5 | grep -qE '^lapsed .*: no award by the deadline$' &&
    as CC-R1 tender show 6 | grep -qE '^lapsed .*: no quotes$' &&
    as CC-R1 tender show 4 | grep -qE '^cancelled ' &&
    as CC-R1 tender show 1 | grep -qE '^awarded .* to quote 2 \(trade 1\)' || {
    as CC-R1 tender show 5; as CC-R1 tender show 6; return 1; }
}
check lapsed_and_cancelled_tenders_show_how_they_ended ended_tenders_show_how

finish
