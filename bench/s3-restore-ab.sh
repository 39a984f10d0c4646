#!/usr/bin/env bash
# s3-restore-ab.sh VAULT RECOVERY-POINT RESTIC-REPO [ROUNDS]
# Interleaved restores of one recovery point from S3 by two mlvault binaries (NEW, OLD) and by
# restic from its repository of the same data, ROUNDS times (default 3), each into a fresh
# folder; prints the wall seconds of each. Environment: the S3 settings of both tools
# (MLVAULT_S3_*, AWS_*), MLVAULT_VAULT_PASSPHRASE, RESTIC_PASSWORD; NEW and OLD (default
# build/src/cli/mlvault for both); TARGET (default a temporary folder, removed at the end).
set -uo pipefail
[ $# -ge 3 ] || { sed -n 2,8p "$0" >&2; exit 2; }
VAULT=$1 ID=$2 RR=$3 ROUNDS=${4:-3}
NEW=${NEW:-build/src/cli/mlvault} OLD=${OLD:-build/src/cli/mlvault}
TARGET=${TARGET:-$(mktemp -d /tmp/mlvault-restore-ab-XXXXXX)}
trap 'rm -rf "$TARGET"' EXIT
t() {  # wall seconds of a command into the fresh target
  rm -rf "$TARGET/r"
  local s; s=$(date +%s.%N)
  "$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  python3 -c "print(round($(date +%s.%N) - $s, 2))"
}
for i in $(seq "$ROUNDS"); do
  n=$(t "$NEW" vault restore --vault "$VAULT" --recovery-point "$ID" --target "$TARGET/r")
  o=$(t "$OLD" vault restore --vault "$VAULT" --recovery-point "$ID" --target "$TARGET/r")
  r=$(t restic -r "$RR" restore latest --target "$TARGET/r")
  echo "round $i: new $n s  old $o s  restic $r s  load $(cut -d' ' -f1 /proc/loadavg)"
done
