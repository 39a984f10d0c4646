#!/usr/bin/env bash
# restore-workspace-items end to end (issue 16): a project, a model with its deployment, an
# experiment and an application are deleted from a running workspace and restored from a backup
# while a client keeps writing to it (no error, no downtime for that client), then compared with
# the backup's inventory and with the workspace at backup time; every conflict policy; a target in
# another environment; an item not in the backup (exit 3); no permission on the target (exit 4).
source "$(dirname "$0")/lib.sh" "$@"

project_id() { api "$1" GET /api/v1/projects | jq -r --arg n "$2" '.projects[] | select(.name == $n) | .id'; }
json_post() { api "$1" POST "$2" -H 'Content-Type: application/json' -d "$3"; }

expect 0 "create-environment dev" create-environment --environment-name dev
expect 0 "create-environment prod" create-environment --environment-name prod
grant_backup_entitlement
WS=$(create_workspace dev ws1)
seed "$WS"
SNAP=$(snapshot "$WS")
expect 0 "backup" backup-workspace --workspace-crn "$WS" --backup-name before --wait
B=$(j .backupCrn)

echo "-- delete a project, a model with its deployment, an experiment and an application"
SALES=$(project_id "$WS" sales-dashboard)
APP=$(api "$WS" GET /api/v1/applications | jq -r '.applications[] | select(.name=="dashboard") | .id')
check "the application is deleted" test "$(api "$WS" DELETE "/api/v1/applications/$APP" | jq -r .deleted)" = true
check "the project is deleted" test "$(api "$WS" DELETE "/api/v1/projects/$SALES" | jq -r .deleted)" = true
MODEL=$(api "$WS" GET /api/v1/models | jq -r '.models[] | select(.name=="churn") | .id')
for d in $(api "$WS" GET /api/v1/deployments | jq -r --arg m "$MODEL" '.deployments[] | select(.modelId==$m) | .id'); do
  api "$WS" DELETE "/api/v1/deployments/$d" >/dev/null
done
check "the model is deleted" test "$(api "$WS" DELETE "/api/v1/models/$MODEL" | jq -r .deleted)" = true
EXP=$(api "$WS" GET "/api/v1/projects/$(project_id "$WS" churn-prediction)/experiments" | jq -r '.experiments[] | select(.name=="baseline") | .id')
check "the experiment is deleted" test "$(api "$WS" DELETE "/api/v1/experiments/$EXP" | jq -r .deleted)" = true

echo "-- restore them while a client keeps writing"
DATA=$(project_id "$WS" shared-datasets)
ENDPOINT=$(ws_field "$WS" endpoint); KEY=$(api_key "$WS")
WRITES=$MLVAULT_HOME/writes.log; STOP=$MLVAULT_HOME/stop-writer
( i=0; until [ -e "$STOP" ]; do
    i=$((i + 1))
    curl -s -o /dev/null -w '%{http_code}\n' -X PUT -H "Authorization: Bearer $KEY" \
      --data-binary "write $i" "$ENDPOINT/api/v1/projects/$DATA/files/writer/$i.txt" >>"$WRITES"
    sleep 0.05
  done ) &
WRITER=$!
expect 0 "restore-workspace-items --wait" restore-workspace-items --backup-crn "$B" --target-workspace-crn "$WS" \
  --items project:sales-dashboard,application:dashboard,model:churn,experiment:baseline --wait
RESULTS=$OUT
touch "$STOP"; wait "$WRITER"
check "the workflow succeeded" test "$(j .status)" = succeeded
check "every item restored under its own name" test "$(j '[.results[] | "\(.item)=\(.result)"] | sort | join(",")')" = \
  "application:dashboard=restored,experiment:baseline=restored,model:churn=restored,project:sales-dashboard=restored"
check "the writing client made progress during the restore" test "$(wc -l <"$WRITES")" -gt 5
check "and every one of its writes succeeded (no error, no downtime)" test "$(grep -cv '^20[01]$' "$WRITES")" = 0
NOW=$(snapshot "$WS")
check "the project's files are the backup's, byte for byte" test \
  "$(jq -c '.projects[] | select(.name=="sales-dashboard") | [.files[] | {path, size, sha256}]' <<<"$NOW")" = \
  "$(jq -c '.projects[] | select(.name=="sales-dashboard") | [.files[] | {path, size, sha256}]' <<<"$SNAP")"
