// Fuzzes the vault's index decoder (docs/vault-format.md); what decodes must round-trip.
#include <cstdint>

#include "vault/format.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace mlvault::vault;
  auto packs = DecodeIndex(mlvault::util::ByteView(data, size));
  if (!packs) return 0;
  auto again = DecodeIndex(EncodeIndex(*packs));
  if (!again || *again != *packs) __builtin_trap();
  return 0;
}
