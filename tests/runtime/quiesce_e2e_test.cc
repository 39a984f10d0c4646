// Quiesce and resume under load: no write lost or half-applied, the database file complete by
// itself while quiesced, the lease lapsing by itself, job runs paused.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "tests/runtime/harness.h"
#include "util/clock.h"
#include "util/files.h"

namespace mlvault::runtime::testing {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string Content(int t, int i) {
  std::string s = "writer " + std::to_string(t) + " item " + std::to_string(i) + "\n";
  while (s.size() < 16384 + static_cast<size_t>(i) * 37) s += s.substr(0, 61);
  return s;
}

std::set<std::string> ProjectNamesIn(const std::string& db_path) {
  std::set<std::string> names;
  sqlite3* db = nullptr;
  EXPECT_EQ(sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  EXPECT_EQ(sqlite3_prepare_v2(db, "SELECT name FROM projects", -1, &st, nullptr), SQLITE_OK)
      << sqlite3_errmsg(db);
  while (st && sqlite3_step(st) == SQLITE_ROW)
    names.insert(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return names;
}

TEST(Quiesce, ConcurrentWritersLoseNothingAndTheDatabaseFileIsCompleteWhileQuiesced) {
  Workspace ws;
  std::string error;
  ASSERT_TRUE(ws.Start(&error)) << error;
  std::string shared = ws.NewProject("shared");

  struct Outcome {
    bool is_file;
    std::string name;
    int status;
    Clock::time_point sent, answered;
  };
  std::mutex mu;
  std::vector<Outcome> outcomes;
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int t = 0; t < 6; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        bool is_file = i % 2 == 1;
        std::string name = is_file ? "w" + std::to_string(t) + "/" + std::to_string(i) + ".txt"
                                   : "w" + std::to_string(t) + "-" + std::to_string(i);
        auto sent = Clock::now();
        HttpReply r = is_file ? ws.Put(shared, name, Content(t, i))
                              : ws.Post("/api/v1/projects", {{"name", name}});
        auto answered = Clock::now();
        if (r.status == 503) {
          EXPECT_EQ(r.Json().value("error", ""), "backup in progress") << r.body;
          EXPECT_FALSE(r.Header("Retry-After").empty());
        } else {
          EXPECT_EQ(r.status, 201) << name << ": " << r.body;
        }
        std::lock_guard lock(mu);
        outcomes.push_back({is_file, name, r.status, sent, answered});
        std::this_thread::sleep_for(1ms);
      }
    });
  }

  std::this_thread::sleep_for(300ms);
  auto quiesce_sent = Clock::now();
  HttpReply q = ws.Internal("POST", "/internal/v1/quiesce", {{"leaseSeconds", 30}});
  auto quiesce_done = Clock::now();
  ASSERT_EQ(q.status, 200) << q.body;
  EXPECT_EQ(q.Json()["quiesced"], true);
  EXPECT_TRUE(util::ParseTime(q.Json()["leaseExpiresAt"].get<std::string>()).has_value());

  // Quiesced: reads work, health says so, the WAL is empty, the volumes are copied.
  EXPECT_EQ(ws.Call("GET", "/api/v1/health", "", "").Json()["quiesced"], true);
  EXPECT_EQ(ws.Get("/api/v1/projects").status, 200);
  struct stat wal;
  ASSERT_EQ(::stat((ws.metadata_path() + "-wal").c_str(), &wal), 0);
  EXPECT_EQ(wal.st_size, 0);
  std::string copy = CopyVolumes(ws);
  std::this_thread::sleep_for(300ms);
  auto resume_sent = Clock::now();
  HttpReply r = ws.Internal("POST", "/internal/v1/resume");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Json()["quiesced"], false);
  std::this_thread::sleep_for(300ms);
  stop = true;
  for (auto& w : writers) w.join();

  std::set<std::string> acked_projects, acked_files, acked_before_projects, acked_before_files;
  int refused = 0, during = 0;
  for (const Outcome& o : outcomes) {
    if (o.sent > quiesce_done && o.answered < resume_sent) {
      ++during;
      EXPECT_EQ(o.status, 503) << o.name << " was accepted while quiesced";
    }
    if (o.status == 503) ++refused;
    if (o.status != 201) continue;
    (o.is_file ? acked_files : acked_projects).insert(o.name);
    if (o.answered < quiesce_sent)
      (o.is_file ? acked_before_files : acked_before_projects).insert(o.name);
  }
  EXPECT_GT(during, 10);
  EXPECT_GT(refused, 10);
  EXPECT_GT(acked_before_projects.size(), 5u);
  EXPECT_GT(acked_projects.size(), acked_before_projects.size());  // writes resumed

  // The copy taken while quiesced: its database file alone has every write acknowledged before
  // the quiesce and nothing that was not acknowledged; its files are whole.
  std::set<std::string> copied = ProjectNamesIn(copy + "/metadata/ws.db");
  copied.erase("shared");
  for (const auto& n : acked_before_projects)
    EXPECT_TRUE(copied.count(n)) << n << " missing from the copy";
  for (const auto& n : copied)
    EXPECT_TRUE(acked_projects.count(n)) << n << " in the copy was never acknowledged";
  std::set<std::string> copied_files;
  std::string shared_copy = copy + "/projects/" + shared;
  for (auto& e : std::filesystem::recursive_directory_iterator(shared_copy)) {
    if (!e.is_regular_file()) continue;
    std::string rel = std::filesystem::relative(e.path(), shared_copy).string();
    copied_files.insert(rel);
    int t = std::stoi(rel.substr(1, rel.find('/') - 1));
    int i = std::stoi(rel.substr(rel.find('/') + 1));
    EXPECT_EQ(util::ReadFile(e.path().string()).value_or(""), Content(t, i))
        << rel << " is not whole";
  }
  for (const auto& f : acked_before_files)
    EXPECT_TRUE(copied_files.count(f)) << f << " missing from the copy";
  for (const auto& f : copied_files)
    EXPECT_TRUE(acked_files.count(f)) << f << " was never acknowledged";

  // The live workspace: exactly the acknowledged writes.
  std::set<std::string> live;
  for (const json& p : Items(ws.Get("/api/v1/projects"), "projects"))
    live.insert(p["name"].get<std::string>());
  live.erase("shared");
  EXPECT_EQ(live, acked_projects);
  std::set<std::string> live_files;
  for (const json& f : Items(ws.Get("/api/v1/projects/" + shared + "/files"), "files")) {
    std::string path = f["path"];
    live_files.insert(path);
    int t = std::stoi(path.substr(1, path.find('/') - 1));
    int i = std::stoi(path.substr(path.find('/') + 1));
    EXPECT_EQ(f["sha256"], Sha256Hex(Content(t, i))) << path;
  }
  EXPECT_EQ(live_files, acked_files);
  EXPECT_EQ(ws.Stop(), 0);
  (void)util::RemoveAll(copy);
}

