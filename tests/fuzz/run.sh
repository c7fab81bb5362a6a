#!/usr/bin/env bash
# run.sh DIR SECONDS -- build the libFuzzer harness with clang in DIR and run
# it for SECONDS on a copy of the seed corpus (tests/fuzz/corpus stays as it
# is). Exits non-zero when the fuzzer finds a crash, a leak or a timeout; the
# input that did it is saved as DIR/crash-* (or leak-*, timeout-*).
set -euo pipefail
if [ $# -ne 2 ]; then
  echo "usage: $0 DIR SECONDS" >&2
  exit 2
fi
dir=$1
seconds=$2
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)

CC=clang cmake -S "$root" -B "$dir" -DCMAKE_BUILD_TYPE=Release -DIMX_FUZZ=ON >/dev/null
cmake --build "$dir" --target fuzz_request -j "$jobs"

corpus="$dir/fuzz-corpus"
rm -rf "$corpus"
mkdir -p "$corpus"
cp "$here"/corpus/* "$corpus"/

dir_abs=$(cd "$dir" && pwd)
"$dir/tests/fuzz/fuzz_request" -max_total_time="$seconds" -print_final_stats=1 \
  -max_len=4096 -dict="$here/protocol.dict" -artifact_prefix="$dir_abs/" "$corpus"
