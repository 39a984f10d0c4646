// $MLVAULT_HOME with a way through for workspaces: util::EnsurePrivateDir (util/files.h) with
// folders others may search. Thread-safe (no state).
#pragma once

#include <string>
#include <vector>

#include "util/error.h"

namespace mlvault::util {

// util::EnsurePrivateDir(dir), except that `dir` itself and the folders named in `searchable`
// (entries directly inside it) are 0711, not 0700: others may pass through them to a path they
// know, never list or read them. The path to workspace storage kept inside $MLVAULT_HOME when
// workspaces run as users of their own (workspace/owner.h). An entry of `searchable` that is
// missing or not a folder is treated as any other entry. Errors as EnsurePrivateDir.
Status EnsurePrivateDir(const std::string& dir, const std::vector<std::string>& searchable);

}  // namespace mlvault::util
