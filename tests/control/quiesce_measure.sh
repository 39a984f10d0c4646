#!/usr/bin/env bash
# quiesce_measure.sh <mlvault> <mlvault-workspace> [SCALE]
#
# Measures how long a backup keeps a workspace quiesced on the reference workspace (the
# synthetic ML workspace of ../shared/bench/make-workspace.sh, ~2.9 GB at SCALE=1) while a
# client keeps writing through the workspace API. Not part of ctest (it takes minutes); prints
# the backup's timings and what the writing client saw.
#   SHARED_BENCH=<dir with make-workspace.sh>   (default: <repo>/../shared/bench)
#   DATA=<dir>  reuse a generated dataset (default: $TMPDIR/mlvault-quiesce-data-<scale>)
source "$(dirname "$0")/lib.sh" "$1" "$2"
SCALE=${3:-1}
REPO=$(cd "$(dirname "$0")/../.." && pwd)
SHARED=${SHARED_BENCH:-$REPO/../shared/bench}
DATA=${DATA:-${TMPDIR:-/tmp}/mlvault-quiesce-data-$SCALE}
if [ ! -d "$DATA/projects" ]; then
  echo "generating the reference workspace (SCALE=$SCALE) in $DATA ..."
  rm -rf "$DATA"
  bash "$SHARED/make-workspace.sh" "$DATA" 1 "$SCALE" >/dev/null
fi

"$MLVAULT" create-environment --environment-name bench >/dev/null
grant_backup_entitlement
WS=$(create_workspace bench ref)
seed "$WS"
ROOT=$(dirname "$(ws_field "$WS" 'volumes[0].path')")
PROJECT=$(api "$WS" GET /api/v1/projects | jq -r '.projects[0].id')
cp -a "$DATA/projects" "$DATA/datasets" "$DATA/volumes" "$ROOT/projects/$PROJECT/"
cp -a "$DATA/models" "$ROOT/models/reference"
echo "workspace: $(du -sh --apparent-size "$ROOT/projects" "$ROOT/models" | awk '{print $2 " " $1}' | tr '\n' ' ')"

# The writing client: uploads a small file and logs a metric, as fast as it can, until stopped.
EP=$(ws_field "$WS" endpoint)
KEY=$(api_key "$WS")
RUN=$(api "$WS" GET /api/v1/projects/$PROJECT/experiments | jq -r '.experiments[0].id')
RUN=$(curl -s -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' -d '{"name":"writer"}' \
  "$EP/api/v1/experiments/$RUN/runs" | jq -r .id)
writer() {
  local i=0 code
  while [ ! -f "$MLVAULT_HOME/stop-writer" ]; do
    i=$((i + 1))
    code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT -H "Authorization: Bearer $KEY" --data-binary "write $i" \
      "$EP/api/v1/projects/$PROJECT/files/writer/$((i % 50)).txt")
    echo "$(date +%s.%N) $code"
    curl -s -o /dev/null -X POST -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
      -d "{\"metrics\":[{\"key\":\"w\",\"step\":$i,\"value\":$i}]}" "$EP/api/v1/experiment-runs/$RUN/metrics"
  done
}
measure() {
  local name=$1
  rm -f "$MLVAULT_HOME/stop-writer"
  writer > "$MLVAULT_HOME/writer-$name.log" &
  local wpid=$!
  sleep 1
  local t0=$(date +%s.%N)
  "$MLVAULT" backup-workspace --workspace-crn "$WS" --backup-name "$name" --wait > "$MLVAULT_HOME/b.json"
  local rc=$?
  local t1=$(date +%s.%N)
  touch "$MLVAULT_HOME/stop-writer"
  wait "$wpid"
  local b
  b=$(jq -r .backupCrn "$MLVAULT_HOME/b.json")
  "$MLVAULT" describe-workspace-backup --backup-crn "$b" > "$MLVAULT_HOME/d.json"
  echo "== backup $name: exit $rc, $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s wall"
  jq -r '.backup | "   status \(.backupStatus), \(.sizes.bytesTotal) bytes, \(.sizes.filesTotal) files",
    "   prepass:  \(.timings.prepass.durationSeconds | . * 100 | floor / 100) s, read \(.timings.prepass.bytesRead) bytes",
    "   quiesced: \(.quiescedSeconds * 1000 | floor) ms (quiesce call \(.timings.quiesce.quiesceCallSeconds * 1000 | floor) ms, consistent pass \(.timings.consistentPass.durationSeconds * 1000 | floor) ms reading \(.timings.consistentPass.bytesRead) bytes, \(.timings.consistentPass.filesUnchanged)/\(.timings.consistentPass.files) files unchanged, resume \(.timings.quiesce.resumeCallSeconds * 1000 | floor) ms)", "   consistent pass per volume (s): \(.timings.consistentPass.volumeSeconds | tostring)"' \
    "$MLVAULT_HOME/d.json"
  local total ok busy
  total=$(wc -l < "$MLVAULT_HOME/writer-$name.log")
  ok=$(grep -c ' 20[01]$' "$MLVAULT_HOME/writer-$name.log")
  busy=$(grep -c ' 503$' "$MLVAULT_HOME/writer-$name.log")
  echo "   writer: $total uploads, $ok accepted, $busy answered 503 (backup in progress)"
}
measure first
# ~1% change, then the second backup (the first pass has a parent now).
find "$ROOT/projects/$PROJECT/projects" -type f | head -300 | while read -r f; do echo "changed" >> "$f"; done
measure second
