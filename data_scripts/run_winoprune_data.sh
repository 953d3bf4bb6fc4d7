#!/usr/bin/env bash
# Shared by the data_scripts wrappers: runs the winoprune-data helper (built by CMake) with the
# given arguments. It is looked for in $WINOPRUNE_BUILD_DIR, then build/ of this checkout.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for dir in "${WINOPRUNE_BUILD_DIR:-}" "$root/build"; do
  if [ -n "$dir" ] && [ -x "$dir/winoprune-data" ]; then
    exec "$dir/winoprune-data" "$@"
  fi
done
echo "error: winoprune-data not found; build it first: tools/build.sh --target winoprune-data" \
     "(or set WINOPRUNE_BUILD_DIR)" >&2
exit 2
