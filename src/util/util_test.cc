#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "util/bytes.h"
#include "util/clock.h"
#include "util/dir_fd.h"
#include "util/error.h"
#include "util/files.h"
#include "util/private_dir.h"
#include "util/progress.h"
#include "util/random.h"
#include "util/strings.h"
#include "util/thread_pool.h"
#include "util/utc_time.h"

namespace mlvault::util {
namespace {

Result<int> Half(int x) {
  if (x % 2) return InvalidArgument("odd: " + std::to_string(x));
  return x / 2;
}
Result<int> Quarter(int x) {
  int h = MLV_TRY(Half(x));
  return MLV_TRY_CTX(Half(h), "second half");
}

TEST(Error, TryPropagatesAndAddsContext) {
  EXPECT_EQ(*Quarter(8), 2);
  auto r = Quarter(6);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(r.error().message(), "second half: odd: 3");
  EXPECT_EQ(ExitCodeFor(ErrorCode::kNotFound), 3);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kConflict), 5);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kPermissionDenied), 4);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kInvalidArgument), 2);
  EXPECT_EQ(ExitCodeFor(ErrorCode::kCorruption), 1);
}

TEST(Bytes, HexRoundTripAndRejectsBadInput) {
  Bytes b = {0, 1, 0xab, 0xff};
  EXPECT_EQ(ToHex(b), "0001abff");
  EXPECT_EQ(*FromHex("0001ABff"), b);
  EXPECT_FALSE(FromHex("abc"));
  EXPECT_FALSE(FromHex("zz"));
  Bytes out;
  PutU64(out, 0x0102030405060708ull);
  PutU32(out, 0xdeadbeef);
  EXPECT_EQ(GetU64(out.data()), 0x0102030405060708ull);
  EXPECT_EQ(GetU32(out.data() + 8), 0xdeadbeefu);
}

TEST(Clock, FormatAndParseRoundTrip) {
  TimeMicros t = 1769397730925000;  // 2026-01-26T03:22:10.925+00:00
  EXPECT_EQ(FormatTime(t), "2026-01-26T03:22:10.925000+00:00");
  EXPECT_EQ(*ParseTime("2026-01-26T03:22:10.925000+00:00"), t);
  EXPECT_EQ(*ParseTime("2026-01-26T03:22:10.925Z"), t);
  EXPECT_EQ(*ParseTime("2026-01-26T05:22:10.925+02:00"), t);
  EXPECT_FALSE(ParseTime("2026-13-26T03:22:10Z"));
  EXPECT_FALSE(ParseTime("2026-01-26 03:22"));
  EXPECT_FALSE(ParseTime("2026-01-26T03:22:10"));
}

TEST(UtcTime, ParseAndFormatByLayout) {
  EXPECT_EQ(FormatUtcSeconds(1769397730, "YYYYMMDDThhmmssZ"), "20260126T032210Z");
  EXPECT_EQ(FormatUtcSeconds(0, "YYYY-MM-DDThh:mm:ssZ"), "1970-01-01T00:00:00Z");
  EXPECT_EQ(ParseUtcSeconds("20260126T032210Z", "YYYYMMDDThhmmssZ"), 1769397730);
  EXPECT_EQ(ParseUtcSeconds("2026-01-26T03:22:10", "YYYY-MM-DDThh:mm:ss"), 1769397730);
  EXPECT_EQ(ParseUtcSeconds("1970-01-01T00:00:00", "YYYY-MM-DDThh:mm:ss"), 0);
  for (const char* bad : {"20260126T032210", "20260126T032210z", "2026012xT032210Z",
                          "20260230T032210Z", "20260026T032210Z", "20261326T032210Z",
                          "20260100T032210Z", "20260126T242210Z", "20260126T036010Z",
                          "20260126T032261Z", "19691231T235959Z", "02260126T032210Z"})
    EXPECT_FALSE(ParseUtcSeconds(bad, "YYYYMMDDThhmmssZ")) << bad;
  // 29 February only in leap years.
  EXPECT_TRUE(ParseUtcSeconds("20240229T000000Z", "YYYYMMDDThhmmssZ"));
  EXPECT_TRUE(ParseUtcSeconds("20000229T000000Z", "YYYYMMDDThhmmssZ"));
  EXPECT_FALSE(ParseUtcSeconds("20230229T000000Z", "YYYYMMDDThhmmssZ"));
  EXPECT_FALSE(ParseUtcSeconds("21000229T000000Z", "YYYYMMDDThhmmssZ"));
  EXPECT_FALSE(ParseUtcSeconds("20240431T000000Z", "YYYYMMDDThhmmssZ"));
}

TEST(Random, UuidShape) {
  std::string u = NewUuid();
  EXPECT_TRUE(IsUuid(u)) << u;
  EXPECT_NE(u, NewUuid());
  EXPECT_FALSE(IsUuid("not-a-uuid"));
  EXPECT_FALSE(IsUuid("0123456789ab-cdef-0123-4567-89abcdef0123"));
}

