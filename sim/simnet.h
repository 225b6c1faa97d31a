// SPDX-License-Identifier: MIT
// A deterministic network simulator for svc-dht: one event queue ordered by (virtual time,
// sequence), hosts running exactly what the daemon runs (a Node composed with its sessions
// by Peers), and TCP connections modelled as ordered byte pipes whose deliveries are split
// at random byte boundaries. The simulator moves bytes, dials and closes, like the libuv
// adapter; every byte goes through the real Session and DhtMsg codecs. Links have a lognormal
// latency (median and p99 settable), loss (as retransmission delay), slow hosts, partitions
// between groups, and crash/restart (with or without the host's saved state). One master
// seed drives everything; the event log is hashed so that a replay can be checked bit for bit.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "svcdht/env.h"
#include "svcdht/node.h"
#include "svcdht/peers.h"
#include "svcdht/session.h"

namespace svcdht::sim {

using core::Time;

// FastCrypto stands in for Ed25519 in large simulations: "signatures" are keyed BLAKE3
// hashes anyone could forge. Ids still derive from keys, so a peer still cannot prove an
// id it does not hold a key for; only the cost of signing goes away.
class FastCrypto final : public core::Crypto {
public:
    core::KeyPair keypair_from_seed(const core::Seed32& seed) const override;
    core::Signature sign(const core::SecretKey& sk, core::ByteView msg) const override;
    bool verify(const core::PublicKey& pk, core::ByteView msg,
                const core::Signature& sig) const override;
};

struct SimConfig {
    uint64_t seed = 1;
    Time latency_median = core::msec(20);  // one-way
    Time latency_p99 = core::msec(100);
    double loss = 0;          // probability that a delivery needs one retransmission
    double slow_factor = 10;  // latency multiplier for links touching a slow host
    Time connect_timeout = core::secs(3);
    bool fast_crypto = false;
    // The share of honest hosts that take early requests (docs/PROTOCOL.md 1.3); the others
    // behave as peers from before that capability, to measure a network mid-upgrade.
    double early_share = 1;
    // fastopen: TCP Fast Open on every host, both sides (net.ipv4.tcp_fastopen = 3, the
    // daemon's tcp_fastopen). A dial to a host this host has connected to before (it holds
    // that host's cookie) sends its first write with the SYN: the listener accepts one
    // one-way latency later with those bytes, instead of a round trip later and then one
    // more one-way for the bytes. A first dial to a host is an ordinary one that also
    // fetches the cookie. Off by default: the kernel's default takes Fast Open SYNs on no
    // listener.
    bool fastopen = false;
    bool check_invariants = false;  // run Node::check_invariants after every event
    core::NodeConfig node;          // the template every honest host starts from
    core::PeerLimits limits;        // every honest host's connection limits
    uint64_t max_events = 0;        // 0: unbounded; else run_until stops past it (exhausted())
    // persist: every honest host keeps a durable copy of its store in memory (MemStore), as
    // a daemon with a data_dir does on disk: writes are acknowledged once "committed" (at
    // the end of each input, like the daemon's flush hook), and restart_with_state gives the
    // copy back. Off by default: it changes when acknowledgements go out, so the event log.
    bool persist = false;
};

class Sim {
public:
    explicit Sim(const SimConfig& cfg);
    ~Sim();
    Sim(const Sim&) = delete;
    Sim& operator=(const Sim&) = delete;

    // add_host creates a host with its own identity and address (not running yet).
    uint32_t add_host(bool slow = false, bool hostile = false);
    // start runs the host's node (or hostile responder) and dials |seeds|.
    void start(uint32_t h, const std::vector<uint32_t>& seeds);
    // crash stops a host at once: its node state is gone and its connections go silent
    // (peers notice only through timeouts). restart brings it back, same id and address,
    // empty state (with persist on, its saved copy is lost too: a fresh data directory).
    void crash(uint32_t h);
    void restart(uint32_t h, const std::vector<uint32_t>& seeds);
    // restart_with_state (persist on) brings a crashed host back the way the daemon starts
    // on its old data directory: the records and values it had committed are restored
    // (those that expired meanwhile are dropped), and next to |seeds| it dials the contacts
    // of its routing table at the crash (the daemon's copy is up to a minute older; that
    // makes no difference to a table that barely changes). Same id and address.
    void restart_with_state(uint32_t h, const std::vector<uint32_t>& seeds);
    // partition puts each host in a group; hosts in different groups cannot reach each
    // other (connections across are blackholed, new ones time out). heal removes it.
    void partition(const std::vector<uint8_t>& group_of_host);
    void heal();

    void run_until(Time t);
    Time now() const { return now_; }

    // API calls on host |h|; results arrive in result() once done.
    core::RequestId closest(uint32_t h, const core::Key& key, core::LookupOptions o = {});
    core::RequestId find_providers(uint32_t h, const core::Key& key, core::LookupOptions o = {});
    core::RequestId get(uint32_t h, const core::Key& key, core::LookupOptions o = {});
    core::RequestId provide(uint32_t h, const core::Key& key, uint64_t ttl_secs);
    core::RequestId put(uint32_t h, core::ByteView value);
    const core::RequestResult* result(uint32_t h, core::RequestId id) const;

