// The backup workflow: a consistent backup of every volume of a workspace, from read-only
// snapshots where the storage has them (btrfs), else in two passes.
#include <algorithm>
#include <map>
#include <thread>
#include <nlohmann/json.hpp>

#include "catalog/backup_copy_store.h"
#include "control/handlers_internal.h"
#include "control/inventory.h"
#include "control/model_samples.h"
#include "control/object_lock.h"
#include "control/ops_internal.h"
#include "control/vaults.h"
#include "util/log.h"
#include "util/mutex.h"
#include "workspace/runtime_client.h"

namespace mlvault::control {

namespace {

// ============================================================================ backup

// Holds a workspace quiesced between Begin and End, renewing the runtime's lease meanwhile.
class QuiescedWindow {
 public:
  QuiescedWindow(const workspace::RuntimeClient& rc, bool active) : rc_(rc), active_(active) {}
  ~QuiescedWindow() { (void)End(); }

  util::Status Begin() {
    t0_ = util::MonotonicSeconds();
    if (!active_) return util::Ok();
    auto q = rc_.Quiesce(kLeaseSeconds);
    if (!q) return std::unexpected(q.error().WithContext("could not quiesce the workspace"));
    quiesce_call_ = util::MonotonicSeconds() - t0_;
    quiesced_ = true;
    generation_ = q->generation;  // [lease generation] issue 10 finding 7
    renewer_ = std::thread([this] { Renew(); });
    return util::Ok();
  }

  // [lease generation] issue 10 finding 7: stops renewing and checks that the lease was held
  // without a gap from Begin until now (so the pass just made is consistent). Call before End.
  util::Status VerifyHeld() {
    StopRenewer();
    if (!quiesced_) return util::Ok();
    if (!lost_.empty()) return util::Unavailable(lost_);
    return rc_.LeaseHeld(generation_);
  }

  // Resumes (if quiesced). Returns the resume error, if any; idempotent.
  util::Status End() {
    if (ended_) return util::Ok();
    ended_ = true;
    StopRenewer();
    util::Status st = util::Ok();
    double r0 = util::MonotonicSeconds();
    if (quiesced_) st = rc_.Resume();
    t1_ = util::MonotonicSeconds();
    resume_call_ = t1_ - r0;
    return st;
  }

  bool quiesced() const { return quiesced_; }
  double seconds() const { return t1_ - t0_; }
  double quiesce_call() const { return quiesce_call_; }
  double resume_call() const { return resume_call_; }

 private:
  // The renewer thread: every kLeaseSeconds / 3 until stopped, quiesces again (with mu_ held,
  // so StopRenewer waits for a renewal under way).
  void Renew() MLV_EXCLUDES(mu_) {
    util::MutexLock lock(mu_);
    for (;;) {
      auto due = std::chrono::steady_clock::now() + std::chrono::seconds(kLeaseSeconds / 3);
      while (!stop_ && cv_.WaitUntil(mu_, due)) {
      }
      if (stop_) return;
      auto r = rc_.Quiesce(kLeaseSeconds);
      if (!r)
        util::Log(util::LogLevel::kWarn, "renewing the quiesce lease failed: {}",
                  r.error().message());
      // [lease generation] Our renewal is the next grant; anything else came in between.
      else if (r->generation != generation_ + 1 && lost_.empty())
        lost_ = "the quiesce lease was granted as generation " + std::to_string(generation_) +
                " and renewed as generation " + std::to_string(r->generation) +
                ": it lapsed, or another caller resumed or quiesced the workspace meanwhile";
      if (r) generation_ = r->generation;
    }
  }

  void StopRenewer() MLV_EXCLUDES(mu_) {
    if (!renewer_.joinable()) return;
    {
      util::MutexLock lock(mu_);
      stop_ = true;
    }
    cv_.NotifyAll();
    renewer_.join();
  }

