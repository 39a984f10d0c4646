#!/usr/bin/env bash
# Workspace owners (issue 10, finding 1): when mlvault runs as root, every workspace's runtime,
# and through it its jobs, runs as an unprivileged uid of its own. A job reports that uid, cannot
# read the catalog or list $MLVAULT_HOME, cannot look into another workspace's volumes; a restored
# workspace's files belong to the new workspace's uid and its jobs can write them; the restore is
# still exactly what was backed up. Needs root (exit 77 otherwise: nothing changes then).
[ "$(id -u)" = 0 ] || { echo "skipped: needs root (as another user workspaces run as that user)"; exit 77; }
source "$(dirname "$0")/lib.sh" "$@"
# A registry of this test's own (ids are claimed machine-wide by default).
export MLVAULT_WORKSPACE_UID_REGISTRY=$MLVAULT_HOME/uid-registry

"$MLVAULT" create-environment --environment-name dev >/dev/null
grant_backup_entitlement
A=$(create_workspace dev wsa)
B=$(create_workspace dev wsb)
check "two workspaces created" test -n "$A" -a -n "$B"
ROOT_A=$(dirname "$(ws_field "$A" 'volumes[0].path')")
ROOT_B=$(dirname "$(ws_field "$B" 'volumes[0].path')")
UID_A=$(stat -c %u "$ROOT_A/projects")
UID_B=$(stat -c %u "$ROOT_B/projects")
check "workspace a's volumes belong to a uid that is not root ($UID_A)" test "$UID_A" -gt 0
check "the two workspaces have different uids ($UID_A, $UID_B)" test "$UID_A" != "$UID_B"
check "the runtime runs as its workspace's uid" \
  test "$(stat -c %u "/proc/$(sql "SELECT runtime_pid FROM workspaces WHERE crn = '$A'")")" = "$UID_A"
check "\$MLVAULT_HOME is 0711 (searchable, not listable)" test "$(stat -c %a "$MLVAULT_HOME")" = 711
check "the catalog is 0600" test "$(stat -c %a "$MLVAULT_HOME/catalog.db")" = 600

# run_job <ws> <project id> <script path> <script>: uploads the script, runs it as a job, waits
# for the run to end; prints the run's log.
run_job() {
  local ws=$1 project=$2 path=$3 script=$4 job run status
  api "$ws" PUT "/api/v1/projects/$project/files/$path" --data-binary "$script" >/dev/null
  job=$(api "$ws" POST "/api/v1/projects/$project/jobs" -d "{\"name\":\"probe-$RANDOM\",\"script\":\"$path\",\"interpreter\":\"sh\"}" | jq -r .id)
  run=$(api "$ws" POST "/api/v1/jobs/$job/runs" | jq -r .id)
  wait_for 60 test "$(api "$ws" GET "/api/v1/runs/$run" | jq -r .status)" != running
  api "$ws" GET "/api/v1/runs/$run/log"
}

