#!/usr/bin/env bash
# Writes a small synthetic ImageNet-layout tree (train/<wnid>/, val/<wnid>/, val_flat/ with
# val.txt, LOC_val_solution.csv, LOC_synset_mapping.txt) for tests and quick runs.
# Usage: data_scripts/make_synthetic_imagenet.sh OUT_DIR [--classes K] [--train-per-class N]
#        [--val-per-class M] [--width W] [--height H] [--fixed-size] [--quality Q] [--seed S]
#        (--help for details; OUT_DIR is never overwritten)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -eq 0 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
  sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  echo
  exec "$here/run_winoprune_data.sh" --help
fi
exec "$here/run_winoprune_data.sh" synthetic "$@"
