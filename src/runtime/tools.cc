#include "runtime/tools.h"

#include <fmt/core.h>
#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "runtime/sha256.h"

namespace mlvault::runtime {

namespace {

using json = nlohmann::json;

// A minimal client of the workspace API: bearer auth, JSON in and out, errors as util::Error.
class ApiClient {
 public:
  explicit ApiClient(const ClientOptions& o) : options_(o), cli_(o.endpoint) {
    cli_.set_connection_timeout(5, 0);
    cli_.set_read_timeout(60, 0);
    cli_.set_write_timeout(60, 0);
    cli_.set_bearer_token_auth(o.api_key);
  }

  util::Result<json> Call(const std::string& method, const std::string& path,
                          const std::optional<json>& body = std::nullopt) {
    std::string raw = MLV_TRY(Raw(method, path, body ? body->dump() : "", "application/json"));
    json j = json::parse(raw, nullptr, false);
    if (j.is_discarded()) return util::Internal(method + " " + path + ": the answer is not JSON");
    return j;
  }

  util::Result<std::string> Raw(const std::string& method, const std::string& path,
                                const std::string& body, const std::string& content_type) {
    if (!cli_.is_valid())
      return util::InvalidArgument("--endpoint '" + options_.endpoint + "' is not a valid URL");
    httplib::Request req;
    req.method = method;
    req.path = path;
    req.body = body;
    if (!options_.host.empty()) req.headers.emplace("Host", options_.host);
    if (method != "GET" && method != "DELETE") req.headers.emplace("Content-Type", content_type);
    auto res = cli_.send(req);
    if (!res)
      return util::Unavailable(fmt::format("{} {}{}: {}", method, options_.endpoint, path,
                                           httplib::to_string(res.error())));
    if (res->status >= 300) {
      std::string msg = res->body;
      json j = json::parse(res->body, nullptr, false);
      if (j.is_object() && j.contains("error") && j["error"].is_string())
        msg = j["error"].get<std::string>();
      std::string text = fmt::format("{} {}: HTTP {}: {}", method, path, res->status, msg);
      switch (res->status) {
        case 400:
          return util::InvalidArgument(text);
        case 401:
        case 403:
          return util::PermissionDenied(text);
        case 404:
          return util::NotFound(text);
        case 409:
          return util::Conflict(text);
        case 503:
          return util::Unavailable(text);
        default:
          return util::Internal(text);
      }
    }
    return res->body;
  }

  util::Result<json> Put(const std::string& project_id, const std::string& path,
                         const std::string& data) {
    std::string raw = MLV_TRY(Raw("PUT", "/api/v1/projects/" + project_id + "/files/" + path, data,
                                  "application/octet-stream"));
    return json::parse(raw, nullptr, false);
  }

