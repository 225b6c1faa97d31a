// SPDX-License-Identifier: MIT
// Portable BLAKE3 written from the specification (compression function, chunk chaining,
// binary tree of chaining values). Checked against the official vectors in
// tests/vectors/blake3.txt. Only the 32-byte default output is produced.
#include "svcdht/blake3.h"

#include <algorithm>
#include <cstring>

namespace svcdht::core {

namespace {

constexpr std::array<uint32_t, 8> IV = {0x6A09E667, 0xBB67AE85, 0x3C6EF372, 0xA54FF53A,
                                        0x510E527F, 0x9B05688C, 0x1F83D9AB, 0x5BE0CD19};
constexpr std::array<uint8_t, 16> PERMUTATION = {2, 6,  3,  10, 7, 0,  4,  13,
                                                 1, 11, 12, 5,  9, 14, 15, 8};

constexpr uint32_t CHUNK_START = 1u << 0;
constexpr uint32_t CHUNK_END = 1u << 1;
constexpr uint32_t PARENT = 1u << 2;
constexpr uint32_t ROOT = 1u << 3;
constexpr uint32_t KEYED_HASH = 1u << 4;

inline uint32_t rotr(uint32_t x, int n) {
    return (x >> n) | (x << (32 - n));
}

inline void g(uint32_t* s, int a, int b, int c, int d, uint32_t mx, uint32_t my) {
    s[a] = s[a] + s[b] + mx;
    s[d] = rotr(s[d] ^ s[a], 16);
    s[c] = s[c] + s[d];
    s[b] = rotr(s[b] ^ s[c], 12);
    s[a] = s[a] + s[b] + my;
    s[d] = rotr(s[d] ^ s[a], 8);
    s[c] = s[c] + s[d];
    s[b] = rotr(s[b] ^ s[c], 7);
}

inline void round_fn(uint32_t* s, const uint32_t* m) {
    g(s, 0, 4, 8, 12, m[0], m[1]);
    g(s, 1, 5, 9, 13, m[2], m[3]);
    g(s, 2, 6, 10, 14, m[4], m[5]);
    g(s, 3, 7, 11, 15, m[6], m[7]);
    g(s, 0, 5, 10, 15, m[8], m[9]);
    g(s, 1, 6, 11, 12, m[10], m[11]);
    g(s, 2, 7, 8, 13, m[12], m[13]);
    g(s, 3, 4, 9, 14, m[14], m[15]);
}

inline uint32_t load_le32(const uint8_t* p) {
    return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24);
}

// compress runs the 7-round compression function and returns the new chaining value
// (the first 8 words of the output state; the root output uses the same words).
std::array<uint32_t, 8> compress(const std::array<uint32_t, 8>& cv, const uint8_t* block,
                                 uint64_t counter, uint32_t block_len, uint32_t flags) {
    uint32_t m[16];
    for (int i = 0; i < 16; ++i) m[i] = load_le32(block + 4 * i);
    uint32_t s[16] = {cv[0],
                      cv[1],
                      cv[2],
                      cv[3],
                      cv[4],
                      cv[5],
                      cv[6],
                      cv[7],
                      IV[0],
                      IV[1],
                      IV[2],
                      IV[3],
                      static_cast<uint32_t>(counter),
                      static_cast<uint32_t>(counter >> 32),
                      block_len,
                      flags};
    for (int r = 0; r < 7; ++r) {
        round_fn(s, m);
        if (r < 6) {
            uint32_t p[16];
            for (int i = 0; i < 16; ++i) p[i] = m[PERMUTATION[static_cast<size_t>(i)]];
            std::memcpy(m, p, sizeof m);
        }
    }
    std::array<uint32_t, 8> out;
    for (size_t i = 0; i < 8; ++i) out[i] = s[i] ^ s[i + 8];
    return out;
}

std::array<uint32_t, 8> parent_cv(const std::array<uint32_t, 8>& left,
                                  const std::array<uint32_t, 8>& right,
                                  const std::array<uint32_t, 8>& key, uint32_t flags,
                                  uint32_t extra_flags) {
    uint8_t block[BLAKE3_BLOCK_LEN];
    for (size_t i = 0; i < 8; ++i) {
        for (size_t j = 0; j < 4; ++j) {
            block[4 * i + j] = static_cast<uint8_t>(left[i] >> (8 * j));
            block[32 + 4 * i + j] = static_cast<uint8_t>(right[i] >> (8 * j));
        }
    }
    return compress(key, block, 0, BLAKE3_BLOCK_LEN, flags | PARENT | extra_flags);
}

}  // namespace

