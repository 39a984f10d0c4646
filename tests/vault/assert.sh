# Shared by the vault's shell tests (sourced; $T must be the test's temporary folder):
#   pass NAME / fail NAME           count and print one result ($fails counts the failures)
#   expect CODE NAME CMD...         run CMD (output in $T/out, $T/err), check its exit code
#   json PYTHON-EXPR                evaluate EXPR on the JSON in $T/out (as d)
#   check NAME PYTHON-CONDITION     pass when the condition on d (from $T/out) is true
fails=0
pass() { echo "ok   $1"; }
fail() { echo "FAIL $1"; fails=$((fails + 1)); }
expect() {
  local want=$1 name=$2; shift 2
  "$@" > "$T/out" 2> "$T/err"
  local rc=$?
  if [ "$rc" = "$want" ]; then pass "$name (exit $rc)"; else fail "$name: exit $rc, wanted $want: $(head -c 300 "$T/err")"; fi
}
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2], {}, {"d": d}))' "$T/out" "$1"; }
check() {
  if [ "$(json "$2")" = True ]; then pass "$1"; else fail "$1: $2 is false in $(cat "$T/out")"; fi
}