check "with its jobs" test "$(jq -c '[.projects[] | select(.name=="sales-dashboard") | .jobs[] | {name, script, interpreter}]' <<<"$NOW")" = \
  "$(jq -c '[.projects[] | select(.name=="sales-dashboard") | .jobs[] | {name, script, interpreter}]' <<<"$SNAP")"
check "the model's build has the backup's files (SHA-256)" test \
  "$(jq -c '[.models[] | select(.name=="churn") | .builds[].files]' <<<"$NOW")" = "$(jq -c '[.models[] | select(.name=="churn") | .builds[].files]' <<<"$SNAP")"
check "its deployment is running" test "$(jq -r '.models[] | select(.name=="churn") | .deployments[0].status' <<<"$NOW")" = running
check "and serves predictions" grep -q . <<<"$(curl -sf -H "Authorization: Bearer $KEY" -X POST -H 'Content-Type: application/json' \
  -d '{"tenure_months": 3, "monthly_charges": 80, "support_calls": 4}' "$ENDPOINT/models/churn/predict")"
check "the experiment's runs, parameters and metrics are the backup's" test \
  "$(jq -c '.projects[] | .experiments[] | select(.name=="baseline") | [.runs[] | {name, status, params, metrics}] | sort_by(.name)' <<<"$NOW")" = \
  "$(jq -c '.projects[] | .experiments[] | select(.name=="baseline") | [.runs[] | {name, status, params, metrics}] | sort_by(.name)' <<<"$SNAP")"
check "the application runs again" test "$(jq -r '.projects[] | .applications[] | select(.name=="dashboard") | .status' <<<"$NOW")" = running
check "and answers on its subdomain" curl -sf -o /dev/null -H "Authorization: Bearer $KEY" "$ENDPOINT/apps/dashboard/"
expect 0 "the backup's inventory" describe-backup-contents --backup-crn "$B"
check "every project of the inventory is in the workspace again" test \
  "$(j '[.items[] | select(.itemType=="project") | .name] | sort | join(",")')" = "$(jq -r '[.projects[].name | select(. != "writer")] | sort | join(",")' <<<"$NOW")"
expect 0 "describe-workflow shows the results" describe-workflow --workflow-id "$(jq -r .workflowId <<<"$RESULTS")"
check "in its output" test "$(j '.workflow.output.results | length')" = 4

echo "-- conflict policies"
expect 5 "fail (default): the item exists" restore-workspace-items --backup-crn "$B" --target-workspace-crn "$WS" --items project:sales-dashboard --wait
check "refused, saying why and what to do" test "$(j '.results[0].result')" = refused
check "the error names the policy" err_has "conflict-policy"
expect 0 "rename" restore-workspace-items --backup-crn "$B" --target-workspace-crn "$WS" --items project:sales-dashboard,experiment:baseline --conflict-policy rename --wait
check "renamed to <name>-restored" test "$(j '[.results[] | "\(.result) \(.name)"] | join(",")')" = "renamed sales-dashboard-restored,renamed baseline-restored"
check "the renamed project has the backup's files" test "$(api "$WS" GET "/api/v1/projects/$(project_id "$WS" sales-dashboard-restored)/files" | jq '.files | length')" = \
  "$(jq '.projects[] | select(.name=="sales-dashboard") | .files | length' <<<"$SNAP")"
expect 0 "overwrite of an experiment" restore-workspace-items --backup-crn "$B" --target-workspace-crn "$WS" --items experiment:baseline --conflict-policy overwrite --wait
check "restored over the existing one" test "$(j '.results[0].result')" = restored
check "one experiment named baseline" test "$(snapshot "$WS" | jq '[.projects[].experiments[] | select(.name=="baseline")] | length')" = 1
expect 5 "overwrite of a project whose application runs is refused" restore-workspace-items --backup-crn "$B" --target-workspace-crn "$WS" \
  --items project:sales-dashboard --conflict-policy overwrite --wait