PA=$(api "$A" POST /api/v1/projects -d '{"name":"probe"}' | jq -r .id)
LOG=$(run_job "$A" "$PA" probe.sh "id -u; id -G
cat '$MLVAULT_HOME/catalog.db' >/dev/null 2>&1 && echo READ-CATALOG
cat '$MLVAULT_HOME/credentials' >/dev/null 2>&1 && echo READ-CREDENTIALS
ls '$MLVAULT_HOME' >/dev/null 2>&1 && echo LISTED-HOME
ls '$ROOT_B/projects' >/dev/null 2>&1 && echo LISTED-OTHER-WORKSPACE
cat /proc/1/environ >/dev/null 2>&1 && echo READ-INIT-ENVIRON
echo written > mine.txt && echo WROTE-OWN
grep -E '^(CapEff|NoNewPrivs)' /proc/self/status
echo end")
check "the job ran to its end" grep -q '^end$' <<<"$LOG"
check "the job reports its workspace's uid, not 0" test "$(head -1 <<<"$LOG")" = "$UID_A"
check "  ... and only its workspace's group" test "$(sed -n 2p <<<"$LOG")" = "$UID_A"
check "the job cannot read \$MLVAULT_HOME/catalog.db" bash -c "! grep -q READ-CATALOG <<<'$LOG'"
check "the job cannot list \$MLVAULT_HOME" bash -c "! grep -q LISTED-HOME <<<'$LOG'"
check "the job cannot look into another workspace's volume" bash -c "! grep -q LISTED-OTHER <<<'$LOG'"
check "the job has no capabilities and no_new_privs" \
  bash -c "grep -q 'CapEff:.0000000000000000' <<<'$LOG' && grep -q 'NoNewPrivs:.1' <<<'$LOG'"
check "the job writes in its own project" grep -q WROTE-OWN <<<"$LOG"
check "its file belongs to the workspace's uid" test "$(stat -c %u "$ROOT_A/projects/$PA/mine.txt")" = "$UID_A"

echo "-- backup and restore into a new workspace"
seed "$A"
SNAP_A=$(snapshot "$A")
expect 0 "backup of workspace a" backup-workspace --workspace-crn "$A" --backup-name owners --wait
BK=$(j .backupCrn)
restore_input "$BK" wsc > "$MLVAULT_HOME/in.json"
expect 0 "restore into a new workspace" restore-workspace --cli-input-json "file://$MLVAULT_HOME/in.json" --wait
C=$(j .workspaceCrn)
ROOT_C=$(dirname "$(ws_field "$C" 'volumes[0].path')")
UID_C=$(stat -c %u "$ROOT_C/projects")
check "the restored workspace has a uid of its own ($UID_C)" test "$UID_C" -gt 0 -a "$UID_C" != "$UID_A" -a "$UID_C" != "$UID_B"
check "every restored file belongs to it" \
  test "$(find "$ROOT_C/projects" "$ROOT_C/models" "$ROOT_C/metadata" ! -uid "$UID_C" | wc -l)" = 0
check "the restore is exactly the backed-up workspace" test "$(snapshot "$C")" = "$SNAP_A"
LOG=$(run_job "$C" "$PA" append.sh "id -u; echo more >> mine.txt && echo APPENDED; cat mine.txt")
check "a job of the restored workspace runs as its uid" test "$(head -1 <<<"$LOG")" = "$UID_C"
check "  ... and can write the restored files" grep -q APPENDED <<<"$LOG"
check "  ... which hold both writes" test "$(tail -2 <<<"$LOG" | tr '\n' ' ')" = "written more "

echo "-- deleting a workspace frees its uid"
check "workspace b's uid is claimed" test -L "$MLVAULT_WORKSPACE_UID_REGISTRY/$UID_B"
expect 0 "delete workspace b" delete-workspace --workspace-crn "$B"
wait_for 30 test ! -e "$ROOT_B"
check "  ... its uid claim is gone" test ! -L "$MLVAULT_WORKSPACE_UID_REGISTRY/$UID_B"

echo "-- \$MLVAULT_HOME behind a folder others may not search (as the default /root/.mlvault is)"
HIDDEN=$(mktemp -d)  # 0700, as /root is
ENV_JSON=$(MLVAULT_HOME=$HIDDEN/home "$MLVAULT" create-environment --environment-name dev)
SROOT=$(jq -r '.environment.storageRoot' <<<"$ENV_JSON")
check "the default storage root moves to /var/lib/mlvault/storage/<environment id> ($SROOT)" \
  test "${SROOT#/var/lib/mlvault/storage/}" = "$(jq -r '.environment.crn | split(":") | last' <<<"$ENV_JSON")"
check "  ... which workspaces' own users may reach" test -d "$SROOT"
[[ $SROOT == /var/lib/mlvault/storage/?* ]] && rm -rf "$SROOT"
rm -rf "$HIDDEN"
