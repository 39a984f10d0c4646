#!/usr/bin/env bash
# compare.sh [--smoke] [--peers-only] [--keep] [--no-limits]
#
# Benchmarks mlvault against restic and Borg on the synthetic ML workspace, all three in ONE
# run of ../shared/bench/peers.sh: same working copy, same mutation, same cold/warm page-cache
# setting, same measurement (/usr/bin/time -v, du -sb of the repository). mlvault takes part as
# a peers.sh tool through exported shell functions (mlvault_init/_backup/_restore/_root), so
# nothing in the shared script is changed.
#
# Steps measured per tool: init, b1 initial backup, b2 unchanged backup, (mutation), b3 backup
# after ~1% change, restore of b3 into an empty directory, verified bit-exact with manifest.py.
# mlvault uses its vault CLI: `vault init`, `vault backup --kind filesystem --source WS
# --parent <previous id>`, `vault restore --recovery-point <b3 id> --target DIR`; the key is the
# same passphrase the peers use (MLVAULT_VAULT_PASSPHRASE).
#
# Then, in the same run, ../shared/bench/limits.sh measures the machine's limits on the same
# dataset (reading it with tar, its metadata walk, writing at dd's rate, hashing, compression),
# and each mlvault step is also shown as a ratio to its limit (see compare.py).
#
# Output: a table on stdout (wall, CPU user+sys, peak RSS, vault size per tool and operation,
# ratios mlvault / faster peer and mlvault / the machine's limit), written also to $RES/compare.csv and $RES/compare.md (with
# peers.sh's detailed tables from summarize.py appended).  A tool that fails is shown as FAILED
# with its exit code and log; the script then exits 1.
#
# Flags:
#   --smoke        quick run: SCALE=0.01, BENCH=/tmp/mlvault-bench-smoke, COLD=0 (unless set)
#   --peers-only   restic and Borg only (no mlvault)
#   --keep         keep repositories and restored trees (KEEP=1 of peers.sh)
#   --no-limits    do not run limits.sh (no ratios to the machine's limits)
# Environment:
#   BENCH=/tmp/mlvault-bench   dataset, repositories, caches, restores, results
#   SCALE=1 SEED=1             dataset parameters; $BENCH/ws-base is generated once and reused
#   COLD=1                     drop the page cache before every step (needs root; peers.sh falls
#                              back to warm and records cold=0 when it cannot)
#   MLVAULT=<path>             the mlvault binary (default: build/src/cli/mlvault of this repo)
#   RES=$BENCH/results/compare-<timestamp>
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=${SHARED_BENCH:-$REPO/../shared/bench}

SMOKE=0
PEERS_ONLY=0
LIMITS=1
for a in "$@"; do
  case "$a" in
    --smoke) SMOKE=1 ;;
    --peers-only) PEERS_ONLY=1 ;;
    --keep) export KEEP=1 ;;
    --no-limits) LIMITS=0 ;;
    -h|--help) sed -n '2,38p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown argument '$a' (see --help)" >&2; exit 2 ;;
  esac
done

if [ "$SMOKE" = 1 ]; then
  SCALE=${SCALE:-0.01}
  BENCH=${BENCH:-/tmp/mlvault-bench-smoke}
  COLD=${COLD:-0}
fi
export SCALE=${SCALE:-1} SEED=${SEED:-1} COLD=${COLD:-1}
export BENCH=${BENCH:-/tmp/mlvault-bench}
export RES=${RES:-$BENCH/results/compare-$(date +%Y%m%d-%H%M%S)}
MLVAULT=${MLVAULT:-$REPO/build/src/cli/mlvault}

die() { echo "compare.sh: $*" >&2; exit 2; }
[ -x "$SHARED/peers.sh" ] || die "cannot find peers.sh in $SHARED (set SHARED_BENCH)"
for t in /usr/bin/time restic borg python3; do
  command -v "$t" > /dev/null || die "'$t' is not installed"
done
awk -v s="$SCALE" 'BEGIN{exit !(s+0 > 0)}' || die "SCALE must be a positive number, got '$SCALE'"
mkdir -p "$BENCH" "$RES" || die "cannot create $BENCH"

# ---------------------------------------------------------------- (a) the reference workspace
BASE=$BENCH/ws-base
SUMMARY=$BENCH/ws-base.summary.json
if [ -d "$BASE" ]; then
  if [ -f "$SUMMARY" ]; then
    have=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d.get("seed"), float(d.get("scale")))' "$SUMMARY" 2>/dev/null)
    want=$(python3 -c 'import sys; print(sys.argv[1], float(sys.argv[2]))' "$SEED" "$SCALE")
    [ "$have" = "$want" ] || die "$BASE was made with seed/scale '$have', not '$want': use another BENCH or remove it"
  else
    echo "compare.sh: reusing $BASE (no $SUMMARY to check its seed/scale against SEED=$SEED SCALE=$SCALE)" >&2
  fi
