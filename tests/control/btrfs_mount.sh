# A throw-away btrfs filesystem for the snapshot tests and benchmarks: an image file, formatted
# with mkfs.btrfs and loop-mounted. Needs root and a free loop device.
#   source btrfs_mount.sh; btrfs_skip_unless_mountable "the ... test"; btrfs_mount <size>; ...;
#   btrfs_unmount
# Sets BTRFS_MNT (the mount point) and BTRFS_IMG (the image file).

# Prints why a btrfs image cannot be mounted here, or nothing if it can.
btrfs_why_not() {
  if [ "$(id -u)" != 0 ]; then echo "needs root (mount -o loop)"; return; fi
  command -v mkfs.btrfs >/dev/null || { echo "needs mkfs.btrfs (apt-get install btrfs-progs)"; return; }
  [ -e /dev/loop-control ] || { echo "no loop devices (/dev/loop-control is missing)"; return; }
  losetup -f >/dev/null 2>&1 || echo "no free loop device (losetup -f failed)"
  grep -qw btrfs /proc/filesystems || modprobe btrfs 2>/dev/null || echo "the kernel has no btrfs"
}

# btrfs_skip_unless_mountable <what needs it, e.g. "the snapshot test">: for a test, exits 77
# (CTest's skip) with a line saying why when no btrfs image can be mounted here.
btrfs_skip_unless_mountable() {
  local why
  why=$(btrfs_why_not)
  [ -z "$why" ] && return 0
  echo "SKIP: $1 needs a loop-mounted btrfs image: $why"
  exit 77
}

# btrfs_mount <size, e.g. 1G> [dir for the image]: makes, formats and mounts the image.
btrfs_mount() {
  local size=$1 dir=${2:-${TMPDIR:-/tmp}}
  BTRFS_IMG=$(mktemp "$dir/mlvault-btrfs-XXXXXX.img")
  BTRFS_MNT=$(mktemp -d "${TMPDIR:-/tmp}/mlvault-btrfs-mnt-XXXXXX")
  truncate -s "$size" "$BTRFS_IMG" &&
    mkfs.btrfs -q -f "$BTRFS_IMG" >/dev/null &&
    mount -o loop "$BTRFS_IMG" "$BTRFS_MNT"
}

# Unmounts (lazily if something still holds it) and removes the image and the mount point.
btrfs_unmount() {
  [ -n "${BTRFS_MNT:-}" ] || return 0
  if mountpoint -q "$BTRFS_MNT"; then
    umount "$BTRFS_MNT" 2>/dev/null || { sleep 1; umount "$BTRFS_MNT" 2>/dev/null; } || umount -l "$BTRFS_MNT"
  fi
  rmdir "$BTRFS_MNT" 2>/dev/null
  rm -f "$BTRFS_IMG"
  BTRFS_MNT=""
}
