// Keys, config, repository objects (packs, index files, manifests) and locks.
#include "vault/repository.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <mutex>
#include <random>
#include <thread>

#include "backend/test_support.h"
#include "util/files.h"
#include "vault/compress.h"
#include "vault/keys.h"
#include "vault/lock.h"
#include "vault/storage.h"

namespace mlvault::vault {
namespace {

class TempDir {
 public:
  TempDir() { path_ = *util::MakeTempDir("mlvault-vault-test"); }
  ~TempDir() { (void)util::RemoveAll(path_); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

InitOptions FastInit() {
  InitOptions o;
  o.scrypt_log_n = 10;  // keep tests fast; the default is 15
  return o;
}

TEST(Keys, KeyFileRoundTripAndWrongKey) {
  TempDir dir;
  const std::string k1 = dir.path() + "/k1", k2 = dir.path() + "/k2";
  ASSERT_TRUE(WriteNewKeyFile(k1));
  ASSERT_TRUE(WriteNewKeyFile(k2));
  auto again = WriteNewKeyFile(k1);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().code(), util::ErrorCode::kConflict);

  auto cfg = CreateConfig(KeySource::FromKeyFile(k1), FastInit());
  ASSERT_TRUE(cfg) << cfg.error().ToString();
  auto opened = OpenConfig(cfg->json, KeySource::FromKeyFile(k1));
  ASSERT_TRUE(opened) << opened.error().ToString();
  EXPECT_EQ(opened->id, cfg->opened.id);
  EXPECT_EQ(opened->keys.encrypt, cfg->opened.keys.encrypt);
  EXPECT_EQ(opened->keys.chunker_seed, cfg->opened.keys.chunker_seed);
  EXPECT_EQ(opened->params.chunk_avg, 1024u * 1024);

  auto wrong = OpenConfig(cfg->json, KeySource::FromKeyFile(k2));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), util::ErrorCode::kPermissionDenied);
  EXPECT_NE(wrong.error().message().find("wrong key"), std::string::npos);

  auto pass = OpenConfig(cfg->json, KeySource::FromPassphrase("secret"));
  ASSERT_FALSE(pass);
  EXPECT_EQ(pass.error().code(), util::ErrorCode::kPermissionDenied);
}

TEST(Keys, PassphraseRoundTripAndWrongPassphrase) {
  auto cfg = CreateConfig(KeySource::FromPassphrase("correct horse"), FastInit());
  ASSERT_TRUE(cfg) << cfg.error().ToString();
  EXPECT_TRUE(OpenConfig(cfg->json, KeySource::FromPassphrase("correct horse")));
  auto wrong = OpenConfig(cfg->json, KeySource::FromPassphrase("correct horsf"));
  ASSERT_FALSE(wrong);
  EXPECT_EQ(wrong.error().code(), util::ErrorCode::kPermissionDenied);
}

TEST(Keys, MalformedKeyFileAndConfig) {
  TempDir dir;
  const std::string k = dir.path() + "/bad";
  ASSERT_TRUE(util::WriteFileAtomic(k, std::string_view("not hex\n")));
  auto r = CreateConfig(KeySource::FromKeyFile(k), FastInit());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), util::ErrorCode::kInvalidArgument);

  auto cfg = CreateConfig(KeySource::FromPassphrase("p"), FastInit());
  ASSERT_TRUE(cfg);
  for (size_t cut : {size_t{0}, size_t{10}, cfg->json.size() / 2}) {
    auto o = OpenConfig(cfg->json.substr(0, cut), KeySource::FromPassphrase("p"));
    ASSERT_FALSE(o);
    EXPECT_EQ(o.error().code(), util::ErrorCode::kCorruption);
  }
  // A tampered parameter block fails authentication.
  std::string tampered = cfg->json;
  size_t at = tampered.find("\"params\": \"") + 20;
  tampered[at] = tampered[at] == '0' ? '1' : '0';
  auto o = OpenConfig(tampered, KeySource::FromPassphrase("p"));
  ASSERT_FALSE(o);
  EXPECT_EQ(o.error().code(), util::ErrorCode::kCorruption);
}

