// Property tests of the evaluator over randomly generated policies and requests: laws that
// must hold for every input, such as "adding a Deny never grants" and "removing an Allow never
// grants". Seeds are fixed so failures reproduce; the failing seed and case are printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "iam/evaluator.h"

namespace mlvault::iam {
namespace {

constexpr int kRounds = 3000;

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}

  size_t Pick(size_t n) { return std::uniform_int_distribution<size_t>(0, n - 1)(rng_); }
  bool Coin(int percent = 50) { return Pick(100) < static_cast<size_t>(percent); }
  template <class T>
  const T& OneOf(const std::vector<T>& v) {
    return v[Pick(v.size())];
  }

  Request RandomRequest() {
    Request r;
    r.action = OneOf(kActions);
    r.resource = OneOf(kResources);
    for (const auto& [key, values] : kContextValues) {
      if (Coin(25)) continue;  // absent
      size_t n = Coin(20) ? 0 : 1 + Pick(2);
      std::vector<std::string> vals;
      for (size_t i = 0; i < n; ++i) vals.push_back(OneOf(values));
      r.context[key] = vals;
    }
    return r;
  }

  Statement RandomStatement(Effect effect) {
    Statement s;
    s.effect = effect;
    s.not_action = Coin(15);
    for (size_t i = 0, n = 1 + Pick(2); i < n; ++i) s.actions.push_back(OneOf(kActionPatterns));
    s.not_resource = Coin(15);
    for (size_t i = 0, n = 1 + Pick(2); i < n; ++i) s.resources.push_back(OneOf(kResourcePatterns));
    for (size_t i = 0, n = Pick(3); i < n; ++i) s.conditions.push_back(RandomCondition());
    return s;
  }

  Condition RandomCondition() {
    Condition c;
    size_t k = Pick(kContextValues.size());
    c.key = kContextValues[k].first;
    const auto& vals = kContextValues[k].second;
    bool ip = c.key == "mlvault:SourceIp", num = c.key == "mlvault:EpochTime";
    std::vector<BaseOperator> ops;
    if (ip)
      ops = {BaseOperator::kIpAddress, BaseOperator::kNotIpAddress, BaseOperator::kNull};
    else if (num)
      ops = {BaseOperator::kNumericEquals, BaseOperator::kNumericNotEquals,
             BaseOperator::kNumericLessThan, BaseOperator::kNumericGreaterThanEquals,
             BaseOperator::kNull};
    else
      ops = {BaseOperator::kStringEquals,
             BaseOperator::kStringNotEquals,
             BaseOperator::kStringLike,
             BaseOperator::kStringNotLike,
             BaseOperator::kStringEqualsIgnoreCase,
             BaseOperator::kNull};
    c.op.base = OneOf(ops);
    if (c.op.base == BaseOperator::kNull) {
      c.values = {Coin() ? "true" : "false"};
      return c;
    }
    c.op.if_exists = Coin(20);
    size_t q = Pick(4);
    c.op.qualifier = q == 0   ? SetQualifier::kForAnyValue
                     : q == 1 ? SetQualifier::kForAllValues
                              : SetQualifier::kNone;
    for (size_t i = 0, n = 1 + Pick(2); i < n; ++i) {
      if (ip)
        c.values.push_back(
            OneOf(std::vector<std::string>{"10.0.0.0/8", "127.0.0.1", "::1", "192.168.0.0/16"}));
      else if (c.op.base == BaseOperator::kStringLike || c.op.base == BaseOperator::kStringNotLike)
        c.values.push_back(OneOf(std::vector<std::string>{"p*", "*", "d?v", "PROD"}));
      else
        c.values.push_back(OneOf(vals));
    }
    return c;
  }

  std::vector<NamedPolicy> RandomPolicies() {
    std::vector<NamedPolicy> ps;
    for (size_t p = 0, np = 1 + Pick(3); p < np; ++p) {
      NamedPolicy np_;
      np_.name = "P" + std::to_string(p);
      np_.policy.version = "2012-10-17";
      for (size_t i = 0, n = 1 + Pick(4); i < n; ++i)
        np_.policy.statements.push_back(RandomStatement(Coin(70) ? Effect::kAllow : Effect::kDeny));
      ps.push_back(std::move(np_));
    }
    return ps;
  }

