// SPDX-License-Identifier: MIT
// Peer sessions on libuv (see loop.h). Ownership follows libuv word for word: a Conn owns
// its uv_tcp_t and is freed only in on_closed; a write buffer belongs to its WriteReq until
// on_write. Every callback ends by handing the Node's actions to the network.
#include "io/loop.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "daemon/log.h"

namespace svcdht::io {

using core::Err;
using core::Time;
using daemon::logger;

namespace {
// A closing connection whose last bytes do not drain within this time is cut.
constexpr Time CLOSE_LINGER = core::secs(2);
constexpr size_t RX_BUF = 64 * 1024;
constexpr uint64_t RESOLVE_RETRY_MS = 10000;

bool is_loopback(const core::PeerAddr& a) {
    if (a.ip_len == 4) return a.ip[0] == 127;
    if (a.ip_len == 16) {
        for (size_t i = 0; i < 15; ++i)
            if (a.ip[i] != 0) return false;
        return a.ip[15] == 1;
    }
    return false;
}

// The key of the per-IP connection count: the address without its port, and for IPv6 only
// its first |v6_prefix| bits (one host normally holds a whole /64).
core::PeerAddr conn_key(core::PeerAddr a, uint32_t v6_prefix) {
    a.port = 0;
    if (a.ip_len == 16) {
        for (uint32_t bit = std::min<uint32_t>(v6_prefix, 128); bit < 128; ++bit)
            a.ip[bit / 8] = static_cast<uint8_t>(a.ip[bit / 8] & ~(0x80u >> (bit % 8)));
    }
    return a;
}
}  // namespace

struct Loop::Conn {
    uv_tcp_t tcp{};
    uv_connect_t connect_req{};
    uv_shutdown_t shutdown_req{};
    Loop* loop = nullptr;
    uint32_t slot = 0;
    uint32_t gen = 0;
    bool inbound = false;
    bool connecting = false;
    bool opened = false;
    bool closing = false;
    bool per_ip_counted = false;
    bool handshaking = false;  // inbound and not open yet: counted in handshaking_in_
    core::PeerAddr per_ip_key;
    bool has_expect = false;
    core::NodeId expect;
    core::DialId dial = 0;
    core::PeerAddr remote;
    std::unique_ptr<core::Session> session;
    Time closing_since = 0;
    core::PeerRef ref() const { return (uint64_t{gen} << 32) | slot; }
};

namespace {
struct WriteReq {
    uv_write_t req{};
    core::Bytes buf;
    Loop::Conn* conn = nullptr;
};
}  // namespace

// ---- addresses -----------------------------------------------------------------------------

Time now_us() {
    return uv_hrtime() / 1000;
}

int64_t unix_epoch_offset_us() {
    uv_timeval64_t tv;
    uv_gettimeofday(&tv);
    const int64_t unix_us = tv.tv_sec * 1000000 + tv.tv_usec;
    return unix_us - static_cast<int64_t>(now_us());
}

bool parse_addr(const std::string& s, sockaddr_storage* out) {
    std::memset(out, 0, sizeof *out);
    std::string host;
    std::string port;
    if (!s.empty() && s[0] == '[') {
        const size_t close = s.find(']');
        if (close == std::string::npos || close + 1 >= s.size() || s[close + 1] != ':')
            return false;
        host = s.substr(1, close - 1);
        port = s.substr(close + 2);
    } else {
        const size_t colon = s.rfind(':');
        if (colon == std::string::npos) return false;
        host = s.substr(0, colon);
        port = s.substr(colon + 1);
    }
    char* end = nullptr;
    const unsigned long p = std::strtoul(port.c_str(), &end, 10);
    if (port.empty() || *end != '\0' || p > 65535) return false;
    auto* v4 = reinterpret_cast<sockaddr_in*>(out);
    if (uv_ip4_addr(host.c_str(), static_cast<int>(p), v4) == 0) return true;
    auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
    return uv_ip6_addr(host.c_str(), static_cast<int>(p), v6) == 0;
}

core::PeerAddr to_peer_addr(const sockaddr* sa) {
    core::PeerAddr a;
    if (sa->sa_family == AF_INET) {
        const auto* v4 = reinterpret_cast<const sockaddr_in*>(sa);
        std::memcpy(a.ip.data(), &v4->sin_addr, 4);
        a.ip_len = 4;
        a.port = ntohs(v4->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const auto* v6 = reinterpret_cast<const sockaddr_in6*>(sa);
        const uint8_t* b = v6->sin6_addr.s6_addr;
        static const uint8_t MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (std::memcmp(b, MAPPED, 12) == 0) {
            std::memcpy(a.ip.data(), b + 12, 4);  // one host, one form: IPv4
            a.ip_len = 4;
        } else {
            std::memcpy(a.ip.data(), b, 16);
            a.ip_len = 16;
        }
        a.port = ntohs(v6->sin6_port);
    }
    return a;
}

void to_sockaddr(const core::PeerAddr& a, sockaddr_storage* out) {
    std::memset(out, 0, sizeof *out);
    if (a.ip_len == 4) {
        auto* v4 = reinterpret_cast<sockaddr_in*>(out);
        v4->sin_family = AF_INET;
        std::memcpy(&v4->sin_addr, a.ip.data(), 4);
        v4->sin_port = htons(a.port);
    } else {
        auto* v6 = reinterpret_cast<sockaddr_in6*>(out);
        v6->sin6_family = AF_INET6;
        std::memcpy(&v6->sin6_addr, a.ip.data(), 16);
        v6->sin6_port = htons(a.port);
    }
}

// ---- setup --------------------------------------------------------------------------------------

Loop::Loop(uv_loop_t* uv, const core::NodeConfig& ncfg, const core::SessionConfig& scfg,
           const core::Identity& self, core::Env env, NetOptions opts)
    : uv_(uv),
      ncfg_(ncfg),
      scfg_(scfg),
      self_(&self),
      env_(env),
      opts_(std::move(opts)),
      rx_buf_(RX_BUF) {
    rx_budget_.limit = opts_.limits.max_reassembly_bytes;
    tx_budget_.limit = opts_.limits.max_tx_queue_bytes;
    uv_timer_init(uv_, &timer_);
    timer_.data = this;
    uv_timer_init(uv_, &resolve_timer_);
    resolve_timer_.data = this;
    uv_prepare_init(uv_, &prepare_);
    prepare_.data = this;
    uv_prepare_start(&prepare_, on_prepare);
    handles_open_ = true;
}

Loop::~Loop() = default;

bool Loop::bind(std::string* err) {
    if (opts_.listen.empty()) return true;
    sockaddr_storage sa;
    if (!parse_addr(opts_.listen, &sa)) {
        *err = "listen address " + opts_.listen + " is not a numeric IP:PORT";
        return false;
    }
    uv_tcp_init(uv_, &listener_);
    listener_.data = this;
    listener_open_ = true;
    int r = uv_tcp_bind(&listener_, reinterpret_cast<sockaddr*>(&sa), 0);
    if (r == 0) r = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 511, on_connection);
    if (r != 0) {
        *err = "cannot listen on " + opts_.listen + ": " + uv_strerror(r);
        return false;
    }
    sockaddr_storage bound;
    int len = sizeof bound;
    uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&bound), &len);
    bound_port_ = to_peer_addr(reinterpret_cast<sockaddr*>(&bound)).port;
    listening_ = true;
    return true;
}

