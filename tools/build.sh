#!/usr/bin/env bash
# Configures (once) and builds winoprune into build/ with -j2 (the machine has 2 cores).
# Usage: tools/build.sh [extra cmake --build args]
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${WINOPRUNE_BUILD_DIR:-$root/build}"
if [ ! -f "$build/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release
fi
cmake --build "$build" -j2 "$@"
