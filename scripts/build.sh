#!/usr/bin/env bash
# Configures and builds mlvault into build/ (Release-with-debug-info, Ninja).
#   scripts/build.sh [extra cmake args]     BUILD_DIR=build-asan scripts/build.sh -DMLVAULT_SANITIZE=ON
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
[ -f "$BUILD_DIR/build.ninja" ] || cmake -S . -B "$BUILD_DIR" -G Ninja "$@" >/dev/null
cmake --build "$BUILD_DIR" -j"$(nproc)"
