#!/usr/bin/env bash
# The ledger offline: imx ledger verify, and the exports accepted by the real
# tools (hledger, bean-check from Debian's packages), with hledger's balance
# of every account equal to imx's own and the total zero; ids holding ';',
# ',', '"', ':' and spaces escaped by every format; a missing ledger refused.
# The SAP upload (issue 15): every field of every line against the BAPI's
# field list and SAP's lengths, every amount read back equal to the
# ledger's (sqlite3), posting dates the period's end, a decimal comma,
# missing or too long mappings named, and README's example as imx writes it.
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
  for f in csv hledger beancount; do
    "$imx" export --db "$tmp/l.db" --market "$market" --format "$f" --out "$tmp/x.$f" 2>/dev/null || return 1
  done
  # SAP gets closed periods only: 2026-12
  "$imx" export --db "$tmp/l.db" --market "$market" --period 2026-12 --format sap \
    --out "$tmp/x.sap" 2>/dev/null
}
check exports_are_written export_all

csv_rows() {
  [ "$(head -1 "$tmp/x.csv")" = "trade,period,date,service,buyer,seller,qty,unit,price,amount,currency" ] &&
    [ "$(wc -l <"$tmp/x.csv")" -eq 6 ] &&
    grep -q '^1,2026-12,[0-9-]*,it.helpdesk.hour,CC-1100,CC-4200,10,hour,82.00,820.00,EUR$' "$tmp/x.csv"
}
check csv_has_a_header_and_a_row_per_settlement csv_rows

sap_rows() {
  grep -qx 'I;1;0000007100;TRANSL;120;EA;0000001400;300.00;EUR;IMX-4 Translation page' "$tmp/x.sap"
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
    ! "$imx" export --db "$tmp/l.db" --market "$market" --period 2027-02 --format csv \
      >"$tmp/future.csv" 2>"$tmp/e" &&
    [ "$(cat "$tmp/e")" = "imx export: --period: '2027-02': that period has not begun (the open one is 2027-01)" ] &&
    [ ! -s "$tmp/future.csv" ]
}
check export_by_period period_filter

# Period 2026-12 is closed: its postings carry its last day; 2027-01 is open:
# its trade carries the day it was made. A label the market has no period
# for is refused by name.
posting_dates() {
  local today
  today=$(date -u +%Y-%m-%d)
  "$imx" export --db "$tmp/l.db" --market "$market" --period 2026-12 --format csv |
    tail -n +2 | cut -d, -f3 | sort -u | grep -qx 2026-12-31 &&
    "$imx" export --db "$tmp/l.db" --market "$market" --period 2027-01 --format csv |
      tail -1 | cut -d, -f2,3 | grep -qx "2027-01,$today" &&
    ! "$imx" export --db "$tmp/l.db" --market "$market" --period 2026-11 --format csv \
      >/dev/null 2>"$tmp/e" &&
    [ "$(cat "$tmp/e")" = "imx export: --period: '2026-11': not a period of this market (the first is 2026-12); see imx help export" ]
}
check closed_period_postings_carry_its_last_day posting_dates

# ------------------------------------------------------------ the SAP upload

# SAP's fields: the length of each (characters) and the form of its value.
declare -A sap_max=([DOC]=9 [CO_AREA]=4 [DOCDATE]=8 [POSTGDATE]=8 [USERNAME]=12
  [DOC_HDR_TX]=50 [SEND_CCTR]=10 [ACTTYPE]=6 [ACTVTY_QTY]=15 [ACTIVITYUN]=3 [REC_CCTR]=10
  [PRICE]=23 [CURRENCY]=5 [SEG_TEXT]=50)
sap_head='*H;DOC;CO_AREA;DOCDATE;POSTGDATE;USERNAME;DOC_HDR_TX'
sap_item='*I;DOC;SEND_CCTR;ACTTYPE;ACTVTY_QTY;ACTIVITYUN;REC_CCTR;PRICE;CURRENCY;SEG_TEXT'

