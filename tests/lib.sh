# lib.sh -- what the shell tests share: a temporary directory ($tmp) removed
# at exit with every process listed in $pids stopped first, and the harness
# that reads like a specification: `check NAME COMMAND...` runs one
# behaviour, `skip NAME REASON` says why one could not run, and `finish`
# prints the closing line CI reads ("N passed, N failed") and sets the
# exit status. Source it after `set -u`.
tmp=$(mktemp -d)
pids=()
passed=0
failed=0
skipped=0

lib_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap lib_cleanup EXIT

check() { # name, then a command that must succeed
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"
  fi
}

skip() { # name, reason
  skipped=$((skipped + 1)); echo "SKIP $1: $2"
}

has() { # has TEXT NEEDLE...: every NEEDLE (a fixed string) is in TEXT
  local text=$1
  shift
  for n in "$@"; do
    [[ "$text" == *"$n"* ]] || { echo "  missing: $n"; echo "$text" | sed 's/^/  | /'; return 1; }
  done
}

# wait_connected URL: until a TCP connection to URL's port (tcp:// or
# tls+tcp://, on loopback) is established, at most 10 s. For a client started
# in the background, such as `imx watch`, which dials without waiting: a
# fixed sleep was too short once on a loaded machine (a trade before the
# watcher's connection never reaches it).
wait_connected() {
  local port hex
  port=${1##*:}
  hex=$(printf '%04X' "$port")
  for _ in $(seq 100); do
    awk -v p=":$hex" '$3 ~ p"$" && $4 == "01" { f = 1 } END { exit !f }' \
      /proc/net/tcp /proc/net/tcp6 2>/dev/null && return 0
    sleep 0.1
  done
  echo "  no connection to port $port within 10 s"
  return 1
}

finish() {
  if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
  else
    echo "$passed passed, $failed failed"
  fi
  [ "$failed" -eq 0 ]
}

# start_daemon NAME [imxd options]: starts $imxd on $market with its ledger
# in $tmp/NAME.db on free loopback ports (port 0, read back from its log)
# and sets URL_NAME, PUB_NAME and PID_NAME, and WEB_NAME when the options
# have --http (say --http http://127.0.0.1:0). The scripts that use it set
# $imxd and $market first.
start_daemon() {
  local name=$1
  shift
  "$imxd" --market "$market" --db "$tmp/$name.db" --listen tcp://127.0.0.1:0 \
    --publish tcp://127.0.0.1:0 "$@" 2>>"$tmp/$name.log" &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 400); do # up to 20 s: a loaded machine, under ASan
    grep -q "requests on" "$tmp/$name.log" 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
  done
  local line
  line=$(grep -o 'requests on [^,]*, market data on .*' "$tmp/$name.log")
  [ -n "$line" ] || { echo "imxd did not start:"; cat "$tmp/$name.log"; exit 1; }
  printf -v "URL_$name" '%s' "$(echo "$line" | sed 's/requests on \([^,]*\),.*/\1/')"
  printf -v "PUB_$name" '%s' "$(echo "$line" | sed 's/.*market data on //')"
  printf -v "PID_$name" '%s' "$pid"
  printf -v "WEB_$name" '%s' "$(grep -o 'web on .*' "$tmp/$name.log" | tail -1 | cut -d' ' -f3)"
}
