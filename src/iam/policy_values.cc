// The value parsers of the condition operators (iam/policy.h): dates, numbers, IP networks.
#include <arpa/inet.h>

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "iam/policy.h"
#include "util/clock.h"

namespace mlvault::iam {

std::optional<int64_t> ParsePolicyDate(std::string_view s) {
  if (s.empty()) return std::nullopt;
  bool digits = true;
  for (size_t i = 0; i < s.size(); ++i)
    digits = digits && (std::isdigit(static_cast<unsigned char>(s[i])) ||
                        (i == 0 && s[i] == '-' && s.size() > 1));
  if (digits) {
    if (s.size() > 12) return std::nullopt;
    return static_cast<int64_t>(std::stoll(std::string(s))) * 1'000'000;
  }
  if (s.size() == 10) return util::ParseTime(std::string(s) + "T00:00:00Z");
  return util::ParseTime(s);
}

std::optional<double> ParsePolicyNumber(std::string_view s) {
  if (s.empty() || s.size() > 64 || std::isspace(static_cast<unsigned char>(s[0])) || s[0] == '+')
    return std::nullopt;
  std::string str(s);
  char* end = nullptr;
  errno = 0;
  double d = std::strtod(str.c_str(), &end);
  if (end != str.c_str() + str.size() || errno == ERANGE || !std::isfinite(d)) return std::nullopt;
  // strtod also reads hex and "inf"; policies use plain decimal numbers only.
  for (char c : str)
    if (!std::isdigit(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != 'e' &&
        c != 'E' && c != '+')
      return std::nullopt;
  return d;
}

std::optional<IpNetwork> ParseIpNetwork(std::string_view s) {
  IpNetwork net;
  std::string addr(s);
  int prefix = -1;
  if (size_t slash = addr.find('/'); slash != std::string::npos) {
    std::string p = addr.substr(slash + 1);
    addr.resize(slash);
    if (p.empty() || p.size() > 3) return std::nullopt;
    for (char c : p)
      if (!std::isdigit(static_cast<unsigned char>(c))) return std::nullopt;
    prefix = std::stoi(p);
  }
  if (inet_pton(AF_INET, addr.c_str(), net.addr) == 1) {
    net.v6 = false;
    if (prefix > 32) return std::nullopt;
    net.prefix = prefix < 0 ? 32 : prefix;
  } else if (inet_pton(AF_INET6, addr.c_str(), net.addr) == 1) {
    net.v6 = true;
    if (prefix > 128) return std::nullopt;
    net.prefix = prefix < 0 ? 128 : prefix;
  } else {
    return std::nullopt;
  }
  return net;
}

bool IpNetwork::Contains(std::string_view ip) const {
  unsigned char a[16] = {};
  bool is_v6;
  std::string str(ip);
  if (inet_pton(AF_INET, str.c_str(), a) == 1) {
    is_v6 = false;
  } else if (inet_pton(AF_INET6, str.c_str(), a) == 1) {
    static const unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a, kMapped, 12) == 0) {
      std::memmove(a, a + 12, 4);
      is_v6 = false;
    } else {
      is_v6 = true;
    }
  } else {
    return false;
  }
  if (is_v6 != v6) return false;
  int full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a, addr, full) != 0) return false;
  if (rest == 0) return true;
  unsigned char mask = static_cast<unsigned char>(0xFF << (8 - rest));
  return (a[full] & mask) == (addr[full] & mask);
}

}  // namespace mlvault::iam