else
  echo "compare.sh: generating $BASE (seed $SEED, scale $SCALE)" >&2
  rm -rf "$BASE.partial"
  "$SHARED/make-workspace.sh" "$BASE.partial" "$SEED" "$SCALE" > "$SUMMARY.partial" 2> "$BENCH/ws-base.log" \
    || { tail -5 "$BENCH/ws-base.log" >&2; die "make-workspace.sh failed"; }
  mv "$BASE.partial" "$BASE" && mv "$SUMMARY.partial" "$SUMMARY"
fi

# ---------------------------------------------------------------- (c) mlvault as a peers.sh tool
# peers.sh runs `bash -c "<tool>_init"` etc. in its environment (REPOS, CACHES, WS, PASS are
# exported by it), so exported functions are all it needs. The id of each recovery point
# ("recoveryPointId" in the JSON `vault backup` prints) is kept
# in $CACHES/mlvault/last-id to pass as --parent to the next backup and to the restore.
export MLVAULT
mlvault_id() {  # the new recovery point's id from `vault backup`'s JSON on stdin
  if command -v jq > /dev/null; then
    jq -er '.recoveryPointId // .id'
  else
    python3 -c 'import json,sys; d=json.load(sys.stdin); print(d.get("recoveryPointId") or d["id"])'
  fi
}
mlvault_init() {
  MLVAULT_VAULT_PASSPHRASE=$PASS "$MLVAULT" vault init --vault "$REPOS/mlvault"
}
mlvault_backup() {
  local st=$CACHES/mlvault parent=()
  [ -s "$st/last-id" ] && parent=(--parent "$(cat "$st/last-id")")
  MLVAULT_VAULT_PASSPHRASE=$PASS "$MLVAULT" vault backup --vault "$REPOS/mlvault" --kind filesystem \
    --source "$WS" "${parent[@]}" > "$st/b$1.json" || return
  cat "$st/b$1.json"
  mlvault_id < "$st/b$1.json" > "$st/last-id.new" && mv "$st/last-id.new" "$st/last-id"
}
mlvault_restore() {
  MLVAULT_VAULT_PASSPHRASE=$PASS "$MLVAULT" vault restore --vault "$REPOS/mlvault" \
    --recovery-point "$(cat "$CACHES/mlvault/last-id")" --target "$1"
}
mlvault_root() { echo "$1"; }
export -f mlvault_id mlvault_init mlvault_backup mlvault_restore mlvault_root

TOOLS=(restic borg)
if [ "$PEERS_ONLY" = 0 ]; then
  if [ -x "$MLVAULT" ] && "$MLVAULT" vault backup --help > /dev/null 2>&1; then
    :
  else
    echo "compare.sh: WARNING: $MLVAULT has no working 'vault backup' verb; mlvault will be reported as failed" >&2
  fi
  TOOLS+=(mlvault)
fi

# ---------------------------------------------------------------- (b)+(c) one peers.sh run
{
  echo "mlvault binary: $MLVAULT"
  echo "mlvault commit: $(git -C "$REPO" describe --always --dirty 2>/dev/null)"
  echo "compare.sh: SCALE=$SCALE SEED=$SEED COLD=$COLD tools=${TOOLS[*]}"
} > "$RES/compare-settings.txt"
echo "compare.sh: running peers.sh ${TOOLS[*]} (SCALE=$SCALE COLD=$COLD) -> $RES" >&2
"$SHARED/peers.sh" "${TOOLS[@]}" > "$RES/peers.stdout" 2> "$RES/peers.stderr"
peers_rc=$?
[ $peers_rc -eq 0 ] || echo "compare.sh: peers.sh exited $peers_rc (see $RES/peers.stderr)" >&2
[ -f "$RES/results.csv" ] || { tail -20 "$RES/peers.stderr" >&2; die "peers.sh produced no results.csv"; }

# ---------------------------------------------------------------- the machine's limits, same run
if [ "$LIMITS" = 1 ]; then
  if [ -x "$SHARED/limits.sh" ] || [ -f "$SHARED/limits.sh" ]; then
    echo "compare.sh: running limits.sh -> $RES/limits.txt" >&2
    BENCH=$BENCH RES=$RES bash "$SHARED/limits.sh" > "$RES/limits.stdout" 2> "$RES/limits.stderr" ||
      echo "compare.sh: limits.sh exited $? (see $RES/limits.stderr); ratios to limits may be missing" >&2
  else
    echo "compare.sh: no limits.sh in $SHARED; no ratios to the machine's limits" >&2
  fi
fi

# ---------------------------------------------------------------- (d) the comparison
python3 "$HERE/compare.py" "$RES" "${TOOLS[@]}"
rc=$?
if python3 "$SHARED/summarize.py" "$RES" > "$RES/details.md" 2> "$RES/summarize.err"; then
  { echo; echo "## Details (summarize.py)"; echo; cat "$RES/details.md"; } >> "$RES/compare.md"
else
  echo "compare.sh: summarize.py failed (see $RES/summarize.err)" >&2
fi
echo "compare.sh: results in $RES/compare.md and $RES/compare.csv" >&2
exit $rc
