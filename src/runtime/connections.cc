#include "runtime/connections.h"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <list>
#include <thread>
#include <vector>

#include "util/mutex.h"

// Every socket the runtime accepts is close-on-exec from the start, whoever calls accept() (the
// HTTP library does): defined here, this accept() is the one the library's calls bind to. Children
// also get no descriptor but 0-2 (Supervisor), so a job never holds a client's connection.
extern "C" int accept(int fd, struct sockaddr* addr, socklen_t* len) {
  return ::accept4(fd, addr, len, SOCK_CLOEXEC);
}

namespace mlvault::runtime {

using Clock = std::chrono::steady_clock;

namespace {
enum class Phase { kHeaders, kIdle, kRequest };
}  // namespace

// One connection: the stream httplib reads the requests from and writes the answers to, with
// the deadline of the current phase applied to every wait.
class GuardedServer::Conn final : public httplib::Stream {
 public:
  Conn(int fd, Registry& registry) : fd_(fd), registry_(registry) {}

  bool is_readable() const override { return off_ < len_ || Wait(POLLIN); }
  bool is_writable() const override { return Wait(POLLOUT); }

  ssize_t read(char* ptr, size_t size) override {
    if (limited_) {
      if (body_read_ >= body_limit_) {
        limit_hit_ = true;
        return -1;
      }
      size = static_cast<size_t>(std::min<uint64_t>(size, body_limit_ - body_read_));
    }
    if (off_ == len_) {
      if (!Wait(POLLIN)) return -1;
      if (size >= sizeof buf_) {
        ssize_t n = Recv(ptr, size);
        if (n > 0 && limited_) body_read_ += static_cast<uint64_t>(n);
        return n;
      }
      ssize_t n = Recv(buf_, sizeof buf_);
      if (n <= 0) return n;
      off_ = 0;
      len_ = static_cast<size_t>(n);
    }
    size_t n = std::min(size, len_ - off_);
    std::memcpy(ptr, buf_ + off_, n);
    off_ += n;
    if (limited_) body_read_ += n;
    return static_cast<ssize_t>(n);
  }

  ssize_t write(const char* ptr, size_t size) override {
    if (!Wait(POLLOUT)) return -1;
    for (;;) {
      ssize_t n = ::send(fd_, ptr, size, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  }

  void get_remote_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getpeername(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      Name(addr, len, ip, port);
  }
  void get_local_ip_and_port(std::string& ip, int& port) const override {
    sockaddr_storage addr{};
    socklen_t len = sizeof addr;
    if (::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0)
      Name(addr, len, ip, port);
  }
  socket_t socket() const override { return fd_; }

  bool HasBuffered() const { return off_ < len_; }
  void SetDeadline(std::chrono::milliseconds d) { deadline_ = Clock::now() + d; }
  void StartRequest() {
    limited_ = false;
    limit_hit_ = false;
    body_read_ = 0;
    close_after_ = false;
  }
  void LimitBody(uint64_t bytes) {
    limited_ = true;
    body_limit_ = bytes;
    body_read_ = 0;
  }

  const int fd_;
  Registry& registry_;
  // Owned by the connection's thread.
  bool close_after_ = false;
  bool limit_hit_ = false;
  // Guarded by the registry's mu_ (not annotated: Registry is declared after Conn, so the
  // analysis cannot name its mutex here).
  Phase phase_ = Phase::kHeaders;
  Clock::time_point phase_since_ = Clock::now();
  bool evicted_ = false;

 private:
  static void Name(const sockaddr_storage& addr, socklen_t len, std::string& ip, int& port) {
    char host[NI_MAXHOST];
    if (::getnameinfo(reinterpret_cast<const sockaddr*>(&addr), len, host, sizeof host, nullptr, 0,
                      NI_NUMERICHOST) == 0)
      ip = host;
    if (addr.ss_family == AF_INET)
      port = ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
    else if (addr.ss_family == AF_INET6)
      port = ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  }

  // Waits for `events` until the phase's deadline.
  bool Wait(short events) const {
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd_, events, 0};
      int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
      if (r < 0 && errno == EINTR) continue;
      if (r <= 0) return false;
      return true;  // readable, writable, or an error/hang-up the next call reports
    }
  }
  ssize_t Recv(char* ptr, size_t size) {
    for (;;) {
      ssize_t n = ::recv(fd_, ptr, size, 0);
      if (n < 0 && errno == EINTR) continue;
      return n;
    }
  }

