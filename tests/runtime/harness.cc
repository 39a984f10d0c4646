#include "tests/runtime/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <thread>

#include "util/bytes.h"
#include "util/files.h"

extern char** environ;

namespace mlvault::runtime::testing {

json HttpReply::Json() const {
  json j = json::parse(body, nullptr, false);
  return j;
}

std::string HttpReply::Header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (strcasecmp(k.c_str(), name.c_str()) == 0) return v;
  return "";
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
  return util::ToHex(util::ByteView(md, len));
}

namespace {

// A server may close a connection while a test still sends a refused body; that must be an
// error of the call, not the death of the test binary.
const bool kIgnoreSigpipe = [] {
  ::signal(SIGPIPE, SIG_IGN);
  return true;
}();

// Waits for a child; SIGKILL after the timeout. Returns its wait status, or -1 if killed.
int WaitChild(pid_t pid, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  for (;;) {
    pid_t r = ::waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

pid_t Spawn(const std::vector<std::string>& argv, const std::string& out_path) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&fa, 1, 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, args[0], &fa, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  return rc == 0 ? pid : -1;
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv, int timeout_seconds) {
  CommandResult r;
  auto dir = util::MakeTempDir("mlv-cmd-");
  if (!dir) return r;
  std::string out = *dir + "/out";
  pid_t pid = Spawn(argv, out);
  if (pid > 0) {
    int status = WaitChild(pid, std::chrono::seconds(timeout_seconds));
    r.exit_code = status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }
  r.output = util::ReadFile(out).value_or("");
  (void)util::RemoveAll(*dir);
  return r;
}

Workspace::Workspace(Options options) : options_(std::move(options)) {
  if (!options_.copy_of.empty()) {
    dir_ = options_.copy_of;
  } else {
    dir_ = util::MakeTempDir("mlv-ws-").value_or("");
  }
  (void)util::WriteFileAtomic(dir_ + "/api.key", std::string(kApiKey) + "\n", false);
  (void)util::WriteFileAtomic(dir_ + "/control.key", std::string(kControlKey) + "\n", false);
}

Workspace::~Workspace() {
  Stop();
  if (!dir_.empty() && !::testing::Test::HasFailure())
    (void)util::RemoveAll(dir_);
  else if (!dir_.empty())
    std::fprintf(stderr, "kept %s for inspection\n", dir_.c_str());
}

bool Workspace::Start(std::string* error) {
  ::unlink((dir_ + "/ready.json").c_str());
  std::vector<std::string> argv = {MLVAULT_WORKSPACE_BIN,
                                   "serve",
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--domain",
                                   options_.domain,
                                   "--workspace-crn",
                                   options_.crn,
                                   "--projects",
                                   projects_dir(),
                                   "--models",
                                   models_dir(),
                                   "--metadata",
                                   metadata_path(),
                                   "--api-key-file",
                                   dir_ + "/api.key",
                                   "--control-key-file",
                                   dir_ + "/control.key",
                                   "--ready-file",
                                   dir_ + "/ready.json"};
  argv.insert(argv.end(), options_.extra_flags.begin(), options_.extra_flags.end());
  argv.insert(argv.begin(), options_.wrapper.begin(), options_.wrapper.end());
  pid_ = Spawn(argv, dir_ + "/server.log");
  if (pid_ < 0) {
    *error = "cannot spawn " + std::string(MLVAULT_WORKSPACE_BIN);
    return false;
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (std::chrono::steady_clock::now() < deadline) {
    auto text = util::ReadFile(dir_ + "/ready.json");
    if (text) {
      json j = json::parse(*text, nullptr, false);
      if (j.is_object() && j.contains("port")) {
        port_ = j["port"].get<int>();
        return true;
      }
    }
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      *error = "the server exited: " + Log();
      return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  *error = "the server did not become ready: " + Log();
  return false;
}

int Workspace::Stop() {
  if (pid_ <= 0) return 0;
  ::kill(pid_, SIGTERM);
  int status = WaitChild(pid_, std::chrono::seconds(20));
  pid_ = -1;
  return status;
}

void Workspace::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  WaitChild(pid_, std::chrono::seconds(5));
  pid_ = -1;
}

std::string Workspace::Log() const { return util::ReadFile(dir_ + "/server.log").value_or(""); }

HttpReply Workspace::Call(const std::string& method, const std::string& path,
                          const std::string& body, const std::string& key, const std::string& host,
                          const std::string& content_type) {
  httplib::Client cli("127.0.0.1", port_);
  cli.set_connection_timeout(5, 0);
  cli.set_read_timeout(30, 0);
  cli.set_url_encode(false);
  httplib::Request req;
  req.method = method;
  req.path = path;
  req.body = body;
  if (!key.empty()) req.headers.emplace("Authorization", "Bearer " + key);
  if (!host.empty()) req.headers.emplace("Host", host);
  if (!body.empty() || method == "POST" || method == "PUT")
    req.headers.emplace("Content-Type", content_type);
  auto res = cli.send(req);
  HttpReply r;
  if (!res) return r;
  r.status = res->status;
  r.body = res->body;
  for (const auto& h : res->headers) r.headers.insert(h);
  return r;
}

std::string Workspace::NewProject(const std::string& name) {
  HttpReply r = Post("/api/v1/projects", {{"name", name}});
  EXPECT_EQ(r.status, 201) << r.body;
  json j = r.Json();
  return j.is_object() && j.contains("id") ? j["id"].get<std::string>() : "";
}

json Workspace::WaitWhile(const std::string& path, const std::string& while_status,
                          std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  json j;
  for (;;) {
    HttpReply r = Get(path);
    j = r.Json();
    if (r.status != 200 || !j.is_object() || j.value("status", "") != while_status) return j;
    if (std::chrono::steady_clock::now() > deadline) return j;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
}

bool Workspace::WaitReconciled(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    json h = Call("GET", "/api/v1/health", "", "").Json();
    if (h.is_object() && h.value("reconciled", false)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return false;
}

std::string CopyVolumes(const Workspace& from) {
  std::string dir = util::MakeTempDir("mlv-ws-copy-").value_or("");
  // File volumes file by file (cp -a), the block volume as its one database file: what a
  // backup of the quiesced workspace captures.
  auto r1 = RunCommand({"/bin/cp", "-a", from.projects_dir(), dir + "/projects"});
  auto r2 = RunCommand({"/bin/cp", "-a", from.models_dir(), dir + "/models"});
  (void)util::MakeDirs(dir + "/metadata");
  auto r3 = RunCommand({"/bin/cp", from.metadata_path(), dir + "/metadata/ws.db"});
  EXPECT_EQ(r1.exit_code, 0) << r1.output;
  EXPECT_EQ(r2.exit_code, 0) << r2.output;
  EXPECT_EQ(r3.exit_code, 0) << r3.output;
  return dir;
}

std::string RawExchange(int port, const std::string& raw, std::chrono::milliseconds timeout) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string out;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::send(fd, raw.data(), raw.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(raw.size())) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
      // Stop after one whole answer (the server may keep the connection open).
      size_t end = out.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      size_t cl = out.find("Content-Length: ");
      size_t len = cl != std::string::npos && cl < end ? std::stoul(out.substr(cl + 16)) : 0;
      if (out.size() >= end + 4 + len) break;
    }
  }
  ::close(fd);
  return out;
}

bool ProcessAlive(pid_t pid) {
  if (pid <= 0) return false;
  // A zombie (killed, not yet reaped by whoever inherited it) is not alive.
  auto stat = util::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  size_t close = stat->rfind(')');
  return close == std::string::npos || close + 2 >= stat->size() || (*stat)[close + 2] != 'Z';
}

}  // namespace mlvault::runtime::testing
