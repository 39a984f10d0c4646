#!/usr/bin/env bash
# Runs one libFuzzer target (fuzz/<name>_fuzz.cc) for a while, or all of them.
#   scripts/fuzz.sh TARGET SECONDS     e.g. scripts/fuzz.sh vault_tree 300
#   scripts/fuzz.sh all SECONDS        every target in turn (CI: a short smoke of each)
#   scripts/fuzz.sh list               the target names
# Builds build-fuzz/ with clang (-fsanitize=fuzzer,address,undefined). The run starts from the
# seeds in fuzz/corpus/<target>/ and keeps what it learns in build-fuzz/corpus/<target>/ (not
# committed). A crash leaves its input in build-fuzz/crashes/<target>/ and fails the run: fix
# it, then copy the input into fuzz/corpus/<target>/ so CTest replays it forever (fuzz_replay_*).
# Environment: FUZZ_BUILD_DIR (build-fuzz), FUZZ_MAX_LEN (65536).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${FUZZ_BUILD_DIR:-build-fuzz}
targets() { sed -n 's/^mlvault_fuzzer(\([a-z0-9_]*\).*/\1/p' fuzz/CMakeLists.txt; }
usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }

[ $# -ge 1 ] || usage
if [ "$1" = list ]; then targets; exit 0; fi
[ $# -eq 2 ] || usage
target=$1 seconds=$2
[[ $seconds =~ ^[0-9]+$ ]] || { echo "fuzz: SECONDS must be a whole number, not '$seconds'" >&2; exit 2; }
if [ "$target" = all ]; then
  list=$(targets)
else
  targets | grep -qx "$target" ||
    { echo "fuzz: no target '$target'; targets: $(targets | tr '\n' ' ')" >&2; exit 2; }
  list=$target
fi

CC=$(command -v clang-16 || command -v clang || true)
CXX=$(command -v clang++-16 || command -v clang++ || true)
[ -n "$CXX" ] || { echo "fuzz: clang not found: run scripts/install-deps.sh" >&2; exit 2; }
if [ ! -f "$BUILD/build.ninja" ]; then
  cmake -S . -B "$BUILD" -G Ninja -DCMAKE_C_COMPILER="$CC" -DCMAKE_CXX_COMPILER="$CXX" \
    -DMLVAULT_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
# shellcheck disable=SC2046
cmake --build "$BUILD" -j"$(nproc)" --target $(for t in $list; do echo "fuzz_$t"; done)

status=0
for t in $list; do
  mkdir -p "$BUILD/corpus/$t" "$BUILD/crashes/$t"
  log="$BUILD/fuzz-$t.log"
  echo "fuzz: $t for ${seconds}s (log $log)"
  if ! "$BUILD/fuzz/fuzz_$t" "$BUILD/corpus/$t" "fuzz/corpus/$t" \
      -max_total_time="$seconds" -max_len="${FUZZ_MAX_LEN:-65536}" -timeout=25 -rss_limit_mb=2048 \
      -print_final_stats=1 \
      -artifact_prefix="$BUILD/crashes/$t/" >"$log" 2>&1; then
    echo "fuzz: $t FAILED; the input is in $BUILD/crashes/$t/; tail of the log:" >&2
    tail -40 "$log" >&2
    status=1
    continue
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  echo "fuzz: $t ok: ${execs:-?} executions in ${seconds}s, ${cov:-cov: ?}," \
       "corpus $(ls "$BUILD/corpus/$t" | wc -l) inputs"
done
exit $status
