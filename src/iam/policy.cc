#include "iam/policy.h"

#include <arpa/inet.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <set>
#include <utility>

#include "iam/catalog.h"
#include "iam/pattern.h"
#include "util/clock.h"
#include "util/strings.h"

namespace mlvault::iam {

namespace {

struct OperatorName {
  std::string_view name;
  BaseOperator op;
};

constexpr std::array kOperatorNames = {
    OperatorName{"StringEquals", BaseOperator::kStringEquals},
    OperatorName{"StringNotEquals", BaseOperator::kStringNotEquals},
    OperatorName{"StringEqualsIgnoreCase", BaseOperator::kStringEqualsIgnoreCase},
    OperatorName{"StringNotEqualsIgnoreCase", BaseOperator::kStringNotEqualsIgnoreCase},
    OperatorName{"StringLike", BaseOperator::kStringLike},
    OperatorName{"StringNotLike", BaseOperator::kStringNotLike},
    OperatorName{"NumericEquals", BaseOperator::kNumericEquals},
    OperatorName{"NumericNotEquals", BaseOperator::kNumericNotEquals},
    OperatorName{"NumericLessThan", BaseOperator::kNumericLessThan},
    OperatorName{"NumericLessThanEquals", BaseOperator::kNumericLessThanEquals},
    OperatorName{"NumericGreaterThan", BaseOperator::kNumericGreaterThan},
    OperatorName{"NumericGreaterThanEquals", BaseOperator::kNumericGreaterThanEquals},
    OperatorName{"DateEquals", BaseOperator::kDateEquals},
    OperatorName{"DateNotEquals", BaseOperator::kDateNotEquals},
    OperatorName{"DateLessThan", BaseOperator::kDateLessThan},
    OperatorName{"DateLessThanEquals", BaseOperator::kDateLessThanEquals},
    OperatorName{"DateGreaterThan", BaseOperator::kDateGreaterThan},
    OperatorName{"DateGreaterThanEquals", BaseOperator::kDateGreaterThanEquals},
    OperatorName{"Bool", BaseOperator::kBool},
    OperatorName{"IpAddress", BaseOperator::kIpAddress},
    OperatorName{"NotIpAddress", BaseOperator::kNotIpAddress},
    OperatorName{"CrnEquals", BaseOperator::kCrnEquals},
    OperatorName{"CrnNotEquals", BaseOperator::kCrnNotEquals},
    OperatorName{"CrnLike", BaseOperator::kCrnLike},
    OperatorName{"CrnNotLike", BaseOperator::kCrnNotLike},
    OperatorName{"Null", BaseOperator::kNull},
    // The cloud grammar's spellings of the resource-name operators.
    OperatorName{"ArnEquals", BaseOperator::kCrnEquals},
    OperatorName{"ArnNotEquals", BaseOperator::kCrnNotEquals},
    OperatorName{"ArnLike", BaseOperator::kCrnLike},
    OperatorName{"ArnNotLike", BaseOperator::kCrnNotLike},
};

bool IsStringFamily(BaseOperator op) {
  switch (Positive(op)) {
    case BaseOperator::kStringEquals:
    case BaseOperator::kStringEqualsIgnoreCase:
    case BaseOperator::kStringLike:
    case BaseOperator::kCrnEquals:
    case BaseOperator::kCrnLike:
      return true;
    default:
      return false;
  }
}
bool IsNumericFamily(BaseOperator op) {
  return op >= BaseOperator::kNumericEquals && op <= BaseOperator::kNumericGreaterThanEquals;
}
bool IsDateFamily(BaseOperator op) {
  return op >= BaseOperator::kDateEquals && op <= BaseOperator::kDateGreaterThanEquals;
}

// " (did you mean X?)" for the closest of `candidates` within a small distance, else "".
template <class Range>
std::string Suggest(std::string_view word, const Range& candidates) {
  std::string best;
  size_t best_d = std::max<size_t>(2, word.size() / 4) + 1;
  for (std::string_view c : candidates) {
    size_t d = util::EditDistance(word, c);
    if (d < best_d) {
      best_d = d;
      best = std::string(c);
    }
  }
  return best.empty() ? "" : " (did you mean " + best + "?)";
}

std::string Q(std::string_view s) { return "\"" + std::string(s) + "\""; }

// The document walker: each check names the value's place.
class PolicyReader {
 public:
  std::expected<ParsedPolicy, DocumentError> Read(const JsonValue& root) {
    if (!root.is_object())
      return Fail(
          root, "",
          "a policy document must be a JSON object, found " + std::string(TypeName(root.type)));
    ParsedPolicy out;
    for (const auto& m : root.members) {
      if (m.key == "Version") {
        if (!m.value.is_string()) return Fail(m.value, "Version", "Version must be a string");
        if (m.value.text != "2012-10-17" && m.value.text != "2008-10-17")
          return Fail(m.value, "Version",
                      "Version must be \"2012-10-17\" (or the older \"2008-10-17\"), found " +
                          Q(m.value.text));
        out.policy.version = m.value.text;
      } else if (m.key == "Id") {
        if (!m.value.is_string()) return Fail(m.value, "Id", "Id must be a string");
        out.policy.id = m.value.text;
      } else if (m.key == "Statement") {
        // Below.
      } else {
        return FailKey(
            m, "",
            "unknown element " + Q(m.key) + " in the policy (allowed: Version, Id, Statement)" +
                Suggest(m.key, std::array<std::string_view, 3>{"Version", "Id", "Statement"}));
      }
    }
    const JsonValue::Member* st = root.Find("Statement");
    if (!st) return Fail(root, "", "the policy has no Statement");
    if (out.policy.version.empty())
      warnings_.push_back(
          "the policy has no Version; policy variables such as ${mlvault:UserName} are "
          "only substituted with \"Version\": \"2012-10-17\"");
    vars_ = out.policy.variables_enabled();
    if (st->value.is_object()) {
      auto s = ReadStatement(st->value, "Statement");
      if (!s) return std::unexpected(s.error());
      out.policy.statements.push_back(std::move(*s));
    } else if (st->value.is_array()) {
      if (st->value.items.empty())
        return Fail(st->value, "Statement", "Statement must not be empty");
      for (size_t i = 0; i < st->value.items.size(); ++i) {
        auto s = ReadStatement(st->value.items[i], JoinPath("Statement", i));
        if (!s) return std::unexpected(s.error());
        out.policy.statements.push_back(std::move(*s));
      }
    } else {
      return Fail(st->value, "Statement",
                  "Statement must be an object or an array of objects, found " +
                      std::string(TypeName(st->value.type)));
    }
    out.warnings = std::move(warnings_);
    return out;
  }