# sap_file_ok FILE SEP DAY: the column lines first, then H and I lines whose
# every field has its column's form and SAP's length at most, items tied to
# the header before them, dates the period's last day DAY, amounts with the
# decimal separator SEP and EUR's two decimals.
sap_file_ok() {
  local file=$1 sep=$2 day=$3 n=0 doc=0 line i
  local -a cols f
  local LC_ALL=C.UTF-8 # ${#x} counts characters, as SAP does
  while IFS= read -r line; do
    n=$((n + 1))
    if [ "$n" -le 2 ]; then
      [ "$line" = "$([ "$n" -eq 1 ] && echo "$sap_head" || echo "$sap_item")" ] ||
        { echo "  line $n: $line"; return 1; }
      continue
    fi
    case ${line:0:2} in
    'H;') IFS=';' read -r -a cols <<<"${sap_head#\*H;}"; doc=$((doc + 1)) ;;
    'I;') IFS=';' read -r -a cols <<<"${sap_item#\*I;}" ;;
    *) echo "  line $n: not H or I: $line"; return 1 ;;
    esac
    IFS=';' read -r -a f <<<"${line:2};" # the ';' keeps an empty last field
    [ "${#f[@]}" -eq "${#cols[@]}" ] || { echo "  line $n: ${#f[@]} fields: $line"; return 1; }
    for i in "${!cols[@]}"; do
      local c=${cols[$i]} v=${f[$i]} form
      case $c in
      DOC) form="^$doc\$" ;;
      DOCDATE | POSTGDATE) form="^$day\$" ;;
      ACTVTY_QTY) form='^[1-9][0-9]*$' ;;
      PRICE) form="^[0-9]+\\$sep[0-9]{2}\$" ;;
      CURRENCY) form='^EUR$' ;;
      SEG_TEXT) form='^IMX-[0-9]+ ' ;;
      *) form='^[^;" ]' ;;
      esac
      [[ "$v" =~ $form ]] && [ "${#v}" -ge 1 ] && [ "${#v}" -le "${sap_max[$c]}" ] ||
        { echo "  line $n: $c '$v' (${#v} characters, at most ${sap_max[$c]}, form $form)"; return 1; }
    done
  done <"$file"
  [ "$n" -gt 2 ] && [ "$doc" -ge 1 ]
}

sap_fields_within_sap_lengths() {
  sap_file_ok "$tmp/x.sap" . 20261231 &&
    [ "$(grep -c '^H;' "$tmp/x.sap")" -eq 1 ] && [ "$(grep -c '^I;' "$tmp/x.sap")" -eq 4 ]
}
check sap_every_field_of_every_line_has_its_form_and_sap_length sap_fields_within_sap_lengths

