#!/usr/bin/env bash
# Hostile input against a real imxd (issue 11, item 12): strings that are not
# UTF-8, \u0000 inside a string, half a surrogate pair, and numbers that look
# whole to cJSON but are written with a fraction or an exponent. Each gets an
# error reply that is valid JSON with the right code and field, nothing is
# journaled or done, and the daemon answers the next client as before. imxd
# listens on free loopback ports and is stopped by pid at the end.
# usage: input.sh IMXD IMX SOURCE_DIR
set -u
imxd=$1
imx=$2
src=$3
market=$src/tests/gateway/market.json
. "$(dirname "$0")/../lib.sh"

if ! command -v nngcat >/dev/null; then
  echo "nngcat (Debian package nng-utils) is missing"
  echo "0 passed, 1 failed"
  exit 1
fi

"$imxd" --market "$market" --db "$tmp/in.db" --listen tcp://127.0.0.1:0 \
  --publish tcp://127.0.0.1:0 2>>"$tmp/in.log" &
pid=$!
pids+=("$pid")
for _ in $(seq 100); do
  grep -q 'requests on' "$tmp/in.log" && break
  sleep 0.05
done
url=$(grep -o 'requests on [^,]*' "$tmp/in.log" | sed 's/requests on //')
[ -n "$url" ] || { echo "imxd did not start:"; cat "$tmp/in.log"; exit 1; }

raw() { # raw BYTES: one request through nngcat, prints the reply
  nngcat --req --dial "$url" --format ascii --recv-timeout 5 --data "$1" 2>&1
}
expect() { # expect CODE FIELD BYTES: the reply is that error, and is JSON
  local out
  out=$(raw "$3")
  [[ "$out" == *"\"type\":\"error\""*"\"code\":\"$1\",\"field\":\"$2\""* ]] ||
    { echo "  want $1 $2, got: $out"; return 1; }
  # the reply must be valid UTF-8 JSON: nothing of the bad bytes echoed
  printf '%s' "$out" | iconv -f UTF-8 -t UTF-8 >/dev/null 2>&1 ||
    { echo "  the reply is not UTF-8: $out"; return 1; }
}

check invalid_utf8_in_a_string_is_bad_json \
  expect bad_json message $'{"v":1,"type":"book.get","id":"x\xff","token":"test-token-CC-R1","service":"it.hour"}'
check an_overlong_utf8_form_is_bad_json \
  expect bad_json message $'{"v":1,"type":"book.get","id":"x\xc0\xaf","token":"test-token-CC-R1","service":"it.hour"}'
check half_a_surrogate_pair_is_bad_json \
  expect bad_json message '{"v":1,"type":"book.get","id":"x\ud800","token":"test-token-CC-R1","service":"it.hour"}'

# "demo-CC-1100\u0000junk" once authenticated as demo-CC-1100: cJSON cut the
# C string at the NUL.
nul_in_a_token_does_not_authenticate() {
  expect bad_json message '{"v":1,"type":"hello","id":"h","cc":"CC-R1","token":"test-token-CC-R1\u0000junk"}'
}
check a_nul_escape_in_a_token_does_not_authenticate nul_in_a_token_does_not_authenticate

check a_quantity_of_10_point_0_is_not_whole \
  expect bad_field qty '{"v":1,"type":"order.new","id":"q1","token":"test-token-CC-R1","service":"it.hour","side":"bid","qty":10.0,"price":9000}'
check a_quantity_of_1e1_is_not_whole \
  expect bad_field qty '{"v":1,"type":"order.new","id":"q2","token":"test-token-CC-R1","service":"it.hour","side":"bid","qty":1e1,"price":9000}'
check a_price_of_9000_point_0000000000000001_is_not_whole \
  expect bad_field price '{"v":1,"type":"order.new","id":"q3","token":"test-token-CC-R1","service":"it.hour","side":"bid","qty":1,"price":9000.0000000000001}'

nothing_was_done() {
  local out
  out=$(IMX_URL=$url IMX_TOKEN=test-token-CC-R1 "$imx" --json orders)
  [[ "$out" == *'"orders":[]'* ]] || { echo "  orders: $out"; return 1; }
  # and the daemon serves valid UTF-8 as before
  out=$(raw $'{"v":1,"type":"book.get","id":"M\xc3\xbcnchen","token":"test-token-CC-R1","service":"it.hour"}')
  [[ "$out" == *'"type":"book.get.ok"'* ]] || { echo "  book: $out"; return 1; }
}
check refused_input_changes_nothing_and_the_daemon_serves_on nothing_was_done

kill -TERM "$pid"
wait "$pid"
finish
