#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy) on C++ sources.
#   scripts/tidy.sh                 the .cc files changed against main (and the .cc beside each
#                                   changed .h); nothing to do when none changed
#   scripts/tidy.sh FILE...         the given files
# Needs a configured build (BUILD_DIR, default build/) for compile_commands.json; exits non-zero
# on any warning. The compile database is rewritten for clang (which names C++23 "c++2b" and, in
# version 16, needs the concepts level libstdc++'s <expected> checks for).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
TIDY=$(command -v clang-tidy-16 || command -v clang-tidy || true)
[ -n "$TIDY" ] || { echo "tidy: clang-tidy not found: run scripts/install-deps.sh" >&2; exit 2; }
[ -f "$BUILD_DIR/compile_commands.json" ] ||
  { echo "tidy: $BUILD_DIR/compile_commands.json missing: run scripts/build.sh first" >&2; exit 2; }

if [ $# -gt 0 ]; then
  files=("$@")
else
  base=$(git merge-base HEAD "${TIDY_BASE:-main}" 2>/dev/null || true)
  if [ -z "$base" ]; then  # e.g. a shallow clone: nothing to compare against
    echo "tidy: no merge base with ${TIDY_BASE:-main}; nothing checked (pass files to check them)"
    exit 0
  fi
  mapfile -t changed < <(git diff --name-only --diff-filter=d "$base" -- 'src/*.cc' 'src/*.h' \
                         'tests/*.cc' 'fuzz/*.cc')
  files=()
  for f in "${changed[@]}"; do
    case $f in
      *.cc) files+=("$f") ;;
      *.h) [ -f "${f%.h}.cc" ] && files+=("${f%.h}.cc") ;;
    esac
  done
  mapfile -t files < <(printf '%s\n' "${files[@]}" | sort -u | sed '/^$/d')
fi
if [ ${#files[@]} -eq 0 ]; then echo "tidy: no changed C++ sources"; exit 0; fi

db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
sed -e 's/-std=gnu++23/-std=gnu++2b/g' -e 's/-std=c++23/-std=c++2b/g' \
  "$BUILD_DIR/compile_commands.json" >"$db/compile_commands.json"
status=0
for f in "${files[@]}"; do
  grep -q "\"file\": \".*/$f\"" "$db/compile_commands.json" ||
    { echo "tidy: skip $f (not in the compile database)"; continue; }
  echo "tidy: $f"
  "$TIDY" -p "$db" --quiet --extra-arg=-U__cpp_concepts --extra-arg=-D__cpp_concepts=202002L \
    --extra-arg=-Wno-macro-redefined --extra-arg=-Wno-unknown-warning-option "$f" || status=1
done
exit $status