  static constexpr int kLeaseSeconds = 60;
  const workspace::RuntimeClient& rc_;
  const bool active_;
  bool quiesced_ = false;
  bool ended_ = false;
  double t0_ = 0, t1_ = 0, quiesce_call_ = 0, resume_call_ = 0;
  std::thread renewer_;
  util::Mutex mu_;
  util::CondVar cv_;  // waited on with mu_: stop_ set
  bool stop_ MLV_GUARDED_BY(mu_) = false;
  uint64_t generation_ = 0;  // [lease generation] the last grant's; renewer thread until joined
  std::string lost_;         // [lease generation] why the lease was not held throughout
};

struct PassStats {
  double seconds = 0;
  uint64_t bytes_read = 0, bytes_new = 0, files_unchanged = 0, files = 0, bytes_total = 0;
  json ToJson() const {
    return {{"durationSeconds", seconds},
            {"bytesRead", bytes_read},
            {"bytesNew", bytes_new},
            {"filesUnchanged", files_unchanged},
            {"files", files},
            {"bytesTotal", bytes_total}};
  }
  void Add(const vault::BackupStats& s) {
    bytes_read += s.bytes_read;
    bytes_new += s.bytes_new;
    files_unchanged += s.files_unchanged;
    files += s.files;
    bytes_total += s.bytes_total;
  }
};

// What the consistent moment produced: the recovery points to keep (final), those of a first
// pass to drop once the backup is recorded (first), and the timings for the backup's details.
struct Capture {
  std::map<std::string, vault::BackupResult> first, final;
  double quiesced_seconds = 0;
  json details = json::object();
};

json WindowJson(const QuiescedWindow& w, const std::string& method) {
  return {{"method", method},
          {"quiesced", w.quiesced()},
          {"seconds", w.seconds()},
          {"quiesceCallSeconds", w.quiesce_call()},
          {"resumeCallSeconds", w.resume_call()}};
}

class BackupHandler : public WorkflowHandler {
 public:
  explicit BackupHandler(const HandlerEnv& env) : env_(env) {}

