#!/usr/bin/env bash
# End-to-end test of mlvault's access control, driving the real binary:
#   e2e.sh <path-to-mlvault> <path-to-mlvault-workspace> <policies-dir>
# Two users -- the administrator made on first use, and an operator allowed only
# ml:BackupWorkspace and ml:ListWorkspaceBackups on the workspaces of environment "prod" --
# running real verbs on real workspaces; the ML_ENABLE_BACKUP_RESTORE entitlement; restore
# authorised on both the backup and the target environment; a revoked (deleted) key; malformed
# policies; the audit log. Prints one line per check and a summary; exits non-zero if any check
# failed. Stops every workspace runtime and worker it caused, by pid.
set -uo pipefail

USAGE="usage: e2e.sh <mlvault> <mlvault-workspace> <policies-dir>"
MLVAULT=$(readlink -f "${1:?$USAGE}")
export MLVAULT_WORKSPACE_BIN
MLVAULT_WORKSPACE_BIN=$(readlink -f "${2:?$USAGE}")
POLICIES=$(readlink -f "${3:?$USAGE}")
export MLVAULT_HOME
MLVAULT_HOME=$(mktemp -d "${TMPDIR:-/tmp}/mlvault-iam-e2e.XXXXXX")
WORK=$(mktemp -d "${TMPDIR:-/tmp}/mlvault-iam-e2e-work.XXXXXX")
unset MLVAULT_ACCESS_KEY_ID MLVAULT_PRIVATE_KEY MLVAULT_PROFILE MLVAULT_ENDPOINT
T0=$(date +%s)

sql() { sqlite3 -cmd '.timeout 10000' "$MLVAULT_HOME/catalog.db" "$@"; }

# Stops what the test started: waits for workflows to end, deletes live workspaces (which stops
# their runtimes), then kills by pid whatever is left; removes the temporary directories.
cleanup() {
  if [ -f "$MLVAULT_HOME/catalog.db" ] && sql "SELECT 1 FROM workflows LIMIT 1" >/dev/null 2>&1; then
    local deadline=$(( $(date +%s) + 60 )) pid crn
    while [ "$(sql "SELECT COUNT(*) FROM workflows WHERE status IN ('queued','pending','running')")" != 0 ] &&
          [ "$(date +%s)" -lt "$deadline" ]; do sleep 0.2; done
    for pid in $(sql "SELECT lease_owner FROM workflows WHERE lease_owner <> ''" | cut -d/ -f2); do
      kill -9 "$pid" 2>/dev/null
    done
    unset MLVAULT_ACCESS_KEY_ID MLVAULT_PRIVATE_KEY
    for crn in $(sql "SELECT crn FROM workspaces WHERE deleted_at IS NULL"); do
      "$MLVAULT" delete-workspace --workspace-crn "$crn" >/dev/null 2>&1
    done
    for pid in $(sql "SELECT runtime_pid FROM workspaces WHERE runtime_pid > 0"); do
      grep -q mlvault-workspace "/proc/$pid/cmdline" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    done
  fi
  rm -rf "$MLVAULT_HOME" "$WORK"
}
trap cleanup EXIT

PASS=0
FAIL=0
OUT=""
ERR=""
RC=0

# run ARGS...: runs mlvault, keeping stdout in $OUT, stderr in $ERR and the exit code in $RC.
run() {
  "$MLVAULT" "$@" >"$WORK/out" 2>"$WORK/err"
  RC=$?
  OUT=$(cat "$WORK/out")
  ERR=$(cat "$WORK/err")
}

ok() {
  PASS=$((PASS + 1))
  echo "  ok   $1"
}
bad() {
  FAIL=$((FAIL + 1))
  echo "  FAIL $1"
  echo "       exit=$RC stdout=$(echo "$OUT" | head -c 600)"
  echo "       stderr=$(echo "$ERR" | head -c 600)"
}

