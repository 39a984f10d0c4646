// Every endpoint of mlvault-workspace over HTTP, with the bad input each must refuse.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "tests/runtime/harness.h"
#include "util/files.h"

namespace mlvault::runtime::testing {
namespace {

using namespace std::chrono_literals;

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Workspace::Options o;
    o.extra_flags = {"--max-upload-bytes", "1048576"};
    ws_ = std::make_unique<Workspace>(o);
    std::string error;
    ASSERT_TRUE(ws_->Start(&error)) << error;
  }
  void TearDown() override {
    if (ws_) {
      EXPECT_EQ(ws_->Stop(), 0) << ws_->Log();
    }
  }

  // Expects a JSON error with this status; returns its message.
  static std::string ExpectError(const HttpReply& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    json j = r.Json();
    EXPECT_TRUE(j.is_object() && j.contains("error") && j.contains("code")) << r.body;
    return j.is_object() ? j.value("error", "") : "";
  }

  std::unique_ptr<Workspace> ws_;
};

TEST_F(ApiTest, HealthIdentityAndAuthentication) {
  // Unauthenticated, health says that the runtime serves, not whose workspace it is.
  HttpReply h = ws_->Call("GET", "/api/v1/health", "", "");
  ASSERT_EQ(h.status, 200) << h.body;
  json j = h.Json();
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["version"], "1.4.0");
  EXPECT_EQ(j["quiesced"], false);
  EXPECT_FALSE(j.contains("workspaceCrn")) << h.body;
  EXPECT_FALSE(j.contains("domain")) << h.body;
  EXPECT_EQ(h.body.find("crn:mlvault"), std::string::npos) << h.body;
  EXPECT_FALSE(ws_->Call("GET", "/api/v1/health", "", "wrong-key-0123456789")
                   .Json()
                   .contains("workspaceCrn"));
  // With the control key (as the control plane asks) or the API key: the identity too.
  for (const char* key : {kControlKey, kApiKey}) {
    json k = ws_->Call("GET", "/api/v1/health", "", key).Json();
    EXPECT_EQ(k["domain"], "ws.test");
    EXPECT_TRUE(k["workspaceCrn"].get<std::string>().starts_with("crn:mlvault:ml:"));
    EXPECT_EQ(k["leaseGeneration"], 0);
  }
  EXPECT_TRUE(ws_->WaitReconciled());

  HttpReply none = ws_->Call("GET", "/api/v1/projects", "", "");
  ExpectError(none, 401);
  EXPECT_EQ(none.Header("WWW-Authenticate"), "Bearer");
  ExpectError(ws_->Call("GET", "/api/v1/projects", "", "wrong-key-0123456789"), 401);
  ExpectError(ws_->Call("GET", "/api/v1/projects", "", kControlKey), 401);
  ExpectError(ws_->Call("GET", "/internal/v1/status", "", kApiKey), 401);
  EXPECT_EQ(ws_->Call("GET", "/internal/v1/status", "", kControlKey).status, 200);

  // Host: this workspace's domain (any port) or the loopback literal; nothing else.
  EXPECT_EQ(ws_->Call("GET", "/api/v1/projects", "", kApiKey, "ws.test").status, 200);
  EXPECT_EQ(ws_->Call("GET", "/api/v1/projects", "", kApiKey, "WS.test:443").status, 200);
  EXPECT_EQ(ws_->Call("GET", "/api/v1/projects", "", kApiKey, "127.0.0.1").status, 200);
  std::string msg = ExpectError(ws_->Call("GET", "/api/v1/health", "", "", "old-ws.test"), 421);
  EXPECT_NE(msg.find("ws.test"), std::string::npos);
  ExpectError(ws_->Call("GET", "/api/v1/projects", "", kApiKey, "localhost"), 421);

  // Unknown routes and methods.
  ExpectError(ws_->Get("/api/v1/nothing-here"), 404);
  HttpReply m = ws_->Call("PATCH", "/api/v1/projects", "{}");
  ExpectError(m, 405);
  EXPECT_NE(m.Header("Allow").find("POST"), std::string::npos);
}