  util::Result<std::string> Run(WorkflowContext& ctx) override {
    const WorkflowRecord& wf = ctx.workflow();
    BackupStore bs(ctx.db());
    BackupRecord b = MLV_TRY(bs.Get(wf.account_id, InputString(wf, "backupId")));
    WorkspaceRecord ws = MLV_TRY(WorkspaceStore(ctx.db()).Get(wf.account_id, b.workspace_id));
    if (ws.deleted_at)
      return util::NotFound("workspace " + ws.crn + " was deleted before this backup could run");
    workspace::WorkspaceSpec spec = SpecOf(ws);
    vault::Options vopt;
    vopt.lock_wait_seconds = 600;  // a GC of this vault may be running; wait for it
    auto v = MLV_TRY(OpenOrCreateVault(ctx.db(), env_.home, ws.id, vopt));
    if (wf.attempts > 1)
      for (const auto& w : DropLeftovers(*v, b.id)) ctx.Warn(w);

    // Parents: the newest succeeded backup's recovery points, volume by volume (not a copy's:
    // those are in another vault).
    std::map<std::string, std::string> parents;
    if (auto prev = MLV_TRY(catalog::BackupCopyStore(ctx.db()).LatestSucceededIn(
            ws.id, VaultName(ws.id))))
      for (const auto& rp : MLV_TRY(bs.RecoveryPoints(*prev)))
        parents[rp.volume] = rp.vault_point_id;

    bool alive =
        ws.runtime_pid > 0 && env_.provider->RuntimeAlive(spec, static_cast<int>(ws.runtime_pid));
    workspace::RuntimeClient rc(ws.endpoint, spec.control_key, 30);
    std::string version = ws.version;
    if (alive) {
      auto h = rc.GetHealth();
      if (!h)
        return std::unexpected(
            h.error().WithContext("the workspace runtime is running but not answering"));
      if (!h->version.empty()) version = h->version;
    } else {
      ctx.Warn(
          "the workspace runtime was not running, so nothing was quiesced: the volumes were "
          "captured as they "
          "are on disk (no writer was active)");
    }

    std::vector<workspace::Volume> volumes = env_.provider->Volumes(spec);
    if (alive) {  // what each deployed model answers now, for drills (control/model_samples.h)
      std::string models_dir;
      for (const auto& vol : volumes)
        if (vol.name == "models") models_dir = vol.path;
      for (const auto& w : RecordModelSamples(ctx.db(), b.id, ws.endpoint, spec.api_key, models_dir,
                                              ctx.clock().Now()))
        ctx.Warn(w);
    }
    std::vector<std::string> created;
    auto fail = [&](util::Error e) -> util::Result<std::string> {
      for (const auto& id : created) (void)v->Delete(id);
      return std::unexpected(std::move(e));
    };

    // The consistent moment: a read-only snapshot of every volume where the storage has them,
    // else a second pass over the files while the workspace is quiesced.
    workspace::SnapshotSupport snap = env_.provider->Snapshots(spec);
    if (!snap.available && !snap.why_not.empty())
      ctx.Warn(snap.why_not + "; the backup used the two-pass method instead of a snapshot");
    Capture cap;
    util::Status st = snap.available
                          ? CaptureFromSnapshots(*v, spec, volumes, b, parents, rc, alive, ctx, cap)
                          : CaptureTwoPass(*v, volumes, b, parents, rc, alive, ctx, cap);
    for (const auto& [name, r] : cap.first) created.push_back(r.id);
    for (const auto& [name, r] : cap.final) created.push_back(r.id);
    if (!st) return fail(st.error());
    ctx.SetPhase("finishing");
    for (const auto& [name, r] : cap.first)
      if (auto d = v->Delete(r.id); !d)
        ctx.Warn("could not drop the first-pass recovery point of volume " + name + ": " +
                 d.error().message());
    auto& final = cap.final;
    auto& first = cap.first;
    {  // S3 Object Lock for a workspace with a vault lock (control/object_lock.h)
      std::vector<std::string> ids;
      for (const auto& [name, r] : final) ids.push_back(r.id);
      for (const auto& w : RetainNewBackup(ctx.db(), *v, ws.id, b.created_at, ids)) ctx.Warn(w);
    }

    catalog::BackupOutcome o;
    o.status = catalog::BackupStatus::kSucceeded;
    o.workspace_version = version;
    o.quiesced_micros = static_cast<int64_t>(cap.quiesced_seconds * 1e6);
    util::TimeMicros now = ctx.clock().Now();
    for (const auto& vol : volumes) {
      const vault::BackupResult& r = final[vol.name];
      for (const auto& w : r.warnings) ctx.Warn("volume " + vol.name + ": " + w);
      catalog::RecoveryPointRecord rp;
      rp.volume = vol.name;
      rp.kind = std::string(workspace::KindName(vol.kind));
      rp.vault_point_id = r.id;
      rp.source_path = vol.path;
      rp.bytes_total = static_cast<int64_t>(r.stats.bytes_total);
      rp.files = static_cast<int64_t>(r.stats.files);
      rp.dirs = static_cast<int64_t>(r.stats.dirs);
      rp.bytes_read = static_cast<int64_t>(r.stats.bytes_read + first[vol.name].stats.bytes_read);
      rp.bytes_new = static_cast<int64_t>(r.stats.bytes_new + first[vol.name].stats.bytes_new);
      rp.bytes_stored =
          static_cast<int64_t>(r.stats.bytes_stored + first[vol.name].stats.bytes_stored);
      rp.files_unchanged = static_cast<int64_t>(r.stats.files_unchanged);
      rp.duration_micros = static_cast<int64_t>(
          (r.stats.duration_seconds + first[vol.name].stats.duration_seconds) * 1e6);
      rp.created_at = now;
      o.bytes_total += rp.bytes_total;
      o.files_total += rp.files;
      o.bytes_stored += rp.bytes_stored;
      o.recovery_points.push_back(std::move(rp));
    }
    json details = cap.details;
    details["vault"] = {{"name", VaultName(ws.id)}, {"id", v->id()}};
    details["parentBackupRecoveryPoints"] = parents;
    o.details = details.dump();
    outcome_ = std::move(o);
    ctx.SetPhase("done");
    ctx.progress()->Report({static_cast<uint64_t>(outcome_->bytes_total),
                            static_cast<uint64_t>(outcome_->bytes_total),
                            static_cast<uint64_t>(outcome_->files_total),
                            static_cast<uint64_t>(outcome_->files_total), ""});
    return json{{"backupCrn", b.crn},
                {"quiescedSeconds", cap.quiesced_seconds},
                {"bytesTotal", outcome_->bytes_total}}
        .dump();
  }