# Every PRICE read back with EUR's two decimals is its trade's amount in the
# ledger (sqlite3 on the file), and their sum the period's; the quantities
# too. SEP is the decimal separator the file was written with.
sap_round_trip() { # FILE SEP
  local file=$1 sep=$2 sum=0 line trade want
  local -a f
  while IFS= read -r line; do
    IFS=';' read -r -a f <<<"$line"
    trade=${f[9]#IMX-}
    trade=${trade%% *}
    local whole=${f[7]%"$sep"*} cents=${f[7]#*"$sep"}
    [ "$whole$sep$cents" = "${f[7]}" ] && [ "${#cents}" -eq 2 ] || { echo "  PRICE ${f[7]}"; return 1; }
    local minor=$((10#$whole * 100 + 10#$cents))
    want=$(sqlite3 "$tmp/l.db" "SELECT amount_minor || ' ' || qty FROM trades WHERE trade_id = $trade")
    [ "$want" = "$minor ${f[4]}" ] || { echo "  trade $trade: ledger '$want', file '$minor ${f[4]}'"; return 1; }
    sum=$((sum + minor))
  done < <(grep '^I;' "$file")
  want=$(sqlite3 "$tmp/l.db" "SELECT sum(amount_minor) FROM trades WHERE period = 1")
  [ "$sum" -eq "$want" ] && [ "$sum" -eq 282000 ] || { echo "  sum $sum, ledger $want"; return 1; }
}
with_tool sqlite3 sqlite3 sap_amounts_read_back_are_the_ledgers sap_round_trip "$tmp/x.sap" .

# --decimal comma (German installations): the same file with ',' in PRICE,
# read back the same; the other formats keep their point.
sap_comma() {
  "$imx" --decimal comma export --db "$tmp/l.db" --market "$market" --period 2026-12 \
    --format sap --out "$tmp/x.sap.de" 2>/dev/null &&
    sap_file_ok "$tmp/x.sap.de" , 20261231 &&
    [ "$(tr , . <"$tmp/x.sap.de")" = "$(cat "$tmp/x.sap")" ] &&
    grep -qx 'I;1;0000004100;ITHLP;15;H;0000001100;1275,00;EUR;IMX-2 IT helpdesk hour' "$tmp/x.sap.de" &&
    IMX_DECIMAL=comma "$imx" export --db "$tmp/l.db" --market "$market" --period 2026-12 \
      --format csv | grep -q ',82.00,820.00,EUR$'
}
check sap_amounts_with_a_decimal_comma sap_comma
with_tool sqlite3 sqlite3 sap_comma_amounts_read_back_are_the_ledgers sap_round_trip "$tmp/x.sap.de" ,

# The open period 2027-01 is not posted: the whole ledger, or that period,
# is refused by name, and --out leaves no file.
sap_open_period() {
  local out
  out=$("$imx" export --db "$tmp/l.db" --market "$market" --format sap --out "$tmp/open.sap" 2>&1)
  [ $? -eq 1 ] && [ ! -e "$tmp/open.sap" ] &&
    [ "$out" = "imx export: export failed: sap: period 2027-01 is open: only closed periods are posted (imx period close; or --period with a closed one)" ] ||
    { echo "  $out"; return 1; }
  ! "$imx" export --db "$tmp/l.db" --market "$market" --period 2027-01 --format sap >/dev/null 2>&1 &&
    # an open period without a trade yet too: it was an empty upload (the
    # check looked at the periods of trades only)
    start_daemon fresh && kill "$PID_fresh" && wait "$PID_fresh" 2>/dev/null
  out=$("$imx" export --db "$tmp/fresh.db" --market "$market" --period 2026-12 --format sap 2>&1)
  [ $? -eq 1 ] &&
    [ "$out" = "imx export: export failed: sap: period 2026-12 is open: only closed periods are posted (imx period close; or --period with a closed one)" ] ||
    { echo "  a fresh ledger: $out"; return 1; }
}
check sap_refuses_an_open_period_by_name sap_open_period

# A market file without a mapping the export needs: the export fails,
# names the first missing one, and writes nothing; one too long is refused
# when the file loads, by its key. Other formats do not need the mapping.
sap_missing_mapping() {
  local out
  sed 's/"erp_cc": "0000004200", //' "$market" >"$tmp/nocc.json"
  out=$("$imx" export --db "$tmp/l.db" --market "$tmp/nocc.json" --period 2026-12 --format sap 2>&1)
  [ $? -eq 1 ] && [ "$out" = "imx export: export failed: sap: cost centre CC-4200 has no erp_cc in the market file" ] ||
    { echo "  $out"; return 1; }
  sed 's/"activity_type": "TRANSL", //' "$market" >"$tmp/noat.json"
  out=$("$imx" export --db "$tmp/l.db" --market "$tmp/noat.json" --period 2026-12 --format sap 2>&1)
  [ "$out" = "imx export: export failed: sap: service translation.page has no activity_type in the market file" ] ||
    { echo "  $out"; return 1; }
  sed 's/"controlling_area": "1000", //' "$market" >"$tmp/noarea.json"
  out=$("$imx" export --db "$tmp/l.db" --market "$tmp/noarea.json" --period 2026-12 --format sap 2>&1)
  [ "$out" = "imx export: export failed: sap: the market file has no erp.controlling_area" ] ||
    { echo "  $out"; return 1; }
  "$imx" export --db "$tmp/l.db" --market "$tmp/nocc.json" --format csv >/dev/null
}
check sap_names_the_first_missing_mapping sap_missing_mapping

sap_too_long_mapping() {
  local out
  sed 's/"erp_cc": "0000004200"/"erp_cc": "00000042000"/' "$market" >"$tmp/long.json"
  out=$("$imx" export --db "$tmp/l.db" --market "$tmp/long.json" --period 2026-12 --format sap 2>&1)
  [ $? -eq 1 ] && [ "$out" = "imx export: $tmp/long.json: cost_centres[1].erp_cc: must be 1 to 10 characters: SAP's cost centre (SEND_CCTR, REC_CCTR)" ] ||
    { echo "  $out"; return 1; }
  sed 's/"uom": "EA"/"uom": "EACH"/' "$market" >"$tmp/long.json"
  out=$("$imx" export --db "$tmp/l.db" --market "$tmp/long.json" --period 2026-12 --format sap 2>&1)
  [ "$out" = "imx export: $tmp/long.json: services[1].uom: must be 1 to 3 characters: SAP's internal unit of measure (ACTIVITYUN)" ] ||
    { echo "  $out"; return 1; }
  # imxd refuses it too: the mistake shows when the market starts
  ! "$imxd" --market "$tmp/long.json" --db "$tmp/long.db" --listen tcp://127.0.0.1:0 \
    --publish tcp://127.0.0.1:0 2>"$tmp/long.log" && grep -q 'services\[1\].uom' "$tmp/long.log"
}
check sap_too_long_mapping_is_refused_when_the_market_loads sap_too_long_mapping

# README.md's example (the block after "**The SAP upload.**") is what imx
# writes for this ledger's December.
sap_readme_example() {
  awk '/^\*\*The SAP upload\./ {f = 1}
       f && /^```sh$/ {b = 1; next}
       b && /^```$/ {exit}
       b' "$src/README.md" >"$tmp/readme.sap"
  local cmd
  cmd=$(grep '^\$ ' "$tmp/readme.sap")
  [ "$(grep -c '^\$ ' "$tmp/readme.sap")" -eq 1 ] &&
    [ "$cmd" = '$ build/gateway/imx export --db /tmp/imx.db --market examples/market.json --period 2026-12 --format sap' ] ||
    { echo "  README command: $cmd"; return 1; }
  "$imx" export --db "$tmp/l.db" --market "$market" --period 2026-12 --format sap |
    diff -u <(grep -v '^\$ ' "$tmp/readme.sap") -
}
check readme_sap_example_is_what_imx_writes sap_readme_example

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
as CC-9000 period close                  # the SAP upload posts closed periods
kill "$pid"
wait "$pid"

odd_export() { "$imx" export --db "$tmp/odd.db" --market "$odd" --format "$1" --out "$tmp/odd.$1" 2>"$tmp/odd.err"; }

odd_csv() {
  odd_export csv &&
    grep -qx '1,2026-12,[0-9-]*,"it help;desk,""hour""","sales: north ""1,2""","CC 4100;""IT"",HH",25,"h ""x"";y",85.00,2125.00,EUR' "$tmp/odd.csv" &&
    grep -qx '2,2026-12,[0-9-]*,translation.page,CC-1400,CC-7100,10,page,3.00,30.00,EUR' "$tmp/odd.csv"
}
check csv_quotes_ids_per_rfc_4180 odd_csv

# The SAP upload carries the market file's SAP keys, not imx ids: the odd
# ids change nothing in it.
odd_sap() {
  odd_export sap &&
    grep -qx 'I;1;0000004100;ITHLP;25;H;0000001100;2125.00;EUR;IMX-1 IT helpdesk hour' "$tmp/odd.sap" &&
    sap_file_ok "$tmp/odd.sap" . 20261231
}
check sap_carries_sap_keys_not_ids odd_sap

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
