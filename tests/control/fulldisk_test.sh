#!/usr/bin/env bash
# Full disks at the control plane (issue 10), on small tmpfs mounts the test makes and unmounts
# (root; skipped, exit 77, where mount is not permitted):
#  1. the vault's storage fills during backup-workspace of a real workspace: the backup fails
#     naming the cause (ENOSPC), the workspace is resumed (not left quiesced), the earlier backup
#     verifies; once space is freed the next backup succeeds and GC reclaims the partial data;
#  2. the restore target fills during restore-workspace: the restore fails naming the cause, the
#     half-made workspace is removed, nothing else on that disk is touched;
#  3. the catalog's disk ($MLVAULT_HOME) fills: commands fail cleanly with a clear error (no
#     crash, the catalog intact) and work again once space is freed.
HERE=$(dirname "$0")
if [ "$(id -u)" != 0 ]; then echo "SKIP: the full-disk tests mount tmpfs filesystems (run as root)"; exit 77; fi
PROBE=$(mktemp -d "${TMPDIR:-/tmp}/mlvault-tmpfs-probe.XXXXXX")
if ! mount -t tmpfs -o size=1m tmpfs "$PROBE" 2>/dev/null; then
  rmdir "$PROBE"; echo "SKIP: cannot mount a tmpfs here (no CAP_SYS_ADMIN?)"; exit 77
fi
umount "$PROBE"; rmdir "$PROBE"
source "$HERE/lib.sh" "$@"

MOUNTS=()
small_disk() {  # small_disk <dir> <size>: a tmpfs of that size at dir
  mkdir -p "$1" && mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" && MOUNTS+=("$1")
}
HOME2=$MLVAULT_HOME/home-on-small-disk
at_cleanup() {
  # The server of the second home, its workspaces, then every mount the test made.
  declare -F at_cleanup_server >/dev/null && at_cleanup_server
  if [ -f "$HOME2/catalog.db" ]; then
    rm -f "$HOME2/filler"
    for crn in $(sqlite3 "$HOME2/catalog.db" "SELECT crn FROM workspaces WHERE deleted_at IS NULL" 2>/dev/null); do
      MLVAULT_HOME=$HOME2 "$MLVAULT" delete-workspace --workspace-crn "$crn" >/dev/null 2>&1
    done
    for pid in $(sqlite3 "$HOME2/catalog.db" "SELECT runtime_pid FROM workspaces WHERE runtime_pid > 0" 2>/dev/null); do
      grep -q mlvault-workspace "/proc/$pid/cmdline" 2>/dev/null && kill -9 "$pid" 2>/dev/null
    done
  fi
  local m
  for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m"; done
}
quiesced() { health "$1" | jq -r .quiesced; }
no_crash() { [ "$RC" -ne 0 ] && [ "$RC" -lt 64 ]; }  # failed with an exit code, not a signal

echo "-- 1. the vault's disk fills during a backup"
VAULTFS=$MLVAULT_HOME/vaultfs
small_disk "$VAULTFS" 6m || { fail "could not mount a 6 MiB tmpfs"; exit 1; }
expect 0 "an environment whose vaults are on the 6 MiB disk" create-environment --environment-name small \
  --vault-location "$VAULTFS"
grant_backup_entitlement
WS=$(create_workspace small ws1)
seed "$WS"
expect 0 "a first backup fits" backup-workspace --workspace-crn "$WS" --backup-name first --wait
B1=$(j .backupCrn)
echo "    vault after the first backup: $(du -sk "$VAULTFS" | cut -f1) KiB of 6144"
PROJECTS=$(ws_field "$WS" 'volumes[0].path')
PROJECT=$(api "$WS" GET /api/v1/projects | jq -r '.projects[0].id')
head -c 12M /dev/urandom >"$PROJECTS/$PROJECT/data/big.bin"  # incompressible, twice the disk
expect 1 "a backup of 12 MiB more fails" backup-workspace --workspace-crn "$WS" --backup-name second --wait
check "naming the cause (No space left on device)" err_has "No space left on device"
expect 0 "describe-workspace-backup of the failed backup" describe-workspace-backup --backup-name second --workspace-crn "$WS"
B2=$(j .backup.backupCrn)
check "it is failed" test "$(j .backup.backupStatus)" = failed
check "its error says the disk is full" test "$(j '.backup.error.message' | grep -c 'No space left')" = 1
check "the workspace is resumed (not quiesced)" test "$(quiesced "$WS")" = false
check "and takes writes" test "$(api "$WS" PUT "/api/v1/projects/$PROJECT/files/after-full.txt" --data-binary x -o /dev/null -w '%{http_code}')" -lt 300
expect 0 "the earlier backup verifies (--read-data)" verify-backup --backup-crn "$B1" --read-data
check "ok" test "$(j .ok)" = true
PARTIAL_KB=$(du -sk "$VAULTFS" | cut -f1)
echo "    vault after the failed backup: $PARTIAL_KB KiB"
mount -o remount,size=64m "$VAULTFS"
expect 0 "once space is freed, the next backup succeeds" backup-workspace --workspace-crn "$WS" --backup-name third --wait
B3=$(j .backupCrn)
expect 0 "it verifies (--read-data)" verify-backup --backup-crn "$B3" --read-data
BEFORE_GC=$(du -sk "$VAULTFS" | cut -f1)
expect 0 "delete-backup of the failed backup runs GC" delete-backup --backup-crn "$B2" --wait
mlv describe-workflow --workflow-id "$(j .workflowId)"
echo "    gc: $(j -c '.workflow.output.gc')"
check "GC reclaimed the partial data" test "$(j '.workflow.output.gc | .leftoversRemoved + .packsRemoved')" -gt 0
check "the vault is smaller after GC" test "$(du -sk "$VAULTFS" | cut -f1)" -lt "$BEFORE_GC"
expect 0 "both backups still verify" verify-backup --backup-crn "$B1" --read-data
expect 0 "" verify-backup --backup-crn "$B3" --read-data

