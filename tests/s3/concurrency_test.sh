#!/usr/bin/env bash
# Two processes share one vault on S3 (RADOS Gateway, the `rgw` CTest fixture) and nothing is
# lost: process A takes backups of a changing tree and deletes some of them; process B
# alternates GC (exclusive lock) with backups of a second tree. Afterwards the vault verifies
# clean, every deleted point is gone, and every kept point restores to exactly the tree it was
# taken of. Runs with a listing lag of 0.3 s so the lag-aware lock path (docs/vault-format.md
# §8) is exercised on every lock.
#   concurrency_test.sh /path/to/mlvault        (needs $MLVAULT_TEST_RGW_ENV)
set -uo pipefail
M=${1:?usage: concurrency_test.sh MLVAULT_BINARY}
if [ -z "${MLVAULT_TEST_RGW_ENV:-}" ]; then
  echo "skip: no RGW (run scripts/start-rgw.sh start DIR; MLVAULT_TEST_RGW_ENV=DIR/s3.env)"
  exit 77
fi
set -a
# shellcheck disable=SC1090
. "$MLVAULT_TEST_RGW_ENV"
set +a
export MLVAULT_S3_LISTING_LAG_SECONDS=0.3
T=$(mktemp -d /tmp/mlvault-s3-conc.XXXXXX)
trap 'rm -rf "$T"' EXIT
V="s3://mlvault-test/conc-$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
ROUNDS=${ROUNDS:-6}
fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
sums() { (cd "$1" && find . -type f -print0 | sort -z | xargs -0 -r sha256sum); }
id_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["recoveryPointId"])' "$1"; }

"$M" vault keygen --key-file "$T/key" > /dev/null
"$M" vault init --vault "$V" --key-file "$T/key" > /dev/null || { echo "FAIL init on $V"; exit 1; }
mkdir -p "$T/sums" "$T/a" "$T/b"

# A: backups of a changing tree; deletes every other point right after the next backup.
(
  prev=""
  for i in $(seq 1 "$ROUNDS"); do
    head -c $((300000 + i * 1000)) /dev/urandom > "$T/a/new-$i"
    head -c 50000 /dev/urandom >> "$T/a/grows"
    rm -f "$T/a/new-$((i - 3))"
    sums "$T/a" > "$T/a.sums"
    if ! "$M" vault backup --vault "$V" --key-file "$T/key" --source "$T/a" > "$T/a.out" 2> "$T/a.err"; then
      echo "A: backup $i failed: $(cat "$T/a.err")" >> "$T/errors"; continue
    fi
    id=$(id_of "$T/a.out")
    cp "$T/a.sums" "$T/sums/$id"
    if [ -n "$prev" ]; then
      if "$M" vault delete --vault "$V" --key-file "$T/key" --recovery-point "$prev" > /dev/null 2> "$T/a.err"; then
        echo "$prev" >> "$T/deleted"
      else
        echo "A: delete $prev failed: $(cat "$T/a.err")" >> "$T/errors"
      fi
      prev=""
    else
      prev=$id
    fi
  done
  touch "$T/a.done"
) &
A=$!

# B: GC between backups of its own tree, until A is done; then one last GC.
(
  j=0
  while [ ! -f "$T/a.done" ]; do
    j=$((j + 1))
    if "$M" vault gc --vault "$V" --key-file "$T/key" > "$T/b.out" 2> "$T/b.err"; then
      echo gc >> "$T/b.gcs"
    else
      echo "B: gc $j failed: $(cat "$T/b.err")" >> "$T/errors"
    fi
    head -c 200000 /dev/urandom > "$T/b/f-$j"
    sums "$T/b" > "$T/b.sums"
    if "$M" vault backup --vault "$V" --key-file "$T/key" --source "$T/b" > "$T/b.out" 2> "$T/b.err"; then
      cp "$T/b.sums" "$T/sums/$(id_of "$T/b.out")"
    else
      echo "B: backup $j failed: $(cat "$T/b.err")" >> "$T/errors"
    fi
  done
  "$M" vault gc --vault "$V" --key-file "$T/key" > /dev/null 2> "$T/b.err" && echo gc >> "$T/b.gcs" ||
    echo "B: last gc failed: $(cat "$T/b.err")" >> "$T/errors"
) &
B=$!
wait $A $B

[ ! -s "$T/errors" ] && pass "no operation failed" || fail "operations failed: $(cat "$T/errors")"
gcs=$(wc -l < "$T/b.gcs" 2> /dev/null || echo 0)
[ "$gcs" -ge 2 ] && pass "$gcs GC runs overlapped the backups" || fail "only $gcs GC runs"
"$M" vault verify --vault "$V" --key-file "$T/key" > "$T/verify" 2>&1 && pass "vault verifies clean" ||
  fail "verify: $(head -c 500 "$T/verify")"
"$M" vault list --vault "$V" --key-file "$T/key" > "$T/list"
listed=$(python3 -c 'import json,sys; print(" ".join(p["id"] for p in json.load(open(sys.argv[1]))["recoveryPoints"]))' "$T/list")
for id in $(cat "$T/deleted" 2> /dev/null); do
  case " $listed " in *" $id "*) fail "deleted point $id is still listed" ;; esac
  rm -f "$T/sums/$id"
done
kept=0
for f in "$T"/sums/*; do
  id=$(basename "$f")
  case " $listed " in *" $id "*) ;; *) fail "point $id is missing from the list"; continue ;; esac
  rm -rf "$T/r"
  if "$M" vault restore --vault "$V" --key-file "$T/key" --recovery-point "$id" --target "$T/r" > /dev/null 2> "$T/r.err" &&
     diff <(sums "$T/r") "$f" > /dev/null; then
    kept=$((kept + 1))
  else
    fail "point $id does not restore to its tree: $(head -c 300 "$T/r.err")"
  fi
done
[ "$kept" -ge 3 ] && pass "$kept kept points restore exactly" || fail "only $kept points restored"
"$M" vault list --vault "$V" --key-file "$T/key" > /dev/null  # the vault still opens
if [ "$fails" -gt 0 ]; then echo "$fails failed"; exit 1; fi
echo "all passed"
