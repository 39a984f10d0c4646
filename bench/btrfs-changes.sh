#!/usr/bin/env bash
# btrfs-changes.sh [FILES]
#
# Change detection on btrfs snapshots, against today's walk and the peers, in ONE run.
# FILES (default 200,000) files of 0-4 KiB (bench/make-small-files.py, fixed seed, FILES/100
# folders) in a subvolume of a loop-mounted btrfs image (needs root). Steps, each under
# /usr/bin/time -v (wall, user, sys, peak RSS):
#   machine walk    find -printf over the snapshot (the metadata walk every tool without change
#                   detection must do at least; warm cache)
#   mlvault initial backup of read-only snapshot s1
#   mlvault unchanged, 1pct
#                   backup of a new snapshot (nothing changed / 1% of the files appended to)
#                   with the previous point as parent: btrfs change detection. Before the
#                   unchanged one, the walk and restic steps read every file of the live
#                   subvolume and a reader step reads every file of it, so every atime is updated
#                   (relatime) between the two snapshots.
#   walk unchanged, walk 1pct
#                   the same content backed up from the writable subvolume (not a snapshot:
#                   every directory walked and every file stat'ed, today's method elsewhere)
#   restic unchanged, 1pct   (TOOLS contains restic) restic backup of the writable subvolume
#   mlvault restore of the 1pct point, compared with its snapshot (path, size, md5 of every file)
# Environment: BENCH=/tmp/mlvault-btrfs-changes (image, vault, results), TOOLS="mlvault restic",
#   MLVAULT=<path> (default build/src/cli/mlvault of this repo).
# Output: a table on stdout and in $RES/btrfs-changes.md, the raw figures in $RES/results.csv.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
FILES=${1:-200000}
[[ "$FILES" =~ ^[0-9]+$ ]] && [ "$FILES" -gt 0 ] || { echo "btrfs-changes.sh: FILES must be a positive number, got '$FILES'" >&2; exit 2; }
BENCH=${BENCH:-/tmp/mlvault-btrfs-changes}
TOOLS=" ${TOOLS:-mlvault restic} "
MLVAULT=${MLVAULT:-$REPO/build/src/cli/mlvault}
source "$REPO/tests/control/btrfs_mount.sh"
WHY=$(btrfs_why_not)
[ -z "$WHY" ] || { echo "btrfs-changes.sh: needs a loop-mounted btrfs image: $WHY" >&2; exit 2; }
for t in /usr/bin/time python3 jq "$MLVAULT"; do
  command -v "$t" >/dev/null || { echo "btrfs-changes.sh: '$t' is not installed" >&2; exit 2; }
done
RES=$BENCH/results-$FILES-$(date +%Y%m%d-%H%M%S)
mkdir -p "$BENCH" "$RES"
PASS=bench-passphrase-0123456789
export MLVAULT_VAULT_PASSPHRASE=$PASS RESTIC_PASSWORD=$PASS RESTIC_CACHE_DIR=$BENCH/restic-cache
cleanup() { btrfs_unmount; rm -rf "${BENCH:?}/vault" "${BENCH:?}/restic" "${BENCH:?}/restic-cache" "${BENCH:?}/restore"; }
trap cleanup EXIT
log() { echo "[$(date +%T)] $*" | tee -a "$RES/run.log" >&2; }

# Image size: ~2 KiB of data and ~1 KiB of metadata per file, twice over, at least 1 GiB.
SIZE_MB=$(( FILES * 8 / 1024 + 1024 ))
btrfs_mount "${SIZE_MB}M" "$BENCH" || { echo "could not make and mount a btrfs image" >&2; exit 1; }
VOL=$BTRFS_MNT/vol
btrfs subvolume create "$VOL" >/dev/null
log "generating $FILES files in $VOL"
python3 "$HERE/make-small-files.py" "$VOL/tree" "$FILES" || { echo "generation failed" >&2; exit 1; }
sync
# Change detection counts an inode changed less than 60 s before the parent's snapshot as changed
# (btrfs_changes.h, kCtimeMarginSeconds); a workspace whose files were all written in the last
# minute is not the case measured here, so the first snapshot is taken past that margin.
log "waiting 62 s past the last write"
sleep 62
# snap NAME: a read-only snapshot of the workspace at $BTRFS_MNT/NAME.
snap() { btrfs subvolume snapshot -r "$VOL" "$BTRFS_MNT/$1" >/dev/null || { echo "snapshot failed" >&2; exit 1; }; }
log "$FILES files; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

