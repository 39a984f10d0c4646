#!/usr/bin/env bash
# Installs dependencies, builds, and runs the whole test suite (unit, integration, end to end).
#   scripts/test.sh            everything
#   scripts/test.sh -R vault   only tests whose name matches
# When tests fail, it ends with a digest of each failed test's output (its FAIL lines and last
# lines), so the reason is in the last screen of a long log, after CTest's summary.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
BUILD=${BUILD_DIR:-build}
rc=0
ctest --test-dir "$BUILD" --output-on-failure -j"$(nproc)" --timeout 600 "$@" || rc=$?
if [ "$rc" != 0 ] && [ -s "$BUILD/Testing/Temporary/LastTestsFailed.log" ]; then
  echo "=== digest of the failed tests' output ($BUILD/Testing/Temporary/LastTest.log has all of it)"
  while IFS=: read -r _ name; do
    echo "--- $name"
    # The test's output lies between its "Testing: <name>" header and "<end of output>".
    awk -v n="$name" '
      $0 ~ "^[0-9]+/[0-9]+ Testing: " n "$" { on = 1; next }
      on && /^<end of output>$/ { exit }
      on { lines[++k] = $0 }
      END {
        for (i = 1; i <= k; i++) if (lines[i] ~ /FAIL|Failure|error:|Error|Timeout|timed out/) print "  " lines[i]
        print "  (last lines)"
        for (i = (k > 15 ? k - 14 : 1); i <= k; i++) print "  " lines[i]
      }' "$BUILD/Testing/Temporary/LastTest.log" | cut -c1-400 | head -60
  done < "$BUILD/Testing/Temporary/LastTestsFailed.log"
fi
exit "$rc"
