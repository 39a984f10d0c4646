// --query: selects part of a verb's answer before it is printed, in a small subset of JMESPath
// (https://jmespath.org) -- enough to script without jq:
//
//   workspace.status                      a field of a field
//   backups[0].backupCrn   backups[-1]    an element by index (negative: from the end)
//   backups[].backupCrn                   a projection: the rest applied to every element
//                                         (elements where it yields null are dropped)
//   backups[?backupStatus=='succeeded'].backupName
//                                         a filter: elements whose field equals (==) or differs
//                                         from (!=) a 'string' or `literal` (JSON: `true`, `3`)
//   backups[].[backupName, backupStatus]  a multiselect list of sub-expressions per element
//   workspaces[].{name: name, crn: crn}   a multiselect hash
//   length(backups)                       the length of an array, object or string
//
// Field names are letters, digits and underscores, or "double-quoted". Anything else is refused
// with the column where the expression stops making sense. Pure functions: thread-safe.
#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

#include "util/error.h"

namespace mlvault::cli {

// The value `expression` selects from `value` (null when a field or index is absent).
// Errors: kInvalidArgument "--query: <what> at column N" for an expression outside the subset.
util::Result<nlohmann::json> ApplyQuery(std::string_view expression, const nlohmann::json& value);

}  // namespace mlvault::cli