TEST(Compress, SkipsRandomDataAndRoundTripsText) {
  Bytes random(256 * 1024);
  std::mt19937 rng(1);
  for (auto& b : random) b = static_cast<uint8_t>(rng());
  ByteView out;
  EXPECT_EQ(MaybeCompress(random, 3, out), Compression::kNone);
  EXPECT_EQ(out.data(), random.data());
  std::string text;
  while (text.size() < 200000) text += "the quick brown fox jumps over the lazy dog; ";
  EXPECT_EQ(MaybeCompress(util::AsBytes(text), 3, out), Compression::kZstd);
  EXPECT_LT(out.size(), text.size() / 5);
  Bytes back;
  ASSERT_TRUE(Decompress(out, text.size(), back));
  EXPECT_EQ(util::AsString(back), text);
  EXPECT_FALSE(Decompress(out, text.size() + 1, back));
  Bytes cut(out.begin(), out.begin() + out.size() / 2);
  EXPECT_FALSE(Decompress(cut, text.size(), back));
}

// Small inputs (under the 64 KiB sample threshold) whose bytes are spread like random bytes are
// stored raw without a zstd pass; everything with structure is still compressed when it pays.
TEST(Compress, SmallInputsAreTestedByHowTheirBytesSpread) {
  std::mt19937 rng(2);
  ByteView out;
  int compressed = 0;
  for (size_t size : {64u, 100u, 384u, 385u, 2048u, 4096u, 65535u}) {
    for (int round = 0; round < 200; ++round) {
      Bytes random(size);
      for (auto& b : random) b = static_cast<uint8_t>(rng());
      compressed += MaybeCompress(random, 2, out) == Compression::kZstd;
    }
  }
  EXPECT_EQ(compressed, 0);
  // Text, a small alphabet (hex), repeated short records of random bytes, and random bytes
  // followed by zeros all shrink.
  std::string text;
  while (text.size() < 3000) text += "model.layers.3.attn.weight: shape [4096, 4096] dtype bf16\n";
  std::string hex;
  while (hex.size() < 3000) hex += "0123456789abcdef"[rng() % 16];
  std::string records;
  std::string record(100, '\0');
  for (auto& c : record) c = static_cast<char>(rng());
  while (records.size() < 3000) records += record;
  std::string tail(3000, '\0');
  for (size_t i = 0; i < 200; ++i) tail[i] = static_cast<char>(rng());
  for (const std::string* s : {&text, &hex, &records, &tail}) {
    EXPECT_EQ(MaybeCompress(util::AsBytes(*s), 2, out), Compression::kZstd) << s->substr(0, 20);
    EXPECT_LT(out.size(), s->size() * 97 / 100);
    Bytes back;
    ASSERT_TRUE(Decompress(out, s->size(), back));
    EXPECT_EQ(util::AsString(back), *s);
  }
}

class RepoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = dir_.path() + "/key";
    ASSERT_TRUE(WriteNewKeyFile(key_));
    auto be = backend::OpenLocal(dir_.path() + "/vault", true);
    ASSERT_TRUE(be);
    Options o;
    o.pack_target_size = 64 * 1024;
    auto r = Repository::Init(std::move(*be), KeySource::FromKeyFile(key_), FastInit(), o);
    ASSERT_TRUE(r) << r.error().ToString();
    repo_ = std::move(*r);
  }
  TempDir dir_;
  std::string key_;
  std::unique_ptr<Repository> repo_;
};

TEST_F(RepoTest, InitRefusesAnExistingVault) {
  auto be = backend::OpenLocal(dir_.path() + "/vault", false);
  ASSERT_TRUE(be);
  auto r = Repository::Init(std::move(*be), KeySource::FromKeyFile(key_), FastInit(), {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), util::ErrorCode::kConflict);
}

TEST_F(RepoTest, PacksIndexAndBlobsRoundTrip) {
  IndexWriter iw(repo_.get(), 2);
  std::vector<IndexPack> seen;
  std::mutex mu;
  PackWriter pw(repo_.get(), 64 * 1024, 1, [&](const IndexPack& p, uint64_t) {
    std::lock_guard<std::mutex> lk(mu);
    seen.push_back(p);
    return iw.Add(p);
  });
  std::vector<std::pair<BlobId, Bytes>> blobs;
  std::mt19937 rng(5);
  for (int i = 0; i < 40; ++i) {
    Bytes b(5000 + i * 100);
    // Half compressible, half random: both storage paths are exercised.
    for (auto& x : b) x = static_cast<uint8_t>(i % 2 ? rng() : rng() % 4);
    BlobId id = repo_->HashBlob(BlobType::kData, b);
    ByteView z;
    Compression c = MaybeCompress(b, 3, z);
    ASSERT_TRUE(pw.Add(id, BlobType::kData, c, z, static_cast<uint32_t>(b.size())));
    blobs.emplace_back(id, b);
  }
  ASSERT_TRUE(pw.Finish());
  ASSERT_TRUE(iw.Flush());
  EXPECT_GE(seen.size(), 2u);  // small target: several packs

  auto index = repo_->LoadIndex(nullptr, nullptr);
  ASSERT_TRUE(index) << index.error().ToString();
  EXPECT_EQ((*index)->blob_count(), blobs.size());
  for (const auto& [id, data] : blobs) {
    auto got = repo_->ReadBlob(**index, id);
    ASSERT_TRUE(got) << got.error().ToString();
    EXPECT_EQ(*got, data);
  }
  // Pack headers agree with the index.
  for (const auto& p : seen) {
    auto info = repo_->backend()->Stat(PackName(p.pack));
    ASSERT_TRUE(info);
    auto header = repo_->ReadPackHeader(p.pack, info->size);
    ASSERT_TRUE(header) << header.error().ToString();
    EXPECT_EQ(*header, p.blobs);
  }
  // A blob the index does not know is kNotFound.
  BlobId unknown{};
  auto nf = repo_->ReadBlob(**index, unknown);
  ASSERT_FALSE(nf);
  EXPECT_EQ(nf.error().code(), util::ErrorCode::kNotFound);
}

