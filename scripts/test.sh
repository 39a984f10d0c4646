#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite (unit, integration, end to end).
#   scripts/test.sh            everything
#   scripts/test.sh -R vault   only tests whose name matches
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j"$(nproc)" --timeout 600 "$@"
