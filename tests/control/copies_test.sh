#!/usr/bin/env bash
# Backup copies (copy-backup, docs/plans.md) through the real binaries: a backup is copied into
# the vault location of another environment (its own vault and key, deduplicated there), listed as
# a backup of the same workspace with the copy's location, and restored from the copy with the
# source vault gone; copies are workflows (progress, cancel, audit); a plan copies every backup it
# takes; bad requests say what to do.
source "$(dirname "$0")/lib.sh" "$@"
export MLVAULT_TEST_HOLD_FILE="$MLVAULT_HOME/hold-first-pass"

"$MLVAULT" create-environment --environment-name dev >/dev/null
"$MLVAULT" create-environment --environment-name offsite --vault-location "$MLVAULT_HOME/offsite" >/dev/null
"$MLVAULT" create-environment --environment-name second >/dev/null
grant_backup_entitlement
WS=$(create_workspace dev ws1)
seed "$WS"
WSID=${WS##*:}
SNAP1=$(snapshot "$WS")
OFFSITE_ID=$(sql "SELECT id FROM environments WHERE name = 'offsite'")
SECOND_ID=$(sql "SELECT id FROM environments WHERE name = 'second'")

expect 0 "backup" backup-workspace --workspace-crn "$WS" --backup-name one --wait
B1=$(j .backupCrn)

echo "-- bad requests"
expect 3 "copy into an unknown environment" copy-backup --backup-crn "$B1" --destination-environment-name nope
check "  ... names it" err_has 'environment "nope" does not exist'
expect 2 "copy without a destination" copy-backup --backup-crn "$B1"
expect 3 "copy of an unknown backup" copy-backup --backup-crn "${B1%:*}:00000000-0000-4000-8000-000000000000" --destination-environment-name offsite
touch "$MLVAULT_TEST_HOLD_FILE"
expect 0 "a backup held in its first pass" backup-workspace --workspace-crn "$WS" --backup-name held
BH=$(j .backupCrn)
check "  ... is running" wait_for 60 backup_is "$BH" running
expect 5 "copy of a running backup" copy-backup --backup-crn "$BH" --destination-environment-name offsite
check "  ... says only a succeeded backup" err_has "only a succeeded backup can be copied"
expect 0 "a copy queued behind the running backup" copy-backup --backup-crn "$B1" --destination-environment-name offsite --backup-name queued-copy
CQ=$(j .backupCrn)
check "  ... is queued" test "$(j .backupStatus)" = queued
expect 0 "cancel-backup of the queued copy" cancel-backup --backup-crn "$CQ"
check "  ... is cancelled" test "$(j .backupStatus)" = cancelled
expect 0 "cancel the held backup" cancel-backup --backup-crn "$BH"
rm -f "$MLVAULT_TEST_HOLD_FILE"
check "  ... it ends cancelled" wait_for 30 backup_is "$BH" cancelled
expect 5 "copy of a cancelled backup" copy-backup --backup-crn "$BH" --destination-environment-name offsite

echo "-- copy into a vault location"
expect 0 "copy-backup --wait" copy-backup --backup-crn "$B1" --destination-environment-name offsite --wait
C1=$(j .backupCrn)
check "the copy is a new backup" test -n "$C1" -a "$C1" != "$B1"
check "it succeeded" test "$(j .backupStatus)" = succeeded
check "it answers its source, vault and location" test "$(j '.sourceBackupCrn + " " + .vaultName + " " + .vaultLocation')" = "$B1 mlv-$WSID-copy-$OFFSITE_ID $MLVAULT_HOME/offsite"
check "its vault is in the environment's location" test -f "$MLVAULT_HOME/offsite/mlv-$WSID-copy-$OFFSITE_ID/config"
check "  ... keyed in the catalog, not by a key file" test "$(sql "SELECT COUNT(*) FROM vault_keys WHERE vault_name = 'mlv-$WSID-copy-$OFFSITE_ID'")" = 1
expect 0 "describe the copy" describe-workspace-backup --backup-crn "$C1"
check "it is a backup of the same workspace" test "$(j .backup.workspaceCrn)" = "$WS"
check "it names what it copies and where it is" test "$(j '.backup.copyOf + " " + .backup.copyLocation.environmentName')" = "$B1 offsite"
check "it has the source's recovery points, by volume" test "$(j '[.backup.recoveryPoints[].volume] | sort | join(",")')" = "$("$MLVAULT" describe-workspace-backup --backup-crn "$B1" | jq -r '[.backup.recoveryPoints[].volume] | sort | join(",")')"
check "  ... holding the same bytes" test "$(j .backup.sizes.bytesTotal)" = "$("$MLVAULT" describe-workspace-backup --backup-crn "$B1" | jq -r .backup.sizes.bytesTotal)"
expect 0 "list-workspace-backups" list-workspace-backups --workspace-crn "$WS"
check "the source lists its copies: the cancelled one and the copy" test "$(j ".backups[] | select(.backupCrn == \"$B1\") | [.copies[].backupStatus] | join(\",\")")" = "cancelled,succeeded"
check "  ... and where the copy is" test "$(j ".backups[] | select(.backupCrn == \"$B1\") | .copies[] | select(.backupStatus == \"succeeded\") | .backupCrn + \" \" + .environmentName + \" \" + .vaultLocation")" = "$C1 offsite $MLVAULT_HOME/offsite"
check "the copy is listed with its location" test "$(j ".backups[] | select(.backupCrn == \"$C1\") | .copyLocation.vaultName")" = "mlv-$WSID-copy-$OFFSITE_ID"
expect 0 "verify-backup of the copy (every chunk read back)" verify-backup --backup-crn "$C1" --read-data
check "  ... ok" test "$(j .ok)" = true
expect 0 "describe-backup-contents of the copy" describe-backup-contents --backup-crn "$C1"
CONTENTS='[.items[] | "\(.itemType)=\(.name)"] | sort | join(",")'
check "  ... the same items as the source" test "$(j "$CONTENTS")" = "$("$MLVAULT" describe-backup-contents --backup-crn "$B1" | jq -r "$CONTENTS")"
check "  ... a model among them" grep -q "model=churn" <<<"$(j "$CONTENTS")"

echo "-- deduplicated there"
expect 0 "a second backup" backup-workspace --workspace-crn "$WS" --backup-name two --wait
B2=$(j .backupCrn)
expect 0 "copy it too" copy-backup --backup-crn "$B2" --destination-environment-name offsite --wait
C2=$(j .backupCrn)
expect 0 "describe the second copy" describe-workspace-backup --backup-crn "$C2"
TOTAL=$(j .backup.sizes.bytesTotal)
NEW=$(j '[.backup.recoveryPoints[].bytesNew] | add')
check "the unchanged data was not stored again (new $NEW of $TOTAL bytes)" test "$NEW" -lt $(( TOTAL / 10 + 1 ))
expect 0 "copy into an environment without a vault location" copy-backup --backup-crn "$B1" --destination-environment-name second --wait
C3=$(j .backupCrn)
check "  ... a vault under the home with its own key file" test -f "$MLVAULT_HOME/keys/mlv-$WSID-copy-$SECOND_ID.key" -a -f "$MLVAULT_HOME/vaults/mlv-$WSID-copy-$SECOND_ID/config"
check "  ... a key of its own" test "$(cat "$MLVAULT_HOME/keys/mlv-$WSID-copy-$SECOND_ID.key")" != "$(cat "$MLVAULT_HOME/keys/mlv-$WSID.key")"
expect 0 "audit" list-audit-events
check "the copies are audited (start and end)" test "$(j '[.auditEvents[] | select(.action == "ml:CopyBackup")] | length >= 6')" = true

echo "-- restore from the copy, the source vault gone"
mv "$MLVAULT_HOME/vaults/mlv-$WSID" "$MLVAULT_HOME/gone-vault"
mv "$MLVAULT_HOME/keys/mlv-$WSID.key" "$MLVAULT_HOME/gone-key"
restore_input "$B1" from-source dev >"$MLVAULT_HOME/in-source.json"
mlv restore-workspace --cli-input-json "file://$MLVAULT_HOME/in-source.json" --wait
check "a restore of the source fails (exit $RC): its vault is gone" test "$RC" != 0
restore_input "$C1" from-copy dev >"$MLVAULT_HOME/in-copy.json"
expect 0 "restore-workspace from the copy" restore-workspace --cli-input-json "file://$MLVAULT_HOME/in-copy.json" --wait
R=$(j .workspaceCrn)
check "it records the copy as its source" test "$(ws_field "$R" restoredFromBackupCrn)" = "$C1"
check "it has exactly the backup's entities and files" test "$(snapshot "$R")" = "$SNAP1"
check "the deployed model serves" test "$(api "$R" GET /api/v1/deployments | jq -r '[.deployments[].status] | join(",")')" = running
restore_input "$C3" from-second dev >"$MLVAULT_HOME/in-second.json"
expect 0 "restore from the copy under the home" restore-workspace --cli-input-json "file://$MLVAULT_HOME/in-second.json" --wait
check "  ... the same entities and files" test "$(snapshot "$(j .workspaceCrn)")" = "$SNAP1"
mv "$MLVAULT_HOME/gone-vault" "$MLVAULT_HOME/vaults/mlv-$WSID"
mv "$MLVAULT_HOME/gone-key" "$MLVAULT_HOME/keys/mlv-$WSID.key"

echo "-- a plan that copies every backup"
expect 2 "a plan copying into an unknown environment" create-backup-plan --plan-name nightly \
  --schedule "rate(1 hour)" --selection "$WS" --keep-last 5 --copy-to-environment-name nope
check "  ... names it" err_has 'environment "nope" does not exist'
expect 0 "create-backup-plan --copy-to-environment-name" create-backup-plan --plan-name nightly \
  --schedule "rate(1 hour)" --selection "$WS" --keep-last 5 --copy-to-environment-name offsite
check "the plan shows it" test "$(j .plan.copyToEnvironmentName)" = offsite
now=$(( $(date +%s) * 1000000 ))
sql "UPDATE backup_plans SET anchor_at = $(( now - 3660 * 1000000 )), last_slot_at = NULL WHERE name = 'nightly'" >/dev/null
expect 0 "scheduler --once" scheduler --once
expect 0 "list-backup-plan-runs" list-backup-plan-runs --plan-name nightly
check "the run succeeded" test "$(j '.runs[0].status')" = succeeded
PB=$(j '.runs[0].backups[0].backupCrn')
PC=$(j '.runs[0].backups[0].copyBackupCrn')
check "it records the copy" test -n "$PC" -a "$PC" != null -a "$(j '.runs[0].backups[0].copyEnvironmentName')" = offsite
check "the backup succeeds" wait_for 120 backup_is "$PB" succeeded
check "the copy succeeds after it" wait_for 120 backup_is "$PC" succeeded
check "  ... a copy of the plan's backup" test "$("$MLVAULT" describe-workspace-backup --backup-crn "$PC" | jq -r .backup.copyOf)" = "$PB"
expect 0 "update-backup-plan --copy-to-environment-name -" update-backup-plan --plan-name nightly --copy-to-environment-name -
check "  ... stops copying" test "$(j .plan.copyToEnvironmentName)" = null

echo "-- deleting"
expect 0 "delete the source backup" delete-backup --backup-crn "$B1" --wait
expect 0 "the copy stays" describe-workspace-backup --backup-crn "$C1"
check "  ... succeeded" test "$(j .backup.backupStatus)" = succeeded
expect 0 "delete the copy" delete-backup --backup-crn "$C1" --wait
check "  ... deleted" backup_is "$C1" deleted
expect 0 "the other copy still restores" verify-backup --backup-crn "$C2" --read-data
check "  ... ok" test "$(j .ok)" = true

