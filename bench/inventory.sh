#!/usr/bin/env bash
# inventory.sh <mlvault> <mlvault-workspace> [FILES]   (default 200000)
#
# What recording a backup's contents costs at the end of a backup of many small files: a
# workspace whose project holds FILES files of 0-4 KiB (bench/make-small-files.py, 100 per
# folder), one `backup-workspace --wait` (the backup workflow, then the contents recorded in the
# catalog for describe-backup-contents, diff-backups and search-backups), then the contents alone:
# their rows deleted from the catalog and computed again by `describe-backup-contents`, timed with
# /usr/bin/time (wall seconds, peak RSS), and once more from the catalog. Prints the catalog's size
# per file. Run it with two builds one after the other to compare them.
#   DATA=<dir>   reuse a generated tree (default: $TMPDIR/mlvault-quiesce-files-FILES, shared with
#                tests/control/quiesce_measure.sh)
#   ROUNDS=N     computations of the contents after the backup (default 2)
#   MLVAULT_CATALOG=postgresql://...   the catalog on PostgreSQL (scripts/start-postgres.sh)
# CI runs it on 2,000 files as a smoke (CTest bench_inventory_smoke): it fails if a step fails or
# the contents miss a file.
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
source "$REPO/tests/control/lib.sh" "$1" "$2"
FILES=${3:-200000}
ROUNDS=${ROUNDS:-2}
DATA=${DATA:-${TMPDIR:-/tmp}/mlvault-quiesce-files-$FILES}
if [ ! -d "$DATA/tree" ]; then
  echo "generating $FILES small files in $DATA ..."
  rm -rf "$DATA"
  python3 "$REPO/bench/make-small-files.py" "$DATA/tree" "$FILES" >/dev/null
fi
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); mlvault $("$MLVAULT" --version 2>/dev/null | head -1)"
grant_backup_entitlement
"$MLVAULT" create-environment --environment-name bench >/dev/null
ws=$(create_workspace bench inv)
seed "$ws"
proot=$(dirname "$(ws_field "$ws" 'volumes[0].path')")
project=$(api "$ws" GET /api/v1/projects | jq -r '.projects[0].id')
cp -a "$DATA/tree" "$proot/projects/$project/tree"
sync

timed() {  # timed <label> <mlvault args...>: prints "<label>: <s> s, <MB> MB peak RSS"
  local label=$1
  shift
  if [ ! -x /usr/bin/time ]; then  # (the time package comes with scripts/install-deps.sh --bench)
    local t0=$EPOCHREALTIME
    "$MLVAULT" "$@" >"$MLVAULT_HOME/out.json" || { echo "$label: failed: $(cat "$MLVAULT_HOME/out.json")"; return 1; }
    awk -v l="$label" -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN{printf "%s: %.2f s, peak RSS not measured (no /usr/bin/time)\n", l, b - a}'
    return 0
  fi
  /usr/bin/time -f "%e %M" -o "$MLVAULT_HOME/time" "$MLVAULT" "$@" >"$MLVAULT_HOME/out.json" ||
    { echo "$label: failed: $(cat "$MLVAULT_HOME/out.json")"; return 1; }
  awk -v l="$label" '{printf "%s: %.2f s, %.0f MB peak RSS\n", l, $1, $2 / 1024}' "$MLVAULT_HOME/time"
}

timed "backup-workspace --wait (backup and contents)" backup-workspace --workspace-crn "$ws" \
  --backup-name b1 --wait || exit 1
b=$(jq -r .backupCrn "$MLVAULT_HOME/out.json")
"$MLVAULT" describe-workspace-backup --backup-crn "$b" | jq -r '.backup |
  "  the backup: \(.sizes.filesTotal) files; quiesced \(.quiescedSeconds * 1000 | floor) ms"'
echo "  its workflow: $(sql "SELECT (updated_at - created_at) / 1000 FROM workflows WHERE kind = 'backup'") ms from start to end (the contents are recorded after)"
files=$(sql "SELECT COUNT(*) FROM backup_inventory_files")
echo "  contents recorded: $files files"
check "the contents hold every file of the tree" test "$files" -ge "$FILES"
if [ -f "$MLVAULT_HOME/catalog.db" ]; then
  sql "PRAGMA wal_checkpoint(TRUNCATE)" >/dev/null
  echo "  catalog: $(( $(stat -c %s "$MLVAULT_HOME/catalog.db") / 1024 / 1024 )) MB, $(( $(stat -c %s "$MLVAULT_HOME/catalog.db") / files )) bytes per recorded file"
fi
for r in $(seq 1 "$ROUNDS"); do
  sql "DELETE FROM backup_inventory_files; DELETE FROM backup_inventory_items; DELETE FROM backup_inventories" >/dev/null
  timed "describe-backup-contents, computing the contents (round $r)" describe-backup-contents \
    --backup-crn "$b" --max-items 5 || exit 1
  check "  ... the same $files files again" test "$(sql "SELECT COUNT(*) FROM backup_inventory_files")" = "$files"
done
timed "describe-backup-contents, from the catalog" describe-backup-contents --backup-crn "$b" --max-items 5
"$MLVAULT" delete-workspace --workspace-crn "$ws" >/dev/null
