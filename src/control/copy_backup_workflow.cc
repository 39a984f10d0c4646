// The copy_backup workflow (copy-backup, docs/plans.md): every recovery point of a backup, read
// through the vault that holds it, written through the destination copy vault's ordinary backup
// path (so it is deduplicated there and encrypted with that vault's key).
//
// Each volume is restored into a staging folder under `<home>/tmp` and backed up from there into
// the copy vault, one volume at a time (the staging folder holds at most one volume).
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "catalog/backup_copy_store.h"
#include "control/backup_copies.h"
#include "control/handlers_internal.h"
#include "control/inventory.h"
#include "control/ops_internal.h"
#include "util/files.h"
#include "util/log.h"
#include "util/progress.h"

namespace mlvault::control {

namespace {

std::string StagingDir(const std::string& home, const std::string& copy_id) {
  return home + "/tmp/copy-" + copy_id;
}

class CopyBackupHandler : public WorkflowHandler {
 public:
  explicit CopyBackupHandler(const HandlerEnv& env) : env_(env) {}

  util::Result<std::string> Run(WorkflowContext& ctx) override {
    const WorkflowRecord& wf = ctx.workflow();
    BackupStore bs(ctx.db());
    BackupRecord b = MLV_TRY(bs.Get(wf.account_id, InputString(wf, "backupId")));
    auto copy = MLV_TRY(catalog::BackupCopyStore(ctx.db()).Get(b.id));
    if (!copy) return util::Internal("backup " + b.crn + " has no copy record");
    BackupRecord src = MLV_TRY(bs.Get(wf.account_id, copy->source_backup_id));
    if (src.status != catalog::BackupStatus::kSucceeded)
      return util::Conflict("the source backup " + src.crn + " is " +
                            catalog::BackupStatusName(src.status) +
                            "; only a succeeded backup can be copied");
    auto points = MLV_TRY(bs.RecoveryPoints(src.id));

    vault::Options vopt;
    vopt.lock_wait_seconds = 600;  // a GC of either vault may be running; wait for it
    ctx.SetPhase("opening the vaults");
    auto from = MLV_TRY_CTX(OpenBackupVault(ctx.db(), env_.home, src, vopt),
                            "opening the vault of the source backup");
    auto to = MLV_TRY_CTX(
        OpenCopyVault(ctx.db(), env_.home, b.vault_name, copy->vault_location, true, vopt),
        "opening the copy vault in environment " + copy->environment_name);
    if (wf.attempts > 1)
      for (const auto& w : DropLeftovers(*to, b.id)) ctx.Warn(w);

    const std::string staging = StagingDir(env_.home, b.id);
    std::vector<std::string> created;
    auto fail = [&](util::Error e) -> util::Result<std::string> {
      for (const auto& id : created) (void)to->Delete(id);
      (void)util::RemoveAll(staging);
      return std::unexpected(std::move(e));
    };
    (void)util::RemoveAll(staging);  // an interrupted attempt's
    if (auto st = util::MakeDirs(staging, 0700); !st) return fail(st.error());

    catalog::BackupOutcome o;
    o.status = catalog::BackupStatus::kSucceeded;
    o.workspace_version = src.workspace_version;
    util::PartsProgress parts(ctx.progress());
    double t0 = util::MonotonicSeconds();
    for (const auto& rp : points) {
      if (ctx.cancel()->cancelled()) return fail(CancelledStatus(ctx.cancel()).error());
      auto kind = vault::ParseVolumeKind(rp.kind);
      if (!kind) return fail(kind.error());
      const std::string target =
          staging + "/" + rp.volume + (*kind == vault::VolumeKind::kBlock ? ".img" : "");
      ctx.SetPhase("copying volume " + rp.volume + " (reading)");
      parts.BeginPart("volume " + rp.volume + " (reading)");
      vault::RestoreOptions ro;
      ro.restore_ownership = ::geteuid() == 0;
      auto restored = from->Restore(rp.vault_point_id, target, ro, &parts, ctx.cancel());
      if (!restored)
        return fail(restored.error().WithContext("reading volume " + rp.volume +
                                                 " from the source backup"));
      parts.EndPart(0, 0);
      ctx.SetPhase("copying volume " + rp.volume + " (writing)");
      parts.BeginPart("volume " + rp.volume + " (writing)");
      vault::BackupRequest req;
      req.kind = *kind;
      req.source = target;
      req.labels = {{"workspace", b.workspace_crn},
                    {"volume", rp.volume},
                    {"backup", b.id},
                    {"copyOf", src.id}};
      auto written = to->Backup(req, &parts, ctx.cancel());
      if (!written)
        return fail(
            written.error().WithContext("writing volume " + rp.volume + " into the copy vault"));
      created.push_back(written->id);
      parts.EndPart(written->stats.bytes_total, written->stats.files);
      for (const auto& w : written->warnings) ctx.Warn("volume " + rp.volume + ": " + w);
      (void)util::RemoveAll(target);

      catalog::RecoveryPointRecord out;
      out.volume = rp.volume;
      out.kind = rp.kind;
      out.vault_point_id = written->id;
      out.source_path = rp.source_path;
      out.bytes_total = static_cast<int64_t>(written->stats.bytes_total);
      out.files = static_cast<int64_t>(written->stats.files);
      out.dirs = static_cast<int64_t>(written->stats.dirs);
      out.bytes_read = static_cast<int64_t>(written->stats.bytes_read);
      out.bytes_new = static_cast<int64_t>(written->stats.bytes_new);
      out.bytes_stored = static_cast<int64_t>(written->stats.bytes_stored);
      out.files_unchanged = static_cast<int64_t>(written->stats.files_unchanged);
      out.duration_micros = static_cast<int64_t>(written->stats.duration_seconds * 1e6);
      out.created_at = ctx.clock().Now();
      o.bytes_total += out.bytes_total;
      o.files_total += out.files;
      o.bytes_stored += out.bytes_stored;
      o.recovery_points.push_back(std::move(out));
    }
    (void)util::RemoveAll(staging);
    o.details = json{
        {"copyOf", src.crn},
        {"vault", {{"name", b.vault_name}, {"id", to->id()}}},
        {"destination",
         {{"environmentName", copy->environment_name}, {"vaultLocation", copy->vault_location}}},
        {"copySeconds",
         util::MonotonicSeconds() -
             t0}}.dump();
    json result = {{"backupCrn", b.crn},
                   {"sourceBackupCrn", src.crn},
                   {"bytesTotal", o.bytes_total},
                   {"bytesStored", o.bytes_stored}};
    outcome_ = std::move(o);
    ctx.SetPhase("done");
    return result.dump();
  }

