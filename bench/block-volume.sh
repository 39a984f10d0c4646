#!/usr/bin/env bash
# block-volume.sh [SIZE]
#
# Block volumes: how much of a sparse image a backup reads, initial and after ~1% of its blocks
# changed, with SEEK_DATA only and with btrfs extent skipping, in ONE run.
# SIZE (default 20G, any `truncate -s` size in G or M) is the image's apparent size. FILL percent
# (default 50) of it is allocated, in runs of 64 MiB of random data at random places (a disk
# image: data in clusters, holes between); then CHANGE percent (default 1) of its 1 MiB blocks
# (the vault's block size) are overwritten with random data at random places (in data or in
# holes alike). The image lives in a subvolume of a loop-mounted btrfs image (needs root); each
# backup reads a read-only snapshot, and the previous snapshot is deleted before the next
# backup, as the product does. Steps, each under /usr/bin/time -v, the image's pages dropped
# from the page cache first (dd iflag=nocache, also on the loop file: cold reads):
#   initial            backup of snapshot s1, no parent (SEEK_DATA: only allocated data read)
#   incr-seekdata      backup of snapshot s2 with s1's point as parent, without CAP_SYS_ADMIN
#                      (setpriv): btrfs cannot be asked, so every allocated byte is read
#   incr-extents       the same backup with CAP_SYS_ADMIN: blocks whose extents are those the
#                      parent recorded are taken from the parent unread (it runs second, so the
#                      changed blocks' chunks are in the vault already: its writes are fewer)
#   restore            of the incr-extents point, compared with snapshot s2 (cmp)
# Environment: BENCH=/tmp/mlvault-block-volume (btrfs image, vault, results), FILL, CHANGE,
#   MLVAULT=<path> (default build/src/cli/mlvault of this repo), RESTORE=0 to skip the restore.
# Output: a table on stdout and in $RES/block-volume.md, the raw figures in $RES/results.csv.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SIZE=${1:-20G}
FILL=${FILL:-50}
CHANGE=${CHANGE:-1}
RESTORE=${RESTORE:-1}
case $SIZE in
  *G) MIB=$(( ${SIZE%G} * 1024 )) ;;
  *M) MIB=${SIZE%M} ;;
  *) MIB="" ;;
esac
[[ "$MIB" =~ ^[0-9]+$ ]] && [ "$MIB" -ge 256 ] ||
  { echo "block-volume.sh: SIZE must be like 20G or 4096M (at least 256M), got '$SIZE'" >&2; exit 2; }
BENCH=${BENCH:-/tmp/mlvault-block-volume}
MLVAULT=${MLVAULT:-$REPO/build/src/cli/mlvault}
source "$REPO/tests/control/btrfs_mount.sh"
WHY=$(btrfs_why_not)
[ -z "$WHY" ] || { echo "block-volume.sh: needs a loop-mounted btrfs image: $WHY" >&2; exit 2; }
for t in /usr/bin/time python3 jq setpriv "$MLVAULT"; do
  command -v "$t" >/dev/null || { echo "block-volume.sh: '$t' is not installed" >&2; exit 2; }
done
RES=$BENCH/results-$SIZE-$(date +%Y%m%d-%H%M%S)
mkdir -p "$BENCH" "$RES"
export MLVAULT_VAULT_PASSPHRASE=bench-passphrase-0123456789
cleanup() { btrfs_unmount; rm -rf "${BENCH:?}/vault" "${BENCH:?}/restore.img"; }
trap cleanup EXIT
log() { echo "[$(date +%T)] $*" | tee -a "$RES/run.log" >&2; }

# The btrfs image: the allocated data twice (snapshots share it; the changes add CHANGE%) + 1 GiB.
btrfs_mount "$(( MIB * FILL / 50 + MIB * CHANGE / 100 + 1024 ))M" "$BENCH" ||
  { echo "could not make and mount a btrfs image" >&2; exit 1; }
