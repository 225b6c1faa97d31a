// SPDX-License-Identifier: MIT
// The simulator (see simnet.h). Everything is driven from one priority queue; nothing here
// reads a clock or iterates a hash map into an output, so a seed replays exactly.
#include "simnet.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "platform/sodium.h"
#include "svcdht/blake3.h"
#include "svcdht/message.h"

namespace svcdht::sim {

using namespace core;

// ---- FastCrypto ----------------------------------------------------------------------------

KeyPair FastCrypto::keypair_from_seed(const Seed32& seed) const {
    KeyPair kp;
    const auto h = blake3({seed.data(), seed.size()});
    std::memcpy(kp.pk.data(), h.data(), 32);
    std::memcpy(kp.sk.data(), seed.data(), 32);
    std::memcpy(kp.sk.data() + 32, kp.pk.data(), 32);
    return kp;
}

Signature FastCrypto::sign(const SecretKey& sk, ByteView msg) const {
    std::array<uint8_t, 32> key;
    std::memcpy(key.data(), sk.data() + 32, 32);  // the public half: forgeable by design
    const auto h = blake3_keyed(key, msg);
    Signature s{};
    std::memcpy(s.data(), h.data(), 32);
    return s;
}

bool FastCrypto::verify(const PublicKey& pk, ByteView msg, const Signature& sig) const {
    const auto h = blake3_keyed(pk, msg);
    return std::memcmp(h.data(), sig.data(), 32) == 0;
}

// ---- structures ------------------------------------------------------------------------------

namespace {
enum EventKind : uint8_t {
    E_DELIVER = 1,
    E_FIN,
    E_CONNECT,
    E_CONNECT_FAIL,
    E_NODE_TIMER,
    E_SESSION_TIMER
};

PeerRef ref_of(uint32_t conn, int side) {
    return (uint64_t{conn} << 1) | static_cast<uint64_t>(side);
}
uint32_t conn_of(PeerRef r) {
    return static_cast<uint32_t>(r >> 1);
}
int side_of(PeerRef r) {
    return static_cast<int>(r & 1);
}
}  // namespace

struct Sim::Event {
    Time at = 0;
    uint64_t seq = 0;
    uint8_t kind = 0;
    uint32_t a = 0;  // host or conn
    uint32_t b = 0;  // side, target host or incarnation
    uint64_t c = 0;  // dial id
    Bytes data;
};

struct Sim::Host {
    uint32_t idx = 0;
    PeerAddr addr;
    Identity ident;
    std::unique_ptr<SeededRng> rng;
    std::unique_ptr<Node> node;
    SessionConfig scfg;
    bool up = false;
    bool slow = false;
    bool hostile = false;
    uint32_t incarnation = 0;
    Time timer_at = NEVER;
    std::map<RequestId, RequestResult> results;
    std::vector<uint32_t> conns;
    std::map<DialId, bool> cancelled;
    uint64_t hostile_dials = 0;
};

struct Sim::Conn {
    uint32_t id = 0;
    uint32_t host[2] = {0, 0};
    std::unique_ptr<Session> s[2];
    DialId dial = 0;
    bool opened[2] = {false, false};
    bool closed[2] = {false, false};
    bool dead = false;  // blackholed: nothing gets through any more
    Time last_arrival[2] = {0, 0};
    Time base = 0;
    Time timer_at[2] = {NEVER, NEVER};
    PeerAddr remote[2];
};

// ---- setup
// ---------------------------------------------------------------------------------------

Sim::Sim(const SimConfig& cfg)
    : cfg_(cfg), rng_(cfg.seed), seed_state_(cfg.seed ^ 0x5eed5eed5eedULL) {
    if (cfg_.fast_crypto) {
        crypto_ = std::make_unique<FastCrypto>();
    } else {
        if (!platform::platform_init()) std::abort();
        crypto_ = std::make_unique<platform::SodiumCrypto>();
    }
}

Sim::~Sim() = default;

uint32_t Sim::add_host(bool slow, bool hostile) {
    auto h = std::make_unique<Host>();
    h->idx = static_cast<uint32_t>(hosts_.size());
    const uint64_t host_seed = splitmix64(seed_state_);
    h->rng = std::make_unique<SeededRng>(host_seed);
    Seed32 seed;
    h->rng->fill(seed.data(), seed.size());
    h->ident = make_identity(crypto(), seed);
    // A public IPv4 address (the diversity caps apply), unique per host.
    static constexpr uint8_t FIRST_OCTETS[] = {1,   2,   3,   5,   8,   12,  13,  17,  20,  23,
                                               31,  37,  41,  45,  50,  62,  66,  77,  80,  85,
                                               91,  95,  104, 109, 118, 123, 130, 138, 141, 147,
                                               151, 158, 162, 176, 185, 193, 203, 212, 217};
    for (;;) {
        const uint64_t r = h->rng->next_u64();
        const uint8_t a = FIRST_OCTETS[r % sizeof FIRST_OCTETS];
        const PeerAddr addr =
            PeerAddr::v4(a, static_cast<uint8_t>(r >> 8), static_cast<uint8_t>(r >> 16),
                         static_cast<uint8_t>(1 + (r >> 24) % 254), 9444);
        if (by_addr_.count(addr) != 0) continue;
        h->addr = addr;
        break;
    }
    h->slow = slow;
    h->hostile = hostile;
    h->scfg.network = cfg_.node.network;
    h->scfg.listen_port = h->addr.port;
    by_addr_[h->addr] = h->idx;
    by_id_[h->ident.id] = h->idx;
    if (hostile) hostile_hosts_.push_back(h->idx);
    hosts_.push_back(std::move(h));
    return hosts_.back()->idx;
}

void Sim::start(uint32_t hi, const std::vector<uint32_t>& seeds) {
    Host& h = *hosts_[hi];
    h.up = true;
    if (h.hostile) {
        // Hostile hosts push themselves into honest tables by opening sessions.
        for (uint32_t s : seeds) connect(hi, ++h.hostile_dials, hosts_[s]->addr, false, NodeId{});
        flush_dirty();
        return;
    }
    NodeConfig nc = cfg_.node;
    nc.listen_port = h.addr.port;
    nc.unix_epoch_offset_us = 1767225600LL * 1000000;  // virtual 2026-01-01
    h.node = std::make_unique<Node>(nc, h.ident, Env{h.rng.get(), &crypto(), nullptr}, now_);
    for (uint32_t s : seeds) h.node->add_seed(hosts_[s]->addr, now_);
    drain(hi);
    flush_dirty();
}

void Sim::crash(uint32_t hi) {
    Host& h = *hosts_[hi];
    if (!h.up) return;
    h.up = false;
    ++h.incarnation;
    h.node.reset();
    h.timer_at = NEVER;
    for (uint32_t cid : h.conns) {
        auto it = conns_.find(cid);
        if (it == conns_.end()) continue;
        Conn& c = *it->second;
        c.dead = true;
        for (int side = 0; side < 2; ++side) {
            if (c.host[side] != hi) continue;
            c.closed[side] = true;
            c.s[side].reset();
        }
    }
    h.conns.clear();
}

void Sim::restart(uint32_t hi, const std::vector<uint32_t>& seeds) {
    Host& h = *hosts_[hi];
    if (h.up) return;
    h.rng = std::make_unique<SeededRng>(splitmix64(seed_state_));
    start(hi, seeds);
}

void Sim::partition(const std::vector<uint8_t>& group_of_host) {
    group_ = group_of_host;
    for (auto& [id, c] : conns_)
        if (!reachable(c->host[0], c->host[1])) c->dead = true;
}

void Sim::heal() {
    group_.clear();
}

bool Sim::reachable(uint32_t a, uint32_t b) const {
    if (group_.empty()) return true;
    const uint8_t ga = a < group_.size() ? group_[a] : 0;
    const uint8_t gb = b < group_.size() ? group_[b] : 0;
    return ga == gb;
}

// ---- queries -----------------------------------------------------------------------------------

bool Sim::up(uint32_t h) const {
    return hosts_[h]->up;
}
bool Sim::hostile(uint32_t h) const {
    return hosts_[h]->hostile;
}
bool Sim::slow(uint32_t h) const {
    return hosts_[h]->slow;
}
const NodeId& Sim::id(uint32_t h) const {
    return hosts_[h]->ident.id;
}
uint32_t Sim::host_of(const NodeId& id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? UINT32_MAX : it->second;
}
const PeerAddr& Sim::addr(uint32_t h) const {
    return hosts_[h]->addr;
}
Node* Sim::node(uint32_t h) {
    return hosts_[h]->node.get();
}

const RequestResult* Sim::result(uint32_t h, RequestId id) const {
    const auto& r = hosts_[h]->results;
    auto it = r.find(id);
    return it == r.end() ? nullptr : &it->second;
}

std::vector<uint32_t> Sim::true_closest(const NodeId& target, size_t n, uint32_t except) const {
    std::vector<uint32_t> all;
    for (const auto& h : hosts_)
        if (h->up && !h->hostile && h->idx != except) all.push_back(h->idx);
    const size_t m = std::min(n, all.size());
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(m), all.end(),
                      [&](uint32_t a, uint32_t b) {
                          return closer_to(target, hosts_[a]->ident.id, hosts_[b]->ident.id);
                      });
    all.resize(m);
    return all;
}