  Clock::time_point deadline_ = Clock::now();
  char buf_[4096];
  size_t off_ = 0, len_ = 0;
  bool limited_ = false;
  uint64_t body_limit_ = 0, body_read_ = 0;
};

// The open connections, so that one can be closed to make room and all on shutdown.
class GuardedServer::Registry {
 public:
  explicit Registry(std::chrono::milliseconds evict_min_age) : evict_min_age_(evict_min_age) {}

  void Add(Conn* c) {
    util::MutexLock lock(mu_);
    conns_.push_back(c);
    if (closing_all_) ::shutdown(c->fd_, SHUT_RDWR);
  }
  void Remove(Conn* c) {
    util::MutexLock lock(mu_);
    conns_.remove(c);
  }
  void SetPhase(Conn* c, Phase p) {
    util::MutexLock lock(mu_);
    c->phase_ = p;
    c->phase_since_ = Clock::now();
  }
  // Closes the connection longest in its header or idle phase (at least evict_min_age).
  bool EvictOne() {
    util::MutexLock lock(mu_);
    Conn* victim = nullptr;
    auto now = Clock::now();
    for (Conn* c : conns_) {
      if (c->evicted_ || c->phase_ == Phase::kRequest || now - c->phase_since_ < evict_min_age_)
        continue;
      // Idle connections go first, then the slowest to send their headers.
      auto rank = [](const Conn* x) { return x->phase_ == Phase::kIdle ? 0 : 1; };
      if (!victim || rank(c) < rank(victim) ||
          (rank(c) == rank(victim) && c->phase_since_ < victim->phase_since_))
        victim = c;
    }
    if (!victim) return false;
    victim->evicted_ = true;
    ::shutdown(victim->fd_, SHUT_RDWR);
    ++evicted_;
    return true;
  }
  void CloseAll() {
    util::MutexLock lock(mu_);
    closing_all_ = true;
    for (Conn* c : conns_) ::shutdown(c->fd_, SHUT_RDWR);
  }
  uint64_t evicted() const {
    util::MutexLock lock(mu_);
    return evicted_;
  }

 private:
  const std::chrono::milliseconds evict_min_age_;
  mutable util::Mutex mu_;
  std::list<Conn*> conns_ MLV_GUARDED_BY(mu_);
  bool closing_all_ MLV_GUARDED_BY(mu_) = false;
  uint64_t evicted_ MLV_GUARDED_BY(mu_) = 0;
};

// A fixed pool of workers; when a connection arrives and none is free, it makes room.
class GuardedServer::Queue final : public httplib::TaskQueue {
 public:
  Queue(int workers, std::shared_ptr<Registry> registry) : registry_(std::move(registry)) {
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { Work(); });
  }
  ~Queue() override { shutdown(); }

  void enqueue(std::function<void()> fn) override {
    size_t waiting;
    {
      util::MutexLock lock(mu_);
      jobs_.push_back(std::move(fn));
      waiting = jobs_.size();
    }
    cv_.NotifyOne();
    // More connections waiting than free workers: close the slowest idle/header-phase ones.
    for (size_t i = 0; i < waiting; ++i) {
      {
        util::MutexLock lock(mu_);
        if (jobs_.size() <= idle_) break;
      }
      if (!registry_->EvictOne()) break;
    }
  }

