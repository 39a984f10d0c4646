// Role sessions (assume-role, docs/plans.md "Roles"): short-lived credentials with which a user
// that a role's trust policy names acts as the role. A session is an Ed25519 key pair like an
// access key (id "MLVS" + 16 base-32 characters; the catalog keeps the public key), valid until
// it expires (15 minutes to 12 hours, default 1 hour). Requests signed with it (server) or run
// with it (embedded, MLVAULT_ACCESS_KEY_ID / MLVAULT_PRIVATE_KEY or a profile) are authorised as
// the role -- its attached policies -- and audited as "<role>/<session> (assumed by <user>)"
// with the role's CRN. Table iam_role_sessions (migration "0305_role_sessions", applied with the
// plan migrations).
//
// Free functions over a Db (not thread-safe, like the Db).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "catalog/db.h"
#include "control/authorizer.h"
#include "control/identity.h"
#include "util/clock.h"
#include "util/error.h"

namespace mlvault::control {

inline constexpr std::string_view kRoleSessionKeyPrefix = "MLVS";

// True if `access_key_id` has the form of a session key (it may still be unknown).
bool IsRoleSessionKeyId(std::string_view access_key_id);

// Embedded authentication of a session key: the Caller acting as the role. nullopt when the id
// is no session's; kPermissionDenied when it expired, its role was deleted or the private key
// is wrong (the message says which and what to do, never the key).
util::Result<std::optional<Caller>> AuthenticateRoleSession(catalog::Db& db,
                                                            std::string_view access_key_id,
                                                            std::string_view private_key,
                                                            util::TimeMicros now);

// A session key as a server sees it (to verify a signature): status "active", or "expired"
// with deleted_at the expiry time (also when its role was deleted). nullopt for an unknown id.
util::Result<std::optional<KeyOwner>> FindRoleSessionKeyOwner(catalog::Db& db,
                                                              std::string_view access_key_id,
                                                              util::TimeMicros now);

}  // namespace mlvault::control
