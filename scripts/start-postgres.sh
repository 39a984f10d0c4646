#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster for tests and benchmarks: data, socket and log in one temp
# folder, listening on 127.0.0.1 only, trust authentication for the `postgres` user, no fsync.
#
#   scripts/start-postgres.sh start [--dir DIR] [--port PORT]
#       initdb + start; prints the libpq URL and writes DIR/pg.env (MLVAULT_TEST_PG=<url>).
#       DIR defaults to a new /tmp/mlvault-pg-XXXXXX, PORT to a free port.
#   scripts/start-postgres.sh stop --dir DIR
#       stops the server by the pid in DIR/data/postmaster.pid and removes DIR.
#
# As root the server runs as the unprivileged `postgres` user (PostgreSQL refuses to run as
# root); as any other user it runs as that user. Needs postgresql-15 (scripts/install-deps.sh).
set -euo pipefail

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
cmd=${1:-}
shift || true
DIR=""
PORT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR=$2; shift 2 ;;
    --port) PORT=$2; shift 2 ;;
    *) echo "start-postgres.sh: unknown argument '$1' (see the header of $0)" >&2; exit 2 ;;
  esac
done

as_pg() {  # runs a command as the cluster's owner
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  [ -n "$DIR" ] || { echo "start-postgres.sh stop: --dir DIR is required" >&2; exit 2; }
  local pidfile=$DIR/data/postmaster.pid
  if [ -f "$pidfile" ]; then
    local pid
    pid=$(head -1 "$pidfile")
    # SIGINT = fast shutdown: disconnect clients, stop cleanly. Then wait up to 30 s.
    if kill -INT "$pid" 2>/dev/null; then
      for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      if kill -0 "$pid" 2>/dev/null; then
        echo "start-postgres.sh: postgres $pid did not stop in 30 s; killing it" >&2
        kill -KILL "$pid" 2>/dev/null || true
      fi
    fi
  fi
  case "$DIR" in
    /tmp/*|"${TMPDIR:-/tmp}"/*) rm -rf "$DIR" ;;
    *) rm -rf "$DIR/data" "$DIR/pg.log" "$DIR/pg.env" ;;
  esac
  echo "postgres stopped ($DIR)"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  [ -x "$PGBIN/initdb" ] || {
    echo "start-postgres.sh: $PGBIN/initdb not found; install postgresql-15 (scripts/install-deps.sh)" >&2
    exit 1
  }
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "start-postgres.sh: running as root needs the 'postgres' user (created by the postgresql-15 package)" >&2
    exit 1
  fi
  [ -n "$DIR" ] || DIR=$(mktemp -d "${TMPDIR:-/tmp}/mlvault-pg-XXXXXX")
  [ -n "$PORT" ] || PORT=$(free_port)
  if [ -f "$DIR/data/postmaster.pid" ] && kill -0 "$(head -1 "$DIR/data/postmaster.pid")" 2>/dev/null; then
    # A server left behind by an interrupted run in this throw-away folder: replace it.
    echo "start-postgres.sh: stopping the server left running in $DIR" >&2
    stop >/dev/null
  fi
  rm -rf "$DIR/data"
  mkdir -p "$DIR"
  chmod 0755 "$DIR"
  [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$DIR"
  as_pg "$PGBIN/initdb" -D "$DIR/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync \
    >"$DIR/initdb.log" 2>&1 || { cat "$DIR/initdb.log" >&2; exit 1; }
  if ! as_pg "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/pg.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
    start >/dev/null; then
    echo "start-postgres.sh: the server did not start on 127.0.0.1:$PORT (port taken?); its log:" >&2
    tail -20 "$DIR/pg.log" >&2
    exit 1
  fi
  local url="postgresql://postgres@127.0.0.1:$PORT/postgres"
  echo "MLVAULT_TEST_PG=$url" >"$DIR/pg.env"
  echo "postgres running: pid $(head -1 "$DIR/data/postmaster.pid"), dir $DIR"
  echo "$url"
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start [--dir DIR] [--port PORT] | stop --dir DIR" >&2; exit 2 ;;
esac
