#!/usr/bin/env bash
# Faults around the ledger, against a real imxd: a second daemon on the same
# ledger, readers beside a live one and beside a lock SQLite holds, a journal
# or a trade edited behind imxd's back (found on restart and by `imx ledger
# verify --market`, naming the trade and the field), and requests that
# change nothing leaving the journal as it was. Every daemon listens on free
# loopback ports and is stopped at the end (tests/lib.sh).
# usage: faults.sh IMXD IMX SOURCE_DIR REQLINES
set -u
imxd=$1
imx=$2
src=$3
reqlines=$4 # tests/gateway/reqlines.c: many requests on one connection
market=$src/tests/gateway/market.json
. "$(dirname "$0")/../lib.sh"

# start_daemon NAME DB [imxd options]: imxd on DB (and the market file
# $MARKET if set), logging to $tmp/NAME.log; sets URL_NAME and PID_NAME, or
# returns 1 when it did not come up.
start_daemon() {
  local name=$1 db=$2
  shift 2
  "$imxd" --market "${MARKET:-$market}" --db "$db" --listen tcp://127.0.0.1:0 \
    --publish tcp://127.0.0.1:0 "$@" 2>>"$tmp/$name.log" &
  local pid=$!
  pids+=("$pid")
  printf -v "PID_$name" '%s' "$pid"
  for _ in $(seq 100); do
    grep -q 'requests on' "$tmp/$name.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || return 1
    sleep 0.05
  done
  local url
  url=$(grep -o 'requests on [^,]*' "$tmp/$name.log" | cut -d' ' -f3)
  [ -n "$url" ] || return 1
  printf -v "URL_$name" '%s' "$url"
}

# stop_daemon NAME: SIGTERM, and wait for it.
stop_daemon() {
  local pid_var=PID_$1
  kill -TERM "${!pid_var}" 2>/dev/null
  wait "${!pid_var}" 2>/dev/null
}

# exits_within NAME SECONDS: the daemon stopped by itself; its status in $STATUS.
exits_within() {
  local pid_var=PID_$1
  for _ in $(seq $(($2 * 20))); do
    kill -0 "${!pid_var}" 2>/dev/null || { wait "${!pid_var}"; STATUS=$?; return 0; }
    sleep 0.05
  done
  return 1
}

as() { # as URL CC imx-args...: imx with CC's token
  local url=$1 cc=$2
  shift 2
  IMX_URL=$url IMX_TOKEN=test-token-$cc "$imx" "$@"
}

# commands DB: the number of journal entries, as imx ledger verify counts them.
commands() {
  "$imx" ledger verify --db "$1" | sed -n 's/.*ok (\([0-9]*\) commands.*/\1/p'
}

have_sqlite3=0
command -v sqlite3 >/dev/null && have_sqlite3=1
with_sqlite3() { # name function: runs it, or skips it without the sqlite3 shell
  if [ $have_sqlite3 -eq 1 ]; then
    check "$1" "$2"
  else
    skip "$1" "sqlite3 (Debian package sqlite3) is missing"
  fi
}

# ----------------------------------------------- 9: one writer, many readers

start_daemon a "$tmp/a.db" || { echo "imxd did not start:"; cat "$tmp/a.log"; exit 1; }
as "$URL_a" CC-P1 offer it.hour 10 85 >/dev/null
as "$URL_a" CC-R1 bid it.hour 4 90 >/dev/null

second_daemon_refused() {
  if start_daemon b "$tmp/a.db"; then
    echo "  a second imxd serves the same ledger"
    return 1
  fi
  exits_within b 10 || { echo "  the second imxd neither serves nor stops"; return 1; }
  [ "$STATUS" -eq 1 ] || { echo "  exit status $STATUS"; return 1; }
  grep -q "ledger $tmp/a.db: in use by another writer (pid $PID_a): $tmp/a.db-lock is locked" \
    "$tmp/b.log" || { cat "$tmp/b.log"; return 1; }
  # the first one is untouched: it still acknowledges, and commits
  as "$URL_a" CC-R2 bid it.hour 1 90 | grep -q 'filled' || return 1
}
check a_second_imxd_on_the_same_ledger_is_refused_naming_the_lock_file second_daemon_refused