  // Polls `path` until its "status" is not `while_status` or the timeout passes.
  util::Result<json> WaitWhile(const std::string& path,
                               std::initializer_list<const char*> while_status) {
    auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(options_.timeout_seconds);
    for (;;) {
      json j = MLV_TRY(Call("GET", path));
      std::string s = j.value("status", "");
      bool waiting = false;
      for (const char* w : while_status) waiting = waiting || s == w;
      if (!waiting) return j;
      if (std::chrono::steady_clock::now() > deadline)
        return util::Unavailable(
            fmt::format("{} is still '{}' after {} s", path, s, options_.timeout_seconds));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }

  const ClientOptions& options() const { return options_; }

 private:
  ClientOptions options_;
  httplib::Client cli_;
};

// Deterministic pseudo-random bytes (splitmix64), so that seeded workspaces are comparable.
std::string PseudoRandom(uint64_t seed, size_t n) {
  std::string out(n, '\0');
  uint64_t x = seed;
  for (size_t i = 0; i < n; i += 8) {
    x += 0x9e3779b97f4a7c15ULL;
    uint64_t z = x;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    for (size_t k = 0; k < 8 && i + k < n; ++k) out[i + k] = static_cast<char>(z >> (8 * k));
  }
  return out;
}

std::string CustomersCsv() {
  std::string csv = "customer_id,tenure_months,monthly_charges,support_calls,churned\n";
  uint64_t x = 42;
  auto next = [&] {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<uint32_t>(x >> 33);
  };
  for (int i = 1; i <= 600; ++i) {
    int tenure = 1 + next() % 72;
    double charges = 20 + (next() % 10000) / 100.0;
    int calls = next() % 8;
    double score = 0.04 * calls + charges / 200.0 - tenure / 60.0 + (next() % 100) / 250.0;
    csv += fmt::format("C{:05d},{},{:.2f},{},{}\n", i, tenure, charges, calls, score > 0.2 ? 1 : 0);
  }
  return csv;
}

std::string SalesCsv() {
  std::string csv = "date,region,units,revenue\n";
  const char* regions[] = {"north", "south", "east", "west"};
  for (int d = 1; d <= 90; ++d)
    for (int r = 0; r < 4; ++r) {
      int units = 20 + (d * 7 + r * 13) % 50;
      csv += fmt::format("2026-{:02d}-{:02d},{},{},{:.2f}\n", 1 + (d - 1) / 30, 1 + (d - 1) % 30,
                         regions[r], units, units * (9.5 + r));
    }
  return csv;
}

const char* kTrainPy =
    R"py(# Trains a logistic-regression churn model on data/customers.csv (pure Python).
import csv, json, math

rows = list(csv.DictReader(open("data/customers.csv")))
features = ["tenure_months", "monthly_charges", "support_calls"]
scale = {f: max(float(r[f]) for r in rows) for f in features}
X = [[float(r[f]) / scale[f] for f in features] for r in rows]
y = [int(r["churned"]) for r in rows]
w, b, lr = [0.0] * len(features), 0.0, 0.5

def predict(x):
    z = b + sum(wi * xi for wi, xi in zip(w, x))
    return 1 / (1 + math.exp(-z))

for epoch in range(30):
    gw, gb, loss = [0.0] * len(w), 0.0, 0.0
    for x, t in zip(X, y):
        p = predict(x)
        loss -= t * math.log(p + 1e-12) + (1 - t) * math.log(1 - p + 1e-12)
        for i in range(len(w)):
            gw[i] += (p - t) * x[i]
        gb += p - t
    w = [wi - lr * g / len(X) for wi, g in zip(w, gw)]
    b -= lr * gb / len(X)
    if epoch % 5 == 0:
        print(f"epoch {epoch} loss {loss / len(X):.4f}")

accuracy = sum((predict(x) > 0.5) == bool(t) for x, t in zip(X, y)) / len(X)
json.dump({"features": features, "scale": scale, "weights": w, "bias": b}, open("model.json", "w"), indent=2)
json.dump({"accuracy": accuracy, "rows": len(X)}, open("metrics.json", "w"), indent=2)
print(f"accuracy {accuracy:.3f}; wrote model.json")
)py";

const char* kServePy =
    R"py(# Serves model.json: GET / (health), POST /predict {"tenure_months":..,"monthly_charges":..,"support_calls":..}
import json, math, os
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

model = json.load(open("model.json"))

class Handler(BaseHTTPRequestHandler):
    def reply(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self.reply(200, {"model": "churn", "features": model["features"]})

    def do_POST(self):
        try:
            x = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
            z = model["bias"] + sum(w * float(x.get(f, 0)) / model["scale"][f]
                                    for w, f in zip(model["weights"], model["features"]))
            self.reply(200, {"churnProbability": 1 / (1 + math.exp(-z))})
        except Exception as e:
            self.reply(400, {"error": str(e)})

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
)py";

const char* kAppPy =
    R"py(# Sales dashboard: serves static/index.html and /api/summary from data/sales.csv.
import csv, json, os
from collections import defaultdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith("/api/summary"):
            totals = defaultdict(float)
            for r in csv.DictReader(open("data/sales.csv")):
                totals[r["region"]] += float(r["revenue"])
            body, kind = json.dumps({"revenueByRegion": totals}).encode(), "application/json"
        else:
            body, kind = open("static/index.html", "rb").read(), "text/html"
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
)py";

const char* kIndexHtml = R"html(<!doctype html>
<html><head><title>Sales dashboard</title></head>
<body><h1>Sales dashboard</h1><div id="summary">loading...</div>
<script>fetch("api/summary").then(r => r.json()).then(j =>
  document.getElementById("summary").textContent = JSON.stringify(j.revenueByRegion));</script>
</body></html>
)html";

