#!/usr/bin/env bash
# The progress bar on a real terminal: a `--wait` backup runs inside tmux; the screen is read
# while it runs (held in its prepass by the test hold file) and after it ended. The bar names
# the phase while it runs; afterwards one summary line stays and the bar is gone.
#   progress_terminal_test.sh <mlvault> <mlvault-workspace>
set -uo pipefail
MLVAULT=$(readlink -f "$1")
export MLVAULT_WORKSPACE_BIN=$(readlink -f "$2")
export MLVAULT_HOME=$(mktemp -d "${TMPDIR:-/tmp}/mlvault-tty-XXXXXX")
export MLVAULT_LOG=warn
unset MLVAULT_ACCESS_KEY_ID MLVAULT_PRIVATE_KEY MLVAULT_PROFILE MLVAULT_ENDPOINT
SOCKET=mlvault-tty-$$
HOLD=$MLVAULT_HOME/hold
FAILED=0
pass() { echo "  ok   $*"; }
fail() { FAILED=$((FAILED + 1)); echo "  FAIL $*"; }
screen() { tmux -L "$SOCKET" capture-pane -p -t tty 2>/dev/null; }
# wait_for <seconds> <fixed string>: until the screen shows it.
wait_for() {
  local i
  for ((i = 0; i < $1 * 10; i++)); do
    screen | grep -qF -- "$2" && return 0
    sleep 0.1
  done
  return 1
}
cleanup() {
  rm -f "$HOLD"
  tmux -L "$SOCKET" kill-server 2>/dev/null
  local crn
  for crn in $("$MLVAULT" list-workspaces --query 'workspaces[].crn' --output text 2>/dev/null); do
    "$MLVAULT" delete-workspace --workspace-crn "$crn" >/dev/null 2>&1
  done
  rm -rf "$MLVAULT_HOME"
}
trap cleanup EXIT

command -v tmux >/dev/null || { echo "tmux is not installed (scripts/install-deps.sh installs it)"; exit 1; }
"$MLVAULT" grant-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE >/dev/null 2>&1 &&
  "$MLVAULT" create-environment --environment-name dev >/dev/null &&
  "$MLVAULT" create-workspace --environment-name dev --workspace-name ws1 --wait >/dev/null ||
  { echo "setup failed"; exit 1; }

# The command runs in a 150x12 terminal; its stdout (the JSON answer) goes to a file.
touch "$HOLD"
cat > "$MLVAULT_HOME/run.sh" <<RUN
export MLVAULT_HOME='$MLVAULT_HOME' MLVAULT_WORKSPACE_BIN='$MLVAULT_WORKSPACE_BIN'
export MLVAULT_LOG=warn MLVAULT_TEST_HOLD_FILE='$HOLD'
'$MLVAULT' backup-workspace --workspace-name ws1 --environment-name dev --backup-name nightly-1 \
  --wait > '$MLVAULT_HOME/answer.json'
echo "exit=\$?"
sleep 600
RUN
tmux -L "$SOCKET" -f /dev/null new-session -d -s tty -x 150 -y 12 "bash $MLVAULT_HOME/run.sh"

if wait_for 60 "backup: prepass"; then pass "while it runs, the bar names the phase"; else
  fail "no bar with the phase on the screen:"; screen; fi
rm -f "$HOLD"
if wait_for 120 "exit="; then pass "the backup ended"; else fail "the backup did not end"; screen; fi
FINAL=$(screen)
echo "$FINAL" | sed 's/^/    | /' | grep -v '^    | $'
if grep -qF "exit=0" <<<"$FINAL"; then pass "exit code 0"; else fail "exit code"; fi
if grep -qE "^backup nightly-1 succeeded in [0-9.]+ s: .* scanned, .* new, workspace paused [0-9.]+ s$" \
  <<<"$FINAL"; then pass "one summary line stays"; else fail "no summary line"; fi
if grep -qF "backup: " <<<"$FINAL"; then fail "the bar was left on the screen"; else pass "the bar is gone"; fi
if [ "$(jq -r .backupStatus "$MLVAULT_HOME/answer.json")" = succeeded ]; then
  pass "stdout is the JSON answer"; else fail "stdout is not the JSON answer"; fi

[ "$FAILED" = 0 ] && echo "PASS" || { echo "FAILED: $FAILED"; exit 1; }
