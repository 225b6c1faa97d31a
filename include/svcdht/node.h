// SPDX-License-Identifier: MIT
// Node: the Kademlia engine, sans-IO. It consumes events (a session opened or closed, a
// dial failed, a Data payload arrived, the timer fired, an API call) with `now` passed in,
// and produces actions pulled with poll() (send bytes on a session, dial an address, hang
// up, a request is done) plus next_deadline(). It owns the routing table, the RPC table,
// the lookups, the store, bootstrap, republishing and re-replication, rate limits,
// readiness and the core counters. No global state: many Nodes live in one process.
//
// Threading: single-threaded. Inputs must not be called from inside another input.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <initializer_list>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "svcdht/bytes.h"
#include "svcdht/counters.h"
#include "svcdht/env.h"
#include "svcdht/id.h"
#include "svcdht/limits.h"
#include "svcdht/lookup.h"
#include "svcdht/message.h"
#include "svcdht/routing_table.h"
#include "svcdht/session.h"
#include "svcdht/store.h"
#include "svcdht/types.h"

namespace svcdht::core {

// The engine's private kinds (node_internal.h), declared here for its private members.
enum class TimerKind : uint8_t;
enum class OwnerKind : uint8_t;
enum class Purpose : uint8_t;
enum class PublishKind : uint8_t;

using RequestId = uint64_t;  // API requests, from 1
// A session, named by the embedder; never 0. Its low 32 bits are a slot number the
// embedder reuses (Peers: its slot, the high half a generation), so the node keeps its
// sessions in a table indexed by them: they must stay small, like a count of connections.
using PeerRef = uint64_t;
using DialId = uint64_t;  // an outbound connection attempt, named by the node; never 0

struct NodeConfig {
    std::string network = "ron";
    uint16_t listen_port = 0;  // advertised in our ident; 0 = we accept no sessions
    uint32_t k = DEFAULT_K;
    uint32_t alpha = DEFAULT_ALPHA;
    uint32_t beta = DEFAULT_BETA;
    uint32_t disjoint = DEFAULT_DISJOINT;  // default number of disjoint lookup paths
    uint32_t replica = DEFAULT_REPLICA;
    uint32_t hop_budget = DEFAULT_HOP_BUDGET;
    Time rpc_timeout = msec(DEFAULT_RPC_TIMEOUT_MS);
    Time hedge_after = msec(DEFAULT_HEDGE_AFTER_MS);
    // adaptive_hedge: a lookup query is slow once it outlasts the round trips it needs
    // times the peer's smoothed RTT plus four deviations (the node's estimate across all
    // peers for one not yet timed); hedge_after is then only the value before any sample.
    // Off by default: it waits on a peer known to be slow, and so loses the tail rescue
    // with 5 % slow nodes (docs/PERFORMANCE.md has both).
    bool adaptive_hedge = false;
    // adaptive_timeout: an RPC fails once it outlasts the round trips it needs (one from its
    // transmission on a session; a lookup query still waiting for its connection is given
    // up after three from when it began) times the peer's smoothed RTT plus four
    // deviations (the node's estimate, handshakes included, for a peer not timed yet),
    // clamped to [rpc_timeout, ADAPTIVE_TIMEOUT_MAX_FACTOR * rpc_timeout] (twice it). It
    // only ever waits longer than the fixed rpc_timeout: on far links, where a new
    // connection's round trips take longer than rpc_timeout, good peers are not failed.
    bool adaptive_timeout = true;
    // warm_sessions: how many sessions to routing-table contacts are kept open, the farthest
    // buckets first (where lookups for most keys begin). Once such a session has been quiet
    // for three quarters of idle_timeout it gets a PING, so neither end's idle timeout
    // closes it and a lookup that starts at that contact needs no new connection. 0: every
    // session idles out. idle_timeout is the sessions' own (SessionConfig::idle_timeout; the
    // embedding copies it here).
    uint32_t warm_sessions = DEFAULT_WARM_SESSIONS;
    Time idle_timeout = DEFAULT_IDLE_TIMEOUT;
    Time lookup_deadline = msec(DEFAULT_DEADLINE_MS);
    Time refresh_interval = secs(15 * 60);
    uint64_t ttl_secs = DEFAULT_TTL_SECS;
    uint64_t max_ttl_secs = DEFAULT_MAX_TTL_SECS;
    uint64_t republish_secs = 43200;
    size_t max_value_bytes = DEFAULT_MAX_VALUE_BYTES;
    StoreLimits store;
    DiversityConfig diversity;
    uint32_t bootstrap_required = 0;  // 0 = min(3, number of seeds)
    // Seeds the embedder will add (names may still be resolving): until they are added and
    // one has answered, routing is not ready. 0 = judge by the seeds added so far.
    uint32_t seeds_expected = 0;
    // RPCs in flight node-wide; more fail at once with Err::busy (and queues are not ok).
    uint32_t max_inflight = 4096;
    // Inbound request rate per peer (token bucket): sustained rate and burst.
    uint32_t peer_rate = 200;
    uint32_t peer_burst = 400;
    // Node-wide inbound request rate before answering Busy. Writes (ADD_PROVIDER,
    // PUT_VALUE) also have their own node-wide rate, node_write_rate, and may not take the
    // last half of node_rate's budget: under load they are shed before reads.
    uint32_t node_rate = 20000;
    uint32_t node_write_rate = 10000;
    // API lookups and publishes running at once; more are refused with Err::busy.
    uint32_t max_api_requests = 256;
    // RPCs in flight to one peer; more fail at once with Err::busy.
    uint32_t max_inflight_per_peer = 16;
    // Refuse provider records signed only with a classical algorithm (Ed25519), in ADD_PROVIDER
    // and in lookup answers; each refusal of an otherwise valid record is counted as a
    // downgrade attempt.
    bool require_pq = false;
    // Unix time in microseconds at engine time 0 (record ts and ttl are unix seconds).
    int64_t unix_epoch_offset_us = 0;
};

enum class ApiOp : uint8_t { closest, find_providers, get, provide, put, ping };
const char* api_op_name(ApiOp op);

struct LookupOptions {
    uint32_t disjoint = 0;  // 0 = NodeConfig::disjoint
    int32_t beta = -1;      // -1 = NodeConfig::beta
};

struct ProviderInfo {
    PublicKey publisher{};  // the Ed25519 key, or BLAKE3 of another algorithm's key
    uint64_t alg = SIG_ED25519;
    std::vector<std::string> addrs;
    uint64_t ttl = 0;
    uint64_t ts = 0;
    uint64_t secs_left = 0;
};

struct RequestResult {
    RequestId id = 0;
    ApiOp op = ApiOp::closest;
    // The caller's correlation id (API requests), on every log line of the request.
    std::string corr_id;
    Err err = Err::ok;
    Key key;
    uint32_t hops = 0;
    uint32_t rpcs = 0;
    Time elapsed = 0;
    // A lookup cut short reports it: complete is false and |cut| says why (Err::deadline
    // or Err::hop_budget). What it found so far is still in the result.
    bool complete = true;
    Err cut = Err::ok;
    std::vector<NodeInfo> nodes;          // closest: nearest first
    std::vector<ProviderInfo> providers;  // find_providers
    Bytes value;                          // get
    uint32_t stored_on = 0;               // provide, put: remote nodes that accepted
    NodeId peer_id;                       // ping
    PeerAddr obs;                         // ping: how the peer saw us
};

struct Action {
    enum class Kind : uint8_t { send, dial, hangup, done };
    Kind kind = Kind::send;
    PeerRef peer = 0;  // send; hangup of a session
    DialId dial = 0;   // dial; hangup of a dial that is taking too long
    PeerAddr addr;     // dial
    bool has_expect = false;
    NodeId expect;       // dial: the id the peer must prove (if has_expect)
    ByteView payload;    // send: one encoded DhtMsg for a Data frame
    bool early = false;  // send: a request right behind our ident (Session::send_early)
    const RequestResult* result = nullptr;  // done
};

// Why a lookup runs (dht_lookups_inflight{purpose}): an API request, the join's
// self-lookup, a refresh (buckets, our neighbourhood), or finding where to publish.
inline constexpr int LOOKUP_PURPOSE_COUNT = 4;
const char* lookup_purpose_name(int purpose);  // "api", "join", "refresh", "publish"

// Publish rounds kept for the replication gauges (Node::replication_held).
inline constexpr size_t REPLICATION_SAMPLES = 64;

// ReplicationHeld summarizes the copies confirmed by the last |samples| publish rounds
// (at most REPLICATION_SAMPLES): a provide or put, a republish of our own entry, or a
// holder's replication round of what others stored. A round's copies are this node's own
// (it holds the key) plus every distinct node of the key's replica set, as the round's
// lookup found it, that acknowledged a store with code Ok. No extra messages are sent:
// the rounds run anyway, paced by republish_interval and MAX_KEY_ROUNDS_PER_TURN.
struct ReplicationHeld {
    uint32_t samples = 0;
    uint32_t min = 0;   // 0 with no sample
    double median = 0;  // mean of the two middle rounds for an even count
};

struct SessionInfo {
    NodeId id;                // proven by the handshake
    PeerAddr remote;          // the socket's remote address (ip and port)
    uint16_t ident_port = 0;  // the port from the peer's ident (0 = accepts no sessions)
    // handshake_rtt: from our ident to the peer's auth, one round trip on either side
    // (the peer signs our nonce as soon as it has our ident). 0 = not measured.
    Time handshake_rtt = 0;
    // early_taken: the request the node sent right behind our ident on this dial (Action
    // early) is answered by the peer; when false it is sent again on the open session.
    bool early_taken = false;
};

struct Readiness {
    // bootstrap: enough seeds, or enough restored contacts (warm_contacts), authenticated.
    bool bootstrap = false;
    bool routing_ready = false;
    bool queues_ok = false;
    bool draining = false;
    bool degraded = false;  // read-only: not a gate, reads and lookups serve
    uint32_t seeds_up = 0;
    uint32_t seeds_required = 0;
    uint32_t seeds_configured = 0;
    uint32_t warm_dialed = 0;    // restored contacts dialed at start (warm_contacts)
    uint32_t warm_up = 0;        // of them, authenticated
    uint32_t warm_required = 0;  // authenticated ones that make the node ready
};

class Node {
public:
    Node(const NodeConfig& cfg, const Identity& self, Env env, Time now);
    ~Node();
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // ---- inputs ----
    // on_session_open: a session authenticated. |dial| is the DialId the node asked for,
    // or 0 for an inbound session.
    void on_session_open(PeerRef ref, const SessionInfo& info, DialId dial, Time now);
    void on_session_closed(PeerRef ref, Err why, Time now);
    // on_dial_failed: the dial never produced an open session (refused, timed out, or the
    // handshake failed; Err::peer_id_mismatch when the peer proved another id).
    void on_dial_failed(DialId dial, Err why, Time now);
    // on_dial_connected: the dial's TCP connection is up as |ref| (its handshake is next).
    // The first request waiting for it, if a read, goes out at once behind our ident (an
    // early send action to |ref|; none when |ref| is 0).
    void on_dial_connected(DialId dial, PeerRef ref, Time now);
    // on_early_request: the one Data payload a new session's peer sent right behind its
    // ident, before its auth: |claimed| holds the id it claims, not proven yet. A read
    // request is answered (to |ref|), nothing is learned from it; anything else is refused.
    void on_early_request(PeerRef ref, const SessionInfo& claimed, ByteView payload, Time now);
    // on_frame: one Data payload from an open session.
    void on_frame(PeerRef ref, ByteView payload, Time now);
    void on_timer(Time now);

