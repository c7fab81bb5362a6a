#!/usr/bin/env bash
# End-to-end test of `imx-sim replay`: golden outputs for the README's example
# and for a file of bad lines, stdin input, exit codes and determinism.
# usage: test_replay.sh IMX_SIM SOURCE_DIR
set -u
sim=$1
src=$2
dir=$src/tests/replay
. "$(dirname "$0")/lib.sh"

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

check tenders_decided_by_choice_withdrawn_and_lapsed \
  golden "$dir/tenders.jsonl" "$dir/tenders.expected" 1

# Bids with min_stars (tenths of a star) and allow_unrated, reputations set
# by `reputation` lines: unrated providers skipped unless allowed, a rated
# dearer provider preferred to a cheaper poorly rated one, a resting bid
# that trades once its modify loses priority; bad stars rejected by the
# engine, malformed ones and impossible reputations reported as errors.
check min_stars_bids_and_reputations \
  golden "$dir/quality.jsonl" "$dir/quality.expected" 1

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
  local out
  out=$("$sim" replay "$tmp/does-not-exist" 2>&1 >/dev/null)
  [ $? -eq 2 ] && [ "$out" = "imx-sim: cannot open $tmp/does-not-exist: No such file or directory" ]
}
check missing_file_exits_2 missing_file_is_a_usage_error

no_args_is_a_usage_error() {
  "$sim" replay >/dev/null 2>&1
  [ $? -eq 2 ]
}
check no_arguments_exits_2 no_args_is_a_usage_error

golden_market() {
  "$sim" replay --market "$src/examples/market.json" \
    "$src/examples/market-day.jsonl" >"$tmp/out" 2>"$tmp/err" &&
    diff -u "$dir/market-day.expected" "$tmp/out"
}
check market_day_with_budgets_auction_and_tender golden_market

golden_auction() {
  "$sim" auction "$src/examples/auction.jsonl" --reference 40000 --trades \
    >"$tmp/out" 2>"$tmp/err" && diff -u "$dir/auction.expected" "$tmp/out"
}
check auction_example_matches_golden_output golden_auction

auction_bad_reference_is_a_usage_error() {
  "$sim" auction "$src/examples/auction.jsonl" --reference 12.5 >/dev/null 2>&1
  [ $? -eq 2 ]
}
check auction_bad_reference_exits_2 auction_bad_reference_is_a_usage_error

# A bad market file is refused whole, with the path of the field at fault.
bad_market() { # expected field path, market JSON
  printf '%s' "$2" >"$tmp/market.json"
  printf '%s\n' '{"id":"o1","cc":"CC-1","service":"s","side":"bid","qty":1,"price":1}' >"$tmp/o.jsonl"
  "$sim" replay --market "$tmp/market.json" "$tmp/o.jsonl" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  [ "$rc" -eq 2 ] || { echo "  exit status $rc, want 2"; return 1; }
  grep -qF -- "$1" "$tmp/err" || { echo "  stderr lacks $1:"; cat "$tmp/err"; return 1; }
  [ ! -s "$tmp/out" ]
}
svc='{"id":"s","unit":"h","tick":1,"lot":1}'
cc='{"id":"CC-1","name":"One","roles":["receiver"],"budget":100}'
check market_not_json bad_market "market" '{"currency":'
check market_without_currency bad_market "currency" '{"services":[],"cost_centres":[]}'
check market_bad_currency bad_market "currency" '{"currency":"euro","services":[],"cost_centres":[]}'
check market_unknown_top_field bad_market "colour" '{"currency":"EUR","colour":1,"services":[],"cost_centres":[]}'
check market_service_tick_zero bad_market "services[0].tick" '{"currency":"EUR","services":[{"id":"s","unit":"h","tick":0,"lot":1}],"cost_centres":[]}'
check market_service_tick_fraction bad_market "services[1].tick" "{\"currency\":\"EUR\",\"services\":[$svc,{\"id\":\"t\",\"unit\":\"h\",\"tick\":1.5,\"lot\":1}],\"cost_centres\":[]}"
check market_service_bad_mode bad_market "services[0].mode" '{"currency":"EUR","services":[{"id":"s","unit":"h","tick":1,"lot":1,"mode":"daily"}],"cost_centres":[]}'
check market_duplicate_service bad_market "services[1].id" "{\"currency\":\"EUR\",\"services\":[$svc,$svc],\"cost_centres\":[]}"
check market_cc_without_roles bad_market "cost_centres[0].roles" "{\"currency\":\"EUR\",\"services\":[$svc],\"cost_centres\":[{\"id\":\"CC-1\",\"name\":\"One\"}]}"
check market_cc_negative_budget bad_market "cost_centres[0].budget" "{\"currency\":\"EUR\",\"services\":[$svc],\"cost_centres\":[{\"id\":\"CC-1\",\"name\":\"One\",\"roles\":[\"receiver\"],\"budget\":-1}]}"
check market_capacity_of_unknown_service bad_market "cost_centres[0].capacities.nope" "{\"currency\":\"EUR\",\"services\":[$svc],\"cost_centres\":[{\"id\":\"CC-1\",\"name\":\"One\",\"roles\":[\"provider\"],\"capacities\":{\"nope\":5}}]}"
check market_capacity_of_receiver bad_market "cost_centres[0].capacities" "{\"currency\":\"EUR\",\"services\":[$svc],\"cost_centres\":[{\"id\":\"CC-1\",\"name\":\"One\",\"roles\":[\"receiver\"],\"capacities\":{\"s\":5}}]}"
check market_duplicate_cc bad_market "cost_centres[1].id" "{\"currency\":\"EUR\",\"services\":[$svc],\"cost_centres\":[$cc,$cc]}"

market_names_are_closed() {
  printf '%s\n' '{"id":"o1","cc":"CC-0000","service":"it.helpdesk.hour","side":"bid","qty":1,"price":100}' \
    '{"id":"o2","cc":"CC-1100","service":"no.such","side":"bid","qty":1,"price":100}' >"$tmp/o.jsonl"
  "$sim" replay --market "$src/examples/market.json" "$tmp/o.jsonl" >"$tmp/out"
  grep -q '"code":"unknown_cc","field":"cc"' "$tmp/out" &&
    grep -q '"code":"unknown_service","field":"service"' "$tmp/out"
}
check market_rejects_unknown_cost_centres_and_services market_names_are_closed

finish
