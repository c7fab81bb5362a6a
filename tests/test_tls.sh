#!/usr/bin/env bash
# TLS for the protocol: imxd --tls-cert/--tls-key serving tls+tcp:// request
# and market-data URLs on loopback, with a CA and certificates made here by
# openssl; imx (--ca, IMX_CA) trading, reading and watching over TLS;
# clients without the CA, with another CA or reaching a certificate made out
# to another name refused with a message that says what to do, while imxd
# keeps serving; imxd refusing to start with a TLS URL and no certificate,
# half of the pair, a key of another certificate, a file that is no PEM;
# imx-sim run --connect over TLS giving the in-process result.
# Without openssl the test exits 77 (skipped) unless IMX_REQUIRE_TOOLS=1.
# usage: test_tls.sh IMXD IMX SOURCE_DIR IMX_SIM
set -u
imxd=$1
imx=$2
src=$3
sim=$4
market=$src/examples/market.json
. "$(dirname "$0")/lib.sh"

if ! command -v openssl >/dev/null; then
  echo "openssl is missing (apt-get install openssl)"
  [ "${IMX_REQUIRE_TOOLS:-0}" = 1 ] && { echo "0 passed, 1 failed"; exit 1; }
  exit 77
fi

# ------------------------------------------------------------ certificates

# The README's recipe: a CA, and imxd's certificate signed by it for the
# loopback address (as an IP and, for mbedtls, as a DNS name) and localhost.
# other-ca signed nothing of imxd's; elsewhere.pem is signed by the right
# CA but made out to another name.
make_certs() {
  local d=$tmp/pki
  mkdir -p "$d" && cd "$d" || return 1
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout ca.key -out ca.pem -days 30 -subj "/CN=imx test CA" &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout imxd.key -out imxd.csr -subj "/CN=localhost" &&
    printf 'subjectAltName=IP:127.0.0.1,DNS:127.0.0.1,DNS:localhost\n' >imxd.ext &&
    openssl x509 -req -in imxd.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -days 30 -extfile imxd.ext -out imxd.pem &&
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout other-ca.key -out other-ca.pem -days 30 -subj "/CN=another CA" &&
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout elsewhere.key -out elsewhere.csr -subj "/CN=elsewhere.example" &&
    printf 'subjectAltName=DNS:elsewhere.example\n' >elsewhere.ext &&
    openssl x509 -req -in elsewhere.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -days 30 -extfile elsewhere.ext -out elsewhere.pem
  local rc=$?
  cd - >/dev/null
  return $rc
} >"$tmp/openssl.log" 2>&1
make_certs || { echo "openssl failed:"; cat "$tmp/openssl.log"; exit 1; }
pki=$tmp/pki
tls=(--listen tls+tcp://127.0.0.1:0 --publish tls+tcp://127.0.0.1:0
     --tls-cert "$pki/imxd.pem" --tls-key "$pki/imxd.key")

# --------------------------------------------------------- start errors

