// The decoder of a recovery point's manifest (docs/vault-format.md section 7), apart from the
// Repository that loads and authenticates it, so that it can be tested and fuzzed on its own.
// Pure; thread-safe.
#pragma once

#include <string_view>

#include "vault/repository.h"

namespace mlvault::vault {

// Parses the (already authenticated) JSON of the manifest named `id`. kCorruption when it is
// malformed, names another id or has an unsupported version.
Result<Manifest> DecodeManifest(std::string_view text, const ObjectId& id);

}  // namespace mlvault::vault
