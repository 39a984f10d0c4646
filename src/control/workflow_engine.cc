#include "control/workflow_engine.h"

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "util/files.h"
#include "util/log.h"
#include "util/mutex.h"
#include "util/process.h"
#include "util/random.h"
#include "util/test_hooks.h"

namespace mlvault::control {

using catalog::ClaimOutcome;
using catalog::WorkflowRecord;
using catalog::WorkflowStatus;
using catalog::WorkflowStore;
using nlohmann::json;

namespace {

void SleepSeconds(double s) {
  std::this_thread::sleep_for(std::chrono::microseconds(static_cast<int64_t>(s * 1e6)));
}

// Keeps the latest snapshot for the heartbeat and forwards to the terminal sink.
class RecordingProgress : public util::ProgressSink {
 public:
  explicit RecordingProgress(util::ProgressSink* next) : next_(next) {}
  void Report(const util::ProgressSnapshot& p) override {
    util::ProgressSnapshot s = p;
    {
      util::MutexLock lock(mu_);
      if (!phase_.empty()) s.phase = p.phase.empty() ? phase_ : phase_ + ": " + p.phase;
      latest_ = s;
      dirty_ = true;
    }
    if (next_) next_->Report(s);
  }
  void Finish() override {
    if (next_) next_->Finish();
  }
  // A new phase is shown at once (the terminal bar names it before its first report).
  void SetPhase(const std::string& phase) {
    util::ProgressSnapshot s;
    {
      util::MutexLock lock(mu_);
      phase_ = phase;
      latest_ = util::ProgressSnapshot{};
      latest_.phase = phase;
      dirty_ = true;
      s = latest_;
    }
    if (next_) next_->Report(s);
  }
  // The snapshot if it changed since the last call.
  bool Take(util::ProgressSnapshot& out) {
    util::MutexLock lock(mu_);
    if (!dirty_) return false;
    out = latest_;
    dirty_ = false;
    return true;
  }

 private:
  util::ProgressSink* const next_;
  util::Mutex mu_;
  util::ProgressSnapshot latest_ MLV_GUARDED_BY(mu_);
  std::string phase_ MLV_GUARDED_BY(mu_);
  bool dirty_ MLV_GUARDED_BY(mu_) = false;
};

class Context : public WorkflowContext {
 public:
  Context(WorkflowRecord wf, catalog::Db& db, const util::Clock& clock, RecordingProgress& progress,
          util::CancelToken& cancel)
      : wf_(std::move(wf)), db_(db), clock_(clock), progress_(progress), cancel_(cancel) {
    auto j = json::parse(wf_.warnings, nullptr, false);
    if (j.is_array())
      for (const auto& w : j)
        if (w.is_string()) warnings_.push_back(w.get<std::string>());
  }
  const WorkflowRecord& workflow() const override { return wf_; }
  catalog::Db& db() override { return db_; }
  const util::Clock& clock() const override { return clock_; }
  util::ProgressSink* progress() override { return &progress_; }
  const util::CancelToken* cancel() const override { return &cancel_; }
  void SetPhase(const std::string& phase) override {
    progress_.SetPhase(phase);
    util::Log(util::LogLevel::kInfo, "workflow {}: {}", wf_.id, phase);
  }
  void Warn(const std::string& warning) override {
    util::MutexLock lock(mu_);
    warnings_.push_back(warning);
  }
  std::vector<std::string> warnings() const override {
    util::MutexLock lock(mu_);
    return warnings_;
  }
  std::string WarningsJson() const {
    util::MutexLock lock(mu_);
    return json(warnings_).dump();
  }