live_ledger_read() {
  "$imx" ledger verify --db "$tmp/a.db" | grep -q 'ok (3 commands, 2 trades' &&
    "$imx" ledger verify --db "$tmp/a.db" --market "$market" | grep -q 'ok (3 commands' &&
    "$imx" export --db "$tmp/a.db" --market "$market" --format csv | grep -c 'CC-P1' |
      grep -qx 2
}
check verify_and_export_read_a_ledger_that_imxd_is_writing live_ledger_read

# Requests that change nothing: not_found cancels, rejected orders, a
# forbidden one, reads. 3 commands so far.
noop_lines() {
  local i
  for i in $(seq 500); do
    echo "{\"v\":1,\"type\":\"order.cancel\",\"id\":\"c$i\",\"token\":\"test-token-CC-R1\",\"order\":$((100000 + i))}"
    echo "{\"v\":1,\"type\":\"order.new\",\"id\":\"r$i\",\"token\":\"test-token-CC-R1\",\"service\":\"it.hour\",\"side\":\"bid\",\"qty\":1000,\"price\":9000}"
    echo "{\"v\":1,\"type\":\"order.new\",\"id\":\"f$i\",\"token\":\"test-token-CC-R1\",\"service\":\"it.hour\",\"side\":\"offer\",\"qty\":1,\"price\":9000}"
    echo "{\"v\":1,\"type\":\"book.get\",\"id\":\"k$i\",\"token\":\"test-token-CC-R1\",\"service\":\"it.hour\"}"
  done
}
noops_not_journaled() {
  noop_lines | "$reqlines" "$URL_a" >"$tmp/noops.out"
  [ "$(grep -c '"code":"not_found"' "$tmp/noops.out")" -eq 500 ] &&
    [ "$(grep -c 'insufficient_budget' "$tmp/noops.out")" -eq 500 ] &&
    [ "$(grep -c '"code":"forbidden"' "$tmp/noops.out")" -eq 500 ] ||
    { echo "  unexpected replies: $(sort "$tmp/noops.out" | uniq -c | head -5)"; return 1; }
  local n
  n=$(commands "$tmp/a.db")
  [ "$n" = 3 ] || { echo "  the journal holds $n commands, not 3"; return 1; }
}
check requests_that_change_nothing_are_not_journaled noops_not_journaled

# A rejected request is not remembered (only what changed the market is,
# and a restart rebuilds exactly that): its repeat is evaluated again.
rejected_repeat_runs_again() {
  local bid='{"v":1,"type":"order.new","id":"z1","token":"test-token-CC-R1","service":"it.hour","side":"bid","qty":10,"price":5000}'
  local first second
  # CC-R1 has 1,000.00 - 4 x 85.00 = 660.00 left: 10 x 50.00 fits once
  as "$URL_a" CC-R1 bid it.hour 10 50 >"$tmp/z.rest" || return 1
  first=$(echo "$bid" | "$reqlines" "$URL_a")
  [[ "$first" == *insufficient_budget* ]] || { echo "  first: $first"; return 1; }
  as "$URL_a" CC-R1 cancel "$(grep -o 'order [0-9]*' "$tmp/z.rest" | cut -d' ' -f2)" >/dev/null ||
    return 1
  second=$(echo "$bid" | "$reqlines" "$URL_a")
  [[ "$second" == *'"type":"order.new.ok"'* ]] || { echo "  repeat: $second"; return 1; }
}
check a_rejected_request_is_not_remembered_and_its_repeat_runs_again rejected_repeat_runs_again

stop_daemon a

restart_after_noops() {
  start_daemon a2 "$tmp/a.db" || { cat "$tmp/a2.log"; return 1; }
  grep -q 'recovered 6 commands and 2 trades; verified' "$tmp/a2.log" ||
    { cat "$tmp/a2.log"; stop_daemon a2; return 1; }
  # the order the repeat placed is back, and nothing of the rejected ones
  local orders
  orders=$(as "$URL_a2" CC-R1 --json orders)
  stop_daemon a2
  [[ "$orders" == *'"qty_open":10'* ]] && [[ "$orders" != *'"qty":1000'* ]] ||
    { echo "  orders: $orders"; return 1; }
}
check a_restart_replays_only_what_changed_the_market restart_after_noops

