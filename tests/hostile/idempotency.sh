#!/usr/bin/env bash
# Hostile clients against a real imxd: the idempotency and authorisation
# items of issue 11 (5, 6, 7, 8, 14, 15b), each reproduced as the client saw
# it. Every request goes through nngcat (Debian's nng-utils) or imx; the
# flood goes through reqlines (many requests on one connection). imxd listens
# on free loopback ports (port 0, read back from its log) and is stopped by
# pid at the end, whatever happens.
# usage: idempotency.sh IMXD IMX SOURCE_DIR REQLINES
set -u
imxd=$1
imx=$2
src=$3
reqlines=$4
market=$src/tests/gateway/market.json
. "$(dirname "$0")/../lib.sh"

if ! command -v nngcat >/dev/null; then
  echo "nngcat (Debian package nng-utils) is missing"
  echo "0 passed, 1 failed"
  exit 1
fi


start_daemon main
url=$URL_main
as() { # as CC imx-args...: runs imx with CC's token against $url
  local cc=$1
  shift
  IMX_URL=$url IMX_TOKEN=test-token-$cc "$imx" "$@"
}
raw() { # raw JSON: one request through nngcat to $url, prints the reply
  nngcat --req --dial "$url" --format ascii --recv-timeout 5 --data "$1" 2>&1
}
order_of() { # the order id in a reply
  grep -o '"order":[0-9]*' <<<"$1" | head -1 | cut -d: -f2
}
open_orders() { # open_orders CC PRICE: how many of CC's open orders have PRICE
  as "$1" --json orders | grep -o "\"price\":$2," | wc -l
}
trades_n() {
  as CC-FIN --json trades --limit 1000 | grep -o '"trade":' | wc -l
}

# ------------------------------------------- 5: one id, another request

# An order.cancel reusing an order.new's id got order.new.ok, and nothing
# was cancelled.
cancel_reusing_an_order_id() {
  local a b o
  a=$(raw '{"v":1,"type":"order.new","id":"h5-a","token":"test-token-CC-R2","service":"it.hour","side":"bid","qty":1,"price":1000}')
  o=$(order_of "$a")
  [[ "$a" == *'"type":"order.new.ok"'* && -n "$o" ]] || { echo "  first: $a"; return 1; }
  b=$(raw "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"h5-a\",\"token\":\"test-token-CC-R2\",\"order\":$o}")
  [[ "$b" == *'"code":"duplicate_id","field":"id"'*'already used for a different request'* ]] ||
    { echo "  the cancel under the order's id got: $b"; return 1; }
  [ "$(open_orders CC-R2 1000)" -eq 1 ] || { echo "  the order is no longer open"; return 1; }
}
check an_order_cancel_reusing_an_order_new_id_is_duplicate_id cancel_reusing_an_order_id

order_reusing_an_id_with_other_content() {
  local req1='{"v":1,"type":"order.new","id":"h5-b","token":"test-token-CC-R2","service":"it.hour","side":"bid","qty":1,"price":1100}'
  local req2='{"v":1,"type":"order.new","id":"h5-b","token":"test-token-CC-R2","service":"it.hour","side":"bid","qty":2,"price":1100}'
  local a b c
  a=$(raw "$req1")
  b=$(raw "$req2")
  c=$(raw "$req1")
  [[ "$a" == *'"type":"order.new.ok"'* ]] || { echo "  first: $a"; return 1; }
  [[ "$b" == *'"code":"duplicate_id","field":"id"'* ]] || { echo "  other content: $b"; return 1; }
  [ "$a" == "$c" ] || { echo "  the true repeat: $c, want $a"; return 1; }
  [ "$(open_orders CC-R2 1100)" -eq 1 ] || { echo "  want one order at 11.00"; return 1; }
}
check an_order_new_reusing_an_id_with_other_content_is_duplicate_id order_reusing_an_id_with_other_content

# ------------------------------------------------ 6: long replies repeat

