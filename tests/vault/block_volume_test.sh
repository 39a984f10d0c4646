#!/usr/bin/env bash
# Block volumes read only what they must (docs/vault-format.md section 7, "Block volumes"): a
# sparse image is read by its allocated data only (SEEK_DATA), and a backup of a read-only btrfs
# snapshot whose parent was taken from an earlier snapshot of the same subvolume takes the blocks
# whose extents are those the parent recorded from the parent without reading them, although the
# parent's snapshot is gone (the product deletes each backup's snapshots). Each restore equals its image bit for
# bit, and a backup with extent skipping stores exactly what a full read does. Falls back to
# reading: without CAP_SYS_ADMIN, for a NOCOW image, and off btrfs.
# Runs on a btrfs image it makes and loop-mounts (root); exits 77 (skipped) where it cannot.
#   block_volume_test.sh /path/to/mlvault
set -uo pipefail
M=${1:?usage: block_volume_test.sh MLVAULT_BINARY}
HERE=$(dirname "$0")
source "$HERE/../control/btrfs_mount.sh"
btrfs_skip_unless_mountable "the block volume test"
T=$(mktemp -d /tmp/mlvault-block-volume.XXXXXX)
cleanup() { btrfs_unmount; rm -rf "$T"; }
trap cleanup EXIT
btrfs_mount 1G || { echo "FAIL could not make and mount a btrfs image"; exit 1; }
source "$HERE/assert.sh"
same_image() {  # same_image IMAGE RESTORED NAME
  if cmp -s "$1" "$2"; then pass "$3: the restore equals the image"; else fail "$3: the restore differs from the image"; fi
}
V=(--vault "$T/v" --key-file "$T/key")
MiB=$((1024 * 1024))
# write IMAGE OFFSET_MIB LENGTH_MIB: random data at that place, the rest of the image untouched.
write() { dd if=/dev/urandom of="$1" bs=1M seek="$2" count="$3" conv=notrunc status=none; }

expect 0 "keygen" "$M" vault keygen --key-file "$T/key"
expect 0 "init" "$M" vault init "${V[@]}"

# A 320 MiB sparse image with 48 MiB of data in 12 places, in a subvolume.
btrfs subvolume create "$BTRFS_MNT/vol" >/dev/null
IMG=$BTRFS_MNT/vol/disk.img
truncate -s 320M "$IMG"
for i in $(seq 0 11); do write "$IMG" $((i * 26 + 3)) 4; done
sync
btrfs subvolume snapshot -r "$BTRFS_MNT/vol" "$BTRFS_MNT/s1" >/dev/null
expect 0 "first backup (a snapshot, no parent)" "$M" vault backup "${V[@]}" --kind block --source "$BTRFS_MNT/s1/disk.img"
P1=$(json 'd["recoveryPointId"]')
check "the first backup reads the allocated 48 MiB only, not 320 MiB" "d['bytesRead'] == 48 * $MiB"
check "nothing is reused without a parent" "d['bytesReused'] == 0"
expect 0 "restore it" "$M" vault restore "${V[@]}" --recovery-point "$P1" --target "$T/r1.img"
same_image "$BTRFS_MNT/s1/disk.img" "$T/r1.img" "first"
btrfs subvolume delete "$BTRFS_MNT/s1" >/dev/null  # as the product does after a backup

echo "-- a few MiB changed: overwritten, new data in a hole, a hole punched, a partial block"
write "$IMG" 4 1                                                    # inside data
write "$IMG" 200 2                                                  # into a hole
fallocate -p -o $((55 * MiB)) -l $MiB "$IMG"                         # data becomes a hole
dd if=/dev/urandom of="$IMG" bs=4096 seek=$((81 * 256 + 7)) count=3 conv=notrunc status=none  # 12 KiB
sync
btrfs subvolume snapshot -r "$BTRFS_MNT/vol" "$BTRFS_MNT/s2" >/dev/null
expect 0 "incremental backup (the parent's snapshot is gone)" "$M" vault backup "${V[@]}" --kind block --source "$BTRFS_MNT/s2/disk.img" --parent "$P1"
P2=$(json 'd["recoveryPointId"]')
CHUNKS2=$(json 'd["chunks"]')
# Read: the 1 MiB block written, the 2 new MiB, the block with the 12 KiB (1 MiB: a block is the
# unit of storage); the punched hole costs nothing. Everything else comes from the parent.
check "the incremental backup reads only the changed blocks (4 MiB)" "d['bytesRead'] == 4 * $MiB"
check "the unchanged 45 MiB are taken from the parent" "d['bytesReused'] == 45 * $MiB"
expect 0 "restore it" "$M" vault restore "${V[@]}" --recovery-point "$P2" --target "$T/r2.img"
same_image "$BTRFS_MNT/s2/disk.img" "$T/r2.img" "incremental"
# A full read of the same snapshot cuts the same chunks: it stores nothing new.
# (Another spelling of the path: no recovery point has that source, so there is no parent.)
expect 0 "full read of the same snapshot (no parent)" "$M" vault backup "${V[@]}" --kind block --source "$BTRFS_MNT/s2/./disk.img"
check "a full read of the same image adds no chunk" "d['bytesNew'] == 0 and d['bytesReused'] == 0"
[ "$(json 'd["chunks"]')" = "$CHUNKS2" ] && pass "the same chunks as the full read ($CHUNKS2)" ||
  fail "chunks: $CHUNKS2 with reuse, $(json 'd["chunks"]') read"

