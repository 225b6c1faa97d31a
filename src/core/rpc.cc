// SPDX-License-Identifier: MIT
// The Node's RPC table: sending a request (on an open session, or queued on a dial), its
// timeout and hedge checks, and its one completion (an answer or a failure), which hands
// the outcome to whoever waits for it: a lookup, a publish, a ping.
#include <algorithm>
#include <cstdio>

#include "node_internal.h"

namespace svcdht::core {

uint64_t Node::send_rpc(const NodeId& to, const PeerAddr& addr, bool know_id, DhtMsg& req,
                        OwnerKind owner_kind, uint64_t owner_id, Time now, Err* why) {
    Err unused = Err::ok;
    Err& err = why != nullptr ? *why : unused;
    err = Err::unreachable;  // ourselves, or no address to dial
    if (know_id && to == self_->id) return 0;
    if (!addr.valid() || addr.port == 0) return 0;
    err = Err::busy;
    if (rpcs_.size() >= cfg_.max_inflight) {
        counters_.error(Err::busy);
        return 0;
    }
    Conn* c = know_id ? conn_for(to) : nullptr;
    if (c != nullptr && c->inflight >= cfg_.max_inflight_per_peer) {
        counters_.error(Err::busy);
        return 0;
    }
    auto r = std::make_unique<Rpc>();
    r->rid = next_rid_++;
    r->op = req.op;
    r->peer = to;
    r->know_id = know_id;
    r->addr = addr;
    r->created = now;
    r->owner_kind = owner_kind;
    r->owner_id = owner_id;
    req.rid = r->rid;
    req.f = MsgFlag::request;
    encode_dht(req, r->msg);
    const uint64_t rid = r->rid;
    Rpc& ref = *r;
    rpcs_.emplace(rid, std::move(r));
    // The RPC timeout runs from transmission (see transmit); until then the dial's own
    // timeout bounds the wait.
    err = Err::ok;
    if (c != nullptr) {
        transmit(ref, c->ref, now);
        return rid;
    }
    // No session yet: join a dial in progress to the same id, or start one.
    Dial* d = nullptr;
    if (know_id) {
        auto dit = dial_by_id_.find(to);
        if (dit != dial_by_id_.end()) d = dials_.at(dit->second).get();
    }
    if (d == nullptr) {
        const DialId id = start_dial(addr, know_id ? &to : nullptr, now);
        d = dials_.at(id).get();
    }
    if (d->pending.size() >= MAX_PENDING_PER_DIAL) {
        rpcs_.erase(rid);
        counters_.error(Err::too_many_requests);
        err = Err::busy;  // the dial's queue is full: room comes once it opens
        return 0;
    }
    d->pending.push_back(rid);
    ref.dial = d->id;
    return rid;
}

bool Node::attach(Rpc& r, PeerRef ref, Time sent) {
    Conn* c = conns_.find(ref);
    if (c == nullptr) return false;
    r.ref = ref;
    r.sent = sent;
    ++c->inflight;
    rpc_timeouts_.erase({r.deadline, r.rid});
    r.deadline = sent + rpc_timeout_for(&r, 1);
    rpc_timeouts_.insert({r.deadline, r.rid});
    return true;
}

void Node::transmit(Rpc& r, PeerRef ref, Time now) {
    if (!attach(r, ref, now)) return;
    Bytes& b = action_buffer();
    b = r.msg;  // kept: a request lost with its session is sent once more
    Action a;
    a.kind = Action::Kind::send;
    a.peer = ref;
    a.payload = b;
    actions_.push_back(a);
}

void Node::detach(const Rpc& r) {
    if (r.ref == 0) return;
    if (Conn* c = conns_.find(r.ref); c != nullptr) --c->inflight;
}

std::unique_ptr<Node::Rpc> Node::take_rpc(uint64_t rid) {
    auto it = rpcs_.find(rid);
    if (it == rpcs_.end()) return nullptr;
    std::unique_ptr<Rpc> r = std::move(it->second);
    rpcs_.erase(it);
    rpc_timeouts_.erase({r->deadline, rid});
    rpc_hedges_.erase({r->hedge_at, rid});
    detach(*r);
    return r;
}

void Node::rpc_failed(uint64_t rid, Err why, Time now) {
    std::unique_ptr<Rpc> r = take_rpc(rid);
    if (!r) return;
    if (why == Err::timeout) {
        // No answer on an established session within its RPC timeout: the connection is most
        // likely dead (the peer crashed or the path broke), so it is hung up and the next
        // request dials afresh.
        if (r->ref != 0 && conns_.contains(r->ref)) {
            Action a;
            a.kind = Action::Kind::hangup;
            a.peer = r->ref;
            actions_.push_back(a);
        }
        ++counters_.timeout_total;
        ++counters_.rpcs_total[static_cast<size_t>(op_index(r->op))]
                              [static_cast<size_t>(code_index(Code::timeout))];
        if (log_on(LogLevel::warn)) {
            const RequestResult* req = request_of(r->owner_kind, r->owner_id);
            const std::string peer = r->know_id ? r->peer.hex() : r->addr.format();
            log(LogLevel::warn, "rpc timed out",
                {{"peer_id", peer},
                 {"op", op_name(r->op)},
                 {"corr_id", req != nullptr ? std::string_view(req->corr_id) : "-"}});
        }
    }
    if (r->know_id) {
        Contact removed;
        if (table_.rpc_failed(r->peer, &removed)) contact_removed(removed, now);
    }
    rpc_done(*r, nullptr, nullptr, why, now);
}

// log_rpc writes the debug line of one RPC's outcome, with the correlation id of the API
// request it works for ("-": the node's own work).
void Node::log_rpc(const Rpc& r, const Conn* c, const DhtMsg* answer, Err why, Time now) {
    const RequestResult* req = request_of(r.owner_kind, r.owner_id);
    const std::string peer = c != nullptr ? c->id.hex()
                             : r.know_id  ? r.peer.hex()
                                          : r.addr.format();
    char rtt[32] = "-";
    if (answer != nullptr && r.sent != 0)
        std::snprintf(rtt, sizeof rtt, "%.3f", static_cast<double>(now - r.sent) / 1e3);
    const std::string code =
        answer != nullptr ? std::to_string(static_cast<unsigned>(answer->code)) : err_name(why);
    log(LogLevel::debug, "rpc",
        {{"corr_id", req != nullptr ? std::string_view(req->corr_id) : "-"},
         {"peer_id", peer},
         {"op", op_name(r.op)},
         {"code", code},
         {"rtt_ms", rtt}});
}

void Node::rpc_done(const Rpc& r, const Conn* c, const DhtMsg* answer, Err why, Time now) {
    if (log_on(LogLevel::debug)) log_rpc(r, c, answer, why, now);
    switch (r.owner_kind) {
        case OwnerKind::lookup: {
            auto lit = lookups_.find(r.owner_id);
            if (lit == lookups_.end()) break;  // a late answer to a finished lookup
            LookupState& l = *lit->second;
            if (answer != nullptr) {
                lookup_answer(l, r, *answer, now);
            } else {
                const Candidate* cand = l.lk.find(r.peer);
                // A contact that proved another id was handed out by someone: charge them.
                if (cand != nullptr && why == Err::peer_id_mismatch && !cand->referrer.is_zero()) {
                    const NodeId referrer = cand->referrer;
                    Contact removed;
                    if (table_.bad_referral(referrer, &removed)) contact_removed(removed, now);
                    l.lk.distrust(referrer);
                }
                l.lk.failed(r.peer);
            }
            pump_lookup(r.owner_id, now);
            break;
        }
        case OwnerKind::publish:
            publish_rpc_done(r.owner_id,
                             answer != nullptr && answer->code == Code::ok ? &c->id : nullptr, now);
            break;
        case OwnerKind::evict_ping: table_.ping_done(r.peer); break;
        case OwnerKind::keepalive: break;  // the answer (or the failure) spoke for itself
        case OwnerKind::api_ping: {
            auto rit = requests_.find(r.owner_id);
            if (rit == requests_.end()) break;
            RequestResult& res = *rit->second;
            if (answer != nullptr) {
                res.peer_id = c->id;
                res.obs = answer->obs;
                res.elapsed = r.sent;  // a ping's elapsed time is its round trip
                why = answer->code == Code::ok ? Err::ok : err_for_code(answer->code);
            }
            complete(res, why, now);
            break;
        }
        case OwnerKind::replicate:
            if (answer != nullptr && answer->code == Code::ok) ++counters_.replications_total;
            break;
        case OwnerKind::none: break;
    }
}

void Node::handle_response(Conn& c, const DhtMsg& m, Time now) {
    auto it = rpcs_.find(m.rid);
    if (it == rpcs_.end() || it->second->ref != c.ref || it->second->op != m.op) {
        // Late (the RPC already timed out), duplicated, or not ours.
        counters_.frame_rejected(Err::unexpected_response);
        return;
    }
    std::unique_ptr<Rpc> r = take_rpc(m.rid);
    ++counters_
          .rpcs_total[static_cast<size_t>(op_index(m.op))][static_cast<size_t>(code_index(m.code))];
    const Time rtt = now - r->sent;
    net_rtt_.add(rtt);
    if (c.routable) {
        if (table_.contains(c.id)) {
            table_.rpc_ok(c.id, rtt, now);
        } else {
            learn_contact(c.id, c.route(), now);
        }
    }
    rpc_done(*r, &c, &m, Err::ok, now);
}

void Node::on_dial_connected(DialId dial, PeerRef ref, Time now) {
    const InputCheck check{*this};
    auto it = dials_.find(dial);
    if (it == dials_.end()) return;
    Dial& d = *it->second;
    d.connected = true;
    if (ref == 0) return;
    // The first request still waiting goes right behind our ident if it is a read: a peer
    // that answers early saves the round trip of the handshake's second half.
    for (uint64_t rid : d.pending) {
        auto rit = rpcs_.find(rid);
        if (rit == rpcs_.end()) continue;
        Rpc& r = *rit->second;
        if (!is_read(r.op) || FRAME_HEADER_LEN + r.msg.size() > HANDSHAKE_MAX_FRAME_LEN) return;
        r.early = true;
        r.sent = now;
        ++counters_.early_requests_sent_total;
        Bytes& b = action_buffer();
        b = r.msg;
        Action a;
        a.kind = Action::Kind::send;
        a.peer = ref;
        a.payload = b;
        a.early = true;
        actions_.push_back(a);
        return;
    }
}

RttEstimate Node::estimate_for(const Rpc* r) const {
    if (const Contact* c = r != nullptr && r->know_id ? table_.find(r->peer) : nullptr;
        c != nullptr && c->rtt_us != 0)
        return {c->rtt_us, c->rttvar_us};
    return net_rtt_;
}

Time Node::rpc_timeout_for(const Rpc* r, Time trips) const {
    const RttEstimate e = estimate_for(r);
    if (!cfg_.adaptive_timeout || !e.known()) return cfg_.rpc_timeout;
    return std::clamp<Time>(trips * e.bound(), cfg_.rpc_timeout,
                            ADAPTIVE_TIMEOUT_MAX_FACTOR * cfg_.rpc_timeout);
}

// hedge_delay: how long a lookup query may go unanswered before it counts as slow. With
// adaptive_hedge, the round trips it needs (one on an open session; three when it waits
// for a dial: TCP, the handshake, then the request) times the peer's smoothed RTT plus four
// deviations, or the node's estimate across all peers for a peer it has not timed yet.
Time Node::hedge_delay(const Rpc& r) const {
    if (!cfg_.adaptive_hedge) return cfg_.hedge_after;
    const RttEstimate e = estimate_for(&r);
    if (!e.known()) return cfg_.hedge_after;
    const Time trips = r.ref != 0 ? 1 : 3;
    return std::clamp<Time>(trips * e.bound(), MIN_HEDGE_DELAY, rpc_timeout_for(&r, trips));
}

void Node::hedge_check(uint64_t rid, Time now) {
    auto it = rpcs_.find(rid);
    if (it == rpcs_.end() || it->second->owner_kind != OwnerKind::lookup) return;
    Rpc& r = *it->second;
    auto lit = lookups_.find(r.owner_id);
    if (lit == lookups_.end()) return;
    if (lit->second->lk.find(r.peer) == nullptr) return;
    // A query unanswered one hedge delay after the lookup sent it (dial included) is slow:
    // it lends its slot to a hedge. LATE_FACTOR delays on it is late: it stops blocking the
    // end unless it is the nearest candidate (a far link is waited for, a slow peer is
    // not). A query whose peer has not even accepted the TCP connection is late after two
    // delays: that peer is most likely gone. A join or refresh only fills the table and
    // needs no exact answer: its queries are late as soon as they are slow. A query is
    // abandoned (stops blocking even when nearest) by its RPC timeout once connected, or
    // here if its session is still not open after the RPC timeout of three round trips
    // (TCP, the handshake, the request) from when it began.
    Candidate& c = *lit->second->lk.find(r.peer);
    const Time slow_at = r.created + r.hedge_delay;
    auto dit = r.ref == 0 ? dials_.find(r.dial) : dials_.end();
    const bool unconnected = dit != dials_.end() && !dit->second->connected;
    const bool fills_table =
        lit->second->purpose == Purpose::join || lit->second->purpose == Purpose::refresh;
    const Time factor = fills_table ? 1 : unconnected ? 2 : LATE_FACTOR;
    const Time late_at = r.created + factor * r.hedge_delay;
    Time next = NEVER;
    if (now < slow_at) {
        next = slow_at;
    } else {
        if (!c.slow && log_on(LogLevel::debug)) {
            const RequestResult* req = request_of(r.owner_kind, r.owner_id);
            log(LogLevel::debug, "hedge: a slow query lends its slot",
                {{"corr_id", req != nullptr ? std::string_view(req->corr_id) : "-"},
                 {"peer_id", r.know_id ? r.peer.hex() : r.addr.format()},
                 {"op", op_name(r.op)}});
        }
        if (lit->second->lk.mark_slow(r.peer)) ++counters_.hedge_budget_exhausted_total;
        if (now < late_at) {
            next = late_at;
        } else {
            lit->second->lk.mark_late(r.peer);
        }
        if (r.ref == 0) {
            const Time abandon_at = r.created + rpc_timeout_for(&r, 3);
            if (abandon_at > now) {
                next = std::min(next, abandon_at);
            } else {
                lit->second->lk.mark_abandoned(r.peer);
            }
        }
    }
    if (next != NEVER) {
        r.hedge_at = next;
        rpc_hedges_.insert({next, rid});
    }
    pump_lookup(lit->first, now);
}

}  // namespace svcdht::core