    // add_seed registers a bootstrap address and dials it (with backoff on failure).
    void add_seed(const PeerAddr& addr, Time now);
    // begin_drain marks the node as shutting down: maintenance stops, API calls fail with
    // Err::shutting_down, peers are still answered.
    void begin_drain(Time now);
    // set_degraded switches read-only mode: while on, new stores (ADD_PROVIDER and
    // PUT_VALUE from peers, provide and put from the API) are refused with Err::degraded
    // (wire code 1501); lookups, reads and our own republishing go on.
    void set_degraded(bool on, Time now);
    bool degraded() const { return degraded_; }

    // ---- API (each returns a request id, answered later by an Action::done) ----
    // |corr_id| (optional, the caller's id of the operation) is on every log line of the
    // request (its start and end, and at debug level each of its RPCs and hedges) and in
    // its result.
    RequestId closest(const Key& key, Time now, LookupOptions o = {},
                      std::string_view corr_id = {});
    RequestId find_providers(const Key& key, Time now, LookupOptions o = {},
                             std::string_view corr_id = {});
    RequestId get(const Key& key, Time now, LookupOptions o = {}, std::string_view corr_id = {});
    RequestId provide(const Key& key, std::span<const std::string> addrs, uint64_t ttl_secs,
                      Time now, std::string_view corr_id = {});
    RequestId put(ByteView value, Time now, std::string_view corr_id = {});
    RequestId ping(const PeerAddr& addr, Time now, std::string_view corr_id = {});

