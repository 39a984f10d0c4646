#!/usr/bin/env bash
# assume-role (docs/plans.md "Roles") through the real binaries, embedded and (run by
# tests/server/two_modes.sh) through a server: a user the role's trust policy names gets
# short-lived credentials; requests made with them are authorised as the role (its policies, not
# the user's) and audited with the session name and the user; they expire. A user the trust
# policy does not name is refused, naming it. delete-policy refuses a policy attached to a role.
source "$(dirname "$0")/lib.sh" "$@"

"$MLVAULT" create-environment --environment-name dev >/dev/null
as() {  # as <key id> <private key> <mlvault args...>: runs with those credentials
  local id=$1 key=$2; shift 2
  local e
  e=$(mktemp)
  OUT=$(MLVAULT_ACCESS_KEY_ID=$id MLVAULT_PRIVATE_KEY=$key "$MLVAULT" "$@" 2>"$e")
  RC=$?
  ERR=$(cat "$e")
  rm -f "$e"
}
expect_as() {  # expect_as <code> "description" <key id> <private key> <args...>
  local code=$1 desc=$2; shift 2
  as "$@"
  if [ "$RC" = "$code" ]; then pass "$desc (exit $code)"; else fail "$desc: exit $RC, wanted $code; stderr: $(head -c 400 <<<"$ERR")"; fi
}

for u in alice bob; do
  "$MLVAULT" create-user --user-name $u >/dev/null
done
mlv create-access-key --user-name alice
ALICE=$(j .accessKey.accessKeyId) ALICE_KEY=$(j .accessKey.privateKey)
mlv create-access-key --user-name bob
BOB=$(j .accessKey.accessKeyId) BOB_KEY=$(j .accessKey.privateKey)
cat >"$MLVAULT_HOME/envs.json" <<'JSON'
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["ml:ListEnvironments"], "Resource": "*"}]}
JSON
cat >"$MLVAULT_HOME/trust.json" <<'JSON'
{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"User": ["alice"]}, "Action": "sts:AssumeRole"}]}
JSON
expect 0 "create-policy envs" create-policy --policy-name envs --policy-document "file://$MLVAULT_HOME/envs.json"
expect 0 "create-role operator trusting alice" create-role --role-name operator --trust-policy-document "file://$MLVAULT_HOME/trust.json"
ROLE=$(j .role.roleCrn)
expect 0 "attach-role-policy envs" attach-role-policy --role-name operator --policy-name envs

echo "-- who may assume it"
expect_as 4 "alice without the role may not list environments" "$ALICE" "$ALICE_KEY" list-environments
expect_as 4 "bob, whom the trust policy does not name, is refused" "$BOB" "$BOB_KEY" assume-role --role-name operator --session-name b1
check "  ... the error names the trust policy and the user" err_has "the trust policy of role 'operator' does not allow user 'bob'"
expect_as 2 "a duration out of range" "$ALICE" "$ALICE_KEY" assume-role --role-name operator --session-name a1 --duration-seconds 60
check "  ... names the bounds" err_has "between 900"
expect_as 3 "an unknown role" "$ALICE" "$ALICE_KEY" assume-role --role-name nope --session-name a1
expect_as 0 "alice assumes the role" "$ALICE" "$ALICE_KEY" assume-role --role-name operator --session-name fix-1234 --duration-seconds 900
SID=$(j .credentials.accessKeyId) SKEY=$(j .credentials.privateKey)
check "temporary credentials: an MLVS key, a private key, an expiry" test "${SID:0:4} $([ -n "$SKEY" ] && echo key) $(j '.credentials.expiration != null')" = "MLVS key true"
check "  ... for the role" test "$(j .roleCrn)" = "$ROLE"
check "  ... the private key is not in the catalog" test "$(sql "SELECT COUNT(*) FROM iam_role_sessions WHERE verifier LIKE '%$SKEY%'")" = 0

echo "-- acting as the role"
expect_as 0 "get-caller-identity with the session" "$SID" "$SKEY" get-caller-identity
check "  ... is the role, named with the session and the user" test "$(j .userCrn) $(j .userName)" = "$ROLE operator/fix-1234 (assumed by alice)"
expect_as 0 "the role's policy lets the session list environments" "$SID" "$SKEY" list-environments
expect_as 4 "what the role's policies do not allow is denied" "$SID" "$SKEY" create-environment --environment-name prod
expect_as 4 "a session cannot assume a role" "$SID" "$SKEY" assume-role --role-name operator --session-name again
expect 0 "list-audit-events" list-audit-events
check "the assume-role is audited with the user" test "$(j "[.auditEvents[] | select(.action == \"iam:AssumeRole\" and .principalName == \"alice\" and .outcome == \"succeeded\")] | length")" = 1
check "bob's refusal is audited" test "$(j "[.auditEvents[] | select(.action == \"iam:AssumeRole\" and .principalName == \"bob\" and .outcome == \"denied\")] | length")" = 1
check "the session's denial is audited as the role, with session and user" test "$(j "[.auditEvents[] | select(.action == \"ml:CreateEnvironment\" and .principalCrn == \"$ROLE\" and .principalName == \"operator/fix-1234 (assumed by alice)\")] | length")" = 1

echo "-- they expire"
sql "UPDATE iam_role_sessions SET expires_at = expires_at - 901000000 WHERE access_key_id = '$SID'" >/dev/null
expect_as 4 "expired credentials are refused" "$SID" "$SKEY" list-environments
check "  ... saying they expired" err_has "expired at"
expect_as 0 "alice assumes it again" "$ALICE" "$ALICE_KEY" assume-role --role-name operator --session-name fix-1234
SID2=$(j .credentials.accessKeyId) SKEY2=$(j .credentials.privateKey)
expect_as 4 "a wrong private key is refused" "$SID2" "$SKEY" list-environments
expect_as 0 "the new credentials work" "$SID2" "$SKEY2" list-environments

echo "-- delete-policy of an attached policy"
expect 5 "delete-policy envs while attached to the role" delete-policy --policy-name envs
check "  ... quotes the detach command" err_has "mlvault detach-role-policy --role-name operator --policy-name envs"
expect 0 "attach it to alice too" attach-policy --user-name alice --policy-name envs
expect 5 "delete-policy envs while attached to a user and a role" delete-policy --policy-name envs
check "  ... quotes the user's detach command" err_has "mlvault detach-policy --user-name alice --policy-name envs"
expect 0 "detach-policy" detach-policy --user-name alice --policy-name envs
expect 0 "detach-role-policy" detach-role-policy --role-name operator --policy-name envs
expect 0 "delete-policy now" delete-policy --policy-name envs
