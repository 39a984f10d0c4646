#!/usr/bin/env bash
# Change detection on btrfs snapshots (src/vault/btrfs_changes.h): a backup of a read-only
# snapshot whose parent was a snapshot of the same subvolume walks only the directories that
# changed and takes the others' trees from the parent. Between backups the test changes, adds,
# deletes and renames files and directories, hard links, symlinks, modes and extended
# attributes, and proves that each restore equals its snapshot, that the totals equal those of a
# full walk, and that unchanged directories were not walked. Then: readers updating every atime
# of the live volume change nothing; a content change with the mtime set back, a rename, a
# deletion and a directory's mode are found; above a quarter of the entries changed, the walk.
# Runs on a btrfs image it makes and loop-mounts (root); exits 77 (skipped) where it cannot.
#   btrfs_changes_test.sh /path/to/mlvault
set -uo pipefail
M=${1:?usage: btrfs_changes_test.sh MLVAULT_BINARY}
HERE=$(dirname "$0")
source "$HERE/../control/btrfs_mount.sh"
btrfs_skip_unless_mountable "the btrfs change detection test"
command -v getfattr >/dev/null || { echo "SKIP: needs getfattr/setfattr (apt-get install attr)"; exit 77; }
T=$(mktemp -d /tmp/mlvault-btrfs-changes.XXXXXX)
cleanup() { btrfs_unmount; rm -rf "$T"; }
trap cleanup EXIT
btrfs_mount 512M || { echo "FAIL could not make and mount a btrfs image"; exit 1; }
source "$HERE/assert.sh"
V=(--vault "$T/v" --key-file "$T/key")

# Everything a restore must reproduce, path by path: type, mode, owner, size, mtime (not for
# symlinks), link target, content hash, extended attributes, and which paths share an inode.
describe() {
  (
    cd "$1" || exit 1
    find . -mindepth 1 \( -type l -printf '%p l %U %G %l\n' \) -o \
      \( -type d -printf '%p d %m %U %G %T@\n' \) -o \( -printf '%p %y %m %U %G %s %T@\n' \) | sort
    find . -type f -exec sha256sum {} + | sort -k2
    getfattr -R -h -d -m - -e hex . 2>/dev/null |
      awk '/^# file: / {f = substr($0, 9); next} NF {print f, $0}' | sort
    find . -type f -links +1 -printf '%i %p\n' | sort -k2 | awk '{g[$1] = g[$1] " " $2} END {for (i in g) print "link" g[i]}' | sort
  )
}
same_tree() {  # same_tree SNAPSHOT RESTORED NAME
  if diff <(describe "$1") <(describe "$2") > "$T/diff"; then
    pass "$3: the restore equals the snapshot"
  else
    fail "$3: the restore differs from the snapshot: $(head -20 "$T/diff")"
  fi
}
# snapshot NAME: a read-only snapshot of the workspace at $BTRFS_MNT/NAME.
snapshot() {
  btrfs subvolume snapshot -r "$BTRFS_MNT/vol" "$BTRFS_MNT/$1" >/dev/null ||
    { fail "cannot snapshot the workspace"; exit 1; }
}

# The workspace: a subvolume with many untouched directories and some that will change.
btrfs subvolume create "$BTRFS_MNT/vol" >/dev/null
W=$BTRFS_MNT/vol
for d in $(seq 1 40); do
  mkdir -p "$W/keep/d$d/sub"
  for f in $(seq 1 10); do echo "keep $d $f" > "$W/keep/d$d/f$f"; done
  echo "deep $d" > "$W/keep/d$d/sub/deep"
done
mkdir -p "$W/work/a/b/c" "$W/work/old" "$W/work/gone/x" "$W/other"
for f in $(seq 1 20); do head -c $((f * 300)) /dev/urandom > "$W/work/a/f$f"; done
head -c 2000000 /dev/urandom > "$W/work/a/b/big.bin"
echo same > "$W/work/a/b/c/same-size"
echo to-move > "$W/work/old/moved.txt"
echo gone > "$W/work/gone/x/file"
: > "$W/work/empty"
ln -s ../work/a/f1 "$W/other/link"
ln "$W/work/a/f2" "$W/other/hard"
setfattr -n user.tag -v one "$W/work/a/f3"
setfattr -n user.dir -v d "$W/keep/d7"
mkfifo "$W/other/fifo"
MADE=$(date +%s)

