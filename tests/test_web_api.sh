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
  done < <(find "$src/web" -type f ! -name '.*' ! -name '*.test.mjs' ! -name '*.test.js')
  r=$(req "$WEB/money.test.mjs")
  [ "$(status "$r")" = 404 ] || { echo "  the pages' tests are served"; ok=1; }
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

# One cost centre holds 256 sessions at most: the 257th sign-in ends its
# oldest (one curl process signs in 256 times more).
sessions_per_cc() {
  local r args=() i
  signin CC-ADM first >/dev/null
  for i in $(seq 256); do
    args+=(-o /dev/null -X POST "$WEB/api/signin" -d '{"token":"test-token-CC-ADM"}' --next)
  done
  curl -s --max-time 60 "${args[@]}" -o /dev/null "$WEB/" || return 1
  r=$(req -b "$(jar first)" "$WEB/api/session")
  [ "$(status "$r")" = 401 ] || { echo "  the oldest session lives on: $r"; return 1; }
  r=$(signin CC-ADM second)
  r=$(req -b "$(jar second)" "$WEB/api/session")
  [ "$(status "$r")" = 200 ] || { echo "$r"; return 1; }
}
check a_cost_centre_holds_256_sessions_at_most sessions_per_cc

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
# every sign-in from that address, and every sign-in for that cost centre
# from an address it has not signed in from lately, gets 429 (the right
# token too) until the minute passed; the cost centre's people at their
# usual desks still sign in (else five wrong tokens a minute would lock
# anyone out), and the others are not touched. On a daemon of its own, with
# more loopback addresses (curl --interface 127.0.0.2, 127.0.0.3).
rate_limited() { # its daemon stops on every path (clean_stops waits for all)
  start_daemon lim --http http://127.0.0.1:0
  local rc=0
  rate_limited_on_lim "$WEB_lim" || rc=1
  kill "$PID_lim"
  return $rc
}
rate_limited_on_lim() { # rate_limited_on_lim WEB
  local i r two=(--interface 127.0.0.2) desk=(--interface 127.0.0.3)
  r=$(req "${desk[@]}" -X POST "$1/api/signin" -d '{"token":"test-token-CC-P2","cc":"CC-P2"}')
  [ "$(status "$r")" = 200 ] || { echo "  the usual desk, before: $r"; return 1; }
  for i in 1 2 3 4 5; do
    r=$(req -X POST "$1/api/signin" -d '{"token":"guess-'$i'","cc":"CC-P2"}')
    [ "$(status "$r")" = 401 ] || { echo "  try $i: $r"; return 1; }
  done
  r=$(req "${two[@]}" -X POST "$1/api/signin" -d '{"token":"test-token-CC-P2","cc":"CC-P2"}')
  [ "$(status "$r")" = 429 ] && has "$(body "$r")" '"code":"rate_limited"' ||
    { echo "  the cost centre from a new address: $r"; return 1; }
  r=$(req "${desk[@]}" -X POST "$1/api/signin" -d '{"token":"test-token-CC-P2","cc":"CC-P2"}')
  [ "$(status "$r")" = 200 ] || { echo "  the cost centre from its usual desk: $r"; return 1; }
  r=$(req "${desk[@]}" -X POST "$1/api/signin" -d '{"token":"guess-6","cc":"CC-P2"}')
  [ "$(status "$r")" = 401 ] || { echo "  a wrong token from the usual desk: $r"; return 1; }
  r=$(req "${two[@]}" -X POST "$1/api/signin" -d '{"token":"test-token-CC-R1"}')
  [ "$(status "$r")" = 200 ] || { echo "  another cc, another address: $r"; return 1; }
  r=$(req -X POST "$1/api/signin" -d '{"token":"test-token-CC-R1"}')
  [ "$(status "$r")" = 429 ] || { echo "  the address: $r"; return 1; }
}
check five_failed_signins_limit_the_address_and_the_cc_but_not_its_usual_desk rate_limited

# The same on a listener for IPv6 and IPv4 both ([::]), where an IPv4
# client's address comes as an IPv6 one (::ffff:127.0.0.3): each is still
# an address of its own, and a desk, not one unknown address for all.
rate_limited_dual_stack() {
  start_daemon dual --http "http://[::]:0"
  local rc=0
  rate_limited_on_lim "http://127.0.0.1:${WEB_dual##*:}" || rc=1
  kill "$PID_dual"
  return $rc
}
check the_limits_tell_ipv4_addresses_apart_on_a_dual_stack_listener rate_limited_dual_stack

