// SPDX-License-Identifier: MIT
// One peer connection on libuv (see conn.h).
#include "io/conn.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "io/addr.h"
#include "io/net.h"

namespace svcdht::io {

bool set_fastopen(uv_tcp_t* tcp, int option, uint32_t value) {
    uv_os_fd_t fd;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(tcp), &fd) != 0) return false;
    const int v = static_cast<int>(value);
    return setsockopt(fd, IPPROTO_TCP, option, &v, sizeof v) == 0;
}

Conn::Conn(Net& net, uv_loop_t* uv, unsigned family) : net_(net) {
    // Out of sockets (or descriptors), the handle is made without one: the connect then
    // fails and the dial with it, as before.
    if (uv_tcp_init_ex(uv, &tcp_, family) != 0) uv_tcp_init(uv, &tcp_);
    tcp_.data = this;
    net_.adopt(this);
}

void Conn::start(core::PeerRef ref) {
    ref_ = ref;
    net_.attach(this, ref);
    uv_tcp_nodelay(&tcp_, 1);
    reading_ = uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), on_alloc, on_read) == 0;
    if (!reading_) close(false, true, core::Err::io);
}

void Conn::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
    *buf = static_cast<Conn*>(h->data)->net_.rx_buffer();
}

void Conn::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
    auto* c = static_cast<Conn*>(s->data);
    if (nread == 0 || c->closing_) return;
    if (nread < 0) {
        // A Fast Open dial completes before the SYN leaves: a refused one shows here, as
        // the first read, and is the dial failing, not an I/O error of a connection.
        const bool refused = nread == UV_ECONNREFUSED && c->dial != 0 && !c->fastopen_checked_;
        if (nread != UV_EOF && !refused) c->net_.io_error();
        c->close(false, true,
                 refused           ? core::Err::unreachable
                 : nread == UV_EOF ? core::Err::peer_closed
                                   : core::Err::io);
    } else {
        if (!c->fastopen_checked_) c->check_fastopen();
        c->net_.peers_mut().received(
            c->ref_, {reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)},
            now_us());
    }
    c->net_.after_input();
}

void Conn::check_fastopen() {
    fastopen_checked_ = true;
    if (!net_.tcp_fastopen()) return;
    uv_os_fd_t fd;
    if (uv_fileno(reinterpret_cast<uv_handle_t*>(&tcp_), &fd) != 0) return;
    tcp_info info{};
    socklen_t len = sizeof info;
    if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
        (info.tcpi_options & TCPI_OPT_SYN_DATA) != 0)
        net_.fastopen_used(dial != 0);
}

void Conn::write(core::Bytes&& bytes) {
    if (closing_ && uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_))) return;
    WriteReq* w = net_.write_req();
    w->conn = this;
    w->req.data = w;
    w->buf = std::move(bytes);
    uv_buf_t b =
        uv_buf_init(reinterpret_cast<char*>(w->buf.data()), static_cast<unsigned>(w->buf.size()));
    if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1, on_write) != 0) {
        net_.peers_mut().sent(ref_, w->buf.size());
        net_.recycle(w);
        net_.io_error();
        close(false, true, core::Err::io);
    }
}

void Conn::on_write(uv_write_t* req, int status) {
    auto* w = static_cast<WriteReq*>(req->data);
    Conn* c = w->conn;
    // Gives the bytes' share of the transmit budget back (a ref already closed finds
    // nothing, and its session gave everything back when it went).
    c->net_.peers_mut().sent(c->ref_, w->buf.size());
    c->net_.recycle(w);
    if (status < 0 && status != UV_ECANCELED && !c->closing_) {
        c->net_.io_error();
        c->close(false, true, core::Err::io);
        c->net_.after_input();
    }
}

void Conn::close(bool graceful, bool report, core::Err why) {
    if (closing_) return;
    closing_ = true;
    closing_since_ = now_us();
    if (report && ref_ != 0) {
        net_.peers_mut().closed(ref_, why, closing_since_);
        net_.detach(ref_);
        ref_ = 0;  // Peers freed the session: nothing more to tell it
    }
    auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
    if (reading_) uv_read_stop(stream);
    if (graceful && reading_) {
        // Pending writes (the session's last words) go out first: shutdown waits for them.
        shutdown_req_.data = this;
        if (uv_shutdown(&shutdown_req_, stream, on_shutdown) == 0) {
            net_.conn_closing(this);
            return;
        }
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_closed);  // also cancels a connect
}

void Conn::cut() {
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&tcp_)))
        uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), on_closed);
}

void Conn::on_shutdown(uv_shutdown_t* req, int) {
    // Called before the close callback, also when a close cancels it (UV_ECANCELED).
    static_cast<Conn*>(req->data)->cut();
}

void Conn::on_closed(uv_handle_t* h) {
    auto* c = static_cast<Conn*>(h->data);
    Net& net = c->net_;
    // A close Peers asked for: the socket is gone now, so its slot can go.
    const core::PeerRef ref = c->ref_;
    net.conn_freed(c);
    delete c;  // the only place a Conn is freed
    if (ref != 0) {
        net.peers_mut().closed(ref, core::Err::session_closed, now_us());
        net.after_input();
    }
}

}  // namespace svcdht::io