check "with the runtime's reason" test "$(j '.results[0].reason' | grep -c 'cannot be replaced')" = 1
expect 0 "rename of an application gets a free subdomain" restore-workspace-items --backup-crn "$B" --target-workspace-crn "$WS" \
  --items application:dashboard --conflict-policy rename --wait
check "dashboard-restored on dashboard-restored" test "$(j '.results[0] | "\(.name) \(.subdomain) \(.status)"')" = "dashboard-restored dashboard-restored running"

echo "-- into a workspace of another environment"
WS2=$(create_workspace prod other)
expect 3 "an item not in the backup" restore-workspace-items --backup-crn "$B" \
  --target-workspace-crn "$WS2" --items model:nope --wait
check "an item not in the backup is exit 3 naming it" err_has "model:nope"
expect 5 "a model whose project is not in the target" restore-workspace-items --backup-crn "$B" --target-workspace-crn "$WS2" --items model:churn@build-1 --wait
check "refused naming the project" test "$(j '.results[0].reason' | grep -c 'project:churn-prediction')" = 1
expect 0 "project and model with build 1 into prod" restore-workspace-items --backup-crn "$B" --target-workspace-crn "$WS2" \
  --items model:churn@build-1,project:churn-prediction --wait
check "both restored, the project first" test "$(j '[.results[] | "\(.item)=\(.result)"] | join(",")')" = "project:churn-prediction=restored,model:churn@build-1=restored"
check "the deployment serves in the other environment" test "$(j '.results[1].deployment')" = running
expect 3 "a build the backup does not have" restore-workspace-items --backup-crn "$B" --target-workspace-crn "$WS2" --items model:churn@build-9
check "the error names the build" err_has "no build 9 of model churn"
expect 0 "by names: the backup by name in its workspace, the target by name" restore-workspace-items \
  --backup-name before --workspace-name ws1 --environment-name dev \
  --target-workspace-name other --target-environment-name prod --items project:churn-prediction --conflict-policy rename --wait
check "into the target named" test "$(j .targetWorkspaceCrn)" = "$WS2"
check "the project restored (renamed: it is there already)" test "$(j '.results[0] | "\(.result) \(.name)"')" = "renamed churn-prediction-restored"
expect 2 "a target by CRN and by name" restore-workspace-items --backup-crn "$B" --target-workspace-crn "$WS2" \
  --target-workspace-name other --target-environment-name prod --items job:train
check "says not both, naming the target flags" err_has "give either --target-workspace-crn, or --target-workspace-name"
expect 2 "no target" restore-workspace-items --backup-crn "$B" --items job:train
check "says to give the target" err_has "give --target-workspace-crn, or --target-workspace-name"
expect 3 "an unknown target name" restore-workspace-items --backup-crn "$B" --target-workspace-name nope \
  --target-environment-name prod --items job:train
check "names it" err_has 'no workspace named "nope" in environment "prod"'
expect 3 "an unknown backup name" restore-workspace-items --backup-name nope --workspace-name ws1 --environment-name dev \
  --target-workspace-crn "$WS2" --items job:train
check "names it" err_has 'no backup named "nope"'
expect 2 "a malformed item" restore-workspace-items --backup-crn "$B" --target-workspace-crn "$WS2" --items churn
expect 2 "an unknown policy" restore-workspace-items --backup-crn "$B" --target-workspace-crn "$WS2" --items job:train --conflict-policy merge

echo "-- permission on the target"
"$MLVAULT" create-user --user-name restorer >/dev/null
cat >"$MLVAULT_HOME/restorer.json" <<'POLICY'
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ml:RestoreWorkspaceItems"],
  "Resource": "crn:mlvault:ml:*:*:workspace_backup:*"}]}
POLICY
"$MLVAULT" create-policy --policy-name restorer --policy-document "file://$MLVAULT_HOME/restorer.json" >/dev/null
"$MLVAULT" attach-policy --user-name restorer --policy-name restorer >/dev/null
"$MLVAULT" create-access-key --user-name restorer --save-profile restorer >/dev/null
expect 4 "allowed on the backup but not on the target workspace" --profile restorer restore-workspace-items \
  --backup-crn "$B" --target-workspace-crn "$WS2" --items job:train
