#include "control/drill_checks.h"

#include <fmt/core.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "control/backup_copies.h"
#include "control/handlers.h"
#include "control/inventory.h"
#include "control/model_samples.h"
#include "control/vaults.h"
#include "control/workload_status.h"
#include "crypto/crypto.h"
#include "util/clock.h"
#include "workspace/api_client.h"
#include "workspace/runtime_client.h"

namespace mlvault::control {

using nlohmann::json;

namespace {

constexpr size_t kMaxNamed = 5;          // problems named in a detail; the rest counted
constexpr int64_t kFilesPerPage = 1000;  // files read from the catalog at a time

// "a, b, c and 4 more".
std::string Named(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size() && i < kMaxNamed; ++i) s += (i ? "; " : "") + v[i];
  if (v.size() > kMaxNamed) s += "; and " + std::to_string(v.size() - kMaxNamed) + " more";
  return s;
}

// The SHA-256 of a file on disk, or "" when it cannot be read.
std::string FileSha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  crypto::Sha256Stream h;
  std::vector<char> buf(1 << 16);
  while (in) {
    in.read(buf.data(), static_cast<std::streamsize>(buf.size()));
    if (in.gcount() > 0)
      h.Update(util::AsBytes(std::string_view(buf.data(), static_cast<size_t>(in.gcount()))));
  }
  if (in.bad()) return "";
  return util::ToHex(h.Final());
}

std::vector<std::string> Names(const json& doc, const char* kind) {
  std::vector<std::string> out;
  if (doc.contains(kind) && doc[kind].is_array())
    for (const auto& x : doc[kind])
      if (x.contains("name") && x["name"].is_string()) out.push_back(x["name"]);
  return out;
}

util::Result<json> GetJson(const workspace::WorkspaceApiClient& api, const std::string& path) {
  std::string body = MLV_TRY(api.Call("GET", path));
  json j = json::parse(body, nullptr, false);
  if (j.is_discarded()) return util::Unavailable("GET " + path + ": the answer is not JSON");
  return j;
}

// Whether something listening behind the runtime's forwarding answers: any answer but "not
// running" (503) and "does not answer" (502) counts, 404 included.
util::Status Answers(const workspace::WorkspaceApiClient& api, const std::string& path) {
  auto r = api.Call("GET", path);
  if (r || r.error().code() != util::ErrorCode::kUnavailable) return util::Ok();
  return std::unexpected(r.error());
}

