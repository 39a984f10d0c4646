// Fuzzes the IAM policy reader: the strict JSON reader (with line/column errors) and the policy
// parser on top of it, plus the small value parsers conditions use.
#include <cstdint>
#include <string_view>

#include "iam/json.h"
#include "iam/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlvault::iam;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = ParseJson(text);
  auto policy = ParsePolicy(text);
  if (policy && !json) __builtin_trap();  // a policy is JSON first
  (void)ParseConditionOperator(text);
  (void)ParsePolicyDate(text);
  (void)ParsePolicyNumber(text);
  (void)ParseIpNetwork(text);
  return 0;
}
