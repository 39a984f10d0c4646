#include "backend/conformance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <set>
#include <string>
#include <thread>

#include "util/random.h"

namespace mlvault::backend::conformance {
namespace {

using util::ErrorCode;

using CaseFn = void (*)(Backend&);

class Case : public ::testing::Test {
 public:
  Case(BackendFactory factory, CaseFn fn) : factory_(std::move(factory)), fn_(fn) {}
  void TestBody() override {
    std::unique_ptr<Backend> b = factory_();
    if (IsSkipped()) return;  // the factory skipped: its storage is not available here
    ASSERT_NE(b, nullptr) << "the backend factory returned null";
    fn_(*b);
  }

 private:
  BackendFactory factory_;
  CaseFn fn_;
};

std::string Str(const Bytes& b) { return std::string(util::AsString(b)); }
ByteView View(std::string_view s) { return util::AsBytes(s); }

std::string RandomString(size_t n) {
  Bytes b = util::RandomBytes(n);
  return Str(b);
}

std::vector<std::string> Names(const Result<std::vector<ObjectInfo>>& r) {
  std::vector<std::string> out;
  if (!r) {
    ADD_FAILURE() << "List failed: " << r.error().ToString();
    return out;
  }
  for (const auto& o : *r) out.push_back(o.name);
  std::sort(out.begin(), out.end());
  return out;
}

#define EXPECT_CODE(expr, want)                                                  \
  do {                                                                           \
    auto _r = (expr);                                                            \
    if (_r.has_value()) {                                                        \
      ADD_FAILURE() << #expr << " succeeded; expected " << util::CodeName(want); \
    } else {                                                                     \
      EXPECT_EQ(_r.error().code(), want) << _r.error().ToString();               \
    }                                                                            \
  } while (0)

#define ASSERT_OK(expr)                                                  \
  do {                                                                   \
    auto _r = (expr);                                                    \
    ASSERT_TRUE(_r.has_value()) << #expr << ": " << _r.error().ToString(); \
  } while (0)

// The content Get returns, or "<error>" so comparisons fail readably.
std::string GetStr(Backend& b, std::string_view name, uint64_t off = 0, uint64_t len = 0) {
  auto r = b.Get(name, off, len);
  if (!r) return "<" + r.error().ToString() + ">";
  return Str(*r);
}

const std::vector<std::string>& InvalidNames() {
  static const std::vector<std::string> v = {
      "",        "/a",      "a/",       "a//b",        ".",          "..",        "a/../b", "./a",
      "a/.",     "a b",     "a\\b",     "caf\xc3\xa9", std::string("a\0b", 3), "~put-1234", "a/~x",
      "a:b",     "a*",      "\n",       std::string(1025, 'a'), std::string(256, 'b') + "/c",
  };
  return v;
}

// ---- read-write cases ----

void PutGetStat(Backend& b) {
  const std::string big = RandomString(3 << 20);
  ASSERT_OK(b.Put("a", View("hello")));
  ASSERT_OK(b.Put("dir/sub/obj.bin", View(big)));
  ASSERT_OK(b.Put("empty", {}));
  ASSERT_OK(b.Put(".hidden-but_valid.0", View("x")));
  EXPECT_EQ(GetStr(b, "a"), "hello");
  EXPECT_EQ(GetStr(b, "dir/sub/obj.bin"), big);
  EXPECT_EQ(GetStr(b, "empty"), "");
  EXPECT_EQ(GetStr(b, ".hidden-but_valid.0"), "x");
  auto st = b.Stat("dir/sub/obj.bin");
  ASSERT_TRUE(st.has_value()) << st.error().ToString();
  EXPECT_EQ(st->name, "dir/sub/obj.bin");
  EXPECT_EQ(st->size, big.size());
  auto st0 = b.Stat("empty");
  ASSERT_TRUE(st0.has_value());
  EXPECT_EQ(st0->size, 0u);
  EXPECT_FALSE(b.Describe().empty());
}

void RangedGet(Backend& b) {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>('a' + i % 26);
  ASSERT_OK(b.Put("r", View(data)));
  EXPECT_EQ(GetStr(b, "r", 0, 0), data);
  EXPECT_EQ(GetStr(b, "r", 10, 20), data.substr(10, 20));
  EXPECT_EQ(GetStr(b, "r", 990, 0), data.substr(990));
  EXPECT_EQ(GetStr(b, "r", 0, 1000), data);
  EXPECT_EQ(GetStr(b, "r", 999, 1), data.substr(999));
  EXPECT_EQ(GetStr(b, "r", 1000, 0), "");
  // Reading past the end is corruption: the caller expected bytes the object lacks.
  EXPECT_CODE(b.Get("r", 995, 10), ErrorCode::kCorruption);
  EXPECT_CODE(b.Get("r", 1001, 0), ErrorCode::kCorruption);
  EXPECT_CODE(b.Get("r", 0, 1001), ErrorCode::kCorruption);
  EXPECT_CODE(b.Get("r", UINT64_MAX, 2), ErrorCode::kCorruption);
  EXPECT_CODE(b.Get("r", 2, UINT64_MAX), ErrorCode::kCorruption);
}

// GetInto reads exactly what Get reads, whatever the buffer held before (a reused buffer with
// more capacity and stale bytes, an empty one), and answers a missing object with kNotFound.
void GetIntoReusesBuffer(Backend& b) {
  std::string data;
  for (int i = 0; i < 5000; ++i) data += static_cast<char>('A' + i % 23);
  ASSERT_OK(b.Put("into/a", View(data)));
  Bytes buf(64 * 1024, 0xEE);  // stale content, more capacity than any read below needs
  ASSERT_OK(b.GetInto("into/a", 100, 300, buf));
  EXPECT_EQ(std::string(buf.begin(), buf.end()), data.substr(100, 300));
  ASSERT_OK(b.GetInto("into/a", 0, 0, buf));
  EXPECT_EQ(std::string(buf.begin(), buf.end()), data);
  ASSERT_OK(b.GetInto("into/a", 4990, 0, buf));
  EXPECT_EQ(std::string(buf.begin(), buf.end()), data.substr(4990));
  Bytes empty;
  ASSERT_OK(b.GetInto("into/a", 7, 3, empty));
  EXPECT_EQ(std::string(empty.begin(), empty.end()), data.substr(7, 3));
  EXPECT_CODE(b.GetInto("into/missing", 0, 0, buf), ErrorCode::kNotFound);
  EXPECT_CODE(b.GetInto("into/a", 4995, 10, buf), ErrorCode::kCorruption);
}

void MissingIsNotFound(Backend& b) {
  EXPECT_CODE(b.Get("nope"), ErrorCode::kNotFound);
  EXPECT_CODE(b.Get("nope", 5, 5), ErrorCode::kNotFound);
  EXPECT_CODE(b.Stat("nope"), ErrorCode::kNotFound);
  EXPECT_CODE(b.Get("deep/er/nope"), ErrorCode::kNotFound);
  ASSERT_OK(b.Put("dir/x", View("1")));
  // A name that is only a prefix of other objects is not an object.
  EXPECT_CODE(b.Get("dir"), ErrorCode::kNotFound);
  EXPECT_CODE(b.Stat("dir"), ErrorCode::kNotFound);
  EXPECT_CODE(b.Get("dir/x/y"), ErrorCode::kNotFound);
  EXPECT_CODE(b.Stat("dir/x/y"), ErrorCode::kNotFound);
  EXPECT_EQ(Names(b.List("")), std::vector<std::string>{"dir/x"});
}

void ListByPrefix(Backend& b) {
  EXPECT_EQ(Names(b.List("")), std::vector<std::string>{});
  for (std::string n : {"data/aa/1", "data/ab/2", "data/b", "index/1", "datafile", "zz"}) {
    ASSERT_OK(b.Put(n, View(n + "!")));
  }
  using V = std::vector<std::string>;
  EXPECT_EQ(Names(b.List("")), (V{"data/aa/1", "data/ab/2", "data/b", "datafile", "index/1", "zz"}));
  EXPECT_EQ(Names(b.List("data/")), (V{"data/aa/1", "data/ab/2", "data/b"}));
  EXPECT_EQ(Names(b.List("data/a")), (V{"data/aa/1", "data/ab/2"}));
  EXPECT_EQ(Names(b.List("data/aa/")), (V{"data/aa/1"}));
  EXPECT_EQ(Names(b.List("data")), (V{"data/aa/1", "data/ab/2", "data/b", "datafile"}));
  EXPECT_EQ(Names(b.List("index/1")), (V{"index/1"}));
  EXPECT_EQ(Names(b.List("nope/")), V{});
  EXPECT_EQ(Names(b.List("zz/")), V{});
  EXPECT_EQ(Names(b.List("data/aa/1/")), V{});
  auto r = b.List("data/b");
  ASSERT_TRUE(r.has_value());
  ASSERT_EQ(r->size(), 1u);
  EXPECT_EQ((*r)[0].size, std::string("data/b!").size());
  for (std::string p : {"/", "../", "a/../", "a b", "data//", "./x"}) {
    EXPECT_CODE(b.List(p), ErrorCode::kInvalidArgument);
  }
}

void RemoveIsIdempotent(Backend& b) {
  ASSERT_OK(b.Put("x/y", View("1")));
  ASSERT_OK(b.Put("x/z", View("2")));
  ASSERT_OK(b.Remove("x/y"));
  EXPECT_CODE(b.Stat("x/y"), ErrorCode::kNotFound);
  EXPECT_CODE(b.Get("x/y"), ErrorCode::kNotFound);
  ASSERT_OK(b.Remove("x/y"));
  ASSERT_OK(b.Remove("never/was"));
  ASSERT_OK(b.Remove("x"));  // a prefix, not an object: nothing to remove
  EXPECT_EQ(Names(b.List("")), std::vector<std::string>{"x/z"});
  EXPECT_EQ(GetStr(b, "x/z"), "2");
  // A removed name can be stored again.
  ASSERT_OK(b.Put("x/y", View("3")));
  EXPECT_EQ(GetStr(b, "x/y"), "3");
}

void OverwriteIsAtomic(Backend& b) {
  const std::string v1(1 << 20, 'a'), v2((2 << 20) + 17, 'b');
  ASSERT_OK(b.Put("obj", View(v1)));
  std::atomic<bool> done{false};
  std::atomic<int> torn{0}, reads{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      while (!done.load() || reads.load() < 3) {
        auto r = b.Get("obj");
        ++reads;
        if (!r || !(Str(*r) == v1 || Str(*r) == v2)) ++torn;
      }
    });
  }
  for (int i = 0; i < 12; ++i) {
    auto st = b.Put("obj", View(i % 2 == 0 ? v2 : v1));
    EXPECT_TRUE(st.has_value()) << st.error().ToString();
  }
  done = true;
  for (auto& t : readers) t.join();
  EXPECT_EQ(torn.load(), 0) << "a reader saw a missing or partial object during overwrite";
  EXPECT_EQ(GetStr(b, "obj"), v1);
  auto st = b.Stat("obj");
  ASSERT_TRUE(st.has_value());
  EXPECT_EQ(st->size, v1.size());
  EXPECT_EQ(Names(b.List("")), std::vector<std::string>{"obj"});
}

