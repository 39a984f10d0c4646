#!/usr/bin/env bash
# quiesce_measure.sh <mlvault> <mlvault-workspace> [SCALE]
#
# Measures how long a backup keeps a workspace quiesced while a client keeps writing through the
# workspace API, for each storage kind in the same run: "plain" (a folder on the machine's
# filesystem: the two-pass method) and "btrfs" (volumes are subvolumes of a loop-mounted btrfs
# image: quiesce, snapshot, resume). Not part of ctest (it takes minutes); prints each backup's
# timings, what the writing client saw, and a summary line per storage kind.
#   FILES=N        a tree of N small files (0-4 KiB, 100 per folder; bench/make-small-files.py)
#                  instead of the reference workspace (../shared/bench/make-workspace.sh, SCALE)
#   STORAGE="plain btrfs"   which storage kinds to measure (btrfs needs root and a loop device)
#   CHANGED=N      backups after the first, each after changing ~1% of the files (default 3)
#   SHARED_BENCH=<dir with make-workspace.sh>   (default: <repo>/../shared/bench)
#   DATA=<dir>     reuse a generated dataset (default: $TMPDIR/mlvault-quiesce-data-<scale|files>)
# Examples: FILES=30000 quiesce_measure.sh build/src/cli/mlvault build/src/runtime/mlvault-workspace
#           FILES=1000000 ... (the 1M-file run: ~40 min and ~12 GB of disk)
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/btrfs_mount.sh"
source "$HERE/lib.sh" "$1" "$2"
at_cleanup() { btrfs_unmount; }
SCALE=${3:-1}
FILES=${FILES:-}
STORAGE=${STORAGE:-plain btrfs}
CHANGED=${CHANGED:-3}
REPO=$(cd "$HERE/../.." && pwd)
SHARED=${SHARED_BENCH:-$REPO/../shared/bench}
if [ -n "$FILES" ]; then
  DATA=${DATA:-${TMPDIR:-/tmp}/mlvault-quiesce-files-$FILES}
  if [ ! -d "$DATA/tree" ]; then
    echo "generating $FILES small files in $DATA ..."
    rm -rf "$DATA"
    python3 "$REPO/bench/make-small-files.py" "$DATA/tree" "$FILES"
  fi
else
  DATA=${DATA:-${TMPDIR:-/tmp}/mlvault-quiesce-data-$SCALE}
  if [ ! -d "$DATA/projects" ]; then
    echo "generating the reference workspace (SCALE=$SCALE) in $DATA ..."
    rm -rf "$DATA"
    bash "$SHARED/make-workspace.sh" "$DATA" 1 "$SCALE" >/dev/null
  fi
fi
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
grant_backup_entitlement

# The writing client: uploads a small file and logs a metric, as fast as it can, until stopped.
# Each line: <time> <HTTP status of the upload> <its latency in seconds>.
writer() {
  local ws=$1 project=$2 run=$3 ep key i=0 out
  ep=$(ws_field "$ws" endpoint)
  key=$(api_key "$ws")
  while [ ! -f "$MLVAULT_HOME/stop-writer" ]; do
    i=$((i + 1))
    out=$(curl -s -o /dev/null -w '%{http_code} %{time_total}' -X PUT -H "Authorization: Bearer $key" \
      --data-binary "write $i" "$ep/api/v1/projects/$project/files/writer/$((i % 50)).txt")
    echo "$(date +%s.%N) $out"
    curl -s -o /dev/null -X POST -H "Authorization: Bearer $key" -H 'Content-Type: application/json' \
      -d "{\"metrics\":[{\"key\":\"w\",\"step\":$i,\"value\":$i}]}" "$ep/api/v1/experiment-runs/$run/metrics"
  done
}
WINDOWS=""
measure() {  # measure <ws> <project> <run> <name>
  local ws=$1 project=$2 run=$3 name=$4
  rm -f "$MLVAULT_HOME/stop-writer"
  writer "$ws" "$project" "$run" > "$MLVAULT_HOME/writer-$name.log" &
  local wpid=$!
  sleep 1
  local t0 t1 rc b
  t0=$(date +%s.%N)
  "$MLVAULT" backup-workspace --workspace-crn "$ws" --backup-name "$name" --wait > "$MLVAULT_HOME/b.json"
  rc=$?
  t1=$(date +%s.%N)
  touch "$MLVAULT_HOME/stop-writer"
  wait "$wpid"
  b=$(jq -r .backupCrn "$MLVAULT_HOME/b.json")
  "$MLVAULT" describe-workspace-backup --backup-crn "$b" > "$MLVAULT_HOME/d.json"
  echo "== backup $name: exit $rc, $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s wall"
  jq -r '.backup | "   status \(.backupStatus), \(.sizes.bytesTotal) bytes, \(.sizes.filesTotal) files, method \(.timings.quiesce.method)",
    (if .timings.prepass then "   prepass:  \(.timings.prepass.durationSeconds | . * 100 | floor / 100) s, read \(.timings.prepass.bytesRead) bytes" else empty end),
    (if .timings.snapshotPass then "   flush before quiescing \(.timings.quiesce.flushSeconds * 1000 | floor) ms; snapshot calls \(.timings.quiesce.snapshotSeconds * 1000 | floor) ms; reading the snapshots \(.timings.snapshotPass.durationSeconds | . * 100 | floor / 100) s, read \(.timings.snapshotPass.bytesRead) bytes, \(.timings.snapshotPass.filesUnchanged)/\(.timings.snapshotPass.files) files unchanged" else empty end),
    "   quiesced: \(.quiescedSeconds * 1000 | floor) ms (quiesce call \(.timings.quiesce.quiesceCallSeconds * 1000 | floor) ms, resume \(.timings.quiesce.resumeCallSeconds * 1000 | floor) ms)",
    (if .timings.consistentPass then "   consistent pass \(.timings.consistentPass.durationSeconds * 1000 | floor) ms reading \(.timings.consistentPass.bytesRead) bytes, \(.timings.consistentPass.filesUnchanged)/\(.timings.consistentPass.files) files unchanged" else empty end)' \
    "$MLVAULT_HOME/d.json"
  WINDOWS="$WINDOWS $(jq -r '.backup.quiescedSeconds' "$MLVAULT_HOME/d.json")"
  local total ok busy p99
  total=$(wc -l < "$MLVAULT_HOME/writer-$name.log")
  ok=$(grep -c ' 20[01] ' "$MLVAULT_HOME/writer-$name.log")
  busy=$(grep -c ' 503 ' "$MLVAULT_HOME/writer-$name.log")
  p99=$(awk '{print $3}' "$MLVAULT_HOME/writer-$name.log" | sort -n | awk '{a[NR]=$1} END{i=int(NR*0.99); if(i<1)i=1; printf "%.0f", a[i]*1000}')
  echo "   writer: $total uploads, $ok accepted, $busy answered 503 (backup in progress), upload latency p99 ${p99} ms"
  cat "$MLVAULT_HOME/writer-$name.log" >> "$MLVAULT_HOME/writer-all.log"
}

