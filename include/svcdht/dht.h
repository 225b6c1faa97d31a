// SPDX-License-Identifier: MIT
// libsvcdht: a whole svc-dht node on a libuv loop the caller owns. Dht joins the engine
// (Node), the sessions (Peers) and the sockets (listener, dialer, connections) exactly as
// the svc-dht daemon does; the daemon itself is built on this class. Link with
// `pkg-config --cflags --libs svcdht` (docs/EMBEDDING.md, examples/put_get.cc).
//
// Rules:
//  - One thread: call everything from the thread that runs the loop. The Dht opens its own
//    handles on that loop and never blocks it.
//  - Call svcdht::init() once before create().
//  - Every request takes a callback that runs exactly once, on the loop, with the result:
//    when the request ends, or with Err::shutting_down when stop() is called first (unless
//    forget() dropped it). It may run before the call returns (a request the node answers
//    at once, or refuses).
//  - stop() closes the node's handles; destroy the Dht once the loop has run their close
//    callbacks (uv_run returns when nothing else holds the loop).
#pragma once

#include <uv.h>

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "svcdht/counters.h"
#include "svcdht/env.h"
#include "svcdht/node.h"
#include "svcdht/peers.h"
#include "svcdht/session.h"

namespace svcdht {

// init initialises libsodium; false if that fails. Call it once before anything else.
bool init();
// random_seed returns 32 bytes from the system CSPRNG: a new identity. Keep the seed to
// keep the node id across restarts.
core::Seed32 random_seed();
// id_of_seed is the node id an identity seed gives: BLAKE3 of its Ed25519 public key.
core::NodeId id_of_seed(const core::Seed32& seed);

struct DhtSettings {
    // The peer listener, HOST:PORT or [V6]:PORT; port 0 picks a free one (see port()).
    // Empty: a client that dials out but accepts no sessions.
    std::string listen = "0.0.0.0:0";
    // Seed nodes, HOST:PORT; names are resolved with getaddrinfo on the loop's thread pool.
    // None: the node starts standalone and is ready at once.
    std::vector<std::string> bootstrap;
    // Engine settings: network id, k, alpha, timeouts, store limits... Their defaults and
    // ranges are in svcdht/limits.h; create() refuses values outside them. listen_port,
    // seeds_expected and unix_epoch_offset_us are filled in by the Dht.
    core::NodeConfig node;
    // Handshake and idle timeouts. The network id is node.network.
    core::SessionConfig session;
    // Connection caps and memory budgets of the peer side.
    core::PeerLimits limits;
    // TCP Fast Open: a dial to a host that gave this kernel a cookie before sends its first
    // bytes (HELLO, ident, an early request) in the SYN, saving a round trip, and the
    // listener takes such SYNs. The kernel must allow each side: sysctl
    // net.ipv4.tcp_fastopen bit 1 for dials (the default), bit 2 for the listener.
    bool tcp_fastopen = true;
    // Where the node logs (nullptr: nowhere). Must outlive the Dht.
    core::LogSink* log = nullptr;
    // A durable store (docs/PERSISTENCE.md): records, values and the routing table's
    // contacts kept in LMDB under data_dir/store, so that they survive restarts and
    // crashes. Empty data_dir: everything stays in RAM and no file is created (amnesia).
    struct Persist {
        std::string data_dir;
        // true (durability = sync): a write is acknowledged once it is on the disk.
        // false (batched): once it is in the kernel's page cache, which writes it out at
        // least every sync_interval_ms. A crash of the process loses nothing acknowledged
        // either way; a power loss may lose sync_interval_ms of batched writes, or leave a
        // store LMDB cannot open (docs/PERSISTENCE.md).
        bool sync = false;
        uint32_t sync_interval_ms = 1000;
        uint64_t max_bytes = 1ull << 30;  // the store file grows up to this
    } persist;
};

// The result of a request: err is Err::ok or why it failed; complete is false when a
// lookup was cut by its deadline or hop budget (cut says which), and what it found so far
// is still there. See svcdht/node.h for each field.
using DhtResult = core::RequestResult;
using DhtCallback = void (*)(const DhtResult& result, void* user);

// A snapshot of the node's numbers: what the daemon's /metrics shows for the peer side.
struct DhtMetrics {
    core::Counters engine;        // requests, lookups, RPCs, store, routing (counters.h)
    core::SessionStats sessions;  // every session, open and closed, summed
    core::PeerStats peers;        // connections accepted, dialed, refused, evicted
    uint64_t open_sessions = 0;   // authenticated
    uint64_t connections = 0;     // of every kind, not closing
    uint64_t handshaking = 0;     // inbound, not yet authenticated
    uint64_t routing_table = 0;   // contacts
    uint64_t stored_records = 0, stored_values = 0, stored_bytes = 0;
    uint64_t rx_budget_used = 0, tx_budget_used = 0;  // bytes of the node-wide budgets
    uint64_t accept_paused = 0, io_errors = 0;
    // Connections whose SYN carried data the other side took (TCP Fast Open), by side.
    uint64_t fastopen_dialed = 0, fastopen_accepted = 0;
    // The durable store (all 0 without one).
    bool persistent = false;
    bool writes_refused = false;  // the last commit failed: writes get store_unavailable
    uint64_t store_file_bytes = 0;
    uint64_t persist_errors = 0;  // commits that failed
    // Store changes given up while the disk kept failing (the buffer holds 65,536): those
    // entries may come back from the disk, or be missing from it, after a restart.
    uint64_t persist_dropped = 0;
    core::Histogram<10> commit_seconds = commit_histogram();  // commit latency
    static core::Histogram<10> commit_histogram() {
        core::Histogram<10> h;
        h.bounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1};
        return h;
    }
};

