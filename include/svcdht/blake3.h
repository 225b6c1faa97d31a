// SPDX-License-Identifier: MIT
// BLAKE3, the portable algorithm (no SIMD), with the default 32-byte output. It hashes
// content ids (key = BLAKE3(value)) and public keys (NodeId = BLAKE3(pk)). Incremental,
// no allocation; the hasher is ~2 KiB because of its chaining-value stack.
#pragma once

#include <array>
#include <cstdint>

#include "svcdht/bytes.h"

namespace svcdht::core {

inline constexpr size_t BLAKE3_OUT_LEN = 32;
inline constexpr size_t BLAKE3_KEY_LEN = 32;
inline constexpr size_t BLAKE3_BLOCK_LEN = 64;
inline constexpr size_t BLAKE3_CHUNK_LEN = 1024;

class Blake3 {
public:
    Blake3();                                                         // plain hash mode
    explicit Blake3(const std::array<uint8_t, BLAKE3_KEY_LEN>& key);  // keyed hash mode

    void update(ByteView in);
    // finalize writes the 32-byte digest; the hasher may keep being updated afterwards
    // (finalize does not change its state).
    std::array<uint8_t, BLAKE3_OUT_LEN> finalize() const;

private:
    struct Chunk {
        std::array<uint32_t, 8> cv;
        uint64_t counter;
        std::array<uint8_t, BLAKE3_BLOCK_LEN> block;
        uint8_t block_len;
        uint8_t blocks_compressed;
        uint32_t flags;
        size_t len() const { return BLAKE3_BLOCK_LEN * blocks_compressed + block_len; }
    };
    void init(const std::array<uint32_t, 8>& key, uint32_t flags);
    void reset_chunk(uint64_t counter);
    void push_chunk_cv(std::array<uint32_t, 8> cv, uint64_t total_chunks);

    std::array<uint32_t, 8> key_;
    uint32_t flags_;
    Chunk chunk_;
    // 54 levels cover 2^54 chunks (2^64 bytes), the most BLAKE3 defines.
    std::array<std::array<uint32_t, 8>, 54> stack_;
    uint8_t stack_len_;
};

std::array<uint8_t, BLAKE3_OUT_LEN> blake3(ByteView in);
std::array<uint8_t, BLAKE3_OUT_LEN> blake3_keyed(const std::array<uint8_t, BLAKE3_KEY_LEN>& key,
                                                 ByteView in);

}  // namespace svcdht::core