  util::Status OnStatus(catalog::Db& db, const WorkflowRecord& wf, catalog::WorkflowStatus status,
                        const util::Error* error, const std::string& warnings,
                        util::TimeMicros now) override {
    return MirrorBackupStatus(db, wf, status, error, warnings, now,
                              outcome_ ? &*outcome_ : nullptr);
  }

  std::vector<std::string> Compensate(catalog::Db& db, const WorkflowRecord& wf) override {
    std::vector<std::string> out;
    auto b = BackupStore(db).Get(wf.account_id, InputString(wf, "backupId"));
    if (!b) return out;
    auto ws = WorkspaceStore(db).Get(wf.account_id, b->workspace_id);
    if (!ws) return out;
    auto spec = SpecOf(*ws);
    if (ws->runtime_pid > 0 &&
        env_.provider->RuntimeAlive(spec, static_cast<int>(ws->runtime_pid))) {
      workspace::RuntimeClient rc(ws->endpoint, spec.control_key, 10);
      auto h = rc.GetHealth();
      if (auto r = rc.Resume(); r)
        out.push_back(h && h->quiesced ? "resumed workspace " + ws->crn +
                                             ", which the interrupted backup had left quiesced"
                                       : "made sure workspace " + ws->crn + " is resumed");
      else
        out.push_back("could not resume workspace " + ws->crn +
                      " (its quiesce lease ends it within 60 s): " + r.error().message());
    }
    if (auto d = env_.provider->DropSnapshots(spec, b->id); !d)
      out.push_back("could not remove the snapshots the interrupted backup left: " +
                    d.error().message());
    else if (*d > 0)
      out.push_back("removed " + std::to_string(*d) + " snapshots the interrupted backup left");
    return out;
  }

  void AfterEnd(catalog::Db& db, const WorkflowRecord& wf) override {
    auto b = BackupStore(db).Get(wf.account_id, InputString(wf, "backupId"));
    AuditEnd(env_, wf, "ml:BackupWorkspace", b ? b->crn : wf.resource_crn);
    // What the backup holds, recorded now so that searches find it (issue 16). Best effort: a
    // backup whose inventory could not be read is indexed on first ask instead.
    if (b && b->status == catalog::BackupStatus::kSucceeded)
      if (auto inv = EnsureInventory(db, env_.home, *b, env_.clock->Now()); !inv)
        util::Log(util::LogLevel::kWarn, "the contents of backup {} were not recorded: {}", b->crn,
                  inv.error().message());
  }

 private:
  util::Result<vault::BackupResult> BackupVolume(vault::Vault& v, const workspace::Volume& vol,
                                                 const BackupRecord& b, const std::string& pass,
                                                 const std::string& parent, WorkflowContext& ctx,
                                                 util::PartsProgress* parts = nullptr) {
    vault::BackupRequest req;
    req.kind = vol.kind == workspace::VolumeKind::kBlock ? vault::VolumeKind::kBlock
                                                         : vault::VolumeKind::kFilesystem;
    req.source = vol.path;
    req.labels = {
        {"workspace", b.workspace_crn}, {"volume", vol.name}, {"backup", b.id}, {"pass", pass}};
    if (!parent.empty()) req.parent = parent;
    // A sequential pass shows one total across the volumes (util::PartsProgress).
    util::ProgressSink* progress = ctx.progress();
    if (parts) {
      parts->BeginPart("volume " + vol.name);
      progress = parts;
    }
    auto r = v.Backup(req, progress, ctx.cancel());
    if (!r && !parent.empty() && r.error().code() == util::ErrorCode::kNotFound &&
        !ctx.cancel()->cancelled()) {
      // The parent went away (its backup was deleted meanwhile): read everything instead.
      req.parent.reset();
      r = v.Backup(req, progress, ctx.cancel());
    }
    if (r && parts) parts->EndPart(r->stats.bytes_total, r->stats.files);
    return r;
  }

