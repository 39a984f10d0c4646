#!/usr/bin/env bash
# `mlvault server` end to end, with real binaries and real workspaces:
#   server_e2e.sh <mlvault> <mlvault-workspace> <policies-dir>
# - nobody without a key reaches any operation (every operation of openapi.json, unsigned: 401);
# - an independent client written only from docs/api.md (Python cryptography + urllib) signs and
#   sends requests, and is refused as documented (replay, stale date, tampering, no signature);
# - the CLI over HTTP (MLVAULT_ENDPOINT) and over HTTPS with a self-signed certificate;
# - a user with a narrow policy can do exactly what it allows over HTTP;
# - kill -9 of the server during a backup, restart: the workflow ends (resumed or failed with its
#   cause) and the workspace is resumed (not left quiesced).
# Stops every process it started, by pid.
set -uo pipefail
MLVAULT=$(readlink -f "$1")
export MLVAULT_WORKSPACE_BIN=$(readlink -f "$2")
POLICIES=$(readlink -f "$3")
HERE=$(dirname "$(readlink -f "$0")")
export MLVAULT_HOME=$(mktemp -d "${TMPDIR:-/tmp}/mlvault-server-e2e.XXXXXX")
export MLVAULT_LOG=${MLVAULT_LOG:-warn}
unset MLVAULT_ACCESS_KEY_ID MLVAULT_PRIVATE_KEY MLVAULT_PROFILE MLVAULT_ENDPOINT
PASSED=0 FAILED=0 SERVER_PID=
ok() { PASSED=$((PASSED + 1)); echo "  ok   $*"; }
bad() { FAILED=$((FAILED + 1)); echo "  FAIL $*"; }
sql() { sqlite3 -cmd '.timeout 10000' "$MLVAULT_HOME/catalog.db" "$@"; }
run() { OUT=$("$MLVAULT" "$@" 2>"$MLVAULT_HOME/err"); RC=$?; ERR=$(cat "$MLVAULT_HOME/err"); }

start_server() {  # start_server [extra flags]
  "$MLVAULT" server --listen 127.0.0.1:0 --access-log "$MLVAULT_HOME/access.log" --drain-seconds 10 "$@" \
    >"$MLVAULT_HOME/server.out" 2>>"$MLVAULT_HOME/server.err" </dev/null &
  SERVER_PID=$!
  for _ in $(seq 200); do grep -q "listening on" "$MLVAULT_HOME/server.out" 2>/dev/null && break; sleep 0.05; done
  URL=$(sed -n 's/^mlvault server listening on \([^ ]*\).*/\1/p' "$MLVAULT_HOME/server.out")
  [ -n "$URL" ] || { echo "server did not start: $(cat "$MLVAULT_HOME/server.err")"; exit 1; }
  [ -z "${MLVAULT_ENDPOINT:-}" ] || export MLVAULT_ENDPOINT=$URL  # a restarted server has a new port
}
stop_server() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; SERVER_PID=; }
cleanup() {
  stop_server
  MLVAULT_ENDPOINT= "$MLVAULT" list-workspaces 2>/dev/null | jq -r '.workspaces[]?.crn' 2>/dev/null |
    while read -r crn; do MLVAULT_ENDPOINT= "$MLVAULT" delete-workspace --workspace-crn "$crn" >/dev/null 2>&1; done
  for pid in $(sql "SELECT runtime_pid FROM workspaces WHERE runtime_pid > 0" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
  rm -rf "$MLVAULT_HOME"
}
trap cleanup EXIT

"$MLVAULT" init >/dev/null && "$MLVAULT" grant-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE >/dev/null
KEY_ID=$(sed -n 's/^access_key_id = //p' "$MLVAULT_HOME/credentials" | head -1)
PRIVATE=$(sed -n 's/^private_key = //p' "$MLVAULT_HOME/credentials" | head -1)
start_server
echo "server at $URL"

echo "== nobody without a key reaches any operation"
curl -sf "$URL/api/v1/openapi.json" >"$MLVAULT_HOME/openapi.json" && ok "openapi.json is served" || bad "openapi.json"
N=0 REFUSED=0
for p in $(jq -r '.paths | keys[]' "$MLVAULT_HOME/openapi.json"); do
  N=$((N + 1))
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d '{}' "$URL$p")
  [ "$code" = 401 ] && REFUSED=$((REFUSED + 1)) || echo "    $p answered $code"
