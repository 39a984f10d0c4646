// A copy of a workspace's volumes started as a new workspace (what a restore does), and a
// restart after a crash: the state comes back to life.
#include <gtest/gtest.h>

#include <thread>

#include "tests/runtime/harness.h"
#include "util/files.h"

namespace mlvault::runtime::testing {
namespace {

using namespace std::chrono_literals;

const char* kCrnA =
    "crn:mlvault:ml:us-west-1:11111111-1111-1111-1111-111111111111:workspace:aaaaaaaa-0000-4000-"
    "8000-000000000001";
const char* kCrnB =
    "crn:mlvault:ml:us-west-1:11111111-1111-1111-1111-111111111111:workspace:bbbbbbbb-0000-4000-"
    "8000-000000000002";

json Snapshot(const Workspace& ws, const std::string& host = "") {
  std::vector<std::string> argv = {MLVAULT_WORKSPACE_BIN, "snapshot",  "--endpoint",
                                   ws.endpoint(),         "--api-key", kApiKey,
                                   "--timeout-seconds",   "20"};
  if (!host.empty()) argv.insert(argv.end(), {"--domain", host});
  CommandResult r = RunCommand(argv);
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return json::parse(r.output, nullptr, false);
}

TEST(Reconcile, ACopyOfTheVolumesStartsAsANewWorkspaceWithEverythingRunning) {
  Workspace::Options oa;
  oa.domain = "ws-a.example.test";
  oa.crn = kCrnA;
  Workspace a(oa);
  std::string error;
  ASSERT_TRUE(a.Start(&error)) << error;

  CommandResult seeded =
      RunCommand({MLVAULT_WORKSPACE_BIN, "seed", "--endpoint", a.endpoint(), "--api-key", kApiKey});
  ASSERT_EQ(seeded.exit_code, 0) << seeded.output << a.Log();
  json summary = json::parse(seeded.output, nullptr, false);
  ASSERT_TRUE(summary.is_object()) << seeded.output;
  ASSERT_EQ(summary["projects"].size(), 3u);

  // A job run in flight at backup time.
  std::string pid = a.NewProject("in-flight");
  ASSERT_EQ(a.Put(pid, "loop.sh", "while true; do sleep 0.1; done\n").status, 201);
  json job = a.Post("/api/v1/projects/" + pid + "/jobs",
                    {{"name", "loop"}, {"script", "loop.sh"}, {"interpreter", "sh"}})
                 .Json();
  std::string run =
      a.Post("/api/v1/jobs/" + job["id"].get<std::string>() + "/runs", json::object()).Json()["id"];

  ASSERT_EQ(a.Internal("POST", "/internal/v1/quiesce", {{"leaseSeconds", 60}}).status, 200);
  json snap_a = Snapshot(a, "ws-a.example.test:443");
  std::string copy = CopyVolumes(a);
  ASSERT_EQ(a.Internal("POST", "/internal/v1/resume").status, 200);

  Workspace::Options ob;
  ob.domain = "ws-b.example.test";
  ob.crn = kCrnB;
  ob.copy_of = copy;
  Workspace b(ob);
  ASSERT_TRUE(b.Start(&error)) << error;
  ASSERT_NE(a.port(), b.port());
  ASSERT_TRUE(b.WaitReconciled(30s)) << b.Log();
  json health = b.Call("GET", "/api/v1/health", "", kControlKey).Json();
  EXPECT_EQ(health["workspaceCrn"], kCrnB);
  EXPECT_EQ(health["domain"], "ws-b.example.test");

  // Everything is there; the run in flight became interrupted, nothing else changed.
  json snap_b = Snapshot(b);
  ASSERT_TRUE(snap_a.is_object() && snap_b.is_object());
  for (json& p : snap_a["projects"])
    for (json& j : p["jobs"])
      for (json& r : j["runs"])
        if (r["status"] == "running") r["status"] = "interrupted";
  EXPECT_EQ(snap_a, snap_b) << "source:\n" << snap_a.dump(1) << "\nrestored:\n" << snap_b.dump(1);
  json restored_run = b.Get("/api/v1/runs/" + run).Json();
  EXPECT_EQ(restored_run["status"], "interrupted");
  EXPECT_NE(restored_run["message"].get<std::string>().find("restarted"), std::string::npos);

  // Applications and deployments run again on the new endpoint, from the restored build.
  for (const json& app : Items(b.Get("/api/v1/applications"), "applications"))
    EXPECT_EQ(app["status"], "running");
  for (const json& d : Items(b.Get("/api/v1/deployments"), "deployments"))
    EXPECT_EQ(d["status"], "running");
  HttpReply dash = b.Call("GET", "/apps/dashboard/api/summary", "", kApiKey, "ws-b.example.test");
  EXPECT_EQ(dash.status, 200) << dash.body;
  EXPECT_TRUE(dash.Json().contains("revenueByRegion"));
  HttpReply predict = b.Call("POST", "/models/churn/predict",
                             R"({"tenure_months": 5, "monthly_charges": 80, "support_calls": 4})");
  EXPECT_EQ(predict.status, 200) << predict.body;
  EXPECT_TRUE(predict.Json().contains("churnProbability")) << predict.body;
  EXPECT_EQ(b.Get("/api/v1/models/" + summary["model"]["id"].get<std::string>() + "/builds")
                .Json()["builds"]
                .size(),
            1u);

  // The new workspace does not answer to the old name; the old one keeps running untouched.
  EXPECT_EQ(b.Call("GET", "/api/v1/health", "", "", "ws-a.example.test").status, 421);
  EXPECT_EQ(a.Get("/api/v1/runs/" + run).Json()["status"], "running");
  EXPECT_EQ(a.Get("/apps/dashboard/").status, 200);

  std::vector<pid_t> pids_a, pids_b;
  for (const json& app : Items(a.Get("/api/v1/applications"), "applications"))
    pids_a.push_back(app["pid"]);
  for (const json& d : Items(a.Get("/api/v1/deployments"), "deployments"))
    pids_a.push_back(d["pid"]);
  for (const json& app : Items(b.Get("/api/v1/applications"), "applications"))
    pids_b.push_back(app["pid"]);
  ASSERT_EQ(pids_a.size(), 2u);
  ASSERT_EQ(pids_b.size(), 1u);
  EXPECT_NE(pids_a[0], pids_b[0]);
  EXPECT_EQ(b.Stop(), 0);
  for (pid_t p : pids_b) EXPECT_FALSE(ProcessAlive(p));
  for (pid_t p : pids_a) EXPECT_TRUE(ProcessAlive(p));
  EXPECT_EQ(a.Stop(), 0);
  for (pid_t p : pids_a) EXPECT_FALSE(ProcessAlive(p)) << "SIGTERM to the runtime left " << p;
}

TEST(Reconcile, RestartAfterACrashReplacesOrphansAndInterruptsRuns) {
  Workspace ws;
  std::string error;
  ASSERT_TRUE(ws.Start(&error)) << error;
  std::string id = ws.NewProject("crash");
  ASSERT_EQ(ws.Put(id, "index.html", "up").status, 201);
  ASSERT_EQ(ws.Put(id, "loop.sh", "while true; do sleep 0.1; done\n").status, 201);
  json app = ws.Post("/api/v1/projects/" + id + "/applications",
                     {{"name", "web"},
                      {"subdomain", "web"},
                      {"command", "exec python3 -m http.server $PORT --bind 127.0.0.1"}})
                 .Json();
  std::string app_id = app["id"];
  json running = ws.WaitWhile("/api/v1/applications/" + app_id, "starting");
  ASSERT_EQ(running["status"], "running");
  pid_t old_pid = running["pid"];
  json job = ws.Post("/api/v1/projects/" + id + "/jobs",
                     {{"name", "loop"}, {"script", "loop.sh"}, {"interpreter", "sh"}})
                 .Json();
  std::string run =
      ws.Post("/api/v1/jobs/" + job["id"].get<std::string>() + "/runs", json::object())
          .Json()["id"];

  ws.Kill();  // no chance to stop its children
  EXPECT_TRUE(ProcessAlive(old_pid));
  ASSERT_TRUE(ws.Start(&error)) << error;
  ASSERT_TRUE(ws.WaitReconciled()) << ws.Log();
  for (int i = 0; i < 100 && ProcessAlive(old_pid); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_FALSE(ProcessAlive(old_pid)) << "the orphan of the crashed runtime still runs";
  json revived = ws.Get("/api/v1/applications/" + app_id).Json();
  EXPECT_EQ(revived["status"], "running");
  EXPECT_NE(revived["pid"].get<pid_t>(), old_pid);
  EXPECT_EQ(ws.Get("/apps/web/index.html").body, "up");
  EXPECT_EQ(ws.Get("/api/v1/runs/" + run).Json()["status"], "interrupted");
  EXPECT_EQ(ws.Stop(), 0);
  EXPECT_FALSE(ProcessAlive(revived["pid"].get<pid_t>()));
}

}  // namespace
}  // namespace mlvault::runtime::testing
