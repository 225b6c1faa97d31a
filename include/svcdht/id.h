// SPDX-License-Identifier: MIT
// 256-bit node ids and keys: XOR distance, common-prefix length, ordering by distance
// to a target, and the two text forms (64 lowercase hex, and the content id
// "b3:" + 64 lowercase hex). Pure value types; no allocation.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "svcdht/bytes.h"
#include "svcdht/err.h"

namespace svcdht::core {

inline constexpr size_t ID_BYTES = 32;
inline constexpr size_t ID_BITS = 256;

struct NodeId {
    std::array<uint8_t, ID_BYTES> b{};

    static NodeId from(ByteView v);  // v.size() must be 32
    ByteView view() const { return {b.data(), b.size()}; }
    bool is_zero() const;
    // word(i) is the i-th 64-bit word in big-endian order: comparing words compares ids
    // byte-lexicographically, four compares instead of 32.
    uint64_t word(size_t i) const {
        uint64_t w;
        std::memcpy(&w, b.data() + 8 * i, 8);
        return __builtin_bswap64(w);
    }
    // Word by word, inline: most comparisons (a bucket scanned for one id, a hash chain)
    // differ in the first word.
    bool operator==(const NodeId& o) const {
        for (size_t i = 0; i < 4; ++i) {
            uint64_t x, y;
            std::memcpy(&x, b.data() + 8 * i, 8);
            std::memcpy(&y, o.b.data() + 8 * i, 8);
            if (x != y) return false;
        }
        return true;
    }
    std::strong_ordering operator<=>(const NodeId& o) const {
        for (size_t i = 0; i < 4; ++i) {
            const uint64_t x = word(i), y = o.word(i);
            if (x != y) return x < y ? std::strong_ordering::less : std::strong_ordering::greater;
        }
        return std::strong_ordering::equal;
    }

    // prefix64 returns the first 8 bytes as a big-endian integer (a cheap, well-spread
    // handle for logs and hashing; never used for equality).
    uint64_t prefix64() const;
    std::string hex() const;        // 64 lowercase hex characters
    std::string cid() const;        // "b3:" + hex()
    std::string short_hex() const;  // first 8 hex characters, for logs
};

using Key = NodeId;

// NodeIdHash hashes an id by its first 8 bytes (ids are uniformly random). Hash maps keyed by
// id are only ever looked up, never iterated into an output, so their order cannot leak.
struct NodeIdHash {
    size_t operator()(const NodeId& id) const { return static_cast<size_t>(id.prefix64()); }
};

// xor_distance returns a ^ b.
NodeId xor_distance(const NodeId& a, const NodeId& b);

// common_prefix_len returns the number of leading bits a and b share (0..256).
int common_prefix_len(const NodeId& a, const NodeId& b);

// closer_to returns true if |a| is strictly closer to |target| than |b| in the XOR metric.
inline bool closer_to(const NodeId& target, const NodeId& a, const NodeId& b) {
    for (size_t i = 0; i < 4; ++i) {
        const uint64_t t = target.word(i);
        const uint64_t da = a.word(i) ^ t;
        const uint64_t db = b.word(i) ^ t;
        if (da != db) return da < db;
    }
    return false;
}

// compare_distance orders a and b by their distance to target (<0, 0, >0).
int compare_distance(const NodeId& target, const NodeId& a, const NodeId& b);

// parse_hex_id parses exactly 64 lowercase hex characters.
// Errors: bad_hex_length (not 64 characters), bad_hex_char (anything but 0-9a-f).
Result<NodeId> parse_hex_id(std::string_view s);

// parse_cid parses "b3:" followed by 64 lowercase hex characters.
// Errors: bad_cid_prefix, bad_hex_length, bad_hex_char.
Result<NodeId> parse_cid(std::string_view s);

}  // namespace svcdht::core