 private:
  static std::unexpected<DocumentError> Fail(const JsonValue& at, std::string path,
                                             std::string message) {
    return std::unexpected(DocumentError{at.pos, std::move(path), std::move(message)});
  }
  static std::unexpected<DocumentError> FailKey(const JsonValue::Member& m,
                                                const std::string& parent, std::string message) {
    return std::unexpected(DocumentError{m.key_pos, JoinPath(parent, m.key), std::move(message)});
  }

  std::expected<Statement, DocumentError> ReadStatement(const JsonValue& v,
                                                        const std::string& path) {
    if (!v.is_object())
      return Fail(v, path,
                  "a statement must be a JSON object, found " + std::string(TypeName(v.type)));
    static constexpr std::array<std::string_view, 7> kElements = {
        "Sid", "Effect", "Action", "NotAction", "Resource", "NotResource", "Condition"};
    Statement s;
    s.pos = v.pos;
    bool has_effect = false;
    for (const auto& m : v.members) {
      std::string mpath = JoinPath(path, m.key);
      if (m.key == "Sid") {
        if (!m.value.is_string()) return Fail(m.value, mpath, "Sid must be a string");
        for (char c : m.value.text)
          if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '-')
            return Fail(
                m.value, mpath,
                "Sid may contain only letters, digits, '_' and '-', found " + Q(m.value.text));
        if (!m.value.text.empty() && !sids_.insert(m.value.text).second)
          return Fail(
              m.value, mpath,
              "Sid " + Q(m.value.text) + " is used by another statement; Sids must be unique");
        s.sid = m.value.text;
      } else if (m.key == "Effect") {
        if (!m.value.is_string())
          return Fail(m.value, mpath,
                      "Effect must be the string \"Allow\" or \"Deny\", found " +
                          std::string(TypeName(m.value.type)));
        if (m.value.text == "Allow")
          s.effect = Effect::kAllow;
        else if (m.value.text == "Deny")
          s.effect = Effect::kDeny;
        else
          return Fail(
              m.value, mpath,
              "Effect must be \"Allow\" or \"Deny\" (case-sensitive), found " + Q(m.value.text));
        has_effect = true;
      } else if (m.key == "Action" || m.key == "NotAction") {
        s.not_action = m.key == "NotAction";
        auto list = StringList(m.value, mpath, m.key);
        if (!list) return std::unexpected(list.error());
        for (size_t i = 0; i < list->size(); ++i) {
          const JsonValue& item = m.value.is_array() ? m.value.items[i] : m.value;
          std::string ipath = m.value.is_array() ? JoinPath(mpath, i) : mpath;
          if (auto st = CheckAction((*list)[i], item, ipath); !st)
            return std::unexpected(st.error());
        }
        s.actions = std::move(*list);
      } else if (m.key == "Resource" || m.key == "NotResource") {
        s.not_resource = m.key == "NotResource";
        auto list = StringList(m.value, mpath, m.key);
        if (!list) return std::unexpected(list.error());
        for (size_t i = 0; i < list->size(); ++i) {
          const JsonValue& item = m.value.is_array() ? m.value.items[i] : m.value;
          std::string ipath = m.value.is_array() ? JoinPath(mpath, i) : mpath;
          if (auto st = CheckResource((*list)[i], item, ipath); !st)
            return std::unexpected(st.error());
        }
        s.resources = std::move(*list);
      } else if (m.key == "Condition") {
        auto conds = ReadConditions(m.value, mpath);
        if (!conds) return std::unexpected(conds.error());
        s.conditions = std::move(*conds);
      } else if (m.key == "Principal" || m.key == "NotPrincipal") {
        return FailKey(
            m, path,
            m.key + " is not allowed here: policies are attached to users, who are the principal");
      } else {
        return FailKey(m, path,
                       "unknown element " + Q(m.key) +
                           " in a statement (allowed: Sid, Effect, Action, NotAction, Resource, "
                           "NotResource, Condition)" +
                           Suggest(m.key, kElements));
      }
    }
    if (!has_effect) return Fail(v, path, "the statement has no Effect (\"Allow\" or \"Deny\")");
    bool a = v.Find("Action"), na = v.Find("NotAction"), r = v.Find("Resource"),
         nr = v.Find("NotResource");
    if (a && na)
      return Fail(v.Find("NotAction")->value, JoinPath(path, "NotAction"),
                  "a statement has either Action or NotAction, not both");
    if (!a && !na) return Fail(v, path, "the statement has no Action (or NotAction)");
    if (r && nr)
      return Fail(v.Find("NotResource")->value, JoinPath(path, "NotResource"),
                  "a statement has either Resource or NotResource, not both");
    if (!r && !nr)
      return Fail(v, path, "the statement has no Resource (or NotResource); use \"*\" for all");
    return s;
  }

