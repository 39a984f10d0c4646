#!/usr/bin/env bash
# A worker killed with SIGKILL never leaves a workflow running forever: `mlvault worker --recover`
# (or simply the next mlvault command) notices that its process is gone, resumes the workspace it
# left quiesced, and resumes the workflow -- or, out of attempts, fails it with the cause.
source "$(dirname "$0")/lib.sh" "$@"

# Workers started while this file exists wait at the start of their first pass (a test seam of
# the backup workflow), so each kill below lands at a known point rather than racing the backup.
export MLVAULT_TEST_HOLD_FILE="$MLVAULT_HOME/hold-first-pass"
# Exported before the first command: in server mode (tests/server/two_modes.sh) the server that
# runs the workflows starts with it and must see it too.
"$MLVAULT" create-environment --environment-name dev >/dev/null
grant_backup_entitlement
WS=$(create_workspace dev ws1)
seed "$WS"
SNAP=$(snapshot "$WS")
PROJECTS=$(ws_field "$WS" 'volumes[0].path')
PROJECT=$(api "$WS" GET /api/v1/projects | jq -r '.projects[0].id')
CONTROL_KEY=$(control_key "$WS")
EP=$(ws_field "$WS" endpoint)
big_change() { head -c 150M /dev/urandom > "$PROJECTS/$PROJECT/data/$1.bin"; }
hold() { touch "$MLVAULT_TEST_HOLD_FILE"; }
release() { rm -f "$MLVAULT_TEST_HOLD_FILE"; }
# Between a kill and the recovery under test, look only at the catalog and the runtime: any
# mlvault command would already recover the workflow (which is the point of the last part).
status_in_catalog() { sql "SELECT status FROM backups WHERE crn = '$1'"; }
quiesced() { curl -s "$EP/api/v1/health" | jq -r .quiesced; }
worker_pid() { "$MLVAULT" describe-workflow --workflow-id "$1" | jq -r '.workflow.lease.owner // ""' | cut -d/ -f2; }
running_with_worker() {  # the workflow is running its first pass under a worker other than $2
  local wf=$1 not=${2:-none}
  local out
  out=$("$MLVAULT" describe-workflow --workflow-id "$wf")
  [ "$(jq -r .workflow.status <<<"$out")" = running ] &&
    jq -r .workflow.progress.phase <<<"$out" | grep -q prepass &&
    [ -n "$(jq -r '.workflow.lease.owner // ""' <<<"$out")" ] &&
    [ "$(jq -r '.workflow.lease.owner' <<<"$out" | cut -d/ -f2)" != "$not" ]
}
quiesce_by_hand() {  # what the killed worker could have left behind
  curl -s -X POST -H "Authorization: Bearer $CONTROL_KEY" -H 'Content-Type: application/json' -d '{"leaseSeconds": 600}' \
    "$EP/internal/v1/quiesce" >/dev/null
}

echo "-- kill -9 during a backup, then mlvault worker --recover"
big_change one
hold
expect 0 "backup accepted" backup-workspace --workspace-crn "$WS" --backup-name killed-once
B1=$(j .backupCrn)
W1=$(j .workflowId)
check "its worker is running the first pass" wait_for 60 running_with_worker "$W1"
P1=$(worker_pid "$W1")
quiesce_by_hand
check "the workspace is quiesced" test "$(quiesced)" = true
kill -9 "$P1"
check "the worker (pid $P1) is gone" wait_for 10 bash -c "! kill -0 $P1 2>/dev/null"

check "the catalog still says running" test "$(status_in_catalog "$B1")" = running
release
expect 0 "mlvault worker --recover" worker --recover
check "it reports what it recovered" test "$(j '.recovered | length')" -ge 1
check "the backup was resumed and succeeded" test "$(status_in_catalog "$B1")" = succeeded
check "the workspace was resumed" test "$(quiesced)" = false
expect 0 "describe-workflow" describe-workflow --workflow-id "$W1"
check "two attempts" test "$(j .workflow.attempts)" = 2
check "a warning names the dead worker" grep -q "the process is gone" <<<"$(j '.workflow.warnings | join(" ")')"
check "a warning says the workspace was resumed" grep -q "resumed workspace" <<<"$(j '.workflow.warnings | join(" ")')"
expect 0 "the recovered backup verifies" verify-backup --backup-crn "$B1" --read-data
check "ok" test "$(j .ok)" = true

echo "-- kill -9 twice: the next mlvault command resumes it once, then it is failed with the cause"
big_change two
hold
expect 0 "backup accepted" backup-workspace --workspace-crn "$WS" --backup-name killed-twice
B2=$(j .backupCrn)
W2=$(j .workflowId)
check "its worker is running the first pass" wait_for 60 running_with_worker "$W2"
P2=$(worker_pid "$W2")
kill -9 "$P2"
wait_for 10 bash -c "! kill -0 $P2 2>/dev/null"
# Any command notices; list-workspace-backups starts a new worker for it.
expect 0 "the next command (list-workspace-backups)" list-workspace-backups --workspace-crn "$WS"
check "a new worker runs it" wait_for 60 running_with_worker "$W2" "$P2"
P3=$(worker_pid "$W2")
quiesce_by_hand
kill -9 "$P3"
wait_for 10 bash -c "! kill -0 $P3 2>/dev/null"
release
expect 0 "mlvault worker --recover" worker --recover
check "out of attempts, the backup is failed" test "$(status_in_catalog "$B2")" = failed
expect 0 "describe-workspace-backup" describe-workspace-backup --backup-crn "$B2"
check "the error gives the cause" grep -q "interrupted during phase" <<<"$(j .backup.error.message)"
check "the workspace was resumed" test "$(quiesced)" = false
check "it has no recovery points" test "$(j '.backup.recoveryPoints | length')" = 0

echo "-- a queued backup whose waiting worker was killed still runs"
big_change three
hold
expect 0 "backup accepted" backup-workspace --workspace-crn "$WS" --backup-name busy
B3=$(j .backupCrn)
expect 0 "a second one queues behind it" backup-workspace --workspace-crn "$WS" --backup-name waiting
B4=$(j .backupCrn)
W4=$(j .workflowId)
check "its worker waits, holding the lease" wait_for 30 bash -c "[ -n \"\$('$MLVAULT' describe-workflow --workflow-id $W4 | jq -r '.workflow.lease.owner // \"\"')\" ]"
P4=$(worker_pid "$W4")
kill -9 "$P4"
release
check "the busy one succeeds" wait_for 120 backup_is "$B3" succeeded
check "the queued one is picked up by a later command and succeeds" wait_for 120 backup_is "$B4" succeeded

echo "-- the data survived it all"
restore_input "$B1" restored > "$MLVAULT_HOME/in.json"
expect 0 "restore the recovered backup" restore-workspace --cli-input-json "file://$MLVAULT_HOME/in.json" --wait
R=$(j .workspaceCrn)
ORIG=$(jq -S 'del(.projects[].files[] | select(.path | startswith("data/one") or startswith("data/two") or startswith("data/three")))' <<<"$SNAP")
check "entities and files as at backup time (plus the big file)" test "$(snapshot "$R" | jq -S 'del(.projects[].files[] | select(.path | startswith("data/one") or startswith("data/two") or startswith("data/three")))')" = "$ORIG"
