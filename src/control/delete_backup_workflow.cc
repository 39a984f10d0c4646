// The delete_backup workflow: remove a backup's recovery points and reclaim space in its vault.
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>

#include "catalog/inventory_store.h"
#include "control/backup_copies.h"
#include "control/handlers_internal.h"
#include "control/ops_internal.h"
#include "control/vaults.h"

namespace mlvault::control {

namespace {

// A retention expiry says which plan and rule expired the backup (docs/plans.md).
std::string ExpiredBy(const WorkflowRecord& wf) {
  json in = json::parse(wf.input, nullptr, false);
  return in.is_object() && in.contains("expiredBy") && in["expiredBy"].is_string()
             ? in["expiredBy"].get<std::string>()
             : std::string();
}
json WithExpiry(const WorkflowRecord& wf, json out) {
  if (std::string by = ExpiredBy(wf); !by.empty()) out["expiredBy"] = by;
  return out;
}

// ============================================================================ delete backup

class DeleteBackupHandler : public WorkflowHandler {
 public:
  explicit DeleteBackupHandler(const HandlerEnv& env) : env_(env) {}

  util::Result<std::string> Run(WorkflowContext& ctx) override {
    const WorkflowRecord& wf = ctx.workflow();
    BackupStore bs(ctx.db());
    BackupRecord b = MLV_TRY(bs.Get(wf.account_id, InputString(wf, "backupId")));
    auto points = MLV_TRY(bs.RecoveryPoints(b.id));
    vault::Options vopt;
    vopt.lock_wait_seconds = 5;  // short: a running backup is waited for below, cancellably
    auto v = OpenBackupVault(ctx.db(), env_.home, b, vopt);
    if (!v) {
      if (v.error().code() != util::ErrorCode::kNotFound || !points.empty())
        return std::unexpected(v.error());
      ctx.Warn("the workspace's vault does not exist; there was nothing to remove");
      return WithExpiry(wf, json{{"backupCrn", b.crn}}).dump();
    }
    ctx.SetPhase("removing recovery points");
    for (const auto& rp : points) {
      auto d = (*v)->Delete(rp.vault_point_id);
      if (!d && d.error().code() != util::ErrorCode::kNotFound)
        return std::unexpected(
            d.error().WithContext("removing the recovery point of volume " + rp.volume));
    }
    for (const auto& w : DropLeftovers(**v, b.id)) ctx.Warn(w);

    ctx.SetPhase("reclaiming space");
    double waited_since = util::MonotonicSeconds();
    for (;;) {
      if (ctx.cancel()->cancelled()) return CancelledStatus(ctx.cancel());
      auto g = (*v)->Gc(ctx.progress(), ctx.cancel());
      if (g) {
        json gc = {{"packsRemoved", g->packs_removed},
                   {"packsRepacked", g->packs_repacked},
                   {"chunksRemoved", g->chunks_removed},
                   {"bytesFreed", g->bytes_freed},
                   {"leftoversRemoved", g->leftovers_removed},
                   {"packsRetained", g->packs_retained},
                   {"pointsRetained", g->points_retained}};
        // S3 Object Lock keeps some objects until their retention ends (a later GC frees them).
        for (const auto& note : g->notes) ctx.Warn("left in the vault: " + note);
        return WithExpiry(wf, json{{"backupCrn", b.crn}, {"gc", gc}}).dump();
      }
      if (g.error().code() != util::ErrorCode::kConflict)
        return std::unexpected(g.error().WithContext("vault GC"));
      // Another backup of this workspace holds the vault: its data is safe from us; wait for it.
      if (util::MonotonicSeconds() - waited_since > kMaxGcWaitSeconds) {
        ctx.Warn(
            "the recovery points were removed, but reclaiming their space was deferred: the vault "
            "stayed busy for " +
            std::to_string(static_cast<int>(kMaxGcWaitSeconds)) + " s (" + g.error().message() +
            "); the next delete reclaims it");
        return WithExpiry(wf, json{{"backupCrn", b.crn}, {"gc", nullptr}}).dump();
      }
      ctx.SetPhase("reclaiming space (waiting for a running backup)");
      SleepOrCancel(0.5, ctx.cancel());
    }
  }

  util::Status OnStatus(catalog::Db& db, const WorkflowRecord& wf, catalog::WorkflowStatus status,
                        const util::Error* error, const std::string&,
                        util::TimeMicros now) override {
    BackupStore bs(db);
    std::string id = InputString(wf, "backupId");
    using catalog::WorkflowStatus;
    if (status == WorkflowStatus::kSucceeded) {
      MLV_TRY(catalog::InventoryStore(db).Remove(id));  // its contents are no longer searchable
      return bs.MarkDeleted(id, now);
    }
    if (status == WorkflowStatus::kFailed || status == WorkflowStatus::kCancelled)
      return bs.MarkDeleteFailed(id, "deletion " +
                                         std::string(catalog::WorkflowStatusName(status)) + ": " +
                                         (error ? error->message() : std::string("?")) +
                                         "; run delete-backup again to finish it");
    return util::Ok();
  }

  std::vector<std::string> Compensate(catalog::Db&, const WorkflowRecord&) override { return {}; }

  void AfterEnd(catalog::Db& db, const WorkflowRecord& wf) override {
    (void)db;
    std::string by = ExpiredBy(wf);
    AuditEnd(env_, wf, "ml:DeleteBackup", wf.resource_crn, by.empty() ? "" : "expired by " + by);
  }

 private:
  static constexpr double kMaxGcWaitSeconds = 30 * 60;
  const HandlerEnv& env_;
};

}  // namespace

std::unique_ptr<WorkflowHandler> MakeDeleteBackupHandler(const HandlerEnv& env) {
  return std::make_unique<DeleteBackupHandler>(env);
}

}  // namespace mlvault::control