// With one uploader a writer holds two pack buffers: a full pack waits for the write before it.
// Slow writes then hold Add back (every blob still lands, in order), and a failed write is
// returned by a waiting Add or by Finish instead of leaving the producer waiting.
TEST_F(RepoTest, PackWriterWaitsForSlowWritesAndReturnsTheirErrors) {
  for (bool fail : {false, true}) {
    SCOPED_TRACE(fail ? "failing writes" : "slow writes");
    auto be = backend::OpenLocal(dir_.path() + "/vault", false);
    ASSERT_TRUE(be);
    auto puts = std::make_shared<std::atomic<int>>(0);
    auto faulty = backend::WithFaults(
        std::move(*be), [puts, fail](std::string_view op, std::string_view name) -> Status {
          if (op != "put" || !name.starts_with("data/")) return util::Ok();
          std::this_thread::sleep_for(std::chrono::milliseconds(20));
          if (fail && puts->fetch_add(1) >= 1) return util::IoError("disk full (injected)");
          return util::Ok();
        });
    Options o;
    o.pack_target_size = 64 * 1024;
    auto repo = Repository::Open(std::move(faulty), KeySource::FromKeyFile(key_), o);
    ASSERT_TRUE(repo) << repo.error().ToString();
    std::mutex mu;
    std::vector<IndexPack> written;
    PackWriter pw(repo->get(), 64 * 1024, 1, [&](IndexPack&& p, uint64_t) {
      std::lock_guard<std::mutex> lk(mu);
      written.push_back(std::move(p));
      return util::Ok();
    });
    std::vector<BlobId> ids;
    Status added = util::Ok();
    for (int i = 0; i < 100 && added; ++i) {
      Bytes b(8000, static_cast<uint8_t>(i));
      b[0] = static_cast<uint8_t>(i >> 8);
      ids.push_back((*repo)->HashBlob(BlobType::kData, b));
      added = pw.Add(ids.back(), BlobType::kData, Compression::kNone, b,
                     static_cast<uint32_t>(b.size()));
    }
    Status finished = pw.Finish();
    if (fail) {
      EXPECT_FALSE(added && finished);
      EXPECT_EQ(written.size(), 1u);
      continue;
    }
    ASSERT_TRUE(added) << added.error().ToString();
    ASSERT_TRUE(finished) << finished.error().ToString();
    std::vector<BlobId> got;
    for (const auto& p : written) {
      for (const auto& b : p.blobs) got.push_back(b.id);
    }
    EXPECT_EQ(got, ids);
    EXPECT_GE(written.size(), 12u);  // ~8 blobs of 8 KB per 64 KiB pack
  }
}

TEST_F(RepoTest, IndexWriterStartsANewFileEveryBlobsPerFileBlobs) {
  // 64 packs per file, but at most 10 blobs: packs of 4 blobs make a file every third pack.
  IndexWriter iw(repo_.get(), 64, 10);
  std::mt19937 rng(9);
  std::vector<BlobId> ids;
  for (int p = 0; p < 4; ++p) {
    IndexPack pack{NewObjectId(), {}};
    for (int b = 0; b < 4; ++b) {
      BlobEntry e;
      for (auto& x : e.id) x = static_cast<uint8_t>(rng());
      e.offset = static_cast<uint32_t>(b * 100);
      e.stored_len = 100;
      e.raw_len = 72;
      ids.push_back(e.id);
      pack.blobs.push_back(e);
    }
    ASSERT_TRUE(iw.Add(std::move(pack)));
    EXPECT_EQ(iw.files().size(), p >= 2 ? 1u : 0u) << p;
  }
  ASSERT_TRUE(iw.Flush());
  EXPECT_EQ(iw.files().size(), 2u);
  auto index = repo_->LoadIndex(nullptr, nullptr);
  ASSERT_TRUE(index) << index.error().ToString();
  EXPECT_EQ((*index)->blob_count(), ids.size());
  for (const auto& id : ids) EXPECT_TRUE((*index)->Contains(id));
}