Blake3::Blake3() {
    init(IV, 0);
}

Blake3::Blake3(const std::array<uint8_t, BLAKE3_KEY_LEN>& key) {
    std::array<uint32_t, 8> k;
    for (size_t i = 0; i < 8; ++i) k[i] = load_le32(key.data() + 4 * i);
    init(k, KEYED_HASH);
}

void Blake3::init(const std::array<uint32_t, 8>& key, uint32_t flags) {
    key_ = key;
    flags_ = flags;
    stack_len_ = 0;
    reset_chunk(0);
}

void Blake3::reset_chunk(uint64_t counter) {
    chunk_.cv = key_;
    chunk_.counter = counter;
    chunk_.block.fill(0);
    chunk_.block_len = 0;
    chunk_.blocks_compressed = 0;
    chunk_.flags = flags_;
}

void Blake3::push_chunk_cv(std::array<uint32_t, 8> cv, uint64_t total_chunks) {
    // Merge completed subtrees: every trailing zero bit of the chunk count closes one.
    while ((total_chunks & 1) == 0) {
        --stack_len_;
        cv = parent_cv(stack_[stack_len_], cv, key_, flags_, 0);
        total_chunks >>= 1;
    }
    stack_[stack_len_++] = cv;
}

void Blake3::update(ByteView in) {
    const uint8_t* p = in.data();
    size_t n = in.size();
    while (n > 0) {
        if (chunk_.len() == BLAKE3_CHUNK_LEN) {
            // The chunk is complete and more input follows, so it is not the root.
            const uint32_t start = chunk_.blocks_compressed == 0 ? CHUNK_START : 0;
            const auto cv = compress(chunk_.cv, chunk_.block.data(), chunk_.counter,
                                     chunk_.block_len, chunk_.flags | start | CHUNK_END);
            const uint64_t total = chunk_.counter + 1;
            push_chunk_cv(cv, total);
            reset_chunk(total);
        }
        if (chunk_.block_len == BLAKE3_BLOCK_LEN) {
            const uint32_t start = chunk_.blocks_compressed == 0 ? CHUNK_START : 0;
            chunk_.cv = compress(chunk_.cv, chunk_.block.data(), chunk_.counter, BLAKE3_BLOCK_LEN,
                                 chunk_.flags | start);
            ++chunk_.blocks_compressed;
            chunk_.block.fill(0);
            chunk_.block_len = 0;
        }
        const size_t take = std::min(n, BLAKE3_BLOCK_LEN - chunk_.block_len);
        std::memcpy(chunk_.block.data() + chunk_.block_len, p, take);
        chunk_.block_len = static_cast<uint8_t>(chunk_.block_len + take);
        p += take;
        n -= take;
    }
}

std::array<uint8_t, BLAKE3_OUT_LEN> Blake3::finalize() const {
    const uint32_t start = chunk_.blocks_compressed == 0 ? CHUNK_START : 0;
    std::array<uint32_t, 8> out_cv;
    if (stack_len_ == 0) {
        // A single chunk: its last block is the root.
        out_cv = compress(chunk_.cv, chunk_.block.data(), chunk_.counter, chunk_.block_len,
                          chunk_.flags | start | CHUNK_END | ROOT);
    } else {
        std::array<uint32_t, 8> cv = compress(chunk_.cv, chunk_.block.data(), chunk_.counter,
                                              chunk_.block_len, chunk_.flags | start | CHUNK_END);
        size_t remaining = stack_len_;
        while (remaining > 1) {
            --remaining;
            cv = parent_cv(stack_[remaining], cv, key_, flags_, 0);
        }
        out_cv = parent_cv(stack_[0], cv, key_, flags_, ROOT);
    }
    std::array<uint8_t, BLAKE3_OUT_LEN> out;
    for (size_t i = 0; i < 8; ++i)
        for (size_t j = 0; j < 4; ++j) out[4 * i + j] = static_cast<uint8_t>(out_cv[i] >> (8 * j));
    return out;
}

std::array<uint8_t, BLAKE3_OUT_LEN> blake3(ByteView in) {
    Blake3 h;
    h.update(in);
    return h.finalize();
}

std::array<uint8_t, BLAKE3_OUT_LEN> blake3_keyed(const std::array<uint8_t, BLAKE3_KEY_LEN>& key,
                                                 ByteView in) {
    Blake3 h(key);
    h.update(in);
    return h.finalize();
}

}  // namespace svcdht::core
