// SPDX-License-Identifier: MIT
// Outbound connections and seed name resolution (see dialer.h).
#include "io/dialer.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include "io/addr.h"
#include "io/conn.h"
#include "io/net.h"

namespace svcdht::io {

namespace {
constexpr uint64_t RESOLVE_RETRY_MS = 10000;
}

Dialer::Dialer(Net& net, uv_loop_t* uv) : net_(net), uv_(uv) {
    uv_timer_init(uv_, &retry_timer_);
    retry_timer_.data = this;
}

void Dialer::dial(core::DialId id, const core::PeerAddr& addr) {
    sockaddr_storage sa;
    to_sockaddr(addr, &sa);
    auto* c = new Conn(net_, uv_, sa.ss_family);
    c->dial = id;
    c->remote = addr;
    // With a cookie from this host the connect completes at once, and the first write (our
    // HELLO, ident and early request) goes out in the SYN; without one, as before.
    if (net_.tcp_fastopen()) (void)set_fastopen(c->tcp(), TCP_FASTOPEN_CONNECT, 1);
    c->connect_req.data = c;
    if (uv_tcp_connect(&c->connect_req, c->tcp(), reinterpret_cast<sockaddr*>(&sa), on_connect) !=
        0) {
        c->close(false, false, core::Err::unreachable);
        net_.peers_mut().dial_failed(id, core::Err::unreachable, now_us());
        return;
    }
    connecting_[id] = c;
}

void Dialer::on_connect(uv_connect_t* req, int status) {
    auto* c = static_cast<Conn*>(req->data);
    Net& net = c->net_ref();
    net.dialer().connecting_.erase(c->dial);
    if (c->closing()) return;  // cancelled: the Node gave the dial up
    const core::Time now = now_us();
    if (status < 0) {
        c->close(false, false, core::Err::unreachable);
        net.peers_mut().dial_failed(c->dial, core::Err::unreachable, now);
    } else {
        const core::PeerRef ref = net.peers_mut().connected(c->dial, c->remote, now);
        if (ref == 0) {
            c->close(false, false, core::Err::timeout);
        } else {
            c->start(ref);
        }
    }
    net.after_input();
}

void Dialer::cancel(core::DialId id) {
    auto it = connecting_.find(id);
    if (it == connecting_.end()) return;
    Conn* c = it->second;
    connecting_.erase(it);
    c->close(false, false, core::Err::timeout);  // closing cancels the connect
}

void Dialer::add_seeds(const std::vector<std::string>& seeds) {
    seeds_ = seeds;
    for (size_t i = 0; i < seeds_.size(); ++i) resolve(i);
}

void Dialer::resolve(size_t i) {
    const std::string& s = seeds_[i];
    sockaddr_storage sa;
    if (parse_addr(s, &sa)) {
        net_.peers_mut().node().add_seed(to_peer_addr(reinterpret_cast<sockaddr*>(&sa)), now_us());
        net_.pump();
        return;
    }
    const size_t colon = s.rfind(':');
    auto* req = new uv_getaddrinfo_t;
    req->data = this;
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    const std::string host = s.substr(0, colon);
    const std::string port = colon == std::string::npos ? "" : s.substr(colon + 1);
    resolving_[req] = i;
    if (uv_getaddrinfo(uv_, req, on_resolved, host.c_str(), port.c_str(), &hints) != 0) {
        resolving_.erase(req);
        delete req;
        retry_.push_back(i);
        uv_timer_start(&retry_timer_, on_retry, RESOLVE_RETRY_MS, 0);
    }
}

void Dialer::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
    auto* self = static_cast<Dialer*>(req->data);
    const size_t i = self->resolving_[req];
    self->resolving_.erase(req);
    delete req;
    if (status == UV_ECANCELED || self->closed_) {
        if (res != nullptr) uv_freeaddrinfo(res);
        return;
    }
    if (status != 0 || res == nullptr) {
        if (core::LogSink* log = self->net_.log()) {
            const core::LogField f[] = {{"seed", self->seeds_[i]}, {"error", uv_strerror(status)}};
            log->log(core::LogLevel::warn, "cannot resolve bootstrap seed, retrying", f);
        }
        self->retry_.push_back(i);
        if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&self->retry_timer_)))
            uv_timer_start(&self->retry_timer_, on_retry, RESOLVE_RETRY_MS, 0);
        return;
    }
    const core::PeerAddr addr = to_peer_addr(res->ai_addr);
    uv_freeaddrinfo(res);
    self->net_.peers_mut().node().add_seed(addr, now_us());
    self->net_.pump();
}

void Dialer::on_retry(uv_timer_t* t) {
    auto* self = static_cast<Dialer*>(t->data);
    std::vector<size_t> again;
    again.swap(self->retry_);
    for (size_t i : again) self->resolve(i);
}

void Dialer::close() {
    closed_ = true;
    for (auto& [req, i] : resolving_) uv_cancel(reinterpret_cast<uv_req_t*>(req));
    std::vector<Conn*> all;
    for (auto& [id, c] : connecting_) all.push_back(c);
    connecting_.clear();
    for (Conn* c : all) c->close(false, false, core::Err::shutting_down);
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&retry_timer_)))
        uv_close(reinterpret_cast<uv_handle_t*>(&retry_timer_), nullptr);
}

}  // namespace svcdht::io
