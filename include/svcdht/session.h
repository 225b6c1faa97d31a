// SPDX-License-Identifier: MIT
// Session: one TCP peer's sans-IO state machine (DESIGN 3.1). It exchanges HELLOs, runs the
// ident/auth handshake under handshake_timeout, reassembles frames from bytes split
// anywhere, drops (and counts) Data before authentication, answers framing violations
// with Ctrl errors, and keeps a bounded transmit queue. Time comes in as an argument; the
// embedder moves bytes in (recv) and out (take_tx) and arms a timer at next_deadline().
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>

#include "svcdht/budget.h"
#include "svcdht/bytes.h"
#include "svcdht/env.h"
#include "svcdht/err.h"
#include "svcdht/frame.h"
#include "svcdht/id.h"
#include "svcdht/limits.h"
#include "svcdht/types.h"

namespace svcdht::core {

struct CtrlMsg;

struct SessionConfig {
    std::string network = "ron";  // must equal the peer's ident "net"
    uint16_t listen_port = 0;     // our ident "port"; 0 = we accept no inbound sessions
    Time handshake_timeout = DEFAULT_HANDSHAKE_TIMEOUT;
    Time idle_timeout = DEFAULT_IDLE_TIMEOUT;
    uint32_t max_frame_len = MAX_FRAME_LEN;
    uint32_t tx_max_frames = DEFAULT_TX_MAX_FRAMES;
    size_t tx_max_bytes = DEFAULT_TX_MAX_BYTES;
    // early_requests: advertise CAP_EARLY_REQUEST in our HELLO and answer one read request
    // that arrives right behind the peer's ident, before its auth (docs/PROTOCOL.md 1.3).
    // Off, a session behaves as a peer from before the capability (tests, mixed networks in
    // the simulator).
    bool early_requests = true;
};

// Every per-session counter, once, with where /metrics shows it: X(field, metric family,
// reason, help). Counters with a reason are samples of dht_frames_rejected_total{reason};
// the others are families of their own. The sessions of a Peers all count into one
// SessionStats (Peers::session_stats), open and ended alike.
#define SVCDHT_SESSION_STATS(X)                                                          \
    X(rx_bytes, "dht_peer_rx_bytes_total", ok, "Bytes received on peer sessions")        \
    X(tx_bytes, "dht_peer_tx_bytes_total", ok, "Bytes handed to peer sockets")           \
    X(rx_frames, "dht_peer_rx_frames_total", ok, "Frames received on peer sessions")     \
    X(tx_frames, "dht_peer_tx_frames_total", ok, "Frames queued on peer sessions")       \
    X(peer_errors, "dht_peer_ctrl_errors_total", ok, "Ctrl error notices peers sent us") \
    X(tx_dropped, "dht_peer_dropped_total", ok,                                          \
      "Data frames dropped: a session's transmit queue or the node's budget was full")   \
    X(data_before_auth, "dht_frames_rejected_total", data_before_auth, "")               \
    X(unknown_kind, "dht_frames_rejected_total", unknown_kind, "")                       \
    X(oversize, "dht_frames_rejected_total", frame_too_large, "")                        \
    X(empty, "dht_frames_rejected_total", frame_empty, "")                               \
    X(bad_ctrl, "dht_frames_rejected_total", bad_ctrl_type, "")                          \
    X(rx_budget, "dht_frames_rejected_total", rx_budget, "")                             \
    X(stalled, "dht_frames_rejected_total", frame_stalled, "")

struct SessionStats {
#define SVCDHT_SS_FIELD(field, family, reason, help) uint64_t field = 0;
    SVCDHT_SESSION_STATS(SVCDHT_SS_FIELD)
#undef SVCDHT_SS_FIELD
    // rejected returns the frames these counters rejected for |reason| (0 for others).
    uint64_t rejected(Err reason) const {
        uint64_t n = 0;
#define SVCDHT_SS_REJ(field, family, r, help) \
    n += Err::r == reason && Err::r != Err::ok ? field : 0;
        SVCDHT_SESSION_STATS(SVCDHT_SS_REJ)
#undef SVCDHT_SS_REJ
        return n;
    }
};

enum class SessionState : uint8_t { hello, handshake, open, closed };

struct SessionEvent {
    // early: the one Data frame the peer sent right behind its ident, before its auth (its
    // id is claimed, not proven); the embedder may answer it once with send_data.
    enum class Type : uint8_t { none, opened, data, early, closed };
    Type type = Type::none;
    ByteView payload;   // data, early: valid until the next call into the session
    Err err = Err::ok;  // closed: why
};

class Session {
public:
    // The session starts at once: our HELLO and ident are queued for transmission. If
    // |expect| is given (we dialed a contact learned from someone), a peer proving another
    // id fails the handshake with Err::peer_id_mismatch. Reassembly buffers and queued
    // bytes are charged to |budgets| (node-wide; unlimited where null). The session counts
    // into |totals| (node-wide, shared by many sessions) or, where null, into counters of
    // its own. |cfg|, |self|, the budgets and the totals must outlive the session.
    Session(const SessionConfig& cfg, const Identity& self, Env env, Time now,
            const NodeId* expect = nullptr, SessionBudgets budgets = {},
            SessionStats* totals = nullptr);
    ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    // recv consumes bytes from the peer until one event is ready or |in| is used up and
    // returns the count consumed; call again with the rest while bytes remain. After a
    // closed event it consumes everything and reports nothing more. Before authentication
    // a frame longer than HANDSHAKE_MAX_FRAME_LEN closes the session (frame_too_large); a
    // split frame that does not fit the node-wide reassembly budget closes it (rx_budget).
    size_t recv(ByteView in, Time now, SessionEvent* ev);
    // recv_done tells the session the embedder is done with the last event's payload, so
    // a frame that arrived split no longer keeps its reassembly buffer: call it after
    // feeding a read. Idle sessions then hold no frame memory.
    void recv_done() { dec_.release_buffer(); }