TEST_F(ApiTest, ProjectsCrudAndBadInput) {
  HttpReply c =
      ws_->Post("/api/v1/projects", {{"name", "vision"}, {"description", "images\nand more"}});
  ASSERT_EQ(c.status, 201) << c.body;
  std::string id = c.Json()["id"];
  EXPECT_EQ(ws_->Get("/api/v1/projects/" + id).Json()["name"], "vision");
  ws_->NewProject("audio");
  json list = ws_->Get("/api/v1/projects").Json()["projects"];
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["name"], "audio");  // by name

  ExpectError(ws_->Post("/api/v1/projects", {{"name", "vision"}}), 409);
  ExpectError(ws_->Call("POST", "/api/v1/projects", "{\"name\": "), 400);
  ExpectError(ws_->Call("POST", "/api/v1/projects", "[1,2]"), 400);
  ExpectError(ws_->Call("POST", "/api/v1/projects", ""), 400);
  ExpectError(ws_->Post("/api/v1/projects", json::object()), 400);
  EXPECT_NE(ExpectError(ws_->Post("/api/v1/projects", {{"name", "x"}, {"owner", "me"}}), 400)
                .find("owner"),
            std::string::npos);
  ExpectError(ws_->Post("/api/v1/projects", {{"name", 42}}), 400);
  ExpectError(ws_->Post("/api/v1/projects", {{"name", std::string(101, 'a')}}), 400);
  ExpectError(ws_->Post("/api/v1/projects", {{"name", "tab\there"}}), 400);
  ExpectError(ws_->Post("/api/v1/projects", {{"name", "   "}}), 400);
  ExpectError(ws_->Call("POST", "/api/v1/projects",
                        "{\"name\":\"big\",\"description\":\"" + std::string(2 << 20, 'x') + "\"}"),
              413);
  ExpectError(ws_->Get("/api/v1/projects/00000000-0000-0000-0000-000000000000"), 404);
  ExpectError(ws_->Delete("/api/v1/projects/nope"), 404);
  EXPECT_EQ(ws_->Get("/api/v1/projects").Json()["projects"].size(), 2u);  // nothing half-made

  HttpReply d = ws_->Delete("/api/v1/projects/" + id);
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(d.Json()["deleted"], true);
  ExpectError(ws_->Get("/api/v1/projects/" + id), 404);
  EXPECT_FALSE(std::filesystem::exists(ws_->projects_dir() + "/" + id));
}

TEST_F(ApiTest, FilesUploadListDownloadDeleteAndRefuseEscapes) {
  std::string id = ws_->NewProject("files");
  std::string csv = "a,b\n1,2\n";
  HttpReply u = ws_->Put(id, "data/train.csv", csv);
  ASSERT_EQ(u.status, 201) << u.body;
  EXPECT_EQ(u.Json()["sha256"], Sha256Hex(csv));
  EXPECT_EQ(u.Json()["size"], csv.size());
  std::string bin(300000, '\0');
  for (size_t i = 0; i < bin.size(); ++i) bin[i] = static_cast<char>(i * 7);
  ASSERT_EQ(ws_->Put(id, "model/weights.bin", bin).status, 201);
  ASSERT_EQ(ws_->Put(id, "data/train.csv", "a,b\n").status, 200);  // replaced
  ASSERT_EQ(ws_->Put(id, "notes/%C3%BCber%20sicht.txt", "ü").status, 201);
  ASSERT_EQ(ws_->Put(id, "empty", "").status, 201);

  json files = ws_->Get("/api/v1/projects/" + id + "/files").Json()["files"];
  ASSERT_EQ(files.size(), 4u) << files.dump();
  EXPECT_EQ(files[0]["path"], "data/train.csv");
  EXPECT_EQ(files[0]["sha256"], Sha256Hex("a,b\n"));
  EXPECT_EQ(files[2]["path"], "model/weights.bin");
  EXPECT_EQ(files[2]["size"], bin.size());
  EXPECT_EQ(files[3]["path"], "notes/über sicht.txt");
  EXPECT_EQ(ws_->Get("/api/v1/projects/" + id + "/files?prefix=model/").Json()["files"].size(), 1u);

  HttpReply dl = ws_->Get("/api/v1/projects/" + id + "/files/model/weights.bin");
  ASSERT_EQ(dl.status, 200);
  EXPECT_EQ(dl.body, bin);
  EXPECT_EQ(dl.Header("X-Content-SHA256"), Sha256Hex(bin));
  ExpectError(ws_->Get("/api/v1/projects/" + id + "/files/missing.txt"), 404);
  ExpectError(ws_->Get("/api/v1/projects/" + id + "/files/data"), 400);  // a directory

  // Escapes and odd names: refused, nothing written anywhere.
  for (std::string bad : {"../escape.txt", "%2e%2e/escape.txt", "data/../../escape.txt",
                          "/etc/passwd", "a%00b", "line%0Abreak", "a//b", "./x", "trailing/"}) {
    HttpReply r = ws_->Put(id, bad, "evil");
    EXPECT_EQ(r.status, 400) << bad << ": " << r.body;
  }
  EXPECT_FALSE(std::filesystem::exists(ws_->projects_dir() + "/escape.txt"));
  EXPECT_FALSE(std::filesystem::exists(ws_->dir() + "/escape.txt"));
  ExpectError(ws_->Get("/api/v1/projects/" + id + "/files/..%2F..%2Fapi.key"), 400);

  // A symbolic link planted in the project (as a job could) is never followed.
  std::string outside = ws_->dir() + "/outside";
  ASSERT_TRUE(util::MakeDirs(outside));
  ASSERT_TRUE(util::WriteFileAtomic(outside + "/secret", "secret"));
  ASSERT_EQ(::symlink(outside.c_str(), (ws_->projects_dir() + "/" + id + "/link").c_str()), 0);
  ASSERT_EQ(
      ::symlink((outside + "/secret").c_str(), (ws_->projects_dir() + "/" + id + "/s.txt").c_str()),
      0);
  ExpectError(ws_->Put(id, "link/planted", "x"), 400);
  EXPECT_FALSE(std::filesystem::exists(outside + "/planted"));
  ExpectError(ws_->Get("/api/v1/projects/" + id + "/files/link/secret"), 400);
  ExpectError(ws_->Get("/api/v1/projects/" + id + "/files/s.txt"), 400);

  // Too large: 413, the old content stays.
  HttpReply big = ws_->Put(id, "data/train.csv", std::string(1048577, 'x'));
  ExpectError(big, 413);
  EXPECT_EQ(ws_->Get("/api/v1/projects/" + id + "/files/data/train.csv").body, "a,b\n");
  ExpectError(ws_->Put("no-such-project", "a.txt", "x"), 404);

  HttpReply del = ws_->Delete("/api/v1/projects/" + id + "/files/model/weights.bin");
  ASSERT_EQ(del.status, 200) << del.body;
  ExpectError(ws_->Delete("/api/v1/projects/" + id + "/files/model/weights.bin"), 404);
  EXPECT_FALSE(std::filesystem::exists(ws_->projects_dir() + "/" + id + "/model"));
  EXPECT_TRUE(std::filesystem::exists(outside + "/secret"));
}

