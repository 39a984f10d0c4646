#include "control/workspace_keys.h"

#include <fcntl.h>
#include <unistd.h>

#include <map>

#include "crypto/crypto.h"
#include "util/bytes.h"
#include "util/files.h"
#include "util/mutex.h"

namespace mlvault::control {
namespace {

constexpr std::string_view kPrefix = "sealed:v1:";
constexpr std::string_view kAad = "mlvault workspace key v1";

util::Mutex g_mu;
std::map<std::string, crypto::Key> g_by_id MLV_GUARDED_BY(g_mu);    // secret id -> secret
std::map<std::string, std::string> g_by_home MLV_GUARDED_BY(g_mu);  // home -> secret id

std::string SecretId(const crypto::Key& k) {
  auto d = crypto::Sha256(k.view());
  return util::ToHex(util::ByteView(d.data(), 8));
}

util::Result<std::string> LoadLocked(const std::string& home) MLV_REQUIRES(g_mu) {
  if (auto it = g_by_home.find(home); it != g_by_home.end()) return it->second;
  const std::string path = home + "/catalog.key";
  auto text = util::ReadFile(path);
  if (!text && text.error().code() == util::ErrorCode::kNotFound) {
    crypto::Key fresh = crypto::Key::Random();
    std::string hex = util::ToHex(fresh.view()) + "\n";
    // O_EXCL: two processes starting together keep whichever secret was written first.
    util::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (fd.valid()) {
      MLV_TRY(util::WriteAll(fd.get(), util::AsBytes(hex), path));
      if (::fsync(fd.get()) != 0) return util::ErrnoError("cannot fsync " + path, errno);
    } else if (errno != EEXIST) {
      return util::ErrnoError("cannot create the catalog secret " + path, errno);
    }
    text = util::ReadFile(path);
  }
  if (!text) return std::unexpected(text.error().WithContext("the catalog secret"));
  std::string hex = *text;
  while (!hex.empty() && (hex.back() == '\n' || hex.back() == ' ')) hex.pop_back();
  auto bytes = util::FromHex(hex);
  if (!bytes || bytes->size() != crypto::kKeySize)
    return util::Corruption(path + " is not a catalog secret (64 hex digits); restore it from " +
                            "your backup of $MLVAULT_HOME, or the workspace keys cannot be read");
  crypto::Key key = MLV_TRY(crypto::Key::FromBytes(*bytes));
  std::string id = SecretId(key);
  g_by_id[id] = key;
  g_by_home[home] = id;
  return id;
}

}  // namespace

util::Status LoadCatalogSecret(const std::string& home) {
  util::MutexLock lock(g_mu);
  MLV_TRY(LoadLocked(home));
  return util::Ok();
}

util::Result<std::string> SealWorkspaceKey(const std::string& home, std::string_view key) {
  util::MutexLock lock(g_mu);
  std::string id = MLV_TRY(LoadLocked(home));
  util::Bytes sealed = crypto::Seal(g_by_id.at(id), util::AsBytes(key), util::AsBytes(kAad));
  return std::string(kPrefix) + id + ":" + util::ToHex(sealed);
}

util::Result<std::string> OpenWorkspaceKey(std::string_view stored) {
  if (!stored.starts_with(kPrefix)) return std::string(stored);  // written by an earlier version
  std::string_view rest = stored.substr(kPrefix.size());
  size_t colon = rest.find(':');
  if (colon == std::string_view::npos)
    return util::Corruption("a sealed workspace key is malformed");
  std::string id(rest.substr(0, colon));
  auto bytes = util::FromHex(rest.substr(colon + 1));
  if (!bytes) return util::Corruption("a sealed workspace key is malformed");
  crypto::Key key;
  {
    util::MutexLock lock(g_mu);
    auto it = g_by_id.find(id);
    if (it == g_by_id.end())
      return util::PermissionDenied(
          "the workspace key is sealed under catalog secret " + id +
          ", which this process has not loaded (is $MLVAULT_HOME/catalog.key the one of this "
          "catalog?)");
    key = it->second;
  }
  util::Bytes plain = MLV_TRY(crypto::Open(key, *bytes, util::AsBytes(kAad)));
  return std::string(util::AsString(plain));
}

}  // namespace mlvault::control