  std::mt19937 rng_;

  inline static const std::vector<std::string> kActions = {
      "ml:BackupWorkspace", "ml:ListWorkspaceBackups", "ml:DeleteBackup", "ml:RestoreWorkspace",
      "iam:CreateUser"};
  inline static const std::vector<std::string> kActionPatterns = {"*",
                                                                  "ml:*",
                                                                  "iam:*",
                                                                  "ml:BackupWorkspace",
                                                                  "ML:listworkspacebackups",
                                                                  "ml:Delete*",
                                                                  "ml:*Workspace*",
                                                                  "ml:??storeWorkspace",
                                                                  "iam:Create?ser"};
  inline static const std::vector<std::string> kResources = {
      "*", "crn:mlvault:ml:us-west-1:a1:workspace:w1", "crn:mlvault:ml:us-west-1:a1:workspace:w2",
      "crn:mlvault:ml:us-west-1:a1:workspace_backup:b1",
      "crn:mlvault:environments:us-west-1:a1:environment:e1"};
  inline static const std::vector<std::string> kResourcePatterns = {
      "*",
      "crn:mlvault:ml:*",
      "crn:mlvault:ml:us-west-1:a1:workspace:w1",
      "crn:mlvault:*:workspace_backup:*",
      "crn:mlvault:ml:us-west-1:a1:workspace:w?",
      "crn:mlvault:environments:*",
      "crn:mlvault:ml:us-west-1:A1:*"};
  inline static const std::vector<std::pair<std::string, std::vector<std::string>>> kContextValues =
      {
          {"ml:EnvironmentName", {"prod", "dev", "PROD"}},
          {"ml:ResourceTag/team", {"ml", "data", "ops"}},
          {"mlvault:SourceIp", {"127.0.0.1", "10.1.2.3", "::1", "192.168.7.7"}},
          {"mlvault:EpochTime", {"5", "100", "1e3"}},
  };
};

std::string Describe(const std::vector<NamedPolicy>& ps, const Request& r) {
  std::string out = "request " + r.action + " on " + r.resource + " ctx{";
  for (const auto& [k, v] : r.context) {
    out += k + "=[";
    for (const auto& x : v) out += x + ",";
    out += "] ";
  }
  out += "} policies:";
  for (const auto& p : ps) {
    out += " " + p.name + "{";
    for (const auto& s : p.policy.statements) {
      out += std::string(EffectName(s.effect)) + (s.not_action ? " NotAction[" : " Action[");
      for (const auto& a : s.actions) out += a + ",";
      out += s.not_resource ? "] NotResource[" : "] Resource[";
      for (const auto& a : s.resources) out += a + ",";
      out += "] Cond[";
      for (const auto& c : s.conditions) {
        out += c.op.ToString() + " " + c.key + "=";
        for (const auto& v : c.values) out += v + "|";
        out += ";";
      }
      out += "]; ";
    }
    out += "}";
  }
  return out;
}

TEST(EvaluatorPropertyTest, AddingADenyNeverGrants) {
  Gen g(1001);
  for (int i = 0; i < kRounds; ++i) {
    auto ps = g.RandomPolicies();
    Request r = g.RandomRequest();
    bool before = Evaluate(ps, r).allowed();
    auto more = ps;
    more[g.Pick(more.size())].policy.statements.push_back(g.RandomStatement(Effect::kDeny));
    bool after = Evaluate(more, r).allowed();
    ASSERT_TRUE(!after || before) << "round " << i << ": " << Describe(more, r);
  }
}

TEST(EvaluatorPropertyTest, RemovingAnAllowNeverGrants) {
  Gen g(2002);
  for (int i = 0; i < kRounds; ++i) {
    auto ps = g.RandomPolicies();
    Request r = g.RandomRequest();
    bool before = Evaluate(ps, r).allowed();
    auto fewer = ps;
    auto& stmts = fewer[g.Pick(fewer.size())].policy.statements;
    auto it = std::find_if(stmts.begin(), stmts.end(),
                           [](const Statement& s) { return s.effect == Effect::kAllow; });
    if (it == stmts.end()) continue;
    stmts.erase(it);
    bool after = Evaluate(fewer, r).allowed();
    ASSERT_TRUE(!after || before) << "round " << i << ": " << Describe(ps, r);
  }
}