    // ---- durability (an embedder that keeps the store on disk) ----
    // restore_record and restore_value put back what a disk store saved, before the node
    // runs: the record's lifetime is its ts + ttl, a value's ends at |expires_unix_ms|.
    // Our own entries (src.local) get their republishing rounds back. Errors: record_expired
    // (its lifetime is over: delete it), or the store's refusal under today's limits.
    [[nodiscard]] Err restore_record(const ProviderRecord& rec, const StoreSource& src, Time now);
    [[nodiscard]] Err restore_value(const Key& key, ByteView value, uint64_t expires_unix_ms,
                                    uint64_t until_unix, const StoreSource& src, Time now);
    // warm_contacts dials the contacts a previous run knew, best first, next to the seeds:
    // once min(3, their number) of them (bootstrap_required, if set, instead of 3)
    // authenticate, routing is ready without any seed, and they start the join.
    void warm_contacts(std::span<const NodeInfo> contacts, Time now);
    // set_journal attaches the durable copy of the store: every later change of the store
    // is told to |j|, and acknowledgements of writes (1000 Ok to ADD_PROVIDER and
    // PUT_VALUE, the results of API provide and put) are held for the embedder's next
    // commit (persisted()). nullptr: none (the default), acknowledgements go out at once.
    void set_journal(StoreJournal* j);
    // holding_acks: acknowledgements wait for the next commit.
    bool holding_acks() const { return !held_acks_.empty() || !held_results_.empty(); }
    // persisted: the embedder committed everything the journal heard so far (ok) or could
    // not (the disk is full or unwritable). The held acknowledgements go out, after a failure
    // as Err::store_unavailable (code 1501, busy); from then on writes are refused with that
    // error, reads and routing go on, until a commit succeeds again.
    void persisted(bool ok);
    bool writes_refused() const { return persist_failed_; }
    // joined: the join's self-lookup finished once (the table stands for the network).
    bool joined() const { return joined_; }