uint64_t Sim::rng_draw(uint64_t below) {
    return rng_.below(below);
}

// ---- API wrappers
// --------------------------------------------------------------------------------

#define SIM_API(call)                     \
    Host& host = *hosts_[h];              \
    if (!host.node) return 0;             \
    const RequestId id = host.node->call; \
    drain(h);                             \
    flush_dirty();                        \
    arm_node_timer(h);                    \
    return id

RequestId Sim::closest(uint32_t h, const Key& key, LookupOptions o) {
    SIM_API(closest(key, now_, o));
}
RequestId Sim::find_providers(uint32_t h, const Key& key, LookupOptions o) {
    SIM_API(find_providers(key, now_, o));
}
RequestId Sim::get(uint32_t h, const Key& key, LookupOptions o) {
    SIM_API(get(key, now_, o));
}
RequestId Sim::provide(uint32_t h, const Key& key, uint64_t ttl_secs) {
    const std::vector<std::string> addrs = {"tcp://" + hosts_[h]->addr.format()};
    SIM_API(provide(key, addrs, ttl_secs, now_));
}
RequestId Sim::put(uint32_t h, ByteView value) {
    SIM_API(put(value, now_));
}
#undef SIM_API

// ---- the event loop
// ------------------------------------------------------------------------------

void Sim::push(Event e) {
    e.seq = seq_++;
    queue_.push_back(std::move(e));
    std::push_heap(queue_.begin(), queue_.end(), [](const Event& x, const Event& y) {
        return x.at != y.at ? x.at > y.at : x.seq > y.seq;
    });
}

