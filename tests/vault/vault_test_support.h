// Helpers for the vault integration and crash tests: temporary directories, a source tree with
// every kind of entry, and an exact comparison of two trees (content, metadata, hard links,
// sparseness).
#pragma once

#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "util/bytes.h"
#include "vault/vault.h"

namespace mlvault::vault::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& rel) const { return path_ + "/" + rel; }

 private:
  std::string path_;
};

// Writes `data` to `path` (parents created), then sets mode and mtime (ns precision).
void WriteFile(const std::string& path, std::string_view data, mode_t mode = 0644,
               int64_t mtime_sec = 1700000000, long mtime_nsec = 123456789);
std::string ReadAll(const std::string& path);
// True if both files hold the same bytes (compared in blocks, without reading them whole).
bool SameContent(const std::string& a, const std::string& b);
// Deterministic pseudo-random bytes (incompressible).
std::string RandomBytes(size_t n, uint32_t seed);
// Deterministic compressible text.
std::string Text(size_t n, uint32_t seed);
void SetMtime(const std::string& path, int64_t sec, long nsec, bool nofollow = false);

// Builds under `root` a tree with every kind of entry the vault records (and a socket, which
// it must skip with a warning). Ownership and device nodes only when running as root.
void MakeEverythingTree(const std::string& root);

// Every difference between two trees ("path: what"), empty when they are equal. Compares type,
// permissions, owner (when `owners`), size, mtime (ns), content, symlink targets, hard-link
// groups, and that the copy is no less sparse than the original (allocated blocks).
std::vector<std::string> CompareTrees(const std::string& a, const std::string& b, bool owners);

// A vault over a fresh directory with a fresh key file.
struct TestVault {
  std::string dir;
  std::string key_file;
  std::unique_ptr<Vault> vault;
};
TestVault MakeVault(const TempDir& tmp, const Options& options = {});
std::unique_ptr<Vault> ReopenVault(const TestVault& v, const Options& options = {});

// Files below `dir` (relative paths), recursively, sorted.
std::vector<std::string> ListFiles(const std::string& dir);

}  // namespace mlvault::vault::testing