class Dht {
public:
    // create checks |s| and builds a node with the identity |seed| derives; it binds
    // nothing yet, but opens (and locks) the durable store if |s| names one. nullptr with
    // a message in |err| when a setting is out of range or the store cannot be opened
    // (another process holds it, or its file is not a store: the message names the file).
    static std::unique_ptr<Dht> create(uv_loop_t* loop, DhtSettings s, const core::Seed32& seed,
                                       std::string* err);
    ~Dht();
    Dht(const Dht&) = delete;
    Dht& operator=(const Dht&) = delete;

    // start binds the listener and starts the node: it loads the durable store, dials the
    // contacts it saved and the seeds, and joins. false with a message in |err| if the
    // address cannot be bound.
    bool start(std::string* err);
    // stop ends every pending request (Err::shutting_down), closes every connection and
    // handle. Idempotent.
    void stop();
    // drain is the first step of a graceful stop: the listener closes, readiness turns
    // false and new requests are refused; requests in flight go on.
    void drain();
    // set_degraded switches read-only mode: while on, new stores (ADD_PROVIDER and
    // PUT_VALUE from peers: 1501; put and provide: Err::degraded) are refused, lookups,
    // reads and our own republishing go on. readiness().degraded tells the state.
    void set_degraded(bool on);

    const core::NodeId& id() const;
    uint16_t port() const;   // the bound peer port (0 before start, or without a listener)
    bool listening() const;  // the listener is open
    // ready: joined (a seed answered and the routing table holds contacts), or standalone.
    bool ready() const;
    core::Readiness readiness() const;

    // Requests. Each returns its id (also in the result) and later calls |cb| once.
    // |corr_id| (optional) names the operation on every log line of it and in its result.
    core::RequestId closest(const core::Key& key, DhtCallback cb, void* user,
                            std::string_view corr_id = {});
    core::RequestId find_providers(const core::Key& key, DhtCallback cb, void* user,
                                   std::string_view corr_id = {});
    core::RequestId get(const core::Key& key, DhtCallback cb, void* user,
                        std::string_view corr_id = {});
    // provide publishes a signed provider record: this node serves |key| at |addrs|
    // (tcp://, quic://, http(s)://...; at most 8) for |ttl_secs| (0: the node's ttl_secs).
    core::RequestId provide(const core::Key& key, std::span<const std::string> addrs,
                            uint64_t ttl_secs, DhtCallback cb, void* user,
                            std::string_view corr_id = {});
    // put stores |value| on the nodes closest to its key, BLAKE3(value) (the result's key);
    // get of that key returns it.
    core::RequestId put(core::ByteView value, DhtCallback cb, void* user,
                        std::string_view corr_id = {});
    core::RequestId ping(const core::PeerAddr& addr, DhtCallback cb, void* user,
                         std::string_view corr_id = {});
    // forget drops the callbacks registered with |user| without running them (the
    // requests go on): call it before |user| goes away with requests still pending.
    void forget(const void* user);

    DhtMetrics metrics() const;
    // The engine, read-only: routing table, store, configuration.
    const core::Node& node() const;
    // reconfigure applies the settings a running node may change: the engine's limits and
    // timeouts (Node::apply_reloadable), the peer limits and the session timeouts. The
    // listen address, seeds, network id and identity need a new Dht.
    void reconfigure(const DhtSettings& s);

private:
    struct Impl;
    explicit Dht(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

// check_node_config returns nullptr if |c| is within the engine's ranges (svcdht/limits.h),
// otherwise what is wrong.
const char* check_node_config(const core::NodeConfig& c);

}  // namespace svcdht
