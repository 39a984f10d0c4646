// Fuzzes the --cli-input-json readers of create-workspace and restore-workspace; what parses as
// workspace parameters must survive ToJson -> parse unchanged.
#include <cstdint>
#include <string_view>

#include "workspace/parameters.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlvault::workspace;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto restore = ParseRestoreInput(text);
  (void)restore;
  auto params = ParseCreateWorkspaceInput(text);
  if (params) {
    auto again = ParseWorkspaceParameters(ToJson(*params), "newWorkspaceParameters",
                                          /*require_environment=*/true);
    if (!again || ToJson(*again) != ToJson(*params)) __builtin_trap();
  }
  return 0;
}
