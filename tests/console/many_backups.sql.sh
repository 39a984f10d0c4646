#!/usr/bin/env bash
# Prints SQL that gives workspace <many id> <count> catalog rows of backups, copies of backup
# <seed id> (same sizes and recovery points, names b-0001..), one minute apart going back in time: a catalog with a
# long backup history for the console's 1,000-backup page, without running 1,000 backups.
#   many_backups.sql.sh <seed backup id> <many workspace id> <many workspace crn> <count>
SEED=$1 MANY=$2 MANY_CRN=$3 COUNT=$4
cat <<SQL
CREATE TEMP TABLE n AS WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < $COUNT) SELECT i FROM c;
INSERT INTO backups (id, account_id, crn, name, workspace_id, workspace_crn, workspace_name, environment_id,
  environment_name, vault_name, status, creator_crn, workspace_version, workflow_id, timeout_minutes, created_at,
  started_at, finished_at, quiesced_micros, bytes_total, files_total, bytes_stored, details, warnings, error)
SELECT printf('%08x-0000-4000-8000-%012x', n.i, n.i), account_id,
  replace(crn, '$SEED', printf('%08x-0000-4000-8000-%012x', n.i, n.i)), printf('b-%04d', n.i),
  '$MANY', '$MANY_CRN', 'many', environment_id, environment_name, 'mlv-$MANY', status, creator_crn,
  workspace_version, workflow_id, timeout_minutes, created_at - n.i * 60000000, started_at - n.i * 60000000,
  finished_at - n.i * 60000000, quiesced_micros, bytes_total, files_total, bytes_stored, details, warnings, error
FROM backups, n WHERE backups.id = '$SEED';
INSERT INTO recovery_points (backup_id, volume, kind, vault_point_id, source_path, bytes_total, files, dirs,
  bytes_read, bytes_new, bytes_stored, files_unchanged, duration_micros, created_at)
SELECT printf('%08x-0000-4000-8000-%012x', n.i, n.i), volume, kind, vault_point_id, source_path, bytes_total,
  files, dirs, bytes_read, bytes_new, bytes_stored, files_unchanged, duration_micros, created_at - n.i * 60000000
FROM recovery_points, n WHERE recovery_points.backup_id = '$SEED';
SQL