    // send_data queues one Data frame. Before the session is open it queues only the one
    // answer to an early event (behind our auth, which the peer's ident made us queue).
    // Errors: session_closed (not open), tx_full (queue at its frame or byte bound, or the
    // node-wide TX budget spent: the frame is dropped and counted; callers rely on timeouts
    // and retries).
    [[nodiscard]] Err send_data(ByteView payload, Time now);
    // send_early queues one Data frame right behind our ident, before the handshake ends: a
    // read request the peer answers at once if its HELLO turns out to carry
    // CAP_EARLY_REQUEST (peer_took_early), and drops otherwise. Once per session, at most
    // HANDSHAKE_MAX_FRAME_LEN with its header. Errors: session_closed (open or closed
    // already, or an early request was sent), frame_too_large.
    [[nodiscard]] Err send_early(ByteView payload, Time now);
    // peer_took_early: we sent an early request and the peer's HELLO says it answers one.
    bool peer_took_early() const {
        return early_sent_ && got_ident_ && (peer_caps_ & CAP_EARLY_REQUEST) != 0;
    }

    // on_timer closes the session when the handshake or idle deadline has passed, or when
    // a partial frame has been held for idle_timeout (frame_stalled): a peer that trickles
    // a frame byte by byte cannot pin its buffer for longer than that.
    void on_timer(Time now, SessionEvent* ev);
    Time next_deadline() const;

    // close ends the session locally (for example the node hangs up); nothing more is
    // received, queued bytes may still be flushed.
    void close(Err why);

    // Transmit side. take_tx moves every queued byte into |out| (whose old contents are
    // discarded and whose capacity is recycled); the embedder owns those bytes until it
    // reports them with tx_done, which releases their share of the TX budget.
    bool has_tx() const { return !tx_.empty(); }
    size_t tx_queued() const { return tx_.size(); }
    size_t tx_inflight() const { return inflight_; }
    void take_tx(Bytes* out);
    void tx_done(size_t n);

    SessionState state() const { return state_; }
    bool is_open() const { return state_ == SessionState::open; }
    Err close_reason() const { return close_reason_; }
    const NodeId& peer_id() const { return peer_id_; }
    uint16_t peer_port() const { return peer_port_; }
    // started is when the session began (our HELLO and ident went out).
    Time started() const { return started_; }
    // stats: the counters this session adds to (the shared totals when it was given some).
    const SessionStats& stats() const { return *stats_; }

private:
    void queue_ctrl(const CtrlMsg& m);
    void handle_ctrl(ByteView payload, SessionEvent* ev);
    void violation(uint16_t code, const char* msg, SessionEvent* ev);
    void close_with(Err why, SessionEvent* ev);

    // What only the handshake needs, freed once the session opens or closes: an open
    // session is what a node holds hundreds of.
    struct Handshake {
        NodeId expect;
        std::array<uint8_t, 32> my_nonce{};
        PublicKey peer_pk{};  // from its ident, checked by its auth
        const Identity* self = nullptr;
        const Crypto* crypto = nullptr;
        uint8_t peer_hello[HELLO_LEN] = {};
        uint8_t hello_have = 0;
        bool have_expect = false;
    };

    const SessionConfig* cfg_;
    std::unique_ptr<Handshake> hs_;
    size_t recv_some(ByteView in, Time now, SessionEvent* ev);
    void charge_tx(size_t n, bool forced);
    void note_partial(Time now);

    Time started_;
    Time last_activity_;
    Time partial_since_ = NEVER;  // a partial frame is buffered since then
    SessionState state_ = SessionState::hello;
    Err close_reason_ = Err::ok;
    bool got_ident_ = false;
    bool early_sent_ = false;      // we sent an early request
    bool early_got_ = false;       // the peer sent one (reported as an early event)
    bool early_answered_ = false;  // and we queued its answer
    uint32_t peer_caps_ = 0;       // from its HELLO
    uint8_t violations_ = 0;
    uint16_t peer_port_ = 0;
    NodeId peer_id_;
    ByteBudget* tx_budget_;  // the reassembly budget is the decoder's
    FrameDecoder dec_;
    Bytes tx_;
    size_t inflight_ = 0;
    uint32_t tx_frames_queued_ = 0;
    // Where the counters go: a node-wide total, or own_stats_. A session holds a pointer
    // and not the counters, 88 bytes less on each of thousands of sessions.
    SessionStats* stats_;
    std::unique_ptr<SessionStats> own_stats_;
};

// auth_message builds the bytes an auth signature covers:
// "svc-dht/auth/v1" || verifier_nonce || verifier_pk || signer_pk.
void auth_message(const std::array<uint8_t, 32>& verifier_nonce, const PublicKey& verifier_pk,
                  const PublicKey& signer_pk, uint8_t out[15 + 32 * 3]);

}  // namespace svcdht::core
