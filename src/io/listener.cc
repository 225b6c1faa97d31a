// SPDX-License-Identifier: MIT
// The peer listener (see listener.h).
#include "io/listener.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "io/addr.h"
#include "io/conn.h"
#include "io/net.h"

namespace svcdht::io {

bool Listener::bind(uv_loop_t* uv, const std::string& addr, uint32_t fastopen_queue,
                    std::string* err) {
    sockaddr_storage sa;
    if (!parse_addr(addr, &sa)) {
        *err = "listen address " + addr + " is not a numeric IP:PORT";
        return false;
    }
    uv_tcp_init(uv, &tcp_);
    tcp_.data = this;
    open_ = true;
    int r = uv_tcp_bind(&tcp_, reinterpret_cast<sockaddr*>(&sa), 0);
    if (r == 0 && fastopen_queue > 0) (void)set_fastopen(&tcp_, TCP_FASTOPEN, fastopen_queue);
    if (r == 0) r = uv_listen(reinterpret_cast<uv_stream_t*>(&tcp_), 511, on_connection);
    if (r != 0) {
        *err = "cannot listen on " + addr + ": " + uv_strerror(r);
        return false;
    }
    sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&bound), &len);
    port_ = to_peer_addr(reinterpret_cast<sockaddr*>(&bound)).port;
    listening_ = true;
    return true;
}

void Listener::on_connection(uv_stream_t* server, int status) {
    auto* self = static_cast<Listener*>(server->data);
    Net& net = self->net_;
    if (status < 0) {
        net.io_error();
        if (core::LogSink* log = net.log()) {
            const core::LogField f[] = {{"error", uv_strerror(status)}};
            log->log(core::LogLevel::warn, "accept failed", f);
        }
        return;
    }
    if (net.closing_all()) return;
    if (!net.peers_mut().can_accept()) {
        // Leave the connection in the kernel's backlog: libuv stops watching the listener
        // until uv_accept is called, which resume() does once a connection closes.
        self->paused_ = true;
        ++self->paused_count_;
        return;
    }
    self->accept_one();
}

void Listener::accept_one() {
    auto* c = new Conn(net_, net_.uv());
    if (uv_accept(reinterpret_cast<uv_stream_t*>(&tcp_),
                  reinterpret_cast<uv_stream_t*>(c->tcp())) != 0) {
        c->close(false, false, core::Err::io);
        return;
    }
    sockaddr_storage peer;
    int len = sizeof peer;
    uv_tcp_getpeername(c->tcp(), reinterpret_cast<sockaddr*>(&peer), &len);
    c->remote = to_peer_addr(reinterpret_cast<sockaddr*>(&peer));
    const core::PeerRef ref = net_.peers_mut().accepted(c->remote, now_us());
    if (ref == 0) {
        c->close(false, false, core::Err::conn_evicted);  // refused: per-host cap or no room
    } else {
        c->start(ref);
    }
    net_.after_input();
}

void Listener::resume() {
    if (!paused_ || !listening_ || net_.closing_all() || !net_.peers_mut().can_accept()) return;
    paused_ = false;
    accept_one();
}

void Listener::on_closed(uv_handle_t* h) {
    static_cast<Listener*>(h->data)->open_ = false;
}

void Listener::close() {
    listening_ = false;
    if (open_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_)))
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_closed);
}

}  // namespace svcdht::io
