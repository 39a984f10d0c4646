#!/usr/bin/env bash
# Backup plans through the real binaries: the plan verbs, `mlvault scheduler --once` starting the
# scheduled backups (real workers, real vaults), retention expiring through a delete-backup
# workflow that names its rule, legal holds and a compliance vault lock refusing deletes.
# Slots are made due by moving the plan's anchor back in the catalog (no waiting for the clock).
source "$(dirname "$0")/lib.sh" "$@"

"$MLVAULT" create-environment --environment-name dev >/dev/null
grant_backup_entitlement
WS=$(create_workspace dev ws1)
seed "$WS"

echo "-- plan verbs"
expect 2 "a bad schedule names its field" create-backup-plan --plan-name p --schedule "cron(0 3 * * *)" --selection "$WS"
check "  ... with the flag" err_has "--schedule: cron(...) takes 6 fields"
expect 2 "an unknown time zone" create-backup-plan --plan-name p --schedule "rate(1 day)" --time-zone Mars/Base --selection "$WS"
check "  ... named" err_has "--time-zone: unknown time zone"
expect 0 "create-backup-plan" create-backup-plan --plan-name hourly --schedule "rate(1 hour)" \
  --time-zone Europe/Berlin --selection "$WS" --keep-last 1
check "it answers the plan with its next run" test "$(j .plan.nextRunAt)" != null
expect 5 "the name is taken" create-backup-plan --plan-name hourly --schedule "rate(1 hour)" --selection "$WS"
expect 0 "list-backup-plans" list-backup-plans
check "one plan" test "$(j '.plans | length')" = 1
expect 0 "describe-backup-plan" describe-backup-plan --plan-name hourly
check "retention shown" test "$(j .plan.retention.keepLast)" = 1
expect 3 "describe an unknown plan" describe-backup-plan --plan-name nope
expect 0 "scheduler --once before any slot is due" scheduler --once
check "no run" test "$(j '.runs | length')" = 0

# due <n>: makes the plan's next slot due now (anchor n hours + 1 minute back, cursor cleared of
# later slots); the scheduler then runs the newest slot once. The slot is in whole seconds and a
# (plan, slot) runs once, so each call waits for a second later than the last call's: on an idle
# machine a scheduled backup and the checks after it can all end within one second.
DUE_LAST=0
due() {
  local s now
  s=$(date +%s)
  while (( s <= DUE_LAST )); do sleep 0.1; s=$(date +%s); done
  DUE_LAST=$s
  now=$(( s * 1000000 ))
  sql "UPDATE backup_plans SET anchor_at = $(( now - ($1 * 3600 + 60) * 1000000 )), last_slot_at = NULL WHERE name = 'hourly'" >/dev/null
}
plan_backups_succeeded() {
  test "$("$MLVAULT" list-workspace-backups --workspace-crn "$WS" | jq '[.backups[] | select(.backupName | startswith("hourly-")) | select(.backupStatus == "succeeded")] | length')" = "$1"
}

echo "-- scheduled backups"
due 1
expect 0 "scheduler --once runs the due slot" scheduler --once
check "one run" test "$(j '.runs | length')" = 1
check "the first scheduled backup succeeds" wait_for 120 plan_backups_succeeded 1
expect 0 "scheduler --once again: the slot ran already" scheduler --once
check "no second run" test "$(j '.runs | length')" = 0
expect 0 "list-backup-plan-runs" list-backup-plan-runs --plan-name hourly
check "one run, succeeded" test "$(j '.runs | length') $(j '.runs[0].status')" = "1 succeeded"
B1=$(j '.runs[0].backups[0].backupCrn')
check "named <plan>-<UTC slot>" test "$(j '.runs[0].backups[0].backupName' | grep -cE '^hourly-[0-9]{8}T[0-9]{6}Z$')" = 1

echo "-- downtime: a missed slot runs once"
due 5
expect 0 "scheduler --once after 5 slots passed" scheduler --once
check "one run" test "$(j '.runs | length')" = 1
check "the second scheduled backup succeeds" wait_for 120 plan_backups_succeeded 2
expect 0 "list-backup-plan-runs" list-backup-plan-runs --plan-name hourly
check "it stands for the 4 missed slots" test "$(j '.runs[0].missedSlots')" = 4
B2=$(j '.runs[0].backups[0].backupCrn')

