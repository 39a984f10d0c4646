// Fuzzes the vault's pack header decoder (docs/vault-format.md): input = 8-byte little-endian
// data size, then the decrypted header bytes. Anything that decodes must re-encode to the same
// bytes (the encoding is canonical).
#include <cstdint>
#include <cstring>

#include "vault/format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlvault::vault;
  if (size < 8) return 0;
  uint64_t data_size = 0;
  std::memcpy(&data_size, data, 8);
  mlvault::util::ByteView plain(data + 8, size - 8);
  auto blobs = DecodePackHeader(plain, data_size);
  if (!blobs) return 0;
  auto again = EncodePackHeader(*blobs);
  if (again.size() != plain.size() || !std::equal(again.begin(), again.end(), plain.begin()))
    __builtin_trap();
  return 0;
}
