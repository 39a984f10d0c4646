#!/usr/bin/env bash
# Scale-out end to end: two `mlvault server` processes share one PostgreSQL catalog and one S3
# bucket (Ceph RGW), and nothing else but what docs/scale-out.md says they share:
#   - the catalog (MLVAULT_CATALOG) and its secret (catalog.key, copied to each server's home);
#   - the environment's storage root (shared storage every server mounts at the same path);
#   - the vault location s3://... (vault keys sealed in the catalog, no key files).
# Each server has its own $MLVAULT_HOME and its own TMPDIR; the CLI runs as a third machine with
# only a credentials file. The storage root is a folder of this one host standing in for the
# shared filesystem every server host mounts at the same path (NFS, CephFS): that is the design's
# data path (docs/scale-out.md, "Workspaces on more than one host"), not an accident of the test. Checks: any server answers any request (create on A, back up on B, list on
# A, restore on B, delete on A); kill -9 of the server running a backup -> the other takes it
# over and the workflow ends, the workspace resumed; concurrent backups of N workspaces.
#   scaleout_test.sh <mlvault> <mlvault-workspace>   (needs MLVAULT_TEST_PG, MLVAULT_TEST_RGW_ENV)
# Everything started here is stopped by its pid.
set -uo pipefail
MLVAULT=$(readlink -f "$1")
export MLVAULT_WORKSPACE_BIN=$(readlink -f "$2")
N=${SCALEOUT_WORKSPACES:-10}
[ -n "${MLVAULT_TEST_PG:-}" ] || { echo "needs MLVAULT_TEST_PG (scripts/start-postgres.sh start)"; exit 1; }
[ -n "${MLVAULT_TEST_RGW_ENV:-}" ] || { echo "needs MLVAULT_TEST_RGW_ENV (scripts/start-rgw.sh start DIR)"; exit 1; }
[ -r "$MLVAULT_TEST_RGW_ENV" ] || { echo "cannot read $MLVAULT_TEST_RGW_ENV (is the rgw fixture up?)"; exit 1; }
set -a
# shellcheck disable=SC1090
. "$MLVAULT_TEST_RGW_ENV"
set +a
unset MLVAULT_ACCESS_KEY_ID MLVAULT_PRIVATE_KEY MLVAULT_PROFILE MLVAULT_ENDPOINT
export MLVAULT_LOG=${MLVAULT_LOG:-warn}
export MLVAULT_WORKFLOW_LEASE_SECONDS=5  # a server on another host is noticed gone by its lease

T=$(mktemp -d "${TMPDIR:-/tmp}/mlvault-scaleout.XXXXXX")
chmod 711 "$T"  # as root, workspaces run as users of their own that must reach $T/storage
DB=mlvault_scaleout_$$_$RANDOM
psql "$MLVAULT_TEST_PG" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $DB" || exit 1
export MLVAULT_CATALOG="${MLVAULT_TEST_PG%/*}/$DB"
BUCKET_PREFIX="s3://mlvault-test/scaleout-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
PASSED=0 FAILED=0
declare -A PID URL
ok() { PASSED=$((PASSED + 1)); echo "  ok   $*"; }
bad() { FAILED=$((FAILED + 1)); echo "  FAIL $*"; }
sql() { psql "$MLVAULT_CATALOG" -qtAX -c "$1"; }
# The CLI: a machine with a credentials file only, talking to server $1.
cli() { local s=$1; shift; OUT=$(MLVAULT_HOME=$T/client MLVAULT_ENDPOINT=${URL[$s]} "$MLVAULT" "$@" 2>"$T/err"); RC=$?; ERR=$(cat "$T/err"); }

start_server() {  # start_server a|b [extra env assignments...]
  local s=$1; shift
  : >"$T/$s.out"
  mkdir -p "$T/tmp-$s"
  env "$@" MLVAULT_HOME="$T/home-$s" TMPDIR="$T/tmp-$s" "$MLVAULT" server --listen 127.0.0.1:0 --workflow-workers 2 \
    --drain-seconds 5 --access-log "$T/$s.access.log" >"$T/$s.out" 2>>"$T/$s.err" </dev/null &
  PID[$s]=$!
  for _ in $(seq 300); do grep -q "listening on" "$T/$s.out" 2>/dev/null && break; sleep 0.05; done
  URL[$s]=$(sed -n 's/^mlvault server listening on \([^ ]*\).*/\1/p' "$T/$s.out")
  [ -n "${URL[$s]}" ] || { echo "server $s did not start: $(cat "$T/$s.err")"; exit 1; }
}
stop_server() {
  local s=$1 pid=${PID[$1]:-}
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null
  for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; PID[$s]=
}
cleanup() {
  for s in a b; do [ -n "${PID[$s]:-}" ] || start_server "$s"; done 2>/dev/null
  for crn in $(sql "SELECT crn FROM workspaces WHERE deleted_at IS NULL" 2>/dev/null); do
    cli a delete-workspace --workspace-crn "$crn" --wait
  done
  stop_server a; stop_server b
  for pid in $(sql "SELECT runtime_pid FROM workspaces WHERE runtime_pid > 0" 2>/dev/null); do
    grep -q mlvault-workspace "/proc/$pid/cmdline" 2>/dev/null && kill -9 "$pid" 2>/dev/null
  done
  psql "$MLVAULT_TEST_PG" -qX -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
  rm -rf "$T"
}
trap cleanup EXIT
wait_status() {  # wait_status <workflow id> <seconds>: prints the final status
  local st=""
  for _ in $(seq $(($2 * 10))); do
    st=$(sql "SELECT status FROM workflows WHERE id = '$1'")
    case "$st" in succeeded|failed|cancelled) break ;; esac; sleep 0.1
  done
  echo "$st"
}

