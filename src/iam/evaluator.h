// The policy evaluator: a pure function from (policies, request) to a decision.
//
// Rules (those of the cloud IAM grammar):
//   - default deny: nothing is allowed unless a statement allows it;
//   - an applicable Deny statement wins over any Allow;
//   - a statement applies when its Action (or NotAction) matches the action -- case-insensitive,
//     '*' and '?' wildcards --, its Resource (or NotResource) matches the resource --
//     case-sensitive, with wildcards and, under Version 2012-10-17, policy variables -- and every
//     condition holds (operators AND, keys AND, values OR; NOR for negated operators);
//   - condition key names are case-insensitive; a key absent from the request makes a condition
//     false, except for negated operators and ForAllValues: (true), ...IfExists (true) and Null.
// docs/iam.md spells out every operator. Thread-safe (no state).
#pragma once

#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "iam/policy.h"

namespace mlvault::iam {

// Condition keys and their values for one request ("mlvault:SourceIp" -> {"127.0.0.1"}).
using RequestContext = std::map<std::string, std::vector<std::string>>;

struct Request {
  std::string action;    // "ml:BackupWorkspace"
  std::string resource;  // a CRN or "*"
  RequestContext context;
};

struct NamedPolicy {
  std::string name;
  Policy policy;
};

enum class Outcome { kAllowed, kExplicitDeny, kImplicitDeny };
std::string_view OutcomeName(Outcome o);  // "allowed", "explicitDeny", "implicitDeny"

// One statement of one policy.
struct StatementRef {
  std::string policy;
  size_t index = 0;  // 0-based position in the policy's Statement list
  std::string sid;
  Effect effect = Effect::kDeny;
  bool operator==(const StatementRef&) const = default;
};

struct Decision {
  Outcome outcome = Outcome::kImplicitDeny;
  // The statement that decided: the first applicable Deny, else the first applicable Allow;
  // nullopt for an implicit deny.
  std::optional<StatementRef> deciding;
  // Every applicable statement, in policy then statement order.
  std::vector<StatementRef> matched;
  bool allowed() const { return outcome == Outcome::kAllowed; }
};

Decision Evaluate(std::span<const NamedPolicy> policies, const Request& request);

// True if `statement` (of a policy with `variables` on or off) applies to `request`.
bool StatementApplies(const Statement& statement, bool variables, const Request& request);

// True if `condition` holds in `context`.
bool ConditionHolds(const Condition& condition, bool variables, const RequestContext& context);

}  // namespace mlvault::iam
