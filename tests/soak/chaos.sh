#!/usr/bin/env bash
# Chaos soak: rounds of backups, restores, deletes (with GC), cancels and verifies on real
# workspaces while storage faults are injected and workers are killed with SIGKILL at random
# moments; after EVERY round the invariants are checked, not assumed:
#   - no workflow stays active, and none keeps a lease owner, once `mlvault worker --recover` ran
#   - no workspace is left quiesced; every live workspace's runtime runs, and no runtime process
#     of this installation is orphaned
#   - every vault passes `mlvault vault verify --read-data`, and no lock is left in it after a
#     clean operation found the stale ones of killed workers
#   - the catalog and the vaults agree: every recovery point of a succeeded backup is in its vault
#   - every succeeded backup was made by this run from a known workspace state; one of them (each
#     round) and all of them (at the end) restore into a new workspace equal to that state
# It prints rounds, faults injected, kills and invariant checks passed. A violation prints the
# seed that reproduces the run (the choices, not the timing of the machine).
#
#   tests/soak/chaos.sh [--minutes M] [--seed S] [--workspaces N] [--fault-percent P] \
#                       MLVAULT MLVAULT_WORKSPACE
# Defaults: 5 minutes, a random seed, 2 workspaces, 20 % of the vault writes failing in the
# faulty rounds (util/test_hooks.h MLVAULT_TEST_VAULT_FAULTS). M may be fractional (1.5).
# Clients write between the operations (files written into the projects volume); the state a
# backup must restore is the workspace's snapshot taken just before it.
set -uo pipefail
MINUTES=5 SEED=$(( $(date +%s) % 100000 )) NWS=2 FAULT_PERCENT=20
while [ $# -gt 2 ]; do
  case $1 in
    --minutes) MINUTES=$2; shift 2 ;;
    --seed) SEED=$2; shift 2 ;;
    --workspaces) NWS=$2; shift 2 ;;
    --fault-percent) FAULT_PERCENT=$2; shift 2 ;;
    *) echo "chaos: unknown option $1 (see the header of $0)" >&2; exit 2 ;;
  esac