void Loop::start() {
    scfg_.listen_port = bound_port_;
    ncfg_.listen_port = bound_port_;
    ncfg_.network = scfg_.network;
    node_ = std::make_unique<core::Node>(ncfg_, *self_, env_, now());
    for (size_t i = 0; i < opts_.seeds.size(); ++i) resolve_seed(i);
    if (opts_.seeds.empty() && !opts_.listen.empty())
        logger().warn("no bootstrap seeds configured: running standalone");
    pump();
}

Time Loop::now() const {
    return now_us();
}

void Loop::resolve_seed(size_t i) {
    const std::string& s = opts_.seeds[i];
    sockaddr_storage sa;
    if (parse_addr(s, &sa)) {
        node_->add_seed(to_peer_addr(reinterpret_cast<sockaddr*>(&sa)), now());
        return;
    }
    const size_t colon = s.rfind(':');
    auto* req = new uv_getaddrinfo_t;
    req->data = this;
    resolving_.push_back(req);
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    const std::string host = s.substr(0, colon);
    const std::string port = s.substr(colon + 1);
    // The seed index travels in the request so the callback knows which one resolved.
    seed_of_req_[req] = i;
    if (uv_getaddrinfo(uv_, req, on_resolved, host.c_str(), port.c_str(), &hints) != 0) {
        seed_of_req_.erase(req);
        resolving_.erase(std::remove(resolving_.begin(), resolving_.end(), req), resolving_.end());
        delete req;
        logger().warn("cannot resolve bootstrap seed", {{"seed", s}});
    }
}

