#!/usr/bin/env bash
# s3.sh [SCALE]   (default 1)
#
# mlvault vs restic, both to the same throw-away RADOS Gateway (scripts/start-rgw.sh) in the same
# run, on the reference workspace (../shared/bench/make-workspace.sh, mutate-workspace.sh):
#   b1 initial backup, b2 unchanged backup, b3 backup after the ~1% mutation, full restore of b3
# (checked bit-exact with diff -r). The steps alternate between the tools on the same working
# copy with a warm page cache (the machine is shared; no cache drops). Prints a table of wall
# seconds, the ratio restic / mlvault (> 1: mlvault faster) and each client's CPU seconds (user
# + sys, /usr/bin/time) and writes it to $BENCH/s3-results.md. Targets (issue 15): b1 and b3
# >= 2x, restore >= 1.5x.
#
# Environment: BENCH=/tmp/mlvault-bench-s3  SEED=1  MLVAULT=<binary> (default build/src/cli/mlvault)
#   RGW_ENV=<s3.env of a running RGW> to reuse one instead of starting (and stopping) our own.
#   A reused RGW keeps each run's two buckets (for bench/s3-restore-ab.sh): its memstore OSD
#   fills up after a few runs (three SCALE 0.2 runs filled scripts/start-rgw.sh's 2 GiB; a
#   full OSD left restic waiting without an error for 10 minutes), so restart it between series.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=${SHARED_BENCH:-$REPO/../shared/bench}
[ -d "$SHARED" ] || SHARED=$REPO/../../shared/bench  # a worktree under wt/
SCALE=${1:-${SCALE:-1}}
SEED=${SEED:-1}
BENCH=${BENCH:-/tmp/mlvault-bench-s3}
MLVAULT=${MLVAULT:-$REPO/build/src/cli/mlvault}
[ -x "$MLVAULT" ] || { echo "s3.sh: build mlvault first ($MLVAULT)" >&2; exit 2; }
mkdir -p "$BENCH"
OWN_RGW=0
if [ -z "${RGW_ENV:-}" ]; then
  MEMSTORE_BYTES=${MEMSTORE_BYTES:-6442450944} "$REPO/scripts/start-rgw.sh" start "$BENCH/rgw" || exit 1
  RGW_ENV=$BENCH/rgw/s3.env
  OWN_RGW=1
fi
cleanup() {
  [ "$OWN_RGW" = 1 ] && "$REPO/scripts/start-rgw.sh" stop "$BENCH/rgw" > /dev/null 2>&1
  rm -rf "$BENCH/ws" "$BENCH/r-mlvault" "$BENCH/r-restic" "$BENCH/restic-cache"
}
trap cleanup EXIT
set -a
# shellcheck disable=SC1090
. "$RGW_ENV"
set +a
export AWS_ACCESS_KEY_ID=$S3_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_SECRET_KEY
export RESTIC_PASSWORD=bench-passphrase MLVAULT_VAULT_PASSPHRASE=bench-passphrase
export RESTIC_CACHE_DIR=$BENCH/restic-cache
RUN=$(date +%s)
MV="s3://bench-mlvault-$RUN/vault"
RR="s3:$S3_ENDPOINT/bench-restic-$RUN"

BASE=$BENCH/ws-base-$SCALE-$SEED
if [ ! -d "$BASE" ]; then
  echo "generating the workspace (SCALE $SCALE) ..."
  "$SHARED/make-workspace.sh" "$BASE" "$SEED" "$SCALE" > /dev/null || exit 1
fi
rm -rf "$BENCH/ws" "$BENCH/r-mlvault" "$BENCH/r-restic"
cp -a "$BASE" "$BENCH/ws"
WS=$BENCH/ws
declare -A T C
# step NAME TOOL CMD...: times CMD (wall seconds) into T[NAME.TOOL], its CPU seconds (user + sys)
# into C[NAME.TOOL]; stops on failure.
step() {
  local name=$1 tool=$2; shift 2
  local t0 t1
  t0=$(date +%s.%N)
  if ! /usr/bin/time -f '%U %S' -o "$BENCH/$tool.$name.cpu" "$@" > "$BENCH/$tool.$name.log" 2>&1; then
    echo "s3.sh: $tool $name failed:" >&2; tail -20 "$BENCH/$tool.$name.log" >&2; exit 1
  fi
  t1=$(date +%s.%N)
  T[$name.$tool]=$(python3 -c "print(round($t1 - $t0, 2))")
  C[$name.$tool]=$(tail -1 "$BENCH/$tool.$name.cpu" | awk '{printf "%.2f + %.2f", $1, $2}')
  echo "$name $tool ${T[$name.$tool]} s (cpu ${C[$name.$tool]} s)"
}
step init mlvault "$MLVAULT" vault init --vault "$MV"
step init restic restic -r "$RR" init
step b1 mlvault "$MLVAULT" vault backup --vault "$MV" --source "$WS"
step b1 restic restic -r "$RR" backup --host bench "$WS"
step b2 mlvault "$MLVAULT" vault backup --vault "$MV" --source "$WS"
step b2 restic restic -r "$RR" backup --host bench "$WS"
"$SHARED/mutate-workspace.sh" "$WS" "$SEED" > /dev/null || exit 1
step b3 mlvault "$MLVAULT" vault backup --vault "$MV" --source "$WS"
step b3 restic restic -r "$RR" backup --host bench "$WS"
ID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["recoveryPointId"])' "$BENCH/mlvault.b3.log")
step restore mlvault "$MLVAULT" vault restore --vault "$MV" --recovery-point "$ID" --target "$BENCH/r-mlvault"
# restic 0.14 restores the absolute source path below the target (no snapshot:subfolder yet).
step restore restic restic -r "$RR" restore latest --target "$BENCH/r-restic"
diff -r --no-dereference "$WS" "$BENCH/r-mlvault" > /dev/null || { echo "s3.sh: mlvault restore differs" >&2; exit 1; }
diff -r --no-dereference "$WS" "$BENCH/r-restic$WS" > /dev/null || { echo "s3.sh: restic restore differs" >&2; exit 1; }
echo "both restores are identical to the workspace"
# For bench/s3-restore-ab.sh against the same RGW (RGW_ENV): what this run left there.
echo "vault $MV  recovery point $ID  restic repository $RR"

{
  echo "S3 (RADOS Gateway, memstore, 127.0.0.1) SCALE $SCALE, $(date -u +%Y-%m-%d), $(nproc) cores, warm cache, load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| step | mlvault s | restic s | restic / mlvault | target | mlvault CPU s (user + sys) | restic CPU s |"
  echo "|---|---|---|---|---|---|---|"
  for s in b1 b2 b3 restore; do
    tgt=""; case $s in b1|b3) tgt=">= 2" ;; restore) tgt=">= 1.5" ;; esac
    echo "| $s | ${T[$s.mlvault]} | ${T[$s.restic]} | $(python3 -c "print(round(${T[$s.restic]} / max(${T[$s.mlvault]}, 0.01), 2))") | $tgt | ${C[$s.mlvault]} | ${C[$s.restic]} |"
  done
} | tee "$BENCH/s3-results.md"