echo "-- unchanged, then changed again on top of a reused parent"
btrfs subvolume snapshot -r "$BTRFS_MNT/vol" "$BTRFS_MNT/s3" >/dev/null
btrfs subvolume delete "$BTRFS_MNT/s2" >/dev/null
expect 0 "unchanged backup" "$M" vault backup "${V[@]}" --kind block --source "$BTRFS_MNT/s3/disk.img" --parent "$P2"
P3=$(json 'd["recoveryPointId"]')
check "an unchanged image reads nothing" "d['bytesRead'] == 0"
write "$IMG" 30 1
sync
btrfs subvolume snapshot -r "$BTRFS_MNT/vol" "$BTRFS_MNT/s4" >/dev/null
btrfs subvolume delete "$BTRFS_MNT/s3" >/dev/null
expect 0 "backup after one more change" "$M" vault backup "${V[@]}" --kind block --source "$BTRFS_MNT/s4/disk.img" --parent "$P3"
P4=$(json 'd["recoveryPointId"]')
check "only the changed block is read (1 MiB)" "d['bytesRead'] == $MiB"
expect 0 "restore it" "$M" vault restore "${V[@]}" --recovery-point "$P4" --target "$T/r4.img"
same_image "$BTRFS_MNT/s4/disk.img" "$T/r4.img" "second incremental"

echo "-- falling back to reading the allocated data"
write "$IMG" 120 1
sync
btrfs subvolume snapshot -r "$BTRFS_MNT/vol" "$BTRFS_MNT/s5" >/dev/null
# Without CAP_SYS_ADMIN the btrfs tree cannot be read: every allocated byte is read.
expect 0 "backup without CAP_SYS_ADMIN" setpriv --inh-caps=-sys_admin --bounding-set=-sys_admin "$M" vault backup "${V[@]}" --kind block --source "$BTRFS_MNT/s5/disk.img" --parent "$P4"
check "without the privilege it reads the allocated data (50 MiB)" "d['bytesRead'] == 50 * $MiB and d['bytesReused'] == 0"
P5=$(json 'd["recoveryPointId"]')
expect 0 "restore it" "$M" vault restore "${V[@]}" --recovery-point "$P5" --target "$T/r5.img"
same_image "$BTRFS_MNT/s5/disk.img" "$T/r5.img" "without the privilege"

# A NOCOW image is overwritten in place: its extents say nothing of its data.
btrfs subvolume create "$BTRFS_MNT/nocow" >/dev/null
touch "$BTRFS_MNT/nocow/disk.img" && chattr +C "$BTRFS_MNT/nocow/disk.img"
truncate -s 64M "$BTRFS_MNT/nocow/disk.img"
write "$BTRFS_MNT/nocow/disk.img" 8 8
sync
btrfs subvolume snapshot -r "$BTRFS_MNT/nocow" "$BTRFS_MNT/n1" >/dev/null
expect 0 "NOCOW image, first backup" "$M" vault backup "${V[@]}" --kind block --source "$BTRFS_MNT/n1/disk.img"
N1=$(json 'd["recoveryPointId"]')
btrfs subvolume delete "$BTRFS_MNT/n1" >/dev/null
write "$BTRFS_MNT/nocow/disk.img" 10 1
sync
btrfs subvolume snapshot -r "$BTRFS_MNT/nocow" "$BTRFS_MNT/n2" >/dev/null
expect 0 "NOCOW image, incremental" "$M" vault backup "${V[@]}" --kind block --source "$BTRFS_MNT/n2/disk.img" --parent "$N1"
check "a NOCOW image is read (8 MiB), nothing reused" "d['bytesRead'] == 8 * $MiB and d['bytesReused'] == 0"
N2=$(json 'd["recoveryPointId"]')
expect 0 "restore it" "$M" vault restore "${V[@]}" --recovery-point "$N2" --target "$T/n2.img"
same_image "$BTRFS_MNT/n2/disk.img" "$T/n2.img" "NOCOW"

# Not on a snapshot (here: the same image copied sparse to $T): SEEK_DATA only.
cp --sparse=always "$BTRFS_MNT/s5/disk.img" "$T/plain.img"
expect 0 "image outside a snapshot" "$M" vault backup "${V[@]}" --kind block --source "$T/plain.img"
ALLOC=$(( $(stat -c %b "$T/plain.img") * 512 ))
check "outside a snapshot it reads no more than the allocated data" "0 < d['bytesRead'] <= $ALLOC and d['bytesReused'] == 0"
P6=$(json 'd["recoveryPointId"]')
expect 0 "restore it" "$M" vault restore "${V[@]}" --recovery-point "$P6" --target "$T/r6.img"
same_image "$T/plain.img" "$T/r6.img" "outside a snapshot"

echo "$fails failures"
[ "$fails" = 0 ]
