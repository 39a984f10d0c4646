#!/usr/bin/env bash
# Builds and runs tests under the sanitizers (CI runs both; see docs/testing.md).
#   scripts/sanitize.sh address   build-asan/: ASan+UBSan, the unit and integration tests
#   scripts/sanitize.sh thread    build-tsan/: TSan, the concurrency tests (workflow engine,
#                                 vault locks, runtime write gate); builds only their targets
# Extra arguments go to ctest (e.g. -R WriteGate). Any sanitizer report fails the test.
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-}
shift || true
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}
case $kind in
  address)
    BUILD=${ASAN_BUILD_DIR:-build-asan}
    [ -f "$BUILD/build.ninja" ] ||
      cmake -S . -B "$BUILD" -G Ninja -DMLVAULT_SANITIZE=address -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD" -j"$(nproc)"
    # The shell end-to-end suites drive the same code as the integration tests through the
    # binaries and take several times longer under ASan; they run in the plain build.
    ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" --timeout 900 \
      -E '^(control_e2e_|iam_e2e|vault_cli_test)' "$@"
    ;;
  thread)
    BUILD=${TSAN_BUILD_DIR:-build-tsan}
    [ -f "$BUILD/build.ninja" ] ||
      cmake -S . -B "$BUILD" -G Ninja -DMLVAULT_SANITIZE=thread -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$BUILD" -j"$(nproc)" --target runtime_test control_workflow_engine_test \
      vault_repository_test vault_integration_test
    ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" --timeout 900 \
      -R '^(WriteGate\.|EngineTest\.|RepoTest\.Locks|VaultGc\.WaitsForAConcurrent)' "$@"
    ;;
  *)
    echo "usage: scripts/sanitize.sh address|thread [ctest args]" >&2
    exit 2
    ;;
esac