  // A string, or a non-empty array of strings.
  std::expected<std::vector<std::string>, DocumentError> StringList(const JsonValue& v,
                                                                    const std::string& path,
                                                                    const std::string& what) {
    if (v.is_string()) return std::vector<std::string>{v.text};
    if (!v.is_array())
      return Fail(v, path,
                  what + " must be a string or an array of strings, found " +
                      std::string(TypeName(v.type)));
    if (v.items.empty()) return Fail(v, path, what + " must not be an empty array");
    std::vector<std::string> out;
    for (size_t i = 0; i < v.items.size(); ++i) {
      if (!v.items[i].is_string())
        return Fail(
            v.items[i], JoinPath(path, i),
            what + " entries must be strings, found " + std::string(TypeName(v.items[i].type)));
      out.push_back(v.items[i].text);
    }
    return out;
  }

  std::expected<void, DocumentError> CheckAction(const std::string& a, const JsonValue& at,
                                                 const std::string& path) {
    if (a == "*") return {};
    size_t colon = a.find(':');
    if (colon == std::string::npos) {
      std::string hint;
      for (std::string_view svc : KnownServices())
        if (FindAction(std::string(svc) + ":" + a))
          hint = " (did you mean " + std::string(svc) + ":" + a + "?)";
      return Fail(at, path,
                  "action " + Q(a) +
                      " has no service prefix; actions are written service:Name, e.g. "
                      "ml:BackupWorkspace" +
                      hint);
    }
    std::string_view svc = std::string_view(a).substr(0, colon);
    std::string_view name = std::string_view(a).substr(colon + 1);
    bool known_service = false;
    for (std::string_view k : KnownServices())
      known_service = known_service || EqualsIgnoreCase(k, svc);
    if (!known_service) {
      std::string list;
      for (std::string_view k : KnownServices())
        list += (list.empty() ? "" : ", ") + std::string(k);
      return Fail(at, path,
                  "unknown service " + Q(svc) + " in action " + Q(a) + " (services: " + list + ")");
    }
    if (name.empty())
      return Fail(at, path, "action " + Q(a) + " has no name after the service prefix");
    for (char c : name)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '*' && c != '?')
        return Fail(at, path,
                    "action " + Q(a) + " contains " + Q(std::string(1, c)) +
                        "; action names are letters and digits, with * and ? wildcards");
    bool matches = false;
    for (const auto& k : KnownActions()) matches = matches || WildcardMatch(a, k.name, true);
    if (!matches) {
      std::vector<std::string_view> names;
      for (const auto& k : KnownActions()) names.push_back(k.name);
      warnings_.push_back(path + ": action " + Q(a) + " matches no known action" +
                          Suggest(a, names));
    }
    return {};
  }

