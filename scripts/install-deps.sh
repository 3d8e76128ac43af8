#!/usr/bin/env bash
# Installs every Debian 12 package Engram needs to build, run and test. Safe to run again:
# packages already present are skipped, and apt-get is called only when something is missing.
set -euo pipefail

PACKAGES=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # the fixed stack (docs/ARCHITECTURE.md)
  qt6-base-dev qt6-base-dev-tools libqt6opengl6-dev libgl1-mesa-dev
  libvtk9-dev libinsighttoolkit5-dev libdcmtk-dev libtorch-dev libspdlog-dev nlohmann-json3-dev
  # Debian's LibTorch links the generic libblas.so.3; OpenBLAS makes it ~60x faster (PLATFORM.md)
  libopenblas0-pthread
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev xvfb xauth desktop-file-utils
  # reference tools used by the tests: dciodvfy, dcmdump, nibabel, pydicom
  dicom3tools dcmtk libgdcm-tools python3-nibabel python3-pydicom python3-numpy python3-torch
  # a real PACS for the DICOM networking tests (started by the test itself on free loopback ports)
  orthanc curl
  # libFuzzer targets (preset fuzz, scripts/fuzz.sh): clang with its sanitizer and fuzzer runtimes
  clang libclang-rt-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q "${missing[@]}"
