#!/usr/bin/env bash
# The API's read path under load: signed listWorkspaceBackups against `mlvault server` on a
# catalog of 1,000 workspaces x 10 backups, 64 connections on loopback, with wrk.
#   bench/api.sh [BUILD_DIR]        (DURATION=15 CONNECTIONS=64 THREADS=2 WORKERS=16)
#
# Signing: Ed25519 over a canonical request with a fresh nonce, so wrk's Lua cannot sign and a
# request cannot be reused. Requests are pre-signed (bench/api_presign.py, one nonce each,
# dated at the start, sent within the 5-minute window) and each is sent exactly once: the server
# runs its production verifier and replay cache for every request; there is no bench-only mode.
# The catalog rows are inserted with SQL (real workspaces and backups would take hours here); the
# operation reads them as it reads real ones. Prints requests/s and p50/p99.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
MLVAULT=$PWD/$BUILD/src/cli/mlvault
DURATION=${DURATION:-15}
CONNECTIONS=${CONNECTIONS:-64}
THREADS=${THREADS:-2}
WORKERS=${WORKERS:-16}
REQUESTS=${REQUESTS:-240000}
for t in wrk sqlite3 python3; do command -v $t >/dev/null || { echo "bench/api.sh needs $t" >&2; exit 1; }; done
[ -x "$MLVAULT" ] || { echo "build mlvault first: $MLVAULT" >&2; exit 1; }

WORK=$(mktemp -d /tmp/mlvault-api-bench.XXXXXX)
chmod 711 "$WORK"  # as root, workspaces run as users of their own that must reach $WORK/storage
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
export MLVAULT_HOME=$WORK/home
unset MLVAULT_ACCESS_KEY_ID MLVAULT_PRIVATE_KEY MLVAULT_ENDPOINT
"$MLVAULT" init >/dev/null
"$MLVAULT" grant-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE >/dev/null
"$MLVAULT" create-environment --environment-name bench --storage-root "$WORK/storage" >/dev/null
KEY_ID=$(sed -n 's/^access_key_id = //p' "$MLVAULT_HOME/credentials" | head -1)
PRIVATE=$(sed -n 's/^private_key = //p' "$MLVAULT_HOME/credentials" | head -1)

echo "seeding 1000 workspaces x 10 backups ..."
sqlite3 "$MLVAULT_HOME/catalog.db" <<'SQL'
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000),
env AS (SELECT id, account_id, name, region FROM environments LIMIT 1)
INSERT INTO workspaces (id, account_id, crn, name, environment_id, status, version, domain,
  endpoint, parameters, api_key, control_key, created_by, created_at, updated_at)
SELECT printf('%08x-0000-4000-8000-%012x', i, i), env.account_id,
  'crn:mlvault:ml:' || env.region || ':' || env.account_id || ':workspace:' || printf('%08x-0000-4000-8000-%012x', i, i),
  'ws' || i, env.id, 'stopped', '1.4.0', 'ws' || i || '.bench', '', '{}', 'k', 'k', 'bench',
  1769397730000000, 1769397730000000
FROM n, env;
WITH RECURSIVE m(j) AS (SELECT 1 UNION ALL SELECT j + 1 FROM m WHERE j < 10)
INSERT INTO backups (id, account_id, crn, name, workspace_id, workspace_crn, workspace_name,
  environment_id, environment_name, vault_name, status, creator_crn, workspace_version,
  workflow_id, created_at, started_at, finished_at, quiesced_micros, bytes_total, files_total,
  bytes_stored)
SELECT printf('%08x-0000-4000-9000-%012x', w.rowid, j), w.account_id,
  replace(w.crn, ':workspace:' || w.id, ':workspace_backup:' || printf('%08x-0000-4000-9000-%012x', w.rowid, j)),
  'nightly-' || j, w.id, w.crn, w.name,
  w.environment_id, 'bench', 'vault-' || w.name, 'succeeded', 'crn:bench', '1.4.0',
  printf('%08x-0000-4000-a000-%012x', w.rowid, j), 1769397730000000 + j, 1769397730000000 + j,
  1769397731000000 + j, 150000, 1073741824, 5000, 1048576
FROM workspaces w, m WHERE w.created_by = 'bench';
SQL
sqlite3 "$MLVAULT_HOME/catalog.db" "SELECT crn FROM workspaces WHERE created_by = 'bench'" > "$WORK/crns"
echo "workspaces: $(wc -l < "$WORK/crns"), backups: $(sqlite3 "$MLVAULT_HOME/catalog.db" 'SELECT COUNT(*) FROM backups')"

PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$MLVAULT" server --listen "127.0.0.1:$PORT" --workers "$WORKERS" --rate-limit 0 \
  > "$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.1; done

echo "pre-signing $REQUESTS requests ..."
python3 bench/api_presign.py "$KEY_ID" "$PRIVATE" "$WORK/crns" "$REQUESTS" "$WORK/reqs" "$THREADS"
# One request by hand: the answer must be the 10 backups.
python3 - "$WORK/reqs.0" "$PORT" <<'PY'
import sys, urllib.request, json
date, nonce, auth, body = open(sys.argv[1]).readline().rstrip("\n").split("\t")
req = urllib.request.Request(f"http://127.0.0.1:{sys.argv[2]}/api/v1/ml/listWorkspaceBackups",
    data=body.encode(), headers={"Content-Type": "application/json", "X-Mlvault-Date": date,
    "X-Mlvault-Nonce": "0" * 32, "Authorization": auth})
try:
    urllib.request.urlopen(req)
    sys.exit("a request with a changed nonce was accepted")
except urllib.error.HTTPError as e:
    assert e.code == 401, e.code
PY

echo "wrk: $CONNECTIONS connections, $THREADS threads, ${DURATION}s"
REQS_PREFIX=$WORK/reqs wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
  -s bench/api.lua "http://127.0.0.1:$PORT" | tee "$WORK/wrk.out"
curl -s "http://127.0.0.1:$PORT/metrics" | grep 'mlvault_http_requests_total{operation="ml/listWorkspaceBackups"' || true
RPS=$(awk '/^Requests\/sec/ {print $2}' "$WORK/wrk.out")
P50=$(awk '$1 == "50%" {print $2}' "$WORK/wrk.out")
P99=$(awk '$1 == "99%" {print $2}' "$WORK/wrk.out")
ERR=$(sed -n 's/^non2xx_or_errors=//p' "$WORK/wrk.out")
echo "RESULT requests/s=$RPS p50=$P50 p99=$P99 non-2xx/errors=$ERR"
