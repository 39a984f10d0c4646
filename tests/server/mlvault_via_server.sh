#!/usr/bin/env bash
# A stand-in for the mlvault binary that runs every API verb against `mlvault server`, so the
# end-to-end suites written for embedded mode run unchanged against a server ("two modes are one
# product"):  MLVAULT_REAL=/path/to/mlvault mlvault_via_server.sh <verb> ...
#
# On first use for an $MLVAULT_HOME it creates the account embedded (`mlvault init`, writing the
# administrator's key to $MLVAULT_HOME/credentials, as first use does) and starts
# `mlvault server --listen 127.0.0.1:0` on that home; later calls reuse it while its pid lives
# and start a new one when it died (a test that kill -9s the server sees it restarted, as an
# operator's supervisor would). Verbs that are not API operations (vault, worker, init, server,
# --help) run the real binary directly. The servers' pids are listed in
# $MLVAULT_VIA_SERVER_PIDS (one per line) so the caller stops them.
set -uo pipefail
REAL=${MLVAULT_REAL:?set MLVAULT_REAL to the mlvault binary}
HOME_DIR=${MLVAULT_HOME:?}
STATE=$HOME_DIR/.via-server
verb=""
for a in "$@"; do case "$a" in --*) ;; *) verb=$a; break ;; esac; done
case "$verb" in
  ""|vault|worker|init|server|help) exec "$REAL" "$@" ;;
esac
for a in "$@"; do [ "$a" = --help ] && exec "$REAL" "$@"; done

start_server() {
  mkdir -p "$STATE"
  [ -f "$HOME_DIR/credentials" ] || "$REAL" init >/dev/null 2>&1 ||
    { echo "mlvault_via_server: mlvault init failed" >&2; exit 1; }
  local out=$STATE/server.out
  MLVAULT_ENDPOINT= "$REAL" server --listen 127.0.0.1:0 --access-log "$STATE/access.log" \
    --drain-seconds 5 >"$out" 2>"$STATE/server.err" </dev/null 9>&- &
  local pid=$!
  echo "$pid" >>"${MLVAULT_VIA_SERVER_PIDS:-$STATE/pids}"
  for _ in $(seq 200); do
    if grep -q "listening on" "$out" 2>/dev/null; then break; fi
    kill -0 "$pid" 2>/dev/null || { echo "mlvault_via_server: the server exited: $(cat "$STATE/server.err")" >&2; exit 1; }
    sleep 0.05
  done
  sed -n 's/^mlvault server listening on \([^ ]*\).*/\1/p' "$out" >"$STATE/endpoint"
  echo "$pid" >"$STATE/pid"
}

(
  flock 9
  if ! { [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; }; then start_server; fi
) 9>"$HOME_DIR/.via-server.lock"
MLVAULT_ENDPOINT=$(cat "$STATE/endpoint") exec "$REAL" "$@"
