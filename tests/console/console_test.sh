#!/usr/bin/env bash
# The web console end to end: real workspaces, a real `mlvault server` on 127.0.0.1 serving the
# built console, and console_e2e.py driving a headless Chromium through it. Screenshots land in
# <screenshots dir>. Everything started here is stopped by pid (lib.sh's cleanup + the server).
#   console_test.sh <mlvault> <mlvault-workspace> <console dist dir> <screenshots dir>
DIST=$(readlink -f "$3")
SHOTS=$(readlink -m "$4")
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../control/lib.sh" "$1" "$2"
export MLVAULT_LOG=${MLVAULT_LOG:-warn}
SERVER_PID=""
stop_server() {
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
  SERVER_PID=""
}
trap 'stop_server; cleanup' EXIT

[ -f "$DIST/index.html" ] && [ -f "$DIST/app.js" ] || { fail "the console bundle is in $DIST (build the console target)"; exit 1; }
[ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ] || { fail "chromium and chromium-driver are installed (scripts/install-deps.sh)"; exit 1; }

echo "-- real workspaces"
expect 0 "init" init
ADMIN_KEY_ID=$(sed -n 's/^access_key_id *= *//p' "$MLVAULT_HOME/credentials" | head -1)
ADMIN_KEY=$(sed -n 's/^private_key *= *//p' "$MLVAULT_HOME/credentials" | head -1)
check "the admin's credentials hold an Ed25519 private key" test -n "$ADMIN_KEY"
expect 0 "create-environment" create-environment --environment-name dev
grant_backup_entitlement
WS_CRN=$(create_workspace dev ws1)
check "workspace ws1 is running" test "$(ws_field "$WS_CRN" status)" = running
seed "$WS_CRN"
expect 0 "a first backup from the CLI" backup-workspace --workspace-crn "$WS_CRN" --backup-name seed-1 --wait
SEED_BACKUP_CRN=$(j .backupCrn)

echo "-- a workspace with a history of 1,000 backups (catalog rows copied from seed-1)"
MANY_CRN=$(create_workspace dev many)
sql "$(bash "$HERE/many_backups.sql.sh" "${SEED_BACKUP_CRN##*:}" "${MANY_CRN##*:}" "$MANY_CRN" 1000)"
expect 0 "list-workspace-backups of many" list-workspace-backups --workspace-crn "$MANY_CRN"
check "it lists 1000 backups" test "$(j '.backups | length')" = 1000

echo "-- a read-only user"
cat > "$MLVAULT_HOME/readonly.json" <<'JSON'
{"Version": "2012-10-17",
 "Statement": [{"Sid": "ReadOnly", "Effect": "Allow",
                "Action": ["ml:List*", "ml:Describe*", "iam:SimulatePrincipalPolicy"], "Resource": "*"}]}
JSON
expect 0 "create-user viewer" create-user --user-name viewer
expect 0 "create-policy readonly" create-policy --policy-name readonly --policy-document "file://$MLVAULT_HOME/readonly.json"
expect 0 "attach-policy" attach-policy --user-name viewer --policy-name readonly
expect 0 "create-access-key for viewer" create-access-key --user-name viewer
VIEWER_KEY_ID=$(j .accessKey.accessKeyId)
VIEWER_KEY=$(j .accessKey.privateKey)

echo "-- mlvault server"
PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$MLVAULT" server --listen "127.0.0.1:$PORT" --console-dir "$DIST" >"$MLVAULT_HOME/server.log" 2>&1 &
SERVER_PID=$!
check "the server answers /healthz" wait_for 30 curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"
CSP=$(curl -sI "http://127.0.0.1:$PORT/" | tr -d '\r' | sed -n 's/^content-security-policy: *//Ip')
check "the console is served with the agreed Content-Security-Policy" grep -q "script-src 'self'" <<<"$CSP"

echo "-- the browser"
rm -rf "$SHOTS"
BASE_URL="http://127.0.0.1:$PORT" SHOTS="$SHOTS" WS=ws1 WS_CRN="$WS_CRN" SEED_BACKUP_CRN="$SEED_BACKUP_CRN" MANY_CRN="$MANY_CRN" \
  ADMIN_KEY_ID="$ADMIN_KEY_ID" ADMIN_KEY="$ADMIN_KEY" VIEWER_KEY_ID="$VIEWER_KEY_ID" VIEWER_KEY="$VIEWER_KEY" \
  timeout 600 /usr/bin/python3 "$HERE/console_e2e.py"
check "the browser scenario passed (console_e2e.py)" test $? -eq 0
grep -q . "$MLVAULT_HOME/server.log" && { echo "   server log (tail):"; tail -5 "$MLVAULT_HOME/server.log" | sed 's/^/     /'; }
stop_server