done
[ "$N" -gt 30 ] && [ "$REFUSED" = "$N" ] && ok "all $N operations answer 401 without a signature" || bad "$REFUSED of $N operations refused"

echo "== an independent client written from docs/api.md"
if /usr/bin/python3 "$HERE/independent_client.py" "$URL" "$KEY_ID" "$PRIVATE" | sed 's/^/    /'; then
  ok "the independent Python client's checks pass"
else
  bad "the independent Python client"
fi

echo "== the CLI against the server"
export MLVAULT_ENDPOINT=$URL
run create-environment --environment-name prod
[ "$RC" = 0 ] && ok "create-environment over HTTP" || bad "create-environment: $RC $ERR"
run get-caller-identity
[ "$(jq -r .userName <<<"$OUT")" = admin ] && ok "get-caller-identity over HTTP" || bad "get-caller-identity: $OUT $ERR"
grep -q '"operation":"environments/createEnvironment"' "$MLVAULT_HOME/access.log" && ok "the access log has the call" || bad "access log"
run create-workspace --environment-name prod --workspace-name ws1 --wait
[ "$RC" = 0 ] && ok "create-workspace --wait over HTTP" || bad "create-workspace: $RC $ERR"
WS=$(jq -r .workspaceCrn <<<"$OUT")
run backup-workspace --workspace-crn "$WS" --backup-name b1 --wait
[ "$RC" = 0 ] && [ "$(jq -r .backupStatus <<<"$OUT")" = succeeded ] && ok "backup-workspace --wait runs in the server's pool" || bad "backup: $RC $OUT $ERR"
run backup-workspace --workspace-crn "$WS" --backup-name b2
[ "$RC" = 0 ] && ok "backup-workspace without --wait answers at once ($(jq -r .backupStatus <<<"$OUT"))" || bad "backup b2: $ERR"

echo "== lists are paginated"
run list-workspace-backups --workspace-crn "$WS" --max-items 1
TOKEN=$(jq -r '.nextToken // empty' <<<"$OUT")
[ "$RC" = 0 ] && [ "$(jq '.backups | length' <<<"$OUT")" = 1 ] && [ -n "$TOKEN" ] &&
  ok "--max-items 1 answers one backup and a nextToken" || bad "max-items: $RC $OUT $ERR"
FIRST=$(jq -r '.backups[0].backupName' <<<"$OUT")
run list-workspace-backups --workspace-crn "$WS" --starting-token "$TOKEN"
[ "$RC" = 0 ] && [ "$(jq '.backups | length' <<<"$OUT")" = 1 ] && [ "$(jq -r '.backups[0].backupName' <<<"$OUT")" != "$FIRST" ] &&
  [ "$(jq -r '.nextToken // empty' <<<"$OUT")" = "" ] && ok "--starting-token continues with the other backup, no token after it" || bad "starting-token: $RC $OUT $ERR"
run list-workspace-backups --workspace-crn "$WS" --page-size 1
[ "$RC" = 0 ] && [ "$(jq '.backups | length' <<<"$OUT")" = 2 ] && ok "the CLI follows tokens page by page" || bad "page-size: $OUT $ERR"
run list-workspace-backups --workspace-crn "$WS" --starting-token abc
[ "$RC" = 2 ] && grep -q -- "--starting-token" <<<"$ERR" && ok "a token no answer gave is refused naming --starting-token" || bad "bad token: $RC $ERR"

