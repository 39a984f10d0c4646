#!/usr/bin/env bash
# small-files.sh [FILES]
#
# Many small files: FILES (default 1,000,000) files of 0-MAX_BYTES (default 4 KiB) random bytes
# in FILES/100 folders (10,000 for 1M; bench/make-small-files.py, fixed seed), backed up and
# restored by mlvault, restic and Borg in ONE run, each step under /usr/bin/time -v: wall,
# files/s, user and system CPU, peak RSS, repository size. Steps: init, initial backup,
# unchanged backup, full restore (into an empty folder, then compared with the source: file list, sizes and an md5 of every
# file), then a structure check, a full read check (every byte decrypted and re-hashed), and
# garbage collection after deleting the first backup (mlvault verify / verify --read-data /
# delete + gc; restic check / check --read-data / forget --prune; borg check / check
# --verify-data / delete + compact). The page cache is warm (the tree was just written or read). Peer settings as in
# ../shared/bench/peers.sh (restic --compression auto; Borg repokey-blake2, zstd,3). For scale,
# the same run also times the machine: a warm metadata walk (find -printf), a warm read (tar -c |
# cat) and a warm copy of the tree by 2 x cores parallel `cp -a` (what creating these files costs).
#
# Where files are created matters more than who creates them: ext4 allocating inodes just freed
# (a 1M-file tree deleted in the last minutes) made the same mlvault restore of 1M files take
# 118 s with 213 s of system time, against 20 s on inodes never used (bench/RESULTS.md). So each
# restore, and the machine's copy, goes into a freshly made ext4 filesystem of its own (a sparse
# image on a loop device with direct I/O, removed after the step: deleting the image frees its
# inodes at no cost), where root and loop devices allow (FRESH_FS=auto); otherwise into folders
# of $BENCH that are all removed only at the end of the run, so no restore follows a deletion.
# Environment:
#   BENCH=/tmp/mlvault-small-files   tree, repositories, restores, results ($BENCH/results-<n>)
#   TOOLS="mlvault restic borg"      which tools
#   MLVAULT=<path>                   default build/src/cli/mlvault of this repo
#   KEEP=1                           keep the repositories (and, without FRESH_FS, restored trees)
#   FRESH_FS=auto|1|0                restore into a fresh ext4 filesystem per step (auto: as root
#                                    where losetup and mkfs.ext4 exist)
#   MAX_BYTES=4096                   largest file; the 10M stretch run is
#                                    `MAX_BYTES=100 bash bench/small-files.sh 10000000`
#   TREE_IMAGE=auto|1|0              generate the tree in an ext4 image of its own, mounted at
#                                    $BENCH/tree-<n>[-<max>] and kept (auto: with FRESH_FS, from
#                                    5M files: deleting 10M files from the root filesystem would
#                                    cost ~15 minutes of system time and its free inodes)
#   MACHINE=0                        skip the machine's rows (walk, read, copy: at 10M files the
#                                    copy alone takes minutes)
#   HEAPTRACK=DIR                    run each mlvault step under heaptrack, writing DIR/<step>.zst
#                                    (where the heap goes: heaptrack_print -p -f DIR/initial.zst;
#                                    times and peak RSS then include heaptrack's own cost)
# Filesystems made here for trees of files of at most 128 bytes use ext4's inline_data (such a
# file lives in its inode): otherwise 10M files would take 40 GB of 4 KiB blocks.
# Output: a table on stdout and $RES/small-files.md, $RES/results.csv.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
FILES=${1:-1000000}
[[ "$FILES" =~ ^[0-9]+$ ]] && [ "$FILES" -gt 0 ] || { echo "small-files.sh: FILES must be a positive number, got '$FILES'" >&2; exit 2; }
BENCH=${BENCH:-/tmp/mlvault-small-files}
TOOLS=(${TOOLS:-mlvault restic borg})
MLVAULT=${MLVAULT:-$REPO/build/src/cli/mlvault}
KEEP=${KEEP:-0}
HEAPTRACK=${HEAPTRACK:-}
FRESH_FS=${FRESH_FS:-auto}
MAX_BYTES=${MAX_BYTES:-4096}
[[ "$MAX_BYTES" =~ ^[0-9]+$ ]] || { echo "small-files.sh: MAX_BYTES must be a number, got '$MAX_BYTES'" >&2; exit 2; }
TREE_IMAGE=${TREE_IMAGE:-auto}
if [ "$FRESH_FS" = auto ]; then
  FRESH_FS=0
  if [ "$(id -u)" = 0 ] && command -v losetup >/dev/null && command -v mkfs.ext4 >/dev/null &&
     losetup -f >/dev/null 2>&1; then FRESH_FS=1; fi
