// The policy language reads documents with the strict JSON reader of util/json_reader.h (line,
// column and field path in every error); these are its names inside iam/.
#pragma once

#include "util/json_reader.h"

namespace mlvault::iam {

using util::DocumentError;
using util::JoinPath;
using util::JsonLimits;
using util::JsonMember;
using util::JsonValue;
using util::ParseJson;
using util::SourcePos;
using util::TypeName;

}  // namespace mlvault::iam