done
[ $# -eq 2 ] || { echo "usage: $0 [--minutes M] [--seed S] [--workspaces N] MLVAULT MLVAULT_WORKSPACE" >&2; exit 2; }
[[ $SEED =~ ^[0-9]+$ ]] || { echo "chaos: --seed must be a number" >&2; exit 2; }
source "$(dirname "$0")/../control/lib.sh" "$1" "$2"
RANDOM=$SEED
STATE=$MLVAULT_HOME/chaos-state   # <backup id>.json: the snapshot a succeeded backup must restore
mkdir -p "$STATE"
ROUNDS=0 FAULTED=0 KILLS=0 CHECKS=0 VIOLATIONS=0 NB=0
DEADLINE=$(( $(date +%s) + $(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 60 }') ))

say() { echo "[chaos $(( $(date +%s) - T0 ))s round $ROUNDS] $*"; }
violation() {
  VIOLATIONS=$((VIOLATIONS + 1))
  fail "round $ROUNDS: $* (reproduce: $0 --seed $SEED --minutes $MINUTES --workspaces $NWS --fault-percent $FAULT_PERCENT)"
}
invariant() {  # invariant "what" <command...>
  local what=$1; shift
  if "$@"; then CHECKS=$((CHECKS + 1)) PASSED=$((PASSED + 1)); else violation "invariant broken: $what"; fi
}
pick() { echo $(( RANDOM % $1 )); }  # 0..n-1

"$MLVAULT" create-environment --environment-name chaos >/dev/null || { fail "create-environment"; exit 1; }
grant_backup_entitlement
WSS=()
for i in $(seq 1 "$NWS"); do
  ws=$(create_workspace chaos "ws$i")
  [ -n "$ws" ] && [ "$ws" != null ] || { fail "create workspace ws$i"; exit 1; }
  seed "$ws"
  WSS+=("$ws")
done
mlv_slow() { MLVAULT_TEST_VAULT_FAULTS=0:0:150 mlv "$@"; }
declare -A WS_ID WS_EP WS_KEY
for ws in "${WSS[@]}"; do
  WS_ID[$ws]=$(sql "SELECT id FROM workspaces WHERE crn = '$ws'")
  WS_EP[$ws]=$(ws_field "$ws" endpoint)
  WS_KEY[$ws]=$(api_key "$ws")
done
data_dir() {  # the data folder of the first project of a workspace
  local ws=$1 vol proj
  vol=$(ws_field "$ws" 'volumes[0].path')
  proj=$(api "$ws" GET /api/v1/projects | jq -r '.projects[0].id')
  echo "$vol/$proj/data"
}
declare -A DATA
for ws in "${WSS[@]}"; do DATA[$ws]=$(data_dir "$ws"); done

# A client's writes: a few new or rewritten files and now and then a removal.
client_writes() {
  local dir=${DATA[$1]} n k
  n=$(( 1 + $(pick 4) ))
  for _ in $(seq "$n"); do
    k=$(pick 12)
    head -c $(( 1024 + RANDOM * 8 )) /dev/urandom >"$dir/chaos-$k.bin"
  done
  if [ "$(pick 4)" = 0 ]; then rm -f "$dir/chaos-$(pick 12).bin"; fi
}
active_workflows() { sql "SELECT COUNT(*) FROM workflows WHERE status IN ('queued','pending','running')"; }
lease_pid() { "$MLVAULT" describe-workflow --workflow-id "$1" 2>/dev/null | jq -r '.workflow.lease.owner // ""' | cut -d/ -f2; }
# process_exited <pid>: gone, or a zombie not yet reaped by its (adoptive) parent.
process_exited() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
  [ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ]
}
# kill_worker_soon <workflow id>: SIGKILL its worker after 0-1.5 s, if it still runs. The
# workflows it kills run with slow vault writes (mlv_slow), so the kill lands inside their work.
kill_worker_soon() {
  local wf=$1 pid
  sleep "$(pick 2).$(pick 10)"
  pid=$(sql "SELECT lease_owner FROM workflows WHERE id = '$wf'" | cut -d/ -f2)
  if [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && grep -q mlvault "/proc/$pid/cmdline" 2>/dev/null; then
    kill -9 "$pid" && KILLS=$((KILLS + 1)) && touch "$MLVAULT_HOME/.killed-since-check" &&
      say "killed worker $pid of workflow $wf"
    # SIGKILL is delivered asynchronously: until the process has exited, recovery rightly sees
    # its worker alive. Wait for that, as an administrator would see it gone before recovering.
    wait_for 10 process_exited "$pid" || violation "worker $pid still runs 10 s after SIGKILL"
  else
    say "workflow $wf had no live worker to kill ($(sql "SELECT status FROM workflows WHERE id = '$wf'"))"
  fi
}
catalog_status() { sql "SELECT status FROM backups WHERE crn = '$1'"; }
backup_ended() { case $(catalog_status "$1") in running|pending|queued) return 1 ;; esac; }
backup_not_deleting() { [ "$(catalog_status "$1")" != deleting ]; }
record_if_succeeded() {  # record_if_succeeded <backup crn> <snapshot file>
  local b=$1 snap=$2 id
  id=$(sql "SELECT id FROM backups WHERE crn = '$b'")
  if [ "$(catalog_status "$b")" = succeeded ]; then mv "$snap" "$STATE/$id.json"; else rm -f "$snap"; fi
}

# ---------------------------------------------------------------------------------- actions
act_backup() {  # act_backup <ws> clean|faults|kill|cancel
  local ws=$1 mode=$2 snap b wf name
  NB=$((NB + 1)) name="b$NB-$mode"
  client_writes "$ws"
  snap=$(mktemp "$MLVAULT_HOME/snap-XXXXXX")
  snapshot "$ws" >"$snap"
  case $mode in
    clean) mlv backup-workspace --workspace-crn "$ws" --backup-name "$name" ;;
    faults)
      FAULTED=$((FAULTED + 1))
      MLVAULT_TEST_VAULT_FAULTS="$FAULT_PERCENT:$((SEED * 1000 + ROUNDS))" \
        mlv backup-workspace --workspace-crn "$ws" --backup-name "$name" ;;
    kill|cancel) mlv_slow backup-workspace --workspace-crn "$ws" --backup-name "$name" ;;
  esac
  b=$(j .backupCrn) wf=$(j .workflowId)
  [ "$RC" = 0 ] && [ -n "$b" ] && [ "$b" != null ] ||
    { violation "backup-workspace was not accepted: $(head -c 300 <<<"$ERR")"; rm -f "$snap"; return; }
  case $mode in
    kill) kill_worker_soon "$wf"; "$MLVAULT" worker --recover >/dev/null 2>&1 ;;
    cancel) sleep "0.$(pick 10)"; "$MLVAULT" cancel-backup --backup-crn "$b" >/dev/null 2>&1 ;;
  esac
  wait_for 300 backup_ended "$b" || violation "backup $b did not end within 300 s"
  local status cause
  status=$(catalog_status "$b")
  cause=$(sql "SELECT error FROM backups WHERE crn = '$b'")
  case $mode/$status in
    clean/succeeded | faults/succeeded | kill/succeeded | cancel/succeeded | cancel/cancelled) ;;
    faults/failed) grep -q "injected by MLVAULT_TEST_VAULT_FAULTS" <<<"$cause" ||
      violation "backup $b failed for another reason than the injected faults: ${cause:0:300}" ;;
    kill/failed) grep -q "interrupted" <<<"$cause" ||
      violation "backup $b failed for another reason than the kill: ${cause:0:300}" ;;
    *) violation "backup ($mode) $b ended $status: ${cause:0:300}" ;;
  esac
  record_if_succeeded "$b" "$snap"
  say "backup ($mode) of ${ws##*:}: $(catalog_status "$b")"
}
succeeded_backups() { sql "SELECT crn FROM backups WHERE status = 'succeeded' ORDER BY created_at"; }
random_succeeded() {
  local all
  mapfile -t all < <(succeeded_backups)
  [ ${#all[@]} -gt 0 ] && echo "${all[$(pick ${#all[@]})]}"
}
act_delete() {  # act_delete clean|faults|kill
  local mode=$1 b wf
  b=$(random_succeeded) || return 0
  [ -n "$b" ] || return 0
  case $mode in
    clean) mlv delete-backup --backup-crn "$b" --wait
      [ "$RC" = 0 ] || violation "a delete without faults failed: $(head -c 300 <<<"$ERR")" ;;
    faults) FAULTED=$((FAULTED + 1))
      MLVAULT_TEST_VAULT_FAULTS="$FAULT_PERCENT:$((SEED * 1000 + ROUNDS))" mlv delete-backup --backup-crn "$b" --wait ;;
    kill) mlv_slow delete-backup --backup-crn "$b"
      wf=$(j .workflowId)
      kill_worker_soon "$wf"
      "$MLVAULT" worker --recover >/dev/null 2>&1 ;;
  esac
  wait_for 300 backup_not_deleting "$b" ||
    violation "delete of $b did not end within 300 s"
  say "delete ($mode) of ${b##*:}: $(catalog_status "$b")"
}
# restore_and_compare <backup crn>: restores into a new workspace, compares, deletes it again.
restore_and_compare() {
  local b=$1 id name r want got
  id=$(sql "SELECT id FROM backups WHERE crn = '$b'")
  [ -f "$STATE/$id.json" ] || { violation "succeeded backup $b was not made from a known state"; return; }
  name="r$ROUNDS-$(pick 100000)"
  restore_input "$b" "$name" chaos >"$MLVAULT_HOME/in.json"
  mlv restore-workspace --cli-input-json "file://$MLVAULT_HOME/in.json" --wait
  if [ "$RC" != 0 ]; then violation "restore of $b failed: $(head -c 300 <<<"$ERR")"; return; fi
  r=$(j .workspaceCrn)
  want=$(jq -S . "$STATE/$id.json")
  got=$(snapshot "$r" | jq -S .)
  invariant "backup $b restores exactly the state it was taken from" test "$got" = "$want"
  "$MLVAULT" delete-workspace --workspace-crn "$r" >/dev/null 2>&1 || violation "deleting restored workspace $r failed"
  say "restore of ${b##*:} compared"
}
act_restore() { local b; b=$(random_succeeded) && [ -n "$b" ] && restore_and_compare "$b"; }

