#include "backend/s3_test_support.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "util/files.h"
#include "util/random.h"

namespace mlvault::backend::testing {
namespace {

class PrefixOwner final : public Backend {
 public:
  explicit PrefixOwner(std::unique_ptr<S3Backend> inner) : inner_(std::move(inner)) {}
  ~PrefixOwner() override {
    if (auto st = inner_->RemoveAll(); !st)
      std::fprintf(stderr, "cleanup: %s\n", st.error().ToString().c_str());
  }
  Status Put(std::string_view n, ByteView d) override { return inner_->Put(n, d); }
  Result<Bytes> Get(std::string_view n, uint64_t o, uint64_t l) override {
    return inner_->Get(n, o, l);
  }
  Result<ObjectInfo> Stat(std::string_view n) override { return inner_->Stat(n); }
  Result<std::vector<ObjectInfo>> List(std::string_view p) override { return inner_->List(p); }
  Status Remove(std::string_view n) override { return inner_->Remove(n); }
  std::string Describe() const override { return inner_->Describe(); }
  double ListingLagSeconds() const override { return inner_->ListingLagSeconds(); }
  int ConcurrentReads() const override { return inner_->ConcurrentReads(); }

 private:
  std::unique_ptr<S3Backend> inner_;
};

void Skip() { GTEST_SKIP() << "no RGW configured (MLVAULT_TEST_RGW_ENV)"; }

}  // namespace

std::optional<S3Config> RgwConfig() {
  const char* path = std::getenv("MLVAULT_TEST_RGW_ENV");
  if (path == nullptr || *path == '\0') return std::nullopt;
  auto text = util::ReadFile(path);
  if (!text) {
    std::fprintf(stderr, "MLVAULT_TEST_RGW_ENV=%s: %s\n", path, text.error().ToString().c_str());
    std::abort();
  }
  S3Config c;
  size_t pos = 0;
  while (pos < text->size()) {
    size_t end = text->find('\n', pos);
    if (end == std::string::npos) end = text->size();
    std::string line = text->substr(pos, end - pos);
    pos = end + 1;
    size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string k = line.substr(0, eq), v = line.substr(eq + 1);
    if (k == "S3_ENDPOINT") c.endpoint = v;
    if (k == "S3_ACCESS_KEY") c.access_key = v;
    if (k == "S3_SECRET_KEY") c.secret_key = v;
    if (k == "S3_REGION") c.region = v;
  }
  if (c.endpoint.empty() || c.access_key.empty() || c.secret_key.empty()) {
    std::fprintf(stderr, "MLVAULT_TEST_RGW_ENV=%s lacks S3_ENDPOINT / keys\n", path);
    std::abort();
  }
  return c;
}

bool RgwAvailable() { return RgwConfig().has_value(); }

std::unique_ptr<Backend> TempS3(S3Config* config_out) {
  auto c = RgwConfig();
  if (!c) {
    Skip();
    return nullptr;
  }
  c->bucket = "mlvault-test";
  c->prefix = "t-" + util::RandomHex(8);
  if (config_out != nullptr) *config_out = *c;
  auto b = S3Backend::Open(*c, /*create_bucket=*/true);
  if (!b) {
    ADD_FAILURE() << "cannot open the test bucket: " << b.error().ToString();
    return nullptr;
  }
  return std::make_unique<PrefixOwner>(std::move(*b));
}

}  // namespace mlvault::backend::testing