    // ---- outputs ----
    // poll returns the next action. Views in it stay valid until the next call into the node.
    bool poll(Action* out);
    Time next_deadline() const;

    // ---- views ----
    const NodeId& id() const { return self_->id; }
    const NodeConfig& config() const { return cfg_; }
    const Counters& counters() const { return counters_; }
    const RoutingTable& table() const { return table_; }
    const Store& store() const { return store_; }
    Readiness readiness() const;
    size_t active_sessions() const { return conns_.size(); }
    size_t timer_entries() const { return heap_.size(); }  // live ones and some ended
    // warm_sessions: the sessions to routing-table contacts the last keepalive round kept
    // open (NodeConfig::warm_sessions).
    uint32_t warm_sessions() const { return warm_; }
    // rate_buckets: inbound request token buckets held (requesters still owing tokens, and
    // refilled ones not swept yet).
    size_t rate_buckets() const { return rate_buckets_.size(); }
    size_t pending_queries() const { return lookups_.size() + publishes_.size(); }
    size_t rpcs_inflight() const { return rpcs_.size(); }
    // lookups_inflight counts the lookups running, by purpose (lookup_purpose_name).
    std::array<uint32_t, LOOKUP_PURPOSE_COUNT> lookups_inflight() const;
    ReplicationHeld replication_held() const;
    // replication_owed counts the pushes to closer nodes still owed: the peer (or the
    // node) had no room for another RPC, and they are tried again with a doubling delay.
    size_t replication_owed() const;
    // net_rtt: the round trip across all peers (answered RPCs and handshakes, either side),
    // RFC 6298 smoothing; rpc_timeout_now: what an RPC to a peer not timed yet is given on
    // an open session now (rpc_timeout unless adaptive_timeout has samples calling for
    // more).
    const RttEstimate& net_rtt() const { return net_rtt_; }
    Time rpc_timeout_now() const { return rpc_timeout_for(nullptr, 1); }
    uint64_t unix_now(Time now) const;
    // apply_reloadable takes the limits SIGHUP may change (store, request rates, value
    // size) from |c|; the other fields of |c| are ignored.
    void apply_reloadable(const NodeConfig& c);
    void check_invariants() const;