# expect_rc CODE DESCRIPTION
expect_rc() {
  if [ "$RC" -eq "$1" ]; then ok "$2 (exit $1)"; else bad "$2: expected exit $1"; fi
}
# expect_jq FILTER DESCRIPTION: the jq filter must print true on $OUT.
expect_jq() {
  if [ "$(echo "$OUT" | jq -r "$1" 2>/dev/null)" = "true" ]; then ok "$2"; else bad "$2 [jq: $1]"; fi
}
# expect_err TEXT DESCRIPTION: stderr must contain TEXT.
expect_err() {
  if [[ "$ERR" == *"$1"* ]]; then ok "$2"; else bad "$2 [stderr lacks: $1]"; fi
}

echo "== first use: account, administrator, credentials"
run init
expect_rc 0 "init creates the account"
expect_jq '.created == true and .administrator.userName == "admin"' "init reports the new administrator"
ACCOUNT=$(echo "$OUT" | jq -r .account.accountId)
ADMIN_CRN=$(echo "$OUT" | jq -r .administrator.userCrn)
MODE=$(stat -c %a "$MLVAULT_HOME/credentials")
if [ "$MODE" = "600" ]; then ok "credentials file has mode 0600"; else bad "credentials file mode is $MODE"; fi
run init
expect_jq '.created == false and .caller.userCrn == "'"$ADMIN_CRN"'"' "a second init changes nothing"
run get-caller-identity
expect_jq '.userName == "admin" and .accountId == "'"$ACCOUNT"'"' "the CLI runs as the administrator"
run list-policies
expect_jq '.policies | length == 1 and .[0].policyName == "AdministratorAccess" and .[0].attachedTo == ["admin"]' \
  "the administrator holds AdministratorAccess as an ordinary policy"

echo "== entitlement: new accounts do not hold ML_ENABLE_BACKUP_RESTORE"
run list-entitlements
expect_jq '.entitlements[0].entitlementName == "ML_ENABLE_BACKUP_RESTORE" and .entitlements[0].granted == false' \
  "a new account does not hold the entitlement"
WS="crn:mlvault:ml:us-west-1:$ACCOUNT:workspace:11111111-1111-4111-8111-111111111111"
run simulate-policy --action-name ml:BackupWorkspace --resource-crn "$WS"
expect_jq '.evaluationResults[0].decision == "allowed" and .evaluationResults[0].allowed == false and
           .evaluationResults[0].entitlementHeld == false' "simulate: policies allow the admin, the entitlement is missing"
expect_jq '.evaluationResults[0].explanation | contains("grant-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE")' \
  "simulate says how to grant it"

