#!/usr/bin/env bash
# Real fuzzing with libFuzzer: scripts/fuzz.sh TARGET SECONDS
#   TARGET: one of tests/fuzz/*_fuzzer.cc without the extension (scripts/fuzz.sh --list)
# New interesting inputs go to build-fuzz/corpus/TARGET (not into the repository); crashes are
# written to build-fuzz/artifacts/. Add a crasher to tests/fuzz/corpus/TARGET/ once fixed, so ctest
# replays it forever.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
if [ "${1:-}" = "--list" ] || [ $# -lt 1 ]; then
  echo "usage: scripts/fuzz.sh TARGET SECONDS"
  echo "targets:"; ls tests/fuzz/*_fuzzer.cc | xargs -n1 basename | sed 's/\.cc$//; s/^/  /'
  [ $# -lt 1 ] && exit 2 || exit 0
fi
target=$1
seconds=${2:-60}
[ -f "tests/fuzz/$target.cc" ] || { echo "no such fuzz target: $target" >&2; exit 2; }
"$root/scripts/install-deps.sh" >/dev/null
cmake -S "$root" -B "$root/build-fuzz" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14 \
  -DBOOTGATE_FUZZ=ON -DBOOTGATE_BENCHMARKS=OFF >/dev/null
cmake --build "$root/build-fuzz" --target "$target" -j "$(nproc)"
work="$root/build-fuzz/corpus/$target"
mkdir -p "$work" "$root/build-fuzz/artifacts"
"$root/build-fuzz/bin/$target" -max_total_time="$seconds" -print_final_stats=1 \
  -artifact_prefix="$root/build-fuzz/artifacts/" "$work" "tests/fuzz/corpus/$target"