  std::expected<void, DocumentError> CheckResource(const std::string& r, const JsonValue& at,
                                                   const std::string& path) {
    if (r == "*") return {};
    if (!r.starts_with("crn:"))
      return Fail(at, path,
                  "resource " + Q(r) +
                      " is not a CRN (crn:mlvault:<service>:<region>:<account>:<type>:<id>) "
                      "or \"*\"");
    if (r.find('*') != std::string::npos || r.find('?') != std::string::npos ||
        r.find("${") != std::string::npos)
      return {};  // A pattern: its parts cannot be checked one by one.
    std::vector<std::string_view> parts;
    std::string_view rest = r;
    for (;;) {
      size_t c = rest.find(':');
      parts.push_back(rest.substr(0, c));
      if (c == std::string_view::npos) break;
      rest.remove_prefix(c + 1);
    }
    static constexpr std::array<std::string_view, 7> kParts = {
        "crn", "partition", "service", "region", "account", "resource type", "resource id"};
    if (parts.size() != 7)
      return Fail(at, path,
                  "resource " + Q(r) + " has " + std::to_string(parts.size()) +
                      " ':'-separated parts; a CRN has 7 "
                      "(crn:mlvault:<service>:<region>:<account>:<type>:<id>)");
    if (parts[1] != "mlvault")
      return Fail(at, path, "resource " + Q(r) + ": the partition must be \"mlvault\"");
    for (size_t i = 2; i < parts.size(); ++i)
      if (parts[i].empty())
        return Fail(at, path, "resource " + Q(r) + ": the " + std::string(kParts[i]) + " is empty");
    return {};
  }