    uint32_t host_count() const { return static_cast<uint32_t>(hosts_.size()); }
    bool up(uint32_t h) const;
    bool hostile(uint32_t h) const;
    bool slow(uint32_t h) const;
    const core::NodeId& id(uint32_t h) const;
    // host_of returns the host with node id |id|, or UINT32_MAX.
    uint32_t host_of(const core::NodeId& id) const;
    const core::PeerAddr& addr(uint32_t h) const;
    core::Node* node(uint32_t h);
    // true_closest returns the up, honest hosts nearest |target| (excluding |except|).
    std::vector<uint32_t> true_closest(const core::NodeId& target, size_t n, uint32_t except) const;

    uint64_t event_hash() const { return hash_; }
    // exhausted: the event budget ran out; the simulation no longer advances.
    bool exhausted() const { return cfg_.max_events != 0 && events_ >= cfg_.max_events; }
    uint64_t events() const { return events_; }
    uint64_t bytes_delivered() const { return bytes_; }
    uint64_t rng_draw(uint64_t below);  // the simulator's own stream, for scenarios
    // link_latency: the one-way latency between two hosts (fixed per pair).
    Time link_latency(uint32_t a, uint32_t b) const;

    struct Host;
    struct Conn;

private:
    // E_FASTOPEN: a Fast Open SYN, carrying the dialer's first write, reaches the listener.
    enum EventKind : uint8_t {
        E_DELIVER = 1,
        E_FIN,
        E_CONNECT,
        E_CONNECT_FAIL,
        E_TIMER,
        E_FASTOPEN
    };
    static constexpr uint32_t NO_PAYLOAD = UINT32_MAX;
    struct Event;
    struct Due;
    struct Payload;
    void push(const Event& e);
    void dispatch(const Event& e, core::ByteView data);
    // conn returns the pipe |id| while either end is open, else null; release frees a pipe
    // once both ends are closed (its id is never reused: ids go into the event hash).
    Conn* conn(uint32_t id) const { return id < conns_.size() ? conns_[id].get() : nullptr; }
    void release(Conn& c);
    // remote: the address end |side| of |c| sees for the other end (the dialer's port is an
    // ephemeral one).
    core::PeerAddr remote(const Conn& c, int side) const;
    // after_input routes a host's Peers outputs, writes what its sessions queued, and
    // re-arms its timer: what the libuv adapter does after each callback.
    void after_input(uint32_t h);
    void route(uint32_t h, const core::PeerEvent& e);
    void flush(uint32_t h);
    void arm_timer(uint32_t h);
    void transmit(Conn& c, int from, core::Bytes&& bytes);
    void fin(Conn& c, int to);
    void connect(uint32_t h, core::DialId dial, const core::PeerAddr& addr);
    void open_pipe(uint32_t h, uint32_t t, core::DialId dial, bool syn_data);
    // The adversary: hostile hosts answer with raw Sessions and lies (liar.cc). liar is the
    // raw Session at end |side| of |c|, or null (an honest end, or one closed).
    core::Session* liar(const Conn& c, int side) const;
    void drop_liar(const Conn& c, int side);
    void liar_connect(uint32_t h, uint32_t t);
    void liar_receive(Conn& c, int side, core::ByteView bytes);
    void liar_answer(Conn& c, int side, core::ByteView payload);
    void liar_flush(Conn& c, int side);
    const core::Crypto& crypto() const { return *crypto_; }
    bool reachable(uint32_t a, uint32_t b) const;
    void mix(uint64_t v);
    void check_node(uint32_t h);
    void boot(uint32_t h, const std::vector<uint32_t>& seeds, bool with_state);

    SimConfig cfg_;
    std::unique_ptr<core::Crypto> crypto_;
    core::SeededRng rng_;
    uint64_t seed_state_;
    Time now_ = 0;
    uint64_t seq_ = 0;
    uint64_t hash_ = 1469598103934665603ULL;
    uint64_t events_ = 0;
    uint64_t bytes_ = 0;
    std::vector<Due> queue_;  // a binary min-heap on (at, seq)
    std::vector<Event> events_tab_;
    std::vector<uint32_t> free_events_;
    std::vector<Payload> payloads_;
    std::vector<uint32_t> free_payloads_;
    std::vector<std::unique_ptr<Host>> hosts_;
    std::map<core::PeerAddr, uint32_t> by_addr_;
    std::map<core::NodeId, uint32_t> by_id_;
    std::vector<std::unique_ptr<Conn>> conns_;  // by id; null once released (and for id 0)
    // The hostile ends' Sessions, by 2 * conn id + side: few, so not a member of every pipe.
    std::map<uint64_t, std::unique_ptr<core::Session>> liars_;
    uint32_t next_conn_ = 1;
    std::vector<uint8_t> group_;
    std::vector<core::PeerRef> dirty_;
    std::vector<uint32_t> hostile_hosts_;
};

}  // namespace svcdht::sim