  util::Status OnStatus(catalog::Db& db, const WorkflowRecord& wf, catalog::WorkflowStatus status,
                        const util::Error* error, const std::string& warnings,
                        util::TimeMicros now) override {
    return MirrorBackupStatus(db, wf, status, error, warnings, now,
                              outcome_ ? &*outcome_ : nullptr);
  }

  std::vector<std::string> Compensate(catalog::Db&, const WorkflowRecord& wf) override {
    std::vector<std::string> out;
    const std::string staging = StagingDir(env_.home, InputString(wf, "backupId"));
    struct stat st;
    if (::stat(staging.c_str(), &st) == 0) {
      if (auto r = util::RemoveAll(staging); r)
        out.push_back("removed the staging folder " + staging + " the interrupted copy left");
      else
        out.push_back("could not remove the staging folder " + staging + ": " +
                      r.error().message());
    }
    return out;
  }

  void AfterEnd(catalog::Db& db, const WorkflowRecord& wf) override {
    auto b = BackupStore(db).Get(wf.account_id, InputString(wf, "backupId"));
    AuditEnd(env_, wf, "ml:CopyBackup", b ? b->crn : wf.resource_crn);
    // What the copy holds, so that searches find it too (best effort, as for a backup).
    if (b && b->status == catalog::BackupStatus::kSucceeded)
      if (auto inv = EnsureInventory(db, env_.home, *b, env_.clock->Now()); !inv)
        util::Log(util::LogLevel::kWarn, "the contents of backup copy {} were not recorded: {}",
                  b->crn, inv.error().message());
  }

 private:
  const HandlerEnv& env_;
  std::optional<catalog::BackupOutcome> outcome_;
};

}  // namespace

std::unique_ptr<WorkflowHandler> MakeCopyBackupHandler(const HandlerEnv& env) {
  return std::make_unique<CopyBackupHandler>(env);
}

}  // namespace mlvault::control