void Loop::on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
    auto* self = static_cast<Loop*>(req->data);
    const size_t i = self->seed_of_req_[req];
    self->seed_of_req_.erase(req);
    self->resolving_.erase(std::remove(self->resolving_.begin(), self->resolving_.end(), req),
                           self->resolving_.end());
    delete req;
    if (status == UV_ECANCELED || self->closing_all_) {
        if (res != nullptr) uv_freeaddrinfo(res);
        return;
    }
    if (status != 0 || res == nullptr) {
        logger().warn("cannot resolve bootstrap seed, retrying",
                      {{"seed", self->opts_.seeds[i]}, {"error", uv_strerror(status)}});
        self->retry_resolve_.push_back(i);
        if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&self->resolve_timer_)))
            uv_timer_start(&self->resolve_timer_, on_resolve_retry, RESOLVE_RETRY_MS, 0);
        return;
    }
    self->node_->add_seed(to_peer_addr(res->ai_addr), self->now());
    uv_freeaddrinfo(res);
    self->pump();
}

void Loop::on_resolve_retry(uv_timer_t* t) {
    auto* self = static_cast<Loop*>(t->data);
    std::vector<size_t> todo;
    todo.swap(self->retry_resolve_);
    for (size_t i : todo) self->resolve_seed(i);
}

// ---- connections
// ----------------------------------------------------------------------------------

Loop::Conn* Loop::new_conn(bool inbound) {
    uint32_t slot;
    if (!free_slots_.empty()) {
        slot = free_slots_.back();
        free_slots_.pop_back();
    } else {
        slot = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
        gens_.push_back(0);
    }
    auto c = std::make_unique<Conn>();
    c->loop = this;
    c->slot = slot;
    c->gen = ++gens_[slot];  // never 0, so a PeerRef is never 0
    c->inbound = inbound;
    c->tcp.data = c.get();
    slots_[slot] = std::move(c);
    ++conn_count_;
    return slots_[slot].get();
}

Loop::Conn* Loop::find(core::PeerRef ref) {
    const auto slot = static_cast<uint32_t>(ref & 0xffffffffu);
    const auto gen = static_cast<uint32_t>(ref >> 32);
    if (slot >= slots_.size() || !slots_[slot] || slots_[slot]->gen != gen) return nullptr;
    return slots_[slot].get();
}

void Loop::on_connection(uv_stream_t* server, int status) {
    auto* self = static_cast<Loop*>(server->data);
    if (status < 0) {
        ++self->stats_.io_errors;
        logger().warn("accept failed", {{"error", uv_strerror(status)}});
        return;
    }
    if (self->closing_all_) return;
    // A new connection has proved nothing, so it competes only with the others that have
    // proved nothing: at the handshake cap the oldest of them is cut. Open sessions are
    // never closed to admit a stranger.
    if (self->handshaking_in_ >= self->opts_.limits.handshake_cap()) self->evict_oldest_handshake();
    if (self->live_conns() >= self->hard_cap()) {
        // Leave the connection in the kernel's backlog: libuv stops watching the listener
        // until we call uv_accept, which on_closed does once a slot frees.
        self->accept_paused_ = true;
        ++self->stats_.accept_paused;
        return;
    }
    self->accept_one();
    self->pump();
}

