// SPDX-License-Identifier: MIT
// Private state of the Node engine, shared by its parts: node.cc (sessions, dials, API,
// timers, actions), rpc.cc, serve.cc, walk.cc, publish.cc and maintain.cc. Not part of the
// public core API.
#pragma once

#include <utility>

#include "svcdht/check.h"
#include "svcdht/node.h"

namespace svcdht::core {

// InputCheck, declared first in every input of the Node, checks in builds with assertions
// on that the input does not arrive in the middle of a drain (poll() has handed out actions
// and not yet returned false: the drain-time rule of peers.h), and when the input returns,
// the routing table's invariants (sizes, order, no self entry, no duplicates, diversity
// tallies). It compiles to nothing under NDEBUG.
struct Node::InputCheck {
    const Node& node;
    explicit InputCheck(const Node& n) : node(n) {
#ifndef NDEBUG
        SVCDHT_CHECK(node.action_head_ == 0,
                     "a Node input arrived in the middle of a drain of its actions");
#endif
    }
    ~InputCheck() {
#ifndef NDEBUG
        node.table_.check_invariants();
#endif
    }
};

// Timer kinds in the node's heap. Entries are checked when they fire (lazy cancellation):
// an RPC, lookup or dial that ended in the meantime makes its entry a no-op.
enum class TimerKind : uint8_t { lookup_deadline = 1, dial_timeout, seed, maintenance, keepalive };

// Who is waiting for an RPC.
enum class OwnerKind : uint8_t {
    none = 0,
    lookup,      // owner_id = lookup id
    publish,     // owner_id = publish id
    evict_ping,  // ping-before-evict of a stale contact
    api_ping,    // owner_id = request id
    replicate,   // a push to a closer node; nobody waits
    keepalive,   // a warm session's ping (NodeConfig::warm_sessions); nobody waits
};

// Why a lookup runs (lookup_purpose_name, in this order).
enum class Purpose : uint8_t { api, join, refresh, publish };
static_assert(static_cast<int>(Purpose::publish) + 1 == LOOKUP_PURPOSE_COUNT);

// What a publish job stores.
enum class PublishKind : uint8_t { record, value, replicate };

// Maintenance rounds run on a 10 s grid: bucket refresh, the periodic self-lookup and seed
// redials. A round with nothing due is skipped without
// waking the process (Node::maintenance_deadline), so an idle node does not tick.
inline constexpr Time MAINTENANCE_INTERVAL = secs(10);
// A dial not answered (open or failed) within this time is given up by the node.
inline constexpr Time DIAL_TIMEOUT = secs(5);
// Bucket refresh lookups started per maintenance round, so a node that was idle for long
// does not start 30 lookups at once.
inline constexpr uint32_t MAX_REFRESH_PER_ROUND = 2;
// Inbound request token buckets kept at most (one per peer id or client host). Beyond it,
// buckets that have refilled are forgotten first (they hold no debt), then the oldest.
inline constexpr size_t MAX_RATE_BUCKETS = 16384;
// Refilled buckets are also forgotten whenever the map doubles since the last such sweep
// (from this size up), so it holds about the requesters of the last refill time, not
// every peer that ever asked: forgetting a full bucket changes no answer. A node that
// answers a few hundred peers in turn (a network's joins) would otherwise keep up to this
// many entries of 80 bytes for good.
inline constexpr size_t RATE_SWEEP_MIN = 32;
// Records a GET_PROVIDERS answer carries (newest first).
inline constexpr size_t MAX_PROVIDERS_PER_ANSWER = 20;
// Outbound requests queued on one dial while it connects.
inline constexpr size_t MAX_PENDING_PER_DIAL = 64;
// Replication pushes started per table change, to pace bursts.
inline constexpr uint32_t MAX_PUSHES_PER_ROUND = 256;
// Replication pushes owed to a busy peer: at most this many node-wide (the rest are given
// up and counted), tried again at maintenance rounds after 10, 20, 40 ... s, at most
// MAX_OWED_TRIES times (about 10 minutes in all).
inline constexpr size_t MAX_OWED_PUSHES = 4096;
inline constexpr uint8_t MAX_OWED_TRIES = 6;
// Held keys' rounds (replication and republishing) run at once; more that come due
// together wait for the next maintenance interval.
inline constexpr size_t MAX_KEY_ROUNDS_PER_TURN = 16;
// Keys whose entries expire in one turn at most: with a disk store each removal is also a
// delete in the turn's commit, and a commit of 100 random keys takes about 1 ms (a leaf
// page copied per key: docs/PERFORMANCE.md, bench/store); the rest are due again at once,
// in the next turn, after the loop has polled for I/O.
inline constexpr size_t MAX_EXPIRY_KEYS_PER_TURN = 100;
// Bootstrap backoff: full jitter over base * 2^attempt, capped at 5 minutes.
inline constexpr Time SEED_BACKOFF_BASE = secs(1);
inline constexpr Time SEED_BACKOFF_CAP = secs(300);
// A seed that was up and left the table is retried with backoff capped lower, so that a
// healed partition is noticed within about this long (plus a maintenance round), and no
// more often than every SEED_RECHECK while it answers but cannot enter the table (its
// bucket is full).
inline constexpr Time SEED_REJOIN_BACKOFF_CAP = secs(16);
inline constexpr Time SEED_RECHECK = secs(600);

// provider_info is what an API answer shows of one stored provider record, with its time
// left at |now_unix| (walk.cc).
ProviderInfo provider_info(const StoredRecord& s, uint64_t now_unix);

struct Node::Conn {
    PeerRef ref = 0;
    NodeId id;
    PeerAddr remote;          // socket address
    uint16_t ident_port = 0;  // the port its ident names (0: a client)
    bool routable = false;
    // route: where it takes sessions, the remote ip with its ident port.
    PeerAddr route() const {
        PeerAddr a = remote;
        a.port = ident_port;
        return a;
    }
    uint32_t inflight = 0;  // our RPCs waiting for an answer on this session (Rpc::ref)
    RateKey rate;           // its inbound request token bucket in rate_buckets_
    PeerRef older = 0;      // the peer's session opened before this one, still open
    Time kept = 0;          // its last frame in, or our last keepalive ping on it
};

inline constexpr size_t CONN_CHUNK = 8;  // sessions per chunk of Node::ConnSlots

inline const Node::Conn* Node::ConnSlots::find(PeerRef ref) const {
    const size_t slot = static_cast<uint32_t>(ref);
    if (ref == 0 || slot / CONN_CHUNK >= chunks_.size() || !chunks_[slot / CONN_CHUNK])
        return nullptr;
    const Conn& c = chunks_[slot / CONN_CHUNK][slot % CONN_CHUNK];
    return c.ref == ref ? &c : nullptr;
}

inline Node::Conn* Node::ConnSlots::find(PeerRef ref) {
    return const_cast<Conn*>(std::as_const(*this).find(ref));
}

template <class F>
void Node::ConnSlots::each(F&& f) const {
    for (const std::unique_ptr<Conn[]>& chunk : chunks_)
        for (size_t i = 0; chunk && i < CONN_CHUNK; ++i)
            if (chunk[i].ref != 0) f(chunk[i]);
}

struct Node::Dial {
    DialId id = 0;
    PeerAddr addr;
    bool has_expect = false;
    NodeId expect;
    int seed = -1;                  // index in seeds_, or -1
    bool warm = false;              // a contact restored from disk (warm_contacts)
    bool connected = false;         // its TCP connection is up (on_dial_connected)
    std::vector<uint64_t> pending;  // rids to send once open
};

// A push of one key's records and value to a closer node that had no room for it yet.
struct Node::OwedPush {
    Key key;
    NodeId to;
    PeerAddr addr;
    size_t from = 0;  // the first item (records, then the value) not sent yet
    Time due = 0;
    uint8_t tries = 0;
};

struct Node::Rpc {
    uint64_t rid = 0;
    Op op = Op::ping;
    NodeId peer;  // who must answer (unknown for an API ping until the session opens)
    bool know_id = true;
    PeerAddr addr;
    PeerRef ref = 0;  // the session it went out on (0 = waiting for a dial)
    DialId dial = 0;
    Time created = 0;
    Time sent = 0;
    Time deadline = NEVER;  // RPC timeout, once transmitted (in rpc_timeouts_)
    Time hedge_at = NEVER;  // next hedge check (in rpc_hedges_)
    Time hedge_delay = 0;   // slow once unanswered this long after created
    bool retried = false;   // already sent again after its session closed
    bool early = false;     // sent behind our ident on its dial's connection (sent = then)
    OwnerKind owner_kind = OwnerKind::none;
    uint64_t owner_id = 0;
    Bytes msg;  // the encoded request
};

struct Node::LookupState {
    uint64_t id = 0;
    Lookup lk;
    Purpose purpose = Purpose::api;
    uint64_t purpose_id = 0;
    Time started = 0;
    uint32_t rpcs = 0;
    bool found = false;
    uint32_t found_depth = 0;
    Bytes value;
    std::vector<StoredRecord> providers;

    LookupState(const LookupParams& p, const NodeId& self) : lk(p, self) {}
};

struct Node::Publish {
    uint64_t id = 0;
    PublishKind kind = PublishKind::record;
    Key key;
    StoredRecord rec;  // PublishKind::record
    Bytes value;       // PublishKind::value
    RequestId api = 0;
    Err cut = Err::ok;  // the target lookup was cut short (deadline, hop budget)
    uint32_t pending = 0;
    uint32_t acks = 0;
    // The distinct nodes that acknowledged a store with Ok (at most replica of them): the
    // copies this round confirmed besides our own.
    std::vector<NodeId> holders;
    Time started = 0;
};

}  // namespace svcdht::core