void InvalidNamesRefused(Backend& b) {
  for (const std::string& n : InvalidNames()) {
    SCOPED_TRACE(testing::PrintToString(n));
    EXPECT_CODE(b.Put(n, View("x")), ErrorCode::kInvalidArgument);
    EXPECT_CODE(b.Get(n), ErrorCode::kInvalidArgument);
    EXPECT_CODE(b.Stat(n), ErrorCode::kInvalidArgument);
    EXPECT_CODE(b.Remove(n), ErrorCode::kInvalidArgument);
  }
  EXPECT_EQ(Names(b.List("")), std::vector<std::string>{});
}

void ConcurrentPuts(Backend& b) {
  constexpr int kThreads = 8, kEach = 25;
  std::vector<std::thread> ts;
  std::atomic<int> failures{0};
  for (int t = 0; t < kThreads; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string name = "c/" + std::to_string(i % 5) + "/t" + std::to_string(t) + "-" + std::to_string(i);
        if (!b.Put(name, View(name))) ++failures;
        // Everyone also races on one name and one new directory.
        std::string shared(4096 + t, static_cast<char>('A' + t));
        if (!b.Put("c/shared", View(shared))) ++failures;
        if (!b.Put("fresh/dir/" + std::to_string(i) + "/t" + std::to_string(t), View("f"))) ++failures;
      }
    });
  }
  // Meanwhile List must show only whole objects: no temporary or partial names.
  std::atomic<bool> writers_done{false};
  std::atomic<int> bad_listings{0}, listings{0};
  std::string first_bad;
  std::thread lister([&] {
    while (!writers_done.load() || listings.load() < 2) {
      auto r = b.List("");
      ++listings;
      if (!r) {
        ++bad_listings;
        continue;
      }
      for (const auto& o : *r) {
        bool expected = o.name == "c/shared" || o.name.starts_with("fresh/dir/") || o.name.starts_with("c/");
        if (!ValidateName(o.name).has_value() || !expected) {
          if (bad_listings++ == 0) first_bad = o.name;
        }
      }
    }
  });
  for (auto& t : ts) t.join();
  writers_done = true;
  lister.join();
  EXPECT_EQ(bad_listings.load(), 0) << "List during puts showed " << testing::PrintToString(first_bad);
  EXPECT_EQ(failures.load(), 0);
  auto names = Names(b.List("c/"));
  EXPECT_EQ(names.size(), size_t{kThreads * kEach + 1});
  for (const auto& n : names) {
    if (n == "c/shared") continue;
    EXPECT_EQ(GetStr(b, n), n);
  }
  std::string shared = GetStr(b, "c/shared");
  ASSERT_GE(shared.size(), 4096u);
  int t = shared[0] - 'A';
  EXPECT_EQ(shared, std::string(4096 + t, static_cast<char>('A' + t))) << "shared object is a mix of writers";
  EXPECT_EQ(Names(b.List("fresh/")).size(), size_t{kThreads * kEach});
}