  std::string ParentOf(const std::map<std::string, std::string>& parents, const std::string& vol) {
    auto it = parents.find(vol);
    return it == parents.end() ? "" : it->second;
  }

  // Two passes: one while the workspace runs (reads everything), then one quiesced that reads
  // only what changed since (the consistent moment; its length grows with the number of files).
  util::Status CaptureTwoPass(vault::Vault& v, const std::vector<workspace::Volume>& volumes,
                              const BackupRecord& b,
                              const std::map<std::string, std::string>& parents,
                              const workspace::RuntimeClient& rc, bool alive, WorkflowContext& ctx,
                              Capture& cap) {
    ctx.SetPhase("prepass");
    HoldWhileTestFileExists(ctx.cancel());
    PassStats prepass;
    double t = util::MonotonicSeconds();
    util::PartsProgress prepass_progress(ctx.progress());
    for (const auto& vol : volumes) {
      auto r = BackupVolume(v, vol, b, "prepass", ParentOf(parents, vol.name), ctx,
                            &prepass_progress);
      if (!r) return std::unexpected(r.error().WithContext("volume " + vol.name));
      prepass.Add(r->stats);
      cap.first[vol.name] = std::move(*r);
    }
    prepass.seconds = util::MonotonicSeconds() - t;

    // Pass 2, quiesced: the consistent moment. Only what changed since pass 1 is read.
    ctx.SetPhase("quiescing");
    QuiescedWindow window(rc, alive);
    MLV_TRY(window.Begin());
    ctx.SetPhase("capturing");
    PassStats consistent;
    t = util::MonotonicSeconds();
    // The volumes are captured in parallel: the window lasts as long as the slowest one.
    std::vector<std::optional<util::Result<vault::BackupResult>>> results(volumes.size());
    std::vector<double> seconds(volumes.size());
    {
      std::vector<std::thread> threads;
      for (size_t i = 0; i < volumes.size(); ++i)
        threads.emplace_back([&, i] {
          double t0 = util::MonotonicSeconds();
          results[i] = BackupVolume(v, volumes[i], b, "final", cap.first[volumes[i].name].id, ctx);
          seconds[i] = util::MonotonicSeconds() - t0;
        });
      for (auto& th : threads) th.join();
    }
    json per_volume = json::object();
    std::optional<util::Error> capture_error;
    for (size_t i = 0; i < volumes.size(); ++i) {
      auto& r = *results[i];
      if (!r) {
        if (!capture_error) capture_error = r.error().WithContext("volume " + volumes[i].name);
        continue;
      }
      consistent.Add(r->stats);
      per_volume[volumes[i].name] = seconds[i];
      cap.final[volumes[i].name] = std::move(*r);
    }
    if (capture_error) {
      if (auto e = window.End(); !e)
        ctx.Warn("could not resume the workspace: " + e.error().message());
      return std::unexpected(*capture_error);
    }
    consistent.seconds = util::MonotonicSeconds() - t;
    // [lease generation] issue 10 finding 7: the pass is consistent only if the workspace stayed
    // quiesced under our lease throughout.
    if (auto held = window.VerifyHeld(); !held) {
      if (auto e = window.End(); !e)
        ctx.Warn("could not resume the workspace: " + e.error().message());
      return std::unexpected(held.error().WithContext("the consistent pass is not consistent"));
    }
    if (auto e = window.End(); !e)
      ctx.Warn(
          "the backup is complete, but resuming the workspace failed (its quiesce lease ends it "
          "within 60 s): " +
          e.error().message());
    json consistent_json = consistent.ToJson();
    consistent_json["volumeSeconds"] = per_volume;
    cap.quiesced_seconds = window.seconds();
    cap.details = {{"prepass", prepass.ToJson()},
                   {"consistentPass", consistent_json},
                   {"quiesce", WindowJson(window, "two-pass")}};
    return util::Ok();
  }