echo "== the operator: a second user with a narrow policy"
run create-user --user-name ops
expect_rc 0 "create-user ops"
OPS_CRN=$(echo "$OUT" | jq -r .user.userCrn)
run create-user --user-name ops
expect_rc 5 "a duplicate user is a conflict"
run create-user --user-name "bad name"
expect_rc 2 "a bad user name is bad input"
run create-policy --policy-name operator --policy-document "file://$POLICIES/operator.json" --description "prod backups"
expect_rc 0 "create-policy operator"
expect_jq '.policy.policyName == "operator" and (.warnings | length) == 0' "the operator policy has no warnings"
run attach-policy --user-name ops --policy-name operator
expect_jq '.user.attachedPolicies == ["operator"]' "attach-policy operator to ops"
run create-access-key --user-name ops --save-profile ops
expect_rc 0 "create-access-key for ops, saved as profile ops"
OPS_KEY=$(echo "$OUT" | jq -r .accessKey.accessKeyId)
OPS_SECRET=$(echo "$OUT" | jq -r .accessKey.privateKey)
if [ ${#OPS_SECRET} -eq 44 ]; then ok "the private key is shown once, base64 of 32 bytes"; else bad "private key: '$OPS_SECRET'"; fi
if sqlite3 "$MLVAULT_HOME/catalog.db" "SELECT secret_verifier FROM iam_access_keys" | grep -q "$OPS_SECRET"; then
  bad "the secret is stored in the catalog"
else
  ok "the catalog holds no secret, only a verifier"
fi
run list-access-keys --user-name ops
expect_jq '.accessKeys | length == 1 and (.[0] | has("privateKey") | not) and (.[0] | has("secretAccessKey") | not)' "list-access-keys shows no private key"
run --profile ops get-caller-identity
expect_jq '.userName == "ops" and .userCrn == "'"$OPS_CRN"'"' "--profile ops runs as ops"

echo "== the operator is denied everything else, and a denied call changes nothing"
run --profile ops create-user --user-name mallory
expect_rc 4 "ops: create-user is denied"
expect_err "user 'ops' ($OPS_CRN) is not allowed to perform iam:CreateUser on *" "the denial names user, action and resource"
run --profile ops attach-policy --user-name ops --policy-name AdministratorAccess
expect_rc 4 "ops: attaching AdministratorAccess to itself is denied"
expect_err "iam:AttachUserPolicy on $OPS_CRN" "the denial names iam:AttachUserPolicy on the user"
run --profile ops grant-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE
expect_rc 4 "ops: grant-entitlement is denied"
run --profile ops list-users
expect_rc 4 "ops: list-users is denied"
run --profile ops create-access-key --user-name admin
expect_rc 4 "ops: creating a key for admin is denied"
run --profile ops list-audit-events
expect_rc 4 "ops: list-audit-events is denied"
run --output json --profile ops delete-policy --policy-name operator
expect_rc 4 "ops: delete-policy is denied"
expect_err '"code":"permission-denied"' "--output json puts a JSON error on stderr"
run list-users
expect_jq '.users | length == 2' "no user was created by the denied calls"
expect_jq '.users[] | select(.userName == "ops") | .attachedPolicies == ["operator"]' "ops still has only the operator policy"
run list-entitlements
expect_jq '.entitlements[0].granted == false' "the entitlement was not granted by the denied call"

echo "== simulate-policy explains the operator's backup rights"
run simulate-policy --user-name ops --action-name ml:BackupWorkspace --action-name ml:ListWorkspaceBackups \
  --action-name ml:DeleteBackup --action-name ml:RestoreWorkspace --resource-crn "$WS" --context ml:EnvironmentName=prod
expect_jq '[.evaluationResults[].decision] == ["allowed","allowed","implicitDeny","implicitDeny"]' \
  "prod: backup and list allowed, delete and restore not"
expect_jq '.evaluationResults[0].decidingStatement.sid == "BackupProdWorkspaces" and
           .evaluationResults[0].decidingStatement.policyName == "operator"' "the deciding statement is named"
run simulate-policy --user-name ops --action-name ml:BackupWorkspace --resource-crn "$WS" --context ml:EnvironmentName=dev
expect_jq '.evaluationResults[0].decision == "implicitDeny"' "dev: backup is not allowed"
run simulate-policy --user-name ops --action-name iam:CreateUser
expect_jq '.evaluationResults[0].decision == "implicitDeny" and (.evaluationResults[0] | has("requiredEntitlement") | not)' \
  "iam verbs need no entitlement"
run create-policy --policy-name deny-deletes --policy-document "file://$POLICIES/deny-deletes.json"
run simulate-policy --policy-document "file://$POLICIES/operator.json" --policy-document "file://$POLICIES/deny-deletes.json" \
  --action-name ml:DeleteBackup --action-name ml:BackupWorkspace --resource-crn "$WS" --context ml:EnvironmentName=prod
expect_jq '.evaluationResults[0].decision == "explicitDeny" and .evaluationResults[0].decidingStatement.sid == "NoDeletes"' \
  "simulate of documents: an explicit deny is named"
run simulate-policy --user-name ops --action-name BackupWorkspace
expect_rc 2 "simulate: an action without a service prefix is bad input"

echo "== real verbs without the entitlement"
run create-environment --environment-name prod
expect_rc 0 "admin: create-environment prod"
PROD_ENV=$(echo "$OUT" | jq -r .environment.crn)
run create-environment --environment-name dev
expect_rc 0 "admin: create-environment dev"
DEV_ENV=$(echo "$OUT" | jq -r .environment.crn)
run create-workspace --environment-name prod --workspace-name analytics --wait
expect_rc 0 "admin: create-workspace analytics in prod"
WS_PROD=$(echo "$OUT" | jq -r .workspaceCrn)
run create-workspace --environment-name dev --workspace-name scratch --wait
expect_rc 0 "admin: create-workspace scratch in dev"
WS_DEV=$(echo "$OUT" | jq -r .workspaceCrn)
run backup-workspace --workspace-crn "$WS_PROD" --backup-name nightly-0
expect_rc 4 "admin: backup-workspace without the entitlement is denied"
expect_err "does not have the entitlement ML_ENABLE_BACKUP_RESTORE, which ml:BackupWorkspace requires; an administrator grants it with: mlvault grant-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE" \
  "the error names the missing entitlement and how to grant it"
run list-workspace-backups --workspace-crn "$WS_PROD"
expect_rc 4 "admin: list-workspace-backups without the entitlement is denied"
run --profile ops backup-workspace --workspace-crn "$WS_PROD" --backup-name nightly-0
expect_rc 4 "ops: backup-workspace without the entitlement is denied"
expect_err "ML_ENABLE_BACKUP_RESTORE" "the operator is told about the entitlement too"
run list-workspaces
expect_jq '.workspaces | length == 2' "verbs that need no entitlement work"

echo "== granting the entitlement"
run grant-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE
expect_jq '.entitlement.granted == true and .entitlement.grantedBy == "'"$ADMIN_CRN"'"' "grant-entitlement as admin"
run simulate-policy --user-name ops --action-name ml:BackupWorkspace --resource-crn "$WS" --context ml:EnvironmentName=prod
expect_jq '.evaluationResults[0].allowed == true' "now the operator's prod backup is allowed"
run grant-entitlement --entitlement-name ML_ENABLE_EVERYTHING
expect_rc 2 "an unknown entitlement is bad input"

echo "== the operator runs backups of prod workspaces, and nothing else"
run --profile ops backup-workspace --workspace-crn "$WS_PROD" --backup-name ops-1 --wait
expect_rc 0 "ops: backup-workspace of the prod workspace"
OPS_BACKUP=$(echo "$OUT" | jq -r .backupCrn)
run --profile ops list-workspace-backups --workspace-crn "$WS_PROD"
expect_rc 0 "ops: list-workspace-backups of the prod workspace"
expect_jq '.backups | length == 1 and .[0].backupCrn == "'"$OPS_BACKUP"'" and .[0].backupStatus == "succeeded"' \
  "the operator's backup is listed and succeeded"
expect_jq '.backups[0].creatorCrn == "'"$OPS_CRN"'"' "creatorCrn of the backup is the operator"
run --profile ops backup-workspace --workspace-crn "$WS_DEV" --backup-name ops-dev
expect_rc 4 "ops: backup of the dev workspace is denied"
expect_err "user 'ops' ($OPS_CRN) is not allowed to perform ml:BackupWorkspace on $WS_DEV" "the denial names the dev workspace"
run --profile ops list-workspace-backups --workspace-crn "$WS_DEV"
expect_rc 4 "ops: list-workspace-backups of the dev workspace is denied"
run --profile ops describe-workspace-backup --backup-crn "$OPS_BACKUP"
expect_rc 4 "ops: describe-workspace-backup is denied"
expect_err "ml:DescribeWorkspaceBackup on $OPS_BACKUP" "the denial names the backup"
run --profile ops delete-backup --backup-crn "$OPS_BACKUP"
expect_rc 4 "ops: delete-backup is denied"
run --profile ops verify-backup --backup-crn "$OPS_BACKUP"
expect_rc 4 "ops: verify-backup is denied"
run --profile ops list-workspaces
expect_rc 4 "ops: list-workspaces is denied"

echo "== list verbs answer what the caller may see"
jq -n '{Version: "2012-10-17", Statement: [{Sid: "SeeProd", Effect: "Allow",
  Action: ["ml:ListWorkspaces", "ml:ListEnvironments"],
  Resource: ["crn:mlvault:ml:*:*:workspace:*", "crn:mlvault:environments:*:*:environment:*"],
  Condition: {StringEquals: {"ml:EnvironmentName": "prod"}}}]}' >"$WORK/see-prod.json"
