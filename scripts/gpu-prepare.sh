#!/usr/bin/env bash
# Gathers what scripts/gpu-check.sh needs on a bare GPU host into .gpu-deps/ (ignored by git): the header-only
# dependencies from this machine's Debian packages and the shared parity case.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu-deps && mkdir -p .gpu-deps/include .gpu-deps/shared
cp -r /usr/include/spdlog /usr/include/fmt /usr/include/nlohmann .gpu-deps/include/
mkdir -p .gpu-deps/shared/parity && cp ../shared/parity/sam-med3d-tiny-seed1.safetensors .gpu-deps/shared/parity/
du -sh .gpu-deps