TEST_F(RepoTest, ManifestsRoundTripAndRefuseRenaming) {
  Manifest m;
  m.id = NewObjectId();
  m.kind = VolumeKind::kBlock;
  m.source = "/data/img";
  m.time = 1700000000123456;
  m.labels = {{"volume", "metadata"}, {"workspace", "w1"}};
  m.tree = repo_->HashBlob(BlobType::kTree, util::AsBytes("x"));
  m.root_mode = 0640;
  m.stats.files = 1;
  m.stats.bytes_total = 42;
  ASSERT_TRUE(repo_->SaveManifest(m, nullptr));
  auto back = repo_->LoadManifest(m.id);
  ASSERT_TRUE(back) << back.error().ToString();
  EXPECT_EQ(back->labels, m.labels);
  EXPECT_EQ(back->tree, m.tree);
  EXPECT_EQ(back->kind, VolumeKind::kBlock);
  EXPECT_EQ(back->time, m.time);
  // Copy the manifest under another id: it must not authenticate.
  ObjectId other = NewObjectId();
  auto bytes = repo_->backend()->Get(PointName(m.id));
  ASSERT_TRUE(bytes);
  ASSERT_TRUE(repo_->backend()->Put(PointName(other), *bytes));
  auto moved = repo_->LoadManifest(other);
  ASSERT_FALSE(moved);
  EXPECT_EQ(moved.error().code(), util::ErrorCode::kCorruption);
  std::vector<LoadProblem> problems;
  auto all = repo_->ListManifests(&problems);
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 1u);
  EXPECT_EQ(problems.size(), 1u);
  // Prefix resolution.
  auto r = repo_->ResolvePoint(IdHex(m.id).substr(0, 12));
  ASSERT_TRUE(r);
  EXPECT_EQ(*r, m.id);
  EXPECT_FALSE(repo_->ResolvePoint("../../etc"));
}

TEST_F(RepoTest, LocksConflictAndStaleLocksAreIgnored) {
  Options o;
  o.lock_wait_seconds = 0.3;
  auto shared1 =
      VaultLock::Acquire(repo_->backend(), repo_->keys().encrypt, false, "backup", o, nullptr);
  ASSERT_TRUE(shared1) << shared1.error().ToString();
  auto shared2 =
      VaultLock::Acquire(repo_->backend(), repo_->keys().encrypt, false, "restore", o, nullptr);
  ASSERT_TRUE(shared2) << shared2.error().ToString();
  auto excl = VaultLock::Acquire(repo_->backend(), repo_->keys().encrypt, true, "gc", o, nullptr);
  ASSERT_FALSE(excl);
  EXPECT_EQ(excl.error().code(), util::ErrorCode::kConflict);
  EXPECT_NE(excl.error().message().find("a shared lock of"), std::string::npos)
      << excl.error().message();
  EXPECT_TRUE((*shared1)->Check());
  shared1->reset();
  shared2->reset();
  auto excl2 = VaultLock::Acquire(repo_->backend(), repo_->keys().encrypt, true, "gc", o, nullptr);
  ASSERT_TRUE(excl2) << excl2.error().ToString();
  auto shared3 =
      VaultLock::Acquire(repo_->backend(), repo_->keys().encrypt, false, "backup", o, nullptr);
  ASSERT_FALSE(shared3);
  excl2->reset();

  // A lock left by a dead process on this machine is stale at once.
  LockInfo dead = ThisProcess();
  dead.id = NewObjectId();
  dead.exclusive = true;
  dead.operation = "gc";
  dead.pid_start += 12345;  // same pid, other start time: not us
  dead.created = dead.refreshed = util::Clock::System().Now();
  ASSERT_TRUE(repo_->backend()->Put(LockName(dead.id), SealLock(repo_->keys().encrypt, dead)));
  auto after_dead =
      VaultLock::Acquire(repo_->backend(), repo_->keys().encrypt, false, "backup", o, nullptr);
  ASSERT_TRUE(after_dead) << after_dead.error().ToString();
  EXPECT_FALSE(repo_->backend()->Stat(LockName(dead.id)));  // removed
  after_dead->reset();

  // A lock from another machine is stale only once its heartbeat is old.
  LockInfo remote = ThisProcess();
  remote.id = NewObjectId();
  remote.exclusive = true;
  remote.hostname = "elsewhere";
  remote.created = remote.refreshed = util::Clock::System().Now();
  ASSERT_TRUE(repo_->backend()->Put(LockName(remote.id), SealLock(repo_->keys().encrypt, remote)));
  auto blocked =
      VaultLock::Acquire(repo_->backend(), repo_->keys().encrypt, false, "backup", o, nullptr);
  ASSERT_FALSE(blocked);
  EXPECT_NE(blocked.error().message().find("elsewhere"), std::string::npos);
  remote.refreshed -= static_cast<int64_t>(o.lock_stale_seconds * 1e6) + 1;
  ASSERT_TRUE(repo_->backend()->Put(LockName(remote.id), SealLock(repo_->keys().encrypt, remote)));
  auto now_ok =
      VaultLock::Acquire(repo_->backend(), repo_->keys().encrypt, false, "backup", o, nullptr);
  ASSERT_TRUE(now_ok) << now_ok.error().ToString();
}

