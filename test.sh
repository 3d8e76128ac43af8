#!/usr/bin/env bash
# Installs what is missing (Debian 12), builds Engram with its tests, and runs every test.
# The closing line is ctest's summary: "N% tests passed, M tests failed out of T".
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh
cmake --preset dev
cmake --build --preset dev
# GUI tests need an X server; xvfb-run provides one for the whole run.
xvfb-run -a -s "-screen 0 1600x1000x24" ctest --preset dev --output-on-failure "$@"
