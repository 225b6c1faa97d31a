// SPDX-License-Identifier: MIT
// The dialer: connects for the dials Peers asks for (reporting connected or failed), aborts
// the ones the Node gives up, and resolves seed names with uv_getaddrinfo (retrying every
// 10 s while a name does not resolve) before handing seeds to the Node.
#pragma once

#include <uv.h>

#include <map>
#include <string>
#include <vector>

#include "svcdht/node.h"

namespace svcdht::io {

class Conn;
class Net;

class Dialer {
public:
    Dialer(Net& net, uv_loop_t* uv);
    Dialer(const Dialer&) = delete;
    Dialer& operator=(const Dialer&) = delete;

    void dial(core::DialId id, const core::PeerAddr& addr);
    void cancel(core::DialId id);
    // add_seeds resolves |seeds| (host:port) and adds each to the Node when it resolves.
    void add_seeds(const std::vector<std::string>& seeds);
    void close();

private:
    static void on_connect(uv_connect_t* req, int status);
    static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res);
    static void on_retry(uv_timer_t* t);
    void resolve(size_t i);

    Net& net_;
    uv_loop_t* uv_;
    std::vector<std::string> seeds_;
    std::map<core::DialId, Conn*> connecting_;
    std::map<uv_getaddrinfo_t*, size_t> resolving_;  // request -> seed index
    std::vector<size_t> retry_;
    uv_timer_t retry_timer_{};
    bool closed_ = false;
};

}  // namespace svcdht::io
