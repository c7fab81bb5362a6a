#!/usr/bin/env bash
# The ledger offline: imx ledger verify, and the exports accepted by the real
# tools (hledger, bean-check from Debian's packages), with hledger's balance
# of every account equal to imx's own and the total zero; ids holding ';',
# ',', '"', ':' and spaces escaped by every format; a missing ledger refused.
# usage: test_export.sh IMXD IMX SOURCE_DIR
#
# Without hledger or bean-check the checks that need them are skipped and the
# test exits 77, which ctest reports as skipped (SKIP_RETURN_CODE), unless
# IMX_REQUIRE_TOOLS=1 (set by ./imx-dev test, so CI), which fails them.
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

# A check that needs a tool: run, skipped, or failed under IMX_REQUIRE_TOOLS=1.
with_tool() { # tool package name command...
  local tool=$1 package=$2 name=$3
  shift 3
  if command -v "$tool" >/dev/null; then
    check "$name" "$@"
  elif [ "${IMX_REQUIRE_TOOLS:-0}" = 1 ]; then
    echo "  $tool is missing (apt-get install $package) and IMX_REQUIRE_TOOLS=1"
    check "$name" false
  else
    skip "$name" "$tool is not installed (apt-get install $package)"
  fi
}
as CC-4100 offer it.helpdesk.hour 40 85
as CC-4200 offer it.helpdesk.hour 10 82
as CC-1100 bid it.helpdesk.hour 25 90
as CC-1500 bid it.helpdesk.hour 5 86
as CC-7100 offer translation.page 300 2.50
as CC-1400 bid translation.page 120 3
IMX_URL=$url IMX_TOKEN=demo-CC-9000 "$imx" balance --for CC-4100 >"$tmp/bal.4100"
as CC-9000 period close            # period 1 ends: summarised and frozen
as CC-1500 bid it.helpdesk.hour 1 86  # a trade of period 2
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
    grep -q '^1,2026-12,[0-9-]*,it.helpdesk.hour,CC-1100,CC-4200,10,hour,82.00,820.00,EUR$' "$tmp/x.csv"
}
check csv_has_a_header_and_a_row_per_settlement csv_rows

sap_rows() {
  grep -q '^CC-7100;translation.page;CC-1400;120;page;2.50;300.00;EUR;[0-9-]*;IMX-4$' "$tmp/x.sap"
}
check sap_is_a_direct_activity_allocation sap_rows

hledger_accepts_and_agrees() {
  hledger -f "$tmp/x.hledger" check >/dev/null || return 1
  # The total is zero, and CC-4100's income equals what imx says it earned.
  local earned
  earned=$(grep -o 'earned [0-9.]*' "$tmp/bal.4100" | cut -d' ' -f2)
  [ -n "$earned" ] && [ "$earned" != "0.00" ] &&
    hledger -f "$tmp/x.hledger" bal | tail -1 | grep -qE '^ *0 *$' &&
    "$imx" export --db "$tmp/l.db" --market "$market" --period 2026-12 --format hledger |
      hledger -f - bal income:internal:CC-4100 | grep -q -- "-$earned EUR" ||
    { hledger -f "$tmp/x.hledger" bal; echo "  imx: earned $earned"; return 1; }
}
with_tool hledger hledger hledger_accepts_the_journal_and_balances_agree hledger_accepts_and_agrees

with_tool bean-check beancount bean_check_accepts_the_export bean-check "$tmp/x.beancount"

period_filter() {
  "$imx" export --db "$tmp/l.db" --market "$market" --period 2026-12 --format csv | wc -l | grep -qx 5 &&
    "$imx" export --db "$tmp/l.db" --market "$market" --period 2027-01 --format csv | wc -l | grep -qx 2 &&
    "$imx" export --db "$tmp/l.db" --market "$market" --period 2027-02 --format csv | wc -l | grep -qx 1
}
check export_by_period period_filter

# Period 2026-12 is closed: its postings carry its last day; 2027-01 is open:
# its trade carries the day it was made. A label the market has no period
# for is refused by name.
posting_dates() {
  local today
  today=$(date -u +%Y-%m-%d)
  "$imx" export --db "$tmp/l.db" --market "$market" --period 2026-12 --format sap |
    tail -n +2 | cut -d';' -f9 | sort -u | grep -qx 2026-12-31 &&
    "$imx" export --db "$tmp/l.db" --market "$market" --period 2027-01 --format csv |
      tail -1 | cut -d, -f2,3 | grep -qx "2027-01,$today" &&
    ! "$imx" export --db "$tmp/l.db" --market "$market" --period 2026-11 --format csv \
      >/dev/null 2>"$tmp/e" &&
    [ "$(cat "$tmp/e")" = "imx export: --period: '2026-11': not a period of this market (the first is 2026-12); see imx help export" ]
}
check closed_period_postings_carry_its_last_day posting_dates

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