TEST_F(ApiTest, HugeBodiesAreRefusedBeforeTheyAreRead) {
  std::string id = ws_->NewProject("huge");
  for (std::string target :
       std::vector<std::string>{"/api/v1/projects", "/api/v1/projects/" + id + "/files/big.bin"}) {
    std::string head =
        (target.find("/files/") != std::string::npos ? "PUT " : "POST ") + target +
        " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + kApiKey +
        "\r\nContent-Type: application/json\r\nContent-Length: 10000000000\r\n\r\n{\"name\":";
    std::string answer = RawExchange(ws_->port(), head, 5s);
    EXPECT_TRUE(answer.starts_with("HTTP/1.1 413")) << target << ": " << answer;
    EXPECT_NE(answer.find("too-large"), std::string::npos) << answer;
  }
  // A request without any body is an empty body, not a malformed request.
  std::string bare =
      RawExchange(ws_->port(),
                  "POST /internal/v1/resume HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " +
                      std::string(kControlKey) + "\r\nConnection: close\r\n\r\n",
                  5s);
  EXPECT_TRUE(bare.starts_with("HTTP/1.1 200")) << bare;
  EXPECT_EQ(Items(ws_->Get("/api/v1/projects"), "projects").size(), 1u);
  EXPECT_EQ(Items(ws_->Get("/api/v1/projects/" + id + "/files"), "files").size(), 0u);
}

