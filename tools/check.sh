#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest. Non-zero on any failure.
# Usage: tools/check.sh [--sanitize]
#   --sanitize  builds into build-asan/ with AddressSanitizer and UndefinedBehaviorSanitizer
#               (gcc) and runs the same suite under them. Memory errors and undefined behaviour
#               fail the test that hits them (halt_on_error). LeakSanitizer reports leaks at
#               exit, except inside the libraries listed in tools/sanitize/lsan.supp (Open MPI
#               and what it loads keep allocations for the process's life); the project's own
#               code has no suppression. Exceptions, each explained where it is made: the ranks
#               of the mpirun test run without the leak check (tests/app/test_mpi.cpp), and two
#               UBSan checks are off for the file that compiles stb (src/data/CMakeLists.txt).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sanitize=0
for arg in "$@"; do
  case "$arg" in
    --sanitize) sanitize=1 ;;
    *) echo "usage: tools/check.sh [--sanitize]" >&2; exit 2 ;;
  esac
done
if [ $sanitize -eq 1 ]; then
  export WINOPRUNE_BUILD_DIR="${WINOPRUNE_BUILD_DIR:-$root/build-asan}"
  flags="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
  export WINOPRUNE_CMAKE_ARGS="-DCMAKE_C_FLAGS=$flags;-DCMAKE_CXX_FLAGS=$flags"
  export WINOPRUNE_CMAKE_ARGS+=";-DCMAKE_EXE_LINKER_FLAGS=-fsanitize=address,undefined"
  # Tests that run the CLI (and mpirun) inherit these.
  export ASAN_OPTIONS="abort_on_error=1:detect_leaks=1"
  export LSAN_OPTIONS="suppressions=$root/tools/sanitize/lsan.supp:print_suppressions=0"
  export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
fi
build="${WINOPRUNE_BUILD_DIR:-$root/build}"
"$root/tools/install_deps.sh"
"$root/tools/build.sh"
cd "$build"
# Tests run two at a time on a 2-core machine: OpenMP threads that spin at barriers would steal
# the cores the other test needs (a 10 s pipeline test took 280 s), so they sleep instead.
export OMP_WAIT_POLICY=passive
ctest --output-on-failure -j2 --timeout 900
