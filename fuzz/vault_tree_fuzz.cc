// Fuzzes the vault's tree decoder (docs/vault-format.md); what decodes must round-trip
// (an older version's tree comes back as the current version with the same entries).
#include <cstdint>

#include "vault/format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlvault::vault;
  auto tree = DecodeTree(mlvault::util::ByteView(data, size));
  if (!tree) return 0;
  auto again = DecodeTree(EncodeTree(*tree));
  // EncodeTree writes the current version: an older tree must come back with the same entries.
  tree->version = kTreeVersion;
  if (!again || *again != *tree) __builtin_trap();
  return 0;
}
