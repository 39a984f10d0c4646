#include "runtime/write_gate.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <thread>

namespace mlvault::runtime {
namespace {

using namespace std::chrono_literals;

TEST(WriteGate, QuiesceRefusesWritesUntilResume) {
  util::FakeClock clock;
  int quiesced = 0, resumed = 0;
  WriteGate gate(clock, {[&] {
                           ++quiesced;
                           return util::Ok();
                         },
                         [&] { ++resumed; }});
  EXPECT_TRUE(gate.TryEnter().has_value());
  auto expiry = gate.Quiesce(60s, 1s);
  ASSERT_TRUE(expiry);
  EXPECT_EQ(*expiry, clock.Now() + 60'000'000);
  EXPECT_EQ(quiesced, 1);
  EXPECT_TRUE(gate.quiesced());
  EXPECT_FALSE(gate.TryEnter().has_value());
  gate.Resume();
  EXPECT_EQ(resumed, 1);
  EXPECT_FALSE(gate.quiesced());
  EXPECT_TRUE(gate.TryEnter().has_value());
}

TEST(WriteGate, QuiesceWaitsForWritesInFlight) {
  util::FakeClock clock;
  WriteGate gate(clock);
  auto ticket = gate.TryEnter();
  ASSERT_TRUE(ticket);
  std::atomic<bool> returned{false};
  auto q = std::async(std::launch::async, [&] {
    auto r = gate.Quiesce(60s, 10s);
    returned = true;
    return r.has_value();
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(returned.load());
  EXPECT_TRUE(gate.refusing_writes());  // new writes refused while draining
  EXPECT_FALSE(gate.TryEnter().has_value());
  {
    auto done = std::move(*ticket);
    ticket.reset();
  }
  EXPECT_TRUE(q.get());
  EXPECT_TRUE(gate.quiesced());
}

TEST(WriteGate, DrainTimeoutResumes) {
  util::FakeClock clock;
  WriteGate gate(clock);
  auto ticket = gate.TryEnter();
  auto r = gate.Quiesce(60s, 100ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code(), util::ErrorCode::kUnavailable);
  EXPECT_FALSE(gate.refusing_writes());
  EXPECT_TRUE(gate.TryEnter().has_value());
}

TEST(WriteGate, LeaseLapsesByItselfAndRenews) {
  util::FakeClock clock;
  int resumed = 0;
  WriteGate gate(clock, {nullptr, [&] { ++resumed; }});
  ASSERT_TRUE(gate.Quiesce(10s, 1s));
  clock.Advance(9s);
  EXPECT_TRUE(gate.quiesced());
  ASSERT_TRUE(gate.Quiesce(10s, 1s));  // renewal from now
  clock.Advance(9s);
  EXPECT_TRUE(gate.quiesced());
  clock.Advance(2s);
  gate.CheckLease();
  EXPECT_FALSE(gate.quiesced());
  EXPECT_EQ(resumed, 1);
  EXPECT_TRUE(gate.TryEnter().has_value());
}

TEST(WriteGate, InternalWritesWaitWhileQuiescedButNotWhileDraining) {
  util::FakeClock clock;
  WriteGate gate(clock);
  ASSERT_TRUE(gate.Quiesce(60s, 1s));
  std::atomic<bool> entered{false};
  std::thread t([&] {
    auto ticket = gate.EnterInternal();
    entered = ticket.has_value();
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(entered.load());
  gate.Resume();
  t.join();
  EXPECT_TRUE(entered.load());

  // While draining (an API write in flight), internal writes proceed: they may be what the
  // in-flight write waits for.
  auto api = gate.TryEnter();
  auto q = std::async(std::launch::async, [&] { return gate.Quiesce(60s, 5s).has_value(); });
  std::this_thread::sleep_for(50ms);
  auto internal = gate.EnterInternal();
  EXPECT_TRUE(internal.has_value());
  internal.reset();
  api.reset();
  EXPECT_TRUE(q.get());
}

TEST(WriteGate, InternalWriterIsReleasedByLapse) {
  util::FakeClock clock;
  WriteGate gate(clock);
  ASSERT_TRUE(gate.Quiesce(5s, 1s));
  auto f = std::async(std::launch::async, [&] { return gate.EnterInternal().has_value(); });
  std::this_thread::sleep_for(80ms);
  clock.Advance(6s);
  EXPECT_TRUE(f.get());
}

TEST(WriteGate, ShutdownReleasesInternalWriters) {
  util::FakeClock clock;
  WriteGate gate(clock);
  ASSERT_TRUE(gate.Quiesce(60s, 1s));
  auto f = std::async(std::launch::async, [&] { return gate.EnterInternal().has_value(); });
  std::this_thread::sleep_for(50ms);
  gate.Shutdown();
  EXPECT_FALSE(f.get());
}

TEST(WriteGate, HookFailureResumes) {
  util::FakeClock clock;
  WriteGate gate(clock, {[] { return util::Status(util::IoError("disk on fire")); }, nullptr});
  auto r = gate.Quiesce(60s, 1s);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("disk on fire"), std::string::npos);
  EXPECT_FALSE(gate.refusing_writes());
}

}  // namespace
}  // namespace mlvault::runtime
