#include "api/documents.h"

#include "util/json_reader.h"
#include "workspace/json_input.h"

namespace mlvault::api {

util::Result<nlohmann::json> ParseInputDocument(std::string_view text, std::string_view what) {
  // The one strict reader (util/json_reader.h) names the place of a syntax error, as it does for
  // policies: "restore input: trailing comma after the last member of the object at line 46,
  // column 5; remove this ','".
  util::JsonLimits limits;
  limits.max_bytes = 16u << 20;  // the CLI's input limit
  auto parsed = util::ParseJson(text, limits);
  if (!parsed) {
    const util::DocumentError& e = parsed.error();
    std::string message = e.message, advice;
    if (size_t semi = message.find("; "); semi != std::string::npos) {
      advice = message.substr(semi);
      message.resize(semi);
    }
    std::string place = " at line " + std::to_string(e.pos.line) + ", column " +
                        std::to_string(e.pos.column) +
                        (e.path.empty() ? "" : " (in " + e.path.substr(e.path[0] == '.') + ")");
    return util::InvalidArgument(std::string(what) + " is not valid JSON: " + message + place +
                                 advice);
  }
  return workspace::jsonin::ParseObject(text, what);
}

// Only what must be filled in, empty: every empty value is refused until it is changed. The
// optional fields (backupCrn instead of the names, newWorkspaceParameters.environmentName,
// tags, restoreJobTimeoutMinutes, ...) are documented in docs/cli.md, not pre-filled.
std::string RestoreSkeleton() {
  return R"({
  "backupName": "",
  "sourceWorkspaceName": "",
  "sourceEnvironmentName": "",
  "newWorkspaceParameters": {
    "workspaceName": ""
  }
}
)";
}

}  // namespace mlvault::api
