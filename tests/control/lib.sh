# Shared helpers of the control-plane end-to-end tests: they drive the real `mlvault` and
# `mlvault-workspace` binaries like a user, in a fresh $MLVAULT_HOME, and clean up every process
# they caused (runtimes and workers, by pid) and every file.
#   source lib.sh <mlvault> <mlvault-workspace>
set -uo pipefail
MLVAULT=$(readlink -f "$1")
export MLVAULT_WORKSPACE_BIN=$(readlink -f "$2")
export MLVAULT_HOME=$(mktemp -d "${TMPDIR:-/tmp}/mlvault-e2e-XXXXXX")
export MLVAULT_LOG=${MLVAULT_LOG:-warn}
unset MLVAULT_ACCESS_KEY_ID MLVAULT_PRIVATE_KEY MLVAULT_PROFILE MLVAULT_ENDPOINT
TEST_NAME=$(basename "$0" .sh)
PASSED=0
FAILED=0
T0=$(date +%s)

pass() { PASSED=$((PASSED + 1)); echo "  ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "  FAIL $*"; }
check() {  # check "description" <test-expression...>
  local desc=$1; shift
  if "$@"; then pass "$desc"; else fail "$desc"; fi
}

# mlv <args...>: runs mlvault; sets OUT (stdout), ERR (stderr) and RC.
mlv() {
  local e
  e=$(mktemp)
  OUT=$("$MLVAULT" "$@" 2>"$e")
  RC=$?
  ERR=$(cat "$e")
  rm -f "$e"
}
# expect <exit code> "description" <mlvault args...>
expect() {
  local code=$1 desc=$2; shift 2
  mlv "$@"
  if [ "$RC" = "$code" ]; then pass "$desc (exit $code)"; else fail "$desc: exit $RC, wanted $code; stderr: $(head -c 400 <<<"$ERR")"; fi
}
# j '<jq filter>': on the last stdout.
j() { jq -r "$1" <<<"$OUT"; }
# has_keys '<jq path>' key...: the object at the path has every key.
has_keys() {
  local path=$1; shift
  local k
  for k in "$@"; do
    [ "$(jq -r "$path | has(\"$k\")" <<<"$OUT")" = true ] || { echo "    missing key $k in $path" >&2; return 1; }
  done
}
err_has() { grep -qF -- "$1" <<<"$ERR"; }
# sql '<statement>': on the catalog (MLVAULT_CATALOG=postgresql://... runs the suite on PostgreSQL).
if [[ "${MLVAULT_CATALOG:-}" == postgres* ]]; then
  sql() { psql "$MLVAULT_CATALOG" -qtAX -v ON_ERROR_STOP=1 -c "$*"; }
  catalog_exists() { true; }
else
  sql() { sqlite3 -cmd '.timeout 10000' "$MLVAULT_HOME/catalog.db" "$@"; }
  catalog_exists() { [ -f "$MLVAULT_HOME/catalog.db" ]; }
fi

# Grants the backup entitlement to the account (the first verb run creates it).
grant_backup_entitlement() {
  "$MLVAULT" grant-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE >/dev/null ||
    fail "grant-entitlement ML_ENABLE_BACKUP_RESTORE"
}

# wait_for <seconds> <command...>: polls every 0.1 s until the command succeeds.
wait_for() {
  local secs=$1; shift
  local deadline=$(( $(date +%s) + secs ))
  until "$@"; do
    [ "$(date +%s)" -ge "$deadline" ] && return 1
    sleep 0.1
  done
}
backup_status() { "$MLVAULT" describe-workspace-backup --backup-crn "$1" 2>/dev/null | jq -r .backup.backupStatus; }
backup_is() { [ "$(backup_status "$1")" = "$2" ]; }
workflow_terminal() {
  local s
  s=$("$MLVAULT" describe-workflow --workflow-id "$1" 2>/dev/null | jq -r .workflow.status)
  [ "$s" = succeeded ] || [ "$s" = failed ] || [ "$s" = cancelled ]
}
ws_field() { "$MLVAULT" describe-workspace --workspace-crn "$1" | jq -r ".workspace.$2"; }
api_key() { "$MLVAULT" get-workspace-api-key --workspace-crn "$1" | jq -r .apiKey; }
snapshot() { "$MLVAULT_WORKSPACE_BIN" snapshot --endpoint "$(ws_field "$1" endpoint)" --api-key "$(api_key "$1")"; }
seed() { "$MLVAULT_WORKSPACE_BIN" seed --endpoint "$(ws_field "$1" endpoint)" --api-key "$(api_key "$1")" >/dev/null; }
# Health with the workspace's API key: only an authenticated caller sees its CRN and domain.
health() { curl -s -H "Authorization: Bearer $(api_key "$1")" "$(ws_field "$1" endpoint)/api/v1/health"; }
# control_key <ws crn>: the workspace's control key, opened from the catalog as the control plane
# opens it (AES-256-GCM under $MLVAULT_HOME/catalog.key; see src/control/workspace_keys.cc).
control_key() {
  local stored
  stored=$(sql "SELECT control_key FROM workspaces WHERE crn = '$1'")
  /usr/bin/python3 - "$MLVAULT_HOME/catalog.key" "$stored" <<'PY'
import sys
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
secret = bytes.fromhex(open(sys.argv[1]).read().strip())
stored = sys.argv[2]
prefix = "sealed:v1:"
if not stored.startswith(prefix):
    print(stored)
else:
    sealed = bytes.fromhex(stored[len(prefix):].split(":", 1)[1])
    print(AESGCM(secret).decrypt(sealed[:12], sealed[12:], b"mlvault workspace key v1").decode())
PY
}
# An HTTP call to a workspace's API: api <ws crn> <method> <path> [curl args...]
api() {
  local ws=$1 method=$2 path=$3; shift 3
  curl -s -X "$method" -H "Authorization: Bearer $(api_key "$ws")" "$(ws_field "$ws" endpoint)$path" "$@"
}
create_workspace() {  # create_workspace <env> <name>: prints the CRN
  "$MLVAULT" create-workspace --environment-name "$1" --workspace-name "$2" --wait | jq -r .workspaceCrn
}
restore_input() {  # restore_input <backup crn> <workspace name> [environment]: prints a filled skeleton
  "$MLVAULT" restore-workspace --generate-cli-skeleton |
    jq --arg b "$1" --arg n "$2" --arg e "${3:-}" \
      '.backupCrn = $b | .newWorkspaceParameters.workspaceName = $n | .newWorkspaceParameters.environmentName = $e'
}

cleanup() {
  local rc=$?
  # Let background workers finish (they end their workflows), then stop what is left, by pid.
  if catalog_exists; then
    wait_for 60 test "$(sql "SELECT COUNT(*) FROM workflows WHERE status IN ('queued','pending','running')" 2>/dev/null)" = 0 ||
      echo "  (workflows still active at cleanup)"
    local pid
    for pid in $(sql "SELECT lease_owner FROM workflows WHERE lease_owner <> ''" 2>/dev/null | cut -d/ -f2); do
      kill -9 "$pid" 2>/dev/null
    done
    for crn in $(sql "SELECT crn FROM workspaces WHERE deleted_at IS NULL" 2>/dev/null); do
      "$MLVAULT" delete-workspace --workspace-crn "$crn" >/dev/null 2>&1
    done
    for pid in $(sql "SELECT runtime_pid FROM workspaces WHERE runtime_pid > 0" 2>/dev/null); do
      grep -q mlvault-workspace "/proc/$pid/cmdline" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    done
  fi
  # A suite's own teardown (e.g. unmounting a filesystem it made), after its workspaces are gone.
  if declare -F at_cleanup >/dev/null; then at_cleanup; fi
  rm -rf "$MLVAULT_HOME"
  local t
  t=$(( $(date +%s) - T0 ))
  echo "== $TEST_NAME: $PASSED passed, $FAILED failed in ${t}s"
  if [ "$FAILED" -gt 0 ] || [ "$rc" -ne 0 ]; then exit 1; fi
  exit 0
}
trap cleanup EXIT
