// SPDX-License-Identifier: MIT
// The simulator (see simnet.h). Everything is driven from one priority queue; nothing here
// reads a clock or iterates a hash map into an output, so a seed replays exactly.
#include "simnet.h"

#include "simnet_internal.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>

#include "platform/sodium.h"
#include "svcdht/blake3.h"
#include "svcdht/message.h"

namespace svcdht::sim {

using namespace core;

namespace {
// Unix time at virtual time 0 (2026-01-01), the same for every host and incarnation, so
// that unix times saved by one incarnation mean the same to the next.
constexpr int64_t SIM_UNIX_EPOCH_US = 1767225600LL * 1000000;
}  // namespace

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
    // Drawn only for a mixed network, so that other runs replay the same network.
    if (cfg_.early_share <= 0) {
        h->scfg.early_requests = false;
    } else if (cfg_.early_share < 1) {
        h->scfg.early_requests = h->rng->unit() < cfg_.early_share;
    }
    by_addr_[h->addr] = h->idx;
    by_id_[h->ident.id] = h->idx;
    if (hostile) hostile_hosts_.push_back(h->idx);
    hosts_.push_back(std::move(h));
    return hosts_.back()->idx;
}

void Sim::start(uint32_t hi, const std::vector<uint32_t>& seeds) {
    boot(hi, seeds, false);
}

void Sim::boot(uint32_t hi, const std::vector<uint32_t>& seeds, bool with_state) {
    Host& h = *hosts_[hi];
    h.up = true;
    if (h.hostile) {
        // Hostile hosts push themselves into honest tables by opening sessions.
        for (uint32_t s : seeds) liar_connect(hi, s);
        return;
    }
    NodeConfig nc = cfg_.node;
    nc.listen_port = h.addr.port;
    nc.unix_epoch_offset_us = SIM_UNIX_EPOCH_US;
    nc.idle_timeout = h.scfg.idle_timeout;  // as the daemon's composition does
    const Env env{h.rng.get(), &crypto(), nullptr};
    h.node = std::make_unique<Node>(nc, h.ident, env, now_);
    h.peers = std::make_unique<Peers>(*h.node, h.scfg, h.ident, env, cfg_.limits);
    if (cfg_.persist) {
        // The daemon's order (Dht::start): seeds, then the saved store, the journal, and
        // the saved contacts.
        if (!h.disk) h.disk = std::make_unique<MemStore>(SIM_UNIX_EPOCH_US);
        if (!with_state) h.disk->clear();
        for (uint32_t s : seeds) h.node->add_seed(hosts_[s]->addr, now_);
        (void)h.disk->restore(*h.node, now_);
        h.node->set_journal(h.disk.get());
        const auto contacts = h.disk->contacts();
        h.node->warm_contacts(contacts.first(std::min(SIM_WARM_CONTACTS, contacts.size())), now_);
    } else {
        for (uint32_t s : seeds) h.node->add_seed(hosts_[s]->addr, now_);
    }
    h.peers->pump(now_);
    after_input(hi);
}

void Sim::crash(uint32_t hi) {
    Host& h = *hosts_[hi];
    if (!h.up) return;
    h.up = false;
    ++h.incarnation;
    if (h.disk && h.node) h.disk->save_contacts(h.node->table());
    h.peers.reset();
    h.node.reset();
    h.timer_at = NEVER;
    // Its connections go silent both ways: the peers notice only through timeouts.
    const std::vector<uint32_t> touching = std::move(h.conns);
    h.conns.clear();
    for (uint32_t cid : touching) {
        Conn* c = conn(cid);
        if (c == nullptr) continue;
        c->dead = true;
        for (int side = 0; side < 2; ++side) {
            if (c->host[side] != hi) continue;
            c->closed[side] = true;
            drop_liar(*c, side);
        }
        release(*c);
    }
}

void Sim::restart(uint32_t hi, const std::vector<uint32_t>& seeds) {
    Host& h = *hosts_[hi];
    if (h.up) return;
    h.rng = std::make_unique<SeededRng>(splitmix64(seed_state_));
    boot(hi, seeds, false);
}