# ------------------------------------------------------------------ calls

# A session's calls count against the connection's rate (--rate, --burst).
session_rate() {
  start_daemon rate --http http://127.0.0.1:0 --rate 1 --burst 2
  local r i
  r=$(req -c "$tmp/rate.cookies" -X POST "$WEB_rate/api/signin" -d '{"token":"test-token-CC-R1"}')
  [ "$(status "$r")" = 200 ] || return 1
  for i in 1 2; do
    r=$(req -b "$tmp/rate.cookies" -X POST "$WEB_rate/api/book.get" -d '{"service":"it.hour"}')
    [ "$(status "$r")" = 200 ] || { echo "  call $i: $r"; return 1; }
  done
  r=$(req -b "$tmp/rate.cookies" -X POST "$WEB_rate/api/book.get" -d '{"service":"it.hour"}')
  [ "$(status "$r")" = 429 ] && has "$(body "$r")" '"code":"rate_limited"' || { echo "$r"; return 1; }
  kill "$PID_rate"
}
check a_session_over_its_rate_gets_429 session_rate

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

# -------------------------------------------------------------- downloads

# Trade 2 (in period 1): R2 buys 3 of P1's offer at 85.00 (P2's is 87.00).
signin CC-R2 >/dev/null
call CC-R2 order.new '{"id":"b2","service":"it.hour","side":"bid","qty":3,"price":8800}' >/dev/null

export_csv() {
  local r
  r=$(req -b "$(jar CC-FIN)" "$WEB/api/export?format=csv&period=1")
  [ "$(status "$r")" = 200 ] && [ "$(header "$r" Content-Type)" = "text/csv; charset=utf-8" ] &&
    [ "$(header "$r" Content-Disposition)" = 'attachment; filename="imx-1.csv"' ] &&
    [ "$(body "$r")" = "$("$imx" export --db "$tmp/web.db" --market "$market" --format csv --period 1 2>&1)" ] ||
    { echo "$r"; echo "  imx export:"; "$imx" export --db "$tmp/web.db" --market "$market" --format csv --period 1; return 1; }
  has "$(body "$r")" ',it.hour,CC-R1,CC-P1,2,hour,85.00,170.00,EUR' ',CC-R2,CC-P1,3,hour,85.00,255.00,EUR' ||
    return 1
  r=$(req -b "$(jar CC-FIN)" "$WEB/api/export?format=beancount")
  [ "$(header "$r" Content-Disposition)" = 'attachment; filename="imx-all.beancount"' ] &&
    has "$(body "$r")" 'option "operating_currency" "EUR"' || { echo "$r"; return 1; }
  # the SAP upload needs a closed period and the market's SAP mapping
  r=$(req -b "$(jar CC-FIN)" "$WEB/api/export?format=sap&period=1")
  [ "$(status "$r")" = 409 ] && has "$(body "$r")" '"code":"export_refused"' '"message":"sap: ' ||
    { echo "$r"; return 1; }
  r=$(req -b "$(jar CC-FIN)" "$WEB/api/export?format=xml")
  [ "$(status "$r")" = 400 ] && has "$(body "$r")" '"field":"format"' || { echo "$r"; return 1; }
  r=$(req -b "$(jar CC-FIN)" "$WEB/api/export?format=csv&period=77x")
  [ "$(status "$r")" = 400 ] && has "$(body "$r")" '"field":"period"' || { echo "$r"; return 1; }
}
check finance_downloads_the_export export_csv

# An export with nothing in it (hledger writes nothing for a period without
# trades) is a 200 with an empty body. It was a closed connection and no
# reply: nng refuses to copy a body of 0 bytes, and the error ended the
# response.
empty_export() {
  start_daemon empty --http http://127.0.0.1:0
  local r ok=0
  req -c "$(jar empty)" -X POST "$WEB_empty/api/signin" \
    -d '{"token":"test-token-CC-FIN","cc":"CC-FIN"}' >/dev/null
  r=$(req -b "$(jar empty)" "$WEB_empty/api/export?format=hledger&period=1")
  [ "$(status "$r")" = 200 ] && [ "$(header "$r" Content-Length)" = 0 ] &&
    [ -z "$(body "$r")" ] || { echo "  want 200 and an empty body, got: $r"; ok=1; }
  kill "$PID_empty"
  wait "$PID_empty" 2>/dev/null
  return $ok
}
check an_empty_export_is_200_and_empty empty_export

