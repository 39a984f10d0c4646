#include "control/workflow_engine.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "catalog/control_schema.h"
#include "util/files.h"
#include "util/random.h"
#include "util/process.h"

namespace mlvault::control {
namespace {

using catalog::WorkflowRecord;
using catalog::WorkflowStatus;
using catalog::WorkflowStore;

// A handler whose behaviour the test picks through the workflow's input.
struct Script {
  std::mutex mu;
  std::vector<std::string> events;  // "run <id>", "status <id> <status>", "compensate <id>"
  void Add(std::string e) {
    std::lock_guard l(mu);
    events.push_back(std::move(e));
  }
  std::vector<std::string> Get() {
    std::lock_guard l(mu);
    return events;
  }
};

class FakeHandler : public WorkflowHandler {
 public:
  explicit FakeHandler(Script& s) : s_(s) {}
  util::Result<std::string> Run(WorkflowContext& ctx) override {
    const auto& wf = ctx.workflow();
    s_.Add("run " + wf.input);
    ctx.SetPhase("working");
    ctx.progress()->Report({10, 20, 1, 2, "copy"});
    if (wf.input == "fail") return util::IoError("disk full");
    if (wf.input == "warn") ctx.Warn("skipped a socket");
    if (wf.input == "slow" || wf.input == "forever") {
      for (int i = 0; i < (wf.input == "slow" ? 5 : 300); ++i) {
        if (ctx.cancel()->cancelled()) return util::Cancelled(ctx.cancel()->reason());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    return std::string(R"({"done":true})");
  }
  util::Status OnStatus(catalog::Db&, const WorkflowRecord& wf, catalog::WorkflowStatus status,
                        const util::Error* error, const std::string&, util::TimeMicros) override {
    s_.Add("status " + wf.input + " " + catalog::WorkflowStatusName(status) +
           (error ? " " + error->message() : ""));
    return util::Ok();
  }
  std::vector<std::string> Compensate(catalog::Db&, const WorkflowRecord& wf) override {
    s_.Add("compensate " + wf.input);
    return {"resumed the workspace"};
  }

 private:
  Script& s_;
};

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *util::MakeTempDir("mlvault-engine-test-");
    db_ = Open();
    ASSERT_TRUE(db_->Migrate(catalog::ControlMigrations()));
  }
  void TearDown() override {
    db_.reset();
    ASSERT_TRUE(util::RemoveAll(dir_));
  }
  std::unique_ptr<catalog::Db> Open() {
    return std::move(*catalog::OpenSqlite(dir_ + "/catalog.db"));
  }
  std::unique_ptr<WorkflowEngine> Engine(catalog::Db& db) {
    EngineOptions o;
    o.home = dir_;
    o.lease_seconds = 5;
    o.heartbeat_seconds = 0.05;
    o.poll_seconds = 0.02;
    o.open_db = [this]() -> util::Result<std::unique_ptr<catalog::Db>> {
      return catalog::OpenSqlite(dir_ + "/catalog.db");
    };
    return std::make_unique<WorkflowEngine>(
        db, o, [this](const std::string&) { return std::make_unique<FakeHandler>(script_); });
  }
  std::string Insert(const std::string& input, const std::string& queue = "q", int64_t timeout = 0,
                     int64_t max_attempts = 2) {
    WorkflowRecord w;
    w.id = util::NewUuid();
    w.account_id = "acct";
    w.kind = "fake";
    w.queue_key = queue;
    w.resource_crn = "crn";
    w.caller = "{}";
    w.input = input;
    w.max_attempts = max_attempts;
    w.timeout_seconds = timeout;
    w.created_at = w.updated_at = util::Clock::System().Now();
    EXPECT_TRUE(WorkflowStore(*db_).Insert(w));
    return w.id;
  }