# ---------------------------------------------------------------------------------- invariants
runtime_ok() {  # every live workspace's runtime runs; no other runtime of this home runs
  local pid want have
  want=$(sql "SELECT runtime_pid FROM workspaces WHERE deleted_at IS NULL AND runtime_pid > 0" | sort -n)
  for pid in $want; do kill -0 "$pid" 2>/dev/null || { echo "    runtime pid $pid is gone" >&2; return 1; }; done
  have=$(for p in $(pgrep -f "^$MLVAULT_WORKSPACE_BIN( |$)"); do
           grep -qF "$MLVAULT_HOME" "/proc/$p/cmdline" 2>/dev/null && echo "$p"; done | sort -n)
  [ "$have" = "$want" ] || { echo "    runtimes running: [$have], catalogued: [$want]" >&2; return 1; }
}
not_quiesced() {
  [ "$(curl -s -H "Authorization: Bearer ${WS_KEY[$1]}" "${WS_EP[$1]}/api/v1/health" | jq -r .quiesced)" = false ]
}
vault_verifies() { "$MLVAULT" vault verify --vault "$1" --key-file "$2" --read-data >"$MLVAULT_HOME/verify.out" 2>"$MLVAULT_HOME/verify.err" ||
  { head -c 600 "$MLVAULT_HOME/verify.err" >&2; jq -c '.damaged // .' "$MLVAULT_HOME/verify.out" 2>/dev/null | head -c 3000 >&2; echo >&2; return 1; }; }
