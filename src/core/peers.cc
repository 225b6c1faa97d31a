// SPDX-License-Identifier: MIT
// The Session-Node composition (see peers.h): sessions in generation-checked slots, their
// events fed to the Node, the Node's actions drained into them under the drain-time rule,
// the connection limits and the node-wide budgets. Sans-IO; no clock reads.
#include "svcdht/peers.h"

#include <algorithm>

#include "svcdht/check.h"

namespace svcdht::core {

struct Peers::Slot {
    Slot(const SessionConfig& cfg, const Identity& self, Env env, Time now, const NodeId* expect,
         SessionBudgets budgets, SessionStats* totals)
        : session(cfg, self, env, now, expect, budgets, totals) {}

    Session session;  // in the slot: one allocation and one pointer less per connection
    PeerRef ref = 0;
    DialId dial = 0;  // ours: the dial this connection answers (0 when inbound)
    PeerAddr remote;
    PeerAddr host;  // the per-host key, when counted
    uint64_t arrival = 0;
    Time armed = NEVER;  // the deadline in timers_ for this slot
    uint64_t tag = 0;    // the embedder's (set_tag)
    bool inbound = false;
    bool open = false;
    bool closing = false;  // the embedder was asked to close it; the Node knows
    bool host_counted = false;
    bool dirty = false;
};

namespace {

uint32_t slot_of(PeerRef r) {
    return static_cast<uint32_t>(r & 0xffffffffu);
}
uint32_t gen_of(PeerRef r) {
    return static_cast<uint32_t>(r >> 32);
}

// The per-host key: the address without its port, and for IPv6 only its first |v6_prefix|
// bits (one host normally holds a whole /64).
PeerAddr host_key(PeerAddr a, uint32_t v6_prefix) {
    a.port = 0;
    if (a.ip_len == 16) {
        for (uint32_t bit = std::min<uint32_t>(v6_prefix, 128); bit < 128; ++bit)
            a.ip[bit / 8] = static_cast<uint8_t>(a.ip[bit / 8] & ~(0x80u >> (bit % 8)));
    }
    return a;
}

bool later(const std::pair<Time, PeerRef>& a, const std::pair<Time, PeerRef>& b) {
    return a > b;
}

}  // namespace

Peers::Peers(Node& node, const SessionConfig& scfg, const Identity& self, Env env,
             PeerLimits limits)
    : node_(node), scfg_(scfg), self_(self), env_(env), limits_(limits) {
    rx_budget_.limit = limits.max_reassembly_bytes;
    tx_budget_.limit = limits.max_tx_queue_bytes;
}

Peers::~Peers() = default;

Peers::Slot* Peers::find(PeerRef ref) {
    const uint32_t i = slot_of(ref);
    if (i >= slots_.size() || !slots_[i] || slots_[i]->ref != ref) return nullptr;
    return slots_[i].get();
}

const Peers::Slot* Peers::find(PeerRef ref) const {
    return const_cast<Peers*>(this)->find(ref);
}

const PeerAddr* Peers::remote(PeerRef ref) const {
    const Slot* s = find(ref);
    return s == nullptr ? nullptr : &s->remote;
}

void Peers::set_tag(PeerRef ref, uint64_t tag) {
    if (Slot* s = find(ref)) s->tag = tag;
}

uint64_t Peers::tag(PeerRef ref) const {
    const Slot* s = find(ref);
    return s == nullptr ? 0 : s->tag;
}

void Peers::set_limits(const PeerLimits& limits) {
    // A host keeps the key it was counted under until its connection closes.
    limits_.max_conns = limits.max_conns;
    limits_.max_handshakes = limits.max_handshakes;
    limits_.max_conns_per_ip = limits.max_conns_per_ip;
    limits_.conns_v6_prefix = limits.conns_v6_prefix;
    limits_.max_reassembly_bytes = limits.max_reassembly_bytes;
    limits_.max_tx_queue_bytes = limits.max_tx_queue_bytes;
    rx_budget_.limit = limits.max_reassembly_bytes;
    tx_budget_.limit = limits.max_tx_queue_bytes;
}

// ---- connections ----------------------------------------------------------------------------

PeerRef Peers::add(bool inbound, DialId dial, const PeerAddr& remote, const NodeId* expect,
                   Time now) {
    uint32_t i;
    if (!free_.empty()) {
        i = free_.back();
        free_.pop_back();
    } else {
        i = static_cast<uint32_t>(slots_.size());
        slots_.emplace_back();
        gens_.push_back(0);
    }
    auto s = std::make_unique<Slot>(scfg_, self_, env_, now, expect,
                                    SessionBudgets{&rx_budget_, &tx_budget_}, &session_totals_);
    s->ref = (uint64_t{++gens_[i]} << 32) | i;  // generation from 1: a ref is never 0
    s->inbound = inbound;
    s->dial = dial;
    s->remote = remote;
    s->arrival = ++arrivals_;
    Slot& slot = *s;
    slots_[i] = std::move(s);
    ++live_;
    if (inbound) ++handshaking_in_;
    touch(slot);
    mark_dirty(slot);  // HELLO and ident go out at once
    return slot.ref;
}

bool Peers::can_accept() const {
    return live_ + dialing_.size() < limits_.hard_cap() ||
           handshaking_in_ >= limits_.handshake_cap();
}

PeerRef Peers::accepted(const PeerAddr& remote, Time now) {
    PeerAddr key;
    if (!remote.is_loopback()) {
        key = host_key(remote, limits_.conns_v6_prefix);
        auto it = std::lower_bound(per_host_.begin(), per_host_.end(), std::make_pair(key, 0u));
        if (it != per_host_.end() && it->first == key && it->second >= limits_.max_conns_per_ip) {
            ++stats_.rejected_per_ip;
            return 0;
        }
    }
    // A new connection has proved nothing, so it competes only with the others that have
    // proved nothing: at the handshake cap the oldest of them is cut. Open sessions are
    // never closed to admit a stranger.
    if (handshaking_in_ >= limits_.handshake_cap()) evict_oldest_handshake(now);
    if (live_ + dialing_.size() >= limits_.hard_cap()) {
        ++stats_.refused_full;
        return 0;
    }
    const PeerRef ref = add(true, 0, remote, nullptr, now);
    ++stats_.accepted;
    if (!remote.is_loopback()) {
        Slot& s = *find(ref);
        s.host = key;
        s.host_counted = true;
        auto it = std::lower_bound(per_host_.begin(), per_host_.end(), std::make_pair(key, 0u));
        if (it == per_host_.end() || it->first != key) it = per_host_.insert(it, {key, 0u});
        ++it->second;
    }
    drain(now);
    return ref;
}

bool Peers::take_dialing(DialId dial, Dialing* out) {
    auto it = std::find_if(dialing_.begin(), dialing_.end(),
                           [&](const Dialing& d) { return d.dial == dial; });
    if (it == dialing_.end()) return false;
    if (out != nullptr) *out = *it;
    dialing_.erase(it);
    // A join dials dozens at once; the list does not keep that room afterwards.
    if (dialing_.capacity() > KEPT_EVENTS && dialing_.size() < dialing_.capacity() / 4)
        dialing_.shrink_to_fit();
    return true;
}

PeerRef Peers::connected(DialId dial, const PeerAddr& remote, Time now) {
    Dialing d;
    if (!take_dialing(dial, &d)) {
        std::erase(cancelled_, dial);
        return 0;
    }
    const PeerRef ref = add(false, dial, remote, d.has_expect ? &d.expect : nullptr, now);
    // The Node may send its first request early, right behind our ident (docs/PROTOCOL.md
    // 1.3), unless early requests are off here.
    node_.on_dial_connected(dial, ref != 0 && scfg_.early_requests ? ref : 0, now);
    drain(now);
    return ref;
}

void Peers::dial_failed(DialId dial, Err why, Time now) {
    if (!take_dialing(dial, nullptr)) {
        std::erase(cancelled_, dial);  // the Node gave it up already
        return;
    }
    node_.on_dial_failed(dial, why, now);
    drain(now);
}

void Peers::received(PeerRef ref, ByteView bytes, Time now) {
    Slot* s = find(ref);
    if (s == nullptr || s->closing) return;
    feed(*s, bytes, now);
    drain(now);
}

void Peers::feed(Slot& s, ByteView bytes, Time now) {
    Session& ss = s.session;
    while (!bytes.empty() && !s.closing) {
        SessionEvent ev;
        const size_t n = ss.recv(bytes, now, &ev);
        bytes = bytes.subspan(n);
        switch (ev.type) {
            case SessionEvent::Type::none: break;
            case SessionEvent::Type::opened: {
                s.open = true;
                ++open_;
                if (s.inbound) --handshaking_in_;
                SessionInfo info;
                info.id = ss.peer_id();
                info.remote = s.remote;
                info.ident_port = ss.peer_port();
                info.handshake_rtt = now - ss.started();
                info.early_taken = ss.peer_took_early();
                node_.on_session_open(s.ref, info, s.dial, now);
                // A session that has proved its id may take the place of an idle one.
                if (open_ > limits_.max_conns) evict_for(s, now);
                break;
            }
            case SessionEvent::Type::data: node_.on_frame(s.ref, ev.payload, now); break;
            case SessionEvent::Type::early: {
                SessionInfo claimed;
                claimed.id = ss.peer_id();
                claimed.remote = s.remote;
                claimed.ident_port = ss.peer_port();
                node_.on_early_request(s.ref, claimed, ev.payload, now);
                break;
            }
            case SessionEvent::Type::closed: lost(s, ev.err, true, now); break;
        }
        if (n == 0 && ev.type == SessionEvent::Type::none) break;
    }
    ss.recv_done();
    if (!s.closing) {
        touch(s);
        if (ss.has_tx()) mark_dirty(s);
    }
}

void Peers::sent(PeerRef ref, size_t n) {
    if (Slot* s = find(ref)) s->session.tx_done(n);
}

void Peers::lost(Slot& s, Err why, bool flush, Time now) {
    if (s.closing) return;
    s.closing = true;
    --live_;
    if (s.open) {
        --open_;
        node_.on_session_closed(s.ref, why, now);
    } else {
        if (s.inbound) --handshaking_in_;
        if (s.dial != 0) node_.on_dial_failed(s.dial, why, now);
    }
    s.session.close(why);
    PeerEvent e;
    e.kind = PeerEvent::Kind::close;
    e.ref = s.ref;
    e.flush = flush && s.session.has_tx();
    emit(e);
}

void Peers::closed(PeerRef ref, Err why, Time now) {
    Slot* s = find(ref);
    if (s == nullptr) return;
    if (!s->closing) {
        lost(*s, why, false, now);
        // The socket is gone already: its close output asks for nothing more.
        out_.pop_back();
    }
    if (s->host_counted) {
        auto it = std::lower_bound(per_host_.begin(), per_host_.end(), std::make_pair(s->host, 0u));
        if (it != per_host_.end() && it->first == s->host && --it->second == 0) per_host_.erase(it);
    }
    const uint32_t i = slot_of(ref);
    slots_[i].reset();  // gives the session's share of the budgets back
    free_.push_back(i);
    drain(now);
}

void Peers::evict_oldest_handshake(Time now) {
    Slot* oldest = nullptr;
    for (auto& s : slots_) {
        if (!s || s->closing || s->open || !s->inbound) continue;
        if (oldest == nullptr || s->arrival < oldest->arrival) oldest = s.get();
    }
    if (oldest == nullptr) return;
    ++stats_.handshakes_evicted;
    if (env_.log != nullptr && env_.log->enabled(LogLevel::warn)) {
        const std::string from = oldest->remote.format();
        const LogField f[] = {{"addr", from}};
        env_.log->log(LogLevel::warn, "handshake evicted: max_handshakes reached", f);
    }
    // A stranger cut to make room gets no goodbye: it would only hold its slot longer.
    lost(*oldest, Err::conn_evicted, false, now);
}

void Peers::evict_for(const Slot& opened, Time now) {
    // The session idle the longest (its deadline, last activity + idle timeout, is the
    // earliest) goes first, taken from peers that are not routing-table contacts when there
    // are any: a stranger's fresh keys should not push out the peers we route by.
    Slot* victim = nullptr;
    bool victim_contact = true;
    for (auto& s : slots_) {
        if (!s || s.get() == &opened || s->closing || !s->open) continue;
        const bool contact = node_.table().contains(s->session.peer_id());
        const Time d = s->session.next_deadline();
        if (victim == nullptr || (victim_contact && !contact) ||
            (contact == victim_contact && d < victim->session.next_deadline())) {
            victim = s.get();
            victim_contact = contact;
        }
    }
    if (victim == nullptr) return;
    ++stats_.evicted_idle;
    if (env_.log != nullptr && env_.log->enabled(LogLevel::warn)) {
        const std::string peer = victim->session.peer_id().hex();
        const LogField f[] = {{"peer_id", peer}, {"contact", victim_contact ? "true" : "false"}};
        env_.log->log(LogLevel::warn, "idle session evicted: max_conns reached", f);
    }
    lost(*victim, Err::conn_evicted, true, now);
}

void Peers::close_all() {
    for (auto& s : slots_) {
        if (!s || s->closing) continue;
        s->closing = true;
        --live_;
        if (s->open) --open_;
        if (s->inbound && !s->open) --handshaking_in_;
        s->session.close(Err::shutting_down);
        PeerEvent e;
        e.kind = PeerEvent::Kind::close;
        e.ref = s->ref;
        emit(e);
    }
    for (const Dialing& d : dialing_) {
        PeerEvent e;
        e.kind = PeerEvent::Kind::cancel_dial;
        e.dial = d.dial;
        emit(e);
        cancelled_.push_back(d.dial);
    }
    dialing_.clear();
}

// ---- timers -----------------------------------------------------------------------------------

void Peers::touch(Slot& s) {
    const Time d = s.session.next_deadline();
    if (d == NEVER || d >= s.armed) return;
    s.armed = d;
    if (timers_.size() >= timers_sweep_at_) sweep_timers();
    timers_.push_back({d, s.ref});
    std::push_heap(timers_.begin(), timers_.end(), later);
}

void Peers::sweep_timers() {
    std::erase_if(timers_, [&](const std::pair<Time, PeerRef>& t) {
        const Slot* s = find(t.second);
        return s == nullptr || s->closing || t.first != s->armed;
    });
    std::make_heap(timers_.begin(), timers_.end(), later);
    timers_sweep_at_ = std::max(MIN_TIMER_SWEEP, 2 * timers_.size());
    if (timers_.capacity() > 2 * timers_sweep_at_) timers_.shrink_to_fit();
}

Time Peers::next_deadline() const {
    const Time t = node_.next_deadline();
    return timers_.empty() ? t : std::min(t, timers_.front().first);
}

void Peers::on_timer(Time now) {
    node_.on_timer(now);
    while (!timers_.empty() && timers_.front().first <= now) {
        std::pop_heap(timers_.begin(), timers_.end(), later);
        const auto [at, ref] = timers_.back();
        timers_.pop_back();
        Slot* s = find(ref);
        // An entry superseded by an earlier one armed since is stale.
        if (s == nullptr || s->closing || at != s->armed) continue;
        s->armed = NEVER;
        SessionEvent ev;
        s->session.on_timer(now, &ev);
        if (ev.type == SessionEvent::Type::closed) {
            lost(*s, ev.err, true, now);
        } else {
            touch(*s);  // not due yet: its activity moved the deadline on
        }
    }
    drain(now);
}

// ---- the Node's actions -----------------------------------------------------------------------

void Peers::pump(Time now) {
    drain(now);
}

void Peers::emit(const PeerEvent& e) {
    out_.push_back(e);
}

void Peers::mark_dirty(Slot& s) {
    if (s.dirty) return;
    s.dirty = true;
    dirty_.push_back(s.ref);
}

void Peers::drain(Time now) {
    for (;;) {
        Action a;
        while (node_.poll(&a)) handle(a, now);
        if (hangups_.empty() && refused_dials_.empty()) return;
        // The drain-time rule (peers.h): the Node is quiet now, so it may hear of these.
        std::vector<PeerRef> hangups;
        hangups.swap(hangups_);
        for (PeerRef ref : hangups)
            if (Slot* s = find(ref)) lost(*s, Err::session_closed, true, now);
        std::vector<DialId> refused;
        refused.swap(refused_dials_);
        for (DialId d : refused) node_.on_dial_failed(d, Err::busy, now);
    }
}

void Peers::handle(const Action& a, Time now) {
    switch (a.kind) {
        case Action::Kind::send: {
            Slot* s = find(a.peer);
            if (s == nullptr || s->closing) return;
            // A full queue or budget drops the frame: the session counts it and the
            // requester's timeout deals with it (best-effort delivery, DESIGN 3.1). Before
            // the session opens it takes only our early request and the answer to the
            // peer's.
            const Err e = a.early ? s->session.send_early(a.payload, now)
                                  : s->session.send_data(a.payload, now);
            if (e == Err::ok) {
                mark_dirty(*s);
                touch(*s);
            }
            return;
        }
        case Action::Kind::dial: {
            if (live_ + dialing_.size() >= limits_.hard_cap()) {
                refused_dials_.push_back(a.dial);
                return;
            }
            dialing_.push_back({a.dial, a.has_expect, a.expect});
            ++stats_.dialed;
            PeerEvent e;
            e.kind = PeerEvent::Kind::dial;
            e.dial = a.dial;
            e.addr = a.addr;
            emit(e);
            return;
        }
        case Action::Kind::hangup: {
            if (a.peer != 0) {
                hangups_.push_back(a.peer);
                return;
            }
            // A dial the Node gave up (it already counted it as failed): abort the connect,
            // or close the connection if it is up but has not authenticated yet.
            if (take_dialing(a.dial, nullptr)) {
                cancelled_.push_back(a.dial);
                PeerEvent e;
                e.kind = PeerEvent::Kind::cancel_dial;
                e.dial = a.dial;
                emit(e);
                return;
            }
            for (auto& s : slots_) {
                if (!s || s->closing || s->open || s->dial != a.dial) continue;
                s->dial = 0;  // so that its close is not reported as a failed dial again
                hangups_.push_back(s->ref);
            }
            return;
        }
        case Action::Kind::done: {
            results_.push_back(*a.result);
            PeerEvent e;
            e.kind = PeerEvent::Kind::done;
            e.result = &results_.back();
            emit(e);
            return;
        }
    }
}

bool Peers::poll(PeerEvent* out) {
    if (out_head_ < out_.size()) {
        *out = out_[out_head_++];
        return true;
    }
    if (out_.capacity() > KEPT_EVENTS) {
        std::vector<PeerEvent>().swap(out_);  // a burst's room goes back
    } else {
        out_.clear();
    }
    out_head_ = 0;
    results_.clear();
    return false;
}

void Peers::take_dirty(std::vector<PeerRef>& out) {
    out.clear();
    for (PeerRef ref : dirty_) {
        Slot* s = find(ref);
        if (s == nullptr) continue;
        s->dirty = false;
        if (s->session.has_tx()) out.push_back(ref);
    }
    dirty_.clear();
}

void Peers::take_tx(PeerRef ref, Bytes* out) {
    Slot* s = find(ref);
    if (s == nullptr) {
        out->clear();
        return;
    }
    s->session.take_tx(out);
}

// ---- views ------------------------------------------------------------------------------------

void Peers::check_invariants() const {
    size_t live = 0, open = 0, hs = 0;
    for (size_t i = 0; i < slots_.size(); ++i) {
        const Slot* s = slots_[i].get();
        if (s == nullptr) continue;
        SVCDHT_CHECK(slot_of(s->ref) == i && gen_of(s->ref) == gens_[i],
                     "a slot holds its own ref");
        if (s->closing) continue;
        ++live;
        open += s->open ? 1 : 0;
        hs += s->inbound && !s->open ? 1 : 0;
        SVCDHT_CHECK(s->open == s->session.is_open(), "a slot's open flag is its session's");
        SVCDHT_CHECK(
            s->armed == NEVER || std::find(timers_.begin(), timers_.end(),
                                           std::make_pair(s->armed, s->ref)) != timers_.end(),
            "an armed slot's deadline is in the timer heap");
    }
    SVCDHT_CHECK(live == live_ && open == open_ && hs == handshaking_in_,
                 "the connection counts match the slots");
    SVCDHT_CHECK(timers_.size() <= std::max(timers_sweep_at_, MIN_TIMER_SWEEP),
                 "the timer heap is swept as it grows");
}

}  // namespace svcdht::core
