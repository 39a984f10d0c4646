#!/usr/bin/env bash
# Builds and runs tests under the sanitizers (CI runs both; see docs/testing.md).
#   scripts/sanitize.sh address   build-asan/: ASan+UBSan over the unit-test executables below
#                                 the control plane, the vault integration tests and the fuzz
#                                 replays of the vault, IAM policies and S3 XML (ASAN_TARGETS)
#   SANITIZE_MORE=1 scripts/sanitize.sh address   also catalog, workspace, api types, runtime
#                                 (ASAN_MORE: clean, kept out of CI for their build cost)
#   scripts/sanitize.sh thread    build-tsan/: TSan over the concurrency tests (workflow engine,
#                                 catalog claims, vault locks, runtime write gate, API server)
#   SANITIZE_ALL=1 scripts/sanitize.sh address   every target and every CTest test but the shell
#                                 end-to-end suites (slow: about the cost of two plain builds)
# Extra arguments go to ctest (e.g. -R WriteGate). Any sanitizer report fails the test.
# SANITIZE_TARGETS="a b ..." builds only those targets (ctest then runs what is built).
# Suppressions of third-party false positives: scripts/sanitize/*.supp (each says why).
set -euo pipefail
cd "$(dirname "$0")/.."
kind=${1:-}
shift || true
supp=$PWD/scripts/sanitize
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$supp/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:suppressions=$supp/tsan.supp}

# ASan+UBSan in CI: the gtest executables below the control plane, the vault's integration,
# restore, fidelity and full-disk tests, iam, and the fuzz replays of the vault, the IAM policy
# reader and S3 XML answers. All had a clean run (docs/testing.md gives the date and the cost).
ASAN_TARGETS=(util_test crypto_test ed25519_test chunking_test sqlite_test backend_test
  backend_conformance_test vault_format_test vault_repository_test fuzz_vault_tree_replay fuzz_vault_pack_replay fuzz_vault_index_replay
  fuzz_vault_config_replay fuzz_vault_manifest_replay
  vault_integration_test vault_restore_hardening_test vault_state_test vault_fidelity_test
  vault_full_disk_test iam_json_test iam_policy_test iam_evaluator_test iam_evaluator_property_test
  fuzz_iam_policy_replay fuzz_s3_xml_replay)
# Clean under ASan+UBSan too, but left out of CI for their build cost (64 more sanitizer objects,
# up to 13 more minutes on 2 cores; docs/testing.md): catalog (both engines), workspace, api types, the runtime
# library and the CRN, workspace input and runtime request replays.
# SANITIZE_MORE=1 scripts/sanitize.sh address runs them with the CI list.
ASAN_MORE=(catalog_db_test catalog_control_stores_test catalog_plan_stores_test
  catalog_inventory_store_test catalog_workspace_start_claim_test catalog_auth_state_store_test
  workspace_crn_test workspace_parameters_test workspace_owner_test workspace_provider_test
  api_types_test fuzz_crn_replay fuzz_workspace_input_replay fuzz_runtime_request_replay
  runtime_test)
# Never run under ASan: it links the whole control plane (44 more objects than all of the
# above). SANITIZE_TARGETS=vault_key_file_test scripts/sanitize.sh address
ASAN_NEXT=(vault_key_file_test)
TSAN_TARGETS=(control_workflow_engine_test catalog_control_stores_test vault_repository_test
  vault_integration_test runtime_test api_server_test)
# The CTest tests whose executable is one of the given targets (fixtures they need come along),
# as a ctest -I list; so a partial build runs exactly the tests of what it built.
tests_of() {  # tests_of <build dir> <target>...
  local dir=$1; shift
  local re
  re="/($(IFS='|'; echo "$*"))\$"
  ctest --test-dir "$dir" --show-only=json-v1 2>/dev/null | jq -r --arg re "$re" \
    '[.tests | to_entries[] | select(.value.command != null and (.value.command[0] | test($re)))
      | .key + 1] | "0,0,0," + (map(tostring) | join(","))'
}
configure() {  # configure <dir> <sanitizer>
  [ -f "$1/build.ninja" ] ||
    cmake -S . -B "$1" -G Ninja -DMLVAULT_SANITIZE="$2" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
}
case $kind in
  address)
    BUILD=${ASAN_BUILD_DIR:-build-asan}
    configure "$BUILD" address
    if [ -n "${SANITIZE_ALL:-}" ]; then
      cmake --build "$BUILD" -j"$(nproc)"
      ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" --timeout 900 \
        -E '^(control_e2e_|iam_e2e|vault_cli_test)' "$@"
    else
      [ -z "${SANITIZE_MORE:-}" ] || ASAN_TARGETS+=("${ASAN_MORE[@]}")
      [ -z "${SANITIZE_TARGETS:-}" ] || read -ra ASAN_TARGETS <<<"$SANITIZE_TARGETS"
      cmake --build "$BUILD" -j"$(nproc)" --target "${ASAN_TARGETS[@]}"
      ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" --timeout 900 \
        -I "$(tests_of "$BUILD" "${ASAN_TARGETS[@]}")" "$@"
    fi
    ;;
  thread)
    BUILD=${TSAN_BUILD_DIR:-build-tsan}
    configure "$BUILD" thread
    [ -z "${SANITIZE_TARGETS:-}" ] || read -ra TSAN_TARGETS <<<"$SANITIZE_TARGETS"
    cmake --build "$BUILD" -j"$(nproc)" --target "${TSAN_TARGETS[@]}"
    # RepoTest.HeartbeatRefreshesAndNoticesALostLock times a 0.1 s heartbeat: left out (it
    # fails now and then on a loaded machine even without a sanitizer).
    ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" --timeout 900 \
      -R '^(WriteGate\.|EngineTest\.|RepoTest\.Locks|VaultGc\.WaitsForAConcurrent|.*StoresTest\.Concurrent|ServerTest\.|NonceCache\.)' \
      "$@"
    ;;
  *)
    echo "usage: scripts/sanitize.sh address|thread [ctest args]" >&2
    exit 2
    ;;
esac
