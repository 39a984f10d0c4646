#!/usr/bin/env bash
# search-backups over 1,000 backups: one real backup of a seeded workspace (its inventory computed
# from its recovery points at the end of the backup), cloned in the catalog into 1,000 backups
# with their inventories (every backup holds model churn with one of 20 build numbers, and the
# seeded project files: 21 files each, 21,000 file rows), then the CLI timed end to end with
# hyperfine (process start, catalog open, authorisation, query, JSON out).
#   bench/search.sh [build dir]      (SQLite catalog; needs hyperfine, sqlite3, jq)
set -euo pipefail
BUILD=$(readlink -f "${1:-build}")
MLVAULT=$BUILD/src/cli/mlvault
export MLVAULT_WORKSPACE_BIN=$BUILD/src/runtime/mlvault-workspace
export MLVAULT_HOME=$(mktemp -d /tmp/mlvault-search-bench-XXXXXX)
COUNT=${COUNT:-1000}
cleanup() {
  for crn in $(sqlite3 "$MLVAULT_HOME/catalog.db" "SELECT crn FROM workspaces WHERE deleted_at IS NULL" 2>/dev/null); do
    "$MLVAULT" delete-workspace --workspace-crn "$crn" >/dev/null 2>&1 || true
  done
  rm -rf "$MLVAULT_HOME"
}
trap cleanup EXIT
sql() { sqlite3 -cmd '.timeout 10000' "$MLVAULT_HOME/catalog.db" "$@"; }

"$MLVAULT" create-environment --environment-name dev >/dev/null
"$MLVAULT" grant-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE >/dev/null
WS=$("$MLVAULT" create-workspace --environment-name dev --workspace-name ws1 --wait | jq -r .workspaceCrn)
EP=$("$MLVAULT" describe-workspace --workspace-crn "$WS" | jq -r .workspace.endpoint)
KEY=$("$MLVAULT" get-workspace-api-key --workspace-crn "$WS" | jq -r .apiKey)
"$MLVAULT_WORKSPACE_BIN" seed --endpoint "$EP" --api-key "$KEY" >/dev/null
SEED=$("$MLVAULT" backup-workspace --workspace-crn "$WS" --backup-name seed --wait | jq -r .backupCrn)
SEED_ID=${SEED##*:}
echo "seed backup $SEED: $(sql "SELECT COUNT(*) FROM backup_inventory_files WHERE backup_id = '$SEED_ID'") files, $(sql "SELECT COUNT(*) FROM backup_inventory_items WHERE backup_id = '$SEED_ID'") items"

ID="printf('%08x-0000-4000-8000-%012x', n.i, n.i)"
sql <<SQL
CREATE TEMP TABLE n AS WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $((COUNT - 1))) SELECT i FROM c;
BEGIN;
INSERT INTO backups (id, account_id, crn, name, workspace_id, workspace_crn, workspace_name, environment_id,
  environment_name, vault_name, status, creator_crn, workspace_version, workflow_id, timeout_minutes, created_at,
  started_at, finished_at, quiesced_micros, bytes_total, files_total, bytes_stored, details, warnings, error)
SELECT $ID, account_id, replace(crn, '$SEED_ID', $ID), printf('b-%04d', n.i), workspace_id, workspace_crn,
  workspace_name, environment_id, environment_name, vault_name, status, creator_crn, workspace_version, workflow_id,
  timeout_minutes, created_at - n.i * 60000000, started_at, finished_at, quiesced_micros, bytes_total, files_total,
  bytes_stored, details, warnings, error
FROM backups, n WHERE backups.id = '$SEED_ID';
INSERT INTO recovery_points (backup_id, volume, kind, vault_point_id, source_path, bytes_total, files, dirs,
  bytes_read, bytes_new, bytes_stored, files_unchanged, duration_micros, created_at)
SELECT $ID, volume, kind, vault_point_id, source_path, bytes_total, files, dirs, bytes_read, bytes_new,
  bytes_stored, files_unchanged, duration_micros, created_at FROM recovery_points, n WHERE backup_id = '$SEED_ID';
INSERT INTO backup_inventories (backup_id, account_id, backup_created_at, computed_at, document)
SELECT $ID, account_id, backup_created_at - n.i * 60000000, computed_at, document
FROM backup_inventories, n WHERE backup_id = '$SEED_ID';
INSERT INTO backup_inventory_items (backup_id, account_id, item_type, name, backup_created_at)
SELECT $ID, account_id, item_type,
  CASE WHEN item_type = 'build' THEN 'churn@' || (n.i % 20 + 1) ELSE name END, backup_created_at - n.i * 60000000
FROM backup_inventory_items, n WHERE backup_id = '$SEED_ID';
INSERT INTO backup_inventory_files (backup_id, account_id, path, volume, volume_path, size, content_id, backup_created_at)
SELECT $ID, account_id, path, volume, volume_path, size, content_id, backup_created_at - n.i * 60000000
FROM backup_inventory_files, n WHERE backup_id = '$SEED_ID';
COMMIT;
SQL
echo "catalog: $(sql "SELECT COUNT(*) FROM backups") backups, $(sql "SELECT COUNT(*) FROM backup_inventory_items") item rows, $(sql "SELECT COUNT(*) FROM backup_inventory_files") file rows"
echo "model:churn build:7 -> $("$MLVAULT" search-backups --query 'model:churn build:7' --max-items 1000 | jq '.backups | length') backups"
echo "--path projects/churn-prediction/data/*.csv -> $("$MLVAULT" search-backups --path 'projects/churn-prediction/data/*.csv' --max-items 1000 | jq '.backups | length') backups"
hyperfine -N --warmup 3 --runs ${RUNS:-30} \
  "$MLVAULT list-environments" \
  "$MLVAULT search-backups --query 'model:churn build:7'" \
  "$MLVAULT search-backups --path 'projects/churn-prediction/data/*.csv'" \
  "$MLVAULT search-backups --query 'model:churn build:7' --max-items 1000" \
  "$MLVAULT describe-backup-contents --backup-crn $SEED"
