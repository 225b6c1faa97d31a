// SPDX-License-Identifier: MIT
// Peers: the one composition of a Node with the Sessions of its connections, written once
// for every embedder (the libuv adapter, the simulator, the engine's unit tests). The
// embedder owns the sockets and moves bytes; Peers owns the sessions, by PeerRef (slot and
// generation), feeds their events to the Node, drains the Node's actions into them, applies
// the connection limits (open sessions, the handshake pool, per-host caps), charges the
// node-wide memory budgets, folds session counters into the Node's, and keeps one deadline
// for the Node and every session. Sans-IO: time is an argument, nothing here blocks.
//
// The embedder's side, in full:
//   inputs   accepted(remote), connected(dial, remote), dial_failed(dial), received(ref,
//            bytes), sent(ref, n), closed(ref), on_timer(now), and the Node's API followed by
//            pump(now);
//   outputs  poll(): dial, cancel_dial, close (flush the session's last bytes, then close
//            the socket, then call closed()), done (an API result); take_dirty() and
//            take_tx() for bytes to write, once per loop turn or after each input.
//
// The drain-time rule: Peers never calls into the Node while it drains the Node's actions.
// A hang-up the Node asks for, and a dial Peers must refuse, are carried out once the Node
// has no action left; only then does the Node hear of them (on_session_closed,
// on_dial_failed), like of any other close. Every input therefore reaches the Node on its
// own, never nested in another (node.h).
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <memory>
#include <vector>

#include "svcdht/budget.h"
#include "svcdht/node.h"
#include "svcdht/session.h"

namespace svcdht::core {

struct PeerLimits {
    // Open (authenticated) sessions at most; one that opens beyond it closes the session
    // idle longest, preferring peers that are not routing-table contacts.
    uint32_t max_conns = 512;
    // Inbound connections still handshaking at most (0: a quarter of max_conns, at least
    // 8). They compete only among themselves: at the cap the oldest one is cut, so a flood
    // of silent strangers can neither close an open session nor keep a real peer out for
    // longer than this many newer arrivals.
    uint32_t max_handshakes = 0;
    // Connections from one host (loopback exempt); IPv6 hosts are grouped by their first
    // conns_v6_prefix bits, since one host normally holds a whole /64.
    uint32_t max_conns_per_ip = 16;
    uint32_t conns_v6_prefix = 64;
    // Node-wide memory for partial frames and for queued transmit bytes.
    size_t max_reassembly_bytes = DEFAULT_RX_BUDGET;
    size_t max_tx_queue_bytes = DEFAULT_TX_BUDGET;

    uint32_t handshake_cap() const {
        return max_handshakes != 0 ? max_handshakes : std::max<uint32_t>(8, max_conns / 4);
    }
    // Connections of every kind together: open sessions, the handshake pool, and as many
    // again for our own dials in progress.
    uint32_t hard_cap() const { return max_conns + 2 * handshake_cap(); }
};

struct PeerStats {  // for /metrics
    uint64_t accepted = 0, dialed = 0, rejected_per_ip = 0, refused_full = 0;
    uint64_t evicted_idle = 0, handshakes_evicted = 0;
};

struct PeerEvent {
    enum class Kind : uint8_t {
        dial,         // connect to |addr| for |dial|; report connected() or dial_failed()
        cancel_dial,  // the Node gave |dial| up: abort it (a late connect is refused anyway)
        close,        // close |ref|'s socket: write take_tx() first if |flush|, then closed()
        done,         // an API request ended: |result| is valid until the next call
    };
    Kind kind = Kind::dial;
    PeerRef ref = 0;
    DialId dial = 0;
    PeerAddr addr;
    bool flush = false;
    const RequestResult* result = nullptr;
};

class Peers {
public:
    // |node|, |scfg| and |self| must outlive the Peers. |scfg| may change between sessions
    // (SIGHUP); each session reads it when it is created.
    Peers(Node& node, const SessionConfig& scfg, const Identity& self, Env env, PeerLimits limits);
    ~Peers();
    Peers(const Peers&) = delete;
    Peers& operator=(const Peers&) = delete;

    // ---- inputs ----
    // accepted: a listener accepted a connection from |remote|. Returns its ref, or 0 when
    // it is refused (its host is at max_conns_per_ip, or every slot is taken): the embedder
    // closes the socket. At the handshake cap the oldest stranger is cut (a close output).
    PeerRef accepted(const PeerAddr& remote, Time now);
    // can_accept says whether accepted() would find a slot: while it is false the embedder
    // may leave connections in the kernel's backlog, and try again after a closed().
    bool can_accept() const;
    // connected: the socket of |dial| is up. Returns its ref, or 0 if the dial was cancelled
    // meanwhile (the embedder closes the socket).
    PeerRef connected(DialId dial, const PeerAddr& remote, Time now);
    void dial_failed(DialId dial, Err why, Time now);
    // received: bytes arrived on |ref|. Unknown or closing refs are ignored.
    void received(PeerRef ref, ByteView bytes, Time now);
    // sent: |n| bytes from take_tx(ref) left the process.
    void sent(PeerRef ref, size_t n);
    // closed: the socket of |ref| is gone (the peer closed or reset it, an I/O error, or the
    // embedder closed it after a close output). The slot is freed; |why| reaches the Node
    // if it had not heard of the close yet.
    void closed(PeerRef ref, Err why, Time now);
    void on_timer(Time now);
    // pump drains the Node's actions after an API call on node().
    void pump(Time now);

