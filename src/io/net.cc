// SPDX-License-Identifier: MIT
// The peer network on a caller's libuv loop (see net.h): Peers' outputs routed to the
// listener, the dialer and the connections, one flush and one timer per loop turn.
#include "io/net.h"

#include <algorithm>

#include "io/addr.h"
#include "io/conn.h"

namespace svcdht::io {

using core::Time;

namespace {
// A connection closing gracefully whose last bytes do not drain within this time is cut.
constexpr Time CLOSE_LINGER = core::secs(2);
constexpr size_t RX_BUF = 64 * 1024;
}  // namespace

Net::Net(uv_loop_t* uv, NetOptions opts, core::LogSink* log)
    : uv_(uv),
      opts_(std::move(opts)),
      log_(log),
      listener_(*this),
      dialer_(*this, uv),
      rx_buf_(RX_BUF) {
    uv_timer_init(uv_, &timer_);
    timer_.data = this;
    uv_prepare_init(uv_, &prepare_);
    prepare_.data = this;
    uv_prepare_start(&prepare_, on_prepare);
    handles_open_ = true;
}

Net::~Net() = default;

WriteReq* Net::write_req() {
    if (spare_writes_.empty()) return new WriteReq;
    WriteReq* w = spare_writes_.back().release();
    spare_writes_.pop_back();
    return w;
}

void Net::recycle(WriteReq* w) {
    if (spare_writes_.size() >= SPARE_WRITES) {
        delete w;
        return;
    }
    core::Bytes().swap(w->buf);
    w->conn = nullptr;
    spare_writes_.emplace_back(w);
}

bool Net::bind(std::string* err) {
    if (opts_.listen.empty()) return true;
    return listener_.bind(uv_, opts_.listen, opts_.tcp_fastopen ? opts_.limits.handshake_cap() : 0,
                          err);
}

void Net::start(core::Node& node, const core::SessionConfig& scfg, const core::Identity& self,
                core::Env env) {
    peers_ = std::make_unique<core::Peers>(node, scfg, self, env, opts_.limits);
    if (opts_.seeds.empty() && !opts_.listen.empty() && log_ != nullptr)
        log_->log(core::LogLevel::warn, "no bootstrap seeds configured: running standalone", {});
    dialer_.add_seeds(opts_.seeds);
    pump();
}

NetStats Net::stats() const {
    NetStats s;
    if (peers_) {
        s.peers = peers_->stats();
        s.rx_budget_used = peers_->rx_budget_used();
        s.tx_budget_used = peers_->tx_budget_used();
    }
    s.accept_paused = listener_.paused_count();
    s.io_errors = io_errors_;
    s.fastopen_dialed = fastopen_dialed_;
    s.fastopen_accepted = fastopen_accepted_;
    return s;
}

uv_buf_t Net::rx_buffer() {
    return uv_buf_init(rx_buf_.data(), static_cast<unsigned>(rx_buf_.size()));
}

// ---- Peers' outputs ------------------------------------------------------------------------

void Net::pump() {
    if (!peers_) return;
    peers_->pump(now_us());
    after_input();
}

void Net::after_input() {
    if (!peers_) return;
    core::PeerEvent e;
    while (peers_->poll(&e)) route(e);
}

void Net::route(const core::PeerEvent& e) {
    switch (e.kind) {
        case core::PeerEvent::Kind::dial:
            if (closing_all_) {
                peers_->dial_failed(e.dial, core::Err::shutting_down, now_us());
            } else {
                dialer_.dial(e.dial, e.addr);
            }
            return;
        case core::PeerEvent::Kind::cancel_dial: dialer_.cancel(e.dial); return;
        case core::PeerEvent::Kind::close: {
            auto it = by_ref_.find(e.ref);
            if (it == by_ref_.end()) return;
            Conn* c = it->second;
            if (e.flush) {
                core::Bytes last;
                peers_->take_tx(e.ref, &last);
                if (!last.empty()) c->write(std::move(last));
            }
            c->close(e.flush, false, core::Err::session_closed);
            return;
        }
        case core::PeerEvent::Kind::done: {
            auto it = waiters_.find(e.result->id);
            if (it == waiters_.end()) return;
            RequestWaiter* w = it->second;
            waiters_.erase(it);
            w->on_request_done(*e.result);
            return;
        }
    }
}

void Net::watch(core::RequestId id, RequestWaiter* w) {
    waiters_[id] = w;
}

void Net::forget(RequestWaiter* w) {
    for (auto it = waiters_.begin(); it != waiters_.end();)
        it = it->second == w ? waiters_.erase(it) : std::next(it);
}

// ---- the loop turn ----------------------------------------------------------------------------

void Net::on_prepare(uv_prepare_t* p) {
    // Once per loop turn, before the loop sleeps: write everything each session queued in
    // one uv_write per connection, and re-arm the one timer.
    auto* self = static_cast<Net*>(p->data);
    if (!self->peers_) return;
    self->flush();
    self->rearm();
}

void Net::flush() {
    if (hook_ != nullptr && hook_->before_flush()) pump();
    peers_->take_dirty(dirty_);
    for (core::PeerRef ref : dirty_) {
        auto it = by_ref_.find(ref);
        if (it == by_ref_.end() || it->second->closing()) continue;
        core::Bytes out;
        peers_->take_tx(ref, &out);
        if (!out.empty()) it->second->write(std::move(out));
    }
    after_input();  // a failed write reports a close
}

void Net::rearm() {
    Time next = peers_->next_deadline();
    for (Conn* c : lingering_) next = std::min(next, c->closing_since() + CLOSE_LINGER);
    if (next == core::NEVER) {
        uv_timer_stop(&timer_);
        return;
    }
    const Time t = now_us();
    const uint64_t delay_ms = next > t ? (next - t + 999) / 1000 : 0;
    uv_timer_start(&timer_, on_timer, delay_ms, 0);
}

void Net::on_timer(uv_timer_t* t) {
    auto* self = static_cast<Net*>(t->data);
    self->peers_->on_timer(now_us());
    self->after_input();
    self->cut_lingering();
}

void Net::cut_lingering() {
    // Stuck in a graceful close (the peer stopped reading): cut it.
    const Time n = now_us();
    const std::vector<Conn*> all = lingering_;
    for (Conn* c : all)
        if (c->closing_since() + CLOSE_LINGER <= n) c->cut();
}

// ---- connections ------------------------------------------------------------------------------

void Net::adopt(Conn*) {
    ++conns_;
}

void Net::attach(Conn* c, core::PeerRef ref) {
    by_ref_[ref] = c;
}

void Net::conn_closing(Conn* c) {
    lingering_.push_back(c);
}

void Net::conn_freed(Conn* c) {
    if (c->ref() != 0) by_ref_.erase(c->ref());
    std::erase(lingering_, c);
    --conns_;
    listener_.resume();
}

// ---- limits and shutdown ----------------------------------------------------------------------

void Net::set_limits(const core::PeerLimits& limits) {
    opts_.limits = limits;
    if (peers_) peers_->set_limits(limits);
}

void Net::stop_listening() {
    listener_.close();
}

void Net::close_all() {
    closing_all_ = true;
    stop_listening();
    if (peers_) {
        peers_->close_all();
        after_input();
    }
    dialer_.close();
    if (handles_open_) {
        handles_open_ = false;
        uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
        uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), nullptr);
    }
}

}  // namespace svcdht::io
