// CRNs: the resource names of mlvault (SPEC.md section 1), parsed and formatted in one place.
//
//   crn:mlvault:<service>:<region>:<account-uuid>:<resource-type>:<resource-uuid>
//
// Parsing is strict: exactly seven colon-separated parts, the literal "crn" and "mlvault", a
// known service, a region like "us-west-1", canonical lowercase UUIDs, and a resource type that
// belongs to the service. A malformed CRN is a kInvalidArgument error whose sentence names the
// part that is wrong. Plain values; thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "util/error.h"

namespace mlvault::workspace {

inline constexpr std::string_view kDefaultRegion = "us-west-1";

// Resource types in use (service in parentheses).
inline constexpr std::string_view kWorkspaceType = "workspace";      // (ml)
inline constexpr std::string_view kBackupType = "workspace_backup";  // (ml)
inline constexpr std::string_view kBackupPlanType = "backup_plan";   // (ml)
inline constexpr std::string_view kUserType = "user";                // (iam)
inline constexpr std::string_view kEnvironmentType = "environment";  // (environments)

struct Crn {
  std::string service;        // "ml", "iam", "environments"
  std::string region;         // "us-west-1"
  std::string account_id;     // account UUID
  std::string resource_type;  // "workspace", "workspace_backup", "user", "environment", ...
  std::string resource_id;    // resource UUID

  // The canonical text form.
  std::string ToString() const;
  bool operator==(const Crn&) const = default;
};

// The service a resource type belongs to ("ml" for workspace), or "" for an unknown type.
std::string_view ServiceOf(std::string_view resource_type);

// Builds a CRN for a resource type, picking its service. The ids are not checked here.
Crn MakeCrn(std::string_view resource_type, std::string_view account_id,
            std::string_view resource_id, std::string_view region = kDefaultRegion);

// Parses `text`. If `expected_type` is not empty, the resource type must be that one.
// Errors (kInvalidArgument) read like:
//   malformed CRN "crn:mlvault:ml:us-west-1:abc:workspace:..." : the account (part 5) must be a
//   lowercase UUID, got "abc"
util::Result<Crn> ParseCrn(std::string_view text, std::string_view expected_type = {});

}  // namespace mlvault::workspace
