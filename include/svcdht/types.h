// SPDX-License-Identifier: MIT
// Time and addresses as the core sees them. Time is a number handed in by the caller
// (microseconds on a monotonic clock, or virtual time in the simulator): the core
// never reads a clock.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace svcdht::core {

using Time = uint64_t;  // microseconds
inline constexpr Time NEVER = UINT64_MAX;

constexpr Time msec(uint64_t ms) {
    return ms * 1000;
}
constexpr Time secs(uint64_t s) {
    return s * 1000 * 1000;
}
constexpr uint64_t to_msec(Time t) {
    return t / 1000;
}
constexpr uint64_t to_secs(Time t) {
    return t / (1000 * 1000);
}

// PeerAddr is an IPv4 or IPv6 address with a port, kept in network byte order. An IPv4
// address uses the first 4 bytes of |ip| and ip_len 4. IPv4-mapped IPv6 addresses are
// normalised to IPv4 by the adapters, so one host has one form.
struct PeerAddr {
    std::array<uint8_t, 16> ip{};
    uint8_t ip_len = 0;  // 0 (unset), 4 or 16
    uint16_t port = 0;

    bool valid() const { return ip_len == 4 || ip_len == 16; }
    bool is_v4() const { return ip_len == 4; }
    bool operator==(const PeerAddr&) const = default;
    auto operator<=>(const PeerAddr&) const = default;

    static PeerAddr v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port);
    // format gives "1.2.3.4:5" or "[::1]:5".
    std::string format() const;
    std::string format_ip() const;
    // is_loopback is true for 127.0.0.0/8 and ::1.
    bool is_loopback() const;
    // is_exempt is true for loopback, private (RFC 1918, fc00::/7), link-local and
    // unspecified addresses: the diversity caps do not apply to them by default.
    bool is_exempt() const;
};

}  // namespace svcdht::core
