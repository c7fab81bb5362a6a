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

finish() {
  if [ "$skipped" -gt 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
  else
    echo "$passed passed, $failed failed"
  fi
  [ "$failed" -eq 0 ]
}