run_storage() {  # run_storage plain|btrfs
  local kind=$1 root
  if [ "$kind" = btrfs ]; then
    local why
    why=$(btrfs_why_not)
    if [ -n "$why" ]; then echo "== btrfs: skipped ($why)"; return; fi
    local need
    need=$(du -sm "$DATA" | awk '{print int($1 * 3 + 2048)}')
    btrfs_mount "${need}M" || { echo "== btrfs: could not mount an image"; return; }
    root="$BTRFS_MNT/env"
  else
    root="$MLVAULT_HOME/environments/env-plain"  # (reachable by the workspace uid as root)
  fi
  "$MLVAULT" create-environment --environment-name "bench-$kind" --storage-root "$root" >/dev/null
  local ws proot project run
  ws=$(create_workspace "bench-$kind" "ref-$kind")
  seed "$ws"
  proot=$(dirname "$(ws_field "$ws" 'volumes[0].path')")
  project=$(api "$ws" GET /api/v1/projects | jq -r '.projects[0].id')
  if [ -n "$FILES" ]; then
    cp -a "$DATA/tree" "$proot/projects/$project/tree"
  else
    cp -a "$DATA/projects" "$DATA/datasets" "$DATA/volumes" "$proot/projects/$project/"
    cp -a "$DATA/models" "$proot/models/reference"
  fi
  sync
  echo "== storage $kind ($root on $(stat -f -c %T "$root")): $(find "$proot/projects" "$proot/models" -type f | wc -l) files, $(du -sh --apparent-size "$proot/projects" "$proot/models" | awk '{print $2 " " $1}' | tr '\n' ' ')"
  run=$(api "$ws" GET "/api/v1/projects/$project/experiments" | jq -r '.experiments[0].id')
  run=$(curl -s -X POST -H "Authorization: Bearer $(api_key "$ws")" -H 'Content-Type: application/json' \
    -d '{"name":"writer"}' "$(ws_field "$ws" endpoint)/api/v1/experiments/$run/runs" | jq -r .id)
  WINDOWS=""
  rm -f "$MLVAULT_HOME/writer-all.log"
  measure "$ws" "$project" "$run" "$kind-first"
  local n files
  files=$(find "$proot/projects/$project" -type f | wc -l)
  for n in $(seq 1 "$CHANGED"); do
    # ~1% of the files change, then the next backup (with the previous one as its parent).
    find "$proot/projects/$project" -type f | shuf -n $((files / 100 + 1)) --random-source=<(yes $n) |
      while read -r f; do echo "changed $n" >> "$f"; done
    measure "$ws" "$project" "$run" "$kind-changed-$n"
  done
  echo "== summary $kind: quiesce windows (ms):$(for w in $WINDOWS; do awk -v w="$w" 'BEGIN{printf " %.0f", w * 1000}'; done);" \
    "max $(for w in $WINDOWS; do echo "$w"; done | sort -n | tail -1 | awk '{printf "%.0f", $1 * 1000}') ms;" \
    "writer upload latency p99 over all backups $(awk '{print $3}' "$MLVAULT_HOME/writer-all.log" | sort -n | awk '{a[NR]=$1} END{i=int(NR*0.99); if(i<1)i=1; printf "%.0f", a[i]*1000}') ms," \
    "$(grep -c ' 503 ' "$MLVAULT_HOME/writer-all.log") uploads answered 503"
  "$MLVAULT" delete-workspace --workspace-crn "$ws" >/dev/null
  wait_for 60 test ! -e "$proot"
  [ "$kind" = btrfs ] && btrfs_unmount
}

for kind in $STORAGE; do run_storage "$kind"; done
