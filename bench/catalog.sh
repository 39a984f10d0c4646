#!/usr/bin/env bash
# Catalog at scale: 10,000 workspaces x 100 backups (and a workflow per backup), bulk-loaded with
# set-based SQL, on PostgreSQL (a throw-away server from scripts/start-postgres.sh) and on SQLite;
# prints p50/p99/max of the store calls behind listWorkspaceBackups and describeWorkflow.
#   bench/catalog.sh [build-dir]        WORKSPACES=10000 BACKUPS=100 CALLS=2000 by default
# Figures go to bench/RESULTS.md by hand ("Catalog at scale").
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
W=${WORKSPACES:-10000}
B=${BACKUPS:-100}
C=${CALLS:-2000}
cmake --build "$BUILD" --target mlvault_catalog_bench >/dev/null
BIN=$BUILD/bench/mlvault_catalog_bench
SQLDIR=$(mktemp -d /tmp/mlvault-catalog-bench-XXXXXX)
PGDIR=$(mktemp -d /tmp/mlvault-pg-bench-XXXXXX)
trap 'scripts/start-postgres.sh stop --dir "$PGDIR" >/dev/null; rm -rf "$SQLDIR"' EXIT
URL=$(scripts/start-postgres.sh start --dir "$PGDIR" | tail -1)
psql "$URL" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE mlvault_bench"
echo "== PostgreSQL $(psql "$URL" -qtAX -c 'SHOW server_version')"
"$BIN" --catalog "${URL%/*}/mlvault_bench" --workspaces "$W" --backups "$B" --calls "$C"
echo "== SQLite $(sqlite3 --version | cut -d' ' -f1)"
"$BIN" --catalog "$SQLDIR/catalog.db" --workspaces "$W" --backups "$B" --calls "$C"
