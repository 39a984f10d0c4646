// Fuzzes the CRN parser; a parsed CRN must print back to a string that parses to the same CRN.
#include <cstdint>
#include <string_view>

#include "workspace/crn.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlvault::workspace;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto crn = ParseCrn(text);
  if (!crn) return 0;
  auto again = ParseCrn(crn->ToString());
  if (!again || again->ToString() != crn->ToString()) __builtin_trap();
  return 0;
}