    struct Conn;
    // ConnSlots: the open sessions, each Conn in the slot its ref names (the ref's low
    // half), in chunks of CONN_CHUNK that never move, so a Conn's address holds while it is
    // open. A lookup is an index and a compare, where a hash map took a hash, a bucket and
    // a node. A chunk goes when its last session closes, so that the memory follows the
    // sessions open now and not the most a node ever had (Peers reuses its lowest slots
    // first).
    class ConnSlots {
    public:
        ConnSlots();
        ~ConnSlots();
        ConnSlots(const ConnSlots&) = delete;
        ConnSlots& operator=(const ConnSlots&) = delete;
        Conn* find(PeerRef ref);
        const Conn* find(PeerRef ref) const;
        bool contains(PeerRef ref) const { return find(ref) != nullptr; }
        // add takes |ref|'s slot; null if another session holds it still.
        Conn* add(PeerRef ref);
        void erase(Conn* c);
        size_t size() const { return size_; }
        template <class F>
        void each(F&& f) const;  // f(const Conn&) for every open session

    private:
        std::vector<std::unique_ptr<Conn[]>> chunks_;
        size_t size_ = 0;
    };
    struct Dial;
    struct Rpc;
    struct LookupState;
    struct Publish;
    struct OwedPush;

private:
    struct InputCheck;
    struct TimerEntry {
        Time at;
        uint64_t seq;
        TimerKind kind;
        uint64_t id;
        bool operator>(const TimerEntry& o) const { return at != o.at ? at > o.at : seq > o.seq; }
    };
    struct Seed {
        PeerAddr addr;
        uint32_t attempts = 0;
        bool up = false;  // authenticated at least once
        bool dialing = false;
        DialId dial = 0;
        Time retry_at = 0;  // backing off until then (full jitter after each failure)
        NodeId id;          // the id it proved (once up)
        // A seed that left the routing table (its RPCs failed: a partition, or it was
        // down) is dialed again from maintenance (rejoin_due); after such a dial
        // succeeded, not again before recheck_at (it answers but stays out of the table,
        // its bucket being full).
        bool rejoining = false;
        Time recheck_at = 0;
        // Whether id is in the routing table, as of table membership in_table_at - 1 (0:
        // not looked up since the id was learned): the maintenance deadline asks after
        // every input, and a bucket scan per seed was a tenth of a quiet node's time.
        mutable uint64_t in_table_at = 0;
        mutable bool in_table = false;
    };
    bool seed_in_table(const Seed& s) const;
    // rejoin_due: seed |s| authenticated once, is neither in the table nor in session, and
    // its backoff and recheck time have passed: dialing it again reconnects a node whose
    // contacts on the seed's side all failed (it heals a partition).
    bool rejoin_due(const Seed& s, Time now) const;
    // Whose inbound request budget a session draws from: the proven id of a peer that takes
    // sessions (kind 0), or for a client (ident port 0, whose keys are free to make) its
    // host: the IPv4 address (kind 4) or IPv6 /64 (kind 6). Reconnecting, with the same
    // key or a fresh one, therefore does not refill the bucket.
    struct RateKey {
        uint8_t kind = 0;
        uint64_t bits = 0;
        auto operator<=>(const RateKey&) const = default;
    };
    struct RateBucket {
        double tokens = 0;
        Time at = 0;
    };
    // node.cc: timers, actions, sessions, RPCs, inbound requests and responses
    void timer(Time at, TimerKind kind, uint64_t id);
    // sweep_timers drops the entries of dials and lookups that ended (they would be
    // skipped when due) and gives back the room a busy spell left in the heap.
    void sweep_timers();
    static constexpr size_t MIN_TIMER_SWEEP = 64;
    Bytes& action_buffer();
    void emit_send(PeerRef ref, const DhtMsg& m);
    void log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields);
    bool log_on(LogLevel level) const { return env_.log != nullptr && env_.log->enabled(level); }
    // request_of: the API request an RPC of |kind|/|owner_id| works for, or null (the
    // node's own work: joins, refreshes, republishing, replication).
    const RequestResult* request_of(OwnerKind kind, uint64_t owner_id) const;
    void log_rpc(const Rpc& r, const Conn* c, const DhtMsg* answer, Err why, Time now);
    Conn* conn_for(const NodeId& id);
    DialId start_dial(const PeerAddr& addr, const NodeId* expect, Time now);
    std::unique_ptr<Dial> take_dial(DialId dial);  // removes and returns it, or null
    // session_contact: the table's contact for |c|'s peer, or one made from the session.
    Contact session_contact(const Conn& c) const;
    void learn_contact(const NodeId& id, const PeerAddr& addr, Time now);
    void contact_removed(const Contact& c, Time now);
    uint64_t send_rpc(const NodeId& to, const PeerAddr& addr, bool know_id, DhtMsg& req,
                      OwnerKind owner_kind, uint64_t owner_id, Time now, Err* why = nullptr);
    void transmit(Rpc& r, PeerRef ref, Time now);
    // attach puts |r| on the open session |ref| as sent at |sent| (its timeout runs from
    // then) without sending it; false when |ref| is not an open session.
    bool attach(Rpc& r, PeerRef ref, Time sent);
    void detach(const Rpc& r);
    std::unique_ptr<Rpc> take_rpc(uint64_t rid);  // out of the table and its timers, or null
    void rpc_failed(uint64_t rid, Err why, Time now);
    // rpc_done is the one completion of an RPC: |answer| (on |c|) is the response, or null
    // when it failed with |why|. Whoever waits for it hears the outcome here.
    void rpc_done(const Rpc& r, const Conn* c, const DhtMsg* answer, Err why, Time now);
    void hedge_check(uint64_t rid, Time now);
    Time hedge_delay(const Rpc& r) const;
    // estimate_for: the peer's RTT estimate (|r| null: none), else the node's.
    RttEstimate estimate_for(const Rpc* r) const;
    // rpc_timeout_for: how long |r| (null: an RPC to a peer not timed yet) may take for
    // |trips| round trips before it fails (NodeConfig::adaptive_timeout).
    Time rpc_timeout_for(const Rpc* r, Time trips) const;
    static RateKey rate_key(const SessionInfo& info);
    StoreSource store_source(const Conn& c) const;
    bool take_peer_token(const RateKey& key, Time now);
    void prune_rate_buckets(Time now);
    void handle_request(Conn& c, const DhtMsg& m, Time now);
    void refused_write(const Conn& c, const DhtMsg& m, const Key& key, Err e);
    void handle_response(Conn& c, const DhtMsg& m, Time now);
    // decode_from decodes a Data payload from |c|; a bad one is counted, answered when it
    // was a request we could read op, rid and f from, and false is returned.
    bool decode_from(Conn& c, ByteView payload, DhtMsg* m);
    void reply(Conn& c, DhtMsg& m);
    void reply_error(Conn& c, Op op, uint64_t rid, Code code);
    void answer_undecodable(Conn& c, const DecodeHeader& hdr, Code code);