TEST_F(ApiTest, JobsRunToCompletionFailureAndInterruption) {
  std::string id = ws_->NewProject("jobs");
  ASSERT_EQ(
      ws_->Put(id, "ok.py",
               "import os\nprint('hello from', os.getcwd())\nopen('out.txt','w').write('done')\n")
          .status,
      201);
  ASSERT_EQ(ws_->Put(id, "fail.py", "import sys\nprint('about to fail')\nsys.exit(3)\n").status,
            201);
  ASSERT_EQ(ws_->Put(id, "env.sh", "echo port=$PORT run=$MLVAULT_RUN_ID args=$1,$2\n").status, 201);
  ASSERT_EQ(ws_->Put(id, "slow.sh", "echo started; sleep 30\n").status, 201);

  auto job = [&](const std::string& name, const std::string& script, const std::string& interp,
                 json args = json::array()) {
    HttpReply r =
        ws_->Post("/api/v1/projects/" + id + "/jobs",
                  {{"name", name}, {"script", script}, {"interpreter", interp}, {"args", args}});
    EXPECT_EQ(r.status, 201) << r.body;
    return r.Json().value("id", "");
  };
  auto run = [&](const std::string& job_id) {
    HttpReply r = ws_->Post("/api/v1/jobs/" + job_id + "/runs", json::object());
    EXPECT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(r.Json()["status"], "running");
    return r.Json().value("id", "");
  };

  std::string ok = job("ok", "ok.py", "python3");
  std::string r1 = run(ok);
  json done = ws_->WaitWhile("/api/v1/runs/" + r1, "running");
  EXPECT_EQ(done["status"], "succeeded") << done.dump();
  EXPECT_EQ(done["exitCode"], 0);
  EXPECT_FALSE(done["finishedAt"].is_null());
  HttpReply log = ws_->Get("/api/v1/runs/" + r1 + "/log");
  EXPECT_NE(log.body.find("hello from " + std::filesystem::canonical(ws_->projects_dir()).string() +
                          "/" + id),
            std::string::npos)
      << log.body;
  EXPECT_EQ(ws_->Get("/api/v1/projects/" + id + "/files/out.txt").body, "done");

  std::string r2 = run(job("fail", "fail.py", "python3"));
  json failed = ws_->WaitWhile("/api/v1/runs/" + r2, "running");
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["exitCode"], 3);
  EXPECT_NE(ws_->Get("/api/v1/runs/" + r2 + "/log").body.find("about to fail"), std::string::npos);

  std::string r3 = run(job("env", "env.sh", "sh", {"a b", "c"}));
  EXPECT_EQ(ws_->WaitWhile("/api/v1/runs/" + r3, "running")["status"], "succeeded");
  std::string env_log = ws_->Get("/api/v1/runs/" + r3 + "/log").body;
  EXPECT_NE(env_log.find("run=" + r3), std::string::npos) << env_log;
  EXPECT_NE(env_log.find("args=a b,c"), std::string::npos) << env_log;
  EXPECT_EQ(env_log.find("port= "), std::string::npos) << env_log;

  std::string slow = job("slow", "slow.sh", "sh");
  std::string r4 = run(slow);
  ExpectError(ws_->Delete("/api/v1/jobs/" + slow), 409);
  ExpectError(ws_->Delete("/api/v1/projects/" + id), 409);
  HttpReply stopped = ws_->Post("/api/v1/runs/" + r4 + "/stop", json::object());
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  EXPECT_EQ(stopped.Json()["status"], "interrupted");
  ExpectError(ws_->Post("/api/v1/runs/" + r4 + "/stop", json::object()), 409);
  json runs = ws_->Get("/api/v1/jobs/" + slow + "/runs").Json()["runs"];
  ASSERT_EQ(runs.size(), 1u);

  // Bad input.
  ExpectError(ws_->Post("/api/v1/projects/" + id + "/jobs",
                        {{"name", "x"}, {"script", "a.py"}, {"interpreter", "perl"}}),
              400);
  ExpectError(ws_->Post("/api/v1/projects/" + id + "/jobs",
                        {{"name", "x"}, {"script", "../a.py"}, {"interpreter", "sh"}}),
              400);
  ExpectError(ws_->Post("/api/v1/projects/" + id + "/jobs",
                        {{"name", "x"}, {"script", "a.py"}, {"interpreter", "sh"}, {"args", {1}}}),
              400);
  ExpectError(ws_->Post("/api/v1/projects/" + id + "/jobs",
                        {{"name", "ok"}, {"script", "ok.py"}, {"interpreter", "python3"}}),
              409);
  ExpectError(ws_->Post("/api/v1/projects/nope/jobs",
                        {{"name", "x"}, {"script", "a.py"}, {"interpreter", "sh"}}),
              404);
  std::string missing = job("missing", "not-there.py", "python3");
  EXPECT_NE(ExpectError(ws_->Post("/api/v1/jobs/" + missing + "/runs", json::object()), 400)
                .find("not-there.py"),
            std::string::npos);
  ExpectError(ws_->Post("/api/v1/jobs/" + ok + "/runs", {{"extra", 1}}), 400);
  ExpectError(ws_->Get("/api/v1/runs/nope"), 404);
  ExpectError(ws_->Get("/api/v1/jobs/nope"), 404);

  ASSERT_EQ(ws_->Delete("/api/v1/jobs/" + ok).status, 200);
  ExpectError(ws_->Get("/api/v1/runs/" + r1), 404);
  EXPECT_FALSE(std::filesystem::exists(ws_->projects_dir() + "/.logs/runs/" + r1 + ".log"));
  EXPECT_EQ(ws_->Get("/api/v1/projects/" + id + "/jobs").Json()["jobs"].size(), 4u);
}

