// Policy documents in the familiar cloud IAM grammar, and their parser.
//
//   { "Version": "2012-10-17",
//     "Statement": [ { "Sid": "BackupProd", "Effect": "Allow",
//                      "Action": ["ml:BackupWorkspace", "ml:ListWorkspaceBackups"],
//                      "Resource": "crn:mlvault:ml:*:*:workspace:*",
//                      "Condition": { "StringEquals": { "ml:EnvironmentName": "prod" } } } ] }
//
// ParsePolicy refuses a malformed document whole -- JSON syntax (with trailing commas and
// comments named as such), unknown elements, a bad Effect, an action without a service prefix,
// a resource that is not a CRN, an unknown condition operator, a value the operator cannot
// compare -- with the line, column and field path of the first problem. It never returns a
// partly understood policy. Things that are legal but probably mistakes (an action that matches
// no known action, an unknown condition key) become warnings.
//
// Pure functions and plain values: thread-safe.
#pragma once

#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "iam/json.h"

namespace mlvault::iam {

enum class Effect { kAllow, kDeny };
std::string_view EffectName(Effect e);  // "Allow" / "Deny"

enum class BaseOperator {
  kStringEquals,
  kStringNotEquals,
  kStringEqualsIgnoreCase,
  kStringNotEqualsIgnoreCase,
  kStringLike,
  kStringNotLike,
  kNumericEquals,
  kNumericNotEquals,
  kNumericLessThan,
  kNumericLessThanEquals,
  kNumericGreaterThan,
  kNumericGreaterThanEquals,
  kDateEquals,
  kDateNotEquals,
  kDateLessThan,
  kDateLessThanEquals,
  kDateGreaterThan,
  kDateGreaterThanEquals,
  kBool,
  kIpAddress,
  kNotIpAddress,
  kCrnEquals,
  kCrnNotEquals,
  kCrnLike,
  kCrnNotLike,
  kNull,
};

enum class SetQualifier { kNone, kForAnyValue, kForAllValues };

struct ConditionOperator {
  BaseOperator base = BaseOperator::kStringEquals;
  SetQualifier qualifier = SetQualifier::kNone;
  bool if_exists = false;
  // Canonical spelling, e.g. "ForAnyValue:StringLikeIfExists".
  std::string ToString() const;
  bool operator==(const ConditionOperator&) const = default;
};

// The name of a base operator ("StringEquals"). Arn* spellings parse as the Crn* operators.
std::string_view BaseOperatorName(BaseOperator op);
// Parses "[ForAnyValue:|ForAllValues:]<Operator>[IfExists]" (case-sensitive, as in the cloud
// grammar); nullopt if it is not one.
std::optional<ConditionOperator> ParseConditionOperator(std::string_view text);
// True for the negated matching operators (StringNotEquals, NotIpAddress, ...): several policy
// values combine with NOR, and a missing key makes them true.
bool IsNegated(BaseOperator op);
// The positive operator a negated one negates (StringNotLike -> StringLike); others unchanged.
BaseOperator Positive(BaseOperator op);

struct Condition {
  ConditionOperator op;
  std::string key;                  // as written, e.g. "ml:ResourceTag/team"
  std::vector<std::string> values;  // numbers and booleans as their JSON text
};

struct Statement {
  std::string sid;  // may be empty
  Effect effect = Effect::kDeny;
  bool not_action = false;  // true: `actions` came from NotAction
  std::vector<std::string> actions;
  bool not_resource = false;  // true: `resources` came from NotResource
  std::vector<std::string> resources;
  std::vector<Condition> conditions;
  SourcePos pos;
};

struct Policy {
  std::string version;  // "2012-10-17" (policy variables on), "2008-10-17", or "" (absent)
  std::string id;
  std::vector<Statement> statements;
  bool variables_enabled() const { return version == "2012-10-17"; }
};

struct ParsedPolicy {
  Policy policy;
  std::vector<std::string> warnings;
};

// Documents larger than this are refused.
inline constexpr size_t kMaxPolicyBytes = 32 * 1024;

std::expected<ParsedPolicy, DocumentError> ParsePolicy(std::string_view text);

// The document of the AdministratorAccess policy every account's administrator has attached.
std::string_view AdministratorAccessDocument();
inline constexpr std::string_view kAdministratorAccessPolicyName = "AdministratorAccess";

// Dates the Date* operators accept: RFC 3339 ("2026-01-26T03:22:10Z", offsets and fractions
// allowed), a plain date ("2026-01-26", midnight UTC), or whole seconds since 1970.
// Returns microseconds since 1970, or nullopt.
std::optional<int64_t> ParsePolicyDate(std::string_view s);
// A finite number written as JSON writes numbers (also "1e3", "-0.5"); nullopt otherwise.
std::optional<double> ParsePolicyNumber(std::string_view s);

// An IPv4 or IPv6 network: "10.0.0.0/8", "2001:db8::/32", or one address ("10.1.2.3").
struct IpNetwork {
  bool v6 = false;
  unsigned char addr[16] = {};
  int prefix = 0;
  // True if `ip` (an address, IPv4-mapped IPv6 counted as IPv4) lies in this network.
  bool Contains(std::string_view ip) const;
};
std::optional<IpNetwork> ParseIpNetwork(std::string_view s);

}  // namespace mlvault::iam
