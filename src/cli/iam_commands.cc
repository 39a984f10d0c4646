// Verbs of this area are added by its issue; until then the area registers nothing.
#include "cli/common.h"

namespace mlvault::cli {
void RegisterIamCommands(CLI::App&) {}
}  // namespace mlvault::cli
