// The backend conformance suite over every backend this build has.
#include <cstdio>
#include <cstdlib>

#include "backend/conformance.h"
#include "backend/test_support.h"

namespace mlvault::backend {
namespace {

std::unique_ptr<Backend> ReadOnlyOverFixture() {
  std::string root;
  auto writer = testing::TempLocal(&root);
  for (const auto& [name, content] : conformance::ReadOnlyFixture()) {
    if (!writer->Put(name, util::AsBytes(content))) std::abort();
  }
  auto local = OpenLocal(root, false);
  if (!local) std::abort();
  // The read-only view must be destroyed before the directory goes: it owns the writer.
  struct Both : Backend {
    std::unique_ptr<Backend> ro, owner;
    Status Put(std::string_view n, ByteView d) override { return ro->Put(n, d); }
    Result<Bytes> Get(std::string_view n, uint64_t o, uint64_t l) override { return ro->Get(n, o, l); }
    Result<ObjectInfo> Stat(std::string_view n) override { return ro->Stat(n); }
    Result<std::vector<ObjectInfo>> List(std::string_view p) override { return ro->List(p); }
    Status Remove(std::string_view n) override { return ro->Remove(n); }
    std::string Describe() const override { return ro->Describe(); }
    ~Both() override { ro.reset(); }
  };
  auto both = std::make_unique<Both>();
  both->ro = ReadOnly(std::move(*local));
  both->owner = std::move(writer);
  return both;
}

const bool kRegistered = [] {
  conformance::Register("Local", [] { return testing::TempLocal(); });
  conformance::Register("LocalWithRetry", [] { return WithRetry(testing::TempLocal(), {.attempts = 3, .initial_backoff_ms = 1}); });
  conformance::Register("LocalWithNoFaults", [] {
    return WithFaults(testing::TempLocal(), [](std::string_view, std::string_view) { return util::Ok(); });
  });
  conformance::Register("ReadOnlyLocal", ReadOnlyOverFixture, conformance::Mode::kReadOnly);
  return true;
}();

}  // namespace
}  // namespace mlvault::backend