void Loop::accept_one() {
    Conn* c = new_conn(true);
    uv_tcp_init(uv_, &c->tcp);
    if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_),
                  reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0) {
        close_now(*c);
        return;
    }
    ++stats_.accepted;
    sockaddr_storage peer;
    int len = sizeof peer;
    uv_tcp_getpeername(&c->tcp, reinterpret_cast<sockaddr*>(&peer), &len);
    c->remote = to_peer_addr(reinterpret_cast<sockaddr*>(&peer));
    uv_tcp_nodelay(&c->tcp, 1);
    if (!is_loopback(c->remote)) {
        c->per_ip_key = conn_key(c->remote, opts_.limits.conns_v6_prefix);
        auto& n = per_ip_[c->per_ip_key];
        if (n >= opts_.limits.max_conns_per_ip) {
            ++stats_.rejected_per_ip;
            if (n == 0) per_ip_.erase(c->per_ip_key);
            close_now(*c);
            return;
        }
        ++n;
        c->per_ip_counted = true;
    }
    c->handshaking = true;
    ++handshaking_in_;
    start_session(*c, nullptr);
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
}

void Loop::close_now(Conn& c) {
    c.closing = true;
    ++closing_count_;
    uv_close(reinterpret_cast<uv_handle_t*>(&c.tcp), on_closed);
}

void Loop::evict_oldest_handshake() {
    Conn* oldest = nullptr;
    for (auto& c : slots_) {
        if (!c || c->closing || !c->handshaking || !c->session) continue;
        if (oldest == nullptr || c->session->next_deadline() < oldest->session->next_deadline())
            oldest = c.get();
    }
    if (oldest == nullptr) return;
    ++stats_.handshakes_evicted;
    begin_close(*oldest, Err::conn_evicted, true);
}

void Loop::evict_for(const Conn& opened) {
    // The session idle the longest (its deadline, last activity + idle timeout, is the
    // earliest) goes first, taken from peers that are not routing-table contacts when
    // there are any: a stranger's fresh keys should not push out the peers we route by.
    Conn* victim = nullptr;
    bool victim_contact = true;
    for (auto& c : slots_) {
        if (!c || c.get() == &opened || c->closing || !c->opened || !c->session) continue;
        const bool contact = node_->table().contains(c->session->peer_id());
        if (victim == nullptr || (victim_contact && !contact) ||
            (contact == victim_contact &&
             c->session->next_deadline() < victim->session->next_deadline())) {
            victim = c.get();
            victim_contact = contact;
        }
    }
    if (victim == nullptr) return;
    ++stats_.evicted_idle;
    begin_close(*victim, Err::conn_evicted, true);
}

void Loop::start_session(Conn& c, const core::NodeId* expect) {
    c.session = std::make_unique<core::Session>(scfg_, *self_, env_, now(), expect,
                                                core::SessionBudgets{&rx_budget_, &tx_budget_});
}

void Loop::on_alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
    auto* c = static_cast<Conn*>(h->data);
    *buf = uv_buf_init(c->loop->rx_buf_.data(), static_cast<unsigned>(c->loop->rx_buf_.size()));
}

void Loop::on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf) {
    auto* c = static_cast<Conn*>(s->data);
    Loop* self = c->loop;
    if (nread == 0) return;
    if (nread < 0) {
        self->begin_close(*c, nread == UV_EOF ? Err::peer_closed : Err::io, true);
    } else {
        self->feed(*c, {reinterpret_cast<const uint8_t*>(buf->base), static_cast<size_t>(nread)});
    }
    self->pump();
}