echo "-- retention and legal holds"
expect 0 "put-legal-hold on the first" put-legal-hold --backup-crn "$B1" --reason "case 17"
expect 0 "preview-retention" preview-retention --plan-name hourly
check "the held one is kept by the hold" test "$(j '.backups[] | select(.backupCrn == "'"$B1"'") | .rule')" = legal-hold
expect 5 "delete-backup of a held backup is refused" delete-backup --backup-crn "$B1"
check "  ... naming the hold" err_has "is under a legal hold (case 17)"
expect 0 "list-legal-holds" list-legal-holds
check "one hold" test "$(j '.legalHolds | length')" = 1
expect 0 "release-legal-hold" release-legal-hold --backup-crn "$B1"
expect 0 "preview-retention after the release" preview-retention --plan-name hourly
check "keep-last 1 expires the first" test "$(j '.backups[] | select(.backupCrn == "'"$B1"'") | .decision')" = expire
due 1
expect 0 "scheduler --once runs retention" scheduler --once
check "one expiry started" wait_for 120 backup_is "$B1" deleted
WF=$(sql "SELECT id FROM workflows WHERE kind = 'delete_backup' AND resource_crn = '$B1'")
expect 0 "describe-workflow of the expiry" describe-workflow --workflow-id "$WF"
check "its output names the plan and rule" test "$(j .workflow.output.expiredBy)" = "backup plan hourly, rule not-kept: not kept by keep-last 1"
expect 0 "list-audit-events" list-audit-events
check "the expiry is audited as from the scheduler" test "$(j '[.auditEvents[] | select(.action == "ml:DeleteBackup" and .source == "scheduler")] | length' )" -ge 1

echo "-- vault lock"
expect 0 "put-vault-lock compliance" put-vault-lock --workspace-crn "$WS" --mode compliance --min-retention-days 30
expect 5 "the administrator's delete is refused" delete-backup --backup-crn "$B2"
check "  ... saying so" err_has "cannot be deleted by anyone, administrators included"
expect 0 "describe-vault-lock" describe-vault-lock --workspace-crn "$WS"
check "changeable until a date" test "$(j .vaultLock.changeableUntil)" != null
expect 0 "delete-vault-lock within the changeable period" delete-vault-lock --workspace-crn "$WS"
expect 0 "update-backup-plan" update-backup-plan --plan-name hourly --keep-last 0 --keep-daily 7
check "the rule changed" test "$(j .plan.retention.keepDaily) $(j .plan.retention.keepLast)" = "7 null"
expect 0 "delete-backup-plan" delete-backup-plan --plan-name hourly
check "its backups stay" backup_is "$B2" succeeded

echo "-- roles"
TRUST=$(mktemp)
echo '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"backup.mlvault"},"Action":"sts:AssumeRole"}]}' >"$TRUST"
expect 2 "a malformed trust policy is refused, naming the place" create-role --role-name r --trust-policy-document '{"Statement":{"Effect":"Allow","Principal":{"Service":"x"},"Action":"sts:AssumeRole"}}'
check "  ... " err_has "Statement[0].Principal.Service: unknown service"
expect 0 "create-role" create-role --role-name backup-operator --trust-policy-document "file://$TRUST"
check "it trusts the backup service" test "$(j .role.trustsBackupService)" = true
expect 0 "create-role (users only)" create-role --role-name people --trust-policy-document '{"Statement":{"Effect":"Allow","Principal":{"User":"admin"},"Action":"sts:AssumeRole"}}'
expect 2 "a plan cannot act as a role that does not trust the backup service" create-backup-plan --plan-name r --schedule "rate(1 day)" --selection "$WS" --iam-role-name people
expect 0 "a plan acting as a role" create-backup-plan --plan-name r --schedule "rate(1 day)" --selection "$WS" --iam-role-name backup-operator
check "it names the role" test "$(j .plan.iamRoleCrn)" != null
expect 5 "delete-role while a plan uses it" delete-role --role-name backup-operator
expect 0 "update-backup-plan back to the owner" update-backup-plan --plan-name r --iam-role-name -
check "  ... no role" test "$(j .plan.iamRoleCrn)" = null
expect 0 "delete-role" delete-role --role-name backup-operator
expect 0 "list-roles" list-roles
check "one role left" test "$(j '.roles | length')" = 1
rm -f "$TRUST"

echo "-- list-backup-plans pages"
for p in page-a page-b page-c; do
  "$MLVAULT" create-backup-plan --plan-name $p --schedule "rate(1 day)" --selection "$WS" >/dev/null
done
expect 0 "list-backup-plans (every page)" list-backup-plans
ALL=$(j '[.plans[].planName] | join(" ")')
N=$(j '.plans | length')
check "at least the three new plans, oldest first" grep -q "page-a page-b page-c$" <<<"$ALL"
expect 0 "list-backup-plans --max-items 2" list-backup-plans --max-items 2
check "two, and a token" test "$(j '.plans | length') $(j '.nextToken != null')" = "2 true"
FIRST=$(j '[.plans[].planName] | join(" ")')
expect 0 "the next pages" list-backup-plans --starting-token "$(j .nextToken)"
check "  ... the rest, without repeats" test "$FIRST $(j '[.plans[].planName] | join(" ")')" = "$ALL"
expect 2 "a token no answer gave" list-backup-plans --starting-token nonsense --max-items 1