void Sim::restart_with_state(uint32_t hi, const std::vector<uint32_t>& seeds) {
    Host& h = *hosts_[hi];
    if (h.up) return;
    h.rng = std::make_unique<SeededRng>(splitmix64(seed_state_));
    boot(hi, seeds, cfg_.persist);
}

void Sim::partition(const std::vector<uint8_t>& group_of_host) {
    group_ = group_of_host;
    for (auto& c : conns_)
        if (c && !reachable(c->host[0], c->host[1])) c->dead = true;
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
    host.peers->pump(now_);               \
    after_input(h);                       \
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

namespace {
template <class D>
bool later(const D& x, const D& y) {
    return x.at != y.at ? x.at > y.at : x.seq > y.seq;
}
// take_slot returns a free index of |table| (from |free|, else a new element at the end).
template <class T>
uint32_t take_slot(std::vector<T>& table, std::vector<uint32_t>& free) {
    if (free.empty()) {
        table.emplace_back();
        return static_cast<uint32_t>(table.size() - 1);
    }
    const uint32_t i = free.back();
    free.pop_back();
    return i;
}
}  // namespace

void Sim::push(const Event& e) {
    const uint32_t i = take_slot(events_tab_, free_events_);
    events_tab_[i] = e;
    queue_.push_back(Due{e.at, seq_++, i});
    std::push_heap(queue_.begin(), queue_.end(), later<Due>);
}

void Sim::mix(uint64_t v) {
    for (int i = 0; i < 8; ++i) {
        hash_ ^= (v >> (8 * i)) & 0xff;
        hash_ *= 1099511628211ULL;
    }
}

void Sim::run_until(Time t) {
    while (!queue_.empty() && queue_.front().at <= t && !exhausted()) {
        std::pop_heap(queue_.begin(), queue_.end(), later<Due>);
        const uint32_t ei = queue_.back().event;
        queue_.pop_back();
        const Event e = events_tab_[ei];
        free_events_.push_back(ei);
        ByteView data;
        if (e.payload != NO_PAYLOAD) data = payloads_[e.payload].bytes;
        now_ = std::max(now_, e.at);
        ++events_;
        mix(e.at);
        mix((uint64_t{e.kind} << 56) ^ (uint64_t{e.a} << 24) ^ e.b);
        mix(e.c);
        // Delivered bytes go into the hash eight at a time (it must see every byte, but
        // need not be a fine hash: it only has to tell two runs apart).
        const size_t n = data.size();
        size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            uint64_t w;
            std::memcpy(&w, data.data() + i, 8);
            hash_ = (hash_ ^ w) * 0x9E3779B97F4A7C15ULL;
            hash_ ^= hash_ >> 29;
        }
        for (; i < n; ++i) hash_ = (hash_ ^ data[i]) * 1099511628211ULL;
        dispatch(e, data);
        if (e.payload != NO_PAYLOAD) {
            Bytes().swap(payloads_[e.payload].bytes);
            free_payloads_.push_back(e.payload);
        }
    }
    now_ = std::max(now_, t);
}