# No lock left, except after a worker was killed, or an operation could not remove its lock
# even retrying (it logs "cannot remove vault lock"): such a lock stays until an operation meets
# it and removes it as stale (docs/vault-format.md section 8); it blocks nothing.
no_locks() {
  [ -z "$(ls -A "$1/locks" 2>/dev/null)" ] && return 0
  [ -e "$MLVAULT_HOME/.killed-since-check" ] &&
    { say "  $(ls -A "$1/locks" | wc -l) stale lock(s) of killed workers left in $1 (removed when met)"; return 0; }
  grep -qs "cannot remove vault lock" "$MLVAULT_HOME"/logs/*.log &&
    { say "  $(ls -A "$1/locks" | wc -l) lock(s) whose removal failed under faults left in $1 (stale, removed when met)"; return 0; }
  return 1
}
points_in_vault() {  # points_in_vault <ws id> <vault> <key>
  local have want
  have=$("$MLVAULT" vault list --vault "$2" --key-file "$3" 2>/dev/null | jq -r '.. | objects | .id? // empty' | sort -u)
  want=$(sql "SELECT rp.vault_point_id FROM recovery_points rp JOIN backups b ON b.id = rp.backup_id WHERE b.status = 'succeeded' AND b.workspace_id = '$1'" | sort -u)
  [ -z "$(comm -13 <(echo "$have") <(echo "$want"))" ] ||
    { echo "    catalogued points missing from $2: $(comm -13 <(echo "$have") <(echo "$want") | tr '\n' ' ')" >&2; return 1; }
}
check_invariants() {
  local ws id v k b
  "$MLVAULT" worker --recover >/dev/null 2>&1
  invariant "no workflow stays active" wait_for 300 test "$(active_workflows)" = 0
  invariant "no ended workflow keeps a lease" test "$(sql "SELECT COUNT(*) FROM workflows WHERE lease_owner <> ''")" = 0
  invariant "runtimes: none gone, none orphaned" runtime_ok
  for ws in "${WSS[@]}"; do
    invariant "workspace $ws is not left quiesced" not_quiesced "$ws"
    id=${WS_ID[$ws]}
    v=$MLVAULT_HOME/vaults/mlv-$id k=$MLVAULT_HOME/keys/mlv-$id.key
    [ -d "$v" ] || continue
    invariant "vault of $ws verifies with --read-data" vault_verifies "$v" "$k"
    invariant "no lock left in the vault of $ws (but killed workers' stale ones)" no_locks "$v"
    invariant "catalog and vault of $ws agree" points_in_vault "$id" "$v" "$k"
  done
  for id in $(sql "SELECT id FROM backups WHERE status = 'succeeded'"); do
    invariant "succeeded backup $id was made from a known state" test -f "$STATE/$id.json"
  done
}

# ---------------------------------------------------------------------------------- the soak
echo "chaos: seed $SEED, $MINUTES min, ${#WSS[@]} workspaces, faults $FAULT_PERCENT % in faulty rounds"
for ws in "${WSS[@]}"; do act_backup "$ws" clean; done
while [ "$(date +%s)" -lt "$DEADLINE" ] && [ "$VIOLATIONS" = 0 ]; do
  ROUNDS=$((ROUNDS + 1))
  ws=${WSS[$(pick ${#WSS[@]})]}
  case $(pick 10) in
    0|1) act_backup "$ws" clean ;;
    2) act_backup "$ws" faults ;;
    3|4) act_backup "$ws" kill ;;
    5) act_backup "$ws" cancel ;;
    6) act_delete "$(case $(pick 3) in 0) echo clean ;; 1) echo faults ;; *) echo kill ;; esac)" ;;
    7) act_restore ;;
    8) act_backup "$ws" faults; act_backup "$ws" clean ;;
    9) act_delete kill; act_backup "$ws" kill ;;
  esac
  check_invariants
done
if [ "$VIOLATIONS" = 0 ]; then
  echo "-- at the end: every succeeded backup restores exactly"
  for b in $(succeeded_backups); do restore_and_compare "$b"; done
fi
echo "chaos: seed $SEED: $ROUNDS rounds, $FAULTED operations with injected faults, $KILLS workers killed," \
     "$CHECKS invariant checks passed, $VIOLATIONS violations, $(succeeded_backups | wc -l) succeeded backups at the end"
[ "$VIOLATIONS" = 0 ]