const char* kReportSh = R"sh(#!/bin/sh
# Summarises data/sales.csv into reports/summary.txt.
set -e
mkdir -p reports
rows=$(($(wc -l < data/sales.csv) - 1))
echo "rows: $rows" > reports/summary.txt
cut -d, -f2 data/sales.csv | tail -n +2 | sort | uniq -c >> reports/summary.txt
cat reports/summary.txt
)sh";

const char* kNotebook = R"nb({
 "cells": [
  {"cell_type": "markdown", "metadata": {}, "source": ["# Churn exploration"]},
  {"cell_type": "code", "execution_count": 1, "metadata": {}, "outputs": [],
   "source": ["import csv\n", "rows = list(csv.DictReader(open('../data/customers.csv')))\n", "len(rows)"]}
 ],
 "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"}},
 "nbformat": 4, "nbformat_minor": 5
}
)nb";

}  // namespace

util::Result<std::string> Seed(const ClientOptions& options) {
  ApiClient api(options);
  json summary;

  // Project 1: churn prediction — data, code, notebook, a training job, an experiment, a model.
  json churn = MLV_TRY(
      api.Call("POST", "/api/v1/projects",
               json{{"name", "churn-prediction"},
                    {"description", "Predicts customer churn from usage and billing data"}}));
  std::string churn_id = churn["id"];
  MLV_TRY(api.Put(churn_id, "README.md",
                  "# Churn prediction\n\nRun the `train` job, then deploy model `churn`.\n"));
  MLV_TRY(api.Put(churn_id, "data/customers.csv", CustomersCsv()));
  MLV_TRY(api.Put(churn_id, "src/train.py", kTrainPy));
  MLV_TRY(api.Put(churn_id, "serve.py", kServePy));
  MLV_TRY(api.Put(churn_id, "notebooks/exploration.ipynb", kNotebook));
  json train = MLV_TRY(
      api.Call("POST", "/api/v1/projects/" + churn_id + "/jobs",
               json{{"name", "train"}, {"script", "src/train.py"}, {"interpreter", "python3"}}));
  json run = MLV_TRY(
      api.Call("POST", "/api/v1/jobs/" + train["id"].get<std::string>() + "/runs", json::object()));
  run = MLV_TRY(api.WaitWhile("/api/v1/runs/" + run["id"].get<std::string>(), {"running"}));
  if (run["status"] != "succeeded")
    return util::Internal("the sample training run ended " + run["status"].get<std::string>() +
                          ": " + run.value("message", ""));

  json exp = MLV_TRY(api.Call("POST", "/api/v1/projects/" + churn_id + "/experiments",
                              json{{"name", "baseline"}, {"description", "learning-rate sweep"}}));
  json exp_runs = json::array();
  for (double lr : {0.5, 0.05}) {
    json er = MLV_TRY(
        api.Call("POST", "/api/v1/experiments/" + exp["id"].get<std::string>() + "/runs",
                 json{{"name", fmt::format("lr-{}", lr)},
                      {"params", {{"learningRate", lr}, {"epochs", 5}, {"optimizer", "sgd"}}}}));
    json points = json::array();
    for (int step = 0; step < 5; ++step) {
      double loss = 0.7 / (1 + lr * 4 * step);
      points.push_back({{"key", "loss"}, {"step", step}, {"value", loss}});
      points.push_back({{"key", "accuracy"}, {"step", step}, {"value", 1 - loss / 1.4}});
    }
    std::string er_id = er["id"];
    MLV_TRY(api.Call("POST", "/api/v1/experiment-runs/" + er_id + "/metrics",
                     json{{"metrics", points}}));
    MLV_TRY(api.Call("POST", "/api/v1/experiment-runs/" + er_id + "/end",
                     json{{"status", "finished"}}));
    exp_runs.push_back(er_id);
  }

  json model = MLV_TRY(api.Call(
      "POST", "/api/v1/models",
      json{{"name", "churn"}, {"projectId", churn_id}, {"description", "churn classifier"}}));
  std::string model_id = model["id"];
  json build = MLV_TRY(
      api.Call("POST", "/api/v1/models/" + model_id + "/builds",
               json{{"files", {"model.json", "serve.py"}}, {"serveCommand", "python3 serve.py"}}));
  json dep = MLV_TRY(api.Call("POST", "/api/v1/models/" + model_id + "/deployments",
                              json{{"buildId", build["id"]}}));
  dep = MLV_TRY(api.WaitWhile("/api/v1/deployments/" + dep["id"].get<std::string>(), {"starting"}));
  if (dep["status"] != "running")
    return util::Unavailable("the sample deployment is " + dep["status"].get<std::string>() + ": " +
                             dep.value("message", ""));
  MLV_TRY(api.Raw("POST", "/models/churn/predict",
                  R"({"tenure_months": 3, "monthly_charges": 99.5, "support_calls": 5})",
                  "application/json"));

  // Project 2: a sales dashboard application and a shell reporting job.
  json sales = MLV_TRY(
      api.Call("POST", "/api/v1/projects",
               json{{"name", "sales-dashboard"}, {"description", "Regional sales dashboard"}}));
  std::string sales_id = sales["id"];
  MLV_TRY(api.Put(sales_id, "app.py", kAppPy));
  MLV_TRY(api.Put(sales_id, "static/index.html", kIndexHtml));
  MLV_TRY(api.Put(sales_id, "data/sales.csv", SalesCsv()));
  MLV_TRY(api.Put(sales_id, "scripts/report.sh", kReportSh));
  json report = MLV_TRY(
      api.Call("POST", "/api/v1/projects/" + sales_id + "/jobs",
               json{{"name", "report"}, {"script", "scripts/report.sh"}, {"interpreter", "sh"}}));
  json report_run =
      MLV_TRY(api.Call("POST", "/api/v1/jobs/" + report["id"].get<std::string>() + "/runs"));
  report_run =
      MLV_TRY(api.WaitWhile("/api/v1/runs/" + report_run["id"].get<std::string>(), {"running"}));
  if (report_run["status"] != "succeeded")
    return util::Internal("the sample report run ended " + report_run["status"].get<std::string>());
  json app = MLV_TRY(api.Call(
      "POST", "/api/v1/projects/" + sales_id + "/applications",
      json{{"name", "dashboard"}, {"subdomain", "dashboard"}, {"command", "python3 app.py"}}));
  app =
      MLV_TRY(api.WaitWhile("/api/v1/applications/" + app["id"].get<std::string>(), {"starting"}));
  if (app["status"] != "running")
    return util::Unavailable("the sample application is " + app["status"].get<std::string>() +
                             ": " + app.value("message", ""));
  MLV_TRY(api.Raw("GET", "/apps/dashboard/api/summary", "", ""));

  // Project 3: shared datasets — binary files, nested folders, a name with spaces and accents.
  json data = MLV_TRY(api.Call(
      "POST", "/api/v1/projects",
      json{{"name", "shared-datasets"}, {"description", "Raw data shared between teams"}}));
  std::string data_id = data["id"];
  MLV_TRY(api.Put(data_id, "README.md", "Raw datasets. Do not edit in place.\n"));
  MLV_TRY(api.Put(data_id, "images/batch-000.bin", PseudoRandom(1, 256 * 1024)));
  MLV_TRY(api.Put(data_id, "images/batch-001.bin", PseudoRandom(2, 1024 * 1024)));
  MLV_TRY(api.Put(data_id, "embeddings/v1/vectors.f32", PseudoRandom(3, 512 * 1024)));
  MLV_TRY(api.Put(data_id, "notes/%C3%BCbersicht%20Q1.txt", "Überblick über das erste Quartal.\n"));
  MLV_TRY(api.Put(data_id, "empty.txt", ""));

  summary = {{"projects",
              {{{"id", churn_id}, {"name", "churn-prediction"}},
               {{"id", sales_id}, {"name", "sales-dashboard"}},
               {{"id", data_id}, {"name", "shared-datasets"}}}},
             {"runs", {run["id"], report_run["id"]}},
             {"experiment", {{"id", exp["id"]}, {"runs", exp_runs}}},
             {"model",
              {{"id", model_id},
               {"buildId", build["id"]},
               {"deploymentId", dep["id"]},
               {"url", "/models/churn/"}}},
             {"application", {{"id", app["id"]}, {"url", "/apps/dashboard/"}}}};
  return summary.dump(2);
}

