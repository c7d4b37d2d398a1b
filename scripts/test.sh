#!/usr/bin/env bash
# The test command: installs dependencies, configures, builds and runs the whole suite with ctest.
#
#   scripts/test.sh                 # release build + sanitizer (ASan+UBSan) build, all labels
#   BOOTGATE_TEST_LABELS=unit scripts/test.sh    # only some ctest labels (regex)
#   BOOTGATE_SKIP_SANITIZE=1 scripts/test.sh     # local quick run without the sanitizer pass
#
# Labels: unit (pure code, real fixtures), cli (the built binaries), fuzz-corpus (fuzz seeds and
# past crashers replayed), swtpm (integration against a real software TPM; never skipped here),
# verifier (the gRPC services in-process), browser (the HTML report rendered in headless Chromium;
# its screenshot is kept in build/artifacts/; a missing chromium fails, never skips), qemu (real
# measured boots under QEMU/OVMF with the agent inside the guest: release pass only, not under the
# sanitizers, which would only slow the emulated guest and not add coverage of host code the swtpm
# tests miss), image (from-image digests on real Debian shim/grub/kernel packages that a ctest
# fixture fetches with apt-get download, compared with pesign and systemd-measure; never skipped).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

"$root/scripts/install-deps.sh"

jobs=$(nproc 2>/dev/null || echo 2)
labels=${BOOTGATE_TEST_LABELS:-}
# CI must exercise the swtpm tests; a missing swtpm is a failure, not a skip.
unset BOOTGATE_ALLOW_SKIP_SWTPM

# run_suite DIR EXCLUDE_LABELS_REGEX CMAKE_ARGS...
run_suite() {
  local dir=$1 exclude=$2; shift 2
  echo "== configure $dir ($*)"
  cmake -S "$root" -B "$dir" -G Ninja "$@" >"$dir.configure.log" 2>&1 || {
    cat "$dir.configure.log"; return 1; }
  echo "== build $dir"
  cmake --build "$dir" -j "$jobs"
  echo "== test $dir"
  local args=(--test-dir "$dir" --output-on-failure -j "$jobs" --timeout 600)
  [ -n "$labels" ] && args+=(-L "$labels")
  [ -n "$exclude" ] && args+=(-LE "$exclude")
  ctest "${args[@]}"
}

mkdir -p "$root/build"
run_suite "$root/build" "" -DCMAKE_BUILD_TYPE=RelWithDebInfo

if [ "${BOOTGATE_SKIP_SANITIZE:-0}" != 1 ]; then
  # The whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer (clang).
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite "$root/build-asan" "^qemu$" -DCMAKE_BUILD_TYPE=Debug -DBOOTGATE_SANITIZE=ON \
    -DBOOTGATE_BENCHMARKS=OFF -DCMAKE_C_COMPILER=clang-14 -DCMAKE_CXX_COMPILER=clang++-14
fi
echo "== all tests passed"