check "the denial names the action and the target" err_has "ml:RestoreWorkspaceItems"

echo "-- stop-workspace, start-workspace, start-workspace --all"
BEFORE=$(snapshot "$WS2")
expect 0 "stop-workspace by name" stop-workspace --workspace-name other --environment-name prod
check "answers stopped" test "$(j '.workspaces[0].status')" = stopped
check "describe-workspace says stopped" test "$(ws_field "$WS2" status)" = stopped
check "the runtime no longer answers" test -z "$(curl -s --max-time 2 "$(ws_field "$WS2" endpoint)/api/v1/health")"
expect 0 "start-workspace by name" start-workspace --workspace-name other --environment-name prod
check "answers running with its endpoint" test "$(j '.workspaces[0] | "\(.status) \(.endpoint == "")"')" = "running false"
check "the workspace is as it was (snapshot)" test "$(snapshot "$WS2")" = "$BEFORE"
check "its deployment serves again" test "$(snapshot "$WS2" | jq -r '.models[0].deployments[0].status')" = running
BEFORE=$(snapshot "$WS")
PID=$(sql "SELECT runtime_pid FROM workspaces WHERE crn = '$WS'")
# As a host restart would: the runtime and the processes it started (each in its own group) die.
CHILDREN=$(ps -o pid= --ppid "$PID")
kill -9 "$PID"; for c in $CHILDREN; do kill -9 -- "-$c" 2>/dev/null || kill -9 "$c" 2>/dev/null; done
wait_for 10 test ! -e "/proc/$PID"
check "a runtime that died shows as stopped" test "$(ws_field "$WS" status)" = stopped
expect 0 "stop-workspace the other one on purpose" stop-workspace --workspace-crn "$WS2"
expect 0 "start-workspace --all (as after a host restart)" start-workspace --all
check "starts the one that died, not the one stopped on purpose" test "$(j '[.workspaces[] | "\(.workspaceName)=\(.status)"] | join(",")')" = "ws1=running"
check "it is as it was (snapshot)" test "$(snapshot "$WS")" = "$BEFORE"
check "the other stays stopped" test "$(ws_field "$WS2" status)" = stopped
expect 2 "start-workspace needs --workspace-crn or --all" start-workspace
expect 2 "start-workspace: a name and --all" start-workspace --all --workspace-name ws1 --environment-name dev
expect 3 "stop-workspace of an unknown workspace" stop-workspace --workspace-crn "${WS%:*}:00000000-0000-4000-8000-000000000000"
expect 3 "stop-workspace of an unknown name" stop-workspace --workspace-name nope --environment-name dev
check "naming the name and the environment" err_has 'no workspace named "nope" in environment "dev"'

echo "-- restore-workspace --start-mode paused, resume-workspace; new keys; what was re-pointed"
SRC_KEY=$(api_key "$WS"); SRC_DOMAIN=$(ws_field "$WS" domain); SRC_ENDPOINT=$(ws_field "$WS" endpoint)
restore_input "$B" copy dev >"$MLVAULT_HOME/restore.json"
expect 2 "an unknown start mode" restore-workspace --cli-input-json "file://$MLVAULT_HOME/restore.json" --start-mode halted
check "names the flag and the values" err_has '--start-mode: must be "running" or "paused"'
expect 0 "restore paused" restore-workspace --cli-input-json "file://$MLVAULT_HOME/restore.json" --start-mode paused --wait
COPY=$(j .workspaceCrn)
check "answers startMode paused" test "$(j .startMode)" = paused
check "re-pointed: the endpoint, from the source's" test "$(j '.repointed[] | select(.what=="endpoint") | "\(.from) \(.to)"')" = "$SRC_ENDPOINT $(j .endpoint)"
check "re-pointed: the domain" test "$(j '.repointed[] | select(.what=="domain") | "\(.from) \(.to)"')" = "$SRC_DOMAIN $(j .domain)"
check "a new domain" test "$(j .domain)" != "$SRC_DOMAIN"
check "re-pointed: a new API key, saying how to get it" test "$(j '.repointed[] | select(.what=="apiKey") | .to' | grep -c get-workspace-api-key)" = 1
COPY_ENDPOINT=$(ws_field "$COPY" endpoint)
check "the source's API key is refused by the restored workspace" test \
  "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $SRC_KEY" "$COPY_ENDPOINT/api/v1/projects")" = 401
