// The input documents of createWorkspace and restoreWorkspace, for clients that read them from
// users (the CLI's --cli-input-json): strict reading with the place of a syntax error, and the
// restore skeleton. Errors: kInvalidArgument naming line and column, or the duplicated field.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "util/error.h"

namespace mlvault::api {

// `text` as a JSON object; `what` names the document in errors ("restore input").
util::Result<nlohmann::json> ParseInputDocument(std::string_view text, std::string_view what);

// restore-workspace --generate-cli-skeleton: an input document to fill in.
std::string RestoreSkeleton();

}  // namespace mlvault::api