    // node_ops.cc: lookups, API, publishing, replication, maintenance
    uint64_t start_lookup(LookupKind kind, const Key& target, Purpose purpose, uint64_t purpose_id,
                          LookupOptions o, Time now);
    void pump_lookup(uint64_t lid, Time now);
    void lookup_answer(LookupState& l, const Rpc& r, const DhtMsg& m, Time now);
    void finish_lookup(uint64_t lid, Err err, Time now);
    RequestResult& new_request(ApiOp op, const Key& key, std::string_view corr_id, Time now);
    bool api_gate(RequestResult& r, Time now);
    void complete(RequestResult& r, Err err, Time now);
    void log_done(const RequestResult& r, Err err);
    // provide_round and put_round store our own record or value here (the store keeps it
    // and its lifetime, |until_unix|, for the next round) and then on the replica closest
    // nodes; they return the local store's refusal, and publish nothing then.
    [[nodiscard]] Err provide_round(const Key& key, const std::vector<std::string_view>& addrs,
                                    uint64_t until_unix, RequestId api, Time now);
    [[nodiscard]] Err put_round(const Key& key, ByteView value, uint64_t until_unix, RequestId api,
                                Time now);
    void start_publish(PublishKind kind, const Key& key, StoredRecord rec, Bytes value,
                       RequestId api, Time now);
    void publish_targets_found(uint64_t pid, const std::vector<NodeInfo>& nodes, Time now);
    // publish_rpc_done hears one store RPC of a publish: |peer| acknowledged it with Ok
    // (null: it failed or was refused).
    void publish_rpc_done(uint64_t pid, const NodeId* peer, Time now);
    void replication_observed(uint32_t copies);
    size_t push_record_rpcs(const Key& key, const NodeId& to, const PeerAddr& addr,
                            OwnerKind owner_kind, uint64_t owner_id, Time now, uint32_t* sent,
                            size_t from = 0);
    void push_or_owe(const Key& key, const NodeId& to, const PeerAddr& addr, Time now,
                     uint32_t* sent);
    void owe(const Key& key, const NodeId& to, const PeerAddr& addr, size_t at, Time now);
    void retry_owed(Time now);
    void key_stored(const Key& key, Time now);
    NodeId replica_radius(const Key& key);
    void replication_on_add(const Contact& c, Time now);
    void replication_on_remove(const Contact& c, Time now);
    // key_round is a held key's periodic round: republish our own record or value within
    // its lifetime, and push what others stored to the key's current replica set.
    void key_round(const Key& key, Time now);
    void store_due(Time now);
    void seed_dial(size_t i, Time now);
    void seed_up(const Contact& seed, Time now);
    void sweep_buckets(Time now);
    void maintenance(Time now);
    void keepalive(Time now);
    void arm_keepalive(Time at);
    void warm_up(const Conn& c, Time now);
    uint32_t warm_required() const;
    // hold_ack keeps the 1000 Ok of a stored write for the next commit (with a journal);
    // false without one: answer now.
    bool hold_ack(const Conn& c, const DhtMsg& m);
    bool write_admitted(RequestResult& r, Time now);
    // maintenance_due is the earliest time at which a maintenance round would do anything
    // (redial a seed, refresh a bucket or our own neighbourhood), NEVER
    // when nothing is pending; maintenance_deadline is the round on the 10 s grid that
    // handles it. Only inputs change what is pending, and next_deadline() is asked again
    // after each, so an idle node sleeps through the rounds that would do nothing.
    Time maintenance_due() const;
    Time maintenance_deadline(Time scheduled) const;