TEST(Quiesce, LeaseLapsesByItselfAndCanBeRenewed) {
  Workspace ws;
  std::string error;
  ASSERT_TRUE(ws.Start(&error)) << error;

  EXPECT_EQ(ws.Call("POST", "/internal/v1/quiesce", "{}", kApiKey).status, 401);
  EXPECT_EQ(ws.Internal("POST", "/internal/v1/quiesce", {{"leaseSeconds", 0}}).status, 400);
  EXPECT_EQ(ws.Internal("POST", "/internal/v1/quiesce", {{"leaseSeconds", 99999}}).status, 400);
  EXPECT_EQ(ws.Internal("POST", "/internal/v1/quiesce", {{"leaseSeconds", "60"}}).status, 400);
  EXPECT_EQ(ws.Internal("POST", "/internal/v1/quiesce", {{"lease", 60}}).status, 400);
  EXPECT_EQ(ws.Call("POST", "/internal/v1/quiesce", "{bad", kControlKey).status, 400);
  EXPECT_EQ(ws.Call("GET", "/api/v1/health", "", "").Json()["quiesced"], false);

  auto start = Clock::now();
  ASSERT_EQ(ws.Internal("POST", "/internal/v1/quiesce", {{"leaseSeconds", 1}}).status, 200);
  HttpReply refused = ws.Post("/api/v1/projects", {{"name", "during"}});
  EXPECT_EQ(refused.status, 503);
  EXPECT_EQ(refused.Header("Retry-After"), "1");
  json status = ws.Internal("GET", "/internal/v1/status").Json();
  EXPECT_EQ(status["quiesced"], true);
  EXPECT_EQ(status["writesInFlight"], 0);
  while (ws.Call("GET", "/api/v1/health", "", "").Json()["quiesced"] == true &&
         Clock::now() - start < 5s)
    std::this_thread::sleep_for(20ms);
  auto lapsed_after = Clock::now() - start;
  EXPECT_GE(lapsed_after, 900ms);
  EXPECT_LT(lapsed_after, 3s);
  EXPECT_EQ(ws.Post("/api/v1/projects", {{"name", "after"}}).status, 201);
  EXPECT_NE(ws.Log().find("lapsed"), std::string::npos);

  // Renewal: a second quiesce extends the lease from now.
  ASSERT_EQ(ws.Internal("POST", "/internal/v1/quiesce", {{"leaseSeconds", 2}}).status, 200);
  std::this_thread::sleep_for(1200ms);
  ASSERT_EQ(ws.Internal("POST", "/internal/v1/quiesce", {{"leaseSeconds", 2}}).status, 200);
  std::this_thread::sleep_for(1200ms);
  EXPECT_EQ(ws.Post("/api/v1/projects", {{"name", "still-quiesced"}}).status, 503);
  ASSERT_EQ(ws.Internal("POST", "/internal/v1/resume").status, 200);
  EXPECT_EQ(ws.Post("/api/v1/projects", {{"name", "resumed"}}).status, 201);
  EXPECT_EQ(ws.Internal("POST", "/internal/v1/resume").status, 200);  // idempotent
  EXPECT_EQ(ws.Get("/api/v1/projects").Json()["projects"].size(), 2u);
  EXPECT_EQ(ws.Stop(), 0);
}

