#!/usr/bin/env bash
# Checks every `#include "..."` under src/ against the layer rule of ARCHITECTURE.md.
#
#   scripts/check-layers.sh            exit 0 when clean, 1 with one line per problem
#
# A file in src/<layer>/ may include its own layer and what RULES below lists for that layer
# (a layer name, or one header "layer/file.h" when only that header is the layer's entry point).
# Known violations are listed, each with the reason, in scripts/layer-exceptions.txt; the check
# fails on any violation not listed there AND on any listed exception that no longer occurs, so
# the list only ever shrinks. Unit tests (*_test.cc) and test helpers follow the same rule as the
# code beside them; tests/ and bench/ are cross-layer by design and are not checked.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python3 - <<'EOF'
import pathlib
import re
import sys

# layer -> what it may include besides itself. Extend this table when a layer is added.
#   util <- crypto, chunking, backend <- vault <- control <- api <- cli
#   util <- catalog, iam, workspace <- control;  runtime uses util only
#   api_types (src/api/types*, library mlvault_api_types): request/response types, below control
#   sqlite: the one SQLite wrapper, a leaf library that catalog and runtime link
RULES = {
    "util": "",
    "sqlite": "util",
    "crypto": "util",
    "chunking": "util",
    "backend": "util",
    "vault": "util crypto chunking backend",
    "catalog": "util sqlite",
    "iam": "util",
    "workspace": "util",
    "api_types": "util",
    # control's IAM store maps its tables with the row mapping catalog's stores use.
    "control": "util crypto vault catalog iam workspace api_types sqlite/mapping.h",
    # api/server: the HTTP server opens one catalog connection per request thread and builds
    # the workspace provider for its workflow pool; requests are signed with crypto's Ed25519.
    "api": "util api_types control crypto catalog workspace",
    "runtime": "util sqlite",
    # The `mlvault vault` verbs drive the vault engine through its public header and open the
    # vault's storage through the vault layer (vault/storage.h), never backend/ directly.
    "cli": "util api api_types control/embedded.h vault/vault.h vault/storage.h",
}
# Headers private to their layer even where the layer itself may be used.
#   workspace/process.h: spawning processes is a utility (util), not something control
#   should reach into workspace for.
PRIVATE_HEADERS = {"workspace/process.h"}
EXCEPTIONS = "scripts/layer-exceptions.txt"


# The files of mlvault_api_types (src/api/CMakeLists.txt): typed requests and responses, their
# JSON mapping and the operation catalog. The rest of src/api is mlvault_api, above control.
API_TYPES_FILES = {
    "operations.h", "operations.cc", "ml_types.h", "iam_types.h", "json_mapping.h",
    "object_reader.cc", "ml_json.cc", "iam_json.cc", "types_test.cc", "paging.h", "paging.cc",
}


def layer_of(path):
    """The layer of a path relative to src/. src/api holds two libraries: mlvault_api_types
    (API_TYPES_FILES) below control, and mlvault_api above it."""
    top, _, rest = path.partition("/")
    if top == "api" and (rest in API_TYPES_FILES or rest.startswith("types")):
        return "api_types"
    return top


def allowed(frm, inc):
    to = layer_of(inc)
    if to == frm:
        return True
    if inc in PRIVATE_HEADERS:
        return False
    entries = RULES[frm].split()
    return to in entries or inc in entries


listed = {}
for n, line in enumerate(open(EXCEPTIONS, encoding="utf-8"), 1):
    fields = line.split("#", 1)[0].split()
    if not fields:
        continue
    if len(fields) != 2:
        print(f"check-layers: {EXCEPTIONS}:{n}: expected '<file> <header>  # reason'")
        sys.exit(1)
    listed[tuple(fields)] = False

problems = []
include = re.compile(r'^\s*#\s*include\s*"([^"]+)"')
for f in sorted(pathlib.Path("src").rglob("*")):
    if f.suffix not in (".cc", ".h") or not f.is_file():
        continue
    rel = f.relative_to("src").as_posix()
    frm = layer_of(rel)
    if frm not in RULES:
        problems.append(f"{f}: layer '{frm}' has no entry in RULES (scripts/check-layers.sh)")
        continue
    for line in open(f, encoding="utf-8", errors="replace"):
        m = include.match(line)
        if not m or "/" not in m.group(1) or allowed(frm, m.group(1)):
            continue
        key = (str(f), m.group(1))
        if key in listed:
            listed[key] = True
        else:
            problems.append(
                f'{f} includes "{m.group(1)}": layer \'{frm}\' may not use it (ARCHITECTURE.md). '
                f"Move the code to the right layer, or list it in {EXCEPTIONS} with a reason.")
for (f, inc), seen in listed.items():
    if not seen:
        problems.append(f"{EXCEPTIONS} lists '{f} {inc}' but that include no longer occurs: "
                        "delete the line.")
for p in problems:
    print("check-layers:", p)
if problems:
    sys.exit(1)
print(f"check-layers: ok ({len(listed)} listed exceptions)")
EOF
