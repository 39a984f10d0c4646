#!/usr/bin/env bash
# End-to-end test of the `mlvault vault ...` verbs: the happy path (keygen, init, backup, list,
# restore, verify, delete, gc) and the exit codes of bad input and failures
# (2 bad input, 3 not found, 4 wrong key, 5 conflict, 1 damaged vault).
#   cli_test.sh /path/to/mlvault
set -uo pipefail
M=${1:?usage: cli_test.sh MLVAULT_BINARY}
T=$(mktemp -d /tmp/mlvault-cli-test.XXXXXX)
trap 'rm -rf "$T"' EXIT
source "$(dirname "$0")/assert.sh"

mkdir -p "$T/src/sub"
printf 'hello\n' > "$T/src/a.txt"
head -c 3000000 /dev/urandom > "$T/src/sub/blob.bin"
ln -s a.txt "$T/src/link"

expect 0 "keygen" "$M" vault keygen --key-file "$T/key"
expect 5 "keygen refuses to overwrite" "$M" vault keygen --key-file "$T/key"
expect 0 "init" "$M" vault init --vault "$T/v" --key-file "$T/key"
expect 5 "init twice is a conflict" "$M" vault init --vault "$T/v" --key-file "$T/key"
expect 0 "backup" "$M" vault backup --vault "$T/v" --key-file "$T/key" --source "$T/src" --label volume=projects
ID=$(json 'd["recoveryPointId"]')
[ "$(json 'd["files"]')" = 2 ] && pass "backup counts files" || fail "backup counts files: $(cat "$T/out")"
expect 0 "unchanged backup" "$M" vault backup --vault "$T/v" --key-file "$T/key" --source "$T/src" --label volume=projects
[ "$(json 'd["bytesRead"]')" = 0 ] && pass "unchanged backup reads nothing" || fail "unchanged backup read $(json 'd["bytesRead"]')"
expect 0 "list" "$M" vault list --vault "$T/v" --key-file "$T/key"
[ "$(json 'len(d["recoveryPoints"])')" = 2 ] && pass "list shows two points" || fail "list: $(cat "$T/out")"
expect 0 "restore" "$M" vault restore --vault "$T/v" --key-file "$T/key" --recovery-point "${ID:0:8}" --target "$T/dst"
diff -r "$T/src" "$T/dst" > /dev/null && pass "restore is identical" || fail "restore differs"
expect 5 "restore into a non-empty target" "$M" vault restore --vault "$T/v" --key-file "$T/key" --recovery-point "$ID" --target "$T/dst"
expect 0 "restore --overwrite" "$M" vault restore --vault "$T/v" --key-file "$T/key" --recovery-point "$ID" --target "$T/dst" --overwrite
expect 0 "verify --read-data" "$M" vault verify --vault "$T/v" --key-file "$T/key" --read-data
[ "$(json 'd["ok"]')" = True ] && pass "verify says ok" || fail "verify: $(cat "$T/out")"

# Bad input and failures.
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$T/other.key"
expect 4 "wrong key file" "$M" vault list --vault "$T/v" --key-file "$T/other.key"
grep -q "wrong key" "$T/err" && pass "wrong key is named" || fail "wrong key message: $(cat "$T/err")"
MLVAULT_VAULT_PASSPHRASE=guess expect 4 "passphrase for a key-file vault" "$M" vault list --vault "$T/v"
expect 2 "no key at all" env -u MLVAULT_VAULT_PASSPHRASE "$M" vault list --vault "$T/v"
expect 3 "no vault there" "$M" vault list --vault "$T/nowhere" --key-file "$T/key"
expect 3 "unknown recovery point" "$M" vault restore --vault "$T/v" --key-file "$T/key" --recovery-point 0123456789abcdef0123456789abcdef --target "$T/x"
expect 2 "malformed recovery point id" "$M" vault delete --vault "$T/v" --key-file "$T/key" --recovery-point "../etc"
expect 2 "missing --source" "$M" vault backup --vault "$T/v" --key-file "$T/key"
expect 2 "bad --kind" "$M" vault backup --vault "$T/v" --key-file "$T/key" --kind tape --source "$T/src"
expect 2 "bad label" "$M" vault backup --vault "$T/v" --key-file "$T/key" --source "$T/src" --label novalue
expect 2 "block source that is a directory" "$M" vault backup --vault "$T/v" --key-file "$T/key" --kind block --source "$T/src"
expect 3 "missing source" "$M" vault backup --vault "$T/v" --key-file "$T/key" --source "$T/missing"
"$M" vault backup --help > "$T/help" 2>&1 && grep -q "Example" "$T/help" && pass "help has an example" || fail "help"