void FailedPutLeavesNothingVisible(Backend& b) {
  // Storing an object where a "directory" of other objects is: a file system refuses, an
  // object store accepts. Either way List may show only real objects and d/x stays intact.
  ASSERT_OK(b.Put("d/x", View("inner")));
  auto st = b.Put("d", View(RandomString(1 << 20)));
  ASSERT_OK(b.Put("f", View("file")));
  auto st2 = b.Put("f/child", View(RandomString(1 << 20)));
  std::set<std::string> allowed = {"d/x", "f"};
  if (st) allowed.insert("d");
  if (st2) allowed.insert("f/child");
  for (const auto& n : Names(b.List(""))) {
    EXPECT_TRUE(allowed.contains(n)) << "List shows " << testing::PrintToString(n);
    EXPECT_TRUE(ValidateName(n).has_value()) << n;
  }
  if (!st) EXPECT_CODE(b.Stat("d"), ErrorCode::kNotFound);
  if (!st2) EXPECT_CODE(b.Stat("f/child"), ErrorCode::kNotFound);
  EXPECT_EQ(GetStr(b, "d/x"), "inner");
  EXPECT_EQ(GetStr(b, "f"), "file");
}

void LargeObjectRanges(Backend& b) {
  const std::string big = RandomString((16 << 20) + 3);
  ASSERT_OK(b.Put("big", View(big)));
  for (uint64_t off : {uint64_t{0}, uint64_t{1}, uint64_t{4095}, uint64_t{(8 << 20) + 5}, uint64_t{big.size() - 7}}) {
    EXPECT_TRUE(GetStr(b, "big", off, 7) == big.substr(off, 7)) << off;
  }
  EXPECT_TRUE(GetStr(b, "big", 3 << 20, 0) == big.substr(3 << 20));
}

