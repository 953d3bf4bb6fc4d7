#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test through ctest. Non-zero on any failure.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${WINOPRUNE_BUILD_DIR:-$root/build}"
"$root/tools/install_deps.sh"
"$root/tools/build.sh"
cd "$build"
ctest --output-on-failure -j2 --timeout 600