echo "== two servers, one catalog on PostgreSQL, one bucket"
mkdir -p "$T/client" "$T/storage"
chmod 700 "$T/client"
MLVAULT_HOME=$T/home-a "$MLVAULT" init >/dev/null || { echo "init failed"; exit 1; }
mkdir -p "$T/home-b" && chmod 700 "$T/home-b"
cp "$T/home-a/catalog.key" "$T/home-b/catalog.key"  # the catalog's secret, shared (docs/scale-out.md)
cp "$T/home-a/credentials" "$T/client/credentials"   # the administrator's key, on the client only
chmod 600 "$T/client/credentials"
start_server a
start_server b
ok "servers a (${URL[a]}) and b (${URL[b]}) run with separate homes"
cli b grant-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE
[ "$RC" = 0 ] && ok "b answers for the account a created" || bad "grant on b: $RC $ERR"
cli a create-environment --environment-name prod --storage-root "$T/storage" --vault-location "$BUCKET_PREFIX"
[ "$RC" = 0 ] && [ "$(jq -r .environment.vaultLocation <<<"$OUT")" = "$BUCKET_PREFIX" ] &&
  ok "create-environment with an S3 vault location" || bad "create-environment: $RC $OUT $ERR"
cli a create-environment --environment-name nope --vault-location "ftp://x"
[ "$RC" = 2 ] && grep -q -- "--vault-location" <<<"$ERR" && ok "a malformed vault location is refused naming the flag" || bad "bad location: $RC $ERR"

echo "== any server answers any request"
cli a create-workspace --environment-name prod --workspace-name ws1 --wait
WS=$(jq -r .workspaceCrn <<<"$OUT")
[ "$RC" = 0 ] && ok "create-workspace on a" || { bad "create-workspace: $RC $ERR"; exit 1; }
cli b backup-workspace --workspace-crn "$WS" --backup-name first --wait
B1=$(jq -r .backupCrn <<<"$OUT")
[ "$RC" = 0 ] && [ "$(jq -r .backupStatus <<<"$OUT")" = succeeded ] && ok "backup-workspace on b" || bad "backup on b: $RC $OUT $ERR"
[ -z "$(ls -A "$T/home-a/vaults" "$T/home-b/vaults" 2>/dev/null)" ] && [ "$(sql "SELECT COUNT(*) FROM vault_keys")" = 1 ] &&
  ok "the vault is on S3 (no local vault on either server, its key sealed in the catalog)" || bad "local vaults: $(ls -R "$T"/home-*/vaults 2>&1 | head -5)"
cli a list-workspace-backups --workspace-crn "$WS"
[ "$(jq -r '.backups[0].backupName' <<<"$OUT")" = first ] && ok "list on a shows b's backup" || bad "list on a: $OUT $ERR"
cli a verify-backup --backup-crn "$B1" --read-data
[ "$RC" = 0 ] && ok "verify --read-data on a reads the S3 vault" || bad "verify on a: $RC $ERR"
MLVAULT_HOME=$T/client MLVAULT_ENDPOINT=${URL[a]} "$MLVAULT" restore-workspace --generate-cli-skeleton |
  jq --arg b "$B1" '.backupCrn = $b | .newWorkspaceParameters.workspaceName = "ws1r" | .newWorkspaceParameters.environmentName = "prod"' >"$T/restore.json"
