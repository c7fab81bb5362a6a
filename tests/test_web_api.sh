#!/usr/bin/env bash
# The web front (issue 14) against a real imxd, through curl: the pages and
# their security headers, sign-in (good, bad, rate limited) and its cookie,
# one protocol request per POST /api/<type> through the same core as nng
# (the same replies, idempotency and errors, each with its HTTP status),
# CSRF and size refusals, the downloads, sign-out, the live websocket, and
# all of it over HTTPS with a self-signed certificate.
# usage: test_web_api.sh IMXD IMX SOURCE_DIR WSCLIENT
set -u
imxd=$1
imx=$2
src=$3
wsclient=${4:-}
market=$src/tests/gateway/market.json
. "$(dirname "$0")/lib.sh"

for tool in curl nngcat; do
  if ! command -v $tool >/dev/null; then
    echo "$tool is missing (Debian packages curl, nng-utils)"
    echo "0 passed, 1 failed"
    exit 1
  fi
done

start_daemon web --http http://127.0.0.1:0
WEB=$WEB_web
URL=$URL_web

# req [curl args...]: prints the status line's code, then the headers and
# the body as curl -i does (CR removed).
req() { curl -s -i --max-time 10 "$@" | tr -d '\r'; }
status() { head -1 <<<"$1" | cut -d' ' -f2; }
body() { sed '1,/^$/d' <<<"$1"; }
header() { grep -i "^$2:" <<<"$1" | head -1 | cut -d' ' -f2-; }
jar() { echo "$tmp/$1.cookies"; }
signin() { # signin CC [JAR]: signs CC in with its token into a cookie jar
  req -c "$(jar "${2:-$1}")" -X POST "$WEB/api/signin" -d "{\"token\":\"test-token-$1\",\"cc\":\"$1\"}"
}
call() { # call CC TYPE JSON: one call with CC's session
  req -b "$(jar "$1")" -X POST "$WEB/api/$2" -d "$3"
}
raw() { # one request through nngcat, prints the reply
  nngcat --req --dial "$URL" --format ascii --recv-timeout 5 --data "$1" 2>&1
}

# ------------------------------------------------------------- the pages

CSP="default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
pages() {
  local r
  r=$(req "$WEB/")
  [ "$(status "$r")" = 200 ] && [ "$(header "$r" Content-Type)" = "text/html; charset=utf-8" ] &&
    [ "$(header "$r" Content-Security-Policy)" = "$CSP" ] &&
    [ "$(header "$r" X-Content-Type-Options)" = nosniff ] &&
    [ "$(header "$r" Referrer-Policy)" = no-referrer ] &&
    [ "$(body "$r")" = "$(cat "$src/web/index.html")" ] || { echo "$r" | head -12; return 1; }
  r=$(req "$WEB/index.html")
  [ "$(status "$r")" = 200 ] || return 1
  r=$(req "$WEB/no/such/page.js")
  [ "$(status "$r")" = 404 ] && [ "$(header "$r" Content-Security-Policy)" = "$CSP" ] ||
    { echo "$r" | head -5; return 1; }
  r=$(req "$WEB/../../etc/passwd")
  [ "$(status "$r")" = 404 ] || return 1
  r=$(req -X POST "$WEB/index.html")
  [ "$(status "$r")" = 405 ] || return 1
}
check pages_with_their_headers pages