void Sim::mix(uint64_t v) {
    for (int i = 0; i < 8; ++i) {
        hash_ ^= (v >> (8 * i)) & 0xff;
        hash_ *= 1099511628211ULL;
    }
}

void Sim::run_until(Time t) {
    const auto later = [](const Event& x, const Event& y) {
        return x.at != y.at ? x.at > y.at : x.seq > y.seq;
    };
    while (!queue_.empty() && queue_.front().at <= t) {
        std::pop_heap(queue_.begin(), queue_.end(), later);
        Event e = std::move(queue_.back());
        queue_.pop_back();
        now_ = std::max(now_, e.at);
        ++events_;
        mix(e.at);
        mix((uint64_t{e.kind} << 56) ^ (uint64_t{e.a} << 24) ^ e.b);
        mix(e.c);
        // Delivered bytes go into the hash eight at a time (it must see every byte, but
        // need not be a fine hash: it only has to tell two runs apart).
        const size_t n = e.data.size();
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t w;
            std::memcpy(&w, e.data.data() + i, 8);
            hash_ = (hash_ ^ w) * 0x9E3779B97F4A7C15ULL;
            hash_ ^= hash_ >> 29;
        }
        for (; i < n; ++i) hash_ = (hash_ ^ e.data[i]) * 1099511628211ULL;
        dispatch(e);
        flush_dirty();
    }
    now_ = std::max(now_, t);
}

