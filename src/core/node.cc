// SPDX-License-Identifier: MIT
// The Node engine, first half: sessions and dials, the RPC table, inbound request handling
// with rate limits, response dispatch, timers and the action queue. Lookups, API calls,
// publishing, replication and maintenance are in node_ops.cc. Sans-IO: time is an argument,
// randomness comes from Env, and every output is an Action.
#include <algorithm>
#include <cstdlib>

#include "node_internal.h"
#include "svcdht/blake3.h"

namespace svcdht::core {

const char* api_op_name(ApiOp op) {
    switch (op) {
        case ApiOp::closest: return "closest";
        case ApiOp::find_providers: return "find_providers";
        case ApiOp::get: return "get";
        case ApiOp::provide: return "provide";
        case ApiOp::put: return "put";
        case ApiOp::ping: return "ping";
    }
    return "unknown";
}

Node::Node(const NodeConfig& cfg, const Identity& self, Env env, Time now)
    : cfg_(cfg),
      self_(&self),
      env_(env),
      table_(self.id, cfg.k, cfg.diversity),
      store_(cfg.store),
      node_tokens_(cfg.node_rate),
      node_tokens_at_(now) {
    timer(now + MAINTENANCE_INTERVAL, T_MAINTENANCE, 0);
}

Node::~Node() = default;

uint64_t Node::unix_now(Time now) const {
    const int64_t us = cfg_.unix_epoch_offset_us + static_cast<int64_t>(now);
    return us > 0 ? static_cast<uint64_t>(us) / 1000000 : 0;
}

// ---- timers and actions -------------------------------------------------------------------

void Node::timer(Time at, uint8_t kind, uint64_t id) {
    heap_.push_back({at, timer_seq_++, kind, id});
    std::push_heap(heap_.begin(), heap_.end(), std::greater<TimerEntry>());
}

Time Node::next_deadline() const {
    Time t = heap_.empty() ? NEVER : heap_.front().at;
    if (!rpc_timeouts_.empty()) t = std::min(t, rpc_timeouts_.begin()->first);
    if (!rpc_hedges_.empty()) t = std::min(t, rpc_hedges_.begin()->first);
    t = std::min(t, store_.next_expiry());
    if (!repub_queue_.empty()) t = std::min(t, repub_queue_.begin()->first);
    return t;
}

Bytes& Node::action_buffer() {
    if (action_bufs_used_ == action_bufs_.size()) action_bufs_.emplace_back();
    Bytes& b = action_bufs_[action_bufs_used_++];
    b.clear();
    return b;
}

void Node::emit_send(PeerRef ref, const DhtMsg& m) {
    Bytes& b = action_buffer();
    encode_dht(m, b);
    Action a;
    a.kind = Action::Kind::send;
    a.peer = ref;
    a.payload = b;
    actions_.push_back(a);
}

bool Node::poll(Action* out) {
    if (action_head_ < actions_.size()) {
        *out = actions_[action_head_++];
        return true;
    }
    // Everything was handed out: recycle buffers and results.
    actions_.clear();
    action_head_ = 0;
    action_bufs_used_ = 0;
    retired_.clear();
    return false;
}

// ---- sessions and dials ----------------------------------------------------------------------

Node::Conn* Node::conn_for(const NodeId& id) {
    auto it = by_id_.find(id);
    if (it == by_id_.end()) return nullptr;
    auto c = conns_.find(it->second.back());
    return c == conns_.end() ? nullptr : c->second.get();
}

DialId Node::start_dial(const PeerAddr& addr, const NodeId* expect, Time now) {
    auto d = std::make_unique<Dial>();
    d->id = next_dial_++;
    d->addr = addr;
    if (expect != nullptr) {
        d->has_expect = true;
        d->expect = *expect;
        dial_by_id_[*expect] = d->id;
    }
    Action a;
    a.kind = Action::Kind::dial;
    a.dial = d->id;
    a.addr = addr;
    a.has_expect = d->has_expect;
    a.expect = d->expect;
    actions_.push_back(a);
    timer(now + DIAL_TIMEOUT, T_DIAL_TIMEOUT, d->id);
    const DialId id = d->id;
    dials_.emplace(id, std::move(d));
    return id;
}

void Node::on_session_open(PeerRef ref, const SessionInfo& info, DialId dial, Time now) {
    const TableCheck check{table_};
    if (info.id == self_->id || conns_.count(ref) != 0) return;
    auto c = std::make_unique<Conn>();
    c->ref = ref;
    c->id = info.id;
    c->remote = info.remote;
    c->route = info.remote;
    c->route.port = info.ident_port;
    c->routable = info.ident_port != 0 && info.remote.valid();
    c->rate = rate_key(info);
    Conn& conn = *c;
    conns_.emplace(ref, std::move(c));
    by_id_[info.id].push_back(ref);
    ++counters_.sessions_opened_total;
    if (conn.routable) learn_contact(conn.id, conn.route, now);

    std::unique_ptr<Dial> d = take_dial(dial);
    if (!d) return;
    if (d->seed >= 0) {
        Seed& s = seeds_[static_cast<size_t>(d->seed)];
        s.dialing = false;
        s.attempts = 0;
        if (!s.up) {
            s.up = true;
            log(LogLevel::info, "bootstrap seed authenticated",
                {{"peer", conn.id.short_hex()}, {"addr", s.addr.format()}});
        }
        if (const Contact* ct = table_.find(conn.id)) {
            seed_up(*ct, now);
        } else {
            Contact c2;
            c2.id = conn.id;
            c2.addr = conn.route;
            seed_up(c2, now);
        }
    }
    for (uint64_t rid : d->pending) {
        auto rit = rpcs_.find(rid);
        if (rit == rpcs_.end()) continue;
        Rpc& r = *rit->second;
        r.peer = conn.id;
        r.know_id = true;
        transmit(r, ref, now);
    }
}

std::unique_ptr<Node::Dial> Node::take_dial(DialId dial) {
    auto it = dials_.find(dial);
    if (it == dials_.end()) return nullptr;
    std::unique_ptr<Dial> d = std::move(it->second);
    dials_.erase(it);
    if (d->has_expect) dial_by_id_.erase(d->expect);
    return d;
}

void Node::on_dial_failed(DialId dial, Err why, Time now) {
    const TableCheck check{table_};
    std::unique_ptr<Dial> d = take_dial(dial);
    if (!d) return;
    if (d->seed >= 0) {
        Seed& s = seeds_[static_cast<size_t>(d->seed)];
        s.dialing = false;
        ++s.attempts;
        const uint32_t shift = std::min<uint32_t>(s.attempts, 16);
        const Time ceiling = std::min<Time>(SEED_BACKOFF_CAP, SEED_BACKOFF_BASE << shift);
        // Full jitter: a uniform wait in [0, ceiling), so restarted fleets do not
        // hammer a seed in lockstep.
        const Time wait = env_.rng->below(ceiling) + msec(1);
        timer(now + wait, T_SEED, static_cast<uint64_t>(d->seed));
        if (s.attempts == 1)
            log(LogLevel::warn, "bootstrap seed unreachable, retrying with backoff",
                {{"addr", s.addr.format()}, {"error", err_name(why)}});
    }
    for (uint64_t rid : d->pending) rpc_failed(rid, why, now);
}

void Node::on_session_closed(PeerRef ref, Err why, Time now) {
    const TableCheck check{table_};
    auto it = conns_.find(ref);
    if (it == conns_.end()) return;
    const NodeId id = it->second->id;
    const std::vector<uint64_t> lost = std::move(it->second->rids);
    conns_.erase(it);
    // Another session with the same peer (both sides dialed at once), if any, takes over.
    if (auto bit = by_id_.find(id); bit != by_id_.end()) {
        std::erase(bit->second, ref);
        if (bit->second.empty()) by_id_.erase(bit);
    }
    const Err e = why == Err::ok ? Err::session_closed : why;
    for (uint64_t rid : lost) {
        auto rit = rpcs_.find(rid);
        if (rit == rpcs_.end()) continue;
        Rpc& r = *rit->second;
        // A session that closes under a request (most often the peer's idle timeout racing
        // our send) gets the request once more on a fresh connection: every operation is
        // idempotent. A timeout or a second loss fails it.
        if (!r.retried && why != Err::timeout && !draining_) {
            r.retried = true;
            r.ref = 0;
            rpc_timeouts_.erase({r.deadline, rid});
            r.deadline = NEVER;
            Dial* d = nullptr;
            auto dit = dial_by_id_.find(r.peer);
            if (dit != dial_by_id_.end()) d = dials_.at(dit->second).get();
            if (d == nullptr) d = dials_.at(start_dial(r.addr, &r.peer, now)).get();
            if (d->pending.size() < MAX_PENDING_PER_DIAL) {
                d->pending.push_back(rid);
                r.dial = d->id;
                continue;
            }
        }
        rpc_failed(rid, e, now);
    }
}

void Node::learn_contact(const NodeId& id, const PeerAddr& addr, Time now) {
    Contact stale;
    bool need_ping = false;
    const SeenResult r = table_.seen(id, addr, now, &stale, &need_ping);
    switch (r) {
        case SeenResult::added: {
            ++counters_.route_updates_total[static_cast<size_t>(RouteAction::added)];
            const Contact* c = table_.find(id);
            if (c != nullptr) replication_on_add(*c, now);
            break;
        }
        case SeenResult::updated:
            ++counters_.route_updates_total[static_cast<size_t>(RouteAction::updated)];
            break;
        case SeenResult::replacement:
            ++counters_.route_updates_total[static_cast<size_t>(RouteAction::replacement)];
            break;
        case SeenResult::rejected_diversity:
            ++counters_.route_updates_total[static_cast<size_t>(RouteAction::rejected_diversity)];
            break;
        case SeenResult::rejected_self: break;
    }
    if (need_ping) {
        DhtMsg ping;
        ping.op = Op::ping;
        if (send_rpc(stale.id, stale.addr, true, ping, O_EVICT_PING, 0, now) == 0)
            table_.ping_done(stale.id);
    }
}

void Node::contact_removed(const Contact& c, Time now) {
    ++counters_.route_updates_total[static_cast<size_t>(RouteAction::evicted)];
    replication_on_remove(c, now);
}

// ---- RPCs ----------------------------------------------------------------------------------

uint64_t Node::send_rpc(const NodeId& to, const PeerAddr& addr, bool know_id, DhtMsg& req,
                        uint8_t owner_kind, uint64_t owner_id, Time now) {
    if (know_id && to == self_->id) return 0;
    if (!addr.valid() || addr.port == 0) return 0;
    if (rpcs_.size() >= cfg_.max_inflight) {
        counters_.error(Err::busy);
        return 0;
    }
    Conn* c = know_id ? conn_for(to) : nullptr;
    if (c != nullptr && c->rids.size() >= cfg_.max_inflight_per_peer) {
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
        return 0;
    }
    d->pending.push_back(rid);
    ref.dial = d->id;
    return rid;
}

void Node::transmit(Rpc& r, PeerRef ref, Time now) {
    auto cit = conns_.find(ref);
    if (cit == conns_.end()) return;
    r.ref = ref;
    r.sent = now;
    cit->second->rids.push_back(r.rid);
    rpc_timeouts_.erase({r.deadline, r.rid});
    r.deadline = now + cfg_.rpc_timeout;
    rpc_timeouts_.insert({r.deadline, r.rid});
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
    auto cit = conns_.find(r.ref);
    if (cit != conns_.end()) std::erase(cit->second->rids, r.rid);
}

void Node::rpc_failed(uint64_t rid, Err why, Time now) {
    auto it = rpcs_.find(rid);
    if (it == rpcs_.end()) return;
    std::unique_ptr<Rpc> r = std::move(it->second);
    rpcs_.erase(it);
    rpc_timeouts_.erase({r->deadline, rid});
    rpc_hedges_.erase({r->hedge_at, rid});
    detach(*r);
    if (why == Err::timeout) {
        // No answer on an established session within rpc_timeout: the connection is most
        // likely dead (the peer crashed or the path broke), so it is hung up and the next
        // request dials afresh.
        if (r->ref != 0 && conns_.count(r->ref) != 0) {
            Action a;
            a.kind = Action::Kind::hangup;
            a.peer = r->ref;
            actions_.push_back(a);
        }
        ++counters_.timeout_total;
        ++counters_.rpcs_total[static_cast<size_t>(op_index(r->op))]
                              [static_cast<size_t>(code_index(Code::timeout))];
    }
    if (r->know_id) {
        Contact removed;
        if (table_.rpc_failed(r->peer, &removed)) contact_removed(removed, now);
    }
    switch (r->owner_kind) {
        case O_LOOKUP: {
            auto lit = lookups_.find(r->owner_id);
            if (lit == lookups_.end()) break;
            LookupState& l = *lit->second;
            const Candidate* cand = l.lk.find(r->peer);
            // A contact that proved another id was handed out by someone: charge them.
            if (cand != nullptr && why == Err::peer_id_mismatch && !cand->referrer.is_zero()) {
                const NodeId referrer = cand->referrer;
                Contact removed;
                if (table_.bad_referral(referrer, &removed)) contact_removed(removed, now);
                l.lk.distrust(referrer);
            }
            l.lk.failed(r->peer);
            pump_lookup(r->owner_id, now);
            break;
        }
        case O_PUBLISH: publish_rpc_done(r->owner_id, false, now); break;
        case O_EVICT_PING: table_.ping_done(r->peer); break;
        case O_API_PING: {
            auto rit = requests_.find(r->owner_id);
            if (rit != requests_.end()) complete(*rit->second, why, now);
            break;
        }
        default: break;
    }
}

// ---- inbound ---------------------------------------------------------------------------------

void Node::on_frame(PeerRef ref, ByteView payload, Time now) {
    const TableCheck check{table_};
    auto it = conns_.find(ref);
    if (it == conns_.end()) return;
    Conn& c = *it->second;
    DhtMsg m;
    DecodeHeader hdr;
    const Err e = decode_dht(payload, cfg_.max_value_bytes, &m, &hdr);
    if (e != Err::ok) {
        counters_.frame_rejected(e);
        // A request we could read op, rid and f from is answered 1400 (DESIGN 3.2), so the
        // requester does not wait out a timeout; 1413 when a string is over max_value_bytes.
        if (hdr.answerable())
            answer_undecodable(c, hdr,
                               e == Err::string_too_long ? Code::too_large : Code::bad_request);
        return;
    }
    if (m.is_request()) {
        if (c.routable) learn_contact(c.id, c.route, now);
        handle_request(c, m, now);
    } else {
        handle_response(c, m, now);
    }
}

void Node::reply(Conn& c, DhtMsg& m) {
    m.f = MsgFlag::response;
    ++counters_.rpcs_served_total[static_cast<size_t>(op_index(m.op))]
                                 [static_cast<size_t>(code_index(m.code))];
    emit_send(c.ref, m);
}

void Node::answer_undecodable(Conn& c, const DecodeHeader& hdr, Code code) {
    if (hdr.op_known()) return reply_error(c, static_cast<Op>(hdr.op), hdr.rid, code);
    // An op this node does not know: counted under frames_rejected{bad_op}, answered 1400
    // with the op echoed as sent.
    Bytes& b = action_buffer();
    encode_error_answer(hdr.op, hdr.rid, Code::bad_request, b);
    Action a;
    a.kind = Action::Kind::send;
    a.peer = c.ref;
    a.payload = b;
    actions_.push_back(a);
}

void Node::reply_error(Conn& c, Op op, uint64_t rid, Code code) {
    DhtMsg m;
    m.op = op;
    m.rid = rid;
    m.code = code;
    reply(c, m);
}

namespace {
bool take_token(double& tokens, Time& at, Time now, uint32_t rate, uint32_t burst) {
    if (now > at) {
        tokens = std::min<double>(burst, tokens + static_cast<double>(now - at) * rate / 1e6);
        at = now;
    }
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
}
}  // namespace

StoreSource Node::store_source(const Conn& c) const {
    uint64_t peer = 0;
    for (size_t i = 0; i < 8; ++i) peer = (peer << 8) | c.id.b[i];
    // Loopback and private addresses (while the diversity rules exempt them) are grouped by
    // host: in a private deployment every machine is then its own prefix.
    const bool by_host = cfg_.diversity.exempt_private && c.remote.is_exempt();
    return StoreSource::remote(peer, by_host ? host_group(c.remote) : prefix_group(c.remote));
}

Node::RateKey Node::rate_key(const SessionInfo& info) {
    RateKey k;
    if (info.ident_port != 0) {
        for (size_t i = 0; i < 8; ++i) k.bits = (k.bits << 8) | info.id.b[i];
        return k;
    }
    k.kind = info.remote.is_v4() ? 4 : 6;
    const size_t n = info.remote.is_v4() ? 4 : 8;
    for (size_t i = 0; i < n; ++i) k.bits = (k.bits << 8) | info.remote.ip[i];
    return k;
}

bool Node::take_peer_token(const RateKey& key, Time now) {
    auto it = rate_buckets_.find(key);
    if (it == rate_buckets_.end()) {
        if (rate_buckets_.size() >= MAX_RATE_BUCKETS) prune_rate_buckets(now);
        it =
            rate_buckets_.emplace(key, RateBucket{static_cast<double>(cfg_.peer_burst), now}).first;
    }
    return take_token(it->second.tokens, it->second.at, now, cfg_.peer_rate, cfg_.peer_burst);
}

void Node::prune_rate_buckets(Time now) {
    // A bucket that has refilled holds no debt: forgetting it changes nothing.
    const double full = cfg_.peer_burst;
    std::erase_if(rate_buckets_, [&](const auto& kv) {
        const RateBucket& b = kv.second;
        return b.tokens + static_cast<double>(now - b.at) * cfg_.peer_rate / 1e6 >= full;
    });
    if (rate_buckets_.size() < MAX_RATE_BUCKETS) return;
    auto oldest = rate_buckets_.begin();
    for (auto it = rate_buckets_.begin(); it != rate_buckets_.end(); ++it)
        if (it->second.at < oldest->second.at) oldest = it;
    rate_buckets_.erase(oldest);
}

void Node::handle_request(Conn& c, const DhtMsg& m, Time now) {
    if (!take_peer_token(c.rate, now)) {
        counters_.rejected(Err::quota_exceeded);
        return reply_error(c, m.op, m.rid, Code::quota_exceeded);
    }
    if (!take_token(node_tokens_, node_tokens_at_, now, cfg_.node_rate, cfg_.node_rate)) {
        counters_.rejected(Err::busy);
        return reply_error(c, m.op, m.rid, Code::busy);
    }
    DhtMsg r;
    r.op = m.op;
    r.rid = m.rid;
    auto closest_nodes = [&](const NodeId& target) {
        // The requester and contacts that are failing are left out of answers.
        table_.closest(target, cfg_.k + 1, scratch_contacts_, true);
        scratch_nodes_.clear();
        for (const Contact& ct : scratch_contacts_) {
            if (ct.id == c.id) continue;
            if (scratch_nodes_.size() >= cfg_.k) break;
            scratch_nodes_.push_back({ct.id, ct.addr});
        }
        r.has_nodes = true;
        r.nodes = ItemList<NodeInfo>::of(scratch_nodes_);
    };
    switch (m.op) {
        case Op::ping:
            r.has_obs = true;
            r.obs = c.remote;
            break;
        case Op::find_node: closest_nodes(m.target); break;
        case Op::get_providers: {
            store_.records(m.key, now, MAX_PROVIDERS_PER_ANSWER, scratch_records_);
            scratch_addr_views_.resize(scratch_records_.size());
            scratch_recs_.clear();
            for (size_t i = 0; i < scratch_records_.size(); ++i)
                scratch_recs_.push_back(scratch_records_[i]->view(scratch_addr_views_[i]));
            r.has_providers = true;
            r.providers = ItemList<ProviderRecord>::of(scratch_recs_);
            closest_nodes(m.key);
            break;
        }
        case Op::add_provider: {
            Err e = admit_record(m.rec, *env_.crypto, unix_now(now), cfg_.max_ttl_secs,
                                 cfg_.require_pq);
            if (e == Err::pq_required) ++counters_.pq_downgrade_attempts_total;
            if (e == Err::ok) {
                const uint64_t end_unix = m.rec.ts + m.rec.ttl;
                const Time expires = now + secs(end_unix - unix_now(now));
                const bool had = store_.holds(m.rec.key, now);
                StoreSource src = store_source(c);
                src.from_publisher = node_id_of(m.rec.pk) == c.id;
                e = store_.put_record(m.rec, expires, src);
                if (e == Err::ok && !had) key_stored(m.rec.key, now);
            }
            if (e != Err::ok) counters_.rejected(e);
            r.code = code_for_err(e);
            break;
        }
        case Op::put_value: {
            Err e = Err::ok;
            if (m.val.size() > cfg_.max_value_bytes) {
                e = Err::value_too_large;
            } else if (NodeId::from(blake3(m.val)) != m.key) {
                e = Err::key_mismatch;
            } else {
                const bool had = store_.holds(m.key, now);
                e = store_.put_value(m.key, m.val, now + secs(cfg_.ttl_secs), store_source(c));
                if (e == Err::ok && !had) key_stored(m.key, now);
            }
            if (e != Err::ok) counters_.rejected(e);
            r.code = code_for_err(e);
            break;
        }
        case Op::get_value: {
            const StoredValue* v = store_.value(m.key, now);
            if (v != nullptr) {
                r.has_val = true;
                r.val = v->value;
            } else {
                r.code = Code::not_found;
                closest_nodes(m.key);
            }
            break;
        }
    }
    reply(c, r);
}

void Node::handle_response(Conn& c, const DhtMsg& m, Time now) {
    auto it = rpcs_.find(m.rid);
    if (it == rpcs_.end() || it->second->ref != c.ref || it->second->op != m.op) {
        // Late (the RPC already timed out), duplicated, or not ours.
        counters_.frame_rejected(Err::unexpected_response);
        return;
    }
    std::unique_ptr<Rpc> r = std::move(it->second);
    rpcs_.erase(it);
    rpc_timeouts_.erase({r->deadline, r->rid});
    rpc_hedges_.erase({r->hedge_at, r->rid});
    detach(*r);
    ++counters_
          .rpcs_total[static_cast<size_t>(op_index(m.op))][static_cast<size_t>(code_index(m.code))];
    const Time rtt = now - r->sent;
    if (c.routable) {
        if (table_.contains(c.id)) {
            table_.rpc_ok(c.id, rtt, now);
        } else {
            learn_contact(c.id, c.route, now);
        }
    }
    switch (r->owner_kind) {
        case O_LOOKUP: {
            auto lit = lookups_.find(r->owner_id);
            if (lit == lookups_.end()) break;  // a late answer to a finished lookup
            lookup_answer(*lit->second, *r, m, now);
            pump_lookup(r->owner_id, now);
            break;
        }
        case O_PUBLISH: publish_rpc_done(r->owner_id, m.code == Code::ok, now); break;
        case O_EVICT_PING: table_.ping_done(r->peer); break;
        case O_API_PING: {
            auto rit = requests_.find(r->owner_id);
            if (rit == requests_.end()) break;
            RequestResult& res = *rit->second;
            res.peer_id = c.id;
            res.obs = m.obs;
            complete(res, m.code == Code::ok ? Err::ok : err_for_code(m.code), now);
            res.elapsed = rtt;
            break;
        }
        case O_REPLICATE:
            if (m.code == Code::ok) ++counters_.replications_total;
            break;
        default: break;
    }
}

// ---- timer dispatch -------------------------------------------------------------------------

void Node::hedge_check(uint64_t rid, Time now) {
    auto it = rpcs_.find(rid);
    if (it == rpcs_.end() || it->second->owner_kind != O_LOOKUP) return;
    Rpc& r = *it->second;
    auto lit = lookups_.find(r.owner_id);
    if (lit == lookups_.end()) return;
    if (lit->second->lk.find(r.peer) == nullptr) return;
    // A query unanswered hedge_after after the lookup sent it (dial included) is slow: it
    // lends its slot to a hedge. It is abandoned (stops blocking the end even when it is the
    // nearest candidate) by its RPC timeout once connected, or here if its connection is
    // still not up rpc_timeout after it began.
    Time next = NEVER;
    if (r.created + cfg_.hedge_after > now) {
        next = r.created + cfg_.hedge_after;
    } else {
        lit->second->lk.mark_slow(r.peer);
        if (r.ref == 0) {
            if (r.created + cfg_.rpc_timeout > now) {
                next = r.created + cfg_.rpc_timeout;
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

void Node::on_timer(Time now) {
    const TableCheck check{table_};
    while (!rpc_timeouts_.empty() && rpc_timeouts_.begin()->first <= now) {
        const uint64_t rid = rpc_timeouts_.begin()->second;
        rpc_timeouts_.erase(rpc_timeouts_.begin());
        rpc_failed(rid, Err::timeout, now);
    }
    while (!rpc_hedges_.empty() && rpc_hedges_.begin()->first <= now) {
        const uint64_t rid = rpc_hedges_.begin()->second;
        rpc_hedges_.erase(rpc_hedges_.begin());
        auto it = rpcs_.find(rid);
        if (it != rpcs_.end()) it->second->hedge_at = NEVER;
        hedge_check(rid, now);
    }
    while (!heap_.empty() && heap_.front().at <= now) {
        std::pop_heap(heap_.begin(), heap_.end(), std::greater<TimerEntry>());
        const TimerEntry e = heap_.back();
        heap_.pop_back();
        switch (e.kind) {
            case T_LOOKUP_DEADLINE:
                if (lookups_.count(e.id) != 0) finish_lookup(e.id, Err::timeout, now);
                break;
            case T_DIAL_TIMEOUT:
                if (dials_.count(e.id) != 0) {
                    Action a;
                    a.kind = Action::Kind::hangup;
                    a.dial = e.id;
                    actions_.push_back(a);
                    on_dial_failed(e.id, Err::timeout, now);
                }
                break;
            case T_SEED:
                if (e.id < seeds_.size() && !seeds_[e.id].dialing && !draining_)
                    seed_dial(e.id, now);
                break;
            case T_MAINTENANCE:
                maintenance(now);
                timer(now + MAINTENANCE_INTERVAL, T_MAINTENANCE, 0);
                break;
            default: break;
        }
    }
    if (store_.next_expiry() <= now) {
        store_.expire(now);
    }
    while (!repub_queue_.empty() && repub_queue_.begin()->first <= now) {
        const auto [at, key] = *repub_queue_.begin();
        repub_queue_.erase(repub_queue_.begin());
        republish(key, now);
    }
}

// ---- views -----------------------------------------------------------------------------------

Readiness Node::readiness() const {
    Readiness r;
    r.seeds_configured =
        std::max<uint32_t>(static_cast<uint32_t>(seeds_.size()), cfg_.seeds_expected);
    r.seeds_required = cfg_.bootstrap_required != 0
                           ? std::min<uint32_t>(cfg_.bootstrap_required, r.seeds_configured)
                           : std::min<uint32_t>(3, r.seeds_configured);
    for (const Seed& s : seeds_) r.seeds_up += s.up ? 1 : 0;
    r.bootstrap = r.seeds_up >= r.seeds_required;
    r.routing_ready = r.seeds_configured == 0 || joined_;
    r.queues_ok = requests_.size() < cfg_.max_api_requests && rpcs_.size() < cfg_.max_inflight;
    r.draining = draining_;
    return r;
}

void Node::add_session_stats(const SessionStats& s) {
    session_totals_ += s;
}

void Node::apply_reloadable(const NodeConfig& c) {
    cfg_.max_value_bytes = c.max_value_bytes;
    cfg_.store = c.store;
    store_.set_limits(c.store);
    cfg_.peer_rate = c.peer_rate;
    cfg_.peer_burst = c.peer_burst;
    cfg_.node_rate = c.node_rate;
}

void Node::log(LogLevel level, std::string_view msg, std::initializer_list<LogField> fields) {
    if (env_.log != nullptr) env_.log->log(level, msg, {fields.begin(), fields.size()});
}

void Node::check_invariants() const {
    table_.check_invariants();
    for (const auto& [id, refs] : by_id_) {
        if (refs.empty()) std::abort();
        for (PeerRef ref : refs) {
            auto it = conns_.find(ref);
            if (it == conns_.end() || it->second->id != id) std::abort();
        }
    }
    for (const auto& [ref, c] : conns_)
        for (uint64_t rid : c->rids) {
            auto it = rpcs_.find(rid);
            if (it == rpcs_.end() || it->second->ref != ref) std::abort();
        }
    for (const auto& [id, d] : dial_by_id_) {
        auto it = dials_.find(d);
        if (it == dials_.end() || !it->second->has_expect || it->second->expect != id) std::abort();
    }
    for (const auto& [rid, r] : rpcs_) {
        if (r->ref != 0 && conns_.count(r->ref) == 0) std::abort();
        if (r->ref == 0 && dials_.count(r->dial) == 0) std::abort();
    }
    for (const auto& [lid, l] : lookups_) {
        const LookupParams& p = l->lk.params();
        if (l->lk.inflight() > (p.alpha + p.beta) * p.disjoint + p.k * 3 * p.disjoint) std::abort();
    }
}

}  // namespace svcdht::core