TEST_F(ApiTest, ExperimentsRunsParamsAndMetrics) {
  std::string id = ws_->NewProject("exp");
  HttpReply e = ws_->Post("/api/v1/projects/" + id + "/experiments", {{"name", "sweep"}});
  ASSERT_EQ(e.status, 201) << e.body;
  std::string eid = e.Json()["id"];
  ExpectError(ws_->Post("/api/v1/projects/" + id + "/experiments", {{"name", "sweep"}}), 409);
  EXPECT_EQ(ws_->Get("/api/v1/projects/" + id + "/experiments").Json()["experiments"].size(), 1u);
  EXPECT_EQ(ws_->Get("/api/v1/experiments/" + eid).Json()["name"], "sweep");

  HttpReply r =
      ws_->Post("/api/v1/experiments/" + eid + "/runs",
                {{"name", "lr-0.1"},
                 {"params", {{"lr", 0.1}, {"layers", 3}, {"opt", "adam"}, {"bn", true}}}});
  ASSERT_EQ(r.status, 201) << r.body;
  std::string rid = r.Json()["id"];
  EXPECT_EQ(r.Json()["params"]["opt"], "adam");
  ExpectError(
      ws_->Post("/api/v1/experiments/" + eid + "/runs", {{"params", {{"nested", {{"a", 1}}}}}}),
      400);
  ExpectError(ws_->Post("/api/v1/experiments/" + eid + "/runs", {{"params", {1, 2}}}), 400);
  ExpectError(ws_->Post("/api/v1/experiments/nope/runs", json::object()), 404);
  HttpReply unnamed = ws_->Post("/api/v1/experiments/" + eid + "/runs", json::object());
  ASSERT_EQ(unnamed.status, 201);
  EXPECT_TRUE(unnamed.Json()["name"].get<std::string>().starts_with("run-"));

  json points = json::array();
  for (int s = 0; s < 3; ++s) {
    points.push_back({{"key", "loss"}, {"step", s}, {"value", 1.0 / (s + 1)}});
    points.push_back({{"key", "acc"}, {"step", s}, {"value", 0.5 + s * 0.1}});
  }
  HttpReply m = ws_->Post("/api/v1/experiment-runs/" + rid + "/metrics", {{"metrics", points}});
  ASSERT_EQ(m.status, 200) << m.body;
  EXPECT_EQ(m.Json()["logged"], 6);
  // A batch with one duplicate (loss@2) is refused whole: acc@9 does not appear.
  json dup = {{{"key", "acc"}, {"step", 9}, {"value", 1}},
              {{"key", "loss"}, {"step", 2}, {"value", 0}}};
  ExpectError(ws_->Post("/api/v1/experiment-runs/" + rid + "/metrics", {{"metrics", dup}}), 409);
  ExpectError(ws_->Post("/api/v1/experiment-runs/" + rid + "/metrics",
                        {{"metrics", {{{"key", "x"}, {"step", 1.5}, {"value", 1}}}}}),
              400);
  ExpectError(ws_->Post("/api/v1/experiment-runs/" + rid + "/metrics",
                        {{"metrics", {{{"key", "x"}, {"step", -1}, {"value", 1}}}}}),
              400);
  ExpectError(ws_->Post("/api/v1/experiment-runs/" + rid + "/metrics",
                        {{"metrics", {{{"key", "x"}, {"step", 1}, {"value", "high"}}}}}),
              400);
  ExpectError(
      ws_->Post("/api/v1/experiment-runs/" + rid + "/metrics", {{"metrics", json::array()}}), 400);
  ExpectError(ws_->Post("/api/v1/experiment-runs/nope/metrics", {{"metrics", points}}), 404);

  json got = ws_->Get("/api/v1/experiment-runs/" + rid + "/metrics").Json()["metrics"];
  ASSERT_EQ(got["acc"].size(), 3u) << got.dump();
  ASSERT_EQ(got["loss"].size(), 3u);
  EXPECT_DOUBLE_EQ(got["loss"][1]["value"].get<double>(), 0.5);
  json only = ws_->Get("/api/v1/experiment-runs/" + rid + "/metrics?key=loss").Json()["metrics"];
  EXPECT_EQ(only.size(), 1u);

  HttpReply end = ws_->Post("/api/v1/experiment-runs/" + rid + "/end", {{"status", "finished"}});
  ASSERT_EQ(end.status, 200) << end.body;
  EXPECT_EQ(end.Json()["status"], "finished");
  EXPECT_FALSE(end.Json()["endedAt"].is_null());
  ExpectError(ws_->Post("/api/v1/experiment-runs/" + rid + "/end", {{"status", "failed"}}), 409);
  ExpectError(ws_->Post("/api/v1/experiment-runs/" + rid + "/end", {{"status", "done"}}), 400);
  EXPECT_EQ(ws_->Get("/api/v1/experiments/" + eid + "/runs").Json()["runs"].size(), 2u);
  ASSERT_EQ(ws_->Delete("/api/v1/experiments/" + eid).status, 200);
  ExpectError(ws_->Get("/api/v1/experiment-runs/" + rid), 404);
}

const char* kEchoApp = R"py(import json, os
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def answer(self):
        n = int(self.headers.get("Content-Length", 0))
        body = json.dumps({"method": self.command, "path": self.path,
                           "headers": {k.lower(): v for k, v in self.headers.items()},
                           "body": self.rfile.read(n).decode() if n else ""}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    do_GET = do_POST = do_PUT = do_DELETE = answer
    def log_message(self, *a): pass
HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
)py";