run create-policy --policy-name see-prod --policy-document "file://$WORK/see-prod.json"
expect_rc 0 "create-policy see-prod (list what is in prod)"
run attach-policy --user-name ops --policy-name see-prod
expect_rc 0 "attach-policy see-prod to ops"
run list-audit-events --principal ops --action ml:ListWorkspaces --outcome denied
DENIED_BEFORE=$(echo "$OUT" | jq '.auditEvents | length')
run --profile ops list-workspaces
expect_rc 0 "ops: list-workspaces answers what ops may see"
expect_jq '[.workspaces[].crn] == ["'"$WS_PROD"'"]' "only the prod workspace is listed"
run --profile ops list-workspaces --environment-name prod
expect_jq '[.workspaces[].crn] == ["'"$WS_PROD"'"]' "ops: --environment-name prod lists it too"
run --profile ops list-workspaces --environment-name dev
expect_rc 4 "ops: list-workspaces of dev, where it may see nothing, is denied"
expect_err "is not allowed to perform ml:ListWorkspaces on *" "the denial names the action on *"
run --profile ops list-environments
expect_rc 0 "ops: list-environments answers what ops may see"
expect_jq '[.environments[].name] == ["prod"]' "only prod is listed"
run list-environments
expect_jq '[.environments[].name] | sort == ["dev","prod"]' "the administrator still sees both"
run list-audit-events --principal ops --action ml:ListWorkspaces --outcome denied
expect_jq ".auditEvents | length == $((DENIED_BEFORE + 1))" \
  "narrowed listings write no denials; the denied listing writes one"
