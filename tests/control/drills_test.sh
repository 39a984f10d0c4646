#!/usr/bin/env bash
# Restore tests (drills, docs/plans.md) through the real binaries: a seeded workspace (projects,
# a deployed model, a running application) is backed up and drilled into a sandbox environment:
# every check passes, the recovery time is recorded, the throw-away workspace is gone, and the
# protection report shows the drill; a restore testing plan drills on its slot from the
# scheduler. Then a model build is broken on disk before a backup: the
# drill of that backup fails, naming the model and why. Each backup records what every deployed
# model answers to its sample request; a drill replays it: a model answering differently fails the
# drill (named, with both answers), and a backup without samples keeps the answer-only check. A
# drill is a workflow: kill -9 of its process in the middle, and recovery ends it (failed,
# "interrupted") and deletes its sandbox workspace. Bad requests say what to do.
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
check "the model answered its sample request as at backup time" \
  test "$(j '.restoreTest.checks[] | select(.check == "models") | .detail' | grep -c '1 answered the sample request recorded at backup time')" = 1
check "the backup recorded the sample: churn GET / 200" \
  test "$(sql "SELECT s.model_name || ' ' || s.method || ' ' || s.path || ' ' || s.status_code FROM backup_model_samples s JOIN backups b ON b.id = s.backup_id WHERE b.crn = '$B1'")" = "churn GET / 200"
check "files were compared" test "$(j '.restoreTest.checks[] | select(.check == "files") | .detail' | grep -c 'every SHA-256 matches')" = 1
DRILL_FILES=$(j '.restoreTest.checks[] | select(.check == "files") | .detail' | sed -E 's/^([0-9]+) file.*/\1/')
check "a recovery time was measured" test "$(j '.restoreTest.recoveryTimeSeconds > 0')" = true
check "the recovery point's age" test "$(j '.restoreTest.recoveryPointAgeSeconds >= 0')" = true
check "the sandbox workspace was deleted" test "$(j .restoreTest.sandboxDeleted)" = true
SANDBOX=$(j .restoreTest.sandboxWorkspaceCrn)
check "  ... and is gone" test "$("$MLVAULT" list-workspaces --environment-name drills | jq '.workspaces | length')" = 0
check "  ... its runtime stopped" test "$(sql "SELECT status FROM workspaces WHERE crn = '$SANDBOX'")" = deleted
check "the source workspace still runs" test "$(ws_field "$WS" status)" = running
expect 0 "describe-backup-contents of the drilled backup" describe-backup-contents --backup-crn "$B1"
check "every file it holds was compared ($DRILL_FILES of $(j .summary.files))" \
  test "$DRILL_FILES" -gt 0 -a "$DRILL_FILES" = "$(j .summary.files)"
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
check "the run started one drill, in a worker" test "$(j '.runs[0].status') $(j '.runs[0].backups | length') $(j '.runs[0].backups[0].status')" = "succeeded 1 running"
TP=$(j '.runs[0].backups[0].restoreTestId')
check "  ... as a restore_test workflow" test "$("$MLVAULT" describe-workflow --workflow-id "$(j '.runs[0].backups[0].workflowId')" | jq -r .workflow.kind)" = restore_test
drill_ended() { [ "$("$MLVAULT" describe-restore-test --restore-test-id "$1" | jq -r .restoreTest.status)" != running ]; }
check "the drill ends" wait_for 240 drill_ended "$TP"
check "it drilled the newest backup" test "$(j '.runs[0].backups[0].backupCrn')" = "$B1"
check "no backup was taken" test "$("$MLVAULT" list-workspace-backups --workspace-crn "$WS" | jq '.backups | length')" = 1
expect 0 "describe-restore-test of the plan's drill" describe-restore-test --restore-test-id "$TP"
check "it names the plan" test "$(j .restoreTest.planName) $(j .restoreTest.status)" = "drill succeeded"
expect 0 "delete-backup-plan" delete-backup-plan --plan-name drill