  std::string dir_;
  std::unique_ptr<catalog::Db> db_;
  Script script_;
};

TEST_F(EngineTest, RunsToSuccessFailureAndKeepsWarnings) {
  auto engine = Engine(*db_);
  auto ok = engine->Run(Insert("ok"), nullptr);
  ASSERT_TRUE(ok) << ok.error().message();
  EXPECT_EQ(ok->status, WorkflowStatus::kSucceeded);
  EXPECT_EQ(ok->output, R"({"done":true})");
  EXPECT_EQ(ok->lease_owner, "");
  auto bad = engine->Run(Insert("fail"), nullptr);
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, WorkflowStatus::kFailed);
  EXPECT_EQ(bad->error_code, "io");
  EXPECT_EQ(bad->error_message, "disk full");
  auto warn = engine->Run(Insert("warn"), nullptr);
  EXPECT_EQ(warn->warnings, R"(["skipped a socket"])");
  auto ev = script_.Get();
  EXPECT_EQ(ev[0], "status ok running");
  EXPECT_EQ(ev[2], "status ok succeeded");
  EXPECT_EQ(ev[5], "status fail failed disk full");
}

TEST_F(EngineTest, CancelAndTimeout) {
  auto id = Insert("forever");
  std::thread canceller([&] {
    auto db = Open();
    WorkflowStore s(*db);
    for (int i = 0; i < 200; ++i) {
      if (s.Get("", id)->status == WorkflowStatus::kRunning) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ASSERT_TRUE(s.RequestCancel(id, "cancelled by admin", util::Clock::System().Now()));
  });
  auto engine = Engine(*db_);
  auto r = engine->Run(id, nullptr);
  canceller.join();
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, WorkflowStatus::kCancelled);
  EXPECT_EQ(r->error_message, "cancelled by admin");

  // A 1 s timeout that has already passed when the handler runs.
  auto t = Insert("forever", "q", 1);
  util::FakeClock clock(util::Clock::System().Now());
  EngineOptions o;
  o.home = dir_;
  o.clock = &clock;
  o.heartbeat_seconds = 0.05;
  o.open_db = [this]() -> util::Result<std::unique_ptr<catalog::Db>> {
    return catalog::OpenSqlite(dir_ + "/catalog.db");
  };
  WorkflowEngine timed(
      *db_, o, [this](const std::string&) { return std::make_unique<FakeHandler>(script_); });
  std::thread advance([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    clock.Advance(std::chrono::seconds(2));
  });
  auto tr = timed.Run(t, nullptr);
  advance.join();
  ASSERT_TRUE(tr);
  EXPECT_EQ(tr->status, WorkflowStatus::kFailed);
  EXPECT_NE(tr->error_message.find("timed out"), std::string::npos) << tr->error_message;

  // Interrupted (SIGINT of a --wait run): cancelled cleanly.
  std::atomic<bool> interrupted{false};
  auto i = Insert("forever");
  std::thread sig([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    interrupted = true;
  });
  auto ir = engine->Run(i, nullptr, &interrupted);
  sig.join();
  EXPECT_EQ(ir->status, WorkflowStatus::kCancelled);
}

TEST_F(EngineTest, QueueRunsSecondAfterFirst) {
  auto first = Insert("slow", "ws1");
  auto second = Insert("ok", "ws1");
  EXPECT_EQ(WorkflowStore(*db_).Get("", second)->status, WorkflowStatus::kQueued);
  std::thread t2([&] {
    auto db = Open();
    auto e = Engine(*db);
    ASSERT_TRUE(e->Run(second, nullptr));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto engine = Engine(*db_);
  ASSERT_TRUE(engine->Run(first, nullptr));
  t2.join();
  auto ev = script_.Get();
  // second was told it is queued, and ran only after first ended.
  auto pos = [&](const std::string& e) { return std::find(ev.begin(), ev.end(), e) - ev.begin(); };
  EXPECT_LT(pos("status ok queued"), pos("status slow succeeded"));
  EXPECT_LT(pos("status slow succeeded"), pos("run ok"));
  EXPECT_EQ(WorkflowStore(*db_).Get("", second)->status, WorkflowStatus::kSucceeded);
}

TEST_F(EngineTest, RecoverResumesOrFailsADeadWorkersWorkflow) {
  WorkflowStore store(*db_);
  auto now = util::Clock::System().Now();
  // A worker on another machine claimed it and stopped heartbeating: its lease expired.
  auto resumable = Insert("ok", "a", 0, 2);
  ASSERT_EQ(*store.Claim(resumable, "elsewhere/1/1/ab", now - 60'000'000, 1'000'000),
            catalog::ClaimOutcome::kClaimed);
  // A local worker that is gone (pid 0x7ffffff0 does not exist), out of attempts.
  auto exhausted = Insert("ok", "b", 0, 1);
  ASSERT_EQ(*store.Claim(exhausted, "x/2147483632/5/ab", now, 60'000'000),
            catalog::ClaimOutcome::kClaimed);
  // Alive and well: left alone.
  auto healthy = Insert("ok", "c", 0, 1);
  ASSERT_EQ(*store.Claim(healthy, "elsewhere/1/1/cd", now, 600'000'000),
            catalog::ClaimOutcome::kClaimed);

  // Make the local owner look local.
  ASSERT_TRUE(db_->Exec("UPDATE workflows SET lease_owner = ? WHERE id = ?",
                        {util::HostName() + "/2147483632/5/ab", exhausted}));
  auto engine = Engine(*db_);
  auto report = engine->Recover(true);
  ASSERT_TRUE(report) << report.error().message();
  auto r = *store.Get("", resumable);
  EXPECT_EQ(r.status, WorkflowStatus::kSucceeded);
  EXPECT_EQ(r.attempts, 2);
  EXPECT_NE(r.warnings.find("resumed the workspace"), std::string::npos) << r.warnings;
  EXPECT_NE(r.warnings.find("lease expired"), std::string::npos) << r.warnings;
  auto e = *store.Get("", exhausted);
  EXPECT_EQ(e.status, WorkflowStatus::kFailed);
  EXPECT_NE(e.error_message.find("the process is gone"), std::string::npos) << e.error_message;
  EXPECT_EQ(store.Get("", healthy)->status, WorkflowStatus::kRunning);
  auto ev = script_.Get();
  EXPECT_NE(std::find(ev.begin(), ev.end(), "compensate ok"), ev.end());
}

}  // namespace
}  // namespace mlvault::control
