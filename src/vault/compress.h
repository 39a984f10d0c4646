// zstd compression of blobs, with a cheap test that skips data that will not shrink.
// Thread-safe: each thread keeps its own zstd contexts.
#pragma once

#include "util/bytes.h"
#include "util/error.h"
#include "vault/format.h"

namespace mlvault::vault {

// Compresses `in` at `level` and returns kZstd with `out` viewing the compressed bytes, or
// returns kNone (out = in) when compression would not pay: the sample test says the data is
// incompressible, or the result is not below 97 % of the input. The compressed bytes live in a
// buffer of the calling thread, valid until its next call.
Compression MaybeCompress(ByteView in, int level, ByteView& out);

// Decompresses a zstd frame that must expand to exactly `raw_len` bytes into `out`.
// kCorruption otherwise.
util::Status Decompress(ByteView in, size_t raw_len, Bytes& out);

}  // namespace mlvault::vault
