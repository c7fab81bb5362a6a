#!/usr/bin/env bash
# The whole life of an order against a real imxd: order.modify and
# order.history, through imx and through nngcat (a client we did not
# write): priority kept and lost, modify's errors, a repeat answered byte for
# byte, closed orders newest first with their fills, paging with before,
# who may read whose history, and the history after a crash (SIGKILL) and a
# restart: it is read from the ledger, not from memory.
# usage: test_history.sh IMXD IMX SOURCE_DIR
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

start_daemon hist
URL=$URL_hist
as() { # as CC imx-args...: runs imx with CC's token
  local cc=$1
  shift
  IMX_URL=$URL IMX_PUB_URL=$PUB_hist IMX_TOKEN=test-token-$cc IMX_CC=$cc "$imx" "$@"
}
raw() { # raw JSON: one request through nngcat, prints the reply
  nngcat --req --dial "$URL" --format ascii --recv-timeout 5 --data "$1" 2>&1
}
expect_code() { # expect_code CODE imx-args...: imx fails with that code
  local code=$1
  shift
  local out
  out=$(as "$@" 2>&1)
  local rc=$?
  [ $rc -eq 1 ] && [[ "$out" == *"$code"* ]] || { echo "  rc $rc: $out"; return 1; }
}

# ------------------------------------------------------------ order.modify

# Offers 1 (P1, 10) and 2 (P2, 5) at 85.00; R1's bid 3 takes 4 of order 1.
setup_book() {
  as CC-P1 offer it.hour 10 85 | grep -q 'order 1 open' &&
    as CC-P2 offer it.hour 5 85 | grep -q 'order 2 open' &&
    as CC-R1 bid it.hour 4 90 | grep -q 'order 3 filled'
}
check a_book_to_modify setup_book

reduction_keeps_priority() {
  # qty is the new total: 8 = 4 filled + 4 open; still first at 85.00.
  as CC-P1 modify 1 --qty 8 | grep -q 'order 1 open: 4 of 8 filled, 4 open at 85.00, priority kept' &&
    as CC-R1 bid it.hour 1 85 | grep -qE '^[0-9]+ +it.hour +Receiver One +Provider One '
}
check a_reduction_at_the_same_price_keeps_priority reduction_keeps_priority

raw_modify_loses_priority() {
  local out
  out=$(raw '{"v":1,"type":"order.modify","id":"m1","token":"test-token-CC-P1","order":1,"qty":9}')
  has "$out" '"type":"order.modify.ok"' '"order":1' '"status":"open"' '"qty":9' \
    '"qty_open":4' '"qty_filled":5' '"priority_kept":false' '"trades":[]' || return 1
  # P2's offer is first now.
  as CC-R1 bid it.hour 1 85 | grep -qE '^[0-9]+ +it.hour +Receiver One +Provider Two '
}
check an_increase_through_nngcat_loses_priority raw_modify_loses_priority

repeat_same_bytes() {
  local req='{"v":1,"type":"order.modify","id":"m2","token":"test-token-CC-P2","order":2,"price":8600}'
  local first again other
  first=$(raw "$req")
  again=$(raw "$req")
  has "$first" '"type":"order.modify.ok"' '"price":8600' '"priority_kept":false' &&
    [ "$first" = "$again" ] || { echo "  first: $first"; echo "  again: $again"; return 1; }
  other=$(raw '{"v":1,"type":"order.modify","id":"m2","token":"test-token-CC-P2","order":2,"price":8700}')
  has "$other" '"code":"duplicate_id"' '"field":"id"' &&
    as CC-P2 orders | grep -qE '^2 .* 86.00 '
}
check a_repeated_modify_is_answered_byte_for_byte repeat_same_bytes

