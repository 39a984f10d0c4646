#include "vault/vault.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>

#include "backend/backend.h"
#include "crypto/crypto.h"
#include "util/files.h"
#include "util/log.h"
#include "vault/engine.h"
#include "vault/lock.h"
#include "vault/repository.h"
#include "vault/vault_state.h"

namespace mlvault::vault {

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
    auto result = MLV_TRY(RunBackup(repo_.get(), lock.get(), request, progress, cancel));
    // The recovery point exists now; recording it in the signed state is what later lets a
    // removal behind our back be noticed. Failing that is a warning, not a failed backup.
    if (auto id = ParseObjectId(result.id)) {
      if (auto st = VaultState::Append(repo_.get(), VaultState::Op::kAdd, *id); !st)
        result.warnings.push_back("the recovery point is not in the vault's signed state (" +
                                  st.error().message() + ")");
    }
    return result;
  }

  Result<std::vector<RecoveryPointInfo>> List() override {
    std::vector<LoadProblem> damaged;
    auto all = MLV_TRY(repo_->ListManifests(&damaged));
    std::set<ObjectId> pending;  // deleted; only their manifests are left (the next GC)
    if (auto state = VaultState::Load(repo_.get())) {
      std::vector<ObjectId> present;
      for (const auto& m : all) present.push_back(m.id);
      for (const auto& id : state->PendingDeletions(present)) pending.insert(id);
    }
    std::vector<RecoveryPointInfo> out;
    out.reserve(all.size() + damaged.size());
    std::map<std::string, size_t> at;
    for (const auto& m : all) {
      if (pending.contains(m.id)) continue;
      at[IdHex(m.id)] = out.size();
      out.push_back(InfoOf(m));
    }
    for (const auto& d : damaged) {
      RecoveryPointInfo i;
      if (auto id = IdFromName(d.object, "points/")) i.id = IdHex(*id);
      i.problem = "damaged manifest: " + d.problem;
      out.push_back(std::move(i));
    }
    for (auto& p : StateProblems(all, damaged)) {
      auto it = at.find(p.point);
      if (!p.point.empty() && it != at.end()) {
        out[it->second].problem = p.problem;
      } else {
        RecoveryPointInfo i;
        i.id = p.point;
        i.problem = p.problem;
        out.push_back(std::move(i));
      }
    }
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

  Status ForEachEntry(const std::string& id, const std::function<Status(const EntryInfo&)>& visit,
                      const util::CancelToken* cancel) override {
    auto oid = MLV_TRY(repo_->ResolvePoint(id));
    auto lock = MLV_TRY(Lock(false, "browse", cancel));
    auto m = MLV_TRY(repo_->LoadManifest(oid));
    return RunForEachEntry(repo_.get(), m, visit, cancel);
  }

  Status ReadFile(const std::string& id, const std::string& path,
                  const std::function<Status(util::ByteView)>& sink,
                  const util::CancelToken* cancel) override {
    auto oid = MLV_TRY(repo_->ResolvePoint(id));
    auto lock = MLV_TRY(Lock(false, "browse", cancel));
    auto m = MLV_TRY(repo_->LoadManifest(oid));
    return RunReadFile(repo_.get(), m, path, sink, cancel);
  }

  Result<VerifyReport> Verify(const std::optional<std::string>& id, bool read_data,
                              util::ProgressSink* progress,
                              const util::CancelToken* cancel) override {
    std::optional<std::string> full;
    if (id) full = IdHex(MLV_TRY(repo_->ResolvePoint(*id)));
    auto lock = MLV_TRY(Lock(false, "verify", cancel));
    auto report = MLV_TRY(RunVerify(repo_.get(), full, read_data, progress, cancel));
    std::vector<LoadProblem> damaged;
    auto all = MLV_TRY(repo_->ListManifests(&damaged));
    for (auto& p : StateProblems(all, damaged)) {
      if (full && !p.point.empty() && p.point != *full) continue;
      Damage d;
      d.object = p.object;
      d.problem = p.problem;
      if (!p.point.empty()) d.affected.push_back(p.point);
      report.damaged.push_back(std::move(d));
      report.ok = false;
    }
    return report;
  }

  Status Delete(const std::string& id) override {
    auto oid = MLV_TRY(repo_->ResolvePoint(id));
    auto lock = MLV_TRY(Lock(false, "delete", nullptr));
    MLV_TRY(repo_->LoadManifest(oid));  // kNotFound if it went meanwhile
    // Recorded first: from here on the point is deleted, whatever happens to this process.
    MLV_TRY_CTX(VaultState::Append(repo_.get(), VaultState::Op::kRemove, oid),
                "cannot record the deletion in the vault state");
    auto st = RemoveDeletedManifest(oid);
    if (!st && st.error().code() == util::ErrorCode::kConflict) {
      // Retained by S3 Object Lock (a governance lock bypassed): the point is deleted all the
      // same; its manifest stays until the retention ends and a later delete or GC removes it.
      util::Log(util::LogLevel::kInfo,
                "vault: recovery point {} is deleted but its manifest stays: {}", IdHex(oid),
                st.error().message());
      return util::Ok();
    }
    return st;
  }

  Result<bool> SupportsRetention() override { return repo_->backend()->SupportsRetention(); }

  Result<uint64_t> Retain(const std::string& id, std::string_view mode, int64_t until_unix,
                          const util::CancelToken* cancel) override {
    auto oid = MLV_TRY(repo_->ResolvePoint(id));
    auto lock = MLV_TRY(Lock(false, "retain", cancel));
    auto m = MLV_TRY(repo_->LoadManifest(oid));
    return RunRetain(repo_.get(), m, mode, until_unix, cancel);
  }

  Result<GcStats> Gc(util::ProgressSink* progress, const util::CancelToken* cancel) override {
    auto lock = MLV_TRY(Lock(true, "gc", cancel));
    // Deletions interrupted after their record first: their manifests are no roots any more.
    std::vector<std::string> retained;
    uint64_t finished = MLV_TRY(FinishInterruptedDeletions(&retained));
    auto stats = MLV_TRY(RunGc(repo_.get(), lock.get(), progress, cancel));
    stats.leftovers_removed += finished;
    stats.points_retained = retained.size();
    retained.insert(retained.end(), stats.notes.begin(), stats.notes.end());
    stats.notes = std::move(retained);
    return stats;
  }

 private:
  // Removes the manifest of a point whose deletion is recorded, then records the removal as
  // done (which is what later tells a manifest copied back, a rollback, from this deletion
  // interrupted). A failure to write that record is harmless: the point stays deleted.
  Status RemoveDeletedManifest(const ObjectId& oid) {
    if (auto st = RemoveRetrying(repo_->backend(), PointName(oid)); !st) {
      if (st.error().code() == util::ErrorCode::kConflict) return st;  // retained (S3 Object Lock)
      return std::unexpected(st.error().WithContext(
          "recovery point " + IdHex(oid) +
          " is deleted, but its manifest could not be removed (the next delete or GC of this "
          "vault removes it)"));
    }
    if (auto st = VaultState::Append(repo_.get(), VaultState::Op::kRemoved, oid); !st)
      util::Log(util::LogLevel::kWarn, "vault state: cannot record that {} was removed: {}",
                IdHex(oid), st.error().message());
    return util::Ok();
  }

  // Under the exclusive lock: removes the manifests of deletions that were recorded but
  // interrupted before the manifest went (a failed write, a killed process). Returns how many.
  // A state that cannot be read is left to verify to report; nothing is removed then.
  // Manifests S3 Object Lock retains stay (a note each in `retained`, if given).
  Result<uint64_t> FinishInterruptedDeletions(std::vector<std::string>* retained = nullptr) {
    auto state = VaultState::Load(repo_.get());
    if (!state) return 0;
    auto objects =
        MLV_TRY_CTX(repo_->backend()->List("points/"), "cannot list recovery points");
    std::vector<ObjectId> present;
    for (const auto& o : objects)
      if (auto id = IdFromName(o.name, "points/")) present.push_back(*id);
    uint64_t n = 0;
    for (const auto& id : state->PendingDeletions(present)) {
      auto st = RemoveDeletedManifest(id);
      if (!st && st.error().code() == util::ErrorCode::kConflict) {
        if (retained != nullptr)
          retained->push_back("recovery point " + IdHex(id) +
                              " is deleted but its manifest stays: " + st.error().message());
        continue;
      }
      MLV_TRY(std::move(st));
      ++n;
    }
    return n;
  }

  // What the signed state says about the manifests present (readable or not), plus this
  // client's memory of it. A state that cannot be read is itself a problem, not an error.
  std::vector<StateProblem> StateProblems(const std::vector<Manifest>& all,
                                          const std::vector<LoadProblem>& damaged) {
    auto state = VaultState::Load(repo_.get());
    if (!state) return {StateProblem{"state/", "", state.error().message()}};
    std::vector<ObjectId> present;
    for (const auto& m : all) present.push_back(m.id);
    for (const auto& d : damaged)
      if (auto id = IdFromName(d.object, "points/")) present.push_back(*id);
    auto out = state->Check(present);
    auto cached = state->CheckClientCache(repo_->options().state_cache_dir, id());
    out.insert(out.end(), cached.begin(), cached.end());
    return out;
  }

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
