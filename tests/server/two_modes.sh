#!/usr/bin/env bash
# Runs an end-to-end suite written for embedded mode a second time against `mlvault server`:
#   two_modes.sh <suite.sh> <mlvault> <suite's other arguments...>
# The suite gets tests/server/mlvault_via_server.sh as its mlvault binary: every API verb goes
# through a server started on first use for the suite's $MLVAULT_HOME (127.0.0.1, any free
# port). Every server started is stopped by its pid at the end, whatever the suite did.
set -uo pipefail
HERE=$(dirname "$(readlink -f "$0")")
SUITE=$1 REAL=$(readlink -f "$2")
shift 2
export MLVAULT_REAL=$REAL
export MLVAULT_VIA_SERVER_PIDS=$(mktemp "${TMPDIR:-/tmp}/mlvault-via-server-pids.XXXXXX")
unset MLVAULT_ENDPOINT
stop_servers() {
  while read -r pid; do
    [ -n "$pid" ] || continue
    kill "$pid" 2>/dev/null
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done <"$MLVAULT_VIA_SERVER_PIDS"
  rm -f "$MLVAULT_VIA_SERVER_PIDS"
}
trap stop_servers EXIT
bash "$SUITE" "$HERE/mlvault_via_server.sh" "$@"