  // Snapshots: quiesce, take a read-only snapshot of every volume, resume (the window does not
  // grow with the number of files), then read the snapshots while the workspace runs and remove
  // them. Snapshots an interrupted attempt left are removed first (and by Compensate).
  util::Status CaptureFromSnapshots(vault::Vault& v, const workspace::WorkspaceSpec& spec,
                                    const std::vector<workspace::Volume>& volumes,
                                    const BackupRecord& b,
                                    const std::map<std::string, std::string>& parents,
                                    const workspace::RuntimeClient& rc, bool alive,
                                    WorkflowContext& ctx, Capture& cap) {
    ctx.SetPhase("snapshotting");
    if (auto d = env_.provider->DropSnapshots(spec, b.id); !d)
      return std::unexpected(d.error().WithContext("removing the snapshots of an earlier attempt"));
    else if (*d > 0)
      ctx.Warn("removed " + std::to_string(*d) + " snapshots an interrupted attempt had left");
    // Most dirty data is written out before the window, so the snapshots have little to flush.
    double t = util::MonotonicSeconds();
    if (auto f = env_.provider->FlushVolumes(spec); !f)
      ctx.Warn("could not flush the volumes before the snapshot: " + f.error().message());
    double flush_seconds = util::MonotonicSeconds() - t;

    QuiescedWindow window(rc, alive);
    MLV_TRY(window.Begin());
    t = util::MonotonicSeconds();
    auto snaps = env_.provider->SnapshotVolumes(spec, b.id);
    double snapshot_seconds = util::MonotonicSeconds() - t;
    util::Status held = snaps ? window.VerifyHeld() : util::Ok();
    if (auto e = window.End(); !e)
      ctx.Warn("resuming the workspace after the snapshot failed (its quiesce lease ends it "
               "within 60 s): " +
               e.error().message());
    if (!snaps) return std::unexpected(snaps.error().WithContext("taking the snapshots"));
    auto drop = [&] {
      if (auto d = env_.provider->DropSnapshots(spec, b.id); !d)
        ctx.Warn("could not remove the backup's snapshots (the next backup or `mlvault worker "
                 "--recover` retries): " +
                 d.error().message());
    };
    if (!held) {
      drop();
      return std::unexpected(held.error().WithContext("the snapshot is not consistent"));
    }

    // Read the snapshots while the workspace runs (a crash from here on leaves snapshots that
    // the next attempt or Compensate removes).
    ctx.SetPhase("reading-snapshots");
    HoldWhileTestFileExists(ctx.cancel());
    PassStats pass;
    json per_volume = json::object();
    t = util::MonotonicSeconds();
    util::PartsProgress pass_progress(ctx.progress());
    for (size_t i = 0; i < volumes.size(); ++i) {
      const workspace::Volume& live = volumes[i];
      auto it = std::find_if(snaps->begin(), snaps->end(),
                             [&](const workspace::Volume& s) { return s.name == live.name; });
      if (it == snaps->end()) {
        drop();
        return util::Internal("no snapshot of volume " + live.name);
      }
      double t0 = util::MonotonicSeconds();
      auto r = BackupVolume(v, *it, b, "snapshot", ParentOf(parents, live.name), ctx,
                            &pass_progress);
      if (!r) {
        drop();
        return std::unexpected(r.error().WithContext("volume " + live.name));
      }
      per_volume[live.name] = util::MonotonicSeconds() - t0;
      pass.Add(r->stats);
      cap.final[live.name] = std::move(*r);
    }
    pass.seconds = util::MonotonicSeconds() - t;
    drop();
    json pass_json = pass.ToJson();
    pass_json["volumeSeconds"] = per_volume;
    json q = WindowJson(window, "snapshot");
    q["snapshotSeconds"] = snapshot_seconds;
    q["flushSeconds"] = flush_seconds;
    cap.quiesced_seconds = window.seconds();
    cap.details = {{"snapshotPass", pass_json}, {"quiesce", q}};
    return util::Ok();
  }

  const HandlerEnv& env_;
  std::optional<catalog::BackupOutcome> outcome_;
};

}  // namespace

std::unique_ptr<WorkflowHandler> MakeBackupHandler(const HandlerEnv& env) {
  return std::make_unique<BackupHandler>(env);
}

}  // namespace mlvault::control
