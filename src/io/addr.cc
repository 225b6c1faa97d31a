// SPDX-License-Identifier: MIT
// Address conversions and the clock (see addr.h).
#include "io/addr.h"

#include <arpa/inet.h>

#include <cstring>

namespace svcdht::io {

using core::Time;

Time now_us() {
    return uv_hrtime() / 1000;
}

int64_t unix_epoch_offset_us() {
    uv_timeval64_t tv;
    uv_gettimeofday(&tv);
    const int64_t unix_us = tv.tv_sec * 1000000 + tv.tv_usec;
    return unix_us - static_cast<int64_t>(now_us());
}

bool parse_addr(const std::string& s, sockaddr_storage* out) {
    std::memset(out, 0, sizeof *out);
    std::string host;
    std::string port;
    if (!s.empty() && s[0] == '[') {
        const size_t close = s.find(']');
        if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
            return false;
        host = s.substr(1, close - 1);
        port = s.substr(close + 2);
    } else {
        const size_t colon = s.rfind(':');
        if (colon == std::string::npos) return false;
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
    }
    char* end = nullptr;
    const unsigned long p = std::strtoul(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p > 65535) return false;
    auto* v4 = reinterpret_cast<sockaddr_in*>(out);
    if (uv_ip4_addr(host.c_str(), static_cast<int>(p), v4) == 0) return true;
    auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
    return uv_ip6_addr(host.c_str(), static_cast<int>(p), v6) == 0;
}

core::PeerAddr to_peer_addr(const sockaddr* sa) {
    core::PeerAddr a;
    if (sa->sa_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
        std::memcpy(a.ip.data(), &v4->sin_addr, 4);
        a.ip_len = 4;
        a.port = ntohs(v4->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
        const uint8_t* b = v6->sin6_addr.s6_addr;
        static const uint8_t MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(b, MAPPED, 12) == 0) {
            std::memcpy(a.ip.data(), b + 12, 4);  // one host, one form: IPv4
            a.ip_len = 4;
        } else {
            std::memcpy(a.ip.data(), b, 16);
            a.ip_len = 16;
        }
        a.port = ntohs(v6->sin6_port);
    }
    return a;
}

void to_sockaddr(const core::PeerAddr& a, sockaddr_storage* out) {
    std::memset(out, 0, sizeof *out);
    if (a.ip_len == 4) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(out);
        v4->sin_family = AF_INET;
        std::memcpy(&v4->sin_addr, a.ip.data(), 4);
        v4->sin_port = htons(a.port);
    } else {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
        v6->sin6_family = AF_INET6;
        std::memcpy(&v6->sin6_addr, a.ip.data(), 16);
        v6->sin6_port = htons(a.port);
    }
}

}  // namespace svcdht::io
