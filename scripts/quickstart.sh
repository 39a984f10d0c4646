#!/usr/bin/env bash
# quickstart.sh: from nothing to a restored workspace, on the embedded defaults.
#
# Installs the Debian packages mlvault needs, builds `mlvault` and `mlvault-workspace`, then runs a
# scripted round trip in a temporary $MLVAULT_HOME: creates an environment and a workspace, fills
# it with a sample (projects, a job run, an experiment, a deployed model, a running application),
# backs it up, changes it, backs it up again, restores the FIRST backup into a new workspace and
# shows that the new workspace has exactly the first state (file checksums, entities, the
# application answering on the new endpoint), then deletes a backup. Every process it starts is
# stopped at the end.
#
#   scripts/quickstart.sh              install, build, run
#   SKIP_DEPS=1 scripts/quickstart.sh  skip the package installation
#   KEEP=1 scripts/quickstart.sh       keep the workspaces running and $MLVAULT_HOME for exploring
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$(pwd)

if [ "${SKIP_DEPS:-0}" != 1 ]; then scripts/install-deps.sh; fi
BUILD_DIR=${BUILD_DIR:-build}
[ -f "$BUILD_DIR/build.ninja" ] || cmake -S . -B "$BUILD_DIR" -G Ninja >/dev/null
echo "building mlvault and mlvault-workspace (first time: several minutes) ..."
cmake --build "$BUILD_DIR" --target mlvault mlvault-workspace -j"$(nproc)" | grep -E "error|Linking" || true
MLVAULT=$REPO/$BUILD_DIR/src/cli/mlvault
export MLVAULT_WORKSPACE_BIN=$REPO/$BUILD_DIR/src/runtime/mlvault-workspace
[ -x "$MLVAULT" ] && [ -x "$MLVAULT_WORKSPACE_BIN" ] || { echo "quickstart: the build failed" >&2; exit 1; }

export MLVAULT_HOME=$(mktemp -d "${TMPDIR:-/tmp}/mlvault-quickstart-XXXXXX")
unset MLVAULT_ACCESS_KEY_ID MLVAULT_PRIVATE_KEY MLVAULT_PROFILE MLVAULT_ENDPOINT
mlvault() { "$MLVAULT" "$@"; }
T0=$(date +%s.%N)
elapsed() { printf '%5.1fs' "$(echo "$(date +%s.%N) $T0" | awk '{print $1 - $2}')"; }
step() { echo; echo "[$(elapsed)] $*"; }
say() { echo "         $*"; }

cleanup() {
  local rc=$?
  if [ "${KEEP:-0}" = 1 ] && [ "$rc" = 0 ]; then
    echo; echo "KEEP=1: workspaces still run; MLVAULT_HOME=$MLVAULT_HOME"
    echo "stop them with: MLVAULT_HOME=$MLVAULT_HOME $MLVAULT delete-workspace --workspace-crn <crn>"
    return
  fi
  for crn in $(mlvault list-workspaces 2>/dev/null | jq -r '.workspaces[].crn'); do
    mlvault delete-workspace --workspace-crn "$crn" >/dev/null 2>&1 || true
  done
  rm -rf "$MLVAULT_HOME"
  [ "$rc" = 0 ] || echo "quickstart: FAILED (exit $rc)" >&2
}
trap cleanup EXIT

ws_field() { mlvault describe-workspace --workspace-crn "$1" | jq -r ".workspace.$2"; }
api_key() { mlvault get-workspace-api-key --workspace-crn "$1" | jq -r .apiKey; }
snapshot() { "$MLVAULT_WORKSPACE_BIN" snapshot --endpoint "$(ws_field "$1" endpoint)" --api-key "$(api_key "$1")"; }
# SHA-256 of every file of the projects and models volumes (logs and temporary files aside: a
# restored workspace's applications keep writing their logs).
checksums() {
  local root
  root=$(dirname "$(ws_field "$1" 'volumes[0].path')")
  (cd "$root" && find projects models -type f ! -path '*/.logs/*' ! -path '*/.tmp/*' -print0 | sort -z |
    xargs -0 sha256sum)
}

step "1. environment 'demo' (MLVAULT_HOME=$MLVAULT_HOME)"
mlvault create-environment --environment-name demo >/dev/null
mlvault grant-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE >/dev/null
say "created; the account and its administrator were made on first use (credentials in \$MLVAULT_HOME/credentials)"

step "2. workspace 'analytics'"
WS=$(mlvault create-workspace --environment-name demo --workspace-name analytics --wait | jq -r .workspaceCrn)
say "$WS"
say "endpoint $(ws_field "$WS" endpoint), domain $(ws_field "$WS" domain)"

