#!/usr/bin/env bash
# Configures (once) and builds winoprune into build/ with -j2 (the machine has 2 cores).
# Usage: tools/build.sh [extra cmake --build args]
# Environment: WINOPRUNE_BUILD_DIR (default build/), WINOPRUNE_CMAKE_ARGS (extra configure
# arguments separated by ';', used when the directory is first configured).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${WINOPRUNE_BUILD_DIR:-$root/build}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  IFS=';' read -r -a extra <<< "${WINOPRUNE_CMAKE_ARGS:-}"
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "${extra[@]}"
fi
cmake --build "$build" -j2 "$@"
