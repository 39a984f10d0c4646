#!/usr/bin/env bash
# Every verb of SPEC.md section 2 driven like a user: JSON shapes, table output, --help examples,
# and every documented error with its exit code. Ends with a full backup -> change -> restore
# round trip checked entity by entity, into another environment, after the source was deleted.
source "$(dirname "$0")/lib.sh" "$@"
ACCT_RE='[0-9a-f-]{36}'

echo "-- help"
for verb in create-environment list-environments create-workspace list-workspaces describe-workspace \
  delete-workspace get-workspace-api-key backup-workspace list-workspace-backups describe-workspace-backup \
  delete-backup cancel-backup restore-workspace describe-workflow verify-backup worker; do
  out=$("$MLVAULT" "$verb" --help 2>&1)
  grep -q "Example:" <<<"$out" && grep -q "mlvault $verb" <<<"$out" || fail "$verb --help has an example"
done
pass "every verb's --help shows an example"

echo "-- environments"
expect 0 "create-environment dev" create-environment --environment-name dev
check "create-environment answers the environment" has_keys .environment crn name region storageRoot createdAt
check "environment CRN has the SPEC.md form" grep -Eq "^crn:mlvault:environments:us-west-1:$ACCT_RE:environment:$ACCT_RE\$" <<<"$(j .environment.crn)"
expect 0 "create-environment prod" create-environment --environment-name prod
expect 5 "duplicate environment is a conflict" create-environment --environment-name dev
expect 2 "bad environment name is bad input" create-environment --environment-name Dev_1
check "the error names the flag" err_has "--environment-name"
expect 2 "missing required flag is bad input" create-environment
expect 0 "list-environments" list-environments
check "list-environments lists both" test "$(j '[.environments[].name] | sort | join(",")')" = "dev,prod"
expect 0 "list-environments --output table" --output table list-environments
check "table has a header row, the identifying column first" grep -q "^crn  *name" <<<"$OUT"
expect 0 "global flags also after the verb" list-environments --output table

echo "-- workspaces"
expect 3 "create-workspace in a missing environment" create-workspace --environment-name nope --workspace-name ws1 --wait
check "the error names the environment" err_has 'environment "nope" does not exist'
expect 2 "create-workspace with an unknown field" create-workspace --cli-input-json \
  '{"newWorkspaceParameters": {"environmentName": "dev", "workspaceName": "x", "disableTSL": true}}'
check "the error names the field path" err_has "newWorkspaceParameters.disableTSL: unknown field"
expect 2 "create-workspace --cli-input-json of a missing file" create-workspace --cli-input-json file:///nonexistent.json
expect 0 "create-workspace --wait" create-workspace --environment-name dev --workspace-name ws1 --wait
check "create-workspace answers workspaceCrn and workflowId" has_keys . workspaceCrn workflowId
WS=$(j .workspaceCrn)
check "workspace CRN has the SPEC.md form" grep -Eq "^crn:mlvault:ml:us-west-1:$ACCT_RE:workspace:$ACCT_RE\$" <<<"$WS"
expect 5 "a second workspace of the same name is a conflict" create-workspace --environment-name dev --workspace-name ws1
printf '{"newWorkspaceParameters": {"environmentName": "dev", "workspaceName": "tagged",
  "provisionK8sRequest": {"tags": [{"key": "team", "value": "vision"}]}}}' > "$MLVAULT_HOME/create.json"
expect 0 "create-workspace --cli-input-json file://" create-workspace --cli-input-json "file://$MLVAULT_HOME/create.json" --wait
TAGGED=$(j .workspaceCrn)
expect 0 "describe-workspace" describe-workspace --workspace-crn "$WS"
check "describe-workspace has every SPEC.md key" has_keys .workspace crn name environmentName status version domain \
  endpoint isRestored restoredFromBackupCrn createdAt tags volumes backupMetadata
check "the workspace is running" test "$(j .workspace.status)" = running
check "domain is <name>-<8 hex>.<env>.mlvault.local" grep -Eq '^ws1-[0-9a-f]{8}\.dev\.mlvault\.local$' <<<"$(j .workspace.domain)"
check "endpoint is on 127.0.0.1" grep -Eq '^http://127\.0\.0\.1:[0-9]+$' <<<"$(j .workspace.endpoint)"
check "three volumes: projects, models (filesystem), metadata (block)" \
  test "$(j '[.workspace.volumes[] | .name + ":" + .kind] | join(",")')" = "projects:filesystem,models:filesystem,metadata:block"