echo "-- a drill that fails: a model answers its sample request differently"
CHURN=$(api "$WS" GET /api/v1/projects | jq -r '.projects[] | select(.name == "churn-prediction") | .id')
CHURN_MODEL=$(api "$WS" GET /api/v1/models | jq -r '.models[] | select(.name == "churn") | .id')
cat >"$MLVAULT_HOME/clock.py" <<'PY'
# Answers with the moment it started: a model whose answer changes with every start.
import json, os, time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
STARTED = time.time_ns()
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        data = json.dumps({"startedAt": STARTED}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
    do_GET = do_POST
    def log_message(self, *args):
        pass
ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
PY
api "$WS" PUT "/api/v1/projects/$CHURN/files/clock/serve.py" --data-binary @"$MLVAULT_HOME/clock.py" >/dev/null
api "$WS" PUT "/api/v1/projects/$CHURN/files/clock/mlvault-sample-request.json" \
  --data-binary '{"method": "POST", "path": "/predict", "body": {"tenure_months": 3}}' >/dev/null
CLOCK=$(api "$WS" POST /api/v1/models -H 'Content-Type: application/json' \
  -d "{\"name\": \"clock\", \"projectId\": \"$CHURN\"}" | jq -r .id)
CLOCK_BUILD=$(api "$WS" POST "/api/v1/models/$CLOCK/builds" -H 'Content-Type: application/json' \
  -d '{"files": ["serve.py", "mlvault-sample-request.json"], "sourcePrefix": "clock", "serveCommand": "python3 serve.py"}' | jq -r .id)
CLOCK_DEP=$(api "$WS" POST "/api/v1/models/$CLOCK/deployments" -H 'Content-Type: application/json' \
  -d "{\"buildId\": \"$CLOCK_BUILD\"}" | jq -r .id)
clock_running() { [ "$(api "$WS" GET "/api/v1/deployments/$CLOCK_DEP" | jq -r .status)" = running ]; }
check "a second model, clock, is deployed" wait_for 30 clock_running
expect 0 "backup with the clock model" backup-workspace --workspace-crn "$WS" --backup-name clock --wait
B3=$(j .backupCrn)
check "its sample came from the build's file: clock POST /predict 200" \
  test "$(sql "SELECT s.method || ' ' || s.path || ' ' || s.status_code || ' ' || s.source FROM backup_model_samples s JOIN backups b ON b.id = s.backup_id WHERE b.crn = '$B3' AND s.model_name = 'clock'")" = "POST /predict 200 build file mlvault-sample-request.json"
expect 0 "start-restore-test" start-restore-test --backup-crn "$B3" --sandbox-environment-name drills
T3=$(j .restoreTest.restoreTestId)
check "failed" test "$(j .restoreTest.status)" = failed
check "the cause names the model, its request and both answers" \
  test "$(j .restoreTest.error | grep -c '^models: model clock: POST /predict answered HTTP 200 {"startedAt": [0-9]*} at backup time, now HTTP 200 {"startedAt": [0-9]*}$')" = 1
check "the churn model was fine" test "$(j .restoreTest.error | grep -c 'model churn')" = 0
check "every other check passed" \
  test "$(j '[.restoreTest.checks[] | select(.ok | not) | .check] | join(" ")')" = models
api "$WS" DELETE "/api/v1/deployments/$CLOCK_DEP" >/dev/null
check "the clock model is removed" test "$(api "$WS" DELETE "/api/v1/models/$CLOCK" | jq -r .deleted)" = true

echo "-- a backup made before sample requests: the models check only asks for an answer"
sql "DELETE FROM backup_model_samples WHERE backup_id = (SELECT id FROM backups WHERE crn = '$B1')" >/dev/null
expect 0 "start-restore-test" start-restore-test --backup-crn "$B1" --sandbox-environment-name drills
T4=$(j .restoreTest.restoreTestId)
check "succeeded" test "$(j .restoreTest.status)" = succeeded
check "the models check says no sample was recorded" \
  test "$(j '.restoreTest.checks[] | select(.check == "models") | .detail' | grep -c 'no sample answer was recorded with the backup for churn (the backup predates model sample requests)')" = 1

echo "-- kill -9 of the process running a drill: recovery ends it and deletes its sandbox"
touch "$MLVAULT_HOME/hold-drill"
MLVAULT_TEST_HOLD_FILE="$MLVAULT_HOME/hold-drill" "$MLVAULT" start-restore-test --backup-crn "$B1" \
  --sandbox-environment-name drills >/dev/null 2>&1 &
DP=$!
drill_validating() { [ "$(sql "SELECT w.phase FROM workflows w JOIN restore_tests t ON t.workflow_id = w.id WHERE t.status = 'running'")" = validating ]; }
check "the drill is in its checks" wait_for 120 drill_validating
TK=$(sql "SELECT id FROM restore_tests WHERE status = 'running'")
live_sandboxes() { "$MLVAULT" list-workspaces --environment-name drills | jq '.workspaces | length'; }
check "its sandbox workspace runs" test "$(live_sandboxes)" = 1
kill -9 "$DP"
wait "$DP" 2>/dev/null
rm -f "$MLVAULT_HOME/hold-drill"
check "the catalog still says running" test "$(sql "SELECT status FROM restore_tests WHERE id = '$TK'")" = running
expect 0 "mlvault worker --recover" worker --recover
check "it recovered the drill's workflow" test "$(j '[.recovered[] | select(test("restore_test"))] | length >= 1')" = true
expect 0 "describe-restore-test" describe-restore-test --restore-test-id "$TK"
check "the drill is failed, not running" test "$(j .restoreTest.status)" = failed
check "the cause: interrupted in its checks, the worker named" \
  test "$(j .restoreTest.error | grep -c '^interrupted: workflow interrupted during phase "validating": its worker .* stopped (the process is gone)')" = 1
check "an interrupted check" test "$(j '[.restoreTest.checks[] | select(.check == "interrupted" and (.ok | not))] | length')" = 1
check "the sandbox was deleted" test "$(j .restoreTest.sandboxDeleted)" = true
check "  ... and is gone" test "$(live_sandboxes)" = 0
expect 0 "describe-workflow" describe-workflow --workflow-id "$(j .restoreTest.workflowId)"
check "its workflow ended in its second attempt" test "$(j .workflow.status) $(j .workflow.attempts)" = "succeeded 2"

echo "-- a drill that fails: a broken model build"
MANIFEST=$(find "$MLVAULT_HOME" -path "*$WSID*/models/$CHURN_MODEL/*" -name manifest.json | head -1)
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
check "six, newest first" test "$(j '[.restoreTests[].restoreTestId] | join(" ")')" = "$T2 $TK $T4 $T3 $TP $T1"
expect 0 "list-restore-tests one page" list-restore-tests --max-items 1
check "one, and a token" test "$(j '.restoreTests | length') $(j '.nextToken != null')" = "1 true"
expect 0 "the next page" list-restore-tests --max-items 1 --starting-token "$(j .nextToken)"
check "the next older one" test "$(j '.restoreTests[0].restoreTestId')" = "$TK"
