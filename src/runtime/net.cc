#include "runtime/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <charconv>
#include <cstring>

#include "util/files.h"

namespace mlvault::runtime {

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool ParseInt(std::string_view s, int lo, int hi, int* out) {
  if (s.empty() || s.size() > 6) return false;
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return false;
  *out = v;
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool IsLoopback(const IpBytes& ip) {
  static const IpBytes kV6Loopback = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (ip == kV6Loopback) return true;
  // ::ffff:127.0.0.0/104
  for (int i = 0; i < 10; ++i)
    if (ip[i] != 0) return false;
  return ip[10] == 0xff && ip[11] == 0xff && ip[12] == 127;
}

bool IsUnspecified(const IpBytes& ip) {
  IpBytes zero{};
  if (ip == zero) return true;
  IpBytes v4any{};
  v4any[10] = v4any[11] = 0xff;
  return ip == v4any;
}

}  // namespace

util::Result<ListenAddress> ParseListenAddress(std::string_view text) {
  text = Trim(text);
  ListenAddress out;
  std::string_view port;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      return util::InvalidArgument("listen address '" + std::string(text) +
                                   "' is not of the form [IPv6]:PORT");
    out.host = std::string(text.substr(1, close - 1));
    port = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos || colon == 0)
      return util::InvalidArgument("listen address '" + std::string(text) +
                                   "' is not of the form HOST:PORT");
    out.host = std::string(text.substr(0, colon));
    if (out.host.find(':') != std::string::npos)
      return util::InvalidArgument("listen address '" + std::string(text) +
                                   "': write IPv6 addresses in brackets, e.g. [::1]:0");
    port = text.substr(colon + 1);
  }
  if (out.host.empty()) return util::InvalidArgument("listen address has an empty host");
  if (!ParseInt(port, 0, 65535, &out.port))
    return util::InvalidArgument("listen port '" + std::string(port) + "' is not in 0..65535");
  return out;
}

bool ParseIp(std::string_view text, IpBytes* out) {
  std::string s(text);
  in_addr v4;
  in6_addr v6;
  if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
    IpBytes b{};
    b[10] = b[11] = 0xff;
    std::memcpy(&b[12], &v4, 4);
    *out = b;
    return true;
  }
  if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
    std::memcpy(out->data(), &v6, 16);
    return true;
  }
  return false;
}

util::Result<CidrSet> CidrSet::Parse(std::string_view list) {
  CidrSet set;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string_view::npos) comma = list.size();
    std::string_view item = Trim(list.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.empty()) {
      if (comma == list.size()) break;
      return util::InvalidArgument("authorized IP ranges contain an empty entry");
    }
    std::string_view addr = item;
    int prefix = -1;
    size_t slash = item.find('/');
    if (slash != std::string_view::npos) {
      addr = item.substr(0, slash);
      if (!ParseInt(item.substr(slash + 1), 0, 128, &prefix))
        return util::InvalidArgument("authorized IP range '" + std::string(item) +
                                     "' has a bad prefix length");
    }
    Range r;
    if (!ParseIp(addr, &r.base))
      return util::InvalidArgument("authorized IP range '" + std::string(item) +
                                   "' is not an IP address or CIDR");
    bool v4 = addr.find(':') == std::string_view::npos;
    if (v4 && prefix > 32)
      return util::InvalidArgument("authorized IP range '" + std::string(item) +
                                   "': an IPv4 prefix is at most 32");
    if (prefix < 0) prefix = v4 ? 32 : 128;
    r.prefix_bits = v4 ? prefix + 96 : prefix;
    // Clear host bits so that "10.1.2.3/8" means 10.0.0.0/8.
    for (int bit = r.prefix_bits; bit < 128; ++bit) r.base[bit / 8] &= ~(0x80 >> (bit % 8));
    set.ranges_.push_back(r);
    if (comma == list.size()) break;
  }
  return set;
}

bool CidrSet::Contains(std::string_view ip) const {
  IpBytes b;
  if (!ParseIp(ip, &b)) return false;
  for (const Range& r : ranges_) {
    bool match = true;
    for (int bit = 0; bit < r.prefix_bits && match; ++bit) {
      uint8_t mask = 0x80 >> (bit % 8);
      if ((b[bit / 8] & mask) != (r.base[bit / 8] & mask)) match = false;
    }
    if (match) return true;
  }
  return false;
}

bool HostIsForWorkspace(std::string_view host_header, std::string_view domain,
                        std::string_view listen_host) {
  std::string_view host = Trim(host_header);
  if (host.empty()) return false;
  // Split off the port: "[v6]:p", "name:p", "v4:p".
  std::string_view name = host;
  if (host.front() == '[') {
    size_t close = host.find(']');
    if (close == std::string_view::npos) return false;
    name = host.substr(1, close - 1);
    std::string_view rest = host.substr(close + 1);
    int port;
    if (!rest.empty() && (rest.front() != ':' || !ParseInt(rest.substr(1), 0, 65535, &port)))
      return false;
  } else {
    size_t colon = host.find(':');
    if (colon != std::string_view::npos) {
      if (host.find(':', colon + 1) != std::string_view::npos) return false;  // bare v6
      int port;
      if (!ParseInt(host.substr(colon + 1), 0, 65535, &port)) return false;
      name = host.substr(0, colon);
    }
  }
  if (name.empty()) return false;
  std::string lname = Lower(name);
  if (lname.back() == '.') lname.pop_back();  // fully qualified form
  std::string ldomain = Lower(domain);
  if (!ldomain.empty() && ldomain.back() == '.') ldomain.pop_back();
  if (!ldomain.empty() && lname == ldomain) return true;

  IpBytes ip;
  if (!ParseIp(lname, &ip)) return false;  // any other name is another workspace's
  IpBytes listen;
  if (ParseIp(listen_host, &listen)) {
    if (ip == listen) return true;
    // Bound to every address: any address of this machine reaches it, and an address is never
    // another workspace's name, which is what the check is about.
    if (IsUnspecified(listen)) return true;
    if (IsLoopback(listen)) return IsLoopback(ip);
    return false;
  }
  // Listening on a name such as "localhost": its loopback literals reach it.
  return Lower(listen_host) == "localhost" && IsLoopback(ip);
}

bool IsDnsLabel(std::string_view s) {
  if (s.empty() || s.size() > 63) return false;
  auto ok = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!ok(s.front()) || !ok(s.back())) return false;
  for (char c : s)
    if (!ok(c) && c != '-') return false;
  return true;
}

util::Result<int> PickFreePort() {
  util::UniqueFd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return util::ErrnoError("cannot create a socket", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return util::ErrnoError("cannot bind a free port", errno);
  socklen_t len = sizeof addr;
  if (::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    return util::ErrnoError("cannot read the bound port", errno);
  return static_cast<int>(ntohs(addr.sin_port));
}

}  // namespace mlvault::runtime