modify_errors() {
  expect_code not_found CC-P2 modify 1 --qty 3 &&      # another cost centre's
    expect_code not_found CC-P1 modify 99 --qty 3 &&    # no such order
    expect_code bad_field CC-P1 modify 1 --price 85.50 && # off the tick
    expect_code bad_field CC-P1 modify 1 --qty 5 &&      # not above the 5 filled
    as CC-R2 bid it.hour 5 10 | grep -q 'order 6 open' &&
    expect_code insufficient_budget CC-R2 modify 6 --qty 5000 &&
    as CC-R2 orders | grep -qE '^6 .* 10.00 +5 +5 +0' &&
    { as CC-P1 modify 1 >/dev/null 2>&1; [ $? -eq 2 ]; } # neither qty nor price
}
check modify_errors_name_the_field_and_change_nothing modify_errors

modify_is_published() {
  IMX_URL=$URL IMX_PUB_URL=$PUB_hist IMX_TOKEN=test-token-CC-R2 "$imx" --json watch it.hour --count 1 \
    >"$tmp/watch.out" 2>&1 &
  local w=$!
  pids+=("$w")
  sleep 0.3
  as CC-P1 modify 1 --price 84 >/dev/null || return 1
  for _ in $(seq 50); do
    kill -0 "$w" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '"type":"top","service":"it.hour","bid":1000,"bid_qty":5,"offer":8400,"offer_qty":4' \
    "$tmp/watch.out" || { cat "$tmp/watch.out"; return 1; }
}
check a_modify_that_moves_the_best_price_is_published modify_is_published

# ----------------------------------------------------------- order.history

close_some() {
  # P2 cancels order 2; R2's ioc takes order 1's 4 at 84.00 and the rest
  # of its 10 is cancelled.
  as CC-P2 cancel 2 >/dev/null && as CC-R2 bid it.hour 10 85 --tif ioc |
    grep -q 'order 7 cancelled: 4 filled, 0 open, reason ioc'
}
check orders_close close_some

history_of_p1() {
  local out
  out=$(as CC-P1 orders --all) || return 1
  # Open (none), then closed: order 1 filled by 3 trades.
  has "$out" 'closed orders of Provider One (CC-P1)' &&
    echo "$out" | grep -qE '^1 +it.hour +offer gtc +84.00 +9 +9 filled' &&
    [ "$(echo "$out" | grep -c 'fill [0-9]*: .* with Receiver ')" -eq 3 ]
}
check imx_orders_all_shows_closed_orders_with_their_fills history_of_p1

history_newest_first() {
  local out
  out=$(raw '{"v":1,"type":"order.history","id":"h1","token":"test-token-CC-R2"}')
  has "$out" '"type":"order.history.ok"' '"cc":"CC-R2"' '"status":"cancelled","reason":"ioc"' \
    '"counterparty":"CC-P1"' || return 1
  # 7 (the ioc) closed after nothing else of R2's: the list is [7].
  [[ "$out" == *'"orders":[{"order":7,'* ]] || { echo "  $out"; return 1; }
  out=$(raw '{"v":1,"type":"order.history","id":"h2","token":"test-token-CC-R1"}')
  # R1: bids 4 and 5 (filled one after the other): 5 first.
  [[ "$out" == *'"orders":[{"order":5,'*'{"order":4,'*'{"order":3,'* ]] || { echo "  $out"; return 1; }
}
check history_is_newest_first_with_fills history_newest_first

paging() {
  local p1 p2 p3
  p1=$(raw '{"v":1,"type":"order.history","id":"p1","token":"test-token-CC-R1","limit":2}')
  p2=$(raw '{"v":1,"type":"order.history","id":"p2","token":"test-token-CC-R1","limit":2,"before":4}')
  p3=$(raw '{"v":1,"type":"order.history","id":"p3","token":"test-token-CC-R1","limit":2,"before":3}')
  [[ "$p1" == *'"orders":[{"order":5,'*'{"order":4,'* && "$p1" != *'"order":3,'* ]] &&
    [[ "$p2" == *'"orders":[{"order":3,'* && "$p2" != *'"order":4,'* ]] &&
    [[ "$p3" == *'"orders":[]'* ]] || { echo "  $p1"; echo "  $p2"; echo "  $p3"; return 1; }
  has "$(raw '{"v":1,"type":"order.history","id":"p4","token":"test-token-CC-R1","limit":101}')" \
    '"code":"bad_field"' '"field":"limit"'
}
check history_pages_with_before_and_limit paging