echo "== a narrow policy over HTTP"
run create-user --user-name ops
run create-policy --policy-name operator --policy-document "file://$POLICIES/operator.json"
run attach-policy --user-name ops --policy-name operator
run create-access-key --user-name ops --save-profile ops
[ "$RC" = 0 ] && ok "create-access-key ops" || bad "create-access-key: $ERR"
run --profile ops list-workspace-backups --workspace-crn "$WS"
[ "$RC" = 0 ] && ok "ops may list prod backups over HTTP" || bad "ops list: $RC $ERR"
run --profile ops create-user --user-name mallory
[ "$RC" = 4 ] && grep -q "iam:CreateUser" <<<"$ERR" && ok "ops is denied create-user (403 naming the action)" || bad "ops create-user: $RC $ERR"
run --profile ops delete-workspace --workspace-crn "$WS"
[ "$RC" = 4 ] && ok "ops is denied delete-workspace" || bad "ops delete-workspace: $RC $ERR"
sql "SELECT source, source_ip FROM audit_events WHERE principal_name = 'ops' AND outcome = 'denied'" | grep -q "^api|127.0.0.1$" &&
  ok "denials over HTTP are audited with source api and the address" || bad "audit source"

echo "== kill -9 during a backup, restart"
export MLVAULT_TEST_HOLD_FILE=$MLVAULT_HOME/hold
touch "$MLVAULT_TEST_HOLD_FILE"
stop_server
start_server
run backup-workspace --workspace-crn "$WS" --backup-name killed
WF=$(jq -r .workflowId <<<"$OUT")
for _ in $(seq 200); do [ "$(sql "SELECT status FROM workflows WHERE id = '$WF'")" = running ] && break; sleep 0.1; done
sleep 1
kill -9 "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null; SERVER_PID=
rm -f "$MLVAULT_TEST_HOLD_FILE"
unset MLVAULT_TEST_HOLD_FILE
start_server
for _ in $(seq 600); do
  st=$(sql "SELECT status FROM workflows WHERE id = '$WF'")
  case "$st" in succeeded|failed|cancelled) break ;; esac; sleep 0.1
done
st=$(sql "SELECT status FROM workflows WHERE id = '$WF'")
case "$st" in
  succeeded|failed) ok "the killed backup's workflow ended after the restart: $st ($(sql "SELECT error_message FROM workflows WHERE id = '$WF'" | head -c 120))" ;;
  *) bad "the killed backup's workflow is $st" ;;
esac
run describe-workspace --workspace-crn "$WS"
[ "$(jq -r .workspace.status <<<"$OUT")" = running ] && ok "the workspace is running again (not left quiesced)" || bad "workspace: $OUT $ERR"
EP=$(jq -r .workspace.endpoint <<<"$OUT")
HZ=$(curl -s "$EP/healthz")
[ -n "$EP" ] && [ -n "$HZ" ] && ! grep -q '"quiesced": *true' <<<"$HZ" && ok "the workspace is not quiesced" || bad "workspace health at '$EP': $HZ"

echo "== TLS"
stop_server
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$MLVAULT_HOME/key.pem" \
  -out "$MLVAULT_HOME/cert.pem" -days 1 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>/dev/null
start_server --tls-cert "$MLVAULT_HOME/cert.pem" --tls-key "$MLVAULT_HOME/key.pem"
export MLVAULT_ENDPOINT=$URL MLVAULT_CA_BUNDLE=$MLVAULT_HOME/cert.pem
run list-environments
[ "$RC" = 0 ] && [[ "$URL" == https://* ]] && ok "the CLI over HTTPS with a self-signed certificate" || bad "https: $RC $ERR"
run create-environment --environment-name viatls
sql "SELECT source FROM audit_events ORDER BY seq DESC LIMIT 1" | grep -qx "api+tls" &&
  ok "the audit log records the TLS transport" || bad "audit transport: $(sql "SELECT action, source FROM audit_events ORDER BY seq DESC LIMIT 2")"

echo "server e2e: $PASSED passed, $FAILED failed"
[ "$FAILED" = 0 ]
