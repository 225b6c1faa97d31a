// SPDX-License-Identifier: MIT
// PeerAddr formatting and classification. Pure: inet_ntop only formats bytes.
#include "svcdht/types.h"

#include <arpa/inet.h>

namespace svcdht::core {

PeerAddr PeerAddr::v4(uint8_t a, uint8_t b, uint8_t c, uint8_t d, uint16_t port) {
    PeerAddr p;
    p.ip[0] = a;
    p.ip[1] = b;
    p.ip[2] = c;
    p.ip[3] = d;
    p.ip_len = 4;
    p.port = port;
    return p;
}

std::string PeerAddr::format_ip() const {
    char buf[INET6_ADDRSTRLEN] = {0};
    if (ip_len == 4) {
        inet_ntop(AF_INET, ip.data(), buf, sizeof buf);
    } else if (ip_len == 16) {
        inet_ntop(AF_INET6, ip.data(), buf, sizeof buf);
    } else {
        return "-";
    }
    return buf;
}

std::string PeerAddr::format() const {
    if (ip_len == 16) return "[" + format_ip() + "]:" + std::to_string(port);
    return format_ip() + ":" + std::to_string(port);
}

bool PeerAddr::is_loopback() const {
    if (ip_len == 4) return ip[0] == 127;
    if (ip_len != 16) return false;
    for (size_t i = 0; i < 15; ++i)
        if (ip[i] != 0) return false;
    return ip[15] == 1;
}

bool PeerAddr::is_exempt() const {
    if (ip_len == 4) {
        const uint8_t a = ip[0];
        const uint8_t b = ip[1];
        return a == 127 || a == 10 || a == 0 || (a == 172 && (b & 0xf0) == 16) ||
               (a == 192 && b == 168) || (a == 169 && b == 254) || (a == 100 && (b & 0xc0) == 64);
    }
    if (ip_len == 16) {
        bool zero_prefix = true;
        for (size_t i = 0; i < 15; ++i)
            if (ip[i] != 0) zero_prefix = false;
        if (zero_prefix && (ip[15] == 1 || ip[15] == 0)) return true;  // ::1 and ::
        if ((ip[0] & 0xfe) == 0xfc) return true;                       // fc00::/7 unique local
        if (ip[0] == 0xfe && (ip[1] & 0xc0) == 0x80) return true;      // fe80::/10 link local
        return false;
    }
    return true;
}

}  // namespace svcdht::core