  std::expected<std::vector<Condition>, DocumentError> ReadConditions(const JsonValue& v,
                                                                      const std::string& path) {
    if (!v.is_object())
      return Fail(
          v, path,
          "Condition must be an object of operators, found " + std::string(TypeName(v.type)));
    std::vector<Condition> out;
    for (const auto& opm : v.members) {
      std::string oppath = JoinPath(path, opm.key);
      auto op = ParseConditionOperator(opm.key);
      if (!op) {
        std::vector<std::string_view> names;
        for (const auto& n : kOperatorNames) names.push_back(n.name);
        std::string_view bare = opm.key;
        for (std::string_view pre : {"ForAnyValue:", "ForAllValues:"})
          if (bare.starts_with(pre)) bare.remove_prefix(pre.size());
        return FailKey(opm, path,
                       "unknown condition operator " + Q(opm.key) + Suggest(bare, names));
      }
      if (op->base == BaseOperator::kNull &&
          (op->qualifier != SetQualifier::kNone || op->if_exists))
        return FailKey(opm, path,
                       "Null takes no ForAnyValue:/ForAllValues: qualifier and no IfExists suffix");
      if (op->qualifier != SetQualifier::kNone && !IsStringFamily(op->base))
        warnings_.push_back(oppath + ": " + opm.key +
                            " compares multi-valued keys; every key here has one value");
      if (!opm.value.is_object() || opm.value.members.empty())
        return Fail(opm.value, oppath,
                    "the operator " + opm.key + " must map condition keys to values, e.g. {\"" +
                        "ml:EnvironmentName\": \"prod\"}");
      for (const auto& km : opm.value.members) {
        std::string kpath = JoinPath(oppath, km.key);
        size_t colon = km.key.find(':');
        if (colon == std::string::npos || colon == 0 || colon + 1 == km.key.size())
          return FailKey(km, oppath,
                         "condition key " + Q(km.key) +
                             " needs a service prefix (e.g. mlvault:UserName, ml:EnvironmentName)");
        if (!IsKnownConditionKey(km.key)) {
          std::vector<std::string_view> names;
          for (const auto& k : KnownConditionKeys()) names.push_back(k.name);
          warnings_.push_back(kpath + ": condition key " + Q(km.key) +
                              " is not one mlvault sets; it is always absent" +
                              Suggest(km.key, names));
        }
        Condition c;
        c.op = *op;
        c.key = km.key;
        std::vector<const JsonValue*> vals;
        if (km.value.is_array()) {
          if (km.value.items.empty())
            return Fail(km.value, kpath, "the condition needs at least one value");
          for (const auto& it : km.value.items) vals.push_back(&it);
        } else {
          vals.push_back(&km.value);
        }
        for (size_t i = 0; i < vals.size(); ++i) {
          const JsonValue& val = *vals[i];
          std::string vpath = km.value.is_array() ? JoinPath(kpath, i) : kpath;
          std::string text;
          switch (val.type) {
            case JsonValue::Type::kString:
            case JsonValue::Type::kNumber:
              text = val.text;
              break;
            case JsonValue::Type::kBool:
              text = val.boolean ? "true" : "false";
              break;
            default:
              return Fail(val, vpath,
                          "condition values must be strings, numbers or booleans, found " +
                              std::string(TypeName(val.type)));
          }
          if (auto st = CheckValue(*op, text, val, vpath); !st) return std::unexpected(st.error());
          c.values.push_back(std::move(text));
        }
        out.push_back(std::move(c));
      }
    }
    return out;
  }

