#include "backend/test_support.h"

#include <cstdio>
#include <cstdlib>

#include "util/files.h"

namespace mlvault::backend::testing {
namespace {

class DirOwner final : public Backend {
 public:
  DirOwner(std::unique_ptr<Backend> inner, std::string dir) : inner_(std::move(inner)), dir_(std::move(dir)) {}
  ~DirOwner() override {
    inner_.reset();
    (void)util::RemoveAll(dir_);
  }
  Status Put(std::string_view name, ByteView data) override { return inner_->Put(name, data); }
  Result<Bytes> Get(std::string_view name, uint64_t offset, uint64_t length) override {
    return inner_->Get(name, offset, length);
  }
  Result<ObjectInfo> Stat(std::string_view name) override { return inner_->Stat(name); }
  Result<std::vector<ObjectInfo>> List(std::string_view prefix) override { return inner_->List(prefix); }
  Status Remove(std::string_view name) override { return inner_->Remove(name); }
  std::string Describe() const override { return inner_->Describe(); }
  double ListingLagSeconds() const override { return inner_->ListingLagSeconds(); }
  int ConcurrentReads() const override { return inner_->ConcurrentReads(); }

 private:
  std::unique_ptr<Backend> inner_;
  std::string dir_;
};

}  // namespace

std::unique_ptr<Backend> RemovingDirOnDestroy(std::unique_ptr<Backend> inner, std::string dir) {
  return std::make_unique<DirOwner>(std::move(inner), std::move(dir));
}

std::unique_ptr<Backend> TempLocal(std::string* root) {
  auto dir = util::MakeTempDir("mlvault-backend-test-");
  if (!dir) {
    std::fprintf(stderr, "cannot make a temporary directory: %s\n", dir.error().ToString().c_str());
    std::abort();
  }
  auto b = OpenLocal(*dir, false);
  if (!b) {
    std::fprintf(stderr, "cannot open %s: %s\n", dir->c_str(), b.error().ToString().c_str());
    std::abort();
  }
  if (root != nullptr) *root = *dir;
  return RemovingDirOnDestroy(std::move(*b), *dir);
}

}  // namespace mlvault::backend::testing
