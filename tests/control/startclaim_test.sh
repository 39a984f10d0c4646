#!/usr/bin/env bash
# Exactly one start per workspace (issue 16): two `mlvault server` processes on one catalog both
# bring back, at their start, the workspaces whose runtime died; two start-workspace calls run at
# once. Each dead workspace's runtime must be started once (one runtime process, one "brought
# back" audit record), whichever server or caller gets there first; the other says it left the
# workspace to the one that did. Run on SQLite and (with_postgres.sh) on PostgreSQL.
source "$(dirname "$0")/lib.sh" "$@"

# runtimes <ws crn>: how many workspace runtime processes serve that workspace.
runtime_pids() { pgrep -f -- "serve .*--workspace-crn $1 "; }
runtimes() { runtime_pids "$1" | wc -l; }
# kill_runtime <ws crn>: as a host restart would, the runtime and its process groups die.
kill_runtime() {
  local pid children
  pid=$(sql "SELECT runtime_pid FROM workspaces WHERE crn = '$1'")
  children=$(ps -o pid= --ppid "$pid")
  kill -9 "$pid"
  for c in $children; do kill -9 -- "-$c" 2>/dev/null || kill -9 "$c" 2>/dev/null; done
  wait_for 10 test ! -e "/proc/$pid"
}
brought_back() {
  sql "SELECT COUNT(*) FROM audit_events WHERE action = 'ml:StartWorkspace' AND resource = '$1' AND detail LIKE 'brought back%'"
}
declare -A SERVER
stop_servers() {
  local s
  for s in "${!SERVER[@]}"; do
    kill -TERM "${SERVER[$s]}" 2>/dev/null
    wait "${SERVER[$s]}" 2>/dev/null
    unset "SERVER[$s]"
  done
}
at_cleanup() {
  stop_servers
  [ "$FAILED" = 0 ] || tail -n 5 "$MLVAULT_HOME"/server-*.err
}

expect 0 "create-environment dev" create-environment --environment-name dev
WS=() NAMES=(w1 w2 w3)
for n in "${NAMES[@]}"; do WS+=("$(create_workspace dev "$n")"); done
check "three workspaces run" test "$(for w in "${WS[@]}"; do ws_field "$w" status; done | sort -u)" = running

echo "-- two servers start at once and bring the dead workspaces back"
for w in "${WS[@]}"; do kill_runtime "$w"; done
check "their runtimes are dead" test "$(for w in "${WS[@]}"; do runtimes "$w"; done | sort -u)" = 0
for s in a b; do
  MLVAULT_LOG=info "$MLVAULT" server --listen 127.0.0.1:0 >"$MLVAULT_HOME/server-$s.out" 2>"$MLVAULT_HOME/server-$s.err" &
  SERVER[$s]=$!
done
# Each workspace is started by one server; the other finds it running or being started (and
# says it left it as it is) or, having listed it after the start, does not list it at all.
started_lines() { cat "$MLVAULT_HOME"/server-[ab].err | grep -c 'was running before; started again'; }
all_started() { [ "$(started_lines)" -ge ${#WS[@]} ]; }
check "the servers brought the workspaces back" wait_for 240 all_started
sleep 3  # a second start, were there one, would be logged by now (the first took the same time)
for i in "${!WS[@]}"; do
  w=${WS[$i]} n=${NAMES[$i]}
  check "$n: one runtime process" test "$(runtimes "$w")" = 1
  check "$n: running, at the runtime recorded" test "$(ws_field "$w" status)" = running
  check "$n: brought back once (audit)" test "$(brought_back "$w")" = 1
  check "$n: started by one server" test "$(cat "$MLVAULT_HOME"/server-[ab].err | grep "workspace $n " | grep -c 'started again')" = 1
done
check "neither server failed a start" test "$(cat "$MLVAULT_HOME"/server-[ab].err | grep -c 'could not be started')" = 0
grep -h 'left as it is' "$MLVAULT_HOME"/server-[ab].err | sed 's/^.*info: /    /'
stop_servers

echo "-- two start-workspace calls at once"
W=${WS[0]}
kill_runtime "$W"
"$MLVAULT" start-workspace --workspace-crn "$W" >"$MLVAULT_HOME/start-1.out" 2>"$MLVAULT_HOME/start-1.err" & P1=$!
"$MLVAULT" start-workspace --workspace-name w1 --environment-name dev >"$MLVAULT_HOME/start-2.out" 2>"$MLVAULT_HOME/start-2.err" & P2=$!
wait "$P1"; R1=$?
wait "$P2"; R2=$?
check "both succeed" test "$R1 $R2" = "0 0"
check "both answer running at the same endpoint" test \
  "$(jq -r '.workspaces[0] | "\(.status) \(.endpoint)"' "$MLVAULT_HOME/start-1.out")" = \
  "$(jq -r '.workspaces[0] | "\(.status) \(.endpoint)"' "$MLVAULT_HOME/start-2.out")"
check "one runtime process" test "$(runtimes "$W")" = 1
check "the one recorded" test "$(sql "SELECT runtime_pid FROM workspaces WHERE crn = '$W'")" = \
  "$(runtime_pids "$W")"
check "no start claim is left" test "$(sql "SELECT COUNT(*) FROM workspaces WHERE start_owner <> ''")" = 0

echo "-- a claim whose holder died is taken over"
kill_runtime "$W"
sql "UPDATE workspaces SET start_owner = '$(hostname)/999999999/1/dead', start_lease_until = 9000000000000000 WHERE crn = '$W'" >/dev/null
expect 0 "start-workspace takes over the dead holder's claim" start-workspace --workspace-crn "$W"
check "one runtime process" test "$(runtimes "$W")" = 1