step "3. fill it (projects, a job run, an experiment, a deployed model, a running application)"
"$MLVAULT_WORKSPACE_BIN" seed --endpoint "$(ws_field "$WS" endpoint)" --api-key "$(api_key "$WS")" >/dev/null
SNAP1=$(snapshot "$WS")
SUMS1=$(checksums "$WS")
say "$(jq '[.projects[]] | length' <<<"$SNAP1") projects, $(wc -l <<<"$SUMS1") files, $(jq '.models | length' <<<"$SNAP1") model, $(jq '[.projects[].applications[]] | length' <<<"$SNAP1") application"

step "4. back up"
B1=$(mlvault backup-workspace --workspace-crn "$WS" --backup-name first --wait | jq -r .backupCrn)
D1=$(mlvault describe-workspace-backup --backup-crn "$B1")
say "backup 'first' $(jq -r .backup.backupStatus <<<"$D1"): $(jq -r '.backup.sizes.bytesTotal' <<<"$D1") bytes in $(jq -r '.backup.recoveryPoints | length' <<<"$D1") recovery points," \
  "workspace quiesced for $(jq -r '.backup.quiescedSeconds * 1000 | floor' <<<"$D1") ms"

step "5. change the workspace"
EP=$(ws_field "$WS" endpoint)
KEY=$(api_key "$WS")
PROJECT=$(curl -sf -H "Authorization: Bearer $KEY" "$EP/api/v1/projects" | jq -r '.projects[0].id')
curl -sf -X PUT -H "Authorization: Bearer $KEY" --data-binary "written after the first backup" \
  "$EP/api/v1/projects/$PROJECT/files/notes/after-first-backup.md" >/dev/null
curl -sf -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d '{"name": "new-project"}' \
  "$EP/api/v1/projects" >/dev/null
say "added a file and a project"

step "6. back up again"
B2=$(mlvault backup-workspace --workspace-crn "$WS" --backup-name second --wait | jq -r .backupCrn)
D2=$(mlvault describe-workspace-backup --backup-crn "$B2")
say "backup 'second' $(jq -r .backup.backupStatus <<<"$D2"): $(jq -r '.backup.timings.consistentPass.filesUnchanged' <<<"$D2") of $(jq -r '.backup.timings.consistentPass.files' <<<"$D2") files unchanged," \
  "$(jq -r '.backup.sizes.bytesStored' <<<"$D2") bytes added to the vault"

step "7. list backups"
mlvault --output table list-workspace-backups --workspace-name analytics --environment-name demo | sed 's/^/         /'

step "8. restore the FIRST backup into a new workspace 'analytics-restored'"
mlvault restore-workspace --generate-cli-skeleton |
  jq --arg b "$B1" '.backupCrn = $b | .newWorkspaceParameters.workspaceName = "analytics-restored"' \
    > "$MLVAULT_HOME/restore-input.json"
R=$(mlvault restore-workspace --cli-input-json "file://$MLVAULT_HOME/restore-input.json" --wait | jq -r .workspaceCrn)
say "$R"
say "endpoint $(ws_field "$R" endpoint), domain $(ws_field "$R" domain), isRestored $(ws_field "$R" isRestored)"

step "9. compare the restored workspace with the first state"
SNAP_R=$(snapshot "$R")
SUMS_R=$(checksums "$R")
ok=1
if [ "$SUMS_R" = "$SUMS1" ]; then say "files:        identical ($(wc -l <<<"$SUMS_R") files, SHA-256)"; else say "files:        DIFFERENT"; diff <(echo "$SUMS1") <(echo "$SUMS_R") | head; ok=0; fi
if [ "$SNAP_R" = "$SNAP1" ]; then say "entities:     identical (projects, jobs and runs, experiments, models, deployments, applications)"; else say "entities:     DIFFERENT"; ok=0; fi
grep -q after-first-backup <<<"$SNAP_R" && { say "the change made after the first backup is in the restored workspace: WRONG"; ok=0; }
APP=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $(api_key "$R")" "$(ws_field "$R" endpoint)/apps/dashboard/")
if [ "$APP" = 200 ]; then say "application:  'dashboard' answers on the new endpoint (HTTP 200)"; else say "application:  HTTP $APP"; ok=0; fi
DEPS=$(curl -s -H "Authorization: Bearer $(api_key "$R")" "$(ws_field "$R" endpoint)/api/v1/deployments" | jq -r '[.deployments[].status] | join(",")')
say "model:        deployment $DEPS (served from the restored build, no rebuild)"
[ "$DEPS" = running ] || ok=0

step "10. delete the second backup"
mlvault delete-backup --backup-crn "$B2" --wait >/dev/null
say "backup 'second' is $(mlvault describe-workspace-backup --backup-crn "$B2" | jq -r .backup.backupStatus); the first one still verifies:" \
  "$(mlvault verify-backup --backup-crn "$B1" --read-data | jq -r 'if .ok then "ok" else "DAMAGED" end')"

echo
if [ "$ok" = 1 ]; then
  echo "[$(elapsed)] quick start done: the restored workspace is exactly the first backup's state."
else
  echo "[$(elapsed)] quick start FAILED: the restored workspace differs (see above)." >&2
  exit 1
fi
