// SPDX-License-Identifier: MIT
// Node ids, the XOR metric and their text forms. Pure; no allocation except in the
// string formatters.
#include "svcdht/id.h"

#include <bit>
#include <cassert>

namespace svcdht::core {

std::string_view hex_digits() {
    return "0123456789abcdef";
}

void hex_encode(ByteView in, char* out) {
    const auto d = hex_digits();
    for (size_t i = 0; i < in.size(); ++i) {
        out[2 * i] = d[in[i] >> 4];
        out[2 * i + 1] = d[in[i] & 0x0f];
    }
}

NodeId NodeId::from(ByteView v) {
    assert(v.size() == ID_BYTES);
    NodeId id;
    std::memcpy(id.b.data(), v.data(), ID_BYTES);
    return id;
}

bool NodeId::is_zero() const {
    for (uint8_t x : b)
        if (x != 0) return false;
    return true;
}

uint64_t NodeId::prefix64() const {
    uint64_t v = 0;
    for (size_t i = 0; i < 8; ++i) v = (v << 8) | b[i];
    return v;
}

std::string NodeId::hex() const {
    std::string s(2 * ID_BYTES, '0');
    hex_encode(view(), s.data());
    return s;
}

std::string NodeId::cid() const {
    return "b3:" + hex();
}

std::string NodeId::short_hex() const {
    return hex().substr(0, 8);
}

NodeId xor_distance(const NodeId& a, const NodeId& b) {
    NodeId d;
    for (size_t i = 0; i < ID_BYTES; ++i) d.b[i] = a.b[i] ^ b.b[i];
    return d;
}

int common_prefix_len(const NodeId& a, const NodeId& b) {
    for (size_t i = 0; i < ID_BYTES; ++i) {
        const uint8_t x = a.b[i] ^ b.b[i];
        if (x != 0) return static_cast<int>(i * 8) + std::countl_zero(x);
    }
    return static_cast<int>(ID_BITS);
}

int compare_distance(const NodeId& target, const NodeId& a, const NodeId& b) {
    for (size_t i = 0; i < ID_BYTES; ++i) {
        const int da = a.b[i] ^ target.b[i];
        const int db = b.b[i] ^ target.b[i];
        if (da != db) return da < db ? -1 : 1;
    }
    return 0;
}

namespace {
int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}
}  // namespace

Result<NodeId> parse_hex_id(std::string_view s) {
    if (s.size() != 2 * ID_BYTES) return Err::bad_hex_length;
    NodeId id;
    for (size_t i = 0; i < ID_BYTES; ++i) {
        const int hi = hex_value(s[2 * i]);
        const int lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return Err::bad_hex_char;
        id.b[i] = static_cast<uint8_t>((hi << 4) | lo);
    }
    return id;
}

Result<NodeId> parse_cid(std::string_view s) {
    if (s.substr(0, 3) != "b3:") return Err::bad_cid_prefix;
    return parse_hex_id(s.substr(3));
}

}  // namespace svcdht::core