corrupted_names_the_page() {
  "$imx" ledger verify --db "$tmp/t.db" 2>&1 | grep -q 'integrity: \*\*\* in database main \*\*\* Page 2'
}
check verify_shows_the_integrity_checks_rows corrupted_names_the_page

# A path that does not exist: a message naming it, exit 1, nothing created.
missing_verify_fails() {
  local out rc
  out=$("$imx" ledger verify --db "$tmp/none/l.db" 2>&1)
  rc=$?
  [ "$rc" -eq 1 ] && [ "$out" = "imx ledger verify: $tmp/none/l.db: cannot open: No such file or directory" ] ||
    { echo "  rc $rc: $out"; return 1; }
  "$imx" ledger verify --db "$tmp/none.db" 2>/dev/null
  [ $? -eq 1 ] && [ ! -e "$tmp/none.db" ] && [ ! -e "$tmp/none" ]
}
check verify_of_a_missing_ledger_fails_and_creates_nothing missing_verify_fails

missing_export_fails() {
  local out
  out=$("$imx" export --db "$tmp/none.db" --market "$market" --format csv --out "$tmp/none.csv" 2>&1)
  [ $? -eq 1 ] && [ "$out" = "imx export: $tmp/none.db: cannot open: No such file or directory" ] &&
    [ ! -e "$tmp/none.db" ] && [ ! -e "$tmp/none.csv" ] && [ -z "$(ls "$tmp" | grep '^none')" ]
}
check export_of_a_missing_ledger_fails_and_creates_nothing missing_export_fails

# A market whose ids hold what the market file allows and the formats must
# escape: the demo market with two cost centres, a service and its unit
# renamed (tokens stay: they are found by hash).
odd=$tmp/odd.json
sed -e 's/"CC-4100"/"CC 4100;\\"IT\\",HH"/g' -e 's/"CC-1100"/"sales: north \\"1,2\\""/g' \
  -e 's/"it.helpdesk.hour"/"it help;desk,\\"hour\\""/g' -e 's/"unit": "hour"/"unit": "h \\"x\\";y"/' \
  "$market" >"$odd"
"$imxd" --market "$odd" --db "$tmp/odd.db" --listen tcp://127.0.0.1:0 \
  --publish tcp://127.0.0.1:0 2>"$tmp/odd.log" &
pid=$!
pids+=("$pid")
for _ in $(seq 100); do grep -q 'requests on' "$tmp/odd.log" && break; sleep 0.05; done
url=$(grep -o 'requests on [^,]*' "$tmp/odd.log" | cut -d' ' -f3)
as CC-4100 offer 'it help;desk,"hour"' 40 85
as CC-1100 bid 'it help;desk,"hour"' 25 90
as CC-7100 offer translation.page 10 3   # ids that need no escaping
as CC-1400 bid translation.page 10 3
kill "$pid"
wait "$pid"

odd_export() { "$imx" export --db "$tmp/odd.db" --market "$odd" --format "$1" --out "$tmp/odd.$1" 2>"$tmp/odd.err"; }

odd_csv() {
  odd_export csv &&
    grep -qx '1,2026-12,[0-9-]*,"it help;desk,""hour""","sales: north ""1,2""","CC 4100;""IT"",HH",25,"h ""x"";y",85.00,2125.00,EUR' "$tmp/odd.csv" &&
    grep -qx '2,2026-12,[0-9-]*,translation.page,CC-1400,CC-7100,10,page,3.00,30.00,EUR' "$tmp/odd.csv"
}
check csv_quotes_ids_per_rfc_4180 odd_csv

odd_sap() {
  ! odd_export sap && [ ! -e "$tmp/odd.sap" ] && grep -q "CC 4100;\"IT\",HH" "$tmp/odd.err"
}
check sap_refuses_ids_with_its_separator_and_writes_nothing odd_sap

odd_hledger() {
  odd_export hledger &&
    grep -qx '    expenses:internal:Xsales-3A-20north-20-221-2C2-22    2125.00 EUR' "$tmp/odd.hledger" &&
    hledger -f "$tmp/odd.hledger" check &&
    hledger -f "$tmp/odd.hledger" bal income:internal:CC-204100-3B-22IT-22-2CHH | grep -q -- '-2125.00 EUR' &&
    hledger -f "$tmp/odd.hledger" bal | tail -1 | grep -qE '^ *0 *$'
}
with_tool hledger hledger hledger_accepts_escaped_account_names odd_hledger

odd_beancount() {
  odd_export beancount &&
    grep -qx '  Income:Internal:CC-204100-3B-22IT-22-2CHH  -2125.00 EUR' "$tmp/odd.beancount" &&
    bean-check "$tmp/odd.beancount"
}
with_tool bean-check beancount bean_check_accepts_escaped_account_names odd_beancount

finish || exit 1
[ "$skipped" -eq 0 ] || exit 77
