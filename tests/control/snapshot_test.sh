#!/usr/bin/env bash
# Backups on btrfs: the volumes are subvolumes, the consistent moment is a read-only snapshot of
# each (quiesce, snapshot, resume), the backup reads the snapshots while the workspace runs and
# removes them; a worker killed between snapshot and reading leaves snapshots that recovery
# removes; a volume that is a plain folder falls back to the two-pass method with a warning.
# Runs on a btrfs image it makes and loop-mounts (root); exits 77 (skipped) where it cannot.
HERE=$(dirname "$0")
source "$HERE/btrfs_mount.sh"
btrfs_skip_unless_mountable "the btrfs snapshot test"
source "$HERE/lib.sh" "$@"
at_cleanup() { btrfs_unmount; }
btrfs_mount 1G || { fail "could not make and mount a btrfs image"; exit 1; }

echo "-- the storage kind: detected, or chosen"
expect 2 "--storage-kind btrfs on a root not on btrfs is refused" create-environment --environment-name nob \
  --storage-root "$MLVAULT_HOME/not-btrfs" --storage-kind btrfs
check "the error says why and what to do" err_has "is not on a btrfs filesystem"
expect 2 "an unknown --storage-kind is refused" create-environment --environment-name bad --storage-kind zfs
check "the error names the choices" err_has "must be auto, btrfs or folders"
expect 0 "--storage-kind folders on btrfs" create-environment --environment-name plain --storage-root "$BTRFS_MNT/plain" --storage-kind folders
expect 0 "create-environment on btrfs (detected)" create-environment --environment-name snap --storage-root "$BTRFS_MNT/env"
expect 0 "--storage-kind btrfs on btrfs" create-environment --environment-name snap2 --storage-root "$BTRFS_MNT/env2" --storage-kind btrfs
grant_backup_entitlement
WS=$(create_workspace snap ws1)
check "workspace created" test -n "$WS"
PROJECTS=$(ws_field "$WS" 'volumes[0].path')
ROOT=$(dirname "$PROJECTS")
is_subvolume() { [ "$(stat -c %i "$1")" = 256 ]; }
check "projects is a subvolume" is_subvolume "$ROOT/projects"
check "models is a subvolume" is_subvolume "$ROOT/models"
check "metadata is a subvolume" is_subvolume "$ROOT/metadata"
seed "$WS"
SNAP=$(snapshot "$WS")
PROJECT=$(api "$WS" GET /api/v1/projects | jq -r '.projects[0].id')
head -c 3M /dev/urandom > "$ROOT/projects/$PROJECT/data/big.bin"

no_snapshots_left() { [ -z "$(ls -A "$ROOT/.snapshots" 2>/dev/null)" ]; }

echo "-- a backup from snapshots"
expect 0 "backup-workspace --wait" backup-workspace --workspace-crn "$WS" --backup-name one --wait
B1=$(j .backupCrn)
expect 0 "describe-workspace-backup" describe-workspace-backup --backup-crn "$B1"
check "succeeded" test "$(j .backup.backupStatus)" = succeeded
check "the consistent moment was a snapshot" test "$(j .backup.timings.quiesce.method)" = snapshot
check "the workspace was quiesced for it" test "$(j .backup.timings.quiesce.quiesced)" = true
check "the snapshot call is timed" test "$(j '.backup.timings.quiesce.snapshotSeconds >= 0')" = true
check "no first pass" test "$(j '.backup.timings | has("prepass")')" = false
check "every file was read from the snapshots" test "$(j .backup.timings.snapshotPass.files)" -gt 0
check "no snapshot is left" no_snapshots_left
check "the workspace runs (not quiesced)" test "$(health "$WS" | jq -r .quiesced)" = false
expect 0 "verify-backup --read-data" verify-backup --backup-crn "$B1" --read-data
check "ok" test "$(j .ok)" = true

echo "-- an incremental backup from snapshots uses the parent (inodes and times are the snapshot's)"
echo "one more line" >> "$ROOT/projects/$PROJECT/data/big.bin"
expect 0 "second backup" backup-workspace --workspace-crn "$WS" --backup-name two --wait
B2=$(j .backupCrn)
expect 0 "describe it" describe-workspace-backup --backup-crn "$B2"
check "files unchanged since the first were not read" test "$(j .backup.timings.snapshotPass.filesUnchanged)" -gt 0
check "the changed file was read (~3 MB)" test "$(j .backup.timings.snapshotPass.bytesRead)" -ge 3000000
check "no snapshot is left" no_snapshots_left