    NodeConfig cfg_;
    const Identity* self_;
    Env env_;
    Counters counters_;
    RoutingTable table_;
    Store store_;

    // Open sessions (their addresses do not move); looked up, never iterated into outputs.
    ConnSlots conns_;
    // The newest open session of each authenticated peer, which we send on (an older one
    // may be dead: the peer restarted without us noticing yet); older ones (both sides
    // dialed at once) hang off it through Conn::older, newest first.
    std::unordered_map<NodeId, PeerRef, NodeIdHash> by_id_;
    std::map<DialId, std::unique_ptr<Dial>> dials_;
    std::unordered_map<NodeId, DialId, NodeIdHash> dial_by_id_;
    std::map<uint64_t, std::unique_ptr<Rpc>> rpcs_;
    std::map<uint64_t, std::unique_ptr<LookupState>> lookups_;
    std::map<uint64_t, std::unique_ptr<Publish>> publishes_;
    std::map<RequestId, std::unique_ptr<RequestResult>> requests_;

    std::vector<Seed> seeds_;
    uint32_t warm_dialed_ = 0;  // restored contacts dialed at start (warm_contacts)
    uint32_t warm_up_ = 0;      // ... of which authenticated
    bool joined_ = false;       // the self-lookup finished once
    // A join from saved contacts (warm_contacts) ended with fewer than k contacts known
    // (its first starting points were peers restarted with us, still joining themselves),
    // so its bucket sweep saw almost nothing; sweep again once the table reaches k
    // (on_session_open). A join through seeds is left as it was: a seed is a node that
    // knows the network.
    bool resweep_ = false;
    Time keepalive_at_ = NEVER;  // the keepalive timer entry that counts (lazy cancellation)
    uint32_t warm_ = 0;
    bool join_running_ = false;
    uint64_t join_lookup_ = 0;
    bool draining_ = false;
    bool degraded_ = false;
    Time last_self_refresh_ = 0;
    Time maintenance_at_ = 0;  // the grid round the maintenance timer entry stands for

