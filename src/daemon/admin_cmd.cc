// SPDX-License-Identifier: MIT
// The admin commands (see admin_cmd.h): one HTTP/1.1 request on a blocking socket, with a
// deadline, then the status line and the body. A one-shot client needs nothing more.
#include "daemon/admin_cmd.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "io/addr.h"

namespace svcdht::daemon {

namespace {

// to_loopback: a wildcard bind address is reached on this host's loopback.
void to_loopback(sockaddr_storage* sa) {
    if (sa->ss_family == AF_INET) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(sa);
        if (v4->sin_addr.s_addr == htonl(INADDR_ANY)) v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    } else if (sa->ss_family == AF_INET6) {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(sa);
        if (IN6_IS_ADDR_UNSPECIFIED(&v6->sin6_addr)) v6->sin6_addr = in6addr_loopback;
    }
}

// wait_for polls |fd| for |events| until |deadline_ms| (monotonic); false on timeout.
bool wait_for(int fd, short events, uint64_t deadline_ms) {
    for (;;) {
        const uint64_t now = io::now_us() / 1000;
        if (now >= deadline_ms) return false;
        pollfd p{fd, events, 0};
        const int r = ::poll(&p, 1, static_cast<int>(deadline_ms - now));
        if (r > 0) return true;
        if (r < 0 && errno != EINTR) return false;
    }
}

// exchange sends |request| and reads the whole answer (the server closes: Connection:
// close). false with the reason.
bool exchange(const sockaddr_storage& sa, const std::string& request, int timeout_ms,
              std::string* answer, std::string* err) {
    const int fd = ::socket(sa.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = std::strerror(errno);
        return false;
    }
    const uint64_t deadline = io::now_us() / 1000 + static_cast<uint64_t>(timeout_ms);
    const socklen_t len = sa.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
    const bool started =
        ::connect(fd, reinterpret_cast<const sockaddr*>(&sa), len) == 0 || errno == EINPROGRESS;
    const int connect_errno = errno;
    bool ok = started && wait_for(fd, POLLOUT, deadline);
    if (!started) {
        *err = std::strerror(connect_errno);
    } else if (ok) {
        int so = 0;
        socklen_t sl = sizeof so;
        ok = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so, &sl) == 0 && so == 0;
        if (!ok) *err = std::strerror(so != 0 ? so : errno);
    } else {
        *err = "no connection within the timeout";
    }
    for (size_t sent = 0; ok && sent < request.size();) {
        const ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n > 0) {
            sent += static_cast<size_t>(n);
        } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
            *err = std::strerror(errno);
            ok = false;
        } else if (!wait_for(fd, POLLOUT, deadline)) {
            *err = "timed out sending the request";
            ok = false;
        }
    }
    char buf[4096];
    while (ok) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n > 0) {
            answer->append(buf, static_cast<size_t>(n));
            if (answer->size() > (1u << 20)) break;  // an admin answer is small
        } else if (n == 0) {
            break;
        } else if (errno != EAGAIN && errno != EINTR) {
            *err = std::strerror(errno);
            ok = false;
        } else if (!wait_for(fd, POLLIN, deadline)) {
            *err = "timed out waiting for the answer";
            ok = false;
        }
    }
    ::close(fd);
    return ok;
}

}  // namespace

int run_admin_degraded(bool on, const std::string& admin_addr, const std::string& token,
                       int timeout_ms) {
    sockaddr_storage sa{};
    if (!io::parse_addr(admin_addr, &sa)) {
        std::fprintf(stderr, "svc-dht: admin: %s is not a numeric HOST:PORT\n", admin_addr.c_str());
        return 2;
    }
    to_loopback(&sa);
    const std::string body = on ? "{\"on\":true}" : "{\"on\":false}";
    std::string req =
        "POST /admin/degraded HTTP/1.1\r\nHost: " + admin_addr +
        "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
        "\r\nConnection: close\r\n";
    if (!token.empty()) req += "Authorization: Bearer " + token + "\r\n";
    req += "\r\n" + body;
    std::string answer, err;
    if (!exchange(sa, req, timeout_ms, &answer, &err)) {
        std::fprintf(stderr, "svc-dht: admin: %s: %s\n", admin_addr.c_str(), err.c_str());
        return 1;
    }
    int status = 0;
    if (std::sscanf(answer.c_str(), "HTTP/1.%*d %d", &status) != 1) {
        std::fprintf(stderr, "svc-dht: admin: %s: not an HTTP answer\n", admin_addr.c_str());
        return 1;
    }
    const size_t at = answer.find("\r\n\r\n");
    const std::string text = at == std::string::npos ? "" : answer.substr(at + 4);
    std::fprintf(status == 200 ? stdout : stderr, "%s%s", text.c_str(),
                 !text.empty() && text.back() == '\n' ? "" : "\n");
    if (status != 200)
        std::fprintf(stderr, "svc-dht: admin: %s answered %d\n", admin_addr.c_str(), status);
    return status == 200 ? 0 : 1;
}

}  // namespace svcdht::daemon
