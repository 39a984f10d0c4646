// Workspace owners (issue 10, finding 1): as root every workspace runs as its own unprivileged
// uid, its files belong to that uid, and nothing of root's stays with its runtime. These tests
// need root (CI runs as root); as another user they check that nothing changes.
#include "workspace/owner.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "util/files.h"
#include "util/private_dir.h"
#include "util/random.h"
#include "workspace/provider.h"

namespace mlvault::workspace {
namespace {

namespace fs = std::filesystem;

class OwnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = *util::MakeTempDir("mlvault-owner-test-");
    ::setenv("MLVAULT_WORKSPACE_UID_REGISTRY", (dir_ + "/uids").c_str(), 1);
    ::unsetenv("MLVAULT_WORKSPACE_UIDS");
    // A stand-in runtime that writes its ready file (relative to its working directory, the
    // workspace folder) and then its /proc status (who it runs as) into run/.
    fake_ = dir_ + "/fake-runtime";
    ASSERT_TRUE(util::WriteFileAtomic(fake_, R"(#!/bin/bash
ready=""
while [ $# -gt 0 ]; do
  case "$1" in --ready-file) ready="$2"; shift;; esac
  shift
done
trap 'exit 0' TERM
cat /proc/self/status > run/status.txt
me=$(basename "$PWD")
{ cat ../../../catalog.db && echo READ-CATALOG; ls ../../.. && echo LISTED-HOME
  for d in ../*/projects; do [ "$d" = "../$me/projects" ] || { ls "$d" && echo "LISTED $d"; }; done
  echo probed; } > run/probe.txt 2>&1
echo "{\"pid\": $$, \"port\": 4321, \"endpoint\": \"http://127.0.0.1:4321\"}" > "$ready.tmp" && mv "$ready.tmp" "$ready"
while true; do sleep 1 & wait $!; done
)",
                                      true, 0755));
  }
  void TearDown() override {
    ::unsetenv("MLVAULT_WORKSPACE_UIDS");
    ASSERT_TRUE(util::RemoveAll(dir_));
  }
  // dir_/home as OpenCatalog leaves $MLVAULT_HOME: private, and as root searchable (not
  // readable) down to environments/.
  void MakeHome() {
    ASSERT_EQ(::chmod(dir_.c_str(), 0711), 0);  // (mkdtemp made it 0700)
    ASSERT_TRUE(util::MakeDirs(dir_ + "/home/environments/dev", 0755));
    ASSERT_TRUE(util::EnsurePrivateDir(dir_ + "/home", SearchableHomeEntries()));
  }
  WorkspaceSpec Spec(const std::string& name) {
    WorkspaceSpec ws;
    ws.workspace_id = util::NewUuid();
    ws.workspace_crn = "crn:mlvault:ml:us-west-1:acct:workspace:" + ws.workspace_id;
    ws.workspace_name = name;
    ws.environment_name = "dev";
    ws.environment_root = dir_ + "/home/environments/dev";  // an MLVAULT_HOME as root keeps it
    ws.domain = MakeDomain(name, "dev");
    ws.api_key = "api";
    ws.control_key = "control";
    return ws;
  }
  static struct stat Stat(const std::string& path) {
    struct stat st {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st;
  }
  // "Uid:" (or another key) line of a saved /proc status: its first field.
  static std::string StatusField(const std::string& status, const std::string& key) {
    size_t at = status.find("\n" + key + ":");
    if (at == std::string::npos) return "";
    std::string rest = status.substr(at + key.size() + 2);
    rest = rest.substr(rest.find_first_not_of(" \t"));
    return rest.substr(0, rest.find_first_of(" \t\n"));
  }

  std::string dir_, fake_;
};

TEST_F(OwnerTest, WithoutRootNothingChanges) {
  if (::geteuid() == 0) GTEST_SKIP() << "runs as root: see the other tests";
  EXPECT_FALSE(WorkspaceOwnersApply());
  auto p = MakeLocalProvider({.runtime_binary = fake_, .ready_timeout_seconds = 10});
  WorkspaceSpec a = Spec("a");
  MakeHome();
  ASSERT_TRUE(p->CreateVolumes(a));
  EXPECT_FALSE(ReadOwner(LocalWorkspaceRoot(a))->has_value());
  auto rt = p->StartRuntime(a);
  ASSERT_TRUE(rt) << rt.error().message();
  std::string status;
  for (int i = 0; i < 100 && status.empty(); ++i, ::usleep(50000))
    status = util::ReadFile(LocalWorkspaceRoot(a) + "/run/status.txt").value_or("");
  EXPECT_EQ(StatusField(status, "Uid"), std::to_string(::geteuid()));
  ASSERT_TRUE(p->StopRuntime(a, rt->pid));
  ASSERT_TRUE(p->RemoveVolumes(a));
}

TEST_F(OwnerTest, EachWorkspaceRunsAsItsOwnUnprivilegedUid) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  MakeHome();
  // What a job must not read: a root file 0600 beside the storage root, as catalog.db is.
  ASSERT_TRUE(util::WriteFileAtomic(dir_ + "/home/catalog.db", "secret", true, 0600));
  auto p = MakeLocalProvider({.runtime_binary = fake_, .ready_timeout_seconds = 10});
  WorkspaceSpec a = Spec("a"), b = Spec("b");
  ASSERT_TRUE(p->CreateVolumes(a));
  ASSERT_TRUE(p->CreateVolumes(b));
  auto oa = ReadOwner(LocalWorkspaceRoot(a));
  auto ob = ReadOwner(LocalWorkspaceRoot(b));
  ASSERT_TRUE(oa && oa->has_value() && ob && ob->has_value());
  EXPECT_NE((*oa)->uid, (*ob)->uid);
  for (const auto& o : {**oa, **ob}) {
    EXPECT_GE(o.uid, 1900000000u);
    EXPECT_LE(o.uid, 2099999999u);
    EXPECT_EQ(o.uid, o.gid);
  }
  // The folder: root's, the workspace's group may enter; the volumes: the workspace's.
  struct stat root = Stat(LocalWorkspaceRoot(a));
  EXPECT_EQ(root.st_uid, 0u);
  EXPECT_EQ(root.st_gid, (*oa)->gid);
  EXPECT_EQ(root.st_mode & 07777, 0750u);
  EXPECT_EQ(Stat(LocalWorkspaceRoot(a) + "/projects").st_uid, (*oa)->uid);
  EXPECT_EQ(Stat(LocalWorkspaceRoot(a) + "/.mlvault-owner").st_mode & 07777, 0600u);
  // The claim: in the registry, pointing at the folder.
  std::string claim = dir_ + "/uids/" + std::to_string((*oa)->uid);
  EXPECT_EQ(fs::read_symlink(claim).string(), LocalWorkspaceRoot(a));

  auto rt = p->StartRuntime(a);
  ASSERT_TRUE(rt) << rt.error().message();
  std::string status = util::ReadFile(LocalWorkspaceRoot(a) + "/run/status.txt").value_or("");
  EXPECT_EQ(StatusField(status, "Uid"), std::to_string((*oa)->uid)) << status;
  EXPECT_EQ(StatusField(status, "Gid"), std::to_string((*oa)->gid));
  EXPECT_EQ(StatusField(status, "Groups"), "");  // no supplementary groups
  EXPECT_EQ(StatusField(status, "CapEff"), "0000000000000000");
  EXPECT_EQ(StatusField(status, "CapPrm"), "0000000000000000");
  EXPECT_EQ(StatusField(status, "CapBnd"), "0000000000000000");
  EXPECT_EQ(StatusField(status, "NoNewPrivs"), "1");
  // It could not read the catalog, list $MLVAULT_HOME, or look into the other workspace.
  std::string probe;
  for (int i = 0; i < 100 && probe.find("probed") == std::string::npos; ++i, ::usleep(50000))
    probe = util::ReadFile(LocalWorkspaceRoot(a) + "/run/probe.txt").value_or("");
  EXPECT_NE(probe.find("probed"), std::string::npos) << probe;
  EXPECT_EQ(probe.find("READ-CATALOG"), std::string::npos) << probe;
  EXPECT_EQ(probe.find("LISTED"), std::string::npos) << probe;
  EXPECT_NE(probe.find("Permission denied"), std::string::npos) << probe;
  EXPECT_EQ(Stat(dir_ + "/home").st_mode & 07777, 0711u);
  EXPECT_EQ(Stat(dir_ + "/home/catalog.db").st_mode & 07777, 0600u);
  EXPECT_TRUE(p->RuntimeAlive(a, rt->pid));
  ASSERT_TRUE(p->StopRuntime(a, rt->pid));

  ASSERT_TRUE(p->RemoveVolumes(a));
  EXPECT_FALSE(fs::is_symlink(claim)) << "the claim outlived its workspace";
  ASSERT_TRUE(p->RemoveVolumes(b));
}

TEST_F(OwnerTest, RestoredAndOldFilesAreGivenToTheWorkspaceAtItsFirstStart) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  MakeHome();
  auto p = MakeLocalProvider(
      {.runtime_binary = fake_, .ready_timeout_seconds = 10, .stop_grace_seconds = 3});
  WorkspaceSpec a = Spec("a");
  ASSERT_TRUE(p->CreateVolumes(a));
  std::string projects = LocalWorkspaceRoot(a) + "/projects";
  // As a restore writes them: the owners of the backup (the old workspace's uid, root).
  ASSERT_TRUE(util::WriteFileAtomic(projects + "/old-uid.txt", "x"));
  ASSERT_EQ(::lchown((projects + "/old-uid.txt").c_str(), 1900000123, 1900000123), 0);
  ASSERT_TRUE(util::WriteFileAtomic(projects + "/root.txt", "x"));
  // A chain deeper than PATH_MAX (24 names of 250 bytes), and a link to a file outside that must
  // not be followed.
  const std::string d(250, 'd');
  {
    int fd = ::open(projects.c_str(), O_RDONLY | O_DIRECTORY);
    ASSERT_GE(fd, 0);
    for (int i = 0; i < 24; ++i) {
      ASSERT_EQ(::mkdirat(fd, d.c_str(), 0755), 0);
      int next = ::openat(fd, d.c_str(), O_RDONLY | O_DIRECTORY);
      ::close(fd);
      fd = next;
      ASSERT_GE(fd, 0);
    }
    int f = ::openat(fd, "bottom.txt", O_WRONLY | O_CREAT, 0644);
    ASSERT_GE(f, 0);
    ::close(f);
    ::close(fd);
  }
  ASSERT_TRUE(util::WriteFileAtomic(dir_ + "/outside.txt", "root's"));
  ASSERT_EQ(::symlink((dir_ + "/outside.txt").c_str(), (projects + "/link").c_str()), 0);

  auto rt = p->StartRuntime(a);
  ASSERT_TRUE(rt) << rt.error().message();
  ASSERT_TRUE(p->StopRuntime(a, rt->pid));
  auto o = ReadOwner(LocalWorkspaceRoot(a));
  ASSERT_TRUE(o && o->has_value());
  EXPECT_TRUE((*o)->adopted);
  for (const std::string& f :
       std::vector<std::string>{"/old-uid.txt", "/root.txt", "/link", "/" + d}) {
    EXPECT_EQ(Stat(projects + f).st_uid, (*o)->uid) << f;
    EXPECT_EQ(Stat(projects + f).st_gid, (*o)->gid) << f;
  }
  {
    int fd = ::open(projects.c_str(), O_RDONLY | O_DIRECTORY);
    for (int i = 0; i < 24 && fd >= 0; ++i) {
      int next = ::openat(fd, d.c_str(), O_RDONLY | O_DIRECTORY);
      ::close(fd);
      fd = next;
    }
    ASSERT_GE(fd, 0);
    struct stat st;
    ASSERT_EQ(::fstatat(fd, "bottom.txt", &st, 0), 0);
    EXPECT_EQ(st.st_uid, (*o)->uid) << "the bottom of the chain";
    ::close(fd);
  }
  EXPECT_EQ(Stat(dir_ + "/outside.txt").st_uid, 0u) << "followed a link out of the volume";
  ASSERT_TRUE(p->RemoveVolumes(a));
}

TEST_F(OwnerTest, StorageTheWorkspaceUidCannotReachIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  // dir_ is 0700 (mkdtemp): a storage root below it is out of the workspace uid's reach.
  auto p = MakeLocalProvider({.runtime_binary = fake_});
  WorkspaceSpec a = Spec("a");
  ASSERT_TRUE(util::MakeDirs(a.environment_root));
  auto st = p->CreateVolumes(a);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_NE(st.error().message().find("chmod o+x " + dir_), std::string::npos)
      << st.error().message();
  EXPECT_FALSE(fs::exists(dir_ + "/uids") && !fs::is_empty(dir_ + "/uids")) << "claimed an id";
}

TEST_F(OwnerTest, IdsAreClaimedOnceAndStaleClaimsAreTakenOver) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root";
  ::setenv("MLVAULT_WORKSPACE_UIDS", "2100000000-2100000001", 1);
  std::vector<std::string> roots;
  for (int i = 0; i < 3; ++i) {
    roots.push_back(dir_ + "/ws" + std::to_string(i));
    ASSERT_TRUE(util::MakeDirs(roots.back()));
  }
  auto a = ClaimOwner(roots[0], "a");
  auto b = ClaimOwner(roots[1], "b");
  ASSERT_TRUE(a && b);
  EXPECT_NE(a->uid, b->uid);
  auto c = ClaimOwner(roots[2], "c");
  ASSERT_FALSE(c);
  EXPECT_EQ(c.error().code(), util::ErrorCode::kUnavailable);
  EXPECT_NE(c.error().message().find("larger range"), std::string::npos);
  // A folder removed without releasing its id (a crash): its id is taken over.
  ASSERT_TRUE(util::RemoveAll(roots[0]));
  auto c2 = ClaimOwner(roots[2], "c");
  ASSERT_TRUE(c2) << c2.error().message();
  EXPECT_EQ(c2->uid, a->uid);
  // Released: free again.
  ReleaseOwner(roots[1]);
  ASSERT_TRUE(util::MakeDirs(roots[0]));
  auto a2 = ClaimOwner(roots[0], "a");
  ASSERT_TRUE(a2) << a2.error().message();
  EXPECT_EQ(a2->uid, b->uid);

  for (const char* bad : {"1-5", "5000-4000", "x-y", "3000", "2000-4294967295"}) {
    ::setenv("MLVAULT_WORKSPACE_UIDS", bad, 1);
    auto r = ClaimOwner(roots[1], "b");
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code(), util::ErrorCode::kInvalidArgument) << bad;
    EXPECT_NE(r.error().message().find("MLVAULT_WORKSPACE_UIDS"), std::string::npos);
  }
}

}  // namespace
}  // namespace mlvault::workspace