cli b restore-workspace --cli-input-json "file://$T/restore.json" --wait
WR=$(jq -r .workspaceCrn <<<"$OUT")
[ "$RC" = 0 ] && [ -n "$WR" ] && ok "restore-workspace on b from the S3 vault" || bad "restore on b: $RC $OUT $ERR"
cli a describe-workspace --workspace-crn "$WR"
[ "$(jq -r .workspace.status <<<"$OUT")" = running ] && ok "the restored workspace runs" || bad "restored: $OUT $ERR"
cli b backup-workspace --workspace-crn "$WS" --backup-name second --wait
B2=$(jq -r .backupCrn <<<"$OUT")
cli a delete-backup --backup-crn "$B2" --wait
[ "$RC" = 0 ] && ok "delete-backup on a of b's second backup" || bad "delete on a: $RC $ERR"
cli b describe-workspace-backup --backup-crn "$B2"
[ "$(jq -r .backup.backupStatus <<<"$OUT")" = deleted ] && ok "b sees it deleted" || bad "deleted: $OUT $ERR"

echo "== replay protection and console sessions span the servers (the catalog keeps them)"
KEY_ID=$(sed -n 's/^access_key_id = //p' "$T/client/credentials" | head -1)
PRIVATE=$(sed -n 's/^private_key = //p' "$T/client/credentials" | head -1)
if /usr/bin/python3 "$(dirname "$0")/shared_auth_client.py" "${URL[a]}" "${URL[b]}" "$KEY_ID" "$PRIVATE" >"$T/auth.out" 2>&1; then
  ok "a request replayed to the other server is refused; challenges and sessions work on either ($(grep -c '^ok' "$T/auth.out") checks)"
else
  bad "shared authentication state:"; sed 's/^/    /' "$T/auth.out"
fi

echo "== kill -9 of the server running a backup; the other takes it over"
stop_server b
stop_server a
start_server a MLVAULT_TEST_HOLD_FILE="$T/hold"
touch "$T/hold"
cli a backup-workspace --workspace-crn "$WS" --backup-name killed
WF=$(jq -r .workflowId <<<"$OUT")
for _ in $(seq 300); do [ "$(sql "SELECT status FROM workflows WHERE id = '$WF'")" = running ] && break; sleep 0.1; done
sleep 1
OWNER=$(sql "SELECT lease_owner FROM workflows WHERE id = '$WF'")
kill -9 "${PID[a]}"; wait "${PID[a]}" 2>/dev/null; PID[a]=
rm -f "$T/hold"
[ -n "$OWNER" ] && ok "a held the backup (lease owner $OWNER) and was killed" || bad "no lease owner for $WF"
start_server b
ST=$(wait_status "$WF" 120)
case "$ST" in
  succeeded|failed) ok "b ended the killed backup's workflow: $ST ($(sql "SELECT error_message FROM workflows WHERE id = '$WF'" | head -c 100))" ;;
  *) bad "the killed backup's workflow is '$ST'" ;;
esac
[ "$(sql "SELECT attempts FROM workflows WHERE id = '$WF'")" -ge 2 ] 2>/dev/null && ok "it was taken over (attempt $(sql "SELECT attempts FROM workflows WHERE id = '$WF'"))" || bad "attempts: $(sql "SELECT attempts, lease_owner FROM workflows WHERE id = '$WF'")"
cli b describe-workspace --workspace-crn "$WS"
EP=$(jq -r .workspace.endpoint <<<"$OUT")
[ "$(jq -r .workspace.status <<<"$OUT")" = running ] && ! curl -s "$EP/healthz" | grep -q '"quiesced": *true' &&
  ok "the workspace runs, not quiesced" || bad "workspace after takeover: $OUT"
start_server a

echo "== concurrent backups of $N workspaces through both servers"
for i in $(seq 2 "$N"); do
  s=$([ $((i % 2)) = 0 ] && echo a || echo b)
  cli "$s" create-workspace --environment-name prod --workspace-name "w$i" --wait
  [ "$RC" = 0 ] || bad "create-workspace w$i: $ERR"
done
WSS=$(sql "SELECT crn FROM workspaces WHERE deleted_at IS NULL AND name <> 'ws1r' ORDER BY name")
WFS=()
i=0
for crn in $WSS; do
  i=$((i + 1)); s=$([ $((i % 2)) = 0 ] && echo a || echo b)
  cli "$s" backup-workspace --workspace-crn "$crn" --backup-name "concurrent"
  [ "$RC" = 0 ] && WFS+=("$(jq -r .workflowId <<<"$OUT")") || bad "backup of $crn on $s: $ERR"
done
[ "${#WFS[@]}" = "$N" ] && ok "$N backups accepted" || bad "accepted ${#WFS[@]} of $N"
SUCC=0
for wf in "${WFS[@]}"; do [ "$(wait_status "$wf" 600)" = succeeded ] && SUCC=$((SUCC + 1)); done
[ "$SUCC" = "$N" ] && ok "all $N succeeded" || bad "$SUCC of $N succeeded"

echo "scaleout: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
