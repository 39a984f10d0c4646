// Fuzzes the vault key file reader and the config object opener: input = a selector byte, then
// either a key file's bytes (selector even) or a config JSON opened with a fixed key file.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "vault/keys.h"

namespace {
// One temporary file for the whole run, removed when the fuzzer exits.
std::string WriteTemp(std::string_view bytes) {
  static const std::string path = [] {
    char name[] = "/tmp/mlvault-fuzz-key-XXXXXX";
    int fd = mkstemp(name);
    if (fd >= 0) close(fd);
    static std::string remove_at_exit;
    remove_at_exit = name;
    std::atexit([] { std::remove(remove_at_exit.c_str()); });
    return std::string(name);
  }();
  FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) __builtin_trap();
  std::fwrite(bytes.data(), 1, bytes.size(), f);
  std::fclose(f);
  return path;
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlvault::vault;
  if (size < 1) return 0;
  std::string_view rest(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] % 2 == 0) {
    auto key = ReadKeyFile(WriteTemp(rest));
    (void)key;
  } else {
    std::string key_file =
        WriteTemp("0101010101010101010101010101010101010101010101010101010101010101\n");
    auto opened = OpenConfig(rest, KeySource::FromKeyFile(key_file));
    (void)opened;
  }
  return 0;
}
