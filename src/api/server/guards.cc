#include "api/server/guards.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <set>
#include <utility>
#include <vector>

namespace mlvault::api {
namespace {

// "ip:port" of a socket address; "" if it is not IPv4/IPv6.
std::string AddrString(const sockaddr_storage& ss, int* port) {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET) {
    auto* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, buf, sizeof buf);
    *port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    auto* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, buf, sizeof buf);
    *port = ntohs(a->sin6_port);
  } else {
    return "";
  }
  return std::string(buf) + ":" + std::to_string(*port);
}

// The peer ("ip:port") of `fd` if it is a socket connected on local port `port`, else "".
std::string SocketPeer(int fd, int port) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return "";
  sockaddr_storage local{}, peer{};
  socklen_t ll = sizeof local, pl = sizeof peer;
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &ll) != 0) return "";
  int lport = 0, pport = 0;
  if (AddrString(local, &lport).empty() || lport != port) return "";
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &pl) != 0) return "";
  return AddrString(peer, &pport);
}

}  // namespace

SlowClientGuard::SlowClientGuard(int port, double header_seconds, double body_seconds)
    : port_(port),
      header_(static_cast<int64_t>(header_seconds * 1000)),
      body_(static_cast<int64_t>(body_seconds * 1000)) {
  thread_ = std::thread([this] { Loop(); });
}

SlowClientGuard::~SlowClientGuard() {
  {
    util::MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  thread_.join();
}

void SlowClientGuard::Set(const std::string& peer, Phase phase) {
  util::MutexLock lock(mu_);
  Conn& c = by_peer_[peer];
  c.peer = peer;
  c.phase = phase;
  c.since = std::chrono::steady_clock::now();
}

void SlowClientGuard::HeadersReceived(const std::string& peer) { Set(peer, Phase::kReadingBody); }
void SlowClientGuard::BodyReceived(const std::string& peer) { Set(peer, Phase::kHandling); }
void SlowClientGuard::Answered(const std::string& peer) { Set(peer, Phase::kWaitingHeaders); }

void SlowClientGuard::Loop() {
  for (;;) {
    {
      util::MutexLock lock(mu_);
      if (stop_) return;
      cv_.WaitFor(mu_, std::chrono::milliseconds(250));
      if (stop_) return;
    }
    Scan();  // without mu_: it reads /proc and probes sockets
  }
}

void SlowClientGuard::Scan() {
  // The accepted sockets of our port, by descriptor.
  std::map<int, std::string> live;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) {
      char* end = nullptr;
      long fd = std::strtol(e->d_name, &end, 10);
      if (end == e->d_name || *end) continue;
      std::string p = SocketPeer(static_cast<int>(fd), port_);
      if (!p.empty()) live[static_cast<int>(fd)] = p;
    }
    closedir(d);
  }
  const auto now = std::chrono::steady_clock::now();
  std::vector<std::pair<int, std::string>> to_cut;
  {
    util::MutexLock lock(mu_);
    std::set<std::string> peers;
    for (auto it = by_fd_.begin(); it != by_fd_.end();) {
      auto l = live.find(it->first);
      it = (l == live.end() || l->second != it->second.peer) ? by_fd_.erase(it) : std::next(it);
    }
    for (const auto& [fd, peer] : live) {
      peers.insert(peer);
      auto [it, fresh] = by_fd_.try_emplace(fd, Conn{peer, Phase::kWaitingHeaders, now});
      Conn& c = it->second;
      if (auto r = by_peer_.find(peer); r != by_peer_.end() && r->second.since > c.since) {
        c.phase = r->second.phase;
        c.since = r->second.since;
      }
      auto limit = c.phase == Phase::kWaitingHeaders ? header_
                   : c.phase == Phase::kReadingBody  ? body_
                                                     : std::chrono::milliseconds::max();
      if (c.phase == Phase::kHandling || now - c.since <= limit) continue;
      // Bytes waiting unread mean no worker is reading this connection yet (it is queued for
      // one): the wait is the server's, not the client's.
      int pending = 0;
      if (ioctl(fd, FIONREAD, &pending) == 0 && pending > 0) continue;
      to_cut.emplace_back(fd, c.peer);
    }
    for (auto it = by_peer_.begin(); it != by_peer_.end();)
      it = peers.contains(it->first) ? std::next(it) : by_peer_.erase(it);
  }
  for (const auto& [fd, peer] : to_cut) {
    // The server may have closed this descriptor since the scan and its number been reused:
    // cut it only if it is still the same connection (our port, the same peer address; a
    // live TCP connection's address pair is unique, so a reused number cannot pass this).
    if (SocketPeer(fd, port_) != peer) continue;
    ::shutdown(fd, SHUT_RDWR);
    cut_.fetch_add(1);
  }
}

int RateLimiter::Take(const std::string& key) {
  if (rate_ <= 0) return 0;
  const auto now = std::chrono::steady_clock::now();
  util::MutexLock lock(mu_);
  if (buckets_.size() > 100'000) buckets_.clear();  // bounded memory; forgets, never blocks
  auto [it, fresh] = buckets_.try_emplace(key, Bucket{burst_, now});
  Bucket& b = it->second;
  double elapsed = std::chrono::duration<double>(now - b.at).count();
  b.tokens = std::min(burst_, b.tokens + elapsed * rate_);
  b.at = now;
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return 0;
  }
  return std::max(1, static_cast<int>(std::ceil((1 - b.tokens) / rate_)));
}

}  // namespace mlvault::api
