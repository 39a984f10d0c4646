// The JSON mapping of every request and response of api/ml_types.h and api/iam_types.h, in one
// place: camelCase keys, the shapes SPEC.md section 2 documents (a request is the verb's
// --cli-input-json document; a response is exactly what the CLI prints).
//
// Decoding is strict: a missing required field, a value of the wrong type or an unknown field is
// kInvalidArgument whose Error::field() is the field's path ("backupCrn",
// "context.ml:EnvironmentName[0]") and whose message begins with it. A null or absent body is an
// empty object.
//
// This header pulls in nlohmann/json: include it only from .cc files of api/, control/ and cli/.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "api/iam_types.h"
#include "api/ml_types.h"
#include "util/error.h"

namespace mlvault::api {

using nlohmann::json;

// Reads the members of one JSON object into typed fields, remembering the first error.
// Usage: ObjectReader r(j); r.String("backupCrn", &out.backup_crn, true); return r.Finish();
class ObjectReader {
 public:
  // `path`: the object's own path ("" for the body), put before each member's name.
  explicit ObjectReader(const json& j, std::string path = "");

  ObjectReader& String(std::string_view key, std::string* out, bool required = false);
  ObjectReader& Bool(std::string_view key, bool* out);
  ObjectReader& Int(std::string_view key, int64_t* out);
  ObjectReader& OptionalInt(std::string_view key, std::optional<int64_t>* out);
  ObjectReader& StringList(std::string_view key, std::vector<std::string>* out,
                           bool required = false);
  // A string, or (for documents) any JSON object/array taken as its compact text.
  ObjectReader& Document(std::string_view key, std::string* out, bool required = false);
  // The value of `key` itself, for a caller that reads it further (null if absent).
  const json* Member(std::string_view key);
  std::string PathOf(std::string_view key) const;
  // Records `error` unless an earlier one is kept.
  void Fail(util::Error error);

  // OK, or the first error; an unknown member is an error ("<path>: unknown field").
  util::Status Finish();

 private:
  const json* Find(std::string_view key);