TEST_F(ApiTest, ModelsBuildDeployServeAndRefuseTamperedBuilds) {
  std::string id = ws_->NewProject("ml");
  ASSERT_EQ(ws_->Put(id, "serve.py", kEchoApp).status, 201);
  ASSERT_EQ(ws_->Put(id, "weights/w.bin", std::string(4096, 'w')).status, 201);

  ExpectError(ws_->Post("/api/v1/models", {{"name", "Bad_Name"}, {"projectId", id}}), 400);
  ExpectError(ws_->Post("/api/v1/models", {{"name", "echo"}, {"projectId", "nope"}}), 404);
  HttpReply m = ws_->Post("/api/v1/models", {{"name", "echo"}, {"projectId", id}});
  ASSERT_EQ(m.status, 201) << m.body;
  std::string mid = m.Json()["id"];
  ExpectError(ws_->Post("/api/v1/models", {{"name", "echo"}, {"projectId", id}}), 409);

  std::string builds = "/api/v1/models/" + mid + "/builds";
  ExpectError(ws_->Post(builds, {{"files", {"serve.py", "missing.bin"}},
                                 {"serveCommand", "python3 serve.py"}}),
              404);
  ExpectError(ws_->Post(builds, {{"files", {"../x"}}, {"serveCommand", "python3 serve.py"}}), 400);
  ExpectError(ws_->Post(builds, {{"files", {"serve.py", "serve.py"}},
                                 {"serveCommand", "python3 serve.py"}}),
              400);
  ExpectError(ws_->Post(builds, {{"files", json::array()}, {"serveCommand", "python3 serve.py"}}),
              400);
  ExpectError(ws_->Post(builds, {{"files", {"serve.py"}}}), 400);
  EXPECT_EQ(ws_->Get(builds).Json()["builds"].size(), 0u);
  int leftovers = 0;
  for ([[maybe_unused]] auto& e : std::filesystem::directory_iterator(ws_->models_dir() + "/.tmp"))
    ++leftovers;
  EXPECT_EQ(leftovers, 0);

  HttpReply b = ws_->Post(
      builds, {{"files", {"serve.py", "weights/w.bin"}}, {"serveCommand", "python3 serve.py"}});
  ASSERT_EQ(b.status, 201) << b.body;
  json build = b.Json();
  std::string bid = build["id"];
  std::string bdir = ws_->models_dir() + "/" + mid + "/" + bid;
  auto manifest_text = util::ReadFile(bdir + "/manifest.json");
  ASSERT_TRUE(manifest_text);
  EXPECT_EQ(build["manifestSha256"], Sha256Hex(*manifest_text));
  json manifest = json::parse(*manifest_text);
  EXPECT_EQ(manifest["files"][1]["sha256"], Sha256Hex(std::string(4096, 'w')));
  EXPECT_EQ(ws_->Get("/api/v1/builds/" + bid).Json()["files"].size(), 2u);

  HttpReply d = ws_->Post("/api/v1/models/" + mid + "/deployments", {{"buildId", bid}});
  ASSERT_EQ(d.status, 201) << d.body;
  std::string did = d.Json()["id"];
  json dep = ws_->WaitWhile("/api/v1/deployments/" + did, "starting");
  ASSERT_EQ(dep["status"], "running")
      << dep.dump() << ws_->Get("/api/v1/deployments/" + did + "/log").body;
  EXPECT_EQ(dep["url"], "/models/echo/");

  HttpReply p = ws_->Call("POST", "/models/echo/predict?x=1&y=a+b", "{\"f\":1}");
  ASSERT_EQ(p.status, 200) << p.body;
  json echo = p.Json();
  EXPECT_EQ(echo["path"], "/predict?x=1&y=a+b");
  EXPECT_EQ(echo["body"], "{\"f\":1}");
  EXPECT_FALSE(echo["headers"].contains("authorization"));
  EXPECT_EQ(echo["headers"]["x-forwarded-prefix"], "/models/echo");
  ExpectError(ws_->Call("GET", "/models/echo/", "", ""), 401);  // forwarded routes need the key
  ExpectError(ws_->Get("/models/unknown/"), 404);

  ExpectError(ws_->Post("/api/v1/models/" + mid + "/deployments", {{"buildId", bid}}), 409);
  ExpectError(ws_->Post("/api/v1/models/" + mid + "/deployments", {{"buildId", "nope"}}), 400);
  ExpectError(ws_->Delete("/api/v1/builds/" + bid), 409);
  ExpectError(ws_->Delete("/api/v1/models/" + mid), 409);

  HttpReply s = ws_->Post("/api/v1/deployments/" + did + "/stop", json::object());
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.Json()["status"], "stopped");
  ExpectError(ws_->Get("/models/echo/"), 503);

  // A build whose files no longer match the manifest is not served.
  ASSERT_TRUE(util::WriteFileAtomic(bdir + "/weights/w.bin", std::string(4096, 'x')));
  json failed = ws_->Post("/api/v1/deployments/" + did + "/restart", json::object()).Json();
  EXPECT_EQ(failed["status"], "failed") << failed.dump();
  EXPECT_NE(failed["message"].get<std::string>().find("weights/w.bin"), std::string::npos);
  ASSERT_TRUE(util::WriteFileAtomic(bdir + "/weights/w.bin", std::string(4096, 'w')));
  json again = ws_->Post("/api/v1/deployments/" + did + "/restart", json::object()).Json();
  EXPECT_EQ(again["status"], "starting") << again.dump();
  EXPECT_EQ(ws_->WaitWhile("/api/v1/deployments/" + did, "starting")["status"], "running");
  EXPECT_EQ(ws_->Get("/models/echo/x").status, 200);
  EXPECT_EQ(ws_->Get("/api/v1/deployments").Json()["deployments"].size(), 1u);

  ASSERT_EQ(ws_->Delete("/api/v1/deployments/" + did).status, 200);
  ExpectError(ws_->Get("/models/echo/"), 503);
  ASSERT_EQ(ws_->Delete("/api/v1/builds/" + bid).status, 200);
  EXPECT_FALSE(std::filesystem::exists(bdir));
  ASSERT_EQ(ws_->Delete("/api/v1/models/" + mid).status, 200);
  ExpectError(ws_->Get("/api/v1/models/" + mid), 404);
}

