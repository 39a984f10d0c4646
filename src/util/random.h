// Randomness from the kernel (getrandom), and identifiers built from it.
// Thread-safe. Tests that need determinism inject their own sources at the layer that uses them.
#pragma once

#include <span>
#include <string>

#include "util/bytes.h"

namespace mlvault::util {

// Fills `out` with cryptographically strong random bytes. Aborts if the kernel refuses,
// which does not happen on a working Linux system.
void RandomFill(std::span<uint8_t> out);
Bytes RandomBytes(size_t n);
// `n` random bytes as 2n lowercase hex characters.
std::string RandomHex(size_t n);
// A random (version 4) UUID in its canonical lowercase form.
std::string NewUuid();
// True if `s` is a canonical lowercase UUID (8-4-4-4-12 hex).
bool IsUuid(std::string_view s);

}  // namespace mlvault::util
