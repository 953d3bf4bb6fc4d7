#!/usr/bin/env bash
# Installs the Debian 12 packages winoprune needs (plus any given as arguments), only those
# missing. Idempotent and quick when everything is there (one dpkg query). Uses apt-get as root,
# sudo otherwise.
set -euo pipefail

# g++ ships libgomp (OpenMP); oneDNN (libdnnl-dev) uses OpenMP too, so both share one runtime.
PACKAGES=(
  g++ cmake make
  libdnnl-dev ocl-icd-opencl-dev opencl-c-headers   # dnnl's CMake config requires OpenCL
  libtbb-dev libstb-dev nlohmann-json3-dev catch2 zlib1g-dev
  libopenmpi-dev openmpi-bin                         # data-parallel runs under mpirun
  python3-numpy                                      # python/winoprune_numpy.py and its test
  dataset-fashion-mnist
)
# Extra packages a tool asks for (tools/fuzz.sh: clang and its fuzzer runtime).
PACKAGES+=("$@")

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "winoprune: installing missing Debian packages: ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "winoprune: these packages are missing and I am neither root nor have sudo:" >&2
  echo "  apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