TEST(Files, AtomicWriteReplacesWholeFile) {
  auto dir = *MakeTempDir("mlvault-util-test-");
  std::string p = dir + "/f";
  ASSERT_TRUE(WriteFileAtomic(p, std::string_view("first")));
  ASSERT_TRUE(WriteFileAtomic(p, std::string_view("second")));
  EXPECT_EQ(*ReadFile(p), "second");
  auto missing = ReadFile(dir + "/nope");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  int entries = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) (void)e, ++entries;
  EXPECT_EQ(entries, 1) << "no temporary files left behind";
  ASSERT_TRUE(RemoveAll(dir));
}

// A sink that keeps the last snapshot it was given.
class LastProgress : public ProgressSink {
 public:
  void Report(const ProgressSnapshot& p) override { last = p; }
  ProgressSnapshot last;
};

TEST(PartsProgress, AddsThePartsDoneBeforeAndNamesThePart) {
  LastProgress sink;
  PartsProgress parts(&sink);
  parts.BeginPart("volume home");
  parts.Report({100, 0, 2, 0, "scanning"});
  EXPECT_EQ(sink.last.bytes_done, 100u);
  EXPECT_EQ(sink.last.bytes_total, 0u) << "a total stays unknown until the part knows it";
  EXPECT_EQ(sink.last.phase, "volume home: scanning");
  parts.Report({400, 400, 4, 4, "uploading"});
  parts.EndPart(400, 4);
  parts.BeginPart("volume data");
  parts.Report({50, 1000, 1, 10, ""});
  EXPECT_EQ(sink.last.bytes_done, 450u) << "one total across parts: it does not start again";
  EXPECT_EQ(sink.last.bytes_total, 1400u);
  EXPECT_EQ(sink.last.files_done, 5u);
  EXPECT_EQ(sink.last.files_total, 14u);
  EXPECT_EQ(sink.last.phase, "volume data");
}

TEST(ThreadPool, RunsEverythingWithBoundedQueue) {
  std::atomic<int> sum{0};
  {
    ThreadPool pool(3, 2);
    for (int i = 1; i <= 1000; ++i) pool.Submit([&, i] { sum += i; });
    pool.Wait();
    EXPECT_EQ(sum.load(), 500500);
  }
}

TEST(DirFd, OpensBeneathWithoutFollowingSymlinksAndCreatesOnRequest) {
  auto tmp = MakeTempDir("mlv-dirfd-");
  ASSERT_TRUE(tmp);
  std::filesystem::create_directories(*tmp + "/a/b");
  std::filesystem::create_directory_symlink(*tmp + "/a", *tmp + "/link");
  UniqueFd root(::open(tmp->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(root.valid());
  std::vector<std::string> ab{"a", "b"}, via_link{"link", "b"}, dotdot{"a", ".."}, made{"x", "y"};
  EXPECT_TRUE(OpenDirBeneath(root.get(), ab));
  auto r = OpenDirBeneath(root.get(), via_link);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("link"), std::string::npos) << r.error().message();
  auto bad = OpenDirBeneath(root.get(), dotdot);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code(), ErrorCode::kInvalidArgument);
  auto missing = OpenDirBeneath(root.get(), made);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), ErrorCode::kNotFound);
  EXPECT_TRUE(OpenDirBeneath(root.get(), made, /*create=*/true, 0700));
  EXPECT_TRUE(std::filesystem::is_directory(*tmp + "/x/y"));
  auto names = ListDirFd(root.get());
  ASSERT_TRUE(names);
  std::sort(names->begin(), names->end());
  EXPECT_EQ(*names, (std::vector<std::string>{"a", "link", "x"}));
  EXPECT_FALSE(DirIsEmpty(root.get()));
  ASSERT_TRUE(RemoveAll(*tmp));
}

TEST(DirFd, RemoveTreeAtRemovesDeepTreesAndNeverFollowsSymlinks) {
  auto tmp = MakeTempDir("mlv-dirfd-");
  ASSERT_TRUE(tmp);
  std::filesystem::create_directories(*tmp + "/keep");
  ASSERT_TRUE(WriteFileAtomic(*tmp + "/keep/file", std::string_view("x"), false));
  UniqueFd root(::open(tmp->c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  ASSERT_TRUE(::mkdirat(root.get(), "gone", 0500) == 0);
  // A chain deeper than PATH_MAX allows as one path, a read-only directory and a symlink out.
  UniqueFd cur(::openat(root.get(), "gone", O_RDONLY | O_DIRECTORY));
  ASSERT_EQ(::symlinkat((*tmp + "/keep").c_str(), cur.get(), "out"), 0);
  ASSERT_EQ(::fchmod(cur.get(), 0700), 0);
  for (int i = 0; i < 3000; ++i) {
    ASSERT_EQ(::mkdirat(cur.get(), "dd", 0700), 0);
    cur.reset(::openat(cur.get(), "dd", O_RDONLY | O_DIRECTORY));
    ASSERT_TRUE(cur.valid());
  }
  cur.reset();
  ASSERT_TRUE(RemoveTreeAt(root.get(), "gone"));
  EXPECT_FALSE(std::filesystem::exists(*tmp + "/gone"));
  EXPECT_TRUE(std::filesystem::exists(*tmp + "/keep/file"));
  EXPECT_TRUE(RemoveTreeAt(root.get(), "gone"));  // missing is fine
  ASSERT_TRUE(RemoveAll(*tmp));
}

}  // namespace
}  // namespace mlvault::util

