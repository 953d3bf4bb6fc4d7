#!/usr/bin/env bash
# Converts Fashion-MNIST (IDX files, default /usr/share/datasets/fashion-mnist) into an image
# folder OUT_DIR/{train,val}/<k>_<class>/*.png|jpg for the "imagefolder" dataset.
# Usage: data_scripts/fmnist_to_folder.sh OUT_DIR [--source DIR] [--format png|jpg]
#        [--quality Q] [--limit N]          (--help for details; OUT_DIR is never overwritten)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ $# -eq 0 ] || [ "$1" = "--help" ] || [ "$1" = "-h" ]; then
  sed -n '2,5p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  echo
  exec "$here/run_winoprune_data.sh" --help
fi
exec "$here/run_winoprune_data.sh" fmnist-to-folder "$@"