void Loop::feed(Conn& c, core::ByteView bytes) {
    while (!bytes.empty() && c.session && !c.closing) {
        core::SessionEvent ev;
        const size_t n = c.session->recv(bytes, now(), &ev);
        bytes = bytes.subspan(n);
        switch (ev.type) {
            case core::SessionEvent::Type::none: break;
            case core::SessionEvent::Type::opened: {
                c.opened = true;
                if (c.handshaking) {
                    c.handshaking = false;
                    --handshaking_in_;
                }
                ++open_sessions_;
                core::SessionInfo info;
                info.id = c.session->peer_id();
                info.remote = c.remote;
                info.ident_port = c.session->peer_port();
                const core::DialId d = c.inbound ? 0 : c.dial;
                dial_slots_.erase(c.dial);
                node_->on_session_open(c.ref(), info, d, now());
                // A session that has proved its id may take the place of an idle one.
                if (open_sessions_ > opts_.limits.max_conns) evict_for(c);
                break;
            }
            case core::SessionEvent::Type::data: node_->on_frame(c.ref(), ev.payload, now()); break;
            case core::SessionEvent::Type::closed: begin_close(c, ev.err, true); break;
        }
        if (n == 0 && ev.type == core::SessionEvent::Type::none) break;
    }
    if (c.session) c.session->recv_done();
}

void Loop::begin_close(Conn& c, Err why, bool notify_node) {
    if (c.closing) return;
    c.closing = true;
    ++closing_count_;
    c.closing_since = now();
    if (c.handshaking) {
        c.handshaking = false;
        --handshaking_in_;
    }
    // Every session's counters reach the node, authenticated or not: data before auth and
    // bad frames are exactly what unauthenticated peers send.
    if (c.session) node_->add_session_stats(c.session->stats());
    if (c.opened) {
        --open_sessions_;
        if (notify_node) node_->on_session_closed(c.ref(), why, now());
    } else if (!c.inbound && c.dial != 0 && notify_node) {
        node_->on_dial_failed(c.dial, why, now());
    }
    dial_slots_.erase(c.dial);
    auto* stream = reinterpret_cast<uv_stream_t*>(&c.tcp);
    if (c.connecting) {
        uv_close(reinterpret_cast<uv_handle_t*>(&c.tcp), on_closed);  // cancels the connect
        return;
    }
    uv_read_stop(stream);
    // A session that closes with words still queued (a Ctrl error saying why) gets them
    // out first: shutdown waits for pending writes, then on_shutdown closes.
    // A stranger cut to make room gets no goodbye: it would only hold its slot longer.
    if (c.session && c.session->has_tx() && why != Err::io && why != Err::conn_evicted) {
        flush(c);
        c.shutdown_req.data = &c;
        if (uv_shutdown(&c.shutdown_req, stream, on_shutdown) == 0) return;
    }
    uv_close(reinterpret_cast<uv_handle_t*>(&c.tcp), on_closed);
}

void Loop::on_shutdown(uv_shutdown_t* req, int) {
    auto* c = static_cast<Conn*>(req->data);
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&c->tcp)))
        uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_closed);
}

void Loop::on_closed(uv_handle_t* h) {
    auto* c = static_cast<Conn*>(h->data);
    Loop* self = c->loop;
    if (c->per_ip_counted) {
        auto it = self->per_ip_.find(c->per_ip_key);
        if (it != self->per_ip_.end() && --it->second == 0) self->per_ip_.erase(it);
    }
    const uint32_t slot = c->slot;
    self->slots_[slot].reset();  // the only place a Conn is freed
    self->free_slots_.push_back(slot);
    --self->conn_count_;
    --self->closing_count_;
    if (self->accept_paused_ && self->listener_open_ && !self->closing_all_ &&
        self->live_conns() < self->hard_cap()) {
        self->accept_paused_ = false;
        self->accept_one();
        self->pump();
    }
}

void Loop::flush(Conn& c) {
    if (!c.session || !c.session->has_tx() || c.connecting ||
        uv_is_closing(reinterpret_cast<uv_handle_t*>(&c.tcp)))
        return;
    auto* w = new WriteReq;
    w->conn = &c;
    w->req.data = w;
    c.session->take_tx(&w->buf);
    uv_buf_t b =
        uv_buf_init(reinterpret_cast<char*>(w->buf.data()), static_cast<unsigned>(w->buf.size()));
    const int r = uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c.tcp), &b, 1, on_write);
    if (r != 0) {
        c.session->tx_done(w->buf.size());
        delete w;
        ++stats_.io_errors;
        begin_close(c, Err::io, true);
    }
}

