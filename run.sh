#!/usr/bin/env bash
# Installs what is missing (Debian 12), builds Engram, and opens the demo volume in the app.
set -euo pipefail
cd "$(dirname "$0")"
./scripts/install-deps.sh
cmake --preset dev
cmake --build --preset dev --target engram engram-cli
exec ./build/dev/app/engram --demo "$@"