check "isRestored false, no source backup" test "$(j '.workspace.isRestored,.workspace.restoredFromBackupCrn' | tr '\n' ' ')" = "false null "
expect 0 "describe the tagged workspace" describe-workspace --workspace-crn "$TAGGED"
check "tags are recorded" test "$(j '.workspace.tags[0].key + "=" + .workspace.tags[0].value')" = "team=vision"
expect 0 "list-workspaces" list-workspaces --environment-name dev
check "list-workspaces shows both" test "$(j '.workspaces | length')" = 2
expect 3 "list-workspaces of a missing environment" list-workspaces --environment-name nope
expect 0 "get-workspace-api-key" get-workspace-api-key --workspace-crn "$WS"
check "the API key opens the workspace API" test "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(j .apiKey)" "$(ws_field "$WS" endpoint)/api/v1/projects")" = 200
BAD_ACCT=${WS/:ml:us-west-1:/:ml:us-west-1:}
expect 3 "describe-workspace of an unknown workspace" describe-workspace --workspace-crn "${WS%:*}:00000000-0000-4000-8000-000000000000"
expect 2 "malformed CRN" describe-workspace --workspace-crn "crn:mlvault:ml:us-west-1:not-a-uuid:workspace:x"
check "the error names the bad part" err_has "the account (part 5) must be a lowercase UUID"
expect 2 "a backup CRN where a workspace CRN belongs" describe-workspace --workspace-crn "${WS/:workspace:/:workspace_backup:}"
check "the error names the resource type" err_has "expected a workspace CRN"

echo "-- entitlement"
expect 4 "backup without the entitlement is denied" backup-workspace --workspace-crn "$WS" --backup-name first
check "the error names the entitlement" err_has ML_ENABLE_BACKUP_RESTORE
grant_backup_entitlement

