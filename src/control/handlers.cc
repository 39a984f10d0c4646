#include "control/handlers.h"

#include <unistd.h>

#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "control/vaults.h"
#include "control/workspace_keys.h"
#include "util/log.h"
#include "util/random.h"
#include "workspace/parameters.h"
#include "workspace/runtime_client.h"

namespace mlvault::control {

using catalog::BackupRecord;
using catalog::BackupStore;
using catalog::WorkflowRecord;
using catalog::WorkspaceRecord;
using catalog::WorkspaceStore;
using nlohmann::json;

std::string WorkspaceQueue(const std::string& workspace_id) { return "workspace:" + workspace_id; }
std::string VaultGcQueue(const std::string& workspace_id) { return "vault-gc:" + workspace_id; }

util::Status CheckRestorableVersion(const std::string& version) {
  if (version.empty()) return util::Ok();
  int major = 0, minor = 0;
  if (std::sscanf(version.c_str(), "%d.%d", &major, &minor) != 2)
    return util::InvalidArgument("the backup records an unreadable workspace version \"" + version +
                                 "\"");
  if (major > kRestorableMajor || (major == kRestorableMajor && minor > kRestorableMinor))
    return util::InvalidArgument(
        "the backup is of workspace version " + version +
        ", newer than this mlvault can restore (up to " + std::to_string(kRestorableMajor) + "." +
        std::to_string(kRestorableMinor) + ".x); upgrade mlvault to restore it");
  return util::Ok();
}

workspace::WorkspaceSpec SpecOf(const WorkspaceRecord& ws) {
  workspace::WorkspaceSpec s;
  s.workspace_id = ws.id;
  s.workspace_crn = ws.crn;
  s.workspace_name = ws.name;
  s.environment_name = ws.environment_name;
  s.environment_root = ws.environment_root;
  s.domain = ws.domain;
  // issue 10 finding 2: the catalog holds the keys sealed; opened here, where they are used.
  auto api_key = OpenWorkspaceKey(ws.api_key);
  auto control_key = OpenWorkspaceKey(ws.control_key);
  if (api_key && control_key) {
    s.api_key = *api_key;
    s.control_key = *control_key;
  } else {
    util::Log(util::LogLevel::kError, "cannot open the keys of workspace {}: {}", ws.crn,
              (api_key ? control_key.error() : api_key.error()).message());
  }
  if (auto p = workspace::ParseWorkspaceParameters(ws.parameters, "", false)) {
    s.public_bind = p->use_public_load_balancer;
    if (p->whitelist_authorized_ip_ranges) s.authorized_ip_ranges = p->authorized_ip_ranges;
  }
  return s;
}

std::string CallerToJson(const Caller& c) {
  return json{{"accountId", c.account_id},
              {"principalCrn", c.principal_crn},
              {"principalName", c.principal_name},
              {"sourceIp", c.source_ip},
              {"source", c.source}}
      .dump();
}

Caller CallerFromJson(const std::string& text) {
  Caller c;
  json j = json::parse(text, nullptr, false);
  if (!j.is_object()) return c;
  auto s = [&](const char* k) {
    return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
  };
  c.account_id = s("accountId");
  c.principal_crn = s("principalCrn");
  c.principal_name = s("principalName");
  c.source_ip = s("sourceIp");
  c.source = s("source");
  return c;
}

namespace {

std::string InputString(const WorkflowRecord& wf, const char* key) {
  json j = json::parse(wf.input, nullptr, false);
  if (j.is_object() && j.contains(key) && j[key].is_string()) return j[key].get<std::string>();
  return "";
}

void SleepOrCancel(double seconds, const util::CancelToken* cancel) {
  double until = util::MonotonicSeconds() + seconds;
  while (util::MonotonicSeconds() < until && !(cancel && cancel->cancelled()))
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

// Test seam: while the file named by MLVAULT_TEST_HOLD_FILE exists, a backup waits at the start
// of its first pass, so recovery tests can kill a worker at a known point instead of racing a
// backup that may finish in well under a second. Unset in normal use: no effect.
void HoldWhileTestFileExists(const util::CancelToken* cancel) {
  const char* f = std::getenv("MLVAULT_TEST_HOLD_FILE");
  if (f == nullptr || *f == '\0') return;
  while (::access(f, F_OK) == 0 && !(cancel && cancel->cancelled())) SleepOrCancel(0.05, cancel);
}

std::unexpected<util::Error> CancelledStatus(const util::CancelToken* cancel) {
  return util::Cancelled(cancel && !cancel->reason().empty() ? cancel->reason() : "cancelled");
}

// Waits until the runtime reports healthy, reconciled and not quiesced.
util::Result<workspace::Health> WaitHealthy(const workspace::RuntimeClient& rc, double timeout,
                                            const util::CancelToken* cancel) {
  double deadline = util::MonotonicSeconds() + timeout;
  std::string last = "no answer yet";
  for (;;) {
    if (cancel && cancel->cancelled()) return CancelledStatus(cancel);
    auto h = rc.GetHealth();
    if (h && h->status == "ok" && h->reconciled && !h->quiesced) return *h;
    if (h)
      last = "status \"" + h->status + "\", reconciled " + (h->reconciled ? "true" : "false");
    else
      last = h.error().message();
    if (util::MonotonicSeconds() > deadline)
      return util::Unavailable("the workspace runtime did not become healthy within " +
                               std::to_string(static_cast<int>(timeout)) + " s (last: " + last +
                               ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

void AuditEnd(const HandlerEnv& env, const WorkflowRecord& wf, const std::string& action,
              const std::string& resource) {
  if (!env.authorizer) return;
  util::Status outcome = util::Ok();
  if (wf.status != "succeeded") {
    auto code = wf.status == "cancelled" ? util::ErrorCode::kCancelled : util::ErrorCode::kInternal;
    outcome =
        std::unexpected(util::Error(code, wf.error_message.empty() ? wf.status : wf.error_message));
  }
  env.authorizer->Audit(CallerFromJson(wf.caller), action, resource, outcome,
                        "workflow " + wf.id + " (" + wf.kind + ") ended " + wf.status);
}

// Deletes every recovery point of the vault labelled with this backup id (leftovers of an
// attempt that did not finish). Returns problems as warnings.
std::vector<std::string> DropLeftovers(vault::Vault& v, const std::string& backup_id,
                                       const std::vector<std::string>& keep = {}) {
  std::vector<std::string> warnings;
  auto all = v.List();
  if (!all) return {"could not list the vault to remove leftovers: " + all.error().message()};
  for (const auto& rp : *all) {
    auto it = rp.labels.find("backup");
    if (it == rp.labels.end() || it->second != backup_id) continue;
    if (std::find(keep.begin(), keep.end(), rp.id) != keep.end()) continue;
    if (auto d = v.Delete(rp.id); !d && d.error().code() != util::ErrorCode::kNotFound)
      warnings.push_back("could not remove leftover recovery point " + rp.id + ": " +
                         d.error().message());
  }
  return warnings;
}

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
    renewer_ = std::thread([this] {
      std::unique_lock lock(mu_);
      while (
          !cv_.wait_for(lock, std::chrono::seconds(kLeaseSeconds / 3), [this] { return stop_; })) {
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
    });
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
  void StopRenewer() {
    if (!renewer_.joinable()) return;
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    renewer_.join();
  }

  static constexpr int kLeaseSeconds = 60;
  const workspace::RuntimeClient& rc_;
  const bool active_;
  bool quiesced_ = false;
  bool ended_ = false;
  double t0_ = 0, t1_ = 0, quiesce_call_ = 0, resume_call_ = 0;
  std::thread renewer_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
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
    auto v = MLV_TRY(OpenOrCreateVault(env_.home, ws.id, vopt));
    if (wf.attempts > 1)
      for (const auto& w : DropLeftovers(*v, b.id)) ctx.Warn(w);

    // Parents: the newest succeeded backup's recovery points, volume by volume.
    std::map<std::string, std::string> parents;
    if (auto prev = MLV_TRY(bs.LatestSucceeded(ws.id)))
      for (const auto& rp : MLV_TRY(bs.RecoveryPoints(prev->id)))
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
    std::vector<std::string> created;
    auto fail = [&](util::Error e) -> util::Result<std::string> {
      for (const auto& id : created) (void)v->Delete(id);
      return std::unexpected(std::move(e));
    };

    // Pass 1, while the workspace runs: reads everything, so that pass 2 reads only changes.
    ctx.SetPhase("prepass");
    HoldWhileTestFileExists(ctx.cancel());
    std::map<std::string, vault::BackupResult> first;
    PassStats prepass;
    double t = util::MonotonicSeconds();
    for (const auto& vol : volumes) {
      auto r = BackupVolume(*v, vol, b, "prepass", parents.count(vol.name) ? parents[vol.name] : "",
                            ctx);
      if (!r) return fail(r.error().WithContext("volume " + vol.name));
      created.push_back(r->id);
      prepass.Add(r->stats);
      first[vol.name] = std::move(*r);
    }
    prepass.seconds = util::MonotonicSeconds() - t;

    // Pass 2, quiesced: the consistent moment. Only what changed since pass 1 is read.
    ctx.SetPhase("quiescing");
    QuiescedWindow window(rc, alive);
    if (auto q = window.Begin(); !q) return fail(q.error());
    ctx.SetPhase("capturing");
    std::map<std::string, vault::BackupResult> final;
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
          results[i] = BackupVolume(*v, volumes[i], b, "final", first[volumes[i].name].id, ctx);
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
      created.push_back(r->id);
      consistent.Add(r->stats);
      per_volume[volumes[i].name] = seconds[i];
      final[volumes[i].name] = std::move(*r);
    }
    if (capture_error) {
      if (auto e = window.End(); !e)
        ctx.Warn("could not resume the workspace: " + e.error().message());
      return fail(*capture_error);
    }
    consistent.seconds = util::MonotonicSeconds() - t;
    // [lease generation] issue 10 finding 7: the pass is consistent only if the workspace stayed
    // quiesced under our lease throughout.
    if (auto held = window.VerifyHeld(); !held) {
      if (auto e = window.End(); !e)
        ctx.Warn("could not resume the workspace: " + e.error().message());
      return fail(held.error().WithContext("the consistent pass is not consistent"));
    }
    if (auto e = window.End(); !e)
      ctx.Warn(
          "the backup is complete, but resuming the workspace failed (its quiesce lease ends it "
          "within 60 s): " +
          e.error().message());
    ctx.SetPhase("finishing");
    for (const auto& [name, r] : first)
      if (auto d = v->Delete(r.id); !d)
        ctx.Warn("could not drop the first-pass recovery point of volume " + name + ": " +
                 d.error().message());

    catalog::BackupOutcome o;
    o.status = "succeeded";
    o.workspace_version = version;
    o.quiesced_micros = static_cast<int64_t>(window.seconds() * 1e6);
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
    json consistent_json = consistent.ToJson();
    consistent_json["volumeSeconds"] = per_volume;
    json details = {{"prepass", prepass.ToJson()},
                    {"consistentPass", consistent_json},
                    {"quiesce",
                     {{"quiesced", window.quiesced()},
                      {"seconds", window.seconds()},
                      {"quiesceCallSeconds", window.quiesce_call()},
                      {"resumeCallSeconds", window.resume_call()}}},
                    {"vault", {{"name", VaultName(ws.id)}, {"id", v->id()}}},
                    {"parentBackupRecoveryPoints", parents}};
    o.details = details.dump();
    outcome_ = std::move(o);
    ctx.SetPhase("done");
    ctx.progress()->Report({static_cast<uint64_t>(outcome_->bytes_total),
                            static_cast<uint64_t>(outcome_->bytes_total),
                            static_cast<uint64_t>(outcome_->files_total),
                            static_cast<uint64_t>(outcome_->files_total), ""});
    return json{{"backupCrn", b.crn},
                {"quiescedSeconds", window.seconds()},
                {"bytesTotal", outcome_->bytes_total}}
        .dump();
  }

  util::Status OnStatus(catalog::Db& db, const WorkflowRecord& wf, const std::string& status,
                        const util::Error* error, const std::string& warnings,
                        util::TimeMicros now) override {
    BackupStore bs(db);
    std::string id = InputString(wf, "backupId");
    if (status == "running") return bs.SetStarted(id, now);
    if (status == "queued" || status == "pending") return bs.SetStatus(id, status, now);
    catalog::BackupOutcome o;
    if (status == "succeeded" && outcome_) o = *outcome_;
    o.status = status;
    o.warnings = warnings;
    if (error) o.error = error->message();
    return bs.Finish(id, o, now);
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
    return out;
  }

  void AfterEnd(catalog::Db& db, const WorkflowRecord& wf) override {
    auto b = BackupStore(db).Get(wf.account_id, InputString(wf, "backupId"));
    AuditEnd(env_, wf, "ml:BackupWorkspace", b ? b->crn : wf.resource_crn);
  }

 private:
  util::Result<vault::BackupResult> BackupVolume(vault::Vault& v, const workspace::Volume& vol,
                                                 const BackupRecord& b, const std::string& pass,
                                                 const std::string& parent, WorkflowContext& ctx) {
    vault::BackupRequest req;
    req.kind = vol.kind == workspace::VolumeKind::kBlock ? vault::VolumeKind::kBlock
                                                         : vault::VolumeKind::kFilesystem;
    req.source = vol.path;
    req.labels = {
        {"workspace", b.workspace_crn}, {"volume", vol.name}, {"backup", b.id}, {"pass", pass}};
    if (!parent.empty()) req.parent = parent;
    auto r = v.Backup(req, ctx.progress(), ctx.cancel());
    if (!r && !parent.empty() && r.error().code() == util::ErrorCode::kNotFound &&
        !ctx.cancel()->cancelled()) {
      // The parent went away (its backup was deleted meanwhile): read everything instead.
      req.parent.reset();
      r = v.Backup(req, ctx.progress(), ctx.cancel());
    }
    return r;
  }

  const HandlerEnv& env_;
  std::optional<catalog::BackupOutcome> outcome_;
};

// ============================================================================ provision / restore

// create_workspace and restore share everything but the restore of the volumes.
class ProvisionHandler : public WorkflowHandler {
 public:
  ProvisionHandler(const HandlerEnv& env, bool restore) : env_(env), restore_(restore) {}

  util::Result<std::string> Run(WorkflowContext& ctx) override {
    const WorkflowRecord& wf = ctx.workflow();
    WorkspaceStore wss(ctx.db());
    WorkspaceRecord ws = MLV_TRY(wss.Get(wf.account_id, InputString(wf, "workspaceId")));
    workspace::WorkspaceSpec spec = SpecOf(ws);
    // A resumed attempt starts from a clean slate.
    if (ws.runtime_pid > 0)
      MLV_TRY(env_.provider->StopRuntime(spec, static_cast<int>(ws.runtime_pid)));
    MLV_TRY(env_.provider->RemoveVolumes(spec));

    ctx.SetPhase("provisioning");
    MLV_TRY(env_.provider->CreateVolumes(spec));
    auto result = Provision(ctx, ws, spec);
    if (!result) {
      if (started_pid_ > 0) (void)env_.provider->StopRuntime(spec, started_pid_);
      (void)env_.provider->RemoveVolumes(spec);
    }
    return result;
  }

  util::Status OnStatus(catalog::Db& db, const WorkflowRecord& wf, const std::string& status,
                        const util::Error* error, const std::string&,
                        util::TimeMicros now) override {
    WorkspaceStore wss(db);
    std::string id = InputString(wf, "workspaceId");
    if (status == "succeeded") return wss.SetRuntime(id, started_pid_, endpoint_, version_, now);
    if (status == "failed" || status == "cancelled")
      return wss.MarkFailed(id,
                            (restore_ ? "restore " : "provisioning ") + status + ": " +
                                (error ? error->message() : std::string("unknown cause")),
                            now);
    return util::Ok();
  }

  std::vector<std::string> Compensate(catalog::Db& db, const WorkflowRecord& wf) override {
    std::vector<std::string> out;
    auto ws = WorkspaceStore(db).Get(wf.account_id, InputString(wf, "workspaceId"));
    if (!ws) return out;
    auto spec = SpecOf(*ws);
    if (ws->runtime_pid > 0 &&
        env_.provider->RuntimeAlive(spec, static_cast<int>(ws->runtime_pid))) {
      if (auto s = env_.provider->StopRuntime(spec, static_cast<int>(ws->runtime_pid)); s)
        out.push_back("stopped the runtime the interrupted " +
                      std::string(restore_ ? "restore" : "provisioning") + " had started");
      else
        out.push_back("could not stop runtime pid " + std::to_string(ws->runtime_pid) + ": " +
                      s.error().message());
    }
    if (auto r = env_.provider->RemoveVolumes(spec); !r)
      out.push_back("could not remove the half-provisioned volumes: " + r.error().message());
    return out;
  }

  void AfterEnd(catalog::Db& db, const WorkflowRecord& wf) override {
    AuditEnd(env_, wf, restore_ ? "ml:RestoreWorkspace" : "ml:CreateWorkspace", wf.resource_crn);
    (void)db;
  }

 private:
  util::Result<std::string> Provision(WorkflowContext& ctx, const WorkspaceRecord& ws,
                                      const workspace::WorkspaceSpec& spec) {
    const WorkflowRecord& wf = ctx.workflow();
    json out = {
        {"workspaceCrn", ws.crn}, {"environmentName", ws.environment_name}, {"domain", ws.domain}};
    uint64_t bytes = 0, files = 0;
    if (restore_) {
      BackupStore bs(ctx.db());
      BackupRecord b = MLV_TRY(bs.Get(wf.account_id, InputString(wf, "backupId")));
      auto points = MLV_TRY(bs.RecoveryPoints(b.id));
      auto v = MLV_TRY(OpenExistingVault(env_.home, b.workspace_id));
      std::map<std::string, workspace::Volume> volumes;
      for (auto& vol : env_.provider->Volumes(spec)) volumes[vol.name] = vol;
      ctx.SetPhase("restoring");
      for (const auto& rp : points) {
        auto it = volumes.find(rp.volume);
        if (it == volumes.end()) {
          ctx.Warn("the backup's volume \"" + rp.volume +
                   "\" has no counterpart in the new workspace; skipped");
          continue;
        }
        vault::RestoreOptions ro;
        auto st = v->Restore(rp.vault_point_id, it->second.path, ro, ctx.progress(), ctx.cancel());
        if (!st) return std::unexpected(st.error().WithContext("restoring volume " + rp.volume));
        for (const auto& w : st->warnings) ctx.Warn("volume " + rp.volume + ": " + w);
        bytes += st->bytes_written;
        files += st->files;
      }
      out["restoredFromBackupCrn"] = b.crn;
      out["sourceWorkspaceCrn"] = b.workspace_crn;
      out["sourceEnvironmentName"] = b.environment_name;
      out["bytesRestored"] = bytes;
      out["filesRestored"] = files;
    }
    if (ctx.cancel()->cancelled()) return CancelledStatus(ctx.cancel());
    ctx.SetPhase("starting");
    workspace::RuntimeInfo rt = MLV_TRY(env_.provider->StartRuntime(spec));
    started_pid_ = rt.pid;
    endpoint_ = rt.endpoint;
    MLV_TRY(
        WorkspaceStore(ctx.db()).RecordRuntime(ws.id, rt.pid, rt.endpoint, "", ctx.clock().Now()));
    ctx.SetPhase(restore_ ? "reconciling" : "waiting for health");
    workspace::RuntimeClient rc(rt.endpoint, spec.control_key, 10);
    workspace::Health h = MLV_TRY(WaitHealthy(rc, env_.health_timeout_seconds, ctx.cancel()));
    if (!h.workspace_crn.empty() && h.workspace_crn != ws.crn)
      return util::Internal("the runtime at " + rt.endpoint + " serves " + h.workspace_crn +
                            ", not " + ws.crn);
    version_ = h.version;
    ctx.SetPhase("done");
    ctx.progress()->Report({bytes, bytes, files, files, ""});
    out["endpoint"] = rt.endpoint;
    out["version"] = h.version;
    return out.dump();
  }

  const HandlerEnv& env_;
  const bool restore_;
  int started_pid_ = 0;
  std::string endpoint_, version_;
};

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
    auto v = OpenExistingVault(env_.home, b.workspace_id, vopt);
    if (!v) {
      if (v.error().code() != util::ErrorCode::kNotFound || !points.empty())
        return std::unexpected(v.error());
      ctx.Warn("the workspace's vault does not exist; there was nothing to remove");
      return json{{"backupCrn", b.crn}}.dump();
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
                   {"leftoversRemoved", g->leftovers_removed}};
        return json{{"backupCrn", b.crn}, {"gc", gc}}.dump();
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
        return json{{"backupCrn", b.crn}, {"gc", nullptr}}.dump();
      }
      ctx.SetPhase("reclaiming space (waiting for a running backup)");
      SleepOrCancel(0.5, ctx.cancel());
    }
  }