void Sim::dispatch(const Event& e, ByteView data) {
    switch (e.kind) {
        case E_DELIVER: {
            // Each piece is a read of its own, followed by what the adapter does after a
            // read callback; a piece may close the connection, and the rest is then lost.
            // The piece ends are copied out: a read's turn may transmit, and payloads_ grow
            // and move (the bytes themselves stay where they are).
            const Payload& pl = payloads_[e.payload];
            const uint32_t pieces = pl.ncuts + 1;
            size_t ends[3] = {pl.cuts[0], pl.cuts[1], 0};
            ends[pl.ncuts] = data.size();
            const int side = static_cast<int>(e.b);
            size_t from = 0;
            for (uint32_t i = 0; i < pieces; ++i) {
                const size_t to = ends[i];
                const ByteView piece = data.subspan(from, to - from);
                from = to;
                Conn* cp = conn(e.a);
                if (cp == nullptr) return;
                Conn& c = *cp;
                if (c.dead || c.closed[side]) return;
                bytes_ += piece.size();
                if (liar(c, side) != nullptr) {
                    liar_receive(c, side, piece);
                    continue;
                }
                const uint32_t h = c.host[side];
                hosts_[h]->peers->received(c.ref[side], piece, now_);
                after_input(h);
            }
            return;
        }
        case E_FIN: {
            Conn* cp = conn(e.a);
            if (cp == nullptr) return;
            Conn& c = *cp;
            const int side = static_cast<int>(e.b);
            if (c.dead || c.closed[side]) return;
            c.closed[side] = true;
            const uint32_t h = c.host[side];
            if (liar(c, side) != nullptr) {
                drop_liar(c, side);
            } else {
                hosts_[h]->peers->closed(c.ref[side], Err::peer_closed, now_);
                after_input(h);
            }
            // The pipe goes once both ends are closed (the FIN came from the other end).
            if (Conn* still = conn(e.a)) release(*still);
            return;
        }
        case E_CONNECT:
        case E_FASTOPEN: {
            Host& h = *hosts_[e.a];
            if (!h.up) return;
            Host& t = *hosts_[e.b];
            if (!t.up || !reachable(e.a, e.b)) {
                if (h.peers) {
                    h.peers->dial_failed(e.c, Err::unreachable, now_);
                    after_input(e.a);
                }
                return;
            }
            open_pipe(e.a, e.b, e.c, e.kind == E_FASTOPEN);
            return;
        }
        case E_CONNECT_FAIL: {
            Host& h = *hosts_[e.a];
            if (!h.up || !h.peers) return;
            h.peers->dial_failed(e.c, Err::unreachable, now_);
            after_input(e.a);
            return;
        }
        case E_TIMER: {
            Host& h = *hosts_[e.a];
            // Only the event for the currently armed time counts: an earlier arm superseded
            // this one, and re-arming from a stale event would breed duplicates.
            if (!h.up || !h.peers || e.b != h.incarnation || e.at != h.timer_at) return;
            h.timer_at = NEVER;
            if (h.peers->next_deadline() <= now_) {
                h.peers->on_timer(now_);
                after_input(e.a);
            } else {
                arm_timer(e.a);
            }
            return;
        }
        default: return;
    }
}

Time Sim::link_latency(uint32_t a, uint32_t b) const {
    // Per-pair base latency from a lognormal with the configured median and p99 (stable for
    // a pair, like geography), times slow_factor when a slow host is involved.
    uint64_t st = cfg_.seed ^ (uint64_t{std::min(a, b)} << 32) ^ std::max(a, b);
    const double u1 = (static_cast<double>(splitmix64(st) >> 11) + 0.5) * 0x1.0p-53;
    const double u2 = (static_cast<double>(splitmix64(st) >> 11) + 0.5) * 0x1.0p-53;
    const double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
    const double med = static_cast<double>(cfg_.latency_median);
    const double sigma = cfg_.latency_p99 > cfg_.latency_median
                             ? std::log(static_cast<double>(cfg_.latency_p99) / med) / 2.3263
                             : 0.0;
    double lat = med * std::exp(sigma * z);
    if (hosts_[a]->slow || hosts_[b]->slow) lat *= cfg_.slow_factor;
    return static_cast<Time>(std::max(100.0, lat));
}

// ---- connections -----------------------------------------------------------------------------

void Sim::connect(uint32_t hi, DialId dial, const PeerAddr& addr) {
    Event e;
    e.a = hi;
    e.c = dial;
    auto it = by_addr_.find(addr);
    if (it == by_addr_.end() || it->second == hi || !hosts_[it->second]->up ||
        !reachable(hi, it->second)) {
        // Nobody answers: the SYN times out.
        e.kind = E_CONNECT_FAIL;
        e.at = now_ + cfg_.connect_timeout;
        push(e);
        return;
    }
    e.b = it->second;
    const std::vector<uint32_t>& ck = hosts_[hi]->cookies;
    if (cfg_.fastopen && std::binary_search(ck.begin(), ck.end(), it->second)) {
        e.kind = E_FASTOPEN;
        e.at = now_ + link_latency(hi, it->second);  // the SYN with the first write
    } else {
        e.kind = E_CONNECT;
        e.at = now_ + 2 * link_latency(hi, it->second);  // SYN, SYN-ACK
    }
    push(e);
}

