// SPDX-License-Identifier: MIT
// The libuv adapter for the DHT: the only place with uv handles for peer sessions. It owns
// the Node, the listener, every connection (uv_tcp_t + the core Session + write requests),
// the dialer (with uv_getaddrinfo for seed names), the connection pool limits, and one
// deadline timer re-armed each loop turn to the earliest Node or Session deadline. Replies
// are flushed once per loop turn, one uv_write per connection. Handles are freed only in
// their close callbacks.
#pragma once

#include <uv.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "svcdht/node.h"
#include "svcdht/session.h"

namespace svcdht::io {

// RequestWaiter receives the result of an API request it asked the loop to watch.
class RequestWaiter {
public:
    virtual ~RequestWaiter() = default;
    virtual void on_request_done(const core::RequestResult& r) = 0;
};

struct NetLimits {
    // Open (authenticated) sessions at most; a session that opens beyond it closes the one
    // idle longest, preferring peers that are not routing-table contacts.
    uint32_t max_conns = 512;
    // Inbound connections still handshaking at most (0: a quarter of max_conns, at least
    // 8). They compete only among themselves: at the cap the oldest one is cut, so a flood
    // of silent strangers can neither close an open session nor keep a real peer out for
    // longer than this many newer arrivals.
    uint32_t max_handshakes = 0;
    // Connections from one address (loopback exempt); IPv6 addresses are grouped by their
    // first conns_v6_prefix bits, since one host normally holds a whole /64.
    uint32_t max_conns_per_ip = 16;
    uint32_t conns_v6_prefix = 64;
    // Node-wide memory for partial frames and for queued transmit bytes (ByteBudget).
    size_t max_reassembly_bytes = core::DEFAULT_RX_BUDGET;
    size_t max_tx_queue_bytes = core::DEFAULT_TX_BUDGET;

    uint32_t handshake_cap() const {
        return max_handshakes != 0 ? max_handshakes : std::max<uint32_t>(8, max_conns / 4);
    }
};

struct NetOptions {
    std::string listen;              // empty: client mode, no listener (ping, lookup)
    std::vector<std::string> seeds;  // host:port, names resolved with getaddrinfo
    NetLimits limits;
};

struct NetStats {  // for /metrics
    uint64_t accepted = 0, dialed = 0, accept_paused = 0, rejected_per_ip = 0, evicted_idle = 0;
    uint64_t handshakes_evicted = 0;
    uint64_t io_errors = 0;
    size_t rx_budget_used = 0, tx_budget_used = 0;
};

class Loop {
public:
    Loop(uv_loop_t* uv, const core::NodeConfig& ncfg, const core::SessionConfig& scfg,
         const core::Identity& self, core::Env env, NetOptions opts);
    ~Loop();
    Loop(const Loop&) = delete;
    Loop& operator=(const Loop&) = delete;

    // bind binds the peer listener (unless client mode). On failure it returns false with a
    // message (the daemon exits 3).
    bool bind(std::string* err);
    // start creates the Node (advertising the bound port), resolves and dials the seeds, and
    // arms the timer.
    void start();

    core::Node& node() { return *node_; }
    const core::Node& node() const { return *node_; }
    core::Time now() const;
    bool listener_bound() const { return listening_; }
    uint16_t bound_port() const { return bound_port_; }
    size_t sessions() const { return open_sessions_; }
    size_t connections() const { return conn_count_; }
    size_t handshaking() const { return handshaking_in_; }
    NetStats stats() const;
    // live_session_stats sums the counters of sessions still open (closed ones are folded
    // into the Node's counters already).
    core::SessionStats live_session_stats() const;

    // watch routes the result of request |id| (already issued on node()) to |w|.
    void watch(core::RequestId id, RequestWaiter* w);
    // forget drops every watch of |w| (its connection went away).
    void forget(RequestWaiter* w);
    // pump hands the Node's pending actions to the network; call it after any API call.
    void pump();

    // stop_listening closes the peer listener (first step of a graceful stop).
    void stop_listening();
    // close_all closes every connection and handle the loop owns; uv_run then returns once
    // their close callbacks ran.
    void close_all();
    void set_limits(const NetLimits& limits);
    core::SessionConfig& session_config() { return scfg_; }

