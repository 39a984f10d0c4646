// Network identity checks of the workspace runtime: the listen address, the client address
// allow-list (CIDRs) and the Host header check that keeps a restored workspace from answering
// to its source's name.
//
// All types are immutable after construction and safe to share between threads.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "util/error.h"

namespace mlvault::runtime {

// "127.0.0.1:0", "0.0.0.0:8080", "[::1]:0", "localhost:9000".
struct ListenAddress {
  std::string host;  // without brackets
  int port = 0;
};
// Returns the parsed address, or kInvalidArgument naming what is wrong.
util::Result<ListenAddress> ParseListenAddress(std::string_view text);

// An IPv4 or IPv6 address as 16 bytes (IPv4 as IPv4-mapped IPv6, so that a v4 range also
// matches a v4 client seen by a dual-stack socket as ::ffff:a.b.c.d).
using IpBytes = std::array<uint8_t, 16>;
// Parses a literal address (no brackets, no port); false if it is not one.
bool ParseIp(std::string_view text, IpBytes* out);

// A set of CIDR ranges. An empty set allows everyone (no allow-list configured).
class CidrSet {
 public:
  // "10.0.0.0/8, 192.168.1.7, 2001:db8::/32". Returns kInvalidArgument naming the bad entry.
  static util::Result<CidrSet> Parse(std::string_view list);

  bool empty() const { return ranges_.empty(); }
  // True if `ip` (a literal address) lies in one of the ranges. A malformed address is never
  // inside.
  bool Contains(std::string_view ip) const;

 private:
  struct Range {
    IpBytes base;
    int prefix_bits;  // over the 128-bit (mapped) form
  };
  std::vector<Range> ranges_;
};

// True if a request with this Host header is meant for this workspace: the domain (any case,
// with or without a port), or an IP literal the runtime is reached at (the listen address; a
// loopback address when it listens on loopback; any address when it listens on all of them).
// Other names (such as the domain of the workspace this one was restored from) are refused.
bool HostIsForWorkspace(std::string_view host_header, std::string_view domain,
                        std::string_view listen_host);

// True if `s` is a DNS label: [a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?
bool IsDnsLabel(std::string_view s);

// Asks the kernel for a currently free TCP port on 127.0.0.1. The port can be taken by someone
// else before it is used; callers that bind it report that as a start failure.
util::Result<int> PickFreePort();

}  // namespace mlvault::runtime