TEST_F(ApiTest, ApplicationsStartForwardFailStopRestart) {
  std::string id = ws_->NewProject("apps");
  ASSERT_EQ(ws_->Put(id, "echo.py", kEchoApp).status, 201);
  ASSERT_EQ(ws_->Put(id, "static/hello.txt", "hello").status, 201);
  std::string apps = "/api/v1/projects/" + id + "/applications";

  HttpReply a =
      ws_->Post(apps, {{"name", "echo"}, {"subdomain", "echo"}, {"command", "python3 echo.py"}});
  ASSERT_EQ(a.status, 201) << a.body;
  std::string aid = a.Json()["id"];
  json app = ws_->WaitWhile("/api/v1/applications/" + aid, "starting");
  ASSERT_EQ(app["status"], "running") << app.dump();
  EXPECT_GT(app["port"].get<int>(), 0);
  EXPECT_EQ(app["url"], "/apps/echo/");

  HttpReply f = ws_->Call("PUT", "/apps/echo/a/b%20c", "data");
  ASSERT_EQ(f.status, 200) << f.body;
  EXPECT_EQ(f.Json()["path"], "/a/b%20c");
  EXPECT_EQ(f.Json()["method"], "PUT");
  EXPECT_EQ(f.Json()["headers"]["x-forwarded-host"].get<std::string>().rfind("127.0.0.1", 0), 0u);
  HttpReply redirect = ws_->Get("/apps/echo");
  EXPECT_EQ(redirect.status, 308);
  EXPECT_EQ(redirect.Header("Location"), "/apps/echo/");

  HttpReply files = ws_->Post(apps, {{"name", "files"},
                                     {"subdomain", "files"},
                                     {"command", "python3 -m http.server $PORT --bind 127.0.0.1"}});
  ASSERT_EQ(files.status, 201) << files.body;
  std::string fid = files.Json()["id"];
  ASSERT_EQ(ws_->WaitWhile("/api/v1/applications/" + fid, "starting")["status"], "running");
  EXPECT_EQ(ws_->Get("/apps/files/static/hello.txt").body, "hello");

  ExpectError(ws_->Post(apps, {{"name", "other"}, {"subdomain", "echo"}, {"command", "true"}}),
              409);
  ExpectError(ws_->Post(apps, {{"name", "x"}, {"subdomain", "Not A Label"}, {"command", "true"}}),
              400);
  ExpectError(ws_->Post(apps, {{"name", "x"}, {"subdomain", "x"}, {"command", ""}}), 400);
  ExpectError(ws_->Post("/api/v1/projects/nope/applications",
                        {{"name", "x"}, {"subdomain", "x"}, {"command", "true"}}),
              404);
  ExpectError(ws_->Get("/apps/nobody/"), 404);

  // An application that exits is failed; one that never answers HTTP fails after the timeout.
  HttpReply crash =
      ws_->Post(apps, {{"name", "crash"}, {"subdomain", "crash"}, {"command", "echo bye; exit 3"}});
  ASSERT_EQ(crash.status, 201);
  json crashed =
      ws_->WaitWhile("/api/v1/applications/" + crash.Json()["id"].get<std::string>(), "starting");
  EXPECT_EQ(crashed["status"], "failed");
  EXPECT_NE(crashed["message"].get<std::string>().find("code 3"), std::string::npos)
      << crashed.dump();
  EXPECT_NE(ws_->Get("/api/v1/applications/" + crash.Json()["id"].get<std::string>() + "/log")
                .body.find("bye"),
            std::string::npos);
  ExpectError(ws_->Get("/apps/crash/"), 503);

  int pid = app["pid"];
  HttpReply stop = ws_->Post("/api/v1/applications/" + aid + "/stop", json::object());
  ASSERT_EQ(stop.status, 200) << stop.body;
  EXPECT_EQ(stop.Json()["status"], "stopped");
  EXPECT_FALSE(ProcessAlive(pid));
  ExpectError(ws_->Get("/apps/echo/"), 503);
  ExpectError(ws_->Delete("/api/v1/projects/" + id), 409);  // "files" still runs
  HttpReply restart = ws_->Post("/api/v1/applications/" + aid + "/restart", json::object());
  ASSERT_EQ(restart.status, 200) << restart.body;
  EXPECT_EQ(ws_->WaitWhile("/api/v1/applications/" + aid, "starting")["status"], "running");
  EXPECT_EQ(ws_->Get("/apps/echo/again").Json()["path"], "/again");
  EXPECT_EQ(ws_->Get("/api/v1/applications").Json()["applications"].size(), 3u);
  EXPECT_EQ(ws_->Get(apps).Json()["applications"].size(), 3u);

  ASSERT_EQ(ws_->Delete("/api/v1/applications/" + fid).status, 200);
  ExpectError(ws_->Get("/apps/files/"), 404);
  ASSERT_EQ(ws_->Post("/api/v1/applications/" + aid + "/stop", json::object()).status, 200);
  ASSERT_EQ(ws_->Delete("/api/v1/projects/" + id).status, 200);
  EXPECT_EQ(ws_->Get("/api/v1/applications").Json()["applications"].size(), 0u);
}