CSV=$RES/results.csv
echo "tool,step,rc,wall_s,user_s,sys_s,maxrss_kb,files_walked_dirs_reused" > "$CSV"
measure() {  # measure TOOL STEP CMD...
  local tool=$1 step=$2; shift 2
  local tf=$RES/$tool.$step.time lf=$RES/$tool.$step.log
  /usr/bin/time -v -o "$tf" "$@" > "$lf" 2>&1
  local rc=$?
  local wall user sys rss extra=""
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tf")
  user=$(awk -F': ' '/User time/ {print $2}' "$tf")
  sys=$(awk -F': ' '/System time/ {print $2}' "$tf")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf")
  { [ "$tool" = mlvault ] || [ "$tool" = walk ]; } && [ "$step" != restore ] && extra=$(jq -r '"\(.dirsReused) dirs reused; \(.inodesChanged) inodes changed; \(.bytesRead) B read"' "$lf" 2>/dev/null | tail -1)
  echo "$tool,$step,$rc,$wall,$user,$sys,$rss,$extra" >> "$CSV"
  log "$tool $step: rc=$rc wall=${wall}s user=${user}s sys=${sys}s rss=${rss}kB $extra"
  [ "$rc" -eq 0 ] || { log "FAILED, see $lf"; tail -5 "$lf" >&2; }
}
point() { jq -r .recoveryPointId "$RES/$1.log"; }
# Appends a line to every 100th file (1%).
change_1pct() { find "$VOL/tree" -type f | awk 'NR % 100 == 0' | while read -r f; do echo x >> "$f"; done; }
V=(vault backup --vault "$BENCH/vault" --kind filesystem)

"$MLVAULT" vault init --vault "$BENCH/vault" > /dev/null || exit 1
snap s1; S1=$BTRFS_MNT/s1
find "$S1" -printf '%s %T@\n' > /dev/null
measure machine walk find "$S1" -printf '%s %T@\n'
measure mlvault initial "$MLVAULT" "${V[@]}" --source "$S1"
P1=$(point mlvault.initial)
measure walk initial "$MLVAULT" "${V[@]}" --source "$VOL" --parent "$P1"
W1=$(point walk.initial)
case $TOOLS in *" restic "*)
  restic -r "$BENCH/restic" init --repository-version 2 > /dev/null
  measure restic initial restic -r "$BENCH/restic" --compression auto backup --host bench "$VOL" ;;
esac

# A reader of the live workspace: every file's and directory's atime is updated (relatime).
measure reader read-all bash -c 'find "$1" -type f -exec cat {} + > /dev/null; ls -laR "$1" > /dev/null' _ "$VOL"
snap s2; S2=$BTRFS_MNT/s2
measure mlvault unchanged "$MLVAULT" "${V[@]}" --source "$S2" --parent "$P1"
P2=$(point mlvault.unchanged)
measure walk unchanged "$MLVAULT" "${V[@]}" --source "$VOL" --parent "$W1"
W2=$(point walk.unchanged)
case $TOOLS in *" restic "*)
  measure restic unchanged restic -r "$BENCH/restic" --compression auto backup --host bench "$VOL" ;;
esac

log "changing 1% of the files"
change_1pct
sync
snap s3; S3=$BTRFS_MNT/s3
measure mlvault 1pct "$MLVAULT" "${V[@]}" --source "$S3" --parent "$P2"
P3=$(point mlvault.1pct)
measure walk 1pct "$MLVAULT" "${V[@]}" --source "$VOL" --parent "$W2"
case $TOOLS in *" restic "*)
  measure restic 1pct restic -r "$BENCH/restic" --compression auto backup --host bench "$VOL" ;;
esac

measure mlvault restore "$MLVAULT" vault restore --vault "$BENCH/vault" --recovery-point "$P3" --target "$BENCH/restore"
fingerprint() { (cd "$1" && find . -type f -printf '%P\0' | sort -z | xargs -0 md5sum) | md5sum | cut -d' ' -f1; }
if [ "$(fingerprint "$S3")" = "$(fingerprint "$BENCH/restore")" ]; then VERIFY="restore identical to its snapshot"
else VERIFY="restore DIFFERS from its snapshot"; fi
log "$VERIFY"

python3 - "$CSV" "$FILES" "$VERIFY" <<'PY' | tee "$RES/btrfs-changes.md"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
files = int(sys.argv[2])
walk = next((float(r["wall_s"]) for r in rows if r["tool"] == "machine"), 0)
print(f"{files:,} files of 0-4 KiB on btrfs; warm page cache; {sys.argv[3]}\n")
print("| tool | step | wall s | x machine walk | user s | sys s | peak RSS MB | note |")
print("|---|---|---:|---:|---:|---:|---:|---|")
for r in rows:
    w = float(r["wall_s"] or 0)
    ratio = f"{w / walk:.2f}" if walk > 0 else "-"
    note = r["files_walked_dirs_reused"] + ("" if r["rc"] == "0" else f" FAILED rc={r['rc']}")
    print(f"| {r['tool']} | {r['step']} | {w:.2f} | {ratio} | {r['user_s']} | {r['sys_s']} | "
          f"{int(r['maxrss_kb'] or 0) / 1000:.0f} | {note} |")
PY
case $VERIFY in *DIFFERS*) exit 1 ;; esac
exit 0