# A reply of three fills is longer than 512 bytes: its repeat got
# duplicate_id "too long to repeat" instead of the reply.
long_reply_repeats() {
  local a b
  for _ in 1 2 3; do as CC-P1 offer it.hour 1 50 >/dev/null || return 1; done
  local req='{"v":1,"type":"order.new","id":"h6","token":"test-token-CC-R1","service":"it.hour","side":"bid","qty":3,"price":5000}'
  a=$(raw "$req")
  [[ "$a" == *'"status":"filled"'* && ${#a} -gt 512 ]] || { echo "  first (${#a} bytes): $a"; return 1; }
  b=$(raw "$req")
  [ "$a" == "$b" ] || { echo "  repeat: $b"; return 1; }
  printf '%s' "$a" >"$tmp/h6.reply"
}
check a_reply_of_three_fills_is_repeated_exactly long_reply_repeats

# ------------------------------ 7: auction.run and period.close repeat once

# The same period.close id twice closed two periods: the second close
# expired an order placed after the first.
period_close_repeat() {
  local req='{"v":1,"type":"period.close","id":"h7-p","token":"test-token-CC-FIN"}'
  local a b
  as CC-R2 bid it.hour 1 12 --tif period >/dev/null || return 1
  a=$(raw "$req")
  [[ "$a" == *'"type":"period.close.ok"'* ]] || { echo "  first: $a"; return 1; }
  as CC-R2 bid it.hour 1 13 --tif period >/dev/null || return 1
  b=$(raw "$req")
  [ "$a" == "$b" ] || { echo "  repeat: $b, want $a"; return 1; }
  [ "$(open_orders CC-R2 1300)" -eq 1 ] || { echo "  the repeat closed another period"; return 1; }
}
check a_repeated_period_close_closes_one_period period_close_repeat

# The same auction.run id twice called two auctions.
auction_run_repeat() {
  local req='{"v":1,"type":"auction.run","id":"h7-a","token":"test-token-CC-ADM","service":"truck.day"}'
  local a b before
  as CC-P1 offer truck.day 1 400 >/dev/null && as CC-R2 bid truck.day 1 400 >/dev/null || return 1
  a=$(raw "$req")
  [[ "$a" == *'"volume":1'* ]] || { echo "  first: $a"; return 1; }
  as CC-P1 offer truck.day 1 400 >/dev/null && as CC-R2 bid truck.day 1 400 >/dev/null || return 1
  before=$(trades_n)
  b=$(raw "$req")
  [ "$a" == "$b" ] || { echo "  repeat: $b, want $a"; return 1; }
  [ "$(trades_n)" -eq "$before" ] || { echo "  the repeat called the auction again"; return 1; }
  [ "$(open_orders CC-R2 40000)" -eq 1 ] || { echo "  the new bid did not stay open"; return 1; }
}
check a_repeated_auction_run_calls_one_auction auction_run_repeat

# ------------------------------------------- 14 and 15: who sees what

admin_reads_orders_not_balances() {
  local out
  as CC-ADM orders --for CC-R2 >/dev/null || { echo "  admin cannot read orders"; return 1; }
  out=$(as CC-ADM balance --for CC-R2 2>&1)
  [ $? -eq 1 ] && [[ "$out" == *forbidden* ]] || { echo "  admin reads a balance: $out"; return 1; }
  as CC-FIN balance --for CC-R2 >/dev/null && as CC-FIN orders --for CC-R2 >/dev/null
}
check admin_reads_orders_but_not_balances admin_reads_orders_not_balances

# Another cost centre's order: not_found whether it is open or closed
# (forbidden for an open one told that it exists and is open).
cancel_of_others_order() {
  local open closed a b
  open=$(order_of "$(raw '{"v":1,"type":"order.new","id":"h15-o","token":"test-token-CC-R2","service":"it.hour","side":"bid","qty":1,"price":1400}')")
  closed=$(order_of "$(raw '{"v":1,"type":"order.new","id":"h15-c","token":"test-token-CC-R2","service":"it.hour","side":"bid","qty":1,"price":1500}')")
  [ -n "$open" ] && [ -n "$closed" ] && as CC-R2 cancel "$closed" >/dev/null || return 1
  a=$(raw "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"h15-x\",\"token\":\"test-token-CC-R1\",\"order\":$open}")
  b=$(raw "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"h15-y\",\"token\":\"test-token-CC-R1\",\"order\":$closed}")
  [[ "$a" == *'"code":"not_found","field":"order"'* ]] || { echo "  open: $a"; return 1; }
  # the same reply but for the id
  [ "${a/h15-x/ID}" == "${b/h15-y/ID}" ] || { echo "  open: $a"; echo "  closed: $b"; return 1; }
  [ "$(open_orders CC-R2 1400)" -eq 1 ]
}
check a_cancel_of_another_cost_centres_order_is_not_found_open_or_closed cancel_of_others_order

kill -TERM "$PID_main"
wait "$PID_main"

# The memory is rebuilt from the journal: after a restart a resend still
# gets the first reply.
restart_remembers() {
  start_daemon re --db "$tmp/main.db"
  url=$URL_re
  local req='{"v":1,"type":"order.new","id":"h6","token":"test-token-CC-R1","service":"it.hour","side":"bid","qty":3,"price":5000}'
  local b
  b=$(raw "$req")
  kill -TERM "$PID_re"
  wait "$PID_re"
  [ -s "$tmp/h6.reply" ] && [ "$b" == "$(cat "$tmp/h6.reply")" ] || { echo "  after restart: $b"; return 1; }
}
check a_restart_still_answers_a_repeat_with_the_first_reply restart_remembers

# ------------------------------------- 8: one cost centre floods the memory

# 65,536 no-op cancels by CC-R1 evicted CC-R2's remembered order.new: its
# resend then placed a second order.
flood_evicts_nothing_of_others() {
  start_daemon fl --sync normal --rate 1000000 --burst 1000000
  url=$URL_fl
  local req='{"v":1,"type":"order.new","id":"h8","token":"test-token-CC-R2","service":"it.hour","side":"bid","qty":1,"price":1000}'
  local a b n=65536 answered
  a=$(raw "$req")
  [[ "$a" == *'"type":"order.new.ok"'* ]] || { echo "  first: $a"; return 1; }
  answered=$(seq "$n" | awk '{printf "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"f%d\",\"token\":\"test-token-CC-R1\",\"order\":999999}\n", $1}' |
    timeout 600 "$reqlines" "$url" | grep -c '"code":"not_found"')
  [ "$answered" -eq "$n" ] || { echo "  $answered of $n cancels answered"; return 1; }
  b=$(raw "$req")
  [ "$a" == "$b" ] || { echo "  resend: $b, want $a"; return 1; }
  [ "$(open_orders CC-R2 1000)" -eq 1 ] || { echo "  the resend placed a second order"; return 1; }
}
check another_cost_centres_flood_does_not_evict_a_remembered_request flood_evicts_nothing_of_others

kill -TERM "$PID_fl"
wait "$PID_fl"

finish
