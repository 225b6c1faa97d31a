// SPDX-License-Identifier: MIT
// The sd_notify protocol: one datagram to an AF_UNIX socket; a name starting with '@' is in
// the abstract namespace. And the watchdog's environment (sd_watchdog_enabled's rules).
#include "daemon/notify.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace svcdht::daemon {

bool notify(const char* state) {
    const char* path = std::getenv("NOTIFY_SOCKET");
    if (path == nullptr || path[0] == '\0') return false;
    const size_t len = std::strlen(path);
    sockaddr_un addr{};
    if (len >= sizeof addr.sun_path) return false;
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path, len);
    if (addr.sun_path[0] == '@') addr.sun_path[0] = '\0';
    const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return false;
    const auto alen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
    const ssize_t n = ::sendto(fd, state, std::strlen(state), MSG_NOSIGNAL,
                               reinterpret_cast<sockaddr*>(&addr), alen);
    ::close(fd);
    return n >= 0;
}

namespace {

// parse_u64 reads a whole decimal number; false for anything else (empty, signs, junk).
bool parse_u64(const char* s, uint64_t* out) {
    if (s == nullptr || *s == '\0') return false;
    uint64_t v = 0;
    for (; *s != '\0'; ++s) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + static_cast<uint64_t>(*s - '0');
    }
    *out = v;
    return true;
}

}  // namespace

uint64_t watchdog_usec() {
    uint64_t usec = 0, pid = 0;
    if (!parse_u64(std::getenv("WATCHDOG_USEC"), &usec)) return 0;
    if (const char* p = std::getenv("WATCHDOG_PID"); p != nullptr) {
        if (!parse_u64(p, &pid) || pid != static_cast<uint64_t>(::getpid())) return 0;
    }
    return usec;
}

}  // namespace svcdht::daemon
