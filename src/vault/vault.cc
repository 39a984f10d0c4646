#include "vault/vault.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backend/backend.h"
#include "crypto/crypto.h"
#include "util/files.h"
#include "vault/engine.h"
#include "vault/lock.h"
#include "vault/repository.h"

namespace mlvault::vault {

const char* VolumeKindName(VolumeKind kind) {
  return kind == VolumeKind::kBlock ? "block" : "filesystem";
}

Result<VolumeKind> ParseVolumeKind(const std::string& name) {
  if (name == "filesystem") return VolumeKind::kFilesystem;
  if (name == "block") return VolumeKind::kBlock;
  return util::InvalidArgument("volume kind must be \"filesystem\" or \"block\", not \"" + name +
                               "\"");
}

Status WriteNewKeyFile(const std::string& path) {
  crypto::Key key = crypto::Key::Random();
  std::string text = util::ToHex(key.view()) + "\n";
  util::UniqueFd fd(
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.valid()) {
    if (errno == EEXIST)
      return util::Conflict("key file " + path + " exists already; not overwriting it");
    return util::ErrnoError("cannot create key file " + path, errno);
  }
  MLV_TRY(util::WriteAll(fd.get(), util::AsBytes(text), path));
  if (::fsync(fd.get()) != 0) return util::ErrnoError("cannot fsync " + path, errno);
  return util::Ok();
}

namespace {

class VaultImpl final : public Vault {
 public:
  explicit VaultImpl(std::unique_ptr<Repository> repo) : repo_(std::move(repo)) {}

  std::string id() const override { return IdHex(repo_->config().id); }

  Result<BackupResult> Backup(const BackupRequest& request, util::ProgressSink* progress,
                              const util::CancelToken* cancel) override {
    if (request.source.empty()) return util::InvalidArgument("backup source is empty");
    // The manifest records these as JSON strings: refuse what it cannot hold before any work.
    if (!IsUtf8(request.source)) {
      return util::InvalidArgument("backup source path must be UTF-8: " +
                                   PrintablePath(request.source));
    }
    for (const auto& [k, v] : request.labels) {
      if (k.empty() || !IsUtf8(k) || !IsUtf8(v)) {
        return util::InvalidArgument("labels must be non-empty UTF-8 keys with UTF-8 values: " +
                                     PrintablePath(k));
      }
    }
    auto lock = MLV_TRY(Lock(false, "backup", cancel));
    return RunBackup(repo_.get(), lock.get(), request, progress, cancel);
  }

  Result<std::vector<RecoveryPointInfo>> List() override {
    auto all = MLV_TRY(repo_->ListManifests(nullptr));
    std::vector<RecoveryPointInfo> out;
    out.reserve(all.size());
    for (const auto& m : all) out.push_back(InfoOf(m));
    return out;
  }

  Result<RecoveryPointInfo> Get(const std::string& id) override {
    auto oid = MLV_TRY(repo_->ResolvePoint(id));
    auto m = MLV_TRY(repo_->LoadManifest(oid));
    return InfoOf(m);
  }

  Result<RestoreStats> Restore(const std::string& id, const std::string& target,
                               const RestoreOptions& options, util::ProgressSink* progress,
                               const util::CancelToken* cancel) override {
    if (target.empty()) return util::InvalidArgument("restore target is empty");
    auto oid = MLV_TRY(repo_->ResolvePoint(id));
    auto lock = MLV_TRY(Lock(false, "restore", cancel));
    auto m = MLV_TRY(repo_->LoadManifest(oid));
    return RunRestore(repo_.get(), m, target, options, progress, cancel);
  }

  Result<VerifyReport> Verify(const std::optional<std::string>& id, bool read_data,
                              util::ProgressSink* progress,
                              const util::CancelToken* cancel) override {
    std::optional<std::string> full;
    if (id) full = IdHex(MLV_TRY(repo_->ResolvePoint(*id)));
    auto lock = MLV_TRY(Lock(false, "verify", cancel));
    return RunVerify(repo_.get(), full, read_data, progress, cancel);
  }

  Status Delete(const std::string& id) override {
    auto oid = MLV_TRY(repo_->ResolvePoint(id));
    auto lock = MLV_TRY(Lock(false, "delete", nullptr));
    MLV_TRY(repo_->LoadManifest(oid));  // kNotFound if it went meanwhile
    return repo_->backend()->Remove(PointName(oid));
  }

  Result<GcStats> Gc(util::ProgressSink* progress, const util::CancelToken* cancel) override {
    auto lock = MLV_TRY(Lock(true, "gc", cancel));
    return RunGc(repo_.get(), lock.get(), progress, cancel);
  }

 private:
  Result<std::unique_ptr<VaultLock>> Lock(bool exclusive, const char* op,
                                          const util::CancelToken* cancel) {
    return VaultLock::Acquire(repo_->backend(), repo_->keys().encrypt, exclusive, op,
                              repo_->options(), cancel);
  }

  const std::unique_ptr<Repository> repo_;
};

Status CheckOptions(const Options& o) {
  if (o.compression_level < 1 || o.compression_level > 19) {
    return util::InvalidArgument("compression level must be 1..19");
  }
  if (o.pack_target_size < (64u << 10) || o.pack_target_size > (512ull << 20)) {
    return util::InvalidArgument("pack target size must be 64 KiB..512 MiB");
  }
  if (o.lock_stale_seconds <= 0 || o.lock_wait_seconds < 0 || o.clock == nullptr) {
    return util::InvalidArgument("bad lock timing options");
  }
  return util::Ok();
}

}  // namespace

Result<std::unique_ptr<Vault>> Vault::Init(std::unique_ptr<backend::Backend> backend,
                                           const KeySource& key, const InitOptions& init,
                                           const Options& options) {
  MLV_TRY(CheckOptions(options));
  if (!backend) return util::InvalidArgument("no backend");
  auto repo = MLV_TRY(Repository::Init(std::move(backend), key, init, options));
  return std::unique_ptr<Vault>(new VaultImpl(std::move(repo)));
}

Result<std::unique_ptr<Vault>> Vault::Open(std::unique_ptr<backend::Backend> backend,
                                           const KeySource& key, const Options& options) {
  MLV_TRY(CheckOptions(options));
  if (!backend) return util::InvalidArgument("no backend");
  auto repo = MLV_TRY(Repository::Open(std::move(backend), key, options));
  return std::unique_ptr<Vault>(new VaultImpl(std::move(repo)));
}

}  // namespace mlvault::vault
