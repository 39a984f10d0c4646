#include "runtime/net.h"

#include <gtest/gtest.h>

namespace mlvault::runtime {
namespace {

TEST(ListenAddress, ParsesHostsAndPorts) {
  auto a = ParseListenAddress("127.0.0.1:0");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "127.0.0.1");
  EXPECT_EQ(a->port, 0);
  auto b = ParseListenAddress("[::1]:8080");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_EQ(b->port, 8080);
  EXPECT_FALSE(ParseListenAddress("127.0.0.1"));
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:70000"));
  EXPECT_FALSE(ParseListenAddress("127.0.0.1:x"));
  EXPECT_FALSE(ParseListenAddress("::1:80"));
  EXPECT_FALSE(ParseListenAddress(":80"));
}

TEST(CidrSet, MatchesV4AndV6Ranges) {
  auto set = CidrSet::Parse("10.0.0.0/8, 192.168.1.7 ,2001:db8::/32");
  ASSERT_TRUE(set) << set.error().ToString();
  EXPECT_TRUE(set->Contains("10.200.3.4"));
  EXPECT_TRUE(set->Contains("::ffff:10.1.1.1"));  // v4 seen by a dual-stack socket
  EXPECT_TRUE(set->Contains("192.168.1.7"));
  EXPECT_FALSE(set->Contains("192.168.1.8"));
  EXPECT_TRUE(set->Contains("2001:db8:1::5"));
  EXPECT_FALSE(set->Contains("2001:db9::1"));
  EXPECT_FALSE(set->Contains("11.0.0.1"));
  EXPECT_FALSE(set->Contains("not-an-ip"));
}

TEST(CidrSet, HostBitsAreIgnoredAndEmptyAllowsAll) {
  auto set = CidrSet::Parse("10.1.2.3/8");
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->Contains("10.9.9.9"));
  auto all = CidrSet::Parse("");
  ASSERT_TRUE(all);
  EXPECT_TRUE(all->empty());
  auto zero = CidrSet::Parse("0.0.0.0/0");
  ASSERT_TRUE(zero);
  EXPECT_TRUE(zero->Contains("8.8.8.8"));
}

TEST(CidrSet, RefusesMalformedEntries) {
  for (const char* bad : {"10.0.0.0/33", "10.0.0.0/", "300.1.1.1", "10.0.0.0/8,,1.1.1.1", "abc",
                          "2001:db8::/129", "10.0.0.0/-1"}) {
    auto set = CidrSet::Parse(bad);
    EXPECT_FALSE(set) << bad;
    if (!set) {
      EXPECT_EQ(set.error().code(), util::ErrorCode::kInvalidArgument);
    }
  }
}

TEST(HostCheck, AcceptsTheDomainAndLoopbackOnly) {
  EXPECT_TRUE(HostIsForWorkspace("ws1.example.test", "ws1.example.test", "127.0.0.1"));
  EXPECT_TRUE(HostIsForWorkspace("WS1.Example.Test:8443", "ws1.example.test", "127.0.0.1"));
  EXPECT_TRUE(HostIsForWorkspace("ws1.example.test.", "ws1.example.test", "127.0.0.1"));
  EXPECT_TRUE(HostIsForWorkspace("127.0.0.1:4000", "ws1.example.test", "127.0.0.1"));
  EXPECT_TRUE(HostIsForWorkspace("127.0.0.1", "ws1.example.test", "127.0.0.1"));
  EXPECT_TRUE(HostIsForWorkspace("[::1]:4000", "ws1", "::1"));
  EXPECT_TRUE(HostIsForWorkspace("127.0.0.1:80", "ws1", "0.0.0.0"));
  EXPECT_TRUE(HostIsForWorkspace("10.0.0.5:80", "ws1", "10.0.0.5"));
  EXPECT_TRUE(HostIsForWorkspace("192.168.7.7:80", "ws1", "0.0.0.0"));
  EXPECT_FALSE(HostIsForWorkspace("old-ws:80", "ws1", "0.0.0.0"));
  EXPECT_FALSE(HostIsForWorkspace("127.0.0.1", "ws1", "10.0.0.5"));
  // The old workspace's name, other names, other IPs, junk.
  EXPECT_FALSE(HostIsForWorkspace("ws0.example.test", "ws1.example.test", "127.0.0.1"));
  EXPECT_FALSE(HostIsForWorkspace("localhost:4000", "ws1.example.test", "127.0.0.1"));
  EXPECT_FALSE(HostIsForWorkspace("10.0.0.6", "ws1", "10.0.0.5"));
  EXPECT_FALSE(HostIsForWorkspace("", "ws1", "127.0.0.1"));
  EXPECT_FALSE(HostIsForWorkspace("ws1:abc", "ws1", "127.0.0.1"));
  EXPECT_FALSE(HostIsForWorkspace("ws1.example.test.evil", "ws1.example.test", "127.0.0.1"));
}

TEST(DnsLabel, Rules) {
  EXPECT_TRUE(IsDnsLabel("churn"));
  EXPECT_TRUE(IsDnsLabel("a-1"));
  EXPECT_TRUE(IsDnsLabel("x"));
  EXPECT_FALSE(IsDnsLabel(""));
  EXPECT_FALSE(IsDnsLabel("-a"));
  EXPECT_FALSE(IsDnsLabel("a-"));
  EXPECT_FALSE(IsDnsLabel("Caps"));
  EXPECT_FALSE(IsDnsLabel("a.b"));
  EXPECT_FALSE(IsDnsLabel(std::string(64, 'a')));
}

TEST(FreePort, IsBindable) {
  auto port = PickFreePort();
  ASSERT_TRUE(port);
  EXPECT_GT(*port, 0);
}

}  // namespace
}  // namespace mlvault::runtime