who_reads() {
  expect_code forbidden CC-R2 orders --all --for CC-P1 &&
    # Another cost centre's order is no place to page from: not_found.
    has "$(raw '{"v":1,"type":"order.history","id":"a1","token":"test-token-CC-R2","before":1}')" \
      '"code":"not_found"' '"field":"before"' &&
    has "$(raw '{"v":1,"type":"order.history","id":"a2","cc":"CC-P1"}')" '"code":"unauthorized"' &&
    as CC-FIN orders --all --for CC-P1 | grep -q 'closed orders of Provider One (CC-P1)' &&
    as CC-ADM --json orders --all --for CC-R1 | grep -q '"type":"order.history.ok","id":"[^"]*","cc":"CC-R1"' &&
    expect_code unknown_cc CC-FIN orders --all --for CC-NOBODY
}
check history_is_the_cost_centres_finances_and_admins who_reads

# ------------------------------------------------------------ a crash

history_survives_a_crash() {
  local req='{"v":1,"type":"order.history","id":"c1","token":"test-token-CC-P1"}'
  local before after
  before=$(raw "$req")
  [[ "$before" == *'"order.history.ok"'* ]] || return 1
  kill -KILL "$PID_hist"
  wait "$PID_hist" 2>/dev/null
  start_daemon hist2 --db "$tmp/hist.db"
  URL=$URL_hist2
  after=$(raw "$req")
  [ "$before" = "$after" ] || { echo "  before: $before"; echo "  after:  $after"; return 1; }
  # ... and goes on: the open bid of R2 (order 6) is cancelled now.
  as CC-R2 cancel 6 >/dev/null &&
    has "$(raw '{"v":1,"type":"order.history","id":"c2","token":"test-token-CC-R2","limit":1}')" \
      '"orders":[{"order":6,' '"status":"cancelled","reason":"user"'
}
check history_is_the_same_after_sigkill_and_restart history_survives_a_crash

ledger_verifies() {
  kill -TERM "$PID_hist2" && wait "$PID_hist2" &&
    "$imx" ledger verify --db "$tmp/hist.db" --market "$market" >/dev/null
}
check the_ledger_verifies_and_replays ledger_verifies

# ------------------------------------------- the documentation's examples

# README's "The whole life of an order" and docs/protocol.md's two nngcat
# examples, run on the example market after the README's offer and bid;
# outputs compared with the documents (times, which differ, masked).
docs_examples() {
  market=$src/examples/market.json start_daemon docs
  local url=$URL_docs
  run_imx() { local t=$1; shift; IMX_URL=$url IMX_TOKEN=$t "$imx" "$@"; }
  run_imx demo-CC-4100 offer it.helpdesk.hour 40 85 >/dev/null &&
    run_imx demo-CC-1100 bid it.helpdesk.hour 25 90 >/dev/null || return 1
  { run_imx demo-CC-4100 modify 1 --qty 30 && run_imx demo-CC-1100 orders --all; } >"$tmp/readme.out"
  sed -n '/^order 1 open: 25 of 30 filled/,/^```/p' "$src/README.md" | sed '$d' >"$tmp/readme.want"
  [ -s "$tmp/readme.want" ] && diff "$tmp/readme.want" "$tmp/readme.out" || return 1
  local mask='s/"\(closed_ms\|time_ms\)":[0-9]*/"\1":T/g'
  for id in m1 h1; do
    local req want got
    req=$(grep -o "'{\"v\":1,\"type\":\"order\.[a-z]*\",\"id\":\"$id\"[^']*'" \
            "$src/docs/protocol.md" | tr -d "'")
    want=$(grep -A1 -F "$req" "$src/docs/protocol.md" | tail -1 | sed "$mask")
    got=$(nngcat --req --dial "$url" --format ascii --recv-timeout 5 --data "$req" | sed "$mask")
    [ -n "$req" ] && [ "$want" = "$got" ] || { echo "  want: $want"; echo "  got:  $got"; return 1; }
  done
}
check the_documents_examples_are_what_imxd_answers docs_examples

finish
