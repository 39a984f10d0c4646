// The inside of WorkspaceServer, shared by server.cc (frame: identity checks, authentication,
// errors, health, quiesce, forwarding) and api.cc (the /api/v1 resources). Only these two
// translation units include it: it brings in httplib and nlohmann/json.
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "runtime/connections.h"
#include "runtime/net.h"
#include "runtime/server.h"
#include "runtime/store.h"
#include "runtime/volume.h"
#include "runtime/workloads.h"
#include "runtime/write_gate.h"
#include "util/mutex.h"

namespace mlvault::runtime {

using json = nlohmann::json;

// Largest JSON request body.
inline constexpr size_t kMaxJsonBody = 1 << 20;
// Largest body forwarded to an application or a deployed model (it is held in memory).
inline constexpr size_t kMaxForwardBody = size_t{32} << 20;
// A refused body up to this size is still read (and dropped) so that the client, which is
// usually still sending, gets the error answer; a larger one is refused before it is read and
// the connection closed.
inline constexpr uint64_t kDrainLimit = uint64_t{64} << 20;
// Matches any path remainder, newlines included (so odd names reach the path checks).
inline constexpr const char* kAnyPath = "([\\s\\S]+)";

// A handler's answer: JSON, or raw bytes with a content type.
struct Reply {
  int status = 200;
  json body;
  std::optional<std::string> raw;
  std::string content_type = "application/json";
  httplib::Headers headers;
};

enum class Access {
  kRead,   // no ticket
  kWrite,  // holds a WriteGate ticket for the whole handler; 503 while quiesced
};

using Handler = std::function<util::Result<Reply>(const httplib::Request&)>;

// The HTTP status of an error category: the one mapping of the runtime.
int HttpStatusFor(util::ErrorCode code);
// Dumps JSON tolerating invalid UTF-8 (file names made by jobs may hold any bytes).
std::string DumpJson(const json& j);

// ---- JSON body helpers: each names the field it refuses.
util::Result<json> ParseJsonBody(const httplib::Request& req, bool allow_empty);
util::Status OnlyFields(const json& body, std::initializer_list<std::string_view> allowed);
// A required/optional string field; `max_bytes` bounds it, control characters are refused
// unless `multiline`.
util::Result<std::string> StringField(const json& body, const char* field, bool required,
                                      size_t max_bytes, bool multiline = false);
// A display name: 1-100 characters, no control characters.
util::Result<std::string> NameField(const json& body, const char* field, bool required);
util::Result<std::optional<int64_t>> IntField(const json& body, const char* field, int64_t lo,
                                              int64_t hi);
// A command line: at most 4096 bytes, not blank.
util::Result<std::string> CommandField(const json& body, const char* field);

// ---- replies
Reply Created(json body);  // 201 with `body`
Reply Ok(json body);       // 200 with `body`
Reply Deleted(const std::string& id);  // 200 {"id": id, "deleted": true}

std::string TimeOrNull(std::optional<util::TimeMicros> t);
json ToJson(const Project& p);
json ToJson(const Job& j);
json ToJson(const Run& r);
json ToJson(const Experiment& e);
json ToJson(const ExperimentRun& r);
json ToJson(const Model& m);
json ToJson(const Build& b);
json ToJson(const Deployment& d);
json ToJson(const App& a);
json ToJson(const FileInfo& f);

// Thread-safe where WorkspaceServer says so: life_mu_ guards the lifecycle flags (stopping,
// stopped, listener exited) that Wait and Stop wait on; the rest is set up by Start.
class WorkspaceServer::Impl {
 public:
  Impl(ServeOptions options, const util::Clock& clock, ListenAddress listen, CidrSet allow)
      : options_(std::move(options)),
        clock_(clock),
        listen_(std::move(listen)),
        allow_(std::move(allow)),
        http_(LimitsOf(options_)) {}

  util::Result<int> Start();
  void Wait();
  void Stop();

  // Registration; `pattern` is a regex over the decoded path.
  void Route(const std::string& method, const std::string& pattern, Access access, Handler h);
  void RegisterApiRoutes();  // api.cc

 private:
  void RegisterFrameRoutes();
  httplib::Server::HandlerResponse PreRoute(const httplib::Request& req, httplib::Response& res);
  void Send(httplib::Response& res, const util::Result<Reply>& reply);
  void SendError(httplib::Response& res, int status, std::string_view code, const std::string& msg);
  void SendBackupInProgress(httplib::Response& res);
  void Forward(const httplib::Request& req, httplib::Response& res, bool is_app);
  // Which key a request carries (health answers more to an authenticated caller).
  enum class Caller { kNone, kApi, kControl };
  Caller CallerOf(const httplib::Request& req) const;
  // The most body bytes a request to this route may carry.
  uint64_t BodyLimitFor(const httplib::Request& req) const;
  static ConnectionLimits LimitsOf(const ServeOptions& o);
  util::Result<Reply> Health(const httplib::Request& req);
  util::Result<Reply> Quiesce(const httplib::Request& req);

  // api.cc: handlers that need more than one helper.
  void UploadFile(const httplib::Request& req, httplib::Response& res,
                  const httplib::ContentReader& reader);
  // Reads and drops an unread body up to kDrainLimit, else marks the connection for closing.
  static void DropBody(const httplib::Request& req, httplib::Response& res,
                       const httplib::ContentReader& reader);
  util::Result<Reply> DownloadFile(const std::string& project_id, const std::string& path);
  util::Result<Reply> CreateBuild(const httplib::Request& req, const std::string& model_id);
  util::Result<Reply> ReadLog(const std::string& path);
  void RemoveLog(const std::string& path);

 public:
  // Constant after construction.
  const ServeOptions options_;
  const util::Clock& clock_;
  const ListenAddress listen_;
  const CidrSet allow_;

  // Set up by Start(), then constant.
  std::unique_ptr<Volume> projects_;
  std::unique_ptr<Volume> models_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<WriteGate> gate_;
  std::unique_ptr<Workloads> workloads_;
  GuardedServer http_;
  int port_ = 0;
  std::thread listener_;
  struct RouteEntry {
    std::string method;
    std::regex pattern;
  };
  std::vector<RouteEntry> routes_;  // for 405 answers
  util::Mutex life_mu_;
  util::CondVar life_cv_;  // waited on with life_mu_: one of the flags below changed
  bool stopping_ MLV_GUARDED_BY(life_mu_) = false;
  bool done_ MLV_GUARDED_BY(life_mu_) = false;  // everything stopped
  bool listener_exited_ MLV_GUARDED_BY(life_mu_) = false;
};

}  // namespace mlvault::runtime