// ---- read-only cases ----

void ReadOnlyReads(Backend& b) {
  std::vector<std::string> want;
  for (const auto& [name, content] : ReadOnlyFixture()) {
    want.push_back(name);
    EXPECT_EQ(GetStr(b, name), content);
    auto st = b.Stat(name);
    ASSERT_TRUE(st.has_value()) << st.error().ToString();
    EXPECT_EQ(st->size, content.size());
  }
  std::sort(want.begin(), want.end());
  EXPECT_EQ(Names(b.List("")), want);
  EXPECT_EQ(Names(b.List("keys/")), std::vector<std::string>{"keys/master"});
  EXPECT_EQ(GetStr(b, "config", 2, 3), ReadOnlyFixture()[0].second.substr(2, 3));
  EXPECT_CODE(b.Get("config", 0, 1000), ErrorCode::kCorruption);
  EXPECT_CODE(b.Get("nope"), ErrorCode::kNotFound);
  EXPECT_CODE(b.Stat("nope"), ErrorCode::kNotFound);
}

void ReadOnlyRefusesWrites(Backend& b) {
  EXPECT_CODE(b.Put("new", View("x")), ErrorCode::kPermissionDenied);
  EXPECT_CODE(b.Put("config", View("x")), ErrorCode::kPermissionDenied);
  EXPECT_CODE(b.Remove("config"), ErrorCode::kPermissionDenied);
  EXPECT_CODE(b.Remove("nope"), ErrorCode::kPermissionDenied);
  EXPECT_CODE(b.Stat("new"), ErrorCode::kNotFound);
  EXPECT_EQ(GetStr(b, "config"), ReadOnlyFixture()[0].second);
  EXPECT_EQ(Names(b.List("")).size(), ReadOnlyFixture().size());
}