# SQLite keeps readers out for a moment sometimes (WAL recovery, a
# connection in exclusive locking mode): readers wait instead of failing.
reader_waits() {
  touch "$tmp/hold"
  # .timeout: the holder itself waits out a reader that is just looking
  (echo ".timeout 5000"
   echo "PRAGMA locking_mode=EXCLUSIVE; BEGIN EXCLUSIVE; SELECT count(*) FROM trades; COMMIT;"
   for _ in $(seq 200); do [ -e "$tmp/hold" ] || break; sleep 0.05; done) |
    sqlite3 "$tmp/a.db" >/dev/null &
  local holder=$!
  pids+=("$holder")
  local held=0
  for _ in $(seq 100); do
    sqlite3 "$tmp/a.db" "SELECT count(*) FROM trades" 2>&1 | grep -q locked && { held=1; break; }
    sleep 0.05
  done
  [ $held -eq 1 ] || { rm -f "$tmp/hold"; echo "  the lock was not taken"; return 1; }
  (sleep 0.5; rm -f "$tmp/hold") &
  pids+=($!)
  local ok=0
  "$imx" ledger verify --db "$tmp/a.db" >"$tmp/wait.verify" 2>&1 &&
    "$imx" export --db "$tmp/a.db" --market "$market" --format csv --out "$tmp/wait.csv" \
      2>>"$tmp/wait.verify" || ok=1
  rm -f "$tmp/hold"
  wait "$holder"
  [ $ok -eq 0 ] || { cat "$tmp/wait.verify"; return 1; }
}
with_sqlite3 readers_wait_for_a_lock_that_sqlite_holds reader_waits

# ------------------------------------------- 10: the journal makes the trades

# A fresh ledger: offer 10 at 85.00, bid 4 at 90.00 (trade 1 at 85.00), bid
# 2 at 90.00 (trade 2); then the file is copied and the copy edited.
start_daemon t "$tmp/t.db" || { cat "$tmp/t.log"; exit 1; }
as "$URL_t" CC-P1 offer it.hour 10 85 >/dev/null
as "$URL_t" CC-R1 bid it.hour 4 90 >/dev/null
as "$URL_t" CC-R2 bid it.hour 2 90 >/dev/null
stop_daemon t

edited() { # edited NAME SQL: a copy of t.db with SQL run on it
  cp "$tmp/t.db" "$tmp/$1.db"
  sqlite3 "$tmp/$1.db" "$2"
}

# refused NAME WANT: imxd on NAME.db refuses to serve, logging WANT, and
# `imx ledger verify --market` fails with WANT too.
refused() {
  local name=$1 want=$2
  if start_daemon "$name" "$tmp/$name.db"; then
    echo "  imxd serves: $(grep 'recovered' "$tmp/$name.log")"
    stop_daemon "$name"
    return 1
  fi
  exits_within "$name" 10 || { echo "  imxd neither serves nor stops"; return 1; }
  grep -qF "$want" "$tmp/$name.log" && grep -q 'refusing to serve' "$tmp/$name.log" ||
    { echo "  imxd said: $(cat "$tmp/$name.log")"; return 1; }
  local out
  out=$("$imx" ledger verify --db "$tmp/$name.db" --market "$market" 2>&1)
  [ $? -eq 1 ] && [[ "$out" == *"$want"* ]] || { echo "  verify said: $out"; return 1; }
}

untouched_verified() {
  "$imx" ledger verify --db "$tmp/t.db" --market "$market" |
    grep -q 'ok (3 commands, 2 trades; .*the journal replayed makes every trade' &&
    start_daemon t2 "$tmp/t.db" && grep -q 'recovered 3 commands and 2 trades; verified' "$tmp/t2.log" &&
    stop_daemon t2
}
check an_untouched_ledger_replays_to_its_own_trades untouched_verified

journal_price_edited() {
  edited jp "UPDATE journal SET command = replace(command, '\"price\":8500', '\"price\":8000') WHERE seq = 1" &&
    refused jp 'trades_match_journal (trade 1, price: the journal makes 8000, the ledger has 8500)'
}
with_sqlite3 an_edited_journal_price_is_refused_naming_the_trade_and_field journal_price_edited

trade_price_edited() {
  edited tp "UPDATE trades SET price_minor = 8000, amount_minor = 32000 WHERE trade_id = 1;
             UPDATE postings SET amount_minor = 32000 WHERE trade_id = 1 AND amount_minor > 0;
             UPDATE postings SET amount_minor = -32000 WHERE trade_id = 1 AND amount_minor < 0;" &&
    "$imx" ledger verify --db "$tmp/tp.db" | grep -q 'ok' && # balanced: the SQL checks pass
    refused tp 'trades_match_journal (trade 1, price: the journal makes 8500, the ledger has 8000)'
}
with_sqlite3 a_balanced_edit_of_a_trades_price_is_found_by_the_replay trade_price_edited