void Sim::open_pipe(uint32_t hi, uint32_t ti, DialId dial, bool syn_data) {
    Host& h = *hosts_[hi];
    Host& t = *hosts_[ti];
    if (cfg_.fastopen) {  // the SYN-ACK brought a cookie (or the one used was good)
        std::vector<uint32_t>& ck = h.cookies;
        auto at = std::lower_bound(ck.begin(), ck.end(), ti);
        if (at == ck.end() || *at != ti) ck.insert(at, ti);
    }
    auto cp = std::make_unique<Conn>();
    Conn& c = *cp;
    c.id = next_conn_++;
    c.host[0] = hi;
    c.host[1] = ti;
    c.base = link_latency(hi, ti);
    c.syn_data = syn_data;
    if (h.hostile) {
        liars_[2 * uint64_t{c.id}] =
            std::make_unique<Session>(h.scfg, h.ident, Env{h.rng.get(), &crypto(), nullptr}, now_);
    } else {
        c.ref[0] = h.peers->connected(dial, remote(c, 0), now_);
        if (c.ref[0] == 0) {  // the dial was given up meanwhile
            after_input(hi);
            return;
        }
    }
    if (t.hostile) {
        liars_[2 * uint64_t{c.id} + 1] =
            std::make_unique<Session>(t.scfg, t.ident, Env{t.rng.get(), &crypto(), nullptr}, now_);
    } else {
        c.ref[1] = t.peers->accepted(remote(c, 1), now_);
    }
    const uint32_t id = c.id;
    if (conns_.size() <= id) conns_.resize(id + 1);
    conns_[id] = std::move(cp);
    for (int side = 0; side < 2; ++side) {
        Host& x = *hosts_[c.host[side]];
        x.conns.push_back(id);
        if (c.ref[side] != 0) x.peers->set_tag(c.ref[side], id);
    }
    if (!t.hostile && c.ref[1] == 0) {  // refused (a per-host cap): the dialer sees a close
        c.closed[1] = true;
        fin(c, 0);
    }
    for (int side = 0; side < 2; ++side) {
        if (liar(c, side) != nullptr) {
            liar_flush(c, side);
        } else if (!c.closed[side]) {
            after_input(c.host[side]);
        }
    }
}

void Sim::after_input(uint32_t hi) {
    Host& h = *hosts_[hi];
    if (!h.peers) return;
    PeerEvent e;
    while (h.peers && h.peers->poll(&e)) route(hi, e);
    // The daemon's flush hook: commit what the journal heard in this input, then let the
    // acknowledgements it held go out with the rest of the turn's bytes.
    if (h.disk && h.node && (h.disk->take_dirty() || h.node->holding_acks())) {
        h.node->persisted(true);
        h.peers->pump(now_);
        while (h.peers && h.peers->poll(&e)) route(hi, e);
    }
    flush(hi);
    arm_timer(hi);
    check_node(hi);
}

void Sim::route(uint32_t hi, const PeerEvent& e) {
    Host& h = *hosts_[hi];
    switch (e.kind) {
        case PeerEvent::Kind::dial: connect(hi, e.dial, e.addr); return;
        case PeerEvent::Kind::cancel_dial: return;  // a late connect is refused by Peers
        case PeerEvent::Kind::close: {
            Conn* cp = conn(static_cast<uint32_t>(h.peers->tag(e.ref)));
            if (cp == nullptr) return;
            Conn& c = *cp;
            h.peers->set_tag(e.ref, 0);  // handled: the slot goes with closed() below
            const int side = c.host[0] == hi && c.ref[0] == e.ref ? 0 : 1;
            if (e.flush) {
                Bytes last;
                h.peers->take_tx(e.ref, &last);
                h.peers->sent(e.ref, last.size());
                transmit(c, side, std::move(last));
            }
            c.closed[side] = true;
            if (!c.dead && !c.closed[1 - side]) fin(c, 1 - side);
            release(c);
            h.peers->closed(e.ref, Err::session_closed, now_);  // the simulated socket is gone
            return;
        }
        case PeerEvent::Kind::done: h.results[e.result->id] = *e.result; return;
    }
}