# refused_start EXIT NEEDLE imxd-options...: imxd exits at once with EXIT
# and its output names the fault.
refused_start() {
  local want=$1 needle=$2 out rc
  shift 2
  rm -f "$tmp/refused.db"
  out=$(timeout 20 "$imxd" --market "$market" --db "$tmp/refused.db" \
    --listen tcp://127.0.0.1:0 --publish tcp://127.0.0.1:0 "$@" 2>&1)
  rc=$?
  [ $rc -eq "$want" ] || { echo "  exit $rc, want $want: $out"; return 1; }
  has "$out" "$needle"
}
check tls_url_without_certificate_refused \
  refused_start 1 "tls+tcp://127.0.0.1:0: a TLS URL needs the server's certificate and key: pass --tls-cert FILE --tls-key FILE" \
  --publish tls+tcp://127.0.0.1:0
check certificate_without_key_refused \
  refused_start 2 "--tls-cert and --tls-key go together" --tls-cert "$pki/imxd.pem"
check key_of_another_certificate_refused \
  refused_start 1 "--tls-key $pki/other-ca.key: not the key of the certificate in --tls-cert $pki/imxd.pem" \
  "${tls[@]}" --tls-key "$pki/other-ca.key"
check key_as_certificate_refused \
  refused_start 1 "--tls-cert $pki/imxd.key: not a PEM certificate" \
  "${tls[@]}" --tls-cert "$pki/imxd.key"
check missing_certificate_file_refused \
  refused_start 1 "--tls-cert $pki/none.pem: No such file or directory" \
  "${tls[@]}" --tls-cert "$pki/none.pem"

# ------------------------------------------------------ trading over TLS

start_daemon tls "${tls[@]}"
imx_tls() { "$imx" --url "$URL_tls" --pub-url "$PUB_tls" "$@"; }

urls_are_tls() {
  [[ "$URL_tls" == tls+tcp://127.0.0.1:* && "$PUB_tls" == tls+tcp://127.0.0.1:* &&
     "$URL_tls" != *:0 ]] || { echo "  $URL_tls $PUB_tls"; return 1; }
}
check imxd_logs_the_tls_urls urls_are_tls

# The watcher trusts the CA through IMX_CA, the traders through --ca. It
# watches a second service too, the canary: a subscriber gets what is
# published once its pipe is in, over TLS after the handshake, and nothing
# says when that is (a fixed half second was too short on a loaded machine
# under ASan), so offers on the canary go out until the watcher shows one,
# and only then the trade.
IMX_CA=$pki/ca.pem IMX_TOKEN=demo-CC-9000 timeout 60 \
  "$imx" --url "$URL_tls" --pub-url "$PUB_tls" watch it.helpdesk.hour translation.page \
  >"$tmp/watch.out" 2>"$tmp/watch.err" &
watch_pid=$!
pids+=("$watch_pid")

trade_over_tls() {
  local out ok=1 i
  wait_connected "$PUB_tls" || return 1
  for i in $(seq 80); do # offers of one page at 21.00 .. 100.00
    IMX_TOKEN=demo-CC-7100 imx_tls --ca "$pki/ca.pem" offer translation.page 1 $((20 + i)) >/dev/null ||
      { echo "  canary offer $i refused"; return 1; }
    sleep 0.25
    [ -s "$tmp/watch.out" ] && break
  done
  [ -s "$tmp/watch.out" ] || { echo "  the watcher showed none of 80 canary offers"; return 1; }
  out=$(IMX_TOKEN=demo-CC-4100 imx_tls --ca "$pki/ca.pem" offer it.helpdesk.hour 40 85 2>&1) ||
    { echo "  offer: $out"; ok=0; }
  out=$(IMX_TOKEN=demo-CC-1100 imx_tls --ca "$pki/ca.pem" bid it.helpdesk.hour 25 90 2>&1) ||
    { echo "  bid: $out"; ok=0; }
  has "$out" "filled: 25 filled" "it.helpdesk.hour" "85.00" || ok=0
  out=$(IMX_TOKEN=demo-CC-1100 imx_tls --ca "$pki/ca.pem" balance 2>&1) || ok=0
  has "$out" "spent 2125.00" || ok=0
  out=$(IMX_TOKEN=demo-CC-4100 imx_tls --ca "$pki/ca.pem" orders 2>&1) || ok=0
  has "$out" "15" "85.00" || ok=0
  [ $ok -eq 1 ]
}
check imx_trades_and_reads_over_tls trade_over_tls

watch_gets_the_trade() {
  local i
  for i in $(seq 200); do # up to 10 s for the trade's last line
    grep -q "best offer 85.00 x 15" "$tmp/watch.out" && break
    kill -0 "$watch_pid" 2>/dev/null || break
    sleep 0.05
  done
  kill "$watch_pid" 2>/dev/null
  wait "$watch_pid" 2>/dev/null
  has "$(cat "$tmp/watch.out")" "best offer 85.00 x 40" "trade 1: 25 at 85.00" \
    "best offer 85.00 x 15" || { echo "  watch: $(cat "$tmp/watch.err")"; return 1; }
}
check watch_over_tls_gets_the_trade watch_gets_the_trade

# refused_client EXIT NEEDLE imx-arguments...: imx fails with EXIT, one line.
refused_client() {
  local want=$1 needle=$2 out rc
  shift 2
  out=$(IMX_CA= IMX_TOKEN=demo-CC-1100 timeout 20 "$imx" "$@" 2>&1)
  rc=$?
  [ $rc -eq "$want" ] || { echo "  exit $rc, want $want: $out"; return 1; }
  [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ] || { echo "  not one line: $out"; return 1; }
  has "$out" "$needle"
}
check no_ca_says_to_pass_it \
  refused_client 2 "$URL_tls: a TLS URL needs the certificate of the CA that signed imxd's: pass --ca FILE (or set IMX_CA)" \
  --url "$URL_tls" balance
check no_ca_for_watch_says_to_pass_it \
  refused_client 2 "pass --ca FILE (or set IMX_CA)" --url "$URL_tls" --pub-url "$PUB_tls" watch
check another_ca_is_refused \
  refused_client 3 "$URL_tls: imxd's certificate was refused: it is not signed by the CA in $pki/other-ca.pem, or not made out to 127.0.0.1" \
  --url "$URL_tls" --ca "$pki/other-ca.pem" balance
check ca_file_not_pem_is_refused \
  refused_client 3 "--ca $pki/imxd.key: not a readable PEM certificate" \
  --url "$URL_tls" --ca "$pki/imxd.key" balance
json_no_ca() {
  local out
  out=$(IMX_CA= IMX_TOKEN=demo-CC-1100 "$imx" --json --url "$URL_tls" balance)
  [ $? -eq 2 ] && has "$out" '"code":"usage"' '"field":"ca"' "pass --ca FILE"
}
check no_ca_with_json_is_a_usage_error json_no_ca
# A plain tcp client on the TLS port gets no reply (the handshake is not
# SP's); imxd drops it.
plain_client() {
  local plain=${URL_tls/tls+tcp/tcp} out
  out=$(IMX_TOKEN=demo-CC-1100 timeout 30 "$imx" --url "$plain" balance 2>&1)
  [ $? -eq 3 ] || { echo "  $out"; return 1; }
}
check plain_tcp_client_on_tls_port_fails plain_client

still_serving() {
  kill -0 "$PID_tls" || { echo "  imxd died"; return 1; }
  local out
  out=$(IMX_CA=$pki/ca.pem IMX_TOKEN=demo-CC-1100 imx_tls balance 2>&1) || { echo "  $out"; return 1; }
  has "$out" "spent 2125.00"
}
check imxd_serves_after_refused_clients still_serving

# A certificate of the right CA made out to another name.
start_daemon elsewhere "${tls[@]}" --tls-cert "$pki/elsewhere.pem" --tls-key "$pki/elsewhere.key"
check certificate_for_another_name_is_refused \
  refused_client 3 "not made out to 127.0.0.1" --url "$URL_elsewhere" --ca "$pki/ca.pem" balance

stop_tls() {
  kill -TERM "$PID_tls" && wait "$PID_tls" || { echo "  imxd did not stop cleanly"; return 1; }
  local out
  out=$("$imx" ledger verify --db "$tmp/tls.db" 2>&1)
  has "$out" ": ok (" " 1 trade;"
}
check imxd_stops_cleanly_and_the_ledger_has_the_trade stop_tls

# ------------------------------------------------ imx-sim run --connect

cat >"$tmp/sim.json" <<'EOF'
{"description": "test_tls",
 "currency": "EUR", "periods": 2, "seed": 3, "agents": "zi-c",
 "services": [{"id": "it.hour", "unit": "hour", "mode": "continuous", "tick": 100, "price_max": 20000}],
 "providers": [{"cc": "CC-P1", "site": "A", "service": "it.hour", "costs": [5000, 6000, 7000]},
               {"cc": "CC-P2", "site": "B", "service": "it.hour", "costs": [5500, 9000]}],
 "receivers": [{"cc": "CC-R1", "site": "A", "headcount": 10, "service": "it.hour", "values": [12000, 10000, 6000], "budget": 500000},
               {"cc": "CC-R2", "site": "B", "headcount": 5, "service": "it.hour", "values": [15000, 7000], "budget": 50000}],
 "flat_rate": [{"service": "it.hour", "key": "per_unit", "rate": 7000}]}
EOF
sim_over_tls() {
  local ok=1 out
  "$sim" market "$tmp/sim.json" >"$tmp/sim.market.json" 2>/dev/null || return 1
  market=$tmp/sim.market.json start_daemon sim "${tls[@]}" --sync normal
  "$sim" run "$tmp/sim.json" --json >"$tmp/sim.in.json" 2>"$tmp/sim.in.err" ||
    { echo "  in-process: $(cat "$tmp/sim.in.err")"; ok=0; }
  timeout 60 "$sim" run "$tmp/sim.json" --json --connect "$URL_sim" --ca "$pki/ca.pem" \
    >"$tmp/sim.co.json" 2>"$tmp/sim.co.err" || { echo "  --connect: $(cat "$tmp/sim.co.err")"; ok=0; }
  cmp "$tmp/sim.in.json" "$tmp/sim.co.json" || ok=0
  grep -q '"market":{[^}]*"trades":[1-9]' "$tmp/sim.in.json" || { echo "  no trades"; ok=0; }
  out=$(IMX_CA= timeout 20 "$sim" run "$tmp/sim.json" --json --connect "$URL_sim" 2>&1)
  [ $? -ne 0 ] || { echo "  ran without --ca"; ok=0; }
  has "$out" "pass --ca FILE (or set IMX_CA)" || ok=0
  [ $ok -eq 1 ]
}
check sim_connect_over_tls_gives_the_in_process_result sim_over_tls

finish