fi
if [ "$TREE_IMAGE" = auto ]; then
  TREE_IMAGE=0
  [ "$FRESH_FS" = 1 ] && [ "$FILES" -ge 5000000 ] && TREE_IMAGE=1
fi
MKFS_OPTS=()
[ "$MAX_BYTES" -le 128 ] && MKFS_OPTS=(-O inline_data)
TREE=$BENCH/tree-$FILES
[ "$MAX_BYTES" = 4096 ] || TREE=$TREE-$MAX_BYTES
RES=$BENCH/results-$FILES-$(date +%Y%m%d-%H%M%S)
REPOS=$BENCH/repos
CACHES=$BENCH/caches
RESTORES=$BENCH/restore
PASS=bench-passphrase-0123456789
export RESTIC_PASSWORD=$PASS BORG_PASSPHRASE=$PASS MLVAULT_VAULT_PASSPHRASE=$PASS
export RESTIC_CACHE_DIR=$CACHES/restic BORG_BASE_DIR=$CACHES/borg
export BORG_RELOCATED_REPO_ACCESS_IS_OK=yes BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=yes
for t in /usr/bin/time python3 "${TOOLS[@]/mlvault/$MLVAULT}" ${HEAPTRACK:+heaptrack}; do
  command -v "$t" >/dev/null || { echo "small-files.sh: '$t' is not installed (scripts/install-deps.sh --bench)" >&2; exit 2; }
done
mkdir -p "$BENCH" "$RES" "$REPOS" "$CACHES" "$RESTORES"
log() { echo "[$(date +%T)] $*" | tee -a "$RES/run.log" >&2; }

# The tree in an image of its own (TREE_IMAGE=1): $TREE.img, mounted at $TREE; complete once
# $TREE.img.done exists.
mount_tree() {
  mountpoint -q "$TREE" && return 0
  local loop
  mkdir -p "$TREE" && loop=$(losetup --find --show --direct-io=on "$TREE.img") &&
    mount "$loop" "$TREE" || { echo "small-files.sh: cannot mount $TREE.img at $TREE" >&2; exit 1; }
}
unmount_tree() {
  [ "$TREE_IMAGE" = 1 ] && mountpoint -q "$TREE" || return 0
  local loop
  loop=$(findmnt -n -o SOURCE "$TREE")
  umount "$TREE" && losetup -d "$loop"
}
if [ "$TREE_IMAGE" = 1 ]; then
  if [ ! -e "$TREE.img.done" ]; then
    log "generating $FILES files of 0-$MAX_BYTES bytes in an image of their own: $TREE.img"
    unmount_tree
    rm -f "$TREE.img"
    # (MAX_BYTES + 4 KiB) per file at most, plus 4 GiB; half as many inodes again as files.
    truncate -s $(( (FILES * (MAX_BYTES + 4096) / 1048576 + 4096) * 1048576 )) "$TREE.img" &&
      mkfs.ext4 -q -F -N $((FILES * 3 / 2 + 10000)) "${MKFS_OPTS[@]}" -E lazy_itable_init=0,lazy_journal_init=0 "$TREE.img" ||
      { echo "small-files.sh: cannot make $TREE.img" >&2; exit 1; }
    mount_tree
    python3 "$HERE/make-small-files.py" "$TREE/t" "$FILES" "$((FILES / 100 > 0 ? FILES / 100 : 1))" "$MAX_BYTES" ||
      { echo "generation failed" >&2; exit 1; }
    touch "$TREE.img.done"
  fi
  mount_tree
  TREE=$TREE/t
elif [ ! -d "$TREE" ]; then
  log "generating $FILES files of 0-$MAX_BYTES bytes in $((FILES / 100 > 0 ? FILES / 100 : 1)) folders: $TREE"
  rm -rf "$TREE.partial"
  python3 "$HERE/make-small-files.py" "$TREE.partial" "$FILES" "$((FILES / 100 > 0 ? FILES / 100 : 1))" "$MAX_BYTES" ||
    { echo "generation failed" >&2; exit 1; }
  mv "$TREE.partial" "$TREE"
fi
BYTES=$(du -sb --apparent-size "$TREE" | cut -f1)
log "tree: $FILES files, $BYTES bytes; $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); fresh filesystem per restore: $FRESH_FS"

