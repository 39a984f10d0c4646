#!/usr/bin/env bash
# s3-restore-ab.sh VAULT RECOVERY-POINT RESTIC-REPO [ROUNDS]
# Interleaved restores of one recovery point from S3 by two mlvault binaries (NEW, OLD) and by
# restic from its repository of the same data, ROUNDS times (default 3), each into a fresh
# folder; prints the wall seconds of each (with its CPU seconds, user + sys, and minor page
# faults from /usr/bin/time), the ratios OLD / NEW and restic / NEW of the round (> 1: NEW
# faster) and the load average. Environment: the S3 settings of both tools (MLVAULT_S3_*,
# AWS_*), MLVAULT_VAULT_PASSPHRASE, RESTIC_PASSWORD; NEW and OLD (default build/src/cli/mlvault
# for both); TARGET (default a temporary folder, removed at the end).
set -uo pipefail
[ $# -ge 3 ] || { sed -n 2,9p "$0" >&2; exit 2; }
VAULT=$1 ID=$2 RR=$3 ROUNDS=${4:-3}
NEW=${NEW:-build/src/cli/mlvault} OLD=${OLD:-build/src/cli/mlvault}
TARGET=${TARGET:-$(mktemp -d /tmp/mlvault-restore-ab-XXXXXX)}
trap 'rm -rf "$TARGET"' EXIT
CPU=$TARGET/cpu
t() {  # wall seconds of a command into the fresh target; its user, sys seconds, faults into $CPU
  rm -rf "$TARGET/r"
  local s; s=$(date +%s.%N)
  /usr/bin/time -f '%U %S %R' -o "$CPU" "$@" > /dev/null 2>&1 || { echo "failed: $*" >&2; exit 1; }
  python3 -c "print(round($(date +%s.%N) - $s, 2))"
}
cpu() { tail -1 "$CPU" | awk '{printf "%.2f+%.2f cpu s, %d faults", $1, $2, $3}'; }
for i in $(seq "$ROUNDS"); do
  n=$(t "$NEW" vault restore --vault "$VAULT" --recovery-point "$ID" --target "$TARGET/r"); nc=$(cpu)
  o=$(t "$OLD" vault restore --vault "$VAULT" --recovery-point "$ID" --target "$TARGET/r"); oc=$(cpu)
  r=$(t restic -r "$RR" restore latest --target "$TARGET/r"); rc=$(cpu)
  echo "round $i: new $n s ($nc)  old $o s ($oc)  restic $r s ($rc)  old/new $(python3 -c "print(round($o / max($n, 0.01), 2))")  restic/new $(python3 -c "print(round($r / max($n, 0.01), 2))")  load $(cut -d' ' -f1 /proc/loadavg)"
done