 private:
  const WorkflowRecord wf_;
  catalog::Db& db_;
  const util::Clock& clock_;
  RecordingProgress& progress_;
  util::CancelToken& cancel_;
  mutable util::Mutex mu_;
  std::vector<std::string> warnings_ MLV_GUARDED_BY(mu_);
};

// Renews the lease and stores progress from its own thread and Db connection.
class Heartbeat {
 public:
  Heartbeat(std::unique_ptr<catalog::Db> db, std::string id, std::string owner,
            const EngineOptions& o, int64_t lease_micros, RecordingProgress& progress,
            util::CancelToken& cancel, const std::atomic<bool>* interrupted)
      : db_(std::move(db)),
        id_(std::move(id)),
        owner_(std::move(owner)),
        options_(o),
        lease_micros_(lease_micros),
        progress_(progress),
        cancel_(cancel),
        interrupted_(interrupted),
        thread_([this] { Loop(); }) {}
  ~Heartbeat() {
    {
      util::MutexLock lock(mu_);
      stop_ = true;
    }
    cv_.NotifyAll();
    thread_.join();
    if (!lease_lost_) Beat();  // the last progress and phase, as the work ended
  }
  bool lease_lost() const { return lease_lost_.load(); }

 private:
  void Loop() MLV_EXCLUDES(mu_) {
    double next = 0;
    while (!Stopping()) {
      if (interrupted_ && interrupted_->load()) cancel_.Cancel("interrupted by a signal");
      double now_s = util::MonotonicSeconds();
      if (now_s >= next) {
        Beat();
        next = now_s + options_.heartbeat_seconds;
      }
      util::MutexLock lock(mu_);
      if (!stop_) cv_.WaitFor(mu_, std::chrono::milliseconds(100));
    }
  }
  bool Stopping() MLV_EXCLUDES(mu_) {
    util::MutexLock lock(mu_);
    return stop_;
  }
  void Beat() {
    util::ProgressSnapshot snap;
    bool has = progress_.Take(snap);
    auto r = WorkflowStore(*db_).Heartbeat(id_, owner_, options_.clock->Now(), lease_micros_,
                                           has ? &snap : nullptr);
    if (!r) {
      if (r.error().code() == util::ErrorCode::kConflict) {
        lease_lost_ = true;
        cancel_.Cancel("lease lost: another process took this workflow over");
      } else {
        util::Log(util::LogLevel::kWarn, "workflow {}: heartbeat failed: {}", id_,
                  r.error().message());
      }
      return;
    }
    if (r->cancel_requested)
      cancel_.Cancel(r->cancel_reason.empty() ? "cancelled" : r->cancel_reason);
  }

