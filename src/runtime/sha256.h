// SHA-256 of byte streams and files (OpenSSL), as lowercase hex.
// Sha256 is a single-use, single-threaded accumulator; the free functions are thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "util/error.h"

namespace mlvault::runtime {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view data);
  // Lowercase hex digest; the accumulator may not be used afterwards.
  std::string Finish();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

std::string Sha256Hex(std::string_view data);
// Hash of everything readable from `fd` from its current offset. kIo on a read error.
util::Result<std::string> Sha256Fd(int fd, std::string_view path_for_errors);

}  // namespace mlvault::runtime