void Loop::on_write(uv_write_t* req, int status) {
    auto* w = static_cast<WriteReq*>(req->data);
    Conn* c = w->conn;
    if (c->session) c->session->tx_done(w->buf.size());
    delete w;
    if (status < 0 && status != UV_ECANCELED && !c->closing) {
        ++c->loop->stats_.io_errors;
        c->loop->begin_close(*c, Err::io, true);
        c->loop->pump();
    }
}

// ---- dialing
// -------------------------------------------------------------------------------------

void Loop::dial(core::DialId id, const core::PeerAddr& addr, bool has_expect,
                const core::NodeId& expect) {
    if (closing_all_) {
        node_->on_dial_failed(id, Err::shutting_down, now());
        return;
    }
    if (live_conns() >= hard_cap()) {
        node_->on_dial_failed(id, Err::busy, now());
        return;
    }
    Conn* c = new_conn(false);
    c->dial = id;
    c->has_expect = has_expect;
    c->expect = expect;
    c->remote = addr;
    c->connecting = true;
    uv_tcp_init(uv_, &c->tcp);
    uv_tcp_nodelay(&c->tcp, 1);
    dial_slots_[id] = c->slot;
    ++stats_.dialed;
    sockaddr_storage sa;
    to_sockaddr(addr, &sa);
    c->connect_req.data = c;
    const int r =
        uv_tcp_connect(&c->connect_req, &c->tcp, reinterpret_cast<sockaddr*>(&sa), on_connect);
    if (r != 0) begin_close(*c, Err::unreachable, true);
}

void Loop::on_connect(uv_connect_t* req, int status) {
    auto* c = static_cast<Conn*>(req->data);
    Loop* self = c->loop;
    if (c->closing) return;  // closed (cancelled) while connecting
    c->connecting = false;
    if (status < 0) {
        self->begin_close(*c, Err::unreachable, true);
        self->pump();
        return;
    }
    self->start_session(*c, c->has_expect ? &c->expect : nullptr);
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->tcp), on_alloc, on_read);
    self->pump();
}

// ---- the Node's actions, timers, the loop turn
// ---------------------------------------------------

void Loop::drain_actions() {
    core::Action a;
    while (node_->poll(&a)) {
        switch (a.kind) {
            case core::Action::Kind::send: {
                Conn* c = find(a.peer);
                if (c == nullptr || c->closing || !c->session || !c->session->is_open()) break;
                // A full TX queue drops the frame; the session counts it and the requester's
                // timeout deals with it (best-effort delivery, DESIGN 3.1).
                (void)c->session->send_data(a.payload, now());
                break;
            }
            case core::Action::Kind::dial: dial(a.dial, a.addr, a.has_expect, a.expect); break;
            case core::Action::Kind::hangup:
                if (a.peer != 0) {
                    if (Conn* c = find(a.peer)) begin_close(*c, Err::session_closed, true);
                } else if (auto it = dial_slots_.find(a.dial); it != dial_slots_.end()) {
                    Conn* c = slots_[it->second].get();
                    if (c != nullptr) begin_close(*c, Err::timeout, false);
                }
                break;
            case core::Action::Kind::done: {
                auto it = waiters_.find(a.result->id);
                if (it == waiters_.end()) break;
                RequestWaiter* w = it->second;
                waiters_.erase(it);
                w->on_request_done(*a.result);
                break;
            }
        }
    }
}

void Loop::pump() {
    if (node_) drain_actions();
}

void Loop::watch(core::RequestId id, RequestWaiter* w) {
    waiters_[id] = w;
}

void Loop::forget(RequestWaiter* w) {
    for (auto it = waiters_.begin(); it != waiters_.end();)
        it = it->second == w ? waiters_.erase(it) : std::next(it);
}