  const json& j_;
  std::string path_;
  std::vector<std::string> seen_;
  std::optional<util::Error> error_;
};

// Request decoders (one per request type).
util::Status DecodeInto(const json& j, CreateEnvironmentRequest* out);
util::Status DecodeInto(const json& j, ListEnvironmentsRequest* out);
util::Status DecodeInto(const json& j, CreateWorkspaceRequest* out);
util::Status DecodeInto(const json& j, ListWorkspacesRequest* out);
util::Status DecodeInto(const json& j, DescribeWorkspaceRequest* out);
util::Status DecodeInto(const json& j, DeleteWorkspaceRequest* out);
util::Status DecodeInto(const json& j, GetWorkspaceApiKeyRequest* out);
util::Status DecodeInto(const json& j, BackupWorkspaceRequest* out);
util::Status DecodeInto(const json& j, ListWorkspaceBackupsRequest* out);
util::Status DecodeInto(const json& j, DescribeWorkspaceBackupRequest* out);
util::Status DecodeInto(const json& j, DeleteBackupRequest* out);
util::Status DecodeInto(const json& j, CancelBackupRequest* out);
util::Status DecodeInto(const json& j, VerifyBackupRequest* out);
util::Status DecodeInto(const json& j, RestoreWorkspaceRequest* out);
util::Status DecodeInto(const json& j, DescribeWorkflowRequest* out);
util::Status DecodeInto(const json& j, InitRequest* out);
util::Status DecodeInto(const json& j, GetCallerIdentityRequest* out);
util::Status DecodeInto(const json& j, CreateUserRequest* out);
util::Status DecodeInto(const json& j, ListUsersRequest* out);
util::Status DecodeInto(const json& j, CreateAccessKeyRequest* out);
util::Status DecodeInto(const json& j, ListAccessKeysRequest* out);
util::Status DecodeInto(const json& j, DeleteAccessKeyRequest* out);
util::Status DecodeInto(const json& j, CreatePolicyRequest* out);
util::Status DecodeInto(const json& j, ListPoliciesRequest* out);
util::Status DecodeInto(const json& j, PolicyNameRequest* out);
util::Status DecodeInto(const json& j, AttachPolicyRequest* out);
util::Status DecodeInto(const json& j, SimulatePolicyRequest* out);
util::Status DecodeInto(const json& j, EntitlementRequest* out);
util::Status DecodeInto(const json& j, ListEntitlementsRequest* out);
// backup contents (issue 16)
util::Status DecodeInto(const json& j, DescribeBackupContentsRequest* out);
util::Status DecodeInto(const json& j, DiffBackupsRequest* out);
util::Status DecodeInto(const json& j, SearchBackupsRequest* out);
util::Status DecodeInto(const json& j, RestoreFilesRequest* out);
util::Status DecodeInto(const json& j, RestoreWorkspaceItemsRequest* out);
util::Status DecodeInto(const json& j, StopWorkspaceRequest* out);
util::Status DecodeInto(const json& j, ResumeWorkspaceRequest* out);  // issue 16
util::Status DecodeInto(const json& j, StartWorkspaceRequest* out);
// `now` resolves an age given as "since" ("2h").
util::Status DecodeInto(const json& j, ListAuditEventsRequest* out, util::TimeMicros now);

// Decodes a request body; T is any *Request type above.
template <class T, class... Extra>
util::Result<T> Decode(const json& body, Extra... extra) {
  T out;
  MLV_TRY(DecodeInto(body, &out, extra...));
  return out;
}

// ------------------------------------------------------------------ ml and environments
json Encode(const CreateEnvironmentResponse& r);
json Encode(const ListEnvironmentsResponse& r);
json Encode(const CreateWorkspaceResponse& r);
json Encode(const ListWorkspacesResponse& r);
json Encode(const DescribeWorkspaceResponse& r);
json Encode(const DeleteWorkspaceResponse& r);
json Encode(const GetWorkspaceApiKeyResponse& r);
json Encode(const BackupWorkspaceResponse& r);
json Encode(const ListWorkspaceBackupsResponse& r);
json Encode(const DescribeWorkspaceBackupResponse& r);
json Encode(const DeleteBackupResponse& r);
json Encode(const CancelBackupResponse& r);
json Encode(const VerifyBackupResponse& r);
json Encode(const RestoreWorkspaceResponse& r);
json Encode(const DescribeWorkflowResponse& r);
json Encode(const Workflow& w);
json Encode(const Progress& p);
// backup contents (issue 16)
json Encode(const DescribeBackupContentsResponse& r);
json Encode(const DiffBackupsResponse& r);
json Encode(const SearchBackupsResponse& r);
json Encode(const RestoreFilesResponse& r);
json Encode(const RestoreWorkspaceItemsResponse& r);
json Encode(const WorkspaceLifecycleResponse& r);
json Encode(const ResumeWorkspaceResponse& r);  // issue 16

// ------------------------------------------------------------------ iam
json Encode(const User& u);
json Encode(const AccessKey& k);
json Encode(const Policy& p);
json Encode(const Entitlement& e);
json Encode(const Statement& s);
json Encode(const AuditEvent& e);
json Encode(const InitResponse& r);
json Encode(const GetCallerIdentityResponse& r);
json Encode(const UserResponse& r);
json Encode(const ListUsersResponse& r);
json Encode(const AccessKeyResponse& r);
json Encode(const ListAccessKeysResponse& r);
json Encode(const CreatePolicyResponse& r);
json Encode(const PolicyResponse& r);
json Encode(const ListPoliciesResponse& r);
json Encode(const Simulation& r);
json Encode(const EntitlementResponse& r);
json Encode(const ListEntitlementsResponse& r);
json Encode(const ListAuditEventsResponse& r);

// "30m", "2h", "7d" (an age before `now`), or an RFC 3339 time, or a date (YYYY-MM-DD).
util::Result<util::TimeMicros> ParseSince(std::string_view text, util::TimeMicros now);

}  // namespace mlvault::api
