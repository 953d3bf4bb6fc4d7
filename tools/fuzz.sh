#!/usr/bin/env bash
# Builds the fuzz harnesses of tests/fuzz/ with clang, libFuzzer, ASan and UBSan, and runs each
# for SECONDS (default 60) on a copy of its checked-in corpus. Prints one row per harness:
# executions, executions per second, corpus size, and the result. Non-zero if any harness found
# a crash, a hang (over 10 s on one input), a leak or an input over the 2 GB memory limit; the
# reproducer is then in build-fuzz/artifacts/, to be added to tests/fuzz/corpus/<harness>/ with
# the fix, so the replay test (ctest fuzz_replay:<harness>) keeps it fixed.
# Usage: tools/fuzz.sh [SECONDS] [HARNESS...]     (HARNESS: fuzz_image, fuzz_config, ...)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${WINOPRUNE_FUZZ_BUILD_DIR:-$root/build-fuzz}"
seconds="${1:-60}"
shift || true
harnesses=("$@")
if [ ${#harnesses[@]} -eq 0 ]; then
  for f in "$root"/tests/fuzz/fuzz_*.cpp; do harnesses+=("$(basename "$f" .cpp)"); done
fi

# clang and its runtimes (libFuzzer ships in libclang-rt-14-dev), libomp for clang's OpenMP.
"$root/tools/install_deps.sh" clang libclang-rt-14-dev libomp-14-dev

flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
flags+=" -fno-omit-frame-pointer -g"
if [ ! -f "$build/CMakeCache.txt" ]; then
  CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release \
    -DWINOPRUNE_FUZZ=ON -DCMAKE_C_FLAGS="$flags" -DCMAKE_CXX_FLAGS="$flags" >/dev/null
fi
cmake --build "$build" -j2 --target "${harnesses[@]}"

mkdir -p "$build/artifacts"
# Memory errors abort; leaks are reported at exit (LeakSanitizer, on by default with ASan).
export ASAN_OPTIONS="${ASAN_OPTIONS:-abort_on_error=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export OMP_NUM_THREADS=1
status=0
rows=()
for h in "${harnesses[@]}"; do
  work="$build/corpus/$h"
  mkdir -p "$work"
  log="$build/$h.log"
  echo "fuzz: $h for ${seconds}s (log $log)" >&2
  result=ok
  # Corpus directories: the working copy first (new inputs go there), then the checked-in one.
  if ! "$build/tests/$h" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$build/artifacts/$h-" \
        "$work" "$root/tests/fuzz/corpus/$h" >"$log" 2>&1; then
    result=FAILED
    status=1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$' || true)
  execs=${execs:-0}
  rate=$(( execs / (seconds > 0 ? seconds : 1) ))
  corpus=$(find "$work" -type f | wc -l)
  rows+=("$(printf '%-18s %12s %10s %8s  %s' "$h" "$execs" "$rate" "$corpus" "$result")")
  [ "$result" = ok ] || grep -m5 -E 'ERROR|SUMMARY|unexpected exception|Test unit written' "$log" >&2 || true
done
printf '%-18s %12s %10s %8s  %s\n' harness executions exec/s corpus result
printf '%s\n' "${rows[@]}"
exit $status
