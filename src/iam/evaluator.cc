#include "iam/evaluator.h"

#include <algorithm>

#include "iam/pattern.h"

namespace mlvault::iam {

namespace {

// The values of `key` (case-insensitive); nullptr if absent or empty.
const std::vector<std::string>* Lookup(const RequestContext& ctx, std::string_view key) {
  auto it = ctx.find(std::string(key));
  if (it == ctx.end()) {
    it = std::find_if(ctx.begin(), ctx.end(),
                      [&](const auto& kv) { return EqualsIgnoreCase(kv.first, key); });
  }
  if (it == ctx.end() || it->second.empty()) return nullptr;
  return &it->second;
}

VariableLookup MakeLookup(bool variables, const RequestContext& ctx) {
  if (!variables) return nullptr;
  return [&ctx](std::string_view key) -> std::optional<std::string> {
    const auto* v = Lookup(ctx, key);
    if (!v || v->size() != 1) return std::nullopt;
    return (*v)[0];
  };
}

// Whether the context value `c` matches the policy value `p` under the positive operator `op`.
bool Compare(BaseOperator op, const std::string& c, const std::string& p,
             const VariableLookup& lookup) {
  switch (op) {
    case BaseOperator::kStringEquals: {
      auto v = SubstituteVariables(p, lookup);
      return v && *v == c;
    }
    case BaseOperator::kStringEqualsIgnoreCase: {
      auto v = SubstituteVariables(p, lookup);
      return v && EqualsIgnoreCase(*v, c);
    }
    case BaseOperator::kStringLike:
    case BaseOperator::kCrnEquals:
    case BaseOperator::kCrnLike:
      return WildcardMatchWithVariables(p, c, false, lookup);
    case BaseOperator::kNumericEquals:
    case BaseOperator::kNumericLessThan:
    case BaseOperator::kNumericLessThanEquals:
    case BaseOperator::kNumericGreaterThan:
    case BaseOperator::kNumericGreaterThanEquals: {
      auto a = ParsePolicyNumber(c), b = ParsePolicyNumber(p);
      if (!a || !b) return false;
      switch (op) {
        case BaseOperator::kNumericEquals:
          return *a == *b;
        case BaseOperator::kNumericLessThan:
          return *a < *b;
        case BaseOperator::kNumericLessThanEquals:
          return *a <= *b;
        case BaseOperator::kNumericGreaterThan:
          return *a > *b;
        default:
          return *a >= *b;
      }
    }
    case BaseOperator::kDateEquals:
    case BaseOperator::kDateLessThan:
    case BaseOperator::kDateLessThanEquals:
    case BaseOperator::kDateGreaterThan:
    case BaseOperator::kDateGreaterThanEquals: {
      auto a = ParsePolicyDate(c), b = ParsePolicyDate(p);
      if (!a || !b) return false;
      switch (op) {
        case BaseOperator::kDateEquals:
          return *a == *b;
        case BaseOperator::kDateLessThan:
          return *a < *b;
        case BaseOperator::kDateLessThanEquals:
          return *a <= *b;
        case BaseOperator::kDateGreaterThan:
          return *a > *b;
        default:
          return *a >= *b;
      }
    }
    case BaseOperator::kBool:
      return (EqualsIgnoreCase(c, "true") || EqualsIgnoreCase(c, "false")) &&
             EqualsIgnoreCase(c, p);
    case BaseOperator::kIpAddress: {
      auto net = ParseIpNetwork(p);
      return net && net->Contains(c);
    }
    default:
      return false;  // Negated and Null operators never reach here.
  }
}

}  // namespace

std::string_view OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kAllowed:
      return "allowed";
    case Outcome::kExplicitDeny:
      return "explicitDeny";
    case Outcome::kImplicitDeny:
      return "implicitDeny";
  }
  return "implicitDeny";
}

bool ConditionHolds(const Condition& cond, bool variables, const RequestContext& ctx) {
  const std::vector<std::string>* vals = Lookup(ctx, cond.key);
  if (cond.op.base == BaseOperator::kNull) {
    // "true": the key must be absent; "false": present. Several values: any may hold.
    return std::any_of(cond.values.begin(), cond.values.end(), [&](const std::string& v) {
      return EqualsIgnoreCase(v, "true") == (vals == nullptr);
    });
  }
  const bool negated = IsNegated(cond.op.base);
  if (!vals) {
    if (cond.op.if_exists) return true;
    switch (cond.op.qualifier) {
      case SetQualifier::kForAllValues:
        return true;
      case SetQualifier::kForAnyValue:
        return false;
      case SetQualifier::kNone:
        return negated;
    }
  }
  const BaseOperator positive = Positive(cond.op.base);
  VariableLookup lookup = MakeLookup(variables, ctx);
  auto matches = [&](const std::string& c) {
    return std::any_of(cond.values.begin(), cond.values.end(),
                       [&](const std::string& p) { return Compare(positive, c, p, lookup); });
  };
  auto holds = [&](const std::string& c) { return negated ? !matches(c) : matches(c); };
  switch (cond.op.qualifier) {
    case SetQualifier::kForAnyValue:
      return std::any_of(vals->begin(), vals->end(), holds);
    case SetQualifier::kForAllValues:
      return std::all_of(vals->begin(), vals->end(), holds);
    case SetQualifier::kNone:
      break;
  }
  bool any = std::any_of(vals->begin(), vals->end(), matches);
  return negated ? !any : any;
}

bool StatementApplies(const Statement& s, bool variables, const Request& request) {
  bool action = std::any_of(s.actions.begin(), s.actions.end(), [&](const std::string& a) {
    return WildcardMatch(a, request.action, true);
  });
  if (action == s.not_action) return false;
  VariableLookup lookup = MakeLookup(variables, request.context);
  bool resource = std::any_of(s.resources.begin(), s.resources.end(), [&](const std::string& r) {
    return WildcardMatchWithVariables(r, request.resource, false, lookup);
  });
  if (resource == s.not_resource) return false;
  return std::all_of(s.conditions.begin(), s.conditions.end(), [&](const Condition& c) {
    return ConditionHolds(c, variables, request.context);
  });
}

Decision Evaluate(std::span<const NamedPolicy> policies, const Request& request) {
  Decision d;
  std::optional<StatementRef> first_allow, first_deny;
  for (const auto& p : policies) {
    for (size_t i = 0; i < p.policy.statements.size(); ++i) {
      const Statement& s = p.policy.statements[i];
      if (!StatementApplies(s, p.policy.variables_enabled(), request)) continue;
      StatementRef ref{p.name, i, s.sid, s.effect};
      d.matched.push_back(ref);
      auto& first = s.effect == Effect::kDeny ? first_deny : first_allow;
      if (!first) first = ref;
    }
  }
  if (first_deny) {
    d.outcome = Outcome::kExplicitDeny;
    d.deciding = first_deny;
  } else if (first_allow) {
    d.outcome = Outcome::kAllowed;
    d.deciding = first_allow;
  }
  return d;
}

}  // namespace mlvault::iam