  void shutdown() override {
    {
      util::MutexLock lock(mu_);
      if (stop_) return;
      stop_ = true;
    }
    cv_.NotifyAll();
    for (auto& t : threads_) t.join();
  }

 private:
  void Work() {
    for (;;) {
      std::function<void()> fn;
      {
        util::MutexLock lock(mu_);
        ++idle_;
        while (!stop_ && jobs_.empty()) cv_.Wait(mu_);
        --idle_;
        if (jobs_.empty()) return;  // stopping, nothing left
        fn = std::move(jobs_.front());
        jobs_.pop_front();
      }
      fn();
    }
  }

  std::shared_ptr<Registry> registry_;
  std::vector<std::thread> threads_;
  util::Mutex mu_;
  util::CondVar cv_;  // waited on with mu_: jobs_ or stop_ changed
  std::deque<std::function<void()>> jobs_ MLV_GUARDED_BY(mu_);
  size_t idle_ MLV_GUARDED_BY(mu_) = 0;  // workers waiting for a job
  bool stop_ MLV_GUARDED_BY(mu_) = false;
};

namespace {
thread_local GuardedServer* t_server = nullptr;
thread_local void* t_conn = nullptr;
}  // namespace

GuardedServer::GuardedServer(ConnectionLimits limits)
    : limits_(limits), registry_(std::make_shared<Registry>(limits.evict_min_age)) {
  new_task_queue = [workers = limits_.workers, registry = registry_] {
    return new Queue(workers, registry);
  };
}

GuardedServer::~GuardedServer() = default;

bool GuardedServer::process_and_close_socket(socket_t sock) {
  ::fcntl(sock, F_SETFD, FD_CLOEXEC);
  Conn conn(sock, *registry_);
  registry_->Add(&conn);
  t_server = this;
  t_conn = &conn;
  conn.SetDeadline(limits_.header_timeout);  // the first request's headers, from the accept
  for (size_t left = limits_.keep_alive_max; left > 0 && is_running(); --left) {
    if (left != limits_.keep_alive_max) {
      registry_->SetPhase(&conn, Phase::kIdle);
      conn.SetDeadline(limits_.idle_timeout);
      if (!conn.HasBuffered() && !conn.is_readable()) break;
      registry_->SetPhase(&conn, Phase::kHeaders);
      conn.SetDeadline(limits_.header_timeout);
    }
    conn.StartRequest();
    bool closed = false;
    bool ok = process_request(conn, left == 1, closed, nullptr);
    if (!ok || closed || conn.close_after_ || conn.limit_hit_) break;
  }
  t_conn = nullptr;
  t_server = nullptr;
  registry_->Remove(&conn);
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return true;
}

void GuardedServer::HeadersDone(uint64_t max_body_bytes) {
  auto* c = static_cast<Conn*>(t_conn);
  if (!c) return;
  c->registry_.SetPhase(c, Phase::kRequest);
  c->SetDeadline(t_server->limits_.request_timeout);
  c->LimitBody(max_body_bytes);
}

bool GuardedServer::DrainBody(uint64_t bytes) {
  auto* c = static_cast<Conn*>(t_conn);
  if (!c) return false;
  char buf[16384];
  while (bytes > 0) {
    ssize_t n = c->read(buf, static_cast<size_t>(std::min<uint64_t>(bytes, sizeof buf)));
    if (n <= 0) {
      c->close_after_ = true;
      return false;
    }
    bytes -= static_cast<uint64_t>(n);
  }
  return true;
}

void GuardedServer::CloseAfterResponse() {
  if (auto* c = static_cast<Conn*>(t_conn)) c->close_after_ = true;
}

bool GuardedServer::BodyLimitHit() {
  auto* c = static_cast<Conn*>(t_conn);
  return c && c->limit_hit_;
}

void GuardedServer::CloseAll() { registry_->CloseAll(); }

uint64_t GuardedServer::evicted() const { return registry_->evicted(); }

}  // namespace mlvault::runtime