util::Result<std::string> Snapshot(const ClientOptions& options) {
  ApiClient api(options);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.timeout_seconds);
  for (;;) {
    json health = MLV_TRY(api.Call("GET", "/api/v1/health"));
    if (health.value("reconciled", false)) break;
    if (std::chrono::steady_clock::now() > deadline)
      return util::Unavailable(
          fmt::format("the workspace is not reconciled after {} s", options.timeout_seconds));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  auto by_id = [](json arr) {
    std::sort(arr.begin(), arr.end(),
              [](const json& a, const json& b) { return a["id"] < b["id"]; });
    return arr;
  };
  auto pick = [](const json& from, std::initializer_list<const char*> keys) {
    json out = json::object();
    for (const char* k : keys) out[k] = from.contains(k) ? from[k] : json(nullptr);
    return out;
  };

  json projects = json::array();
  for (const json& p : by_id(MLV_TRY(api.Call("GET", "/api/v1/projects"))["projects"])) {
    std::string pid = p["id"];
    json proj = pick(p, {"id", "name", "description", "createdAt"});
    json files = json::array();
    json listed = MLV_TRY(api.Call("GET", "/api/v1/projects/" + pid + "/files"));
    for (const json& f : listed["files"]) files.push_back(pick(f, {"path", "size", "sha256"}));
    proj["files"] = files;

    json jobs = json::array();
    for (const json& j :
         by_id(MLV_TRY(api.Call("GET", "/api/v1/projects/" + pid + "/jobs"))["jobs"])) {
      json job = pick(j, {"id", "name", "script", "interpreter", "args", "createdAt"});
      json runs = json::array();
      for (const json& r : by_id(MLV_TRY(
               api.Call("GET", "/api/v1/jobs/" + j["id"].get<std::string>() + "/runs"))["runs"])) {
        json run = pick(r, {"id", "status", "exitCode", "startedAt"});
        std::string status = r["status"];
        if (status == "succeeded" || status == "failed") {
          // A finished run is history: its end and its log are fixed.
          run["finishedAt"] = r["finishedAt"];
          run["message"] = r["message"];
          std::string log = MLV_TRY(
              api.Raw("GET", "/api/v1/runs/" + r["id"].get<std::string>() + "/log", "", ""));
          run["logSha256"] = Sha256Hex(log);
        }
        runs.push_back(run);
      }
      job["runs"] = runs;
      jobs.push_back(job);
    }
    proj["jobs"] = jobs;

    json exps = json::array();
    for (const json& e : by_id(
             MLV_TRY(api.Call("GET", "/api/v1/projects/" + pid + "/experiments"))["experiments"])) {
      json exp = pick(e, {"id", "name", "description", "createdAt"});
      json runs = json::array();
      for (const json& r : by_id(MLV_TRY(api.Call(
               "GET", "/api/v1/experiments/" + e["id"].get<std::string>() + "/runs"))["runs"])) {
        json run = pick(r, {"id", "name", "status", "params", "startedAt", "endedAt"});
        run["metrics"] =
            MLV_TRY(api.Call("GET", "/api/v1/experiment-runs/" + r["id"].get<std::string>() +
                                        "/metrics"))["metrics"];
        runs.push_back(run);
      }
      exp["runs"] = runs;
      exps.push_back(exp);
    }
    proj["experiments"] = exps;

    json apps = json::array();
    for (const json& a : by_id(
             MLV_TRY(api.Call("GET", "/api/v1/projects/" + pid + "/applications"))["applications"]))
      apps.push_back(pick(a, {"id", "name", "subdomain", "command", "status", "createdAt"}));
    proj["applications"] = apps;
    projects.push_back(proj);
  }

  json deployments = MLV_TRY(api.Call("GET", "/api/v1/deployments"))["deployments"];
  json models = json::array();
  for (const json& m : by_id(MLV_TRY(api.Call("GET", "/api/v1/models"))["models"])) {
    std::string mid = m["id"];
    json model = pick(m, {"id", "name", "projectId", "description", "createdAt"});
    json builds = json::array();
    for (const json& b :
         by_id(MLV_TRY(api.Call("GET", "/api/v1/models/" + mid + "/builds"))["builds"]))
      builds.push_back(pick(b, {"id", "serveCommand", "files", "manifestSha256", "createdAt"}));
    model["builds"] = builds;
    json deps = json::array();
    for (const json& d : by_id(deployments))
      if (d["modelId"] == mid) deps.push_back(pick(d, {"id", "buildId", "status", "createdAt"}));
    model["deployments"] = deps;
    models.push_back(model);
  }
  json snapshot = {{"snapshotVersion", 1}, {"projects", projects}, {"models", models}};
  return snapshot.dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace mlvault::runtime
