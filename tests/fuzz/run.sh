#!/usr/bin/env bash
# run.sh DIR SECONDS [TARGET] -- build the libFuzzer harness TARGET
# (fuzz_request, the default, or fuzz_scenario) with clang in DIR and run it
# for SECONDS on a copy of its seed corpus (tests/fuzz/corpus and
# tests/fuzz/corpus-scenario stay as they are). Exits non-zero when the
# fuzzer finds a crash, a leak or a timeout; the input that did it is saved
# as DIR/crash-* (or leak-*, timeout-*) for fuzz_request and as
# DIR/fuzz_scenario-crash-* (...) for fuzz_scenario.
set -euo pipefail
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
  echo "usage: $0 DIR SECONDS [fuzz_request|fuzz_scenario]" >&2
  exit 2
fi
dir=$1
seconds=$2
target=${3:-fuzz_request}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

# Per target: seed corpus, dictionary, longest input, artifact name prefix.
case $target in
  fuzz_request)
    seeds=corpus dict=protocol.dict max_len=4096 prefix=""
    corpus="$dir/fuzz-corpus"
    ;;
  fuzz_scenario)
    seeds=corpus-scenario dict=scenario.dict max_len=8192 prefix="fuzz_scenario-"
    corpus="$dir/fuzz-corpus-scenario"
    ;;
  *)
    echo "$0: unknown target $target (fuzz_request or fuzz_scenario)" >&2
    exit 2
    ;;
esac

CC=clang cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DIMX_FUZZ=ON >/dev/null
cmake --build "$dir" --target "$target" -j "$jobs"

rm -rf "$corpus"
mkdir -p "$corpus"
cp "$here/$seeds"/* "$corpus"/

dir_abs=$(cd "$dir" && pwd)
"$dir/tests/fuzz/$target" -max_total_time="$seconds" -print_final_stats=1 \
  -max_len="$max_len" -dict="$here/$dict" -artifact_prefix="$dir_abs/$prefix" "$corpus"