trade_buyer_edited() {
  # Balanced, and the buying order's closed row follows (verify's own
  # checks pass): only the replay can tell.
  edited tb "UPDATE trades SET buyer = 'CC-R2' WHERE trade_id = 1;
             UPDATE postings SET account = 'CC-R2' WHERE trade_id = 1 AND account = 'CC-R1';
             UPDATE orders_closed SET cc = 'CC-R2'
               WHERE order_id = (SELECT buy_order FROM trades WHERE trade_id = 1);" &&
    refused tb 'trades_match_journal (trade 1, buyer: the journal makes CC-R1, the ledger has CC-R2)'
}
with_sqlite3 an_edited_buyer_is_found_by_the_replay trade_buyer_edited

trade_removed() {
  edited tr "DELETE FROM postings WHERE trade_id = 2; DELETE FROM trades WHERE trade_id = 2;" &&
    refused tr 'trades_match_journal (trade 2: journal entry 3 makes it, the ledger does not have it)'
}
with_sqlite3 a_trade_removed_from_the_ledger_is_found trade_removed

trade_added() {
  edited ta "INSERT INTO trades VALUES(3, 1, 0, 'it.hour', 'CC-R2', 'CC-P1', 1, 8500, 8500, NULL, NULL);
             INSERT INTO postings VALUES(3, 'CC-R2', 1, 8500), (3, 'CC-P1', 1, -8500);" &&
    refused ta 'trades_match_journal (trade 3: in the ledger, no journal entry makes it)'
}
with_sqlite3 a_trade_no_journal_entry_makes_is_found trade_added

# ------------------------------------------------------------ 11: snapshots
#
# t.db was stopped cleanly: its snapshot lies beside it (t.db.snapshot). A
# snapshot is a cache: one that is damaged, of another ledger or market, or
# newer than its ledger is not used (the log says why) and the whole journal
# is replayed; the market served is the same either way. A journal edited
# before the snapshot is found by the whole check that follows such a start.

state() { # state URL: what a restart must bring back, as finance and CC-R1 see it
  { as "$1" CC-R1 --json orders && as "$1" CC-R1 --json balance &&
      as "$1" CC-FIN --json trades; } | sed 's/"id":"[^"]*",//'
}

# The market replayed from the whole journal, for comparison.
start_daemon whole "$tmp/t.db" --snapshot-every 0 || { cat "$tmp/whole.log"; exit 1; }
state "$URL_whole" >"$tmp/state.whole"
stop_daemon whole

snapshot_read() {
  [ -s "$tmp/t.db.snapshot" ] || { echo "  no snapshot after a clean stop"; return 1; }
  start_daemon s1 "$tmp/t.db" || return 1
  grep -q 'recovered 3 commands and 2 trades; verified (the snapshot of journal entry 3 read, 0 entries after it' \
    "$tmp/s1.log" || { cat "$tmp/s1.log"; stop_daemon s1; return 1; }
  state "$URL_s1" | diff "$tmp/state.whole" - || { stop_daemon s1; return 1; }
  for _ in $(seq 200); do grep -q 'checked after the start' "$tmp/s1.log" && break; sleep 0.05; done
  grep -q 'the whole journal replayed to its 2 trades: ok' "$tmp/s1.log" ||
    { cat "$tmp/s1.log"; stop_daemon s1; return 1; }
  stop_daemon s1
}
check a_clean_stop_leaves_a_snapshot_and_the_next_start_reads_it snapshot_read

# not_used NAME WHY: imxd on NAME.db logs that it did not use the snapshot
# and why, replays the whole journal and serves the market as it was.
not_used() {
  local name=$1 why=$2
  start_daemon "$name" "$tmp/$name.db" ${EXTRA:-} || { cat "$tmp/$name.log"; return 1; }
  grep -qF "not used: $why; replaying the whole journal" "$tmp/$name.log" &&
    grep -q 'recovered 3 commands and 2 trades; verified (the whole journal, 3 entries' "$tmp/$name.log" ||
    { cat "$tmp/$name.log"; stop_daemon "$name"; return 1; }
  state "$(eval echo "\$URL_$name")" | diff "$tmp/state.whole" - || { stop_daemon "$name"; return 1; }
  stop_daemon "$name"
}

