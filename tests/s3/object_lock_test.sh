#!/usr/bin/env bash
# Vault locks on S3 vaults become S3 Object Lock retention (docs/plans.md "Vault locks",
# docs/vault-format.md section 10.1), checked against the throw-away RADOS Gateway of the `rgw`
# fixture and, past mlvault, with an independent S3 client (tests/s3/s3_probe.py, boto3):
# - compliance lock on a bucket made with Object Lock: every version of the backup's manifest,
#   packs and config refuses deletion through RGW directly (AccessDenied), the backup still
#   verifies; a backup made after the lock is retained as it finishes;
# - a bucket without Object Lock: put-vault-lock says so in a warning;
# - governance lock: the administrator's bypassing delete succeeds, and the retained objects are
#   left in place with a note (never a failed delete or GC).
#   object_lock_test.sh <mlvault> <mlvault-workspace>         (needs $MLVAULT_TEST_RGW_ENV)
if [ -z "${MLVAULT_TEST_RGW_ENV:-}" ]; then
  echo "skip: no RGW (run scripts/start-rgw.sh start DIR; MLVAULT_TEST_RGW_ENV=DIR/s3.env)"
  exit 77
fi
set -a
# shellcheck disable=SC1090
. "$MLVAULT_TEST_RGW_ENV"
set +a
source "$(dirname "$0")/../control/lib.sh" "$@"
PROBE="/usr/bin/python3 $(dirname "$(readlink -f "$0")")/s3_probe.py"
RAND=$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')
LB=mlv-lock-$RAND
NB=mlv-nolock-$RAND
$PROBE mkbucket "$LB" --object-lock || { fail "make a bucket with Object Lock"; exit 1; }
$PROBE mkbucket "$NB" || { fail "make a bucket"; exit 1; }
prefix_of() { echo "v/mlv-$(sql "SELECT id FROM workspaces WHERE crn = '$1'")"; }
denied_all() {  # denied_all <prefix>: every version under it refuses deletion
  local out
  out=$($PROBE delete-versions "$LB" "$1") || return 1
  echo "$out" | sed 's/^/    /' | head -3
  ! grep -qv " denied AccessDenied$" <<<"$out"
}

expect 0 "an environment on the Object Lock bucket" create-environment --environment-name locked --vault-location "s3://$LB/v"
expect 0 "an environment on a bucket without it" create-environment --environment-name plain --vault-location "s3://$NB/v"
grant_backup_entitlement

echo "-- compliance"
WS=$(create_workspace locked ws1)
seed "$WS"
expect 0 "backup-workspace" backup-workspace --workspace-crn "$WS" --backup-name first --wait
B1=$(j .backupCrn)
P=$(prefix_of "$WS")
expect 0 "put-vault-lock compliance" put-vault-lock --workspace-crn "$WS" --mode compliance --min-retention-days 1
check "  ... applied as S3 Object Lock" test "$(j .objectLock.status)" = applied
check "  ... to the one backup" test "$(j .objectLock.backupsRetained)" = 1
check "  ... config, manifest and packs (at least 3 objects)" test "$(j .objectLock.objectsRetained)" -ge 3
check "  ... no warning" test "$(j '.warnings | length')" = 0
retained_for_a_day() {  # retained_for_a_day <prefix> <mode>: every object under it
  local out
  out=$($PROBE retention-under "$LB" "$1") || return 1
  [ -n "$out" ] && ! awk -v m="$2" -v t=$(( $(date +%s) + 86000 )) '$2 != m || $3 < t' <<<"$out" | grep -q .
}
retained_points_and_config() {
  retained_for_a_day "$P/points/" COMPLIANCE && retained_for_a_day "$P/config" COMPLIANCE
}
check "every manifest and the config are retained in COMPLIANCE mode for a day" retained_points_and_config
expect 0 "a backup after the lock" backup-workspace --workspace-crn "$WS" --backup-name second --wait
B2=$(j .backupCrn)
check "  ... is retained as it finishes (every manifest version refuses deletion)" denied_all "$P/points/"
expect 5 "delete-backup of a locked backup is refused (administrators included)" delete-backup --backup-crn "$B2"

# With the bucket's own credentials, past mlvault: destroy every version there is of the
# manifests, packs and config. What the backup needs refuses (AccessDenied); what it does not
# need (packs only an earlier pass of the two-pass backup used) may go.
check "deleting the manifests' versions through RGW directly: AccessDenied" denied_all "$P/points/"
check "deleting the config's versions through RGW directly: AccessDenied" denied_all "$P/config"
DATA=$($PROBE delete-versions "$LB" "$P/data/")
check "deleting every pack version through RGW directly: $(grep -c ' denied AccessDenied$' <<<"$DATA") refused, $(grep -c ' deleted ' <<<"$DATA") not needed" \
  grep -q ' denied AccessDenied$' <<<"$DATA"
expect 0 "after that the first backup still verifies, reading every chunk" verify-backup --backup-crn "$B1" --read-data
expect 0 "... and so does the second" verify-backup --backup-crn "$B2" --read-data

echo "-- a bucket without Object Lock"
WP=$(create_workspace plain ws2)
expect 0 "put-vault-lock on a vault in a bucket without Object Lock" put-vault-lock --workspace-crn "$WP" --mode compliance --min-retention-days 1
check "  ... status bucket-without-object-lock" test "$(j .objectLock.status)" = bucket-without-object-lock
warned_no_lock() { jq -r '.warnings[0]' <<<"$OUT" | grep -q 'does not have S3 Object Lock enabled'; }
check "  ... and a warning that says so" warned_no_lock

echo "-- governance: a bypassing delete and GC leave retained objects in place"
WG=$(create_workspace locked ws3)
seed "$WG"
expect 0 "backup-workspace" backup-workspace --workspace-crn "$WG" --backup-name g1 --wait
G1=$(j .backupCrn)
PG=$(prefix_of "$WG")
expect 0 "put-vault-lock governance" put-vault-lock --workspace-crn "$WG" --mode governance --min-retention-days 1
check "  ... applied" test "$(j .objectLock.status) $(j .objectLock.backupsRetained)" = "applied 1"
expect 0 "the administrator deletes it (ml:BypassVaultLock)" delete-backup --backup-crn "$G1" --wait
check "  ... deleted in the catalog" backup_is "$G1" deleted
expect 0 "describe the delete workflow" describe-workflow --workflow-id "$(sql "SELECT delete_workflow_id FROM backups WHERE crn = '$G1'")"
check "  ... it succeeded" test "$(j .workflow.status)" = succeeded
gc_noted() {
  [ "$(j '.workflow.output.gc.pointsRetained')" -ge 1 ] &&
    j '.workflow.warnings[]' | grep -q 'S3 Object Lock retains it (GOVERNANCE) until' && return 0
  head -c 1500 <<<"$OUT" | sed 's/^/    /'
  return 1
}
check "  ... its GC left the retained manifest in place, with a note" gc_noted
check "the retained manifest is still in the bucket (only its retention's end frees it)" denied_all "$PG/points/"
expect 0 "vault list leaves the deleted point out; verify of the vault's other backups is clean" verify-backup --backup-crn "$B1"