void Sim::dispatch(Event& e) {
    switch (e.kind) {
        case E_DELIVER: {
            auto it = conns_.find(e.a);
            if (it == conns_.end()) return;
            Conn& c = *it->second;
            const int side = static_cast<int>(e.b);
            if (c.dead || c.closed[side] || !c.s[side]) return;
            bytes_ += e.data.size();
            feed(c, side, e.data);
            return;
        }
        case E_FIN: {
            auto it = conns_.find(e.a);
            if (it == conns_.end()) return;
            Conn& c = *it->second;
            const int side = static_cast<int>(e.b);
            if (!c.dead && !c.closed[side]) close_side(c, side, Err::peer_closed, false);
            return;
        }
        case E_CONNECT: {
            Host& h = *hosts_[e.a];
            if (!h.up) return;
            if (h.cancelled.erase(e.c) != 0) return;
            Host& t = *hosts_[e.b];
            if (!t.up || !reachable(e.a, e.b)) {
                if (h.node) {
                    h.node->on_dial_failed(e.c, Err::unreachable, now_);
                    drain(e.a);
                    arm_node_timer(e.a);
                }
                return;
            }
            auto cp = std::make_unique<Conn>();
            Conn& c = *cp;
            c.id = next_conn_++;
            c.host[0] = e.a;
            c.host[1] = e.b;
            c.dial = e.c;
            c.base = link_latency(c);
            c.remote[0] = t.addr;
            c.remote[1] = h.addr;
            c.remote[1].port = static_cast<uint16_t>(32768 + c.id % 28000);  // ephemeral
            const bool has_expect = !e.data.empty();
            NodeId expect;
            if (has_expect) expect = NodeId::from(e.data);
            c.s[0] =
                std::make_unique<Session>(h.scfg, h.ident, Env{h.rng.get(), &crypto(), nullptr},
                                          now_, has_expect ? &expect : nullptr);
            c.s[1] = std::make_unique<Session>(t.scfg, t.ident,
                                               Env{t.rng.get(), &crypto(), nullptr}, now_);
            h.conns.push_back(c.id);
            t.conns.push_back(c.id);
            conns_.emplace(c.id, std::move(cp));
            dirty_.push_back({c.id, 0});
            dirty_.push_back({c.id, 1});
            return;
        }
        case E_CONNECT_FAIL: {
            Host& h = *hosts_[e.a];
            if (!h.up || !h.node) return;
            if (h.cancelled.erase(e.c) != 0) return;
            h.node->on_dial_failed(e.c, Err::unreachable, now_);
            drain(e.a);
            arm_node_timer(e.a);
            return;
        }
        case E_NODE_TIMER: {
            Host& h = *hosts_[e.a];
            // Only the event for the currently armed time counts: an earlier arm superseded
            // this one, and re-arming from a stale event would breed duplicates.
            if (!h.up || !h.node || e.b != h.incarnation || e.at != h.timer_at) return;
            h.timer_at = NEVER;
            if (h.node->next_deadline() <= now_) {
                h.node->on_timer(now_);
                drain(e.a);
                check_node(e.a);
            }
            arm_node_timer(e.a);
            return;
        }
        case E_SESSION_TIMER: {
            auto it = conns_.find(e.a);
            if (it == conns_.end()) return;
            Conn& c = *it->second;
            const int side = static_cast<int>(e.b);
            if (e.at != c.timer_at[side]) return;  // superseded, as for node timers
            c.timer_at[side] = NEVER;
            if (c.closed[side] || !c.s[side]) return;
            SessionEvent ev;
            c.s[side]->on_timer(now_, &ev);
            if (ev.type != SessionEvent::Type::none) on_session_event(c, side, ev);
            if (!c.closed[side]) arm_session_timer(c, side);
            return;
        }
        default: return;
    }
}