VOL=$BTRFS_MNT/vol
IMG=$VOL/disk.img
btrfs subvolume create "$VOL" >/dev/null
truncate -s "${MIB}M" "$IMG"
# Random places, fixed seed: FILL% of the image in 64 MiB runs, then CHANGE% of its blocks.
python3 - "$MIB" "$FILL" 64 > "$RES/runs" <<'PY'
import random, sys
mib, fill, run = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
slots = list(range(mib // run))
random.Random(1).shuffle(slots)
for s in sorted(slots[: len(slots) * fill // 100]): print(s * run, run)
PY
python3 - "$MIB" "$CHANGE" > "$RES/changes" <<'PY'
import random, sys
mib, pct = int(sys.argv[1]), float(sys.argv[2])
for b in sorted(random.Random(2).sample(range(mib), max(1, int(mib * pct / 100)))): print(b, 1)
PY
write_runs() {  # write_runs FILE: random data at each "offset_mib length_mib" line
  while read -r off len; do
    head -c "$((len << 20))" /dev/urandom | dd of="$IMG" bs=1M seek="$off" conv=notrunc status=none iflag=fullblock
  done < "$1"
}
log "$SIZE image, $FILL% allocated in $(wc -l < "$RES/runs") runs of 64 MiB; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
write_runs "$RES/runs"
sync
snap() { btrfs subvolume snapshot -r "$VOL" "$BTRFS_MNT/$1" >/dev/null || { echo "snapshot failed" >&2; exit 1; }; }
cold() {  # drops the image's pages and the loop file's pages from the page cache
  dd if="$1" iflag=nocache count=0 status=none
  dd if="$BTRFS_IMG" iflag=nocache count=0 status=none
}

CSV=$RES/results.csv
echo "step,rc,wall_s,user_s,sys_s,maxrss_kb,bytes_read,bytes_reused,bytes_new" > "$CSV"
measure() {  # measure STEP SOURCE CMD...
  local step=$1 src=$2; shift 2
  local tf=$RES/$step.time lf=$RES/$step.log
  cold "$src"
  /usr/bin/time -v -o "$tf" "$@" > "$lf" 2> "$RES/$step.err"
  local rc=$?
  local wall user sys rss read reused new
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tf")
  user=$(awk -F': ' '/User time/ {print $2}' "$tf")
  sys=$(awk -F': ' '/System time/ {print $2}' "$tf")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf")
  read=$(jq -r '.bytesRead // empty' "$lf" 2>/dev/null)
  reused=$(jq -r '.bytesReused // empty' "$lf" 2>/dev/null)
  new=$(jq -r '.bytesNew // empty' "$lf" 2>/dev/null)
  echo "$step,$rc,$wall,$user,$sys,$rss,$read,$reused,$new" >> "$CSV"
  log "$step: rc=$rc wall=${wall}s user=${user}s sys=${sys}s rss=${rss}kB read=$read reused=$reused new=$new"
  [ "$rc" -eq 0 ] || { log "FAILED, see $lf"; tail -5 "$RES/$step.err" >&2; }
}
point() { jq -r .recoveryPointId "$RES/$1.log"; }
B=(vault backup --vault "$BENCH/vault" --kind block)

"$MLVAULT" vault init --vault "$BENCH/vault" > /dev/null || exit 1
snap s1
measure initial "$BTRFS_MNT/s1/disk.img" "$MLVAULT" "${B[@]}" --source "$BTRFS_MNT/s1/disk.img"
P1=$(point initial)
btrfs subvolume delete "$BTRFS_MNT/s1" >/dev/null
log "changing $(wc -l < "$RES/changes") blocks of 1 MiB ($CHANGE%)"
write_runs "$RES/changes"
sync
snap s2
S2=$BTRFS_MNT/s2/disk.img
measure incr-seekdata "$S2" setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin \
  "$MLVAULT" "${B[@]}" --source "$S2" --parent "$P1"
measure incr-extents "$S2" "$MLVAULT" "${B[@]}" --source "$S2" --parent "$P1"
P2=$(point incr-extents)
VERIFY="restore not run"
if [ "$RESTORE" = 1 ]; then
  measure restore "$S2" "$MLVAULT" vault restore --vault "$BENCH/vault" --recovery-point "$P2" --target "$BENCH/restore.img"
  if cmp -s "$S2" "$BENCH/restore.img"; then VERIFY="restore of incr-extents identical to its snapshot (cmp)"
  else VERIFY="restore of incr-extents DIFFERS from its snapshot"; fi
  log "$VERIFY"
fi
ALLOC=$(( $(stat -c %b "$S2") * 512 ))

python3 - "$CSV" "$MIB" "$ALLOC" "$FILL" "$CHANGE" "$VERIFY" <<'PY' | tee "$RES/block-volume.md"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
size = int(sys.argv[2]) << 20
alloc = int(sys.argv[3])
print(f"{size / 2**30:g} GiB sparse image, {sys.argv[4]}% allocated ({alloc / 1e9:.2f} GB after "
      f"the change), {sys.argv[5]}% of its 1 MiB blocks changed; cold page cache; {sys.argv[6]}\n")
print("| step | wall s | user s | sys s | CPU s | peak RSS MB | MB read | MB read per GB of volume | MB taken from the parent | MB new |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for r in rows:
    cpu = float(r["user_s"] or 0) + float(r["sys_s"] or 0)
    rd = int(r["bytes_read"]) if r["bytes_read"] else None
    per_gb = f"{rd / 1e6 / (size / 1e9):.1f}" if rd is not None else "-"
    mb = lambda v: f"{int(v) / 1e6:.1f}" if v else "-"
    fail = "" if r["rc"] == "0" else f" FAILED rc={r['rc']}"
    print(f"| {r['step']}{fail} | {float(r['wall_s'] or 0):.2f} | {r['user_s']} | {r['sys_s']} | "
          f"{cpu:.2f} | {int(r['maxrss_kb'] or 0) / 1000:.0f} | {mb(r['bytes_read'])} | {per_gb} | "
          f"{mb(r['bytes_reused'])} | {mb(r['bytes_new'])} |")
PY