export_refused() {
  local r cc
  for cc in CC-ADM CC-R1; do
    r=$(req -b "$(jar $cc)" "$WEB/api/export?format=csv")
    [ "$(status "$r")" = 403 ] && has "$(body "$r")" '"code":"forbidden"' &&
      [ -z "$(header "$r" Content-Disposition)" ] || { echo "  $cc: $r"; return 1; }
  done
  r=$(req "$WEB/api/export?format=csv")
  [ "$(status "$r")" = 401 ] || { echo "$r"; return 1; }
}
check the_export_is_refused_to_others export_refused

statement_csv() {
  local r
  r=$(req -b "$(jar CC-R2)" "$WEB/api/statement.csv?period=1")
  [ "$(status "$r")" = 200 ] && [ "$(header "$r" Content-Type)" = "text/csv; charset=utf-8" ] &&
    [ "$(body "$r")" = 'trade,period,date,service,buyer,seller,qty,unit,price,amount,currency
'"$(body "$r" | sed -n 2p)" ] && has "$(body "$r")" ',CC-R2,CC-P1,3,hour,85.00,255.00,EUR' &&
    [[ "$(body "$r")" != *CC-R1* ]] || { echo "$r"; return 1; }
  r=$(req -b "$(jar CC-R2)" "$WEB/api/statement.csv?cc=CC-R1&period=1")
  [ "$(status "$r")" = 403 ] || { echo "$r"; return 1; }
  r=$(req -b "$(jar CC-FIN)" "$WEB/api/statement.csv?cc=CC-R1&period=1")
  [ "$(status "$r")" = 200 ] && has "$(body "$r")" ',CC-R1,CC-P1,2,' && [[ "$(body "$r")" != *CC-R2* ]] ||
    { echo "$r"; return 1; }
  r=$(req -b "$(jar CC-R2)" "$WEB/api/statement.csv")
  [ "$(status "$r")" = 400 ] && has "$(body "$r")" '"field":"period"' || { echo "$r"; return 1; }
}
check statement_csv_for_itself_and_finance statement_csv

verify() {
  local r
  r=$(req -b "$(jar CC-FIN)" -X POST "$WEB/api/ledger.verify")
  [ "$(status "$r")" = 200 ] && [[ "$(body "$r")" =~ ^\{\"type\":\"ledger.verify.ok\",\"trades\":2,\"checked_ms\":[0-9]+\}$ ]] ||
    { echo "$r"; return 1; }
  r=$(req -b "$(jar CC-R1)" -X POST "$WEB/api/ledger.verify")
  [ "$(status "$r")" = 403 ] || { echo "$r"; return 1; }
}
check finance_verifies_the_ledger verify

# ------------------------------------------------------------------ live

cookie_of() { awk '/imx_session/ {print "imx_session=" $7}' "$(jar "$1")"; }
WS=${WEB/http:/ws:}/api/live

# A websocket per party: the buyer's sees the trade, the top of book and
# its fill (side bid) and its closed order; the seller's its fill (side
# offer); a third party's the market data only.
live() {
  if [ -z "$wsclient" ]; then echo "  no wsclient"; return 1; fi
  "$wsclient" "$WS" "$(cookie_of CC-R1)" 4 10000 >"$tmp/ws.r1" 2>&1 &
  local r1=$!
  "$wsclient" "$WS" "$(cookie_of CC-P1)" 3 10000 >"$tmp/ws.p1" 2>&1 &
  local p1=$!
  "$wsclient" "$WS" "$(cookie_of CC-FIN)" 3 5000 >"$tmp/ws.fin" 2>&1 &
  local fin=$!
  pids+=("$r1" "$p1" "$fin")
  for _ in $(seq 200); do
    [ "$(cat "$tmp/ws.r1" "$tmp/ws.p1" "$tmp/ws.fin" 2>/dev/null | grep -c '^open$')" = 3 ] && break
    sleep 0.05
  done
  call CC-R1 order.new '{"id":"live1","service":"it.hour","side":"bid","qty":1,"price":9000}' >/dev/null
  wait "$r1" || { echo "  r1:"; cat "$tmp/ws.r1"; return 1; }
  wait "$p1" || { echo "  p1:"; cat "$tmp/ws.p1"; return 1; }
  wait "$fin"
  [ $? = 3 ] || { echo "  fin got more than the market data:"; cat "$tmp/ws.fin"; return 1; }
  local r1o p1o fino
  r1o=$(cat "$tmp/ws.r1") p1o=$(cat "$tmp/ws.p1") fino=$(cat "$tmp/ws.fin")
  has "$r1o" '{"type":"trade","service":"it.hour","trade":3,"qty":1,"price":8500,' \
    '{"type":"fill","trade":3,"service":"it.hour","side":"bid","order":' \
    '"qty":1,"price":8500,"time_ms":' '"counterparty":"CC-P1"}' \
    '{"type":"order.closed","order":' ',"service":"it.hour","status":"filled"}' \
    '{"type":"top","service":"it.hour",' &&
    has "$p1o" '{"type":"fill","trade":3,"service":"it.hour","side":"offer","order":1,' \
      '"counterparty":"CC-R1"}' &&
    has "$fino" '{"type":"trade","service":"it.hour","trade":3,' &&
    [[ "$fino" != *fill* && "$p1o" != *'"side":"bid"'* ]] || return 1
}
check the_websocket_gets_trades_and_fills live

live_refused() {
  local r up=(-H 'Upgrade: websocket' -H 'Connection: Upgrade' -H 'Sec-WebSocket-Version: 13'
              -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==')
  r=$(req "${up[@]}" "$WEB/api/live")
  [ "$(status "$r")" = 401 ] && [ -z "$(header "$r" Upgrade)" ] || { echo "$r"; return 1; }
  r=$(req -b "$(jar CC-R1)" -H 'Origin: http://evil.example' "${up[@]}" "$WEB/api/live")
  [ "$(status "$r")" = 403 ] && has "$(body "$r")" '"reason":"cross_origin"' || { echo "$r"; return 1; }
  r=$(req -b "$(jar CC-R1)" "$WEB/api/live")
  [ "$(status "$r")" = 400 ] || { echo "$r"; return 1; }
  # the right upgrade: 101 with the key's accept (RFC 6455's example)
  # (curl waits for more after the 101 until --max-time: a loaded machine's
  # 101 may take a while, so the wait is long enough for it)
  r=$(curl -s -i --max-time 5 -b "$(jar CC-R1)" -H "Origin: $WEB" "${up[@]}" "$WEB/api/live" | tr -d '\r')
  [ "$(status "$r")" = 101 ] && [ "$(header "$r" Sec-WebSocket-Accept)" = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=' ] ||
    { echo "  the upgrade: $r"; return 1; }
  r=$("$wsclient" "$WS" "imx_session=$(printf '%064d' 0)" 1 10000 2>&1)
  [ $? = 1 ] && has "$r" "Permission denied" || { echo "  an unknown session: $r"; return 1; }
}
check the_websocket_needs_a_session_and_its_origin live_refused

# ---------------------------------------------------------------- signout

signout() {
  "$wsclient" "$WS" "$(cookie_of CC-R2)" 1000 10000 >"$tmp/ws.r2" 2>&1 &
  local ws=$!
  pids+=("$ws")
  for _ in $(seq 200); do grep -q "^open$" "$tmp/ws.r2" 2>/dev/null && break; sleep 0.05; done
  local r
  r=$(req -b "$(jar CC-R2)" -c "$(jar CC-R2)" -X POST "$WEB/api/signout")
  [ "$(status "$r")" = 200 ] && [ "$(body "$r")" = '{"type":"signout.ok"}' ] &&
    [[ "$(header "$r" Set-Cookie)" == 'imx_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0' ]] ||
    { echo "$r"; return 1; }
  r=$(req -b "$(jar CC-R2)" "$WEB/api/session")
  [ "$(status "$r")" = 401 ] || { echo "$r"; return 1; }
  r=$(req -H "Cookie: $(grep -o 'imx_session=[0-9a-f]*' <<<"$(cookie_of CC-R2)")" "$WEB/api/session")
  [ "$(status "$r")" = 401 ] || return 1
  # its websocket ends (within the pump's second)
  wait "$ws"
  [ $? = 2 ] || { echo "  the websocket stayed open"; cat "$tmp/ws.r2"; return 1; }
}
check signout_ends_the_session_and_its_websocket signout

# ------------------------------------------------------------------ https

# --tls-cert and --tls-key: the web is https, the cookie Secure, the
# websocket wss; a certificate made here, for localhost and 127.0.0.1.
https() {
  if ! command -v openssl >/dev/null; then echo "  openssl is missing"; return 1; fi
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout "$tmp/key.pem" -out "$tmp/cert.pem" 2>/dev/null || { echo "  openssl failed"; return 1; }
  start_daemon tls --http https://127.0.0.1:0 --tls-cert "$tmp/cert.pem" --tls-key "$tmp/key.pem"
  [[ "$WEB_tls" == https://127.0.0.1:* ]] || { echo "  web on $WEB_tls"; return 1; }
  local t=(--cacert "$tmp/cert.pem") r
  r=$(req "${t[@]}" "$WEB_tls/")
  [ "$(status "$r")" = 200 ] && [ "$(header "$r" Content-Security-Policy)" = "$CSP" ] || { echo "$r"; return 1; }
  r=$(req "${t[@]}" -c "$tmp/tls.cookies" -X POST "$WEB_tls/api/signin" -d '{"token":"test-token-CC-R1"}')
  [[ "$(header "$r" Set-Cookie)" =~ ^imx_session=[0-9a-f]{64}\;\ Path=/\;\ HttpOnly\;\ SameSite=Strict\;\ Max-Age=43200\;\ Secure$ ]] ||
    { echo "$r"; return 1; }
  r=$(req "${t[@]}" -b "$tmp/tls.cookies" -H "Origin: $WEB_tls" -X POST "$WEB_tls/api/balance.get" -d '{}')
  [ "$(status "$r")" = 200 ] && has "$(body "$r")" '"balance.get.ok"' '"cc":"CC-R1"' || { echo "$r"; return 1; }
  # plain http on the https port gets nothing
  r=$(curl -s --max-time 3 "${WEB_tls/https:/http:}/" 2>&1)
  [[ "$r" != *imx* ]] || { echo "  http answered: $r"; return 1; }
  # wss: a trade seen through TLS
  local c
  c=$(awk '/imx_session/ {print "imx_session=" $7}' "$tmp/tls.cookies")
  "$wsclient" "${WEB_tls/https:/wss:}/api/live" "$c" 1 10000 "$tmp/cert.pem" >"$tmp/ws.tls" 2>&1 &
  local ws=$!
  pids+=("$ws")
  for _ in $(seq 200); do grep -q "^open$" "$tmp/ws.tls" 2>/dev/null && break; sleep 0.05; done
  r=$(req "${t[@]}" -b "$tmp/tls.cookies" -X POST "$WEB_tls/api/order.new" \
    -d '{"id":"t1","service":"it.hour","side":"bid","qty":1,"price":5000}')
  has "$(body "$r")" '"order.new.ok"' || { echo "$r"; return 1; }
  wait "$ws" && has "$(cat "$tmp/ws.tls")" '{"type":"top","service":"it.hour","bid":5000,' ||
    { cat "$tmp/ws.tls"; return 1; }
  kill "$PID_tls"
}
check https_with_a_self_signed_certificate https

# Refused at the start: https without a key, a key that is not PEM.
tls_refused() {
  local out
  out=$("$imxd" --market "$market" --db "$tmp/x.db" --http https://127.0.0.1:0 2>&1)
  [ $? = 2 ] || { echo "$out"; return 1; }
  echo "not a key" >"$tmp/bad.pem"
  out=$("$imxd" --market "$market" --db "$tmp/x.db" --listen tcp://127.0.0.1:0 \
    --publish tcp://127.0.0.1:0 --http https://127.0.0.1:0 --tls-cert "$tmp/cert.pem" \
    --tls-key "$tmp/bad.pem" 2>&1)
  # the server checks the pair before anything listens (tlsconf.c)
  [ $? = 1 ] && has "$out" "--tls-key $tmp/bad.pem: not a PEM private key" || { echo "$out"; return 1; }
}
check bad_tls_options_are_refused tls_refused

# Every daemon stops cleanly: no sanitizer report in any log (the ASan
# build), "stopped" in each.
clean_stops() {
  local p ok=0
  kill "$PID_web" 2>/dev/null
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  if grep -l "Sanitizer\|runtime error" "$tmp"/*.log; then
    grep -h -A12 "Sanitizer\|runtime error" "$tmp"/*.log | head -40
    ok=1
  fi
  grep -q "imxd: stopped" "$tmp/web.log" || { echo "  the web daemon did not stop"; ok=1; }
  return $ok
}
check every_daemon_stops_cleanly clean_stops

finish