echo "-- backups"
seed "$WS"
SNAP1=$(snapshot "$WS")
check "the seeded workspace has an application and a model" test "$(jq '([.projects[].applications[]] | length) > 0 and (.models | length) > 0' <<<"$SNAP1")" = true
expect 0 "backup-workspace --wait" backup-workspace --workspace-crn "$WS" --backup-name first --wait
check "backup-workspace answers backupCrn and vaultName" has_keys . backupCrn vaultName
B1=$(j .backupCrn)
check "backup CRN has the SPEC.md form" grep -Eq "^crn:mlvault:ml:us-west-1:$ACCT_RE:workspace_backup:$ACCT_RE\$" <<<"$B1"
check "vault name is mlv-<workspace-uuid>" test "$(j .vaultName)" = "mlv-${WS##*:}"
check "the backup succeeded" test "$(j .backupStatus)" = succeeded
check "the vault key file is mode 0600" test "$(stat -c %a "$MLVAULT_HOME/keys/mlv-${WS##*:}.key")" = 600
check "the workspace was resumed" test "$(health "$WS" | jq -r .quiesced)" = false
expect 5 "a duplicate backup name is a conflict" backup-workspace --workspace-crn "$WS" --backup-name first
check "the error names the backup" err_has 'backup named "first"'
expect 2 "a bad backup name is bad input" backup-workspace --workspace-crn "$WS" --backup-name "../x"
expect 3 "backup of an unknown workspace" backup-workspace --workspace-crn "${WS%:*}:00000000-0000-4000-8000-000000000000" --backup-name x

# Change the workspace: a new project file, a modified one, a new experiment run.
PID=$(api "$WS" GET /api/v1/projects | jq -r '.projects[0].id')
api "$WS" PUT "/api/v1/projects/$PID/files/notes/after-first-backup.txt" --data-binary "changed" >/dev/null
api "$WS" POST /api/v1/projects -H 'Content-Type: application/json' -d '{"name": "later"}' >/dev/null
SNAP2=$(snapshot "$WS")
check "the change is visible" test "$SNAP1" != "$SNAP2"
expect 0 "second backup (no --wait) is accepted at once" backup-workspace --workspace-crn "$WS" --backup-name second
B2=$(j .backupCrn)
WF2=$(j .workflowId)
check "it answers a status" grep -Eq '^(queued|pending|running|succeeded)$' <<<"$(j .backupStatus)"
check "the background worker finishes it" wait_for 60 backup_is "$B2" succeeded

expect 0 "list-workspace-backups --workspace-crn" list-workspace-backups --workspace-crn "$WS"
check "two backups, newest first" test "$(j '[.backups[].backupName] | join(",")')" = "second,first"
check "each entry has the SPEC.md keys" has_keys '.backups[0]' backupCrn backupName createdAt creatorCrn workspaceVersionAtBackup backupStatus
check "createdAt has microseconds and an offset" grep -Eq '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{6}\+00:00$' <<<"$(j '.backups[0].createdAt')"
check "creatorCrn is a user CRN" grep -Eq "^crn:mlvault:iam:us-west-1:$ACCT_RE:user:$ACCT_RE\$" <<<"$(j '.backups[0].creatorCrn')"
check "workspaceVersionAtBackup is the runtime's version" test "$(j '.backups[0].workspaceVersionAtBackup')" = "$(health "$WS" | jq -r .version)"
expect 0 "list-workspace-backups by name + environment" list-workspace-backups --workspace-name ws1 --environment-name dev
check "the same two backups" test "$(j '.backups | length')" = 2
expect 2 "list-workspace-backups with both selectors" list-workspace-backups --workspace-crn "$WS" --workspace-name ws1 --environment-name dev
expect 2 "list-workspace-backups with a name but no environment" list-workspace-backups --workspace-name ws1
expect 3 "list-workspace-backups of a name never used" list-workspace-backups --workspace-name ghost --environment-name dev
expect 0 "list-workspace-backups --output table" --output table list-workspace-backups --workspace-crn "$WS"
check "table lists both backups" test "$(grep -c crn:mlvault <<<"$OUT")" = 2

expect 0 "describe-workspace-backup" describe-workspace-backup --backup-crn "$B1"
check "describe has sizes, recovery points, timings, progress, warnings, error" has_keys .backup backupCrn backupName \
  backupStatus createdAt creatorCrn workspaceVersionAtBackup workspaceCrn environmentName vaultName sizes \
  recoveryPoints timings progress warnings error quiescedSeconds startedAt finishedAt workflowId
check "one recovery point per volume" test "$(j '[.backup.recoveryPoints[].volume] | sort | join(",")')" = "metadata,models,projects"
check "the quiesced time is recorded" test "$(j '.backup.quiescedSeconds > 0 and .backup.timings.quiesce.quiesced')" = true
check "the quiesce window was under 5 s" test "$(j '.backup.quiescedSeconds < 5')" = true
expect 3 "describe-workspace-backup of an unknown backup" describe-workspace-backup --backup-crn "${B1%:*}:00000000-0000-4000-8000-000000000000"
expect 0 "describe-workspace shows backupMetadata" describe-workspace --workspace-crn "$WS"
check "backupMetadata counts and names the last backup" test "$(j '.workspace.backupMetadata | "\(.backupCount) \(.lastBackupCrn)"')" = "2 $B2"

expect 0 "describe-workflow" describe-workflow --workflow-id "$WF2"
check "describe-workflow has status, progress, timestamps, warnings, error" has_keys .workflow workflowId kind status \
  progress createdAt startedAt finishedAt warnings error output
check "the workflow is a succeeded backup with progress" test "$(j '.workflow | "\(.kind) \(.status) \(.progress.bytesTotal > 0)"')" = "backup succeeded true"
expect 3 "describe-workflow of an unknown id" describe-workflow --workflow-id 00000000-0000-4000-8000-000000000000
expect 2 "describe-workflow of a malformed id" describe-workflow --workflow-id nope

expect 0 "verify-backup" verify-backup --backup-crn "$B1"
check "verify-backup says ok" test "$(j .ok)" = true
expect 0 "verify-backup --read-data" verify-backup --backup-crn "$B1" --read-data
check "--read-data read the data back" test "$(j '.ok and .readData and .bytesRead > 0')" = true
expect 5 "cancel-backup of a finished backup is a conflict" cancel-backup --backup-crn "$B1"

echo "-- restore input errors"
expect 0 "restore-workspace --generate-cli-skeleton" restore-workspace --generate-cli-skeleton
check "the skeleton asks for the new workspace's name" has_keys .newWorkspaceParameters workspaceName
check "and the backup by name" has_keys . backupName sourceWorkspaceName sourceEnvironmentName
check "nothing is pre-filled" test "$(j '[.. | scalars] | all(. == "")')" = true
IN=$MLVAULT_HOME/restore.json
restore_input "$B1" restored > "$IN"
jq '.newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].autoscaling.minInstances = 9' "$IN" > "$IN.bad"
expect 2 "an impossible value" restore-workspace --cli-input-json "file://$IN.bad"
check "names the field path" err_has "newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].autoscaling.minInstances"
jq '.newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].autoscaling.enabled = "yes"' "$IN" > "$IN.bad"
expect 2 "a wrong type" restore-workspace --cli-input-json "file://$IN.bad"
check "names the field path and the type" err_has "instanceGroups[0].autoscaling.enabled: must be true or false, got a string"
jq '.newWorkspaceParameters.provisionK8sRequest.network.colour = "blue"' "$IN" > "$IN.bad"
expect 2 "an unknown field" restore-workspace --cli-input-json "file://$IN.bad"
check "names the unknown field's path" err_has "newWorkspaceParameters.provisionK8sRequest.network.colour: unknown field"
printf '{\n "backupCrn": "%s",\n "newWorkspaceParameters": {\n' "$B1" > "$IN.bad"
expect 2 "malformed JSON" restore-workspace --cli-input-json "file://$IN.bad"
check "names line and column" err_has "at line 4, column 1"
jq --arg b "${B1/:ml:/:iam:}" '.backupCrn = $b' "$IN" > "$IN.bad"
expect 2 "a malformed backup CRN" restore-workspace --cli-input-json "file://$IN.bad"
check "names backupCrn" err_has "backupCrn: malformed CRN"
restore_input "$B1" ws1 > "$IN.bad"
expect 5 "restore into a taken name" restore-workspace --cli-input-json "file://$IN.bad"
check "names the workspace name" err_has 'newWorkspaceParameters.workspaceName: a workspace named "ws1" already exists'
restore_input "$B1" restored nowhere > "$IN.bad"
expect 3 "restore into a missing environment" restore-workspace --cli-input-json "file://$IN.bad"
check "names the environment" err_has 'environment "nowhere" does not exist'
restore_input "${B1%:*}:00000000-0000-4000-8000-000000000000" restored > "$IN.bad"
expect 3 "restore of an unknown backup" restore-workspace --cli-input-json "file://$IN.bad"
# A backup taken by a newer workspace runtime than this mlvault can restore.
sql "UPDATE backups SET workspace_version = '9.0.0' WHERE crn = '$B1'"
expect 2 "restore of a newer workspace version is refused" restore-workspace --cli-input-json "file://$IN"
check "the error names the version" err_has "workspace version 9.0.0, newer than this mlvault can restore"
sql "UPDATE backups SET workspace_version = '$(health "$WS" | jq -r .version)' WHERE crn = '$B1'"
expect 2 "--cli-input-json without file:// or JSON" restore-workspace --cli-input-json restore.json
# Pre-flight checks against the size the catalog records for the backup: 2 GiB.
B1_ID=${B1##*:}
SIZES=$(sql "SELECT volume || '=' || bytes_total FROM recovery_points WHERE backup_id = '$B1_ID'" | paste -sd, -)
sql "UPDATE recovery_points SET bytes_total = 2147483648 WHERE backup_id = '$B1_ID' AND volume = 'projects'"
jq '.newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].rootVolume.size = 1' "$IN" > "$IN.bad"
expect 2 "a backup larger than the rootVolume.size quota" restore-workspace --cli-input-json "file://$IN.bad"
check "names the quota's field path" err_has "newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].rootVolume.size: the backup holds"
sql "UPDATE recovery_points SET bytes_total = 35184372088832 WHERE backup_id = '$B1_ID' AND volume = 'projects'"
jq '.newWorkspaceParameters.provisionK8sRequest.instanceGroups[0].rootVolume.size = 65536' "$IN" > "$IN.bad"
expect 1 "a backup larger than the free disk space" restore-workspace --cli-input-json "file://$IN.bad"
check "says so" err_has "not enough disk space"
jq '.newWorkspaceParameters.skipValidation = true | .newWorkspaceParameters.workspaceName = "skipped"' "$IN.bad" > "$IN.skip"
expect 0 "skipValidation skips the pre-flight checks" restore-workspace --cli-input-json "file://$IN.skip" --wait
check "and the restore works" test "$(ws_field "$(j .workspaceCrn)" status)" = running
expect 0 "remove it" delete-workspace --workspace-crn "$(j .workspaceCrn)"
for kv in ${SIZES//,/ }; do
  sql "UPDATE recovery_points SET bytes_total = ${kv#*=} WHERE backup_id = '$B1_ID' AND volume = '${kv%%=*}'"
done

echo "-- delete the source, restore the first backup into another environment"
expect 0 "delete-workspace" delete-workspace --workspace-crn "$WS"
check "delete-workspace answers" test "$(j .status)" = deleted
check "its folder is gone" test ! -e "$MLVAULT_HOME/environments/dev/${WS##*:}"
expect 0 "the deleted workspace is still describable" describe-workspace --workspace-crn "$WS"
check "as deleted" test "$(j .workspace.status)" = deleted
expect 3 "backup of a deleted workspace" backup-workspace --workspace-crn "$WS" --backup-name third
check "the error says it was deleted" err_has "was deleted"
expect 3 "delete-workspace again" delete-workspace --workspace-crn "$WS"
expect 0 "backups of the deleted workspace by name + environment" list-workspace-backups --workspace-name ws1 --environment-name dev
check "both backups are still listed" test "$(j '.backups | length')" = 2
restore_input "$B1" restored prod > "$IN"
expect 0 "restore-workspace --wait into environment prod" restore-workspace --cli-input-json "file://$IN" --wait
check "restore answers workspaceCrn and workflowId" has_keys . workspaceCrn workflowId
R=$(j .workspaceCrn)
check "the restored workspace has a new CRN" test "$R" != "$WS"
expect 0 "describe the restored workspace" describe-workspace --workspace-crn "$R"
check "isRestored and the source backup are recorded" test "$(j '"\(.workspace.isRestored) \(.workspace.restoredFromBackupCrn)"')" = "true $B1"
check "it lives in prod, restored from dev" test "$(j '"\(.workspace.environmentName) \(.workspace.restoredFromEnvironmentName)"')" = "prod dev"
check "it has its own domain" grep -Eq '^restored-[0-9a-f]{8}\.prod\.mlvault\.local$' <<<"$(j .workspace.domain)"
check "it is running" test "$(j .workspace.status)" = running
check "health is ok and reconciled" test "$(health "$R" | jq -r '"\(.status) \(.reconciled) \(.workspaceCrn)"')" = "ok true $R"
check "the restored workspace has exactly the first backup's entities and files" test "$(snapshot "$R")" = "$SNAP1"
APP=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(api_key "$R")" "$(ws_field "$R" endpoint)/apps/dashboard/")
check "the application answers on the new endpoint" test "$APP" = 200
MODEL=$(api "$R" GET /api/v1/deployments | jq -r '[.deployments[].status] | join(",")')
check "the deployed model serves without a rebuild" test "$MODEL" = running
expect 0 "restored workspace has no backups of its own" list-workspace-backups --workspace-crn "$R"
check "empty list" test "$(j '.backups | length')" = 0

echo "-- delete a backup"
expect 0 "delete-backup --wait" delete-backup --backup-crn "$B2" --wait
check "delete-backup answers a workflowId" has_keys . workflowId
check "the backup is deleted" test "$(backup_status "$B2")" = deleted
expect 5 "deleting it again is a conflict" delete-backup --backup-crn "$B2"
expect 0 "the first backup still verifies with its data" verify-backup --backup-crn "$B1" --read-data
check "ok" test "$(j .ok)" = true
expect 0 "a deleted backup's name can be used again" list-workspace-backups --workspace-crn "$WS" --include-deleted
check "statuses are listed" test "$(j '[.backups[].backupStatus] | join(",")')" = "deleted,succeeded"
expect 0 "without --include-deleted" list-workspace-backups --workspace-crn "$WS"
check "deleted backups are left out" test "$(j '[.backups[].backupStatus] | join(",")')" = "succeeded"

echo "-- damage is detected"
# Every data pack gets a byte changed (its complement, so it surely differs): one pack picked at
# random could hold only the deleted second backup's data, which the first one never reads.
PACKS=0
while IFS= read -r -d '' pack; do
  b=$(od -An -tu1 -j5000 -N1 "$pack" | tr -d ' ')
  printf "\\x$(printf %02x $((255 - b)))" | dd of="$pack" bs=1 seek=5000 conv=notrunc status=none
  PACKS=$((PACKS + 1))
done < <(find "$MLVAULT_HOME/vaults/mlv-${WS##*:}" -path '*data*' -type f -size +100k -print0)
if [ "$PACKS" -gt 0 ]; then
  expect 1 "verify-backup --read-data of a damaged vault fails" verify-backup --backup-crn "$B1" --read-data
  check "the report names damage and affected files" test "$(j '.ok == false and (.damaged | length) > 0')" = true
  check "the error says so" err_has "failed verification"
else
  fail "found no pack file to damage"
fi