void Sim::flush(uint32_t hi) {
    Host& h = *hosts_[hi];
    h.peers->take_dirty(dirty_);
    for (PeerRef ref : dirty_) {
        Conn* cp = conn(static_cast<uint32_t>(h.peers->tag(ref)));
        if (cp == nullptr) continue;
        Conn& c = *cp;
        const int side = c.ref[0] == ref && c.host[0] == hi ? 0 : 1;
        Bytes out;
        h.peers->take_tx(ref, &out);
        h.peers->sent(ref, out.size());  // the simulated socket buffer takes everything
        transmit(c, side, std::move(out));
    }
}

void Sim::transmit(Conn& c, int from, Bytes&& out) {
    const int to = 1 - from;
    if (out.empty() || c.dead || c.closed[to]) return;
    // One transmission; three in ten are delivered in two or three pieces split at random
    // byte boundaries (reads of their own, in one event), so every reassembly path of the
    // decoder is exercised all the time.
    Time arrive = now_ + c.base * (90 + rng_.below(21)) / 100;
    if (cfg_.loss > 0 && rng_.unit() < cfg_.loss) arrive += std::max<Time>(msec(200), 2 * c.base);
    if (c.syn_data && from == 0) {  // the dialer's first write came with the SYN
        arrive = now_;
        c.syn_data = false;
    }
    arrive = std::max(arrive, c.last_arrival[to]);
    c.last_arrival[to] = arrive;
    const size_t pieces = out.size() > 2 && rng_.below(10) < 3 ? 2 + rng_.below(2) : 1;
    size_t cuts[2];
    size_t ncuts = 0;
    for (size_t i = 1; i < pieces; ++i) cuts[ncuts++] = 1 + rng_.below(out.size() - 1);
    std::sort(cuts, cuts + ncuts);
    // The buffer itself travels, in one event: its pieces arrive at the same instant, one
    // after the other (two equal cuts make one piece).
    const uint32_t p = take_slot(payloads_, free_payloads_);
    Payload& pl = payloads_[p];
    pl.bytes = std::move(out);
    pl.ncuts = 0;
    for (size_t i = 0; i < ncuts; ++i)
        if (pl.ncuts == 0 || pl.cuts[pl.ncuts - 1] != cuts[i])
            pl.cuts[pl.ncuts++] = static_cast<uint32_t>(cuts[i]);
    Event e;
    e.kind = E_DELIVER;
    e.a = c.id;
    e.b = static_cast<uint32_t>(to);
    e.at = arrive;
    e.payload = p;
    push(e);
}

void Sim::fin(Conn& c, int to) {
    Event e;
    e.kind = E_FIN;
    e.a = c.id;
    e.b = static_cast<uint32_t>(to);
    e.at = std::max(now_ + c.base, c.last_arrival[to]);
    c.last_arrival[to] = e.at;
    push(e);
}

PeerAddr Sim::remote(const Conn& c, int side) const {
    PeerAddr a = hosts_[c.host[1 - side]]->addr;
    if (side == 1) a.port = static_cast<uint16_t>(32768 + c.id % 28000);  // ephemeral
    return a;
}

void Sim::release(Conn& c) {
    if (!c.closed[0] || !c.closed[1]) return;
    const uint32_t id = c.id;
    for (uint32_t h : c.host) {
        auto& v = hosts_[h]->conns;
        auto it = std::find(v.begin(), v.end(), id);
        if (it == v.end()) continue;  // a crash took the host's list already
        *it = v.back();
        v.pop_back();
    }
    drop_liar(c, 0);
    drop_liar(c, 1);
    conns_[id].reset();
}

void Sim::arm_timer(uint32_t hi) {
    Host& h = *hosts_[hi];
    if (!h.peers) return;
    const Time d = h.peers->next_deadline();
    if (d == NEVER || d >= h.timer_at) return;
    Event e;
    e.kind = E_TIMER;
    e.a = hi;
    e.b = h.incarnation;
    e.at = std::max(d, now_);
    h.timer_at = e.at;
    push(e);
}

void Sim::check_node(uint32_t hi) {
    if (!cfg_.check_invariants || !hosts_[hi]->node) return;
    hosts_[hi]->node->check_invariants();
    hosts_[hi]->peers->check_invariants();
}

}  // namespace svcdht::sim
