// The local provider against a stand-in runtime (a shell script speaking the ready-file
// protocol), so folders, detaching, readiness and stopping are tested without the real runtime.
#include "workspace/provider.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include "util/files.h"
#include "util/random.h"
#include "workspace/runtime_client.h"

namespace mlvault::workspace {
namespace {

class LocalProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *util::MakeTempDir("mlvault-provider-test-");
    fake_ = dir_ + "/fake-runtime";
    ASSERT_TRUE(util::WriteFileAtomic(fake_, R"(#!/bin/bash
ready=""
while [ $# -gt 0 ]; do
  case "$1" in --ready-file) ready="$2"; shift;; --exit-now) exit 3;; esac
  shift
done
[ "${FAKE_FAIL:-}" = 1 ] && { echo "cannot open database" >&2; exit 1; }
trap 'exit 0' TERM
echo "{\"pid\": $$, \"port\": 4321, \"endpoint\": \"http://127.0.0.1:4321\"}" > "$ready.tmp" && mv "$ready.tmp" "$ready"
while true; do sleep 1 & wait $!; done
)",
                                      true, 0755));
    ws_.workspace_id = util::NewUuid();
    ws_.workspace_crn =
        "crn:mlvault:ml:us-west-1:" + util::NewUuid() + ":workspace:" + ws_.workspace_id;
    ws_.workspace_name = "ws1";
    ws_.environment_name = "dev";
    ws_.environment_root = dir_ + "/environments/dev";
    ws_.domain = MakeDomain("ws1", "dev");
    ws_.api_key = "api";
    ws_.control_key = "control";
  }
  void TearDown() override {
    ::unsetenv("FAKE_FAIL");
    ASSERT_TRUE(util::RemoveAll(dir_));
  }

  std::string dir_, fake_;
  WorkspaceSpec ws_;
};

TEST_F(LocalProviderTest, CreatesFoldersStartsAndStopsTheRuntime) {
  auto p = MakeLocalProvider(
      {.runtime_binary = fake_, .ready_timeout_seconds = 10, .stop_grace_seconds = 5});
  ASSERT_TRUE(p->CreateVolumes(ws_));
  auto vols = p->Volumes(ws_);
  ASSERT_EQ(vols.size(), 3u);
  EXPECT_EQ(vols[0].name, "projects");
  EXPECT_EQ(vols[2].kind, VolumeKind::kBlock);
  EXPECT_EQ(vols[2].path, LocalWorkspaceRoot(ws_) + "/metadata/workspace.db");
  struct stat st;
  ASSERT_EQ(::stat(vols[0].path.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  // A second create of the same folder with data in it is a conflict.
  ASSERT_TRUE(util::WriteFileAtomic(vols[0].path + "/f", "x"));
  EXPECT_EQ(p->CreateVolumes(ws_).error().code(), util::ErrorCode::kConflict);

  auto rt = p->StartRuntime(ws_);
  ASSERT_TRUE(rt) << rt.error().message();
  EXPECT_EQ(rt->port, 4321);
  EXPECT_EQ(rt->endpoint, "http://127.0.0.1:4321");
  EXPECT_TRUE(p->RuntimeAlive(ws_, rt->pid));
  auto mode = [](const std::string& f) {
    struct stat s;
    return ::stat(f.c_str(), &s) == 0 ? (s.st_mode & 0777) : 0u;
  };
  EXPECT_EQ(mode(LocalWorkspaceRoot(ws_) + "/run/control.key"), 0600u);
  EXPECT_EQ(*util::ReadFile(LocalWorkspaceRoot(ws_) + "/run/api.key"), "api\n");
  // Another workspace's CRN does not match this pid.
  WorkspaceSpec other = ws_;
  other.workspace_crn += "x";
  EXPECT_FALSE(p->RuntimeAlive(other, rt->pid));

  ASSERT_TRUE(p->StopRuntime(ws_, rt->pid));
  EXPECT_FALSE(p->RuntimeAlive(ws_, rt->pid));
  ASSERT_TRUE(p->StopRuntime(ws_, rt->pid));  // already stopped: fine
  ASSERT_TRUE(p->RemoveVolumes(ws_));
  EXPECT_NE(::stat(LocalWorkspaceRoot(ws_).c_str(), &st), 0);
}

TEST_F(LocalProviderTest, ARuntimeThatExitsIsReportedWithItsLog) {
  auto p = MakeLocalProvider({.runtime_binary = fake_, .ready_timeout_seconds = 10});
  ASSERT_TRUE(p->CreateVolumes(ws_));
  ::setenv("FAKE_FAIL", "1", 1);
  auto rt = p->StartRuntime(ws_);
  ASSERT_FALSE(rt);
  EXPECT_EQ(rt.error().code(), util::ErrorCode::kUnavailable);
  EXPECT_NE(rt.error().message().find("cannot open database"), std::string::npos)
      << rt.error().message();
}

TEST_F(LocalProviderTest, MissingBinaryIsNotFound) {
  ::setenv("MLVAULT_WORKSPACE_BIN", (dir_ + "/nope").c_str(), 1);
  auto b = FindRuntimeBinary();
  ::unsetenv("MLVAULT_WORKSPACE_BIN");
  ASSERT_FALSE(b);
  EXPECT_EQ(b.error().code(), util::ErrorCode::kNotFound);
  EXPECT_NE(b.error().message().find("MLVAULT_WORKSPACE_BIN"), std::string::npos);
}

// The real runtime (built beside this test in a build tree): the ready-file, health, quiesce
// and resume agreements of docs/interfaces.md.
TEST_F(LocalProviderTest, RealRuntimeSpeaksTheAgreedProtocol) {
  auto bin = FindRuntimeBinary();
  if (!bin) GTEST_SKIP() << bin.error().message();
  ws_.api_key = util::RandomHex(16);
  ws_.control_key = util::RandomHex(16);
  auto p = MakeLocalProvider({.runtime_binary = *bin});
  ASSERT_TRUE(p->CreateVolumes(ws_));
  auto rt = p->StartRuntime(ws_);
  ASSERT_TRUE(rt) << rt.error().message();
  RuntimeClient rc(rt->endpoint, ws_.control_key);
  auto h = rc.GetHealth();
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->status, "ok");
  EXPECT_EQ(h->workspace_crn, ws_.workspace_crn);
  EXPECT_FALSE(h->version.empty());
  auto lease = rc.Quiesce(30);
  ASSERT_TRUE(lease) << lease.error().message();
  EXPECT_GT(*lease, 0);
  EXPECT_TRUE(rc.GetHealth()->quiesced);
  ASSERT_TRUE(rc.Resume());
  EXPECT_FALSE(rc.GetHealth()->quiesced);
  // The control key is required.
  RuntimeClient wrong(rt->endpoint, "not-the-key-0123456789");
  EXPECT_FALSE(wrong.Quiesce(30));
  ASSERT_TRUE(p->StopRuntime(ws_, rt->pid));
  EXPECT_FALSE(p->RuntimeAlive(ws_, rt->pid));
}

TEST(Domain, Shape) {
  std::string d = MakeDomain("ws1", "dev");
  ASSERT_EQ(d.size(), std::string("ws1-12345678.dev.mlvault.local").size());
  EXPECT_EQ(d.rfind("ws1-", 0), 0u);
  EXPECT_EQ(d.substr(12), ".dev.mlvault.local");
}

}  // namespace
}  // namespace mlvault::workspace