run detach-policy --user-name ops --policy-name see-prod
expect_rc 0 "detach-policy see-prod from ops"
run --profile ops get-workspace-api-key --workspace-crn "$WS_PROD"
expect_rc 4 "ops: get-workspace-api-key is denied"
run --profile ops delete-workspace --workspace-crn "$WS_PROD"
expect_rc 4 "ops: delete-workspace is denied"
run --profile ops create-workspace --environment-name prod --workspace-name mine
expect_rc 4 "ops: create-workspace is denied"
"$MLVAULT" restore-workspace --generate-cli-skeleton |
  jq --arg b "$OPS_BACKUP" '.backupCrn = $b | .newWorkspaceParameters.workspaceName = "restored" |
                            .newWorkspaceParameters.environmentName = "dev"' >"$WORK/restore-dev.json"
run --profile ops restore-workspace --cli-input-json "file://$WORK/restore-dev.json"
expect_rc 4 "ops: restore-workspace is denied"
run describe-workspace-backup --backup-crn "$OPS_BACKUP"
expect_jq '.backup.backupStatus == "succeeded"' "the denied delete-backup changed nothing"
run describe-workspace --workspace-crn "$WS_PROD"
expect_jq '.workspace.status == "running"' "the denied delete-workspace changed nothing"
run list-workspaces
expect_jq '.workspaces | length == 2' "the denied create-workspace created nothing"

