// The IAM-backed Authorizer, and the audit log every operation writes to.
//
// Authorize(caller, request):
//   1. if request.needs_backup_entitlement and the caller's account does not hold
//      ML_ENABLE_BACKUP_RESTORE: kPermissionDenied naming the entitlement and the command an
//      administrator runs to grant it;
//   2. a resource CRN of another account than the caller's is denied;
//   3. the policies attached to the caller are evaluated (iam/evaluator.h: default deny,
//      explicit deny wins) for request.action on request.resource and on every CRN listed under
//      the context key kAlsoResourceKey (restore: the target environment) -- all must be
//      allowed. The context gets mlvault:PrincipalCrn, mlvault:UserName,
//      mlvault:PrincipalAccount, mlvault:SourceIp and mlvault:CurrentTime added.
// A denial is appended to the audit log (outcome "denied") and returned as kPermissionDenied
// with a sentence naming the user, the action, the resource and the deciding statement.
//
// The audit log (table audit_events) is append-only: SQLite triggers abort UPDATE and DELETE.
// Write audit events OUTSIDE a catalog transaction that may roll back, or the event rolls back
// with it.
//
// An IamAuthorizer uses the Db it was given; like the Db it is not thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/iam_types.h"
#include "catalog/db.h"
#include "control/authorizer.h"
#include "util/clock.h"
#include "util/error.h"

namespace mlvault::control {

// The entitlement every backup, list/describe/delete/cancel of backups and restore needs.
inline constexpr std::string_view kBackupRestoreEntitlement = "ML_ENABLE_BACKUP_RESTORE";

// AuthzRequest::context key listing further resource CRNs that request.action must also be
// allowed on. restore-workspace puts the target environment's CRN here, so a restore is
// authorised on both the backup (request.resource) and the environment.
inline constexpr std::string_view kAlsoResourceKey = "mlvault:AlsoResource";

// Returns an Authorizer over the catalog `db` (which must outlive it), reading the time for
// mlvault:CurrentTime and audit events from `clock` (which must outlive it too).
std::unique_ptr<Authorizer> MakeIamAuthorizer(catalog::Db& db, const util::Clock& clock);

// One row of the audit log (an API type: api/iam_types.h).
using AuditEvent = api::AuditEvent;

// Builds the event for `caller` doing `action` on `resource` with `outcome`: "succeeded" when
// OK, "denied" for kPermissionDenied, "failed" otherwise (detail = the error's message unless
// `detail` is given).
AuditEvent MakeAuditEvent(const Caller& caller, std::string_view action, std::string_view resource,
                          const util::Status& outcome, std::string_view detail = {});

// Appends `event` to audit_events. Returns kInternal/kUnavailable/kIo from the catalog on
// failure. Usable by any operation (e.g. a workflow recording its end).
util::Status AppendAuditEvent(catalog::Db& db, AuditEvent event, const util::Clock& clock);

// Filters of ListAuditEvents; empty/nullopt means "any".
struct AuditFilter {
  std::string account_id;  // required: events of this account only
  std::string principal;   // a user CRN or user name
  std::string action;      // exact, case-insensitive; * and ? wildcards allowed
  std::optional<util::TimeMicros> since;
  std::string outcome;  // succeeded | failed | denied
  int64_t limit = 1000;
};

// Events matching `filter`, oldest first (the newest `limit` of them).
util::Result<std::vector<AuditEvent>> ListAuditEvents(catalog::Db& db, const AuditFilter& filter);

}  // namespace mlvault::control
