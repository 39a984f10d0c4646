#!/usr/bin/env bash
# Clang's thread-safety analysis (-Wthread-safety, errors) over the sources that use
# util/mutex.h's annotated Mutex (members declared MLV_GUARDED_BY, functions MLV_REQUIRES, ...;
# util/thread_annotations.h). GCC, which builds the product, ignores the annotations; this checks
# them with clang's front end only (-fsyntax-only: a few seconds a file, nothing is built).
#   scripts/thread-safety.sh           every src/ .cc that uses them (or whose header does)
#   scripts/thread-safety.sh FILE...   the given .cc files
# Needs a configured build (BUILD_DIR, default build/) for compile_commands.json and clang 16
# (scripts/install-deps.sh). Run by CTest as `check_thread_safety`; exits non-zero on a finding.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
db="$BUILD_DIR/compile_commands.json"
[ -f "$db" ] || { echo "thread-safety: $db missing: run scripts/build.sh first" >&2; exit 2; }
CXX=$(command -v clang++-16 || command -v clang++ || true)
[ -n "$CXX" ] || { echo "thread-safety: clang++ not found: run scripts/install-deps.sh" >&2; exit 2; }

if [ $# -gt 0 ]; then
  files=("$@")
else
  # The annotated code: files naming util::Mutex or an annotation, and the .cc beside such a .h.
  # A header without a .cc of its name is checked through the part files named here.
  declare -A parts=([src/vault/restorer_internal.cc]="src/vault/restore_plan.cc src/vault/restore_writer.cc")
  mapfile -t files < <(grep -rlE 'MLV_GUARDED_BY|MLV_REQUIRES|MLV_EXCLUDES|MutexLock' src \
                         --include='*.cc' --include='*.h' |
                       grep -v '^src/util/\(mutex\|thread_annotations\)\.h$' |
                       sed 's/\.h$/.cc/' | while read -r f; do
                         if [ -f "$f" ]; then echo "$f"; else printf '%s\n' ${parts[$f]:-}; fi
                       done | sort -u)
fi
[ ${#files[@]} -gt 0 ] || { echo "thread-safety: no annotated sources" >&2; exit 1; }

status=0
for f in "${files[@]}"; do
  # The file's compile command from the database, for clang, checking only.
  cmd=$(python3 - "$db" "$PWD/$f" "$CXX" <<'PY'
import json, shlex, sys
db, path, cxx = sys.argv[1:]
for e in json.load(open(db)):
    if e["file"] != path:
        continue
    args = e.get("arguments") or shlex.split(e["command"])
    out, skip = [cxx], False
    for a in args[1:]:
        if skip:
            skip = False
            continue
        if a in ("-o", "-MF", "-MT", "-MQ"):
            skip = True
            continue
        if a in ("-c", "-MD", "-MMD") or a.endswith("ccache") or a.endswith("g++") or a.endswith("c++"):
            continue
        out.append(a.replace("-std=gnu++23", "-std=gnu++2b").replace("-std=c++23", "-std=c++2b"))
    # clang 16 with libstdc++ 12's <expected>: see CMakeLists.txt.
    out += ["-fsyntax-only", "-Wno-everything", "-Wthread-safety", "-Werror=thread-safety",
            "-D__cpp_concepts=202002L", "-Wno-macro-redefined"]
    print("cd " + shlex.quote(e["directory"]) + " && " + " ".join(shlex.quote(x) for x in out))
    break
PY
)
  [ -n "$cmd" ] || { echo "thread-safety: $f is not in $db" >&2; status=1; continue; }
  echo "thread-safety: $f"
  bash -c "$cmd" || status=1
done
echo "thread-safety: ${#files[@]} files$([ $status = 0 ] && echo ', no finding' || echo ', FINDINGS')"
exit $status
