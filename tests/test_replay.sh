#!/usr/bin/env bash
# End-to-end test of `imx-sim replay`: golden outputs for the README's example
# and for a file of bad lines, stdin input, exit codes and determinism.
# usage: test_replay.sh IMX_SIM SOURCE_DIR
set -u
sim=$1
src=$2
dir=$src/tests/replay
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
passed=0
failed=0

check() { # name, then a command that must succeed
  local name=$1
  shift
  if "$@"; then
    passed=$((passed + 1)); echo "ok   $name"
  else
    failed=$((failed + 1)); echo "FAIL $name"
  fi
}

golden() { # input, expected, expected exit status
  "$sim" replay "$1" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  [ "$rc" -eq "$3" ] || { echo "  exit status $rc, want $3"; cat "$tmp/err"; return 1; }
  diff -u "$2" "$tmp/out"
}

check example_matches_golden_output \
  golden "$src/examples/orders.jsonl" "$dir/orders.expected" 0
check bad_lines_are_reported_and_processing_goes_on \
  golden "$dir/bad.jsonl" "$dir/bad.expected" 1

stdin_same_as_file() {
  "$sim" replay - <"$src/examples/orders.jsonl" >"$tmp/stdin" &&
    diff -q "$dir/orders.expected" "$tmp/stdin"
}
check stdin_gives_the_same_events stdin_same_as_file

deterministic() {
  "$sim" replay "$dir/bad.jsonl" >"$tmp/a"
  "$sim" replay "$dir/bad.jsonl" >"$tmp/b"
  cmp -s "$tmp/a" "$tmp/b"
}
check same_input_same_bytes deterministic

every_line_is_json() {
  python3 -c 'import json,sys
for l in open(sys.argv[1]): json.loads(l)' "$dir/bad.expected" 2>/dev/null ||
  ! command -v python3 >/dev/null
}
check every_output_line_is_json every_line_is_json

missing_file_is_a_usage_error() {
  "$sim" replay "$tmp/does-not-exist" >/dev/null 2>&1
  [ $? -eq 2 ]
}
check missing_file_exits_2 missing_file_is_a_usage_error

no_args_is_a_usage_error() {
  "$sim" replay >/dev/null 2>&1
  [ $? -eq 2 ]
}
check no_arguments_exits_2 no_args_is_a_usage_error

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