void ReadOnlyInvalidNames(Backend& b) {
  for (const std::string& n : InvalidNames()) {
    SCOPED_TRACE(testing::PrintToString(n));
    EXPECT_CODE(b.Get(n), ErrorCode::kInvalidArgument);
    EXPECT_CODE(b.Stat(n), ErrorCode::kInvalidArgument);
    EXPECT_FALSE(b.Put(n, View("x")).has_value());
    EXPECT_FALSE(b.Remove(n).has_value());
  }
}

struct Entry {
  const char* name;
  CaseFn fn;
};

}  // namespace

const std::vector<std::pair<std::string, std::string>>& ReadOnlyFixture() {
  static const std::vector<std::pair<std::string, std::string>> v = {
      {"config", "{\"version\":1,\"chunker\":\"fastcdc\"}"},
      {"keys/master", std::string(64, 'k')},
      {"data/00/0011", std::string("\0\1\2\3binary\xff", 11)},
      {"index/empty", ""},
  };
  return v;
}

void Register(const std::string& suite, BackendFactory factory, Mode mode) {
  static const Entry kReadWrite[] = {
      {"PutGetStat", PutGetStat},
      {"RangedGet", RangedGet},
      {"GetIntoReusesBuffer", GetIntoReusesBuffer},
      {"MissingIsNotFound", MissingIsNotFound},
      {"ListByPrefix", ListByPrefix},
      {"RemoveIsIdempotent", RemoveIsIdempotent},
      {"OverwriteIsAtomic", OverwriteIsAtomic},
      {"InvalidNamesRefused", InvalidNamesRefused},
      {"ConcurrentPutsFrom8Threads", ConcurrentPuts},
      {"FailedPutLeavesNothingVisible", FailedPutLeavesNothingVisible},
      {"LargeObjectRanges", LargeObjectRanges},
  };
  static const Entry kReadOnly[] = {
      {"Reads", ReadOnlyReads},
      {"RefusesWrites", ReadOnlyRefusesWrites},
      {"InvalidNames", ReadOnlyInvalidNames},
  };
  auto add = [&](const Entry& e) {
    ::testing::RegisterTest(suite.c_str(), e.name, nullptr, nullptr, __FILE__, __LINE__,
                            [factory, fn = e.fn]() -> ::testing::Test* { return new Case(factory, fn); });
  };
  if (mode == Mode::kReadWrite) {
    for (const Entry& e : kReadWrite) add(e);
  } else {
    for (const Entry& e : kReadOnly) add(e);
  }
}

}  // namespace mlvault::backend::conformance