namespace mlvault::util {
namespace {

mode_t ModeOf(const std::string& p) {
  struct stat st;
  return ::lstat(p.c_str(), &st) == 0 ? (st.st_mode & 07777) : 0;
}

// Issue 10 finding 2: MakeDirs ignored its mode, so $MLVAULT_HOME was 0755.
TEST(Files, MakeDirsCreatesWithItsMode) {
  std::string base = MakeTempDir("mlv-mkdirs-").value();
  ASSERT_TRUE(MakeDirs(base + "/a/b/c", 0700));
  EXPECT_EQ(ModeOf(base + "/a"), 0700u);
  EXPECT_EQ(ModeOf(base + "/a/b/c"), 0700u);
  ASSERT_TRUE(MakeDirs(base + "/a/b/c", 0755));  // existing: fine, left as it is
  EXPECT_EQ(ModeOf(base + "/a/b/c"), 0700u);
  ASSERT_TRUE(WriteFileAtomic(base + "/f", "x"));
  EXPECT_FALSE(MakeDirs(base + "/f/g"));
  (void)RemoveAll(base);
}

TEST(Files, EnsurePrivateDirRefusesWritableAndTightensReadable) {
  std::string home = MakeTempDir("mlv-home-").value();
  ASSERT_EQ(::chmod(home.c_str(), 0777), 0);
  auto refused = EnsurePrivateDir(home);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code(), ErrorCode::kPermissionDenied);
  EXPECT_NE(refused.error().message().find("chmod 700 " + home), std::string::npos)
      << refused.error().message();
  ASSERT_EQ(::chmod(home.c_str(), 0775), 0);
  EXPECT_FALSE(EnsurePrivateDir(home));  // group-writable too

  // Readable by others (as earlier versions left it): made private.
  ASSERT_EQ(::chmod(home.c_str(), 0755), 0);
  ASSERT_TRUE(WriteFileAtomic(home + "/catalog.db", "db", false, 0644));
  ASSERT_TRUE(MakeDirs(home + "/vaults", 0755));
  ASSERT_EQ(::chmod((home + "/vaults").c_str(), 0755), 0);
  ASSERT_EQ(::symlink("/etc/passwd", (home + "/link").c_str()), 0);
  ASSERT_TRUE(EnsurePrivateDir(home));
  EXPECT_EQ(ModeOf(home), 0700u);
  EXPECT_EQ(ModeOf(home + "/catalog.db"), 0600u);
  EXPECT_EQ(ModeOf(home + "/vaults"), 0700u);
  EXPECT_NE(ModeOf("/etc/passwd") & 0044, 0u) << "a symbolic link's target was changed";

  // Searchable entries (the path to workspace storage when workspaces run as users of their
  // own): those and the folder itself 0711, everything else as private as before.
  ASSERT_TRUE(MakeDirs(home + "/environments", 0755));
  ASSERT_EQ(::chmod((home + "/environments").c_str(), 0775), 0);
  ASSERT_TRUE(WriteFileAtomic(home + "/environments-file", "x", false, 0644));
  ASSERT_TRUE(EnsurePrivateDir(home, {"environments", "environments-file"}));
  EXPECT_EQ(ModeOf(home), 0711u);
  EXPECT_EQ(ModeOf(home + "/environments"), 0711u);
  EXPECT_EQ(ModeOf(home + "/environments-file"), 0600u) << "only folders are made searchable";
  EXPECT_EQ(ModeOf(home + "/vaults"), 0700u);
  EXPECT_EQ(ModeOf(home + "/catalog.db"), 0600u);
  // Without the list again: private.
  ASSERT_TRUE(EnsurePrivateDir(home));
  EXPECT_EQ(ModeOf(home), 0700u);
  EXPECT_EQ(ModeOf(home + "/environments"), 0700u);

  // Not a directory (a symbolic link to one is refused too).
  std::string link = home + "-link";
  ASSERT_EQ(::symlink(home.c_str(), link.c_str()), 0);
  EXPECT_FALSE(EnsurePrivateDir(link));
  ::unlink(link.c_str());
  (void)RemoveAll(home);
}

TEST(Strings, TrimRemovesEveryKindOfWhiteSpaceAtBothEnds) {
  EXPECT_EQ(Trim(" \t\r\n\v\fa b\f\v\n\r\t "), "a b");
  EXPECT_EQ(Trim("0b5e2c1a-77d4-4a0e-9d0f-3c1f9f1f2a10\n"), "0b5e2c1a-77d4-4a0e-9d0f-3c1f9f1f2a10");
  EXPECT_EQ(Trim(" \n\t"), "");
  EXPECT_EQ(Trim(""), "");
  EXPECT_EQ(Trim("x"), "x");
}

}  // namespace
}  // namespace mlvault::util