// Polls `list_path` (an array `key` of objects) until the entry `match` selects has a final
// status ("running", "failed", "stopped") or the timeout passes; returns that entry (or null).
json WaitFor(const workspace::WorkspaceApiClient& api, const std::string& list_path,
             const char* key, const std::function<bool(const json&)>& match, double timeout,
             const util::CancelToken* cancel) {
  double deadline = util::MonotonicSeconds() + timeout;
  json last = nullptr;
  for (;;) {
    if (auto j = GetJson(api, list_path); j && j->contains(key) && (*j)[key].is_array()) {
      last = nullptr;
      for (const auto& x : (*j)[key])
        if (match(x)) last = x;
      if (last.is_object() && ServiceStatusIn(last) != ServiceStatus::kStarting) return last;
    }
    if (util::MonotonicSeconds() > deadline || (cancel && cancel->cancelled())) return last;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

api::RestoreTestCheck Check(const std::string& name, const std::vector<std::string>& problems,
                            const std::string& ok_detail) {
  return {name, problems.empty(), problems.empty() ? ok_detail : Named(problems)};
}

}  // namespace

util::Result<std::vector<api::RestoreTestCheck>> RunDrillChecks(
    const DrillCheckEnv& env, const catalog::BackupRecord& backup,
    const catalog::WorkspaceRecord& sandbox) {
  std::vector<api::RestoreTestCheck> out;
  catalog::InventoryRecord inv = MLV_TRY_CTX(
      EnsureInventory(*env.db, env.home, backup, util::Clock::System().Now(), env.cancel),
      "reading what the backup holds");
  json doc = json::parse(inv.document, nullptr, false);
  if (!doc.is_object()) return util::Internal("the backup's inventory is not a JSON object");
  workspace::WorkspaceSpec spec = SpecOf(sandbox);

  // runtime
  workspace::RuntimeClient rc(sandbox.endpoint, spec.control_key, 10);
  auto health = rc.GetHealth();
  bool healthy = health && health->status == "ok" && health->reconciled;
  out.push_back({"runtime", healthy,
                 healthy  ? "healthy and reconciled, version " + health->version
                 : health ? "status \"" + health->status + "\", reconciled " +
                                (health->reconciled ? "true" : "false")
                          : "no answer: " + health.error().message()});
  if (!healthy) return out;  // nothing else can answer

  workspace::WorkspaceApiClient api(sandbox.endpoint, spec.api_key, 30, 10);

  // entities
  {
    std::vector<std::string> problems;
    size_t expected = 0;
    for (auto [kind, path, key] :
         {std::tuple{"projects", "/api/v1/projects", "project"},
          std::tuple{"models", "/api/v1/models", "model"},
          std::tuple{"applications", "/api/v1/applications", "application"}}) {
      auto want = Names(doc, kind);
      expected += want.size();
      auto got = GetJson(api, path);
      if (!got) {
        problems.push_back(std::string("listing ") + kind + ": " + got.error().message());
        continue;
      }
      auto have_v = Names(*got, kind);
      std::set<std::string> have(have_v.begin(), have_v.end());
      for (const auto& n : want)
        if (!have.count(n)) problems.push_back(std::string(key) + " " + n + " is missing");
    }
    out.push_back(Check("entities", problems,
                        std::to_string(expected) + " projects, models and applications present"));
  }

  // applications
  {
    std::vector<std::string> problems;
    int n = 0;
    if (doc.contains("applications"))
      for (const auto& a : doc["applications"]) {
        if (ServiceStatusIn(a) != ServiceStatus::kRunning) continue;
        ++n;
        std::string name = a.value("name", "");
        json now = WaitFor(
            api, "/api/v1/applications", "applications",
            [&](const json& x) { return x.value("name", "") == name; }, env.start_timeout_seconds,
            env.cancel);
        if (!now.is_object()) {
          problems.push_back("application " + name + " is missing");
        } else if (ServiceStatusIn(now) != ServiceStatus::kRunning) {
          problems.push_back(
              "application " + name + " is " + now.value("status", "?") +
              (now.value("message", "").empty() ? "" : ": " + now.value("message", "")));
        } else if (auto st = Answers(api, "/apps/" + now.value("subdomain", "") + "/"); !st) {
          problems.push_back("application " + name + " does not answer: " + st.error().message());
        }
      }
    out.push_back(
        Check("applications", problems, std::to_string(n) + " running application(s) answer"));
  }

  // models: running again, and answering the sample request recorded at backup time as then
  // (control/model_samples.h); a model without a recorded sample is checked to answer only.
  {
    std::vector<std::string> problems;
    int n = 0, replayed = 0;
    std::vector<std::string> unsampled;
    std::map<std::string, catalog::ModelSampleRecord> sample_of;
    auto samples = SamplesOfBackup(*env.db, backup);
    if (!samples)
      problems.push_back("reading the model samples recorded with the backup: " +
                         samples.error().message());
    else
      for (auto& s : *samples) sample_of[s.model_name] = std::move(s);
    if (doc.contains("models"))
      for (const auto& m : doc["models"]) {
        bool deployed = false;
        if (m.contains("deployments"))
          for (const auto& d : m["deployments"])
            if (ServiceStatusIn(d) == ServiceStatus::kRunning) deployed = true;
        if (!deployed) continue;
        ++n;
        std::string name = m.value("name", "");
        json now = WaitFor(
            api, "/api/v1/deployments", "deployments",
            [&](const json& x) { return x.value("modelName", "") == name; },
            env.start_timeout_seconds, env.cancel);
        auto sample = sample_of.find(name);
        bool has_sample = sample != sample_of.end() && sample->second.status_code > 0 &&
                          sample->second.error.empty();
        if (!now.is_object()) {
          problems.push_back("model " + name + " has no deployment");
        } else if (ServiceStatusIn(now) != ServiceStatus::kRunning) {
          problems.push_back(
              "model " + name + ": deployment " + now.value("id", "") + " is " +
              now.value("status", "?") +
              (now.value("message", "").empty() ? "" : ": " + now.value("message", "")));
        } else if (has_sample) {
          const catalog::ModelSampleRecord& rec = sample->second;
          SampleRequest req{rec.method, rec.path, rec.content_type, rec.request_body, rec.compare};
          auto answer = SendSample(sandbox.endpoint, spec.api_key, name, req, 30);
          std::string differs =
              answer ? CompareSample(rec, answer->status, answer->body)
                     : "does not answer its sample request " + rec.method + " " + rec.path + ": " +
                           answer.error().message();
          if (!differs.empty())
            problems.push_back(fmt::format("model {}: {}", name, differs));
          else
            ++replayed;
        } else {
          if (auto st = Answers(api, "/models/" + name + "/"); !st)
            problems.push_back("model " + name + " does not answer: " + st.error().message());
          unsampled.push_back(name + (sample == sample_of.end()
                                          ? ""
                                          : " (at backup time: " + sample->second.error + ")"));
        }
      }
    std::string ok = std::to_string(n) + " deployed model(s) run and answer";
    if (replayed > 0)
      ok += "; " + std::to_string(replayed) +
            " answered the sample request recorded at backup time as then";
    if (!unsampled.empty())
      ok += "; no sample answer was recorded with the backup for " + Named(unsampled) +
            (samples && samples->empty()
                 ? " (the backup predates model sample requests): checked to answer only"
                 : ": checked to answer only");
    out.push_back(Check("models", problems, ok));
  }

  // files: every file the backup's contents record, read a page at a time from the catalog
  // (the record EnsureInventory returns holds the document, not the files).
  {
    std::vector<std::string> problems;
    uint64_t bytes = 0;
    int64_t files = 0;
    auto checked = [&]() -> util::Status {
      auto v = MLV_TRY(OpenBackupVault(*env.db, env.home, backup));
      std::map<std::string, std::string> point_of;  // volume -> recovery point
      for (const auto& rp : MLV_TRY(catalog::BackupStore(*env.db).RecoveryPoints(backup.id)))
        point_of[rp.volume] = rp.vault_point_id;
      std::map<std::string, std::string> dir_of;  // volume -> sandbox path
      for (const auto& vol : env.provider->Volumes(spec)) dir_of[vol.name] = vol.path;
      catalog::InventoryStore store(*env.db);
      std::string after;
      for (;;) {
        auto page = MLV_TRY(store.Files(backup.id, after, kFilesPerPage));
        if (page.empty()) break;
        after = page.back().path;
        for (const auto& f : page) {
          if (env.cancel && env.cancel->cancelled()) return util::Cancelled("cancelled");
          ++files;
          auto rp = point_of.find(f.volume);
          auto dir = dir_of.find(f.volume);
          if (rp == point_of.end() || dir == dir_of.end()) {
            problems.push_back(f.path + ": volume " + f.volume + " is missing");
            continue;
          }
          crypto::Sha256Stream h;
          auto st = v->ReadFile(
              rp->second, f.volume_path,
              [&](util::ByteView b) {
                h.Update(b);
                return util::Ok();
              },
              env.cancel);
          if (!st) {
            problems.push_back(f.path + ": reading the backup's copy: " + st.error().message());
            continue;
          }
          std::string want = util::ToHex(h.Final());
          std::string got = FileSha256(dir->second + "/" + f.volume_path);
          if (got.empty())
            problems.push_back(f.path + " is missing or unreadable in the sandbox");
          else if (got != want)
            problems.push_back(f.path + ": SHA-256 " + got.substr(0, 12) +
                               "... differs from the "
                               "backup's " +
                               want.substr(0, 12) + "...");
          bytes += static_cast<uint64_t>(f.size);
        }
      }
      return util::Ok();
    }();
    if (!checked) problems.insert(problems.begin(), checked.error().message());
    out.push_back(Check("files", problems,
                        std::to_string(files) + " file(s), " + util::HumanBytes(bytes) +
                            ": every SHA-256 matches the backup"));
  }
  return out;
}

}  // namespace mlvault::control
