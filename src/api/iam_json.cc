// JSON mapping of the iam service (api/json_mapping.h).
#include <cctype>

#include "api/json_mapping.h"

namespace mlvault::api {
namespace {

util::Status UserRefInto(ObjectReader& r, UserRef* out) {
  r.String("userName", &out->name).String("userCrn", &out->crn);
  if (!out->name.empty() && !out->crn.empty())
    return util::InvalidField("userCrn", "give userName or userCrn, not both");
  return util::Ok();
}

}  // namespace

// ------------------------------------------------------------------ requests

util::Status DecodeInto(const json& j, InitRequest* out) {
  ObjectReader r(j);
  r.String("accountName", &out->account_name).String("adminUserName", &out->admin_user_name);
  return r.Finish();
}
util::Status DecodeInto(const json& j, GetCallerIdentityRequest*) {
  return ObjectReader(j).Finish();
}
util::Status DecodeInto(const json& j, CreateUserRequest* out) {
  ObjectReader r(j);
  r.String("userName", &out->user_name, true);
  return r.Finish();
}
util::Status DecodeInto(const json& j, ListUsersRequest*) { return ObjectReader(j).Finish(); }
util::Status DecodeInto(const json& j, CreateAccessKeyRequest* out) {
  ObjectReader r(j);
  MLV_TRY(UserRefInto(r, &out->user));
  return r.Finish();
}
util::Status DecodeInto(const json& j, ListAccessKeysRequest* out) {
  ObjectReader r(j);
  MLV_TRY(UserRefInto(r, &out->user));
  return r.Finish();
}
util::Status DecodeInto(const json& j, DeleteAccessKeyRequest* out) {
  ObjectReader r(j);
  r.String("accessKeyId", &out->access_key_id, true);
  return r.Finish();
}
util::Status DecodeInto(const json& j, CreatePolicyRequest* out) {
  ObjectReader r(j);
  r.String("policyName", &out->policy_name, true)
      .Document("policyDocument", &out->policy_document, true)
      .String("description", &out->description);
  return r.Finish();
}
util::Status DecodeInto(const json& j, ListPoliciesRequest*) { return ObjectReader(j).Finish(); }
util::Status DecodeInto(const json& j, PolicyNameRequest* out) {
  ObjectReader r(j);
  r.String("policyName", &out->policy_name, true);
  return r.Finish();
}
util::Status DecodeInto(const json& j, AttachPolicyRequest* out) {
  ObjectReader r(j);
  MLV_TRY(UserRefInto(r, &out->user));
  r.String("policyName", &out->policy_name, true);
  MLV_TRY(r.Finish());
  if (out->user.name.empty() && out->user.crn.empty())
    return util::InvalidField("userName", "give userName or userCrn");
  return util::Ok();
}
util::Status DecodeInto(const json& j, SimulatePolicyRequest* out) {
  ObjectReader r(j);
  MLV_TRY(UserRefInto(r, &out->principal));
  r.StringList("actionNames", &out->actions, true).String("resourceCrn", &out->resource);
  r.String("sourceIp", &out->source_ip);
  if (const json* docs = r.Member("policyDocuments")) {
    if (!docs->is_array()) {
      r.Fail(util::InvalidField("policyDocuments", "must be an array of documents").error());
    } else {
      for (size_t i = 0; i < docs->size(); ++i) {
        const json& d = (*docs)[i];
        if (d.is_string()) out->policy_documents.push_back(d.get<std::string>());
        else if (d.is_object()) out->policy_documents.push_back(d.dump());
        else
          r.Fail(util::InvalidField("policyDocuments[" + std::to_string(i) + "]",
                                    "must be a JSON document (an object, or its text)")
                     .error());
      }
    }
  }
  // {"ml:EnvironmentName": ["prod"], ...}
  if (const json* ctx = r.Member("context")) {
    if (!ctx->is_object()) {
      r.Fail(util::InvalidField("context", "must be an object of condition key -> [values]")
                 .error());
    } else {
      for (auto it = ctx->begin(); it != ctx->end(); ++it) {
        std::vector<std::string> values;
        std::string path = "context." + it.key();
        if (it->is_string()) {
          values.push_back(it->get<std::string>());
        } else if (it->is_array()) {
          for (const auto& v : *it)
            if (v.is_string()) values.push_back(v.get<std::string>());
            else r.Fail(util::InvalidField(path, "values must be strings").error());
        } else {
          r.Fail(util::InvalidField(path, "must be a string or an array of strings").error());
        }
        out->context.emplace_back(it.key(), std::move(values));
      }
    }
  }
  if (out->resource.empty()) out->resource = "*";
  return r.Finish();
}
util::Status DecodeInto(const json& j, EntitlementRequest* out) {
  ObjectReader r(j);
  r.String("entitlementName", &out->entitlement_name, true);
  return r.Finish();
}
util::Status DecodeInto(const json& j, ListEntitlementsRequest*) {
  return ObjectReader(j).Finish();
}
util::Status DecodeInto(const json& j, ListAuditEventsRequest* out, util::TimeMicros now) {
  ObjectReader r(j);
  std::string since;
  r.String("principal", &out->principal)
      .String("action", &out->action)
      .String("since", &since)
      .String("outcome", &out->outcome)
      .Int("maxItems", &out->max_items);
  MLV_TRY(r.Finish());
  if (!since.empty()) out->since = MLV_TRY(ParseSince(since, now));
  return util::Ok();
}

util::Result<util::TimeMicros> ParseSince(std::string_view s, util::TimeMicros now) {
  if (s.size() >= 2 && std::isdigit(static_cast<unsigned char>(s[0]))) {
    char unit = s.back();
    std::string num(s.substr(0, s.size() - 1));
    bool digits =
        !num.empty() && num.size() < 10 && num.find_first_not_of("0123456789") == std::string::npos;
    int64_t per = unit == 's' ? 1 : unit == 'm' ? 60 : unit == 'h' ? 3600 : unit == 'd' ? 86400 : 0;
    if (digits && per) return now - std::stoll(num) * per * 1'000'000;
  }
  std::string text(s);
  if (auto t = util::ParseTime(text)) return *t;
  if (s.size() == 10)
    if (auto t = util::ParseTime(text + "T00:00:00Z")) return *t;
  return util::InvalidField("since", "'" + text +
                                         "' is not a time (2026-01-26T03:22:10Z, 2026-01-26) or "
                                         "an age (30m, 2h, 7d)");
}

// ------------------------------------------------------------------ responses

json Encode(const User& u) {
  return {{"userName", u.user_name},
          {"userCrn", u.user_crn},
          {"createdAt", u.created_at},
          {"attachedPolicies", u.attached_policies},
          {"activeAccessKeys", u.active_access_keys}};
}
json Encode(const AccessKey& k) {
  json j = {{"accessKeyId", k.access_key_id},
            {"userName", k.user_name},
            {"userCrn", k.user_crn},
            {"status", k.status},
            {"createdAt", k.created_at}};
  if (!k.private_key.empty()) j["privateKey"] = k.private_key;
  if (!k.deleted_at.empty()) j["deletedAt"] = k.deleted_at;
  return j;
}
json Encode(const Policy& p) {
  json j = {{"policyName", p.policy_name},  {"policyCrn", p.policy_crn},
            {"description", p.description}, {"createdAt", p.created_at},
            {"createdBy", p.created_by},    {"attachedTo", p.attached_to}};
  if (!p.document.empty()) {
    json doc = json::parse(p.document, nullptr, false);
    j["policyDocument"] = doc.is_discarded() ? json(p.document) : doc;
  }
  return j;
}
json Encode(const Entitlement& e) {
  json j = {{"entitlementName", e.name}, {"description", e.description}, {"granted", e.granted}};
  if (e.granted) {
    j["grantedAt"] = e.granted_at;
    j["grantedBy"] = e.granted_by;
  }
  return j;
}
json Encode(const Statement& s) {
  return {{"policyName", s.policy_name},
          {"statementIndex", s.statement_index},
          {"sid", s.sid},
          {"effect", s.effect}};
}
json Encode(const AuditEvent& e) {
  json j = {{"eventId", e.event_id},
            {"time", util::FormatTime(e.time)},
            {"principalCrn", e.principal_crn},
            {"principalName", e.principal_name},
            {"action", e.action},
            {"resource", e.resource},
            {"outcome", e.outcome},
            {"source", e.source},
            {"sourceIp", e.source_ip}};
  if (!e.error_code.empty()) j["errorCode"] = e.error_code;
  if (!e.detail.empty()) j["detail"] = e.detail;
  return j;
}
json Encode(const InitResponse& r) {
  json out = {{"created", r.created},
              {"account",
               {{"accountId", r.account_id}, {"accountName", r.account_name}, {"region", r.region}}},
              {"administrator", {{"userName", r.admin_user_name}, {"userCrn", r.admin_user_crn}}},
              {"credentialsFile", r.credentials_file}};
  if (r.created) {
    out["accessKeyId"] = r.access_key_id;
    out["nextSteps"] = {"mlvault grant-entitlement --entitlement-name ML_ENABLE_BACKUP_RESTORE"};
  }
  if (r.caller) out["caller"] = {{"userName", r.caller->user_name}, {"userCrn", r.caller->user_crn}};
  return out;
}
json Encode(const GetCallerIdentityResponse& r) {
  return {{"accountId", r.account_id}, {"userName", r.user_name}, {"userCrn", r.user_crn}};
}
json Encode(const UserResponse& r) { return {{"user", Encode(r.user)}}; }
json Encode(const ListUsersResponse& r) {
  json a = json::array();
  for (const auto& u : r.users) a.push_back(Encode(u));
  return {{"users", a}};
}
json Encode(const AccessKeyResponse& r) { return {{"accessKey", Encode(r.access_key)}}; }
json Encode(const ListAccessKeysResponse& r) {
  json a = json::array();
  for (const auto& k : r.access_keys) a.push_back(Encode(k));
  return {{"accessKeys", a}};
}
json Encode(const CreatePolicyResponse& r) {
  return {{"policy", Encode(r.policy)}, {"warnings", r.policy.warnings}};
}
json Encode(const PolicyResponse& r) { return {{"policy", Encode(r.policy)}}; }
json Encode(const ListPoliciesResponse& r) {
  json a = json::array();
  for (const auto& p : r.policies) a.push_back(Encode(p));
  return {{"policies", a}};
}
json Encode(const Simulation& sim) {
  json results = json::array();
  for (const auto& r : sim.results) {
    json j = {{"actionName", r.action},
              {"resourceCrn", r.resource},
              {"decision", r.decision},
              {"allowed", r.allowed},
              {"explanation", r.explanation}};
    j["decidingStatement"] = r.deciding_statement ? Encode(*r.deciding_statement) : json(nullptr);
    json matched = json::array();
    for (const auto& m : r.matched_statements) matched.push_back(Encode(m));
    j["matchedStatements"] = matched;
    if (!r.required_entitlement.empty()) {
      j["requiredEntitlement"] = r.required_entitlement;
      j["entitlementHeld"] = r.entitlement_held;
    }
    results.push_back(j);
  }
  json out = {{"evaluatedPolicies", sim.evaluated_policies}, {"evaluationResults", results}};
  if (!sim.principal_crn.empty()) {
    out["principalCrn"] = sim.principal_crn;
    out["principalName"] = sim.principal_name;
  }
  return out;
}
json Encode(const EntitlementResponse& r) { return {{"entitlement", Encode(r.entitlement)}}; }
json Encode(const ListEntitlementsResponse& r) {
  json a = json::array();
  for (const auto& e : r.entitlements) a.push_back(Encode(e));
  return {{"entitlements", a}};
}
json Encode(const ListAuditEventsResponse& r) {
  json a = json::array();
  for (const auto& e : r.audit_events) a.push_back(Encode(e));
  return {{"auditEvents", a}};
}

}  // namespace mlvault::api