TEST_F(RepoTest, HeartbeatRefreshesAndNoticesALostLock) {
  Options o;
  o.lock_stale_seconds = 0.6;  // heartbeat every 0.1 s
  auto lock =
      VaultLock::Acquire(repo_->backend(), repo_->keys().encrypt, false, "backup", o, nullptr);
  ASSERT_TRUE(lock);
  auto first = repo_->backend()->Get(LockName((*lock)->id()));
  ASSERT_TRUE(first);
  // Poll rather than sleep a fixed time: a loaded machine may delay the heartbeat thread.
  auto wait_until = [](const std::function<bool()>& cond) {
    for (int i = 0; i < 500 && !cond(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return cond();
  };
  EXPECT_TRUE(wait_until([&] {
    auto now = repo_->backend()->Get(LockName((*lock)->id()));
    return now && *now != *first;  // rewritten with a new refresh time
  }));
  EXPECT_TRUE((*lock)->Check());
  ASSERT_TRUE(repo_->backend()->Remove(LockName((*lock)->id())));
  EXPECT_TRUE(wait_until([&] { return !(*lock)->Check(); }));
  auto st = (*lock)->Check();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code(), util::ErrorCode::kConflict);
}

TEST(OpenStorage, CreatesOnRequestAndAddsTheFault) {
  TempDir dir;
  const std::string where = dir.path() + "/vault";
  auto missing = OpenStorage(where);
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code(), util::ErrorCode::kNotFound);
  ASSERT_TRUE(OpenStorage(where, {.create = true}));
  ASSERT_TRUE(std::filesystem::is_directory(where));

  std::vector<std::string> asked;
  auto fault = [&](std::string_view op, std::string_view name) -> util::Status {
    asked.push_back(std::string(op) + " " + std::string(name));
    if (op == "put") return util::IoError("full");
    return util::Ok();
  };
  auto storage = OpenStorage(where, {.fault = fault});
  ASSERT_TRUE(storage);
  const Bytes data = {1, 2, 3};
  auto put = (*storage)->Put("config", data);
  ASSERT_FALSE(put);
  EXPECT_EQ(put.error().message(), "full");
  EXPECT_EQ(asked, std::vector<std::string>{"put config"});
}

TEST(IsUtf8, AcceptsUtf8AndRefusesTheRest) {
  EXPECT_TRUE(IsUtf8("plain"));
  EXPECT_TRUE(IsUtf8("caf\xc3\xa9 \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsUtf8("\xff"));
  EXPECT_FALSE(IsUtf8("\xc3"));          // truncated
  EXPECT_FALSE(IsUtf8("\xc0\xaf"));      // overlong '/'
  EXPECT_FALSE(IsUtf8("\xed\xa0\x80"));  // surrogate
}

TEST(PrintablePath, EscapesWhatJsonAndTerminalsCannotTake) {
  EXPECT_EQ(PrintablePath("plain/path"), "plain/path");
  EXPECT_EQ(PrintablePath("a\nb"), "a\\x0ab");
  EXPECT_EQ(PrintablePath("\xff\xfe"), "\\xff\\xfe");
  EXPECT_EQ(PrintablePath("caf\xc3\xa9"), "caf\xc3\xa9");
}

}  // namespace
}  // namespace mlvault::vault