damaged() {
  cp "$tmp/t.db" "$tmp/sd.db" && cp "$tmp/t.db.snapshot" "$tmp/sd.db.snapshot" &&
    printf '\xff' | dd of="$tmp/sd.db.snapshot" bs=1 seek=400 conv=notrunc 2>/dev/null &&
    not_used sd "its checksum does not match (damaged)"
}
check a_damaged_snapshot_is_not_used damaged

cut_short() {
  cp "$tmp/t.db" "$tmp/sc.db" && head -c 300 "$tmp/t.db.snapshot" >"$tmp/sc.db.snapshot" &&
    not_used sc "its length is not the one its header gives"
}
check a_snapshot_cut_short_is_not_used cut_short

another_market() {
  cp "$tmp/t.db" "$tmp/sm.db" && cp "$tmp/t.db.snapshot" "$tmp/sm.db.snapshot" &&
    { cat "$market"; echo; } >"$tmp/market2.json" && # the same market, another file
    MARKET=$tmp/market2.json not_used sm "it was written with another market file or other order limits (--orders-max, --orders-per-cc)"
}
check a_snapshot_of_another_market_file_is_not_used another_market

# Other order limits may refuse journal entries the snapshot's state holds:
# only a whole replay at the start sees that (the audit after a start from
# the snapshot would stop imxd while it serves).
other_limits() {
  cp "$tmp/t.db" "$tmp/sl.db" && cp "$tmp/t.db.snapshot" "$tmp/sl.db.snapshot" &&
    EXTRA="--orders-per-cc 9999" not_used sl "it was written with another market file or other order limits (--orders-max, --orders-per-cc)"
}
check a_snapshot_written_under_other_order_limits_is_not_used other_limits

another_ledger() {
  # another ledger with three commands of its own, and t.db's snapshot
  start_daemon o "$tmp/so.db" --snapshot-every 0 || return 1
  as "$URL_o" CC-P1 offer it.hour 10 86 >/dev/null &&
    as "$URL_o" CC-R1 bid it.hour 4 90 >/dev/null &&
    as "$URL_o" CC-R2 bid it.hour 2 90 >/dev/null
  stop_daemon o
  start_daemon o2 "$tmp/so.db" --snapshot-every 0 && state "$URL_o2" >"$tmp/state.so"
  stop_daemon o2
  cp "$tmp/t.db.snapshot" "$tmp/so.db.snapshot"
  start_daemon o3 "$tmp/so.db" || return 1
  grep -qF "not used: its journal entry is not the ledger's (another ledger?)" "$tmp/o3.log" ||
    { cat "$tmp/o3.log"; stop_daemon o3; return 1; }
  state "$URL_o3" | diff "$tmp/state.so" - || { stop_daemon o3; return 1; }
  stop_daemon o3
}
check a_snapshot_of_another_ledger_is_not_used another_ledger

newer_than_ledger() {
  start_daemon e "$tmp/se.db" --snapshot-every 0 || return 1 # an empty ledger
  stop_daemon e
  cp "$tmp/t.db.snapshot" "$tmp/se.db.snapshot"
  start_daemon e2 "$tmp/se.db" || return 1
  grep -qF "not used: it is newer than the ledger" "$tmp/e2.log" &&
    grep -q 'recovered 0 commands and 0 trades; verified' "$tmp/e2.log" ||
    { cat "$tmp/e2.log"; stop_daemon e2; return 1; }
  stop_daemon e2
}
check a_snapshot_newer_than_its_ledger_is_not_used newer_than_ledger

journal_edited_before_snapshot() {
  # The start trusts the snapshot (its own entry is intact); the whole check
  # right after finds the edit, naming the trade and the field, and stops
  # the daemon with status 1.
  edited je "UPDATE journal SET command = replace(command, '\"price\":8500', '\"price\":8000') WHERE seq = 1" &&
    cp "$tmp/t.db.snapshot" "$tmp/je.db.snapshot" || return 1
  start_daemon je "$tmp/je.db" || { cat "$tmp/je.log"; return 1; }
  exits_within je 20 || { echo "  imxd did not stop"; stop_daemon je; return 1; }
  [ "$STATUS" -eq 1 ] &&
    grep -q 'checked after the start: trades_match_journal (trade 1, price: the journal makes 8000, the ledger has 8500): stopping' \
      "$tmp/je.log" || { echo "  status $STATUS"; cat "$tmp/je.log"; return 1; }
}
with_sqlite3 a_journal_edited_before_the_snapshot_is_found_right_after_the_start journal_edited_before_snapshot

finish