# target_for NAME: an empty directory to restore into, on a fresh filesystem (FRESH_FS=1:
# $RESTORES/NAME is its mount point) or a new folder (a leftover of an earlier KEEP=1 run is
# removed first); release NAME unmounts and removes it (without FRESH_FS, folders stay until
# release_all at the end, which keeps them with KEEP=1).
target_for() {
  local dir=$RESTORES/$1 img=$BENCH/fs-$1.img loop
  release "$1" now
  mkdir -p "$dir"
  if [ "$FRESH_FS" = 1 ]; then
    # Room for the data three times over plus 4 GiB (whole MiBs: a loop device wants whole
    # sectors), and half as many inodes again as files.
    truncate -s $(( (BYTES * 3 / 1048576 + 4096) * 1048576 )) "$img" &&
      mkfs.ext4 -q -F -N $((FILES * 3 / 2 + 10000)) "${MKFS_OPTS[@]}" -E lazy_itable_init=0,lazy_journal_init=0 "$img" &&
      loop=$(losetup --find --show --direct-io=on "$img") &&
      mount "$loop" "$dir" || { echo "small-files.sh: cannot make a filesystem for $1 (FRESH_FS=0 restores into folders)" >&2; exit 1; }
  fi
  echo "$dir/t"
}
release() {
  local dir=$RESTORES/$1 loop
  if mountpoint -q "$dir" 2>/dev/null; then
    loop=$(findmnt -n -o SOURCE "$dir")
    umount "$dir" && losetup -d "$loop"
    rm -f "$BENCH/fs-$1.img"
    rmdir "$dir"
  elif [ "$FRESH_FS" = 1 ] || [ "${2:-}" = now ]; then
    rm -rf "${dir:?}" "$BENCH/fs-$1.img"
  fi
}
release_all() {
  local d
  for d in "$RESTORES"/*; do
    [ -e "$d" ] && release "$(basename "$d")" "$([ "$KEEP" = 1 ] || echo now)"
  done
  if [ "$TREE_IMAGE" = 1 ]; then TREE=${TREE%/t}; unmount_tree; fi
}
trap release_all EXIT
# A fingerprint of a tree: relative path, size and md5 of every file, sorted.
fingerprint() { (cd "$1" && find . -type f -printf '%P\0' | sort -z | xargs -0 md5sum) | md5sum | cut -d' ' -f1; }
WANT=$(fingerprint "$TREE")

CSV=$RES/results.csv
echo "tool,step,rc,wall_s,user_s,sys_s,maxrss_kb,repo_bytes" > "$CSV"
measure() {  # measure TOOL STEP CMD...
  local tool=$1 step=$2; shift 2
  local tf=$RES/$tool.$step.time lf=$RES/$tool.$step.log
  if [ -n "$HEAPTRACK" ] && [ "$tool" = mlvault ]; then
    mkdir -p "$HEAPTRACK"
    set -- heaptrack -o "$HEAPTRACK/$step" "$@"
  fi
  /usr/bin/time -v -o "$tf" "$@" > "$lf" 2>&1
  local rc=$?
  local wall user sys rss repo
  wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' "$tf")
  user=$(awk -F': ' '/User time/ {print $2}' "$tf")
  sys=$(awk -F': ' '/System time/ {print $2}' "$tf")
  rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf")
  repo=$(du -sb "$REPOS/$tool" 2>/dev/null | cut -f1)
  echo "$tool,$step,$rc,$wall,$user,$sys,$rss,${repo:-0}" >> "$CSV"
  log "$tool $step: rc=$rc wall=${wall}s user=${user}s sys=${sys}s rss=${rss}kB repo=${repo:-0}B"
  [ "$rc" -eq 0 ] || { log "FAILED, see $lf"; tail -5 "$lf" >&2; }
}

# The machine, same run: a warm metadata walk and a warm read of the tree.
find "$TREE" -printf '%s %T@\n' > /dev/null
if [ "${MACHINE:-1}" != 0 ]; then
  measure machine walk find "$TREE" -printf '%s %T@\n'
  export TREE
  measure machine read bash -c 'tar -C "$TREE" -cf - . | cat > /dev/null'
  COPY=$(target_for machine-copy) && mkdir -p "$COPY"
  export COPY JOBS=$(( $(nproc) * 2 ))
  measure machine copy bash -c 'cd "$TREE" && find . -mindepth 1 -maxdepth 1 -print0 | xargs -0 -P "$JOBS" -n 64 cp -a -t "$COPY"'
  release machine-copy
fi

for t in "${TOOLS[@]}"; do
  rm -rf "${REPOS:?}/$t" "${CACHES:?}/$t"
  mkdir -p "$CACHES/$t"
  target=$(target_for "$t") || exit 1
  case $t in
    mlvault)
      measure mlvault init "$MLVAULT" vault init --vault "$REPOS/mlvault"
      measure mlvault initial "$MLVAULT" vault backup --vault "$REPOS/mlvault" --kind filesystem --source "$TREE"
      id=$(jq -r '.recoveryPointId // .id' "$RES/mlvault.initial.log" 2>/dev/null | tail -1)
      measure mlvault unchanged "$MLVAULT" vault backup --vault "$REPOS/mlvault" --kind filesystem --source "$TREE" --parent "$id"
      id=$(jq -r '.recoveryPointId // .id' "$RES/mlvault.unchanged.log" 2>/dev/null | tail -1)
      measure mlvault restore "$MLVAULT" vault restore --vault "$REPOS/mlvault" --recovery-point "$id" --target "$target"
      root=$target
      measure mlvault verify "$MLVAULT" vault verify --vault "$REPOS/mlvault"
      measure mlvault verify-data "$MLVAULT" vault verify --vault "$REPOS/mlvault" --read-data
      first=$(jq -r '.recoveryPointId // .id' "$RES/mlvault.initial.log" 2>/dev/null | tail -1)
      measure mlvault delete "$MLVAULT" vault delete --vault "$REPOS/mlvault" --recovery-point "$first"
      measure mlvault gc "$MLVAULT" vault gc --vault "$REPOS/mlvault" ;;
    restic)
      measure restic init restic -r "$REPOS/restic" init --repository-version 2
      measure restic initial restic -r "$REPOS/restic" --compression auto backup --host bench "$TREE"
      measure restic unchanged restic -r "$REPOS/restic" --compression auto backup --host bench "$TREE"
      measure restic restore restic -r "$REPOS/restic" restore latest --host bench --target "$target"
      root=$target$TREE
      measure restic verify restic -r "$REPOS/restic" check
      measure restic verify-data restic -r "$REPOS/restic" check --read-data
      measure restic gc restic -r "$REPOS/restic" forget --host bench --keep-last 1 --prune ;;
    borg)
      measure borg init borg init --encryption repokey-blake2 "$REPOS/borg"
      measure borg initial bash -c "cd '$(dirname "$TREE")' && borg create --compression zstd,3 '$REPOS/borg::b1' '$(basename "$TREE")'"
      measure borg unchanged bash -c "cd '$(dirname "$TREE")' && borg create --compression zstd,3 '$REPOS/borg::b2' '$(basename "$TREE")'"
      mkdir -p "$target"
      measure borg restore bash -c "cd '$target' && borg extract '$REPOS/borg::b2'"
      root=$target/$(basename "$TREE")
      measure borg verify borg check "$REPOS/borg"
      measure borg verify-data borg check --verify-data "$REPOS/borg"
      measure borg delete borg delete "$REPOS/borg::b1"
      measure borg gc borg compact "$REPOS/borg" ;;
    *) log "unknown tool $t"; continue ;;
  esac
  got=$(fingerprint "$root" 2>/dev/null)
  if [ "$got" = "$WANT" ]; then echo "$t OK" >> "$RES/verify.txt"; log "$t restore: identical to the source"
  else echo "$t DIFFERENT" >> "$RES/verify.txt"; log "$t restore: DIFFERS from the source"; fi
  release "$t"
done
release_all
[ "$KEEP" = 1 ] || rm -rf "${REPOS:?}" "${CACHES:?}"

python3 - "$CSV" "$FILES" "$RES/verify.txt" "$BYTES" <<'PY' | tee "$RES/small-files.md"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
files, nbytes = int(sys.argv[2]), int(sys.argv[4])
verify = dict(l.split() for l in open(sys.argv[3])) if len(open(sys.argv[3]).read()) else {}
print(f"{files:,} files, {nbytes / 2**20:,.0f} MiB; warm page cache\n")
print("| tool | step | wall s | files/s | user s | sys s | peak RSS MB | repository MiB | note |")
print("|---|---|---:|---:|---:|---:|---:|---:|---|")
for r in rows:
    w = float(r["wall_s"] or 0)
    rate = f"{files / w:,.0f}" if w > 0 and r["step"] not in ("init", "delete", "gc") else "-"
    note = "" if r["rc"] == "0" else f"FAILED rc={r['rc']}"
    if r["step"] == "restore":
        note = (note + " " if note else "") + ("restore identical" if verify.get(r["tool"]) == "OK" else "restore DIFFERS")
    repo = f"{int(r['repo_bytes']) / 2**20:,.0f}" if r["tool"] != "machine" else "-"
    print(f"| {r['tool']} | {r['step']} | {w:.2f} | {rate} | {r['user_s']} | {r['sys_s']} | "
          f"{int(r['maxrss_kb'] or 0) / 1000:.0f} | {repo} | {note} |")
PY
grep -q DIFFERENT "$RES/verify.txt" && exit 1
exit 0
