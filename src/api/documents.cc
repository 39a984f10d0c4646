#include "api/documents.h"

#include "workspace/json_input.h"
#include "workspace/parameters.h"

namespace mlvault::api {

util::Result<nlohmann::json> ParseInputDocument(std::string_view text, std::string_view what) {
  return workspace::jsonin::ParseObject(text, what);
}

std::string RestoreSkeleton() { return workspace::RestoreSkeleton(); }

}  // namespace mlvault::api
