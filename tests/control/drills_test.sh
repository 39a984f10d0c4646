#!/usr/bin/env bash
# Restore tests (drills, docs/plans.md) through the real binaries: a seeded workspace (projects,
# a deployed model, a running application) is backed up and drilled into a sandbox environment:
# every check passes, the recovery time is recorded, the throw-away workspace is gone, and the
# protection report shows the drill; a restore testing plan drills on its slot from the
# scheduler. Then a model build is broken on disk before a backup: the
# drill of that backup fails, naming the model and why. Bad requests say what to do.
source "$(dirname "$0")/lib.sh" "$@"

"$MLVAULT" create-environment --environment-name dev >/dev/null
"$MLVAULT" create-environment --environment-name drills >/dev/null
grant_backup_entitlement
WS=$(create_workspace dev ws1)
seed "$WS"
WSID=${WS##*:}

echo "-- bad requests"
expect 2 "neither a backup nor a workspace" start-restore-test --sandbox-environment-name drills
check "  ... says what to give" err_has "give either --backup-crn"
expect 3 "no backup yet" start-restore-test --workspace-crn "$WS" --sandbox-environment-name drills
check "  ... says how to take one" err_has "mlvault backup-workspace --workspace-crn"
expect 0 "backup" backup-workspace --workspace-crn "$WS" --backup-name good --wait
B1=$(j .backupCrn)
expect 3 "an unknown sandbox environment" start-restore-test --backup-crn "$B1" --sandbox-environment-name nope
check "  ... says how to make it" err_has "create-environment --environment-name nope"
expect 2 "describe a malformed id" describe-restore-test --restore-test-id 42

echo "-- a drill that passes"
expect 0 "start-restore-test of the newest backup" start-restore-test --workspace-crn "$WS" --sandbox-environment-name drills
T1=$(j .restoreTest.restoreTestId)
check "it tested the newest backup" test "$(j .restoreTest.backupCrn)" = "$B1"
check "succeeded" test "$(j .restoreTest.status)" = succeeded
check "every check ok: restore runtime entities applications models files" \
  test "$(j '[.restoreTest.checks[] | select(.ok) | .check] | join(" ")')" = "restore runtime entities applications models files"
check "an application and a model were checked" \
  test "$(j '.restoreTest.checks[] | select(.check == "applications") | .detail' | cut -c1-1)$(j '.restoreTest.checks[] | select(.check == "models") | .detail' | cut -c1-1)" != "00"
check "files were compared" test "$(j '.restoreTest.checks[] | select(.check == "files") | .detail' | grep -c 'every SHA-256 matches')" = 1
check "a recovery time was measured" test "$(j '.restoreTest.recoveryTimeSeconds > 0')" = true
check "the recovery point's age" test "$(j '.restoreTest.recoveryPointAgeSeconds >= 0')" = true
check "the sandbox workspace was deleted" test "$(j .restoreTest.sandboxDeleted)" = true
SANDBOX=$(j .restoreTest.sandboxWorkspaceCrn)
check "  ... and is gone" test "$("$MLVAULT" list-workspaces --environment-name drills | jq '.workspaces | length')" = 0
check "  ... its runtime stopped" test "$(sql "SELECT status FROM workspaces WHERE crn = '$SANDBOX'")" = deleted
check "the source workspace still runs" test "$(ws_field "$WS" status)" = running
expect 0 "describe-restore-test" describe-restore-test --restore-test-id "$T1"
check "the same report" test "$(j .restoreTest.status)" = succeeded
expect 0 "get-protection-report" get-protection-report
check "it shows the last drill" test "$(j ".workspaces[] | select(.workspaceCrn == \"$WS\") | .lastDrillResult + \" \" + .lastDrillTestId")" = "succeeded $T1"
expect 0 "audit: the drill's restore and delete are ordinary audited calls" list-audit-events
check "  ... restore, delete-workspace and the drill" test "$(j '[.auditEvents[] | select(.action == "ml:RestoreWorkspace" or .action == "ml:DeleteWorkspace" or .action == "ml:StartRestoreTest")] | length >= 4')" = true

echo "-- a restore testing plan"
expect 2 "a plan with an unknown sandbox environment" create-restore-testing-plan --plan-name drill \
  --schedule "rate(1 hour)" --selection "$WS" --sandbox-environment-name nope
check "  ... says how to make it" err_has "create-environment --environment-name nope"
expect 0 "create-restore-testing-plan" create-restore-testing-plan --plan-name drill \
  --schedule "rate(1 hour)" --selection "$WS" --sandbox-environment-name drills
check "the plan names its sandbox" test "$(j .plan.sandboxEnvironmentName)" = drills
now=$(( $(date +%s) * 1000000 ))
sql "UPDATE backup_plans SET anchor_at = $(( now - 3660 * 1000000 )), last_slot_at = NULL WHERE name = 'drill'" >/dev/null
expect 0 "scheduler --once runs the due drill" scheduler --once
check "one run" test "$(j '.runs | length')" = 1
expect 0 "list-backup-plan-runs" list-backup-plan-runs --plan-name drill
check "the run succeeded with one drill" test "$(j '.runs[0].status') $(j '.runs[0].backups | length') $(j '.runs[0].backups[0].status')" = "succeeded 1 succeeded"
TP=$(j '.runs[0].backups[0].restoreTestId')
check "it drilled the newest backup" test "$(j '.runs[0].backups[0].backupCrn')" = "$B1"
check "no backup was taken" test "$("$MLVAULT" list-workspace-backups --workspace-crn "$WS" | jq '.backups | length')" = 1
expect 0 "describe-restore-test of the plan's drill" describe-restore-test --restore-test-id "$TP"
check "it names the plan" test "$(j .restoreTest.planName) $(j .restoreTest.status)" = "drill succeeded"
expect 0 "delete-backup-plan" delete-backup-plan --plan-name drill

echo "-- a drill that fails: a broken model build"
MANIFEST=$(find "$MLVAULT_HOME" -path "*$WSID*/models/*" -name manifest.json | head -1)
check "the model build is on disk" test -n "$MANIFEST"
FILE=$(dirname "$MANIFEST")/$(jq -r '.files[0].path' "$MANIFEST")
echo "# tampered" >>"$FILE"
expect 0 "backup of the broken build" backup-workspace --workspace-crn "$WS" --backup-name broken --wait
B2=$(j .backupCrn)
expect 0 "start-restore-test (a failed drill is an answer)" start-restore-test --backup-crn "$B2" --sandbox-environment-name drills
T2=$(j .restoreTest.restoreTestId)
check "failed" test "$(j .restoreTest.status)" = failed
check "the models check failed" test "$(j '.restoreTest.checks[] | select(.check == "models") | .ok')" = false
check "the cause names the model and the deployment's failure" test "$(j .restoreTest.error | grep -c '^models: model churn: deployment .* is failed')" = 1
check "no recovery time for a failed drill" test "$(j .restoreTest.recoveryTimeSeconds)" = null
check "the sandbox was deleted anyway" test "$(j .restoreTest.sandboxDeleted)" = true
expect 0 "get-protection-report" get-protection-report
check "it shows the failed drill" test "$(j ".workspaces[] | select(.workspaceCrn == \"$WS\") | .lastDrillResult + \" \" + .lastDrillTestId")" = "failed $T2"

echo "-- listing"
expect 0 "list-restore-tests" list-restore-tests --workspace-crn "$WS"
check "three, newest first" test "$(j '[.restoreTests[].restoreTestId] | join(" ")')" = "$T2 $TP $T1"
expect 0 "list-restore-tests one page" list-restore-tests --max-items 1
check "one, and a token" test "$(j '.restoreTests | length') $(j '.nextToken != null')" = "1 true"
expect 0 "the next page" list-restore-tests --max-items 1 --starting-token "$(j .nextToken)"
check "the next older one" test "$(j '.restoreTests[0].restoreTestId')" = "$TP"