echo "-- 2. the restore target fills during restore-workspace"
TARGETFS=$MLVAULT_HOME/targetfs
small_disk "$TARGETFS" 8m || { fail "could not mount an 8 MiB tmpfs"; exit 1; }
echo "someone else's file" >"$TARGETFS/keep"
expect 0 "an environment whose storage root is on the 8 MiB disk" create-environment --environment-name tiny \
  --storage-root "$TARGETFS/root"
restore_input "$B3" big-copy tiny >"$MLVAULT_HOME/restore.json"
expect 1 "the pre-flight check refuses a restore that cannot fit" restore-workspace --cli-input-json "file://$MLVAULT_HOME/restore.json" --wait
check "saying what it needs and what is free" err_has "not enough disk space in environment \"tiny\""
check "nothing was made" test "$(sql "SELECT COUNT(*) FROM workspaces WHERE name = 'big-copy'")" = 0
# Past the pre-flight check (skipValidation), the disk fills during the restore itself.
jq '.newWorkspaceParameters.skipValidation = true' "$MLVAULT_HOME/restore.json" >"$MLVAULT_HOME/restore-skip.json"
expect 1 "restoring 12 MiB onto the 8 MiB disk fails" restore-workspace --cli-input-json "file://$MLVAULT_HOME/restore-skip.json" --wait
echo "    $(head -c 400 <<<"$ERR")"
COPY=$(sql "SELECT crn FROM workspaces WHERE name = 'big-copy'")
check "naming the cause (No space left on device)" err_has "No space left on device"
check "the half-made workspace is recorded failed (its name freed)" test \
  "$(sql "SELECT status || ',' || (deleted_at IS NOT NULL) FROM workspaces WHERE name = 'big-copy'")" = "failed,1"
check "its folders are removed" test -z "$(ls -A "$TARGETFS/root" 2>/dev/null)"
check "no runtime of it is left" test -z "$(pgrep -f -- "--workspace-crn ${COPY:-none} ")"
check "the other file on that disk is untouched" test "$(cat "$TARGETFS/keep")" = "someone else's file"
check "the disk holds only that file again" test "$(du -sk "$TARGETFS" | cut -f1)" -lt 64
check "the source workspace still runs" test "$(ws_field "$WS" status)" = running
mount -o remount,size=128m "$TARGETFS"
expect 0 "with room, the same restore succeeds under the same name" restore-workspace \
  --cli-input-json "file://$MLVAULT_HOME/restore.json" --wait
check "running" test "$(j .status)" = running

