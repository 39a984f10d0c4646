#!/usr/bin/env bash
# Runs clang-tidy (.clang-tidy) on C++ sources.
#   scripts/tidy.sh                 the .cc files changed against the merge base with main
#                                   (TIDY_BASE) and the .cc beside each changed .h
#   scripts/tidy.sh --commit        what CI checks: the files the commit under test changes
#                                   against its first parent. For a merge commit that is not every
#                                   file the merge brings in: only the files changed by the
#                                   merge's newest TIDY_COMMITS (10) non-merge commits that the
#                                   first parent did not have, and that the merge changed. A clone
#                                   without the parent (shallow) has nothing to diff: skipped.
#   scripts/tidy.sh FILE...         the given files
#   TIDY_REV=COMMIT scripts/tidy.sh --commit   as --commit, for another commit than HEAD
#   TIDY_LIST=1 scripts/tidy.sh ...  prints the files it would check, and checks nothing
# Bounds (selection modes): at most TIDY_MAX_FILES (20) files, newest change first, and no new
# file started after TIDY_BUDGET (600) seconds; files left out are named, and not a failure.
# Needs a configured build (BUILD_DIR, default build/) for compile_commands.json; exits non-zero
# on any warning. The compile database is rewritten for clang (which names C++23 "c++2b" and, in
# version 16, needs the concepts level libstdc++'s <expected> checks for).
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
MAX_FILES=${TIDY_MAX_FILES:-20}
BUDGET=${TIDY_BUDGET:-600}
COMMITS=${TIDY_COMMITS:-10}
REV=${TIDY_REV:-HEAD}  # --commit: the commit under test
PATHS=('src/*.cc' 'src/*.h' 'tests/*.cc' 'fuzz/*.cc')

# Reads changed paths (newest first) on stdin; prints the .cc files to check, each once, in order.
to_sources() {
  local f
  while IFS= read -r f; do
    case $f in
      *.cc) [ -f "$f" ] && echo "$f" ;;
      *.h) [ -f "${f%.h}.cc" ] && echo "${f%.h}.cc" ;;
    esac
  done | awk 'NF && !seen[$0]++'
}

# The paths the commit under test changes (see --commit above), newest first.
commit_changes() {
  if [ "$(git rev-parse --is-shallow-repository)" = true ] ||
     ! git rev-parse -q --verify "$REV~1" >/dev/null; then
    echo "tidy: the clone has no parent commit (shallow?): nothing to compare against" >&2
    return 0
  fi
  if ! git rev-parse -q --verify "$REV^2" >/dev/null; then
    git diff --name-only --diff-filter=d "$REV~1" "$REV" -- "${PATHS[@]}"
    return 0
  fi
  # A merge: the newest non-merge commits it brings, limited to what the merge itself changed.
  local merged
  merged=$(git diff --name-only --diff-filter=d "$REV~1" "$REV" -- "${PATHS[@]}")
  echo "tidy: merge commit: $(printf '%s\n' "$merged" | sed '/^$/d' | wc -l) changed C++ paths;" \
    "taking those of its newest $COMMITS non-merge commits" >&2
  git log --no-merges -n "$COMMITS" --format= --name-only "$REV~1..$REV" -- "${PATHS[@]}" |
    grep -Fxf <(printf '%s\n' "$merged") || true
}

bounded=false
if [ "${1:-}" = --commit ]; then
  mapfile -t files < <(commit_changes | to_sources)
  bounded=true
elif [ $# -gt 0 ]; then
  files=("$@")
else
  base=$(git merge-base HEAD "${TIDY_BASE:-main}" 2>/dev/null || true)
  if [ -z "$base" ]; then  # e.g. a shallow clone: nothing to compare against
    echo "tidy: no merge base with ${TIDY_BASE:-main}; nothing checked (pass files to check them)"
    exit 0
  fi
  # Newest change first, so that the bound keeps the most recent work.
  mapfile -t files < <({ git log --format= --name-only "$base"..HEAD -- "${PATHS[@]}"
                         git diff --name-only "$base" -- "${PATHS[@]}"; } | to_sources)
  bounded=true
fi
if [ ${#files[@]} -eq 0 ]; then echo "tidy: no changed C++ sources"; exit 0; fi
if $bounded && [ ${#files[@]} -gt "$MAX_FILES" ]; then
  echo "tidy: ${#files[@]} files; checking the newest $MAX_FILES (TIDY_MAX_FILES); not checked:" \
    "${files[*]:$MAX_FILES}"
  files=("${files[@]:0:$MAX_FILES}")
fi
if [ "${TIDY_LIST:-0}" = 1 ]; then printf '%s\n' "${files[@]}"; exit 0; fi
[ -f "$BUILD_DIR/compile_commands.json" ] ||
  { echo "tidy: $BUILD_DIR/compile_commands.json missing: run scripts/build.sh first" >&2; exit 2; }
TIDY=$(command -v clang-tidy-16 || command -v clang-tidy || true)
[ -n "$TIDY" ] || { echo "tidy: clang-tidy not found: run scripts/install-deps.sh" >&2; exit 2; }

db=$(mktemp -d)
trap 'rm -rf "$db"' EXIT
sed -e 's/-std=gnu++23/-std=gnu++2b/g' -e 's/-std=c++23/-std=c++2b/g' \
  "$BUILD_DIR/compile_commands.json" >"$db/compile_commands.json"
status=0 checked=0 start=$SECONDS
for i in "${!files[@]}"; do
  f=${files[$i]}
  if $bounded && [ $((SECONDS - start)) -ge "$BUDGET" ]; then
    echo "tidy: time budget of $BUDGET s (TIDY_BUDGET) spent; not checked: ${files[*]:$i}"
    break
  fi
  grep -q "\"file\": \".*/$f\"" "$db/compile_commands.json" ||
    { echo "tidy: skip $f (not in the compile database)"; continue; }
  echo "tidy: $f"
  "$TIDY" -p "$db" --quiet --extra-arg=-U__cpp_concepts --extra-arg=-D__cpp_concepts=202002L \
    --extra-arg=-Wno-macro-redefined --extra-arg=-Wno-unknown-warning-option "$f" || status=1
  checked=$((checked + 1))
done
echo "tidy: $checked files checked in $((SECONDS - start)) s$([ $status = 0 ] || echo ', warnings')"
exit $status