    StoreDue store_due_;  // scratch for store_.due

    // Copies confirmed by the last publish rounds, a ring (replication_held()).
    std::array<uint32_t, REPLICATION_SAMPLES> replication_copies_{};
    std::vector<OwedPush> owed_;      // at most MAX_OWED_PUSHES
    size_t replication_samples_ = 0;  // rounds seen, all time

    // Durability (set_journal): commits reported so far, acknowledgements waiting for the
    // next one, and per API provide/put the commit that covers its local write (0: that
    // commit failed).
    struct HeldAck {
        PeerRef peer;
        Op op;
        uint64_t rid;
    };
    StoreJournal* journal_ = nullptr;
    uint64_t commits_ = 0;
    bool persist_failed_ = false;
    std::vector<HeldAck> held_acks_;
    std::vector<std::unique_ptr<RequestResult>> held_results_;
    std::map<RequestId, uint64_t> api_writes_;

    std::vector<TimerEntry> heap_;            // min-heap by (at, seq), lazily cancelled
    size_t heap_sweep_at_ = MIN_TIMER_SWEEP;  // sweep_timers() when heap_ grows to this
    // RPC timeouts and hedge checks change with every request, so they are kept exactly
    // (erased when the RPC ends) rather than in the lazy heap: no spurious wake-ups.
    std::set<std::pair<Time, uint64_t>> rpc_timeouts_;
    std::set<std::pair<Time, uint64_t>> rpc_hedges_;
    RttEstimate net_rtt_;  // round trips of answered RPCs and handshakes, all peers
    uint64_t timer_seq_ = 0;

    static constexpr size_t KEPT_ACTIONS = 16;
    std::vector<Action> actions_;
    size_t action_head_ = 0;
    std::vector<Bytes> action_bufs_;
    size_t action_bufs_used_ = 0;
    std::vector<std::unique_ptr<RequestResult>> retired_;  // results of pending done actions

    uint64_t next_rid_ = 1;
    uint64_t next_dial_ = 1;
    uint64_t next_lookup_ = 1;
    uint64_t next_publish_ = 1;
    RequestId next_request_ = 1;
    double node_tokens_ = 0;
    Time node_tokens_at_ = 0;
    double write_tokens_ = 0;
    Time write_tokens_at_ = 0;
    std::map<RateKey, RateBucket> rate_buckets_;  // at most MAX_RATE_BUCKETS
    size_t rate_sweep_at_ = 0;                    // its size at which full buckets go next

    // Scratch space reused by request handlers, so answering allocates little.
    std::vector<Contact> scratch_contacts_;
    std::vector<NodeInfo> scratch_nodes_;
    std::vector<const StoredRecord*> scratch_records_;
    std::vector<ProviderRecord> scratch_recs_;
    std::vector<std::vector<std::string_view>> scratch_addr_views_;
};

}  // namespace svcdht::core