  util::Status OnStatus(catalog::Db& db, const WorkflowRecord& wf, const std::string& status,
                        const util::Error* error, const std::string&,
                        util::TimeMicros now) override {
    BackupStore bs(db);
    std::string id = InputString(wf, "backupId");
    if (status == "succeeded") return bs.MarkDeleted(id, now);
    if (status == "failed" || status == "cancelled")
      return bs.MarkDeleteFailed(id, "deletion " + status + ": " +
                                         (error ? error->message() : std::string("?")) +
                                         "; run delete-backup again to finish it");
    return util::Ok();
  }

  std::vector<std::string> Compensate(catalog::Db&, const WorkflowRecord&) override { return {}; }

  void AfterEnd(catalog::Db& db, const WorkflowRecord& wf) override {
    (void)db;
    AuditEnd(env_, wf, "ml:DeleteBackup", wf.resource_crn);
  }

 private:
  static constexpr double kMaxGcWaitSeconds = 30 * 60;
  const HandlerEnv& env_;
};

}  // namespace

HandlerFactory MakeHandlerFactory(const HandlerEnv& env) {
  return [&env](const std::string& kind) -> std::unique_ptr<WorkflowHandler> {
    if (kind == kBackupKind) return std::make_unique<BackupHandler>(env);
    if (kind == kRestoreKind) return std::make_unique<ProvisionHandler>(env, true);
    if (kind == kCreateWorkspaceKind) return std::make_unique<ProvisionHandler>(env, false);
    if (kind == kDeleteBackupKind) return std::make_unique<DeleteBackupHandler>(env);
    return nullptr;
  };
}

}  // namespace mlvault::control
