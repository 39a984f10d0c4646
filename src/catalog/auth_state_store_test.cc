// The shared authentication state on both engines: a nonce is accepted once by any connection
// (two connections stand for two servers) until it expires, a challenge is taken once, sessions
// expire and are deleted, and Sweep removes only expired rows.
#include "catalog/auth_state_store.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

#include "catalog/testing.h"

namespace mlvault::catalog {
namespace {

class AuthStateStoreTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    catalog_.Create(GetParam());
    if (IsSkipped() || HasFatalFailure()) return;
    a_ = catalog_.Open();
    b_ = catalog_.Open();
    ASSERT_TRUE(a_->Migrate(AuthStateMigrations()));
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
  }
  int64_t Count(const std::string& table) {
    auto rows = a_->Query("SELECT COUNT(*) FROM " + table);
    EXPECT_TRUE(rows);
    return rows ? (*rows)[0].Int(0) : -1;
  }

  TestCatalog catalog_;
  std::unique_ptr<Db> a_, b_;
};

TEST_P(AuthStateStoreTest, NonceIsAcceptedOnceAcrossConnections) {
  AuthStateStore a(*a_), b(*b_);
  auto first = a.InsertNonce("MLVKAAAA", "nonce-0123456789ab", 1000, 10);
  ASSERT_TRUE(first) << first.error().message();
  EXPECT_TRUE(*first);
  // The same nonce through the other connection (another server): a replay.
  auto replay = b.InsertNonce("MLVKAAAA", "nonce-0123456789ab", 1000, 20);
  ASSERT_TRUE(replay) << replay.error().message();
  EXPECT_FALSE(*replay);
  // Another key may use the same nonce.
  auto other = b.InsertNonce("MLVKBBBB", "nonce-0123456789ab", 1000, 20);
  ASSERT_TRUE(other);
  EXPECT_TRUE(*other);
  // After its expiry (not swept yet) the nonce is new again, once.
  auto later = b.InsertNonce("MLVKAAAA", "nonce-0123456789ab", 5000, 1001);
  ASSERT_TRUE(later);
  EXPECT_TRUE(*later);
  auto again = a.InsertNonce("MLVKAAAA", "nonce-0123456789ab", 5000, 1002);
  ASSERT_TRUE(again);
  EXPECT_FALSE(*again);
}

TEST_P(AuthStateStoreTest, RacingInsertsOfOneNonceHaveOneWinner) {
  std::vector<std::unique_ptr<Db>> dbs;
  for (int i = 0; i < 4; ++i) dbs.push_back(catalog_.Open());
  std::atomic<int> wins{0}, errors{0};
  std::vector<std::thread> threads;
  for (auto& db : dbs) {
    threads.emplace_back([&, d = db.get()] {
      auto r = AuthStateStore(*d).InsertNonce("MLVKAAAA", "race-0123456789abcdef", 1000, 10);
      if (!r)
        ++errors;
      else if (*r)
        ++wins;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(wins.load(), 1);
}

TEST_P(AuthStateStoreTest, ChallengeIsTakenOnce) {
  AuthStateStore a(*a_), b(*b_);
  ASSERT_TRUE(a.PutChallenge("hash1", "MLVKAAAA", 100));
  ASSERT_TRUE(a.PutChallenge("hash2", "MLVKAAAA", 100));
  auto pending = a.CountChallenges(50);
  ASSERT_TRUE(pending);
  EXPECT_EQ(*pending, 2);
  auto taken = b.TakeChallenge("hash1", 50);
  ASSERT_TRUE(taken) << taken.error().message();
  ASSERT_TRUE(taken->has_value());
  EXPECT_EQ(**taken, "MLVKAAAA");
  auto twice = a.TakeChallenge("hash1", 50);
  ASSERT_TRUE(twice);
  EXPECT_FALSE(twice->has_value());
  // An expired challenge is consumed and refused.
  auto expired = a.TakeChallenge("hash2", 101);
  ASSERT_TRUE(expired);
  EXPECT_FALSE(expired->has_value());
  EXPECT_EQ(Count("console_challenges"), 0);
  auto unknown = a.TakeChallenge("nothing", 50);
  ASSERT_TRUE(unknown);
  EXPECT_FALSE(unknown->has_value());
}

TEST_P(AuthStateStoreTest, SessionsAreSharedAndExpire) {
  AuthStateStore a(*a_), b(*b_);
  ASSERT_TRUE(a.PutSession("s1", {"MLVKAAAA", "csrf1", "127.0.0.1", true, 100}));
  ASSERT_TRUE(a.PutSession("s2", {"MLVKBBBB", "csrf2", "10.0.0.2", false, 200}));
  auto s = b.GetSession("s1", 50);
  ASSERT_TRUE(s) << s.error().message();
  ASSERT_TRUE(s->has_value());
  EXPECT_EQ((*s)->access_key_id, "MLVKAAAA");
  EXPECT_EQ((*s)->csrf_token, "csrf1");
  EXPECT_EQ((*s)->source_ip, "127.0.0.1");
  EXPECT_TRUE((*s)->secure);
  EXPECT_EQ((*s)->expires_at, 100);
  // Expired: not returned, and deleted.
  auto gone = b.GetSession("s1", 101);
  ASSERT_TRUE(gone);
  EXPECT_FALSE(gone->has_value());
  EXPECT_EQ(Count("console_sessions"), 1);
  ASSERT_TRUE(b.DeleteSession("s2"));
  ASSERT_TRUE(b.DeleteSession("s2"));  // idempotent
  auto out = a.GetSession("s2", 50);
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->has_value());
}

TEST_P(AuthStateStoreTest, SweepRemovesOnlyExpiredRows) {
  AuthStateStore a(*a_);
  ASSERT_TRUE(a.InsertNonce("K", "old-nonce-0123456789", 100, 1));
  ASSERT_TRUE(a.InsertNonce("K", "new-nonce-0123456789", 300, 1));
  ASSERT_TRUE(a.PutChallenge("c-old", "K", 100));
  ASSERT_TRUE(a.PutChallenge("c-new", "K", 300));
  ASSERT_TRUE(a.PutSession("s-old", {"K", "x", "ip", false, 100}));
  ASSERT_TRUE(a.PutSession("s-new", {"K", "y", "ip", false, 300}));
  ASSERT_TRUE(a.Sweep(200));
  EXPECT_EQ(Count("auth_nonces"), 1);
  EXPECT_EQ(Count("console_challenges"), 1);
  EXPECT_EQ(Count("console_sessions"), 1);
  auto replay = a.InsertNonce("K", "new-nonce-0123456789", 300, 250);
  ASSERT_TRUE(replay);
  EXPECT_FALSE(*replay);
}

INSTANTIATE_TEST_SUITE_P(Sqlite, AuthStateStoreTest, ::testing::Values(Engine::kSqlite),
                         EngineName);
INSTANTIATE_TEST_SUITE_P(Postgres, AuthStateStoreTest, ::testing::Values(Engine::kPostgres),
                         EngineName);

}  // namespace
}  // namespace mlvault::catalog
