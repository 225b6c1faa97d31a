// SPDX-License-Identifier: MIT
// The admin HTTP server on libuv: a listener, bounded connections, keep-alive and pipelining
// (one request in flight per connection: the parser pauses on each complete request and
// resumes after the response is written), a 5 s read timeout (408, then close), and
// requests that wait for the engine (lookups) answered when their result arrives.
#pragma once

#include <uv.h>

#include <memory>
#include <string>
#include <vector>

#include "admin/http.h"
#include "admin/routes.h"
#include "svcdht/env.h"

namespace svcdht::admin {

// A request must be complete within this time after the connection opened or the previous
// response was written; otherwise 408 and the connection closes (against slow clients).
inline constexpr uint64_t READ_TIMEOUT_MS = 5000;

class Server {
public:
    Server(uv_loop_t* uv, NodeView& view, uint32_t max_conns, core::LogSink* log);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // bind listens on |addr| ("127.0.0.1:5301"); false with a message on failure.
    bool bind(const std::string& addr, std::string* err);
    void set_max_conns(uint32_t n) { max_conns_ = n; }
    // close stops listening and closes every connection (their close callbacks free them).
    void close();
    size_t connections() const { return conns_.size(); }
    uint64_t rejected() const { return rejected_; }
    bool loopback() const { return loopback_; }
    // The port actually bound (the one the kernel chose when the address asked for port 0).
    uint16_t bound_port() const { return bound_port_; }
    HttpMetrics& metrics() { return metrics_; }
    size_t waiting() const;

    struct Conn;

private:
    static void on_connection(uv_stream_t* server, int status);
    static void on_listener_closed(uv_handle_t* h);
    void closed(Conn* c);

    uv_loop_t* uv_;
    NodeView& view_;
    core::LogSink* log_;
    uint32_t max_conns_;
    uv_tcp_t listener_{};
    bool listener_open_ = false;
    bool loopback_ = true;
    uint16_t bound_port_ = 0;
    uint64_t rejected_ = 0;
    size_t held_total_ = 0;   // request bytes held by every connection (ADMIN_INPUT_BUDGET)
    uint64_t corr_seed_ = 0;  // random, drawn at construction (make_corr_id)
    uint64_t corr_next_ = 0;
    std::vector<std::unique_ptr<Conn>> conns_;
    HttpMetrics metrics_;
};

}  // namespace svcdht::admin
