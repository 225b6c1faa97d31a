// SPDX-License-Identifier: MIT
// Conn: one peer connection on libuv, a uv_tcp_t and the PeerRef of its session in Peers.
// It moves bytes only: reads go to Peers, writes come from Peers, and a close is either
// asked for by Peers (after its last bytes are written, when it has any) or reported to it.
// Ownership follows libuv word for word: a Conn is freed only in its close callback, and a
// write buffer belongs to its write request until the write callback.
#pragma once

#include <uv.h>

#include <cstdint>

#include "svcdht/bytes.h"
#include "svcdht/node.h"

namespace svcdht::io {

class Net;
class Conn;

// WriteReq: one write of a connection; its bytes belong to it until the write callback.
struct WriteReq {
    uv_write_t req{};
    core::Bytes buf;
    Conn* conn = nullptr;
};

// set_fastopen sets a TCP Fast Open option on |tcp|'s socket: TCP_FASTOPEN with a
// listener's queue length, or TCP_FASTOPEN_CONNECT (1) on a socket about to connect. False
// where the kernel refuses it; the socket then works as before.
bool set_fastopen(uv_tcp_t* tcp, int option, uint32_t value);

class Conn {
public:
    // A new Conn owns an initialised uv_tcp_t; the caller accepts into it or connects it.
    // With an address |family| the socket exists at once (its options can be set before
    // the connect).
    Conn(Net& net, uv_loop_t* uv, unsigned family = AF_UNSPEC);
    Conn(const Conn&) = delete;
    Conn& operator=(const Conn&) = delete;

    uv_tcp_t* tcp() { return &tcp_; }
    Net& net_ref() { return net_; }
    // start reads into the Net's shared buffer and hands them to Peers as |ref|.
    void start(core::PeerRef ref);
    core::PeerRef ref() const { return ref_; }
    // write sends |bytes| (owned by the write request until it completes).
    void write(core::Bytes&& bytes);
    // close: with |graceful|, pending writes finish and the write side is shut first (a
    // session's last words, say a Ctrl error); otherwise the socket closes at once. Peers
    // is told on close only when |report| (the close did not come from Peers).
    void close(bool graceful, bool report, core::Err why);
    bool closing() const { return closing_; }
    core::Time closing_since() const { return closing_since_; }
    // cut closes a connection stuck in a graceful close (the peer stopped reading).
    void cut();

    // While connecting for a dial (the Dialer's business).
    uv_connect_t connect_req{};
    core::DialId dial = 0;
    core::PeerAddr remote;

private:
    static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
    static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
    static void on_write(uv_write_t* req, int status);
    static void on_shutdown(uv_shutdown_t* req, int status);
    static void on_closed(uv_handle_t* h);
    // check_fastopen counts the connection once if its SYN carried data the other side took.
    void check_fastopen();

    Net& net_;
    uv_tcp_t tcp_{};
    uv_shutdown_t shutdown_req_{};
    core::PeerRef ref_ = 0;
    bool reading_ = false;
    bool closing_ = false;
    bool fastopen_checked_ = false;  // the first read asked the kernel about the SYN
    core::Time closing_since_ = 0;
};

}  // namespace svcdht::io
