// Test harness for mlvault-workspace: a workspace started as a real child process on
// 127.0.0.1 over fresh (or copied) volumes in a temporary directory, and a small HTTP client.
// Every workspace is stopped (SIGTERM, then SIGKILL) by pid and its directory removed when the
// object goes away.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace mlvault::runtime::testing {

using json = nlohmann::json;

inline constexpr const char* kApiKey = "test-api-key-0123456789";
inline constexpr const char* kControlKey = "test-control-key-0123456789";

struct HttpReply {
  int status = 0;  // 0: no answer
  std::string body;
  std::multimap<std::string, std::string> headers;
  json Json() const;
  std::string Header(const std::string& name) const;
};

// Sends `raw` on a fresh connection to 127.0.0.1:port and returns the first answer (or what
// came back before the server closed or `timeout` passed).
std::string RawExchange(int port, const std::string& raw, std::chrono::milliseconds timeout);

// The array `key` of a JSON answer, by value (safe to loop over), or [] if absent.
inline json Items(const HttpReply& r, const char* key) {
  json j = r.Json();
  return j.is_object() && j.contains(key) ? j[key] : json::array();
}

// Runs a command (no shell); returns its exit code and combined output.
struct CommandResult {
  int exit_code = -1;
  std::string output;
};
CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_seconds = 60);

std::string Sha256Hex(std::string_view data);

class Workspace {
 public:
  struct Options {
    std::string domain = "ws.test";
    std::string crn =
        "crn:mlvault:ml:us-west-1:11111111-1111-1111-1111-111111111111:workspace:"
        "22222222-2222-2222-2222-222222222222";
    std::vector<std::string> extra_flags;
    // Run the server through this command prefix (e.g. setpriv to another uid).
    std::vector<std::string> wrapper;
    // Use the volumes in this directory (projects/, models/, metadata/ws.db) instead of a new one.
    std::string copy_of;
  };

  explicit Workspace(Options options);
  Workspace() : Workspace(Options{}) {}
  ~Workspace();
  Workspace(const Workspace&) = delete;

  // Starts the server; returns false (with the log in `error`) if it did not become ready.
  bool Start(std::string* error);
  // SIGTERM and wait; returns the exit status (or -1 if it had to be killed).
  int Stop();
  // SIGKILL, no cleanup by the runtime.
  void Kill();

  HttpReply Call(const std::string& method, const std::string& path, const std::string& body = "",
                 const std::string& key = kApiKey, const std::string& host = "",
                 const std::string& content_type = "application/json");
  HttpReply Get(const std::string& path) { return Call("GET", path); }
  HttpReply Post(const std::string& path, const json& body) {
    return Call("POST", path, body.dump());
  }
  HttpReply Put(const std::string& project_id, const std::string& path, const std::string& data) {
    return Call("PUT", "/api/v1/projects/" + project_id + "/files/" + path, data, kApiKey, "",
                "application/octet-stream");
  }
  HttpReply Delete(const std::string& path) { return Call("DELETE", path); }
  HttpReply Internal(const std::string& method, const std::string& path,
                     const json& body = json::object()) {
    return Call(method, path, body.dump(), kControlKey);
  }

  // Creates a project; returns its id (fails the test if it cannot).
  std::string NewProject(const std::string& name);
  // Polls GET path until its "status" leaves `while_status`; returns the last JSON.
  json WaitWhile(const std::string& path, const std::string& while_status,
                 std::chrono::milliseconds timeout = std::chrono::seconds(20));
  // Polls health until reconciled.
  bool WaitReconciled(std::chrono::milliseconds timeout = std::chrono::seconds(20));

  const std::string& dir() const { return dir_; }
  std::string projects_dir() const { return dir_ + "/projects"; }
  std::string models_dir() const { return dir_ + "/models"; }
  std::string metadata_path() const { return dir_ + "/metadata/ws.db"; }
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  pid_t pid() const { return pid_; }
  std::string Log() const;

 private:
  Options options_;
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Copies a workspace's volumes (as a backup + restore would) into a new directory under
// $TMPDIR; returns it. The caller passes it as Options::copy_of.
std::string CopyVolumes(const Workspace& from);

// True if a process with this pid exists.
bool ProcessAlive(pid_t pid);

}  // namespace mlvault::runtime::testing