echo "== restore is authorised on the backup and on the target environment"
run create-user --user-name restorer
jq -n --arg dev "$DEV_ENV" '{Version: "2012-10-17", Statement: [{Sid: "RestoreIntoDev", Effect: "Allow",
  Action: "ml:RestoreWorkspace", Resource: ["crn:mlvault:ml:*:*:workspace_backup:*", $dev]}]}' >"$WORK/restorer.json"
run create-policy --policy-name restore-into-dev --policy-document "file://$WORK/restorer.json"
expect_rc 0 "create-policy restore-into-dev"
run attach-policy --user-name restorer --policy-name restore-into-dev
run create-access-key --user-name restorer --save-profile restorer
"$MLVAULT" restore-workspace --generate-cli-skeleton |
  jq --arg b "$OPS_BACKUP" '.backupCrn = $b | .newWorkspaceParameters.workspaceName = "restored" |
                            .newWorkspaceParameters.environmentName = "prod"' >"$WORK/restore-prod.json"
run --profile restorer restore-workspace --cli-input-json "file://$WORK/restore-prod.json"
expect_rc 4 "restorer: restore into prod is denied"
expect_err "ml:RestoreWorkspace on $PROD_ENV" "the denial names the prod environment, not the backup"
run --profile restorer restore-workspace --cli-input-json "file://$WORK/restore-dev.json" --wait
expect_rc 0 "restorer: restore into dev is allowed"
RESTORED=$(echo "$OUT" | jq -r .workspaceCrn)
run describe-workspace --workspace-crn "$RESTORED"
expect_jq '.workspace.isRestored == true and .workspace.environmentName == "dev"' "the restored workspace is in dev"

echo "== malformed policies are refused whole with the exact place"
run list-policies
BEFORE=$(echo "$OUT" | jq '.policies | length')
run create-policy --policy-name p1 --policy-document "file://$POLICIES/trailing-comma.json"
expect_rc 2 "trailing comma refused"
expect_err "line 7, column 22 (at Statement[0]): trailing comma after the last member of the object" "trailing comma: line, column, path"
run create-policy --policy-name p2 --policy-document "file://$POLICIES/unknown-operator.json"
expect_rc 2 "unknown operator refused"
expect_err "line 9, column 22 (at Statement[1].Condition.StringEqual): unknown condition operator \"StringEqual\" (did you mean StringEquals?)" \
  "unknown operator: place and suggestion"
run create-policy --policy-name p3 --policy-document "file://$POLICIES/bad-effect.json"
expect_rc 2 "bad effect refused"
expect_err "line 3, column 28 (at Statement.Effect): Effect must be \"Allow\" or \"Deny\"" "bad effect: place"
run create-policy --policy-name p4 --policy-document "file://$POLICIES/no-service-prefix.json"
expect_rc 2 "action without service prefix refused"
expect_err "(at Statement[0].Action[1]): action \"BackupWorkspace\" has no service prefix" "no prefix: field path"
run create-policy --policy-name p5 --policy-document "file://$POLICIES/missing-comma.json"
expect_rc 2 "JSON syntax error refused"
expect_err "line 3, column 3: missing ',' between the member \"Version\" and the next key" "syntax error: line and column"
run create-policy --policy-name p6 --policy-document "file://$POLICIES/absent.json"
expect_rc 3 "a missing document file is not found"
run list-policies
expect_jq ".policies | length == $BEFORE" "no malformed policy was stored"

echo "== not found and conflict"
run get-policy --policy-name nope
expect_rc 3 "get-policy of an unknown policy"
run detach-policy --user-name admin --policy-name AdministratorAccess
expect_rc 5 "detaching the last administrator's policy is refused"
run get-policy --policy-name operator
expect_jq '.policy.policyDocument.Statement[0].Sid == "BackupProdWorkspaces"' "get-policy returns the document"

