// Fuzzes the recovery-point manifest decoder (the JSON inside a sealed points/<id> object).
#include <cstdint>
#include <string_view>

#include "vault/manifest_codec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlvault::vault;
  // The id the seeds use: 16 bytes of 0x01.
  ObjectId id{};
  id.fill(1);
  auto m = DecodeManifest(std::string_view(reinterpret_cast<const char*>(data), size), id);
  (void)m;  // any answer is fine; the sanitizers judge the path
  return 0;
}