TEST(EvaluatorPropertyTest, AddingAnAllowNeverRevokes) {
  Gen g(3003);
  for (int i = 0; i < kRounds; ++i) {
    auto ps = g.RandomPolicies();
    Request r = g.RandomRequest();
    bool before = Evaluate(ps, r).allowed();
    auto more = ps;
    more.push_back({"Extra", {"2012-10-17", "", {g.RandomStatement(Effect::kAllow)}}});
    ASSERT_TRUE(!before || Evaluate(more, r).allowed())
        << "round " << i << ": " << Describe(more, r);
  }
}

TEST(EvaluatorPropertyTest, AnApplicableDenyAlwaysWins) {
  Gen g(4004);
  int applicable = 0;
  for (int i = 0; i < kRounds; ++i) {
    auto ps = g.RandomPolicies();
    Request r = g.RandomRequest();
    Statement deny = g.RandomStatement(Effect::kDeny);
    if (!StatementApplies(deny, true, r)) continue;
    ++applicable;
    ps[g.Pick(ps.size())].policy.statements.push_back(deny);
    Decision d = Evaluate(ps, r);
    ASSERT_EQ(d.outcome, Outcome::kExplicitDeny) << "round " << i << ": " << Describe(ps, r);
  }
  EXPECT_GT(applicable, kRounds / 20) << "the generator rarely makes applicable statements";
}

TEST(EvaluatorPropertyTest, DecisionAgreesWithMatchedStatementsAndIgnoresOrder) {
  Gen g(5005);
  int allowed = 0, denied = 0;
  for (int i = 0; i < kRounds; ++i) {
    auto ps = g.RandomPolicies();
    Request r = g.RandomRequest();
    Decision d = Evaluate(ps, r);
    bool any_deny = false, any_allow = false;
    for (const auto& m : d.matched) (m.effect == Effect::kDeny ? any_deny : any_allow) = true;
    Outcome expect = any_deny    ? Outcome::kExplicitDeny
                     : any_allow ? Outcome::kAllowed
                                 : Outcome::kImplicitDeny;
    ASSERT_EQ(d.outcome, expect) << Describe(ps, r);
    if (d.deciding) {
      const auto& s =
          ps[std::stoi(d.deciding->policy.substr(1))].policy.statements.at(d.deciding->index);
      ASSERT_TRUE(StatementApplies(s, true, r));
      ASSERT_EQ(s.effect, d.deciding->effect);
    }
    auto shuffled = ps;
    std::shuffle(shuffled.begin(), shuffled.end(), g.rng_);
    for (auto& p : shuffled)
      std::shuffle(p.policy.statements.begin(), p.policy.statements.end(), g.rng_);
    ASSERT_EQ(Evaluate(shuffled, r).outcome, d.outcome) << Describe(ps, r);
    (d.allowed() ? allowed : denied)++;
  }
  // The generator must exercise both answers, or the laws above say little.
  EXPECT_GT(allowed, kRounds / 10);
  EXPECT_GT(denied, kRounds / 10);
}

TEST(EvaluatorPropertyTest, NegatedOperatorsAreComplements) {
  // Without IfExists: NotX == !X, and ForAllValues:NotX == !ForAnyValue:X, for present,
  // absent and empty keys alike.
  Gen g(6006);
  for (int i = 0; i < kRounds; ++i) {
    Condition c = g.RandomCondition();
    if (c.op.base == BaseOperator::kNull || !IsNegated(c.op.base)) continue;
    c.op.if_exists = false;
    Request r = g.RandomRequest();
    Condition pos = c;
    pos.op.base = Positive(c.op.base);
    if (c.op.qualifier == SetQualifier::kNone) {
      ASSERT_NE(ConditionHolds(c, true, r.context), ConditionHolds(pos, true, r.context))
          << c.op.ToString() << " " << c.key;
    } else {
      Condition all_neg = c, any_pos = pos;
      all_neg.op.qualifier = SetQualifier::kForAllValues;
      any_pos.op.qualifier = SetQualifier::kForAnyValue;
      ASSERT_NE(ConditionHolds(all_neg, true, r.context), ConditionHolds(any_pos, true, r.context))
          << c.op.ToString() << " " << c.key;
    }
  }
}