echo "-- 3. the catalog's disk fills"
small_disk "$HOME2" 16m || { fail "could not mount a 16 MiB tmpfs"; exit 1; }
m2() { MLVAULT_HOME=$HOME2 mlv "$@"; }
m2 init
check "a home on the 16 MiB disk" test "$RC" = 0
m2 grant-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE
m2 create-environment --environment-name e1 --storage-root "$MLVAULT_HOME/storage2" --vault-location "$MLVAULT_HOME/vaults2"
check "an environment with storage and vaults elsewhere" test "$RC" = 0
m2 create-workspace --environment-name e1 --workspace-name w2 --wait
W2=$(j .workspaceCrn)
check "a workspace" test "$RC $(j .status)" = "0 running"
dd if=/dev/zero of="$HOME2/filler" bs=64k 2>/dev/null  # until the disk is full
echo "    free on the catalog's disk: $(df -k --output=avail "$HOME2" | tail -1 | tr -d ' ') KiB"
m2 create-environment --environment-name e2
check "a write fails cleanly (exit $RC, not a crash)" no_crash
check "saying the disk is full" grep -qiE "disk is full|no space left" <<<"$ERR"
echo "    $ERR"
m2 backup-workspace --workspace-crn "$W2" --backup-name onfull --wait
check "backup-workspace fails cleanly (exit $RC)" no_crash
check "saying the disk is full" grep -qiE "disk is full|no space left" <<<"$ERR"
echo "    $(head -c 300 <<<"$ERR")"
m2 describe-workspace --workspace-crn "$W2"
check "a read fails as cleanly, or answers (exit $RC)" test "$RC" = 0 -o "$RC" -lt 64
rm -f "$HOME2/filler"
m2 describe-workspace --workspace-crn "$W2"
W2_ENDPOINT=$(j .workspace.endpoint)
check "the workspace was not left quiesced" test "$(curl -s -H "Authorization: Bearer $(MLVAULT_HOME=$HOME2 "$MLVAULT" get-workspace-api-key --workspace-crn "$W2" | jq -r .apiKey)" \
  "$W2_ENDPOINT/api/v1/health" | jq -r .quiesced)" = false
check "the catalog is intact" test "$(sqlite3 "$HOME2/catalog.db" 'PRAGMA integrity_check')" = ok
m2 create-environment --environment-name e2
check "once space is freed, writes work again" test "$RC" = 0
m2 backup-workspace --workspace-crn "$W2" --backup-name afterfull --wait
check "and a backup succeeds" test "$RC $(j .backupStatus)" = "0 succeeded"
m2 list-environments
check "both environments are listed" test "$(j '[.environments[].name] | sort | join(",")')" = "e1,e2"

echo "-- 3b. the catalog's disk fills under a running server (its catalog open)"
MLVAULT_HOME=$HOME2 "$MLVAULT" server --listen 127.0.0.1:0 --no-start-workspaces >"$MLVAULT_HOME/server2.out" 2>"$MLVAULT_HOME/server2.err" </dev/null &
SERVER2=$!
at_cleanup_server() { kill -TERM "$SERVER2" 2>/dev/null && wait "$SERVER2" 2>/dev/null; }
wait_for 30 grep -q "listening on" "$MLVAULT_HOME/server2.out"
URL2=$(sed -n 's/^mlvault server listening on \([^ ]*\).*/\1/p' "$MLVAULT_HOME/server2.out")
CLIENT=$MLVAULT_HOME/client2
mkdir -p "$CLIENT" && chmod 700 "$CLIENT" && cp "$HOME2/credentials" "$CLIENT/credentials" && chmod 600 "$CLIENT/credentials"
rc() { MLVAULT_HOME=$CLIENT MLVAULT_ENDPOINT=$URL2 mlv "$@"; }
rc list-environments
check "the server answers (at $URL2)" test "$RC" = 0
dd if=/dev/zero of="$HOME2/filler" bs=64k 2>/dev/null
rc create-environment --environment-name e3
check "a write through the server fails cleanly (exit $RC)" no_crash
check "saying the disk is full" grep -qiE "disk is full|no space left" <<<"$ERR"
echo "    $(head -c 300 <<<"$ERR")"
rc backup-workspace --workspace-crn "$W2" --backup-name underserver --wait
check "a backup through the server fails cleanly (exit $RC)" no_crash
rc list-environments
check "a read through the server fails cleanly or answers (exit $RC)" test "$RC" = 0 -o "$RC" -lt 64
check "the server is still running" kill -0 "$SERVER2"
rm -f "$HOME2/filler"
rc create-environment --environment-name e3
check "once space is freed, writes through the server work again" test "$RC" = 0
rc backup-workspace --workspace-crn "$W2" --backup-name underserver2 --wait
check "and a backup through it succeeds" test "$RC $(j .backupStatus)" = "0 succeeded"
check "the workspace is not left quiesced" test "$(curl -s -H "Authorization: Bearer $(MLVAULT_HOME=$HOME2 "$MLVAULT" get-workspace-api-key --workspace-crn "$W2" | jq -r .apiKey)" \
  "$W2_ENDPOINT/api/v1/health" | jq -r .quiesced)" = false
at_cleanup_server
check "the catalog is intact" test "$(sqlite3 "$HOME2/catalog.db" 'PRAGMA integrity_check')" = ok
