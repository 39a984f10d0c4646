// Legal holds and vault locks: putLegalHold, releaseLegalHold, listLegalHolds, putVaultLock,
// describeVaultLock, deleteVaultLock, and the check every deletion passes (CheckDeletable).
// docs/plans.md describes them.
#include "catalog/plan_stores.h"
#include "control/object_lock.h"
#include "control/operations.h"
#include "control/plan_internal.h"
#include "control/resource_authz.h"
#include "control/responses.h"
#include "util/random.h"

namespace mlvault::control {

using catalog::LegalHoldRecord;
using catalog::LegalHoldStore;
using catalog::VaultLockRecord;
using catalog::VaultLockStore;

namespace {

constexpr int64_t kMicrosPerDay = 86'400'000'000;
constexpr int64_t kMaxDays = 36500;
constexpr int64_t kMinChangeableDays = 3;

api::LegalHold HoldOf(const LegalHoldRecord& h) {
  api::LegalHold out{h.backup_crn, h.reason, h.created_by, Time(h.created_at), {}, {}};
  if (h.released_at) out.released_at = Time(*h.released_at);
  out.released_by = h.released_by;
  return out;
}

api::VaultLock LockOf(const VaultLockRecord& l) {
  api::VaultLock out;
  out.workspace_crn = l.workspace_crn;
  out.mode = l.mode;
  out.min_retention_days = l.min_retention_days;
  out.max_retention_days = l.max_retention_days;
  if (l.changeable_until) out.changeable_until = Time(*l.changeable_until);
  out.created_by = l.created_by;
  out.created_at = Time(l.created_at);
  out.updated_at = Time(l.updated_at);
  return out;
}

// A compliance lock past its changeable period can be changed or removed by nobody.
util::Status CheckChangeable(const VaultLockRecord& l, util::TimeMicros now) {
  if (l.mode == "compliance" && l.changeable_until && now >= *l.changeable_until)
    return util::Conflict("the vault lock of workspace " + l.workspace_crn +
                          " is in compliance mode and became immutable at " +
                          Time(*l.changeable_until) +
                          ": nobody, administrators included, can change or remove it");
  return util::Ok();
}

}  // namespace

util::Status Operations::CheckDeletable(const catalog::BackupRecord& b,
                                        const AuthzRequest& delete_request) {
  if (auto hold = MLV_TRY(LegalHoldStore(*env_.db).Active(b.id)))
    return util::Conflict("backup " + b.crn + " is under a legal hold (" + hold->reason +
                          "); release it first with: mlvault release-legal-hold --backup-crn " +
                          b.crn);
  auto lock = MLV_TRY(VaultLockStore(*env_.db).Get(b.workspace_id));
  if (!lock) return util::Ok();
  util::TimeMicros now = env_.clock->Now();
  auto keeps = LockKeeps(*lock, b, now);
  if (!keeps) return util::Ok();
  if (lock->mode == "compliance")
    return util::Conflict("backup " + b.crn + " cannot be deleted by anyone, administrators "
                          "included: the " + *keeps);
  // Governance: only with the bypass permission (authorised, and so audited when denied).
  AuthzRequest bypass = delete_request;
  bypass.action = "ml:BypassVaultLock";
  bypass.needs_backup_entitlement = true;
  util::Status st = Authorize(bypass);
  if (!st)
    return util::PermissionDenied("backup " + b.crn + " is kept by a " + *keeps +
                                  "; deleting it earlier needs the ml:BypassVaultLock permission (" +
                                  st.error().message() + ")");
  return util::Ok();
}

// ------------------------------------------------------------------------------ legal holds

util::Result<api::LegalHoldResponse> Operations::PutLegalHold(const api::PutLegalHoldRequest& r) {
  auto t = MLV_TRY(LoadBackupTarget(*env_.db, env_.caller.account_id, "ml:PutLegalHold",
                                    "backupCrn", r.backup_crn));
  if (r.reason.empty() || r.reason.size() > 1024)
    return util::InvalidField("reason", "give the reason for the hold (1 to 1024 characters)");
  MLV_TRY(Authorize(t.request));
  if (!t.found()) return util::NotFound("backup " + r.backup_crn + " does not exist");
  LegalHoldRecord h;
  util::Status st = [&]() -> util::Status {
    if (t.record->status == catalog::BackupStatus::kDeleted ||
        t.record->status == catalog::BackupStatus::kDeleting)
      return util::Conflict("backup " + r.backup_crn + " is " +
                            catalog::BackupStatusName(t.record->status) +
                            "; there is nothing to hold");
    h.id = util::NewUuid();
    h.account_id = t.record->account_id;
    h.backup_id = t.record->id;
    h.backup_crn = t.record->crn;
    h.reason = r.reason;
    h.created_by = env_.caller.principal_crn;
    h.created_at = env_.clock->Now();
    return LegalHoldStore(*env_.db).Put(h);
  }();
  Audit("ml:PutLegalHold", r.backup_crn, st, "legal hold: " + r.reason);
  MLV_TRY(st);
  return api::LegalHoldResponse{HoldOf(h)};
}

util::Result<api::LegalHoldResponse> Operations::ReleaseLegalHold(
    const api::LegalHoldRequest& r) {
  auto t = MLV_TRY(LoadBackupTarget(*env_.db, env_.caller.account_id, "ml:ReleaseLegalHold",
                                    "backupCrn", r.backup_crn));
  MLV_TRY(Authorize(t.request));
  if (!t.found()) return util::NotFound("backup " + r.backup_crn + " does not exist");
  auto released =
      LegalHoldStore(*env_.db).Release(t.record->id, env_.caller.principal_crn, env_.clock->Now());
  util::Status st = released ? util::Ok() : util::Status(std::unexpected(released.error()));
  if (!released && released.error().code() == util::ErrorCode::kNotFound)
    st = util::NotFound("backup " + r.backup_crn + " is not under a legal hold");
  Audit("ml:ReleaseLegalHold", r.backup_crn, st,
        released ? "released the hold: " + released->reason : "");
  MLV_TRY(st);
  return api::LegalHoldResponse{HoldOf(*released)};
}

util::Result<api::ListLegalHoldsResponse> Operations::ListLegalHolds(
    const api::ListLegalHoldsRequest& r) {
  // Only the holds on backups the caller may list them of, when it may not list "*"
  // (docs/iam.md).
  ListFilter visible = MLV_TRY(ListFilter::Begin(*env_.authorizer, env_.caller,
                                                 ActionRequest("ml:ListLegalHolds", "*")));
  api::ListLegalHoldsResponse out;
  for (const auto& h :
       MLV_TRY(LegalHoldStore(*env_.db).List(env_.caller.account_id, r.include_released))) {
    AuthzRequest one = visible.On(h.backup_crn);
    if (!visible.everything()) {
      auto t = MLV_TRY(LoadBackupTarget(*env_.db, env_.caller.account_id, "ml:ListLegalHolds",
                                        "backupCrn", h.backup_crn));
      one = std::move(t.request);
    }
    if (MLV_TRY(visible.Sees(one))) out.legal_holds.push_back(HoldOf(h));
  }
  MLV_TRY(visible.Finish());
  return out;
}

// ------------------------------------------------------------------------------ vault locks

util::Result<api::VaultLockResponse> Operations::PutVaultLock(const api::PutVaultLockRequest& r) {
  auto t = MLV_TRY(LoadWorkspaceTarget(*env_.db, env_.caller.account_id, "ml:PutVaultLock",
                                       "workspaceCrn", r.workspace_crn));
  if (r.mode != "governance" && r.mode != "compliance")
    return util::InvalidField("mode", "must be governance or compliance, got \"" + r.mode + "\"");
  if (!r.min_retention_days)
    return util::InvalidField("minRetentionDays", "is required (days a backup is kept at least)");
  if (*r.min_retention_days < 1 || *r.min_retention_days > kMaxDays)
    return util::InvalidField("minRetentionDays", "must be between 1 and 36500, got " +
                                                      std::to_string(*r.min_retention_days));
  if (r.max_retention_days &&
      (*r.max_retention_days < *r.min_retention_days || *r.max_retention_days > kMaxDays))
    return util::InvalidField("maxRetentionDays",
                              "must be between minRetentionDays (" +
                                  std::to_string(*r.min_retention_days) + ") and 36500, got " +
                                  std::to_string(*r.max_retention_days));
  if (r.changeable_for_days && r.mode != "compliance")
    return util::InvalidField("changeableForDays", "applies to compliance mode only");
  if (r.changeable_for_days &&
      (*r.changeable_for_days < kMinChangeableDays || *r.changeable_for_days > kMaxDays))
    return util::InvalidField("changeableForDays", "must be between 3 and 36500, got " +
                                                       std::to_string(*r.changeable_for_days));
  MLV_TRY(Authorize(t.request));
  if (!t.found()) return util::NotFound("workspace " + r.workspace_crn + " does not exist");
  util::TimeMicros now = env_.clock->Now();
  VaultLockRecord l;
  util::Status st = [&]() -> util::Status {
    auto existing = MLV_TRY(VaultLockStore(*env_.db).Get(t.record->id));
    if (existing) MLV_TRY(CheckChangeable(*existing, now));
    l.workspace_id = t.record->id;
    l.account_id = t.record->account_id;
    l.workspace_crn = t.record->crn;
    l.mode = r.mode;
    l.min_retention_days = *r.min_retention_days;
    l.max_retention_days = r.max_retention_days;
    if (r.mode == "compliance")
      l.changeable_until = now + r.changeable_for_days.value_or(kMinChangeableDays) * kMicrosPerDay;
    l.created_by = env_.caller.principal_crn;
    l.created_at = existing ? existing->created_at : now;
    l.updated_at = now;
    return VaultLockStore(*env_.db).Put(l);
  }();
  Audit("ml:PutVaultLock", r.workspace_crn, st,
        "vault lock " + r.mode + ", " + std::to_string(*r.min_retention_days) + " days minimum");
  MLV_TRY(st);
  api::VaultLockResponse out{LockOf(l), {}, {}};
  // On S3 vaults, the lock also becomes S3 Object Lock retention (control/object_lock.h).
  auto ol = MLV_TRY(RetainLockedBackups(*env_.db, env_.home, l, now));
  out.object_lock = api::ObjectLockInfo{ol.status, ol.location, static_cast<int64_t>(ol.backups),
                                        static_cast<int64_t>(ol.objects)};
  out.warnings = std::move(ol.warnings);
  return out;
}

util::Result<api::VaultLockResponse> Operations::DescribeVaultLock(
    const api::WorkspaceCrnRequest& r) {
  auto t = MLV_TRY(LoadWorkspaceTarget(*env_.db, env_.caller.account_id, "ml:DescribeVaultLock",
                                       "workspaceCrn", r.workspace_crn));
  MLV_TRY(Authorize(t.request));
  if (!t.found()) return util::NotFound("workspace " + r.workspace_crn + " does not exist");
  auto lock = MLV_TRY(VaultLockStore(*env_.db).Get(t.record->id));
  if (!lock) return util::NotFound("workspace " + r.workspace_crn + " has no vault lock");
  return api::VaultLockResponse{LockOf(*lock), {}, {}};
}

util::Result<api::DeleteVaultLockResponse> Operations::DeleteVaultLock(
    const api::WorkspaceCrnRequest& r) {
  auto t = MLV_TRY(LoadWorkspaceTarget(*env_.db, env_.caller.account_id, "ml:DeleteVaultLock",
                                       "workspaceCrn", r.workspace_crn));
  MLV_TRY(Authorize(t.request));
  if (!t.found()) return util::NotFound("workspace " + r.workspace_crn + " does not exist");
  util::Status st = [&]() -> util::Status {
    auto lock = MLV_TRY(VaultLockStore(*env_.db).Get(t.record->id));
    if (!lock) return util::NotFound("workspace " + r.workspace_crn + " has no vault lock");
    MLV_TRY(CheckChangeable(*lock, env_.clock->Now()));
    return VaultLockStore(*env_.db).Delete(t.record->id);
  }();
  Audit("ml:DeleteVaultLock", r.workspace_crn, st);
  MLV_TRY(st);
  return api::DeleteVaultLockResponse{r.workspace_crn, true};
}

}  // namespace mlvault::control