# Damage: flip a byte in the middle of the largest pack; verify must fail and name the file.
P=$(find "$T/v/data" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
python3 - "$P" <<'EOF'
import os, sys
p = sys.argv[1]
with open(p, "r+b") as f:
    f.seek(os.path.getsize(p) // 2); b = f.read(1); f.seek(-1, 1); f.write(bytes([b[0] ^ 1]))
EOF
expect 1 "verify --read-data finds a flipped byte" "$M" vault verify --vault "$T/v" --key-file "$T/key" --read-data
grep -q "blob.bin" "$T/out" && pass "the damaged file is named" || fail "damaged file not named: $(head -c 600 "$T/out")"

# Delete and gc.
expect 0 "delete" "$M" vault delete --vault "$T/v" --key-file "$T/key" --recovery-point "$ID"
expect 3 "delete again" "$M" vault delete --vault "$T/v" --key-file "$T/key" --recovery-point "$ID"
expect 0 "gc" "$M" vault gc --vault "$T/v" --key-file "$T/key"
expect 1 "gc does not hide damage a recovery point still has" "$M" vault verify --vault "$T/v" --key-file "$T/key" --read-data

# A workspace vault of the control plane (<home>/vaults/mlv-<id>, key in <home>/keys/) is read,
# never changed, by the engine verbs: the catalog would no longer say what the vault holds.
H=$T/home
mkdir -p "$H/vaults" "$H/keys"
rm -rf "$T/src/sub"  # the damaged pack above holds only blob.bin
"$M" vault init --vault "$T/w" --key-file "$T/key" >/dev/null
"$M" vault backup --vault "$T/w" --key-file "$T/key" --source "$T/src" > "$T/out" && WID=$(json 'd["recoveryPointId"]')
cp -a "$T/w" "$H/vaults/mlv-ws1"
cp "$T/key" "$H/keys/mlv-ws1.key"
CV=$H/vaults/mlv-ws1 CK=$H/keys/mlv-ws1.key
expect 4 "backup into a catalog's vault is refused" "$M" vault backup --vault "$CV" --key-file "$CK" --source "$T/src"
grep -q "belongs to the mlvault catalog" "$T/err" && grep -q "delete-backup" "$T/err" &&
  pass "the refusal names the control-plane verbs" || fail "refusal message: $(head -c 400 "$T/err")"
expect 4 "delete in a catalog's vault is refused" "$M" vault delete --vault "$CV" --key-file "$CK" --recovery-point "$WID"
expect 4 "gc of a catalog's vault is refused" "$M" vault gc --vault "$CV" --key-file "$CK"
cp "$T/key" "$H/keys/mlv-ws2.key"
expect 4 "init of a catalog's vault is refused" "$M" vault init --vault "$H/vaults/mlv-ws2" --key-file "$CK"
expect 4 "also through another spelling of the path" "$M" vault gc --vault "$H/keys/../vaults/./mlv-ws1/" --key-file "$CK"
[ ! -e "$H/vaults/mlv-ws2" ] && pass "nothing was created" || fail "init created $H/vaults/mlv-ws2"
expect 0 "list of a catalog's vault" "$M" vault list --vault "$CV" --key-file "$CK"
[ "$(json 'len(d["recoveryPoints"])')" = 1 ] && pass "it still has its one point" || fail "list: $(cat "$T/out")"
expect 0 "verify of a catalog's vault" "$M" vault verify --vault "$CV" --key-file "$CK" --read-data
expect 0 "restore from a catalog's vault" "$M" vault restore --vault "$CV" --key-file "$CK" --recovery-point "$WID" --target "$T/dst2"

echo "cli_test: $fails failure(s)"
[ "$fails" = 0 ]