echo "== revoked (deleted) key"
export MLVAULT_ACCESS_KEY_ID=$OPS_KEY MLVAULT_PRIVATE_KEY=$OPS_SECRET
run get-caller-identity
expect_jq '.userName == "ops"' "environment variables select ops"
unset MLVAULT_ACCESS_KEY_ID MLVAULT_PRIVATE_KEY
run delete-access-key --access-key-id "$OPS_KEY"
expect_jq '.accessKey.status == "deleted"' "admin deletes the ops key"
export MLVAULT_ACCESS_KEY_ID=$OPS_KEY MLVAULT_PRIVATE_KEY=$OPS_SECRET
run get-caller-identity
expect_rc 4 "the deleted key is refused"
expect_err "was deleted" "the refusal says the key was deleted"
unset MLVAULT_ACCESS_KEY_ID MLVAULT_PRIVATE_KEY
run --profile ops list-entitlements
expect_rc 4 "the deleted key is refused from the profile too"
run --profile ops backup-workspace --workspace-crn "$WS_PROD" --backup-name ops-2
expect_rc 4 "the deleted key can no longer back up"
expect_err "was deleted" "the backup refusal says the key was deleted"
export MLVAULT_ACCESS_KEY_ID=MLVKAAAAAAAAAAAAAAAA MLVAULT_PRIVATE_KEY=nope
run get-caller-identity
expect_rc 4 "an unknown key is refused"
unset MLVAULT_ACCESS_KEY_ID MLVAULT_PRIVATE_KEY

echo "== audit log"
run list-audit-events --principal ops --outcome denied
expect_jq '[.auditEvents[].action] | index("iam:CreateUser") != null and index("iam:GrantEntitlement") != null and
           index("iam:Authenticate") != null' "denied calls of ops are in the log"
expect_jq '.auditEvents | all(.outcome == "denied" and .principalCrn == "'"$OPS_CRN"'")' "filters by principal and outcome"
run list-audit-events --action 'iam:create*' --since 1h
expect_jq '[.auditEvents[] | select(.outcome == "succeeded") | .action] | index("iam:CreatePolicy") != null and
           index("iam:CreateUser") != null and index("iam:CreateAccessKey") != null' "mutating calls are in the log"
expect_jq '.auditEvents | any(.action == "iam:CreateUser" and .outcome == "failed" and .errorCode == "conflict")' \
  "failed mutating calls are in the log"
run list-audit-events --principal ops --action ml:BackupWorkspace
expect_jq '[.auditEvents[] | .outcome + " " + .resource] | index("succeeded '"$OPS_BACKUP"'") != null and
           index("denied '"$WS_DEV"'") != null' "the operator's backup and its denied backup are in the log"
run list-audit-events --principal restorer --action ml:RestoreWorkspace --outcome denied
expect_jq '.auditEvents | length == 1 and .[0].sourceIp == "127.0.0.1" and .[0].source == (env.MLVAULT_EXPECT_SOURCE // "cli")' \
  "the denied restore is in the log with its source"
run list-audit-events --since 2000-01-01T00:00:00Z --action iam:CreateAccount
expect_jq '.auditEvents | length == 1 and .[0].principalCrn == "'"$ADMIN_CRN"'"' "account creation is in the log"
run list-audit-events --since tomorrow
expect_rc 2 "a bad --since is bad input"
if sqlite3 "$MLVAULT_HOME/catalog.db" "DELETE FROM audit_events" 2>"$WORK/sqlerr"; then
  bad "audit events could be deleted"
else
  grep -q "append-only" "$WORK/sqlerr" && ok "the audit table refuses DELETE" || bad "DELETE failed for another reason"
fi
if sqlite3 "$MLVAULT_HOME/catalog.db" "UPDATE audit_events SET outcome = 'succeeded'" 2>"$WORK/sqlerr"; then
  bad "audit events could be changed"
else
  grep -q "append-only" "$WORK/sqlerr" && ok "the audit table refuses UPDATE" || bad "UPDATE failed for another reason"
fi

echo
echo "iam e2e: $PASS checks passed, $FAIL failed in $(( $(date +%s) - T0 ))s"
[ "$FAIL" -eq 0 ]