TEST(Quiesce, PausesJobRunsAndHoldsStatusChangesUntilResume) {
  Workspace ws;
  std::string error;
  ASSERT_TRUE(ws.Start(&error)) << error;
  std::string id = ws.NewProject("ticks");
  ASSERT_EQ(ws.Put(id, "tick.py",
                   "import time\nfor i in range(1000):\n    "
                   "open('ticks.txt','a').write(f'{i}\\n')\n    time.sleep(0.02)\n")
                .status,
            201);
  ASSERT_EQ(
      ws.Put(id, "app.py",
             "import http.server, os\nhttp.server.HTTPServer(('127.0.0.1', "
             "int(os.environ['PORT'])), http.server.SimpleHTTPRequestHandler).serve_forever()\n")
          .status,
      201);
  json job = ws.Post("/api/v1/projects/" + id + "/jobs",
                     {{"name", "tick"}, {"script", "tick.py"}, {"interpreter", "python3"}})
                 .Json();
  std::string run =
      ws.Post("/api/v1/jobs/" + job["id"].get<std::string>() + "/runs", json::object())
          .Json()["id"];
  std::string ticks = ws.projects_dir() + "/" + id + "/ticks.txt";
  auto lines = [&] {
    std::string t = util::ReadFile(ticks).value_or("");
    return std::count(t.begin(), t.end(), '\n');
  };
  for (int i = 0; i < 1000 && lines() < 3; ++i) std::this_thread::sleep_for(10ms);
  ASSERT_GE(lines(), 3);

  // An application that answers only after a moment: it becomes reachable while quiesced, but
  // its recorded status changes only after resume.
  HttpReply app = ws.Post(
      "/api/v1/projects/" + id + "/applications",
      {{"name", "slow"}, {"subdomain", "slow"}, {"command", "sleep 0.4; exec python3 app.py"}});
  ASSERT_EQ(app.status, 201) << app.body;
  std::string app_id = app.Json()["id"];
  ASSERT_EQ(ws.Internal("POST", "/internal/v1/quiesce", {{"leaseSeconds", 30}}).status, 200);
  auto paused = lines();
  auto quiesced_at = std::chrono::steady_clock::now();
  HttpReply reached;
  for (int i = 0; i < 1500 && reached.status != 200; ++i) {
    std::this_thread::sleep_for(10ms);
    reached = ws.Get("/apps/slow/ticks.txt");
  }
  EXPECT_EQ(reached.status, 200) << "the application was not reachable while quiesced";
  std::this_thread::sleep_until(quiesced_at + 500ms);
  EXPECT_EQ(lines(), paused) << "the job kept writing while quiesced";
  EXPECT_EQ(ws.Get("/api/v1/applications/" + app_id).Json()["status"], "starting");
  EXPECT_EQ(ws.Get("/api/v1/runs/" + run).Json()["status"], "running");

  ASSERT_EQ(ws.Internal("POST", "/internal/v1/resume").status, 200);
  EXPECT_EQ(ws.WaitWhile("/api/v1/applications/" + app_id, "starting")["status"], "running");
  for (int i = 0; i < 200 && lines() <= paused; ++i) std::this_thread::sleep_for(10ms);
  EXPECT_GT(lines(), paused) << "the job did not continue after resume";
  EXPECT_EQ(ws.Post("/api/v1/runs/" + run + "/stop", json::object()).Json()["status"],
            "interrupted");
  EXPECT_EQ(ws.Stop(), 0);
}

}  // namespace
}  // namespace mlvault::runtime::testing