# Every file under web/ is compiled in, with its type.
every_page() {
  local f rel r ok=0
  while IFS= read -r f; do
    rel=${f#"$src/web"}
    r=$(curl -s --max-time 10 "$WEB$rel" | cmp - "$f") || { echo "  $rel differs"; ok=1; }
  done < <(find "$src/web" -type f ! -name '.*')
  r=$(req "$WEB/index.html")
  return $ok
}
check every_file_of_web_is_served every_page

# --http-root serves a directory instead, the same way.
http_root() {
  mkdir -p "$tmp/root/sub"
  echo 'export const x = 1;' >"$tmp/root/sub/a.js"
  echo '<p>dev</p>' >"$tmp/root/index.html"
  echo 'secret' >"$tmp/root/.hidden"
  start_daemon root --http http://127.0.0.1:0 --http-root "$tmp/root"
  local r
  r=$(req "$WEB_root/")
  [ "$(status "$r")" = 200 ] && [ "$(body "$r")" = '<p>dev</p>' ] || { echo "$r"; return 1; }
  r=$(req "$WEB_root/sub/a.js")
  [ "$(header "$r" Content-Type)" = "text/javascript; charset=utf-8" ] || { echo "$r"; return 1; }
  r=$(req "$WEB_root/.hidden")
  [ "$(status "$r")" = 404 ] || { echo "$r"; return 1; }
  r=$(req --path-as-is "$WEB_root/sub/../../root/index.html")
  [ "$(status "$r")" = 404 ] || { echo "$r"; return 1; }
  kill "$PID_root"
}
check http_root_serves_a_directory http_root

# --------------------------------------------------------------- sessions

good_signin() {
  local r c
  r=$(signin CC-R1)
  c=$(header "$r" Set-Cookie)
  [ "$(status "$r")" = 200 ] &&
    [[ "$c" =~ ^imx_session=[0-9a-f]{64}\;\ Path=/\;\ HttpOnly\;\ SameSite=Strict\;\ Max-Age=43200$ ]] &&
    [ "$(header "$r" Cache-Control)" = no-store ] &&
    has "$(body "$r")" '"type":"hello.ok"' '"cc":"CC-R1"' '"roles":["receiver"]' \
      '"currency":"EUR"' '"decimals":2' '"name":"Receiver One"' '"site":' &&
    [[ "$(body "$r")" != *test-token* ]] || { echo "$r"; return 1; }
  # without cc: the token's own cost centre
  r=$(req -c "$(jar P1)" -X POST "$WEB/api/signin" -d '{"token":"test-token-CC-P1"}')
  has "$(body "$r")" '"cc":"CC-P1"' || return 1
}
check signin_sets_a_session_cookie good_signin

session_same() {
  local a b
  a=$(body "$(signin CC-R2)")
  b=$(req -b "$(jar CC-R2)" "$WEB/api/session")
  [ "$(status "$b")" = 200 ] && [ "$(body "$b")" = "$a" ] || { echo "$a"; echo "$b"; return 1; }
  b=$(req "$WEB/api/session")
  [ "$(status "$b")" = 401 ] && has "$(body "$b")" '"code":"unauthorized"' 'sign in first' ||
    { echo "$b"; return 1; }
  b=$(req -H 'Cookie: imx_session=0000000000000000000000000000000000000000000000000000000000000000' "$WEB/api/session")
  [ "$(status "$b")" = 401 ] || return 1
}
check session_returns_the_signin_reply_or_401 session_same

bad_signin() {
  local r
  r=$(req -X POST "$WEB/api/signin" -d '{"token":"wrong-token-xyz","cc":"CC-P2"}')
  [ "$(status "$r")" = 401 ] && has "$(body "$r")" '"code":"unauthorized"' '"field":"token"' &&
    [ -z "$(header "$r" Set-Cookie)" ] && [[ "$r" != *wrong-token-xyz* ]] || { echo "$r"; return 1; }
  ! grep -q wrong-token-xyz "$tmp/web.log" || { echo "  the token is in the log"; return 1; }
  r=$(req -X POST "$WEB/api/signin" -d '{"token":"x","cc":"CC-P2","extra":1}')
  [ "$(status "$r")" = 400 ] && has "$(body "$r")" '"code":"bad_field"' || { echo "$r"; return 1; }
  r=$(req -X POST "$WEB/api/signin" -d 'not json')
  [ "$(status "$r")" = 400 ] && has "$(body "$r")" '"code":"bad_json"' || { echo "$r"; return 1; }
}
check a_wrong_token_is_401_and_never_echoed bad_signin

# Five failures in a minute for one cost centre, or from one address: then
# every sign-in for that cost centre, or from that address, gets 429 (the
# right token too) until the minute passed; the others do not. On a daemon
# of its own, with a second loopback address (curl --interface 127.0.0.2).
rate_limited() {
  start_daemon lim --http http://127.0.0.1:0
  local i r two=(--interface 127.0.0.2)
  for i in 1 2 3 4 5; do
    r=$(req -X POST "$WEB_lim/api/signin" -d '{"token":"guess-'$i'","cc":"CC-P2"}')
    [ "$(status "$r")" = 401 ] || { echo "  try $i: $r"; return 1; }
  done
  r=$(req "${two[@]}" -X POST "$WEB_lim/api/signin" -d '{"token":"test-token-CC-P2","cc":"CC-P2"}')
  [ "$(status "$r")" = 429 ] && has "$(body "$r")" '"code":"rate_limited"' ||
    { echo "  the cost centre: $r"; return 1; }
  r=$(req "${two[@]}" -X POST "$WEB_lim/api/signin" -d '{"token":"test-token-CC-R1"}')
  [ "$(status "$r")" = 200 ] || { echo "  another cc, another address: $r"; return 1; }
  r=$(req -X POST "$WEB_lim/api/signin" -d '{"token":"test-token-CC-R1"}')
  [ "$(status "$r")" = 429 ] || { echo "  the address: $r"; return 1; }
  kill "$PID_lim"
}
check five_failed_signins_limit_the_cc_and_the_address rate_limited

# ------------------------------------------------------------------ calls

signin CC-P1 >/dev/null
signin CC-FIN >/dev/null
signin CC-ADM >/dev/null

order_over_http() {
  local r
  r=$(call CC-P1 order.new '{"id":"o1","service":"it.hour","side":"offer","qty":10,"price":8500}')
  [ "$(status "$r")" = 200 ] && [ "$(header "$r" Content-Type)" = application/json ] &&
    [ "$(header "$r" Cache-Control)" = no-store ] &&
    [ "$(body "$r")" = '{"v":1,"type":"order.new.ok","id":"o1","order":1,"status":"open","qty_open":10,"qty_filled":0,"trades":[]}' ] ||
    { echo "$r"; return 1; }
  r=$(call CC-R1 book.get '{"service":"it.hour"}')
  [ "$(status "$r")" = 200 ] && has "$(body "$r")" '"type":"book.get.ok","id":"web"' \
    '"offers":[{"price":8500,"qty":10,"orders":1}]' || { echo "$r"; return 1; }
}
check an_order_over_http_and_the_book order_over_http

# The same id twice: the same reply, one order (as over nng).
idempotent() {
  local a b
  a=$(body "$(call CC-R1 order.new '{"id":"b1","service":"it.hour","side":"bid","qty":2,"price":9000}')")
  b=$(body "$(call CC-R1 order.new '{"id":"b1","service":"it.hour","side":"bid","qty":2,"price":9000}')")
  [ "$a" = "$b" ] && has "$a" '"status":"filled"' '"price":8500' || { echo "$a"; echo "$b"; return 1; }
  b=$(raw '{"v":1,"type":"order.new","id":"b1","token":"test-token-CC-R1","service":"it.hour","side":"bid","qty":2,"price":9000}')
  [ "$b" = "$a" ] || { echo "  nng: $b"; return 1; }
  b=$(call CC-R1 order.new '{"id":"b1","service":"it.hour","side":"bid","qty":3,"price":9000}')
  [ "$(status "$b")" = 409 ] && has "$(body "$b")" '"code":"duplicate_id"' || { echo "$b"; return 1; }
  b=$(body "$(call CC-R1 trades.list '{}')")
  [ "$(grep -o '"trade":' <<<"$b" | wc -l)" = 1 ] || { echo "$b"; return 1; }
}
check the_same_id_twice_is_one_order idempotent

# An order over HTTP is seen over nng, and one over nng over HTTP.
both_ways() {
  local r
  r=$(raw '{"v":1,"type":"order.list","id":"l1","token":"test-token-CC-P1"}')
  has "$r" '"order":1' '"qty_open":8' || return 1
  r=$(raw '{"v":1,"type":"order.new","id":"n1","token":"test-token-CC-P2","service":"it.hour","side":"offer","qty":5,"price":8700}')
  has "$r" '"order.new.ok"' || return 1
  r=$(body "$(call CC-R1 book.get '{"service":"it.hour"}')")
  has "$r" '{"price":8700,"qty":5,"orders":1}' || { echo "$r"; return 1; }
}
check http_and_nng_see_each_other both_ways

# Each error with its status: the reply is the protocol's.
errors() {
  local r
  r=$(call CC-R1 order.new '{"id":"e1","service":"it.hour","side":"bid","qty":1,"price":8550}')
  [ "$(status "$r")" = 400 ] && has "$(body "$r")" '"code":"bad_field"' '"reason":"bad_tick"' || { echo "$r"; return 1; }
  r=$(call CC-R1 order.new '{"id":"e2","service":"no.such","side":"bid","qty":1,"price":8500}')
  [ "$(status "$r")" = 404 ] && has "$(body "$r")" '"code":"unknown_service"' || { echo "$r"; return 1; }
  r=$(call CC-R1 order.new '{"id":"e3","service":"it.hour","side":"bid","qty":1000,"price":90000}')
  [ "$(status "$r")" = 409 ] && has "$(body "$r")" '"code":"insufficient_budget"' || { echo "$r"; return 1; }
  r=$(call CC-R1 period.close '{"id":"e4"}')
  [ "$(status "$r")" = 403 ] && has "$(body "$r")" '"code":"forbidden"' || { echo "$r"; return 1; }
  r=$(call CC-R1 order.cancel '{"id":"e5","order":999}')
  [ "$(status "$r")" = 404 ] && has "$(body "$r")" '"code":"not_found"' || { echo "$r"; return 1; }
  r=$(call CC-R1 order.new '{"service":"it.hour","side":"bid","qty":1,"price":8500}')
  [ "$(status "$r")" = 400 ] && has "$(body "$r")" '"field":"id"' || { echo "$r"; return 1; }
  r=$(call CC-R1 no.such.type '{}')
  [ "$(status "$r")" = 404 ] && has "$(body "$r")" '"field":"type"' || { echo "$r"; return 1; }
  r=$(call CC-R1 hello '{}')
  [ "$(status "$r")" = 404 ] || { echo "$r"; return 1; }
  r=$(call CC-R1 book.get '[1,2]')
  [ "$(status "$r")" = 400 ] && has "$(body "$r")" '"code":"bad_json"' || { echo "$r"; return 1; }
  r=$(req -b "$(jar CC-R1)" "$WEB/api/book.get")
  [ "$(status "$r")" = 405 ] || { echo "$r"; return 1; }
}
check errors_map_to_their_status errors

token_refused() {
  local r
  r=$(call CC-R1 balance.get '{"token":"test-token-CC-R1"}')
  [ "$(status "$r")" = 400 ] && has "$(body "$r")" '"code":"bad_field"' '"field":"token"' &&
    [[ "$r" != *test-token* ]] || { echo "$r"; return 1; }
}
check a_token_in_a_call_is_refused token_refused

no_session() {
  local r
  r=$(req -X POST "$WEB/api/balance.get" -d '{}')
  [ "$(status "$r")" = 401 ] &&
    [ "$(body "$r")" = '{"v":1,"type":"error","id":"","code":"unauthorized","field":"","message":"sign in first"}' ] ||
    { echo "$r"; return 1; }
}
check a_call_without_a_session_is_401 no_session

cross_origin() {
  local r
  r=$(req -b "$(jar CC-R1)" -H 'Origin: https://evil.example' -X POST "$WEB/api/balance.get" -d '{}')
  [ "$(status "$r")" = 403 ] && has "$(body "$r")" '"code":"forbidden"' '"reason":"cross_origin"' ||
    { echo "$r"; return 1; }
  r=$(req -b "$(jar CC-R1)" -H 'Sec-Fetch-Site: cross-site' -X POST "$WEB/api/balance.get" -d '{}')
  [ "$(status "$r")" = 403 ] || { echo "$r"; return 1; }
  r=$(req -H 'Origin: https://evil.example' -X POST "$WEB/api/signin" -d '{"token":"test-token-CC-R1"}')
  [ "$(status "$r")" = 403 ] || { echo "$r"; return 1; }
  # its own origin, as the browser sends it
  r=$(req -b "$(jar CC-R1)" -H "Origin: $WEB" -H 'Sec-Fetch-Site: same-origin' -X POST "$WEB/api/balance.get" -d '{}')
  [ "$(status "$r")" = 200 ] && has "$(body "$r")" '"balance.get.ok"' || { echo "$r"; return 1; }
}
check cross_origin_posts_are_403 cross_origin

too_large() {
  local r
  head -c 70000 /dev/zero | tr '\0' ' ' >"$tmp/big"
  r=$(req -b "$(jar CC-R1)" -X POST "$WEB/api/balance.get" --data-binary "@$tmp/big")
  [ "$(status "$r")" = 413 ] && has "$(body "$r")" '"code":"too_large"' || { echo "$r" | head -3; return 1; }
}
check a_body_over_64_KiB_is_413 too_large

finish
