#include "workspace/crn.h"

#include <array>
#include <vector>

#include "util/random.h"

namespace mlvault::workspace {
namespace {

struct TypeInfo {
  std::string_view type;
  std::string_view service;
};
// Every resource type mlvault names, with the service that owns it. New types are added here.
constexpr std::array<TypeInfo, 10> kTypes = {{
    {"workspace", "ml"},
    {"workspace_backup", "ml"},
    {"backup_plan", "ml"},
    {"workflow", "ml"},
    {"user", "iam"},
    {"policy", "iam"},
    {"group", "iam"},
    {"role", "iam"},
    {"access_key", "iam"},
    {"environment", "environments"},
}};

constexpr std::string_view kFormat =
    "crn:mlvault:<service>:<region>:<account-uuid>:<resource-type>:<resource-uuid>";

// "us-west-1": lowercase letters, dashes between words, a number at the end.
bool IsRegion(std::string_view r) {
  size_t dash = r.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 1 >= r.size()) return false;
  for (size_t i = dash + 1; i < r.size(); ++i)
    if (r[i] < '0' || r[i] > '9') return false;
  bool prev_dash = true;
  for (size_t i = 0; i < dash; ++i) {
    char c = r[i];
    if (c == '-') {
      if (prev_dash) return false;
      prev_dash = true;
    } else if (c >= 'a' && c <= 'z') {
      prev_dash = false;
    } else {
      return false;
    }
  }
  return !prev_dash;
}

std::string Shown(std::string_view s) {
  std::string out = "\"";
  for (char c : s.substr(0, 80)) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f)
      out += '?';
    else
      out += c;
  }
  if (s.size() > 80) out += "...";
  return out + "\"";
}

}  // namespace

std::string Crn::ToString() const {
  return "crn:mlvault:" + service + ":" + region + ":" + account_id + ":" + resource_type + ":" +
         resource_id;
}

std::string_view ServiceOf(std::string_view resource_type) {
  for (const auto& t : kTypes)
    if (t.type == resource_type) return t.service;
  return {};
}

Crn MakeCrn(std::string_view resource_type, std::string_view account_id,
            std::string_view resource_id, std::string_view region) {
  return Crn{std::string(ServiceOf(resource_type)), std::string(region), std::string(account_id),
             std::string(resource_type), std::string(resource_id)};
}

util::Result<Crn> ParseCrn(std::string_view text, std::string_view expected_type) {
  auto bad = [&](const std::string& why) {
    return util::InvalidArgument("malformed CRN " + Shown(text) + ": " + why);
  };
  if (text.empty())
    return util::InvalidArgument("malformed CRN: it is empty; expected " + std::string(kFormat));
  std::vector<std::string_view> parts;
  size_t start = 0;
  for (;;) {
    size_t colon = text.find(':', start);
    parts.push_back(text.substr(
        start, colon == std::string_view::npos ? std::string_view::npos : colon - start));
    if (colon == std::string_view::npos) break;
    start = colon + 1;
  }
  if (parts.size() != 7)
    return bad("expected 7 colon-separated parts " + std::string(kFormat) + ", got " +
               std::to_string(parts.size()));
  if (parts[0] != "crn") return bad("part 1 must be \"crn\", got " + Shown(parts[0]));
  if (parts[1] != "mlvault")
    return bad("the partition (part 2) must be \"mlvault\", got " + Shown(parts[1]));
  bool known_service = false;
  for (const auto& t : kTypes) known_service |= (t.service == parts[2]);
  if (!known_service)
    return bad("the service (part 3) must be one of ml, iam, environments, got " + Shown(parts[2]));
  if (!IsRegion(parts[3]))
    return bad("the region (part 4) must look like \"us-west-1\", got " + Shown(parts[3]));
  if (!util::IsUuid(parts[4]))
    return bad("the account (part 5) must be a lowercase UUID, got " + Shown(parts[4]));
  std::string_view service = ServiceOf(parts[5]);
  if (service.empty())
    return bad("the resource type (part 6) " + Shown(parts[5]) + " is not a known resource type");
  if (service != parts[2])
    return bad("the resource type (part 6) \"" + std::string(parts[5]) +
               "\" belongs to service \"" + std::string(service) + "\", not \"" +
               std::string(parts[2]) + "\"");
  if (!expected_type.empty() && parts[5] != expected_type)
    return bad("expected a " + std::string(expected_type) +
               " CRN, but the resource type (part 6) is " + Shown(parts[5]));
  if (!util::IsUuid(parts[6]))
    return bad("the resource id (part 7) must be a lowercase UUID, got " + Shown(parts[6]));
  return Crn{std::string(parts[2]), std::string(parts[3]), std::string(parts[4]),
             std::string(parts[5]), std::string(parts[6])};
}

}  // namespace mlvault::workspace