  std::unique_ptr<catalog::Db> db_;
  const std::string id_, owner_;
  const EngineOptions& options_;
  const int64_t lease_micros_;
  RecordingProgress& progress_;
  util::CancelToken& cancel_;
  const std::atomic<bool>* interrupted_;
  std::atomic<bool> lease_lost_{false};
  util::Mutex mu_;
  util::CondVar cv_;  // waited on with mu_: stop_ set
  bool stop_ MLV_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

std::string MakeOwner() {
  int pid = static_cast<int>(::getpid());
  return util::HostName() + "/" + std::to_string(pid) + "/" +
         std::to_string(util::ProcessStartTicks(pid)) + "/" + util::RandomHex(4);
}

double LeaseSecondsFromEnv(double def) { return util::test_hooks::LeaseSeconds(def); }

}  // namespace

std::string AppendWarning(const std::string& warnings_json, const std::string& warning) {
  json j = json::parse(warnings_json, nullptr, false);
  if (!j.is_array()) j = json::array();
  j.push_back(warning);
  return j.dump();
}

bool OwnerIsLocalAndGone(std::string_view owner) {
  // "<host>/<pid>/<start ticks>/<random>"
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    size_t slash = owner.find('/', start);
    parts.emplace_back(owner.substr(
        start, slash == std::string_view::npos ? std::string_view::npos : slash - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  if (parts.size() != 4 || parts[0] != util::HostName()) return false;
  int pid = 0;
  uint64_t ticks = 0;
  try {
    pid = std::stoi(parts[1]);
    ticks = std::stoull(parts[2]);
  } catch (...) {
    return false;
  }
  if (!util::ProcessAlive(pid)) return true;
  return ticks != 0 && util::ProcessStartTicks(pid) != ticks;
}

WorkflowEngine::WorkflowEngine(catalog::Db& db, EngineOptions options, HandlerFactory handlers)
    : db_(db),
      options_([&] {
        options.lease_seconds = LeaseSecondsFromEnv(options.lease_seconds);
        return std::move(options);
      }()),
      handlers_(std::move(handlers)),
      owner_(MakeOwner()) {}

int64_t WorkflowEngine::lease_micros() const {
  return static_cast<int64_t>(options_.lease_seconds * 1e6);
}

util::Result<WorkflowRecord> WorkflowEngine::Run(const std::string& id,
                                                 util::ProgressSink* progress,
                                                 const std::atomic<bool>* interrupted) {
  WorkflowStore store(db_);
  WorkflowRecord wf = MLV_TRY(store.Get("", id));
  std::unique_ptr<WorkflowHandler> handler = handlers_(wf.kind);
  if (!handler) return util::Internal("no handler for workflow kind \"" + wf.kind + "\"");

  // 1. Wait for our turn (or for another worker to finish it).
  bool told_queued = false;
  util::TimeMicros last_recover = 0;
  for (;;) {
    if (interrupted && interrupted->load()) {
      wf = MLV_TRY(store.Get("", id));
      if (!wf.terminal() && wf.status != WorkflowStatus::kRunning) {
        if (MLV_TRY(store.RequestCancel(id, "interrupted by a signal while queued",
                                        options_.clock->Now()))) {
          wf = MLV_TRY(store.Get("", id));
          util::Error e(util::ErrorCode::kCancelled, wf.error_message);
          MLV_TRY(handler->OnStatus(db_, wf, WorkflowStatus::kCancelled, &e, wf.warnings,
                                    options_.clock->Now()));
        }
      }
      return store.Get("", id);
    }
    util::TimeMicros now = 0;
    ClaimOutcome outcome = ClaimOutcome::kFinished;
    MLV_TRY(db_.Transaction([&]() -> util::Status {
      // The start time is read inside the transaction, after its first statement (SQLite: once
      // BEGIN IMMEDIATE holds the write lock; PostgreSQL: once the snapshot is taken): a workflow
      // this one queued behind has committed its end by then, so a start never precedes the end
      // it waited for (read before the transaction, it could, by the time spent waiting).
      MLV_TRY(store.Get("", id));
      now = options_.clock->Now();
      outcome = MLV_TRY(store.Claim(id, owner_, now, lease_micros()));
      if (outcome == ClaimOutcome::kClaimed) {
        WorkflowRecord cur = MLV_TRY(store.Get("", id));
        MLV_TRY(handler->OnStatus(db_, cur, WorkflowStatus::kRunning, nullptr, cur.warnings, now));
      } else if (outcome == ClaimOutcome::kWaiting && !told_queued) {
        WorkflowRecord cur = MLV_TRY(store.Get("", id));
        MLV_TRY(handler->OnStatus(db_, cur, WorkflowStatus::kQueued, nullptr, cur.warnings, now));
      }
      return util::Ok();
    }));
    if (outcome == ClaimOutcome::kClaimed) break;
    if (outcome == ClaimOutcome::kFinished) return store.Get("", id);
    if (outcome == ClaimOutcome::kWaiting) told_queued = true;
    // Waiting behind a workflow, or for another worker: make sure neither is a dead one.
    if (now - last_recover > static_cast<util::TimeMicros>(options_.lease_seconds * 1e6 / 4)) {
      last_recover = now;
      (void)Recover(false);
    }
    if (progress && outcome == ClaimOutcome::kOwnedByOther) {
      WorkflowRecord cur = MLV_TRY(store.Get("", id));
      progress->Report(util::ProgressSnapshot{static_cast<uint64_t>(cur.bytes_done),
                                              static_cast<uint64_t>(cur.bytes_total),
                                              static_cast<uint64_t>(cur.files_done),
                                              static_cast<uint64_t>(cur.files_total), cur.phase});
    }
    SleepSeconds(options_.poll_seconds);
  }

  // 2. Run with a heartbeat.
  wf = MLV_TRY(store.Get("", id));
  RecordingProgress recording(progress);
  util::CancelToken cancel;
  if (wf.timeout_seconds > 0 && wf.started_at)
    cancel.SetDeadline(*wf.started_at + wf.timeout_seconds * 1'000'000, options_.clock);
  Context ctx(wf, db_, *options_.clock, recording, cancel);
  util::Result<std::string> result = util::Internal("not run");
  bool lease_lost = false;
  {
    auto hb_db =
        options_.open_db
            ? options_.open_db()
            : util::Result<std::unique_ptr<catalog::Db>>(util::Internal("no catalog opener"));
    if (!hb_db) return std::unexpected(hb_db.error().WithContext("workflow heartbeat"));
    Heartbeat heartbeat(std::move(*hb_db), id, owner_, options_, lease_micros(), recording, cancel,
                        interrupted);
    util::Log(util::LogLevel::kInfo, "workflow {} ({}) running as {}", id, wf.kind, owner_);
    try {
      result = handler->Run(ctx);
    } catch (const std::exception& e) {
      result = util::Internal(std::string("workflow handler threw: ") + e.what());
    }
    lease_lost = heartbeat.lease_lost();
  }
  recording.Finish();
  if (lease_lost)
    return util::Conflict("workflow " + id +
                          " was taken over by another process; this worker stopped");

  // 3. End it, with the resource's own status, in one transaction.
  WorkflowStatus status = WorkflowStatus::kSucceeded;
  std::optional<util::Error> error;
  if (!result) {
    error = result.error();
    if (cancel.cancelled()) {
      std::string reason = cancel.reason();
      if (reason == "timed out") {
        status = WorkflowStatus::kFailed;
        error = util::Error(util::ErrorCode::kCancelled,
                            "timed out after " + std::to_string(wf.timeout_seconds / 60) +
                                " minute(s) (" + result.error().message() + ")");
      } else {
        status = WorkflowStatus::kCancelled;
        error = util::Error(util::ErrorCode::kCancelled, reason);
      }
    } else {
      status = WorkflowStatus::kFailed;
    }
  }
  std::string warnings = ctx.WarningsJson();
  util::TimeMicros now = options_.clock->Now();
  MLV_TRY(db_.Transaction([&]() -> util::Status {
    MLV_TRY(store.Finish(id, owner_, status, result ? *result : "{}", warnings,
                         error ? std::string(util::CodeName(error->code())) : "",
                         error ? error->message() : "", now));
    WorkflowRecord cur = MLV_TRY(store.Get("", id));
    return handler->OnStatus(db_, cur, status, error ? &*error : nullptr, warnings, now);
  }));
  WorkflowRecord final_wf = MLV_TRY(store.Get("", id));
  handler->AfterEnd(db_, final_wf);
  return final_wf;
}

util::Result<int> WorkflowEngine::Spawn(const std::string& id) {
  if (!options_.spawn_workers) return 0;
  if (options_.self_exe.empty())
    return util::Internal("cannot start a worker: the mlvault binary is unknown");
  std::string logs = options_.home + "/logs";
  MLV_TRY(util::MakeDirs(logs, 0700));
  int pid = MLV_TRY(util::SpawnDetached({options_.self_exe, "worker", "--workflow-id", id},
                                             logs + "/worker-" + id + ".log"));
  util::Log(util::LogLevel::kInfo, "workflow {}: worker pid {} started", id, pid);
  return pid;
}

bool WorkflowEngine::Stale(const WorkflowRecord& w, util::TimeMicros now) const {
  if (w.lease_owner.empty()) {
    // Accepted but no worker ever took it (its worker could not start or died at once).
    return now - w.updated_at > lease_micros();
  }
  if (w.lease_owner == owner_) return false;
  return w.lease_expires_at < now || OwnerIsLocalAndGone(w.lease_owner);
}

util::Result<std::vector<std::string>> WorkflowEngine::Recover(bool run_inline) {
  WorkflowStore store(db_);
  std::vector<std::string> report;
  std::vector<std::string> to_run;
  auto active = MLV_TRY(store.ListActive());
  for (const WorkflowRecord& w : active) {
    util::TimeMicros now = options_.clock->Now();
    if (!Stale(w, now)) continue;
    if (!MLV_TRY(store.TakeOver(w, owner_, now, lease_micros()))) continue;
    std::unique_ptr<WorkflowHandler> handler = handlers_(w.kind);
    if (!handler) continue;
    std::string who = w.lease_owner.empty()
                          ? std::string("no worker took it within the lease")
                          : "its worker " + w.lease_owner + " stopped (" +
                                (OwnerIsLocalAndGone(w.lease_owner)
                                     ? std::string("the process is gone")
                                     : "lease expired at " + util::FormatTime(w.lease_expires_at)) +
                                ")";
    std::string warnings = w.warnings;
    if (w.status == WorkflowStatus::kRunning) {
      for (const auto& c : handler->Compensate(db_, w)) warnings = AppendWarning(warnings, c);
      std::string cause = "workflow interrupted during phase \"" +
                          (w.phase.empty() ? "start" : w.phase) + "\": " + who;
      if (w.attempts < w.max_attempts) {
        warnings = AppendWarning(
            warnings, fmt::format("{}; resumed from the start (attempt {} of {})", cause,
                                  w.attempts + 1, w.max_attempts));
        MLV_TRY(db_.Transaction([&]() -> util::Status {
          MLV_TRY(store.Requeue(w.id, owner_, warnings, now));
          WorkflowRecord cur = MLV_TRY(store.Get("", w.id));
          return handler->OnStatus(db_, cur, cur.status, nullptr, warnings, now);
        }));
        report.push_back("resumed workflow " + w.id + " (" + w.kind + "): " + cause);
        to_run.push_back(w.id);
      } else {
        util::Error err(util::ErrorCode::kUnavailable, cause);
        MLV_TRY(db_.Transaction([&]() -> util::Status {
          MLV_TRY(store.Finish(w.id, owner_, WorkflowStatus::kFailed, "{}", warnings,
                               std::string(util::CodeName(err.code())), err.message(), now));
          WorkflowRecord cur = MLV_TRY(store.Get("", w.id));
          return handler->OnStatus(db_, cur, WorkflowStatus::kFailed, &err, warnings, now);
        }));
        WorkflowRecord cur = MLV_TRY(store.Get("", w.id));
        handler->AfterEnd(db_, cur);
        report.push_back("failed workflow " + w.id + " (" + w.kind + "): " + cause);
      }
    } else {
      MLV_TRY(store.Requeue(w.id, owner_, warnings, now));
      report.push_back("restarted the worker of workflow " + w.id + " (" + w.kind + "): " + who);
      to_run.push_back(w.id);
    }
  }
  for (const auto& id : to_run) {
    if (run_inline) {
      auto r = Run(id, nullptr);
      if (!r)
        report.push_back("workflow " + id + ": " + r.error().message());
      else
        report.push_back("workflow " + id + " ended " + catalog::WorkflowStatusName(r->status));
    } else if (auto pid = Spawn(id); !pid) {
      report.push_back("workflow " + id + ": could not start a worker: " + pid.error().message());
    }
  }
  for (const auto& line : report) util::Log(util::LogLevel::kWarn, "recovery: {}", line);
  return report;
}

}  // namespace mlvault::control
