// SPDX-License-Identifier: MIT
// The per-connection handshake and framing state machine. Sans-IO: bytes and time come in,
// bytes and events go out. Nothing here trusts the peer before its auth signature
// verifies, and nothing a peer sends can grow our memory beyond one partial frame and the
// bounded TX queue.
#include "svcdht/session.h"
#include "svcdht/ctrl.h"
#include "svcdht/message.h"

namespace svcdht::core {

namespace {
constexpr size_t AUTH_CONTEXT_LEN = sizeof(AUTH_CONTEXT) - 1;
constexpr size_t AUTH_MSG_LEN = AUTH_CONTEXT_LEN + 32 * 3;
static_assert(AUTH_CONTEXT_LEN == 15);
}  // namespace

void auth_message(const std::array<uint8_t, 32>& verifier_nonce, const PublicKey& verifier_pk,
                  const PublicKey& signer_pk, uint8_t out[AUTH_MSG_LEN]) {
    std::memcpy(out, AUTH_CONTEXT, AUTH_CONTEXT_LEN);
    std::memcpy(out + AUTH_CONTEXT_LEN, verifier_nonce.data(), 32);
    std::memcpy(out + AUTH_CONTEXT_LEN + 32, verifier_pk.data(), 32);
    std::memcpy(out + AUTH_CONTEXT_LEN + 64, signer_pk.data(), 32);
}

Session::Session(const SessionConfig& cfg, const Identity& self, Env env, Time now,
                 const NodeId* expect, SessionBudgets budgets, SessionStats* totals)
    : cfg_(&cfg),
      hs_(std::make_unique<Handshake>()),
      started_(now),
      last_activity_(now),
      tx_budget_(budgets.tx),
      dec_(std::min(HANDSHAKE_MAX_FRAME_LEN, cfg.max_frame_len), budgets.rx),
      stats_(totals) {
    if (stats_ == nullptr) {
        own_stats_ = std::make_unique<SessionStats>();
        stats_ = own_stats_.get();
    }
    hs_->self = &self;
    hs_->crypto = env.crypto;
    if (expect != nullptr) {
        hs_->have_expect = true;
        hs_->expect = *expect;
    }
    env.rng->fill(hs_->my_nonce.data(), hs_->my_nonce.size());
    uint8_t hello[HELLO_LEN];
    encode_hello(hello, CAP_GOSSIP_V1 | (cfg.early_requests ? CAP_EARLY_REQUEST : 0));
    tx_.insert(tx_.end(), hello, hello + HELLO_LEN);
    charge_tx(HELLO_LEN, true);
    CtrlMsg ident;
    ident.t = CtrlType::ident;
    ident.pk = self.keys.pk;
    ident.nonce = hs_->my_nonce;
    ident.net = cfg.network;
    ident.port = cfg.listen_port;
    queue_ctrl(ident);
}

void Session::queue_ctrl(const CtrlMsg& m) {
    // Ctrl frames are few and small (handshake, error notices) and bypass the TX budget:
    // dropping them would stall the handshake or hide the reason for a close.
    Bytes payload;
    payload.reserve(160);
    encode_ctrl(m, payload);
    append_frame(tx_, FrameKind::ctrl, payload);
    charge_tx(FRAME_HEADER_LEN + payload.size(), true);
    ++stats_->tx_frames;
}

Session::~Session() {
    if (tx_budget_ != nullptr) tx_budget_->give(tx_.size() + inflight_);
}

void Session::charge_tx(size_t n, bool forced) {
    if (tx_budget_ != nullptr && forced) tx_budget_->force(n);
}

void Session::note_partial(Time now) {
    if (!dec_.has_partial()) {
        partial_since_ = NEVER;
    } else if (partial_since_ == NEVER) {
        partial_since_ = now;
    }
}

void Session::close_with(Err why, SessionEvent* ev) {
    close(why);
    ev->type = SessionEvent::Type::closed;
    ev->err = why;
}

void Session::close(Err why) {
    if (state_ == SessionState::closed) return;
    state_ = SessionState::closed;
    close_reason_ = why;
    hs_.reset();
    dec_.abandon();
    partial_since_ = NEVER;
}

void Session::violation(uint16_t code, const char* msg, SessionEvent* ev) {
    ++violations_;
    CtrlMsg err;
    err.t = CtrlType::err;
    err.code = code;
    err.msg = msg;
    queue_ctrl(err);
    if (violations_ >= MAX_FRAME_VIOLATIONS) close_with(Err::too_many_violations, ev);
}

size_t Session::recv(ByteView in, Time now, SessionEvent* ev) {
    const size_t n = recv_some(in, now, ev);
    note_partial(now);
    return n;
}

size_t Session::recv_some(ByteView in, Time now, SessionEvent* ev) {
    ev->type = SessionEvent::Type::none;
    if (state_ == SessionState::closed) return in.size();
    size_t pos = 0;
    if (state_ == SessionState::hello) {
        Handshake& hs = *hs_;
        const size_t take = std::min<size_t>(HELLO_LEN - hs.hello_have, in.size());
        std::memcpy(hs.peer_hello + hs.hello_have, in.data(), take);
        hs.hello_have = static_cast<uint8_t>(hs.hello_have + take);
        pos = take;
        stats_->rx_bytes += take;
        if (hs.hello_have < HELLO_LEN) return pos;
        if (Err e = check_hello(hs.peer_hello); e != Err::ok) {
            close_with(e, ev);
            return in.size();
        }
        peer_caps_ = hello_caps(hs.peer_hello);
        state_ = SessionState::handshake;
    }
    while (pos < in.size()) {
        FrameEvent fe;
        const size_t n = dec_.next(in.subspan(pos), &fe);
        pos += n;
        stats_->rx_bytes += n;
        switch (fe.type) {
            case FrameEvent::Type::none: break;
            case FrameEvent::Type::frame:
                ++stats_->rx_frames;
                last_activity_ = now;
                if (fe.kind == FrameKind::ctrl) {
                    handle_ctrl(fe.payload, ev);
                    if (ev->type != SessionEvent::Type::none) {
                        if (ev->type == SessionEvent::Type::closed) return in.size();
                        return pos;
                    }
                } else if (state_ != SessionState::open) {
                    // One request right behind the peer's ident is answered early; anything
                    // else before its auth is dropped (docs/PROTOCOL.md 1.3).
                    if (!cfg_->early_requests || !got_ident_ || early_got_) {
                        ++stats_->data_before_auth;
                        break;
                    }
                    early_got_ = true;
                    ev->type = SessionEvent::Type::early;
                    ev->payload = fe.payload;
                    return pos;
                } else {
                    ev->type = SessionEvent::Type::data;
                    ev->payload = fe.payload;
                    return pos;
                }
                break;
            case FrameEvent::Type::unknown_kind: ++stats_->unknown_kind; break;
            case FrameEvent::Type::oversize:
                ++stats_->oversize;
                // A stranger gets no second chance: the handshake needs small frames only.
                // It is told why (Ctrl 1413) before the close.
                if (state_ != SessionState::open) {
                    CtrlMsg err;
                    err.t = CtrlType::err;
                    err.code = static_cast<uint16_t>(Code::too_large);
                    err.msg = "frame too large before authentication";
                    queue_ctrl(err);
                    close_with(Err::frame_too_large, ev);
                    return in.size();
                }
                violation(static_cast<uint16_t>(Code::too_large), "frame too large", ev);
                if (ev->type == SessionEvent::Type::closed) return in.size();
                break;
            case FrameEvent::Type::over_budget:
                ++stats_->rx_budget;
                close_with(Err::rx_budget, ev);
                return in.size();
            case FrameEvent::Type::empty:
                ++stats_->empty;
                violation(static_cast<uint16_t>(Code::bad_request), "empty frame", ev);
                if (ev->type == SessionEvent::Type::closed) return in.size();
                break;
        }
    }
    return pos;
}

void Session::handle_ctrl(ByteView payload, SessionEvent* ev) {
    CtrlMsg m;
    if (Err e = decode_ctrl(payload, &m); e != Err::ok) {
        // Before authentication an undecodable Ctrl frame breaks the handshake; after it,
        // the frame is skipped and counted.
        if (state_ != SessionState::open) {
            close_with(e == Err::unsupported_version ? e : Err::protocol_violation, ev);
        } else {
            ++stats_->bad_ctrl;
        }
        return;
    }
    switch (m.t) {
        case CtrlType::ident: {
            if (got_ident_) return close_with(Err::protocol_violation, ev);
            if (m.net != cfg_->network) return close_with(Err::network_mismatch, ev);
            hs_->peer_pk = m.pk;
            peer_id_ = node_id_of(m.pk);
            if (peer_id_ == hs_->self->id) return close_with(Err::self_connect, ev);
            if (hs_->have_expect && peer_id_ != hs_->expect)
                return close_with(Err::peer_id_mismatch, ev);
            peer_port_ = m.port;
            got_ident_ = true;
            uint8_t msg[AUTH_MSG_LEN];
            auth_message(m.nonce, m.pk, hs_->self->keys.pk, msg);
            CtrlMsg auth;
            auth.t = CtrlType::auth;
            auth.sig = hs_->crypto->sign(hs_->self->keys.sk, {msg, sizeof msg});
            queue_ctrl(auth);
            return;
        }
        case CtrlType::auth: {
            if (!got_ident_ || state_ == SessionState::open)
                return close_with(Err::protocol_violation, ev);
            uint8_t msg[AUTH_MSG_LEN];
            auth_message(hs_->my_nonce, hs_->self->keys.pk, hs_->peer_pk, msg);
            if (!hs_->crypto->verify(hs_->peer_pk, {msg, sizeof msg}, m.sig))
                return close_with(Err::auth_failed, ev);
            state_ = SessionState::open;
            hs_.reset();
            dec_.set_max_len(cfg_->max_frame_len);
            ev->type = SessionEvent::Type::opened;
            return;
        }
        case CtrlType::err: ++stats_->peer_errors; return;
    }
}

Err Session::send_data(ByteView payload, Time now) {
    if (state_ != SessionState::open) {
        if (state_ == SessionState::closed || !early_got_ || early_answered_)
            return Err::session_closed;
        early_answered_ = true;
    }
    const size_t frame = FRAME_HEADER_LEN + payload.size();
    if (tx_frames_queued_ + 1 > cfg_->tx_max_frames ||
        tx_.size() + inflight_ + frame > cfg_->tx_max_bytes ||
        (tx_budget_ != nullptr && !tx_budget_->take(frame))) {
        ++stats_->tx_dropped;
        return Err::tx_full;
    }
    append_frame(tx_, FrameKind::data, payload);
    ++tx_frames_queued_;
    ++stats_->tx_frames;
    last_activity_ = now;
    return Err::ok;
}

Err Session::send_early(ByteView payload, Time now) {
    if (state_ == SessionState::open || state_ == SessionState::closed || early_sent_)
        return Err::session_closed;
    if (FRAME_HEADER_LEN + payload.size() > HANDSHAKE_MAX_FRAME_LEN) return Err::frame_too_large;
    early_sent_ = true;
    // Like the handshake's frames it bypasses the TX budget: the queue holds nothing else.
    append_frame(tx_, FrameKind::data, payload);
    charge_tx(FRAME_HEADER_LEN + payload.size(), true);
    ++stats_->tx_frames;
    last_activity_ = now;
    return Err::ok;
}

void Session::take_tx(Bytes* out) {
    out->clear();
    std::swap(*out, tx_);
    inflight_ += out->size();
    stats_->tx_bytes += out->size();
    tx_frames_queued_ = 0;
}

void Session::tx_done(size_t n) {
    n = std::min(n, inflight_);
    inflight_ -= n;
    if (tx_budget_ != nullptr) tx_budget_->give(n);
}

Time Session::next_deadline() const {
    switch (state_) {
        case SessionState::closed: return NEVER;
        case SessionState::open:
            return std::min(last_activity_, partial_since_) + cfg_->idle_timeout;
        default: return started_ + cfg_->handshake_timeout;
    }
}

void Session::on_timer(Time now, SessionEvent* ev) {
    ev->type = SessionEvent::Type::none;
    if (state_ == SessionState::closed || now < next_deadline()) return;
    if (state_ != SessionState::open) return close_with(Err::handshake_timeout, ev);
    if (partial_since_ != NEVER && partial_since_ + cfg_->idle_timeout <= now) {
        ++stats_->stalled;
        return close_with(Err::frame_stalled, ev);
    }
    close_with(Err::idle_timeout, ev);
}

}  // namespace svcdht::core
