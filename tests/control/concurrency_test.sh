#!/usr/bin/env bash
# Several operations on one workspace at once: a second backup is queued behind the first,
# a backup can be deleted while another backup of the same workspace runs, and running or
# queued backups can be cancelled (the workspace is resumed).
source "$(dirname "$0")/lib.sh" "$@"

# While this file exists a backup waits at the start of its first pass (a test seam of the backup
# workflow; it honours cancellation), so the cancel below lands while the backup runs however
# loaded the machine is. Exported before the first command so that a server started by it (server
# mode, tests/server/two_modes.sh) sees it too.
export MLVAULT_TEST_HOLD_FILE="$MLVAULT_HOME/hold-first-pass"
"$MLVAULT" create-environment --environment-name dev >/dev/null
grant_backup_entitlement
WS=$(create_workspace dev ws1)
seed "$WS"
PROJECTS=$(ws_field "$WS" 'volumes[0].path')
PROJECT=$(api "$WS" GET /api/v1/projects | jq -r '.projects[0].id')
# Large, fresh data makes a backup take a few seconds: long enough to act while it runs.
big_change() { head -c "${2:-200}M" /dev/urandom > "$PROJECTS/$PROJECT/data/$1.bin"; }
phase_of() { "$MLVAULT" describe-workflow --workflow-id "$1" | jq -r .workflow.progress.phase; }
running_in_prepass() { [ "$(backup_status "$1")" = running ] && phase_of "$2" | grep -q prepass; }

echo "-- a second backup of a busy workspace is queued"
big_change a
expect 0 "first backup accepted" backup-workspace --workspace-crn "$WS" --backup-name one
B1=$(j .backupCrn)
expect 0 "second backup accepted" backup-workspace --workspace-crn "$WS" --backup-name two
B2=$(j .backupCrn)
check "the second is queued, not refused" test "$(j .backupStatus)" = queued
check "the first succeeds" wait_for 120 backup_is "$B1" succeeded
check "then the second" wait_for 120 backup_is "$B2" succeeded
END1=$("$MLVAULT" describe-workspace-backup --backup-crn "$B1" | jq -r .backup.finishedAt)
START2=$("$MLVAULT" describe-workspace-backup --backup-crn "$B2" | jq -r .backup.startedAt)
check "the second started after the first ended ($START2 >= $END1)" test "$START2" \> "$END1" -o "$START2" = "$END1"

echo "-- delete a backup while another backup of the workspace runs"
big_change b
# Held at the start of its first pass (see above) until the delete is done: on an idle machine
# the first pass over the change can end before a poll sees it.
touch "$MLVAULT_TEST_HOLD_FILE"
expect 0 "third backup accepted" backup-workspace --workspace-crn "$WS" --backup-name three
B3=$(j .backupCrn)
W3=$(j .workflowId)
check "it is running its first pass" wait_for 60 running_in_prepass "$B3" "$W3"
expect 0 "delete-backup of the first backup during it" delete-backup --backup-crn "$B1" --wait
check "the first backup is deleted" test "$(backup_status "$B1")" = deleted
rm -f "$MLVAULT_TEST_HOLD_FILE"
check "the running backup still succeeds" wait_for 120 backup_is "$B3" succeeded
expect 0 "it verifies with every byte" verify-backup --backup-crn "$B3" --read-data
check "ok" test "$(j .ok)" = true
expect 0 "and so does the second" verify-backup --backup-crn "$B2" --read-data
check "ok" test "$(j .ok)" = true
expect 0 "delete-backup without --wait answers at once" delete-backup --backup-crn "$B2"
check "it answers a workflowId" has_keys . workflowId
DW=$(j .workflowId)
check "the deletion finishes in the background" wait_for 60 backup_is "$B2" deleted
expect 0 "describe-workflow of the deletion" describe-workflow --workflow-id "$DW"
check "a succeeded delete_backup workflow" test "$(j '.workflow | .kind + " " + .status')" = "delete_backup succeeded"

echo "-- a backup being restored cannot be deleted meanwhile"
restore_input "$B3" copy > "$MLVAULT_HOME/in.json"
expect 0 "restore accepted" restore-workspace --cli-input-json "file://$MLVAULT_HOME/in.json"
RW=$(j .workflowId)
expect 5 "delete-backup of the backup being restored" delete-backup --backup-crn "$B3"
check "the error names the restore" err_has "is being restored into workspace"
check "the restore succeeds" wait_for 60 workflow_terminal "$RW"
check "succeeded" test "$("$MLVAULT" describe-workflow --workflow-id "$RW" | jq -r .workflow.status)" = succeeded

echo "-- cancel"
big_change c 250
touch "$MLVAULT_TEST_HOLD_FILE"
expect 0 "fourth backup accepted" backup-workspace --workspace-crn "$WS" --backup-name four
B4=$(j .backupCrn)
W4=$(j .workflowId)
expect 0 "fifth backup accepted (queued)" backup-workspace --workspace-crn "$WS" --backup-name five
B5=$(j .backupCrn)
expect 0 "cancel-backup of the queued one" cancel-backup --backup-crn "$B5"
check "it is cancelled at once" test "$(j .backupStatus)" = cancelled
check "cancel-backup answers backupCrn, workflowId, backupStatus" has_keys . backupCrn workflowId backupStatus
check "the running one is in its first pass" wait_for 60 running_in_prepass "$B4" "$W4"
expect 0 "cancel-backup of the running one" cancel-backup --backup-crn "$B4"
check "it ends cancelled" wait_for 30 backup_is "$B4" cancelled
rm -f "$MLVAULT_TEST_HOLD_FILE"
expect 0 "describe the cancelled backup" describe-workspace-backup --backup-crn "$B4"
check "the error says who cancelled it" grep -q "cancelled by" <<<"$(j .backup.error.message)"
check "it has no recovery points" test "$(j '.backup.recoveryPoints | length')" = 0
check "the workspace is not left quiesced" test "$(health "$WS" | jq -r .quiesced)" = false
expect 5 "a cancelled backup cannot be cancelled again" cancel-backup --backup-crn "$B4"
expect 0 "the name of a cancelled backup stays taken" list-workspace-backups --workspace-crn "$WS" --include-deleted
check "statuses: cancelled, cancelled, succeeded, deleted, deleted" \
  test "$(j '[.backups[].backupStatus] | join(",")')" = "cancelled,cancelled,succeeded,deleted,deleted"

echo "-- parallel commands on one catalog"
pids=()
for i in 1 2 3 4 5 6; do
  "$MLVAULT" backup-workspace --workspace-crn "$WS" --backup-name "par-$i" >"$MLVAULT_HOME/par-$i.out" 2>&1 &
  pids+=($!)
done
ok=0
for p in "${pids[@]}"; do wait "$p" && ok=$((ok + 1)); done
check "six concurrent backup-workspace commands are all accepted" test "$ok" = 6
check "each got its own backup" test "$(cat "$MLVAULT_HOME"/par-*.out | jq -r .backupCrn | sort -u | wc -l)" = 6
check "all six succeed, one after the other" wait_for 120 bash -c \
  "[ \"\$('$MLVAULT' list-workspace-backups --workspace-crn '$WS' | jq '[.backups[] | select(.backupName | startswith(\"par-\")) | .backupStatus] | map(select(. == \"succeeded\")) | length')\" = 6 ]"