Time Sim::link_latency(const Conn& c) {
    // Per-pair base latency from a lognormal with the configured median and p99 (stable for
    // a pair, like geography), times slow_factor when a slow host is involved.
    uint64_t st = cfg_.seed ^ (uint64_t{std::min(c.host[0], c.host[1])} << 32) ^
                  std::max(c.host[0], c.host[1]);
    const double u1 = (static_cast<double>(splitmix64(st) >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = (static_cast<double>(splitmix64(st) >> 11) + 0.5) * 0x1.0p-53;
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    const double med = static_cast<double>(cfg_.latency_median);
    const double sigma = cfg_.latency_p99 > cfg_.latency_median
                             ? std::log(static_cast<double>(cfg_.latency_p99) / med) / 2.3263
                             : 0.0;
    double lat = med * std::exp(sigma * z);
    if (hosts_[c.host[0]]->slow || hosts_[c.host[1]]->slow) lat *= cfg_.slow_factor;
    return static_cast<Time>(std::max(100.0, lat));
}

void Sim::connect(uint32_t hi, DialId dial, const PeerAddr& addr, bool has_expect,
                  const NodeId& expect) {
    Event e;
    e.a = hi;
    e.c = dial;
    auto it = by_addr_.find(addr);
    if (it == by_addr_.end() || it->second == hi || !hosts_[it->second]->up ||
        !reachable(hi, it->second)) {
        // Nobody answers: the SYN times out.
        e.kind = E_CONNECT_FAIL;
        e.at = now_ + cfg_.connect_timeout;
        push(std::move(e));
        return;
    }
    Conn probe;
    probe.host[0] = hi;
    probe.host[1] = it->second;
    e.kind = E_CONNECT;
    e.b = it->second;
    e.at = now_ + 2 * link_latency(probe);  // SYN, SYN-ACK
    if (has_expect) e.data.assign(expect.b.begin(), expect.b.end());
    push(std::move(e));
}

// ---- sessions
// ------------------------------------------------------------------------------------

void Sim::feed(Conn& c, int side, ByteView bytes) {
    while (!bytes.empty() && !c.closed[side] && c.s[side]) {
        SessionEvent ev;
        const size_t n = c.s[side]->recv(bytes, now_, &ev);
        bytes = bytes.subspan(n);
        if (ev.type != SessionEvent::Type::none) on_session_event(c, side, ev);
        if (n == 0 && ev.type == SessionEvent::Type::none) break;
    }
    if (c.s[side]) c.s[side]->recv_done();
    if (!c.closed[side]) {
        dirty_.push_back({c.id, side});
        arm_session_timer(c, side);
    }
}

void Sim::on_session_event(Conn& c, int side, const SessionEvent& ev) {
    const uint32_t hi = c.host[side];
    Host& h = *hosts_[hi];
    switch (ev.type) {
        case SessionEvent::Type::opened:
            c.opened[side] = true;
            if (h.node) {
                SessionInfo info;
                info.id = c.s[side]->peer_id();
                info.remote = c.remote[side];
                info.ident_port = c.s[side]->peer_port();
                h.node->on_session_open(ref_of(c.id, side), info, side == 0 ? c.dial : 0, now_);
                drain(hi);
                arm_node_timer(hi);
            }
            break;
        case SessionEvent::Type::data:
            if (h.node) {
                h.node->on_frame(ref_of(c.id, side), ev.payload, now_);
                drain(hi);
                arm_node_timer(hi);
                check_node(hi);
            } else if (h.hostile) {
                hostile_data(c, side, ev.payload);
            }
            break;
        case SessionEvent::Type::closed: close_side(c, side, ev.err, true); break;
        case SessionEvent::Type::none: break;
    }
}

void Sim::close_side(Conn& c, int side, Err why, bool notify_peer) {
    if (c.closed[side]) return;
    send_bytes(c, side);  // a closing session's last words (a Ctrl error) still go out
    c.closed[side] = true;
    const uint32_t hi = c.host[side];
    Host& h = *hosts_[hi];
    if (h.node && h.up) {
        if (c.opened[side]) {
            h.node->add_session_stats(c.s[side]->stats());
            h.node->on_session_closed(ref_of(c.id, side), why, now_);
        } else if (side == 0 && c.dial != 0 && h.cancelled.erase(c.dial) == 0) {
            h.node->on_dial_failed(c.dial, why, now_);
        }
        drain(hi);
        arm_node_timer(hi);
    }
    c.s[side].reset();
    const int other = 1 - side;
    if (notify_peer && !c.dead && !c.closed[other]) {
        Event e;
        e.kind = E_FIN;
        e.a = c.id;
        e.b = static_cast<uint32_t>(other);
        e.at = std::max(now_ + c.base, c.last_arrival[other]);
        c.last_arrival[other] = e.at;
        push(std::move(e));
    }
    if (c.closed[0] && c.closed[1]) garbage_.push_back(c.id);
}

void Sim::send_bytes(Conn& c, int from) {
    if (!c.s[from] || !c.s[from]->has_tx()) return;
    Bytes out;
    c.s[from]->take_tx(&out);
    c.s[from]->tx_done(out.size());  // the simulated socket buffer takes everything
    const int to = 1 - from;
    if (c.dead || c.closed[to]) return;
    // One transmission; three in ten are delivered in two or three pieces split at random
    // byte boundaries, so every reassembly path of the decoder is exercised all the time
    // without tripling the number of events.
    Time arrive = now_ + c.base * (90 + rng_.below(21)) / 100;
    if (cfg_.loss > 0 && rng_.unit() < cfg_.loss) arrive += std::max<Time>(msec(200), 2 * c.base);
    arrive = std::max(arrive, c.last_arrival[to]);
    c.last_arrival[to] = arrive;
    const size_t pieces = out.size() > 2 && rng_.below(10) < 3 ? 2 + rng_.below(2) : 1;
    size_t cuts[3];
    size_t ncuts = 0;
    for (size_t i = 1; i < pieces; ++i) cuts[ncuts++] = 1 + rng_.below(out.size() - 1);
    std::sort(cuts, cuts + ncuts);
    cuts[ncuts++] = out.size();
    size_t prev = 0;
    for (size_t i = 0; i < ncuts; ++i) {
        const size_t cut = cuts[i];
        if (cut <= prev) continue;
        Event e;
        e.kind = E_DELIVER;
        e.a = c.id;
        e.b = static_cast<uint32_t>(to);
        e.at = arrive;
        if (prev == 0 && cut == out.size()) {
            e.data = std::move(out);  // one piece: the buffer itself travels
        } else {
            e.data.assign(out.begin() + static_cast<std::ptrdiff_t>(prev),
                          out.begin() + static_cast<std::ptrdiff_t>(cut));
        }
        push(std::move(e));
        prev = cut;
    }
}

void Sim::flush_dirty() {
    while (!dirty_.empty()) {
        const auto [cid, side] = dirty_.back();
        dirty_.pop_back();
        auto it = conns_.find(cid);
        if (it == conns_.end()) continue;
        Conn& c = *it->second;
        if (c.closed[side] || !c.s[side]) continue;
        send_bytes(c, side);
        arm_session_timer(c, side);
    }
    for (uint32_t cid : garbage_) {
        auto it = conns_.find(cid);
        if (it == conns_.end()) continue;
        for (int side = 0; side < 2; ++side) {
            auto& list = hosts_[it->second->host[side]]->conns;
            list.erase(std::remove(list.begin(), list.end(), cid), list.end());
        }
        conns_.erase(it);
    }
    garbage_.clear();
}

void Sim::arm_session_timer(Conn& c, int side) {
    if (!c.s[side]) return;
    const Time d = c.s[side]->next_deadline();
    if (d == NEVER || d >= c.timer_at[side]) return;
    Event e;
    e.kind = E_SESSION_TIMER;
    e.a = c.id;
    e.b = static_cast<uint32_t>(side);
    e.at = std::max(d, now_);
    c.timer_at[side] = e.at;
    push(std::move(e));
}

void Sim::arm_node_timer(uint32_t hi) {
    Host& h = *hosts_[hi];
    if (!h.node) return;
    const Time d = h.node->next_deadline();
    if (d == NEVER || d >= h.timer_at) return;
    Event e;
    e.kind = E_NODE_TIMER;
    e.a = hi;
    e.b = h.incarnation;
    e.at = std::max(d, now_);
    h.timer_at = e.at;
    push(std::move(e));
}

void Sim::check_node(uint32_t hi) {
    if (cfg_.check_invariants && hosts_[hi]->node) hosts_[hi]->node->check_invariants();
}

void Sim::drain(uint32_t hi) {
    Host& h = *hosts_[hi];
    std::vector<std::pair<uint32_t, int>> hangups;
    for (int round = 0; round < 8 && h.node; ++round) {
        Action a;
        while (h.node && h.node->poll(&a)) {
            switch (a.kind) {
                case Action::Kind::send: {
                    auto it = conns_.find(conn_of(a.peer));
                    if (it == conns_.end()) break;
                    Conn& c = *it->second;
                    const int side = side_of(a.peer);
                    if (c.closed[side] || !c.s[side]) break;
                    if (c.s[side]->send_data(a.payload, now_) == Err::ok)
                        dirty_.push_back({c.id, side});
                    break;
                }
                case Action::Kind::dial: connect(hi, a.dial, a.addr, a.has_expect, a.expect); break;
                case Action::Kind::hangup:
                    if (a.peer != 0) {
                        hangups.push_back({conn_of(a.peer), side_of(a.peer)});
                    } else {
                        h.cancelled[a.dial] = true;
                    }
                    break;
                case Action::Kind::done: h.results[a.result->id] = *a.result; break;
            }
        }
        if (hangups.empty()) break;
        // Closing a session calls back into the node, so it happens after the drain.
        auto todo = std::move(hangups);
        hangups.clear();
        for (const auto& [cid, side] : todo) {
            auto it = conns_.find(cid);
            if (it == conns_.end()) continue;
            Conn& c = *it->second;
            if (c.closed[side]) continue;
            if (c.s[side]) c.s[side]->close(Err::session_closed);
            close_side(c, side, Err::session_closed, true);
        }
    }
}

// ---- hostile hosts
// -------------------------------------------------------------------------------

void Sim::hostile_data(Conn& c, int side, ByteView payload) {
    Session& s = *c.s[side];
    DhtMsg m;
    DecodeHeader hdr;
    if (decode_dht(payload, DEFAULT_MAX_VALUE_BYTES, &m, &hdr) != Err::ok || !m.is_request())
        return;
    // Sometimes garbage instead of an answer.
    if (rng_.unit() < 0.1) {
        Bytes junk(16 + rng_.below(200));
        rng_.fill(junk.data(), junk.size());
        (void)s.send_data(junk, now_);
        dirty_.push_back({c.id, side});
        return;
    }
    DhtMsg r;
    r.op = m.op;
    r.rid = m.rid;
    r.f = MsgFlag::response;
    std::vector<NodeInfo> fake;
    const NodeId target = m.op == Op::find_node ? m.target : m.key;
    auto fabricate = [&]() {
        // Ids the liar cannot prove, nearer the target than any real node, pointing at
        // hostile addresses.
        for (uint32_t i = 0; i < cfg_.node.k && !hostile_hosts_.empty(); ++i) {
            NodeInfo n;
            n.id = target;
            n.id.b[31] = static_cast<uint8_t>(rng_.below(256));
            n.id.b[30] ^= static_cast<uint8_t>(1 + rng_.below(255));
            n.addr = hosts_[hostile_hosts_[rng_.below(hostile_hosts_.size())]]->addr;
            fake.push_back(n);
        }
        r.has_nodes = true;
        r.nodes = ItemList<NodeInfo>::of(fake);
    };
    switch (m.op) {
        case Op::ping:
            r.has_obs = true;
            r.obs = c.remote[side];
            break;
        case Op::find_node: fabricate(); break;
        case Op::get_providers:
            fabricate();
            r.has_providers = true;
            break;
        case Op::get_value:
            r.code = Code::not_found;
            fabricate();
            break;
        case Op::add_provider:
        case Op::put_value: break;
    }
    Bytes out;
    encode_dht(r, out);
    (void)s.send_data(out, now_);
    dirty_.push_back({c.id, side});
}

}  // namespace svcdht::sim
