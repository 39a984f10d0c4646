// The local provider against a stand-in runtime (a shell script speaking the ready-file
// protocol), so folders, detaching, readiness and stopping are tested without the real runtime.
#include "workspace/provider.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <signal.h>
#include <sys/stat.h>

#include "util/files.h"
#include "util/random.h"
#include "workspace/btrfs.h"
#include "workspace/runtime_client.h"

namespace mlvault::workspace {
namespace {

class LocalProviderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *util::MakeTempDir("mlvault-provider-test-");
    // (as root: the workspaces run as users of their own, which must search the path to their
    // folders; and their uid claims go in a registry of the test's own)
    ASSERT_EQ(::chmod(dir_.c_str(), 0711), 0);
    ::setenv("MLVAULT_WORKSPACE_UID_REGISTRY", (dir_ + "/uids").c_str(), 1);
    fake_ = dir_ + "/fake-runtime";
    ASSERT_TRUE(util::WriteFileAtomic(fake_, R"(#!/bin/bash
ready=""
while [ $# -gt 0 ]; do
  case "$1" in --ready-file) ready="$2"; shift;; --exit-now) exit 3;; esac
  shift
done
[ -e fail ] && { echo "cannot open database" >&2; exit 1; }
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
    ASSERT_TRUE(util::RemoveAll(dir_));
  }

  std::string dir_, fake_;
  WorkspaceSpec ws_;
};

// [btrfs snapshots] Off btrfs (the test's temporary folder is not on btrfs here; the btrfs side
// is tests/control/snapshot_test.sh on a loop-mounted image).
TEST_F(LocalProviderTest, StorageKindAndSnapshotsOffBtrfs) {
  if (btrfs::IsBtrfs(dir_)) GTEST_SKIP() << dir_ << " is on btrfs";
  ASSERT_TRUE(util::MakeDirs(ws_.environment_root));
  auto bad = SetStorageKind(ws_.environment_root, "zfs");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad.error().field(), "storageKind");
  auto not_btrfs = SetStorageKind(ws_.environment_root, "btrfs");
  ASSERT_FALSE(not_btrfs);
  EXPECT_NE(not_btrfs.error().message().find("is not on a btrfs filesystem"), std::string::npos);
  EXPECT_TRUE(SetStorageKind(ws_.environment_root, "auto"));
  EXPECT_FALSE(std::filesystem::exists(ws_.environment_root + "/.mlvault-storage"));
  ASSERT_TRUE(SetStorageKind(ws_.environment_root, "folders"));
  EXPECT_EQ(*util::ReadFile(ws_.environment_root + "/.mlvault-storage"), "folders\n");

  auto p = MakeLocalProvider({.runtime_binary = fake_});
  ASSERT_TRUE(p->CreateVolumes(ws_));
  SnapshotSupport s = p->Snapshots(ws_);
  EXPECT_FALSE(s.available);
  EXPECT_EQ(s.why_not, "");  // a plain filesystem: nothing to warn about
  auto snaps = p->SnapshotVolumes(ws_, "b1");
  ASSERT_FALSE(snaps);
  EXPECT_EQ(snaps.error().code(), util::ErrorCode::kInvalidArgument);
  EXPECT_EQ(*p->DropSnapshots(ws_, ""), 0);
  EXPECT_EQ(p->DropSnapshots(ws_, "../x").error().code(), util::ErrorCode::kInternal);
  EXPECT_TRUE(p->RemoveVolumes(ws_));
  EXPECT_FALSE(std::filesystem::exists(LocalWorkspaceRoot(ws_)));
}

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
  // The keys go over a pipe (fd 3): no key file in run/ (issue 10 finding 7).
  EXPECT_EQ(mode(LocalWorkspaceRoot(ws_) + "/run"), 0700u);
  EXPECT_FALSE(std::filesystem::exists(LocalWorkspaceRoot(ws_) + "/run/control.key"));
  EXPECT_FALSE(std::filesystem::exists(LocalWorkspaceRoot(ws_) + "/run/api.key"));
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
  // (a marker file in the workspace folder, the runtime's working directory: the runtime gets a
  // clean environment, so an environment variable would not reach it)
  ASSERT_TRUE(util::WriteFileAtomic(LocalWorkspaceRoot(ws_) + "/fail", ""));
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
  // What mlvault holds must not reach the workspace (issue 10, findings 1 and 7).
  ::setenv("MLVAULT_PRIVATE_KEY", "private-key-that-must-not-leak", 1);
  auto rt = p->StartRuntime(ws_);
  ::unsetenv("MLVAULT_PRIVATE_KEY");
  ASSERT_TRUE(rt) << rt.error().message();
  std::string proc = "/proc/" + std::to_string(rt->pid);
  std::string environ_text = util::ReadFile(proc + "/environ").value_or("");
  EXPECT_NE(environ_text.find("PATH="), std::string::npos);
  EXPECT_EQ(environ_text.find("MLVAULT_PRIVATE_KEY"), std::string::npos) << "inherited";
  EXPECT_EQ(environ_text.find("MLVAULT_HOME"), std::string::npos);
  for (const std::string& key : {ws_.api_key, ws_.control_key}) {
    EXPECT_EQ(environ_text.find(key), std::string::npos);
    EXPECT_EQ(util::ReadFile(proc + "/cmdline").value_or("").find(key), std::string::npos);
  }
  // No key file a job could read: the keys came over a pipe.
  std::string run = LocalWorkspaceRoot(ws_) + "/run";
  for (const auto& e : std::filesystem::directory_iterator(run)) {
    std::string text = util::ReadFile(e.path().string()).value_or("");
    EXPECT_EQ(text.find(ws_.control_key), std::string::npos) << e.path();
    EXPECT_EQ(text.find(ws_.api_key), std::string::npos) << e.path();
  }
  EXPECT_FALSE(std::filesystem::exists(run + "/control.key"));
  EXPECT_FALSE(std::filesystem::exists(run + "/api.key"));
  RuntimeClient rc(rt->endpoint, ws_.control_key);
  auto h = rc.GetHealth();
  ASSERT_TRUE(h) << h.error().message();
  EXPECT_EQ(h->status, "ok");
  EXPECT_EQ(h->workspace_crn, ws_.workspace_crn);
  EXPECT_FALSE(h->version.empty());
  auto lease = rc.Quiesce(30);
  ASSERT_TRUE(lease) << lease.error().message();
  EXPECT_GT(lease->expires_at, 0);
  EXPECT_EQ(lease->generation, 1u);
  EXPECT_TRUE(rc.GetHealth()->quiesced);
  EXPECT_TRUE(rc.LeaseHeld(lease->generation));
  auto renewed = rc.Quiesce(30);
  ASSERT_TRUE(renewed);
  EXPECT_EQ(renewed->generation, 2u);
  // The first grant is no longer the one held: a renewal by someone else shows.
  EXPECT_FALSE(rc.LeaseHeld(lease->generation));
  ASSERT_TRUE(rc.Resume());
  EXPECT_FALSE(rc.GetHealth()->quiesced);
  auto held = rc.LeaseHeld(renewed->generation);
  ASSERT_FALSE(held);
  EXPECT_NE(held.error().message().find("not held for the whole consistent pass"),
            std::string::npos);
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
