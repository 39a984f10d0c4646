#!/usr/bin/env bash
# Runs one control-plane end-to-end script with its catalog on PostgreSQL: a fresh database on
# the server named by MLVAULT_TEST_PG (the ctest fixture `postgres` starts one), exported as
# MLVAULT_CATALOG for every mlvault process the script starts, and dropped afterwards.
#   with_postgres.sh <script.sh> <mlvault> <mlvault-workspace>
set -uo pipefail
: "${MLVAULT_TEST_PG:?set MLVAULT_TEST_PG to a libpq URL (scripts/start-postgres.sh start prints one)}"
db=mlvault_e2e_$$_$RANDOM
psql "$MLVAULT_TEST_PG" -qX -v ON_ERROR_STOP=1 -c "CREATE DATABASE $db" || exit 1
export MLVAULT_CATALOG="${MLVAULT_TEST_PG%/*}/$db"  # postgresql://user@host:port/<db>
bash "$@"
rc=$?
psql "$MLVAULT_TEST_PG" -qX -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" || true
exit $rc