  std::expected<void, DocumentError> CheckValue(const ConditionOperator& op, const std::string& v,
                                                const JsonValue& at, const std::string& path) {
    std::string name(BaseOperatorName(op.base));
    if (IsNumericFamily(op.base) && !ParsePolicyNumber(v))
      return Fail(at, path, name + " compares numbers; " + Q(v) + " is not a number");
    if (IsDateFamily(op.base) && !ParsePolicyDate(v))
      return Fail(
          at, path,
          name + " compares dates; " + Q(v) +
              " is not a date (RFC 3339 such as 2026-01-26T03:22:10Z, a date such as 2026-01-26, "
              "or seconds since 1970)");
    if ((op.base == BaseOperator::kBool || op.base == BaseOperator::kNull) &&
        !EqualsIgnoreCase(v, "true") && !EqualsIgnoreCase(v, "false"))
      return Fail(at, path, name + " takes \"true\" or \"false\", found " + Q(v));
    if ((op.base == BaseOperator::kIpAddress || op.base == BaseOperator::kNotIpAddress) &&
        !ParseIpNetwork(v))
      return Fail(
          at, path,
          name + " takes IP addresses or CIDR ranges (10.0.0.0/8, 2001:db8::/32), found " + Q(v));
    if (IsStringFamily(op.base)) {
      for (const std::string& var : VariableNames(v)) {
        if (!vars_)
          warnings_.push_back(path + ": ${" + var +
                              "} is plain text: policy variables need \"Version\": \"2012-10-17\"");
        else if (!IsKnownConditionKey(var))
          warnings_.push_back(path + ": the variable ${" + var +
                              "} names no key mlvault sets; it never matches");
      }
    }
    return {};
  }

  bool vars_ = false;
  std::set<std::string> sids_;
  std::vector<std::string> warnings_;
};

}  // namespace

std::string_view EffectName(Effect e) { return e == Effect::kAllow ? "Allow" : "Deny"; }

std::string_view BaseOperatorName(BaseOperator op) {
  for (const auto& n : kOperatorNames)
    if (n.op == op) return n.name;
  return "?";
}

std::string ConditionOperator::ToString() const {
  std::string out;
  if (qualifier == SetQualifier::kForAnyValue) out = "ForAnyValue:";
  if (qualifier == SetQualifier::kForAllValues) out = "ForAllValues:";
  out += BaseOperatorName(base);
  if (if_exists) out += "IfExists";
  return out;
}

std::optional<ConditionOperator> ParseConditionOperator(std::string_view text) {
  ConditionOperator op;
  if (text.starts_with("ForAnyValue:")) {
    op.qualifier = SetQualifier::kForAnyValue;
    text.remove_prefix(12);
  } else if (text.starts_with("ForAllValues:")) {
    op.qualifier = SetQualifier::kForAllValues;
    text.remove_prefix(13);
  }
  for (int pass = 0; pass < 2; ++pass) {
    for (const auto& n : kOperatorNames) {
      if (text == n.name) {
        op.base = n.op;
        return op;
      }
    }
    if (pass == 0 && text.ends_with("IfExists")) {
      text.remove_suffix(8);
      op.if_exists = true;
    } else {
      break;
    }
  }
  return std::nullopt;
}

bool IsNegated(BaseOperator op) { return Positive(op) != op; }

BaseOperator Positive(BaseOperator op) {
  switch (op) {
    case BaseOperator::kStringNotEquals:
      return BaseOperator::kStringEquals;
    case BaseOperator::kStringNotEqualsIgnoreCase:
      return BaseOperator::kStringEqualsIgnoreCase;
    case BaseOperator::kStringNotLike:
      return BaseOperator::kStringLike;
    case BaseOperator::kNumericNotEquals:
      return BaseOperator::kNumericEquals;
    case BaseOperator::kDateNotEquals:
      return BaseOperator::kDateEquals;
    case BaseOperator::kNotIpAddress:
      return BaseOperator::kIpAddress;
    case BaseOperator::kCrnNotEquals:
      return BaseOperator::kCrnEquals;
    case BaseOperator::kCrnNotLike:
      return BaseOperator::kCrnLike;
    default:
      return op;
  }
}

std::expected<ParsedPolicy, DocumentError> ParsePolicy(std::string_view text) {
  JsonLimits limits;
  limits.max_bytes = kMaxPolicyBytes;
  limits.max_depth = 16;
  auto root = ParseJson(text, limits);
  if (!root) return std::unexpected(root.error());
  return PolicyReader().Read(*root);
}

std::string_view AdministratorAccessDocument() {
  return R"({
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "AdministratorAccess",
      "Effect": "Allow",
      "Action": "*",
      "Resource": "*"
    }
  ]
}
)";
}

}  // namespace mlvault::iam