echo "-- the worker killed between the snapshot and reading it: recovery removes the snapshots"
export MLVAULT_TEST_HOLD_FILE="$MLVAULT_HOME/hold"
touch "$MLVAULT_TEST_HOLD_FILE"
expect 0 "backup accepted" backup-workspace --workspace-crn "$WS" --backup-name killed
B3=$(j .backupCrn)
W3=$(j .workflowId)
reading_snapshots() {
  local out
  out=$("$MLVAULT" describe-workflow --workflow-id "$W3")
  [ "$(jq -r .workflow.progress.phase <<<"$out")" = reading-snapshots ] &&
    [ -n "$(jq -r '.workflow.lease.owner // ""' <<<"$out")" ]
}
check "the backup holds after its snapshot" wait_for 60 reading_snapshots
check "three snapshots exist" test "$(ls "$ROOT"/.snapshots/*/ 2>/dev/null | grep -c .)" = 3
check "they are read-only" test "$(touch "$(ls -d "$ROOT"/.snapshots/*/projects)/x" 2>&1 | grep -c 'Read-only')" = 1
check "the workspace already runs again" test "$(health "$WS" | jq -r .quiesced)" = false
P3=$("$MLVAULT" describe-workflow --workflow-id "$W3" | jq -r '.workflow.lease.owner' | cut -d/ -f2)
kill -9 "$P3"
wait_for 10 bash -c "! kill -0 $P3 2>/dev/null"
rm -f "$MLVAULT_TEST_HOLD_FILE"
expect 0 "mlvault worker --recover" worker --recover
check "the backup was resumed and succeeded" test "$(backup_status "$B3")" = succeeded
check "no snapshot is left" no_snapshots_left
expect 0 "describe-workflow" describe-workflow --workflow-id "$W3"
check "a warning says the leftover snapshots were removed" grep -q "snapshots the interrupted backup left" <<<"$(j '.workflow.warnings | join(" ")')"
unset MLVAULT_TEST_HOLD_FILE

echo "-- the first backup restores as it was"
restore_input "$B1" restored snap > "$MLVAULT_HOME/in.json"
expect 0 "restore-workspace --wait" restore-workspace --cli-input-json "file://$MLVAULT_HOME/in.json" --wait
R=$(j .workspaceCrn)
RPROJ=$(ws_field "$R" 'volumes[0].path')
check "the restored volumes are subvolumes too" is_subvolume "$RPROJ"
check "entities and files as at backup time" test "$(snapshot "$R" | jq -S 'del(.projects[].files[] | select(.path == "data/big.bin"))')" = "$(jq -S 'del(.projects[].files[] | select(.path == "data/big.bin"))' <<<"$SNAP")"
check "the big file as at backup time" test "$(stat -c %s "$RPROJ/$PROJECT/data/big.bin")" = 3145728

echo "-- a volume that is a plain folder on btrfs: two passes, with a warning"
mkdir "$ROOT/models.plain" && cp -a "$ROOT/models/." "$ROOT/models.plain/" &&
  btrfs subvolume delete "$ROOT/models" >/dev/null && mv "$ROOT/models.plain" "$ROOT/models"
check "models is now a plain folder" test "$(stat -c %i "$ROOT/models")" != 256
expect 0 "backup" backup-workspace --workspace-crn "$WS" --backup-name plain --wait
B4=$(j .backupCrn)
expect 0 "describe it" describe-workspace-backup --backup-crn "$B4"
check "succeeded" test "$(j .backup.backupStatus)" = succeeded
check "two passes" test "$(j .backup.timings.quiesce.method)" = two-pass
check "a warning names the plain folder" grep -q "models.*plain folder, not a subvolume" <<<"$(j '.backup.warnings | tostring')"

echo "-- storage kind folders on btrfs: plain folders, two passes, no warning"
WP=$(create_workspace plain wsp)
PP=$(dirname "$(ws_field "$WP" 'volumes[0].path')")
check "projects is a plain folder" test "$(stat -c %i "$PP/projects")" != 256
expect 0 "backup" backup-workspace --workspace-crn "$WP" --backup-name plain --wait
expect 0 "describe it" describe-workspace-backup --backup-crn "$(j .backupCrn)"
check "two passes" test "$(j .backup.timings.quiesce.method)" = two-pass
check "no warning" test "$(j '.backup.warnings | length')" = 0
W2=$(create_workspace snap2 wsb)
check "storage kind btrfs: projects is a subvolume" is_subvolume "$(ws_field "$W2" 'volumes[0].path')"

echo "-- deleting the workspaces removes their subvolumes"
expect 0 "delete-workspace" delete-workspace --workspace-crn "$WS"
check "its folder is gone" wait_for 30 test ! -e "$ROOT"
expect 0 "delete the restored one" delete-workspace --workspace-crn "$R"
check "its folder is gone" wait_for 30 test ! -e "$(dirname "$RPROJ")"