void Loop::on_prepare(uv_prepare_t* p) {
    // Once per loop turn, before the loop sleeps: hand out actions, write everything each
    // session queued in one uv_write per connection, and re-arm the one timer.
    auto* self = static_cast<Loop*>(p->data);
    if (!self->node_) return;
    self->drain_actions();
    for (auto& c : self->slots_)
        if (c && !c->closing && c->session && c->session->has_tx()) self->flush(*c);
    self->rearm();
}

void Loop::rearm() {
    Time next = node_->next_deadline();
    for (auto& c : slots_) {
        if (!c) continue;
        if (c->closing) {
            next = std::min(next, c->closing_since + CLOSE_LINGER);
        } else if (c->session) {
            next = std::min(next, c->session->next_deadline());
        }
    }
    if (next == core::NEVER) {
        uv_timer_stop(&timer_);
        return;
    }
    const Time t = now();
    const uint64_t delay_ms = next > t ? (next - t + 999) / 1000 : 0;
    uv_timer_start(&timer_, on_timer, delay_ms, 0);
}

void Loop::on_timer(uv_timer_t* t) {
    auto* self = static_cast<Loop*>(t->data);
    const Time n = self->now();
    self->node_->on_timer(n);
    self->session_timers();
    self->pump();
}

void Loop::session_timers() {
    const Time n = now();
    for (auto& slot : slots_) {
        Conn* c = slot.get();
        if (c == nullptr) continue;
        if (c->closing) {
            // Stuck in shutdown (the peer stopped reading): cut it.
            if (c->closing_since + CLOSE_LINGER <= n &&
                !uv_is_closing(reinterpret_cast<uv_handle_t*>(&c->tcp)))
                uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), on_closed);
            continue;
        }
        if (!c->session) continue;
        core::SessionEvent ev;
        c->session->on_timer(n, &ev);
        if (ev.type == core::SessionEvent::Type::closed) begin_close(*c, ev.err, true);
    }
}

// ---- limits, stats, shutdown
// ---------------------------------------------------------------------

core::SessionStats Loop::live_session_stats() const {
    core::SessionStats sum;
    for (const auto& c : slots_) {
        if (!c || !c->session || c->closing) continue;
        const core::SessionStats& s = c->session->stats();
        sum.data_before_auth += s.data_before_auth;
        sum.unknown_kind += s.unknown_kind;
        sum.oversize += s.oversize;
        sum.empty += s.empty;
        sum.bad_ctrl += s.bad_ctrl;
        sum.tx_dropped += s.tx_dropped;
        sum.rx_budget += s.rx_budget;
        sum.stalled += s.stalled;
        sum.rx_bytes += s.rx_bytes;
        sum.tx_bytes += s.tx_bytes;
    }
    return sum;
}

void Loop::set_limits(const NetLimits& limits) {
    // The per-IP key keeps the prefix it was counted under until its connection closes.
    opts_.limits = limits;
    rx_budget_.limit = limits.max_reassembly_bytes;
    tx_budget_.limit = limits.max_tx_queue_bytes;
}

NetStats Loop::stats() const {
    NetStats s = stats_;
    s.rx_budget_used = rx_budget_.used;
    s.tx_budget_used = tx_budget_.used;
    return s;
}

void Loop::on_listener_closed(uv_handle_t* h) {
    auto* self = static_cast<Loop*>(h->data);
    self->listener_open_ = false;
}

void Loop::stop_listening() {
    if (listener_open_ && !uv_is_closing(reinterpret_cast<uv_handle_t*>(&listener_))) {
        listening_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&listener_), on_listener_closed);
    }
}

void Loop::close_all() {
    closing_all_ = true;
    stop_listening();
    for (auto& c : slots_)
        if (c && !c->closing) begin_close(*c, Err::shutting_down, false);
    for (uv_getaddrinfo_t* r : resolving_) uv_cancel(reinterpret_cast<uv_req_t*>(r));
    if (handles_open_) {
        handles_open_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&resolve_timer_), nullptr);
    }
}

}  // namespace svcdht::io
