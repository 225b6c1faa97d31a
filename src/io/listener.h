// SPDX-License-Identifier: MIT
// The peer listener: binds the listen address, accepts connections and hands each to Peers
// (which may refuse it: per-host cap, every slot taken). While Peers has no room, accepting
// pauses and connections wait in the kernel's backlog; it resumes once one closes.
#pragma once

#include <uv.h>

#include <cstdint>
#include <string>

namespace svcdht::io {

class Net;

class Listener {
public:
    explicit Listener(Net& net) : net_(net) {}
    Listener(const Listener&) = delete;
    Listener& operator=(const Listener&) = delete;

    // bind listens on |addr| ("0.0.0.0:9444", "[::]:0"); false with a message on failure.
    // |fastopen_queue| > 0 takes TCP Fast Open SYNs, at most that many not yet accepted
    // (the kernel answers the rest with a plain handshake); where the kernel refuses the
    // option, the listener works without it.
    bool bind(uv_loop_t* uv, const std::string& addr, uint32_t fastopen_queue, std::string* err);
    bool bound() const { return listening_; }
    uint16_t port() const { return port_; }
    // resume accepts a connection left in the backlog, if accepting paused and Peers has
    // room again.
    void resume();
    void close();
    uint64_t paused_count() const { return paused_count_; }

private:
    static void on_connection(uv_stream_t* server, int status);
    static void on_closed(uv_handle_t* h);
    void accept_one();

    Net& net_;
    uv_tcp_t tcp_{};
    bool open_ = false;       // the handle is initialised and not closed
    bool listening_ = false;  // bound and accepting (false once stopped)
    bool paused_ = false;
    uint16_t port_ = 0;
    uint64_t paused_count_ = 0;
};

}  // namespace svcdht::io