    // ---- outputs ----
    // poll returns the next output of the inputs so far; a done result stays valid until
    // the next input. Every input drains the Node completely, so after an input the
    // embedder polls until poll returns false.
    bool poll(PeerEvent* out);
    // take_dirty lists the refs with bytes to write (each once) and clears the list.
    void take_dirty(std::vector<PeerRef>& out);
    // take_tx moves |ref|'s queued bytes into |out| (see Session::take_tx).
    void take_tx(PeerRef ref, Bytes* out);
    Time next_deadline() const;

    // ---- views ----
    Node& node() { return node_; }
    const Node& node() const { return node_; }
    size_t open_sessions() const { return open_; }
    size_t handshaking() const { return handshaking_in_; }
    size_t connections() const { return live_; }  // not closing
    const PeerStats& stats() const { return stats_; }
    // session_stats: the counters of every session this Peers ran, open or ended (each
    // session counts into these totals directly).
    const SessionStats& session_stats() const { return session_totals_; }
    size_t rx_budget_used() const { return rx_budget_.used; }
    size_t tx_budget_used() const { return tx_budget_.used; }
    const PeerAddr* remote(PeerRef ref) const;
    // set_tag and tag: one word the embedder keeps with a connection (its socket or pipe),
    // so that it needs no map of its own from refs. tag is 0 until set, and for a ref whose
    // slot is gone (after closed()).
    void set_tag(PeerRef ref, uint64_t tag);
    uint64_t tag(PeerRef ref) const;
    void set_limits(const PeerLimits& limits);
    // close_all closes every connection (close outputs, no Node notification): shutdown.
    void close_all();
    void check_invariants() const;

    struct Slot;

private:
    Slot* find(PeerRef ref);
    const Slot* find(PeerRef ref) const;
    PeerRef add(bool inbound, DialId dial, const PeerAddr& remote, const NodeId* expect, Time now);
    void feed(Slot& s, ByteView bytes, Time now);
    // lost: the session ended (its own close, a hang-up, an eviction): tell the Node and
    // ask the embedder to close the socket.
    void lost(Slot& s, Err why, bool flush, Time now);
    void evict_oldest_handshake(Time now);
    void evict_for(const Slot& opened, Time now);
    void touch(Slot& s);
    // sweep_timers drops the entries of connections gone or re-armed since (they would be
    // skipped when due) and gives back the room a busy spell left in timers_.
    void sweep_timers();
    void drain(Time now);
    void handle(const Action& a, Time now);
    void emit(const PeerEvent& e);
    void mark_dirty(Slot& s);

    Node& node_;
    const SessionConfig& scfg_;
    const Identity& self_;
    Env env_;
    PeerLimits limits_;
    ByteBudget rx_budget_;
    ByteBudget tx_budget_;
    PeerStats stats_;
    SessionStats session_totals_;

    std::vector<std::unique_ptr<Slot>> slots_;
    std::vector<uint32_t> gens_;  // per slot, bumped on reuse: a stale ref finds nothing
    std::vector<uint32_t> free_;
    size_t live_ = 0;                                      // slots in use and not closing
    size_t open_ = 0;                                      // open sessions
    size_t handshaking_in_ = 0;                            // inbound, not open, not closing
    uint64_t arrivals_ = 0;                                // accept order, for the oldest stranger
    std::vector<std::pair<PeerAddr, uint32_t>> per_host_;  // sorted by host key
    struct Dialing {
        DialId dial = 0;
        bool has_expect = false;
        NodeId expect;
    };
    // take_dialing removes |dial| from dialing_ (into |out| if not null); false if absent.
    bool take_dialing(DialId dial, Dialing* out);
    static constexpr size_t KEPT_EVENTS = 16;
    std::vector<Dialing> dialing_;   // dials the embedder is connecting
    std::vector<DialId> cancelled_;  // given up by the Node; a late connect is refused

    // Session deadlines: a lazy min-heap of (deadline, ref). An entry whose slot has armed
    // another time since is skipped when it comes due.
    std::vector<std::pair<Time, PeerRef>> timers_;
    size_t timers_sweep_at_ = MIN_TIMER_SWEEP;  // sweep_timers() when timers_ grows to this
    static constexpr size_t MIN_TIMER_SWEEP = 64;

    // Outputs not yet polled (done results are copies: the Node recycles its own at the end
    // of a drain), and work the drain-time rule defers.
    std::vector<PeerEvent> out_;
    size_t out_head_ = 0;
    std::deque<RequestResult> results_;
    std::vector<PeerRef> hangups_;
    std::vector<DialId> refused_dials_;
    std::vector<PeerRef> dirty_;
};

}  // namespace svcdht::core