check "its own new key is accepted" test \
  "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(api_key "$COPY")" "$COPY_ENDPOINT/api/v1/projects")" = 200
PAUSED=$(snapshot "$COPY")
check "its applications are paused, not started" test "$(jq -r '[.projects[].applications[] | select(.name=="dashboard") | .status] | join(",")' <<<"$PAUSED")" = paused
check "its deployments are paused, not started" test "$(jq -r '[.models[] | select(.name=="churn") | .deployments[].status] | unique | join(",")' <<<"$PAUSED")" = paused
check "the application does not answer" test "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(api_key "$COPY")" "$COPY_ENDPOINT/apps/dashboard/")" = 503
expect 0 "stop the paused workspace" stop-workspace --workspace-crn "$COPY"
expect 0 "and start it again" start-workspace --workspace-crn "$COPY"
check "it stays paused across a restart" test "$(snapshot "$COPY" | jq -r '[.projects[].applications[] | select(.name=="dashboard") | .status] | join(",")')" = paused
expect 0 "resume-workspace by name" resume-workspace --workspace-name copy --environment-name dev
echo "    started: $(jq -c .started <<<"$OUT")"
check "started the application and the deployment, both running" test \
  "$(j '[.started[] | "\(.type):\(.name)=\(.status)"] | sort | unique | join(",")')" = "application:dashboard=running,deployment:churn=running"
check "the application answers" curl -sf -o /dev/null -H "Authorization: Bearer $(api_key "$COPY")" "$(ws_field "$COPY" endpoint)/apps/dashboard/"
check "the model serves" grep -q . <<<"$(curl -sf -H "Authorization: Bearer $(api_key "$COPY")" -X POST -H 'Content-Type: application/json' \
  -d '{"tenure_months": 3, "monthly_charges": 80, "support_calls": 4}' "$(ws_field "$COPY" endpoint)/models/churn/predict")"
expect 0 "resume-workspace again: nothing paused" resume-workspace --workspace-crn "$COPY"
check "answers an empty list" test "$(j '.started | length')" = 0
expect 5 "resume-workspace of a stopped workspace" resume-workspace --workspace-crn "$WS2"
check "says to start it first" err_has "start-workspace"

echo "-- mlvault server brings back the workspaces that were running"
BEFORE=$(snapshot "$WS")
PID=$(sql "SELECT runtime_pid FROM workspaces WHERE crn = '$WS'")
CHILDREN=$(ps -o pid= --ppid "$PID")
kill -9 "$PID"; for c in $CHILDREN; do kill -9 -- "-$c" 2>/dev/null || kill -9 "$c" 2>/dev/null; done
wait_for 10 test ! -e "/proc/$PID"
check "the runtime died (as in a host restart)" test "$(ws_field "$WS" status)" = stopped
"$MLVAULT" server --listen 127.0.0.1:0 >"$MLVAULT_HOME/server.out" 2>"$MLVAULT_HOME/server.err" &
SERVER=$!
ws_is_running() { [ "$(ws_field "$1" status)" = running ]; }
check "the server brings ws1 back" wait_for 120 ws_is_running "$WS"
check "as it was (snapshot)" test "$(snapshot "$WS")" = "$BEFORE"
check "and leaves the one stopped on purpose stopped" test "$(ws_field "$WS2" status)" = stopped
check "it logged the start" wait_for 10 grep -q "ws1 .* was running before; started again" "$MLVAULT_HOME/server.err"
check "and audited it as the server" test "$(sql "SELECT COUNT(*) FROM audit_events WHERE action = 'ml:StartWorkspace' AND resource = '$WS' AND detail LIKE 'brought back%' AND source = 'server'")" -ge 1
kill -TERM "$SERVER"; wait "$SERVER"
