#!/usr/bin/env bash
# The ledger offline: imx ledger verify, and the exports accepted by the real
# tools (hledger, bean-check from Debian's packages), with hledger's balance
# of every account equal to imx's own and the total zero.
# usage: test_export.sh IMXD IMX SOURCE_DIR
set -u
imxd=$1
imx=$2
src=$3
market=$src/examples/market.json
. "$(dirname "$0")/lib.sh"

# A ledger with trades in two services, made by the daemon itself.
"$imxd" --market "$market" --db "$tmp/l.db" --listen tcp://127.0.0.1:0 \
  --publish tcp://127.0.0.1:0 2>"$tmp/log" &
pid=$!
pids+=("$pid")
for _ in $(seq 100); do grep -q 'requests on' "$tmp/log" && break; sleep 0.05; done
url=$(grep -o 'requests on [^,]*' "$tmp/log" | cut -d' ' -f3)
as() { local cc=$1; shift; IMX_URL=$url IMX_TOKEN=demo-$cc "$imx" "$@" >/dev/null; }
as CC-4100 offer it.helpdesk.hour 40 8500
as CC-4200 offer it.helpdesk.hour 10 8200
as CC-1100 bid it.helpdesk.hour 25 9000
as CC-1500 bid it.helpdesk.hour 5 8600
as CC-7100 offer translation.page 300 250
as CC-1400 bid translation.page 120 300
IMX_URL=$url IMX_TOKEN=demo-CC-9000 "$imx" balance --for CC-4100 >"$tmp/bal.4100"
as CC-9000 period close            # period 1 ends: summarised and frozen
as CC-1500 bid it.helpdesk.hour 1 8600  # a trade of period 2
kill "$pid"
wait "$pid"

verify_ok() {
  "$imx" ledger verify --db "$tmp/l.db" | grep -q 'ok (8 commands, 5 trades'
}
check ledger_verify_passes verify_ok

export_all() {
  for f in csv sap hledger beancount; do
    "$imx" export --db "$tmp/l.db" --market "$market" --format "$f" --out "$tmp/x.$f" 2>/dev/null || return 1
  done
}
check exports_are_written export_all

csv_rows() {
  [ "$(head -1 "$tmp/x.csv")" = "trade,period,date,service,buyer,seller,qty,unit,price,amount,currency" ] &&
    [ "$(wc -l <"$tmp/x.csv")" -eq 6 ] &&
    grep -q '^1,1,[0-9-]*,it.helpdesk.hour,CC-1100,CC-4200,10,hour,82.00,820.00,EUR$' "$tmp/x.csv"
}
check csv_has_a_header_and_a_row_per_settlement csv_rows

sap_rows() {
  grep -q '^CC-7100;translation.page;CC-1400;120;page;2.50;300.00;EUR;[0-9-]*;IMX-4$' "$tmp/x.sap"
}
check sap_is_a_direct_activity_allocation sap_rows

hledger_accepts_and_agrees() {
  command -v hledger >/dev/null || { echo "  hledger is missing (apt-get install hledger)"; return 1; }
  hledger -f "$tmp/x.hledger" check >/dev/null || return 1
  # The total is zero, and CC-4100's income equals what imx says it earned.
  local earned
  earned=$(grep -o 'earned [0-9.]*' "$tmp/bal.4100" | cut -d' ' -f2)
  [ -n "$earned" ] && [ "$earned" != "0.00" ] &&
    hledger -f "$tmp/x.hledger" bal | tail -1 | grep -qE '^ *0 *$' &&
    "$imx" export --db "$tmp/l.db" --market "$market" --period 1 --format hledger |
      hledger -f - bal income:internal:CC-4100 | grep -q -- "-$earned EUR" ||
    { hledger -f "$tmp/x.hledger" bal; echo "  imx: earned $earned"; return 1; }
}
check hledger_accepts_the_journal_and_balances_agree hledger_accepts_and_agrees

beancount_accepts() {
  command -v bean-check >/dev/null || { echo "  bean-check is missing (apt-get install beancount)"; return 1; }
  bean-check "$tmp/x.beancount"
}
check bean_check_accepts_the_export beancount_accepts

period_filter() {
  "$imx" export --db "$tmp/l.db" --market "$market" --period 1 --format csv | wc -l | grep -qx 5 &&
    "$imx" export --db "$tmp/l.db" --market "$market" --period 2 --format csv | wc -l | grep -qx 2 &&
    "$imx" export --db "$tmp/l.db" --market "$market" --period 3 --format csv | wc -l | grep -qx 1
}
check export_by_period period_filter

tampered_fails() {
  cp "$tmp/l.db" "$tmp/t.db"
  printf 'garbage' | dd of="$tmp/t.db" bs=1 seek=4096 conv=notrunc 2>/dev/null
  ! "$imx" ledger verify --db "$tmp/t.db" >/dev/null 2>&1 &&
    ! "$imxd" --market "$market" --db "$tmp/t.db" --listen tcp://127.0.0.1:0 \
      --publish tcp://127.0.0.1:0 2>"$tmp/t.log" && grep -q 'ledger' "$tmp/t.log"
}
check a_corrupted_ledger_is_refused_with_a_message tampered_fails

truncated_fails() {
  head -c 5000 "$tmp/l.db" >"$tmp/short.db"
  ! "$imx" ledger verify --db "$tmp/short.db" >/dev/null 2>"$tmp/short.err" &&
    [ -s "$tmp/short.err" ]
}
check a_truncated_ledger_is_refused_with_a_message truncated_fails

finish