TEST(AppStartTimeout, AnApplicationThatNeverAnswersFails) {
  Workspace::Options o;
  o.extra_flags = {"--app-start-timeout-seconds", "1"};
  Workspace ws(o);
  std::string error;
  ASSERT_TRUE(ws.Start(&error)) << error;
  std::string id = ws.NewProject("mute");
  HttpReply mute = ws.Post("/api/v1/projects/" + id + "/applications",
                           {{"name", "mute"}, {"subdomain", "mute"}, {"command", "exec sleep 60"}});
  ASSERT_EQ(mute.status, 201) << mute.body;
  json muted =
      ws.WaitWhile("/api/v1/applications/" + mute.Json()["id"].get<std::string>(), "starting", 10s);
  EXPECT_EQ(muted["status"], "failed");
  EXPECT_NE(muted["message"].get<std::string>().find("did not answer"), std::string::npos)
      << muted.dump();
  EXPECT_FALSE(ProcessAlive(mute.Json()["pid"].get<pid_t>()));
  EXPECT_EQ(ws.Stop(), 0);
}

TEST(ServeFlags, BadFlagsAndUnusableStateAreClearErrors) {
  auto dir = util::MakeTempDir("mlv-flags-");
  ASSERT_TRUE(dir);
  ASSERT_TRUE(util::WriteFileAtomic(*dir + "/api.key", std::string(kApiKey)));
  ASSERT_TRUE(util::WriteFileAtomic(*dir + "/control.key", std::string(kControlKey)));
  ASSERT_TRUE(util::WriteFileAtomic(*dir + "/short.key", "short"));
  ASSERT_TRUE(util::WriteFileAtomic(*dir + "/junk.db", std::string(10000, 'j')));
  auto serve = [&](std::vector<std::string> extra, std::string metadata = "",
                   std::string api = "api.key") {
    std::vector<std::string> argv = {MLVAULT_WORKSPACE_BIN,
                                     "serve",
                                     "--domain",
                                     "ws.test",
                                     "--workspace-crn",
                                     "crn:x",
                                     "--projects",
                                     *dir + "/p",
                                     "--models",
                                     *dir + "/m",
                                     "--metadata",
                                     metadata.empty() ? *dir + "/ws.db" : metadata,
                                     "--api-key-file",
                                     *dir + "/" + api,
                                     "--control-key-file",
                                     *dir + "/control.key"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return RunCommand(argv, 20);
  };
  auto r = RunCommand({MLVAULT_WORKSPACE_BIN, "serve", "--listen", "127.0.0.1:0"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = serve({"--listen", "127.0.0.1"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("--listen"), std::string::npos) << r.output;
  r = serve({"--authorized-ip-ranges", "10.0.0.0/40"});
  EXPECT_EQ(r.exit_code, 2) << r.output;
  r = serve({}, "", "short.key");
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("16"), std::string::npos) << r.output;
  r = serve({"--listen", "127.0.0.1:0"}, *dir + "/junk.db");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_NE(r.output.find("junk.db"), std::string::npos) << r.output;
  (void)util::RemoveAll(*dir);
}

TEST(AuthorizedIpRanges, AreEnforcedExceptForTheControlPlane) {
  Workspace::Options o;
  o.extra_flags = {"--authorized-ip-ranges", "10.0.0.0/8,192.168.0.0/16"};
  Workspace outside(o);
  std::string error;
  ASSERT_TRUE(outside.Start(&error)) << error;
  HttpReply r = outside.Call("GET", "/api/v1/health", "", "");
  EXPECT_EQ(r.status, 403) << r.body;
  EXPECT_EQ(r.Json()["code"], "forbidden");
  EXPECT_EQ(outside.Get("/api/v1/projects").status, 403);
  EXPECT_EQ(outside.Call("GET", "/internal/v1/status", "", kControlKey).status, 200);
  EXPECT_EQ(outside.Stop(), 0);

  o.extra_flags = {"--authorized-ip-ranges", "10.0.0.0/8, 127.0.0.0/8"};
  Workspace inside(o);
  ASSERT_TRUE(inside.Start(&error)) << error;
  EXPECT_EQ(inside.Get("/api/v1/projects").status, 200);
  EXPECT_EQ(inside.Stop(), 0);
}

}  // namespace
}  // namespace mlvault::runtime::testing