expect 0 "keygen" "$M" vault keygen --key-file "$T/key"
expect 0 "init" "$M" vault init "${V[@]}"

snapshot s1 && S1=$BTRFS_MNT/s1
expect 0 "first backup (a snapshot, no parent)" "$M" vault backup "${V[@]}" --source "$S1"
P1=$(json 'd["recoveryPointId"]')
FILES1=$(json 'd["files"]')
[ "$(json 'd["dirsReused"]')" = 0 ] && pass "the first backup walks everything" || fail "first backup: $(cat "$T/out")"

echo "-- nothing changed"
# An inode changed less than 60 s (the margin) before the parent's snapshot counts as changed:
# the parent of the first round of changes is taken past the margin after the workspace was made.
left=$((MADE + 62 - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
snapshot s2 && S2=$BTRFS_MNT/s2
expect 0 "unchanged backup" "$M" vault backup "${V[@]}" --source "$S2" --parent "$P1"
P2=$(json 'd["recoveryPointId"]')
[ "$(json 'd["dirsReused"]')" = 1 ] && pass "the parent's whole tree is reused" || fail "unchanged: $(cat "$T/out")"
[ "$(json 'd["files"]')" = "$(json 'd["filesUnchanged"]')" ] && pass "every file counted unchanged" || fail "unchanged counts: $(cat "$T/out")"
[ "$(json 'd["files"]')" = "$FILES1" ] && pass "the file total is the parent's ($FILES1)" || fail "unchanged files: $(json 'd["files"]') vs $FILES1"
expect 0 "restore it" "$M" vault restore "${V[@]}" --recovery-point "$P2" --target "$T/r2"
same_tree "$S2" "$T/r2" "unchanged"

echo "-- changes of every kind"
head -c 2000000 /dev/urandom > "$T/x" && cat "$T/x" > "$W/work/a/b/big.bin"  # same size
touch -d '2001-01-01' "$W/work/a/b/big.bin"                                  # mtime set back
echo diff > "$W/work/a/b/c/same-size"                                        # same size too
echo more >> "$W/work/a/f5"
rm "$W/work/a/f6"
echo new > "$W/work/a/new.txt"
mkdir -p "$W/work/fresh/y" && echo fresh > "$W/work/fresh/y/z"
mv "$W/work/old/moved.txt" "$W/keep/d3/moved.txt"
mv "$W/keep/d4" "$W/work/d4-renamed"
rm -r "$W/work/gone"
setfattr -n user.tag -v two "$W/work/a/f3"
setfattr -n user.added -v x "$W/keep/d9/sub/deep"     # deep in an otherwise untouched tree
setfattr -x user.dir "$W/keep/d7"
chmod 0700 "$W/keep/d11"
chmod 0600 "$W/keep/d12/f1"
ln "$W/keep/d13/f1" "$W/keep/d14/hard-to-13"           # a new hard link between two trees
rm "$W/other/link" && ln -s ../keep/d1/f1 "$W/other/link"
rm -r "$W/keep/d15" && echo "now a file" > "$W/keep/d15"
snapshot s3 && S3=$BTRFS_MNT/s3
expect 0 "full walk of the changed snapshot (no parent)" "$M" vault backup "${V[@]}" --source "$S3" --label full=1
FULL=$(cat "$T/out")
expect 0 "backup with change detection" "$M" vault backup "${V[@]}" --source "$S3" --parent "$P2"
P3=$(json 'd["recoveryPointId"]')
DETECTED=$(cat "$T/out")
R=$(json 'd["dirsReused"]')
[ "$R" -ge 10 ] && pass "untouched directories were reused ($R)" || fail "too few reused: $(cat "$T/out")"
for k in files dirs otherEntries bytesTotal; do
  want=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$FULL" "$k")
  [ "$(json "d['$k']")" = "$want" ] && pass "$k equals the full walk's ($want)" || fail "$k: $(json "d['$k']") vs full walk $want"
done
[ "$(json 'd["bytesRead"]')" -ge 2000000 ] && pass "the rewritten file was read" || fail "bytesRead: $(cat "$T/out")"
expect 0 "restore it" "$M" vault restore "${V[@]}" --recovery-point "$P3" --target "$T/r3"
same_tree "$S3" "$T/r3" "changed"
# The search split in two ranges of inode numbers searched at once (as above 50,000 inodes)
# finds the same changes.
expect 0 "the same backup with the search split in two" env MLVAULT_TEST_BTRFS_SPLIT_INODES=1 MLVAULT_LOG=debug "$M" vault backup "${V[@]}" --source "$S3" --parent "$P2"
grep -q "in two ranges, split at" "$T/err" && pass "the search was split" || fail "the search was not split: $(grep -i inode "$T/err")"
for k in files dirs otherEntries bytesTotal dirsReused inodesChanged filesUnchanged bytesRead; do
  want=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$DETECTED" "$k")
  [ "$(json "d['$k']")" = "$want" ] && pass "split search: $k as before ($want)" || fail "split search: $k $(json "d['$k']") vs $want"
done
expect 0 "restore it" "$M" vault restore "${V[@]}" --recovery-point "$(json 'd["recoveryPointId"]')" --target "$T/r3s"
same_tree "$S3" "$T/r3s" "changed, split search"

echo "-- a second round on top of a change-detected parent"
rm -r "$W/work/d4-renamed"
echo again >> "$W/keep/d20/sub/deep"
setfattr -n user.tag -v three "$W/work/a/f3"
rm "$W/keep/d14/hard-to-13"
mkdir "$W/keep/d21/newdir"
snapshot s4 && S4=$BTRFS_MNT/s4
expect 0 "backup" "$M" vault backup "${V[@]}" --source "$S4" --parent "$P3"
P4=$(json 'd["recoveryPointId"]')
[ "$(json 'd["dirsReused"]')" -ge 10 ] && pass "untouched directories were reused" || fail "round 2: $(cat "$T/out")"
expect 0 "restore it" "$M" vault restore "${V[@]}" --recovery-point "$P4" --target "$T/r4"
same_tree "$S4" "$T/r4" "round 2"

LAST_CHANGE=$(date +%s)

echo "-- readers of the live volume update every atime (relatime); nothing else changes"
# Again past the margin after the last change, so no inode counts as changed for its ctime.
left=$((LAST_CHANGE + 62 - $(date +%s)))
[ "$left" -gt 0 ] && sleep "$left"
snapshot s5 && S5=$BTRFS_MNT/s5
expect 0 "backup past the margin" "$M" vault backup "${V[@]}" --source "$S5" --parent "$P4"
P5=$(json 'd["recoveryPointId"]')
A0=$(stat -c %x "$W/keep/d30/f1"); D0=$(stat -c %x "$W/keep/d30")
find "$W" -type f -exec cat {} + > /dev/null
ls -laR "$W" > /dev/null
[ "$(stat -c %x "$W/keep/d30/f1")" != "$A0" ] && [ "$(stat -c %x "$W/keep/d30")" != "$D0" ] &&
  pass "the reader updated the atimes of files and directories" ||
  fail "the reader did not update atimes (mount options?): $(grep " $BTRFS_MNT " /proc/mounts)"
snapshot s6 && S6=$BTRFS_MNT/s6
[ "$(stat -c %x "$S6/keep/d30/f1")" != "$(stat -c %x "$S5/keep/d30/f1")" ] &&
  pass "the snapshots differ in atime" || fail "the snapshots have the same atime"
expect 0 "backup after the readers" "$M" vault backup "${V[@]}" --source "$S6" --parent "$P5"
P6=$(json 'd["recoveryPointId"]')
[ "$(json 'd["dirsReused"]')" = 1 ] && [ "$(json 'd["inodesChanged"]')" = 0 ] &&
  pass "atime-only updates are no change: the parent's whole tree is reused" ||
  fail "atime: $(cat "$T/out")"
expect 0 "restore it" "$M" vault restore "${V[@]}" --recovery-point "$P6" --target "$T/r6"
same_tree "$S6" "$T/r6" "atime only"

echo "-- content changed with its mtime set back; a rename, a deletion, a changed directory"
cp -p "$W/keep/d30/f1" "$T/ref"
printf 'KEEP 30 1\n' > "$W/keep/d30/f1"          # same size as before
touch -r "$T/ref" "$W/keep/d30/f1"                 # same mtime as before: only the ctime tells
[ "$(stat -c '%s %y' "$W/keep/d30/f1")" = "$(stat -c '%s %y' "$T/ref")" ] &&
  pass "the changed file has its old size and mtime" || fail "touch -r did not reset the mtime"
mv "$W/keep/d31/f2" "$W/keep/d31/f2-renamed"
rm "$W/keep/d32/f3"
chmod 0711 "$W/keep/d33"
snapshot s7 && S7=$BTRFS_MNT/s7
expect 0 "backup" "$M" vault backup "${V[@]}" --source "$S7" --parent "$P6"
P7=$(json 'd["recoveryPointId"]')
[ "$(json 'd["dirsReused"]')" -ge 30 ] && pass "untouched directories were reused" || fail "mtime reset: $(cat "$T/out")"
[ "$(json 'd["bytesRead"]')" -gt 0 ] && pass "the changed file was read" || fail "mtime reset, nothing read: $(cat "$T/out")"
expect 0 "restore it" "$M" vault restore "${V[@]}" --recovery-point "$P7" --target "$T/r7"
same_tree "$S7" "$T/r7" "mtime reset, rename, deletion, directory mode"
cmp -s "$T/r7/keep/d30/f1" "$S7/keep/d30/f1" && pass "the restored file has the new content" ||
  fail "the restored file has the old content"

echo "-- more than a quarter of the entries changed: the plain walk"
find "$W/keep" -type f -exec touch {} +
snapshot s8 && S8=$BTRFS_MNT/s8
expect 0 "backup" env MLVAULT_LOG=info "$M" vault backup "${V[@]}" --source "$S8" --parent "$P7"
P8=$(json 'd["recoveryPointId"]')
[ "$(json 'd["dirsReused"]')" = 0 ] && grep -q "walking every directory.*inodes changed" "$T/err" &&
  pass "every directory walked: $(grep -o 'more than [0-9]* inodes changed' "$T/err")" ||
  fail "fallback: $(cat "$T/out") $(head -c 300 "$T/err")"
expect 0 "restore it" "$M" vault restore "${V[@]}" --recovery-point "$P8" --target "$T/r8"
same_tree "$S8" "$T/r8" "fallback to the walk"

echo "-- a writable source or a parent of another subvolume: everything is walked"
btrfs subvolume create "$BTRFS_MNT/vol2" >/dev/null && cp -a "$W/." "$BTRFS_MNT/vol2/"
btrfs subvolume snapshot -r "$BTRFS_MNT/vol2" "$BTRFS_MNT/other-snap" >/dev/null
expect 0 "backup of another subvolume's snapshot with this parent" "$M" vault backup "${V[@]}" --source "$BTRFS_MNT/other-snap" --parent "$P4"
[ "$(json 'd["dirsReused"]')" = 0 ] && pass "no directory reused across subvolumes" || fail "other subvolume: $(cat "$T/out")"
expect 0 "backup of the writable subvolume" "$M" vault backup "${V[@]}" --source "$W" --parent "$P4"
[ "$(json 'd["dirsReused"]')" = 0 ] && pass "no directory reused from a writable source" || fail "writable: $(cat "$T/out")"
expect 0 "verify --read-data" "$M" vault verify "${V[@]}" --read-data
[ "$(json 'd["ok"]')" = True ] && pass "verify says ok" || fail "verify: $(cat "$T/out")"

echo "$fails failures"
[ "$fails" = 0 ]