    struct Conn;

private:
    static void on_connection(uv_stream_t* server, int status);
    static void on_timer(uv_timer_t* t);
    static void on_prepare(uv_prepare_t* p);
    static void on_alloc(uv_handle_t* h, size_t suggested, uv_buf_t* buf);
    static void on_read(uv_stream_t* s, ssize_t nread, const uv_buf_t* buf);
    static void on_write(uv_write_t* req, int status);
    static void on_connect(uv_connect_t* req, int status);
    static void on_shutdown(uv_shutdown_t* req, int status);
    static void on_closed(uv_handle_t* h);
    static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res);
    static void on_resolve_retry(uv_timer_t* t);
    static void on_listener_closed(uv_handle_t* h);

    Conn* new_conn(bool inbound);
    Conn* find(core::PeerRef ref);
    void accept_one();
    void close_now(Conn& c);
    void evict_oldest_handshake();
    void evict_for(const Conn& opened);
    size_t live_conns() const { return conn_count_ - closing_count_; }
    size_t hard_cap() const { return opts_.limits.max_conns + opts_.limits.handshake_cap(); }
    void start_session(Conn& c, const core::NodeId* expect);
    void feed(Conn& c, core::ByteView bytes);
    void begin_close(Conn& c, core::Err why, bool notify_node);
    void flush(Conn& c);
    void drain_actions();
    void dial(core::DialId id, const core::PeerAddr& addr, bool has_expect,
              const core::NodeId& expect);
    void resolve_seed(size_t i);
    void rearm();
    void session_timers();

    uv_loop_t* uv_;
    core::NodeConfig ncfg_;
    core::SessionConfig scfg_;
    const core::Identity* self_;
    core::Env env_;
    NetOptions opts_;
    std::unique_ptr<core::Node> node_;

    uv_tcp_t listener_{};
    bool listening_ = false;
    bool listener_open_ = false;
    bool accept_paused_ = false;
    uint16_t bound_port_ = 0;
    uv_timer_t timer_{};
    uv_timer_t resolve_timer_{};  // retries seed names that did not resolve
    uv_prepare_t prepare_{};
    bool handles_open_ = false;
    bool closing_all_ = false;

    std::vector<std::unique_ptr<Conn>> slots_;
    std::vector<uint32_t> gens_;  // per slot, bumped on reuse: a stale PeerRef finds nothing
    std::vector<uint32_t> free_slots_;
    size_t conn_count_ = 0;
    size_t closing_count_ = 0;  // connections closed but not yet freed (in conn_count_)
    size_t open_sessions_ = 0;
    size_t handshaking_in_ = 0;  // inbound, not yet open, not closing
    core::ByteBudget rx_budget_;
    core::ByteBudget tx_budget_;
    std::map<core::DialId, uint32_t> dial_slots_;
    std::map<core::PeerAddr, uint32_t> per_ip_;  // keyed by conn_key(): address or v6 prefix
    std::map<core::RequestId, RequestWaiter*> waiters_;
    std::vector<uv_getaddrinfo_t*> resolving_;
    std::map<uv_getaddrinfo_t*, size_t> seed_of_req_;
    std::vector<size_t> retry_resolve_;
    NetStats stats_;
    // One read buffer for every connection: reads are processed synchronously in on_read,
    // so a single 64 KiB buffer serves all of them (an edge board does not pay 64 KiB per
    // peer).
    std::vector<char> rx_buf_;
};

// parse_addr turns "1.2.3.4:5", "[::1]:5" into a sockaddr; false if it is not numeric.
bool parse_addr(const std::string& s, sockaddr_storage* out);
// to_peer_addr converts a sockaddr (IPv4-mapped IPv6 becomes IPv4).
core::PeerAddr to_peer_addr(const sockaddr* sa);
void to_sockaddr(const core::PeerAddr& a, sockaddr_storage* out);
// now_us returns the monotonic clock in microseconds (the engine's time base).
core::Time now_us();
// unix_epoch_offset_us returns unix time minus now_us(), in microseconds: what a Node needs
// to read record timestamps (unix seconds) against its monotonic clock.
int64_t unix_epoch_offset_us();

}  // namespace svcdht::io