TEST(EvaluatorPropertyTest, IfExistsOnlyWidensWhenTheKeyIsAbsent) {
  Gen g(7007);
  for (int i = 0; i < kRounds; ++i) {
    Condition c = g.RandomCondition();
    if (c.op.base == BaseOperator::kNull) continue;
    Request r = g.RandomRequest();
    Condition with = c, without = c;
    with.op.if_exists = true;
    without.op.if_exists = false;
    auto it = r.context.find(c.key);
    bool absent = it == r.context.end() || it->second.empty();
    if (absent)
      ASSERT_TRUE(ConditionHolds(with, true, r.context));
    else
      ASSERT_EQ(ConditionHolds(with, true, r.context), ConditionHolds(without, true, r.context));
  }
}

// Writes a generated policy as a document, so the parser can be checked against it.
std::string ToJson(const Policy& p) {
  auto str = [](const std::string& s) { return "\"" + s + "\""; };
  std::string out = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n";
  for (size_t i = 0; i < p.statements.size(); ++i) {
    const Statement& s = p.statements[i];
    out += "    {\"Effect\": " + str(std::string(EffectName(s.effect))) + ",\n     ";
    out += s.not_action ? "\"NotAction\": [" : "\"Action\": [";
    for (size_t k = 0; k < s.actions.size(); ++k) out += (k ? ", " : "") + str(s.actions[k]);
    out += s.not_resource ? "],\n     \"NotResource\": [" : "],\n     \"Resource\": [";
    for (size_t k = 0; k < s.resources.size(); ++k) out += (k ? ", " : "") + str(s.resources[k]);
    out += "]";
    if (!s.conditions.empty()) {
      // One operator may appear once per statement in JSON: group keys under their operator.
      out += ",\n     \"Condition\": {";
      std::vector<std::string> ops;
      for (const auto& c : s.conditions)
        if (std::find(ops.begin(), ops.end(), c.op.ToString()) == ops.end())
          ops.push_back(c.op.ToString());
      for (size_t o = 0; o < ops.size(); ++o) {
        out += (o ? ", " : "") + str(ops[o]) + ": {";
        bool first = true;
        for (const auto& c : s.conditions) {
          if (c.op.ToString() != ops[o]) continue;
          out += (first ? "" : ", ") + str(c.key) + ": [";
          first = false;
          for (size_t k = 0; k < c.values.size(); ++k) out += (k ? ", " : "") + str(c.values[k]);
          out += "]";
        }
        out += "}";
      }
      out += "}";
    }
    out += i + 1 < p.statements.size() ? "},\n" : "}\n";
  }
  return out + "  ]\n}\n";
}

TEST(EvaluatorPropertyTest, ParsedDocumentsDecideLikeTheirStatements) {
  Gen g(8008);
  int checked = 0;
  for (int i = 0; i < kRounds; ++i) {
    auto ps = g.RandomPolicies();
    // A key twice under one operator is a duplicate key in JSON: skip such policies.
    bool dup = false;
    for (const auto& p : ps)
      for (const auto& s : p.policy.statements)
        for (size_t a = 0; a < s.conditions.size(); ++a)
          for (size_t b = a + 1; b < s.conditions.size(); ++b)
            dup = dup || (s.conditions[a].op == s.conditions[b].op &&
                          s.conditions[a].key == s.conditions[b].key);
    if (dup) continue;
    std::vector<NamedPolicy> parsed;
    for (const auto& p : ps) {
      std::string doc = ToJson(p.policy);
      auto pp = ParsePolicy(doc);
      ASSERT_TRUE(pp) << pp.error().ToString() << "\n" << doc;
      parsed.push_back({p.name, pp->policy});
    }
    Request r = g.RandomRequest();
    ASSERT_EQ(Evaluate(parsed, r).outcome, Evaluate(ps, r).outcome) << Describe(ps, r);
    ++checked;
  }
  EXPECT_GT(checked, kRounds / 2);
}

}  // namespace
}  // namespace mlvault::iam
