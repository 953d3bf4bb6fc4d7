#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest. Non-zero on any failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${WINOPRUNE_BUILD_DIR:-$root/build}"
"$root/tools/install_deps.sh"
"$root/tools/build.sh"
cd "$build"
# Tests run two at a time on a 2-core machine: OpenMP threads that spin at barriers would steal
# the cores the other test needs (a 10 s pipeline test took 280 s), so they sleep instead.
export OMP_WAIT_POLICY=passive
ctest --output-on-failure -j2 --timeout 900
