#!/usr/bin/env bash
# Installs what is missing, builds, and runs the default experiment (configs/quickstart.json)
# end to end on Fashion-MNIST, then prints where the report is.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${WINOPRUNE_BUILD_DIR:-$root/build}"
"$root/tools/install_deps.sh"
"$root/tools/build.sh" --target winoprune   # the CLI only: tests are built by tools/check.sh
cd "$root"
out="runs/quickstart-$(date +%Y%m%d-%H%M%S)"
"$build/tools/winoprune" run configs/quickstart.json --out "$out" "$@"
echo
echo "winoprune: report in $out/report.md (machine-readable: $out/report.json)"
